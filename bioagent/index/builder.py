"""Building and extending index folders. Embedding is the slow part; it runs in cached blocks with a progress bar."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from bioagent.errors import BioagentError
from bioagent.index.cache import EmbeddingCache, text_key
from bioagent.index.dense import DenseStore, check_memory
from bioagent.index.embedders import Embedder
from bioagent.index.lexical import LexicalStore
from bioagent.index.manifest import (
    EmbedderInfo,
    Manifest,
    SourceInfo,
    bioagent_version,
    checksum_files,
    commit_manifest,
    new_data_dir,
    now_iso,
    read_manifest,
    writer_lock,
)
from bioagent.index.store import (
    CHUNKS_FILE,
    DENSE_FILE,
    DOCUMENTS_FILE,
    LEXICAL_DIR,
    ChunkTable,
    Index,
    write_chunks_file,
    write_documents_file,
)
from bioagent.ingest import chunk_documents
from bioagent.settings import IndexSettings, RetrievalSettings
from bioagent.types import Document

EMBED_BLOCK = 512
logger = logging.getLogger(__name__)


@dataclass
class AddReport:
    added: int
    skipped_duplicates: list[str]


def build_index(
    documents: Sequence[Document],
    out_dir: str | Path,
    embedder: Embedder,
    index_settings: IndexSettings,
    retrieval: RetrievalSettings,
    *,
    sources: Sequence[SourceInfo] = (),
    cache_dir: Path | None = None,
    progress: bool = False,
) -> Index:
    """Write a new index for ``documents`` to ``out_dir`` (replacing any index there only once complete).

    Holds the folder's writer lock throughout: a build or addition already writing there makes this one fail at
    once with a one-line :class:`BioagentError`.
    """
    out_dir = Path(out_dir)
    with writer_lock(out_dir):
        documents, chunks = prepare_chunks(documents, index_settings)
        check_memory(len(chunks), embedder.dimension, index_settings)
        vectors = embed_texts(embedder, chunks.texts, cache_dir=cache_dir, progress=progress)
        dense = DenseStore.build(vectors, embedder.dimension, index_settings)
        return _write(
            out_dir, list(documents), chunks, dense, embedder, index_settings, retrieval, sources, progress
        )


def prepare_chunks(
    documents: Sequence[Document], index_settings: IndexSettings
) -> tuple[list[Document], ChunkTable]:
    """The documents to index (later duplicates of an id dropped, with a warning) and their chunk table."""
    documents, duplicates = _unique(documents)
    if duplicates:
        logger.warning(
            "skipped %d documents whose id was already seen (first: %s)", len(duplicates), duplicates[:5]
        )
    chunks = ChunkTable()
    chunk_docs, rows = _chunk(documents, index_settings)
    chunks.extend(chunk_docs, rows)
    return documents, chunks


def add_documents(
    index: Index,
    documents: Sequence[Document],
    index_settings: IndexSettings,
    *,
    sources: Sequence[SourceInfo] = (),
    cache_dir: Path | None = None,
    progress: bool = False,
) -> tuple[Index, AddReport]:
    """A new version of ``index`` with ``documents`` added; ids already present are skipped and reported.

    Holds the folder's writer lock throughout, and refuses an ``index`` that is no longer the folder's current
    version (another writer committed since it was loaded), so that no writer's documents are lost.
    """
    with writer_lock(index.path):
        _require_current(index)
        return _add(index, documents, index_settings, sources, cache_dir, progress)


def _add(
    index: Index,
    documents: Sequence[Document],
    index_settings: IndexSettings,
    sources: Sequence[SourceInfo],
    cache_dir: Path | None,
    progress: bool,
) -> tuple[Index, AddReport]:
    fresh, duplicates = _unique(documents, existing={d.id for d in index.documents})
    all_documents = index.documents + fresh
    chunk_docs, rows = _chunk(fresh, index_settings, first_row=len(index.documents))
    chunks = ChunkTable(list(index.chunks.ids), list(index.chunks.doc), list(index.chunks.texts))
    chunks.extend(chunk_docs, rows)
    check_memory(len(chunks), index.embedder.dimension, index_settings)
    vectors = embed_texts(
        index.embedder, [c.full_text() for c in chunk_docs], cache_dir=cache_dir, progress=progress
    )
    dense = index.dense.copy()
    dense.add(vectors)
    all_sources = list(index.manifest.sources) + list(sources)
    updated = _write(
        index.path,
        all_documents,
        chunks,
        dense,
        index.embedder,
        index_settings,
        index.retrieval,
        all_sources,
        progress,
        created_at=index.manifest.created_at,
    )
    return updated, AddReport(added=len(fresh), skipped_duplicates=duplicates)


def embed_texts(
    embedder: Embedder, texts: Sequence[str], *, cache_dir: Path | None = None, progress: bool = False
) -> np.ndarray:
    """Document vectors for ``texts``, embedded in length-sorted blocks (little padding).

    With ``cache_dir`` every embedded block is saved at once, so an interrupted or repeated build only embeds
    the texts it has not seen before.
    """
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    keys = [text_key(text) for text in texts]
    cache = EmbeddingCache(cache_dir / "embeddings", embedder.name, embedder.dimension) if cache_dir else None
    known = cache.get_many(keys) if cache else {}
    for row, key in enumerate(keys):
        if key in known:
            vectors[row] = known[key]
    missing = sorted((i for i, key in enumerate(keys) if key not in known), key=lambda i: len(texts[i]))
    try:
        with tqdm(
            total=len(texts),
            initial=len(texts) - len(missing),
            unit="text",
            desc="Embedding",
            disable=not progress,
        ) as bar:
            for start in range(0, len(missing), EMBED_BLOCK):
                block = missing[start : start + EMBED_BLOCK]
                vectors[block] = embedder.encode_documents([texts[i] for i in block])
                if cache:
                    cache.put_many([keys[i] for i in block], vectors[block])
                bar.update(len(block))
    finally:
        if cache:
            cache.close()
    return vectors


def _write(
    out_dir: Path,
    documents: list[Document],
    chunks: ChunkTable,
    dense: DenseStore,
    embedder: Embedder,
    index_settings: IndexSettings,
    retrieval: RetrievalSettings,
    sources: Sequence[SourceInfo],
    progress: bool,
    created_at: str | None = None,
    build: dict[str, str | int] | None = None,
) -> Index:
    """Write a new data folder and commit it; call with the writer lock of ``out_dir`` held."""
    data_dir = new_data_dir(out_dir)
    try:
        write_documents_file(data_dir / DOCUMENTS_FILE, documents)
        write_chunks_file(data_dir / CHUNKS_FILE, chunks, documents)
        dense.save(data_dir / DENSE_FILE)
        lexical = LexicalStore.build(chunks.texts, index_settings.bm25_k1, index_settings.bm25_b, progress)
        lexical.save(data_dir / LEXICAL_DIR)
        manifest = Manifest(
            created_with=bioagent_version(),
            created_at=created_at or now_iso(),
            updated_at=now_iso(),
            data_dir=data_dir.name,
            embedder=EmbedderInfo(name=embedder.name, dimension=dense.dimension),
            dense_kind=index_settings.kind,
            dense_params=_dense_params(index_settings),
            lexical={
                "algorithm": "bm25",
                "k1": index_settings.bm25_k1,
                "b": index_settings.bm25_b,
                "stemmer": "english",
                "stopwords": "en",
            },
            chunking={"words": index_settings.chunk_words, "overlap": index_settings.chunk_overlap},
            documents=len(documents),
            chunks=len(chunks),
            sources=list(sources),
            checksums=checksum_files(data_dir),
            build=build or {},
        )
        commit_manifest(out_dir, manifest)
    except BaseException:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    return Index(out_dir, manifest, documents, chunks, embedder, dense, lexical, retrieval)


def _require_current(index: Index) -> None:
    current = read_manifest(index.path).data_dir
    if current != index.manifest.data_dir:
        raise BioagentError(
            f"index {index.path} changed since it was loaded (another writer committed a new version); "
            "load it again and repeat the addition"
        )


def _chunk(
    documents: Sequence[Document], settings: IndexSettings, first_row: int = 0
) -> tuple[list[Document], list[int]]:
    chunk_docs: list[Document] = []
    rows: list[int] = []
    for row, doc in enumerate(documents, start=first_row):
        pieces = chunk_documents([doc], settings.chunk_words, settings.chunk_overlap)
        chunk_docs.extend(pieces)
        rows.extend([row] * len(pieces))
    return chunk_docs, rows


def _unique(
    documents: Sequence[Document], existing: set[str] | None = None
) -> tuple[list[Document], list[str]]:
    """Documents with ids not seen before (first occurrence wins), and the ids that were dropped."""
    seen = set(existing or ())
    kept, dropped = [], []
    for doc in documents:
        if doc.id in seen:
            dropped.append(doc.id)
        else:
            seen.add(doc.id)
            kept.append(doc)
    return kept, dropped


def _dense_params(settings: IndexSettings) -> dict[str, float | int | str]:
    if settings.kind == "hnsw":
        return {"m": settings.hnsw_m, "ef_search": settings.hnsw_ef_search}
    if settings.kind == "ivfflat":
        return {"nlist": settings.ivf_nlist, "nprobe": settings.nprobe}
    if settings.kind == "ivfpq":
        return {
            "nlist": settings.ivf_nlist,
            "pq_m": settings.pq_m,
            "pq_bits": settings.pq_bits,
            "nprobe": settings.nprobe,
            "rerank": settings.rerank,
        }
    return {}
