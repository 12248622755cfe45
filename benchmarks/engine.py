"""Speed and memory benchmark of the engine (`sim/engine.py`) against the reference model (tests/).

Run from the repository root:

    python benchmarks/engine.py           # the full benchmark (a few minutes)
    python benchmarks/engine.py --quick   # a fast smoke run with smaller sizes

Four parts, on two scenarios with the paid leads scaled up: scenarios/car_dealer_service.toml (one
channel, constant levers) and scenarios/car_dealer_plan.toml (a plan with steps, trends and seasonality,
two channels of different quality, staff and leads changing over time, leads that go cold):

1. Engine vs reference in the same run, for each scenario (the machine may be shared and noisy, so the
   ratio is only meaningful when both are measured together): the reference once, the engine three
   times (median).
   Leads per second = paid + referral leads that arrived within the horizon / wall time. Totals of
   leads, sales and repeat visits of both models are printed side by side ("same statistics").
2. Linearity: engine run time at 1,000, 10,000 and 100,000 leads a month, staff scaled with the load.
3. Memory: tracemalloc peak of one engine run at several horizons with the same leads a month.
4. The last line printed is one JSON object with all the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))  # the reference model and the app server

import numpy as np  # noqa: E402
from reference_model import run_reference  # noqa: E402

import sim  # noqa: E402
from sim.engine.replication import run_replication  # noqa: E402

SCENARIO = ROOT / "scenarios" / "car_dealer_service.toml"
PLANNED = ROOT / "scenarios" / "car_dealer_plan.toml"
GOAL_RATIO = 100.0
"""The engine should process at least this many times the reference model's leads per second."""
MAX_LINEARITY_SECONDS = 60.0
"""If the largest linearity run would take longer than this at the full horizon, use LINEARITY_SHORT."""
LINEARITY_SHORT = 24
ENGINE_REPEATS = 3


def scaled(base: sim.Scenario, leads_per_month: float, horizon: int) -> sim.Scenario:
    """The scenario with `leads_per_month` paid leads a month in month 1 (shared by the channels as in the
    scenario; a plan's steps move with them) and the staff scaled with the load."""
    total = base.paid_leads_per_month
    changes: dict[str, Any] = {"horizon_months": horizon}
    for i, channel in enumerate(base.channels):
        changes[f"channels.{i}.leads_per_month"] = float(leads_per_month) * channel.leads_per_month / total
    scale = leads_per_month / total
    changes["sales_desk.staff"] = max(1, round(base.sales_desk.staff * scale))
    return base.override(changes)


def engine_run(scenario: sim.Scenario, seed: int, replication: int) -> dict[str, float]:
    """One timed engine run: wall time, leads that arrived in the horizon and a few totals."""
    gc.collect()
    t0 = time.perf_counter()
    out = run_replication(scenario, seed, replication)
    seconds = time.perf_counter() - t0
    m = out.monthly
    leads = float(m["leads_paid"].sum() + m["leads_referral"].sum())
    return {
        "seconds": seconds,
        "leads": leads,
        "leads_per_second": leads / seconds,
        "sales": float(m["sales"].sum()),
        "repeat_visits": float(m["repeat_visits"].sum()),
        "leads_lost": float(m["leads_lost"].sum()),
        "active_customers_end": float(m["active_customers"][-1]),
    }


def reference_run(scenario: sim.Scenario, seed: int) -> dict[str, float]:
    gc.collect()
    t0 = time.perf_counter()
    out = run_reference(scenario, seed)
    seconds = time.perf_counter() - t0
    leads = float(out["leads_total_processed"])
    return {
        "seconds": seconds,
        "leads": leads,
        "leads_per_second": leads / seconds,
        "sales": float(np.sum(out["sales"])),
        "repeat_visits": float(np.sum(out["repeat_visits"])),
        "leads_lost": float(np.sum(out["leads_lost"])),
        "active_customers_end": float(out["active_customers"][-1]),
    }


def median_runs(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per-figure median over runs."""
    return {key: float(statistics.median(r[key] for r in runs)) for key in runs[0]}


def rule(title: str) -> None:
    print()
    print(title)
    print("-" * len(title))


# --- 1. engine vs reference -------------------------------------------------------------------------


def compare_models(
    base: sim.Scenario, leads_per_month: float, horizon: int, seed: int, label: str
) -> dict[str, Any]:
    scenario = scaled(base, leads_per_month, horizon)
    rule(
        f"1. Engine vs reference, {label}: {leads_per_month:,.0f} paid leads a month, {horizon} months, "
        f"staff {scenario.sales_desk.staff}"
    )
    ref = reference_run(scenario, seed)
    print(f"reference: 1 run, {ref['seconds']:.2f} s")
    runs = [engine_run(scenario, seed, r) for r in range(ENGINE_REPEATS)]
    print(
        f"engine:    {ENGINE_REPEATS} runs (replications 0-{ENGINE_REPEATS - 1}), "
        + ", ".join(f"{r['seconds']:.2f} s" for r in runs)
    )
    eng = median_runs(runs)
    ratio = eng["leads_per_second"] / ref["leads_per_second"]

    print()
    print(f"{'':24}{'reference':>14}{'engine (median)':>18}{'engine/ref':>12}")
    print(
        f"{'wall time, s':24}{ref['seconds']:>14.2f}{eng['seconds']:>18.2f}"
        f"{eng['seconds'] / ref['seconds']:>12.4f}"
    )
    print(
        f"{'leads per second':24}{ref['leads_per_second']:>14,.0f}{eng['leads_per_second']:>18,.0f}"
        f"{ratio:>11.1f}x"
    )
    print()
    print("Same statistics (totals over the horizon; one reference run vs the engine's median):")
    print(f"{'':24}{'reference':>14}{'engine (median)':>18}{'difference':>12}{'engine min - max':>22}")
    stats = {}
    for key, label in (
        ("leads", "leads (paid + referral)"),
        ("sales", "sales"),
        ("repeat_visits", "repeat visits"),
        ("leads_lost", "leads lost"),
        ("active_customers_end", "active customers, end"),
    ):
        r, e = ref[key], eng[key]
        diff = (e - r) / r if r else 0.0
        lo, hi = min(run[key] for run in runs), max(run[key] for run in runs)
        stats[key] = {"reference": r, "engine": e, "rel_diff": diff, "engine_min": lo, "engine_max": hi}
        print(f"{label:24}{r:>14,.0f}{e:>18,.0f}{diff:>+12.1%}{f'{lo:,.0f} - {hi:,.0f}':>22}")
    print(
        "(one reference run against a few engine replications: differences of a few percent are sampling"
        " noise;\n sales feed referrals, so sales and customers vary more between runs than leads do)"
    )
    met = ratio >= GOAL_RATIO
    print()
    print(
        f"Goal: engine >= {GOAL_RATIO:.0f}x the reference's leads per second -> "
        f"{ratio:.1f}x, {'met' if met else 'NOT met'}"
        + ("" if leads_per_month >= 10_000 else " (small run: the goal is for 10,000 leads a month)")
    )
    return {
        "label": label,
        "leads_per_month": leads_per_month,
        "horizon_months": horizon,
        "staff": scenario.sales_desk.staff,
        "reference": ref,
        "engine_runs": runs,
        "engine_median": eng,
        "ratio": ratio,
        "goal_ratio": GOAL_RATIO,
        "goal_met": met,
        "statistics": stats,
    }


# --- 2. linearity -----------------------------------------------------------------------------------


def linearity(
    base: sim.Scenario, sizes: list[float], horizon: int, seed: int, note: str, label: str
) -> dict[str, Any]:
    rule(f"2. Linearity, {label}: engine run time by load, {horizon} months, staff scaled with the load")
    if note:
        print(note)
    rows = []
    for lpm in sizes:
        repeats = ENGINE_REPEATS if lpm <= 10_000 else 1
        scenario = scaled(base, lpm, horizon)
        runs = [engine_run(scenario, seed, r) for r in range(repeats)]
        med = median_runs(runs)
        rows.append(
            {
                "leads_per_month": lpm,
                "staff": scenario.sales_desk.staff,
                "runs": repeats,
                "seconds": med["seconds"],
                "leads": med["leads"],
                "leads_per_second": med["leads_per_second"],
                "us_per_lead": 1e6 * med["seconds"] / med["leads"],
            }
        )
    ref_row = next((r for r in rows if r["leads_per_month"] == 10_000), rows[-1])
    print(
        f"{'leads/month':>12}{'staff':>7}{'runs':>6}{'leads':>12}{'time, s':>10}{'leads/s':>12}"
        f"{'us/lead':>9}{'vs 10k':>8}"
    )
    for r in rows:
        r["time_per_lead_vs_10k"] = r["us_per_lead"] / ref_row["us_per_lead"]
        print(
            f"{r['leads_per_month']:>12,.0f}{r['staff']:>7}{r['runs']:>6}{r['leads']:>12,.0f}"
            f"{r['seconds']:>10.2f}{r['leads_per_second']:>12,.0f}{r['us_per_lead']:>9.2f}"
            f"{r['time_per_lead_vs_10k']:>8.2f}"
        )
    print("(time per lead relative to the 10k case; 1.00 everywhere = exactly linear; runs > 1: median)")
    return {"label": label, "horizon_months": horizon, "note": note, "rows": rows}


# --- 3. memory --------------------------------------------------------------------------------------


def memory(
    base: sim.Scenario, leads_per_month: float, horizons: list[int], seed: int, label: str
) -> dict[str, Any]:
    rule(f"3. Memory, {label}: tracemalloc peak of one engine run, {leads_per_month:,.0f} paid leads a month")
    rows = []
    for horizon in horizons:
        scenario = scaled(base, leads_per_month, horizon)
        gc.collect()
        tracemalloc.start()
        try:
            out = run_replication(scenario, seed, 0)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        m = out.monthly
        leads = float(m["leads_paid"].sum() + m["leads_referral"].sum())
        rows.append(
            {
                "horizon_months": horizon,
                "leads": leads,
                "active_customers_end": float(m["active_customers"][-1]),
                "peak_bytes": peak,
                "peak_mib": peak / 2**20,
                "bytes_per_lead": peak / leads,
            }
        )
    first = rows[0]
    print(
        f"{'months':>7}{'leads':>12}{'customers at end':>18}{'peak, MiB':>11}{'bytes/lead':>12}"
        f"{'peak x':>8}{'leads x':>9}"
    )
    for r in rows:
        r["peak_vs_first"] = r["peak_bytes"] / first["peak_bytes"]
        r["leads_vs_first"] = r["leads"] / first["leads"]
        print(
            f"{r['horizon_months']:>7}{r['leads']:>12,.0f}{r['active_customers_end']:>18,.0f}"
            f"{r['peak_mib']:>11.2f}{r['bytes_per_lead']:>12.2f}{r['peak_vs_first']:>8.2f}"
            f"{r['leads_vs_first']:>9.2f}"
        )
    last = rows[-1]
    print(
        f"(peak x, leads x: relative to {first['horizon_months']} months. "
        f"From {first['horizon_months']} to {last['horizon_months']} months "
        f"the leads grow {last['leads_vs_first']:.1f}x and the peak {last['peak_vs_first']:.1f}x.)"
    )
    print("(tracemalloc slows the runs down several times; these runs are not timed.)")
    return {"label": label, "leads_per_month": leads_per_month, "rows": rows}


# --- main -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a fast smoke run")
    parser.add_argument("--seed", type=int, default=1, help="random seed of both models (default 1)")
    args = parser.parse_args(argv)

    t_start = time.perf_counter()
    cases = {"constant": sim.load_scenario(SCENARIO), "planned": sim.load_scenario(PLANNED)}
    if args.quick:
        cmp_leads, cmp_horizon = 2_000.0, 24
        lin_sizes, lin_horizon = [1_000.0, 10_000.0], LINEARITY_SHORT
        mem_leads, mem_horizons = 2_000.0, [12, 24, 48]
    else:
        cmp_leads, cmp_horizon = 10_000.0, 60
        lin_sizes, lin_horizon = [1_000.0, 10_000.0, 100_000.0], 60
        mem_leads, mem_horizons = 10_000.0, [24, 60, 120, 240]

    print(
        f"Engine benchmark{' (--quick)' if args.quick else ''}: {SCENARIO.relative_to(ROOT)} and "
        f"{PLANNED.relative_to(ROOT)}, seed {args.seed}"
    )
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
        f"{platform.system()}"
    )

    # numba loads the compiled desk (or compiles it, on a fresh clone) in the first run: not timed below.
    t0 = time.perf_counter()
    for base in cases.values():
        engine_run(scaled(base, 100.0, 2), args.seed, 0)
    print(f"First engine runs in this process (load the compiled desk): {time.perf_counter() - t0:.2f} s")

    section_seconds: dict[str, float] = {}
    comparisons, linearities, memories = {}, {}, {}
    for label, base in cases.items():
        t0 = time.perf_counter()
        comparisons[label] = comparison = compare_models(base, cmp_leads, cmp_horizon, args.seed, label)
        section_seconds[f"comparison {label}"] = time.perf_counter() - t0
        horizon, note = lin_horizon, ""
        if args.quick:
            note = f"(--quick: {LINEARITY_SHORT} months, 100,000 leads a month skipped)"
        elif comparison["leads_per_month"] == 10_000 and comparison["horizon_months"] == lin_horizon:
            # The comparison's engine runs are exactly the 10k case: estimate the largest run from them.
            est = comparison["engine_median"]["seconds"] * max(lin_sizes) / 10_000
            if est > MAX_LINEARITY_SECONDS:
                horizon = LINEARITY_SHORT
                note = (
                    f"(estimated {est:.0f} s for {max(lin_sizes):,.0f} leads a month over 60 months > "
                    f"{MAX_LINEARITY_SECONDS:.0f} s: all sizes use a {LINEARITY_SHORT}-month horizon)"
                )
            else:
                note = (
                    f"(estimated {est:.0f} s for {max(lin_sizes):,.0f} leads a month over 60 months <= "
                    f"{MAX_LINEARITY_SECONDS:.0f} s: full 60-month horizon)"
                )
        t0 = time.perf_counter()
        linearities[label] = linearity(base, lin_sizes, horizon, args.seed, note, label)
        section_seconds[f"linearity {label}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        memories[label] = memory(base, mem_leads, mem_horizons, args.seed, label)
        section_seconds[f"memory {label}"] = time.perf_counter() - t0

    rule("Summary: engine / reference, leads per second, measured side by side")
    for label, c in comparisons.items():
        verdict = "met" if c["goal_met"] else "NOT met"
        print(f"{label:10} {c['ratio']:7.1f}x  (goal {GOAL_RATIO:.0f}x: {verdict})")

    total = time.perf_counter() - t_start
    print()
    print(
        f"Total benchmark time: {total:.1f} s ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in section_seconds.items())
        + ")"
    )
    figures = {
        "benchmark": "engine",
        "quick": args.quick,
        "seed": args.seed,
        "scenarios": {"constant": str(SCENARIO.relative_to(ROOT)), "planned": str(PLANNED.relative_to(ROOT))},
        "python": platform.python_version(),
        "numpy": np.__version__,
        "comparison": comparisons,
        "linearity": linearities,
        "memory": memories,
        "section_seconds": section_seconds,
        "total_seconds": total,
    }
    print(json.dumps(figures, separators=(",", ":")))
    return figures


if __name__ == "__main__":
    main()
