"""What should I find out first? Sobol' indices of a metric over the levers given as ranges (`[uncertainty]`).

Each uncertain lever is a uniform number u on [0, 1] mapped through the inverse of its distribution
function (`sim.model.uncertainty.quantile`, the engine's draw; whole-number levers rounded), so the
levers are independent with the distributions the scenario gives them. Saltelli's sampling
(`SALib.sample.sobol`, a scrambled Sobol' sequence) puts N (D + 2) points in the unit cube of the D
levers; the expected-value model is evaluated at each (`sim.analytic.uncertain.DrawnExpected`), and
`SALib.analyze.sobol` gives for each lever:

- the first-order index S1: the share of the metric's variance that knowing this lever alone would
  remove (its main effect);
- the total index ST: the share of the variance in which the lever plays any part (with the others);
  ST − S1 is its part in interactions. A lever with ST ≈ 0 does not matter within its range: finding
  it out is not worth the effort. Rank by ST.

Both are estimates with a bootstrap confidence interval (± `*_conf` at `conf_level`); with few samples
they may fall slightly below 0 or above 1. A break-even (or payback) month "never" counts as one month
past the horizon (horizon + 1), as in `sensitivity`: a lever that decides whether the plan breaks even
at all thus counts, but "never" is not worse than that by any amount.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.accounting.ledger import NEVER_KPIS
from sim.analytic.uncertain import DrawnExpected
from sim.decisions.metrics import DecisionError, as_scenario, check_metric
from sim.model.levers import all_levers
from sim.model.numbers import whole_number
from sim.model.scenario import Scenario

DEFAULT_SAMPLES = 256
"""Base samples N of `drivers` unless told otherwise: N (D + 2) evaluations for D uncertain levers."""
RESAMPLES = 100
"""Bootstrap resamples of the confidence intervals."""

COLUMNS = ("lever", "label", "low", "mode", "high", "S1", "S1_conf", "ST", "ST_conf")
"""Columns of the table `drivers` returns."""


def _metric_values(kpis: list[dict[str, float]], metric: str, horizon: int) -> np.ndarray:
    y = np.array([k[metric] for k in kpis], dtype=float)
    if metric in NEVER_KPIS:
        y = np.where(np.isnan(y), float(horizon + 1), y)  # "never": one month past the horizon
    return y


def drivers(
    scenario: Scenario | str | Path,
    metric: str = "break_even_month",
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Sobol' first-order (S1) and total (ST) indices of `metric` over the scenario's uncertain levers,
    with the expected-value model: which unknown lever moves the metric most, to find out first.

    `samples` is Saltelli's N (a power of two): the model is evaluated N (D + 2) times for D levers
    (a few milliseconds each). `seed` fixes the scrambling of the Sobol' sequence and the bootstrap.
    Returns one row per uncertain lever — lever (path), label, low, mode (NaN: uniform), high, S1,
    S1_conf, ST, ST_conf (the confidence intervals' half-widths) — sorted by ST, largest first. `attrs`
    holds metric, samples, evaluations, distinct (drawn scenarios evaluated), mean, std (of the metric
    over the samples) and never_share (break-even or payback: share of samples that never get there,
    counted as horizon + 1). A metric that does not vary over the ranges gives 0 for every index.
    """
    sc = as_scenario(scenario)
    try:
        check_metric(metric)
    except ValueError as exc:
        raise DecisionError(str(exc)) from None
    n = whole_number("samples", samples, 2, DecisionError)
    if n & (n - 1):
        raise DecisionError(
            f"samples = {n}: must be a power of two (e.g. {1 << (n.bit_length() - 1)} or "
            f"{1 << n.bit_length()}): Sobol' points are balanced only then"
        )
    seed = whole_number("seed", seed, 0, DecisionError)
    if not 0 < conf_level < 1:
        raise DecisionError(f"conf_level = {conf_level!r}: must be between 0 and 1")
    if not sc.uncertainty:
        raise DecisionError(
            f"{sc.name!r} has no [uncertainty]: give the levers nobody knows for sure as ranges first"
        )
    from SALib.analyze import sobol as analyze  # SALib (the `analysis` extra) only when asked for
    from SALib.sample import sobol as sample

    model = DrawnExpected(sc, monthly=False)  # the KPIs only: N (D + 2) evaluations
    levers = model.levers
    problem = {"num_vars": len(levers), "names": list(levers), "bounds": [[0.0, 1.0]] * len(levers)}
    cube = sample.sample(problem, n, calc_second_order=False, seed=seed)
    kpis = [model(dict(zip(levers, row.tolist(), strict=True)))[2] for row in cube]
    y = _metric_values(kpis, metric, sc.horizon_months)
    if not np.all(np.isfinite(y)):
        bad = int(np.count_nonzero(~np.isfinite(y)))
        raise DecisionError(
            f"{metric} is undefined or infinite at {bad} of {y.size} sampled points "
            "(e.g. no sales, or no cost): narrow the ranges or choose another metric"
        )
    D = len(levers)
    if np.ptp(y) == 0.0:  # every lever leaves the metric where it is: none is worth finding out
        s1 = s1c = st = stc = np.zeros(D)
    else:
        # SALib takes a seed of 0 for none (the global generator): a seed of its own, never 0.
        boot = int(np.random.SeedSequence([seed, 0xB007]).generate_state(1)[0]) or 1
        res = analyze.analyze(
            problem, y, calc_second_order=False, num_resamples=RESAMPLES, conf_level=conf_level, seed=boot
        )
        s1, s1c, st, stc = (np.asarray(res[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf"))
    by_path = {lv.path: lv for lv in all_levers(sc)}
    rows = []
    for j, (path, rng) in enumerate(sc.uncertainty):
        lever = by_path.get(path)
        rows.append(
            {
                "lever": path,
                "label": lever.label if lever is not None else path,
                "low": float(rng.low),
                "mode": float(rng.mode) if rng.mode is not None else math.nan,
                "high": float(rng.high),
                "S1": float(s1[j]),
                "S1_conf": float(s1c[j]),
                "ST": float(st[j]),
                "ST_conf": float(stc[j]),
            }
        )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table = table.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)
    raw = np.array([k[metric] for k in kpis], dtype=float)
    table.attrs.update(
        {
            "metric": metric,
            "samples": n,
            "evaluations": len(cube),
            "distinct": model.evaluations,
            "mean": float(y.mean()),
            "std": float(y.std()),
            "never_share": float(np.mean(np.isnan(raw))) if metric in NEVER_KPIS else 0.0,
            "conf_level": conf_level,
        }
    )
    return table
