"""Record features shared by the rankers: TF-IDF (1-2 grams) and dense embeddings with an on-disk cache."""

from __future__ import annotations

import hashlib
import logging
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bioagent.errors import BioagentError, require
from bioagent.triage.durable import replace_atomically

if TYPE_CHECKING:
    from bioagent.index.embedders import Embedder

logger = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sklearn_module(name: str) -> Any:
    """Import a scikit-learn module or raise an error naming the ``triage`` extra."""
    return require(name, "scikit-learn", "triage", "Screening (bioagent triage)")


def tfidf_vectorizer(ngram_max: int = 2, min_df: int = 1) -> Any:
    """The TF-IDF settings both our rankers and the reference baseline use (English stop words removed)."""
    text = sklearn_module("sklearn.feature_extraction.text")
    return text.TfidfVectorizer(
        ngram_range=(1, ngram_max), stop_words="english", sublinear_tf=True, min_df=min_df, dtype=np.float32
    )


class EmbeddingCache:
    """Document vectors on disk, keyed by embedder name and a hash of each text (one .npz per embedder).

    The file is replaced atomically; one that cannot be read (e.g. left by an older version) is rebuilt.
    """

    def __init__(self, embedder: Embedder, cache_dir: str | Path | None) -> None:
        self.embedder = embedder
        self.path = None if cache_dir is None else Path(cache_dir) / f"{_UNSAFE.sub('_', embedder.name)}.npz"

    def encode_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        known = self._load()
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in known}.items())
        if missing:
            vectors = self.embedder.encode_documents([t for _, t in missing], progress=progress)
            known.update({k: v for (k, _), v in zip(missing, vectors)})
            self._save(known)
        if not keys:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.stack([known[k] for k in keys]).astype(np.float32)

    def _load(self) -> dict[str, np.ndarray]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            with np.load(self.path) as data:
                return dict(zip(data["keys"].tolist(), data["vectors"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            logger.warning("%s: unreadable embedding cache (%s); rebuilding it", self.path, exc)
            return {}

    def _save(self, known: dict[str, np.ndarray]) -> None:
        if self.path is None:
            return
        keys, vectors = np.array(list(known)), np.stack(list(known.values()))
        replace_atomically(self.path, lambda fh: np.savez(fh, keys=keys, vectors=vectors))


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
        dense = EmbeddingCache(embedder, cache_dir).encode_documents(texts, progress=progress)
    return Features(texts=texts, vectorizer=vectorizer, tfidf=tfidf, dense=dense, embedder=embedder)
