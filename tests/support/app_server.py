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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
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


@contextmanager
def streamlit_server(log: Path | None = None, timeout: float = 30.0) -> Iterator[str]:
    """Start the app's server and yield its URL once its health endpoint answers; the whole process group
    (the band's worker processes too) is stopped after. Output goes to `log` if given."""
    port = free_port()
    out = log.open("w") if log is not None else subprocess.DEVNULL
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless=true"]
    command += ["--server.address=127.0.0.1", f"--server.port={port}", "--server.fileWatcherType=none"]
    command += ["--browser.gatherUsageStats=false"]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
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
        yield url
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
