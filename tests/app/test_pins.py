"""What-ifs side by side: pinning the current settings under a name (at most four), their curves on the cash
chart, the KPI table with the differences against a chosen base, the pins in the link (a copied link
reproduces them; a damaged or invalid pin is skipped with a message) and in the printed report. Without
Streamlit, through AppTest, and as an owner does it in Chromium on the Russian page. Every figure expected
is computed from the model at test time."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import sim
from sim.app import state as S
from sim.app import views
from sim.report import charts, frames, texts

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PRESETS = S.load_presets(ROOT / "scenarios")
DONORS = PRESETS.donors()
STEM = "car_dealer_service"
SERVICE = PRESETS.scenarios[STEM]
CPL = "channels.0.cost_per_lead"
CHURN = "retention.monthly_churn"
WHATIFS: dict[str, dict[str, float]] = {"CPL 2 000": {CPL: 2000.0}, "Churn 1 %": {CHURN: 0.01}}
"""The two what-ifs the stories pin (model values): cheaper calls, and customers who stay longer."""
WIDGET = {CPL: 2000.0, CHURN: 1.0}
"""The same values as the lever widgets take them (churn in %)."""


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def open_page(**params: object) -> AppTest:
    """The page opened with these query parameters (Monte Carlo off unless given)."""
    at = AppTest.from_file(APP, default_timeout=60)
    params.setdefault("reps", 0)
    for key, value in params.items():
        at.query_params[key] = str(value)
    return at.run()


def columns(lang: str, names: list[str] | None = None) -> list[tuple[str, sim.ExpectedResult]]:
    """The comparison's columns as the page builds them: the scenario as loaded, then each pinned what-if
    (by the names of WHATIFS), from the model now."""
    out = [(texts.t(lang, "series_preset"), sim.expected(SERVICE))]
    for name in names or list(WHATIFS):
        out.append((name, sim.expected(SERVICE.override(WHATIFS[name]))))
    return out


def table_cells(at: AppTest) -> dict[str, list[str]]:
    """The page's comparison table: its columns, each a list of cells (KPIs in the tiles' order)."""
    assert len(at.table) == 1
    frame = at.table[0].value
    return {str(c): [str(x) for x in frame[c]] for c in frame.columns}


def chart_spec(at: AppTest) -> dict:
    """The cash chart's Vega-Lite spec as the page sent it."""
    return json.loads(at.get("vega_lite_chart")[0].proto.spec)


def colour_domain(spec: dict) -> list[str]:
    """The names of the cash chart's coloured series (its legend)."""
    for layer in spec["layer"]:
        color = layer.get("encoding", {}).get("color")
        if color and "scale" in color:
            return color["scale"]["domain"]
    raise AssertionError("no coloured series")


def pin_here(at: AppTest, name: str, levers: dict[str, float]) -> AppTest:
    """Set these levers (widget units) on the page, type `name` and press "Pin this what-if"."""
    for path, value in levers.items():
        at.number_input(key=S.lever_key(STEM, path)).set_value(value)
    at.run()
    at.text_input(key="pg_pin_new").input(name)
    return at.button(key="pg_pin_add").click().run()


def pins_in_link(at: AppTest) -> tuple[S.Pin, ...]:
    return S.decode_view(dict(at.query_params), set(PRESETS.scenarios)).value.pins


# --- the pins in the link ------------------------------------------------------------------------------


def test_pins_round_trip_through_the_link():
    """Each pin is one query parameter: its name, then its lever changes and switches against the preset;
    decoding the link gives the same view, pins, their order and the comparison's base included."""
    view = S.View(
        preset=STEM,
        lang="ru",
        values={CHURN: 0.02},
        pins=(
            S.Pin("Лид по 2 000", values={CPL: 2000.0}),
            S.Pin("Без рекомендаций, 6 продавцов", {"referrals": False}, {"sales_desk.staff": 6}),
            S.Pin("Ждут сколько угодно", values={"sales_desk.patience_hours": None}),
            S.Pin("Programme", {"service_programme": True, "problems": True}, {CHURN: 0.01}),
        ),
        pin_base=2,
    )
    params = S.encode_view(view)
    assert params["pin1"] == "Лид по 2 000~channels.0.cost_per_lead=2000"
    assert params["pin2"] == "Без рекомендаций, 6 продавцов~sales_desk.staff=6~off=referrals"
    assert params["pin4"] == "Programme~retention.monthly_churn=0.01~on=service_programme,problems"
    assert params["pinbase"] == "2"
    assert S.decode_view(params, set(PRESETS.scenarios)) == S.Checked(view, [])
    assert "pin1" not in S.encode_view(S.View()) and "pinbase" not in S.encode_view(S.View(pin_base=1))
    # A name keeps no `~` (the separator), control characters or runs of spaces, and is cut to its length.
    pin = S.decode_view({"pin1": S.encode_pin(S.Pin(" a~b\n  c " + "x" * 50))}, set()).value.pins[0]
    assert pin.name == ("a b c " + "x" * 50)[: S.MAX_PIN_NAME]


def test_damaged_pin_parameters_are_skipped_with_a_message():
    """A pin the link cannot read, one past the fourth, or a name used twice is skipped with a message
    naming the parameter and the rule; the good pins stay, and the base follows its pin."""
    params = {
        "pin1": "~channels.0.cost_per_lead=2000",  # no name
        "pin2": "Cheap~channels.0.cost_per_lead=cheap",  # not a number
        "pin3": "Good~channels.0.cost_per_lead=2000",
        "pin4": "Odd~nonsense",  # not PATH=VALUE
        "pin5": "Parts~on=wings",  # not a part
        "pin6": "GOOD~retention.monthly_churn=0.01",  # the name of pin 3 again
        "pin7": "Noise~costperlead=3",  # not a dotted path
        "pin8": "Second~retention.monthly_churn=0.01",
        "pin9": "Third~retention.monthly_churn=0.02",
        "pin10": "Fourth~retention.monthly_churn=0.03",
        "pin11": "Fifth~retention.monthly_churn=0.04",  # one too many
        "pinbase": "3",
    }
    checked = S.decode_view(params, set(PRESETS.scenarios))
    assert [p.name for p in checked.value.pins] == ["Good", "Second", "Third", "Fourth"]
    assert checked.value.pin_base == 1  # pin3 of the link is the first pin kept
    problems = "\n".join(checked.problems)
    assert len(checked.problems) == 7, problems
    for name in ("pin1=", "pin2=", "pin4=", "pin5=", "pin6:", "pin7=", "pin11:"):
        assert name in problems, (name, problems)
    assert "not a number" in problems and "not a part" in problems and f"at most {S.MAX_PINS}" in problems
    assert S.decode_view({"pin1": "A~x.y=1", "pinbase": "2"}, set()).problems == [
        "pinbase=2: no such pin in the link"
    ]
    assert S.decode_view({"pinbase": "x"}, set()).problems[0].startswith("pinbase=x:")


def test_pins_not_valid_on_the_scenario_are_skipped_with_a_message():
    """A pin whose lever is not one of the scenario's, or whose value breaks the lever's bounds, is
    skipped when the page starts from the link, with a message naming it, the lever and the rule."""
    link = S.View(
        preset=STEM,
        pins=(
            S.Pin("Too much churn", values={CHURN: 7.0}),
            S.Pin("No such lever", values={"channels.5.cost_per_lead": 1.0}),
            S.Pin("Cheaper", values={CPL: 2000.0}),
        ),
        pin_base=3,
    )
    checked = S.initial_pins(SERVICE, link, DONORS)
    assert checked.value == S.Pinned((link.pins[2],), base=1)
    assert len(checked.problems) == 2
    assert "retention.monthly_churn=7" in checked.problems[0] and "must be in" in checked.problems[0]
    assert "channels.5.cost_per_lead" in checked.problems[1]
    assert S.pin_scenario(SERVICE, link.pins[2], DONORS) == SERVICE.override({CPL: 2000.0})
    # A pin's switches are against the preset: parts from the donor, as the switches take them.
    dealer = PRESETS.scenarios["car_dealer"]
    pin = S.Pin("Service", {"repeat": True, "referrals": True}, {CHURN: 0.01})
    switched = S.apply_switches(dealer, {"repeat": True, "referrals": True}, DONORS)
    assert S.pin_scenario(dealer, pin, DONORS) == switched.override({CHURN: 0.01})


def test_pinning_renaming_and_removing():
    """Four pins at most (the fifth is refused with a clear message), a name is given when none is typed,
    a name or the same settings pinned twice are refused, and the base follows its pin when another is
    removed."""
    lang = "en"
    pinned = S.Pinned()
    for i in range(S.MAX_PINS):
        checked = S.add_pin(pinned, S.Pin("", values={CPL: 2000.0 + 100 * i}), lang)
        assert not checked.problems
        pinned = checked.value
    assert [p.name for p in pinned.pins] == [texts.t(lang, "pin_default", n=n) for n in range(1, 5)]
    fifth = S.add_pin(pinned, S.Pin("Fifth", values={CPL: 1000.0}), lang)
    assert fifth.value == pinned and fifth.problems == [texts.t(lang, "pin_full", n=S.MAX_PINS)]
    assert "4" in fifth.problems[0] and "remove one" in fifth.problems[0]

    two = S.Pinned((S.Pin("Cheap", values={CPL: 2000.0}), S.Pin("Loyal", values={CHURN: 0.01})))
    assert S.add_pin(two, S.Pin("cheap", values={CPL: 1.0}), lang).problems == [
        texts.t(lang, "pin_taken", name="cheap")
    ]
    assert S.add_pin(two, S.Pin("Again", values={CPL: 2000.0}), lang).problems == [
        texts.t(lang, "pin_same", name="Cheap")
    ]
    reserved = texts.t("ru", "series_preset")  # a line of the chart, in either language
    assert S.add_pin(two, S.Pin(reserved, values={CPL: 1.0}), lang).problems
    assert S.default_pin_name(S.Pinned((S.Pin("What-if 1"),)), lang) == "What-if 2"

    renamed = S.rename_pin(two, 2, "  Customers stay  ", lang)
    assert [p.name for p in renamed.value.pins] == ["Cheap", "Customers stay"] and not renamed.problems
    assert S.rename_pin(two, 2, "CHEAP", lang).problems == [texts.t(lang, "pin_taken", name="CHEAP")]
    assert S.rename_pin(two, 2, " ", lang).problems == [texts.t(lang, "pin_no_name")]
    assert S.rename_pin(two, 2, "CHEAP", lang).value.pins == two.pins  # refused: unchanged

    based = S.choose_base(two, "Loyal")
    assert based.base == 2 and based.base_name(lang) == "Loyal"
    assert S.remove_pin(based, 1) == S.Pinned((two.pins[1],), base=1, revision=1)
    assert S.remove_pin(based, 2).base == 0  # its own base removed: the scenario as loaded
    assert S.choose_base(two, texts.t(lang, "series_preset")).base == 0


# --- the table and the chart (no Streamlit) -----------------------------------------------------------


@pytest.mark.parametrize("lang", texts.LANGS)
def test_comparison_table_has_the_models_figures_and_differences(lang):
    """A row per tile, a column per scenario; each figure as its tile writes it, and in brackets its
    difference against the base's (none in the base's own column, nor where the figures are the same)."""
    cols = columns(lang)
    for base in range(len(cols)):
        table = views.comparison(cols, base, lang)
        assert list(table.columns) == [name for name, _ in cols]
        assert list(table.index) == [texts.t(lang, f"t_{m}") for m in frames.TILE_METRICS]
        against = cols[base][1].kpi
        for i, (name, result) in enumerate(cols):
            for m, cell in zip(frames.TILE_METRICS, table[name], strict=True):
                value = texts.kpi_value(m, result.kpi, "RUB", lang, SERVICE.horizon_months)
                change = float(result.kpi[m]) - float(against[m])
                if i == base or abs(change) < 1e-9:
                    assert cell == value, (name, m)
                else:
                    signed = texts.format_kpi(m, change, "RUB", lang, signed=True)
                    assert cell == f"{value} ({signed})", (name, m)
    cheap = views.comparison(cols, 0, lang)["CPL 2 000"].iloc[0]
    months = cols[0][1].kpi["break_even_month"] - cols[1][1].kpi["break_even_month"]
    assert months > 0 and cheap.endswith(f"({texts.month_span(-months, lang, signed=True)})")
    assert views.comparison_columns(cols[0][1], cols[1:], "Churn 1 %", lang) == (cols, 2)
    assert views.comparison_columns(cols[0][1], cols[1:], "gone", lang)[1] == 0
    report = views.report_pins(cols, 2)  # the report compares with its first: the base
    assert report == [
        ("Churn 1 %", cols[2][1].scenario),
        (cols[0][0], SERVICE),
        ("CPL 2 000", cols[1][1].scenario),
    ]
    assert views.report_pins(cols[:1], 0) == []  # nothing pinned: no comparison in the report


def test_cash_chart_draws_each_pin_as_a_labelled_line():
    """Each pin's expected cumulative cash is a line of its own colour, named in the legend (under the
    plot) and in the month's tooltip; the what-if and the scenario as loaded are still drawn; the chart
    without pins is as before."""
    cols = columns("ru")
    loaded = cols[0][1]
    frame = frames.cash_frame(loaded, loaded)
    pins = frames.pins_frame(cols[1:], SERVICE.horizon_months)
    assert list(pins.columns) == ["month", "name", "value"] and len(pins) == 2 * SERVICE.horizon_months
    be = loaded.kpi["break_even_month"]
    spec = charts.cash_chart(frame, be, "RUB", "ru", pins=pins).to_dict()
    domain = colour_domain(spec)
    assert domain == [texts.t("ru", "series_whatif"), texts.t("ru", "series_preset"), *WHATIFS]
    layer = next(u for u in spec["layer"] if u.get("encoding", {}).get("color", {}).get("legend"))
    assert layer["encoding"]["color"]["legend"]["orient"] == "bottom"
    assert layer["encoding"]["color"]["scale"]["range"][2:] == list(charts.PIN_COLORS[:2])
    pin_layer = next(u for u in spec["layer"] if u.get("mark", {}).get("strokeDash") == charts.PIN_DASH)
    rows = pd.DataFrame(spec["datasets"][pin_layer["data"]["name"]])
    for name, result in cols[1:]:
        line = rows[rows["series"] == name].sort_values("month")
        assert line["value"].tolist() == pytest.approx(result.arrays["cumulative_cash"].tolist())
    hover = next(u for u in spec["layer"] if u.get("encoding", {}).get("tooltip"))
    titles = [t["title"] for t in hover["encoding"]["tooltip"]]
    assert titles[3:5] == list(WHATIFS)
    month_60 = spec["datasets"][hover["data"]["name"]][59]
    money = texts.money(cols[1][1].arrays["cumulative_cash"][59], "RUB", "ru", short=True)
    assert month_60["t_pin0"] == money
    plain = charts.cash_chart(frame, be, "RUB", "ru").to_dict()
    assert colour_domain(plain) == domain[:2]
    five = pd.concat([pins.assign(name=f"p{i}") for i in range(5)])
    with pytest.raises(ValueError, match="at most 4"):
        charts.cash_chart(frame, be, "RUB", "ru", pins=five)


# --- the page (AppTest) ---------------------------------------------------------------------------------


def test_pin_two_whatifs_and_see_both_curves_and_the_differences():
    """CPL 2 000, then churn 1 %: both curves on the chart, the table with the model's figures and the
    differences against the scenario as loaded, then against the first pin; the link keeps the pins, and a
    fresh page opened from it shows the same."""
    at = open_page(preset=STEM)
    no_exception(at)
    assert not at.table  # nothing pinned yet: no table, a hint
    assert any(texts.t("en", "pin_hint", n=S.MAX_PINS) == c.value for c in at.caption)
    names = list(WHATIFS)
    pin_here(at, names[0], {CPL: WIDGET[CPL]})
    pin_here(at, names[1], {CPL: SERVICE.channels[0].cost_per_lead, CHURN: WIDGET[CHURN]})
    no_exception(at)
    assert not at.warning, [w.value for w in at.warning]
    expected = views.comparison(columns("en"), 0, "en")
    assert table_cells(at) == {c: expected[c].tolist() for c in expected.columns}
    spec = chart_spec(at)
    assert colour_domain(spec)[2:] == names
    assert at.text_input(key="pg_pin_new").value == ""  # ready for the next name

    link = dict(at.query_params)
    assert link["pin1"] == "CPL 2 000~channels.0.cost_per_lead=2000"
    assert link["pin2"] == "Churn 1 %~retention.monthly_churn=0.01"
    view = S.decode_view(link, set(PRESETS.scenarios)).value
    assert S.decode_view(S.encode_view(view), set(PRESETS.scenarios)).value == view
    assert [p.name for p in view.pins] == names

    at.selectbox(key=f"pg_pin_base|{STEM}|2").set_value(names[0]).run()  # compare against the first pin
    no_exception(at)
    against_first = views.comparison(columns("en"), 1, "en")
    assert table_cells(at) == {c: against_first[c].tolist() for c in against_first.columns}
    assert dict(at.query_params)["pinbase"] == "1"
    assert any(texts.t("en", "pin_note", base=names[0]) == c.value for c in at.caption)

    fresh = open_page(**{k: v for k, v in dict(at.query_params).items()})
    no_exception(fresh)
    assert table_cells(fresh) == table_cells(at)
    assert colour_domain(chart_spec(fresh))[2:] == names
    assert pins_in_link(fresh) == pins_in_link(at)


def test_pins_stay_across_languages_and_on_an_uploaded_scenario():
    """The pins and the comparison's base survive a language switch (the table follows the language); on
    an uploaded scenario the link keeps it packed as before and the pins beside it."""
    params = {f"pin{i}": S.encode_pin(S.Pin(name, values=WHATIFS[name])) for i, name in enumerate(WHATIFS, 1)}
    at = open_page(preset=STEM, pinbase=2, **params)
    at.radio(key="lang").set_value("ru").run()
    no_exception(at)
    expected = views.comparison(columns("ru"), 2, "ru")
    assert table_cells(at) == {c: expected[c].tolist() for c in expected.columns}
    assert dict(at.query_params)["pinbase"] == "2" and dict(at.query_params)["pin1"] == params["pin1"]

    salon = PRESETS.scenarios["beauty_salon"]
    packed = S.pack_source(salon.to_toml())
    cheaper = S.Pin("Cheaper ads", values={CPL: salon.channels[0].cost_per_lead / 2})
    at = open_page(preset=S.UPLOAD, src=packed, pin1=S.encode_pin(cheaper))
    no_exception(at)
    assert list(table_cells(at)) == [texts.t("en", "series_preset"), "Cheaper ads"]
    pinned = sim.expected(salon.override(cheaper.values))
    figure = texts.kpi_value("max_cash_need", pinned.kpi, salon.currency, "en", salon.horizon_months)
    assert table_cells(at)["Cheaper ads"][1].startswith(figure)
    assert dict(at.query_params)["src"] == packed and pins_in_link(at) == (cheaper,)


def test_bad_pin_parameters_are_reported_and_skipped_on_the_page():
    at = open_page(
        preset=STEM,
        pin1="~" + CPL + "=2000",
        pin2="Cheap calls~" + CPL + "=2000",
        pin3="Everyone leaves~" + CHURN + "=7",
        pin4="Broken~what",
    )
    no_exception(at)
    warning = " ".join(w.value for w in at.warning)
    assert "pin1=" in warning and "pin4=" in warning and "Everyone leaves" in warning and "=7" in warning
    assert list(table_cells(at)) == [texts.t("en", "series_preset"), "Cheap calls"]
    assert [p.name for p in pins_in_link(at)] == ["Cheap calls"]  # the link keeps only the good pin


def test_remove_and_rename_a_pin():
    params = {f"pin{i}": S.encode_pin(S.Pin(name, values=WHATIFS[name])) for i, name in enumerate(WHATIFS, 1)}
    at = open_page(preset=STEM, **params)
    no_exception(at)
    at.text_input(key=f"pg_pin_name|{STEM}|0|1").input("Cheaper calls").run()
    no_exception(at)
    assert list(table_cells(at))[1:] == ["Cheaper calls", "Churn 1 %"]
    assert pins_in_link(at)[0].name == "Cheaper calls"
    at.text_input(key=f"pg_pin_name|{STEM}|1|2").input("cheaper CALLS").run()  # taken: refused
    assert [w.value for w in at.warning] == [texts.t("en", "pin_taken", name="cheaper CALLS")]
    assert list(table_cells(at))[1:] == ["Cheaper calls", "Churn 1 %"]
    assert at.text_input(key=f"pg_pin_name|{STEM}|2|2").value == "Churn 1 %"  # the box shows the name kept

    at.button(key=f"pg_pin_remove|{STEM}|2|1").click().run()
    no_exception(at)
    assert list(table_cells(at))[1:] == ["Churn 1 %"]
    assert [p.name for p in pins_in_link(at)] == ["Churn 1 %"] and "pin2" not in at.query_params
    assert colour_domain(chart_spec(at))[2:] == ["Churn 1 %"]
    at.button(key=f"pg_pin_remove|{STEM}|3|1").click().run()
    assert not at.table and "pin1" not in at.query_params


def test_a_fifth_pin_is_refused_with_a_message():
    params = {
        f"pin{i}": S.encode_pin(S.Pin(f"CPL {c}", values={CPL: float(c)}))
        for i, c in enumerate((1500, 1800, 2000, 2500), 1)
    }
    at = open_page(preset=STEM, **params)
    no_exception(at)
    assert len(table_cells(at)) == 1 + S.MAX_PINS
    pin_here(at, "Loyal", {CHURN: WIDGET[CHURN]})
    no_exception(at)
    assert [w.value for w in at.warning] == [texts.t("en", "pin_full", n=S.MAX_PINS)]
    assert len(table_cells(at)) == 1 + S.MAX_PINS and "Loyal" not in table_cells(at)
    assert "pin5" not in at.query_params
    assert at.text_input(key="pg_pin_new").value == "Loyal"  # the name typed is kept to try again


# --- the owner's story in Chromium, and the printed report ---------------------------------------------


def _pdf_text(path: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.fail("pdftotext is missing (apt-get install poppler-utils)")
    out = subprocess.run([tool, "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


@pytest.mark.timeout(300)
def test_pin_two_whatifs_on_the_russian_page_and_print_them(tmp_path: Path) -> None:
    """The owner pins cheaper calls and then customers who stay longer on the Russian page: both are in the
    chart's legend and in the table with the model's figures; the report downloaded from the page lists
    them with their figures; a phone and the English page opened from the copied link show the same pins.
    Screenshots of each step in the test's folder."""
    from app_server import LAUNCH_ARGS, lever_css, norm, require_browser, streamlit_server, watch_errors
    from playwright.sync_api import sync_playwright

    chromium = require_browser()
    names = ["Лид по 2 000", "Отток 1 %"]
    whatifs = dict(zip(names, WHATIFS.values(), strict=True))
    lang = "ru"
    idle = "() => !document.querySelector(\"[data-testid='stStatusWidget']\")"
    cols = [(texts.t(lang, "series_preset"), sim.expected(SERVICE))]
    cols += [(n, sim.expected(SERVICE.override(v))) for n, v in whatifs.items()]
    table = views.comparison(cols, 0, lang)

    with streamlit_server(tmp_path / "streamlit.log") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page.set_default_timeout(60_000)
            errors: list[str] = []
            watch_errors(page, errors)
            page.goto(f"{url}/?preset={STEM}&lang={lang}&reps=0")
            page.locator("[data-testid='stVegaLiteChart'] svg").first.wait_for()

            def set_lever(path: str, widget: float, model: float | None = None) -> None:
                """Type the lever's value (widget units) and wait for the link to have it (`model`; None:
                the preset's value, which the link leaves out)."""
                box = page.locator(lever_css(STEM, path)).first
                box.fill(f"{widget:g}")
                box.press("Enter")
                if model is not None:
                    value = S.encode_view(S.View(values={path: model}))[path]
                    page.wait_for_url(re.compile(re.escape(f"{path}={value}") + "(&|$)"))
                else:
                    page.wait_for_url(lambda u: f"{path}=" not in u)
                page.wait_for_function(idle)

            def pin(name: str) -> None:
                box = page.locator(".st-key-pg_pin_new input")
                box.fill(name)
                box.press("Enter")
                page.wait_for_function(idle)
                page.get_by_role("button", name=texts.t(lang, "pin_add")).click()
                page.get_by_text(name, exact=True).first.wait_for()  # its column in the table
                page.wait_for_function(idle)

            set_lever(CPL, WIDGET[CPL], WHATIFS["CPL 2 000"][CPL])
            pin(names[0])
            page.screenshot(path=str(tmp_path / "pins_1_ru_desktop.png"), full_page=True)
            set_lever(CPL, SERVICE.channels[0].cost_per_lead)
            set_lever(CHURN, WIDGET[CHURN], WHATIFS["Churn 1 %"][CHURN])
            pin(names[1])
            page.wait_for_url(re.compile("pin2="))

            chart = page.locator("[data-testid='stVegaLiteChart']").first
            legend = chart.locator("g[aria-roledescription='legend'] text").evaluate_all(
                "els => els.map(e => e.textContent)"
            )
            assert set(names) <= set(legend), legend
            shown = page.locator("[data-testid='stTable'] table")
            rows = shown.locator("tr").evaluate_all(
                "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))"
            )
            assert [norm(c) for c in rows[0][1:]] == [norm(c) for c in table.columns]
            body = {norm(r[0]): [norm(c) for c in r[1:]] for r in rows[1:]}
            for label, row in table.iterrows():
                assert body[norm(label)] == [norm(c) for c in row], label
            page.set_viewport_size({"width": 1400, "height": 2400})
            page.wait_for_timeout(500)
            page.screenshot(path=str(tmp_path / "pins_2_ru_desktop.png"), full_page=True)

            with page.expect_download() as info:
                page.get_by_role("button", name=texts.t(lang, "rp_download")).click()
            report = tmp_path / "report_ru.pdf"
            info.value.save_as(report)
            link = page.url
            assert not errors, errors
            page.close()

            for shot, width, height, query in (
                ("pins_3_ru_phone", 390, 3000, link),
                ("pins_4_en_desktop", 1400, 2400, link.replace("lang=ru", "lang=en")),
                ("pins_5_en_phone", 390, 3000, link.replace("lang=ru", "lang=en")),
            ):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.set_default_timeout(60_000)
                page.goto(query)
                page.locator("[data-testid='stTable']").first.wait_for()
                page.wait_for_function(idle)
                page.wait_for_timeout(800)
                shown = page.locator("[data-testid='stTable'] tr").first.inner_text()
                assert all(n in shown for n in names), (shot, shown)
                page.screenshot(path=str(tmp_path / f"{shot}.png"), full_page=True)
                page.close()
        finally:
            browser.close()

    text = _pdf_text(report)
    assert norm(texts.t(lang, "rp_comparison")) in text
    for name in names:
        assert name in text, name
    for m in ("break_even_month", "max_cash_need", "payback_months"):
        assert norm(texts.t(lang, f"t_{m}")) in text, m
        for _, result in cols:
            figure = texts.format_kpi(m, result.kpi[m], "RUB", lang, horizon=SERVICE.horizon_months)
            assert norm(figure) in text, (m, figure)
    for shot in ("pins_2_ru_desktop", "pins_3_ru_phone", "pins_4_en_desktop", "pins_5_en_phone"):
        assert (tmp_path / f"{shot}.png").stat().st_size > 10_000
