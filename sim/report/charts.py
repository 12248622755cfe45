"""Chart builders: plain functions from results to Altair charts (no Streamlit, testable anywhere).

Builders for the app take the page's language and the scenario's currency; their words come from
`sim.report.texts`, and a Vega-Lite locale formats numbers as the page does (`2 250 ₽`).

Every chart reads on a phone as on a desktop: its width follows the container (`autosize` fit-x, the
height is the plot's), legends sit under the plot, long horizons are ticked in years, and a few settings
switch on the container's width in the browser (`PHONE`: long titles wrap, lever names are cut shorter).
Every mark says what it shows on hover in the page's language (money with its currency, months), or is
silent: none shows raw field names.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
OPTIMUM_COLOR = "#2ca02c"
PAYBACK_COLOR = "#111111"
PIN_COLORS = ("#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")
"""The pinned what-ifs' lines on the cash chart, in the order they were pinned (none is the what-if's blue,
the preset's grey, the band's light blue or the break-even mark's red)."""
PIN_DASH = [10, 4]
"""The pins' lines: long dashes, unlike the preset's short ones."""
COMPONENT_COLORS = {
    "margin_first_sale": "#1f77b4",
    "margin_repeat": "#6baed6",
    "margin_referral_sale": "#2ca02c",
    "referral_bonus": "#6a1b9a",
    "lead_spend": "#e8564a",
    "staff_cost": "#ff7f0e",
    "programme_cost": "#b39ddb",
    "problem_cost": "#8c564b",
}
"""Margins in blues and green (up), costs below zero; stacked from zero outwards in this order, so the
small referral bonus sits right under the zero line, dark against the light red of the lead spend."""
assert COMPONENT_COLORS.keys() == CASH_COMPONENTS.keys(), "a colour for every cash-flow component"

COHORT_COLORS = ("#b2182b", "#ef8a62", "#f7f7f7", "#7fbf7b", "#1b7837")
"""The cohort heatmap's diverging colours at margin ÷ cost = ¼, ½, 1, 2, 4 (white: just paid back)."""
COHORT_STOPS = (0.25, 0.5, 1.0, 2.0, 4.0)

SPACE = "(containerSize()[0] || (width + 80))"
"""A Vega expression: the width the chart has, in px (its container's in a page; without a container, as in
vl-convert, its plot's width plus room for the y axis)."""
PHONE = f"{SPACE} < 560"
"""A Vega expression, true when the chart is phone-narrow (a phone's container is about 360 px wide)."""
PHONE_TITLE_CHARS = 36
"""A title longer than this is wrapped into lines of at most this many characters on a phone."""
SUBTITLE_CHARS = 56
"""Subtitles (notes under the title) are wrapped at this many characters, which fit a phone."""
LEGEND_COLUMN = 200
"""Width of one legend column in px: the legend under the plot has as many columns as fit (one on a
phone, where a label may take the whole width)."""


# --- shared pieces ------------------------------------------------------------------------------------


def _wrap(text: str, width: int) -> list[str]:
    """`text` as lines of at most `width` characters, broken at spaces (a longer word keeps its line)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _title(text: str, notes: Sequence[str] = ()) -> alt.TitleParams:
    """A chart's title (wrapped on a phone) and its notes as a subtitle under it."""
    lines = _wrap(text, PHONE_TITLE_CHARS)
    shown: Any = text
    if len(lines) > 1:
        phone, desktop = json.dumps(lines, ensure_ascii=False), json.dumps(text, ensure_ascii=False)
        shown = alt.ExprRef(f"{PHONE} ? {phone} : {desktop}")
    sub = [line for note in notes if note for line in _wrap(note, SUBTITLE_CHARS)]
    return alt.TitleParams(shown, subtitle=sub or alt.Undefined, anchor="start", subtitlePadding=6)


def _legend(**kw: Any) -> alt.Legend:
    """A legend under the plot, in as many columns as the container's width holds."""
    columns = alt.ExprRef(f"max(1, floor(({SPACE} - 20) / {LEGEND_COLUMN}))")
    kw.setdefault("title", None)
    limit = alt.ExprRef(f"{PHONE} ? 300 : {LEGEND_COLUMN - 24}")
    return alt.Legend(orient="bottom", direction="horizontal", columns=columns, labelLimit=limit, **kw)


def _config(lang: str, currency: str) -> alt.Config:
    """The page's number locale; several legends under a plot are stacked, each starting at the left."""
    layout = alt.ExprRef("{bottom: {direction: 'vertical', anchor: 'start', margin: 4}}")
    return alt.Config(locale=texts.vega_locale(lang, currency), legend=alt.LegendConfig(layout=layout))


def _layered(
    layers: list[alt.Chart], title: alt.TitleParams, height: Any, lang: str, currency: str
) -> alt.LayerChart:
    """A layered chart with its title, the page's number locale and the container's width (`height` is the
    plot's; built in one go: Altair's `.properties()` and `.configure()` copy and validate the whole chart
    each time)."""
    return alt.LayerChart(
        layer=layers, title=title, height=height, config=_config(lang, currency), **_width(None)
    )


def _zero_rule() -> alt.Chart:
    return (
        alt.Chart(pd.DataFrame({"y": [0.0]}))
        .mark_rule(color=ZERO_COLOR, tooltip=False, aria=False)
        .encode(y=alt.Y("y:Q"))
    )


def _month_axis(
    lang: str,
    horizon: int,
    title_key: str = "month",
    years_key: str = "ch_years",
    dates: Sequence[dt.date] | None = None,
) -> alt.Axis:
    """Months on the x axis: every month up to a year, every 6 months up to four years, then every 12
    months labelled in years (`1`, `2`, … under the title "Years from the start"). With `dates` (the first
    day of each month 1 … horizon) the months are labelled by the calendar: each January by its year past
    four years, else January and July (every month up to a year) as `Jan 2027` / `янв 2027`."""
    if dates:
        return _calendar_axis(lang, horizon, list(dates))
    if horizon > 48:
        return alt.Axis(
            title=texts.t(lang, years_key),
            values=list(range(12, horizon + 1, 12)),
            labelExpr="datum.value / 12",
            labelOverlap=True,
        )
    step = 6 if horizon > 12 else 1
    return alt.Axis(title=texts.t(lang, title_key), values=list(range(step, horizon + 1, step)) or [1])


def _calendar_axis(lang: str, horizon: int, dates: list[dt.date]) -> alt.Axis:
    """The month axis labelled by the calendar (see `_month_axis`): ticks at month numbers, their labels
    the calendar months (an array indexed by the month in a Vega expression)."""
    shown = dates[:horizon]
    if horizon > 48:
        ticks = [m for m, d in enumerate(shown, start=1) if d.month == 1] or [1]
        labels = {m: str(shown[m - 1].year) for m in ticks}
        title = texts.t(lang, "ch_year")
    else:
        months = range(1, 13) if horizon <= 12 else (1, 7)
        ticks = [m for m, d in enumerate(shown, start=1) if d.month in months or horizon <= 12]
        labels = {m: texts.calendar_month(shown[m - 1], lang, short=True) for m in ticks}
        title = texts.t(lang, "month")
    table = [labels.get(m, "") for m in range(horizon + 1)]
    expr = f"{json.dumps(table, ensure_ascii=False)}[datum.value] || ''"
    return alt.Axis(title=title, values=ticks, labelExpr=expr, labelOverlap=True)


def frame_dates(frame: pd.DataFrame) -> list[dt.date] | None:
    """The `date` column of a monthly frame (one row per month) as dates, or None without one."""
    if "date" not in frame.columns:
        return None
    return [pd.Timestamp(d).date() for d in frame["date"]]


def _date_texts(dates: Sequence[dt.date] | None, lang: str) -> list[str] | None:
    """Calendar months for tooltips (`March 2027` / `март 2027`), or None without dates."""
    return None if dates is None else [texts.calendar_month(d, lang) for d in dates]


def _money_scale(values: Any, lang: str, currency: str) -> tuple[float, str]:
    """The scale and unit of a money axis: the largest unit the figures reach (`2.4 M ₽`, not `2 400 k ₽`;
    `texts.scale_unit` waits for ten of a unit, which suits tables better than axes)."""
    return texts.scale_unit(10.0 * np.asarray(values, dtype=float), lang, currency)


def _money_texts(values: Any, currency: str, lang: str) -> list[str]:
    """Amounts as the page shows them, for tooltips (`−15.7 M ₽`, `2 250 ₽`, `—`)."""
    return [texts.money(float(v), currency, lang, short=True) for v in np.asarray(values, dtype=float)]


def _numbers(values: Any, lang: str, decimals: int = 0) -> list[str]:
    return [texts.number(float(v), lang, decimals) for v in np.asarray(values, dtype=float)]


def _tip(field: str, title: str) -> alt.Tooltip:
    """A tooltip line: a field holding text formatted in Python, under a title in the page's language."""
    return alt.Tooltip(f"{field}:N", title=title)


def fmt_lever(x: float) -> str:
    """A lever's value in a tooltip (4 significant digits, thin-space thousands)."""
    if not math.isfinite(x):
        return str(x)
    text = f"{x:,.4g}" if abs(x) < 1e15 else f"{x:.4g}"
    return text.replace(",", texts.THIN)


# --- cumulative cash ----------------------------------------------------------------------------------


def cash_chart(
    frame: pd.DataFrame,
    break_even: float,
    currency: str,
    lang: str,
    pins: pd.DataFrame | None = None,
) -> alt.LayerChart:
    """Cumulative cash by month: the what-if's expected curve, the preset as loaded (dashed), the pinned
    what-ifs' curves when `pins` has them (each a line of its own colour, named in the legend), the Monte
    Carlo P10–P90 band when `frame` has it, the zero line and the break-even month; hovering a month shows
    each curve's value that month.

    `frame` is `sim.report.frames.cash_frame`'s table (month, whatif, preset[, mean, p10, p50, p90]);
    `pins` is `sim.app.views.pins_frame`'s (month, name, value; at most len(PIN_COLORS) names).
    """
    has_band = {"p10", "p90"} <= set(frame.columns)
    value_cols = ["whatif", "preset"] + (["p10", "p50", "p90"] if has_band else [])
    pinned = pins if pins is not None and len(pins) else None
    pin_names: list[str] = list(dict.fromkeys(pinned["name"])) if pinned is not None else []
    if len(pin_names) > len(PIN_COLORS):
        raise ValueError(f"pins: {len(pin_names)} what-ifs, at most {len(PIN_COLORS)} can be drawn")
    values = frame[value_cols].to_numpy().ravel()
    if pinned is not None:
        values = np.concatenate([values, pinned["value"].to_numpy(dtype=float)])
    scale, unit = _money_scale(values, lang, currency)
    horizon = int(frame["month"].max()) if len(frame) else 1
    dates = frame_dates(frame)
    names = {
        "whatif": texts.t(lang, "series_whatif"),
        "preset": texts.t(lang, "series_preset"),
        "band": texts.t(lang, "series_band"),
    }
    domain = [names["whatif"], names["preset"], *pin_names] + ([names["band"]] if has_band else [])
    colors = [WHATIF_COLOR, PRESET_COLOR, *PIN_COLORS[: len(pin_names)]] + ([BAND_COLOR] if has_band else [])
    color = alt.Color("series:N", scale=alt.Scale(domain=domain, range=colors), legend=_legend())
    axis = _month_axis(lang, horizon, dates=dates)
    x = alt.X("month:Q", axis=axis, scale=alt.Scale(domain=[1, horizon], nice=False))
    y = alt.Y("y:Q", title=f"{texts.t(lang, 'cash_axis')}, {unit}", axis=alt.Axis(format=",~f"))

    layers: list[alt.Chart] = []
    if has_band:
        band = frame[["month", "p10", "p90"]].dropna().assign(series=names["band"])
        band["lo"], band["hi"] = band["p10"] / scale, band["p90"] / scale
        layers.append(
            alt.Chart(band)
            .mark_area(opacity=0.45, tooltip=False, aria=False)
            .encode(x=x, y=alt.Y("lo:Q"), y2=alt.Y2("hi:Q"), color=color)
        )
    for col, dash in (("preset", [6, 4]), ("whatif", [1, 0])):
        data = frame[["month", col]].dropna().rename(columns={col: "value"}).assign(series=names[col])
        data["y"] = data["value"] / scale
        layers.append(
            alt.Chart(data)
            .mark_line(strokeWidth=2.5, strokeDash=dash, tooltip=False, aria=False)
            .encode(x=x, y=y, color=color)
        )
    if pinned is not None:  # long dashes over the what-if: a pin equal to it shows both colours in turn
        data = pinned[["month", "name", "value"]].dropna().rename(columns={"name": "series"})
        data["y"] = data["value"] / scale
        layers.append(
            alt.Chart(data)
            .mark_line(strokeWidth=2.5, strokeDash=PIN_DASH, tooltip=False, aria=False)
            .encode(x=x, y=y, color=color)
        )
    layers.append(_zero_rule())
    if math.isfinite(break_even):
        # The label reads towards the middle of the plot: right of the line in the first half of the
        # horizon, left of it in the second, so it stays inside a phone's narrow plot.
        right = break_even > 0.55 * horizon
        label = texts.t(lang, "break_even_at", n=int(break_even))
        if dates is not None and 1 <= break_even <= len(dates):
            when = texts.calendar_month(dates[int(break_even) - 1], lang, short=True)
            label = texts.t(lang, "break_even_at_date", date=when)
        mark = pd.DataFrame({"month": [break_even], "label": [label]})
        layers.append(
            alt.Chart(mark)
            .mark_rule(color=MARK_COLOR, strokeDash=[4, 3], tooltip=False, aria=False)
            .encode(x=alt.X("month:Q"))
        )
        layers.append(
            alt.Chart(mark)
            .mark_text(
                align="right" if right else "left",
                dx=-5 if right else 5,
                color=MARK_COLOR,
                fontWeight="bold",
                tooltip=False,
            )
            .encode(x=alt.X("month:Q"), y=alt.YValue(12), text=alt.Text("label:N"))
        )
    # Hover: an invisible bar over each month whose tooltip gives every value of that month.
    hover = pd.DataFrame({"m0": frame["month"] - 0.5, "m1": frame["month"] + 0.5})
    hover["t_month"] = _numbers(frame["month"], lang)
    tips = [_tip("t_month", texts.t(lang, "month"))]
    if dates is not None:
        hover["t_date"] = _date_texts(dates, lang)
        tips.append(_tip("t_date", texts.t(lang, "date")))
    for col, title in (
        ("whatif", names["whatif"]),
        ("preset", names["preset"]),
        ("p10", "P10"),
        ("p50", texts.t(lang, "series_p50")),
        ("p90", "P90"),
    ):
        if col in frame:
            hover[f"t_{col}"] = _money_texts(frame[col], currency, lang)
            tips.append(_tip(f"t_{col}", title))
        if col == "preset" and pinned is not None:  # the pins after the what-if and the preset
            for i, name in enumerate(pin_names):
                one = pinned[pinned["name"] == name].set_index("month")["value"]
                hover[f"t_pin{i}"] = _money_texts(one.reindex(frame["month"]).to_numpy(), currency, lang)
                tips.append(_tip(f"t_pin{i}", name))
    layers.append(
        alt.Chart(hover)
        .mark_bar(opacity=0.001, clip=True, aria=False)
        .encode(x=alt.X("m0:Q"), x2=alt.X2("m1:Q"), tooltip=tips)
    )
    return _layered(layers, _title(texts.t(lang, "cash_title")), 300, lang, currency)


# --- monthly cash flow --------------------------------------------------------------------------------


def cash_flow_chart(frame: pd.DataFrame, currency: str, lang: str) -> alt.LayerChart:
    """Monthly cash flow by component as stacked bars (margins up, costs down) with net cash as a black
    line (in the legend too); hovering a month shows every component and the net that month.

    `frame` is `sim.app.views.components_frame`'s table; components that are zero every month are left out.
    """
    used = frame.groupby("component")["value"].apply(lambda v: bool(np.any(np.abs(v) > 0)))
    shown = [c for c in COMPONENT_COLORS if used.get(c, False)]
    data = frame[frame["component"].isin(shown)].copy()
    scale, unit = _money_scale(data.groupby("month")["value"].apply(lambda v: v.abs().sum()), lang, currency)
    label = {c: texts.t(lang, f"c_{c}") for c in COMPONENT_COLORS}
    data["label"] = data["component"].map(label)
    data["y"] = data["value"] / scale
    order = {name: i for i, name in enumerate(COMPONENT_COLORS)}
    data["order"] = data["component"].map(order)
    domain = [label[c] for c in shown]
    palette = [COMPONENT_COLORS[c] for c in shown]
    horizon = int(frame["month"].max()) if len(frame) else 1
    dates = frame_dates(frame.drop_duplicates("month").sort_values("month")) if "date" in frame else None
    x = alt.X(
        "month:Q",
        axis=_month_axis(lang, horizon, dates=dates),
        scale=alt.Scale(domain=[0.5, horizon + 0.5], nice=False),
    )
    bars = (
        alt.Chart(data)
        .mark_bar(tooltip=False, aria=False)
        .encode(
            x=x,
            y=alt.Y("sum(y):Q", title=f"{texts.t(lang, 'flow_axis')}, {unit}", axis=alt.Axis(format=",~f")),
            color=alt.Color(
                "label:N",
                sort=domain,
                scale=alt.Scale(domain=domain, range=palette),
                legend=_legend(symbolType="square"),
            ),
            order=alt.Order("order:Q"),
        )
    )
    net_name = texts.t(lang, "net_cash")
    net = frame.groupby("month", as_index=False)["value"].sum()
    net["y"] = net["value"] / scale
    net["series"] = net_name
    line = (
        alt.Chart(net)
        .mark_line(color="black", strokeWidth=1.8, tooltip=False, aria=False)
        .encode(
            x=x,
            y=alt.Y("y:Q"),
            strokeDash=alt.StrokeDash(
                "series:N",
                scale=alt.Scale(domain=[net_name], range=[[1, 0]]),
                legend=_legend(symbolType="stroke", symbolStrokeColor="black", symbolStrokeWidth=2),
            ),
        )
    )
    wide = data.pivot_table(index="month", columns="component", values="value", aggfunc="sum")
    hover = pd.DataFrame({"m0": net["month"] - 0.5, "m1": net["month"] + 0.5})
    hover["t_month"] = _numbers(net["month"], lang)
    tips = [_tip("t_month", texts.t(lang, "month"))]
    if dates is not None:
        hover["t_date"] = _date_texts(dates, lang)
        tips.append(_tip("t_date", texts.t(lang, "date")))
    for i, c in enumerate(shown):
        hover[f"t{i}"] = _money_texts(wide[c].reindex(net["month"]).to_numpy(), currency, lang)
        tips.append(_tip(f"t{i}", label[c]))
    hover["t_net"] = _money_texts(net["value"], currency, lang)
    tips.append(_tip("t_net", net_name))
    hovered = (
        alt.Chart(hover)
        .mark_bar(opacity=0.001, clip=True, aria=False)
        .encode(x=alt.X("m0:Q"), x2=alt.X2("m1:Q"), tooltip=tips)
    )
    return _layered([bars, line, hovered], _title(texts.t(lang, "flow_title")), 300, lang, currency)


# --- a planned lever over the months ------------------------------------------------------------------


def plan_chart(frame: pd.DataFrame, title: str, lang: str, decimals: int = 2) -> alt.LayerChart:
    """A planned lever's value month by month (a step line: each month's value holds through the month),
    its months labelled by the calendar when `frame` has dates; hovering a month shows its value.

    `frame` is `sim.app.views.plan_path`'s table (month[, date], value in the lever's units); `title`
    names the lever and its unit; tooltips show `decimals` decimals at most."""
    horizon = int(frame["month"].max()) if len(frame) else 1
    dates = frame_dates(frame)
    x = alt.X(
        "month:Q",
        axis=_month_axis(lang, horizon, dates=dates),
        scale=alt.Scale(domain=[1, max(horizon, 2)], nice=False),
    )
    values = frame["value"].to_numpy(dtype=float)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    pad = 0.1 * (high - low) if high > low else max(abs(high) * 0.1, 1.0)
    y = alt.Y(
        "value:Q",
        title=None,
        axis=alt.Axis(format=",~f"),
        scale=alt.Scale(domain=[min(0.0, low - pad) if low >= 0 else low - pad, high + pad], nice=True),
    )
    line = (
        alt.Chart(frame[["month", "value"]])
        .mark_line(interpolate="step-after", color=WHATIF_COLOR, strokeWidth=2.5, tooltip=False, aria=False)
        .encode(x=x, y=y)
    )
    hover = pd.DataFrame({"m0": frame["month"] - 0.5, "m1": frame["month"] + 0.5})
    hover["t_month"] = _numbers(frame["month"], lang)
    hover["t_value"] = [_short_number(v, lang, decimals) for v in values]
    tips = [_tip("t_month", texts.t(lang, "month"))]
    if dates is not None:
        hover["t_date"] = _date_texts(dates, lang)
        tips.append(_tip("t_date", texts.t(lang, "date")))
    tips.append(_tip("t_value", texts.t(lang, "value")))
    hovered = (
        alt.Chart(hover)
        .mark_bar(opacity=0.001, clip=True, aria=False)
        .encode(x=alt.X("m0:Q"), x2=alt.X2("m1:Q"), tooltip=tips)
    )
    return _layered([line, hovered], _title(title), 200, lang, "")


def _short_number(x: float, lang: str, decimals: int) -> str:
    """A value with at most `decimals` decimals and no trailing zeros (`2 250`, `1,5`, `0.35`)."""
    text = texts.number(float(x), lang, decimals)
    if decimals and ("." in text or "," in text):
        text = text.rstrip("0").rstrip(".,")
    return text


# --- customers alike or different ----------------------------------------------------------------------

SBG_COLOR = "#2ca02c"
"""The line of customers who differ (beside the line of churn the same for everyone)."""


def retention_chart(frame: pd.DataFrame, lang: str) -> alt.LayerChart:
    """A cohort's share still customers by months after the purchase: churn the same for everyone and,
    when customers differ, their line beside it; hovering a month shows both. Small and without a title
    (the page names it above), for the sidebar's narrow column: the legend's lines one under the other.

    `frame` is `sim.app.views.retention_frame`'s table (age, series, share, t_share)."""
    names = list(dict.fromkeys(frame["series"]))
    horizon = int(frame["age"].max()) if len(frame) else 1
    color = alt.Color(
        "series:N",
        scale=alt.Scale(domain=names, range=[PRESET_COLOR, SBG_COLOR][: len(names)]),
        legend=alt.Legend(
            orient="bottom", direction="vertical", title=None, labelLimit=0, symbolType="stroke"
        ),
    )
    x = alt.X(
        "age:Q",
        axis=_month_axis(lang, horizon, title_key="age_month", years_key="rt_years"),
        scale=alt.Scale(domain=[0, max(horizon, 1)], nice=False),
    )
    y = alt.Y(
        "share:Q",
        title=None,
        axis=alt.Axis(format="~%", values=[0, 0.25, 0.5, 0.75, 1]),
        scale=alt.Scale(domain=[0, 1]),
    )
    lines = (
        alt.Chart(frame)
        .mark_line(strokeWidth=2.5)
        .encode(x=x, y=y, color=color, tooltip=[_tip("t_share", texts.t(lang, "rt_axis"))])
    )
    wide = frame.pivot_table(index="age", columns="series", values="t_share", aggfunc="first").reset_index()
    hover = pd.DataFrame(
        {"a0": wide["age"] - 0.5, "a1": wide["age"] + 0.5, "t_age": _numbers(wide["age"], lang)}
    )
    tips = [_tip("t_age", texts.t(lang, "age_month"))]
    for i, name in enumerate(names):
        hover[f"t_{i}"] = wide[name].to_numpy()
        tips.append(_tip(f"t_{i}", name))
    hovered = (
        alt.Chart(hover)
        .mark_bar(opacity=0.001, clip=True, aria=False)
        .encode(x=alt.X("a0:Q"), x2=alt.X2("a1:Q"), tooltip=tips)
    )
    return alt.LayerChart(layer=[lines, hovered], height=150, config=_config(lang, ""), **_width(None))


# --- what to find out first ------------------------------------------------------------------------------

DRIVER_COLORS = ("#1f77b4", "#9ecae1")
"""The total index (with its interactions) and the first-order index (on its own)."""
DRIVERS_SUB_CHARS = 44
"""The drivers chart's subtitle is wrapped at this many characters (it names a metric in quotes, which
would not fit a phone at SUBTITLE_CHARS in Russian)."""


def drivers_chart(frame: pd.DataFrame, metric: str, lang: str) -> alt.LayerChart:
    """What to find out first: for each value not known for sure, the share of the metric's spread it
    causes with its interactions (total index) and on its own (first-order index), as two bars side by
    side, the largest on top, each with its share written at its end.

    `frame` is `sim.app.views.drivers_frame`'s table (lever, kind, value, t_value)."""
    name = _metric_name(lang, metric)
    words = {"total": texts.t(lang, "un_total"), "first": texts.t(lang, "un_first")}
    order = list(dict.fromkeys(frame["lever"]))
    data = frame.assign(kind_name=[words[k] for k in frame["kind"]])
    data["t_tip"] = [f"{k}: {v}" for k, v in zip(data["kind_name"], data["t_value"], strict=True)]
    y = alt.Y(
        "lever:N", sort=order, title=None, axis=alt.Axis(labelLimit=alt.ExprRef(f"{PHONE} ? 130 : 320"))
    )
    offset = alt.YOffset("kind_name:N", sort=[words["total"], words["first"]])
    color = alt.Color(
        "kind_name:N",
        scale=alt.Scale(domain=[words["total"], words["first"]], range=list(DRIVER_COLORS)),
        legend=_legend(),
    )
    x = alt.X(
        "value:Q",
        title=texts.t(lang, "un_axis"),
        axis=alt.Axis(format="~%", values=[0, 0.25, 0.5, 0.75, 1]),
        scale=alt.Scale(domain=[0, 1.12], nice=False),
    )
    tips = [_tip("lever", texts.t(lang, "pl_lever")), _tip("t_tip", texts.t(lang, "un_axis"))]
    bars = alt.Chart(data).mark_bar().encode(y=y, yOffset=offset, x=x, color=color, tooltip=tips)
    ends = (
        alt.Chart(data)
        .mark_text(align="left", dx=4, fontSize=11, color="#31333f")
        .encode(y=y, yOffset=offset, x=alt.X("value:Q"), text=alt.Text("t_value:N"), tooltip=tips)
    )
    sub = _wrap(texts.t(lang, "un_drivers_sub", metric=name), DRIVERS_SUB_CHARS)  # Cyrillic is wider
    title = _title(texts.t(lang, "un_drivers_title"), sub)
    return alt.LayerChart(
        layer=[bars, ends],
        title=title,
        height=alt.Step(16),
        config=_config(lang, ""),
        **_width(None),
    )


# --- cohort payback -----------------------------------------------------------------------------------


def cohort_rows(horizon: int) -> int:
    """Months of purchase per row of the cohort heatmap: each month up to three years, quarters up to six,
    then years (a ten-year horizon has ten rows)."""
    return 1 if horizon <= 36 else (3 if horizon <= 72 else 12)


def cohort_chart(frame: pd.DataFrame, currency: str, lang: str) -> alt.LayerChart:
    """Cohort payback heatmap: the customers won in a month (a quarter, a year on long horizons) × months
    after the purchase, coloured by the cohort's cumulative margin ÷ its acquisition cost on a diverging
    scale centred on 1 (red: not paid back yet, white: just paid back, green: paid back over), with a
    black line through the month each cohort pays back.

    `frame` is `sim.app.views.cohort_frame`'s table (one row per monthly cohort and age); the cohorts of a
    row add up their margins and costs, and a row shows the ages all its cohorts have reached (so the first
    month's cohort, which pays for a full month of leads but sells only to those who got through the
    funnel's delays, does not colour the tail of the first year's row on its own).
    """
    data = frame.copy()
    horizon = int((data["cohort"] + data["age"]).max()) if len(data) else 1
    per_row = cohort_rows(horizon)
    data["row"] = (data["cohort"] - 1) // per_row
    youngest = data.groupby("row")["cohort"].transform("max")
    data = data[data["age"] <= horizon - youngest]  # ages every cohort of the row has reached
    cells = data.groupby(["row", "age"], as_index=False)[["margin", "cost"]].sum()
    cells["ratio"] = cells["margin"] / cells["cost"]
    cells["shade"] = cells["ratio"].clip(COHORT_STOPS[0], COHORT_STOPS[-1]).fillna(COHORT_STOPS[0])
    rows = sorted(cells["row"].unique())
    dates = (
        {int(c): pd.Timestamp(d).date() for c, d in zip(frame["cohort"], frame["date"], strict=True)}
        if "date" in frame.columns
        else None
    )
    names = {r: _cohort_name(int(r), per_row, lang, dates) for r in rows}
    cells["cohort"] = cells["row"].map(names)
    cells["a0"], cells["a1"] = cells["age"], cells["age"] + 1
    cells["t_age"] = _numbers(cells["age"], lang)
    cells["t_margin"] = _money_texts(cells["margin"], currency, lang)
    cells["t_cost"] = _money_texts(cells["cost"], currency, lang)
    cells["t_ratio"] = [texts.ratio(float(v), lang) for v in cells["ratio"]]
    key = {1: "cohort", 3: "ch_cohort_quarter", 12: "ch_cohort_year"}[per_row]
    order = [names[r] for r in rows]
    y = alt.Y("cohort:N", sort=order, title=texts.t(lang, key), axis=alt.Axis(labelLimit=120))
    x = alt.X(
        "a0:Q",
        axis=_month_axis(lang, horizon, "age_month", "ch_age_years"),
        scale=alt.Scale(domain=[0, horizon], nice=False),
    )
    heat = (
        alt.Chart(cells)
        .mark_rect()
        .encode(
            x=x,
            x2=alt.X2("a1:Q"),
            y=y,
            color=alt.Color(
                "shade:Q",
                scale=alt.Scale(type="log", domain=list(COHORT_STOPS), range=list(COHORT_COLORS), clamp=True),
                legend=alt.Legend(
                    title=texts.t(lang, "cohort_ratio"),
                    orient="bottom",
                    direction="horizontal",
                    values=list(COHORT_STOPS),
                    format=",~r",
                    gradientLength=220,
                ),
            ),
            tooltip=[
                _tip("cohort", texts.t(lang, key)),
                _tip("t_age", texts.t(lang, "age_month")),
                _tip("t_margin", texts.t(lang, "cohort_margin")),
                _tip("t_cost", texts.t(lang, "cohort_cost")),
                _tip("t_ratio", texts.t(lang, "cohort_ratio")),
            ],
        )
    )
    paid = cells[cells["ratio"] >= 1.0].groupby("row", as_index=False)["age"].min()
    paid["cohort"] = paid["row"].map(names)
    paid["x"] = paid["age"] + 0.5
    paid["t_age"] = _numbers(paid["age"], lang)
    payback = (
        alt.Chart(paid)
        .mark_line(
            color=PAYBACK_COLOR, strokeWidth=2.5, point=alt.OverlayMarkDef(color=PAYBACK_COLOR, size=30)
        )
        .encode(
            x=alt.X("x:Q"),
            y=y,
            order=alt.Order("row:Q"),  # row after row, not by age
            tooltip=[_tip("cohort", texts.t(lang, key)), _tip("t_age", texts.t(lang, "ch_paid_back_at"))],
        )
    )
    height = min(420, max(160, 26 * len(rows)))
    title = _title(texts.t(lang, "cohort_title"), [texts.t(lang, "ch_cohort_note")])
    return _layered([heat, payback], title, height, lang, currency)


def _cohort_name(row: int, per_row: int, lang: str, dates: Mapping[int, dt.date] | None = None) -> str:
    """A row's name: the month of purchase, `months 4–6` or `year 2`; with the cohorts' `dates` (the first
    day of each cohort's month), the calendar months: `Mar 2027`, `Jan–Mar 2027`, `2028`."""
    first = row * per_row + 1
    if dates and first in dates:
        last = max(c for c in dates if c < first + per_row)
        return texts.month_range(dates[first], dates[last], lang)
    if per_row == 1:
        return texts.number(first, lang)
    if per_row == 12:
        return texts.t(lang, "ch_year_n", n=row + 1)
    return texts.t(lang, "ch_months_range", a=first, b=first + per_row - 1)


# --- the sensitivity tornado --------------------------------------------------------------------------

CUES: dict[str, tuple[str, str]] = {
    "break_even_month": ("ch_sooner", "ch_later"),
    "payback_months": ("ch_sooner", "ch_later"),
    "final_cumulative_cash": ("ch_less_cash", "ch_more_cash"),
    "npv": ("ch_less_cash", "ch_more_cash"),
    "max_cash_need": ("ch_less_funding", "ch_more_funding"),
}
"""The words at the two ends of a tornado's axis, by metric (any other: `lower` / `higher`)."""


def tornado_chart(table: pd.DataFrame, metric: str, title: str | None = None) -> alt.LayerChart:
    """The sensitivity tornado (English, for the command line's `--chart`): for each lever, a bar from the
    metric at the lever's low value to the metric at its high value, around the base value; the largest
    swing on top, the values at the bars' ends, levers with no effect left out (and named)."""
    name = _metric_name("en", metric)
    return _tornado(
        table,
        metric,
        "en",
        "",
        title=title or texts.t("en", "sens_title", metric=name),
        labels=None,
        never_at=None,
        fmt=lambda v: f"{v:,.4g}".replace(",", texts.THIN),
        width=480,
    )


def sensitivity_chart(
    table: pd.DataFrame,
    metric: str,
    currency: str,
    lang: str,
    labels: Mapping[str, str] | None = None,
    horizon: int | None = None,
) -> alt.LayerChart:
    """The tornado in the page's language: `table` is `sim.sensitivity`'s, `labels` maps lever paths to
    the page's lever names; with `horizon`, "never" (break-even, payback) is drawn one month past it.

    The axis says which way is sooner or later (less or more cash), each bar shows the metric at both
    ends, and levers that do not move the metric are left out and counted in a note under the title.
    """
    return _tornado(
        table,
        metric,
        lang,
        currency,
        title=texts.t(lang, "sens_title", metric=_metric_name(lang, metric)),
        labels=labels or {},
        never_at=horizon + 1.0 if (horizon is not None and metric in NEVER_KPIS) else None,
        fmt=lambda v: texts.format_kpi(metric, v, currency, lang, horizon=horizon),
        width=None,
    )


def _metric_name(lang: str, metric: str) -> str:
    key = f"m_{metric}"
    return texts.t(lang, key) if key in texts.TEXTS["en"] else metric.replace("_", " ")


def _display(label: str) -> str:
    """A lever's name as the page shows it (`Call -> appointment` → `Call → appointment`)."""
    return label.replace("->", "→")


def _tornado(
    table: pd.DataFrame,
    metric: str,
    lang: str,
    currency: str,
    *,
    title: str,
    labels: Mapping[str, str] | None,
    never_at: float | None,
    fmt: Callable[[float], str],
    width: int | None,
) -> alt.LayerChart:
    """The tornado's layers: bars, the values at their ends, the base line. `labels`: the levers' names by
    path (None or empty: the table's); `never_at`: where "never" is drawn (None: at the base value);
    `width`: a fixed width in px (None: the container's)."""
    name = _metric_name(lang, metric)
    if table.empty:
        return _tornado_empty(title, texts.t(lang, "ch_sens_none", metric=name), lang, currency, width)
    base = float(table["metric_base"].iloc[0])
    base_text = texts.t(lang, "never") if math.isnan(base) else fmt(base)
    if never_at is not None and math.isnan(base):
        base = never_at
    tol = 1e-9 * max(1.0, abs(base) if math.isfinite(base) else 1.0)
    still = table["swing"].abs() <= tol  # NaN swings stay: "never" at one end is an effect
    moved, dropped = table[~still], table[still]
    label_of = (
        (lambda r: _display(labels.get(r["lever"], r["label"])))
        if labels
        else (lambda r: _display(r["label"]))
    )
    notes = []
    if len(dropped):
        listed = [label_of(r) for _, r in dropped.iterrows()]
        dropped_names = "; ".join(listed[:5]) + ("; …" if len(listed) > 5 else "")
        form = texts.plural(len(dropped), lang)
        notes.append(texts.t(lang, f"ch_dropped_{form}", n=len(dropped), metric=name, names=dropped_names))
    if moved.empty:
        return _tornado_empty(title, texts.t(lang, "ch_sens_none", metric=name), lang, currency, width, notes)
    side_words = {"low": texts.t(lang, "lever_low"), "high": texts.t(lang, "lever_high")}
    rows = []
    for _, r in moved.iterrows():
        label = label_of(r)
        for side in ("low", "high"):
            v = float(r[f"metric_{side}"])
            to = (never_at if never_at is not None else base) if math.isnan(v) else v
            rows.append(
                {
                    "label": label,
                    "end": side,
                    "from": base,
                    "to": to,
                    "t_side": f"{side_words[side]} ({fmt_lever(float(r[side]))})",
                    "t_value": texts.t(lang, "never") if math.isnan(v) else fmt(v),
                    "t_base": base_text,
                }
            )
    data = pd.DataFrame(rows)
    order = list(dict.fromkeys(data["label"]))
    ends = data["to"].to_numpy(dtype=float)
    lo, hi = float(min(ends.min(), base)), float(max(ends.max(), base))
    pad = 0.22 * (hi - lo) if hi > lo else max(1.0, abs(base) * 0.1)
    low_word, high_word = (texts.t(lang, k) for k in CUES.get(metric, ("ch_lower", "ch_higher")))
    axis_title = [name, texts.t(lang, "ch_axis_cue", low=low_word, high=high_word)]  # which way is which
    y = alt.Y(
        "label:N",
        sort=order,
        title=None,
        axis=alt.Axis(labelLimit=alt.ExprRef(f"{PHONE} ? 130 : 320")),
    )
    x_scale = alt.Scale(domain=[lo - pad, hi + pad], nice=False, zero=False)
    tips = [
        _tip("label", texts.t(lang, "lever_moved")),
        _tip("t_side", texts.t(lang, "ch_lever_value")),
        _tip("t_value", name),
        _tip("t_base", texts.t(lang, "ch_base_value")),
    ]
    expr = f"datum.label == 'low' ? {json.dumps(side_words['low'], ensure_ascii=False)} : " + json.dumps(
        side_words["high"], ensure_ascii=False
    )
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("from:Q", title=axis_title, scale=x_scale),
            x2=alt.X2("to:Q"),
            color=alt.Color(
                "end:N",
                scale=alt.Scale(domain=["low", "high"]),
                legend=_legend(title=texts.t(lang, "lever_moved"), labelExpr=expr),
            ),
            tooltip=tips,
        )
    )
    values = data[data["to"] != data["from"]]
    ends_text = [
        alt.Chart(values[(values["to"] > values["from"]) == up])
        .mark_text(align="left" if up else "right", dx=4 if up else -4, fontSize=11, color="#31333f")
        .encode(y=y, x=alt.X("to:Q"), text=alt.Text("t_value:N"), tooltip=tips)
        for up in (True, False)
    ]
    rule = (
        alt.Chart(pd.DataFrame({"base": [base]}))
        .mark_rule(color="black", tooltip=False, aria=False)
        .encode(x=alt.X("base:Q"))
    )
    return alt.LayerChart(
        layer=[bars, *ends_text, rule],
        title=_title(title, notes),
        height=alt.Step(26),
        config=_config(lang, currency),
        **_width(width),
    )


def _width(width: int | None) -> dict[str, Any]:
    """A fixed width in px, or the container's (None)."""
    if width:
        return {"width": width}
    return {"autosize": alt.AutoSizeParams(type="fit-x", contains="padding")}


def _tornado_empty(
    title: str, message: str, lang: str, currency: str, width: int | None, notes: Sequence[str] = ()
) -> alt.LayerChart:
    """A tornado with no bar: the message in place of the plot."""
    text = (
        alt.Chart(pd.DataFrame({"message": [message]}))
        .mark_text(align="left", x=0, y=20, fontSize=13, tooltip=False)
        .encode(text=alt.Text("message:N"))
    )
    return alt.LayerChart(
        layer=[text],
        title=_title(title, notes),
        height=40,
        config=_config(lang, currency),
        **_width(width),
    )


# --- the holdout check of a fit to a CRM export -------------------------------------------------------

HOLDOUT_METRICS = ("leads", "sales", "repeat_visits", "active_customers", "margin")
"""The metrics of a fit's holdout check, in the order they are drawn (`sim.calibration.fit`'s)."""
ACTUAL_IN_COLOR = "#111111"
"""What happened, within the forecast's band."""
ACTUAL_OUT_COLOR = MARK_COLOR
"""What happened, outside the forecast's band."""
HOLDOUT_WIDTH = 300
"""A panel's width in px when several are drawn side by side (the command line's chart)."""


def holdout_chart(
    table: pd.DataFrame,
    lang: str = "en",
    currency: str = "RUB",
    errors: pd.DataFrame | None = None,
    metrics: Sequence[str] | None = None,
    width: int | None = None,
    columns: int = 3,
    legend: bool = True,
) -> alt.LayerChart | alt.ConcatChart:
    """A fit's check on the months it did not see: for each metric, month by month, the forecast's P10–P90
    (a bar), its mean (a dash) and what happened (a dot, red outside the band), its error and how many
    months fell within the band under the metric's name; hovering a month shows its figures.

    `table` is `FitResult.holdout` (metric, month `YYYY-MM`, actual, mean, p10, p50, p90, within) and
    `errors` `FitResult.holdout_errors` (metric, mape, coverage), or None. One metric (`metrics`) gives one
    panel as wide as its container (or `width` px); several give a grid of `columns` panels of `width`
    (default HOLDOUT_WIDTH) px, with one legend."""
    shown = [m for m in (metrics or HOLDOUT_METRICS) if (table["metric"] == m).any()]
    shown += [m for m in dict.fromkeys(table["metric"]) if metrics is None and m not in shown]
    if not shown:
        raise ValueError(f"holdout: no rows for {', '.join(metrics or HOLDOUT_METRICS)}")
    config = _config(lang, currency)
    if len(shown) == 1:
        layers, title = _holdout_panel(table, shown[0], lang, currency, errors, legend)
        return alt.LayerChart(layer=layers, title=title, height=180, config=config, **_width(width))
    panels = []
    for metric in shown:
        layers, title = _holdout_panel(table, metric, lang, currency, errors, legend)
        panels.append(alt.LayerChart(layer=layers, title=title, height=180, width=width or HOLDOUT_WIDTH))
    return alt.ConcatChart(concat=panels, columns=columns, config=config, spacing=30)


def _holdout_panel(
    table: pd.DataFrame, metric: str, lang: str, currency: str, errors: pd.DataFrame | None, legend: bool
) -> tuple[list[alt.Chart], alt.TitleParams]:
    """One metric of the holdout chart: its layers and title."""
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    part = table[table["metric"] == metric].sort_values("month").reset_index(drop=True)
    values = part[["actual", "mean", "p10", "p90"]].to_numpy(dtype=float)
    name = t(f"dt_m_{metric}")
    if metric == "margin":
        scale, unit = _money_scale(values, lang, currency)
        name = f"{name}, {unit}"
        shown = [_money_texts(part[c], currency, lang) for c in ("actual", "mean", "p10", "p90")]
    else:
        scale = 1.0
        shown = [_numbers(part[c], lang) for c in ("actual", "mean", "p10", "p90")]
    months = [pd.Period(str(m), "M").to_timestamp() for m in part["month"]]
    labels = [texts.calendar_month(m, lang, short=True) for m in months]
    data = pd.DataFrame(
        {
            "label": labels,
            "actual": part["actual"] / scale,
            "mean": part["mean"] / scale,
            "p10": part["p10"] / scale,
            "p90": part["p90"] / scale,
            "t_month": [texts.calendar_month(m, lang) for m in months],
            "t_actual": shown[0],
            "t_mean": shown[1],
            "t_p10": shown[2],
            "t_p90": shown[3],
        }
    )
    words = {k: t(f"dt_hd_{k}") for k in ("band", "mean", "in", "out")}
    data["band"], data["meant"] = words["band"], words["mean"]
    data["dot"] = [words["in"] if w else words["out"] for w in part["within"]]
    domain = list(words.values())
    colors = alt.Scale(domain=domain, range=[BAND_COLOR, WHATIF_COLOR, ACTUAL_IN_COLOR, ACTUAL_OUT_COLOR])
    shown_legend = _legend() if legend else None

    def color(field: str) -> alt.Color:
        """One colour scale and legend for the band, the mean and the dots (each layer's own field)."""
        return alt.Color(f"{field}:N", scale=colors, legend=shown_legend)

    # Months in two lines (`Jul` over `2029`), so six of them fit a phone's panel.
    x = alt.X(
        "label:O",
        sort=labels,
        title=None,
        axis=alt.Axis(labelAngle=0, labelExpr=f"split(datum.value, '{texts.NBSP}')", labelPadding=4),
    )
    finite = values[np.isfinite(values)] / scale
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    pad = 0.08 * (high - low) if high > low else max(abs(high) * 0.1, 1.0)
    y = alt.Y(
        "p10:Q",
        title=None,
        scale=alt.Scale(domain=[max(0.0, low - pad) if low >= 0 else low - pad, high + pad], nice=False),
        axis=alt.Axis(format=",~f", tickCount=5),
    )
    tips = [
        _tip("t_month", t("month")),
        _tip("t_actual", t("dt_hd_actual")),
        _tip("t_mean", words["mean"]),
        _tip("t_p10", "P10"),
        _tip("t_p90", "P90"),
    ]
    band = (
        alt.Chart(data)
        .mark_bar(width=alt.RelativeBandSize(0.6), opacity=0.8)
        .encode(
            x=x,
            y=y,
            y2=alt.Y2("p90:Q"),
            color=color("band"),
            tooltip=tips,
        )
    )
    mean = (
        alt.Chart(data)
        .mark_tick(thickness=3, size=18)
        .encode(
            x=x,
            y=alt.Y("mean:Q"),
            color=color("meant"),
            tooltip=tips,
        )
    )
    line = (
        alt.Chart(data)
        .mark_line(color=ACTUAL_IN_COLOR, strokeWidth=1, opacity=0.5, tooltip=False, aria=False)
        .encode(x=x, y=alt.Y("actual:Q"))
    )
    dots = (
        alt.Chart(data)
        .mark_point(filled=True, size=70, opacity=1)
        .encode(
            x=x,
            y=alt.Y("actual:Q"),
            color=color("dot"),
            tooltip=tips,
        )
    )
    notes = []
    within = int(part["within"].sum())
    row = errors[errors["metric"] == metric] if errors is not None else None
    mape = float(row["mape"].iloc[0]) if row is not None and len(row) else math.nan
    if math.isfinite(mape):
        notes.append(t("dt_hd_sub", mape=texts.percent(mape, lang, 1), k=within, n=len(part)))
    else:
        notes.append(t("dt_hd_sub_within", k=within, n=len(part)))
    return [band, mean, line, dots], _title(name, notes)


# --- the sales desk -----------------------------------------------------------------------------------


def desk_chart(curve: pd.DataFrame, staff: int, lang: str) -> alt.VConcatChart:
    """The sales desk: lost-lead share and mean wait against salespeople, the current staff marked.

    `curve` is `sim.app.views.desk_curve`'s table.
    """
    x = alt.X("staff:Q", title=texts.t(lang, "staff"), axis=alt.Axis(tickMinStep=1, format="d"))
    lost_max = float(curve["lost_lead_share"].max()) if len(curve) else 0.0
    top = max(lost_max if math.isfinite(lost_max) else 0.0, 0.01)  # tiny shares show as 0 %, not noise
    now = pd.DataFrame({"staff": [staff], "label": [texts.t(lang, "current")]})
    rule = (
        alt.Chart(now)
        .mark_rule(color=MARK_COLOR, strokeDash=[4, 3], tooltip=False, aria=False)
        .encode(x=alt.X("staff:Q"))
    )
    text = (
        alt.Chart(now)
        .mark_text(align="left", dx=4, color=MARK_COLOR, fontWeight="bold", tooltip=False)
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
    chart = alt.vconcat(  # one above the other: a phone (390 px) shows both whole
        (lost + marks).properties(title=texts.t(lang, "desk_title_lost"), width=300, height=200),
        (wait + marks).properties(title=texts.t(lang, "desk_title_wait"), width=300, height=200),
    )
    return chart.configure(locale=texts.vega_locale(lang, ""))


# --- the service programme ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgrammeShape:
    """What the programme's curve (net a year against contacts a month) looks like, for its chart and its
    sentence."""

    churn_effect: bool
    """Contacts change the margin (through churn): the curve bends."""
    contact_cost: bool
    """Contacts cost something: the cost grows with them."""
    flat: bool
    """The net is the same at any number of contacts (neither of the above)."""
    at_optimum: bool
    """The current contacts are the best ones (the two points coincide on the chart); False when flat."""


def programme_shape(pv: ProgrammeValue) -> ProgrammeShape:
    """The shape of the programme's curve (`pv` is `sim.programme_value`'s result)."""
    curve = pv.curve

    def spread(col: str) -> float:
        v = curve[col].to_numpy(dtype=float)
        return float(np.ptp(v)) if v.size else 0.0

    def tol(col: str) -> float:
        v = curve[col].to_numpy(dtype=float)
        return 1e-7 * max(1.0, float(np.abs(v).max()) if v.size else 1.0)

    churn_effect = spread("extra_margin") > tol("extra_margin")
    contact_cost = spread("cost") > tol("cost")
    flat = spread("net") <= tol("net")
    k_span = (
        float(curve["contacts_per_month"].max() - curve["contacts_per_month"].min()) if len(curve) else 0.0
    )
    close_k = abs(pv.contacts_per_month - pv.optimal_contacts_per_month) <= 0.02 * max(k_span, 1e-9)
    close_net = abs(pv.net_per_year - pv.optimal_net_per_year) <= 0.02 * max(spread("net"), tol("net"))
    return ProgrammeShape(churn_effect, contact_cost, flat, (not flat) and close_k and close_net)


def programme_chart(pv: ProgrammeValue, currency: str, lang: str) -> alt.LayerChart:
    """The service programme: net value a year against contacts a month, the current contacts and the
    optimum marked (one point when they coincide, only "now" when the line is flat, with a note saying
    why); hovering the line shows the margin, cost and net at each number of contacts (`pv` is
    `sim.programme_value`'s result)."""
    curve = pv.curve
    shape = programme_shape(pv)
    scale, unit = _money_scale(
        np.append(curve["net"].to_numpy(), [pv.net_per_year, pv.optimal_net_per_year]), lang, currency
    )
    data = curve.assign(y=curve["net"] / scale)
    k_all = curve["contacts_per_month"].to_numpy(dtype=float)
    x = alt.X(
        "contacts_per_month:Q",
        title=texts.t(lang, "contacts"),
        scale=alt.Scale(domain=[float(k_all.min()), float(k_all.max())], nice=False),
    )
    y = alt.Y("y:Q", title=f"{texts.t(lang, 'net_per_year')}, {unit}", axis=alt.Axis(format=",~f"))
    line = (
        alt.Chart(data)
        .mark_line(color=WHATIF_COLOR, strokeWidth=2.5, tooltip=False, aria=False)
        .encode(x=x, y=y)
    )

    now, best = texts.t(lang, "current"), texts.t(lang, "optimum")
    if shape.flat:
        points = [(pv.contacts_per_month, pv.net_per_year, now, MARK_COLOR)]
    elif shape.at_optimum:
        points = [(pv.contacts_per_month, pv.net_per_year, texts.t(lang, "ch_now_optimum"), OPTIMUM_COLOR)]
    else:
        points = [
            (pv.contacts_per_month, pv.net_per_year, now, MARK_COLOR),
            (pv.optimal_contacts_per_month, pv.optimal_net_per_year, best, OPTIMUM_COLOR),
        ]
    marked = pd.DataFrame(points, columns=["contacts_per_month", "net", "label", "color"])
    marked["y"] = marked["net"] / scale
    marked["t_k"] = [contacts_text(k, lang) for k in marked["contacts_per_month"]]
    marked["t_net"] = _money_texts(marked["net"], currency, lang)
    point_tips = [
        _tip("label", " "),
        _tip("t_k", texts.t(lang, "contacts")),
        _tip("t_net", texts.t(lang, "net_per_year")),
    ]
    dots = (
        alt.Chart(marked)
        .mark_point(size=130, filled=True, opacity=1)
        .encode(
            x=alt.X("contacts_per_month:Q"),
            y=alt.Y("y:Q"),
            color=alt.Color(
                "label:N",
                scale=alt.Scale(domain=list(marked["label"]), range=list(marked["color"])),
                legend=_legend(),
            ),
            tooltip=point_tips,
        )
    )
    places = _label_places(list(marked["contacts_per_month"]), float(k_all.min()), float(k_all.max()))
    labels = [
        alt.Chart(marked.iloc[[i]])
        .mark_text(
            align=align, dx=dx, dy=dy, fontWeight="bold", color=str(marked["color"].iloc[i]), tooltip=False
        )
        .encode(x=alt.X("contacts_per_month:Q"), y=alt.Y("y:Q"), text=alt.Text("label:N"))
        for i, (align, dx, dy) in enumerate(places)
    ]
    # Hover: an invisible bar over each point of the curve, its tooltip the margin, cost and net there.
    k = curve["contacts_per_month"].to_numpy(dtype=float)
    half = (float(np.diff(k).min()) / 2.0) if k.size > 1 else 0.5
    hover = pd.DataFrame({"k0": k - half, "k1": k + half})
    hover["t_k"] = [contacts_text(v, lang) for v in k]
    hover["t_extra"] = _money_texts(curve["extra_margin"], currency, lang)
    hover["t_cost"] = _money_texts(curve["cost"], currency, lang)
    hover["t_net"] = _money_texts(curve["net"], currency, lang)
    hovered = (
        alt.Chart(hover)
        .mark_bar(opacity=0.001, clip=True, aria=False)
        .encode(
            x=alt.X("k0:Q"),
            x2=alt.X2("k1:Q"),
            tooltip=[
                _tip("t_k", texts.t(lang, "contacts")),
                _tip("t_extra", texts.t(lang, "ch_extra_margin")),
                _tip("t_cost", texts.t(lang, "ch_programme_cost")),
                _tip("t_net", texts.t(lang, "net_per_year")),
            ],
        )
    )
    note = ""
    if shape.flat:
        note = texts.t(lang, "ch_prog_flat_note")
    elif not shape.churn_effect:
        note = texts.t(lang, "ch_prog_linear_note")
    title = _title(texts.t(lang, "programme_title"), [note])
    return _layered([_zero_rule(), line, hovered, dots, *labels], title, 280, lang, currency)


def _label_places(ks: list[float], k_lo: float, k_hi: float) -> list[tuple[str, int, int]]:
    """Where the programme chart's point labels go (align, dx, dy), on the empty side of the curve and
    inside the plot: a lone point's, and the optimum's, above it (centred on a peak, to one side at an end
    of the range); "now"'s to the upper left on the rising side of the curve, to the upper right on the
    falling side, below it when that side is the plot's edge. `ks`: contacts of "now"[, the optimum]."""
    span = max(k_hi - k_lo, 1e-9)

    def above(k: float) -> tuple[str, int, int]:
        if k - k_lo < 0.12 * span:
            return ("left", 9, -9)
        if k_hi - k < 0.12 * span:
            return ("right", -9, -9)
        return ("center", 0, -14)

    if len(ks) == 1:
        return [above(ks[0])]
    now, best = ks
    if now < best:  # rising side: the upper left is empty
        place = ("left", 9, 15) if now - k_lo < 0.15 * span else ("right", -9, -9)
    else:
        place = ("right", -9, 15) if k_hi - now < 0.15 * span else ("left", 9, -9)
    return [place, above(best)]


def contacts_text(k: float, lang: str) -> str:
    """Contacts a month as the page shows them: up to two decimals, no trailing zeros (`1.75`, `2`, `0,5`)."""
    text = texts.number(round(float(k), 2), lang, 2)
    return text.rstrip("0").rstrip(".,") if ("." in text or "," in text) else text
