"""Human-in-the-loop screening: show the best-ranked unlabelled records, take labels, re-rank."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bioagent.errors import BioagentError
from bioagent.triage.criteria import Criteria
from bioagent.triage.engine import Screener
from bioagent.triage.pipeline import as_criteria, screen
from bioagent.triage.records import RecordSet, as_record_set, parse_label, read_labels
from bioagent.types import Document, TriageDecision

if TYPE_CHECKING:
    from bioagent.index.embedders import Embedder


class TriageSession:
    """Label records one batch at a time; the ranking learns from every ``retrain_every`` labels.

    >>> session = TriageSession(records, criteria, embedder=HashEmbedder())   # doctest: +SKIP
    >>> for doc in session.next(5): session.label(doc.id, "include" if ok(doc) else "exclude")
    """

    def __init__(
        self,
        records: RecordSet | str | Path | Iterable[Document | Mapping[str, Any] | str],
        criteria: Criteria | Mapping[str, Any] | str | Path,
        *,
        embedder: Embedder | None = None,
        labels: Mapping[str, int] | None = None,
        retrain_every: int = 1,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.records = as_record_set(records)
        self.criteria = as_criteria(criteria)
        self.embedder = embedder
        self.retrain_every = max(1, retrain_every)
        self.screener = Screener(self.records, self.criteria, embedder, cache_dir)
        self.labels: dict[str, int] = {**self.criteria.seed_labels(), **dict(labels or {})}
        self.screener.label_arrays(self.labels)  # fails early on unknown ids
        self._scores: np.ndarray | None = None
        self._labels_at_fit = -1

    def label(self, record_id: str, decision: str | int | bool) -> None:
        """Record a human decision: include/exclude, yes/no, 1/0 or True/False."""
        if record_id not in self.screener.index:
            raise BioagentError(f"no record with id '{record_id}'")
        value = parse_label(int(decision) if isinstance(decision, bool) else decision)
        if value is None:
            raise BioagentError(f"label for '{record_id}' must be include or exclude, not {decision!r}")
        self.labels[record_id] = value

    def load_labels(self, path: str | Path) -> int:
        """Add labels from a CSV (``record_id``, ``label``); returns how many were read."""
        new = read_labels(path, self.records)
        self.labels.update(new)
        return len(new)

    def scores(self) -> np.ndarray:
        """Current ranking scores (retrained when enough new labels arrived)."""
        if self._scores is None or len(self.labels) - self._labels_at_fit >= self.retrain_every:
            labeled, y = self.screener.label_arrays(self.labels)
            self._scores = self.screener.ranker("auto", self.labels).score(labeled, y)
            self._labels_at_fit = len(self.labels)
        return self._scores

    def next(self, k: int = 1) -> list[Document]:
        """The ``k`` best-ranked records not labelled yet (duplicates and empty records skipped)."""
        skip = set(self.labels) | set(self.records.duplicate_of) | set(self.records.problems)
        order = np.argsort(-self.scores(), kind="stable")
        docs = self.records.records
        return [docs[i] for i in order if docs[i].id not in skip][:k]

    @property
    def progress(self) -> dict[str, int]:
        """Labelled so far, includes among them, and records left to screen."""
        return {
            "labelled": len(self.labels),
            "includes": sum(self.labels.values()),
            "remaining": len(self.records) - len(self.labels),
        }

    def decisions(self, method: str = "auto", progress: bool = False) -> list[TriageDecision]:
        """Decisions for every record given the labels so far (labelled records keep their label)."""
        return screen(self.screener, self.labels, method, progress=progress)

    def save_labels(self, path: str | Path) -> Path:
        """Write the labels as a CSV that ``--labels`` and :meth:`load_labels` read back."""
        path = Path(path)
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["record_id", "label"])
            writer.writerows((rid, "include" if value else "exclude") for rid, value in self.labels.items())
        return path
