"""Record features shared by the rankers: TF-IDF (1-2 grams) and dense embeddings (through the index layer's
per-text cache, so records embedded once are not embedded again)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bioagent.errors import BioagentError, require
from bioagent.index.engines import embed_texts

if TYPE_CHECKING:
    from bioagent.index.embedders import Embedder

logger = logging.getLogger(__name__)


def sklearn_module(name: str) -> Any:
    """Import a scikit-learn module or raise an error naming the ``triage`` extra."""
    return require(name, "scikit-learn", "triage", "Screening (bioagent triage)")


def tfidf_vectorizer(ngram_max: int = 2, min_df: int = 1) -> Any:
    """The TF-IDF settings both our rankers and the reference baseline use (English stop words removed)."""
    text = sklearn_module("sklearn.feature_extraction.text")
    return text.TfidfVectorizer(
        ngram_range=(1, ngram_max), stop_words="english", sublinear_tf=True, min_df=min_df, dtype=np.float32
    )


@dataclass
class Features:
    """TF-IDF rows (L2-normalised, sparse) and, when an embedder is given, dense unit vectors per record."""

    texts: list[str]
    vectorizer: Any
    tfidf: Any
    dense: np.ndarray | None = None
    embedder: Embedder | None = None

    @property
    def size(self) -> int:
        return len(self.texts)

    @property
    def empty(self) -> np.ndarray:
        """True for records with neither title nor abstract (nothing to rank them by)."""
        return np.array([not text.strip() for text in self.texts], dtype=bool)


def build_features(
    texts: Sequence[str],
    embedder: Embedder | None = None,
    cache_dir: str | Path | None = None,
    vocabulary_texts: Sequence[str] = (),
    progress: bool = False,
) -> Features:
    """Fit TF-IDF on the records (plus ``vocabulary_texts``, e.g. the criteria) and embed them when asked."""
    texts = list(texts)
    vectorizer = tfidf_vectorizer()
    try:  # one pass: fit on records + criteria, keep the records' rows
        tfidf = vectorizer.fit_transform(texts + list(vocabulary_texts))[: len(texts)].tocsr()
    except ValueError as exc:
        raise BioagentError(
            "no record has a title or abstract, and the criteria give no words to rank by"
        ) from exc
    dense = None
    if embedder is not None:
        folder = None if cache_dir is None else Path(cache_dir)
        dense = embed_texts(embedder, texts, cache_dir=folder, progress=progress)
    return Features(texts=texts, vectorizer=vectorizer, tfidf=tfidf, dense=dense, embedder=embedder)
