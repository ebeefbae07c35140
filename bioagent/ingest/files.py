"""Opening input files: path checks, transparent gzip and xz, forgiving text decoding, and byte progress bars.

Two limits keep a hostile or broken input from exhausting memory: a compressed file may decompress to at most
:data:`MAX_EXPANSION` times its size (at least :data:`MIN_DECOMPRESSED_LIMIT`) before reading stops with an
:class:`IngestError`, and parsers hold at most :data:`MAX_RECORD_CHARS` characters of one record or line.
"""

from __future__ import annotations

import codecs
import gzip
import io
import lzma
import zlib
from collections.abc import Callable, Iterator
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
_READ_BUFFER = 1 << 20
#: A compressed input may decompress to this many times its size (real gzip/xz data: 2-10x; bombs: ~1000x) ...
MAX_EXPANSION = 20
#: ... or to this many bytes, whichever is more (room for small files that compress unusually well).
MIN_DECOMPRESSED_LIMIT = 256 << 20
#: The most characters of one record (or line) a parser holds; a longer one is skipped and reported.
MAX_RECORD_CHARS = 64 << 20

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
            yield _capped(stack.enter_context(gzip.GzipFile(fileobj=raw)), path)  # type: ignore[arg-type]
        elif magic == XZ_MAGIC:
            yield _capped(stack.enter_context(lzma.LZMAFile(raw)), path)
        else:
            yield raw


def decompressed_limit(compressed_bytes: int) -> int:
    """The most bytes a compressed file of this size may decompress to."""
    return max(MIN_DECOMPRESSED_LIMIT, MAX_EXPANSION * compressed_bytes)


def _capped(stream: IO[bytes], path: Path) -> IO[bytes]:
    """``stream`` (decompressed data), raising IngestError once it yields more than ``decompressed_limit``."""
    limit = decompressed_limit(path.stat().st_size)
    total = 0

    def count(size: int) -> None:
        nonlocal total
        total += size
        if total > limit:
            raise IngestError(
                path,
                f"decompresses to more than {_size_text(limit)}; refusing (a compression bomb?). The limit is "
                f"{MAX_EXPANSION}x the compressed size, at least {_size_text(MIN_DECOMPRESSED_LIMIT)}: "
                "decompress a genuine file yourself and read the plain copy",
            )

    return io.BufferedReader(_CountingReader(stream, count), _READ_BUFFER)


def _size_text(size: int) -> str:
    """'256 MiB', '1.5 GiB'."""
    return f"{size / (1 << 30):.3g} GiB" if size >= 1 << 30 else f"{size / (1 << 20):.3g} MiB"


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
        yield io.BufferedReader(_CountingReader(raw, bar.update))


class _CountingReader(io.RawIOBase):
    """A raw reader over ``inner`` that reports the size of every read to ``on_read`` (which may raise)."""

    def __init__(self, inner: IO[bytes], on_read: Callable[[int], object]) -> None:
        self._inner = inner
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        self._on_read(len(data))
        return len(data)


class RecordTooLarge(ValueError):
    """A line or record longer than :data:`MAX_RECORD_CHARS`; its text was skipped."""


class BoundedLines:
    """The lines of a text stream, none held longer than ``limit`` characters: a longer line raises
    :class:`RecordTooLarge` (its rest is skipped) and iteration goes on with the next line."""

    def __init__(self, stream: IO[str], limit: int = MAX_RECORD_CHARS) -> None:
        self._stream = stream
        self._limit = limit
        self.number = 0  # lines read so far, overlong ones included

    def __iter__(self) -> BoundedLines:
        return self

    def __next__(self) -> str:
        line = self._stream.readline(self._limit + 1)
        if not line:
            raise StopIteration
        self.number += 1
        if len(line) <= self._limit:
            return line
        while line and not line.endswith(("\n", "\r")):
            line = self._stream.readline(self._limit)
        raise RecordTooLarge(f"line {self.number} is longer than {self._limit:,} characters; skipped it")


def iter_lines(stream: IO[str]) -> Iterator[str | RecordTooLarge]:
    """The lines of ``stream`` (see :class:`BoundedLines`), with a :class:`RecordTooLarge` for each overlong one."""
    lines = BoundedLines(stream)
    while True:
        try:
            yield next(lines)
        except StopIteration:
            return
        except RecordTooLarge as exc:
            yield exc
