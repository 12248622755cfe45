"""The charts (`sim.report.charts`) as an owner reads them, in English and Russian, on a desktop and on a
phone: the programme's points keep their colours and its flat line says why, the preset whose contacts
matter, tooltips in the page's words, the cash flow's legend, the cohort heatmap, the tornado's direction
and values, and charts that fit a 390 px screen (checked in the spec, and in Chromium on the real page).
Every expected figure comes from the model at test time."""

from __future__ import annotations

import functools
import json
import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pytest

import sim
from sim.accounting.ledger import CASH_COMPONENTS
from sim.app import answers, views
from sim.app import state as S
from sim.report import charts, texts

ROOT = Path(__file__).resolve().parents[2]
PRESETS = S.load_presets(ROOT / "scenarios")
NEW_PRESET = "salon_care_programme"
DEALER = PRESETS.scenarios["car_dealer_service"]
MEDICAL = PRESETS.scenarios["medical_service_programme"]
SALON = PRESETS.scenarios[NEW_PRESET]
PLANNED = SALON.override(
    {
        "start": "2027-09",
        "plan": [{"from_month": 7, "channels.0.cost_per_lead": 500.0, "sales_desk.staff": 2}],
        "trends": {"retention.monthly_churn": -0.01},
        "seasonality": {"channels.0.leads_per_month": [0.8, 0.8, 1, 1, 1.1, 1.2, 1.2, 1.1, 1, 1, 0.9, 1.4]},
    }
)
"""The new salon preset with a plan over time, from September 2027 (its months are dates)."""


def cash_frame(result: sim.ExpectedResult, band: pd.DataFrame | None = None) -> pd.DataFrame:
    """The page's cash-chart table (`cash_frame`, in `sim.report.frames` or `sim.app.views`)."""
    try:
        from sim.report.frames import cash_frame as build
    except ImportError:
        build = views.cash_frame
    return build(result, result, band)


def fake_band(sc: sim.Scenario) -> pd.DataFrame:
    cum = sim.expected(sc).arrays["cumulative_cash"]
    return pd.DataFrame(
        {"month": np.arange(1, cum.size + 1), "mean": cum, "p10": cum - 1e6, "p50": cum, "p90": cum + 1e6}
    )


def spec_of(chart: alt.TopLevelMixin) -> dict[str, Any]:
    with alt.data_transformers.disable_max_rows():
        spec = chart.to_dict()  # validates against the Vega-Lite schema
    json.dumps(spec, allow_nan=False)
    return spec


def units(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every single-mark view of a spec (layers and concatenations opened)."""
    if "mark" in spec:
        yield spec
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, []):
            yield from units(child)


def rows_of(spec: dict[str, Any], unit: dict[str, Any]) -> list[dict[str, Any]]:
    return spec["datasets"][(unit.get("data") or spec["data"])["name"]]  # a lone layer's data is on top


def mark_type(unit: dict[str, Any]) -> str:
    return unit["mark"] if isinstance(unit["mark"], str) else unit["mark"]["type"]


@functools.lru_cache(maxsize=2)
def every_chart(lang: str) -> list[tuple[str, dict[str, Any]]]:
    """Every chart of the page (as a checked spec) for the dealer (band drawn) and the new salon preset."""
    return [(name, spec_of(chart)) for name, chart in _charts(lang)]


def _charts(lang: str) -> Iterator[tuple[str, alt.TopLevelMixin]]:
    for sc in (DEALER, SALON):
        result = sim.expected(sc)
        yield (
            "cash",
            charts.cash_chart(
                cash_frame(result, fake_band(sc)), result.kpi["break_even_month"], sc.currency, lang
            ),
        )
        yield "flow", charts.cash_flow_chart(views.components_frame(result), sc.currency, lang)
        yield "cohorts", charts.cohort_chart(views.cohort_frame(result), sc.currency, lang)
        names = S.lever_names(S.fields(sc), lang)
        for metric in ("break_even_month", "final_cumulative_cash"):
            table = sim.sensitivity(sc, metric=metric)
            yield (
                "sensitivity",
                charts.sensitivity_chart(table, metric, sc.currency, lang, names, sc.horizon_months),
            )
        yield "desk", charts.desk_chart(views.desk_curve(sc), sc.sales_desk.staff, lang)
    yield "programme", charts.programme_chart(sim.programme_value(SALON), SALON.currency, lang)
    yield "programme", charts.programme_chart(sim.programme_value(MEDICAL), MEDICAL.currency, lang)
    dated = PLANNED  # months named by the calendar: the cash, the flow, the cohorts and a planned lever
    result = sim.expected(dated)
    yield "cash", charts.cash_chart(cash_frame(result), result.kpi["break_even_month"], dated.currency, lang)
    yield "flow", charts.cash_flow_chart(views.components_frame(result), dated.currency, lang)
    yield "cohorts", charts.cohort_chart(views.cohort_frame(result), dated.currency, lang)
    levers = S.plan_levers(S.fields(dated), lang, dated.currency)
    for path in views.planned_levers(dated, levers):
        title = texts.t(lang, "pl_path_title", lever=levers[path].label)
        yield "plan", charts.plan_chart(views.plan_path(dated, levers[path]), title, lang)


# --- defect 2: the programme's points keep their colours in both languages ---------------------------


def test_programme_points_keep_their_colours_in_both_languages():
    """ "now" was red in one language and green in the other: the colours followed the labels' alphabetical
    order. Now the scale lists the points in a fixed order: now red, optimum green."""
    pv = sim.programme_value(SALON)
    for lang in texts.LANGS:
        spec = spec_of(charts.programme_chart(pv, SALON.currency, lang))
        dots = [u for u in units(spec) if mark_type(u) == "point"]
        assert len(dots) == 1
        scale = dots[0]["encoding"]["color"]["scale"]
        assert scale["domain"] == [texts.t(lang, "current"), texts.t(lang, "optimum")], lang
        assert scale["range"] == [charts.MARK_COLOR, charts.OPTIMUM_COLOR], lang


# --- defect 3: a preset whose contacts matter; a flat line says why, with one point -----------------


def test_new_preset_has_contacts_that_matter():
    """The shipped programme scenarios had a flat line (contacts without effect); the new preset's net
    rises with contacts to an optimum inside the range and falls past it (intrusive service)."""
    assert NEW_PRESET in PRESETS.scenarios and not PRESETS.errors
    assert SALON.name and SALON.service_programme is not None
    pv = sim.programme_value(SALON)
    shape = charts.programme_shape(pv)
    assert shape.churn_effect and shape.contact_cost and not shape.flat and not shape.at_optimum
    net, k = pv.curve["net"].to_numpy(), pv.curve["contacts_per_month"].to_numpy()
    assert k[0] < pv.optimal_contacts_per_month < k[-1], "the optimum is inside the range"
    assert pv.optimal_net_per_year > max(net[0], net[-1]) + 1e6, "contacts change the net by millions"
    assert pv.optimal_net_per_year > pv.net_per_year + 0.1 * abs(pv.net_per_year), "now is not the optimum"
    for lang in texts.LANGS:
        verdict = answers.programme_verdict(pv, SALON.currency, lang)
        assert charts.contacts_text(pv.optimal_contacts_per_month, lang) in verdict
        assert texts.money(pv.optimal_net_per_year, SALON.currency, lang, short=True) in verdict


def test_new_preset_marks_every_value_not_from_the_articles_as_an_assumption():
    path = ROOT / "scenarios" / f"{NEW_PRESET}.toml"
    tomllib.loads(path.read_text())  # plain TOML
    exempt = {"name", "name_ru", "currency", "handling"}
    for line in path.read_text().splitlines():
        m = re.match(r"^(\w+)\s*=", line)
        if not m or m.group(1) in exempt:
            continue
        comment = line.partition("#")[2]
        assert "assumption" in comment or "article" in comment, line
        if m.group(1) in {
            "contacts_per_month",
            "cost_per_contact",
            "tolerated_contacts_per_month",
            "max_churn_reduction",
            "fixed_cost_per_year",
        }:
            assert "assumption" in comment, line  # the articles give no programme for a salon


def test_flat_programme_says_why_and_draws_one_point():
    """The medical programme's contacts change nothing: the chart drew "now" and "optimum" on top of each
    other and the sentence said "at 0.00 contacts … would net −10.0 M". Now one point, a note on the
    chart, and a sentence that says why (the programme's churn reduction is 0, contacts cost nothing)."""
    pv = sim.programme_value(MEDICAL)
    assert charts.programme_shape(pv).flat
    for lang in texts.LANGS:
        spec = spec_of(charts.programme_chart(pv, MEDICAL.currency, lang))
        dots = next(u for u in units(spec) if mark_type(u) == "point")
        assert [r["label"] for r in rows_of(spec, dots)] == [texts.t(lang, "current")]
        assert texts.t(lang, "ch_prog_flat_note").split()[0] in " ".join(spec["title"]["subtitle"])
        for scenario in (None, MEDICAL):
            verdict = answers.programme_verdict(pv, MEDICAL.currency, lang, scenario=scenario)
            assert "0.00" not in verdict and "0,00" not in verdict, verdict
            assert texts.t(lang, "ch_prog_flat", why="").split("(")[0] in verdict
        why = texts.t(lang, "ch_why_no_reduction")
        assert why in answers.programme_verdict(pv, MEDICAL.currency, lang, scenario=MEDICAL)
        text = answers.programme_text(answers.ProgrammeAnswer(answers.AnswerStatus.VALUE, pv), "RUB", lang)
        net = texts.money(abs(pv.net_per_year), MEDICAL.currency, lang, short=True)
        assert f"**{net}**" in text  # article 000: it loses 10 M a year


def test_programme_at_its_optimum_or_with_costly_useless_contacts():
    """At the optimum: one point labelled "now = optimum" and a sentence saying so. Contacts that do not
    reduce churn but cost money: a falling line, a note, and the net with no contacts."""
    best = SALON.override(
        {"service_programme.contacts_per_month": sim.programme_value(SALON).optimal_contacts_per_month}
    )
    pv = sim.programme_value(best)
    assert charts.programme_shape(pv).at_optimum
    useless = SALON.override({"service_programme.max_churn_reduction": 0.0})
    falling = sim.programme_value(useless)
    shape = charts.programme_shape(falling)
    assert not shape.flat and not shape.churn_effect and shape.contact_cost
    for lang in texts.LANGS:
        spec = spec_of(charts.programme_chart(pv, SALON.currency, lang))
        dots = next(u for u in units(spec) if mark_type(u) == "point")
        assert [r["label"] for r in rows_of(spec, dots)] == [texts.t(lang, "ch_now_optimum")]
        verdict = answers.programme_verdict(pv, SALON.currency, lang)
        assert texts.t(lang, "ch_prog_best", k=charts.contacts_text(pv.contacts_per_month, lang)) in verdict
        spec = spec_of(charts.programme_chart(falling, SALON.currency, lang))
        assert texts.t(lang, "ch_prog_linear_note").split(":")[0].split()[0] in " ".join(
            spec["title"]["subtitle"]
        )
        verdict = answers.programme_verdict(falling, SALON.currency, lang, scenario=useless)
        assert texts.t(lang, "ch_why_no_reduction") in verdict
        assert texts.money(falling.optimal_net_per_year, SALON.currency, lang, short=True) in verdict
        assert falling.optimal_contacts_per_month == 0.0


# --- defect 4: tooltips in the page's words ----------------------------------------------------------

RAW = {
    "month",
    "lo",
    "hi",
    "series",
    "y",
    "m0",
    "m1",
    "label",
    "end",
    "from",
    "to",
    "value",
    "ratio",
    "shade",
    "net",
    "contacts_per_month",
    "cohort",
    "age",
    "staff",
}
"""Field names that must never title a tooltip line."""


def test_every_mark_shows_a_tooltip_in_the_page_words_or_none():
    """Hovering the cash curve or the band showed `month`, `lo`, `hi`, `series` and raw numbers in English on
    the Russian page (Streamlit's theme turns tooltips on for every mark): now every mark either has its
    own tooltip, each line titled in the page's language, or none."""
    for lang in texts.LANGS:
        for name, spec in every_chart(lang):
            for unit in units(spec):
                mark = unit["mark"] if isinstance(unit["mark"], dict) else {"type": unit["mark"]}
                tips = unit.get("encoding", {}).get("tooltip")
                if mark.get("tooltip") is False:
                    assert tips is None, (name, mark)
                    continue
                assert tips, (lang, name, mark["type"], "a mark with Streamlit's default tooltip")
                for tip in tips if isinstance(tips, list) else [tips]:
                    title = tip.get("title")
                    assert (title and title.strip() not in RAW) or title == " ", (lang, name, tip)
                    if tip["field"].startswith("t") and tip["type"] == "nominal":
                        continue  # text formatted in Python by `texts`
                    assert tip["type"] == "nominal" or "format" in tip or tip["field"] == "staff", (name, tip)


def test_cash_tooltip_reads_like_the_page():
    """The month's tooltip: titles in the page's language, money as the page writes it."""
    result = sim.expected(DEALER)
    frame = cash_frame(result, fake_band(DEALER))
    for lang in texts.LANGS:
        spec = spec_of(charts.cash_chart(frame, result.kpi["break_even_month"], DEALER.currency, lang))
        hover = [u for u in units(spec) if u.get("encoding", {}).get("tooltip")]
        assert len(hover) == 1 and mark_type(hover[0]) == "bar"
        titles = [t["title"] for t in hover[0]["encoding"]["tooltip"]]
        assert titles[:3] == [
            texts.t(lang, "month"),
            texts.t(lang, "series_whatif"),
            texts.t(lang, "series_preset"),
        ]
        row = rows_of(spec, hover[0])[59]  # month 60
        assert row["t_month"] == "60"
        assert row["t_whatif"] == texts.money(frame["whatif"].iloc[59], DEALER.currency, lang, short=True)
        assert row["t_whatif"].endswith("₽") and (("млн" in row["t_whatif"]) == (lang == "ru"))


# --- defect 8: the cash flow's net line in the legend, the referral bonus visible ---------------------


def test_cash_flow_has_net_in_the_legend_and_the_bonus_next_to_zero():
    """The net line had no legend entry, and the referral bonus (a thin cost) was stacked at the far end
    of the costs in pale pink: now the net line has its own legend entry (a black line) and the bonus is
    stacked right under the zero line in a dark colour."""
    result = sim.expected(DEALER)
    for lang in texts.LANGS:
        spec = spec_of(charts.cash_flow_chart(views.components_frame(result), DEALER.currency, lang))
        line = next(u for u in units(spec) if mark_type(u) == "line")
        dash = line["encoding"]["strokeDash"]
        assert dash["scale"]["domain"] == [texts.t(lang, "net_cash")] and dash["legend"]["orient"] == "bottom"
        bars = next(u for u in units(spec) if mark_type(u) == "bar" and "color" in u["encoding"])
        order = {r["component"]: r["order"] for r in rows_of(spec, bars)}
        costs = [c for c in charts.COMPONENT_COLORS if c in order and CASH_COMPONENTS[c] < 0]
        assert costs[0] == "referral_bonus" and order["referral_bonus"] < order["lead_spend"]
        colours = dict(
            zip(
                bars["encoding"]["color"]["scale"]["domain"],
                bars["encoding"]["color"]["scale"]["range"],
                strict=True,
            )
        )
        bonus = colours[texts.t(lang, "c_referral_bonus")].lstrip("#")
        assert sum(int(bonus[i : i + 2], 16) for i in (0, 2, 4)) < 3 * 128, "a dark colour"


# --- defect 10: the cohort heatmap -------------------------------------------------------------------


def test_cohort_heatmap_is_readable():
    """120 rows of 2 px, the first cohort red all along, a pale yellow payback band: now ten rows (one a
    year), a diverging scale centred on "paid back" (white at 1, so only cohorts far from it are deep red
    or green), and a black line through the month each row pays back."""
    assert [charts.cohort_rows(h) for h in (12, 36, 48, 72, 120, 240)] == [1, 1, 3, 3, 12, 12]
    result = sim.expected(DEALER)
    frame = views.cohort_frame(result)
    for lang in texts.LANGS:
        spec = spec_of(charts.cohort_chart(frame, DEALER.currency, lang))
        heat = next(u for u in units(spec) if mark_type(u) == "rect")
        cells = pd.DataFrame(rows_of(spec, heat))
        assert cells["cohort"].nunique() == 10 and cells["cohort"].iloc[0] == texts.t(lang, "ch_year_n", n=1)
        scale = heat["encoding"]["color"]["scale"]
        assert scale["type"] == "log" and scale["domain"][len(scale["domain"]) // 2] == 1.0
        assert scale["range"][len(scale["range"]) // 2] == "#f7f7f7", "white at paid back"
        for _, row in cells.groupby("cohort"):  # no row is deep red all along
            assert row["ratio"].max() > 0.5, row["cohort"].iloc[0]
        line = next(u for u in units(spec) if mark_type(u) == "line")
        assert line["mark"]["color"] == charts.PAYBACK_COLOR and line["mark"]["strokeWidth"] >= 2
        paid = rows_of(spec, line)
        first_paid = cells[cells["ratio"] >= 1].groupby("cohort")["age"].min()
        assert {r["cohort"]: r["age"] for r in paid} == first_paid.to_dict()
        assert spec["title"]["subtitle"], "the colours and the line are explained under the title"
        assert spec["height"] <= 420
    salon = views.cohort_frame(sim.expected(SALON))
    spec = spec_of(charts.cohort_chart(salon, SALON.currency, "ru"))
    heat = next(u for u in units(spec) if mark_type(u) == "rect")
    assert pd.DataFrame(rows_of(spec, heat))["cohort"].nunique() == salon["cohort"].nunique()  # 36: by month


# --- defect 12: the tornado's direction, values and levers without effect ---------------------------


def test_tornado_says_which_way_shows_values_and_drops_dead_levers():
    """No "sooner ← → later" cue, no values, levers with no effect listed, "->" in stage names: now the
    axis says which way is which, each bar end shows the metric, levers with a zero swing are left out and
    counted in a note, and stage names read "→"."""
    for lang in texts.LANGS:
        names = S.lever_names(S.fields(DEALER), lang)
        for metric, words in (
            ("break_even_month", ("ch_sooner", "ch_later")),
            ("final_cumulative_cash", ("ch_less_cash", "ch_more_cash")),
        ):
            table = sim.sensitivity(DEALER, metric=metric)
            spec = spec_of(
                charts.sensitivity_chart(table, metric, DEALER.currency, lang, names, DEALER.horizon_months)
            )
            bars = next(u for u in units(spec) if mark_type(u) == "bar")
            axis_title = bars["encoding"]["x"]["title"]
            cue = axis_title[-1] if isinstance(axis_title, list) else axis_title
            assert cue.startswith("←") and cue.endswith("→")
            assert texts.t(lang, words[0]) in cue and texts.t(lang, words[1]) in cue
            dead = table[table["swing"].abs() <= 1e-9 * max(1.0, abs(table["metric_base"].iloc[0]))]
            shown = {r["label"] for r in rows_of(spec, bars)}
            assert len(shown) == len(table) - len(dead)
            assert not any("->" in s for s in shown) and any("→" in s for s in shown)
            for _, r in dead.iterrows():
                assert names.get(r["lever"], r["label"]).replace("->", "→") not in shown
            if metric == "break_even_month":
                assert len(dead) == 3  # leads a month (break-even is scale-free), staff, handling time
                note = " ".join(spec["title"]["subtitle"])
                form = texts.plural(len(dead), lang)
                head = texts.t(lang, f"ch_dropped_{form}", n=3, metric="", names="").split()[:3]
                assert " ".join(head) in note
            values = [u for u in units(spec) if mark_type(u) == "text"]
            ends = [r for u in values for r in rows_of(spec, u)]
            moving_ends = [r for r in rows_of(spec, bars) if r["to"] != r["from"]]
            assert len(ends) == len(moving_ends) > 0
            if metric == "break_even_month":
                assert {e["t_value"] for e in ends} >= {texts.t(lang, "never")}


def test_tornado_with_no_lever_that_moves_the_metric_says_so():
    table = sim.sensitivity(DEALER)
    dead = table[table["swing"] == 0]
    assert len(dead) == 3
    for lang in texts.LANGS:
        spec = spec_of(charts.sensitivity_chart(dead, "break_even_month", "RUB", lang, None, 120))
        (unit,) = units(spec)
        name = texts.t(lang, "m_break_even_month")
        assert rows_of(spec, unit)[0]["message"] == texts.t(lang, "ch_sens_none", metric=name)
        assert spec["title"]["subtitle"], "the levers left out are still named"


def test_tornado_for_the_command_line_still_builds():
    table = sim.sensitivity(DEALER)
    spec = spec_of(charts.tornado_chart(table, "break_even_month", title="dealer"))
    assert spec["title"]["text"] == "dealer" and spec["width"] == 480


# --- defect 13: charts on a phone ---------------------------------------------------------------------


def test_charts_are_built_for_a_phone_and_a_desktop():
    """At 390 px the legend on the right squeezed the plot to ~140 px, the x axis showed "12, 120" and the
    break-even label ran into the legend. Now every chart takes the container's width with its legends
    under the plot, long horizons are ticked every 12 months and labelled in years, long titles wrap on a
    phone, and the break-even label reads towards the middle of the plot."""
    for lang in texts.LANGS:
        for name, spec in every_chart(lang):
            if name != "desk":
                assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}, name
            for unit in units(spec):
                for channel in unit.get("encoding", {}).values():
                    legend = channel.get("legend") if isinstance(channel, dict) else None
                    if legend:
                        assert legend["orient"] == "bottom", (name, channel)
            title = spec.get("title", {})
            text = title.get("text")
            if isinstance(text, dict):  # a long title: wrapped lines on a phone
                assert charts.PHONE in text["expr"]
                lines = json.loads(text["expr"].split(" ? ")[1].split(" : ")[0])
                assert all(len(line) <= charts.PHONE_TITLE_CHARS for line in lines), lines
            for line in title.get("subtitle", []):
                assert len(line) <= charts.SUBTITLE_CHARS or " " not in line, line
    result = sim.expected(DEALER)
    spec = spec_of(charts.cash_chart(cash_frame(result), result.kpi["break_even_month"], "RUB", "ru"))
    axis = next(u for u in units(spec) if "x" in u.get("encoding", {}) and "axis" in u["encoding"]["x"])
    x_axis = axis["encoding"]["x"]["axis"]
    assert x_axis["values"] == list(range(12, 121, 12)) and x_axis["labelExpr"] == "datum.value / 12"
    assert x_axis["title"] == texts.t("ru", "ch_years")
    label = next(u for u in units(spec) if mark_type(u) == "text")
    assert result.kpi["break_even_month"] > 0.55 * 120 and label["mark"]["align"] == "right"
    early = DEALER.override({"channels.0.cost_per_lead": 1500.0})
    result = sim.expected(early)
    assert result.kpi["break_even_month"] < 0.55 * 120
    spec = spec_of(charts.cash_chart(cash_frame(result), result.kpi["break_even_month"], "RUB", "ru"))
    assert next(u for u in units(spec) if mark_type(u) == "text")["mark"]["align"] == "left"


def test_charts_render_without_a_browser():
    """vl-convert (the command line's PNG, the PDF report) has no container: the charts take their set
    width, titles on one line."""
    vl_convert = pytest.importorskip("vl_convert")
    result = sim.expected(DEALER)
    spec = spec_of(
        charts.cash_chart(cash_frame(result, fake_band(DEALER)), result.kpi["break_even_month"], "RUB", "ru")
    )
    spec["width"] = 640
    svg = vl_convert.vegalite_to_svg(spec)
    assert texts.t("ru", "break_even_at", n=int(result.kpi["break_even_month"])) in svg
    spec = spec_of(charts.programme_chart(sim.programme_value(SALON), "RUB", "ru"))
    spec["width"] = 640
    assert texts.t("ru", "optimum") in vl_convert.vegalite_to_svg(spec)


def test_calendar_months_on_the_axes_and_in_the_tooltips():
    """With a first month the month axes are labelled by the calendar (`янв 2028`, or each January's year
    past four years), hovering says the calendar month, and vl-convert draws the labels (the label table
    is a Vega expression)."""
    vl_convert = pytest.importorskip("vl_convert")
    result = sim.expected(PLANNED)
    spec = spec_of(charts.cash_chart(cash_frame(result), result.kpi["break_even_month"], "RUB", "ru"))
    axis = next(u["encoding"]["x"]["axis"] for u in units(spec) if "axis" in u["encoding"].get("x", {}))
    labels = json.loads(axis["labelExpr"].split("[datum.value]")[0])
    months = range(1, PLANNED.horizon_months + 1)
    dates = {m: texts.month_date(PLANNED, m) for m in months}
    assert PLANNED.horizon_months <= 48  # so January and July are named, with their years
    assert axis["values"] == [m for m in months if dates[m].month in (1, 7)]
    assert [labels[m] for m in axis["values"]] == [
        texts.calendar_month(dates[m], "ru", short=True) for m in axis["values"]
    ]
    assert labels[axis["values"][0]] == f"янв{texts.NBSP}2028"  # September 2027 + 4 months
    hover = next(u for u in units(spec) if mark_type(u) == "bar")
    first = rows_of(spec, hover)[0]
    assert first["t_date"] == texts.calendar_month(texts.month_date(PLANNED, 1), "ru")
    spec["width"] = 640
    svg = vl_convert.vegalite_to_svg(spec)
    assert f"янв{texts.NBSP}2028" in svg.replace("&#160;", texts.NBSP) and f"июл{texts.NBSP}2028" in svg


# --- the page on a phone, in Chromium -----------------------------------------------------------------


@pytest.mark.timeout(240)
def test_cash_chart_reads_on_a_phone_in_chromium(tmp_path: Path) -> None:
    """The real page at 390 px in Russian: the cash chart's plot is at least 280 px wide, its legend under
    the plot, the x axis in years (no "12, 120"), the break-even label inside the chart and clear of the
    legend; the programme tab of the new preset shows both points. Screenshots in the test's folder."""
    from app_server import CHROMIUM, LAUNCH_ARGS, streamlit_server

    def missing(why: str) -> None:
        if os.environ.get("SIM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{why} (SIM_REQUIRE_BROWSER=1: the browser test must run)")
        pytest.skip(why)

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed")
    if not Path(CHROMIUM).exists():
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    years = {str(n) for n in range(1, 11)}
    mark = texts.t("ru", "break_even_at", n=int(sim.expected(DEALER).kpi["break_even_month"]))
    with streamlit_server(tmp_path / "streamlit.log") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, timeout=30_000)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.set_default_timeout(60_000)
            page.goto(f"{url}/?preset=car_dealer_service&lang=ru&reps=0")
            chart = page.locator("[data-testid='stVegaLiteChart']").first
            chart.locator("svg").first.wait_for()
            page.wait_for_function("() => !document.querySelector(\"[data-testid='stStatusWidget']\")")
            chart.scroll_into_view_if_needed()
            box = chart.locator("svg.marks").bounding_box()
            x_axis = chart.locator("g[aria-roledescription='axis'][aria-label^='X-axis']").bounding_box()
            rules = chart.locator("g.mark-rule.role-mark line")  # the zero line spans the plot
            plot = max(rules.nth(i).bounding_box()["width"] for i in range(rules.count()))
            legend = chart.locator("g[aria-roledescription='legend']").first.bounding_box()
            labels = chart.locator(
                "g[aria-roledescription='axis'][aria-label^='X-axis'] g.role-axis-label text"
            ).evaluate_all("els => els.map(e => e.textContent)")
            be = chart.locator("text", has_text=mark).bounding_box()
            page.screenshot(path=str(tmp_path / "cash_ru_phone.png"))
            assert box["width"] <= 390 and plot >= 280, (box, plot)
            assert legend["y"] >= x_axis["y"] + x_axis["height"] - 8, "the legend is under the axis"
            assert labels and set(labels) <= years, labels
            assert box["x"] <= be["x"] and be["x"] + be["width"] <= box["x"] + box["width"] + 1
            assert be["y"] + be["height"] <= legend["y"] or be["x"] >= legend["x"] + legend["width"]

            page.goto(f"{url}/?preset={NEW_PRESET}&lang=ru&reps=0&tab=programme")
            page.get_by_text(texts.t("ru", "optimum"), exact=True).first.wait_for()
            charts_on_page = page.locator("[data-testid='stVegaLiteChart']")
            programme = charts_on_page.nth(charts_on_page.count() - 1)
            programme.scroll_into_view_if_needed()
            texts_shown = programme.locator("text").evaluate_all("els => els.map(e => e.textContent)")
            assert texts.t("ru", "current") in texts_shown and texts.t("ru", "optimum") in texts_shown
            programme.screenshot(path=str(tmp_path / "programme_ru_phone.png"))
        finally:
            browser.close()
