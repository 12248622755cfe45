"""Speed of the expected-value model and of the decisions built on it.

Goals (issue "Decisions"): one evaluation of a 60-month scenario in <= 5 ms; the whole sensitivity
tornado of the car dealer in <= 300 ms; and (plans over time) one evaluation of a 60-month scenario with a
plan in <= 5 ms. The planned rows: the car dealer with service and referrals, a second channel of another
lead quality, plan steps (leads, staff, churn, first margin, a conversion, a repeat margin), trends and a
season, on 12 h desk hours; "with a plan, new object" builds a new scenario object every time, so
`sim.model.plan.months` (cached per object, read by the ledger and the lifetime tables) is built anew too.
The "customers differ" rows are the car dealer with service, and the planned scenario, with `[retention]
model = "sbg"` (θ ~ Beta(0.8, 52.5), E[θ] = its 1.5 % churn; with the plan's churn of 3 % from month 13 the
scale steps to 2): the lifetime tables mix over θ on a quadrature rule of about 200 nodes.
Prints the figures and a one-line JSON at the end.

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


def planned_dict() -> dict:
    """The planned 60-month scenario of the benchmark, as a dict (see the module's docstring)."""
    data = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml").model_dump(mode="json")
    data["horizon_months"] = 60
    data["start"] = "2027-03"
    data["channels"][0]["lead_quality"] = 1.5
    data["channels"].append(
        {"name": "Forms", "leads_per_month": 300.0, "cost_per_lead": 900.0, "lead_quality": 0.5}
    )
    data["sales_desk"]["cooling_half_life_hours"] = 12.0
    data["plan"] = [
        {
            "from_month": 13,
            "channels.0.leads_per_month": 1400.0,
            "sales_desk.staff": 6,
            "retention.monthly_churn": 0.03,
        },
        {
            "from_month": 30,
            "first_purchase.margin": 120_000.0,
            "funnel.0.conversion": 0.3,
            "repeat.0.margin": 15_000.0,
        },
    ]
    data["trends"] = {"channels.1.leads_per_month": 0.01, "referrals.per_customer_per_year": 0.005}
    data["seasonality"] = {"channels.0.leads_per_month": [0.8, 0.9, 1, 1.1, 1.2, 1.1, 1, 0.9, 0.9, 1, 1, 1]}
    return data


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
    differ = {"model": "sbg", "alpha": 0.8, "beta": 52.5, "monthly_churn": 0.015}
    base = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml").model_dump(mode="json")
    base.update({"horizon_months": 60, "retention": differ})
    for key, data in (
        ("customers differ", base),
        ("with a plan, customers differ", {**planned_dict(), "retention": differ}),
    ):
        sc = sim.parse_scenario(data)
        expected_arrays(sc)
        t = _times(lambda sc=sc: expected_arrays(sc), args.repeat)
        figures["evaluation_ms"][key] = {"median": 1000 * statistics.median(t), "max": 1000 * max(t)}
        print(f"{key:32s} {1000 * statistics.median(t):10.2f} {1000 * max(t):12.2f}")
    data = planned_dict()
    sc = sim.parse_scenario(data)
    expected_arrays(sc)
    t = _times(lambda sc=sc: expected_arrays(sc), args.repeat)
    key = "with a plan"
    figures["evaluation_ms"][key] = {"median": 1000 * statistics.median(t), "max": 1000 * max(t)}
    print(f"{key:32s} {1000 * statistics.median(t):10.2f} {1000 * max(t):12.2f}")
    fresh = [sim.parse_scenario(data) for _ in range(args.repeat)]
    it = iter(fresh)
    t = _times(lambda it=it: expected_arrays(next(it)), args.repeat)
    key = "with a plan, new object"
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
