"""Goal seek on the expected-value model, checked with the engine (README: "at the answer the median of
100 paired replications meets the target, one step beyond it does not").

These tests check the decision, not the model's precision (tests/validation/test_expected.py does that):
they catch a model/engine disagreement only when it is larger than the slack between the model's figure
at the answer (or one step beyond) and the target. Each case below states that slack and the smallest
disagreement the test catches at 99 % (slack + 2.33 SE of the engine's median over 100 replications, the
SE measured by bootstrap).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sections import COOLING_DESK

import sim

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SERVICE = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")
DEALER = sim.load_scenario(ROOT / "scenarios" / "car_dealer.toml")
REPS = 100


def through(months: int) -> sim.Scenario:
    """The dealer with service over `months` (two years past a target: the curve only rises after
    break-even, so the break-even month is the same; the engine runs faster)."""
    return SERVICE.override({"horizon_months": months})


def engine_median(scenario: sim.Scenario, metric: str) -> float:
    """Median of a KPI over REPS replications, seed 0 (paired across calls); never = +inf."""
    k = sim.simulate(scenario, replications=REPS, seed=0).kpis[metric].to_numpy()
    return float(np.median(np.where(np.isnan(k), np.inf, k)))


GOALS = [
    # (question, scenario, lever, metric, target, step). A step moves the model's break-even by 7-10
    # months, far above the SE of the engine's median over 100 replications (0.7-1.8 months).
    #
    # CPL: answer 1,950 (model: month 59), one step beyond 2,100 (month 68); engine median SE 0.7-0.8
    # month. Caught at 99 %: the engine later than the model by >= 1 + 2.33 x 0.7 = 2.6 months (4 % of
    # the target), or earlier by >= 8 + 2.33 x 0.8 = 9.8 months.
    (
        "highest CPL that breaks even by month 60",
        through(84),
        "channels.0.cost_per_lead",
        "break_even_month",
        60,
        150.0,
    ),
    # Churn: answer 2.1 % (model: month 90), beyond 2.4 % (month 100); engine median SE 0.9 / 1.8 months.
    # Caught: the engine later by >= 6 + 2.33 x 0.9 = 8.2 months, or earlier by >= 4 + 2.33 x 1.8 = 8.2.
    (
        "highest churn that breaks even by month 96",
        through(120),
        "retention.monthly_churn",
        "break_even_month",
        96,
        0.003,
    ),
    # Referrals: answer 0.9 a year (model: month 60), beyond 0.75 (month 67); engine median SE 0.7.
    # Caught: the engine later by >= 0 + 2.33 x 0.7 = 1.6 months, or earlier by >= 7 + 2.33 x 0.7 = 8.7.
    (
        "referral rate that brings break-even to month 60",
        through(84),
        "referrals.per_customer_per_year",
        "break_even_month",
        60,
        0.15,
    ),
]


@pytest.mark.parametrize(
    ("question", "scenario", "lever", "metric", "target", "step"), GOALS, ids=[g[0] for g in GOALS]
)
def test_goal_seek_answer_holds_in_the_engine(
    question: str, scenario: sim.Scenario, lever: str, metric: str, target: float, step: float
) -> None:
    res = sim.goal_seek(scenario, lever, metric, target, step=step)
    assert res.metric_value <= target, f"{question}: the model's metric at the answer misses the target"
    answer = res.value
    # One step beyond = the side where the model misses the target.
    up = sim.expected(scenario.override({lever: answer + step})).kpi[metric]
    beyond = answer + step if (math.isnan(up) or up > target) else answer - step
    at_answer = engine_median(scenario.override({lever: answer}), metric)
    one_beyond = engine_median(scenario.override({lever: beyond}), metric)
    assert at_answer <= target, (
        f"{question}: at {lever} = {answer:g} the engine's median {metric} is {at_answer}"
    )
    assert one_beyond > target, (
        f"{question}: one step beyond ({lever} = {beyond:g}) the engine's median {metric} is {one_beyond}, "
        f"still meeting {target}"
    )


def test_fewest_salespeople_for_at_most_5_percent_lost_leads() -> None:
    """Model: 3 salespeople lose 2.1 % of the leads, 2 lose 11.7 %; the engine's median lost share over
    100 replications has an SE of 0.03 / 0.07 points. Caught at 99 %: the engine losing >= 2.9 + 0.1 = 3.0
    points more than the model with 3 (an error of 140 % of the model's figure), or >= 6.7 + 0.2 = 6.9
    points fewer with 2 (59 %). The queueing model's precision (10 %) is checked in test_expected.py."""
    desk = DEALER.override(
        {
            "sales_desk.hours_per_day": 24.0,
            "sales_desk.handling_minutes": 60.0,
            "sales_desk.patience_hours": 1.0,
            "horizon_months": 12,
        }
    )
    res = sim.goal_seek(desk, "sales_desk.staff", "lost_lead_share", 0.05)
    staff = int(res.value)
    assert res.metric_value <= 0.05
    assert staff > 1
    at_answer = engine_median(desk.override({"sales_desk.staff": staff}), "lost_lead_share")
    one_fewer = engine_median(desk.override({"sales_desk.staff": staff - 1}), "lost_lead_share")
    assert at_answer <= 0.05, f"with {staff} salespeople the engine loses {at_answer:.1%} of leads"
    assert one_fewer > 0.05, f"with {staff - 1} salespeople the engine loses only {one_fewer:.1%}"


COOLING = sim.loads_scenario(COOLING_DESK, "cooling.toml")
"""Two calls an hour round the clock, an hour each (an M/M/n queue); a lead's odds halve every 15 minutes
it waits. A salesperson costs 57,500 a month: less than the sales the 5th keeps from going cold (105,600
a month), more than the 6th's (31,300). Five salespeople are best by construction (`cooling_cash`)."""


def cooling_cash(staff: int) -> float:
    """Final cumulative cash in steady state: 12 months × (sales kept × margin − lead spend − salaries),
    with the share kept E[0.5^(W/h)] for an M/M/n wait W: 0 with probability 1 − C (Erlang C), else
    exponential with rate n − λ (per hour, mean handling 1 hour)."""
    a = 1461.0 / 30.4375 / 24
    terms = sum(a**k / math.factorial(k) for k in range(staff))
    last = a**staff / math.factorial(staff) * staff / (staff - a)
    c = last / (terms + last)
    kept = (1 - c) + c * (staff - a) / (staff - a + math.log(2) / 0.25)
    return 12 * (1461.0 * 0.5 * 2000.0 * kept - 1461.0 * 100.0 - staff * 57_500.0)


def test_best_staff_against_cooling_in_the_engine() -> None:
    """`sim.best` on the engine finds the 5 salespeople the construction makes best.

    Measured over 20 paired replications (seed 0): the 5th salesperson adds 550 k (SE of the paired mean
    16 k) and the 6th takes 334 k away (SE 7.5 k); the closed form says 579 k and 317 k. The answer moves
    only if the engine's value of one salesperson there is off by more than 510 k (93 % of the 5th's) or
    317 k (95 % of the 6th's) at 99 %. The curve's levels (SE 31 k, 0.3 %) are checked against the closed
    form within 1.5 %: a bias of the engine's cash of 1.5 % − 2.33 × 0.3 % = 0.8 % (~100 k) is caught."""
    closed = {n: cooling_cash(n) for n in range(3, 9)}
    assert max(closed, key=closed.__getitem__) == 5
    res = sim.best(
        COOLING, "sales_desk.staff", "final_cumulative_cash", low=3, high=8, model="simulate", replications=20
    )
    assert res.value == 5, f"the engine's best staff is {res.value}:\n{res.curve}"
    assert res.model == "engine: 20 replication(s), seed 0"
    curve = res.curve.set_index("value")["metric"]
    assert curve.index.tolist() == list(range(3, 9))
    for n, cash in closed.items():
        assert curve[n] == pytest.approx(cash, rel=0.015), f"{n} salespeople: engine {curve[n]:,.0f}"
    assert res.base_metric == curve[4]
