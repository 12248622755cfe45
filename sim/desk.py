"""The sales desk: salespeople serving leads first come, first served, in working hours, with patience."""

from __future__ import annotations

import heapq
import math

from sim.scenario import SalesDesk

CLOSING_TOLERANCE_DAYS = 1e-9
"""A contact due this close to closing time counts as due at closing (sums of fixed handling times that
exactly fill the day must not start one more contact through rounding)."""

LOST = -1.0
"""Returned by `Desk.contact` for a lead that is lost (waited longer than its patience)."""


class Desk:
    """FCFS multi-server queue with abandonment (Erlang-A with working hours), one lead at a time.

    Leads must be offered in arrival order. Under FCFS a lead's start depends only on earlier leads, so
    `contact` answers at once: start = the earliest moment a salesperson is free and the desk is open;
    lost if start - arrival > patience (a lost lead takes nobody's time). Times in days.
    """

    def __init__(self, desk: SalesDesk, horizon_days: float = math.inf):
        self.free = [0.0] * desk.staff  # heap: when each salesperson is next free, in days
        self.open_fraction = desk.hours_per_day / 24.0
        self.patience = math.inf if desk.patience_hours is None else desk.patience_hours / 24.0
        self.horizon_days = horizon_days
        self.busy_days = 0.0
        """Handling time of the contacts started so far within the horizon, in days."""

    def contact(self, arrival: float, handling: float) -> float:
        """Start of the first contact of a lead arriving at `arrival` (days), or `LOST`."""
        free = self.free[0]
        start = arrival if arrival > free else free
        if self.open_fraction < 1.0:
            day = math.floor(start)
            if start - day >= self.open_fraction - CLOSING_TOLERANCE_DAYS:
                start = day + 1.0
        if start - arrival > self.patience:
            return LOST
        heapq.heapreplace(self.free, start + handling)
        if start < self.horizon_days:
            self.busy_days += handling
        return start

    def open_days(self, horizon_days: float) -> float:
        """Open time of one salesperson within [0, horizon_days), in days."""
        full = math.floor(horizon_days)
        return full * self.open_fraction + min(horizon_days - full, self.open_fraction)
