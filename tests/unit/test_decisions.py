"""Decisions on the expected-value model (`sim.decisions`: sensitivity, goal seek, programme value), on
the model alone. That a goal-seek answer also holds in the engine (100 paired replications) is checked in
tests/validation/test_decisions.py."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.accounting.lifetimes import lifetime_tables
from sim.analytic.expected_value import expected_arrays
from sim.decisions.goal_seek import TABLE_FREE
from sim.decisions.metrics import METRICS
from sim.model import plan
from sim.model.levers import value_of

ROOT = Path(__file__).resolve().parents[2]
SERVICE = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")
DEALER = sim.load_scenario(ROOT / "scenarios" / "car_dealer.toml")


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


# --- goal seek ----------------------------------------------------------------------------------


def test_goal_seek_unreachable_target_is_a_clear_error():
    with pytest.raises(sim.GoalSeekError, match=r"not reachable .* in \["):
        sim.goal_seek(DEALER, "channels.0.cost_per_lead", "break_even_month", 24, low=1500, high=3000)
    with pytest.raises(sim.GoalSeekError, match="widen the range"):
        sim.goal_seek(SERVICE, "channels.0.cost_per_lead", "break_even_month", 119, low=0, high=100)


# --- goal seek, on the model: exact on its lattice ------------------------------------------------

LATTICE_GOALS = [
    # (scenario, lever, metric, target, step): the answer is the last multiple of step meeting the target
    (SERVICE, "channels.0.cost_per_lead", "break_even_month", 60, 50.0),
    (SERVICE, "channels.0.cost_per_lead", "break_even_month", 48, 10.0),  # bisection to step/10 was 1 short
    (SERVICE, "retention.monthly_churn", "break_even_month", 96, 0.001),
    (SERVICE, "referrals.per_customer_per_year", "break_even_month", 60, 0.001),
    (SERVICE, "channels.0.cost_per_lead", "max_cash_need", 3e7, 10.0),
    (SERVICE.override({"horizon_months": 240}), "retention.monthly_churn", "break_even_month", 200, 0.0005),
]


def met(metric: str, value: float, target: float) -> bool:
    """The metric reaches the target (NaN never does)."""
    if math.isnan(value):
        return False
    return value <= target if METRICS[metric] == "lower" else value >= target


def model_metric(scenario: sim.Scenario, lever: str, value: float, metric: str) -> float:
    return sim.expected(scenario.override({lever: value})).kpi[metric]


@pytest.mark.parametrize(("scenario", "lever", "metric", "target", "step"), LATTICE_GOALS)
def test_goal_seek_with_a_step_is_exact_on_the_model(scenario, lever, metric, target, step):
    res = sim.goal_seek(scenario, lever, metric, target, step=step)
    assert res.step == step
    assert res.value / step == pytest.approx(round(res.value / step), abs=1e-9), "a multiple of the step"
    assert met(metric, res.metric_value, target)
    assert res.metric_value == model_metric(scenario, lever, res.value, metric)
    # The target's side: the low end of the range meets the target for a cost, the high end for a rate.
    toward_bad = 1.0 if met(metric, model_metric(scenario, lever, res.low, metric), target) else -1.0
    beyond = res.value + toward_bad * step
    assert not met(metric, model_metric(scenario, lever, beyond, metric), target), (
        f"one step beyond ({lever} = {beyond:g}) the model still meets {metric} {target}"
    )


def test_goal_seek_without_a_step_is_within_its_precision():
    # Final cash is linear in the CPL: its root is known from two points.
    lever, metric = "channels.0.cost_per_lead", "final_cumulative_cash"
    res = sim.goal_seek(SERVICE, lever, metric, 0.0, low=0.0, high=10_000.0)
    f0, f1 = (model_metric(SERVICE, lever, x, metric) for x in (0.0, 10_000.0))
    root = 10_000.0 * f0 / (f0 - f1)
    assert res.step == pytest.approx(1.0)  # 10 000 × rel_tol 1e-4
    assert root - res.step <= res.value <= root
    assert res.metric_value >= 0.0


def test_staff_goal_seek_over_the_whole_lever_range():
    far = DEALER.override(
        {
            "sales_desk.hours_per_day": 24.0,
            "sales_desk.handling_minutes": 1440.0,
            "sales_desk.patience_hours": 1.0,
            "channels.0.leads_per_month": 3000.0,
            "horizon_months": 12,
        }
    )
    res = sim.goal_seek(far, "sales_desk.staff", "lost_lead_share", 0.05, low=1, high=10_000)
    staff = int(res.value)
    assert (res.low, res.high) == (1.0, 10_000.0)
    assert staff > 50
    assert model_metric(far, "sales_desk.staff", staff, "lost_lead_share") <= 0.05
    assert model_metric(far, "sales_desk.staff", staff - 1, "lost_lead_share") > 0.05


def test_acquisition_levers_leave_the_lifetime_tables_alone():
    # goal_seek evaluates levers under TABLE_FREE with the scenario's own lifetime tables.
    scenario = SERVICE.override({"existing_customers.count": 100})
    base = lifetime_tables(scenario)
    chosen = [lv for lv in sim.levers(scenario) if lv.path.startswith(TABLE_FREE)]
    assert {lv.path.split(".")[0] for lv in chosen} == {"channels", "funnel", "sales_desk", "referrals"}
    for lv in chosen:
        value = float(value_of(scenario, lv.path))
        x = min(value + 1 if lv.integer else (value or 0.05) * 1.3, lv.high)
        moved = scenario.override({lv.path: int(x) if lv.integer else x})
        tables = lifetime_tables(moved)
        assert tables.ltv == base.ltv, lv.path
        np.testing.assert_array_equal(tables.survival, base.survival, err_msg=lv.path)
        np.testing.assert_array_equal(tables.margin, base.margin, err_msg=lv.path)
        own, reused = expected_arrays(moved)[0], expected_arrays(moved, base)[0]
        for column, values in own.items():
            np.testing.assert_array_equal(reused[column], values, err_msg=f"{lv.path}: {column}")


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


@pytest.mark.parametrize(
    "programme",
    [
        {
            "fixed_cost_per_year": 1e6,
            "contacts_per_month": 1.0,
            "cost_per_contact": 150.0,
            "tolerated_contacts_per_month": 2.0,
            "max_churn_reduction": 0.4,
        },
        {
            "fixed_cost_per_year": 3e6,
            "contacts_per_month": 0.5,
            "cost_per_contact": 300.0,
            "tolerated_contacts_per_month": 1.0,
            "max_churn_reduction": 0.6,
            "referral_uplift": 0.2,
        },
        {
            "fixed_cost_per_year": 3e7,
            "contacts_per_month": 0.7,
            "cost_per_contact": 200.0,
            "tolerated_contacts_per_month": 1.0,
            "max_churn_reduction": 0.0,
            "margin_uplift": 0.1,
        },
    ],
    ids=["interior optimum", "referral uplift", "no churn effect"],
)
def test_programme_curve_is_the_model_at_every_point(programme):
    # programme_value evaluates the model once per churn (contacts k and 2k* - k share one): the same
    # figures as evaluating every point.
    scenario = SERVICE.override({"service_programme": programme})
    pv = sim.programme_value(scenario)
    years = scenario.horizon_months / 12.0
    without = expected_arrays(scenario.override({"service_programme": None}))[0]

    def per_year(k: float) -> tuple[float, float, float]:
        with_ = expected_arrays(scenario.override({"service_programme.contacts_per_month": float(k)}))[0]
        return (
            (with_["margin"].sum() - without["margin"].sum()) / years,
            with_["programme_cost"].sum() / years,
            (with_["net_cash"].sum() - without["net_cash"].sum()) / years,
        )

    every = np.array([per_year(k) for k in pv.curve["contacts_per_month"]])
    shown = pv.curve[["extra_margin", "cost", "net"]].to_numpy()
    np.testing.assert_allclose(shown, every, rtol=1e-9, atol=1e-3)
    now = per_year(programme["contacts_per_month"])
    assert (pv.extra_margin_per_year, pv.cost_per_year, pv.net_per_year) == pytest.approx(now, rel=1e-12)
    assert pv.optimal_net_per_year == pytest.approx(per_year(pv.optimal_contacts_per_month)[2], rel=1e-9)
    assert pv.optimal_net_per_year >= pv.curve["net"].max()


# --- planned scenarios: a lever with a plan moves as a whole --------------------------------------

WINTER = [0.7, 0.8, 1.0, 1.1, 1.2, 1.2, 1.1, 1.0, 1.0, 1.0, 0.9, 0.9]
PLANNED = SERVICE.override(
    {
        "plan": [
            {"from_month": 7, "channels.0.leads_per_month": 1500.0},
            {"from_month": 13, "sales_desk.staff": 6, "retention.monthly_churn": 0.01},
        ],
        "trends": {"channels.0.cost_per_lead": 0.005},
        "seasonality": {"channels.0.leads_per_month": WINTER},
    }
)
"""The dealer with more calls from month 7 (and a winter dip), two more salespeople and less churn from
month 13, and the CPL rising 0.5 % a month."""

SCALED = [
    # (lever, how its whole plan moves when its base moves from `value` to `x`)
    ("channels.0.leads_per_month", "scaled"),
    ("channels.0.cost_per_lead", "scaled"),
    ("retention.monthly_churn", "scaled"),
    ("sales_desk.staff", "shifted"),
]


def test_planned_scenario_is_planned():
    assert PLANNED.planned
    assert plan.values(PLANNED, "sales_desk.staff")[[0, 12]].tolist() == [4.0, 6.0]


@pytest.mark.parametrize(("lever", "how"), SCALED)
def test_sensitivity_moves_a_planned_lever_as_a_whole(lever: str, how: str):
    row = sim.sensitivity(PLANNED, levers=[lever]).iloc[0]
    before = plan.values(PLANNED, lever)
    for side in ("low", "high"):
        x = row[side]
        moved = PLANNED.override({lever: int(x) if lever == "sales_desk.staff" else x})
        after = plan.values(moved, lever)
        if how == "scaled":
            np.testing.assert_allclose(after, before * (x / row["value"]), rtol=1e-12, err_msg=side)
        else:
            np.testing.assert_array_equal(after, before + (x - row["value"]), err_msg=side)
        np.testing.assert_equal(
            row[f"metric_{side}"], sim.expected(moved).kpi["break_even_month"], err_msg=side
        )
    np.testing.assert_equal(row["metric_base"], sim.expected(PLANNED).kpi["break_even_month"])


def test_goal_seek_moves_a_planned_lever_as_a_whole():
    lever, metric = "channels.0.cost_per_lead", "final_cumulative_cash"
    res = sim.goal_seek(PLANNED, lever, metric, 0.0, step=10.0)
    assert res.metric_value == sim.expected(PLANNED.override({lever: res.value})).kpi[metric] >= 0.0
    beyond = PLANNED.override({lever: res.value + 10.0})
    assert sim.expected(beyond).kpi[metric] < 0.0, "one step beyond, the cash is negative"
    np.testing.assert_allclose(
        plan.values(beyond, lever), plan.values(PLANNED, lever) * (res.value + 10.0) / 2250.0, rtol=1e-12
    )


HALF_CPL = SERVICE.override(
    {"channels.0.cost_per_lead": 1125.0, "plan": [{"from_month": 1, "channels.0.cost_per_lead": 2250.0}]}
)
"""The dealer with a CPL of 1,125 that a plan sets to 2,250 from month 1: the dealer as it is, with
every CPL the plan's (twice the base)."""


def test_a_plan_from_month_one_gives_the_unplanned_answers():
    """Needs the expected-value model to read plans (sim.model.plan.months): the base moves, the plan
    moves with it, and the figures are those of the unplanned dealer at twice the base."""
    lever = "channels.0.cost_per_lead"
    for metric in ("break_even_month", "final_cumulative_cash"):
        planned = sim.sensitivity(HALF_CPL, levers=[lever], metric=metric).iloc[0]
        flat = sim.sensitivity(SERVICE, levers=[lever], metric=metric).iloc[0]
        assert (planned["low"], planned["high"]) == (900.0, 1350.0)
        for col in ("metric_low", "metric_base", "metric_high"):
            assert planned[col] == pytest.approx(flat[col], rel=1e-12), (metric, col)
    res = sim.goal_seek(HALF_CPL, lever, "break_even_month", 60, step=25.0)
    flat = sim.goal_seek(SERVICE, lever, "break_even_month", 60, step=50.0)
    assert res.value == flat.value / 2
    assert res.metric_value == flat.metric_value


def test_a_sweep_moves_a_planned_lever_as_a_whole():
    small = PLANNED.override({"horizon_months": 18, "channels.0.leads_per_month": 100.0})
    grid = {"channels.0.cost_per_lead": [1500.0, 3000.0], "sales_desk.staff": [2, 3]}
    points = sim.sweep_points(small, grid=grid)
    kpis = sim.sweep(small, grid=grid, replications=2, seed=4, workers=1)
    assert len(kpis) == 4 * 2
    for p, point in enumerate(points):
        moved = small.override(point)
        assert plan.values(moved, "sales_desk.staff")[12] == point["sales_desk.staff"] + 2
        runs = sim.simulate(moved, replications=2, seed=4).kpis
        mine = kpis[kpis["point"] == p].sort_values("replication")
        for col in ("final_cumulative_cash", "new_customers", "max_cash_need"):
            np.testing.assert_array_equal(
                mine[col].to_numpy(), runs[col].to_numpy(), err_msg=f"{point}: {col}"
            )


def test_goal_seek_may_reuse_the_lifetime_tables_of_a_planned_scenario():
    # goal_seek evaluates levers under TABLE_FREE with the scenario's own tables: with a plan too (its
    # churn step changes the tables, moving an acquisition lever does not).
    tables = lifetime_tables(PLANNED)
    for path, x in [
        ("channels.0.leads_per_month", 1300.0),
        ("channels.0.cost_per_lead", 2000.0),
        ("funnel.0.conversion", 0.3),
        ("sales_desk.staff", 2),
        ("referrals.per_customer_per_year", 0.9),
    ]:
        assert path.startswith(TABLE_FREE)
        moved = PLANNED.override({path: x})
        own, reused = expected_arrays(moved), expected_arrays(moved, tables)
        np.testing.assert_equal(reused[1], own[1], err_msg=path)
        for column, values in own[0].items():
            np.testing.assert_array_equal(reused[0][column], values, err_msg=f"{path}: {column}")
