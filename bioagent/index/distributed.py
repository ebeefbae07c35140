"""The Ray embedding engine: the same index as the local build, with the chunks embedded by Ray Data actors in
shards (the :class:`~bioagent.index.engines.EmbedEngine` the build pipeline calls with ``distributed.engine='ray'``).

Chunk rows are sorted longest text first and cut into shards of ``distributed.shard_size`` texts. Shards go to
Ray in windows of ``index.build_block`` texts (one Ray Data run each: one model load per actor and window, one
GPU per actor with device ``cuda``); the driver reads a window's texts from the document table and writes each
shard's vectors as soon as it comes back, both into the build's vector file and into a resumable shard file::

    <index>/.shards/shard-00000.faiss   the shard's vectors: a flat inner-product FAISS index (exact float32)
    <index>/.shards/shard-00000.json    embedder name and dimension, text count, checksums of the texts and file

A rerun with the same input reuses every shard whose texts and file match its checksums, so a build that was
stopped resumes; shards embedded with another embedder are refused. The driver holds one window of texts.
"""

from __future__ import annotations

import gc
import hashlib
import logging
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ValidationError
from tqdm.auto import tqdm

from bioagent.atomic import replace_with_file
from bioagent.errors import BioagentError, ConfigError
from bioagent.index.cache import text_key
from bioagent.index.dense import faiss_module
from bioagent.index.doctable import DocumentTable
from bioagent.index.embedders import Embedder
from bioagent.index.engines import VectorFile
from bioagent.index.manifest import EmbedderInfo, sha256_file
from bioagent.index.ray_engine import embedded_shards, ray_connection, ray_module, root_cause
from bioagent.settings import Settings

if TYPE_CHECKING:
    from numpy.typing import NDArray

SHARD_DIR = ".shards"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shard:
    """One unit of work: the chunk rows it embeds and a checksum of their texts (in shard order)."""

    number: int
    rows: NDArray[np.int64]
    checksum: str
    texts: list[str]


class ShardInfo(BaseModel):
    """The JSON written beside each shard's FAISS file."""

    shard: int
    embedder: EmbedderInfo
    texts: int
    texts_sha256: str
    file_sha256: str


class RayEngine:
    """Embeds on Ray (``settings.distributed``), resuming from the finished shards in ``shard_dir``.

    ``embedder`` names the vectors (and is used only when there is nothing to embed); ``worker_embedder``
    (optional, must pickle) is sent to every actor, which by default loads the configured one.
    """

    def __init__(
        self, settings: Settings, embedder: Embedder, shard_dir: Path, worker_embedder: Embedder | None = None
    ) -> None:
        ray_module()  # a missing extra is named before any work
        self.settings = settings
        self.embedder = embedder
        self.worker_embedder = worker_embedder
        self.folder = ShardFolder(shard_dir, embedder.name)

    def embed(
        self, table: DocumentTable, start: int, out: VectorFile, progress: bool
    ) -> dict[str, str | int]:
        distributed = self.settings.distributed
        shards = plan_shards(table.chunk_lengths()[start:], distributed.shard_size)
        if not shards:
            out.create(self.embedder.dimension)
        per_window = max(1, self.settings.index.build_block // distributed.shard_size)
        done, ray = 0, None
        with ExitStack() as stack:
            bar = stack.enter_context(
                tqdm(total=out.rows, unit="text", desc="Embedding (ray)", disable=not progress)
            )
            for first in range(0, len(shards), per_window):
                window = [
                    _shard(number, rows, table.chunk_texts(rows + start))
                    for number, rows in enumerate(shards[first : first + per_window], start=first)
                ]
                todo = self._reuse(window, out, bar)
                done += len(window) - len(todo)
                if todo and ray is None:  # Ray starts only when something is left to embed
                    ray = stack.enter_context(ray_connection(distributed))
                done += self._embed_window(ray, todo, out, bar, done, len(shards))
        self.folder.prune(len(shards))
        return {
            "engine": "ray",
            "workers": distributed.num_workers,
            "shards": len(shards),
            "shard_size": distributed.shard_size,
        }

    def _reuse(self, window: list[Shard], out: VectorFile, bar: tqdm) -> list[Shard]:
        """Put the window's finished shards into ``out``; returns the others."""
        todo = []
        for shard in window:
            found = self.folder.read(shard)
            if found is None:
                todo.append(shard)
                continue
            _put(out, shard, found)
            bar.update(len(shard.rows))
        return todo

    def _embed_window(
        self, ray: Any, todo: list[Shard], out: VectorFile, bar: tqdm, done: int, total: int
    ) -> int:
        """Embed ``todo`` on Ray, writing each shard as it arrives; Ray errors become one resumable error."""
        if not todo:
            return 0
        by_number = {shard.number: shard for shard in todo}
        items = [{"shard": shard.number, "texts": shard.texts} for shard in todo]
        finished, failure = 0, None
        try:
            for row in embedded_shards(ray, items, self.settings, self.worker_embedder):
                shard = by_number[int(row["shard"])]
                vectors = _row_vectors(row, self.folder.embedder_name)
                _put(out, shard, vectors)
                self.folder.write(shard, vectors)
                finished += 1
                bar.update(len(shard.rows))
        except BioagentError:
            raise
        except Exception as exc:
            failure = f"{done + finished} of {total} shards ({root_cause(exc)})"
            # Ray Data frees a failed pipeline's actors by reference counting; the exception's frames hold them.
            gc.collect()
        if failure:
            raise BioagentError(
                f"the Ray build stopped after {failure}; finished shards are kept in {self.folder.path}: rerun "
                "the same command to resume (Ray's logs hold the workers' tracebacks)"
            )
        return finished


def plan_shards(lengths: NDArray[np.int64], shard_size: int) -> list[NDArray[np.int64]]:
    """The rows of each shard: ``shard_size`` rows, longest texts first (ties in row order), so batches carry
    little padding and the short shards come last, where they keep every worker busy until the end."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[first : first + shard_size] for first in range(0, len(order), shard_size)]


def _shard(number: int, rows: NDArray[np.int64], texts: list[str]) -> Shard:
    digest = hashlib.sha256("".join(text_key(text) for text in texts).encode()).hexdigest()
    return Shard(number, rows, digest, texts)


def _put(out: VectorFile, shard: Shard, vectors: NDArray[np.float32]) -> None:
    if vectors.shape[0] != len(shard.rows):
        raise BioagentError(
            f"shard {shard.number} holds {vectors.shape[0]} vectors; expected {len(shard.rows)}"
        )
    out.put(shard.rows, vectors)


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
        replace_with_file(data, lambda tmp: faiss.write_index(index, str(tmp)))
        info = ShardInfo(
            shard=shard.number,
            embedder=EmbedderInfo(name=self.embedder_name, dimension=vectors.shape[1]),
            texts=len(shard.rows),
            texts_sha256=shard.checksum,
            file_sha256=sha256_file(data),
        )
        replace_with_file(meta, lambda tmp: tmp.write_text(info.model_dump_json(), encoding="utf-8"))

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


def _row_vectors(row: dict[str, Any], embedder_name: str) -> NDArray[np.float32]:
    """A shard's vectors from a pipeline row, refused if a worker used another embedder."""
    if row["embedder"] != embedder_name:
        raise ConfigError(
            f"a Ray worker embedded shard {row['shard']} with '{row['embedder']}', but this build uses "
            f"'{embedder_name}'; give every node the same model files"
        )
    flat = np.frombuffer(row["vectors"], dtype=np.float32)
    return flat.reshape(int(row["rows"]), int(row["dimension"]))
