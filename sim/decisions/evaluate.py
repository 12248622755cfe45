"""One scenario's KPIs for a decision: from the expected-value model, or from the engine's replications
(with common random numbers: every scenario evaluated by one `Evaluator` uses the same seed)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from sim.accounting.ledger import NEVER_KPIS
from sim.analytic.expected_value import expected_arrays
from sim.decisions.metrics import DecisionError
from sim.model.numbers import whole_number
from sim.model.scenario import Scenario


class Model(StrEnum):
    """Which model a decision evaluates scenarios with."""

    EXPECTED = "expected"
    """The expected-value model (`sim.expected`): exact means, about a millisecond a scenario."""
    SIMULATE = "simulate"
    """The discrete-event engine (`sim.simulate`): `replications` runs from `seed` per scenario."""


DEFAULT_REPLICATIONS = 20
"""Replications per scenario with `model="simulate"` unless given."""


def aggregate(metric: str, values: np.ndarray) -> float:
    """One figure from a KPI's values over replications: for break-even and payback months the median,
    "never" (NaN) counting as later than any month (NaN if most runs never get there); for the other
    KPIs the mean over the runs where the KPI is defined (NaN if none is)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan
    if metric in NEVER_KPIS:
        ranked = np.where(np.isnan(x), np.inf, x)
        median = float(np.quantile(ranked, 0.5, method="inverted_cdf"))
        return median if math.isfinite(median) else math.nan
    defined = x[~np.isnan(x)]
    return float(defined.mean()) if defined.size else math.nan


@dataclass(frozen=True)
class Evaluator:
    """Evaluates scenarios' KPIs with one model (and, for the engine, one seed: paired across calls)."""

    model: Model = Model.EXPECTED
    replications: int = DEFAULT_REPLICATIONS
    """Engine runs per scenario (`model="simulate"` only)."""
    seed: int = 0
    """The engine's seed (`model="simulate"` only): the same for every scenario, so they are paired."""

    @classmethod
    def of(cls, model: str, replications: int | None, seed: int) -> Evaluator:
        """Checked settings: a known model, replications >= 1, seed >= 0."""
        try:
            chosen = Model(model)
        except ValueError:
            raise DecisionError(
                f"model = {model!r}: must be one of {', '.join(m.value for m in Model)}"
            ) from None
        reps = DEFAULT_REPLICATIONS if replications is None else replications
        return cls(
            chosen,
            whole_number("replications", reps, 1, DecisionError),
            whole_number("seed", seed, 0, DecisionError),
        )

    def kpis(self, scenario: Scenario) -> dict[str, float]:
        """The scenario's KPIs: the expected values, or each KPI aggregated over the engine's runs
        (`aggregate`)."""
        if self.model is Model.EXPECTED:
            return {k: float(v) for k, v in expected_arrays(scenario)[1].items()}
        from sim.engine.runs import simulate  # the engine (SimPy, numba) only when asked for

        table = simulate(scenario, replications=self.replications, seed=self.seed).kpis
        return {c: aggregate(c, table[c].to_numpy()) for c in table.columns if c != "replication"}

    def describe(self) -> str:
        """`expected values` or `engine: 20 replications, seed 0`."""
        if self.model is Model.EXPECTED:
            return "expected values"
        return f"engine: {self.replications} replication(s), seed {self.seed}"
