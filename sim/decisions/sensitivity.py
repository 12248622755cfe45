"""Sensitivity: which lever brings the metric furthest, each moved down and up by a share of its value."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from sim.accounting.ledger import NEVER_KPIS
from sim.decisions.metrics import as_scenario, check_metric, metric_value
from sim.model.levers import Lever, find_lever, value_of
from sim.model.levers import levers as all_levers
from sim.model.scenario import Scenario, ScenarioError


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
    sc = as_scenario(scenario)
    check_metric(metric)
    if not 0 < change < 1:
        raise ValueError(f"change = {change!r}: must be between 0 and 1 (0.2 = ±20 %)")
    chosen = all_levers(sc) if levers is None else [find_lever(sc, p) for p in levers]
    base = metric_value(sc, metric)
    never = sc.horizon_months + 1.0
    rows = []
    for lv in chosen:
        value = float(value_of(sc, lv.path))
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
            if metric in NEVER_KPIS and math.isnan(ends[side]):
                note.append(f"no {metric.replace('_', ' ')} within the horizon at {side}")

        def ranked(v: float) -> float:
            return never if (metric in NEVER_KPIS and math.isnan(v)) else v

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
