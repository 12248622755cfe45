"""Speed of the Streamlit app, on the server and in the browser, for one person and for a team.

Goals (issue "The Streamlit app"): a widget change reruns the expected model and redraws in <= 300 ms of
server time on the car dealer (AppTest: median and slowest of 20 reruns); a 200-replication Monte Carlo
band for the car dealer ready in <= 5 s. Goals (issue 12, measured in headless Chromium, browser time):
the first page load <= 3 s (p50 of 10 loads, each a new visitor); a lever change -> verdict, tiles and
curve redrawn <= 500 ms p50, the band following; the same with several sessions at once (8 by default)
moving levers and switching scenarios, with the server's memory before and after. The machine's load
average is printed with the browser figures (they mean little on a busy machine: `--max-load` waits for
a quieter one). Prints the figures and a one-line JSON at the end.

    python benchmarks/app.py [--reruns 20] [--replications 200] [--no-browser]
                             [--loads 10] [--rounds 10] [--sessions 8] [--blocks 3] [--browser-only]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))  # the reference model and the app server

from app_server import (  # noqa: E402
    CHROMIUM,
    LAUNCH_ARGS,
    PAGE_STATE,
    SHOWS,
    Server,
    app_server,
    lever_css,
    rss_mb,
    streamlit_server,
    want,
)

import sim  # noqa: E402
from sim.app import state as S  # noqa: E402
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


# --- in the browser: page loads, lever changes, several sessions at once -------------------------------

PRESETS = S.load_presets(ROOT / "scenarios")
SERVICE_ID, OTHER_ID = "car_dealer_service", "beauty_salon"
"""The sessions' scenario, and the one they switch to and back."""
CHURN = "retention.monthly_churn"
DEFAULT_CHURNS = {
    round(100 * PRESETS.scenarios[preset].retention.monthly_churn, 1) for preset in (SERVICE_ID, OTHER_ID)
}
"""The scenarios' own churns (%): a lever set to one of them would show a band drawn before."""
WAIT_MS = 90_000

WATCH = f"""([want, before, oldCaption]) => {{
    const state = ({PAGE_STATE});
    window.__t0 = null; window.__updated = null; window.__banded = null; window.__sawProgress = false;
    const check = () => {{
        window.__pending = false;
        if (window.__t0 === null || window.__banded !== null) return;
        const s = state();
        const now = performance.now() - window.__t0;
        if (s.progress.length) window.__sawProgress = true;
        const shown = s.verdict === want.verdict && JSON.stringify(s.tiles) === JSON.stringify(want.tiles);
        const redrawn = shown && s.lines !== '' && s.lines !== before;
        if (window.__updated === null && redrawn) window.__updated = now;
        const caption = s.captions.find(c => c.startsWith(want.band));
        if (window.__updated !== null && caption && !s.progress.length && !s.running
            && (window.__sawProgress || caption !== oldCaption)) window.__banded = now;
    }};
    if (window.__observer) window.__observer.disconnect();
    window.__observer = new MutationObserver(() => {{
        if (!window.__pending) {{ window.__pending = true; setTimeout(check, 0); }}
    }});
    const all = {{subtree: true, childList: true, characterData: true, attributes: true}};
    window.__observer.observe(document.body, all);
    if (window.__armed) return;
    window.__armed = true;
    document.addEventListener('keydown', e => {{
        if (e.key === 'Enter') window.__t0 = performance.now();
    }}, true);
    document.addEventListener('click', e => {{
        if (e.target.closest("[role='option']")) window.__t0 = performance.now();
    }}, true);
}}"""
"""JavaScript, given a `Want`, the chart's lines and the band's caption before a change: note the moment
of the next Enter key press or menu choice, then on every change of the page (a MutationObserver, so the
moment is exact whatever the polling) the ms until it shows the new verdict and tiles with the curve
changed (`__updated`), and until the new band's caption replaces its progress bar (`__banded`)."""

LOADED = f"""() => {{
    const s = ({PAGE_STATE})();
    return s.verdict !== null && s.tiles.length >= 8 && s.lines !== '' ? performance.now() : false;
}}"""
"""JavaScript: ms since navigation start once the verdict, the tiles and the curve are drawn."""

BANDED_AFTER_LOAD = f"""(band) => {{
    const s = ({PAGE_STATE})();
    return !s.progress.length && s.captions.some(c => c.startsWith(band)) ? performance.now() : false;
}}"""
"""JavaScript: ms since navigation start once the band's caption is drawn."""

POLL_MS = 50
"""How often a waiting check runs in the page (the times themselves come from WATCH's observer)."""


def load_average() -> dict[str, float]:
    """The machine's load average (1, 5, 15 minutes) and its cores."""
    one, five, fifteen = os.getloadavg()
    return {"1min": round(one, 2), "5min": round(five, 2), "15min": round(fifteen, 2), "cpus": os.cpu_count()}


def wait_quiet(max_load: float, timeout: float) -> dict[str, float]:
    """Wait (up to `timeout` seconds) until the 1-minute load average is at most `max_load`; the load."""
    deadline = time.monotonic() + timeout
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        time.sleep(5)
    return load_average()


def percentiles(ms: list[float]) -> dict[str, float]:
    """p50 and p95 (nearest rank) and the count, in ms."""
    if not ms:
        return {"n": 0}
    ordered = sorted(ms)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1), "n": len(ordered)}


async def page_loads(browser: Any, url: str, n: int) -> dict[str, Any]:
    """`n` new visitors one after the other (each a new browser context: no cache, a new session) open
    the app with its defaults: ms from navigation start until the verdict, tiles and curve are drawn, and
    until the band's caption is."""
    band = want(PRESETS.scenarios[S.DEFAULT_PRESET]).band
    drawn, banded = [], []
    for _ in range(n):
        context = await browser.new_context(viewport={"width": 1400, "height": 1400})
        page = await context.new_page()
        await page.goto(f"{url}/", wait_until="commit")
        drawn.append(await until(page, LOADED, what="page load"))
        banded.append(await until(page, BANDED_AFTER_LOAD, band, "band after the page load"))
        await context.close()
    return {
        "page_ms": percentiles(drawn),
        "first_ms": round(drawn[0], 1),
        "band_ms": percentiles(banded),
        "band_first_ms": round(banded[0], 1),
    }


async def until(page: Any, js: str, arg: Any = None, what: str = "") -> Any:
    """The value of `js` (a JavaScript predicate, checked every POLL_MS) once it is true; on a timeout, an
    error with what the page shows."""
    try:
        handle = await page.wait_for_function(js, arg=arg, polling=POLL_MS, timeout=WAIT_MS)
    except Exception as exc:
        shown = await page.evaluate(PAGE_STATE)
        shown["lines"] = f"{len(shown['lines'])} characters"
        raise RuntimeError(f"{what}: waited for {arg}; the page at {page.url} shows {shown}") from exc
    return await handle.json_value()


class SessionRun:
    """One person's session (a page in its own browser context): lever changes (a new monthly churn each
    time, not among the server's kept bands, so each change starts a new band) and, every `switch_every`
    changes, a switch to the other scenario (and back the next time); browser times in ms."""

    def __init__(self, switch_every: int) -> None:
        self.switch_every = switch_every
        self.base_id = SERVICE_ID
        self.levers: dict[str, dict[str, float]] = {SERVICE_ID: {}, OTHER_ID: {}}
        self.changes = 0
        self.update_ms: list[float] = []
        self.band_ms: list[float] = []
        self.switch_ms: list[float] = []
        self.errors: list[str] = []

    used = itertools.count()
    """Churn values handed out, across sessions."""

    def next_churn(self) -> float:
        """A churn (%) no session has used lately (0.5 … 20.4 % in steps of 0.1 %, shared by all sessions)
        and not a scenario's own: its band is not among the server's kept ones, so the change starts a
        new band."""
        while True:
            value = round(0.5 + 0.1 * (next(SessionRun.used) % 200), 1)
            if value not in DEFAULT_CHURNS:
                self.changes += 1
                return value

    async def open(self, browser: Any, url: str) -> None:
        context = await browser.new_context(viewport={"width": 1400, "height": 1400})
        self.page = await context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        await self.page.goto(f"{url}/?preset={SERVICE_ID}", wait_until="commit")
        await self.settle(want(PRESETS.scenarios[SERVICE_ID]))

    async def close(self) -> None:
        await self.page.context.close()

    async def settle(self, wanted: Any) -> None:
        await until(self.page, SHOWS, wanted.__dict__, "settled")

    async def step(self) -> None:
        """One change: a lever, or every `switch_every`-th time a scenario switch."""
        if self.switch_every and self.changes and self.changes % self.switch_every == 0:
            await self.switch()
        await self.move_lever()

    async def watch(self, wanted: Any) -> None:
        """Arm the page's watch (WATCH) for a change to `wanted`."""
        before = await self.page.evaluate(PAGE_STATE)
        caption = next((c for c in before["captions"] if c.startswith(wanted.band)), None)
        await self.page.evaluate(WATCH, [wanted.__dict__, before["lines"], caption])

    async def move_lever(self) -> None:
        base = PRESETS.scenarios[self.base_id]
        churn = self.levers[self.base_id][CHURN] = self.next_churn()
        wanted = want(base, self.levers[self.base_id])
        await self.watch(wanted)
        box = self.page.locator(lever_css(self.base_id, CHURN))
        await box.fill(str(churn))
        await box.press("Enter")
        self.update_ms.append(
            await until(self.page, "() => window.__updated", wanted.__dict__, f"churn {churn}")
        )
        self.band_ms.append(await until(self.page, "() => window.__banded", wanted.__dict__, f"band {churn}"))

    async def switch(self) -> None:
        self.base_id = OTHER_ID if self.base_id == SERVICE_ID else SERVICE_ID
        base = PRESETS.scenarios[self.base_id]
        wanted = want(base, self.levers[self.base_id])
        await self.watch(wanted)
        await self.page.locator(".st-key-preset").click()
        await self.page.get_by_role("option", name=PRESETS.label(self.base_id, "en"), exact=True).click()
        what = f"switch to {self.base_id}"
        self.switch_ms.append(await until(self.page, "() => window.__updated", wanted.__dict__, what))
        await self.settle(wanted)  # its band (maybe one it had before) drawn before the next change


async def sessions_at_once(
    browser: Any,
    server: Server,
    sessions: int,
    rounds: int,
    blocks: int,
    switch_every: int,
    think: tuple[float, float],
) -> dict[str, Any]:
    """`sessions` people at once, each making `rounds` changes (a lever, or a scenario switch every
    `switch_every`), each change once the previous one's band is drawn and a pause of `think` seconds
    (uniform between the two; a fixed random sequence per person), then closing the page; `blocks` times
    over with new people (new sessions). The server's memory (MB, its own and with the band's workers)
    after each block."""

    async def person(run: SessionRun, rng: random.Random) -> None:
        for _ in range(rounds):
            await asyncio.sleep(rng.uniform(*think))
            await run.step()

    blocks_of_runs: list[list[SessionRun]] = []
    memory = []
    for block in range(blocks):
        runs = [SessionRun(switch_every) for _ in range(sessions)]
        await asyncio.gather(*(run.open(browser, server.url) for run in runs))
        await asyncio.gather(
            *(person(run, random.Random(k + block * sessions)) for k, run in enumerate(runs))
        )
        await asyncio.gather(*(run.close() for run in runs))
        blocks_of_runs.append(runs)
        memory.append({"after": f"{(block + 1) * sessions} sessions came and went", **_rss(server.pid)})
    runs = [run for block in blocks_of_runs for run in block]
    return {
        "sessions": sessions,
        "changes_per_session": rounds,
        "think_s": list(think),
        "sessions_in_all": len(runs),
        "update_ms": percentiles([ms for run in runs for ms in run.update_ms]),
        "update_ms_by_session": [
            percentiles([ms for block in blocks_of_runs for ms in block[k].update_ms])
            for k in range(sessions)
        ],
        "band_ms": percentiles([ms for run in runs for ms in run.band_ms]),
        "switch_ms": percentiles([ms for run in runs for ms in run.switch_ms]),
        "memory_mb": memory,
        "page_errors": [e for run in runs for e in run.errors],
    }


def _rss(pid: int) -> dict[str, float]:
    return {"server_mb": round(rss_mb(pid), 1), "with_workers_mb": round(rss_mb(pid, children=True), 1)}


async def browser_figures(
    loads: int, rounds: int, sessions: int, blocks: int, think: tuple[float, float]
) -> dict[str, Any]:
    """On one server: `loads` page loads, one session's lever changes, then `sessions` at once."""
    from playwright.async_api import async_playwright

    out: dict[str, Any] = {}
    with app_server(timeout=60) as server:
        out["memory_mb_start"] = _rss(server.pid)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            try:
                out["load"] = await page_loads(browser, server.url, loads)
                out["one_session"] = await sessions_at_once(browser, server, 1, rounds, 1, 0, think)
                out["many_sessions"] = await sessions_at_once(
                    browser, server, sessions, rounds, blocks, 4, think
                )
            finally:
                await browser.close()
        out["memory_mb_end"] = _rss(server.pid)
    return out


def print_browser(figures: dict[str, Any]) -> None:
    load, one, many = figures["load"], figures["one_session"], figures["many_sessions"]
    print(f"  machine load before: {figures['load_before']}, after: {figures['load_after']}")
    print(
        f"  page load (new visitor, verdict + tiles + curve): first {load['first_ms']} ms, then "
        f"p50 {load['page_ms']['p50']} / p95 {load['page_ms']['p95']} ms of {load['page_ms']['n']} loads; "
        f"band drawn: first {load['band_first_ms']} ms, p50 {load['band_ms']['p50']} ms"
    )
    think = "–".join(f"{x:g}" for x in many["think_s"])
    print(f"  each person: a change, its band drawn, a pause of {think} s, the next change")
    print("  (the browsers run on this machine too: their drawing shares its cores with the server and the")
    print(
        "  band's workers, which run at the lowest priority; people's own computers would draw their pages)"
    )
    for label, run in (("one session", one), (f"{many['sessions']} sessions at once", many)):
        u, b = run["update_ms"], run["band_ms"]
        print(
            f"  {label}: lever change -> verdict, tiles and curve redrawn p50 {u['p50']} / p95 {u['p95']} ms "
            f"({u['n']} changes); band drawn p50 {b['p50']} / p95 {b['p95']} ms"
        )
    s = many["switch_ms"]
    print(f"    scenario switch -> redrawn p50 {s.get('p50')} / p95 {s.get('p95')} ms ({s['n']} switches)")
    per = ", ".join(f"{r['p50']:.0f}/{r['p95']:.0f}" for r in many["update_ms_by_session"])
    print(f"    per session, update p50/p95 ms: {per}")
    print(
        "  server memory (MB, its own and with the band's workers), before the first page: "
        f"{figures['memory_mb_start']}"
    )
    for m in one["memory_mb"] + many["memory_mb"]:
        print(f"    after {m['after']}: server {m['server_mb']}, with workers {m['with_workers_mb']}")
    errors = one["page_errors"] + many["page_errors"]
    print(f"  JavaScript errors on the pages: {len(errors)} {errors[:3] if errors else ''}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=20)
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--loads", type=int, default=10, help="page loads of new visitors")
    parser.add_argument("--rounds", type=int, default=10, help="changes per session and block")
    parser.add_argument("--sessions", type=int, default=8, help="sessions at once")
    parser.add_argument("--blocks", type=int, default=3, help="blocks of rounds (memory after each)")
    parser.add_argument(
        "--think", type=float, nargs=2, default=(1.0, 3.0), help="pause before each change, s (from, to)"
    )
    parser.add_argument("--max-load", type=float, default=None, help="wait for this 1-minute load first")
    parser.add_argument("--browser-only", action="store_true", help="only the browser figures")
    args = parser.parse_args(argv)
    figures: dict = {"benchmark": "app", "cpus": os.cpu_count()}
    browser = not args.no_browser and Path(CHROMIUM).exists()
    if browser:
        if args.max_load is not None:
            figures["load_waited"] = wait_quiet(args.max_load, 600)
        print(f"In headless Chromium (browser time), machine load {load_average()}:")
        before = load_average()
        figures["browser"] = asyncio.run(
            browser_figures(args.loads, args.rounds, args.sessions, args.blocks, tuple(args.think))
        )
        figures["browser"] |= {"load_before": before, "load_after": load_average()}
        print_browser(figures["browser"])
    if args.browser_only:
        print(json.dumps(figures))
        return figures

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
