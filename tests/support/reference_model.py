"""Reference model: a deliberately simple SimPy implementation of docs/model.md.

Every lead and every customer is its own SimPy process, and each rule of docs/model.md is written out
once, in the most literal way. The model is slow but easy to check by reading, so it is the oracle
against which the fast engine (`sim/engine.py`) is tested statistically, and the baseline of the speed
benchmark. It shares no random streams with the engine: `run_reference(scenario, seed)` draws
everything from one `numpy.random.default_rng(seed)`.

Conventions (see docs/model.md):

- The clock is in days; a month is M = 365.25 / 12 days; calendar months are indexed from 0 here
  (index 0 = month 1 of docs/model.md) and the horizon is T = horizon_months * M.
- `leads_lost`, `leads_reached` and `wait_hours_sum` are counted in the lead's arrival month; every lead
  that arrives before T is counted as reached or lost, even if that is decided after T.
- Sales, revenue, margin and referral bonus are booked in the month in which the sale or visit happens;
  repeat visits, problems and problem cost in the visit's month.
- The funnel starts when the first contact ends (the salesperson is released).
- `active_customers` counts the customers active at the end of each month; the churn checks at the end
  of the last month (at time T itself) are still processed (the run goes on until no event is left).
- Existing customers bought before month 1 (purchase month index -1, time 0): their age month k is
  calendar month k, so their first check is at the end of month 1.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

import sim

MONTH_DAYS = 365.25 / 12
"""Length of a month, in days."""

TIME_TOLERANCE_DAYS = 1e-9
"""Times this close to the desk's closing time count as closing time (floating-point rounding)."""

MONTHLY_KEYS = (
    "leads_paid",
    "leads_referral",
    "leads_lost",
    "leads_reached",
    "wait_hours_sum",
    "sales",
    "sales_referral",
    "new_customers",
    "active_customers",
    "repeat_visits",
    "problems",
    "revenue",
    "margin",
    "lead_spend",
    "referral_bonus",
    "staff_cost",
    "programme_cost",
    "problem_cost",
    "net_cash",
    "cumulative_cash",
)


def referral_stage_conversions(scenario: sim.Scenario) -> list[float]:
    """Per-stage pass probabilities for a referral lead.

    The multiplier is applied to the first stage; what the cap at 1 cuts off carries over to the next
    stage, and so on. The product is min(1, product of conversions * multiplier).
    """
    carry = scenario.referrals.conversion_multiplier if scenario.referrals else 1.0
    out = []
    for stage in scenario.funnel:
        p = stage.conversion * carry
        if p > 1.0:
            out.append(1.0)
            carry = p  # the part above 1 carries over to the next stage
        else:
            out.append(p)
            carry = 1.0
    return out


class _Customer:
    """State shared between a customer's lifetime process and its referral process."""

    __slots__ = ("left_at",)

    def __init__(self) -> None:
        self.left_at = math.inf
        """Time at which the customer left (end of the month whose check failed); inf while it stays."""


class _Reference:
    def __init__(self, scenario: sim.Scenario, seed: int):
        self.s = scenario
        self.rng = np.random.default_rng(seed)
        self.env = simpy.Environment()
        self.H = scenario.horizon_months
        self.T = self.H * MONTH_DAYS
        self.out = {key: np.zeros(self.H) for key in MONTHLY_KEYS}
        self.leads_total = 0

        desk = scenario.sales_desk
        self.desk = simpy.Resource(self.env, capacity=desk.staff) if desk else None
        if desk:
            self.open_fraction = desk.hours_per_day / 24.0
            self.patience_days = desk.patience_hours / 24.0 if desk.patience_hours is not None else None
            self.handling_days = desk.handling_minutes / 1440.0

        self.paid_conversions = [stage.conversion for stage in scenario.funnel]
        self.referral_conversions = referral_stage_conversions(scenario)
        self.churn = scenario.effective_churn
        self.referral_rate_per_day = scenario.referral_rate_per_year / 365.25
        self.repeat_margin_factor = scenario.repeat_margin_factor
        pr = scenario.problems
        self.problem_probability = pr.visit_problem_probability if pr else 0.0
        self.problem_leave = pr.leave_probability if pr else 0.0
        self.problem_cost = pr.cost_per_problem if pr else 0.0

    # --- helpers ---------------------------------------------------------------------------------

    def month_of(self, t: float) -> int:
        """0-based calendar month of a time before the horizon."""
        return min(int(t // MONTH_DAYS), self.H - 1)

    def book(self, key: str, month: int, amount: float = 1.0) -> None:
        self.out[key][month] += amount

    def exponential(self, mean: float) -> float:
        return float(self.rng.exponential(mean)) if mean > 0 else 0.0

    def desk_closed(self, t: float) -> bool:
        """Whether the desk is closed at time t (the working day is [0, hours_per_day) of each day).

        With fixed handling times a run of contacts from an opening ends exactly at closing time; the
        tolerance keeps rounding from letting a contact start at closing time.
        """
        if self.open_fraction >= 1.0:
            return False
        return t - math.floor(t) >= self.open_fraction - TIME_TOLERANCE_DAYS

    def visit_problem(self, month: int) -> bool:
        """Draw whether a visit (or the first purchase) in `month` has a problem, and book it."""
        if self.problem_probability > 0 and self.rng.random() < self.problem_probability:
            self.book("problems", month)
            self.book("problem_cost", month, self.problem_cost)
            return True
        return False

    # --- leads -----------------------------------------------------------------------------------

    def channel_arrivals(self, channel: Any) -> Generator[simpy.Event, Any, None]:
        """Paid leads of one channel: a Poisson process, each lead its own process."""
        rate = channel.leads_per_month / MONTH_DAYS
        if rate <= 0:
            return
        while True:
            yield self.env.timeout(self.rng.exponential(1.0 / rate))
            if self.env.now >= self.T:
                return
            month = self.month_of(self.env.now)
            self.leads_total += 1
            self.book("leads_paid", month)
            self.book("lead_spend", month, channel.cost_per_lead)
            self.env.process(self.lead(referral=False))

    def lead(self, referral: bool) -> Generator[simpy.Event, Any, None]:
        """One lead: first contact at the sales desk, then the funnel, then perhaps a sale."""
        env = self.env
        arrival = env.now
        month = self.month_of(arrival)

        if self.desk is None:  # contacted the moment it arrives
            self.book("leads_reached", month)
        else:
            req = self.desk.request()
            deadline = math.inf
            if self.patience_days is None:
                yield req
            else:
                deadline = arrival + self.patience_days
                if not req.triggered:
                    yield req | env.timeout(self.patience_days)
                if not req.triggered:  # patience ran out while queueing
                    req.cancel()
                    self.book("leads_lost", month)
                    return
                yield req
            # The lead holds a salesperson; if the desk is closed, the contact starts at the next opening.
            if self.desk_closed(env.now):
                opening = math.floor(env.now) + 1.0
                if opening > deadline:  # would start later than arrival + patience: lost
                    self.desk.release(req)
                    self.book("leads_lost", month)
                    return
                yield env.timeout(opening - env.now)
                start = opening
            else:
                start = env.now
            # Every lead that arrived within the horizon is counted as reached (or lost) in its arrival
            # month, even if that is decided after the horizon; the funnel starts at the contact's end.
            self.book("leads_reached", month)
            self.book("wait_hours_sum", month, (start - arrival) * 24.0)
            desk = self.s.sales_desk
            handling = (
                self.handling_days if desk.handling == "fixed" else self.exponential(self.handling_days)
            )
            yield env.timeout(handling)
            self.desk.release(req)

        conversions = self.referral_conversions if referral else self.paid_conversions
        for stage, p in zip(self.s.funnel, conversions, strict=True):
            if stage.delay_days > 0:
                yield env.timeout(self.rng.exponential(stage.delay_days))
            if env.now >= self.T:
                return  # whatever happens now is past the horizon
            if not self.rng.random() < p:
                return  # drops out

        # The sale.
        sale_month = self.month_of(env.now)
        fp = self.s.first_purchase
        self.book("sales", sale_month)
        self.book("new_customers", sale_month)
        self.book("revenue", sale_month, fp.revenue)
        self.book("margin", sale_month, fp.margin)
        if referral:
            self.book("sales_referral", sale_month)
            self.book("referral_bonus", sale_month, self.s.referrals.bonus)
        self.start_customer(existing=False)

    # --- customers -------------------------------------------------------------------------------

    def start_customer(self, existing: bool) -> None:
        """Adopt the repeat streams and start the customer's lifetime and referral processes."""
        streams = []  # (stream, first age month with a visit)
        for stream in self.s.repeat:
            if self.rng.random() < stream.adoption:
                if existing:  # first visit in an age month drawn uniformly from 1 ... interval
                    first = int(self.rng.integers(1, stream.interval_months + 1))
                else:
                    first = stream.interval_months
                streams.append((stream, first))
        customer = _Customer()
        self.env.process(self.customer(customer, streams, existing))
        if self.referral_rate_per_day > 0:
            self.env.process(self.referrer(customer))

    def customer(
        self, customer: _Customer, streams: list[tuple[Any, int]], existing: bool
    ) -> Generator[simpy.Event, Any, None]:
        """One customer's lifetime: the month-end checks, repeat visits and problems."""
        env = self.env
        # Customers at month 0 bought before month 1: their age month k is calendar month k.
        m0 = -1 if existing else self.month_of(env.now)
        # Problems of the visits in the previous age month (the first purchase is a visit at age 0).
        problems_last_month = 0
        if not existing:
            if self.visit_problem(m0):
                problems_last_month = 1
            self.book("active_customers", m0)  # active at the end of age month 0

        k = 1
        while m0 + k < self.H:
            month = m0 + k
            yield env.timeout((month + 1) * MONTH_DAYS - env.now)  # the end of age month k
            leaves = self.rng.random() < self.churn
            for _ in range(problems_last_month):
                leaves = (self.rng.random() < self.problem_leave) or leaves
            if leaves:
                customer.left_at = env.now
                return
            self.book("active_customers", month)
            problems_last_month = 0
            for stream, first in streams:
                if k >= first and (k - first) % stream.interval_months == 0:
                    self.book("repeat_visits", month)
                    self.book("revenue", month, stream.revenue)
                    self.book("margin", month, stream.margin * self.repeat_margin_factor)
                    if self.visit_problem(month):
                        problems_last_month += 1
            k += 1
        # Past the horizon: nothing more to count; `left_at` stays inf.

    def referrer(self, customer: _Customer) -> Generator[simpy.Event, Any, None]:
        """Referral leads a customer brings while it stays: a Poisson process, each lead its own process."""
        env = self.env
        while True:
            yield env.timeout(self.rng.exponential(1.0 / self.referral_rate_per_day))
            if env.now >= customer.left_at or env.now >= self.T:
                return
            self.leads_total += 1
            self.book("leads_referral", self.month_of(env.now))
            env.process(self.lead(referral=True))

    # --- the run ---------------------------------------------------------------------------------

    def run(self) -> dict[str, np.ndarray | float]:
        for _ in range(self.s.existing_customers.count):
            self.start_customer(existing=True)
        for channel in self.s.channels:
            self.env.process(self.channel_arrivals(channel))
        # Run until nothing is left: leads still queueing at the horizon are resolved (reached or lost),
        # while sales, visits and referrals at or after the horizon are not counted.
        self.env.run()

        out = self.out
        desk = self.s.sales_desk
        out["staff_cost"][:] = desk.staff * desk.salary_per_month if desk else 0.0
        prog = self.s.service_programme
        if prog is not None:
            out["programme_cost"][:] = (
                prog.fixed_cost_per_year / 12
                + prog.contacts_per_month * prog.cost_per_contact * out["active_customers"]
            )
        out["net_cash"][:] = (
            out["margin"]
            - out["lead_spend"]
            - out["referral_bonus"]
            - out["staff_cost"]
            - out["programme_cost"]
            - out["problem_cost"]
        )
        out["cumulative_cash"][:] = np.cumsum(out["net_cash"])
        result: dict[str, Any] = dict(out)
        result["leads_total_processed"] = self.leads_total
        return result


def run_reference(scenario: sim.Scenario, seed: int) -> dict[str, np.ndarray | float]:
    """Simulate `scenario` once, every lead and customer its own SimPy process (docs/model.md).

    Returns monthly float arrays of length `horizon_months` (index 0 = month 1) under the keys of
    `MONTHLY_KEYS`, and `"leads_total_processed"`: the number of leads (paid and referral) that arrived
    within the horizon.
    """
    return _Reference(scenario, seed).run()
