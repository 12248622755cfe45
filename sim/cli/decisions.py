"""Commands on the expected-value model (`best` and `budget` also on the engine): `sensitivity` (a tornado),
`goal-seek`, `best` (a lever's best value), `budget` (where the next lead budget goes), `programme`."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.cli.common import (
    BadInput,
    change_text,
    fraction,
    kpi_text,
    money,
    number,
    positive_int,
    seed,
    text_table,
)
from sim.decisions.metrics import METRICS, GoalSeekError
from sim.model.scenario import load_scenario

MODELS = ("expected", "simulate")
"""`--model` of `best` and `budget`: the expected-value model or the engine (`sim.decisions.evaluate`)."""
CURVE_ROWS = 41
"""Most rows of the curve `best` prints (evenly spread, with the best and the current value)."""

CHART_SUFFIXES = (".html", ".png", ".svg", ".json")
"""File types `sensitivity --chart` writes (Altair's savers)."""


def _sensitivity(args: argparse.Namespace) -> int:
    from sim.decisions.sensitivity import sensitivity

    chart = Path(args.chart) if args.chart else None
    if chart is not None and chart.suffix.lower() not in CHART_SUFFIXES:
        raise BadInput(f"--chart {args.chart}: the file must end in {', '.join(CHART_SUFFIXES)}")
    scenario = load_scenario(args.scenario)
    table = sensitivity(scenario, change=args.change, metric=args.metric)
    print(f"{scenario.name}: {args.metric} with each lever moved ±{args.change:.0%} (expected values)")
    shown = table[
        ["label", "value", "low", "high", "metric_low", "metric_base", "metric_high", "swing", "note"]
    ]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:,.4g}", na_rep="never"))
    if chart is not None:
        from sim.report.charts import tornado_chart

        try:
            tornado_chart(table, args.metric, title=f"{scenario.name}: {args.metric}").save(str(chart))
        except OSError as exc:
            raise BadInput(f"cannot write {args.chart}: {exc.strerror or exc}") from None
        print(f"wrote {chart}")
    return 0


def _goal_seek(args: argparse.Namespace) -> int:
    from sim.decisions.goal_seek import goal_seek

    scenario = load_scenario(args.scenario)
    try:
        result = goal_seek(scenario, args.lever, args.metric, args.target, low=args.low, high=args.high)
    except GoalSeekError as exc:
        raise BadInput(str(exc)) from None
    print(f"{scenario.name}: {result}")
    return 0


def _lever_text(value: float, integer: bool) -> str:
    if math.isnan(value):
        return "—"
    return f"{value:.0f}" if integer else f"{value:.6g}"


def shown_curve(curve: pd.DataFrame, keep: tuple[float, ...], limit: int = CURVE_ROWS) -> pd.DataFrame:
    """At most `limit` rows of a curve, evenly spread over it, always with the rows of the values in
    `keep` (the best and the current value)."""
    if len(curve) <= limit:
        return curve
    picked = set(np.unique(np.round(np.linspace(0, len(curve) - 1, limit)).astype(int)).tolist())
    picked.update(int(i) for i in np.flatnonzero(curve["value"].isin(keep)))
    return curve.iloc[sorted(picked)]


def _best(args: argparse.Namespace) -> int:
    from sim.decisions.best import best
    from sim.model.levers import all_levers

    scenario = load_scenario(args.scenario)
    result = best(
        scenario,
        args.lever,
        args.metric,
        low=args.low,
        high=args.high,
        points=args.points,
        model=args.model,
        replications=args.replications,
        seed=args.seed,
    )
    lever = next(lv for lv in all_levers(scenario) if lv.path == args.lever)
    print(
        f"{scenario.name}: {args.metric} against {lever.label} ({args.lever}, {lever.unit}), "
        f"{result.model}, money in {scenario.currency}"
    )
    rows = [[args.lever, args.metric, "vs now", ""]]
    for x, m in shown_curve(result.curve, (float(result.value), result.base_value)).itertuples(index=False):
        mark = " ".join(w for w, on in (("◀ best", x == result.value), ("now", x == result.base_value)) if on)
        rows.append(
            [
                _lever_text(x, lever.integer),
                kpi_text(m, args.metric),
                change_text(m - result.base_metric, args.metric),
                mark,
            ]
        )
    print(text_table(rows, left=1))
    word = "highest" if result.direction == "maximise" else "lowest"
    now = (
        f"now {_lever_text(result.base_value, lever.integer)}: {kpi_text(result.base_metric, args.metric)}"
        if not math.isnan(result.base_value)
        else f"as given: {kpi_text(result.base_metric, args.metric)}"
    )
    print(
        f"best: {args.lever} = {_lever_text(float(result.value), lever.integer)} gives the {word} "
        f"{args.metric}, {kpi_text(result.metric_value, args.metric)} ({now})"
    )
    if result.at_edge:
        print("the best value is at an end of the range searched: widen it (--low/--high) to look further")
    if result.skipped:
        print(f"{len(result.skipped)} value(s) give an invalid scenario and were skipped")
    return 0


def _budget(args: argparse.Namespace) -> int:
    from sim.decisions.budget import next_budget

    scenario = load_scenario(args.scenario)
    if not (math.isfinite(args.amount) and args.amount > 0):
        raise BadInput(f"--amount {args.amount:g}: must be a positive amount a month")
    res = next_budget(
        scenario,
        args.amount,
        metric=args.metric,
        model=args.model,
        replications=args.replications,
        seed=args.seed,
    )
    print(
        f"{scenario.name}: {money(res.amount)} {scenario.currency} a month more for one paid channel at a "
        f"time, for {res.horizon_months} months ({res.model})"
    )
    print(
        f"now: final cumulative cash {money(res.base_final_cash)}, break-even month "
        f"{kpi_text(res.base_break_even, 'break_even_month')}"
    )
    extra = res.metric not in ("final_cumulative_cash", "break_even_month")
    header = [
        "channel",
        "CPL",
        "extra leads/month",
        "extra spend",
        "final cash",
        "change",
        "break-even",
        "change",
    ]
    header += ["return"] + ([res.metric, "change"] if extra else [])
    rows = [header]
    for r in res.table.to_dict("records"):
        cells = [
            str(r["name"]),
            money(r["cost_per_lead"]),
            f"{r['extra_leads_per_month']:,.1f}".replace(",", " "),
            money(r["extra_spend"]),
            money(r["final_cumulative_cash"]),
            change_text(r["cash_change"], "final_cumulative_cash"),
            kpi_text(r["break_even_month"], "break_even_month"),
            change_text(r["break_even_change"], "break_even_month"),
            "—" if math.isnan(r["return_on_spend"]) else f"{r['return_on_spend']:.2f}",
        ]
        if extra:
            cells += [kpi_text(r[res.metric], res.metric), change_text(r[f"{res.metric}_change"], res.metric)]
        rows.append(cells)
    print(text_table(rows, left=1))
    print(res.verdict(scenario.currency))
    return 0


def _programme(args: argparse.Namespace) -> int:
    from sim.decisions.programme import programme_value

    scenario = load_scenario(args.scenario)
    pv = programme_value(scenario)
    print(f"{scenario.name}: service programme, expected values, money in {scenario.currency} a year")
    print(pv.verdict(scenario.currency))
    yearly = pv.yearly.copy()
    for col in ("extra_margin", "cost", "net"):
        yearly[col] = yearly[col].map(money)
    print(yearly.to_string(index=False))
    return 0


def _index_text(value: float, conf: float) -> str:
    return "—" if math.isnan(value) else f"{value:.2f} ± {conf:.2f}"


def _drivers(args: argparse.Namespace) -> int:
    from sim.decisions.drivers import drivers

    scenario = load_scenario(args.scenario)
    table = drivers(scenario, metric=args.metric, samples=args.samples, seed=args.seed)
    a = table.attrs
    print(
        f"{scenario.name}: what to find out first for {args.metric}: Sobol' indices over "
        f"{len(table)} uncertain lever(s), {a['samples']} samples ({a['evaluations']} evaluations of the "
        f"expected-value model), seed {args.seed}"
    )
    rows = [["lever", "label", "range", "first-order S1", "total ST"]]
    for r in table.to_dict("records"):
        low, high = f"{r['low']:.6g}", f"{r['high']:.6g}"
        rng = f"{low} … {high}" if math.isnan(r["mode"]) else f"{low} … {r['mode']:.6g} … {high}"
        rows.append(
            [
                r["lever"],
                r["label"],
                rng,
                _index_text(r["S1"], r["S1_conf"]),
                _index_text(r["ST"], r["ST_conf"]),
            ]
        )
    print(text_table(rows, left=3))
    print(
        f"{args.metric}: mean {kpi_text(a['mean'], args.metric)}, standard deviation "
        f"{kpi_text(a['std'], args.metric)} over the samples; ± is the {a['conf_level']:.0%} interval"
    )
    if a["never_share"] > 0:
        what = args.metric.replace("_", " ")
        print(
            f"{a['never_share']:.0%} of the samples reach no {what} within the horizon "
            f"(counted as month {scenario.horizon_months + 1})"
        )
    if a["std"] == 0:
        print(f"{args.metric} is the same over all the ranges: no lever is worth finding out for it")
    else:
        print("find out first the lever with the largest total index; one near 0 does not matter here")
    return 0


def register(sub: Any) -> None:
    """Add `sensitivity`, `goal-seek`, `best`, `budget`, `programme` and `drivers` to the subparsers."""
    sen = sub.add_parser("sensitivity", help="which lever moves the metric most (a tornado)")
    sen.add_argument("scenario", help="scenario TOML file")
    sen.add_argument("--metric", choices=list(METRICS), default="break_even_month")
    sen.add_argument(
        "--change", type=fraction, default=0.2, help="relative change of each lever (0.2 = ±20 %%)"
    )
    sen.add_argument("--chart", help="save the tornado chart (.html, .png, .svg or .json)")
    sen.set_defaults(func=_sensitivity)

    gs = sub.add_parser("goal-seek", help="the lever value at which a metric reaches a target")
    gs.add_argument("scenario", help="scenario TOML file")
    gs.add_argument("--lever", required=True, help="dotted path, e.g. channels.0.cost_per_lead")
    gs.add_argument("--metric", required=True, choices=list(METRICS))
    gs.add_argument("--target", required=True, type=number)
    gs.add_argument("--low", type=number, help="lower end of the search range")
    gs.add_argument("--high", type=number, help="upper end of the search range")
    gs.set_defaults(func=_goal_seek)

    be = sub.add_parser(
        "best", help="the value of a lever that gives the best metric (e.g. how many salespeople)"
    )
    be.add_argument("scenario", help="scenario TOML file")
    be.add_argument("--lever", required=True, help="dotted path, e.g. sales_desk.staff")
    be.add_argument("--metric", required=True, choices=list(METRICS))
    be.add_argument("--low", type=number, help="lower end of the range (default: the lever's lowest value)")
    be.add_argument(
        "--high", type=number, help="upper end of the range (default: about 3 × the current value)"
    )
    be.add_argument("--points", type=positive_int, help="grid points for a lever that takes any number")
    _model_options(be)
    be.set_defaults(func=_best)

    bu = sub.add_parser("budget", help="which paid channel gives most for the next lead budget")
    bu.add_argument("scenario", help="scenario TOML file")
    bu.add_argument(
        "--amount",
        type=number,
        default=100_000.0,
        help="extra lead budget a month, in the scenario's currency",
    )
    bu.add_argument(
        "--metric", choices=list(METRICS), default="final_cumulative_cash", help="rank the channels by"
    )
    _model_options(bu)
    bu.set_defaults(func=_budget)

    pr = sub.add_parser("programme", help="is the service programme worth its cost?")
    pr.add_argument("scenario", help="scenario TOML file")
    pr.set_defaults(func=_programme)

    dr = sub.add_parser(
        "drivers", help="which uncertain lever to find out first (Sobol' indices over [uncertainty])"
    )
    dr.add_argument("scenario", help="scenario TOML file with an [uncertainty] table")
    dr.add_argument("--metric", choices=list(METRICS), default="break_even_month")
    dr.add_argument(
        "--samples",
        type=positive_int,
        default=256,
        help="Saltelli's N, a power of two: N × (levers + 2) evaluations (default 256)",
    )
    dr.add_argument("--seed", type=seed, default=0, help="seed of the Sobol' scrambling and the bootstrap")
    dr.set_defaults(func=_drivers)


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        choices=MODELS,
        default="expected",
        help="expected values (instant) or the engine (simulate)",
    )
    parser.add_argument(
        "--replications",
        "-n",
        type=positive_int,
        help="engine runs per value with --model simulate (default 20)",
    )
    parser.add_argument("--seed", type=seed, default=0, help="engine seed with --model simulate")
