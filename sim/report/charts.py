"""Chart builders: plain functions from results to Altair charts (no Streamlit, testable anywhere).

Builders for the app take the page's language and the scenario's currency; their words come from
`sim.report.texts`, and a Vega-Lite locale formats numbers as the page does (`2 250 ₽`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import altair as alt
import numpy as np
import pandas as pd

from sim.accounting.ledger import CASH_COMPONENTS, NEVER_KPIS
from sim.decisions.programme import ProgrammeValue
from sim.report import texts

WHATIF_COLOR = "#1f77b4"
PRESET_COLOR = "#7f7f7f"
BAND_COLOR = "#9ecae1"
ZERO_COLOR = "#444444"
MARK_COLOR = "#d62728"
COMPONENT_COLORS = {
    "margin_first_sale": "#1f77b4",
    "margin_repeat": "#6baed6",
    "margin_referral_sale": "#2ca02c",
    "lead_spend": "#d62728",
    "staff_cost": "#ff7f0e",
    "programme_cost": "#9467bd",
    "problem_cost": "#8c564b",
    "referral_bonus": "#e377c2",
}
"""Margins in blues and green (up), costs in warm colours (down); stacked in this order."""
assert COMPONENT_COLORS.keys() == CASH_COMPONENTS.keys(), "a colour for every cash-flow component"


def tornado_chart(table: pd.DataFrame, metric: str, title: str | None = None) -> alt.Chart:
    """The sensitivity tornado: for each lever, a bar from the metric at the lever's low value to the
    metric at its high value, around the base value; the largest swing on top."""
    return _tornado(
        table,
        axis_title=metric.replace("_", " "),
        title=title or f"Which lever moves {metric.replace('_', ' ')}?",
        side_words=("lever low", "lever high"),
        legend="lever moved",
        never="never",
        fmt=lambda v: f"{v:,.4g}",
        labels=None,
    )


def _tornado(
    table: pd.DataFrame,
    axis_title: str,
    title: str,
    side_words: tuple[str, str],
    legend: str,
    never: str,
    fmt: Callable[[float], str],
    labels: Mapping[str, str] | None,
    never_at: float | None = None,
    width: int | None = 480,
) -> alt.Chart:
    """The tornado's layers; `never_at` (if given) is where "never" is drawn (one month past the horizon)."""
    if table.empty:
        return alt.Chart(pd.DataFrame({"x": []})).mark_bar()
    base = float(table["metric_base"].iloc[0])
    if never_at is not None and math.isnan(base):
        base = never_at
    rows = []
    for _, r in table.iterrows():
        label = labels.get(r["lever"], r["label"]) if labels else r["label"]
        for side, word in zip(("low", "high"), side_words, strict=True):
            v = r[f"metric_{side}"]
            rows.append(
                {
                    "label": label,
                    "side": f"{word} ({r[side]:,.4g})"
                    if labels is None
                    else f"{word} ({fmt_lever(r[side])})",
                    "end": "low" if side == "low" else "high",
                    "from": base,
                    "to": (never_at if never_at is not None else base) if pd.isna(v) else float(v),
                    "value": never if pd.isna(v) else fmt(float(v)),
                    "swing": r["swing"],
                }
            )
    data = pd.DataFrame(rows)
    order = list(dict.fromkeys(data["label"]))
    legend_kw, axis_kw, x_kw = {}, {}, {}
    if labels is not None:  # the app's tornado: ends named in the page's language, long lever names
        expr = f"datum.label == 'low' ? '{side_words[0]}' : '{side_words[1]}'"
        legend_kw["legend"] = alt.Legend(labelExpr=expr)
        axis_kw["axis"] = alt.Axis(labelLimit=320)
        x_kw["scale"] = alt.Scale(zero=False)
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=None, **axis_kw),
            x=alt.X("from:Q", title=axis_title, **x_kw),
            x2=alt.X2("to:Q"),
            color=alt.Color(
                "end:N",
                title=legend,
                scale=alt.Scale(domain=["low", "high"]),
                **legend_kw,
            ),
            tooltip=[
                alt.Tooltip("label"),
                alt.Tooltip("side"),
                alt.Tooltip("value"),
                alt.Tooltip("swing:Q", format=",.4g"),
            ],
        )
    )
    rule = alt.Chart(pd.DataFrame({"base": [base]})).mark_rule(color="black").encode(x=alt.X("base:Q"))
    layered = bars + rule
    return layered.properties(title=title, width=width) if width else layered.properties(title=title)


def fmt_lever(x: float) -> str:
    """A lever's value in a tooltip (4 significant digits, thin-space thousands)."""
    if not math.isfinite(x):
        return str(x)
    text = f"{x:,.4g}" if abs(x) < 1e15 else f"{x:.4g}"
    return text.replace(",", texts.THIN)


def _zero_rule() -> alt.Chart:
    return alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color=ZERO_COLOR).encode(y=alt.Y("y:Q"))


def _config(lang: str, currency: str) -> alt.Config:
    return alt.Config(locale=texts.vega_locale(lang, currency))


def _layered(layers: list[alt.Chart], title: str, height: int, lang: str, currency: str) -> alt.LayerChart:
    """A layered chart with its title and the page's number locale (built in one go: Altair's
    `.properties()` and `.configure()` copy and validate the whole chart each time)."""
    return alt.LayerChart(layer=layers, title=title, height=height, config=_config(lang, currency))


def _month_axis(lang: str, horizon: int) -> alt.Axis:
    step = 12 if horizon > 36 else (6 if horizon > 12 else 1)
    return alt.Axis(title=texts.t(lang, "month"), values=list(range(step, horizon + 1, step)) or [1])


def cash_chart(frame: pd.DataFrame, break_even: float, currency: str, lang: str) -> alt.LayerChart:
    """Cumulative cash by month: the what-if's expected curve, the preset as loaded (dashed), the Monte
    Carlo P10–P90 band when `frame` has it, the zero line and the break-even month, with tooltips.

    `frame` is `sim.app.views.cash_frame`'s table.
    """
    has_band = {"p10", "p90"} <= set(frame.columns)
    value_cols = ["whatif", "preset"] + (["p10", "p50", "p90"] if has_band else [])
    scale, unit = texts.scale_unit(frame[value_cols].to_numpy(), lang, currency)
    horizon = int(frame["month"].max()) if len(frame) else 1
    names = {
        "whatif": texts.t(lang, "series_whatif"),
        "preset": texts.t(lang, "series_preset"),
        "band": texts.t(lang, "series_band"),
    }
    domain = [names["whatif"], names["preset"]] + ([names["band"]] if has_band else [])
    colors = [WHATIF_COLOR, PRESET_COLOR] + ([BAND_COLOR] if has_band else [])
    color = alt.Color("series:N", title=None, scale=alt.Scale(domain=domain, range=colors))
    x = alt.X("month:Q", axis=_month_axis(lang, horizon), scale=alt.Scale(domain=[1, horizon], nice=False))

    y = alt.Y("y:Q", title=f"{texts.t(lang, 'cash_axis')}, {unit}", axis=alt.Axis(format=",~f"))
    lines = []
    for col, dash in (("preset", [6, 4]), ("whatif", [1, 0])):
        data = frame[["month", col]].dropna().rename(columns={col: "value"}).assign(series=names[col])
        data["y"] = data["value"] / scale
        lines.append(
            alt.Chart(data).mark_line(strokeWidth=2.5, strokeDash=dash).encode(x=x, y=y, color=color)
        )
    layers: list[alt.Chart] = []
    if has_band:
        band = frame[["month", "p10", "p90"]].dropna().assign(series=names["band"])
        band["lo"], band["hi"] = band["p10"] / scale, band["p90"] / scale
        layers.append(
            alt.Chart(band)
            .mark_area(opacity=0.45)
            .encode(x=x, y=alt.Y("lo:Q"), y2=alt.Y2("hi:Q"), color=color)
        )
    layers.extend(lines)
    layers.append(_zero_rule())
    if math.isfinite(break_even):
        mark = pd.DataFrame(
            {"month": [break_even], "label": [texts.t(lang, "break_even_at", n=int(break_even))]}
        )
        layers.append(
            alt.Chart(mark).mark_rule(color=MARK_COLOR, strokeDash=[4, 3]).encode(x=alt.X("month:Q"))
        )
        layers.append(
            alt.Chart(mark)
            .mark_text(align="left", dx=4, dy=-6, color=MARK_COLOR, fontWeight="bold")
            .encode(x=alt.X("month:Q"), y=alt.YValue(12), text=alt.Text("label:N"))
        )
    # Hover: an invisible bar over each month whose tooltip gives every value of that month.
    wide = frame.assign(m0=frame["month"] - 0.5, m1=frame["month"] + 0.5)
    tips = [alt.Tooltip("month:Q", title=texts.t(lang, "month"))]
    for col, title in (
        ("whatif", names["whatif"]),
        ("preset", names["preset"]),
        ("p10", "P10"),
        ("p50", "P50"),
        ("p90", "P90"),
    ):
        if col in wide:
            tips.append(alt.Tooltip(f"{col}:Q", title=title, format="$,.0f"))
    layers.append(
        alt.Chart(wide)
        .mark_bar(opacity=0.001, clip=True)
        .encode(x=alt.X("m0:Q"), x2=alt.X2("m1:Q"), tooltip=tips)
    )
    return _layered(layers, texts.t(lang, "cash_title"), 380, lang, currency)


def cash_flow_chart(frame: pd.DataFrame, currency: str, lang: str) -> alt.LayerChart:
    """Monthly cash flow by component as stacked bars (margins up, costs down) with net cash as a line.

    `frame` is `sim.app.views.components_frame`'s table; components that are zero every month are left out.
    """
    used = frame.groupby("component")["value"].apply(lambda v: bool(np.any(np.abs(v) > 0)))
    data = frame[frame["component"].map(used)].copy()
    scale, unit = texts.scale_unit(
        data.groupby("month")["value"].apply(lambda v: v.abs().sum()), lang, currency
    )
    data["label"] = data["component"].map(lambda c: texts.t(lang, f"c_{c}"))
    data["y"] = data["value"] / scale
    order = {name: i for i, name in enumerate(COMPONENT_COLORS)}
    data["order"] = data["component"].map(order)
    domain = [texts.t(lang, f"c_{c}") for c in COMPONENT_COLORS if used.get(c, False)]
    palette = [COMPONENT_COLORS[c] for c in COMPONENT_COLORS if used.get(c, False)]
    horizon = int(frame["month"].max()) if len(frame) else 1
    x = alt.X(
        "month:Q", axis=_month_axis(lang, horizon), scale=alt.Scale(domain=[0.5, horizon + 0.5], nice=False)
    )
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("sum(y):Q", title=f"{texts.t(lang, 'flow_axis')}, {unit}", axis=alt.Axis(format=",~f")),
            color=alt.Color(
                "label:N",
                title=texts.t(lang, "component"),
                sort=domain,
                scale=alt.Scale(domain=domain, range=palette),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("month:Q", title=texts.t(lang, "month")),
                alt.Tooltip("label:N", title=texts.t(lang, "component")),
                alt.Tooltip("value:Q", title=texts.t(lang, "value"), format="$,.0f"),
            ],
        )
    )
    net = frame.groupby("month", as_index=False)["value"].sum()
    net["y"] = net["value"] / scale
    line = (
        alt.Chart(net)
        .mark_line(color="black", strokeWidth=1.5)
        .encode(
            x=x,
            y=alt.Y("y:Q"),
            tooltip=[
                alt.Tooltip("month:Q", title=texts.t(lang, "month")),
                alt.Tooltip("value:Q", title=texts.t(lang, "net_cash"), format="$,.0f"),
            ],
        )
    )
    return _layered([bars, line], texts.t(lang, "flow_title"), 340, lang, currency)


def cohort_chart(frame: pd.DataFrame, currency: str, lang: str) -> alt.Chart:
    """Cohort payback heatmap: cohort (month of purchase) × months after the purchase, coloured by the
    cohort's cumulative margin ÷ its acquisition cost (green from 1: paid back).

    `frame` is `sim.app.views.cohort_frame`'s table: about H²/2 cells, past Altair's default limit of
    5 000 rows for a horizon over 99 months (Streamlit has no limit; to save the chart elsewhere, use
    `alt.data_transformers.disable_max_rows()`).
    """
    data = frame.copy()
    top = float(np.nanmax(data["ratio"])) if len(data) else 2.0
    horizon = int(data["cohort"].max() + data["age"].max()) if len(data) else 1
    chart = (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X(
                "age:O", title=texts.t(lang, "age_month"), axis=alt.Axis(values=list(range(0, horizon, 12)))
            ),
            y=alt.Y(
                "cohort:O",
                title=texts.t(lang, "cohort"),
                axis=alt.Axis(values=list(range(1, horizon + 1, 12))),
            ),
            color=alt.Color(
                "ratio:Q",
                title=texts.t(lang, "cohort_ratio"),
                scale=alt.Scale(
                    scheme="redyellowgreen", domain=[0.0, max(2.0, min(top, 4.0))], domainMid=1.0, clamp=True
                ),
            ),
            tooltip=[
                alt.Tooltip("cohort:O", title=texts.t(lang, "cohort")),
                alt.Tooltip("age:O", title=texts.t(lang, "age_month")),
                alt.Tooltip("margin:Q", title=texts.t(lang, "cohort_margin"), format="$,.0f"),
                alt.Tooltip("cost:Q", title=texts.t(lang, "cohort_cost"), format="$,.0f"),
                alt.Tooltip("ratio:Q", title=texts.t(lang, "cohort_ratio"), format=",.2f"),
            ],
        )
        .properties(title=texts.t(lang, "cohort_title"), height=420)
    )
    return chart.configure(locale=texts.vega_locale(lang, currency))


def sensitivity_chart(
    table: pd.DataFrame,
    metric: str,
    currency: str,
    lang: str,
    labels: Mapping[str, str] | None = None,
    horizon: int | None = None,
) -> alt.Chart:
    """The tornado in the page's language: `table` is `sim.sensitivity`'s, `labels` maps lever paths to
    the page's lever names; with `horizon`, "never" (break-even, payback) is drawn one month past it."""
    name = texts.t(lang, f"m_{metric}")
    chart = _tornado(
        table,
        axis_title=name,
        title=texts.t(lang, "sens_title", metric=name),
        side_words=(texts.t(lang, "lever_low"), texts.t(lang, "lever_high")),
        legend=texts.t(lang, "lever_moved"),
        never=texts.t(lang, "never"),
        fmt=lambda v: texts.format_kpi(metric, v, currency, lang),
        labels=labels or {},
        never_at=horizon + 1.0 if (horizon is not None and metric in NEVER_KPIS) else None,
        width=None,
    )
    return chart.configure(locale=texts.vega_locale(lang, currency))


def desk_chart(curve: pd.DataFrame, staff: int, lang: str) -> alt.HConcatChart:
    """The sales desk: lost-lead share and mean wait against salespeople, the current staff marked.

    `curve` is `sim.app.views.desk_curve`'s table.
    """
    x = alt.X("staff:Q", title=texts.t(lang, "staff"), axis=alt.Axis(tickMinStep=1, format="d"))
    lost_max = float(curve["lost_lead_share"].max()) if len(curve) else 0.0
    top = max(lost_max if math.isfinite(lost_max) else 0.0, 0.01)  # tiny shares show as 0 %, not noise
    now = pd.DataFrame({"staff": [staff], "label": [texts.t(lang, "current")]})
    rule = alt.Chart(now).mark_rule(color=MARK_COLOR, strokeDash=[4, 3]).encode(x=alt.X("staff:Q"))
    text = (
        alt.Chart(now)
        .mark_text(align="left", dx=4, color=MARK_COLOR, fontWeight="bold")
        .encode(x=alt.X("staff:Q"), y=alt.YValue(10), text=alt.Text("label:N"))
    )
    marks = rule + text
    tips = [
        alt.Tooltip("staff:Q", title=texts.t(lang, "staff")),
        alt.Tooltip("lost_lead_share:Q", title=texts.t(lang, "lost_share"), format=".2%"),
        alt.Tooltip("mean_wait_hours:Q", title=texts.t(lang, "mean_wait"), format=",.2f"),
    ]
    lost = (
        alt.Chart(curve)
        .mark_line(point=True, color=WHATIF_COLOR)
        .encode(
            x=x,
            y=alt.Y(
                "lost_lead_share:Q",
                title=texts.t(lang, "lost_share"),
                axis=alt.Axis(format=".1%"),
                scale=alt.Scale(domain=[0.0, top]),
            ),
            tooltip=tips,
        )
    )
    wait = (
        alt.Chart(curve)
        .mark_line(point=True, color="#ff7f0e")
        .encode(x=x, y=alt.Y("mean_wait_hours:Q", title=texts.t(lang, "mean_wait")), tooltip=tips)
    )
    chart = alt.hconcat(
        (lost + marks).properties(title=texts.t(lang, "desk_title_lost"), width=320, height=260),
        (wait + marks).properties(title=texts.t(lang, "desk_title_wait"), width=320, height=260),
    )
    return chart.configure(locale=texts.vega_locale(lang, ""))


def programme_chart(pv: ProgrammeValue, currency: str, lang: str) -> alt.LayerChart:
    """The service programme: net value a year against contacts a month, the current contacts and the
    optimum marked (`pv` is `sim.programme_value`'s result)."""
    curve = pv.curve
    scale, unit = texts.scale_unit(curve["net"].to_numpy(), lang, currency)
    data = curve.assign(y=curve["net"] / scale)
    x = alt.X("contacts_per_month:Q", title=texts.t(lang, "contacts"))
    tips = [
        alt.Tooltip("contacts_per_month:Q", title=texts.t(lang, "contacts"), format=",.2f"),
        alt.Tooltip("net:Q", title=texts.t(lang, "net_per_year"), format="$,.0f"),
    ]
    line = (
        alt.Chart(data)
        .mark_line(color=WHATIF_COLOR, strokeWidth=2.5)
        .encode(
            x=x,
            y=alt.Y("y:Q", title=f"{texts.t(lang, 'net_per_year')}, {unit}", axis=alt.Axis(format=",~f")),
            tooltip=tips,
        )
    )
    points = pd.DataFrame(
        {
            "contacts_per_month": [pv.contacts_per_month, pv.optimal_contacts_per_month],
            "net": [pv.net_per_year, pv.optimal_net_per_year],
            "label": [texts.t(lang, "current"), texts.t(lang, "optimum")],
        }
    )
    points["y"] = points["net"] / scale
    dots = (
        alt.Chart(points)
        .mark_point(size=120, filled=True)
        .encode(
            x=alt.X("contacts_per_month:Q"),
            y=alt.Y("y:Q"),
            color=alt.Color("label:N", title=None, scale=alt.Scale(range=[MARK_COLOR, "#2ca02c"])),
            tooltip=[alt.Tooltip("label:N", title=" "), *tips],
        )
    )
    labels = [  # "now" above its point, "optimum" below, so they do not overlap when the two coincide
        alt.Chart(points.iloc[[i]])
        .mark_text(align="left", dx=8, dy=dy)
        .encode(x=alt.X("contacts_per_month:Q"), y=alt.Y("y:Q"), text=alt.Text("label:N"))
        for i, dy in ((0, -10), (1, 14))
    ]
    return _layered(
        [_zero_rule(), line, dots, *labels], texts.t(lang, "programme_title"), 320, lang, currency
    )
