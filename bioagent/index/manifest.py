"""The index folder's manifest, its writer lock, and durable switching between versions of the index data.

Layout of an index folder::

    <index>/manifest.json        the only file read first; names the current data folder
    <index>/data-<stamp>/        documents.sqlite, chunk_offsets.npy, dense.faiss, bm25/ (format 2; format 1 kept
                                 documents.jsonl and chunks.jsonl, read into memory: `bioagent index migrate`)
    <index>/.write.lock          held (flock) by the one process writing the folder; .write.owner names it

A build or update holds the writer lock from start to end (a second writer is refused at once), writes a new
``data-*`` folder completely and syncs it to disk, then replaces ``manifest.json`` with ``os.replace`` (atomic on
POSIX) and syncs the folder. Only then are superseded data folders, and those left by crashed writers, removed.
A crash at any point leaves the previous manifest and its data intact. Readers take no lock.

An index folder is trusted like code: FAISS and BM25 files are parsed by native readers that are not hardened
against crafted input. The checks here (data folder name, exactly the listed files, their checksums) catch damage
and mistakes, not a determined attacker who can write the folder (and so the manifest) too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from filelock import FileLock, Timeout
from pydantic import BaseModel, Field, ValidationError

from bioagent.atomic import fsync_folder, replace_atomically
from bioagent.errors import BioagentError, IndexLoadError
from bioagent.settings import IndexSettings

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 2
FIRST_DISK_FORMAT = 2  # documents in SQLite and BM25 memory-mapped from this format on
LOCK_NAME = ".write.lock"
OWNER_NAME = ".write.owner"
DATA_DIR_NAME = re.compile(r"data-[A-Za-z0-9_-]+")


class EmbedderInfo(BaseModel):
    name: str
    dimension: int


class SourceInfo(BaseModel):
    path: str
    format: str
    documents: int
    skipped_records: int = 0
    sample: int | None = Field(default=None, description="Only the first N records were indexed (a sample).")


class Manifest(BaseModel):
    """What an index holds and how it was made."""

    format_version: int = FORMAT_VERSION
    created_with: str = Field(description="bioagent version that wrote this index.")
    created_at: str
    updated_at: str
    data_dir: str = Field(description="Sub-folder holding the current data files.")
    embedder: EmbedderInfo
    metric: str = "inner_product"
    dense_kind: str
    dense_params: dict[str, float | int | str] = Field(default_factory=dict)
    lexical: dict[str, float | str] = Field(default_factory=dict)
    chunking: dict[str, int] = Field(default_factory=dict, description="chunk_words and chunk_overlap used.")
    documents: int
    chunks: int
    sources: list[SourceInfo] = Field(default_factory=list)
    checksums: dict[str, str] = Field(default_factory=dict, description="sha256 of each data file.")
    sizes: dict[str, int] = Field(
        default_factory=dict, description="Bytes of each data file (checked on every load, also unverified)."
    )
    build: dict[str, str | int] = Field(
        default_factory=dict,
        description="How a distributed build ran (engine, workers, shards); empty for a single-process build.",
    )


def bioagent_version() -> str:
    try:
        return version("bioagent")
    except PackageNotFoundError:  # running from a source tree without an install
        return "0+unknown"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_data_dir(index_dir: Path) -> Path:
    """A fresh, empty data folder inside ``index_dir`` (created)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = index_dir / f"data-{stamp}-{os.getpid()}"
    path.mkdir(parents=True)
    return path


def read_manifest(index_dir: Path) -> Manifest:
    """The manifest of ``index_dir``, refused if missing, corrupt, too new or naming a data folder elsewhere."""
    path = index_dir / MANIFEST_NAME
    if not index_dir.is_dir():
        raise IndexLoadError(f"index folder {index_dir} does not exist; build it with `bioagent index build`")
    if not path.is_file():
        raise IndexLoadError(f"{index_dir} is not an index: {MANIFEST_NAME} is missing")
    try:
        manifest = Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError, UnicodeDecodeError) as exc:
        raise IndexLoadError(f"{path} is corrupt ({first_line(exc)}); rebuild the index") from exc
    if manifest.format_version > FORMAT_VERSION:
        raise IndexLoadError(
            f"{path} has format {manifest.format_version}; this bioagent reads up to {FORMAT_VERSION}"
        )
    if not DATA_DIR_NAME.fullmatch(manifest.data_dir):
        raise IndexLoadError(
            f"{path} names the data folder {manifest.data_dir!r}, which is not a data-* folder inside the index; "
            "refusing it (rebuild the index)"
        )
    return manifest


def check_data_files(index_dir: Path, manifest: Manifest) -> Path:
    """The manifest's data folder, refused unless it holds exactly the files the manifest lists (no links), each
    of the size the manifest records."""
    data_dir = index_dir / manifest.data_dir
    if data_dir.is_symlink() or not data_dir.is_dir():
        raise IndexLoadError(f"index data folder {data_dir} is missing; rebuild the index")
    if not manifest.checksums:
        raise IndexLoadError(
            f"{index_dir / MANIFEST_NAME} lists no checksums for its data files; refusing to load it unverified "
            "(rebuild the index)"
        )
    entries = list(data_dir.rglob("*"))
    if links := sorted(str(path.relative_to(data_dir)) for path in entries if path.is_symlink()):
        raise IndexLoadError(f"index data folder {data_dir} holds a link ({links[0]}); rebuild the index")
    present = {str(path.relative_to(data_dir)) for path in entries if not path.is_dir()}
    if missing := sorted(set(manifest.checksums) - present):
        raise IndexLoadError(f"index file {data_dir / missing[0]} is missing; rebuild the index")
    if unlisted := sorted(present - set(manifest.checksums)):
        raise IndexLoadError(
            f"index file {data_dir / unlisted[0]} is not listed in the manifest; refusing to load it "
            "(remove the file or rebuild the index)"
        )
    for name, size in manifest.sizes.items():
        if (found := (data_dir / name).stat().st_size) != size:
            raise IndexLoadError(
                f"index file {data_dir / name} has {found} bytes, but the manifest says {size}; rebuild the index"
            )
    return data_dir


def verify_checksums(index_dir: Path, manifest: Manifest, max_bytes: float | None = None) -> None:
    """Refuse data files whose sha256 differs from the manifest's (files of at most ``max_bytes``; all of them
    when None). Run :func:`check_data_files` first."""
    data_dir = index_dir / manifest.data_dir
    for name, expected in manifest.checksums.items():
        path = data_dir / name
        if (max_bytes is None or path.stat().st_size <= max_bytes) and sha256_file(path) != expected:
            raise IndexLoadError(f"index file {path} does not match its checksum; rebuild the index")


def checksum_files(data_dir: Path) -> tuple[dict[str, str], dict[str, int]]:
    """The sha256 and the size of every file under ``data_dir``."""
    files = [path for path in sorted(data_dir.rglob("*")) if path.is_file()]
    names = [str(path.relative_to(data_dir)) for path in files]
    return (
        {name: sha256_file(path) for name, path in zip(names, files)},
        {name: path.stat().st_size for name, path in zip(names, files)},
    )


@contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Hold the exclusive writer lock of ``index_dir`` (created if needed); refused at once if another process or
    thread holds it. The kernel releases the lock of a process that dies, so a crashed writer blocks no one."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(index_dir / LOCK_NAME)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BioagentError(
            f"index {index_dir} is being written by {_lock_owner(index_dir)}; try again when it finishes"
        ) from None
    try:
        (index_dir / OWNER_NAME).write_text(f"{os.getpid()} {now_iso()}\n", encoding="utf-8")
        yield
    finally:
        lock.release()


def commit_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Durably make ``manifest`` (and its data folder) current, then remove every other data folder.

    Call with :func:`writer_lock` held: the data is synced before the manifest names it, and nothing is removed
    before the new manifest is on disk, so a crash at any step leaves a loadable index.
    """
    _sync_tree(index_dir / manifest.data_dir)
    text = json.dumps(manifest.model_dump(), indent=2)
    replace_atomically(index_dir / MANIFEST_NAME, lambda handle: handle.write(text), text=True)
    for stale in index_dir.glob("data-*"):
        if stale.name != manifest.data_dir:
            shutil.rmtree(stale, ignore_errors=True)
    for leftover in index_dir.glob(f".{MANIFEST_NAME}.*.tmp"):
        leftover.unlink(missing_ok=True)


def commit_version(
    out_dir: Path,
    data_dir: Path,
    counts: tuple[int, int],
    embedder: EmbedderInfo,
    settings: IndexSettings,
    sources: Sequence[SourceInfo],
    build: dict[str, str | int],
    created_at: str | None = None,
) -> Manifest:
    """The commit step of a build: the manifest of ``data_dir`` (``counts``: documents and chunks, and the
    checksums of its files), made current; call with the writer lock held."""
    checksums, sizes = checksum_files(data_dir)
    manifest = Manifest(
        created_with=bioagent_version(),
        created_at=created_at or now_iso(),
        updated_at=now_iso(),
        data_dir=data_dir.name,
        embedder=embedder,
        dense_kind=settings.kind,
        dense_params=_dense_params(settings),
        lexical={
            "algorithm": "bm25",
            "k1": settings.bm25_k1,
            "b": settings.bm25_b,
            "stemmer": "english",
            "stopwords": "en",
        },
        chunking={"words": settings.chunk_words, "overlap": settings.chunk_overlap},
        documents=counts[0],
        chunks=counts[1],
        sources=list(sources),
        checksums=checksums,
        sizes=sizes,
        build=build,
    )
    commit_manifest(out_dir, manifest)
    return manifest


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


def _sync_tree(folder: Path) -> None:
    """fsync every file under ``folder``, then every folder from the deepest up (``folder`` and its parent too)."""
    folders = [folder]
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            folders.append(path)
        else:
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    for path in [*reversed(folders), folder.parent]:
        fsync_folder(path)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _lock_owner(index_dir: Path) -> str:
    """'pid N (started at T)' from the owner file of ``index_dir``'s writer lock, or 'another process'."""
    try:
        pid, started = (index_dir / OWNER_NAME).read_text(encoding="utf-8").split()
    except (OSError, ValueError):
        return "another process"
    return f"pid {pid} (started at {started})"


def first_line(exc: Exception) -> str:
    """The first line of an error's message (pydantic and FAISS messages run to several)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
