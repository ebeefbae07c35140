"""Stopping rules: the hypergeometric test against a direct computation and by its false-stop rate; heuristics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bioagent.errors import BioagentError
from bioagent.triage.stopping import (
    ConsecutiveExcludesStop,
    HypergeometricStop,
    SafeStop,
    first_stop,
    hypergeometric_p,
    recall_bound,
    stopping_outcomes,
)


def _direct_p(found: list[int], total: int, target: float) -> float:
    """The same test written out with binomial coefficients: min over windows of P(X <= k), K the least
    number of includes the window plus the unscreened records hold when recall < target."""
    r = sum(found)
    best = 1.0
    for n in range(1, len(found) + 1):
        k = sum(found[-n:])
        urn = n + total - len(found)
        least = math.floor(r / target) + 1 - (r - k)
        if least > urn:
            return 0.0
        p = sum(math.comb(least, i) * math.comb(urn - least, n - i) for i in range(0, k + 1)) / math.comb(
            urn, n
        )
        best = min(best, p)
    return best


@pytest.mark.parametrize("seed", range(5))
def test_p_value_matches_the_direct_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    total = int(rng.integers(40, 90))
    found = (rng.random(int(rng.integers(5, total))) < 0.3).astype(int).tolist()
    for target in (0.8, 0.95):
        assert hypergeometric_p(found, total, target) == pytest.approx(
            _direct_p(found, total, target), abs=1e-9
        )


def test_no_include_found_means_no_evidence() -> None:
    assert hypergeometric_p([0] * 50, 100, 0.95) == 1.0
    assert recall_bound([0] * 50, 100, 0.95) == 0.0


def test_false_stops_stay_near_the_stated_rate_on_random_orders() -> None:
    """With records screened in random order (the test's own assumption), stopping below the target recall
    must happen in at most about 1 - confidence of the runs."""
    rng = np.random.default_rng(11)
    rule = HypergeometricStop(target=0.9, confidence=0.9)
    labels = np.zeros(300, dtype=int)
    labels[:30] = 1
    early = 0
    runs = 100
    for _ in range(runs):
        found = rng.permutation(labels)
        stop = first_stop(found, rule, every=5)
        early += found[:stop].sum() / 30 < 0.9
    assert early / runs <= 0.1 + 0.05  # 0.1 allowed, plus sampling slack


def test_a_good_ranking_stops_well_before_the_end_with_high_recall() -> None:
    rng = np.random.default_rng(3)
    y = np.zeros(2000, dtype=int)
    y[:60] = 1
    found = y[np.argsort(-(rng.random(2000) + 1.5 * y))]
    outcome = stopping_outcomes(found, [HypergeometricStop()])["hypergeometric"]
    assert outcome["recall"] >= 0.95
    assert 0.2 < outcome["work_saved"] < 1.0


def test_recall_bounds_are_ordered_and_track_the_truth() -> None:
    rng = np.random.default_rng(5)
    y = np.zeros(1000, dtype=int)
    y[:50] = 1
    found = y[np.argsort(-(rng.random(1000) + 1.0 * y))][:600]
    rule = HypergeometricStop(0.95, 0.95)
    check = rule.check(found, 1000)
    true_recall = found.sum() / 50
    assert check.recall_lower_bound is not None and check.recall_estimate is not None
    assert check.recall_lower_bound <= check.recall_estimate <= 1.0
    assert check.recall_lower_bound <= true_recall + 1e-9


@pytest.mark.parametrize(
    "rule", [HypergeometricStop(0.9, 0.9), ConsecutiveExcludesStop(run=7), SafeStop(min_share=0.2, run=5)]
)
@pytest.mark.parametrize("every", [1, 3])
def test_first_stop_matches_checking_every_batch(rule, every: int) -> None:
    rng = np.random.default_rng(every)
    for _ in range(10):
        found = (rng.random(120) < rng.uniform(0.05, 0.4)).astype(int)
        expected = next(
            (n for n in [*range(every, found.size, every), found.size] if rule.stops(found[:n], found.size)),
            found.size,
        )
        assert first_stop(found, rule, every) == expected


def test_heuristics_stop_where_they_say() -> None:
    found = [1, 0, 1] + [0] * 10 + [1] + [0] * 30
    assert first_stop(found, ConsecutiveExcludesStop(run=10)) == 13  # ten excludes after the second include
    safe = SafeStop(min_share=0.5, run=10)
    # half the records (22) are screened before the streak after the third include (position 14) reaches 10
    assert first_stop(found, safe) == 24
    assert not safe.check(found[:13], len(found)).stop  # the streak alone is not enough


def test_every_rule_stops_once_everything_is_screened() -> None:
    for rule in (HypergeometricStop(), ConsecutiveExcludesStop(), SafeStop()):
        assert rule.check([1, 0, 1, 1], 4).stop


@pytest.mark.parametrize("target, confidence", [(1.0, 0.95), (0.95, 0.0), (-0.1, 0.9)])
def test_bad_targets_are_refused(target: float, confidence: float) -> None:
    with pytest.raises(BioagentError, match="between 0 and 1"):
        HypergeometricStop(target, confidence)


def test_more_labels_than_records_is_an_error() -> None:
    with pytest.raises(BioagentError, match="labels for a pool of 2"):
        HypergeometricStop().check([1, 0, 0], 2)
