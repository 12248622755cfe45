"""Monte Carlo bands for the app, run in background processes so the page never waits for them.

`compute_band` is the whole job in one process: `sim.simulate` of the scenario (the same seed and
replications give the same runs as `python -m sim run`), reduced to the cumulative-cash band and the
break-even odds. `BandRunner` splits a job's replications between worker processes (one per core, at a
lower priority than the page); each part is `simulate(..., first=…)` and `sim.engine.runs.combine` joins
them, so the band is the same as in one process. It reports progress after each replication and
cancels a job nobody waits for any more.
"""

from __future__ import annotations

import enum
import multiprocessing as mp
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, NamedTuple

from sim.model.scenario import loads_scenario
from sim.report.frames import BandSummary, band_summary

if TYPE_CHECKING:
    from sim.engine.runs import SimulationResult


class BandKey(NamedTuple):
    """What a band is of: the same key gives the same band."""

    toml: str
    """The scenario, as TOML."""
    replications: int
    seed: int


@dataclass(frozen=True)
class Band(BandSummary):
    """The Monte Carlo result the page shows: the band's summary and how long it took."""

    seconds: float
    """Wall time until the band was ready, in seconds (in the app: from the request, worker start-up
    included)."""


def compute_band(
    toml: str, replications: int, seed: int, progress: Callable[[int, int], None] | None = None
) -> Band:
    """Simulate the scenario (`sim.simulate`) in this process and reduce it to the band."""
    from sim.engine.runs import simulate  # the engine (and numba) only where bands are computed

    sc = loads_scenario(toml, source="app")
    start = time.perf_counter()
    result = simulate(sc, replications=replications, seed=seed, progress=progress)
    return band_of(result, time.perf_counter() - start)


def band_of(result: SimulationResult, seconds: float) -> Band:
    """The band of a simulation result that took `seconds`."""
    summary = band_summary(result)
    return Band(**{f.name: getattr(summary, f.name) for f in fields(summary)}, seconds=seconds)


class Slice(NamedTuple):
    """Replications first … first + count − 1 of a job."""

    first: int
    count: int


def split(replications: int, parts: int) -> list[Slice]:
    """At most `parts` near-equal consecutive slices of range(replications)."""
    parts = max(1, min(parts, replications))
    size, extra = divmod(replications, parts)
    out, first = [], 0
    for k in range(parts):
        count = size + (k < extra)
        out.append(Slice(first, count))
        first += count
    return out


class Cancelled(Exception):
    """The job was cancelled while it ran."""


_PROGRESS: Any = None  # shared [job id, replications done] (set in the worker by _init)
_CANCEL: Any = None  # shared ring of the ids of jobs to stop


NICE = 19
"""Niceness of the worker processes: background work, the page (and the browser) come first."""


def _init(progress: Any, cancel: Any) -> None:
    global _PROGRESS, _CANCEL
    _PROGRESS, _CANCEL = progress, cancel
    if hasattr(os, "nice"):  # if the worker was not born nice (see BandRunner._executor)
        os.nice(max(0, NICE - os.nice(0)))
    from sim.engine.desk import kernel
    from sim.engine.runs import simulate  # noqa: F401 - loaded once per worker, before the first job

    kernel()


def _part(job_id: int, toml: str, seed: int, first: int, count: int) -> SimulationResult:
    """Replications first … first + count − 1 of a job (in a worker process)."""
    from sim.engine.runs import simulate

    def report(done: int, total: int) -> None:
        with _PROGRESS.get_lock():
            if _PROGRESS[0] != job_id:
                _PROGRESS[0], _PROGRESS[1] = job_id, 0
            _PROGRESS[1] += int(done > 0)
        if job_id in _CANCEL[:]:
            raise Cancelled(job_id)

    report(0, count)
    return simulate(loads_scenario(toml, source="app"), count, seed, report, first=first)


class JobState(enum.StrEnum):
    """Where a band job is."""

    QUEUED = "queued"
    """Waiting for a worker."""
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    """A part raised an error (`Status.error`)."""
    CANCELLED = "cancelled"
    """Nobody waited for it any more (a request starts it again)."""


@dataclass(frozen=True)
class Status:
    """Where a band job is, as a request reports it (a request restarts a cancelled job)."""

    state: JobState
    done: int = 0
    total: int = 0
    band: Band | None = None
    """DONE: the band."""
    error: str = ""
    """FAILED: the error, as `Type: message`."""

    @property
    def finished(self) -> bool:
        """Nothing more to wait for: the band is done or has failed."""
        return self.state in (JobState.DONE, JobState.FAILED)


@dataclass
class _Job:
    id: int
    future: Future[Band]
    """Done when every part is: the band, the error of a failed part, or cancelled."""
    total: int
    parts: list[Future[SimulationResult]]
    started: float
    owners: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class BandRunner:
    """Runs band jobs in worker processes (`workers`, by default one per core up to four), each job split
    between them. The newest request of each owner (a browser session) wins: its older unfinished jobs
    are cancelled unless another owner still waits for them."""

    def __init__(self, keep: int = 64, workers: int | None = None) -> None:
        self._keep = keep
        self._workers = workers or max(1, min(os.cpu_count() or 1, 4))
        self._lock = threading.Lock()
        self._jobs: OrderedDict[BandKey, _Job] = OrderedDict()
        self._next = 1
        self._ctx = mp.get_context("spawn")  # never fork a process with threads (the app's server)
        self._progress = self._ctx.Array("q", [0, 0])
        self._cancel = self._ctx.Array("q", [0] * 8)
        self._cancel_slot = 0
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        """The pool, with all its workers started.

        On Linux a thread's niceness is its own and the processes it starts inherit it, so the workers
        are started from a thread that lowered its priority: they are nice from their first instruction
        (a worker's start-up, importing the engine, takes about a second of CPU and must not slow the
        page or the browser drawing it). Elsewhere `_init` lowers their priority once they run.
        """
        if self._pool is None:
            pool = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=self._ctx,
                initializer=_init,
                initargs=(self._progress, self._cancel),
            )

            def start() -> None:
                if sys.platform.startswith("linux") and hasattr(os, "nice"):
                    os.nice(NICE)  # this thread only (Linux)
                for _ in range(self._workers):  # each submit to a pool with no idle worker starts one
                    pool.submit(int)

            starter = threading.Thread(target=start, name="band-workers")
            starter.start()
            starter.join()
            self._pool = pool
        return self._pool

    @property
    def workers(self) -> int:
        """How many worker processes share a job."""
        return self._workers

    def warm_up(self) -> None:
        """Start the worker processes now (each loads the engine), so the first band does not wait."""
        with self._lock:
            self._executor()

    def request(self, toml: str, replications: int, seed: int, owner: str) -> Status:
        """Status of the band for (toml, replications, seed), starting it if needed, on behalf of `owner`."""
        key = BandKey(toml, replications, seed)
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and self._state(job) == JobState.CANCELLED:
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
            job = self._jobs[BandKey(toml, replications, seed)]
        return job.future.result(timeout=timeout)

    def forget(self, owner: str) -> None:
        """The owner waits for nothing any more (its unfinished jobs are cancelled if nobody else waits)."""
        with self._lock:
            for job in self._jobs.values():
                job.owners.discard(owner)
                if not job.owners and not job.future.done():
                    self._stop(job)

    def shutdown(self, wait: bool = True) -> None:
        """Cancel every job and stop the workers. With `wait`, return once they have exited: a running
        job stops at its next replication, and a worker still starting finishes starting first (a worker
        whose parent is gone cannot start cleanly)."""
        with self._lock:
            for job in self._jobs.values():
                self._stop(job)
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    def _submit(self, key: BandKey) -> _Job:
        job_id = self._next
        self._next += 1
        toml, replications, seed = key
        slices = split(replications, self._workers)
        try:
            parts = [self._executor().submit(_part, job_id, toml, seed, a, n) for a, n in slices]
        except (BrokenProcessPool, RuntimeError):  # a worker died: start new ones
            self._pool = None
            parts = [self._executor().submit(_part, job_id, toml, seed, a, n) for a, n in slices]
        job = _Job(job_id, Future(), replications, parts, time.perf_counter())
        for part in parts:
            part.add_done_callback(lambda _f, job=job: self._part_done(job))
        self._jobs[key] = job
        return job

    @staticmethod
    def _part_done(job: _Job) -> None:
        """When the last part of a job is done: join the parts into the band (or pass on the failure)."""
        with job.lock:
            if job.future.done() or not all(p.done() for p in job.parts):
                return
            if any(p.cancelled() for p in job.parts):
                job.future.cancel()
                return
            errors = [p.exception() for p in job.parts if p.exception() is not None]
            if errors:
                cancelled = [e for e in errors if isinstance(e, Cancelled)]
                job.future.set_exception(cancelled[0] if cancelled else errors[0])
                return
            try:
                from sim.engine.runs import combine

                result = combine([p.result() for p in job.parts])
                job.future.set_result(band_of(result, time.perf_counter() - job.started))
            except Exception as exc:  # any error: the page shows it as the job's
                job.future.set_exception(exc)

    def _stop(self, job: _Job) -> None:
        running = [p for p in job.parts if not p.cancel()]
        if running:  # already handed to a worker: it stops at its next replication
            self._cancel[self._cancel_slot] = job.id
            self._cancel_slot = (self._cancel_slot + 1) % len(self._cancel)

    def _trim(self) -> None:
        while len(self._jobs) > self._keep:
            key, job = next(iter(self._jobs.items()))
            if not job.future.done():
                break
            del self._jobs[key]

    def _state(self, job: _Job) -> JobState:
        f = job.future
        if f.cancelled():
            return JobState.CANCELLED
        if f.done():
            exc = f.exception()
            if exc is None:
                return JobState.DONE
            return JobState.CANCELLED if isinstance(exc, Cancelled) else JobState.FAILED
        with self._progress.get_lock():
            running_id = self._progress[0]
        return JobState.RUNNING if running_id == job.id else JobState.QUEUED

    def _status(self, job: _Job) -> Status:
        state = self._state(job)
        if state == JobState.DONE:
            return Status(state, job.total, job.total, job.future.result())
        if state == JobState.FAILED:
            exc = job.future.exception()
            return Status(state, 0, job.total, error=f"{type(exc).__name__}: {exc}")
        done = int(self._progress[1]) if state == JobState.RUNNING else 0
        return Status(state, done, job.total)
