"""The levers: every number of a scenario a user would move, with its bounds from the scenario model.

Shared by sensitivity, goal seek and (later) the app's widgets, so bounds and labels live in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import annotated_types as at
from pydantic import BaseModel

from sim.scenario import Scenario, ScenarioError

GROUPS = ("Attract", "Convert", "Keep", "Grow", "Refer")
"""Lever groups, after the jobs of article 001."""


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


def model_bounds(model: type[BaseModel], name: str) -> tuple[float, float, bool, bool]:
    """(low, high, low_open, integer) of a scenario model's field, read from its pydantic constraints
    (±inf where unbounded): the one source of every lever's and widget's bounds."""
    info = model.model_fields[name]
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


def _lever(section: Any, path: str, label: str, group: str, unit: str) -> Lever:
    name = path.rsplit(".", 1)[-1]
    low, high, low_open, integer = model_bounds(type(section), name)
    return Lever(path, label, group, unit, integer, low, high, low_open)


def levers(scenario: Scenario) -> list[Lever]:
    """Every lever present in the scenario (optional sections only when switched on)."""
    out: list[Lever] = []
    for i, ch in enumerate(scenario.channels):
        out.append(_lever(ch, f"channels.{i}.cost_per_lead", f"CPL ({ch.name})", "Attract", "money"))
        out.append(
            _lever(
                ch, f"channels.{i}.leads_per_month", f"Leads a month ({ch.name})", "Attract", "leads/month"
            )
        )
    for i, st in enumerate(scenario.funnel):
        out.append(_lever(st, f"funnel.{i}.conversion", f"Conversion: {st.name}", "Convert", "share"))
    if scenario.sales_desk is not None:
        d = scenario.sales_desk
        out.append(_lever(d, "sales_desk.staff", "Salespeople", "Convert", "people"))
        out.append(_lever(d, "sales_desk.handling_minutes", "Handling time", "Convert", "minutes"))
    out.append(
        _lever(scenario.first_purchase, "first_purchase.margin", "Margin per sale", "Convert", "money")
    )
    out.append(_lever(scenario.retention, "retention.monthly_churn", "Monthly churn", "Keep", "share"))
    if scenario.service_programme is not None:
        p = scenario.service_programme
        out.append(
            _lever(
                p,
                "service_programme.contacts_per_month",
                "Programme contacts a month",
                "Keep",
                "contacts/month",
            )
        )
        out.append(
            _lever(p, "service_programme.fixed_cost_per_year", "Programme cost a year", "Keep", "money/year")
        )
        out.append(_lever(p, "service_programme.cost_per_contact", "Cost per contact", "Keep", "money"))
    if scenario.problems is not None:
        pr = scenario.problems
        out.append(
            _lever(pr, "problems.visit_problem_probability", "Problem rate per visit", "Keep", "share")
        )
        out.append(_lever(pr, "problems.resolution_days", "Days to resolve a problem", "Keep", "days"))
    for i, s in enumerate(scenario.repeat):
        out.append(_lever(s, f"repeat.{i}.interval_months", f"Interval: {s.name}", "Grow", "months"))
        out.append(_lever(s, f"repeat.{i}.margin", f"Margin per visit: {s.name}", "Grow", "money"))
        out.append(_lever(s, f"repeat.{i}.adoption", f"Adoption: {s.name}", "Grow", "share"))
    if scenario.referrals is not None:
        r = scenario.referrals
        out.append(
            _lever(r, "referrals.per_customer_per_year", "Referrals per customer a year", "Refer", "per year")
        )
        out.append(
            _lever(r, "referrals.conversion_multiplier", "Referral conversion multiplier", "Refer", "×")
        )
    return out


def find_lever(scenario: Scenario, path: str) -> Lever:
    """The lever at `path`, or a ScenarioError listing the paths that exist."""
    for lever in levers(scenario):
        if lever.path == path:
            return lever
    known = ", ".join(lv.path for lv in levers(scenario))
    raise ScenarioError(f"scenario {scenario.name!r}: {path}: not a lever of this scenario (levers: {known})")


def get_value(scenario: Scenario, path: str) -> float:
    """Current value at a dotted path."""
    node: Any = scenario
    for part in path.split("."):
        node = node[int(part)] if part.isdigit() else getattr(node, part)
    return float(node)
