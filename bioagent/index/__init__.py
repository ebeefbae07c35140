"""Indexes: embedders, FAISS and BM25 stores, hybrid fusion, and index folders with manifests.

Convenience entry points that take a :class:`~bioagent.settings.Settings`; the modules below take explicit parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from bioagent.index.builder import AddReport, write_index
from bioagent.index.builder import add_documents as _add_documents
from bioagent.index.embedders import Embedder, HashEmbedder, embedding_for_index, load_embedder
from bioagent.index.engines import EmbedEngine, LocalEngine, embed_texts
from bioagent.index.manifest import SourceInfo, read_manifest
from bioagent.index.store import Index, open_index
from bioagent.settings import Settings
from bioagent.types import Document

__all__ = [
    "AddReport",
    "Embedder",
    "HashEmbedder",
    "Index",
    "SourceInfo",
    "add_documents",
    "build_index",
    "embed_texts",
    "load_embedder",
    "load_index",
]


def build_index(
    documents: Iterable[Document],
    out_dir: str | Path,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    *,
    sources: Sequence[SourceInfo] = (),
    progress: bool = False,
) -> Index:
    """Embed, index and write ``documents`` to ``out_dir`` with the configured embedder and index kind.

    ``documents`` is read once, as it comes (a generator works). With ``distributed.engine='ray'`` the embedding
    runs on Ray (see :mod:`bioagent.index.distributed`); ``embedder`` is then sent to every actor.
    """
    settings = settings or Settings.load()
    local = embedder or load_embedder(settings.embedding, settings.cache_dir)  # loads no model until used
    return write_index(
        documents,
        out_dir,
        local,
        settings.index,
        settings.retrieval,
        engine=_engine(settings, local, embedder, Path(out_dir)),
        sources=sources,
        progress=progress,
    )


def _engine(settings: Settings, local: Embedder, given: Embedder | None, out_dir: Path) -> EmbedEngine:
    """The embed step's engine: this process, or Ray actors (with the given embedder, else their own)."""
    if settings.distributed.engine == "ray":
        from bioagent.index.distributed import SHARD_DIR, RayEngine

        return RayEngine(settings, local, out_dir / SHARD_DIR, given)
    return LocalEngine(local, settings.index.build_block, settings.cache_dir)


def load_index(
    path: str | Path,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    *,
    verify: bool = True,
) -> Index:
    """Open an index folder; refused if it was built with a different embedding model than the configured one.

    Without ``embedder``, queries are encoded at the precision the index was built with (float32 or int8; see
    :func:`~bioagent.index.embedders.embedding_for_index`).
    """
    settings = settings or Settings.load()
    if embedder is None:
        built_with = read_manifest(Path(path)).embedder.name
        embedder = load_embedder(embedding_for_index(settings.embedding, built_with), settings.cache_dir)
    return open_index(
        path,
        embedder,
        settings.index,
        settings.retrieval,
        verify=verify,
        mmap=settings.index.mmap,
    )


def add_documents(
    index: Index,
    documents: Iterable[Document],
    settings: Settings | None = None,
    *,
    sources: Sequence[SourceInfo] = (),
    progress: bool = False,
) -> tuple[Index, AddReport]:
    """Add ``documents`` to an index folder (written as a new version); returns the updated index."""
    settings = settings or Settings.load()
    return _add_documents(
        index, documents, settings.index, sources=sources, cache_dir=settings.cache_dir, progress=progress
    )
