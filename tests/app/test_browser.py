"""The app in a real browser: `streamlit run app.py` on 127.0.0.1, driven by headless Chromium (Debian's
`chromium`, through Playwright). Skipped when the browser is missing, unless SIM_REQUIRE_BROWSER=1 (as in
`.ci/run`), which makes a missing browser a failure."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_server import CHROMIUM, LAUNCH_ARGS, streamlit_server

REQUIRED = os.environ.get("SIM_REQUIRE_BROWSER") == "1"
TIMEOUT_MS = 30_000


def _missing(why: str) -> None:
    if REQUIRED:
        pytest.fail(f"{why} (SIM_REQUIRE_BROWSER=1: the browser test must run)")
    pytest.skip(why)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free port of 127.0.0.1 (stopped after, with its process group)."""
    with streamlit_server(tmp_path / "streamlit.log") as url:
        yield url


@pytest.fixture
def chromium() -> str:
    """Chromium's path, after checking Playwright and the browser are there (before starting a server)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("playwright is not installed")
    if not Path(CHROMIUM).exists():
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.mark.timeout(120)
def test_slider_moves_the_break_even_tile_in_chromium(chromium: str, server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS, timeout=TIMEOUT_MS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server}/?preset=car_dealer_service&reps=4")
            tile = page.locator("[data-testid='stMetric']").first.locator("[data-testid='stMetricValue']")
            tile.wait_for()
            page.locator("[data-testid='stVegaLiteChart'] svg").first.wait_for()
            assert tile.inner_text().strip() == "76"
            page.get_by_text(re.compile(r"^Band: 4 replications")).wait_for()  # the Monte Carlo band

            page.get_by_text("Convert: funnel and sales desk").click()  # open the lever group
            conversion = (
                page.locator("[data-testid='stSlider']")
                .filter(has_text="Conversion: Test drive → purchase")
                .get_by_role("slider")
            )
            conversion.focus()
            for _ in range(10):  # 10 % → 9 % of test drives end in a purchase
                conversion.press("ArrowLeft")
            page.wait_for_url(re.compile(r"funnel\.2\.conversion=0\.09\b"))
            # The page has settled: the tile and the curve's mark agree, the new band is drawn, nothing runs.
            page.wait_for_function(
                """() => {
                    const tile = document.querySelector("[data-testid='stMetricValue']").innerText.trim();
                    const chart = document.querySelector("[data-testid='stVegaLiteChart']");
                    const marks = Array.from(chart.querySelectorAll("text")).map(t => t.textContent);
                    const band = Array.from(document.querySelectorAll("[data-testid='stCaptionContainer']"))
                        .some(c => c.innerText.startsWith("Band: 4 replications"));
                    return tile !== "76" && marks.includes("break-even: month " + tile) && band
                        && !document.querySelector("[data-testid='stProgress']")
                        && !document.querySelector("[data-testid='stStatusWidget']");
                }"""
            )
            moved = tile.inner_text().strip()
            assert moved.isdigit() and int(moved) > 76  # fewer sales per lead: break-even later
            page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
            assert (tmp_path / "app.png").stat().st_size > 10_000
            assert not errors, errors
        finally:
            browser.close()
