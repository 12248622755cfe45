"""Plans over time in the scenario model (docs/model.md, "Plans over time"): the format, the value of a
lever in each month, validation with named errors, month-by-month scenarios, moving a planned lever."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model import paths, plan
from sim.model.levers import BY_KEY, all_levers
from sim.model.scenario import ScenarioError, load_scenario, loads_scenario

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "scenarios" / "car_dealer_service.toml").read_text(encoding="utf-8")
WINTER = [0.7, 0.8, 1.0, 1.1, 1.2, 1.2, 1.1, 1.0, 1.0, 1.0, 0.9, 0.9]

PLANNED = (
    BASE.replace("horizon_months = 120", 'horizon_months = 36\nstart = "2027-03"')
    + f"""
[[plan]]
from_month = 7
"channels.0.leads_per_month" = 2000.0

[[plan]]
from_month = 12
"sales_desk.staff" = 6
"retention.monthly_churn" = 0.01

[trends]
"channels.0.cost_per_lead" = 0.01

[seasonality]
"channels.0.leads_per_month" = {WINTER}
"""
)


@pytest.fixture(scope="module")
def planned():
    return loads_scenario(PLANNED, "planned.toml")


def test_value_in_each_month_is_step_times_trend_times_season(planned):
    leads = plan.values(planned, "channels.0.leads_per_month")
    season = np.array(WINTER)[(2 + np.arange(36)) % 12]  # start = March: month 1 takes the 3rd multiplier
    step = np.where(np.arange(1, 37) >= 7, 2000.0, 1000.0)
    np.testing.assert_array_equal(leads, step * season)
    cpl = plan.values(planned, "channels.0.cost_per_lead")
    np.testing.assert_allclose(cpl, 2250.0 * 1.01 ** np.arange(36), rtol=1e-15)
    staff = plan.values(planned, "sales_desk.staff")
    assert staff[10] == 4 and staff[11] == 6 and staff[-1] == 6


def test_months_hold_each_months_values_and_share_unchanged_months(planned):
    months = plan.months(planned)
    assert len(months) == 36 and not any(m.planned for m in months)
    assert [m.sales_desk.staff for m in months[10:12]] == [4, 6]
    assert months[11].retention.monthly_churn == 0.01 and months[10].retention.monthly_churn == 0.015
    assert months[0].channels[0].leads_per_month == 1000.0 * WINTER[2]
    assert plan.months(planned) is months  # cached per scenario object
    flat = load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")
    same = plan.months(flat)
    assert all(m is same[0] for m in same) and same[0] == flat


def test_series_of_a_derived_figure(planned):
    churn = plan.series(planned, lambda s: s.effective_churn)
    assert churn[10] == pytest.approx(0.015) and churn[11] == pytest.approx(0.01)


def test_dates_follow_start(planned):
    dates = plan.dates(planned)
    assert dates[0] == dt.date(2027, 3, 1) and dates[10] == dt.date(2028, 1, 1) and len(dates) == 36
    assert plan.dates(planned.override({"start": None})) is None


def test_toml_round_trip_keeps_the_plan(planned):
    again = loads_scenario(planned.to_toml(), "again.toml")
    assert again == planned and hash(again) == hash(planned)
    assert "from_month = 12" in planned.to_toml() and "[trends]" in planned.to_toml()
    flat = load_scenario(ROOT / "scenarios" / "car_dealer.toml")
    assert "plan" not in flat.to_toml() and "trends" not in flat.to_toml()


@pytest.mark.parametrize(
    ("extra", "where", "rule"),
    [
        ('[[plan]]\nfrom_month = 7\n"sales_desk.staff" = 6.5', 'plan[0]."sales_desk.staff"', "whole number"),
        ('[trends]\n"funnel.0.delay_days" = 0.01', 'trends."funnel.0.delay_days"', "steps only"),
        ('[[plan]]\nfrom_month = 7\n"repeat.0.interval_months" = 4.5', '"repeat.0.interval_months"', "whole"),
        ('[[plan]]\nfrom_month = 7\n"repeat.0.interval_months" = 0', '"repeat.0.interval_months"', "month 7"),
        ('[[plan]]\nfrom_month = 7\n"sales_desk.cooling_half_life_hours" = 4.0', "cooling", "off"),
        ('[[plan]]\nfrom_month = 7\n"retention.alpha" = 2.0', '"retention.alpha"', "off"),
        (
            '[[plan]]\nfrom_month = 7\n"sales_desk.patience_hours" = -1.0',
            '"sales_desk.patience_hours"',
            "month 7",
        ),
        (
            '[[plan]]\nfrom_month = 7\n"channels.5.cost_per_lead" = 1.0',
            "channels.5.cost_per_lead",
            "no such lever",
        ),
        ('[[plan]]\nfrom_month = 7\n"nonsense" = 1.0', '"nonsense"', "not a lever"),
        ('[[plan]]\nfrom_month = 700\n"sales_desk.staff" = 5', "plan[0].from_month", "less than or equal"),
        ('[[plan]]\nfrom_month = 130\n"sales_desk.staff" = 5', "plan[0].from_month", "within the horizon"),
        (
            '[[plan]]\nfrom_month = 9\n"sales_desk.staff" = 5\n'
            '[[plan]]\nfrom_month = 3\n"sales_desk.staff" = 2',
            "plan[1].from_month",
            "in order",
        ),
        (
            '[[plan]]\nfrom_month = 7\n"channels.0.leads_per_month" = 2e7',
            '"channels.0.leads_per_month"',
            "month 7",
        ),
        ('[trends]\n"sales_desk.staff" = 0.1', 'trends."sales_desk.staff"', "steps only"),
        ('[trends]\n"channels.0.cost_per_lead" = 2', 'trends."channels.0.cost_per_lead"', "less than"),
        (
            '[seasonality]\n"channels.0.cost_per_lead" = [1.0, 2.0]',
            'seasonality."channels.0.cost_per_lead"',
            "12",
        ),
        (
            '[seasonality]\n"channels.0.cost_per_lead" = [1,1,1,1,1,1,1,1,1,1,1,0]',
            'seasonality."channels.0.cost_per_lead"[11]',
            "greater than 0",
        ),
        ('[[plan]]\nfrom_month = 7\n"first_purchase.margin" = 2e6', '"first_purchase.margin"', "revenue"),
        ('[[plan]]\nfrom_month = 3\n"service_programme.contacts_per_month" = 1.0', "contacts", "off"),
    ],
)
def test_bad_plans_name_the_place_value_and_rule(extra, where, rule):
    with pytest.raises(ScenarioError) as err:
        loads_scenario(BASE + "\n" + extra, "bad.toml")
    text = str(err.value)
    assert text.startswith("bad.toml: ") and where in text and rule in text, text
    assert "\n" not in text


def test_a_trend_that_leaves_the_bounds_names_the_month():
    text = BASE + '\n[trends]\n"retention.monthly_churn" = 0.5\n'
    with pytest.raises(ScenarioError, match=r"month 12: must be ≤ 1"):
        loads_scenario(text, "trend.toml")


def test_start_must_be_a_month():
    with pytest.raises(ScenarioError, match=r"start = '2027-13': must be a calendar month written YYYY-MM"):
        loads_scenario('start = "2027-13"\n' + BASE, "start.toml")


def test_override_moves_a_planned_lever_as_a_whole(planned):
    half = planned.override({"channels.0.leads_per_month": 500.0})
    np.testing.assert_allclose(
        plan.values(half, "channels.0.leads_per_month"),
        plan.values(planned, "channels.0.leads_per_month") / 2,
    )
    fewer = planned.override({"sales_desk.staff": 2})  # whole numbers shift: 4 → 2, the step 6 → 4
    assert plan.values(fewer, "sales_desk.staff")[[0, 11]].tolist() == [2.0, 4.0]
    floor = planned.override({"sales_desk.staff": 1})  # never below the lever's bound
    assert plan.values(floor, "sales_desk.staff").min() == 1.0


def test_override_of_a_lever_whose_base_is_zero_shifts_its_steps():
    text = BASE.replace("[referrals]", "[service_programme]\ncontacts_per_month = 0.0\n\n[referrals]")
    text += '\n[[plan]]\nfrom_month = 13\n"service_programme.contacts_per_month" = 1.0\n'
    sc = loads_scenario(text, "programme.toml")
    moved = sc.override({"service_programme.contacts_per_month": 0.5})
    assert plan.values(moved, "service_programme.contacts_per_month")[[0, 12]].tolist() == [0.5, 1.5]


def test_staff_open_days_equals_the_constant_desk_without_a_plan(planned):
    flat = load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")
    desk = flat.sales_desk
    assert plan.staff_open_days(flat) == pytest.approx(
        desk.staff * desk.open_days(120 * 365.25 / 12), rel=1e-12
    )
    # four people for 11 months, six for 25: 12 open hours a day
    want = (4 * 11 + 6 * 25) * 365.25 / 12 * 0.5
    assert plan.staff_open_days(planned) == pytest.approx(want, rel=1e-3)


def test_catalogue_says_what_may_be_planned():
    assert BY_KEY["sales_desk.staff"].plan == "steps"
    assert BY_KEY["channels.cost_per_lead"].plan == "all"
    assert BY_KEY["funnel.delay_days"].plan == "steps"  # a lead's delays: its arrival month's
    assert BY_KEY["repeat.adoption"].plan == "all"  # a cohort's: its purchase month's
    # Every lever a user moves in the app can be planned (issue 10, §1).
    assert {f.plan for f in BY_KEY.values()} == {"all", "steps"}


BASE_SC = load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")
PLANNABLE = all_levers(BASE_SC)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    lever=st.sampled_from([lv for lv in PLANNABLE if paths.get(BASE_SC, lv.path) is not None]),  # not off
    month=st.integers(1, 36),
    factor=st.floats(0.0, 3.0),
)
def test_any_valid_step_round_trips_and_reads_back(lever, month, factor):
    sc = loads_scenario(BASE.replace("horizon_months = 120", "horizon_months = 36"), "base.toml")
    base = float(plan.values(sc, lever.path)[0])
    value = base * factor
    value = round(value) if lever.integer else value
    value = min(max(value, lever.low if not lever.low_open else lever.low + 1e-6), lever.high)
    data = sc.to_dict()
    data["plan"] = [{"from_month": month, lever.path: value}]
    try:
        planned = loads_scenario(sc.model_validate(data).to_toml(), "x.toml")  # loading checks the plan
    except ScenarioError as err:  # only a cross-field rule may refuse (a margin above its revenue)
        assert "revenue" in str(err)
        return
    x = plan.values(planned, lever.path)
    assert x[month - 1] == pytest.approx(value) and (month == 1 or x[0] == pytest.approx(base))


def test_a_shorter_horizon_drops_the_steps_it_no_longer_reaches(planned):
    short = planned.override({"horizon_months": 10})
    assert [s.from_month for s in short.plan] == [7]
    assert plan.values(short, "sales_desk.staff").tolist() == [4.0] * 10


def test_with_values_sets_a_lever_month_by_month_and_keeps_the_rest(planned):
    x = plan.values(planned, "channels.0.leads_per_month") + 7.0
    moved = plan.with_values(planned, "channels.0.leads_per_month", x)
    np.testing.assert_array_equal(plan.values(moved, "channels.0.leads_per_month"), x)
    for other in ("sales_desk.staff", "channels.0.cost_per_lead", "retention.monthly_churn"):
        np.testing.assert_array_equal(plan.values(moved, other), plan.values(planned, other))
    assert "channels.0.leads_per_month" not in dict(moved.seasonality)
    with pytest.raises(ValueError, match="3 monthly values for a horizon of 36"):
        plan.with_values(planned, "channels.0.leads_per_month", [1.0, 2.0, 3.0])


def test_switching_a_section_off_takes_its_levers_out_of_the_plan():
    sc = load_scenario(ROOT / "scenarios" / "car_dealer_plan.toml")
    without = sc.override({"service_programme": None})
    assert without.service_programme is None
    assert not any(p.startswith("service_programme") for p in plan.planned_paths(without))
    assert plan.values(without, "sales_desk.staff")[12] == 3  # the other levers' steps stay
    no_repeat = sc.override({"repeat": []})
    assert no_repeat.repeat == () and no_repeat.plan == sc.plan


def test_a_planned_levers_bounds_keep_every_month_valid(planned):
    from sim.model.levers import all_levers

    by_path = {lv.path: lv for lv in all_levers(planned)}
    leads = by_path["channels.0.leads_per_month"]  # the step doubles the base, the season peaks at 1.2
    assert leads.high == pytest.approx(1e7 / (2 * 1.2))
    top = planned.override({"channels.0.leads_per_month": leads.high})
    assert plan.values(top, "channels.0.leads_per_month").max() == pytest.approx(1e7)
    with pytest.raises(ScenarioError, match="must be ≤"):
        planned.override({"channels.0.leads_per_month": leads.high * 1.01})
    churn = by_path["retention.monthly_churn"]  # 0.015 → 0.01 from month 12: the base may reach 1
    assert churn.high == 1.0
    staff = by_path["sales_desk.staff"]  # 4 → 6: shifted, so the base may go to 10,000 − 2
    assert (staff.low, staff.high) == (1.0, 9998.0)


def test_switching_a_section_off_drops_its_ranges():
    sc = load_scenario(ROOT / "examples" / "car_dealer_uncertain.toml")
    without = sc.override({"referrals": None})
    assert [p for p, _ in without.uncertainty] == ["retention.monthly_churn", "funnel.2.conversion"]
