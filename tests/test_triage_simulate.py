"""ASReview-style simulation: order, reproducibility, outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from bioagent.errors import BioagentError
from bioagent.triage import load_criteria, load_records, simulate
from bioagent.triage.engine import Screener
from bioagent.triage.simulate import write_outputs

FIXTURES = Path(__file__).parent / "fixtures" / "triage"


@pytest.fixture()
def setup():
    records = load_records(FIXTURES / "records.csv")
    labels = records.column_labels("label_included")
    screener = Screener(records, load_criteria(FIXTURES / "criteria.yaml"))
    return records, np.array([labels[i] for i in records.ids]), screener


@pytest.mark.parametrize("method", ["active", "zero-shot", "tfidf-lr"])
def test_order_lists_every_record_once_and_starts_with_an_include_and_an_exclude(setup, method) -> None:
    records, y, screener = setup
    result = simulate(y, screener.ranker(method), seed=3, retrain_every=2)
    assert sorted(result.order) == list(range(len(records)))
    assert [y[i] for i in result.order[:2]] == [1, 0] and result.prior == result.order[:2]
    assert result.found == [int(y[i]) for i in result.order]
    assert result.metrics["records"] == len(records) and result.metrics["includes"] == int(y.sum())


def test_seeds_make_runs_reproducible(setup) -> None:
    _, y, screener = setup
    first = simulate(y, screener.ranker("active"), seed=7)
    again = simulate(y, screener.ranker("active"), seed=7)
    other = [simulate(y, screener.ranker("active"), seed=s).prior for s in range(6)]
    assert first.order == again.order
    assert len({tuple(p) for p in other}) > 1  # different seeds start from different records


def test_active_learning_beats_the_worst_case(setup) -> None:
    _, y, screener = setup
    result = simulate(y, screener.ranker("active"), seed=0)
    assert result.metrics["screened_to_find_all"] <= 9  # 6 includes among 12 records


def test_simulation_needs_both_classes(setup) -> None:
    _, y, screener = setup
    with pytest.raises(BioagentError, match="at least one include and one exclude"):
        simulate(np.ones_like(y), screener.ranker("active"))
    with pytest.raises(BioagentError, match="--retrain-every"):
        simulate(y, screener.ranker("active"), retrain_every=0)


def test_outputs_order_report_and_curve(setup, tmp_path: Path) -> None:
    records, y, screener = setup
    result = simulate(y, screener.ranker("active"), seed=1)
    out = write_outputs(result, records.ids, tmp_path / "sim", input="records.csv")
    with (out / "order.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["record_id"] for r in rows][:2] == [records.ids[i] for i in result.prior]
    assert sorted(r["record_id"] for r in rows) == sorted(records.ids)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["wss@95"] == result.metrics["wss@95"] and report["seed"] == 1
    assert (out / "recall.png").read_bytes()[:4] == b"\x89PNG"
