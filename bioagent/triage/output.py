"""The ranked CSV: one row per input record; a journal of the decisions made so far lets a rerun resume."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from bioagent.atomic import replace_atomically
from bioagent.errors import BioagentError
from bioagent.triage.durable import AppendLog
from bioagent.triage.records import RecordSet
from bioagent.types import CriterionCheck, TriageDecision

logger = logging.getLogger(__name__)
JOURNAL_SUFFIX = ".partial.jsonl"
COLUMNS = [
    "record_id",
    "rank",
    "score",
    "decision",
    "matched",
    "violated",
    "evidence",
    "model",
    "duplicate_of",
    "note",
    "title",
    "checks",
]


def violated(check: CriterionCheck) -> bool:
    """An inclusion criterion not met, or an exclusion criterion met."""
    return check.met == (check.kind == "exclusion")


def decision_row(decision: TriageDecision, records: RecordSet) -> dict[str, str]:
    """One CSV row: criteria matched/violated with the sentence supporting each."""
    doc = records.get(decision.record_id)
    relevant = [c for c in decision.checks if c.kind == "inclusion" or c.met]
    note = records.problems.get(decision.record_id, "")
    if decision.duplicate_of:
        note = f"duplicate of {decision.duplicate_of}; screened once"
    return {
        "record_id": decision.record_id,
        "rank": str(decision.rank),
        "score": f"{decision.score:.4f}",
        "decision": decision.decision,
        "matched": " | ".join(c.criterion for c in relevant if not violated(c)),
        "violated": " | ".join(c.criterion for c in relevant if violated(c)),
        "evidence": " | ".join(
            f"[{'violated' if violated(c) else 'matched'}] {c.evidence}" for c in relevant if c.evidence
        ),
        "model": decision.model,
        "duplicate_of": decision.duplicate_of or "",
        "note": note,
        "title": doc.title if doc else "",
        "checks": json.dumps([c.model_dump() for c in decision.checks], ensure_ascii=False),
    }


def journal_path(path: str | Path) -> Path:
    """Where a run keeps the decisions made so far: ``<out>.partial.jsonl`` beside the output."""
    path = Path(path)
    return path.with_name(path.name + JOURNAL_SUFFIX)


def read_decided(path: str | Path) -> dict[str, TriageDecision]:
    """Decisions of an earlier run: its journal if it was interrupted, else the output CSV; empty if neither.

    A torn last line or row (a write cut short by a crash) is skipped with a warning; that record is screened
    again.
    """
    journal = AppendLog(journal_path(path))
    if journal.path.exists():
        return {d.record_id: d for d in journal.read(TriageDecision.model_validate)}
    return _read_output(Path(path))


def _read_output(path: Path) -> dict[str, TriageDecision]:
    """Screened rows of an output CSV (also one an older version left half-written)."""
    if not path.exists() or path.stat().st_size == 0:
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("record_id", "decision", "checks") if c not in (reader.fieldnames or [])]
        if missing:
            raise BioagentError(
                f"{path} exists but is not a triage output (no {', '.join(missing)} column); "
                "choose another --out or pass --restart"
            )
        rows = list(reader)
    decided = {}
    for number, row in enumerate(rows, start=1):
        try:
            decision = _row_decision(row)
        except (ValueError, TypeError) as exc:
            if number < len(rows):
                raise BioagentError(
                    f"{path}, row {number}: damaged ({exc}); fix or delete that row, or pass --restart"
                ) from exc
            logger.warning(
                "%s: skipped a torn last row (a write cut short by a crash); it is screened again", path
            )
            continue
        if decision is not None:
            decided[decision.record_id] = decision
    return decided


def _row_decision(row: dict[str, str | None]) -> TriageDecision | None:
    """The decision a row holds, None for duplicates and rows not screened; ValueError for a cut-off row."""
    if any(value is None for value in row.values()):
        raise ValueError("fewer columns than the header")
    if row["decision"] not in ("include", "exclude", "unsure") or row.get("duplicate_of"):
        return None
    checks = [CriterionCheck(**c) for c in json.loads(row["checks"] or "[]")]
    return TriageDecision(
        record_id=str(row["record_id"]),
        rank=0,
        score=0.0,
        decision=row["decision"],  # type: ignore[arg-type]
        checks=checks,
        model=row.get("model") or "",
    )


class ResumableWriter:
    """Keeps a run resumable without ever truncating what an earlier run wrote.

    Decisions go to a journal beside the output (:func:`journal_path`, one JSON decision per line, flushed as
    each is made, so a killed run loses none); :meth:`finish` writes the output CSV in rank order under a
    temporary name, renames it over the old one and removes the journal. Until then the previous output stays
    as it was.
    """

    def __init__(self, path: str | Path, records: RecordSet, kept: Sequence[TriageDecision] = ()) -> None:
        """Start a journal holding ``kept`` (it replaces an earlier journal atomically)."""
        self.path = Path(path)
        self.records = records
        self._journal = AppendLog(journal_path(self.path), sync=False)
        self._journal.rewrite(d.model_dump(mode="json") for d in kept)

    def append(self, decision: TriageDecision) -> None:
        """Journal one decision (flushed to the operating system before returning)."""
        self._journal.append([decision.model_dump(mode="json")])

    def finish(self, decisions: Sequence[TriageDecision]) -> None:
        """Replace the output with all decisions, then drop the journal."""
        write_decisions(self.path, decisions, self.records)
        self._journal.remove()


def write_decisions(path: str | Path, decisions: Sequence[TriageDecision], records: RecordSet) -> Path:
    """Write all decisions (one row per record) atomically: the old file stays whole until the new one is."""

    def write(fh: IO[Any]) -> None:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(decision_row(d, records) for d in decisions)

    return replace_atomically(Path(path), write, text=True)
