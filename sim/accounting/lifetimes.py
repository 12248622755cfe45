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
- its problems, `cost_per_problem × visit_problem_probability` (of the visit's month) for each visit that
  happens, the first purchase included (a visit due in age month k ≥ 1 happens only if the customer is
  there at its end).

Both are costs of age month k "if the customer is there at the end of month k", like the visits' margin,
so the net flow of age month k is (margin − cost) × v^k × S(k) with S the survival and v the monthly
discount factor. The programme's fixed cost is no customer's cost and is left out. `ltv_gross` is the same
without the cost to serve.

**Plans over time.** With a plan, age month k of a customer who buys in calendar month m₀ (0-based) uses the
values of calendar month m₀ + k (churn at the check at its end, with the programme's multiplier of that
month; repeat margins and revenues; the programme's contacts and cost per contact; a visit's problem
probability p, cost and leave probability q — the leave factor keep = 1 − p q of the visit's month applies
at the check at the end of the next age month; the first purchase's margin, and its problem, of month m₀);
past the horizon the last month's values hold. What the customer keeps for life is its purchase month's
(a cohort effect, `cohort_key`): the streams' intervals and adoptions and, when customers differ, θ ~
Beta(alpha(m₀), beta(m₀)) with churn scale c(m) / E_{m₀}[θ]; the existing customers take month 1's.
`lifetime_tables(sc, month0)` holds the tables of such a cohort; `lifetime_tables(sc)` is the cohort that
buys in month 1 (month0 = 0), the customer payback is measured on, and its `final` the tables of a customer
of that cohort living on the last month's values throughout (which is also what it sees past the horizon:
the engine's remainders after the horizon). `cohort_tables(sc, tables, month0)` is that final table for
the cohort of any month (cached per distinct cohort in `tables`), `cohort_groups` the distinct cohorts and
their months. `cohort_ltv(sc)` gives the LTV of every cohort of the horizon.

**Customers who differ** (`[retention] model = "sbg"`, docs/model.md; the shifted-beta-geometric model of
Fader & Hardie 2007, "How to project customer retention", J. Interactive Marketing 21(1), 76-90). Each
customer draws θ ~ Beta(α, β) once and fails the check at the end of calendar month m with probability
min(1, θ s(m)), s(m) = c(m) / E[θ], c(m) the month's churn with the programme's multiplier. θ is independent
of the adoption pattern and of problems, so a customer of pattern p is there at the end of age month t with

    S_p(t) = C(t) × K_p(t),   C(t) = E_θ[Π_{k=1..t} (1 − min(1, θ s_k))],

K_p(t) = Π_{k=1..t} keep^(visits before check k) the problems' part, s_k the scale of the check at the end
of age month k. With s_k ≡ 1 (no plan, no programme, monthly_churn = E[θ]) C(t) = B(α, β + t) / B(α, β)
exactly (Fader & Hardie 2007), which the tables then use; otherwise C(t) is a quadrature over θ
(`theta_rule`: composite Gauss rules on [0, 1], graded towards 0 and split where θ s = 1; about 1e-11
relative against the closed form, within 1e-10 with the churn scaled). The LTV is exact:

    LTV = Σ_p P(p) Σ_{t≥0} v^t flow_p(t) S_p(t) = Σ_p P(p) E_θ[Σ_{t≥0} v^t flow_p(t) C_θ(t) K_p(t)],

summed over the table's ages, and past them per quadrature node θ_j, where the life is periodic (period P,
the lcm of the intervals) and each node's churn is constant (the last month's), so the rest is a geometric
series in closed form: r_θ(a) = Σ_{i=1..P} term_i / (1 − ρ_θ), ρ_θ = (v (1 − min(1, θ s)))^P keep^(visits a
period). This is the discounted expected residual lifetime (DERL) of Fader & Hardie 2010, "Customer-base
valuation in a contractual setting: the perils of ignoring heterogeneity", Marketing Science 29(1), 85-93
(for one flow a month, no problems and s ≡ 1: Σ_t v^t S(t) = ₂F₁(1, β; α + β; v)), with flows, problems and
plans. Without discount and without leaving through problems E_θ[1 / θ] decides: the LTV is infinite if
α ≤ 1 (or the last month's churn is 0), finite if α > 1 (the first piece of the rule is then Gauss for
θ^(α−2), exact for the 1/θ behaviour of the remainder near θ = 0). A customer still there at age a has the
population's remaining value (`remaining_ltv`, the mixture over the θ of the customers still there); the
engine books each customer's own remainder given its θ (`remaining_given_theta`), and a planned cohort's
remainder after the horizon mixes over the θ of its own survivors (`horizon_remaining`).
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field, replace

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
    """Probability that a visit (or the first purchase) has a problem in the last month (past the horizon;
    without a plan every month's): `problem_p` has each month's."""
    cost_per_problem: float
    """Cost of one problem in the last month, in currency (`problem_cost` has each month's)."""
    keep: float
    """Probability that one visit of the last month does not make the customer leave through a problem,
    1 − p·q (`problem_keep` has each month's)."""
    problem_p: np.ndarray
    """p(m): probability that a visit (the first purchase included) in month m has a problem, (H,)."""
    problem_cost: np.ndarray
    """cost(m): cost of one problem at a visit in month m, booked in month m, in currency, (H,)."""
    problem_leave: np.ndarray
    """q(m): probability that a problem at a visit in month m makes the customer leave at the check at the
    end of the next age month, (H,)."""
    problem_keep: np.ndarray
    """1 − p(m) q(m): probability that one visit in month m does not make the customer leave, (H,)."""
    mixture: ChurnMixture | None = None
    """Customers who differ (`model = "sbg"`): θ's quadrature rule and each month's churn scale; None with
    constant churn."""


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

    none = pr is None

    def row(s: Scenario) -> tuple:
        """The month's values (as the columns below), read from the sections they depend on."""
        return (
            s.effective_churn,
            # Problems by the visit's month: p, cost, q and the leave factor 1 − p q (`problem_leave_factor`).
            0.0 if none else s.problems.visit_problem_probability,
            0.0 if none else s.problems.cost_per_problem,
            0.0 if none else s.problems.leave_probability,
            problem_leave_factor(s),
            [r.margin * s.repeat_margin_factor for r in s.repeat],
            [r.revenue for r in s.repeat],
            s.first_purchase.margin,
            s.first_purchase.revenue,
            contact_cost(s),
        )

    # A month whose sections are the previous month's objects (the plan's months share what does not
    # change) has the previous month's values: read once.
    rows: list[tuple] = []
    last = None
    for s in months:
        if not (
            last is not None
            and s.retention is last.retention
            and s.service_programme is last.service_programme
            and s.problems is last.problems
            and s.repeat is last.repeat
            and s.first_purchase is last.first_purchase
        ):
            values = row(s)
        rows.append(values)
        last = s
    churn, p, cost, leave, keep, margins, revenues, first_margin, first_revenue, contacts = zip(
        *rows, strict=True
    )
    churn, p, cost, leave, keep = (by_month(list(x)) for x in (churn, p, cost, leave, keep))
    return MonthValues(
        churn=churn,
        repeat_margin=by_month(list(margins)).reshape(H, J),
        repeat_revenue=by_month(list(revenues)).reshape(H, J),
        first_margin=by_month(list(first_margin)),
        first_revenue=by_month(list(first_revenue)),
        contact_cost=by_month(list(contacts)),
        problem_probability=float(p[-1]),
        cost_per_problem=float(cost[-1]),
        keep=float(keep[-1]),
        problem_p=p,
        problem_cost=cost,
        problem_leave=leave,
        problem_keep=keep,
        mixture=churn_mixture(scenario, churn),
    )


# --- customers who differ (sBG): θ ~ Beta(α, β) on a quadrature rule -----------------------------------

SBG_NODES = 12
"""Gauss nodes on each piece of θ's quadrature rule."""
SBG_FIRST_PIECE = 1e-9
"""The rule's first piece is [0, SBG_FIRST_PIECE]; the next ones grow by SBG_GRADING up to 1/2."""
SBG_GRADING = 4.0
"""Ratio of consecutive piece ends near 0: a geometric grading resolves (1 − θ)^t for t up to the table's
600 months and the remainder's pole near θ = 0 at small discount rates (hp quadrature)."""
SBG_MAX_CUTS = 32
"""At most this many kinks θ = 1/s (months whose churn scale s exceeds 1) become piece ends; more (a churn
trend above E[θ] for years) are thinned to this many, evenly, and the others lie inside pieces (an error
of about 1e-6 relative instead of 1e-11)."""


@dataclass(frozen=True)
class ThetaRule:
    """A quadrature rule for θ ~ Beta(alpha, beta): E[g(θ)] ≈ weights @ g(nodes).

    Composite: [0, 1] is cut at SBG_FIRST_PIECE × SBG_GRADING^i (up to 1/2), at mean ± j sd (j = −8 … 8)
    when the distribution is narrow, and at the kinks `cuts`; each piece has SBG_NODES Gauss nodes with the
    density as a factor: Gauss–Jacobi for θ^(α−1) on the first piece (θ^(α−2) when 1 < α < 3, so that a
    remainder growing like 1/θ near 0 is integrated exactly), Gauss–Jacobi for (1 − θ)^(β−1) on the last
    one (when β < 50; a larger β leaves no mass there), Gauss–Legendre elsewhere. Weights sum to 1.
    Against the closed form B(α, β + t) / B(α, β), t ≤ 600, and the DERL series the relative error is
    about 1e-11, and within 1e-10 with the churn scaled by 0.05 … 3 (tests/unit/test_sbg.py)."""

    nodes: np.ndarray
    """θ_j in (0, 1), shape (N,)."""
    weights: np.ndarray
    """w_j > 0, summing to 1, shape (N,)."""


@functools.lru_cache(maxsize=64)
def theta_rule(alpha: float, beta: float, cuts: tuple[float, ...] = ()) -> ThetaRule:
    """The quadrature rule for θ ~ Beta(alpha, beta), with piece ends at the kinks `cuts` (θ = 1/s of the
    months whose churn scale s exceeds 1: there min(1, θ s) stops growing). Cached."""
    from scipy import special

    points = {0.0, 1.0}
    g = SBG_FIRST_PIECE
    while g < 0.5:
        points.add(g)
        g *= SBG_GRADING
    mean = alpha / (alpha + beta)
    sd = math.sqrt(alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1.0)))
    if sd < 0.5 * min(mean, 1.0 - mean):  # a narrow bulk: pieces a standard deviation wide across it
        points.update(x for j in range(-8, 9) if 0.0 < (x := mean + j * sd) < 1.0)
    if 1.0 - mean < 0.1:  # mass piled up near 1: graded towards 1 too
        points.update(x for j in range(-8, 3) if 0.5 < (x := 1.0 - (1.0 - mean) * SBG_GRADING**j) < 1.0)
    inside = sorted({c for c in cuts if 0.0 < c < 1.0})
    if len(inside) > SBG_MAX_CUTS:
        inside = [inside[i] for i in np.linspace(0, len(inside) - 1, SBG_MAX_CUTS).round().astype(int)]
    points.update(inside)
    edges = sorted(points)
    log_b = float(special.betaln(alpha, beta))
    nodes, log_w = [], []
    for a, b in itertools.pairwise(edges):
        half = (b - a) / 2.0
        if a == 0.0 and alpha < 3.0:
            p = alpha - 2.0 if alpha > 1.0 else alpha - 1.0  # Gauss for θ^p on [0, b]
            x, w = special.roots_jacobi(SBG_NODES, 0.0, p)
            th = half * (1.0 + x)
            lw = (p + 1.0) * math.log(half) + (alpha - 1.0 - p) * np.log(th) + (beta - 1.0) * np.log1p(-th)
        elif b == 1.0 and beta < 50.0:
            x, w = special.roots_jacobi(SBG_NODES, beta - 1.0, 0.0)  # Gauss for (1 − θ)^(β−1) on [a, 1]
            th = a + half * (1.0 + x)
            lw = beta * math.log(half) + (alpha - 1.0) * np.log(th)
        else:
            x, w = special.roots_legendre(SBG_NODES)
            th = a + half * (1.0 + x)
            lw = math.log(half) + (alpha - 1.0) * np.log(th) + (beta - 1.0) * np.log1p(-th)
        nodes.append(th)
        log_w.append(np.log(w) + lw - log_b)
    th = np.concatenate(nodes)
    lw = np.concatenate(log_w)
    w = np.exp(lw - lw.max())
    keep = w > 0
    th, w = th[keep], w[keep] / w[keep].sum()
    th.flags.writeable = False
    w.flags.writeable = False
    return ThetaRule(th, w)


@dataclass(frozen=True)
class ChurnMixture:
    """Customers who differ (docs/model.md, "Customers differ"): θ ~ Beta(alpha, beta) on a quadrature rule,
    and the churn scale s(m) = c(m) / E[θ] of each calendar month m = 0 … H-1 (the last one holds past the
    horizon). A customer with θ fails the check at the end of month m with probability min(1, θ s(m))."""

    alpha: float
    beta: float
    mean: float
    """E[θ] = alpha / (alpha + beta)."""
    scale: np.ndarray
    """s(m) = churn(m) / E[θ], shape (H,)."""
    nodes: np.ndarray
    """θ's quadrature nodes, shape (N,) (`theta_rule`)."""
    weights: np.ndarray
    """Their weights, shape (N,), summing to 1."""
    log_stay: np.ndarray
    """log(1 − min(1, θ_j s(m))) per node and month, shape (N, H); −inf where θ_j s(m) ≥ 1."""

    def survival(self, months: np.ndarray) -> np.ndarray:
        """E_θ[Π_{i ≤ k} (1 − min(1, θ s(months[i-1])))] for k = 0 … len(months): the churn survival
        through checks in these calendar months, starting with 1. The closed form B(α, β + k) / B(α, β)
        where every scale is 1, else the quadrature."""
        months = np.asarray(months, dtype=np.int64)
        if months.size and np.all(self.scale[months] == 1.0):
            from scipy import special

            k = np.arange(months.size + 1, dtype=float)
            return np.exp(special.betaln(self.alpha, self.beta + k) - special.betaln(self.alpha, self.beta))
        out = self.weights @ self.node_survival(months)
        out[0] = 1.0  # no check yet (the weights sum to 1 within rounding)
        return out

    def node_survival(self, months: np.ndarray) -> np.ndarray:
        """Per node, Π_{i ≤ k} (1 − min(1, θ_j s(months[i-1]))) for k = 0 … len(months), shape
        (N, len + 1)."""
        months = np.asarray(months, dtype=np.int64)
        out = np.empty((self.nodes.size, months.size + 1))  # the logs first, exponentiated in place
        out[:, 0] = 0.0
        if months.size:
            s = self.scale[months]
            changes = np.flatnonzero(s != s[-1])
            head = int(changes[-1]) + 1 if changes.size else 0  # checks before the last scale's final run
            if head:
                np.cumsum(self.log_stay[:, months[:head]], axis=1, out=out[:, 1 : head + 1])
            # the final run: one scale, so powers of its factor
            k = np.arange(1, months.size - head + 1, dtype=float)
            np.multiply.outer(self.log_stay[:, months[-1]], k, out=out[:, head + 1 :])
            if head:
                out[:, head + 1 :] += out[:, head : head + 1]
        return np.exp(out, out=out)

    def node_log_survival(self, months: np.ndarray) -> np.ndarray:
        """Per node, log Π_i (1 − min(1, θ_j s(months[i]))) over all the checks, shape (N,) (−inf: gone)."""
        counts = np.bincount(np.asarray(months, dtype=np.int64), minlength=self.scale.size)
        used = counts > 0
        if not used.any():
            return np.zeros(self.nodes.size)
        return self.log_stay[:, used] @ counts[used].astype(float)

    def paths(self) -> np.ndarray:
        """E_θ[Π_{t=m0+1..m} (1 − min(1, θ s(t)))] for purchase month m0 (rows) and calendar month m >= m0
        (columns), shape (H, H); 1 on and below the diagonal. Blocks of columns share a reference month,
        so no exponential overflows (each factor is a product of probabilities)."""
        ls = self.log_stay
        H = ls.shape[1]
        w = self.weights
        dead = np.isneginf(ls)
        t = np.arange(H)
        last_dead = np.maximum.accumulate(np.where(dead, t[None, :], -1), axis=1)  # (N, H)
        cum = np.cumsum(np.where(dead, 0.0, ls), axis=1)  # finite log products, (N, H)
        out = np.ones((H, H))
        step = 8
        for b0 in range(0, H, step):
            b1 = min(H, b0 + step)
            cols = t[b0:b1]
            rows = t[: b0 + 1]  # m0 <= b0 <= m: through the block's first month
            left = w[None, :] * np.exp(cum[:, b0][None, :] - cum[:, rows].T)
            left *= last_dead[:, b0][None, :] <= rows[:, None]
            right = np.exp(cum[:, cols] - cum[:, b0][:, None]) * (last_dead[:, cols] <= b0)
            out[: b0 + 1, b0:b1] = left @ right
            if b1 - b0 > 1:  # m0 inside the block (b0 < m0 <= m < b1): directly
                r = t[b0 + 1 : b1]
                ok = (cols[None, :] >= r[:, None])[None, :, :] & (
                    last_dead[:, None, cols] <= r[None, :, None]
                )
                diff = cum[:, None, cols] - cum[:, r][:, :, None]  # (N, rows, cols)
                inner = np.exp(np.where(ok, diff, -np.inf))
                out[b0 + 1 : b1, b0:b1] = np.where(
                    cols[None, :] >= r[:, None], np.einsum("j,jrc->rc", w, inner), 1.0
                )
        np.fill_diagonal(out, 1.0)  # no check between a purchase and the end of its month
        return out


def churn_mixture(scenario: Scenario, churn: np.ndarray) -> ChurnMixture | None:
    """The sBG mixture of a scenario whose customers differ (None with constant churn); `churn`: the
    effective churn of each month of the horizon, shape (H,)."""
    r = scenario.retention
    if r.model != "sbg" or r.alpha is None or r.beta is None:
        return None
    mean = r.mean_theta
    scale = np.asarray(churn, dtype=float) / mean
    cuts = tuple(sorted({float(1.0 / x) for x in scale[scale > 1.0].tolist()}))
    rule = theta_rule(float(r.alpha), float(r.beta), cuts)
    if np.all(scale == scale[0]):
        log_stay = np.broadcast_to(_log_stay(rule.nodes, scale[:1]), (rule.nodes.size, scale.size))
    else:
        log_stay = _log_stay(rule.nodes, scale)
    return ChurnMixture(float(r.alpha), float(r.beta), mean, scale, rule.nodes, rule.weights, log_stay)


def _log_stay(theta: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """log(1 − min(1, θ s)) for each θ (rows) and scale (columns); −inf where θ s >= 1."""
    with np.errstate(divide="ignore"):
        return np.log1p(-np.minimum(1.0, np.multiply.outer(theta, scale)))


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
    """Ratio of one period's flow to the previous one's past the table, per pattern (1: no decay); when
    customers differ, that of a customer with θ → 0 (v^P × the problems' pass factor of a period)."""
    month0: int
    """Calendar month (0-based) in which the customer buys; 0 without a plan."""
    calendar: MonthValues
    """The scenario's values by calendar month (what the engine books a planned cohort's months with)."""
    final_tables: LifetimeTables | None = None
    """Tables of a customer on the last month's values throughout; None if these are such tables."""
    period: int = 1
    """The life's period P in age months (the lcm of the intervals; 0: too long for a tail past the
    table)."""
    node_rest: tuple[np.ndarray, np.ndarray] | None = None
    """Customers who differ, last month's tables only: (net, gross) remainder r_θ(a) after age a, discounted
    to a, of a customer of pattern p and θ = node j (row p × N + j) on these values; columns: ages 0 … P
    (a >= 1 is column 1 + (a − 1) mod P), or 0 … H-1 without a period. None otherwise."""
    cohort: tuple = ()
    """The cohort's structure, `cohort_key` of its purchase month (intervals, adoptions, alpha, beta)."""
    cohorts: dict = field(default_factory=dict, compare=False, repr=False)
    """Cache of `cohort_tables`: the last month's tables of other cohort structures, by `cohort_key`."""

    @property
    def final(self) -> LifetimeTables:
        """Tables of the last month's values held for ever (past the horizon): the remainders after it."""
        return self if self.final_tables is None else self.final_tables

    @functools.cached_property
    def life(self) -> _Life:
        """The flows and problems' factors by age that the remainders after an age need (`_rest`)."""
        log_v = math.log(float(self.discount[1])) if self.discount.size > 1 else 0.0
        return _Life(
            self.margin - self.cost,
            self.margin,
            _log_kstep(self.visits, _keep_by_age(self.calendar, self.month0, self.visits.shape[1])),
            log_v,
            self.period,
        )

    def expected_by_age(self, what: str) -> np.ndarray:
        """Expected figure per new customer by age month: `visits`, `margin`, `revenue`, `cost` (to serve),
        `net` (margin − cost), `problems` (the first purchase included) or `active`."""
        if what == "active":
            return self.pattern_prob @ self.survival
        if what == "net":
            return self.pattern_prob @ ((self.margin - self.cost) * self.survival)
        if what == "problems":  # p of each age's calendar month (the last one past the horizon)
            visits = self.visits.copy()
            visits[:, 0] += 1.0
            values = self.calendar
            month = np.minimum(self.month0 + np.arange(visits.shape[1]), values.churn.shape[0] - 1)
            return values.problem_p[month] * (self.pattern_prob @ (visits * self.survival))
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
    """(the adoption patterns' streams, bool (patterns, streams); their probabilities) of the scenario's
    repeat streams, patterns of probability 0 left out; read-only."""
    return _patterns_of(tuple(s.adoption for s in scenario.repeat))


@functools.lru_cache(maxsize=64)
def _patterns_of(adoptions: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    combos = np.array(list(itertools.product([False, True], repeat=len(adoptions))), dtype=bool)
    combos = combos.reshape(2 ** len(adoptions), len(adoptions))
    adoption = np.array(adoptions)
    prob = np.prod(np.where(combos, adoption, 1.0 - adoption), axis=1) if adoptions else np.ones(1)
    keep = prob > 0
    out = combos[keep], prob[keep]
    for a in out:
        a.flags.writeable = False
    return out


def visits_due(scenario: Scenario, k: np.ndarray) -> np.ndarray:
    """Bool (streams, len(k)): a visit of each stream is due in age month k (new customers)."""
    if not scenario.repeat:
        return np.zeros((0, k.size), dtype=bool)
    iv = np.array([s.interval_months for s in scenario.repeat])[:, None]
    return (k[None, :] >= 1) & (k[None, :] % iv == 0)


def _log_pass(churn: np.ndarray) -> np.ndarray:
    """log(1 − c) of each churn (−inf at c = 1), with `math.log1p` (as the tables always had); read-only,
    the last few remembered (a planned scenario's tables read the same months' churn twice)."""
    key = churn.tobytes()
    hit = _log_pass_remembered.get(key)
    if hit is None:
        hit = np.array([math.log1p(-c) if c < 1 else -math.inf for c in churn.tolist()], dtype=float)
        hit.flags.writeable = False
        if len(_log_pass_remembered) >= 4:
            del _log_pass_remembered[next(iter(_log_pass_remembered))]
        _log_pass_remembered[key] = hit
    return hit


_log_pass_remembered: dict[bytes, np.ndarray] = {}


def lifetime_tables(scenario: Scenario, month0: int = 0) -> LifetimeTables:
    """Exact expected tables of the life of a new customer who buys in calendar month `month0` (0-based;
    see docs/model.md and the module's docstring). Without a plan every month is the same and `month0`
    changes nothing; with one, `lifetime_tables(sc)` is the cohort of month 1 (the payback's customer) and
    `.final` the tables of the last month's values for the same cohort levers (intervals, adoptions, θ of
    `month0`; what the cohort sees past the horizon)."""
    values = month_values(scenario)
    H = values.churn.shape[0]
    if not 0 <= month0 < H:
        raise ValueError(f"month0 = {month0} outside the horizon (0 … {H - 1})")
    if not scenario.planned:
        return _build(scenario, values, 0, None)
    cohort = cohort_scenario(scenario, month0)  # the cohort's intervals, adoptions and θ, for life
    values = _cohort_values(cohort, values)
    final = _build(cohort, values, H - 1, None)
    if month0 == H - 1:
        return final
    return _build(cohort, values, month0, final)


# --- cohorts: levers fixed at the purchase (docs/model.md, "Plans over time") ---------------------------


def cohort_key(scenario: Scenario) -> tuple:
    """What a customer keeps for life from its purchase month: (the streams' intervals, their adoptions,
    alpha, beta). Customers of two months with the same key live on the same tables (with each calendar
    month's other values)."""
    r = scenario.retention
    return (
        tuple(s.interval_months for s in scenario.repeat),
        tuple(float(s.adoption) for s in scenario.repeat),
        r.alpha,
        r.beta,
    )


def cohort_scenario(scenario: Scenario, month0: int) -> Scenario:
    """The scenario whose repeat streams (interval, adoption) and retention (alpha, beta) are those of the
    customers who buy in calendar month `month0` (0-based; -1, the existing customers, take month 1's):
    `plan.months(scenario)[month0]`, or `scenario` itself without a plan or when they are its own. Read only
    these levers from it (the other months' values come from `month_values`)."""
    if not scenario.planned:
        return scenario
    months = plan.months(scenario)
    s = months[min(max(month0, 0), len(months) - 1)]
    return scenario if cohort_key(s) == cohort_key(scenario) else s


def _cohort_values(cohort: Scenario, values: MonthValues) -> MonthValues:
    """`values` with the θ mixture of the cohort's alpha and beta (customers who differ): θ ~ Beta(alpha(m0),
    beta(m0)), churn scale c(m) / E_{m0}[θ]. `values` itself when its mixture is already the cohort's."""
    mix = values.mixture
    r = cohort.retention
    if mix is None or (mix.alpha == float(r.alpha) and mix.beta == float(r.beta)):
        return values
    return replace(values, mixture=churn_mixture(cohort, values.churn))


def cohort_tables(scenario: Scenario, tables: LifetimeTables, month0: int) -> LifetimeTables:
    """The tables of the customers who buy in calendar month `month0` (0-based; -1: the existing customers,
    who take month 1's) on the LAST month's values, with the cohort's own intervals, adoptions and θ
    mixture: what the engine draws a cohort's adoption patterns and visits by age from, and its remainder
    past the horizon. Its `calendar` is `month_values` with the cohort's mixture (`calendar.mixture`: θ ~
    Beta(alpha(m0), beta(m0)), scale c(m) / E_{m0}[θ]). `tables`: the scenario's `lifetime_tables`;
    `tables.final` when the cohort's levers are its own, else built once and cached in it."""
    final = tables.final
    if not scenario.planned:
        return final
    cohort = cohort_scenario(scenario, month0)
    key = cohort_key(cohort)
    if key == final.cohort:
        return final
    hit = final.cohorts.get(key)
    if hit is None:
        values = _cohort_values(cohort, final.calendar)  # the cohort's θ on the churn of the months
        hit = _build(cohort, values, values.churn.shape[0] - 1, None)
        final.cohorts[key] = hit
    return hit


def cohort_groups(scenario: Scenario, tables: LifetimeTables) -> list[tuple[np.ndarray, LifetimeTables]]:
    """The distinct cohorts of the horizon: (the purchase months m0 (0-based) that share them, their
    `cohort_tables`), the first one month 0's (also the existing customers'). Without a plan one group."""
    H = tables.calendar.churn.shape[0]
    if not scenario.planned:
        return [(np.arange(H), tables.final)]
    groups: dict[tuple, list[int]] = {}
    for m0 in range(H):
        groups.setdefault(cohort_key(cohort_scenario(scenario, m0)), []).append(m0)
    return [(np.array(ms), cohort_tables(scenario, tables, ms[0])) for ms in groups.values()]


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
    problem_survival: np.ndarray
    """The problems' part of `survival`: P(no problem of the visits before has made the customer leave by
    the check at the end of age month k), Π_{j=1..k} keep(month of age j-1)^(visits in age j-1),
    (patterns, n)."""


def cohort_ages(scenario: Scenario, tables: LifetimeTables, month0: int, n: int) -> CohortAges:
    """Expected flows by age month 0 … n-1 of new customers who buy in calendar month `month0` (0-based),
    per adoption pattern of the cohort's tables (`cohort_tables(scenario, tables, month0)`: its intervals,
    adoptions and θ for life; `tables` the scenario's `lifetime_tables`), each age on its calendar month's
    values (problems too); past the horizon the last month's values hold."""
    own = cohort_tables(scenario, tables, month0)
    cohort = cohort_scenario(scenario, month0)
    return _ages(cohort, own.calendar, own.pattern_streams.astype(float), month0, n)


_AGES_CACHE = 16
"""`_fixed_ages` results remembered (by their arguments' values)."""
_ages_remembered: dict[tuple, tuple[np.ndarray, ...]] = {}


def _fixed_ages(
    scenario: Scenario, values: MonthValues, use: np.ndarray, month0: int, n: int
) -> tuple[np.ndarray, ...]:
    """What `_ages` reads of everything but the churn, which is all that the draws of a band's churn
    change (remembered by value): (visits per pattern, (patterns, n); margin; revenue; cost to serve;
    `_log_kstep`; the problems' survival, exp of its running sum), read-only."""
    keep = _keep_by_age(values, month0, n)
    keep_key = keep.tobytes() if isinstance(keep, np.ndarray) else np.float64(keep).tobytes()
    key = (
        use.tobytes(),
        use.shape,
        tuple(s.interval_months for s in scenario.repeat),
        keep_key,
        month0,
        n,
        values.repeat_margin.tobytes(),
        values.repeat_margin.shape,
        values.repeat_revenue.tobytes(),
        values.first_margin[month0 : month0 + 1].tobytes(),
        values.first_revenue[month0 : month0 + 1].tobytes(),
        values.problem_cost.tobytes(),
        values.problem_p.tobytes(),
        values.contact_cost.tobytes(),
    )
    hit = _ages_remembered.get(key)
    if hit is not None:
        return hit
    H = values.churn.shape[0]
    month = np.minimum(month0 + np.arange(n), H - 1)  # calendar month of age month k (the last one past H)
    due = visits_due(scenario, np.arange(n)).astype(float)  # (streams, n)
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
    # a problem at a visit of age k: p and cost of its calendar month
    per_problem = values.problem_cost[month] * values.problem_p[month]
    cost = values.contact_cost[month][None, :] + per_problem[None, :] * problem_visits
    # Check at the end of age month j (j >= 1) is passed with (1 - c(month of j)) * keep(month of j-1)^(visits
    # in month j-1), the first purchase counting as a visit in month 0: here keep's part.
    log_keep = _log_kstep(visits, keep)
    with np.errstate(over="ignore"):
        problem_survival = np.exp(np.cumsum(log_keep, axis=1))
    out = (visits, margin, revenue, cost, log_keep, problem_survival)
    for x in out:
        x.flags.writeable = False
    if len(_ages_remembered) >= _AGES_CACHE:
        del _ages_remembered[next(iter(_ages_remembered))]
    _ages_remembered[key] = out
    return out


def _ages(scenario: Scenario, values: MonthValues, use: np.ndarray, month0: int, n: int) -> CohortAges:
    H = values.churn.shape[0]
    k = np.arange(n)
    month = np.minimum(month0 + k, H - 1)  # calendar month of age month k (the last one past the horizon)
    visits, margin, revenue, cost, log_keep, problem_survival = _fixed_ages(scenario, values, use, month0, n)
    # The check at the end of age month j (j >= 1) is passed with (1 - c(month of j)) × the problems' part.
    if values.mixture is not None:  # customers differ: the churn part mixed over θ (module docstring)
        churn = values.mixture.survival(month[1:])
        survival = churn[None, :] * problem_survival
        return CohortAges(visits, margin, revenue, cost, survival, problem_survival)
    log_pass = _log_pass(values.churn)[month]
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(k[None, :] >= 1, log_pass[None, :] + log_keep, 0.0)
        survival = np.exp(np.cumsum(step, axis=1))
    return CohortAges(visits, margin, revenue, cost, survival, problem_survival)


def _keep_by_age(values: MonthValues, month0: int, n: int) -> float | np.ndarray:
    """The problems' leave factor keep = 1 − p q of the calendar month of each age month 0 … n-1 of the
    cohort of `month0` (the last month's past the horizon): one float when it is the same at every age."""
    H = values.churn.shape[0]
    keep = values.problem_keep[min(max(month0, 0), H - 1) :]
    if keep.size == 0 or np.all(keep == keep[0]):
        return float(keep[0]) if keep.size else values.keep
    return values.problem_keep[np.minimum(max(month0, 0) + np.arange(n), H - 1)]


def _log_kstep(visits: np.ndarray, keep: float | np.ndarray) -> np.ndarray:
    """log of the problems' pass factor of the check at the end of each age month k, keep(age k-1)^(visits
    in age month k-1) (the first purchase a visit of age 0), per pattern, shape as `visits`; 0 at k = 0.
    `keep`: one leave factor for every age, or that of each age month's calendar month, shape (K,)."""
    prev = np.zeros_like(visits)
    prev[:, 1:] = visits[:, :-1]
    if visits.shape[1] > 1:
        prev[:, 1] += 1.0
    if np.ndim(keep) == 0:
        log_keep: float | np.ndarray = math.log(keep) if keep > 0 else -math.inf
    else:  # the factor of the check at the end of age k is that of the visits' month, age k-1
        logs = [math.log(x) if x > 0 else -math.inf for x in np.asarray(keep)[: visits.shape[1]].tolist()]
        log_keep = np.concatenate([[0.0], logs[:-1]])[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(prev > 0, prev * log_keep, 0.0)


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
    node_rest = None
    if values.mixture is None:
        net_block, gross_block = _block(net_flow, period), _block(gross_flow, period)
        net = _sums(net_flow, survival, _tail(net_block, rho), net_block, prob)
        gross = _sums(gross_flow, survival, _tail(gross_block, rho), gross_block, prob)
    else:
        log_kstep = _log_kstep(visits, _keep_by_age(values, month0, K))  # the cohort's problems by age
        if final is None:  # these are the last month's tables: the per-node remainders on their values
            life = _Life(margin - cost, margin, log_kstep, math.log(v), period)
            node_rest = _node_rest(life, values)
        else:
            life, node_rest = final.life, final.node_rest
        tails, rho = _sbg_tails(values, month0, survival, life, node_rest, log_kstep)
        net = _sums(net_flow, survival, tails[0], _block(net_flow, period), prob)
        gross = _sums(gross_flow, survival, tails[1], _block(gross_flow, period), prob)
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
        period=period,
        node_rest=node_rest if final is None else None,
        cohort=cohort_key(scenario),
    )


@dataclass(frozen=True)
class _Sums:
    remaining: np.ndarray
    ltv: float
    block: np.ndarray


def _sums(
    flow: np.ndarray, survival: np.ndarray, tail: np.ndarray, block: np.ndarray, prob: np.ndarray
) -> _Sums:
    """Remaining values by age, the LTV and the tail's block from discounted expected flows by age; `tail`:
    the expected discounted flow past the table, per pattern; `block`: the flow of the table's last period
    (the rate at which a diverging pattern's sum grows)."""
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

    Exact: for cohort m₀ the ages 0 … A = H-1-m₀ are summed on the plan's values (problems by the visit's
    month), and the rest is the remaining value after age A of the cohort's tables on the last month's values
    (`cohort_tables`: its own streams, adoptions and θ) × the cohort's survival to the end of A — the same
    split as the engine's per-customer LTV (realised within the horizon + expected remainder); when customers
    differ, the remaining value mixed over the θ of the cohort's own survivors
    (`horizon_remaining`). `tables` (the scenario's `lifetime_tables`) may be passed to reuse its `final`
    tables. Without a plan every cohort has `tables.ltv`.
    """
    tables = tables if tables is not None else lifetime_tables(scenario)
    values = tables.calendar
    H = values.churn.shape[0]
    if not scenario.planned:
        return np.full(H, tables.ltv), np.full(H, tables.ltv_gross)
    net_out = np.empty(H)
    gross_out = np.empty(H)
    rests: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    for m0 in range(H):
        A = H - 1 - m0
        final = cohort_tables(scenario, tables, m0)  # the cohort's own streams and θ, last month's values
        prob = final.pattern_prob
        rest_net = rest_gross = None
        if final.calendar.mixture is not None:
            if final.cohort not in rests:
                rests[final.cohort] = horizon_remaining(final)
            rest_net, rest_gross = rests[final.cohort]
        cohort = cohort_scenario(scenario, m0)
        ages = _ages(cohort, final.calendar, final.pattern_streams.astype(float), m0, A + 1)
        margin, cost, survival = ages.margin, ages.cost, ages.survival
        disc = final.discount[: A + 1]
        s_end = survival[:, A]
        s_final = final.survival[:, A]
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(s_final > 0, s_end / s_final, 0.0)  # the remainder's weight against `final`'s
        remaining_net = final.remaining_ltv[:, A] if rest_net is None else rest_net[m0]
        remaining_gross = final.remaining_ltv_gross[:, A] if rest_gross is None else rest_gross[m0]
        for out, flow_margin, remaining, block in (
            (net_out, margin - cost, remaining_net, final.tail_block),
            (gross_out, margin, remaining_gross, final.tail_block_gross),
        ):
            within = (flow_margin * disc * survival).sum(axis=1)
            with np.errstate(invalid="ignore"):
                rest = np.where(s_end > 0, s_end * remaining, 0.0)
            out[m0] = _mix(prob, within + rest, block * scale)
    return net_out, gross_out


# --- remainders when customers differ -------------------------------------------------------------------


@dataclass(frozen=True)
class _Life:
    """What a remainder after an age needs, per adoption pattern and age month k (on a table's values)."""

    net: np.ndarray
    """Net flow (margin − cost to serve) of age month k, if there at its end, (patterns, K)."""
    gross: np.ndarray
    """Margin of age month k, (patterns, K)."""
    log_kstep: np.ndarray
    """log of the problems' pass factor of the check at the end of age month k, (patterns, K)."""
    log_v: float
    """log of the monthly discount factor."""
    period: int
    """The life's period P (0: none within half the table)."""


_BLOCK = 1 << 20
"""Elements of one (items × ages) block in `_rest`: memory stays bounded whatever the number of items."""


def _rest(life: _Life, rows: np.ndarray, age: int, log_stay: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(net, gross) expected flow after age month `age`, discounted to it, of customers of patterns `rows`
    there at the end of `age` whose churn at every later check is 1 − exp(`log_stay`) (one value per item):

        r(a) = Σ_{i≥1} flow(a + i) v^i y^i Π_{l=1..i} kstep(a + l),   y = exp(log_stay).

    Past age 1 the life repeats with the period P and the churn is constant, so r(a) = r(1 + (a − 1) mod P)
    for a ≥ 1 and the series is geometric by periods: r(a) = Σ_{i=1..P} term_i / (1 − ρ), ρ = (v y)^P ×
    the problems' pass factor of a period; ±inf where ρ = 1 (0 if the period brings nothing). Without a
    period (P = 0) the sum stops at the table's end, as the tables' own tail does."""
    K = life.net.shape[1]
    P = life.period
    if P > 0 and age >= 1:
        age = 1 + (age - 1) % P
    span = P if P > 0 else K - 1 - age
    n = rows.size
    net, gross = np.zeros(n), np.zeros(n)
    if span <= 0 or n == 0:
        return net, gross
    ages = age + 1 + np.arange(span)
    i = np.arange(1, span + 1, dtype=float)
    step = life.log_v + np.asarray(log_stay, dtype=float)
    size = max(1, _BLOCK // span)
    for lo in range(0, n, size):
        r = rows[lo : lo + size, None]
        st = step[lo : lo + size]
        term = np.exp(st[:, None] * i[None, :] + np.cumsum(life.log_kstep[r, ages[None, :]], axis=1))
        a = (life.net[r, ages[None, :]] * term).sum(axis=1)
        b = (life.gross[r, ages[None, :]] * term).sum(axis=1)
        if P > 0:
            # ρ: one period further on, from age + 2 (the problems' factors repeat from age 2 on)
            log_rho = P * st + life.log_kstep[r, (age + 2 + np.arange(P))[None, :]].sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                denom = -np.expm1(log_rho)
                a = np.where(log_rho < 0, a / denom, np.where(a == 0, 0.0, np.copysign(np.inf, a)))
                b = np.where(log_rho < 0, b / denom, np.where(b == 0, 0.0, np.copysign(np.inf, b)))
        net[lo : lo + size] = a
        gross[lo : lo + size] = b
    return net, gross


def _node_rest(life: _Life, values: MonthValues) -> tuple[np.ndarray, np.ndarray]:
    """`LifetimeTables.node_rest` of the last month's tables (`life`: their flows)."""
    mix = values.mixture
    assert mix is not None
    patterns = life.net.shape[0]
    H = values.churn.shape[0]
    rows = np.repeat(np.arange(patterns), mix.nodes.size)
    n = life.period + 1 if life.period > 0 else H
    return _rest_by_age(life, rows, np.tile(mix.log_stay[:, H - 1], patterns), n)


def _rest_column(age: int | np.ndarray, period: int) -> int | np.ndarray:
    """The column of `LifetimeTables.node_rest` that holds age `age` (ages >= 1 repeat with the period)."""
    if period == 0:
        return age
    return np.where(np.asarray(age) >= 1, 1 + (np.asarray(age) - 1) % period, 0)


def _sbg_tails(
    values: MonthValues,
    month0: int,
    survival: np.ndarray,
    life: _Life,
    node_rest: tuple[np.ndarray, np.ndarray] | None,
    log_kstep: np.ndarray,
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """((net, gross) expected discounted flow past the table, per pattern; ρ at θ → 0, per pattern) of the
    cohort of `month0` when customers differ: per node θ_j, the cohort's churn survival to the table's
    end × its problems' survival (`log_kstep`, the cohort's by age) × the geometric remainder on the last
    month's values (`life`, `node_rest`: the final tables'), mixed with the weights. Diverges (±inf with
    the sign of the period's flow) where a customer with θ → 0 never leaves nor discounts (ρ = 1 at θ = 0)
    and E[1/θ] is infinite (α ≤ 1) or the last month's churn is 0."""
    mix = values.mixture
    assert mix is not None and node_rest is not None
    K = survival.shape[1]
    H = values.churn.shape[0]
    patterns = survival.shape[0]
    P = life.period
    if P == 0:
        return (np.zeros(patterns), np.zeros(patterns)), np.zeros(patterns)
    N = mix.nodes.size
    month = np.minimum(month0 + np.arange(1, K), H - 1)  # calendar months of the checks at ages 1 … K-1
    weight = mix.weights * np.exp(mix.node_log_survival(month))  # w_j C_j(K-1)
    log_keep_end = log_kstep.sum(axis=1)  # the problems' survival to the end of age K-1
    column = int(_rest_column(K - 1, P))
    rho0 = np.exp(P * life.log_v + log_kstep[:, K - P :].sum(axis=1))
    diverges = (rho0 >= _ONE) & ((mix.alpha <= 1.0) | (mix.scale[H - 1] == 0.0)) & (survival[:, K - 1] > 0)
    v_end = math.exp(life.log_v * (K - 1))
    tails = []
    for r, flow in ((node_rest[0][:, column], life.net), (node_rest[1][:, column], life.gross)):
        with np.errstate(invalid="ignore", over="ignore"):
            tail = v_end * np.exp(log_keep_end) * (np.where(weight > 0, r.reshape(patterns, N), 0.0) @ weight)
        if diverges.any():
            k = np.arange(K - P, K)
            block = (
                flow[:, K - P :] * np.exp(life.log_v * k + np.cumsum(log_kstep, axis=1)[:, K - P :])
            ).sum(axis=1)
            tail = np.where(diverges, np.where(block == 0, 0.0, np.copysign(np.inf, block)), tail)
        tails.append(tail)
    return (tails[0], tails[1]), rho0


def remaining_given_theta(
    tables: LifetimeTables, rows: np.ndarray, age: int, theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(net, gross) expected discounted value after age month `age` (at the horizon's end) of customers
    of adoption-pattern rows `rows` with their own θ (`theta`, one per customer), there at the end of `age`,
    on the last month's values (`tables.final`), discounted to the purchase — exact per customer (the
    periodic closed form of `_rest`). Where the population's remainder diverges (no discount, no leaving
    through problems, α ≤ 1) it is the population's ±inf, so that a mean over customers estimates the
    (infinite) LTV."""
    final = tables.final
    mix = final.calendar.mixture
    if mix is None:
        raise ValueError("remaining_given_theta needs customers who differ (retention model sbg)")
    rows = np.asarray(rows, dtype=np.int64)
    log_stay = _log_stay(np.asarray(theta, dtype=float), mix.scale[-1:])[:, 0]
    net, gross = _rest(final.life, rows, age, log_stay)
    d = final.discount[age]
    pop_net, pop_gross = final.remaining_ltv[rows, age], final.remaining_ltv_gross[rows, age]
    return (
        np.where(np.isfinite(pop_net), d * net, pop_net),
        np.where(np.isfinite(pop_gross), d * gross, pop_gross),
    )


def horizon_remaining(tables: LifetimeTables) -> tuple[np.ndarray, np.ndarray]:
    """(net, gross) expected discounted value after the horizon of a customer who bought in month m0 and is
    still there at the horizon's end (age A = H-1-m0), discounted to the purchase, per m0 (rows) and
    adoption pattern (columns), shape (H, patterns), on the last month's values past the horizon.

    Constant churn: the last month's tables' `remaining_ltv` at age A. Customers who differ: the per-θ
    remainder r_θ(A) (`_rest_by_age`) weighted by the θ of the cohort's survivors, w_j C_j(m0 → H-1) /
    Σ_j w_j C_j (its churn survival from the purchase to the horizon's end on the plan's months)."""
    final = tables.final
    values = tables.calendar
    H = values.churn.shape[0]
    ages = H - 1 - np.arange(H)
    pop_net, pop_gross = final.remaining_ltv[:, ages].T, final.remaining_ltv_gross[:, ages].T
    mix = values.mixture
    if mix is None:
        return pop_net, pop_gross
    N = mix.nodes.size
    patterns = final.pattern_prob.size
    ls = np.asarray(mix.log_stay)
    to_end = np.zeros((N, H))  # Σ_{t=m0+1..H-1} log stay: the cohort of m0's churn survival to the end
    if H > 1:
        to_end[:, :-1] = np.cumsum(ls[:, :0:-1], axis=1)[:, ::-1]
    top = to_end.max(axis=0)
    alive = np.isfinite(top)
    with np.errstate(invalid="ignore"):
        c = mix.weights[:, None] * np.exp(to_end - np.where(alive, top, 0.0)[None, :])  # (N, m0)
    total = c.sum(axis=0)
    c = np.where(total > 0, c / np.where(total > 0, total, 1.0), 0.0)
    assert final.node_rest is not None
    columns = _rest_column(ages, final.period)
    out = []
    for r, pop in ((final.node_rest[0], pop_net), (final.node_rest[1], pop_gross)):
        by_age = r.reshape(patterns, N, -1)[:, :, columns]  # (patterns, N, m0): at each cohort's age
        with np.errstate(invalid="ignore"):
            mixed = np.einsum("pjm,jm->mp", np.where(c[None, :, :] > 0, by_age, 0.0), c)
        out.append(np.where(np.isfinite(pop), final.discount[ages][:, None] * mixed, pop))
    return out[0], out[1]


def _rest_by_age(
    life: _Life, rows: np.ndarray, log_stay: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """`_rest` at every age 0 … n-1, shape (items, n) each: the closed form at the top age (P, or n-1
    without a period), then the backward recursion r(a − 1) = v y kstep(a) (flow(a) + r(a)) down to 0;
    past P the ages repeat with the period."""
    P = life.period
    top = n - 1 if P == 0 else min(n - 1, P)
    net = np.zeros((rows.size, n))
    gross = np.zeros((rows.size, n))
    a, b = _rest(life, rows, top, log_stay)
    net[:, top], gross[:, top] = a, b
    if top > 0:
        k = np.arange(1, top + 1)
        g = np.exp(life.log_v + log_stay[:, None] + life.log_kstep[rows[:, None], k[None, :]])  # (items, top)
        with np.errstate(invalid="ignore"):
            for age in range(top, 0, -1):
                a = g[:, age - 1] * (life.net[rows, age] + a)
                b = g[:, age - 1] * (life.gross[rows, age] + b)
                net[:, age - 1], gross[:, age - 1] = a, b
    if n - 1 > top:  # P > 0: r(a) = r(1 + (a − 1) mod P) for a >= 1
        phase = 1 + (np.arange(top + 1, n) - 1) % P
        net[:, top + 1 :] = net[:, phase]
        gross[:, top + 1 :] = gross[:, phase]
    return net, gross
