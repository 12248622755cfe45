"""Plans over time, lead quality and cooling: the engine against the reference model.

Requirement (docs/model.md, "Plans over time", "Leads that go cold", "Channels"): for planned scenarios
the engine's means agree with the reference model (`tests/support/reference_model.py`: every lead and
customer its own SimPy process, each month's values read literally, the desk's staff and hours applied by
the moment by a dispatcher process) within Monte Carlo error. Both implement docs/model.md but share no
code and no random streams, so when both are right their per-run outcomes are independent samples of the
same distribution.

Cases:

- `dealer_plan`: a car dealer with two channels of different quality (calls × 1.5, web forms × 0.4), a
  budget step of the calls (month 4), a CPL trend (+2 % a month), winter seasonality of the calls
  (`start` = October), a conversion step (month 10), a desk whose staff steps 3 → 1 → 4 with working
  hours 10 → 8 → 12 (months 7 and 12) and a salary step, 6 hours of patience and a 4-hour cooling
  half-life;
- `programme_from_month_7`: a salon whose care programme starts in month 7 (contacts and fixed cost from
  0, margin and referral uplifts from 0), with a churn step in month 12 (a period effect for every
  customer, the 300 existing ones included);
- `service_levers_plan`: a salon with 400 existing customers whose plan steps what a lead carries from
  its arrival month (handling time, patience and cooling in month 4, the first stage's delay in month 7,
  the referral multiplier in month 10), what the sale's month sets (the referral bonus, month 10), what
  the visit's month sets (problems' probability and cost in month 10, their leaving probability q in
  month 13), the programme's churn multiplier (tolerated contacts and churn cut, month 7) and what a
  cohort keeps for life (a stream's adoption and interval in month 7, another's interval in month 13);
- `sbg_cohort_plan`: a salon whose customers differ: the existing customers and the cohorts of months
  1-3 draw θ ~ Beta(50, 200), later cohorts Beta(0.5, 4.5) (E[θ] 0.2 → 0.1, the monthly churn 0.2: the
  same mean churn, spread wide), each keeping its purchase month's shapes and E[θ] for life;
- random valid planned scenarios (Hypothesis, derandomized): steps, trends and seasonality of 6-14 levers
  each, drawn from every lever the catalogue lets a plan change (`sim.model.levers.CATALOGUE`, field
  `plan`; `test_random_scenarios_can_plan_every_plannable_lever`), one or two channels of random quality,
  with or without a desk, patience and cooling, referrals, a programme and problems, with constant
  churn or customers who differ. The 12 examples plan 33 of the 34 plannable levers (all but
  `problems.leave_probability_per_day`, which `service_levers_plan` plans).

Compared per case (each the mean of per-run values): sales and lost leads in each plan period; per
channel (each paid channel and the referrals) leads, lost leads and sales over the horizon; total sales,
repeat visits and problems; active customers at three to five months; the final cumulative cash; and in
`service_levers_plan` also repeat visits, problems, their cost and the referral bonus per period and
single months where a rule applied by the wrong month shows (sales in month 7, referral sales, bonus and
problems in month 10), in `sbg_cohort_plan` repeat visits per period. Per-period figures catch a rule
applied in the wrong month that the totals would average out.

The test: Welch's two-sample t-test (unequal variances) for each compared figure, N = 40 independent
replications of each model (the engine with `run_replication(scenario, ENGINE_SEED, r)`, the reference
with `run_reference(scenario, REFERENCE_SEED0 + r)`). Where both samples have zero variance the two values
must be exactly equal. Bonferroni over every comparison in this file: at most MAX_COMPARISONS = 354
(22 + 19 + 49 + 24 for the four fixed cases, at most 20 for each of 12 random ones), each at
0.001 / 354 ≈ 2.8e-6, so a correct engine fails this file with probability at most 0.1 % (up to the normal
approximation of the t-test). Seeds are fixed and Hypothesis is derandomized: the outcome is deterministic.

Power: at that level the critical t is about 5.05 (40 + 40 runs), so a difference of means is caught at
99 % when it is >= (t + 2.33) sqrt(2 / 40) sigma ≈ 1.65 sigma, sigma the per-run spread. Measured on the
reference (40 runs), the bias caught at 99 % as a share of the mean: `dealer_plan` lost leads per period
4.6-5.8 %, sales per period 12-20 %, the calls' leads 2.1 %, lost leads 3.8 % and sales 9.4 %, the web
forms' sales 33 %, referral sales 31 %, total sales 7.9 %, repeat visits 16 %, active customers 9-20 %,
final cash 29 %; `programme_from_month_7` sales per period 5.5-6.6 %, repeat visits 5.5 %, referral leads
7.5 %, active customers 5.8-6.7 %, final cash 6.8 %; `service_levers_plan` sales per period 8-10 %, lost
leads per period 4.3-6.8 %, repeat visits per period 4.9-8 %, problems (and their cost) per period 7-18 %,
referral bonus per period 12-22 %, sales in month 7 20 %, referral sales and bonus in month 10 24 %,
problems in month 10 11 %, active customers 6.9-11 %, final cash 11 %; `sbg_cohort_plan` sales per period
5.7-8 %, repeat visits per period 4.9-6.5 %, active customers 5.8-7.1 %, final cash 6.9 %. A step applied a
month late shifts about that much (measured with the reference): the dealer's staff step from month 8
instead of 7 lowers the lost leads of months 7-11 by 6.0 %, the programme from month 8 instead of 7 lowers
the active customers of month 11 by 6.8 %. A rule applied by the wrong month shifts far more (measured
with a copy of the reference with that one rule changed, 40 runs): in `service_levers_plan`, the bonus at
the lead's arrival month's value lowers month 10's referral bonus by 80 % (caught at 24 %); the referral
multiplier of the month each stage ends in, month 10's referral sales by 70 %; problems' probability and
cost of the purchase month, the problem cost of months 10-12 by 76 %; q of the check's month instead of
the visit's, the active customers of month 13 by 25 % (caught at 6.9 %); adoption and intervals of the
visit's month (a period effect), the repeat visits of months 7-9 by +55 %; the cohort levers' plan
ignored, the final cash by 43 %; the programme's tolerated contacts and churn cut not planned, the active
customers of month 13 by 30 %. In `sbg_cohort_plan`, E[θ] of the check's month instead of the purchase
month lowers the repeat visits of months 4-9 by 23 % (caught at 6.5 %), the shapes' plan ignored the
active customers of month 15 by 25 % (caught at 5.8 %). This file catches rules implemented differently;
fine precision is the business of test_expected.py.

The reference model itself is also checked, exactly, where the answer is known: contact starts around a
month boundary with fixed handling times (staff and hours by the moment); and, with no churn and every
lead buying at once, the repeat visits, problems, their cost and the active customers of each month as
functions of each month's sales, under cohort steps (adoption, interval), problem steps (probability,
cost) and a q step (each of those rules applied by another month fails it: checked with a copy of the
reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import welch
from hypothesis import HealthCheck, find, given, reject, settings
from hypothesis import strategies as st
from reference_model import MONTH_DAYS, run_reference

import sim
from sim.accounting.ledger import complete_monthly
from sim.accounting.lifetimes import lifetime_tables
from sim.engine.replication import run_replication
from sim.model import plan
from sim.model.errors import ScenarioError
from sim.model.levers import BY_KEY, CATALOGUE
from sim.model.scenario import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

ENGINE_SEED = 31_337
REFERENCE_SEED0 = 50_000
N_FIXED = 40
"""Replications of each model per fixed case."""
N_RANDOM = 40
"""Replications of each model per random scenario (cheap: small scenarios)."""
RANDOM_EXAMPLES = 12
MAX_RANDOM_CHANNELS = 2
FAMILY_ALPHA = 0.001

CHANNEL_FIGURES = ("leads", "leads_lost", "sales")
"""Per-channel columns compared as totals over the horizon (engine `RunOutput.channels` names)."""
REFERENCE_CHANNEL_KEYS = {
    "leads": "channel_leads",
    "leads_lost": "channel_leads_lost",
    "sales": "channel_sales",
}
"""The reference model's names of those columns."""
PERIOD_FIGURES = ("sales", "leads_lost")
"""Monthly columns compared as sums over each plan period (every case)."""
TOTALS = ("sales", "repeat_visits", "problems")
"""Monthly columns compared as totals over the horizon."""
ACTIVE_POINTS = 3
"""Months whose active customers are compared, in the random cases."""


@dataclass(frozen=True)
class Figures:
    """What is compared in a case, besides the per-channel totals, TOTALS and the final cumulative cash."""

    periods: tuple[tuple[int, int], ...]
    """Plan periods, 1-based inclusive month ranges: PERIOD_FIGURES and `period_extra` summed over each."""
    active: tuple[int, ...]
    """Months whose active customers are compared."""
    period_extra: tuple[str, ...] = ()
    """Monthly columns compared per period on top of PERIOD_FIGURES."""
    months: tuple[tuple[str, int], ...] = ()
    """(monthly column, month): single months compared, where a rule applied by the wrong month shows."""

    def count(self, channels: int) -> int:
        """Compared figures of a case with `channels` paid channels."""
        return (
            (len(PERIOD_FIGURES) + len(self.period_extra)) * len(self.periods)
            + len(self.months)
            + len(CHANNEL_FIGURES) * (channels + 1)
            + len(TOTALS)
            + len(self.active)
            + 1
        )


def random_figures(horizon: int) -> Figures:
    """A random case's figures: two periods (the horizon's halves), active customers at three months."""
    return Figures(
        periods=((1, horizon // 2), (horizon // 2 + 1, horizon)),
        active=(max(1, horizon // 4), max(1, horizon // 2), horizon),
    )


# --- the compared figures ---------------------------------------------------------------------------------


def outcomes(
    monthly: dict[str, np.ndarray], by_channel: dict[str, np.ndarray], names: list[str], figures: Figures
) -> dict[str, float]:
    """The compared figures of one run: `monthly` the completed monthly columns, `by_channel` per-channel
    arrays of shape (channels + 1, horizon)."""
    out: dict[str, float] = {}
    for a, b in figures.periods:
        for key in PERIOD_FIGURES + figures.period_extra:
            out[f"{key} in months {a}-{b}"] = float(np.sum(monthly[key][a - 1 : b]))
    for key, m in figures.months:
        out[f"{key} in month {m}"] = float(monthly[key][m - 1])
    for i, name in enumerate(names):
        for key in CHANNEL_FIGURES:
            out[f"{name}: total {key}"] = float(np.sum(by_channel[key][i]))
    for key in TOTALS:
        out[f"total {key}"] = float(np.sum(monthly[key]))
    for m in figures.active:
        out[f"active_customers in month {m}"] = float(monthly["active_customers"][m - 1])
    out["final cumulative_cash"] = float(monthly["cumulative_cash"][-1])
    assert len(out) == figures.count(len(names) - 1)
    return out


def channel_names(scenario: Scenario) -> list[str]:
    return [c.name for c in scenario.channels] + ["referrals"]


def engine_samples(scenario: Scenario, n: int, figures: Figures) -> dict[str, np.ndarray]:
    tables = lifetime_tables(scenario)
    names = channel_names(scenario)
    runs = []
    for r in range(n):
        run = run_replication(scenario, ENGINE_SEED, r, tables)
        monthly = complete_monthly(scenario, run.monthly)
        runs.append(outcomes(monthly, run.channels, names, figures))
    return {key: np.array([run[key] for run in runs]) for key in runs[0]}


def reference_samples(scenario: Scenario, n: int, figures: Figures) -> dict[str, np.ndarray]:
    names = channel_names(scenario)
    runs = []
    for r in range(n):
        out = run_reference(scenario, REFERENCE_SEED0 + r)
        by_channel = {key: out[ref_key] for key, ref_key in REFERENCE_CHANNEL_KEYS.items()}
        runs.append(outcomes(out, by_channel, names, figures))
    return {key: np.array([run[key] for run in runs]) for key in runs[0]}


def compare(engine: np.ndarray, reference: np.ndarray) -> tuple[float, str]:
    """Welch's test of equal means at this file's threshold (`welch.welch`)."""
    return welch.welch(engine, reference, ALPHA)


P_VALUES: dict[str, float] = {}
"""Every p-value computed in this run, by case and figure (for inspection, e.g. `pytest -s`)."""


def assert_same_means(case: str, scenario: Scenario, n: int, figures: Figures, detail: str = "") -> None:
    """Welch's test of every compared figure; `detail` (e.g. the scenario's TOML) goes into a failure's
    message."""
    eng = engine_samples(scenario, n, figures)
    ref = reference_samples(scenario, n, figures)
    failures = []
    for key in eng:
        p, text = compare(eng[key], ref[key])
        P_VALUES[f"{case}: {key}"] = p
        print(f"{case}: {key}: {text}")
        if not p >= ALPHA:
            failures.append(f"{key}: {text}")
    assert not failures, f"{case}: engine and reference model disagree:\n" + "\n".join(failures) + detail


def build(base: str, changes: dict[str, Any]) -> Scenario:
    """A shipped scenario with whole sections or fields replaced (no dotted paths: the plan is given
    as written in a file, so no base value moves its steps)."""
    data = sim.load_scenario(SCENARIOS / f"{base}.toml").to_dict()
    data.update(changes)
    return parse_scenario(data, source=f"{base} + changes")


# --- the fixed cases -------------------------------------------------------------------------------------

WINTER_CALLS = [1.4, 1.3, 1.1, 1.0, 0.9, 0.8, 0.8, 0.8, 0.9, 1.0, 1.1, 1.3]
"""Calls by calendar month, January … December: more in winter."""


def dealer_plan() -> Scenario:
    """A car dealer: two channels, a budget step, a CPL trend, winter calls, staff 3 → 1 → 4, cooling."""
    dealer = sim.load_scenario(SCENARIOS / "car_dealer_service.toml").to_dict()
    funnel = dealer["funnel"]
    for stage, conversion in zip(funnel, (0.5, 0.4, 0.2), strict=True):
        stage["conversion"] = conversion
    return build(
        "car_dealer_service",
        {
            "horizon_months": 18,
            "start": "2024-10",
            "channels": [
                {"name": "Calls", "leads_per_month": 250.0, "cost_per_lead": 2250.0, "lead_quality": 1.5},
                {"name": "Web forms", "leads_per_month": 150.0, "cost_per_lead": 900.0, "lead_quality": 0.4},
            ],
            "sales_desk": {
                "staff": 3,
                "handling_minutes": 20.0,
                "handling": "exponential",
                "hours_per_day": 10.0,
                "patience_hours": 6.0,
                "salary_per_month": 60_000.0,
                "cooling_half_life_hours": 4.0,
            },
            "funnel": funnel,
            "referrals": {"per_customer_per_year": 0.6, "conversion_multiplier": 10.0, "bonus": 10_000.0},
            "plan": [
                {"from_month": 4, "channels.0.leads_per_month": 350.0},
                {"from_month": 7, "sales_desk.staff": 1, "sales_desk.hours_per_day": 8.0},
                {"from_month": 10, "funnel.0.conversion": 0.6},
                {
                    "from_month": 12,
                    "sales_desk.staff": 4,
                    "sales_desk.hours_per_day": 12.0,
                    "sales_desk.salary_per_month": 70_000.0,
                },
            ],
            "trends": {"channels.0.cost_per_lead": 0.02},
            "seasonality": {"channels.0.leads_per_month": WINTER_CALLS},
        },
    )


def programme_from_month_7() -> Scenario:
    """A salon whose care programme starts in month 7, with a churn step in month 12."""
    return build(
        "salon_care_programme",
        {
            "horizon_months": 18,
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
                {"from_month": 12, "retention.monthly_churn": 0.3},
            ],
        },
    )


SALON_PROBLEMS = {
    "visit_problem_probability": 0.03,
    "resolution_days": 3.0,
    "cost_per_problem": 800.0,
    "leave_probability_base": 0.2,
    "leave_probability_per_day": 0.05,
}
"""Problems at 3 % of visits, each making the customer leave at the next check with q = 0.35."""


def service_levers_plan() -> Scenario:
    """A salon whose plan steps the levers carried by a lead, a sale, a visit and a cohort.

    - month 4 (by the lead's arrival month): handling 6 → 20 minutes, patience 18 → 3 hours, cooling
      half-life 48 → 6 hours: the lone administrator loses the night's leads and the rest go cold;
    - month 7: the first stage's delay 3 → 30 days (arrival month: month 7's sales fall); the programme's
      tolerated contacts 2 → 1 and its churn cut 0.3 → 0.6 (a period effect: churn 0.155 → 0.08 for every
      customer); the colouring stream's adoption 0.3 → 0.9 and interval 2 → 1 (a cohort effect: only
      customers who buy from month 7 on);
    - month 10: the referral multiplier 1.5 → 0.3 (arrival month: most of month 10's referral sales
      arrived in month 9 and keep 1.5) and the bonus 500 → 5,000 (the sale's month: every referral sale of
      month 10); problems at 3 % → 30 % of visits at 800 → 3,000 each (the visit's month: existing and old
      customers too);
    - month 13: resolution 3 → 10 days and leaving 0.05 → 0.08 a day unfixed (q 0.35 → 1: the check at the
      end of month 13 still uses month 12's 0.35 for month 12's problems); the manicure's interval 1 → 3
      (a cohort effect).
    """
    return build(
        "beauty_salon",
        {
            "horizon_months": 18,
            "existing_customers": {"count": 400},
            "sales_desk": {
                "staff": 1,
                "handling_minutes": 6.0,
                "handling": "exponential",
                "hours_per_day": 10.0,
                "patience_hours": 18.0,
                "salary_per_month": 45_000.0,
                "cooling_half_life_hours": 48.0,
            },
            "referrals": {"per_customer_per_year": 3.0, "conversion_multiplier": 1.5, "bonus": 500.0},
            "service_programme": {
                "fixed_cost_per_year": 0.0,
                "contacts_per_month": 1.0,
                "cost_per_contact": 60.0,
                "tolerated_contacts_per_month": 2.0,
                "max_churn_reduction": 0.3,
                "referral_uplift": 0.0,
                "margin_uplift": 0.0,
            },
            "problems": SALON_PROBLEMS,
            "plan": [
                {
                    "from_month": 4,
                    "sales_desk.handling_minutes": 20.0,
                    "sales_desk.patience_hours": 3.0,
                    "sales_desk.cooling_half_life_hours": 6.0,
                },
                {
                    "from_month": 7,
                    "funnel.0.delay_days": 30.0,
                    "service_programme.tolerated_contacts_per_month": 1.0,
                    "service_programme.max_churn_reduction": 0.6,
                    "repeat.1.adoption": 0.9,
                    "repeat.1.interval_months": 1,
                },
                {
                    "from_month": 10,
                    "referrals.conversion_multiplier": 0.3,
                    "referrals.bonus": 5000.0,
                    "problems.visit_problem_probability": 0.3,
                    "problems.cost_per_problem": 3000.0,
                },
                {
                    "from_month": 13,
                    "problems.resolution_days": 10.0,
                    "problems.leave_probability_per_day": 0.08,
                    "repeat.0.interval_months": 3,
                },
            ],
        },
    )


def sbg_cohort_plan() -> Scenario:
    """A salon whose customers differ: θ ~ Beta(50, 200) (about 0.2 for everyone, E[θ] = 0.2 = monthly
    churn) for the 300 existing customers and the cohorts of months 1-3; from month 4 new customers draw
    θ from Beta(0.5, 4.5) (E[θ] = 0.1: churn min(1, 2 θ), mean 0.2 again but spread wide, so a cohort keeps
    its loyal customers far longer), while the existing customers and earlier cohorts keep Beta(50, 200)
    and their E[θ] = 0.2 for life."""
    return build(
        "salon_care_programme",
        {
            "horizon_months": 15,
            "existing_customers": {"count": 300},
            "retention": {"model": "sbg", "alpha": 50.0, "beta": 200.0, "monthly_churn": 0.2},
            "plan": [{"from_month": 4, "retention.alpha": 0.5, "retention.beta": 4.5}],
        },
    )


THREE_PERIODS = ((1, 6), (7, 11), (12, 18))
FIXED = {
    "dealer_plan": (dealer_plan, Figures(THREE_PERIODS, (6, 11, 18))),
    "programme_from_month_7": (programme_from_month_7, Figures(THREE_PERIODS, (6, 11, 18))),
    "service_levers_plan": (
        service_levers_plan,
        Figures(
            ((1, 3), (4, 6), (7, 9), (10, 12), (13, 18)),
            (6, 9, 12, 13, 18),
            period_extra=("repeat_visits", "problems", "problem_cost", "referral_bonus"),
            months=(("sales", 7), ("sales_referral", 10), ("referral_bonus", 10), ("problems", 10)),
        ),
    ),
    "sbg_cohort_plan": (
        sbg_cohort_plan,
        Figures(((1, 3), (4, 9), (10, 15)), (3, 4, 6, 9, 15), period_extra=("repeat_visits",)),
    ),
}
"""Each fixed case: its scenario and its compared figures."""

MAX_COMPARISONS = sum(
    figures.count(len(make().channels)) for make, figures in FIXED.values()
) + RANDOM_EXAMPLES * random_figures(12).count(MAX_RANDOM_CHANNELS)
ALPHA = FAMILY_ALPHA / MAX_COMPARISONS
"""Bonferroni: each comparison's level, so that all of them together falsely fail with prob. <= 0.1 %."""


def test_comparison_count_is_the_headers():
    """The header's Bonferroni count is the one used (the random cases' count does not depend on H)."""
    assert random_figures(6).count(2) == random_figures(15).count(2)
    assert f"MAX_COMPARISONS = {MAX_COMPARISONS}" in (__doc__ or "")


def test_fixed_cases_are_what_they_say():
    """The fixed cases plan what their names promise (so the comparisons are not vacuous)."""
    sc = dealer_plan()
    staff = plan.values(sc, "sales_desk.staff")
    hours = plan.values(sc, "sales_desk.hours_per_day")
    assert list(staff[[0, 6, 11]]) == [3, 1, 4] and list(hours[[0, 6, 11]]) == [10, 8, 12]
    calls = plan.values(sc, "channels.0.leads_per_month")
    assert calls[3] > calls[2] * 1.2 and calls[2] > calls[0]  # the step, and December > October
    assert [c.lead_quality for c in sc.channels] == [1.5, 0.4]
    assert sc.sales_desk.cooling_half_life_hours == 4.0 and sc.sales_desk.patience_hours == 6.0
    pr = programme_from_month_7()
    contacts = plan.values(pr, "service_programme.contacts_per_month")
    fixed = plan.values(pr, "service_programme.fixed_cost_per_year")
    assert contacts[5] == 0 and fixed[5] == 0 and contacts[6] == 2 and fixed[6] > 0
    churn = plan.series(pr, lambda s: s.effective_churn)
    assert churn[5] == 0.2 and churn[6] == pytest.approx(0.1) and churn[11] == pytest.approx(0.15)

    sv = service_levers_plan()
    steps = {
        "sales_desk.handling_minutes": (4, 6.0, 20.0),
        "sales_desk.patience_hours": (4, 18.0, 3.0),
        "sales_desk.cooling_half_life_hours": (4, 48.0, 6.0),
        "funnel.0.delay_days": (7, 3.0, 30.0),
        "service_programme.tolerated_contacts_per_month": (7, 2.0, 1.0),
        "service_programme.max_churn_reduction": (7, 0.3, 0.6),
        "repeat.1.adoption": (7, 0.3, 0.9),
        "repeat.1.interval_months": (7, 2, 1),
        "referrals.conversion_multiplier": (10, 1.5, 0.3),
        "referrals.bonus": (10, 500.0, 5000.0),
        "problems.visit_problem_probability": (10, 0.03, 0.3),
        "problems.cost_per_problem": (10, 800.0, 3000.0),
        "problems.resolution_days": (13, 3.0, 10.0),
        "problems.leave_probability_per_day": (13, 0.05, 0.08),
        "repeat.0.interval_months": (13, 1, 3),
    }
    for path, (month, before, after) in steps.items():
        x = plan.values(sv, path)
        assert set(x[: month - 1]) == {before} and set(x[month - 1 :]) == {after}, path
    assert set(plan.planned_paths(sv)) == set(steps)
    churn = plan.series(sv, lambda s: s.effective_churn)  # the programme's multiplier of each month
    assert churn[5] == pytest.approx(0.155) and churn[6] == pytest.approx(0.08)
    leave = plan.series(sv, lambda s: s.problems.leave_probability)
    assert leave[11] == pytest.approx(0.35) and leave[12] == 1.0
    assert sv.existing_customers.count == 400
    sb = sbg_cohort_plan()
    alpha, beta = plan.values(sb, "retention.alpha"), plan.values(sb, "retention.beta")
    mean_theta = alpha / (alpha + beta)
    assert mean_theta[2] == 0.2 and mean_theta[3] == 0.1 and sb.retention.monthly_churn == 0.2
    assert alpha[2] + beta[2] == 250 and alpha[3] + beta[3] == 5  # tight, then spread
    assert sb.existing_customers.count == 300 and sb.retention.model == "sbg"


def test_dealer_plan_loses_leads_in_every_period_and_leads_go_cold():
    """The dealer's desk loses leads in every period, most with one salesperson, and cooling costs sales."""
    sc = dealer_plan()
    runs = [run_reference(sc, REFERENCE_SEED0 + r) for r in range(6)]
    for out in runs:
        lost_share = [
            out["leads_lost"][a - 1 : b].sum() / out["leads_paid"][a - 1 : b].sum() for a, b in THREE_PERIODS
        ]
        assert all(share > 0.2 for share in lost_share) and lost_share[1] > max(lost_share[0], lost_share[2])
    warm = sc.override({"sales_desk.cooling_half_life_hours": None})
    warm_runs = [run_reference(warm, REFERENCE_SEED0 + r) for r in range(6)]
    sales = np.mean([out["sales"].sum() for out in runs])
    warm_sales = np.mean([out["sales"].sum() for out in warm_runs])
    assert sales < 0.9 * warm_sales, (sales, warm_sales)  # sales ± 3 %: leads going cold cost over 10 %


@pytest.mark.slow
@pytest.mark.parametrize("case", list(FIXED))
def test_planned_case_means_agree_with_reference(case: str):
    make, figures = FIXED[case]
    assert_same_means(case, make(), N_FIXED, figures)


# --- the reference model's desk, exactly ----------------------------------------------------------------


def test_reference_desk_follows_staff_and_hours_by_the_moment():
    """Fixed 30-minute contacts and an overloaded desk: the contact starts are known exactly.

    Month 1: one salesperson, 8 hours; month 2 (from day 30.4375 = 10:30 on day 30): two, 12 hours; month 3
    (from day 60.875 = 21:00 on day 60): one, 4 hours. On day 30 the desk works 0:00-8:00 alone, is closed at
    8:00, reopens at the month's first moment 10:30 with two people until 12:00; on day 61 one person works
    0:00-4:00.
    """
    sc = build(
        "car_dealer_service",
        {
            "horizon_months": 3,
            "channels": [{"name": "Calls", "leads_per_month": 6000.0, "cost_per_lead": 1.0}],
            "sales_desk": {
                "staff": 1,
                "handling_minutes": 30.0,
                "handling": "fixed",
                "hours_per_day": 8.0,
                "patience_hours": 24.0,
            },
            "plan": [
                {"from_month": 2, "sales_desk.staff": 2, "sales_desk.hours_per_day": 12.0},
                {"from_month": 3, "sales_desk.staff": 1, "sales_desk.hours_per_day": 4.0},
            ],
        },
    )
    assert MONTH_DAYS == 30.4375
    starts = run_reference(sc, 3, trace=True)["contact_starts"]

    def hours_on(day: int) -> list[float]:
        x = starts[(starts >= day - 1e-9) & (starts < day + 1 - 1e-9)]
        return [round((t - day) * 24, 6) for t in x]

    assert hours_on(30) == [h / 2 for h in range(16)] + [10.5, 10.5, 11.0, 11.0, 11.5, 11.5]
    assert hours_on(31) == sorted([h / 2 for h in range(24)] * 2)
    assert hours_on(61) == [h / 2 for h in range(8)]


def test_reference_desk_waits_for_contacts_in_progress_when_staff_falls():
    """Staff 4 → 1 at month 2 with 7-hour fixed contacts: after the month's first moment no contact starts
    until all four in progress have ended (fewer than 1 in progress); staff 3 from month 3 starts two more at
    once."""
    h = 7 / 24
    sc = build(
        "car_dealer_service",
        {
            "horizon_months": 3,
            "channels": [{"name": "Calls", "leads_per_month": 300.0, "cost_per_lead": 1.0}],
            "sales_desk": {"staff": 4, "handling_minutes": 420.0, "handling": "fixed", "hours_per_day": 24.0},
            "referrals": None,
            "plan": [{"from_month": 2, "sales_desk.staff": 1}, {"from_month": 3, "sales_desk.staff": 3}],
        },
    )
    starts = np.sort(run_reference(sc, 3, trace=True)["contact_starts"])

    def in_progress(t: float) -> int:
        return int(np.sum((starts <= t) & (starts + h > t)))

    boundary = MONTH_DAYS
    before = starts[starts < boundary]
    assert in_progress(boundary) == 4  # the queue is long: all four busy at the step
    first_after = starts[starts >= boundary][0]
    assert first_after == pytest.approx(before[-1] + h)  # the last of the four ended
    month2 = starts[(starts >= boundary) & (starts < 2 * boundary)]
    assert all(in_progress(t) == 1 for t in month2)
    assert np.sum(np.isclose(starts, 2 * boundary)) == 2  # staff 3: two more start at the first moment


def test_reference_cohort_and_visit_levers_exactly():
    """No churn, every lead buys at once, 50 existing customers and two monthly streams; from month 3 new
    customers adopt the first stream with 0 and get the second every 3 months (cohort levers), from month 4
    every visit has a problem costing 100 (visit's month), from month 5 a problem makes the customer leave
    (q of the visit's month, at the next check). The counts follow from each month's sales S exactly:
    existing customers keep month 1's streams; month 4's problems (q = 0) make nobody leave at the end of
    month 5, month 5's (q = 1) make everyone with a visit or purchase in month 5 leave at the end of month 6,
    so their visits of month 6 do not happen."""
    sc = build(
        "beauty_salon",
        {
            "horizon_months": 6,
            "channels": [{"name": "Walk-ins", "leads_per_month": 20.0, "cost_per_lead": 1.0}],
            "funnel": [{"name": "Visit", "conversion": 1.0, "delay_days": 0.0}],
            "retention": {"monthly_churn": 0.0},
            "existing_customers": {"count": 50},
            "repeat": [
                {"name": "A", "interval_months": 1, "revenue": 10.0, "margin": 5.0},
                {"name": "B", "interval_months": 1, "revenue": 10.0, "margin": 5.0},
            ],
            "problems": {"visit_problem_probability": 0.0, "resolution_days": 0.0},
            "sales_desk": None,
            "referrals": None,
            "plan": [
                {"from_month": 3, "repeat.0.adoption": 0.0, "repeat.1.interval_months": 3},
                {
                    "from_month": 4,
                    "problems.visit_problem_probability": 1.0,
                    "problems.cost_per_problem": 100.0,
                },
                {"from_month": 5, "problems.leave_probability_base": 1.0},
            ],
        },
    )
    for key in ("sales_desk", "referrals", "service_programme"):
        assert getattr(sc, key) is None
    for seed in (1, 2):
        out = run_reference(sc, seed)
        S = out["sales"]
        assert S.min() > 0
        visits = np.array([100, 100 + 2 * S[0]] + [100 + 2 * (S[0] + S[1])] * 3 + [S[2]])
        np.testing.assert_array_equal(out["repeat_visits"], visits)
        problems = np.concatenate(([0, 0, 0], visits[3:] + S[3:]))
        np.testing.assert_array_equal(out["problems"], problems)
        np.testing.assert_array_equal(out["problem_cost"], 100 * problems)
        active = np.concatenate((50 + np.cumsum(S)[:5], [S[2] + S[3] + S[5]]))
        np.testing.assert_array_equal(out["active_customers"], active)


# --- random valid planned scenarios ------------------------------------------------------------------------


def money(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 2))


def share(lo: float, hi: float) -> st.SearchStrategy[float]:
    """A number in [lo, hi] with three decimals (readable in a failure's TOML)."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(
        lambda x: min(hi, max(lo, round(x, 3)))
    )


def season(lo: float, hi: float) -> st.SearchStrategy[list[float]]:
    return st.lists(share(lo, hi), min_size=12, max_size=12)


TREND = st.tuples(st.sampled_from([1.0, -1.0]), share(0.005, 0.03)).map(lambda x: x[0] * x[1])
"""A compound change a month of ±0.5 … 3 %."""


Candidate = tuple[str, tuple[str, ...], st.SearchStrategy[Any], st.SearchStrategy[list[float]] | None]
"""A lever the random scenarios may plan: (path, kinds of change among `step`, `trend` and `season`, its step
values, its season multipliers or None)."""

KINDS = {"all": {"step", "trend", "season"}, "steps": {"step"}}
"""The kinds of change the lever catalogue's `plan` allows."""


def catalogue_key(path: str) -> str:
    """`repeat.0.adoption` -> `repeat.adoption`: the lever catalogue's key of a path."""
    return ".".join(part for part in path.split(".") if not part.isdigit())


def plan_candidates(data: dict[str, Any]) -> list[Candidate]:
    """Every lever of the scenario `data` (a dict as written to TOML) that a random scenario may plan, with
    values that keep every month valid (probabilities within [0, 1], margins within revenue): every
    catalogue entry that can be planned (`test_random_scenarios_can_plan_every_plannable_lever`), for each
    item of a list, where its section is on and its base value is set (no patience, cooling or sBG shapes
    to plan without them). The desk's levers first (Hypothesis's simplest choice)."""
    out: list[Candidate] = []
    desk = data.get("sales_desk")
    if desk is not None:
        out += [
            ("sales_desk.staff", ("step",), st.integers(1, 4), None),
            ("sales_desk.hours_per_day", ("step",), st.sampled_from([12.0, 2.0, 8.0, 24.0]), None),
            ("sales_desk.salary_per_month", ("step", "trend"), money(0, 100_000), None),
            ("sales_desk.handling_minutes", ("step",), share(5.0, 90.0), None),
        ]
        if desk.get("patience_hours") is not None:
            out.append(("sales_desk.patience_hours", ("step",), share(0.25, 48.0), None))
        if desk.get("cooling_half_life_hours") is not None:
            out.append(("sales_desk.cooling_half_life_hours", ("step",), share(1.0, 72.0), None))
    for i in range(len(data["channels"])):
        out += [
            (f"channels.{i}.leads_per_month", ("step", "trend", "season"), money(20, 300), season(0.3, 2.0)),
            (f"channels.{i}.cost_per_lead", ("step", "trend", "season"), money(0, 5000), season(0.5, 1.5)),
            (f"channels.{i}.lead_quality", ("step",), share(0.0, 3.0), None),
        ]
    for j in range(len(data["funnel"])):
        out += [
            (f"funnel.{j}.conversion", ("step", "trend", "season"), share(0.05, 0.9), season(0.5, 1.6)),
            (f"funnel.{j}.delay_days", ("step",), st.sampled_from([30.0, 0.0, 2.0, 10.0]), None),
        ]
    out += [
        ("first_purchase.margin", ("step", "trend", "season"), money(0, 1e6), season(0.5, 2.0)),
        ("retention.monthly_churn", ("step", "trend", "season"), share(0.0, 0.5), season(0.5, 2.0)),
    ]
    if data["retention"].get("model") == "sbg":
        out += [
            ("retention.alpha", ("step",), share(0.3, 5.0), None),
            ("retention.beta", ("step",), share(0.5, 20.0), None),
        ]
    for j, stream in enumerate(data["repeat"]):
        out += [
            (f"repeat.{j}.interval_months", ("step",), st.integers(1, 6), None),
            (
                f"repeat.{j}.revenue",
                ("step", "season"),
                money(stream["margin"], 2 * stream["revenue"]),
                season(1.0, 2.0),
            ),
            (f"repeat.{j}.margin", ("step", "season"), money(0, stream["revenue"]), season(0.2, 1.0)),
            (f"repeat.{j}.adoption", ("step", "season"), share(0.0, 1.0), season(0.3, 1.0)),
        ]
    if data.get("service_programme") is not None:
        out += [
            ("service_programme.contacts_per_month", ("step",), share(0.0, 4.0), None),
            ("service_programme.fixed_cost_per_year", ("step", "season"), money(0, 1e6), season(0.5, 2.0)),
            ("service_programme.cost_per_contact", ("step", "trend"), money(0, 500), None),
            ("service_programme.tolerated_contacts_per_month", ("step",), share(0.5, 3.0), None),
            ("service_programme.max_churn_reduction", ("step",), share(0.0, 0.8), None),
            ("service_programme.referral_uplift", ("step",), share(0.0, 1.0), None),
            ("service_programme.margin_uplift", ("step",), share(0.0, 0.5), None),
        ]
    if data.get("problems") is not None:
        out += [
            (
                "problems.visit_problem_probability",
                ("step", "trend", "season"),
                share(0.0, 0.5),
                season(0.5, 1.5),
            ),
            ("problems.resolution_days", ("step",), share(0.0, 30.0), None),
            ("problems.cost_per_problem", ("step", "trend", "season"), money(0, 20_000), season(0.5, 2.0)),
            ("problems.leave_probability_base", ("step",), share(0.0, 0.6), None),
            ("problems.leave_probability_per_day", ("step",), share(0.0, 0.05), None),
        ]
    if data.get("referrals") is not None:
        out += [
            ("referrals.per_customer_per_year", ("step", "trend", "season"), share(0, 3), season(0.3, 2.0)),
            ("referrals.conversion_multiplier", ("step",), share(0.5, 30.0), None),
            ("referrals.bonus", ("step", "trend", "season"), money(0, 30_000), season(0.5, 2.0)),
        ]
    return out


@st.composite
def random_planned_scenarios(draw: st.DrawFn) -> Scenario:
    """A small valid planned scenario: the car dealer with service, levers and their plans drawn at random.

    Each planned lever (3 to 8 of `plan_candidates`) gets one kind of change (steps, a trend or
    seasonality) within ranges that keep every month's value valid. Retention is constant or sBG (whose
    shapes may then be planned); problems at visits are on or off. Hypothesis's simplest example (which a
    derandomized run tries first) has a desk, referrals, a programme and problems, and plans the desk's
    staff, hours and salary.
    """
    H = draw(st.integers(6, 15))
    months = st.integers(2, H)
    data = sim.load_scenario(SCENARIOS / "car_dealer_service.toml").to_dict()
    data["horizon_months"] = H
    data["start"] = draw(st.sampled_from(["2024-11", "2024-06", None]))
    n_channels = draw(st.integers(1, MAX_RANDOM_CHANNELS))
    data["channels"] = [
        {
            "name": f"Channel {i}",
            "leads_per_month": draw(money(30.0, 200.0)),
            "cost_per_lead": draw(money(0.0, 3000.0)),
            "lead_quality": draw(share(0.2, 3.0)),
        }
        for i in range(n_channels)
    ]
    for stage in data["funnel"]:
        stage["conversion"] = draw(share(0.15, 0.6))
        stage["delay_days"] = draw(st.sampled_from([1.0, 0.0, 5.0, 20.0]))
    data["retention"] = draw(
        st.fixed_dictionaries({"monthly_churn": share(0.0, 0.3)})
        | st.fixed_dictionaries(
            {
                "model": st.just("sbg"),
                "alpha": share(0.3, 5.0),
                "beta": share(0.5, 20.0),
                "monthly_churn": share(0.0, 0.3),
            }
        )
    )
    data["existing_customers"] = {"count": draw(st.integers(0, 150))}
    data["repeat"] = data["repeat"][: draw(st.integers(1, 3))]
    referrals = draw(
        st.fixed_dictionaries(
            {
                "per_customer_per_year": share(0.1, 2.0),
                "conversion_multiplier": share(0.5, 30.0),
                "bonus": money(0.0, 20_000.0),
            }
        )
        | st.none()
    )
    programme = draw(
        st.fixed_dictionaries(
            {
                "fixed_cost_per_year": money(0.0, 1e6),
                "contacts_per_month": share(0.0, 4.0),
                "cost_per_contact": money(0.0, 500.0),
                "tolerated_contacts_per_month": share(0.5, 3.0),
                "max_churn_reduction": share(0.0, 0.8),
                "referral_uplift": share(0.0, 1.0),
                "margin_uplift": share(0.0, 0.5),
            }
        )
        | st.none()
    )
    desk = draw(
        st.fixed_dictionaries(
            {
                "staff": st.integers(1, 4),
                "handling_minutes": share(5.0, 90.0),
                "handling": st.sampled_from(["exponential", "fixed"]),
                "hours_per_day": st.sampled_from([8.0, 4.0, 12.0, 24.0]) | share(1.0, 24.0),
                "patience_hours": share(0.25, 48.0) | st.none(),
                "salary_per_month": money(0.0, 100_000.0),
                "cooling_half_life_hours": share(1.0, 72.0) | st.none(),
            }
        )
        | st.none()
    )
    problems = draw(
        st.fixed_dictionaries(
            {
                "visit_problem_probability": share(0.0, 0.3),
                "resolution_days": share(0.0, 20.0),
                "cost_per_problem": money(0.0, 20_000.0),
                "leave_probability_base": share(0.0, 0.5),
                "leave_probability_per_day": share(0.0, 0.05),
            }
        )
        | st.none()
    )
    sections = (
        ("referrals", referrals),
        ("service_programme", programme),
        ("sales_desk", desk),
        ("problems", problems),
    )
    for key, section in sections:
        if section is None:
            data.pop(key, None)
        else:
            data[key] = section

    candidates = plan_candidates(data)
    chosen = draw(st.lists(st.sampled_from(range(len(candidates))), min_size=6, max_size=14, unique=True))
    steps: dict[int, dict[str, Any]] = {}
    trends: dict[str, float] = {}
    seasonality: dict[str, list[float]] = {}
    for index in chosen:
        path, kinds, step_values, multipliers = candidates[index]
        kind = draw(st.sampled_from(kinds))
        if kind == "step":
            for month in draw(st.lists(months, min_size=1, max_size=2, unique=True)):
                steps.setdefault(month, {})[path] = draw(step_values)
        elif kind == "trend":
            trends[path] = draw(TREND)
        else:
            assert multipliers is not None
            seasonality[path] = draw(multipliers)
    data["plan"] = [{"from_month": m, **steps[m]} for m in sorted(steps)]
    data["trends"] = trends
    data["seasonality"] = seasonality
    try:
        return parse_scenario(data, source="random planned scenario")
    except ScenarioError:
        reject()  # a rare combination out of bounds (e.g. a margin step above a planned revenue)


def full_random_data(patience: bool = True, cooling: bool = True, sbg: bool = True) -> dict[str, Any]:
    """The random scenarios' base with every section on: a desk (with or without patience and cooling),
    customers who differ or not, a programme, problems and referrals."""
    data = sim.load_scenario(SCENARIOS / "beauty_salon.toml").to_dict()
    data["sales_desk"]["patience_hours"] = 18.0 if patience else None
    data["sales_desk"]["cooling_half_life_hours"] = 12.0 if cooling else None
    if sbg:
        data["retention"] = {"model": "sbg", "alpha": 1.0, "beta": 4.0}
    data["service_programme"] = {"contacts_per_month": 1.0}
    return data


def test_random_scenarios_can_plan_every_plannable_lever():
    """The random scenarios draw plans over every lever of the catalogue that can be planned (for every
    list item), with the kinds of change its `plan` allows, and only levers the scenario has."""
    data = full_random_data()
    candidates = plan_candidates(data)
    keys = {catalogue_key(path) for path, *_ in candidates}
    assert keys == {f.key for f in CATALOGUE if f.plan != "none"}
    for path, kinds, _, multipliers in candidates:
        assert set(kinds) <= KINDS[BY_KEY[catalogue_key(path)].plan], path
        assert (multipliers is not None) == ("season" in kinds), path
    paths = {path for path, *_ in candidates}
    for section in ("channels", "funnel", "repeat"):
        for i in range(len(data[section])):
            assert {p for p in paths if p.startswith(f"{section}.{i}.")}, (section, i)
    bare = {path for path, *_ in plan_candidates(full_random_data(patience=False, cooling=False, sbg=False))}
    assert not bare & {
        "sales_desk.patience_hours",
        "sales_desk.cooling_half_life_hours",
        "retention.alpha",
        "retention.beta",
    }
    whole = [values for path, _, values, _ in candidates if path.endswith(("interval_months", "staff"))]
    assert len(whole) == 1 + len(data["repeat"])
    assert all(isinstance(find(values, lambda x: x > 1), int) for values in whole)


CHECKED_EXAMPLES: list[Scenario] = []


@pytest.mark.slow
@settings(
    max_examples=RANDOM_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(sc=random_planned_scenarios())
def test_random_planned_scenario_means_agree_with_reference(sc: Scenario):
    assert sc.planned
    CHECKED_EXAMPLES.append(sc)
    case = f"random planned scenario {len(CHECKED_EXAMPLES)}"
    assert_same_means(case, sc, N_RANDOM, random_figures(sc.horizon_months), f"\n{case}:\n{sc.to_toml()}")
