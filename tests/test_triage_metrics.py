"""Screening metrics on hand-checked toy orders."""

from __future__ import annotations

import pytest

from bioagent.triage.metrics import recall_at, recall_curve, screened_to_find, summarise, wss


def test_wss95_toy_example_by_hand() -> None:
    # 20 records, 4 includes screened at positions 1, 2, 5 and 10.
    # 95% recall needs ceil(0.95 * 4) = 4 includes -> 10 records screened.
    # WSS@95 = (20 - 10) / 20 - (1 - 0.95) = 0.5 - 0.05 = 0.45
    found = [1, 1, 0, 0, 1, 0, 0, 0, 0, 1] + [0] * 10
    assert wss(found, 0.95) == pytest.approx(0.45)
    # WSS@75: ceil(3) = 3 includes -> 5 screened -> 15/20 - 0.25 = 0.5
    assert wss(found, 0.75) == pytest.approx(0.50)


def test_wss_random_order_is_near_zero_and_perfect_order_is_high() -> None:
    perfect = [1] * 5 + [0] * 95
    assert wss(perfect) == pytest.approx(0.95 - 5 / 100)
    worst = [0] * 95 + [1] * 5
    assert wss(worst) == pytest.approx(-0.05)


def test_recall_at_fraction_uses_ceiling_of_records() -> None:
    found = [1, 1, 0, 0, 1, 0, 0, 0, 0, 1] + [0] * 10
    assert recall_at(found, 0.10) == pytest.approx(0.5)  # first 2 records hold 2 of 4
    assert recall_at(found, 0.25) == pytest.approx(0.75)  # first 5 records hold 3 of 4
    assert recall_at(found, 1.0) == 1.0


def test_screened_to_find_and_summary() -> None:
    found = [0, 1, 0, 1, 0]
    assert screened_to_find(found, 1) == 2
    assert screened_to_find(found, 2) == 4
    summary = summarise(found)
    assert summary["screened_to_find_all"] == 4
    assert summary["records"] == 5 and summary["includes"] == 2


def test_recall_curve_starts_at_origin_and_ends_at_one() -> None:
    x, y = recall_curve([0, 1, 1, 0])
    assert (x[0], y[0]) == (0.0, 0.0)
    assert (x[-1], y[-1]) == (1.0, 1.0)
    assert list(y) == [0.0, 0.0, 0.5, 1.0, 1.0]


@pytest.mark.parametrize("bad", [[], [0, 0, 0], [0, 2, 1]])
def test_metrics_reject_orders_without_includes_or_bad_labels(bad: list[int]) -> None:
    with pytest.raises(ValueError):
        wss(bad)
