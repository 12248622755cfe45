"""Answers to the owner's questions, on the expected-value model: which lever matters (sensitivity), what
value of a lever reaches a goal (goal seek), and is the service programme worth its cost."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from sim.expected import expected_arrays
from sim.levers import Lever, find_lever, get_value
from sim.levers import levers as all_levers
from sim.scenario import Scenario, ScenarioError, load_scenario

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

NEVER_METRICS = ("break_even_month", "payback_months")
"""Metrics where NaN means "never" (not within the horizon)."""


class GoalSeekError(ValueError):
    """The target cannot be reached within the search range (or is met across all of it)."""


def _scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: must be one of {', '.join(METRICS)}")


def metric_value(scenario: Scenario, metric: str) -> float:
    """The expected-value model's figure for one metric."""
    _check_metric(metric)
    return float(expected_arrays(scenario)[1][metric])


def _moved(lever: Lever, value: float, factor: float) -> float:
    x = value * factor
    if lever.integer:
        x = round(x)
        if x == value:  # a whole-number lever moves at least one step
            x = value + (1 if factor > 1 else -1)
    low = lever.low if not lever.low_open else lever.low + (1 if lever.integer else 1e-9)
    return float(min(max(x, low), lever.high))


def sensitivity(
    scenario: Scenario | str | Path,
    levers: list[str] | None = None,
    change: float = 0.2,
    metric: str = "break_even_month",
) -> pd.DataFrame:
    """Move each lever down and up by `change` (relative; whole-number levers by at least one step) and
    report the metric at both ends: columns lever, label, group, value, low, high, metric_low,
    metric_base, metric_high, swing, note; sorted by swing (largest first).

    For break-even and payback, "never" counts as one month past the horizon in the swing, and the
    note says so; a lever at 0 cannot move relatively and says so.
    """
    sc = _scenario(scenario)
    _check_metric(metric)
    if not 0 < change < 1:
        raise ValueError(f"change = {change!r}: must be between 0 and 1 (0.2 = ±20 %)")
    chosen = all_levers(sc) if levers is None else [find_lever(sc, p) for p in levers]
    base = metric_value(sc, metric)
    never = sc.horizon_months + 1.0
    rows = []
    for lv in chosen:
        value = get_value(sc, lv.path)
        low, high = _moved(lv, value, 1 - change), _moved(lv, value, 1 + change)
        note = []
        ends = {}
        for side, x in (("low", low), ("high", high)):
            if x == value:
                ends[side] = base
                continue
            try:
                ends[side] = metric_value(sc.override({lv.path: int(x) if lv.integer else x}), metric)
            except ScenarioError as exc:
                ends[side] = math.nan
                note.append(f"{side}: invalid ({exc})")
        if value == 0 and low == high == 0:
            note.append("value is 0: a relative change does not move it")
        for side in ("low", "high"):
            if metric in NEVER_METRICS and math.isnan(ends[side]):
                note.append(f"no {metric.replace('_', ' ')} within the horizon at {side}")

        def ranked(v: float) -> float:
            return never if (metric in NEVER_METRICS and math.isnan(v)) else v

        swing = abs(ranked(ends["high"]) - ranked(ends["low"]))
        rows.append(
            {
                "lever": lv.path,
                "label": lv.label,
                "group": lv.group,
                "value": value,
                "low": low,
                "high": high,
                "metric_low": ends["low"],
                "metric_base": base,
                "metric_high": ends["high"],
                "swing": swing if not math.isnan(swing) else 0.0,
                "note": "; ".join(note),
            }
        )
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    return df.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


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
    so that one step beyond it misses the target; whole-number levers always move in steps of 1.
    """
    sc = _scenario(scenario)
    _check_metric(metric)
    lv = find_lever(sc, lever)
    value = get_value(sc, lever)
    lo, hi = _default_range(lv, value) if low is None or high is None else (float(low), float(high))
    lo = low if low is not None else lo
    hi = high if high is not None else hi
    if not lo < hi:
        raise GoalSeekError(f"search range [{lo:g}, {hi:g}] is empty")
    lower_better = METRICS[metric] == "lower"

    def at(x: float) -> float:
        return metric_value(sc.override({lever: round(x) if lv.integer else float(x)}), metric)

    def ok(m: float) -> bool:
        if math.isnan(m):
            return False
        return m <= target if lower_better else m >= target

    if lv.integer:
        lo, hi = float(math.ceil(lo)), float(math.floor(hi))
    m_lo, m_hi = at(lo), at(hi)
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
    good, bad = (lo, hi) if ok_lo else (hi, lo)
    if step is not None and not step > 0:
        raise GoalSeekError(f"step = {step!r}: must be > 0")
    precision = 1.0 if lv.integer else max(abs(hi - lo) * rel_tol, 1e-12)
    if step is not None and not lv.integer:
        precision = min(precision, step / 10)
    for _ in range(200):
        if abs(bad - good) <= precision:
            break
        mid = (good + bad) / 2
        if lv.integer:
            mid = float(math.floor(mid) if good < bad else math.ceil(mid))
            if mid in (good, bad):
                break
        if ok(at(mid)):
            good = mid
        else:
            bad = mid
    if step is not None and not lv.integer:
        snapped = math.floor(good / step) * step if good < bad else math.ceil(good / step) * step
        if ok(at(snapped)):
            good = snapped
        precision = step
    return GoalSeekResult(lever, metric, float(target), good, at(good), lo, hi, precision)


def _default_range(lv: Lever, value: float) -> tuple[float, float]:
    low = lv.low + (1.0 if lv.integer else 1e-9) if lv.low_open else lv.low
    low = max(low, 0.0) if math.isinf(low) else low
    if lv.high <= 1.0 and lv.low >= 0.0:  # a share
        return low, lv.high
    if lv.integer:
        return max(low, 1.0), min(lv.high, max(10.0 * value, value + 20.0))
    return low, min(lv.high, 10.0 * value if value > 0 else 1.0)


@dataclass(frozen=True)
class ProgrammeValue:
    """Is the service programme worth its cost? Yearly figures (the horizon's average year)."""

    extra_margin_per_year: float
    """Margin with the programme minus without, per year."""
    cost_per_year: float
    """Programme cost (fixed + contacts), per year."""
    net_per_year: float
    """Extra margin − cost − any change of other costs, per year (the change of net cash)."""
    contacts_per_month: float
    """The programme's contacts a month as in the scenario."""
    optimal_contacts_per_month: float
    """Contacts a month that maximise the net."""
    optimal_net_per_year: float
    """The net per year at the optimal contacts."""
    yearly: pd.DataFrame
    """Year by year: year, extra_margin, cost, net."""
    curve: pd.DataFrame
    """Net against contacts a month: contacts_per_month, extra_margin, cost, net (per year)."""

    def verdict(self, currency: str = "") -> str:
        """One sentence for the owner."""
        cur = f" {currency}" if currency else ""
        word = "earns" if self.net_per_year >= 0 else "loses"
        return (
            f"The programme adds {self.extra_margin_per_year:,.0f}{cur} of margin a year for "
            f"{self.cost_per_year:,.0f}{cur} of cost: it {word} {abs(self.net_per_year):,.0f}{cur} a year; "
            f"at {self.optimal_contacts_per_month:.2g} contacts a month it would net "
            f"{self.optimal_net_per_year:,.0f}{cur} a year."
        ).replace(",", " ")


def programme_value(scenario: Scenario | str | Path, points: int = 61) -> ProgrammeValue:
    """With and without the service programme (expected values): yearly extra margin, the programme's
    cost and the net, and the net against contacts a month with the optimum (intrusive service)."""
    sc = _scenario(scenario)
    prog = sc.service_programme
    if prog is None:
        raise ScenarioError(f"scenario {sc.name!r}: service_programme: there is no programme to evaluate")
    years = sc.horizon_months / 12.0
    without, _, _ = expected_arrays(sc.override({"service_programme": None}))

    def per_year(k: float) -> tuple[float, float, float, dict[str, np.ndarray]]:
        with_, _, _ = expected_arrays(sc.override({"service_programme.contacts_per_month": float(k)}))
        extra = float(with_["margin"].sum() - without["margin"].sum()) / years
        cost = float(with_["programme_cost"].sum()) / years
        net = float(with_["net_cash"].sum() - without["net_cash"].sum()) / years
        return extra, cost, net, with_

    extra, cost, net, with_ = per_year(prog.contacts_per_month)
    year = (np.arange(sc.horizon_months) // 12) + 1
    yearly = (
        pd.DataFrame(
            {
                "year": year,
                "extra_margin": with_["margin"] - without["margin"],
                "cost": with_["programme_cost"],
                "net": with_["net_cash"] - without["net_cash"],
            }
        )
        .groupby("year", as_index=False)
        .sum()
    )

    top = max(3.0 * prog.tolerated_contacts_per_month, prog.contacts_per_month)
    grid = np.linspace(0.0, top, points)
    rows = [per_year(k)[:3] for k in grid]
    curve = pd.DataFrame(rows, columns=["extra_margin", "cost", "net"])
    curve.insert(0, "contacts_per_month", grid)
    best = int(np.argmax(curve["net"].to_numpy()))
    lo_k, hi_k = grid[max(best - 1, 0)], grid[min(best + 1, points - 1)]
    k_opt, net_opt = float(grid[best]), float(curve["net"].iloc[best])
    if hi_k > lo_k:
        res = minimize_scalar(
            lambda k: -per_year(k)[2],
            bounds=(lo_k, hi_k),
            method="bounded",
            options={"xatol": 1e-4 * max(top, 1e-9)},
        )
        if -res.fun > net_opt:
            k_opt, net_opt = float(res.x), float(-res.fun)
    return ProgrammeValue(extra, cost, net, prog.contacts_per_month, k_opt, net_opt, yearly, curve)
