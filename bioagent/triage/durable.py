"""Crash-safe append-only JSON-lines logs for triage (whole files are replaced with :mod:`bioagent.atomic`).

An :class:`AppendLog` is only ever appended to, one JSON object per line; a line counts once
its newline is written, so a crash can leave at most a torn last line, which :meth:`AppendLog.read` skips with
a warning and the next append cuts off.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from bioagent.atomic import fsync_folder, replace_atomically
from bioagent.errors import BioagentError

logger = logging.getLogger(__name__)
T = TypeVar("T")


class AppendLog:
    """A file of JSON objects, one per line, only ever appended to.

    ``sync=True`` fsyncs every append, so an entry survives a power cut once :meth:`append` returns; with
    ``sync=False`` each append is flushed to the operating system, which survives a killed process.
    """

    def __init__(self, path: str | Path, *, sync: bool = True) -> None:
        self.path = Path(path)
        self.sync = sync
        self._checked_tail = False

    def read(self, parse: Callable[[dict[str, Any]], T]) -> list[T]:
        """Entries in file order through ``parse``; a torn last line is skipped with a warning.

        A damaged line elsewhere (not something an interrupted append leaves) raises :class:`BioagentError`.
        """
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        end = _complete_length(data)
        if end < len(data):
            logger.warning(
                "%s: skipped a torn last line (a write cut short by a crash; it was never confirmed); "
                "the entries before it are kept",
                self.path,
            )
        lines = enumerate(data[:end].split(b"\n")[:-1], start=1)
        return [self._parse_line(number, line, parse) for number, line in lines if line.strip()]

    def append(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Append the entries as one write, flushed (and fsynced when ``sync``) before returning."""
        payload = b"".join(map(_line, entries))
        created = not self.path.exists()
        if created:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self._checked_tail:
            self._cut_torn_tail()
        self._checked_tail = True
        with self.path.open("ab") as fh:
            fh.write(payload)
            fh.flush()
            if self.sync:
                os.fsync(fh.fileno())
        if created and self.sync:
            fsync_folder(self.path.parent)

    def rewrite(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Replace the whole log with ``entries`` atomically (the old log stays whole until the new one is)."""
        lines = list(map(_line, entries))
        replace_atomically(self.path, lambda fh: fh.writelines(lines))
        self._checked_tail = True

    def remove(self) -> None:
        """Delete the log (durably)."""
        self.path.unlink(missing_ok=True)
        fsync_folder(self.path.parent)

    def _cut_torn_tail(self) -> None:
        """Truncate an unterminated last line so that the next entry starts on a line of its own."""
        data = self.path.read_bytes()
        end = _complete_length(data)
        if end < len(data):
            with self.path.open("r+b") as fh:
                fh.truncate(end)
                os.fsync(fh.fileno())
            logger.info("%s: cut off a torn last line of %d bytes", self.path, len(data) - end)

    def _parse_line(self, number: int, line: bytes, parse: Callable[[dict[str, Any]], T]) -> T:
        try:
            entry = json.loads(line.decode("utf-8"))
            if not isinstance(entry, dict):
                raise ValueError("not a JSON object")
            return parse(entry)
        except (ValueError, KeyError, TypeError) as exc:
            raise BioagentError(
                f"{self.path}, line {number}: damaged entry ({_first_line(exc)}); fix or delete that line"
            ) from exc


def _line(entry: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(entry), ensure_ascii=False).encode("utf-8") + b"\n"


def _complete_length(data: bytes) -> int:
    """Bytes up to and including the last newline: the lines an append finished."""
    return data.rfind(b"\n") + 1


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
