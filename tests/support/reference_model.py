"""Reference model: a deliberately simple SimPy implementation of docs/model.md.

Every lead and every customer is its own SimPy process, and each rule of docs/model.md is written out
once, in the most literal way. The model is slow but easy to check by reading, so it is the oracle
against which the fast engine (`sim/engine/`) is tested statistically, and the baseline of the speed
benchmark. It shares no code and no random streams with the engine (only the scenario model):
`run_reference(scenario, seed)` draws everything from one `numpy.random.default_rng(seed)`, and reads a
planned scenario month by month through `sim.model.plan.months` (month m's lever values as a scenario
without a plan; past the horizon the last month's values hold). A scenario with `[uncertainty]` first
draws its uncertain levers from a generator of their own (`draw_uncertain`) and then runs the drawn
scenario.

Conventions (see docs/model.md):

- The clock is in days; a month is M = 365.25 / 12 days; calendar months are indexed from 0 here
  (index 0 = month 1 of docs/model.md) and the horizon is T = horizon_months * M.
- Which month's values apply (docs/model.md, "Plans over time"): a lead's CPL, quality, funnel
  conversions and delays, handling time (mean), patience, cooling half-life and referral multiplier are
  those of its arrival month, carried through the desk and the funnel whenever those happen; a sale's
  margin and referral bonus those of the sale's month; a visit's revenue and margin (and the programme's
  margin uplift), its problem probability, problem cost and the leaving probability q of its problem
  (applied at the next check) those of the visit's month, the first purchase included; the churn check at
  the end of month m uses month m's churn × programme multiplier (contacts, tolerated contacts and
  maximum reduction of month m: `effective_churn`); referral and paid arrival rates are constant within
  a month; the desk's staff and hours apply by the moment. A customer's adoption of each repeat stream,
  its streams' intervals and (sbg) its Beta(alpha, beta) are those of its purchase month, for life;
  existing customers take month 1's.
- The sales desk is a dispatcher process with its own count of contacts in progress (SimPy's Resource has
  a fixed capacity): it starts the first waiting lead's contact whenever the desk is open and fewer than
  that moment's staff are busy, and is woken when a lead arrives, a contact ends, the desk opens or a
  month begins (staff and hours may change).
- `leads_lost`, `leads_reached` and `wait_hours_sum` are counted in the lead's arrival month; every lead
  that arrives before T is counted as reached or lost, even if that is decided after T.
- Sales, revenue, margin and referral bonus are booked in the month in which the sale or visit happens;
  repeat visits, problems and problem cost in the visit's month.
- The funnel starts when the first contact ends (the salesperson is free again).
- `active_customers` counts the customers active at the end of each month; the churn checks at the end
  of the last month (at time T itself) are still processed (the run goes on until no event is left).
- Existing customers bought before month 1 (purchase month index -1, time 0): their age month k is
  calendar month k, so their first check is at the end of month 1.
- Customers differ (`[retention] model = "sbg"`): each customer, new or existing, draws θ ~ Beta(alpha,
  beta) of its purchase month m₀ once, when it starts (at purchase; existing customers at time 0 with
  month 1's shapes), and fails the check at the end of month m with probability
  min(1, θ × c(m) / E_m₀[θ]), c(m) month m's churn × programme multiplier (the same clipped c(m) a
  constant-churn customer uses), E_m₀[θ] = alpha(m₀) / (alpha(m₀) + beta(m₀)).
- Channels: row i of the `channel_*` arrays is paid channel i, the last row the referral leads.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
import simpy

import sim
from sim.model import plan
from sim.model.levers import all_levers
from sim.model.scenario import SalesDesk

MONTH_DAYS = 365.25 / 12
"""Length of a month, in days."""

TIME_TOLERANCE_DAYS = 1e-9
"""Times this close to a desk event count as that event (floating-point rounding): a contact cannot start
at closing time through rounding, and a wake-up scheduled for a day's start or a month's first moment
counts as that moment (about 0.1 ms)."""

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
    "margin_first_sale",
    "margin_referral_sale",
    "margin_repeat",
    "margin",
    "lead_spend",
    "referral_bonus",
    "staff_cost",
    "programme_cost",
    "problem_cost",
    "net_cash",
    "cumulative_cash",
)
"""Monthly arrays of the output (length horizon_months, index 0 = month 1)."""

CHANNEL_KEYS = (
    "channel_leads",
    "channel_leads_lost",
    "channel_leads_reached",
    "channel_sales",
    "channel_lead_spend",
    "channel_referral_bonus",
    "channel_first_margin",
)
"""Per-channel monthly arrays of the output, shape (paid channels + 1, horizon_months): row i is paid channel
i, the last row the referral leads (docs/model.md, "Channels")."""

REFERRALS = "referrals"
"""Name of the referral leads' channel."""


def stage_conversions(conversions: Sequence[float], multiplier: float) -> list[float]:
    """Per-stage pass probabilities of a lead whose overall conversion is min(1, Π conversions × multiplier).

    The multiplier is applied to the first stage; what the cap at 1 cuts off carries over to the next
    stage, and so on (docs/model.md: referral leads, and a paid channel's lead quality).
    """
    carry = multiplier
    out = []
    for conversion in conversions:
        p = conversion * carry
        if p > 1.0:
            out.append(1.0)
            carry = p  # the part above 1 carries over to the next stage
        else:
            out.append(p)
            carry = 1.0
    return out


def next_change(values: Sequence[float]) -> list[int]:
    """For each month m (0-based), the first later month whose value differs from month m's (len if none)."""
    out = [len(values)] * len(values)
    for m in range(len(values) - 2, -1, -1):
        out[m] = m + 1 if values[m + 1] != values[m] else out[m + 1]
    return out


class _Customer:
    """State shared between a customer's lifetime process and its referral process."""

    __slots__ = ("left_at", "mean_theta", "theta")

    def __init__(self, theta: float | None, mean_theta: float) -> None:
        self.left_at = math.inf
        """Time at which the customer left (end of the month whose check failed); inf while it stays."""
        self.theta = theta
        """Its own θ ~ Beta(alpha(m₀), beta(m₀)) under `model = "sbg"`; None with constant churn."""
        self.mean_theta = mean_theta
        """E_m₀[θ] = alpha(m₀) / (alpha(m₀) + beta(m₀)) of its purchase month m₀ (NaN with constant churn)."""


class _Lead:
    """A lead in the sales desk's queue."""

    __slots__ = ("gone", "turn")

    def __init__(self, turn: simpy.Event) -> None:
        self.turn = turn
        """Succeeds (with the contact's start time) when the dispatcher gives the lead a salesperson."""
        self.gone = False
        """True once the lead's patience ran out: it has left the queue."""


class _Reference:
    def __init__(self, scenario: sim.Scenario, seed: int, trace: bool = False):
        self.s = scenario
        self.contact_starts: list[float] | None = [] if trace else None
        self.rng = np.random.default_rng(seed)
        self.env = simpy.Environment()
        self.H = scenario.horizon_months
        self.T = self.H * MONTH_DAYS
        self.months = plan.months(scenario)  # month m's values (0-based here) as a scenario without a plan
        self.out = {key: np.zeros(self.H) for key in MONTHLY_KEYS}
        self.channels = len(scenario.channels)  # paid channels; index `self.channels` = referral leads
        self.by_channel = {key: np.zeros((self.channels + 1, self.H)) for key in CHANNEL_KEYS}
        self.leads_total = 0
        self.conversion_cache: dict[tuple[int, int], list[float]] = {}

        # Arrival rates are constant within a month; a Poisson process is redrawn only where the rate changes.
        self.paid_rates = [
            [s.channels[i].leads_per_month / MONTH_DAYS for s in self.months] for i in range(self.channels)
        ]
        self.referral_rates = [s.referral_rate_per_year / 365.25 for s in self.months]
        self.paid_changes = [next_change(rates) for rates in self.paid_rates]
        self.referral_changes = next_change(self.referral_rates)
        self.any_referrals = any(rate > 0 for rate in self.referral_rates)  # can a customer ever refer?

        desk = scenario.sales_desk
        if desk:
            self.queue: deque[_Lead] = deque()  # leads waiting for a first contact, in arrival order
            self.in_progress = 0  # contacts in progress
            self.wake_event = self.env.event()
            self.tick_at = math.inf  # time of the earliest wake-up the dispatcher has asked for
            self.env.process(self.dispatcher())

        self.sbg = scenario.retention.model == "sbg"  # alpha and beta: by the purchase month (a cohort's)

    # --- helpers ---------------------------------------------------------------------------------

    def at(self, month: int) -> sim.Scenario:
        """Month `month`'s values (0-based); past the horizon the last month's values hold."""
        return self.months[min(max(month, 0), self.H - 1)]

    def month_of(self, t: float) -> int:
        """0-based calendar month of a time before the horizon."""
        return min(int(t // MONTH_DAYS), self.H - 1)

    def book(self, key: str, month: int, amount: float = 1.0) -> None:
        self.out[key][month] += amount

    def book_channel(self, key: str, channel: int, month: int, amount: float = 1.0) -> None:
        self.by_channel[key][channel, month] += amount

    def exponential(self, mean: float) -> float:
        return float(self.rng.exponential(mean)) if mean > 0 else 0.0

    def churn(self, customer: _Customer, s: sim.Scenario) -> float:
        """The customer's probability of leaving at a month-end check whose month's values are `s`.

        c = monthly churn × the programme's multiplier, clipped to [0, 1] (`effective_churn`); under sbg
        the customer's own min(1, θ × c / E[θ]).
        """
        c = s.effective_churn
        if customer.theta is None:
            return c
        return min(1.0, customer.theta * c / customer.mean_theta)

    def visit_problem(self, month: int) -> float | None:
        """Draw whether a visit (or the first purchase) in `month` has a problem, and book it with that
        month's cost. Returns the problem's probability of making the customer leave at the next check
        (q of the visit's month), or None without a problem."""
        pr = self.at(month).problems
        if (
            pr is not None
            and pr.visit_problem_probability > 0
            and self.rng.random() < pr.visit_problem_probability
        ):
            self.book("problems", month)
            self.book("problem_cost", month, pr.cost_per_problem)
            return pr.leave_probability
        return None

    # --- the sales desk ----------------------------------------------------------------------------

    def desk_month(self, t: float) -> int:
        """0-based month whose staff and hours apply at time t (the last month's past the horizon)."""
        return min(int((t + TIME_TOLERANCE_DAYS) // MONTH_DAYS), self.H - 1)

    def desk_open(self, t: float) -> bool:
        """Whether the desk is open at t: t's time of day < hours_per_day of t's month.

        With fixed handling times a run of contacts from an opening ends exactly at closing time; the
        tolerance keeps rounding from letting a contact start at closing time.
        """
        desk = self.at(self.desk_month(t)).sales_desk
        time_of_day = t - math.floor(t + TIME_TOLERANCE_DAYS)  # days since the day's start (may be -0.0…)
        return time_of_day < desk.hours_per_day / 24.0 - TIME_TOLERANCE_DAYS

    def can_start(self, t: float) -> bool:
        """A contact can start at t if the desk is open and fewer than t's month's staff are in progress."""
        return self.desk_open(t) and self.in_progress < self.at(self.desk_month(t)).sales_desk.staff

    def wake(self) -> None:
        """Wake the dispatcher (a lead arrived, a contact ended, an opening or a month's first moment)."""
        if not self.wake_event.triggered:
            self.wake_event.succeed()

    def wake_at(self, t: float) -> None:
        """Ask for the dispatcher to be woken at time t (unless an earlier wake-up is already due)."""
        if t >= self.tick_at:
            return
        self.tick_at = t
        tick = self.env.timeout(t - self.env.now)
        tick.callbacks.append(lambda _event, t=t: self._tick(t))

    def _tick(self, t: float) -> None:
        if self.tick_at == t:
            self.tick_at = math.inf
        self.wake()

    def dispatcher(self) -> Generator[simpy.Event, Any, None]:
        """First come, first served: give waiting leads a salesperson whenever a contact can start."""
        env = self.env
        queue = self.queue
        while True:
            now = env.now
            while queue and (queue[0].gone or self.can_start(now)):
                lead = queue.popleft()
                if lead.gone:
                    continue  # its patience ran out: it left the queue
                self.in_progress += 1
                lead.turn.succeed(now)
                if self.contact_starts is not None:
                    self.contact_starts.append(now)
            if queue:
                # Someone waits. Without a contact ending, a contact can start next at the next opening
                # (if closed) or at the next month's first moment (staff and hours change).
                m = self.desk_month(now)
                wake = (m + 1) * MONTH_DAYS if m < self.H - 1 else math.inf
                if not self.desk_open(now):
                    wake = min(wake, math.floor(now + TIME_TOLERANCE_DAYS) + 1.0)
                if wake < math.inf:
                    self.wake_at(wake)
            self.wake_event = env.event()
            yield self.wake_event

    def first_contact(self, desk: SalesDesk) -> Generator[simpy.Event, Any, float | None]:
        """Queue at the desk, then hold a salesperson for the handling time; the wait in days (None: lost).

        `desk` holds the lead's arrival month's patience and handling time (mean), whenever it is served.
        """
        env = self.env
        arrival = env.now
        lead = _Lead(env.event())
        self.queue.append(lead)
        self.wake()
        if desk.patience_hours is None:
            start = yield lead.turn
        else:
            yield lead.turn | env.timeout(desk.patience_hours / 24.0)
            if not lead.turn.triggered:  # patience ran out while queueing: it leaves, takes nobody's time
                lead.gone = True
                return None
            start = lead.turn.value
        handling_days = desk.handling_minutes / 1440.0
        handling = handling_days if desk.handling == "fixed" else self.exponential(handling_days)
        yield env.timeout(handling)  # a contact that has started runs to its end, even past closing time
        self.in_progress -= 1
        if self.queue:  # a salesperson is free again: the next waiting lead may start
            self.wake()
        return start - arrival

    # --- leads -----------------------------------------------------------------------------------

    def poisson_arrivals(
        self, rates: Sequence[float], changes: Sequence[int], customer: _Customer | None = None
    ) -> Generator[simpy.Event, Any, float]:
        """Wait for the next arrival of a Poisson process whose rate (per day) is rates[m] within month m.

        `changes[m]` is the first month after m with another rate. Returns the arrival time, or inf if there
        is none before the horizon (or before `customer` leaves, seen where the rate changes). The process is
        memoryless, so where the rate changes (a month's first moment) the wait is drawn anew at the new rate.
        """
        env = self.env
        m = self.month_of(env.now) if env.now < self.T else self.H
        while m < self.H:
            until = changes[m] * MONTH_DAYS  # the rate is rates[m] until then
            if rates[m] > 0:
                gap = self.rng.exponential(1.0 / rates[m])
                if env.now + gap < until:
                    yield env.timeout(gap)
                    return env.now
            yield env.timeout(until - env.now)
            if customer is not None and env.now >= customer.left_at:
                return math.inf
            m = changes[m]
        return math.inf

    def channel_arrivals(self, channel: int) -> Generator[simpy.Event, Any, None]:
        """Paid leads of one channel: a Poisson process at each month's rate, each lead its own process."""
        rates, changes = self.paid_rates[channel], self.paid_changes[channel]
        while True:
            t = yield from self.poisson_arrivals(rates, changes)
            if t >= self.T:
                return
            month = self.month_of(t)
            self.leads_total += 1
            cpl = self.at(month).channels[channel].cost_per_lead  # the arrival month's CPL
            self.book("leads_paid", month)
            self.book("lead_spend", month, cpl)
            self.book_channel("channel_leads", channel, month)
            self.book_channel("channel_lead_spend", channel, month, cpl)
            self.env.process(self.lead(channel))

    def lead_conversions(self, month: int, channel: int) -> list[float]:
        """Per-stage pass probabilities of a lead of `channel` arriving in `month`: that month's conversions
        with its channel's lead quality (paid) or the referral multiplier (referral leads). Cached."""
        key = (month, channel)
        if key not in self.conversion_cache:
            s = self.at(month)
            if channel == self.channels:
                multiplier = s.referrals.conversion_multiplier if s.referrals else 1.0
            else:
                multiplier = s.channels[channel].lead_quality
            self.conversion_cache[key] = stage_conversions(
                [stage.conversion for stage in s.funnel], multiplier
            )
        return self.conversion_cache[key]

    def lead(self, channel: int) -> Generator[simpy.Event, Any, None]:
        """One lead: first contact at the sales desk, then the funnel, then perhaps a sale.

        The lead carries its arrival month's values (handling time, patience, cooling, funnel conversions
        and delays, quality or referral multiplier) through the desk and the funnel, whenever those happen.
        """
        env = self.env
        month = self.month_of(env.now)
        arrived = self.at(month)  # the arrival month's values
        referral = channel == self.channels
        conversions = self.lead_conversions(month, channel)

        if self.s.sales_desk is None:  # contacted the moment it arrives
            self.book("leads_reached", month)
            self.book_channel("channel_leads_reached", channel, month)
        else:
            wait = yield from self.first_contact(arrived.sales_desk)
            # Every lead that arrived within the horizon is counted as reached (or lost) in its arrival
            # month, even if that is decided after the horizon; the funnel starts at the contact's end.
            if wait is None:
                self.book("leads_lost", month)
                self.book_channel("channel_leads_lost", channel, month)
                return
            self.book("leads_reached", month)
            self.book_channel("channel_leads_reached", channel, month)
            self.book("wait_hours_sum", month, wait * 24.0)
            # Cooling: it buys with p × 0.5^(wait / half-life), so it may go cold before the funnel.
            cooling = arrived.sales_desk.cooling_half_life_hours
            if cooling is not None and not self.rng.random() < 0.5 ** (wait * 24.0 / cooling):
                return

        for stage, p in zip(arrived.funnel, conversions, strict=True):
            if stage.delay_days > 0:
                yield env.timeout(self.rng.exponential(stage.delay_days))
            if env.now >= self.T:
                return  # whatever happens now is past the horizon
            if not self.rng.random() < p:
                return  # drops out

        # The sale, with the sale month's first-purchase values.
        sale_month = self.month_of(env.now)
        s = self.at(sale_month)
        fp = s.first_purchase
        self.book("sales", sale_month)
        self.book("new_customers", sale_month)
        self.book("revenue", sale_month, fp.revenue)
        self.book("margin", sale_month, fp.margin)
        self.book_channel("channel_sales", channel, sale_month)
        self.book_channel("channel_first_margin", channel, sale_month, fp.margin)
        if referral:
            self.book("sales_referral", sale_month)
            self.book("margin_referral_sale", sale_month, fp.margin)
            self.book("referral_bonus", sale_month, s.referrals.bonus)
            self.book_channel("channel_referral_bonus", channel, sale_month, s.referrals.bonus)
        else:
            self.book("margin_first_sale", sale_month, fp.margin)
        self.start_customer(existing=False)  # a cohort of the sale's month

    # --- customers -------------------------------------------------------------------------------

    def start_customer(self, existing: bool) -> None:
        """Draw θ (sbg), adopt the repeat streams and start the customer's lifetime and referral processes.

        A cohort effect, fixed for life: θ's Beta(alpha, beta), each stream's adoption and interval are
        those of the purchase month (now; existing customers: month 1's).
        """
        cohort = self.at(0 if existing else self.month_of(self.env.now))  # the purchase month's values
        retention = cohort.retention
        theta, mean_theta = None, math.nan
        if self.sbg:  # once, for its whole life
            theta = float(self.rng.beta(retention.alpha, retention.beta))
            mean_theta = retention.alpha / (retention.alpha + retention.beta)  # E_m0[θ]
        streams = []  # (stream index, interval, first age month with a visit)
        for j, stream in enumerate(cohort.repeat):
            if self.rng.random() < stream.adoption:
                if existing:  # first visit in an age month drawn uniformly from 1 ... interval
                    first = int(self.rng.integers(1, stream.interval_months + 1))
                else:
                    first = stream.interval_months
                streams.append((j, stream.interval_months, first))
        customer = _Customer(theta, mean_theta)
        self.env.process(self.customer(customer, streams, existing))
        if self.any_referrals:
            self.env.process(self.referrer(customer))

    def customer(
        self, customer: _Customer, streams: list[tuple[int, int, int]], existing: bool
    ) -> Generator[simpy.Event, Any, None]:
        """One customer's lifetime: the month-end checks, repeat visits and problems."""
        env = self.env
        # Customers at month 0 bought before month 1: their age month k is calendar month k.
        m0 = -1 if existing else self.month_of(env.now)
        # Problems of the visits in the previous age month (the first purchase is a visit at age 0): each
        # its leaving probability q of its visit's month, applied at the next check.
        problems_last_month: list[float] = []
        if not existing:
            q = self.visit_problem(m0)
            if q is not None:
                problems_last_month.append(q)
            self.book("active_customers", m0)  # active at the end of age month 0

        k = 1
        while m0 + k < self.H:
            month = m0 + k
            yield env.timeout((month + 1) * MONTH_DAYS - env.now)  # the end of age month k
            s = self.at(month)  # the check at the end of calendar month `month` uses that month's churn
            leaves = self.rng.random() < self.churn(customer, s)
            for q in problems_last_month:
                leaves = (self.rng.random() < q) or leaves
            if leaves:
                customer.left_at = env.now
                return
            self.book("active_customers", month)
            problems_last_month = []
            for j, interval, first in streams:
                if k >= first and (k - first) % interval == 0:  # a visit due now: it happens
                    stream = s.repeat[j]  # the visit month's revenue, margin and margin uplift
                    self.book("repeat_visits", month)
                    self.book("revenue", month, stream.revenue)
                    margin = stream.margin * s.repeat_margin_factor
                    self.book("margin", month, margin)
                    self.book("margin_repeat", month, margin)
                    q = self.visit_problem(month)
                    if q is not None:
                        problems_last_month.append(q)
            k += 1
        # Past the horizon: nothing more to count; `left_at` stays inf.

    def referrer(self, customer: _Customer) -> Generator[simpy.Event, Any, None]:
        """Referral leads a customer brings while it stays: a Poisson process at each month's rate, each lead
        its own process."""
        while True:
            t = yield from self.poisson_arrivals(self.referral_rates, self.referral_changes, customer)
            if t >= customer.left_at or t >= self.T:
                return
            month = self.month_of(t)
            self.leads_total += 1
            self.book("leads_referral", month)
            self.book_channel("channel_leads", self.channels, month)
            self.env.process(self.lead(self.channels))

    # --- the run ---------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        for _ in range(self.s.existing_customers.count):
            self.start_customer(existing=True)
        for channel in range(self.channels):
            self.env.process(self.channel_arrivals(channel))
        # Run until nothing is left: leads still queueing at the horizon are resolved (reached or lost),
        # while sales, visits and referrals at or after the horizon are not counted.
        self.env.run()

        out = self.out
        for m in range(self.H):
            s = self.at(m)
            desk = s.sales_desk
            out["staff_cost"][m] = desk.staff * desk.salary_per_month if desk else 0.0  # month m's staff
            prog = s.service_programme
            if prog is not None:  # month m's fixed cost and contacts, for the customers active at its end
                out["programme_cost"][m] = (
                    prog.fixed_cost_per_year / 12
                    + prog.contacts_per_month * prog.cost_per_contact * out["active_customers"][m]
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
        result.update(self.by_channel)
        result["channel_names"] = (*(c.name for c in self.s.channels), REFERRALS)
        result["leads_total_processed"] = self.leads_total
        if self.contact_starts is not None:
            result["contact_starts"] = np.array(self.contact_starts)
        return result


UNCERTAINTY_STREAM = 1
"""The uncertain levers' generator is `default_rng([seed, UNCERTAINTY_STREAM])`, apart from the run's own
`default_rng(seed)`."""


def draw_uncertain(scenario: sim.Scenario, seed: int) -> dict[str, float | int]:
    """One draw of every lever of `[uncertainty]` (docs/model.md, "What is not known"), in file order.

    `{low, high}` is uniform, `{low, mode, high}` triangular (numpy's `triangular`); a whole-number lever
    (the lever catalogue's `integer`, e.g. staff) takes the rounded draw, kept within [low, high].
    """
    rng = np.random.default_rng([seed, UNCERTAINTY_STREAM])
    integer = {lever.path: lever.integer for lever in all_levers(scenario)}
    out: dict[str, float | int] = {}
    for path, r in scenario.uncertainty:
        if r.mode is None:
            x = float(rng.uniform(r.low, r.high))
        else:
            x = float(rng.triangular(r.low, r.mode, r.high))
        out[path] = min(max(round(x), math.ceil(r.low)), math.floor(r.high)) if integer[path] else x
    return out


def run_reference(scenario: sim.Scenario, seed: int, trace: bool = False) -> dict[str, Any]:
    """Simulate `scenario` once, every lead and customer its own SimPy process (docs/model.md).

    Returns monthly float arrays of length `horizon_months` (index 0 = month 1) under the keys of
    `MONTHLY_KEYS`; per-channel monthly arrays of shape (paid channels + 1, horizon_months) under the keys
    of `CHANNEL_KEYS` (the last row the referral leads), their row names under `"channel_names"`;
    `"leads_total_processed"`: the number of leads (paid and referral) that arrived within the horizon;
    and `"drawn"`: the values drawn for the levers of `[uncertainty]` (empty without it). With uncertainty
    the run is that of the drawn scenario (`Scenario.override` with the drawn values, a planned lever
    moving as a whole, and no `[uncertainty]` left). With `trace`, also `"contact_starts"`: the start time
    (days) of every first contact at the desk, in the order they started.
    """
    drawn = draw_uncertain(scenario, seed) if scenario.uncertainty else {}
    if drawn:
        scenario = scenario.override({**drawn, "uncertainty": {}})
    result = _Reference(scenario, seed, trace).run()
    result["drawn"] = drawn
    return result


def cohort_survival(scenario: sim.Scenario, customers: int, seed: int, existing: bool = False) -> np.ndarray:
    """The share of a cohort still active at the end of each age month k (index k), by the customer
    process alone: `customers` customers start at time 0 (new: bought at time 0, age month k = calendar
    month k + 1; existing: age month k = calendar month k), no leads arrive. Index 0 is 1; the last index is
    the horizon's last month. Without problems this is the cohort's churn survival S(k) (a programme and
    a plan scale c(m) as in a run).
    """
    if scenario.referrals is not None:
        raise ValueError("cohort_survival: referrals would bring new customers into the cohort")
    ref = _Reference(scenario, seed)
    for _ in range(customers):
        ref.start_customer(existing)
    ref.env.run()
    active = ref.out["active_customers"] / customers
    return np.concatenate(([1.0], active)) if existing else active
