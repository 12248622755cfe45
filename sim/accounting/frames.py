"""The one place where pandas DataFrames are built from the engine's and the models' arrays."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.accounting.ledger import (
    CHANNEL_COLUMNS,
    CHANNEL_KPI_COLUMNS,
    COST_COMPONENTS,
    KPI_COLUMNS,
    MONTHLY_COLUMNS,
    NEVER_KPIS,
)
from sim.model.calendar import year_of

REFERRALS_CHANNEL = "referrals"
"""The `channel` name of the referral leads' row in the channel tables."""


def _date_column(dates: Sequence[dt.date], repeat: int, tile: int) -> np.ndarray:
    """The first day of each month as datetime64[ns], each month `repeat` times, the whole `tile` times."""
    days = np.asarray([np.datetime64(d, "D") for d in dates]).astype("datetime64[ns]")
    return np.tile(np.repeat(days, repeat), tile)


def monthly_frame(
    runs: Sequence[dict[str, np.ndarray]],
    replications: Sequence[int] | None = None,
    dates: Sequence[dt.date] | None = None,
) -> pd.DataFrame:
    """One row per (replication, month); `month` is 1 … horizon; with `dates` (the first day of each
    month, `sim.model.plan.dates`) a `date` column after `month`."""
    reps = list(range(len(runs))) if replications is None else list(replications)
    head = ["replication", "month"] + (["date"] if dates is not None else [])
    if not runs:
        return pd.DataFrame(columns=[*head, *MONTHLY_COLUMNS])
    H = len(runs[0]["sales"])
    data: dict[str, np.ndarray] = {
        "replication": np.repeat(np.asarray(reps, dtype=np.int64), H),
        "month": np.tile(np.arange(1, H + 1, dtype=np.int64), len(runs)),
    }
    if dates is not None:
        data["date"] = _date_column(dates, 1, len(runs))
    for col in MONTHLY_COLUMNS:
        data[col] = np.concatenate([np.asarray(r[col], dtype=float) for r in runs])
    return pd.DataFrame(data)


def channel_names(names: Sequence[str]) -> list[str]:
    """The `channel` values of the channel tables: the paid channels' names, then `referrals`."""
    return [*names, REFERRALS_CHANNEL]


def channel_frame(
    runs: Sequence[dict[str, np.ndarray]],
    names: Sequence[str],
    replications: Sequence[int] | None = None,
    dates: Sequence[dt.date] | None = None,
) -> pd.DataFrame:
    """One row per (replication, month, channel), months 1 … horizon, channels in the scenario's order
    and `referrals` last: `sim.accounting.ledger.CHANNEL_COLUMNS` from each run's arrays of shape
    (channels + 1, horizon) (`names`: the paid channels' names); with `dates`, a `date` after `month`."""
    reps = list(range(len(runs))) if replications is None else list(replications)
    head = ["replication", "month"] + (["date"] if dates is not None else []) + ["channel"]
    labels = channel_names(names)
    if not runs:
        return pd.DataFrame(columns=[*head, *CHANNEL_COLUMNS])
    K = len(labels)
    H = runs[0][CHANNEL_COLUMNS[0]].shape[1]
    data: dict[str, np.ndarray] = {
        "replication": np.repeat(np.asarray(reps, dtype=np.int64), H * K),
        "month": np.tile(np.repeat(np.arange(1, H + 1, dtype=np.int64), K), len(runs)),
    }
    if dates is not None:
        data["date"] = _date_column(dates, K, len(runs))
    data["channel"] = np.tile(np.asarray(labels, dtype=object), H * len(runs))
    for col in CHANNEL_COLUMNS:
        # (channels + 1, H) -> month-major rows: month 1's channels, month 2's …
        data[col] = np.concatenate([np.asarray(r[col], dtype=float).T.ravel() for r in runs])
    return pd.DataFrame(data)


def channel_kpi_frame(
    rows: Sequence[dict[str, np.ndarray]], names: Sequence[str], replications: Sequence[int] | None = None
) -> pd.DataFrame:
    """One row per (replication, channel): `sim.accounting.ledger.CHANNEL_KPI_COLUMNS` from each run's
    arrays over channels + 1 (referrals last)."""
    reps = list(range(len(rows))) if replications is None else list(replications)
    labels = channel_names(names)
    K = len(labels)
    data: dict[str, object] = {
        "replication": np.repeat(np.asarray(reps, dtype=np.int64), K),
        "channel": np.tile(np.asarray(labels, dtype=object), len(rows)),
    }
    for col in CHANNEL_KPI_COLUMNS:
        data[col] = np.concatenate([np.asarray(r[col], dtype=float) for r in rows]) if rows else np.zeros(0)
    return pd.DataFrame(data)


def kpi_frame(rows: Sequence[dict[str, float]], replications: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per replication with every KPI."""
    reps = list(range(len(rows))) if replications is None else list(replications)
    data: dict[str, object] = {"replication": np.asarray(reps, dtype=np.int64)}
    for col in KPI_COLUMNS:
        data[col] = np.array([r[col] for r in rows], dtype=float)
    return pd.DataFrame(data)


def draws_frame(
    rows: Sequence[dict[str, float | int]], levers: Sequence[str], replications: Sequence[int] | None = None
) -> pd.DataFrame:
    """One row per replication: `replication` and each uncertain lever's drawn value (a column named by
    its path, in `levers`' order; whole numbers for a whole-number lever). No lever: no rows."""
    if not levers:
        return pd.DataFrame({"replication": np.zeros(0, dtype=np.int64)})
    reps = list(range(len(rows))) if replications is None else list(replications)
    data: dict[str, object] = {"replication": np.asarray(reps, dtype=np.int64)}
    for path in levers:
        values = [r[path] for r in rows]
        whole = all(isinstance(v, int | np.integer) for v in values)
        data[path] = np.asarray(values, dtype=np.int64 if whole and values else float)
    return pd.DataFrame(data)


def share_by_month(break_even: np.ndarray, month: int, horizon: int) -> float:
    """The share of runs whose break-even month (NaN: never within the horizon) is at most `month`, a
    whole number 0 … horizon (past the horizon a "never" might have come: not known); NaN if no runs."""
    if not isinstance(month, int | np.integer) or isinstance(month, bool) or not 0 <= month <= horizon:
        raise ValueError(f"month = {month!r}: must be a whole number from 0 to the horizon, {horizon}")
    x = np.asarray(break_even, dtype=float)
    if x.size == 0:
        return float("nan")
    return float(np.count_nonzero(x <= month) / x.size)  # NaN <= month is False: never counts as not


def bands_frame(monthly: pd.DataFrame, column: str, quantiles: Sequence[float]) -> pd.DataFrame:
    """Per month: mean and the given quantiles of `column` over replications (`p10`, `p50` …)."""
    grouped = monthly.groupby("month")[column]
    out = pd.DataFrame({"month": np.sort(monthly["month"].unique())})
    out["mean"] = grouped.mean().to_numpy()
    for q in quantiles:
        out[f"p{round(q * 100):g}"] = grouped.quantile(q).to_numpy()
    return out


def summary_frame(kpis: pd.DataFrame) -> pd.DataFrame:
    """Each KPI's mean, p10, p50, p90 over replications, and the probability of breaking even.

    For break-even and payback, NaN means "not within the horizon": quantiles treat it as later than
    any month (so a median of NaN says most runs never get there) and the mean is over the runs that do.
    """
    rows = []
    for col in KPI_COLUMNS:
        x = kpis[col].to_numpy(dtype=float)
        finite = x[np.isfinite(x)]
        if col in NEVER_KPIS:
            never = 1e300  # later than any month; quantiles at or past it mean "never"
            ranked = np.where(np.isnan(x), never, x)
            qs = np.quantile(ranked, [0.1, 0.5, 0.9], method="inverted_cdf") if x.size else [np.nan] * 3
            qs = [float(q) if q < never else np.nan for q in qs]
        else:
            valid = x[~np.isnan(x)]
            qs = np.quantile(valid, [0.1, 0.5, 0.9]) if valid.size else [np.nan] * 3
        mean = (
            float(finite.mean())
            if finite.size
            else (float(np.mean(x)) if x.size and np.all(np.isinf(x)) else np.nan)
        )
        rows.append({"kpi": col, "mean": mean, "p10": qs[0], "p50": qs[1], "p90": qs[2]})
    be = kpis["break_even_month"].to_numpy(dtype=float)
    p = float(np.mean(~np.isnan(be))) if be.size else np.nan
    rows.append({"kpi": "p_break_even", "mean": p, "p10": np.nan, "p50": np.nan, "p90": np.nan})
    return pd.DataFrame(rows).set_index("kpi")


YEARLY_ITEMS: tuple[str, ...] = ("margin", *COST_COMPONENTS, "net_cash")
"""Rows of the yearly comparison table."""


def yearly_frame(monthly: pd.DataFrame) -> pd.DataFrame:
    """Mean over replications of each yearly item: rows (year, item), one value column `value`."""
    m = monthly.assign(year=year_of(monthly["month"]))
    per_rep = m.groupby(["replication", "year"])[list(YEARLY_ITEMS)].sum()
    mean = per_rep.groupby("year").mean()
    return mean.stack().rename("value").rename_axis(["year", "item"]).reset_index()


def comparison_frame(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Join two `yearly_frame`s: columns year, item, a, b, difference (b - a)."""
    out = a.rename(columns={"value": "a"}).merge(b.rename(columns={"value": "b"}), on=["year", "item"])
    out["difference"] = out["b"] - out["a"]
    return out
