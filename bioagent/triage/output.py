"""The ranked CSV: one row per input record, written as records are decided so that a rerun can resume."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

from bioagent.errors import BioagentError
from bioagent.triage.records import RecordSet
from bioagent.types import CriterionCheck, TriageDecision

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


def read_decided(path: str | Path) -> dict[str, TriageDecision]:
    """Decisions already in an output CSV (an earlier, possibly interrupted run); empty if there is none."""
    path = Path(path)
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
        decided = {}
        for row in reader:
            if row["decision"] in ("include", "exclude", "unsure") and not row.get("duplicate_of"):
                checks = [CriterionCheck(**c) for c in json.loads(row["checks"] or "[]")]
                decided[row["record_id"]] = TriageDecision(
                    record_id=row["record_id"],
                    rank=0,
                    score=0.0,
                    decision=row["decision"],  # type: ignore[arg-type]
                    checks=checks,
                    model=row.get("model", ""),
                )
    return decided


class ResumableWriter:
    """Appends each decision as it is made (flushed), then rewrites the file in rank order at the end."""

    def __init__(self, path: str | Path, records: RecordSet, kept: Sequence[TriageDecision] = ()) -> None:
        self.path = Path(path)
        self.records = records
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("w", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._fh, fieldnames=COLUMNS)
        self._writer.writeheader()
        for decision in kept:
            self._writer.writerow(decision_row(decision, records))
        self._fh.flush()

    def append(self, decision: TriageDecision) -> None:
        self._writer.writerow(decision_row(decision, self.records))
        self._fh.flush()

    def finish(self, decisions: Sequence[TriageDecision]) -> None:
        self._fh.close()
        write_decisions(self.path, decisions, self.records)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()


def write_decisions(path: str | Path, decisions: Sequence[TriageDecision], records: RecordSet) -> Path:
    """Write all decisions (one row per record) atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(decision_row(d, records) for d in decisions)
    tmp.replace(path)
    return path
