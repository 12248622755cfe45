"""Accuracy of the desk's queueing model (`sim.analytic.queueing.desk_performance`) against the engine.

Run from the repository root:

    python benchmarks/queueing_accuracy.py            # the table (markdown), about half a minute
    python benchmarks/queueing_accuracy.py --chart    # also writes docs/queueing_accuracy.html
    python benchmarks/queueing_accuracy.py --replications 8   # a quicker, noisier run
    python benchmarks/queueing_accuracy.py --only cooling     # the cooling table only

The grid is the issue's: loads 0.3 … 1.5 of the desk's capacity, round the clock and with working
hours, with and without patience, exponential and fixed handling. A queue-only scenario (3 salespeople,
20-minute contacts, the funnel's conversion 0 so that no customer and no referral lead is ever made,
6 months) is run for a few replications; the engine's lost share and mean wait are pooled over them
(lost leads / all leads, wait hours / reached leads) and compared with the model at the same arrival
rate. The goal: within 10 % relative of the engine, or 0.01 absolute (share, or hours).

The load is relative to the desk's daily capacity while open:
leads_per_day = load × staff × (1440 / handling_minutes) × hours_per_day / 24.

Cooling (a reached lead buys with p × 0.5^(wait / half-life)): a second grid, `COOLING_CONFIGS`, compares
the model's factor E[0.5^(W/h) | reached] (`DeskPerformance.cooling`) with the engine's, measured end to end
on the same queue-only scenario with a one-stage funnel of conversion `COOLING_CONVERSION` and no delay:
sales / (conversion × reached leads), pooled over the replications (sales after the horizon are not
counted: about a hundredth of a per cent of the leads, those reached in the last hour). The goal is the
same, 10 % relative or 0.01 absolute.

tests/validation/test_expected.py imports `CONFIGS`, `COOLING_CONFIGS`, `LOADS`, `measure_engine`,
`measure_cooling`, `model`, `model_cooling` and `within_goal` from here, so the test and the tables in
docs/queueing.md measure the same thing.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import sim
from sim.analytic.queueing import desk_performance
from sim.engine.replication import MONTH_DAYS, run_replication
from sim.model.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]

STAFF = 3
HANDLING_MINUTES = 20.0
HORIZON_MONTHS = 6
LOADS: tuple[float, ...] = (0.3, 0.6, 0.9, 1.2, 1.5)
GOAL_RELATIVE = 0.10
GOAL_ABSOLUTE = 0.01
DEFAULT_REPLICATIONS = 40
DEFAULT_SEED = 0


@dataclass(frozen=True)
class DeskConfig:
    """One configuration of the grid: opening hours, patience and the handling-time distribution."""

    label: str
    hours_per_day: float
    patience_hours: float | None
    handling: str = "exponential"
    cooling_half_life_hours: float | None = None


CONFIGS: tuple[DeskConfig, ...] = (
    DeskConfig("24 h, patience 2 h", 24.0, 2.0),
    DeskConfig("24 h, no patience", 24.0, None),
    DeskConfig("10 h, patience 4 h", 10.0, 4.0),
    DeskConfig("10 h, patience 16 h", 10.0, 16.0),
    DeskConfig("8 h, no patience", 8.0, None),
    DeskConfig("24 h, patience 2 h, fixed handling", 24.0, 2.0, "fixed"),
    DeskConfig("24 h, no patience, fixed handling", 24.0, None, "fixed"),
)
COOLING_CONFIGS: tuple[DeskConfig, ...] = (
    DeskConfig("24 h, patience 2 h, half-life 1 h", 24.0, 2.0, cooling_half_life_hours=1.0),
    DeskConfig("24 h, no patience, half-life 1 h", 24.0, None, cooling_half_life_hours=1.0),
    DeskConfig("24 h, patience 2 h, fixed handling, half-life 1 h", 24.0, 2.0, "fixed", 1.0),
    DeskConfig("10 h, patience 4 h, half-life 2 h", 10.0, 4.0, cooling_half_life_hours=2.0),
    DeskConfig("10 h, patience 16 h, half-life 8 h", 10.0, 16.0, cooling_half_life_hours=8.0),
    DeskConfig("8 h, no patience, half-life 24 h", 8.0, None, cooling_half_life_hours=24.0),
)
"""The cooling grid: round the clock (exact for exponential handling), fixed handling (Allen-Cunneen) and
working hours (the fluid day's waits), half-lives about the waits each configuration makes."""
CONFIG_BY_LABEL = {c.label: c for c in (*CONFIGS, *COOLING_CONFIGS)}
COOLING_CONVERSION = 0.2
"""The funnel's conversion in the cooling grid (one stage, no delay): enough sales to measure the factor
to a few tenths of a per cent without a SimPy event for every lead."""


@dataclass(frozen=True)
class Figures:
    """Lost share and mean wait (hours) of reached leads."""

    lost_share: float
    mean_wait_hours: float


_BASE = sim.parse_scenario(
    {
        "name": "Queue only",
        "horizon_months": HORIZON_MONTHS,
        "channels": [{"name": "Leads", "leads_per_month": 1000.0, "cost_per_lead": 1.0}],
        "sales_desk": {"staff": STAFF, "handling_minutes": HANDLING_MINUTES},
        "funnel": [{"name": "Never buys", "conversion": 0.0}],
        "first_purchase": {"revenue": 1.0, "margin": 1.0},
        "retention": {"monthly_churn": 0.1},
    }
)


def leads_per_day(config: DeskConfig, load: float) -> float:
    """Arrival rate at `load` × the desk's daily capacity while open."""
    return load * STAFF * (1440.0 / HANDLING_MINUTES) * config.hours_per_day / 24.0


def scenario(config: DeskConfig, load: float) -> Scenario:
    """The queue-only scenario of one grid point (with cooling: a funnel that sells, see the docstring)."""
    changes: dict[str, object] = {
        "channels.0.leads_per_month": leads_per_day(config, load) * MONTH_DAYS,
        "sales_desk.hours_per_day": config.hours_per_day,
        "sales_desk.patience_hours": config.patience_hours,
        "sales_desk.handling": config.handling,
    }
    if config.cooling_half_life_hours is not None:
        changes["sales_desk.cooling_half_life_hours"] = config.cooling_half_life_hours
        changes["funnel.0.conversion"] = COOLING_CONVERSION
    return _BASE.override(changes)


@functools.lru_cache(maxsize=256)
def measure_engine(label: str, load: float, replications: int, seed: int = DEFAULT_SEED) -> Figures:
    """The engine's lost share and mean wait, pooled over `replications` runs of the grid point."""
    sc = scenario(CONFIG_BY_LABEL[label], load)
    lost = reached = wait_hours = 0.0
    for r in range(replications):
        out = run_replication(sc, seed, r).monthly
        lost += float(out["leads_lost"].sum())
        reached += float(out["leads_reached"].sum())
        wait_hours += float(out["wait_hours_sum"].sum())
    return Figures(lost / (lost + reached), wait_hours / reached if reached else math.nan)


def model(label: str, load: float) -> Figures:
    """`desk_performance` at the grid point's arrival rate and horizon."""
    config = CONFIG_BY_LABEL[label]
    sc = scenario(config, load)
    perf = desk_performance(sc.sales_desk, leads_per_day(config, load), HORIZON_MONTHS * MONTH_DAYS)
    return Figures(perf.lost_share, perf.mean_wait_days * 24.0)


@functools.lru_cache(maxsize=256)
def measure_cooling(label: str, load: float, replications: int, seed: int = DEFAULT_SEED) -> float:
    """The engine's cooling factor: sales / (conversion × reached leads), pooled over `replications` runs."""
    sc = scenario(CONFIG_BY_LABEL[label], load)
    sales = reached = 0.0
    for r in range(replications):
        out = run_replication(sc, seed, r).monthly
        sales += float(out["sales"].sum())
        reached += float(out["leads_reached"].sum())
    return sales / (COOLING_CONVERSION * reached)


def model_cooling(label: str, load: float) -> float:
    """`desk_performance(...).cooling` at the grid point's arrival rate and horizon."""
    config = CONFIG_BY_LABEL[label]
    sc = scenario(config, load)
    return desk_performance(sc.sales_desk, leads_per_day(config, load), HORIZON_MONTHS * MONTH_DAYS).cooling


def within_goal(model_value: float, engine_value: float) -> bool:
    """The issue's accuracy goal: within 10 % relative of the engine, or 0.01 absolute."""
    return abs(model_value - engine_value) <= max(GOAL_RELATIVE * abs(engine_value), GOAL_ABSOLUTE)


def table_rows(replications: int, seed: int) -> list[dict[str, object]]:
    rows = []
    for config in CONFIGS:
        for load in LOADS:
            eng = measure_engine(config.label, load, replications, seed)
            mod = model(config.label, load)
            lost_ok = within_goal(mod.lost_share, eng.lost_share)
            wait_ok = within_goal(mod.mean_wait_hours, eng.mean_wait_hours)
            rows.append(
                {
                    "configuration": config.label,
                    "load": load,
                    "engine_lost": eng.lost_share,
                    "model_lost": mod.lost_share,
                    "engine_wait": eng.mean_wait_hours,
                    "model_wait": mod.mean_wait_hours,
                    "wait_gap": mod.mean_wait_hours / eng.mean_wait_hours - 1.0,
                    "lost_ok": lost_ok,
                    "wait_ok": wait_ok,
                }
            )
    return rows


def cooling_rows(replications: int, seed: int) -> list[dict[str, object]]:
    rows = []
    for config in COOLING_CONFIGS:
        for load in LOADS:
            eng = measure_cooling(config.label, load, replications, seed)
            mod = model_cooling(config.label, load)
            rows.append(
                {
                    "configuration": config.label,
                    "load": load,
                    "engine": eng,
                    "model": mod,
                    "gap": mod / eng - 1.0,
                    "ok": within_goal(mod, eng),
                }
            )
    return rows


def cooling_markdown(rows: list[dict[str, object]]) -> str:
    lines = [
        "| configuration | load | engine cooling factor | model cooling factor | gap | within goal |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['configuration']} | {r['load']:.1f} | {r['engine']:.4f} | {r['model']:.4f} "
            f"| {100 * r['gap']:+.1f} % | {'yes' if r['ok'] else '**no**'} |"
        )
    return "\n".join(lines)


def _wait(x: float) -> str:
    return f"{x:,.1f}" if x >= 100 else f"{x:.3f}"


def markdown(rows: list[dict[str, object]]) -> str:
    lines = [
        "| configuration | load | engine lost share | model lost share | engine mean wait (h) "
        "| model mean wait (h) | wait gap | within goal |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ok = r["lost_ok"] and r["wait_ok"]
        verdict = (
            "yes"
            if ok
            else "**no** ("
            + ", ".join(w for w, good in (("lost", r["lost_ok"]), ("wait", r["wait_ok"])) if not good)
            + ")"
        )
        lines.append(
            f"| {r['configuration']} | {r['load']:.1f} | {r['engine_lost']:.4f} | {r['model_lost']:.4f} "
            f"| {_wait(r['engine_wait'])} | {_wait(r['model_wait'])} | {100 * r['wait_gap']:+.1f} % "
            f"| {verdict} |"
        )
    return "\n".join(lines)


def chart(rows: list[dict[str, object]], path: Path) -> None:
    """Lost share and mean wait against load: engine points, model lines, one panel per configuration."""
    import altair as alt
    import pandas as pd

    long = []
    for r in rows:
        for measure, key in (("lost share", "lost"), ("mean wait (h)", "wait")):
            for source in ("engine", "model"):
                long.append(
                    {
                        "configuration": r["configuration"],
                        "load": r["load"],
                        "measure": measure,
                        "source": source,
                        "value": r[f"{source}_{key}"],
                    }
                )
    data = pd.DataFrame(long)
    # Overloaded desks without patience wait hundreds of hours; a log scale keeps the small waits legible.
    data["plotted"] = data["value"].where(data["measure"] == "lost share", data["value"].clip(lower=1e-3))
    panels = []
    for measure, scale in (
        ("lost share", alt.Scale(domain=[0, 0.5])),
        ("mean wait (h)", alt.Scale(type="log")),
    ):
        part = data[data["measure"] == measure]
        base = alt.Chart(part).encode(
            x=alt.X("load:Q", title="load (× daily capacity)", scale=alt.Scale(domain=[0.2, 1.6])),
            y=alt.Y("plotted:Q", title=measure, scale=scale),
            tooltip=["configuration", "load", "source", alt.Tooltip("value:Q", format=".4f")],
        )
        lines = base.transform_filter(alt.datum.source == "model").mark_line(color="#1f77b4")
        points = base.transform_filter(alt.datum.source == "engine").mark_point(
            color="#d62728", filled=True, size=50
        )
        panels.append(
            alt.layer(lines, points)
            .properties(width=170, height=140)
            .facet(column=alt.Column("configuration:N", title=None, sort=[c.label for c in CONFIGS]))
            .properties(title=f"{measure}: engine (points) vs model (lines)")
        )
    alt.vconcat(*panels).save(str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=DEFAULT_REPLICATIONS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--chart", action="store_true", help="write docs/queueing_accuracy.html")
    parser.add_argument("--only", choices=("desk", "cooling"), help="one of the two tables only")
    args = parser.parse_args(argv)
    where = (
        f"engine: {args.replications} replications × {HORIZON_MONTHS} months per point, seed {args.seed}; "
        f"on {platform.machine()} / {platform.python_implementation()} {platform.python_version()}, "
        f"{datetime.date.today().isoformat()}"
    )
    rows: list[dict[str, object]] = []
    if args.only != "cooling":
        start = time.perf_counter()
        rows = table_rows(args.replications, args.seed)
        elapsed = time.perf_counter() - start
        print(markdown(rows))
        misses = sum(not (r["lost_ok"] and r["wait_ok"]) for r in rows)
        print()
        print(f"{len(rows) - misses} of {len(rows)} grid points within the goal; {elapsed:.0f} s; {where}")
    if args.only != "desk":
        start = time.perf_counter()
        cool = cooling_rows(args.replications, args.seed)
        elapsed = time.perf_counter() - start
        print()
        print(cooling_markdown(cool))
        misses = sum(not r["ok"] for r in cool)
        print()
        print(
            f"cooling: {len(cool) - misses} of {len(cool)} grid points within the goal; "
            f"{elapsed:.0f} s; {where}"
        )
    if args.chart and rows:
        path = ROOT / "docs" / "queueing_accuracy.html"
        chart(rows, path)
        print(f"chart: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
