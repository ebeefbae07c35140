"""Distributed index build on Ray: the same index as :func:`~bioagent.index.builder.build_index`, embedded by
Ray Data actors in shards.

The chunk texts (chunked exactly as in the single-process build) are sorted longest first and cut into shards of
``distributed.shard_size`` texts. Each shard is embedded by one call of a Ray Data actor (one model load per
actor, one GPU per actor with device ``cuda``) and written by the driver as soon as it comes back::

    <index>/.shards/shard-00000.faiss   the shard's vectors: a flat inner-product FAISS index (exact float32)
    <index>/.shards/shard-00000.json    embedder name and dimension, text count, checksums of the texts and file

The shards are then merged in row order into one dense store and the index is written (and committed) the way
the single-process build writes it. A rerun with the same input reuses every shard whose texts and file match
its checksums, so a build that was stopped resumes; shards embedded with another embedder are refused.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ValidationError
from tqdm.auto import tqdm

from bioagent.errors import BioagentError, ConfigError
from bioagent.index.builder import _write, prepare_chunks
from bioagent.index.cache import text_key
from bioagent.index.dense import DenseStore, check_memory, faiss_module
from bioagent.index.embedders import Embedder, load_embedder
from bioagent.index.manifest import EmbedderInfo, SourceInfo, sha256_file, writer_lock
from bioagent.index.ray_engine import embedded_shards, ray_connection, root_cause
from bioagent.index.store import Index
from bioagent.settings import IndexSettings, Settings
from bioagent.types import Document

if TYPE_CHECKING:
    from numpy.typing import NDArray

SHARD_DIR = ".shards"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shard:
    """One unit of work: the chunk rows it embeds and a checksum of their texts (in shard order)."""

    number: int
    rows: list[int]
    checksum: str


class ShardInfo(BaseModel):
    """The JSON written beside each shard's FAISS file."""

    shard: int
    embedder: EmbedderInfo
    texts: int
    texts_sha256: str
    file_sha256: str


def build_index_distributed(
    documents: Sequence[Document],
    out_dir: str | Path,
    settings: Settings,
    embedder: Embedder | None = None,
    *,
    sources: Sequence[SourceInfo] = (),
    progress: bool = False,
) -> Index:
    """Build the index for ``documents`` with Ray (``settings.distributed``), resuming from finished shards.

    ``embedder`` (optional, must pickle) is sent to every actor; by default each actor loads the configured one.
    Holds the folder's writer lock throughout (its ``.shards`` too), like the single-process build.
    """
    out_dir = Path(out_dir)
    with writer_lock(out_dir):
        distributed = settings.distributed
        documents, chunks = prepare_chunks(documents, settings.index)
        local = embedder or load_embedder(settings.embedding, settings.cache_dir)  # loads no model until used
        shards = plan_shards(chunks.texts, distributed.shard_size)
        folder = ShardFolder(out_dir / SHARD_DIR, local.name)
        vectors = VectorTable(len(chunks), settings.index)
        for shard in shards:
            found = folder.read(shard)
            if found is not None:
                vectors.put(shard, found)
        todo = [shard for shard in shards if shard.number not in vectors.filled]
        if todo:
            logger.info(
                "embedding %d of %d shards (%d reused)", len(todo), len(shards), len(shards) - len(todo)
            )
            _embed_missing(todo, chunks.texts, settings, embedder, folder, vectors, progress)
        matrix = vectors.complete(shards, folder.path) if shards else _no_vectors(local)
        folder.prune(len(shards))
        dense = DenseStore.build(matrix, matrix.shape[1], settings.index)
        build: dict[str, str | int] = {
            "engine": "ray",
            "workers": distributed.num_workers,
            "shards": len(shards),
            "shard_size": distributed.shard_size,
        }
        return _write(
            out_dir,
            documents,
            chunks,
            dense,
            local,
            settings.index,
            settings.retrieval,
            sources,
            progress,
            build=build,
        )


def plan_shards(texts: Sequence[str], shard_size: int) -> list[Shard]:
    """Shards of ``shard_size`` texts, longest texts first: little padding per batch, and the short shards
    come last, where they keep every worker busy until the end."""
    order = sorted(range(len(texts)), key=lambda row: (-len(texts[row]), row))
    shards = []
    for number, start in enumerate(range(0, len(order), shard_size)):
        rows = order[start : start + shard_size]
        digest = hashlib.sha256("".join(text_key(texts[row]) for row in rows).encode()).hexdigest()
        shards.append(Shard(number, rows, digest))
    return shards


@dataclass
class VectorTable:
    """All chunk vectors, filled shard by shard; memory is checked once the dimension is known."""

    rows: int
    index_settings: IndexSettings
    matrix: NDArray[np.float32] | None = None
    filled: set[int] = field(default_factory=set)

    def put(self, shard: Shard, vectors: NDArray[np.float32]) -> None:
        if self.matrix is None:
            check_memory(self.rows, vectors.shape[1], self.index_settings)
            self.matrix = np.zeros((self.rows, vectors.shape[1]), dtype=np.float32)
        if vectors.shape != (len(shard.rows), self.matrix.shape[1]):
            raise BioagentError(
                f"shard {shard.number} holds vectors of shape {vectors.shape}; expected "
                f"({len(shard.rows)}, {self.matrix.shape[1]})"
            )
        self.matrix[shard.rows] = vectors
        self.filled.add(shard.number)

    def complete(self, shards: Sequence[Shard], folder: Path) -> NDArray[np.float32]:
        """The full matrix; refused (never a partial index) unless every shard was filled."""
        missing = [shard.number for shard in shards if shard.number not in self.filled]
        if missing or self.matrix is None:
            raise BioagentError(
                f"the Ray build returned {len(self.filled)} of {len(shards)} shards (missing: "
                f"{missing[:10]}); no index was written. Finished shards are kept in {folder}: rerun to resume."
            )
        return self.matrix


class ShardFolder:
    """The ``.shards`` folder of an index: finished shards, each written atomically (FAISS file, then JSON)."""

    def __init__(self, path: Path, embedder_name: str) -> None:
        self.path = path
        self.embedder_name = embedder_name

    def read(self, shard: Shard) -> NDArray[np.float32] | None:
        """The shard's vectors if it was finished for these texts; None if absent, stale or damaged."""
        meta, data = self._paths(shard.number)
        if not meta.is_file():
            return None
        try:
            info = ShardInfo.model_validate_json(meta.read_text(encoding="utf-8"))
        except (ValidationError, ValueError, OSError) as exc:
            logger.warning("ignoring damaged shard file %s (%s)", meta, exc)
            return None
        if info.embedder.name != self.embedder_name:
            raise ConfigError(
                f"shard {meta} was embedded with '{info.embedder.name}', but the configured embedder is "
                f"'{self.embedder_name}'. Remove {self.path} to rebuild with the new embedder, or set "
                "embedding.model back."
            )
        if info.texts_sha256 != shard.checksum or info.texts != len(shard.rows):
            return None  # the input changed: embed this shard again
        if not data.is_file() or sha256_file(data) != info.file_sha256:
            logger.warning("shard file %s is missing or damaged; embedding it again", data)
            return None
        index = faiss_module().read_index(str(data))
        return np.ascontiguousarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32)

    def write(self, shard: Shard, vectors: NDArray[np.float32]) -> None:
        faiss = faiss_module()
        self.path.mkdir(parents=True, exist_ok=True)
        meta, data = self._paths(shard.number)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        _replace_atomically(data, lambda tmp: faiss.write_index(index, str(tmp)))
        info = ShardInfo(
            shard=shard.number,
            embedder=EmbedderInfo(name=self.embedder_name, dimension=vectors.shape[1]),
            texts=len(shard.rows),
            texts_sha256=shard.checksum,
            file_sha256=sha256_file(data),
        )
        _replace_atomically(meta, lambda tmp: tmp.write_text(info.model_dump_json(), encoding="utf-8"))

    def prune(self, count: int) -> None:
        """Remove shards numbered ``count`` and above (left by an earlier, larger input) and temporary files
        of killed builds."""
        for path in self.path.glob("shard-*.*"):
            number = path.name.split(".")[0].removeprefix("shard-")
            if number.isdigit() and int(number) >= count:
                path.unlink(missing_ok=True)
        for path in self.path.glob(".shard-*.tmp"):
            path.unlink(missing_ok=True)

    def _paths(self, number: int) -> tuple[Path, Path]:
        stem = self.path / f"shard-{number:05d}"
        return stem.with_suffix(".json"), stem.with_suffix(".faiss")


def _embed_missing(
    todo: list[Shard],
    texts: Sequence[str],
    settings: Settings,
    embedder: Embedder | None,
    folder: ShardFolder,
    vectors: VectorTable,
    progress: bool,
) -> None:
    """Embed ``todo`` on Ray (actors use ``embedder`` if given, else load the configured one), writing each
    shard as it arrives; Ray errors become one resumable error."""
    by_number = {shard.number: shard for shard in todo}
    done_before = len(vectors.filled)
    total = sum(len(shard.rows) for shard in todo)
    items = [{"shard": shard.number, "texts": [texts[i] for i in shard.rows]} for shard in todo]
    failure = None
    with (
        ray_connection(settings.distributed) as ray,
        tqdm(
            total=len(texts),
            initial=len(texts) - total,
            unit="text",
            desc="Embedding (ray)",
            disable=not progress,
        ) as bar,
    ):
        try:
            for row in embedded_shards(ray, items, settings, embedder):
                shard = by_number[int(row["shard"])]
                shard_vectors = _row_vectors(row, folder.embedder_name)
                vectors.put(shard, shard_vectors)
                folder.write(shard, shard_vectors)
                bar.update(len(shard.rows))
        except BioagentError:
            raise
        except Exception as exc:
            failure = f"{len(vectors.filled) - done_before} of {len(todo)} shards ({root_cause(exc)})"
        if failure:
            # Ray Data frees a failed pipeline's actors by reference counting; the exception's frames hold them.
            gc.collect()
    if failure:
        raise BioagentError(
            f"the Ray build stopped after {failure}; finished shards are kept in {folder.path}: rerun the same "
            "command to resume (Ray's logs hold the workers' tracebacks)"
        )


def _row_vectors(row: dict[str, Any], embedder_name: str) -> NDArray[np.float32]:
    """A shard's vectors from a pipeline row, refused if a worker used another embedder."""
    if row["embedder"] != embedder_name:
        raise ConfigError(
            f"a Ray worker embedded shard {row['shard']} with '{row['embedder']}', but this build uses "
            f"'{embedder_name}'; give every node the same model files"
        )
    flat = np.frombuffer(row["vectors"], dtype=np.float32)
    return flat.reshape(int(row["rows"]), int(row["dimension"]))


def _replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _no_vectors(embedder: Embedder) -> NDArray[np.float32]:
    return np.zeros((0, embedder.dimension), dtype=np.float32)
