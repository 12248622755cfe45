"""Throughput of `sim.sweep`: in-process, on a Dask LocalCluster of 1 and of 2 workers.

Run from the repository root:

    python benchmarks/sweep.py           # 300 runs of the car dealer (about a minute and a half)
    python benchmarks/sweep.py --quick   # 60 runs, a smoke test

A sweep of CPL × churn (12 points) × replications on scenarios/car_dealer_service.toml at 500 calls a
month (~50–100 ms a run). All modes use the same chunks (the size `sweep` picks for 2 workers).

1. In-process (`workers=1`): the engine's own throughput, no Dask.
2. LocalCluster, 1 worker process (started and warmed before the clock starts): the same runs through
   Dask. Overhead per run = (Dask time − in-process time) / runs. Goal: <= 10 %.
3. LocalCluster, 2 worker processes: speed-up over 1 worker. Goal: >= 1.7×.
4. `workers=2` end to end: what a user waits for, cluster start and the pilot run included.

Every mode must give the same frame (checked). The machine may be shared: the load average is printed.
The last line is one JSON object with all the figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

import sim  # noqa: E402
from sim.sweep import sweep  # noqa: E402

sweep_mod = importlib.import_module("sim.sweep")

SCENARIO = ROOT / "scenarios" / "car_dealer_service.toml"
LEADS_PER_MONTH = 500.0
GRID = {"channels.0.cost_per_lead": [2000, 2250, 2500], "retention.monthly_churn": [0.01, 0.015, 0.02, 0.03]}
GOAL_SPEEDUP = 1.7
"""2 workers against 1, on this 2-core machine."""
GOAL_OVERHEAD = 0.10
"""Dask path against in-process, relative time per run."""


def _warm() -> None:
    """On each worker: import the engine and run one replication (first-call costs off the clock)."""
    sc = sim.load_scenario(SCENARIO).override({"horizon_months": 2})
    sweep(sc, workers=1, chunk_size=1)


def _timed(fn: Any) -> tuple[float, pd.DataFrame]:
    t0 = time.perf_counter()
    df = fn()
    return time.perf_counter() - t0, df


def _cluster_run(scenario: sim.Scenario, reps: int, chunk: int, n_workers: int) -> tuple[float, pd.DataFrame]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(_warm)
        return _timed(
            lambda: sweep(scenario, grid=GRID, replications=reps, scheduler=client, chunk_size=chunk)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 runs instead of 300")
    args = parser.parse_args()
    reps = 5 if args.quick else 25
    scenario = sim.load_scenario(SCENARIO).override({"channels.0.leads_per_month": LEADS_PER_MONTH})
    plan = sweep_mod._plan(scenario, GRID, None, reps, 0, False)
    _warm()
    chunk = sweep_mod._chunk_size(plan, 2)
    runs = plan.runs
    print(
        f"sweep of {scenario.name} at {LEADS_PER_MONTH:g} calls/month, {scenario.horizon_months} months: "
        f"{len(plan.points)} points × {reps} replications = {runs} runs, chunks of {chunk} runs"
    )
    print(f"machine: {os.cpu_count()} cores, load average before: {os.getloadavg()[0]:.2f}")

    t_in, df_in = _timed(lambda: sweep(scenario, grid=GRID, replications=reps, workers=1, chunk_size=chunk))
    t_1, df_1 = _cluster_run(scenario, reps, chunk, 1)
    t_2, df_2 = _cluster_run(scenario, reps, chunk, 2)
    t_e2e, df_e2e = _timed(lambda: sweep(scenario, grid=GRID, replications=reps, workers=2))
    for df in (df_1, df_2, df_e2e):
        pd.testing.assert_frame_equal(df, df_in, check_exact=True)

    rows = [
        ("in-process (workers=1)", t_in),
        ("Dask LocalCluster, 1 worker", t_1),
        ("Dask LocalCluster, 2 workers", t_2),
        ("workers=2 end to end (start + pilot)", t_e2e),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'mode'.ljust(width)}  {'wall s':>7}  {'runs/s':>7}  {'ms/run':>7}")
    for name, t in rows:
        print(f"{name.ljust(width)}  {t:7.2f}  {runs / t:7.1f}  {1000 * t / runs:7.1f}")
    speedup = t_1 / t_2
    overhead = t_1 / t_in - 1.0
    print(
        f"speed-up, 2 workers vs 1: {speedup:.2f}× (goal >= {GOAL_SPEEDUP}×: "
        f"{'met' if speedup >= GOAL_SPEEDUP else 'NOT met'}); vs in-process: {t_in / t_2:.2f}×"
    )
    print(
        f"Dask overhead per run (1 worker vs in-process): {1000 * (t_1 - t_in) / runs:+.2f} ms, "
        f"{overhead:+.1%} (goal <= {GOAL_OVERHEAD:.0%}: {'met' if overhead <= GOAL_OVERHEAD else 'NOT met'})"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(
        json.dumps(
            {
                "runs": runs,
                "chunk_size": chunk,
                "seconds": {"in_process": t_in, "dask_1": t_1, "dask_2": t_2, "workers_2_end_to_end": t_e2e},
                "runs_per_second": {
                    "in_process": runs / t_in,
                    "dask_1": runs / t_1,
                    "dask_2": runs / t_2,
                    "workers_2_end_to_end": runs / t_e2e,
                },
                "speedup_2_vs_1": speedup,
                "overhead_per_run": overhead,
                "overhead_ms_per_run": 1000 * (t_1 - t_in) / runs,
                "goals_met": {"speedup": speedup >= GOAL_SPEEDUP, "overhead": overhead <= GOAL_OVERHEAD},
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "quick": args.quick,
            }
        )
    )


if __name__ == "__main__":
    main()
