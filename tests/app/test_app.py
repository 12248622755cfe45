"""The Streamlit app: its state, figures, answers, texts and charts without Streamlit, then the page
through `streamlit.testing.v1.AppTest` (levers move the tiles the right way, switches, uploads, the link),
and a fuzz of random lever values within their bounds. Every figure the page should show is computed
from the model at test time, not copied."""

from __future__ import annotations

import io
import json
import math
import random
import re
import time
from dataclasses import replace
from pathlib import Path

import altair as alt
import numpy as np
import openpyxl
import pandas as pd
import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

import sim
from sim.app import answers, views
from sim.app import state as S
from sim.app.answers import Answer, AnswerStatus
from sim.app.band import BandRunner, JobState, compute_band
from sim.model import paths
from sim.model.levers import levers as model_levers
from sim.model.scenario import MAX_FILE_BYTES
from sim.report import charts, frames, texts

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PRESETS = S.load_presets(ROOT / "scenarios")
MODEL_ERRORS = (ValueError, ArithmeticError)
SAME = texts.t("en", "same")
"""A tile's delta when the figure is as loaded."""


def break_even(sc: sim.Scenario, lang: str = "en") -> str:
    """The scenario's break-even month as a tile shows it (from the expected-value model)."""
    return texts.month(sim.expected(sc).kpi["break_even_month"], lang)


def run_app(**params: object) -> AppTest:
    """The page opened with these query parameters (Monte Carlo off unless given)."""
    at = AppTest.from_file(APP, default_timeout=60)
    params.setdefault("reps", 0)
    for key, value in params.items():
        at.query_params[key] = str(value)
    return at.run()


def tiles(at: AppTest) -> dict[str, object]:
    """KPI tiles by their metric (the English labels)."""
    by_label = {texts.t("en", f"t_{m}"): m for m in frames.TILE_METRICS}
    return {by_label[m.label]: m for m in at.metric if m.label in by_label}


def shown_number(text: str) -> float:
    """A tile's figure back as a number (`never` → inf)."""
    if text in (texts.t("en", "never"), texts.t("ru", "never")):
        return math.inf
    t = text.replace(texts.THIN, "").replace(texts.NBSP, " ").replace(texts.MINUS, "-").replace(",", ".")
    m = re.match(r"^([-+]?[\d.]+)\s*(M|B|k|млн|млрд)?", t)
    assert m, text
    scale = {"M": 1e6, "млн": 1e6, "B": 1e9, "млрд": 1e9, "k": 1e3}.get(m.group(2) or "", 1.0)
    return float(m.group(1)) * scale


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# --- state, texts, figures (no Streamlit) ----------------------------------------------------------


def test_every_preset_loads_and_parts_come_from_shipped_files():
    assert not PRESETS.errors
    assert set(PRESETS.scenarios) == {p.stem for p in (ROOT / "scenarios").glob("*.toml")}
    donors = PRESETS.donors()
    service = PRESETS.scenarios["car_dealer_service"].model_dump(mode="json")
    assert donors["repeat"] == S.Donor("car_dealer_service", service["repeat"])
    assert donors["referrals"] == S.Donor("car_dealer_service", service["referrals"])
    assert set(donors) == set(S.SWITCHES)  # every part can be switched on


def test_switching_service_and_referrals_on_for_the_plain_dealer():
    dealer = PRESETS.scenarios["car_dealer"]
    both = S.apply_switches(dealer, {"repeat": True, "referrals": True}, PRESETS.donors())
    service = PRESETS.scenarios["car_dealer_service"]
    assert both.repeat == service.repeat and both.referrals == service.referrals
    before, after = sim.expected(dealer).kpi, sim.expected(both).kpi
    assert math.isnan(before["break_even_month"])
    assert after["final_cumulative_cash"] > before["final_cumulative_cash"]
    assert after["max_cash_need"] < 0.5 * before["max_cash_need"]
    # Article 003's story: at the plain dealer's own churn, service and referrals bring the money back
    # within the horizon; the service dealer's lower churn brings it back sooner.
    assert math.isfinite(after["break_even_month"])
    at_service_churn = both.override({"retention.monthly_churn": service.retention.monthly_churn})
    assert sim.expected(at_service_churn).kpi["break_even_month"] < after["break_even_month"]
    off = S.apply_switches(service, {p: False for p in S.SWITCHES}, PRESETS.donors())
    assert not any(S.has_part(off, p) for p in S.SWITCHES)


@pytest.mark.parametrize("stem", sorted(PRESETS.scenarios))
def test_lever_fields_start_at_the_preset_and_take_bounds_from_the_model(stem):
    sc = PRESETS.scenarios[stem]
    switched = S.apply_switches(sc, {p: True for p in S.SWITCHES}, PRESETS.donors())
    specs = S.fields(switched)
    assert len({s.path for s in specs}) == len(specs)
    by_path = {s.path: s for s in specs}
    for lever in model_levers(switched):  # the levers' bounds and the widgets' agree
        spec = by_path[lever.path]
        assert (spec.low, spec.high, spec.integer, spec.low_open) == (
            lever.low,
            lever.high,
            lever.integer,
            lever.low_open,
        )
    for spec in specs:
        value = paths.get(switched, spec.path)
        assert spec.check(value) is None
        shown = spec.to_widget(value)
        assert spec.to_model(shown) == pytest.approx(value) if value is not None else shown is None
        assert texts.field_label("ru", spec.key, spec.name) != texts.field_label("en", spec.key, spec.name)
        assert math.isfinite(spec.widget_low) and math.isfinite(spec.widget_high)


def test_number_formatting():
    assert texts.money(2250, "RUB", "ru") == f"2{texts.THIN}250{texts.NBSP}₽"
    assert texts.money(2250, "RUB", "en") == f"2{texts.THIN}250{texts.NBSP}₽"
    assert texts.money(25_600_523, "RUB", "ru", short=True) == f"25,6{texts.NBSP}млн{texts.NBSP}₽"
    assert texts.money(25_600_523, "RUB", "en", short=True) == f"25.6{texts.NBSP}M{texts.NBSP}₽"
    assert texts.money(-1500, "USD", "en", signed=True) == f"{texts.MINUS}1{texts.THIN}500{texts.NBSP}$"
    assert texts.percent(0.015, "ru") == f"1,5{texts.NBSP}%"
    assert texts.month(math.nan, "en") == "never" and texts.month(math.nan, "ru") == "нет"
    assert texts.months(18, "ru") == "18 мес."
    for fmt in (texts.number, texts.ratio, texts.percent):
        assert fmt(math.nan) == "—"
    assert texts.money(math.nan, "RUB") == "—"
    assert texts.number(math.inf) == "∞"
    for lang in texts.LANGS:  # every sentence exists in both languages
        assert set(texts.TEXTS[lang]) == set(texts.TEXTS["en"])


def test_tiles_compare_with_the_preset_and_never_show_nan():
    service = PRESETS.scenarios["car_dealer_service"]
    base = sim.expected(service).kpi
    cheaper = sim.expected(service.override({"channels.0.cost_per_lead": 2000.0})).kpi
    shown = {t.metric: t for t in views.tiles(cheaper, base, "RUB", "en")}
    assert shown["cac"].color == views.DeltaColor.BETTER and shown["cac"].delta.startswith(texts.MINUS)
    assert shown["break_even_month"].color == views.DeltaColor.BETTER
    assert shown["break_even_month"].arrow == views.Arrow.DOWN
    assert shown["lost_lead_share"].delta == SAME and shown["lost_lead_share"].color == views.DeltaColor.SAME
    medical = sim.expected(PRESETS.scenarios["medical_service"]).kpi  # no sales: CAC NaN, LTV inf
    for tile in views.tiles(medical, medical, "RUB", "ru"):
        assert "nan" not in (tile.value + tile.delta).lower()
        assert "inf" not in (tile.value + tile.delta).lower()


def test_view_round_trips_through_the_link():
    view = S.View(
        preset="car_dealer",
        lang="ru",
        switches={"repeat": True, "referrals": True, "sales_desk": False},
        values={"channels.0.cost_per_lead": 2000.0, "retention.monthly_churn": 0.025},
        replications=50,
        seed=7,
        tab="answers",
        by_month=48,
        max_lost=0.1,
        metric="ltv_to_cac",
    )
    params = S.encode_view(view)
    assert S.decode_view(params, set(PRESETS.scenarios)) == S.Checked(view, [])
    assert S.encode_view(S.View()) == {}  # defaults leave the link clean
    bad = S.decode_view({"preset": "nope", "reps": "-3", "lang": "de", "x.y": "abc"}, {"car_dealer"})
    assert bad.value == S.View() and len(bad.problems) == 4


def test_uploads_and_packed_links():
    text = (ROOT / "scenarios" / "beauty_salon.toml").read_text(encoding="utf-8")
    sc = S.scenario_from_upload("salon.toml", text.encode())
    assert S.unpack_source(S.pack_source(sc.to_toml())) == sc
    for data, words in (
        (b"x" * (MAX_FILE_BYTES + 1), "larger than"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"name = [", "not valid TOML"),
        (text.replace("conversion = 0.5", "conversion = 1.5").encode(), "funnel[0].conversion"),
    ):
        with pytest.raises(sim.ScenarioError, match=re.escape(words)):
            S.scenario_from_upload("bad.toml", data)
    with pytest.raises(sim.ScenarioError, match="damaged"):
        S.unpack_source("not-a-scenario!")
    bomb = S.pack_source("#" * (4 * MAX_FILE_BYTES))
    with pytest.raises(sim.ScenarioError, match="larger than"):
        S.unpack_source(bomb)


def test_the_session_and_the_link_agree():
    """What a link sets in the session on its first run is what the page's link keeps."""
    sc = PRESETS.scenarios["car_dealer"]
    base = S.Base("car_dealer", sc)
    switches = {p: S.has_part(sc, p) for p in S.SWITCHES} | {"referrals": True}
    whatif = S.build_whatif(sc, S.fields(sc), {"retention.monthly_churn": 2.5})
    assert whatif.changes == {"retention.monthly_churn": 0.025}
    view = S.View(
        preset="car_dealer",
        lang="ru",
        switches={"referrals": True},
        values=whatif.changes,
        replications=7,
        seed=3,
        tab="answers",
        by_month=48,
        max_lost=0.1,
        metric="ltv_to_cac",
    )
    session = S.session_from_link(view)
    assert session["tab"] == texts.t("ru", "tab_answers") and session["lost"] == pytest.approx(10.0)
    assert S.link_view(session, base, switches, whatif) == view
    assert S.link_view(session, base, switches) == replace(view, values={}, by_month=None, max_lost=None)
    defaults = S.session_from_link(S.View())  # the answers' defaults stay out of the session and the link
    assert "by" not in defaults and "lost" not in defaults
    asked = S.answer_settings(defaults, sc.horizon_months)
    assert asked == S.AnswerSettings(S.default_by_month(sc.horizon_months), S.DEFAULT_MAX_LOST)
    assert S.link_view(defaults, base, {}, S.WhatIf(sc, {})) == S.View()
    assert S.answer_widgets({"by": 500}, sc.horizon_months) == {
        "by": sc.horizon_months,  # within the horizon
        "lost": pytest.approx(100.0 * S.DEFAULT_MAX_LOST),
    }


def test_tabs_keep_their_place_across_languages():
    for tab in S.TABS:
        en, ru = texts.t("en", f"tab_{tab}"), texts.t("ru", f"tab_{tab}")
        assert S.tab_label(en, "ru") == ru and S.tab_label(ru, "en") == en and S.tab_label(ru, "ru") == ru
        assert S.tab_id(ru, "ru") == tab
    assert S.tab_label("nope", "en") == "nope" and S.tab_id(None, "en") == S.TABS[0]


def test_bases_switches_and_widgets():
    upload = S.Base(S.UPLOAD, PRESETS.scenarios["beauty_salon"], S.pack_source("x"))
    assert S.Base("car_dealer", PRESETS.scenarios["car_dealer"]).id == "car_dealer"
    assert upload.id.startswith("u") and upload.id != S.Base(S.UPLOAD, upload.scenario, "y").id
    assert S.switch_key("car_dealer", "repeat") == "sw|car_dealer|repeat"
    assert S.lever_key("car_dealer", "sales_desk.staff") == "v|car_dealer|sales_desk.staff"
    assert PRESETS.label("car_dealer", "ru") == texts.item_name(PRESETS.scenarios["car_dealer"], "ru")
    assert PRESETS.label("car_dealer", "en") == PRESETS.scenarios["car_dealer"].name
    assert PRESETS.label(S.UPLOAD, "ru") == texts.t("ru", "upload_option")
    dealer, donors = PRESETS.scenarios["car_dealer"], PRESETS.donors()
    assert not S.initial_switch(dealer, "referrals", None, donors)
    assert S.initial_switch(dealer, "referrals", S.View(switches={"referrals": True}), donors)
    assert not S.initial_switch(dealer, "referrals", S.View(switches={"referrals": True}), {})  # no donor
    specs = {s.path: s for s in S.fields(PRESETS.scenarios["car_dealer_service"])}
    staff = S.widget(specs["sales_desk.staff"], 4, "en", "RUB")
    assert (staff.low, staff.step, staff.format) == (1, 1, "%d") and isinstance(staff.high, int)
    churn = S.widget(specs["retention.monthly_churn"], 1.5, "ru", "RUB")
    assert not churn.slider and churn.label.endswith(", %") and churn.format == "%.1f"
    patience = S.widget(specs["sales_desk.patience_hours"], None, "en", "RUB")
    assert patience.placeholder == texts.t("en", "patience_none")
    names = S.lever_names(list(specs.values()), "en")
    assert churn.label.startswith(S.lever_names(list(specs.values()), "ru")["retention.monthly_churn"] + ", ")
    assert set(names) == set(specs) and all(names.values())
    link = S.View(values={"sales_desk.staff": 6, "retention.monthly_churn": 7.0})
    defaults = S.widget_values(PRESETS.scenarios["car_dealer_service"], list(specs.values()))
    start = S.initial_values(list(specs.values()), defaults, link)
    assert (
        start.value["sales_desk.staff"] == 6
        and start.value["retention.monthly_churn"] == defaults["retention.monthly_churn"]
    )
    assert [p.split("=")[0] for p in start.problems] == ["retention.monthly_churn"]


def test_captions_and_file_names():
    sc = PRESETS.scenarios["car_dealer_service"]
    assert views.scenario_line(sc, "en") == texts.t(
        "en", "scenario_is", name=sc.name, horizon=sc.horizon_months, currency="RUB (₽)"
    )
    assert "XYZ." in views.scenario_line(sc.override({"currency": "XYZ"}), "en")
    band = compute_band(sc.override({"horizon_months": 24}).to_toml(), 2, 1)
    caption = views.band_caption(band, "ru")
    assert caption.startswith(texts.t("ru", "band_ready").split("{")[0]) and "nan" not in caption.lower()
    from sim.app.band import Status

    running = views.band_progress(Status(JobState.RUNNING, 5, 20), "en")
    assert running == views.BandProgress(0.25, texts.t("en", "band_running", done=5, total=20))
    assert views.band_progress(Status(JobState.QUEUED), "en").text == texts.t("en", "band_queued")
    assert views.file_stem(sc.name) == "car_dealer_with_service_and_referrals"
    assert views.file_stem("  —  ") == "scenario"


def test_charts_build_for_every_preset_in_both_languages():
    for stem, sc in PRESETS.scenarios.items():
        result = sim.expected(sc)
        for lang in texts.LANGS:
            frame = frames.cash_frame(result, result)
            built = [
                charts.cash_chart(frame, result.kpi["break_even_month"], sc.currency, lang),
                charts.cash_flow_chart(views.components_frame(result), sc.currency, lang),
            ]
            cohorts = views.cohort_frame(result)
            if not cohorts.empty:
                built.append(charts.cohort_chart(cohorts, sc.currency, lang))
            if sc.sales_desk is not None:
                curve = views.desk_curve(sc)
                built.append(charts.desk_chart(curve, sc.sales_desk.staff, lang))
            if sc.service_programme is not None:
                built.append(charts.programme_chart(sim.programme_value(sc), sc.currency, lang))
            for chart in built:
                with alt.data_transformers.disable_max_rows():  # the cohort heatmap has ~H²/2 cells
                    spec = chart.to_dict()  # validates against the Vega-Lite schema
                json.dumps(spec, allow_nan=False)
                assert spec["config"]["locale"]["number"]["thousands"] == texts.THIN, stem


def test_cash_chart_marks_break_even_and_draws_the_band():
    sc = PRESETS.scenarios["car_dealer_service"]
    result = sim.expected(sc)
    month = result.kpi["break_even_month"]
    band = pd.DataFrame(
        {"month": np.arange(1, sc.horizon_months + 1), "mean": 0.0, "p10": -1.0, "p50": 0.0, "p90": 1.0}
    )
    spec = charts.cash_chart(frames.cash_frame(result, result, band), month, "RUB", "en").to_dict()
    text = json.dumps(spec, ensure_ascii=False)
    assert texts.t("en", "break_even_at", n=int(month)) in text and texts.t("en", "series_band") in text
    assert any(layer["mark"]["type"] == "area" for layer in spec["layer"])


def test_cohort_payback_adds_up():
    sc = PRESETS.scenarios["car_dealer_service"]
    result = sim.expected(sc)
    cohorts = views.cohort_frame(result)
    first = cohorts[cohorts["cohort"] == 2].set_index("age")
    assert first["cost"].iloc[0] == pytest.approx(
        result.arrays["lead_spend"][1] + result.arrays["referral_bonus"][1]
    )
    assert first["margin"].iloc[0] == pytest.approx(result.arrays["sales"][1] * sc.first_purchase.margin)
    assert (np.diff(first["margin"].to_numpy()) >= 0).all()  # cumulative margin only grows


def test_answers_are_the_goal_seeks():
    sc = PRESETS.scenarios["car_dealer_service"]
    got = answers.answer_numbers(sc, 60, 0.05)
    now = sc.channels[0].cost_per_lead  # searched up to 10× the CPL, in steps of its third digit
    step = 10.0 ** (math.floor(math.log10(now)) - 2)
    cpl = sim.goal_seek(
        sc, "channels.0.cost_per_lead", "break_even_month", 60, low=0, high=10 * now, step=step
    )
    assert got.cpl == Answer(AnswerStatus.VALUE, cpl.value)
    churn = sim.goal_seek(sc, "retention.monthly_churn", "break_even_month", 60, low=0, high=1, step=0.001)
    assert got.churn.status == AnswerStatus.VALUE and got.churn.value == pytest.approx(churn.value)
    lost_now = sim.expected(sc).kpi["lost_lead_share"]
    assert sc.sales_desk.staff > 1 and lost_now <= 0.05  # spare capacity: one salesperson is enough
    assert got.staff == Answer(AnswerStatus.ONE, 1, lost_now)
    assert got.programme == answers.ProgrammeAnswer(AnswerStatus.OFF)
    sentences = answers.answer_texts(got, sc, "ru", 60, 0.05)
    assert [qa.question for qa in sentences] == [
        texts.t("ru", f"q_{q}") for q in ("cpl", "staff", "churn", "referrals", "programme")
    ]
    assert all(qa.answer for qa in sentences)
    assert texts.money(cpl.value, sc.currency, "ru") in sentences[0].answer
    assert sentences[0].markdown == f"**{sentences[0].question}**  \n{sentences[0].answer}"
    programme = PRESETS.scenarios["medical_service_programme"]
    pv = sim.programme_value(programme)
    verdict = answers.programme_text(
        answers.answer_numbers(programme, 24, 0.05).programme, programme.currency, "en"
    )
    net = texts.money(abs(pv.net_per_year), programme.currency, "en", short=True)
    word = texts.t("en", "earns" if pv.net_per_year >= 0 else "loses")
    assert f"{word} **{net}** a year" in verdict  # article 000: the programme loses money
    assert verdict == answers.programme_verdict(pv, programme.currency, "en")


def test_answers_say_off_and_errors():
    sc = PRESETS.scenarios["car_dealer"]  # no referrals, no service programme
    off = S.apply_switches(sc, {"sales_desk": False}, PRESETS.donors())
    got = answers.answer_numbers(off, 60, 0.05)
    assert got.staff == Answer(AnswerStatus.OFF) and got.referrals == Answer(AnswerStatus.OFF)
    words = [qa.answer for qa in answers.answer_texts(got, off, "en", 60, 0.05)]
    assert words[1] == texts.t("en", "a_staff_off") and words[3] == texts.t("en", "a_referrals_off")
    assert words[4] == texts.t("en", "programme_off")
    failed = answers.Answers(
        *(Answer(AnswerStatus.ERROR, error="boom"),) * 4,
        answers.ProgrammeAnswer(AnswerStatus.ERROR, error="boom"),
    )
    assert {qa.answer for qa in answers.answer_texts(failed, sc, "en", 60, 0.05)} == {
        texts.t("en", "a_failed", error="boom")
    }


def test_staff_answer_searches_the_whole_lever_range():
    far = PRESETS.scenarios["car_dealer"].override(
        {
            "sales_desk.hours_per_day": 24.0,
            "sales_desk.handling_minutes": 1440.0,
            "sales_desk.patience_hours": 1.0,
            "channels.0.leads_per_month": 3000.0,
        }
    )
    found = []
    for now in (1, 9_000):  # far below the answer, and far above it
        sc = far.override({"sales_desk.staff": now})
        staff = answers.answer_numbers(sc, 60, 0.05).staff
        assert staff.status == AnswerStatus.VALUE and staff.value == int(staff.value)
        assert staff.lost_now == sim.expected(sc).kpi["lost_lead_share"]
        found.append(staff.value)
    staff = int(found[0])
    assert found == [staff, staff] and 50 < staff < 9_000
    lost = [
        sim.expected(far.override({"sales_desk.staff": n})).kpi["lost_lead_share"] for n in (staff - 1, staff)
    ]
    assert lost[0] > 0.05 >= lost[1], "the fewest salespeople who lose at most 5 %"
    lever = model_levers(far)[[lv.path for lv in model_levers(far)].index("sales_desk.staff")]
    night = far.override({"sales_desk.hours_per_day": 8.0})  # leads that come at night wait past 1 hour
    staff = answers.answer_numbers(night, 60, 0.05).staff
    assert (staff.status, staff.value) == (AnswerStatus.NONE, int(lever.high)), "unreachable in the range"


def test_desk_curve_has_every_staff_point():
    desks = [sc for sc in PRESETS.scenarios.values() if sc.sales_desk is not None]
    dealer = PRESETS.scenarios["car_dealer_service"]
    desks += [  # ample capacity over most of the range, and an overloaded desk round the clock
        dealer.override({"sales_desk.staff": 30}),
        dealer.override({"sales_desk.hours_per_day": 24.0, "sales_desk.handling_minutes": 60.0}),
    ]
    for sc in desks:
        curve = views.desk_curve(sc)
        staff = sc.sales_desk.staff
        top = max(2 * staff, staff + 4)
        assert curve["staff"].tolist() == list(range(1, top + 1)), sc.name
        assert np.isfinite(curve[["lost_lead_share", "mean_wait_hours"]].to_numpy()).all(), sc.name
        assert (np.diff(curve["lost_lead_share"]) <= 1e-12).all(), "more staff never lose more leads"
        spec = charts.desk_chart(curve, staff, "en").to_dict()
        assert len(spec["datasets"][spec["vconcat"][0]["layer"][0]["data"]["name"]]) == top


def test_downloads():
    sc = PRESETS.scenarios["car_dealer_service"]
    result = sim.expected(sc)
    monthly = views.monthly_table(result, result)
    assert len(monthly) == sc.horizon_months and "preset_cumulative_cash" in monthly
    data = views.workbook(result, result, frames.cash_frame(result, result))
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["monthly", "kpis", "cumulative_cash"]
    assert book["monthly"].max_row == book["cumulative_cash"].max_row == sc.horizon_months + 1
    assert book["kpis"].max_row == len(result.kpi) + 1


def test_band_runner_gives_the_engines_band_and_cancels():
    sc = PRESETS.scenarios["car_dealer"].override({"horizon_months": 24})
    toml = sc.to_toml()
    runner = BandRunner()
    try:
        status = runner.request(toml, 3, 5, owner="a")
        deadline = time.monotonic() + 60
        while not status.finished and time.monotonic() < deadline:
            time.sleep(0.05)
            status = runner.request(toml, 3, 5, owner="a")
        assert status.state == JobState.DONE, status
        expected = sim.simulate(sc, replications=3, seed=5).bands("cumulative_cash")
        pd.testing.assert_frame_equal(status.band.frame, expected)
        assert runner.wait(toml, 3, 5).frame.equals(expected)
        long = runner.request(toml, 500, 6, owner="a")  # a newer request of the same owner cancels it
        runner.request(toml, 2, 7, owner="a")
        deadline = time.monotonic() + 60
        while runner.request(toml, 2, 7, owner="a").state != JobState.DONE and time.monotonic() < deadline:
            time.sleep(0.05)
        assert long.state in (JobState.QUEUED, JobState.RUNNING)
        assert runner._state(runner._jobs[(toml, 500, 6)]) == JobState.CANCELLED
    finally:
        runner.shutdown()
    band = compute_band(toml, 2, 1)
    assert band.replications == 2 and 0.0 <= band.p_break_even <= 1.0


# --- the page (AppTest) ----------------------------------------------------------------------------


def test_page_opens_on_the_plain_dealer_and_shows_everything():
    at = run_app()
    no_exception(at)
    shown = tiles(at)
    assert set(shown) == set(frames.TILE_METRICS)
    assert shown["break_even_month"].value == break_even(PRESETS.scenarios[S.DEFAULT_PRESET])
    assert all(m.delta == SAME for m in shown.values())
    assert len(at.get("vega_lite_chart")) == 2  # the cash curve and the cash flow (the open tab)
    assert [b.label for b in at.get("download_button")] == [
        texts.t("en", k) for k in ("dl_scenario", "dl_csv", "dl_xlsx", "dl_chart", "rp_download")
    ]
    assert dict(at.query_params) == {"reps": "0"}


def test_widgets_start_at_the_preset_with_model_bounds():
    at = run_app(preset="car_dealer_service")
    no_exception(at)
    specs = {s.path: s for s in S.fields(PRESETS.scenarios["car_dealer_service"])}
    widgets = {w.key.split("|")[-1]: w for w in [*at.slider, *at.number_input] if w.key.startswith("v|")}
    assert set(widgets) == set(specs)
    for path, widget in widgets.items():
        spec = specs[path]
        assert widget.value == spec.to_widget(paths.get(PRESETS.scenarios["car_dealer_service"], path))
        assert widget.max == spec.widget_high
        assert "₽" in widget.label if spec.unit.startswith("money") else True


def test_levers_move_the_tiles_the_right_way():
    at = run_app(preset="car_dealer_service")
    before = {k: shown_number(m.value) for k, m in tiles(at).items()}
    at.number_input(key="v|car_dealer_service|channels.0.cost_per_lead").set_value(1800.0).run()
    no_exception(at)
    after = tiles(at)
    assert shown_number(after["cac"].value) < before["cac"]
    assert shown_number(after["max_cash_need"].value) < before["max_cash_need"]
    assert shown_number(after["break_even_month"].value) < before["break_even_month"]
    assert after["break_even_month"].proto.color == MetricProto.GREEN
    assert after["cac"].delta.startswith(texts.MINUS)
    at.number_input(key="v|car_dealer_service|retention.monthly_churn").set_value(2.5).run()
    later = tiles(at)
    assert shown_number(later["ltv"].value) < before["ltv"]
    assert shown_number(later["break_even_month"].value) > shown_number(after["break_even_month"].value)
    assert dict(at.query_params) == {
        "preset": "car_dealer_service",
        "channels.0.cost_per_lead": "1800",
        "retention.monthly_churn": "0.025",
        "reps": "0",
    }


def test_switching_referrals_on_makes_break_even_appear():
    service = PRESETS.scenarios["car_dealer_service"]
    never = texts.month(math.nan)
    at = run_app(preset="car_dealer_service", off="referrals")
    without = S.apply_switches(service, {"referrals": False}, PRESETS.donors())
    assert tiles(at)["break_even_month"].value == break_even(without) == never
    at.toggle(key="sw|car_dealer_service|referrals").set_value(True).run()
    no_exception(at)
    shown = tiles(at)["break_even_month"]
    assert shown.value == break_even(service) != never
    assert shown.delta == SAME  # the preset as loaded has referrals
    # The plain dealer (article 003): the cash falls for ever; service visits and referrals on, and it
    # crosses zero in the month the expected-value model gives; then the service dealer's churn.
    at = run_app()
    assert tiles(at)["break_even_month"].value == break_even(PRESETS.scenarios["car_dealer"]) == never
    at.toggle(key="sw|car_dealer|repeat").set_value(True)
    at.toggle(key="sw|car_dealer|referrals").set_value(True).run()
    no_exception(at)
    both = S.apply_switches(
        PRESETS.scenarios["car_dealer"], {"repeat": True, "referrals": True}, PRESETS.donors()
    )
    assert tiles(at)["break_even_month"].value == break_even(both) != never
    need = sim.expected(both).kpi["max_cash_need"]  # shown to three figures
    assert shown_number(tiles(at)["max_cash_need"].value) == pytest.approx(need, rel=5e-3)
    assert need < sim.expected(PRESETS.scenarios["car_dealer"]).kpi["max_cash_need"]
    churn = service.retention.monthly_churn
    at.number_input(key="v|car_dealer|retention.monthly_churn").set_value(100.0 * churn).run()
    at_service_churn = both.override({"retention.monthly_churn": churn})
    assert tiles(at)["break_even_month"].value == break_even(at_service_churn)


def test_bad_upload_shows_the_error_and_keeps_running():
    at = run_app(preset="upload")
    no_exception(at)
    assert [i.value for i in at.info] == [texts.t("en", "upload_prompt")]
    for name, data, words in (
        ("bad.toml", b"name = 'x'\nhorizon_months = 0\n", "bad.toml"),
        ("big.toml", b"#" * (MAX_FILE_BYTES + 1), "larger than"),
    ):
        at.file_uploader(key="upload_file").set_value((name, data, "application/toml")).run()
        no_exception(at)
        assert any(words in e.value for e in at.error), [e.value for e in at.error]
        assert not at.metric
    good = (ROOT / "scenarios" / "beauty_salon.toml").read_bytes()
    at.file_uploader(key="upload_file").set_value(("salon.toml", good, "application/toml")).run()
    no_exception(at)
    assert tiles(at)["break_even_month"].value == texts.month(
        sim.expected(sim.loads_scenario(good.decode())).kpi["break_even_month"]
    )
    link = dict(at.query_params)
    assert link["preset"] == "upload" and S.unpack_source(link["src"]).name == "Beauty salon"
    at = run_app(**link)  # the link reproduces the uploaded scenario
    assert tiles(at)["break_even_month"].value != texts.month(math.nan)
    at = run_app(preset="upload", src="damaged")
    no_exception(at)
    assert any("damaged" in e.value for e in at.error)


def test_query_parameters_restore_the_settings():
    params = {
        "preset": "car_dealer",
        "lang": "ru",
        "on": "repeat,referrals",
        "retention.monthly_churn": "0.025",
        "channels.0.cost_per_lead": "2000",
        "reps": "0",
        "tab": "answers",
        "by": "100",
    }
    at = run_app(**params)
    no_exception(at)
    assert at.radio(key="lang").value == "ru"
    assert at.toggle(key="sw|car_dealer|repeat").value and at.toggle(key="sw|car_dealer|referrals").value
    assert at.number_input(key="v|car_dealer|retention.monthly_churn").value == pytest.approx(2.5)
    assert at.number_input(key="v|car_dealer|channels.0.cost_per_lead").value == 2000.0
    assert at.number_input(key="by").value == 100
    whatif = S.apply_switches(
        PRESETS.scenarios["car_dealer"], {"repeat": True, "referrals": True}, PRESETS.donors()
    )
    whatif = whatif.override({"retention.monthly_churn": 0.025, "channels.0.cost_per_lead": 2000.0})
    assert at.metric[0].label == texts.t("ru", "t_break_even_month")
    assert at.metric[0].value == break_even(whatif, "ru")
    assert any(texts.t("ru", "q_cpl") in m.value for m in at.markdown)
    assert dict(at.query_params) == {k: v for k, v in params.items() if k != "preset"}  # the default
    at = run_app(preset="car_dealer", **{"retention.monthly_churn": "7", "nope.x": "1", "seed": "x"})
    no_exception(at)
    warning = " ".join(w.value for w in at.warning)
    assert "retention.monthly_churn=7" in warning and "nope.x" in warning and "seed=x" in warning
    churn = PRESETS.scenarios["car_dealer"].retention.monthly_churn  # the bad value is skipped
    assert at.number_input(key="v|car_dealer|retention.monthly_churn").value == pytest.approx(100.0 * churn)


def test_every_tab_renders_in_both_languages():
    for lang in texts.LANGS:
        at = run_app(preset="car_dealer_service", on="service_programme,problems", lang=lang)
        for tab in S.TABS:
            at.session_state["tab"] = texts.t(lang, f"tab_{tab}")
            at.run()
            no_exception(at)
            assert not at.error, [e.value for e in at.error]
            assert dict(at.query_params).get("tab", "flow") == tab


def test_monte_carlo_band_appears_when_ready():
    at = run_app(preset="car_dealer", reps=3, horizon="x")  # an unknown parameter is reported, not fatal
    deadline = time.monotonic() + 90
    ready = texts.t("en", "band_ready").split("{")[0]
    while time.monotonic() < deadline and not any(c.value.startswith(ready) for c in at.caption):
        time.sleep(0.3)
        at.run()
    no_exception(at)
    assert any(c.value.startswith(ready) for c in at.caption)


# --- fuzz ------------------------------------------------------------------------------------------


def _random_values(specs: list[S.FieldSpec], sc: sim.Scenario, rng: random.Random) -> dict[str, object]:
    """Random widget values for every lever; most margins kept within their revenue (the model's rule),
    the rest left to the scenario's validation."""
    values = {s.path: _random_value(s, s.to_widget(paths.get(sc, s.path)), rng) for s in specs}
    for s in specs:
        if s.key in ("repeat.margin", "first_purchase.margin") and rng.random() < 0.9:
            revenue_path = s.path.replace("margin", "revenue")
            revenue = values.get(revenue_path, paths.get(sc, revenue_path))
            values[s.path] = round(rng.uniform(0, revenue), s.decimals)
    return values


def _random_value(spec: S.FieldSpec, preset: float | int | None, rng: random.Random) -> float | int | None:
    """A widget value within the widget's bounds: near the preset, anywhere, or at an end."""
    low, high = spec.widget_low, spec.widget_high
    if spec.optional and rng.random() < 0.1:
        return None
    kind = rng.random()
    if kind < 0.35 and preset is not None:
        x = preset * rng.uniform(0.5, 1.5)
    elif kind < 0.85:
        x = (
            math.exp(rng.uniform(math.log(max(low, 1e-3)), math.log(high)))
            if high / max(low, 1e-3) > 1e3
            else rng.uniform(low, high)
        )
    else:
        x = rng.choice([low, high])
    x = min(max(x, low), high)
    return round(x) if spec.integer else round(x, spec.decimals)


def test_fuzz_random_levers_never_crash_nor_show_nan():
    """200 random combinations of lever values and switches within their bounds, through the functions the
    page calls: an invalid combination is a ScenarioError message, a model failure an error message;
    every figure shown is a number, `—`, `never` or `∞`."""
    rng = random.Random(2024)
    donors = PRESETS.donors()
    outcomes = {"shown": 0, "invalid": 0, "model error": 0}
    for _ in range(200):
        stem = rng.choice(sorted(PRESETS.scenarios))
        base = PRESETS.scenarios[stem]
        switches = {p: rng.random() < 0.6 for p in S.SWITCHES}
        switched = S.apply_switches(base, switches, donors)
        specs = S.fields(switched)
        values = _random_values(specs, switched, rng)
        lang = rng.choice(texts.LANGS)
        try:
            sc = S.build_whatif(switched, specs, values).scenario
        except sim.ScenarioError as exc:
            assert str(exc)
            outcomes["invalid"] += 1
            continue
        try:
            result = sim.expected(sc)
        except MODEL_ERRORS as exc:
            assert str(exc)
            outcomes["model error"] += 1
            continue
        outcomes["shown"] += 1
        for tile in views.tiles(result.kpi, sim.expected(base).kpi, sc.currency, lang):
            text = f"{tile.value} {tile.delta}".lower()
            assert "nan" not in text and "inf" not in text, (stem, values, tile)
        frame = frames.cash_frame(result, result)
        spec = charts.cash_chart(frame, result.kpi["break_even_month"], sc.currency, lang).to_dict(
            validate=False
        )
        json.dumps(spec, allow_nan=False)
    print("fuzz outcomes:", outcomes)
    assert outcomes["shown"] >= 100


def test_fuzz_through_the_page():
    """Random lever values set through the page's widgets: no exception, no `nan` in any tile."""
    rng = random.Random(7)
    at = run_app(preset="car_dealer_service", on="service_programme,problems")
    for _ in range(20):
        for widget in [*at.slider, *at.number_input]:
            if not widget.key.startswith("v|") or rng.random() < 0.6:
                continue
            spec = next(
                s
                for s in S.fields(
                    S.apply_switches(
                        PRESETS.scenarios["car_dealer_service"],
                        {"service_programme": True, "problems": True},
                        PRESETS.donors(),
                    )
                )
                if widget.key.endswith("|" + s.path)
            )
            widget.set_value(_random_value(spec, widget.value, rng))
        at.run()
        no_exception(at)
        for m in at.metric:
            assert "nan" not in f"{m.value} {m.delta}".lower()
