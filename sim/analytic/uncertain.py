"""The expected band: the expected-value model over the draws of `[uncertainty]` (hundreds of draws a second).

Replication r of the engine (`sim.simulate(scenario, seed=s)`) runs the scenario drawn from the uniform
numbers of (s, r) (`sim.engine.streams.drawn_scenario`); the expected band evaluates the expected-value
model (`sim.analytic.expected_value`) on the same drawn scenarios, r = first … first + draws − 1. The two
are paired draw by draw: what separates them is only the process's randomness within a replication, so
the band shows how much of the spread comes from not knowing the levers.

A draw costs less than the expected-value model on its drawn scenario alone (`benchmarks/band.py`): about
1 ms for the 120-month dealer without a plan, 2.5 ms with the ten-year plan (CPU, on a shared two-core
machine). Work is reused where it is exact: a drawn scenario whose values were already evaluated
(whole-number levers take few values; a scenario without `[uncertainty]` has one) is evaluated once; a
drawn scenario is built by validating anew only the sections holding a drawn lever
(`sim.model.uncertainty.drawn`; equal to `Scenario.override` of the drawn values); with a plan a draw's
month-by-month values are derived from the first draw's (`sim.model.plan.derive_months`: only the drawn
levers change) instead of being built anew; and the model remembers, by value, what the draws share: the
desk's figures at a load (`sim.analytic.queueing`), the delay kernels of a wait, the parts of the customers'
tables that do not depend on the churn (`sim.accounting.lifetimes`, `sim.analytic.expected_value`). The
desk's figures at the mean load (`ExpectedResult.desk`), which the band does not keep, are not computed.

Not bit for bit: the draws are evaluated BATCH at a time, their referral solves (the month-by-month
feedback of customers bringing leads, both passes) done together over an axis of draws
(`sim.analytic.expected_value.expected_arrays_many`), which sums each month's terms over earlier months in
another order than one draw alone: each draw's figures agree with `sim.expected` of its drawn scenario
within 1e-12 relative (of each column's scale), not to the last bit (`DrawnExpected` called one draw at a
time, as `sim.drivers` calls it, stays bit for bit). The garbage collector is paused while the draws are
evaluated (nothing they make needs collecting; with it, 20 % more time is spent walking what is alive).
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.accounting import frames
from sim.accounting.ledger import KPI_COLUMNS, MONTHLY_COLUMNS
from sim.analytic.expected_value import expected_arrays, expected_arrays_many
from sim.engine.streams import uncertainty_uniforms
from sim.model import plan, uncertainty
from sim.model.numbers import whole_number
from sim.model.scenario import Scenario, load_scenario

DEFAULT_DRAWS = 300
"""Draws of `expected_band` unless told otherwise."""


BATCH = 50
"""Draws evaluated together by `DrawnExpected.many` (their referral solves over an axis of draws): 50 keep
about 50 MB alive at once for the ten-year plan (each draw's months, cohort tables and kernels), 300 would
keep 300 MB for a few per cent less time."""


class DrawnExpected:
    """The expected-value model of a scenario's drawn versions, from uniform numbers (one per uncertain
    lever), each distinct set of drawn values evaluated once (a cache by value). `monthly=False` keeps
    only the KPIs (the monthly columns returned are then empty), for many evaluations."""

    def __init__(self, scenario: Scenario, monthly: bool = True) -> None:
        self.scenario = scenario
        self.monthly = monthly
        self.levers: tuple[str, ...] = tuple(p for p, _ in scenario.uncertainty)
        """The uncertain levers, by path, in the scenario's order."""
        self._cache: dict[tuple[float | int, ...], tuple[dict[str, np.ndarray], dict[str, float]]] = {}
        self._first: Scenario | None = None
        """The first drawn scenario evaluated: the next ones derive their months from its months."""

    @property
    def evaluations(self) -> int:
        """Distinct drawn scenarios evaluated so far (calls of the expected-value model)."""
        return len(self._cache)

    def __call__(
        self, uniforms: Mapping[str, float]
    ) -> tuple[dict[str, float | int], dict[str, np.ndarray], dict[str, float]]:
        """(drawn values by path, expected monthly columns, expected KPIs) of the scenario drawn from
        `uniforms` ({path: u in [0, 1]}), as `sim.model.uncertainty.drawn` draws it."""
        values = uncertainty.values(self.scenario, dict(uniforms)) if self.levers else {}
        key = tuple(values[p] for p in self.levers)
        hit = self._cache.get(key)
        if hit is None:
            monthly, kpi, _ = expected_arrays(self._drawn(uniforms), desk=False)
            hit = self._cache[key] = (monthly if self.monthly else {}, kpi)
        return values, hit[0], hit[1]

    def _drawn(self, uniforms: Mapping[str, float]) -> Scenario:
        """The drawn scenario, its months derived from the first draw's (where that is exact)."""
        sc = uncertainty.drawn(self.scenario, dict(uniforms)) if self.levers else self.scenario
        if self._first is None:
            self._first = sc
        elif sc.planned:
            plan.derive_months(sc, self._first)
        return sc

    def many(
        self, draws: Sequence[Mapping[str, float]]
    ) -> list[tuple[dict[str, float | int], dict[str, np.ndarray], dict[str, float]]]:
        """`self(u)` of each u in `draws`, the drawn scenarios not yet evaluated evaluated together
        (`sim.analytic.expected_value.expected_arrays_many`: their referral solves over an axis of draws):
        each figure within 1e-12 relative of `self(u)`'s, not bit for bit."""
        values = [uncertainty.values(self.scenario, dict(u)) if self.levers else {} for u in draws]
        keys = [tuple(v[p] for p in self.levers) for v in values]
        todo: dict[tuple[float | int, ...], Mapping[str, float]] = {}
        for key, u in zip(keys, draws, strict=True):
            if key not in self._cache and key not in todo:
                todo[key] = u
        chunks = list(todo.items())
        for start in range(0, len(chunks), BATCH):  # a batch's drawn scenarios alive at once, not all
            chunk = chunks[start : start + BATCH]
            scenarios = [self._drawn(u) for _, u in chunk]
            for (key, _), (monthly, kpi) in zip(chunk, expected_arrays_many(scenarios), strict=True):
                self._cache[key] = (monthly if self.monthly else {}, kpi)
        return [(v, *self._cache[key]) for v, key in zip(values, keys, strict=True)]


@dataclass(frozen=True)
class ExpectedBand:
    """The expected-value model over the draws of a scenario's `[uncertainty]` (see `expected_band`)."""

    scenario: Scenario
    seed: int
    replications: tuple[int, ...]
    """The replication numbers whose draws are used (first … first + draws − 1)."""
    draws: pd.DataFrame
    """One row per draw: `replication` and each uncertain lever's drawn value (as `SimulationResult.draws`;
    no rows without `[uncertainty]`)."""
    arrays: dict[str, np.ndarray]
    """Each monthly column (`sim.accounting.ledger.MONTHLY_COLUMNS`) as an array (draws, horizon)."""
    kpi: dict[str, np.ndarray]
    """Each KPI (`sim.accounting.ledger.KPI_COLUMNS`) as an array over draws."""
    evaluations: int
    """How many drawn scenarios the expected-value model evaluated (distinct drawn values)."""
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    @property
    def kpis(self) -> pd.DataFrame:
        """One row per draw: `replication` and every KPI (as `SimulationResult.kpis`)."""
        if "kpis" not in self._frames:
            data: dict[str, Any] = {"replication": np.asarray(self.replications, dtype=np.int64)}
            data.update({c: self.kpi[c] for c in KPI_COLUMNS})
            self._frames["kpis"] = pd.DataFrame(data)
        return self._frames["kpis"]

    @property
    def monthly(self) -> pd.DataFrame:
        """One row per (draw, month), the columns of `SimulationResult.monthly` (`date` with `start`)."""
        if "monthly" not in self._frames:
            n = len(self.replications)
            runs = [{c: self.arrays[c][i] for c in MONTHLY_COLUMNS} for i in range(n)]
            self._frames["monthly"] = frames.monthly_frame(runs, self.replications, plan.dates(self.scenario))
        return self._frames["monthly"]

    def bands(
        self, column: str = "cumulative_cash", quantiles: Sequence[float] = (0.1, 0.5, 0.9)
    ) -> pd.DataFrame:
        """Per month: the mean and quantiles of `column` over the draws (columns month, mean, p10, p50 …;
        quantiles interpolated linearly, as `SimulationResult.bands`)."""
        if column not in self.arrays:
            raise ValueError(f"no monthly column {column!r}")
        x = self.arrays[column]
        out = pd.DataFrame({"month": np.arange(1, x.shape[1] + 1, dtype=np.int64)})
        out["mean"] = x.mean(axis=0)
        for q in quantiles:
            out[f"p{round(q * 100):g}"] = np.quantile(x, q, axis=0)
        return out

    def summary(self) -> pd.DataFrame:
        """Each KPI's mean, p10, p50, p90 over the draws and the probability of breaking even (as
        `SimulationResult.summary`)."""
        return frames.summary_frame(self.kpis)

    def p_break_even_by(self, month: int) -> float:
        """The share of draws whose expected break-even month is at most `month` ("never" counts as not)."""
        return frames.share_by_month(self.kpi["break_even_month"], month, self.scenario.horizon_months)


def expected_band(
    scenario: Scenario | str | Path, draws: int = DEFAULT_DRAWS, seed: int = 0, first: int = 0
) -> ExpectedBand:
    """The expected-value model on `draws` drawn versions of the scenario: those of the engine's
    replications first … first + draws − 1 with `seed` (paired with `simulate(scenario, draws, seed)`).

    `.bands()` per month mean/p10/p50/p90 of the cumulative cash (or another column), `.kpis` one row
    per draw, `.p_break_even_by(N)`, `.draws` the drawn values. The spread is that of the levers alone
    (each draw is an expectation: no process randomness); a scenario without `[uncertainty]` gives
    `draws` equal rows. About 1 ms a draw without a plan, 2.5 ms with one (120 months). Each draw's
    figures are `sim.expected`'s of its drawn scenario within 1e-12 relative, not bit for bit (the module's
    docstring says why).
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    n = whole_number("draws", draws, 1)
    seed = whole_number("seed", seed, 0)
    first = whole_number("first", first, 0)
    model = DrawnExpected(sc)
    numbers = tuple(range(first, first + n))
    rows: list[dict[str, float | int]] = []
    monthly: list[dict[str, np.ndarray]] = []
    kpi_rows: list[dict[str, float]] = []
    collect = gc.isenabled()
    gc.disable()  # see the module's docstring
    try:
        done = model.many([uncertainty_uniforms(seed, r, model.levers) for r in numbers])
    finally:
        if collect:
            gc.enable()
    for values, month, kpi in done:
        rows.append(values)
        monthly.append(month)
        kpi_rows.append(kpi)
    arrays = {c: np.vstack([np.asarray(m[c], dtype=float) for m in monthly]) for c in MONTHLY_COLUMNS}
    kpi = {c: np.array([k[c] for k in kpi_rows], dtype=float) for c in KPI_COLUMNS}
    return ExpectedBand(
        scenario=sc,
        seed=seed,
        replications=numbers,
        draws=frames.draws_frame(rows, model.levers, numbers),
        arrays=arrays,
        kpi=kpi,
        evaluations=model.evaluations,
    )
