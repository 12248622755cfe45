"""The best value of one lever: where a metric is highest (cash, value) or lowest (months, costs, losses).

"How many salespeople do I need?" — `best(dealer, "sales_desk.staff", "final_cumulative_cash")`: each
salesperson costs a salary, and too few let leads wait, go cold and leave.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from sim.decisions.evaluate import Evaluator, Model
from sim.decisions.metrics import METRICS, Better, DecisionError, as_scenario, check_metric
from sim.model.levers import Lever, all_levers, value_of
from sim.model.scenario import Scenario, ScenarioError


class Direction(StrEnum):
    """Which way `best` pushes the metric (from the metric's `Better`)."""

    MAXIMISE = "maximise"
    MINIMISE = "minimise"


FLOAT_POINTS = {Model.EXPECTED: 41, Model.SIMULATE: 11}
"""Grid points over the range for a lever that takes any number, by model, unless `points` is given."""
REL_TOL = {Model.EXPECTED: 1e-4, Model.SIMULATE: 1e-2}
"""How finely a number lever's best value is refined, as a share of the range, by model (the engine's
curve is a Monte Carlo estimate: refining below its noise finds nothing)."""
ZOOM_POINTS = 6
"""New points between the best value's neighbours at each refinement (a robust zoom, not golden section:
curves may be flat in places, stepped, or have a kink)."""
MAX_WHOLE_VALUES = 1000
"""Most whole values a whole-number lever is evaluated at (every one in the range)."""
WHOLE_DEFAULT_FACTOR = 3
"""A whole-number lever's default range is its lowest valid value (at least 1) … 3 × current + 2."""


@dataclass(frozen=True)
class BestResult:
    """The lever value that optimises the metric, with the metric against the lever over the range."""

    lever: str
    """Dotted path of the lever (as in `Scenario.override`); a planned lever moves as a whole."""
    metric: str
    """A KPI of `sim.decisions.metrics.METRICS` (its unit: money, months, a share …)."""
    direction: Direction
    """Maximise (cash, NPV, LTV, LTV/CAC) or minimise (months, funding, CAC, lost leads, wait)."""
    value: float
    """The lever's best value, in the lever's unit (a whole number for whole-number levers)."""
    metric_value: float
    """The metric there (NaN: never, for break-even and payback months)."""
    base_value: float
    """The lever's value in the scenario as given (NaN if it is left out, e.g. no patience)."""
    base_metric: float
    """The metric of the scenario as given."""
    low: float
    high: float
    """The range searched, in the lever's unit."""
    curve: pd.DataFrame
    """Every value evaluated, in increasing order: columns `value` (the lever) and `metric`."""
    model: str
    """How the metric was evaluated: `expected values` or `engine: N replication(s), seed S`."""
    at_edge: bool = False
    """True if the best value is an end of the range that the lever could pass (not its lowest or highest
    valid value): the metric may improve further beyond the range."""
    skipped: tuple[float, ...] = ()
    """Values in the range that give an invalid scenario (e.g. a planned step moved out of its
    bounds): not evaluated, not in the curve."""

    @property
    def gain(self) -> float:
        """How much better the best value is than the scenario as given, in the metric's unit (≥ 0 when
        the base is within the range; NaN if either is "never")."""
        d = self.metric_value - self.base_metric
        return d if self.direction is Direction.MAXIMISE else -d

    def __str__(self) -> str:
        def fmt(x: float) -> str:
            if math.isnan(x):
                return "never"
            return f"{x:,.0f}".replace(",", " ") if abs(x) >= 1e4 else f"{x:.6g}"

        base = "" if math.isnan(self.base_value) else f"{fmt(self.base_value)} now: "
        edge = " (at the end of the range: it may improve beyond)" if self.at_edge else ""
        return (
            f"{self.lever} = {fmt(self.value)} {self.direction.value}s {self.metric}: "
            f"{fmt(self.metric_value)} ({base}{fmt(self.base_metric)}; searched {fmt(self.low)} … "
            f"{fmt(self.high)}; {self.model}){edge}"
        )


def _lever(sc: Scenario, path: str) -> Lever:
    for lv in all_levers(sc):
        if lv.path == path:
            return lv
    known = ", ".join(lv.path for lv in all_levers(sc))
    raise ScenarioError(f"scenario {sc.name!r}: {path}: not a lever of this scenario (levers: {known})")


def _lowest(lv: Lever) -> float:
    """The lever's lowest valid value (0 for a lever unbounded below)."""
    if math.isinf(lv.low):
        return 0.0
    if lv.integer:
        return lv.low + 1 if lv.low_open else lv.low
    return lv.low + 1e-9 * max(1.0, abs(lv.low)) if lv.low_open else lv.low


def _range(lv: Lever, base: float, low: float | None, high: float | None) -> tuple[float, float]:
    """The range to search: given ends checked against the lever's bounds; default ends from the lever
    (a share: its whole range; a whole number: lowest … 3 × current + 2; else lowest … 3 × current,
    or … 1 if the current value is 0; a low end given above that: low … 3 × low (+ 2))."""
    lo_bound, hi_bound = _lowest(lv), lv.high
    for name, x in (("low", low), ("high", high)):
        if x is None:
            continue
        if not math.isfinite(x):
            raise DecisionError(f"{name} = {x!r}: must be a finite number")
        if x < lo_bound or x > hi_bound or (lv.low_open and x <= lv.low):
            raise DecisionError(
                f"{name} = {x:g}: outside {lv.path}'s valid values "
                f"({'(' if lv.low_open else '['}{lv.low:g}, {hi_bound:g}])"
            )
    if (low is None or high is None) and math.isnan(base):
        raise DecisionError(f"{lv.path} is not set in this scenario: give both low and high")
    if lv.integer:
        default_hi = min(hi_bound, WHOLE_DEFAULT_FACTOR * base + 2, lo_bound + MAX_WHOLE_VALUES - 1)
    elif lv.low >= 0.0 and hi_bound <= 1.0:  # a share
        default_hi = hi_bound
    else:
        default_hi = min(hi_bound, WHOLE_DEFAULT_FACTOR * base if base > 0 else 1.0)
    lo = float(low) if low is not None else lo_bound
    if high is None and default_hi <= lo:  # a low end given above the default range: look above it
        default_hi = min(hi_bound, WHOLE_DEFAULT_FACTOR * lo + (2 if lv.integer else 0) if lo > 0 else 1.0)
    hi = float(high) if high is not None else default_hi
    if lv.integer:
        lo, hi = float(math.ceil(lo)), float(math.floor(hi))
        if hi - lo + 1 > MAX_WHOLE_VALUES:
            raise DecisionError(
                f"{lv.path}: {hi - lo + 1:.0f} whole values in [{lo:g}, {hi:g}]; at most {MAX_WHOLE_VALUES}: "
                "narrow the range"
            )
    if not lo < hi:
        raise DecisionError(f"search range [{lo:g}, {hi:g}] of {lv.path} holds fewer than two values")
    return lo, hi


def best(
    scenario: Scenario | str | Path,
    lever: str,
    metric: str,
    low: float | None = None,
    high: float | None = None,
    points: int | None = None,
    model: str = "expected",
    replications: int | None = None,
    seed: int = 0,
) -> BestResult:
    """The value of `lever` in [low, high] that optimises `metric`: the highest cash, NPV, LTV or LTV/CAC;
    the lowest break-even or payback month, funding need, CAC, lost-lead share or wait. "Never" (NaN
    break-even or payback) is the worst value; between equally good values, the one nearest the lever's
    current value wins (then the lower one).

    A whole-number lever (staff) is evaluated at every whole value of the range (by default from its
    lowest valid value to 3 × current + 2; at most 1,000 values). Any other lever is
    evaluated on a grid of `points` (41 with the expected-value model, 11 with the engine; default
    range: a share's whole range, else lowest … 3 × current) and the best grid point is refined by
    zooming in between its neighbours (every zoom evaluates a few evenly spaced points there, so flat,
    stepped or kinked curves are handled) until the bracket is 1e-4 of the range (1e-2 with the engine).
    The lever's current value is always evaluated if it is in the range. A planned lever moves as a whole
    (its plan steps scaled with it, see `Scenario.override`).

    `model="expected"` uses the expected-value model; `model="simulate"` the engine, `replications` runs
    (default 20) per value from `seed`, the same for every value (common random numbers, so the curve's
    differences are paired): the metric is the mean over the runs (for break-even and payback months
    the median, "never" counting as later than any month).
    """
    sc = as_scenario(scenario)
    check_metric(metric)
    lv = _lever(sc, lever)
    evaluator = Evaluator.of(model, replications, seed)
    current = value_of(sc, lever)
    base = math.nan if current is None else float(current)
    lo, hi = _range(lv, base, low, high)
    n = FLOAT_POINTS[evaluator.model] if points is None else points
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 3:
        raise DecisionError(f"points = {points!r}: must be a whole number >= 3")
    direction = Direction.MINIMISE if METRICS[metric] is Better.LOWER else Direction.MAXIMISE
    base_metric = evaluator.kpis(sc)[metric]

    seen: dict[float, float] = {}  # lever value -> metric (NaN: never, or an invalid scenario)
    skipped: list[float] = []

    def evaluate(xs: np.ndarray | list[float]) -> None:
        for x in xs:
            x = float(x)
            if x in seen:
                continue
            if x == base:
                seen[x] = base_metric
                continue
            try:
                moved = sc.override({lever: int(x) if lv.integer else x})
            except ScenarioError:
                seen[x] = math.nan
                skipped.append(x)
                continue
            seen[x] = evaluator.kpis(moved)[metric]

    def rank(m: float) -> float:
        """Lower is better; NaN (never, invalid) is the worst."""
        if math.isnan(m):
            return math.inf
        return m if direction is Direction.MINIMISE else -m

    def best_of(xs: list[float]) -> float:
        ranks = np.array([rank(seen[x]) for x in xs])
        top = float(ranks.min())
        tol = 1e-12 * max(1.0, abs(top)) if math.isfinite(top) else 0.0
        tied = [x for x, r in zip(xs, ranks, strict=True) if r <= top + tol or r == top]
        return min(tied, key=lambda x: (0.0 if math.isnan(base) else abs(x - base), x))

    if lv.integer:
        evaluate(np.arange(lo, hi + 1))
    else:
        evaluate(np.linspace(lo, hi, n))
        if lo <= base <= hi:
            evaluate([base])
        tol = REL_TOL[evaluator.model] * (hi - lo)
        for _ in range(200):
            xs = sorted(seen)
            i = xs.index(best_of(xs))
            a, b = xs[max(i - 1, 0)], xs[min(i + 1, len(xs) - 1)]
            if b - a <= 2 * tol:
                break
            # Points between the neighbours; where one side is empty (an end), points on the other side.
            evaluate(np.linspace(a, b, ZOOM_POINTS + 2)[1:-1])
    valid = sorted(x for x in seen if x not in skipped)
    if not valid:
        raise DecisionError(f"{lever}: every value in [{lo:g}, {hi:g}] gives an invalid scenario")
    answer = best_of(valid)
    curve = pd.DataFrame({"value": valid, "metric": [seen[x] for x in valid]})
    value = int(answer) if lv.integer else answer
    at_edge = (answer == lo and lo > _lowest(lv)) or (answer == hi and hi < lv.high)
    return BestResult(
        lever=lever,
        metric=metric,
        direction=direction,
        value=value,
        metric_value=seen[answer],
        base_value=base,
        base_metric=base_metric,
        low=lo,
        high=hi,
        curve=curve,
        model=evaluator.describe(),
        at_edge=at_edge,
        skipped=tuple(sorted(skipped)),
    )
