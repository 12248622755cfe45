"""Running the engine over replications, the result object and paired comparisons."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.accounting import frames
from sim.accounting.ledger import CHANNEL_COLUMNS, channel_kpis, complete_monthly, kpis
from sim.accounting.lifetimes import LifetimeTables, lifetime_tables
from sim.engine.log import EventLog, event_log
from sim.engine.replication import run_replication
from sim.engine.streams import drawn_scenario
from sim.model import plan
from sim.model.numbers import whole_number
from sim.model.scenario import Scenario, load_scenario
from sim.version import __version__

Progress = Callable[[int, int], None]
"""Called as progress(done, total) after each replication."""


@dataclass(frozen=True)
class SimulationResult:
    """Monthly table, KPIs and the run record of `simulate`."""

    scenario: Scenario
    seed: int
    replications: int
    monthly: pd.DataFrame
    """One row per (replication, month): see `sim.accounting.ledger.MONTHLY_COLUMNS`; with the scenario's
    `start`, a `date` column (the first day of the month) after `month`."""
    kpis: pd.DataFrame
    """One row per replication: see `sim.accounting.ledger.KPI_COLUMNS`."""
    record: dict[str, Any] = field(default_factory=dict)
    """The run record: scenario, seed, replications, package version, time."""
    channels: pd.DataFrame = field(default_factory=pd.DataFrame)
    """One row per (replication, month, channel): `replication`, `month` (`date` with `start`),
    `channel` (the paid channels' names, then `referrals`) and `sim.accounting.ledger.CHANNEL_COLUMNS`."""
    channel_kpis: pd.DataFrame = field(default_factory=pd.DataFrame)
    """One row per (replication, channel): `sim.accounting.ledger.CHANNEL_KPI_COLUMNS` over the horizon."""
    draws: pd.DataFrame = field(default_factory=pd.DataFrame)
    """With `[uncertainty]`: one row per replication, `replication` and each uncertain lever's drawn value
    (column named by its path); without, no rows."""
    records: EventLog | None = None
    """With `simulate(..., records=True)`: every lead, customer and repeat visit of every replication
    (`sim.engine.log.EventLog`: `leads`, `customers`, `visits`, each with a `replication` column); None
    without."""

    def bands(
        self, column: str = "cumulative_cash", quantiles: Sequence[float] = (0.1, 0.5, 0.9)
    ) -> pd.DataFrame:
        """Per month: the mean and quantiles of `column` over replications (columns mean, p10, p50 …)."""
        if column not in self.monthly.columns or column in ("replication", "month", "date"):
            raise ValueError(f"no monthly column {column!r}")
        return frames.bands_frame(self.monthly, column, quantiles)

    def summary(self) -> pd.DataFrame:
        """Each KPI's mean, p10, p50, p90 and the probability of breaking even within the horizon."""
        return frames.summary_frame(self.kpis)

    def p_break_even_by(self, month: int) -> float:
        """The share of replications whose break-even month is at most `month` (0 … horizon; a "never"
        counts as not); `p_break_even_by(horizon)` is the summary's `p_break_even`."""
        be = self.kpis["break_even_month"].to_numpy(dtype=float)
        return frames.share_by_month(be, month, self.scenario.horizon_months)

    def save(self, directory: str | Path) -> Path:
        """Write monthly.parquet, kpis.parquet, channels.parquet, channel_kpis.parquet, run.json and, with
        `[uncertainty]`, draws.parquet (the drawn values) into `directory` (created if needed)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        tables = (
            ("monthly", self.monthly),
            ("kpis", self.kpis),
            ("channels", self.channels),
            ("channel_kpis", self.channel_kpis),
            *((("draws", self.draws),) if self.scenario.uncertainty else ()),
        )
        for name, df in tables:
            tmp = out / f".{name}.parquet.tmp"
            df.to_parquet(tmp, index=False)
            os.replace(tmp, out / f"{name}.parquet")
        tmp = out / ".run.json.tmp"
        tmp.write_text(json.dumps(self.record, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, out / "run.json")
        return out


@dataclass(frozen=True)
class OneRun:
    """What one replication gives, as arrays (`frames` turns many of them into tables)."""

    monthly: dict[str, np.ndarray]
    """`sim.accounting.ledger.MONTHLY_COLUMNS`, arrays over months."""
    kpis: dict[str, float]
    """`sim.accounting.ledger.KPI_COLUMNS`."""
    channels: dict[str, np.ndarray]
    """`sim.accounting.ledger.CHANNEL_COLUMNS`, arrays of shape (channels + 1, months), referrals last."""
    channel_kpis: dict[str, np.ndarray]
    """`sim.accounting.ledger.CHANNEL_KPI_COLUMNS`, arrays over channels + 1, referrals last."""
    draws: dict[str, float | int] = field(default_factory=dict)
    """The drawn value of each uncertain lever, by path (empty without `[uncertainty]`)."""
    records: dict[str, dict[str, np.ndarray]] | None = None
    """With `records=True`: the event log's arrays (`sim.engine.log.RunLog.arrays`); None without."""


def run_full(
    scenario: Scenario,
    seed: int,
    replication: int,
    tables: LifetimeTables | None = None,
    records: bool = False,
) -> OneRun:
    """One replication: its monthly columns, KPIs, per-channel months and per-channel KPIs. `tables` are
    the scenario's `lifetime_tables` (shared by replications; computed here if None). With
    `[uncertainty]` the replication runs its drawn scenario (`drawn_scenario`) with that scenario's own
    tables (`tables` is then not used), and `OneRun.draws` holds the drawn values. With `records`,
    `OneRun.records` holds its event log (the results are the same)."""
    draws: dict[str, float | int] = {}
    if scenario.uncertainty:
        scenario, draws = drawn_scenario(scenario, seed, replication)
        tables = lifetime_tables(scenario)
    elif tables is None:
        tables = lifetime_tables(scenario)
    out = run_replication(scenario, seed, replication, tables, records)
    monthly = complete_monthly(scenario, out.monthly)
    # With no new customer in a run, the LTV of a (hypothetical) new customer is its expectation.
    n = out.ltv_count
    ltv = out.ltv_sum / n if n else tables.ltv
    ltv_gross = out.ltv_gross_sum / n if n else tables.ltv_gross
    row = kpis(scenario, monthly, tables, ltv, ltv_gross, out.desk_busy_days, out.desk_open_days)
    totals = {col: out.channels[col].sum(axis=1) for col in CHANNEL_COLUMNS}
    per_channel = channel_kpis(totals, float(monthly["staff_cost"].sum()), ltv, tables)
    return OneRun(
        monthly=monthly,
        kpis=row,
        channels=out.channels,
        channel_kpis=per_channel,
        draws=draws,
        records=out.log.arrays() if out.log is not None else None,
    )


def run_one(
    scenario: Scenario, seed: int, replication: int, tables: LifetimeTables | None = None
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """One replication: its monthly columns (`sim.accounting.ledger.MONTHLY_COLUMNS`, arrays over months)
    and its KPIs (`run_full` gives the channels and the drawn values too). `tables` are the scenario's
    `lifetime_tables` (not used with `[uncertainty]`: each replication has its drawn scenario's)."""
    one = run_full(scenario, seed, replication, tables)
    return one.monthly, one.kpis


def simulate(
    scenario: Scenario | str | Path,
    replications: int = 1,
    seed: int = 0,
    progress: Progress | None = None,
    first: int = 0,
    records: bool = False,
) -> SimulationResult:
    """Run the discrete-event engine `replications` times (replication r uses streams of (seed, r)).

    Same scenario and seed give bit-identical results; two scenarios run with the same seed share
    each random source's draws (a paired comparison). `first` numbers the replications first …
    first + replications − 1, so a long run can be split into parts (`combine` joins them into the
    result of one run). With `[uncertainty]`, replication r first draws each uncertain lever once from
    its own stream and runs that drawn scenario (docs/model.md); `result.draws` keeps the values.

    `records=True` keeps every lead, customer and repeat visit of every replication in `result.records`
    (`sim.engine.log.EventLog`; memory grows with the leads, so for small runs); the results are the same,
    bit for bit.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    replications = whole_number("replications", replications, 1)
    seed = whole_number("seed", seed, 0)
    first = whole_number("first", first, 0)
    tables = None if sc.uncertainty else lifetime_tables(sc)
    ones: list[OneRun] = []
    numbers = range(first, first + replications)
    for done, r in enumerate(numbers, start=1):
        ones.append(run_full(sc, seed, r, tables, records))
        if progress is not None:
            progress(done, replications)
    dates = plan.dates(sc)
    names = [c.name for c in sc.channels]
    return SimulationResult(
        scenario=sc,
        seed=seed,
        replications=replications,
        monthly=frames.monthly_frame([o.monthly for o in ones], numbers, dates),
        kpis=frames.kpi_frame([o.kpis for o in ones], numbers),
        record=_record(sc, seed, replications, first),
        channels=frames.channel_frame([o.channels for o in ones], names, numbers, dates),
        channel_kpis=frames.channel_kpi_frame([o.channel_kpis for o in ones], names, numbers),
        draws=frames.draws_frame([o.draws for o in ones], [p for p, _ in sc.uncertainty], numbers),
        records=_event_log(sc, [o.records for o in ones], numbers) if records else None,
    )


def _event_log(
    sc: Scenario, runs: Sequence[dict[str, dict[str, np.ndarray]] | None], numbers: Sequence[int]
) -> EventLog:
    """The runs' event logs as tables (channels and streams by their names)."""
    return event_log(
        [r for r in runs if r is not None],
        numbers,
        [c.name for c in sc.channels],
        [s.name for s in sc.repeat],
    )


def _record(sc: Scenario, seed: int, replications: int, first: int) -> dict[str, Any]:
    record = {
        "scenario": sc.to_dict(),
        "seed": seed,
        "replications": replications,
        "version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if first:
        record["first_replication"] = first
    return record


def combine(parts: Sequence[SimulationResult]) -> SimulationResult:
    """Join the results of one scenario and seed run in parts (`simulate(..., first=…)`) into the result
    of one run over all their replications, in replication order; the parts must not overlap."""
    if not parts:
        raise ValueError("combine: no parts")
    sc, seed = parts[0].scenario, parts[0].seed
    if any(p.scenario != sc or p.seed != seed for p in parts):
        raise ValueError("combine: the parts are runs of different scenarios or seeds")
    ordered = sorted(parts, key=lambda p: int(p.kpis["replication"].iloc[0]))
    numbers = [int(r) for p in ordered for r in p.kpis["replication"]]
    if len(set(numbers)) != len(numbers):
        raise ValueError("combine: the parts overlap (a replication appears twice)")
    replications = len(numbers)
    return SimulationResult(
        scenario=sc,
        seed=seed,
        replications=replications,
        monthly=pd.concat([p.monthly for p in ordered], ignore_index=True),
        kpis=pd.concat([p.kpis for p in ordered], ignore_index=True),
        record=_record(sc, seed, replications, numbers[0]),
        channels=pd.concat([p.channels for p in ordered], ignore_index=True),
        channel_kpis=pd.concat([p.channel_kpis for p in ordered], ignore_index=True),
        draws=pd.concat([p.draws for p in ordered], ignore_index=True) if sc.uncertainty else parts[0].draws,
        records=_joined_records([p.records for p in ordered]),
    )


def _joined_records(logs: Sequence[EventLog | None]) -> EventLog | None:
    """The parts' event logs joined in replication order (None unless every part has one)."""
    if any(log is None for log in logs):
        return None
    return EventLog(
        *(
            pd.concat([getattr(log, name) for log in logs], ignore_index=True)
            for name in ("leads", "customers", "visits")
        )
    )


def compare(
    a: Scenario | str | Path,
    b: Scenario | str | Path,
    seed: int = 0,
    replications: int = 20,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Paired comparison (same seeds, common random numbers) as a yearly table.

    Columns: `year`, `item` (margin, each cost, net_cash), `a`, `b` (means over replications) and
    `difference` = b − a.
    """
    ra = simulate(a, replications=replications, seed=seed, progress=progress)
    rb = simulate(b, replications=replications, seed=seed, progress=progress)
    return frames.comparison_frame(frames.yearly_frame(ra.monthly), frames.yearly_frame(rb.monthly))
