"""The metrics the decisions work on, which direction is better, and their expected value."""

from __future__ import annotations

from pathlib import Path

from sim.analytic.expected_value import expected_arrays
from sim.model.scenario import Scenario, load_scenario

METRICS: dict[str, str] = {
    "break_even_month": "lower",
    "payback_months": "lower",
    "max_cash_need": "lower",
    "cac": "lower",
    "lost_lead_share": "lower",
    "mean_wait_hours": "lower",
    "final_cumulative_cash": "higher",
    "npv": "higher",
    "ltv": "higher",
    "ltv_to_cac": "higher",
}
"""Metrics for sensitivity and goal seek, and which direction is better."""


class GoalSeekError(ValueError):
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
