"""Tabular and JSON-lines sources: CSV/TSV, JSONL (or a JSON list), and BEIR corpora, with column mapping."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

from bioagent.errors import IngestError
from bioagent.ingest.files import (
    MAX_RECORD_CHARS,
    BoundedLines,
    ReadOptions,
    Record,
    RecordTooLarge,
    format_suffix,
    iter_lines,
    open_text,
    read_head,
)
from bioagent.ingest.jsonstream import JsonStreamError, iter_json_members
from bioagent.types import Document

ID_COLUMNS = ("id", "_id", "pmid", "PMID", "pubmedID", "doc_id", "record_id")
TITLE_COLUMNS = ("title", "Title", "ArticleTitle")
TEXT_COLUMNS = ("text", "abstract", "Abstract", "body", "contents")
BEIR_CORPUS = ("corpus.jsonl", "corpus.jsonl.gz")


@dataclass(frozen=True)
class ColumnMap:
    """Which CSV columns (or JSON keys) hold a document's id, title and text; ``None`` picks a default.

    ``metadata`` lists the columns copied into ``Document.metadata``; ``None`` copies every other column.
    """

    id: str | None = None
    title: str | None = None
    text: str | None = None
    metadata: tuple[str, ...] | None = None

    def resolve(self, available: Sequence[str], where: Path) -> ResolvedColumns:
        """Match this map against the columns a file has; raise naming the available columns if none fits."""
        id_col = _pick(self.id, ID_COLUMNS, available, "id", where)
        title = _pick(self.title, TITLE_COLUMNS, available, "title", where, required=False)
        text = _pick(self.text, TEXT_COLUMNS, available, "text", where, required=False)
        if not title and not text:
            raise IngestError(
                where,
                f"no text column found (looked for {', '.join(TEXT_COLUMNS + TITLE_COLUMNS)}); "
                f"available columns: {', '.join(available)}; name the text column explicitly",
            )
        if self.metadata is None:
            return ResolvedColumns(id_col, title, text, None)
        metadata = tuple(_pick(name, (), available, "metadata", where) for name in self.metadata)
        return ResolvedColumns(id_col, title, text, metadata)


@dataclass(frozen=True)
class ResolvedColumns:
    """A :class:`ColumnMap` matched to one file's columns."""

    id: str
    title: str | None
    text: str | None
    metadata: tuple[str, ...] | None  # None: every column not used for id, title or text

    def document(self, row: Mapping[str, Any], source: str, where: Path, number: int) -> Record:
        """Build one document from a row (dict of column -> value), or the error that prevents it."""
        doc_id = _as_text(row.get(self.id)).strip()
        if not doc_id:
            return IngestError(where, f"empty id in column '{self.id}'", number)
        title = _as_text(row.get(self.title)) if self.title else ""
        text = _as_text(row.get(self.text)) if self.text else ""
        if not title.strip() and not text.strip():
            return IngestError(where, f"record '{doc_id}' has no title or text", number)
        nested = row.get("metadata")
        metadata: dict[str, Any] = dict(nested) if isinstance(nested, Mapping) else {}
        used = (self.id, self.title, self.text)
        names = self.metadata if self.metadata is not None else [key for key in row if key not in used]
        for name in names:
            value = row.get(name)
            if name and name != "metadata" and value not in (None, "", [], {}):
                metadata[name] = value
        return Document(id=doc_id, title=title.strip(), text=text.strip(), source=source, metadata=metadata)


def _pick(
    wanted: str | None,
    defaults: Sequence[str],
    available: Sequence[str],
    role: str,
    where: Path,
    required: bool = True,
) -> str:
    """The column for ``role``: the one asked for, or the first default present (case-insensitive)."""
    by_key = {_key(name): name for name in reversed(available)}
    for name in [wanted] if wanted else defaults:
        if name in available:
            return name
        if _key(name) in by_key:
            return by_key[_key(name)]
    if wanted or required:
        looked = f"'{wanted}'" if wanted else ", ".join(defaults)
        raise IngestError(
            where, f"no {role} column found (looked for {looked}); available columns: {', '.join(available)}"
        )
    return ""


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(_as_text(item) for item in value)
    return str(value)


CsvRows = Iterator[tuple[int, list[str] | IngestError]]
"""Numbered rows of a CSV file; a row that cannot be read is an IngestError in its place."""


@contextmanager
def csv_table(path: Path, progress: bool = False) -> Iterator[tuple[list[str], CsvRows]]:
    """The header and the numbered rows of a CSV or TSV file (the delimiter follows the extension or is sniffed),
    read within the size bounds of every reader: the one CSV reader of the package."""
    csv.field_size_limit(MAX_RECORD_CHARS)
    with open_text(path, progress, newline="") as stream:
        reader = csv.reader(BoundedLines(stream), delimiter=sniff_delimiter(path), strict=True)
        header = next(reader, None)
        if not header:
            raise IngestError(path, "no header row")
        yield header, iter_csv_rows(reader, len(header), path)


def parse_csv(path: Path, options: ReadOptions) -> Iterator[Record]:
    """CSV or TSV with a header row, one Document per row."""
    with csv_table(path, options.progress) as (header, rows):
        columns = (options.columns or ColumnMap()).resolve(header, path)
        for number, row in rows:
            yield (
                row
                if isinstance(row, IngestError)
                else columns.document(dict(zip(header, row, strict=True)), "csv", path, number)
            )


def iter_csv_rows(reader: Any, width: int, path: Path) -> Iterator[tuple[int, list[str] | IngestError]]:
    """Data rows with 1-based record numbers; a malformed row, one of the wrong width, or an overlong line (when
    ``reader`` reads :class:`BoundedLines`) is an error."""
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield number, IngestError(path, f"line {reader.line_num}: {exc}", number)
            continue
        except RecordTooLarge as exc:
            number += 1
            yield number, IngestError(path, str(exc), number)
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        number += 1
        if len(row) != width:
            message = f"line {reader.line_num}: expected {width} fields, found {len(row)}"
            yield number, IngestError(path, message, number)
        else:
            yield number, row


def sniff_delimiter(path: Path) -> str:
    """Tab for .tsv/.tab, comma for .csv, otherwise guessed from the first lines."""
    suffix = format_suffix(path)
    if suffix in (".tsv", ".tab"):
        return "\t"
    if suffix == ".csv":
        return ","
    try:
        return csv.Sniffer().sniff(read_head(path, 4096), delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def parse_jsonl(path: Path, options: ReadOptions, source: str = "jsonl") -> Iterator[Record]:
    """One JSON object per line (or one JSON list of objects, read item by item); keys mapped like CSV columns."""
    column_map = options.columns or ColumnMap()
    columns: ResolvedColumns | None = None
    is_list = read_head(path, 4096).lstrip().startswith("[")
    with open_text(path, options.progress) as stream:
        for number, item in enumerate(_list_items(stream) if is_list else _json_lines(stream), start=1):
            if isinstance(item, _Invalid):
                yield IngestError(path, item.reason, number)
            elif not isinstance(item, dict):
                yield IngestError(path, f"expected a JSON object, found {type(item).__name__}", number)
            else:
                columns = columns or column_map.resolve(list(item), path)
                yield columns.document(item, source, path, number)


class _Invalid(NamedTuple):
    reason: str


def _json_lines(stream: IO[str]) -> Iterator[Any]:
    """Values of a JSON-lines stream; bad and overlong lines as :class:`_Invalid`."""
    for line in iter_lines(stream):
        if isinstance(line, RecordTooLarge):
            yield _Invalid(str(line))
        elif line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                yield _Invalid(f"not valid JSON: {exc.msg} at column {exc.colno}")


def _list_items(stream: IO[str]) -> Iterator[Any]:
    """Items of a JSON list; where the list cannot be read on, an :class:`_Invalid` ends it."""
    try:
        for _, item in iter_json_members(stream):
            yield item
    except JsonStreamError as exc:
        yield _Invalid(str(exc))


def beir_corpus(path: Path) -> Path:
    """The corpus file of a BEIR folder (or the file itself)."""
    if path.is_dir():
        for name in BEIR_CORPUS:
            if (path / name).is_file():
                return path / name
        raise IngestError(path, "folder has no corpus.jsonl (a BEIR folder needs one)")
    return path


def parse_beir(path: Path, options: ReadOptions) -> Iterator[Record]:
    """A BEIR corpus: ``{"_id", "title", "text", "metadata"}`` per line; ids are kept, other keys dropped."""
    options = ReadOptions(columns=ColumnMap(id="_id", metadata=()), progress=options.progress)
    yield from parse_jsonl(beir_corpus(path), options, source="beir")
