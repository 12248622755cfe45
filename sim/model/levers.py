"""The lever catalogue: every number of a scenario a user would move, once, with its group, unit, English
label and bounds from the scenario model.

Shared by sensitivity and goal seek (`levers`), the app's widgets (`sim.app.state.fields`) and, through
the labels' keys, the Russian texts (`sim.report.texts`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import annotated_types as at
from pydantic import BaseModel

from sim.model import paths
from sim.model import scenario as model
from sim.model.errors import ScenarioError
from sim.model.scenario import Scenario

GROUPS = ("Attract", "Convert", "Keep", "Grow", "Refer")
"""Lever groups, after the jobs of article 001."""


@dataclass(frozen=True)
class LeverField:
    """One field of a scenario section that is a lever (a list's field is a lever per item)."""

    section: str
    """Scenario section (`channels`, `sales_desk` …)."""
    field: str
    """Field of the section."""
    group: str
    """One of GROUPS."""
    unit: str
    """Unit: `money`, `money/month`, `leads/month`, `share`, `people`, `minutes`, `hours`, `days` …"""
    label: str
    """Short English name; `{name}` is the list item's name (channel, stage, stream)."""
    decision: bool = False
    """Moved by sensitivity and goal seek (`levers`); every field is a widget in the app."""
    plan: str = "none"
    """How it may change over time (`sim.model.plan`): `all` (plan steps, a trend and seasonality: rates,
    shares and prices), `steps` (plan steps only: counts, durations and shapes) or `none` (constant over
    the horizon). Which month's value applies to what is docs/model.md's table "Which month's value
    applies"."""

    @property
    def key(self) -> str:
        """`section.field` (the same for every item of a list)."""
        return f"{self.section}.{self.field}"


SECTIONS: dict[str, type[BaseModel]] = {
    "channels": model.Channel,
    "funnel": model.FunnelStage,
    "sales_desk": model.SalesDesk,
    "first_purchase": model.FirstPurchase,
    "retention": model.Retention,
    "service_programme": model.ServiceProgramme,
    "problems": model.Problems,
    "repeat": model.RepeatStream,
    "referrals": model.Referrals,
}
"""The model of each section that holds levers; `channels`, `funnel` and `repeat` are lists."""

LISTS = ("channels", "funnel", "repeat")
"""Sections that are lists of named items."""

F = LeverField
CATALOGUE: tuple[LeverField, ...] = (
    F("channels", "cost_per_lead", "Attract", "money", "CPL: {name}", decision=True, plan="all"),
    F(
        "channels",
        "leads_per_month",
        "Attract",
        "leads/month",
        "Paid leads: {name}",
        decision=True,
        plan="all",
    ),
    F("channels", "lead_quality", "Attract", "×", "Lead quality: {name}", plan="steps"),
    F("funnel", "conversion", "Convert", "share", "Conversion: {name}", decision=True, plan="all"),
    F("funnel", "delay_days", "Convert", "days", "Delay: {name}", plan="steps"),
    F("sales_desk", "staff", "Convert", "people", "Salespeople", decision=True, plan="steps"),
    F(
        "sales_desk",
        "handling_minutes",
        "Convert",
        "minutes",
        "Handling time per lead",
        decision=True,
        plan="steps",
    ),
    F("sales_desk", "hours_per_day", "Convert", "hours", "Working hours a day", plan="steps"),
    F("sales_desk", "patience_hours", "Convert", "hours", "A lead's patience", plan="steps"),
    F(
        "sales_desk",
        "cooling_half_life_hours",
        "Convert",
        "hours",
        "Lead cooling half-life",
        plan="steps",
    ),
    F("sales_desk", "salary_per_month", "Convert", "money/month", "Salary per salesperson", plan="all"),
    F("first_purchase", "margin", "Convert", "money", "Margin per first sale", decision=True, plan="all"),
    F("retention", "monthly_churn", "Keep", "share", "Monthly churn", decision=True, plan="all"),
    F("retention", "alpha", "Keep", "shape", "Churn spread α (customers differ)", plan="steps"),
    F("retention", "beta", "Keep", "shape", "Churn spread β (customers differ)", plan="steps"),
    F(
        "service_programme",
        "contacts_per_month",
        "Keep",
        "contacts/month",
        "Programme contacts",
        decision=True,
        plan="steps",
    ),
    F(
        "service_programme",
        "fixed_cost_per_year",
        "Keep",
        "money/year",
        "Programme fixed cost",
        decision=True,
        plan="all",
    ),
    F(
        "service_programme",
        "cost_per_contact",
        "Keep",
        "money",
        "Cost per contact",
        decision=True,
        plan="all",
    ),
    F(
        "service_programme",
        "tolerated_contacts_per_month",
        "Keep",
        "contacts/month",
        "Contacts customers welcome",
        plan="steps",
    ),
    F("service_programme", "max_churn_reduction", "Keep", "share", "Churn cut at best", plan="steps"),
    F("service_programme", "referral_uplift", "Keep", "share", "Referral uplift", plan="steps"),
    F("service_programme", "margin_uplift", "Keep", "share", "Repeat margin uplift", plan="steps"),
    F(
        "problems",
        "visit_problem_probability",
        "Keep",
        "share",
        "Visits with a problem",
        decision=True,
        plan="all",
    ),
    F(
        "problems",
        "resolution_days",
        "Keep",
        "days",
        "Days to resolve a problem",
        decision=True,
        plan="steps",
    ),
    F("problems", "cost_per_problem", "Keep", "money", "Cost per problem", plan="all"),
    F("problems", "leave_probability_base", "Keep", "share", "Leave even if fixed at once", plan="steps"),
    F(
        "problems",
        "leave_probability_per_day",
        "Keep",
        "share",
        "Extra leaving per day unfixed",
        plan="steps",
    ),
    F("repeat", "interval_months", "Grow", "months", "Interval: {name}", decision=True, plan="steps"),
    F("repeat", "revenue", "Grow", "money", "Check: {name}", plan="all"),
    F("repeat", "margin", "Grow", "money", "Margin: {name}", decision=True, plan="all"),
    F("repeat", "adoption", "Grow", "share", "Adoption: {name}", decision=True, plan="all"),
    F("referrals", "per_customer_per_year", "Refer", "per year", "Referrals", decision=True, plan="all"),
    F("referrals", "conversion_multiplier", "Refer", "×", "Referral conversion", decision=True, plan="steps"),
    F("referrals", "bonus", "Refer", "money", "Bonus per referral sale", plan="all"),
)
"""Every lever field, in page order: by section, and within a list by item, then by field."""
del F

BY_KEY: dict[str, LeverField] = {f.key: f for f in CATALOGUE}
"""The catalogue by `section.field`."""


@dataclass(frozen=True)
class Lever:
    """One number of a scenario that a user can move."""

    path: str
    """Dotted path, as in `Scenario.override` (e.g. `channels.0.cost_per_lead`)."""
    label: str
    """Short human name (English)."""
    group: str
    """One of GROUPS."""
    unit: str
    """Unit: `money`, `leads/month`, `share`, `people`, `minutes`, `months`, `per year`, `days` …"""
    integer: bool
    """Whole numbers only."""
    low: float
    """Smallest valid value (from the scenario model)."""
    high: float
    """Largest valid value (from the scenario model)."""
    low_open: bool = False
    """True if `low` itself is not allowed (strictly greater)."""
    key: str = ""
    """`section.field` of the catalogue entry."""
    name: str = ""
    """The list item's name (channel, funnel stage, repeat stream), else empty."""
    optional: bool = False
    """None is a valid value (e.g. a desk without patience)."""


def model_bounds(model_class: type[BaseModel], name: str) -> tuple[float, float, bool, bool]:
    """(low, high, low_open, integer) of a scenario model's field, read from its pydantic constraints
    (±inf where unbounded): the one source of every lever's and widget's bounds."""
    info = model_class.model_fields[name]
    low, high, low_open = -math.inf, math.inf, False
    integer = info.annotation is int
    for meta in info.metadata:
        if isinstance(meta, at.Ge):
            low = float(meta.ge)
        elif isinstance(meta, at.Gt):
            low, low_open = float(meta.gt), True
        elif isinstance(meta, at.Le):
            high = float(meta.le)
        elif isinstance(meta, at.Lt):
            high = float(meta.lt)
    return low, high, low_open, integer


def _accepts_none(model_class: type[BaseModel], name: str) -> bool:
    annotation = model_class.model_fields[name].annotation
    return type(None) in getattr(annotation, "__args__", ())


def all_levers(scenario: Scenario) -> list[Lever]:
    """Every lever present in the scenario (optional sections only when switched on), in page order."""
    out: list[Lever] = []
    for section in dict.fromkeys(f.section for f in CATALOGUE):
        value = getattr(scenario, section)
        if value is None:
            continue
        items = list(enumerate(value)) if section in LISTS else [(None, value)]
        for index, item in items:
            prefix = section if index is None else f"{section}.{index}"
            name = item.name if index is not None else ""
            for f in CATALOGUE:
                if f.section != section:
                    continue
                low, high, low_open, integer = model_bounds(SECTIONS[section], f.field)
                if scenario.planned:  # a planned lever moves as a whole: keep every month in bounds
                    from sim.model import plan

                    low, high = plan.base_bounds(scenario, f"{prefix}.{f.field}", low, high)
                out.append(
                    Lever(
                        path=f"{prefix}.{f.field}",
                        label=f.label.format(name=name),
                        group=f.group,
                        unit=f.unit,
                        integer=integer,
                        low=low,
                        high=high,
                        low_open=low_open,
                        key=f.key,
                        name=name,
                        optional=_accepts_none(SECTIONS[section], f.field),
                    )
                )
    return out


def levers(scenario: Scenario) -> list[Lever]:
    """The levers that sensitivity and goal seek move, present in the scenario, in page order."""
    return [lv for lv in all_levers(scenario) if BY_KEY[lv.key].decision]


def find_lever(scenario: Scenario, path: str) -> Lever:
    """The lever at `path`, or a ScenarioError listing the paths that exist."""
    for lever in levers(scenario):
        if lever.path == path:
            return lever
    known = ", ".join(lv.path for lv in levers(scenario))
    raise ScenarioError(f"scenario {scenario.name!r}: {path}: not a lever of this scenario (levers: {known})")


def value_of(scenario: Scenario, path: str) -> Any:
    """The lever's current value (None for an optional value left out or a switched-off section)."""
    return paths.get(scenario, path)
