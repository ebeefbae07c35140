"""Documents and chunks on disk: one SQLite file per index version, written once (WAL while building), then
opened read-only and immutable while serving, so nothing proportional to the corpus lives in Python objects.

Row ``i`` of ``documents`` is document ``i``; row ``j`` of ``chunks`` is row ``j`` of the FAISS and BM25 stores.
A chunk's text is stored only where it differs from its document's ``full_text()`` (a window of a long text).
The chunks of a document are consecutive rows; ``chunk_offsets.npy`` (memory-mapped) holds where each document's
chunks start, so mapping chunk rows to documents never touches SQLite.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, overload

import numpy as np

from bioagent.ingest import chunk_documents
from bioagent.settings import IndexSettings
from bioagent.types import Document

if TYPE_CHECKING:
    from numpy.typing import NDArray

TABLE_FILE = "documents.sqlite"
OFFSETS_FILE = "chunk_offsets.npy"
READ_BATCH = 1_000
PAGE_BYTES = 16_384
SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, text TEXT NOT NULL,
    source TEXT NOT NULL, metadata TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    row INTEGER PRIMARY KEY, doc INTEGER NOT NULL, id TEXT NOT NULL, text TEXT);
"""
_DOC_COLUMNS = "id, title, text, source, metadata"


def _document(record: tuple[str, str, str, str, str]) -> Document:
    doc_id, title, text, source, metadata = record
    return Document(id=doc_id, title=title, text=text, source=source, metadata=json.loads(metadata))


class DocumentWriter:
    """Appends documents and their chunks to a new (or copied) table file; :meth:`close` seals it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._db = sqlite3.connect(folder / TABLE_FILE)
        # A new file only: abstracts fill 4 KiB pages badly. No syncs while writing: the commit fsyncs the
        # sealed file before the manifest names it.
        self._db.execute(f"PRAGMA page_size={PAGE_BYTES}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.executescript(SCHEMA)
        self.documents = int(self._db.execute("SELECT count(*) FROM documents").fetchone()[0])
        self.chunks = int(self._db.execute("SELECT count(*) FROM chunks").fetchone()[0])
        self._counts = array("q")  # chunks per added document: 8 bytes each, no Python objects

    def add(self, document: Document, chunks: Sequence[Document]) -> bool:
        """Store ``document`` and its ``chunks``; False (nothing stored) when its id is already present."""
        cursor = self._db.execute(
            f"INSERT OR IGNORE INTO documents (row, {_DOC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (
                self.documents,
                document.id,
                document.title,
                document.text,
                document.source,
                json.dumps(document.metadata),
            ),
        )
        if cursor.rowcount == 0:
            return False
        whole = document.full_text()
        self._db.executemany(
            "INSERT INTO chunks (row, doc, id, text) VALUES (?, ?, ?, ?)",
            [
                (self.chunks + n, self.documents, c.id, None if c.full_text() == whole else c.full_text())
                for n, c in enumerate(chunks)
            ],
        )
        self._counts.append(len(chunks))
        self.documents += 1
        self.chunks += len(chunks)
        return True

    def has(self, doc_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone() is not None

    def flush(self) -> None:
        self._db.commit()

    def close(self, previous_offsets: NDArray[np.int64] | None = None) -> None:
        """Commit, fold the WAL into the file (one self-contained file) and write the chunk offsets."""
        self._db.commit()
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.execute("PRAGMA journal_mode=DELETE")
        self._db.close()
        start = np.zeros(1, dtype=np.int64) if previous_offsets is None else np.asarray(previous_offsets)
        counts = np.frombuffer(self._counts, dtype=np.int64)
        np.save(self.folder / OFFSETS_FILE, np.concatenate([start, start[-1] + np.cumsum(counts)]))


class DocumentTable(Sequence[Document]):
    """The documents of an index version, read on demand (a read-only :class:`Sequence` of documents)."""

    def __init__(self, folder: Path) -> None:
        uri = f"{(folder / TABLE_FILE).resolve().as_uri()}?mode=ro&immutable=1"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self.offsets: NDArray[np.int64] = np.load(folder / OFFSETS_FILE, mmap_mode="r")
        self._size = len(self.offsets) - 1
        last = self._query("SELECT max(row) FROM documents", ())
        if (-1 if last[0][0] is None else int(last[0][0])) != self._size - 1:
            raise ValueError(f"{TABLE_FILE} and {OFFSETS_FILE} disagree on the number of documents")

    def __len__(self) -> int:
        return self._size

    @property
    def chunk_count(self) -> int:
        return int(self.offsets[-1])

    @overload
    def __getitem__(self, item: int) -> Document: ...
    @overload
    def __getitem__(self, item: slice) -> list[Document]: ...
    def __getitem__(self, item: int | slice) -> Document | list[Document]:
        if isinstance(item, slice):
            return self.rows(list(range(*item.indices(self._size))))
        row = item + self._size if item < 0 else item
        if not 0 <= row < self._size:
            raise IndexError(f"document row {item} out of range ({self._size} documents)")
        return self.rows([row])[0]

    def __iter__(self) -> Iterator[Document]:
        for start in range(0, self._size, READ_BATCH):
            yield from self.rows(list(range(start, min(start + READ_BATCH, self._size))))

    def rows(self, rows: Sequence[int]) -> list[Document]:
        """The documents at ``rows``, in that order."""
        found: dict[int, Document] = {}
        for start in range(0, len(rows), READ_BATCH):
            part = list(rows[start : start + READ_BATCH])
            marks = ",".join("?" * len(part))
            sql = f"SELECT row, {_DOC_COLUMNS} FROM documents WHERE row IN ({marks})"
            found.update((int(r[0]), _document(r[1:])) for r in self._query(sql, part))
        return [found[row] for row in rows]

    def row_of(self, doc_id: str) -> int | None:
        """The row of the document with this id, or None."""
        found = self._query("SELECT row FROM documents WHERE id = ?", (doc_id,))
        return int(found[0][0]) if found else None

    def chunk_rows(self, doc_row: int) -> range:
        """The chunk rows of a document (consecutive)."""
        return range(int(self.offsets[doc_row]), int(self.offsets[doc_row + 1]))

    def chunk_docs(self, chunk_rows: NDArray[np.int64]) -> NDArray[np.int64]:
        """The document row of each chunk row."""
        return np.searchsorted(self.offsets, chunk_rows, side="right") - 1

    def chunk(self, row: int) -> tuple[str, int, str | None]:
        """A chunk's id, document row and own text (None when it is the whole document)."""
        found = self._query("SELECT id, doc, text FROM chunks WHERE row = ?", (row,))
        if not found:
            raise IndexError(f"chunk row {row} out of range")
        chunk_id, doc, text = found[0]
        return str(chunk_id), int(doc), text

    def chunk_row(self, chunk_id: str) -> int | None:
        """The row of a chunk id: a whole document's id, or ``<doc id>#<n>`` for a window of a long one."""
        doc_row = self.row_of(chunk_id)
        if doc_row is not None:
            span = self.chunk_rows(doc_row)
            return span.start if len(span) == 1 else None
        parent, _, _ = chunk_id.rpartition("#")
        doc_row = self.row_of(parent) if parent else None
        if doc_row is None:
            return None
        span = self.chunk_rows(doc_row)
        sql = "SELECT row FROM chunks WHERE row >= ? AND row < ? AND id = ?"
        found = self._query(sql, (span.start, span.stop, chunk_id))
        return int(found[0][0]) if found else None

    def chunk_texts(self, rows: Sequence[int] | NDArray[np.int64]) -> list[str]:
        """The indexed texts of chunk ``rows``, in that order."""
        found: dict[int, str] = {}
        for start in range(0, len(rows), READ_BATCH):
            part = [int(row) for row in rows[start : start + READ_BATCH]]
            sql = (
                "SELECT c.row, c.text, d.title, d.text FROM chunks c JOIN documents d ON d.row = c.doc "
                f"WHERE c.row IN ({','.join('?' * len(part))})"
            )
            for row, own, title, text in self._query(sql, part):
                found[row] = own if own is not None else Document(id="", title=title, text=text).full_text()
        return [found[int(row)] for row in rows]

    def chunk_lengths(self) -> NDArray[np.int64]:
        """The length (characters) of every chunk's indexed text, in row order, without reading the texts."""
        sql = (
            "SELECT CASE WHEN c.text IS NOT NULL THEN length(c.text) "
            "WHEN d.title != '' AND d.text != '' THEN length(d.title) + 2 + length(d.text) "
            "ELSE length(d.title) + length(d.text) END FROM chunks c JOIN documents d ON d.row = c.doc ORDER BY c.row"
        )
        with self._lock:
            cursor = self._db.execute(sql)
            lengths = np.zeros(self.chunk_count, dtype=np.int64)
            for start in range(0, self.chunk_count, READ_BATCH):
                batch = cursor.fetchmany(READ_BATCH)
                lengths[start : start + len(batch)] = [length for (length,) in batch]
        return lengths

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _query(self, sql: str, parameters: Sequence[object]) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(parameters)).fetchall()


def write_documents(
    documents: Iterable[Document], writer: DocumentWriter, settings: IndexSettings
) -> list[str]:
    """The chunk step of a build: each document and its chunks into ``writer`` (a later duplicate of an id is
    skipped); returns the skipped ids."""
    skipped = []
    for count, doc in enumerate(documents, start=1):
        if writer.has(doc.id) or not writer.add(
            doc, chunk_documents([doc], settings.chunk_words, settings.chunk_overlap)
        ):
            skipped.append(doc.id)
        if count % settings.build_block == 0:
            writer.flush()
    return skipped
