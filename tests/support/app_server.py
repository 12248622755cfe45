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
from typing import TYPE_CHECKING

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


def open_pages(
    browser: Browser, url: str, queries: Sequence[str], width: int = 1400, height: int = 1400
) -> list[Session]:
    """One page per query (`?…` of the app), each in its own browser context, so each is its own Streamlit
    session (no shared cookies or storage), all loading at once."""
    sessions = []
    for query in queries:
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        session = Session(page, [])
        page.on("pageerror", lambda e, errors=session.errors: errors.append(str(e)))
        page.goto(f"{url}/?{query}", wait_until="commit")
        sessions.append(session)
    return sessions


def page_settled(page: Page, timeout_ms: float = 60_000) -> None:
    """Wait until the page shows its tiles and cash chart and no script run is going (the status widget
    gone)."""
    page.locator("[data-testid='stMetricValue']").first.wait_for(timeout=timeout_ms)
    page.locator("[data-testid='stVegaLiteChart'] svg").first.wait_for(timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stStatusWidget']\")", timeout=timeout_ms
    )


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
