"""What the page and the printed report show alike: the tiles' KPIs, the cumulative cash frame and the
Monte Carlo band's summary (plain DataFrames and dataclasses, no Streamlit, no Altair)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.accounting.frames import share_by_month
from sim.analytic.expected_value import ExpectedResult
from sim.model import plan
from sim.model.scenario import Scenario

if TYPE_CHECKING:
    from sim.engine.runs import SimulationResult

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
"""The KPI tiles, in the page's (and the report's) order."""


@dataclass(frozen=True)
class BandSummary:
    """A Monte Carlo band of the cumulative cash and the break-even odds (see `band_summary`)."""

    frame: pd.DataFrame
    """Per month: month, mean, p10, p50, p90 of the cumulative cash."""
    replications: int
    seed: int
    p_break_even: float
    """Share of runs that break even within the horizon."""
    break_even_p50: float
    """Median break-even month (NaN: most runs never break even)."""
    break_even_months: tuple[float, ...]
    """Each run's break-even month (NaN: never within the horizon), in replication order."""

    def p_break_even_by(self, month: int) -> float:
        """The share of runs that break even by `month` (a whole month 0 … horizon; never counts as not)."""
        return share_by_month(np.asarray(self.break_even_months, dtype=float), month, len(self.frame))


def band_summary(result: SimulationResult) -> BandSummary:
    """The cumulative cash band (P10–P90) and break-even odds of a `sim.simulate` result."""
    summary = result.summary()
    return BandSummary(
        frame=result.bands("cumulative_cash"),
        replications=result.replications,
        seed=result.seed,
        p_break_even=float(summary.loc["p_break_even", "mean"]),
        break_even_p50=float(summary.loc["break_even_month", "p50"]),
        break_even_months=tuple(float(x) for x in result.kpis["break_even_month"]),
    )


def month_dates(scenario: Scenario) -> pd.Series | None:
    """The first day of each month 1 … horizon as a datetime column (`sim.model.plan.dates`), or None when
    the scenario has no first month (`start`)."""
    dates = plan.dates(scenario)
    return None if dates is None else pd.Series(pd.to_datetime(dates), name="date")


def to_horizon(values: np.ndarray, months: int) -> np.ndarray:
    """A monthly series cut to `months`, or padded with NaN if it is shorter (another horizon)."""
    return np.concatenate([values, np.full(max(0, months - values.size), np.nan)])[:months]


def cash_frame(
    whatif: ExpectedResult, preset: ExpectedResult, band: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Cumulative cash by month: the what-if's expected curve, the preset's, and the band if given
    (columns month[, date], whatif, preset[, mean, p10, p50, p90]; money in the scenario's currency; `date`,
    the first day of each month, when the what-if has a first month).

    `band` is `SimulationResult.bands("cumulative_cash")` (month, mean, p10, p50, p90), used only if it
    covers the what-if's horizon exactly.
    """
    H = whatif.scenario.horizon_months
    months = np.arange(1, H + 1)
    frame = pd.DataFrame({"month": months, "whatif": whatif.arrays["cumulative_cash"]})
    dates = month_dates(whatif.scenario)
    if dates is not None:
        frame.insert(1, "date", dates)
    frame["preset"] = to_horizon(preset.arrays["cumulative_cash"], H)
    if band is not None and len(band) == H:
        for col in ("mean", "p10", "p50", "p90"):
            if col in band:
                frame[col] = band[col].to_numpy()
    return frame


def pins_frame(pins: Sequence[tuple[str, ExpectedResult]], months: int) -> pd.DataFrame:
    """Each pinned what-if's expected cumulative cash by month, long format (columns month, name, value; in
    the scenario's currency), over `months` (a longer horizon cut, a shorter one padded with NaN): the
    pins' lines of `sim.report.charts.cash_chart`."""
    month = np.arange(1, months + 1)
    parts = [
        pd.DataFrame({"month": month, "name": name, "value": to_horizon(r.arrays["cumulative_cash"], months)})
        for name, r in pins
    ]
    if not parts:
        return pd.DataFrame({"month": [], "name": [], "value": []})
    return pd.concat(parts, ignore_index=True)
