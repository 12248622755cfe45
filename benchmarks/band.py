"""Speed of the expected band (`sim.expected_band`): the expected-value model over the draws of the ranges.

Goal (issue 11 §3): hundreds of draws in well under a second, with a plan too. Rows, measured side by side
in one run (each repeat with a new seed, so that no draw's desk loads are in the queueing model's caches):

- "no plan": `examples/car_dealer_uncertain.toml` (120 months; churn, referrals and the last funnel stage
  uncertain);
- "with a plan": `scenarios/car_dealer_plan.toml` (120 months; plan steps, trends, seasonality, two
  channels, a staff step, cooling) with the same three ranges: no planned lever is uncertain, so each
  draw's months are derived from the first draw's (`sim.model.plan.derive_months`);
- "with a plan, planned levers uncertain": the same plus ranges on two planned levers (the classifieds'
  lead price, which has a trend, and the staff, which has a step): those levers' months are built anew
  for each draw;
- "engine" (unless `--engine 0`): `sim.simulate` of the planned scenario, one process, for comparison:
  replications per second, and the time 300 would take at that rate.

Prints draws per second and the seconds for 300 draws (wall time, median of `--repeat`; and the process's
CPU time, which moves less on a shared machine), and a one-line JSON.

    python benchmarks/band.py [--draws 300] [--repeat 5] [--engine 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import sim

ROOT = Path(__file__).resolve().parents[1]

RANGES = {
    "retention.monthly_churn": {"low": 0.008, "mode": 0.015, "high": 0.03},
    "referrals.per_customer_per_year": {"low": 0.3, "high": 0.9},
    "funnel.2.conversion": {"low": 0.08, "mode": 0.1, "high": 0.12},
}
"""The ranges of examples/car_dealer_uncertain.toml, put on the planned scenario."""
PLANNED_RANGES = {
    "channels.0.cost_per_lead": {"low": 2000.0, "high": 2500.0},
    "sales_desk.staff": {"low": 2, "high": 4},
}
"""Ranges on levers the plan moves (a trend on the price, a step on the staff)."""


def scenarios() -> dict[str, sim.Scenario]:
    """The benchmark's scenarios by row name (see the module's docstring)."""
    planned = sim.load_scenario(ROOT / "scenarios" / "car_dealer_plan.toml")
    return {
        "no plan": sim.load_scenario(ROOT / "examples" / "car_dealer_uncertain.toml"),
        "with a plan": planned.override({"uncertainty": RANGES}),
        "with a plan, planned levers uncertain": planned.override(
            {"uncertainty": {**RANGES, **PLANNED_RANGES}}
        ),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engine", type=int, default=10, help="engine replications for comparison (0: none)")
    args = parser.parse_args(argv)
    figures: dict = {"benchmark": "band", "draws": args.draws, "rows": {}}
    print(
        f"Expected band: {args.draws} draws of the expected-value model (median of {args.repeat}, new seeds)"
    )
    head = f"{args.draws} draws, s"
    print(f"{'scenario':40s} {'draws/s':>8s} {head:>14s} {'slowest, s':>11s} {'CPU, s':>7s} {'evals':>6s}")
    for name, sc in scenarios().items():
        sim.expected_band(sc, draws=3, seed=10_000)  # warm up imports
        times, cpu = [], []
        evaluations = 0
        for i in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            band = sim.expected_band(sc, draws=args.draws, seed=1 + i)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            evaluations = band.evaluations
        median = statistics.median(times)
        row = {
            "seconds": median,
            "slowest": max(times),
            "cpu_seconds": statistics.median(cpu),
            "draws_per_second": args.draws / median,
        }
        figures["rows"][name] = row
        print(
            f"{name:40s} {row['draws_per_second']:8.0f} {median:14.3f} {max(times):11.3f} "
            f"{row['cpu_seconds']:7.3f} {evaluations:6d}"
        )
    if args.engine > 0:
        sc = scenarios()["with a plan"]
        sim.simulate(sc, replications=1, seed=10_000)  # load the compiled desk
        t = time.perf_counter()
        sim.simulate(sc, replications=args.engine, seed=1)
        rate = args.engine / (time.perf_counter() - t)
        figures["rows"]["engine, with a plan"] = {
            "seconds": args.draws / rate,
            "draws_per_second": rate,
            "replications": args.engine,
        }
        print(
            f"{'engine, with a plan (one process)':40s} {rate:8.1f} {args.draws / rate:14.1f}"
            f"   (at the rate of {args.engine} replications)"
        )
    planned = max(v["seconds"] for k, v in figures["rows"].items() if k.startswith("with a plan"))
    print()
    print(
        f"Goal: {args.draws} draws with a plan well under 1 s -> slowest planned row {planned:.2f} s: "
        f"{'met' if planned < 1.0 else 'NOT met'}"
    )
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
