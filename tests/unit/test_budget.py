"""Where the next lead budget goes (`sim.next_budget`, `sim.decisions.budget`), on the expected-value
model: each paid channel gets `amount` more a month (amount / CPL more leads a month, a planned channel
moved as a whole), compared with the scenario as given."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.model import plan

ROOT = Path(__file__).resolve().parents[2]
SERVICE = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")
DEALER = sim.load_scenario(ROOT / "scenarios" / "car_dealer.toml")
H = SERVICE.horizon_months


def with_channels(base: sim.Scenario, *channels: dict) -> sim.Scenario:
    data = base.model_dump(mode="json")
    data["channels"] = [*data["channels"], *channels]
    return sim.parse_scenario(data)


THREE = with_channels(
    SERVICE,
    {"name": "Forms", "leads_per_month": 300.0, "cost_per_lead": 1500.0},
    {"name": "Walk-ins", "leads_per_month": 50.0, "cost_per_lead": 0.0},
    {"name": "Portal", "leads_per_month": 200.0, "cost_per_lead": 4000.0},
)
"""Calls at 2,250 a lead, forms at 1,500, a portal at 4,000 (the same funnel), and free walk-ins."""


def cash(scenario: sim.Scenario) -> float:
    return float(sim.expected(scenario).kpis["final_cumulative_cash"].iloc[0])


def test_each_paid_channel_gets_the_amount_and_the_cheapest_leads_win():
    res = sim.next_budget(THREE, amount=100_000)
    t = res.table
    assert set(t["name"]) == {"Calls", "Forms", "Portal"}, "a free channel has nothing to spend on"
    assert t["name"].tolist() == ["Forms", "Calls", "Portal"], "same funnel: the cheapest lead is best"
    assert res.best == "Forms"
    base = cash(THREE)
    assert res.base_final_cash == base
    for row in t.to_dict("records"):
        i = row["channel"]
        ch = THREE.channels[i]
        assert row["cost_per_lead"] == ch.cost_per_lead
        assert row["extra_leads_per_month"] == pytest.approx(100_000 / ch.cost_per_lead, rel=1e-15)
        assert row["extra_spend"] == pytest.approx(100_000 * H, rel=1e-12), "amount × horizon without a plan"
        moved = THREE.override(
            {f"channels.{i}.leads_per_month": ch.leads_per_month + 100_000 / ch.cost_per_lead}
        )
        k = sim.expected(moved).kpis.iloc[0]
        assert row["final_cumulative_cash"] == k["final_cumulative_cash"]
        assert row["cash_change"] == pytest.approx(k["final_cumulative_cash"] - base, rel=1e-12)
        assert row["break_even_month"] == k["break_even_month"]
        assert row["return_on_spend"] == pytest.approx(row["cash_change"] / row["extra_spend"])
    assert np.all(np.diff(t["cash_change"].to_numpy()) < 0), "ranked by the cash they bring, best first"
    assert res.verdict("RUB").startswith(
        "Put the next 100 000 RUB a month into Forms: 66.7 more leads a month"
    )


def test_ranked_by_break_even_with_cash_breaking_ties():
    res = sim.next_budget(THREE, amount=100_000, metric="break_even_month")
    months = res.table["break_even_month"].to_numpy()
    assert np.all(np.diff(months) >= 0), "earliest break-even first"
    same = res.table[res.table["break_even_month"] == months[0]]
    assert np.all(np.diff(same["cash_change"].to_numpy()) <= 0), "equal months: more cash first"
    other = sim.next_budget(THREE, amount=100_000, metric="ltv_to_cac")
    assert {"ltv_to_cac", "ltv_to_cac_change"} <= set(other.table.columns)
    assert np.all(np.diff(other.table["ltv_to_cac"].to_numpy()) <= 0), "the highest LTV/CAC first"


def test_a_saturated_desk_takes_away_what_extra_leads_would_bring():
    # A desk with one salesperson, an hour a call, 12 hours a day and a day's patience: it is already
    # full, so most extra callers are lost; without the desk every one of them is reached.
    full = SERVICE.override({"sales_desk.staff": 1, "sales_desk.handling_minutes": 60.0})
    at_desk = sim.next_budget(full, amount=200_000).table.iloc[0]
    no_desk = sim.next_budget(full.override({"sales_desk": None}), amount=200_000).table.iloc[0]
    assert at_desk["extra_spend"] == no_desk["extra_spend"]
    assert at_desk["cash_change"] < 0 < no_desk["cash_change"]


def test_a_planned_channel_gets_the_same_money_every_month():
    # Calls double from month 7 and their price rises 1 % a month: the next 100,000 a month buys
    # 100,000 / CPL(m) more leads in month m, on top of the plan, so the extra spend is amount × horizon.
    doubled = SERVICE.override(
        {
            "plan": [{"from_month": 7, "channels.0.leads_per_month": 2000.0}],
            "trends": {"channels.0.cost_per_lead": 0.01},
        }
    )
    row = sim.next_budget(doubled, amount=100_000).table.iloc[0]
    assert row["extra_spend"] == pytest.approx(100_000 * H, rel=1e-12)
    assert row["extra_leads_per_month"] == pytest.approx(100_000 / 2250.0)
    cpl = plan.values(doubled, "channels.0.cost_per_lead")
    moved = plan.with_values(
        doubled,
        "channels.0.leads_per_month",
        plan.values(doubled, "channels.0.leads_per_month") + 100_000 / cpl,
    )
    assert plan.values(moved, "channels.0.leads_per_month")[[0, 6, H - 1]] == pytest.approx(
        [1000 + 100_000 / cpl[0], 2000 + 100_000 / cpl[6], 2000 + 100_000 / cpl[H - 1]]
    )
    assert row["final_cumulative_cash"] == cash(moved)
    # A channel that starts in month 7 (0 leads before) gets the money from month 1 too.
    later = with_channels(SERVICE, {"name": "Forms", "leads_per_month": 0.0, "cost_per_lead": 1500.0})
    later = later.override({"plan": [{"from_month": 7, "channels.1.leads_per_month": 300.0}]})
    forms = sim.next_budget(later, amount=150_000).table.set_index("name").loc["Forms"]
    assert forms["extra_leads_per_month"] == 100.0
    assert forms["extra_spend"] == pytest.approx(150_000 * H, rel=1e-12)


def test_lead_quality_counts():
    """Needs the expected-value model to apply `Channel.lead_quality`: forms at 1,500 a lead that buy half
    as often as calls cost 3,000 per call-equivalent lead, so calls at 2,250 get the money."""
    two = with_channels(
        SERVICE, {"name": "Forms", "leads_per_month": 300.0, "cost_per_lead": 1500.0, "lead_quality": 0.5}
    )
    res = sim.next_budget(two, amount=100_000)
    assert res.best == "Calls"


def test_no_channel_pays_back_says_so():
    res = sim.next_budget(DEALER, amount=100_000)  # a car bought at a loss, nothing after it
    row = res.table.iloc[0]
    assert row["cash_change"] < 0 and row["return_on_spend"] < 0
    assert math.isnan(row["break_even_month"]) and math.isnan(res.base_break_even)
    assert res.verdict("RUB").startswith("No channel's extra leads pay for themselves within 120 months")


def test_bad_input():
    for amount in (0, -5, math.nan, math.inf, "100", True):
        with pytest.raises(sim.DecisionError, match="amount"):
            sim.next_budget(SERVICE, amount=amount)
    free = SERVICE.override({"channels.0.cost_per_lead": 0.0})
    with pytest.raises(sim.DecisionError, match="no paid channel"):
        sim.next_budget(free)
    with pytest.raises(ValueError, match="metric"):
        sim.next_budget(SERVICE, metric="nonsense")
    with pytest.raises(sim.DecisionError, match="model"):
        sim.next_budget(SERVICE, model="exact")


def test_the_engine_with_common_random_numbers():
    tiny = with_channels(
        DEALER.override({"horizon_months": 3, "channels.0.leads_per_month": 300.0}),
        {"name": "Forms", "leads_per_month": 100.0, "cost_per_lead": 1000.0},
    )
    res = sim.next_budget(tiny, amount=50_000, model="simulate", replications=2, seed=3)
    assert res.model == "engine: 2 replication(s), seed 3"
    base = sim.simulate(tiny, replications=2, seed=3).kpis["final_cumulative_cash"].mean()
    assert res.base_final_cash == base
    for row in res.table.to_dict("records"):
        i = row["channel"]
        leads = tiny.channels[i].leads_per_month + row["extra_leads_per_month"]
        runs = sim.simulate(tiny.override({f"channels.{i}.leads_per_month": leads}), replications=2, seed=3)
        assert row["final_cumulative_cash"] == runs.kpis["final_cumulative_cash"].mean()
