"""The embed step of a build: chunk texts in, one float32 vector per chunk row out, written to a memory-mapped
file on disk. Two engines share the :class:`EmbedEngine` interface: :class:`LocalEngine` (this process, cached
blocks) and :class:`~bioagent.index.distributed.RayEngine` (Ray Data actors, resumable shards).

Texts are read back from the index's document table one block at a time (``index.build_block`` texts) and
vectors are written as they come, so the process never holds all texts or all vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from bioagent.index.cache import EmbeddingCache, text_key
from bioagent.index.dense import check_memory
from bioagent.index.doctable import DocumentTable
from bioagent.index.embedders import Embedder
from bioagent.settings import IndexSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray

VECTORS_FILE = ".vectors.f32.npy"
EMBED_BATCH = 512


class VectorFile:
    """Row-ordered float32 vectors of every chunk in a memory-mapped ``.npy`` file, created (after the memory
    check) once the dimension is known."""

    def __init__(self, path: Path, rows: int, index_settings: IndexSettings) -> None:
        self.path = path
        self.rows = rows
        self.index_settings = index_settings
        self.array: np.memmap[Any, np.dtype[np.float32]] | None = None

    def create(self, dimension: int) -> None:
        """Refuse a build whose index would not fit in memory (before any embedding), then create the file."""
        if self.array is None:
            check_memory(self.rows, dimension, self.index_settings)
            self.array = np.lib.format.open_memmap(
                self.path, mode="w+", dtype=np.float32, shape=(self.rows, dimension)
            )

    def put(self, rows: slice | Sequence[int] | NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        self.create(vectors.shape[1])
        assert self.array is not None
        self.array[rows] = vectors

    def finished(self) -> NDArray[np.float32]:
        """The vectors, flushed (the engine has created the file, also when there are no rows)."""
        if self.array is None:
            raise RuntimeError("the embedding engine finished without creating the vector file")
        self.array.flush()
        return self.array

    def remove(self) -> None:
        self.array = None
        self.path.unlink(missing_ok=True)


class EmbedEngine(Protocol):
    """Embeds the chunk rows ``start`` to the end of ``table`` into ``out`` (at rows ``0…``), creating ``out``
    also when there is nothing to embed."""

    def embed(
        self, table: DocumentTable, start: int, out: VectorFile, progress: bool
    ) -> dict[str, str | int]:
        """Fill ``out``; returns what the manifest records about the build (empty for a local one)."""
        ...


@dataclass
class LocalEngine:
    """Embeds in this process, block by block, through the per-text embedding cache under ``cache_dir``."""

    embedder: Embedder
    block: int
    cache_dir: Path | None = None

    def embed(
        self, table: DocumentTable, start: int, out: VectorFile, progress: bool
    ) -> dict[str, str | int]:
        total = table.chunk_count - start
        out.create(self.embedder.dimension)
        cache = self._cache()
        try:
            with tqdm(total=total, unit="text", desc="Embedding", disable=not progress) as bar:
                for first in range(start, start + total, self.block):
                    texts = table.chunk_texts(range(first, min(first + self.block, start + total)))
                    vectors = _embed_cached(self.embedder, texts, cache, bar)
                    out.put(slice(first - start, first - start + len(texts)), vectors)
        finally:
            if cache:
                cache.close()
        return {}

    def _cache(self) -> EmbeddingCache | None:
        if self.cache_dir is None:
            return None
        return EmbeddingCache(self.cache_dir / "embeddings", self.embedder.name, self.embedder.dimension)


def embed_texts(
    embedder: Embedder, texts: Sequence[str], *, cache_dir: Path | None = None, progress: bool = False
) -> NDArray[np.float32]:
    """Document vectors for ``texts`` (in memory), embedded in length-sorted batches through the cache."""
    cache = EmbeddingCache(cache_dir / "embeddings", embedder.name, embedder.dimension) if cache_dir else None
    try:
        with tqdm(total=len(texts), unit="text", desc="Embedding", disable=not progress) as bar:
            return _embed_cached(embedder, texts, cache, bar)
    finally:
        if cache:
            cache.close()


def _embed_cached(
    embedder: Embedder, texts: Sequence[str], cache: EmbeddingCache | None, bar: tqdm
) -> NDArray[np.float32]:
    """Vectors for ``texts``: cached ones read, the rest embedded in length-sorted batches and cached at once."""
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    keys = [text_key(text) for text in texts]
    known = cache.get_many(keys) if cache else {}
    missing = []
    for row, key in enumerate(keys):
        if key in known:
            vectors[row] = known[key]
        else:
            missing.append(row)
    bar.update(len(texts) - len(missing))
    missing.sort(key=lambda i: len(texts[i]))
    for first in range(0, len(missing), EMBED_BATCH):
        batch = missing[first : first + EMBED_BATCH]
        vectors[batch] = embedder.encode_documents([texts[i] for i in batch])
        if cache:
            cache.put_many([keys[i] for i in batch], vectors[batch])
        bar.update(len(batch))
    return vectors
