"""The monthly ledger: from what the engine booked to every monthly column, and the KPIs.

Shared by the engine's results and the expected-value model, so both define cash and KPIs the same way.
"""

from __future__ import annotations

import math

import numpy as np

from sim.accounting.lifetimes import LifetimeTables
from sim.model import plan
from sim.model.calendar import MONTHS_PER_YEAR, monthly_discount
from sim.model.scenario import Scenario

MONTHLY_COLUMNS: tuple[str, ...] = (
    "leads_paid",
    "leads_referral",
    "leads_lost",
    "leads_reached",
    "mean_wait_hours",
    "sales",
    "sales_referral",
    "new_customers",
    "active_customers",
    "repeat_visits",
    "problems",
    "revenue",
    "margin_first_sale",
    "margin_referral_sale",
    "margin_repeat",
    "margin",
    "lead_spend",
    "referral_bonus",
    "staff_cost",
    "programme_cost",
    "problem_cost",
    "net_cash",
    "cumulative_cash",
)
"""Columns of the monthly table, after `replication` and `month`."""

BOOKED_COLUMNS: tuple[str, ...] = (
    "leads_paid",
    "leads_referral",
    "leads_lost",
    "leads_reached",
    "wait_hours_sum",
    "sales",
    "sales_referral",
    "active_customers",
    "repeat_visits",
    "problems",
    "revenue",
    "margin_first_sale",
    "margin_referral_sale",
    "margin_repeat",
    "lead_spend",
    "referral_bonus",
    "problem_cost",
)
"""Monthly arrays the engine (and the expected-value model) book into (0-based months); `complete_monthly`
derives the other monthly columns from them."""


KPI_COLUMNS: tuple[str, ...] = (
    "break_even_month",
    "max_cash_need",
    "final_cumulative_cash",
    "npv",
    "cac",
    "ltv",
    "ltv_gross",
    "ltv_to_cac",
    "payback_months",
    "leads_per_sale",
    "lost_lead_share",
    "mean_wait_hours",
    "desk_utilization",
    "new_customers",
)
"""KPI columns, after `replication`."""


MARGIN_COMPONENTS: tuple[str, ...] = ("margin_first_sale", "margin_referral_sale", "margin_repeat")
"""What makes up `margin`, in the order they are added."""
COST_COMPONENTS: tuple[str, ...] = (
    "lead_spend",
    "referral_bonus",
    "staff_cost",
    "programme_cost",
    "problem_cost",
)
"""What `net_cash` takes away from `margin`, in the order they are subtracted."""
CASH_COMPONENTS: dict[str, int] = {
    **dict.fromkeys(MARGIN_COMPONENTS, 1),
    **dict.fromkeys(COST_COMPONENTS, -1),
}
"""Every monthly cash-flow component and its sign in `net_cash` (their signed sum)."""

NEVER_KPIS: tuple[str, ...] = ("break_even_month", "payback_months")
"""KPIs where NaN means "never within the horizon" (later than any month), not "unknown"."""


def complete_monthly(scenario: Scenario, booked: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every monthly column from the booked arrays (sales, margins, costs …), as float arrays. With a plan,
    month m's staff cost is staff(m) × salary(m) and its programme cost fixed(m) / 12 + contacts(m) ×
    cost_per_contact(m) × the customers active at the end of month m."""
    H = scenario.horizon_months
    missing = set(BOOKED_COLUMNS).difference(booked)
    if missing:
        raise KeyError(f"booked monthly arrays lack {sorted(missing)} (see BOOKED_COLUMNS)")
    out = {k: np.asarray(v, dtype=float) for k, v in booked.items()}
    months = plan.months(scenario)  # month m's values (the same scenario every month without a plan)
    if scenario.sales_desk is None:
        out["staff_cost"] = np.zeros(H)
    else:
        out["staff_cost"] = np.array(
            [s.sales_desk.staff * s.sales_desk.salary_per_month for s in months], dtype=float
        )
    if scenario.service_programme is None:
        out["programme_cost"] = np.zeros(H)
    else:
        progs = [s.service_programme for s in months]
        fixed = np.array([p.fixed_cost_per_year for p in progs], dtype=float)
        per_customer = np.array([p.contacts_per_month * p.cost_per_contact for p in progs], dtype=float)
        out["programme_cost"] = fixed / MONTHS_PER_YEAR + per_customer * out["active_customers"]
    out["new_customers"] = out["sales"].copy()
    first, *rest = MARGIN_COMPONENTS
    out["margin"] = out[first]
    for name in rest:
        out["margin"] = out["margin"] + out[name]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mean_wait_hours"] = np.where(
            out["leads_reached"] > 0, out["wait_hours_sum"] / np.maximum(out["leads_reached"], 1e-300), np.nan
        )
    out["net_cash"] = out["margin"]
    for name in COST_COMPONENTS:
        out["net_cash"] = out["net_cash"] - out[name]
    out["cumulative_cash"] = np.cumsum(out["net_cash"])
    return out


def break_even_month(cumulative_cash: np.ndarray) -> float:
    """First month (1-based) from which the cumulative cash stays >= 0 to the horizon; NaN if none."""
    negative = np.flatnonzero(cumulative_cash < 0)
    if negative.size == 0:
        return 1.0
    last = int(negative[-1])
    return float(last + 2) if last + 1 < cumulative_cash.size else math.nan


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def kpis(
    scenario: Scenario,
    monthly: dict[str, np.ndarray],
    tables: LifetimeTables,
    ltv: float,
    ltv_gross: float,
    desk_busy_days: float,
    desk_open_days: float,
) -> dict[str, float]:
    """The KPIs of one run (or of the expected curve) from its monthly columns. `ltv` and `ltv_gross`: the
    mean net and gross LTV of the run's new customers (docs/model.md); `tables`: the scenario's
    `lifetime_tables` (with a plan, the customer who buys in month 1), whose net margin by age gives the
    payback."""
    cum = monthly["cumulative_cash"]
    sales = float(monthly["sales"].sum())
    leads = float(monthly["leads_paid"].sum() + monthly["leads_referral"].sum())
    acquisition = float(
        monthly["lead_spend"].sum() + monthly["referral_bonus"].sum() + monthly["staff_cost"].sum()
    )
    cac = _ratio(acquisition, sales)
    v = monthly_discount(scenario.discount_rate_annual)
    reached = float(monthly["leads_reached"].sum())
    return {
        "break_even_month": break_even_month(cum),
        "max_cash_need": float(max(0.0, -float(cum.min()))),
        "final_cumulative_cash": float(cum[-1]),
        "npv": float(np.sum(monthly["net_cash"] * v ** np.arange(1, cum.size + 1))),
        "cac": cac,
        "ltv": ltv,
        "ltv_gross": ltv_gross,
        "ltv_to_cac": _ltv_to_cac(ltv, cac),
        "payback_months": tables.payback_months(cac),
        "leads_per_sale": _ratio(leads, sales),
        "lost_lead_share": _ratio(float(monthly["leads_lost"].sum()), leads),
        "mean_wait_hours": _ratio(float(monthly["wait_hours_sum"].sum()), reached),
        "desk_utilization": _ratio(desk_busy_days, desk_open_days),
        "new_customers": sales,
    }


def _ltv_to_cac(ltv: float, cac: float) -> float:
    return ltv / cac if (cac > 0 and math.isfinite(cac)) else math.nan


# --- channels ---------------------------------------------------------------------------------------

CHANNEL_COLUMNS: tuple[str, ...] = (
    "leads",
    "leads_lost",
    "leads_reached",
    "sales",
    "lead_spend",
    "referral_bonus",
    "first_margin",
)
"""What each channel books per month (docs/model.md, "Channels"): the paid channels in the scenario's order,
then the referral leads as a channel of their own (`referrals`)."""

CHANNEL_KPI_COLUMNS: tuple[str, ...] = (
    "leads",
    "sales",
    "cac",
    "leads_per_sale",
    "lost_share",
    "ltv_to_cac",
    "payback_months",
)
"""Per-channel figures over the horizon, from `channel_kpis`."""


def channel_kpis(
    totals: dict[str, np.ndarray], staff_cost: float, ltv: float, tables: LifetimeTables
) -> dict[str, np.ndarray]:
    """Per-channel KPIs over the horizon (docs/model.md, "Channels").

    `totals[col]` (each of `CHANNEL_COLUMNS`) is the channels' sum over the horizon, shape (C + 1,): the
    paid channels, then the referrals. `staff_cost`: the run's staff cost over the horizon, shared between
    the channels by their share of all reached leads (nothing is shared if no lead was reached: then there
    is no sale either). A channel's CAC = (its lead spend + its referral bonus + its staff share) / its
    sales, so the channels' acquisition costs (CAC × sales) add up to the run's. `ltv`: the run's LTV
    (customers behave alike once they have bought); `tables`: the scenario's lifetime tables (payback at
    each channel's CAC). Every array has shape (C + 1,); NaN where a ratio has no denominator.
    """
    missing = set(CHANNEL_COLUMNS).difference(totals)
    if missing:
        raise KeyError(f"channel totals lack {sorted(missing)} (see CHANNEL_COLUMNS)")
    t = {k: np.asarray(totals[k], dtype=float) for k in CHANNEL_COLUMNS}
    reached = t["leads_reached"]
    all_reached = float(reached.sum())
    share = reached / all_reached if all_reached > 0 else np.zeros_like(reached)
    acquisition = t["lead_spend"] + t["referral_bonus"] + staff_cost * share
    sales = t["sales"]
    cac = np.array([_ratio(float(a), float(s)) for a, s in zip(acquisition, sales, strict=True)])
    return {
        "leads": t["leads"],
        "sales": sales,
        "cac": cac,
        "leads_per_sale": np.array(
            [_ratio(float(a), float(s)) for a, s in zip(t["leads"], sales, strict=True)]
        ),
        "lost_share": np.array(
            [_ratio(float(a), float(b)) for a, b in zip(t["leads_lost"], t["leads"], strict=True)]
        ),
        "ltv_to_cac": np.array([_ltv_to_cac(ltv, float(c)) for c in cac]),
        "payback_months": np.array([tables.payback_months(float(c)) for c in cac]),
    }
