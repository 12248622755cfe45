"""The sales desk: salespeople serving leads first come, first served, in working hours, with patience.

The queue discipline is in one function, `_serve`, compiled with numba (`kernel`): it takes the leads
of a stretch of time in arrival order and answers each at once, because under FCFS a lead's start
depends only on earlier leads. `Desk` holds the desk's state between calls (when each salesperson is
next free, the busy time so far, output buffers) and offers the engine a batch call (`serve`) and a
one-lead call (`contact`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.model.scenario import SalesDesk

CLOSING_TOLERANCE_DAYS = 1e-9
"""A contact due this close to closing time counts as due at closing (sums of fixed handling times that
exactly fill the day must not start one more contact through rounding)."""

LOST = -1.0
"""Returned by `Desk.contact` for a lead that is lost (waited longer than its patience)."""

_BUSY, _WAIT, _LOST, _REACHED = range(4)
"""Slots of `Desk.acc`: busy days within the horizon (whole run), and for the current month the wait
of reached leads in days, the lost leads and the reached leads."""


def _serve(
    free: np.ndarray,
    acc: np.ndarray,
    open_fraction: float,
    patience: float,
    horizon_days: float,
    paid: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    i: int,
    ref: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    j: int,
    until: float,
    stop: float,
    now: float,
    sale_horizon: float,
    stop_at_sales: bool,
    starts: np.ndarray,
    sale_time: np.ndarray,
    sale_referral: np.ndarray,
) -> tuple[int, int, int, float]:
    """Serve paid leads from index i and referral leads from index j (each sorted by arrival; a paid lead
    goes first on a tie) while the next arrival is before `until` and before `stop` (the next pending
    sale: it happens first).

    Returns the new i and j, the number of sales booked and the next arrival (at most `until`). The
    sales (buyers reached, in order; sale time = start + handling + funnel delay; only those before
    `sale_horizon`) go into `sale_time` / `sale_referral`. With `stop_at_sales` a booked sale lowers
    `stop` to its event time (as SimPy computes it from `now`), since a sale may send new leads.
    `free` is a min-heap of when each salesperson is next free (days); `acc` is updated in place;
    `starts` gets each served lead's contact start (days) or `LOST`, in the order served.
    """
    pt, ph, pb, pd = paid
    rt, rh, rb, rd = ref
    n_paid, n_ref, staff = pt.size, rt.size, free.size
    n_sales = n_served = 0
    while True:
        ta = pt[i] if i < n_paid else math.inf
        tr = rt[j] if j < n_ref else math.inf
        t = ta if ta <= tr else tr
        if t >= until:
            return i, j, n_sales, until
        if t >= stop:
            return i, j, n_sales, t
        if ta <= tr:
            h, b, d, is_ref = ph[i], pb[i], pd[i], False
            i += 1
        else:
            h, b, d, is_ref = rh[j], rb[j], rd[j], True
            j += 1
        start = t if t > free[0] else free[0]
        if open_fraction < 1.0:
            day = math.floor(start)
            if start - day >= open_fraction - CLOSING_TOLERANCE_DAYS:
                start = day + 1.0
        if start - t > patience:
            acc[_LOST] += 1.0
            starts[n_served] = LOST
            n_served += 1
            continue
        starts[n_served] = start
        n_served += 1
        # heapreplace: the salesperson free first takes the lead; sift the new free time down.
        value, k = start + h, 0
        while True:
            c = 2 * k + 1
            if c >= staff:
                break
            if c + 1 < staff and free[c + 1] < free[c]:
                c += 1
            if free[c] >= value:
                break
            free[k] = free[c]
            k = c
        free[k] = value
        if start < horizon_days:
            acc[_BUSY] += h
        acc[_REACHED] += 1.0
        acc[_WAIT] += start - t
        if b:  # the funnel starts when the first contact ends
            s = start + h + d
            if s < sale_horizon:
                sale_time[n_sales] = s
                sale_referral[n_sales] = is_ref
                n_sales += 1
                if stop_at_sales:
                    event = now + (s - now)
                    if event < stop:
                        stop = event


Leads = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Leads sorted by arrival: arrival (days), handling (days), buys (bool), funnel delay (days)."""


def no_leads() -> Leads:
    """An empty `Leads`."""
    return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.bool_), np.zeros(0)


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
    """FCFS multi-server queue with abandonment (Erlang-A with working hours). Times in days.

    A contact starts at the earliest moment a salesperson is free and the desk is open (the first
    `hours_per_day` of each day); a lead whose start would be more than its patience after its arrival
    is lost and takes nobody's time. Leads must be offered in arrival order.
    """

    def __init__(self, desk: SalesDesk, horizon_days: float = math.inf):
        self.model = desk
        self.free = np.zeros(desk.staff)  # heap: when each salesperson is next free, in days
        self.open_fraction = desk.open_fraction
        self.patience = math.inf if desk.patience_hours is None else desk.patience_hours / 24.0
        self.horizon_days = horizon_days
        self.acc = np.zeros(4)
        self._kernel = kernel()
        self.starts = np.empty(0)
        """Contact start (days) of each lead served by the last `serve`, in order, or `LOST`."""
        self.sale_time = np.empty(0)
        """Sale times (days) of the buyers reached in the last `serve`, in order."""
        self.sale_referral = np.empty(0, dtype=np.bool_)
        """Whether each of those sales came from a referral lead."""

    @property
    def busy_days(self) -> float:
        """Handling time of the contacts started so far within the horizon, in days."""
        return float(self.acc[_BUSY])

    def take_month(self) -> tuple[float, float, float]:
        """(lost leads, reached leads, wait of reached leads in hours) since the last call; resets them."""
        lost, reached, wait = self.acc[_LOST], self.acc[_REACHED], self.acc[_WAIT] * 24.0
        self.acc[_WAIT] = self.acc[_LOST] = self.acc[_REACHED] = 0.0
        return float(lost), float(reached), float(wait)

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
        (`sale_time[:n]`, `sale_referral[:n]`) and the next arrival (at most `until`). The contact
        starts of the leads served are `starts[:i - i0 + j - j0]`. The buffers are reused by the next
        call."""
        room = paid[0].size - i + ref[0].size - j
        if room > self.starts.size:
            size = max(room, 2 * self.starts.size)
            self.starts, self.sale_time = np.empty(size), np.empty(size)
            self.sale_referral = np.empty(size, dtype=np.bool_)
        return self._kernel(
            self.free, self.acc, self.open_fraction, self.patience, self.horizon_days,
            paid, i, ref, j, until, stop, now, sale_horizon, stop_at_sales,
            self.starts, self.sale_time, self.sale_referral,
        )  # fmt: skip

    def contact(self, arrival: float, handling: float) -> float:
        """Start of the first contact of a lead arriving at `arrival` (days), or `LOST`."""
        lead = (np.array([arrival]), np.array([handling]), np.zeros(1, dtype=np.bool_), np.zeros(1))
        self.serve(lead, 0, no_leads(), 0, math.inf)
        return float(self.starts[0])

    def open_days(self, horizon_days: float) -> float:
        """Open time of one salesperson within [0, horizon_days), in days."""
        return self.model.open_days(horizon_days)
