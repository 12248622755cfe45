"""Decisions on the expected-value model (sensitivity, goal seek, programme value), checked where it
matters against the engine: at a goal-seek answer the engine's median meets the target, one step beyond
it does not (100 paired replications)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.decisions import METRICS

ROOT = Path(__file__).resolve().parent.parent
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


# --- sensitivity ----------------------------------------------------------------------------------


def test_sensitivity_covers_every_lever_and_is_sorted_by_swing():
    table = sim.sensitivity(SERVICE)
    expected_levers = {lv.path for lv in sim.levers(SERVICE)}
    assert set(table["lever"]) == expected_levers, "each lever of the scenario has a row"
    for path in (
        "channels.0.cost_per_lead",
        "sales_desk.staff",
        "retention.monthly_churn",
        "referrals.per_customer_per_year",
        "repeat.0.interval_months",
        "funnel.0.conversion",
    ):
        assert path in expected_levers, f"{path} is a lever"
    swings = table["swing"].to_numpy()
    assert np.all(swings[:-1] >= swings[1:]), "rows are sorted by swing, largest first"
    cpl = table.set_index("lever").loc["channels.0.cost_per_lead"]
    assert cpl["metric_high"] > cpl["metric_base"] > cpl["metric_low"], (
        "a higher CPL must bring break-even later, a lower one sooner"
    )


@pytest.mark.parametrize(
    "metric", ["break_even_month", "final_cumulative_cash", "max_cash_need", "ltv_to_cac"]
)
def test_sensitivity_metrics(metric):
    table = sim.sensitivity(SERVICE, metric=metric, change=0.1)
    assert len(table) == len(sim.levers(SERVICE))
    assert np.isfinite(table["swing"]).all(), f"every swing of {metric} is a number"
    churn = table.set_index("lever").loc["retention.monthly_churn"]
    better_low = METRICS[metric] == "lower"
    # More churn is worse for every one of these metrics.
    worse, better = churn["metric_high"], churn["metric_low"]
    assert (worse > better) if better_low else (worse < better), f"higher churn must worsen {metric}"


def test_sensitivity_says_when_the_metric_is_undefined():
    table = sim.sensitivity(DEALER)  # the dealer without service never breaks even
    assert table["metric_base"].isna().all()
    assert table["note"].str.contains("no break even month within the horizon").all(), (
        "a lever whose metric is undefined must say so, not drop out"
    )
    assert len(table) == len(sim.levers(DEALER))


def test_sensitivity_rejects_bad_input():
    with pytest.raises(ValueError, match="metric"):
        sim.sensitivity(SERVICE, metric="nonsense")
    with pytest.raises(ValueError, match="change"):
        sim.sensitivity(SERVICE, change=1.5)
    with pytest.raises(sim.ScenarioError, match="not a lever"):
        sim.sensitivity(SERVICE, levers=["name"])


# --- goal seek, checked with the engine -----------------------------------------------------------

GOALS = [
    # (question, scenario, lever, metric, target, step). A step moves break-even by about 4-5 months,
    # well above the engine median's Monte Carlo error over 100 replications (about 1 month).
    (
        "highest CPL that breaks even by month 60",
        through(84),
        "channels.0.cost_per_lead",
        "break_even_month",
        60,
        150.0,
    ),
    (
        "highest churn that breaks even by month 96",
        through(120),
        "retention.monthly_churn",
        "break_even_month",
        96,
        0.003,
    ),
    (
        "referral rate that brings break-even to month 60",
        through(84),
        "referrals.per_customer_per_year",
        "break_even_month",
        60,
        0.15,
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "scenario", "lever", "metric", "target", "step"), GOALS, ids=[g[0] for g in GOALS]
)
def test_goal_seek_answer_holds_in_the_engine(question, scenario, lever, metric, target, step):
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


@pytest.mark.slow
def test_fewest_salespeople_for_at_most_5_percent_lost_leads():
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


def test_goal_seek_unreachable_target_is_a_clear_error():
    with pytest.raises(sim.GoalSeekError, match=r"not reachable .* in \["):
        sim.goal_seek(DEALER, "channels.0.cost_per_lead", "break_even_month", 24, low=1500, high=3000)
    with pytest.raises(sim.GoalSeekError, match="widen the range"):
        sim.goal_seek(SERVICE, "channels.0.cost_per_lead", "break_even_month", 119, low=0, high=100)


# --- the service programme ------------------------------------------------------------------------


def test_programme_value_reproduces_article_000():
    pv = sim.programme_value(ROOT / "scenarios" / "medical_service_programme.toml")
    assert pv.extra_margin_per_year == pytest.approx(20e6, abs=1)
    assert pv.cost_per_year == pytest.approx(30e6, abs=1)
    assert pv.net_per_year == pytest.approx(-10e6, abs=1)
    assert (pv.yearly["net"].round() == -10e6).all(), "every year loses 10 M"
    assert "loses 10 000 000" in pv.verdict("RUB")


def test_programme_net_has_an_interior_optimum_in_contacts():
    with_programme = SERVICE.override(
        {
            "service_programme": {
                "fixed_cost_per_year": 1_000_000.0,
                "contacts_per_month": 1.0,
                "cost_per_contact": 150.0,
                "tolerated_contacts_per_month": 2.0,
                "max_churn_reduction": 0.4,
            }
        }
    )
    pv = sim.programme_value(with_programme)
    curve = pv.curve
    k_best = pv.optimal_contacts_per_month
    assert 0 < k_best < curve["contacts_per_month"].max(), f"the optimum {k_best} must be inside the range"
    assert pv.optimal_net_per_year >= curve["net"].max() - 1e-6
    assert pv.optimal_net_per_year > curve["net"].iloc[0], "some contacts beat none"
    assert pv.optimal_net_per_year > curve["net"].iloc[-1], "too many contacts push customers away"
