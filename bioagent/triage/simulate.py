"""ASReview-style simulation: replay a labelled set to measure how early a ranker finds the includes.

Start from one random include and one random exclude, then repeatedly retrain, screen the ``retrain_every``
highest-ranked unscreened records, and reveal their labels. Once every include has been found the remaining
records follow the last ranking (ASReview's ``stop_if="min"``), so the order still lists every record once.
Each stopping rule (:mod:`bioagent.triage.stopping`) is then replayed over that order, checked after every batch
of ``retrain_every`` labels: where it would have stopped, the recall there and the work saved there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bioagent.errors import BioagentError
from bioagent.triage.metrics import recall_curve, summarise
from bioagent.triage.rankers import Ranker
from bioagent.triage.stopping import StoppingRule, default_rules, stopping_outcomes


@dataclass
class SimulationResult:
    """Screening order (record indices), relevance in that order, and the summary figures."""

    order: list[int]
    found: list[int]
    metrics: dict[str, Any]
    method: str
    seed: int
    retrain_every: int
    seconds: float
    prior: list[int] = field(default_factory=list)
    stopping: dict[str, dict[str, float | int]] = field(default_factory=dict)


def simulate(
    y_true: Sequence[int] | np.ndarray,
    ranker: Ranker,
    seed: int = 0,
    retrain_every: int = 1,
    progress: Callable[[int], None] | None = None,
    rules: Sequence[StoppingRule] | None = None,
) -> SimulationResult:
    """Replay ``y_true`` (0/1 per record) with ``ranker``; reproducible for a given seed.

    ``rules`` are the stopping rules to replay (default: :func:`~bioagent.triage.stopping.default_rules`).
    """
    y = np.asarray(y_true, dtype=int)
    if y.sum() == 0 or y.sum() == y.size:
        raise BioagentError("simulation needs at least one include and one exclude in the label column")
    if retrain_every < 1:
        raise BioagentError("--retrain-every must be at least 1")
    start = time.perf_counter()
    tiebreak, prior = starting_records(y, seed)
    order = list(prior)
    screened = np.zeros(y.size, dtype=bool)
    screened[prior] = True
    left = int(y.sum()) - 1
    scores = np.zeros(y.size)
    while left > 0:
        labeled = np.asarray(order)
        scores = ranker.score(labeled, y[labeled])
        for index in _ranked_unscreened(scores, tiebreak, screened)[:retrain_every]:
            order.append(int(index))
            screened[index] = True
            left -= int(y[index])
            if left == 0:
                break
        if progress:
            progress(len(order))
    order.extend(int(i) for i in _ranked_unscreened(scores, tiebreak, screened))
    found = [int(y[i]) for i in order]
    return SimulationResult(
        order=order,
        found=found,
        metrics=summarise(found),
        method=ranker.name,
        seed=seed,
        retrain_every=retrain_every,
        seconds=round(time.perf_counter() - start, 3),
        prior=prior,
        stopping=stopping_outcomes(found, default_rules() if rules is None else rules, retrain_every),
    )


def starting_records(y: np.ndarray, seed: int) -> tuple[np.ndarray, list[int]]:
    """The seed's tie-breaking order and its starting include and exclude (record indices).

    The benchmark gives ASReview the same two records, so both tools start from the same labels.
    """
    rng = np.random.default_rng(seed)
    tiebreak = rng.permutation(y.size)  # random but fixed order among equal scores
    return tiebreak, [int(rng.choice(np.flatnonzero(y == 1))), int(rng.choice(np.flatnonzero(y == 0)))]


def _ranked_unscreened(scores: np.ndarray, tiebreak: np.ndarray, screened: np.ndarray) -> np.ndarray:
    """Unscreened record indices, best score first (ties in the seed's random order)."""
    candidates = np.flatnonzero(~screened)
    keys = np.lexsort((tiebreak[candidates], -np.asarray(scores)[candidates]))
    return candidates[keys]


def write_outputs(
    result: SimulationResult, record_ids: Sequence[str], out_dir: str | Path, **info: Any
) -> Path:
    """Write ``order.csv`` (column ``record_id``), ``report.json`` and ``recall.png`` into ``out_dir``."""
    import csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "order.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["record_id", "label"])
        writer.writerows([record_ids[i], result.found[n]] for n, i in enumerate(result.order))
    report = {
        "method": result.method,
        "seed": result.seed,
        "retrain_every": result.retrain_every,
        "seconds": result.seconds,
        "prior_records": [record_ids[i] for i in result.prior],
        **result.metrics,
        "stopping": result.stopping,
        **info,
        "note": "screening stops retraining once every include is found; the rest follow the last ranking",
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plot_recall_curves({result.method: result.found}, out / "recall.png")
    return out


def plot_recall_curves(curves: dict[str, Sequence[int]], path: str | Path, title: str = "") -> Path:
    """Recall against share of records screened, one line per method, with the random-order diagonal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    for label, found in curves.items():
        x, y = recall_curve(found)
        ax.plot(x, y, label=label)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="random")
    ax.axhline(0.95, color="lightgrey", linewidth=0.8)
    ax.set(xlabel="share of records screened", ylabel="recall (includes found)", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title(title or "Recall curve")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
