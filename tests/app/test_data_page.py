"""The "Your data" page: a CRM export (the shipped example, or uploaded files) fitted to a scenario, its
report in the page's language, the holdout chart, bad data named by file, row and column above the last
good fit, and the fitted scenario opened in the what-if; `funnel-sim fit --chart`. Every figure expected
is computed from the fit at test time, not copied. The holdout runs few replications (10) over 2 months, so
each fit of the example takes a few seconds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import sim
from sim.app import data
from sim.app import state as S
from sim.cli.main import main as cli
from sim.model import paths
from sim.report import charts, texts

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
EXAMPLE = ROOT / "examples" / "crm"
HOLDOUT, REPS = 2, 10
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9_\-–]*")
ALLOWED_LATIN = {
    "CAC",
    "LTV",
    "P10",
    "P90",
    "P10–P90",
    "CSV",
    "XLSX",
    "PDF",
    "TOML",
    "CRM",
    "MAPE",
    "AIC",
    "UTF-8",
}
ALLOWED_LATIN |= {"cp1251", "pip", "install", "funnel-sim", "analysis", "examples", "crm"}
"""Latin words a Russian owner reads as they are: abbreviations, and the export's column and kind names,
which the files must use (as the other Russian page tests allow the abbreviations)."""
ALLOWED_LATIN |= {
    "lead_id",
    "channel",
    "created_at",
    "contacted_at",
    "sold_at",
    "customer_id",
    "date",
    "kind",
}
ALLOWED_LATIN |= {"revenue", "margin", "month", "spend", "purchase", "service", "referrals", "YYYY-MM", "t-"}
ALLOWED_LATIN |= {"S", "Excel"}  # 1 − S(t): Kaplan–Meier's survival function; Excel: a name
DT_FIT = "dt_fit"
"""The app's session key of the last good fit."""
MISSING_COLUMN = b"lead_id;channel;created_at\n1;A;2027-01-05 10:00\n"
"""A leads file without its `sold_at` column."""


@pytest.fixture(scope="module")
def fitted() -> data.Fitted:
    """The example export fitted with a 2-month check (one fit for the module's tests)."""
    uploads = data.example_uploads(EXAMPLE)
    result = data.fit_uploads(uploads, HOLDOUT, REPS, 0)
    return data.Fitted(result, tuple(u.name for u in uploads), HOLDOUT, REPS)


def latin_words(text: str) -> set[str]:
    return set(LATIN.findall(text)) - ALLOWED_LATIN


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def open_data_page(lang: str = "en", **params: object) -> AppTest:
    """The "Your data" page (from its link), the check set to HOLDOUT months and REPS runs."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in {"reps": 0, "page": "data", "lang": lang, **params}.items():
        at.query_params[key] = str(value)
    at.run()
    no_exception(at)
    at.number_input(key="dt_holdout").set_value(HOLDOUT)
    at.number_input(key="dt_reps").set_value(REPS)
    return at.run()


def fit_example(at: AppTest) -> AppTest:
    at.radio(key="dt_source").set_value("example").run()
    at.button(key="dt_fit_button").click().run()
    no_exception(at)
    return at


def upload(at: AppTest, role: str, name: str, content: bytes) -> None:
    at.file_uploader(key=f"dt_file_{role}").set_value((name, content, "text/csv"))


def chart_specs(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def page_text(at: AppTest) -> list[str]:
    """Every text the page shows: Markdown, captions, alerts, tables, widget labels and charts' titles."""
    shown = [m.value for m in at.markdown] + [c.value for c in at.caption]
    shown += [e.value for e in [*at.error, *at.info, *at.warning, *at.subheader, *at.title]]
    for table in at.table:
        frame = table.value
        shown += [str(c) for c in frame.columns] + [str(v) for v in frame.to_numpy().ravel()]
    radios = [r for r in at.radio if r.key != "lang"]  # "Language / Язык" names itself in both on purpose
    shown += [w.label for w in [*at.number_input, *at.button, *radios, *at.file_uploader]]
    shown += [w.help or "" for w in [*at.number_input, *at.button, *at.file_uploader]]
    shown += [o for r in radios for o in r.options]
    shown += [e.label for e in at.expander]
    for spec in chart_specs(at):
        title = spec.get("title", {})
        shown += [str(title.get("text", "")), *map(str, title.get("subtitle", []))]
    return shown


# --- the fit and its report (no Streamlit) -------------------------------------------------------------


def test_the_example_is_fitted_named_in_both_languages_with_the_files_as_uploaded(fitted):
    result = fitted.result
    assert result.scenario.name == data.FITTED_NAME and result.scenario.name_ru == data.FITTED_NAME_RU
    assert sim.loads_scenario(result.toml()) == result.scenario  # the download opens as the scenario
    assert "leads.csv, visits.csv, spend.csv" in result.toml().split("\n")[0]  # not the temporary folder
    assert "funnel-fit-" not in result.toml()
    assert S.unpack_source(data.fitted_source(result)) == result.scenario
    assert data.fit_months(result) == 36  # 2027-01 … 2029-12
    assert set(result.holdout["month"]) == {"2029-11", "2029-12"}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_report_shows_every_estimate_with_its_interval_count_and_method(fitted, lang):
    result = fitted.result
    in_scenario, reported = data.report_tables(result, lang)
    listed = result.report[~result.report["parameter"].str.startswith("odd rows:")]
    assert len(in_scenario) + len(reported) == len(listed)
    # Everything the scenario holds is in the first table, in the fit's order.
    held = [p for p in listed["parameter"] if paths.get(result.scenario, p, None) is not None]
    assert len(in_scenario) == len(held) > 15
    rows = dict(zip(listed["parameter"], range(len(listed)), strict=True))
    first = in_scenario.iloc[rows["channels.0.leads_per_month"]]
    est = listed.iloc[rows["channels.0.leads_per_month"]]
    assert list(in_scenario.columns) == [
        texts.t(lang, f"dt_col_{c}") for c in ("what", "value", "ci", "n", "method")
    ]
    name = texts.field_label(lang, "channels.leads_per_month", result.scenario.channels[0].name)
    assert first.iloc[0] == name
    assert first.iloc[1].startswith(texts.number(est["value"], lang, 0))
    low, high = texts.number(est["ci_low"], lang, 0), texts.number(est["ci_high"], lang, 0)
    assert first.iloc[2] == f"{low}{texts.EN_DASH}{high}"
    assert first.iloc[3] == texts.t(
        lang, "dt_n_in_months", count=texts.count(est["n"], lang, "lead"), months=texts.month_span(36, lang)
    )
    churn = in_scenario.iloc[rows["retention.monthly_churn"]]
    c = listed.iloc[rows["retention.monthly_churn"]]
    assert churn.iloc[1] == f"{texts.number(100 * c['value'], lang, 2)}{texts.NBSP}%"
    assert (
        churn.iloc[2]
        == f"{texts.number(100 * c['ci_low'], lang, 2)}{texts.EN_DASH}"
        + texts.number(100 * c["ci_high"], lang, 2)
        + f"{texts.NBSP}%"
    )
    reference = in_scenario.iloc[rows["channels.1.lead_quality"]]  # 1 by definition: no interval
    assert reference.iloc[2] == texts.t(lang, "dash")
    if lang == "en":
        assert list(in_scenario.iloc[:, 4]) == list(listed["method"].iloc[: len(in_scenario)])


def test_every_note_of_the_fit_reads_in_russian(fitted):
    """The fit's methods are English in `sim.calibration`; the page translates each by its key."""
    result = fitted.result
    for method in result.report["method"]:
        ru = texts.fit_note(method, "ru")
        assert ru != method or method == "sold_at − contacted_at", method
    in_scenario, reported = data.report_tables(result, "ru")
    text = " ".join(str(v) for t in (in_scenario, reported) for v in [*t.columns, *t.to_numpy().ravel()])
    assert not latin_words(text), sorted(latin_words(text))
    # Numbers in the notes are written the Russian way.
    note = "referral leads / 6,718 customer-months staying (expected from the retention fit), Poisson CI"
    assert f"6{texts.THIN}718" in texts.fit_note(note, "ru")
    assert texts.fit_note("log-likelihood -412.25", "ru") == f"логарифм правдоподобия {texts.MINUS}412,25"
    assert texts.fit_note("something the page does not know", "ru") == "something the page does not know"


def test_a_phones_list_says_what_the_table_says(fitted):
    in_scenario, _ = data.report_tables(fitted.result, "ru")
    shown = data.report_list(in_scenario, "ru").split("\n\n")
    assert len(shown) == len(in_scenario)
    what, value, ci, n, method = in_scenario.iloc[0]
    assert shown[0] == f"**{data.md(what)}**: {value}  \n95 %: {ci} · {n}  \n:gray[{method}]"
    assert data.md("a_b*$c") == r"a\_b\*\$c"  # names from the data never turn into markup


def test_the_holdout_errors_and_text_follow_the_check(fitted):
    result = fitted.result
    table = data.holdout_errors(result, "ru")
    assert list(table.iloc[:, 0]) == [texts.t("ru", f"dt_m_{m}") for m in result.holdout_errors["metric"]]
    for row, err in zip(
        table.itertuples(index=False), result.holdout_errors.itertuples(index=False), strict=True
    ):
        part = result.holdout[result.holdout["metric"] == err.metric]
        assert row[1] == texts.percent(err.mape, "ru", 1)
        assert row[2] == texts.t("ru", "dt_within_of", k=int(part["within"].sum()), n=HOLDOUT)
    text = data.holdout_text(fitted, "en")
    assert f"in {int(result.holdout['within'].sum())} of {len(result.holdout)} months" in text
    assert texts.count(REPS, "en", "run") in text and "2029-11-01" in text


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_holdout_chart_draws_the_band_the_mean_and_what_happened(fitted, lang):
    result = fitted.result
    one = charts.holdout_chart(
        result.holdout, lang, "RUB", result.holdout_errors, metrics=["leads"]
    ).to_dict()
    rows = next(iter(one["datasets"].values()))
    leads = result.holdout[result.holdout["metric"] == "leads"].sort_values("month")
    assert [r["p10"] for r in rows] == list(leads["p10"]) and [r["p90"] for r in rows] == list(leads["p90"])
    assert [r["actual"] for r in rows] == list(leads["actual"])
    outside = texts.t(lang, "dt_hd_out")
    assert [r["dot"] == outside for r in rows] == [not w for w in leads["within"]]
    err = result.holdout_errors.set_index("metric").loc["leads"]
    k = int(leads["within"].sum())
    assert one["title"]["text"] == texts.t(lang, "dt_m_leads")
    sub = texts.t(lang, "dt_hd_sub", mape=texts.percent(err["mape"], lang, 1), k=k, n=2)
    assert one["title"]["subtitle"] == [" ".join(sub.split())]  # (wrapped for a phone at spaces)
    margin = charts.holdout_chart(result.holdout, lang, "RUB", metrics=["margin"]).to_dict()
    scale, unit = texts.scale_unit(10 * result.holdout["actual"], lang, "RUB")
    assert margin["title"]["text"] == f"{texts.t(lang, 'dt_m_margin')}, {unit}" and scale == 1e6
    grid = charts.holdout_chart(result.holdout, lang, "RUB", result.holdout_errors).to_dict()
    assert len(grid["concat"]) == 5 and grid["columns"] == 3
    with pytest.raises(ValueError, match="no rows"):
        charts.holdout_chart(result.holdout, lang, metrics=["nothing"])


# --- bad data ------------------------------------------------------------------------------------------


def test_bad_data_is_named_by_file_row_and_column_in_the_pages_language():
    example = {u.role: u for u in data.example_uploads(EXAMPLE)}
    bad = {**example, "leads": data.Upload("leads", "my leads.csv", MISSING_COLUMN)}
    with pytest.raises(data.DataError) as caught:
        data.fit_uploads(list(bad.values()))
    err = caught.value
    assert (err.kind, err.file, err.row, err.column) == ("crm", "my leads.csv", 1, "sold_at")
    assert data.error_text(err, "en") == (
        "my leads.csv, row 1, column “sold_at”: missing column(s) sold_at (columns found: lead_id, channel, "
        "created_at)"
    )
    assert data.error_text(err, "ru") == (
        "my leads.csv, строка 1, столбец «sold_at»: нет столбцов: sold_at "
        "(есть: lead_id, channel, created_at)"
    )
    # A visit before its customer's purchase: the row and column of the visit, in the file's own numbering.
    visits = example["visits"].data.decode("cp1251").rstrip("\n").split("\n")
    first = visits[1].split(";")  # the first purchase: customer_id;date;kind;revenue;margin
    visits.append(";".join([first[0], "2026-12-01 10:00:00", "Плановое ТО", "100", "50"]))
    broken = data.Upload("visits", "visits.csv", "\n".join(visits).encode("cp1251"))
    with pytest.raises(data.DataError) as caught:
        data.fit_uploads([example["leads"], broken, example["spend"]])
    err = caught.value
    assert (err.file, err.row, err.column) == ("visits.csv", len(visits), "date")
    ru = data.error_text(err, "ru")
    assert (
        ru.startswith(f"visits.csv, строка {len(visits)}, столбец «date»: визит клиента") and "раньше" in ru
    )
    # No file, or not CSV/XLSX: named before anything is read.
    with pytest.raises(data.DataError) as caught:
        data.check_uploads({"leads": example["leads"], "visits": None, "spend": example["spend"]})
    assert data.error_text(caught.value, "ru") == texts.t(
        "ru", "dt_missing", role=texts.t("ru", "dt_role_visits")
    )
    with pytest.raises(data.DataError) as caught:
        data.check_uploads({**example, "spend": data.Upload("spend", "spend.pdf", b"%PDF")})
    assert data.error_text(caught.value, "en") == texts.t(
        "en", "dt_bad_type", file="spend.pdf", role=texts.t("en", "dt_role_spend")
    )
    # Too many months to check: the holdout's own error.
    with pytest.raises(data.DataError) as caught:
        data.fit_uploads(list(example.values()), holdout=36)
    assert data.error_text(caught.value, "ru").startswith(
        texts.t("ru", "dt_holdout_file") + ": 36: для подбора"
    )


LEADS = (
    "lead_id,channel,created_at,contacted_at,sold_at\n"
    "1,A,2027-01-05 10:00,2027-01-05 11:00,2027-01-20 10:00\n"
)
SPEND = "month,channel,spend\n2027-01,A,1000\n"
VISITS = "customer_id,date,kind,revenue,margin\nC1,2027-01-20 10:00,purchase,100000,10000\n"


@pytest.mark.parametrize(
    ("role", "text", "row", "column"),
    [
        ("leads", LEADS.replace("2027-01-05 10:00", "yesterday"), 2, "created_at"),
        ("spend", SPEND.replace("1000", "-5"), 2, "spend"),
        ("spend", SPEND.replace(",A,", ",B,"), 2, "channel"),
        ("visits", VISITS.replace("100000,10000", "100000,200000"), 2, "margin"),
        ("visits", VISITS.replace("100000", "abc"), 2, "revenue"),
        ("leads", LEADS.replace("2027-01-05 11:00", ""), 2, "contacted_at"),
    ],
)
def test_the_exports_rules_are_said_in_russian(role, text, row, column):
    """Each kind of bad data the fit refuses, named by file, row and column, its rule in Russian."""
    tables = {"leads": LEADS, "visits": VISITS, "spend": SPEND, role: text}
    uploads = [data.Upload(r, f"{r}.csv", tables[r].encode()) for r in data.ROLES]
    with pytest.raises(data.DataError) as caught:
        data.fit_uploads(uploads, holdout=0)
    err = caught.value
    assert (err.kind, err.file, err.row, err.column) == ("crm", f"{role}.csv", row, column)
    ru = data.error_text(err, "ru")
    assert texts.fit_note(err.rule, "ru") != err.rule
    named = re.sub(r"(leads|visits|spend)\.csv", "", ru)  # the files, the data's own values
    assert not latin_words(named) - {"yesterday", "abc", "A", "B"}, ru


def test_odd_rows_are_counted_grouped_and_listed():
    example = {u.role: u for u in data.example_uploads(EXAMPLE)}
    lines = example["spend"].data.decode("cp1251").rstrip("\n").split("\n")
    doubled = data.Upload("spend", "spend.csv", "\n".join([*lines, lines[1], lines[2]]).encode("cp1251"))
    result = data.fit_uploads([example["leads"], example["visits"], doubled], holdout=0)
    assert data.odd_count(result) == 2
    groups = data.odd_groups(result, "ru")
    assert groups.to_numpy().tolist() == [["spend.csv", "точная копия более ранней строки: пропущена", 2]]
    listed = data.odd_list(result, "ru")
    assert list(listed.iloc[:, 1]) == [str(len(lines) + 1), str(len(lines) + 2)]
    assert list(listed.iloc[:, 3]) == ["точная копия строки 2: пропущена", "точная копия строки 3: пропущена"]


# --- the page (AppTest) --------------------------------------------------------------------------------


def test_the_example_fits_and_shows_the_report_and_the_check():
    at = open_data_page()
    assert [c.value for c in at.caption][-1] == texts.t("en", "dt_none_yet")
    assert texts.t("en", "dt_link_note") in [i.value for i in at.info]  # the data are not in the link
    fit_example(at)
    fitted = at.session_state[DT_FIT]
    result = fitted.result
    assert fitted.files == ("leads.csv", "visits.csv", "spend.csv") and fitted.holdout == HOLDOUT
    in_scenario, reported = data.report_tables(result, "en")
    tables = [t.value for t in at.table]
    assert tables[0].equals(in_scenario) and tables[1].equals(reported)
    assert tables[-1].equals(data.holdout_errors(result, "en"))
    specs = chart_specs(at)
    assert [s["title"]["text"] for s in specs] == [
        texts.t("en", "dt_m_leads"),
        texts.t("en", "dt_m_sales"),
        texts.t("en", "dt_m_repeat_visits"),
        texts.t("en", "dt_m_active_customers"),
        f"{texts.t('en', 'dt_m_margin')}, M{texts.NBSP}₽",
    ]
    assert data.summary_text(fitted, "en") in [m.value for m in at.markdown]
    assert texts.t("en", "dt_odd_none") in [c.value for c in at.caption]
    download = at.get("download_button")[0]
    assert download.proto.label == texts.t("en", "dt_download")
    # The link: the page, never the data.
    assert dict(at.query_params) == {"reps": "0", "page": "data"}


def test_a_bad_file_shows_its_error_and_the_last_good_fit_stays():
    at = fit_example(open_data_page())
    good = at.session_state[DT_FIT]
    shown = len(at.table)
    at.radio(key="dt_source").set_value("upload").run()
    at.button(key="dt_fit_button").click().run()  # no file yet
    no_exception(at)
    missing = texts.t("en", "dt_missing", role=texts.t("en", "dt_role_leads"))
    assert [e.value for e in at.error] == [texts.t("en", "dt_error", error=missing)]
    example = {u.role: u for u in data.example_uploads(EXAMPLE)}
    upload(at, "leads", "leads.csv", MISSING_COLUMN)
    upload(at, "visits", "visits.csv", example["visits"].data)
    upload(at, "spend", "spend.txt", example["spend"].data)
    at.run()
    at.button(key="dt_fit_button").click().run()
    wrong = texts.t("en", "dt_bad_type", file="spend.txt", role=texts.t("en", "dt_role_spend"))
    assert [e.value for e in at.error] == [texts.t("en", "dt_error", error=wrong)]
    upload(at, "spend", "spend.csv", example["spend"].data)
    at.run()
    at.button(key="dt_fit_button").click().run()
    no_exception(at)
    [error] = [e.value for e in at.error]
    assert error.startswith(texts.t("en", "dt_error", error="leads.csv, row 1, column “sold\\_at”: missing"))
    assert texts.t("en", "dt_error_kept", files="leads.csv, visits.csv, spend.csv") in [
        i.value for i in at.info
    ]
    assert at.session_state[DT_FIT] is good  # the last good fit, still shown whole
    assert len(at.table) == shown and len(at.get("vega_lite_chart")) == 5
    assert "src" not in dict(at.query_params)


def test_open_in_the_whatif_starts_every_lever_at_its_fitted_value():
    at = fit_example(open_data_page())
    result = at.session_state[DT_FIT].result
    at.button(key="dt_open").click().run()
    no_exception(at)
    fitted = result.scenario
    packed = at.session_state[S.FITTED_SOURCE]
    assert S.unpack_source(packed) == fitted
    assert at.session_state["page"] == "whatif" and at.selectbox(key="preset").value == S.FITTED
    base_id = S.Base(S.FITTED, fitted, packed).id

    def levers() -> dict[str, Any]:
        return {
            w.key: w.value for w in [*at.sidebar.number_input, *at.sidebar.slider] if w.key.startswith("v|")
        }

    specs = S.fields(fitted)
    want = S.widget_values(fitted, specs)
    shown = levers()
    assert len(shown) == len(specs) > 20
    for spec in specs:
        value = shown[S.lever_key(base_id, spec.path)]
        assert value == pytest.approx(want[spec.path], rel=1e-12), spec.path
    assert want["channels.0.leads_per_month"] == pytest.approx(
        float(result.report.set_index("parameter").loc["channels.0.leads_per_month", "value"]), rel=1e-5
    )
    # The page is the fitted scenario's: its tiles, and a link that reproduces it (the scenario, no data).
    link = dict(at.query_params)
    assert link["preset"] == S.FITTED and S.unpack_source(link["src"]) == fitted and "page" not in link
    kpi = sim.expected(fitted).kpi
    tile = next(m for m in at.metric if m.label == texts.t("en", "t_break_even_month"))
    assert tile.value == texts.month(kpi["break_even_month"])
    again = AppTest.from_file(APP, default_timeout=120)
    for key, value in link.items():
        again.query_params[key] = value
    again.run()
    no_exception(again)
    assert next(m for m in again.metric if m.label == tile.label).value == tile.value
    # The same link opened on "Your data" first: the what-if then shows the link's fitted scenario.
    again = AppTest.from_file(APP, default_timeout=120)
    for key, value in {**link, "page": "data"}.items():
        again.query_params[key] = value
    again.run()
    again.button_group(key="page").set_value("whatif").run()
    no_exception(again)
    assert next(m for m in again.metric if m.label == tile.label).value == tile.value
    # A lever moved, then the fit opened again: every lever back at its fitted value.
    key = S.lever_key(base_id, "channels.0.cost_per_lead")
    next(w for w in at.sidebar.number_input if w.key == key).set_value(1000.0).run()
    assert levers()[key] == 1000.0
    at.button_group(key="page").set_value("data").run()
    at.button(key="dt_open").click().run()
    assert levers()[key] == pytest.approx(want["channels.0.cost_per_lead"])


def test_the_data_page_and_back_keep_the_whatifs_settings():
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in {"reps": 0, "preset": "car_dealer_service", "tab": "channels", "lang": "ru"}.items():
        at.query_params[key] = str(value)
    at.run()
    key = S.lever_key("car_dealer_service", "channels.0.cost_per_lead")
    next(w for w in at.sidebar.number_input if w.key == key).set_value(2000.0).run()
    before = dict(at.query_params)
    at.button_group(key="page").set_value("data").run()
    no_exception(at)
    assert dict(at.query_params) == {**before, "page": "data"}
    assert not at.sidebar.number_input and [t.value for t in at.title] == [texts.t("ru", "dt_title")]
    at.button_group(key="page").set_value("whatif").run()
    no_exception(at)
    assert dict(at.query_params) == before
    assert at.selectbox(key="preset").value == "car_dealer_service"


def test_the_russian_data_page_has_no_english_words():
    at = fit_example(open_data_page("ru"))
    shown = page_text(at)
    files = re.compile(r"(leads|visits|spend)\.csv")  # the files' own names
    # (Markdown's escapes and grey text are markup, not words.)
    plain = [files.sub("", text).replace("\\", "").replace(":gray[", "[") for text in shown]
    words = set().union(*map(latin_words, plain))
    assert len(shown) > 100
    assert not words, sorted(words)


# --- the command line ----------------------------------------------------------------------------------


def test_fit_chart_writes_the_holdout_chart_and_refuses_a_bad_suffix(tmp_path, capsys):
    out = tmp_path / "holdout.json"
    code = cli(
        ["fit", "--folder", str(EXAMPLE), "--holdout", str(HOLDOUT), "-n", str(REPS), "--chart", str(out)]
    )
    assert code == 0
    assert f"wrote {out}" in capsys.readouterr().out
    spec = json.loads(out.read_text())
    assert len(spec["concat"]) == 5
    assert [p["title"]["text"] for p in spec["concat"]][:2] == ["Leads", "Sales"]
    for bad, why in (
        (
            ["--holdout", "2", "--chart", str(tmp_path / "h.txt")],
            "the file must end in .html, .png, .svg, .json",
        ),
        (["--chart", str(tmp_path / "h.svg")], "give --holdout N too"),
    ):
        assert cli(["fit", "--folder", str(EXAMPLE), *bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: --chart") and why in err
    assert not (tmp_path / "h.txt").exists() and not (tmp_path / "h.svg").exists()
