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
    """The lever at `path` in months 1 … horizon, as floats (the base value where nothing is planned); a
    new array each call (computed once per scenario object and path)."""
    cached = _memo(scenario).values
    x = cached.get(path)
    if x is None:
        steps, factor = _steps_and_factor(scenario, path)
        x = cached[path] = steps * factor
    return x.copy()


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


class _Memo:
    """What is kept of one scenario object: its months and its levers' values by path."""

    __slots__ = ("items", "months", "open_days", "ref", "values")

    def __init__(self, ref: weakref.ref) -> None:
        self.ref = ref
        self.months: tuple[Scenario, ...] | None = None
        self.values: dict[str, np.ndarray] = {}
        self.items: dict[_Item, tuple[list[str], list[list[Any]]]] | None = None
        self.open_days: float | None = None


_cache: dict[int, _Memo] = {}


def _memo(scenario: Scenario) -> _Memo:
    """The cache entry of a scenario object (kept while the object lives)."""
    key = id(scenario)
    hit = _cache.get(key)
    if hit is not None and hit.ref() is scenario:
        return hit
    cache = _cache  # the callback may run while the interpreter exits and module globals are gone
    memo = cache[key] = _Memo(weakref.ref(scenario, lambda _r: cache.pop(key, None)))
    return memo


_set = object.__setattr__
_CHEAP = frozenset(
    cls
    for cls in (Scenario, *SECTIONS.values())
    if not cls.__private_attributes__ and cls.model_config.get("extra") != "allow"
)
"""The scenario's models that `_copy` copies directly: no private attributes, no extra fields."""


def _copy(model: Any, update: dict[str, Any]) -> Any:
    """`model.model_copy(update=update)` (the same fields, the same fields set, no validation) without
    pydantic's general copy: about a microsecond instead of five."""
    cls = type(model)
    if cls not in _CHEAP:
        return model.model_copy(update=update)
    new = object.__new__(cls)
    fields = model.__dict__.copy()
    fields.update(update)
    _set(new, "__dict__", fields)
    _set(new, "__pydantic_extra__", None)
    _set(new, "__pydantic_fields_set__", model.__pydantic_fields_set__ | update.keys())
    _set(new, "__pydantic_private__", None)
    return new


def months(scenario: Scenario) -> tuple[Scenario, ...]:
    """Month 1 … horizon as scenarios without a plan, each holding that month's lever values (unvalidated
    copies: `check` has validated every month's values). Months with the same values are the same
    object, and so is a section item (a section, or one item of a list section) whose planned values are
    the same in two months. Cached per scenario object."""
    memo = _memo(scenario)
    if memo.months is None:
        memo.months = _build_months(scenario)
    return memo.months


_Item = tuple[str, int | None]
"""A section item: (section, None) for a section, (section, index) for one item of a list section."""


def _item(path: str) -> tuple[_Item, str]:
    """`channels.0.cost_per_lead` -> (("channels", 0), "cost_per_lead")."""
    section, *rest = path.split(".")
    return ((section, int(rest[0])), rest[1]) if section in LISTS else ((section, None), rest[0])


def _node(scenario: Scenario, item: _Item) -> Any:
    """The section item's object in `scenario`."""
    section, index = item
    node = getattr(scenario, section)
    return node if index is None else node[index]


def _planned_items(scenario: Scenario) -> dict[_Item, tuple[list[str], list[list[Any]]]]:
    """The planned levers by section item: their fields and their values month by month (whole numbers
    as ints), in the order of `planned_paths`."""
    items: dict[_Item, tuple[list[str], list[list[Any]]]] = {}
    for path in planned_paths(scenario):
        x = values(scenario, path).tolist()
        item, field = _item(path)
        fields, columns = items.setdefault(item, ([], []))
        fields.append(field)
        columns.append([round(v) for v in x] if field in _INTEGER_FIELDS else x)
    return items


def _item_by_month(node: Any, fields: list[str], columns: list[list[Any]]) -> list[Any]:
    """A section item in each month: `node` with the month's values of `fields`, one copy per distinct
    set of values."""
    made: dict[tuple[Any, ...], Any] = {}
    out = []
    for now in zip(*columns, strict=True):
        obj = made.get(now)
        if obj is None:
            obj = made[now] = _copy(node, dict(zip(fields, now, strict=True)))
        out.append(obj)
    return out


def _assemble(
    bases: list[Scenario], fixed: dict[str, Any], items: dict[_Item, Any], by_month: dict[_Item, list[Any]]
) -> tuple[Scenario, ...]:
    """Month m = `bases[m]` with the fields `fixed`, the section items `items` (the same every month) and
    the items of `by_month` (month m's at index m); a month the same object as another with the same
    base and items."""
    keys = list(by_month)
    const: dict[str, list[tuple[int, Any]]] = {}  # list sections: (index, item) the same every month
    for (section, index), obj in items.items():
        const.setdefault(section, []).append((index, obj))  # type: ignore[arg-type]
    varying: dict[str, list[tuple[int, int]]] = {}  # list sections: (index, position in a month's combo)
    plain: list[tuple[str, int]] = []  # other sections: (section, position in a month's combo)
    for k, (section, index) in enumerate(keys):
        if index is None:
            plain.append((section, k))
        else:
            varying.setdefault(section, []).append((index, k))
    lists = list(dict.fromkeys([*const, *varying]))
    tuples: dict[tuple[str, int], tuple[Any, ...]] = {}  # (section, id of a base's tuple) -> with `const`
    made: dict[tuple[int, ...], Scenario] = {}
    out: list[Scenario] = []
    if not keys and all(type(base) in _CHEAP for base in bases):
        return _assemble_fixed(bases, fixed, const, lists)
    combos = list(zip(*by_month.values(), strict=True)) if keys else [()] * len(bases)
    for base, combo in zip(bases, combos, strict=True):
        key = (id(base), *map(id, combo))  # the objects are alive (in `bases`, `by_month`) while in use
        month = made.get(key)
        if month is None:
            update = dict(fixed)
            for section in lists:
                node = getattr(base, section)
                if section in varying:
                    node = list(node)
                    for index, obj in const.get(section, ()):
                        node[index] = obj
                    for index, k in varying[section]:
                        node[index] = combo[k]
                    update[section] = tuple(node)
                else:  # the same items every month: one tuple per distinct tuple of the bases
                    hit = tuples.get((section, id(node)))  # `node` is alive (in `bases`) while in use
                    if hit is None:
                        hit = list(node)
                        for index, obj in const[section]:
                            hit[index] = obj
                        hit = tuples[section, id(node)] = tuple(hit)
                    update[section] = hit
            for section, k in plain:
                update[section] = combo[k]
            month = made[key] = _copy(base, update)
        out.append(month)
    return tuple(out)


def _assemble_fixed(
    bases: list[Scenario], fixed: dict[str, Any], const: dict[str, list[tuple[int, Any]]], lists: list[str]
) -> tuple[Scenario, ...]:
    """`_assemble` with nothing built month by month (the same fields and items in every month), the
    copies made here as `_copy` makes them: the same months, with less to do per month."""
    tuples: dict[tuple[str, int], tuple[Any, ...]] = {}
    made: dict[int, Scenario] = {}
    fields_set: dict[int, set[str]] = {}
    out: list[Scenario] = []
    for base in bases:
        month = made.get(id(base))  # `base` is alive (in `bases`) while in use
        if month is None:
            update = dict(fixed)
            for section in lists:
                node = getattr(base, section)
                hit = tuples.get((section, id(node)))
                if hit is None:
                    hit = list(node)
                    for index, obj in const[section]:
                        hit[index] = obj
                    hit = tuples[section, id(node)] = tuple(hit)
                update[section] = hit
            own = base.__pydantic_fields_set__
            names = fields_set.get(id(own))  # `own` is alive (its month in `bases`) while in use
            if names is None:
                names = fields_set[id(own)] = own | update.keys()
            fields = base.__dict__.copy()
            fields.update(update)
            month = made[id(base)] = object.__new__(type(base))
            _set(month, "__dict__", fields)
            _set(month, "__pydantic_extra__", None)
            _set(month, "__pydantic_fields_set__", set(names))
            _set(month, "__pydantic_private__", None)
        out.append(month)
    return tuple(out)


def _build_months(scenario: Scenario) -> tuple[Scenario, ...]:
    """`months` of a scenario object not seen before."""
    H = scenario.horizon_months
    flat = _copy(scenario, {"plan": (), "trends": (), "seasonality": ()})
    if not scenario.planned:
        return (flat,) * H
    by_month = {
        item: _item_by_month(_node(flat, item), fields, columns)
        for item, (fields, columns) in _planned_items(scenario).items()
    }
    return _assemble([flat] * H, {}, {}, by_month)


_SAME = ("horizon_months", "start")
"""Fields two scenarios must share for one's months to be derived from the other's (`derive_months`)."""
_PLANS = ("plan", "trends", "seasonality")


def derive_months(scenario: Scenario, like: Scenario) -> bool:
    """Build `months(scenario)` from `months(like)` when that is exact, and say whether it was done.

    For a scenario that differs from `like` in a few levers (the draws of `[uncertainty]`): both must
    plan the same levers over the same horizon and start. Month m is then `like`'s month m with
    `scenario`'s own values where the two differ: a section item that differs and nothing plans is
    `scenario`'s item in every month; a planned item that differs (or whose planned values differ) is
    built month by month as `months` builds it; the rest is shared. The same values, month by month, as
    `months` would build (two months are the same object only if their values are the same), for about
    one top-level copy per distinct month. Does nothing (False) if `scenario`'s months are already built
    or the two do not qualify; `months(scenario)` then builds them in full."""
    memo = _memo(scenario)
    if memo.months is not None or scenario is like or not (scenario.planned and like.planned):
        return False
    if any(getattr(scenario, f) != getattr(like, f) for f in _SAME):
        return False
    if scenario.__pydantic_fields_set__ != like.__pydantic_fields_set__:
        return False
    if planned_paths(scenario) != planned_paths(like):
        return False
    like_memo = _memo(like)
    if like_memo.items is None:
        like_memo.items = _planned_items(like)
    theirs = like_memo.items
    mine = theirs if _same_planned_values(scenario, like) else _planned_items(scenario)
    rebuild = {item for item in mine if mine[item][1] != theirs[item][1]}
    fixed: dict[str, Any] = {}  # top-level fields taken from `scenario` as they are
    items: dict[_Item, Any] = {}  # items of list sections not planned, taken from `scenario` as they are
    for name in type(scenario).model_fields:
        if name in _SAME or name in _PLANS:
            continue
        a, b = getattr(scenario, name), getattr(like, name)
        if a is b or a == b:
            continue
        if name in LISTS:
            if len(a) != len(b):
                return False
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                if x != y:
                    if (name, i) in mine:
                        rebuild.add((name, i))
                    else:
                        items[name, i] = x
        elif (name, None) in mine:
            rebuild.add((name, None))
        else:
            fixed[name] = a
    by_month = {item: _item_by_month(_node(scenario, item), *mine[item]) for item in mine if item in rebuild}
    memo.months = _assemble(list(months(like)), fixed, items, by_month)
    if like.sales_desk is not None and "sales_desk" not in fixed and ("sales_desk", None) not in by_month:
        memo.open_days = staff_open_days(like)  # each month's desk is like's (the same object)
    return True


def _same_planned_values(scenario: Scenario, like: Scenario) -> bool:
    """True if every planned lever has the same values month by month in both (of the same horizon and
    start): the same plan, trends and seasonality, and the same base values (`_steps_and_factor` reads
    nothing else), to the sign of a zero."""
    if any(
        getattr(scenario, f) is not getattr(like, f) and getattr(scenario, f) != getattr(like, f)
        for f in _PLANS
    ):
        return False
    for path in planned_paths(scenario):
        a, b = float(paths.get(scenario, path)), float(paths.get(like, path))
        if a != b or math.copysign(1.0, a) != math.copysign(1.0, b):
            return False
    return True


def series(scenario: Scenario, figure: Callable[[Scenario], float]) -> np.ndarray:
    """`figure` (e.g. `lambda s: s.effective_churn`) of each month 1 … horizon, as a float array."""
    out: list[float] = []
    previous = None
    for s in months(scenario):
        out.append(out[-1] if s is previous else figure(s))
        previous = s
    return np.array(out, dtype=float)


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
    memo = _memo(scenario)
    if memo.open_days is None:
        memo.open_days = _staff_open_days(scenario)
    return memo.open_days


def _staff_open_days(scenario: Scenario) -> float:
    """`staff_open_days` of a scenario with a desk, not remembered."""
    total = end = 0.0
    previous = None
    for m, s in enumerate(months(scenario)):
        desk = s.sales_desk
        # the month's start is the previous month's end: the same figure when the desk is the same object
        start = end if desk is previous else desk.open_days(m * MONTH_DAYS)
        end = desk.open_days((m + 1) * MONTH_DAYS)
        total += desk.staff * (end - start)
        previous = desk
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
