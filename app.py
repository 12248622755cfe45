"""The Streamlit app: an interactive what-if of a lead funnel with break-even curves.

    ./dev app                 # or: streamlit run app.py

Layout and widgets only: the state lives in `sim.app.state` (presets, switches, levers, the link), the
figures in `sim.app.views`, the charts in `sim.report.charts`, the words in `sim.report.texts` and the
Monte Carlo band in `sim.app.band` (a background process). The results are drawn before the lever widgets
(their values are read from the session state first), so the tiles and the curve appear as soon as possible.
"""

from __future__ import annotations

import atexit
import hashlib
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

import sim
from sim.app import state as S
from sim.model import paths
from sim.model.levers import GROUPS
from sim.report import texts

# Start-up: `import sim` and the modules above are light (no numpy, pandas, Altair, SciPy or the engine), so
# the first run of a new server sends the page's frame (sidebar, title) at once and the browser renders it
# while the figures (`sim.app.views`: numpy, pandas) and the charts (`sim.report.charts`: Altair) are
# imported by the functions that draw them; the Monte Carlo band (`sim.app.band`: the engine) is imported
# when a band is asked for.
if TYPE_CHECKING:
    import pandas as pd

    from sim.app.band import Band, BandRunner, Status
    from sim.decisions.programme import ProgrammeValue

ROOT = Path(__file__).resolve().parent
SCENARIOS = ROOT / "scenarios"
DEFAULT_MAX_LOST = (
    0.05  # answers: the lost-lead share the desk should stay within, unless the user sets another
)
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
def answers_of(toml: str, by_month: int, max_lost: float) -> dict[str, Any]:
    """The goal-seek answers."""
    from sim.app import views

    return views.answer_numbers(sim.loads_scenario(toml, "app"), by_month, max_lost)


# --- state ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Levers:
    """The scenario as the widgets set it: the base, its switched parts and the lever fields."""

    base_id: str
    switches: dict[str, bool]
    switched: sim.Scenario
    specs: list[S.FieldSpec]
    values: dict[str, Any]
    """Widget values by lever path (widget units)."""
    defaults: dict[str, Any]
    """The switched scenario's values by lever path (widget units)."""


def restore(P: S.Presets) -> tuple[bool, S.View, list[str]]:
    """On a session's first run, the link's settings into the session state."""
    ss = st.session_state
    if "restored" in ss:
        return False, S.View(), []
    link, problems = S.decode_view(st.query_params.to_dict(), set(P.scenarios))
    ss["restored"] = True
    ss["owner"] = uuid.uuid4().hex
    ss["lang"], ss["preset"] = link.lang, link.preset
    ss["reps"], ss["seed"] = link.replications, link.seed
    ss["metric"] = link.metric
    ss["tab"] = texts.t(link.lang, f"tab_{link.tab}")
    if link.max_lost is not None:
        ss["lost"] = 100.0 * link.max_lost
    if link.by_month is not None:
        ss["by"] = link.by_month
    return True, link, problems


def lever_state(
    base: sim.Scenario, base_id: str, P: S.Presets, link: S.View | None
) -> tuple[Levers, list[str]]:
    """Switches and lever values from the session state (initialised from the scenario, or the link)."""
    ss = st.session_state
    donors = P.donors()
    switches = {}
    for part in S.SWITCHES:
        key = f"sw|{base_id}|{part}"
        if key not in ss:
            own = S.has_part(base, part)
            ss[key] = link.switches.get(part, own) if link else own
            if ss[key] and not own and part not in donors:
                ss[key] = False
        switches[part] = bool(ss[key])
    switched = S.apply_switches(base, switches, donors)
    specs = S.fields(switched)
    from_link, problems = S.check_values(specs, link.values) if link else ({}, [])
    values, defaults = {}, {}
    for spec in specs:
        key = f"v|{base_id}|{spec.path}"
        defaults[spec.path] = spec.to_widget(paths.get(switched, spec.path))
        if key not in ss:
            ss[key] = spec.to_widget(from_link[spec.path]) if spec.path in from_link else defaults[spec.path]
        values[spec.path] = ss[key]
    return Levers(base_id, switches, switched, specs, values, defaults), problems


def tab_labels(lang: str) -> list[str]:
    """The tabs' labels in `lang`; the open tab survives a language switch."""
    labels = [texts.t(lang, f"tab_{k}") for k in S.TABS]
    current = st.session_state.get("tab")
    if current is not None and current not in labels:
        for other in texts.LANGS:
            names = [texts.t(other, f"tab_{k}") for k in S.TABS]
            if current in names:
                st.session_state["tab"] = labels[names.index(current)]
                break
    return labels


def sync_link(view: S.View) -> None:
    """Keep the address bar's query parameters equal to the view."""
    params = S.encode_view(view)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


# --- the page ---------------------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title="Lead funnel what-if", page_icon="📈", layout="wide")
    P = presets()
    restoring, link, link_problems = restore(P)

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
            format_func=lambda k: P.scenarios[k].name if k in P.scenarios else texts.t(lang, "upload_option"),
            key="preset",
        )
        base, source = load_base(preset, link, lang)
        controls = st.container()  # switches and levers: filled after the results are drawn

    st.title(texts.t(lang, "title"))
    st.caption(texts.t(lang, "intro"))
    for stem, error in P.errors.items():
        st.warning(f"{stem}.toml: {error}")
    if base is None:
        sync_link(S.View(preset=preset, lang=lang))
        return
    base_id = preset if preset != S.UPLOAD else "u" + hashlib.sha1((source or "").encode()).hexdigest()[:10]
    try:
        levers, problems = lever_state(base, base_id, P, link if restoring else None)
    except sim.ScenarioError as exc:
        st.error(texts.t(lang, "invalid", error=exc))
        return
    if link_problems or problems:
        st.warning(texts.t(lang, "link_problem", problems="; ".join(link_problems + problems)))
    try:
        results(base, source, levers, lang, restoring, link)
    finally:
        with controls:
            lever_widgets(levers, lang, base.currency, P)


def load_base(preset: str, link: S.View, lang: str) -> tuple[sim.Scenario | None, str | None]:
    """The preset, or the uploaded scenario (from the uploader or the link); errors shown in the page."""
    if preset != S.UPLOAD:
        return presets().scenarios[preset], None
    upload = st.file_uploader(texts.t(lang, "upload"), type=["toml"], key="upload_file")
    try:
        if upload is not None:
            sc = S.scenario_from_upload(upload.name, upload.getvalue())
            return sc, S.pack_source(sc.to_toml())
        packed = link.source or st.session_state.get("source")
        if packed:
            sc = S.unpack_source(packed)
            st.session_state["source"] = packed
            return sc, packed
    except sim.ScenarioError as exc:
        st.error(str(exc))
        return None, None
    st.info(texts.t(lang, "upload_prompt"))
    return None, None


def results(
    base: sim.Scenario, source: str | None, levers: Levers, lang: str, restoring: bool, link: S.View
) -> None:
    """Tiles, the cash curve with its band, downloads and the tabs; the link kept in step."""
    from sim.app import views
    from sim.report import charts

    ss = st.session_state
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    replications, seed = int(ss.get("reps", S.DEFAULT_REPLICATIONS)), int(ss.get("seed", S.DEFAULT_SEED))
    labels = tab_labels(lang)
    view = S.View(
        preset=ss["preset"],
        source=source,
        lang=lang,
        switches={p: on for p, on in levers.switches.items() if on != S.has_part(base, p)},
        replications=replications,
        seed=seed,
        tab=S.TABS[labels.index(ss["tab"])] if ss.get("tab") in labels else S.TABS[0],
        metric=ss.get("metric", S.SENSITIVITY_METRICS[0]),
    )
    try:
        sc, changes = S.build_whatif(levers.switched, levers.specs, levers.values)
    except sim.ScenarioError as exc:
        st.error(t("invalid", error=exc))
        sync_link(view)
        return
    half = sc.horizon_months // 2
    by, lost = ss.get("by", half), ss.get("lost", 100.0 * DEFAULT_MAX_LOST)
    sync_link(
        replace(
            view,
            values=changes,
            by_month=by if by != half else None,
            max_lost=lost / 100.0 if lost != 100.0 * DEFAULT_MAX_LOST else None,
        )
    )
    try:
        whatif = sim.expected(sc)
        loaded = expected_of(base.to_toml())
    except MODEL_ERRORS as exc:
        st.error(t("model_failed", error=exc))
        return
    currency = sc.currency
    shown = f"{currency} ({texts.symbol(currency)})" if texts.symbol(currency) != currency else currency
    st.markdown(t("scenario_is", name=sc.name, horizon=sc.horizon_months, currency=shown))

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

    toml = sc.to_toml()
    band: Band | None = None
    status: Status | None = None
    if replications > 0:
        status = band_runner().request(toml, replications, seed, ss["owner"])
        if status.state == "done":
            band = band_of(toml, replications, seed)
    frame = views.cash_frame(whatif, loaded, band.frame if band else None)
    st.altair_chart(charts.cash_chart(frame, whatif.kpi["break_even_month"], currency, lang))
    if band is not None:
        st.caption(
            t(
                "band_ready",
                reps=band.replications,
                seed=band.seed,
                seconds=texts.number(band.seconds, lang, 1),
                p=texts.percent(band.p_break_even, lang, 0),
                median=texts.month(band.break_even_p50, lang),
            )
        )
    elif status is not None and status.state == "failed":
        st.warning(t("band_failed", error=status.error))
    elif status is not None:
        band_progress((toml, replications, seed), ss["owner"], lang)
    else:
        st.caption(t("band_off"))

    downloads(sc, whatif, loaded, frame, lang)
    st.caption(t("share_hint"))
    for tab_id, tab in zip(S.TABS, st.tabs(labels, key="tab", on_change="rerun"), strict=True):
        with tab:
            if tab.open:
                show_tab(tab_id, sc, whatif, levers.specs, lang)


def band_progress(key: tuple[str, int, int], owner: str, lang: str) -> None:
    """A progress bar that polls the background job (each second: a poll is a fragment rerun, which the
    browser redraws) and reruns the page when the band is ready."""

    @st.fragment(run_every=1.0)
    def poll() -> None:
        s = band_runner().request(*key, owner=owner)
        if s.state in ("done", "failed"):
            st.rerun()
        if s.state == "running":
            text = texts.t(lang, "band_running", done=s.done, total=s.total)
        else:
            text = texts.t(lang, "band_queued")
        st.progress(s.done / max(s.total, 1), text=text)

    poll()


def lever_widgets(levers: Levers, lang: str, currency: str, P: S.Presets) -> None:
    """Switches, the lever groups and the Monte Carlo settings (their values were read before)."""
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    donors = P.donors()
    st.subheader(t("switches"))
    for part in S.SWITCHES:
        donor = donors.get(part)
        st.toggle(
            t(f"sw_{part}"),
            key=f"sw|{levers.base_id}|{part}",
            disabled=donor is None and not levers.switches[part],
            help=t("sw_help", donor=P.scenarios[donor[0]].name) if donor else None,
        )
    st.subheader(t("levers"))
    for group in GROUPS:
        group_specs = [s for s in levers.specs if s.group == group]
        if not group_specs:
            continue
        with st.expander(t(f"g_{group}"), expanded=group in ("Attract", "Keep")):
            for spec in group_specs:
                lever_widget(
                    spec, f"v|{levers.base_id}|{spec.path}", levers.defaults[spec.path], lang, currency
                )
    with st.expander(t("monte_carlo")):
        st.number_input(t("replications"), 0, S.MAX_REPLICATIONS, step=1, key="reps")
        st.number_input(t("seed"), 0, 2**31 - 1, step=1, key="seed")
        st.caption(t("mc_help"))


def lever_widget(spec: S.FieldSpec, key: str, default: float | int | None, lang: str, currency: str) -> None:
    """One lever: a slider for shares and short ranges, else a number box; bounds from the model."""
    label = f"{texts.field_label(lang, spec.key, spec.name)}, {texts.unit_label(lang, spec.unit, currency)}"
    if spec.integer:
        low, high, step, fmt = int(spec.widget_low), int(spec.widget_high), 1, "%d"
    else:
        low = spec.widget_low if default is None else min(spec.widget_low, float(default))
        high, step, fmt = spec.widget_high, spec.step, f"%.{spec.decimals}f"
    if spec.slider:
        st.slider(label, min_value=low, max_value=high, step=step, key=key, format=fmt)
    else:
        st.number_input(
            label,
            min_value=low,
            max_value=high,
            step=step,
            key=key,
            format=fmt,
            placeholder=texts.t(lang, "patience_none") if spec.optional else None,
        )


def downloads(
    sc: sim.Scenario, whatif: sim.ExpectedResult, loaded: sim.ExpectedResult, frame: pd.DataFrame, lang: str
) -> None:
    """Scenario TOML, monthly results (CSV, XLSX) and the chart's data; files are built on click."""
    from sim.app import views

    stem = "".join(c if c.isalnum() else "_" for c in sc.name.lower()).strip("_") or "scenario"

    def monthly() -> pd.DataFrame:
        return views.monthly_table(whatif, loaded)

    def workbook() -> bytes:
        kpis = views.kpi_table(whatif, loaded)
        return views.xlsx_bytes({"monthly": monthly(), "kpis": kpis, "cumulative_cash": frame})

    cols = st.columns(4)
    cols[0].download_button(
        texts.t(lang, "dl_scenario"), sc.to_toml(), f"{stem}.toml", "application/toml", key="dl_toml"
    )
    cols[1].download_button(
        texts.t(lang, "dl_csv"),
        lambda: monthly().to_csv(index=False),
        f"{stem}_monthly.csv",
        "text/csv",
        key="dl_csv",
    )
    cols[2].download_button(
        texts.t(lang, "dl_xlsx"),
        workbook,
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
    from sim.app import views
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
            labels = {s.path: texts.field_label(lang, s.key, s.name) for s in specs}
            table = sensitivity_of(toml, metric)
            chart = charts.sensitivity_chart(table, metric, cur, lang, labels, sc.horizon_months)
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
                numbers = {"programme": ("value", pv, None)}
                st.markdown(views.programme_text(numbers, sc, lang))
        elif tab_id == "answers":
            ss = st.session_state
            ss["by"] = min(int(ss.get("by", sc.horizon_months // 2)), sc.horizon_months)
            ss.setdefault("lost", 100.0 * DEFAULT_MAX_LOST)
            c1, c2 = st.columns(2)
            by = c1.number_input(
                t("answers_by"), 1, sc.horizon_months, step=1, key="by", persist_state="session"
            )
            lost = c2.number_input(
                t("answers_lost"), 0.1, 99.9, step=0.5, key="lost", format="%.1f", persist_state="session"
            )
            numbers = answers_of(toml, int(by), float(lost) / 100.0)
            for question, answer in views.answer_texts(numbers, sc, lang, int(by), float(lost) / 100.0):
                st.markdown(f"**{question}**  \n{answer}")
    except MODEL_ERRORS as exc:
        st.error(t("model_failed", error=exc))


# Streamlit runs the page as __main__; the Monte Carlo worker process imports it as __mp_main__.
if __name__ == "__main__":
    main()
