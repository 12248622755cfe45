"""The engine's event log (`sim.simulate(..., records=True)`, sim/engine/log.py): with it the results are
the same bit for bit, its monthly counts are the run's monthly table exactly, and each record follows the
rules of docs/model.md (a lead's contact and sale, a customer's purchase, its visits' ages and months).

Every check is exact or structural (no statistics): the log and the ledger are two bookings of the same
draws, so any difference is a bug, however small; money is compared to 1e-12 relative (the same amounts
summed in another order).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.engine.desk import CLOSING_TOLERANCE_DAYS, Desk
from sim.engine.log import CUSTOMER_COLUMNS, LEAD_COLUMNS, VISIT_COLUMNS
from sim.model import plan
from sim.model.calendar import MONTH_DAYS
from sim.model.scenario import SalesDesk, Scenario, loads_scenario

DESK = """
name = "Records with a desk"
horizon_months = 18

[[channels]]
name = "Calls"
leads_per_month = 260.0
cost_per_lead = 1000.0

[[channels]]
name = "Site"
leads_per_month = 140.0
cost_per_lead = 700.0
lead_quality = 1.5

[sales_desk]
staff = 2
handling_minutes = 45.0
hours_per_day = 10.0
patience_hours = 20.0
cooling_half_life_hours = 12.0
salary_per_month = 50000.0

[[funnel]]
name = "Contact -> visit"
conversion = 0.3
delay_days = 2.0

[[funnel]]
name = "Visit -> sale"
conversion = 0.3
delay_days = 5.0

[first_purchase]
revenue = 40000.0
margin = 8000.0

[retention]
model = "sbg"
alpha = 1.5
beta = 20.0

[[repeat]]
name = "service"
interval_months = 2
revenue = 3000.0
margin = 1100.0
adoption = 0.8

[[repeat]]
name = "parts"
interval_months = 3
revenue = 5000.0
margin = 1700.0
adoption = 0.5

[referrals]
per_customer_per_year = 2.0
conversion_multiplier = 2.0
bonus = 500.0

[problems]
visit_problem_probability = 0.1
resolution_days = 5.0
cost_per_problem = 300.0
leave_probability_base = 0.1
leave_probability_per_day = 0.02

[service_programme]
fixed_cost_per_year = 12000.0
contacts_per_month = 1.0
cost_per_contact = 10.0
tolerated_contacts_per_month = 2.0
max_churn_reduction = 0.3
margin_uplift = 0.1

[existing_customers]
count = 150

[[plan]]
from_month = 7
"sales_desk.staff" = 3
"sales_desk.handling_minutes" = 30.0
"sales_desk.patience_hours" = 10.0
"sales_desk.cooling_half_life_hours" = 6.0
"funnel.1.delay_days" = 9.0
"repeat.0.interval_months" = 1
"repeat.1.adoption" = 0.9
"first_purchase.margin" = 9000.0

[trends]
"repeat.0.margin" = 0.01
"""
"""A desk whose staff, handling, patience and cooling change in month 7, two channels, referrals, customers
who differ, problems, a programme, existing customers and cohort levers (intervals, adoption) planned."""

NO_DESK = """
name = "Records without a desk"
horizon_months = 14

[[channels]]
name = "Calls"
leads_per_month = 400.0
cost_per_lead = 500.0

[[funnel]]
name = "Lead -> sale"
conversion = 0.06
delay_days = 4.0

[first_purchase]
revenue = 20000.0
margin = 5000.0

[retention]
monthly_churn = 0.05

[[repeat]]
name = "service"
interval_months = 3
revenue = 2000.0
margin = 800.0
adoption = 0.7

[referrals]
per_customer_per_year = 1.5

[existing_customers]
count = 200
"""
"""No desk (every lead contacted on arrival), constant churn, referrals and existing customers."""

SEED = 3
REPLICATIONS = 2


@pytest.fixture(scope="module", params=["desk", "no_desk"])
def case(request) -> tuple[Scenario, sim.SimulationResult, sim.SimulationResult]:
    """(scenario, its run without records, its run with records), same seed."""
    sc = loads_scenario(DESK if request.param == "desk" else NO_DESK)
    plain = sim.simulate(sc, REPLICATIONS, seed=SEED)
    logged = sim.simulate(sc, REPLICATIONS, seed=SEED, records=True)
    return sc, plain, logged


def _by_month(months: pd.Series, horizon: int, weights: pd.Series | None = None) -> np.ndarray:
    """Counts (or sums of `weights`) by month 1 … horizon."""
    m = months.to_numpy(dtype=np.int64) - 1
    w = None if weights is None else weights.to_numpy(dtype=float)
    return np.bincount(m, weights=w, minlength=horizon)[:horizon]


def test_records_change_no_result(case) -> None:
    _, plain, logged = case
    assert plain.records is None
    for name in ("monthly", "kpis", "channels", "channel_kpis"):
        pd.testing.assert_frame_equal(getattr(plain, name), getattr(logged, name), check_exact=True)
    log = logged.records
    assert list(log.leads.columns) == list(LEAD_COLUMNS)
    assert list(log.customers.columns) == list(CUSTOMER_COLUMNS)
    assert list(log.visits.columns) == list(VISIT_COLUMNS)


def test_the_logs_months_are_the_monthly_table(case) -> None:
    sc, _, result = case
    H = sc.horizon_months
    log = result.records
    for r, monthly in result.monthly.groupby("replication"):
        leads = log.leads[log.leads["replication"] == r]
        customers = log.customers[log.customers["replication"] == r]
        visits = log.visits[log.visits["replication"] == r]
        referral = leads["channel"] == "referrals"
        lost = leads["contact"].isna()
        sold = leads["sale_month"].notna()
        new = customers["month"] > 0
        made_by = leads.set_index("lead").loc[customers.loc[new, "lead"].astype(int), "channel"]
        expected = {
            "leads_paid": _by_month(leads.loc[~referral, "month"], H),
            "leads_referral": _by_month(leads.loc[referral, "month"], H),
            "leads_lost": _by_month(leads.loc[lost, "month"], H),
            "leads_reached": _by_month(leads.loc[~lost, "month"], H),
            "sales": _by_month(leads.loc[sold, "sale_month"], H),
            "sales_referral": _by_month(leads.loc[sold & referral, "sale_month"], H),
            "new_customers": _by_month(customers.loc[new, "month"], H),
            "repeat_visits": _by_month(visits["month"], H),
        }
        for column, counts in expected.items():
            np.testing.assert_array_equal(counts, monthly[column].to_numpy(), err_msg=column)
        assert (made_by.to_numpy() == "referrals").sum() == int(monthly["sales_referral"].sum())
        # Active at the end of month m: bought by then (existing: month 0) and not left by its end.
        ends = np.arange(1, H + 1) * MONTH_DAYS
        left = customers["left"].to_numpy()
        bought = customers["month"].to_numpy()[:, None] <= np.arange(1, H + 1)[None, :]
        stays = ~(left[:, None] <= ends[None, :])  # NaN: there at the horizon's end
        np.testing.assert_array_equal((bought & stays).sum(axis=0), monthly["active_customers"].to_numpy())
        money = {
            "margin": _by_month(customers.loc[new, "month"], H, customers.loc[new, "margin"])
            + _by_month(visits["month"], H, visits["margin"]),
            "revenue": _by_month(customers.loc[new, "month"], H, customers.loc[new, "revenue"])
            + _by_month(visits["month"], H, visits["revenue"]),
            "margin_repeat": _by_month(visits["month"], H, visits["margin"]),
        }
        for column, total in money.items():
            np.testing.assert_allclose(total, monthly[column].to_numpy(), rtol=1e-12, atol=0, err_msg=column)
        reached = leads[~lost]
        wait_hours = _by_month(reached["month"], H, (reached["contact"] - reached["arrival"]) * 24.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_wait = wait_hours / _by_month(reached["month"], H)
        np.testing.assert_allclose(mean_wait, monthly["mean_wait_hours"].to_numpy(), rtol=1e-9, atol=1e-12)


def test_the_logs_channels_are_the_channel_table(case) -> None:
    sc, _, result = case
    H = sc.horizon_months
    log = result.records
    for (r, channel), table in result.channels.groupby(["replication", "channel"], observed=True):
        leads = log.leads[(log.leads["replication"] == r) & (log.leads["channel"] == channel)]
        lost = leads["contact"].isna()
        for column, counts in (
            ("leads", _by_month(leads["month"], H)),
            ("leads_lost", _by_month(leads.loc[lost, "month"], H)),
            ("leads_reached", _by_month(leads.loc[~lost, "month"], H)),
            ("sales", _by_month(leads["sale_month"].dropna(), H)),
        ):
            np.testing.assert_array_equal(counts, table[column].to_numpy(), err_msg=f"{channel} {column}")
        if channel != "referrals":  # a paid lead costs its arrival month's CPL
            i = [c.name for c in sc.channels].index(channel)
            cpl = plan.series(sc, lambda s, i=i: s.channels[i].cost_per_lead)
            np.testing.assert_array_equal(_by_month(leads["month"], H) * cpl, table["lead_spend"].to_numpy())


def test_each_lead_follows_the_desk_and_the_funnel(case) -> None:
    sc, _, result = case
    leads = result.records.leads
    T = sc.horizon_months * MONTH_DAYS
    for _, one in leads.groupby("replication"):
        assert one["lead"].tolist() == list(range(len(one)))
        assert one["arrival"].is_monotonic_increasing
    assert (np.floor_divide(leads["arrival"], MONTH_DAYS) + 1 == leads["month"]).all()
    assert (leads["arrival"] < T).all()
    reached = leads[leads["contact"].notna()]
    sold = leads[leads["sale"].notna()]
    assert (
        (sold["contact"].notna()).all()
        and (sold["sale"] >= sold["contact"]).all()
        and (sold["sale"] < T).all()
    )
    assert (
        np.minimum(np.floor_divide(sold["sale"], MONTH_DAYS), sc.horizon_months - 1) + 1 == sold["sale_month"]
    ).all()
    if sc.sales_desk is None:
        assert (leads["contact"] == leads["arrival"]).all()
        return
    # The plan's patience (days) and hours of each lead's arrival month; contacts start in working hours.
    patience = plan.series(sc, lambda s: s.sales_desk.patience_hours / 24.0)[leads["month"].to_numpy() - 1]
    wait = (leads["contact"] - leads["arrival"]).to_numpy()
    lost = leads["contact"].isna().to_numpy()
    assert 0 < lost.sum() < len(leads)  # the desk loses some leads, not all
    assert (wait[~lost] >= 0).all() and (wait[~lost] <= patience[~lost]).all()
    open_fraction = sc.sales_desk.open_fraction
    assert (reached["contact"] % 1.0 < open_fraction - CLOSING_TOLERANCE_DAYS).all()


def test_each_customer_is_a_sale_and_its_visits_fall_due(case) -> None:
    sc, _, result = case
    log = result.records
    for r, customers in log.customers.groupby("replication"):
        leads = log.leads[log.leads["replication"] == r].set_index("lead")
        visits = log.visits[log.visits["replication"] == r]
        existing = customers["month"] == 0
        assert existing.sum() == sc.existing_customers.count and existing.iloc[: existing.sum()].all()
        assert customers["lead"][existing].isna().all() and customers["purchase"][existing].isna().all()
        new = customers[~existing]
        sale = leads.loc[new["lead"].astype(int)]
        assert len(new) == leads["sale"].notna().sum() and new["lead"].is_unique
        np.testing.assert_array_equal(new["purchase"].to_numpy(), sale["sale"].to_numpy())
        np.testing.assert_array_equal(new["month"].to_numpy(), sale["sale_month"].to_numpy(dtype=np.int64))
        assert new["purchase"].is_monotonic_increasing  # customers numbered by purchase
        months = plan.months(sc)
        first_margin = np.array([months[m - 1].first_purchase.margin for m in new["month"]])
        np.testing.assert_array_equal(new["margin"].to_numpy(), first_margin)
        # A visit is in the customer's months there: after its purchase, before it leaves.
        who = customers.set_index("customer").loc[visits["customer"]]
        left = who["left"].fillna(np.inf).to_numpy()
        assert (visits["day"].to_numpy() < left).all()
        assert (np.floor_divide(visits["day"], MONTH_DAYS) + 1 == visits["month"]).all()
        # A new customer's visit of a stream in age month k: k a multiple of its cohort's interval, on the
        # purchase's day k months later.
        bought = who["month"].to_numpy()
        mine = bought > 0
        age = visits["month"].to_numpy()[mine] - bought[mine]
        interval = np.array(
            [
                months[m - 1].repeat[[s.name for s in sc.repeat].index(stream)].interval_months
                for m, stream in zip(bought[mine], visits["stream"].to_numpy()[mine], strict=True)
            ]
        )
        assert (age >= 1).all() and (age % interval == 0).all()
        np.testing.assert_allclose(
            visits["day"].to_numpy()[mine],
            who["purchase"].to_numpy()[mine] + age * MONTH_DAYS,
            rtol=0,
            atol=1e-9,
        )
        assert (visits["day"].to_numpy()[~mine] % MONTH_DAYS > 0).any()  # existing: days within their months


def _desk_leads(arrival: list[float], handling: float) -> tuple[np.ndarray, ...]:
    """Six arrays of leads that do not buy (the desk's patience and half-life apply)."""
    n = len(arrival)
    zeros = np.zeros(n)
    return (
        np.array(arrival),
        np.full(n, handling),
        np.zeros(n, np.bool_),
        zeros,
        zeros,
        np.zeros(n, np.int64),
    )


def test_the_desk_aligns_each_served_leads_start_with_its_lead() -> None:
    # One salesperson, 0.05-day contacts: a paid and a referral lead arrive together at 0.1 (the paid one
    # goes first), a referral lead at 0.3 and a paid lead at 0.5; a paid lead at 0.9 waits for the next call.
    desk = Desk(SalesDesk(staff=1, handling_minutes=72.0, handling="fixed", salary_per_month=0.0), channels=0)
    paid = _desk_leads([0.1, 0.5, 0.9], 0.05)
    ref = _desk_leads([0.1, 0.3], 0.05)
    i, j, _, _ = desk.serve(paid, 0, ref, 0, 0.8)
    assert (i, j) == (2, 2)
    paid_starts, ref_starts, order = desk.served(paid[0], 0, i, ref[0], 0, j)
    np.testing.assert_allclose(paid_starts, [0.1, 0.5])
    np.testing.assert_allclose(ref_starts, [0.15, 0.3])
    assert order.tolist() == [0, 2, 3, 1]  # served: paid 0, referral 0, referral 1, paid 1
    i, j, _, _ = desk.serve(paid, i, ref, j, math.inf)
    paid_starts, ref_starts, order = desk.served(paid[0], 2, i, ref[0], 2, j)
    assert paid_starts.tolist() == [0.9] and ref_starts.size == 0 and order.tolist() == [0]


def test_parts_with_records_combine_into_one_run() -> None:
    sc = loads_scenario(NO_DESK)
    whole = sim.simulate(sc, 3, seed=SEED, records=True)
    parts = [
        sim.simulate(sc, 1, seed=SEED, first=2, records=True),
        sim.simulate(sc, 2, seed=SEED, records=True),
    ]
    joined = sim.combine(parts)
    for name in ("leads", "customers", "visits"):
        pd.testing.assert_frame_equal(getattr(joined.records, name), getattr(whole.records, name))
    assert sim.combine([parts[0], sim.simulate(sc, 2, seed=SEED)]).records is None
