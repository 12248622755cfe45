"""The sales desk (`sim.engine.desk`): the compiled kernel serves leads as the plain rule of docs/model.md
says (first come, first served, working hours, patience; staff and hours by month; cooling; counts per
channel), lead by lead, in stretches, compiled or not."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.desk import CLOSING_TOLERANCE_DAYS, LOST, Desk, Leads, _serve, no_leads
from sim.model.calendar import MONTH_DAYS
from sim.model.scenario import SalesDesk


def _leads(arrival, handling, buys=None, delay=None, odds=None, channel=0) -> Leads:
    """Leads from lists (buys False, delay 0, odds 0 and the channel given unless said otherwise)."""
    n = len(arrival)
    return (
        np.asarray(arrival, dtype=float),
        np.asarray(handling, dtype=float),
        np.zeros(n, dtype=np.bool_) if buys is None else np.asarray(buys, dtype=np.bool_),
        np.zeros(n) if delay is None else np.asarray(delay, dtype=float),
        np.zeros(n) if odds is None else np.asarray(odds, dtype=float),
        np.full(n, channel, dtype=np.int64) if np.isscalar(channel) else np.asarray(channel, dtype=np.int64),
    )


def _random_leads(rng, n, span, handling_mean, fixed=False, channels=(0,), p=0.5) -> Leads:
    """n leads arriving uniformly in [0, span) days; buys = u < p with odds u / p, as the engine draws."""
    u = rng.random(n)
    return (
        np.sort(rng.uniform(0, span, n)),
        np.full(n, handling_mean) if fixed else rng.exponential(handling_mean, n),
        u < p,
        rng.exponential(1.0, n),
        u / p,
        rng.choice(np.asarray(channels, dtype=np.int64), n),
    )


def _merged(paid: Leads, ref: Leads) -> list[np.ndarray]:
    """Both streams in the order the desk serves them (arrival; a paid lead first on a tie)."""
    order = np.lexsort((np.r_[np.zeros(paid[0].size), np.ones(ref[0].size)], np.r_[paid[0], ref[0]]))
    return [np.r_[a, b][order] for a, b in zip(paid, ref, strict=True)]


def _serve_all(desk: Desk, paid: Leads, ref: Leads, untils=(math.inf,), **kw) -> dict[str, list]:
    """Serve both streams in stretches (as the engine calls the desk); collect starts, sales and counts."""
    i = j = 0
    out: dict[str, list] = {
        "starts": [],
        "sale_time": [],
        "sale_referral": [],
        "sale_channel": [],
        "months": [],
    }
    for until in untils:
        i0, j0 = i, j
        i, j, n, _ = desk.serve(paid, i, ref, j, until, **kw)
        out["starts"] += desk.starts[: i - i0 + j - j0].tolist()
        out["sale_time"] += desk.sale_time[:n].tolist()
        out["sale_referral"] += desk.sale_referral[:n].tolist()
        out["sale_channel"] += desk.sale_channel[:n].tolist()
        out["months"].append((desk.take_month(), *(a.tolist() for a in desk.take_month_channels())))
    assert (i, j) == (paid[0].size, ref[0].size)
    return out


def test_one_more_salesperson_can_lose_more_leads_on_one_path():
    """Not a bug: FCFS with abandonment is not pathwise monotone in the staff (hours, patience 1 h).

    With one salesperson the long calls C and D wait too long and are lost; with two they are taken
    (C on the salesperson A freed, D on the second one after B) and block both salespeople, so the three
    short calls E, F, G are lost: 2 -> 3 lost leads.
    """
    arrivals = [0.0, 0.5, 1.5, 2.6, 4.5, 5.0, 5.5]
    handling = [1.0, 3.0, 10.0, 10.0, 0.5, 0.5, 0.5]
    lost = {}
    for staff in (1, 2):
        desk = Desk(SalesDesk(staff=staff, handling_minutes=60.0, handling="fixed", patience_hours=1.0))
        lost[staff] = [desk.contact(a / 24, h / 24) == LOST for a, h in zip(arrivals, handling, strict=True)]
    assert lost[1] == [False, False, True, True, False, False, False]
    assert lost[2] == [False, False, False, False, True, True, True]


def _naive_desk(staff, hours, patience_h, arrivals, handling):
    """The desk's rule written plainly (a list of free times, no heap, no kernel): start = the earliest
    free salesperson or the arrival, moved to the next opening when the desk is closed; lost when the
    wait exceeds the patience."""
    free, starts, open_fraction = [0.0] * staff, [], hours / 24.0
    for a, h in zip(arrivals, handling, strict=True):
        k = min(range(staff), key=free.__getitem__)
        start = max(a, free[k])
        if open_fraction < 1.0 and start - math.floor(start) >= open_fraction - 1e-9:
            start = math.floor(start) + 1.0
        if patience_h is not None and start - a > patience_h / 24.0:
            starts.append(LOST)
            continue
        free[k] = start + h
        starts.append(start)
    return starts


@settings(max_examples=60, deadline=None)
@given(
    staff=st.integers(1, 5),
    hours=st.sampled_from([24.0, 12.0, 8.0, 1.5]),
    patience=st.one_of(st.none(), st.floats(0.1, 72.0)),
    n_paid=st.integers(0, 60),
    n_ref=st.integers(0, 30),
    seed=st.integers(0, 2**32 - 1),
    fixed=st.booleans(),
)
def test_desk_kernel_serves_leads_as_the_plain_rule_says(staff, hours, patience, n_paid, n_ref, seed, fixed):
    """The compiled kernel, the same function run as plain Python, and a naive implementation agree lead
    by lead (bit for bit) on random paid and referral streams, also when served in stretches."""
    rng = np.random.default_rng(seed)
    desk_model = SalesDesk(staff=staff, handling_minutes=60.0, hours_per_day=hours, patience_hours=patience)
    paid = _random_leads(rng, n_paid, 5.0, 0.05, fixed)
    ref = _random_leads(rng, n_ref, 5.0, 0.05, fixed, channels=(1,))
    arrivals, handling = _merged(paid, ref)[:2]
    expected = _naive_desk(staff, hours, patience, arrivals.tolist(), handling.tolist())

    compiled = Desk(desk_model)
    got = _serve_all(compiled, paid, ref, (1.0, 2.5, 2.5, 4.0, math.inf))["starts"]
    assert got == expected

    plain = Desk(desk_model)
    plain._kernel = _serve  # the same function, not compiled
    assert _serve_all(plain, paid, ref)["starts"] == expected
    assert plain.busy_days == compiled.busy_days


def test_desk_kernel_stops_at_a_sale_that_comes_before_the_next_lead():
    """With `stop_at_sales` the kernel returns right after booking a sale that happens before the next
    arrival (the sale may send referral leads), and reports that arrival; without it, it goes on."""
    desk = Desk(SalesDesk(staff=1, handling_minutes=60.0, handling="fixed"))
    h = 1 / 24
    paid = _leads([0.0, 0.5, 2.0], [h] * 3, buys=[True, False, False], delay=[0.1, 0, 0])
    i, j, n, t_next = desk.serve(paid, 0, no_leads(), 0, 10.0, stop_at_sales=True)
    assert (i, j, n, t_next) == (1, 0, 1, 0.5)
    assert desk.sale_time[0] == pytest.approx(h + 0.1)
    i, j, n, t_next = desk.serve(paid, i, no_leads(), 0, 10.0, stop=1.0, stop_at_sales=True)
    assert (i, n, t_next) == (2, 0, 2.0)  # stopped by the pending sale at day 1
    again = Desk(SalesDesk(staff=1, handling_minutes=60.0, handling="fixed"))
    assert again.serve(paid, 0, no_leads(), 0, 10.0)[:3] == (3, 0, 1)


# --- Staff and hours by month (a plan) ---------------------------------------------------------------


def _month_of(x: float, months: int) -> int:
    """Month (0-based) of moment x: month m is [m·MONTH_DAYS, (m + 1)·MONTH_DAYS); the last one holds."""
    return sum(1 for m in range(1, months) if m * MONTH_DAYS <= x)


def _naive_planned_desk(staff, open_fraction, patience_days, arrivals, handling):
    """The rule of docs/model.md written literally, event by event, with no heap: a lead, in arrival
    order and never before the lead served before it (first come, first served), starts at the first
    moment x at which the desk is open (x's time of day < the open fraction of x's month) and fewer
    than staff(x's month) contacts are in progress (started at or before x, ending after x). Until then
    it looks at the next moment something changes: a contact ends, a day or a month begins."""
    months = len(staff)
    contacts: list[tuple[float, float]] = []
    starts = []
    for a, h in zip(arrivals, handling, strict=True):
        x = max([a] + [s for s, _ in contacts[-1:]])
        while True:
            m = _month_of(x, months)
            f = open_fraction[m]
            is_open = f >= 1.0 or x - math.floor(x) < f - CLOSING_TOLERANCE_DAYS
            in_progress = sum(1 for s, e in contacts if s <= x < e)
            if is_open and in_progress < staff[m]:
                break
            events = [e for _, e in contacts if e > x] + [math.floor(x) + 1.0]
            events += [k * MONTH_DAYS for k in range(1, months) if k * MONTH_DAYS > x]
            x = min(events)
        if x - a > patience_days:
            starts.append(LOST)
            continue
        contacts.append((x, x + h))
        starts.append(x)
    return starts


def test_planned_desk_by_hand():
    """Staff 2, then 1, then 3 (24 h a day). Month 1 ends at 30.4375, month 2 at 60.875.

    A (29.0, 3 days) and B (29.5, 5 days) start on arrival; C (30.0) finds both salespeople busy, and in
    month 2 with one salesperson it must wait until fewer than one contact is in progress: B's end at
    34.5. D (40.0, 30 days) starts at once; E, F (45, 46) wait for D until month 3 brings three
    salespeople: both start at its first moment 60.875; G (47) waits for E's end at 61.875.
    """
    desk = Desk(SalesDesk(staff=1, handling_minutes=60.0), staff_by_month=np.array([2, 1, 3]))
    paid = _leads([29.0, 29.5, 30.0, 40.0, 45.0, 46.0, 47.0], [3.0, 5.0, 1.0, 30.0, 1.0, 1.0, 1.0])
    desk.serve(paid, 0, no_leads(), 0, math.inf)
    assert desk.starts[:7].tolist() == [
        29.0,
        29.5,
        34.5,
        40.0,
        2 * MONTH_DAYS,
        2 * MONTH_DAYS,
        2 * MONTH_DAYS + 1,
    ]


def test_a_contact_set_aside_when_the_staff_fell_still_counts_when_it_rises():
    """Staff 2, then 1, then 2. A (day 0, 100 days) and B (day 1, 70 days) run through month 2, where one
    salesperson is the staff; when month 3 brings two, both still run, so C (day 50) starts only when B
    ends at 71 (not at month 3's first moment: nobody is free then)."""
    desk = Desk(SalesDesk(staff=1, handling_minutes=60.0), staff_by_month=np.array([2, 1, 2]))
    desk.serve(_leads([0.0, 1.0, 50.0], [100.0, 70.0, 1.0]), 0, no_leads(), 0, math.inf)
    assert desk.starts[:3].tolist() == [0.0, 1.0, 71.0]


def test_the_contacts_that_count_again_when_the_staff_rises_are_those_that_end_last():
    """Staff 4, 1, 2, 3 (months end at 30.4, 60.9, 91.3). Four contacts from month 1 end at 100, 200,
    150 and 120; C arrives on day 40. In month 3 two salespeople: fewer than two contacts are in progress
    only from 150; in month 4 three: fewer than three from 120, so C starts at 120."""
    leads = _leads([0.0, 1.0, 2.0, 3.0, 40.0], [100.0, 199.0, 148.0, 117.0, 1.0])
    desk = Desk(SalesDesk(staff=1, handling_minutes=60.0), staff_by_month=np.array([4, 1, 2, 3]))
    desk.serve(leads, 0, no_leads(), 0, math.inf)
    assert desk.starts[:5].tolist() == [0.0, 1.0, 2.0, 3.0, 120.0]
    desk = Desk(SalesDesk(staff=1, handling_minutes=60.0), staff_by_month=np.array([4, 1, 2]))
    desk.serve(leads, 0, no_leads(), 0, math.inf)
    assert desk.starts[4] == 150.0  # without month 4 it waits for the second-last end


def test_planned_hours_apply_by_the_moment():
    """Month 1 open 8 h a day, month 2 open 12 h. Month 2 begins 10.5 h into day 30, when the desk is
    already closed by month 1's hours but open by month 2's: a lead waiting since 9.6 h starts at the
    month's first moment; in month 1 a lead at 9 h of day 29 waits for day 30's opening."""
    desk = Desk(SalesDesk(staff=5, handling_minutes=60.0), open_fraction_by_month=np.array([8.0, 12.0]) / 24)
    paid = _leads([29 + 9 / 24, 30 + 9.6 / 24, 30 + 11.5 / 24, 30 + 12.5 / 24], [0.01] * 4)
    desk.serve(paid, 0, no_leads(), 0, math.inf)
    assert desk.starts[:4].tolist() == [30.0, MONTH_DAYS, 30 + 11.5 / 24, 31.0]


@settings(max_examples=80, deadline=None)
@given(
    staff=st.lists(st.integers(1, 6), min_size=1, max_size=5),
    hours=st.lists(st.sampled_from([24.0, 20.7, 12.0, 10.5, 8.0, 1.5]), min_size=5, max_size=5),
    patience=st.one_of(st.none(), st.floats(0.1, 400.0)),
    n_paid=st.integers(0, 120),
    n_ref=st.integers(0, 40),
    load=st.sampled_from([0.3, 1.0, 3.0]),
    long_share=st.sampled_from([0.0, 0.1, 1.0]),
    seed=st.integers(0, 2**32 - 1),
    fixed=st.booleans(),
)
def test_planned_desk_serves_leads_as_the_rule_says(
    staff, hours, patience, n_paid, n_ref, load, long_share, seed, fixed
):
    """Staff going up and down from month to month, hours changing, patience: the compiled kernel, the
    same function as plain Python, and the literal event-by-event rule agree lead by lead (bit for bit),
    also when served in stretches; the leads arrive over the plan's months and a little past them (the
    last month holds); `load` sets the offered work against one salesperson's open time. A `long_share`
    of the contacts last 20 to 70 days, so contacts still run when the staff falls and again when it
    rises."""
    rng = np.random.default_rng(seed)
    months = len(staff)
    span = (months + 0.3) * MONTH_DAYS
    open_fraction = [h / 24.0 for h in hours[:months]]
    n = max(n_paid + n_ref, 1)
    handling_mean = load * span / n * min(open_fraction)  # work offered ≈ load × one person's open time
    paid = _random_leads(rng, n_paid, span, handling_mean, fixed, channels=(0, 1))
    ref = _random_leads(rng, n_ref, span, handling_mean, fixed, channels=(2,))
    for leads in (paid, ref):
        long = rng.random(leads[1].size) < long_share
        leads[1][long] = rng.uniform(20.0, 70.0, long.sum())
    arrivals, handling = _merged(paid, ref)[:2]
    patience_days = math.inf if patience is None else patience / 24.0
    expected = _naive_planned_desk(staff, open_fraction, patience_days, arrivals.tolist(), handling.tolist())

    model = SalesDesk(staff=1, handling_minutes=60.0, patience_hours=patience)
    plan = {
        "staff_by_month": np.array(staff),
        "open_fraction_by_month": np.array(open_fraction),
        "channels": 2,
    }
    untils = [*sorted(rng.uniform(0, span, 4).tolist()), math.inf]
    compiled = Desk(model, **plan)
    got = _serve_all(compiled, paid, ref, untils)
    assert got["starts"] == expected

    plain = Desk(model, **plan)
    plain._kernel = _serve
    assert _serve_all(plain, paid, ref, untils) == got


@settings(max_examples=60, deadline=None)
@given(
    staff=st.lists(st.sampled_from([1, 2, 3, 8]), min_size=3, max_size=6),
    n=st.integers(20, 80),
    seed=st.integers(0, 2**32 - 1),
)
def test_planned_desk_with_contacts_longer_than_a_month(staff, n, seed):
    """Contacts of 5 to 80 days under staff that falls and rises by several people: many contacts are
    set aside when the staff falls and still run when it rises, and those that count again are the ones
    that end last. Kernel and the literal rule agree lead by lead."""
    rng = np.random.default_rng(seed)
    span = len(staff) * MONTH_DAYS
    arrivals = np.sort(rng.uniform(0, span, n))
    handling = rng.uniform(5.0, 80.0, n)
    expected = _naive_planned_desk(staff, [1.0] * len(staff), math.inf, arrivals.tolist(), handling.tolist())
    desk = Desk(SalesDesk(staff=1, handling_minutes=60.0), staff_by_month=np.array(staff))
    assert _serve_all(desk, _leads(arrivals, handling), no_leads())["starts"] == expected


@settings(max_examples=40, deadline=None)
@given(
    staff=st.integers(1, 6),
    hours=st.sampled_from([24.0, 12.0, 10.5, 8.0, 1.5]),
    patience=st.one_of(st.none(), st.floats(0.1, 100.0)),
    months=st.integers(1, 4),
    load=st.sampled_from([0.5, 1.0, 3.0]),
    seed=st.integers(0, 2**32 - 1),
    fixed=st.booleans(),
)
def test_constant_plan_equals_the_desk_without_plan(staff, hours, patience, months, load, seed, fixed):
    """Staff and hours by month that do not change give exactly (bit for bit) the desk without a plan:
    starts, sales, monthly and per-channel counts and the busy time."""
    rng = np.random.default_rng(seed)
    span = (months + 0.5) * MONTH_DAYS
    handling_mean = load * staff * span / 300 * hours / 24
    paid = _random_leads(rng, 250, span, handling_mean, fixed)
    ref = _random_leads(rng, 50, span, handling_mean, fixed, channels=(1,))
    model = SalesDesk(staff=staff, handling_minutes=60.0, hours_per_day=hours, patience_hours=patience)
    untils = [(k + 1) * MONTH_DAYS for k in range(months)] + [math.inf]
    kw = {"sale_horizon": months * MONTH_DAYS}
    plain = Desk(model, months * MONTH_DAYS)
    planned = Desk(
        model,
        months * MONTH_DAYS,
        staff_by_month=np.full(months, staff),
        open_fraction_by_month=np.full(months, hours / 24.0),
    )
    assert _serve_all(planned, paid, ref, untils, **kw) == _serve_all(plain, paid, ref, untils, **kw)
    assert planned.busy_days == plain.busy_days


# --- Cooling and channels ----------------------------------------------------------------------------


def _cooling_run(half_life_days: float, seed: int = 3):
    """A congested desk (waits of hours to days) serving two paid channels and referrals."""
    rng = np.random.default_rng(seed)
    paid = _random_leads(rng, 400, 20.0, 0.12, channels=(0, 1), p=0.4)
    ref = _random_leads(rng, 100, 20.0, 0.12, channels=(2,), p=0.4)
    model = SalesDesk(staff=2, handling_minutes=60.0, hours_per_day=10.0, patience_hours=60.0)
    desk = Desk(model, cooling_half_life_days=half_life_days, channels=2)
    return paid, ref, _serve_all(desk, paid, ref, (5.0, 12.0, math.inf))


def test_cooling_with_an_endless_half_life_is_no_cooling():
    """A half-life so long that 0.5 ** (wait / half-life) rounds to 1 gives exactly the desk without
    cooling (every buyer reached buys, since odds = u / p < 1)."""
    assert _cooling_run(1e300)[2] == _cooling_run(math.inf)[2]


def test_cooling_keeps_the_buyers_whose_odds_beat_the_wait():
    """With a half-life of 6 h the sales are exactly the reached buyers with odds < 0.5 ** (wait /
    half-life), in order, with their channels; the contact starts do not depend on cooling."""
    half_life = 0.25
    paid, ref, got = _cooling_run(half_life)
    _, _, warm = _cooling_run(math.inf)
    assert got["starts"] == warm["starts"]
    arrival, handling, buys, delay, odds, channel = _merged(paid, ref)
    start = np.asarray(got["starts"])
    reached = start != LOST
    wait = np.where(reached, start - arrival, 0.0)
    sold = reached & buys & (odds < 0.5 ** (wait / half_life))
    assert got["sale_time"] == (start + handling + delay)[sold].tolist()
    assert got["sale_channel"] == channel[sold].tolist()
    assert got["sale_referral"] == (channel[sold] == 2).tolist()
    assert 0 < sold.sum() < (reached & buys).sum()  # the waits are long enough for cooling to bite


def test_counts_per_channel_add_up_to_the_totals():
    """Lost and reached leads per channel (referrals last) count each lead by its channel, month by
    month, and add up to the desk's totals; each stretch's counts reset on taking them."""
    paid, ref, got = _cooling_run(0.25)
    _, _, _, _, _, channel = _merged(paid, ref)
    start = np.asarray(got["starts"])
    lost_total = np.zeros(3)
    reached_total = np.zeros(3)
    for (lost, reached, _wait), lost_by, reached_by in got["months"]:
        assert sum(lost_by) == lost and sum(reached_by) == reached
        lost_total += lost_by
        reached_total += reached_by
    assert lost_total.tolist() == np.bincount(channel[start == LOST], minlength=3).tolist()
    assert reached_total.tolist() == np.bincount(channel[start != LOST], minlength=3).tolist()
    assert lost_total.sum() > 0  # the patience of 60 h loses some leads


def test_a_lead_with_an_unknown_channel_is_refused():
    """A channel outside 0 … C is an error, not a write out of bounds. Without paid channels (C = 0) the
    referral leads are channel 0."""
    desk = Desk(SalesDesk(staff=1, handling_minutes=60.0), channels=2)
    with pytest.raises(ValueError, match="channel"):
        desk.serve(_leads([0.0], [0.1], channel=3), 0, no_leads(), 0, math.inf)
    referrals_only = Desk(SalesDesk(staff=1, handling_minutes=60.0), channels=0)
    referrals_only.serve(no_leads(), 0, _leads([0.0, 0.05], [0.1, 0.1]), 0, math.inf)
    assert [a.tolist() for a in referrals_only.take_month_channels()] == [[0.0], [2.0]]
    with pytest.raises(ValueError, match="channel"):
        referrals_only.serve(no_leads(), 0, _leads([1.0], [0.1], channel=1), 0, math.inf)
