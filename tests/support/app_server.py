"""The real app on a real server, for the browser test and the app benchmark: `streamlit run app.py` on
a free port of 127.0.0.1, and how to launch Debian's Chromium headless."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
CONFIG = ROOT / ".streamlit" / "config.toml"
"""The server's settings (read from the working directory, the repository root)."""
CHROMIUM = os.environ.get("SIM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running app server."""

    url: str
    pid: int
    """The server's process (the band's worker processes are its children)."""


@contextmanager
def streamlit_server(log: Path | None = None, timeout: float = 30.0) -> Iterator[str]:
    """Start the app's server and yield its URL once its health endpoint answers; the whole process group
    (the band's worker processes too) is stopped after. Output goes to `log` if given."""
    with app_server(log, timeout) as server:
        yield server.url


@contextmanager
def app_server(
    log: Path | None = None, timeout: float = 30.0, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """`streamlit_server`, yielding the server's URL and process id; `env` adds environment variables
    (e.g. SIM_BAND_IDLE_SECONDS)."""
    port = free_port()
    out = log.open("w") if log is not None else subprocess.DEVNULL
    # Run from the repository root, so the server reads .streamlit/config.toml as `./dev app` does
    # (headless, no file watcher, no usage statistics, no Deploy button).
    command = [sys.executable, "-m", "streamlit", "run", str(APP)]
    command += ["--server.address=127.0.0.1", f"--server.port={port}"]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text()[-2000:] if log is not None else ""
                raise RuntimeError(f"streamlit did not start: {tail}")
            time.sleep(0.05)
        yield Server(url, proc.pid)
    finally:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=wait)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        if log is not None:
            out.close()


# --- several sessions at once (tests/app/test_sessions.py, benchmarks/app.py) ---------------------------


@dataclass
class Session:
    """One browser session of the app: its page and the JavaScript errors it has raised."""

    page: Page
    errors: list[str]


STREAMLIT_CHART_RACE = "Unrecognized data set:"
"""A page error of Streamlit's own front end, not the app's: a Vega chart redrawn during a rerun can lose
the race between its new spec and its data (streamlit/streamlit issues 9616, 11342, 11906; still seen with
1.67 under load). The chart is drawn again at the next rerun; the tests leave this one message out."""


def watch_errors(page: Any, errors: list[str]) -> None:
    """Append every uncaught error of `page` to `errors`, except Streamlit's chart race above."""

    def seen(exc: Any) -> None:
        if STREAMLIT_CHART_RACE not in str(exc):
            errors.append(str(exc))

    page.on("pageerror", seen)


def open_pages(
    browser: Browser, url: str, queries: Sequence[str], width: int = 1400, height: int = 1400
) -> list[Session]:
    """One page per query (`?…` of the app), each in its own browser context, so each is its own Streamlit
    session (no shared cookies or storage), all loading at once."""
    sessions = []
    for query in queries:
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        session = Session(page, [])
        watch_errors(page, session.errors)
        page.goto(f"{url}/?{query}", wait_until="commit")
        sessions.append(session)
    return sessions


PAGE_STATE = r"""() => {
    const norm = s => s.split(/\s+/).filter(Boolean).join(' ');
    const all = (root, css) => root ? Array.from(root.querySelectorAll(css)) : [];
    const texts = (root, css) => all(root, css).map(e => norm(e.innerText ?? e.textContent));
    const verdict = document.querySelector('.st-key-pg_verdict');
    const chart = document.querySelector("[data-testid='stVegaLiteChart'] svg");
    return {
        verdict: verdict ? norm(verdict.innerText) : null,
        tiles: texts(document, "[data-testid='stMetricValue']"),
        lines: all(chart, 'g.mark-line path').map(p => p.getAttribute('d')).join('|'),
        captions: texts(document, "[data-testid='stCaptionContainer']"),
        progress: texts(document, "[data-testid='stProgress']"),
        running: !!document.querySelector("[data-testid='stStatusWidget']"),
        errors: texts(document, "[data-testid='stException'], [data-testid='stAlertContentError']"),
    };
}"""
"""JavaScript: what the app's page shows, whitespace normalised: the verdict, the tiles' figures, the cash
chart's lines (their SVG paths), the captions, the band's progress bars, whether a script run is going,
and any error boxes."""

SHOWS = f"""(want) => {{
    const s = ({PAGE_STATE})();
    return s.verdict === want.verdict && JSON.stringify(s.tiles) === JSON.stringify(want.tiles)
        && s.captions.some(c => c.startsWith(want.band)) && s.progress.length === 0 && !s.running;
}}"""
"""JavaScript, given a `Want`: the page shows its figures and its band is drawn, with nothing running."""


def norm(text: str) -> str:
    """Whitespace normalised as PAGE_STATE does (thin and non-breaking spaces → one space)."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Want:
    """What a page must show: the what-if's verdict and tiles, and the start of its band's caption."""

    verdict: str
    tiles: list[str]
    band: str


def whatif(base: Any, levers: dict[str, float] | None = None) -> Any:
    """The what-if scenario the page builds from `base` with these levers set (widget units, e.g. churn
    in %)."""
    from sim.app import state as S

    specs = S.fields(base)
    return S.build_whatif(base, specs, {**S.widget_values(base, specs), **(levers or {})}).scenario


def want(base: Any, levers: dict[str, float] | None = None, lang: str = "en", reps: int = 20) -> Want:
    """The verdict and tiles of the what-if against `base` as loaded, computed from the model now, in
    `lang`, and the start of the caption of a band of `reps` runs."""
    import sim
    from sim.app import views
    from sim.report import texts

    sc = whatif(base, levers)
    result, loaded = sim.expected(sc), sim.expected(base)
    tiles = views.tiles(result.kpi, loaded.kpi, sc.currency, lang, horizon=sc.horizon_months)
    band = texts.t(lang, "band_ready").split(",")[0].format(reps=texts.count(reps, lang, "run"))
    return Want(norm(views.verdict(result, lang)), [norm(t.value) for t in tiles], norm(band))


def link(base: Any, preset: str, levers: dict[str, float] | None = None, **view: Any) -> str:
    """The query string of a link to `preset` (whose scenario is `base`) with these levers (widget units)
    and view settings (`sim.app.state.View` fields)."""
    from sim.app import state as S

    specs = {s.path: s for s in S.fields(base)}
    values = {path: specs[path].to_model(v) for path, v in (levers or {}).items()}
    params = S.encode_view(S.View(preset=preset, values=values, **view))
    return "&".join(f"{k}={v}" for k, v in params.items())


def lever_css(base_id: str, path: str) -> str:
    """The CSS selector of a lever's number box or slider (Streamlit's class from the widget's key)."""
    from sim.app import state as S

    key = "".join(c if c.isalnum() or c in "_-" else "-" for c in S.lever_key(base_id, path))
    return f".st-key-{key} input, .st-key-{key} [role='slider']"


def worker_cpu_seconds(pid: int) -> float:
    """CPU time (user + system, seconds) used so far by the server's child processes: the band's workers."""
    import psutil

    total = 0.0
    for child in psutil.Process(pid).children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def rss_mb(pid: int, children: bool = False) -> float:
    """Resident memory of the server's process (with `children`: and its worker processes), in MB."""
    import psutil

    procs = [psutil.Process(pid)]
    if children:
        procs += psutil.Process(pid).children(recursive=True)
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


def require_browser() -> str:
    """Chromium's path, after checking Playwright and the browser are there; a missing one skips the test,
    or fails it with SIM_REQUIRE_BROWSER=1 (as in `.ci/run`)."""
    import pytest

    why = ""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        why = "playwright is not installed"
    if not why and not Path(CHROMIUM).exists():
        why = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if why and os.environ.get("SIM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why} (SIM_REQUIRE_BROWSER=1: the browser test must run)")
    if why:
        pytest.skip(why)
    return CHROMIUM
