"""Split a large XML file into records (PubmedArticle, MedlineCitation, UniProt entry), parsed one by one.

A plain iterparse stops at the first syntax error; parsing record by record keeps the good records of a partly
bad file and reports the bad one by number. Memory stays flat: only one read chunk is held at a time.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import IO, NamedTuple

_CHUNK = 1 << 20
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)[^>]*>")
_PROLOG = re.compile(r"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(\[.*?\])?\s*>)", re.S)
_TAG_END = " \t\r\n>/"


class XmlRecord(NamedTuple):
    """One record: its 1-based number and the parsed element, or the reason it could not be parsed."""

    number: int
    element: ET.Element | None
    error: str = ""


def root_element(head: str) -> tuple[str, str]:
    """The root element's name and its full start tag (which carries the namespace declarations)."""
    pos = 0
    while match := _PROLOG.match(head, pos):
        pos = match.end()
    match = _ROOT.search(head, pos)
    if not match:
        return "", ""
    return match.group(1), match.group(0)


def iter_xml_records(stream: IO[str], tag: str) -> Iterator[XmlRecord]:
    """Yield every ``<tag>…</tag>`` record of ``stream``, parsed, or with the parse error."""
    buffer = stream.read(_CHUNK)
    root_name, root_tag = root_element(buffer)
    wrap = bool(root_tag) and root_name != tag
    prefix, suffix = (root_tag, f"</{root_name}>") if wrap else ("", "")
    number, pos, eof = 0, 0, False
    while True:
        start = _find_start(buffer, tag, pos)
        end = -1 if start < 0 else buffer.find(f"</{tag}>", start)
        if end < 0 and not eof:
            chunk = stream.read(_CHUNK)
            eof = not chunk
            keep = start if start >= 0 else max(pos, len(buffer) - len(tag) - 2)
            buffer, pos = buffer[keep:] + chunk, 0
            continue
        if start < 0:
            return
        number += 1
        if end < 0:
            yield XmlRecord(number, None, f"unterminated <{tag}> record (the file ends inside it)")
            return
        following = _find_start(buffer, tag, start + 1)
        if 0 <= following < end:
            yield XmlRecord(number, None, f"<{tag}> record has no closing tag")
            pos = following
            continue
        pos = end + len(tag) + 3
        yield _parse_record(number, prefix + buffer[start:pos] + suffix, wrap)


def _find_start(buffer: str, tag: str, pos: int) -> int:
    marker = f"<{tag}"
    while (found := buffer.find(marker, pos)) >= 0:
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
