"""Opening input files: path checks, transparent gzip and xz, forgiving text decoding, and byte progress bars."""

from __future__ import annotations

import codecs
import gzip
import io
import lzma
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bioagent.errors import IngestError
from bioagent.types import Document

if TYPE_CHECKING:
    from bioagent.ingest.tabular import ColumnMap

GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"
COMPRESSED_SUFFIXES = (".gz", ".xz")
_FALLBACK_ERRORS = "bioagent-cp1252"

#: What a parser yields per record: a document, or the error that made the record unreadable.
Record = Document | IngestError


@dataclass(frozen=True)
class ReadOptions:
    """Options every parser receives."""

    columns: ColumnMap | None = None
    progress: bool = False


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: decode bytes that are not UTF-8 as cp1252 (unknown bytes become U+FFFD)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return bytes(bad).decode("cp1252", errors="replace"), exc.end


def check_path(path: Path) -> None:
    """Raise a one-line :class:`IngestError` if ``path`` is missing or unreadable."""
    if not path.exists():
        raise IngestError(path, "no such file or folder")
    if path.is_dir():
        return
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise IngestError(path, f"cannot read file: {exc.strerror or exc}") from exc


@contextmanager
def open_binary(path: Path, progress: bool = False) -> Iterator[IO[bytes]]:
    """Open ``path`` for reading bytes, decompressing gzip or xz (detected by their magic bytes)."""
    with ExitStack() as stack:
        try:
            raw: IO[bytes] = stack.enter_context(path.open("rb"))
        except OSError as exc:
            raise IngestError(path, f"cannot read file: {exc.strerror or exc}") from exc
        magic = raw.read(len(XZ_MAGIC))
        raw.seek(0)
        if progress:
            raw = stack.enter_context(_progress(raw, path))
        if magic.startswith(GZIP_MAGIC):
            yield stack.enter_context(gzip.GzipFile(fileobj=raw))  # type: ignore[arg-type]
        elif magic == XZ_MAGIC:
            yield stack.enter_context(lzma.LZMAFile(raw))
        else:
            yield raw


def format_suffix(path: Path) -> str:
    """The lower-case suffix that names the format, past any compression suffix ("a.tsv.xz" -> ".tsv")."""
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in COMPRESSED_SUFFIXES]
    return suffixes[-1] if suffixes else ""


@contextmanager
def open_text(path: Path, progress: bool = False, newline: str | None = None) -> Iterator[IO[str]]:
    """Open ``path`` as text: UTF-8 (a BOM is dropped), bytes that are not UTF-8 decoded as cp1252."""
    codecs.register_error(_FALLBACK_ERRORS, _cp1252_fallback)
    with (
        open_binary(path, progress) as fh,
        io.TextIOWrapper(fh, encoding="utf-8-sig", errors=_FALLBACK_ERRORS, newline=newline) as text,
    ):
        yield text


def read_head(path: Path, size: int = 8192) -> str:
    """The first ``size`` characters of a (possibly gzipped) text file."""
    try:
        with open_text(path) as fh:
            return fh.read(size)
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        raise IngestError(path, f"cannot read file: {exc}") from exc


@contextmanager
def _progress(raw: IO[bytes], path: Path) -> Iterator[IO[bytes]]:
    """Wrap ``raw`` so that reading it advances a byte progress bar."""
    from tqdm.auto import tqdm

    with tqdm(total=path.stat().st_size, desc=path.name, unit="B", unit_scale=True, leave=False) as bar:
        yield io.BufferedReader(_ProgressReader(raw, bar))


class _ProgressReader(io.RawIOBase):
    def __init__(self, raw: IO[bytes], bar: Any) -> None:
        self._raw = raw
        self._bar = bar

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._bar.update(len(data))
        return len(data)
