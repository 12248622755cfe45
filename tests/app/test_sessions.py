"""Several people on one server at once: five headless Chromium sessions (each its own browser context,
so its own Streamlit session) against one `streamlit run app.py`, moving levers, switching scenarios and
uploading at the same time. Each session sees only its own settings and figures (computed from the model
at test time), a small band is not held up by another session's long one (the workers take the
sessions' pieces in turn), a closed page's band is cancelled (the workers go idle), and no page shows an
error. Skipped without a browser, unless SIM_REQUIRE_BROWSER=1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from app_server import (
    LAUNCH_ARGS,
    PAGE_STATE,
    ROOT,
    SHOWS,
    Server,
    Session,
    Want,
    app_server,
    lever_css,
    link,
    open_pages,
    require_browser,
    want,
    worker_cpu_seconds,
)

from sim.app import state as S

PRESETS = S.load_presets(ROOT / "scenarios")
SERVICE_ID = "car_dealer_service"
SERVICE = PRESETS.scenarios[SERVICE_ID]
CHURN = "retention.monthly_churn"
LEADS = "channels.0.leads_per_month"
IDLE = 3.0
"""SIM_BAND_IDLE_SECONDS of the test's server: a page silent this long counts as closed."""
TIMEOUT_MS = 240_000  # generous: four browsers, the server and its band workers share 2 cores
"""Generous: five pages and the band's workers share the machine's cores (no timing is asserted)."""


def settle(session: Session, wanted: Want, what: str) -> dict:
    """Wait until the page shows `wanted` (figures and band, nothing running); what it shows."""
    try:
        session.page.wait_for_function(SHOWS, arg=wanted.__dict__, timeout=TIMEOUT_MS)
    except Exception as exc:  # say what the page shows instead
        shown = session.page.evaluate(PAGE_STATE)
        raise AssertionError(f"{what}: wanted {wanted}, the page shows {shown}") from exc
    return session.page.evaluate(PAGE_STATE)


def set_lever(session: Session, base_id: str, path: str, value: float) -> None:
    """Type a value into a lever's number box and press Enter."""
    box = session.page.locator(lever_css(base_id, path))
    box.fill(str(value))
    box.press("Enter")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    require_browser()
    log = tmp_path / "streamlit.log"
    with app_server(log, env={"SIM_BAND_IDLE_SECONDS": str(IDLE)}) as running:
        yield running
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]


@pytest.mark.timeout(900)
def test_sessions_at_once_see_their_own_figures_share_the_workers_and_stop_when_closed(
    server: Server, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    churn = {"b": 1.0, "c": 2.0, "d": 3.0, "e": 4.0}  # each session's monthly churn, %
    lang = {"b": "en", "c": "en", "d": "en", "e": "ru"}
    queries = {"a": link(SERVICE, SERVICE_ID, {LEADS: 5000.0}, replications=1000, seed=9)}  # a long band
    queries |= {k: link(SERVICE, SERVICE_ID, {CHURN: c}, lang=lang[k]) for k, c in churn.items()}
    long_band = want(SERVICE, {LEADS: 5000.0}, reps=1000).band

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require_browser(), args=LAUNCH_ARGS, timeout=TIMEOUT_MS)
        try:
            sessions = dict(
                zip(queries, open_pages(browser, server.url, list(queries.values())), strict=True)
            )

            # 1. Each page shows its own churn's figures, and its band is ready while the long one still runs.
            sessions["a"].page.locator("[data-testid='stProgress']").wait_for(timeout=TIMEOUT_MS)
            for k in churn:
                settle(sessions[k], want(SERVICE, {CHURN: churn[k]}, lang[k]), f"session {k} on load")
            a = sessions["a"].page.evaluate(PAGE_STATE)
            assert a["progress"], f"the long band is not running any more: {a}"  # not held up behind it
            assert not any(c.startswith(long_band) for c in a["captions"])
            assert a["verdict"] == want(SERVICE, {LEADS: 5000.0}).verdict

            # 2. Close the long band's page mid-run: after IDLE seconds without its polls the job is cancelled
            # and the workers go idle (the band needs over half a minute more of both workers).
            sessions["a"].page.context.close()
            closed = time.monotonic()
            before = worker_cpu_seconds(server.pid)
            while True:
                time.sleep(2.0)
                after = worker_cpu_seconds(server.pid)
                if after - before < 0.3:
                    break
                assert time.monotonic() - closed < IDLE + 20, "the closed page's band still runs"
                before = after

            # 3. All at once: b types another churn, c switches to the beauty salon, d uploads its own
            # scenario, e (Russian) moves its churn; each page then shows its own figures and band.
            set_lever(sessions["b"], SERVICE_ID, CHURN, 2.5)
            set_lever(sessions["e"], SERVICE_ID, CHURN, 0.5)
            salon = PRESETS.scenarios["beauty_salon"]
            sessions["c"].page.locator(".st-key-preset").click()
            sessions["c"].page.get_by_role(
                "option", name=PRESETS.label("beauty_salon", "en"), exact=True
            ).click()
            uploaded = PRESETS.scenarios["car_dealer"].override(
                {"name": "Dealer of session d", "channels.0.cost_per_lead": 1900.0}
            )
            sessions["d"].page.locator(".st-key-preset").click()
            sessions["d"].page.get_by_role("option", name=PRESETS.label(S.UPLOAD, "en"), exact=True).click()
            sessions["d"].page.locator("input[type=file]").set_input_files(
                files=[
                    {
                        "name": "dealer_d.toml",
                        "mimeType": "application/toml",
                        "buffer": uploaded.to_toml().encode(),
                    }
                ]
            )
            wanted = {
                "b": want(SERVICE, {CHURN: 2.5}),
                "c": want(salon),
                "d": want(S.scenario_from_upload("dealer_d.toml", uploaded.to_toml().encode())),
                "e": want(SERVICE, {CHURN: 0.5}, "ru"),
            }
            assert len({w.verdict for w in wanted.values()}) == 4  # four different views
            shown = {k: settle(sessions[k], w, f"session {k} after its change") for k, w in wanted.items()}
            for k, s in shown.items():
                assert not s["errors"], (k, s["errors"])
                assert not sessions[k].errors, (k, sessions[k].errors)
                sessions[k].page.screenshot(path=str(tmp_path / f"session_{k}.png"), full_page=True)

            # 4. Each address bar carries its own settings only.
            params = {k: dict(parse_qsl(urlsplit(sessions[k].page.url).query)) for k in wanted}
            assert params["b"] == dict(parse_qsl(link(SERVICE, SERVICE_ID, {CHURN: 2.5})))
            assert params["c"] == {"preset": "beauty_salon"}
            assert params["d"].keys() == {"preset", "src"} and params["d"]["preset"] == S.UPLOAD
            assert S.unpack_source(params["d"]["src"]).to_toml() == uploaded.to_toml()
            assert params["e"] == dict(parse_qsl(link(SERVICE, SERVICE_ID, {CHURN: 0.5}, lang="ru")))
        finally:
            browser.close()
