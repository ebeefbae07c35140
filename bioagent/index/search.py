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


class Ranker:
    """Scores documents with a dense and a lexical store whose rows are the same chunks."""

    def __init__(self, chunk_docs: list[int], dense: DenseStore, lexical: LexicalStore) -> None:
        self.chunk_docs = chunk_docs
        self.dense = dense
        self.lexical = lexical
        self.doc_chunks: dict[int, list[int]] = {}
        for row, doc in enumerate(chunk_docs):
            self.doc_chunks.setdefault(doc, []).append(row)

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
            lexical_scores = {d: float(lexical_all[self.doc_chunks[d]].max()) for d in candidates}
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
        take = min(depth * 2, len(all_scores))
        rows = np.argpartition(-all_scores, take - 1)[:take] if take else np.zeros(0, dtype=np.int64)
        rows = rows[all_scores[rows] > 0]
        return self._by_document(all_scores[rows], rows), all_scores

    def _dense_doc_score(self, vector: np.ndarray, doc: int) -> float:
        return float((self.dense.reconstruct(self.doc_chunks[doc]) @ vector).max())

    def _by_document(self, scores: np.ndarray, rows: np.ndarray) -> BestChunks:
        best: BestChunks = {}
        for score, row in zip(scores.tolist(), rows.tolist()):
            if row < 0:
                continue
            doc = self.chunk_docs[row]
            if doc not in best or score > best[doc][0]:
                best[doc] = (float(score), int(row))
        return best

    @staticmethod
    def _single(best: BestChunks, k: int) -> list[Ranked]:
        return [Ranked(doc, score, best[doc][1]) for doc, score in top_k(_scores(best), k)]


def _scores(best: BestChunks) -> dict[int, float]:
    return {doc: score for doc, (score, _) in best.items()}
