"""The plan over time as the page edits it, without Streamlit (and without numpy, so the page's frame
loads first): the edits the page applies to the what-if (`PlanEdits`), the tables' rows as typed
(`PlanDraft`), the levers a plan may name (`PlanLever`) and the editors' changes merged into the rows; and
the same for the ranges of values not known for sure (`Range`, the scenario's `[uncertainty]`, edited in
a table of their own).

A what-if's plan is four parts, each either as the scenario has it (None: untouched, so the scenario's
own plan steps move with their lever's slider, `sim.model.plan.move_steps`) or set by the page:

- `start`: the calendar month of month 1 (`YYYY-MM`; "" removes the scenario's);
- `steps`: (from month, lever path, value) rows: from that month on the lever takes the value;
- `trends`: (lever path, compound change a month as a share) rows;
- `seasonality`: (lever path, twelve multipliers) rows.

The tables show values in the lever widgets' units (shares in %, trends in % a month); the edits hold
model values (`docs/model.md`, "Plans over time").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.model.levers import BY_KEY
from sim.model.scenario import Scenario
from sim.report import texts

SEASON_MONTHS = 12
"""Multipliers in a seasonality (January … December with a first month, else months 1 … 12)."""
PARTS: tuple[str, ...] = ("steps", "trends", "seasonality")
"""The plan's tables, in page order."""
SEASON_COLUMNS: tuple[str, ...] = tuple(f"m{i}" for i in range(1, SEASON_MONTHS + 1))
"""The seasonality table's multiplier columns."""
COLUMNS: dict[str, tuple[str, ...]] = {
    "steps": ("from_month", "lever", "value"),
    "trends": ("lever", "rate"),
    "seasonality": ("lever", *SEASON_COLUMNS),
}
"""Each table's editable columns (`lever` holds the lever's name on the page; rows hold its path)."""
TABLE_TITLES: dict[str, str] = {"steps": "pl_steps", "trends": "pl_trends", "seasonality": "pl_seasonality"}
"""Each table's title (a text key)."""

Step = tuple[int, str, float | int]
"""(from month, lever path, model value)."""


# --- what the page applies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanEdits:
    """The plan over time the page sets, part by part; a part that is None is as the scenario has it."""

    start: str | None = None
    """`YYYY-MM`; "" for no first month (months numbered); None: the scenario's."""
    steps: tuple[Step, ...] | None = None
    """(from month, lever path, model value) rows, in the order given."""
    trends: tuple[tuple[str, float], ...] | None = None
    """(lever path, compound change a month as a share: 0.01 = +1 % a month)."""
    seasonality: tuple[tuple[str, tuple[float, ...]], ...] | None = None
    """(lever path, twelve multipliers)."""

    @property
    def empty(self) -> bool:
        """Nothing set: the scenario's own plan."""
        return self.start is None and self.steps is None and self.trends is None and self.seasonality is None

    def changes(self) -> dict[str, Any]:
        """The parts set, as `Scenario.override` takes them (`start`, `plan`, `trends`, `seasonality`)."""
        out: dict[str, Any] = {}
        if self.start is not None:
            out["start"] = self.start or None
        if self.steps is not None:
            out["plan"] = steps_table(self.steps)
        if self.trends is not None:
            out["trends"] = dict(self.trends)
        if self.seasonality is not None:
            out["seasonality"] = {path: list(m) for path, m in self.seasonality}
        return out

    def counts(self) -> tuple[int, int, int]:
        """Steps, trends and seasonal levers set (0 for a part not set)."""
        return len(self.steps or ()), len(self.trends or ()), len(self.seasonality or ())


def steps_table(steps: Sequence[Step]) -> list[dict[str, Any]]:
    """(from month, path, value) rows as the scenario's `[[plan]]` tables: one per month, in month order
    (a later row for the same lever and month wins)."""
    by_month: dict[Any, dict[str, Any]] = {}
    for month, path, value in steps:
        by_month.setdefault(month, {})[path] = value
    return [{"from_month": m, **by_month[m]} for m in sorted(by_month)]


def of_scenario(scenario: Scenario) -> PlanEdits:
    """A scenario's own plan, every part set (its steps row by row, in month order)."""
    return PlanEdits(
        start=scenario.start or "",
        steps=tuple((s.from_month, path, value) for s in scenario.plan for path, value in s.values),
        trends=tuple(scenario.trends),
        seasonality=tuple((path, tuple(m)) for path, m in scenario.seasonality),
    )


def apply(scenario: Scenario, edits: PlanEdits) -> Scenario:
    """`scenario` with the parts of its plan that `edits` sets; ScenarioError (naming the place, the value
    and the rule) if the plan is not valid."""
    changes = edits.changes()
    return scenario.override(changes) if changes else scenario


def _same_steps(a: Sequence[Step], b: Sequence[Step]) -> bool:
    """Two sets of step rows give the same plan (rows in any order within a month)."""
    return steps_table(a) == steps_table(b)


def differing(edits: PlanEdits, scenario: Scenario) -> PlanEdits:
    """The parts of `edits` that differ from the scenario's own plan (what a link keeps)."""
    own = of_scenario(scenario)
    steps, trends, season = edits.steps, edits.trends, edits.seasonality
    return PlanEdits(
        start=edits.start if edits.start is not None and edits.start != own.start else None,
        steps=steps if steps is not None and not _same_steps(steps, own.steps or ()) else None,
        trends=trends if trends is not None and dict(trends) != dict(own.trends or ()) else None,
        seasonality=season if season is not None and dict(season) != dict(own.seasonality or ()) else None,
    )


# --- the levers a plan may name ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanLever:
    """A lever the plan's tables offer: its path, its name on the page and how its values are shown."""

    path: str
    label: str
    """The lever's name with its unit in the page's language (`Monthly churn, %`): what the table shows."""
    percent: bool
    """Shown ×100 (a share in %)."""
    integer: bool
    """Whole numbers only (steps only)."""
    rule: str
    """The catalogue's `plan`: `all` (steps, trends, seasonality) or `steps`."""

    def to_model(self, value: float) -> float | int:
        """A table's value → the model's (a whole-number lever's value that is not whole stays as it is:
        the scenario model says it must be whole)."""
        if self.integer:
            return int(value) if float(value).is_integer() else float(value)
        return value / 100.0 if self.percent else float(value)

    def to_widget(self, value: float) -> float | int:
        """A model value → the table's."""
        if self.integer:
            return round(value)
        return round(float(value) * 100.0, 10) if self.percent else float(value)


def offered(levers: Mapping[str, PlanLever], part: str) -> list[PlanLever]:
    """The levers a table offers: any plannable lever for steps; rates and prices (`all`) for trends and
    seasonality."""
    return [lv for lv in levers.values() if part == "steps" or lv.rule == "all"]


def unique_labels(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """(path, label) pairs → label by path, a label used twice (two channels of one name) numbered."""
    out: dict[str, str] = {}
    seen: dict[str, int] = {}
    for path, label in pairs:
        n = seen.get(label, 0) + 1
        seen[label] = n
        out[path] = label if n == 1 else f"{label} ({n})"
    return out


def plan_rule(key: str) -> str:
    """The catalogue's `plan` for a lever key (`section.field`)."""
    return BY_KEY[key].plan if key in BY_KEY else "none"


# --- the tables as typed -------------------------------------------------------------------------------

Row = dict[str, Any]
"""A table row as typed: `path` (None until chosen) and the table's value columns (None when empty)."""


@dataclass(frozen=True)
class PlanDraft:
    """The plan's tables and first month as typed on the page (None: a part not touched, shown as the
    scenario has it). Values in the tables' units (shares in %, trends in % a month)."""

    start: str | None = None
    steps: tuple[Row, ...] | None = None
    trends: tuple[Row, ...] | None = None
    seasonality: tuple[Row, ...] | None = None

    def part(self, name: str) -> tuple[Row, ...] | None:
        """The rows of a table (`steps`, `trends`, `seasonality`), None if not touched."""
        return getattr(self, name)


def _num(x: Any) -> float | None:
    """A cell's number, None when empty (None, NaN, "")."""
    if x is None or isinstance(x, bool):
        return None
    if isinstance(x, str):
        x = x.strip().replace(",", ".").replace(" ", "").replace(texts.NBSP, "").replace(texts.THIN, "")
        if not x:
            return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def rows_of(edits: PlanEdits, scenario: Scenario, levers: Mapping[str, PlanLever]) -> PlanDraft:
    """The tables' rows for `edits` on `scenario`: each part as set, or as the scenario has it; values in
    the tables' units (a lever the tables do not offer keeps its model value)."""
    own = of_scenario(scenario)
    start = edits.start if edits.start is not None else own.start
    steps = edits.steps if edits.steps is not None else own.steps or ()
    trends = edits.trends if edits.trends is not None else own.trends or ()
    season = edits.seasonality if edits.seasonality is not None else own.seasonality or ()

    def shown(path: str, value: float) -> float:
        lever = levers.get(path)
        return float(lever.to_widget(value)) if lever is not None else float(value)

    return PlanDraft(
        start=start,
        steps=tuple({"from_month": m, "path": p, "value": shown(p, v)} for m, p, v in steps),
        trends=tuple({"path": p, "rate": round(100.0 * r, 10)} for p, r in trends),
        seasonality=tuple({"path": p, **dict(zip(SEASON_COLUMNS, m, strict=True))} for p, m in season),
    )


def shown_draft(draft: PlanDraft, edits_shown: PlanDraft) -> PlanDraft:
    """The tables as the page shows them: each part as typed, or (not touched) as `edits_shown`."""
    return PlanDraft(
        start=draft.start if draft.start is not None else edits_shown.start,
        steps=draft.steps if draft.steps is not None else edits_shown.steps,
        trends=draft.trends if draft.trends is not None else edits_shown.trends,
        seasonality=draft.seasonality if draft.seasonality is not None else edits_shown.seasonality,
    )


@dataclass(frozen=True)
class Read:
    """The edits a draft makes, and a note for each row that is not used (in the page's language)."""

    edits: PlanEdits
    notes: list[str] = field(default_factory=list)


def read(draft: PlanDraft, levers: Mapping[str, PlanLever], lang: str) -> Read:
    """The edits of the rows typed: rows not complete yet, or whose lever is not in the scenario now (its
    part switched off), are left out with a note; a lever set twice (for the same month) keeps its last
    row, with a note. Values in the model's units; checking them is the scenario model's job."""
    notes: list[str] = []

    def title(part: str) -> str:
        return texts.t(lang, TABLE_TITLES[part]).split(":")[0]

    def usable(part: str, n: int, row: Row, values: Sequence[float | None]) -> PlanLever | None:
        path = row.get("path")
        if not path or any(v is None for v in values):
            notes.append(texts.t(lang, "pl_incomplete", table=title(part), n=n))
            return None
        lever = levers.get(path)
        if lever is None or (part != "steps" and lever.rule != "all"):
            notes.append(texts.t(lang, "pl_absent", table=title(part), n=n, lever=path))
            return None
        return lever

    def twice(part: str, n: int, lever: PlanLever, month: int | None = None) -> None:
        when = texts.t(lang, "pl_twice_when", n=month) if month is not None else ""
        notes.append(texts.t(lang, "pl_twice", table=title(part), n=n, lever=lever.label, when=when))

    steps = None
    if draft.steps is not None:
        kept: dict[tuple[int, str], Step] = {}
        for n, row in enumerate(draft.steps, start=1):
            month, value = _num(row.get("from_month")), _num(row.get("value"))
            lever = usable("steps", n, row, [month, value])
            if lever is None or month is None or value is None:
                continue
            key = (int(month) if month.is_integer() else month, lever.path)  # not whole: the model says so
            if key in kept:
                twice("steps", n, lever, key[0])
            kept[key] = (key[0], lever.path, lever.to_model(value))
        steps = tuple(kept.values())
    trends = None
    if draft.trends is not None:
        rates: dict[str, float] = {}
        for n, row in enumerate(draft.trends, start=1):
            rate = _num(row.get("rate"))
            lever = usable("trends", n, row, [rate])
            if lever is None or rate is None:
                continue
            if lever.path in rates:
                twice("trends", n, lever)
            rates[lever.path] = rate / 100.0
        trends = tuple(rates.items())
    season = None
    if draft.seasonality is not None:
        multipliers: dict[str, tuple[float, ...]] = {}
        for n, row in enumerate(draft.seasonality, start=1):
            values = [_num(row.get(c)) for c in SEASON_COLUMNS]
            lever = usable("seasonality", n, row, values)
            if lever is None:
                continue
            if lever.path in multipliers:
                twice("seasonality", n, lever)
            multipliers[lever.path] = tuple(float(v) for v in values if v is not None)
        season = tuple(multipliers.items())
    start = None if draft.start is None else draft.start.strip()
    return Read(PlanEdits(start, steps, trends, season), notes)


# --- the editors' changes ------------------------------------------------------------------------------


def merge(rows: Sequence[Row], delta: Mapping[str, Any], paths: Mapping[str, str]) -> tuple[Row, ...]:
    """The rows after a table editor's changes (`delta`: Streamlit's `edited_rows`, `added_rows` and
    `deleted_rows`, positions in `rows`); a `lever` cell (a lever's name on the page) is read back into
    the row's `path` through `paths` (name → path; a name not in it keeps as it is)."""

    def cells(row: Row, change: Mapping[str, Any]) -> Row:
        out = dict(row)
        for column, value in change.items():
            if column == "lever":
                out["path"] = paths.get(value, value) if value else None
            elif column != "date":  # the date column is read-only (shown with a first month)
                out[column] = value
        return out

    out = [dict(r) for r in rows]
    for i, change in (delta.get("edited_rows") or {}).items():
        k = int(i)
        if 0 <= k < len(out) and isinstance(change, Mapping):
            out[k] = cells(out[k], change)
    for added in delta.get("added_rows") or []:
        if isinstance(added, Mapping):
            out.append(cells({}, added))
    deleted = {int(i) for i in (delta.get("deleted_rows") or [])}
    return tuple(r for k, r in enumerate(out) if k not in deleted)


def has_changes(delta: Any) -> bool:
    """Whether a table editor's state holds any change."""
    if not isinstance(delta, Mapping):
        return False
    return bool(delta.get("edited_rows") or delta.get("added_rows") or delta.get("deleted_rows"))


# --- ranges of values not known for sure (`[uncertainty]`) ------------------------------------------------

Range = tuple[str, float | int, float | int | None, float | int]
"""(lever path, lowest, most likely or None, highest), in the model's units."""
RANGE_COLUMNS: tuple[str, ...] = ("lever", "low", "mode", "high")
"""The ranges table's columns (`lever` holds the lever's name on the page; rows hold its path)."""


def ranges_of(scenario: Scenario) -> tuple[Range, ...]:
    """A scenario's own ranges (`[uncertainty]`), in its order."""
    return tuple((path, r.low, r.mode, r.high) for path, r in scenario.uncertainty)


def ranges_table(ranges: Sequence[Range]) -> dict[str, dict[str, float | int]]:
    """Ranges as `Scenario.override` takes `uncertainty` (a most likely value only where one is given)."""
    return {
        path: {"low": low, "high": high} | ({"mode": mode} if mode is not None else {})
        for path, low, mode, high in ranges
    }


def _range_key(ranges: Sequence[Range]) -> dict[str, tuple[float, float | None, float]]:
    return {p: (float(lo), None if m is None else float(m), float(hi)) for p, lo, m, hi in ranges}


def same_ranges(a: Sequence[Range], b: Sequence[Range]) -> bool:
    """Two sets of ranges give the same `[uncertainty]` (in any order)."""
    return _range_key(a) == _range_key(b)


def apply_ranges(scenario: Scenario, ranges: Sequence[Range] | None) -> Scenario:
    """`scenario` with these ranges as its `[uncertainty]` (None: its own); ScenarioError (naming the
    lever, the range and the rule) if a range is not valid."""
    if ranges is None or same_ranges(ranges, ranges_of(scenario)):
        return scenario
    return scenario.override({"uncertainty": ranges_table(ranges)})


def differing_ranges(ranges: Sequence[Range] | None, scenario: Scenario) -> tuple[Range, ...] | None:
    """The ranges if they differ from the scenario's own (what a link keeps), else None."""
    if ranges is None or same_ranges(ranges, ranges_of(scenario)):
        return None
    return tuple(ranges)


def range_rows(ranges: Sequence[Range], levers: Mapping[str, PlanLever]) -> tuple[Row, ...]:
    """The ranges table's rows for `ranges`: values in the levers' widget units (shares in %; a lever the
    table does not offer keeps its model values)."""

    def shown(path: str, value: float | int | None) -> float | None:
        if value is None:
            return None
        lever = levers.get(path)
        return float(lever.to_widget(value)) if lever is not None else float(value)

    return tuple(
        {"path": p, "low": shown(p, lo), "mode": shown(p, m), "high": shown(p, hi)} for p, lo, m, hi in ranges
    )


def read_ranges(
    rows: Sequence[Row], levers: Mapping[str, PlanLever], lang: str
) -> tuple[tuple[Range, ...], list[str]]:
    """The ranges the rows typed give (model units) and a note for each row not used: not complete yet
    (a lever, the lowest and the highest value are needed; the most likely is optional), or its lever not
    in the scenario now (its part off); a lever given twice keeps its last row, with a note. Checking the
    values is the scenario model's job."""
    notes: list[str] = []
    kept: dict[str, Range] = {}
    for n, row in enumerate(rows, start=1):
        path = row.get("path")
        low, mode, high = _num(row.get("low")), _num(row.get("mode")), _num(row.get("high"))
        if not path or low is None or high is None:
            notes.append(texts.t(lang, "un_incomplete", n=n))
            continue
        lever = levers.get(path)
        if lever is None:
            notes.append(texts.t(lang, "un_absent", n=n, lever=path))
            continue
        if lever.path in kept:
            notes.append(texts.t(lang, "un_twice", n=n, lever=lever.label))
        model_mode = None if mode is None else lever.to_model(mode)
        kept[lever.path] = (lever.path, lever.to_model(low), model_mode, lever.to_model(high))
    return tuple(kept.values()), notes
