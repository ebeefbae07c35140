"""Merging ranked lists from several retrievers: reciprocal rank fusion and weighted score fusion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Ranking = Mapping[int, float]
"""Document number -> retriever score, for one query (any order)."""


def reciprocal_rank_fusion(rankings: Sequence[Ranking], k: int = 60) -> dict[int, float]:
    """Sum of 1 / (k + rank) over the retrievers that returned each document (Cormack et al., 2009)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        ordered = sorted(ranking, key=lambda doc: ranking[doc], reverse=True)
        for rank, doc in enumerate(ordered, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return fused


def weighted_fusion(rankings: Sequence[Ranking], weights: Sequence[float]) -> dict[int, float]:
    """Weighted sum of min-max normalised scores; a document missing from a list scores 0 there."""
    if len(rankings) != len(weights):
        raise ValueError("one weight per ranking is needed")
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for doc, score in normalise_scores(ranking).items():
            fused[doc] = fused.get(doc, 0.0) + weight * score
    return fused


def normalise_scores(ranking: Ranking) -> dict[int, float]:
    """Min-max scale one retriever's scores to [0, 1] (all equal -> 1)."""
    if not ranking:
        return {}
    low, high = min(ranking.values()), max(ranking.values())
    span = high - low
    return {doc: (score - low) / span if span > 0 else 1.0 for doc, score in ranking.items()}


def top_k(scores: Mapping[int, float], k: int) -> list[tuple[int, float]]:
    """The ``k`` best (document, score) pairs, ties broken by document number for determinism."""
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
