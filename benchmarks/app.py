"""Speed of the Streamlit app.

Goals (issue "The Streamlit app"): a widget change reruns the expected model and redraws in <= 300 ms of
server time on the car dealer (AppTest: median and slowest of 20 reruns); the first page load <= 3 s after
start-up; a 200-replication Monte Carlo band for the car dealer ready in <= 5 s. Prints the figures and a
one-line JSON at the end.

    python benchmarks/app.py [--reruns 20] [--replications 200] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))  # the reference model and the app server

from app_server import CHROMIUM, LAUNCH_ARGS, streamlit_server  # noqa: E402

import sim  # noqa: E402
from sim.app.band import BandRunner, compute_band  # noqa: E402
from sim.report import texts  # noqa: E402

APP = str(ROOT / "app.py")


def _ms(seconds: list[float]) -> dict[str, float]:
    return {"median": round(1000 * statistics.median(seconds), 1), "max": round(1000 * max(seconds), 1)}


def reruns(n: int, **params: str) -> list[float]:
    """Wall time of `n` AppTest reruns, each after changing the monthly churn (AppTest runs the script in
    this process: the time is the server's, without a browser)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    churn = next(w for w in at.number_input if w.key.endswith("retention.monthly_churn"))
    start = churn.value
    times = []
    for i in range(n):
        at.number_input(key=churn.key).set_value(round(start + 0.1 * (i % 10 + 1), 1))
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
        if at.exception:
            raise RuntimeError(at.exception[0].value)
    return times


def tab_reruns(n: int) -> dict[str, dict[str, float]]:
    """Reruns with each tab open (the car dealer with every part switched on, Monte Carlo off)."""
    out = {}
    for tab in ("flow", "cohorts", "sensitivity", "desk", "programme", "answers"):
        params = {"reps": "0", "tab": tab, "on": "repeat,referrals,service_programme,problems"}
        out[tab] = _ms(reruns(n, **params))
    return out


def first_load(browser: bool, query: str = "reps=0") -> dict[str, object]:
    """Start `streamlit run app.py`; time until its health endpoint answers, then (in headless Chromium)
    until the first page (`/?query`) shows its tiles and the cash curve, and the same for a second page.
    With the default settings (query "") the page also starts the Monte Carlo workers and their band."""
    out: dict[str, object] = {}
    start = time.perf_counter()
    with streamlit_server(timeout=60) as url:
        out["health_s"] = round(time.perf_counter() - start, 2)
        if not browser or not Path(CHROMIUM).exists():
            out["page_s"] = None
            out["note"] = "no browser: page load not measured"
            return out
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            try:
                for name in ("page_s", "second_page_s"):
                    page = b.new_page(viewport={"width": 1400, "height": 1400})
                    t = time.perf_counter()
                    page.goto(f"{url}/?{query}", timeout=60_000)
                    page.locator("[data-testid='stMetricValue']").first.wait_for(timeout=60_000)
                    page.locator("[data-testid='stVegaLiteChart'] svg").first.wait_for(timeout=60_000)
                    out[name] = round(time.perf_counter() - t, 2)
                    page.close()
            finally:
                b.close()
        return out


def _band_via(runner: BandRunner, toml: str, replications: int, seed: int) -> float:
    t = time.perf_counter()
    while (status := runner.request(toml, replications, seed, owner="bench")).state not in ("done", "failed"):
        time.sleep(0.01)
    if status.state != "done":
        raise RuntimeError(status.error)
    return time.perf_counter() - t


def band_times(replications: int) -> dict[str, float]:
    """The car dealer's band of `replications`: as the app gets it (the background workers, one per core,
    started with the page, so warm), from a cold start (worker start-up included), and in this process on
    one core (`compute_band`, for comparison)."""
    dealer = sim.load_scenario(ROOT / "scenarios" / "car_dealer.toml").to_toml()
    runner = BandRunner()
    try:
        cold = _band_via(runner, dealer, replications, 11)
        warm = [_band_via(runner, dealer, replications, seed) for seed in (1, 2, 3)]
    finally:
        runner.shutdown()
    t = time.perf_counter()
    band = compute_band(dealer, replications, 1)
    one_core = time.perf_counter() - t
    return {
        "replications": replications,
        "workers": runner.workers,
        "seconds": round(statistics.median(warm), 2),
        "seconds_slowest": round(max(warm), 2),
        "seconds_cold_start": round(cold, 2),
        "seconds_one_process": round(one_core, 2),
        "replications_per_second_one_process": round(replications / one_core, 1),
        "p_break_even": band.p_break_even,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=20)
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args(argv)
    figures: dict = {"benchmark": "app", "cpus": os.cpu_count()}

    print(f"Reruns after a churn change on the car dealer (AppTest, {args.reruns} reruns), ms:")
    on = reruns(args.reruns)
    off = reruns(args.reruns, reps="0")
    figures["rerun_ms"] = _ms(on)
    figures["rerun_ms_monte_carlo_off"] = _ms(off)
    for label, key in (
        ("on (20 replications in the background)", "rerun_ms"),
        ("off", "rerun_ms_monte_carlo_off"),
    ):
        print(
            f"  default view, Monte Carlo {label}: "
            f"median {figures[key]['median']}, slowest {figures[key]['max']}"
        )
    figures["tab_rerun_ms"] = tab_reruns(5)
    print("  with a tab open (every part on, 5 reruns each):")
    for tab, ms in figures["tab_rerun_ms"].items():
        print(f"    {texts.t('en', f'tab_{tab}'):20s} median {ms['median']:7.1f}, slowest {ms['max']:7.1f}")

    print("First page load after start-up (streamlit run app.py, headless Chromium):")
    figures["first_load"] = first_load(browser=not args.no_browser)
    print(f"  Monte Carlo off (?reps=0): {figures['first_load']}")
    figures["first_load_default"] = first_load(browser=not args.no_browser, query="")
    print(f"  default settings (20 replications start with the page): {figures['first_load_default']}")

    print(f"Monte Carlo band of the car dealer ({args.replications} replications of sim.simulate):")
    figures["band"] = band_times(args.replications)
    print(f"  {figures['band']}")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
