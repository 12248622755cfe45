"""The `sweep` command: `funnel-sim sweep SCENARIO --grid PATH=VALUES … [--out DIR]` (`sim.sweep` on Dask)."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.cli.common import BadInput, money, positive_int, seed, text_table
from sim.model.numbers import parse_number
from sim.model.scenario import load_scenario

SUMMARY_ROWS = 50
"""Points shown in the summary table; the rest are counted (all are in the output)."""
_INT = re.compile(r"[+-]?\d+")


def parse_value(text: str) -> Any:
    """One lever value from the command line: a whole number, a number, true/false, or text."""
    t = text.strip()
    if not t:
        raise ValueError("an empty value")
    if _INT.fullmatch(t):
        return int(t)
    try:
        return parse_number(t)
    except ValueError as exc:
        if "finite" in str(exc):
            raise
        return {"true": True, "false": False}.get(t.lower(), t)


def _number(text: str) -> float:
    value = parse_value(text)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{text!r} is not a number")
    return float(value)


def parse_grid(spec: str) -> tuple[str, list[Any]]:
    """`path=v1,v2,…` or `path=a:b:n` (n evenly spaced values from a to b) -> (path, values)."""
    path, sep, rhs = spec.partition("=")
    path = path.strip()
    if not sep or not path or not rhs.strip():
        raise ValueError(f"--grid {spec!r}: expected PATH=V1,V2,… or PATH=A:B:N")
    if ":" in rhs:
        parts = rhs.split(":")
        if len(parts) != 3 or "," in rhs:
            raise ValueError(f"--grid {spec!r}: a range is A:B:N (N evenly spaced values from A to B)")
        try:
            a, b = _number(parts[0]), _number(parts[1])
            n = int(parts[2])
        except ValueError as exc:
            raise ValueError(f"--grid {spec!r}: {exc}") from None
        if n < 1:
            raise ValueError(f"--grid {spec!r}: N = {n} must be >= 1")
        return path, [float(f"{v:.12g}") for v in np.linspace(a, b, n)]
    try:
        return path, [parse_value(v) for v in rhs.split(",")]
    except ValueError as exc:
        raise ValueError(f"--grid {spec!r}: {exc}") from None


def parse_range(spec: str) -> tuple[str, tuple[float, float]]:
    """`path=low:high` -> (path, (low, high))."""
    path, sep, rhs = spec.partition("=")
    path = path.strip()
    parts = rhs.split(":")
    if not sep or not path or len(parts) != 2:
        raise ValueError(f"--sample {spec!r}: expected PATH=LOW:HIGH")
    try:
        return path, (_number(parts[0]), _number(parts[1]))
    except ValueError as exc:
        raise ValueError(f"--sample {spec!r}: {exc}") from None


def register(sub: Any) -> None:
    """Add `sweep` to the subparsers."""
    parser = sub.add_parser("sweep", help="parameter sweep × Monte Carlo replications (on Dask)")
    parser.add_argument("scenario", help="scenario TOML file")
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="PATH=VALUES",
        help="a lever and its values: PATH=V1,V2,… or PATH=A:B:N (N evenly spaced); repeat for a product",
    )
    parser.add_argument(
        "--sample",
        action="append",
        default=[],
        metavar="PATH=LOW:HIGH",
        help="a lever's range for Latin hypercube sampling (with --samples)",
    )
    parser.add_argument("--samples", type=positive_int, help="points drawn by Latin hypercube")
    parser.add_argument("--replications", "-n", type=positive_int, default=1, help="runs per point")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (same seed, same result)")
    parser.add_argument("--out", help="directory for the Parquet dataset (resumes the same sweep)")
    parser.add_argument("--workers", type=positive_int, help="local worker processes (default: cores)")
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument(
        "--monthly", action="store_true", help="also write the monthly tables (to OUT/_monthly)"
    )
    parser.add_argument(
        "--chunk-size", type=positive_int, help="runs per chunk (default: about 1.5 s of work)"
    )
    parser.set_defaults(func=run)


def _fmt_value(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.6g}"
    return str(v)


def summary_lines(kpis: pd.DataFrame, levers: Sequence[str], limit: int = SUMMARY_ROWS) -> list[str]:
    """Per point: lever values, median break-even month (never = not within the horizon),
    probability of breaking even, mean final cumulative cash (in the scenario's currency)."""
    header = ["point", *levers, "median break-even", "p(break even)", "mean final cash"]
    rows = [header]
    groups = list(kpis.groupby("point", sort=True))
    for point, g in groups[:limit]:
        be = g["break_even_month"].to_numpy(dtype=float)
        ranked = np.where(np.isnan(be), np.inf, be)
        median = float(np.quantile(ranked, 0.5, method="inverted_cdf"))
        first = g.iloc[0]
        rows.append(
            [
                str(point),
                *(_fmt_value(first[p]) for p in levers),
                "never" if math.isinf(median) else f"{median:.0f}",
                f"{float(np.mean(~np.isnan(be))):.0%}",
                money(float(g["final_cumulative_cash"].mean())),
            ]
        )
    lines = text_table(rows).split("\n")
    if len(groups) > limit:
        lines.append(f"… and {len(groups) - limit} more points")
    return lines


def run(args: argparse.Namespace) -> int:
    """The `sweep` command: run, print a per-point summary table; returns the exit code."""
    from sim.batch.sweeps import SweepError, sweep

    if args.workers is not None and args.scheduler:
        raise BadInput("give --workers (a local cluster) or --scheduler (an existing one), not both")
    if args.sample and args.samples is None:
        raise BadInput("--sample needs --samples N (how many points to draw)")
    if args.samples is not None and not args.sample:
        raise BadInput("--samples needs at least one --sample PATH=LOW:HIGH")
    try:
        grid = dict(parse_grid(g) for g in args.grid)
        ranges = dict(parse_range(s) for s in args.sample)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    if len(grid) != len(args.grid) or len(ranges) != len(args.sample):
        raise BadInput("a lever is given twice")
    scenario = load_scenario(args.scenario)
    samples = (args.samples, ranges) if ranges else None

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        kpis = sweep(
            scenario,
            grid=grid or None,
            samples=samples,
            replications=args.replications,
            seed=args.seed,
            workers=args.workers,
            scheduler=args.scheduler,
            out=args.out,
            monthly=args.monthly,
            chunk_size=args.chunk_size,
            progress=True,
            log=log,
        )
    except SweepError as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        if args.out is None:
            raise
        raise BadInput(f"cannot write to {args.out}: {exc.strerror or exc}") from None
    if isinstance(kpis, tuple):  # monthly=True: (kpis, monthly)
        kpis = kpis[0]
    levers = [*grid, *ranges]
    points = int(kpis["point"].nunique())
    print(
        f"{scenario.name}: {points} point(s) × {args.replications} replication(s) = {len(kpis)} runs, "
        f"seed {args.seed}, {scenario.horizon_months} months, money in {scenario.currency}"
    )
    drawn = [p for p, _ in scenario.uncertainty if p not in levers]
    if drawn:
        print(f"drawn once per replication ([uncertainty], columns of the output): {', '.join(drawn)}")
    print("\n".join(summary_lines(kpis, levers)))
    if args.out:
        from sim.batch.storage import PART_GLOB

        out = Path(args.out)
        files = len(list(out.glob(PART_GLOB)))
        extra = f", monthly tables in {out / '_monthly'}" if args.monthly else ""
        print(
            f"wrote {out}: {len(kpis)} rows in {files} Parquet part file(s), _manifest.json{extra}; "
            f"pandas.read_parquet({str(out)!r})"
        )
    return 0
