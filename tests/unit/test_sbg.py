"""Customers who differ (docs/model.md, "Customers differ"; `[retention] model = "sbg"`): θ's quadrature rule
against the closed form B(α, β + t) / B(α, β), the LTV against the DERL series and E[1/θ], against an
integral over θ of constant-churn tables (an independent code path), plans (cohort tables, `cohort_ltv`,
the expected model's cohort matrix) against a brute-force sum over θ and ages, the per-θ remainders, and
`sim.calibration.sbg.fit_sbg` on Fader & Hardie's (2007) published cohorts. The engine's draws are in
tests/unit/test_lifetimes.py, the engine against the expected model in tests/validation/test_expected.py.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import integrate, special, stats
from sections import PROBLEMS

import sim
from sim.accounting.lifetimes import (
    ChurnMixture,
    cohort_ltv,
    horizon_remaining,
    lifetime_tables,
    remaining_given_theta,
    theta_rule,
)
from sim.analytic.expected_value import _CohortMatrix, _existing_planned, expected, month_values
from sim.calibration.sbg import (
    SbgCountError,
    SbgDegenerateError,
    SbgFit,
    SbgFitError,
    SbgIncreasingError,
    SbgTooFewPeriodsError,
    fit_sbg,
)
from sim.model import plan
from sim.model.calendar import monthly_discount
from sim.model.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
SALON = sim.load_scenario(ROOT / "scenarios" / "salon_care_programme.toml")
BEAUTY = sim.load_scenario(ROOT / "scenarios" / "beauty_salon.toml")


def differ(sc: Scenario, alpha: float, beta: float, churn: float | None = None, **changes: Any) -> Scenario:
    """`sc` with customers who differ: θ ~ Beta(alpha, beta), mean churn `churn` (default E[θ])."""
    data = sc.model_dump(mode="json")
    data["retention"] = {"model": "sbg", "alpha": alpha, "beta": beta}
    if churn is not None:
        data["retention"]["monthly_churn"] = churn
    data.update(changes)
    return sim.parse_scenario(data)


def closed_survival(alpha: float, beta: float, t: np.ndarray) -> np.ndarray:
    return np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))


# --- the quadrature rule ---------------------------------------------------------------------------------

SHAPES = [(0.668, 3.806), (0.704, 1.182), (0.2, 0.5), (0.05, 0.05), (1.5, 3.0), (2.0, 30.0), (10.0, 200.0)]


@pytest.mark.parametrize(("alpha", "beta"), [*SHAPES, (100.0, 4900.0), (30.0, 30.0)])
def test_quadrature_matches_the_closed_form_to_1e_10(alpha: float, beta: float):
    rule = theta_rule(alpha, beta)
    assert rule.weights.sum() == pytest.approx(1.0, abs=1e-15)
    assert np.all((rule.nodes > 0) & (rule.nodes < 1)) and np.all(rule.weights > 0)
    t = np.arange(600, dtype=float)
    quad = rule.weights @ np.exp(np.multiply.outer(np.log1p(-rule.nodes), t))
    exact = closed_survival(alpha, beta, t)
    big = exact > 1e-200
    np.testing.assert_allclose(quad[big], exact[big], rtol=1e-10, atol=0)


def test_tables_use_the_closed_form_when_every_scale_is_one():
    # No programme, no plan, monthly_churn = E[θ]: S(t) = B(α, β + t) / B(α, β) exactly (no problems here).
    sc = differ(BEAUTY, 0.668, 3.806, problems=None)
    assert np.all(lifetime_tables(sc).calendar.mixture.scale == 1.0)
    t = np.arange(600, dtype=float)
    np.testing.assert_allclose(
        lifetime_tables(sc).expected_by_age("active"), closed_survival(0.668, 3.806, t), rtol=1e-13
    )
    # the retention rate rises with age: (β + t − 1) / (α + β + t − 1)
    s = lifetime_tables(sc).expected_by_age("active")
    np.testing.assert_allclose(
        s[1:25] / s[:24], (3.806 + t[1:25] - 1) / (0.668 + 3.806 + t[1:25] - 1), rtol=1e-12
    )


# --- the LTV: closed forms ---------------------------------------------------------------------------------


def monthly_visits(
    alpha: float, beta: float, rate: float, margin: float = 100.0, first: float = 40.0, **retention: Any
) -> Scenario:
    """One monthly visit of `margin` (everyone), first purchase `first`, no problems, no programme."""
    data = BEAUTY.model_dump(mode="json")
    data.update(
        {
            "discount_rate_annual": rate,
            "problems": None,
            "repeat": [{"name": "Visit", "interval_months": 1, "revenue": 2 * margin, "margin": margin}],
            "first_purchase": {"revenue": 2 * first, "margin": first},
            "retention": {"model": "sbg", "alpha": alpha, "beta": beta, **retention},
        }
    )
    return sim.parse_scenario(data)


def derl_series(alpha: float, beta: float, v: float) -> float:
    """Σ_{t≥0} v^t S(t), summed with S(t) = S(t−1) (β + t − 1) / (α + β + t − 1) until the terms are 1e-18
    of the sum (Fader & Hardie 2010: ₂F₁(1, β; α + β; v))."""
    total, s, vt, t = 0.0, 1.0, 1.0, 0
    while True:
        total += vt * s
        t += 1
        s *= (beta + t - 1) / (alpha + beta + t - 1)
        vt *= v
        if vt * s < 1e-18 * total:
            return total


@pytest.mark.parametrize(("alpha", "beta"), [(0.668, 3.806), (0.704, 1.182), (2.0, 30.0)])
@pytest.mark.parametrize("rate", [0.1, 0.01])
def test_ltv_is_the_derl_series(alpha: float, beta: float, rate: float):
    # LTV = first + margin × (Σ_{t≥0} v^t S(t) − 1): the visits of ages t >= 1, each there with S(t)
    sc = monthly_visits(alpha, beta, rate)
    v = monthly_discount(rate)
    derl = derl_series(alpha, beta, v)
    t = lifetime_tables(sc)
    assert t.ltv == pytest.approx(40.0 + 100.0 * (derl - 1.0), rel=1e-10)
    if rate == 0.1:  # the hypergeometric form of Fader & Hardie (2010) where scipy evaluates it
        assert derl == pytest.approx(special.hyp2f1(1.0, beta, alpha + beta, v), rel=1e-12)
    # the remaining value of a customer still there at the end of age a: the population's (posterior θ)
    a = 12
    k = np.arange(a + 1)
    s_k = closed_survival(alpha, beta, k.astype(float))
    rest = 100.0 * (derl - float(np.sum(v**k * s_k)))  # Σ_{k > a} v^k × 100 × S(k)
    assert t.remaining_ltv[0, a] == pytest.approx(rest / s_k[a], rel=1e-9)


def test_ltv_without_discount_is_finite_only_if_alpha_exceeds_one():
    # E[lifetime] = Σ_{t≥0} S(t) = E[1/θ] = (α + β − 1) / (α − 1) for α > 1, infinite for α <= 1 (no
    # discount, no leaving through problems): the first piece of the rule is Gauss for θ^(α−2).
    for alpha, beta in ((1.5, 3.0), (2.0, 30.0), (1.05, 2.0)):
        t = lifetime_tables(monthly_visits(alpha, beta, 0.0))
        life = (alpha + beta - 1.0) / (alpha - 1.0)
        assert t.ltv == pytest.approx(40.0 + 100.0 * (life - 1.0), rel=1e-10), (alpha, beta)
    assert lifetime_tables(monthly_visits(0.668, 3.806, 0.0)).ltv == math.inf
    assert lifetime_tables(monthly_visits(1.0, 3.0, 0.0)).ltv == math.inf
    # a customer who costs more than it brings (contacts 1500 a month, visits 1000): −inf; problems that
    # make customers leave end it
    salon = SALON.override(
        {"discount_rate_annual": 0.0, "problems": None, "service_programme.max_churn_reduction": 0.0}
    )
    losing = differ(salon.override({"service_programme.cost_per_contact": 1500.0}), 0.668, 3.806)
    assert lifetime_tables(losing).ltv == -math.inf
    assert lifetime_tables(losing).ltv_gross == math.inf
    problems = differ(BEAUTY, 0.668, 3.806, discount_rate_annual=0.0)
    assert math.isfinite(lifetime_tables(problems).ltv)


# --- the LTV: an integral over θ of constant-churn tables ------------------------------------------------


def integral_over_theta(sc: Scenario, alpha: float, beta: float, scale: float) -> np.ndarray:
    """(net, gross) LTV of customers who differ, as ∫ Beta(θ) × LTV_const(min(1, θ s)) dθ: each θ's LTV
    from the constant-churn tables (an independent code path), integrated by scipy's adaptive quadrature
    with breaks at the kink θ = 1/s and near 0."""

    def ltv(theta: float) -> np.ndarray:
        t = lifetime_tables(sc.override({"retention.monthly_churn": min(1.0, theta * scale)}))
        return stats.beta.pdf(theta, alpha, beta) * np.array([t.ltv, t.ltv_gross])

    edges = sorted({0.0, 1e-6, 1e-4, 1e-2, 0.1, 1.0} | ({1.0 / scale} if scale > 1 else set()))
    return sum(
        integrate.quad_vec(ltv, lo, hi, epsabs=0.0, epsrel=1e-12, limit=400)[0]
        for lo, hi in itertools.pairwise(edges)
    )


@pytest.mark.parametrize(
    ("alpha", "beta", "churn", "rate"),
    [
        (0.668, 3.806, 0.05, 0.1),  # s = 0.33: the programme or a lower churn lever scales θ down
        (0.668, 3.806, 0.3, 0.1),  # s = 2.0: θ > 1/2 leaves at the first check (the cap, a kink at θ = 1/2)
        (2.0, 10.0, 0.2, 0.0),  # α > 1, no discount: finite
    ],
)
def test_ltv_is_the_integral_over_theta_of_constant_churn_ltvs(
    alpha: float, beta: float, churn: float, rate: float
):
    base = BEAUTY.override({"discount_rate_annual": rate})  # two streams, problems (no programme)
    sc = differ(base, alpha, beta, churn)
    scale = churn / (alpha / (alpha + beta))
    want = integral_over_theta(base, alpha, beta, scale)
    t = lifetime_tables(sc)
    assert t.ltv == pytest.approx(want[0], rel=1e-9)
    assert t.ltv_gross == pytest.approx(want[1], rel=1e-9)


def test_the_remainder_given_theta_is_the_constant_churn_remainder():
    # A customer with its own θ churns at θ s at every check: its remainder after age A is that of the
    # constant-churn tables at churn θ s, for every adoption pattern (problems on).
    sc = differ(BEAUTY.override({"discount_rate_annual": 0.1}), 0.668, 3.806, 0.25)
    t = lifetime_tables(sc)
    s = t.calendar.mixture.scale[-1]
    rows = np.arange(t.pattern_prob.size)
    for theta in (0.003, 0.05, 0.3, 0.9):
        const = lifetime_tables(sc.override({"retention": {"monthly_churn": min(1.0, theta * s)}}))
        for age in (0, 1, 7, 35):
            net, gross = remaining_given_theta(t, rows, age, np.full(rows.size, theta))
            np.testing.assert_allclose(net, const.remaining_ltv[rows, age], rtol=1e-10, atol=1e-9)
            np.testing.assert_allclose(gross, const.remaining_ltv_gross[rows, age], rtol=1e-10, atol=1e-9)


# --- plans ---------------------------------------------------------------------------------------------

PLANNED = differ(
    SALON.override(
        {
            "horizon_months": 24,
            "discount_rate_annual": 0.12,
            "problems": PROBLEMS,
            "plan": [
                {
                    "from_month": 7,
                    "retention.monthly_churn": 0.05,
                    "service_programme.cost_per_contact": 90.0,
                },
                {
                    "from_month": 13,
                    "first_purchase.margin": 1200.0,
                    "service_programme.contacts_per_month": 1.5,
                },
            ],
            "trends": {"repeat.0.margin": 0.01},
        }
    ),
    2.0,
    30.0,
    0.02,
)
"""The salon on a plan (churn 2 % then 5 % from month 7, the contacts, the first margin, a trend on a
margin), problems, discount, customers who differ with E[θ] = 6.25 %: every scale below 1 (no kink)."""


def brute_sbg(sc: Scenario, month0: int, nodes: int = 400, ages: int = 3000) -> tuple[float, float]:
    """(net, gross) LTV of a customer of `sc` who buys in calendar month `month0`, summed age by age for
    every adoption pattern on scipy's own Gauss–Jacobi rule for Beta(α, β) (`nodes` nodes on [0, 1]), each
    age on its calendar month's values (`plan.months`, the last one past the horizon): independent of the
    tables' rule, tails and recursions. Exact for scales <= 1 (no kink) and a smooth Beta."""
    r = sc.retention
    x, w = special.roots_jacobi(nodes, r.beta - 1.0, r.alpha - 1.0)
    theta, w = (1.0 + x) / 2.0, w / w.sum()
    months = plan.months(sc)
    H = len(months)
    k = np.arange(ages)
    cal = [months[min(month0 + a, H - 1)] for a in range(min(ages, H + 1))]
    at = np.minimum(k, len(cal) - 1)  # past the horizon every age is on the last month's values

    def by_age(figure) -> np.ndarray:
        return np.array([figure(s) for s in cal])[at]

    churn = by_age(lambda s: s.effective_churn)
    contact = by_age(lambda s: s.service_programme.contacts_per_month * s.service_programme.cost_per_contact)
    v = monthly_discount(sc.discount_rate_annual) ** k
    pr = sc.problems
    keep = 1.0 - pr.visit_problem_probability * pr.leave_probability
    scale = churn / r.mean_theta
    log_stay = np.where(k >= 1, np.log1p(-np.minimum(1.0, np.multiply.outer(theta, scale))), 0.0)
    churn_part = w @ np.exp(np.cumsum(log_stay, axis=1))  # E_θ Π (1 − min(1, θ s)), by age
    net = gross = 0.0
    J = len(sc.repeat)
    for code in range(1 << J):
        used = [bool(code >> j & 1) for j in range(J)]
        weight = math.prod(
            s.adoption if u else 1.0 - s.adoption for s, u in zip(sc.repeat, used, strict=True)
        )
        if weight == 0:
            continue
        due = np.array(
            [u & (k >= 1) & (k % s.interval_months == 0) for s, u in zip(sc.repeat, used, strict=True)]
        )
        margin = sum(
            due[j] * by_age(lambda s, j=j: s.repeat[j].margin * s.repeat_margin_factor) for j in range(J)
        )
        margin = margin + np.where(k == 0, cal[0].first_purchase.margin, 0.0)
        visits = due.sum(axis=0) + (k == 0)
        prev = np.concatenate([[0], visits[:-1]])
        survive = churn_part * keep ** np.cumsum(prev)
        cost = contact + pr.cost_per_problem * pr.visit_problem_probability * visits
        gross += weight * float(np.sum(v * survive * margin))
        net += weight * float(np.sum(v * survive * (margin - cost)))
    return net, gross


def test_planned_cohorts_against_a_brute_force_sum_over_theta_and_ages():
    H = PLANNED.horizon_months
    assert np.all(lifetime_tables(PLANNED).calendar.mixture.scale < 1.0)
    net, gross = cohort_ltv(PLANNED)
    for m0 in (0, 5, 11, H - 1):
        want = brute_sbg(PLANNED, m0)
        t = lifetime_tables(PLANNED, m0)
        assert t.ltv == pytest.approx(want[0], rel=1e-9), m0
        assert t.ltv_gross == pytest.approx(want[1], rel=1e-9), m0
        # cohort_ltv (the plan's ages, then the remainder of the cohort's own survivors' θ) agrees
        assert net[m0] == pytest.approx(t.ltv, rel=1e-10), m0
        assert gross[m0] == pytest.approx(t.ltv_gross, rel=1e-10), m0


KINKED = differ(
    PLANNED,
    0.8,
    25.0,
    0.02,
    plan=[
        {"from_month": 7, "retention.monthly_churn": 0.09},
        {"from_month": 16, "retention.monthly_churn": 0.05},
    ],
    seasonality={"retention.monthly_churn": [1.0, 1.1, 1.2, 1.0, 0.9, 0.8, 1.0, 1.0, 1.3, 1.0, 1.0, 1.0]},
)
"""Churn above E[θ] = 3.1 % in most months from month 7 (scales up to 2.9): customers with θ above 1/s
leave at those checks for sure (kinks at θ = 1/s, where the rule's pieces end)."""


def test_planned_cohorts_with_kinks_agree_across_the_code_paths():
    H = KINKED.horizon_months
    t = lifetime_tables(KINKED)
    assert t.calendar.mixture.scale.max() > 2.5
    net, gross = cohort_ltv(KINKED, t)
    for m0 in (0, 6, 15, H - 1):
        tm = lifetime_tables(KINKED, m0)
        assert net[m0] == pytest.approx(tm.ltv, rel=1e-10), m0
        assert gross[m0] == pytest.approx(tm.ltv_gross, rel=1e-10), m0
    # the expected model's cohort matrix (E_θ of the checks' products, blocks of months) gives the same LTV
    cm = _CohortMatrix(KINKED, month_values(KINKED), t, H)
    mine = cm.ltv(month_values(KINKED), t, monthly_discount(KINKED.discount_rate_annual))
    np.testing.assert_allclose(mine[0], net, rtol=1e-10)
    np.testing.assert_allclose(mine[1], gross, rtol=1e-10)


def test_kinked_cohort_against_an_adaptive_integral_over_theta():
    # Cohort of month 1: per θ the brute-force sum over ages (one θ: a constant-churn life on the plan's
    # months), integrated by scipy's adaptive quadrature with breaks at every kink θ = 1/s.
    sc = KINKED
    r = sc.retention
    months = plan.months(sc)
    H = len(months)
    ages = 3000
    k = np.arange(ages)
    at = np.minimum(k, H - 1)
    churn = np.array([s.effective_churn for s in months])[at]
    contact = np.array(
        [s.service_programme.contacts_per_month * s.service_programme.cost_per_contact for s in months]
    )[at]
    margin_of = [
        np.array([s.repeat[j].margin * s.repeat_margin_factor for s in months])[at] for j in range(2)
    ]
    v = monthly_discount(sc.discount_rate_annual) ** k
    pr = sc.problems
    keep = 1.0 - pr.visit_problem_probability * pr.leave_probability
    patterns = []
    for code in range(4):
        used = [bool(code >> j & 1) for j in range(2)]
        weight = math.prod(
            s.adoption if u else 1.0 - s.adoption for s, u in zip(sc.repeat, used, strict=True)
        )
        due = [u & (k >= 1) & (k % s.interval_months == 0) for s, u in zip(sc.repeat, used, strict=True)]
        margin = (
            due[0] * margin_of[0]
            + due[1] * margin_of[1]
            + np.where(k == 0, months[0].first_purchase.margin, 0)
        )
        visits = due[0].astype(float) + due[1] + (k == 0)
        prev = np.concatenate([[0.0], visits[:-1]])
        cost = contact + pr.cost_per_problem * pr.visit_problem_probability * visits
        patterns.append((weight, margin, cost, keep ** np.cumsum(prev)))

    def ltv(theta: float) -> np.ndarray:
        stay = np.where(k >= 1, 1.0 - np.minimum(1.0, theta * churn / r.mean_theta), 1.0)
        s = np.cumprod(stay)
        out = np.zeros(2)
        for weight, margin, cost, kp in patterns:
            out += weight * np.array([np.sum(v * s * kp * (margin - cost)), np.sum(v * s * kp * margin)])
        return stats.beta.pdf(theta, r.alpha, r.beta) * out

    kinks = {float(r.mean_theta / c) for c in np.unique(churn) if c > r.mean_theta}
    edges = sorted({0.0, 1e-6, 1e-4, 1e-2, 1.0} | kinks)
    want = sum(
        integrate.quad_vec(ltv, lo, hi, epsabs=0.0, epsrel=1e-11, limit=200)[0]
        for lo, hi in itertools.pairwise(edges)
    )
    t = lifetime_tables(sc)
    assert t.ltv == pytest.approx(want[0], rel=1e-8)
    assert t.ltv_gross == pytest.approx(want[1], rel=1e-8)


def test_mixed_paths_and_survival_against_direct_products():
    mix = lifetime_tables(KINKED).calendar.mixture
    H = mix.scale.size
    assert np.isneginf(mix.log_stay).any(), "some nodes leave for sure at some checks"
    paths = mix.paths()
    for m0 in range(H):
        direct = mix.weights @ mix.node_survival(np.arange(m0 + 1, H))
        np.testing.assert_allclose(paths[m0, m0:], direct, rtol=1e-12, atol=1e-15)
        assert paths[m0, m0] == 1.0
    # the cohort of month m0 survives to the horizon's end with the last column
    np.testing.assert_allclose(
        paths[:, H - 1], [mix.survival(np.arange(m0 + 1, H))[-1] for m0 in range(H)], rtol=1e-12
    )


def test_horizon_remainders_mix_each_theta_over_the_cohorts_survivors():
    # horizon_remaining (the per-node recursion) against the per-θ closed form at each age, weighted by
    # w_j × the node's survival from the cohort's purchase to the horizon's end.
    t = lifetime_tables(KINKED)
    mix = t.calendar.mixture
    H = mix.scale.size
    net, gross = horizon_remaining(t)
    for m0 in (0, 4, 13, H - 1):
        weight = mix.weights * mix.node_survival(np.arange(m0 + 1, H))[:, -1]
        weight /= weight.sum()
        for p in range(t.pattern_prob.size):
            rows = np.full(mix.nodes.size, p)
            n, g = remaining_given_theta(t, rows, H - 1 - m0, mix.nodes)
            assert net[m0, p] == pytest.approx(n @ weight, rel=1e-12)
            assert gross[m0, p] == pytest.approx(g @ weight, rel=1e-12)


def test_existing_customers_mix_the_churn_over_theta():
    # Without problems an existing customer's survival to the end of month k is E_θ Π_{t<k} (1 − min(1, θ
    # s(t))): the expected model's figures are the count × that (× the visits' rates).
    sc = differ(KINKED, 0.8, 25.0, 0.02, problems=None, existing_customers={"count": 1000})
    t = lifetime_tables(sc)
    H = sc.horizon_months
    got = _existing_planned(sc, month_values(sc), H, t.calendar.mixture)
    want = 1000 * (t.calendar.mixture.weights @ t.calendar.mixture.node_survival(np.arange(H)))[1:]
    np.testing.assert_allclose(got["active"], want, rtol=1e-12)
    assert expected(sc).monthly["active_customers"].iloc[0] > want[0], "new customers come on top"


# --- fitting the sBG model ---------------------------------------------------------------------------------

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


@pytest.mark.parametrize(
    ("data", "alpha", "beta", "ll"),
    [
        # Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1):
        # the 'regular' and 'high end' cohorts over their first 7 years, the maximum-likelihood estimates
        # and log-likelihoods they publish (regular α 0.704, β 1.182; high end α 0.668, β 3.806, LL −1611.2).
        (REGULAR, 0.704, 1.182, -1680.3),
        (HIGH_END, 0.668, 3.806, -1611.2),
    ],
)
def test_fit_reproduces_the_published_estimates(data: list[int], alpha: float, beta: float, ll: float):
    fit = fit_sbg(data)
    assert isinstance(fit, SbgFit)
    assert fit.alpha == pytest.approx(alpha, abs=5e-4)
    assert fit.beta == pytest.approx(beta, abs=5e-4)
    assert fit.log_likelihood == pytest.approx(ll, abs=0.05)
    assert (fit.n, fit.periods) == (1000.0, 7)
    # the maximum: LL is lower a little way off in every direction
    lost = -np.diff(np.array(data, dtype=float))

    def loglik(a: float, b: float) -> float:
        t = np.arange(1, 8)
        base = special.betaln(a, b)
        return float(
            lost @ (special.betaln(a + 1, b + t - 1) - base) + data[-1] * (special.betaln(a, b + 7) - base)
        )

    assert loglik(fit.alpha, fit.beta) == pytest.approx(fit.log_likelihood, rel=1e-12)
    for da, db in ((1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3)):
        assert loglik(fit.alpha + da, fit.beta + db) < fit.log_likelihood
    # standard errors: the observed information against a finite-difference Hessian of LL
    h = 1e-4
    a, b = fit.alpha, fit.beta
    haa = (loglik(a + h, b) - 2 * loglik(a, b) + loglik(a - h, b)) / h**2
    hbb = (loglik(a, b + h) - 2 * loglik(a, b) + loglik(a, b - h)) / h**2
    hab = (loglik(a + h, b + h) - loglik(a + h, b - h) - loglik(a - h, b + h) + loglik(a - h, b - h)) / (
        4 * h * h
    )
    cov = np.linalg.inv(-np.array([[haa, hab], [hab, hbb]]))
    assert fit.alpha_se == pytest.approx(math.sqrt(cov[0, 0]), rel=1e-4)
    assert fit.beta_se == pytest.approx(math.sqrt(cov[1, 1]), rel=1e-4)


def test_fit_survival_retention_and_the_scenario_fields():
    fit = fit_sbg(HIGH_END)
    t = np.arange(0, 13)
    s = fit.survival(t)
    assert s[0] == 1.0 and fit.survival(0) == 1.0
    np.testing.assert_allclose(s[1:] / s[:-1], fit.retention(t[1:]), rtol=1e-12)
    assert np.all(np.diff(fit.retention(t[1:])) > 0), "the retention rate rises with tenure"
    # the fit follows the data it was fitted to: within 20 customers of 1,000 in every year
    assert np.max(np.abs(1000 * s[:8] - np.array(HIGH_END))) < 20
    fields = fit.retention_fields()
    sc = differ(BEAUTY, fields["alpha"], fields["beta"])
    assert sc.retention.monthly_churn == pytest.approx(fit.mean_churn, rel=1e-12)
    assert fields["monthly_churn"] == pytest.approx(fit.mean_churn)
    # shares instead of counts: the same maximum (LL scales with the counts)
    shares = fit_sbg([x / 10 for x in HIGH_END])
    assert shares.alpha == pytest.approx(fit.alpha, rel=1e-6) and shares.beta == pytest.approx(
        fit.beta, rel=1e-6
    )
    assert shares.n == 100.0


def test_fit_recovers_the_shapes_of_a_simulated_cohort():
    # 200,000 customers with θ ~ Beta(0.9, 6) followed for 12 periods: the estimates lie within 4 standard
    # errors of the truth (the standard errors are about 1.5 % of α and 2 % of β, so a bias of about 6 % of
    # α or 8 % of β would fail the test).
    rng = np.random.default_rng(2024)
    theta = rng.beta(0.9, 6.0, 200_000)
    life = rng.geometric(theta)  # the period in which each customer leaves
    counts = [200_000] + [int((life > t).sum()) for t in range(1, 13)]
    fit = fit_sbg(counts)
    assert abs(fit.alpha - 0.9) < 4 * fit.alpha_se
    assert abs(fit.beta - 6.0) < 4 * fit.beta_se
    assert fit.alpha_se < 0.02 * 0.9 and fit.beta_se < 0.03 * 6.0


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ([], SbgTooFewPeriodsError),
        ([1000], SbgTooFewPeriodsError),
        ([1000, 1100, 900], SbgIncreasingError),
        ([0, 0], SbgCountError),
        ([1000, -5], SbgCountError),
        ([1000, float("nan")], SbgCountError),
        ([1000, math.inf], SbgCountError),
        (["many", 10], SbgCountError),
        ([1000, 1000, 1000], SbgDegenerateError),
        ([1000, 0, 0], SbgDegenerateError),
        ([1000, 800, 640, 512], SbgDegenerateError),
    ],
)
def test_bad_counts_raise_a_one_line_value_error(data: list, error: type[SbgFitError]):
    with pytest.raises(error) as info:
        fit_sbg(data)
    assert isinstance(info.value, ValueError) and isinstance(info.value, SbgFitError)
    message = str(info.value)
    assert message and "\n" not in message


def test_customers_who_look_alike_are_refused_with_the_constant_churn():
    # Counts that fall geometrically (20 % a period) or faster than that: the likelihood rises towards
    # α, β → ∞ (customers alike), so there are no shapes to estimate.
    for data in ([1000, 800, 640, 512, 409.6], [1000, 500, 200, 0]):
        with pytest.raises(SbgDegenerateError, match="look alike"):
            fit_sbg(data)


def test_a_mixture_survival_of_no_checks_is_one():
    mix = lifetime_tables(PLANNED).calendar.mixture
    assert isinstance(mix, ChurnMixture)
    np.testing.assert_array_equal(mix.survival(np.array([], dtype=np.int64)), [1.0])
    assert mix.node_survival(np.array([], dtype=np.int64)).shape == (mix.nodes.size, 1)
