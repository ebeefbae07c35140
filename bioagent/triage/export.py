"""Export the ranked and labelled records for a reference manager: RIS with the screening decision kept.

Where the decision goes, and why: reference managers drop RIS tags they do not know, but all of Zotero, EndNote
and Rayyan keep ``KW`` (Zotero: tags; EndNote: Keywords; Rayyan: keywords) and ``N1`` (Zotero: a child note;
EndNote: Notes; Rayyan: notes). So each record gets a keyword that can be filtered on, ``screening: included`` /
``screening: excluded`` for the reviewer's labels and ``screening: suggested include`` (``exclude``,
``unsure``) for the model's suggestions, plus a note with the rank, score, who decided and, for duplicates, the
original. ``AN`` carries the PMID and ``ID`` the record id, which is how ``load_records`` reads the file back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from bioagent.atomic import replace_atomically
from bioagent.errors import require
from bioagent.triage.duplicates import record_doi, record_pmid
from bioagent.triage.records import RecordSet
from bioagent.types import Document, TriageDecision

KEYWORD_PREFIX = "screening: "
LABELLED = {"include": "included", "exclude": "excluded"}


def screening_keyword(decision: TriageDecision) -> str:
    """``screening: included`` for a reviewer's label, ``screening: suggested include`` for a model's call."""
    if decision.model == "label":
        return KEYWORD_PREFIX + LABELLED[decision.decision]
    return f"{KEYWORD_PREFIX}suggested {decision.decision}"


def screening_note(decision: TriageDecision) -> str:
    """The N1 note: rank, score, the decision, who made it, and the original of a duplicate."""
    who = "reviewer's label" if decision.model == "label" else f"suggested by {decision.model or 'bioagent'}"
    note = f"bioagent triage: rank {decision.rank}, score {decision.score:.4f}, {decision.decision} ({who})"
    if decision.duplicate_of:
        note += f"; duplicate of {decision.duplicate_of}, screened once"
    return note


def ris_entry(doc: Document, decision: TriageDecision) -> dict[str, Any]:
    """One rispy entry: the bibliographic fields the record has, and the decision in KW and N1."""
    meta = doc.metadata
    authors = meta.get("authors") or []
    entry: dict[str, Any] = {
        "type_of_reference": "JOUR",
        "id": doc.id,
        "title": doc.title,
        "abstract": doc.text,
        "authors": [authors] if isinstance(authors, str) else [str(a) for a in authors],
        "year": str(meta.get("year") or meta.get("Publication Year") or ""),
        "journal_name": str(meta.get("journal") or meta.get("Journal/Book") or ""),
        "doi": record_doi(doc) or "",
        "accession_number": record_pmid(doc) or "",
        "keywords": [*map(str, meta.get("keywords") or []), screening_keyword(decision)],
        "notes": [screening_note(decision)],
    }
    return {key: value for key, value in entry.items() if value not in ("", [])}


def _plain_writer(rispy: Any) -> type:
    """rispy's RIS writer without the ``1.`` line it puts before each record (strict importers expect ``TY``)."""

    class PlainRisWriter(rispy.RisWriter):
        def set_header(self, count: int) -> str:
            return ""

    return PlainRisWriter


def write_ris(path: str | Path, decisions: Sequence[TriageDecision], records: RecordSet) -> Path:
    """Write the decisions in rank order as RIS (atomically); needs the ``triage`` extra (rispy)."""
    rispy = require("rispy", "rispy", "triage", "Writing RIS files")
    entries = []
    for decision in sorted(decisions, key=lambda d: d.rank):
        doc = records.get(decision.record_id)
        if doc is not None:
            entries.append(ris_entry(doc, decision))
    text = rispy.dumps(entries, implementation=_plain_writer(rispy))  # type: ignore[attr-defined]

    def write(fh: IO[Any]) -> None:
        fh.write(text)

    return replace_atomically(Path(path), write, text=True)
