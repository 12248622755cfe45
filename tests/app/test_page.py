"""The page as an owner meets it (AppTest): the verdict above the chart, the guided start and the glossary,
the sales desk's answer in plain words, uploads that never blank the page nor switch the band off, and
the server's settings (no Deploy button, no file watcher over .venv). Every figure expected is computed
from the model at test time."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import sim
from sim.app import answers, views
from sim.app import state as S
from sim.model.scenario import MAX_FILE_BYTES
from sim.report import texts

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PRESETS = S.load_presets(ROOT / "scenarios")
DEALER = PRESETS.scenarios["car_dealer"]
SALON = (ROOT / "scenarios" / "beauty_salon.toml").read_bytes()
BAD = b"name = 'x'\nhorizon_months = 0\n"


def open_page(**params: object) -> AppTest:
    """The page opened with these query parameters (none: as a new visitor opens it)."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = str(value)
    return at.run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def break_even_tile(at: AppTest) -> str:
    """The break-even tile's figure."""
    label = texts.t("en", "t_break_even_month")
    return next(m.value for m in at.metric if m.label == label)


def break_even(sc: sim.Scenario) -> str:
    return texts.month(sim.expected(sc).kpi["break_even_month"])


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    return at.file_uploader(key="upload_file").set_value((name, data, "application/toml")).run()


# --- defect 1: the upload detour keeps the Monte Carlo band on ---------------------------------------


def test_upload_detour_keeps_the_band_on_and_the_link_clean():
    """Choosing "Upload a scenario…" (without uploading) and going back used to drop replications and seed
    to 0 for the rest of the session, and the link then carried reps=0&seed=0."""
    at = open_page()  # a new visitor: the band on by default
    at.selectbox(key="preset").set_value(S.UPLOAD).run()
    no_exception(at)
    at.selectbox(key="preset").set_value("car_dealer_service").run()
    at.run()  # a lever's or the band's next run: the link as the page keeps it
    no_exception(at)
    assert (at.session_state["reps"], at.session_state["seed"]) == (S.DEFAULT_REPLICATIONS, S.DEFAULT_SEED)
    assert at.number_input(key="reps").value == S.DEFAULT_REPLICATIONS
    assert dict(at.query_params) == {"preset": "car_dealer_service"}  # no reps=0, no seed=0
    assert texts.t("en", "band_off") not in [c.value for c in at.caption]


def test_upload_detour_keeps_the_analysts_settings_and_levers():
    at = open_page(reps=3, seed=7, **{"retention.monthly_churn": "0.025"})
    at.selectbox(key="preset").set_value(S.UPLOAD).run()
    at.selectbox(key="preset").set_value("beauty_salon").run()
    at.selectbox(key="preset").set_value("car_dealer").run()
    at.run()
    no_exception(at)
    assert at.number_input(key="v|car_dealer|retention.monthly_churn").value == pytest.approx(2.5)
    assert dict(at.query_params) == {"reps": "3", "seed": "7", "retention.monthly_churn": "0.025"}


# --- defect 11: a bad upload keeps the last good view, the error above it ------------------------------


def test_bad_upload_keeps_the_last_good_view_with_the_error_above_it():
    at = open_page(reps=0)
    dealer = break_even_tile(at)
    assert dealer == break_even(DEALER)
    at.selectbox(key="preset").set_value(S.UPLOAD).run()  # no file yet: the dealer stays on the page
    no_exception(at)
    name = texts.item_name(DEALER, "en")
    assert [i.value for i in at.main.info] == [texts.t("en", "pg_upload_waiting", name=name)]
    assert break_even_tile(at) == dealer
    upload(at, "bad.toml", BAD)
    no_exception(at)
    assert len(at.main.error) == 1 and "bad.toml" in at.main.error[0].value  # in the page, not the sidebar
    assert at.main.error[0].value.startswith(texts.t("en", "pg_upload_bad", error=""))
    assert texts.t("en", "pg_upload_kept", name=name) in [i.value for i in at.main.info]
    assert break_even_tile(at) == dealer and len(at.get("vega_lite_chart")) >= 1
    assert dict(at.query_params) == {"reps": "0"}  # the link reproduces the view shown: the dealer
    upload(at, "salon.toml", SALON)
    salon = break_even(sim.loads_scenario(SALON.decode()))
    assert break_even_tile(at) == salon and not at.main.error
    upload(at, "big.toml", b"#" * (MAX_FILE_BYTES + 1))  # the salon stays
    no_exception(at)
    assert "larger than" in at.main.error[0].value and break_even_tile(at) == salon
    assert dict(at.query_params)["preset"] == S.UPLOAD and "src" in at.query_params


def test_shown_base_keeps_the_last_good_one():
    base = S.Base("car_dealer", DEALER)
    assert S.shown_base(base, None, {}) == S.Shown(base)
    assert S.shown_base(None, "boom", {S.LAST_BASE: base}) == S.Shown(base, "boom", kept=True)
    assert S.shown_base(None, None, {}) == S.Shown(None)
    view = S.link_view({"preset": S.UPLOAD, "reps": 3}, base, {})  # the link names the scenario shown
    assert view.preset == "car_dealer" and view.replications == 3


# --- a verdict first, a guided start, a glossary ---------------------------------------------------


def test_the_verdict_is_above_the_chart():
    verdict = getattr(views, "verdict", None)
    if verdict is None:
        pytest.skip("views.verdict has not landed yet")
    at = open_page(reps=0, lang="ru")
    no_exception(at)
    said = verdict(sim.expected(DEALER), "ru")
    assert at.main.subheader[0].value == said
    parts = list(at.main.children.values())
    chart = [getattr(part, "type", "") for part in parts].index("vega_lite_chart")
    above = [i for i, part in enumerate(parts) if part.type == "flex_container" and part.subheader]
    assert above and above[0] < chart and parts[above[0]].subheader[0].value == said


def test_guided_start_tells_the_articles_story_and_can_be_dismissed():
    at = open_page(preset="car_dealer_service", reps=0)
    steps = [f"pg_step_{step}" for step in S.GUIDE_STEPS]
    assert [b.label for b in at.button if b.key in steps] == [texts.t("en", k) for k in steps]
    both = S.apply_switches(DEALER, {"repeat": True, "referrals": True}, PRESETS.donors())
    service = S.apply_switches(DEALER, {"repeat": True}, PRESETS.donors())
    shown = {}
    for step, sc in (("loss", DEALER), ("service", service), ("referrals", both)):
        at.button(key=f"pg_step_{step}").click().run()
        no_exception(at)
        assert at.selectbox(key="preset").value == S.GUIDE_PRESET
        assert break_even_tile(at) == break_even(sc)
        assert texts.t("en", f"pg_step_{step}_text") in [m.value for m in at.markdown]
        shown[step] = sim.expected(sc).kpi
    # The story: the curve falls for ever, falls more slowly with service visits, crosses zero with
    # referrals too.
    assert math.isnan(shown["loss"]["break_even_month"]) and math.isnan(shown["service"]["break_even_month"])
    assert shown["loss"]["final_cumulative_cash"] < shown["service"]["final_cumulative_cash"] < 0
    assert math.isfinite(shown["referrals"]["break_even_month"])
    assert dict(at.query_params) == {"on": "repeat,referrals", "reps": "0"}
    at.button(key="pg_guide_hide").click().run()
    at.run()
    no_exception(at)
    assert not [b for b in at.button if b.key in steps]  # not shown again in this session
    at.button(key="pg_guide_show").click().run()  # the glossary offers it again
    assert [b.key for b in at.button if b.key in steps] == steps


def test_a_guided_step_starts_from_the_articles_figures():
    at = open_page(reps=0, **{"channels.0.cost_per_lead": "1500"})
    at.button(key="pg_step_referrals").click().run()
    both = S.apply_switches(DEALER, {"repeat": True, "referrals": True}, PRESETS.donors())
    assert break_even_tile(at) == break_even(both)
    assert "channels.0.cost_per_lead" not in at.query_params
    assert S.guide_step(at.session_state.to_dict()) == "referrals"
    at.toggle(key="sw|car_dealer|referrals").set_value(False).run()  # moved on: no step is current
    assert S.guide_step(at.session_state.to_dict()) is None


def test_glossary_explains_the_terms_in_both_languages():
    for lang in texts.LANGS:
        at = open_page(reps=0, lang=lang)
        no_exception(at)
        glossary = next(e for e in at.expander if e.label == texts.t(lang, "pg_glossary"))
        text = " ".join(m.value for m in glossary.markdown)
        for metric in ("break_even_month", "max_cash_need", "cac", "ltv", "payback_months"):
            assert f"**{texts.t(lang, f't_{metric}')}**" in text
        assert "P10–P90" in text and texts.t(lang, "pg_gl_replications") in text
    mc = [e.label for e in at.sidebar.expander]
    assert texts.t("ru", "pg_mc_title") in mc  # the Monte Carlo settings tucked away for analysts


# --- defect 9: the sales desk's question in plain words --------------------------------------------


def test_desk_says_plainly_when_it_is_never_the_bottleneck():
    desk = DEALER.sales_desk
    one = sim.expected(DEALER.override({"sales_desk.staff": 1})).kpi
    assert one["lost_lead_share"] < answers.NOBODY_LOST and one["desk_utilization"] < answers.IDLE_BUSY
    for lang in texts.LANGS:
        said = answers.desk_answer(DEALER, 0.05, lang)
        assert said.startswith(texts.t(lang, "pg_desk_idle").split("{")[0])
        calls = texts.number(DEALER.paid_leads_per_month, lang)
        assert calls in said  # the leads a month, then the hours they take against one salesperson's day
        assert texts.number(DEALER.paid_leads_per_month * desk.handling_minutes / 60, lang) in said
        why = texts.t(lang, "pg_desk_why_night", patience="24", closed="12")  # 12 h open, 24 h patience
        assert why in said
        assert texts.number(one["mean_wait_hours"], lang, 1) in said  # staff only shorten the wait
    qa = answers.answer_texts(answers.answer_numbers(DEALER, 60, 0.05), DEALER, "en", 60, 0.05)
    assert qa[1].answer == answers.desk_answer(DEALER, 0.05, "en")  # the answers tab says the same


def test_desk_says_when_closed_hours_not_staff_lose_the_leads():
    impatient = DEALER.override({"sales_desk.patience_hours": 2.0})  # callers give up before the morning
    said = answers.desk_answer(impatient, 0.05, "en")
    assert said.startswith(texts.t("en", "pg_desk_night_loss").split("{")[0])
    assert "2 h" in said and "12 h" in said
    busy = DEALER.override({"sales_desk.handling_minutes": 60.0})  # here staff matter: the fewest who do
    got = answers.answer_numbers(busy, 60, 0.05).staff
    assert got.status == answers.AnswerStatus.VALUE
    people = texts.count(got.value, "ru", "salesperson")
    assert answers.desk_answer(busy, 0.05, "ru").startswith(f"**{people}**")


def test_desk_tab_shows_the_answer_above_the_curve():
    at = open_page(reps=0, tab="desk", lang="ru")
    no_exception(at)
    assert answers.desk_answer(DEALER, S.DEFAULT_MAX_LOST, "ru") in [m.value for m in at.markdown]


# --- defect 14: the server's settings ------------------------------------------------------------------


def test_server_settings_hide_deploy_and_do_not_watch_the_venv():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["toolbarMode"] in ("viewer", "minimal")  # no Deploy button
    assert config["server"]["fileWatcherType"] == "none"  # no watch over .venv's folders
    dev = (ROOT / "dev").read_text(encoding="utf-8")
    app_command = dev.split("  app)", 1)[1].split(";;", 1)[0]
    assert "fileWatcherType" not in app_command.replace("--server.fileWatcherType=auto", "")
    assert 'cd "$(dirname "$0")"' in dev  # run from the root, where .streamlit/config.toml is read
