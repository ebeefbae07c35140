"""Criterion checks: for each inclusion/exclusion criterion, is it met, and which sentence says so.

:class:`SimilarityChecker` picks the record's sentence most similar to each criterion (dense + lexical) and
calls the criterion met above a threshold. :class:`LLMChecker` asks a chat model, requires a verbatim quote
from the record, and treats unverifiable quotes as "unclear".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from bioagent.errors import BioagentError
from bioagent.triage.criteria import Criteria
from bioagent.triage.text import is_empty, record_sentences
from bioagent.types import CriterionCheck, Decision, Document

if TYPE_CHECKING:
    from bioagent.index.embedders import Embedder

Kind = Literal["inclusion", "exclusion"]
UNCLEAR = 0.5  # LLM check score for "unclear" or an answer whose quote is not in the record


@dataclass
class Screening:
    """The checks for one record, the decision they imply, and how strongly they favour inclusion (-1..1)."""

    checks: list[CriterionCheck]
    decision: Decision
    support: float = 0.0


class CriteriaChecker(Protocol):
    """Checks a batch of records against the criteria."""

    name: str

    def check(self, docs: Sequence[Document]) -> list[Screening]: ...


def criteria_list(criteria: Criteria) -> list[tuple[str, Kind]]:
    """Every criterion with its kind; the topic stands in when no inclusion criteria are given."""
    inclusion = criteria.inclusion or [criteria.topic]
    return [(c, "inclusion") for c in inclusion] + [(c, "exclusion") for c in criteria.exclusion]


def decide(checks: Sequence[CriterionCheck], unclear: Sequence[bool] | None = None) -> Decision:
    """From verdicts that can establish absence (an LLM's): exclude when an exclusion criterion is met or an
    inclusion criterion is clearly not met; include when every inclusion criterion is met; else unsure.
    ``unclear`` marks verdicts that count neither way."""
    unclear = list(unclear) if unclear is not None else [False] * len(checks)
    inclusion = [(c, u) for c, u in zip(checks, unclear) if c.kind == "inclusion"]
    if any(c.met and not u for c, u in zip(checks, unclear) if c.kind == "exclusion"):
        return "exclude"
    if any(not c.met and not u for c, u in inclusion):
        return "exclude"
    if inclusion and all(c.met and not u for c, u in inclusion):
        return "include"
    return "unsure"


def decide_by_similarity(checks: Sequence[CriterionCheck]) -> Decision:
    """From sentence similarity, which cannot show that something is absent: include when every inclusion
    criterion is matched and no exclusion criterion is; exclude when an exclusion criterion is matched or no
    inclusion criterion is; otherwise unsure."""
    inclusion = [c for c in checks if c.kind == "inclusion"]
    if any(c.met for c in checks if c.kind == "exclusion") or not any(c.met for c in inclusion):
        return "exclude"
    return "include" if all(c.met for c in inclusion) else "unsure"


def support_of(checks: Sequence[CriterionCheck]) -> float:
    """Share of inclusion criteria met minus share of exclusion criteria met."""
    inclusion = [c for c in checks if c.kind == "inclusion"]
    exclusion = [c for c in checks if c.kind == "exclusion"]
    met_in = sum(c.met for c in inclusion) / len(inclusion) if inclusion else 0.0
    met_ex = sum(c.met for c in exclusion) / len(exclusion) if exclusion else 0.0
    return met_in - met_ex


class SimilarityChecker:
    """Best-matching sentence per criterion by dense (if an embedder is given) and TF-IDF similarity.

    A record needs to pass the threshold on at least one sentence for a criterion to count as met; the
    similarity, not an LLM judgement, so decisions from it are suggestions for ordering the screening.
    """

    def __init__(
        self,
        criteria: Criteria,
        vectorizer: Any,
        embedder: Embedder | None = None,
        threshold: float = 0.4,
        dense_weight: float = 0.7,
    ) -> None:
        self.name = "similarity" if embedder is None else f"similarity:{embedder.name}"
        self.criteria = criteria_list(criteria)
        self.vectorizer = vectorizer
        self.embedder = embedder
        self.threshold = threshold
        self.dense_weight = dense_weight if embedder is not None else 0.0
        texts = [c for c, _ in self.criteria]
        self._criteria_tfidf = vectorizer.transform(texts)
        self._criteria_dense = embedder.encode_queries(texts) if embedder is not None else None

    def check(self, docs: Sequence[Document]) -> list[Screening]:
        sentences = [record_sentences(doc) for doc in docs]
        flat = [s for group in sentences for s in group]
        similarity = self._similarity(flat)
        screenings, start = [], 0
        for doc, group in zip(docs, sentences):
            block = similarity[start : start + len(group)]
            start += len(group)
            screenings.append(self._screen(doc, group, block))
        return screenings

    def _similarity(self, sentences: list[str]) -> np.ndarray:
        if not sentences:
            return np.zeros((0, len(self.criteria)))
        lexical = np.asarray((self.vectorizer.transform(sentences) @ self._criteria_tfidf.T).todense())
        if self.embedder is None or self._criteria_dense is None:
            return lexical
        dense = self.embedder.encode_documents(sentences) @ self._criteria_dense.T
        return self.dense_weight * dense + (1 - self.dense_weight) * lexical

    def _screen(self, doc: Document, sentences: list[str], block: np.ndarray) -> Screening:
        if is_empty(doc) or not sentences:
            return Screening(checks=[], decision="unsure")
        checks = []
        for column, (criterion, kind) in enumerate(self.criteria):
            best = int(np.argmax(block[:, column]))
            score = float(block[best, column])
            checks.append(
                CriterionCheck(
                    criterion=criterion,
                    kind=kind,
                    met=score >= self.threshold,
                    evidence=sentences[best],
                    score=round(score, 4),
                )
            )
        return Screening(checks=checks, decision=decide_by_similarity(checks), support=support_of(checks))


_ANSWER = re.compile(r"C(\d+)\s*[:.)-]\s*(yes|no|unclear)\b(.*)", re.I)
_QUOTE = re.compile(r"[\"“](.+?)[\"”]")

SYSTEM_PROMPT = (
    "You screen biomedical abstracts for a systematic review. For each numbered criterion answer yes, no or "
    "unclear, and quote the exact sentence of the abstract that supports your answer. Use only the abstract."
)


class LLMChecker:
    """Criterion checks by a chat model, one call per record; every quote is verified against the record."""

    def __init__(self, criteria: Criteria, chat_model: Any, model_name: str = "llm") -> None:
        self.name = model_name
        self.topic = criteria.topic
        self.criteria = criteria_list(criteria)
        self.chat_model = chat_model

    def prompt(self, doc: Document) -> str:
        """The user message for one record."""
        lines = [f"Review topic: {self.topic}", "", f"Title: {doc.title}", f"Abstract: {doc.text}", ""]
        lines += [f"C{n}: [{kind}] {criterion}" for n, (criterion, kind) in enumerate(self.criteria, start=1)]
        lines += ["", 'Answer one line per criterion, like: C1: yes "exact sentence from the abstract"']
        return "\n".join(lines)

    def check(self, docs: Sequence[Document]) -> list[Screening]:
        return [self._check_one(doc) for doc in docs]

    def _check_one(self, doc: Document) -> Screening:
        if is_empty(doc):
            return Screening(checks=[], decision="unsure")
        try:
            reply = self.chat_model.invoke([("system", SYSTEM_PROMPT), ("human", self.prompt(doc))])
        except Exception as exc:  # any client error (connection, timeout, HTTP status) ends the run cleanly
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BioagentError(f"{self.name} failed on record {doc.id}: {first}") from exc
        answers = parse_answers(str(getattr(reply, "content", reply)))
        sentences = record_sentences(doc)
        checks, unclear = [], []
        for n, (criterion, kind) in enumerate(self.criteria, start=1):
            verdict, quote = answers.get(n, ("unclear", ""))
            evidence = find_sentence(quote, sentences) if quote else ""
            # "yes" must quote the record; "no" may not (absence has no sentence) but a bad quote is unclear.
            doubtful = (
                verdict == "unclear" or (bool(quote) and not evidence) or (verdict == "yes" and not evidence)
            )
            unclear.append(doubtful)
            score = UNCLEAR if doubtful else float(verdict == "yes")
            checks.append(
                CriterionCheck(
                    criterion=criterion,
                    kind=kind,
                    met=verdict == "yes" and not doubtful,
                    evidence=evidence,
                    score=score,
                )
            )
        return Screening(checks=checks, decision=decide(checks, unclear), support=support_of(checks))


def parse_answers(text: str) -> dict[int, tuple[str, str]]:
    """``{criterion number: (yes|no|unclear, quote)}`` from lines like ``C2: yes "..."``."""
    answers: dict[int, tuple[str, str]] = {}
    for line in text.splitlines():
        match = _ANSWER.search(line.strip())
        if match:
            quote = _QUOTE.search(match.group(3))
            answers.setdefault(
                int(match.group(1)), (match.group(2).lower(), quote.group(1).strip() if quote else "")
            )
    return answers


def find_sentence(quote: str, sentences: Sequence[str]) -> str:
    """The record sentence containing ``quote`` (case and spacing ignored), or "" if the quote is not there."""
    wanted = " ".join(quote.lower().split()).strip(" .")
    if len(wanted) < 8:
        return ""
    for sentence in sentences:
        if wanted in " ".join(sentence.lower().split()):
            return sentence
    return quote.strip() if wanted in " ".join(" ".join(sentences).lower().split()) else ""
