"""BM25 over stemmed English tokens (bm25s + PyStemmer)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bioagent.errors import MissingExtraError

if TYPE_CHECKING:
    from numpy.typing import NDArray


def _bm25s() -> Any:
    try:
        import bm25s
    except ImportError as exc:  # pragma: no cover - core dependency
        raise MissingExtraError("bm25s", "default", "Lexical retrieval") from exc
    return bm25s


def _stemmer() -> Any:
    try:
        import Stemmer
    except ImportError as exc:  # pragma: no cover - core dependency
        raise MissingExtraError("PyStemmer", "default", "Lexical retrieval") from exc
    return Stemmer.Stemmer("english")


class LexicalStore:
    """A BM25 index whose document numbers are positions in the index's document table."""

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever
        self._stem = _stemmer()

    @classmethod
    def build(
        cls, texts: list[str], k1: float = 1.2, b: float = 0.75, progress: bool = False
    ) -> LexicalStore:
        bm25s = _bm25s()
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=progress)
        retriever = bm25s.BM25(k1=k1, b=b)
        retriever.index(tokens, show_progress=progress)
        return cls(retriever)

    @classmethod
    def load(cls, folder: Path) -> LexicalStore:
        return cls(_bm25s().BM25.load(str(folder)))

    def save(self, folder: Path) -> None:
        self.retriever.save(str(folder))

    @property
    def size(self) -> int:
        return int(self.retriever.scores["num_docs"])

    def search(self, queries: list[str], k: int) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """Scores and document numbers, best first; rows are -1 where a query matches fewer than ``k``."""
        bm25s = _bm25s()
        k = max(1, min(k, self.size))
        tokens = bm25s.tokenize(
            queries, stopwords="en", stemmer=self._stem, show_progress=False, return_ids=False
        )
        rows = np.full((len(queries), k), -1, dtype=np.int64)
        scores = np.zeros((len(queries), k), dtype=np.float32)
        for i, query_tokens in enumerate(tokens):
            if not query_tokens:
                continue
            found, found_scores = self.retriever.retrieve(
                [query_tokens], k=k, show_progress=False, n_threads=1
            )
            matched = found_scores[0] > 0
            count = int(matched.sum())
            rows[i, :count] = found[0][matched]
            scores[i, :count] = found_scores[0][matched]
        return scores, rows
