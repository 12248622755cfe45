"""The sales desk: salespeople serving leads first come, first served, in working hours, with patience.

The queue discipline is in one function, `_serve`, compiled with numba (`kernel`): it takes the leads
of a stretch of time in arrival order and answers each at once, because under FCFS a lead's start
depends only on earlier leads. `Desk` holds the desk's state between calls (the end times of the
contacts that still matter, the month the desk has reached, the busy time so far, output buffers) and
offers the engine a batch call (`serve`), a one-lead call (`contact`) and, for the event log, the contact
starts of the leads a batch call served, aligned with them (`served`).

With a plan (docs/model.md, "Sales desk") the staff and the hours change month by month: a contact can
start at t only if the desk is open at t and fewer than staff(t's month) contacts are in progress at t.
The kernel keeps the `staff` latest contact ends in a min-heap, for the month the desk has reached (the
earliest moment with a free place is its smallest end): when the staff falls, the smallest ends move to
a reserve max-heap (those contacts still run to their end); when it rises, the largest ends come back
from the reserve, and salespeople beyond them are free from the month's first moment. Without a plan
the desk is one month that never ends and the kernel is the plain heap of the salespeople's free times.

What belongs to a lead travels with it (`Leads`): its handling time, and its patience and cooling
half-life — with a plan those of its arrival month, whenever it is served (the engine fills them in).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.model.calendar import MONTH_DAYS
from sim.model.scenario import SalesDesk

CLOSING_TOLERANCE_DAYS = 1e-9
"""A contact due this close to closing time counts as due at closing (sums of fixed handling times that
exactly fill the day must not start one more contact through rounding)."""

LOST = -1.0
"""Returned by `Desk.contact` for a lead that is lost (waited longer than its patience)."""

_BUSY, _WAIT, _LOST, _REACHED = range(4)
"""Slots of `Desk.acc`: busy days within the horizon (whole run), and for the current month the wait
of reached leads in days, the lost leads and the reached leads."""

_MONTH, _ACTIVE, _RESERVE = range(3)
"""Slots of `Desk.state`: the month (0-based) the desk has reached, the contacts in the active heap
(that month's staff) and in the reserve heap."""


def _serve(
    free: np.ndarray,
    reserve: np.ndarray,
    state: np.ndarray,
    acc: np.ndarray,
    channel_acc: np.ndarray,
    month_end: np.ndarray,
    staff: np.ndarray,
    open_fraction: np.ndarray,
    horizon_days: float,
    paid: tuple[np.ndarray, ...],
    i: int,
    ref: tuple[np.ndarray, ...],
    j: int,
    until: float,
    stop: float,
    now: float,
    sale_horizon: float,
    stop_at_sales: bool,
    starts: np.ndarray,
    sale_time: np.ndarray,
    sale_referral: np.ndarray,
    sale_channel: np.ndarray,
) -> tuple[int, int, int, float]:
    """Serve paid leads from index i and referral leads from index j (each sorted by arrival; a paid lead
    goes first on a tie) while the next arrival is before `until` and before `stop` (the next pending
    sale: it happens first).

    Returns the new i and j, the number of sales booked and the next arrival (at most `until`). The
    sales (buyers reached, in order; sale time = start + handling + funnel delay; only those before
    `sale_horizon`) go into `sale_time` / `sale_referral` / `sale_channel`. With `stop_at_sales` a booked
    sale lowers `stop` to its event time (as SimPy computes it from `now`), since a sale may send new
    leads. Each lead has its own patience and cooling half-life (days, the last two arrays of `Leads`): it
    is lost if its start would be more than its patience after its arrival, and with a finite half-life a
    buyer reached after a wait w buys only if its odds < 0.5 ** (w / half-life).

    Months: month m is [month_end[m - 1], month_end[m]) (the last one ends at inf), with `staff[m]`
    salespeople and the desk open for the first `open_fraction[m]` of each day. `free[:state[_ACTIVE]]`
    is a min-heap of the ends of the contacts that count against the staff of month `state[_MONTH]` (0
    for a salesperson who has done nothing), `reserve[:state[_RESERVE]]` a max-heap of ends set aside
    when the staff fell. `acc` and `channel_acc` (lost / reached per channel) are updated in place;
    `starts` gets each served lead's contact start (days) or `LOST`, in the order served.
    """
    pt, ph, pb, pd, po, pc, pp, pl = paid
    rt, rh, rb, rd, ro, rc, rp, rl = ref
    n_paid, n_ref, n_channels = pt.size, rt.size, channel_acc.shape[1]
    m, c, r = state[_MONTH], state[_ACTIVE], state[_RESERVE]
    m_start = month_end[m - 1] if m > 0 else -math.inf
    m_end, open_f = month_end[m], open_fraction[m]
    n_sales = n_served = 0
    while True:
        ta = pt[i] if i < n_paid else math.inf
        tr = rt[j] if j < n_ref else math.inf
        t = ta if ta <= tr else tr
        if t >= until or t >= stop:
            state[_MONTH], state[_ACTIVE], state[_RESERVE] = m, c, r
            return i, j, n_sales, (until if t >= until else t)
        if ta <= tr:
            h, b, d, odds, ch, is_ref = ph[i], pb[i], pd[i], po[i], pc[i], False
            patience, half_life = pp[i], pl[i]
            i += 1
        else:
            h, b, d, odds, ch, is_ref = rh[j], rb[j], rd[j], ro[j], rc[j], True
            patience, half_life = rp[j], rl[j]
            j += 1
        if ch < 0 or ch >= n_channels:
            raise ValueError("a lead's channel is out of range")
        # Under FCFS no lead starts before an earlier one: a lead that arrived in a month the desk has
        # left looks for its start from the first moment of the desk's month.
        x = t if t >= m_start else m_start
        while True:
            if x >= m_end:  # the next month: its staff and hours
                m += 1
                target = staff[m]
                while c > target:  # the smallest end leaves the active heap for the reserve
                    value = free[0]
                    c -= 1
                    last, k = free[c], 0
                    while True:
                        q = 2 * k + 1
                        if q >= c:
                            break
                        if q + 1 < c and free[q + 1] < free[q]:
                            q += 1
                        if free[q] >= last:
                            break
                        free[k] = free[q]
                        k = q
                    free[k] = last
                    k = r
                    r += 1
                    while k > 0:
                        q = (k - 1) // 2
                        if reserve[q] >= value:
                            break
                        reserve[k] = reserve[q]
                        k = q
                    reserve[k] = value
                while c < target:  # the largest set-aside end comes back, or a salesperson free since 0
                    value = 0.0
                    if r > 0:
                        value = reserve[0]
                        r -= 1
                        last, k = reserve[r], 0
                        while True:
                            q = 2 * k + 1
                            if q >= r:
                                break
                            if q + 1 < r and reserve[q + 1] > reserve[q]:
                                q += 1
                            if reserve[q] <= last:
                                break
                            reserve[k] = reserve[q]
                            k = q
                        reserve[k] = last
                    k = c
                    c += 1
                    while k > 0:
                        q = (k - 1) // 2
                        if free[q] <= value:
                            break
                        free[k] = free[q]
                        k = q
                    free[k] = value
                m_start, m_end, open_f = m_end, month_end[m], open_fraction[m]
                continue
            start = x if x > free[0] else free[0]
            if start >= m_end:
                x = m_end
                continue
            if open_f < 1.0:
                day = math.floor(start)
                if start - day >= open_f - CLOSING_TOLERANCE_DAYS:
                    start = day + 1.0
                    if start >= m_end:
                        x = m_end
                        continue
            break
        if start - t > patience:
            acc[_LOST] += 1.0
            channel_acc[0, ch] += 1.0
            starts[n_served] = LOST
            n_served += 1
            continue
        starts[n_served] = start
        n_served += 1
        # heapreplace: the contact that ends first gives its place to this one; sift the new end down.
        value, k = start + h, 0
        while True:
            q = 2 * k + 1
            if q >= c:
                break
            if q + 1 < c and free[q + 1] < free[q]:
                q += 1
            if free[q] >= value:
                break
            free[k] = free[q]
            k = q
        free[k] = value
        if start < horizon_days:
            acc[_BUSY] += h
        acc[_REACHED] += 1.0
        acc[_WAIT] += start - t
        channel_acc[1, ch] += 1.0
        if b and half_life < math.inf:
            b = odds < 0.5 ** ((start - t) / half_life)
        if b:  # the funnel starts when the first contact ends
            s = start + h + d
            if s < sale_horizon:
                sale_time[n_sales] = s
                sale_referral[n_sales] = is_ref
                sale_channel[n_sales] = ch
                n_sales += 1
                if stop_at_sales:
                    event = now + (s - now)
                    if event < stop:
                        stop = event


Leads = tuple[np.ndarray, ...]
"""Leads sorted by arrival, eight arrays of one value per lead: arrival (days), handling (days), buys
(bool: buys if reached without cooling), funnel delay (days), odds (float64: with cooling a buyer buys
iff odds < 0.5 ** (wait / half-life); the uniform draw over the conversion), channel (int64: 0 … C-1
the paid channels, C the referral leads), patience (days; inf = waits as long as it takes) and cooling
half-life (days; inf = does not go cold). `Desk.serve` also takes the first six alone: the leads then
have the desk's own patience and half-life."""

LEAD_FIELDS = 8
"""Arrays in a full `Leads`."""


def no_leads() -> Leads:
    """An empty `Leads`."""
    return (
        np.zeros(0),
        np.zeros(0),
        np.zeros(0, dtype=np.bool_),
        np.zeros(0),
        np.zeros(0),
        np.zeros(0, dtype=np.int64),
        np.zeros(0),
        np.zeros(0),
    )


_compiled: Any = None


def kernel() -> Any:
    """`_serve` compiled by numba (on first use, then from numba's cache in `__pycache__`): importing
    numba and loading the kernel take about half a second, paid only by runs that have a desk."""
    global _compiled
    if _compiled is None:
        import numba

        _compiled = numba.njit(cache=True, nogil=True)(_serve)
    return _compiled


class Desk:
    """FCFS multi-server queue with abandonment (Erlang-A with working hours), staff and hours by month.
    Times in days.

    A contact starts at the earliest moment when fewer contacts than that month's staff are in progress
    and the desk is open (the first hours of each day); a lead whose start would be more than its
    patience after its arrival is lost and takes nobody's time. Leads must be offered in arrival order.
    Each lead carries its own patience and cooling half-life (`Leads`); `desk.patience_hours` and
    `cooling_half_life_days` are those of leads given without them (`serve` with six arrays, `contact`).

    `staff_by_month` / `open_fraction_by_month` (length H, index m = month m + 1; past the last month
    it holds) plan the desk; None = the desk model's constant value. `channels` is the number of paid
    channels C: the per-channel counts have C + 1 slots, the last for referral leads.
    """

    def __init__(
        self,
        desk: SalesDesk,
        horizon_days: float = math.inf,
        *,
        staff_by_month: np.ndarray | None = None,
        open_fraction_by_month: np.ndarray | None = None,
        cooling_half_life_days: float = math.inf,
        channels: int = 1,
    ):
        self.model = desk
        if staff_by_month is None and open_fraction_by_month is None:
            staff, opens = np.array([desk.staff], dtype=np.int64), np.array([desk.open_fraction])
        else:
            given = staff_by_month if staff_by_month is not None else open_fraction_by_month
            n = len(given)  # type: ignore[arg-type]
            staff = np.full(n, desk.staff, dtype=np.int64)
            opens = np.full(n, desk.open_fraction)
            if staff_by_month is not None:
                staff = np.array(staff_by_month, dtype=np.int64)
            if open_fraction_by_month is not None:
                opens = np.array(open_fraction_by_month, dtype=np.float64)
            if staff.shape != opens.shape or staff.ndim != 1 or staff.size == 0:
                raise ValueError("staff and open fraction by month: one value a month each, same length")
            if staff.min() < 1 or not (np.all(opens > 0.0) and np.all(opens <= 1.0)):
                raise ValueError("every month needs staff >= 1 and an open fraction in (0, 1]")
        if channels < 0:
            raise ValueError("channels: the number of paid channels, 0 or more")
        self.staff_by_month, self.open_fraction_by_month = staff, opens
        self.month_end = np.arange(1, staff.size + 1, dtype=np.float64) * MONTH_DAYS
        """End of each month, in days (the last month never ends)."""
        self.month_end[-1] = math.inf
        size = int(staff.max())
        self.free = np.zeros(size)
        """Min-heap (first `state[_ACTIVE]`) of the ends of the contacts counting against the current
        month's staff, in days; 0 = a salesperson who has done nothing."""
        self.reserve = np.zeros(size)
        """Max-heap (first `state[_RESERVE]`) of the ends set aside when the staff fell, in days."""
        self.state = np.array([0, staff[0], 0], dtype=np.int64)
        self.patience = math.inf if desk.patience_hours is None else desk.patience_hours / 24.0
        """Patience of leads given without their own, in days (inf: they wait)."""
        self.horizon_days = horizon_days
        self.cooling_half_life_days = cooling_half_life_days
        """Cooling half-life of leads given without their own, in days (inf: no cooling)."""
        self.channels = channels
        self.acc = np.zeros(4)
        self.channel_acc = np.zeros((2, channels + 1))
        """Lost (row 0) and reached (row 1) leads per channel since the last `take_month_channels`."""
        self._kernel = kernel()
        self.starts = np.empty(0)
        """Contact start (days) of each lead served by the last `serve`, in order, or `LOST`."""
        self.sale_time = np.empty(0)
        """Sale times (days) of the buyers reached in the last `serve`, in order."""
        self.sale_referral = np.empty(0, dtype=np.bool_)
        """Whether each of those sales came from a referral lead."""
        self.sale_channel = np.empty(0, dtype=np.int64)
        """The channel of each of those sales (C = referral)."""

    @property
    def busy_days(self) -> float:
        """Handling time of the contacts started so far within the horizon, in days."""
        return float(self.acc[_BUSY])

    def take_month(self) -> tuple[float, float, float]:
        """(lost leads, reached leads, wait of reached leads in hours) since the last call; resets them."""
        lost, reached, wait = self.acc[_LOST], self.acc[_REACHED], self.acc[_WAIT] * 24.0
        self.acc[_WAIT] = self.acc[_LOST] = self.acc[_REACHED] = 0.0
        return float(lost), float(reached), float(wait)

    def take_month_channels(self) -> tuple[np.ndarray, np.ndarray]:
        """(lost leads per channel, reached leads per channel), each of shape (C + 1,) with referrals
        last, since the last call; resets them."""
        lost, reached = self.channel_acc[0].copy(), self.channel_acc[1].copy()
        self.channel_acc[:] = 0.0
        return lost, reached

    def serve(
        self,
        paid: Leads,
        i: int,
        ref: Leads,
        j: int,
        until: float,
        stop: float = math.inf,
        now: float = 0.0,
        sale_horizon: float = math.inf,
        stop_at_sales: bool = False,
    ) -> tuple[int, int, int, float]:
        """Serve leads in arrival order from paid[i:] and ref[j:] while they arrive before `until` and
        before `stop` (see `_serve`). Returns the next i and j, the number of sales booked
        (`sale_time[:n]`, `sale_referral[:n]`, `sale_channel[:n]`) and the next arrival (at most
        `until`). The contact starts of the leads served are `starts[:i - i0 + j - j0]`. The buffers are
        reused by the next call. Leads given as six arrays (no patience, no half-life) take the desk's."""
        if len(paid) != LEAD_FIELDS or len(ref) != LEAD_FIELDS:
            paid, ref = self._full(paid), self._full(ref)
        room = paid[0].size - i + ref[0].size - j
        if room > self.starts.size:
            size = max(room, 2 * self.starts.size)
            self.starts, self.sale_time = np.empty(size), np.empty(size)
            self.sale_referral = np.empty(size, dtype=np.bool_)
            self.sale_channel = np.empty(size, dtype=np.int64)
        return self._kernel(
            self.free, self.reserve, self.state, self.acc, self.channel_acc,
            self.month_end, self.staff_by_month, self.open_fraction_by_month, self.horizon_days,
            paid, i, ref, j, until, stop, now, sale_horizon, stop_at_sales,
            self.starts, self.sale_time, self.sale_referral, self.sale_channel,
        )  # fmt: skip

    def served(
        self, paid_arrival: np.ndarray, i0: int, i1: int, ref_arrival: np.ndarray, j0: int, j1: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The contact starts (days, or `LOST`) of the leads the last `serve` served, paid[i0:i1] and
        ref[j0:j1] (`paid_arrival`, `ref_arrival`: their arrival times), aligned with them: (paid starts,
        referral starts, served order). `starts` holds them in the order served: by arrival, a paid lead
        first on a tie. The served order gives, for each lead in that order, its index among the paid leads
        followed by the referral leads (i1 − i0 + k for ref[j0 + k])."""
        n_paid, n_ref = i1 - i0, j1 - j0
        at = np.searchsorted(paid_arrival[i0:i1], ref_arrival[j0:j1], side="right") + np.arange(n_ref)
        is_ref = np.zeros(n_paid + n_ref, dtype=np.bool_)
        is_ref[at] = True
        order = np.empty(n_paid + n_ref, dtype=np.int64)
        order[~is_ref] = np.arange(n_paid)
        order[is_ref] = n_paid + np.arange(n_ref)
        starts = self.starts[: n_paid + n_ref]
        return starts[~is_ref], starts[is_ref], order

    def _full(self, leads: Leads) -> Leads:
        """`leads` with their patience and half-life: as given, or the desk's for six arrays."""
        if len(leads) == LEAD_FIELDS:
            return leads
        if len(leads) != LEAD_FIELDS - 2:
            raise ValueError(
                f"leads: {LEAD_FIELDS} arrays (or the first {LEAD_FIELDS - 2}), not {len(leads)}"
            )
        n = leads[0].size
        return (*leads, np.full(n, self.patience), np.full(n, self.cooling_half_life_days))

    def contact(self, arrival: float, handling: float) -> float:
        """Start of the first contact of a lead (channel 0, the desk's patience) arriving at `arrival`
        (days), or `LOST`."""
        lead = (
            np.array([arrival]),
            np.array([handling]),
            np.zeros(1, dtype=np.bool_),
            np.zeros(1),
            np.zeros(1),
            np.zeros(1, dtype=np.int64),
        )
        self.serve(lead, 0, no_leads(), 0, math.inf)
        return float(self.starts[0])

    def open_days(self, horizon_days: float) -> float:
        """Open time of one salesperson within [0, horizon_days), in days (the desk model's hours)."""
        return self.model.open_days(horizon_days)
