"""Monte Carlo bands for the app, run in a background process so the page never waits for them.

`compute_band` is the whole job: `sim.simulate` of the scenario (the same seed and replications give the
same runs as `python -m sim run`), reduced to the cumulative-cash band and the break-even odds.
`BandRunner` runs one job at a time in a worker process (one core stays free for the page), reports
progress after each replication and cancels a job nobody waits for any more.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.results import simulate
from sim.scenario import loads_scenario

Key = tuple[str, int, int]
"""(scenario TOML, replications, seed)."""


@dataclass(frozen=True)
class Band:
    """The Monte Carlo result the page shows."""

    frame: pd.DataFrame
    """Per month: month, mean, p10, p50, p90 of the cumulative cash."""
    replications: int
    seed: int
    p_break_even: float
    """Share of runs that break even within the horizon."""
    break_even_p50: float
    """Median break-even month (NaN: most runs never break even)."""
    seconds: float
    """Time the simulation took."""


def compute_band(
    toml: str, replications: int, seed: int, progress: Callable[[int, int], None] | None = None
) -> Band:
    """Simulate the scenario (`sim.simulate`) and reduce it to the band."""
    sc = loads_scenario(toml, source="app")
    start = time.perf_counter()
    result = simulate(sc, replications=replications, seed=seed, progress=progress)
    seconds = time.perf_counter() - start
    summary = result.summary()
    return Band(
        frame=result.bands("cumulative_cash"),
        replications=replications,
        seed=seed,
        p_break_even=float(summary.loc["p_break_even", "mean"]),
        break_even_p50=float(summary.loc["break_even_month", "p50"]),
        seconds=seconds,
    )


class Cancelled(Exception):
    """The job was cancelled while it ran."""


_PROGRESS: Any = None  # shared [job id, replications done] (set in the worker by _init)
_CANCEL: Any = None  # shared ring of the ids of jobs to stop


def _init(progress: Any, cancel: Any) -> None:
    global _PROGRESS, _CANCEL
    _PROGRESS, _CANCEL = progress, cancel
    if hasattr(os, "nice"):  # background work: the page's reruns come first
        os.nice(10)


def _job(job_id: int, toml: str, replications: int, seed: int) -> Band:
    def report(done: int, total: int) -> None:
        with _PROGRESS.get_lock():
            _PROGRESS[0], _PROGRESS[1] = job_id, done
        if job_id in _CANCEL[:]:
            raise Cancelled(job_id)

    report(0, replications)
    return compute_band(toml, replications, seed, report)


@dataclass(frozen=True)
class Status:
    """Where a band job is."""

    state: str
    """`queued`, `running`, `done`, `failed` or `cancelled`."""
    done: int = 0
    total: int = 0
    band: Band | None = None
    error: str = ""


@dataclass
class _Job:
    id: int
    future: Future[Band]
    total: int
    owners: set[str] = field(default_factory=set)


class BandRunner:
    """Runs band jobs one at a time in a worker process; the newest request of each owner (a browser
    session) wins: its older unfinished jobs are cancelled unless another owner still waits for them."""

    def __init__(self, keep: int = 64) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._jobs: OrderedDict[Key, _Job] = OrderedDict()
        self._next = 1
        self._ctx = mp.get_context("spawn")  # never fork a process with threads (the app's server)
        self._progress = self._ctx.Array("q", [0, 0])
        self._cancel = self._ctx.Array("q", [0] * 8)
        self._cancel_slot = 0
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=self._ctx,
                initializer=_init,
                initargs=(self._progress, self._cancel),
            )
        return self._pool

    def request(self, toml: str, replications: int, seed: int, owner: str) -> Status:
        """Status of the band for (toml, replications, seed), starting it if needed, on behalf of `owner`."""
        key = (toml, replications, seed)
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and self._state(job) == "cancelled":
                del self._jobs[key]
                job = None
            if job is None:
                job = self._submit(key)
            self._jobs.move_to_end(key)
            for other in list(self._jobs.values()):
                if other is not job and owner in other.owners:
                    other.owners.discard(owner)
                    if not other.owners and not other.future.done():
                        self._stop(other)
            job.owners.add(owner)
            self._trim()
            return self._status(job)

    def wait(self, toml: str, replications: int, seed: int, timeout: float | None = None) -> Band:
        """The band of a requested job, waiting for it (raises the job's error)."""
        with self._lock:
            job = self._jobs[(toml, replications, seed)]
        return job.future.result(timeout=timeout)

    def forget(self, owner: str) -> None:
        """The owner waits for nothing any more (its unfinished jobs are cancelled if nobody else waits)."""
        with self._lock:
            for job in self._jobs.values():
                job.owners.discard(owner)
                if not job.owners and not job.future.done():
                    self._stop(job)

    def shutdown(self) -> None:
        """Cancel every job and stop the worker."""
        with self._lock:
            for job in self._jobs.values():
                self._stop(job)
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def _submit(self, key: Key) -> _Job:
        job_id = self._next
        self._next += 1
        toml, replications, seed = key
        try:
            future = self._executor().submit(_job, job_id, toml, replications, seed)
        except (BrokenProcessPool, RuntimeError):  # the worker died: start a new one
            self._pool = None
            future = self._executor().submit(_job, job_id, toml, replications, seed)
        job = _Job(job_id, future, replications)
        self._jobs[key] = job
        return job

    def _stop(self, job: _Job) -> None:
        if not job.future.cancel():  # already handed to the worker: it stops at its next replication
            self._cancel[self._cancel_slot] = job.id
            self._cancel_slot = (self._cancel_slot + 1) % len(self._cancel)

    def _trim(self) -> None:
        while len(self._jobs) > self._keep:
            key, job = next(iter(self._jobs.items()))
            if not job.future.done():
                break
            del self._jobs[key]

    def _state(self, job: _Job) -> str:
        f = job.future
        if f.cancelled():
            return "cancelled"
        if f.done():
            exc = f.exception()
            if exc is None:
                return "done"
            return "cancelled" if isinstance(exc, Cancelled) else "failed"
        with self._progress.get_lock():
            running_id = self._progress[0]
        return "running" if running_id == job.id else "queued"

    def _status(self, job: _Job) -> Status:
        state = self._state(job)
        if state == "done":
            return Status("done", job.total, job.total, job.future.result())
        if state == "failed":
            exc = job.future.exception()
            return Status("failed", 0, job.total, error=f"{type(exc).__name__}: {exc}")
        done = int(self._progress[1]) if state == "running" else 0
        return Status(state, done, job.total)
