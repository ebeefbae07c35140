"""A searchable index folder: documents, their chunks, a FAISS store and a BM25 store, with a manifest."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bioagent.errors import IndexLoadError
from bioagent.index.dense import DenseStore
from bioagent.index.embedders import Embedder
from bioagent.index.lexical import LexicalStore
from bioagent.index.manifest import Manifest, check_data_files, first_line, read_manifest, verify_checksums
from bioagent.index.search import Ranker
from bioagent.settings import IndexSettings, RetrievalSettings
from bioagent.types import Document, Hit, SearchMode

DOCUMENTS_FILE = "documents.jsonl"
CHUNKS_FILE = "chunks.jsonl"
DENSE_FILE = "dense.faiss"
LEXICAL_DIR = "bm25"
LOAD_ATTEMPTS = 3  # a reader retries when writers commit (and remove its version) while it reads


@dataclass
class ChunkTable:
    """The search units: row i of the FAISS and BM25 stores is chunk i, which belongs to document ``doc[i]``."""

    ids: list[str] = field(default_factory=list)
    doc: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def extend(self, chunks: Sequence[Document], doc_rows: Sequence[int]) -> None:
        self.ids.extend(c.id for c in chunks)
        self.doc.extend(doc_rows)
        self.texts.extend(c.full_text() for c in chunks)


class Index:
    """A loaded index. Build one with :func:`bioagent.index.build_index`, open one with :func:`load_index`."""

    def __init__(
        self,
        path: Path,
        manifest: Manifest,
        documents: list[Document],
        chunks: ChunkTable,
        embedder: Embedder,
        dense: DenseStore,
        lexical: LexicalStore,
        retrieval: RetrievalSettings,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.documents = documents
        self.chunks = chunks
        self.embedder = embedder
        self.dense = dense
        self.lexical = lexical
        self.retrieval = retrieval
        self._rows = {doc.id: row for row, doc in enumerate(documents)}
        self._ranker = Ranker(chunks.doc, dense, lexical)

    def __len__(self) -> int:
        return len(self.documents)

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r}, documents={len(self.documents)}, embedder={self.embedder.name!r})"

    def get(self, doc_id: str) -> Document | None:
        """The document with this id (a chunk id such as 'PMID#2' gives its parent document)."""
        row = self._rows.get(doc_id)
        if row is None and "#" in doc_id:
            row = self._rows.get(doc_id.rsplit("#", 1)[0])
        return None if row is None else self.documents[row]

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
        return [
            [self._hit(r.doc_row, r.chunk_row, r.score, rank) for rank, r in enumerate(hits, start=1)]
            for hits in ranked
        ]

    def _hit(self, doc_row: int, chunk_row: int, score: float, rank: int) -> Hit:
        doc = self.documents[doc_row]
        metadata = dict(doc.metadata)
        if self.chunks.ids[chunk_row] != doc.id:
            metadata["chunk_id"] = self.chunks.ids[chunk_row]
        return Hit(
            id=doc.id,
            score=score,
            rank=rank,
            title=doc.title,
            text=_whole_sentences(doc, self.chunks.texts[chunk_row]) if "chunk_id" in metadata else doc.text,
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


def load_index(
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
    An index folder is trusted like code (see :mod:`bioagent.index.manifest`); ``verify=False`` skips only the
    checksums, not the check that the data folder holds exactly the files its manifest lists.
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
    if manifest.embedder.name != embedder.name:
        raise IndexLoadError(
            f"index {path} was built with embedder '{manifest.embedder.name}', but the configured embedder is "
            f"'{embedder.name}'. Set embedding.model (BIOAGENT_EMBEDDING__MODEL) to the index's embedder, "
            "or rebuild the index."
        )
    data = check_data_files(path, manifest)
    if verify:
        verify_checksums(path, manifest)
    try:
        documents = read_documents_file(data / DOCUMENTS_FILE)
        chunks = read_chunks_file(data / CHUNKS_FILE, documents)
        dense = DenseStore.load(data / DENSE_FILE, index_settings, mmap=mmap)
        lexical = LexicalStore.load(data / LEXICAL_DIR)
    except (OSError, ValueError, LookupError, RuntimeError) as exc:
        raise IndexLoadError(f"index {path} cannot be read ({first_line(exc)}); rebuild it") from exc
    if not len(chunks) == dense.size == lexical.size:
        raise IndexLoadError(
            f"index {path} is inconsistent: {len(chunks)} chunks, {dense.size} vectors, {lexical.size} BM25 rows"
        )
    return Index(path, manifest, documents, chunks, embedder, dense, lexical, retrieval)


def write_documents_file(path: Path, documents: Iterable[Document]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for doc in documents:
            handle.write(doc.model_dump_json() + "\n")


def read_documents_file(path: Path) -> list[Document]:
    with path.open(encoding="utf-8") as handle:
        return [Document.model_validate_json(line) for line in handle if line.strip()]


def write_chunks_file(path: Path, chunks: ChunkTable, documents: Sequence[Document]) -> None:
    """One line per chunk; the text is stored only where it differs from the whole document's text."""
    with path.open("w", encoding="utf-8") as handle:
        for chunk_id, doc_row, text in zip(chunks.ids, chunks.doc, chunks.texts):
            record: dict[str, object] = {"id": chunk_id, "doc": doc_row}
            if text != documents[doc_row].full_text():
                record["text"] = text
            handle.write(json.dumps(record) + "\n")


def read_chunks_file(path: Path, documents: Sequence[Document]) -> ChunkTable:
    table = ChunkTable()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            table.ids.append(record["id"])
            table.doc.append(record["doc"])
            table.texts.append(record.get("text") or documents[record["doc"]].full_text())
    return table
