"""Customers who differ and values not known for sure in the app: the "customers differ" choice with its
shapes α and β and the cohort's survival chart, the ranges table (`[uncertainty]`) kept in the link and in
pins, the chance to break even by a month (from the Monte Carlo band, or first from the expected model
over draws of the ranges) and what to find out first (Sobol indices). Without Streamlit where the logic
lives (`sim.app.state`, `sim.app.plans`, `sim.app.views`, `sim.report.charts`), then through the page
(AppTest). Every figure expected is computed from the model at test time."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import special
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

import sim
from sim.app import plans, views
from sim.app import state as S
from sim.app.band import compute_band
from sim.report import charts, texts

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PRESETS = S.load_presets(ROOT / "scenarios")
STEM = "car_dealer_service"
SERVICE = PRESETS.scenarios[STEM]
CHURN = "retention.monthly_churn"
ALPHA, BETA = S.SHAPE_PATHS
CPL = "channels.0.cost_per_lead"
REFERRALS = "referrals.per_customer_per_year"
RANGES = ((CHURN, 0.01, 0.015, 0.03), (CPL, 2000, None, 2600))
"""Churn 1–3 % a month (most likely 1.5 %) and calls at 2 000–2 600 ₽."""
UNC = S.encode_ranges(RANGES)
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9_\-–]*")
ALLOWED_LATIN = {"CAC", "LTV", "P10", "P90", "P10–P90", "CSV", "XLSX", "PDF", "TOML", "seed"}
"""Latin words a Russian owner reads as they are (as in the other Russian page tests)."""


def open_page(**params: object) -> AppTest:
    """The page opened with these query parameters (Monte Carlo off unless given)."""
    at = AppTest.from_file(APP, default_timeout=120)
    params.setdefault("reps", 0)
    for key, value in params.items():
        at.query_params[key] = str(value)
    return at.run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def latin_words(text: str) -> set[str]:
    return set(LATIN.findall(text)) - ALLOWED_LATIN


def ranged(sc: sim.Scenario = SERVICE, ranges: Any = RANGES) -> sim.Scenario:
    return plans.apply_ranges(sc, ranges)


def lever_box(at: AppTest, path: str, base_id: str = STEM) -> Any:
    key = S.lever_key(base_id, path)
    return next(w for w in at.number_input if w.key == key)


def has_lever(at: AppTest, path: str, base_id: str = STEM) -> bool:
    key = S.lever_key(base_id, path)
    return any(w.key == key for w in [*at.number_input, *at.slider])


def tile(at: AppTest, metric: str) -> str:
    label = texts.t("en", f"t_{metric}")
    return next(m.value for m in at.metric if m.label == label)


def shown_kpi(sc: sim.Scenario, metric: str, lang: str = "en") -> str:
    result = sim.expected(sc)
    return texts.kpi_value(metric, result.kpi, sc.currency, lang, sc.horizon_months)


def chart_specs(at: AppTest) -> list[dict[str, Any]]:
    """Each chart on the page as its Vega-Lite spec, its data (which Streamlit sends beside the spec, as
    Arrow tables) put back under `datasets`."""
    out = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        data = {d.name: convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets}
        spec["datasets"] = {name: frame.to_dict("records") for name, frame in data.items()}
        out.append(spec)
    return out


def chart_data(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of every dataset a chart spec carries."""
    return [row for rows in spec.get("datasets", {}).values() for row in rows]


def retention_spec(at: AppTest) -> dict[str, Any] | None:
    """The sidebar's survival chart (its rows have `age` and `share`), or None."""
    for spec in chart_specs(at):
        rows = chart_data(spec)
        if rows and {"age", "share", "series"} <= set(rows[0]):
            return spec
    return None


def cash_curve(at: AppTest) -> np.ndarray:
    """The what-if's expected cumulative cash as the page's cash chart draws it (month by month)."""
    whatif = texts.t("en", "series_whatif")
    rows = [r for r in chart_data(chart_specs(at)[0]) if r.get("series") == whatif]
    return np.array([r["value"] for r in sorted(rows, key=lambda r: r["month"])], dtype=float)


def editor(at: AppTest) -> Any:
    return next(d for d in at.data_editor if d.key.startswith("un_table|"))


def edit(at: AppTest, **delta: Any) -> AppTest:
    """Change the ranges table as the browser does and rerun."""
    state = {"edited_rows": {}, "added_rows": [], "deleted_rows": []} | delta
    at.session_state[editor(at).key] = state
    return at.run()


def chance_shown(at: AppTest) -> tuple[str, str] | None:
    """(label, figure) of the chance tile as the page draws it (two lines of Markdown), or None."""
    values = [m.value for m in at.markdown]
    for i, value in enumerate(values):
        found = re.fullmatch(r'<p class="pg-chance-value">(.*)</p>', value)
        if found and i:
            return values[i - 1], found.group(1)
    return None


# --- customers alike or different (no Streamlit) ----------------------------------------------------------


def test_shapes_are_levers_only_when_customers_differ_and_start_at_the_mean_churn():
    assert not {ALPHA, BETA} & {s.path for s in S.fields(SERVICE)}  # constant churn: α, β are None
    differ = S.apply_retention(SERVICE, "sbg")
    specs = {s.path: s for s in S.fields(differ)}
    assert specs[ALPHA].optional is False and specs[BETA].optional is False  # never an empty box
    assert specs[ALPHA].widget_low == pytest.approx(0.1)  # shapes below 1 are reachable (step 0.1)
    r = differ.retention
    assert (r.model, r.alpha, r.beta, r.monthly_churn) == (
        "sbg",
        2.0,
        131.33,
        SERVICE.retention.monthly_churn,
    )
    assert r.mean_theta == pytest.approx(r.monthly_churn, rel=1e-4)  # β rounded to 2 decimals
    assert S.mean_keeping_shapes(0.02) == (2.0, 98.0) and S.mean_keeping_shapes(0.02, 1.0) == (1.0, 49.0)
    assert math.isfinite(sim.expected(differ).kpi["ltv"])  # α = 2: a customer's expected life has an end
    assert (
        S.mean_keeping_shapes(0.0)[1] == 1e4 and S.mean_keeping_shapes(1.0)[1] == 0.01
    )  # the model's bounds
    label = S.widget(specs[BETA], 131.33, "ru", "RUB").label
    assert label.startswith("Разброс оттока β") and not latin_words(label)
    assert S.widget(specs[BETA], 131.33, "en", "RUB").help == texts.t("en", "rt_help_shape")
    # Back to alike: no shapes, and a range given on one is dropped with them.
    with_range = plans.apply_ranges(differ, ((BETA, 10.0, None, 100.0), (CHURN, 0.01, None, 0.03)))
    alike = S.apply_retention(with_range, "constant")
    assert alike.retention.alpha is None and plans.ranges_of(alike) == ((CHURN, 0.01, None, 0.03),)
    with pytest.raises(sim.ScenarioError, match="retention = 'x'"):
        S.apply_retention(SERVICE, "x")


def test_picking_customers_differ_keeps_the_churn_set_on_the_page():
    base = S.Base(STEM, SERVICE)
    specs = S.fields(SERVICE)
    moved = {S.lever_key(STEM, CHURN): 2.0}  # churn moved to 2 % before the choice
    shapes = S.retention_shapes(base, "sbg", moved, specs)
    assert shapes == {S.lever_key(STEM, ALPHA): 2.0, S.lever_key(STEM, BETA): 98.0}
    assert S.retention_shapes(base, "constant", moved, specs) == {}
    own = SERVICE.override({"retention.model": "sbg", ALPHA: 0.7, BETA: 30.0})
    assert S.retention_shapes(S.Base(S.UPLOAD, own, "x"), "sbg", moved, S.fields(own)) == {
        S.lever_key(S.Base(S.UPLOAD, own, "x").id, ALPHA): 0.7,
        S.lever_key(S.Base(S.UPLOAD, own, "x").id, BETA): 30.0,
    }  # a scenario with its own shapes gets them back


def test_survival_is_the_closed_form_and_keeps_the_mean_churn():
    """B(α, β + t)/B(α, β) when the churn lever is the Beta's mean; with another churn each θ is scaled:
    a month after the purchase 1 − churn leave… stay, exactly (no θ capped), to within the quantile
    average's error (1e-4 here; a bias of a tenth of a percent would show)."""
    ages = np.arange(0, 121)
    closed = special.beta(0.5, 20.0 + ages) / special.beta(0.5, 20.0)
    np.testing.assert_allclose(views.sbg_survival(0.5, 20.0, 0.5 / 20.5, ages), closed, rtol=1e-10)
    scaled = views.sbg_survival(1.0, 49.0, 0.015, ages)
    assert scaled[0] == 1.0 and abs(scaled[1] - 0.985) < 1e-4
    assert np.all(np.diff(scaled) < 0)
    alike = (1 - 0.015) ** ages
    assert scaled[120] > 1.5 * alike[120]  # the loyal stay: more customers left in the long run
    # The same customers differ more (smaller α + β, same mean): still more are left after ten years.
    assert views.sbg_survival(0.25, 12.25, 0.02, ages)[120] > views.sbg_survival(1.0, 49.0, 0.02, ages)[120]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_survival_chart_draws_both_lines_and_says_what_they_mean(lang):
    differ = S.apply_retention(SERVICE, "sbg")
    frame = views.retention_frame(differ, lang)
    assert list(dict.fromkeys(frame["series"])) == [
        texts.t(lang, "rt_series_constant"),
        texts.t(lang, "rt_series_sbg"),
    ]
    assert len(frame) == 2 * (SERVICE.horizon_months + 1)
    caption = views.retention_caption(frame, differ, lang)
    at_year = frame[(frame["age"] == 12)]["share"].to_numpy()
    assert texts.percent(at_year[0], lang, 0) in caption and texts.percent(at_year[1], lang, 0) in caption
    spec = charts.retention_chart(frame, lang).to_dict()
    assert spec["layer"][0]["encoding"]["color"]["scale"]["range"] == [charts.PRESET_COLOR, charts.SBG_COLOR]
    one = views.retention_frame(SERVICE, lang)  # churn alike: one line, no sentence
    assert one["series"].nunique() == 1 and views.retention_caption(one, SERVICE, lang) == ""
    if lang == "ru":
        words = [caption, *frame["series"], texts.t(lang, "rt_chart_title"), texts.t(lang, "rt_model_help")]
        assert not set().union(*(latin_words(w) for w in words))


# --- ranges: the link, pins, the table (no Streamlit) -----------------------------------------------------


def test_ranges_and_the_retention_model_round_trip_through_the_link_and_pins():
    view = S.View(preset=STEM, lang="ru", retention="sbg", values={BETA: 40.0}, ranges=RANGES)
    params = S.encode_view(view)
    assert params["retention"] == "sbg"
    assert params["unc"] == "retention.monthly_churn=0.01:0.015:0.03;channels.0.cost_per_lead=2000:2600"
    assert S.decode_view(params, set(PRESETS.scenarios)) == S.Checked(view, [])
    none = S.View(ranges=())  # the scenario's own ranges removed
    assert S.encode_view(none) == {"unc": "none"}
    assert S.decode_view({"unc": "none"}, {STEM}).value == none
    pin = S.Pin("Разные клиенты", {}, {BETA: 40.0}, retention="sbg", ranges=RANGES)
    assert S.decode_pin(S.encode_pin(pin)) == pin
    assert not pin.same_settings(S.Pin("x", {}, {BETA: 40.0}, retention="sbg"))  # the ranges tell them apart
    assert pin.same_settings(S.Pin("y", {}, {BETA: 40.0}, retention="sbg", ranges=RANGES[::-1]))  # any order
    sc = S.pin_scenario(SERVICE, pin, PRESETS.donors())
    assert sc.retention.model == "sbg" and sc.retention.beta == 40.0 and plans.ranges_of(sc) == RANGES
    bad = S.decode_view({"retention": "fickle", "unc": "retention.monthly_churn=0.01", "x": "1"}, {STEM})
    assert bad.value.retention is None and bad.value.ranges is None and len(bad.problems) == 3
    with pytest.raises(ValueError, match="LOW:HIGH"):
        S.decode_pin("p~unc=a.b=1:2:3:4")


def test_ranges_typed_are_read_in_the_levers_units_with_notes_for_rows_not_used():
    lv = S.range_levers(S.fields(SERVICE), S.widget_values(SERVICE, S.fields(SERVICE)), "en", "RUB")
    assert "sales_desk.patience_hours" in lv  # every lever with a value may be uncertain
    rows = plans.range_rows(RANGES, lv)
    assert rows[0] == {"path": CHURN, "low": 1.0, "mode": 1.5, "high": 3.0}  # shares in %
    typed = [
        *rows,
        {"path": CHURN, "low": 1.0, "high": 2.0},
        {"path": CPL, "low": 1.0},
        {"path": "x.y", "low": 1, "high": 2},
    ]
    got, notes = plans.read_ranges(typed, lv, "en")
    assert got == ((CHURN, 0.01, None, 0.02), (CPL, 2000.0, None, 2600.0))  # the last churn row counts
    assert notes == [
        texts.t("en", "un_twice", n=3, lever=lv[CHURN].label),
        texts.t("en", "un_incomplete", n=4),
        texts.t("en", "un_absent", n=5, lever="x.y"),
    ]
    table = views.ranges_table(rows, lv)
    assert list(table.columns) == list(plans.RANGE_COLUMNS) and table["lever"].tolist() == [
        lv[CHURN].label,
        lv[CPL].label,
    ]
    assert math.isnan(table["mode"].iloc[1])  # no most likely value: uniform
    assert S.range_text(RANGES[0], lv[CHURN], "ru") == "1–1,5–3"


def test_a_range_the_model_refuses_keeps_the_last_valid_ones_with_the_named_error():
    lv = S.range_levers(S.fields(SERVICE), S.widget_values(SERVICE, S.fields(SERVICE)), "en", "RUB")
    good, state = S.ranges_whatif(SERVICE, S.RangeState(plans.range_rows(RANGES, lv)), lv, "en")
    assert good.error is None and plans.ranges_of(good.scenario) == RANGES and state.good == RANGES
    wrong = replace_row(plans.range_rows(RANGES, lv), 0, high=150.0)  # churn up to 150 %
    shown, kept = S.ranges_whatif(SERVICE, S.RangeState(wrong, state.good), lv, "en")
    assert 'uncertainty."retention.monthly_churn"' in shown.error and "high must be ≤ 1" in shown.error
    assert plans.ranges_of(shown.scenario) == RANGES and kept.good == RANGES
    upside = replace_row(plans.range_rows(RANGES, lv), 1, low=3000.0)  # low above high
    shown, _ = S.ranges_whatif(SERVICE, S.RangeState(upside), lv, "en")
    assert "must be below high" in shown.error and shown.scenario.uncertainty == ()


def replace_row(rows: tuple[dict[str, Any], ...], i: int, **cells: Any) -> tuple[dict[str, Any], ...]:
    out = [dict(r) for r in rows]
    out[i].update(cells)
    return tuple(out)


def test_switching_a_part_off_drops_its_ranges_from_the_scenario():
    own = plans.apply_ranges(SERVICE, ((REFERRALS, 0.3, None, 0.9), (CHURN, 0.01, None, 0.03)))
    off = S.apply_switches(own, {"referrals": False}, PRESETS.donors())
    assert off.referrals is None and plans.ranges_of(off) == ((CHURN, 0.01, None, 0.03),)


def test_the_band_carries_the_ranges():
    """The background band simulates the TOML as the page passes it, [uncertainty] included: each run draws
    the ranges (the same runs as `sim.simulate`), so the band differs from the one without them."""
    sc = ranged(SERVICE.override({"horizon_months": 36}))
    toml = sc.to_toml()
    assert "[uncertainty." in toml
    band = compute_band(toml, 4, 3)
    result = sim.simulate(sc, 4, seed=3)
    np.testing.assert_array_equal(band.break_even_months, result.kpis["break_even_month"].to_numpy())
    plain = compute_band(SERVICE.override({"horizon_months": 36}).to_toml(), 4, 3)
    assert not band.frame["p50"].equals(plain.frame["p50"])
    assert band.p_break_even_by(36) == result.p_break_even_by(36)


def test_the_chance_tile_from_the_band_or_first_from_the_expected_model():
    sc = ranged()
    fast = sim.expected_band(sc, 100, seed=1)
    tile = views.chance(sc, 90, "ru", fast=fast)
    assert tile.value == texts.percent(fast.p_break_even_by(90), "ru", 0)
    assert tile.label == texts.t("ru", "un_p_label", n="90") and "100" in tile.caption
    band = compute_band(sc.override({"horizon_months": 36}).to_toml(), 3, 1)
    short = sc.override({"horizon_months": 36})
    from_band = views.chance(
        short, 500, "en", band=band, fast=fast
    )  # the band wins; N kept within the horizon
    assert from_band.label == texts.t("en", "un_p_label", n="36")
    assert from_band.value == texts.percent(band.p_break_even_by(36), "en", 0)
    assert from_band.caption == texts.t("en", "un_p_band", n="3")
    assert views.chance(sc, 60, "en") is None


def test_what_to_find_out_first_ranks_the_ranges_in_the_pages_words():
    sc = ranged(ranges=(*RANGES, (REFERRALS, 0.3, None, 0.9)))
    table = sim.drivers(sc, "final_cumulative_cash", samples=64)
    names = S.lever_names(S.fields(sc), "ru")
    frame = views.drivers_frame(table, names, "ru")
    assert len(frame) == 2 * len(table) and frame["lever"].iloc[0] == names[table["lever"].iloc[0]]
    assert frame["kind"].tolist()[:2] == ["total", "first"] and frame["value"].between(0, 1).all()
    spec = charts.drivers_chart(frame, "final_cumulative_cash", "ru").to_dict()
    words = [spec["title"]["text"], *spec["title"]["subtitle"], *frame["lever"], *frame["t_value"]]
    words += [row["kind_name"] for row in chart_data(spec)]
    assert not set().union(*(latin_words(str(w)) for w in words))
    assert spec["title"]["text"] == texts.t("ru", "un_drivers_title")


# --- the page (AppTest) -----------------------------------------------------------------------------------


def test_customers_differ_round_trips_through_the_link_and_changes_the_curve():
    at = open_page(preset=STEM)
    no_exception(at)
    assert not has_lever(at, ALPHA) and retention_spec(at) is None
    at.number_input(key=S.lever_key(STEM, CHURN)).set_value(2.0).run()  # churn 2 % first
    alike_ltv, alike_cash = tile(at, "ltv"), cash_curve(at)
    at.radio(key=S.retention_key(STEM)).set_value("sbg").run()
    no_exception(at)
    assert (lever_box(at, ALPHA).value, lever_box(at, BETA).value) == (2.0, 98.0)  # the mean churn kept
    params = dict(at.query_params)
    assert params["retention"] == "sbg" and params[BETA] == "98"
    assert ALPHA not in params  # α = 2 is where customers who differ start: nothing to keep
    spec = retention_spec(at)
    rows = [row for row in chart_data(spec) if "series" in row]  # the lines' data (not the hover's)
    lines = {row["series"] for row in rows}
    assert lines == {texts.t("en", "rt_series_constant"), texts.t("en", "rt_series_sbg")}
    sc = SERVICE.override({"retention.model": "sbg", ALPHA: 2.0, BETA: 98.0, CHURN: 0.02})
    ten = [r for r in rows if r["age"] == 120]
    differ = next(r["share"] for r in ten if r["series"] == texts.t("en", "rt_series_sbg"))
    assert differ == pytest.approx(float(views.sbg_survival(2.0, 98.0, 0.02, np.array([120]))[0]))
    assert tile(at, "ltv") == shown_kpi(sc, "ltv") != alike_ltv  # the loyal stay longer: worth more
    assert tile(at, "break_even_month") == shown_kpi(sc, "break_even_month")
    np.testing.assert_allclose(cash_curve(at), sim.expected(sc).arrays["cumulative_cash"])
    assert cash_curve(at)[-1] > alike_cash[-1]  # the cash curve moves with the choice
    again = open_page(**params)  # the link alone gives the same page
    no_exception(again)
    assert again.radio(key=S.retention_key(STEM)).value == "sbg"
    assert (lever_box(again, ALPHA).value, lever_box(again, BETA).value) == (2.0, 98.0)
    assert tile(again, "ltv") == tile(at, "ltv") and dict(again.query_params) == params
    at.radio(key=S.retention_key(STEM)).set_value("constant").run()  # back: the shapes go
    no_exception(at)
    assert not has_lever(at, ALPHA) and "retention" not in at.query_params and ALPHA not in at.query_params
    assert retention_spec(at) is None


def test_a_range_round_trips_through_the_link_and_the_chance_tile_shows():
    at = open_page(preset=STEM, unc=UNC, tab="uncertainty")
    no_exception(at)
    sc = ranged()
    assert dict(at.query_params)["unc"] == UNC
    table = editor(at).value
    assert table["low"].tolist() == [1.0, 2000.0] and table["high"].tolist() == [3.0, 2600.0]
    n = S.default_by_month(sc.horizon_months)
    fast = sim.expected_band(sc, 100, seed=S.DEFAULT_SEED)
    label = texts.t("en", "un_p_label", n=texts.number(n, "en"))
    assert chance_shown(at) == (label, texts.percent(fast.p_break_even_by(n), "en", 0))
    churn_label = lever_box(at, CHURN).label
    assert churn_label.endswith(texts.t("en", "un_on_label", range="1–1.5–3"))  # said on the lever too
    # A third range typed in the table: the link follows, the tile with it.
    lv = S.range_levers(S.fields(SERVICE), S.widget_values(SERVICE, S.fields(SERVICE)), "en", "RUB")
    at = edit(at, added_rows=[{"lever": lv[REFERRALS].label, "low": 0.3, "high": 0.9}])
    no_exception(at)
    three = (*RANGES, (REFERRALS, 0.3, None, 0.9))
    assert dict(at.query_params)["unc"] == S.encode_ranges(three)
    fast3 = sim.expected_band(ranged(ranges=three), 100, seed=S.DEFAULT_SEED)
    assert chance_shown(at) == (label, texts.percent(fast3.p_break_even_by(n), "en", 0))
    assert any(
        spec.get("title", {}).get("text") == texts.t("en", "un_drivers_title") for spec in chart_specs(at)
    )
    # A range the model refuses: its error named, the last valid ranges kept in the page and the link.
    at = edit(at, edited_rows={"0": {"high": 150.0}})
    no_exception(at)
    assert any("high must be ≤ 1" in e.value for e in at.error)
    assert dict(at.query_params)["unc"] == S.encode_ranges(three)
    # Back to the scenario's own (none): the tile goes with the ranges.
    at.button(key=f"un_reset|{STEM}").click().run()
    no_exception(at)
    assert "unc" not in at.query_params and chance_shown(at) is None


def test_the_button_on_the_levers_opens_the_ranges():
    at = open_page(preset=STEM)
    at.button(key="pg_unsure").click().run()
    no_exception(at)
    assert dict(at.query_params)["tab"] == "uncertainty"
    assert editor(at).value.empty
    assert any(i.value == texts.t("en", "un_drivers_none") for i in at.info)


def test_pins_keep_the_choice_and_the_ranges():
    at = open_page(preset=STEM, retention="sbg", unc=UNC)
    at.button(key="pg_pin_add").click().run()
    no_exception(at)
    pin = S.decode_pin(dict(at.query_params)["pin1"])
    assert pin.retention == "sbg" and plans.same_ranges(pin.ranges, RANGES)
    reopened = open_page(**dict(at.query_params))
    no_exception(reopened)
    assert not reopened.warning, [w.value for w in reopened.warning]


def test_the_guided_start_puts_customers_and_ranges_back():
    at = open_page(retention="sbg", unc="retention.monthly_churn=0.01:0.03")
    no_exception(at)
    at.button(key="pg_step_loss").click().run()
    no_exception(at)
    params = dict(at.query_params)
    assert "retention" not in params and "unc" not in params


@pytest.mark.parametrize("tab", ["uncertainty", "flow"])
def test_russian_page_has_no_english_words_in_the_new_parts(tab):
    at = open_page(preset=STEM, lang="ru", retention="sbg", unc=UNC, tab=tab)
    no_exception(at)
    shown = [m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
    shown = [re.sub(r"<[^>]*>", "", text) for text in shown]  # the chance tile's figure is in a <p>
    shown += [m.help or "" for m in at.markdown]
    shown += [e.value for e in at.error] + [i.value for i in at.info]
    radios = [r for r in at.radio if r.key != "lang"]  # "Language / Язык" names itself in both on purpose
    shown += [w.label for w in [*at.selectbox, *at.number_input, *at.button, *radios, *at.metric]]
    shown += [m.help or "" for m in at.metric] + [w.help or "" for w in [*at.number_input, *radios]]
    shown += [texts.t("ru", f"rt_{m}") for m in S.RETENTION_MODELS]  # the radio's options
    for d in at.data_editor:
        shown += [str(x) for x in d.value.to_numpy().ravel() if isinstance(x, str)]
        config = json.loads(d.proto.columns or "{}")
        shown += [c.get("label", "") for c in config.values()]
        shown += [o for c in config.values() for o in c.get("type_config", {}).get("options", [])]
    for spec in chart_specs(at):  # the survival chart's lines, the drivers' bars and titles
        for row in chart_data(spec):
            shown += [str(v) for k, v in row.items() if k in ("series", "lever", "kind_name", "t_tip")]
        title = spec.get("title", {})
        shown += [str(title.get("text", "")), *map(str, title.get("subtitle", []))]
    words = set().union(*(latin_words(text) for text in shown))
    assert not words, sorted(words)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_an_unbounded_ltv_of_customers_who_differ_says_why(lang):
    """At α ≤ 1 and no discount a customer's expected life has no end: the LTV tile is unbounded, and says
    that some customers practically never leave (not that there is no churn)."""
    loyal = SERVICE.override({"retention.model": "sbg", ALPHA: 0.8, BETA: 52.53})
    kpi = sim.expected(loyal).kpi
    assert kpi["ltv"] == math.inf
    shown = {t.metric: t for t in views.tiles(kpi, kpi, "RUB", lang, customers_differ=True)}
    assert shown["ltv"].value == texts.t(lang, "tx_unbounded")
    assert shown["ltv"].note == texts.t(lang, "tx_loyal_forever") != texts.t(lang, "tx_no_churn")
    alike = {t.metric: t for t in views.tiles(kpi, kpi, "RUB", lang)}
    assert alike["ltv"].note == texts.t(lang, "tx_no_churn")
