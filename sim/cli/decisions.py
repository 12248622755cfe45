"""Commands on the expected-value model: `sensitivity` (a tornado), `goal-seek`, `programme`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sim.cli.common import BadInput, fraction, money, number
from sim.decisions.metrics import METRICS, GoalSeekError
from sim.model.scenario import load_scenario

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


def register(sub: Any) -> None:
    """Add `sensitivity`, `goal-seek` and `programme` to the subparsers."""
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

    pr = sub.add_parser("programme", help="is the service programme worth its cost?")
    pr.add_argument("scenario", help="scenario TOML file")
    pr.set_defaults(func=_programme)
