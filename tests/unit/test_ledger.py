"""The monthly ledger (`sim.accounting.ledger`): every monthly column from what was booked, the cash
components listed once, break-even and the KPIs of one run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.accounting import ledger
from sim.accounting.lifetimes import lifetime_tables

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = sim.load_scenario(ROOT / "scenarios" / "car_dealer.toml").override(
    {
        "horizon_months": 3,
        "sales_desk.salary_per_month": 50_000.0,
        "service_programme": {
            "fixed_cost_per_year": 120_000.0,
            "contacts_per_month": 2.0,
            "cost_per_contact": 5.0,
        },
    }
)
BOOKED = {
    "leads_paid": [1000, 1000, 1000],
    "leads_referral": [0, 5, 10],
    "leads_lost": [10, 0, 0],
    "leads_reached": [990, 1005, 0],
    "wait_hours_sum": [99.0, 201.0, 0.0],
    "sales": [8, 12, 10],
    "sales_referral": [0, 1, 2],
    "active_customers": [8, 19, 27],
    "repeat_visits": [0, 0, 3],
    "problems": [0, 1, 0],
    "revenue": [12e6, 18e6, 15e6],
    "margin_first_sale": [800_000.0, 1_100_000.0, 800_000.0],
    "margin_referral_sale": [0.0, 100_000.0, 200_000.0],
    "margin_repeat": [0.0, 0.0, 30_000.0],
    "lead_spend": [2.25e6, 2.25e6, 2.25e6],
    "referral_bonus": [0.0, 0.0, 10_000.0],
    "problem_cost": [0.0, 3000.0, 0.0],
}


def complete() -> dict[str, np.ndarray]:
    return ledger.complete_monthly(SCENARIO, {k: np.array(v) for k, v in BOOKED.items()})


def test_columns_and_components_are_listed_once():
    assert len(set(ledger.MONTHLY_COLUMNS)) == len(ledger.MONTHLY_COLUMNS)
    assert len(set(ledger.KPI_COLUMNS)) == len(ledger.KPI_COLUMNS)
    assert set(ledger.CASH_COMPONENTS) <= set(ledger.MONTHLY_COLUMNS)
    assert [c for c, sign in ledger.CASH_COMPONENTS.items() if sign > 0] == list(ledger.MARGIN_COMPONENTS)
    assert [c for c, sign in ledger.CASH_COMPONENTS.items() if sign < 0] == list(ledger.COST_COMPONENTS)
    assert set(ledger.NEVER_KPIS) <= set(ledger.KPI_COLUMNS)


def test_complete_monthly_adds_up_the_cash():
    out = complete()
    assert set(ledger.MONTHLY_COLUMNS) <= set(out)
    np.testing.assert_array_equal(out["staff_cost"], [200_000.0] * 3)  # 4 salespeople x 50,000
    np.testing.assert_allclose(out["programme_cost"], 10_000.0 + 10.0 * np.array([8, 19, 27]))
    np.testing.assert_array_equal(out["margin"], [800_000.0, 1_200_000.0, 1_030_000.0])
    signed = sum(sign * out[c] for c, sign in ledger.CASH_COMPONENTS.items())
    np.testing.assert_allclose(out["net_cash"], signed)
    np.testing.assert_allclose(out["cumulative_cash"], np.cumsum(signed))
    np.testing.assert_array_equal(out["new_customers"], out["sales"])
    assert out["mean_wait_hours"][:2].tolist() == [0.1, 0.2]
    assert math.isnan(out["mean_wait_hours"][2]), "no lead reached: no mean wait"


@pytest.mark.parametrize(
    ("cumulative", "month"),
    [
        ([-3.0, -1.0, 2.0, 4.0], 3.0),
        ([1.0, 2.0], 1.0),
        ([0.0, -0.5, 0.0], 3.0),  # zero counts as broken even
        ([1.0, -1.0, 2.0], 3.0),  # a dip after the first crossing: from month 3 on
        ([-3.0, 1.0, -1.0], math.nan),  # negative at the horizon: never
    ],
)
def test_break_even_month(cumulative: list[float], month: float):
    got = ledger.break_even_month(np.array(cumulative))
    assert got == month or (math.isnan(got) and math.isnan(month))


def test_kpis_of_one_run():
    out = complete()
    tables = lifetime_tables(SCENARIO)
    k = ledger.kpis(SCENARIO, out, tables, tables.ltv, desk_busy_days=1.0, desk_open_days=4.0)
    assert set(k) == set(ledger.KPI_COLUMNS)
    cum = out["cumulative_cash"]
    assert k["max_cash_need"] == pytest.approx(-cum.min())
    assert k["final_cumulative_cash"] == cum[-1] == k["npv"], "no discounting: NPV is the final cash"
    acquisition = 3 * 2.25e6 + 10_000.0 + 3 * 200_000.0
    assert k["cac"] == pytest.approx(acquisition / 30)
    assert k["ltv_to_cac"] == pytest.approx(tables.ltv / k["cac"])
    assert k["leads_per_sale"] == pytest.approx(3015 / 30)
    assert k["lost_lead_share"] == pytest.approx(10 / 3015)
    assert k["mean_wait_hours"] == pytest.approx(300 / 1995)
    assert k["desk_utilization"] == 0.25
    assert k["new_customers"] == 30
