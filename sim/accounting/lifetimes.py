"""A customer's expected life by age month: survival, visits, margin, LTV and payback (exact tables).

Everything here follows docs/model.md (churn checks at month ends, visits only if the customer is
still there at the month's end, problems raising the leave probability at the next check). The tables
are exact expectations; the engine draws futures and books them into monthly bins; the expected-value
model and the KPIs (LTV, payback) use the tables.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from sim.model.calendar import monthly_discount
from sim.model.scenario import Scenario

TABLE_MONTHS = 600
"""Age months covered by the tables (50 years): past it a geometric tail closes the LTV sum exactly; a
payback later than that counts as never."""


@dataclass(frozen=True)
class LifetimeTables:
    """Expected life of a new customer by age month k = 0 … TABLE_MONTHS-1 (k = 0: purchase month).

    Mixed over the adoption patterns (which repeat streams a customer uses).
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
    remaining_ltv: np.ndarray
    """Expected discounted margin after age month a, given still there at its end, discounted to the
    purchase, per pattern, shape (patterns, K)."""
    ltv: float
    """Expected discounted lifetime margin of a new customer, first purchase included (may be inf)."""
    adoption: np.ndarray
    """Adoption probability of each repeat stream, shape (streams,)."""
    discount: np.ndarray
    """Discount factor of age month k, v^k, shape (K,)."""
    code_bits: np.ndarray
    """Bit value of each stream in a pattern's code (stream 0 = highest bit), shape (streams,)."""
    row_of_code: np.ndarray
    """Row in the tables of each pattern code, shape (2^streams,)."""

    def expected_by_age(self, what: str) -> np.ndarray:
        """Expected `visits`, `margin`, `revenue` or `active` per new customer by age month."""
        if what == "active":
            return self.pattern_prob @ self.survival
        return self.pattern_prob @ (getattr(self, what) * self.survival)

    def payback_months(self, cac: float) -> float:
        """First age month at which the expected cumulative margin reaches `cac` (NaN if never)."""
        if not math.isfinite(cac):
            return math.nan
        cum = np.cumsum(self.expected_by_age("margin"))
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


def _due(scenario: Scenario, k: np.ndarray) -> np.ndarray:
    """Bool (streams, len(k)): a visit of each stream is due in age month k (new customers)."""
    if not scenario.repeat:
        return np.zeros((0, k.size), dtype=bool)
    iv = np.array([s.interval_months for s in scenario.repeat])[:, None]
    return (k[None, :] >= 1) & (k[None, :] % iv == 0)


def lifetime_tables(scenario: Scenario) -> LifetimeTables:
    """Exact expected tables of a new customer's life (see docs/model.md)."""
    K = TABLE_MONTHS
    k = np.arange(K)
    streams_used, prob = _patterns(scenario)
    due = _due(scenario, k).astype(float)  # (streams, K)
    m_rep = np.array([s.margin for s in scenario.repeat]) * scenario.repeat_margin_factor
    r_rep = np.array([s.revenue for s in scenario.repeat])
    use = streams_used.astype(float)  # (patterns, streams)
    visits = use @ due  # (patterns, K)
    margin = (use * m_rep) @ due if scenario.repeat else np.zeros_like(visits)
    revenue = (use * r_rep) @ due if scenario.repeat else np.zeros_like(visits)
    margin[:, 0] += scenario.first_purchase.margin
    revenue[:, 0] += scenario.first_purchase.revenue

    c = scenario.effective_churn
    keep = problem_leave_factor(scenario)
    # Check at the end of age month j (j >= 1) is passed with (1 - c) * keep^(visits in month j-1),
    # the first purchase counting as a visit in month 0.
    visits_prev = np.zeros_like(visits)
    visits_prev[:, 1:] = visits[:, :-1]
    visits_prev[:, 1] += 1.0
    log_pass = math.log1p(-c) if c < 1 else -math.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        log_keep = np.where(visits_prev > 0, visits_prev * (math.log(keep) if keep > 0 else -np.inf), 0.0)
        step = np.where(k[None, :] >= 1, log_pass + log_keep, 0.0)
        survival = np.exp(np.cumsum(step, axis=1))

    v = monthly_discount(scenario.discount_rate_annual)
    disc = v ** k.astype(float)
    flow = margin * disc * survival  # expected discounted margin by age, per pattern
    tail = _geometric_tail(scenario, flow, survival, v)  # beyond K, per pattern
    suffix = np.cumsum(flow[:, ::-1], axis=1)[:, ::-1]  # sum_{k' >= k}
    after = np.concatenate([suffix[:, 1:], np.zeros((flow.shape[0], 1))], axis=1) + tail[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        remaining = np.where(survival > 0, after / survival, 0.0)
    ltv_by_pattern = suffix[:, 0] + tail
    ltv = float(prob @ ltv_by_pattern) if np.all(np.isfinite(ltv_by_pattern)) else math.inf
    J = len(scenario.repeat)
    code_bits = (1 << np.arange(J)[::-1]).astype(np.int64)
    row_of_code = np.zeros(1 << J, dtype=np.int64)
    row_of_code[streams_used.astype(np.int64) @ code_bits] = np.arange(streams_used.shape[0])
    adoption = np.array([s.adoption for s in scenario.repeat], dtype=float)
    return LifetimeTables(
        survival,
        prob,
        streams_used,
        visits,
        margin,
        revenue,
        remaining,
        ltv,
        adoption,
        disc,
        code_bits,
        row_of_code,
    )


def _geometric_tail(scenario: Scenario, flow: np.ndarray, survival: np.ndarray, v: float) -> np.ndarray:
    """Expected discounted margin past the table, per pattern: the life is periodic in the period P
    (the lcm of the intervals), so each further period is the last one times rho = v^P * S(k+P)/S(k)."""
    period = math.lcm(*[s.interval_months for s in scenario.repeat]) if scenario.repeat else 1
    K = flow.shape[1]
    if period >= K // 2:
        return np.zeros(flow.shape[0])
    block = flow[:, K - period :].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            survival[:, K - 1 - period] > 0, survival[:, K - 1] / survival[:, K - 1 - period], 0.0
        )
    rho = ratio * v**period
    out = np.zeros(flow.shape[0])
    for i in range(flow.shape[0]):
        if block[i] <= 0:
            out[i] = 0.0
        elif rho[i] >= 1.0 - 1e-15:
            out[i] = math.inf
        else:
            out[i] = block[i] * rho[i] / (1.0 - rho[i])
    return out
