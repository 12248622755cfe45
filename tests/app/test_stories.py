"""The owner's stories in a real browser (headless Chromium against `streamlit run app.py`): the dealer's
story told in Russian with no English word on the page, and the Russian CSV download as Russian Excel
opens it. Every figure expected is computed from the model at test time; screenshots of each step are
saved in the test's temporary folder."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_server import CHROMIUM, LAUNCH_ARGS, ROOT, streamlit_server, watch_errors

import sim
from sim.app import state as S
from sim.report import texts

REQUIRED = os.environ.get("SIM_REQUIRE_BROWSER") == "1"
TIMEOUT_MS = 60_000
DEALER = sim.load_scenario(ROOT / "scenarios" / "car_dealer.toml")

ALLOWED_LATIN = {
    # Terms an owner reads in Russian business texts as they are, and file formats.
    "CAC",
    "LTV",
    "P10",
    "P90",
    "P10–P90",
    "CSV",
    "XLSX",
    "PDF",
    "TOML",
    # The language switch names both languages on purpose: «Language / Язык», «English».
    "Language",
    "English",
    # Streamlit's own hidden accessibility link and its icon ligatures (not shown as words).
    "Skip",
    "to",
    "main",
    "content",
    "keyboard",
    "arrow",
    "down",
    "right",
    "up",
    "left",
    "close",
    "expand",
    "more",
    "vert",
    "horiz",
    "check",
    "upload",
    "file",
    "download",
}
"""Latin words allowed on the Russian page; anything else is English left untranslated."""


def _missing(why: str) -> None:
    if REQUIRED:
        pytest.fail(f"{why} (SIM_REQUIRE_BROWSER=1: the browser test must run)")
    pytest.skip(why)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with streamlit_server(tmp_path / "streamlit.log") as url:
        yield url


@pytest.fixture
def chromium() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("playwright is not installed")
    if not Path(CHROMIUM).exists():
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


def _latin_words(text: str) -> set[str]:
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9_\-–]*", text))
    return {w for part in words for w in part.split("_")} - ALLOWED_LATIN - {""}


def _verdict_of(scenario: sim.Scenario) -> str:
    return texts.verdict(sim.expected(scenario), "ru")


@pytest.mark.timeout(240)
def test_dealers_story_in_russian_has_no_english_word(chromium: str, server: str, tmp_path: Path) -> None:
    """The plain dealer, then the three steps of the guided start (the loss, + service visits,
    + referrals), on the Russian page: each step's verdict is the model's, and no English word shows."""
    from playwright.sync_api import sync_playwright

    presets = S.load_presets(ROOT / "scenarios")
    donors = presets.donors()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        watch_errors(page, errors)
        page.goto(f"{server}/?lang=ru&reps=0")
        page.get_by_text(texts.t("ru", "pg_guide_title")).first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_text(_verdict_of(DEALER)).first.wait_for(timeout=TIMEOUT_MS)
        page.screenshot(path=str(tmp_path / "story_0_dealer.png"), full_page=True)
        seen: set[str] = set()
        for i, (step, switches) in enumerate(S.GUIDE_STEPS.items(), start=1):
            page.get_by_role("button", name=texts.t("ru", f"pg_step_{step}")).click()
            expected = _verdict_of(S.apply_switches(DEALER, switches, donors))
            page.get_by_text(expected).first.wait_for(timeout=TIMEOUT_MS)
            page.wait_for_timeout(500)  # the tiles and the chart follow the verdict in the same run
            seen |= _latin_words(page.inner_text("body"))
            page.screenshot(path=str(tmp_path / f"story_{i}_{step}.png"), full_page=True)
        browser.close()
    assert not errors, errors
    assert not seen, f"English words on the Russian page: {sorted(seen)}"


@pytest.mark.timeout(180)
def test_russian_csv_download_opens_in_russian_excel(chromium: str, server: str, tmp_path: Path) -> None:
    """The monthly CSV downloaded from the Russian page: `;` between columns, decimal commas, Russian
    headers, a BOM, and the rows are the model's months."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(f"{server}/?lang=ru&reps=0&preset=car_dealer_service")
        service = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")
        page.get_by_text(_verdict_of(service)).first.wait_for(timeout=TIMEOUT_MS)  # the page has run
        button = page.get_by_role("button", name=texts.t("ru", "dl_csv"))
        button.wait_for(timeout=TIMEOUT_MS)
        with page.expect_download(timeout=2 * TIMEOUT_MS) as info:
            button.click()
        path = tmp_path / "monthly_ru.csv"
        info.value.save_as(path)
        page.screenshot(path=str(tmp_path / "csv_page.png"))
        browser.close()
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads UTF-8"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert len(body) == service.horizon_months
    assert all(re.search("[А-Яа-я]", h) for h in header), header
    assert any(re.fullmatch(r"−?\d[\d\s\u00a0\u202f]*,\d+", cell) for row in body for cell in row), (
        "decimal commas"
    )
    assert not any(re.fullmatch(r"-?\d+\.\d+", cell) for row in body for cell in row), "no decimal points"
