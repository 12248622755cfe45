"""The expected-value model: the engine's means, month by month, in a few milliseconds.

Exact where the model is linear in expectation (a desk with spare capacity): paid leads, the funnel's
delays (a phase-type distribution integrated over the arrival month, with each new customer's presence
in its purchase month), customers' lives (the exact tables of `sim.accounting.lifetimes`), existing customers
(enumerated over their visit phases) and the referral feedback (followed in eighths of a month for
the first six months, where the month's first customers bring most of its referral leads, then month
by month). Left approximate: arrivals within an eighth of a month, and after month 6 referral leads
within their month, are taken as even. Where the desk is constrained, waits and lost leads come from
`sim.analytic.queueing` (exact M/M/n+D round the clock; an approximation with working hours).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.accounting import frames
from sim.accounting.ledger import complete_monthly, kpis
from sim.accounting.lifetimes import LifetimeTables, lifetime_tables, problem_leave_factor
from sim.analytic.queueing import DeskPerformance, desk_performance
from sim.model.calendar import MONTH_DAYS, YEAR_DAYS
from sim.model.scenario import Scenario, load_scenario

MAX_PHASE_COMBINATIONS = 20_000
"""Above this many (stream, phase) combinations of existing customers with problems switched on, their
survival uses the mean visit rate instead of enumerating the phases (an approximation)."""


@dataclass(frozen=True)
class ExpectedResult:
    """Expected monthly ledger and KPIs of a scenario (no randomness)."""

    scenario: Scenario
    arrays: dict[str, np.ndarray]
    """Every monthly column as an array (index 0 = month 1)."""
    kpi: dict[str, float]
    """Every KPI."""
    desk: DeskPerformance | None = None
    """The desk's figures at the mean load over the horizon (None without a desk)."""
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    @property
    def monthly(self) -> pd.DataFrame:
        """One row per month, the same columns as `simulate(...).monthly` (replication 0)."""
        if "monthly" not in self._frames:
            self._frames["monthly"] = frames.monthly_frame([self.arrays])
        return self._frames["monthly"]

    @property
    def kpis(self) -> pd.DataFrame:
        """One row, the same KPI columns as `simulate(...).kpis`."""
        if "kpis" not in self._frames:
            self._frames["kpis"] = frames.kpi_frame([self.kpi])
        return self._frames["kpis"]


@dataclass(frozen=True)
class DelayKernel:
    """Where the sales of a month's leads fall, for leads arriving uniformly within their month."""

    stage_delays: np.ndarray
    """Mean days of each funnel stage."""
    shift_days: float
    """Days added to every delay (the desk's wait and handling)."""

    sales: np.ndarray
    """P(the sale falls j months after the lead's arrival month), j = 0 … months-1."""
    presence: np.ndarray
    """Expected days from the sale to the end of its month, counted in month j (0 if not sold there):
    a new customer's presence in its purchase month, for its referral leads."""


def _g_functions(means: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """G(x) = E[(x - D)^+] and G2(x) = E[(x - D)^+ ^2] / 2 for D a sum of exponential stages with the
    given means; zero for x <= 0. Distinct rates use the hypoexponential closed form
    P(D > x) = sum_i C_i exp(-r_i x), C_i = prod_{j != i} r_j / (r_j - r_i); rates closer than 1e-3
    (relative) use the phase-type matrix exponential instead, which is exact for repeated rates."""
    xp = np.maximum(x, 0.0)
    if means.size == 0:
        return xp, xp * xp / 2.0
    rates = np.sort(1.0 / means)
    if rates.size == 1 or np.min(np.diff(rates) / rates[1:]) > 1e-3:
        diff = rates[None, :] - rates[:, None]
        np.fill_diagonal(diff, 1.0)
        ratio = rates[None, :] / diff
        np.fill_diagonal(ratio, 1.0)
        C = ratio.prod(axis=1)
        ed = float((C / rates).sum())  # E[D]
        e = np.exp(-rates[:, None] * xp[None, :])
        G = xp - ed + (C / rates) @ e
        G2 = xp * xp / 2.0 - ed * xp + (C / rates**2) @ (1.0 - e)
    else:
        # Phase type: alpha = e_1, S bidiagonal, R = alpha S^-1, R2 = alpha S^-2, w(x) = exp(S x) 1:
        # G(x) = x - R (w(x) - 1) and G2(x) = x^2/2 + x R 1 - R2 (w(x) - 1).
        from scipy.linalg import expm

        n = rates.size
        S = np.diag(-rates) + np.diag(rates[:-1], k=1)
        ones = np.ones(n)
        R = np.linalg.solve(S.T, np.eye(n)[0])
        R2 = np.linalg.solve(S.T, R)
        W = np.ones((xp.size, n))  # w(0) = 1; x is an arithmetic sequence (step M) from delay_kernel
        positive = np.flatnonzero(x > 0)
        if positive.size:
            i0 = positive[0]
            W[i0] = expm(S * xp[i0]) @ ones
            if positive.size > 1:
                step = expm(S * (xp[i0 + 1] - xp[i0]))
                for i in range(i0 + 1, xp.size):
                    W[i] = step @ W[i - 1]
        G = xp - (W - ones) @ R
        G2 = xp * xp / 2.0 + (R @ ones) * xp - (W - ones) @ R2
    return np.where(x > 0, G, 0.0), np.where(x > 0, G2, 0.0)


def delay_kernel(stage_delays_days: np.ndarray, shift_days: float, months: int) -> DelayKernel:
    """Sales timing of a month's leads: the lead arrives uniformly within its month, the sale comes
    `shift_days` plus a sum of exponential stages (the given means) later.

    With X = U M + D, E[(a - X)^+] = (G2(a) - G2(a - M)) / M and P(X < a) = (G(a) - G(a - M)) / M, so
    K[j] = P(jM <= X < (j+1)M) and the presence in the sale month
    E[((j+1)M - X) 1{jM <= X < (j+1)M}] = E[((j+1)M - X)^+] - E[(jM - X)^+] - M P(X < jM).
    """
    M = MONTH_DAYS
    means = np.asarray([d for d in stage_delays_days if d > 0], dtype=float)
    x = np.arange(-1, months + 1) * M - shift_days  # (j-1 .. j+1) M - shift, for j = 0 .. months
    G, G2 = _g_functions(means, x)
    below = (G[1:] - G[:-1]) / M  # P(X < jM), j = 0 .. months
    hinge = (G2[1:] - G2[:-1]) / M  # E[(jM - X)^+], j = 0 .. months
    sales = below[1:] - below[:-1]
    presence = hinge[1:] - hinge[:-1] - M * below[:-1]
    return DelayKernel(
        np.asarray(stage_delays_days, dtype=float),
        float(shift_days),
        np.clip(sales, 0.0, 1.0),
        np.clip(presence, 0.0, M),
    )


def _existing_by_age(scenario: Scenario, H: int) -> dict[str, np.ndarray]:
    """Expected visits, margin, revenue, problems, active and presence of the customers at month 0, per
    calendar month (age month k = month k)."""
    N = scenario.existing_customers.count
    keys = ("visits", "margin", "revenue", "problems", "active", "presence")
    if N == 0:
        return {k: np.zeros(H) for k in keys}
    c = scenario.effective_churn
    keep = problem_leave_factor(scenario)
    k = np.arange(1, H + 1)
    factor = scenario.repeat_margin_factor
    pr = scenario.problems
    p = pr.visit_problem_probability if pr else 0.0
    streams = scenario.repeat
    combos = math.prod(1 + s.interval_months for s in streams) if streams else 1
    if keep >= 1.0 or combos > MAX_PHASE_COMBINATIONS:
        # Survival does not depend on the visits (or is approximated with the mean visit rate).
        rate = sum(s.adoption / s.interval_months for s in streams)
        log_step = (math.log1p(-c) if c < 1 else -math.inf) + (
            rate * math.log(keep) if keep > 0 else -math.inf
        )
        log_step = log_step if k.size else 0.0
        with np.errstate(invalid="ignore"):
            surv = np.exp(log_step * k) if math.isfinite(log_step) else np.zeros(H)
        visit_rate = np.full(H, rate)
        margin_rate = np.full(H, sum(s.adoption * s.margin * factor / s.interval_months for s in streams))
        revenue_rate = np.full(H, sum(s.adoption * s.revenue / s.interval_months for s in streams))
        vis, mar, rev = visit_rate * surv, margin_rate * surv, revenue_rate * surv
    else:
        # Enumerate: each stream not adopted, or adopted with its first visit in month u = 1..I.
        options = []
        for s in streams:
            opts = [(1.0 - s.adoption, None)] + [
                (s.adoption / s.interval_months, u) for u in range(1, s.interval_months + 1)
            ]
            options.append(opts)
        weights, v_rows, m_rows, r_rows = [], [], [], []
        for choice in itertools.product(*options) if streams else [()]:
            w = math.prod(o[0] for o in choice)
            if w == 0:
                continue
            v = np.zeros(H)
            m = np.zeros(H)
            r = np.zeros(H)
            for s, (_, u) in zip(streams, choice, strict=True):
                if u is None:
                    continue
                due = (k >= u) & ((k - u) % s.interval_months == 0)
                v += due
                m += due * s.margin * factor
                r += due * s.revenue
            weights.append(w)
            v_rows.append(v)
            m_rows.append(m)
            r_rows.append(r)
        W = np.array(weights)
        V = np.array(v_rows)
        prev = np.zeros_like(V)
        prev[:, 1:] = V[:, :-1]  # visits in the month before each check (none before month 1)
        log_pass = math.log1p(-c) if c < 1 else -math.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            steps = log_pass + np.where(prev > 0, prev * (math.log(keep) if keep > 0 else -np.inf), 0.0)
            S = np.exp(np.cumsum(steps, axis=1))
        surv = W @ S
        vis = W @ (V * S)
        mar = W @ (np.array(m_rows) * S)
        rev = W @ (np.array(r_rows) * S)
    presence = MONTH_DAYS * np.concatenate([[1.0], surv[:-1]])
    return {
        "visits": N * vis,
        "margin": N * mar,
        "revenue": N * rev,
        "problems": N * p * vis,
        "active": N * surv,
        "presence": N * presence,
    }


def _new_by_age(scenario: Scenario, tables: LifetimeTables, H: int) -> dict[str, np.ndarray]:
    """Expected figures of one new customer by age month 0 … H-1 (age 0 = purchase month)."""
    act = tables.expected_by_age("active")[:H]
    vis = tables.expected_by_age("visits")[:H]
    mar = tables.expected_by_age("margin")[:H].copy()
    rev = tables.expected_by_age("revenue")[:H].copy()
    mar[0] -= scenario.first_purchase.margin  # the first purchase is booked with the sale
    rev[0] -= scenario.first_purchase.revenue
    p = scenario.problems.visit_problem_probability if scenario.problems else 0.0
    problems = p * vis
    problems[0] += p  # the first purchase is a visit too
    presence = MONTH_DAYS * np.concatenate([[0.5], act[:-1]])
    return {
        "active": act,
        "visits": vis,
        "margin": mar,
        "revenue": rev,
        "problems": problems,
        "presence": presence,
    }


def _conv(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return np.convolve(x, kernel)[: x.size]


FINE_MONTHS = 6
"""Months at the start whose referral feedback is followed in steps of 1/SUBSTEPS month: there the few
customers bought late in the month bring most of the referral leads, which then come late too."""

SUBSTEPS = 8
"""Steps per month in the first FINE_MONTHS months (about four days)."""


def _solve_sales_fine(
    scenario: Scenario,
    kernel: DelayKernel,
    lost: np.ndarray,
    presence_new: np.ndarray,
    presence_existing: np.ndarray,
    months: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paid sales, referral sales and referral leads of the first `months` months, the referral feedback
    followed in steps of 1/SUBSTEPS month: a step's referral leads come from existing customers and
    earlier months' customers (whole months, from the tables) and from the customers who bought earlier
    in the month (step by step); every lead's sale is timed with the step kernel."""
    S = SUBSTEPS
    h = MONTH_DAYS / S
    N = months * S
    means = np.asarray([d for d in kernel.stage_delays if d > 0], dtype=float)
    G, _ = _g_functions(means, np.arange(-1, N + 1) * h - kernel.shift_days)
    kf = np.clip((G[2:] - 2.0 * G[1:-1] + G[:-2]) / h, 0.0, 1.0)
    p_ref = scenario.referral_conversion
    r_day = scenario.referral_rate_per_year / YEAR_DAYS
    keep = np.repeat(1.0 - lost[:months], S).tolist()
    paid = scenario.funnel_conversion * _conv(
        np.repeat(scenario.paid_leads_per_month * (1.0 - lost[:months]) / S, S), kf
    )
    paid_l = paid.tolist()
    new_f = [0.0] * N
    ref_leads_f = [0.0] * N
    ref_reached_f = np.zeros(2 * N)  # padded in front so every step reads a full window
    window = np.append(kf, 0.0)[N:0:-1].copy()  # kf[N], …, kf[1]: weights of the previous steps
    k0 = float(kf[0])
    new_m = np.zeros(months)
    whole = bought = 0.0
    half = h / 2.0
    for t in range(N):
        if t % S == 0:
            m = t // S
            if m:
                new_m[m - 1] = sum(new_f[t - S : t])
            whole = (presence_existing[m] + (new_m[:m] @ presence_new[m:0:-1] if m else 0.0)) / S
            bought = 0.0
        present = whole + h * bought  # customer-days in this step, but this step's own customers
        earlier = float(ref_reached_f[t : t + N] @ window)
        a = r_day * keep[t] * p_ref * k0
        nf = (paid_l[t] + p_ref * earlier + a * present) / (1.0 - a * half)
        new_f[t] = nf
        ref_leads_f[t] = r_day * (present + half * nf)
        ref_reached_f[t + N] = ref_leads_f[t] * keep[t]
        bought += nf

    def by_month(x: list[float] | np.ndarray) -> np.ndarray:
        return np.reshape(np.asarray(x), (months, S)).sum(axis=1)

    sales_paid = by_month(paid)
    return sales_paid, by_month(new_f) - sales_paid, by_month(ref_leads_f)


def _solve_sales(
    scenario: Scenario,
    kernel: DelayKernel,
    lost: np.ndarray,
    presence_new: np.ndarray,
    presence_existing: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monthly paid sales, referral sales and referral leads, with the referral feedback.

    Referral leads of month m come from the customers present: existing ones, earlier customers in
    their whole months, and new customers for the rest of their purchase month (from the kernel). The
    first FINE_MONTHS months are followed in finer steps (`_solve_sales_fine`); later months solve a
    linear equation per month, the month's referral leads taken as spread evenly over it.
    """
    H = scenario.horizon_months
    K, P = kernel.sales, kernel.presence
    p = scenario.funnel_conversion
    paid_reached = scenario.paid_leads_per_month * (1.0 - lost)
    sales_paid = p * _conv(paid_reached, K)
    r_day = scenario.referral_rate_per_year / YEAR_DAYS
    if r_day == 0:
        return sales_paid, np.zeros(H), np.zeros(H)
    p_ref = scenario.referral_conversion
    partial_paid = p * _conv(paid_reached, P)  # purchase-month presence of paid customers, days
    new = np.zeros(H)
    ref_leads = np.zeros(H)
    ref_reached = np.zeros(H)
    F = min(FINE_MONTHS, H)
    fine_paid, fine_ref, fine_leads = _solve_sales_fine(
        scenario, kernel, lost, presence_new, presence_existing, F
    )
    new[:F] = fine_paid + fine_ref
    ref_leads[:F] = fine_leads
    ref_reached[:F] = fine_leads * (1.0 - lost[:F])
    for m in range(F, H):
        whole = new[:m] @ presence_new[m:0:-1] if m else 0.0
        partial_ref = p_ref * (ref_reached[:m] @ P[m:0:-1]) if m else 0.0
        known = presence_existing[m] + whole + partial_paid[m] + partial_ref
        self_share = r_day * p_ref * P[0] * (1.0 - lost[m])  # this month's referral customers' presence
        ref_leads[m] = r_day * known / (1.0 - self_share)
        ref_reached[m] = ref_leads[m] * (1.0 - lost[m])
        new[m] = sales_paid[m] + p_ref * (ref_reached[: m + 1] @ K[m::-1])
    return sales_paid, new - sales_paid, ref_leads


def expected_arrays(
    scenario: Scenario, tables: LifetimeTables | None = None
) -> tuple[dict[str, np.ndarray], dict[str, float], DeskPerformance | None]:
    """The expected monthly columns and KPIs (the fast path behind `expected`)."""
    sc = scenario
    H = sc.horizon_months
    T = H * MONTH_DAYS
    tables = tables if tables is not None else lifetime_tables(sc)
    new_age = _new_by_age(sc, tables, H)
    existing = _existing_by_age(sc, H)
    paid = sc.paid_leads_per_month
    desk = sc.sales_desk
    stage_delays = np.array([st.delay_days for st in sc.funnel])
    handling_days = desk.handling_minutes / 1440.0 if desk else 0.0

    lost = np.zeros(H)
    wait = np.zeros(H)
    perf = None
    if desk is not None:
        perf = desk_performance(desk, paid / MONTH_DAYS, T)
        lost[:] = perf.lost_share
        wait[:] = perf.mean_wait_days
    kernel = delay_kernel(stage_delays, float(wait.mean()) + handling_days, H)
    sales_paid, sales_ref, ref_leads = _solve_sales(
        sc, kernel, lost, new_age["presence"], existing["presence"]
    )
    if desk is not None and ref_leads.any():
        # Second pass: the desk at each month's load, paid and referral leads together.
        load = (paid + ref_leads) / MONTH_DAYS
        grid = np.unique(np.linspace(load.min(), load.max(), 3)) if load.max() > load.min() else load[:1]
        perfs = [desk_performance(desk, float(x), T) for x in grid]
        lost = np.interp(load, grid, [q.lost_share for q in perfs])
        wait = np.interp(load, grid, [q.mean_wait_days for q in perfs])
        perf = desk_performance(desk, float(load.mean()), T)
        kernel = delay_kernel(stage_delays, float(wait.mean()) + handling_days, H)
        sales_paid, sales_ref, ref_leads = _solve_sales(
            sc, kernel, lost, new_age["presence"], existing["presence"]
        )

    new = sales_paid + sales_ref
    leads = paid + ref_leads
    reached = leads * (1.0 - lost)
    fp = sc.first_purchase
    booked = {
        "leads_paid": np.full(H, paid),
        "leads_referral": ref_leads,
        "leads_lost": leads * lost,
        "leads_reached": reached,
        "wait_hours_sum": reached * wait * 24.0,
        "sales": new,
        "sales_referral": sales_ref,
        "active_customers": _conv(new, new_age["active"]) + existing["active"],
        "repeat_visits": _conv(new, new_age["visits"]) + existing["visits"],
        "problems": _conv(new, new_age["problems"]) + existing["problems"],
        "revenue": new * fp.revenue + _conv(new, new_age["revenue"]) + existing["revenue"],
        "margin_first_sale": sales_paid * fp.margin,
        "margin_referral_sale": sales_ref * fp.margin,
        "margin_repeat": _conv(new, new_age["margin"]) + existing["margin"],
        "lead_spend": np.full(H, sum(ch.leads_per_month * ch.cost_per_lead for ch in sc.channels)),
        "referral_bonus": sales_ref * (sc.referrals.bonus if sc.referrals else 0.0),
    }
    booked["problem_cost"] = booked["problems"] * (sc.problems.cost_per_problem if sc.problems else 0.0)
    monthly = complete_monthly(sc, booked)
    busy = float(reached.sum()) * handling_days
    open_days = 0.0
    if desk is not None:
        open_days = desk.staff * desk.open_days(T)
    k = kpis(sc, monthly, tables, tables.ltv, busy, open_days)
    return monthly, k, perf


def expected(scenario: Scenario | str | Path) -> ExpectedResult:
    """Expected monthly ledger and KPIs of a scenario: `.monthly` (one row per month, the engine's
    columns) and `.kpis` (one row; `ltv` is the exact infinite-horizon discounted value)."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    monthly, k, perf = expected_arrays(sc)
    return ExpectedResult(scenario=sc, arrays=monthly, kpi=k, desk=perf)
