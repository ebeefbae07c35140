"""Human-in-the-loop screening: show the best-ranked unlabelled records, take labels, re-rank, know when to stop.

With a decision log every label is on disk (appended, flushed, fsynced) before :meth:`TriageSession.label`
returns, and a session opened on the same log resumes with all of them. :meth:`TriageSession.report` says after
any batch how far recall has got and whether the reviewer may stop at the target recall (the hypergeometric test
of Callaghan & Müller-Hansen 2020, see :mod:`bioagent.triage.stopping`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from bioagent.atomic import replace_atomically
from bioagent.errors import BioagentError
from bioagent.triage.criteria import Criteria
from bioagent.triage.durable import AppendLog
from bioagent.triage.engine import Screener
from bioagent.triage.export import write_ris
from bioagent.triage.pipeline import as_criteria, screen
from bioagent.triage.records import RecordSet, as_record_set, parse_label, read_labels
from bioagent.triage.report import ScreeningReport, screening_report
from bioagent.triage.stopping import HypergeometricStop
from bioagent.types import Document, TriageDecision

if TYPE_CHECKING:
    from bioagent.index.embedders import Embedder


LABEL_WORDS = {1: "include", 0: "exclude"}


class TriageSession:
    """Label records one batch at a time; the ranking learns from every ``retrain_every`` labels.

    ``decision_log`` (a JSON-lines file, created if missing) makes labels durable: each :meth:`label` is
    appended and fsynced before it returns, and a new session on the same log starts with every label in it
    (later lines win; a torn last line left by a crash is skipped with a warning). Its labels take precedence
    over ``labels`` and over files read with :meth:`load_labels`, being the later decisions.

    >>> session = TriageSession(records, criteria, decision_log="decisions.jsonl")   # doctest: +SKIP
    >>> for doc in session.next(5): session.label(doc.id, "include" if ok(doc) else "exclude")
    >>> session.report().may_stop, session.export_ris("screened.ris")            # doctest: +SKIP

    ``target_recall`` and ``confidence`` set the stopping test that :meth:`report` runs.
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
        decision_log: str | Path | None = None,
        target_recall: float = 0.95,
        confidence: float = 0.95,
    ) -> None:
        self.stop_rule = HypergeometricStop(target_recall, confidence)  # checks both values first
        self.records = as_record_set(records)
        self.criteria = as_criteria(criteria)
        self.embedder = embedder
        self.retrain_every = max(1, retrain_every)
        self.screener = Screener(self.records, self.criteria, embedder, cache_dir)
        self._log = None if decision_log is None else open_decision_log(decision_log)
        self._logged = {} if self._log is None else labels_in_log(self._log)
        self.labels: dict[str, int] = {**self.criteria.seed_labels(), **dict(labels or {}), **self._logged}
        self.screener.label_arrays(self.labels)  # fails early on unknown ids
        self._scores: np.ndarray | None = None
        self._labels_at_fit = -1

    def label(self, record_id: str, decision: str | int | bool) -> None:
        """Record a human decision: include/exclude, yes/no, 1/0 or True/False.

        With a decision log, the label is on disk (fsynced) when this returns; if writing fails, it raises
        and the label is not taken.
        """
        if record_id not in self.screener.index:
            raise BioagentError(f"no record with id '{record_id}'")
        value = parse_label(int(decision) if isinstance(decision, bool) else decision)
        if value is None:
            raise BioagentError(f"label for '{record_id}' must be include or exclude, not {decision!r}")
        if self._log is not None:
            self._log.append([{"record_id": record_id, "label": LABEL_WORDS[value]}])
            self._logged[record_id] = value
        self.labels[record_id] = value

    def load_labels(self, path: str | Path) -> int:
        """Add labels from a labels CSV (``record_id``, ``label``) or a decision log; returns how many were read.

        Labels already in this session's decision log are kept over the file's.
        """
        new = read_label_file(path, self.records)
        self.screener.label_arrays(new)  # unknown ids fail before anything changes
        self.labels.update(new)
        self.labels.update(self._logged)
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

    def report(self) -> ScreeningReport:
        """PRISMA-style counts, the recall estimate and whether the reviewer may stop (labels in the order made).

        The test assumes the records were screened best-ranked first, as :meth:`next` offers them.
        """
        return screening_report(self.records, self.labels, self.stop_rule.target, self.stop_rule.confidence)

    def export_ris(self, path: str | Path, method: str = "auto") -> Path:
        """Write every record in rank order as RIS, labels and suggestions kept as keywords and notes."""
        return write_ris(path, self.decisions(method), self.records)

    def decisions(self, method: str = "auto", progress: bool = False) -> list[TriageDecision]:
        """Decisions for every record given the labels so far (labelled records keep their label)."""
        return screen(self.screener, self.labels, method, progress=progress)

    def save_labels(self, path: str | Path) -> Path:
        """Write the labels as a CSV that ``--labels`` and :meth:`load_labels` read back.

        The file is replaced atomically: after a crash it holds either the previous labels or all of these.
        """

        def write(fh: IO[Any]) -> None:
            writer = csv.writer(fh)
            writer.writerow(["record_id", "label"])
            writer.writerows((rid, LABEL_WORDS[value]) for rid, value in self.labels.items())

        return replace_atomically(Path(path), write, text=True)


def is_decision_log(path: str | Path) -> bool:
    """True for a decision log (JSON lines: the first character is ``{``), False for a labels CSV."""
    if not Path(path).is_file():
        return False
    with Path(path).open("rb") as fh:
        return fh.read(4096).lstrip()[:1] == b"{"


def open_decision_log(path: str | Path) -> AppendLog:
    """The decision log at ``path`` (created on the first label); a labels CSV there is refused, not mixed in."""
    path = Path(path)
    if path.exists() and path.stat().st_size and not is_decision_log(path):
        raise BioagentError(
            f"{path} is a labels CSV, not a decision log; read it with load_labels() (or --labels) and give "
            "decision_log a new file, e.g. decisions.jsonl"
        )
    return AppendLog(path, sync=True)


def labels_in_log(log: AppendLog) -> dict[str, int]:
    """The labels in a decision log, a later line for the same record replacing an earlier one."""
    return dict(log.read(_log_entry))


def _log_entry(entry: dict[str, Any]) -> tuple[str, int]:
    value = parse_label(entry["label"])
    if value is None:
        raise ValueError(f"label {entry['label']!r} is neither include nor exclude")
    return str(entry["record_id"]), value


def read_label_file(path: str | Path, records: RecordSet) -> dict[str, int]:
    """Labels from a decision log, or from a labels CSV (:func:`read_labels`; what every version saved)."""
    if is_decision_log(path):
        return labels_in_log(AppendLog(path))
    return read_labels(path, records)
