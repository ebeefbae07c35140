"""Split a large XML file into records (PubmedArticle, MedlineCitation, UniProt entry), parsed one by one.

A plain iterparse stops at the first syntax error; parsing record by record keeps the good records of a partly
bad file and reports the bad one by number. Time is linear in the input and memory holds one record: a record
longer than :data:`~bioagent.ingest.files.MAX_RECORD_CHARS` is skipped (and reported) without being held.

Records are parsed without the file's DOCTYPE, so no entity it declares can be expanded; a file whose DOCTYPE
declares entities (the "billion laughs" and external-entity attacks) is refused with one error.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import IO, NamedTuple

from bioagent.ingest.files import MAX_RECORD_CHARS

_CHUNK = 1 << 20
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)[^>]*>")
_PROLOG = re.compile(r"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(\[.*?\])?\s*>)", re.S)
_TAG_END = " \t\r\n>/"
ENTITIES_REFUSED = (
    "the XML declares entities (<!ENTITY …> in its DOCTYPE); refusing to expand them "
    "(a billion-laughs or external-entity attack?)"
)


class XmlRecord(NamedTuple):
    """One record: its 1-based number and the parsed element, or the reason it could not be parsed."""

    number: int
    element: ET.Element | None
    error: str = ""


def root_element(head: str) -> tuple[str, str]:
    """The root element's name and its full start tag (which carries the namespace declarations)."""
    match = _ROOT.search(head, _prolog_end(head))
    if not match:
        return "", ""
    return match.group(1), match.group(0)


def _prolog_end(head: str) -> int:
    """Where the XML declaration, comments and DOCTYPE at the start of ``head`` end."""
    pos = 0
    while match := _PROLOG.match(head, pos):
        pos = match.end()
    return pos


def declares_entities(head: str) -> bool:
    """Whether the prolog of ``head`` (everything before the root element) declares XML entities."""
    match = _ROOT.search(head, _prolog_end(head))
    return "<!ENTITY" in head[: match.start() if match else len(head)]


def iter_xml_records(stream: IO[str], tag: str, max_chars: int = MAX_RECORD_CHARS) -> Iterator[XmlRecord]:
    """Yield every ``<tag>…</tag>`` record of ``stream``, parsed, or with the reason it cannot be.

    A file whose DOCTYPE declares entities yields one record with :data:`ENTITIES_REFUSED` and nothing more.
    """
    window = _Window(stream)
    window.read_more(0)
    if declares_entities(window.text):
        yield XmlRecord(1, None, ENTITIES_REFUSED)
        return
    root_name, root_tag = root_element(window.text)
    wrap = bool(root_tag) and root_name != tag
    prefix, suffix = (root_tag, f"</{root_name}>") if wrap else ("", "")
    end_tag = f"</{tag}>"
    number, pos = 0, 0
    while True:
        start = _find_start(window.text, tag, pos)
        if start < 0:
            if not window.read_more(max(pos, len(window.text) - len(tag) - 2)):
                return
            pos = 0
            continue
        number += 1
        found = window.find_end(end_tag, start, max_chars)
        if found is None:
            yield XmlRecord(
                number, None, f"<{tag}> record is longer than {max_chars:,} characters; skipped it"
            )
            pos = 0
            continue
        start, end = found
        if end < 0:
            yield XmlRecord(number, None, f"unterminated <{tag}> record (the file ends inside it)")
            return
        following = _find_start(window.text, tag, start + 1, end)
        if following >= 0:
            yield XmlRecord(number, None, f"<{tag}> record has no closing tag")
            pos = following
            continue
        pos = end + len(end_tag)
        yield _parse_record(number, prefix + window.text[start:pos] + suffix, wrap)


class _Window:
    """The unread part of a text stream (``text``), grown by reads at least as large as what is kept."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.text = ""

    def read_more(self, keep_from: int) -> bool:
        """Drop ``text`` before ``keep_from`` and append a read (doubling a held record: linear time); False at
        the end of the stream."""
        kept = self.text[keep_from:]
        chunk = self._stream.read(max(_CHUNK, len(kept)))
        self.text = kept + chunk
        return bool(chunk)

    def find_end(self, end_tag: str, start: int, max_chars: int) -> tuple[int, int] | None:
        """Where the record at ``start`` begins and where its ``end_tag`` begins, reading on as needed (``text``
        may shift); the end is -1 when the stream ends first. None when the record is longer than ``max_chars``:
        then it has been skipped, and ``text`` goes on after it."""
        scan = start
        while (end := self.text.find(end_tag, scan)) < 0 and len(self.text) - start <= max_chars:
            scan = max(0, len(self.text) - len(end_tag) + 1 - start)
            if not self.read_more(start):
                return 0, -1
            start = 0
        if end >= 0 and end - start <= max_chars:
            return start, end
        self._skip_past(end_tag, end)
        return None

    def _skip_past(self, end_tag: str, end: int) -> None:
        """Discard ``text`` through the next ``end_tag`` (at ``end`` if found), holding one chunk at a time."""
        while end < 0:
            if not self.read_more(max(0, len(self.text) - len(end_tag) + 1)):
                self.text = ""
                return
            end = self.text.find(end_tag)
        self.text = self.text[end + len(end_tag) :]


def _find_start(buffer: str, tag: str, pos: int, end: int | None = None) -> int:
    """Where the next ``<tag`` start tag begins in ``buffer[pos:end]``, or -1."""
    marker = f"<{tag}"
    while (found := buffer.find(marker, pos, end)) >= 0:
        after = found + len(marker)
        if after >= len(buffer) or buffer[after] in _TAG_END:
            return found
        pos = after
    return -1


def _parse_record(number: int, text: str, wrapped: bool) -> XmlRecord:
    try:
        element = ET.fromstring(text)
    except ET.ParseError as exc:
        return XmlRecord(number, None, f"malformed XML: {exc}")
    if wrapped:
        element = element[0]
    if element.tag.startswith("{"):
        for node in element.iter():
            if isinstance(node.tag, str):
                node.tag = node.tag.rsplit("}", 1)[-1]
    return XmlRecord(number, element)


def element_text(element: ET.Element | None) -> str:
    """All text inside ``element`` (inline markup such as <i> or MathML flattened), whitespace collapsed."""
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())
