"""The index folder's manifest, and atomic switching between versions of the index data.

Layout of an index folder::

    <index>/manifest.json        the only file read first; names the current data folder
    <index>/data-<stamp>/        documents.jsonl, chunks.jsonl, dense.faiss, bm25/

A build or update writes a new ``data-*`` folder completely, then replaces ``manifest.json`` with
``os.replace`` (atomic on POSIX). A crash at any point leaves the previous manifest and its data intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from bioagent.errors import IndexLoadError

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


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
    path = index_dir / MANIFEST_NAME
    if not index_dir.is_dir():
        raise IndexLoadError(f"index folder {index_dir} does not exist; build it with `bioagent index build`")
    if not path.is_file():
        raise IndexLoadError(f"{index_dir} is not an index: {MANIFEST_NAME} is missing")
    try:
        manifest = Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError, UnicodeDecodeError) as exc:
        raise IndexLoadError(f"{path} is corrupt ({_first_line(exc)}); rebuild the index") from exc
    if manifest.format_version > FORMAT_VERSION:
        raise IndexLoadError(
            f"{path} has format {manifest.format_version}; this bioagent reads up to {FORMAT_VERSION}"
        )
    return manifest


def verify_checksums(index_dir: Path, manifest: Manifest) -> None:
    """Refuse data files that are missing or differ from what the manifest recorded."""
    data_dir = index_dir / manifest.data_dir
    for name, expected in manifest.checksums.items():
        path = data_dir / name
        if not path.is_file():
            raise IndexLoadError(f"index file {path} is missing; rebuild the index")
        if sha256_file(path) != expected:
            raise IndexLoadError(f"index file {path} does not match its checksum; rebuild the index")


def checksum_files(data_dir: Path) -> dict[str, str]:
    return {
        str(path.relative_to(data_dir)): sha256_file(path)
        for path in sorted(data_dir.rglob("*"))
        if path.is_file()
    }


def commit_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Atomically make ``manifest`` (and its data folder) current, then remove superseded data folders."""
    temporary = index_dir / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(manifest.model_dump(), indent=2), encoding="utf-8")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, index_dir / MANIFEST_NAME)
    for stale in index_dir.glob("data-*"):
        if stale.name != manifest.data_dir:
            shutil.rmtree(stale, ignore_errors=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
