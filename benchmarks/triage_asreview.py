"""ASReview LAB as the peer in the screening benchmark: `asreview simulate` on a review, read back in order.

ASReview 3.0.8 (``pip install asreview==3.0.8``, the ``bench`` extra; it pins pandas 2, so it may need its own
virtualenv: pass its ``asreview`` with ``--asreview-bin``) is run with its default model, elas_u4 (linear SVM on
TF-IDF 1-2 grams, balanced sample weights, max querier), one record per query, ``--seed`` for the model, and
``--prior-idx`` set to the same starting include and exclude as ``bioagent triage simulate`` with that seed
(:func:`bioagent.triage.simulate.starting_records`).

``asreview simulate -o run.asreview`` writes a zip; its ``results.db`` (SQLite) has a ``results`` table with one
row per labelled record in labelling order (``record_id`` = the 0-based row of the input CSV, ``label`` 0/1) and a
``record`` table mapping ``record_id`` to ``dataset_row``. Without ``--n-stop`` ASReview stops at the last
include, so the unlabelled rest are excludes: the 0/1 sequence is padded with zeros, as ASReview's own metrics do.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from bioagent.triage.metrics import summarise
from bioagent.triage.simulate import starting_records

ASREVIEW_VERSION = "3.0.8"


def check_asreview(binary: str) -> str:
    """The path of the ``asreview`` executable, after checking its version; a one-line error otherwise."""
    path = shutil.which(binary)
    if path is None:
        raise SystemExit(
            f"--peer asreview: '{binary}' not found; install asreview=={ASREVIEW_VERSION} (e.g. in its own "
            "virtualenv) and pass --asreview-bin /path/to/bin/asreview"
        )
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
    if ASREVIEW_VERSION not in version:
        raise SystemExit(f"--peer asreview: {path} reports '{version.strip()}', expected {ASREVIEW_VERSION}")
    return path


def read_order(project: Path, size: int) -> list[int]:
    """0/1 labels in ASReview's labelling order, padded with zeros to ``size`` records."""
    with tempfile.TemporaryDirectory() as folder:
        with zipfile.ZipFile(project) as archive:
            archive.extract("results.db", folder)
        with sqlite3.connect(Path(folder) / "results.db") as db:
            rows = db.execute(
                "SELECT r.dataset_row, s.label FROM results s JOIN record r ON r.record_id = s.record_id "
                "ORDER BY s.rowid"
            ).fetchall()
            records = db.execute("SELECT COUNT(*) FROM record").fetchone()[0]
    if records != size:
        raise RuntimeError(f"{project}: ASReview read {records} records, bioagent {size}")
    return [int(label) for _, label in rows] + [0] * (size - len(rows))


def run_asreview(binary: str, data: Path, y: np.ndarray, seed: int) -> dict[str, Any]:
    """One ASReview simulation of the review in ``data`` (labels ``y``) with the seed's starting records."""
    _, prior = starting_records(y, seed)
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "run.asreview"
        command = [binary, "simulate", str(data), "--prior-idx", *map(str, prior), "--seed", str(seed)]
        started = time.perf_counter()
        done = subprocess.run([*command, "-o", str(project)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip().splitlines()[-1:]}")
        found = read_order(project, y.size)
    seconds = round(time.perf_counter() - started, 1)
    if found[:2] != [1, 0] or sum(found) != int(y.sum()):
        raise RuntimeError(f"{data.name} seed {seed}: ASReview's order does not start from the prior records")
    return {
        "found": found,
        "run": {
            "seed": seed,
            "seconds": seconds,
            **summarise(found),
        },
    }
