"""When to stop screening: a statistical stopping test with a stated recall target, and two heuristics.

Every rule reads the labels in the order they were screened (1 = include, 0 = exclude) and the number of records
in the pool, and says whether the reviewer may stop.

- :class:`HypergeometricStop` (the statistical rule) is the test of Callaghan & Müller-Hansen (2020),
  "Statistical stopping criteria for automated screening in systematic reviews", *Systematic Reviews* 9:273.
  H0: recall so far is below the target τ. For every window of the last n screened records (k includes), the
  window plus the unscreened records form an urn that, under H0, holds at least K = ⌊r/τ⌋ - (r - k) + 1 includes
  (r = includes found). Drawing n from it and seeing k or fewer includes has probability
  ``hypergeom.cdf(k, urn, K, n)``; the smallest over all windows is the p-value, and the reviewer may stop when it
  is below 1 - confidence. Treating ranked records as a random draw is conservative as long as the ranking puts
  includes first more often than chance (the paper's argument); it is not when the ranking is worse than random.
- :class:`ConsecutiveExcludesStop`: stop after N excludes in a row. Weakness: no recall statement at all; N that
  suits 300 records stops far too early in 30,000, and a ranker that runs dry in one theme stops before the
  next theme's includes.
- :class:`SafeStop`: SAFE-style minimum screening (Boetje & van de Schoot 2024): screen at least a share of the
  records and twice the includes found, and then N excludes in a row. Weakness: the minimum share is a guess
  about prevalence; still no recall statement.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from bioagent.errors import BioagentError


@dataclass(frozen=True)
class StopCheck:
    """One rule's verdict after the labels so far.

    For the statistical rule, ``recall_lower_bound`` is the highest recall the test supports at the stated
    confidence and ``recall_estimate`` the same at 50% (a median-like estimate); the heuristics give neither.
    """

    rule: str
    stop: bool
    screened: int
    includes_found: int
    reason: str
    p_value: float | None = None
    recall_estimate: float | None = None
    recall_lower_bound: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class StoppingRule(Protocol):
    """Decides from the labels in screening order and the pool size whether screening may stop.

    Every rule here may only turn from "keep screening" to "stop" while excludes are added (never back), which
    :func:`first_stop` relies on to skip ahead.
    """

    @property
    def name(self) -> str: ...

    def stops(self, found: np.ndarray, total: int) -> bool: ...

    def check(self, found: Sequence[int] | np.ndarray, total: int) -> StopCheck: ...


def _labels(found: Sequence[int] | np.ndarray, total: int) -> np.ndarray:
    arr = np.asarray(found, dtype=int).ravel()
    if arr.size > total:
        raise BioagentError(f"{arr.size} labels for a pool of {total} records")
    return arr


def verdict_after(rule: str, found: np.ndarray, stop: bool, reason: str, **figures: float) -> StopCheck:
    """A rule's :class:`StopCheck` for the labels ``found``."""
    return StopCheck(
        rule=rule,
        stop=stop,
        screened=int(found.size),
        includes_found=int(found.sum()),
        reason=reason,
        **figures,
    )


def hypergeometric_p(found: Sequence[int] | np.ndarray, total: int, target: float) -> float:
    """Callaghan & Müller-Hansen's p-value for H0 "recall so far < target" (the smallest over all windows)."""
    from scipy.stats import hypergeom

    if not 0 < target < 1:
        raise BioagentError(f"the target recall must lie between 0 and 1, not {target}")
    arr = _labels(found, total)
    includes = int(arr.sum())
    if includes == 0:
        return 1.0
    windows = np.arange(1, arr.size + 1)
    in_window = np.cumsum(arr[::-1])  # includes among the last n screened
    urn = windows + (total - arr.size)
    least = math.floor(includes / target + 1e-9) + 1 - (includes - in_window)
    if (least > urn).any():  # too few unscreened records to hide that many includes: H0 cannot hold
        return 0.0
    p = hypergeom.cdf(in_window, urn, least, windows)
    return float(np.clip(np.min(p), 0.0, 1.0))


def recall_bound(found: Sequence[int] | np.ndarray, total: int, confidence: float) -> float:
    """The highest recall τ that the test supports at ``confidence`` (0 when none): a lower bound on recall."""
    alpha = 1.0 - confidence
    if int(np.sum(found)) == 0:
        return 0.0
    if hypergeometric_p(found, total, 0.999) < alpha:
        return 1.0
    low, high = 0.0, 0.999
    for _ in range(30):
        middle = (low + high) / 2
        if middle > 0 and hypergeometric_p(found, total, middle) < alpha:
            low = middle
        else:
            high = middle
    return low


@dataclass(frozen=True)
class HypergeometricStop:
    """The statistical rule (see the module docstring): stop once recall ≥ ``target`` at ``confidence``."""

    target: float = 0.95
    confidence: float = 0.95
    name: str = "hypergeometric"

    def __post_init__(self) -> None:
        for label, value in (("target recall", self.target), ("confidence", self.confidence)):
            if not 0 < value < 1:
                raise BioagentError(f"the {label} must lie between 0 and 1 (e.g. 0.95), not {value}")

    def stops(self, found: np.ndarray, total: int) -> bool:
        return found.size == total or hypergeometric_p(found, total, self.target) < 1 - self.confidence

    def check(self, found: Sequence[int] | np.ndarray, total: int) -> StopCheck:
        arr = _labels(found, total)
        p = hypergeometric_p(arr, total, self.target)
        stop = p < 1 - self.confidence or arr.size == total
        verdict = "may stop" if stop else "keep screening"
        return verdict_after(
            self.name,
            arr,
            stop,
            f"{verdict}: p = {p:.3g} for recall < {self.target:.0%} (stop below {1 - self.confidence:.3g})",
            p_value=round(p, 6),
            recall_estimate=round(recall_bound(arr, total, 0.5), 4),
            recall_lower_bound=round(recall_bound(arr, total, self.confidence), 4),
        )


def excludes_in_a_row(found: np.ndarray) -> int:
    """Excludes at the end of the screening order since the last include."""
    hits = np.flatnonzero(found)
    return int(found.size - 1 - hits[-1]) if hits.size else int(found.size)


@dataclass(frozen=True)
class ConsecutiveExcludesStop:
    """Heuristic: stop after ``run`` excludes in a row (no recall guarantee)."""

    run: int = 100
    name: str = "consecutive-excludes"

    def stops(self, found: np.ndarray, total: int) -> bool:
        return excludes_in_a_row(found) >= self.run or found.size == total

    def check(self, found: Sequence[int] | np.ndarray, total: int) -> StopCheck:
        arr = _labels(found, total)
        reason = f"{excludes_in_a_row(arr)} excludes in a row (stop at {self.run}; no recall guarantee)"
        return verdict_after(self.name, arr, self.stops(arr, total), reason)


@dataclass(frozen=True)
class SafeStop:
    """SAFE-style heuristic: at least ``min_share`` of the records and twice the includes found screened, then
    ``run`` excludes in a row (no recall guarantee)."""

    min_share: float = 0.10
    run: int = 50
    name: str = "safe"

    def minimum(self, found: np.ndarray, total: int) -> int:
        """Records to screen at least: the minimum share, and twice the includes found."""
        return max(math.ceil(self.min_share * total), 2 * int(found.sum()))

    def stops(self, found: np.ndarray, total: int) -> bool:
        enough = found.size >= self.minimum(found, total) and excludes_in_a_row(found) >= self.run
        return enough or found.size == total

    def check(self, found: Sequence[int] | np.ndarray, total: int) -> StopCheck:
        arr = _labels(found, total)
        reason = (
            f"screened {arr.size} of at least {self.minimum(arr, total)}; {excludes_in_a_row(arr)} excludes in a "
            f"row (stop at {self.run}; no recall guarantee)"
        )
        return verdict_after(self.name, arr, self.stops(arr, total), reason)


def default_rules(target: float = 0.95, confidence: float = 0.95) -> list[StoppingRule]:
    """The statistical rule and the two heuristics, with the settings the README reports."""
    return [HypergeometricStop(target, confidence), ConsecutiveExcludesStop(), SafeStop()]


def first_stop(found: Sequence[int] | np.ndarray, rule: StoppingRule, every: int = 1) -> int:
    """Records screened when ``rule`` first says stop, checking after every ``every`` labels (a batch).

    Checkpoints with no include between them form a stretch in which a rule can only turn to "stop", so each
    stretch is tested at its end and, if the rule stops there, bisected for the first stopping checkpoint.
    """
    arr = np.asarray(found, dtype=int)
    points = sorted({*range(every, arr.size, every), arr.size})
    includes_before = np.concatenate([[0], np.cumsum(arr)])[points]
    for stretch in np.split(np.asarray(points), np.flatnonzero(np.diff(includes_before)) + 1):
        if not rule.stops(arr[: stretch[-1]], arr.size):
            continue
        low, high = 0, len(stretch) - 1  # the first checkpoint in the stretch where the rule stops
        while low < high:
            middle = (low + high) // 2
            if rule.stops(arr[: stretch[middle]], arr.size):
                high = middle
            else:
                low = middle + 1
        return int(stretch[low])
    return int(arr.size)


def stopping_outcomes(
    found: Sequence[int] | np.ndarray, rules: Sequence[StoppingRule], every: int = 1
) -> dict[str, dict[str, float | int]]:
    """For each rule on a full simulated order: where it stopped, recall there and the work saved there."""
    arr = np.asarray(found, dtype=int)
    positives = max(int(arr.sum()), 1)
    outcomes = {}
    for rule in rules:
        at = first_stop(arr, rule, every)
        outcomes[rule.name] = {
            "stopped_at": at,
            "recall": round(float(arr[:at].sum()) / positives, 4),
            "work_saved": round(1.0 - at / arr.size, 4),
        }
    return outcomes
