"""Channels, plans over time and cooling in the engine (docs/model.md: "Channels", "Plans over time",
"Leads that go cold"): the channel table adds up to the monthly ledger, planned levers apply in the
right month, lead quality and cooling change sales, dates, determinism, `combine` and `save`.

The statistical tests use fixed seeds (deterministic); each says what size of bias it can detect.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.accounting.ledger import CHANNEL_COLUMNS, CHANNEL_KPI_COLUMNS
from sim.model import plan
from sim.model.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
CAR_DEALER = sim.load_scenario(ROOT / "scenarios" / "car_dealer.toml")
CAR_DEALER_SERVICE = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")

TWO_CHANNELS = [
    {"name": "Calls", "leads_per_month": 300.0, "cost_per_lead": 2250.0},
    {"name": "Forms", "leads_per_month": 200.0, "cost_per_lead": 900.0, "lead_quality": 3.0},
]
NO_DELAYS = {f"funnel.{i}.delay_days": 0.0 for i in range(3)}


def two_channel_dealer(**changes) -> Scenario:
    """The car dealer with service and referrals, two channels, one salesperson who loses night callers
    (patience 4 h, open 12 h), a salary and a referral bonus: every channel column is exercised."""
    base = CAR_DEALER_SERVICE.override(
        {
            "channels": TWO_CHANNELS,
            "horizon_months": 18,
            "sales_desk.staff": 1,
            "sales_desk.patience_hours": 4.0,
            "sales_desk.salary_per_month": 80_000.0,
            "referrals.bonus": 5_000.0,
            "funnel.2.conversion": 0.3,
        }
    )
    return base.override(changes) if changes else base


def per_run(result: sim.SimulationResult):
    """(replication, monthly rows by month, {column: array (channels + 1, months)}) for each replication."""
    names = [*(c.name for c in result.scenario.channels), "referrals"]
    for rep, g in result.monthly.groupby("replication"):
        m = g.sort_values("month").reset_index(drop=True)
        c = result.channels[result.channels["replication"] == rep]
        table = {
            col: c.pivot(index="channel", columns="month", values=col).loc[names].to_numpy()
            for col in CHANNEL_COLUMNS
        }
        yield int(rep), m, table


def assert_channels_add_up(result: sim.SimulationResult) -> None:
    """Every channel column summed over the channels is the matching monthly column (docs/model.md,
    "Channels"); the referral row holds the referral leads, sales and bonus; paid rows hold no bonus."""
    sc = result.scenario
    H, C = sc.horizon_months, len(sc.channels)
    assert len(result.channels) == result.replications * H * (C + 1)
    for rep, m, ch in per_run(result):
        col = {c: m[c].to_numpy() for c in m.columns}
        scale = 1e-9 * max(1.0, float(np.abs(col["lead_spend"]).sum() + np.abs(col["margin"]).sum()))
        exact = {
            "leads": col["leads_paid"] + col["leads_referral"],
            "leads_lost": col["leads_lost"],
            "leads_reached": col["leads_reached"],
            "sales": col["sales"],
        }
        for name, want in exact.items():
            np.testing.assert_array_equal(ch[name].sum(axis=0), want, err_msg=f"rep {rep}: channel {name}")
        np.testing.assert_array_equal(ch["leads"][C], col["leads_referral"], err_msg="referral row's leads")
        np.testing.assert_array_equal(ch["sales"][C], col["sales_referral"], err_msg="referral row's sales")
        np.testing.assert_array_equal(
            ch["leads_lost"] + ch["leads_reached"], ch["leads"], err_msg="lost+reached"
        )
        approx = {
            "lead_spend": col["lead_spend"],
            "first_margin": col["margin_first_sale"] + col["margin_referral_sale"],
            "referral_bonus": col["referral_bonus"],
        }
        for name, want in approx.items():
            np.testing.assert_allclose(
                ch[name].sum(axis=0), want, rtol=0, atol=scale, err_msg=f"channel {name}"
            )
        np.testing.assert_allclose(ch["first_margin"][C], col["margin_referral_sale"], rtol=0, atol=scale)
        assert np.all(ch["lead_spend"][C] == 0) and np.all(ch["referral_bonus"][:C] == 0)
        if sc.sales_desk is None:
            np.testing.assert_array_equal(
                ch["leads_reached"], ch["leads"], err_msg="no desk: every lead reached"
            )


# --- the channel table adds up ------------------------------------------------------------------------------


def test_channel_rows_add_up_to_the_monthly_ledger_and_the_acquisition_cost():
    sc = two_channel_dealer()
    res = sim.simulate(sc, replications=3, seed=11)
    assert res.monthly["leads_lost"].sum() > 0 and res.monthly["sales_referral"].sum() > 0, (
        "exercise all rows"
    )
    assert_channels_add_up(res)
    assert list(res.channels.columns) == ["replication", "month", "channel", *CHANNEL_COLUMNS]
    assert list(res.channel_kpis.columns) == ["replication", "channel", *CHANNEL_KPI_COLUMNS]
    assert res.channels["channel"].unique().tolist() == ["Calls", "Forms", "referrals"]
    for rep, k in res.kpis.groupby("replication"):
        ck = res.channel_kpis[res.channel_kpis["replication"] == rep]
        sums = (
            res.channels[res.channels["replication"] == rep]
            .groupby("channel", sort=False)[list(CHANNEL_COLUMNS)]
            .sum()
        )
        np.testing.assert_array_equal(ck["leads"].to_numpy(), sums["leads"].to_numpy())
        np.testing.assert_array_equal(ck["sales"].to_numpy(), sums["sales"].to_numpy())
        assert (ck["sales"] > 0).all(), "every channel should sell in this scenario"
        # The channels' acquisition costs add up to the run's: sum of CAC x sales = CAC x new customers.
        total = float((ck["cac"] * ck["sales"]).sum())
        run = float(k["cac"].iloc[0] * k["new_customers"].iloc[0])
        assert total == pytest.approx(run, rel=1e-12)
        np.testing.assert_allclose(
            ck["lost_share"].to_numpy(), (sums["leads_lost"] / sums["leads"]).to_numpy(), rtol=1e-12
        )
        np.testing.assert_allclose(
            ck["leads_per_sale"].to_numpy(), (sums["leads"] / sums["sales"]).to_numpy(), rtol=1e-12
        )


def test_without_a_desk_every_lead_is_reached_in_its_channel():
    res = sim.simulate(two_channel_dealer(sales_desk=None, horizon_months=8), replications=2, seed=3)
    assert_channels_add_up(res)
    assert res.channels["leads_lost"].sum() == 0


def test_a_business_without_paid_channels_has_only_the_referral_row():
    """Existing customers' referrals are the only leads (no paid channel), at a desk and without one."""
    sc = CAR_DEALER_SERVICE.override({"channels": [], "existing_customers.count": 300, "horizon_months": 12})
    for s in (sc, sc.override({"sales_desk": None})):
        res = sim.simulate(s, replications=2, seed=1)
        assert res.channels["channel"].unique().tolist() == ["referrals"]
        assert res.channels["leads"].sum() > 0 and res.monthly["leads_paid"].sum() == 0
        assert_channels_add_up(res)
        assert res.channel_kpis["channel"].tolist() == ["referrals", "referrals"]


@st.composite
def planned_scenarios(draw: st.DrawFn) -> Scenario:
    """A small scenario with 1–3 channels of random quality, a desk or none, and random plan steps,
    trends and seasonality on the levers the engine reads month by month."""
    H = draw(st.integers(3, 10))
    n_channels = draw(st.integers(1, 3))
    channels = [
        {
            "name": f"C{i}",
            "leads_per_month": float(draw(st.integers(20, 300))),
            "cost_per_lead": float(draw(st.integers(100, 3000))),
            "lead_quality": draw(st.sampled_from([0.0, 0.5, 1.0, 4.0, 100.0])),
        }
        for i in range(n_channels)
    ]
    desk = draw(st.booleans())
    changes: dict[str, object] = {
        "channels": channels,
        "horizon_months": H,
        "funnel.2.conversion": draw(st.sampled_from([0.1, 0.5, 1.0])),
        "start": draw(st.none() | st.sampled_from(["2024-01", "2025-07"])),
        "referrals.bonus": 1000.0,
        "existing_customers.count": draw(st.integers(0, 50)),
    }
    if desk:
        changes["sales_desk"] = {
            "staff": draw(st.integers(1, 3)),
            "handling_minutes": draw(st.sampled_from([15.0, 60.0])),
            "hours_per_day": draw(st.sampled_from([8.0, 24.0])),
            "patience_hours": draw(st.none() | st.floats(1.0, 24.0)),
            "salary_per_month": 50_000.0,
            "cooling_half_life_hours": draw(st.none() | st.floats(1.0, 48.0)),
        }
    else:
        changes["sales_desk"] = None
    if draw(st.booleans()):
        changes["referrals"] = None
    step: dict[str, object] = {"from_month": draw(st.integers(2, H))}
    step["channels.0.leads_per_month"] = float(draw(st.integers(0, 400)))
    step["funnel.0.conversion"] = draw(st.sampled_from([0.0, 0.1, 0.5]))
    step["first_purchase.margin"] = 80_000.0
    if desk:
        step["sales_desk.staff"] = draw(st.integers(1, 4))
        step["sales_desk.hours_per_day"] = draw(st.sampled_from([6.0, 12.0, 24.0]))
    if "referrals" not in changes:
        step["referrals.per_customer_per_year"] = draw(st.sampled_from([0.0, 2.0]))
    changes["plan"] = [step]
    changes["trends"] = {f"channels.{n_channels - 1}.cost_per_lead": draw(st.floats(-0.05, 0.05))}
    changes["seasonality"] = {
        "channels.0.leads_per_month": draw(st.lists(st.floats(0.5, 2.0), min_size=12, max_size=12))
    }
    return CAR_DEALER_SERVICE.override(changes)


@settings(
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(sc=planned_scenarios(), seed=st.integers(0, 2**31 - 1))
def test_property_channels_add_up_in_planned_scenarios(sc, seed):
    res = sim.simulate(sc, replications=2, seed=seed)
    assert_channels_add_up(res)
    for _rep, _m, ch in per_run(res):
        for i in range(len(sc.channels)):
            cpl = plan.values(sc, f"channels.{i}.cost_per_lead")
            np.testing.assert_allclose(ch["lead_spend"][i], ch["leads"][i] * cpl, rtol=1e-12, atol=1e-9)


# --- plans over time ------------------------------------------------------------------------------------


def test_a_budget_step_shows_in_the_paid_leads_of_its_month():
    """1,000 leads a month, 3,000 from month 7. Each month's count is Poisson: the test asks every month of
    every replication to be within 5 SD of its planned mean (SD 32 before, 55 after). A step applied a
    month early or late, or not at all, is off by 2,000 leads (36–63 SD) in some month."""
    sc = CAR_DEALER.override(
        {"horizon_months": 12, "plan": [{"from_month": 7, "channels.0.leads_per_month": 3000.0}]}
    )
    m = sim.simulate(sc, replications=3, seed=5).monthly
    mean = np.where(m["month"] >= 7, 3000.0, 1000.0)
    z = (m["leads_paid"].to_numpy() - mean) / np.sqrt(mean)
    assert np.all(np.abs(z) < 5), f"paid leads off the plan: z = {np.round(z, 1).tolist()}"
    np.testing.assert_allclose(m["lead_spend"], m["leads_paid"] * 2250.0, rtol=1e-12)


def test_cpl_trend_and_seasonality_are_exact_in_the_lead_spend():
    """The CPL of month m is base × (1 + trend)^(m − 1) × the season of m's calendar month (start =
    2024-11: month 1 is November); lead spend / leads is that exactly, and the leads are the same paths as
    without the CPL plan (a price draws no random numbers)."""
    season = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1]
    base = two_channel_dealer(horizon_months=14, start="2024-11")
    sc = base.override(
        {"trends": {"channels.0.cost_per_lead": 0.02}, "seasonality": {"channels.1.cost_per_lead": season}}
    )
    res = sim.simulate(sc, replications=2, seed=9)
    plain = sim.simulate(base, replications=2, seed=9)
    k = np.arange(14)
    cpl0 = 2250.0 * 1.02**k
    cpl1 = 900.0 * np.array(season)[(10 + k) % 12]
    for (_r, m, ch), (_p, pm, pch) in zip(per_run(res), per_run(plain), strict=True):
        np.testing.assert_array_equal(ch["leads"], pch["leads"], err_msg="a CPL plan moved the leads")
        np.testing.assert_array_equal(m["sales"], pm["sales"])
        np.testing.assert_allclose(ch["lead_spend"][0], ch["leads"][0] * cpl0, rtol=1e-13)
        np.testing.assert_allclose(ch["lead_spend"][1], ch["leads"][1] * cpl1, rtol=1e-13)
        np.testing.assert_allclose(m["lead_spend"], ch["leads"][0] * cpl0 + ch["leads"][1] * cpl1, rtol=1e-13)


def test_planned_conversion_referral_rate_and_margin_apply_by_month():
    """From month 5 the funnel converts nobody and customers refer nobody: without a desk and without
    funnel delays a sale happens at its lead's arrival, so there are exactly no sales and no referral
    leads from month 5 on (the purchase-month referral draws included). The first-purchase margin
    follows its trend: first margin = sales × margin(m) in every month, in every channel."""
    sc = two_channel_dealer(
        horizon_months=8,
        sales_desk=None,
        **NO_DELAYS,
        plan=[{"from_month": 5, "funnel.0.conversion": 0.0, "referrals.per_customer_per_year": 0.0}],
        trends={"first_purchase.margin": -0.03},
        **{"referrals.per_customer_per_year": 6.0, "existing_customers.count": 200},
    )
    res = sim.simulate(sc, replications=2, seed=2)
    margin = 100_000.0 * 0.97 ** np.arange(8)
    for _rep, m, ch in per_run(res):
        assert m["sales"][:4].sum() > 0 and m["leads_referral"][:4].sum() > 0
        assert m["sales"][4:].sum() == 0 and m["leads_referral"][4:].sum() == 0
        np.testing.assert_allclose(ch["first_margin"], ch["sales"] * margin[None, :], rtol=1e-12)


def test_more_staff_from_a_planned_month_loses_fewer_leads():
    """One salesperson for 3,000 calls of an hour a month (4x overloaded, patience 2 h) loses most calls;
    from month 4 there are six (each loaded 0.7), who lose few. The lost share of every month is
    compared: months 1–3 above 60 %, months 4–6 below 25 % (today 75–76 % and at most 0.8 %): a staff plan
    applied a month late or early, or not at all, fails in some month."""
    sc = CAR_DEALER.override(
        {
            "horizon_months": 6,
            "channels.0.leads_per_month": 3000.0,
            "sales_desk": {
                "staff": 1,
                "handling_minutes": 60.0,
                "patience_hours": 2.0,
                "hours_per_day": 24.0,
            },
            "plan": [{"from_month": 4, "sales_desk.staff": 6}],
        }
    )
    m = sim.simulate(sc, replications=2, seed=4).monthly
    share = (m["leads_lost"] / m["leads_paid"]).to_numpy().reshape(2, 6)
    assert np.all(share[:, :3] > 0.6) and np.all(share[:, 3:] < 0.25), (
        f"lost share by month: {share.round(3)}"
    )
    k = sim.simulate(sc, replications=1, seed=4).kpis
    assert 0 < k["desk_utilization"].iloc[0] <= 1.0


# --- lead quality -----------------------------------------------------------------------------------------


def test_a_better_channel_sells_more_per_lead_and_quality_is_capped_at_one():
    """No desk, no funnel delays: each channel's sales are Binomial(its leads, min(1, 0.01 × quality)).
    With ~24,000 leads per channel the test asks each within 4 SD of that (SD 15 and 24 sales): it
    detects a quality applied as 0.75x or 1.25x of itself for the plain channel (and 0.84x / 1.16x for
    the better one). A quality of 100 makes every lead buy: its sales equal its leads, month by month."""
    sc = CAR_DEALER.override(
        {
            "horizon_months": 12,
            "sales_desk": None,
            **NO_DELAYS,
            "channels": [
                {"name": "Plain", "leads_per_month": 2000.0, "cost_per_lead": 2000.0},
                {"name": "Better", "leads_per_month": 2000.0, "cost_per_lead": 2000.0, "lead_quality": 2.5},
                {"name": "Sure", "leads_per_month": 50.0, "cost_per_lead": 2000.0, "lead_quality": 100.0},
            ],
        }
    )
    res = sim.simulate(sc, replications=1, seed=21)
    (_rep, _m, ch) = next(per_run(res))
    leads, sales = ch["leads"].sum(axis=1), ch["sales"].sum(axis=1)
    for i, p in enumerate((0.01, 0.025)):
        sd = math.sqrt(leads[i] * p * (1 - p))
        assert abs(sales[i] - leads[i] * p) < 4 * sd, (
            f"channel {i}: {sales[i]} sales of {leads[i]} leads at p={p}"
        )
    assert sales[1] / leads[1] > sales[0] / leads[0]
    np.testing.assert_array_equal(ch["sales"][2], ch["leads"][2], err_msg="quality 100: every lead buys")
    kp = res.channel_kpis.set_index("channel")
    assert kp.loc["Better", "cac"] < kp.loc["Plain", "cac"]


# --- cooling ----------------------------------------------------------------------------------------------


def test_cooling_lowers_sales_only_through_the_wait():
    """A loaded desk (one salesperson open 8 h a day, ~250 one-hour calls a month, no patience): most
    leads wait overnight. With a half-life of 24 h the same leads, waits and contacts give fewer sales,
    path by path (cooling only removes buyers: the queue, the handling and the funnel delays are the
    same draws). The leads wait 43 h on average; 0.51 of the sales survive today (425 sales plain); the
    test asks < 0.8: cooling not applied fails; a half-life taken too long is caught only from about 5x
    (0.64, 0.73 and 0.77 survive at 48, 72 and 96 h).

    An idle desk (50 salespeople round the clock, one-minute calls) reaches every lead at once: a wait
    of 0 leaves the conversion whole, so cooling changes nothing, bit for bit (without a desk there is
    no cooling to set: the half-life belongs to the desk)."""
    loaded = CAR_DEALER.override(
        {
            "horizon_months": 6,
            "channels.0.leads_per_month": 250.0,
            "funnel.2.conversion": 1.0,
            "sales_desk": {"staff": 1, "handling_minutes": 60.0, "hours_per_day": 8.0},
        }
    )
    cold = loaded.override({"sales_desk.cooling_half_life_hours": 24.0})
    a = sim.simulate(loaded, replications=3, seed=13)
    b = sim.simulate(cold, replications=3, seed=13)
    for col in ("leads_paid", "leads_reached", "leads_lost", "mean_wait_hours"):
        np.testing.assert_array_equal(a.monthly[col].to_numpy(), b.monthly[col].to_numpy(), err_msg=col)
    assert a.monthly["mean_wait_hours"].mean() > 12, "the desk should keep leads waiting"
    assert np.all(b.monthly["sales"].to_numpy() <= a.monthly["sales"].to_numpy())
    ratio = b.monthly["sales"].sum() / a.monthly["sales"].sum()
    assert ratio < 0.8, (
        f"cooling kept {ratio:.2f} of the sales of leads waiting {a.monthly['mean_wait_hours'].mean():.0f} h"
    )

    idle = CAR_DEALER.override(
        {"horizon_months": 6, "sales_desk": {"staff": 50, "handling_minutes": 1.0, "hours_per_day": 24.0}}
    )
    x = sim.simulate(idle, replications=2, seed=13)
    y = sim.simulate(idle.override({"sales_desk.cooling_half_life_hours": 1.0}), replications=2, seed=13)
    assert x.monthly["mean_wait_hours"].max() == 0.0
    pd.testing.assert_frame_equal(x.monthly, y.monthly, check_exact=True)
    pd.testing.assert_frame_equal(x.kpis, y.kpis, check_exact=True)


def test_referral_leads_go_cold_too():
    """Referral leads wait at the same desk and cool alike. Two salespeople open 8 h a day: leads arriving
    off-hours wait 16 h or more, so with a half-life of 2 h their conversion (0.25 without cooling) falls
    to about 0.07 (today: 0.233 over ~3,000 referral leads plain, 0.073 over ~770 cooled; fewer customers
    refer fewer). The test asks the cooled share below half the plain one (SD of the cooled share about
    0.01): a cooling skipped for referral leads (share ~0.23) fails by about 8 SD, one that keeps more than
    half of a referral lead's conversion fails too."""
    sc = CAR_DEALER_SERVICE.override(
        {
            "horizon_months": 24,
            "referrals.per_customer_per_year": 3.0,
            "sales_desk": {"staff": 2, "handling_minutes": 15.0, "hours_per_day": 8.0},
        }
    )
    share = []
    for half_life in (None, 2.0):
        res = sim.simulate(
            sc.override({"sales_desk.cooling_half_life_hours": half_life}), replications=3, seed=17
        )
        ref = res.channels[res.channels["channel"] == "referrals"]
        assert ref["leads"].sum() > 100
        share.append(ref["sales"].sum() / ref["leads"].sum())
    assert share[1] < 0.5 * share[0], f"referral sales per lead: {share[0]:.3f} plain, {share[1]:.3f} cooled"


# --- tables: dates, determinism, combine, save -----------------------------------------------------------


def test_dates_follow_start_in_monthly_and_channel_tables():
    sc = two_channel_dealer(horizon_months=3, start="2024-11")
    res = sim.simulate(sc, replications=2, seed=1)
    want = pd.to_datetime(["2024-11-01", "2024-12-01", "2025-01-01"]).to_numpy()
    assert list(res.monthly.columns[:3]) == ["replication", "month", "date"]
    assert res.monthly["date"].dtype == np.dtype("datetime64[ns]")
    np.testing.assert_array_equal(res.monthly["date"].to_numpy(), np.tile(want, 2))
    assert list(res.channels.columns[:4]) == ["replication", "month", "date", "channel"]
    assert res.channels["date"].dtype == np.dtype("datetime64[ns]")
    for month, g in res.channels.groupby("month"):
        assert set(g["date"]) == {pd.Timestamp(want[month - 1])}
    plain = sim.simulate(sc.override({"start": None}), replications=2, seed=1)
    assert "date" not in plain.monthly.columns and "date" not in plain.channels.columns
    pd.testing.assert_frame_equal(plain.monthly, res.monthly.drop(columns="date"), check_exact=True)
    assert res.bands("sales")["month"].tolist() == [1, 2, 3]
    with pytest.raises(ValueError):
        res.bands("date")


def planned_dealer() -> Scenario:
    return two_channel_dealer(
        horizon_months=10,
        start="2025-03",
        plan=[{"from_month": 4, "channels.1.leads_per_month": 400.0, "sales_desk.staff": 2}],
        trends={"channels.0.cost_per_lead": 0.01},
        **{"sales_desk.cooling_half_life_hours": 12.0},
    )


def test_a_planned_scenario_gives_the_same_result_for_the_same_seed():
    sc = planned_dealer()
    a = sim.simulate(sc, replications=2, seed=31)
    b = sim.simulate(sc, replications=2, seed=31)
    c = sim.simulate(sc, replications=2, seed=32)
    for name in ("monthly", "kpis", "channels", "channel_kpis"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert not a.channels["sales"].equals(c.channels["sales"]), "another seed gave the same channel sales"


def test_combine_joins_the_channel_tables():
    sc = planned_dealer()
    whole = sim.simulate(sc, replications=4, seed=8)
    parts = [sim.simulate(sc, replications=2, seed=8, first=2), sim.simulate(sc, replications=2, seed=8)]
    joined = sim.combine(parts)
    for name in ("monthly", "kpis", "channels", "channel_kpis"):
        pd.testing.assert_frame_equal(getattr(joined, name), getattr(whole, name), check_exact=True)


def test_save_writes_the_channel_tables(tmp_path):
    res = sim.simulate(planned_dealer(), replications=1, seed=0)
    out = res.save(tmp_path / "run")
    for name in ("channels", "channel_kpis"):
        back = pd.read_parquet(out / f"{name}.parquet")
        pd.testing.assert_frame_equal(back, getattr(res, name), check_exact=True)
    assert pd.read_parquet(out / "monthly.parquet")["date"].iloc[0] == pd.Timestamp("2025-03-01")
