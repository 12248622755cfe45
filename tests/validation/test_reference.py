"""The engine against the reference model (every lead and customer its own SimPy process).

Requirement: for the shipped scenarios and for random valid scenarios, the engine's means of sales,
repeat visits, lost leads and final cumulative cash agree with the reference model within Monte Carlo
error. Both models implement docs/model.md but share no code and no random streams, so their per-run
outcomes are independent samples of the same distribution when both are right.

The statistical test: for each case, N independent replications of each model (the engine with
`run_replication(scenario, seed, r)`, the reference with `run_reference(scenario, 1000 + r)`), and for
each compared quantity Welch's two-sample t-test (unequal variances) on the two samples of per-run
totals. Compared: total sales, repeat visits, lost leads and referral leads over the horizon, the final
cumulative cash, and `active_customers` at three months (a quarter, half and the end of the horizon),
i.e. 8 comparisons per case. Where both samples have zero variance (e.g. no referrals, or a base with
no churn) the two values must be exactly equal.

Significance: Bonferroni over every comparison in this file. There are 9 shipped cases (the seven
shipped scenarios scaled down, plus two car dealers whose desk is overloaded so that leads are lost) and
at most 8 Hypothesis examples of random scenarios, so 17 cases x 8 = 136 comparisons, each at level
0.001 / 136 (about 7.4e-6). A correct engine therefore fails this file with probability at most 0.1 %
(up to the normal approximation of the t-test for these sums of many small random contributions).
Seeds are fixed (and Hypothesis is derandomized), so the outcome is deterministic: once green it stays
green.

Power: at that level the critical t is 4.8 (40 + 40 runs) or 5.0 (25 + 25), so a difference of means is
caught at 99 % when it is >= (t + 2.33) sqrt(2 / n) sigma = 1.6 sigma (n = 40) or 2.1 sigma (n = 25),
sigma the per-run spread. For the shipped cases, as a share of the mean: the beauty salon 4-11 % (sales
4.4 %, final cash 8.1 %); the car dealer sales 14 %, final cash 11 %, active customers 15-40 %; the car
dealer with service sales 16 %, repeat visits 24 %, referral leads 34 %, final cash 23 %; the loaded
desks lost leads 2-7 %, sales 18-27 %; the planned car dealer sales 17 %, final cash 16 %, active
customers 18-42 %; the medical scenarios are deterministic here (exact equality). Planned scenarios are
compared more closely, per plan period and per channel, in test_reference_plan.py.
This file catches gross disagreements (a rule implemented differently); the engine's precision against
the expected-value model is checked more finely in test_expected.py (200 replications).

One case pins an edge found this way: fixed handling times that fill the working day exactly must not
start one more contact at closing time through floating-point rounding
(`car_dealer_service_fixed_handling_fills_the_day`).

The scenarios are scaled down (fewer leads, shorter horizons, smaller bases) only so that the reference
model runs fast; every section a shipped scenario switches on stays on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import welch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_model import run_reference

import sim
from sim.accounting.ledger import complete_monthly
from sim.accounting.lifetimes import lifetime_tables
from sim.engine.replication import run_replication
from sim.model.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

TOTALS = ("sales", "repeat_visits", "leads_lost", "leads_referral")
"""Monthly columns compared as totals over the horizon (plus the final cumulative cash)."""
ACTIVE_POINTS = 3
"""Months at which the mean `active_customers` curves are compared."""
COMPARISONS_PER_CASE = len(TOTALS) + 1 + ACTIVE_POINTS

SHIPPED_CASES = 9
RANDOM_EXAMPLES = 8
FAMILY_ALPHA = 0.001
ALPHA = FAMILY_ALPHA / ((SHIPPED_CASES + RANDOM_EXAMPLES) * COMPARISONS_PER_CASE)
"""Bonferroni: each comparison's level, so that all of them together falsely fail with prob. <= 0.1 %."""

N_SHIPPED = 40
"""Replications of each model per shipped case."""
N_RANDOM = 25
"""Replications of each model per random scenario."""
ENGINE_SEED = 20_240
REFERENCE_SEED0 = 1000


# --- running both models ---------------------------------------------------------------------------------


def load(name: str) -> Scenario:
    return sim.load_scenario(SCENARIOS / f"{name}.toml")


def active_months(horizon: int) -> list[int]:
    """The 1-based months at which active customers are compared: a quarter, half and the horizon."""
    return [max(1, horizon // 4), max(1, horizon // 2), horizon]


def outcomes(monthly: dict[str, np.ndarray], horizon: int) -> dict[str, float]:
    """The compared quantities of one run, from its completed monthly arrays."""
    out = {f"total {key}": float(np.sum(monthly[key])) for key in TOTALS}
    out["final cumulative_cash"] = float(monthly["cumulative_cash"][-1])
    for m in active_months(horizon):
        out[f"active_customers in month {m}"] = float(monthly["active_customers"][m - 1])
    assert len(out) == COMPARISONS_PER_CASE
    return out


def engine_samples(scenario: Scenario, n: int, seed: int = ENGINE_SEED) -> dict[str, np.ndarray]:
    tables = lifetime_tables(scenario)
    H = scenario.horizon_months
    runs = [
        outcomes(complete_monthly(scenario, run_replication(scenario, seed, r, tables).monthly), H)
        for r in range(n)
    ]
    return {key: np.array([run[key] for run in runs]) for key in runs[0]}


def reference_samples(scenario: Scenario, n: int) -> dict[str, np.ndarray]:
    H = scenario.horizon_months
    runs = [outcomes(run_reference(scenario, REFERENCE_SEED0 + r), H) for r in range(n)]
    return {key: np.array([run[key] for run in runs]) for key in runs[0]}


def compare(engine: np.ndarray, reference: np.ndarray) -> tuple[float, str]:
    """Welch's test of equal means at this file's threshold (`welch.welch`)."""
    return welch.welch(engine, reference, ALPHA)


P_VALUES: dict[str, float] = {}
"""Every p-value computed in this run, by case and quantity (for inspection, e.g. `pytest -s`)."""


def assert_same_means(case: str, scenario: Scenario, n: int, seed: int = ENGINE_SEED) -> None:
    eng = engine_samples(scenario, n, seed)
    ref = reference_samples(scenario, n)
    failures = []
    for key in eng:
        p, text = compare(eng[key], ref[key])
        P_VALUES[f"{case}: {key}"] = p
        if not p >= ALPHA:
            failures.append(f"{key}: {text}")
    assert not failures, f"{case}: engine and reference model disagree:\n" + "\n".join(failures)


# --- the shipped scenarios, scaled down ------------------------------------------------------------------

SMALL_CAR_DEALER = {"horizon_months": 24, "channels.0.leads_per_month": 300.0}
SMALL_MEDICAL = {"horizon_months": 24, "existing_customers.count": 500}
SMALL_DEALER_PLAN = {
    "horizon_months": 24,
    "channels.0.leads_per_month": 210.0,
    "channels.1.leads_per_month": 90.0,
}
"""The planned dealer at 30 % of its leads (the plan's steps of the channels move with them) over two
years: the month-13 step (channels, staff, programme), CPL trends and seasonality all stay in."""

SHIPPED = [
    # beauty salon: desk with working hours and patience, two repeat streams, referrals, problems.
    pytest.param("beauty_salon", {"horizon_months": 18}, id="beauty_salon"),
    # a service programme whose contacts cut churn (and cost money), without the salon's problems.
    pytest.param("salon_care_programme", {"horizon_months": 18}, id="salon_care_programme"),
    pytest.param("car_dealer", SMALL_CAR_DEALER, id="car_dealer"),
    # repeat streams with adoption, referrals with a 25x conversion multiplier (capped per stage).
    pytest.param("car_dealer_service", SMALL_CAR_DEALER, id="car_dealer_service"),
    pytest.param("medical_service", SMALL_MEDICAL, id="medical_service"),
    pytest.param("medical_service_programme", SMALL_MEDICAL, id="medical_service_programme"),
    # a plan over time: two channels of different quality, a step in month 13, trends, seasonality, cooling.
    pytest.param("car_dealer_plan", SMALL_DEALER_PLAN, id="car_dealer_plan"),
    # An overloaded desk: one salesperson, 30 min a lead, 8 hours a day, 2 hours of patience, so that
    # night leads and queueing leads are lost (about 15 lost leads in 16).
    pytest.param(
        "car_dealer_service",
        {
            **SMALL_CAR_DEALER,
            "sales_desk.staff": 1,
            "sales_desk.handling_minutes": 30.0,
            "sales_desk.hours_per_day": 8.0,
            "sales_desk.patience_hours": 2.0,
        },
        id="car_dealer_service_loaded_desk",
    ),
    # Fixed 30-minute contacts fill the 8-hour day exactly (16 a day) and the desk is overloaded (about 20
    # leads a day), so every day starts at the opening with a queue and the 17th contact would start at
    # closing time: the desk is closed then (docs/model.md: the working day is [0, hours_per_day)).
    pytest.param(
        "car_dealer_service",
        {
            "horizon_months": 12,
            "channels.0.leads_per_month": 600.0,
            "sales_desk.staff": 1,
            "sales_desk.handling_minutes": 30.0,
            "sales_desk.handling": "fixed",
            "sales_desk.hours_per_day": 8.0,
            "sales_desk.patience_hours": 24.0,
        },
        id="car_dealer_service_fixed_handling_fills_the_day",
    ),
]
assert len(SHIPPED) == SHIPPED_CASES


def test_every_shipped_scenario_is_covered():
    shipped = {p.stem for p in SCENARIOS.glob("*.toml")}
    covered = {case.values[0] for case in SHIPPED}
    assert shipped == covered, f"shipped scenarios not compared with the reference model: {shipped - covered}"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "changes"), SHIPPED)
def test_shipped_scenario_means_agree_with_reference(name: str, changes: dict[str, Any]):
    base = load(name)
    sc = base.override(changes)
    # Scaling down must not switch anything off.
    for section in ("sales_desk", "referrals", "service_programme", "problems"):
        assert (getattr(sc, section) is None) == (getattr(base, section) is None), section
    assert len(sc.repeat) == len(base.repeat) and len(sc.channels) == len(base.channels)
    assert (sc.existing_customers.count > 0) == (base.existing_customers.count > 0)
    assert sc.planned == base.planned and all(s.from_month <= sc.horizon_months for s in sc.plan)
    assert_same_means(f"{name} {changes}", sc, N_SHIPPED)


LOADED_DESK = [pytest.param(*c.values, id=c.id) for c in SHIPPED if "desk" in c.id or "the_day" in c.id]


@pytest.mark.parametrize(("name", "changes"), LOADED_DESK)
def test_loaded_desk_cases_lose_leads(name: str, changes: dict[str, Any]):
    """The overloaded-desk cases really exercise lost leads (otherwise their comparison would be vacuous)."""
    assert len(LOADED_DESK) == 2
    lost = reference_samples(load(name).override(changes), 2)["total leads_lost"]
    assert np.all(lost > 100), f"the loaded desk lost only {lost} leads"


# --- random valid scenarios ------------------------------------------------------------------------------


def money(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 2))


@st.composite
def random_scenarios(draw: st.DrawFn) -> Scenario:
    """A small valid scenario: the car dealer with service, every lever drawn at random."""
    horizon = draw(st.integers(6, 18))
    changes: dict[str, Any] = {
        "horizon_months": horizon,
        "channels.0.leads_per_month": draw(money(20.0, 200.0)),
        "retention.monthly_churn": draw(st.floats(0.0, 0.4)),
        "existing_customers.count": draw(st.integers(0, 200)),
    }
    for i in range(3):
        changes[f"funnel.{i}.conversion"] = draw(st.floats(0.15, 1.0))
        changes[f"funnel.{i}.delay_days"] = draw(st.sampled_from([0.0, 1.0, 5.0, 20.0]))
    streams = []
    for i in range(draw(st.integers(1, 3))):
        revenue = draw(money(100.0, 30_000.0))
        streams.append(
            {
                "name": f"Stream {i}",
                "interval_months": draw(st.integers(1, 7)),
                "revenue": revenue,
                "margin": round(revenue * draw(st.floats(0.0, 1.0)), 2),
                "adoption": draw(st.floats(0.0, 1.0)),
            }
        )
    changes["repeat"] = streams
    changes["referrals"] = draw(
        st.none()
        | st.fixed_dictionaries(
            {
                "per_customer_per_year": st.floats(0.0, 2.0),
                "conversion_multiplier": st.floats(0.5, 30.0),
                "bonus": money(0.0, 20_000.0),
            }
        )
    )
    changes["service_programme"] = draw(
        st.none()
        | st.fixed_dictionaries(
            {
                "fixed_cost_per_year": money(0.0, 1e6),
                "contacts_per_month": st.floats(0.0, 4.0),
                "cost_per_contact": money(0.0, 500.0),
                "tolerated_contacts_per_month": st.floats(0.5, 3.0),
                "max_churn_reduction": st.floats(0.0, 0.8),
                "referral_uplift": st.floats(0.0, 1.0),
                "margin_uplift": st.floats(0.0, 0.5),
            }
        )
    )
    changes["problems"] = draw(
        st.none()
        | st.fixed_dictionaries(
            {
                "visit_problem_probability": st.floats(0.0, 0.4),
                "resolution_days": st.floats(0.0, 10.0),
                "cost_per_problem": money(0.0, 5_000.0),
                "leave_probability_base": st.floats(0.0, 0.5),
                "leave_probability_per_day": st.floats(0.0, 0.1),
            }
        )
    )
    changes["sales_desk"] = draw(
        st.none()
        | st.fixed_dictionaries(
            {
                "staff": st.integers(1, 4),
                "handling_minutes": st.floats(5.0, 90.0),
                "handling": st.sampled_from(["exponential", "fixed"]),
                "hours_per_day": st.sampled_from([4.0, 8.0, 12.0, 24.0]) | st.floats(1.0, 24.0),
                "patience_hours": st.none() | st.floats(0.25, 48.0),
                "salary_per_month": money(0.0, 100_000.0),
            }
        )
    )
    return load("car_dealer_service").override(changes)


CHECKED_EXAMPLES: list[Scenario] = []


@pytest.mark.slow
@settings(
    max_examples=RANDOM_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(sc=random_scenarios())
def test_random_scenario_means_agree_with_reference(sc: Scenario):
    CHECKED_EXAMPLES.append(sc)
    assert_same_means(f"random scenario {len(CHECKED_EXAMPLES)}:\n{sc.to_toml()}\n", sc, N_RANDOM)
