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

    def words(self, text: str) -> list[str]:
        """The indexed form of ``text``'s words: lower-cased, stemmed, English stop words dropped."""
        tokens = _bm25s().tokenize(
            [text], stopwords="en", stemmer=self._stem, show_progress=False, return_ids=False
        )
        return list(tokens[0])

    def document_counts(self, text: str) -> dict[str, int]:
        """Each indexed word of ``text`` with the number of indexed texts that hold it (0 when none does)."""
        vocabulary, starts = self.retriever.vocab_dict, self.retriever.scores["indptr"]
        counts = {}
        for word in self.words(text):
            row = vocabulary.get(word)
            counts[word] = 0 if row is None or row + 1 >= len(starts) else int(starts[row + 1] - starts[row])
        return counts

    def score_all(self, query: str) -> NDArray[np.float32]:
        """The BM25 score of every document for ``query`` (zeros when no query term is indexed)."""
        tokens = self.words(query)
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)
