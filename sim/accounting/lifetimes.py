"""A customer's expected life by age month: survival, visits, margin, cost to serve, LTV and payback (exact
tables).

Everything here follows docs/model.md (churn checks at month ends, visits only if the customer is
still there at the month's end, problems raising the leave probability at the next check). The tables
are exact expectations; the engine draws futures and books them into monthly bins; the expected-value
model and the KPIs (LTV, payback) use the tables.

**LTV convention** (docs/model.md, "Cash and KPIs"). A new customer's LTV is its expected discounted margin
over its whole life, first purchase included, minus the **cost to serve** it:

- the programme's contacts, `contacts_per_month × cost_per_contact` for each month the customer is active
  at the month's end (its purchase month, age 0, included: it is always active at the end of it);
- its problems, `cost_per_problem × visit_problem_probability` for each visit that happens, the first
  purchase included (a visit due in age month k ≥ 1 happens only if the customer is there at its end).

Both are costs of age month k "if the customer is there at the end of month k", like the visits' margin,
so the net flow of age month k is (margin − cost) × v^k × S(k) with S the survival and v the monthly
discount factor. The programme's fixed cost is no customer's cost and is left out. `ltv_gross` is the same
without the cost to serve.

**Plans over time.** With a plan, age month k of a customer who buys in calendar month m₀ (0-based) uses the
values of calendar month m₀ + k (churn at the check at its end, repeat margins and revenues, the
programme's contacts and cost per contact; the first purchase's margin of month m₀); past the horizon the
last month's values hold. `lifetime_tables(sc, month0)` holds the tables of such a cohort; `lifetime_tables(
sc)` is the cohort that buys in month 1 (month0 = 0), the customer payback is measured on, and its
`final` the tables of a customer living on the last month's values throughout (the cohort of the last
month, which is also what any customer sees past the horizon: the engine's remainders after the horizon).
`cohort_ltv(sc)` gives the LTV of every cohort of the horizon.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from sim.model import plan
from sim.model.calendar import monthly_discount
from sim.model.scenario import Scenario

TABLE_MONTHS = 600
"""Age months covered by the tables (50 years): past it a geometric tail closes the LTV sum exactly; a
payback later than that counts as never."""

_ONE = 1.0 - 1e-15
"""A tail's period factor rho at or above this is 1: the sum past the table diverges."""


@dataclass(frozen=True)
class MonthValues:
    """A scenario's customer-life values by calendar month 0 … H-1 (0-based; past the horizon the last
    month's values hold). Without a plan every row is the same."""

    churn: np.ndarray
    """Churn at the check at the end of each month, with the programme's multiplier at that month's
    contacts (`effective_churn`), shape (H,)."""
    repeat_margin: np.ndarray
    """Margin of one visit of each stream in the month, with the programme's margin uplift, (H, streams)."""
    repeat_revenue: np.ndarray
    """Revenue of one visit of each stream in the month, (H, streams)."""
    first_margin: np.ndarray
    """First-purchase margin of a sale in the month, (H,)."""
    first_revenue: np.ndarray
    """First-purchase revenue of a sale in the month, (H,)."""
    contact_cost: np.ndarray
    """Programme contacts × cost per contact: the cost of one customer active at the month's end, (H,)."""
    problem_probability: float
    """Probability that a visit (or the first purchase) has a problem (not plannable)."""
    cost_per_problem: float
    """Cost of one problem, in currency (not plannable)."""
    keep: float
    """Probability that one visit does not make the customer leave through a problem, 1 − p·q."""


def month_values(scenario: Scenario) -> MonthValues:
    """The customer-life values of each month of the horizon (`sim.model.plan.months`)."""
    months = plan.months(scenario)
    H = len(months)
    if not scenario.planned:
        months = months[:1]  # the same values every month: read once, repeated below
    J = len(scenario.repeat)
    pr = scenario.problems

    def contact_cost(s: Scenario) -> float:
        prog = s.service_programme
        return prog.contacts_per_month * prog.cost_per_contact if prog is not None else 0.0

    n = len(months)

    def by_month(rows: list) -> np.ndarray:
        x = np.array(rows, dtype=float)
        return np.broadcast_to(x, (H, *x.shape[1:])).copy() if n < H else x

    return MonthValues(
        churn=by_month([s.effective_churn for s in months]),
        repeat_margin=by_month(
            [[r.margin * s.repeat_margin_factor for r in s.repeat] for s in months]
        ).reshape(H, J),
        repeat_revenue=by_month([[r.revenue for r in s.repeat] for s in months]).reshape(H, J),
        first_margin=by_month([s.first_purchase.margin for s in months]),
        first_revenue=by_month([s.first_purchase.revenue for s in months]),
        contact_cost=by_month([contact_cost(s) for s in months]),
        problem_probability=pr.visit_problem_probability if pr is not None else 0.0,
        cost_per_problem=pr.cost_per_problem if pr is not None else 0.0,
        keep=problem_leave_factor(scenario),
    )


@dataclass(frozen=True)
class LifetimeTables:
    """Expected life of a new customer by age month k = 0 … TABLE_MONTHS-1 (k = 0: purchase month), for a
    customer who buys in calendar month `month0` (see the module's docstring for plans).

    Mixed over the adoption patterns (which repeat streams a customer uses). Flows of age month k
    (`margin`, `revenue`, `cost`, `visits`) are those of a customer still there at the end of month k.
    """

    survival: np.ndarray
    """P(still there at the end of age month k), per pattern: shape (patterns, K)."""
    pattern_prob: np.ndarray
    """Probability of each adoption pattern, shape (patterns,)."""
    pattern_streams: np.ndarray
    """Which streams each pattern uses, bool, shape (patterns, streams)."""
    visits: np.ndarray
    """Visits due in age month k for each pattern (k = 0: the first purchase not included), (patterns, K)."""
    margin: np.ndarray
    """Margin due in age month k per pattern (k = 0: first purchase), (patterns, K), in currency."""
    revenue: np.ndarray
    """Revenue due in age month k per pattern (k = 0: first purchase), (patterns, K), in currency."""
    cost: np.ndarray
    """Expected cost to serve in age month k per pattern, if there at its end: the programme's contacts
    plus cost_per_problem × problem probability × visits (k = 0: the first purchase counted),
    (patterns, K), in currency."""
    remaining_ltv: np.ndarray
    """Expected discounted net margin (margin − cost to serve) after age month a, given still there at its
    end, discounted to the purchase, per pattern, shape (patterns, K); may be ±inf."""
    remaining_ltv_gross: np.ndarray
    """The same for the margin alone, shape (patterns, K)."""
    ltv: float
    """Expected discounted lifetime net margin of a new customer, first purchase included, minus the cost to
    serve (±inf if the sum diverges: no churn, no leaving through problems, no discount)."""
    ltv_gross: float
    """Expected discounted lifetime margin of a new customer, first purchase included (may be inf)."""
    adoption: np.ndarray
    """Adoption probability of each repeat stream, shape (streams,)."""
    discount: np.ndarray
    """Discount factor of age month k, v^k, shape (K,)."""
    code_bits: np.ndarray
    """Bit value of each stream in a pattern's code (stream 0 = highest bit), shape (streams,)."""
    row_of_code: np.ndarray
    """Row in the tables of each pattern code, shape (2^streams,)."""
    tail_block: np.ndarray
    """Net discounted flow of the table's last period (the lcm of the intervals) per pattern: past the
    table each period brings this × rho^n."""
    tail_block_gross: np.ndarray
    """The same for the margin alone."""
    tail_rho: np.ndarray
    """Ratio of one period's flow to the previous one's past the table, per pattern (1: no decay)."""
    month0: int
    """Calendar month (0-based) in which the customer buys; 0 without a plan."""
    calendar: MonthValues
    """The scenario's values by calendar month (what the engine books a planned cohort's months with)."""
    final_tables: LifetimeTables | None = None
    """Tables of a customer on the last month's values throughout; None if these are such tables."""

    @property
    def final(self) -> LifetimeTables:
        """Tables of the last month's values held for ever (past the horizon): the remainders after it."""
        return self if self.final_tables is None else self.final_tables

    def expected_by_age(self, what: str) -> np.ndarray:
        """Expected figure per new customer by age month: `visits`, `margin`, `revenue`, `cost` (to serve),
        `net` (margin − cost), `problems` (the first purchase included) or `active`."""
        if what == "active":
            return self.pattern_prob @ self.survival
        if what == "net":
            return self.pattern_prob @ ((self.margin - self.cost) * self.survival)
        if what == "problems":
            visits = self.visits.copy()
            visits[:, 0] += 1.0
            return self.calendar.problem_probability * (self.pattern_prob @ (visits * self.survival))
        if what not in ("visits", "margin", "revenue", "cost"):
            raise ValueError(f"unknown figure {what!r}")
        return self.pattern_prob @ (getattr(self, what) * self.survival)

    def payback_months(self, cac: float) -> float:
        """First age month at which the expected cumulative (undiscounted) net margin — margin minus the
        cost to serve — reaches `cac` (NaN if never within the tables)."""
        if not math.isfinite(cac):
            return math.nan
        cum = np.cumsum(self.expected_by_age("net"))
        hit = np.flatnonzero(cum >= cac - 1e-9 * max(1.0, abs(cac)))
        return float(hit[0]) if hit.size else math.nan


def problem_leave_factor(scenario: Scenario) -> float:
    """Probability that one visit does not make the customer leave through a problem, 1 - p*q."""
    pr = scenario.problems
    return 1.0 if pr is None else 1.0 - pr.visit_problem_probability * pr.leave_probability


def _patterns(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    streams = scenario.repeat
    combos = np.array(list(itertools.product([False, True], repeat=len(streams))), dtype=bool)
    combos = combos.reshape(2 ** len(streams), len(streams))
    adoption = np.array([s.adoption for s in streams])
    prob = np.prod(np.where(combos, adoption, 1.0 - adoption), axis=1) if streams else np.ones(1)
    keep = prob > 0
    return combos[keep], prob[keep]


def visits_due(scenario: Scenario, k: np.ndarray) -> np.ndarray:
    """Bool (streams, len(k)): a visit of each stream is due in age month k (new customers)."""
    if not scenario.repeat:
        return np.zeros((0, k.size), dtype=bool)
    iv = np.array([s.interval_months for s in scenario.repeat])[:, None]
    return (k[None, :] >= 1) & (k[None, :] % iv == 0)


def _log_pass(churn: np.ndarray) -> np.ndarray:
    """log(1 − c) of each churn (−inf at c = 1), with `math.log1p` (as the tables always had)."""
    return np.array([math.log1p(-c) if c < 1 else -math.inf for c in churn.tolist()], dtype=float)


def lifetime_tables(scenario: Scenario, month0: int = 0) -> LifetimeTables:
    """Exact expected tables of the life of a new customer who buys in calendar month `month0` (0-based;
    see docs/model.md and the module's docstring). Without a plan every month is the same and `month0`
    changes nothing; with one, `lifetime_tables(sc)` is the cohort of month 1 (the payback's customer) and
    `.final` the tables of the last month's values (the cohort of month H, and every customer past the
    horizon)."""
    values = month_values(scenario)
    H = values.churn.shape[0]
    if not 0 <= month0 < H:
        raise ValueError(f"month0 = {month0} outside the horizon (0 … {H - 1})")
    if not scenario.planned:
        return _build(scenario, values, 0, None)
    final = _build(scenario, values, H - 1, None)
    if month0 == H - 1:
        return final
    return _build(scenario, values, month0, final)


@dataclass(frozen=True)
class CohortAges:
    """A cohort's expected flows by age month 0 … n-1 per adoption pattern (rows as in its tables), each
    age month on its calendar month's values; flows of age month k are those of a customer there at its
    end."""

    visits: np.ndarray
    """Repeat visits due, (patterns, n)."""
    margin: np.ndarray
    """Margin (age 0: the first purchase), (patterns, n), in currency."""
    revenue: np.ndarray
    """Revenue (age 0: the first purchase), (patterns, n), in currency."""
    cost: np.ndarray
    """Expected cost to serve (contacts, problems at the visits and the first purchase), (patterns, n)."""
    survival: np.ndarray
    """P(there at the end of age month k), (patterns, n)."""


def cohort_ages(scenario: Scenario, tables: LifetimeTables, month0: int, n: int) -> CohortAges:
    """Expected flows by age month 0 … n-1 of new customers who buy in calendar month `month0` (0-based),
    per adoption pattern of `tables` (the scenario's `lifetime_tables`); past the horizon the last month's
    values hold."""
    return _ages(scenario, tables.calendar, tables.pattern_streams.astype(float), month0, n)


def _ages(scenario: Scenario, values: MonthValues, use: np.ndarray, month0: int, n: int) -> CohortAges:
    H = values.churn.shape[0]
    k = np.arange(n)
    month = np.minimum(month0 + k, H - 1)  # calendar month of age month k (the last one past the horizon)
    due = visits_due(scenario, k).astype(float)  # (streams, n)
    visits = use @ due  # (patterns, n); `use`: (patterns, streams)
    if scenario.repeat:
        margin = use @ (due * values.repeat_margin[month].T)
        revenue = use @ (due * values.repeat_revenue[month].T)
    else:
        margin = np.zeros_like(visits)
        revenue = np.zeros_like(visits)
    margin[:, 0] += values.first_margin[month0]
    revenue[:, 0] += values.first_revenue[month0]
    problem_visits = visits.copy()
    problem_visits[:, 0] += 1.0  # the first purchase is a visit
    per_problem = values.cost_per_problem * values.problem_probability
    cost = values.contact_cost[month][None, :] + per_problem * problem_visits

    keep = values.keep
    # Check at the end of age month j (j >= 1) is passed with (1 - c(month of j)) * keep^(visits in month
    # j-1), the first purchase counting as a visit in month 0.
    visits_prev = np.zeros_like(visits)
    visits_prev[:, 1:] = visits[:, :-1]
    if n > 1:
        visits_prev[:, 1] += 1.0
    log_pass = _log_pass(values.churn)[month]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_keep = np.where(visits_prev > 0, visits_prev * (math.log(keep) if keep > 0 else -np.inf), 0.0)
        step = np.where(k[None, :] >= 1, log_pass[None, :] + log_keep, 0.0)
        survival = np.exp(np.cumsum(step, axis=1))
    return CohortAges(visits, margin, revenue, cost, survival)


def _build(
    scenario: Scenario, values: MonthValues, month0: int, final: LifetimeTables | None
) -> LifetimeTables:
    K = TABLE_MONTHS
    k = np.arange(K)
    streams_used, prob = _patterns(scenario)
    ages = _ages(scenario, values, streams_used.astype(float), month0, K)
    visits, margin, revenue, cost, survival = ages.visits, ages.margin, ages.revenue, ages.cost, ages.survival

    v = monthly_discount(scenario.discount_rate_annual)
    disc = v ** k.astype(float)
    gross_flow = margin * disc * survival  # expected discounted margin by age, per pattern
    net_flow = (margin - cost) * disc * survival
    period, rho = _period_rho(scenario, survival, v)
    net = _sums(net_flow, survival, period, rho, prob)
    gross = _sums(gross_flow, survival, period, rho, prob)
    J = len(scenario.repeat)
    code_bits = (1 << np.arange(J)[::-1]).astype(np.int64)
    row_of_code = np.zeros(1 << J, dtype=np.int64)
    row_of_code[streams_used.astype(np.int64) @ code_bits] = np.arange(streams_used.shape[0])
    adoption = np.array([s.adoption for s in scenario.repeat], dtype=float)
    return LifetimeTables(
        survival=survival,
        pattern_prob=prob,
        pattern_streams=streams_used,
        visits=visits,
        margin=margin,
        revenue=revenue,
        cost=cost,
        remaining_ltv=net.remaining,
        remaining_ltv_gross=gross.remaining,
        ltv=net.ltv,
        ltv_gross=gross.ltv,
        adoption=adoption,
        discount=disc,
        code_bits=code_bits,
        row_of_code=row_of_code,
        tail_block=net.block,
        tail_block_gross=gross.block,
        tail_rho=rho,
        month0=month0,
        calendar=values,
        final_tables=final,
    )


@dataclass(frozen=True)
class _Sums:
    remaining: np.ndarray
    ltv: float
    block: np.ndarray


def _sums(flow: np.ndarray, survival: np.ndarray, period: int, rho: np.ndarray, prob: np.ndarray) -> _Sums:
    """Remaining values by age, the LTV and the tail's block from discounted expected flows by age."""
    block = _block(flow, period)
    tail = _tail(block, rho)  # beyond K, per pattern
    suffix = np.cumsum(flow[:, ::-1], axis=1)[:, ::-1]  # sum_{k' >= k}
    after = np.concatenate([suffix[:, 1:], np.zeros((flow.shape[0], 1))], axis=1) + tail[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        remaining = np.where(survival > 0, after / survival, 0.0)
    return _Sums(remaining, _mix(prob, suffix[:, 0] + tail, block), block)


def _period_rho(scenario: Scenario, survival: np.ndarray, v: float) -> tuple[int, np.ndarray]:
    """The life's period P (the lcm of the intervals) and, per pattern, rho = v^P × S(k+P)/S(k) at the
    table's end: past the table each period's expected discounted flow is the previous one's × rho. A
    period too long for the table gives P = 0 (no tail)."""
    period = math.lcm(*[s.interval_months for s in scenario.repeat]) if scenario.repeat else 1
    K = survival.shape[1]
    if period >= K // 2:
        return 0, np.zeros(survival.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            survival[:, K - 1 - period] > 0, survival[:, K - 1] / survival[:, K - 1 - period], 0.0
        )
    return period, ratio * v**period


def _block(flow: np.ndarray, period: int) -> np.ndarray:
    """Sum of the flow over the table's last period, per pattern (0 without a tail)."""
    if period == 0:
        return np.zeros(flow.shape[0])
    return flow[:, flow.shape[1] - period :].sum(axis=1)


def _tail(block: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Expected discounted flow past the table, per pattern: the life is periodic in the period P, so each
    further period is the last one times rho, a geometric series block × rho / (1 − rho). With rho = 1 (no
    churn, no leaving through problems, no discount) it diverges to ±inf with the block's sign (0 if the
    block is 0). Net flows may be negative (a programme that costs more than the visits bring)."""
    out = np.zeros(block.shape[0])
    for i in range(block.shape[0]):
        if block[i] == 0.0:
            out[i] = 0.0
        elif rho[i] >= _ONE:
            out[i] = math.copysign(math.inf, block[i])
        else:
            out[i] = block[i] * rho[i] / (1.0 - rho[i])
    return out


def _mix(prob: np.ndarray, by_pattern: np.ndarray, rate: np.ndarray) -> float:
    """Expected value over the patterns. Patterns whose value diverges (±inf) grow by `rate` per period
    (their tail's block), so the mixture's sum grows by prob · rate: ±inf with its sign (NaN if those
    rates cancel exactly)."""
    finite = np.isfinite(by_pattern)
    if finite.all():
        return float(prob @ by_pattern)
    slope = float(prob[~finite] @ rate[~finite])
    return math.copysign(math.inf, slope) if slope != 0 else math.nan


def cohort_ltv(scenario: Scenario, tables: LifetimeTables | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Expected (net, gross) LTV of a new customer who buys in calendar month m₀ = 0 … H-1, each age month
    on its calendar month's values and the last month's values past the horizon; shape (H,) each.

    Exact: for cohort m₀ the ages 0 … A = H-1-m₀ are summed on the plan's values, and the rest is the
    remaining value after age A of the last month's tables (`tables.final`) × the cohort's survival to the
    end of A — the same split as the engine's per-customer LTV (realised within the horizon + expected
    remainder). `tables` (the scenario's `lifetime_tables`) may be passed to reuse its `final` tables.
    Without a plan every cohort has `tables.ltv`.
    """
    tables = tables if tables is not None else lifetime_tables(scenario)
    values = tables.calendar
    H = values.churn.shape[0]
    if not scenario.planned:
        return np.full(H, tables.ltv), np.full(H, tables.ltv_gross)
    final = tables.final
    prob = final.pattern_prob
    net_out = np.empty(H)
    gross_out = np.empty(H)
    for m0 in range(H):
        A = H - 1 - m0
        ages = cohort_ages(scenario, tables, m0, A + 1)
        margin, cost, survival = ages.margin, ages.cost, ages.survival
        disc = final.discount[: A + 1]
        s_end = survival[:, A]
        s_final = final.survival[:, A]
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(s_final > 0, s_end / s_final, 0.0)  # the remainder's weight against `final`'s
        for out, flow_margin, remaining, block in (
            (net_out, margin - cost, final.remaining_ltv[:, A], final.tail_block),
            (gross_out, margin, final.remaining_ltv_gross[:, A], final.tail_block_gross),
        ):
            within = (flow_margin * disc * survival).sum(axis=1)
            with np.errstate(invalid="ignore"):
                rest = np.where(s_end > 0, s_end * remaining, 0.0)
            out[m0] = _mix(prob, within + rest, block * scale)
    return net_out, gross_out
