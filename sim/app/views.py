"""What the app shows, computed without Streamlit: KPI tiles, chart data, the band's caption, tables and
downloads (the answers to the owner's questions are in `sim.app.answers`).

Every function takes scenarios and results and returns plain data (dataclasses, DataFrames, text), so it is
tested and fuzzed without a browser; `app.py` only lays it out.
"""

from __future__ import annotations

import enum
import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.accounting.ledger import CASH_COMPONENTS, NEVER_KPIS
from sim.accounting.lifetimes import lifetime_tables
from sim.analytic.expected_value import ExpectedResult, expected_arrays
from sim.app.band import JobState
from sim.decisions.metrics import METRICS
from sim.model.levers import find_lever
from sim.model.scenario import Scenario
from sim.report import texts

if TYPE_CHECKING:
    from sim.app.band import Band, Status

TILE_METRICS: tuple[str, ...] = (
    "break_even_month",
    "max_cash_need",
    "cac",
    "ltv",
    "ltv_to_cac",
    "payback_months",
    "leads_per_sale",
    "lost_lead_share",
)
"""The KPI tiles, in page order."""

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
    value: str
    delta: str
    color: DeltaColor
    arrow: Arrow
    help: str


def _ranked(metric: str, x: float) -> float:
    return math.inf if (metric in NEVER_KPIS and math.isnan(x)) else x


def tiles(kpi: dict[str, float], base: dict[str, float], currency: str, lang: str) -> list[Tile]:
    """The KPI tiles of the what-if (`kpi`) against the preset as loaded (`base`)."""
    out = []
    for m in TILE_METRICS:
        new, old = float(kpi[m]), float(base[m])
        rn, ro = _ranked(m, new), _ranked(m, old)
        lower = m in _LOWER_BETTER
        if (
            (math.isnan(rn) and math.isnan(ro))
            or rn == ro
            or (math.isfinite(rn) and math.isfinite(ro) and abs(rn - ro) <= 1e-9 * max(1.0, abs(ro)))
        ):
            delta, color, arrow = texts.t(lang, "same"), DeltaColor.SAME, Arrow.OFF
        elif math.isnan(rn) or math.isnan(ro):
            delta = texts.t(lang, "was", value=texts.format_kpi(m, old, currency, lang))
            color, arrow = DeltaColor.SAME, Arrow.OFF
        else:
            if math.isfinite(rn) and math.isfinite(ro):
                delta = texts.format_kpi(m, new - old, currency, lang, signed=True)
            else:
                delta = texts.t(lang, "was", value=texts.format_kpi(m, old, currency, lang))
            better = (rn < ro) if lower else (rn > ro)
            color = DeltaColor.BETTER if better else DeltaColor.WORSE
            arrow = Arrow.UP if rn > ro else Arrow.DOWN
        out.append(
            Tile(
                metric=m,
                label=texts.t(lang, f"t_{m}"),
                value=texts.format_kpi(m, new, currency, lang),
                delta=delta,
                color=color,
                arrow=arrow,
                help=texts.t(lang, f"h_{m}"),
            )
        )
    return out


def scenario_line(sc: Scenario, lang: str) -> str:
    """The line above the tiles: the scenario's name, horizon and currency (with its symbol if it has one)."""
    sym = texts.symbol(sc.currency)
    currency = f"{sc.currency} ({sym})" if sym != sc.currency else sc.currency
    return texts.t(lang, "scenario_is", name=sc.name, horizon=sc.horizon_months, currency=currency)


# --- the Monte Carlo band ----------------------------------------------------------------------------


def band_caption(band: Band, lang: str) -> str:
    """The caption under the chart once the band is drawn: its runs, seed, seconds and break-even odds."""
    return texts.t(
        lang,
        "band_ready",
        reps=band.replications,
        seed=band.seed,
        seconds=texts.number(band.seconds, lang, 1),
        p=texts.percent(band.p_break_even, lang, 0),
        median=texts.month(band.break_even_p50, lang),
    )


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


def _to_horizon(values: np.ndarray, months: int) -> np.ndarray:
    """A monthly series cut to `months`, or padded with NaN if it is shorter (another horizon)."""
    return np.concatenate([values, np.full(max(0, months - values.size), np.nan)])[:months]


def cash_frame(
    whatif: ExpectedResult, preset: ExpectedResult, band: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Cumulative cash by month: the what-if's expected curve, the preset's, and the band if given
    (columns month, whatif, preset[, mean, p10, p50, p90])."""
    H = whatif.scenario.horizon_months
    months = np.arange(1, H + 1)
    frame = pd.DataFrame({"month": months, "whatif": whatif.arrays["cumulative_cash"]})
    frame["preset"] = _to_horizon(preset.arrays["cumulative_cash"], H)
    if band is not None and len(band) == H:
        for col in ("mean", "p10", "p50", "p90"):
            if col in band:
                frame[col] = band[col].to_numpy()
    return frame


def components_frame(result: ExpectedResult) -> pd.DataFrame:
    """Monthly cash flow by component, long format: month, component, value (costs negative)."""
    a = result.arrays
    months = np.arange(1, result.scenario.horizon_months + 1)
    parts = [
        pd.DataFrame({"month": months, "component": name, "value": sign * a[name]})
        for name, sign in CASH_COMPONENTS.items()
    ]
    return pd.concat(parts, ignore_index=True)


def cohort_frame(result: ExpectedResult) -> pd.DataFrame:
    """Each monthly cohort's cumulative margin against its acquisition cost, by age month.

    Cohort m is the customers won in month m; its acquisition cost is that month's lead spend, referral
    bonuses and salaries; its margin at age k is its customers × a new customer's expected cumulative
    margin (first sale included). Columns cohort, age, margin, cost, ratio (margin / cost); cohorts with
    no customers or no cost are left out.
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
    return pd.concat(rows, ignore_index=True)


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
    """The what-if's expected monthly ledger, with the preset's cumulative cash for comparison."""
    out = whatif.monthly.drop(columns=["replication"]).copy()
    out["preset_cumulative_cash"] = _to_horizon(preset.arrays["cumulative_cash"], len(out))
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


def workbook(whatif: ExpectedResult, preset: ExpectedResult, chart: pd.DataFrame) -> bytes:
    """The Excel download: the monthly table, the KPIs and the chart's data (`cash_frame`), a sheet each."""
    sheets = {
        "monthly": monthly_table(whatif, preset),
        "kpis": kpi_table(whatif, preset),
        "cumulative_cash": chart,
    }
    return xlsx_bytes(sheets)


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An Excel workbook with one sheet per table."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.replace([np.inf, -np.inf], np.nan).to_excel(writer, sheet_name=name[:31], index=False)
    return buf.getvalue()
