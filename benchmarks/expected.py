"""Speed of the expected-value model and of the decisions built on it.

Goals (issue "Decisions"): one evaluation of a 60-month scenario in <= 5 ms; the whole sensitivity
tornado of the car dealer in <= 300 ms. Prints the figures and a one-line JSON at the end.

    python benchmarks/expected.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import sim
from sim.analytic.expected_value import expected_arrays

ROOT = Path(__file__).resolve().parents[1]


def _times(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args(argv)
    figures: dict = {"benchmark": "expected", "evaluation_ms": {}, "tornado_ms": {}}
    print(
        "Expected-value model: one evaluation of a 60-month scenario (median and slowest of "
        f"{args.repeat}; 'new desk load' = every evaluation at a load not seen before)"
    )
    print(f"{'scenario':32s} {'median, ms':>10s} {'slowest, ms':>12s}")
    for name in ("car_dealer", "car_dealer_service", "beauty_salon", "medical_service_programme"):
        sc = sim.load_scenario(ROOT / "scenarios" / f"{name}.toml").override({"horizon_months": 60})
        expected_arrays(sc)  # warm up imports and caches
        t = _times(lambda sc=sc: expected_arrays(sc), args.repeat)
        figures["evaluation_ms"][name] = {"median": 1000 * statistics.median(t), "max": 1000 * max(t)}
        print(f"{name:32s} {1000 * statistics.median(t):10.2f} {1000 * max(t):12.2f}")
        if sc.sales_desk is not None:
            leads = sc.channels[0].leads_per_month
            fresh = [
                sc.override({"channels.0.leads_per_month": leads * (1 + 1e-3 * (i + 1))})
                for i in range(args.repeat)
            ]
            it = iter(fresh)
            t = _times(lambda it=it: expected_arrays(next(it)), args.repeat)
            key = f"{name} (new desk load)"
            figures["evaluation_ms"][key] = {"median": 1000 * statistics.median(t), "max": 1000 * max(t)}
            print(f"{key:32s} {1000 * statistics.median(t):10.2f} {1000 * max(t):12.2f}")
    print()
    print("Sensitivity tornado (every lever ±20 %, break-even month), whole table")
    for name in ("car_dealer", "car_dealer_service"):
        sc = sim.load_scenario(ROOT / "scenarios" / f"{name}.toml")
        t = _times(lambda sc=sc: sim.sensitivity(sc), max(3, args.repeat // 10))
        n = len(sim.levers(sc))
        figures["tornado_ms"][name] = {
            "median": 1000 * statistics.median(t),
            "max": 1000 * max(t),
            "levers": n,
        }
        print(
            f"{name:32s} {1000 * statistics.median(t):10.1f} ms median, "
            f"{1000 * max(t):.1f} ms slowest, {n} levers"
        )
    worst_eval = max(v["median"] for v in figures["evaluation_ms"].values())
    worst_tornado = max(v["median"] for v in figures["tornado_ms"].values())
    print()
    print(
        f"Goal: evaluation <= 5 ms -> worst median {worst_eval:.2f} ms: "
        f"{'met' if worst_eval <= 5 else 'NOT met'}"
    )
    print(
        f"Goal: tornado <= 300 ms -> worst median {worst_tornado:.0f} ms: "
        f"{'met' if worst_tornado <= 300 else 'NOT met'}"
    )
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
