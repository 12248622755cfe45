"""A business's plan over time: levers whose value changes by month (docs/model.md, "Plans over time").

A lever's value in month m (1-based) is its plan step (or its base value before the first step)
× (1 + trend)^(m − 1) × the season's multiplier. Which levers may be planned, and which may also have a
trend or seasonality, is the lever catalogue's `plan` (`sim.model.levers`). Past the horizon the last
month's values hold.

The models read a planned scenario month by month: `months(scenario)[m - 1]` is a scenario without a
plan holding month m's values (the same object every month when nothing changes), and `series` gives one
derived figure (a lever, or a property such as `effective_churn`) as an array over the months.
"""

from __future__ import annotations

import datetime as dt
import math
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from sim.model import paths
from sim.model.calendar import MONTH_DAYS
from sim.model.errors import ScenarioError
from sim.model.levers import BY_KEY, LISTS, SECTIONS, model_bounds
from sim.model.scenario import Scenario

SEASON_MONTHS = 12
"""Multipliers in a seasonality: January … December when `start` is set, else months 1 … 12, 13 …"""


def _key(path: str) -> str:
    """`channels.0.cost_per_lead` -> `channels.cost_per_lead` (the catalogue's key)."""
    return ".".join(p for p in path.split(".") if not (p.isascii() and p.isdigit()))


def planned_paths(scenario: Scenario) -> list[str]:
    """Every lever path the plan, trends or seasonality name, in first-seen order."""
    seen: dict[str, None] = {}
    for step in scenario.plan:
        seen.update(dict.fromkeys(p for p, _ in step.values))
    seen.update(dict.fromkeys(p for p, _ in scenario.trends))
    seen.update(dict.fromkeys(p for p, _ in scenario.seasonality))
    return list(seen)


def season_index(scenario: Scenario, months: int) -> np.ndarray:
    """Index 0 … 11 into a seasonality for months 1 … `months`: the calendar month with `start`, else
    (m − 1) mod 12."""
    first = int(scenario.start[5:7]) - 1 if scenario.start else 0
    return (first + np.arange(months)) % SEASON_MONTHS


def _steps_and_factor(scenario: Scenario, path: str) -> tuple[np.ndarray, np.ndarray]:
    """The lever's step value (the base before its first step) and its trend × season factor, by month:
    `values` is their product."""
    H = scenario.horizon_months
    steps = np.full(H, float(paths.get(scenario, path)))
    for step in sorted(scenario.plan, key=lambda s: s.from_month):
        for p, v in step.values:
            if p == path and step.from_month <= H:
                steps[step.from_month - 1 :] = float(v)
    factor = np.ones(H)
    trend = dict(scenario.trends).get(path)
    if trend:
        factor = factor * (1.0 + trend) ** np.arange(H)
    season = dict(scenario.seasonality).get(path)
    if season is not None:
        factor = factor * np.asarray(season, dtype=float)[season_index(scenario, H)]
    return steps, factor


def values(scenario: Scenario, path: str) -> np.ndarray:
    """The lever at `path` in months 1 … horizon, as floats (the base value where nothing is planned)."""
    steps, factor = _steps_and_factor(scenario, path)
    return steps * factor


def base_bounds(scenario: Scenario, path: str, low: float, high: float) -> tuple[float, float]:
    """The base values of a planned lever (what `Scenario.override` sets, moving its steps with it, see
    `move_steps`) that keep it within [low, high] in every month; (low, high) for a lever not planned."""
    if path not in planned_paths(scenario):
        return low, high
    steps, factor = _steps_and_factor(scenario, path)
    base = float(steps[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        if base != 0 and _key(path).split(".")[-1] not in _INTEGER_FIELDS:  # steps scale with the base
            ratio = steps * factor / base
            lo = max([low] + [low / r for r in ratio if r > 0])
            hi = min([high] + [high / r for r in ratio if r > 0])
        else:  # steps shift with the base: (step + b − base) × factor
            offset = steps - base
            lo = float(np.max(np.where(factor > 0, low / factor - offset, -np.inf), initial=low))
            hi = float(np.min(np.where(factor > 0, high / factor - offset, np.inf), initial=high))
    return float(max(lo, low)), float(min(hi, high))


def check(scenario: Scenario, source: str) -> None:
    """Validate the plan, trends and seasonality of a parsed scenario; ScenarioError naming the place,
    the value and the rule (unknown path, a lever that cannot change over time, a step outside the
    horizon or out of order, a value out of the lever's bounds in any month)."""
    problems: list[tuple[str, Any, str]] = []
    H = scenario.horizon_months

    def lever_rule(path: str, changing: bool) -> str | None:
        key = _key(path)
        if key not in BY_KEY:
            return "not a lever (a dotted path such as channels.0.leads_per_month)"
        value = paths.get(scenario, path)
        if value is paths.MISSING:
            return "no such lever in this scenario"
        if value is None:
            return "the lever is off in this scenario (give it a base value first)"
        rule = BY_KEY[key].plan
        if rule == "none":
            return "cannot change over time (" + planning_hint() + ")"
        if changing and rule != "all":
            return "takes plan steps only, no trend or seasonality (a count, or a switch)"
        return None

    last = 0
    for i, step in enumerate(scenario.plan):
        where = f"plan[{i}]"
        if step.from_month > H:
            problems.append((f"{where}.from_month", step.from_month, f"must be within the horizon (1 … {H})"))
        if step.from_month <= last:
            problems.append(
                (f"{where}.from_month", step.from_month, f"steps must be in order (after {last})")
            )
        last = max(last, step.from_month)
        for path, value in step.values:
            rule = lever_rule(path, False)
            if rule is None and BY_KEY[_key(path)].field in _INTEGER_FIELDS and not _is_whole(value):
                rule = "must be a whole number"
            if rule:
                problems.append((f'{where}."{path}"', value, rule))
    for path, rate in scenario.trends:
        rule = lever_rule(path, True)
        if rule:
            problems.append((f'trends."{path}"', rate, rule))
    for path, season in scenario.seasonality:
        rule = lever_rule(path, True)
        if rule:
            problems.append((f'seasonality."{path}"', list(season), rule))
    if not problems:
        for path in planned_paths(scenario):
            bad = _out_of_bounds(scenario, path)
            if bad:
                source_of = "trends" if path in dict(scenario.trends) else "plan"
                source_of = "seasonality" if path in dict(scenario.seasonality) else source_of
                problems.append((f'{source_of}."{path}"', bad[1], f"month {bad[0]}: {bad[2]}"))
        problems.extend(_cross_checks(scenario))
    if problems:
        text = "; ".join(f"{p} = {v!r}: {r}" for p, v, r in problems)
        raise ScenarioError(f"{source}: {text}", problems)


_INTEGER_FIELDS = frozenset(
    name for cls in SECTIONS.values() for name, f in cls.model_fields.items() if f.annotation is int
)


def _is_whole(value: float) -> bool:
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def planning_hint() -> str:
    """The levers that can be planned, for messages."""
    steps = [k for k, f in BY_KEY.items() if f.plan != "none"]
    return "levers that can be planned: " + ", ".join(steps)


def _out_of_bounds(scenario: Scenario, path: str) -> tuple[int, float, str] | None:
    """(month, value, rule) of the first month the lever leaves its bounds, or None."""
    key = _key(path)
    section, field = key.split(".")
    low, high, low_open, _ = model_bounds(SECTIONS[section], field)
    x = values(scenario, path)
    bad = (x <= low) if low_open else (x < low)
    bad |= x > high
    if not bad.any():
        return None
    m = int(np.flatnonzero(bad)[0])
    rule = (
        f"must be {'>' if low_open else '≥'} {low:g}"
        if (x[m] <= low if low_open else x[m] < low)
        else f"must be ≤ {high:g}"
    )
    return m + 1, float(x[m]), rule


def _cross_checks(scenario: Scenario) -> list[tuple[str, Any, str]]:
    """Rules between two fields that must hold in every month (a margin within its revenue)."""
    out = []
    pairs = [("first_purchase.margin", "first_purchase.revenue")]
    pairs += [(f"repeat.{j}.margin", f"repeat.{j}.revenue") for j in range(len(scenario.repeat))]
    planned = set(planned_paths(scenario))
    for margin, revenue in pairs:
        if margin in planned or revenue in planned:
            m, r = values(scenario, margin), values(scenario, revenue)
            bad = np.flatnonzero(m > r * (1 + 1e-12))
            if bad.size:
                k = int(bad[0])
                out.append(
                    (f'plan."{margin}"', float(m[k]), f"month {k + 1}: must not exceed revenue ({r[k]:g})")
                )
    return out


# --- month by month -----------------------------------------------------------------------------

_cache: dict[int, tuple[weakref.ref, tuple[Scenario, ...]]] = {}


def months(scenario: Scenario) -> tuple[Scenario, ...]:
    """Month 1 … horizon as scenarios without a plan, each holding that month's lever values (unvalidated
    copies: `check` has validated every month's values). Cached per scenario object."""
    hit = _cache.get(id(scenario))
    if hit is not None and hit[0]() is scenario:
        return hit[1]
    H = scenario.horizon_months
    flat = scenario.model_copy(update={"plan": (), "trends": (), "seasonality": ()})
    if not scenario.planned:
        out: tuple[Scenario, ...] = (flat,) * H
    else:
        series = {p: values(scenario, p) for p in planned_paths(scenario)}
        integer = {p for p in series if _key(p).split(".")[1] in _INTEGER_FIELDS}
        out_list: list[Scenario] = []
        previous: dict[str, float] | None = None
        for m in range(H):
            now = {p: (round(x[m]) if p in integer else float(x[m])) for p, x in series.items()}
            if now == previous:
                out_list.append(out_list[-1])
            else:
                out_list.append(_with_values(flat, now))
            previous = now
        out = tuple(out_list)
    key = id(scenario)
    cache = _cache  # the callback may run while the interpreter exits and module globals are gone
    cache[key] = (weakref.ref(scenario, lambda _r: cache.pop(key, None)), out)
    return out


def series(scenario: Scenario, figure: Callable[[Scenario], float]) -> np.ndarray:
    """`figure` (e.g. `lambda s: s.effective_churn`) of each month 1 … horizon, as a float array."""
    return np.array([figure(s) for s in months(scenario)], dtype=float)


def _with_values(flat: Scenario, changes: dict[str, Any]) -> Scenario:
    """A copy of `flat` with values at dotted lever paths (nested `model_copy`, no validation)."""
    by_section: dict[str, dict[Any, dict[str, Any]]] = {}
    for path, value in changes.items():
        section, *rest = path.split(".")
        if section in LISTS:
            index, field = int(rest[0]), rest[1]
        else:
            index, field = None, rest[0]
        by_section.setdefault(section, {}).setdefault(index, {})[field] = value
    update: dict[str, Any] = {}
    for section, items in by_section.items():
        node = getattr(flat, section)
        if section in LISTS:
            node = list(node)
            for index, fields in items.items():
                node[index] = node[index].model_copy(update=fields)
            update[section] = tuple(node)
        else:
            update[section] = node.model_copy(update=items[None])
    return flat.model_copy(update=update)


def dates(scenario: Scenario) -> list[dt.date] | None:
    """The first day of each month 1 … horizon when `start` is set, else None."""
    if scenario.start is None:
        return None
    year, month = int(scenario.start[:4]), int(scenario.start[5:7])
    out = []
    for m in range(scenario.horizon_months):
        k = month - 1 + m
        out.append(dt.date(year + k // 12, k % 12 + 1, 1))
    return out


# --- moving a planned lever -----------------------------------------------------------------------


def move_steps(data: dict[str, Any], path: str, new: Any) -> None:
    """Before the base value at `path` in a scenario's dump becomes `new`: move the plan's steps of the
    same lever with it, so a planned lever moves as a whole (sensitivity, goal seek, sweeps, the app's
    sliders). Steps are scaled by new / old; a whole-number lever, or one whose base is 0, is shifted
    by new − old instead. Does nothing if the lever has no steps. A shorter `horizon_months` drops the
    steps that start after it (they would never apply); a section set to None (switched off), or a list
    section emptied, drops its levers' steps, trends and seasons."""
    if "." not in path and (new is None or (isinstance(new, list | tuple) and not new)):
        # a section switched off (or a list emptied) takes its levers out of the plan
        drop_section(data, path)
        return
    steps = data.get("plan") or []
    if not steps or not isinstance(new, int | float) or isinstance(new, bool):
        return
    if path == "horizon_months":  # a shorter horizon drops the steps it no longer reaches
        data["plan"] = [
            step for step in steps if not isinstance(step.get("from_month"), int) or step["from_month"] <= new
        ]
        return
    old = paths.get(data, path)
    if not isinstance(old, int | float) or isinstance(old, bool) or old == new:
        return
    key = _key(path)
    integer = key.split(".")[-1] in _INTEGER_FIELDS
    low = model_bounds(SECTIONS[key.split(".")[0]], key.split(".")[1])[0] if key in BY_KEY else 0.0
    for step in steps:
        if path in step and isinstance(step[path], int | float):
            if integer:
                step[path] = max(int(low), int(step[path]) + int(new) - int(old))
            elif old != 0 and math.isfinite(new / old):
                step[path] = float(step[path]) * (new / old)
            else:
                step[path] = float(step[path]) + (new - old)


def staff_open_days(scenario: Scenario) -> float:
    """Salespeople × open time within the horizon, in days (month m: staff(m) × the desk's open time in
    month m at hours_per_day(m)); 0 without a desk. The denominator of the desk's utilisation."""
    if scenario.sales_desk is None:
        return 0.0
    total = 0.0
    for m, s in enumerate(months(scenario)):
        desk = s.sales_desk
        a, b = m * MONTH_DAYS, (m + 1) * MONTH_DAYS
        total += desk.staff * (desk.open_days(b) - desk.open_days(a))
    return total


def drop_section(data: dict[str, Any], section: str) -> None:
    """Take every lever of `section` out of the plan, trends, seasonality and uncertainty of a scenario's
    dump (in place): what switching the section off means for a plan and for its ranges."""

    def kept(path: str) -> bool:
        return path.split(".")[0] != section

    steps = []
    for step in data.get("plan") or []:
        rest = {p: v for p, v in step.items() if p == "from_month" or kept(p)}
        if len(rest) > 1:
            steps.append(rest)
    data["plan"] = steps
    data["trends"] = {p: r for p, r in (data.get("trends") or {}).items() if kept(p)}
    data["seasonality"] = {p: v for p, v in (data.get("seasonality") or {}).items() if kept(p)}
    data["uncertainty"] = {p: r for p, r in (data.get("uncertainty") or {}).items() if kept(p)}


def with_values(scenario: Scenario, path: str, monthly: np.ndarray | list[float]) -> Scenario:
    """The scenario with the lever at `path` taking exactly `monthly[m - 1]` in months 1 … horizon: its
    base value becomes month 1's, its trend and seasonality are dropped and a plan step is written
    wherever the value changes (merged with the other levers' steps). Validated like a loaded file."""
    from sim.model.scenario import parse_scenario

    x = [float(v) for v in monthly]
    if len(x) != scenario.horizon_months:
        raise ValueError(f"{path}: {len(x)} monthly values for a horizon of {scenario.horizon_months} months")
    data = scenario.model_dump(mode="json")
    data["trends"] = {p: r for p, r in data.get("trends", {}).items() if p != path}
    data["seasonality"] = {p: v for p, v in data.get("seasonality", {}).items() if p != path}
    steps: dict[int, dict[str, Any]] = {}
    for step in data.get("plan", []):
        rest = {p: v for p, v in step.items() if p not in ("from_month", path)}
        if rest:
            steps[step["from_month"]] = rest
    integer = _key(path).split(".")[-1] in _INTEGER_FIELDS
    value = round if integer else float
    for m in range(1, len(x)):
        if x[m] != x[m - 1]:
            steps.setdefault(m + 1, {})[path] = value(x[m])
    data["plan"] = [{"from_month": month, **steps[month]} for month in sorted(steps)]
    paths.set_in(data, path, value(x[0]), scenario.name)
    return parse_scenario(data, source=f"scenario {scenario.name!r}")
