"""A per-text embedding cache (SQLite): an interrupted or repeated build re-embeds only texts it has not seen."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np


class EmbeddingCache:
    """Vectors keyed by (embedder name, text); one SQLite file per embedder under ``folder``."""

    def __init__(self, folder: Path, embedder_name: str, dimension: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.dimension = dimension
        self.path = folder / f"{text_key(embedder_name)[:24]}.sqlite"
        self._db = sqlite3.connect(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            batch = list(keys[start : start + 500])
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch)
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.size == self.dimension:
                    found[key] = vector
        return found

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        rows = [(key, np.asarray(v, dtype=np.float32).tobytes()) for key, v in zip(keys, vectors)]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)

    def close(self) -> None:
        self._db.close()


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
