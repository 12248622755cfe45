"""The expected band (`sim.expected_band`) against the engine's band over the same draws of `[uncertainty]`,
and the Sobol' drivers (`sim.drivers`) against a variance decomposition computed here.

Both runs use the draws of replications 0 … R − 1 of one seed, so they are paired draw by draw: the
engine's cumulative cash X_r = E_r + ε_r, where E_r is the expected-value model on replication r's drawn
scenario and ε_r the process's randomness within the run. Where the desk has spare capacity the
expected-value model is exact in expectation (tests/validation/test_expected.py), so E[ε_r | draws] = 0:
the paired differences must average 0 at every month, and must not move with any drawn lever. The band's
quantiles then differ from the engine's only by the process noise: the engine's band is wider, by about
z_q (√(σ_E² + σ_ε²) − σ_E) ≈ z_q σ_ε² / (2 σ_E), a small share of σ_ε when the levers' spread σ_E is the
larger part (here σ_E ≈ 5 σ_ε at month 60).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim

ROOT = Path(__file__).resolve().parents[2]
SERVICE = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")
UNSURE = SERVICE.override(
    {
        "horizon_months": 60,
        "uncertainty": {
            "channels.0.cost_per_lead": {"low": 1500.0, "high": 2500.0},
            "funnel.2.conversion": {"low": 0.08, "mode": 0.1, "high": 0.14},
            "retention.monthly_churn": {"low": 0.01, "high": 0.03},
            "referrals.per_customer_per_year": {"low": 0.3, "high": 0.9},
        },
    }
)
"""The dealer with service and referrals, four levers unknown; 4 salespeople take ≤ 1,000 calls a month
at under 20 % utilisation (spare capacity: no lead lost)."""
R = 300
SEED = 2
MONTHS = (12, 36, 60)


@pytest.fixture(scope="module")
def paired() -> tuple[sim.SimulationResult, sim.ExpectedBand]:
    return sim.simulate(UNSURE, replications=R, seed=SEED), sim.expected_band(UNSURE, draws=R, seed=SEED)


def _cash(engine: sim.SimulationResult, band: sim.ExpectedBand) -> tuple[np.ndarray, np.ndarray]:
    x = engine.monthly.pivot(index="replication", columns="month", values="cumulative_cash").to_numpy()
    return x, band.arrays["cumulative_cash"]


@pytest.mark.slow
def test_band_and_engine_agree_in_mean_where_the_desk_has_spare_capacity(paired) -> None:
    """The paired difference engine − band of the cumulative cash averages 0 within 4 standard errors at
    months 12, 36 and 60. Detects a bias of (4 + 2.33) SE: at month 60, SE ≈ 0.35 M RUB, so a bias of
    about 2.2 M RUB, under 8 % of the band's standard deviation (≈ 29 M RUB) across the draws."""
    engine, band = paired
    assert engine.kpis["lost_lead_share"].max() == 0.0 and engine.kpis["desk_utilization"].max() < 0.3
    assert band.draws.equals(engine.draws), "the band must use the engine's draws"
    x, e = _cash(engine, band)
    for m in MONTHS:
        d = x[:, m - 1] - e[:, m - 1]
        se = d.std(ddof=1) / np.sqrt(R)
        assert abs(d.mean()) <= 4 * se, (m, d.mean(), se)
        assert e[:, m - 1].std() > 2 * d.std(), "the levers should be the larger part of the spread here"


@pytest.mark.slow
def test_the_difference_does_not_move_with_any_drawn_lever(paired) -> None:
    """Regress the month-60 difference on the standardised drawn levers: every slope within 4 of its
    standard errors of 0. Detects a lever-dependent bias of (4 + 2.33) SE ≈ 2.2 M RUB per standard
    deviation of the lever (e.g. an expected model that misses the referrals' effect as they grow)."""
    engine, band = paired
    x, e = _cash(engine, band)
    d = x[:, -1] - e[:, -1]
    levers = engine.draws.drop(columns="replication").to_numpy(dtype=float)
    z = (levers - levers.mean(axis=0)) / levers.std(axis=0)
    a = np.column_stack([np.ones(R), z])
    coef, *_ = np.linalg.lstsq(a, d, rcond=None)
    resid = d - a @ coef
    cov = resid @ resid / (R - a.shape[1]) * np.linalg.inv(a.T @ a)
    t = coef / np.sqrt(np.diag(cov))
    assert np.all(np.abs(t) <= 4), dict(
        zip(["intercept", *engine.draws.columns[1:]], t.round(2), strict=True)
    )


@pytest.mark.slow
def test_band_quantiles_are_the_engines_but_for_the_process_noise(paired) -> None:
    """At months 12, 36 and 60 the engine's p10, p50 and p90 differ from the band's by at most the
    widening the process noise brings, |z_q| (√(σ_E² + σ_ε²) − σ_E) (≈ 0.13–0.21 σ_ε here), plus 4
    standard errors of the paired quantile difference (a bootstrap over the replications: ≈ 0.15–0.35
    σ_ε, since a quantile of 300 draws is itself uncertain). Detects a band quantile off by more than the
    widening + 6.33 SE: at month 60 about 1.9 σ_ε ≈ 11 M RUB, 15 % of the p10–p90 width (≈ 74 M RUB).
    Weaker than the paired mean test above, which bounds the whole band's bias to under 3 % of it."""
    from scipy.stats import norm

    engine, band = paired
    x, e = _cash(engine, band)
    rng = np.random.default_rng(0)
    resample = rng.integers(0, R, size=(400, R))
    for m in MONTHS:
        xm, em = x[:, m - 1], e[:, m - 1]
        noise, spread = (xm - em).std(), em.std()
        widening = np.sqrt(spread**2 + noise**2) - spread
        for q in (0.1, 0.5, 0.9):
            gap = np.quantile(xm, q) - np.quantile(em, q)
            boot = np.quantile(xm[resample], q, axis=1) - np.quantile(em[resample], q, axis=1)
            allowed = abs(norm.ppf(q)) * widening + 4 * boot.std()
            assert abs(gap) <= allowed, (m, q, gap / noise, allowed / noise)
    eb, bb = engine.bands(), band.bands()
    assert np.allclose(bb["p10"], np.quantile(e, 0.1, axis=0)) and (eb["month"] == bb["month"]).all()


@pytest.mark.slow
def test_drivers_match_a_variance_decomposition_by_brute_force() -> None:
    """A nonlinear case (the dealer with service: conversion, churn and referrals interact through the
    customers and their referrals): each lever's first-order index from `drivers` (N = 512) against
    Var(E[Y | lever]) / Var(Y) estimated here by brute force: a 16-point Gauss–Legendre grid of the lever's
    uniform with 16 inner draws of the others at each point (their noise, Var(Y | x) / 16, subtracted),
    over Var(Y) from 2,048 independent draws. Agreement within SALib's 95 % bootstrap half-width (≈ 0.04
    –0.1 here, about 2 of its standard errors) plus 0.05 (about 2 standard errors of the brute-force
    estimate: 3 % on Var(Y), a few hundredths on the grid). A misstated index — a wrong inverse CDF, a
    lever mixed up, "never" or the draws mishandled — by more than about 0.15 is detected."""
    sc = SERVICE.override(
        {
            "horizon_months": 60,
            "uncertainty": {
                "funnel.2.conversion": {"low": 0.08, "mode": 0.1, "high": 0.14},
                "retention.monthly_churn": {"low": 0.01, "high": 0.03},
                "referrals.per_customer_per_year": {"low": 0.3, "high": 0.9},
            },
        }
    )
    from sim.analytic.uncertain import DrawnExpected

    levers = [p for p, _ in sc.uncertainty]
    model = DrawnExpected(sc, monthly=False)

    def y(u: dict[str, float]) -> float:
        return model(u)[2]["final_cumulative_cash"]

    rng = np.random.default_rng(12)
    total = np.array([y(dict(zip(levers, row, strict=True))) for row in rng.random((2048, len(levers)))])
    var = total.var(ddof=1)
    nodes, weights = np.polynomial.legendre.leggauss(16)
    nodes, weights = (nodes + 1) / 2, weights / 2  # on [0, 1]
    table = sim.drivers(sc, metric="final_cumulative_cash", samples=512, seed=1).set_index("lever")
    for j, path in enumerate(levers):
        means, within = [], []
        for x in nodes:
            inner = rng.random((16, len(levers)))
            inner[:, j] = x
            vals = np.array([y(dict(zip(levers, row, strict=True))) for row in inner])
            means.append(vals.mean())
            within.append(vals.var(ddof=1))
        means, within = np.array(means), np.array(within)
        mu = weights @ means
        conditional = weights @ (means - mu) ** 2 - (weights @ within) / 16  # less the inner draws' noise
        s1 = conditional / var
        got = table.loc[path]
        assert abs(got["S1"] - s1) <= got["S1_conf"] + 0.05, (path, got["S1"], got["S1_conf"], s1)
    assert table["ST"].iloc[0] > 0.3 and (table["ST"] >= table["S1"] - table["ST_conf"] - 0.05).all()
