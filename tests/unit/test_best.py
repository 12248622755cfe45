"""A lever's best value (`sim.best`, `sim.decisions.best`) on the expected-value model, and the engine's
plumbing on a tiny scenario. That the engine finds the optimum known by construction (cooling at a
loaded desk) is checked in tests/validation/test_decisions.py."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sections import COOLING_DESK

import sim
from sim.decisions.best import Direction
from sim.decisions.evaluate import aggregate
from sim.model import plan

ROOT = Path(__file__).resolve().parents[2]
SERVICE = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")
DEALER = sim.load_scenario(ROOT / "scenarios" / "car_dealer.toml")
PAID_DESK = SERVICE.override({"sales_desk.salary_per_month": 60_000.0, "sales_desk.handling_minutes": 60.0})
"""The dealer whose salespeople cost a salary and take an hour a call: 1,000 calls a month at 12 hours a
day load 3 salespeople to about 90 %; with 2 most callers give up (patience one day), past 3 each one
costs more than the few leads they save."""
PROGRAMME = SERVICE.override(
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
"""A service programme whose contacts matter: churn falls up to 2 contacts a month and rises past it."""


def model(scenario: sim.Scenario, lever: str, value: float, metric: str) -> float:
    return float(sim.expected(scenario.override({lever: value})).kpis[metric].iloc[0])


def test_salespeople_that_bring_most_cash_are_every_whole_value_best():
    res = sim.best(PAID_DESK, "sales_desk.staff", "final_cumulative_cash")
    assert (res.low, res.high) == (1.0, 14.0), "default range: 1 … 3 × 4 + 2"
    assert res.curve["value"].tolist() == list(range(1, 15)), "every whole number of salespeople"
    brute = {n: model(PAID_DESK, "sales_desk.staff", n, "final_cumulative_cash") for n in range(1, 15)}
    np.testing.assert_array_equal(res.curve["metric"].to_numpy(), list(brute.values()))
    assert res.value == max(brute, key=brute.__getitem__) == 3
    assert isinstance(res.value, int)
    assert res.metric_value == brute[3]
    assert res.direction is Direction.MAXIMISE
    assert (res.base_value, res.base_metric) == (4.0, brute[4])
    assert res.gain == pytest.approx(brute[3] - brute[4]) and res.gain > 1e6, (
        "one salesperson fewer saves money"
    )
    assert brute[2] < brute[3] - 5e7, "with two, lost callers cost far more than a salary"
    assert not res.at_edge and res.model == "expected values"
    assert "sales_desk.staff = 3 maximises final_cumulative_cash" in str(res)


def test_a_best_value_at_the_end_of_the_range_says_so():
    free = sim.best(SERVICE, "sales_desk.staff", "final_cumulative_cash")  # salaries are 0: more is better
    assert free.value == free.high == 14 and free.at_edge, "the cash would still rise beyond 14"
    assert "may improve beyond" in str(free)
    churn = sim.best(SERVICE, "retention.monthly_churn", "final_cumulative_cash")
    assert churn.value == 0.0 and not churn.at_edge, "0 churn is the lever's bound: nothing lies beyond"


def test_minimise_with_never_as_the_worst():
    res = sim.best(SERVICE, "channels.0.cost_per_lead", "break_even_month", low=1000.0, high=4000.0)
    assert res.direction is Direction.MINIMISE
    months = res.curve["metric"].to_numpy()
    assert np.isnan(months).any(), "a high CPL never breaks even within the horizon"
    assert res.metric_value == np.nanmin(months)
    # Earliest break-even: at the lowest CPL (the answer is the highest CPL that still breaks even then);
    # never (NaN) is not "lowest".
    assert res.metric_value == model(SERVICE, "channels.0.cost_per_lead", 1000.0, "break_even_month")
    assert res.metric_value < res.base_metric
    only_never = sim.best(DEALER, "channels.0.cost_per_lead", "break_even_month", low=2000.0, high=3000.0)
    assert np.isnan(only_never.curve["metric"]).all()
    assert only_never.value == 2250.0, "when every value is 'never', the current value stays"


def test_a_plateau_keeps_the_value_nearest_the_current_one():
    # The break-even month is a whole number: many CPLs give the earliest one (month 1); the answer is the
    # plateau's value nearest the current CPL, i.e. its highest CPL (refined to 1e-4 of the range).
    res = sim.best(SERVICE, "channels.0.cost_per_lead", "break_even_month")
    assert res.metric_value == 1.0
    step = 1e-4 * (res.high - res.low)
    assert model(SERVICE, "channels.0.cost_per_lead", res.value, "break_even_month") == 1.0
    assert model(SERVICE, "channels.0.cost_per_lead", res.value + 2 * step, "break_even_month") > 1.0
    # A metric the lever does not move: every value ties, the current value is the answer.
    flat = sim.best(SERVICE, "channels.0.cost_per_lead", "ltv")
    assert flat.curve["metric"].nunique() == 1
    assert flat.value == 2250.0 and flat.gain == 0.0


def test_a_number_lever_is_refined_to_the_interior_optimum():
    lever, metric = "service_programme.contacts_per_month", "final_cumulative_cash"
    res = sim.best(PROGRAMME, lever, metric)
    assert (res.low, res.high) == (0.0, 3.0), "default: 0 … 3 × current"
    assert 1.0 < res.value < 2.0 and not res.at_edge
    dense = np.linspace(res.low, res.high, 241)  # steps of 0.0125, 40 × the refinement's 3e-4
    cash = np.array([model(PROGRAMME, lever, float(x), metric) for x in dense])
    best_dense = int(np.argmax(cash))
    assert res.metric_value >= cash[best_dense] - 1e-9 * abs(cash[best_dense]), (
        "at least the dense grid's best"
    )
    assert abs(res.value - dense[best_dense]) <= 0.0125
    assert len(res.curve) < 120, f"{len(res.curve)} evaluations"
    assert np.all(np.diff(res.curve["value"].to_numpy()) > 0), "the curve is sorted by the lever"
    assert res.curve["value"].isin([1.0]).any(), "the current value is on the curve"


def test_a_low_end_above_the_default_range_looks_above_it():
    res = sim.best(SERVICE, "sales_desk.staff", "final_cumulative_cash", low=20)
    assert (res.low, res.high) == (20.0, 62.0), "20 … 3 × 20 + 2"
    res = sim.best(SERVICE, "channels.0.cost_per_lead", "final_cumulative_cash", low=8000.0, points=5)
    assert (res.low, res.high) == (8000.0, 24000.0)
    assert res.value == 8000.0 and res.at_edge, "a lower CPL, below the range, would bring more"


def test_a_coarse_grid_with_points():
    res = sim.best(PROGRAMME, "service_programme.contacts_per_month", "final_cumulative_cash", points=5)
    assert {0.0, 0.75, 1.5, 2.25, 3.0} <= set(res.curve["value"]), "the grid of 5 points is on the curve"
    assert 1.0 < res.value < 2.0


def test_bad_input_is_a_clear_error():
    with pytest.raises(sim.ScenarioError, match="not a lever"):
        sim.best(SERVICE, "sales_desk.stuff", "cac")
    with pytest.raises(ValueError, match="metric"):
        sim.best(SERVICE, "sales_desk.staff", "nonsense")
    with pytest.raises(sim.DecisionError, match="fewer than two values"):
        sim.best(SERVICE, "sales_desk.staff", "cac", low=5, high=5)
    with pytest.raises(sim.DecisionError, match=r"outside sales_desk\.staff's valid values"):
        sim.best(SERVICE, "sales_desk.staff", "cac", low=0, high=5)
    with pytest.raises(sim.DecisionError, match="outside"):
        sim.best(SERVICE, "funnel.0.conversion", "cac", low=0.1, high=1.5)
    with pytest.raises(sim.DecisionError, match="at most 1000"):
        sim.best(SERVICE, "sales_desk.staff", "cac", low=1, high=5000)
    with pytest.raises(sim.DecisionError, match="points"):
        sim.best(SERVICE, "funnel.0.conversion", "cac", points=2)
    with pytest.raises(sim.DecisionError, match="model"):
        sim.best(SERVICE, "sales_desk.staff", "cac", model="nonsense")
    with pytest.raises(sim.DecisionError, match="replications"):
        sim.best(SERVICE, "sales_desk.staff", "cac", model="simulate", replications=0)
    no_patience = SERVICE.override({"sales_desk.patience_hours": None})
    with pytest.raises(sim.DecisionError, match="give both low and high"):
        sim.best(no_patience, "sales_desk.patience_hours", "lost_lead_share")


def test_a_lever_left_out_can_be_searched_over_a_given_range():
    # A desk open round the clock with spare capacity (load 2.7 on 4): the more patient the callers, the
    # fewer are lost and the more buy; the scenario without patience (nobody gives up) does best of all.
    no_patience = SERVICE.override(
        {
            "sales_desk.handling_minutes": 120.0,
            "sales_desk.hours_per_day": 24.0,
            "sales_desk.patience_hours": None,
        }
    )
    res = sim.best(no_patience, "sales_desk.patience_hours", "final_cumulative_cash", low=0.1, high=4.0)
    assert math.isnan(res.base_value)
    assert res.base_metric == float(sim.expected(no_patience).kpis["final_cumulative_cash"].iloc[0])
    assert res.value == 4.0 and res.at_edge
    assert res.metric_value < res.base_metric
    assert np.all(np.diff(res.curve["metric"].to_numpy()) > 0)


def test_a_planned_lever_moves_as_a_whole():
    # Staff 4, 6 from month 13: the best base value shifts the step with it (a whole-number lever moves
    # its steps by the same difference).
    planned = PAID_DESK.override({"plan": [{"from_month": 13, "sales_desk.staff": 6}]})
    res = sim.best(planned, "sales_desk.staff", "final_cumulative_cash", low=1, high=8)
    for n, cash in res.curve.itertuples(index=False):
        moved = planned.override({"sales_desk.staff": int(n)})
        assert plan.values(moved, "sales_desk.staff")[[0, 12]].tolist() == [n, n + 2]
        assert cash == float(sim.expected(moved).kpis["final_cumulative_cash"].iloc[0])
    assert res.value == res.curve.loc[res.curve["metric"].idxmax(), "value"]


def test_a_plan_that_holds_from_month_one_gives_the_unplanned_answer():
    """Needs the expected-value model to read plans (sim.model.plan.months): a plan that sets the staff to
    base + 2 from month 1 is the unplanned scenario with 2 more salespeople throughout."""
    planned = PAID_DESK.override({"sales_desk.staff": 2, "plan": [{"from_month": 1, "sales_desk.staff": 4}]})
    res = sim.best(planned, "sales_desk.staff", "final_cumulative_cash", low=1, high=10)
    flat = sim.best(PAID_DESK, "sales_desk.staff", "final_cumulative_cash", low=3, high=12)
    assert res.value == flat.value - 2
    np.testing.assert_allclose(res.curve["metric"], flat.curve["metric"], rtol=1e-12)


def test_a_planned_lever_is_searched_only_where_every_month_stays_valid():
    # Conversion 0.25 with a step to 0.5 from month 13: the step scales with the base, so a base above
    # 0.5 would put the step above 1. The lever's bounds say so (sim.model.plan.base_bounds): the search
    # stops at 0.5, and a range beyond it is refused.
    planned = SERVICE.override({"plan": [{"from_month": 13, "funnel.0.conversion": 0.5}]})
    res = sim.best(planned, "funnel.0.conversion", "final_cumulative_cash", points=11)
    assert res.high == pytest.approx(0.5) and res.curve["value"].max() <= 0.5 and not res.skipped
    assert res.value == pytest.approx(0.5), "more conversion, more cash, up to the last valid value"
    with pytest.raises(sim.DecisionError, match=r"0\.5"):
        sim.best(planned, "funnel.0.conversion", "final_cumulative_cash", high=1.0)


def test_the_engine_with_common_random_numbers():
    tiny = DEALER.override({"horizon_months": 3, "channels.0.leads_per_month": 300.0})
    res = sim.best(
        tiny,
        "sales_desk.staff",
        "final_cumulative_cash",
        low=1,
        high=3,
        model="simulate",
        replications=3,
        seed=5,
    )
    assert res.model == "engine: 3 replication(s), seed 5"
    for n, cash in res.curve.itertuples(index=False):
        runs = sim.simulate(tiny.override({"sales_desk.staff": int(n)}), replications=3, seed=5)
        assert cash == runs.kpis["final_cumulative_cash"].mean()
    base = sim.simulate(tiny, replications=3, seed=5).kpis["final_cumulative_cash"].mean()
    assert res.base_metric == base


def test_aggregate_over_runs():
    assert aggregate("final_cumulative_cash", np.array([1.0, 2.0, 6.0])) == 3.0
    assert aggregate("cac", np.array([1.0, np.nan, 3.0])) == 2.0, "the mean over runs where it is defined"
    assert math.isnan(aggregate("cac", np.array([np.nan, np.nan])))
    # Months: the median, never (NaN) later than any month.
    assert aggregate("break_even_month", np.array([40.0, np.nan, 50.0])) == 50.0
    assert math.isnan(aggregate("break_even_month", np.array([40.0, np.nan, np.nan])))
    assert aggregate("payback_months", np.array([12.0, 30.0, 20.0, np.nan])) == 20.0


COOLING = sim.loads_scenario(COOLING_DESK, "cooling.toml")
"""Two calls an hour round the clock, an hour each: a lead's odds halve every 15 minutes it waits. An M/M/n
queue, so the share of sales kept is known exactly (`kept`); a salesperson costs 57,500 a month, between
what the 5th brings (105,600 a month) and what the 6th brings (31,300): 5 is best by construction."""


def kept(staff: int, calls_per_hour: float = 1461.0 / 30.4375 / 24, half_life_hours: float = 0.25) -> float:
    """E[0.5^(W/h)] for the wait W of an M/M/n queue (FCFS, mean handling 1 hour): W = 0 with probability
    1 − C (Erlang C), else exponential with rate n − λ."""
    a = calls_per_hour
    terms = sum(a**k / math.factorial(k) for k in range(staff))
    last = a**staff / math.factorial(staff) * staff / (staff - a)
    c = last / (terms + last)
    rate, s = staff - a, math.log(2) / half_life_hours
    return (1 - c) + c * rate / (rate + s)


def cooling_cash(staff: int) -> float:
    """The final cumulative cash in steady state: 12 months of sales kept × margin − leads − salaries."""
    return 12 * (1461.0 * 0.5 * 2000.0 * kept(staff) - 1461.0 * 100.0 - staff * 57_500.0)


def test_salespeople_against_leads_that_go_cold_on_the_model():
    closed = {n: cooling_cash(n) for n in range(3, 12)}
    assert max(closed, key=closed.__getitem__) == 5
    assert closed[5] - closed[4] > 5e5 and closed[5] - closed[6] > 3e5, "the construction leaves a margin"
    res = sim.best(COOLING, "sales_desk.staff", "final_cumulative_cash")
    assert res.value == 5 and res.gain > 5e5
    curve = res.curve.set_index("value")["metric"]
    for n, cash in closed.items():  # the model's queue is exact round the clock; only the first hours differ
        assert curve[n] == pytest.approx(cash, rel=1e-3), n
    assert curve[1] < curve[2] < curve[3], (
        "with 1 or 2 the queue never empties and almost every lead goes cold"
    )
