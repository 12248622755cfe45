"""The Streamlit app: an interactive what-if of a lead funnel with break-even curves.

    ./dev app                 # or: streamlit run app.py

Layout and widgets only: the state lives in `sim.app.state` (presets, switches, levers, the link, the
session's settings), the figures in `sim.app.views`, the answers to the owner's questions in
`sim.app.answers`, the charts in `sim.report.charts`, the words in `sim.report.texts` and the Monte Carlo
band in `sim.app.band` (background processes). The results are drawn before the lever widgets
(their values are read from the session state first), so the verdict and the curve appear as soon as
possible. While an upload is missing or bad the page keeps the last good scenario (the error above it), and
the widgets keep their values for the session, so a detour never resets the levers or the band. The
levers may be given as ranges (the "Not sure?" tab: the band, the chance to break even and what to find out
first carry them), and customers may differ (α, β, with their survival chart in the sidebar). A switch at
the top opens "Your data" (`sim.app.data`): a CRM export fitted to a scenario, its report and holdout check,
and the fitted scenario opened in the what-if as its base. The server's settings (no Deploy button, no file
watcher) are in `.streamlit/config.toml`.
"""

from __future__ import annotations

import atexit
import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

import sim
from sim.app import plans
from sim.app import state as S
from sim.model.levers import GROUPS
from sim.report import texts

# Start-up: `import sim` and the modules above are light (no numpy, pandas, Altair, SciPy or the engine), so
# the first run of a new server sends the page's frame (sidebar, title) at once and the browser renders it
# while the figures (`sim.app.views`: numpy, pandas), the answers (`sim.app.answers`) and the charts
# (`sim.report.charts`: Altair) are imported by the functions that draw them; the Monte Carlo band
# (`sim.app.band`: the engine) is imported when a band is asked for.
if TYPE_CHECKING:
    import pandas as pd
    from streamlit.runtime.uploaded_file_manager import UploadedFile

    from sim.analytic.uncertain import ExpectedBand
    from sim.app.answers import Answers
    from sim.app.band import Band, BandKey, BandRunner, Status
    from sim.app.data import Fitted
    from sim.app.views import Tile
    from sim.calibration.fit import FitResult
    from sim.decisions.budget import NextBudget
    from sim.decisions.programme import ProgrammeValue

# The band's worker processes are spawned while Streamlit runs this file as __main__, so each worker imports
# it again as __mp_main__ (main() is not run there): its caches have no Streamlit runtime in a worker, and
# would log a "No runtime found" warning per cached function and worker.
if __name__ == "__mp_main__":
    logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)

ROOT = Path(__file__).resolve().parent
SCENARIOS = ROOT / "scenarios"
EXAMPLE = ROOT / "examples" / "crm"  # the "Your data" page's example export (synthetic)
MODEL_ERRORS = (ValueError, ArithmeticError)  # what the models raise for settings they cannot evaluate
# (Comments, not docstrings, at the top level: Streamlit's magic would draw a bare string on the page.)
# The tiles whose terms the glossary explains (by their labels on the page).
GLOSSARY_TILES = ("break_even_month", "max_cash_need", "cac", "ltv", "payback_months")
# A phone (Streamlit stacks columns below 640 px): the verdict and the chart within the first screen, the
# tiles two to a row below them (not eight stacked).
PAGE_CSS = """<style>
[class*="st-key-dt_list_"] { display: none; }
.st-key-pg_tiles [data-testid="stMetricLabel"] .stMarkdownEllipsis,
.st-key-pg_tiles [data-testid="stMetricLabel"] p { white-space: normal; overflow: visible; }
.st-key-pg_chance_tile p { margin-bottom: 0; font-size: 0.875rem; }
.st-key-pg_chance_tile p.pg-chance-value { font-size: 2.25rem; line-height: 1.2; }
@media (max-width: 640px) {
  [class*="st-key-dt_table_"] { display: none; }
  [class*="st-key-dt_list_"] { display: block; }
  [data-testid="stMainBlockContainer"] { padding-top: 4.25rem; }
  .st-key-pg_head h1 { font-size: 1.5rem; padding-bottom: 0.25rem; }
  .st-key-pg_verdict h3 { font-size: 1.15rem; }
  .st-key-pg_tiles [data-testid="stMetricValue"] { font-size: 1.6rem; }
  .st-key-pg_chance_tile p.pg-chance-value { font-size: 1.6rem; }
  .st-key-pg_downloads button .stMarkdownEllipsis,
  .st-key-pg_downloads button p { white-space: normal; overflow: visible; }
  .st-key-pg_tiles [data-testid="stHorizontalBlock"],
  .st-key-pg_downloads [data-testid="stHorizontalBlock"] { flex-flow: row wrap; gap: 0.5rem; }
  .st-key-pg_tiles [data-testid="stColumn"], .st-key-pg_downloads [data-testid="stColumn"] {
    flex: 1 1 calc(50% - 0.5rem) !important; min-width: calc(50% - 0.5rem) !important;
    width: calc(50% - 0.5rem) !important;
  }
  [class*="st-key-pg_pinrow_"] [data-testid="stHorizontalBlock"] { flex-flow: row nowrap; }
  [class*="st-key-pg_pinrow_"] [data-testid="stColumn"] { min-width: 0 !important; width: auto !important; }
  [class*="st-key-pg_pinrow_"] [data-testid="stColumn"]:last-child { flex: 0 0 auto !important; }
  .st-key-pg_pins > div > [data-testid="stHorizontalBlock"] > [data-testid="stColumn"]:not(:has(input)),
  .st-key-pg_pin_bar [data-testid="stColumn"]:not(:has(input, button)) { display: none; }
}
</style>"""


# --- cached computations (keyed by the scenario's TOML) ----------------------------------------------


@st.cache_resource
def presets() -> S.Presets:
    """The shipped scenarios (read once per server)."""
    return S.load_presets(SCENARIOS)


@st.cache_resource
def band_runner() -> BandRunner:
    """The server's background Monte Carlo workers (one per core), started with the first page so the
    first band does not wait for them."""
    from sim.app.band import BandRunner

    runner = BandRunner()
    atexit.register(runner.shutdown)
    runner.warm_up()
    return runner


@st.cache_data(max_entries=64, show_spinner=False)
def expected_of(toml: str) -> sim.ExpectedResult:
    """The expected-value model of a scenario."""
    return sim.expected(sim.loads_scenario(toml, "app"))


@st.cache_data(max_entries=64, show_spinner=False)
def band_of(toml: str, replications: int, seed: int) -> Band:
    """The Monte Carlo band (called once the background job is done)."""
    return band_runner().wait(toml, replications, seed)


@st.cache_data(max_entries=32, show_spinner=False)
def sensitivity_of(toml: str, metric: str) -> pd.DataFrame:
    """The sensitivity table."""
    return sim.sensitivity(sim.loads_scenario(toml, "app"), metric=metric)


@st.cache_data(max_entries=32, show_spinner=False)
def expected_band_of(toml: str, draws: int, seed: int) -> ExpectedBand:
    """The expected-value model over draws of the scenario's ranges (the chance to break even before the
    Monte Carlo band is ready)."""
    return sim.expected_band(sim.loads_scenario(toml, "app"), draws=draws, seed=seed)


@st.cache_data(max_entries=32, show_spinner=False)
def drivers_of(toml: str, metric: str) -> pd.DataFrame:
    """What to find out first: the Sobol indices of the metric over the scenario's ranges."""
    return sim.drivers(sim.loads_scenario(toml, "app"), metric=metric)


@st.cache_data(max_entries=32, show_spinner=False)
def desk_of(toml: str) -> pd.DataFrame:
    """The desk curve (lost share and wait against every staff count in its range)."""
    from sim.app import views

    return views.desk_curve(sim.loads_scenario(toml, "app"))


@st.cache_data(max_entries=32, show_spinner=False)
def desk_answer_of(toml: str, max_lost: float, lang: str) -> str:
    """The desk's answer: how many salespeople, or why staff do not matter at these settings."""
    from sim.app import answers

    return answers.desk_answer(sim.loads_scenario(toml, "app"), max_lost, lang)


@st.cache_data(max_entries=32, show_spinner=False)
def programme_of(toml: str) -> ProgrammeValue:
    """The service programme's value and curve."""
    return sim.programme_value(sim.loads_scenario(toml, "app"))


@st.cache_data(max_entries=32, show_spinner=False)
def next_budget_of(toml: str, amount: float) -> NextBudget:
    """Where the next lead budget a month does most (each paid channel in turn)."""
    return sim.next_budget(sim.loads_scenario(toml, "app"), amount=amount)


@st.cache_data(max_entries=32, show_spinner=False)
def answers_of(toml: str, by_month: int, max_lost: float) -> Answers:
    """The goal-seek answers."""
    from sim.app import answers

    return answers.answer_numbers(sim.loads_scenario(toml, "app"), by_month, max_lost)


# --- state ------------------------------------------------------------------------------------------


def restore(P: S.Presets) -> S.Checked[S.View] | None:
    """On a session's first run, the link's settings into the session state (None on later runs)."""
    ss = st.session_state
    if "restored" in ss:
        return None
    link = S.decode_view(st.query_params.to_dict(), set(P.scenarios))
    ss["restored"] = True
    ss["owner"] = uuid.uuid4().hex
    for key, value in S.session_from_link(link.value).items():
        ss[key] = value
    return link


def lever_state(base: S.Base, P: S.Presets, link: S.View | None) -> S.Checked[S.Levers]:
    """Switches and lever values from the session state (initialised from the scenario, or the link)."""
    ss = st.session_state
    donors = P.donors()
    for part in S.SWITCHES:
        key = S.switch_key(base.id, part)
        if key not in ss:
            ss[key] = S.initial_switch(base.scenario, part, link, donors)
    switches = {part: bool(ss[S.switch_key(base.id, part)]) for part in S.SWITCHES}
    model = S.retention_key(base.id)
    if model not in ss:
        ss[model] = S.initial_retention(base.scenario, link)
    switched = S.apply_retention(S.apply_switches(base.scenario, switches, donors), ss[model])
    specs = S.fields(switched)
    defaults = S.widget_values(switched, specs)
    initial = S.initial_values(specs, defaults, link)
    for spec in specs:
        key = S.lever_key(base.id, spec.path)
        if key not in ss:
            ss[key] = initial.value[spec.path]
    values = {spec.path: ss[S.lever_key(base.id, spec.path)] for spec in specs}
    return S.Checked(S.Levers(base.id, switches, switched, specs, values, defaults), initial.problems)


def pin_state(base: S.Base, P: S.Presets, link: S.View | None) -> list[str]:
    """The what-ifs pinned on `base`, in the session from the link's on the base's first run; the link's pins
    that are not valid on it are skipped, and why is returned."""
    ss = st.session_state
    key = S.pins_key(base.id)
    if key in ss:
        return []
    checked = S.initial_pins(base.scenario, link, P.donors())
    ss[key] = checked.value
    return checked.problems


def plan_state(base: S.Base, link: S.View | None, levers: S.Levers) -> None:
    """The base's plan over time and its ranges in the session, from the link's on the base's first run
    (the tables' rows from the link's; checked when the what-if is built, like any typed)."""
    ss = st.session_state
    if S.plan_key(base.id) not in ss:
        lv = S.plan_levers(levers.specs, "en", base.scenario.currency)
        ss[S.plan_key(base.id)] = S.initial_plan(levers.switched, link, lv)
    if S.ranges_key(base.id) not in ss:
        lv = S.range_levers(levers.specs, levers.values, "en", base.scenario.currency)
        ss[S.ranges_key(base.id)] = S.initial_ranges(link, lv)


def planned_whatif(base: S.Base, levers: S.Levers, lang: str) -> tuple[S.WhatIf, S.Planned, S.Ranged]:
    """The what-if the widgets, the plan's tables and the ranges table set (their edits merged in first;
    while a plan or ranges typed are not valid, the last valid ones, with the error); ScenarioError if the
    levers are not valid."""
    ss = st.session_state
    S.take_plan_edits(ss, base.id)
    S.take_range_edits(ss, base.id)
    built = S.build_whatif(levers.switched, levers.specs, levers.values)
    lv = S.plan_levers(levers.specs, lang, base.scenario.currency)
    planned, state = S.plan_whatif(built.scenario, S.session_plan(ss, base.id), lv, lang)
    ss[S.plan_key(base.id)] = state
    rl = S.range_levers(levers.specs, levers.values, lang, base.scenario.currency)
    ranged, kept = S.ranges_whatif(planned.scenario, S.session_ranges(ss, base.id), rl, lang)
    ss[S.ranges_key(base.id)] = kept
    edits = plans.differing(planned.edits, levers.switched)
    model = levers.switched.retention.model
    whatif = S.WhatIf(
        ranged.scenario,
        built.changes,
        edits,
        retention=model if model != base.scenario.retention.model else None,
        ranges=plans.differing_ranges(ranged.ranges, levers.switched),
    )
    return whatif, planned, ranged


def tab_labels(lang: str) -> list[str]:
    """The tabs' labels in `lang`; the open tab survives a language switch."""
    current = st.session_state.get("tab")
    if current is not None and S.tab_label(current, lang) != current:
        st.session_state["tab"] = S.tab_label(current, lang)
    return S.tab_labels(lang)


def sync_link(view: S.View) -> None:
    """Keep the address bar's query parameters equal to the view."""
    params = S.encode_view(view)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


# --- the "Your data" page: a scenario fitted to the user's CRM export ---------------------------------

# Session keys: the last good fit (`sim.app.data.Fitted`), and why the last press of "Fit" failed (a
# `DataError`, shown above the last good fit, which stays).
DT_FIT = "dt_fit"
UPLOADER_CSS = """<style>
.st-key-dt_files [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p,
.st-key-dt_files [data-testid="stFileUploaderDropzoneInstructions"] span {{ display: none; }}
.st-key-dt_files [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after {{
  content: "{button}";
}}
.st-key-dt_files [data-testid="stFileUploaderDropzoneInstructions"] div::after {{
  content: "{limit}"; font-size: 0.875rem;
}}
</style>"""
DT_ERROR = "dt_error"
TAB_KEPT = "pg_tab_kept"  # the what-if's open tab while "Your data" is shown


@st.cache_resource(max_entries=8, show_spinner=False)
def fitted_of(
    files: tuple[tuple[str, str, bytes], ...], holdout: int, replications: int, seed: int
) -> FitResult:
    """The fit of an export (role, file name, contents of each table), cached by the files' contents and the
    check's settings (a few seconds for the example: fitted once per server)."""
    from sim.app import data

    return data.fit_uploads([data.Upload(*f) for f in files], holdout, replications, seed)


def page_switch(lang: str) -> str:
    """The page to show, from the switch at the top: the what-if, or "Your data"."""
    ss = st.session_state
    if ss.get("page") not in S.PAGES:
        ss["page"] = S.PAGES[0]
    with st.container(key="pg_page"):
        st.segmented_control(
            texts.t(lang, "page_label"),
            S.PAGES,
            format_func=lambda page: texts.t(lang, f"page_{page}"),
            key="page",
            required=True,
            label_visibility="collapsed",
            persist_state="session",
        )
    page = str(ss["page"])
    # The open tab (a widget not drawn on "Your data", so Streamlit drops its state) is kept for the return.
    if page == "data" and "tab" in ss:
        ss[TAB_KEPT] = ss["tab"]
    elif "tab" not in ss and TAB_KEPT in ss:
        ss["tab"] = ss[TAB_KEPT]
    return page


def data_link(lang: str) -> None:
    """The address bar on the "Your data" page: the what-if's settings as they were, the page and the
    language (never the uploaded data)."""
    params = st.query_params.to_dict()
    params["page"] = "data"
    if lang != S.DEFAULT_LANG:
        params["lang"] = lang
    else:
        params.pop("lang", None)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def data_page(lang: str) -> None:
    """Your data: the three files of a CRM export (or the example), the months to check the fit on, the
    Fit button, then the fit's report, its check and the way into the what-if; a bad file's error above the
    last good fit, which stays."""
    from sim.app import data

    ss = st.session_state
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    data_link(lang)
    for key, value in (("dt_holdout", data.DEFAULT_HOLDOUT), ("dt_reps", data.DEFAULT_REPLICATIONS)):
        ss.setdefault(key, value)
    ss.setdefault("dt_seed", data.DEFAULT_SEED)
    with st.container(key="pg_head"):
        st.title(t("dt_title"), anchor=False)
        st.caption(t("dt_intro"))
    st.info(t("dt_link_note"))
    source = st.radio(
        t("dt_source"),
        data.SOURCES,
        format_func=lambda s: t(f"dt_source_{s}"),
        key="dt_source",
        horizontal=True,
        persist_state="session",
    )
    files: dict[str, UploadedFile | None] = {}
    if source == "upload":
        if lang != "en":  # Streamlit writes the uploader's button and limit in English: the page's words
            limit = t("dt_upload_limit", mb=st.get_option("server.maxUploadSize"))
            st.html(UPLOADER_CSS.format(button=t("dt_upload_button"), limit=limit))
        with st.container(key="dt_files"):
            for col, role in zip(st.columns(len(data.ROLES)), data.ROLES, strict=True):
                # No `type=`: Streamlit's own refusal of another file type is English only; the page
                # names a file that is not CSV or XLSX itself (`data.check_uploads`), in its language.
                files[role] = col.file_uploader(
                    t(f"dt_file_{role}"),
                    key=f"dt_file_{role}",
                    help=t(f"dt_help_{role}"),
                )
        st.caption(t("dt_formats"))
    else:
        st.caption(t("dt_example_note"))
    st.columns([1, 2])[0].number_input(
        t("dt_holdout"),
        0,
        data.MAX_HOLDOUT,
        step=1,
        key="dt_holdout",
        help=t("dt_holdout_help"),
        persist_state="session",
    )
    with st.expander(t("dt_analysts")):
        reps, seed = st.columns(2)
        reps.number_input(
            t("dt_reps"), 1, data.MAX_REPLICATIONS, step=10, key="dt_reps", persist_state="session"
        )
        seed.number_input(t("dt_seed"), 0, 2**31 - 1, step=1, key="dt_seed", persist_state="session")
    if st.button(t("dt_fit"), key="dt_fit_button", type="primary", icon=":material/play_arrow:"):
        run_fit(source, files, lang)
    error, fitted = ss.get(DT_ERROR), ss.get(DT_FIT)
    if error is not None:
        st.error(t("dt_error", error=data.md(data.error_text(error, lang))))
        if fitted is not None:
            st.info(t("dt_error_kept", files=", ".join(map(data.md, fitted.files))))
    if fitted is None:
        if error is None:
            st.caption(t("dt_none_yet"))
        return
    fit_report(fitted, lang)


def run_fit(source: str, files: dict[str, UploadedFile | None], lang: str) -> None:
    """Fit the example or the uploaded files (cached by their contents, with a spinner while it runs): the
    fit becomes the page's, or its error is kept to show above the last good one."""
    from sim.app import data

    ss = st.session_state
    try:
        if source == "example":
            uploads = data.example_uploads(EXAMPLE)
        else:
            given = {
                role: data.Upload(role, f.name, f.getvalue()) if f is not None else None
                for role, f in files.items()
            }
            uploads = data.check_uploads(given)
        holdout, reps, seed = int(ss["dt_holdout"]), int(ss["dt_reps"]), int(ss["dt_seed"])
        with st.spinner(texts.t(lang, "dt_fitting"), show_time=True):
            result = fitted_of(tuple((u.role, u.name, u.data) for u in uploads), holdout, reps, seed)
    except data.DataError as exc:
        ss[DT_ERROR] = exc
        return
    ss[DT_FIT] = data.Fitted(result, tuple(u.name for u in uploads), holdout, reps)
    ss.pop(DT_ERROR, None)


def fit_report(fitted: Fitted, lang: str) -> None:
    """The fit: what was fitted, the way into the what-if and the TOML, every estimate with its interval,
    count and method, the odd rows, and the check on the months the fit did not see with its chart."""
    from sim.app import data, views
    from sim.report import charts

    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    result = fitted.result
    st.subheader(t("dt_result_title"), anchor=False)
    st.markdown(data.summary_text(fitted, lang))
    with st.container(key="dt_actions"):
        open_, download, _ = st.columns([1, 1, 1])
        open_.button(
            t("dt_open"),
            key="dt_open",
            type="primary",
            icon=":material/query_stats:",
            help=t("dt_open_help"),
            on_click=open_fitted,
            args=(data.fitted_source(result),),
            width="stretch",
        )
        download.download_button(
            t("dt_download"),
            result.toml(),
            f"{views.file_stem(texts.item_name(result.scenario, lang))}.toml",
            "application/toml",
            key="dt_download",
            help=t("dt_download_help"),
            icon=":material/download:",
            width="stretch",
        )
    in_scenario, reported = data.report_tables(result, lang)
    for name, table, title in (("scenario", in_scenario, "dt_in_scenario"), ("info", reported, "dt_info")):
        if not len(table):
            continue
        st.markdown(f"**{t(title)}**")
        # A table on a wide screen, a list on a phone (five columns do not fit 360 px): PAGE_CSS.
        with st.container(key=f"dt_table_{name}"):
            st.table(table, hide_index=True)
        with st.container(key=f"dt_list_{name}"):
            st.markdown(data.report_list(table, lang))
        if name == "scenario":
            st.caption(t("dt_in_scenario_note"))
    odd = data.odd_count(result)
    if odd:
        st.markdown(t("dt_odd", n=texts.number(odd, lang)))
        st.table(data.odd_groups(result, lang), hide_index=True)
        with st.expander(t("dt_odd_list")):
            st.table(data.odd_list(result, lang), hide_index=True)
    else:
        st.caption(t("dt_odd_none"))
    if result.holdout is None:
        st.caption(t("dt_holdout_off"))
        return
    st.subheader(data.holdout_title(result, lang), anchor=False)
    st.markdown(data.holdout_text(fitted, lang))
    shown = [m for m in charts.HOLDOUT_METRICS if (result.holdout["metric"] == m).any()]
    cur = result.scenario.currency
    with st.container(key="dt_holdout_charts"):
        for first in range(0, len(shown), 3):
            for col, metric in zip(st.columns(3), shown[first : first + 3], strict=False):
                with col:
                    chart = charts.holdout_chart(
                        result.holdout, lang, cur, result.holdout_errors, metrics=[metric], legend=False
                    )
                    st.altair_chart(chart)
    st.caption(t("dt_holdout_legend"))
    st.table(data.holdout_errors(result, lang), hide_index=True, width="content")


def open_fitted(packed: str) -> None:
    """The fitted scenario opened in the what-if (a callback): it becomes the page's scenario, every lever
    starting at its fitted value (anything moved on it before is forgotten)."""
    ss = st.session_state
    S.forget_base(ss, S.Base(S.FITTED, S.unpack_source(packed), packed).id)
    ss[S.FITTED_SOURCE] = packed
    ss["preset"] = S.FITTED
    ss["page"] = S.PAGES[0]


# --- the page ---------------------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title="Lead funnel what-if", page_icon="📈", layout="wide")
    P = presets()
    link = restore(P)
    view = link.value if link is not None else None

    with st.sidebar:
        lang = st.radio(
            texts.t("en", "language"),
            list(texts.LANGS),
            format_func=texts.LANG_NAMES.get,
            key="lang",
            horizontal=True,
        )
    st.html(PAGE_CSS)
    if page_switch(lang) == "data":
        if view is not None and view.source:  # a link's scenario, for when the what-if is opened
            st.session_state.setdefault(S.FITTED_SOURCE if view.preset == S.FITTED else "source", view.source)
        data_page(lang)
        return
    with st.sidebar:
        fitted = fitted_label(lang)
        preset = st.selectbox(
            texts.t(lang, "preset"),
            preset_options(P),
            format_func=lambda key: fitted if key == S.FITTED else P.label(key, lang),
            key="preset",
            persist_state="session",  # kept while the "Your data" page is open
        )
        shown = load_base(preset, view.source if view else None, lang)
        controls = st.container()  # switches and levers: filled after the results are drawn

    with st.container(key="pg_head"):
        st.title(texts.t(lang, "title"), anchor=False)
        st.caption(texts.t(lang, "intro"))
    for stem, error in P.errors.items():
        st.warning(f"{stem}.toml: {error}")
    base = shown.base
    if shown.error is not None:  # above the last good view, which stays on the page
        st.error(texts.t(lang, "pg_upload_bad", error=shown.error))
    if base is None:
        if shown.error is None:
            st.info(texts.t(lang, "fitted_missing" if preset == S.FITTED else "upload_prompt"))
        ss = st.session_state
        reps, seed = ss.get("reps", S.DEFAULT_REPLICATIONS), ss.get("seed", S.DEFAULT_SEED)
        sync_link(S.View(preset=preset, lang=lang, replications=reps, seed=seed))
        with controls:
            monte_carlo_settings(lang)
        return
    if shown.kept:
        name = texts.item_name(base.scenario, lang)
        if preset == S.FITTED and not shown.error:
            st.info(texts.t(lang, "fitted_missing"))
        else:
            st.info(texts.t(lang, "pg_upload_kept" if shown.error else "pg_upload_waiting", name=name))
    try:
        levers = lever_state(base, P, view)
    except sim.ScenarioError as exc:
        st.error(texts.t(lang, "invalid", error=exc))
        return
    st.session_state[S.LAST_BASE] = base
    plan_state(base, view, levers.value)
    problems = (link.problems if link is not None else []) + levers.problems + pin_state(base, P, view)
    if problems:
        st.warning(texts.t(lang, "link_problem", problems="; ".join(problems)))
    shown_whatif: list[sim.Scenario] = []  # the what-if drawn, for the levers' ranges and the churn chart
    try:
        results(base, levers.value, lang, shown_whatif)
    finally:
        with controls:
            lever_widgets(base, levers.value, lang, P, shown_whatif[0] if shown_whatif else None)


def preset_options(P: S.Presets) -> list[str]:
    """The scenario menu: the presets, the upload and, once a fitted scenario was opened (or a link names
    it), the scenario fitted to the user's data."""
    ss = st.session_state
    fitted = ss.get(S.FITTED_SOURCE) is not None or ss.get("preset") == S.FITTED
    return [*P.scenarios, S.UPLOAD, *([S.FITTED] if fitted else [])]


def fitted_label(lang: str) -> str:
    """The fitted scenario's choice in the scenario menu: its name, marked as the user's data."""
    packed = st.session_state.get(S.FITTED_SOURCE)
    try:
        name = texts.item_name(S.unpack_source(packed), lang) if packed else ""
    except sim.ScenarioError:
        name = ""
    return texts.t(lang, "fitted_option", name=name) if name else texts.t(lang, "fitted_unnamed")


def load_base(preset: str, linked_source: str | None, lang: str) -> S.Shown:
    """The preset, the uploaded scenario (from the uploader, the link's `linked_source` or the session's
    last upload) or the fitted one (opened from the "Your data" page, or the link's); while an upload is
    missing or bad, the last good scenario with the upload's error."""
    ss = st.session_state
    if preset == S.FITTED:
        packed = ss.get(S.FITTED_SOURCE) or linked_source
        if not packed:
            return S.shown_base(None, None, ss)
        try:
            sc = S.unpack_source(packed)
        except sim.ScenarioError as exc:
            return S.shown_base(None, str(exc), ss)
        ss[S.FITTED_SOURCE] = packed
        return S.Shown(S.Base(preset, sc, packed))
    if preset != S.UPLOAD:
        return S.Shown(S.Base(preset, presets().scenarios[preset]))
    upload = st.file_uploader(texts.t(lang, "upload"), type=["toml"], key="upload_file")
    try:
        if upload is not None:
            sc = S.scenario_from_upload(upload.name, upload.getvalue())
            ss["source"] = S.pack_source(sc.to_toml())
            return S.Shown(S.Base(preset, sc, ss["source"]))
        packed = linked_source or ss.get("source")
        if packed:
            sc = S.unpack_source(packed)
            ss["source"] = packed
            return S.Shown(S.Base(preset, sc, packed))
    except sim.ScenarioError as exc:
        return S.shown_base(None, str(exc), ss)
    return S.shown_base(None, None, ss)


def results(base: S.Base, levers: S.Levers, lang: str, shown: list[sim.Scenario]) -> None:
    """The verdict, the cash curve with its band and the chance to break even (first, so a phone shows them
    on its first screen), the guided start, the tiles, the glossary, downloads and the tabs; the link kept
    in step. The what-if drawn is appended to `shown`."""
    from sim.app import views
    from sim.app.band import BandKey, JobState
    from sim.report import charts, frames

    ss = st.session_state
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    labels = tab_labels(lang)
    try:
        built, planned, ranged = planned_whatif(base, levers, lang)
    except sim.ScenarioError as exc:
        st.error(t("invalid", error=exc))
        sync_link(S.link_view(ss, base, levers.switches))
        return
    view = S.link_view(ss, base, levers.switches, built)
    sync_link(view)
    sc = built.scenario
    shown.append(sc)
    try:
        whatif = sim.expected(sc)
        loaded = expected_of(base.scenario.to_toml())
    except MODEL_ERRORS as exc:
        st.error(t("model_failed", error=exc))
        return
    currency = sc.currency
    st.markdown(views.scenario_line(sc, lang))
    if planned.error:  # the last valid plan is shown, with why the one typed is not
        st.error(t("pl_invalid", error=planned.error))
    if ranged.error:  # the same for the ranges
        st.error(t("un_invalid", error=ranged.error))
    line = views.plan_line(sc, lang)
    if line:
        st.caption(line)
    with st.container(key="pg_verdict"):
        st.subheader(views.verdict(whatif, lang), anchor=False)

    band: Band | None = None
    status: Status | None = None
    if view.replications > 0:
        key = BandKey(sc.to_toml(), view.replications, view.seed)
        status = band_runner().request(*key, owner=ss["owner"])
        if status.state == JobState.DONE:
            band = band_of(*key)
    pinned = pinned_results(base, lang)
    frame = frames.cash_frame(whatif, loaded, band.frame if band else None)
    pins = frames.pins_frame(pinned, sc.horizon_months) if pinned else None
    st.altair_chart(charts.cash_chart(frame, whatif.kpi["break_even_month"], currency, lang, pins=pins))
    if band is not None:
        st.caption(views.band_caption(band, lang, expected_break_even=whatif.kpi["break_even_month"]))
    elif status is not None and status.state == JobState.FAILED:
        st.warning(t("band_failed", error=status.error))
    elif status is not None:
        band_progress(key, ss["owner"], lang)
    else:
        st.caption(t("band_off"))
    chance_tile(sc, band, view.seed, lang)

    against = S.session_pins(ss, base.id).base_name(lang)
    columns, base_index = views.comparison_columns(loaded, pinned, against, lang)
    pin_bar(base, lang)
    if pinned:
        comparison(base.id, columns, base_index, lang)
    guided_start(lang)
    differ = sc.retention.model == "sbg"
    tiles(
        views.tiles(
            whatif.kpi, loaded.kpi, currency, lang, horizon=sc.horizon_months, customers_differ=differ
        )
    )
    st.caption(" ".join(filter(None, [t("vs_preset"), views.ltv_note(whatif.kpi, currency, lang)])))
    glossary(lang)
    downloads(base, sc, whatif, loaded, frame, band, lang, views.report_pins(columns, base_index))
    st.caption(t("share_hint"))
    for tab_id, tab in zip(S.TABS, st.tabs(labels, key="tab", on_change="rerun"), strict=True):
        with tab:
            if tab.open:
                show_tab(tab_id, sc, whatif, levers, lang, base.id, planned, ranged)


# --- what-ifs pinned side by side --------------------------------------------------------------------

# Session keys: the name box of the next pin; why the last pin or rename was refused (shown once).
PIN_NEW = "pg_pin_new"
PIN_MESSAGE = "pg_pin_message"


def pinned_results(base: S.Base, lang: str) -> list[tuple[str, sim.ExpectedResult]]:
    """The pinned what-ifs of `base` and their expected results, in pin order (one that cannot be computed is
    left out, with a warning)."""
    out = []
    donors = presets().donors()
    for pin in S.session_pins(st.session_state, base.id).pins:
        try:
            out.append((pin.name, expected_of(S.pin_scenario(base.scenario, pin, donors).to_toml())))
        except (sim.ScenarioError, *MODEL_ERRORS) as exc:
            st.warning(texts.t(lang, "pin_failed", name=pin.name, error=exc))
    return out


def pin_bar(base: S.Base, lang: str) -> None:
    """A name box and the button that pins the current settings (with why the last pin was refused)."""
    ss = st.session_state
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    pinned = S.session_pins(ss, base.id)
    with st.container(key="pg_pin_bar"):
        name, button, _ = st.columns([2, 1, 1], vertical_alignment="bottom")
        name.text_input(
            t("pin_name"),
            key=PIN_NEW,
            max_chars=S.MAX_PIN_NAME,
            placeholder=S.default_pin_name(pinned, lang),
        )
        button.button(
            t("pin_add"),
            key="pg_pin_add",
            help=t("pin_help", n=S.MAX_PINS),
            on_click=pin_add,
            args=(base, lang),
            width="stretch",
        )
        message = ss.pop(PIN_MESSAGE, None)
        if message:
            st.warning(message)
        elif not pinned.pins:
            st.caption(t("pin_hint", n=S.MAX_PINS))


def comparison(base_id: str, columns: list[tuple[str, sim.ExpectedResult]], base: int, lang: str) -> None:
    """The pins (each renamed in its box, removed with its button), the comparison's base (`base`, the
    index of its column) and the table of the KPIs side by side with the differences against it."""
    from sim.app import views
    from sim.report.charts import PIN_COLORS

    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    pinned = S.session_pins(st.session_state, base_id)
    rev = pinned.revision
    # Each pin's name box edged in its line's colour on the chart.
    st.html(
        "<style>"
        + "".join(
            f".st-key-pg_pinrow_{i} input {{ border-left: 5px solid {c}; }}"
            for i, c in enumerate(PIN_COLORS, 1)
        )
        + "</style>"
    )
    with st.container(key="pg_pins"):
        st.markdown(f"**{t('pin_title')}**")
        for col, (i, pin) in zip(st.columns(S.MAX_PINS), enumerate(pinned.pins, start=1), strict=False):
            key = f"pg_pin_name|{base_id}|{rev}|{i}"
            if key not in st.session_state:
                st.session_state[key] = pin.name
            box, remove = col.container(key=f"pg_pinrow_{i}").columns(
                [4, 1], vertical_alignment="center", gap="small"
            )
            box.text_input(
                t("pin_rename", n=i),
                key=key,
                max_chars=S.MAX_PIN_NAME,
                label_visibility="collapsed",
                on_change=pin_rename,
                args=(base_id, i, key, lang),
            )
            remove.button(
                "",
                key=f"pg_pin_remove|{base_id}|{rev}|{i}",
                icon=":material/close:",
                help=t("pin_remove", name=pin.name),
                on_click=pin_remove,
                args=(base_id, i),
                type="tertiary",
            )
        names = [name for name, _ in columns]
        key = f"pg_pin_base|{base_id}|{rev}"
        st.columns([1, 2])[0].selectbox(
            t("pin_base"),
            names,
            index=base,
            key=key,
            on_change=pin_base,
            args=(base_id, key),
        )
        st.table(views.comparison(columns, base, lang))
        st.caption(t("pin_note", base=names[base]))


def pin_add(base: S.Base, lang: str) -> None:
    """The current settings pinned under the name box's name (a callback: before the page is drawn, so
    the chart, the table and the link show the new pin at once)."""
    ss = st.session_state
    try:
        levers = lever_state(base, presets(), None).value
        whatif, _, _ = planned_whatif(base, levers, lang)
    except sim.ScenarioError as exc:
        ss[PIN_MESSAGE] = texts.t(lang, "invalid", error=exc)
        return
    pin = S.pin_of(ss.get(PIN_NEW, ""), base, levers.switches, whatif)
    checked = S.add_pin(S.session_pins(ss, base.id), pin, lang)
    ss[S.pins_key(base.id)] = checked.value
    if checked.problems:
        ss[PIN_MESSAGE] = checked.problems[0]
    else:
        ss[PIN_NEW] = ""


def pin_rename(base_id: str, index: int, key: str, lang: str) -> None:
    """A pin renamed in its box (a callback); a name that is empty or taken is refused with why."""
    ss = st.session_state
    checked = S.rename_pin(S.session_pins(ss, base_id), index, ss.get(key, ""), lang)
    ss[S.pins_key(base_id)] = checked.value
    if checked.problems:
        ss[PIN_MESSAGE] = checked.problems[0]


def pin_remove(base_id: str, index: int) -> None:
    """A pin removed (a callback)."""
    ss = st.session_state
    ss[S.pins_key(base_id)] = S.remove_pin(S.session_pins(ss, base_id), index)


def pin_base(base_id: str, key: str) -> None:
    """The comparison's base chosen by its name (a callback, so the link follows in the same run)."""
    ss = st.session_state
    ss[S.pins_key(base_id)] = S.choose_base(S.session_pins(ss, base_id), ss[key])


def tiles(shown: list[Tile]) -> None:
    """The KPI tiles in rows that wrap: four to a row on a wide screen, two on a phone (PAGE_CSS)."""
    with st.container(key="pg_tiles"):
        for row in (shown[:4], shown[4:]):
            for col, tile in zip(st.columns(4), row, strict=False):
                col.metric(
                    tile.label,
                    tile.value,
                    delta=tile.delta,
                    delta_color=tile.color,
                    delta_arrow=tile.arrow,
                    help=tile.help,
                    border=True,
                    height="stretch",
                )


def guided_start(lang: str) -> None:
    """The article's story in three steps, on a session's first visit until dismissed: each step switches
    the plain dealer's parts (the loss; + service visits; + referrals) so the curve above bends."""
    ss = st.session_state
    if ss.get(S.GUIDE_DONE):
        return
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    current = S.guide_step(ss)
    with st.container(border=True, key="pg_guide"):
        st.markdown(f"**{t('pg_guide_title')}**  \n{t('pg_guide_intro')}")
        for col, step in zip(st.columns(len(S.GUIDE_STEPS)), S.GUIDE_STEPS, strict=True):
            col.button(
                t(f"pg_step_{step}"),
                key=f"pg_step_{step}",
                on_click=guide_go,
                args=(step,),
                type="primary" if step == current else "secondary",
                width="stretch",
            )
        if current is not None:
            st.markdown(t(f"pg_step_{current}_text"))
        st.button(
            t("pg_guide_hide"), key="pg_guide_hide", on_click=guide_show, args=(False,), type="tertiary"
        )


def guide_go(step: str) -> None:
    """A guided-start step clicked (a callback: runs before the widgets are drawn)."""
    ss = st.session_state
    sets, drops = S.guide_changes(ss, step)
    for key in drops:
        del ss[key]
    for key, value in sets.items():
        ss[key] = value


def guide_show(show: bool) -> None:
    """Show the guided start again, or hide it for the rest of the session (a callback)."""
    st.session_state[S.GUIDE_DONE] = not show


def glossary(lang: str) -> None:
    """The terms of the tiles and the band in plain words (the tiles' own labels), and the guided start
    again once dismissed."""
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    with st.expander(t("pg_glossary")):
        lines = [t(f"pg_gl_{m}", label=t(f"t_{m}")) for m in GLOSSARY_TILES]
        lines += [t("pg_gl_band"), t("pg_gl_replications")]
        st.markdown("\n".join(f"- {line}" for line in lines))
        if st.session_state.get(S.GUIDE_DONE):
            st.button(t("pg_guide_show"), key="pg_guide_show", on_click=guide_show, args=(True,))


def band_progress(key: BandKey, owner: str, lang: str) -> None:
    """A progress bar that polls the background job (each second: a poll is a fragment rerun, which the
    browser redraws) and reruns the page when the band is ready."""
    from sim.app import views

    @st.fragment(run_every=1.0)
    def poll() -> None:
        status = band_runner().request(*key, owner=owner)
        if status.finished:
            st.rerun()
        bar = views.band_progress(status, lang)
        st.progress(bar.fraction, text=bar.text)

    poll()


def lever_widgets(
    base: S.Base, levers: S.Levers, lang: str, P: S.Presets, whatif: sim.Scenario | None
) -> None:
    """Switches, the lever groups (with customers alike or different, their survival chart and each
    lever's range when not sure of it), the way to the ranges and the Monte Carlo settings (their values
    were read before); `whatif` is the scenario drawn (None if it could not be built)."""
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    currency = base.scenario.currency
    donors = P.donors()
    st.subheader(t("switches"))
    for part in S.SWITCHES:
        donor = donors.get(part)
        st.toggle(
            t(f"sw_{part}"),
            key=S.switch_key(levers.base_id, part),
            disabled=donor is None and not levers.switches[part],
            help=t("sw_help", donor=texts.item_name(P.scenarios[donor.stem], lang)) if donor else None,
            persist_state="session",
        )
    st.subheader(t("levers"))
    ranges: dict[str, str] = {}  # each lever's range, when not sure of it
    if whatif is not None and whatif.uncertainty:
        rl = S.range_levers(levers.specs, levers.values, lang, currency)
        ranges = {rng[0]: S.range_text(rng, rl.get(rng[0]), lang) for rng in plans.ranges_of(whatif)}
    for group in GROUPS:
        group_specs = [s for s in levers.specs if s.group == group]
        if not group_specs:
            continue
        with st.expander(t(f"g_{group}"), expanded=group in ("Attract", "Keep")):
            for spec in group_specs:
                if spec.path == "retention.monthly_churn":
                    retention_choice(base, levers, lang)
                value = levers.values[spec.path]  # the label repeats it the page's way (`30 M`, `2,5`)
                unsure = ranges.get(spec.path, "")
                widget = S.widget(
                    spec, levers.defaults[spec.path], lang, currency, value=value, uncertain=unsure
                )
                lever_widget(widget, S.lever_key(levers.base_id, spec.path))
                if spec.path == S.SHAPE_PATHS[-1] and whatif is not None:
                    retention_curve(whatif, lang)
    st.button(t("un_button"), key="pg_unsure", on_click=open_tab, args=("uncertainty",))
    monte_carlo_settings(lang)


def retention_choice(base: S.Base, levers: S.Levers, lang: str) -> None:
    """Customers alike (churn the same for everyone) or different (each their own churn around the same
    mean); picking `different` starts the shapes where the mean churn stays (a callback)."""
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    st.radio(
        t("rt_model"),
        S.RETENTION_MODELS,
        format_func=lambda m: t(f"rt_{m}"),
        key=S.retention_key(base.id),
        horizontal=True,
        help=t("rt_model_help"),
        on_change=retention_changed,
        args=(base, levers.specs),
        persist_state="session",
    )


def retention_changed(base: S.Base, specs: list[S.FieldSpec]) -> None:
    """Customers alike or different picked (a callback): the shapes' widgets start where the mean churn
    stays (or at the scenario's own shapes)."""
    ss = st.session_state
    for key, value in S.retention_shapes(base, ss[S.retention_key(base.id)], ss, specs).items():
        ss[key] = value


def retention_curve(whatif: sim.Scenario, lang: str) -> None:
    """A month's customers still there by months after the purchase, churn alike against customers who
    differ, with a sentence that reads it."""
    from sim.app import views
    from sim.report import charts

    frame = views.retention_frame(whatif, lang)
    st.markdown(f"**{texts.t(lang, 'rt_chart_title')}**")
    st.altair_chart(charts.retention_chart(frame, lang))
    caption = views.retention_caption(frame, whatif, lang)
    if caption:
        st.caption(caption)


def open_tab(tab_id: str) -> None:
    """Open a tab (a callback: the tabs are drawn after it, on the page's language)."""
    ss = st.session_state
    ss["tab"] = S.tab_labels(ss.get("lang", S.DEFAULT_LANG))[S.TABS.index(tab_id)]


# Draws of the ranges for the first estimate of the chance to break even (the expected model: about 0.1–0.4 s;
# its standard error is at most 5 percentage points).
FAST_DRAWS = 100


def chance_tile(sc: sim.Scenario, band: Band | None, seed: int, lang: str) -> None:
    """The chance to break even by the Answers tab's month: from the Monte Carlo band when it is drawn,
    else, with ranges, a first estimate from the expected model over draws of them (nothing without
    either)."""
    from sim.app import views

    ss = st.session_state
    fast = None
    if band is None and sc.uncertainty:
        try:
            fast = expected_band_of(sc.to_toml(), FAST_DRAWS, seed)
        except MODEL_ERRORS as exc:
            st.warning(texts.t(lang, "model_failed", error=exc))
            return
    tile = views.chance(sc, S.answer_settings(ss, sc.horizon_months).by_month, lang, band=band, fast=fast)
    if tile is None:
        return
    # Drawn like a tile but not as one of the KPI tiles (`st.metric`): those are the what-if's expected
    # figures, this one is the runs'.
    with st.container(key="pg_chance"):
        box, words = st.columns([1, 2], vertical_alignment="center")
        with box.container(border=True, key="pg_chance_tile"):
            st.markdown(tile.label, help=tile.help)
            st.markdown(f'<p class="pg-chance-value">{tile.value}</p>', unsafe_allow_html=True)
        words.caption(tile.caption)


def monte_carlo_settings(lang: str) -> None:
    """Replications and seed, tucked away for analysts; kept for the session even while not drawn (an
    upload asked for), so a detour never switches the band off."""
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    with st.expander(t("pg_mc_title")):
        st.number_input(t("replications"), 0, S.MAX_REPLICATIONS, step=1, key="reps", persist_state="session")
        st.number_input(t("seed"), 0, 2**31 - 1, step=1, key="seed", persist_state="session")
        st.caption(t("mc_help"))


def lever_widget(w: S.Widget, key: str) -> None:
    """One lever: a slider or a number box."""
    if w.slider:
        st.slider(
            w.label,
            min_value=w.low,
            max_value=w.high,
            step=w.step,
            key=key,
            format=w.format,
            persist_state="session",
        )
    else:
        st.number_input(
            w.label,
            min_value=w.low,
            max_value=w.high,
            step=w.step,
            key=key,
            format=w.format,
            placeholder=w.placeholder,
            persist_state="session",
        )


def downloads(
    base: S.Base,
    sc: sim.Scenario,
    whatif: sim.ExpectedResult,
    loaded: sim.ExpectedResult,
    frame: pd.DataFrame,
    band: Band | None,
    lang: str,
    pins: list[tuple[str, sim.Scenario]],
) -> None:
    """Scenario TOML, monthly results (CSV, XLSX), the chart's data and the printable report (PDF, with the
    `pins` side by side, the comparison's base first), in the page's language; files are built on click."""
    from sim.app import views

    stem = views.file_stem(sc.name)
    cols = st.container(key="pg_downloads").columns(5)
    cols[0].download_button(
        texts.t(lang, "dl_scenario"), sc.to_toml(), f"{stem}.toml", "application/toml", key="dl_toml"
    )
    cols[1].download_button(
        texts.t(lang, "dl_csv"),
        lambda: views.monthly_csv(whatif, loaded, lang),
        f"{stem}_monthly.csv",
        "text/csv",
        key="dl_csv",
    )
    cols[2].download_button(
        texts.t(lang, "dl_xlsx"),
        lambda: views.workbook(whatif, loaded, frame, lang),
        f"{stem}_monthly.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="dl_xlsx",
    )
    cols[3].download_button(
        texts.t(lang, "dl_chart"),
        lambda: views.chart_csv(frame, lang, sc.currency),
        f"{stem}_cumulative_cash.csv",
        "text/csv",
        key="dl_chart",
    )

    def report() -> bytes:
        from sim.report import pdf

        source = S.source_text(base, SCENARIOS)
        return pdf.report_pdf(sc, base.scenario, lang=lang, band=band, pins=pins, source=source)

    cols[4].download_button(
        texts.t(lang, "rp_download"), report, f"{stem}_report.pdf", "application/pdf", key="dl_report"
    )


def show_tab(
    tab_id: str,
    sc: sim.Scenario,
    result: sim.ExpectedResult,
    levers: S.Levers,
    lang: str,
    base_id: str,
    planned: S.Planned,
    ranged: S.Ranged,
) -> None:
    """The open tab's content (only the open tab is computed)."""
    from sim.app import answers, views
    from sim.report import charts

    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    cur = sc.currency
    toml = sc.to_toml()
    specs = levers.specs
    try:
        if tab_id == "flow":
            st.altair_chart(charts.cash_flow_chart(views.components_frame(result), cur, lang))
        elif tab_id == "plan":
            plan_tab(base_id, sc, levers, planned, lang)
        elif tab_id == "channels":
            channels_tab(sc, result, lang)
        elif tab_id == "cohorts":
            frame = views.cohort_frame(result)
            if frame.empty:
                st.info(t("no_cohorts"))
            else:
                st.altair_chart(charts.cohort_chart(frame, cur, lang))
                st.caption(t("cohort_caption"))
        elif tab_id == "sensitivity":
            metric = st.selectbox(
                t("sens_metric"),
                S.SENSITIVITY_METRICS,
                format_func=lambda m: t(f"m_{m}"),
                key="metric",
                persist_state="session",
            )
            table = sensitivity_of(toml, metric)
            names = S.lever_names(specs, lang)
            chart = charts.sensitivity_chart(table, metric, cur, lang, names, sc.horizon_months)
            st.altair_chart(chart)
            st.caption(t("sens_caption"))
        elif tab_id == "uncertainty":
            uncertainty_tab(base_id, sc, levers, ranged, lang)
        elif tab_id == "desk":
            if sc.sales_desk is None:
                st.info(t("desk_off"))
            else:
                asked = S.answer_settings(st.session_state, sc.horizon_months)
                st.markdown(desk_answer_of(toml, asked.max_lost, lang))
                curve = desk_of(toml)
                st.altair_chart(charts.desk_chart(curve, sc.sales_desk.staff, lang), width="content")
        elif tab_id == "programme":
            if sc.service_programme is None:
                st.info(t("programme_off"))
            else:
                pv = programme_of(toml)
                st.altair_chart(charts.programme_chart(pv, cur, lang))
                st.markdown(answers.programme_verdict(pv, cur, lang, scenario=sc))
        elif tab_id == "answers":
            ss = st.session_state
            for key, value in S.answer_widgets(ss, sc.horizon_months).items():
                ss[key] = value
            c1, c2 = st.columns(2)
            c1.number_input(t("answers_by"), 1, sc.horizon_months, step=1, key="by", persist_state="session")
            c2.number_input(
                t("answers_lost"), 0.1, 99.9, step=0.5, key="lost", format="%.1f", persist_state="session"
            )
            asked = S.answer_settings(ss, sc.horizon_months)
            numbers = answers_of(toml, asked.by_month, asked.max_lost)
            for qa in answers.answer_texts(numbers, sc, lang, asked.by_month, asked.max_lost):
                st.markdown(qa.markdown)
    except MODEL_ERRORS as exc:
        st.error(t("model_failed", error=exc))


# --- the plan over time and the channels -----------------------------------------------------------


def plan_tab(base_id: str, sc: sim.Scenario, levers: S.Levers, planned: S.Planned, lang: str) -> None:
    """The plan over time: the first month, the steps, trends and seasonality tables (each edit redraws
    the page), a planned lever's path by month, and why the plan typed is not the one shown."""
    from sim.app import views
    from sim.report import charts

    ss = st.session_state
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    state = S.session_plan(ss, base_id)
    lv = S.plan_levers(levers.specs, lang, sc.currency)
    shown = plans.shown_draft(state.draft, plans.rows_of(plans.PlanEdits(), sc, lv))
    st.caption(t("pl_intro"))
    if planned.error:
        st.error(t("pl_invalid", error=planned.error))
    for note in planned.notes:
        st.warning(note)
    editors: dict[str, S.EditorShown] = {}
    start, reset = st.columns([2, 1], vertical_alignment="bottom")
    key = S.plan_editor_key(base_id, "start", state.revision, lang)
    if key not in ss:
        ss[key] = shown.start or ""
    start.text_input(
        t("pl_start"), key=key, help=t("pl_start_help"), placeholder=t("pl_start_none"), max_chars=7
    )
    editors["start"] = S.EditorShown(key, shown.start or "")
    reset.button(
        t("pl_reset"), key=f"pl_reset|{base_id}", on_click=S.reset_plan, args=(ss, base_id), width="stretch"
    )
    moved = views.planned_levers(sc, lv)
    if moved:
        path_key = f"pl_path|{base_id}"
        if ss.get(path_key) not in moved:
            ss[path_key] = moved[0]
        path = st.selectbox(t("pl_path"), moved, format_func=lambda p: lv[p].label, key=path_key)
        title = t("pl_path_title", lever=lv[path].label)
        decimals = 0 if lv[path].integer else 2
        st.altair_chart(charts.plan_chart(views.plan_path(sc, lv[path]), title, lang, decimals))
    else:
        st.info(t("pl_nothing"))
    paths = {lever.label: lever.path for lever in lv.values()}
    for part in plans.PARTS:
        rows = shown.part(part) or ()
        key = S.plan_editor_key(base_id, part, state.revision, lang)
        st.markdown(f"**{t(plans.TABLE_TITLES[part])}**")
        st.data_editor(
            views.plan_table(part, rows, lv, sc, lang),
            key=key,
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            column_config=plan_columns(part, [lever.label for lever in plans.offered(lv, part)], sc, lang),
        )
        editors[part] = S.EditorShown(key, rows, paths)
        st.caption(t(f"pl_{part}_help"))
        if part == "seasonality" and not sc.start:
            st.caption(t("pl_season_numbered"))
    ss[S.plan_shown_key(base_id)] = editors


def plan_columns(part: str, options: list[str], sc: sim.Scenario, lang: str) -> dict[str, object]:
    """A plan table's columns: the lever picked from `options` (its name with its unit), the month, the
    value, the rate or the twelve multipliers; a step's calendar month, read-only, with a first month."""
    from sim.app import views

    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    # Widths in px that keep the month, the lever and the value on a phone's screen (about 360 px).
    lever = st.column_config.SelectboxColumn(
        t("pl_lever"), options=options, required=True, width={"steps": 150, "trends": 200}.get(part, 150)
    )
    if part == "steps":
        return {
            "from_month": st.column_config.NumberColumn(
                t("pl_from_month"), min_value=1, max_value=sc.horizon_months, step=1, required=True, width=72
            ),
            "lever": lever,
            "value": st.column_config.NumberColumn(t("pl_value"), required=True, width=72),
            "date": st.column_config.TextColumn(t("date"), disabled=True, width=76),
        }
    if part == "trends":
        rate = st.column_config.NumberColumn(t("pl_rate"), step=0.1, required=True, width=90)
        return {"lever": lever, "rate": rate}
    names = views.season_labels(sc, lang)
    season = {
        column: st.column_config.NumberColumn(name, min_value=0.0, step=0.05, required=True, width=52)
        for column, name in zip(plans.SEASON_COLUMNS, names, strict=True)
    }
    return {"lever": lever, **season}


def uncertainty_tab(base_id: str, sc: sim.Scenario, levers: S.Levers, ranged: S.Ranged, lang: str) -> None:
    """The values the user is not sure of: the ranges table (each edit redraws the page; a range the
    scenario model refuses shows its error and the last valid ranges stay) and what to find out first."""
    from sim.app import views
    from sim.report import charts

    ss = st.session_state
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    state = S.session_ranges(ss, base_id)
    lv = S.range_levers(levers.specs, levers.values, lang, sc.currency)
    rows = state.draft if state.draft is not None else plans.range_rows(plans.ranges_of(sc), lv)
    st.caption(t("un_intro"))
    if ranged.error:
        st.error(t("un_invalid", error=ranged.error))
    for note in ranged.notes:
        st.warning(note)
    title, reset = st.columns([2, 1], vertical_alignment="bottom")
    title.markdown(f"**{t('un_table')}**")
    reset.button(
        t("un_reset"), key=f"un_reset|{base_id}", on_click=S.reset_ranges, args=(ss, base_id), width="stretch"
    )
    key = S.ranges_editor_key(base_id, state.revision, lang)
    st.data_editor(
        views.ranges_table(rows, lv),
        key=key,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        placeholder=t("dash"),  # an empty "most likely" (not "None")
        column_config={
            "lever": st.column_config.SelectboxColumn(
                t("pl_lever"), options=[lever.label for lever in lv.values()], required=True, width=160
            ),  # widths in px that keep the lever and the lowest value on a phone's screen (about 360 px)
            "low": st.column_config.NumberColumn(t("un_low"), required=True, width=76),
            "mode": st.column_config.NumberColumn(t("un_mode"), width=76),
            "high": st.column_config.NumberColumn(t("un_high"), required=True, width=76),
        },
    )
    ss[S.ranges_shown_key(base_id)] = S.EditorShown(
        key, rows, {lever.label: lever.path for lever in lv.values()}
    )
    st.caption(t("un_table_help"))
    if not sc.uncertainty:
        st.info(t("un_drivers_none"))
        return
    metric = st.selectbox(
        t("sens_metric"),
        S.SENSITIVITY_METRICS,
        format_func=lambda m: t(f"m_{m}"),
        key="metric",
        persist_state="session",
    )
    name = texts.t(lang, f"m_{metric}")
    try:
        with st.spinner(t("un_drivers_wait")):
            table = drivers_of(sc.to_toml(), metric)
    except MODEL_ERRORS as exc:
        st.warning(t("un_drivers_failed", error=exc))
        return
    if not (table["ST"].abs() > 0).any():
        st.info(t("un_drivers_flat", metric=name))
        return
    names = S.lever_names(levers.specs, lang)
    st.altair_chart(charts.drivers_chart(views.drivers_frame(table, names, lang), metric, lang))
    st.caption(t("un_drivers_caption", metric=name))


def channels_tab(sc: sim.Scenario, result: sim.ExpectedResult, lang: str) -> None:
    """Each source of leads side by side, and where the next lead budget a month does most."""
    from sim.app import views

    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    table = views.channel_table(result, lang)
    if table.empty:
        st.info(t("cn_none"))
        return
    st.markdown(f"**{t('cn_title')}**")
    st.table(table)
    st.caption(t("cn_note"))
    if not any(c.cost_per_lead > 0 for c in sc.channels):
        st.caption(t("cn_next_none"))
        return
    ss = st.session_state
    ss.setdefault("next_amount", 100_000.0)
    amount = float(ss["next_amount"])
    st.markdown(f"**{t('cn_next_q', amount=texts.money(amount, sc.currency, lang, short=True))}**")
    st.columns([1, 2])[0].number_input(
        t("cn_next_amount", cur=texts.symbol(sc.currency)),
        min_value=1.0,
        max_value=1e9,
        step=10_000.0,
        format="%.0f",
        key="next_amount",
        persist_state="session",
    )
    try:
        nb = next_budget_of(sc.to_toml(), amount)
    except MODEL_ERRORS as exc:
        st.error(t("a_failed", error=exc))
        return
    st.markdown(views.next_budget_text(nb, sc, lang))
    if len(nb.table) > 1:
        st.table(views.next_budget_table(nb, sc, lang))


# Streamlit runs the page as __main__; the Monte Carlo worker process imports it as __mp_main__.
if __name__ == "__main__":
    main()
