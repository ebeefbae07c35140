"""Duplicate records as screening practice finds them: the same PMID, the same DOI, or the same normalised title.

Later copies point at the first one, and every match keeps the key it was found by, so that a report can say
why a record was set aside (``pmid``, ``doi`` or ``title``). Nothing is dropped: duplicates stay in the outputs,
marked, and are screened once through their original.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bioagent.triage.text import normalise_title
from bioagent.types import Document

MIN_TITLE_WORDS = 4  # shorter titles ("Editorial", "Letter") are too generic to call duplicates
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_PMID_KEYS = {"pmid", "pubmedid"}


@dataclass(frozen=True)
class Duplicate:
    """A later copy of ``original``, matched on ``key`` (``pmid``, ``doi`` or ``title``)."""

    original: str
    key: str


def record_pmid(doc: Document) -> str | None:
    """The PMID of a record: metadata 'pmid' (or a CSV 'PMID'/'pubmedID'-like column), or the id of PubMed
    records."""
    for key, value in doc.metadata.items():
        if key.lower().replace("_", "") in _PMID_KEYS and str(value).strip():
            return _clean_pmid(value)
    if doc.source == "pubmed" and doc.id.isdigit():
        return doc.id
    return None


def record_doi(doc: Document) -> str | None:
    """The DOI of a record, lower-cased and without a ``https://doi.org/`` or ``doi:`` prefix."""
    for key, value in doc.metadata.items():
        if key.lower() == "doi" and str(value).strip():
            return _DOI_PREFIX.sub("", str(value).strip()).lower() or None
    return None


def _clean_pmid(value: object) -> str | None:
    text = str(value).strip()
    if text.endswith(".0"):  # CSV tools write numbers as floats
        text = text[:-2]
    return text if text.isdigit() else None


def _keys(doc: Document) -> list[tuple[str, str]]:
    keys = []
    if pmid := record_pmid(doc):
        keys.append(("pmid", pmid))
    if doi := record_doi(doc):
        keys.append(("doi", doi))
    title = normalise_title(doc.title)
    if len(title.split()) >= MIN_TITLE_WORDS:
        keys.append(("title", title))
    return keys


def find_duplicate_matches(records: Sequence[Document]) -> dict[str, Duplicate]:
    """``{record id: Duplicate}`` for every later copy: the first record it shares a PMID, DOI or title with."""
    first_by_key: dict[tuple[str, str], str] = {}
    found: dict[str, Duplicate] = {}
    for doc in records:
        keys = _keys(doc)
        match = next(((key, first_by_key[key]) for key in keys if key in first_by_key), None)
        if match is not None:
            found[doc.id] = Duplicate(original=match[1], key=match[0][0])
        for key in keys:
            first_by_key.setdefault(key, match[1] if match else doc.id)
    return found


def duplicate_summary(keys: Mapping[str, str]) -> str:
    """One line for the user from ``{record id: key matched on}``, e.g. '3 duplicates set aside (2 by PMID, 1 by
    title); each is screened once, through its original'."""
    if not keys:
        return "no duplicates found (by PMID, DOI or title)"
    by_key = Counter(keys.values())
    parts = ", ".join(f"{n} by {key if key == 'title' else key.upper()}" for key, n in sorted(by_key.items()))
    noun = "duplicate" if len(keys) == 1 else "duplicates"
    return f"{len(keys)} {noun} set aside ({parts}); each is screened once, through its original"
