"""Command line: `python -m sim run | validate | compare`.

Bad input (a missing or invalid scenario file, a bad option) prints one line on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import pandas as pd

from sim import sweep_cli
from sim.cli_args import positive_int, seed
from sim.decisions import METRICS, GoalSeekError, goal_seek, programme_value, sensitivity
from sim.results import compare, simulate
from sim.scenario import ScenarioError, load_scenario

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


class BadInput(Exception):
    """A user error to report in one line with exit code 2."""


def _progress_bar(total: int, label: str):
    """A tqdm progress bar on stderr that appears only if the run takes more than a moment."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="run", file=sys.stderr, delay=0.5, leave=False, disable=None)

    def update(done: int, _total: int) -> None:
        bar.update(done - bar.n)
        if done >= _total:
            bar.close()

    return update


def _fmt(value: float, kpi: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "never" if kpi in ("break_even_month", "payback_months") else "—"
    if math.isinf(value):
        return "∞"
    if kpi in ("lost_lead_share", "desk_utilization", "p_break_even"):
        return f"{value:.1%}"
    if kpi in ("ltv_to_cac", "leads_per_sale", "mean_wait_hours", "break_even_month", "payback_months"):
        return f"{value:,.1f}"
    return f"{value:,.0f}".replace(",", " ")


def _kpi_table(summary: pd.DataFrame, replications: int) -> str:
    cols = ["mean"] if replications == 1 else ["mean", "p10", "p50", "p90"]
    rows = [["kpi", *("value" if replications == 1 else c for c in cols)]]
    for kpi, row in summary.iterrows():
        if kpi == "p_break_even":
            if replications > 1:
                rows.append([str(kpi), _fmt(row["mean"], str(kpi)), "", "", ""])
            continue
        rows.append([str(kpi), *(_fmt(row[c], str(kpi)) for c in cols)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cmd_run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    progress = _progress_bar(args.replications, scenario.name)
    result = simulate(scenario, replications=args.replications, seed=args.seed, progress=progress)
    print(
        f"{scenario.name}: {args.replications} replication(s), seed {args.seed}, "
        f"{scenario.horizon_months} months, money in {scenario.currency}"
    )
    print(_kpi_table(result.summary(), args.replications))
    if args.out:
        try:
            out = result.save(args.out)
        except OSError as exc:
            raise BadInput(f"cannot write to {args.out}: {exc.strerror or exc}") from None
        print(f"wrote {out / 'monthly.parquet'}, {out / 'kpis.parquet'}, {out / 'run.json'}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
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


def _cmd_compare(args: argparse.Namespace) -> int:
    a, b = load_scenario(args.a), load_scenario(args.b)
    progress = _progress_bar(2 * args.replications, "compare")
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
        shown[col] = shown[col].map(lambda v: f"{v:,.0f}".replace(",", " "))
    print(shown.to_string(index=False))
    return 0


def _money(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    table = sensitivity(scenario, change=args.change, metric=args.metric)
    print(f"{scenario.name}: {args.metric} with each lever moved ±{args.change:.0%} (expected values)")
    shown = table[
        ["label", "value", "low", "high", "metric_low", "metric_base", "metric_high", "swing", "note"]
    ]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:,.4g}", na_rep="never"))
    if args.chart:
        from sim.charts import tornado_chart

        path = Path(args.chart)
        if path.suffix.lower() not in (".html", ".png", ".svg", ".json"):
            raise BadInput(f"--chart {args.chart}: the file must end in .html, .png, .svg or .json")
        try:
            tornado_chart(table, args.metric, title=f"{scenario.name}: {args.metric}").save(str(path))
        except OSError as exc:
            raise BadInput(f"cannot write {args.chart}: {exc.strerror or exc}") from None
        print(f"wrote {path}")
    return 0


def _cmd_goal_seek(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    try:
        result = goal_seek(scenario, args.lever, args.metric, args.target, low=args.low, high=args.high)
    except GoalSeekError as exc:
        raise BadInput(str(exc)) from None
    print(f"{scenario.name}: {result}")
    return 0


def _cmd_programme(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    pv = programme_value(scenario)
    print(f"{scenario.name}: service programme, expected values, money in {scenario.currency} a year")
    print(pv.verdict(scenario.currency))
    yearly = pv.yearly.copy()
    for col in ("extra_margin", "cost", "net"):
        yearly[col] = yearly[col].map(_money)
    print(yearly.to_string(index=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m sim", description="Lead-funnel unit economics simulator.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="simulate a scenario and print its KPIs")
    run.add_argument("scenario", help="scenario TOML file")
    run.add_argument("--replications", "-n", type=positive_int, default=1, help="Monte Carlo replications")
    run.add_argument("--seed", type=seed, default=0, help="random seed (same seed, same result)")
    run.add_argument("--out", help="directory for monthly.parquet, kpis.parquet and run.json")
    run.set_defaults(func=_cmd_run)

    val = sub.add_parser("validate", help="check scenario files")
    val.add_argument("files", nargs="+", help="scenario TOML files")
    val.set_defaults(func=_cmd_validate)

    cmp_ = sub.add_parser("compare", help="paired yearly comparison of two scenarios (b − a)")
    cmp_.add_argument("a", help="baseline scenario TOML")
    cmp_.add_argument("b", help="what-if scenario TOML")
    cmp_.add_argument("--replications", "-n", type=positive_int, default=20)
    cmp_.add_argument("--seed", type=seed, default=0)
    cmp_.set_defaults(func=_cmd_compare)

    sen = sub.add_parser("sensitivity", help="which lever moves the metric most (a tornado)")
    sen.add_argument("scenario", help="scenario TOML file")
    sen.add_argument("--metric", choices=list(METRICS), default="break_even_month")
    sen.add_argument(
        "--change", type=_fraction, default=0.2, help="relative change of each lever (0.2 = ±20 %%)"
    )
    sen.add_argument("--chart", help="save the tornado chart (.html, .png, .svg or .json)")
    sen.set_defaults(func=_cmd_sensitivity)

    gs = sub.add_parser("goal-seek", help="the lever value at which a metric reaches a target")
    gs.add_argument("scenario", help="scenario TOML file")
    gs.add_argument("--lever", required=True, help="dotted path, e.g. channels.0.cost_per_lead")
    gs.add_argument("--metric", required=True, choices=list(METRICS))
    gs.add_argument("--target", required=True, type=_number)
    gs.add_argument("--low", type=_number, help="lower end of the search range")
    gs.add_argument("--high", type=_number, help="upper end of the search range")
    gs.set_defaults(func=_cmd_goal_seek)

    pr = sub.add_parser("programme", help="is the service programme worth its cost?")
    pr.add_argument("scenario", help="scenario TOML file")
    pr.set_defaults(func=_cmd_programme)

    sweep_cli.add_parser(sub)
    return parser


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _fraction(text: str) -> float:
    value = _number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{value:g} must be between 0 and 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ScenarioError, BadInput, GoalSeekError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `python -m sim run … | head`
        sys.stderr.close()
        return 0
