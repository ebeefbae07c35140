"""Building and extending index folders: one straight pipeline, each step in its own module.

    read      the caller's documents (an iterable: consumed once, never listed)
    chunk     documents and their chunks into ``documents.sqlite``      :func:`.doctable.write_documents`
    embed     chunk texts → vectors on disk, in this process or on Ray  :class:`.engines.EmbedEngine`
    stores    FAISS from the vectors, BM25 from the chunk texts         :mod:`.stores`
    commit    checksums, then the manifest swap                         :func:`.manifest.commit_version`

Every step streams in blocks of ``index.build_block`` texts, so memory holds one block plus the FAISS index.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bioagent.errors import BioagentError
from bioagent.index.doctable import TABLE_FILE, DocumentTable, DocumentWriter, write_documents
from bioagent.index.embedders import Embedder
from bioagent.index.engines import VECTORS_FILE, EmbedEngine, LocalEngine, VectorFile
from bioagent.index.manifest import (
    EmbedderInfo,
    SourceInfo,
    commit_version,
    new_data_dir,
    read_manifest,
    writer_lock,
)
from bioagent.index.store import Index
from bioagent.index.stores import build_dense, extend_dense, write_lexical
from bioagent.settings import IndexSettings, RetrievalSettings
from bioagent.types import Document

logger = logging.getLogger(__name__)


@dataclass
class AddReport:
    added: int
    skipped_duplicates: list[str]


def write_index(
    documents: Iterable[Document],
    out_dir: str | Path,
    embedder: Embedder,
    index_settings: IndexSettings,
    retrieval: RetrievalSettings,
    *,
    engine: EmbedEngine | None = None,
    sources: Sequence[SourceInfo] = (),
    progress: bool = False,
) -> Index:
    """Write a new index of ``documents`` to ``out_dir`` (replacing any index there only once complete).

    ``embedder`` encodes the index's queries and names its vectors; ``engine`` embeds the chunks (by default
    :class:`LocalEngine` with ``embedder`` and no cache; a :class:`~bioagent.index.distributed.RayEngine` on Ray). Holds the folder's writer lock throughout: a build or addition already writing
    there makes this one fail at once with a one-line :class:`BioagentError`. A failure at any step removes the
    new data folder.
    """
    out_dir = Path(out_dir)
    with writer_lock(out_dir):
        data_dir = new_data_dir(out_dir)
        try:
            writer = DocumentWriter(data_dir)
            duplicates = write_documents(documents, writer, index_settings)
            writer.close()
            _warn_duplicates(duplicates)
            table = DocumentTable(data_dir)
            vectors = VectorFile(data_dir / VECTORS_FILE, table.chunk_count, index_settings)
            engine = engine or LocalEngine(embedder, index_settings.build_block)
            build = engine.embed(table, 0, vectors, progress)
            dense = build_dense(vectors.finished(), data_dir, index_settings)
            vectors.remove()
            lexical = write_lexical(table, data_dir, index_settings, progress)
            info = EmbedderInfo(name=embedder.name, dimension=dense.dimension)
            counts = (len(table), table.chunk_count)
            manifest = commit_version(out_dir, data_dir, counts, info, index_settings, sources, build)
        except BaseException:
            shutil.rmtree(data_dir, ignore_errors=True)
            raise
    return Index(out_dir, manifest, table, embedder, dense, lexical, retrieval)


def add_documents(
    index: Index,
    documents: Iterable[Document],
    index_settings: IndexSettings,
    *,
    sources: Sequence[SourceInfo] = (),
    cache_dir: Path | None = None,
    progress: bool = False,
) -> tuple[Index, AddReport]:
    """A new version of ``index`` with ``documents`` added; ids already present are skipped and reported.

    The new version starts as a copy of the current table; only the new chunks are embedded, and BM25 is
    rebuilt (streamed). Holds the folder's writer lock throughout, and refuses an ``index`` that is no longer
    the folder's current version (another writer committed since it was loaded), so no writer's documents are lost.
    """
    with writer_lock(index.path):
        _require_current(index)
        data_dir = new_data_dir(index.path)
        try:
            shutil.copyfile(index.path / index.manifest.data_dir / TABLE_FILE, data_dir / TABLE_FILE)
            writer = DocumentWriter(data_dir)
            first_new = writer.documents
            duplicates = write_documents(documents, writer, index_settings)
            writer.close(previous_offsets=index.documents.offsets)
            table = DocumentTable(data_dir)
            engine = LocalEngine(index.embedder, index_settings.build_block, cache_dir)
            vectors = VectorFile(
                data_dir / VECTORS_FILE, table.chunk_count - len(index.chunks), index_settings
            )
            engine.embed(table, len(index.chunks), vectors, progress)
            dense = extend_dense(index.dense, vectors.finished(), data_dir)
            vectors.remove()
            lexical = write_lexical(table, data_dir, index_settings, progress)
            embedder = EmbedderInfo(name=index.embedder.name, dimension=dense.dimension)
            manifest = commit_version(
                index.path,
                data_dir,
                (len(table), table.chunk_count),
                embedder,
                index_settings,
                [*index.manifest.sources, *sources],
                {},
                created_at=index.manifest.created_at,
            )
        except BaseException:
            shutil.rmtree(data_dir, ignore_errors=True)
            raise
    updated = Index(index.path, manifest, table, index.embedder, dense, lexical, index.retrieval)
    return updated, AddReport(added=len(table) - first_new, skipped_duplicates=duplicates)


def _require_current(index: Index) -> None:
    current = read_manifest(index.path).data_dir
    if current != index.manifest.data_dir:
        raise BioagentError(
            f"index {index.path} changed since it was loaded (another writer committed a new version); "
            "load it again and repeat the addition"
        )


def _warn_duplicates(duplicates: list[str]) -> None:
    if duplicates:
        logger.warning(
            "skipped %d documents whose id was already seen (first: %s)", len(duplicates), duplicates[:5]
        )
