"""What a report states as its assumptions: the values that differ from the preset (the plan over time
step by step, trend by trend and season by season, and the ranges of values not known for sure, each in
words), and the scenario file's `# assumption: …` comments (the comment and the key on its line), with
names and values in the reader's language.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from sim.model import paths
from sim.model.levers import BY_KEY, LISTS
from sim.model.scenario import Scenario
from sim.report import texts

MARKERS: dict[str, str] = {"assumption": "en", "допущение": "ru"}
"""Words that open an assumption comment (`# assumption: reason`, case-insensitive), and the language
of the reason after each: `# assumption: ten years | допущение: десять лет` gives the reason in both."""

SWITCHABLE: tuple[str, ...] = ("sales_desk", "repeat", "referrals", "service_programme", "problems")
"""Sections a scenario may leave out (their names are the page's switches, `sw_…`)."""

NAME_FIELDS: tuple[str, ...] = ("name", "name_ru")
"""Fields that name a scenario or a list item (in each language)."""

OTHER_UNITS: dict[str, str] = {
    "horizon_months": "months",
    "discount_rate_annual": "share",
    "first_purchase.revenue": "money",
    "existing_customers.count": "people",
}
"""Units of the scenario's fields that are not levers (the levers' units are in `sim.model.levers`)."""


@dataclass(frozen=True)
class Assumption:
    """One `# assumption: …` comment of a scenario file."""

    path: str
    """Dotted path of the key on the comment's line (`funnel.1.delay_days`)."""
    raw: str
    """The value as written in the file."""
    reasons: dict[str, str]
    """The reason after each marker, by language (may be empty)."""
    line: int
    """Line number in the file, from 1."""

    def reason(self, lang: str) -> str:
        """The reason after the marker of `lang` if the comment has one (even empty), else the first
        reason given in another language."""
        if lang in self.reasons:
            return self.reasons[lang]
        return next((v for v in self.reasons.values() if v), "")


@dataclass(frozen=True)
class Change:
    """A value that differs between the preset and the what-if (None: absent or switched off)."""

    path: str
    """Dotted path of the value; for the plan over time and the ranges, the lever's path."""
    before: Any
    after: Any
    switch: bool = False
    """A section or list item switched on or off (its values follow as changes of their own)."""
    kind: str = ""
    """`` a value; `start` the first month; `step` a plan step (from `month` on); `trend` a trend (a
    share a month); `season` a seasonality (twelve multipliers); `range` a range (low, most likely or None,
    high)."""
    month: int | None = None
    """A plan step's first month."""
    calendar: bool = False
    """A seasonality's multipliers are by calendar month (January …), the scenario having a first month."""


# --- the scenario file's comments ----------------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]#]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_MARKER = re.compile(r"(?:^|[|/;]\s*)(" + "|".join(MARKERS) + r")\b\s*[:.\-—–]?\s*", re.IGNORECASE)


def _split_comment(line: str) -> tuple[str, str]:
    """(code, comment) of a TOML line: the first `#` outside a single-line string starts the comment."""
    quote = ""
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            return line[:i], line[i:]
        i += 1
    return line, ""


def _key_path(key: str) -> str:
    """`a . "b"` → `a.b` (quoted parts of a dotted key are taken as written, without their dots)."""
    return ".".join(part.strip().strip("\"'") for part in key.split("."))


def assumption_comments(text: str) -> list[Assumption]:
    """Every `key = value  # assumption: reason` line of a scenario's TOML text, in file order; the key's
    path counts `[[list]]` items from 0. Lines inside multi-line strings are skipped."""
    out: list[Assumption] = []
    table = ""
    counts: dict[str, int] = {}
    in_multiline = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if in_multiline in line:
                in_multiline = ""
            continue
        header = _HEADER.match(line)
        if header:
            name = _key_path(header.group(2))
            if header.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                table = f"{name}.{counts[name]}"
            else:
                table = name
            continue
        code, comment = _split_comment(line)
        for fence in ('"""', "'''"):
            if code.count(fence) % 2 == 1:
                in_multiline = fence
        key = _KEY.match(code)
        if not key or not comment:
            continue
        body = comment.lstrip("#").strip()
        marks = list(_MARKER.finditer(body))
        if not marks or marks[0].start() != 0:
            continue
        reasons: dict[str, str] = {}
        for m, after in zip(marks, [*marks[1:], None], strict=True):
            text = body[m.end() : after.start() if after else None].strip()
            reasons.setdefault(MARKERS[m.group(1).lower()], text)
        path = _key_path(key.group(1))
        out.append(
            Assumption(
                path=f"{table}.{path}" if table else path,
                raw=code[key.end() :].strip(),
                reasons=reasons,
                line=number,
            )
        )
    return out


# --- what differs from the preset ------------------------------------------------------------------

_ABSENT: Any = object()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool | str):
        return a == b or (math.isfinite(a) and math.isfinite(b) and abs(a - b) <= 1e-12 * max(1.0, abs(a)))
    return a == b


def _diff(before: Any, after: Any, path: str, out: list[Change]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in dict.fromkeys([*before, *after]):
            _diff(before.get(key, _ABSENT), after.get(key, _ABSENT), f"{path}.{key}" if path else key, out)
        return
    if isinstance(before, list) and isinstance(after, list):
        for i in range(max(len(before), len(after))):
            b = before[i] if i < len(before) else _ABSENT
            a = after[i] if i < len(after) else _ABSENT
            _diff(b, a, f"{path}.{i}", out)
        return
    if isinstance(before, dict | list) or isinstance(after, dict | list):
        # A section or list item switched on or off: say so, then list its values.
        b = None if before is _ABSENT else before
        a = None if after is _ABSENT else after
        out.append(Change(path, b, a, switch=True))
        empty: Any = {} if isinstance(b if isinstance(b, dict | list) else a, dict) else []
        _diff(
            b if isinstance(b, dict | list) else empty, a if isinstance(a, dict | list) else empty, path, out
        )
        return
    if before is _ABSENT and after is _ABSENT:
        return
    if not _same(before, after):
        out.append(Change(path, None if before is _ABSENT else before, None if after is _ABSENT else after))


OVER_TIME: tuple[str, ...] = ("start", "plan", "trends", "seasonality", "uncertainty")
"""The scenario's fields listed lever by lever (`over_time`), not value by value."""


def changes(preset: Scenario, scenario: Scenario) -> list[Change]:
    """Every value of `scenario` that differs from `preset`, in the scenario's field order; a section
    or list item switched on or off is one change (its values follow, `None` on the side without it);
    then the plan over time and the ranges, lever by lever (`over_time`)."""
    out: list[Change] = []
    before, after = preset.model_dump(mode="json"), scenario.model_dump(mode="json")
    for key in OVER_TIME:
        before.pop(key, None)
        after.pop(key, None)
    _diff(before, after, "", out)
    return [c for c in out if not _is_name(c)] + over_time(preset, scenario)


def over_time(preset: Scenario, scenario: Scenario) -> list[Change]:
    """What differs in the plan over time and the ranges: the first month, then each plan step (by month),
    trend, seasonality and range whose value differs (`None` on the side without it)."""
    out: list[Change] = []
    if preset.start != scenario.start:
        out.append(Change("start", preset.start, scenario.start, kind="start"))

    def steps(sc: Scenario) -> dict[tuple[int, str], Any]:
        return {(s.from_month, path): v for s in sc.plan for path, v in s.values}

    a, b = steps(preset), steps(scenario)
    for month, path in sorted(dict.fromkeys([*b, *a]), key=lambda k: k[0]):
        x, y = a.get((month, path)), b.get((month, path))
        if not _same(x, y):
            out.append(Change(path, x, y, kind="step", month=month))
    calendar = scenario.start is not None
    for kind, field in (("trend", "trends"), ("season", "seasonality"), ("range", "uncertainty")):
        old, new = dict(getattr(preset, field)), dict(getattr(scenario, field))
        for path in dict.fromkeys([*new, *old]):
            x, y = _plain(old.get(path)), _plain(new.get(path))
            if x != y:
                out.append(Change(path, x, y, kind=kind, calendar=calendar))
    return out


def as_change(path: str, scenario: Scenario) -> Change | None:
    """The plan step, trend, seasonality or range a scenario file's dotted path names (`plan.0.sales_desk.
    staff`, `trends.channels.0.cost_per_lead`, `seasonality.…`, `uncertainty.….high`), as a change that
    sets `scenario`'s value (for the assumptions' list, in words like the differences); None for any other
    path."""
    head, _, rest = path.partition(".")
    if head == "plan":
        index, _, lever = rest.partition(".")
        if index.isdigit() and int(index) < len(scenario.plan):
            step = scenario.plan[int(index)]
            values = dict(step.values)
            if lever in values:
                return Change(lever, None, values[lever], kind="step", month=step.from_month)
        return None
    kinds = {"trends": "trend", "seasonality": "season", "uncertainty": "range"}
    if head not in kinds:
        return None
    table = dict(getattr(scenario, head))
    if head == "uncertainty" and rest not in table and rest.rsplit(".", 1)[-1] in ("low", "mode", "high"):
        rest = rest.rsplit(".", 1)[0]
    if rest not in table:
        return None
    return Change(rest, None, _plain(table[rest]), kind=kinds[head], calendar=scenario.start is not None)


def _plain(x: Any) -> Any:
    """A trend's rate, a seasonality's multipliers or a range (low, most likely or None, high) as plain
    values."""
    if x is None or isinstance(x, int | float):
        return x
    if isinstance(x, tuple | list):
        return tuple(float(v) for v in x)
    return (x.low, x.mode, x.high)


def _is_name(change: Change) -> bool:
    """The scenario's own name, or an item's name where the item is switched on or off (its row names
    it): not a change worth a row."""
    last = change.path.rsplit(".", 1)[-1]
    if last not in NAME_FIELDS or change.switch:
        return False
    return "." not in change.path or change.before is None or change.after is None


# --- names and values in the reader's language -----------------------------------------------------


def _item_name(path: str, lang: str, *scenarios: Scenario | None) -> str:
    p = paths.parts(path)
    if len(p) >= 2 and p[0] in LISTS and isinstance(p[1], int):
        for sc in scenarios:
            item = paths.get(sc, f"{p[0]}.{p[1]}", None) if sc is not None else None
            if item is not None and not isinstance(item, dict):
                return texts.item_name(item, lang)
    return ""


def _key(path: str) -> tuple[str, str]:
    """(`section.field` or top-level field, the field) of a dotted path; list indices dropped."""
    p = [str(x) for x in paths.parts(path) if not isinstance(x, int)]
    return ".".join(p), p[-1]


def label(path: str, lang: str, *scenarios: Scenario | None) -> str:
    """A field's name as the page shows it (`channels.0.cost_per_lead` → `Цена лида: Звонки`)."""
    key, field = _key(path)
    name = _item_name(path, lang, *scenarios)
    if isinstance(paths.parts(path)[-1], int):  # a list item: its kind and name
        kind = texts.t(lang, f"rp_f_{key}") if f"rp_f_{key}" in texts.TEXTS["en"] else key
        return f"{kind}: {name}" if name else paths.bracketed(path)
    if key in BY_KEY:
        return texts.field_label(lang, key, name)
    if key in SWITCHABLE and "." not in path:
        return texts.t(lang, f"sw_{key}")
    if field in NAME_FIELDS and name:
        return f"{texts.t(lang, 'rp_f_name')}: {name}"
    text_key = f"rp_f_{key}"
    if text_key in texts.TEXTS["en"]:
        return texts.t(lang, text_key)
    return paths.bracketed(path)


def change_label(change: Change, lang: str, *scenarios: Scenario | None) -> str:
    """A change's row name as the report shows it: the field's name (`label`), or for the plan over time and
    the ranges, what it is with the lever's name (`From month 13 (January 2028): Salespeople`, `Trend: CPL:
    Classifieds`, `Not sure: Monthly churn`)."""
    if change.kind == "start":
        return texts.t(lang, "rp_f_start")
    lever = label(change.path, lang, *scenarios)
    if change.kind == "step":
        when = next(
            (d for sc in scenarios if sc is not None and (d := texts.month_date(sc, change.month or 1))), None
        )
        if when is not None:
            return texts.t(
                lang, "rp_step_date", n=change.month, date=texts.calendar_month(when, lang), lever=lever
            )
        return texts.t(lang, "rp_step", n=change.month, lever=lever)
    if change.kind in ("trend", "season", "range"):
        return texts.t(lang, f"rp_{change.kind}", lever=lever)
    return lever


def unit(path: str) -> str:
    """A field's unit (`money`, `share` …; empty if it has none)."""
    key, _ = _key(path)
    if key in BY_KEY:  # a shape of customers who differ is a plain number (its "unit" names what it is)
        return "" if BY_KEY[key].unit == "shape" else BY_KEY[key].unit
    return OTHER_UNITS.get(key, "")


def _decimals(x: float) -> int:
    for d in range(0, 5):
        if abs(round(x, d) - x) <= 1e-9 * max(1.0, abs(x)):
            return d
    return 4


_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


def value(x: Any, unit_name: str, currency: str, lang: str) -> str:
    """A field's value with its unit (`2 250 ₽`, `2,0 %`, `4 чел.`); None → `—`; a first month `YYYY-MM`
    as the calendar month (`January 2027`); text in `lang`."""
    if x is None or x is _ABSENT:
        return texts.t(lang, "dash")
    if isinstance(x, bool):
        return texts.t(lang, "rp_on" if x else "rp_off")
    if isinstance(x, dict | list):
        return texts.t(lang, "rp_on")
    if isinstance(x, str):
        key = f"rp_val_{x}"
        month = _MONTH.match(x)
        if month:
            return texts.calendar_month(dt.date(int(month.group(1)), int(month.group(2)), 1), lang)
        return texts.t(lang, key) if key in texts.TEXTS["en"] else x
    x = float(x)
    if unit_name == "share":
        return texts.percent(x, lang, max(1, _decimals(100.0 * x)))
    figure = texts.number(x, lang, 0 if abs(x) >= 1000 else _decimals(x))
    shown = texts.unit_label(lang, unit_name, currency) if unit_name else ""
    return f"{figure}{texts.NBSP}{shown}" if shown else figure


def change_value(change: Change, side: str, currency: str, lang: str) -> str:
    """One side (`before`/`after`) of a change as the report shows it (a section: on/off; a trend: `+0,5 %
    в месяц`; a seasonality: `янв 0,75; фев 0,8; …`; a range: `от 1,0 % до 4,0 %, скорее всего 2,0 %`)."""
    x = getattr(change, side)
    if change.switch:
        return texts.t(lang, "rp_off" if x in (None, [], {}) else "rp_on")
    if x is None or change.kind in ("", "start", "step"):
        return value(x, unit(change.path), currency, lang)
    if change.kind == "trend":
        rate = texts.percent(float(x), lang, max(1, _decimals(100.0 * float(x))), signed=True)
        return texts.t(lang, "rp_trend_value", rate=rate)
    if change.kind == "season":
        names = (
            texts.MONTH_SHORT.get(lang, texts.MONTH_SHORT["en"])
            if change.calendar
            else [texts.number(i, lang) for i in range(1, len(x) + 1)]
        )
        return "; ".join(f"{n} {texts.number(m, lang, _decimals(m))}" for n, m in zip(names, x, strict=True))
    low, mode, high = (None if v is None else value(v, unit(change.path), currency, lang) for v in x)
    if mode is None:
        return texts.t(lang, "rp_range_value", low=low, high=high)
    return texts.t(lang, "rp_range_mode", low=low, mode=mode, high=high)
