"""Goal seek: the value of a lever at which a metric reaches a target, on the expected-value model."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.accounting.lifetimes import lifetime_tables
from sim.analytic.expected_value import expected_arrays
from sim.decisions.metrics import METRICS, Better, GoalSeekError, as_scenario, check_metric, meets
from sim.model.levers import Lever, find_lever, value_of
from sim.model.scenario import Scenario


@dataclass(frozen=True)
class GoalSeekResult:
    """The lever value at which the metric reaches the target."""

    lever: str
    metric: str
    target: float
    value: float
    """The lever's value: the last one (within the search precision) on the target's side."""
    metric_value: float
    """The metric at `value`."""
    low: float
    high: float
    """The search range."""
    step: float
    """Search precision: one step beyond `value` the target is missed."""

    def __str__(self) -> str:
        return (
            f"{self.lever} = {self.value:,.6g} gives {self.metric} = {self.metric_value:,.6g} "
            f"(target {self.target:,.6g}; searched {self.low:,.6g} … {self.high:,.6g})"
        )


def goal_seek(
    scenario: Scenario | str | Path,
    lever: str,
    metric: str,
    target: float,
    low: float | None = None,
    high: float | None = None,
    rel_tol: float = 1e-4,
    step: float | None = None,
) -> GoalSeekResult:
    """The value of `lever` at which `metric` reaches `target` (the metric is taken to be monotone in
    the lever over the range). "Reaches" means at or better than the target, better being lower for
    costs, months and losses and higher for cash and values (see METRICS); "never" for break-even and
    payback misses every target. Raises `GoalSeekError` if the target is not reachable in [low, high].

    With `step` (e.g. 50 roubles of CPL), the answer is the last multiple of `step` on the target's side,
    so that one step beyond it misses the target; whole-number levers always move in steps of 1. Without
    it, the answer is within `rel_tol` of the range from where the target stops being met. The search
    interpolates between the values tried (a handful of model evaluations, see `_boundary`).
    """
    sc = as_scenario(scenario)
    check_metric(metric)
    lv = find_lever(sc, lever)
    value = float(value_of(sc, lever))
    lo, hi = _default_range(lv, value) if low is None or high is None else (float(low), float(high))
    lo = low if low is not None else lo
    hi = high if high is not None else hi
    if not lo < hi:
        raise GoalSeekError(f"search range [{lo:g}, {hi:g}] is empty")
    lower_better = METRICS[metric] is Better.LOWER
    tables = lifetime_tables(sc) if lever.startswith(TABLE_FREE) else None
    seen: dict[float, tuple[float, float]] = {}

    def at(x: float) -> tuple[float, float]:
        """(metric, slack) at lever value x (each value evaluated once)."""
        if x not in seen:
            moved = sc.override({lever: round(x) if lv.integer else float(x)})
            monthly, kpi, _ = expected_arrays(moved, tables)
            m = float(kpi[metric])
            seen[x] = (m, _slack(metric, target, m, monthly["cumulative_cash"]))
        return seen[x]

    def ok(m: float) -> bool:
        return meets(metric, m, target)

    def probe(x: float) -> tuple[bool, float]:
        m, s = at(x)
        return ok(m), s

    if lv.integer:
        lo, hi = float(math.ceil(lo)), float(math.floor(hi))
    (m_lo, s_lo), (m_hi, s_hi) = at(lo), at(hi)
    ok_lo, ok_hi = ok(m_lo), ok(m_hi)
    if not ok_lo and not ok_hi:
        raise GoalSeekError(
            f"{metric} {'≤' if lower_better else '≥'} {target:g} is not reachable for {lever} in "
            f"[{lo:g}, {hi:g}] ({metric} = {m_lo:g} at {lo:g}, {m_hi:g} at {hi:g})"
        )
    if ok_lo and ok_hi:
        raise GoalSeekError(
            f"{metric} {'≤' if lower_better else '≥'} {target:g} holds across [{lo:g}, {hi:g}] for {lever}: "
            "widen the range to find where it stops"
        )
    good, bad = ((lo, s_lo), (hi, s_hi)) if ok_lo else ((hi, s_hi), (lo, s_lo))
    if step is not None and not step > 0:
        raise GoalSeekError(f"step = {step!r}: must be > 0")
    if lv.integer:
        unit, precision = 1.0, 1.0
    elif step is not None:
        unit, precision = float(step), float(step)
    else:
        unit, precision = None, max(abs(hi - lo) * rel_tol, 1e-12)
    answer = _boundary(probe, good, bad, unit, precision, first=value if lo < value < hi else None)
    return GoalSeekResult(lever, metric, float(target), answer, at(answer)[0], lo, hi, precision)


TABLE_FREE = ("channels.", "funnel.", "sales_desk.", "referrals.")
"""Lever paths whose change leaves a new customer's lifetime tables as they are (acquisition only):
goal seeks over them evaluate the model with the scenario's tables."""


LOG_SLACK = ("lost_lead_share", "mean_wait_hours")
"""Metrics that fall over orders of magnitude as the desk grows: their slack is a log ratio."""


def _slack(metric: str, target: float, value: float, cumulative_cash: np.ndarray) -> float:
    """How far the metric is on the target's side (>= 0: reached; NaN: unknown), to interpolate on.

    For break-even (reached when the cumulative cash stays >= 0 from month ⌊target⌋ on), the cumulative
    cash in month ⌊target⌋, or the lowest after it if that is negative while the month's is not (money):
    it moves smoothly with a lever, unlike the month.
    """
    if metric == "break_even_month":
        if math.isnan(target) or target < 1:
            return math.nan
        n = min(math.floor(target), cumulative_cash.size) if math.isfinite(target) else cumulative_cash.size
        at_n, lowest = float(cumulative_cash[n - 1]), float(cumulative_cash[n - 1 :].min())
        return at_n if (at_n < 0 or lowest >= 0) else lowest
    if metric in LOG_SLACK:
        return math.log(target / value) if target > 0 and value > 0 else math.nan
    return (target - value) if METRICS[metric] is Better.LOWER else (value - target)


def _inside(good: float, bad: float, unit: float | None, precision: float) -> tuple[float, float] | None:
    """Where the next probe may go: strictly between the ends, on the lattice of multiples of `unit` if
    given (as multiples), else at least precision/2 from either end; None once the boundary is found."""
    a, b = min(good, bad), max(good, bad)
    if unit is None:
        return (a + precision / 2, b - precision / 2) if b - a > precision else None
    first, last = math.floor(a / unit) + 1, math.ceil(b / unit) - 1
    while first * unit <= a:
        first += 1
    while last * unit >= b:
        last -= 1
    return (float(first), float(last)) if first <= last else None


def _boundary(
    probe: Callable[[float], tuple[bool, float]],
    good: tuple[float, float],
    bad: tuple[float, float],
    unit: float | None,
    precision: float,
    first: float | None = None,
) -> float:
    """The last lever value that meets the target, from (value, slack) at a good and a bad end.

    Probes `first` (the lever's current value, usually near the answer's scale) if it is inside, then
    interpolates the slack as Chandrupatla's bracketing method does (inverse quadratic interpolation
    where it is monotone, else the secant), and bisects (halving the logarithm of a range over orders of
    magnitude) where a slack is unknown or two probes in a row did not halve the range. Probes lie on
    the lattice of multiples of `unit` if given, else the search stops within `precision`.
    `probe(x)` is (target met, slack) at x; only `met` decides.
    """
    (a, fa), (b, fb) = good, bad  # a: the newest end, b: the other end, c: the end a replaced
    met_a = True
    c, fc = b, fb
    widths: list[float] = []
    for _ in range(400):
        g = a if met_a else b
        room = _inside(a, b, unit, precision)
        if room is None:
            return g
        width = abs(b - a)
        halved = len(widths) < 2 or width <= widths[-2] / 2
        widths.append(width)
        f_good, f_bad = (fa, fb) if met_a else (fb, fa)
        signs = math.isfinite(fa) and math.isfinite(fb) and f_good >= 0 > f_bad  # slack agrees with `met`
        x = math.nan
        if first is not None:
            x, first = first, None
        elif halved and signs and math.isfinite(fc) and len({fa, fb, fc}) == 3:
            xi, phi = (a - b) / (c - b), (fa - fb) / (fc - fb)
            if phi * phi < xi and (1 - phi) ** 2 < 1 - xi:  # inverse quadratic interpolation is monotone
                t = fa / (fb - fa) * fc / (fb - fc) + (c - a) / (b - a) * fa / (fc - fa) * fb / (fc - fb)
                x = a + t * (b - a)
            else:
                x = a + fa / (fa - fb) * (b - a)  # secant
        elif halved and signs:
            x = a + fa / (fa - fb) * (b - a)  # secant
        if math.isnan(x):
            lo, hi = min(a, b), max(a, b)
            x = math.sqrt(lo * hi) if lo > 0 and hi > 4 * lo else (lo + hi) / 2
        if unit is None:
            x = min(max(x, room[0]), room[1])
        else:
            x = min(max(float(round(x / unit)), room[0]), room[1]) * unit
        met, fx = probe(x)
        if met == met_a:
            c, fc = a, fa
        else:
            c, fc = b, fb
            b, fb = a, fa
        a, fa, met_a = x, fx, met
    return a if met_a else b


def _default_range(lv: Lever, value: float) -> tuple[float, float]:
    low = lv.low + (1.0 if lv.integer else 1e-9) if lv.low_open else lv.low
    low = max(low, 0.0) if math.isinf(low) else low
    if lv.high <= 1.0 and lv.low >= 0.0:  # a share
        return low, lv.high
    if lv.integer:
        return max(low, 1.0), min(lv.high, max(10.0 * value, value + 20.0))
    return low, min(lv.high, 10.0 * value if value > 0 else 1.0)
