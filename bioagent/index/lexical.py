"""BM25 over stemmed English tokens (bm25s + PyStemmer), opened with bm25s's memory-mapped loading.

The index files are written by :class:`~bioagent.index.bm25_writer.BM25Writer` in bm25s's format; loading maps the
score arrays (``mmap=True``) and reads only the vocabulary and parameters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bioagent.errors import MissingExtraError

if TYPE_CHECKING:
    from numpy.typing import NDArray


def bm25s_module() -> Any:
    try:
        import bm25s
    except ImportError as exc:  # pragma: no cover - core dependency
        raise MissingExtraError("bm25s", "default", "Lexical retrieval") from exc
    return bm25s


def stemmer() -> Any:
    try:
        import Stemmer
    except ImportError as exc:  # pragma: no cover - core dependency
        raise MissingExtraError("PyStemmer", "default", "Lexical retrieval") from exc
    return Stemmer.Stemmer("english")


TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's (and scikit-learn's) token pattern


class _WordIds(dict[str, int]):
    """Word → number of its stem in ``stems`` (added when new), or -1 for a stop word; filled on first sight."""

    def __init__(self, stopwords: frozenset[str], stem: Any, stems: dict[str, int]) -> None:
        super().__init__()
        self.stopwords, self.stem, self.stems = stopwords, stem, stems

    def __missing__(self, word: str) -> int:
        number = -1 if word in self.stopwords else self.stems.setdefault(self.stem(word), len(self.stems))
        self[word] = number
        return number


class Tokenizer:
    """bm25s's tokenisation (lower-cased words of two or more characters, English stop words dropped, Snowball
    stems), with every word's stem cached, so a build maps words to stem numbers at C speed."""

    def __init__(self) -> None:
        self.stopwords = frozenset(bm25s_module().stopwords.STOPWORDS_EN)
        self._stem = stemmer().stemWord
        self.stems: dict[str, int] = {}
        self._ids = _WordIds(self.stopwords, self._stem, self.stems)

    def words(self, text: str) -> list[str]:
        """The indexed form of ``text``'s words."""
        return [self._stem(word) for word in TOKEN.findall(text.lower()) if word not in self.stopwords]

    def ids(self, texts: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """The stem numbers of every indexed word of ``texts`` (in order), and the text each belongs to."""
        words = [TOKEN.findall(text.lower()) for text in texts]
        counts = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
        numbers = np.fromiter(
            map(self._ids.__getitem__, chain.from_iterable(words)), dtype=np.int64, count=int(counts.sum())
        )
        text_of = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
        kept = numbers >= 0
        return numbers[kept], text_of[kept]


class LexicalStore:
    """A BM25 index whose document numbers are positions in the index's document table."""

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever
        self._tokenizer = Tokenizer()

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> LexicalStore:
        """Open a BM25 folder; ``mmap`` maps the score arrays instead of reading them (the default)."""
        return cls(bm25s_module().BM25.load(str(folder), mmap=mmap, show_progress=False))

    @property
    def size(self) -> int:
        return int(self.retriever.scores["num_docs"])

    def words(self, text: str) -> list[str]:
        """The indexed form of ``text``'s words: lower-cased, stemmed, English stop words dropped."""
        return self._tokenizer.words(text)

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
