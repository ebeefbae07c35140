"""Literature triage: rank records against screening criteria, learn from labels, check criteria, simulate.

Entry points: :func:`triage` (one decision per record), :class:`TriageSession` (human-in-the-loop labelling),
:func:`simulate` (ASReview-style replay of a labelled set), and the metrics in :mod:`bioagent.triage.metrics`.
"""

import sys
import types
from typing import Any

from bioagent.triage.criteria import Criteria, load_criteria
from bioagent.triage.metrics import recall_at, summarise, wss
from bioagent.triage.pipeline import triage
from bioagent.triage.records import RecordSet, load_records, read_labels
from bioagent.triage.session import TriageSession
from bioagent.triage.simulate import SimulationResult, simulate

__all__ = [
    "Criteria",
    "RecordSet",
    "SimulationResult",
    "TriageSession",
    "load_criteria",
    "load_records",
    "read_labels",
    "recall_at",
    "simulate",
    "summarise",
    "triage",
    "wss",
]


class _CallableTriageModule(types.ModuleType):
    """Makes ``bioagent.triage(records, criteria)`` call :func:`triage` while ``bioagent.triage.X`` stays usable."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return triage(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableTriageModule
