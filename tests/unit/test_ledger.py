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
SERVICE = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml").override(
    {
        "horizon_months": 3,
        "sales_desk.salary_per_month": 50_000.0,
        "service_programme": {"contacts_per_month": 2.0, "cost_per_contact": 5.0},
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
    k = ledger.kpis(
        SCENARIO, out, tables, tables.ltv, tables.ltv_gross, desk_busy_days=1.0, desk_open_days=4.0
    )
    assert list(k) == list(ledger.KPI_COLUMNS)
    assert k["ltv"] == tables.ltv and k["ltv_gross"] == tables.ltv_gross
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


def test_ltv_gross_follows_ltv_in_the_kpi_columns():
    columns = list(ledger.KPI_COLUMNS)
    assert columns[columns.index("ltv") + 1] == "ltv_gross"


def test_kpis_use_the_net_ltv_and_the_net_payback():
    # The dealer with service visits and a programme contact that costs 400 a month per customer: the net
    # LTV and the payback on the net margin differ from the gross ones; LTV/CAC is the net one.
    sc = SERVICE.override({"service_programme.cost_per_contact": 200.0})
    tables = lifetime_tables(sc)
    booked = {k: np.array(v) for k, v in BOOKED.items()}
    booked["lead_spend"] = np.full(3, 1.5e6)  # a CAC of 170,333: paid back by the service visits
    out = ledger.complete_monthly(sc, booked)
    k = ledger.kpis(sc, out, tables, tables.ltv, tables.ltv_gross, desk_busy_days=0.0, desk_open_days=0.0)
    assert k["cac"] == pytest.approx((4.5e6 + 10_000.0 + 600_000.0) / 30)
    assert k["ltv"] < k["ltv_gross"]
    assert k["ltv_to_cac"] == pytest.approx(tables.ltv / k["cac"])
    net = np.cumsum(tables.expected_by_age("margin") - tables.expected_by_age("cost"))
    assert k["payback_months"] == float(np.flatnonzero(net >= k["cac"])[0])
    gross_payback = float(np.flatnonzero(np.cumsum(tables.expected_by_age("margin")) >= k["cac"])[0])
    assert k["payback_months"] > gross_payback


def test_complete_monthly_with_a_plan_costs_each_month_at_its_values():
    sc = SCENARIO.override(
        {
            "plan": [
                {"from_month": 2, "sales_desk.staff": 6, "service_programme.contacts_per_month": 3.0},
                {"from_month": 3, "service_programme.cost_per_contact": 8.0},
            ],
            "trends": {"sales_desk.salary_per_month": 0.1, "service_programme.fixed_cost_per_year": -0.5},
        }
    )
    out = ledger.complete_monthly(sc, {k: np.array(v) for k, v in BOOKED.items()})
    salary = 50_000.0 * 1.1 ** np.arange(3)
    np.testing.assert_allclose(out["staff_cost"], np.array([4, 6, 6]) * salary, rtol=1e-12)
    fixed = 120_000.0 * 0.5 ** np.arange(3) / 12
    per_customer = np.array([2.0 * 5.0, 3.0 * 5.0, 3.0 * 8.0])
    np.testing.assert_allclose(
        out["programme_cost"], fixed + per_customer * np.array([8, 19, 27]), rtol=1e-12
    )
    signed = sum(sign * out[c] for c, sign in ledger.CASH_COMPONENTS.items())
    np.testing.assert_allclose(out["net_cash"], signed)


CHANNEL_TOTALS = {
    # two paid channels, the second without a sale, then the referrals
    "leads": np.array([3000.0, 200.0, 15.0]),
    "leads_lost": np.array([10.0, 5.0, 0.0]),
    "leads_reached": np.array([1800.0, 180.0, 15.0]),
    "sales": np.array([28.0, 0.0, 2.0]),
    "lead_spend": np.array([3.0e6, 300_000.0, 0.0]),
    "referral_bonus": np.array([0.0, 0.0, 10_000.0]),
    "first_margin": np.array([2.8e6, 0.0, 200_000.0]),
}


def test_channel_kpis_share_the_staff_cost_and_add_up_to_the_run():
    tables = lifetime_tables(SERVICE)
    staff = 600_000.0
    got = ledger.channel_kpis(CHANNEL_TOTALS, staff, tables.ltv, tables)
    assert list(got) == list(ledger.CHANNEL_KPI_COLUMNS)
    assert all(v.shape == (3,) for v in got.values())
    reached = CHANNEL_TOTALS["leads_reached"]
    own = CHANNEL_TOTALS["lead_spend"] + CHANNEL_TOTALS["referral_bonus"]
    share = staff * reached / reached.sum()
    assert got["cac"][0] == pytest.approx((own[0] + share[0]) / 28)
    assert got["cac"][2] == pytest.approx((10_000.0 + share[2]) / 2)
    assert math.isnan(got["cac"][1]), "no sale: no CAC"
    # the channels' acquisition costs add up to the run's, staff included — the channel without a sale
    # carries its lead spend and its share of the staff, which the run's CAC spreads over all sales
    run_cost = own.sum() + staff
    selling = CHANNEL_TOTALS["sales"] > 0
    spent_by_sellers = float((got["cac"][selling] * CHANNEL_TOTALS["sales"][selling]).sum())
    assert spent_by_sellers + own[1] + share[1] == pytest.approx(run_cost)
    np.testing.assert_allclose(got["leads_per_sale"][[0, 2]], [3000 / 28, 15 / 2])
    np.testing.assert_allclose(got["lost_share"], CHANNEL_TOTALS["leads_lost"] / CHANNEL_TOTALS["leads"])
    np.testing.assert_allclose(got["ltv_to_cac"][[0, 2]], tables.ltv / got["cac"][[0, 2]])
    paybacks = [tables.payback_months(c) for c in got["cac"][[0, 2]]]
    assert all(math.isfinite(p) for p in paybacks)
    np.testing.assert_array_equal(got["payback_months"][[0, 2]], paybacks)
    assert math.isnan(got["ltv_to_cac"][1]) and math.isnan(got["payback_months"][1])
    np.testing.assert_array_equal(got["leads"], CHANNEL_TOTALS["leads"])
    np.testing.assert_array_equal(got["sales"], CHANNEL_TOTALS["sales"])
    with pytest.raises(KeyError, match="first_margin"):
        ledger.channel_kpis(
            {k: v for k, v in CHANNEL_TOTALS.items() if k != "first_margin"}, staff, 1.0, tables
        )


def test_channel_columns_are_listed_once():
    assert len(set(ledger.CHANNEL_COLUMNS)) == len(ledger.CHANNEL_COLUMNS) == 7
    assert len(set(ledger.CHANNEL_KPI_COLUMNS)) == len(ledger.CHANNEL_KPI_COLUMNS) == 7
