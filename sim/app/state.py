"""The app's state without Streamlit: presets, switches, lever fields and their widgets, the link, and the
session's settings.

The page is a preset (or an uploaded file) + switches (optional parts on or off) + customers alike or
different (the retention model; α and β are levers only when they differ) + changed lever values (dotted
path → value, as in `Scenario.override`) + the plan over time (first month, steps, trends, seasonality:
`sim.app.plans`) + the ranges of values not known for sure (`[uncertainty]`) + view settings + the what-ifs
pinned for comparison (each a name with its own switches, retention model, lever changes, plan and ranges
against the preset). All of it round-trips through the URL's query
parameters (`encode_view` / `decode_view`), so a copied link reproduces the view. The functions on
the session take Streamlit's session state as a plain mapping.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import zlib
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from sim.app import plans
from sim.app.plans import PlanDraft, PlanEdits, PlanLever, Range, Row
from sim.model import paths
from sim.model.levers import all_levers, model_bounds  # the same catalogue and bounds as the decisions
from sim.model.numbers import parse_number, parse_whole
from sim.model.scenario import MAX_FILE_BYTES, Scenario, ScenarioError, load_scenario, loads_scenario
from sim.report import texts

T = TypeVar("T")

SWITCHES: tuple[str, ...] = ("sales_desk", "repeat", "referrals", "service_programme", "problems")
"""Optional parts of a scenario the page turns on and off."""

DONOR_ORDER: tuple[str, ...] = ("car_dealer_service",)
"""Presets whose sections fill a switched-on part first (then any preset that has it, by file name)."""

UPLOAD = "upload"
"""The preset key of an uploaded scenario."""
FITTED = "fitted"
"""The preset key of the scenario fitted to the user's CRM export (the "Your data" page)."""
FITTED_SOURCE = "pg_fitted_source"
"""Session key: the packed TOML of the fitted scenario last opened in the what-if (`pack_source`)."""
OWN_SOURCES: tuple[str, ...] = (UPLOAD, FITTED)
"""Preset keys of scenarios that are not shipped: the link keeps their TOML (`src`)."""
PAGES: tuple[str, ...] = ("whatif", "data")
"""The app's pages: the what-if, and "Your data" (a scenario fitted to a CRM export)."""

DEFAULT_PRESET = "car_dealer"
DEFAULT_LANG = "en"
DEFAULT_REPLICATIONS = 20
DEFAULT_SEED = 1
MAX_REPLICATIONS = 1000
MAX_SOURCE_CHARS = 16_000
"""Longest packed scenario accepted from a link."""
DEFAULT_MAX_LOST = 0.05
"""Answers: the share of leads the desk may lose, unless the user sets another."""

TABS: tuple[str, ...] = (
    "flow",
    "plan",
    "channels",
    "cohorts",
    "sensitivity",
    "uncertainty",
    "desk",
    "programme",
    "answers",
)
SENSITIVITY_METRICS: tuple[str, ...] = (
    "break_even_month",
    "final_cumulative_cash",
    "max_cash_need",
    "ltv_to_cac",
    "payback_months",
)


def default_by_month(horizon_months: int) -> int:
    """Answers: break even by this month, unless the user sets another (half the horizon)."""
    return horizon_months // 2


@dataclass(frozen=True)
class Checked(Generic[T]):
    """A value read from a link or the session, and why each part of it that could not be used was
    skipped."""

    value: T
    problems: list[str] = field(default_factory=list)


RETENTION_MODELS: tuple[str, ...] = ("constant", "sbg")
"""How customers leave (`Retention.model`): all alike, or each with its own churn (customers differ)."""
SHAPE_PATHS: tuple[str, ...] = ("retention.alpha", "retention.beta")
"""The shapes of customers who differ (sBG): levers only with `model = "sbg"` (None otherwise)."""

_SLIDER_FIELDS = {"hours_per_day", "interval_months"}
_SMALL_RATES = {"monthly_churn", "visit_problem_probability", "leave_probability_per_day"}
"""Shares whose useful values are a few percent: a number box (steps of 0.1 %), not a 0–100 % slider."""
_UNIT_STEP = {
    "money": 100.0,
    "money/month": 1000.0,
    "money/year": 10000.0,
    "leads/month": 10.0,
    "days": 0.5,
    "minutes": 1.0,
    "hours": 0.5,
    "per year": 0.05,
    "×": 0.1,
    "contacts/month": 0.1,
    "share": 0.1,
    "shape": 0.1,
}


@dataclass(frozen=True)
class FieldSpec:
    """One lever widget: where it writes, how it is shown, and its bounds from the scenario model."""

    path: str
    """Dotted path, as in `Scenario.override`."""
    key: str
    """`section.field` (list items by their section), for labels."""
    name: str
    """The list item's name (channel, funnel stage, repeat stream), else empty."""
    group: str
    """One of `sim.levers.GROUPS` (Attract, Convert, Keep, Grow, Refer)."""
    unit: str
    integer: bool
    low: float
    """Smallest valid model value."""
    high: float
    """Largest valid model value."""
    low_open: bool
    optional: bool
    """None is valid (shown as an empty box)."""
    percent: bool
    """Shown ×100 (a share as a percentage)."""
    slider: bool
    step: float
    """Widget step, in widget units."""
    decimals: int
    """Decimals shown, in widget units."""
    name_ru: str | None = None
    """The list item's Russian name (`texts.item_name` picks the page's), else None."""

    @property
    def widget_low(self) -> float:
        """Smallest widget value (an open bound moves up by one step)."""
        low = self.low * (100.0 if self.percent else 1.0)
        return low + self.step if self.low_open else low

    @property
    def widget_high(self) -> float:
        """Largest widget value."""
        return self.high * (100.0 if self.percent else 1.0)

    def to_widget(self, value: float | None) -> float | int | None:
        """Model value → widget value."""
        if value is None:
            return None
        if self.integer:
            return int(value)
        return round(float(value) * 100.0, 10) if self.percent else float(value)

    def to_model(self, value: float | None) -> float | int | None:
        """Widget value → model value."""
        if value is None:
            return None
        if self.integer:
            return round(value)
        return float(value) / 100.0 if self.percent else float(value)

    def check(self, value: float | None) -> str | None:
        """Why a model value is outside this field's bounds, or None if it is fine."""
        if value is None:
            return None if self.optional else "a number is required"
        if not math.isfinite(value):
            return "must be a finite number"
        if self.integer and value != int(value):
            return "must be a whole number"
        if value < self.low or (self.low_open and value <= self.low) or value > self.high:
            return f"must be in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"
        return None


def _decimals(step: float, value: float | None) -> int:
    """Decimals that show every multiple of `step` and `value` itself (up to 4 more)."""
    d = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    if value is not None and value != 0:
        for extra in range(0, 5):
            if abs(round(value, d + extra) - value) < 1e-9 * max(1.0, abs(value)):
                return d + extra
        return d + 4
    return d


def _value_decimals(value: float) -> int:
    """Decimals `value` itself needs (`2.0` → 0, `1.5` → 1), at most 6."""
    for d in range(0, 7):
        if abs(round(value, d) - value) < 1e-9 * max(1.0, abs(value)):
            return d
    return 6


PLAIN_FORMAT = "%.12g"
"""A number box's format showing each value with no needless decimals (`2`, `2.5`, `30000000`)."""


def _step(unit: str, integer: bool, value: float | None, percent: bool) -> float:
    if integer:
        return 1.0
    base = _UNIT_STEP.get(unit, 1.0)
    if percent or unit == "shape" or value is None or value <= 0:  # a shape goes below 1 too
        return base
    return max(base, 10.0 ** (math.floor(math.log10(value)) - 1))


def fields(scenario: Scenario) -> list[FieldSpec]:
    """The lever widgets for the parts present in `scenario`, in page order (the lever catalogue's); the
    shapes of customers who differ (α, β) only when they do (`retention.model = "sbg"`), never empty."""
    out: list[FieldSpec] = []
    for lever in all_levers(scenario):
        value = paths.get(scenario, lever.path)
        shape = lever.path in SHAPE_PATHS
        if shape and value is None:  # churn the same for everyone: no shapes
            continue
        name = lever.key.split(".")[1]
        percent = lever.unit == "share"
        step = _step(lever.unit, lever.integer, value, percent)
        shown = None if value is None else (float(value) * 100.0 if percent else float(value))
        item = paths.get(scenario, lever.path.rsplit(".", 1)[0]) if lever.name else None
        out.append(
            FieldSpec(
                path=lever.path,
                key=lever.key,
                name=lever.name,
                name_ru=getattr(item, "name_ru", None),
                group=lever.group,
                unit=lever.unit,
                integer=lever.integer,
                low=lever.low,
                high=lever.high,
                low_open=lever.low_open,
                optional=lever.optional and not shape,
                percent=percent,
                slider=(percent and lever.high <= 1.0 and name not in _SMALL_RATES) or name in _SLIDER_FIELDS,
                step=step,
                decimals=0 if lever.integer else _decimals(step, shown),
            )
        )
    return out


@dataclass(frozen=True)
class Widget:
    """How a lever's widget is drawn (widget units)."""

    slider: bool
    """A slider, else a number box."""
    label: str
    """The lever's name and unit, in the page's language."""
    low: float | int
    high: float | int
    step: float | int
    format: str
    """printf-style, as Streamlit takes it (`%d`, `%.1f`)."""
    placeholder: str | None
    """What an empty box says (an optional lever), else None."""
    help: str | None = None
    """The widget's tooltip (what a shape of customers who differ does), else None."""


def widget(
    spec: FieldSpec,
    default: float | int | None,
    lang: str,
    currency: str,
    value: float | int | None = None,
    uncertain: str = "",
) -> Widget:
    """A lever's widget: a slider for shares and short ranges, else a number box; bounds from the model
    (a float widget's lower bound reaches down to `default`, the scenario's value, if it is below).

    The browser's box writes a number only as `30000000` or `2.5` (Streamlit's formats must print a plain
    number: no thousands separator, no decimal comma). So the box shows no needless decimals (`2`, not
    `2.0`, unless the scenario's own value shows the step's decimals), and with the box's current `value`
    the label repeats it the page's way where that reads differently: `…, ₽ a year: 30 M`, `…, %: 2,5`.
    `uncertain` is the lever's range when the user is not sure of it (`range_text`), said after the label."""
    label = f"{lever_name(spec, lang)}, {texts.lever_unit(lang, spec.key, spec.unit, currency)}"
    readable = _readable(spec, value, lang)
    if readable:
        label = f"{label}: {readable}"
    if uncertain:
        label = f"{label} {texts.t(lang, 'un_on_label', range=uncertain)}"
    placeholder = texts.placeholder(lang, spec.key) if spec.optional else None
    tip = texts.t(lang, "rt_help_shape") if spec.path in SHAPE_PATHS else None
    if spec.integer:
        return Widget(
            spec.slider, label, int(spec.widget_low), int(spec.widget_high), 1, "%d", placeholder, tip
        )
    low = spec.widget_low if default is None else min(spec.widget_low, float(default))
    step_decimals = _decimals(spec.step, None)
    fixed = default is not None and _value_decimals(float(default)) >= step_decimals
    fmt = f"%.{spec.decimals}f" if fixed or step_decimals == 0 else PLAIN_FORMAT
    return Widget(spec.slider, label, low, spec.widget_high, spec.step, fmt, placeholder, tip)


def _readable(spec: FieldSpec, value: float | int | None, lang: str) -> str:
    """The widget value as the page writes it, when the box's plain digits read differently: thousands
    grouped (`30 M`, `25 000`) or, in Russian, a decimal comma (`2,5`); else empty."""
    if value is None or not math.isfinite(float(value)):
        return ""
    x = float(value)
    if abs(x) >= 1e6:
        digits, _, scale = texts.compact(x, lang).partition(texts.NBSP)
        if "," in digits or "." in digits:  # `30,0 млн` → `30 млн`
            digits = digits.rstrip("0").rstrip(",.")
        return f"{digits}{texts.NBSP}{scale}"
    if abs(x) >= 1e4:
        return texts.number(x, lang, _value_decimals(x) if not spec.integer else 0)
    if lang == "ru" and not spec.integer and _value_decimals(x) > 0:
        return texts.number(x, lang, min(_value_decimals(x), max(spec.decimals, 1)))
    return ""


def lever_name(spec: FieldSpec, lang: str) -> str:
    """A lever's name in `lang`, with its list item's name in `lang` (`Конверсия: Звонок → запись`)."""
    return texts.field_label(lang, spec.key, texts.item_name(spec, lang) if spec.name else "")


def lever_names(specs: list[FieldSpec], lang: str) -> dict[str, str]:
    """Each lever's name in `lang`, by path (without its unit: the tornado's labels)."""
    return {s.path: lever_name(s, lang) for s in specs}


# --- presets, donors and switches ----------------------------------------------------------------


@dataclass(frozen=True)
class Donor:
    """The preset whose section fills in a part switched on."""

    stem: str
    """The preset's file stem."""
    section: Any
    """The section's data, as `Scenario.override` takes it (a table, or the list of repeat streams)."""


@dataclass(frozen=True)
class Presets:
    """The shipped scenarios by file stem, and those that failed to load (with the error)."""

    scenarios: dict[str, Scenario]
    errors: dict[str, str] = field(default_factory=dict)

    def label(self, key: str, lang: str) -> str:
        """A choice of the scenario menu: the preset's name in `lang`, or the upload option."""
        if key in self.scenarios:
            return texts.item_name(self.scenarios[key], lang)
        return texts.t(lang, "upload_option")

    def donors(self) -> dict[str, Donor]:
        """For each switch, the preset whose section fills it in when switched on."""
        order = [s for s in DONOR_ORDER if s in self.scenarios]
        order += [s for s in sorted(self.scenarios) if s not in order]
        out: dict[str, Donor] = {}
        for part in SWITCHES:
            for stem in order:
                value = self.scenarios[stem].model_dump(mode="json")[part]
                if value:  # a present section (not None, not an empty list)
                    out[part] = Donor(stem, value)
                    break
        return out


def load_presets(directory: str | Path) -> Presets:
    """Every `*.toml` in `directory`; a file that does not load is kept in `errors` (the page says so)."""
    scenarios, errors = {}, {}
    for path in sorted(Path(directory).glob("*.toml")):
        try:
            scenarios[path.stem] = load_scenario(path)
        except ScenarioError as exc:
            errors[path.stem] = str(exc)
    return Presets(scenarios, errors)


def has_part(scenario: Scenario, part: str) -> bool:
    """Whether the optional part is present (a section, or at least one repeat stream)."""
    value = getattr(scenario, part)
    return bool(value) if isinstance(value, tuple) else value is not None


def apply_switches(scenario: Scenario, switches: Mapping[str, bool], donors: Mapping[str, Donor]) -> Scenario:
    """The scenario with each part on (its own section, else the donor's) or off; a part switched off takes
    its levers out of the scenario's own plan over time (steps, trends, seasonality) and its ranges."""
    changes: dict[str, Any] = {}
    off: list[str] = []
    for part, on in switches.items():
        present = has_part(scenario, part)
        if on and not present:
            if part not in donors:
                raise ScenarioError(f"{part}: no shipped scenario has this part to switch it on with")
            changes[part] = donors[part].section
        elif not on and present:
            changes[part] = [] if part == "repeat" else None  # override drops its plan entries too
            off.append(part)
    ranges = _ranges_without(scenario, lambda path: path.split(".")[0] in off)
    if ranges is not None:
        changes["uncertainty"] = ranges
    return scenario.override(changes) if changes else scenario


def _ranges_without(scenario: Scenario, drop: Any) -> dict[str, Any] | None:
    """The scenario's `[uncertainty]` without the ranges whose path `drop(path)` is true (as
    `Scenario.override` takes it), or None when none is dropped."""
    kept = {p: r.model_dump(exclude_none=True) for p, r in scenario.uncertainty if not drop(p)}
    return kept if len(kept) < len(scenario.uncertainty) else None


# --- customers alike or different (the retention model) ------------------------------------------------


START_ALPHA = 2.0
"""The first shape α when customers start to differ: at α ≤ 1 some customers practically never leave, a
customer's expected life has no end and an undiscounted LTV neither; at 2 customers clearly differ."""


def mean_keeping_shapes(churn: float, alpha: float = START_ALPHA) -> tuple[float, float]:
    """Shapes of customers who differ whose mean churn is `churn` (a share a month): α as given,
    β = α (1 − c)/c, so E[θ] = α/(α + β) = c; β rounded to two decimals and kept within the scenario
    model's bounds."""
    from sim.model.scenario import Retention

    low, high = model_bounds(Retention, "beta")[:2]
    c = float(churn)
    beta = alpha * (1.0 - c) / c if c > 0 else high
    return alpha, min(max(round(beta, 2), 0.01, low), high)


def apply_retention(scenario: Scenario, model: str) -> Scenario:
    """The scenario with customers alike (`constant`: its churn for everyone) or different (`sbg`: the
    shapes that keep its mean churn, `mean_keeping_shapes`); as it is if it has that model already. Alike
    customers have no shapes, so ranges on them are dropped."""
    if model not in RETENTION_MODELS:
        raise ScenarioError(f"retention = {model!r}: must be one of {', '.join(RETENTION_MODELS)}")
    if scenario.retention.model == model:
        return scenario
    if model == "sbg":
        alpha, beta = mean_keeping_shapes(scenario.retention.monthly_churn)
        changes: dict[str, Any] = {"retention.model": "sbg", "retention.alpha": alpha, "retention.beta": beta}
    else:
        changes = {"retention.model": "constant", "retention.alpha": None, "retention.beta": None}
        ranges = _ranges_without(scenario, lambda path: path in SHAPE_PATHS)
        if ranges is not None:
            changes["uncertainty"] = ranges
    return scenario.override(changes)


def retention_key(base_id: str) -> str:
    """The session key of the base's retention model (`constant` or `sbg`)."""
    return f"ret|{base_id}"


def initial_retention(base: Scenario, link: View | None) -> str:
    """The retention model on a base's first run: the link's, else the base's own."""
    if link is not None and link.retention in RETENTION_MODELS:
        return link.retention
    return base.retention.model


def retention_shapes(
    base: Base, model: str, session: Mapping[str, Any], specs: Sequence[FieldSpec]
) -> dict[str, float]:
    """The shapes' widget values when the user picks `model` (lever key → value): for customers who
    differ, the base's own shapes if it has them, else those that keep the mean churn now set
    (`mean_keeping_shapes` of the churn widget's value); nothing for customers alike."""
    if model != "sbg":
        return {}
    if base.scenario.retention.model == "sbg":
        alpha, beta = base.scenario.retention.alpha, base.scenario.retention.beta
    else:
        churn = base.scenario.retention.monthly_churn
        spec = next((s for s in specs if s.path == "retention.monthly_churn"), None)
        shown = session.get(lever_key(base.id, "retention.monthly_churn"))
        if spec is not None and isinstance(shown, int | float) and spec.check(spec.to_model(shown)) is None:
            churn = float(spec.to_model(shown))
        alpha, beta = mean_keeping_shapes(churn)
    return {lever_key(base.id, "retention.alpha"): alpha, lever_key(base.id, "retention.beta"): beta}


def switch_changes(base: Scenario, switches: Mapping[str, bool]) -> dict[str, bool]:
    """The switches that differ from `base` (what a link or a pin keeps)."""
    return {p: on for p, on in switches.items() if on != has_part(base, p)}


def initial_switch(base: Scenario, part: str, link: View | None, donors: Mapping[str, Donor]) -> bool:
    """A switch's first value: the link's, else whether the base has the part; off if no preset can fill
    the part in."""
    own = has_part(base, part)
    on = link.switches.get(part, own) if link else own
    return on and (own or part in donors)


@dataclass(frozen=True)
class Levers:
    """The scenario as the widgets set it: the base, its switched parts and the lever fields."""

    base_id: str
    """`Base.id`: the key of the widgets' state."""
    switches: dict[str, bool]
    switched: Scenario
    """The base with its parts switched."""
    specs: list[FieldSpec]
    values: dict[str, Any]
    """Widget values by lever path (widget units)."""
    defaults: dict[str, Any]
    """The switched scenario's values by lever path (widget units)."""


def widget_values(scenario: Scenario, specs: list[FieldSpec]) -> dict[str, float | int | None]:
    """Each lever's value in `scenario`, by path (widget units)."""
    return {spec.path: spec.to_widget(paths.get(scenario, spec.path)) for spec in specs}


def initial_values(
    specs: list[FieldSpec], defaults: Mapping[str, float | int | None], link: View | None
) -> Checked[dict[str, float | int | None]]:
    """Each lever's first widget value: the link's where it is valid, else the default (by path)."""
    from_link = check_values(specs, link.values) if link else Checked({})
    values = {
        s.path: s.to_widget(from_link.value[s.path]) if s.path in from_link.value else defaults[s.path]
        for s in specs
    }
    return Checked(values, from_link.problems)


@dataclass(frozen=True)
class WhatIf:
    """The scenario the widgets set."""

    scenario: Scenario
    changes: dict[str, Any]
    """The lever values that differ from the switched scenario: dotted path → model value."""
    plan: PlanEdits = field(default_factory=PlanEdits)
    """The parts of the plan over time that differ from the switched scenario's own (`plans.differing`)."""
    retention: str | None = None
    """The retention model when it differs from the base's (`constant` or `sbg`), else None."""
    ranges: tuple[Range, ...] | None = None
    """The ranges of values not known for sure when they differ from the base's own, else None."""


def build_whatif(
    scenario: Scenario, specs: list[FieldSpec], widget_values: Mapping[str, float | int | None]
) -> WhatIf:
    """The what-if: `scenario` with the widget values that differ from it."""
    changes: dict[str, Any] = {}
    for spec in specs:
        if spec.path not in widget_values:
            continue
        new = widget_values[spec.path]
        if new != spec.to_widget(paths.get(scenario, spec.path)):
            changes[spec.path] = spec.to_model(new)
    return WhatIf(scenario.override(changes) if changes else scenario, changes)


# --- uploads and the link --------------------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    """The scenario the page starts from: a preset, or an uploaded scenario."""

    preset: str
    """The preset's key, UPLOAD or FITTED."""
    scenario: Scenario
    source: str | None = None
    """An uploaded or fitted scenario's packed TOML (`pack_source`; the link keeps it), else None."""

    @property
    def id(self) -> str:
        """The key of its widgets' state: the preset, or `u` (uploaded) or `f` (fitted) and a hash of the
        scenario."""
        if self.preset not in OWN_SOURCES:
            return self.preset
        return self.preset[0] + hashlib.sha1((self.source or "").encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Shown:
    """The scenario the page shows: the one picked; while an upload is missing or bad, the last good one
    (`kept`), with the upload's error."""

    base: Base | None
    """None: nothing to show yet (an upload asked for on a session's first page)."""
    error: str | None = None
    """Why the uploaded file (or the link's scenario) is not used, else None."""
    kept: bool = False
    """`base` is the last good scenario, not the one picked."""


LAST_BASE = "pg_last_base"
"""Session key: the last scenario the page showed (kept while an upload is missing or bad)."""


def shown_base(picked: Base | None, error: str | None, session: Mapping[str, Any]) -> Shown:
    """What the page shows for the scenario `picked` (None: an upload missing or bad, with its `error`):
    `picked`, else the session's last good scenario, kept with the error above it."""
    if picked is not None:
        return Shown(picked)
    last = session.get(LAST_BASE)
    return Shown(last, error, kept=last is not None)


def scenario_from_upload(name: str, data: bytes) -> Scenario:
    """An uploaded file → Scenario, or ScenarioError (too large, not UTF-8, not TOML, invalid)."""
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(f"{name}: file is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScenarioError(f"{name}: not UTF-8 text") from None
    return loads_scenario(text, source=name)


def pack_source(text: str) -> str:
    """Scenario TOML → a short URL-safe string (zlib + base64)."""
    raw = zlib.compress(text.encode("utf-8"), 9)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def unpack_source(packed: str) -> Scenario:
    """`pack_source`'s string → Scenario, or ScenarioError if it is damaged or too large."""
    return loads_scenario(unpack_text(packed), source=_LINK_SOURCE)


_LINK_SOURCE = "the scenario in the link"


def unpack_text(packed: str) -> str:
    """`pack_source`'s string → the TOML text, or ScenarioError if it is damaged or too large."""
    where = _LINK_SOURCE
    if len(packed) > MAX_SOURCE_CHARS:
        raise ScenarioError(f"{where}: too long")
    try:
        raw = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
        inflater = zlib.decompressobj()
        data = inflater.decompress(raw, MAX_FILE_BYTES + 1)
        if inflater.unconsumed_tail or len(data) > MAX_FILE_BYTES:
            raise ScenarioError(f"{where}: larger than {MAX_FILE_BYTES // 1024} KiB")
        text = data.decode("utf-8")
    except (binascii.Error, ValueError, zlib.error, UnicodeDecodeError) as exc:
        if isinstance(exc, ScenarioError):
            raise
        raise ScenarioError(f"{where}: damaged ({exc.__class__.__name__})") from None
    return text


def source_text(base: Base, presets_dir: str | Path) -> str | None:
    """The TOML text the page's scenario came from (a preset's file or the upload), for the report's
    assumption comments; None if it cannot be read."""
    try:
        if base.preset in OWN_SOURCES:
            return unpack_text(base.source) if base.source else None
        return (Path(presets_dir) / f"{base.preset}.toml").read_text(encoding="utf-8-sig")
    except (OSError, ScenarioError):
        return None


# --- pinned what-ifs (compared side by side; the link keeps them) ----------------------------------------

MAX_PINS = 4
"""What-ifs pinned at most (the chart's lines and the table's columns stay readable)."""
MAX_PIN_NAME = 40
"""Longest name of a pinned what-if, in characters."""
PIN_SEPARATOR = "~"
"""Between a pin's name and its items in the link (a character a URL keeps as it is)."""


@dataclass(frozen=True)
class Pin:
    """A what-if pinned under a name: what it changes against the base (the preset or the upload), as the
    link keeps the current what-if."""

    name: str
    switches: dict[str, bool] = field(default_factory=dict)
    """Parts switched against the base (only the differences)."""
    values: dict[str, float | int | None] = field(default_factory=dict)
    """Changed levers against the base with its parts switched: dotted path → model value."""
    plan: PlanEdits = field(default_factory=PlanEdits)
    """The parts of the plan over time set against the base's own."""
    retention: str | None = None
    """The retention model against the base's (None: the base's)."""
    ranges: tuple[Range, ...] | None = None
    """The ranges of values not known for sure against the base's own (None: the base's)."""

    def same_settings(self, other: Pin) -> bool:
        """Whether `other` pins the same settings (under any name)."""
        return (
            self.switches == other.switches
            and self.values == other.values
            and self.plan == other.plan
            and self.retention == other.retention
            and _same_ranges(self.ranges, other.ranges)
        )


def _same_ranges(a: tuple[Range, ...] | None, b: tuple[Range, ...] | None) -> bool:
    if a is None or b is None:
        return a is b
    return plans.same_ranges(a, b)


def pin_name(text: str) -> str:
    """A pin's name as kept: spaces collapsed, no `~` (the link's separator) or control characters, at most
    MAX_PIN_NAME characters."""
    kept = "".join(" " if (c == PIN_SEPARATOR or not c.isprintable()) else c for c in text)
    return " ".join(kept.split())[:MAX_PIN_NAME].strip()


def encode_pin(pin: Pin) -> str:
    """A pin as one query parameter's value: `NAME~PATH=VALUE~…~on=PART,…~off=PART,…` (its name, then its
    lever changes and switches against the base, as the link writes the current what-if's)."""
    items = [pin_name(pin.name)]
    items += [f"{path}={_num(pin.values[path])}" for path in sorted(pin.values)]
    for word, state in (("on", True), ("off", False)):
        parts = [p for p in SWITCHES if pin.switches.get(p) is state]
        if parts:
            items.append(f"{word}={','.join(parts)}")
    items += [f"{name}={text}" for name, text in encode_plan(pin.plan).items()]
    if pin.retention is not None:
        items.append(f"{RETENTION_PARAM}={pin.retention}")
    if pin.ranges is not None:
        items.append(f"{RANGES_PARAM}={encode_ranges(pin.ranges)}")
    return PIN_SEPARATOR.join(items)


def decode_pin(text: str) -> Pin:
    """`encode_pin`'s string → Pin, or ValueError saying what is wrong with it."""
    name, *items = text.split(PIN_SEPARATOR)
    name = pin_name(name)
    if not name:
        raise ValueError("no name before the first ~")
    switches: dict[str, bool] = {}
    values: dict[str, float | int | None] = {}
    planned: dict[str, str] = {}
    retention: str | None = None
    ranges: tuple[Range, ...] | None = None
    for item in items:
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"{item!r} is not PATH=VALUE, on=PARTS or off=PARTS")
        if key in PLAN_PARAMS:
            planned[key] = value
        elif key == RETENTION_PARAM:
            retention = decode_retention(value)
        elif key == RANGES_PARAM:
            ranges = decode_ranges(value)
        elif key in ("on", "off"):
            for part in value.split(","):
                if part not in SWITCHES:
                    raise ValueError(f"{key}={part}: not a part ({', '.join(SWITCHES)})")
                switches[part] = key == "on"
        elif "." in key:
            try:
                values[key] = _parse_number(value)
            except ValueError:
                raise ValueError(f"{key}={value}: not a number") from None
        else:
            raise ValueError(f"{key}: not a lever's dotted path")
    plan = PlanEdits()
    for key, text in planned.items():
        plan = replace(plan, **{PLAN_FIELDS[key]: decode_plan_part(key, text)})
    return Pin(name, switches, values, plan, retention, ranges)


def _pin_number(name: str) -> int | None:
    """The number of a link's pin parameter (`pin2` → 2), else None."""
    if name.startswith("pin") and name[3:].isdigit() and not name[3:].startswith("0"):
        return int(name[3:])
    return None


@dataclass(frozen=True)
class View:
    """Everything a link keeps: the scenario, the switches, the changed levers and view settings."""

    preset: str = DEFAULT_PRESET
    source: str | None = None
    """Packed TOML of an uploaded or fitted scenario (`pack_source`), with preset = UPLOAD or FITTED."""
    page: str = PAGES[0]
    """The page shown: the what-if, or "Your data" (`page=data`; the uploaded files are never in a link)."""
    lang: str = DEFAULT_LANG
    switches: dict[str, bool] = field(default_factory=dict)
    """Parts switched against the preset (only the differences)."""
    values: dict[str, float | int | None] = field(default_factory=dict)
    """Changed levers, dotted path → model value."""
    replications: int = DEFAULT_REPLICATIONS
    seed: int = DEFAULT_SEED
    tab: str = TABS[0]
    by_month: int | None = None
    """Answers: break even by this month (None: `default_by_month`)."""
    max_lost: float | None = None
    """Answers: lost leads at most this share (None: DEFAULT_MAX_LOST)."""
    metric: str = SENSITIVITY_METRICS[0]
    pins: tuple[Pin, ...] = ()
    """Pinned what-ifs, in the order they were pinned (at most MAX_PINS)."""
    pin_base: int = 0
    """The comparison's base: 0 the scenario as loaded, i the i-th pin."""
    plan: PlanEdits = field(default_factory=PlanEdits)
    """The parts of the plan over time set against the scenario's own (`start`, `plan`, `trend`,
    `season` in the link)."""
    retention: str | None = None
    """The retention model against the scenario's (`retention=sbg`: customers differ; None: the
    scenario's)."""
    ranges: tuple[Range, ...] | None = None
    """The ranges of values not known for sure against the scenario's own (`unc=…` in the link; () for
    none, None: the scenario's)."""


PLAN_FIELDS: dict[str, str] = {"start": "start", "plan": "steps", "trend": "trends", "season": "seasonality"}
"""The link's plan parameters → `PlanEdits` fields."""
PLAN_PARAMS: tuple[str, ...] = tuple(PLAN_FIELDS)
NONE_WORD = "none"
"""A plan part set to nothing in a link (`plan=none`: no steps, though the scenario has some)."""
RETENTION_PARAM = "retention"
"""The link's retention model (`retention=sbg`: customers differ; `retention=constant`: alike)."""
RANGES_PARAM = "unc"
"""The link's ranges: `unc=retention.monthly_churn=0.01:0.02:0.04;channels.0.cost_per_lead=2000:2500`
(lowest:most likely:highest, or lowest:highest; model units; `unc=none`: no ranges)."""
_RESERVED = {
    "page",
    "preset",
    "src",
    "lang",
    "on",
    "off",
    "reps",
    "seed",
    "tab",
    "by",
    "lost",
    "metric",
    "pinbase",
    RETENTION_PARAM,
    RANGES_PARAM,
    *PLAN_PARAMS,
}


def _num(x: float | int | None) -> str:
    if x is None:
        return "none"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return str(int(x))
    return format(float(x), ".12g")


def encode_view(view: View) -> dict[str, str]:
    """The view as query parameters (defaults left out)."""
    out: dict[str, str] = {}
    if view.preset != DEFAULT_PRESET:
        out["preset"] = view.preset
    if view.page != PAGES[0]:
        out["page"] = view.page
    if view.preset in OWN_SOURCES and view.source and len(view.source) <= MAX_SOURCE_CHARS:
        out["src"] = view.source  # (a scenario too large for a link is left out of it)
    if view.lang != DEFAULT_LANG:
        out["lang"] = view.lang
    on = [p for p in SWITCHES if view.switches.get(p) is True]
    off = [p for p in SWITCHES if view.switches.get(p) is False]
    if on:
        out["on"] = ",".join(on)
    if off:
        out["off"] = ",".join(off)
    for path in sorted(view.values):
        out[path] = _num(view.values[path])
    if view.replications != DEFAULT_REPLICATIONS:
        out["reps"] = str(view.replications)
    if view.seed != DEFAULT_SEED:
        out["seed"] = str(view.seed)
    if view.tab != TABS[0]:
        out["tab"] = view.tab
    if view.by_month is not None:
        out["by"] = str(view.by_month)
    if view.max_lost is not None:
        out["lost"] = _num(view.max_lost)
    if view.metric != SENSITIVITY_METRICS[0]:
        out["metric"] = view.metric
    out |= encode_plan(view.plan)
    if view.retention is not None:
        out[RETENTION_PARAM] = view.retention
    if view.ranges is not None:
        out[RANGES_PARAM] = encode_ranges(view.ranges)
    for i, pin in enumerate(view.pins[:MAX_PINS], start=1):
        out[f"pin{i}"] = encode_pin(pin)
    if 0 < view.pin_base <= min(len(view.pins), MAX_PINS):
        out["pinbase"] = str(view.pin_base)
    return out


def _parse_number(text: str) -> float | None:
    """A link's lever value: a finite number, or none (an optional value left out)."""
    if text.strip().lower() in ("none", "null", ""):
        return None
    return parse_number(text)


def decode_view(params: Mapping[str, str | list[str]], presets: set[str]) -> Checked[View]:
    """Query parameters → View, and a message for each parameter that could not be used (skipped)."""
    view = View()
    problems: list[str] = []

    def get(name: str) -> str | None:
        value = params.get(name)
        if isinstance(value, list):
            value = value[-1] if value else None
        return value

    changes: dict[str, Any] = {}
    preset = get("preset")
    if preset is not None:
        if preset in presets or preset in OWN_SOURCES:
            changes["preset"] = preset
        else:
            problems.append(f"preset={preset}: no such scenario ({', '.join(sorted(presets))})")
    if get("src") is not None:
        changes["source"] = get("src")
    lang = get("lang")
    if lang is not None:
        if lang in ("en", "ru"):
            changes["lang"] = lang
        else:
            problems.append(f"lang={lang}: must be en or ru")
    switches: dict[str, bool] = {}
    for name, state in (("on", True), ("off", False)):
        text = get(name)
        for part in filter(None, (text or "").split(",")):
            if part in SWITCHES:
                switches[part] = state
            else:
                problems.append(f"{name}={part}: not a part ({', '.join(SWITCHES)})")
    changes["switches"] = switches
    for name, parse in (
        ("reps", lambda s: parse_whole(s, 0, MAX_REPLICATIONS)),
        ("seed", lambda s: parse_whole(s, 0, 2**31 - 1)),
        ("by", lambda s: parse_whole(s, 1, int(model_bounds(Scenario, "horizon_months")[1]))),
    ):
        text = get(name)
        if text is not None:
            try:
                changes[{"reps": "replications", "by": "by_month"}.get(name, name)] = parse(text)
            except ValueError as exc:
                problems.append(f"{name}={text}: {exc}")
    lost = get("lost")
    if lost is not None:
        try:
            x = _parse_number(lost)
            if x is None or not 0 < x < 1:
                raise ValueError("must be a share between 0 and 1")
            changes["max_lost"] = x
        except ValueError as exc:
            problems.append(f"lost={lost}: {exc}")
    for name, options, attr in (
        ("tab", TABS, "tab"),
        ("metric", SENSITIVITY_METRICS, "metric"),
        ("page", PAGES, "page"),
    ):
        text = get(name)
        if text is not None:
            if text in options:
                changes[attr] = text
            else:
                problems.append(f"{name}={text}: must be one of {', '.join(options)}")
    changes |= _decode_pins(get, [n for n in params if _pin_number(n) is not None], problems)
    plan = PlanEdits()
    for name in PLAN_PARAMS:
        text = get(name)
        if text is not None:
            try:
                plan = replace(plan, **{PLAN_FIELDS[name]: decode_plan_part(name, text)})
            except ValueError as exc:
                problems.append(f"{name}={text[:60]}: {exc}")
    changes["plan"] = plan
    for name, decode, attr in (
        (RETENTION_PARAM, decode_retention, "retention"),
        (RANGES_PARAM, decode_ranges, "ranges"),
    ):
        text = get(name)
        if text is not None:
            try:
                changes[attr] = decode(text)
            except ValueError as exc:
                problems.append(f"{name}={text[:60]}: {exc}")
    values: dict[str, float | int | None] = {}
    for name in params:
        if name in _RESERVED or _pin_number(name) is not None:
            continue
        text = get(name) or ""
        if "." not in name:
            problems.append(f"{name}: unknown setting")
            continue
        try:
            values[name] = _parse_number(text)
        except ValueError:
            problems.append(f"{name}={text}: not a number")
    changes["values"] = values
    return Checked(replace(view, **changes), problems)


def _decode_pins(get: Any, names: list[str], problems: list[str]) -> dict[str, Any]:
    """The link's pins (`pin1`…`pin4`, in their order) and the comparison's base (`pinbase`, by the pin's
    number): View changes; a damaged pin, one past MAX_PINS or a name used twice is skipped with a
    message in `problems`."""
    pins: list[Pin] = []
    numbers: dict[int, int] = {}  # the link's pin number → its place among the pins kept (1-based)
    for name in sorted(names, key=_pin_number):
        text = get(name) or ""
        n = _pin_number(name)
        assert n is not None
        if len(pins) >= MAX_PINS:
            problems.append(f"{name}: at most {MAX_PINS} what-ifs can be pinned")
            continue
        try:
            pin = decode_pin(text)
        except ValueError as exc:
            problems.append(f"{name}={text[:60]}: {exc}")
            continue
        taken = [p.name for p in pins if p.name.casefold() == pin.name.casefold()]
        if taken:
            problems.append(f"{name}: the name {pin.name!r} is already used by another pin")
            continue
        pins.append(pin)
        numbers[n] = len(pins)
    out: dict[str, Any] = {"pins": tuple(pins)}
    text = get("pinbase")
    if text is not None:
        try:
            n = parse_whole(text, 0, 10**6)
            if n and n not in numbers:
                raise ValueError("no such pin in the link")
            out["pin_base"] = numbers.get(n, 0)
        except ValueError as exc:
            problems.append(f"pinbase={text}: {exc}")
    return out


def check_values(
    specs: list[FieldSpec], values: Mapping[str, float | int | None]
) -> Checked[dict[str, float | int | None]]:
    """Keep the link's lever values that are levers of the scenario and within their bounds."""
    by_path = {s.path: s for s in specs}
    good: dict[str, float | int | None] = {}
    problems = []
    for path, value in values.items():
        spec = by_path.get(path)
        if spec is None:
            problems.append(f"{path}: not a lever of this scenario")
            continue
        why = spec.check(value)
        if why:
            problems.append(f"{path}={_num(value)}: {why}")
        else:
            good[path] = int(value) if (spec.integer and value is not None) else value
    return Checked(good, problems)


# --- the session (Streamlit's session state, as a plain mapping) ---------------------------------------


def switch_key(base_id: str, part: str) -> str:
    """The session key of a switch of the base `base_id`."""
    return f"sw|{base_id}|{part}"


def lever_key(base_id: str, path: str) -> str:
    """The session key of a lever of the base `base_id`."""
    return f"v|{base_id}|{path}"


def tab_labels(lang: str) -> list[str]:
    """The tabs' labels in `lang`, in TABS order."""
    return [texts.t(lang, f"tab_{k}") for k in TABS]


def tab_label(label: str, lang: str) -> str:
    """An open tab's label in `lang`, from its label in any language (the open tab survives a language
    switch); a label of no tab as it is."""
    if label in tab_labels(lang):
        return label
    for other in texts.LANGS:
        names = tab_labels(other)
        if label in names:
            return tab_labels(lang)[names.index(label)]
    return label


def tab_id(label: str | None, lang: str) -> str:
    """The tab whose label in `lang` is `label` (the first tab if none is)."""
    labels = tab_labels(lang)
    return TABS[labels.index(label)] if label in labels else TABS[0]


_BUTTONS = ("pl_reset", "un_reset", "pg_pin_remove")
"""Session keys (before the first `|`) of buttons, whose state a session cannot set or drop."""


def forget_base(session: MutableMapping[str, Any], base_id: str) -> None:
    """Drop the session's state of the base `base_id` (switches, levers, retention model, plan, ranges,
    pins and their editors), so its page starts again from the scenario's own values."""
    for key in [k for k in session if isinstance(k, str) and "|" in k]:
        parts = key.split("|")
        if parts[1] == base_id and parts[0] not in _BUTTONS:
            del session[key]


def session_from_link(view: View) -> dict[str, Any]:
    """The session's settings as a link sets them on the session's first run (the tab by its label, the
    answers' lost share in %)."""
    out: dict[str, Any] = {
        "lang": view.lang,
        "preset": view.preset,
        "reps": view.replications,
        "seed": view.seed,
        "metric": view.metric,
        "tab": tab_labels(view.lang)[TABS.index(view.tab)],
        "page": view.page,
    }
    if view.max_lost is not None:
        out["lost"] = 100.0 * view.max_lost
    if view.by_month is not None:
        out["by"] = view.by_month
    return out


@dataclass(frozen=True)
class AnswerSettings:
    """What the answers are asked for."""

    by_month: int
    """Break even by this month."""
    max_lost: float
    """Lose at most this share of the leads."""


def _by_and_lost(session: Mapping[str, Any], horizon_months: int) -> tuple[int, float]:
    """The answers' widget values in the session (a month; a share in %), or their defaults."""
    by = int(session.get("by", default_by_month(horizon_months)))
    return by, float(session.get("lost", 100.0 * DEFAULT_MAX_LOST))


def answer_settings(session: Mapping[str, Any], horizon_months: int) -> AnswerSettings:
    """The answers' settings in the session, or their defaults."""
    by, lost = _by_and_lost(session, horizon_months)
    return AnswerSettings(by, lost / 100.0)


def answer_widgets(session: Mapping[str, Any], horizon_months: int) -> dict[str, Any]:
    """The answers' widget values before they are drawn: the session's or the defaults, the month within
    the horizon."""
    by, lost = _by_and_lost(session, horizon_months)
    return {"by": min(by, horizon_months), "lost": lost}


def link_view(
    session: Mapping[str, Any],
    base: Base,
    switches: Mapping[str, bool],
    whatif: WhatIf | None = None,
) -> View:
    """The view the address bar keeps: the session's settings and the switches that differ from the base;
    with the what-if, also its lever changes and the answers' settings that are not the defaults."""
    lang = session.get("lang", DEFAULT_LANG)
    pinned = session_pins(session, base.id)
    view = View(
        preset=base.preset,  # the scenario shown (the last good one while an upload is missing or bad)
        source=base.source,
        lang=lang,
        switches=switch_changes(base.scenario, switches),
        replications=int(session.get("reps", DEFAULT_REPLICATIONS)),
        seed=int(session.get("seed", DEFAULT_SEED)),
        tab=tab_id(session.get("tab"), lang),
        metric=session.get("metric", SENSITIVITY_METRICS[0]),
        pins=pinned.pins,
        pin_base=pinned.base,
    )
    if whatif is None:
        return view
    horizon = whatif.scenario.horizon_months
    asked = answer_settings(session, horizon)
    return replace(
        view,
        values=whatif.changes,
        plan=whatif.plan,
        retention=whatif.retention,
        ranges=whatif.ranges,
        by_month=asked.by_month if asked.by_month != default_by_month(horizon) else None,
        max_lost=asked.max_lost if asked.max_lost != DEFAULT_MAX_LOST else None,
    )


# --- pinned what-ifs in the session ----------------------------------------------------------------------


def pins_key(base_id: str) -> str:
    """The session key of the what-ifs pinned on the base `base_id` (a `Pinned`)."""
    return f"pins|{base_id}"


@dataclass(frozen=True)
class Pinned:
    """The what-ifs pinned on a base and the comparison's base."""

    pins: tuple[Pin, ...] = ()
    base: int = 0
    """0: the scenario as loaded; i: the i-th pin."""
    revision: int = 0
    """Counts the changes (the pins' widgets are keyed by it, so they start afresh after each)."""

    def base_name(self, lang: str) -> str:
        """The name of the comparison's base (`scenario as loaded`, or the pin's)."""
        return self.pins[self.base - 1].name if self.base else texts.t(lang, "series_preset")


def session_pins(session: Mapping[str, Any], base_id: str) -> Pinned:
    """The what-ifs pinned on the base `base_id` in the session (none if it has none yet)."""
    pinned = session.get(pins_key(base_id))
    return pinned if isinstance(pinned, Pinned) else Pinned()


def pin_scenario(base: Scenario, pin: Pin, donors: Mapping[str, Donor]) -> Scenario:
    """The scenario a pin keeps: `base` with the pin's parts switched and its lever values; ScenarioError
    (naming the lever, its value and the rule) if a part cannot be switched or a value is not valid."""
    switches = {p: pin.switches.get(p, has_part(base, p)) for p in SWITCHES}
    switched = apply_retention(apply_switches(base, switches, donors), pin.retention or base.retention.model)
    checked = check_values(fields(switched), pin.values)
    if checked.problems:
        raise ScenarioError("; ".join(checked.problems))
    levered = switched.override(checked.value) if checked.value else switched
    return plans.apply_ranges(plans.apply(levered, pin.plan), pin.ranges)


def initial_pins(base: Scenario, link: View | None, donors: Mapping[str, Donor]) -> Checked[Pinned]:
    """The link's pins that are valid on `base` (each other one skipped with a message), and its base."""
    if link is None:
        return Checked(Pinned())
    kept: list[Pin] = []
    problems: list[str] = []
    base_index = 0
    for i, pin in enumerate(link.pins[:MAX_PINS], start=1):
        try:
            pin_scenario(base, pin, donors)
        except ScenarioError as exc:
            problems.append(f"pin{i} {pin.name!r} skipped: {exc}")
            continue
        kept.append(pin)
        if i == link.pin_base:
            base_index = len(kept)
    return Checked(Pinned(tuple(kept), base_index), problems)


def _reserved_names() -> set[str]:
    """Names a pin cannot take: the chart's other lines, in every language."""
    keys = ("series_whatif", "series_preset", "series_band", "series_p50")
    return {texts.t(lang, key).casefold() for lang in texts.LANGS for key in keys}


def _name_problem(pinned: Pinned, name: str, lang: str, skip: int | None = None) -> str | None:
    """Why `name` cannot name a pin (taken by another pin than the `skip`-th, or a line of the chart)."""
    if not name:
        return texts.t(lang, "pin_no_name")
    if name.casefold() in _reserved_names():
        return texts.t(lang, "pin_reserved", name=name)
    for i, pin in enumerate(pinned.pins, start=1):
        if i != skip and pin.name.casefold() == name.casefold():
            return texts.t(lang, "pin_taken", name=name)
    return None


def default_pin_name(pinned: Pinned, lang: str) -> str:
    """The first `What-if N` (`Вариант N`) no pin is called yet."""
    n = len(pinned.pins) + 1
    while _name_problem(pinned, texts.t(lang, "pin_default", n=n), lang):
        n += 1
    return texts.t(lang, "pin_default", n=n)


def add_pin(pinned: Pinned, pin: Pin, lang: str) -> Checked[Pinned]:
    """`pinned` with `pin` added at the end (an empty name: `default_pin_name`); unchanged, with the reason
    in `problems`, when MAX_PINS are pinned already, the name is taken or the settings are pinned already."""
    if len(pinned.pins) >= MAX_PINS:
        return Checked(pinned, [texts.t(lang, "pin_full", n=MAX_PINS)])
    name = pin_name(pin.name) or default_pin_name(pinned, lang)
    same = next((p for p in pinned.pins if p.same_settings(pin)), None)
    if same is not None:
        return Checked(pinned, [texts.t(lang, "pin_same", name=same.name)])
    why = _name_problem(pinned, name, lang)
    if why:
        return Checked(pinned, [why])
    return Checked(
        replace(pinned, pins=(*pinned.pins, replace(pin, name=name)), revision=pinned.revision + 1)
    )


def rename_pin(pinned: Pinned, index: int, name: str, lang: str) -> Checked[Pinned]:
    """`pinned` with its `index`-th pin (1-based) renamed; unchanged, with the reason, if the name is empty
    or taken."""
    name = pin_name(name)
    why = _name_problem(pinned, name, lang, skip=index)
    pins = list(pinned.pins)
    if why is None and 1 <= index <= len(pins):
        pins[index - 1] = replace(pins[index - 1], name=name)
    # A new revision either way: the name boxes start again from the pins' names.
    changed = replace(pinned, pins=tuple(pins), revision=pinned.revision + 1)
    return Checked(changed, [why] if why else [])


def remove_pin(pinned: Pinned, index: int) -> Pinned:
    """`pinned` without its `index`-th pin (1-based); the comparison's base follows its pin (the scenario
    as loaded if it is the one removed)."""
    if not 1 <= index <= len(pinned.pins):
        return pinned
    pins = pinned.pins[: index - 1] + pinned.pins[index:]
    base = 0 if pinned.base == index else pinned.base - (pinned.base > index)
    return Pinned(pins, base, pinned.revision + 1)


def choose_base(pinned: Pinned, name: str) -> Pinned:
    """`pinned` compared against the pin called `name` (any other name: the scenario as loaded)."""
    names = [p.name for p in pinned.pins]
    return replace(pinned, base=names.index(name) + 1 if name in names else 0)


def pin_of(name: str, base: Base, switches: Mapping[str, bool], whatif: WhatIf) -> Pin:
    """The current what-if as a pin named `name`: its switches, lever changes, plan, retention model and
    ranges against `base`."""
    changes = switch_changes(base.scenario, switches)
    return Pin(name, changes, dict(whatif.changes), whatif.plan, whatif.retention, whatif.ranges)


# --- the guided start (the article's story in three steps) ---------------------------------------------

GUIDE_PRESET = "car_dealer"
"""The preset the guided start tells its story on: article 003's plain dealer."""
GUIDE_STEPS: dict[str, dict[str, bool]] = {
    "loss": {"repeat": False, "referrals": False},
    "service": {"repeat": True, "referrals": False},
    "referrals": {"repeat": True, "referrals": True},
}
"""Each step of the guided start and the parts it switches: every car bought at a loss, then service visits,
then referrals (the curve bends, then crosses zero)."""
GUIDE_DONE = "pg_guide_done"
"""Session key: the guided start was dismissed (not shown again in this session)."""
GUIDE_STEP = "pg_guide_step"
"""Session key: the guided start's last step clicked."""


def guide_changes(session: Mapping[str, Any], step: str) -> tuple[dict[str, Any], list[str]]:
    """A guided-start step as session changes: the settings to set (the plain dealer, its parts switched
    as the step says, its plan over time back to the scenario's own) and the keys to drop (the dealer's
    moved levers, so the story starts from the article's figures)."""
    sets: dict[str, Any] = {"preset": GUIDE_PRESET, GUIDE_STEP: step}
    sets |= {switch_key(GUIDE_PRESET, part): on for part, on in GUIDE_STEPS[step].items()}
    planned = session_plan(session, GUIDE_PRESET)
    if planned.draft != PlanDraft() or planned.good != PlanEdits():
        sets[plan_key(GUIDE_PRESET)] = PlanState(revision=planned.revision + 1)
    ranged = session_ranges(session, GUIDE_PRESET)
    if ranged.draft is not None or ranged.good is not None:
        sets[ranges_key(GUIDE_PRESET)] = RangeState(revision=ranged.revision + 1)
    prefix = lever_key(GUIDE_PRESET, "")
    drops = [key for key in session if isinstance(key, str) and key.startswith(prefix)]
    others = (plan_shown_key(GUIDE_PRESET), ranges_shown_key(GUIDE_PRESET), retention_key(GUIDE_PRESET))
    return sets, drops + [k for k in others if k in session]


def guide_step(session: Mapping[str, Any]) -> str | None:
    """The guided-start step the page shows now: the last one clicked, while the dealer's preset and its
    parts are still as that step set them (None once the user has moved on)."""
    step = session.get(GUIDE_STEP)
    if step not in GUIDE_STEPS or session.get("preset") != GUIDE_PRESET:
        return None
    on = GUIDE_STEPS[step]
    same = all(session.get(switch_key(GUIDE_PRESET, part)) == want for part, want in on.items())
    return step if same else None


# --- the plan over time: the link, the levers it may name, the session ---------------------------------

_START = re.compile(r"^[0-9]{4}-[0-9]{2}$")


def encode_plan(edits: PlanEdits) -> dict[str, str]:
    """The parts of a plan that are set, as the link's parameters: `start=2027-01`,
    `plan=13:sales_desk.staff=6;25:channels.0.leads_per_month=600`, `trend=channels.0.cost_per_lead=0.01`,
    `season=channels.0.leads_per_month=0.8,0.9,…` (twelve); a part set to nothing is `none`."""
    out: dict[str, str] = {}
    if edits.start is not None:
        out["start"] = edits.start or NONE_WORD
    if edits.steps is not None:
        out["plan"] = ";".join(f"{_num(m)}:{p}={_num(v)}" for m, p, v in edits.steps) or NONE_WORD
    if edits.trends is not None:
        out["trend"] = ";".join(f"{p}={_num(r)}" for p, r in edits.trends) or NONE_WORD
    if edits.seasonality is not None:
        out["season"] = (
            ";".join(f"{p}=" + ",".join(_num(x) for x in m) for p, m in edits.seasonality) or NONE_WORD
        )
    return out


def _pairs(text: str) -> list[tuple[str, str]]:
    """`PATH=VALUE;PATH=VALUE` → pairs; ValueError naming an item that is not one."""
    out = []
    for item in text.split(";"):
        path, eq, value = item.partition("=")
        if not eq or "." not in path:
            raise ValueError(f"{item!r} is not PATH=VALUE")
        out.append((path, value))
    return out


def decode_plan_part(name: str, text: str) -> Any:
    """A link's plan parameter (`start`, `plan`, `trend`, `season`) → the `PlanEdits` field's value, or
    ValueError saying what is wrong (the scenario model checks the values themselves)."""
    if text.strip().lower() == NONE_WORD:
        return "" if name == "start" else ()
    if name == "start":
        if not _START.match(text):
            raise ValueError("must be a calendar month written YYYY-MM")
        return text
    if name == "plan":
        steps = []
        for item in text.split(";"):
            month, colon, rest = item.partition(":")
            path, eq, value = rest.partition("=")
            if not colon or not eq or "." not in path:
                raise ValueError(f"{item!r} is not MONTH:PATH=VALUE")
            steps.append(
                (parse_whole(month, 1, int(model_bounds(Scenario, "horizon_months")[1])), path, value)
            )
        return tuple((m, p, _whole_or_float(parse_number(v))) for m, p, v in steps)
    if name == "trend":
        return tuple((p, parse_number(v)) for p, v in _pairs(text))
    if name == "season":
        out = []
        for path, value in _pairs(text):
            multipliers = tuple(parse_number(x) for x in value.split(","))
            if len(multipliers) != plans.SEASON_MONTHS:
                raise ValueError(f"{path}: {len(multipliers)} multipliers, needs {plans.SEASON_MONTHS}")
            out.append((path, multipliers))
        return tuple(out)
    raise ValueError(f"{name}: not a part of a plan")


def decode_retention(text: str) -> str:
    """A link's retention model (`constant` or `sbg`), or ValueError."""
    if text not in RETENTION_MODELS:
        raise ValueError(f"must be one of {', '.join(RETENTION_MODELS)}")
    return text


def encode_ranges(ranges: Sequence[Range]) -> str:
    """Ranges as the link's `unc` parameter: `PATH=LOW:MODE:HIGH;PATH=LOW:HIGH` (model units), or `none`."""
    items = []
    for path, low, mode, high in ranges:
        middle = [] if mode is None else [_num(mode)]
        items.append(f"{path}=" + ":".join([_num(low), *middle, _num(high)]))
    return ";".join(items) or NONE_WORD


def decode_ranges(text: str) -> tuple[Range, ...]:
    """The link's `unc` parameter → ranges, or ValueError saying what is wrong (the scenario model checks
    the values themselves)."""
    if text.strip().lower() == NONE_WORD:
        return ()
    out: list[Range] = []
    for path, value in _pairs(text):
        numbers = [_whole_or_float(parse_number(x)) for x in value.split(":")]
        if len(numbers) == 2:
            out.append((path, numbers[0], None, numbers[1]))
        elif len(numbers) == 3:
            out.append((path, numbers[0], numbers[1], numbers[2]))
        else:
            raise ValueError(f"{path}: {value!r} is not LOW:HIGH or LOW:MOST_LIKELY:HIGH")
    return tuple(out)


def _whole_or_float(x: float) -> float | int:
    """A link's number as the scenario keeps it: a whole number as an int (staff), else a float."""
    return int(x) if float(x).is_integer() and abs(x) < 1e15 else float(x)


def plan_levers(specs: list[FieldSpec], lang: str, currency: str) -> dict[str, PlanLever]:
    """The levers a plan may name in this scenario (the catalogue's `plan` is `all` or `steps`), by path,
    each named with its unit in `lang` (`Monthly churn, %`), in page order."""
    chosen = [(s, plans.plan_rule(s.key)) for s in specs]
    chosen = [(s, rule) for s, rule in chosen if rule != "none"]
    labels = plans.unique_labels(
        [
            (s.path, f"{lever_name(s, lang)}, {texts.lever_unit(lang, s.key, s.unit, currency)}")
            for s, _ in chosen
        ]
    )
    return {s.path: PlanLever(s.path, labels[s.path], s.percent, s.integer, rule) for s, rule in chosen}


@dataclass(frozen=True)
class PlanState:
    """A base's plan over time in the session: the tables as typed, the last plan that was valid, and a
    revision that keys the editors (a new one after each change, so they start from the tables)."""

    draft: PlanDraft = field(default_factory=PlanDraft)
    good: PlanEdits = field(default_factory=PlanEdits)
    """The last edits that gave a valid scenario: shown while the draft's are not valid."""
    revision: int = 0


@dataclass(frozen=True)
class EditorShown:
    """A plan editor as drawn: its widget key, the rows (or the first month's text) it started from, and
    lever names → paths in the language it was drawn in."""

    key: str
    rows: Any
    paths: dict[str, str] = field(default_factory=dict)


def plan_key(base_id: str) -> str:
    """The session key of the base's plan (a `PlanState`)."""
    return f"plan|{base_id}"


def plan_shown_key(base_id: str) -> str:
    """The session key of the base's plan editors as last drawn (part → `EditorShown`)."""
    return f"plan_shown|{base_id}"


def plan_editor_key(base_id: str, part: str, revision: int, lang: str) -> str:
    """The widget key of a plan editor (`steps`, `trends`, `seasonality`, `start`)."""
    return f"pl_{part}|{base_id}|{revision}|{lang}"


def session_plan(session: Mapping[str, Any], base_id: str) -> PlanState:
    """The base's plan in the session (an empty one if it has none yet)."""
    state = session.get(plan_key(base_id))
    return state if isinstance(state, PlanState) else PlanState()


def initial_plan(scenario: Scenario, link: View | None, levers: Mapping[str, PlanLever]) -> PlanState:
    """A base's first plan: the link's parts (their tables' rows from them), else the scenario's own."""
    edits = link.plan if link is not None else PlanEdits()
    rows = plans.rows_of(edits, scenario, levers)
    draft = PlanDraft(
        start=rows.start if edits.start is not None else None,
        steps=rows.steps if edits.steps is not None else None,
        trends=rows.trends if edits.trends is not None else None,
        seasonality=rows.seasonality if edits.seasonality is not None else None,
    )
    return PlanState(draft, edits)


def take_plan_edits(session: MutableMapping[str, Any], base_id: str) -> bool:
    """Merge the changes made in the base's plan editors since they were drawn into its draft (a new
    revision, so the editors start again from it); True if anything changed."""
    shown = session.get(plan_shown_key(base_id))
    if not isinstance(shown, Mapping):
        return False
    state = session_plan(session, base_id)
    draft = state.draft
    changed = False
    for part, editor in shown.items():
        value = session.get(editor.key)
        if part == "start":
            if isinstance(value, str) and value.strip() != (editor.rows or ""):
                draft, changed = replace(draft, start=value.strip()), True
        elif plans.has_changes(value):
            draft = replace(draft, **{part: plans.merge(editor.rows, value, editor.paths)})
            changed = True
    if changed:
        session[plan_key(base_id)] = replace(state, draft=draft, revision=state.revision + 1)
        del session[plan_shown_key(base_id)]
    return changed


def reset_plan(session: MutableMapping[str, Any], base_id: str) -> None:
    """Back to the scenario's own plan (a new revision: the editors start afresh)."""
    state = session_plan(session, base_id)
    session[plan_key(base_id)] = PlanState(revision=state.revision + 1)
    session.pop(plan_shown_key(base_id), None)


@dataclass(frozen=True)
class Planned:
    """The what-if with its plan over time, and why the plan as typed is not the one shown."""

    scenario: Scenario
    edits: PlanEdits
    """The plan applied: the draft's, or the last valid one while the draft's is not valid."""
    error: str | None = None
    """The scenario model's message when the draft's plan is not valid (the named error)."""
    notes: list[str] = field(default_factory=list)
    """Rows left out (not complete, their lever's part off, set twice), in the page's language."""


def plan_whatif(
    levered: Scenario, state: PlanState, levers: Mapping[str, PlanLever], lang: str
) -> tuple[Planned, PlanState]:
    """The what-if `levered` (the levers as the widgets set them) with the plan as typed, and the plan's
    state with the edits kept as the last valid ones. When the plan typed is not valid: each part of it
    that is valid on the last valid plan (the first month, the steps, the trends, the seasonality) is
    kept, the others stay as they were, and the error says why."""
    got = plans.read(state.draft, levers, lang)
    try:
        scenario = plans.apply(levered, got.edits)
        return Planned(scenario, got.edits, None, got.notes), replace(state, good=got.edits)
    except ScenarioError as exc:
        error = str(exc)
    kept = state.good
    try:
        scenario = plans.apply(levered, kept)
    except ScenarioError:  # the last valid plan is not valid on these levers (a part switched off)
        kept = PlanEdits()
        scenario = levered
    for part in ("start", "steps", "trends", "seasonality"):
        value = getattr(got.edits, part)
        if value is None or value == getattr(kept, part):
            continue
        trial = replace(kept, **{part: value})
        try:
            scenario, kept = plans.apply(levered, trial), trial
        except ScenarioError:
            continue
    return Planned(scenario, kept, error, got.notes), replace(state, good=kept)


# --- ranges of values not known for sure: the levers they may name, the session --------------------------


def range_levers(
    specs: list[FieldSpec], values: Mapping[str, Any], lang: str, currency: str
) -> dict[str, PlanLever]:
    """The levers a range may be given for (every lever with a value now, `values` by path in widget
    units), by path, each named with its unit in `lang`, in page order."""
    chosen = [s for s in specs if values.get(s.path) is not None]
    labels = plans.unique_labels(
        [
            (s.path, f"{lever_name(s, lang)}, {texts.lever_unit(lang, s.key, s.unit, currency)}")
            for s in chosen
        ]
    )
    return {s.path: PlanLever(s.path, labels[s.path], s.percent, s.integer, "all") for s in chosen}


def range_text(rng: Range, lever: PlanLever | None, lang: str) -> str:
    """A range as the page says it (`1–4`, `1–2–4` with the most likely in the middle), in the lever's
    widget units (shares in %), each end to four significant digits (a fitted range's `2 399`, not
    `2 399.29`)."""
    _, low, mode, high = rng

    def shown(x: float | int) -> str:
        v = float(lever.to_widget(x)) if lever is not None else float(x)
        v = float(f"{v:.4g}") if math.isfinite(v) and abs(v) < 1e15 else v
        return texts.number(v, lang, _value_decimals(v) if not float(v).is_integer() else 0)

    middle = [] if mode is None else [shown(mode)]
    return texts.EN_DASH.join([shown(low), *middle, shown(high)])


@dataclass(frozen=True)
class RangeState:
    """A base's ranges in the session: the table as typed (None: the scenario's own), the last ranges that
    were valid (None: the scenario's own), and a revision that keys the table's editor."""

    draft: tuple[Row, ...] | None = None
    good: tuple[Range, ...] | None = None
    revision: int = 0


def ranges_key(base_id: str) -> str:
    """The session key of the base's ranges (a `RangeState`)."""
    return f"unc|{base_id}"


def ranges_shown_key(base_id: str) -> str:
    """The session key of the base's ranges editor as last drawn (an `EditorShown`)."""
    return f"unc_shown|{base_id}"


def ranges_editor_key(base_id: str, revision: int, lang: str) -> str:
    """The widget key of the ranges table."""
    return f"un_table|{base_id}|{revision}|{lang}"


def session_ranges(session: Mapping[str, Any], base_id: str) -> RangeState:
    """The base's ranges in the session (the scenario's own if it has none yet)."""
    state = session.get(ranges_key(base_id))
    return state if isinstance(state, RangeState) else RangeState()


def initial_ranges(link: View | None, levers: Mapping[str, PlanLever]) -> RangeState:
    """A base's first ranges: the link's (the table's rows from them), else the scenario's own."""
    if link is None or link.ranges is None:
        return RangeState()
    return RangeState(plans.range_rows(link.ranges, levers), link.ranges)


def take_range_edits(session: MutableMapping[str, Any], base_id: str) -> bool:
    """Merge the changes made in the base's ranges table since it was drawn into its draft (a new revision,
    so the table starts again from it); True if anything changed."""
    shown = session.get(ranges_shown_key(base_id))
    if not isinstance(shown, EditorShown):
        return False
    value = session.get(shown.key)
    if not plans.has_changes(value):
        return False
    state = session_ranges(session, base_id)
    draft = plans.merge(shown.rows, value, shown.paths)
    session[ranges_key(base_id)] = replace(state, draft=draft, revision=state.revision + 1)
    del session[ranges_shown_key(base_id)]
    return True


def reset_ranges(session: MutableMapping[str, Any], base_id: str) -> None:
    """Back to the scenario's own ranges (a new revision: the table starts afresh)."""
    state = session_ranges(session, base_id)
    session[ranges_key(base_id)] = RangeState(revision=state.revision + 1)
    session.pop(ranges_shown_key(base_id), None)


@dataclass(frozen=True)
class Ranged:
    """The what-if with its ranges, and why the ranges typed are not the ones applied."""

    scenario: Scenario
    ranges: tuple[Range, ...] | None
    """The ranges applied (None: the scenario's own)."""
    error: str | None = None
    """The scenario model's message when the ranges typed are not valid (the named error)."""
    notes: list[str] = field(default_factory=list)
    """Rows left out (not complete, their lever not in the scenario now, given twice), in the page's
    language."""


def ranges_whatif(
    scenario: Scenario, state: RangeState, levers: Mapping[str, PlanLever], lang: str
) -> tuple[Ranged, RangeState]:
    """The what-if `scenario` (levers and plan as set) with the ranges as typed, and the ranges' state with
    them kept as the last valid ones; while they are not valid, the last valid ones (or the scenario's own,
    if those are not valid here either) with the error."""
    if state.draft is None:
        wanted, notes = state.good, []
    else:
        wanted, notes = plans.read_ranges(state.draft, levers, lang)
    try:
        return Ranged(plans.apply_ranges(scenario, wanted), wanted, None, notes), replace(state, good=wanted)
    except ScenarioError as exc:
        error = str(exc)
    for kept in (state.good, None):
        try:
            return Ranged(plans.apply_ranges(scenario, kept), kept, error, notes), replace(state, good=kept)
        except ScenarioError:
            continue
    return Ranged(plans.apply_ranges(scenario, ()), (), error, notes), replace(state, good=())
