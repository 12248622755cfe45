"""The app in a real browser: `streamlit run app.py` on 127.0.0.1, driven by headless Chromium (Debian's
`chromium`, through Playwright). Skipped when the browser is missing, unless SIM_REQUIRE_BROWSER=1 (as in
`.ci/run`), which makes a missing browser a failure."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_server import CHROMIUM, LAUNCH_ARGS, ROOT, streamlit_server, watch_errors

import sim
from sim.app import state as S
from sim.report import texts

REQUIRED = os.environ.get("SIM_REQUIRE_BROWSER") == "1"
TIMEOUT_MS = 30_000
SERVICE = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")
CONVERSION = "funnel.2.conversion"
"""The lever the test moves: the last funnel stage's conversion (a slider)."""


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

    loaded = texts.month(sim.expected(SERVICE).kpi["break_even_month"])  # the tile as loaded
    spec = next(s for s in S.fields(SERVICE) if s.path == CONVERSION)
    assert spec.slider
    label = texts.field_label("en", spec.key, SERVICE.funnel[2].name).replace(
        "->", "→"
    )  # as Markdown draws it
    moved_to = spec.to_model(spec.to_widget(SERVICE.funnel[2].conversion) - 10 * spec.step)  # 10 steps down
    in_link = S.encode_view(S.View(preset="car_dealer_service", values={CONVERSION: moved_to}))[CONVERSION]
    band = texts.t("en", "band_ready").split(",")[0].format(reps=4)  # "Band: 4 replications"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS, timeout=TIMEOUT_MS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            watch_errors(page, errors)
            page.goto(f"{server}/?preset=car_dealer_service&reps=4")
            tile = page.locator("[data-testid='stMetric']").first.locator("[data-testid='stMetricValue']")
            tile.wait_for()
            page.locator("[data-testid='stVegaLiteChart'] svg").first.wait_for()
            assert tile.inner_text().strip() == loaded
            page.get_by_text(re.compile("^" + re.escape(band))).wait_for()  # the Monte Carlo band

            page.get_by_text(texts.t("en", "g_Convert")).click()  # open the lever group
            conversion = page.locator("[data-testid='stSlider']").filter(has_text=label).get_by_role("slider")
            conversion.focus()
            for _ in range(10):  # one step is 0.1 %: fewer test drives end in a purchase
                conversion.press("ArrowLeft")
            page.wait_for_url(re.compile(re.escape(f"{CONVERSION}={in_link}") + r"(&|$)"))
            # The page has settled: the tile and the curve's mark agree, the new band is drawn, nothing runs.
            # The tile's value is read in the same check (a later rerun may redraw the page meanwhile).
            settled = page.wait_for_function(
                """([loaded, mark, band]) => {
                    const tile = document.querySelector("[data-testid='stMetricValue']").innerText.trim();
                    const chart = document.querySelector("[data-testid='stVegaLiteChart']");
                    const marks = Array.from(chart.querySelectorAll("text")).map(t => t.textContent);
                    const banded = Array.from(document.querySelectorAll("[data-testid='stCaptionContainer']"))
                        .some(c => c.innerText.startsWith(band));
                    const done = tile !== loaded && marks.includes(mark + tile) && banded
                        && !document.querySelector("[data-testid='stProgress']")
                        && !document.querySelector("[data-testid='stStatusWidget']");
                    return done ? tile : false;
                }""",
                arg=[loaded, texts.t("en", "break_even_at", n=""), band],
            )
            moved = str(settled.json_value())
            whatif = SERVICE.override({CONVERSION: moved_to})
            assert moved == texts.month(sim.expected(whatif).kpi["break_even_month"])
            assert int(moved) > int(loaded)  # fewer sales per lead: break-even later
            page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
            assert (tmp_path / "app.png").stat().st_size > 10_000
            assert not errors, errors
        finally:
            browser.close()


@pytest.mark.timeout(240)
def test_phone_shows_the_verdict_and_the_chart_first_without_deploy(
    chromium: str, server: str, tmp_path: Path
) -> None:
    """At 390 px the chart starts within the first screen (the verdict above it, the tiles two to a row
    below it); on a desktop the tiles are four to a row; no Deploy button (.streamlit/config.toml).
    Screenshots of each page in English and Russian are saved in the test's folder."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS, timeout=TIMEOUT_MS)
        try:
            for lang in texts.LANGS:
                for name, width, height, per_row in (("desktop", 1400, 900, 4), ("phone", 390, 844, 2)):
                    page = browser.new_page(viewport={"width": width, "height": height})
                    page.set_default_timeout(TIMEOUT_MS)
                    errors: list[str] = []
                    watch_errors(page, errors)
                    page.goto(f"{server}/?reps=0&lang={lang}")
                    page.locator("[data-testid='stVegaLiteChart'] svg").first.wait_for()
                    page.locator("[data-testid='stMetric']").nth(7).wait_for()
                    page.wait_for_function(
                        "() => !document.querySelector(\"[data-testid='stStatusWidget']\")"
                    )
                    chart = page.locator("[data-testid='stVegaLiteChart']").first.bounding_box()
                    assert chart is not None
                    verdict = page.locator(".st-key-pg_verdict")
                    if verdict.count():  # the owner's sentence (views.verdict) right above the chart
                        assert verdict.bounding_box()["y"] < chart["y"]
                    tiles = [page.locator("[data-testid='stMetric']").nth(i).bounding_box() for i in range(8)]
                    rows = sorted({round(t["y"]) for t in tiles})
                    assert len(rows) == 8 // per_row, (lang, name, rows)
                    assert tiles[0]["y"] > chart["y"]  # the chart first, then the figures
                    if name == "phone":
                        assert chart["y"] <= 600, f"{lang}: the chart starts {chart['y']:.0f} px down"
                        assert chart["width"] >= 300
                    assert page.locator("[data-testid='stAppDeployButton']").count() == 0
                    page.set_viewport_size({"width": width, "height": 2600})  # the whole page
                    page.wait_for_timeout(500)
                    shot = tmp_path / f"page_{lang}_{name}.png"
                    page.screenshot(path=str(shot), full_page=True)
                    assert shot.stat().st_size > 10_000
                    assert not errors, errors
                    page.close()
        finally:
            browser.close()


@pytest.mark.timeout(240)
def test_a_plan_typed_in_the_table_in_chromium(chromium: str, server: str, tmp_path: Path) -> None:
    """On the Russian page with a first month: a step's value typed into the plan's table goes into the
    link and the tiles; half a salesperson shows the scenario model's named error while the link keeps
    the last valid plan; the cash chart's axis names the years; the plan's tab has no English word."""
    from playwright.sync_api import sync_playwright

    staff = "sales_desk.staff"
    latin = re.compile(r"[A-Za-z][A-Za-z0-9_\-–]*")
    allowed = {"CAC", "LTV", "P10", "P90", "CSV", "XLSX", "PDF", "TOML"}

    def typed(page: Any, box: dict[str, float], value: str) -> None:
        """Type into the first row's value cell of the steps table: its first cell clicked (under the header
        row), two cells to the right (month, lever, value), Enter opens the cell's editor."""
        page.mouse.click(box["x"] + 60, box["y"] + 35 + 17)
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")
        page.wait_for_timeout(400)
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
        page.wait_for_timeout(200)
        page.keyboard.press("Enter")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS, timeout=TIMEOUT_MS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            watch_errors(page, errors)
            page.goto(
                f"{server}/?preset=car_dealer_service&reps=0&lang=ru&tab=plan&start=2027-01&plan=13:{staff}%3D6"
            )
            grid = page.locator("[data-testid='stDataFrame']").first
            grid.wait_for()
            page.wait_for_function("() => !document.querySelector(\"[data-testid='stStatusWidget']\")")
            years = page.locator("[data-testid='stVegaLiteChart']").first.locator(
                "g[aria-roledescription='axis'][aria-label^='X-axis'] g.role-axis-label text"
            )
            assert years.evaluate_all("els => els.map(e => e.textContent)")[:2] == ["2027", "2028"]
            grid.scroll_into_view_if_needed()
            typed(page, grid.bounding_box(), "7")
            page.wait_for_url(re.compile(re.escape(f"plan=13%3A{staff}%3D7") + r"(&|$)"))
            planned = SERVICE.override({"start": "2027-01", "plan": [{"from_month": 13, staff: 7}]})
            verdict = texts.verdict(sim.expected(planned), "ru")
            page.get_by_text(verdict).first.wait_for()
            panel = page.locator("[data-testid='stTabs']").first
            seen = set(latin.findall(panel.inner_text())) - allowed
            page.screenshot(path=str(tmp_path / "plan_typed_ru.png"), full_page=True)

            grid = page.locator("[data-testid='stDataFrame']").first
            grid.scroll_into_view_if_needed()
            typed(page, grid.bounding_box(), "6.5")
            named = f'plan[0]."{staff}" = 6.5: must be a whole number'
            page.get_by_text(named).first.wait_for()
            assert re.search(re.escape(f"plan=13%3A{staff}%3D7") + r"(&|$)", page.url), page.url
            page.screenshot(path=str(tmp_path / "plan_invalid_ru.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()
    assert not seen, f"English words on the Russian plan tab: {sorted(seen)}"


@pytest.mark.timeout(300)
def test_ranges_and_customers_who_differ_in_chromium(chromium: str, server: str, tmp_path: Path) -> None:
    """The Russian page with customers who differ and three ranges, its band on: the chance tile shows the
    band's figure (each run drawing the ranges: the background band simulates the TOML with its
    [uncertainty]), the sidebar draws the survival chart, the "Not sure?" tab the ranges and what to find
    out first, with no English word; screenshots on a desktop and a phone."""
    from playwright.sync_api import sync_playwright

    from sim.app import plans
    from sim.app.band import compute_band

    latin = re.compile(r"[A-Za-z][A-Za-z0-9_\-–]*")
    allowed = {"CAC", "LTV", "P10", "P90", "CSV", "XLSX", "PDF", "TOML"}
    ranges = (
        ("retention.monthly_churn", 0.01, 0.015, 0.03),
        ("channels.0.cost_per_lead", 2000, None, 2600),
        ("referrals.per_customer_per_year", 0.3, None, 0.9),
    )
    sc = plans.apply_ranges(S.apply_retention(SERVICE, "sbg"), ranges)
    n = S.default_by_month(sc.horizon_months)
    p = compute_band(sc.to_toml(), 4, 1).p_break_even_by(n)
    label = texts.t("ru", "un_p_label", n=n)
    figure = texts.percent(p, "ru", 0)
    query = S.encode_view(S.View(preset="car_dealer_service", lang="ru", replications=4, tab="uncertainty",
                                 retention="sbg", ranges=ranges))  # fmt: skip
    url = f"{server}/?" + "&".join(f"{k}={v}" for k, v in query.items())
    ready = texts.t("ru", "un_p_band").split("{")[0]
    seen: set[str] = set()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS, timeout=TIMEOUT_MS)
        try:
            for name, width, height in (("desktop", 1400, 1000), ("phone", 390, 844)):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.set_default_timeout(90_000)
                errors: list[str] = []
                watch_errors(page, errors)
                page.goto(url)
                page.get_by_text(re.compile("^" + re.escape(ready))).wait_for()  # the band's figure
                tile = page.locator(".st-key-pg_chance_tile")
                tile.locator("p.pg-chance-value").wait_for()
                page.wait_for_function("() => !document.querySelector(\"[data-testid='stStatusWidget']\")")
                assert [line.strip() for line in tile.inner_text().splitlines() if line.strip()] == [
                    label,
                    figure,
                ]
                page.locator("[data-testid='stMetric']").nth(7).wait_for()
                assert page.locator("[data-testid='stMetric']").count() == 8  # the KPI tiles alone
                panel = page.locator("[data-testid='stTabs']").first
                panel.get_by_text(texts.t("ru", "un_drivers_title")).first.wait_for()  # in the chart's title
                page.wait_for_function("() => !document.querySelector(\"[data-testid='stStatusWidget']\")")
                seen |= set(latin.findall(panel.inner_text())) - allowed
                page.screenshot(path=str(tmp_path / f"unsure_ru_{name}.png"), full_page=True)
                if name == "desktop":
                    sidebar = page.locator("[data-testid='stSidebar']")
                    sidebar.get_by_text(texts.t("ru", "rt_chart_title")).wait_for()
                    assert sidebar.locator("[data-testid='stVegaLiteChart'] svg").count() == 1
                    keep = sidebar.locator("[data-testid='stExpanderDetails']").filter(
                        has_text=texts.t("ru", "rt_model")
                    )  # the "Keep" group: customers' churn, α, β, the chart and its sentence
                    seen |= set(latin.findall(keep.inner_text())) - allowed
                assert not errors, errors
                page.close()
        finally:
            browser.close()
    assert not seen, f"English words in the new parts of the Russian page: {sorted(seen)}"


@pytest.mark.timeout(300)
def test_your_data_fits_the_example_and_opens_it_in_the_whatif(
    chromium: str, server: str, tmp_path: Path
) -> None:
    """The Russian "Your data" page on a desktop and a phone: the example fitted (the report, the five
    holdout charts drawn; on a phone the report as a list, not a table), no English word, then "Open in
    the what-if" shows the fitted scenario's verdict; screenshots of each in the test's folder."""
    from playwright.sync_api import sync_playwright

    from sim.app import data

    fitted = data.fit_uploads(data.example_uploads(ROOT / "examples" / "crm"), holdout=0).scenario
    verdict = texts.verdict(sim.expected(fitted), "ru")
    latin = re.compile(r"[A-Za-z][A-Za-z0-9_\-–]*")
    allowed = {
        "CSV",
        "XLSX",
        "TOML",
        "CRM",
        "MAPE",
        "AIC",
        "P10",
        "P10–P90",
        "P90",
        "UTF-8",
        "cp1251",
        "Excel",
        "S",
    }
    allowed |= {"examples", "crm", "leads", "visits", "spend", "csv", "purchase", "created_at", "sold_at"}
    allowed |= {"contacted_at", "t-"}  # the export's own names (the files must use them) and t-интервал
    seen: set[str] = set()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS, timeout=TIMEOUT_MS)
        try:
            for name, width, height in (("desktop", 1400, 1000), ("phone", 390, 844)):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.set_default_timeout(90_000)
                errors: list[str] = []
                watch_errors(page, errors)
                page.goto(f"{server}/?reps=0&lang=ru&page=data")
                page.get_by_text(texts.t("ru", "dt_source_example")).click()
                page.get_by_role("button", name=texts.t("ru", "dt_fit")).click()
                page.get_by_text(texts.t("ru", "dt_result_title")).wait_for()
                page.locator("[data-testid='stVegaLiteChart'] svg").nth(4).wait_for()
                page.wait_for_function("() => !document.querySelector(\"[data-testid='stStatusWidget']\")")
                table = page.locator(".st-key-dt_table_scenario")
                listed = page.locator(".st-key-dt_list_scenario")
                assert (table.is_visible(), listed.is_visible()) == (name == "desktop", name == "phone")
                main = page.locator("[data-testid='stMain']")
                icons = set(main.locator("[data-testid='stIconMaterial']").all_inner_texts())  # ligatures
                text = main.inner_text()
                seen |= set(latin.findall(text)) - allowed - icons
                page.screenshot(path=str(tmp_path / f"data_ru_{name}.png"), full_page=True)
                page.get_by_role("button", name=texts.t("ru", "dt_open")).click()
                page.get_by_text(verdict).first.wait_for()
                assert "preset=fitted" in page.url and "src=" in page.url
                page.screenshot(path=str(tmp_path / f"data_whatif_ru_{name}.png"), full_page=True)
                assert not errors, errors
                page.close()
        finally:
            browser.close()
    assert not seen, f"English words on the Russian data page: {sorted(seen)}"
