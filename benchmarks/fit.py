"""Speed of fitting a scenario to a CRM export (`sim.calibration.fit`).

Goal (issue 11): a 36-month export of about 300,000 leads and 5,000 customers fits well under 20 s. The
export is synthetic, the engine's own records of one run (`sim.calibration.records`): the car dealer with
service and referrals at 8,333 paid calls a month, ten salespeople, 1.4 % of calls buying; written as CSV
in a temporary folder. Timed: making the export (the engine's run with records, then the tables), the fit
from the CSV files (reading and checking included), the fit from DataFrames already in memory, and the
fit with a 6-month holdout (the fit twice and 100 engine replications). Prints the figures and a one-line
JSON at the end.

    python benchmarks/fit.py [--repeat N] [--leads-per-month N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import sim
from sim.calibration.fit import fit
from sim.calibration.records import generate_records, write_records

ROOT = Path(__file__).resolve().parents[1]


def scenario(leads_per_month: float) -> sim.Scenario:
    """The benchmark's dealer (see the module's docstring)."""
    return sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml").override(
        {
            "horizon_months": 36,
            "channels.0.leads_per_month": leads_per_month,
            "sales_desk.staff": 10,
            "funnel.2.conversion": 0.14,
        }
    )


def _times(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--leads-per-month", type=float, default=8333.0)
    args = parser.parse_args(argv)
    sc = scenario(args.leads_per_month)
    figures: dict = {"benchmark": "fit"}
    t = time.perf_counter()
    records = generate_records(sc, seed=1)
    figures["generate_s"] = time.perf_counter() - t
    customers = int((records.visits["kind"] == "purchase").sum())
    figures.update(leads=len(records.leads), customers=customers, visits=len(records.visits))
    with tempfile.TemporaryDirectory() as folder:
        t = time.perf_counter()
        paths = write_records(sc, seed=1, folder=folder)
        figures["generate_and_write_s"] = time.perf_counter() - t
        figures["csv_mb"] = sum(p.stat().st_size for p in paths.values()) / 1e6
        fit(records.leads.head(1000), records.visits.head(50), records.spend)  # warm up imports
        files = _times(lambda: fit(paths["leads"], paths["visits"], paths["spend"]), args.repeat)
    frames = _times(lambda: fit(records.leads, records.visits, records.spend), args.repeat)
    holdout = _times(
        lambda: fit(records.leads, records.visits, records.spend, holdout_months=6, replications=100),
        max(1, args.repeat // 3),
    )
    figures["fit_files_s"] = {"median": statistics.median(files), "max": max(files)}
    figures["fit_frames_s"] = {"median": statistics.median(frames), "max": max(frames)}
    figures["fit_holdout_s"] = {"median": statistics.median(holdout), "max": max(holdout)}
    print(
        f"A 36-month export: {figures['leads']:,} leads, {customers:,} customers, "
        f"{figures['visits']:,} visit rows ({figures['csv_mb']:.1f} MB of CSV); generated in "
        f"{figures['generate_s']:.1f} s ({figures['generate_and_write_s']:.1f} s with the files)"
    )
    print(f"{'fit':44s} {'median, s':>10s} {'slowest, s':>11s}")
    for key, label in (
        ("fit_files_s", "from the CSV files (read and checked)"),
        ("fit_frames_s", "from DataFrames"),
        ("fit_holdout_s", "with a 6-month holdout (100 replications)"),
    ):
        print(f"{label:44s} {figures[key]['median']:10.2f} {figures[key]['max']:11.2f}")
    worst = figures["fit_files_s"]["median"]
    print(f"Goal: well under 20 s from the files -> {worst:.1f} s: {'met' if worst < 20 else 'NOT met'}")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
