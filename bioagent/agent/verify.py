"""Sentence-level citation verifier.

For every sentence of a draft answer:

1. each citation must name evidence gathered in this run (an unknown key or number is removed and reported);
2. the sentence must be supported by a cited item: the cosine between the sentence and the item's
   best-matching sentence (the index's embedder) reaches ``support_cosine`` *and* at least ``support_overlap``
   of the sentence's content words occur in the item (``settings.agent``; defaults calibrated for
   all-MiniLM-L6-v2 by ``benchmarks/agent_calibration.py``);
3. a claim with no supporting citation is checked against all of the run's evidence: when one item supports it
   that item is cited ("attached by the verifier"); otherwise the sentence is removed (or marked).

Sentences with fewer than two content words ("Yes.", "In short: p53.") carry no checkable claim and are kept;
filler with no content word at all ("The answer is [1].") is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from bioagent.agent.evidence import EvidenceSet
from bioagent.agent.reject import fact_conflict, location_conflict, says_nothing
from bioagent.agent.terms import content_terms
from bioagent.citations import find_citations, split_sentences, strip_citations
from bioagent.index.embedders import Embedder
from bioagent.types import SentenceVerdict

UNSUPPORTED_MARK = "[unsupported]"
NO_CLAIM = "no checkable claim"
FILLER = "filler without content (dropped)"
QUOTED = "quoted from the evidence (extractive fallback)"
_MIN_CLAIM_TERMS = 2
_VERDICT = re.compile(r"\W*(yes|no|maybe)\b", re.IGNORECASE)


_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]\w)")
_SYMBOL = re.compile(r"\b(?=[\w-]*[A-Za-z])(?=[\w-]*\d)[A-Za-z0-9][\w-]*\b")
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th|s)$", re.IGNORECASE)


def missing_anchors(claim: str, evidence: str) -> list[str]:
    """Numbers (10 and above, or with decimals) and gene/variant-like symbols (letters with digits: TP53, R175H) of the claim
    that the evidence does not contain; a number counts as present when the evidence rounds to it."""
    claim = re.sub(r"(?<=\d),(?=\d{3}\b)", "", claim)
    evidence = re.sub(r"(?<=\d),(?=\d{3}\b)", "", evidence)
    words = {w.upper() for w in re.findall(r"[\w-]+", evidence)}
    values = [float(n) for n in _NUMBER.findall(evidence)]
    missing = [s for s in _SYMBOL.findall(claim) if not _ORDINAL.match(s) and s.upper() not in words]
    for number in _NUMBER.findall(claim):
        decimals = len(number.partition(".")[2])
        if (float(number) >= 10 or decimals) and not any(round(v, decimals) == float(number) for v in values):
            missing.append(number)
    return missing


@dataclass
class Verification:
    """The checked answer text and what happened to each sentence."""

    text: str
    verdicts: list[SentenceVerdict]
    citations: list[str]
    claims: int = 0
    supported_claims: int = 0
    removed_sentences: list[str] = field(default_factory=list)
    invalid_citations: list[str] = field(default_factory=list)
    dropped_sentences: int = 0
    """Sentences not checked: repeats, or claims beyond the requested answer length."""

    def extend(self, other: Verification) -> None:
        """Append another checked text (sentences, verdicts, citations and counts)."""
        self.text = " ".join(t for t in (self.text, other.text) if t)
        self.verdicts += other.verdicts
        self.citations = list(dict.fromkeys(self.citations + other.citations))
        self.claims += other.claims
        self.supported_claims += other.supported_claims
        self.removed_sentences += other.removed_sentences
        self.invalid_citations += other.invalid_citations
        self.dropped_sentences += other.dropped_sentences

    @property
    def support_rate(self) -> float | None:
        return self.supported_claims / self.claims if self.claims else None


class Verifier:
    """Checks a draft against an :class:`EvidenceSet` with an embedder and content-word overlap."""

    def __init__(
        self,
        embedder: Embedder,
        support_cosine: float = 0.5,
        support_overlap: float = 0.5,
        unsupported: Literal["remove", "mark"] = "remove",
    ) -> None:
        self.embedder = embedder
        self.support_cosine = support_cosine
        self.support_overlap = support_overlap
        self.unsupported = unsupported

    def verify(
        self,
        draft: str,
        evidence: EvidenceSet,
        shown: int | None = None,
        max_claims: int | None = None,
        subjects: Collection[str] = (),
        numbered: bool = True,
    ) -> Verification:
        """Check ``draft`` against ``evidence``. Uncited claims are matched against the first ``shown`` items
        (those the model saw; default all); a cited item is always checked. Repeated sentences, and claims
        after the first ``max_claims``, are dropped unchecked (counted in ``dropped_sentences``).
        ``subjects``: the UniProt keys the question resolved to; a claim resting only on other entries is
        about the wrong entity and is rejected. ``numbered``: bare numbers in brackets are citations (a model's
        draft); False for a composed answer, whose quoted text may hold brackets ("G1P[8]")."""
        sentences, dropped = _first_distinct(split_sentences(draft), max_claims, numbered)
        claims = [strip_citations(s, numbered) for s in sentences]
        cited = {evidence.resolve(k) for s in sentences for m in find_citations(s, numbered) for k in m.keys}
        scope = [key for n, key in enumerate(evidence.keys()) if shown is None or n < shown or key in cited]
        support = _SupportTable(
            self.embedder, evidence, [c for c in claims if _is_claim(c)], scope, set(subjects), numbered
        )
        result = Verification(text="", verdicts=[], citations=[], dropped_sentences=dropped)
        kept: list[str] = []
        for sentence, claim in zip(sentences, claims):
            verdict = self._check(sentence, claim, evidence, support, result)
            result.verdicts.append(verdict)
            if verdict.supported:
                kept.append(_with_citations(claim, verdict.citations))
            elif verdict.reason == FILLER:
                continue
            elif self.unsupported == "mark":
                kept.append(_with_citations(claim, [UNSUPPORTED_MARK[1:-1]]))
                result.removed_sentences.append(claim)
            else:
                result.removed_sentences.append(claim)
        result.text = " ".join(k for k in kept if k.strip())
        result.citations = list(dict.fromkeys(c for v in result.verdicts if v.supported for c in v.citations))
        return result

    def _check(
        self, sentence: str, claim: str, evidence: EvidenceSet, support: _SupportTable, result: Verification
    ) -> SentenceVerdict:
        cited: list[str] = []
        invalid: list[str] = []
        for mark in find_citations(sentence, support.numbered):
            for key in mark.keys:
                resolved = evidence.resolve(key)
                (cited if resolved else invalid).append(resolved or key)
        result.invalid_citations.extend(invalid)
        cited = list(dict.fromkeys(cited))
        if empty := says_nothing(claim):
            return SentenceVerdict(
                sentence=claim, citations=[], supported=False, reason=empty, removed_citations=cited + invalid
            )
        if not _is_claim(claim) and not content_terms(claim) and not _VERDICT.match(claim):
            return SentenceVerdict(
                sentence=claim,
                citations=[],
                supported=False,
                reason=FILLER,
                removed_citations=invalid,
            )
        if not _is_claim(claim):
            return SentenceVerdict(
                sentence=claim,
                citations=cited,
                supported=bool(claim.strip()),
                reason=NO_CLAIM,
                removed_citations=invalid,
            )
        result.claims += 1
        conflicts = {key: why for key in cited if (why := self._conflict(claim, key, evidence, support))}
        scored = {key: support.score(claim, key) for key in cited}
        backing = [
            key for key, (cos, ovl) in scored.items() if self._passes(cos, ovl) and key not in conflicts
        ]
        removed = invalid + [key for key in cited if key not in backing]
        reason = "supported by its citation"
        if not backing and not conflicts:
            best_key, (cos, ovl) = support.best(claim)
            if best_key and self._passes(cos, ovl):
                if why := self._conflict(claim, best_key, evidence, support):
                    conflicts[best_key] = why
                else:
                    backing, scored[best_key] = [best_key], (cos, ovl)
                    reason = "citation attached by the verifier (the draft cited none that supports it)"
        if not backing:
            best_key, (cos, ovl) = support.best(claim)
            absent = (
                f"; {', '.join(support.missing[(claim, best_key or '')])} not in the evidence"
                if best_key and (claim, best_key) in support.missing
                else ""
            )
            why = "; ".join(f"{key} {text}" for key, text in conflicts.items())
            return SentenceVerdict(
                sentence=claim,
                citations=[],
                supported=False,
                score=round(cos, 4),
                removed_citations=removed,
                reason=why
                or f"no evidence supports it (best: {best_key or 'none'}, cosine {cos:.2f}, overlap {ovl:.2f})"
                + absent,
            )
        result.supported_claims += 1
        cos, ovl = max(scored[k] for k in backing)
        return SentenceVerdict(
            sentence=claim,
            citations=backing,
            supported=True,
            score=round(cos, 4),
            removed_citations=removed,
            reason=f"{reason}: cosine {cos:.2f}, overlap {ovl:.2f}",
        )

    def _conflict(self, claim: str, key: str, evidence: EvidenceSet, support: _SupportTable) -> str | None:
        """Why a reader would reject ``claim`` as resting on ``key``: another entity than the question's, or
        a contradiction of the entry's location field or the tool's verdict."""
        if key.startswith("UniProt:") and support.subjects and key not in support.subjects:
            wanted = ", ".join(sorted(support.subjects))
            return f"is about another entry than the one the question names ({wanted})"
        item = evidence.get(key)
        if key.startswith("UniProt:"):
            return location_conflict(claim, evidence.texts[key])
        if item is not None and item.kind == "prediction":
            return fact_conflict(claim, item.metadata.get("facts") or [])
        return None

    def _passes(self, cosine: float, overlap: float) -> bool:
        return cosine >= self.support_cosine and overlap >= self.support_overlap


class _SupportTable:
    """Embeddings of the claims and of the sentences of the evidence in scope, computed once per verification
    and only when a claim is not quoted verbatim from the item it is checked against (a composed answer's
    sentences are, so checking them encodes nothing)."""

    def __init__(
        self,
        embedder: Embedder,
        evidence: EvidenceSet,
        claims: list[str],
        keys: list[str],
        subjects: set[str],
        numbered: bool,
    ) -> None:
        self.embedder = embedder
        self.subjects = subjects
        """UniProt keys the question resolved to (claims resting only on other entries are rejected)."""
        self.numbered = numbered
        """Whether bare bracketed numbers are citations."""
        self.claims = claims
        self.keys = keys if claims else []
        self.units: list[tuple[str, str]] = []
        for key in self.keys:
            text = evidence.texts[key]
            if key.startswith("tool:"):
                parts = [text, *split_sentences(text)[:60], *text.split("; ")]
                self.units += [(key, part) for part in dict.fromkeys(parts) if part.strip()]
            else:
                self.units += [(key, part) for part in split_sentences(text)[:40] if part.strip()]
        self.terms = {key: content_terms(evidence.texts[key]) for key in self.keys}
        self.texts = {key: evidence.texts[key] for key in self.keys}
        self.missing: dict[tuple[str, str], list[str]] = {}
        self.flat = {key: _flat(text) for key, text in self.texts.items()}
        self._vectors: tuple[dict[str, np.ndarray], np.ndarray] | None = None

    def vectors(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """(claim -> vector, unit vectors), encoded on first use."""
        if self._vectors is None:
            texts = self.claims + [u[1] for u in self.units]
            vectors = self.embedder.encode_documents(texts) if texts else np.zeros((0, 1), dtype=np.float32)
            claim_vectors = {c: vectors[i] for i, c in enumerate(self.claims)}
            self._vectors = claim_vectors, vectors[len(self.claims) :]
        return self._vectors

    def score(self, claim: str, key: str) -> tuple[float, float]:
        """(best cosine between the claim and the item's sentences, share of claim words found in the item);
        the share is 0 when a number or symbol of the claim is missing from the item. A claim quoted verbatim
        from the item scores (1, 1)."""
        if key in self.flat and len(claim) > 20 and _flat(claim) in self.flat[key]:
            return 1.0, 1.0
        rows = [i for i, (k, _) in enumerate(self.units) if k == key]
        claim_vectors, unit_vectors = self.vectors()
        if not rows or claim not in claim_vectors:
            return 0.0, 0.0
        cosine = float(np.max(unit_vectors[rows] @ claim_vectors[claim]))
        terms = content_terms(claim)
        overlap = len(terms & self.terms[key]) / len(terms) if terms else 0.0
        missing = missing_anchors(claim, self.texts[key])
        if missing:
            self.missing[(claim, key)] = missing
        return cosine, 0.0 if missing else overlap

    def best(self, claim: str) -> tuple[str | None, tuple[float, float]]:
        """The evidence item that supports ``claim`` best (ranked by the smaller of its two margins)."""
        best_key, best = None, (0.0, 0.0)
        for key in self.keys:
            cos, ovl = self.score(claim, key)
            if best_key is None or min(cos, ovl) > min(*best):
                best_key, best = key, (cos, ovl)
        return best_key, best


def _flat(text: str) -> str:
    """Lower case, single spaces, no final full stop or ellipsis: for verbatim-quote checks."""
    return " ".join(text.lower().split()).rstrip(".… ")


def _first_distinct(sentences: list[str], max_claims: int | None, numbered: bool) -> tuple[list[str], int]:
    """The sentences without repeats and without claims beyond the first ``max_claims``; and how many went."""
    kept: list[str] = []
    seen: set[str] = set()
    claims = 0
    for sentence in sentences:
        claim = strip_citations(sentence, numbered)
        marker = " ".join(sorted(content_terms(claim))) or claim.lower()
        if marker in seen or (_is_claim(claim) and max_claims is not None and claims >= max_claims):
            continue
        seen.add(marker)
        claims += _is_claim(claim)
        kept.append(sentence)
    return kept, len(sentences) - len(kept)


def is_claim_verdict(verdict: SentenceVerdict) -> bool:
    """Whether a verdict judged a generated factual claim (not a verdict word, filler or a quotation)."""
    return verdict.reason not in (NO_CLAIM, FILLER, QUOTED)


def _is_claim(text: str) -> bool:
    return len(content_terms(text)) >= _MIN_CLAIM_TERMS


def _with_citations(claim: str, keys: list[str]) -> str:
    """'Claim text.' + keys -> 'Claim text [K1; K2].'"""
    if not keys:
        return claim
    body = claim.rstrip()
    end = body[-1] if body and body[-1] in ".!?" else "."
    body = body[:-1].rstrip() if body and body[-1] in ".!?" else body
    return f"{body} [{'; '.join(keys)}]{end}"
