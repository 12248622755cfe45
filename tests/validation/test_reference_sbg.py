"""Customers who differ (sBG) and what is not known (`[uncertainty]`): the engine against the reference model.

Requirement (docs/model.md, "Customers: lifetime, churn and repeat visits" and "What is not known"): under
`[retention] model = "sbg"` each customer, new or existing, draws θ ~ Beta(alpha, beta) once and fails the
check at the end of month m with probability min(1, θ × c(m) / E[θ]); a scenario with `[uncertainty]` draws
its uncertain levers once per replication and runs the drawn scenario. The reference model
(`tests/support/reference_model.py`: every lead and customer its own SimPy process, each rule written out
literally) is checked here against closed forms, then the engine against the reference. The two share no
code and no random streams, so when both are right their per-run outcomes are independent samples of the
same distribution; with uncertainty only distributions are compared.

The reference model against closed forms (family `SELF`):

- a cohort of 20,000 customers (the reference's customer process alone, `cohort_survival`), sBG with
  alpha = 0.7, beta = 3.8 and monthly_churn = E[θ]: the share active after age month k must be
  S(k) = B(alpha, beta + k) / B(alpha, beta) for every k (new customers k = 1 … 23, existing ones
  k = 1 … 24); and a cohort of existing customers with a programme (churn × 0.5 from month 7) and a churn
  step (month 12) that lifts c(m) / E[θ] to 1.5, so the cap at 1 binds for θ > 2/3: S(k) =
  E[Π_{j ≤ k} (1 − min(1, θ c(j) / E[θ]))] by quadrature. Each S(k) by an exact binomial test.
- the uncertain levers' draws (4,000 of them): the triangular churn and the uniform referral rate by a
  one-sample Kolmogorov–Smirnov test against their distribution functions, the rounded staff by a
  chi-square test against (1/4, 1/2, 1/4).

The engine against the reference (family `ENGINE`):

- `sbg_dealer`: the car dealer with service at 300 leads a month over 24 months, sBG (alpha 0.7, beta
  3.8, monthly_churn = E[θ] ≈ 0.156), problems at 15 % of visits (each a 40 % chance of leaving at the
  next check, on top of θ) and 300 existing customers: total sales, repeat visits, problems and referral
  leads, active customers in months 3, 6, 12 and 24 and the final cumulative cash (N = 40 runs each);
- `sbg_programme_plan`: a salon, sBG (alpha 0.5, beta 2, monthly_churn 0.2 = E[θ]) with 300 existing
  customers, a care programme that starts in month 7 (churn × 0.5) and a churn step to 0.6 in month 12
  (c / E[θ] = 1.5: the cap binds): sales in months 1-6, 7-11 and 12-18, repeat visits, referral leads,
  active customers in months 6, 11 and 18, final cash (N = 40);
- `uncertain_salon`: the salon with a care programme over 18 months, monthly churn triangular (0.08,
  0.15, 0.35), referrals a customer a year uniform (0.2 … 2) and staff uniform (1 … 3, rounded): the
  engine through `sim.simulate` (which draws the uncertainty), the reference through `run_reference`
  (which draws its own), N = 100 runs each: the means of the final cash, total sales, referral leads,
  staff cost and active customers at the horizon (Welch), the distributions of the final cash and of the
  referral leads (two-sample Kolmogorov–Smirnov) and the spread of the final cash (Brown–Forsythe).

Significance: the two families share FAMILY_ALPHA = 0.001 (Bonferroni, 0.0005 each): SELF_COMPARISONS =
68 tests each at 0.0005 / 68 ≈ 7.4e-6, ENGINE_COMPARISONS = 26 tests each at 0.0005 / 26 ≈ 1.9e-5. A correct
reference and engine fail this file with probability at most 0.1 % (the binomial and one-sample tests
are exact; the t-tests up to the normal approximation). Seeds are fixed: the outcome is deterministic.

Power (each caught at 99 %):

- cohort survival: a bias of (4.48 + 2.33) × sqrt(S(1 − S) / 20,000) in S(k), at most 0.024 (at S = 0.5;
  0.014 at S = 0.1). Constant churn at the same mean (the geometric S(12) = 0.131 against sBG's 0.361),
  or θ redrawn every month (the same geometric), is caught many times over; in the planned cohort, a
  programme that does not scale θ's churn moves S(11) from 0.417 to 0.372 (caught: the bound is 0.023),
  constant churn 0.417 to 0.155; the churn step a month late moves S(12) by 0.019, just below the bound.
- draws: a one-sample KS test of 4,000 draws at 7.4e-6 (critical D ≈ 0.040) catches a gap of about 0.065
  between distribution functions (e.g. the triangular's mode at 0.125 instead of 0.15: a gap of 0.083 at
  0.15; a uniform instead of the triangular: 0.2).
- engine, Welch with 40 + 40 runs (critical t ≈ 4.55): a difference of means of (4.55 + 2.33) sqrt(2/40) σ
  ≈ 1.54 σ, σ the per-run spread; measured on the reference, as a share of the mean: `sbg_dealer` sales
  14 %, repeat visits 9 %, problems 13 %, referral leads 13 %, active customers 8-18 %, final cash
  1.8 M rub (its mean is near zero: the problems' cost eats the margin); `sbg_programme_plan` sales per
  period 5-6 %, repeat visits 5 %, referral leads 7 %, active customers 5-6 %, final cash 6 %. An engine
  that ignored sbg (constant churn at the same mean) would lower the dealer's active customers in month
  12 by 55 % and in month 24 by 69 %, its repeat visits by 43 % (measured on the reference, 10 runs):
  caught many times over (`test_sbg_dealer_is_not_constant_churn` keeps the gap in view).
- uncertain_salon, 100 + 100 runs: Welch (critical t ≈ 4.4) catches a difference of means of about
  0.95 σ, which the uncertainty makes wide: final cash 36 %, sales 18 %, referral leads 66 %, staff cost
  37 %, active customers 35 % of the mean. The distributions are the sharper test: the two-sample KS test
  (critical D ≈ 0.34) catches a gap between the distribution functions of about 0.55 (the critical D
  plus the 99 % fluctuation of the observed one), Brown–Forsythe a ratio of standard deviations of about
  2. The uncertainty widens the final cash's spread about nine-fold (σ 4.4 M against 0.48 M rub at the
  base values), so an engine that ignored `[uncertainty]`, or drew it once for all replications, is
  caught by both (`test_uncertain_salon_spreads_the_cash` keeps the gap in view).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from reference_model import cohort_survival, draw_uncertain, run_reference
from scipy import integrate, special, stats
from welch import welch as welch_test

import sim
from sim.accounting.ledger import complete_monthly
from sim.accounting.lifetimes import lifetime_tables
from sim.engine.replication import run_replication
from sim.model import plan
from sim.model.scenario import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

ENGINE_SEED = 4_711
REFERENCE_SEED0 = 70_000
N_FIXED = 40
"""Replications of each model per sBG case."""
N_UNCERTAIN = 100
"""Replications of each model for the uncertain scenario."""
COHORT = 20_000
"""Customers in each cohort of the survival checks."""
DRAWS = 4_000
"""Draws of the uncertain levers in the check of the reference's draws."""

PLANNED_S18 = 0.2907
"""S(18) of the planned cohort (`planned_cohort_scenario`), by quadrature."""
SHAPES = (0.7, 3.8)
"""alpha, beta of the sBG dealer and the plain cohorts: E[θ] ≈ 0.156, a customer's churn spread widely."""
SALON_SHAPES = (0.5, 2.0)
"""alpha, beta of the sBG salon: E[θ] = 0.2, its monthly churn."""

FAMILY_ALPHA = 0.001
SELF_COMPARISONS = 23 + 24 + 18 + 3
"""Cohort survival: new (k = 1 … 23), existing (k = 1 … 24), the planned cohort (k = 1 … 18); three draws."""
ENGINE_COMPARISONS = 9 + 9 + 8
"""sbg_dealer, sbg_programme_plan, uncertain_salon."""
SELF_ALPHA = FAMILY_ALPHA / 2 / SELF_COMPARISONS
ENGINE_ALPHA = FAMILY_ALPHA / 2 / ENGINE_COMPARISONS

P_VALUES: dict[str, float] = {}
"""Every p-value computed in this run, by case and figure (for inspection, e.g. `pytest -s`)."""


def load(name: str) -> Scenario:
    return sim.load_scenario(SCENARIOS / f"{name}.toml")


def build(base: str, changes: dict[str, Any]) -> Scenario:
    """A shipped scenario with whole sections or fields replaced (no dotted paths: a plan is given as
    written in a file, so no base value moves its steps)."""
    data = load(base).to_dict()
    data.update(changes)
    return parse_scenario(data, source=f"{base} + changes")


def sbg(alpha: float, beta: float, monthly_churn: float | None = None) -> dict[str, Any]:
    """A `[retention]` table with customers who differ (monthly_churn absent: E[θ])."""
    out: dict[str, Any] = {"model": "sbg", "alpha": alpha, "beta": beta}
    if monthly_churn is not None:
        out["monthly_churn"] = monthly_churn
    return out


# --- the cases ---------------------------------------------------------------------------------------------


DEALER_PROBLEMS = {
    "visit_problem_probability": 0.15,
    "resolution_days": 5.0,
    "cost_per_problem": 20_000.0,
    "leave_probability_base": 0.2,
    "leave_probability_per_day": 0.04,
}
"""Problems at 15 % of visits, each making the customer leave at the next check with probability 0.4 (on
top of its θ)."""


def sbg_dealer() -> Scenario:
    """The car dealer with service, scaled down, with customers who differ, problems at visits and 300
    existing customers."""
    return load("car_dealer_service").override(
        {
            "horizon_months": 24,
            "channels.0.leads_per_month": 300.0,
            "retention": sbg(*SHAPES),
            "existing_customers.count": 300,
            "problems": DEALER_PROBLEMS,
        }
    )


def sbg_programme_plan() -> Scenario:
    """A salon with customers who differ: its care programme starts in month 7, churn steps to 0.6 in
    month 12 (c / E[θ]: 1 in months 1-6, 0.5 in 7-11, 1.5 from 12 on)."""
    return build(
        "salon_care_programme",
        {
            "horizon_months": 18,
            "retention": sbg(*SALON_SHAPES, monthly_churn=0.2),
            "existing_customers": {"count": 300},
            "service_programme": {
                "fixed_cost_per_year": 0.0,
                "contacts_per_month": 0.0,
                "cost_per_contact": 60.0,
                "tolerated_contacts_per_month": 2.0,
                "max_churn_reduction": 0.5,
                "referral_uplift": 0.0,
                "margin_uplift": 0.0,
            },
            "plan": [
                {
                    "from_month": 7,
                    "service_programme.contacts_per_month": 2.0,
                    "service_programme.fixed_cost_per_year": 120_000.0,
                    "service_programme.margin_uplift": 0.2,
                    "service_programme.referral_uplift": 0.5,
                },
                {"from_month": 12, "retention.monthly_churn": 0.6},
            ],
        },
    )


UNCERTAINTY = {
    "retention.monthly_churn": {"low": 0.08, "mode": 0.15, "high": 0.35},
    "referrals.per_customer_per_year": {"low": 0.2, "high": 2.0},
    "sales_desk.staff": {"low": 1, "high": 3},
}


def uncertain_salon() -> Scenario:
    """The salon with a care programme over 18 months; churn, referrals and staff not known for sure."""
    return load("salon_care_programme").override({"horizon_months": 18, "uncertainty": UNCERTAINTY})


# --- the reference model against closed forms --------------------------------------------------------------


def sbg_survival(alpha: float, beta: float, months: int) -> np.ndarray:
    """S(k) = B(alpha, beta + k) / B(alpha, beta), k = 0 … months (Fader & Hardie 2007)."""
    k = np.arange(months + 1)
    return np.exp(special.betaln(alpha, beta + k) - special.betaln(alpha, beta))


def capped_survival(alpha: float, beta: float, factors: np.ndarray) -> np.ndarray:
    """S(k) = E[Π_{j ≤ k} (1 − min(1, θ f_j))], θ ~ Beta(alpha, beta), f_j = c(j) / E[θ] of check j;
    k = 0 … len(factors). Quadrature over θ below the first θ at which some check is certain to fail."""
    log_b = special.betaln(alpha, beta)
    out = [1.0]
    for k in range(1, len(factors) + 1):
        f = factors[:k]
        top = min(1.0, 1.0 / float(f.max()))

        def alive(theta: float, f: np.ndarray = f) -> float:
            return float(np.prod(1.0 - theta * f)) * (1.0 - theta) ** (beta - 1.0) / math.exp(log_b)

        # The weight θ^(alpha − 1) is integrated exactly (it may be infinite at 0).
        value, _ = integrate.quad(alive, 0.0, top, weight="alg", wvar=(alpha - 1.0, 0.0), epsabs=1e-12)
        out.append(value)
    return np.array(out)


def assert_cohort_follows(case: str, observed: np.ndarray, expected: np.ndarray, ages: range) -> None:
    """The share active after each age month in `ages` is Binomial(COHORT, S(k)) / COHORT: exact tests."""
    failures = []
    for k in ages:
        active = round(observed[k] * COHORT)
        p = float(stats.binomtest(active, COHORT, float(expected[k])).pvalue)
        P_VALUES[f"{case}: S({k})"] = p
        text = (
            f"S({k}) = {observed[k]:.4f} against {expected[k]:.4f}: p = {p:.3g}, threshold {SELF_ALPHA:.3g}"
        )
        print(f"{case}: {text}")
        if not p >= SELF_ALPHA:
            failures.append(text)
    assert not failures, f"{case}: the reference's cohort does not survive as it should:\n" + "\n".join(
        failures
    )


def plain_cohort_scenario() -> Scenario:
    """sBG with monthly_churn = E[θ], nothing else that makes customers leave or come."""
    return load("car_dealer_service").override(
        {"horizon_months": 24, "retention": sbg(*SHAPES), "referrals": None, "repeat": []}
    )


def test_closed_forms_agree():
    """The quadrature is right where the beta functions give the answer (no cap, every factor 1), and the
    cap costs the planned cohort what the docstring says."""
    a, b = SHAPES
    assert capped_survival(a, b, np.ones(24)) == pytest.approx(sbg_survival(a, b, 24), rel=1e-9, abs=1e-12)
    geometric = (1.0 - a / (a + b)) ** 12
    assert sbg_survival(a, b, 12)[12] == pytest.approx(0.361, abs=5e-4)
    assert geometric == pytest.approx(0.131, abs=5e-4)
    factors = planned_cohort_factors()
    assert capped_survival(*SALON_SHAPES, factors)[18] == pytest.approx(PLANNED_S18, abs=5e-4)


@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_reference_cohort_survival_is_sbg(existing: bool):
    """A cohort of the reference's customers survives as S(k) = B(alpha, beta + k) / B(alpha, beta)."""
    sc = plain_cohort_scenario()
    observed = cohort_survival(sc, COHORT, seed=11 if existing else 12, existing=existing)
    expected = sbg_survival(*SHAPES, sc.horizon_months)
    ages = range(1, sc.horizon_months + 1) if existing else range(1, sc.horizon_months)
    assert len(ages) == (24 if existing else 23)
    assert_cohort_follows(f"sBG cohort ({'existing' if existing else 'new'})", observed, expected, ages)


def planned_cohort_scenario() -> Scenario:
    """`sbg_programme_plan` with nothing that makes customers come or leave but churn."""
    return sbg_programme_plan().override({"referrals": None, "repeat": []})


def planned_cohort_factors() -> np.ndarray:
    """c(j) / E[θ] for the check at the end of month j = 1 … 18 of `planned_cohort_scenario`."""
    sc = planned_cohort_scenario()
    return plan.series(sc, lambda s: s.effective_churn) / sc.retention.mean_theta


def test_reference_cohort_with_programme_step_and_cap():
    """Existing customers under a programme from month 7 and a churn step in month 12 (a period effect for
    every θ, capped at 1): S(k) = E[Π_{j ≤ k} (1 − min(1, θ c(j) / E[θ]))]."""
    sc = planned_cohort_scenario()
    factors = planned_cohort_factors()
    assert list(np.round(factors[[0, 6, 11]], 12)) == [
        1.0,
        0.5,
        1.5,
    ]  # the cap binds for θ > 2/3 from month 12
    observed = cohort_survival(sc, COHORT, seed=13, existing=True)
    expected = capped_survival(*SALON_SHAPES, factors)
    assert_cohort_follows("sBG cohort with programme and step", observed, expected, range(1, 19))


# --- the reference's draws of the uncertain levers -------------------------------------------------------


def test_reference_draws_the_uncertain_levers():
    """Triangular churn, uniform referrals, staff the rounded uniform draw (docs/model.md)."""
    sc = uncertain_salon()
    draws = [draw_uncertain(sc, seed) for seed in range(DRAWS)]
    churn = np.array([d["retention.monthly_churn"] for d in draws])
    referrals = np.array([d["referrals.per_customer_per_year"] for d in draws])
    staff = np.array([d["sales_desk.staff"] for d in draws])
    assert all(isinstance(d["sales_desk.staff"], int) for d in draws)
    lo, mode, hi = 0.08, 0.15, 0.35
    triangular = stats.triang(c=(mode - lo) / (hi - lo), loc=lo, scale=hi - lo)
    tests = {
        "churn is triangular": float(stats.kstest(churn, triangular.cdf).pvalue),
        "referrals are uniform": float(stats.kstest(referrals, stats.uniform(0.2, 1.8).cdf).pvalue),
        "staff is the rounded draw": float(
            stats.chisquare(
                [np.sum(staff == k) for k in (1, 2, 3)], np.array([0.25, 0.5, 0.25]) * DRAWS
            ).pvalue
        ),
    }
    P_VALUES.update({f"draws: {k}": v for k, v in tests.items()})
    print(tests)
    assert set(np.unique(staff)) == {1, 2, 3}
    assert all(p >= SELF_ALPHA for p in tests.values()), tests
    # The drawn scenario is what the run sees: the reference runs the override, without [uncertainty].
    out = run_reference(sc.override({"horizon_months": 2}), 5)
    assert out["drawn"] == draw_uncertain(sc, 5)
    assert out["staff_cost"][0] == out["drawn"]["sales_desk.staff"] * sc.sales_desk.salary_per_month


# --- the engine against the reference ---------------------------------------------------------------------


def outcomes(
    monthly: dict[str, np.ndarray], periods: list[tuple[int, int]], active: list[int]
) -> dict[str, float]:
    """The compared figures of one run from its monthly columns: sales per period (1-based, inclusive),
    total sales, repeat visits, referral leads and staff cost, active customers in the given months, the
    final cumulative cash."""
    out: dict[str, float] = {}
    for a, b in periods:
        out[f"sales in months {a}-{b}"] = float(np.sum(monthly["sales"][a - 1 : b]))
    for key in ("repeat_visits", "problems", "leads_referral", "staff_cost"):
        out[f"total {key}"] = float(np.sum(monthly[key]))
    for m in active:
        out[f"active_customers in month {m}"] = float(monthly["active_customers"][m - 1])
    out["final cumulative_cash"] = float(monthly["cumulative_cash"][-1])
    return out


def stack(runs: list[dict[str, float]]) -> dict[str, np.ndarray]:
    return {key: np.array([run[key] for run in runs]) for key in runs[0]}


def engine_samples(
    scenario: Scenario, n: int, periods: list[tuple[int, int]], active: list[int]
) -> dict[str, np.ndarray]:
    """n replications of the engine (one at a time, `run_replication`)."""
    tables = lifetime_tables(scenario)
    runs = [
        outcomes(
            complete_monthly(scenario, run_replication(scenario, ENGINE_SEED, r, tables).monthly),
            periods,
            active,
        )
        for r in range(n)
    ]
    return stack(runs)


def simulate_samples(
    scenario: Scenario, n: int, periods: list[tuple[int, int]], active: list[int]
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """n replications of the engine through `sim.simulate` (which draws `[uncertainty]`): the compared
    figures and the drawn values (`SimulationResult.draws`, one row per replication)."""
    result = sim.simulate(scenario, n, seed=ENGINE_SEED)
    monthly = result.monthly
    runs = []
    for _, rows in monthly.groupby("replication", sort=True):
        rows = rows.sort_values("month")
        runs.append(outcomes({col: rows[col].to_numpy() for col in rows.columns}, periods, active))
    assert len(runs) == n
    return stack(runs), result.draws.sort_values("replication")


def reference_samples(
    scenario: Scenario, n: int, periods: list[tuple[int, int]], active: list[int]
) -> dict[str, np.ndarray]:
    return stack([outcomes(run_reference(scenario, REFERENCE_SEED0 + r), periods, active) for r in range(n)])


def welch(engine: np.ndarray, reference: np.ndarray) -> tuple[float, str]:
    """Welch's test of equal means at this file's threshold (`welch.welch`)."""
    return welch_test(engine, reference, ENGINE_ALPHA)


def check(case: str, results: dict[str, tuple[float, str]]) -> None:
    """Record every p-value and fail with every comparison below the threshold."""
    failures = []
    for key, (p, text) in results.items():
        P_VALUES[f"{case}: {key}"] = p
        print(f"{case}: {key}: {text}")
        if not p >= ENGINE_ALPHA:
            failures.append(f"{key}: {text}")
    assert not failures, f"{case}: engine and reference model disagree:\n" + "\n".join(failures)


def compare_means(
    case: str, eng: dict[str, np.ndarray], ref: dict[str, np.ndarray], figures: list[str]
) -> dict[str, tuple[float, str]]:
    return {key: welch(eng[key], ref[key]) for key in figures}


SBG_CASES = {
    # case: (scenario, sales periods, active-customer months, compared figures)
    "sbg_dealer": (
        sbg_dealer,
        [(1, 24)],
        [3, 6, 12, 24],
        ["sales in months 1-24", "total repeat_visits", "total problems", "total leads_referral"],
    ),
    "sbg_programme_plan": (
        sbg_programme_plan,
        [(1, 6), (7, 11), (12, 18)],
        [6, 11, 18],
        [
            "sales in months 1-6",
            "sales in months 7-11",
            "sales in months 12-18",
            "total repeat_visits",
            "total leads_referral",
        ],
    ),
}


def test_the_sbg_cases_are_what_they_say():
    """The dealer differs from constant churn only in the model; the salon's plan and programme scale c(m)."""
    dealer = sbg_dealer()
    assert dealer.retention.model == "sbg" and dealer.retention.monthly_churn == pytest.approx(0.7 / 4.5)
    assert dealer.existing_customers.count == 300 and dealer.referrals is not None and len(dealer.repeat) == 3
    assert dealer.problems.leave_probability == pytest.approx(0.4)
    salon = sbg_programme_plan()
    churn = plan.series(salon, lambda s: s.effective_churn)
    assert list(np.round(churn[[0, 6, 11]], 12)) == [0.2, 0.1, 0.3] and salon.retention.mean_theta == 0.2


def test_sbg_dealer_is_not_constant_churn():
    """On the reference, the dealer with customers who differ keeps far more customers than with constant
    churn at the same mean (so the engine comparison tells the two apart)."""
    sc = sbg_dealer()
    constant = sc.override({"retention": {"monthly_churn": sc.retention.monthly_churn}})
    differ = np.mean([run_reference(sc, REFERENCE_SEED0 + r)["active_customers"][23] for r in range(4)])
    alike = np.mean([run_reference(constant, REFERENCE_SEED0 + r)["active_customers"][23] for r in range(4)])
    assert differ > 2.0 * alike, (differ, alike)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(SBG_CASES))
def test_sbg_case_means_agree_with_reference(case: str):
    make, periods, active, figures = SBG_CASES[case]
    sc = make()
    eng = engine_samples(sc, N_FIXED, periods, active)
    ref = reference_samples(sc, N_FIXED, periods, active)
    figures = figures + [f"active_customers in month {m}" for m in active] + ["final cumulative_cash"]
    results = compare_means(case, eng, ref, figures)
    assert len(results) == 9
    check(case, results)


UNCERTAIN_MEANS = [
    "final cumulative_cash",
    "sales in months 1-18",
    "total leads_referral",
    "total staff_cost",
    "active_customers in month 18",
]
UNCERTAIN_DISTRIBUTIONS = ["final cumulative_cash", "total leads_referral"]


def test_uncertain_salon_spreads_the_cash():
    """On the reference, the uncertainty widens the final cash's spread several-fold (so an engine that
    ignored it, or drew it once for all runs, would be caught by the spread and KS tests)."""
    sc = uncertain_salon()
    base = sc.override({"uncertainty": {}})
    spread = np.std(
        [run_reference(sc, REFERENCE_SEED0 + r)["cumulative_cash"][-1] for r in range(10)], ddof=1
    )
    fixed = np.std(
        [run_reference(base, REFERENCE_SEED0 + r)["cumulative_cash"][-1] for r in range(10)], ddof=1
    )
    assert spread > 3.0 * fixed, (spread, fixed)


@pytest.mark.slow
def test_uncertain_scenario_distributions_agree_with_reference():
    sc = uncertain_salon()
    periods, active = [(1, 18)], [18]
    eng, draws = simulate_samples(sc, N_UNCERTAIN, periods, active)
    # Each engine run sees its own draw: its staff cost is the drawn staff's, every month.
    staff = draws["sales_desk.staff"].to_numpy()
    assert set(np.unique(staff)) == {1, 2, 3}
    salary_over_horizon = sc.sales_desk.salary_per_month * sc.horizon_months
    assert np.array_equal(eng["total staff_cost"], staff * salary_over_horizon)
    ref = reference_samples(sc, N_UNCERTAIN, periods, active)
    results = compare_means("uncertain_salon", eng, ref, UNCERTAIN_MEANS)
    for key in UNCERTAIN_DISTRIBUTIONS:
        ks = stats.ks_2samp(eng[key], ref[key])
        results[f"{key} distribution"] = (
            float(ks.pvalue),
            f"two-sample KS D = {ks.statistic:.3f}, p = {ks.pvalue:.3g}, threshold {ENGINE_ALPHA:.3g}",
        )
    cash = "final cumulative_cash"
    spread = stats.levene(eng[cash], ref[cash], center="median")  # Brown–Forsythe
    results[f"{cash} spread"] = (
        float(spread.pvalue),
        f"Brown–Forsythe: engine SD {eng[cash].std(ddof=1):,.4g} vs reference SD "
        f"{ref[cash].std(ddof=1):,.4g}, p = {spread.pvalue:.3g}, threshold {ENGINE_ALPHA:.3g}",
    )
    assert len(results) == 8
    check("uncertain_salon", results)
