"""The expected-value model: the engine's means, month by month, in a few milliseconds.

Exact where the model is linear in expectation (a desk with spare capacity): paid leads, the funnel's
delays (a phase-type distribution integrated over the arrival month, with each new customer's presence
in its purchase month), customers' lives (the exact tables of `sim.accounting.lifetimes`), existing customers
(enumerated over their visit phases) and the referral feedback (followed in eighths of a month for
the first six months, where the month's first customers bring most of its referral leads, then month
by month). Left approximate: arrivals within an eighth of a month, and after month 6 referral leads
within their month, are taken as even. Where the desk is constrained, waits, lost leads and cooling come
from `sim.analytic.queueing` (exact M/M/n+D round the clock; an approximation with working hours).

Plans over time (docs/model.md) are read lever by lever (`sim.model.plan.values`): paid leads, their cost
and quality by arrival month; conversions, the referral multiplier, the funnel's delays and the desk's
handling time, patience and cooling half-life by the lead's arrival month (the sales are a sum over arrival
months of the month's buyers × the delay kernel of its delays and handling: one kernel per distinct set of
those levers, `_kernels`); the referral rate, the first-purchase margin, the referral bonus and the repeat
margins by the month they apply in; problems (p, cost, and the leave factor keep = 1 − p q at the next
check) by the visit's month; the desk month by month (staff and hours, and the handling, patience and
cooling of the month's leads). Churn is a period effect (the check at the end of calendar month m uses
month m's churn and programme multiplier for every customer), so with a plan the customers' figures are
cohort × calendar sums: each purchase month m0 has its own survival path, an O(H²) matrix; the levers a
customer keeps from its purchase month (the streams' adoption and interval, θ's Beta) give each group of
cohorts its own adoption patterns and lifetime tables (`sim.accounting.lifetimes.cohort_tables`), and the
existing customers take month 1's. Without a plan this is the same model as before, computed the same
way; a plan that leaves the new levers alone is computed as before too.

Customers who differ (`[retention] model = "sbg"`, docs/model.md): every customer's churn is its own θ ×
c(m) / E[θ]. The new customers' figures come from the lifetime tables, which mix over θ exactly; the
existing customers' and a planned cohort's churn survival are the same mixture (`ChurnMixture.survival`,
`ChurnMixture.paths`: E_θ of the product of the checks' pass probabilities), and a planned cohort's
remainder after the horizon mixes over the θ of its own survivors (`horizon_remaining`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.accounting import frames
from sim.accounting.ledger import CHANNEL_COLUMNS, channel_kpis, complete_monthly, kpis
from sim.accounting.lifetimes import (
    ChurnMixture,
    LifetimeTables,
    cohort_scenario,
    cohort_tables,
    horizon_remaining,
    lifetime_tables,
    problem_leave_factor,
)
from sim.analytic.queueing import DeskPerformance, desk_performances
from sim.model import plan
from sim.model.calendar import MONTH_DAYS, YEAR_DAYS, monthly_discount
from sim.model.scenario import RepeatStream, SalesDesk, Scenario, load_scenario

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
    """The desk's figures at the mean load over the horizon (None without a desk; with a plan, month 1's
    desk)."""
    channel_arrays: dict[str, np.ndarray] = field(default_factory=dict)
    """Each of `sim.accounting.ledger.CHANNEL_COLUMNS`, shape (channels + 1, horizon): the paid channels in
    the scenario's order, then the referral leads."""
    channel_kpi: dict[str, np.ndarray] = field(default_factory=dict)
    """Each of `sim.accounting.ledger.CHANNEL_KPI_COLUMNS`, shape (channels + 1,), referrals last."""
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    @property
    def monthly(self) -> pd.DataFrame:
        """One row per month, the same columns as `simulate(...).monthly` (replication 0; `date` with the
        scenario's `start`)."""
        if "monthly" not in self._frames:
            self._frames["monthly"] = frames.monthly_frame([self.arrays], None, plan.dates(self.scenario))
        return self._frames["monthly"]

    @property
    def kpis(self) -> pd.DataFrame:
        """One row, the same KPI columns as `simulate(...).kpis`."""
        if "kpis" not in self._frames:
            self._frames["kpis"] = frames.kpi_frame([self.kpi])
        return self._frames["kpis"]

    @property
    def channels(self) -> pd.DataFrame:
        """One row per (month, channel), the same columns as `simulate(...).channels` (replication 0)."""
        if "channels" not in self._frames:
            names = [c.name for c in self.scenario.channels]
            self._frames["channels"] = frames.channel_frame(
                [self.channel_arrays], names, None, plan.dates(self.scenario)
            )
        return self._frames["channels"]

    @property
    def channel_kpis(self) -> pd.DataFrame:
        """One row per channel, the same columns as `simulate(...).channel_kpis` (replication 0)."""
        if "channel_kpis" not in self._frames:
            names = [c.name for c in self.scenario.channels]
            self._frames["channel_kpis"] = frames.channel_kpi_frame([self.channel_kpi], names)
        return self._frames["channel_kpis"]


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

    Remembered (the last KERNEL_CACHE kernels; arrays read-only): the draws of a band share the kernels
    of the levers and waits they do not change.
    """
    delays = tuple(np.asarray(stage_delays_days, dtype=float).tolist())
    return _delay_kernel(delays, float(shift_days), int(months))


KERNEL_CACHE = 256
"""Delay kernels (and step kernels) remembered, by delays, shift and length."""


@functools.lru_cache(maxsize=KERNEL_CACHE)
def _delay_kernel(stage_delays_days: tuple[float, ...], shift_days: float, months: int) -> DelayKernel:
    """`delay_kernel` (its arrays read-only)."""
    M = MONTH_DAYS
    means = np.asarray([d for d in stage_delays_days if d > 0], dtype=float)
    x = np.arange(-1, months + 1) * M - shift_days  # (j-1 .. j+1) M - shift, for j = 0 .. months
    G, G2 = _g_functions(means, x)
    below = (G[1:] - G[:-1]) / M  # P(X < jM), j = 0 .. months
    hinge = (G2[1:] - G2[:-1]) / M  # E[(jM - X)^+], j = 0 .. months
    sales = below[1:] - below[:-1]
    presence = hinge[1:] - hinge[:-1] - M * below[:-1]
    out = DelayKernel(
        np.asarray(stage_delays_days, dtype=float),
        float(shift_days),
        np.clip(sales, 0.0, 1.0),
        np.clip(presence, 0.0, M),
    )
    for a in (out.stage_delays, out.sales, out.presence):
        a.flags.writeable = False
    return out


@functools.lru_cache(maxsize=KERNEL_CACHE)
def _step_kernel(stage_delays_days: tuple[float, ...], shift_days: float, steps: int) -> np.ndarray:
    """P(the sale falls i steps of 1/SUBSTEPS month after its lead's step), i = 0 … steps − 1, for a lead
    arriving uniformly within its step (the kernel of `_solve_sales_fine`), read-only."""
    h = MONTH_DAYS / SUBSTEPS
    means = np.asarray([d for d in stage_delays_days if d > 0], dtype=float)
    G, _ = _g_functions(means, np.arange(-1, steps + 1) * h - shift_days)
    out = np.clip((G[2:] - 2.0 * G[1:-1] + G[:-2]) / h, 0.0, 1.0)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class _Kernels:
    """The delay kernels of the arrival months (docs/model.md: a lead carries its arrival month's funnel
    delays, handling time, patience and cooling): months that share those levers share a kernel."""

    kernels: tuple[DelayKernel, ...]
    """One kernel per distinct set of those levers over the horizon; one without a plan of them."""
    of_month: np.ndarray
    """Index into `kernels` of each arrival month, (H,)."""
    masks: tuple[np.ndarray, ...]
    """1.0 in the arrival months of each kernel, else 0.0, (H,) each."""

    def part(self, x: np.ndarray, g: int) -> np.ndarray:
        """The part of a monthly series that arrives in the months of kernel g (all of it with one)."""
        return x if len(self.kernels) == 1 else x * self.masks[g]

    def matrix(self, what: str = "sales") -> np.ndarray:
        """(H, H): row m' = arrival month, column m: kernel(m')[m − m'] (0 for m < m')."""
        H = self.of_month.size
        lag = _lags(H)[0]
        out = np.zeros((H, H))
        for g, k in enumerate(self.kernels):
            out += self.masks[g][:, None] * np.append(getattr(k, what)[:H], 0.0)[lag]
        return out

    def conv(self, x: np.ndarray, what: str = "sales") -> np.ndarray:
        """Σ over arrival months m' of x[m'] × kernel(m')[m − m'] (`what`: `sales` or `presence`)."""
        if len(self.kernels) == 1:
            return _conv(x, getattr(self.kernels[0], what))
        out = np.zeros(x.size)
        for g, k in enumerate(self.kernels):
            out += _conv(x * self.masks[g], getattr(k, what))
        return out


def _kernels(mv: MonthValues, wait: np.ndarray) -> _Kernels:
    """The delay kernels of the horizon's arrival months: one per distinct set of the levers a lead carries
    from its arrival month (funnel delays, handling time, patience, cooling half-life), each shifted by its
    handling time plus the mean wait (days) of the months that share it. Staff and hours, which apply by
    the moment, do not split a kernel."""
    H = wait.size
    delays, handling = mv.stage_delays, mv.handling_days
    carried = [(d.patience_hours, d.cooling_half_life_hours) for d in mv.desks]
    if (
        np.all(delays == delays[:, :1])
        and np.all(handling == handling[0])
        and all(c == carried[0] for c in carried[1:])
    ):
        shift = float(wait.mean()) + float(handling[0])
        kernel = delay_kernel(delays[:, 0], shift, H)
        return _Kernels((kernel,), np.zeros(H, dtype=np.int64), (np.ones(H),))
    desk_levers = [carried[g] for g in mv.desk_of_month.tolist()] if carried else [()] * H
    keys = list(zip(zip(*delays.tolist(), strict=True), handling.tolist(), desk_levers, strict=True))
    distinct = list(dict.fromkeys(keys))
    index = {key: i for i, key in enumerate(distinct)}
    of_month = np.array([index[key] for key in keys])
    kernels, masks = [], []
    for g, (stage_delays, handling_days, _) in enumerate(distinct):
        mask = of_month == g
        kernels.append(delay_kernel(np.array(stage_delays), float(wait[mask].mean()) + handling_days, H))
        masks.append(mask.astype(float))
    return _Kernels(tuple(kernels), of_month, tuple(masks))


def _phase_rows(
    streams: Sequence[RepeatStream], k: np.ndarray, margins: Sequence[Any], revenues: Sequence[Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The visit patterns of customers at month 0, enumerated: each stream not adopted, or adopted with
    its first visit in month u = 1 … interval. Returns each pattern's weight (W) and its visits (V),
    margin (M) and revenue (R) in months `k`; `margins`/`revenues` per stream: a value, or one per month.
    Patterns in the order of `itertools.product` over the streams' options; those of weight 0 left out."""
    H = k.size
    W, V, M, R = np.ones(1), np.zeros((1, H)), np.zeros((1, H)), np.zeros((1, H))
    for j, s in enumerate(streams):
        u = np.arange(1, s.interval_months + 1)[:, None]
        due = np.zeros((1 + u.size, H))
        due[1:] = (k[None, :] >= u) & ((k[None, :] - u) % s.interval_months == 0)  # row 0: not adopted
        w = np.array([1.0 - s.adoption] + [s.adoption / s.interval_months] * s.interval_months)
        W = (W[:, None] * w[None, :]).reshape(-1)
        n = W.size
        if j == 0:  # the first stream's rows as they are (no sum with the empty pattern)
            V, M, R = due, due * margins[j], due * revenues[j]
        else:
            V = (V[:, None, :] + due[None, :, :]).reshape(n, H)
            M = (M[:, None, :] + (due * margins[j])[None, :, :]).reshape(n, H)
            R = (R[:, None, :] + (due * revenues[j])[None, :, :]).reshape(n, H)
    keep = W != 0
    return W[keep], V[keep], M[keep], R[keep]


_EXISTING_KEYS = ("visits", "margin", "revenue", "problems", "active", "presence")
"""What `_existing_by_age` and `_existing_planned` give, per calendar month."""


def _existing_flows(
    N: int, p: float | np.ndarray, surv: np.ndarray, vis: np.ndarray, mar: np.ndarray, rev: np.ndarray
) -> dict[str, np.ndarray]:
    """The `N` customers at month 0 from one customer's survival to each month's end (`surv`) and its
    expected visits, margin and revenue by month; `p`: the problem probability of a visit (by month or one
    value). Presence (customer-days in a month) counts the customers there at its start."""
    presence = MONTH_DAYS * np.concatenate([[1.0], surv[:-1]])
    return {
        "visits": N * vis,
        "margin": N * mar,
        "revenue": N * rev,
        "problems": N * p * vis,
        "active": N * surv,
        "presence": N * presence,
    }


def _existing_by_age(scenario: Scenario, H: int) -> dict[str, np.ndarray]:
    """Expected visits, margin, revenue, problems, active and presence of the customers at month 0, per
    calendar month (age month k = month k). Customers who differ: `_existing_planned`."""
    N = scenario.existing_customers.count
    if N == 0:
        return {key: np.zeros(H) for key in _EXISTING_KEYS}
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
        margins = [s.margin * factor for s in streams]
        W, V, M, R = _phase_rows(streams, k, margins, [s.revenue for s in streams])
        prev = np.zeros_like(V)
        prev[:, 1:] = V[:, :-1]  # visits in the month before each check (none before month 1)
        log_pass = math.log1p(-c) if c < 1 else -math.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            steps = log_pass + np.where(prev > 0, prev * (math.log(keep) if keep > 0 else -np.inf), 0.0)
            S = np.exp(np.cumsum(steps, axis=1))
        surv = W @ S
        vis = W @ (V * S)
        mar = W @ (M * S)
        rev = W @ (R * S)
    return _existing_flows(N, p, surv, vis, mar, rev)


# --- the plan, month by month ------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthValues:
    """What the expected-value model reads of each month 1 … H (index 0 = month 1): the scenario's
    values where nothing is planned, else the plan's (`sim.model.plan.values`, lever by lever)."""

    leads: np.ndarray
    """Paid leads of each channel, shape (channels, H), in leads/month."""
    cost_per_lead: np.ndarray
    """CPL of each channel, (channels, H), in currency."""
    paid_conversion: np.ndarray
    """Overall conversion of each channel's paid leads by arrival month, min(1, funnel × quality),
    (channels, H)."""
    referral_conversion: np.ndarray
    """Overall conversion of referral leads by arrival month, (H,)."""
    referral_rate: np.ndarray
    """Referral leads per customer-day in the month (with the programme's uplift), (H,)."""
    first_margin: np.ndarray
    """First-purchase margin of a sale in the month, (H,), in currency."""
    first_revenue: np.ndarray
    """First-purchase revenue of a sale in the month, (H,), in currency."""
    churn: np.ndarray
    """Effective churn at the check at the end of the month (every customer, whatever its age), (H,)."""
    repeat_margin: np.ndarray
    """Margin of one visit of each stream in the month, with the programme's uplift, (streams, H)."""
    repeat_revenue: np.ndarray
    """Revenue of one visit of each stream in the month, (streams, H)."""
    desks: tuple[SalesDesk, ...]
    """The distinct desks of the horizon (each month's `DESK_LEVERS`); empty without a desk."""
    desk_of_month: np.ndarray
    """Index into `desks` of each month, (H,)."""
    contact_cost: np.ndarray
    """The programme's contacts × cost per contact: the cost to serve one customer active at the month's
    end, (H,), in currency."""
    referral_bonus: np.ndarray
    """Bonus of a referral sale in the month, (H,), in currency (0 without referrals)."""
    problem_probability: np.ndarray
    """p(m): the chance that a visit (the first purchase included) in the month has a problem, (H,)."""
    cost_per_problem: np.ndarray
    """cost(m): the cost of a problem at a visit in the month, (H,), in currency."""
    keep: np.ndarray
    """1 − p(m) q(m): the chance that a visit in the month does not make the customer leave at the next
    check, (H,) (1 without problems)."""
    stage_delays: np.ndarray
    """Mean delay of each funnel stage for leads arriving in the month, (stages, H), in days."""
    handling_days: np.ndarray
    """Mean handling time of a lead arriving in the month, (H,), in days (0 without a desk)."""


DESK_LEVERS = ("staff", "hours_per_day", "handling_minutes", "patience_hours", "cooling_half_life_hours")
"""The desk's levers that may change by month: staff and hours by the moment, the rest by the lead's
arrival month; a month's desk (`MonthValues.desks`) holds all five."""


def month_values(scenario: Scenario) -> MonthValues:
    """The values of each month of the horizon (see `MonthValues`)."""
    sc = scenario
    if not sc.planned:
        return _constant_month_values(sc)
    H = sc.horizon_months
    planned = set(plan.planned_paths(sc))

    def series(path: str, base: float) -> np.ndarray:
        return plan.values(sc, path) if path in planned else np.full(H, float(base))

    C = len(sc.channels)
    leads = np.array(
        [series(f"channels.{i}.leads_per_month", c.leads_per_month) for i, c in enumerate(sc.channels)]
    )
    cpl = np.array(
        [series(f"channels.{i}.cost_per_lead", c.cost_per_lead) for i, c in enumerate(sc.channels)]
    )
    quality = np.array(
        [series(f"channels.{i}.lead_quality", c.lead_quality) for i, c in enumerate(sc.channels)]
    )
    leads, cpl, quality = (x.reshape(C, H) for x in (leads, cpl, quality))
    funnel = np.ones(H)
    for j, stage in enumerate(sc.funnel):  # in the stages' order, as `Scenario.funnel_conversion`
        funnel = funnel * series(f"funnel.{j}.conversion", stage.conversion)
    ref = sc.referrals
    multiplier = series("referrals.conversion_multiplier", ref.conversion_multiplier) if ref else 1.0
    prog = sc.service_programme
    churn = series("retention.monthly_churn", sc.retention.monthly_churn)
    if prog is not None:  # month m's multiplier at contacts(m), tolerated(m) and max reduction(m)
        x = series("service_programme.contacts_per_month", prog.contacts_per_month)
        contact_cost = x * series("service_programme.cost_per_contact", prog.cost_per_contact)
        x = x / series("service_programme.tolerated_contacts_per_month", prog.tolerated_contacts_per_month)
        reduction = series("service_programme.max_churn_reduction", prog.max_churn_reduction)
        churn = churn * (1.0 - reduction * (1.0 - (1.0 - x) ** 2))
    else:
        contact_cost = np.zeros(H)
    churn = np.minimum(1.0, np.maximum(0.0, churn))  # as `Scenario.effective_churn`
    factor = 1.0 + series("service_programme.margin_uplift", prog.margin_uplift if prog else 0.0)
    margin = [series(f"repeat.{j}.margin", r.margin) * factor for j, r in enumerate(sc.repeat)]
    revenue = [series(f"repeat.{j}.revenue", r.revenue) for j, r in enumerate(sc.repeat)]
    uplift = series("service_programme.referral_uplift", prog.referral_uplift) if prog else np.zeros(H)
    per_year = (
        series("referrals.per_customer_per_year", sc.referrals.per_customer_per_year)
        if sc.referrals
        else None
    )
    rate = np.zeros(H) if per_year is None else per_year * (1.0 + uplift) / YEAR_DAYS
    desks: tuple[SalesDesk, ...] = ()
    desk_of_month = np.zeros(H, dtype=np.int64)
    handling = np.zeros(H)
    if sc.sales_desk is not None:
        d = sc.sales_desk
        desks = (d,)
        handling = series("sales_desk.handling_minutes", d.handling_minutes) / 1440.0
        if any(f"sales_desk.{f}" in planned for f in DESK_LEVERS):
            by_month = [
                np.rint(series("sales_desk.staff", d.staff)).astype(np.int64).tolist(),
                *(
                    series(f"sales_desk.{f}", getattr(d, f)).tolist()
                    if f"sales_desk.{f}" in planned
                    else [getattr(d, f)] * H
                    for f in DESK_LEVERS[1:]
                ),
            ]
            keys = list(zip(*by_month, strict=True))
            distinct = list(dict.fromkeys(keys))
            index = {key: i for i, key in enumerate(distinct)}
            desk_of_month = np.array([index[key] for key in keys])
            own = tuple(getattr(d, f) for f in DESK_LEVERS)
            desks = tuple(
                d if key == own else d.model_copy(update=dict(zip(DESK_LEVERS, key, strict=True)))
                for key in distinct
            )
    pr = sc.problems
    if pr is not None:  # by the visit's month: p(m), cost(m), q(m) = min(1, base(m) + per_day(m) × days(m))
        p = series("problems.visit_problem_probability", pr.visit_problem_probability)
        leave = np.minimum(
            1.0,
            series("problems.leave_probability_base", pr.leave_probability_base)
            + series("problems.leave_probability_per_day", pr.leave_probability_per_day)
            * series("problems.resolution_days", pr.resolution_days),
        )
        problem_cost = series("problems.cost_per_problem", pr.cost_per_problem)
        keep = 1.0 - p * leave
    else:
        p, problem_cost, keep = np.zeros(H), np.zeros(H), np.ones(H)
    delays = [series(f"funnel.{j}.delay_days", st.delay_days) for j, st in enumerate(sc.funnel)]
    return MonthValues(
        leads=leads,
        cost_per_lead=cpl,
        paid_conversion=np.minimum(1.0, funnel[None, :] * quality),
        referral_conversion=np.minimum(1.0, funnel * multiplier),
        referral_rate=rate,
        first_margin=series("first_purchase.margin", sc.first_purchase.margin),
        first_revenue=series("first_purchase.revenue", sc.first_purchase.revenue),
        churn=churn,
        repeat_margin=np.array(margin).reshape(len(sc.repeat), H),
        repeat_revenue=np.array(revenue).reshape(len(sc.repeat), H),
        desks=desks,
        desk_of_month=desk_of_month,
        contact_cost=contact_cost,
        referral_bonus=series("referrals.bonus", ref.bonus) if ref else np.zeros(H),
        problem_probability=p,
        cost_per_problem=problem_cost,
        keep=keep,
        stage_delays=np.array(delays).reshape(len(sc.funnel), H),
        handling_days=handling,
    )


def _constant_month_values(sc: Scenario) -> MonthValues:
    """`month_values` of a scenario without a plan: every month the scenario's own values."""
    H = sc.horizon_months
    ones = np.ones(H)
    channels = sc.channels
    funnel = sc.funnel_conversion
    factor = sc.repeat_margin_factor
    prog = sc.service_programme
    fp = sc.first_purchase
    pr = sc.problems
    return MonthValues(
        leads=np.array([c.leads_per_month for c in channels]).reshape(-1, 1) * ones,
        cost_per_lead=np.array([c.cost_per_lead for c in channels]).reshape(-1, 1) * ones,
        paid_conversion=np.array([min(1.0, funnel * c.lead_quality) for c in channels]).reshape(-1, 1) * ones,
        referral_conversion=sc.referral_conversion * ones,
        referral_rate=sc.referral_rate_per_year / YEAR_DAYS * ones,
        first_margin=fp.margin * ones,
        first_revenue=fp.revenue * ones,
        churn=sc.effective_churn * ones,
        repeat_margin=np.array([r.margin * factor for r in sc.repeat]).reshape(-1, 1) * ones,
        repeat_revenue=np.array([r.revenue for r in sc.repeat]).reshape(-1, 1) * ones,
        desks=() if sc.sales_desk is None else (sc.sales_desk,),
        desk_of_month=np.zeros(H, dtype=np.int64),
        contact_cost=(prog.contacts_per_month * prog.cost_per_contact if prog else 0.0) * ones,
        referral_bonus=(sc.referrals.bonus if sc.referrals else 0.0) * ones,
        problem_probability=(pr.visit_problem_probability if pr else 0.0) * ones,
        cost_per_problem=(pr.cost_per_problem if pr else 0.0) * ones,
        keep=problem_leave_factor(sc) * ones,
        stage_delays=np.array([st.delay_days for st in sc.funnel]).reshape(-1, 1) * ones,
        handling_days=(sc.sales_desk.handling_minutes / 1440.0 if sc.sales_desk else 0.0) * ones,
    )


# --- customers ---------------------------------------------------------------------------------------


def _existing_planned(
    scenario: Scenario, mv: MonthValues, H: int, mixture: ChurnMixture | None = None
) -> dict[str, np.ndarray]:
    """`_existing_by_age` with churn, repeat margins and revenues by calendar month (age month k of the
    customers at month 0 is calendar month k: the check at its end uses month k's churn), problems by the
    visit's month (p(m), and keep(m) at the next check) and month 1's adoption and intervals (docs/model.md:
    existing customers take month 1's cohort values). `mixture`: customers who differ (each with its own
    θ, from month 1's Beta), with or without a plan: the survival to the end of month k is then the churn
    part E_θ[Π_{t<k} (1 − min(1, θ s(t)))] (`ChurnMixture.survival`; θ is independent of the visits) × the
    problems' part."""
    N = scenario.existing_customers.count
    if N == 0:
        return {key: np.zeros(H) for key in _EXISTING_KEYS}
    keep_by_month = mv.keep  # a visit in month i (0-based) is kept at the check at the end of month i + 1
    constant_keep = bool(np.all(keep_by_month == keep_by_month[0]))
    keep = float(keep_by_month[0])
    # log keep of the visits' month before each check (month 1's for the first check, at the end of month 1)
    log_keep = [math.log(x) if x > 0 else -math.inf for x in keep_by_month.tolist()]
    log_keep_before = np.array(log_keep[:1] + log_keep[:-1])
    k = np.arange(1, H + 1)
    p = mv.problem_probability
    streams = cohort_scenario(scenario, -1).repeat  # month 1's intervals and adoptions
    margins, revenues = mv.repeat_margin, mv.repeat_revenue  # (streams, H), by calendar month
    mixed = None if mixture is None else mixture.survival(np.arange(H))[1:]  # checks at the ends of 1 … H
    with np.errstate(divide="ignore"):
        log_pass = np.log1p(-mv.churn)  # -inf where churn is 1
    combos = math.prod(1 + s.interval_months for s in streams) if streams else 1
    if bool(np.all(keep_by_month >= 1.0)) or combos > MAX_PHASE_COMBINATIONS:
        rate = sum(s.adoption / s.interval_months for s in streams)
        rate_log_keep = np.array([rate * x if x > -math.inf else -math.inf for x in log_keep_before.tolist()])
        if mixed is None:
            log_step = log_pass + rate_log_keep
            surv = np.exp(np.cumsum(log_step))
        elif constant_keep:
            log_k = rate * math.log(keep) if keep > 0 else -math.inf
            with np.errstate(invalid="ignore"):
                surv = mixed * (np.exp(log_k * k) if math.isfinite(log_k) else np.zeros(H))
        else:
            surv = mixed * np.exp(np.cumsum(rate_log_keep))
        weights = np.array([s.adoption / s.interval_months for s in streams]).reshape(-1, 1)
        vis = np.full(H, rate) * surv
        mar = (weights * margins).sum(axis=0) * surv
        rev = (weights * revenues).sum(axis=0) * surv
    else:
        W, V, M, R = _phase_rows(streams, k, margins, revenues)
        prev = np.zeros_like(V)
        prev[:, 1:] = V[:, :-1]  # visits in the month before each check (none before month 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            steps = np.where(prev > 0, prev * log_keep_before[None, :], 0.0)
            if mixed is None:
                S = np.exp(np.cumsum(log_pass[None, :] + steps, axis=1))
            else:
                S = mixed[None, :] * np.exp(np.cumsum(steps, axis=1))
        surv = W @ S
        vis = W @ (V * S)
        mar = W @ (M * S)
        rev = W @ (R * S)
    return _existing_flows(N, p, surv, vis, mar, rev)


def _new_by_age(scenario: Scenario, tables: LifetimeTables, H: int) -> dict[str, np.ndarray]:
    """Expected figures of one new customer by age month 0 … H-1 (age 0 = purchase month)."""
    act = tables.expected_by_age("active")[:H]
    vis = tables.expected_by_age("visits")[:H]
    mar = tables.expected_by_age("margin")[:H].copy()
    rev = tables.expected_by_age("revenue")[:H].copy()
    mar[0] -= tables.margin[0, 0]  # the first purchase is booked with the sale
    rev[0] -= tables.revenue[0, 0]
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


class _AgeCohorts:
    """New customers whose life is the same whatever their purchase month: monthly figures are
    convolutions of the sales with one customer's figures by age (the lifetime tables)."""

    def __init__(self, scenario: Scenario, tables: LifetimeTables, H: int):
        self.age = _new_by_age(scenario, tables, H)
        self._presence = self.age["presence"]
        self._weights: list[np.ndarray] | None = None

    def whole(self, new: np.ndarray, m: int) -> float:
        """Customer-days in calendar month m of the customers who bought before it."""
        return new[:m] @ self._presence[m:0:-1] if m else 0.0

    def whole_weights(self) -> list[np.ndarray]:
        """For each calendar month m, the weights of `whole`: `whole(new, m) = new[:m] @ weights[m]`."""
        if self._weights is None:
            p = self._presence
            self._weights = [p[m:0:-1] for m in range(p.size)]
        return self._weights

    def flows(self, new: np.ndarray, mv: MonthValues) -> dict[str, np.ndarray]:
        """Active customers, repeat visits, problems (first purchases included), repeat margin and revenue
        by calendar month of the customers who bought `new` (by month)."""
        a = self.age
        return {k: _conv(new, a[k]) for k in ("active", "visits", "problems", "margin", "revenue")}


@functools.lru_cache(maxsize=16)
def _lags(H: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(m − m0 where m >= m0 else H, strictly-after mask m > m0, its negation), shape (H, H): row m0 =
    purchase month, column m = calendar month; read-only."""
    m = np.arange(H)
    lag = m[None, :] - m[:, None]
    out = np.where(lag >= 0, lag, H)
    after = lag > 0
    not_after = ~after
    for a in (out, after, not_after):
        a.flags.writeable = False
    return out, after, not_after


@functools.lru_cache(maxsize=4)
def _discount_by_lag(v: float, H: int) -> np.ndarray:
    """v^(m − m0) for m >= m0, else 0, shape (H, H) (rows purchase months m0, columns calendar months m),
    read-only."""
    out = np.append(v ** np.arange(H), 0.0)[_lags(H)[0]]
    out.flags.writeable = False
    return out


def _churn_paths(churn: np.ndarray) -> np.ndarray:
    """C(m0, m) = Π_{t=m0+1..m} (1 − churn(t)) (1 for m <= m0), shape (H, H): rows purchase months m0,
    columns calendar months m; each row the running product over its months in order, as
    `np.cumprod(np.where(after, 1 − churn, 1), axis=1)`. The rows after the churn's last change are one
    sequence (the powers of the last month's 1 − churn, by lag), so they are read from it."""
    H = churn.size
    q = 1.0 - churn
    lag, after, _ = _lags(H)
    differ = np.flatnonzero(q != q[-1])
    first = int(differ[-1]) if differ.size else 0  # rows r >= first: 1 − churn(t) the same for all t > r
    out = np.empty((H, H))
    if first:
        out[:first] = np.cumprod(np.where(after[:first], q[None, :], 1.0), axis=1)
    powers = np.cumprod(np.full(H, q[-1]))  # the running product of k months: powers[k - 1]
    by_lag = np.concatenate([[1.0], powers[: H - 1], [1.0]])  # lag 0: 1; lag k: k months; lag H (m < m0): 1
    out[first:] = by_lag[lag[first:]]
    return out


_BY_AGE_CACHE = 4
"""`_by_age_lags` results remembered (by their arguments' values)."""
_by_age_remembered: dict[tuple, tuple[tuple[np.ndarray, ...], np.ndarray]] = {}


def _by_age_lags(
    prob: np.ndarray, use: np.ndarray, iv: np.ndarray, keep: float, H: int
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """What `_CohortMatrix._by_age` needs besides the churn's path, which alone changes between the draws
    of a band (remembered by value): (the chance to be there by the problems alone and each stream's
    visits, by age, laid out as (purchase month, calendar month) with 0 before the purchase; each pattern's
    problems' survival at the horizon's end by purchase month, (H, patterns)), read-only."""
    key = (prob.tobytes(), use.tobytes(), use.shape, iv.tobytes(), keep, H)
    hit = _by_age_remembered.get(key)
    if hit is not None:
        return hit
    k = np.arange(H)
    due = ((k[None, :] >= 1) & (k[None, :] % iv == 0)).astype(float)  # (streams, H)
    visits = use @ due  # (patterns, H)
    prev = np.zeros_like(visits)
    prev[:, 1:] = visits[:, :-1]
    if H > 1:
        prev[:, 1] += 1.0  # the first purchase is a visit in age month 0
    with np.errstate(divide="ignore", invalid="ignore"):
        log_keep = np.where(prev > 0, prev * (math.log(keep) if keep > 0 else -np.inf), 0.0)
    survive = np.exp(np.cumsum(log_keep, axis=1))  # (patterns, H), by age
    a0 = prob @ survive
    by_stream = due * ((prob[:, None] * use).T @ survive)  # (streams, H): visits by age
    lag = _lags(H)[0]
    by_lag = tuple(np.append(x, 0.0)[lag] for x in (a0, *by_stream))
    end = survive[:, H - 1 - np.arange(H)].T
    for x in (*by_lag, end):
        x.flags.writeable = False
    if len(_by_age_remembered) >= _BY_AGE_CACHE:
        del _by_age_remembered[next(iter(_by_age_remembered))]
    _by_age_remembered[key] = by_lag, end
    return by_lag, end


COHORT_LEVERS = frozenset({"repeat.interval_months", "repeat.adoption", "retention.alpha", "retention.beta"})
"""Levers a customer keeps for life from its purchase month (docs/model.md: a cohort effect)."""


def _cohort_groups(scenario: Scenario, tables: LifetimeTables) -> list[tuple[np.ndarray, LifetimeTables]]:
    """The purchase months (0-based) that share the levers a customer keeps for life (`COHORT_LEVERS`),
    each with its tables on the last month's values (`sim.accounting.lifetimes.cohort_tables`), month 1's
    first; one group, `tables.final`, when the plan moves none of them."""
    H = scenario.horizon_months
    paths = [p for p in plan.planned_paths(scenario) if ".".join(_lever_key(p)) in COHORT_LEVERS]
    if not paths:
        return [(np.arange(H), tables.final)]
    keys = list(zip(*(plan.values(scenario, p).tolist() for p in paths), strict=True))
    months: dict[tuple[float, ...], list[int]] = {}
    for m0, key in enumerate(keys):
        months.setdefault(key, []).append(m0)
    return [(np.array(ms), cohort_tables(scenario, tables, ms[0])) for ms in months.values()]


def _lever_key(path: str) -> tuple[str, ...]:
    """`repeat.0.adoption` -> (`repeat`, `adoption`): the catalogue's section and field."""
    return tuple(x for x in path.split(".") if not x.isdigit())


class _CohortMatrix:
    """New customers of a planned scenario, by purchase month m0 (rows) and calendar month m (columns).

    A customer who buys in month m0 is there at the end of calendar month m >= m0 with probability
    C(m0, m) × a(m0, m): C(m0, m) the churn part, the product of (1 − churn(t)) over the checks t = m0+1 … m
    (a period effect: each check uses its calendar month's churn, whatever the customer's age; customers
    who differ: its mean over θ ~ Beta(alpha(m0), beta(m0))), and a(m0, m) its survival of problems, which
    depends on its visits: the check at the end of month t passes a visit of month t − 1 with keep(t − 1)
    (by age when keep is the same every month). Adoption, intervals and θ's Beta are the cohort's, those of
    its purchase month (`_cohort_groups`: cohorts of the same structure share their lifetime tables and
    adoption patterns); margins, revenues, problems and costs those of the calendar month they happen in.
    H ≤ 240, so the (H, H) matrices are cheap."""

    def __init__(self, scenario: Scenario, mv: MonthValues, tables: LifetimeTables, H: int):
        J = len(scenario.repeat)
        lag = _lags(H)[0]
        self.lag = lag
        keep = mv.keep
        by_age = bool(np.all(keep == keep[0]))  # the problems' survival depends on the age only
        groups = _cohort_groups(scenario, tables)
        single = len(groups) == 1
        if not single:  # filled group by group below (one group's own arrays are taken as they are)
            self.active = np.zeros((H, H))
            self.visits = [np.zeros((H, H)) for _ in range(J)]
            self.churn_path = np.ones((H, H))
        # per cohort structure: its purchase months, its tables on the last month's values, its patterns'
        # probabilities and each of its cohorts' chance to be there in each pattern at the horizon's end
        self.groups: list[tuple[np.ndarray, LifetimeTables, np.ndarray, np.ndarray]] = []
        self.existing_mixture = groups[0][1].calendar.mixture  # month 1's structure: existing customers'
        constant_path = log_keep_before = None
        ages = H - 1 - np.arange(H)  # age at the horizon's end of each cohort
        for rows, ct in groups:
            streams = cohort_scenario(scenario, int(rows[0])).repeat
            prob = np.asarray(ct.pattern_prob, dtype=float)
            use = np.asarray(ct.pattern_streams, dtype=float).reshape(prob.size, J)
            iv = np.array([s.interval_months for s in streams], dtype=np.int64).reshape(-1, 1)
            mixture = ct.calendar.mixture
            if mixture is None:
                if constant_path is None:
                    constant_path = _churn_paths(mv.churn)
                path = constant_path  # C(m0, m)
            else:  # customers differ: E_θ of the product of the checks' pass probabilities
                path = mixture.paths()
            if by_age:
                active, visits, there = self._by_age(prob, use, iv, float(keep[0]), path, H)
                if not single:
                    active, visits, there = active[rows], [x[rows] for x in visits], there[rows]
            else:
                if log_keep_before is None:  # log keep of the visits' month before each check
                    log_keep = [math.log(x) if x > 0 else -math.inf for x in keep.tolist()]
                    log_keep_before = np.array([0.0, *log_keep[:-1]])
                active, visits, there = self._by_calendar(prob, use, iv, log_keep_before, path[rows], rows, H)
            if single:
                self.active, self.visits, self.churn_path = active, visits, path
            else:
                self.active[rows] = active
                for j in range(J):
                    self.visits[j][rows] = visits[j]
                self.churn_path[rows] = path[rows]
            self.groups.append((rows, ct, prob, there))
        self._ages = ages
        self.presence = np.empty((H, H))
        self.presence[:, 0] = 0.0
        # all month m if there at the end of m-1
        np.multiply(MONTH_DAYS, self.active[:, :-1], out=self.presence[:, 1:])
        self.presence[_lags(H)[2]] = 0.0  # the purchase month's presence comes from the delay kernel
        self._weights: list[np.ndarray] | None = None

    def _by_age(
        self, prob: np.ndarray, use: np.ndarray, iv: np.ndarray, keep: float, path: np.ndarray, H: int
    ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """(active, visits of each stream, there at the horizon's end per pattern) of every cohort with
        these adoption patterns (`prob`, `use`) and intervals, when every visit is kept with `keep`: the
        problems' survival is then a function of the age alone."""
        by_lag, end = _by_age_lags(prob, use, iv, keep, H)
        there = path[:, H - 1][:, None] * end  # (m0, patterns)
        return path * by_lag[0], [path * x for x in by_lag[1:]], there

    def _by_calendar(
        self,
        prob: np.ndarray,
        use: np.ndarray,
        iv: np.ndarray,
        before: np.ndarray,
        path: np.ndarray,
        rows: np.ndarray,
        H: int,
    ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """As `_by_age` for the cohorts `rows` (purchase months; `path` their churn paths), with keep(m) by
        the visit's calendar month: the problems' survival of cohort m0 to the end of month m is
        Π_{t=m0+1..m} keep(t − 1)^(visits of month t − 1), the first purchase a visit of month m0.
        `before[t]`: log keep(t − 1), the factor of one visit at the check at the end of month t."""
        lag = self.lag[rows]
        after = lag < H
        due = (lag[None] > 0) & after[None] & (lag[None] % iv[:, :, None] == 0)  # (streams, m0, m)
        visits = np.einsum("jab,pj->pab", due.astype(float), use)  # (patterns, m0, m)
        prev = np.zeros_like(visits)
        prev[:, :, 1:] = visits[:, :, :-1]
        first = np.flatnonzero(rows < H - 1)
        prev[:, first, rows[first] + 1] += 1.0  # the first purchase: a visit in the purchase month
        with np.errstate(divide="ignore", invalid="ignore"):
            steps = np.where(prev > 0, prev * before[None, None, :], 0.0)
        survive = np.exp(np.cumsum(steps, axis=2))  # (patterns, m0, m)
        active = path * np.where(after, np.tensordot(prob, survive, axes=1), 0.0)
        streams = [path * due[j] * np.tensordot(prob * u, survive, axes=1) for j, u in enumerate(use.T)]
        there = path[:, H - 1][:, None] * survive[:, :, H - 1].T  # (m0, patterns)
        return active, streams, there

    def whole(self, new: np.ndarray, m: int) -> float:
        """Customer-days in calendar month m of the customers who bought before it."""
        return new[:m] @ self.presence[:m, m] if m else 0.0

    def whole_weights(self) -> list[np.ndarray]:
        """For each calendar month m, the weights of `whole`: `whole(new, m) = new[:m] @ weights[m]`."""
        if self._weights is None:
            p = self.presence
            self._weights = [p[:m, m] for m in range(p.shape[0])]
        return self._weights

    def flows(self, new: np.ndarray, mv: MonthValues) -> dict[str, np.ndarray]:
        """As `_AgeCohorts.flows`, the repeat visits valued at their calendar month's margin and revenue,
        problems at the month's p(m)."""
        H = new.size
        visits = np.array([new @ x for x in self.visits]).reshape(-1, H)  # (streams, H)
        total = visits.sum(axis=0)
        return {
            "active": new @ self.active,
            "visits": total,
            "problems": mv.problem_probability * (total + new),
            "margin": (mv.repeat_margin * visits).sum(axis=0),
            "revenue": (mv.repeat_revenue * visits).sum(axis=0),
        }

    def ltv(self, mv: MonthValues, tables: LifetimeTables, v: float) -> tuple[np.ndarray, np.ndarray]:
        """(net, gross) LTV of a customer who buys in month m0 = 0 … H-1 (docs/model.md): its discounted
        flows within the horizon on each calendar month's values, plus its expected discounted remainder
        after the horizon on the last month's values (its structure's tables' remaining value after age
        A = H-1-m0, per adoption pattern, × the pattern's chance to be there at the end of the horizon).
        `tables`: the scenario's lifetime tables (its structures are `self.groups`')."""
        H = mv.churn.size
        discount = _discount_by_lag(v, H)  # v^(m - m0), 0 for m < m0
        # In place, in the same order: margin = 0 + Σ_j visits_j × margin_j(m), visits = 0 + Σ_j visits_j,
        # cost = active × contact cost(m) + visits × p(m) cost(m).
        margin, visits, work = np.zeros((H, H)), np.zeros((H, H)), np.empty((H, H))
        for j, x in enumerate(self.visits):
            margin += np.multiply(x, mv.repeat_margin[j][None, :], out=work)
            visits += x
        per_problem = mv.cost_per_problem * mv.problem_probability  # by the visit's month
        cost = self.active * mv.contact_cost[None, :]
        cost += np.multiply(visits, per_problem[None, :], out=work)
        gross = np.multiply(discount, margin, out=work).sum(axis=1) + mv.first_margin
        # the first purchase's problems too
        net = gross - np.multiply(discount, cost, out=work).sum(axis=1) - per_problem
        net_out, gross_out = np.empty(H), np.empty(H)
        for rows, final, prob, there in self.groups:
            ages = self._ages[rows]
            rests = horizon_remaining(final) if final.calendar.mixture is not None else (None, None)
            for out, within, remaining, block, mixed in (
                (net_out, net, final.remaining_ltv, final.tail_block, rests[0]),
                (gross_out, gross, final.remaining_ltv_gross, final.tail_block_gross, rests[1]),
            ):
                rest = remaining[:, ages].T if mixed is None else mixed[rows]  # (m0, patterns)
                weight = there * prob[None, :]
                infinite = ~np.isfinite(rest) & (weight > 0)
                finite = np.where(infinite | (weight == 0), 0.0, rest)
                with np.errstate(invalid="ignore"):
                    value = within[rows] + (weight * finite).sum(axis=1)
                for i in np.flatnonzero(infinite.any(axis=1)):
                    # A remainder that diverges (no churn, no leaving, no discount): ±inf by its blocks' sign.
                    slope = float((weight[i] * block)[infinite[i]].sum())
                    value[i] = math.copysign(math.inf, slope) if slope != 0 else math.nan
                out[rows] = value
        return net_out, gross_out


Cohorts = _AgeCohorts | _CohortMatrix


FINE_MONTHS = 6
"""Months at the start whose referral feedback is followed in steps of 1/SUBSTEPS month: there the few
customers bought late in the month bring most of the referral leads, which then come late too."""

SUBSTEPS = 8
"""Steps per month in the first FINE_MONTHS months (about four days)."""


def _solve_sales_fine(
    kernels: _Kernels,
    paid_buyers: np.ndarray,
    referral_buy: np.ndarray,
    referral_rate: np.ndarray,
    cohorts: Cohorts,
    presence_existing: np.ndarray,
    months: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paid sales, referral sales and referral leads of the first `months` months, the referral feedback
    followed in steps of 1/SUBSTEPS month: a step's referral leads come from existing customers and
    earlier months' customers (whole months) and from the customers who bought earlier in the month
    (step by step); every lead's sale is timed with the step kernel of its arrival month. `paid_buyers[m]`:
    buyers among month m's paid leads; `referral_buy[m]`: the probability that a referral lead of month m
    buys (lost leads and cooling included); `referral_rate[m]`: referral leads per customer-day."""
    S = SUBSTEPS
    h = MONTH_DAYS / S
    N = months * S
    kfs = [_step_kernel(tuple(k.stage_delays.tolist()), k.shift_days, N) for k in kernels.kernels]
    single = len(kfs) == 1
    rate = np.repeat(referral_rate[:months], S).tolist()
    buy = np.repeat(referral_buy[:months], S).tolist()
    paid = _conv(np.repeat(kernels.part(paid_buyers, 0)[:months] / S, S), kfs[0])
    for g in range(1, len(kfs)):
        paid = paid + _conv(np.repeat(kernels.part(paid_buyers, g)[:months] / S, S), kfs[g])
    paid_l = paid.tolist()
    new_f = [0.0] * N
    ref_leads_f = [0.0] * N
    if single:
        ref_buyers_f = np.zeros(2 * N)  # padded in front so every step reads a full window
        window = np.append(kfs[0], 0.0)[N:0:-1].copy()  # kf[N], …, kf[1]: weights of the previous steps
        k0 = [float(kfs[0][0])] * N
    else:  # each step's buyers on their own arrival month's step kernel: row t' = step, column t
        ref_buyers_f = np.zeros(N)
        of_step = np.repeat(kernels.of_month[:months], S)
        lag = _lags(N)[0]
        weights = np.zeros((N, N))
        for g, kf in enumerate(kfs):
            weights += (of_step == g)[:, None] * np.append(kf[:N], 0.0)[lag]
        k0 = [float(kfs[g][0]) for g in of_step.tolist()]
    new_m = np.zeros(months)
    whole = bought = 0.0
    half = h / 2.0
    for t in range(N):
        if t % S == 0:
            m = t // S
            if m:
                new_m[m - 1] = sum(new_f[t - S : t])
            whole = (presence_existing[m] + cohorts.whole(new_m, m)) / S
            bought = 0.0
        present = whole + h * bought  # customer-days in this step, but this step's own customers
        # `dot`: the same BLAS call as `@` for these views (positive strides), with less to do around it
        if single:
            earlier = float(ref_buyers_f[t : t + N].dot(window))
        else:
            earlier = float(ref_buyers_f[:t].dot(weights[:t, t]))
        a = rate[t] * buy[t] * k0[t]
        nf = (paid_l[t] + earlier + a * present) / (1.0 - a * half)
        new_f[t] = nf
        ref_leads_f[t] = rate[t] * (present + half * nf)
        ref_buyers_f[t + N if single else t] = ref_leads_f[t] * buy[t]
        bought += nf

    def by_month(x: list[float] | np.ndarray) -> np.ndarray:
        return np.reshape(np.asarray(x), (months, S)).sum(axis=1)

    sales_paid = by_month(paid)
    return sales_paid, by_month(new_f) - sales_paid, by_month(ref_leads_f)


def _solve_sales(
    kernels: _Kernels,
    paid_buyers: np.ndarray,
    referral_buy: np.ndarray,
    referral_rate: np.ndarray,
    cohorts: Cohorts,
    presence_existing: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monthly paid sales, referral sales and referral leads, with the referral feedback.

    The sales of month m are the sum over arrival months m' of the buyers among m''s leads × K_m'[m − m']
    (each lead on its arrival month's conversion and kernel). Referral leads of month m come from the
    customers present: existing ones, earlier customers in their whole months, and new customers for the
    rest of their purchase month (from the kernel). The first FINE_MONTHS months are followed in finer
    steps (`_solve_sales_fine`); later months solve a linear equation per month, the month's referral leads
    taken as spread evenly over it. Arguments as in `_solve_sales_fine`.
    """
    H = paid_buyers.size
    sales_paid = kernels.conv(paid_buyers)
    if not referral_rate.any():
        return sales_paid, np.zeros(H), np.zeros(H)
    single = len(kernels.kernels) == 1
    K, P = kernels.kernels[0].sales, kernels.kernels[0].presence
    if not single:  # per arrival month: row m', column m
        KM, PM = kernels.matrix("sales"), kernels.matrix("presence")
    partial_paid = kernels.conv(paid_buyers, "presence")  # purchase-month presence of paid customers, days
    new = np.zeros(H)
    ref_leads = np.zeros(H)
    ref_buyers = np.zeros(H)
    F = min(FINE_MONTHS, H)
    fine_paid, fine_ref, fine_leads = _solve_sales_fine(
        kernels, paid_buyers, referral_buy, referral_rate, cohorts, presence_existing, F
    )
    new[:F] = fine_paid + fine_ref
    ref_leads[:F] = fine_leads
    ref_buyers[:F] = fine_leads * referral_buy[:F]
    # The month loop on Python floats (the same arithmetic as on the arrays' elements), each dot product
    # on the same views as ever: its rounding depends on their layout (`ndarray.dot` and `@` are the same
    # BLAS call for positive strides; with a negative stride `@` sums in order, `dot` would copy first).
    weights = cohorts.whole_weights()
    by_row = isinstance(cohorts, _CohortMatrix)  # its weights are a column: positive strides
    existing, paid_presence = presence_existing.tolist(), partial_paid.tolist()
    rates, buy, paid_sales = referral_rate.tolist(), referral_buy.tolist(), sales_paid.tolist()
    diagonal = [float(P[0])] * H if single else PM.diagonal().tolist()
    for m in range(F, H):
        r = rates[m]
        whole = new[:m].dot(weights[m]) if by_row else new[:m] @ weights[m]
        partial_ref = ref_buyers[:m] @ P[m:0:-1] if single else ref_buyers[:m].dot(PM[:m, m])
        known = existing[m] + whole + paid_presence[m] + partial_ref
        leads = r * known / (1.0 - r * buy[m] * diagonal[m])  # with this month's referral customers
        ref_leads[m] = leads
        ref_buyers[m] = leads * buy[m]
        new[m] = paid_sales[m] + (
            ref_buyers[: m + 1] @ K[m::-1] if single else ref_buyers[: m + 1].dot(KM[: m + 1, m])
        )
    return sales_paid, new - sales_paid, ref_leads


_SolveRequest = tuple["_Kernels", np.ndarray, np.ndarray, np.ndarray, "Cohorts", np.ndarray]
"""The arguments of one `_solve_sales`."""


def _solve_sales_many(requests: Sequence[_SolveRequest]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """`_solve_sales` of many requests (the draws of a band), the month loop after the first FINE_MONTHS
    done for all of them at once, over an axis of requests: the same arithmetic on each element, but each
    month's three sums over earlier months summed in another order (`np.einsum` over the axis instead of
    one `dot` per request), so each result agrees with `_solve_sales`'s within a few units of rounding
    (1e-12 relative), not bit for bit. Requests without referrals, or alone of their kind (one kernel or
    several, cohorts by age or by purchase month, horizon), are solved one by one, exactly."""
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * len(requests)
    groups: dict[tuple[bool, bool, int], list[int]] = {}
    for i, (kernels, paid_buyers, _, rate, cohorts, _) in enumerate(requests):
        H = paid_buyers.size
        if H <= FINE_MONTHS or not rate.any():
            out[i] = _solve_sales(*requests[i])
            continue
        key = (len(kernels.kernels) == 1, isinstance(cohorts, _CohortMatrix), H)
        groups.setdefault(key, []).append(i)
    for (single, by_row, H), idx in groups.items():
        if len(idx) == 1:
            out[idx[0]] = _solve_sales(*requests[idx[0]])
            continue
        for i, result in zip(
            idx, _solve_sales_batch([requests[i] for i in idx], single, by_row, H), strict=True
        ):
            out[i] = result
    return out  # type: ignore[return-value]


def _solve_sales_batch(
    requests: Sequence[_SolveRequest], single: bool, by_row: bool, H: int
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """`_solve_sales_many` of requests of one kind (with referrals; one kernel each if `single`; cohorts
    by purchase month if `by_row`; horizon H > FINE_MONTHS): row d of each array is request d's."""
    D, F = len(requests), FINE_MONTHS
    new, ref_leads, ref_buyers = np.zeros((D, H)), np.zeros((D, H)), np.zeros((D, H))
    rates, buy, paid_sales = np.empty((D, H)), np.empty((D, H)), np.empty((D, H))
    existing, paid_presence, diagonal = np.empty((D, H)), np.empty((D, H)), np.empty((D, H))
    K = np.empty((D, H) if single else (D, H, H))  # sales kernel: a vector by lag, or (arrival, month)
    P = np.empty((D, H) if single else (D, H, H))  # presence in the purchase month, the same
    W = np.empty((D, H, H) if by_row else (D, H))  # whole months of earlier customers (`whole_weights`)
    for d, (kernels, paid_buyers, referral_buy, referral_rate, cohorts, presence_existing) in enumerate(
        requests
    ):
        sales_paid = kernels.conv(paid_buyers)
        rates[d], buy[d], paid_sales[d] = referral_rate, referral_buy, sales_paid
        existing[d], paid_presence[d] = presence_existing[:H], kernels.conv(paid_buyers, "presence")
        if single:
            K[d], P[d] = kernels.kernels[0].sales[:H], kernels.kernels[0].presence[:H]
            diagonal[d] = P[d, 0]
        else:
            K[d], P[d] = kernels.matrix("sales"), kernels.matrix("presence")
            diagonal[d] = P[d].diagonal()
        W[d] = cohorts.presence if by_row else cohorts._presence[:H]
    fine_paid, fine_ref, fine_leads = _solve_sales_fine_batch(requests, single, by_row, W, existing)
    new[:, :F] = fine_paid + fine_ref
    ref_leads[:, :F] = fine_leads
    ref_buyers[:, :F] = fine_leads * buy[:, :F]
    for m in range(F, H):
        r = rates[:, m]
        whole = np.einsum("dk,dk->d", new[:, :m], W[:, :m, m] if by_row else W[:, m:0:-1])
        partial_ref = np.einsum("dk,dk->d", ref_buyers[:, :m], P[:, m:0:-1] if single else P[:, :m, m])
        known = existing[:, m] + whole + paid_presence[:, m] + partial_ref
        leads = r * known / (1.0 - r * buy[:, m] * diagonal[:, m])
        ref_leads[:, m] = leads
        ref_buyers[:, m] = leads * buy[:, m]
        later = np.einsum("dk,dk->d", ref_buyers[:, : m + 1], K[:, m::-1] if single else K[:, : m + 1, m])
        new[:, m] = paid_sales[:, m] + later
    return [(paid_sales[d], new[d] - paid_sales[d], ref_leads[d]) for d in range(D)]


def _solve_sales_fine_batch(
    requests: Sequence[_SolveRequest], single: bool, by_row: bool, W: np.ndarray, existing: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_solve_sales_fine` of the first FINE_MONTHS months of requests of one kind (`_solve_sales_batch`;
    `W`, `existing`: its whole-month weights and existing customers' presence, row d request d's), the
    steps over an axis of requests: (paid sales, referral sales, referral leads), each (requests, months)."""
    S, months, D = SUBSTEPS, FINE_MONTHS, len(requests)
    h = MONTH_DAYS / S
    N = months * S
    rate, buy, paid, k0 = np.empty((D, N)), np.empty((D, N)), np.empty((D, N)), np.empty((D, N))
    window = np.empty(
        (D, N) if single else (D, N, N)
    )  # single: kf[N], …, kf[1]; else row t' = step, column t
    for d, (kernels, paid_buyers, referral_buy, referral_rate, _, _) in enumerate(requests):
        kfs = [_step_kernel(tuple(k.stage_delays.tolist()), k.shift_days, N) for k in kernels.kernels]
        rate[d] = np.repeat(referral_rate[:months], S)
        buy[d] = np.repeat(referral_buy[:months], S)
        p = _conv(np.repeat(kernels.part(paid_buyers, 0)[:months] / S, S), kfs[0])
        for g in range(1, len(kfs)):
            p = p + _conv(np.repeat(kernels.part(paid_buyers, g)[:months] / S, S), kfs[g])
        paid[d] = p
        if single:
            window[d] = np.append(kfs[0], 0.0)[N:0:-1]
            k0[d] = kfs[0][0]
        else:
            of_step = np.repeat(kernels.of_month[:months], S)
            lag = _lags(N)[0]
            window[d] = 0.0
            for g, kf in enumerate(kfs):
                window[d] += (of_step == g)[:, None] * np.append(kf[:N], 0.0)[lag]
            k0[d] = [float(kfs[g][0]) for g in of_step.tolist()]
    new_f, ref_leads_f = np.zeros((D, N)), np.zeros((D, N))
    ref_buyers_f = np.zeros((D, 2 * N) if single else (D, N))  # single: padded in front, a full window
    new_m = np.zeros((D, months))
    whole = bought = np.zeros(D)
    half = h / 2.0
    for t in range(N):
        if t % S == 0:
            m = t // S
            if m:
                new_m[:, m - 1] = new_f[:, t - S : t].sum(axis=1)
                earlier_whole = np.einsum("dk,dk->d", new_m[:, :m], W[:, :m, m] if by_row else W[:, m:0:-1])
            else:
                earlier_whole = 0.0
            whole = (existing[:, m] + earlier_whole) / S
            bought = np.zeros(D)
        present = whole + h * bought
        if single:
            earlier = np.einsum("dk,dk->d", ref_buyers_f[:, t : t + N], window)
        else:
            earlier = np.einsum("dk,dk->d", ref_buyers_f[:, :t], window[:, :t, t])
        a = rate[:, t] * buy[:, t] * k0[:, t]
        nf = (paid[:, t] + earlier + a * present) / (1.0 - a * half)
        new_f[:, t] = nf
        ref_leads_f[:, t] = rate[:, t] * (present + half * nf)
        ref_buyers_f[:, t + N if single else t] = ref_leads_f[:, t] * buy[:, t]
        bought = bought + nf
    sales_paid = paid.reshape(D, months, S).sum(axis=2)
    return (
        sales_paid,
        new_f.reshape(D, months, S).sum(axis=2) - sales_paid,
        ref_leads_f.reshape(D, months, S).sum(axis=2),
    )


@dataclass(frozen=True)
class _Desk:
    lost: np.ndarray
    """Lost share of the leads arriving in each month."""
    wait: np.ndarray
    """Mean wait of the reached leads of each month, in days."""
    cooling: np.ndarray
    """E[0.5^(wait / half-life) | reached] of each month's leads (1 without cooling)."""


DESK_GRID = 3
"""Loads at which the desk is evaluated, spanning the horizon's loads (linear interpolation between them)."""
DESK_GRID_PLANNED = 5
"""The same, per distinct desk, when a plan moves the paid leads or the desk: a season or a trend spreads
the loads wider, and the lost share is convex in the load (three points overestimate it by about 3 % in
the validation's cooling case, five by 0.7 %)."""


def _desk_by_month(
    mv: MonthValues,
    load: np.ndarray,
    horizon_days: float,
    coarse: bool,
    memo: dict[tuple[int, float], DeskPerformance],
    points: int = DESK_GRID,
) -> _Desk:
    """The desk's figures month by month at each month's load (leads a day): for each distinct desk (staff
    and hours), linear interpolation between `points` loads spanning its months' loads; `coarse`: one load
    (the mean) per desk, a first guess before the referral leads are known. `memo`: (desk, load) ->
    `desk_performance`, shared within one evaluation."""
    H = load.size
    lost, wait, cooling = np.zeros(H), np.zeros(H), np.ones(H)
    for g in range(len(mv.desks)):
        idx = np.flatnonzero(mv.desk_of_month == g) if len(mv.desks) > 1 else np.arange(H)
        x = load[idx]
        if x.max() <= x.min():  # one load: no interpolation
            q = _performance(memo, mv, g, float(x[0]), horizon_days)
            lost[idx], wait[idx], cooling[idx] = q.lost_share, q.mean_wait_days, q.cooling
            continue
        grid = np.array([x.mean()]) if coarse else np.unique(np.linspace(x.min(), x.max(), points))
        perfs = _performances(memo, mv, g, grid.tolist(), horizon_days)
        lost[idx] = np.interp(x, grid, [q.lost_share for q in perfs])
        wait[idx] = np.interp(x, grid, [q.mean_wait_days for q in perfs])
        cooling[idx] = np.interp(x, grid, [q.cooling for q in perfs])
    return _Desk(lost, wait, cooling)


def _performance(
    memo: dict[tuple[int, float], DeskPerformance], mv: MonthValues, g: int, load: float, horizon_days: float
) -> DeskPerformance:
    """`desk_performance` of the g-th desk at `load`, remembered in `memo`."""
    return _performances(memo, mv, g, [load], horizon_days)[0]


def _performances(
    memo: dict[tuple[int, float], DeskPerformance],
    mv: MonthValues,
    g: int,
    loads: list[float],
    horizon_days: float,
) -> list[DeskPerformance]:
    """`desk_performance` of the g-th desk at each of `loads`, remembered in `memo`
    (`desk_performances`)."""
    todo = [v for v in loads if (g, v) not in memo]
    if todo:
        for v, perf in zip(todo, desk_performances(mv.desks[g], todo, horizon_days), strict=True):
            memo[g, v] = perf
    return [memo[g, v] for v in loads]


@dataclass(frozen=True)
class _Evaluation:
    monthly: dict[str, np.ndarray]
    kpi: dict[str, float]
    desk: DeskPerformance | None
    channels: dict[str, np.ndarray]
    channel_kpi: dict[str, np.ndarray]


def _mean(x: np.ndarray) -> float:
    """The mean of x (exactly x[0] if every value is the same)."""
    return float(x[0]) if np.all(x == x[0]) else float(x.mean())


def _mean_over_cohorts(sales: np.ndarray, values: np.ndarray) -> float:
    """Mean of a per-cohort figure over the horizon's new customers (month 1's if there are none); an
    infinite cohort value with sales makes the mean infinite."""
    bought = sales > 0
    if not bought.any():
        return float(values[0])
    x, n = values[bought], sales[bought]
    if not np.all(np.isfinite(x)):
        with np.errstate(invalid="ignore"):
            return float(np.sum(np.where(np.isfinite(x), 0.0, x)))  # ±inf (NaN if they cancel)
    return float(n @ x / n.sum())


def _evaluate(
    scenario: Scenario, tables: LifetimeTables | None, with_channels: bool, with_desk: bool = True
) -> _Evaluation:
    """The expected monthly columns and KPIs (and, if asked, the channels; `with_desk`: the desk's figures
    at the mean load, else None)."""
    steps = _evaluation_steps(scenario, tables, with_channels, with_desk)
    try:
        req = next(steps)
        while True:
            req = steps.send(_solve_sales(*req))
    except StopIteration as done:
        return done.value


def _evaluation_steps(
    scenario: Scenario, tables: LifetimeTables | None, with_channels: bool, with_desk: bool
) -> Generator[_SolveRequest, tuple[np.ndarray, np.ndarray, np.ndarray], _Evaluation]:
    """`_evaluate` in steps: yields each referral solve's arguments (`_solve_sales`'s), is sent its result
    (paid sales, referral sales, referral leads), and returns the evaluation; so that the solves of many
    scenarios can be done together (`expected_arrays_many`)."""
    sc = scenario
    H = sc.horizon_months
    T = H * MONTH_DAYS
    tables = tables if tables is not None else lifetime_tables(sc)
    mv = month_values(sc)
    mixture = tables.calendar.mixture  # customers who differ (None: constant churn)
    if sc.planned:
        cohorts: Cohorts = _CohortMatrix(sc, mv, tables, H)
        existing = _existing_planned(sc, mv, H, cohorts.existing_mixture)
    else:
        cohorts = _AgeCohorts(sc, tables, H)
        existing = _existing_by_age(sc, H) if mixture is None else _existing_planned(sc, mv, H, mixture)
    paid = mv.leads.sum(axis=0)
    paid_by_channel = mv.paid_conversion * mv.leads  # buyers among the paid leads if all are reached
    paid_conversions = paid_by_channel.sum(axis=0)
    desk = sc.sales_desk
    referrals = bool(mv.referral_rate.any())

    def request(d: _Desk) -> _SolveRequest:
        keep = 1.0 - d.lost
        kernels = _kernels(mv, d.wait)
        paid_buyers = paid_conversions * keep * d.cooling
        referral_buy = mv.referral_conversion * keep * d.cooling
        rate, presence = mv.referral_rate, existing["presence"]
        return kernels, paid_buyers, referral_buy, rate, cohorts, presence

    perf = None
    memo: dict[tuple[int, float], DeskPerformance] = {}
    state = _Desk(np.zeros(H), np.zeros(H), np.ones(H))
    if desk is not None:
        moving = len(mv.desks) > 1 or bool(np.any(mv.leads != mv.leads[:, :1]))  # planned leads or desk
        points = DESK_GRID_PLANNED if moving else DESK_GRID
        state = _desk_by_month(mv, paid / MONTH_DAYS, T, referrals, memo, points)
        if with_desk:
            perf = _performance(memo, mv, int(mv.desk_of_month[0]), _mean(paid / MONTH_DAYS), T)
    req = request(state)
    kernels = req[0]
    sales_paid, sales_ref, ref_leads = yield req
    if desk is not None and ref_leads.any():
        # Second pass: the desk at each month's load, paid and referral leads together.
        load = (paid + ref_leads) / MONTH_DAYS
        state = _desk_by_month(mv, load, T, False, memo, points)
        if with_desk:
            perf = _performance(memo, mv, int(mv.desk_of_month[0]), _mean(load), T)
        req = request(state)
        kernels = req[0]
        sales_paid, sales_ref, ref_leads = yield req

    lost = state.lost
    new = sales_paid + sales_ref
    leads = paid + ref_leads
    reached = leads * (1.0 - lost)
    flows = cohorts.flows(new, mv)
    bonus = mv.referral_bonus
    booked = {
        "leads_paid": paid,
        "leads_referral": ref_leads,
        "leads_lost": leads * lost,
        "leads_reached": reached,
        "wait_hours_sum": reached * state.wait * 24.0,
        "sales": new,
        "sales_referral": sales_ref,
        "active_customers": flows["active"] + existing["active"],
        "repeat_visits": flows["visits"] + existing["visits"],
        "problems": flows["problems"] + existing["problems"],
        "revenue": new * mv.first_revenue + flows["revenue"] + existing["revenue"],
        "margin_first_sale": sales_paid * mv.first_margin,
        "margin_referral_sale": sales_ref * mv.first_margin,
        "margin_repeat": flows["margin"] + existing["margin"],
        "lead_spend": (mv.leads * mv.cost_per_lead).sum(axis=0),
        "referral_bonus": sales_ref * bonus,
    }
    booked["problem_cost"] = booked["problems"] * mv.cost_per_problem
    monthly = complete_monthly(sc, booked)
    handling = mv.handling_days
    constant_handling = bool(np.all(handling == handling[0]))
    busy = float(reached.sum()) * float(handling[0]) if constant_handling else float(reached @ handling)
    open_days = 0.0
    if desk is not None:
        constant_desk = len(mv.desks) == 1 and mv.desks[0] is desk
        open_days = desk.staff * desk.open_days(T) if constant_desk else plan.staff_open_days(sc)
    if isinstance(cohorts, _CohortMatrix):
        net, gross = cohorts.ltv(mv, tables, monthly_discount(sc.discount_rate_annual))
        ltv, ltv_gross = _mean_over_cohorts(new, net), _mean_over_cohorts(new, gross)
    else:
        ltv, ltv_gross = tables.ltv, tables.ltv_gross
    k = kpis(sc, monthly, tables, ltv, ltv_gross, busy, open_days)
    channels: dict[str, np.ndarray] = {}
    channel_kpi: dict[str, np.ndarray] = {}
    if with_channels:
        keep = 1.0 - lost
        sales = [kernels.conv(paid_by_channel[c] * keep * state.cooling) for c in range(len(sc.channels))]
        leads_all = np.vstack([mv.leads, ref_leads[None, :]])
        channels = {
            "leads": leads_all,
            "leads_lost": leads_all * lost,
            "leads_reached": leads_all * keep,
            "sales": np.vstack([*sales, sales_ref]),
            "lead_spend": np.vstack([mv.leads * mv.cost_per_lead, np.zeros((1, H))]),
            "referral_bonus": np.vstack([np.zeros((len(sc.channels), H)), sales_ref * bonus]),
        }
        channels["first_margin"] = channels["sales"] * mv.first_margin
        channels = {col: channels[col] for col in CHANNEL_COLUMNS}
        totals = {col: x.sum(axis=1) for col, x in channels.items()}
        channel_kpi = channel_kpis(totals, float(monthly["staff_cost"].sum()), ltv, tables)
    return _Evaluation(monthly, k, perf, channels, channel_kpi)


def expected_arrays(
    scenario: Scenario, tables: LifetimeTables | None = None, desk: bool = True
) -> tuple[dict[str, np.ndarray], dict[str, float], DeskPerformance | None]:
    """The expected monthly columns and KPIs (the fast path behind `expected`; no channels) and the desk's
    figures at the mean load (`ExpectedResult.desk`; None with `desk=False`, which skips them). `tables`:
    the scenario's `lifetime_tables`, if already at hand."""
    ev = _evaluate(scenario, tables, with_channels=False, with_desk=desk)
    return ev.monthly, ev.kpi, ev.desk


def expected_arrays_many(
    scenarios: Sequence[Scenario],
) -> list[tuple[dict[str, np.ndarray], dict[str, float]]]:
    """`expected_arrays(sc, desk=False)[:2]` of each scenario (the draws of a band), their referral solves
    done together (`_solve_sales_many`): each figure within 1e-12 relative of `expected_arrays`'s, not bit
    for bit (each month's sums over earlier months are summed in another order)."""
    steps = [_evaluation_steps(sc, None, with_channels=False, with_desk=False) for sc in scenarios]
    out: list[_Evaluation | None] = [None] * len(steps)
    pending: dict[int, _SolveRequest] = {}
    for i, gen in enumerate(steps):
        try:
            pending[i] = next(gen)
        except StopIteration as done:  # pragma: no cover - every evaluation solves at least once
            out[i] = done.value
    while pending:
        results = _solve_sales_many(list(pending.values()))
        asked, pending = pending, {}
        for i, result in zip(asked, results, strict=True):
            try:
                pending[i] = steps[i].send(result)
            except StopIteration as done:
                out[i] = done.value
    return [(ev.monthly, ev.kpi) for ev in out]  # type: ignore[union-attr]


def expected(scenario: Scenario | str | Path) -> ExpectedResult:
    """Expected monthly ledger and KPIs of a scenario: `.monthly` (one row per month, the engine's
    columns), `.kpis` (one row; `ltv` is the exact infinite-horizon discounted value), `.channels` and
    `.channel_kpis` (per channel, referrals last)."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    ev = _evaluate(sc, None, with_channels=True)
    return ExpectedResult(
        scenario=sc,
        arrays=ev.monthly,
        kpi=ev.kpi,
        desk=ev.desk,
        channel_arrays=ev.channels,
        channel_kpi=ev.channel_kpi,
    )
