"""Fitting a scenario to a business's CRM export, with a confidence interval for every fitted value and an
optional holdout check.

`fit(leads, visits, spend)` reads the export (`sim.calibration.crm`: formats, columns, errors) and
estimates, over the complete months from the first lead's month to the export date:

- **Channels.** Leads a month: the mean over months, 95 % CI exact Poisson (Garwood), widened to the
  t-interval of the monthly counts when months vary more than Poisson. CPL: spend / leads, CI the
  t-interval of the monthly CPLs.
- **Conversion.** Leads still open at the export date are censored: the Kaplan–Meier estimate of the time
  from `created_at` to `sold_at` (lifelines), conversion = 1 − S(t*) at t* = the longest time to a sale
  observed (the curve's plateau; lifelines' exponential Greenwood CI). The channel with the highest
  conversion is the reference: its conversion is the funnel's (one stage, `Lead -> sale`), the others'
  `lead_quality` is their conversion relative to it (CI by the delta method on the log ratio). The stage's
  delay is the mean time from `created_at` to `sold_at` of the sales: the fitted scenario has no sales desk,
  so the wait for the first contact is part of the delay and conversions are per lead, lost leads included.
  The desk's mean wait and lost share (leads never contacted, of those older than 7 days) are reported, not
  fitted.
- **Customers.** First purchase: mean revenue and margin of the `purchase` rows (t CIs). Each repeat
  stream (a `kind`): the interval is the median gap in whole months between a customer's visits (the
  first gap from the purchase; CI from order statistics), revenue and margin the means (t CIs).
- **Retention and adoption, censoring-aware.** docs/model.md: a customer passes T churn checks, then
  leaves; an adopted stream's visit due in age month k happens only if T ≥ k. So a customer's visits say
  T ≥ the age of the last visit and, if a visit due later fell in a month that has ended by the export
  date and did not happen, that T is below its age; a stream never visited means "not adopted, or left
  before its first visit". The likelihood of every customer's visits, summed over T (censored at the
  export date), is maximised jointly over the adoption of each stream and the churn: constant (geometric)
  or sBG (T ~ shifted-beta-geometric, Fader & Hardie 2007). The model with the lower AIC is written;
  Wald CIs on the logit/log scale (a parameter at its bound gets a profile-likelihood limit).
- **Referrals** (a `referrals` channel in leads): referral leads / the customer-years the customers stay
  (expected from the retention fit), Poisson CI; the conversion multiplier = their conversion / the
  funnel's. The bonus is not in an export (0).
- **Existing customers**: customers who bought before the first month, expected still there at its start.

The scenario's `[uncertainty]` holds each fitted lever's CI as a triangular range (low, the estimate,
high). `FitResult.toml()` writes the scenario with each fitted value's CI and count as a comment.

**Holdout** (`holdout_months=N`): the fit is repeated on the export as it was at the start of the last N
months (`holdout_fit`), and `sim.simulate` runs its scenario over those months from the customers then
active (`existing_customers.count` = their expected number); leads open at the cut-off are not in the
engine's run — their expected sales in each month (from the fitted conversion and delay, given they had
not bought by then) are added as Poisson draws to each replication's sales, margin and active customers.
`holdout` compares the replications' P10–P90 with what happened; the actual active customers are
estimated (a customer who does not visit cannot be seen): the expected number still there, from their
visits up to the export date, under the holdout fit's retention.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from sim.calibration.crm import PURCHASE, REFERRALS, CrmData, CrmError, Source, read_export
from sim.model.scenario import Scenario, loads_scenario, parse_scenario

Z95 = float(stats.norm.ppf(0.975))
"""Two-sided 95 % normal quantile."""

LOST_AFTER_DAYS = 7.0
"""A lead not contacted this long after it arrived counts as lost (younger ones may still be reached)."""

PLACEHOLDER_CHURN = 0.02
"""Monthly churn written when an export has no repeat visits to estimate it from (marked as such)."""

MAX_STREAMS = 8
"""Repeat streams a scenario holds: the most frequent kinds are kept."""

REPORT_COLUMNS = ("parameter", "value", "ci_low", "ci_high", "n", "method")
"""Columns of `FitResult.report`."""

HOLDOUT_METRICS = ("leads", "sales", "repeat_visits", "active_customers", "margin")
"""What the holdout compares, month by month."""

_BOUND = 12.0
"""Bound of the logit parameters (shares within 6e-6 of 0 or 1)."""
_LOG_SHAPE = (math.log(1e-3), math.log(1e4))
"""Bounds of log alpha and log beta (the scenario allows shapes up to 1e4)."""


@dataclass(frozen=True)
class Estimate:
    """One fitted figure: its value, 95 % CI, the count it rests on and how it was estimated."""

    parameter: str
    """A scenario's dotted path (`channels.0.leads_per_month`) or a figure's name."""
    value: float
    low: float
    high: float
    n: int
    """Observations it rests on (leads, months, visits, customers …)."""
    method: str
    unit: str = ""
    """What `n` counts (for the TOML comment)."""


# --- small statistics ----------------------------------------------------------------------------------


def _poisson_ci(k: int) -> tuple[float, float]:
    low = 0.0 if k == 0 else stats.chi2.ppf(0.025, 2 * k) / 2.0
    return float(low), float(stats.chi2.ppf(0.975, 2 * k + 2) / 2.0)


def _mean_ci(x: np.ndarray) -> tuple[float, float, float]:
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def _share_ci(k: int, n: int) -> tuple[float, float]:
    """Clopper–Pearson 95 % interval of a share k / n."""
    low = 0.0 if k == 0 else float(stats.beta.ppf(0.025, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(0.975, k + 1, n - k))
    return low, high


def _median_ci(x: np.ndarray) -> tuple[float, float, float]:
    """Median and its distribution-free 95 % interval from order statistics."""
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    j = int(stats.binom.ppf(0.025, n, 0.5))
    lo = max(0, j - 1)
    return float(np.median(x)), float(x[lo]), float(x[min(n - 1, n - lo - 1)])


def _at_least_zero(x: float) -> float:
    """A CI's lower limit of a figure that cannot be negative (NaN stays NaN)."""
    return max(0.0, x) if math.isfinite(x) else math.nan


def _sig(x: float, digits: int = 6) -> float:
    """x rounded to `digits` significant digits (what the scenario holds)."""
    return float(f"{x:.{digits}g}") if math.isfinite(x) else x


def _month_index(dates: pd.Series) -> np.ndarray:
    """Calendar months as integers (year × 12 + month − 1)."""
    return (dates.dt.year * 12 + dates.dt.month - 1).to_numpy(dtype=np.int64)


def _period_index(p: pd.Period) -> int:
    return p.year * 12 + p.month - 1


# --- conversion: Kaplan–Meier with censoring -----------------------------------------------------------


@dataclass(frozen=True)
class _Conversion:
    value: float
    low: float
    high: float
    leads: int
    sales: int

    @property
    def se(self) -> float:
        return (self.high - self.low) / (2 * Z95)


def _conversion(leads: pd.DataFrame, export: pd.Timestamp, horizon_days: float) -> _Conversion:
    """1 − S(horizon) of the Kaplan–Meier curve of the time to sale (open leads censored at `export`)."""
    sold = leads["sold"].notna().to_numpy()
    n, k = len(leads), int(sold.sum())
    if n == 0:
        return _Conversion(math.nan, math.nan, math.nan, 0, 0)
    if k == 0:
        return _Conversion(0.0, 0.0, _share_ci(0, n)[1], n, 0)
    end = leads["sold"].where(sold, export)
    days = ((end - leads["created"]).dt.total_seconds() / 86400.0).to_numpy()
    try:
        from lifelines import KaplanMeierFitter  # the analysis extra, loaded only for a fit
    except ImportError as exc:
        raise ImportError("fitting needs lifelines: pip install 'funnel-sim[analysis]'") from exc

    km = KaplanMeierFitter().fit(days, event_observed=sold)
    s = float(km.survival_function_at_times(horizon_days).iloc[0])
    band = km.confidence_interval_survival_function_
    row = band.loc[: float(horizon_days)].iloc[-1]
    s_low, s_high = float(row.iloc[0]), float(row.iloc[1])
    return _Conversion(1.0 - s, max(0.0, 1.0 - s_high), min(1.0, 1.0 - s_low), n, k)


def _ratio_ci(a: _Conversion, b: _Conversion) -> tuple[float, float, float]:
    """a / b with a delta-method CI on the log ratio (independent samples)."""
    if not b.value > 0:
        return math.nan, math.nan, math.nan
    r = a.value / b.value
    if a.value <= 0:
        return 0.0, 0.0, a.high / b.value
    se = math.sqrt((a.se / a.value) ** 2 + (b.se / b.value) ** 2)
    return r, r * math.exp(-Z95 * se), r * math.exp(Z95 * se)


# --- retention and adoption: the censored individual-level likelihood ----------------------------------


@dataclass(frozen=True)
class Lifetimes:
    """Customers' visits as the retention likelihood sees them, grouped by identical pattern.

    Age t = T, the churn checks a customer passes (docs/model.md: active at the end of age months 0 … T,
    leaves at the check at the end of age month T + 1). Columns are ages 0 … `max_age`.
    """

    max_age: np.ndarray
    """(P,) the last age month that has ended by the export date (A)."""
    last: np.ndarray
    """(P, S) age month of the last visit of each stream (−1: none)."""
    count: np.ndarray
    """(P,) customers with this pattern."""
    first_month: np.ndarray
    """(P,) the purchase month (calendar month index; = the export's last month − A)."""
    base: np.ndarray
    """(S, P, ages) the factor of stream s is base + a_s × slope (a_s = its adoption)."""
    slope: np.ndarray
    before: np.ndarray
    """(P, ages) True for t < A (T = t observed exactly possible)."""
    at: np.ndarray
    """(P, ages) True for t = A (T ≥ A: censored)."""

    @property
    def customers(self) -> int:
        return int(self.count.sum())


def lifetimes(first_month: np.ndarray, last: np.ndarray, intervals: np.ndarray, last_month: int) -> Lifetimes:
    """The likelihood's view of customers who bought in calendar months `first_month` (≤ `last_month`, the
    export's last complete month) and last visited stream s at age month `last[:, s]` (−1: never, within
    the complete months).

    A stream s with visits: T ≥ its last visit's age ℓ, and T < its next due age (ℓ + j·I, the first after
    the customer's last visit of any stream, so a skipped visit is not a departure) unless that month has
    not ended. A stream without visits: not adopted (1 − a), or adopted and left before its first due age
    I (a × [T < I], or a if that month has not ended).
    """
    first_month = np.asarray(first_month, dtype=np.int64)
    intervals = np.asarray(intervals, dtype=np.int64)
    last = np.asarray(last, dtype=np.int64).reshape(len(first_month), len(intervals))
    a_max = last_month - first_month
    key = np.column_stack([a_max, last])
    patterns, count = np.unique(key, axis=0, return_counts=True)
    big_a, lv = patterns[:, 0], patterns[:, 1:]
    ages = np.arange(int(big_a.max(initial=0)) + 1)
    t = ages[None, :]
    seen = lv.max(axis=1, initial=-1)
    base, slope = [], []
    for s, interval in enumerate(intervals):
        ell = lv[:, s]
        has = ell >= 0
        jumps = np.floor_divide(np.maximum(seen - ell, 0), interval) + 1
        nxt = ell + jumps * interval
        visited = (t >= ell[:, None]) & ((t < nxt[:, None]) | (nxt[:, None] > big_a[:, None]))
        never = (t < interval) | (interval > big_a[:, None])
        allowed = np.where(has[:, None], visited, never).astype(float)
        h = has[:, None].astype(float)
        base.append(np.broadcast_to(1.0 - h, allowed.shape))
        slope.append(h * allowed - (1.0 - h) * (1.0 - allowed))
    shape = (len(intervals), len(big_a), len(ages))
    return Lifetimes(
        max_age=big_a,
        last=lv,
        count=count,
        first_month=last_month - big_a,
        base=np.array(base).reshape(shape),
        slope=np.array(slope).reshape(shape),
        before=t < big_a[:, None],
        at=t == big_a[:, None],
    )


def survival(model: str, churn_params: np.ndarray, ages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P(T = t), P(T ≥ t)) at the given ages. `constant`: churn_params = [logit c]; `sbg`: [log α, log β]
    (S(t) = B(α, β + t) / B(α, β), Fader & Hardie 2007)."""
    t = np.asarray(ages, dtype=float)
    if model == "constant":
        c = float(special.expit(churn_params[0]))
        s = np.exp(t * math.log1p(-c)) if c < 1 else (t == 0).astype(float)
        return s * c, s
    a, b = math.exp(churn_params[0]), math.exp(churn_params[1])
    norm = special.betaln(a, b)
    return np.exp(special.betaln(a + 1.0, b + t) - norm), np.exp(special.betaln(a, b + t) - norm)


def _churn_size(model: str) -> int:
    return 1 if model == "constant" else 2


def negative_log_likelihood(x: np.ndarray, model: str, data: Lifetimes) -> float:
    """−log L of every customer's visits; x = churn parameters (see `survival`), then logit adoption of
    each stream."""
    k = _churn_size(model)
    adoption = special.expit(np.asarray(x[k:], dtype=float))
    g = np.ones(data.before.shape)
    for s, a in enumerate(adoption):
        g *= data.base[s] + a * data.slope[s]
    pmf, surv = survival(model, np.asarray(x[:k]), np.arange(data.before.shape[1]))
    w = data.before * pmf[None, :] + data.at * surv[None, :]
    like = (w * g).sum(axis=1)
    if np.any(like <= 0) or not np.all(np.isfinite(like)):
        return 1e300
    return float(-(data.count * np.log(like)).sum())


def posterior_alive(x: np.ndarray, model: str, data: Lifetimes) -> np.ndarray:
    """(P, ages) P(T ≥ t | the pattern's visits), for t = 0 … the longest A (use `alive_at` beyond A)."""
    k = _churn_size(model)
    adoption = special.expit(np.asarray(x[k:], dtype=float))
    g = np.ones(data.before.shape)
    for s, a in enumerate(adoption):
        g *= data.base[s] + a * data.slope[s]
    pmf, surv = survival(model, np.asarray(x[:k]), np.arange(data.before.shape[1]))
    wg = (data.before * pmf[None, :] + data.at * surv[None, :]) * g
    tail = np.cumsum(wg[:, ::-1], axis=1)[:, ::-1]
    return tail / tail[:, :1]


def alive_at(x: np.ndarray, model: str, data: Lifetimes, month: int) -> float:
    """Expected customers active at the end of calendar month `month` (a month index), among those in
    `data` who bought by then: Σ P(T ≥ month − purchase month | visits)."""
    post = posterior_alive(x, model, data)
    age = month - data.first_month
    total = 0.0
    k = _churn_size(model)
    for p in np.flatnonzero(age >= 0):
        a = int(data.max_age[p])
        j = int(age[p])
        if j <= a:
            total += data.count[p] * post[p, j]
        else:
            _, surv = survival(model, np.asarray(x[:k]), np.array([a, j]))
            total += data.count[p] * post[p, a] * surv[1] / surv[0]
    return float(total)


@dataclass(frozen=True)
class ModelFit:
    """The maximum-likelihood fit of one churn model."""

    model: str
    x: np.ndarray
    """Churn parameters then logit adoptions (see `negative_log_likelihood`)."""
    nll: float
    cov: np.ndarray
    """Covariance of x (NaN rows for parameters at a bound)."""
    at_bound: np.ndarray
    """True for parameters whose estimate sits at a bound."""

    @property
    def aic(self) -> float:
        return 2.0 * len(self.x) + 2.0 * self.nll


def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    k = len(x)
    out = np.zeros((k, k))

    def at(i: int, j: int, di: float, dj: float) -> float:
        y = x.copy()
        y[i] += di
        y[j] += dj
        return f(y)

    for i in range(k):
        for j in range(i, k):
            v = at(i, j, h, h) - at(i, j, h, -h) - at(i, j, -h, h) + at(i, j, -h, -h)
            out[i, j] = out[j, i] = v / (4 * h * h)
    return out


def _bounds(model: str, streams: int) -> list[tuple[float, float]]:
    churn = [(-_BOUND, _BOUND)] if model == "constant" else [_LOG_SHAPE, _LOG_SHAPE]
    return churn + [(-_BOUND, _BOUND)] * streams


def fit_retention(data: Lifetimes, model: str, intervals: np.ndarray) -> ModelFit:
    """Maximum likelihood of one churn model (`constant` or `sbg`) and the streams' adoption."""
    streams = len(intervals)
    observed = data.max_age[:, None] >= intervals[None, :]
    visited = (data.last >= 0) & observed
    start_a = [
        float(
            np.clip(
                (data.count[:, None] * visited)[:, s].sum()
                / max(1, (data.count[:, None] * observed)[:, s].sum())
                / 0.9,
                0.05,
                0.95,
            )
        )
        for s in range(streams)
    ]
    x0_churn = [special.logit(0.05)] if model == "constant" else [0.0, math.log(19.0)]
    x0 = np.array([*x0_churn, *special.logit(start_a)])
    bounds = _bounds(model, streams)

    def f(x: np.ndarray) -> float:
        return negative_log_likelihood(x, model, data)

    res = optimize.minimize(f, x0, method="L-BFGS-B", bounds=bounds)
    best = res.x
    if model == "sbg":  # the likelihood has a long ridge toward constant churn: try a second start
        again = optimize.minimize(f, np.array([1.5, 4.0, *res.x[2:]]), method="L-BFGS-B", bounds=bounds)
        if again.fun < res.fun:
            res, best = again, again.x
    lows = np.array([b[0] for b in bounds])
    highs = np.array([b[1] for b in bounds])
    at_bound = (best <= lows + 0.5) | (best >= highs - 0.5)
    cov = np.full((len(best), len(best)), np.nan)
    free = np.flatnonzero(~at_bound)
    if free.size:

        def f_free(y: np.ndarray) -> float:
            z = best.copy()
            z[free] = y
            return f(z)

        h = _hessian(f_free, best[free])
        try:
            inv = np.linalg.inv(h)
            if np.all(np.diag(inv) > 0):
                cov[np.ix_(free, free)] = inv
        except np.linalg.LinAlgError:
            pass
    return ModelFit(model=model, x=best, nll=float(res.fun), cov=cov, at_bound=at_bound)


def _profile_limit(fit: ModelFit, data: Lifetimes, j: int, toward: float) -> float:
    """The value of parameter j (transformed scale) where the profile likelihood has fallen by χ²₁(95 %)/2,
    searching from the estimate in direction `toward` (±1); the bound if it never falls that far."""
    bounds = _bounds(fit.model, len(fit.x) - _churn_size(fit.model))
    target = fit.nll + stats.chi2.ppf(0.95, 1) / 2.0

    def profile(v: float) -> float:
        b = list(bounds)
        b[j] = (v, v)
        z = fit.x.copy()
        z[j] = v
        res = optimize.minimize(
            lambda y: negative_log_likelihood(y, fit.model, data), z, method="L-BFGS-B", bounds=b
        )
        return float(res.fun) - target

    edge = bounds[j][0] if toward < 0 else bounds[j][1]
    if profile(edge) < 0:
        return edge
    return float(optimize.brentq(profile, fit.x[j], edge, xtol=1e-3))


def _logit_ci(fit: ModelFit, data: Lifetimes, j: int) -> tuple[float, float, float]:
    """Estimate and 95 % CI of a share whose parameter j is on the logit scale."""
    x = fit.x[j]
    if fit.at_bound[j] or not fit.cov[j, j] > 0:
        lo = _profile_limit(fit, data, j, -1.0) if x > -_BOUND + 0.5 else -math.inf
        hi = _profile_limit(fit, data, j, 1.0) if x < _BOUND - 0.5 else math.inf
    else:
        se = math.sqrt(fit.cov[j, j])
        lo, hi = x - Z95 * se, x + Z95 * se
    # An estimate at the parameter's bound is the share's bound (0 or 1), and so is the CI's limit there.
    value = 1.0 if x >= _BOUND - 1e-3 else 0.0 if x <= -_BOUND + 1e-3 else float(special.expit(x))
    return value, float(special.expit(lo)), float(special.expit(hi))


def _log_ci(fit: ModelFit, data: Lifetimes, j: int) -> tuple[float, float, float]:
    x = fit.x[j]
    if fit.at_bound[j] or not fit.cov[j, j] > 0:
        lo = _profile_limit(fit, data, j, -1.0) if x > _LOG_SHAPE[0] + 0.5 else _LOG_SHAPE[0]
        hi = _profile_limit(fit, data, j, 1.0) if x < _LOG_SHAPE[1] - 0.5 else _LOG_SHAPE[1]
    else:
        se = math.sqrt(fit.cov[j, j])
        lo, hi = x - Z95 * se, x + Z95 * se
    return math.exp(x), math.exp(lo), math.exp(hi)


@dataclass(frozen=True)
class RetentionFit:
    """The retention fit: the chosen churn model, the adoption of each stream, and both models' AIC."""

    chosen: ModelFit
    constant: ModelFit
    sbg: ModelFit | None
    data: Lifetimes
    churn: tuple[float, float, float]
    """Mean monthly churn of a new customer, with its 95 % CI."""
    adoption: list[tuple[float, float, float]]
    """Each stream's adoption with its 95 % CI."""
    shapes: tuple[tuple[float, float, float], tuple[float, float, float]] | None
    """sBG: (alpha, CI), (beta, CI)."""


def fit_lifetimes(data: Lifetimes, intervals: np.ndarray) -> RetentionFit:
    """Fit constant and sBG churn (with the streams' adoption) and keep the one with the lower AIC."""
    constant = fit_retention(data, "constant", intervals)
    sbg = fit_retention(data, "sbg", intervals)
    chosen = sbg if sbg.aic < constant.aic else constant
    k = _churn_size(chosen.model)
    shapes = None
    if chosen.model == "constant":
        churn = _logit_ci(chosen, data, 0)
    else:
        shapes = (_log_ci(chosen, data, 0), _log_ci(chosen, data, 1))
        la, lb = chosen.x[0], chosen.x[1]
        v = chosen.cov[0, 0] + chosen.cov[1, 1] - 2 * chosen.cov[0, 1]
        mean = float(special.expit(la - lb))
        if v > 0:
            half = Z95 * math.sqrt(v)
            churn = (mean, float(special.expit(la - lb - half)), float(special.expit(la - lb + half)))
        else:
            churn = (mean, math.nan, math.nan)
    adoption = [_logit_ci(chosen, data, k + s) for s in range(len(intervals))]
    return RetentionFit(
        chosen=chosen, constant=constant, sbg=sbg, data=data, churn=churn, adoption=adoption, shapes=shapes
    )


# --- the fit -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitResult:
    """A scenario fitted to a CRM export, the report of every estimate and the holdout check."""

    scenario: Scenario
    """The fitted scenario (`start` = the export's first month)."""
    report: pd.DataFrame
    """One row per estimate: `parameter`, `value`, `ci_low`, `ci_high` (95 %), `n`, `method`."""
    odd_rows: pd.DataFrame
    """Rows of the export left out or changed: `file`, `row`, `column`, `issue`."""
    export_date: pd.Timestamp
    """The moment of the export used."""
    holdout: pd.DataFrame | None = None
    """Per (metric, month) of the holdout: `actual`, the replications' `mean`, `p10`, `p50`, `p90` and
    `within` (P10 ≤ actual ≤ P90)."""
    holdout_errors: pd.DataFrame | None = None
    """Per metric: `mape` (mean absolute error of the mean prediction, share of the actual) and `coverage`
    (share of months within P10–P90)."""
    holdout_fit: FitResult | None = None
    """The fit on the months before the holdout (the one that predicted it)."""
    holdout_scenario: Scenario | None = None
    """What the engine ran for the holdout: `holdout_fit`'s scenario from the first holdout month, over the
    holdout, with the customers expected active at the cut-off as existing customers."""
    retention: RetentionFit | None = field(default=None, repr=False)
    """The retention fit's details (both models)."""
    toml_text: str = field(default="", repr=False)
    """`toml()`."""

    def toml(self) -> str:
        """The scenario as TOML, each fitted value with its 95 % CI, count and method as a comment
        (`sim.loads_scenario` of it gives `scenario`)."""
        return self.toml_text


def _row(est: Estimate) -> dict[str, Any]:
    return {
        "parameter": est.parameter,
        "value": est.value,
        "ci_low": est.low,
        "ci_high": est.high,
        "n": est.n,
        "method": est.method,
    }


def _monthly(counts: pd.Series, months: list[int]) -> np.ndarray:
    return counts.reindex(months, fill_value=0).to_numpy(dtype=float)


class _Fitter:
    """One fit of a checked export."""

    def __init__(self, data: CrmData, name: str, currency: str, horizon: int):
        self.data = data
        self.name = name
        self.currency = currency
        self.horizon = horizon
        self.estimates: list[Estimate] = []
        self.info: list[Estimate] = []
        self.first = _period_index(data.start)
        self.last = _period_index(data.last_month)
        if self.last < self.first:
            raise CrmError(
                data.files["leads"],
                f"no complete month between the first lead ({data.start}) and the export date "
                f"({data.export_date:%Y-%m-%d %H:%M})",
            )
        self.months = list(range(self.first, self.last + 1))
        leads = data.leads
        self.lead_month = _month_index(leads["created"])
        # The channels in the order the spend table names them first (then those without spend).
        channels = list(dict.fromkeys([*data.spend["channel"].unique(), *leads["channel"].unique()]))
        self.paid = [c for c in channels if c != REFERRALS]
        if not self.paid:
            raise CrmError(data.files["leads"], "no paid channel (only referral leads)", column="channel")

    def add(self, est: Estimate, info: bool = False) -> Estimate:
        (self.info if info else self.estimates).append(est)
        return est

    # channels and conversion ------------------------------------------------------------------------

    def channels(self) -> list[dict[str, Any]]:
        data, k = self.data, len(self.months)
        leads = data.leads
        in_months = (self.lead_month >= self.first) & (self.lead_month <= self.last)
        sold = leads["sold"].notna()
        self.horizon_days = (
            float(((leads["sold"] - leads["created"]).dt.total_seconds() / 86400.0)[sold].max())
            if sold.any()
            else 0.0
        )
        conv = {
            c: _conversion(leads[leads["channel"] == c], data.export_date, self.horizon_days)
            for c in [*self.paid, REFERRALS]
            if (leads["channel"] == c).any()
        }
        self.conv = conv
        ref = max(self.paid, key=lambda c: conv[c].value if math.isfinite(conv[c].value) else -1.0)
        self.reference = conv[ref]
        out = []
        spend = data.spend
        spend_month = spend["month"].map(_period_index) if len(spend) else pd.Series(dtype=np.int64)
        for i, c in enumerate(self.paid):
            mine = in_months & (leads["channel"] == c).to_numpy()
            counts = _monthly(pd.Series(self.lead_month[mine]).value_counts(), self.months)
            total = int(counts.sum())
            lo, hi = (x / k for x in _poisson_ci(total))
            method = "mean over months, Poisson (Garwood) CI"
            if k >= 2:
                _, tlo, thi = _mean_ci(counts)
                if tlo < lo or thi > hi:
                    lo, hi = min(lo, max(tlo, 0.0)), max(hi, thi)
                    method += ", widened to the monthly counts' t-interval"
            rate = self.add(
                Estimate(
                    f"channels.{i}.leads_per_month", total / k, lo, hi, total, method, f"leads in {k} months"
                )
            )
            rows = spend[(spend["channel"] == c) & (spend_month >= self.first) & (spend_month <= self.last)]
            by_month = rows.groupby(spend_month[rows.index])["spend"].sum()
            money = float(by_month.sum())
            if rows.empty:
                cpl = self.add(
                    Estimate(
                        f"channels.{i}.cost_per_lead",
                        0.0,
                        0.0,
                        0.0,
                        0,
                        "no spend rows for the channel: 0",
                        "spend rows",
                    )
                )
            elif total == 0:
                raise CrmError(
                    data.files["spend"],
                    f"spend on channel {c!r} in months without any of its leads",
                    column="spend",
                )
            else:
                with_leads = by_month.reindex(self.months, fill_value=0.0).to_numpy() / np.where(
                    counts > 0, counts, np.nan
                )
                monthly = with_leads[np.isfinite(with_leads)]
                cpl_value = money / total
                _, mlo, mhi = _mean_ci(monthly)
                half_lo = cpl_value - (monthly.mean() - mlo) if math.isfinite(mlo) else math.nan
                half_hi = cpl_value + (mhi - monthly.mean()) if math.isfinite(mhi) else math.nan
                cpl = self.add(
                    Estimate(
                        f"channels.{i}.cost_per_lead",
                        cpl_value,
                        _at_least_zero(half_lo),
                        half_hi,
                        len(monthly),
                        "spend / leads; t-interval of the monthly CPLs",
                        "months with spend",
                    )
                )
            cc = conv[c]
            self.add(
                Estimate(
                    f"conversion: {c}",
                    cc.value,
                    cc.low,
                    cc.high,
                    cc.leads,
                    f"Kaplan–Meier, 1 − S({self.horizon_days:.0f} days), open leads censored; "
                    f"{cc.sales} sales",
                    "leads",
                ),
                info=True,
            )
            if c == ref:
                q = self.add(
                    Estimate(
                        f"channels.{i}.lead_quality",
                        1.0,
                        math.nan,
                        math.nan,
                        cc.leads,
                        "the reference channel (the highest conversion): 1 by definition",
                        "leads",
                    )
                )
            else:
                r, rlo, rhi = _ratio_ci(cc, self.reference)
                q = self.add(
                    Estimate(
                        f"channels.{i}.lead_quality",
                        r,
                        rlo,
                        rhi,
                        cc.leads,
                        f"conversion / {ref}'s, delta-method CI on the log ratio",
                        "leads",
                    )
                )
            out.append(
                {
                    "name": c,
                    "leads_per_month": rate.value,
                    "cost_per_lead": cpl.value,
                    "lead_quality": q.value,
                }
            )
        return out

    def funnel(self) -> list[dict[str, Any]]:
        leads = self.data.leads
        ref = self.reference
        conv = self.add(
            Estimate(
                "funnel.0.conversion",
                ref.value,
                ref.low,
                ref.high,
                ref.leads,
                f"the reference channel's Kaplan–Meier conversion at {self.horizon_days:.0f} days; "
                f"{ref.sales} sales",
                "leads",
            )
        )
        sold = leads[leads["sold"].notna()]
        days = ((sold["sold"] - sold["created"]).dt.total_seconds() / 86400.0).to_numpy()
        if days.size:
            mean, lo, hi = _mean_ci(days)
            delay = self.add(
                Estimate(
                    "funnel.0.delay_days",
                    mean,
                    _at_least_zero(lo),
                    hi,
                    int(days.size),
                    "mean time from created_at to sold_at (the wait for the first contact included: no desk)",
                    "sales",
                )
            )
        else:
            delay = self.add(Estimate("funnel.0.delay_days", 0.0, math.nan, math.nan, 0, "no sales", "sales"))
        if self.data.has_contacted:
            reached = leads[leads["contacted"].notna()]
            if len(reached):
                waits = ((reached["contacted"] - reached["created"]).dt.total_seconds() / 3600.0).to_numpy()
                m, lo, hi = _mean_ci(waits)
                self.add(
                    Estimate(
                        "desk: mean wait, hours",
                        m,
                        lo,
                        hi,
                        len(waits),
                        "contacted_at − created_at of reached leads (reported: the fitted scenario has no "
                        "desk)",
                        "leads",
                    ),
                    info=True,
                )
                after = sold[sold["contacted"].notna()]
                d = ((after["sold"] - after["contacted"]).dt.total_seconds() / 86400.0).to_numpy()
                if d.size:
                    m, lo, hi = _mean_ci(d)
                    self.add(
                        Estimate(
                            "delay from first contact to sale, days",
                            m,
                            lo,
                            hi,
                            int(d.size),
                            "sold_at − contacted_at",
                            "sales",
                        ),
                        info=True,
                    )
            old = leads[leads["created"] <= self.data.export_date - pd.Timedelta(days=LOST_AFTER_DAYS)]
            if len(old):
                lost = int(old["contacted"].isna().sum())
                lo, hi = _share_ci(lost, len(old))
                self.add(
                    Estimate(
                        "desk: lost share",
                        lost / len(old),
                        lo,
                        hi,
                        len(old),
                        f"never contacted, of the leads older than {LOST_AFTER_DAYS:g} days (reported, "
                        "not fitted)",
                        "leads",
                    ),
                    info=True,
                )
        return [
            {
                "name": "Lead -> sale",
                "name_ru": "Лид → продажа",
                "conversion": conv.value,
                "delay_days": delay.value,
            }
        ]

    # customers -------------------------------------------------------------------------------------

    def customers(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        visits = self.data.visits
        buys = visits[visits["kind"] == PURCHASE]
        first: dict[str, Any] = {}
        for column in ("revenue", "margin"):
            m, lo, hi = _mean_ci(buys[column].to_numpy())
            if not len(buys):
                m = 0.0
            est = self.add(
                Estimate(
                    f"first_purchase.{column}",
                    m,
                    _at_least_zero(lo),
                    hi,
                    len(buys),
                    f"mean {column} of the purchase rows",
                    "purchases",
                )
            )
            first[column] = est.value
        first["margin"] = min(first["margin"], first["revenue"])
        sales = int(self.data.leads["sold"].notna().sum())
        self.add(
            Estimate(
                "sales in leads / purchases in visits",
                sales / len(buys) if len(buys) else math.nan,
                math.nan,
                math.nan,
                len(buys),
                f"{sales} sold leads, {len(buys)} purchase rows (customers are the purchase rows)",
                "purchases",
            ),
            info=True,
        )

        self.purchase_month = pd.Series(_month_index(buys["date"]), index=buys["customer_id"].to_numpy())
        self.purchase_date = pd.Series(buys["date"].to_numpy(), index=buys["customer_id"].to_numpy())
        repeat = visits[visits["kind"] != PURCHASE]
        kinds = repeat["kind"].value_counts(sort=True)
        kinds = kinds[sorted(kinds.index, key=lambda k: (-kinds[k], k))]
        if len(kinds) > MAX_STREAMS:
            dropped = list(kinds.index[MAX_STREAMS:])
            self.add(
                Estimate(
                    "kinds left out",
                    float(len(dropped)),
                    math.nan,
                    math.nan,
                    int(kinds.iloc[MAX_STREAMS:].sum()),
                    f"a scenario holds {MAX_STREAMS} streams: the rarest kinds are left out "
                    f"({', '.join(dropped)})",
                    "visits",
                ),
                info=True,
            )
            kinds = kinds.iloc[:MAX_STREAMS]
        self.stream_names = list(kinds.index)
        streams = []
        intervals = []
        for s, kind in enumerate(self.stream_names):
            rows = repeat[repeat["kind"] == kind]
            age = _month_index(rows["date"]) - self.purchase_month.reindex(rows["customer_id"]).to_numpy()
            frame = (
                pd.DataFrame({"c": rows["customer_id"].to_numpy(), "age": age})
                .drop_duplicates()
                .sort_values(["c", "age"])
            )
            prev = frame.groupby("c")["age"].shift(1).fillna(0).to_numpy()
            gaps = frame["age"].to_numpy() - prev
            gaps = gaps[gaps > 0]
            med, lo, hi = _median_ci(gaps) if gaps.size else (1.0, math.nan, math.nan)
            interval = int(min(120, max(1, round(med))))
            self.add(
                Estimate(
                    f"repeat.{s}.interval_months",
                    float(interval),
                    max(1.0, round(lo)) if math.isfinite(lo) else lo,
                    round(hi) if math.isfinite(hi) else hi,
                    int(gaps.size),
                    "median gap between a customer's visits in whole months (from the purchase), "
                    "order-statistic CI",
                    "gaps",
                )
            )
            intervals.append(interval)
            item: dict[str, Any] = {"name": kind, "interval_months": interval}
            for column in ("revenue", "margin"):
                m, lo, hi = _mean_ci(rows[column].to_numpy())
                est = self.add(
                    Estimate(
                        f"repeat.{s}.{column}",
                        m,
                        _at_least_zero(lo),
                        hi,
                        len(rows),
                        f"mean {column} of the visits",
                        "visits",
                    )
                )
                item[column] = est.value
            item["margin"] = min(item["margin"], item["revenue"])
            streams.append(item)
        self.intervals = np.array(intervals, dtype=np.int64)
        return first, streams

    def _lifetimes(self, visits: pd.DataFrame, last_month: int) -> Lifetimes:
        """The likelihood's data for the customers who bought by `last_month`."""
        buys = visits[visits["kind"] == PURCHASE]
        month = pd.Series(_month_index(buys["date"]), index=buys["customer_id"].to_numpy())
        month = month[month <= last_month]
        ids = month.index
        last = np.full((len(ids), len(self.stream_names)), -1, dtype=np.int64)
        position = pd.Series(np.arange(len(ids)), index=ids)
        repeat = visits[visits["kind"].isin(self.stream_names) & visits["customer_id"].isin(ids)]
        vm = _month_index(repeat["date"])
        keep = vm <= last_month
        repeat, vm = repeat[keep], vm[keep]
        if len(repeat):
            rows = position.reindex(repeat["customer_id"]).to_numpy()
            age = vm - month.to_numpy()[rows]
            stream = pd.Index(self.stream_names).get_indexer(repeat["kind"])
            np.maximum.at(last, (rows, stream), age)
        return lifetimes(month.to_numpy(), last, self.intervals, last_month)

    def retention(self) -> tuple[dict[str, Any], int]:
        data = self._lifetimes(self.data.visits, self.last)
        informative = int(data.count[data.max_age >= 1].sum())
        self.lifetime_data = data
        if not self.stream_names or informative == 0:
            why = (
                "no repeat visits"
                if not self.stream_names
                else "no customer with a complete month after the purchase"
            )
            self.add(
                Estimate(
                    "retention.monthly_churn",
                    PLACEHOLDER_CHURN,
                    math.nan,
                    math.nan,
                    0,
                    f"NOT FITTED ({why}): a placeholder to set by hand",
                    "customers",
                )
            )
            self.retention_fit = None
            # The placeholder churn and no information on adoption (it does not matter without visits).
            x = np.array([special.logit(PLACEHOLDER_CHURN), *np.zeros(len(self.stream_names))])
            nan = np.full((len(x), len(x)), np.nan)
            self.fitted = ModelFit("constant", x, math.nan, nan, np.zeros(len(x), dtype=bool))
            return {"model": "constant", "monthly_churn": PLACEHOLDER_CHURN}, self._existing()
        fit = fit_lifetimes(data, self.intervals)
        self.retention_fit = fit
        self.fitted = fit.chosen
        k = _churn_size(fit.chosen.model)
        note = f"AIC constant {fit.constant.aic:.1f}, sBG {fit.sbg.aic:.1f}: {fit.chosen.model} chosen"
        c, lo, hi = fit.churn
        self.add(
            Estimate(
                "retention.monthly_churn",
                c,
                lo,
                hi,
                informative,
                f"censored individual-level MLE of visits with adoption "
                f"({'mean of the sBG' if k == 2 else 'geometric'}); {note}",
                "customers",
            )
        )
        out: dict[str, Any] = {"model": fit.chosen.model, "monthly_churn": c}
        if fit.shapes is not None:
            for name, (v, vlo, vhi) in zip(("alpha", "beta"), fit.shapes, strict=True):
                self.add(
                    Estimate(
                        f"retention.{name}",
                        v,
                        vlo,
                        vhi,
                        informative,
                        "sBG MLE, Wald CI on the log scale",
                        "customers",
                    )
                )
                out[name] = v
            out["monthly_churn"] = out["alpha"] / (out["alpha"] + out["beta"])
        for s, (a, alo, ahi) in enumerate(fit.adoption):
            self.add(
                Estimate(
                    f"repeat.{s}.adoption",
                    a,
                    alo,
                    ahi,
                    informative,
                    "joint MLE with churn (a stream never visited: not adopted, or left before its "
                    "first visit)",
                    "customers",
                )
            )
        self.add(
            Estimate(
                "retention: AIC constant",
                fit.constant.aic,
                math.nan,
                math.nan,
                informative,
                f"log-likelihood {-fit.constant.nll:.2f}",
                "customers",
            ),
            info=True,
        )
        self.add(
            Estimate(
                "retention: AIC sbg",
                fit.sbg.aic,
                math.nan,
                math.nan,
                informative,
                f"log-likelihood {-fit.sbg.nll:.2f}",
                "customers",
            ),
            info=True,
        )
        return out, self._existing()

    def _existing(self) -> int:
        """Customers who bought before the first month and are expected still there at its start."""
        data, fitted = self.lifetime_data, self.fitted
        before = data.first_month < self.first
        if not before.any():
            return 0
        sub = _subset(data, before)
        existing = round(alive_at(fitted.x, fitted.model, sub, self.first - 1))
        self.add(
            Estimate(
                "existing_customers.count",
                float(existing),
                math.nan,
                math.nan,
                int(sub.count.sum()),
                f"customers who bought before {self.data.start}, expected still there at its start",
                "customers",
            )
        )
        return existing

    def referrals(self) -> dict[str, Any] | None:
        leads = self.data.leads
        if REFERRALS not in self.conv:
            return None
        mine = (
            (leads["channel"] == REFERRALS).to_numpy()
            & (self.lead_month >= self.first)
            & (self.lead_month <= self.last)
        )
        n = int(mine.sum())
        exposure = self._exposure()
        if exposure <= 0:
            return None
        lo, hi = _poisson_ci(n)
        rate = self.add(
            Estimate(
                "referrals.per_customer_per_year",
                12.0 * n / exposure,
                12.0 * lo / exposure,
                12.0 * hi / exposure,
                n,
                f"referral leads / {exposure:,.0f} customer-months staying (expected from the retention "
                "fit), Poisson CI",
                "referral leads",
            )
        )
        cc = self.conv[REFERRALS]
        self.add(
            Estimate(
                f"conversion: {REFERRALS}",
                cc.value,
                cc.low,
                cc.high,
                cc.leads,
                f"Kaplan–Meier, 1 − S({self.horizon_days:.0f} days), open leads censored; {cc.sales} sales",
                "leads",
            ),
            info=True,
        )
        r, rlo, rhi = _ratio_ci(self.conv[REFERRALS], self.reference)
        if not math.isfinite(r):
            r, rlo, rhi = 1.0, math.nan, math.nan
        mult = self.add(
            Estimate(
                "referrals.conversion_multiplier",
                r,
                rlo,
                rhi,
                self.conv[REFERRALS].leads,
                "referral leads' Kaplan–Meier conversion / the funnel's, delta-method CI",
                "referral leads",
            )
        )
        return {
            "per_customer_per_year": min(rate.value, 100.0),
            "conversion_multiplier": min(mult.value, 100.0),
        }

    def _exposure(self) -> float:
        """Customer-months of staying within the complete months (a customer stays through age month T + 1;
        the purchase month from the purchase on)."""
        data = self.lifetime_data
        post = posterior_alive(self.fitted.x, self.fitted.model, data)
        total = 0.0
        for p in range(len(data.count)):
            a = int(data.max_age[p])
            lo = max(0, self.first - int(data.first_month[p]) - 1)
            total += data.count[p] * post[p, lo:a].sum()
        buys = self.purchase_date
        inside = buys[(self.purchase_month >= self.first) & (self.purchase_month <= self.last)]
        if len(inside):
            month_end = inside.dt.to_period("M").dt.end_time
            month_start = inside.dt.to_period("M").dt.start_time
            total += float(((month_end - inside) / (month_end - month_start)).sum())
        return total

    # the scenario --------------------------------------------------------------------------------------

    def run(self) -> tuple[Scenario, str]:
        channels = self.channels()
        funnel = self.funnel()
        first, streams = self.customers()
        retention, existing = self.retention()
        referrals = self.referrals()
        for s, item in enumerate(streams):
            a = next((e for e in self.estimates if e.parameter == f"repeat.{s}.adoption"), None)
            item["adoption"] = a.value if a else 1.0
        data: dict[str, Any] = {
            "name": self.name,
            "currency": self.currency,
            "horizon_months": self.horizon,
            "start": str(self.data.start),
            "channels": channels,
            "funnel": funnel,
            "first_purchase": first,
            "retention": retention,
            "repeat": streams,
        }
        if referrals is not None:
            data["referrals"] = referrals
        data["existing_customers"] = {"count": existing}
        data = _rounded(data)
        plain = parse_scenario(data, source="fitted scenario")
        uncertain = self._uncertainty(plain)
        if uncertain:
            data["uncertainty"] = uncertain
        scenario = parse_scenario(data, source="fitted scenario")
        text = self._toml(data)
        if loads_scenario(text, source="fitted TOML") != scenario:
            raise RuntimeError("the fitted scenario's TOML does not load back equal (a bug in the writer)")
        return scenario, text

    def _uncertainty(self, sc: Scenario) -> dict[str, dict[str, float]]:
        from sim.model import paths

        out = {}
        for est in self.estimates:
            if (
                est.parameter.endswith(("interval_months", ".revenue", "alpha", "beta"))
                or "." not in est.parameter
            ):
                continue
            if est.parameter.startswith("existing_customers"):
                continue
            value = paths.get(sc, est.parameter, None)
            if not isinstance(value, int | float):  # a path the scenario does not hold
                continue
            mode = float(value)
            low, high = est.low, est.high
            if not (math.isfinite(low) and math.isfinite(high)):
                continue
            cap = math.inf
            if est.parameter.endswith((".conversion", "adoption", "monthly_churn")):
                cap = 1.0
            elif est.parameter.endswith(("lead_quality", "conversion_multiplier", "per_customer_per_year")):
                cap = 100.0
            elif est.parameter.endswith(".margin"):
                cap = float(paths.get(sc, est.parameter.rsplit(".", 1)[0] + ".revenue"))
            low, high = _sig(max(0.0, min(low, mode))), _sig(min(cap, max(high, mode)))
            if low < high and low <= mode <= high:
                out[est.parameter] = {"low": low, "mode": mode, "high": high}
        return out

    def _comments(self) -> dict[str, str]:
        out = {}
        for est in self.estimates:
            if math.isfinite(est.low) and math.isfinite(est.high):
                ci = f"95 % CI {_num(est.low)} … {_num(est.high)}; "
            else:
                ci = ""
            out[est.parameter] = f"{ci}n = {est.n:,} {est.unit}; {est.method}".replace("  ", " ")
        return out

    def _toml(self, data: dict[str, Any]) -> str:
        d = self.data
        header = [
            f"Fitted from a CRM export: {d.files['leads']}, {d.files['visits']}, {d.files['spend']}",
            f"(months {d.start} … {d.last_month}, export date {d.export_date:%Y-%m-%d %H:%M}; "
            f"{len(d.odd)} odd rows left out, see the fit's report).",
            "Each fitted value: its 95 % confidence interval, the count it rests on and the method.",
        ]
        return _toml_text(data, self._comments(), header)

    def report(self) -> pd.DataFrame:
        rows = [_row(e) for e in (*self.estimates, *self.info)]
        odd = self.data.odd
        if len(odd):
            listed = odd[odd["row"] > 0]
            kind = listed["issue"].str.replace(r"of row \d+", "of an earlier row", regex=True)
            counts = listed.groupby([listed["file"], kind]).size()
            for (file, issue), n in counts.items():
                rows.append(
                    {
                        "parameter": f"odd rows: {file}: {issue}",
                        "value": float(n),
                        "ci_low": math.nan,
                        "ci_high": math.nan,
                        "n": int(n),
                        "method": "listed in odd_rows, left out of the fit",
                    }
                )
        return pd.DataFrame(rows, columns=list(REPORT_COLUMNS))


def _subset(data: Lifetimes, keep: np.ndarray) -> Lifetimes:
    return Lifetimes(
        max_age=data.max_age[keep],
        last=data.last[keep],
        count=data.count[keep],
        first_month=data.first_month[keep],
        base=data.base[:, keep],
        slope=data.slope[:, keep],
        before=data.before[keep],
        at=data.at[keep],
    )


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return _sig(value)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _num(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML for {type(v).__name__}")


def _toml_text(data: dict[str, Any], comments: dict[str, str], header: list[str]) -> str:
    """TOML of a scenario dict (scalars, tables, arrays of tables, `[uncertainty]`) with a comment after
    each value whose dotted path has one."""
    lines = [f"# {h}" for h in header]

    def put(path: str, key: str, value: Any) -> None:
        text = f"{key} = {_value(value)}"
        note = comments.get(path)
        lines.append(f"{text}  # {note}" if note else text)

    tables = []
    for key, value in data.items():
        if isinstance(value, dict | list):
            tables.append((key, value))
        else:
            put(key, key, value)
    for key, value in tables:
        if isinstance(value, list):
            for i, item in enumerate(value):
                lines += ["", f"[[{key}]]"]
                for k, v in item.items():
                    put(f"{key}.{i}.{k}", k, v)
        else:
            lines += ["", f"[{key}]"]
            for k, v in value.items():
                put(f"{key}.{k}", json.dumps(k) if "." in k else k, v)
    return "\n".join(lines) + "\n"


# --- holdout -------------------------------------------------------------------------------------------


def _actual(data: CrmData, months: list[pd.Period]) -> dict[str, np.ndarray]:
    idx = [_period_index(p) for p in months]
    leads = data.leads
    visits = data.visits
    sold = leads["sold"].dropna()
    repeat = visits[visits["kind"] != PURCHASE]
    margin = visits.groupby(_month_index(visits["date"]))["margin"].sum()
    return {
        "leads": _monthly(pd.Series(_month_index(leads["created"])).value_counts(), idx),
        "sales": _monthly(pd.Series(_month_index(sold)).value_counts(), idx),
        "repeat_visits": _monthly(pd.Series(_month_index(repeat["date"])).value_counts(), idx),
        "margin": margin.reindex(idx, fill_value=0.0).to_numpy(dtype=float),
    }


def _open_sales(fitter: _Fitter, scenario: Scenario, cutoff: pd.Timestamp, months: int) -> np.ndarray:
    """Expected sales in each holdout month of the leads still open at the cut-off (the fitted one-stage
    funnel: a lead of age a buys in (x1, x2] after the cut-off with p e^(−a/d) (e^(−x1/d) − e^(−x2/d)) /
    (1 − p + p e^(−a/d)), d the mean delay, p its conversion)."""
    leads = fitter.data.leads
    open_ = leads[leads["sold"].isna()]
    age = ((cutoff - open_["created"]).dt.total_seconds() / 86400.0).to_numpy()
    d = max(scenario.funnel[0].delay_days, 1e-9)
    p = np.full(len(open_), scenario.funnel_conversion)
    for c in scenario.channels:
        p[(open_["channel"] == c.name).to_numpy()] = min(1.0, scenario.funnel_conversion * c.lead_quality)
    p[(open_["channel"] == REFERRALS).to_numpy()] = scenario.referral_conversion
    still = p * np.exp(-age / d)
    weight = still / np.maximum(1.0 - p + still, 1e-300)
    out = np.zeros(months)
    start = pd.Period(cutoff, "M")
    for j in range(months):
        x1 = ((start + j).start_time - cutoff).total_seconds() / 86400.0
        x2 = ((start + j + 1).start_time - cutoff).total_seconds() / 86400.0
        out[j] = float((weight * (math.exp(-x1 / d) - math.exp(-x2 / d))).sum())
    return out


def _holdout(
    data: CrmData, months: int, name: str, currency: str, horizon: int, replications: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, FitResult, Scenario]:
    from sim.engine.runs import simulate  # the engine: loaded only for a holdout

    total = _period_index(data.last_month) - _period_index(data.start) + 1
    if not 1 <= months < total:
        raise CrmError(
            "holdout_months",
            f"{months}: must leave at least one month to fit on (the export has {total} complete months)",
        )
    first_out = data.last_month - months + 1
    cutoff = first_out.to_timestamp()
    train = data.cut(cutoff)
    fitter = _Fitter(train, name, currency, horizon)
    scenario, text = fitter.run()
    train_result = FitResult(
        scenario=scenario,
        report=fitter.report(),
        odd_rows=train.odd,
        export_date=cutoff,
        retention=fitter.retention_fit,
        toml_text=text,
    )
    x, model = fitter.fitted.x, fitter.fitted.model
    at_cut = alive_at(x, model, fitter.lifetime_data, _period_index(first_out) - 1)
    spec = scenario.to_dict()
    spec.update(
        {
            "start": str(first_out),
            "horizon_months": months,
            "existing_customers": {"count": round(at_cut)},
        }
    )
    predict = parse_scenario(spec, source="holdout scenario")
    run = simulate(predict, replications=replications, seed=seed)
    monthly = run.monthly.copy()
    monthly["leads"] = monthly["leads_paid"] + monthly["leads_referral"]

    extra_sales = _open_sales(fitter, scenario, cutoff, months)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(1,)))
    reps = monthly["replication"].unique()
    draws = rng.poisson(np.tile(extra_sales, (len(reps), 1)))
    order = monthly.sort_values(["replication", "month"]).index
    monthly.loc[order, "sales"] += draws.ravel()
    monthly.loc[order, "margin"] += draws.ravel() * scenario.first_purchase.margin
    monthly.loc[order, "active_customers"] += np.cumsum(draws, axis=1).ravel()

    periods = [first_out + j for j in range(months)]
    actual = _actual(data, periods)
    full = fitter._lifetimes(data.visits, _period_index(data.last_month))
    actual["active_customers"] = np.array([alive_at(x, model, full, _period_index(p)) for p in periods])
    rows = []
    for metric in HOLDOUT_METRICS:
        by = monthly.groupby("month")[metric]
        q = by.quantile([0.1, 0.5, 0.9]).unstack()
        mean = by.mean()
        for j, p in enumerate(periods):
            m = j + 1
            a = float(actual[metric][j])
            lo, hi = float(q.loc[m, 0.1]), float(q.loc[m, 0.9])
            rows.append(
                {
                    "metric": metric,
                    "month": str(p),
                    "actual": a,
                    "mean": float(mean.loc[m]),
                    "p10": lo,
                    "p50": float(q.loc[m, 0.5]),
                    "p90": hi,
                    "within": bool(lo <= a <= hi),
                }
            )
    table = pd.DataFrame(rows)
    errors = []
    for metric, part in table.groupby("metric", sort=False):
        ok = part["actual"] > 0
        mape = (
            float((abs(part["mean"] - part["actual"]) / part["actual"])[ok].mean()) if ok.any() else math.nan
        )
        errors.append({"metric": metric, "mape": mape, "coverage": float(part["within"].mean())})
    return table, pd.DataFrame(errors), train_result, predict


def fit(
    leads: Source,
    visits: Source,
    spend: Source,
    holdout_months: int = 0,
    export_date: Any = None,
    *,
    name: str = "Fitted from a CRM export",
    currency: str = "RUB",
    horizon_months: int = 120,
    replications: int = 100,
    seed: int = 0,
) -> FitResult:
    """Fit a scenario to a CRM export (files or DataFrames; see `sim.calibration.crm` for the format).

    `export_date`: when the export was taken (default: the end of the month of its latest date).
    `holdout_months` N > 0: also refit on the export before its last N months and predict those months
    with `replications` runs of the engine (`seed`); see the module's docstring. `horizon_months`: the
    fitted scenario's horizon, from its `start` = the export's first month. Bad data raises `CrmError`.
    """
    data = read_export(leads, visits, spend, export_date)
    fitter = _Fitter(data, name, currency, int(horizon_months))
    scenario, text = fitter.run()
    result = FitResult(
        scenario=scenario,
        report=fitter.report(),
        odd_rows=data.odd,
        export_date=data.export_date,
        retention=fitter.retention_fit,
        toml_text=text,
    )
    if holdout_months:
        table, errors, train, predict = _holdout(
            data, int(holdout_months), name, currency, int(horizon_months), int(replications), int(seed)
        )
        result = FitResult(
            scenario=scenario,
            report=result.report,
            odd_rows=data.odd,
            export_date=data.export_date,
            holdout=table,
            holdout_errors=errors,
            holdout_fit=train,
            holdout_scenario=predict,
            retention=fitter.retention_fit,
            toml_text=text,
        )
    return result


def fit_paths(folder: str | Path, **options: Any) -> FitResult:
    """`fit` of `leads.csv`, `visits.csv` and `spend.csv` (or `.xlsx`) in one folder."""
    root = Path(folder)

    def one(stem: str) -> Path:
        for ext in (".csv", ".xlsx"):
            if (root / f"{stem}{ext}").is_file():
                return root / f"{stem}{ext}"
        raise CrmError(str(root / f"{stem}.csv"), "no such file (nor .xlsx)")

    return fit(one("leads"), one("visits"), one("spend"), **options)
