"""The members of a top-level JSON array or object, decoded one at a time from a text stream.

Memory holds one member (at most ``max_chars`` characters) and time is linear in the input: a member that does
not fit the window is retried after a read at least as large as what is held, so the window doubles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, Any

from bioagent.ingest.files import MAX_RECORD_CHARS

_CHUNK = 1 << 20
_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_NEAR_END = 64  # a decoding error this close to the window's end may only mean the window cut the member


class JsonStreamError(ValueError):
    """The JSON cannot be read on from this member (malformed, truncated or too large); earlier ones are good."""


def iter_json_members(stream: IO[str], max_chars: int = MAX_RECORD_CHARS) -> Iterator[tuple[str | None, Any]]:
    """``(key, value)`` for each member of a top-level object, ``(None, item)`` for each item of an array.

    Raises :class:`JsonStreamError` where reading cannot go on (members before it have been yielded).
    """
    window = _Window(stream, max_chars)
    opening = window.take("[{")
    closing = "]" if opening == "[" else "}"
    if window.peek() == closing:
        window.take(closing)
    else:
        while True:
            key = _key(window) if opening == "{" else None
            yield key, window.value()
            if window.take("," + closing) == closing:
                break
    if window.peek():
        raise JsonStreamError("not valid JSON: unexpected text after the top-level value")


def _key(window: _Window) -> str:
    key = window.value()
    if not isinstance(key, str):
        raise JsonStreamError("not valid JSON: an object key must be a string")
    window.take(":")
    return key


class _Window:
    """The unread part of a text stream, read in chunks; ``pos`` is where decoding goes on."""

    def __init__(self, stream: IO[str], max_chars: int) -> None:
        self._stream = stream
        self._max_chars = max_chars
        self._text = ""
        self._pos = 0
        self._eof = False

    def _read_more(self) -> bool:
        """Drop what was decoded and read at least as much as is held; False at the end of the stream."""
        if self._eof:
            return False
        held = self._text[self._pos :]
        chunk = self._stream.read(max(_CHUNK, len(held)))
        self._text, self._pos, self._eof = held + chunk, 0, not chunk
        return bool(chunk)

    def peek(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while True:
            self._pos = _SPACE.match(self._text, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._text) or not self._read_more():
                return self._text[self._pos : self._pos + 1]

    def take(self, allowed: str) -> str:
        """Consume the next character, which must be one of ``allowed``."""
        found = self.peek()
        if not found:
            raise JsonStreamError("not valid JSON: the file ends inside it (truncated?)")
        if found not in allowed:
            wanted = " or ".join(repr(c) for c in allowed)
            raise JsonStreamError(f"not valid JSON: expected {wanted}, found {found!r}")
        self._pos += 1
        return found

    def value(self) -> Any:
        """Decode the next value, reading on while the window may cut it; at most ``max_chars`` characters."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._text, self._pos)
            except json.JSONDecodeError as exc:
                cut = _may_be_cut(exc, len(self._text))
                if self._eof or not cut:
                    ends = " (the file ends inside it)" if cut else ""
                    raise JsonStreamError(f"not valid JSON: {exc.msg}{ends}") from exc
                end = len(self._text)
            else:
                complete = end < len(self._text) or self._eof  # a number may go on past the window's end
                if complete and end - self._pos <= self._max_chars:
                    self._pos = end
                    return value
            if end - self._pos > self._max_chars:
                break
            self._read_more()
        raise JsonStreamError(f"a record is longer than {self._max_chars:,} characters (or malformed)")


def _may_be_cut(exc: json.JSONDecodeError, window_end: int) -> bool:
    """Whether a decoding error may come from the window ending inside the value rather than from bad JSON."""
    return exc.msg.startswith("Unterminated string") or exc.pos >= window_end - _NEAR_END
