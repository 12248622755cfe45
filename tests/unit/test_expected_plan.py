"""The expected-value model (`sim.analytic.expected_value`) with plans, channels, cooling and net LTV.

Exact checks against figures written out here from docs/model.md ("Plans over time", "Channels", "Leads
that go cold", the LTV lines): a step, a trend and a season in the paid leads; a plan whose values equal
the base; the period churn against a brute-force product over each cohort's checks; repeat margins by the
visit's month; the cooling factor of the desk model; the channels against the totals; the cohorts' LTV
against `sim.accounting.lifetimes.cohort_ltv`. The levers every plan may now move: problems by the visit's
month and the cohort levers (adoption, interval, θ's Beta by purchase month) against brute-force sums over
cohorts and ages; funnel delays, handling, patience and cooling by the lead's arrival month against the
kernels and the desk model month by month; the referral multiplier and bonus; the programme's shape; steps
that change nothing before their month. The engine comparison is in tests/validation/test_expected.py.
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
from sim.analytic.expected_value import (
    _AgeCohorts,
    _CohortMatrix,
    _existing_by_age,
    _Kernels,
    _kernels,
    _solve_sales,
    delay_kernel,
    expected,
    expected_arrays,
    month_values,
)
from sim.analytic.queueing import desk_performance, mmn_d_cooling
from sim.model.calendar import MONTH_DAYS, monthly_discount

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


def cooling_desk_sbg() -> sim.Scenario:
    """The all-features dealer whose leads go cold at a desk with working hours, customers who differ."""
    data = service_all_features().model_dump(mode="json")
    data["sales_desk"].update({"hours_per_day": 10.0, "patience_hours": 20.0, "cooling_half_life_hours": 6.0})
    data["retention"] = {"model": "sbg", "alpha": 0.8, "beta": 30.0}
    return sim.parse_scenario(data)


BASE_EQUAL_CASES = {
    "simple": lambda: parse(simple()),
    "car_dealer": lambda: sim.load_scenario(SCENARIOS / "car_dealer.toml").override({"horizon_months": 36}),
    "beauty_salon": lambda: sim.load_scenario(SCENARIOS / "beauty_salon.toml"),
    "all_features": service_all_features,
    "cooling_desk_sbg": cooling_desk_sbg,
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
        prog = base.service_programme
        values["service_programme.contacts_per_month"] = prog.contacts_per_month
        values["service_programme.tolerated_contacts_per_month"] = prog.tolerated_contacts_per_month
        values["service_programme.max_churn_reduction"] = prog.max_churn_reduction
    # the levers a lead carries from its arrival month, the bonus, problems and the cohort levers
    values["funnel.0.delay_days"] = base.funnel[0].delay_days
    if base.sales_desk:
        for field in ("handling_minutes", "patience_hours", "cooling_half_life_hours"):
            if getattr(base.sales_desk, field) is not None:
                values[f"sales_desk.{field}"] = getattr(base.sales_desk, field)
    if base.referrals:
        values["referrals.conversion_multiplier"] = base.referrals.conversion_multiplier
        values["referrals.bonus"] = base.referrals.bonus
    if base.problems:
        for field in PROBLEMS:
            values[f"problems.{field}"] = getattr(base.problems, field)
    if base.repeat:
        values["repeat.0.interval_months"] = base.repeat[0].interval_months
        values["repeat.0.adoption"] = base.repeat[0].adoption
    if base.retention.model == "sbg":
        values["retention.alpha"] = base.retention.alpha
        values["retention.beta"] = base.retention.beta
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
    months 1 … 12 as they were, for each lever that can be planned (the desk's own levers:
    `test_a_desk_or_delay_step_changes_nothing_before_its_month`)."""
    base = sim.load_scenario(SCENARIOS / "car_dealer_service.toml").override(
        {"horizon_months": 30, "sales_desk": None, "service_programme": PROGRAMME, "problems": PROBLEMS}
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
        "funnel.0.delay_days": 12.0,
        "referrals.conversion_multiplier": 40.0,
        "referrals.bonus": 30_000.0,
        "problems.visit_problem_probability": 0.3,
        "problems.cost_per_problem": 9000.0,
        "problems.resolution_days": 20.0,
        "problems.leave_probability_base": 0.4,
        "problems.leave_probability_per_day": 0.04,
        "service_programme.tolerated_contacts_per_month": 2.0,
        "service_programme.max_churn_reduction": 0.6,
        "repeat.0.interval_months": 3,
        "repeat.0.adoption": 0.5,
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


# --- the levers a lead carries, problems by the visit's month, cohort levers ----------------------------


def problems_and_cohorts(**changes: Any) -> sim.Scenario:
    """One visit stream every 2 months adopted by 60 %, problems, 50 customers at the start, a 10 % discount;
    from month 6 new customers adopt with 90 % and come every 3 months (cohort levers), from month 9 a
    visit has a problem with 40 % and a slower fix makes it leave with 60 % (q = 0.3 + 0.05 × 6), from
    month 15 a problem costs 250 and churn is 5 %."""
    data = simple(
        discount_rate_annual=0.1,
        existing_customers={"count": 50},
        problems={
            "visit_problem_probability": 0.2,
            "resolution_days": 2.0,
            "cost_per_problem": 100.0,
            "leave_probability_base": 0.3,
            "leave_probability_per_day": 0.05,
        },
        plan=[
            {"from_month": 6, "repeat.0.adoption": 0.9, "repeat.0.interval_months": 3},
            {"from_month": 9, "problems.visit_problem_probability": 0.4, "problems.resolution_days": 6.0},
            {"from_month": 15, "problems.cost_per_problem": 250.0, "retention.monthly_churn": 0.05},
        ],
    )
    data["repeat"][0].update({"interval_months": 2, "adoption": 0.6})
    data.update(changes)
    return parse(data)


def month_levers(sc: sim.Scenario) -> dict[str, np.ndarray]:
    """Each month's (0-based) values written out from the plan of `problems_and_cohorts`."""
    H = sc.horizon_months
    m = np.arange(H)
    p = np.where(m < 8, 0.2, 0.4)
    q = np.where(m < 8, 0.3 + 0.05 * 2.0, 0.3 + 0.05 * 6.0)
    return {
        "adoption": np.where(m < 5, 0.6, 0.9),
        "interval": np.where(m < 5, 2, 3),
        "p": p,
        "keep": 1.0 - p * q,
        "cost": np.where(m < 14, 100.0, 250.0),
        "churn": np.where(m < 14, 0.02, 0.05),
    }


def cohort_survival(v: dict[str, np.ndarray], m0: int, adopted: bool, ages: int) -> np.ndarray:
    """P(a customer of month m0 (0-based) is there at the end of age month k), k = 0 … ages-1, month by
    month: the check at the end of calendar month t passes with (1 − c(t)) × keep(t − 1)^(visits in t − 1),
    the first purchase a visit of month m0; past the horizon the last month's values hold."""
    H = v["churn"].size
    out = np.ones(ages)
    for k in range(1, ages):
        t, before = min(m0 + k, H - 1), min(m0 + k - 1, H - 1)
        visits = 1 if k == 1 else int(adopted and (k - 1) % v["interval"][m0] == 0)
        out[k] = out[k - 1] * (1.0 - v["churn"][t]) * v["keep"][before] ** visits
    return out


def test_planned_problems_and_cohort_levers_match_a_brute_force_sum_over_cohorts():
    """Each cohort m0 adopts with adoption(m0) and visits every interval(m0) months for life; a visit in
    month m has a problem with p(m), costing cost(m), and is kept at the next check with keep(m); the
    customers at the start have month 1's adoption and interval (a first visit in month u = 1 … I)."""
    sc = problems_and_cohorts()
    v = month_levers(sc)
    res = expected(sc).arrays
    sales = res["sales"]
    H = sc.horizon_months
    active, visits, problems, margin = np.zeros(H), np.zeros(H), np.zeros(H), np.zeros(H)
    for m0 in range(H):
        a, iv = v["adoption"][m0], v["interval"][m0]
        problems[m0] += sales[m0] * v["p"][m0]  # the first purchase
        for adopted, weight in ((True, a), (False, 1.0 - a)):
            s = cohort_survival(v, m0, adopted, H - m0)
            for k in range(H - m0):
                active[m0 + k] += sales[m0] * weight * s[k]
                if adopted and k >= 1 and k % iv == 0:
                    there = sales[m0] * weight * s[k]
                    visits[m0 + k] += there
                    problems[m0 + k] += there * v["p"][m0 + k]
                    margin[m0 + k] += there * 30.0
    # 50 customers at the start: month 1's adoption 0.6 and interval 2; age month k is calendar month k.
    for u, weight in ((None, 0.4), (1, 0.3), (2, 0.3)):
        s = 50.0 * weight
        for month in range(1, H + 1):  # 1-based
            before = month - 1
            visited_before = u is not None and before >= u and (before - u) % 2 == 0
            s *= (1.0 - v["churn"][month - 1]) * (v["keep"][before - 1] if visited_before else 1.0)
            active[month - 1] += s
            if u is not None and month >= u and (month - u) % 2 == 0:
                visits[month - 1] += s
                problems[month - 1] += s * v["p"][month - 1]
                margin[month - 1] += s * 30.0
    np.testing.assert_allclose(res["active_customers"], active, rtol=1e-12)
    np.testing.assert_allclose(res["repeat_visits"], visits, rtol=1e-12)
    np.testing.assert_allclose(res["problems"], problems, rtol=1e-12)
    np.testing.assert_allclose(res["problem_cost"], problems * v["cost"], rtol=1e-12)
    np.testing.assert_allclose(res["margin_repeat"], margin, rtol=1e-12)


def brute_ltv(sc: sim.Scenario, v: dict[str, np.ndarray], m0: int, ages: int = 2000) -> tuple[float, float]:
    """(net, gross) LTV of a customer of month m0 summed age by age (past the horizon the last month's
    values): margin 200 at the purchase less its problem p(m0) × cost(m0), then, if it adopted the stream
    (adoption(m0)), its visits every interval(m0) months (margin 30, less p × cost of their month) × v^k ×
    its survival; a customer who did not adopt has no flow after the purchase. 0.98^2000 leaves nothing
    out."""
    H = sc.horizon_months
    k = np.arange(ages)
    disc = monthly_discount(sc.discount_rate_annual) ** k
    month = np.minimum(m0 + k, H - 1)
    per_problem = v["p"][month] * v["cost"][month]
    due = (k >= 1) & (k % v["interval"][m0] == 0)
    there = v["adoption"][m0] * disc * cohort_survival(v, m0, True, ages) * due
    gross = float((there * 30.0).sum())
    net = float((there * (30.0 - per_problem)).sum())
    return net + 200.0 - per_problem[0], gross + 200.0


def test_cohort_ltv_with_planned_problems_and_cohort_levers_is_the_sum_over_ages():
    sc = problems_and_cohorts()
    v = month_levers(sc)
    tables = lifetime_tables(sc)
    mv = month_values(sc)
    cm = _CohortMatrix(sc, mv, tables, sc.horizon_months)
    net, gross = cm.ltv(mv, tables, monthly_discount(sc.discount_rate_annual))
    for m0 in (0, 4, 5, 7, 8, 14, 23):
        want = brute_ltv(sc, v, m0)
        assert net[m0] == pytest.approx(want[0], rel=1e-11), m0
        assert gross[m0] == pytest.approx(want[1], rel=1e-11), m0
    assert len({round(x, 6) for x in net}) > 3, "the cohorts' LTV must differ"
    res = expected(sc)
    sales = res.arrays["sales"]
    assert res.kpi["ltv"] == pytest.approx(float(sales @ net / sales.sum()), rel=1e-12)
    theirs = cohort_ltv(sc, tables)  # sim.accounting.lifetimes, age by age per cohort
    np.testing.assert_allclose(net, theirs[0], rtol=1e-11)
    np.testing.assert_allclose(gross, theirs[1], rtol=1e-11)


def test_planned_alpha_and_beta_follow_each_cohorts_beta_distribution():
    """Customers who differ, θ ~ Beta(α(m0), β(m0)) by purchase month: α, β = 1, 19 until month 6, then
    3, 57 (the same mean 5 % = the monthly churn, so each check scales θ by 1): a cohort's survival to age
    k is B(α, β + k) / B(α, β) (Fader & Hardie 2007) with its own shapes, the customers at the start take
    month 1's."""
    from scipy.special import betaln

    data = simple(
        existing_customers={"count": 40},
        retention={"model": "sbg", "alpha": 1.0, "beta": 19.0, "monthly_churn": 0.05},
        plan=[{"from_month": 7, "retention.alpha": 3.0, "retention.beta": 57.0}],
    )
    sc = parse(data)
    H = sc.horizon_months
    res = expected(sc).arrays
    sales = res["sales"]

    def survival(a: float, b: float, k: int) -> float:
        return math.exp(betaln(a, b + k) - betaln(a, b))

    active = np.zeros(H)
    visits = np.zeros(H)
    for m0 in range(H):
        a, b = (1.0, 19.0) if m0 < 6 else (3.0, 57.0)
        for k in range(H - m0):
            active[m0 + k] += sales[m0] * survival(a, b, k)
            visits[m0 + k] += sales[m0] * survival(a, b, k) if k >= 1 else 0.0
    for month in range(1, H + 1):
        active[month - 1] += 40.0 * survival(1.0, 19.0, month)
        visits[month - 1] += 40.0 * survival(1.0, 19.0, month)
    np.testing.assert_allclose(res["active_customers"], active, rtol=1e-9)
    np.testing.assert_allclose(res["repeat_visits"], visits, rtol=1e-9)
    unplanned = expected(sc.override({"plan": []})).arrays
    np.testing.assert_allclose(res["active_customers"][:6], unplanned["active_customers"][:6], rtol=1e-9)
    # less spread: closer to a constant 5 %, fewer loyal customers left
    assert res["active_customers"][-1] < 0.99 * unplanned["active_customers"][-1]


def test_planned_delays_use_each_arrival_months_kernel():
    """No desk and no referrals: the sales of month m are Σ_m' buyers(m') × K_m'[m − m'], K_m' the delay
    kernel of month m''s funnel delays (steps at months 5 and 11)."""
    data = simple(
        funnel=[
            {"name": "visit", "conversion": 0.5, "delay_days": 4.0},
            {"name": "buy", "conversion": 0.6, "delay_days": 10.0},
        ],
        plan=[
            {"from_month": 5, "funnel.0.delay_days": 20.0},
            {"from_month": 11, "funnel.0.delay_days": 1.0, "funnel.1.delay_days": 45.0},
        ],
    )
    sc = parse(data)
    H = sc.horizon_months
    delays = [(4.0, 10.0)] * 4 + [(20.0, 10.0)] * 6 + [(1.0, 45.0)] * 14
    buyers = 100.0 * 0.3
    sales = np.zeros(H)
    for m1, d in enumerate(delays):
        k = delay_kernel(np.array(d), 0.0, H).sales
        sales[m1:] += buyers * k[: H - m1]
    res = expected(sc)
    np.testing.assert_allclose(res.arrays["sales"], sales, rtol=1e-12)
    np.testing.assert_allclose(res.channel_arrays["sales"][0], sales, rtol=1e-12)


def test_split_kernels_give_the_one_kernel_result_with_referrals():
    """The per-arrival-month machinery of the referral feedback (`_solve_sales` with several kernels): the
    same kernel given twice, months split between the copies, gives the one-kernel figures."""
    sc = sim.load_scenario(SCENARIOS / "car_dealer_service.toml").override({"horizon_months": 40})
    H = 40
    mv = month_values(sc)
    tables = lifetime_tables(sc)
    one = _kernels(mv, np.full(H, 0.1))
    of = (np.arange(H) % 3 == 0).astype(np.int64)
    two = _Kernels(one.kernels * 2, of, ((of == 0).astype(float), (of == 1).astype(float)))
    cohorts = _AgeCohorts(sc, tables, H)
    presence = _existing_by_age(sc, H)["presence"]
    buyers = mv.paid_conversion.sum(axis=0) * mv.leads.sum(axis=0)
    a = _solve_sales(one, buyers, mv.referral_conversion, mv.referral_rate, cohorts, presence)
    b = _solve_sales(two, buyers, mv.referral_conversion, mv.referral_rate, cohorts, presence)
    for x, y in zip(a, b, strict=True):
        assert x.sum() > 0
        np.testing.assert_allclose(y, x, rtol=1e-12)


def desk_plan(steps: dict[int, dict[str, float]] | None = None) -> sim.Scenario:
    """A desk open round the clock, no referrals, the same paid leads every month (one load per desk, so
    no interpolation), leads that go cold, a two-stage funnel; `steps`: {from month: {path: value}}."""
    data = simple(
        horizon_months=24,
        channels=[{"name": "Ads", "leads_per_month": 3000.0, "cost_per_lead": 10.0}],
        funnel=[
            {"name": "visit", "conversion": 0.5, "delay_days": 3.0},
            {"name": "buy", "conversion": 0.6, "delay_days": 8.0},
        ],
        sales_desk={
            "staff": 2,
            "handling_minutes": 30.0,
            "patience_hours": 2.0,
            "cooling_half_life_hours": 4.0,
            "salary_per_month": 1000.0,
        },
        plan=[{"from_month": month, **values} for month, values in sorted((steps or {}).items())],
    )
    return parse(data)


def test_planned_handling_patience_and_cooling_by_arrival_month():
    """Month m's leads meet month m's desk (handling 30 → 20 minutes from month 7, patience 2 → 1 h and
    half-life 4 → 8 h from month 13): lost share and cooling of `desk_performance` at that desk, the sale
    timed by the kernel of the months that share the desk's levers (shift: their wait + handling); the
    utilisation counts each reached lead's own handling time."""
    sc = desk_plan(
        {
            7: {"sales_desk.handling_minutes": 20.0},
            13: {"sales_desk.patience_hours": 1.0, "sales_desk.cooling_half_life_hours": 8.0},
        }
    )
    H = sc.horizon_months
    base = sc.sales_desk
    desks = [base] * 6 + [base.model_copy(update={"handling_minutes": 20.0})] * 6
    desks += [desks[-1].model_copy(update={"patience_hours": 1.0, "cooling_half_life_hours": 8.0})] * 12
    lam = 3000.0 / MONTH_DAYS
    perf = [desk_performance(d, lam, H * MONTH_DAYS) for d in desks]
    res = expected(sc)
    m = res.arrays
    lost = np.array([q.lost_share for q in perf])
    np.testing.assert_allclose(m["leads_lost"], 3000.0 * lost, rtol=1e-12)
    buyers = 3000.0 * (1.0 - lost) * 0.3 * np.array([q.cooling for q in perf])
    sales = np.zeros(H)
    for months in (range(0, 6), range(6, 12), range(12, 24)):
        d, q = desks[months[0]], perf[months[0]]
        k = delay_kernel(np.array([3.0, 8.0]), q.mean_wait_days + d.handling_minutes / 1440.0, H).sales
        for m1 in months:
            sales[m1:] += buyers[m1] * k[: H - m1]
    np.testing.assert_allclose(m["sales"], sales, rtol=1e-12)
    busy = float(m["leads_reached"] @ np.array([d.handling_minutes for d in desks])) / 1440.0
    assert res.kpi["desk_utilization"] == pytest.approx(busy / sim.model.plan.staff_open_days(sc), rel=1e-12)
    assert lost[12] > lost[6] and lost[6] < lost[0]  # less handling: fewer lost; less patience: more


@pytest.mark.parametrize(
    "path, value",
    [
        ("sales_desk.handling_minutes", 45.0),
        ("sales_desk.patience_hours", 0.5),
        ("sales_desk.cooling_half_life_hours", 1.0),
        ("funnel.1.delay_days", 30.0),
    ],
)
def test_a_desk_or_delay_step_changes_nothing_before_its_month(path: str, value: float):
    """The levers a lead carries from its arrival month: leads before the step keep their desk and kernel."""
    want = expected(desk_plan()).arrays
    got = expected(desk_plan({13: {path: value}})).arrays
    for col in ("leads_lost", "leads_reached", "wait_hours_sum", "sales", "active_customers", "net_cash"):
        np.testing.assert_allclose(got[col][:12], want[col][:12], rtol=1e-12, err_msg=f"{path}: {col}")
    assert not np.allclose(got["sales"][12:], want["sales"][12:], rtol=1e-6), f"{path} changed nothing"


def test_referral_multiplier_by_arrival_month_and_bonus_by_sale_month():
    sc = sim.load_scenario(SCENARIOS / "car_dealer_service.toml").override({"horizon_months": 30})
    data = sc.model_dump(mode="json")
    data["plan"] = [
        {"from_month": 10, "referrals.conversion_multiplier": 40.0},
        {"from_month": 20, "referrals.bonus": 25_000.0},
    ]
    planned = sim.parse_scenario(data)
    mv = month_values(planned)
    funnel = sc.funnel_conversion
    mult = np.array([sc.referrals.conversion_multiplier] * 9 + [40.0] * 21)
    np.testing.assert_allclose(mv.referral_conversion, np.minimum(1.0, funnel * mult), rtol=1e-15)
    m = expected(planned).arrays
    bonus = np.array([sc.referrals.bonus] * 19 + [25_000.0] * 11)
    np.testing.assert_allclose(m["referral_bonus"], m["sales_referral"] * bonus, rtol=1e-15)


def test_the_programmes_shape_by_month_moves_the_churn_as_effective_churn():
    """`service_programme.tolerated_contacts_per_month` and `max_churn_reduction` planned: each month's churn
    is that month's `effective_churn` (the multiplier at contacts(m), tolerated(m) and reduction(m))."""
    data = simple(
        service_programme=PROGRAMME,
        plan=[
            {"from_month": 5, "service_programme.tolerated_contacts_per_month": 2.0},
            {"from_month": 9, "service_programme.max_churn_reduction": 0.6},
            {"from_month": 14, "service_programme.contacts_per_month": 3.0},
        ],
    )
    sc = parse(data)
    churn = month_values(sc).churn
    np.testing.assert_array_equal(churn, sim.model.plan.series(sc, lambda s: s.effective_churn))
    assert len(set(churn.tolist())) == 4
