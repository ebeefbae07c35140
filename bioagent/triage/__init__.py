"""Literature triage: rank records against screening criteria, learn from labels, check criteria, simulate.

Entry points: :func:`triage` (one decision per record), :class:`TriageSession` (human-in-the-loop labelling,
with :meth:`~TriageSession.report` saying when the reviewer may stop), :func:`simulate` (ASReview-style replay of
a labelled set), :func:`screening_report` (PRISMA-style counts and the stop decision), :func:`write_ris`, the
stopping rules in :mod:`bioagent.triage.stopping` and the metrics in :mod:`bioagent.triage.metrics`.
"""

from bioagent.triage.criteria import Criteria, load_criteria
from bioagent.triage.export import write_ris
from bioagent.triage.metrics import recall_at, summarise, wss
from bioagent.triage.pipeline import triage
from bioagent.triage.records import RecordSet, load_records, read_labels
from bioagent.triage.report import ScreeningReport, screening_report
from bioagent.triage.session import TriageSession
from bioagent.triage.simulate import SimulationResult, simulate
from bioagent.triage.stopping import HypergeometricStop

__all__ = [
    "Criteria",
    "HypergeometricStop",
    "RecordSet",
    "ScreeningReport",
    "SimulationResult",
    "TriageSession",
    "load_criteria",
    "load_records",
    "read_labels",
    "recall_at",
    "screening_report",
    "simulate",
    "summarise",
    "triage",
    "write_ris",
    "wss",
]
