"""Drawing one batch of customers' whole futures (adopted streams, churn, visits, problems) from the
exact per-age tables of `sim.accounting.lifetimes`, booked into the monthly ledger (docs/model.md).

With a plan (docs/model.md, "Plans over time") every age month of a customer is booked with its calendar
month's values: the churn at the check at the end of calendar month m is c(m) (a period effect, with the
programme's multiplier of month m), a repeat visit's margin and revenue are those of the visit's month, and
a visit (the first purchase included) in month m has a problem with p(m), which costs cost(m) in month m and
makes the customer leave at the check at the end of the next age month with q(m). What a customer keeps for
life comes from its purchase month m0 (a cohort effect): the streams' intervals and adoptions and, when
customers differ, θ ~ Beta(alpha(m0), beta(m0)); the existing customers take month 1's
(`sim.accounting.lifetimes.cohort_tables`). Past the horizon the last month's values hold (the expected
remainder of each customer's LTV, on its cohort's streams and θ).

When customers differ (`[retention] model = "sbg"`, docs/model.md "Customers differ") each customer, new or
existing, draws its own θ from its cohort's Beta once, and its check at the end of calendar month m fails
with probability min(1, θ c(m) / E_{m0}[θ]); its expected remainder after the horizon is its own θ's
(`sim.accounting.lifetimes.remaining_given_theta`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.accounting.lifetimes import (
    ChurnMixture,
    LifetimeTables,
    MonthValues,
    cohort_ages,
    cohort_scenario,
    cohort_tables,
    remaining_given_theta,
)
from sim.model.calendar import MONTH_DAYS
from sim.model.scenario import Scenario

_NEVER = np.iinfo(np.int64).max
"""A check that never fails (within any horizon)."""


@dataclass
class CustomerDetail:
    """What each customer of a batch did, for the event log (`draw_batch(..., detail=True)`)."""

    month0: int
    """Calendar month (0-based) of the purchase; -1: customers there before month 1."""
    adopted: np.ndarray
    """Which repeat streams each customer adopted, bool, shape (n, streams)."""
    intervals: np.ndarray
    """Each stream's interval in months for this batch (its purchase month's, for life), shape (streams,)."""
    offset: np.ndarray | None
    """Existing customers: the age month of each stream's first visit (1 … interval), shape (n, streams);
    None for new customers (their visits fall due at ages interval, 2 × interval, …)."""
    alive: np.ndarray
    """There at the end of age month k = 0 … A (A: the last age month within the horizon), bool,
    shape (n, A + 1)."""
    month: np.ndarray
    """Calendar month (0-based) of each age month 0 … A, shape (A + 1,) (an existing customer's age 0, before
    month 1, shows as month 0 and has no visit)."""
    repeat_margin: np.ndarray
    """Margin of one visit of each stream in each age month, as booked (its calendar month's, with the
    programme's uplift), in currency, shape (A + 1, streams)."""
    repeat_revenue: np.ndarray
    """Revenue of one visit of each stream in each age month, in currency, shape (A + 1, streams)."""

    def visits(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The repeat visits that happen within the horizon (those the ledger books): (customer in the batch,
        age month, stream), by stream, then customer, then age."""
        k = np.arange(self.alive.shape[1])
        who, age, stream = [], [], []
        for j, interval in enumerate(self.intervals.tolist()):
            if self.offset is None:
                due = (k >= 1) & (k % interval == 0)
                happen = self.adopted[:, j : j + 1] & due[None, :] & self.alive
            else:
                first = self.offset[:, j : j + 1]
                due = (k[None, :] >= first) & ((k[None, :] - first) % interval == 0)
                happen = self.adopted[:, j : j + 1] & due & self.alive
            i, a = np.nonzero(happen)
            who.append(i)
            age.append(a)
            stream.append(np.full(i.size, j, dtype=np.int64))
        if not who:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        return np.concatenate(who), np.concatenate(age), np.concatenate(stream)


@dataclass
class CustomerBatch:
    """What a batch of customers bought in one calendar month brings, month by month."""

    stay_until: np.ndarray
    """Per customer: time it leaves (end of the age month whose check fails), in days; inf if never
    within the horizon (beyond it nothing is counted)."""
    ltv: np.ndarray
    """Per new customer: realised discounted net margin (margin − cost to serve) within the horizon +
    expected remainder after it, discounted to the purchase, in currency (empty for existing customers)."""
    ltv_gross: np.ndarray
    """Per new customer: the same for the margin alone (no cost to serve)."""
    detail: CustomerDetail | None = None
    """Each customer's adopted streams, visit phases and months there (`draw_batch(..., detail=True)`)."""


def draw_batch(
    scenario: Scenario,
    tables: LifetimeTables,
    n: int,
    month0: int,
    ledger: dict[str, np.ndarray],
    rng_adopt: np.random.Generator,
    rng_life: np.random.Generator,
    rng_problems: np.random.Generator,
    rng_existing: np.random.Generator | None = None,
    detail: bool = False,
) -> CustomerBatch:
    """Draw the whole future of `n` customers who bought in calendar month `month0` (0-based) and book
    their repeat visits, problems and active months into `ledger` (monthly arrays, 0-based months).

    `tables` are the scenario's `lifetime_tables(scenario)` (its `calendar` gives the plan's values by
    month); the batch's own cohort tables (`cohort_tables(scenario, tables, month0)`: the purchase month's
    intervals, adoptions and θ, the remainders past the horizon) are taken from it, cached there. With
    `rng_existing`, the customers are the ones at month 0 (pass `month0=-1`; month 1's cohort levers): no
    first purchase, visit phases drawn.

    Random draws, in order: adoption (`rng_adopt`, n × streams uniforms), visit phases of existing customers
    (`rng_existing`), problems (`rng_problems`, binomials: with p and q of each visit's calendar month;
    scalars when the batch's months share them, as without a plan), churn (`rng_life`). The first failing
    churn check is geometric when the churn is the same at every check within the horizon (always without a
    plan: the draws of a scenario without a plan are those the engine always made); with a churn that changes
    over the cohort's months it is drawn exactly by inverse CDF, one uniform u ∈ (0, 1] per customer: the
    first age month k whose survival Π_{i≤k} (1 − c(month0 + i)) is below u. When customers differ (sbg)
    `rng_life` first draws each customer's θ (n Beta variates of the cohort's alpha and beta), then one
    uniform u per customer: the same inverse CDF with the customer's own churn
    min(1, θ c(m) / E_{m0}[θ]).

    With `detail`, the batch also returns each customer's adopted streams, visit phases and the months it is
    there (`CustomerBatch.detail`, for the event log); the draws are the same.

    Per-customer LTV: the realised discounted margin, minus the realised cost to serve (the programme's
    contacts for each month active at its end, the cost of each problem at a visit that happened, at its
    month's cost), within the horizon, plus — for a customer still there at its end — the expected
    remainder of its cohort's tables on the last month's values (`remaining_ltv` at the age reached; when
    customers differ, the remainder given the customer's own θ). Its mean is `cohort_ltv`'s value.
    """
    H = ledger["margin_repeat"].shape[0]
    A = H - 1 - month0  # last age month inside the horizon
    existing = rng_existing is not None
    J = len(scenario.repeat)
    if tables.calendar.churn.shape[0] != H:
        raise ValueError(
            f"tables of a {tables.calendar.churn.shape[0]}-month horizon for a ledger of {H} months"
        )
    planned = scenario.planned
    # The cohort's intervals, adoptions and θ (its purchase month's, for life; the existing customers'
    # month 1's), and its tables on the last month's values (its remainder past the horizon).
    own = cohort_tables(scenario, tables, month0)
    values = own.calendar
    # Calendar month of each age month 0 … A (an existing customer's age 0 is before month 1: never booked).
    month = np.maximum(month0 + np.arange(A + 1), 0)
    adopted = rng_adopt.random((n, J)) < own.adoption[None, :]
    offset = None
    if existing:
        visits, margin, revenue, offset = _existing_rows(
            cohort_scenario(scenario, month0),
            adopted,
            A,
            rng_existing,
            values.repeat_margin[month],
            values.repeat_revenue[month],
        )
        row = None
    else:
        row = own.row_of_code[adopted @ own.code_bits] if J else np.zeros(n, np.int64)
        visits = own.visits[row, : A + 1]
        if planned:
            rows = cohort_ages(scenario, tables, month0, A + 1)  # the plan's values of each age's month
            margin = rows.margin[row]  # k = 0 holds the first purchase of month0 (booked at the sale)
            revenue = rows.revenue[row]
        else:
            margin = tables.margin[row, : A + 1]  # k = 0 holds the first purchase (booked at the sale)
            revenue = tables.revenue[row, : A + 1]

    # Problems: the first purchase counts as a visit at age 0 for new customers. A visit in calendar month
    # m has a problem with p(m), costs cost(m) and makes the customer leave with q(m); without a plan (or
    # the same values in every month of this batch) the scalars, as the engine always drew them.
    pr = scenario.problems
    p, q, cost_per_problem = _problem_values(scenario, values, month)
    if pr is not None and np.max(p) > 0:
        problem_visits = visits.astype(np.int64)
        if not existing:
            problem_visits[:, 0] += 1
        problems = rng_problems.binomial(problem_visits, p)
        leaves = rng_problems.binomial(problems, q) > 0
        # a problem in age month j makes the customer leave at the check at the end of month j + 1
        problem_fail = np.where(leaves.any(axis=1), leaves.argmax(axis=1) + 1, _NEVER)
    else:
        problems = None
        problem_fail = np.full(n, _NEVER)

    # Churn checks at the ends of age months 1, 2, …: the age month of the first failing one.
    theta = None
    if values.mixture is None:
        checks = values.churn[month0 + 1 :] if planned else None  # churn at the checks of ages 1 … A
        churn_fail = _churn_fail(scenario, checks, values.churn[-1], n, A, rng_life)
    else:
        theta, churn_fail = _sbg_churn_fail(values.mixture, month0, n, A, rng_life)
    first_fail = np.minimum(churn_fail, problem_fail)  # age month whose check fails
    passed = np.minimum(first_fail - 1, A)  # checks passed within the horizon (A = alive at its end)
    alive = np.arange(A + 1)[None, :] <= passed[:, None]  # there at the end of age month k

    lo = max(0, -month0) if existing else 1  # new customers' age 0 (the purchase) is booked at the sale
    seg = slice(month0 + lo, month0 + A + 1)
    if J:  # without repeat streams nothing to book (age 0, the first purchase, is booked at the sale)
        ledger["repeat_visits"][seg] += (visits * alive).sum(axis=0)[lo:]
        ledger["margin_repeat"][seg] += (margin * alive).sum(axis=0)[lo:]
        ledger["revenue"][seg] += (revenue * alive).sum(axis=0)[lo:]
    ledger["active_customers"][month0 + max(0, -month0) : month0 + A + 1] += alive.sum(axis=0)[
        max(0, -month0) :
    ]
    happened = None
    if problems is not None:
        # A problem is counted if its visit happened: the first purchase always, others only if alive.
        happened = alive.copy()
        if not existing:
            happened[:, 0] = True
        lo_p = max(0, -month0)
        n_problems = (problems * happened).sum(axis=0)[lo_p:]
        seg_p = slice(month0 + lo_p, month0 + A + 1)
        ledger["problems"][seg_p] += n_problems
        ledger["problem_cost"][seg_p] += n_problems * (
            cost_per_problem if np.ndim(cost_per_problem) == 0 else cost_per_problem[0, lo_p:]
        )

    month_days = MONTH_DAYS
    stay_until = np.where(first_fail <= A, (month0 + np.minimum(first_fail, A + 1) + 1) * month_days, np.inf)
    about = None
    if detail:
        streams = cohort_scenario(scenario, month0).repeat  # the cohort's intervals, for life
        about = CustomerDetail(
            month0=month0,
            adopted=adopted,
            intervals=np.array([r.interval_months for r in streams], dtype=np.int64),
            offset=offset,
            alive=alive,
            month=month,
            repeat_margin=values.repeat_margin[month],
            repeat_revenue=values.repeat_revenue[month],
        )

    if existing:
        return CustomerBatch(stay_until=stay_until, ltv=np.zeros(0), ltv_gross=np.zeros(0), detail=about)
    disc = tables.discount[None, : A + 1]
    there = passed >= A  # still there at the horizon's end: the expected remainder follows
    realised = ((margin * alive) * disc).sum(axis=1)
    if theta is None:  # the remainder of the cohort's own streams on the last month's values
        rest_net, rest_gross = own.remaining_ltv[row, A], own.remaining_ltv_gross[row, A]
    else:  # each customer still there at the horizon's end: the remainder given its own θ
        rest_net, rest_gross = np.zeros(n), np.zeros(n)
        rest_net[there], rest_gross[there] = remaining_given_theta(own, row[there], A, theta[there])
    ltv_gross = realised + np.where(there, rest_gross, 0.0)
    cost = values.contact_cost[month][None, :] * alive
    if problems is not None:
        cost = cost + cost_per_problem * (problems * happened)
    own_net = realised - (cost * disc).sum(axis=1)
    ltv = own_net + np.where(there, rest_net, 0.0)
    return CustomerBatch(stay_until=stay_until, ltv=ltv, ltv_gross=ltv_gross, detail=about)


def _problem_values(
    scenario: Scenario, values: MonthValues, month: np.ndarray
) -> tuple[float | np.ndarray, float | np.ndarray, float | np.ndarray]:
    """(p, q, cost) of a problem at a visit in each age month, whose calendar months are `month`: the
    scenario's floats without a plan, one float each when the batch's months share them, else arrays of
    shape (1, ages) by the visit's calendar month (0s without problems)."""
    pr = scenario.problems
    if pr is None:
        return 0.0, 0.0, 0.0
    if not scenario.planned:
        return pr.visit_problem_probability, pr.leave_probability, pr.cost_per_problem
    out = []
    for by_month in (values.problem_p, values.problem_leave, values.problem_cost):
        x = by_month[month]
        out.append(float(x[0]) if np.all(x == x[0]) else x[None, :])
    return out[0], out[1], out[2]


def _sbg_churn_fail(
    mix: ChurnMixture, month0: int, n: int, A: int, rng_life: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(θ of each customer, age month of its first failing churn check) when customers differ: θ ~
    Beta(alpha, beta) (n draws from `rng_life`), then one uniform u ∈ (0, 1] per customer (`rng_life`), and
    the checks passed are the ages k ≤ A whose survival Π_{i≤k} (1 − min(1, θ s(month0 + i))) is at least
    u (exact inverse CDF; `_NEVER`: none fails within the horizon)."""
    theta = rng_life.beta(mix.alpha, mix.beta, n)
    u = 1.0 - rng_life.random(n)
    if A == 0:
        return theta, np.full(n, _NEVER)
    scale = mix.scale[month0 + 1 : month0 + 1 + A]  # the checks at the ends of ages 1 … A
    log_u = np.log(u)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if np.all(scale == scale[0]):
            # one churn per customer: S(k) = (1 − c)^k >= u for k up to log u / log(1 − c)
            log_stay = np.log1p(-np.minimum(1.0, theta * scale[0]))
            ratio = np.where(log_stay < 0, log_u / log_stay, np.inf)
            passed = np.floor(np.minimum(ratio, A)).astype(np.int64)
        else:
            log_stay = np.log1p(-np.minimum(1.0, np.multiply.outer(theta, scale)))  # (n, A)
            passed = (np.cumsum(log_stay, axis=1) >= log_u[:, None]).sum(axis=1)
    return theta, np.where(passed < A, passed + 1, _NEVER)


def _churn_fail(
    scenario: Scenario, churn: np.ndarray | None, last: float, n: int, A: int, rng_life: np.random.Generator
) -> np.ndarray:
    """Age month of each customer's first failing churn check (a geometric draw may give one past the
    horizon; `_NEVER`: none within it — beyond it nothing is counted). `churn`: the churn at the checks at
    the ends of age months 1 … A (None: the scenario's, the same at every check); `last`: the last
    month's churn, which holds past the horizon."""
    if churn is None or churn.size == 0 or np.all(churn == churn[0]):
        c = scenario.effective_churn if churn is None else float(churn[0] if churn.size else last)
        return rng_life.geometric(c, n) if c > 0 else np.full(n, _NEVER)
    # Inverse CDF: P(first failure > k) = S(k) = Π_{i≤k} (1 − c_i); with u ∈ (0, 1], the checks passed are
    # the k with S(k) ≥ u (a prefix, S falls), and the first failing check is the next one.
    survival = np.cumprod(1.0 - churn)
    u = 1.0 - rng_life.random(n)
    passed = np.searchsorted(-survival, -u, side="right")
    return np.where(passed < A, passed + 1, _NEVER)


def _existing_rows(
    scenario: Scenario,
    adopted: np.ndarray,
    A: int,
    rng_existing: np.random.Generator,
    repeat_margin: np.ndarray,
    repeat_revenue: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Visits, margin and revenue by age month of customers at month 0, with random visit phases, and the
    phases (each stream's first visit age, 1 … interval, shape (n, streams)). `repeat_margin`,
    `repeat_revenue`: a visit's margin (with the programme's uplift) and revenue of each stream in each age
    month's calendar month, shape (A + 1, streams)."""
    n = adopted.shape[0]
    k = np.arange(A + 1)
    iv = np.array([s.interval_months for s in scenario.repeat], dtype=np.int64)
    offset = (rng_existing.random((n, iv.size)) * iv[None, :]).astype(np.int64) + 1
    visits = np.zeros((n, A + 1))
    margin = np.zeros((n, A + 1))
    revenue = np.zeros((n, A + 1))
    for j, s in enumerate(scenario.repeat):
        due = (
            adopted[:, j : j + 1]
            & (k[None, :] >= offset[:, j : j + 1])
            & ((k[None, :] - offset[:, j : j + 1]) % s.interval_months == 0)
        )
        visits += due
        margin += due * repeat_margin[None, :, j]
        revenue += due * repeat_revenue[None, :, j]
    return visits, margin, revenue, offset
