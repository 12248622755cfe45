"""Batch runs: parameter sweeps with Monte Carlo replications, in-process or on Dask (`dask.distributed`).

`sweep` puts together the plan (`sim.batch.points`: the points, validated), the runners
(`sim.batch.runners`: chunks of runs in this process or on a cluster) and the output folder
(`sim.batch.storage`: a Parquet dataset that survives interruption, `_manifest.json`, resume).
See docs/sweep.md for the output layout, resume rules and how to point a sweep at a cluster.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload

import pandas as pd

from sim.batch import runners
from sim.batch.points import Samples, SweepError, make_plan, sweep_points
from sim.batch.storage import Output, check_out
from sim.model.numbers import whole_number
from sim.model.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["SweepError", "SweepFrames", "sweep", "sweep_points"]


class SweepFrames(NamedTuple):
    """What `sweep(..., monthly=True)` returns."""

    kpis: pd.DataFrame
    """One row per (point, replication): point, replication, the levers, every KPI."""
    monthly: pd.DataFrame
    """One row per (point, replication, month): point, replication, the levers, month, ledger columns."""


@overload
def sweep(
    scenario: Scenario | str | Path,
    grid: Mapping[str, Sequence[Any]] | None = ...,
    samples: Samples | None = ...,
    replications: int = ...,
    seed: int = ...,
    workers: int | None = ...,
    scheduler: str | Client | None = ...,
    out: str | Path | None = ...,
    monthly: Literal[False] = ...,
    *,
    chunk_size: int | None = ...,
    progress: bool = ...,
    log: runners.Log | None = ...,
) -> pd.DataFrame: ...


@overload
def sweep(
    scenario: Scenario | str | Path,
    grid: Mapping[str, Sequence[Any]] | None = ...,
    samples: Samples | None = ...,
    replications: int = ...,
    seed: int = ...,
    workers: int | None = ...,
    scheduler: str | Client | None = ...,
    out: str | Path | None = ...,
    *,
    monthly: Literal[True],
    chunk_size: int | None = ...,
    progress: bool = ...,
    log: runners.Log | None = ...,
) -> SweepFrames: ...


def sweep(
    scenario: Scenario | str | Path,
    grid: Mapping[str, Sequence[Any]] | None = None,
    samples: Samples | None = None,
    replications: int = 1,
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | Client | None = None,
    out: str | Path | None = None,
    monthly: bool = False,
    *,
    chunk_size: int | None = None,
    progress: bool = False,
    log: runners.Log | None = None,
) -> pd.DataFrame | SweepFrames:
    """Run `replications` engine runs at every point of a grid and/or a Latin hypercube sample.

    - `grid`: {dotted path: list of values}, the full product (last path fastest). `samples`:
      (n, {dotted path: (low, high)}), n Latin hypercube points (whole-number levers uniform over
      low … high), combined with each grid point. No grid and no samples: the scenario itself.
    - Seeds: replication r of every point uses the engine's streams of (`seed`, r), as
      `simulate(point_scenario, replications, seed)` does: points are paired (common random numbers)
      and results are the same for any workers, chunking and order of completion.
    - `[uncertainty]`: the point's values are set first, then each replication draws the uncertain
      levers as `simulate` does (the same values at every point: paired). A lever both swept and
      uncertain takes the swept value and is not drawn. Each drawn lever is a column (its path) after
      the swept ones.
    - `workers=1` runs in-process; `workers=N` (default: this machine's cores) a LocalCluster of N
      processes; `scheduler` ("tcp://host:8786" or a `distributed.Client`) an existing cluster.
    - `out`: a directory receiving a Parquet dataset of a few large `part-*.parquet` files (finished
      chunks are staged under `_staging` and compacted as the sweep goes and at its end) and
      `_manifest.json` (the definition, the code's version and fingerprint); the same sweep by the same
      code again resumes (finished chunks are kept), anything else is refused (`SweepError`).
      `pandas.read_parquet(out)` reads the KPI rows; with `monthly=True` the monthly rows are in
      `out/_monthly`. The frames returned are then read back from there.
    - `chunk_size`: runs per chunk (default: about 1.5 s of compute, from one pilot run);
      `progress`: a tqdm bar on stderr; `log`: receives status lines (dashboard link, resume).

    Returns one row per (point, replication) — `point`, `replication`, each lever (column named by
    its path; swept, then drawn), every KPI (`sim.accounting.ledger.KPI_COLUMNS`) — sorted by point and
    replication. With `monthly=True`, `SweepFrames(kpis, monthly)`: also one row per (point,
    replication, month). Invalid points raise `ScenarioError` (path and value) before anything runs.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    replications = whole_number("replications", replications, 1, SweepError)
    seed = whole_number("seed", seed, 0, SweepError)
    if workers is not None:
        workers = whole_number("workers", workers, 1, SweepError)
    if workers is not None and scheduler is not None:
        raise SweepError("give workers (a local cluster) or scheduler (an existing one), not both")
    if chunk_size is not None:
        chunk_size = whole_number("chunk_size", chunk_size, 1, SweepError)
    plan = make_plan(sc, grid, samples, replications, seed, bool(monthly))

    out_dir = Path(out) if out is not None else None
    stored_size = check_out(out_dir, plan, chunk_size) if out_dir is not None else None
    local_workers = workers if workers is not None else (runners.cores() if scheduler is None else None)
    size = chunk_size or stored_size

    from tqdm import tqdm

    results: dict[int, tuple[pd.DataFrame, pd.DataFrame | None]] = {}
    with ExitStack() as stack:
        client: Client | None = None
        if size is None:
            if scheduler is not None:  # connect first: the chunk size depends on the cluster's workers
                client = stack.enter_context(runners.dask_client(None, scheduler, log))
                size = runners.pick_chunk_size(plan, runners.n_workers(client))
            else:
                size = runners.pick_chunk_size(plan, local_workers or 1)
        bounds = plan.chunk_bounds(size)
        output = Output(out_dir, plan, size) if out_dir is not None else None
        done = output.done if output is not None else set()
        if done and log is not None:
            log(f"resuming {out_dir}: {len(done)} of {len(bounds)} chunks already done")
        todo = [c for c in range(len(bounds)) if c not in done]
        completed = stack.enter_context(
            runners.completed_chunks(plan, bounds, todo, local_workers, scheduler, client, log)
        )
        # The bar starts once the workers are up, so its rate and ETA are those of the runs.
        finished = len(bounds) - len(todo)
        bar = stack.enter_context(
            tqdm(
                total=plan.runs,
                initial=plan.runs - sum(bounds[c][1] - bounds[c][0] for c in todo),
                unit="run",
                desc="sweep",
                file=sys.stderr,
                disable=None if progress else True,
                leave=False,
                dynamic_ncols=True,
                postfix=f"chunks {finished}/{len(bounds)}",
            )
        )
        for cid, result in completed:
            start, stop = bounds[cid]
            k, m = runners.chunk_frames(plan, start, stop, result)
            if output is not None:
                output.add(cid, k, m)
            else:
                results[cid] = (k, m)
            finished += 1
            bar.set_postfix_str(f"chunks {finished}/{len(bounds)}", refresh=False)
            bar.update(stop - start)

    if output is not None:  # every chunk is done: compact, and return what is on disk
        output.finish()
        kpi_all, monthly_all = output.read()
    else:
        kpi_all = pd.concat([results[c][0] for c in range(len(bounds))], ignore_index=True)
        monthly_all = (
            pd.concat([results[c][1] for c in range(len(bounds))], ignore_index=True)
            if plan.monthly
            else None
        )
    if monthly_all is None:
        return kpi_all
    return SweepFrames(kpi_all, monthly_all)
