"""Converting an index written before documents moved to disk (format 1: ``documents.jsonl`` and
``chunks.jsonl``, read into memory on load) to the current format, without re-embedding.

The documents and chunks are streamed into a new version's SQLite table; the FAISS and BM25 files (bm25s's own
format in both versions) are linked (or copied) unchanged. The new version is committed like any build: under
the writer lock, with the manifest swapped atomically, so an interrupted migration leaves the old index intact.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from bioagent.errors import BioagentError
from bioagent.index.doctable import DocumentWriter
from bioagent.index.manifest import (
    FIRST_DISK_FORMAT,
    FORMAT_VERSION,
    Manifest,
    check_data_files,
    checksum_files,
    commit_manifest,
    new_data_dir,
    now_iso,
    read_manifest,
    verify_checksums,
    writer_lock,
)
from bioagent.index.stores import DENSE_FILE, LEXICAL_DIR
from bioagent.types import Document

OLD_DOCUMENTS = "documents.jsonl"
OLD_CHUNKS = "chunks.jsonl"


def migrate_index(path: str | Path) -> Manifest | None:
    """Convert the index at ``path`` to the current format; None when it already is in it."""
    path = Path(path)
    with writer_lock(path):
        manifest = read_manifest(path)
        if manifest.format_version >= FIRST_DISK_FORMAT:
            return None
        old = check_data_files(path, manifest)
        verify_checksums(path, manifest)
        data_dir = new_data_dir(path)
        try:
            writer = DocumentWriter(data_dir)
            for document, chunks in _old_records(old):
                writer.add(document, chunks)
            writer.close()
            for name in manifest.checksums:
                if name.startswith((DENSE_FILE, LEXICAL_DIR + "/")):
                    _link_or_copy(old / name, data_dir / name)
            checksums, sizes = checksum_files(data_dir)
            migrated = manifest.model_copy(
                update={
                    "format_version": FORMAT_VERSION,
                    "data_dir": data_dir.name,
                    "updated_at": now_iso(),
                    "checksums": checksums,
                    "sizes": sizes,
                }
            )
            commit_manifest(path, migrated)
        except BaseException:
            shutil.rmtree(data_dir, ignore_errors=True)
            raise
    return migrated


def _old_records(folder: Path) -> Iterator[tuple[Document, list[Document]]]:
    """Each document of a format-1 folder with its chunks (a chunk's text is the document's unless stored)."""
    with (
        (folder / OLD_DOCUMENTS).open(encoding="utf-8") as docs,
        (folder / OLD_CHUNKS).open(encoding="utf-8") as chunks,
    ):
        lines = (json.loads(line) for line in chunks if line.strip())
        pending = next(lines, None)
        for row, line in enumerate(line for line in docs if line.strip()):
            document = Document.model_validate_json(line)
            own: list[Document] = []
            while pending is not None and pending["doc"] == row:
                own.append(_chunk(document, pending))
                pending = next(lines, None)
            yield document, own
        if pending is not None:
            raise BioagentError(
                f"{folder / OLD_CHUNKS} names document row {pending['doc']}, which does not exist"
            )


def _chunk(document: Document, record: dict[str, object]) -> Document:
    if "text" in record:
        return Document(id=str(record["id"]), text=str(record["text"]))
    return document.model_copy(update={"id": str(record["id"])})


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (the files are never written again), or a copy where links are not possible."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
