"""FAISS vector stores (inner product on unit vectors = cosine): flat, HNSW and IVF-PQ."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bioagent.errors import ConfigError, MissingExtraError
from bioagent.settings import IndexSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray


def faiss_module() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - core dependency
        raise MissingExtraError("faiss-cpu", "default", "Dense retrieval") from exc
    return faiss


class DenseStore:
    """A FAISS index whose row numbers are positions in the index's document table."""

    def __init__(self, index: Any, settings: IndexSettings) -> None:
        self.index = index
        self.settings = settings
        self._apply_search_params()

    @classmethod
    def build(cls, vectors: NDArray[np.float32], dimension: int, settings: IndexSettings) -> DenseStore:
        """A new store of the configured kind holding ``vectors`` (IVF-PQ is trained on them first)."""
        faiss = faiss_module()
        if settings.kind == "flat":
            index = faiss.IndexFlatIP(dimension)
        elif settings.kind == "hnsw":
            index = faiss.IndexHNSWFlat(dimension, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        else:
            index = _trained_ivfpq(vectors, dimension, settings)
        store = cls(index, settings)
        store.add(vectors)
        return store

    @classmethod
    def load(cls, path: Path, settings: IndexSettings, mmap: bool = False) -> DenseStore:
        faiss = faiss_module()
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
        return cls(faiss.read_index(str(path), flags), settings)

    def save(self, path: Path) -> None:
        faiss_module().write_index(self.index, str(path))

    def copy(self) -> DenseStore:
        """An independent copy (updates go to the copy, so the loaded index stays consistent)."""
        return DenseStore(faiss_module().clone_index(self.index), self.settings)

    def add(self, vectors: NDArray[np.float32]) -> None:
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self.index.d)

    def search(self, queries: NDArray[np.float32], k: int) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """Scores and row numbers, best first; rows are -1 where fewer than ``k`` vectors exist."""
        k = max(1, min(k, self.size))
        scores, rows = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, rows

    def reconstruct(self, rows: list[int]) -> NDArray[np.float32]:
        """The stored vectors of ``rows`` (approximate for IVF-PQ)."""
        return self.index.reconstruct_batch(np.asarray(rows, dtype=np.int64))

    def _apply_search_params(self) -> None:
        faiss = faiss_module()
        if hasattr(self.index, "hnsw"):
            self.index.hnsw.efSearch = self.settings.hnsw_ef_search
        ivf = faiss.try_extract_index_ivf(self.index)
        if ivf is not None:
            ivf.nprobe = self.settings.nprobe
            ivf.make_direct_map()  # lets hybrid search reconstruct candidate vectors


def _trained_ivfpq(vectors: NDArray[np.float32], dimension: int, settings: IndexSettings) -> Any:
    faiss = faiss_module()
    if dimension % settings.pq_m:
        raise ConfigError(f"index.pq_m={settings.pq_m} must divide the embedding dimension {dimension}")
    nlist = settings.ivf_nlist or max(1, int(4 * math.sqrt(len(vectors))))
    if len(vectors) < max(39 * nlist, 256):
        raise ConfigError(
            f"IVF-PQ with {nlist} lists needs at least {max(39 * nlist, 256)} vectors to train; "
            f"got {len(vectors)}. Use index.kind='flat' or 'hnsw' for small collections."
        )
    quantizer = faiss.IndexFlatIP(dimension)
    index = faiss.IndexIVFPQ(quantizer, dimension, nlist, settings.pq_m, 8, faiss.METRIC_INNER_PRODUCT)
    sample = vectors[np.random.default_rng(0).permutation(len(vectors))[: 256 * nlist]]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    return index
