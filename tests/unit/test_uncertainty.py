"""Levers given as ranges (`[uncertainty]`, docs/model.md "What is not known"): the engine's draws (one
uniform per lever and replication from its own stream; the replication runs its drawn scenario, LTV
from that scenario's tables), the drawn values kept and saved, `p_break_even_by`, the expected band
(`sim.expected_band`, paired with the engine's draws) and the Sobol' drivers (`sim.drivers`).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydantic
import pytest

import sim
from sim.accounting import frames
from sim.accounting.ledger import KPI_COLUMNS, MONTHLY_COLUMNS
from sim.analytic.uncertain import DrawnExpected
from sim.decisions.metrics import DecisionError
from sim.engine import streams
from sim.engine.streams import drawn_scenario, stream, uncertainty_uniforms
from sim.model import plan, uncertainty

ROOT = Path(__file__).resolve().parents[2]
SERVICE = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")
DEALER = sim.load_scenario(ROOT / "scenarios" / "car_dealer.toml")
SMALL = SERVICE.override({"channels.0.leads_per_month": 200.0, "horizon_months": 24})
RANGES = {
    "channels.0.cost_per_lead": {"low": 2000.0, "high": 2500.0},
    "funnel.2.conversion": {"low": 0.3, "mode": 0.5, "high": 0.6},
    "retention.monthly_churn": {"low": 0.01, "high": 0.05},
    "sales_desk.staff": {"low": 2, "high": 5},
}
UNSURE = SMALL.override({"uncertainty": RANGES})
PATHS = list(RANGES)


@pytest.fixture(scope="module")
def unsure_run() -> sim.SimulationResult:
    return sim.simulate(UNSURE, replications=4, seed=5)


# --- the engine's draws ------------------------------------------------------------------------------


def test_each_lever_draws_one_uniform_from_its_own_stream(unsure_run: sim.SimulationResult) -> None:
    d = unsure_run.draws
    assert list(d.columns) == ["replication", *PATHS] and d["replication"].tolist() == [0, 1, 2, 3]
    for r in range(4):
        u = {p: stream(5, r, "uncertainty", uncertainty.stream_index(p)).random() for p in PATHS}
        assert uncertainty_uniforms(5, r, PATHS) == u
        want = uncertainty.values(UNSURE, u)
        assert {p: d.loc[r, p] for p in PATHS} == want
    assert d["sales_desk.staff"].dtype == np.int64 and d["sales_desk.staff"].between(2, 5).all()
    for path, rng in RANGES.items():
        assert d[path].between(rng["low"], rng["high"]).all()
    assert d[PATHS].nunique().min() > 1, "every replication drew the same value"


def test_a_replication_is_the_engine_on_its_drawn_scenario(unsure_run: sim.SimulationResult) -> None:
    """Replication r = `simulate(drawn scenario of r, first=r)`: every table, bit for bit; so its KPIs,
    LTV included, come from the drawn scenario's own lifetime tables."""
    for r in range(4):
        drawn, values = drawn_scenario(UNSURE, 5, r)
        assert drawn.uncertainty == () and values == {p: unsure_run.draws.loc[r, p] for p in PATHS}
        assert drawn.channels[0].cost_per_lead == values["channels.0.cost_per_lead"]
        alone = sim.simulate(drawn, replications=1, seed=5, first=r)
        for table in ("monthly", "kpis", "channels", "channel_kpis"):
            got = getattr(unsure_run, table)
            got = got[got["replication"] == r].reset_index(drop=True)
            pd.testing.assert_frame_equal(got, getattr(alone, table), check_exact=True)
    ltv = unsure_run.kpis["ltv"].to_numpy()
    assert np.unique(ltv).size == 4, "the LTV did not follow the drawn churn"


def test_draws_are_paired_across_scenarios_and_levers() -> None:
    """A lever draws the same value whatever the other levers and ranges are (its own stream)."""
    one = SMALL.override({"uncertainty": {"retention.monthly_churn": RANGES["retention.monthly_churn"]}})
    other = UNSURE.override({"channels.0.leads_per_month": 300.0})
    for r in range(3):
        churn = uncertainty_uniforms(5, r, PATHS)["retention.monthly_churn"]
        assert uncertainty_uniforms(5, r, ["retention.monthly_churn"]) == {"retention.monthly_churn": churn}
        assert (
            drawn_scenario(one, 5, r)[1]["retention.monthly_churn"]
            == drawn_scenario(other, 5, r)[1]["retention.monthly_churn"]
        )
    assert uncertainty_uniforms(5, 0, PATHS) != uncertainty_uniforms(6, 0, PATHS)


def test_a_scenario_without_ranges_draws_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No `[uncertainty]`: no draw from the uncertainty streams (the other sources keep their numbers:
    bit-identical results), no drawn values, no draws.parquet."""

    def forbidden(*_a: object, **_k: object) -> object:
        raise AssertionError("drew from the uncertainty streams")

    monkeypatch.setattr(streams, "uncertainty_uniforms", forbidden)
    res = sim.simulate(SMALL, replications=2, seed=1)
    assert list(res.draws.columns) == ["replication"] and res.draws.empty
    res.save(tmp_path / "run")
    assert not (tmp_path / "run" / "draws.parquet").exists()
    assert streams.SOURCES.index("uncertainty") == len(streams.SOURCES) - 1  # the others keep their index
    with pytest.raises(AssertionError, match="drew from the uncertainty streams"):
        sim.simulate(UNSURE, replications=1, seed=1)  # the seam is the one the engine draws through


def test_draws_are_combined_and_saved(unsure_run: sim.SimulationResult, tmp_path: Path) -> None:
    parts = [sim.simulate(UNSURE, replications=2, seed=5, first=f) for f in (2, 0)]
    joined = sim.combine(parts)
    pd.testing.assert_frame_equal(joined.draws, unsure_run.draws, check_exact=True)
    pd.testing.assert_frame_equal(joined.kpis, unsure_run.kpis, check_exact=True)
    out = unsure_run.save(tmp_path / "run")
    pd.testing.assert_frame_equal(pd.read_parquet(out / "draws.parquet"), unsure_run.draws)
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["scenario"]["uncertainty"]["funnel.2.conversion"] == RANGES["funnel.2.conversion"]


def test_drawn_values_follow_their_distributions() -> None:
    """2,000 replications' draws against each range's distribution (Kolmogorov–Smirnov). Detects a
    distribution function off by more than 0.036 + 2.33 × 0.011 ≈ 0.06 anywhere (p < 0.01 at D = 0.036)."""
    from scipy import stats

    n = 2000
    rows = [uncertainty.values(UNSURE, uncertainty_uniforms(11, r, PATHS)) for r in range(n)]
    cpl = np.array([r["channels.0.cost_per_lead"] for r in rows])
    conv = np.array([r["funnel.2.conversion"] for r in rows])
    staff = np.array([r["sales_desk.staff"] for r in rows])
    assert stats.kstest(cpl, stats.uniform(2000, 500).cdf).pvalue > 0.01
    assert stats.kstest(conv, stats.triang((0.5 - 0.3) / 0.3, loc=0.3, scale=0.3).cdf).pvalue > 0.01
    # Whole numbers: the rounded uniform on [2, 5] gives 2 and 5 half the weight of 3 and 4 (1/6, 1/3).
    shares = np.array([np.mean(staff == k) for k in (2, 3, 4, 5)])
    np.testing.assert_allclose(shares, [1 / 6, 1 / 3, 1 / 3, 1 / 6], atol=0.04)  # SE <= 0.011: 3.7 SE


# --- P(break-even by month N) ------------------------------------------------------------------------


def test_p_break_even_by_counts_never_as_not() -> None:
    kpis = pd.DataFrame({"replication": np.arange(5), **{c: np.zeros(5) for c in KPI_COLUMNS}})
    kpis["break_even_month"] = [1.0, 5.0, np.nan, 12.0, 5.0]
    res = sim.SimulationResult(scenario=SMALL, seed=0, replications=5, monthly=pd.DataFrame(), kpis=kpis)
    assert [res.p_break_even_by(m) for m in (0, 1, 4, 5, 11, 12, 24)] == [0, 0.2, 0.2, 0.6, 0.6, 0.8, 0.8]
    assert res.p_break_even_by(24) == res.summary().loc["p_break_even", "mean"]
    for bad in (25, -1, 2.0, True):
        with pytest.raises(ValueError, match="whole number from 0 to the horizon, 24"):
            res.p_break_even_by(bad)  # type: ignore[arg-type]
    assert math.isnan(frames.share_by_month(np.zeros(0), 3, 24))


def test_p_break_even_by_on_a_run(unsure_run: sim.SimulationResult) -> None:
    be = unsure_run.kpis["break_even_month"].to_numpy()
    assert np.isfinite(be).any(), "the scenario should break even in some replications"
    for m in range(25):
        assert unsure_run.p_break_even_by(m) == np.mean(np.nan_to_num(be, nan=99) <= m)


# --- the expected band ---------------------------------------------------------------------------------


def test_the_band_uses_the_engines_draws_and_the_expected_model(unsure_run: sim.SimulationResult) -> None:
    band = sim.expected_band(UNSURE, draws=4, seed=5)
    pd.testing.assert_frame_equal(band.draws, unsure_run.draws, check_exact=True)
    assert band.evaluations == 4 and band.replications == (0, 1, 2, 3)
    for r in range(4):
        want = sim.expected(drawn_scenario(UNSURE, 5, r)[0])
        _assert_draw_close(band, r, want.arrays, want.kpi)
    later = sim.expected_band(UNSURE, draws=2, seed=5, first=2)
    pd.testing.assert_frame_equal(later.kpis, band.kpis.iloc[2:].reset_index(drop=True))
    assert list(later.draws["replication"]) == [2, 3]


def _assert_draw_close(band: sim.ExpectedBand, r: int, arrays: dict, kpi: dict) -> None:
    """Draw r of the band against the expected-value model on its drawn scenario alone: within 1e-12
    relative (of each column's largest magnitude, so a cumulative cash crossing zero is compared at its
    scale), as the band's referral solves over an axis of draws sum in another order (`sim.expected_band`).
    A figure off by more than a few units of rounding (a lost draw, a wrong lever, another month) fails."""
    for col in MONTHLY_COLUMNS:
        want = np.asarray(arrays[col], dtype=float)
        scale = float(np.max(np.abs(want), initial=0.0))
        np.testing.assert_allclose(band.arrays[col][r], want, rtol=0, atol=1e-12 * scale, err_msg=col)
    for k in KPI_COLUMNS:
        assert band.kpi[k][r] == pytest.approx(kpi[k], rel=1e-12, abs=0, nan_ok=True), k


def test_band_tables_match_the_engines_formats() -> None:
    band = sim.expected_band(UNSURE, draws=40, seed=2)
    assert list(band.monthly.columns) == ["replication", "month", *MONTHLY_COLUMNS]
    long = frames.bands_frame(band.monthly, "cumulative_cash", (0.1, 0.5, 0.9))
    pd.testing.assert_frame_equal(band.bands(), long, check_exact=False, rtol=1e-12)
    assert list(band.bands("sales").columns) == ["month", "mean", "p10", "p50", "p90"]
    b = band.bands()
    assert (b["p10"] <= b["p50"]).all() and (b["p50"] <= b["p90"]).all() and (b["p10"] < b["p90"]).any()
    assert list(band.summary().index) == [*KPI_COLUMNS, "p_break_even"]
    be = band.kpi["break_even_month"]
    assert band.p_break_even_by(12) == np.mean(np.nan_to_num(be, nan=99) <= 12)
    with pytest.raises(ValueError, match="no monthly column"):
        band.bands("nonsense")


def test_band_evaluates_each_drawn_scenario_once() -> None:
    staff_only = SMALL.override({"uncertainty": {"sales_desk.staff": {"low": 2, "high": 5}}})
    band = sim.expected_band(staff_only, draws=60, seed=0)
    assert band.evaluations == band.draws["sales_desk.staff"].nunique() == 4
    for staff, group in band.kpis.groupby(band.draws["sales_desk.staff"]):
        want = sim.expected(SMALL.override({"sales_desk.staff": int(staff)})).kpi["final_cumulative_cash"]
        np.testing.assert_allclose(group["final_cumulative_cash"], want, rtol=1e-12, atol=0)
    plain = sim.expected_band(SMALL, draws=5)  # one evaluation: solved alone, bit for bit
    assert plain.evaluations == 1 and plain.draws.empty
    assert (plain.kpi["final_cumulative_cash"] == sim.expected(SMALL).kpi["final_cumulative_cash"]).all()
    with pytest.raises(ValueError, match="draws = 0"):
        sim.expected_band(SMALL, draws=0)


# --- drivers (Sobol' indices) ------------------------------------------------------------------------------


def test_drivers_known_answer_for_an_additive_model() -> None:
    """The dealer without repeat visits or referrals: final cash = S × margin − L × CPL + const (S first
    sales, L paid leads, neither moved by the margin or the CPL), and the churn moves nothing. So
    S1 = ST = S² Var(margin) / (S² Var(margin) + L² Var(CPL)) for the margin, 1 minus that for the CPL,
    and exactly 0 for the churn (its AB rows give the same cash to the last bit). The estimates must be
    within their 95 % bootstrap intervals of the truth and within 0.05 (the bias this can detect)."""
    ranges = {
        "channels.0.cost_per_lead": {"low": 2000.0, "high": 2500.0},
        "first_purchase.margin": {"low": 80_000.0, "high": 120_000.0},
        "retention.monthly_churn": {"low": 0.01, "high": 0.05},
    }
    sc = DEALER.override({"horizon_months": 36, "uncertainty": ranges})
    base = sim.expected(sc.override({"uncertainty": {}})).arrays
    S = float(base["margin_first_sale"].sum() / sc.first_purchase.margin)
    L = float(base["leads_paid"].sum())
    v_margin, v_cpl = S**2 * 40_000.0**2 / 12, L**2 * 500.0**2 / 12
    truth = {
        "first_purchase.margin": v_margin / (v_margin + v_cpl),
        "channels.0.cost_per_lead": v_cpl / (v_margin + v_cpl),
        "retention.monthly_churn": 0.0,
    }
    table = sim.drivers(sc, metric="final_cumulative_cash", samples=512, seed=3)
    assert list(table.columns) == ["lever", "label", "low", "mode", "high", "S1", "S1_conf", "ST", "ST_conf"]
    assert table["ST"].is_monotonic_decreasing
    assert table.attrs["evaluations"] == 512 * 5 and table.attrs["never_share"] == 0.0
    for row in table.to_dict("records"):
        want = truth[row["lever"]]
        for idx in ("S1", "ST"):
            assert abs(row[idx] - want) <= max(row[f"{idx}_conf"], 1e-12), (row["lever"], idx, row[idx], want)
            assert abs(row[idx] - want) < 0.05, (row["lever"], idx)
    churn = table.set_index("lever").loc["retention.monthly_churn"]
    assert churn["S1"] == 0.0 and churn["ST"] == 0.0
    again = sim.drivers(sc, metric="final_cumulative_cash", samples=512, seed=3)
    pd.testing.assert_frame_equal(again, table, check_exact=True)
    zero = [sim.drivers(sc, metric="final_cumulative_cash", samples=16, seed=0) for _ in range(2)]
    pd.testing.assert_frame_equal(zero[0], zero[1], check_exact=True)  # seed 0 fixes the bootstrap too


def test_drivers_count_never_as_one_month_past_the_horizon() -> None:
    sc = SERVICE.override(
        {
            "horizon_months": 48,
            "uncertainty": {
                "channels.0.cost_per_lead": {"low": 1500.0, "high": 2500.0},
                "funnel.2.conversion": {"low": 0.08, "mode": 0.1, "high": 0.14},
                "sales_desk.salary_per_month": {"low": 0.0, "high": 1.0},
            },
        }
    )
    table = sim.drivers(sc, samples=64)
    assert 0 < table.attrs["never_share"] < 1 and table.attrs["metric"] == "break_even_month"
    assert np.isfinite(table[["S1", "ST"]].to_numpy()).all()
    assert table["lever"].iloc[-1] == "sales_desk.salary_per_month"  # 4 × 1 rub a month: no break-even move
    assert table["ST"].iloc[-1] == 0.0
    assert set(table["lever"].iloc[:2]) == {"channels.0.cost_per_lead", "funnel.2.conversion"}
    assert table.attrs["mean"] <= 49  # never counts as 49, not more


def test_drivers_of_a_metric_that_does_not_vary_are_zero() -> None:
    sc = DEALER.override({"uncertainty": {"retention.monthly_churn": {"low": 0.01, "high": 0.05}}})
    table = sim.drivers(sc, metric="break_even_month", samples=16)
    assert math.isnan(sim.expected(DEALER).kpi["break_even_month"])  # never: H + 1 at every sample
    assert table.attrs["std"] == 0.0 and table.attrs["never_share"] == 1.0
    assert (table[["S1", "S1_conf", "ST", "ST_conf"]].to_numpy() == 0).all()


def test_drivers_refuse_what_they_cannot_answer() -> None:
    with pytest.raises(DecisionError, match=r"has no \[uncertainty\]"):
        sim.drivers(SMALL)
    with pytest.raises(DecisionError, match=r"samples = 100: must be a power of two \(e\.g\. 64 or 128\)"):
        sim.drivers(UNSURE, samples=100)
    with pytest.raises(DecisionError, match="metric 'nonsense'"):
        sim.drivers(UNSURE, metric="nonsense")
    with pytest.raises(DecisionError, match="conf_level"):
        sim.drivers(UNSURE, samples=4, conf_level=1.5)


def test_the_band_and_the_drivers_load_no_engine_and_salib_only_when_run() -> None:
    code = (
        "import sys, sim\n"
        "import sim.decisions.drivers, sim.analytic.uncertain\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'SALib', 'simpy', 'numba'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the band's speed with a plan: months built once per distinct value, derived draw to draw ---------------

PLANNED = sim.load_scenario(ROOT / "scenarios" / "car_dealer_plan.toml").override({"horizon_months": 30})
"""The ten-year plan cut to 30 months (plan steps in month 13, trends on both prices, seasonal leads)."""
SEASONAL = SERVICE.override(
    {
        "horizon_months": 30,
        "seasonality": {"channels.0.leads_per_month": [0.8, 0.9, 1, 1.1, 1.2, 1.1, 1, 0.9, 0.9, 1, 1, 1]},
        "plan": [
            {"from_month": 4, "sales_desk.hours_per_day": 10.0},
            {"from_month": 9, "sales_desk.staff": 3},
        ],
    }
)
"""Months that repeat (a season without a trend), steps on the desk's staff and hours."""
PLANNED_RANGES = {
    "retention.monthly_churn": {"low": 0.008, "mode": 0.015, "high": 0.03},
    "referrals.per_customer_per_year": {"low": 0.3, "high": 0.9},
    "funnel.2.conversion": {"low": 0.08, "mode": 0.1, "high": 0.12},
    "repeat.1.adoption": {"low": 0.3, "high": 0.8},
}
"""Levers no plan moves: a draw's months are the first draw's with these values."""
MOVED_RANGES = {
    "channels.0.cost_per_lead": {"low": 2000.0, "high": 2500.0},  # a trend
    "channels.1.lead_quality": {"low": 1.0, "high": 2.0},  # not planned, in a planned channel
    "sales_desk.staff": {"low": 2, "high": 4},  # a step
}
"""Levers the plan moves (or in a section item it moves): those items are built anew for each draw."""


def _reference_months(sc: sim.Scenario) -> list[sim.Scenario]:
    """Month by month as `plan.months` built them before it was made faster: each month a pydantic
    `model_copy` of the scenario without a plan, with every planned lever's value of that month."""
    from sim.model.levers import LISTS, SECTIONS

    flat = sc.model_copy(update={"plan": (), "trends": (), "seasonality": ()})
    if not sc.planned:
        return [flat] * sc.horizon_months
    out = []
    for m in range(sc.horizon_months):
        sections: dict[str, Any] = {}
        for path in plan.planned_paths(sc):
            x = float(plan.values(sc, path)[m])
            section, *rest = path.split(".")
            field = rest[-1]
            value = round(x) if SECTIONS[section].model_fields[field].annotation is int else x
            if section in LISTS:
                items = sections.setdefault(section, list(getattr(flat, section)))
                i = int(rest[0])
                items[i] = items[i].model_copy(update={field: value})
            else:
                node = sections.get(section, getattr(flat, section))
                sections[section] = node.model_copy(update={field: value})
        out.append(flat.model_copy(update={k: tuple(v) if k in LISTS else v for k, v in sections.items()}))
    return out


def _assert_same_months(got: tuple[sim.Scenario, ...], want: list[sim.Scenario]) -> None:
    """The same values and types month by month (and the same fields set); a month object shared only by
    months with the same values, and shared by consecutive months with the same values."""
    assert len(got) == len(want)
    for m, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w and g.model_dump() == w.model_dump(), f"month {m + 1}"
        assert g.__pydantic_fields_set__ == w.__pydantic_fields_set__
        for name in type(w).model_fields:
            a, b = getattr(g, name), getattr(w, name)
            for x, y in zip(*((a, b) if isinstance(a, tuple) else ((a,), (b,))), strict=True):
                assert type(x) is type(y), (m, name)
                if isinstance(y, pydantic.BaseModel):
                    assert x.__pydantic_fields_set__ == y.__pydantic_fields_set__, (m, name)
                    assert [type(v) for v in x.__dict__.values()] == [type(v) for v in y.__dict__.values()]
        if m and w == want[m - 1]:
            assert g is got[m - 1], f"months {m} and {m + 1} hold the same values: one object"
    for i in range(len(got)):
        for j in range(i):
            if got[i] is got[j]:
                assert want[i] == want[j]


@pytest.mark.parametrize("name", ["planned", "seasonal", "service"])
def test_months_hold_the_values_the_copies_of_each_month_held(name: str) -> None:
    sc = {"planned": PLANNED, "seasonal": SEASONAL, "service": SERVICE}[name]
    months = plan.months(sc)
    _assert_same_months(months, _reference_months(sc))
    assert plan.months(sc) is months
    if name == "seasonal":  # a repeating season: months 13 and 25 hold the same values, one object
        assert months[12] is not months[0] and months[24] is months[12] and months[20] is months[8]
        assert len({id(m.sales_desk) for m in months}) == 3  # one desk object per staff and hours
    for figure in (lambda s: s.effective_churn, lambda s: s.referral_rate_per_year):
        want = np.array([figure(s) for s in months], dtype=float)
        np.testing.assert_array_equal(plan.series(sc, figure), want)


def test_staff_open_days_sums_each_months_desk() -> None:
    for sc in (SEASONAL, PLANNED, SERVICE):
        want = 0.0
        for m, s in enumerate(plan.months(sc)):
            a, b = m * 365.25 / 12, (m + 1) * 365.25 / 12
            want += s.sales_desk.staff * (s.sales_desk.open_days(b) - s.sales_desk.open_days(a))
        assert plan.staff_open_days(sc) == want


@pytest.mark.parametrize(
    "ranges", [PLANNED_RANGES, {**PLANNED_RANGES, **MOVED_RANGES}], ids=["fixed", "moved"]
)
@pytest.mark.parametrize("base", ["planned", "seasonal"])
def test_a_draws_months_derived_from_the_first_draws_are_the_months(ranges: dict, base: str) -> None:
    sc = {"planned": PLANNED, "seasonal": SEASONAL}[base]
    ranges = {p: r for p, r in ranges.items() if not (base == "seasonal" and p.startswith("channels.1"))}
    unsure = sc.override({"uncertainty": ranges})
    levers = list(ranges)
    first = drawn_scenario(unsure, 4, 0)[0]
    for r in range(1, 6):
        drawn = drawn_scenario(unsure, 4, r)[0]
        assert plan.derive_months(drawn, first)
        assert not plan.derive_months(drawn, first)  # already built
        _assert_same_months(plan.months(drawn), _reference_months(drawn_scenario(unsure, 4, r)[0]))
        assert plan.staff_open_days(drawn) == plan._staff_open_days(drawn)  # taken from `first`'s or not
        values = uncertainty.values(unsure, uncertainty_uniforms(4, r, levers))
        assert plan.months(drawn)[-1].retention.monthly_churn != first.retention.monthly_churn or (
            "retention.monthly_churn" in plan.planned_paths(sc)
        )
        assert plan.months(drawn)[0].funnel[2].conversion == values["funnel.2.conversion"]


def test_months_are_derived_only_where_that_is_exact() -> None:
    unsure = PLANNED.override({"uncertainty": PLANNED_RANGES})
    first = drawn_scenario(unsure, 0, 0)[0]

    def fresh(changes: dict[str, Any]) -> sim.Scenario:
        return drawn_scenario(unsure, 0, 1)[0].override(changes)

    for changes in (
        {"horizon_months": 24},  # another horizon
        {"start": "2027-02"},  # another season
        {"trends": {}},  # other levers planned
        {"plan": [], "trends": {}, "seasonality": {}},  # no plan
    ):
        assert not plan.derive_months(fresh(changes), first), changes
    assert not plan.derive_months(first, first)
    other = fresh({"trends": {"channels.0.cost_per_lead": 0.004, "channels.1.cost_per_lead": 0.003}})
    assert plan.derive_months(other, first)  # the same levers planned, other values: rebuilt, exact
    _assert_same_months(plan.months(other), _reference_months(other))


def test_the_band_with_a_plan_is_the_expected_model_on_each_drawn_scenario() -> None:
    """Draw by draw: the band (months derived from the first draw's) against `sim.expected` on the drawn
    scenario built on its own (months built in full): within 1e-12 (the solves over draws), and bit for
    bit through `DrawnExpected` one draw at a time."""
    unsure = PLANNED.override({"uncertainty": {**PLANNED_RANGES, **MOVED_RANGES}})
    band = sim.expected_band(unsure, draws=5, seed=8)
    assert band.evaluations == 5
    one_by_one = DrawnExpected(unsure)
    for r in range(5):
        want = sim.expected(drawn_scenario(unsure, 8, r)[0])
        _assert_draw_close(band, r, want.arrays, want.kpi)
        _, arrays, kpi = one_by_one(uncertainty_uniforms(8, r, one_by_one.levers))
        for col in MONTHLY_COLUMNS:
            np.testing.assert_array_equal(arrays[col], want.arrays[col], err_msg=col)
        for k in KPI_COLUMNS:
            assert kpi[k] == want.kpi[k] or (math.isnan(kpi[k]) and math.isnan(want.kpi[k]))


# --- the band's speed: what is remembered from draw to draw changes no figure ---------------------------


def _fluid_day_three_days(lam: float, capacity: float, f_open: float, tau: float) -> tuple[np.ndarray, ...]:
    """The fluid day as `sim.analytic.queueing` computed it before it was made faster: the head followed
    over three whole days, the constant arrays built on every call."""
    slope_open = 1.0 - capacity / lam
    closed = 1.0 - f_open
    lag = 0.0
    for _ in range(100_000):
        after_open = min(max(lag + slope_open * f_open, 0.0), tau)
        nxt = min(after_open + closed, tau)
        if abs(nxt - lag) < 1e-12:
            break
        lag = nxt
    steps = 1440
    x = (np.arange(3 * steps) + 1) / steps
    phase = x % 1.0
    after_open = min(max(lag + slope_open * f_open, 0.0), tau)
    L = np.where(
        phase < f_open,
        np.clip(lag + slope_open * phase, 0.0, tau),
        np.minimum(after_open + (phase - f_open), tau),
    )
    heads = np.maximum.accumulate(x - L)
    arrivals = (np.arange(steps) + 0.5) / steps
    idx = np.minimum(np.searchsorted(heads, arrivals, side="left"), heads.size - 1)
    prev_h = np.where(idx > 0, heads[idx - 1], 0.0)
    prev_t = np.where(idx > 0, x[idx - 1], 0.0)
    span = np.maximum(heads[idx] - prev_h, 1e-15)
    served_at = prev_t + (x[idx] - prev_t) * np.clip((arrivals - prev_h) / span, 0.0, 1.0)
    wait = np.maximum(served_at - arrivals, 0.0)
    lost = wait >= tau - 1e-9 if math.isfinite(tau) else np.zeros(steps, dtype=bool)
    idle_open = (arrivals < f_open) & (wait <= 1.0 / steps)
    return wait, lost, idle_open


def test_the_fluid_day_followed_only_as_far_as_needed_is_the_three_days() -> None:
    """Bit for bit, over loads from a tenth to three times a day's capacity (the queue cleared early, late
    or never; backlogs past a day, which need the three days), patience from minutes to none, open hours
    from 1 to 23."""
    from sim.analytic.queueing import _fluid_day

    rng = np.random.default_rng(11)
    cases = [
        (33.0, 100.0, 0.5, 1.0),
        (90.0, 100.0, 0.5, 1.0),
        (250.0, 100.0, 0.5, 1.0),
        (99.8, 100.0, 0.5, math.inf),
    ]
    for _ in range(400):
        f = float(rng.choice([rng.uniform(1 / 24, 23 / 24), 0.5, 10 / 24]))
        capacity = float(rng.uniform(5.0, 400.0))
        lam = capacity * f * float(rng.uniform(0.1, 3.0))
        tau = float(rng.choice([math.inf, rng.uniform(0.01, 3.0), 1.0, 0.75]))
        if math.isinf(tau):  # without patience the desk model keeps the fluid below a day's capacity
            lam = min(lam, 0.999 * capacity * f)
        cases.append((lam, capacity, f, tau))
    for case in cases:
        for got, want in zip(_fluid_day(*case), _fluid_day_three_days(*case), strict=True):
            assert got.tobytes() == want.tobytes(), case


def test_churn_paths_are_the_running_products_row_by_row() -> None:
    from sim.analytic.expected_value import _churn_paths, _lags

    rng = np.random.default_rng(12)
    for t in range(300):
        H = int(rng.integers(1, 150))
        churn = np.full(H, rng.uniform(0.0, 0.1)) if t % 3 else rng.uniform(0.0, 0.1, H)
        for _ in range(t % 4):  # steps: the rows after the last one are one sequence
            churn[int(rng.integers(0, H)) :] = rng.choice([rng.uniform(0.0, 0.1), 0.0, 1.0])
        if t % 50 == 0:
            churn[int(rng.integers(0, H))] = math.nan
        after = _lags(H)[1]
        want = np.cumprod(np.where(after, 1.0 - churn[None, :], 1.0), axis=1)
        assert _churn_paths(churn).tobytes() == want.tobytes(), (t, H)


BRANCHES = {
    "no plan": UNSURE,
    "plan": PLANNED.override({"uncertainty": {**PLANNED_RANGES, **MOVED_RANGES}}),
    "kernels, cohorts, customers differ": PLANNED.override(
        {
            "plan": [
                {
                    "from_month": 13,
                    "funnel.0.delay_days": 9.0,
                    "sales_desk.handling_minutes": 40.0,
                    "repeat.0.adoption": 0.5,
                    "problems.visit_problem_probability": 0.05,
                }
            ],
            "problems": {
                "visit_problem_probability": 0.02,
                "resolution_days": 2.0,
                "leave_probability_base": 0.3,
            },
            "retention": {"model": "sbg", "alpha": 2.0, "beta": 60.0, "monthly_churn": 0.015},
            "uncertainty": PLANNED_RANGES,
        }
    ),
}
"""Every path the speed-ups touch: unplanned cohorts; a plan with the desk's staff drawn; several delay
kernels, cohort levers planned, problems by the visit's month and customers who differ."""


def test_what_the_band_remembers_changes_no_figure() -> None:
    """The band's model one draw at a time (`DrawnExpected`: desk figures, kernels and customer tables
    remembered from draw to draw, after bands have filled the same caches with the same draws of
    scenarios that differ in one input each: a problem rate the same every month, the programme's contact
    cost) against each drawn scenario evaluated in a fresh interpreter, the draws in reverse order: bit
    for bit. Forgetting either input in what is remembered fails this test (the first band that differs
    from "plan" in that input alone fills the cache; the problems' band differs in more than the contact
    cost). The band itself, its solves over an axis of draws, within 1e-12 of the same."""
    problems = {"visit_problem_probability": 0.02, "resolution_days": 2.0, "leave_probability_base": 0.3}
    for changes in ({"problems": problems}, {"service_programme.cost_per_contact": 90.0}):
        sim.expected_band(BRANCHES["plan"].override(changes), draws=4, seed=8)
    bands = {name: sim.expected_band(sc, draws=4, seed=8) for name, sc in BRANCHES.items()}
    models = {name: DrawnExpected(sc) for name, sc in BRANCHES.items()}
    one_by_one = {
        (name, r): model(uncertainty_uniforms(8, r, model.levers))[1:]
        for name, model in models.items()
        for r in range(4)
    }
    code = (
        "import pickle, sys\n"
        "import sim\n"
        "from sim.engine.streams import drawn_scenario\n"
        "out = {}\n"
        "for name, sc in pickle.loads(sys.stdin.buffer.read()).items():\n"
        "    for r in reversed(range(4)):\n"
        "        e = sim.expected(drawn_scenario(sc, 8, r)[0])\n"
        "        out[name, r] = (e.arrays, e.kpi)\n"
        "sys.stdout.buffer.write(pickle.dumps(out))\n"
    )
    import pickle

    done = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(BRANCHES), capture_output=True, check=True
    )
    fresh = pickle.loads(done.stdout)
    for (name, r), (arrays, kpi) in fresh.items():
        got_arrays, got_kpi = one_by_one[name, r]
        for col in MONTHLY_COLUMNS:
            assert (
                np.asarray(got_arrays[col], dtype=float).tobytes()
                == np.asarray(arrays[col], dtype=float).tobytes()
            ), (
                name,
                r,
                col,
            )
        for k in KPI_COLUMNS:
            assert np.float64(got_kpi[k]).tobytes() == np.float64(kpi[k]).tobytes(), (name, r, k)
        _assert_draw_close(bands[name], r, arrays, kpi)


# --- round 3: the drawn scenario without the full validation, the solves over an axis of draws ----------


def _assert_same_scenario(got: sim.Scenario, want: sim.Scenario, where: Any = "") -> None:
    """Equal, field by field with the same types (a float stays a float, a count an int), every field set
    at the top as `Scenario.override` leaves it."""
    assert got == want and got.model_dump() == want.model_dump(), where
    assert got.__pydantic_fields_set__ == want.__pydantic_fields_set__, where
    for name in type(want).model_fields:
        a, b = getattr(got, name), getattr(want, name)
        for x, y in zip(*((a, b) if isinstance(a, tuple) else ((a,), (b,))), strict=True):
            assert type(x) is type(y), (where, name)
            if isinstance(y, pydantic.BaseModel):
                assert [type(v) for v in x.__dict__.values()] == [type(v) for v in y.__dict__.values()], where


@pytest.mark.parametrize(
    "base", ["small", "planned", "plan with staff and price uncertain", "margins", "seasonal repeat"]
)
def test_a_drawn_scenario_is_the_override_of_its_drawn_values(base: str) -> None:
    """`uncertainty.drawn` (only the sections holding a drawn lever validated anew) against
    `Scenario.override` of the drawn values (the whole scenario dumped and validated), 40 draws each: the
    same scenario. A planned lever drawn (its steps move with it) and a margin or revenue drawn while the
    plan moves the other take `override`'s route; so does an invalid draw, raising `override`'s error."""
    margins = {
        "first_purchase.margin": {"low": 10_000.0, "high": 40_000.0},
        "repeat.0.revenue": {"low": 13_000.0, "high": 20_000.0},
        "retention.monthly_churn": {"low": 0.01, "high": 0.05},
    }
    unsure = {
        "small": UNSURE,
        "planned": PLANNED.override({"uncertainty": PLANNED_RANGES}),
        "plan with staff and price uncertain": PLANNED.override(
            {"uncertainty": {**PLANNED_RANGES, **MOVED_RANGES}}
        ),
        "margins": SERVICE.override({"uncertainty": margins}),
        "seasonal repeat": SEASONAL.override({"uncertainty": PLANNED_RANGES}),
    }[base]
    levers = [p for p, _ in unsure.uncertainty]
    cheap = 0
    for r in range(40):
        u = uncertainty_uniforms(3, r, levers)
        values = uncertainty.values(unsure, u)
        fast = uncertainty._cheap(unsure, dict(values))
        want = unsure.override({**values, "uncertainty": {}})
        _assert_same_scenario(uncertainty.drawn(unsure, u), want, r)
        if fast is not None:
            cheap += 1
            _assert_same_scenario(fast, want, r)
    routed = base == "plan with staff and price uncertain" or (base == "margins" and SERVICE.planned)
    assert cheap == (0 if routed else 40)
    bad = SERVICE.override({"uncertainty": {"first_purchase.margin": {"low": 10_000.0, "high": 1e9}}})
    with pytest.raises(sim.ScenarioError, match="must not exceed revenue"):
        uncertainty.drawn(bad, {"first_purchase.margin": 0.99})


def test_solves_over_an_axis_of_draws_agree_with_each_draw_alone() -> None:
    """`expected_arrays_many` (the referral solves of all draws at once, one kind of kernel and cohorts
    at a time) against `expected_arrays` of each drawn scenario: within 1e-12 of each column's scale,
    and not by chance equal to a neighbour (draws differ by far more than that); a scenario alone of its
    kind is solved alone, bit for bit."""
    from sim.analytic.expected_value import expected_arrays, expected_arrays_many

    drawn = [drawn_scenario(sc, 8, r)[0] for sc in BRANCHES.values() for r in range(4)]
    drawn.append(SMALL.override({"horizon_months": 25}))  # alone of its kind (horizon)
    many = expected_arrays_many(drawn)
    for i, sc in enumerate(drawn):
        arrays, kpi, _ = expected_arrays(sc, desk=False)
        got_arrays, got_kpi = many[i]
        for col in MONTHLY_COLUMNS:
            scale = float(np.max(np.abs(arrays[col]), initial=0.0))
            np.testing.assert_allclose(got_arrays[col], arrays[col], rtol=0, atol=1e-12 * scale, err_msg=col)
        for k in KPI_COLUMNS:
            assert got_kpi[k] == pytest.approx(kpi[k], rel=1e-12, abs=0, nan_ok=True), (i, k)
        if i and i % 4:
            assert not np.allclose(got_arrays["sales"], many[i - 1][0]["sales"], rtol=1e-9, atol=0)
    alone = expected_arrays(drawn[-1], desk=False)
    for col in MONTHLY_COLUMNS:
        assert many[-1][0][col].tobytes() == np.asarray(alone[0][col], dtype=float).tobytes(), col
