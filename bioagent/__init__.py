"""bioagent: retrieval-augmented biomedical question answering.

Public API (imported lazily, so ``import bioagent`` stays light)::

    from bioagent import Agent, Settings, build_index, load_index, TriageSession
    from bioagent.api import triage          # screening: one decision per record
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Settings": "bioagent.settings",
    "Document": "bioagent.types",
    "Hit": "bioagent.types",
    "Answer": "bioagent.types",
    "TriageDecision": "bioagent.types",
    "build_index": "bioagent.api",
    "load_index": "bioagent.api",
    "Agent": "bioagent.agent",
    "TriageSession": "bioagent.triage",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'bioagent' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
