"""The shifted-beta-geometric (sBG) churn model fitted to a cohort's survivors by maximum likelihood.

Fader, P. S. and Hardie, B. G. S. (2007), "How to project customer retention", Journal of Interactive
Marketing 21(1), 76-90. Each customer has a churn probability θ per period, the same in every period, and
θ varies across customers as Beta(α, β). A cohort of n customers is followed for T periods; n_t are still
there at the end of period t (n_0 = n). Then

    P(T = t) = B(α + 1, β + t − 1) / B(α, β)          (churn in period t, t = 1, 2, …)
    S(t)     = B(α, β + t) / B(α, β)                  (still there at the end of period t)
    r(t)     = S(t) / S(t − 1) = (β + t − 1) / (α + β + t − 1)   (retention rate, rising with t)

and the log-likelihood of the counts, the n_T survivors right-censored at T, is

    LL(α, β) = Σ_{t=1..T} (n_{t−1} − n_t) ln P(T = t) + n_T ln S(T).

`fit_sbg` maximises it over log α and log β (`scipy.optimize.minimize`, analytic gradient), and gives the
standard errors of α and β from the observed information (the analytic Hessian of −LL, with trigamma).
On the paper's two cohorts of 1,000 customers over their first 7 years it finds the paper's estimates:
"regular" customers (1000, 631, 468, 382, 326, 289, 262, 241) α = 0.704, β = 1.182, LL = −1680.3; "high
end" customers (1000, 869, 743, 653, 593, 551, 517, 491) α = 0.668, β = 3.806, LL = −1611.2
(tests/unit/test_sbg.py).

In a scenario (docs/model.md, "Customers differ"), `[retention] model = "sbg"` with the fitted alpha and
beta, period = month: `SbgFit.retention_fields()` gives them (with monthly_churn = E[θ] = α / (α + β)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class SbgFitError(ValueError):
    """Counts the sBG model cannot be fitted to (the message says why, in one line)."""


class SbgTooFewPeriodsError(SbgFitError):
    """Fewer than two counts: the cohort at the start and at the end of at least one period are needed."""


class SbgCountError(SbgFitError):
    """A count that is not a finite number >= 0, or a cohort of no customers."""


class SbgIncreasingError(SbgFitError):
    """The counts rise somewhere: customers who left do not come back in this model."""


class SbgDegenerateError(SbgFitError):
    """No maximum of the likelihood: nobody ever left, or everybody left in the first period."""


@dataclass(frozen=True)
class SbgFit:
    """The maximum-likelihood sBG fit of one cohort (Fader & Hardie 2007)."""

    alpha: float
    """The Beta distribution's first shape α > 0."""
    beta: float
    """The Beta distribution's second shape β > 0."""
    log_likelihood: float
    """LL at the maximum (natural logarithm)."""
    n: float
    """The cohort's size n_0."""
    periods: int
    """Periods observed T (the number of counts − 1)."""
    alpha_se: float
    """Standard error of α from the observed information (NaN if the information is singular)."""
    beta_se: float
    """Standard error of β from the observed information (NaN if the information is singular)."""

    @property
    def mean_churn(self) -> float:
        """E[θ] = α / (α + β): the mean churn per period of a new customer."""
        return self.alpha / (self.alpha + self.beta)

    def survival(self, t: float | Sequence[float] | np.ndarray) -> float | np.ndarray:
        """S(t) = B(α, β + t) / B(α, β): the share of the cohort still there at the end of period t."""
        from scipy import special

        x = np.asarray(t, dtype=float)
        out = np.exp(special.betaln(self.alpha, self.beta + x) - special.betaln(self.alpha, self.beta))
        return float(out) if out.ndim == 0 else out

    def retention(self, t: float | Sequence[float] | np.ndarray) -> float | np.ndarray:
        """r(t) = S(t) / S(t − 1) = (β + t − 1) / (α + β + t − 1): the share of those there at the end of
        period t − 1 who are still there at the end of period t (t >= 1)."""
        x = np.asarray(t, dtype=float)
        out = (self.beta + x - 1.0) / (self.alpha + self.beta + x - 1.0)
        return float(out) if out.ndim == 0 else out

    def retention_fields(self) -> dict[str, float | str]:
        """The scenario's `[retention]` table for these customers (period = month): model, alpha, beta and
        monthly_churn = E[θ]."""
        return {"model": "sbg", "alpha": self.alpha, "beta": self.beta, "monthly_churn": self.mean_churn}


def fit_sbg(active_by_period: Sequence[int | float]) -> SbgFit:
    """Fit the sBG model to a cohort's counts by maximum likelihood (see the module's docstring).

    `active_by_period`: n_0, n_1, …, n_T — the cohort at the start, then the customers still there at the
    end of each period (non-increasing, n_0 > 0, at least two counts; counts may be fractional, e.g. shares
    of 100). Raises an `SbgFitError` (a ValueError) subclass with a one-line message on bad counts or when
    the likelihood has no maximum.
    """
    from scipy import optimize, special

    counts = _checked(active_by_period)
    n0, nT = float(counts[0]), float(counts[-1])
    lost = counts[:-1] - counts[1:]  # churned in period t = 1 … T
    t = np.arange(1, counts.size, dtype=float)
    T = float(counts.size - 1)
    if not (lost > 0).any():
        raise SbgDegenerateError(
            f"nobody left in {counts.size - 1} period(s) ({n0:g} customers throughout): no churn to estimate"
        )
    if lost[0] == n0:
        raise SbgDegenerateError(
            f"all {n0:g} customers left in the first period: the churn is 1, with no spread to estimate"
        )

    def negative(x: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = math.exp(x[0]), math.exp(x[1])
        base = special.betaln(a, b)
        ll = float(
            lost @ (special.betaln(a + 1.0, b + t - 1.0) - base) + nT * (special.betaln(a, b + T) - base)
        )
        # d ln B(a, b) / da = ψ(a) − ψ(a + b), likewise for b
        dab = special.digamma(a + b)
        d_base = np.array([special.digamma(a) - dab, special.digamma(b) - dab])
        s_a = special.digamma(a + b + t)
        d_p = np.array(
            [
                lost @ (special.digamma(a + 1.0) - s_a),
                lost @ (special.digamma(b + t - 1.0) - s_a),
            ]
        )
        s_aT = special.digamma(a + b + T)
        d_s = nT * np.array([special.digamma(a) - s_aT, special.digamma(b + T) - s_aT])
        grad = d_p + d_s - (lost.sum() + nT) * d_base  # d LL / d(a, b)
        if not math.isfinite(ll):
            return math.inf, np.zeros(2)
        return -ll, -grad * np.array([a, b])  # chain rule to the log parameters

    best = None
    for start in ((0.0, 0.0), (math.log(0.5), math.log(5.0)), (math.log(2.0), math.log(20.0))):
        res = optimize.minimize(negative, np.array(start), jac=True, method="BFGS", options={"gtol": 1e-10})
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    a, b = (math.exp(v) for v in best.x)
    # Customers alike (one churn p for all, the geometric model) is the limit α, β → ∞ at a fixed ratio:
    # where the fit heads there and gains nothing on it, the shapes are not identified.
    p = (n0 - nT) / float(counts[:-1].sum())  # the geometric model's maximum: churners / periods at risk
    ll_alike = (
        float(lost @ (math.log(p) + (t - 1.0) * math.log1p(-p)) + nT * T * math.log1p(-p))
        if p < 1
        else -math.inf
    )
    if (a >= 1e6 and b >= 1e6) or (a + b > 1e4 and -best.fun - ll_alike < 1e-3):
        raise SbgDegenerateError(
            f"the retention does not rise with tenure: these customers look alike (churn {p:.3g} a period "
            'for all), use model = "constant"'
        )
    if not (math.isfinite(best.fun) and 1e-8 < a < 1e6 and 1e-8 < b < 1e6):
        raise SbgDegenerateError(
            f"the likelihood has no maximum at finite α, β (reached α = {a:.3g}, β = {b:.3g})"
        )
    a_se, b_se = _standard_errors(a, b, lost, nT, t, T)
    return SbgFit(
        alpha=a,
        beta=b,
        log_likelihood=-float(best.fun),
        n=n0,
        periods=int(T),
        alpha_se=a_se,
        beta_se=b_se,
    )


def _checked(active_by_period: Sequence[int | float]) -> np.ndarray:
    """The counts as a float array, or an `SbgFitError` subclass saying what is wrong."""
    try:
        counts = np.asarray(list(active_by_period), dtype=float)
    except (TypeError, ValueError) as exc:
        raise SbgCountError(f"the counts must be numbers ({exc})") from None
    if counts.ndim != 1 or counts.size < 2:
        raise SbgTooFewPeriodsError(
            f"{counts.size} count(s) given: at least two are needed (the cohort at the start, then the "
            "customers left at the end of each period)"
        )
    bad = np.flatnonzero(~np.isfinite(counts) | (counts < 0))
    if bad.size:
        i = int(bad[0])
        raise SbgCountError(f"count {i} is {counts[i]!r}: counts must be finite numbers >= 0")
    if counts[0] <= 0:
        raise SbgCountError(f"the cohort at the start is {counts[0]:g}: it must have customers")
    up = np.flatnonzero(np.diff(counts) > 0)
    if up.size:
        i = int(up[0])
        raise SbgIncreasingError(
            f"the counts rise from {counts[i]:g} (period {i}) to {counts[i + 1]:g} (period {i + 1}): "
            "customers who left do not come back, the counts must not increase"
        )
    return counts


def _standard_errors(
    a: float, b: float, lost: np.ndarray, nT: float, t: np.ndarray, T: float
) -> tuple[float, float]:
    """Standard errors of α and β: the square roots of the diagonal of the inverse observed information,
    the Hessian of −LL (second derivatives of ln B(x, y) with trigamma ψ1: ∂²/∂x² = ψ1(x) − ψ1(x + y),
    ∂²/∂x∂y = −ψ1(x + y), ∂²/∂y² = ψ1(y) − ψ1(x + y)). NaN if it is not positive definite."""
    from scipy import special

    def d2_lnb(x: float | np.ndarray, y: float | np.ndarray) -> tuple:
        """(∂²/∂x², ∂²/∂x∂y, ∂²/∂y²) of ln B(x, y)."""
        s = special.polygamma(1, x + y)
        return special.polygamma(1, x) - s, -s, special.polygamma(1, y) - s

    # LL = Σ lost_t [ln B(a + 1, b + t − 1) − ln B(a, b)] + n_T [ln B(a, b + T) − ln B(a, b)]
    p = d2_lnb(a + 1.0, b + t - 1.0)
    q = d2_lnb(a, b + T)
    base = d2_lnb(a, b)
    total = float(lost.sum() + nT)
    h = [float(lost @ p[i]) + nT * float(q[i]) - total * float(base[i]) for i in range(3)]
    info = -np.array([[h[0], h[1]], [h[1], h[2]]])  # observed information: the Hessian of −LL
    try:
        np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return math.nan, math.nan
    cov = np.linalg.inv(info)
    return math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])
