"""Fitting a scenario to a CRM export (sim.calibration.fit) and the synthetic exports that test it
(sim.calibration.records): the estimators against closed forms and published fits, the fitted scenario and
its commented TOML, the report, odd rows, the holdout table."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special

import sim
from sim.calibration.crm import CrmError, read_export
from sim.calibration.fit import fit, fit_lifetimes, lifetimes, negative_log_likelihood
from sim.calibration.records import generate_records, write_records
from sim.model.calendar import MONTH_DAYS
from sim.model.scenario import loads_scenario

SMALL = """
name = "Small"
horizon_months = 12
start = "2026-03"

[[channels]]
name = "Calls"
leads_per_month = 300.0
cost_per_lead = 1200.0

[[channels]]
name = "Site"
leads_per_month = 100.0
cost_per_lead = 800.0
lead_quality = 2.0

[[funnel]]
name = "Call -> sale"
conversion = 0.05
delay_days = 6.0

[first_purchase]
revenue = 40000.0
margin = 8000.0

[retention]
monthly_churn = 0.05

[[repeat]]
name = "service"
interval_months = 2
revenue = 3000.0
margin = 1200.0
adoption = 0.8

[referrals]
per_customer_per_year = 1.0
conversion_multiplier = 3.0
"""


@pytest.fixture(scope="module")
def small():
    return loads_scenario(SMALL)


@pytest.fixture(scope="module")
def records(small):
    return generate_records(small, seed=3)


@pytest.fixture(scope="module")
def fitted(records):
    return fit(records.leads, records.visits, records.spend)


# --- the retention likelihood ----------------------------------------------------------------------------

# Fader & Hardie (2007), "How to project customer retention", Table 1 and the fits on years 1-7.
FADER_HARDIE = {
    "regular": ([1000, 631, 468, 382, 326, 289, 262, 241], 0.704, 1.182, -1680.3),
    "high end": ([1000, 869, 743, 653, 593, 551, 517, 491], 0.668, 3.806, -1611.2),
}


def _cohort(alive: list[int]):
    """A cohort bought in month 0, seen to month 7, visiting every month while it stays (one stream,
    interval 1): a customer lost between t - 1 and t passed t - 1 checks."""
    passed = []
    for t in range(1, len(alive)):
        passed += [t - 1] * (alive[t - 1] - alive[t])
    passed += [len(alive) - 1] * alive[-1]
    passed = np.array(passed)
    last = np.where(passed >= 1, passed, -1)[:, None]
    return passed, lifetimes(np.zeros(len(passed), dtype=int), last, np.array([1]), len(alive) - 1)


@pytest.mark.parametrize("name", sorted(FADER_HARDIE))
def test_sbg_likelihood_reproduces_fader_hardie(name: str) -> None:
    alive, alpha, beta, log_lik = FADER_HARDIE[name]
    _, data = _cohort(alive)
    everyone = 30.0  # logit of an adoption of 1 - 1e-13: every customer visits while it stays

    def nll(y: np.ndarray) -> float:
        return negative_log_likelihood(np.array([y[0], y[1], everyone]), "sbg", data)

    res = optimize.minimize(nll, [0.0, 1.0], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-10})
    assert math.exp(res.x[0]) == pytest.approx(alpha, abs=6e-4)
    assert math.exp(res.x[1]) == pytest.approx(beta, abs=6e-4)
    assert -res.fun == pytest.approx(log_lik, abs=0.05)


def test_constant_churn_is_the_geometric_closed_form() -> None:
    passed, data = _cohort(FADER_HARDIE["regular"][0])
    left = passed < 7
    closed = left.sum() / (left.sum() + passed.sum())  # departures / checks faced

    def nll(y: float) -> float:
        return negative_log_likelihood(np.array([y, 30.0]), "constant", data)

    res = optimize.minimize_scalar(nll, bounds=(-8, 2), method="bounded", options={"xatol": 1e-10})
    assert special.expit(res.x) == pytest.approx(closed, rel=1e-6)


def _simulated(n: int, seed: int, churn: tuple, adoption: list[float], intervals: list[int]):
    """Customers drawn straight from docs/model.md's rules (bought in months 0 … 35, seen to month 35)."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 36, n)
    if churn[0] == "constant":
        passed = rng.geometric(churn[1], n) - 1
    else:
        theta = rng.beta(churn[1], churn[2], n)
        passed = rng.geometric(theta) - 1
    seen = np.minimum(passed, 35 - first)
    iv = np.array(intervals)
    adopted = rng.random((n, len(iv))) < np.array(adoption)
    last = np.where(adopted & (seen[:, None] >= iv), seen[:, None] // iv * iv, -1)
    return lifetimes(first, last, iv, 35), iv


@pytest.mark.parametrize(
    ("churn", "mean"), [(("constant", 0.04), 0.04), (("sbg", 0.8, 10.0), 0.8 / 10.8)], ids=["constant", "sbg"]
)
def test_churn_and_adoption_recovered_and_the_model_chosen(churn: tuple, mean: float) -> None:
    # 8,000 customers: the 95 % CIs are about ±0.004 on churn and ±0.015 on adoption; a bias of 1.5 CI
    # half-widths fails the coverage check with probability > 50 %, and the AIC gap is tens of points.
    data, iv = _simulated(8000, seed=11, churn=churn, adoption=[0.7, 0.4], intervals=[3, 6])
    fit_ = fit_lifetimes(data, iv)
    assert fit_.chosen.model == churn[0], (fit_.constant.aic, fit_.sbg.aic)
    _, low, high = fit_.churn
    assert low <= mean <= high, fit_.churn
    for (a, lo, hi), truth in zip(fit_.adoption, [0.7, 0.4], strict=True):
        assert lo <= truth <= hi, (a, lo, hi)
    if churn[0] == "sbg":
        (_, alo, ahi), (_, blo, bhi) = fit_.shapes
        assert alo <= 0.8 <= ahi and blo <= 10.0 <= bhi


def test_an_adoption_at_one_gets_a_profile_limit() -> None:
    data, iv = _simulated(3000, seed=2, churn=("constant", 0.05), adoption=[1.0], intervals=[1])
    fit_ = fit_lifetimes(data, iv)
    a, lo, hi = fit_.adoption[0]
    assert a == 1.0 and hi == 1.0 and 0.95 < lo < 0.9999, fit_.adoption


# --- the fit of an export --------------------------------------------------------------------------------


def test_counts_and_money_are_exact(fitted, records) -> None:
    rep = fitted.report.set_index("parameter")
    leads = records.leads
    for i, name in enumerate(["Calls", "Site"]):
        n = int((leads["channel"] == name).sum())
        assert rep.loc[f"channels.{i}.leads_per_month", "value"] == pytest.approx(n / 12)
        assert rep.loc[f"channels.{i}.leads_per_month", "n"] == n
        spend = records.spend.loc[records.spend["channel"] == name, "spend"].sum()
        assert rep.loc[f"channels.{i}.cost_per_lead", "value"] == pytest.approx(spend / n)
    buys = records.visits[records.visits["kind"] == "purchase"]
    assert rep.loc["first_purchase.margin", "value"] == pytest.approx(buys["margin"].mean())
    assert rep.loc["repeat.0.interval_months", "value"] == 2.0
    sc = fitted.scenario
    assert sc.start == "2026-03" and [c.name for c in sc.channels] == ["Calls", "Site"]
    assert sc.channels[1].lead_quality == 1.0 and sc.channels[0].lead_quality < 1.0  # Site converts better
    assert sc.repeat[0].name == "service" and sc.referrals is not None
    assert sc.sales_desk is None and len(sc.funnel) == 1


def test_conversion_is_kaplan_meier_with_open_leads_censored(fitted, records) -> None:
    leads = records.leads[records.leads["channel"] == "Calls"]
    sold = leads["sold_at"].notna().to_numpy()
    end = leads["sold_at"].where(sold, records.export_date)
    days = ((end - leads["created_at"]).dt.total_seconds() / 86400).to_numpy()
    horizon = ((records.leads["sold_at"] - records.leads["created_at"]).dt.total_seconds() / 86400).max()
    # The product-limit estimate, written out: S = Π (1 - sales at t / leads still open at t).
    survival = 1.0
    for t in np.unique(days[sold]):
        if t <= horizon:
            survival *= 1 - np.sum(sold & (days == t)) / np.sum(days >= t)
    rep = fitted.report.set_index("parameter")
    assert rep.loc["conversion: Calls", "value"] == pytest.approx(1 - survival, rel=1e-9)
    naive = sold.mean()
    assert rep.loc["conversion: Calls", "value"] > naive  # the leads still open may buy


def test_toml_has_each_fitted_value_with_its_ci_and_loads_back_equal(fitted) -> None:
    text = fitted.toml()
    assert loads_scenario(text) == fitted.scenario
    lines = {line.split(" = ")[0]: line for line in text.splitlines() if " = " in line}
    for key in ("leads_per_month", "cost_per_lead", "conversion", "delay_days", "monthly_churn", "adoption"):
        assert "# 95 % CI" in lines[key] and "n = " in lines[key], lines[key]
    data = tomllib.loads(text)
    for path, rng in data["uncertainty"].items():
        assert rng["low"] < rng["high"] and rng["low"] <= rng["mode"] <= rng["high"], path
    rep = fitted.report.set_index("parameter")
    assert data["uncertainty"]["funnel.0.conversion"]["low"] == pytest.approx(
        rep.loc["funnel.0.conversion", "ci_low"], rel=1e-5
    )
    assert list(fitted.report.columns) == ["parameter", "value", "ci_low", "ci_high", "n", "method"]


def test_odd_rows_are_reported(records) -> None:
    leads = pd.concat([records.leads, records.leads.iloc[[5, 9]]], ignore_index=True)
    result = fit(leads, records.visits, records.spend)
    assert len(result.odd_rows) == 2
    rows = result.report[result.report["parameter"].str.startswith("odd rows")]
    assert rows["n"].tolist() == [2] and "exact duplicate" in rows["parameter"].iloc[0]


def test_existing_customers_are_those_who_bought_before_the_first_month(small) -> None:
    sc = small.override({"existing_customers.count": 150})
    rec = generate_records(sc, seed=5)
    result = fit(rec.leads, rec.visits, rec.spend)
    assert result.scenario.existing_customers.count == 150  # all active at the end of their month 0


def test_no_repeat_visits_leaves_churn_as_a_marked_placeholder(records) -> None:
    visits = records.visits[records.visits["kind"] == "purchase"]
    result = fit(records.leads, visits, records.spend)
    assert result.scenario.repeat == () and result.scenario.retention.monthly_churn == 0.02
    assert "NOT FITTED (no repeat visits)" in result.toml()


def test_holdout_predicts_the_last_months(records) -> None:
    result = fit(records.leads, records.visits, records.spend, holdout_months=3, replications=20, seed=1)
    table = result.holdout
    assert len(table) == 5 * 3 and set(table["metric"]) == {
        "leads",
        "sales",
        "repeat_visits",
        "active_customers",
        "margin",
    }
    assert table["month"].unique().tolist() == ["2026-12", "2027-01", "2027-02"]
    assert (table["within"] == ((table["p10"] <= table["actual"]) & (table["actual"] <= table["p90"]))).all()
    leads = table[table["metric"] == "leads"]
    assert leads["actual"].tolist() == [
        float((records.leads["created_at"].dt.to_period("M").astype(str) == m).sum()) for m in leads["month"]
    ]
    assert result.holdout_fit.export_date == pd.Timestamp("2026-12-01")
    assert result.holdout_scenario.start == "2026-12" and result.holdout_scenario.horizon_months == 3
    assert result.holdout_scenario.existing_customers.count > 0
    assert set(result.holdout_errors["metric"]) == set(table["metric"])
    with pytest.raises(CrmError, match="holdout_months"):
        fit(records.leads, records.visits, records.spend, holdout_months=12)


# --- synthetic exports -----------------------------------------------------------------------------------


def test_records_are_reproducible_and_follow_the_model(small, records) -> None:
    again = generate_records(small, seed=3)
    pd.testing.assert_frame_equal(again.leads, records.leads)
    pd.testing.assert_frame_equal(again.visits, records.visits)
    assert not generate_records(small, seed=4).leads.equals(records.leads)
    assert records.export_date == pd.Timestamp("2027-03-01")
    leads = records.leads
    assert (leads["created_at"] < records.export_date).all()
    assert (leads["contacted_at"] == leads["created_at"]).all()  # no desk: contacted on arrival
    assert leads["sold_at"].notna().sum() == (records.visits["kind"] == "purchase").sum()
    visits = records.visits
    first = visits[visits["kind"] == "purchase"].set_index("customer_id")["date"]
    assert (visits["date"] >= visits["customer_id"].map(first)).all()
    ages = visits[visits["kind"] == "service"]
    months = ages["date"].dt.to_period("M") - ages["customer_id"].map(first).dt.to_period("M")
    assert (months.map(lambda d: d.n) % 2 == 0).all()  # every interval_months (2) after the purchase
    spend = records.spend.set_index(["month", "channel"])["spend"]
    counts = (
        leads.assign(month=leads["created_at"].dt.to_period("M").astype(str))
        .groupby(["month", "channel"])
        .size()
    )
    assert spend.loc[("2026-05", "Calls")] == counts.loc[("2026-05", "Calls")] * 1200.0


def test_records_with_a_desk_have_waits_and_lost_leads(small) -> None:
    sc = small.override({"sales_desk": None}).model_copy()
    data = sc.to_dict()
    data["sales_desk"] = {"staff": 1, "handling_minutes": 90.0, "hours_per_day": 10.0, "patience_hours": 20.0}
    busy = loads_scenario(__import__("tomli_w").dumps(data))
    rec = generate_records(busy, seed=1, months=2)
    reached = rec.leads["contacted_at"].notna()
    assert 0.05 < 1 - reached.mean() < 0.95  # one salesperson, 400 leads a month: many lost
    hours = rec.leads.loc[reached, "contacted_at"] - rec.leads.loc[reached, "created_at"]
    assert hours.max() <= pd.Timedelta(hours=20.5)  # patience (a second of rounding, months stretched)
    # Contacts start in working hours, the first 10 h of each model day. The export maps each model month
    # onto its calendar month proportionally (sim.calibration.records), so the clock hours differ from day
    # to day: map the dates back to model days (dates are floored to the second: 1e-4 days covers it).
    late = rec.leads.loc[reached, "contacted_at"]
    into = (late - late.dt.to_period("M").dt.start_time).dt.total_seconds() / (late.dt.days_in_month * 86400)
    months = (late.dt.year - 2026) * 12 + late.dt.month - 3  # 0-based model months from 2026-03
    model_day = (months + into) * MONTH_DAYS
    assert ((model_day + 1e-4) % 1.0 * 24.0 < 10.01).all()


def test_russian_excel_files_fit_like_english_ones(small, tmp_path: Path) -> None:
    en = write_records(small, 7, tmp_path / "en", months=6)
    ru = write_records(
        small.override({"channels.0.name_ru": "Звонки"}), 7, tmp_path / "ru", months=6, dialect="ru"
    )
    assert b";" in ru["leads"].read_bytes()[:80] and "Звонки".encode("cp1251") in ru["leads"].read_bytes()
    a = read_export(en["leads"], en["visits"], en["spend"])
    b = read_export(ru["leads"], ru["visits"], ru["spend"])
    assert b.leads["channel"].iloc[:200].isin(["Звонки", "Site", "referrals"]).all()
    pd.testing.assert_series_equal(a.visits["margin"], b.visits["margin"])
    pd.testing.assert_series_equal(a.leads["sold"], b.leads["sold"])


def test_sbg_agrees_with_the_cohort_fit() -> None:
    from sim.calibration.sbg import fit_sbg

    for alive, *_ in FADER_HARDIE.values():
        _, data = _cohort(alive)

        def nll(y: np.ndarray, data=data) -> float:
            return negative_log_likelihood(np.array([y[0], y[1], 30.0]), "sbg", data)

        res = optimize.minimize(
            nll, [0.0, 1.0], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-10}
        )
        cohort = fit_sbg(alive)
        assert math.exp(res.x[0]) == pytest.approx(cohort.alpha, rel=1e-4)
        assert math.exp(res.x[1]) == pytest.approx(cohort.beta, rel=1e-4)
        assert -res.fun == pytest.approx(cohort.log_likelihood, abs=1e-6)


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "crm"


def test_the_shipped_example_is_what_its_readme_command_writes(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    paths = write_records(
        root / "scenarios" / "car_dealer_plan.toml", 2026, tmp_path, months=36, dialect="ru"
    )
    for name, path in paths.items():
        assert path.read_bytes() == (EXAMPLE / f"{name}.csv").read_bytes(), (
            f"examples/crm/{name}.csv is stale"
        )
    total = sum((EXAMPLE / f"{n}.csv").stat().st_size for n in ("leads", "visits", "spend"))
    assert total < 5_000_000


def test_the_shipped_example_fits() -> None:
    result = fit(EXAMPLE / "leads.csv", EXAMPLE / "visits.csv", EXAMPLE / "spend.csv")
    sc = result.scenario
    assert [c.name for c in sc.channels] == ["Классифайды", "Сайт дилера"]
    assert [r.name for r in sc.repeat] == ["Плановое ТО", "Ремонт и запчасти"]
    assert sc.start == "2027-01" and result.odd_rows.empty
    rows = result.report.set_index("parameter")
    # The plan's truth over the 36 months: 567 leads a month per channel, adoption 1 and 0.6, 0.6 referrals.
    for key, truth in (
        ("channels.0.leads_per_month", 566.7),
        ("channels.1.leads_per_month", 566.7),
        ("repeat.1.adoption", 0.6),
        ("referrals.per_customer_per_year", 0.6),
    ):
        assert rows.loc[key, "ci_low"] <= truth <= rows.loc[key, "ci_high"], (key, rows.loc[key])
    # The example's seed gives a fit an owner can open as it is: churn the same for everyone (the plan's
    # falling churn may also be read as customers who differ, with alpha <= 1 and, without a discount
    # rate, an infinite LTV: a property of some seeds, see docs/model.md "LTV").
    assert sc.retention.model == "constant"
    assert math.isfinite(sim.expected(sc).kpi["ltv"])
