"""What the app shows, computed without Streamlit: KPI tiles, chart data, the band's caption, tables and
downloads (the answers to the owner's questions are in `sim.app.answers`).

Every function takes scenarios and results and returns plain data (dataclasses, DataFrames, text), so it is
tested and fuzzed without a browser; `app.py` only lays it out.
"""

from __future__ import annotations

import enum
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.accounting.ledger import CASH_COMPONENTS, CHANNEL_KPI_COLUMNS, NEVER_KPIS
from sim.accounting.lifetimes import lifetime_tables
from sim.analytic.expected_value import ExpectedResult, expected_arrays
from sim.app import plans
from sim.app.band import JobState
from sim.app.plans import PlanLever
from sim.decisions.metrics import METRICS
from sim.model.levers import find_lever
from sim.model.scenario import Scenario
from sim.report import texts
from sim.report.frames import TILE_METRICS, month_dates, to_horizon

if TYPE_CHECKING:
    from sim.app.band import Band, Status
    from sim.decisions.budget import NextBudget


_LOWER_BETTER = {m for m, d in METRICS.items() if d == "lower"} | {"leads_per_sale"}


class DeltaColor(enum.StrEnum):
    """How a tile's figure changed against the preset as loaded (values: Streamlit's delta colours)."""

    BETTER = "green"
    WORSE = "red"
    SAME = "gray"
    """The same, or not comparable (one side never breaks even or is not defined)."""


class Arrow(enum.StrEnum):
    """The direction of a tile's change (values: Streamlit's delta arrows)."""

    UP = "up"
    DOWN = "down"
    OFF = "off"


@dataclass(frozen=True)
class Tile:
    """One KPI tile: label, value and its change against the preset as loaded."""

    metric: str
    label: str
    """What the tile measures, in words (the whole business or one customer)."""
    value: str
    delta: str
    """The change against the preset; when there is none, why the figure reads as it does (the note),
    else `as loaded`."""
    color: DeltaColor
    arrow: Arrow
    help: str
    note: str = ""
    """Why the figure is `—` or unbounded (`nothing is sold`, `no churn: nobody leaves`), else empty."""


def _ranked(metric: str, x: float, horizon: int | None = None, undefined: bool = False) -> float:
    """A KPI for comparison: "never" (and a payback past the horizon, shown as such) is later than any
    month; a figure that is not defined (nothing sold) is NaN."""
    if undefined:
        return math.nan
    if metric in NEVER_KPIS and (math.isnan(x) or (horizon is not None and x > horizon)):
        return math.inf
    return x


def _compared(
    metric: str, kpi: Mapping[str, float], base: Mapping[str, float], lang: str, horizon: int | None
) -> tuple[float, float]:
    """A KPI of `kpi` and of `base`, ranked for comparison (`_ranked`: never is later than any month, a
    figure not defined is NaN)."""
    ranked = []
    for k in (kpi, base):
        x = float(k[metric])
        ranked.append(_ranked(metric, x, horizon, bool(texts.kpi_note(metric, k, lang)) and x != math.inf))
    return ranked[0], ranked[1]


def _same(new: float, old: float) -> bool:
    """Two ranked figures read the same (both not defined, equal, or within rounding)."""
    return (
        (math.isnan(new) and math.isnan(old))
        or new == old
        or (math.isfinite(new) and math.isfinite(old) and abs(new - old) <= 1e-9 * max(1.0, abs(old)))
    )


def tiles(
    kpi: Mapping[str, float],
    base: Mapping[str, float],
    currency: str,
    lang: str,
    horizon: int | None = None,
    customers_differ: bool = False,
) -> list[Tile]:
    """The KPI tiles of the what-if (`kpi`) against the preset as loaded (`base`); with the `horizon`
    (months), a payback past it reads `over 10 years`; `customers_differ` (the what-if's retention is sBG)
    says why an LTV is unbounded in its words."""
    out = []
    for m in TILE_METRICS:
        new, old = float(kpi[m]), float(base[m])
        note = texts.kpi_note(m, kpi, lang, customers_differ)
        rn, ro = _compared(m, kpi, base, lang, horizon)
        lower = m in _LOWER_BETTER
        was = texts.t(lang, "was", value=texts.kpi_value(m, base, currency, lang, horizon))
        if _same(rn, ro):
            delta, color, arrow = note or texts.t(lang, "same"), DeltaColor.SAME, Arrow.OFF
        elif math.isnan(rn) or math.isnan(ro):
            delta, color, arrow = was, DeltaColor.SAME, Arrow.OFF
        else:
            if math.isfinite(rn) and math.isfinite(ro):
                delta = texts.format_kpi(m, new - old, currency, lang, signed=True)
            else:
                delta = was
            better = (rn < ro) if lower else (rn > ro)
            color = DeltaColor.BETTER if better else DeltaColor.WORSE
            arrow = Arrow.UP if rn > ro else Arrow.DOWN
        out.append(
            Tile(
                metric=m,
                label=texts.t(lang, f"t_{m}"),
                value=texts.kpi_value(m, kpi, currency, lang, horizon),
                delta=delta,
                color=color,
                arrow=arrow,
                help=texts.t(lang, f"h_{m}"),
                note=note,
            )
        )
    return out


LTV_NOTE_SHARE = 0.005
"""The gross LTV is shown beside the net one when they differ by more than this share (half a percent)."""


def ltv_note(kpi: Mapping[str, float], currency: str, lang: str) -> str:
    """The net LTV with the gross one beside it (`LTV is net of what serving a customer costs …: 281 k ₽;
    before those costs (gross margin) it is 300 k ₽.`), when serving a customer costs something; else
    ""."""
    net, gross = float(kpi.get("ltv", math.nan)), float(kpi.get("ltv_gross", math.nan))
    if not (math.isfinite(net) and math.isfinite(gross)):
        return ""
    if abs(gross - net) <= LTV_NOTE_SHARE * max(abs(gross), 1.0):
        return ""
    return texts.t(
        lang,
        "tx_ltv_gross",
        net=texts.money(net, currency, lang, short=True),
        gross=texts.money(gross, currency, lang, short=True),
    )


def verdict(result: ExpectedResult, lang: str) -> str:
    """The sentence above the chart (`texts.verdict`, shared with the printed report), e.g. `At 2 250 ₽ a
    lead (Calls) you need 27.1 M ₽; the money comes back in month 87 (about 7 years).`"""
    return texts.verdict(result, lang)


def scenario_line(sc: Scenario, lang: str) -> str:
    """The line above the tiles: the scenario's name (in `lang`), horizon and currency (with its symbol if
    it has one)."""
    currency = texts.currency_phrase(sc.currency, lang)
    return texts.t(
        lang, "scenario_is", name=texts.item_name(sc, lang), horizon=sc.horizon_months, currency=currency
    )


# --- pinned what-ifs side by side ----------------------------------------------------------------------


def comparison(columns: Sequence[tuple[str, ExpectedResult]], base: int, lang: str) -> pd.DataFrame:
    """The tiles' KPIs of named results side by side (the scenario as loaded and the pinned what-ifs), as
    the page shows them: a row per KPI (`texts.kpi_value`, in the order of the tiles), a column per name,
    each figure followed in brackets by its difference against the `base`-th column's (0-based; left out
    where the figures are the same or either is `never`, `—` or unbounded). The index is named in `lang`;
    money in the first result's currency."""
    if not columns:
        return pd.DataFrame()
    currency = columns[0][1].scenario.currency
    against = columns[base][1].kpi
    table: dict[str, list[str]] = {}
    for i, (name, result) in enumerate(columns):
        horizon = result.scenario.horizon_months
        cells = []
        for m in TILE_METRICS:
            cell = texts.kpi_value(m, result.kpi, currency, lang, horizon)
            new, old = _compared(m, result.kpi, against, lang, horizon)
            if i != base and math.isfinite(new) and math.isfinite(old) and not _same(new, old):
                change = float(result.kpi[m]) - float(against[m])
                cell = f"{cell} ({texts.format_kpi(m, change, currency, lang, signed=True)})"
            cells.append(cell)
        table[name] = cells
    index = pd.Index([texts.t(lang, f"t_{m}") for m in TILE_METRICS], name=texts.t(lang, "pin_kpi"))
    return pd.DataFrame(table, index=index)


def comparison_columns(
    loaded: ExpectedResult, pins: Sequence[tuple[str, ExpectedResult]], against: str, lang: str
) -> tuple[list[tuple[str, ExpectedResult]], int]:
    """The comparison's columns, the scenario as loaded (named in `lang`) and then the pinned what-ifs, and
    the index of the one named `against`, the base (0, the scenario as loaded, if none is)."""
    columns = [(texts.t(lang, "series_preset"), loaded), *pins]
    return columns, next((i for i, (name, _) in enumerate(columns) if name == against), 0)


def report_pins(columns: Sequence[tuple[str, ExpectedResult]], base: int) -> list[tuple[str, Scenario]]:
    """The printed report's `pins` (`sim.report.pdf.report_pdf`, which compares every scenario with its
    first): the comparison's columns with the `base`-th (0-based) first, the others in their order; none
    when nothing is pinned."""
    if len(columns) < 2:
        return []
    first = [columns[base], *(c for i, c in enumerate(columns) if i != base)]
    return [(name, result.scenario) for name, result in first]


# --- the Monte Carlo band ----------------------------------------------------------------------------


def band_caption(band: Band, lang: str, expected_break_even: float | None = None) -> str:
    """The caption under the chart once the band is drawn: its runs, seed, seconds and break-even odds,
    and why the runs' median month can differ from the tile's expected one (left out when given the
    tile's `expected_break_even` and it is the same month)."""
    median = band.break_even_p50
    text = texts.t(
        lang,
        "band_ready",
        reps=texts.count(band.replications, lang, "run"),
        seed=band.seed,
        seconds=texts.number(band.seconds, lang, 1),
        p=texts.percent(band.p_break_even, lang, 0),
        median=texts.t(lang, "month_n", n=texts.number(median, lang))
        if math.isfinite(median)
        else texts.month(median, lang),
    )
    same = expected_break_even is not None and (
        (math.isnan(median) and math.isnan(expected_break_even)) or median == expected_break_even
    )
    return text if same else f"{text} {texts.t(lang, 'tx_band_why')}"


@dataclass(frozen=True)
class BandProgress:
    """The progress bar of a band not ready yet."""

    fraction: float
    """Share of the replications done, 0–1."""
    text: str


def band_progress(status: Status, lang: str) -> BandProgress:
    """The progress bar of a queued or running band job."""
    if status.state == JobState.RUNNING:
        text = texts.t(lang, "band_running", done=status.done, total=status.total)
    else:
        text = texts.t(lang, "band_queued")
    return BandProgress(status.done / max(status.total, 1), text)


# --- chart data ------------------------------------------------------------------------------------


def components_frame(result: ExpectedResult) -> pd.DataFrame:
    """Monthly cash flow by component, long format: month[, date], component, value (costs negative);
    `date`, the first day of the month, when the scenario has a first month."""
    a = result.arrays
    months = np.arange(1, result.scenario.horizon_months + 1)
    dates = month_dates(result.scenario)
    parts = [
        pd.DataFrame(
            {"month": months}
            | ({"date": dates.to_numpy()} if dates is not None else {})
            | {"component": name, "value": sign * a[name]}
        )
        for name, sign in CASH_COMPONENTS.items()
    ]
    return pd.concat(parts, ignore_index=True)


def cohort_frame(result: ExpectedResult) -> pd.DataFrame:
    """Each monthly cohort's cumulative margin against its acquisition cost, by age month.

    Cohort m is the customers won in month m; its acquisition cost is that month's lead spend, referral
    bonuses and salaries; its margin at age k is its customers × a new customer's expected cumulative
    margin (first sale included). Columns cohort, age, margin, cost, ratio (margin / cost), and `date` (the
    cohort's month) when the scenario has a first month; cohorts with no customers or no cost are left
    out.
    """
    sc = result.scenario
    a = result.arrays
    H = sc.horizon_months
    per_customer = np.cumsum(lifetime_tables(sc).expected_by_age("margin"))[:H]
    new = a["sales"]
    cost = a["lead_spend"] + a["referral_bonus"] + a["staff_cost"]
    rows = []
    for m in range(H):
        if new[m] <= 1e-9 or cost[m] <= 0:
            continue
        ages = np.arange(0, H - m)
        margin = new[m] * per_customer[ages]
        rows.append(
            pd.DataFrame(
                {"cohort": m + 1, "age": ages, "margin": margin, "cost": cost[m], "ratio": margin / cost[m]}
            )
        )
    if not rows:
        return pd.DataFrame(columns=["cohort", "age", "margin", "cost", "ratio"])
    out = pd.concat(rows, ignore_index=True)
    dates = month_dates(sc)
    if dates is not None:  # the cohort's calendar month (the heatmap names its rows by it)
        out["date"] = dates.to_numpy()[out["cohort"].to_numpy() - 1]
    return out


DESK_COLUMNS = ("staff", "lost_lead_share", "mean_wait_hours")


def desk_curve(scenario: Scenario) -> pd.DataFrame:
    """Lost-lead share and mean wait (hours) against salespeople, from the expected-value model: a row
    for every whole number of salespeople from 1 to about twice the current staff (at least four more,
    at most the lever's bound); columns staff, lost_lead_share, mean_wait_hours."""
    desk = scenario.sales_desk
    if desk is None:
        return pd.DataFrame(columns=list(DESK_COLUMNS))
    high = int(find_lever(scenario, "sales_desk.staff").high)
    top = min(high, max(2 * desk.staff, desk.staff + 4))
    tables = lifetime_tables(scenario)  # the desk does not change a customer's life
    rows = []
    for n in range(1, top + 1):
        _, k, _ = expected_arrays(scenario.override({"sales_desk.staff": n}), tables)
        rows.append((n, k["lost_lead_share"], k["mean_wait_hours"]))
    return pd.DataFrame(rows, columns=list(DESK_COLUMNS))


# --- downloads -------------------------------------------------------------------------------------


def file_stem(name: str) -> str:
    """A scenario's name as the stem of its downloads' file names (letters and digits, `_` for the rest)."""
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_") or "scenario"


def monthly_table(whatif: ExpectedResult, preset: ExpectedResult) -> pd.DataFrame:
    """The what-if's expected monthly ledger, with the preset's cumulative cash for comparison (and the
    first day of each month, `date`, after `month` when the what-if has a first month)."""
    out = whatif.monthly.drop(columns=["replication"]).copy()
    dates = month_dates(whatif.scenario)
    if dates is not None and "date" not in out.columns:
        out.insert(out.columns.get_loc("month") + 1, "date", dates.to_numpy())
    out["preset_cumulative_cash"] = to_horizon(preset.arrays["cumulative_cash"], len(out))
    return out


def kpi_table(whatif: ExpectedResult, preset: ExpectedResult) -> pd.DataFrame:
    """Every KPI of the what-if and of the preset as loaded."""
    return pd.DataFrame(
        {
            "kpi": list(whatif.kpi),
            "whatif": list(whatif.kpi.values()),
            "preset": [preset.kpi[k] for k in whatif.kpi],
        }
    )


DATE_FORMATS: dict[str, str] = {"en": "%Y-%m-%d", "ru": "%d.%m.%Y"}
"""A month's first day in a CSV, as the page's language writes dates (Excel reads either as a date)."""

CSV_SEPARATORS: dict[str, str] = {"en": ",", "ru": ";"}
"""Column separator of the CSV downloads: Russian Excel splits at `;` (its `,` is the decimal mark)."""

_XLSX_FORMATS: dict[str, str] = {
    "money": "#,##0",
    "share": "0.0%",
    "count": "#,##0.0",
    "hours": "0.0",
    "month": "0",
    "months": "0",
}
"""Excel number formats by column kind (Excel shows them with the reader's own separators)."""


def _special(name: str, x: float, lang: str) -> str | None:
    """The word for a figure that is not a plain number (`never`, `unbounded`, `—`), else None."""
    if math.isnan(x):
        return texts.t(lang, "tx_never") if name in NEVER_KPIS else texts.t(lang, "dash")
    if math.isinf(x):
        return texts.t(lang, "tx_unbounded") if x > 0 else texts.MINUS + "∞"
    return None


def _csv_cell(name: str, x: object, lang: str) -> str:
    """One CSV cell: `name`'s figure rounded as its column says (money whole, shares in %), with the decimal
    mark of `lang` and no thousands separator (so Excel reads it as a number)."""
    col = texts.COLUMNS.get(name)
    if col is not None and col.kind == "date" and hasattr(x, "strftime"):
        return x.strftime(DATE_FORMATS.get(lang, DATE_FORMATS["en"]))
    if col is None or col.kind == "text" or not isinstance(x, int | float | np.number):
        return str(x)
    value = float(x)
    word = _special(name, value, lang)
    if word is not None:
        return word
    shown = f"{100.0 * value if col.kind == 'share' else value:.{col.decimals}f}"
    if float(shown) == 0:
        shown = shown.lstrip("-")
    return shown.replace(".", ",") if lang == "ru" else shown


def csv_bytes(frame: pd.DataFrame, lang: str, currency: str) -> bytes:
    """A table as a CSV download in `lang`: headers from the text catalogue with their units (`Lead
    spend, ₽`), money in whole units, shares in %, `never` / `никогда` where a month never comes; English
    with `,` and a decimal point, Russian with `;` and a decimal comma; UTF-8 with a byte-order mark, so
    Excel reads the Cyrillic and the `₽`. A table of KPIs (a `kpi` column) is shown row by row as each KPI
    is."""
    rows = []
    kpis = "kpi" in frame.columns
    for record in frame.to_dict("records"):
        kind = record["kpi"] if kpis else None
        rows.append(
            [
                texts.column_label(x, lang, currency) if c == "kpi" else _csv_cell(kind or c, x, lang)
                for c, x in record.items()
            ]
        )
    headers = [texts.column_label(c, lang, currency, unit=not kpis) for c in frame.columns]
    table = pd.DataFrame(rows, columns=headers)
    text = table.to_csv(index=False, sep=CSV_SEPARATORS.get(lang, ","), lineterminator="\r\n")
    return text.encode("utf-8-sig")


def monthly_csv(whatif: ExpectedResult, preset: ExpectedResult, lang: str) -> bytes:
    """The monthly results download (`monthly_table`) as CSV in `lang` (see `csv_bytes`)."""
    return csv_bytes(monthly_table(whatif, preset), lang, whatif.scenario.currency)


def chart_csv(chart: pd.DataFrame, lang: str, currency: str) -> bytes:
    """The chart's data download (`cash_frame`) as CSV in `lang` (see `csv_bytes`)."""
    return csv_bytes(chart, lang, currency)


def workbook(
    whatif: ExpectedResult, preset: ExpectedResult, chart: pd.DataFrame, lang: str | None = None
) -> bytes:
    """The Excel download: the monthly table, the KPIs and the chart's data (`cash_frame`), a sheet each,
    named and headed in `lang` (None: the tables' own column names, for a program to read)."""
    names = ("monthly", "kpis", "cumulative_cash")
    if lang is not None:
        names = tuple(texts.t(lang, f"tx_sheet_{k}") for k in ("monthly", "kpis", "cash"))
    tables = (monthly_table(whatif, preset), kpi_table(whatif, preset), chart)
    return xlsx_bytes(dict(zip(names, tables, strict=True)), lang, whatif.scenario.currency)


def xlsx_bytes(sheets: dict[str, pd.DataFrame], lang: str | None = None, currency: str = "RUB") -> bytes:
    """An Excel workbook with one sheet per table: a bold header row (in `lang` with units, from the text
    catalogue; None: the column names as they are) frozen with the first column, widths to fit, number
    formats by column (money with thousands separators, shares in %, months whole) and words where a
    figure is `never` or unbounded. A table of KPIs (a `kpi` column) is formatted row by row."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    words = lang or "en"
    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=name[:31])
        kpis = "kpi" in frame.columns
        headers = [texts.column_label(c, lang, currency, unit=not kpis) if lang else str(c) for c in frame]
        sheet.append(headers)
        widths = [min(max(len(h), 8), 18) for h in headers]
        for r, record in enumerate(frame.to_dict("records"), start=2):
            kind = record["kpi"] if kpis else None
            for c, (column, x) in enumerate(record.items(), start=1):
                cell = sheet.cell(row=r, column=c)
                col = texts.COLUMNS.get(kind or column)
                if column == "kpi":
                    cell.value = texts.column_label(x, lang, currency) if lang else str(x)
                elif col is not None and col.kind == "date" and hasattr(x, "strftime"):
                    cell.value = pd.Timestamp(x).to_pydatetime()
                    cell.number_format = "mmm yyyy"  # Excel names the month in the reader's language
                elif not isinstance(x, int | float | np.number) or col is None:
                    cell.value = None if x is None else str(x)
                else:
                    word = _special(kind or column, float(x), words)
                    cell.value = float(x) if word is None else word
                    if word is None:
                        cell.number_format = _XLSX_FORMATS.get(col.kind, "0." + "0" * col.decimals)
                    else:
                        cell.alignment = Alignment(horizontal="right")
                shown = "" if cell.value is None else str(cell.value)
                if isinstance(cell.value, float):
                    shown = f"{cell.value:,.{col.decimals if col else 2}f}"
                elif hasattr(cell.value, "strftime"):
                    shown = "Sep 2027"  # as `mmm yyyy` shows it
                widths[c - 1] = max(widths[c - 1], min(len(shown) + 2, 40))
        for c, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(c)].width = width + 2
        lines = max(math.ceil(len(h) / (w + 1)) for h, w in zip(headers, widths, strict=True))
        sheet.row_dimensions[1].height = 15 * max(1, lines)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="E8EEF4")
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "B2"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


# --- the plan over time ----------------------------------------------------------------------------


def plan_table(
    part: str, rows: Sequence[Mapping[str, object]], levers: Mapping[str, PlanLever], sc: Scenario, lang: str
) -> pd.DataFrame:
    """A plan table as its editor shows it (`plans.COLUMNS[part]`): each row's lever by its name on the
    page (a lever the scenario does not have now by its path), values in the lever's units; the steps
    also show each step's calendar month when the scenario has a first month (a read-only `date`)."""
    columns = list(plans.COLUMNS[part])
    data: dict[str, list[object]] = {c: [] for c in columns}
    for row in rows:
        path = row.get("path")
        for c in columns:
            if c == "lever":
                lever = levers.get(str(path)) if path else None
                data[c].append(lever.label if lever is not None else path)
            else:
                data[c].append(_cell(row.get(c)))
    frame = pd.DataFrame(data, columns=columns)
    frame["lever"] = frame["lever"].astype(object)
    for c in columns:
        if c == "from_month":
            frame[c] = pd.array([None if v is None else round(v) for v in data[c]], dtype="Int64")
        elif c != "lever":
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    if part == "steps" and sc.start:
        frame["date"] = [
            texts.calendar_month(d, lang, short=True) if (d := _step_date(sc, m)) is not None else ""
            for m in data["from_month"]
        ]
    return frame


def _cell(x: object) -> float | None:
    """A table cell's number, None when empty or not a number."""
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _step_date(sc: Scenario, month: object) -> object:
    """The first day of a step's month (a whole month within the horizon), else None."""
    m = _cell(month)
    if m is None or not m.is_integer():
        return None
    return texts.month_date(sc, int(m))


def season_labels(sc: Scenario, lang: str) -> list[str]:
    """The seasonality table's column names: January … December (short) with a first month, else the
    months 1 … 12 of the plan."""
    if sc.start:
        return list(texts.MONTH_SHORT.get(lang, texts.MONTH_SHORT["en"]))
    return [texts.number(i, lang) for i in range(1, plans.SEASON_MONTHS + 1)]


def planned_levers(sc: Scenario, levers: Mapping[str, PlanLever]) -> list[str]:
    """The levers the scenario's plan moves (steps, trends or seasonality), by path, in page order."""
    from sim.model import plan

    moved = set(plan.planned_paths(sc))
    return [path for path in levers if path in moved]


def plan_path(sc: Scenario, lever: PlanLever) -> pd.DataFrame:
    """A planned lever's value in each month (columns month, value in the lever's units, and `date` with
    a first month): the line of `sim.report.charts.plan_chart`."""
    from sim.model import plan

    values = plan.values(sc, lever.path)
    shown = [lever.to_widget(float(v)) for v in values]
    frame = pd.DataFrame({"month": np.arange(1, sc.horizon_months + 1), "value": np.asarray(shown, float)})
    dates = plan.dates(sc)
    if dates is not None:
        frame.insert(1, "date", pd.to_datetime(dates))
    return frame


def plan_line(sc: Scenario, lang: str) -> str:
    """The line under the scenario's: what the plan over time changes and the calendar month of month 1
    (`Plan over time: 2 steps, 1 trend; month 1 is January 2027.`), or "" when nothing is planned."""
    steps = sum(len(s.values) for s in sc.plan)
    counts = ", ".join(
        texts.count(n, lang, noun)
        for n, noun in ((steps, "step"), (len(sc.trends), "trend"), (len(sc.seasonality), "season"))
        if n
    )
    first = texts.month_date(sc, 1)
    start = texts.t(lang, "pl_line_start", date=texts.calendar_month(first, lang)) if first else ""
    text = "; ".join(p for p in (counts, start) if p)
    return texts.t(lang, "pl_line", parts=text) if text else ""


# --- channels side by side -------------------------------------------------------------------------

CHANNEL_FIGURES: tuple[str, ...] = CHANNEL_KPI_COLUMNS
"""The channel table's figures, in its order: every `ExpectedResult.channel_kpis` column."""
_CHANNEL_HEADS = {
    "leads": "cn_leads",
    "sales": "cn_sales",
    "cac": "cn_cac",
    "leads_per_sale": "cn_leads_per_sale",
    "lost_share": "cn_lost",
    "ltv_to_cac": "cn_ltv_to_cac",
    "payback_months": "cn_payback",
}


def channel_names(sc: Scenario, lang: str) -> list[str]:
    """The channel tables' rows by name in `lang`: the paid channels in the scenario's order, then the
    referral leads (`Referrals` / `Рекомендации`)."""
    return [texts.item_name(c, lang) for c in sc.channels] + [texts.t(lang, "cn_referrals")]


def channel_table(result: ExpectedResult, lang: str) -> pd.DataFrame:
    """Each source of leads over the horizon, as the page shows it (side by side like the pinned what-ifs,
    so a phone reads it): a column per paid channel and one for the referral leads (left out when there
    are none), named in `lang`; a row per figure — leads and sales over the horizon, CAC, leads per sale,
    lost leads, LTV / CAC and one customer's payback — written as the tiles write them (`—` where a
    figure has no sale to divide by). Empty when the scenario has no leads at all."""
    sc = result.scenario
    kpis = result.channel_kpis
    currency, horizon = sc.currency, sc.horizon_months
    names = channel_names(sc, lang)
    rows: dict[str, list[str]] = {}
    for i, (_, k) in enumerate(kpis.iterrows()):
        referral = i == len(names) - 1
        leads, sales = float(k["leads"]), float(k["sales"])
        if referral and leads <= 0:
            continue
        none = not sales > 0
        cells = []
        for figure in CHANNEL_FIGURES:
            x = float(k[figure])
            if figure in ("leads", "sales"):
                cells.append(texts.number(x, lang))
            elif none and figure != "lost_share":
                cells.append(texts.t(lang, "dash"))
            elif figure == "lost_share":
                cells.append(texts.percent(x, lang, 1) if leads > 0 else texts.t(lang, "dash"))
            else:
                metric = {"lost_share": "lost_lead_share"}.get(figure, figure)
                cells.append(texts.format_kpi(metric, x, currency, lang, horizon=horizon))
        rows[names[i] if i < len(names) else str(k["channel"])] = cells
    index = pd.Index(
        [texts.t(lang, _CHANNEL_HEADS[f]) for f in CHANNEL_FIGURES], name=texts.t(lang, "pin_kpi")
    )
    return pd.DataFrame(rows, index=index)


def _break_even_change(new: float, change: float, lang: str, short: bool = False) -> str:
    """How the break-even month moves with the extra budget, in words (`short`: for a table's cell under
    the heading "Break-even")."""
    tail = "_short" if short else ""
    if math.isnan(new):
        return texts.t(lang, ("cn_be_never" if math.isnan(change) or change == 0 else "cn_be_lost") + tail)
    n = texts.number(new, lang)
    if math.isnan(change):
        return texts.t(lang, "cn_be_new" + tail, n=n)
    if change == 0:
        return texts.t(lang, "cn_be_same" + tail, n=n)
    k = texts.count(abs(change), lang, "month")
    return texts.t(lang, ("cn_be_sooner" if change < 0 else "cn_be_later") + tail, k=k, n=n)


def next_budget_text(nb: NextBudget, sc: Scenario, lang: str) -> str:
    """Where the next budget a month does most (`sim.next_budget`), in `lang`: the channel, the leads it
    buys, the cash by the end and the break-even month against the scenario now."""
    row = nb.table.iloc[0]
    i = int(row["channel"])
    channel = texts.item_name(sc.channels[i], lang) if i < len(sc.channels) else str(row["name"])
    gain = float(row["cash_change"])
    values = {
        "channel": channel,
        "leads": texts.number(float(row["extra_leads_per_month"]), lang, 1),
        "h": texts.number(nb.horizon_months, lang),
        "amount": texts.money(nb.amount, sc.currency, lang, short=True),
        "be": _break_even_change(
            float(row["break_even_month"]), _be_change(nb, float(row["break_even_month"])), lang
        ),
    }
    if gain > 0:
        return texts.t(lang, "cn_next_yes", gain=texts.money(gain, sc.currency, lang, short=True), **values)
    return texts.t(lang, "cn_next_no", loss=texts.money(-gain, sc.currency, lang, short=True), **values)


def _be_change(nb: NextBudget, new: float) -> float:
    """The break-even month's change against the scenario now (NaN: to or from never; 0: never both)."""
    old = nb.base_break_even
    if math.isnan(new) and math.isnan(old):
        return 0.0
    return new - old


def next_budget_table(nb: NextBudget, sc: Scenario, lang: str) -> pd.DataFrame:
    """Every paid channel with the extra budget, the best first: the leads it buys, the cash by the end
    and the break-even month against the scenario now, in `lang` (index: the channel)."""
    rows = []
    for _, r in nb.table.iterrows():
        i = int(r["channel"])
        new = float(r["break_even_month"])
        rows.append(
            [
                texts.item_name(sc.channels[i], lang) if i < len(sc.channels) else str(r["name"]),
                texts.number(float(r["extra_leads_per_month"]), lang, 1),
                texts.money(float(r["cash_change"]), sc.currency, lang, short=True, signed=True),
                _break_even_change(new, _be_change(nb, new), lang, short=True),
            ]
        )
    heads = [texts.t(lang, k) for k in ("cn_channel", "cn_extra_leads", "cn_cash_change", "cn_be_change")]
    return pd.DataFrame(rows, columns=heads).set_index(heads[0])


# --- customers alike or different ----------------------------------------------------------------------

SURVIVAL_POINTS = 4000
"""Quantiles of the Beta distribution averaged over for a cohort's survival when the churn lever is not
the Beta's own mean (θ scaled, capped at 1): an error well under 0.1 % of a customer, below what a chart
shows."""


def sbg_survival(alpha: float, beta: float, churn: float, ages: np.ndarray) -> np.ndarray:
    """A new customer's chance to still be a customer `ages` months after the purchase when customers
    differ (docs/model.md, "Customers differ"): each draws θ ~ Beta(α, β) and leaves each month with
    min(1, θ × churn / E[θ]). With churn = E[θ] it is the closed form B(α, β + t) / B(α, β); else the mean
    of (1 − min(1, θ × churn / E[θ]))^t over SURVIVAL_POINTS quantiles of θ."""
    from scipy import special, stats

    t = np.asarray(ages, dtype=float)
    mean = alpha / (alpha + beta)
    scale = churn / mean
    if abs(scale - 1.0) <= 1e-12:
        log = special.gammaln(beta + t) - special.gammaln(beta) + special.gammaln(alpha + beta)
        return np.exp(log - special.gammaln(alpha + beta + t))
    u = (np.arange(SURVIVAL_POINTS) + 0.5) / SURVIVAL_POINTS
    stay = 1.0 - np.minimum(1.0, scale * stats.beta.ppf(u, alpha, beta))
    return np.power.outer(stay, t).mean(axis=0)


def retention_frame(sc: Scenario, lang: str) -> pd.DataFrame:
    """A cohort's survival by months after the purchase over the horizon, at the churn lever's value,
    without the programme and problems: with churn the same for everyone, (1 − churn)^t, and, when
    customers differ, `sbg_survival`. Long format: age, series (the line's name in `lang`), share (0–1),
    t_share (the share as the page writes it); one series when churn is the same for everyone."""
    r = sc.retention
    ages = np.arange(0, sc.horizon_months + 1)
    lines = [(texts.t(lang, "rt_series_constant"), (1.0 - r.monthly_churn) ** ages)]
    if r.model == "sbg" and r.alpha is not None and r.beta is not None:
        lines.append((texts.t(lang, "rt_series_sbg"), sbg_survival(r.alpha, r.beta, r.monthly_churn, ages)))
    parts = [
        pd.DataFrame(
            {
                "age": ages,
                "series": name,
                "share": share,
                "t_share": [texts.percent(x, lang, 1) for x in share],
            }
        )
        for name, share in lines
    ]
    return pd.concat(parts, ignore_index=True)


def retention_caption(frame: pd.DataFrame, sc: Scenario, lang: str) -> str:
    """What the survival chart says in a sentence: a month's customers left after a year and at the
    horizon, churn the same for everyone against customers who differ ("" with one line or a horizon
    shorter than a year)."""
    names = list(dict.fromkeys(frame["series"]))
    H = sc.horizon_months
    if len(names) < 2 or H < 12:
        return ""

    def at(name: str, age: int) -> str:
        rows = frame[(frame["series"] == name) & (frame["age"] == age)]
        return texts.percent(float(rows["share"].iloc[0]), lang, 0)

    return texts.t(
        lang,
        "rt_caption",
        alike=at(names[0], 12),
        differ=at(names[1], 12),
        span=texts.horizon_span(H, lang),
        alike_end=at(names[0], H),
        differ_end=at(names[1], H),
        churn=texts.percent(sc.retention.monthly_churn, lang, 1),
    )


# --- values not known for sure ----------------------------------------------------------------------------


def ranges_table(rows: Sequence[Mapping[str, object]], levers: Mapping[str, PlanLever]) -> pd.DataFrame:
    """The ranges table as its editor shows it (`plans.RANGE_COLUMNS`): each row's lever by its name on the
    page (a lever the scenario does not have now by its path), values in the lever's widget units."""
    data: dict[str, list[object]] = {c: [] for c in plans.RANGE_COLUMNS}
    for row in rows:
        path = row.get("path")
        lever = levers.get(str(path)) if path else None
        data["lever"].append(lever.label if lever is not None else path)
        for c in plans.RANGE_COLUMNS[1:]:
            data[c].append(_cell(row.get(c)))
    frame = pd.DataFrame(data, columns=list(plans.RANGE_COLUMNS))
    frame["lever"] = frame["lever"].astype(object)
    for c in plans.RANGE_COLUMNS[1:]:
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    return frame


@dataclass(frozen=True)
class Chance:
    """The tile of the chance to break even by a month, and where its figure comes from."""

    label: str
    value: str
    help: str
    caption: str


def chance(
    sc: Scenario, by_month: int, lang: str, band: Band | None = None, fast: object | None = None
) -> Chance | None:
    """The chance to break even by month `by_month` (within the horizon): from the Monte Carlo `band` when
    it is there (each run drawing the ranges), else from `fast`, the expected model over draws of the
    ranges (`sim.expected_band`); None when neither is given."""
    n = min(max(int(by_month), 1), sc.horizon_months)
    if band is not None:
        p = band.p_break_even_by(n)
        key = "un_p_band" if sc.uncertainty else "un_p_band_plain"
        caption = texts.t(lang, key, n=texts.number(band.replications, lang))
    elif fast is not None:
        p = float(fast.p_break_even_by(n))  # type: ignore[attr-defined]
        caption = texts.t(lang, "un_p_fast", n=texts.number(len(fast.replications), lang))  # type: ignore[attr-defined]
    else:
        return None
    return Chance(
        label=texts.t(lang, "un_p_label", n=texts.number(n, lang)),
        value=texts.t(lang, "dash") if math.isnan(p) else texts.percent(p, lang, 0),
        help=texts.t(lang, "un_p_help", n=texts.number(n, lang)),
        caption=caption,
    )


def drivers_frame(table: pd.DataFrame, names: Mapping[str, str], lang: str) -> pd.DataFrame:
    """`sim.drivers`' table as the chart draws it: two rows per uncertain lever, its total index (with its
    interactions) and its first-order index (on its own), in the table's order (largest total first).
    Columns lever (its name on the page, with its range), kind (`total`, `first`), value (0–1, clipped:
    the estimates may stray a little past the ends), t_value (as the page writes it)."""
    rows = []
    for _, r in table.iterrows():
        name = names.get(str(r["lever"]), _display_name(str(r["label"])))
        for kind, column in (("total", "ST"), ("first", "S1")):
            x = float(r[column])
            shown = min(max(x, 0.0), 1.0) if math.isfinite(x) else 0.0
            rows.append(
                {"lever": name, "kind": kind, "value": shown, "t_value": texts.percent(shown, lang, 0)}
            )
    return pd.DataFrame(rows, columns=["lever", "kind", "value", "t_value"])


def _display_name(label: str) -> str:
    return label.replace("->", "→")
