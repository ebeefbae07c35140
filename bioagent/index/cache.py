"""Embedding caches: a per-text cache on disk (SQLite), so an interrupted or repeated build re-embeds only texts it
has not seen, and :class:`CachingEmbedder`, an embedder that remembers recent vectors in memory.

It is only a cache, so it never stops a build: the file runs in WAL mode (readers never block the writer) with a
long busy timeout; a file that is not a readable SQLite database is moved aside (``*.corrupt``) with a warning
and a fresh cache started; any other failure (a lock held too long, a read-only folder) switches the cache off
for the rest of the build, with a warning.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bioagent.index.embedders import Embedder

BUSY_TIMEOUT_S = 60.0
logger = logging.getLogger(__name__)


class EmbeddingCache:
    """Vectors keyed by (embedder name, text); one SQLite file per embedder under ``folder``."""

    def __init__(self, folder: Path, embedder_name: str, dimension: int) -> None:
        self.dimension = dimension
        self.path = folder / f"{text_key(embedder_name)[:24]}.sqlite"
        self._db: sqlite3.Connection | None = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._db = _connect(self.path)
        except (sqlite3.Error, OSError) as exc:
            self._recover(exc)

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        try:
            for start in range(0, len(keys), 500):
                batch = list(keys[start : start + 500])
                found.update(self._select(batch))
        except sqlite3.Error as exc:
            self._recover(exc)
            return {}
        return found

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        if self._db is None:
            return
        rows = [(key, np.asarray(v, dtype=np.float32).tobytes()) for key, v in zip(keys, vectors)]
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
        except sqlite3.Error as exc:
            self._recover(exc)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _select(self, batch: list[str]) -> dict[str, np.ndarray]:
        if self._db is None:
            return {}
        marks = ",".join("?" * len(batch))
        rows = self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch)
        vectors = ((key, np.frombuffer(blob, dtype=np.float32)) for key, blob in rows)
        return {key: vector for key, vector in vectors if vector.size == self.dimension}

    def _recover(self, exc: Exception) -> None:
        """After a failure: a damaged file is moved aside and a fresh cache opened; otherwise the cache is off."""
        self.close()
        if _is_damaged(exc):
            aside = self.path.with_name(self.path.name + ".corrupt")
            logger.warning(
                "embedding cache %s is unreadable (%s); moved it to %s and started a fresh cache",
                self.path,
                exc,
                aside,
            )
            try:
                self.path.replace(aside)
                for suffix in ("-wal", "-shm"):
                    self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
                self._db = _connect(self.path)
                return
            except (sqlite3.Error, OSError) as again:
                exc = again
        logger.warning("embedding cache %s is not used for this build (%s)", self.path, exc)


def _connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode with the vectors table (raises sqlite3.DatabaseError on a damaged file)."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
    except sqlite3.Error:
        db.close()
        raise
    return db


def _is_damaged(exc: Exception) -> bool:
    """A file that is not a (sound) SQLite database, as opposed to a busy, locked or unwritable one."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


class CachingEmbedder:
    """An embedder that remembers the vectors of texts it has seen (evidence sentences recur across the
    relevance check, the verifier, the extractive fallback and later questions). Holds at most ``size``."""

    def __init__(self, embedder: Embedder, size: int = 20_000) -> None:
        self.embedder = embedder
        self.size = size
        self._documents: dict[str, np.ndarray] = {}
        self._queries: dict[str, np.ndarray] = {}

    @property
    def name(self) -> str:
        return self.embedder.name

    @property
    def dimension(self) -> int:
        return self.embedder.dimension

    def encode_queries(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._queries, self.embedder.encode_queries)

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._documents, self.embedder.encode_documents)

    def _encode(self, texts: list[str], cache: dict[str, np.ndarray], encode: Any) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            if len(cache) + len(missing) > self.size:
                cache.clear()
            cache.update(zip(missing, encode(missing)))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([cache[t] for t in texts])
