"""Screening metrics over a screening order: WSS@R, recall after screening a fraction, recall curves.

``found`` is the 0/1 relevance of the records in the order they were screened (priors first). Definitions:

- recall@f: includes found in the first ceil(f*N) records / all includes.
- WSS@R (Cohen 2006, as ASReview computes it): (N - n_R)/N - (1 - R), where n_R is the number of records
  screened when ceil(R*P) of the P includes have been found.
- n_all: records screened to find every include.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _as_array(found: Sequence[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(found, dtype=int)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("a screening order needs at least one record")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError("relevance labels must be 0 or 1")
    return arr


def screened_to_find(found: Sequence[int] | np.ndarray, n_includes: int) -> int:
    """Records screened until ``n_includes`` includes have been seen (1-based position)."""
    arr = _as_array(found)
    if n_includes <= 0:
        return 0
    hits = np.flatnonzero(arr)
    if n_includes > hits.size:
        raise ValueError(f"only {hits.size} includes in the order, asked for {n_includes}")
    return int(hits[n_includes - 1]) + 1


def wss(found: Sequence[int] | np.ndarray, recall: float = 0.95) -> float:
    """Work saved over sampling at the given recall."""
    arr = _as_array(found)
    positives = int(arr.sum())
    if positives == 0:
        raise ValueError("WSS needs at least one include")
    needed = math.ceil(recall * positives - 1e-9)
    n_screened = screened_to_find(arr, needed)
    return (arr.size - n_screened) / arr.size - (1.0 - recall)


def recall_at(found: Sequence[int] | np.ndarray, fraction: float) -> float:
    """Share of includes found after screening the first ceil(fraction*N) records."""
    arr = _as_array(found)
    positives = int(arr.sum())
    if positives == 0:
        raise ValueError("recall needs at least one include")
    cutoff = math.ceil(fraction * arr.size - 1e-9)
    return float(arr[:cutoff].sum()) / positives


def recall_curve(found: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fraction screened, recall) after each screened record, starting at (0, 0)."""
    arr = _as_array(found)
    positives = max(int(arr.sum()), 1)
    x = np.arange(arr.size + 1) / arr.size
    y = np.concatenate([[0.0], np.cumsum(arr) / positives])
    return x, y


def summarise(found: Sequence[int] | np.ndarray) -> dict[str, float | int]:
    """The figures ``triage simulate`` prints."""
    arr = _as_array(found)
    return {
        "records": int(arr.size),
        "includes": int(arr.sum()),
        "wss@95": round(wss(arr, 0.95), 4),
        "recall@10%": round(recall_at(arr, 0.10), 4),
        "recall@25%": round(recall_at(arr, 0.25), 4),
        "screened_to_find_all": screened_to_find(arr, int(arr.sum())),
    }
