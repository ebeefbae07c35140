"""FAISS vector stores (inner product on unit vectors = cosine): flat, HNSW, IVF-Flat and IVF-PQ.

A store is one logical index kept in one or more FAISS files ("shards", each holding at most
``index.shard_vectors`` vectors; searched one by one and merged by score). IVF kinds are trained once on a sample
and every shard starts from that trained index. IVF-PQ can keep the exact vectors on disk as a memory-mapped
float16 file and re-score its candidates with them (``index.rerank``), which restores recall at almost no memory.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bioagent.errors import ConfigError, MissingExtraError
from bioagent.index.threads import one_thread_if_small
from bioagent.settings import IndexSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray

EXACT_SUFFIX = ".vectors.f16.npy"
ID_BYTES = 8  # FAISS stores an int64 id per vector in IVF lists
ADD_BLOCK = 65_536  # vectors added (and converted to float16) at a time


def faiss_module() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - core dependency
        raise MissingExtraError("faiss-cpu", "default", "Dense retrieval") from exc
    return faiss


class DenseStore:
    """FAISS shards whose concatenated row numbers are positions in the index's chunk table."""

    def __init__(
        self, shards: list[Any], settings: IndexSettings, exact: NDArray[np.float16] | None = None
    ) -> None:
        if not shards:
            raise ValueError("a dense store needs at least one FAISS index")
        self.shards = shards
        self.settings = settings
        self.exact = exact
        for shard in shards:
            _apply_search_params(shard, settings, direct_map=exact is None)

    @classmethod
    def build(
        cls,
        vectors: NDArray[np.float32],
        dimension: int,
        settings: IndexSettings,
        exact_path: Path | None = None,
    ) -> DenseStore:
        """A new store of the configured kind holding ``vectors`` (IVF kinds are trained on a sample first).

        ``vectors`` may be memory-mapped: they are added in blocks, and with ``exact_path`` the float16 copy that
        IVF-PQ re-scores with is written there block by block (memory-mapped), so neither is held in memory.
        """
        empty = _empty_index(vectors, dimension, settings)
        keep_exact = settings.kind == "ivfpq" and settings.rerank > 0
        store = cls([empty], settings, np.zeros((0, dimension), dtype=np.float16) if keep_exact else None)
        for start in range(0, len(vectors), ADD_BLOCK):
            store._add_to_shards(vectors[start : start + ADD_BLOCK])
        if keep_exact:
            store.exact = _float16_copy(vectors, exact_path)
        return store

    @classmethod
    def load(cls, path: Path, settings: IndexSettings, mmap: bool = False) -> DenseStore:
        """Open ``path`` and its sibling shard files; ``mmap`` maps IVF lists and flat codes instead of reading."""
        faiss = faiss_module()
        shards = [faiss.read_index(str(p), _read_flags(p) if mmap else 0) for p in shard_paths(path)]
        exact_path = path.with_name(path.name + EXACT_SUFFIX)
        exact = np.load(exact_path, mmap_mode="r") if exact_path.exists() else None
        return cls(shards, settings, exact)

    def save(self, path: Path) -> None:
        """Write shard 0 to ``path``, shard i to ``<path>.<i>``, and the exact vectors beside them."""
        faiss = faiss_module()
        for number, shard in enumerate(self.shards):
            faiss.write_index(shard, str(path if number == 0 else path.with_name(f"{path.name}.{number}")))
        exact_path = path.with_name(path.name + EXACT_SUFFIX)
        if self.exact is not None and not _is_mapped_from(self.exact, exact_path):
            np.save(exact_path, np.asarray(self.exact))

    def copy(self) -> DenseStore:
        """An independent, writable copy (updates go to the copy, so the loaded index stays consistent)."""
        clone = faiss_module().clone_index
        exact = None if self.exact is None else np.array(self.exact)
        return DenseStore([clone(shard) for shard in self.shards], self.settings, exact)

    def add(self, vectors: NDArray[np.float32]) -> None:
        """Append ``vectors``, filling the last shard up to ``index.shard_vectors`` before starting another."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._add_to_shards(vectors)
        if self.exact is not None and len(vectors):
            self.exact = np.concatenate([np.asarray(self.exact), vectors.astype(np.float16)])

    def _add_to_shards(self, vectors: NDArray[np.float32]) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        limit = self.settings.shard_vectors or math.inf
        start = 0
        while start < len(vectors):
            if self.shards[-1].ntotal >= limit:
                self.shards.append(_emptied_clone(self.shards[0]))
                _apply_search_params(self.shards[-1], self.settings, direct_map=self.exact is None)
            room = int(min(limit - self.shards[-1].ntotal, len(vectors) - start))
            self.shards[-1].add(vectors[start : start + room])
            start += room

    @property
    def size(self) -> int:
        return sum(int(shard.ntotal) for shard in self.shards)

    @property
    def dimension(self) -> int:
        return int(self.shards[0].d)

    def set_search_params(
        self, nprobe: int | None = None, ef_search: int | None = None, rerank: int | None = None
    ) -> None:
        """Change query-time breadth (IVF ``nprobe``, HNSW ``efSearch``, IVF-PQ re-scoring factor)."""
        updates = {"nprobe": nprobe, "hnsw_ef_search": ef_search, "rerank": rerank}
        self.settings = self.settings.model_copy(update={k: v for k, v in updates.items() if v is not None})
        for shard in self.shards:
            _apply_search_params(shard, self.settings, direct_map=False)

    def search(self, queries: NDArray[np.float32], k: int) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """Scores and row numbers, best first; rows are -1 where fewer than ``k`` vectors exist."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, self.size))
        depth = k * self.settings.rerank if self.exact is not None and self.settings.rerank > 0 else k
        with one_thread_if_small(len(queries), faiss_module()):
            scores, rows = self._search_shards(queries, depth)
        if depth > k:
            scores, rows = self._rescore(queries, rows, k)
        return scores, rows

    def reconstruct(self, rows: list[int]) -> NDArray[np.float32]:
        """The stored vectors of ``rows`` (exact when kept on disk; approximate for IVF-PQ otherwise)."""
        if self.exact is not None:
            return np.asarray(self.exact[np.asarray(rows, dtype=np.int64)], dtype=np.float32)
        wanted = np.asarray(rows, dtype=np.int64)
        out = np.zeros((len(wanted), self.dimension), dtype=np.float32)
        offsets = self._offsets()
        shard_of = np.searchsorted(offsets, wanted, side="right") - 1
        for number in np.unique(shard_of):
            here = shard_of == number
            out[here] = self.shards[number].reconstruct_batch(wanted[here] - offsets[number])
        return out

    def _offsets(self) -> NDArray[np.int64]:
        return np.cumsum([0] + [int(s.ntotal) for s in self.shards[:-1]], dtype=np.int64)

    def _search_shards(
        self, queries: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        if len(self.shards) == 1:
            return self.shards[0].search(queries, k)
        parts_scores, parts_rows = [], []
        for offset, shard in zip(self._offsets(), self.shards):
            scores, rows = shard.search(queries, min(k, max(1, int(shard.ntotal))))
            parts_scores.append(scores)
            parts_rows.append(np.where(rows >= 0, rows + offset, -1))
        return merge_by_score(np.hstack(parts_scores), np.hstack(parts_rows), k)

    def _rescore(
        self, queries: NDArray[np.float32], rows: NDArray[np.int64], k: int
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        assert self.exact is not None
        scores = np.full(rows.shape, -np.inf, dtype=np.float32)
        for q, (query, candidates) in enumerate(zip(queries, rows)):
            valid = candidates >= 0
            picked = candidates[valid]
            order = np.argsort(picked)  # ascending rows read the memory-mapped file sequentially
            vectors = np.asarray(self.exact[picked[order]], dtype=np.float32)
            scores[q, np.flatnonzero(valid)[order]] = vectors @ query
        return merge_by_score(scores, rows, k)


def merge_by_score(
    scores: NDArray[np.float32], rows: NDArray[np.int64], k: int
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Per query, the ``k`` best (score, row) pairs of several result lists laid side by side; -1 rows last."""
    scores = np.where(rows >= 0, scores, -np.inf)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top_scores = np.take_along_axis(scores, order, axis=1).astype(np.float32)
    top_rows = np.take_along_axis(rows, order, axis=1)
    top_rows[~np.isfinite(top_scores)] = -1
    return top_scores, top_rows


def shard_paths(path: Path) -> list[Path]:
    """``path`` followed by its shard files ``<path>.1``, ``<path>.2``, … in order."""
    paths = [path]
    while (candidate := path.with_name(f"{path.name}.{len(paths)}")).exists():
        paths.append(candidate)
    return paths


def bytes_per_vector(kind: str, dimension: int, settings: IndexSettings) -> dict[str, float]:
    """Approximate memory (RAM) and extra disk bytes per stored vector for an index kind."""
    floats = 4 * dimension
    if kind == "flat":
        return {"memory": floats, "disk_extra": 0}
    if kind == "hnsw":
        # level-0 links (2*M int32) dominate; upper levels add ~1/M of that
        return {"memory": floats + 2 * settings.hnsw_m * 4 * (1 + 1 / settings.hnsw_m), "disk_extra": 0}
    if kind == "ivfflat":
        return {"memory": floats + 2 * ID_BYTES, "disk_extra": 0}
    keeps_exact = settings.rerank > 0
    code = settings.pq_m * settings.pq_bits / 8
    return {
        "memory": code + ID_BYTES + (0 if keeps_exact else ID_BYTES),
        "disk_extra": 2 * dimension if keeps_exact else 0,
    }


def estimate_build_bytes(n_vectors: int, dimension: int, settings: IndexSettings) -> int:
    """Peak memory of building a store from vectors on disk: the index being filled, the IVF training sample
    and one block of vectors being added (the vectors and the float16 file stay memory-mapped)."""
    per_vector = bytes_per_vector(settings.kind, dimension, settings)["memory"]
    sample = 0
    if settings.kind in ("ivfflat", "ivfpq"):
        nlist = settings.ivf_nlist or max(1, int(4 * math.sqrt(n_vectors)))
        sample = min(n_vectors, settings.train_sample or max(64 * nlist, 10_000))
    return int(n_vectors * per_vector + (sample + min(n_vectors, ADD_BLOCK)) * 4 * dimension)


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else None (unknown: no check)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_memory(n_vectors: int, dimension: int, settings: IndexSettings) -> None:
    """Refuse, before any work, a build whose estimated peak memory exceeds what the machine has free."""
    needed = estimate_build_bytes(n_vectors, dimension, settings)
    available = available_memory_bytes()
    if available is not None and needed > 0.9 * available:
        per_vector = bytes_per_vector(settings.kind, dimension, settings)["memory"]
        raise ConfigError(
            f"building a '{settings.kind}' index of {n_vectors:,} vectors (dimension {dimension}) needs about "
            f"{needed / 2**30:.1f} GiB ({per_vector:.0f} bytes per vector in the index, plus the training sample), "
            f"but only {available / 2**30:.1f} GiB is free. Use index.kind='ivfpq' (about "
            f"{bytes_per_vector('ivfpq', dimension, settings)['memory']:.0f} bytes per vector), a smaller "
            "input, or a bigger machine."
        )


def _float16_copy(vectors: NDArray[np.float32], path: Path | None) -> NDArray[np.float16]:
    """``vectors`` as float16: in memory, or written to ``path`` in blocks and memory-mapped."""
    if path is None:
        return np.asarray(vectors, dtype=np.float16)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=vectors.shape)
    for start in range(0, len(vectors), ADD_BLOCK):
        out[start : start + ADD_BLOCK] = vectors[start : start + ADD_BLOCK]
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def _is_mapped_from(array: np.ndarray, path: Path) -> bool:
    filename = getattr(array, "filename", None) or getattr(getattr(array, "base", None), "filename", None)
    return filename is not None and Path(filename).resolve() == path.resolve()


def _read_flags(path: Path) -> int:
    """FAISS flags that memory-map a file: IVF lists ("Iw…" headers) and flat codes take different ones."""
    faiss = faiss_module()
    with path.open("rb") as handle:
        is_ivf = handle.read(2) == b"Iw"
    return (faiss.IO_FLAG_MMAP if is_ivf else faiss.IO_FLAG_MMAP_IFC) | faiss.IO_FLAG_READ_ONLY


def _apply_search_params(index: Any, settings: IndexSettings, direct_map: bool) -> None:
    faiss = faiss_module()
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = settings.hnsw_ef_search
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.nprobe = settings.nprobe
        if direct_map and ivf.direct_map.type == faiss.DirectMap.NoMap:
            ivf.make_direct_map()  # lets hybrid search reconstruct candidate vectors


def _empty_index(vectors: NDArray[np.float32], dimension: int, settings: IndexSettings) -> Any:
    faiss = faiss_module()
    if settings.kind == "flat":
        return faiss.IndexFlatIP(dimension)
    if settings.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = settings.hnsw_ef_construction
        return index
    return _trained_ivf(vectors, dimension, settings)


def _trained_ivf(vectors: NDArray[np.float32], dimension: int, settings: IndexSettings) -> Any:
    faiss = faiss_module()
    if settings.kind == "ivfpq" and dimension % settings.pq_m:
        raise ConfigError(f"index.pq_m={settings.pq_m} must divide the embedding dimension {dimension}")
    nlist = settings.ivf_nlist or max(1, int(4 * math.sqrt(len(vectors))))
    if len(vectors) < max(39 * nlist, 256):
        raise ConfigError(
            f"{settings.kind} with {nlist} lists needs at least {max(39 * nlist, 256)} vectors to train; "
            f"got {len(vectors)}. Use index.kind='flat' or 'hnsw' for small collections."
        )
    quantizer = faiss.IndexFlatIP(dimension)
    if settings.kind == "ivfflat":
        index = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexIVFPQ(
            quantizer, dimension, nlist, settings.pq_m, settings.pq_bits, faiss.METRIC_INNER_PRODUCT
        )
    sample_size = min(
        len(vectors), settings.train_sample or max(64 * nlist, 10_000)
    )  # PQ codebooks need ~10k
    sample = vectors[np.sort(np.random.default_rng(0).permutation(len(vectors))[:sample_size])]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    return index


def _emptied_clone(index: Any) -> Any:
    """A copy of ``index`` with its training (IVF centroids, PQ codebooks, HNSW parameters) but no vectors."""
    clone = faiss_module().clone_index(index)
    clone.reset()
    return clone
