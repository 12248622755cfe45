"""The expected-value model (`sim.expected`) and the desk's queueing model (`sim.analytic.queueing`)
against the engine and against closed forms.

1. Exactness where the model is linear in expectation: for every shipped scenario (and two variants with
   a round-the-clock desk and every feature switched on), each monthly column of `expected` lies in the
   engine's confidence interval over 200 replications, at 99 % overall with a Bonferroni correction over
   the scenario's (column, month) comparisons. Where the engine's standard error is 0 (a deterministic
   column, or a cumulative figure that is fixed by the model), the two must be equal. Excluded, and why:
   the monthly mean wait of a desk with working hours. Its model (sim/queueing.py) is an approximation,
   and the engine's monthly mean also depends on the time of day at which each month starts (a month is
   30.4375 days), which a constant cannot follow; its accuracy is measured by the grid in part 4 instead.
   With a round-the-clock desk the mean wait is compared like every other column. Month 1's referral
   figures, where earlier versions were measurably off (referral leads come late in the month, from its
   first customers), are also measured precisely on one-month runs (`test_month_one_referrals`).
   Plans over time, channels and cooling (docs/model.md) are in the same test: a planned variant (plan
   steps, a trend, a season, two channels of different lead quality, a programme, problems, existing
   customers) and a variant whose leads go cold at a desk open round the clock (with a staff step); for
   both every channel's monthly columns are compared too (`CHANNEL_CASES`). Customers who differ (sBG,
   docs/model.md "Customers differ") are three more variants (`SBG_CASES`): the beauty salon with existing
   customers, the planned dealer whose churn plan steps above E[θ], and the same with θ's Beta planned by
   purchase month. The levers every plan may now move (`PLANNED_LEVER_CASES`) are two more: leads that
   carry their arrival month's handling time, patience, cooling half-life, funnel delays and referral
   multiplier through a desk open round the clock, with a referral bonus by the sale's month (its channels
   compared too); and problems by the visit's month, cohort adoption and intervals by the purchase month
   and the programme's shape by month.
2. LTV: `expected(...).kpis["ltv"]` (net of the cost to serve) and `["ltv_gross"]` equal closed forms
   written here from docs/model.md, and the engine's mean LTV is within Monte Carlo error of the net one;
   with customers who differ, the closed form Σ v^t B(α, β + t) / B(α, β) (Fader & Hardie 2007, 2010) and
   the engine's mean LTV against the expected one.
3. The funnel delay kernel: a distribution over months that matches a Monte Carlo of its definition.
4. The desk: lost share and mean wait of `desk_performance` within the issue's goal (10 % relative of the
   engine, or 0.01 absolute) over the grid of loads 0.3 … 1.5 of the capacity, the grid of
   benchmarks/queueing_accuracy.py (its table is in docs/queueing.md); plus the M/M/n+D formula's limits
   against Erlang C and Erlang B; and the cooling factor E[0.5^(W/h) | reached] over its grid (the second
   table in docs/queueing.md).

The 200-replication comparisons are marked `slow` (they still run by default). Their replications are
split in two halves with seeds SEED and SEED + 1 (independent streams, see sim/streams.py) that run in
two processes when the machine has more than one CPU; the figures do not depend on that.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from scipy.stats import t as student_t
from sections import PROBLEMS, PROGRAMME

import sim
from benchmarks import queueing_accuracy as qa
from sim.accounting.ledger import CHANNEL_COLUMNS, MONTHLY_COLUMNS
from sim.analytic.expected_value import delay_kernel, expected
from sim.analytic.queueing import desk_performance, mmn_d
from sim.engine.replication import MONTH_DAYS
from sim.model.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

REPLICATIONS = 200
SEED = 20_240_611
CHUNKS = 2
"""The replications run as this many `simulate` calls with seeds SEED, SEED + 1, …"""
ALPHA = 0.01
"""Overall error rate of each scenario's family of comparisons (99 % confidence)."""
HORIZON_CAP: dict[str, int] = {}
"""Horizons to cut (to keep the run time down) by scenario; every feature is kept either way. None at
present: every shipped scenario runs its full horizon (36 to 120 months), all in about a minute and a half."""
MAX_HORIZON = 120


def shipped(name: str) -> Scenario:
    sc = sim.load_scenario(SCENARIOS / f"{name}.toml")
    return sc.override({"horizon_months": min(sc.horizon_months, HORIZON_CAP.get(name, MAX_HORIZON))})


SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.toml"))


def variant(name: str) -> Scenario:
    """Shipped scenarios, and variants whose desk works round the clock (its wait is then compared)."""
    if name == "car_dealer_24h":
        # One salesperson at a third of the capacity, patience half an hour: the waits are minutes and
        # about 6 % of the leads are lost.
        return shipped("car_dealer").override(
            {
                "horizon_months": 60,
                "sales_desk.hours_per_day": 24.0,
                "sales_desk.staff": 1,
                "sales_desk.patience_hours": 0.5,
            }
        )
    if name == "car_dealer_service_24h_all_features":
        # Every feature at once: desk round the clock (hour-long calls, patience 2 h, ~30 % busy), the
        # referral feedback, problems, a programme with contacts, existing customers, discounting.
        return shipped("car_dealer_service").override(
            {
                "horizon_months": 60,
                "discount_rate_annual": 0.1,
                "channels.0.leads_per_month": 200.0,
                "funnel.2.conversion": 0.5,
                "sales_desk.hours_per_day": 24.0,
                "sales_desk.staff": 1,
                "sales_desk.handling_minutes": 60.0,
                "sales_desk.patience_hours": 2.0,
                "sales_desk.salary_per_month": 60_000.0,
                "problems": PROBLEMS,
                "service_programme": PROGRAMME,
                "existing_customers.count": 30,
            }
        )
    if name == "car_dealer_service_planned":
        return planned_service()
    if name == "beauty_salon_sbg":
        # Customers who differ: θ ~ Beta(0.5, 2) (mean churn 20 % a month, the salon's, but a third of the
        # new clients churn at 35 % or more while a fifth stay with under 2 %), 200 existing clients (their θ
        # from the same Beta), problems, a 10 % discount.
        data = shipped("beauty_salon").model_dump(mode="json")
        data["retention"] = {"model": "sbg", "alpha": 0.5, "beta": 2.0}
        data["existing_customers"] = {"count": 200}
        data["discount_rate_annual"] = 0.1
        return sim.parse_scenario(data)
    if name == "car_dealer_service_planned_sbg":
        # The planned dealer (churn 1.5 %, stepping to 3 % from month 13, the programme's contacts stepping
        # down from month 24) with customers who differ: θ ~ Beta(0.5, 32.8), E[θ] = 1.5 % (the scale steps
        # from 1 to 2: customers with θ > 1/2 leave at once from month 13).
        data = planned_service().model_dump(mode="json")
        data["retention"] = {"model": "sbg", "alpha": 0.5, "beta": 32.8, "monthly_churn": 0.015}
        return sim.parse_scenario(data)
    if name == "car_dealer_service_24h_cooling":
        # The all-features variant whose leads go cold (half-life 1 h against waits of about 10 minutes on
        # average, an hour or more at the busiest: a factor of about 0.9), with a second salesperson from
        # month 31 and the paid leads following a season (±30 %).
        data = variant("car_dealer_service_24h_all_features").model_dump(mode="json")
        data["start"] = "2026-09"
        data["sales_desk"]["cooling_half_life_hours"] = 1.0
        data["plan"] = [{"from_month": 31, "sales_desk.staff": 2}]
        data["seasonality"] = {
            "channels.0.leads_per_month": [1.3, 1.2, 1.1, 1.0, 0.9, 0.8, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]
        }
        return sim.parse_scenario(data)
    if name == "car_dealer_service_24h_planned_leads":
        # The cooling variant whose leads also carry planned levers from their arrival month (docs/model.md):
        # hour-long calls cut to 40 minutes from month 13; a referral multiplier of 10 instead of 25 (a
        # referral lead buys with 0.5 instead of 1) and a slower last funnel stage from month 19; patience
        # 2 h -> 1 h, half-life 1 h -> 2 h and a quicker first stage from month 25; a referral bonus from
        # month 40 (by the sale's month). One salesperson throughout (the staff step is the cooling
        # variant's): with two, a month loses a fraction of a lead, and the normal interval of such rare
        # counts (the standard error taken from a handful of losses in 200 runs) is not valid.
        data = variant("car_dealer_service_24h_cooling").model_dump(mode="json")
        data["plan"] = [
            {"from_month": 13, "sales_desk.handling_minutes": 40.0},
            {"from_month": 19, "referrals.conversion_multiplier": 10.0, "funnel.2.delay_days": 20.0},
            {
                "from_month": 25,
                "sales_desk.patience_hours": 1.0,
                "sales_desk.cooling_half_life_hours": 2.0,
                "funnel.0.delay_days": 0.5,
            },
            {"from_month": 40, "referrals.bonus": 20_000.0},
        ]
        return sim.parse_scenario(data)
    if name == "car_dealer_service_planned_customers":
        # The planned dealer with problems by the visit's month (more and slower from month 10, a cost that
        # grows 2 % a month, more leaving from month 36), cohort levers (customers who buy from month 20
        # service every 4 months, bring repairs back with 30 % and change tyres with 90 %; the 30 existing
        # customers keep month 1's) and the programme's shape from month 36 (tolerates half a contact, cuts
        # churn by up to 50 %: the multiplier at 0.5 contacts falls from 0.775 to 0.5).
        data = planned_service().model_dump(mode="json")
        data["plan"] += [
            {"from_month": 10, "problems.visit_problem_probability": 0.25, "problems.resolution_days": 10.0},
            {
                "from_month": 20,
                "repeat.0.interval_months": 4,
                "repeat.1.adoption": 0.3,
                "repeat.2.adoption": 0.9,
            },
            {
                "from_month": 36,
                "service_programme.tolerated_contacts_per_month": 0.5,
                "service_programme.max_churn_reduction": 0.5,
                "problems.leave_probability_base": 0.3,
            },
        ]
        data["plan"].sort(key=lambda step: step["from_month"])
        data["trends"]["problems.cost_per_problem"] = 0.02
        return sim.parse_scenario(data)
    if name == "car_dealer_service_planned_sbg_shapes":
        # The planned dealer whose customers differ, with θ's Beta by purchase month: Beta(0.5, 32.8) (mean
        # 1.5 %) for customers who buy before month 20, Beta(1, 49) (mean 2 %: each θ × c(m) / 2 %) after.
        data = variant("car_dealer_service_planned_sbg").model_dump(mode="json")
        data["plan"] += [{"from_month": 20, "retention.alpha": 1.0, "retention.beta": 49.0}]
        data["plan"].sort(key=lambda step: step["from_month"])
        return sim.parse_scenario(data)
    return shipped(name)


def planned_service() -> Scenario:
    """The car dealer with service over 60 months on a plan: two channels (calls at lead quality 1.5, forms
    at 0.5), a season on the calls and a trend on the forms, more calls, salespeople and churn from month
    13, a new first-purchase margin, first-stage conversion and service margin from month 30, a referral
    rate that grows 0.5 % a month, a programme whose contacts (hence churn) step down from month 24,
    problems and 30 existing customers; the desk keeps its 12 hours (spare capacity)."""
    data = shipped("car_dealer_service").model_dump(mode="json")
    data.update(
        {
            "horizon_months": 60,
            "start": "2027-03",
            "problems": PROBLEMS,
            "service_programme": PROGRAMME,
            "existing_customers": {"count": 30},
        }
    )
    data["channels"][0]["lead_quality"] = 1.5
    data["channels"].append(
        {"name": "Forms", "leads_per_month": 300.0, "cost_per_lead": 900.0, "lead_quality": 0.5}
    )
    data["plan"] = [
        {
            "from_month": 13,
            "channels.0.leads_per_month": 1400.0,
            "sales_desk.staff": 6,
            "retention.monthly_churn": 0.03,
        },
        {"from_month": 24, "service_programme.contacts_per_month": 0.5},
        {
            "from_month": 30,
            "first_purchase.margin": 120_000.0,
            "funnel.0.conversion": 0.3,
            "repeat.0.margin": 15_000.0,
        },
    ]
    data["trends"] = {"channels.1.leads_per_month": 0.01, "referrals.per_customer_per_year": 0.005}
    data["seasonality"] = {
        "channels.0.leads_per_month": [0.8, 0.9, 1.0, 1.1, 1.2, 1.1, 1.0, 0.9, 0.9, 1.0, 1.0, 1.0]
    }
    return sim.parse_scenario(data)


CHANNEL_CASES = (
    "car_dealer_service_planned",
    "car_dealer_service_24h_cooling",
    "car_dealer_service_24h_planned_leads",
)
"""Cases whose per-channel monthly columns are compared too (each channel, each of CHANNEL_COLUMNS)."""

SBG_CASES = ("beauty_salon_sbg", "car_dealer_service_planned_sbg", "car_dealer_service_planned_sbg_shapes")
"""Customers who differ (sBG): an unplanned and two planned variants (the second with θ's Beta planned)."""

PLANNED_LEVER_CASES = ("car_dealer_service_24h_planned_leads", "car_dealer_service_planned_customers")
"""The levers planned since plans could move them all: by the lead's arrival month (handling, patience,
cooling, delays, referral multiplier), the bonus by the sale's month, problems by the visit's month, the
programme's shape, and the cohort levers (adoption, interval; α and β in the last of `SBG_CASES`)."""

EXACTNESS_CASES = [
    *SHIPPED,
    "car_dealer_24h",
    "car_dealer_service_24h_all_features",
    *CHANNEL_CASES,
    "car_dealer_service_planned_customers",
    *SBG_CASES,
]


# --- engine runs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineRuns:
    monthly: pd.DataFrame
    """One row per (replication, month), replications numbered 0 … REPLICATIONS-1."""
    kpis: pd.DataFrame
    channels: pd.DataFrame
    """One row per (replication, month, channel)."""


@pytest.fixture(scope="module")
def pool():
    """Worker processes for the 200-replication runs (None on a single CPU: run in this process)."""
    workers = min(CHUNKS, os.cpu_count() or 1)
    if workers < 2:
        yield None
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as ex:
        yield ex


_RUNS: dict[str, EngineRuns] = {}


def engine_runs(name: str, pool: Executor | None) -> EngineRuns:
    """REPLICATIONS engine replications of a case, in CHUNKS `simulate` calls (cached per module)."""
    if name not in _RUNS:
        sc = variant(name)
        per = [REPLICATIONS // CHUNKS + (i < REPLICATIONS % CHUNKS) for i in range(CHUNKS)]
        if pool is None:
            results = [sim.simulate(sc, n, seed=SEED + i) for i, n in enumerate(per)]
        else:
            futures = [pool.submit(sim.simulate, sc, n, SEED + i) for i, n in enumerate(per)]
            results = [f.result() for f in futures]
        monthly, kpis, channels, offset = [], [], [], 0
        for res, n in zip(results, per, strict=True):
            monthly.append(res.monthly.assign(replication=res.monthly["replication"] + offset))
            kpis.append(res.kpis.assign(replication=res.kpis["replication"] + offset))
            channels.append(res.channels.assign(replication=res.channels["replication"] + offset))
            offset += n
        _RUNS[name] = EngineRuns(
            pd.concat(monthly, ignore_index=True),
            pd.concat(kpis, ignore_index=True),
            pd.concat(channels, ignore_index=True),
        )
    return _RUNS[name]


# --- 1. exactness of the monthly columns -------------------------------------------------------------------


def compared_columns(sc: Scenario) -> list[str]:
    """Every monthly column, except the mean wait of a desk with working hours (an approximation)."""
    desk = sc.sales_desk
    approximate_wait = desk is not None and desk.hours_per_day < 24.0
    return [c for c in MONTHLY_COLUMNS if not (approximate_wait and c == "mean_wait_hours")]


def comparisons(name: str, pool: Executor | None) -> tuple[pd.DataFrame, float]:
    """Per (column, month): expected value, engine mean, its standard error and z; and the Bonferroni
    critical z over the comparisons with a positive standard error."""
    sc = variant(name)
    runs = engine_runs(name, pool)
    result = expected(sc)
    exp = result.monthly.set_index("month")
    grouped = runs.monthly.groupby("month")
    n = runs.monthly["replication"].nunique()
    assert n == REPLICATIONS
    frames = []

    def compare(label: str, grouped: pd.core.groupby.DataFrameGroupBy, exp: pd.DataFrame, col: str) -> None:
        mean = grouped[col].mean()
        se = grouped[col].std(ddof=1) / math.sqrt(n)
        frames.append(
            pd.DataFrame(
                {
                    "column": label,
                    "month": mean.index,
                    "expected": exp.loc[mean.index, col].to_numpy(),
                    "engine": mean.to_numpy(),
                    "se": se.to_numpy(),
                }
            )
        )

    for col in compared_columns(sc):
        compare(col, grouped, exp, col)
    if name in CHANNEL_CASES:
        for channel, rows in runs.channels.groupby("channel"):
            mine = result.channels[result.channels["channel"] == channel].set_index("month")
            for col in CHANNEL_COLUMNS:
                compare(f"{channel}: {col}", rows.groupby("month"), mine, col)
    df = pd.concat(frames, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["z"] = (df["expected"] - df["engine"]) / df["se"]
    k = int((df["se"] > 0).sum())
    return df, float(norm.ppf(1.0 - ALPHA / (2 * k)))


MONTH_ONE_REFERRALS = ("leads_referral", "sales_referral", "margin_referral_sale", "referral_bonus")
MONTH_ONE_CASES = ("beauty_salon", "car_dealer_service")
"""Month 1's referral figures depend on when within the month the referral leads arrive: they come
from the month's first customers, late in the month. Earlier versions counted half a month of presence
(+26 % on the salon's month-1 referral sales) and then timed referral sales as if the leads arrived
evenly over the month (+13 %); expected.py now follows the first six months in eighths of a month. What
is left is about +0.9 % on the salon's month-1 referral leads (4.378 vs 4.34 ± 0.012 over 32,000 runs
of two seeds), mostly the desk's wait taken as a constant shift; the test allows 2 % on top of the
engine's noise. The old gaps (+13 to +26 %) would fail it at any seed."""


def describe(rows: pd.DataFrame) -> str:
    return rows.to_string(
        index=False,
        formatters={"expected": "{:.6g}".format, "engine": "{:.6g}".format, "se": "{:.3g}".format},
    )


# Power (at 99 %): a (column, month) fails when |expected - engine| > z_crit SE, z_crit = 4.1-4.6 with the
# Bonferroni correction over 200-2,000 comparisons, so a bias of >= (z_crit + 2.33) SE = 6.4-6.9 SE is
# caught. With 200 replications that is, as a share of the engine's mean (median over the months):
#   car_dealer_service: sales 12 %, active customers 2.7 %, margin 7.2 %, referral leads 9.6 %, final
#     cumulative cash 8.2 %;  car_dealer: sales and margin 15 %, active customers 2.7 %, final cash 1.2 %;
#   beauty_salon: sales 3.7 %, active customers 2.0 %, margin 2.2 %, final cash 1.5 %;
#   medical_service(_programme): margin and net cash 0.5 %;
#   car_dealer_24h: lost leads 7.9 %, mean wait 4.0 %; the all-features variant: sales 8.1 %, lost leads
#     17 %, mean wait 8.5 %, final cash 3.6 %;
#   car_dealer_plan (shipped, on a plan, 2,140 comparisons): sales 11 %, active customers 2.4 %, margin 6.6 %,
#     referral leads 8.5 %, cumulative cash 7.3 % (its year 1 sales are +1.3 to +2.5 % against the engine,
#     ± 0.5 to 0.8 % over two seeds: the working-hours cooling factor near load 0.7; within the band);
#   car_dealer_service_planned (2,100 comparisons, z_crit 4.58): sales 8.0 %, active customers 2.4 %, margin
#     6.2 %, referral leads 8.2 %, final cumulative cash 4.1 %; per channel, sales of the calls 10 %, of the
#     forms 34 % (a few sales a month), of the referrals 15 %;
#   car_dealer_service_24h_cooling (2,040 comparisons, z_crit 4.57): sales 8.8 %, active customers 3.8 %,
#     margin 7.0 %, lost leads 37 %, mean wait 15 %, final cumulative cash 3.7 %; the calls' sales 16 %, the
#     referrals' 10 %. (The cooling factor itself, about 0.85 here, is measured to 0.3 % by the grid below.)
#   beauty_salon_sbg (684 comparisons, z_crit 4.33): sales 3.5 %, active customers 1.6 %, margin 1.9 %,
#     referral leads 4.3 %, final cumulative cash 1.5 %; car_dealer_service_planned_sbg (1,200 comparisons,
#     z_crit 4.46): sales 7.6 %, active customers 2.3 %, margin 5.5 %, referral leads 7.8 %, final
#     cumulative cash 3.7 % (customers who differ); car_dealer_service_planned_sbg_shapes (1,320
#     comparisons, z_crit 4.46): sales 7.7 %, active customers 2.3 %, margin 5.7 %, repeat visits 5.7 %,
#     problems 12 %, final cumulative cash 3.7 %.
#   car_dealer_service_24h_planned_leads (2,220 comparisons, z_crit 4.57): sales 11 %, active customers
#     3.6 %, margin 7.6 %, referral leads 10 %, lost leads 18 %, mean wait 11 %, referral bonus 15 %, final
#     cumulative cash 3.6 %; the calls' sales 16 %, the referrals' 15 %;
#   car_dealer_service_planned_customers (1,320 comparisons, z_crit 4.46): sales 8.0 %, active customers
#     2.6 %, margin 5.9 %, repeat visits 5.3 %, problems 7.9 %, final cumulative cash 5.4 %.
# A month's counts are small (about 17 sales a month for the car dealer), so one month alone is a coarse
# check; a bias that persists shows in the cumulative columns and in every month at once.
@pytest.mark.slow
@pytest.mark.parametrize("name", EXACTNESS_CASES)
def test_expected_within_engine_confidence_interval(name, pool):
    df, z_crit = comparisons(name, pool)
    no_data = df[df["engine"].isna()]  # e.g. the mean wait of a scenario without leads
    wrong = no_data[no_data["expected"].notna()]
    assert wrong.empty, f"{name}: no engine figure (NaN) but an expected one:\n{describe(wrong)}"
    zero = df[df["se"] == 0]
    same = [
        (np.isnan(e) and np.isnan(g)) or math.isclose(e, g, rel_tol=1e-6, abs_tol=1e-9)
        for e, g in zip(zero["expected"], zero["engine"], strict=True)
    ]
    unequal = zero[~np.array(same, dtype=bool)]
    assert unequal.empty, (
        f"{name}: deterministic in the engine but different in expected:\n{describe(unequal)}"
    )
    outside = df[(df["se"] > 0) & ~(df["z"].abs() <= z_crit)]
    assert outside.empty, (
        f"{name}: expected outside the engine's {100 * (1 - ALPHA):.0f} % Bonferroni interval "
        f"(|z| > {z_crit:.2f}, {REPLICATIONS} replications):\n{describe(outside)}"
    )


MONTH_ONE_REPLICATIONS = 4000
"""One-month runs: cheap (about 1.5 ms each), and precise enough that the old gap would stand out at any
seed (z ≈ 24 for the beauty salon's referral sales, 12 for the car dealer's). Power (at 99 %): a bias of
>= 2 % + (3.23 + 2.33) SE is caught: for the beauty salon 6.4 % of month 1's referral leads and 8.1 % of
its referral sales, margin and bonus; for the car dealer 34 % of its referral leads and 150 % of its
referral sales (a fraction of a sale a run in month 1: a coarse check there)."""


@pytest.mark.parametrize("name", MONTH_ONE_CASES)
def test_month_one_referrals(name):
    """Month 1's referral figures, measured precisely on one-month runs."""
    sc = variant(name).override({"horizon_months": 1})
    runs = sim.simulate(sc, MONTH_ONE_REPLICATIONS, seed=SEED).monthly
    exp = expected(sc).monthly
    z_crit = norm.ppf(1.0 - ALPHA / (2 * len(MONTH_ONE_REFERRALS) * len(MONTH_ONE_CASES)))
    rows = []
    for col in MONTH_ONE_REFERRALS:
        mean = runs[col].mean()
        se = runs[col].std(ddof=1) / math.sqrt(MONTH_ONE_REPLICATIONS)
        rows.append({"column": col, "expected": exp[col][0], "engine": mean, "se": se})
    df = pd.DataFrame(rows)
    df["z"] = (df["expected"] - df["engine"]) / df["se"]
    # Allowed: the engine's noise plus 2 % for the desk's wait, which the model adds to the funnel as a
    # constant shift (the mean wait) where the engine has a mixture of night and day waits.
    ok = (df["expected"] - df["engine"]).abs() <= z_crit * df["se"] + 0.02 * df["engine"].abs()
    assert ok.all(), f"{name}, month 1 (beyond {z_crit:.2f} SE + 2 %):\n{describe(df)}"


# --- 2. LTV -----------------------------------------------------------------------------------------------


def monthly_discount(rate_annual: float) -> float:
    return (1.0 + rate_annual) ** (-1.0 / 12.0)


def ltv_one_stream(m0, adoption, interval, margin, churn, rate_annual, keep=1.0):
    """One repeat stream. A visit due in age month nI happens iff the customer passed the checks at the
    ends of months 1 … nI: each passes with 1 - c, and each visit (the first purchase included) that
    falls in the month before a check also has to survive its problem, probability `keep` = 1 - p·q;
    before the check at the end of month nI there were n visits (months 0, I, …, (n-1)I). Discounted
    v^{nI}: LTV = m0 + a·m·Σ_{n≥1} q^n = m0 + a·m·q/(1 - q), q = ((1 - c)·v)^I · keep."""
    q = ((1.0 - churn) * monthly_discount(rate_annual)) ** interval * keep
    if adoption == 0 or margin == 0:
        return m0
    return math.inf if q >= 1.0 else m0 + adoption * margin * q / (1.0 - q)


def ltv_independent_streams(m0, streams, churn, rate_annual):
    """Without problems the survival does not depend on the visits: the streams add up."""
    return m0 + sum(ltv_one_stream(0.0, a, i, m, churn, rate_annual) for a, i, m in streams)


def ltv_beauty_salon(sc: Scenario) -> tuple[float, float]:
    """Manicure every month (everyone), colouring every 2 months (adoption a), problems at visits:
    (net, gross) LTV.

    With x = (1 - c)·v·κ, κ = 1 - p·q: the check at the end of month j passes with (1 - c)·κ^{V(j-1)},
    V = visits in a month (1 in month 0 and in odd months, 1 + colouring in even months ≥ 2). Without
    colouring v^k S(k) = x^k; with it, x^k κ^{floor((k-1)/2)}. Summing the odd and even months:
    gross LTV = m0 + (1 - a)·m1·x/(1 - x) + a·(m1·x·(1 + x) + m2·x²)/(1 - κ·x²). The cost to serve is
    cost_per_problem·p for each visit, the first purchase included: the discounted expected visits are
    1 + (1 - a)·x/(1 - x) + a·(x + 2x²)/(1 - κ·x²) (no programme here, so no contacts)."""
    manicure, colouring = sc.repeat
    assert (manicure.interval_months, colouring.interval_months, manicure.adoption) == (1, 2, 1.0)
    assert sc.service_programme is None
    pr = sc.problems
    leave = min(1.0, pr.leave_probability_base + pr.leave_probability_per_day * pr.resolution_days)
    kappa = 1.0 - pr.visit_problem_probability * leave
    x = (1.0 - sc.retention.monthly_churn) * monthly_discount(sc.discount_rate_annual) * kappa
    a, m0, m1, m2 = colouring.adoption, sc.first_purchase.margin, manicure.margin, colouring.margin
    gross = m0 + (1 - a) * m1 * x / (1 - x) + a * (m1 * x * (1 + x) + m2 * x * x) / (1 - kappa * x * x)
    visits = 1.0 + (1 - a) * x / (1 - x) + a * (x + 2 * x * x) / (1 - kappa * x * x)
    return gross - pr.cost_per_problem * pr.visit_problem_probability * visits, gross


PLAN_AGES = 3000
"""Age months summed by `planned_ltv` (250 years: the survival past it is negligible at any churn > 1 %)."""


def planned_ltv(sc: Scenario) -> tuple[float, float]:
    """(net, gross) LTV of a planned scenario without problems, summed age month by age month from
    docs/model.md: a customer who buys in month m0 is there at the end of its age month k with
    S = Π_{j=1…k} (1 − c(m0 + j)), c of the calendar month of each check (the last month's values past the
    horizon, `sim.model.plan.months`); a visit due in age month k brings its calendar month's margin × S;
    the cost to serve is the contacts' cost of each calendar month × S (age 0 included). Each age month is
    discounted v^k. The LTV is the mean over the horizon's new customers, weighted by the expected sales."""
    assert sc.problems is None, "the sum below is for scenarios without problems"
    months = sim.model.plan.months(sc)
    H = len(months)
    k = np.arange(PLAN_AGES)
    v = monthly_discount(sc.discount_rate_annual) ** k

    def at(figure) -> np.ndarray:  # a figure of each calendar month 0 … H - 1 + PLAN_AGES
        x = np.array([figure(s) for s in months], dtype=float)
        return np.concatenate([x, np.full(PLAN_AGES, x[-1])])

    churn = at(lambda s: s.effective_churn)
    contact = at(
        lambda s: (
            s.service_programme.contacts_per_month * s.service_programme.cost_per_contact
            if s.service_programme
            else 0.0
        )
    )
    margins = [at(lambda s, j=j: s.repeat[j].margin * s.repeat_margin_factor) for j in range(len(sc.repeat))]
    first = at(lambda s: s.first_purchase.margin)
    sales = expected(sc).arrays["sales"]
    net = np.zeros(H)
    gross = np.zeros(H)
    for m0 in range(H):
        calendar = m0 + k
        survive = np.cumprod(np.where(k >= 1, 1.0 - churn[calendar], 1.0))
        g = first[m0]
        for stream, margin in zip(sc.repeat, margins, strict=True):
            due = (k >= 1) & (k % stream.interval_months == 0)
            g += stream.adoption * float(np.sum((v * survive * margin[calendar])[due]))
        gross[m0] = g
        net[m0] = g - float(np.sum(v * survive * contact[calendar]))
    return float(sales @ net / sales.sum()), float(sales @ gross / sales.sum())


def closed_form_ltv(name: str) -> tuple[float, float]:
    """(net, gross) LTV of a shipped scenario, from docs/model.md (with a plan: `planned_ltv`)."""
    sc = variant(name)
    if sc.planned:
        return planned_ltv(sc)
    if name == "beauty_salon":
        return ltv_beauty_salon(sc)
    assert sc.problems is None, "the closed form below is for scenarios without problems"
    churn, factor, contact_cost = sc.retention.monthly_churn, 1.0, 0.0
    if prog := sc.service_programme:
        x = prog.contacts_per_month / prog.tolerated_contacts_per_month
        churn *= 1.0 - prog.max_churn_reduction * (1.0 - (1.0 - x) ** 2)
        factor += prog.margin_uplift
        contact_cost = prog.contacts_per_month * prog.cost_per_contact
    streams = [(s.adoption, s.interval_months, s.margin * factor) for s in sc.repeat]
    gross = ltv_independent_streams(sc.first_purchase.margin, streams, churn, sc.discount_rate_annual)
    # Contacts for each month active at its end, the purchase month included: sum of ((1 - c) v)^k.
    q = (1.0 - churn) * monthly_discount(sc.discount_rate_annual)
    cost = 0.0 if contact_cost == 0 else (math.inf if q >= 1.0 else contact_cost / (1.0 - q))
    return gross - cost, gross


@pytest.mark.parametrize("name", SHIPPED)
def test_ltv_of_shipped_scenarios_equals_closed_form(name):
    kpi = expected(variant(name)).kpi
    net, gross = closed_form_ltv(name)
    if name.startswith("medical"):
        assert net == gross == math.inf, (
            "churn 0, no problems, no discount: the LTV is infinite (docs/model.md)"
        )
    if name in ("beauty_salon", "salon_care_programme"):
        assert net < gross, f"{name}: problems or contacts cost something to serve"
    assert kpi["ltv"] == pytest.approx(net, rel=1e-9), f"{name}: LTV {kpi['ltv']} vs closed form {net}"
    assert kpi["ltv_gross"] == pytest.approx(gross, rel=1e-9), (
        f"{name}: gross LTV {kpi['ltv_gross']} vs {gross}"
    )


def simple_scenario(
    m0=50.0, adoption=1.0, interval=1, margin=100.0, churn=0.1, rate=0.0, problems=None, programme=None
) -> Scenario:
    """One paid channel, no desk, a one-stage funnel, one repeat stream: the LTV's closed form applies."""
    data = {
        "name": "LTV",
        "horizon_months": 24,
        "discount_rate_annual": rate,
        "channels": [{"name": "c", "leads_per_month": 100.0, "cost_per_lead": 10.0}],
        "funnel": [{"name": "buy", "conversion": 0.4, "delay_days": 2.0}],
        "first_purchase": {"revenue": max(m0, 1.0), "margin": m0},
        "retention": {"monthly_churn": churn},
        "repeat": [
            {
                "name": "r",
                "interval_months": interval,
                "revenue": margin * 2,
                "margin": margin,
                "adoption": adoption,
            }
        ],
    }
    if problems:
        data["problems"] = problems
    if programme:
        data["service_programme"] = programme
    return sim.parse_scenario(data)


LTV_CASES = {
    "monthly, no discount": {"churn": 0.1},
    "quarterly, partial adoption, discount": {
        "adoption": 0.4,
        "interval": 3,
        "margin": 250.0,
        "m0": 80.0,
        "churn": 0.05,
        "rate": 0.12,
    },
    "half-yearly, programme": {
        "adoption": 0.7,
        "interval": 6,
        "margin": 1000.0,
        "m0": 200.0,
        "churn": 0.04,
        "rate": 0.3,
        "programme": {
            "contacts_per_month": 1.0,
            "tolerated_contacts_per_month": 1.0,
            "max_churn_reduction": 0.3,
            "margin_uplift": 0.2,
        },
    },
    "every 2 months, problems": {
        "adoption": 0.6,
        "interval": 2,
        "margin": 300.0,
        "m0": 100.0,
        "churn": 0.08,
        "rate": 0.05,
        "problems": {
            "visit_problem_probability": 0.1,
            "resolution_days": 4.0,
            "leave_probability_base": 0.2,
            "leave_probability_per_day": 0.05,
        },
    },
    "no churn, discount only": {"churn": 0.0, "rate": 0.2, "interval": 2},
    "certain churn": {"churn": 1.0},
}


def simple_closed_form(case: dict) -> float:
    c = dict(m0=50.0, adoption=1.0, interval=1, margin=100.0, churn=0.1, rate=0.0) | case
    churn, margin = c["churn"], c["margin"]
    if prog := c.get("programme"):
        x = prog["contacts_per_month"] / prog["tolerated_contacts_per_month"]
        churn *= 1.0 - prog["max_churn_reduction"] * (1.0 - (1.0 - x) ** 2)
        margin *= 1.0 + prog["margin_uplift"]
    keep = 1.0
    if pr := c.get("problems"):
        q = min(1.0, pr["leave_probability_base"] + pr["leave_probability_per_day"] * pr["resolution_days"])
        keep = 1.0 - pr["visit_problem_probability"] * q
    return ltv_one_stream(c["m0"], c["adoption"], c["interval"], margin, churn, c["rate"], keep)


@pytest.mark.parametrize("case", list(LTV_CASES))
def test_ltv_closed_form_simple_cases(case):
    params = LTV_CASES[case]
    got = expected(simple_scenario(**params)).kpi["ltv"]
    want = simple_closed_form(params)
    assert got == pytest.approx(want, rel=1e-9), f"{case}: LTV {got} vs closed form {want}"


def test_ltv_infinite_without_churn_problems_or_discount():
    assert expected(simple_scenario(churn=0.0, rate=0.0)).kpi["ltv"] == math.inf


def sbg_series(alpha: float, beta: float, interval: int, v: float) -> float:
    """Σ_{n≥1} v^(nI) S(nI), S(t) = B(α, β + t) / B(α, β) (Fader & Hardie 2007), summed with the ratio
    S(t) / S(t − 1) = (β + t − 1) / (α + β + t − 1) until the terms are 1e-17 of the sum."""
    total, s, t = 0.0, 1.0, 0
    while True:
        t += 1
        s *= (beta + t - 1.0) / (alpha + beta + t - 1.0)
        if t % interval == 0:
            term = v**t * s
            total += term
            if term < 1e-17 * total:
                return total


SBG_LTV = {"adoption": 0.4, "interval": 3, "margin": 250.0, "m0": 80.0, "rate": 0.12}
"""A simple case with customers who differ: θ ~ Beta(0.7, 4), monthly_churn = E[θ] (scale 1)."""


def sbg_simple() -> Scenario:
    data = simple_scenario(**SBG_LTV).model_dump(mode="json")
    data["retention"] = {"model": "sbg", "alpha": 0.7, "beta": 4.0}
    return sim.parse_scenario(data)


def test_ltv_closed_form_customers_who_differ():
    # LTV = m0 + a × m × Σ_{n≥1} v^(nI) S(nI): a visit due at age nI happens if the customer is there.
    c = SBG_LTV
    want = c["m0"] + c["adoption"] * c["margin"] * sbg_series(0.7, 4.0, 3, monthly_discount(c["rate"]))
    assert expected(sbg_simple()).kpi["ltv"] == pytest.approx(want, rel=1e-10)
    # customers alike at the same mean churn are worth less here: the loyal ones stay much longer
    alike = simple_scenario(**SBG_LTV, churn=0.7 / 4.7)
    assert expected(alike).kpi["ltv"] < want


LTV_ENGINE_REPLICATIONS = 10
LTV_ENGINE_CHECKS = len(SHIPPED) + 3 + len(SBG_CASES)
"""The engine-LTV checks (the shipped scenarios, three simple cases, the sBG variants): 99 % overall over
them.

Power (at 99 %): the t-test's critical value is 4.9 (9 degrees of freedom, Bonferroni over 12), so the
simple cases (10 replications, relative SE of the mean LTV 1.8 %, 2.3 % and, customers who differ, 2.6 %)
catch a bias of >= 13 %, 17 % and 19 % of the LTV; the shipped scenarios (200 replications, critical value
3.4) >= 0.41 % (car_dealer_service), 0.48 % (beauty_salon) and 0.39 % (car_dealer_plan, its LTV a mean over
the plan's cohorts), the sBG variants >= 0.6 % (beauty_salon_sbg, car_dealer_service_planned_sbg); the car
dealer's LTV (no repeat visits) and the medical ones (infinite) must be equal."""


def assert_engine_ltv(ltv: pd.Series, want: float, what: str) -> None:
    x = ltv.to_numpy(dtype=float)
    if not math.isfinite(want):
        assert np.all(x == want), f"{what}: engine LTVs {np.unique(x)} vs {want}"
        return
    se = x.std(ddof=1) / math.sqrt(x.size)
    if se == 0:
        assert x.mean() == pytest.approx(want, rel=1e-9), f"{what}: engine LTV {x.mean()} vs {want}"
        return
    z = (x.mean() - want) / se
    z_crit = student_t.ppf(1.0 - ALPHA / (2 * LTV_ENGINE_CHECKS), x.size - 1)
    assert abs(z) <= z_crit, (
        f"{what}: engine mean LTV {x.mean():.2f} ± {se:.2f} vs closed form {want:.2f} (z {z:+.2f})"
    )


@pytest.mark.parametrize("case", ["quarterly, partial adoption, discount", "every 2 months, problems"])
def test_engine_ltv_matches_closed_form_simple_cases(case):
    params = LTV_CASES[case]
    res = sim.simulate(simple_scenario(**params), LTV_ENGINE_REPLICATIONS, seed=SEED)
    assert_engine_ltv(res.kpis["ltv"], simple_closed_form(params), case)


def test_engine_ltv_customers_who_differ_matches_closed_form():
    # Each customer's LTV books its own θ's remainder after the horizon; their mean estimates the LTV.
    c = SBG_LTV
    want = c["m0"] + c["adoption"] * c["margin"] * sbg_series(0.7, 4.0, 3, monthly_discount(c["rate"]))
    res = sim.simulate(sbg_simple(), LTV_ENGINE_REPLICATIONS, seed=SEED)
    assert_engine_ltv(res.kpis["ltv"], want, "customers who differ, quarterly")


@pytest.mark.slow
@pytest.mark.parametrize("name", SBG_CASES)
def test_engine_ltv_customers_who_differ_matches_expected(name, pool):
    # The expected LTV of customers who differ (the tables' exact mixture over θ; with a plan, the mean of
    # the cohorts' LTVs) against the engine's mean over 200 replications.
    assert_engine_ltv(engine_runs(name, pool).kpis["ltv"], expected(variant(name)).kpi["ltv"], name)


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_engine_ltv_matches_closed_form_shipped(name, pool):
    assert_engine_ltv(engine_runs(name, pool).kpis["ltv"], closed_form_ltv(name)[0], name)


# --- 3. funnel delay kernel ------------------------------------------------------------------------------

KERNEL_CASES = [
    pytest.param([], 0.5, id="no delay, shift"),
    pytest.param([3.0, 0.0], 0.18, id="one stage and a zero stage"),
    pytest.param([2.0, 5.0, 10.0], 0.01, id="car dealer stages"),
    pytest.param([40.0], 2.0, id="long single stage"),
    pytest.param([7.0, 7.0], 0.0, id="two equal stages"),
    pytest.param([20.0, 20.0, 20.0], 0.0, id="three equal stages"),
    pytest.param([10.0, 10.1, 10.2, 10.3, 10.4], 1.0, id="close distinct stages"),
    pytest.param([10.0] * 4, 0.0, id="four equal stages"),
    pytest.param([6.0] * 5, 0.0, id="five equal stages"),
]
KERNEL_MONTHS = 36
KERNEL_SAMPLES = 400_000
"""Power (at 99 %): a month's probability that is off by >= (3.45 + 2.33) sqrt(p (1 - p) / 400,000) is
caught: 0.47 percentage points at p = 0.5, 0.28 at p = 0.1, 0.09 at p = 0.01."""


@pytest.mark.parametrize(("means", "shift"), KERNEL_CASES)
def test_delay_kernel_matches_monte_carlo(means, shift):
    kernel = delay_kernel(np.array(means, dtype=float), shift, KERNEL_MONTHS)
    K = kernel.sales
    assert K.shape == (KERNEL_MONTHS,)
    assert K.min() >= -1e-12, f"negative kernel value {K.min()}"
    # Long horizon: the mass past 36 months is negligible for these delays.
    assert abs(K.sum() - 1.0) <= 1e-6, f"kernel sums to {K.sum()!r}"
    # Monte Carlo of the definition: arrival uniform in its month, then the shift and the stages.
    rng = np.random.default_rng(7)
    t = rng.random(KERNEL_SAMPLES) * MONTH_DAYS + shift
    if means:
        t += rng.standard_exponential((KERNEL_SAMPLES, len(means))) @ np.array(means)
    counts = np.bincount((t // MONTH_DAYS).astype(np.int64), minlength=KERNEL_MONTHS + 1)[:KERNEL_MONTHS]
    freq = counts / KERNEL_SAMPLES
    p = np.clip(K, 1.0 / KERNEL_SAMPLES, 1.0)  # a floor: one sample in a month of the far tail is fine
    z = np.abs(freq - K) / np.sqrt(p * (1.0 - p) / KERNEL_SAMPLES)
    z_crit = norm.ppf(1.0 - ALPHA / (2 * KERNEL_MONTHS))
    worst = int(z.argmax())
    assert z[worst] <= z_crit, (
        f"kernel vs Monte Carlo, month {worst}: {K[worst]:.5f} vs {freq[worst]:.5f} (z {z[worst]:.1f})"
    )


def test_delay_kernel_without_delays_is_one_month():
    K = delay_kernel(np.array([0.0, 0.0]), 0.0, 12).sales
    np.testing.assert_allclose(K, np.eye(12)[0], atol=1e-12)


# --- 4. the desk -------------------------------------------------------------------------------------------

DESK_REPLICATIONS = qa.DEFAULT_REPLICATIONS
DESK_SEED = qa.DEFAULT_SEED
"""The benchmark's defaults: the test checks the very figures of the table in docs/queueing.md."""

# Power: the engine's pooled figures over 40 replications have an SE (jackknife) of at most 0.19 of the
# tolerance (median 0.02; relative SE <= 1.9 % wherever the 10 % applies rather than the 0.01 floor), so
# a model error of >= the tolerance + 2.33 SE is caught: at most 1.44 x the tolerance at the noisiest
# point (10 % -> 14 %), 1.05 x at the median one.
DESK_MISSES: dict[tuple[str, float, str], str] = {}
"""Grid points (configuration, load, "lost" or "wait") that miss the goal, with the measured figures;
each would be marked xfail(strict=True). None at present; the closest points that meet it: 8 h without
patience at load 0.9 (wait -8.0 %), 10 h with patience 4 h at 0.3 (+7.2 %), fixed handling with
patience at 0.6 (-7.4 %)."""


def desk_cases():
    for config in qa.CONFIGS:
        for load in qa.LOADS:
            for measure in ("lost", "wait"):
                key = (config.label, load, measure)
                marks = []
                if key in DESK_MISSES:
                    marks = [pytest.mark.xfail(strict=True, reason=DESK_MISSES[key])]
                yield pytest.param(
                    config.label, load, measure, marks=marks, id=f"{config.label}-{load}-{measure}"
                )


@pytest.mark.parametrize(("label", "load", "measure"), list(desk_cases()))
def test_desk_model_within_goal(label, load, measure):
    eng = qa.measure_engine(label, load, DESK_REPLICATIONS, DESK_SEED)
    mod = qa.model(label, load)
    e, m = (
        (eng.lost_share, mod.lost_share) if measure == "lost" else (eng.mean_wait_hours, mod.mean_wait_hours)
    )
    assert qa.within_goal(m, e), (
        f"{label}, load {load}: {measure} model {m:.4f} vs engine {e:.4f} "
        f"({100 * (m / e - 1) if e else math.inf:+.1f} %), goal 10 % or 0.01"
    )


COOLING_MISSES: dict[tuple[str, float], str] = {}
"""Cooling grid points that miss the goal (each would be marked xfail(strict=True)); none at present. The
closest: 10 h with patience 16 h at load 1.2 (−6.6 %), fixed handling at 1.2 and 1.5 (−2.7 %, −2.8 %); the
overloaded desks without patience (factors below 0.05) meet it through the 0.01 absolute allowance."""


def cooling_cases():
    for config in qa.COOLING_CONFIGS:
        for load in qa.LOADS:
            key = (config.label, load)
            marks = (
                [pytest.mark.xfail(strict=True, reason=COOLING_MISSES[key])] if key in COOLING_MISSES else []
            )
            yield pytest.param(config.label, load, marks=marks, id=f"{config.label}-{load}")


# Power: the engine's factor is sales / (0.2 × reached) over 40 replications of 6 months, about 0.5-5 × 10^5
# reached leads a point, so its SE is at most 0.5 % of the factor (0.3 % at most loads); with the 10 %
# tolerance a model error of >= 10 % + 2.33 SE <= 11.2 % of the factor is caught (the 0.01 absolute floor
# where the factor is below 0.1).
@pytest.mark.parametrize(("label", "load"), list(cooling_cases()))
def test_cooling_model_within_goal(label, load):
    eng = qa.measure_cooling(label, load, DESK_REPLICATIONS, DESK_SEED)
    mod = qa.model_cooling(label, load)
    assert qa.within_goal(mod, eng), (
        f"{label}, load {load}: cooling factor model {mod:.4f} vs engine {eng:.4f} "
        f"({100 * (mod / eng - 1):+.1f} %), goal 10 % or 0.01"
    )


def erlang_b(n: int, a: float) -> float:
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(n: int, a: float) -> float:
    b = erlang_b(n, a)
    return n * b / (n - a * (1.0 - b))


@pytest.mark.parametrize(("n", "rho"), [(1, 0.5), (3, 0.8), (10, 0.95), (50, 0.7)])
def test_mmn_without_patience_is_erlang_c(n, rho):
    mu = 24.0
    lam = rho * n * mu
    lost, wait = mmn_d(lam, mu, n, math.inf, 180.0)
    assert lost == 0.0
    want = erlang_c(n, lam / mu) / (n * mu - lam)
    assert wait == pytest.approx(want, rel=1e-9), f"mean wait {wait} vs Erlang C {want}"


@pytest.mark.parametrize(("n", "rho"), [(1, 0.5), (3, 1.2), (10, 0.9)])
def test_mmn_with_tiny_patience_is_erlang_b(n, rho):
    """Patience → 0: a lead that would wait is lost, as in the loss system M/M/n/n."""
    mu = 24.0
    lam = rho * n * mu
    lost, wait = mmn_d(lam, mu, n, 1e-9, 180.0)
    assert lost == pytest.approx(erlang_b(n, lam / mu), rel=1e-6)
    assert wait < 1e-8


def test_desk_performance_round_the_clock_is_mmn_d():
    desk = sim.parse_scenario(
        {
            "name": "d",
            "horizon_months": 1,
            "sales_desk": {"staff": 4, "handling_minutes": 30.0, "patience_hours": 1.0},
            "funnel": [{"name": "s", "conversion": 0.1}],
            "first_purchase": {"revenue": 1.0, "margin": 1.0},
            "retention": {"monthly_churn": 0.1},
        }
    ).sales_desk
    perf = desk_performance(desk, 150.0, 30.0)
    assert (perf.lost_share, perf.mean_wait_days) == mmn_d(150.0, 48.0, 4, 1.0 / 24.0, 30.0)
