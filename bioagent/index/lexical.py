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

    def score_all(self, query: str) -> NDArray[np.float32]:
        """The BM25 score of every document for ``query`` (zeros when no query term is indexed)."""
        tokens = _bm25s().tokenize(
            [query], stopwords="en", stemmer=self._stem, show_progress=False, return_ids=False
        )
        if not tokens[0]:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(tokens[0]), dtype=np.float32)
