"""Telling an input's format from its content, name and folder layout."""

from __future__ import annotations

import re
from pathlib import Path

from bioagent.errors import IngestError
from bioagent.ingest.files import check_path, format_suffix, read_head
from bioagent.ingest.tabular import BEIR_CORPUS
from bioagent.ingest.xmlrecords import root_element

FORMATS = (
    "beir",
    "jsonl",
    "csv",
    "pubmed-xml",
    "medline",
    "uniprot-dat",
    "uniprot-xml",
    "uniprot-tsv",
    "ris",
    "pubmedqa",
    "uniprot-json",
)
_XML_ROOTS = {
    "PubmedArticleSet": "pubmed-xml",
    "MedlineCitationSet": "pubmed-xml",
    "PubmedArticle": "pubmed-xml",
    "MedlineCitation": "pubmed-xml",
    "uniprot": "uniprot-xml",
}
#: Formats whose content is recognisable with certainty; a --format flag naming one must match the content.
_SNIFFABLE = {"pubmed-xml", "uniprot-xml", "uniprot-dat", "medline", "ris", "pubmedqa", "uniprot-json"}
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".ris": "ris",
    ".nbib": "medline",
    ".medline": "medline",
    ".dat": "uniprot-dat",
}
_UNIPROT_TSV_HINTS = {"entry name", "entry_name", "protein names", "protein_name", "gene names", "sequence"}


def format_choices() -> str:
    return ", ".join(("auto", *FORMATS))


def detect_format(path: Path) -> str:
    """The format of ``path`` (one of :data:`FORMATS`), from its content first, then its name."""
    path = Path(path)
    check_path(path)
    if path.is_dir():
        if any((path / name).is_file() for name in BEIR_CORPUS):
            return "beir"
        raise IngestError(path, "is a folder without corpus.jsonl; pass a file or a BEIR folder")
    head = _nonempty_head(path)
    fmt = sniff_content(head, path) or _by_name(path, head)
    if fmt is None:
        raise IngestError(path, f"cannot tell the file's format; pass --format (one of: {format_choices()})")
    return fmt


def check_format(path: Path, fmt: str) -> str:
    """Validate an explicit format flag against ``path``; raise a one-line error if it cannot be right."""
    path = Path(path)
    if fmt not in FORMATS:
        raise IngestError(path, f"unknown format '{fmt}'; choose one of: {format_choices()}")
    check_path(path)
    if path.is_dir():
        if fmt != "beir":
            raise IngestError(path, f"is a folder; --format {fmt} needs a file")
        return fmt
    sniffed = sniff_content(_nonempty_head(path), path)
    if sniffed != fmt and (sniffed or fmt in _SNIFFABLE):
        looks = f"it looks like {sniffed}" if sniffed else "its content does not match"
        raise IngestError(path, f"--format {fmt} does not fit this file: {looks}")
    return fmt


def sniff_content(head: str, path: Path) -> str | None:
    """The format the first characters of a file show unambiguously, if any."""
    text = head.lstrip()
    if text.startswith("<"):
        root, _ = root_element(text)
        if root not in _XML_ROOTS:
            raise IngestError(
                path, f"XML root <{root}> is not a supported format (PubMed/MEDLINE or UniProt XML)"
            )
        return _XML_ROOTS[root]
    if text.startswith("ID   "):
        return "uniprot-dat"
    if re.search(r"^PMID- ", head, re.M):
        return "medline"
    if re.search(r"^TY  - ", head, re.M):
        return "ris"
    if text.startswith(("{", "[")):
        if '"QUESTION"' in head and '"CONTEXTS"' in head:
            return "pubmedqa"
        if '"primaryAccession"' in head:
            return "uniprot-json"
    return None


def _by_name(path: Path, head: str) -> str | None:
    suffix = format_suffix(path)
    if suffix in (".tsv", ".tab", ".txt") and _is_uniprot_tsv(head):
        return "uniprot-tsv"
    if path.name.lower() in BEIR_CORPUS:
        return "beir"
    return _EXTENSIONS.get(suffix)


def _is_uniprot_tsv(head: str) -> bool:
    """A tab-separated header with an Entry/accession column and UniProt-style columns."""
    lines = [line for line in head.splitlines() if line.strip() and not line.startswith("#")]
    columns = {name.strip().lower() for name in lines[0].split("\t")} if lines else set()
    return bool(columns & {"entry", "accession"}) and bool(columns & _UNIPROT_TSV_HINTS)


def _nonempty_head(path: Path) -> str:
    head = read_head(path)
    if not head.strip():
        raise IngestError(path, "file is empty")
    return head
