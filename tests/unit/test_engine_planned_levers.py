"""Lead-side levers planned over time in the engine (docs/model.md, "Plans over time"): a lead carries its
ARRIVAL month's funnel delays, handling time, patience, cooling half-life and referral multiplier through
the desk and the funnel, whenever those happen; a referral sale books the bonus of the SALE's month.

Every check is exact or structural (no statistics). The main tools:

- causality: a lever planned from month k changes nothing booked in months 1 … k − 1 (same draws, same
  leads, and under first come, first served no lead is served differently because of a later one);
- a channel split: channel "Before" sends leads only before month k, channel "After" only from k. When
  leads do not interact (no referrals, and a lever the desk's queue does not see), the "Before" leads of
  the planned run behave exactly as in the run with the old value throughout and the "After" leads as in
  the run with the new value throughout, their sales in months after k included;
- known answers: a reached lead waits at most its patience; busy time = Σ fixed handling times; a
  referral multiplier of 0 sells nothing, one that lifts the conversion to 1 sells every lead.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.accounting.lifetimes import lifetime_tables
from sim.engine.desk import LOST, Desk, _serve, kernel, no_leads
from sim.engine.replication import RunOutput, _Replication, run_replication
from sim.model import plan
from sim.model.scenario import SalesDesk, Scenario

K = 4
"""The month (1-based) from which a lever's plan step applies."""

HEAD = """
name = "Planned levers"
currency = "RUB"
horizon_months = 8
"""

ONE_CHANNEL = """
[[channels]]
name = "Calls"
leads_per_month = 300.0
cost_per_lead = 100.0
"""

SPLIT_CHANNELS = """
[[channels]]
name = "Before"
leads_per_month = 300.0
cost_per_lead = 100.0

[[channels]]
name = "After"
leads_per_month = 0.0
cost_per_lead = 100.0
"""
"""Two channels: "Before" sends leads in months 1 … K − 1 only, "After" from month K on (with `SPLIT`)."""

SPLIT = {"channels.0.leads_per_month": 0.0, "channels.1.leads_per_month": 300.0}

FUNNEL = """
[[funnel]]
name = "Contact -> visit"
conversion = 0.5
delay_days = {d0}

[[funnel]]
name = "Visit -> sale"
conversion = 0.4
delay_days = {d1}
"""

TAIL = """
[first_purchase]
revenue = 1000.0
margin = 100.0

[retention]
monthly_churn = 0.05
"""

REFERRALS = """
[referrals]
per_customer_per_year = 6.0
conversion_multiplier = 1.5
bonus = 1000.0
"""


def scenario(
    desk: str | None = None,
    *,
    referrals: bool = False,
    split: bool = False,
    delays: tuple[float, float] = (3.0, 5.0),
    steps: dict[str, float] | None = None,
    extra: str = "",
    leads: float = 300.0,
) -> Scenario:
    """A small scenario (8 months): one channel with `leads` paid leads a month (or the split channels),
    two funnel stages, an optional `[sales_desk]` body, optional referrals, a plan step from month K (the
    split's and `steps`) and `extra` TOML."""
    channels = SPLIT_CHANNELS if split else ONE_CHANNEL.replace("300.0", repr(leads))
    text = HEAD + channels + FUNNEL.format(d0=delays[0], d1=delays[1]) + TAIL
    if desk is not None:
        text += "\n[sales_desk]\n" + desk
    if referrals:
        text += REFERRALS
    values = {**(SPLIT if split else {}), **(steps or {})}
    if values:
        text += f"\n[[plan]]\nfrom_month = {K}\n" + "".join(f'"{p}" = {v!r}\n' for p, v in values.items())
    return sim.loads_scenario(text + extra, "planned_levers.toml")


def run(sc: Scenario, seed: int = 5) -> RunOutput:
    """One replication of the engine."""
    return run_replication(sc, seed, 0)


def from_k(out: RunOutput, column: str) -> np.ndarray:
    """Months K … horizon of a monthly column."""
    return out.monthly[column][K - 1 :]


def same_before_k(a: RunOutput, b: RunOutput) -> None:
    """Every monthly column of months 1 … K − 1 is bit-identical in the two runs."""
    for column, values in a.monthly.items():
        np.testing.assert_array_equal(values[: K - 1], b.monthly[column][: K - 1], err_msg=column)


# --- the desk kernel: each lead its own patience and half-life ---------------------------------------

HOUR = 1.0 / 24.0


def _leads(arrival, buys, odds, patience, half_life):
    """Full `Leads` (eight arrays) from lists: 1 h handling, no funnel delay, channel 0."""
    n = len(arrival)
    return (
        np.asarray(arrival, dtype=float),
        np.full(n, HOUR),  # fixed handling of 1 h
        np.asarray(buys, dtype=np.bool_),
        np.zeros(n),
        np.asarray(odds, dtype=float),
        np.zeros(n, dtype=np.int64),
        np.asarray(patience, dtype=float),
        np.asarray(half_life, dtype=float),
    )


def test_the_desk_loses_each_lead_by_its_own_patience():
    """One salesperson, 1 h calls: leads at 0, 0.1 h, 0.2 h, 0.3 h with patience ∞, 0.5 h, 2 h, 1.5 h.
    The second would start at 1 h (waited 0.9 h > 0.5 h: lost), the third at 1 h (0.8 h ≤ 2 h), the
    fourth at 2 h (1.7 h > 1.5 h: lost). With the desk's own patience (100 h) for all, none is lost."""
    arrival = [0.0, 0.1 * HOUR, 0.2 * HOUR, 0.3 * HOUR]
    leads = _leads(
        arrival, [False] * 4, [0.0] * 4, [math.inf, 0.5 * HOUR, 2 * HOUR, 1.5 * HOUR], [math.inf] * 4
    )
    model = SalesDesk(staff=1, handling_minutes=60.0, handling="fixed", patience_hours=100.0)
    desk = Desk(model)
    desk.serve(leads, 0, no_leads(), 0, math.inf)
    assert desk.starts[:4].tolist() == [0.0, LOST, HOUR, LOST]
    own = Desk(model)
    own.serve(leads[:6], 0, no_leads(), 0, math.inf)  # six arrays: the desk's patience
    assert own.starts[:4].tolist() == [0.0, HOUR, 2 * HOUR, 3 * HOUR]


def test_the_desk_cools_each_buyer_by_its_own_half_life():
    """Four buyers at 0, one salesperson, 1 h calls: waits 0, 1, 2, 3 h. Odds 0.6 against 0.5^(1/2) =
    0.71 (half-life 2 h: buys), 0.6 against 0.5^(2/0.5) = 0.06 (half-life 0.5 h: does not), 0.99 with no
    cooling (buys); the first waits 0 h (buys whatever its half-life)."""
    leads = _leads(
        [0.0] * 4, [True] * 4, [0.9, 0.6, 0.6, 0.99], [math.inf] * 4, [HOUR, 2 * HOUR, 0.5 * HOUR, math.inf]
    )
    desk = Desk(SalesDesk(staff=1, handling_minutes=60.0, handling="fixed"), cooling_half_life_days=1e-9)
    n = desk.serve(leads, 0, no_leads(), 0, math.inf)[2]
    assert desk.sale_time[:n].tolist() == pytest.approx([HOUR, 2 * HOUR, 4 * HOUR], rel=1e-15)


def test_per_lead_patience_compiled_equals_plain_python():
    """The compiled kernel and the plain function give the same starts and sales with leads whose
    patience and half-life differ lead by lead (two streams, served in stretches)."""
    rng = np.random.default_rng(8)

    def random_leads(n, channel):
        u = rng.random(n)
        return (
            np.sort(rng.uniform(0.0, 6.0, n)),
            rng.exponential(0.05, n),
            u < 0.5,
            rng.exponential(1.0, n),
            u / 0.5,
            np.full(n, channel, dtype=np.int64),
            rng.choice([0.05, 0.2, math.inf], n),
            rng.choice([0.1, 0.5, math.inf], n),
        )

    paid, ref = random_leads(300, 0), random_leads(80, 1)
    model = SalesDesk(staff=2, handling_minutes=60.0, hours_per_day=10.0)
    results = []
    for compiled in (True, False):
        desk = Desk(model, channels=1)
        if not compiled:
            desk._kernel = _serve
        i = j = 0
        starts, sales = [], []
        for until in (1.5, 3.0, math.inf):
            i0, j0 = i, j
            i, j, n, _ = desk.serve(paid, i, ref, j, until)
            starts += desk.starts[: i - i0 + j - j0].tolist()
            sales += desk.sale_time[:n].tolist()
        results.append((starts, sales, desk.take_month()))
    assert results[0] == results[1]
    assert LOST in results[0][0] and results[0][1]  # some leads lost, some sales
    assert kernel() is kernel()  # compiled once


# --- plan steps equal to the base values: the unplanned run, bit for bit --------------------------


def test_steps_equal_to_the_base_values_give_the_unplanned_run_bit_for_bit():
    """A plan that names every lead-side lever (and the bonus) with its base value runs exactly as the
    scenario without it: the same draws in the same order, the same tables."""
    desk = (
        "staff = 1\nhandling_minutes = 40.0\nhours_per_day = 10.0\npatience_hours = 20.0\n"
        "cooling_half_life_hours = 8.0\n"
    )
    same = {
        "funnel.0.delay_days": 3.0,
        "funnel.1.delay_days": 5.0,
        "sales_desk.handling_minutes": 40.0,
        "sales_desk.patience_hours": 20.0,
        "sales_desk.cooling_half_life_hours": 8.0,
        "referrals.conversion_multiplier": 1.5,
        "referrals.bonus": 1000.0,
    }
    unplanned = scenario(desk, referrals=True)
    planned = scenario(desk, referrals=True, steps=same)
    assert planned.planned and not unplanned.planned
    a = sim.simulate(unplanned, replications=2, seed=3)
    b = sim.simulate(planned, replications=2, seed=3)
    assert a.monthly["sales_referral"].sum() > 0 and a.monthly["leads_lost"].sum() > 0
    for name in ("monthly", "kpis", "channels", "channel_kpis"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


# --- patience -------------------------------------------------------------------------------------


def test_a_patience_step_applies_to_the_leads_arriving_from_its_month():
    """One salesperson, fixed 1 h calls, 1,000 paid leads a month (33 a day for 24 a day of capacity) and
    referral leads: the queue is full. Patience 48 h, then 6 h for the leads arriving from month K.

    Leads arriving before K keep 48 h: months 1 … K − 1 are bit-identical to the run with 48 h throughout,
    although their mean wait there is over a day (so the last of month K − 1 are served, or lost, in
    month K). Every lead (paid or referral) arriving from K that is reached waited at most 6 h, where
    with 48 h they wait over a day."""
    desk = 'staff = 1\nhandling_minutes = 60.0\nhandling = "fixed"\npatience_hours = 48.0\n'
    old = scenario(desk, referrals=True, leads=1000.0)
    new = scenario(desk, referrals=True, leads=1000.0, steps={"sales_desk.patience_hours": 6.0})
    a, b = run(old), run(new)
    same_before_k(a, b)
    wait_a = a.monthly["wait_hours_sum"] / a.monthly["leads_reached"]
    wait_b = b.monthly["wait_hours_sum"] / b.monthly["leads_reached"]
    assert np.all(wait_a[1:] > 24.0)  # the queue is full from month 2 (K − 1 = 3 included)
    assert np.all(wait_b[K - 1 :] <= 6.0 + 1e-9)  # a reached lead waited at most its patience
    assert np.all(from_k(b, "leads_lost") > 0)
    assert np.all(from_k(b, "leads_referral") > 0)  # referral leads there have the new patience too


# --- handling time --------------------------------------------------------------------------------


def test_a_handling_step_makes_each_lead_busy_for_its_arrival_months_time():
    """Fixed handling 45 min (1/32 day) for leads arriving before K, 90 min (1/16 day) from K; so many
    salespeople that nobody waits, so every lead, paid or referral, starts on arrival within the
    horizon: the desk's busy time is exactly 1/32 × leads reached before K + 1/16 × those from K."""
    desk = 'staff = 200\nhandling_minutes = 45.0\nhandling = "fixed"\n'
    out = run(scenario(desk, referrals=True, steps={"sales_desk.handling_minutes": 90.0}))
    assert np.all(out.monthly["wait_hours_sum"] == 0.0)
    reached = out.monthly["leads_reached"]
    assert np.all(out.monthly["leads_referral"][1:] > 0)
    assert out.desk_busy_days == reached[: K - 1].sum() / 32 + reached[K - 1 :].sum() / 16
    unplanned = run(scenario(desk, referrals=True))
    assert unplanned.desk_busy_days == unplanned.monthly["leads_reached"].sum() / 32


def test_a_handling_step_lengthens_only_the_waits_of_leads_from_its_month():
    """Two salespeople open 8 h a day, exponential calls of 30 min, then 60 min for leads from month K (no
    patience, no referrals). The draws are the same, so from K each call is exactly twice as long; under
    first come, first served every wait is then at least as long (the queue is monotone in the service
    times). Months 1 … K − 1 are bit-identical; the waits from K are longer, and so is the busy time."""
    desk = "staff = 2\nhandling_minutes = 30.0\nhours_per_day = 8.0\n"
    a = run(scenario(desk))
    b = run(scenario(desk, steps={"sales_desk.handling_minutes": 60.0}))
    same_before_k(a, b)
    assert np.all(from_k(b, "wait_hours_sum") >= from_k(a, "wait_hours_sum"))
    assert from_k(b, "wait_hours_sum").sum() > from_k(a, "wait_hours_sum").sum()
    assert b.desk_busy_days > a.desk_busy_days
    np.testing.assert_array_equal(b.monthly["leads_reached"], a.monthly["leads_reached"])  # none is lost


# --- funnel delays --------------------------------------------------------------------------------


@pytest.mark.parametrize("desk", [None, "staff = 2\nhandling_minutes = 30.0\nhours_per_day = 10.0\n"])
def test_a_delay_step_moves_the_sales_of_the_leads_from_its_month_only(desk):
    """Stage delays 3 + 5 days, then 6 + 10 days for leads arriving from month K, with the split channels.
    The draws are the same in all three runs (old, planned, new delays throughout), so the "Before" leads
    sell exactly when they do with the old delays — in months from K too — and the "After" leads exactly
    when they do with the new delays."""
    old = run(scenario(desk, split=True))
    planned = run(scenario(desk, split=True, steps={"funnel.0.delay_days": 6.0, "funnel.1.delay_days": 10.0}))
    new = run(scenario(desk, split=True, delays=(6.0, 10.0)))
    sales = {name: out.channels["sales"] for name, out in (("old", old), ("planned", planned), ("new", new))}
    np.testing.assert_array_equal(sales["planned"][0], sales["old"][0])
    np.testing.assert_array_equal(sales["planned"][1], sales["new"][1])
    assert sales["old"][0][K - 1 :].sum() > 0  # "Before" leads selling from month K keep the old delays
    assert not np.array_equal(sales["old"][1], sales["new"][1])  # the delays move the "After" sales
    same_before_k(old, planned)


def test_a_delay_step_from_zero_draws_nothing_for_the_earlier_leads():
    """No delays, then 4 + 4 days from month K: the leads before K draw no delay (as without a plan), so
    months 1 … K − 1 are bit-identical to the run without delays, and from K the sales come later."""
    a = run(scenario(delays=(0.0, 0.0)))
    b = run(scenario(delays=(0.0, 0.0), steps={"funnel.0.delay_days": 4.0, "funnel.1.delay_days": 4.0}))
    same_before_k(a, b)
    assert b.monthly["sales"][K - 1] < a.monthly["sales"][K - 1]  # month K's buyers mostly buy later


# --- cooling --------------------------------------------------------------------------------------


def test_a_cooling_step_cools_the_leads_from_its_month_only():
    """Half-life 2 h, then 12 h for leads arriving from month K, on one salesperson open 8 h a day (night
    leads wait into the morning), split channels, no referrals. Cooling does not move the queue, so the
    three runs (2 h, planned, 12 h throughout) serve every lead alike; the "Before" buyers buy exactly as
    with 2 h — those served in month K too — and the "After" buyers exactly as with 12 h."""
    desk = "staff = 1\nhandling_minutes = 20.0\nhours_per_day = 8.0\ncooling_half_life_hours = 2.0\n"
    old = run(scenario(desk, split=True))
    planned = run(scenario(desk, split=True, steps={"sales_desk.cooling_half_life_hours": 12.0}))
    new = run(scenario(desk.replace("= 2.0", "= 12.0"), split=True))
    for column in ("leads_lost", "leads_reached", "wait_hours_sum"):
        np.testing.assert_array_equal(planned.monthly[column], old.monthly[column])
        np.testing.assert_array_equal(planned.monthly[column], new.monthly[column])
    np.testing.assert_array_equal(planned.channels["sales"][0], old.channels["sales"][0])
    np.testing.assert_array_equal(planned.channels["sales"][1], new.channels["sales"][1])
    assert new.channels["sales"][1].sum() > 1.2 * old.channels["sales"][1].sum()  # cooling bites
    same_before_k(old, planned)


# --- referral conversion multiplier -------------------------------------------------------------


@pytest.mark.parametrize("multiplier", [0.0, 100.0])
def test_a_referral_multiplier_step_applies_to_the_referral_leads_from_its_month(multiplier):
    """No desk, no delays: a referral lead buys on arrival, in its arrival month. From month K the
    multiplier is 0 (no referral lead buys) or 100 (the overall conversion 0.2 × 100, capped at 1: every
    referral lead buys); before K it is 1.5 (0.3) and months 1 … K − 1 are bit-identical to the run
    with 1.5 throughout."""
    a = run(scenario(referrals=True, delays=(0.0, 0.0)))
    b = run(
        scenario(referrals=True, delays=(0.0, 0.0), steps={"referrals.conversion_multiplier": multiplier})
    )
    same_before_k(a, b)
    leads, sales = b.monthly["leads_referral"], b.monthly["sales_referral"]
    assert np.all(leads[1:] > 0)
    assert np.all(sales[1 : K - 1] < leads[1 : K - 1]) and sales[1 : K - 1].sum() > 0
    expected = 0.0 if multiplier == 0.0 else leads[K - 1 :]
    np.testing.assert_array_equal(sales[K - 1 :], expected)
    np.testing.assert_array_equal(b.channels["sales"][-1], sales)


# --- referral bonus -------------------------------------------------------------------------------


def test_the_referral_bonus_is_the_sale_months():
    """Bonus 1,000, ×2 in every third month of the season, 2,500 (then ×2 likewise) from month K: each
    month's referral bonus is exactly its bonus × its referral sales, in the ledger and in the referral
    channel's row (the paid channels' rows are 0); the sales are those of the unplanned run (the bonus
    moves nothing else)."""
    season = (
        "\n[seasonality]\n"
        + '"referrals.bonus" = [2.0, 1.0, 1.0, 2.0, 1.0, 1.0, 2.0, 1.0, 1.0, 2.0, 1.0, 1.0]\n'
    )
    sc = scenario(referrals=True, steps={"referrals.bonus": 2500.0}, extra=season)
    bonus = plan.values(sc, "referrals.bonus")
    assert bonus.tolist() == [2000.0, 1000.0, 1000.0, 5000.0, 2500.0, 2500.0, 5000.0, 2500.0]
    out = run(sc)
    sales = out.monthly["sales_referral"]
    assert np.all(sales[1:] > 0)
    np.testing.assert_array_equal(out.monthly["referral_bonus"], bonus * sales)
    np.testing.assert_array_equal(out.channels["referral_bonus"][-1], bonus * sales)
    assert not out.channels["referral_bonus"][:-1].any()
    unplanned = run(scenario(referrals=True))
    np.testing.assert_array_equal(unplanned.monthly["sales_referral"], sales)
    np.testing.assert_array_equal(unplanned.monthly["referral_bonus"], 1000.0 * sales)


# --- leads of one call arriving in two months -----------------------------------------------------


def test_leads_of_one_batch_in_two_months_each_take_their_months_values():
    """The referral path gives the draws a month per lead: a batch straddling months K − 1 and K gets
    each lead's own month's handling mean, patience, half-life and stage delays, from the same draws as
    one month's batch."""
    desk = "staff = 1\nhandling_minutes = 30.0\npatience_hours = 10.0\ncooling_half_life_hours = 4.0\n"
    steps = {
        "sales_desk.handling_minutes": 60.0,
        "sales_desk.patience_hours": 20.0,
        "sales_desk.cooling_half_life_hours": 8.0,
        "funnel.0.delay_days": 6.0,
        "funnel.1.delay_days": 10.0,
    }
    sc = scenario(desk, steps=steps)
    rep = _Replication(sc, 0, 0, lifetime_tables(sc))
    months = np.repeat([K - 2, K - 1], 50)  # 0-based: months K − 1 and K
    later = months == K - 1
    handling = rep._handling(np.random.default_rng(1), 100, months)
    draws = np.random.default_rng(1).exponential(1.0, 100)
    np.testing.assert_array_equal(handling, draws * (np.where(later, 60.0, 30.0) / 1440.0))
    patience, half_life = rep._patience(100, months)
    np.testing.assert_array_equal(patience, np.where(later, 20.0, 10.0) / 24.0)
    np.testing.assert_array_equal(half_life, np.where(later, 8.0, 4.0) / 24.0)
    buys, delay, odds = rep._funnel(np.random.default_rng(2), 100, 0.5, months)
    rng = np.random.default_rng(2)
    u = rng.random(100)
    stages = rng.standard_exponential((int((u < 0.5).sum()), 2))
    means = np.where(later[u < 0.5, None], [6.0, 10.0], [3.0, 5.0])
    np.testing.assert_array_equal(buys, u < 0.5)
    np.testing.assert_allclose(delay[buys], (stages * means).sum(axis=1), rtol=1e-15)
    assert not delay[~buys].any()
    np.testing.assert_array_equal(odds[buys], u[buys] / 0.5)
    assert later[buys].any() and (~later[buys]).any()
    # one month's batch: the same as with an int month
    one = np.full(100, K - 1)
    np.testing.assert_array_equal(
        rep._funnel(np.random.default_rng(2), 100, 0.5, one)[1],
        rep._funnel(np.random.default_rng(2), 100, 0.5, K - 1)[1],
    )
