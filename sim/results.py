"""Running the engine over replications, the result object and paired comparisons."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim import frames
from sim.customers import lifetime_tables
from sim.engine import run_replication
from sim.ledger import complete_monthly, kpis
from sim.scenario import Scenario, load_scenario

Progress = Callable[[int, int], None]
"""Called as progress(done, total) after each replication."""


def _version() -> str:
    from sim import __version__

    return __version__


@dataclass(frozen=True)
class SimulationResult:
    """Monthly table, KPIs and the run record of `simulate`."""

    scenario: Scenario
    seed: int
    replications: int
    monthly: pd.DataFrame
    """One row per (replication, month): see `sim.ledger.MONTHLY_COLUMNS`."""
    kpis: pd.DataFrame
    """One row per replication: see `sim.ledger.KPI_COLUMNS`."""
    record: dict[str, Any] = field(default_factory=dict)
    """The run record: scenario, seed, replications, package version, time."""

    def bands(
        self, column: str = "cumulative_cash", quantiles: Sequence[float] = (0.1, 0.5, 0.9)
    ) -> pd.DataFrame:
        """Per month: the mean and quantiles of `column` over replications (columns mean, p10, p50 …)."""
        if column not in self.monthly.columns or column in ("replication", "month"):
            raise ValueError(f"no monthly column {column!r}")
        return frames.bands_frame(self.monthly, column, quantiles)

    def summary(self) -> pd.DataFrame:
        """Each KPI's mean, p10, p50, p90 and the probability of breaking even within the horizon."""
        return frames.summary_frame(self.kpis)

    def save(self, directory: str | Path) -> Path:
        """Write monthly.parquet, kpis.parquet and run.json into `directory` (created if needed)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name, df in (("monthly", self.monthly), ("kpis", self.kpis)):
            tmp = out / f".{name}.parquet.tmp"
            df.to_parquet(tmp, index=False)
            os.replace(tmp, out / f"{name}.parquet")
        tmp = out / ".run.json.tmp"
        tmp.write_text(json.dumps(self.record, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, out / "run.json")
        return out


def simulate(
    scenario: Scenario | str | Path,
    replications: int = 1,
    seed: int = 0,
    progress: Progress | None = None,
) -> SimulationResult:
    """Run the discrete-event engine `replications` times (replication r uses streams of (seed, r)).

    Same scenario and seed give bit-identical results; two scenarios run with the same seed share
    each random source's draws (a paired comparison).
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if not isinstance(replications, int) or isinstance(replications, bool) or replications < 1:
        raise ValueError(f"replications = {replications!r}: must be a whole number >= 1")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed = {seed!r}: must be a whole number >= 0")
    tables = lifetime_tables(sc)
    monthly_runs, kpi_rows = [], []
    for r in range(replications):
        out = run_replication(sc, seed, r, tables)
        monthly = complete_monthly(sc, out.monthly)
        # With no new customer in a run, the LTV of a (hypothetical) new customer is its expectation.
        ltv = out.ltv_sum / out.ltv_count if out.ltv_count else tables.ltv
        kpi_rows.append(kpis(sc, monthly, tables, ltv, out.desk_busy_days, out.desk_open_days))
        monthly_runs.append(monthly)
        if progress is not None:
            progress(r + 1, replications)
    record = {
        "scenario": sc.to_dict(),
        "seed": seed,
        "replications": replications,
        "version": _version(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return SimulationResult(
        scenario=sc,
        seed=seed,
        replications=replications,
        monthly=frames.monthly_frame(monthly_runs),
        kpis=frames.kpi_frame(kpi_rows),
        record=record,
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
