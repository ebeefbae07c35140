"""Loading records to screen, keeping every input record (empty or unreadable ones become placeholder rows)."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bioagent.errors import BioagentError, IngestError
from bioagent.triage.duplicates import find_duplicate_matches
from bioagent.triage.text import is_empty
from bioagent.types import Document

_ERROR_ID = re.compile(r"record '([^']+)'|PMID (\d+)")
_DUPLICATE_ID = re.compile(r"duplicate id '([^']+)'")
_POSITIVE = {"1", "1.0", "include", "included", "yes", "y", "true", "relevant"}
_NEGATIVE = {"0", "0.0", "exclude", "excluded", "no", "n", "false", "irrelevant"}
PREFERRED_ID_COLUMNS = ("record_id",)


@dataclass
class RecordSet:
    """Records in input order, with unique ids, the duplicates among them and the ones that cannot be screened.

    ``duplicate_key`` says what each duplicate matched its original on: ``pmid``, ``doi``, ``title``, or ``id``
    (the input repeated a record id).
    """

    records: list[Document]
    duplicate_of: dict[str, str] = field(default_factory=dict)
    duplicate_key: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    path: str = ""
    format: str = ""
    _by_id: dict[str, Document] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.records = _unique_ids(self.records)
        matches = find_duplicate_matches(self.records)
        self.duplicate_of = {**{rid: m.original for rid, m in matches.items()}, **self.duplicate_of}
        self.duplicate_key = {**{rid: m.key for rid, m in matches.items()}, **self.duplicate_key}
        for doc in self.records:
            if doc.metadata.get("duplicate_id"):
                self.duplicate_of.setdefault(doc.id, doc.metadata["duplicate_id"])
                self.duplicate_key.setdefault(doc.id, "id")
            elif doc.metadata.get("error"):
                self.problems.setdefault(doc.id, doc.metadata["error"])
            elif is_empty(doc):
                self.problems.setdefault(doc.id, "no title or abstract")

    def __len__(self) -> int:
        return len(self.records)

    @property
    def ids(self) -> list[str]:
        return [doc.id for doc in self.records]

    def get(self, record_id: str) -> Document | None:
        """The record with this id (after de-duplication of ids), or None."""
        if len(self._by_id) != len(self.records):
            self._by_id = {doc.id: doc for doc in self.records}
        return self._by_id.get(record_id)

    def column_labels(self, column: str) -> dict[str, int]:
        """0/1 labels from a metadata column (e.g. a CSV's ``label_included``); every record must have one."""
        labels: dict[str, int] = {}
        missing = []
        for doc in self.records:
            value = parse_label(doc.metadata.get(column))
            if value is None:
                missing.append(doc.id)
            else:
                labels[doc.id] = value
        if not labels:
            raise BioagentError(f"{self.path or 'records'}: no record has a 0/1 label in column '{column}'")
        if missing:
            raise BioagentError(
                f"{self.path or 'records'}: {len(missing)} of {len(self)} records have no label in column "
                f"'{column}' (first: {', '.join(missing[:5])})"
            )
        return labels


def parse_label(value: Any) -> int | None:
    """1 for include-like values, 0 for exclude-like ones, None for blank or unsure."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip().lower()
    if text in _POSITIVE:
        return 1
    if text in _NEGATIVE:
        return 0
    return None


def load_records(path: str | Path, fmt: str = "auto", id_column: str | None = None) -> RecordSet:
    """Read PubMed XML, MEDLINE, RIS, CSV/TSV or JSONL; every input record gives exactly one record."""
    from bioagent.ingest import detect_format, read_documents

    path = Path(path)
    if (detect_format(path) if fmt == "auto" else fmt) == "csv":
        return RecordSet(read_table(path, id_column), path=str(path), format="csv")
    result = read_documents(path, fmt=fmt)
    docs = list(result.documents) + [_placeholder(error) for error in result.errors]
    return RecordSet(docs, path=str(path), format=str(result.format))


def read_table(path: Path, id_column: str | None = None) -> list[Document]:
    """CSV/TSV rows as records, empty rows included; other columns go to metadata; ids from the id column
    (``record_id`` first, then the usual id names) or the row number."""
    from bioagent.ingest.tabular import ColumnMap, csv_table

    with csv_table(path) as (header, rows):
        wanted = id_column or next((c for c in PREFERRED_ID_COLUMNS if c in header), None)
        try:
            columns = ColumnMap(id=wanted).resolve(header, path)
        except IngestError:
            if id_column:
                raise
            columns = ColumnMap(id=header[0]).resolve(header, path)
            wanted = ""  # no id column: row numbers
        docs = []
        for number, row in rows:
            if isinstance(row, IngestError):
                docs.append(_placeholder(row, str(number)))
                continue
            values = dict(zip(header, row))
            doc_id = (values[columns.id].strip() if wanted != "" else "") or str(number)
            keeps_id = wanted == "" or columns.id.lower().replace("_", "") in ("pmid", "pubmedid")
            used = {columns.title, columns.text} | (set() if keeps_id else {columns.id})
            metadata = {k: v for k, v in values.items() if k not in used and v != ""}
            title = values[columns.title].strip() if columns.title else ""
            text = values[columns.text].strip() if columns.text else ""
            docs.append(Document(id=doc_id, title=title, text=text, source="csv", metadata=metadata))
    return docs


def _placeholder(error: IngestError, fallback_id: str | None = None) -> Document:
    """An empty record standing in for one the parser could not read, so that no input row is lost."""
    duplicate = _DUPLICATE_ID.search(error.reason)
    if duplicate:  # the parser kept the first record with this id; this row is a copy of it
        return Document(
            id=duplicate.group(1), source="duplicate", metadata={"duplicate_id": duplicate.group(1)}
        )
    match = _ERROR_ID.search(error.reason)
    doc_id = (match.group(1) or match.group(2)) if match else (fallback_id or f"row-{error.record}")
    return Document(id=doc_id, source="unreadable", metadata={"error": error.reason})


def _unique_ids(docs: Sequence[Document]) -> list[Document]:
    """Later records that repeat an id get ``<id>~2``, ``<id>~3``...; the original id stays in metadata."""
    seen: dict[str, int] = {}
    unique = []
    for doc in docs:
        count = seen.get(doc.id, 0) + 1
        seen[doc.id] = count
        if count > 1:
            doc = doc.model_copy(
                update={"id": f"{doc.id}~{count}", "metadata": {**doc.metadata, "input_id": doc.id}}
            )
        unique.append(doc)
    return unique


def as_record_set(
    records: RecordSet | str | Path | Iterable[Document | Mapping[str, Any] | str],
) -> RecordSet:
    """Accept a RecordSet, a file path, or a list of Documents / dicts with id,title,text / plain strings."""
    if isinstance(records, RecordSet):
        return records
    if isinstance(records, (str, Path)):
        return load_records(records)
    docs = []
    for number, item in enumerate(records, start=1):
        if isinstance(item, Document):
            docs.append(item)
        elif isinstance(item, Mapping):
            known = {k: item[k] for k in ("id", "title", "text", "source") if k in item}
            extra = {k: v for k, v in item.items() if k not in known and k != "metadata"}
            known.setdefault("id", str(number))
            docs.append(
                Document(**{**known, "id": str(known["id"])}, metadata={**item.get("metadata", {}), **extra})
            )
        else:
            docs.append(Document(id=str(number), text=str(item)))
    return RecordSet(docs)


def read_labels(path: str | Path, records: RecordSet) -> dict[str, int]:
    """A labels CSV (``record_id`` + ``label`` or ``decision`` columns) matched against the records."""
    path = Path(path)
    from bioagent.ingest.files import open_text

    with open_text(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    if not rows:
        return {}
    header = list(rows[0])
    id_col = next((c for c in ("record_id", "id") if c in header), None)
    label_col = next((c for c in ("label", "decision", "included") if c in header), None)
    if id_col is None or label_col is None:
        raise BioagentError(
            f"{path}: a labels file needs a 'record_id' and a 'label' (or 'decision') column; found {', '.join(header)}"
        )
    known = set(records.ids)
    labels = {r[id_col].strip(): parse_label(r[label_col]) for r in rows}
    unmatched = [rid for rid in labels if rid not in known]
    if unmatched:
        raise BioagentError(
            f"{path}: {len(unmatched)} of {len(labels)} label ids do not match any input record "
            f"(first: {', '.join(unmatched[:5])}); check the id column (--id-column)"
        )
    return {rid: value for rid, value in labels.items() if value is not None}
