"""The plan over time in the app: the tables of steps, trends and seasonality and the first month, edited
as in the browser (AppTest seeds a table editor's changes the way the browser sends them), kept in the
link and in pins, an invalid value named by the scenario model while the page keeps the last valid plan,
dates on the charts and in the downloads, the channels side by side with where the next budget goes, and
the staff answer in money. Without Streamlit where the logic lives (`sim.app.plans`, `sim.app.state`,
`sim.app.views`), and through the page. Every figure expected is computed from the model at test time."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import sim
from sim.app import answers, plans, views
from sim.app import state as S
from sim.app.plans import PlanDraft, PlanEdits
from sim.model import paths
from sim.report import charts, frames, texts

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PRESETS = S.load_presets(ROOT / "scenarios")
STEM = "car_dealer_service"
SERVICE = PRESETS.scenarios[STEM]
CPL = "channels.0.cost_per_lead"
LEADS = "channels.0.leads_per_month"
STAFF = "sales_desk.staff"
CHURN = "retention.monthly_churn"
WINTER = (0.7, 0.8, 1.0, 1.1, 1.2, 1.2, 1.1, 1.0, 1.0, 1.0, 0.9, 1.0)
PLAN = PlanEdits(
    start="2027-03",
    steps=((13, STAFF, 6), (25, CPL, 1800.0), (25, CHURN, 0.015)),
    trends=((LEADS, 0.005),),
    seasonality=((LEADS, WINTER),),
)
"""A plan touching every part: hire in year 2, cheaper calls and less churn from year 3, leads growing
0.5 % a month with a winter dip, from March 2027."""
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9_\-–]*")
ALLOWED_LATIN = {"CAC", "LTV", "P10", "P90", "P10–P90", "CSV", "XLSX", "PDF", "TOML", "seed"}
"""Latin words a Russian owner reads as they are (the browser story's list; `seed` is named on purpose
beside «зерно» in the glossary, which AppTest reads even while it is folded)."""


def open_page(**params: object) -> AppTest:
    """The page opened with these query parameters (Monte Carlo off unless given)."""
    at = AppTest.from_file(APP, default_timeout=60)
    params.setdefault("reps", 0)
    for key, value in params.items():
        at.query_params[key] = str(value)
    return at.run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def editor(at: AppTest, part: str) -> Any:
    """The plan table of `part` (`steps`, `trends`, `seasonality`) on the page."""
    return next(d for d in at.data_editor if d.key.startswith(f"pl_{part}|"))


def edit(at: AppTest, part: str, **delta: Any) -> AppTest:
    """Change a plan table as the browser does (`edited_rows`, `added_rows`, `deleted_rows`) and rerun."""
    state = {"edited_rows": {}, "added_rows": [], "deleted_rows": []} | delta
    at.session_state[editor(at, part).key] = state
    return at.run()


def set_start(at: AppTest, text: str) -> AppTest:
    key = next(w.key for w in at.text_input if w.key.startswith("pl_start|"))
    return at.text_input(key=key).set_value(text).run()


def tile(at: AppTest, metric: str) -> str:
    label = texts.t("en", f"t_{metric}")
    return next(m.value for m in at.metric if m.label == label)


def shown_kpi(sc: sim.Scenario, metric: str, lang: str = "en") -> str:
    """A KPI of the scenario as its tile shows it (from the expected-value model)."""
    result = sim.expected(sc)
    return texts.kpi_value(metric, result.kpi, sc.currency, lang, sc.horizon_months)


def label(path: str, lang: str = "en", sc: sim.Scenario = SERVICE) -> str:
    """A lever's name with its unit as the plan tables show it."""
    return S.plan_levers(S.fields(sc), lang, sc.currency)[path].label


def latin_words(text: str) -> set[str]:
    return {w for w in LATIN.findall(text)} - ALLOWED_LATIN


# --- the plan's edits and the link (no Streamlit) ------------------------------------------------------


def test_plan_round_trips_through_the_link_and_pins():
    view = S.View(preset=STEM, lang="ru", plan=PLAN, values={CHURN: 0.02})
    params = S.encode_view(view)
    assert params["start"] == "2027-03" and params["plan"].startswith("13:sales_desk.staff=6;")
    assert S.decode_view(params, set(PRESETS.scenarios)) == S.Checked(view, [])
    none = S.View(plan=PlanEdits(start="", steps=(), trends=(), seasonality=()))  # removing the scenario's
    assert S.encode_view(none) == {"start": "none", "plan": "none", "trend": "none", "season": "none"}
    assert S.decode_view(S.encode_view(none), set(PRESETS.scenarios)).value == none
    pin = S.Pin("Hire in year 2", {"referrals": False}, {CHURN: 0.02}, PLAN)
    assert S.decode_pin(S.encode_pin(pin)) == pin
    assert not pin.same_settings(S.Pin("x", pin.switches, pin.values))  # the plan tells pins apart
    planned = S.pin_scenario(SERVICE, pin, PRESETS.donors())
    assert planned.start == "2027-03" and planned.trends == ((LEADS, 0.005),)
    bad = S.decode_view(
        {"plan": "13:sales_desk.staff", "trend": "x=1", "season": "a.b=1,2", "start": "March"}, {STEM}
    )
    assert bad.value.plan == PlanEdits() and len(bad.problems) == 4


def test_a_plan_applies_and_the_link_keeps_only_what_differs():
    sc = plans.apply(SERVICE, PLAN)
    assert sc.start == "2027-03" and [s.from_month for s in sc.plan] == [13, 25]
    assert plans.of_scenario(sc).steps == PLAN.steps
    assert plans.differing(PLAN, SERVICE) == PLAN
    assert plans.differing(plans.of_scenario(sc), sc) == PlanEdits()  # the scenario's own: nothing to keep
    rows = plans.rows_of(PLAN, SERVICE, S.plan_levers(S.fields(SERVICE), "en", "RUB"))
    assert rows.steps[2] == {"from_month": 25, "path": CHURN, "value": 1.5}  # a share shown in %
    assert rows.trends == ({"path": LEADS, "rate": 0.5},)  # % a month


def test_table_edits_merge_added_changed_and_deleted_rows():
    rows = ({"from_month": 13, "path": STAFF, "value": 6.0}, {"from_month": 25, "path": CPL, "value": 1800.0})
    paths = {label(STAFF): STAFF, label(CPL): CPL, label(CHURN): CHURN}
    delta = {
        "edited_rows": {1: {"value": 1900.0}},
        "added_rows": [{"from_month": 30, "lever": label(CHURN), "value": 1.2}, {}],
        "deleted_rows": [0],
    }
    merged = plans.merge(rows, delta, paths)
    assert merged == (
        {"from_month": 25, "path": CPL, "value": 1900.0},
        {"from_month": 30, "path": CHURN, "value": 1.2},
        {},
    )
    assert plans.has_changes(delta) and not plans.has_changes({"edited_rows": {}, "added_rows": []})


def test_rows_not_complete_or_not_in_the_scenario_are_left_out_with_a_note():
    levers = S.plan_levers(S.fields(SERVICE), "en", "RUB")
    draft = PlanDraft(
        steps=(
            {"from_month": 13, "path": STAFF, "value": 6.0},
            {"from_month": 20, "path": None, "value": 3.0},  # no lever yet
            {"from_month": 25, "path": "service_programme.contacts_per_month", "value": 2.0},  # part off
            {"from_month": 13, "path": STAFF, "value": 7.0},  # the same lever and month again
        ),
        trends=({"path": STAFF, "rate": 1.0},),  # a count takes steps only
    )
    got = plans.read(draft, levers, "en")
    assert got.edits.steps == ((13, STAFF, 7),) and got.edits.trends == ()
    assert len(got.notes) == 4
    assert got.notes[0] == texts.t("en", "pl_incomplete", table="Steps", n=2)
    assert "service_programme.contacts_per_month" in got.notes[1]


def test_an_invalid_part_keeps_the_last_valid_one_and_the_valid_parts_apply():
    levers = S.plan_levers(S.fields(SERVICE), "en", "RUB")
    good = PlanEdits(steps=((13, STAFF, 6),))
    state = S.PlanState(
        PlanDraft(start="2027-03", steps=({"from_month": 13, "path": STAFF, "value": 6.5},)), good, 3
    )
    planned, after = S.plan_whatif(SERVICE, state, levers, "en")
    assert planned.error and 'plan[0]."sales_desk.staff" = 6.5: must be a whole number' in planned.error
    assert planned.edits == PlanEdits(start="2027-03", steps=((13, STAFF, 6),))  # the first month applies
    assert planned.scenario.start == "2027-03" and planned.scenario.plan[0].values == ((STAFF, 6),)
    assert after.good == planned.edits and after.draft == state.draft


# --- the plan through the page -------------------------------------------------------------------------


def test_a_step_typed_in_the_table_moves_the_tiles_and_goes_into_the_link():
    at = open_page(preset=STEM, tab="plan")
    no_exception(at)
    assert editor(at, "steps").value.empty
    at = edit(at, "steps", added_rows=[{"from_month": 25, "lever": label(CPL), "value": 1800}])
    no_exception(at)
    planned = SERVICE.override({"plan": [{"from_month": 25, CPL: 1800.0}]})
    assert tile(at, "break_even_month") == shown_kpi(planned, "break_even_month")
    assert tile(at, "break_even_month") != shown_kpi(SERVICE, "break_even_month")
    link = dict(at.query_params)
    assert link["plan"] == f"25:{CPL}=1800"
    assert texts.t("en", "pl_line", parts=texts.count(1, "en", "step")) in [c.value for c in at.caption]
    again = open_page(**link)  # a copied link: the same table, the same figures
    no_exception(again)
    table = editor(again, "steps").value
    assert table.to_dict("records") == [{"from_month": 25, "lever": label(CPL), "value": 1800.0}]
    assert tile(again, "break_even_month") == tile(at, "break_even_month")
    assert dict(again.query_params) == link


def test_trends_seasonality_and_the_first_month_round_trip_through_the_link():
    at = open_page(preset=STEM, tab="plan")
    at = set_start(at, "2027-03")
    at = edit(at, "trends", added_rows=[{"lever": label(LEADS), "rate": 0.5}])
    at = edit(
        at,
        "seasonality",
        added_rows=[{"lever": label(LEADS), **dict(zip(plans.SEASON_COLUMNS, WINTER, strict=True))}],
    )
    at = edit(at, "steps", added_rows=[{"from_month": 13, "lever": label(STAFF), "value": 6}])
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    link = dict(at.query_params)
    want = S.encode_plan(PlanEdits("2027-03", ((13, STAFF, 6),), ((LEADS, 0.005),), ((LEADS, WINTER),)))
    assert {k: link[k] for k in want} == want
    planned = plans.apply(SERVICE, S.decode_view(link, {STEM}).value.plan)
    assert tile(at, "max_cash_need") == shown_kpi(planned, "max_cash_need")
    again = open_page(**link)
    no_exception(again)
    assert dict(again.query_params) == link
    assert tile(again, "max_cash_need") == tile(at, "max_cash_need")
    season = editor(again, "seasonality").value
    assert season.iloc[0][list(plans.SEASON_COLUMNS)].tolist() == list(WINTER)
    steps = editor(again, "steps").value  # with a first month, each step's calendar month beside it
    assert steps["date"].tolist() == [texts.calendar_month(texts.month_date(planned, 13), "en", short=True)]
    assert any(c.value == views.plan_line(planned, "en") for c in again.caption)


def test_an_invalid_plan_value_shows_the_named_error_and_keeps_the_previous_view():
    at = open_page(preset=STEM, tab="plan")
    at = edit(at, "steps", added_rows=[{"from_month": 25, "lever": label(CPL), "value": 1800}])
    before = {m.label: m.value for m in at.metric}
    assert before[texts.t("en", "t_max_cash_need")] != shown_kpi(SERVICE, "max_cash_need")  # the plan shows
    link = dict(at.query_params)
    at = edit(at, "steps", edited_rows={0: {"value": -100}})  # a price below zero
    no_exception(at)
    named = f'scenario {SERVICE.name!r}: plan."{CPL}" = -100.0: month 25: must be ≥ 0'
    assert texts.t("en", "pl_invalid", error=named) in [e.value for e in at.error]
    assert {m.label: m.value for m in at.metric} == before  # the last valid plan's figures stay
    assert dict(at.query_params) == link
    assert editor(at, "steps").value["value"].tolist() == [-100.0]  # the value typed stays, to be fixed
    half = edit(at, "steps", edited_rows={0: {"lever": label(STAFF), "value": 6.5}})  # half a salesperson
    named = f'scenario {SERVICE.name!r}: plan[0]."{STAFF}" = 6.5: must be a whole number'
    assert texts.t("en", "pl_invalid", error=named) in [e.value for e in half.error]
    assert {m.label: m.value for m in half.metric} == before
    churn = edit(half, "steps", edited_rows={0: {"lever": label(CHURN), "value": 150}})  # 150 % a month
    assert any(f'plan."{CHURN}" = 1.5: month 25: must be ≤ 1' in e.value for e in churn.error)
    fixed = edit(churn, "steps", edited_rows={0: {"value": 1.5}})
    assert not fixed.error
    assert dict(fixed.query_params)["plan"] == f"25:{CHURN}=0.015"
    less_churn = SERVICE.override({"plan": [{"from_month": 25, CHURN: 0.015}]})
    assert tile(fixed, "max_cash_need") == shown_kpi(less_churn, "max_cash_need")
    bad_start = set_start(fixed, "2027-13")
    named = "start = '2027-13': must be a calendar month written YYYY-MM (e.g. 2027-01)"
    assert any(named in e.value for e in bad_start.error)
    assert "start" not in dict(bad_start.query_params)
    assert tile(bad_start, "max_cash_need") == tile(fixed, "max_cash_need")


def test_a_row_whose_part_is_switched_off_is_kept_but_not_used():
    at = open_page(preset=STEM, tab="plan")
    at = edit(at, "steps", added_rows=[{"from_month": 13, "lever": label(STAFF), "value": 6}])
    at.toggle(key=f"sw|{STEM}|sales_desk").set_value(False).run()
    no_exception(at)
    assert not at.error
    note = texts.t("en", "pl_absent", table="Steps", n=1, lever=STAFF)
    assert note in [w.value for w in at.warning]
    assert "plan" not in dict(at.query_params)
    at.toggle(key=f"sw|{STEM}|sales_desk").set_value(True).run()  # back on: the row counts again
    assert dict(at.query_params)["plan"] == f"13:{STAFF}=6"


def test_back_to_the_scenarios_plan():
    at = open_page(preset=STEM, tab="plan", plan=f"13:{STAFF}=6", start="2027-01")
    assert editor(at, "steps").value["value"].tolist() == [6.0]
    at.button(key=f"pl_reset|{STEM}").click().run()
    no_exception(at)
    link = dict(at.query_params)
    assert "plan" not in link and "start" not in link
    assert editor(at, "steps").value.empty
    assert tile(at, "break_even_month") == shown_kpi(SERVICE, "break_even_month")


def test_a_planned_lever_is_drawn_month_by_month_with_dates():
    at = open_page(preset=STEM, tab="plan", **S.encode_plan(PLAN))
    no_exception(at)
    planned = plans.apply(SERVICE, PLAN)
    levers = S.plan_levers(S.fields(SERVICE), "en", "RUB")
    assert views.planned_levers(planned, levers) == [CPL, LEADS, STAFF, CHURN]
    chosen = at.selectbox(key=f"pl_path|{STEM}")
    assert chosen.options == [label(p) for p in (CPL, LEADS, STAFF, CHURN)]
    chosen.set_value(STAFF).run()
    title = texts.t("en", "pl_path_title", lever=label(STAFF))
    assert json.loads(at.get("vega_lite_chart")[1].proto.spec)["title"]["text"] == title
    frame = views.plan_path(planned, levers[STAFF])
    assert frame["value"].tolist()[10:13] == [4, 4, 6]  # months 11–13: the hire from month 13
    assert pd.Timestamp(frame["date"].iloc[0]) == pd.Timestamp("2027-03-01")
    churn = views.plan_path(planned, levers[CHURN])["value"].tolist()  # shown in %, as the table has it
    assert churn[23:25] == [100 * SERVICE.retention.monthly_churn, 1.5]
    spec = charts.plan_chart(frame, title, "ru", 0).to_dict()
    assert spec["layer"][0]["mark"]["interpolate"] == "step-after"
    labels = json.loads(x_axis(spec)["labelExpr"].split("[datum.value]")[0])
    assert labels[1] == "" and labels[11] == "2028" and labels[23] == "2029"  # ten years: each January


# --- dates: the charts, the verdict and the downloads --------------------------------------------------


def x_axis(spec: dict[str, Any]) -> dict[str, Any]:
    """The month axis of a layered chart's spec."""
    return next(layer["encoding"]["x"]["axis"] for layer in spec["layer"] if "axis" in layer["encoding"]["x"])


def test_dates_on_the_cash_charts_x_axis_when_the_first_month_is_set():
    at = open_page(preset=STEM, start="2027-01")
    no_exception(at)
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    axis = x_axis(spec)
    assert axis["title"] == texts.t("en", "ch_year")
    assert axis["values"] == list(range(1, 121, 12))  # each January, named by its year
    labels = json.loads(axis["labelExpr"].split("[datum.value]")[0])
    assert [labels[m] for m in axis["values"]] == [str(y) for y in range(2027, 2037)]
    sc = SERVICE.override({"start": "2027-01"})
    result = sim.expected(sc)
    month = int(result.kpi["break_even_month"])
    when = texts.calendar_month(texts.month_date(sc, month), "en", short=True)
    drawn = charts.cash_chart(frames.cash_frame(result, result), month, "RUB", "en").to_dict()
    assert texts.t("en", "break_even_at_date", date=when) in json.dumps(drawn, ensure_ascii=False)
    short = SERVICE.override({"start": "2027-11", "horizon_months": 24})
    chart = charts.cash_chart(
        frames.cash_frame(sim.expected(short), sim.expected(short)), math.nan, "RUB", "ru"
    ).to_dict()
    axis = next(
        layer["encoding"]["x"]["axis"] for layer in chart["layer"] if "axis" in layer["encoding"]["x"]
    )
    labels = json.loads(axis["labelExpr"].split("[datum.value]")[0])
    shown = [labels[m].replace(texts.NBSP, " ") for m in axis["values"]]
    assert shown == ["янв 2028", "июл 2028", "янв 2029", "июл 2029"]
    assert axis["title"] == texts.t("ru", "month")


def test_no_dates_without_a_first_month():
    spec = charts.cash_chart(frames.cash_frame(sim.expected(SERVICE), sim.expected(SERVICE)), 76, "RUB", "en")
    axis = next(
        layer["encoding"]["x"]["axis"]
        for layer in spec.to_dict()["layer"]
        if "axis" in layer["encoding"]["x"]
    )
    assert axis["labelExpr"] == "datum.value / 12" and axis["title"] == texts.t("en", "ch_years")
    assert "date" not in frames.cash_frame(sim.expected(SERVICE), sim.expected(SERVICE)).columns


def test_the_verdict_says_the_calendar_month_the_money_comes_back():
    sc = SERVICE.override({"start": "2027-01"})
    result = sim.expected(sc)
    month = int(result.kpi["break_even_month"])
    when = texts.month_date(sc, month)
    assert f"in month {month}, in {texts.calendar_month(when, 'en')}" in views.verdict(result, "en")
    ru = views.verdict(result, "ru")
    assert f"в{texts.NBSP}{texts.MONTH_IN_RU[when.month - 1]}{texts.NBSP}{when.year}" in ru
    assert not latin_words(ru)


def test_downloads_carry_the_date_column():
    sc = plans.apply(SERVICE, PLAN)
    result = sim.expected(sc)
    monthly = views.monthly_table(result, sim.expected(SERVICE))
    assert list(monthly.columns[:2]) == ["month", "date"]
    assert pd.Timestamp(monthly["date"].iloc[0]) == pd.Timestamp("2027-03-01")
    ru = views.monthly_csv(result, sim.expected(SERVICE), "ru").decode("utf-8-sig").splitlines()
    assert ru[0].split(";")[:2] == ["Месяц", "Дата"] and ru[1].split(";")[:2] == ["1", "01.03.2027"]
    en = views.chart_csv(frames.cash_frame(result, result), "en", "RUB").decode("utf-8-sig").splitlines()
    assert en[0].split(",")[:2] == ["Month", "Date"] and en[13].split(",")[:2] == ["13", "2028-03-01"]
    data = views.workbook(result, result, frames.cash_frame(result, result), "ru")
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book[texts.t("ru", "tx_sheet_monthly")]
    assert sheet["B1"].value == "Дата" and sheet["B2"].value.date().isoformat() == "2027-03-01"
    assert sheet["B2"].number_format == "mmm yyyy"


def test_cohorts_are_named_by_their_calendar_months():
    sc = SERVICE.override({"start": "2027-01"})
    cohorts = views.cohort_frame(sim.expected(sc))
    assert pd.Timestamp(cohorts["date"].iloc[0]) == pd.Timestamp("2027-01-01")
    spec = charts.cohort_chart(cohorts, "RUB", "ru").to_dict()
    text = json.dumps(spec, ensure_ascii=False)
    assert "2027" in text and "2036" in text and texts.t("ru", "ch_year_n", n=1) not in text


# --- channels, the next budget and the staff in money ----------------------------------------------------


def two_channels() -> sim.Scenario:
    """The service dealer with a second channel: web forms, cheaper and of lower quality."""
    forms = {"name": "Forms", "name_ru": "Заявки", "leads_per_month": 300.0, "cost_per_lead": 900.0}
    return SERVICE.override({"channels": [SERVICE.channels[0].model_dump(), forms | {"lead_quality": 0.6}]})


def test_channel_table_has_each_channels_figures():
    sc = two_channels()
    result = sim.expected(sc)
    for lang in texts.LANGS:
        table = views.channel_table(result, lang)
        names = [texts.item_name(c, lang) for c in sc.channels] + [texts.t(lang, "cn_referrals")]
        assert list(table.columns) == names
        assert list(table.index) == [texts.t(lang, views._CHANNEL_HEADS[f]) for f in views.CHANNEL_FIGURES]
        k = result.channel_kpis.set_index("channel")
        forms, calls = table[names[1]].tolist(), table[names[0]].tolist()
        assert forms[1] == texts.number(k.loc["Forms", "sales"], lang)
        assert forms[2] == texts.money(k.loc["Forms", "cac"], "RUB", lang, short=True)
        assert forms[3] == texts.number(k.loc["Forms", "leads_per_sale"], lang, 1)
        assert calls[5] == texts.ratio(k.loc["Calls", "ltv_to_cac"], lang)
        assert calls[6] == texts.payback(k.loc["Calls", "payback_months"], lang, sc.horizon_months)
    # The channels' acquisition costs add up to the business's (docs/model.md, "Channels").
    assert (k["cac"] * k["sales"]).sum() == pytest.approx(result.kpi["cac"] * result.kpi["new_customers"])
    ru = views.channel_table(result, "ru")
    assert not latin_words(" ".join([*ru.columns, *ru.index, *ru.to_numpy().ravel()]))
    none = views.channel_table(sim.expected(PRESETS.scenarios["medical_service"]), "en")
    assert none.empty


def test_channels_tab_with_two_channels_and_the_next_budget():
    sc = two_channels()
    at = open_page(preset=S.UPLOAD, src=S.pack_source(sc.to_toml()), tab="channels", lang="ru")
    no_exception(at)
    table = at.table[0].value
    assert list(table.columns) == ["Звонки", "Заявки", texts.t("ru", "cn_referrals")]
    nb = sim.next_budget(sc, amount=100_000.0)
    said = views.next_budget_text(nb, sc, "ru")
    assert said in [m.value for m in at.markdown]
    best = sc.channels[int(nb.table["channel"].iloc[0])]
    assert said.startswith(f"В канал **{texts.item_name(best, 'ru')}**")
    ranked = [texts.item_name(sc.channels[int(i)], "ru") for i in nb.table["channel"]]
    assert len(at.table) == 2 and list(at.table[1].value.index) == ranked  # every channel, the best first


def test_the_staff_answer_says_the_money():
    busy = PRESETS.scenarios["beauty_salon"].override({"channels.0.leads_per_month": 3000.0})
    best = sim.best(busy, STAFF, "final_cumulative_cash")
    assert best.value != busy.sales_desk.staff
    gain = best.metric_value - best.base_metric
    for lang in texts.LANGS:
        said = answers.desk_answer(busy, 0.05, lang)
        assert texts.count(best.value, lang, "salesperson") in said
        assert texts.money(gain, "RUB", lang, short=True, signed=True) in said
        assert f"{texts.number(busy.horizon_months, lang)}" in said
    qa = answers.answer_texts(answers.answer_numbers(busy, 12, 0.05), busy, "en", 12, 0.05)
    assert qa[1].answer == answers.desk_answer(busy, 0.05, "en")
    free = answers.staff_cash(SERVICE)  # salaries 0: more staff cost nothing, and hardly matter
    assert free.small and texts.t("en", "a_staff_money_free") in answers.desk_answer(SERVICE, 0.05, "en")


def test_lead_quality_and_cooling_widgets_are_named_with_their_units():
    sc = SERVICE.override({"sales_desk.cooling_half_life_hours": 6.0})
    specs = {s.path: s for s in S.fields(sc)}
    quality = S.widget(specs["channels.0.lead_quality"], 1.0, "ru", "RUB")
    assert quality.label == f"Качество лидов: Звонки, {texts.unit_label('ru', '× conversion', 'RUB')}"
    assert not quality.slider and quality.low == 0.0
    cooling = S.widget(specs["sales_desk.cooling_half_life_hours"], 6.0, "en", "RUB")
    assert cooling.label.startswith("Lead cooling half-life, hours")
    no_cooling = {s.path: s for s in S.fields(SERVICE)}["sales_desk.cooling_half_life_hours"]
    off = S.widget(no_cooling, None, "ru", "RUB")
    assert off.placeholder == texts.t("ru", "cooling_none")
    for lang in texts.LANGS:
        names = S.lever_names(list(specs.values()), lang)
        assert names["channels.0.lead_quality"] and names["sales_desk.cooling_half_life_hours"]
    assert not latin_words(S.lever_names(list(specs.values()), "ru")["sales_desk.cooling_half_life_hours"])


def test_ltv_net_with_gross_beside_it():
    salon = PRESETS.scenarios["salon_care_programme"]
    k = sim.expected(salon).kpi
    assert k["ltv_gross"] > k["ltv"]
    note = views.ltv_note(k, "RUB", "en")
    assert texts.money(k["ltv"], "RUB", "en", short=True) in note
    assert texts.money(k["ltv_gross"], "RUB", "en", short=True) in note
    assert views.ltv_note(sim.expected(SERVICE).kpi, "RUB", "en") == ""  # nothing to serve: the same
    at = open_page(preset="salon_care_programme", lang="ru")
    assert any(views.ltv_note(k, "RUB", "ru") in c.value for c in at.caption)


# --- the Russian page's new parts --------------------------------------------------------------------------


@pytest.mark.parametrize("tab", ["plan", "channels", "answers"])
def test_russian_page_has_no_english_words_in_the_new_parts(tab):
    sc = two_channels()
    params = {"preset": S.UPLOAD, "src": S.pack_source(sc.to_toml()), "tab": tab, "lang": "ru"}
    at = open_page(**params, **S.encode_plan(PLAN))
    no_exception(at)
    shown = [m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
    shown += [e.value for e in at.error] + [i.value for i in at.info]
    for table in at.table:
        shown += [str(x) for x in [*table.value.columns, *table.value.index, *table.value.to_numpy().ravel()]]
    for d in at.data_editor:
        shown += [str(x) for x in d.value.to_numpy().ravel() if isinstance(x, str)]
        config = json.loads(d.proto.columns or "{}")
        shown += [c.get("label", "") for c in config.values()]
        shown += [o for c in config.values() for o in c.get("type_config", {}).get("options", [])]
    shown += [w.label for w in [*at.selectbox, *at.text_input, *at.number_input, *at.button]]
    for chart in at.get("vega_lite_chart"):  # the axes' calendar months
        for layer in json.loads(chart.proto.spec).get("layer", []):
            expr = layer.get("encoding", {}).get("x", {}).get("axis", {}).get("labelExpr", "")
            shown += re.findall(r'"([^"]*)"', expr)
    words = set().union(*(latin_words(text) for text in shown))
    assert not words, sorted(words)


def test_switching_a_part_off_takes_its_levers_out_of_the_scenarios_own_plan():
    own = plans.apply(SERVICE, PlanEdits(steps=((13, STAFF, 6), (13, CHURN, 0.01)), trends=((CPL, 0.01),)))
    off = S.apply_switches(own, {"sales_desk": False}, PRESETS.donors())
    assert off.sales_desk is None
    assert [s.values for s in off.plan] == [((CHURN, 0.01),)] and off.trends == ((CPL, 0.01),)
    at = open_page(preset=S.UPLOAD, src=S.pack_source(own.to_toml()), tab="plan")  # an upload with a plan
    no_exception(at)
    assert editor(at, "steps").value["value"].tolist() == [6.0, 1.0]  # its own steps, churn in %
    base_id = S.Base(S.UPLOAD, own, S.pack_source(own.to_toml())).id
    at.toggle(key=f"sw|{base_id}|sales_desk").set_value(False).run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert tile(at, "break_even_month") == shown_kpi(off, "break_even_month")
    assert editor(at, "steps").value["value"].tolist() == [1.0]


@pytest.mark.parametrize("stem", sorted(PRESETS.scenarios))
def test_every_lever_the_app_moves_can_be_planned(stem):
    """Issue 10, §1: every lever widget of a scenario is offered by the plan's steps table (rates, shares and
    prices by the trends and seasonality tables too)."""
    sc = PRESETS.scenarios[stem]
    specs = S.fields(sc)
    for lang in ("en", "ru"):
        levers = S.plan_levers(specs, lang, sc.currency)
        assert [s.path for s in specs if paths_value(sc, s.path) is not None] == [
            p for p in levers if paths_value(sc, p) is not None
        ]
        steps = {lv.path for lv in plans.offered(levers, "steps")}
        assert steps == set(levers)


def paths_value(sc: sim.Scenario, path: str) -> object:
    return paths.get(sc, path)


@pytest.mark.parametrize(
    ("stem", "path", "value"),
    [
        (STEM, "repeat.0.adoption", 0.2),  # a cohort lever: customers who buy from month 13 on
        (STEM, "sales_desk.handling_minutes", 120.0),  # a lead's: leads arriving from month 13 on
        (
            "beauty_salon",
            "problems.cost_per_problem",
            20_000.0,
        ),  # a visit's: problems from month 13
    ],
)
def test_a_step_on_a_newly_plannable_lever_moves_the_tiles(stem, path, value):
    sc = PRESETS.scenarios[stem]
    assert paths_value(sc, path) is not None
    at = open_page(preset=stem, tab="plan")
    lever = label(path, sc=sc)
    shown = value * 100 if S.plan_levers(S.fields(sc), "en", sc.currency)[path].percent else value
    at = edit(at, "steps", added_rows=[{"from_month": 13, "lever": lever, "value": shown}])
    no_exception(at)
    planned = sc.override({"plan": [{"from_month": 13, path: value}]})
    shown_tiles = ("break_even_month", "max_cash_need", "ltv", "lost_lead_share")
    assert any(shown_kpi(planned, k) != shown_kpi(sc, k) for k in shown_tiles)  # the step shows on a tile
    for k in shown_tiles:
        assert tile(at, k) == shown_kpi(planned, k), k
    assert dict(at.query_params)["plan"].startswith(f"13:{path}=")
