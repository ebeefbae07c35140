"""Indexes: embedders, FAISS and BM25 stores, hybrid fusion, and index folders with manifests.

Convenience entry points that take a :class:`~bioagent.settings.Settings`; the modules below take explicit parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bioagent.index.builder import AddReport, embed_texts
from bioagent.index.builder import add_documents as _add_documents
from bioagent.index.builder import build_index as _build_index
from bioagent.index.distributed import build_index_distributed
from bioagent.index.embedders import Embedder, HashEmbedder, embedding_for_index, load_embedder
from bioagent.index.manifest import SourceInfo, read_manifest
from bioagent.index.store import Index
from bioagent.index.store import load_index as _load_index
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
    documents: Sequence[Document],
    out_dir: str | Path,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    *,
    sources: Sequence[SourceInfo] = (),
    progress: bool = False,
) -> Index:
    """Embed, index and write ``documents`` to ``out_dir`` with the configured embedder and index kind.

    With ``distributed.engine='ray'`` the embedding runs on Ray (see :mod:`bioagent.index.distributed`).
    """
    settings = settings or Settings.load()
    if settings.distributed.engine == "ray":
        return build_index_distributed(
            documents, out_dir, settings, embedder, sources=sources, progress=progress
        )
    return _build_index(
        documents,
        out_dir,
        embedder or load_embedder(settings.embedding, settings.cache_dir),
        settings.index,
        settings.retrieval,
        sources=sources,
        cache_dir=settings.cache_dir,
        progress=progress,
    )


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
    return _load_index(
        path,
        embedder,
        settings.index,
        settings.retrieval,
        verify=verify,
        mmap=settings.index.mmap,
    )


def add_documents(
    index: Index,
    documents: Sequence[Document],
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
