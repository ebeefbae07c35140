"""Where a screening stands: PRISMA-style counts, the recall estimate and each stopping rule's verdict.

The counts follow the PRISMA 2020 flow boxes for screening: records identified, duplicates removed (here: set
aside and reported), records screened, excluded and included so far, and the records not yet screened. The stop
decision is the statistical rule's (:class:`~bioagent.triage.stopping.HypergeometricStop`); the heuristics are
reported beside it for comparison.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bioagent.atomic import replace_atomically
from bioagent.triage.duplicates import duplicate_summary
from bioagent.triage.records import RecordSet
from bioagent.triage.stopping import HypergeometricStop, StopCheck, StoppingRule, default_rules


@dataclass
class ScreeningReport:
    """PRISMA-style counts and the stopping verdicts after the labels so far."""

    identified: int
    duplicates: int
    without_text: int
    screened: int
    included: int
    excluded: int
    remaining: int
    target_recall: float
    confidence: float
    checks: list[StopCheck] = field(default_factory=list)
    duplicate_note: str = ""

    @property
    def statistical(self) -> StopCheck:
        """The statistical rule's verdict (the stop decision)."""
        return next(c for c in self.checks if c.rule == HypergeometricStop.name)

    @property
    def may_stop(self) -> bool:
        return self.statistical.stop

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [c.as_dict() for c in self.checks]
        data["may_stop"] = self.may_stop
        return data

    def text(self) -> str:
        """A few lines for the terminal."""
        stat = self.statistical
        lines = [
            f"records identified {self.identified:,}; {self.duplicate_note}; {self.without_text:,} without "
            "title or abstract",
            f"screened {self.screened:,}: {self.included:,} included, {self.excluded:,} excluded; "
            f"{self.remaining:,} not yet screened",
            f"recall so far: estimate {stat.recall_estimate:.0%}, at least {stat.recall_lower_bound:.0%} with "
            f"{self.confidence:.0%} confidence"
            if self.included
            else "recall so far: unknown until an include is labelled",
            f"stop at {self.target_recall:.0%} recall ({self.confidence:.0%} confidence): "
            f"{'YES, you may stop' if stat.stop else 'not yet'} ({stat.reason})",
        ]
        lines += [
            f"  heuristic {c.rule}: {'stop' if c.stop else 'go on'} ({c.reason})"
            for c in self.checks
            if c is not stat
        ]
        return "\n".join(lines)


def screening_report(
    records: RecordSet,
    labels: Mapping[str, int] | Sequence[tuple[str, int]],
    target_recall: float = 0.95,
    confidence: float = 0.95,
    rules: Sequence[StoppingRule] | None = None,
) -> ScreeningReport:
    """The report for ``labels`` given in the order they were made (a dict keeps insertion order).

    Duplicates are left out of the pool (they are screened through their original); records without title or
    abstract stay in it as unscreened, which only makes the statistical rule more cautious.
    """
    pairs = list(labels.items()) if isinstance(labels, Mapping) else list(labels)
    ordered = [value for rid, value in pairs if rid not in records.duplicate_of]
    found = np.asarray(ordered, dtype=int)
    pool = len(records) - len(records.duplicate_of)
    checks = [rule.check(found, pool) for rule in (rules or default_rules(target_recall, confidence))]
    if not any(c.rule == HypergeometricStop.name for c in checks):
        checks.insert(0, HypergeometricStop(target_recall, confidence).check(found, pool))
    return ScreeningReport(
        identified=len(records),
        duplicates=len(records.duplicate_of),
        without_text=len(records.problems),
        screened=int(found.size),
        included=int(found.sum()),
        excluded=int(found.size - found.sum()),
        remaining=pool - int(found.size),
        target_recall=target_recall,
        confidence=confidence,
        checks=checks,
        duplicate_note=duplicate_summary(records.duplicate_key),
    )


def write_report(path: str | Path, report: ScreeningReport) -> Path:
    """Write the report as JSON (atomically)."""
    payload = json.dumps(report.as_dict(), indent=2) + "\n"
    return replace_atomically(Path(path), lambda fh: fh.write(payload), text=True)
