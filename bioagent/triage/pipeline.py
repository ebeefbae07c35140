"""``triage(records, criteria, ...)``: rank, check criteria and decide, one :class:`TriageDecision` per record."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bioagent.errors import BioagentError
from bioagent.triage.checks import CriteriaChecker, LLMChecker, Screening, SimilarityChecker, support_of
from bioagent.triage.criteria import Criteria, load_criteria, parse_criteria
from bioagent.triage.engine import RANK_METHODS, Screener
from bioagent.triage.rankers import ActiveLearningRanker, Ranker, standardise
from bioagent.triage.records import RecordSet, as_record_set
from bioagent.types import Decision, Document, TriageDecision

if TYPE_CHECKING:
    from bioagent.index.embedders import Embedder
    from bioagent.settings import Settings

INCLUDE_PROBABILITY = 0.5  # class-balanced model: at or above, suggest include
EXCLUDE_PROBABILITY = 0.1  # below, suggest exclude; in between, unsure
# How far the LLM's criterion verdicts move a record, in standard deviations of the base ranking.
LLM_WEIGHT = 2.0
# Served chat models; the embedded 135M model is too small to judge criteria, so ``auto`` does not use it.
REMOTE_BACKENDS = ("openai", "ollama")


def as_criteria(criteria: Criteria | Mapping[str, Any] | str | Path) -> Criteria:
    """Accept Criteria, a mapping, or a path to a criteria YAML file."""
    if isinstance(criteria, Criteria):
        return criteria
    if isinstance(criteria, Mapping):
        return parse_criteria(dict(criteria))
    return load_criteria(criteria)


def llm_configured(settings: Settings | None) -> bool:
    """True when the settings point at a served chat model (OpenAI-compatible or Ollama)."""
    return settings is not None and settings.llm.backend in REMOTE_BACKENDS


def triage(
    records: RecordSet | str | Path | Iterable[Document | Mapping[str, Any] | str],
    criteria: Criteria | Mapping[str, Any] | str | Path,
    *,
    labels: Mapping[str, int] | None = None,
    method: str = "auto",
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    dense: bool = True,
    chat_model: Any = None,
    llm_limit: int | None = None,
    done: Mapping[str, TriageDecision] | None = None,
    on_decision: Callable[[TriageDecision], None] | None = None,
    progress: bool = False,
) -> list[TriageDecision]:
    """Screen ``records`` against ``criteria``; returns one decision per record, best first.

    ``method``: ``auto`` (learn from labels when both classes are labelled, else zero-shot; LLM checks when a
    served chat model is configured or ``chat_model`` is given), ``zero-shot``, ``active`` or ``llm``.
    ``labels`` maps record ids to 1/0; ``done`` holds decisions from an earlier run that are kept as they are
    (resuming); ``on_decision`` is called as each record is decided (for incremental output).
    """
    if method not in RANK_METHODS:
        raise BioagentError(f"unknown method '{method}' (choose from {', '.join(RANK_METHODS)})")
    record_set, crit = as_record_set(records), as_criteria(criteria)
    if dense and embedder is None:
        settings = settings or _default_settings()
        from bioagent.index.embedders import load_embedder

        embedder = load_embedder(settings.embedding)
    cache_dir = settings.cache_dir / "triage" if settings is not None else None
    screener = Screener(record_set, crit, embedder, cache_dir, progress=progress)
    use_llm = method == "llm" or (method == "auto" and (chat_model is not None or llm_configured(settings)))
    llm = _llm_checker(crit, chat_model, settings) if use_llm else None
    return screen(screener, labels, method, llm, llm_limit, done, on_decision, progress)


def screen(
    screener: Screener,
    labels: Mapping[str, int] | None = None,
    method: str = "auto",
    llm: LLMChecker | None = None,
    llm_limit: int | None = None,
    done: Mapping[str, TriageDecision] | None = None,
    on_decision: Callable[[TriageDecision], None] | None = None,
    progress: bool = False,
) -> list[TriageDecision]:
    """Decisions for every record of a prepared :class:`Screener` (see :func:`triage`)."""
    criteria = screener.criteria
    if criteria is None:
        raise BioagentError("screening needs criteria (a topic at least)")
    all_labels = {**criteria.seed_labels(), **dict(labels or {})}
    labeled, y = screener.label_arrays(all_labels)
    ranker = screener.ranker(method, all_labels)
    base = standardise(ranker.score(labeled, y))
    similarity = SimilarityChecker(criteria, screener.features.vectorizer, screener.features.embedder)
    run = _Run(screener.records, all_labels, ranker, llm, similarity, dict(done or {}), on_decision)
    run.screen(np.argsort(-base, kind="stable"), llm_limit, progress)
    return run.ranked(base)


def _default_settings() -> Settings:
    from bioagent.settings import Settings

    return Settings.load()


def _llm_checker(criteria: Criteria, chat_model: Any, settings: Settings | None) -> LLMChecker:
    if chat_model is not None:
        return LLMChecker(criteria, chat_model, f"llm:{type(chat_model).__name__}")
    from bioagent.llm import create_chat_model, describe_model

    settings = settings or _default_settings()
    model = create_chat_model(settings.llm, cache_dir=settings.cache_dir)
    return LLMChecker(criteria, model, f"llm:{describe_model(settings.llm)}")


class _Run:
    """One pass over the records: checks in rank order, decisions, then the final ranking."""

    def __init__(
        self,
        records: RecordSet,
        labels: Mapping[str, int],
        ranker: Ranker,
        llm: LLMChecker | None,
        similarity: SimilarityChecker,
        done: dict[str, TriageDecision],
        on_decision: Callable[[TriageDecision], None] | None,
    ) -> None:
        self.records, self.labels, self.ranker = records, labels, ranker
        self.llm, self.similarity = llm, similarity
        self.decided: dict[str, TriageDecision] = dict(done)
        self.on_decision = on_decision
        probabilities = ranker.probabilities() if isinstance(ranker, ActiveLearningRanker) else None
        self.probabilities = probabilities
        self.ranker_name = _ranker_label(ranker, similarity)

    def screen(self, order: np.ndarray, llm_limit: int | None, progress: bool, batch: int = 32) -> None:
        from tqdm.auto import tqdm

        docs = self.records.records
        todo = [
            int(i)
            for i in order
            if docs[i].id not in self.decided and docs[i].id not in self.records.duplicate_of
        ]
        with tqdm(total=len(todo), desc="screening", unit="rec", disable=not progress) as bar:
            for start in range(0, len(todo), batch):
                chunk = todo[start : start + batch]
                results = self._check(chunk[: self._llm_share(chunk, start, llm_limit)], self.llm)
                results.update(
                    self._check(chunk[self._llm_share(chunk, start, llm_limit) :], self.similarity)
                )
                for i in chunk:
                    decision = self._decide(i, *results.get(i, ("", None)))
                    self.decided[docs[i].id] = decision
                    if self.on_decision:
                        self.on_decision(decision)
                bar.update(len(chunk))

    def _llm_share(self, chunk: list[int], start: int, llm_limit: int | None) -> int:
        """How many records at the head of this batch the LLM checks (the first ``llm_limit`` overall)."""
        if self.llm is None:
            return 0
        return len(chunk) if llm_limit is None else max(0, min(len(chunk), llm_limit - start))

    def _check(self, chunk: list[int], checker: CriteriaChecker | None) -> dict[int, tuple[str, Screening]]:
        """Checks for the readable records of a batch; labelled ones only need the cheap similarity evidence."""
        if checker is None or not chunk:
            return {}
        docs = self.records.records
        readable = [i for i in chunk if docs[i].id not in self.records.problems]
        results: dict[int, tuple[str, Screening]] = {}
        for check_with, group in (
            (self.similarity, [i for i in readable if docs[i].id in self.labels]),
            (checker, [i for i in readable if docs[i].id not in self.labels]),
        ):
            if group:
                screenings = check_with.check([docs[i] for i in group])
                results.update((i, (check_with.name, s)) for i, s in zip(group, screenings))
        return results

    def _decide(self, i: int, checker_name: str, screening: Screening | None) -> TriageDecision:
        doc = self.records.records[i]
        checks = screening.checks if screening else []
        if doc.id in self.labels:
            decision: Decision = "include" if self.labels[doc.id] else "exclude"
            return TriageDecision(
                record_id=doc.id, rank=0, score=0.0, decision=decision, checks=checks, model="label"
            )
        if screening is None:  # cannot be screened: nothing to read
            return TriageDecision(record_id=doc.id, rank=0, score=0.0, decision="unsure", model="none")
        if self.llm is not None and checker_name == self.llm.name:
            return TriageDecision(
                record_id=doc.id,
                rank=0,
                score=0.0,
                decision=screening.decision,
                checks=screening.checks,
                model=checker_name,
            )
        decision = screening.decision
        if self.probabilities is not None:
            decision = _from_probability(float(self.probabilities[i]))
        return TriageDecision(
            record_id=doc.id,
            rank=0,
            score=0.0,
            decision=decision,
            checks=screening.checks,
            model=self.ranker_name,
        )

    def ranked(self, base: np.ndarray) -> list[TriageDecision]:
        """Final scores (LLM verdicts shift the base ranking), duplicates right after their original."""
        docs = self.records.records
        index = {doc.id: n for n, doc in enumerate(docs)}
        score = base.copy()
        if self.llm is not None:
            for rid, decision in self.decided.items():
                if decision.model == self.llm.name and rid in index:
                    score[index[rid]] += LLM_WEIGHT * support_of(decision.checks)
        rows = []
        for n, doc in enumerate(docs):
            original = self.records.duplicate_of.get(doc.id)
            source = self.decided[original if original else doc.id]
            at = index[original] if original else n
            rows.append((-score[at], at, n, doc.id, original, source))
        rows.sort(key=lambda row: row[:3])
        return [
            source.model_copy(
                update={
                    "record_id": rid,
                    "rank": rank,
                    "score": round(float(-neg), 4),
                    "duplicate_of": original,
                }
            )
            for rank, (neg, _, _, rid, original, source) in enumerate(rows, start=1)
        ]


def _from_probability(p: float) -> Decision:
    if p >= INCLUDE_PROBABILITY:
        return "include"
    return "exclude" if p < EXCLUDE_PROBABILITY else "unsure"


def _ranker_label(ranker: Ranker, similarity: SimilarityChecker) -> str:
    if isinstance(ranker, ActiveLearningRanker) and ranker.decision_values is not None:
        return f"{ranker.name}:logreg+criteria-prior; evidence {similarity.name}"
    return f"zero-shot; evidence {similarity.name}"
