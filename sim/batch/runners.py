"""Running a sweep's chunks: in this process, on a local Dask cluster or on an existing one.

`run_chunk` is what a worker runs (plain data in, plain data out, so any Dask worker can run it);
`chunk_frames` turns its result into the rows of the sweep's frames; `completed_chunks` yields the
results of the chunks still to do, in the order they finish.

Seeds (common random numbers): replication r of *every* point uses the random streams of (`seed`, r) —
exactly what `simulate(point_scenario, replications, seed)` uses. The points are thus paired like a
what-if comparison, and a run's result depends only on (scenario, point, seed, replication): never on
the number of workers, the chunking or the order in which chunks finish. With `[uncertainty]`, the
point's values are set first and each replication then draws the uncertain levers that are not swept
(`sim.engine.runs.run_full`); the drawn values are columns of the rows, named by their paths.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import math
import os
import platform
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, closing, contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.accounting import frames
from sim.accounting.ledger import MONTHLY_COLUMNS
from sim.accounting.lifetimes import lifetime_tables
from sim.batch.points import Plan, SweepError
from sim.batch.storage import code_fingerprint
from sim.engine.runs import run_full
from sim.model.scenario import parse_scenario
from sim.version import __version__

if TYPE_CHECKING:
    from distributed import Client

TARGET_CHUNK_SECONDS = 1.5
"""Aimed-at compute time of one chunk, in seconds: Dask's per-task cost (~ms) stays well under 1 %."""
MIN_CHUNK_SECONDS = 0.25
"""A chunk is never cut smaller than this, in seconds of compute, to balance workers."""
CHUNKS_PER_WORKER = 4
"""Chunks per worker wanted for load balancing (when that keeps chunks >= MIN_CHUNK_SECONDS)."""
CONNECT_TIMEOUT = "20s"
"""How long to try to reach a Dask scheduler given by address."""

Log = Callable[[str], None]
"""Receives one-line status messages (dashboard link, resume state)."""
ChunkResult = dict[str, Any]
"""What `run_chunk` returns: {"kpis": [KPI dict per run], "monthly": [{column: array}] per run or None,
"draws": [{path: drawn value}] per run (empty dicts without `[uncertainty]`)}."""


def run_chunk(
    scenario: dict[str, Any],
    levers: Sequence[str],
    points: Mapping[int, Sequence[Any]],
    start: int,
    stop: int,
    replications: int,
    seed: int,
    monthly: bool,
    version: str,
    fingerprint: str,
) -> ChunkResult:
    """Runs start … stop − 1 of a sweep (run i: point i // replications, replication i % replications).

    `scenario` is the base scenario as a dict, `points` the lever values of the points the runs touch.
    Replication r uses the engine's streams of (seed, r) whatever the point, as `simulate` does.
    `version` and `fingerprint` are the client's (`sim.batch.storage.code_fingerprint`): a worker running
    other code refuses the work, so the manifest's fingerprint is that of the code that made the rows.
    Returns {"kpis": one KPI dict per run, "monthly": per run {column: array over months} or None,
    "draws": per run {path: drawn value} of the uncertain levers}; plain data, so a chunk can run on any
    Dask worker.
    """
    here = code_fingerprint()
    if (version, fingerprint) != (__version__, here):
        raise SweepError(
            f"the worker on {platform.node()} runs other code than the client (funnel-sim {__version__}, "
            f"code fingerprint {here[:12]} there; {version}, {fingerprint[:12]} on the client): install "
            "the same funnel-sim on every worker (docs/sweep.md)"
        )
    base = parse_scenario(scenario, source="sweep scenario")
    kpi_rows: list[dict[str, float]] = []
    monthly_runs: list[dict[str, np.ndarray]] = []
    draws: list[dict[str, float | int]] = []
    for p, runs in itertools.groupby(range(start, stop), key=lambda i: i // replications):
        sc = base.override(dict(zip(levers, points[p], strict=True)))
        tables = None if sc.uncertainty else lifetime_tables(sc)  # with ranges: each run's drawn tables
        for i in runs:
            one = run_full(sc, seed, i % replications, tables)
            kpi_rows.append(one.kpis)
            draws.append(one.draws)
            if monthly:
                monthly_runs.append({c: one.monthly[c] for c in MONTHLY_COLUMNS})
    return {"kpis": kpi_rows, "monthly": monthly_runs if monthly else None, "draws": draws}


def chunk_frames(
    plan: Plan, start: int, stop: int, result: ChunkResult
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The KPI rows (and monthly rows) of a chunk with point, replication and lever columns."""
    runs = np.arange(start, stop, dtype=np.int64)
    points, reps = runs // plan.replications, runs % plan.replications
    k = frames.kpi_frame(result["kpis"], reps.tolist())
    k.insert(0, "point", points)
    for j, path in enumerate(plan.levers):
        k.insert(2 + j, path, plan.lever_column(j, points))
    at = 2 + len(plan.levers)
    # Without ranges there is nothing to add (and a result may come without "draws").
    drawn = frames.draws_frame(result["draws"], plan.uncertain, reps.tolist()) if plan.uncertain else None
    for j, path in enumerate(plan.uncertain):
        k.insert(at + j, path, drawn[path].to_numpy())
    if result["monthly"] is None:
        return k, None
    m = frames.monthly_frame(result["monthly"], reps.tolist())
    H = plan.scenario.horizon_months
    m.insert(0, "point", np.repeat(points, H))
    for j, path in enumerate(plan.levers):
        m.insert(2 + j, path, plan.lever_column(j, np.repeat(points, H)))
    for j, path in enumerate(plan.uncertain):
        m.insert(at + j, path, np.repeat(drawn[path].to_numpy(), H))
    return k, m


def _task_args(plan: Plan, start: int, stop: int, scenario: dict[str, Any]) -> tuple[Any, ...]:
    """The arguments of `run_chunk` for runs start … stop − 1 (only the points they touch)."""
    r = plan.replications
    pts = {p: plan.points[p] for p in range(start // r, (stop - 1) // r + 1)}
    return (
        scenario,
        plan.levers,
        pts,
        start,
        stop,
        r,
        plan.seed,
        plan.monthly,
        __version__,
        code_fingerprint(),
    )


def cores() -> int:
    """CPU cores this process may use."""
    count = getattr(os, "process_cpu_count", None)
    if count is not None:
        return max(1, count() or 1)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def pick_chunk_size(plan: Plan, parallelism: int) -> int:
    """Runs per chunk from the time of one pilot run: ~TARGET_CHUNK_SECONDS, and enough chunks to share."""
    fingerprint = code_fingerprint()  # hashed before the clock starts (~1 ms, once per process)
    t0 = time.perf_counter()
    run_chunk(
        plan.scenario.to_dict(), plan.levers, {0: plan.points[0]}, 0, 1, plan.replications, plan.seed,
        False, __version__, fingerprint,
    )  # fmt: skip
    per_run = max(time.perf_counter() - t0, 1e-4)
    target = math.ceil(TARGET_CHUNK_SECONDS / per_run)
    floor = math.ceil(MIN_CHUNK_SECONDS / per_run)
    balance = math.ceil(plan.runs / (CHUNKS_PER_WORKER * max(parallelism, 1)))
    return max(1, min(target, max(floor, balance), plan.runs))


@contextmanager
def dask_client(workers: int | None, scheduler: Any, log: Log | None) -> Iterator[Client]:
    """A client of the given scheduler, or of a new LocalCluster of `workers` processes (closed after)."""
    from distributed import Client, LocalCluster

    if scheduler is not None and not isinstance(scheduler, str):
        yield scheduler  # the caller's Client: used as is, not closed
        return
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            _log_dashboard(client, log)
            yield client
        return
    try:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
    except RuntimeError as exc:  # typically: a script without `if __name__ == "__main__":`
        raise SweepError(
            f"could not start {workers} local worker processes ({exc}); in a script, call sweep() under "
            "`if __name__ == '__main__':` (workers start by importing the main module), or pass workers=1"
        ) from exc
    with cluster, Client(cluster) as client:
        _log_dashboard(client, log)
        yield client


def _log_dashboard(client: Client, log: Log | None) -> None:
    if log is None:
        return
    link = client.dashboard_link
    note = "" if importlib.util.find_spec("bokeh") else " (pages need bokeh: pip install 'bokeh>=3.1')"
    log(f"dashboard: {link}{note}")


def n_workers(client: Client) -> int:
    """Workers connected to the client's scheduler (at least 1)."""
    return max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))


@contextmanager
def completed_chunks(
    plan: Plan,
    bounds: Sequence[tuple[int, int]],
    todo: Sequence[int],
    local_workers: int | None,
    scheduler: Any,
    client: Client | None,
    log: Log | None,
) -> Iterator[Iterator[tuple[int, ChunkResult]]]:
    """Run the chunks in `todo`; yields an iterator of (chunk id, result) in the order they finish.

    In this process when there is no scheduler and at most one local worker would be busy; otherwise on
    `client`, or on a client of `scheduler`, or of a LocalCluster of `local_workers` processes started
    here and closed on exit. Nothing is started when `todo` is empty.
    """
    sc_dict = plan.scenario.to_dict()

    def args(cid: int) -> tuple[Any, ...]:
        return _task_args(plan, *bounds[cid], sc_dict)

    if not todo:
        yield iter(())
        return
    if scheduler is None and min(local_workers or 1, len(todo)) <= 1:
        yield ((c, run_chunk(*args(c))) for c in todo)
        return
    with ExitStack() as stack:
        if client is None:
            n = min(local_workers or 1, len(todo)) if scheduler is None else None
            client = stack.enter_context(dask_client(n, scheduler, log))
        if log is not None:
            log(f"{len(todo)} chunk(s) on {n_workers(client)} worker(s)")
        yield stack.enter_context(closing(_on_cluster(client, plan, todo, args)))


def _on_cluster(
    client: Client, plan: Plan, todo: Sequence[int], args: Callable[[int], tuple[Any, ...]]
) -> Iterator[tuple[int, ChunkResult]]:
    """Submit every chunk to the cluster; yield (chunk, result) as each completes, in any order."""
    from distributed import as_completed

    key = plan.digest()[:16]
    futures = {
        client.submit(run_chunk, *args(cid), key=f"sweep-{key}-{cid:06d}", pure=False): cid for cid in todo
    }
    try:
        for fut in as_completed(list(futures)):
            try:
                result = fut.result()
            except ModuleNotFoundError as exc:
                raise SweepError(
                    f"a Dask worker cannot import {exc.name!r}: install funnel-sim in the workers' "
                    "environment (pip install 'funnel-sim[batch]' from a checkout or a wheel; docs/sweep.md)"
                ) from None
            fut.release()
            yield futures[fut], result
    finally:
        client.cancel([f for f in futures if not f.done()])
