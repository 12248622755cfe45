"""Sales desk performance without simulation: lost-lead share and mean wait.

Round the clock: the M/M/n+D queue (Poisson leads, exponential handling, n salespeople, FCFS, a fixed
patience) solved exactly through its offered-waiting-time density, after

    Baccelli, F. & Hebuterne, G. (1981), "On queues with impatient customers", Performance '81, 159-179;
    Zeltyn, S. & Mandelbaum, A. (2005), "Call centers with impatient customers: many-server asymptotics
    of the M/M/n+G queue", Queueing Systems 51, 361-402 (eq. 2.1-2.7, with G a point mass at tau):

    v(x) = lambda * pi_{n-1} * exp(lambda * min(x, tau) - n mu x),  x > 0,
    P(abandon) = integral of v over (tau, inf),  E[wait; served] = integral of x v(x) over (0, tau).

Fixed handling times scale the offered wait of the exponential queue by (1 + cs^2)/2 = 1/2
(Allen-Cunneen), an approximation; exact for exponential handling only.
Without patience and with more leads than the desk can handle, no steady state exists; the queue then
grows like a fluid, (lambda - n mu) t, and the mean wait is that of the fluid over the horizon.

Working hours (the desk open `hours_per_day` hours from the start of each day) are an approximation:
a periodic fluid model of the day (leads pile up while the desk is closed, the backlog is served first
at the opening, leads whose wait would pass their patience leave) gives the deterministic part of the
waits and losses; leads that find the desk open and the fluid queue empty get the M/M/n+D figures on
top. Its accuracy against the engine is measured in docs/queueing.md.

Cooling (a reached lead buys with p * 0.5^(W / h)): the desk also gives E[0.5^(W/h) | reached], the
Laplace transform of the reached leads' wait at s = ln 2 / h. Exact for M/M/n+D round the clock (the
offered wait has an atom at 0 and the density v above); with fixed handling the Allen-Cunneen scaling of
the wait; with working hours the fluid day's waits by arrival time (the night's leads wait until the
opening and through the morning backlog) mixed with the M/M/n+D transform for leads that find the desk
open and free (docs/queueing.md derives each).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.model.scenario import SalesDesk


@dataclass(frozen=True)
class DeskPerformance:
    """Steady-state figures of the sales desk at one arrival rate."""

    lost_share: float
    """Share of leads lost (waited past their patience)."""
    mean_wait_days: float
    """Mean wait of the leads that are reached, in days."""
    utilization: float
    """Busy share of the salespeople's open time."""
    cooling: float = 1.0
    """E[0.5^(W / h) | reached]: the factor cooling puts on a reached lead's conversion, W its wait and h
    the half-life (1 without cooling)."""


@functools.lru_cache(maxsize=64)
def _log_factorials(n: int) -> np.ndarray:
    """log(j!) for j = 0 .. n - 1 (math.lgamma: the app's first page need not import scipy.special)."""
    out = np.array([math.lgamma(j + 1.0) for j in range(n)])
    out.flags.writeable = False
    return out


def mmn_d(lam: float, mu: float, n: int, tau: float, horizon_days: float) -> tuple[float, float]:
    """M/M/n+D: (share of leads lost, mean wait of served leads in days). Rates per day, tau in days."""
    lost, wait, _ = mmn_d_cooling(lam, mu, n, tau, horizon_days, 0.0)
    return lost, wait


def mmn_d_cooling(
    lam: float, mu: float, n: int, tau: float, horizon_days: float, s: float
) -> tuple[float, float, float]:
    """M/M/n+D: (share of leads lost, mean wait of served leads in days, E[exp(-s W) | served]).

    Rates per day, tau in days, s per day (ln 2 / half-life for cooling; 0 gives 1). A lead is served iff
    its offered wait V is at most tau, and then W = V: P(V = 0) = sum_{j<n} pi_j (it finds a salesperson
    free), and on (0, tau] V has the density lambda pi_{n-1} e^{(lambda - n mu) x}, so
    E[e^{-sW}; served] = P(V = 0) + lambda pi_{n-1} (e^{(delta - s) tau} - 1) / (delta - s),
    delta = lambda - n mu (tau = inf, delta < 0: Erlang C, 1 - C + C (n mu - lambda) / (n mu - lambda + s)).
    """
    if lam <= 0:
        return 0.0, 0.0, 1.0
    a = lam / mu
    delta = lam - n * mu
    j = np.arange(n)
    log_a = math.log(a)
    terms = j * log_a - _log_factorials(n)
    top = float(terms.max())
    log_sum_below = top + math.log(float(np.exp(terms - top).sum()))
    log_top = (n - 1) * log_a - math.lgamma(n)  # a^(n-1)/(n-1)!
    if math.isinf(tau):
        if delta >= 0:  # overloaded, no patience: the queue grows like a fluid over the horizon
            return (
                0.0,
                0.5 * horizon_days * delta / (n * mu) + 1.0 / (n * mu),
                _fluid_growth_cooling(s, 1.0 / (n * mu), horizon_days * delta / (n * mu)),
            )
        log_J = -math.log(-delta)  # J = 1 / (n mu - lambda)
        log_I1 = -2.0 * math.log(-delta)  # integral of x e^{delta x} = 1 / delta^2
        log_tail = -math.inf
    else:
        m = max(delta * tau, 0.0)  # scale factor e^{m} kept out of the exponentials
        if abs(delta) < 1e-12:
            j_s, i1_s = tau * math.exp(-m), tau * tau / 2 * math.exp(-m)
        else:
            j_s = (math.exp(delta * tau - m) - math.exp(-m)) / delta
            i1_s = (math.exp(delta * tau - m) * (delta * tau - 1.0) + math.exp(-m)) / (delta * delta)
        tail_s = math.exp(delta * tau - m) / (n * mu)  # integral over (tau, inf) of e^{lambda tau - n mu x}
        log_J = m + math.log(j_s + tail_s)
        log_I1 = m + math.log(i1_s) if i1_s > 0 else -math.inf
        log_tail = delta * tau - math.log(n * mu)  # in logs: tail_s underflows when capacity is ample
    log_b = log_top + math.log(lam) + log_J  # lambda pi_{n-1} J / pi_0
    log_z = float(np.logaddexp(log_sum_below, log_b))
    scale = log_top + math.log(lam) - log_z  # log(lambda * pi_{n-1})
    p_abandon = math.exp(scale + log_tail) if log_tail > -math.inf else 0.0
    served = max(1.0 - p_abandon, 1e-300)
    wait_served = math.exp(scale + log_I1) / served if log_I1 > -math.inf else 0.0
    cooling = 1.0
    if s > 0:
        # E[e^{-sW}; served] = P(V = 0) + lambda pi_{n-1} * integral over (0, tau] of e^{(delta - s) x}
        log_laplace = scale + _log_integral_exp(delta - s, tau)
        cooling = (math.exp(log_sum_below - log_z) + math.exp(log_laplace)) / served
        cooling = min(max(cooling, 0.0), 1.0)
    return min(max(p_abandon, 0.0), 1.0), wait_served, cooling


def _log_integral_exp(d: float, tau: float) -> float:
    """log of the integral of e^{d x} over (0, tau] (tau may be inf if d < 0), without overflow."""
    if math.isinf(tau):
        return -math.log(-d)
    x = d * tau
    if abs(x) < 1e-12:
        return math.log(tau)
    if d > 0:  # (e^{x} - 1) / d = e^{x} (1 - e^{-x}) / d
        return x + math.log(-math.expm1(-x)) - math.log(d)
    return math.log(-math.expm1(x)) - math.log(-d)


def _fluid_growth_cooling(s: float, base: float, spread: float) -> float:
    """E[e^{-s W}] for W = base + spread * U, U uniform on [0, 1]: a backlog growing linearly over the
    horizon (an overloaded desk without patience), base and spread in days."""
    if s <= 0:
        return 1.0
    x = s * spread
    ramp = 1.0 if x < 1e-12 else -math.expm1(-x) / x
    return math.exp(-s * base) * ramp


def cooling_rate(desk: SalesDesk) -> float:
    """s = ln 2 / half-life, per day: E[0.5^(W/h)] = E[e^{-s W}] (0 without cooling)."""
    h = desk.cooling_half_life_days
    return 0.0 if math.isinf(h) else math.log(2.0) / h


def desk_performance(desk: SalesDesk | None, leads_per_day: float, horizon_days: float) -> DeskPerformance:
    """Lost share, mean wait, utilisation and cooling factor of the desk at a steady arrival rate (leads
    per day)."""
    return desk_performances(desk, (leads_per_day,), horizon_days)[0]


DESK_CACHE = 4096
"""Desk figures remembered by `desk_performances` (by desk, load and horizon): the draws of a band meet the
same desk at the same load wherever neither is uncertain."""
_remembered: dict[tuple[SalesDesk, float, float], DeskPerformance] = {}


def desk_performances(
    desk: SalesDesk | None, loads: Sequence[float], horizon_days: float
) -> list[DeskPerformance]:
    """`desk_performance` at each of `loads` (leads per day): the figures remembered (`DESK_CACHE`) or
    computed, the same either way."""
    out: list[DeskPerformance | None] = []
    todo: list[int] = []
    for lam in loads:
        if desk is None or lam <= 0:
            out.append(DeskPerformance(0.0, 0.0, 0.0))
            continue
        hit = _remembered.get((desk, lam, horizon_days))
        if hit is None:
            todo.append(len(out))
        out.append(hit)
    if todo:
        assert desk is not None
        for i, perf in zip(todo, _performances(desk, [loads[i] for i in todo], horizon_days), strict=True):
            if len(_remembered) >= DESK_CACHE:
                del _remembered[next(iter(_remembered))]  # the oldest
            _remembered[desk, loads[i], horizon_days] = out[i] = perf
    return out  # type: ignore[return-value]


def _performances(desk: SalesDesk, loads: Sequence[float], horizon_days: float) -> list[DeskPerformance]:
    """`desk_performance` of a desk at each of `loads` (positive)."""
    mu = 1440.0 / desk.handling_minutes  # contacts per salesperson-day of open time
    n = desk.staff
    tau = math.inf if desk.patience_hours is None else desk.patience_hours / 24.0
    f = desk.open_fraction
    scale = 0.5 if desk.handling == "fixed" else 1.0
    s = cooling_rate(desk)
    if f >= 1.0:
        out = []
        for lam in loads:
            lost, wait, cooling = _queue(lam, mu, n, tau, horizon_days, scale, s)
            out.append(DeskPerformance(lost, wait, lam * (1 - lost) / (n * mu), cooling))
        return out
    return _working_hours(loads, mu, n, tau, f, horizon_days, scale, s)


def _queue(
    lam: float, mu: float, n: int, tau: float, horizon_days: float, scale: float, s: float = 0.0
) -> tuple[float, float, float]:
    """M/G/n+D by scaling M/M/n+D: waits of a queue whose handling times have squared coefficient of
    variation s2 are about (1 + s2)/2 times those of the exponential one (Allen-Cunneen; 1/2 for fixed
    handling); so the offered wait V_G ~ scale * V_M, P(V_G > tau) = P(V_M > tau / scale) and
    E[e^{-s V_G}] = E[e^{-(s scale) V_M}]. Returns (lost share, mean wait in days, cooling factor)."""
    if scale == 1.0:
        return mmn_d_cooling(lam, mu, n, tau, horizon_days, s)
    if math.isinf(tau) and lam >= n * mu:  # overloaded without patience: the fluid backlog, not scaled
        return mmn_d_cooling(lam, mu, n, tau, horizon_days, s)
    lost, wait, cooling = mmn_d_cooling(lam, mu, n, tau / scale, horizon_days, s * scale)
    return lost, scale * wait, cooling


FLUID_STEPS_PER_DAY = 1440
"""Time points of the fluid desk model per day (1 minute)."""


def _working_hours(
    loads: Sequence[float],
    mu: float,
    n: int,
    tau: float,
    f: float,
    horizon_days: float,
    scale: float,
    s: float,
) -> list[DeskPerformance]:
    """Desk open the first `f` of each day, at each of `loads` (leads per day): a periodic fluid model (the
    overnight backlog, the rush at the opening, leads lost waiting) plus the M/M/n+D queue for leads that
    find the fluid queue empty.

    Cooling: each fluid arrival that is reached has its own deterministic wait w(t) (by its time of day t);
    those that find the desk open and the fluid queue empty wait the M/M/n+D wait instead. So
    E[e^{-sW}; reached] = mean over busy-reached arrivals of e^{-s w(t)}
    + mean over free-open arrivals of e^{-s w(t)} * (1 - lost_q) * E[e^{-s W_q} | served]."""
    # A contact may start until closing and then runs to its end: a day's capacity is that of f + 1/mu
    # of open time, delivered while the desk is open.
    f_eff = min(1.0, f + 1.0 / mu)
    capacity = n * mu  # contacts per day of open time
    daily_capacity = capacity * f_eff
    growths, fluid_loads = [], []
    for lam in loads:
        growth = 0.0
        lam_fluid = lam
        if math.isinf(tau) and lam >= daily_capacity:
            # No patience and more leads than a day's capacity: the backlog grows by (lam - capacity) a day.
            growth = 0.5 * horizon_days * (lam - daily_capacity) / daily_capacity
            lam_fluid = 0.999 * daily_capacity
        growths.append(growth)
        fluid_loads.append(lam_fluid)
    days = [_fluid_day(lam_fluid, daily_capacity / f, f, tau) for lam_fluid in fluid_loads]
    out = []
    for lam, growth, day in zip(loads, growths, days, strict=True):
        lost_f, wait_f, empty_open = _periodic_fluid(day)
        # Leads that find the desk open and the fluid queue empty meet the ordinary stochastic queue.
        lost_q, wait_q, cool_q = (
            _queue(lam, mu, n, tau, horizon_days, scale, s) if lam < capacity else (0.0, 0.0, 1.0)
        )
        lost = lost_f + empty_open * lost_q
        reached = max(1.0 - lost, 1e-12)
        wait = (wait_f * (1.0 - lost_f) + empty_open * (1 - lost_q) * wait_q) / reached + growth
        util = lam * (1.0 - lost) / (capacity * f)
        cooling = 1.0
        if s > 0:
            busy_part, free_part = _fluid_laplace(day, s)
            cooling = (busy_part + free_part * (1.0 - lost_q) * cool_q) / reached
            cooling = min(max(cooling, 0.0), 1.0) * _fluid_growth_cooling(s, 0.0, 2.0 * growth)
        out.append(DeskPerformance(min(max(lost, 0.0), 1.0), wait, util, cooling))
    return out


FluidDay = tuple[np.ndarray, np.ndarray, np.ndarray]
"""The fluid day's (wait in days, lost, finds the desk open with no queue) of each arrival (`_fluid_day`)."""


def _periodic_fluid(day: FluidDay) -> tuple[float, float, float]:
    """Fluid FCFS desk over a periodic day: (lost share, mean wait of served in days, share of arrivals
    that find the desk open with no queue). See `_fluid_day`."""
    wait, lost, idle_open = day
    n_lost = int(np.count_nonzero(lost))
    lost_share = n_lost / lost.size  # = lost.mean(), exactly
    if n_lost == 0:
        mean_wait = float(wait.mean())  # = wait[~lost].mean(): the same numbers in the same order
    else:
        mean_wait = float(wait[~lost].mean()) if n_lost < lost.size else 0.0
    return lost_share, mean_wait, int(np.count_nonzero(idle_open)) / idle_open.size


def _fluid_laplace(day: FluidDay, s: float) -> tuple[float, float]:
    """Over the fluid day's arrivals: (the mean of e^{-s w} 1{reached, not free-open}, the mean of
    e^{-s w} 1{free-open}), w the fluid wait in days."""
    wait, lost, idle_open = day
    discount = np.exp(-s * wait)
    busy = ~lost & ~idle_open
    free = ~lost & idle_open
    return float(discount[busy].sum()) / wait.size, float(discount[free].sum()) / wait.size


_FLUID_X = (np.arange(3 * FLUID_STEPS_PER_DAY) + 1) / FLUID_STEPS_PER_DAY
"""The fluid day's time points over three periodic days from an opening, in days (read-only)."""
_FLUID_PHASE = _FLUID_X % 1.0
"""Time of day of each of `_FLUID_X`, in days (read-only)."""
_FLUID_ARRIVALS = (np.arange(FLUID_STEPS_PER_DAY) + 0.5) / FLUID_STEPS_PER_DAY
"""Arrival times of the fluid day's leads, mid-minute, in days (read-only)."""
for _a in (_FLUID_X, _FLUID_PHASE, _FLUID_ARRIVALS):
    _a.flags.writeable = False


@functools.lru_cache(maxsize=16)
def _fluid_phases(f_open: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a desk open the first `f_open` of each day: (open at each of `_FLUID_X`, time since the closing
    there, arrival finds the desk open), read-only."""
    is_open = f_open > _FLUID_PHASE
    since_closing = _FLUID_PHASE - f_open
    arrives_open = f_open > _FLUID_ARRIVALS
    for a in (is_open, since_closing, arrives_open):
        a.flags.writeable = False
    return is_open, since_closing, arrives_open


def _fluid_day(lam: float, capacity: float, f_open: float, tau: float) -> FluidDay:
    """Fluid FCFS desk over a periodic day at `lam` leads per day, for arrivals at one-minute steps: (wait
    in days, lost, finds the desk open with no queue), read-only arrays.

    The lag L(t) (the age of the oldest waiting lead) grows at 1 - capacity/lam while the desk is open
    and at 1 while it is closed, clipped to [0, tau] (older leads leave). Within a phase L is linear, so
    the day's map is exact; its fixed point at the opening gives the periodic day. A lead arriving at s
    is served when the head t - L(t) reaches s; it is lost if that would take tau.

    The head is followed over three days from an opening, or only as far as the day's last arrival needs
    (checked; the same figures as over the three days, sooner); the constant arrays are built once.
    """
    slope_open = 1.0 - capacity / lam
    closed = 1.0 - f_open
    lag = 0.0
    for _ in range(100_000):
        after_open = min(max(lag + slope_open * f_open, 0.0), tau)
        nxt = min(after_open + closed, tau)
        if abs(nxt - lag) < 1e-12:
            break
        lag = nxt
    steps = FLUID_STEPS_PER_DAY
    after_open = min(max(lag + slope_open * f_open, 0.0), tau)
    is_open, since_closing, arrives_open = _fluid_phases(f_open)
    arrivals = _FLUID_ARRIVALS
    full = _FLUID_X.size
    # How far the head must be followed: the day's last arrival is reached when the lag left at the next
    # opening has been served, about lag × lam / capacity into it if that is before the closing; else
    # within 1 + the longest lag (L is linear within each phase). A guess: if the head has not passed
    # every arrival by then, the whole three days.
    clearing = lag * lam / capacity if capacity > 0 else math.inf
    longest = clearing if clearing < f_open else max(lag, after_open, min(after_open + closed, tau))
    size = min(full, math.ceil((1.0 + longest) * steps) + 16) if longest < 1.5 else full
    while True:
        L = np.where(
            is_open[:size],
            np.clip(lag + slope_open * _FLUID_PHASE[:size], 0.0, tau),
            np.minimum(after_open + since_closing[:size], tau),
        )
        heads = np.maximum.accumulate(_FLUID_X[:size] - L)
        if size == full or heads[-1] >= arrivals[-1]:
            break
        size = full  # the head had not passed every arrival yet: the whole three days
    idx = np.minimum(np.searchsorted(heads, arrivals, side="left"), full - 1)
    # interpolate the moment the head passes each arrival; x[i] = (i + 1) / steps, so x[idx - 1] is
    # idx / steps (0 at idx = 0) and x[idx] is (idx + 1) / steps: the same numbers, without reading x
    padded = np.empty(heads.size + 1)
    padded[0] = 0.0
    padded[1:] = heads
    prev_h = padded[idx]  # heads[idx - 1], 0 at idx = 0
    prev_t = idx / steps
    span = np.maximum(padded[idx + 1] - prev_h, 1e-15)
    served_at = prev_t + ((idx + 1) / steps - prev_t) * np.clip((arrivals - prev_h) / span, 0.0, 1.0)
    wait = np.maximum(served_at - arrivals, 0.0)
    lost = wait >= tau - 1e-9 if math.isfinite(tau) else np.zeros(steps, dtype=bool)
    idle_open = arrives_open & (wait <= 1.0 / steps)
    for a in (wait, lost, idle_open):
        a.flags.writeable = False
    return wait, lost, idle_open
