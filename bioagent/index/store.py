"""A searchable index: documents and chunks on disk (SQLite), a FAISS store and a memory-mapped BM25 store.

Opening one reads the manifest, the BM25 vocabulary and the FAISS files (memory-mapped with ``index.mmap``) and
maps the rest; the corpus is never read into Python objects. A hit's document is fetched by row when it is found.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from bioagent.errors import IndexLoadError
from bioagent.index.dense import DenseStore
from bioagent.index.doctable import DocumentTable
from bioagent.index.embedders import Embedder
from bioagent.index.lexical import LexicalStore
from bioagent.index.manifest import (
    FIRST_DISK_FORMAT,
    Manifest,
    check_data_files,
    first_line,
    read_manifest,
    verify_checksums,
)
from bioagent.index.search import HybridRanker
from bioagent.index.stores import DENSE_FILE, LEXICAL_DIR
from bioagent.settings import IndexSettings, RetrievalSettings
from bioagent.types import Document, Hit, SearchMode

LOAD_ATTEMPTS = 3  # a reader retries when writers commit (and remove its version) while it reads


class Index:
    """A loaded index. Build one with :func:`bioagent.index.build_index`, open one with :func:`load_index`.

    ``documents`` is a read-only sequence backed by the index's SQLite file (indexing and slicing fetch rows);
    ``chunks`` is the range of chunk rows, which are the rows of the FAISS and BM25 stores.
    """

    def __init__(
        self,
        path: Path,
        manifest: Manifest,
        documents: DocumentTable,
        embedder: Embedder,
        dense: DenseStore,
        lexical: LexicalStore,
        retrieval: RetrievalSettings,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.documents = documents
        self.embedder = embedder
        self.dense = dense
        self.lexical = lexical
        self.retrieval = retrieval
        self._ranker = HybridRanker(documents, dense, lexical)

    def __len__(self) -> int:
        return len(self.documents)

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r}, documents={len(self.documents)}, embedder={self.embedder.name!r})"

    @property
    def chunks(self) -> range:
        return range(self.documents.chunk_count)

    def get(self, doc_id: str) -> Document | None:
        """The document with this id (a chunk id such as 'PMID#2' gives its parent document)."""
        row = self.documents.row_of(doc_id)
        if row is None and "#" in doc_id:
            row = self.documents.row_of(doc_id.rsplit("#", 1)[0])
        return None if row is None else self.documents[row]

    def chunk_row(self, chunk_id: str) -> int | None:
        """The row (in the FAISS and BM25 stores) of a chunk id, or None if the index has no such chunk."""
        return self.documents.chunk_row(chunk_id)

    def search(self, query: str, k: int | None = None, mode: SearchMode | None = None) -> list[Hit]:
        """The ``k`` best documents for ``query`` (one hit per document, its best-matching chunk as text)."""
        return self.search_many([query], k, mode)[0]

    def search_many(
        self, queries: list[str], k: int | None = None, mode: SearchMode | None = None
    ) -> list[list[Hit]]:
        """Batch search: queries are encoded together, which is much faster than one by one."""
        k = k or self.retrieval.k
        mode = mode or self.retrieval.mode
        if mode not in ("hybrid", "dense", "lexical"):
            raise ValueError(f"search mode must be hybrid, dense or lexical, not {mode!r}")
        vectors = self.embedder.encode_queries(queries) if mode != "lexical" else None
        ranked = self._ranker.rank(vectors, queries, k, mode, self.retrieval)
        return [self._hits([(r.doc_row, r.chunk_row, r.score) for r in hits]) for hits in ranked]

    def _hits(self, found: Sequence[tuple[int, int, float]]) -> list[Hit]:
        """Hits for (document row, chunk row, score) triples, best first: the documents are read in one go."""
        documents = self.documents.rows([doc_row for doc_row, _, _ in found])
        return [
            self._hit(doc, chunk_row, score, rank)
            for rank, (doc, (_, chunk_row, score)) in enumerate(zip(documents, found), start=1)
        ]

    def _hit(self, doc: Document, chunk_row: int, score: float, rank: int) -> Hit:
        chunk_id, _, chunk_text = self.documents.chunk(chunk_row)
        metadata = dict(doc.metadata)
        if chunk_id != doc.id:
            metadata["chunk_id"] = chunk_id
        text = doc.text if chunk_text is None else _whole_sentences(doc, chunk_text)
        return Hit(
            id=doc.id,
            score=score,
            rank=rank,
            title=doc.title,
            text=text,
            source=doc.source,
            metadata=metadata,
        )


def _whole_sentences(doc: Document, chunk_text: str) -> str:
    """The part of ``doc.text`` a chunk covers, widened to whole sentences, so that evidence quoted from it never
    starts or ends mid-sentence (a chunk is the title plus a window of words; see ``chunk_documents``)."""
    prefix = f"{doc.title}. " if doc.title else ""
    span = chunk_text[len(prefix) :] if chunk_text.startswith(prefix) else chunk_text
    start = doc.text.find(span)
    if start < 0:
        return chunk_text
    end = start + len(span)
    before = max(doc.text.rfind(". ", 0, start), doc.text.rfind("\n", 0, start))
    after = min(
        (i for i in (doc.text.find(". ", end - 1), doc.text.find("\n", end)) if i >= 0), default=len(doc.text)
    )
    return doc.text[before + 1 if before >= 0 else 0 : after + 1].strip()


def open_index(
    path: str | Path,
    embedder: Embedder,
    index_settings: IndexSettings,
    retrieval: RetrievalSettings,
    *,
    verify: bool = True,
    mmap: bool = False,
) -> Index:
    """Open an index folder, refusing one built with a different embedder or with damaged or unlisted files.

    Takes no lock: if a writer commits (and removes the version being read) meanwhile, the new version is read.
    An index folder is trusted like code (see :mod:`bioagent.index.manifest`). ``verify`` checks every file's
    size and the sha256 of files up to ``index.verify_max_mb``; ``verify=False`` skips both, not the check that
    the data folder holds exactly the files its manifest lists.
    """
    path = Path(path)
    manifest = read_manifest(path)
    for _ in range(LOAD_ATTEMPTS - 1):
        try:
            return _load_version(path, manifest, embedder, index_settings, retrieval, verify, mmap)
        except IndexLoadError:
            current = read_manifest(path)
            if current.data_dir == manifest.data_dir:
                raise
            manifest = current
    return _load_version(path, manifest, embedder, index_settings, retrieval, verify, mmap)


def _load_version(
    path: Path,
    manifest: Manifest,
    embedder: Embedder,
    index_settings: IndexSettings,
    retrieval: RetrievalSettings,
    verify: bool,
    mmap: bool,
) -> Index:
    """The index version that ``manifest`` names."""
    if manifest.format_version < FIRST_DISK_FORMAT:
        raise IndexLoadError(
            f"index {path} was written by an older bioagent (format {manifest.format_version}: documents read "
            f"into memory); convert it once with `bioagent index migrate {path}` (no re-embedding)"
        )
    if manifest.embedder.name != embedder.name:
        raise IndexLoadError(
            f"index {path} was built with embedder '{manifest.embedder.name}', but the configured embedder is "
            f"'{embedder.name}'. Set embedding.model (BIOAGENT_EMBEDDING__MODEL) to the index's embedder, "
            "or rebuild the index."
        )
    data = check_data_files(path, manifest)
    if verify:
        verify_checksums(path, manifest, index_settings.verify_max_mb * 2**20)
    try:
        documents = DocumentTable(data)
        dense = DenseStore.load(data / DENSE_FILE, index_settings, mmap=mmap)
        lexical = LexicalStore.load(data / LEXICAL_DIR)
    except (OSError, ValueError, LookupError, RuntimeError, sqlite3.Error) as exc:
        raise IndexLoadError(f"index {path} cannot be read ({first_line(exc)}); rebuild it") from exc
    if not documents.chunk_count == dense.size == lexical.size:
        raise IndexLoadError(
            f"index {path} is inconsistent: {documents.chunk_count} chunks, {dense.size} vectors, "
            f"{lexical.size} BM25 rows"
        )
    return Index(path, manifest, documents, embedder, dense, lexical, retrieval)
