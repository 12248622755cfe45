"""The expected-value model (`sim.analytic.expected_value`) with plans, channels, cooling and net LTV.

Exact checks against figures written out here from docs/model.md ("Plans over time", "Channels", "Leads
that go cold", the LTV lines): a step, a trend and a season in the paid leads; a plan whose values equal
the base; the period churn against a brute-force product over each cohort's checks; repeat margins by the
visit's month; the cooling factor of the desk model; the channels against the totals; the cohorts' LTV
against `sim.accounting.lifetimes.cohort_ltv`. The engine comparison is in
tests/validation/test_expected.py.
"""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sections import PROBLEMS, PROGRAMME

import sim
from sim.accounting.ledger import CHANNEL_COLUMNS, CHANNEL_KPI_COLUMNS, MONTHLY_COLUMNS
from sim.accounting.lifetimes import cohort_ltv, lifetime_tables
from sim.analytic.expected_value import _CohortMatrix, expected, expected_arrays, month_values
from sim.analytic.queueing import desk_performance, mmn_d_cooling
from sim.model.calendar import monthly_discount

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def simple(**changes: Any) -> dict[str, Any]:
    """One paid channel, no desk, a one-stage funnel with a delay, one monthly repeat stream, no referrals:
    every figure is a short sum (as a dict, to add a plan)."""
    data: dict[str, Any] = {
        "name": "Plan",
        "horizon_months": 24,
        "channels": [{"name": "Ads", "leads_per_month": 100.0, "cost_per_lead": 10.0}],
        "funnel": [{"name": "buy", "conversion": 0.3, "delay_days": 0.0}],
        "first_purchase": {"revenue": 500.0, "margin": 200.0},
        "retention": {"monthly_churn": 0.02},
        "repeat": [{"name": "visit", "interval_months": 1, "revenue": 80.0, "margin": 30.0}],
    }
    data.update(changes)
    return data


def parse(data: dict[str, Any]) -> sim.Scenario:
    return sim.parse_scenario(copy.deepcopy(data))


# --- paid leads: steps, trends, seasons --------------------------------------------------------------------


def test_a_step_in_leads_and_their_cost_shows_exactly():
    sc = parse(
        simple(
            plan=[
                {"from_month": 7, "channels.0.leads_per_month": 250.0},
                {"from_month": 10, "channels.0.cost_per_lead": 14.0},
            ]
        )
    )
    m = expected(sc).arrays
    leads = np.array([100.0] * 6 + [250.0] * 18)
    cpl = np.array([10.0] * 9 + [14.0] * 15)
    np.testing.assert_array_equal(m["leads_paid"], leads)
    np.testing.assert_array_equal(m["lead_spend"], leads * cpl)
    # No delay and no desk: a month's paid leads buy in their month.
    np.testing.assert_allclose(m["sales"], 0.3 * leads, rtol=1e-12)


def test_trend_and_seasonality_of_leads_are_exact():
    season = [0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.2, 1.1, 1.0, 0.9, 0.8]
    sc = parse(
        simple(
            start="2027-04",
            trends={"channels.0.leads_per_month": 0.03, "channels.0.cost_per_lead": -0.01},
            seasonality={"channels.0.leads_per_month": season},
        )
    )
    m = np.arange(1, 25)
    calendar_month = (3 + m - 1) % 12  # April = index 3
    leads = 100.0 * 1.03 ** (m - 1) * np.array(season)[calendar_month]
    cpl = 10.0 * 0.99 ** (m - 1)
    res = expected(sc)
    np.testing.assert_allclose(res.arrays["leads_paid"], leads, rtol=1e-12)
    np.testing.assert_allclose(res.arrays["lead_spend"], leads * cpl, rtol=1e-12)
    assert list(res.monthly.columns[:3]) == ["replication", "month", "date"]
    assert res.monthly["date"].iloc[0] == np.datetime64("2027-04-01")
    assert res.monthly["date"].iloc[12] == np.datetime64("2028-04-01")
    assert "date" in res.channels.columns


def service_all_features() -> sim.Scenario:
    return sim.load_scenario(SCENARIOS / "car_dealer_service.toml").override(
        {
            "horizon_months": 48,
            "discount_rate_annual": 0.1,
            "channels.0.leads_per_month": 200.0,
            "funnel.2.conversion": 0.5,
            "sales_desk.hours_per_day": 24.0,
            "sales_desk.staff": 1,
            "sales_desk.handling_minutes": 60.0,
            "sales_desk.patience_hours": 2.0,
            "sales_desk.salary_per_month": 60_000.0,
            "problems": PROBLEMS,
            "service_programme": PROGRAMME,
            "existing_customers.count": 30,
        }
    )


BASE_EQUAL_CASES = {
    "simple": lambda: parse(simple()),
    "car_dealer": lambda: sim.load_scenario(SCENARIOS / "car_dealer.toml").override({"horizon_months": 36}),
    "beauty_salon": lambda: sim.load_scenario(SCENARIOS / "beauty_salon.toml"),
    "all_features": service_all_features,
}


@pytest.mark.parametrize("name", list(BASE_EQUAL_CASES))
def test_a_plan_equal_to_the_base_gives_the_unplanned_result(name):
    """Steps that set every planned lever to its base value: the planned path (cohort × calendar sums,
    lever by lever) must give the unplanned model's figures (age convolutions of the lifetime tables)."""
    base = BASE_EQUAL_CASES[name]()
    data = base.model_dump(mode="json")
    values: dict[str, float] = {
        "channels.0.leads_per_month": base.channels[0].leads_per_month,
        "channels.0.cost_per_lead": base.channels[0].cost_per_lead,
        "funnel.0.conversion": base.funnel[0].conversion,
        "first_purchase.margin": base.first_purchase.margin,
        "retention.monthly_churn": base.retention.monthly_churn,
    }
    if base.repeat:
        values["repeat.0.margin"] = base.repeat[0].margin
    if base.referrals:
        values["referrals.per_customer_per_year"] = base.referrals.per_customer_per_year
    if base.sales_desk:
        values["sales_desk.staff"] = base.sales_desk.staff
    if base.service_programme:
        values["service_programme.contacts_per_month"] = base.service_programme.contacts_per_month
    data["plan"] = [{"from_month": 2, **values}]
    planned = sim.parse_scenario(data)
    assert planned.planned
    want = expected(base)
    got = expected(planned)
    for col in MONTHLY_COLUMNS:
        np.testing.assert_allclose(
            got.arrays[col], want.arrays[col], rtol=1e-9, atol=1e-9, err_msg=f"{name}: {col}"
        )
    for key, value in want.kpi.items():
        assert got.kpi[key] == pytest.approx(value, rel=1e-9, nan_ok=True), f"{name}: {key}"
    for col in CHANNEL_COLUMNS:
        np.testing.assert_allclose(got.channel_arrays[col], want.channel_arrays[col], rtol=1e-9, atol=1e-9)


# --- customers: period churn and margins by the visit's month -----------------------------------------


def churn_plan() -> tuple[sim.Scenario, np.ndarray]:
    """Churn 2 % a month, 6 % from month 9, 1 % from month 15; the monthly visit's margin 30, 45 from
    month 12; 50 customers at the start. Returns the scenario and the churn of each month."""
    sc = parse(
        simple(
            existing_customers={"count": 50},
            plan=[
                {"from_month": 9, "retention.monthly_churn": 0.06},
                {"from_month": 12, "repeat.0.margin": 45.0},
                {"from_month": 15, "retention.monthly_churn": 0.01},
            ],
        )
    )
    churn = np.array([0.02] * 8 + [0.06] * 6 + [0.01] * 10)
    return sc, churn


def survival(churn: np.ndarray, m0: int, m: int) -> float:
    """P(a customer who bought in month m0 (0-based) is there at the end of month m): one check at the
    end of each month after its purchase month, each at that month's churn."""
    p = 1.0
    for t in range(m0 + 1, m + 1):
        p *= 1.0 - churn[t]
    return p


def test_period_churn_matches_a_brute_force_product_over_each_cohort():
    sc, churn = churn_plan()
    m = expected(sc).arrays
    sales = m["sales"]
    H = sc.horizon_months
    active = np.zeros(H)
    visits = np.zeros(H)
    margin = np.zeros(H)
    for month in range(H):
        for m0 in range(month + 1):
            there = sales[m0] * survival(churn, m0, month)
            active[month] += there
            if month > m0:  # the monthly visit is due in age months 1, 2, … if still there at the end
                visits[month] += there
                margin[month] += there * (30.0 if month < 11 else 45.0)
        # customers at the start: age month k is calendar month k, first check at the end of month 1
        existing = 50.0 * survival(churn, -1, month)
        active[month] += existing
        visits[month] += existing
        margin[month] += existing * (30.0 if month < 11 else 45.0)
    np.testing.assert_allclose(m["active_customers"], active, rtol=1e-12)
    np.testing.assert_allclose(m["repeat_visits"], visits, rtol=1e-12)
    np.testing.assert_allclose(m["margin_repeat"], margin, rtol=1e-12)


def test_cohort_matrix_with_problems_matches_brute_force():
    """With problems the survival also depends on each cohort's own visits (by age): the check at the end
    of age month j passes with (1 − c(m0 + j)) · κ^(visits in age month j − 1), κ = 1 − p·q."""
    sc, churn = churn_plan()
    problems = {
        "visit_problem_probability": 0.2,
        "resolution_days": 2.0,
        "leave_probability_base": 0.3,
        "leave_probability_per_day": 0.05,
    }
    sc = sc.override({"problems": problems, "repeat.0.interval_months": 2})
    kappa = 1.0 - 0.2 * 0.4
    H = sc.horizon_months
    cm = _CohortMatrix(sc, month_values(sc), lifetime_tables(sc), H)
    for m0 in (0, 5, 13):
        for month in range(m0, H):
            p = 1.0
            for j in range(1, month - m0 + 1):
                before = 1 if j - 1 == 0 else (1 if (j - 1) % 2 == 0 else 0)  # purchase, then every 2 months
                p *= (1.0 - churn[m0 + j]) * kappa**before
            assert cm.active[m0, month] == pytest.approx(p, rel=1e-12), (m0, month)


def test_cohort_ltv_equals_the_lifetime_tables():
    """The model's vectorised cohort LTV (within the horizon on the plan's values, then the last month's
    tables) against `sim.accounting.lifetimes.cohort_ltv`, net and gross, with a programme, problems,
    discounting and a planned contact cost."""
    data = simple(
        discount_rate_annual=0.1,
        problems=PROBLEMS,
        service_programme=PROGRAMME,
        plan=[
            {"from_month": 5, "retention.monthly_churn": 0.05, "service_programme.contacts_per_month": 0.5},
            {"from_month": 9, "first_purchase.margin": 260.0, "service_programme.cost_per_contact": 90.0},
        ],
        trends={"repeat.0.margin": 0.01},
    )
    sc = parse(data)
    tables = lifetime_tables(sc)
    cm = _CohortMatrix(sc, month_values(sc), tables, sc.horizon_months)
    mine = cm.ltv(month_values(sc), tables, monthly_discount(sc.discount_rate_annual))
    theirs = cohort_ltv(sc, tables)
    for a, b in zip(mine, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert not np.allclose(mine[0], mine[1]), "net and gross must differ with a cost to serve"
    res = expected(sc)
    sales = res.arrays["sales"]
    assert res.kpi["ltv"] == pytest.approx(float(sales @ theirs[0] / sales.sum()), rel=1e-12)
    assert res.kpi["ltv_gross"] == pytest.approx(float(sales @ theirs[1] / sales.sum()), rel=1e-12)


def test_steps_change_nothing_before_their_month():
    """Without a desk (whose figures interpolate over the horizon's loads) a step from month 13 leaves
    months 1 … 12 as they were, for each lever that can be planned."""
    base = sim.load_scenario(SCENARIOS / "car_dealer_service.toml").override(
        {"horizon_months": 30, "sales_desk": None, "service_programme": PROGRAMME}
    )
    want = expected(base).arrays
    steps = {
        "channels.0.leads_per_month": 1500.0,
        "funnel.1.conversion": 0.5,
        "first_purchase.margin": 150_000.0,
        "retention.monthly_churn": 0.05,
        "repeat.0.margin": 20_000.0,
        "referrals.per_customer_per_year": 2.0,
        "service_programme.contacts_per_month": 3.0,
    }
    for path, value in steps.items():
        data = base.model_dump(mode="json")
        data["plan"] = [{"from_month": 13, path: value}]
        got = expected(sim.parse_scenario(data)).arrays
        for col in ("sales", "leads_referral", "active_customers", "margin", "net_cash"):
            np.testing.assert_allclose(got[col][:12], want[col][:12], rtol=1e-12, err_msg=f"{path}: {col}")
        assert not np.allclose(got["net_cash"][12:], want["net_cash"][12:]), f"{path} changed nothing"


# --- channels --------------------------------------------------------------------------------------------


def two_channels(**changes: Any) -> sim.Scenario:
    data = sim.load_scenario(SCENARIOS / "car_dealer_service.toml").model_dump(mode="json")
    data["horizon_months"] = 36
    data["channels"][0]["lead_quality"] = 1.6
    data["channels"].append(
        {"name": "Forms", "leads_per_month": 400.0, "cost_per_lead": 700.0, "lead_quality": 0.5}
    )
    data.update(changes)
    return sim.parse_scenario(data)


def test_channels_add_up_to_the_totals():
    res = expected(two_channels(plan=[{"from_month": 10, "channels.1.leads_per_month": 900.0}]))
    ch, m = res.channel_arrays, res.arrays
    assert all(ch[c].shape == (3, 36) for c in CHANNEL_COLUMNS)
    rtol = 1e-12
    np.testing.assert_allclose(ch["leads"].sum(axis=0), m["leads_paid"] + m["leads_referral"], rtol=rtol)
    np.testing.assert_allclose(ch["leads"][2], m["leads_referral"], rtol=rtol)
    np.testing.assert_allclose(ch["leads_lost"].sum(axis=0), m["leads_lost"], rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(ch["leads_reached"].sum(axis=0), m["leads_reached"], rtol=rtol)
    np.testing.assert_allclose(ch["sales"].sum(axis=0), m["sales"], rtol=1e-9)
    np.testing.assert_allclose(ch["sales"][2], m["sales_referral"], rtol=rtol)
    np.testing.assert_allclose(ch["lead_spend"].sum(axis=0), m["lead_spend"], rtol=rtol)
    np.testing.assert_allclose(ch["referral_bonus"].sum(axis=0), m["referral_bonus"], rtol=rtol)
    first = m["margin_first_sale"] + m["margin_referral_sale"]
    np.testing.assert_allclose(ch["first_margin"].sum(axis=0), first, rtol=1e-9)
    # KPIs: the channels' acquisition costs add up to the run's (CAC × new customers).
    k = res.channel_kpis
    assert list(k["channel"]) == ["Calls", "Forms", "referrals"]
    assert list(k.columns) == ["replication", "channel", *CHANNEL_KPI_COLUMNS]
    total = res.kpi["cac"] * res.kpi["new_customers"]
    assert float((k["cac"] * k["sales"]).sum()) == pytest.approx(total, rel=1e-9)
    assert len(res.channels) == 36 * 3


def test_lead_quality_scales_each_channels_conversion():
    """No desk, no referrals: a channel's sales over its leads (all months, nothing sold past the horizon
    with a long horizon and short delays) are min(1, funnel × quality)."""
    sc = two_channels(referrals=None, sales_desk=None)
    sc = sc.override({f"funnel.{j}.delay_days": 0.0 for j in range(len(sc.funnel))})
    ch = expected(sc).channel_arrays
    p = sc.funnel_conversion
    for i, q in enumerate((1.6, 0.5)):  # no delay: every sale in its lead's month
        np.testing.assert_allclose(ch["sales"][i], min(1.0, p * q) * ch["leads"][i], rtol=1e-12)
    capped = two_channels(
        referrals=None,
        sales_desk=None,
        **{
            "channels": [
                {"name": "Hot", "leads_per_month": 100.0, "cost_per_lead": 1.0, "lead_quality": 100.0}
            ]
        },
    )
    hot = expected(capped.override({f"funnel.{j}.delay_days": 0.0 for j in range(3)})).channel_arrays
    np.testing.assert_allclose(hot["sales"][0], hot["leads"][0], rtol=1e-12)  # min(1, 0.01 × 100) = 1


# --- cooling -----------------------------------------------------------------------------------------------


def desk(**changes: Any) -> sim.SalesDesk:
    base = {"staff": 3, "handling_minutes": 20.0, "patience_hours": 2.0, "cooling_half_life_hours": 1.0}
    return sim.parse_scenario(simple(sales_desk={**base, **changes}, horizon_months=6)).sales_desk


CAPACITY = 3 * 72.0  # leads a day the desk can serve round the clock


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"patience_hours": None},
        {"handling": "fixed"},
        {"hours_per_day": 10.0, "patience_hours": 16.0, "cooling_half_life_hours": 8.0},
    ],
    ids=["24 h patience", "24 h no patience", "fixed handling", "working hours"],
)
def test_cooling_factor_tends_to_one_and_falls_with_load(changes):
    loads = (0.3, 0.6, 0.9, 1.2)  # of the capacity while open
    open_share = changes.get("hours_per_day", 24.0) / 24.0
    rates = [x * CAPACITY * open_share for x in loads]
    factors = [desk_performance(desk(**changes), r, 180.0).cooling for r in rates]
    assert all(0.0 < f < 1.0 for f in factors), factors
    assert all(a > b for a, b in itertools.pairwise(factors)), factors
    for x, rate in zip(loads, rates, strict=True):
        by_half_life = [
            desk_performance(desk(**{**changes, "cooling_half_life_hours": h}), rate, 180.0).cooling
            for h in (0.5, 5.0, 50.0, 8760.0)
        ]
        assert all(a < b for a, b in itertools.pairwise(by_half_life)), by_half_life
        overloaded = x >= 1.0 and "patience_hours" in changes and changes["patience_hours"] is None
        if not overloaded:  # the backlog of an overloaded desk without patience grows without bound
            assert by_half_life[-1] > 0.99, by_half_life
    without = desk(**{**changes, "cooling_half_life_hours": None})
    assert desk_performance(without, rates[2], 180.0).cooling == 1.0


def test_cooling_round_the_clock_without_patience_is_the_erlang_c_transform():
    """M/M/n: W = 0 with probability 1 − C, else exponential with rate nμ − λ, so
    E[e^{-sW}] = 1 − C + C (nμ − λ) / (nμ − λ + s)."""
    n, mu, lam, s = 4, 30.0, 100.0, math.log(2.0) / (1.5 / 24.0)
    a = lam / mu
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    c = n * b / (n - a * (1.0 - b))
    want = 1.0 - c + c * (n * mu - lam) / (n * mu - lam + s)
    assert mmn_d_cooling(lam, mu, n, math.inf, 180.0, s)[2] == pytest.approx(want, rel=1e-12)


def test_cooling_with_patience_tends_to_the_no_patience_transform():
    lam, mu, n, s = 60.0, 24.0, 3, 12.0
    assert mmn_d_cooling(lam, mu, n, 50.0, 180.0, s)[2] == pytest.approx(
        mmn_d_cooling(lam, mu, n, math.inf, 180.0, s)[2], rel=1e-9
    )


def test_cooling_scales_the_sales_of_reached_leads():
    """Without referrals a month's buyers are its reached leads × conversion × the cooling factor; a
    scenario without a desk is not affected by a half-life (every wait is 0)."""
    data = simple(
        horizon_months=12,
        sales_desk={"staff": 2, "handling_minutes": 15.0, "patience_hours": 3.0},
        channels=[{"name": "Ads", "leads_per_month": 4000.0, "cost_per_lead": 1.0}],
    )
    plain = parse(data)
    data["sales_desk"]["cooling_half_life_hours"] = 2.0
    cooled = parse(data)
    factor = expected(cooled).desk.cooling
    assert 0.0 < factor < 1.0
    assert factor == desk_performance(cooled.sales_desk, 4000.0 / (365.25 / 12), 12 * 365.25 / 12).cooling
    got, want = expected(cooled).arrays, expected(plain).arrays
    np.testing.assert_allclose(got["sales"], want["sales"] * factor, rtol=1e-12)
    np.testing.assert_array_equal(got["leads_lost"], want["leads_lost"])
    no_desk = simple()
    a = expected(parse(no_desk)).arrays["sales"]
    no_desk["channels"][0]["lead_quality"] = 1.0
    assert np.array_equal(a, expected(parse(no_desk)).arrays["sales"])


def test_planned_desk_and_speed_path_agree():
    """`expected_arrays` (no channels) and `expected` give the same monthly figures and KPIs; staff planned
    by month uses each month's desk (more staff: fewer lost leads in those months)."""
    sc = two_channels(
        **{
            "sales_desk": {
                "staff": 1,
                "handling_minutes": 30.0,
                "patience_hours": 1.0,
                "salary_per_month": 50_000.0,
                "cooling_half_life_hours": 6.0,
            },
            "plan": [{"from_month": 13, "sales_desk.staff": 3}],
        }
    )
    monthly, k, _ = expected_arrays(sc)
    res = expected(sc)
    for col in MONTHLY_COLUMNS:
        np.testing.assert_array_equal(monthly[col], res.arrays[col])
    lost_share = monthly["leads_lost"] / (monthly["leads_paid"] + monthly["leads_referral"])
    assert lost_share[12:].max() < 0.5 * lost_share[:12].min()
    np.testing.assert_allclose(monthly["staff_cost"], [50_000.0] * 12 + [150_000.0] * 24)
    assert k["desk_utilization"] == pytest.approx(
        float(monthly["leads_reached"].sum()) * 30.0 / 1440.0 / sim.model.plan.staff_open_days(sc), rel=1e-12
    )
