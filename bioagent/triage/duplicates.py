"""Duplicate records: the same PMID or the same normalised title. Later copies point at the first one."""

from __future__ import annotations

from collections.abc import Sequence

from bioagent.triage.text import normalise_title
from bioagent.types import Document

MIN_TITLE_WORDS = 4  # shorter titles ("Editorial", "Letter") are too generic to call duplicates


def record_pmid(doc: Document) -> str | None:
    """The PMID of a record: metadata 'pmid' (or a CSV 'pubmedID'-like column), or the id of PubMed records."""
    for key, value in doc.metadata.items():
        if key.lower().replace("_", "") in {"pmid", "pubmedid"} and str(value).strip():
            return _clean_pmid(value)
    if doc.source == "pubmed" and doc.id.isdigit():
        return doc.id
    return None


def _clean_pmid(value: object) -> str | None:
    text = str(value).strip()
    if text.endswith(".0"):  # CSV tools write numbers as floats
        text = text[:-2]
    return text if text.isdigit() else None


def find_duplicates(records: Sequence[Document]) -> dict[str, str]:
    """``{record id: id of the first record it duplicates}`` for every later copy."""
    first_by_key: dict[str, str] = {}
    duplicate_of: dict[str, str] = {}
    for doc in records:
        keys = []
        pmid = record_pmid(doc)
        if pmid:
            keys.append(f"pmid:{pmid}")
        title = normalise_title(doc.title)
        if len(title.split()) >= MIN_TITLE_WORDS:
            keys.append(f"title:{title}")
        original = next((first_by_key[k] for k in keys if k in first_by_key), None)
        if original is not None:
            duplicate_of[doc.id] = original
        for key in keys:
            first_by_key.setdefault(key, original or doc.id)
    return duplicate_of
