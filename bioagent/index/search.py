"""Ranking documents for a query: dense, lexical, or hybrid over the union of both candidate lists.

Search units are chunks; a document scores as its best chunk. In hybrid mode every candidate document gets both
of its scores computed exactly (its cosine similarity and its BM25 score), not only the ones it happened to reach
in each top list, and the two are min-max normalised over the candidates and mixed with
``retrieval.dense_weight``. With ``retrieval.fusion = "rrf"`` the two lists are merged by reciprocal rank instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bioagent.index.dense import DenseStore
from bioagent.index.doctable import DocumentTable
from bioagent.index.fusion import reciprocal_rank_fusion, top_k, weighted_fusion
from bioagent.index.lexical import LexicalStore
from bioagent.settings import RetrievalSettings
from bioagent.types import SearchMode

BestChunks = dict[int, tuple[float, int]]
"""Document row -> (score of its best chunk, that chunk's row)."""


@dataclass(frozen=True)
class Ranked:
    doc_row: int
    score: float
    chunk_row: int


class HybridRanker:
    """Scores documents with a dense and a lexical store whose rows are the same chunks."""

    def __init__(self, table: DocumentTable, dense: DenseStore, lexical: LexicalStore) -> None:
        self.table = table
        self.dense = dense
        self.lexical = lexical

    def rank(
        self,
        vectors: np.ndarray | None,
        queries: list[str],
        k: int,
        mode: SearchMode,
        settings: RetrievalSettings,
    ) -> list[list[Ranked]]:
        depth = max(k, settings.candidates)
        if mode == "lexical":
            return [self._single(self._lexical_best(q, depth)[0], k) for q in queries]
        assert vectors is not None
        dense = self._dense_best(vectors, depth)
        if mode == "dense":
            return [self._single(best, k) for best in dense]
        return [self._hybrid(v, q, d, k, depth, settings) for v, q, d in zip(vectors, queries, dense)]

    def _hybrid(
        self,
        vector: np.ndarray,
        query: str,
        dense: BestChunks,
        k: int,
        depth: int,
        settings: RetrievalSettings,
    ) -> list[Ranked]:
        lexical, lexical_all = self._lexical_best(query, depth)
        if settings.fusion == "rrf":
            fused = reciprocal_rank_fusion([_scores(dense), _scores(lexical)], settings.rrf_k)
        else:
            candidates = set(dense) | set(lexical)
            dense_scores = {
                d: dense[d][0] if d in dense else self._dense_doc_score(vector, d) for d in candidates
            }
            lexical_scores = {d: float(lexical_all[self._span(d)].max()) for d in candidates}
            weight = settings.dense_weight
            fused = weighted_fusion([dense_scores, lexical_scores], [weight, 1.0 - weight])
        best_chunk = {**{d: c for d, (_, c) in lexical.items()}, **{d: c for d, (_, c) in dense.items()}}
        return [Ranked(doc, score, best_chunk[doc]) for doc, score in top_k(fused, k)]

    def _dense_best(self, vectors: np.ndarray, depth: int) -> list[BestChunks]:
        scores, rows = self.dense.search(vectors, depth * 2)
        return [self._by_document(s, r) for s, r in zip(scores, rows)]

    def _lexical_best(self, query: str, depth: int) -> tuple[BestChunks, np.ndarray]:
        """Best chunks of the top lexical documents, and the BM25 score of every chunk."""
        all_scores = self.lexical.score_all(query)
        rows = top_positive(all_scores, depth * 2)
        return self._by_document(all_scores[rows], rows), all_scores

    def _dense_doc_score(self, vector: np.ndarray, doc: int) -> float:
        return float((self.dense.reconstruct(list(self.table.chunk_rows(doc))) @ vector).max())

    def _by_document(self, scores: np.ndarray, rows: np.ndarray) -> BestChunks:
        best: BestChunks = {}
        valid = rows >= 0
        scores, rows = scores[valid], rows[valid]
        for score, row, doc in zip(scores.tolist(), rows.tolist(), self.table.chunk_docs(rows).tolist()):
            if doc not in best or score > best[doc][0]:
                best[doc] = (float(score), int(row))
        return best

    def _span(self, doc: int) -> slice:
        rows = self.table.chunk_rows(doc)
        return slice(rows.start, rows.stop)

    @staticmethod
    def _single(best: BestChunks, k: int) -> list[Ranked]:
        return [Ranked(doc, score, best[doc][1]) for doc, score in top_k(_scores(best), k)]


def top_positive(scores: np.ndarray, take: int) -> np.ndarray:
    """Rows of the ``take`` highest positive scores (all positive ones when fewer), in no particular order.

    A strided sample of the scores gives a threshold that about four times ``take`` rows pass, and only those
    are ranked: selecting among millions of mostly tied BM25 scores directly costs tens of milliseconds.
    """
    step = max(1, len(scores) // (64 * take)) if take > 0 else 1
    candidates = None
    if step > 1:
        sample = np.sort(scores[::step])
        threshold = sample[max(0, len(sample) - 1 - (4 * take) // step)]
        if threshold > 0 and len(passing := np.flatnonzero(scores >= threshold)) >= take:
            candidates = passing
    if candidates is None:
        candidates = np.flatnonzero(scores > 0)
    if len(candidates) > take:
        candidates = candidates[np.argpartition(-scores[candidates], take - 1)[:take]]
    return candidates


def _scores(best: BestChunks) -> dict[int, float]:
    return {doc: score for doc, (score, _) in best.items()}
