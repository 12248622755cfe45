"""The Streamlit app: an interactive what-if of a lead funnel with break-even curves.

    ./dev app                 # or: streamlit run app.py

Layout and widgets only: the state lives in `sim.app.state` (presets, switches, levers, the link, the
session's settings), the figures in `sim.app.views`, the answers to the owner's questions in
`sim.app.answers`, the charts in `sim.report.charts`, the words in `sim.report.texts` and the Monte Carlo
band in `sim.app.band` (background processes). The results are drawn before the lever widgets
(their values are read from the session state first), so the tiles and the curve appear as soon as possible.
"""

from __future__ import annotations

import atexit
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

import sim
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

    from sim.app.answers import Answers
    from sim.app.band import Band, BandKey, BandRunner, Status
    from sim.decisions.programme import ProgrammeValue

ROOT = Path(__file__).resolve().parent
SCENARIOS = ROOT / "scenarios"
MODEL_ERRORS = (ValueError, ArithmeticError)  # what the models raise for settings they cannot evaluate


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
def desk_of(toml: str) -> pd.DataFrame:
    """The desk curve (lost share and wait against every staff count in its range)."""
    from sim.app import views

    return views.desk_curve(sim.loads_scenario(toml, "app"))


@st.cache_data(max_entries=32, show_spinner=False)
def programme_of(toml: str) -> ProgrammeValue:
    """The service programme's value and curve."""
    return sim.programme_value(sim.loads_scenario(toml, "app"))


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
    switched = S.apply_switches(base.scenario, switches, donors)
    specs = S.fields(switched)
    defaults = S.widget_values(switched, specs)
    initial = S.initial_values(specs, defaults, link)
    for spec in specs:
        key = S.lever_key(base.id, spec.path)
        if key not in ss:
            ss[key] = initial.value[spec.path]
    values = {spec.path: ss[S.lever_key(base.id, spec.path)] for spec in specs}
    return S.Checked(S.Levers(base.id, switches, switched, specs, values, defaults), initial.problems)


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
        preset = st.selectbox(
            texts.t(lang, "preset"),
            [*P.scenarios, S.UPLOAD],
            format_func=lambda key: P.label(key, lang),
            key="preset",
        )
        base = load_base(preset, view.source if view else None, lang)
        controls = st.container()  # switches and levers: filled after the results are drawn

    st.title(texts.t(lang, "title"))
    st.caption(texts.t(lang, "intro"))
    for stem, error in P.errors.items():
        st.warning(f"{stem}.toml: {error}")
    if base is None:
        sync_link(S.View(preset=preset, lang=lang))
        return
    try:
        levers = lever_state(base, P, view)
    except sim.ScenarioError as exc:
        st.error(texts.t(lang, "invalid", error=exc))
        return
    problems = (link.problems if link is not None else []) + levers.problems
    if problems:
        st.warning(texts.t(lang, "link_problem", problems="; ".join(problems)))
    try:
        results(base, levers.value, lang)
    finally:
        with controls:
            lever_widgets(levers.value, lang, base.scenario.currency, P)


def load_base(preset: str, linked_source: str | None, lang: str) -> S.Base | None:
    """The preset, or the uploaded scenario (from the uploader, or the link's `linked_source`); errors
    shown in the page."""
    if preset != S.UPLOAD:
        return S.Base(preset, presets().scenarios[preset])
    upload = st.file_uploader(texts.t(lang, "upload"), type=["toml"], key="upload_file")
    try:
        if upload is not None:
            sc = S.scenario_from_upload(upload.name, upload.getvalue())
            return S.Base(preset, sc, S.pack_source(sc.to_toml()))
        packed = linked_source or st.session_state.get("source")
        if packed:
            sc = S.unpack_source(packed)
            st.session_state["source"] = packed
            return S.Base(preset, sc, packed)
    except sim.ScenarioError as exc:
        st.error(str(exc))
        return None
    st.info(texts.t(lang, "upload_prompt"))
    return None


def results(base: S.Base, levers: S.Levers, lang: str) -> None:
    """Tiles, the cash curve with its band, downloads and the tabs; the link kept in step."""
    from sim.app import views
    from sim.app.band import BandKey, JobState
    from sim.report import charts

    ss = st.session_state
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    labels = tab_labels(lang)
    try:
        built = S.build_whatif(levers.switched, levers.specs, levers.values)
    except sim.ScenarioError as exc:
        st.error(t("invalid", error=exc))
        sync_link(S.link_view(ss, base, levers.switches))
        return
    view = S.link_view(ss, base, levers.switches, built)
    sync_link(view)
    sc = built.scenario
    try:
        whatif = sim.expected(sc)
        loaded = expected_of(base.scenario.to_toml())
    except MODEL_ERRORS as exc:
        st.error(t("model_failed", error=exc))
        return
    currency = sc.currency
    st.markdown(views.scenario_line(sc, lang))

    tiles = views.tiles(whatif.kpi, loaded.kpi, currency, lang)
    for row in (tiles[:4], tiles[4:]):
        for col, tile in zip(st.columns(4), row, strict=True):
            col.metric(
                tile.label,
                tile.value,
                delta=tile.delta,
                delta_color=tile.color,
                delta_arrow=tile.arrow,
                help=tile.help,
                border=True,
            )
    st.caption(t("vs_preset"))

    band: Band | None = None
    status: Status | None = None
    if view.replications > 0:
        key = BandKey(sc.to_toml(), view.replications, view.seed)
        status = band_runner().request(*key, owner=ss["owner"])
        if status.state == JobState.DONE:
            band = band_of(*key)
    frame = views.cash_frame(whatif, loaded, band.frame if band else None)
    st.altair_chart(charts.cash_chart(frame, whatif.kpi["break_even_month"], currency, lang))
    if band is not None:
        st.caption(views.band_caption(band, lang))
    elif status is not None and status.state == JobState.FAILED:
        st.warning(t("band_failed", error=status.error))
    elif status is not None:
        band_progress(key, ss["owner"], lang)
    else:
        st.caption(t("band_off"))

    downloads(sc, whatif, loaded, frame, lang)
    st.caption(t("share_hint"))
    for tab_id, tab in zip(S.TABS, st.tabs(labels, key="tab", on_change="rerun"), strict=True):
        with tab:
            if tab.open:
                show_tab(tab_id, sc, whatif, levers.specs, lang)


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


def lever_widgets(levers: S.Levers, lang: str, currency: str, P: S.Presets) -> None:
    """Switches, the lever groups and the Monte Carlo settings (their values were read before)."""
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    donors = P.donors()
    st.subheader(t("switches"))
    for part in S.SWITCHES:
        donor = donors.get(part)
        st.toggle(
            t(f"sw_{part}"),
            key=S.switch_key(levers.base_id, part),
            disabled=donor is None and not levers.switches[part],
            help=t("sw_help", donor=P.scenarios[donor.stem].name) if donor else None,
        )
    st.subheader(t("levers"))
    for group in GROUPS:
        group_specs = [s for s in levers.specs if s.group == group]
        if not group_specs:
            continue
        with st.expander(t(f"g_{group}"), expanded=group in ("Attract", "Keep")):
            for spec in group_specs:
                widget = S.widget(spec, levers.defaults[spec.path], lang, currency)
                lever_widget(widget, S.lever_key(levers.base_id, spec.path))
    with st.expander(t("monte_carlo")):
        st.number_input(t("replications"), 0, S.MAX_REPLICATIONS, step=1, key="reps")
        st.number_input(t("seed"), 0, 2**31 - 1, step=1, key="seed")
        st.caption(t("mc_help"))


def lever_widget(w: S.Widget, key: str) -> None:
    """One lever: a slider or a number box."""
    if w.slider:
        st.slider(w.label, min_value=w.low, max_value=w.high, step=w.step, key=key, format=w.format)
    else:
        st.number_input(
            w.label,
            min_value=w.low,
            max_value=w.high,
            step=w.step,
            key=key,
            format=w.format,
            placeholder=w.placeholder,
        )


def downloads(
    sc: sim.Scenario, whatif: sim.ExpectedResult, loaded: sim.ExpectedResult, frame: pd.DataFrame, lang: str
) -> None:
    """Scenario TOML, monthly results (CSV, XLSX) and the chart's data; files are built on click."""
    from sim.app import views

    stem = views.file_stem(sc.name)
    cols = st.columns(4)
    cols[0].download_button(
        texts.t(lang, "dl_scenario"), sc.to_toml(), f"{stem}.toml", "application/toml", key="dl_toml"
    )
    cols[1].download_button(
        texts.t(lang, "dl_csv"),
        lambda: views.monthly_table(whatif, loaded).to_csv(index=False),
        f"{stem}_monthly.csv",
        "text/csv",
        key="dl_csv",
    )
    cols[2].download_button(
        texts.t(lang, "dl_xlsx"),
        lambda: views.workbook(whatif, loaded, frame),
        f"{stem}_monthly.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="dl_xlsx",
    )
    cols[3].download_button(
        texts.t(lang, "dl_chart"),
        lambda: frame.to_csv(index=False),
        f"{stem}_cumulative_cash.csv",
        "text/csv",
        key="dl_chart",
    )


def show_tab(
    tab_id: str, sc: sim.Scenario, result: sim.ExpectedResult, specs: list[S.FieldSpec], lang: str
) -> None:
    """The open tab's content (only the open tab is computed)."""
    from sim.app import answers, views
    from sim.report import charts

    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    cur = sc.currency
    toml = sc.to_toml()
    try:
        if tab_id == "flow":
            st.altair_chart(charts.cash_flow_chart(views.components_frame(result), cur, lang))
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
        elif tab_id == "desk":
            if sc.sales_desk is None:
                st.info(t("desk_off"))
            else:
                curve = desk_of(toml)
                st.altair_chart(charts.desk_chart(curve, sc.sales_desk.staff, lang), width="content")
        elif tab_id == "programme":
            if sc.service_programme is None:
                st.info(t("programme_off"))
            else:
                pv = programme_of(toml)
                st.altair_chart(charts.programme_chart(pv, cur, lang))
                st.markdown(answers.programme_verdict(pv, cur, lang))
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


# Streamlit runs the page as __main__; the Monte Carlo worker process imports it as __mp_main__.
if __name__ == "__main__":
    main()
