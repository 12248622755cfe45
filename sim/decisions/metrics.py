"""The metrics the decisions work on, which direction is better, and their expected value."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path

from sim.analytic.expected_value import expected_arrays
from sim.model.scenario import Scenario, load_scenario


class Better(StrEnum):
    """Which way a metric improves."""

    LOWER = "lower"
    HIGHER = "higher"


METRICS: dict[str, Better] = {
    "break_even_month": Better.LOWER,
    "payback_months": Better.LOWER,
    "max_cash_need": Better.LOWER,
    "cac": Better.LOWER,
    "lost_lead_share": Better.LOWER,
    "mean_wait_hours": Better.LOWER,
    "final_cumulative_cash": Better.HIGHER,
    "npv": Better.HIGHER,
    "ltv": Better.HIGHER,
    "ltv_to_cac": Better.HIGHER,
}
"""Metrics for sensitivity and goal seek, and which direction is better."""


def meets(metric: str, value: float, target: float) -> bool:
    """Whether `value` of `metric` is at or better than `target` ("never", NaN, meets no target)."""
    if math.isnan(value):
        return False
    return value <= target if METRICS[metric] is Better.LOWER else value >= target


class DecisionError(ValueError):
    """A decision cannot be answered as asked (an empty or invalid range, a bad model or amount …)."""


class GoalSeekError(DecisionError):
    """The target cannot be reached within the search range (or is met across all of it)."""


def as_scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: must be one of {', '.join(METRICS)}")


def metric_value(scenario: Scenario, metric: str) -> float:
    """The expected-value model's figure for one metric."""
    check_metric(metric)
    return float(expected_arrays(scenario)[1][metric])
