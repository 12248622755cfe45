"""Commands on the engine: `run` (Monte Carlo KPIs), `validate` (scenario files), `compare` (paired years)."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import numpy as np
import pandas as pd

from sim.cli.common import (
    EXIT_BAD_INPUT,
    BadInput,
    kpi_text,
    money,
    positive_int,
    progress_bar,
    seed,
    text_table,
)
from sim.model.scenario import Scenario, ScenarioError, load_scenario


def kpi_table(summary: pd.DataFrame, replications: int) -> str:
    """`SimulationResult.summary()` as a text table (one value column for one replication); `ltv_gross`
    (margin only) right after `ltv` (net of the cost to serve)."""
    cols = ["mean"] if replications == 1 else ["mean", "p10", "p50", "p90"]
    rows = [["kpi", *("value" if replications == 1 else c for c in cols)]]
    order = [str(k) for k in summary.index]
    if "ltv_gross" in order and "ltv" in order:
        order.remove("ltv_gross")
        order.insert(order.index("ltv") + 1, "ltv_gross")
    for kpi in order:
        row = summary.loc[kpi]
        if kpi == "p_break_even":
            if replications > 1:
                rows.append([kpi, kpi_text(row["mean"], kpi), "", "", ""])
            continue
        rows.append([kpi, *(kpi_text(row[c], kpi) for c in cols)])
    return text_table(rows, left=1)


CHANNEL_TABLE = ("leads", "sales", "cac", "leads_per_sale", "lost_share", "ltv_to_cac", "payback_months")
"""Columns of the per-channel table of `run` (`SimulationResult.channel_kpis`)."""


def channel_table(channel_kpis: pd.DataFrame) -> str:
    """Per channel (in the run's order), the mean over replications of its horizon's figures: leads and
    sales (one decimal), CAC (money), leads per sale, lost share, LTV/CAC and payback months. As in
    `summary()`, a mean is over the replications where the figure is finite (payback `never` if none)."""
    rows = [["channel", *CHANNEL_TABLE]]
    for channel, group in channel_kpis.groupby("channel", sort=False):
        cells = [str(channel)]
        for col in CHANNEL_TABLE:
            x = group[col].to_numpy(dtype=float)
            finite = x[np.isfinite(x)]
            mean = float(finite.mean()) if finite.size else (float(x[0]) if np.all(np.isinf(x)) else np.nan)
            if col in ("leads", "sales"):
                cells.append(f"{mean:,.1f}".replace(",", " ") if math.isfinite(mean) else "—")
            else:
                cells.append(kpi_text(mean, col))
        rows.append(cells)
    return text_table(rows, left=1)


def _number_text(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.6g}"


def uncertainty_table(scenario: Scenario, draws: pd.DataFrame) -> str:
    """The levers given as ranges: path, distribution, low, mode, high and the mean of the values drawn
    (`SimulationResult.draws`)."""
    rows = [["lever", "distribution", "low", "mode", "high", "drawn mean"]]
    for path, rng in scenario.uncertainty:
        drawn = draws[path].to_numpy(dtype=float) if path in draws else np.zeros(0)
        rows.append(
            [
                path,
                "uniform" if rng.mode is None else "triangular",
                _number_text(float(rng.low)),
                "" if rng.mode is None else _number_text(float(rng.mode)),
                _number_text(float(rng.high)),
                _number_text(float(drawn.mean())) if drawn.size else "—",
            ]
        )
    return text_table(rows, left=2)


def _run(args: argparse.Namespace) -> int:
    from sim.engine.runs import simulate

    scenario = load_scenario(args.scenario)
    if args.by_month is not None and args.by_month > scenario.horizon_months:
        raise BadInput(
            f"--by-month {args.by_month}: past the horizon ({scenario.horizon_months} months) of "
            f"{scenario.name!r}"
        )
    progress = progress_bar(args.replications, scenario.name)
    result = simulate(scenario, replications=args.replications, seed=args.seed, progress=progress)
    print(
        f"{scenario.name}: {args.replications} replication(s), seed {args.seed}, "
        f"{scenario.horizon_months} months, money in {scenario.currency}"
    )
    if scenario.uncertainty:
        print(f"uncertain levers, each drawn once per replication ({len(scenario.uncertainty)}):")
        print(uncertainty_table(scenario, result.draws))
        print()
    print(kpi_table(result.summary(), args.replications))
    if args.by_month is not None:
        p = result.p_break_even_by(args.by_month)
        print(f"P(break-even by month {args.by_month}) = {kpi_text(p, 'p_break_even')}")
    channels = getattr(result, "channel_kpis", None)
    if channels is not None and len(channels) and scenario.referrals is None:  # no referral row to show
        channels = channels[channels["channel"].isin([c.name for c in scenario.channels])]
    if channels is not None and len(channels):
        what = (
            "per channel" if args.replications == 1 else f"per channel, means over {args.replications} runs"
        )
        print(f"\n{what}:")
        print(channel_table(channels))
    if args.out:
        try:
            out = result.save(args.out)
        except OSError as exc:
            raise BadInput(f"cannot write to {args.out}: {exc.strerror or exc}") from None
        names = (
            "monthly.parquet",
            "kpis.parquet",
            "channels.parquet",
            "channel_kpis.parquet",
            "draws.parquet",
            "run.json",
        )
        print("wrote " + ", ".join(str(out / n) for n in names if (out / n).exists()))
    return 0


def _validate(args: argparse.Namespace) -> int:
    bad = 0
    for path in args.files:
        try:
            sc = load_scenario(path)
        except ScenarioError as exc:
            print(f"invalid: {exc}", file=sys.stderr)
            bad += 1
        else:
            print(f"ok: {path} ({sc.name})")
    return EXIT_BAD_INPUT if bad else 0


def _compare(args: argparse.Namespace) -> int:
    from sim.engine.runs import compare

    a, b = load_scenario(args.a), load_scenario(args.b)
    progress = progress_bar(2 * args.replications, "compare")
    done = {"n": 0}

    def step(_d: int, _t: int) -> None:
        done["n"] += 1
        progress(done["n"], 2 * args.replications)

    table = compare(a, b, seed=args.seed, replications=args.replications, progress=step)
    print(
        f"a = {a.name}; b = {b.name}; {args.replications} paired replication(s), seed {args.seed}; "
        f"yearly means in {b.currency}"
    )
    shown = table.copy()
    for col in ("a", "b", "difference"):
        shown[col] = shown[col].map(money)
    print(shown.to_string(index=False))
    return 0


def register(sub: Any) -> None:
    """Add `run`, `validate` and `compare` to the subparsers."""
    run = sub.add_parser("run", help="simulate a scenario and print its KPIs")
    run.add_argument("scenario", help="scenario TOML file")
    run.add_argument("--replications", "-n", type=positive_int, default=1, help="Monte Carlo replications")
    run.add_argument("--seed", type=seed, default=0, help="random seed (same seed, same result)")
    run.add_argument(
        "--by-month",
        type=positive_int,
        metavar="N",
        help="also print the probability of breaking even by month N",
    )
    run.add_argument("--out", help="directory for monthly.parquet, kpis.parquet and run.json")
    run.set_defaults(func=_run)

    val = sub.add_parser("validate", help="check scenario files")
    val.add_argument("files", nargs="+", help="scenario TOML files")
    val.set_defaults(func=_validate)

    cmp_ = sub.add_parser("compare", help="paired yearly comparison of two scenarios (b − a)")
    cmp_.add_argument("a", help="baseline scenario TOML")
    cmp_.add_argument("b", help="what-if scenario TOML")
    cmp_.add_argument("--replications", "-n", type=positive_int, default=20)
    cmp_.add_argument("--seed", type=seed, default=0)
    cmp_.set_defaults(func=_compare)
