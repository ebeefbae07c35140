"""``read_documents``: one entry point that picks the parser, keeps good records and reports bad ones."""

from __future__ import annotations

import lzma
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bioagent.errors import IngestError
from bioagent.ingest.detect import check_format, detect_format
from bioagent.ingest.files import ReadOptions, Record
from bioagent.ingest.literature import parse_medline, parse_pubmed_xml, parse_pubmedqa, parse_ris
from bioagent.ingest.tabular import ColumnMap, parse_beir, parse_csv, parse_jsonl
from bioagent.ingest.uniprot import parse_uniprot_dat, parse_uniprot_tsv
from bioagent.ingest.uniprot_xml import parse_uniprot_json, parse_uniprot_xml
from bioagent.types import Document

Parser = Callable[[Path, ReadOptions], Iterable[Record]]

PARSERS: dict[str, Parser] = {
    "beir": parse_beir,
    "jsonl": parse_jsonl,
    "csv": parse_csv,
    "pubmed-xml": parse_pubmed_xml,
    "medline": parse_medline,
    "uniprot-dat": parse_uniprot_dat,
    "uniprot-xml": parse_uniprot_xml,
    "uniprot-tsv": parse_uniprot_tsv,
    "ris": parse_ris,
    "pubmedqa": parse_pubmedqa,
    "uniprot-json": parse_uniprot_json,
}


@dataclass
class IngestResult:
    """The documents read from one input, and the records that were skipped (each names file and record)."""

    documents: list[Document]
    errors: list[IngestError]
    path: Path
    format: str


def read_documents(
    path: str | Path,
    fmt: str = "auto",
    *,
    columns: ColumnMap | None = None,
    progress: bool = False,
) -> IngestResult:
    """Read every record of ``path`` as :class:`Document`; ``fmt`` is one of FORMATS or ``"auto"``.

    Raises :class:`IngestError` (one line naming the file) when the input cannot be used at all: a missing or
    unreadable path, an empty file, a format flag that does not fit the content, or no readable record.
    """
    path = Path(path)
    fmt = detect_format(path) if fmt == "auto" else check_format(path, fmt)
    records = PARSERS[fmt](path, ReadOptions(columns=columns, progress=progress))
    documents, errors = _collect(path, records)
    if not documents:
        detail = f" ({len(errors)} bad records; first: {errors[0].reason})" if errors else ""
        raise IngestError(path, f"no {fmt} records could be read{detail}")
    return IngestResult(documents, errors, path, fmt)


def _collect(path: Path, records: Iterable[Record]) -> tuple[list[Document], list[IngestError]]:
    """Split parser output into documents and errors; later duplicates of an id are errors."""
    documents: list[Document] = []
    errors: list[IngestError] = []
    first_seen: dict[str, int] = {}
    number = 0
    try:
        for number, item in enumerate(records, start=1):
            if isinstance(item, IngestError):
                errors.append(item)
            elif item.id in first_seen:
                message = f"duplicate id '{item.id}' (first in record {first_seen[item.id]}); kept the first"
                errors.append(IngestError(path, message, number))
            else:
                first_seen[item.id] = number
                documents.append(item)
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        if not documents:
            raise IngestError(path, f"cannot read file: {exc}") from exc
        errors.append(IngestError(path, f"file is truncated or corrupt after this record: {exc}", number))
    return documents, errors
