"""Drawing one batch of customers' whole futures (adopted streams, churn, visits, problems) from the
exact per-age tables of `sim.accounting.lifetimes`, booked into the monthly ledger (docs/model.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.accounting.lifetimes import LifetimeTables
from sim.model.calendar import MONTH_DAYS
from sim.model.scenario import Scenario


@dataclass
class CustomerBatch:
    """What a batch of customers bought in one calendar month brings, month by month."""

    stay_until: np.ndarray
    """Per customer: time it leaves (end of the age month whose check fails), in days; inf if never
    within the horizon (beyond it nothing is counted)."""
    ltv: np.ndarray
    """Per customer: realised discounted margin within the horizon + expected remainder after it."""


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
) -> CustomerBatch:
    """Draw the whole future of `n` customers who bought in calendar month `month0` (0-based) and book
    their repeat visits, problems and active months into `ledger` (monthly arrays, 0-based months).

    With `rng_existing`, the customers are the ones at month 0 (pass `month0=-1`): no first purchase,
    visit phases drawn.
    """
    H = ledger["margin_repeat"].shape[0]
    A = H - 1 - month0  # last age month inside the horizon
    existing = rng_existing is not None
    J = len(scenario.repeat)
    adopted = rng_adopt.random((n, J)) < tables.adoption[None, :]
    if existing:
        visits, margin, revenue = _existing_rows(scenario, adopted, A, rng_existing)
        row = None
    else:
        row = tables.row_of_code[adopted @ tables.code_bits] if J else np.zeros(n, np.int64)
        visits = tables.visits[row, : A + 1]
        margin = tables.margin[row, : A + 1]  # k = 0 holds the first purchase (booked at the sale)
        revenue = tables.revenue[row, : A + 1]

    # Problems: the first purchase counts as a visit at age 0 for new customers.
    pr = scenario.problems
    if pr is not None and pr.visit_problem_probability > 0:
        problem_visits = visits.astype(np.int64)
        if not existing:
            problem_visits[:, 0] += 1
        problems = rng_problems.binomial(problem_visits, pr.visit_problem_probability)
        leaves = rng_problems.binomial(problems, pr.leave_probability) > 0
        # a problem in age month j makes the customer leave at the check at the end of month j + 1
        problem_fail = np.where(leaves.any(axis=1), leaves.argmax(axis=1) + 1, np.iinfo(np.int64).max)
    else:
        problems = None
        problem_fail = np.full(n, np.iinfo(np.int64).max)

    # Churn checks at the ends of age months 1, 2, …: the first failing one is geometric.
    c = scenario.effective_churn
    churn_fail = rng_life.geometric(c, n) if c > 0 else np.full(n, np.iinfo(np.int64).max)
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
    if problems is not None:
        # A problem is counted if its visit happened: the first purchase always, others only if alive.
        happened = alive.copy()
        if not existing:
            happened[:, 0] = True
        lo_p = max(0, -month0)
        n_problems = (problems * happened).sum(axis=0)[lo_p:]
        seg_p = slice(month0 + lo_p, month0 + A + 1)
        ledger["problems"][seg_p] += n_problems
        ledger["problem_cost"][seg_p] += n_problems * pr.cost_per_problem

    month = MONTH_DAYS
    stay_until = np.where(first_fail <= A, (month0 + np.minimum(first_fail, A + 1) + 1) * month, np.inf)

    if existing:
        ltv = np.zeros(0)
    else:
        own = ((margin * alive) * tables.discount[None, : A + 1]).sum(axis=1)
        ltv = own + np.where(passed >= A, tables.remaining_ltv[row, A], 0.0)
    return CustomerBatch(stay_until=stay_until, ltv=ltv)


def _existing_rows(
    scenario: Scenario, adopted: np.ndarray, A: int, rng_existing: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Visits, margin and revenue by age month of customers at month 0, with random visit phases."""
    n = adopted.shape[0]
    k = np.arange(A + 1)
    iv = np.array([s.interval_months for s in scenario.repeat], dtype=np.int64)
    offset = (rng_existing.random((n, iv.size)) * iv[None, :]).astype(np.int64) + 1
    visits = np.zeros((n, A + 1))
    margin = np.zeros((n, A + 1))
    revenue = np.zeros((n, A + 1))
    factor = scenario.repeat_margin_factor
    for j, s in enumerate(scenario.repeat):
        due = (
            adopted[:, j : j + 1]
            & (k[None, :] >= offset[:, j : j + 1])
            & ((k[None, :] - offset[:, j : j + 1]) % s.interval_months == 0)
        )
        visits += due
        margin += due * (s.margin * factor)
        revenue += due * s.revenue
    return visits, margin, revenue
