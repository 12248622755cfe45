"""The sales desk (`sim.engine.desk`): the compiled kernel serves leads as the plain rule of docs/model.md
says (first come, first served, working hours, patience), lead by lead, in stretches, compiled or not."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.desk import LOST, Desk, _serve, no_leads
from sim.model.scenario import SalesDesk


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

    def leads(n):
        t = np.sort(rng.uniform(0, 5, n))
        h = np.full(n, 0.05) if fixed else rng.exponential(0.05, n)
        return t, h, rng.random(n) < 0.5, rng.exponential(1.0, n)

    paid, ref = leads(n_paid), leads(n_ref)
    # Merged arrival order; a paid lead goes first on a tie.
    order = np.lexsort((np.r_[np.zeros(n_paid), np.ones(n_ref)], np.r_[paid[0], ref[0]]))
    arrivals, handling = np.r_[paid[0], ref[0]][order], np.r_[paid[1], ref[1]][order]
    expected = _naive_desk(staff, hours, patience, arrivals.tolist(), handling.tolist())

    compiled = Desk(desk_model)
    i = j = 0
    got = []
    for until in (1.0, 2.5, 2.5, 4.0, math.inf):  # in stretches, as the engine calls it
        i0, j0 = i, j
        i, j, _, _ = compiled.serve(paid, i, ref, j, until)
        got += compiled.starts[: i - i0 + j - j0].tolist()
    assert (i, j) == (n_paid, n_ref)
    assert got == expected

    plain = Desk(desk_model)
    plain._kernel = _serve  # the same function, not compiled
    plain.serve(paid, 0, ref, 0, math.inf)
    assert plain.starts[: n_paid + n_ref].tolist() == expected
    assert plain.acc.tolist() == compiled.acc.tolist()


def test_desk_kernel_stops_at_a_sale_that_comes_before_the_next_lead():
    """With `stop_at_sales` the kernel returns right after booking a sale that happens before the next
    arrival (the sale may send referral leads), and reports that arrival; without it, it goes on."""
    desk = Desk(SalesDesk(staff=1, handling_minutes=60.0, handling="fixed"))
    h = 1 / 24
    paid = (np.array([0.0, 0.5, 2.0]), np.full(3, h), np.array([True, False, False]), np.array([0.1, 0, 0]))
    i, j, n, t_next = desk.serve(paid, 0, no_leads(), 0, 10.0, stop_at_sales=True)
    assert (i, j, n, t_next) == (1, 0, 1, 0.5)
    assert desk.sale_time[0] == pytest.approx(h + 0.1)
    i, j, n, t_next = desk.serve(paid, i, no_leads(), 0, 10.0, stop=1.0, stop_at_sales=True)
    assert (i, n, t_next) == (2, 0, 2.0)  # stopped by the pending sale at day 1
    again = Desk(SalesDesk(staff=1, handling_minutes=60.0, handling="fixed"))
    assert again.serve(paid, 0, no_leads(), 0, 10.0)[:3] == (3, 0, 1)
