"""Monte Carlo bands for the app, run in background processes so the page never waits for them.

`compute_band` is the whole job in one process: `sim.simulate` of the scenario (the same seed and
replications give the same runs as `python -m sim run`), reduced to the cumulative-cash band and the
break-even odds. `BandRunner` serves every browser session of one server: it cuts a job's replications
into pieces (`simulate(..., first=…)`, at most `CHUNK` replications each) and hands the pieces to worker
processes (one per core, at a lower priority than the page) in turn between the sessions waiting, so a
small band never waits behind another session's long one; `sim.engine.runs.combine` joins the pieces,
so the band is the same as in one process. It reports progress after each replication and cancels a job
nobody waits for any more: a session that asks for another band, or one whose page has not asked for
`idle` seconds (closed; Streamlit tells the script nothing when a tab closes).
"""

from __future__ import annotations

import enum
import logging
import math
import multiprocessing as mp
import os
import sys
import threading
import time
from collections import OrderedDict, deque
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


LOG = logging.getLogger(__name__)

# Shared with the workers (set in each by _init), one entry per worker slot: the replications done by the
# slot's piece, and the id of the job whose piece in the slot must stop (0: none).
_PROGRESS: Any = None
_CANCEL: Any = None


NICE = 19
"""Niceness of the worker processes: background work, the page (and the browser) come first."""

CHUNK = 10
"""Most replications in one piece of work handed to a worker: a worker turns to the next session's band
after at most one piece (10 replications of the car dealer take 0.1–0.5 s), at a cost of a few
milliseconds per piece."""

IDLE_SECONDS = 15.0
"""How long a page may go without asking for its unfinished band before it counts as closed, in seconds
(a page waiting for a band asks each second; Streamlit runs nothing when a tab closes). The environment
variable SIM_BAND_IDLE_SECONDS sets another value for a server."""

RETRIES = 2
"""How many times a job's pieces are run again after a worker process died (killed, out of memory)."""


def idle_seconds() -> float:
    """IDLE_SECONDS, or SIM_BAND_IDLE_SECONDS when set (seconds, > 0)."""
    raw = os.environ.get("SIM_BAND_IDLE_SECONDS", "").strip()
    if not raw:
        return IDLE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"SIM_BAND_IDLE_SECONDS = {raw!r}: must be a number of seconds greater than 0")
    return value


def _init(progress: Any, cancel: Any) -> None:
    global _PROGRESS, _CANCEL
    _PROGRESS, _CANCEL = progress, cancel
    if hasattr(os, "nice"):  # if the worker was not born nice (see BandRunner._executor)
        os.nice(max(0, NICE - os.nice(0)))
    from sim.engine.desk import kernel
    from sim.engine.runs import simulate  # noqa: F401 - loaded once per worker, before the first job

    kernel()


def _piece(slot: int, job_id: int, toml: str, seed: int, first: int, count: int) -> SimulationResult:
    """Replications first … first + count − 1 of a job, in a worker process; `slot` is where the piece
    reports its progress and finds its stop flag."""
    from sim.engine.runs import simulate

    def report(done: int, total: int) -> None:
        _PROGRESS[slot] = done
        if _CANCEL[slot] == job_id:
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
    """A piece raised an error (`Status.error`)."""
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


@dataclass(eq=False)
class _Job:
    id: int
    key: BandKey
    future: Future[Band]
    """Done when the band is: the band, the error of a failed piece, or cancelled."""
    pending: deque[Slice]
    """Pieces not handed to a worker yet, in order."""
    started: float
    owners: set[str] = field(default_factory=set)
    results: list[SimulationResult] = field(default_factory=list)
    """The pieces done."""
    running: int = 0
    """Pieces in a worker now."""
    finished: int = 0
    """Replications in the pieces done."""
    retries: int = 0
    """Times its pieces were run again after a worker died."""
    broken: ProcessPoolExecutor | None = None
    """The last pool that broke under it (its pieces then all fail at once: one retry)."""

    @property
    def total(self) -> int:
        return self.key.replications


@dataclass(eq=False)
class _Piece:
    """A piece of a job in a worker (in one worker slot)."""

    job: _Job
    part: Slice
    future: Future[SimulationResult]
    pool: ProcessPoolExecutor


class BandRunner:
    """Runs the band jobs of every session of a server in worker processes (`workers`, by default one per
    core up to four).

    Each job is cut into pieces of at most `chunk` replications; a free worker takes the next piece of
    the next owner (a browser session) in turn, so sessions share the workers evenly whatever the size of
    their bands. The newest request of each owner wins: its older unfinished jobs are cancelled unless
    another owner still waits for them; an owner that has not asked for `idle` seconds (by default
    `idle_seconds()`) is forgotten the same way, unless `alive(owner)` says its page is still open (e.g.
    its Streamlit session still connected: a hidden browser tab polls rarely). Finished bands are kept
    for the `keep` most recently asked-for jobs."""

    def __init__(
        self,
        keep: int = 64,
        workers: int | None = None,
        idle: float | None = None,
        chunk: int = CHUNK,
        alive: Callable[[str], bool] | None = None,
    ) -> None:
        self._keep = keep
        self._alive = alive
        self._workers = workers or max(1, min(os.cpu_count() or 1, 4))
        self._idle = idle if idle is not None else idle_seconds()
        self._chunk = max(1, chunk)
        self._lock = threading.Lock()
        self._jobs: OrderedDict[BandKey, _Job] = OrderedDict()
        """Jobs by key, the least recently asked for first."""
        self._seen: dict[str, float] = {}
        """Owner → when it last asked (time.monotonic())."""
        self._turns: deque[str] = deque()
        """The owners, in the order they get a free worker."""
        self._slots: list[_Piece | None] = [None] * self._workers
        """The piece in each worker slot (at most one piece per worker is handed out)."""
        self._next = 1
        self._ctx = mp.get_context("spawn")  # never fork a process with threads (the app's server)
        self._progress = self._ctx.Array("q", [0] * self._workers)
        self._cancel = self._ctx.Array("q", [0] * self._workers)
        self._pool: ProcessPoolExecutor | None = None
        self._wake = threading.Event()
        self._scheduler: threading.Thread | None = None
        self._stop_scheduler = threading.Event()
        self._closed = False

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
        """How many worker processes share the jobs."""
        return self._workers

    @property
    def idle(self) -> float:
        """Seconds without a request after which an owner is forgotten."""
        return self._idle

    @property
    def owners(self) -> int:
        """How many owners are remembered (those that asked within the last `idle` seconds, about)."""
        with self._lock:
            return len(self._seen)

    @property
    def jobs(self) -> int:
        """How many jobs are kept (finished ones up to `keep`, and those still queued or running)."""
        with self._lock:
            return len(self._jobs)

    def warm_up(self) -> None:
        """Start the worker processes now (each loads the engine), so the first band does not wait."""
        with self._lock:
            if not self._closed:
                self._executor()
                self._start_scheduler()

    def request(self, toml: str, replications: int, seed: int, owner: str) -> Status:
        """Status of the band for (toml, replications, seed), starting it if needed, on behalf of `owner`."""
        key = BandKey(toml, replications, seed)
        with self._lock:
            if self._closed:  # the server is stopping: start nothing
                return Status(JobState.CANCELLED, 0, replications)
            if owner not in self._seen:
                self._turns.append(owner)
            self._seen[owner] = time.monotonic()
            job = self._jobs.get(key)
            if job is not None and self._state(job) == JobState.CANCELLED:
                del self._jobs[key]
                job = None
            if job is None:
                job = self._submit(key)
            self._jobs.move_to_end(key)
            for other in list(self._jobs.values()):
                if other is not job:
                    self._leave(other, owner)
            job.owners.add(owner)
            self._trim()
            self._dispatch()
            self._start_scheduler()
            return self._status(job)

    def status(self, toml: str, replications: int, seed: int) -> Status | None:
        """Status of the band for (toml, replications, seed) if it is known, without asking for it."""
        with self._lock:
            job = self._jobs.get(BandKey(toml, replications, seed))
            return None if job is None else self._status(job)

    def wait(self, toml: str, replications: int, seed: int, timeout: float | None = None) -> Band:
        """The band of a requested job, waiting for it (raises the job's error)."""
        with self._lock:
            job = self._jobs[BandKey(toml, replications, seed)]
        return job.future.result(timeout=timeout)

    def forget(self, owner: str) -> None:
        """The owner waits for nothing any more (its unfinished jobs are cancelled if nobody else waits)."""
        with self._lock:
            self._forget(owner)

    def shutdown(self, wait: bool = True) -> None:
        """Cancel every job and stop the workers for good (later requests start nothing). With `wait`,
        return once they have exited: a running piece stops at its next replication, and a worker still
        starting finishes starting first (a worker whose parent is gone cannot start cleanly)."""
        with self._lock:
            self._closed = True
            for job in self._jobs.values():
                self._stop(job)
            pool, self._pool = self._pool, None
            scheduler, self._scheduler = self._scheduler, None
            self._stop_scheduler.set()
            self._wake.set()
            self._slots = [None] * self._workers
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
        if scheduler is not None and wait:
            scheduler.join(timeout=10)

    # --- under the lock ---------------------------------------------------------------------------

    def _start_scheduler(self) -> None:
        """The thread that hands out pieces as workers free up and forgets silent owners."""
        if self._scheduler is None:
            self._stop_scheduler = threading.Event()
            self._scheduler = threading.Thread(
                target=self._schedule, args=(self._stop_scheduler,), name="band-scheduler", daemon=True
            )
            self._scheduler.start()

    def _submit(self, key: BandKey) -> _Job:
        parts = max(self._workers, math.ceil(key.replications / self._chunk))
        job = _Job(self._next, key, Future(), deque(split(key.replications, parts)), time.perf_counter())
        self._next += 1
        self._jobs[key] = job
        return job

    def _next_job(self) -> _Job | None:
        """The job of the next owner in turn with a piece to hand out (that owner goes to the back)."""
        for _ in range(len(self._turns)):
            owner = self._turns[0]
            self._turns.rotate(-1)
            for job in self._jobs.values():
                if owner in job.owners and job.pending and not job.future.done():
                    return job
        return None

    def _dispatch(self) -> None:
        """Hand each free worker slot the next piece, in turn between the owners."""
        for slot in range(self._workers):
            if self._closed:
                return
            if self._slots[slot] is not None:
                continue
            job = self._next_job()
            if job is None:
                return
            part = job.pending.popleft()
            self._cancel[slot] = 0
            self._progress[slot] = 0
            args = (_piece, slot, job.id, job.key.toml, job.key.seed, part.first, part.count)
            pool = self._executor()
            try:
                future = pool.submit(*args)
            except BrokenProcessPool:  # a worker died: start new ones
                self._drop_pool(pool)
                pool = self._executor()
                future = pool.submit(*args)
            except RuntimeError:  # the interpreter is exiting (the server stops): no new work, no new pool
                job.pending.appendleft(part)
                self._closed = True
                self._stop_scheduler.set()
                return
            self._slots[slot] = _Piece(job, part, future, pool)
            job.running += 1
            future.add_done_callback(lambda _f: self._wake.set())

    def _collect(self) -> list[_Job]:
        """Free the slots of the pieces done; the jobs whose last piece is in (to be joined)."""
        ready = []
        for slot, piece in enumerate(self._slots):
            if piece is None or not piece.future.done():
                continue
            self._slots[slot] = None
            job = piece.job
            job.running -= 1
            if job.future.done():  # cancelled or failed meanwhile
                continue
            exc = None if piece.future.cancelled() else piece.future.exception()
            if piece.future.cancelled() or isinstance(exc, Cancelled):  # never started: hand it out again
                job.pending.appendleft(piece.part)
            elif isinstance(exc, BrokenProcessPool) and (piece.pool is job.broken or job.retries < RETRIES):
                if piece.pool is not job.broken:  # a worker died: once more, on new workers
                    job.retries, job.broken = job.retries + 1, piece.pool
                job.pending.appendleft(piece.part)
                self._drop_pool(piece.pool)
            elif exc is not None:
                self._fail(job, exc)
            else:
                job.results.append(piece.future.result())
                job.finished += piece.part.count
                if not job.pending and not job.running:
                    ready.append(job)
        return ready

    def _expire(self, now: float) -> None:
        """Forget the owners that have not asked for `idle` seconds and whose pages are closed."""
        for owner in [o for o, seen in self._seen.items() if now - seen > self._idle]:
            if not self._is_alive(owner):
                self._forget(owner)

    def _is_alive(self, owner: str) -> bool:
        if self._alive is None:
            return False
        try:
            return bool(self._alive(owner))
        except Exception:  # a failing check counts as closed: silence decides
            LOG.exception("band owner check")
            return False

    def _forget(self, owner: str) -> None:
        if self._seen.pop(owner, None) is not None:
            self._turns.remove(owner)
        for job in self._jobs.values():
            self._leave(job, owner)

    def _leave(self, job: _Job, owner: str) -> None:
        """`owner` no longer waits for `job`: cancel the job if nobody does."""
        if owner in job.owners:
            job.owners.discard(owner)
            if not job.owners:
                self._stop(job)

    def _stop(self, job: _Job) -> None:
        """Cancel an unfinished job: its pieces not handed out are dropped, those in a worker stop at their
        next replication. A job whose every piece is in (being joined) is left to finish."""
        if job.future.done() or job.finished == job.total:
            return
        LOG.info("band job %d cancelled: nobody waits for it", job.id)
        self._halt(job)
        job.future.cancel()

    def _fail(self, job: _Job, exc: BaseException) -> None:
        self._halt(job)
        job.future.set_exception(exc)

    def _halt(self, job: _Job) -> None:
        """Drop a job's pieces not handed out; flag those in a worker to stop."""
        job.pending.clear()
        job.results = []
        for slot, piece in enumerate(self._slots):
            if piece is not None and piece.job is job:
                self._cancel[slot] = job.id
        self._wake.set()

    def _drop_pool(self, pool: ProcessPoolExecutor) -> None:
        if pool is self._pool:
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)

    def _trim(self) -> None:
        """Keep at most `keep` jobs: the least recently asked-for finished ones go first (a job someone
        still waits for stays)."""
        excess = len(self._jobs) - self._keep
        if excess > 0:
            for key in [key for key, job in self._jobs.items() if job.future.done()][:excess]:
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
        return JobState.RUNNING if job.running or job.finished else JobState.QUEUED

    def _status(self, job: _Job) -> Status:
        state = self._state(job)
        if state == JobState.DONE:
            return Status(state, job.total, job.total, job.future.result())
        if state == JobState.FAILED:
            exc = job.future.exception()
            return Status(state, 0, job.total, error=f"{type(exc).__name__}: {exc}")
        if state != JobState.RUNNING:
            return Status(state, 0, job.total)
        running = sum(self._progress[s] for s, p in enumerate(self._slots) if p is not None and p.job is job)
        return Status(state, min(job.total, job.finished + running), job.total)

    # --- the scheduler thread ---------------------------------------------------------------------

    def _schedule(self, stop: threading.Event) -> None:
        """Wake when a piece is done or a job is cancelled (and at least every quarter of `idle`, up to a
        second): collect, forget silent owners, hand out free workers, then join the finished bands."""
        tick = min(1.0, self._idle / 4)
        while not stop.is_set():
            self._wake.wait(tick)
            self._wake.clear()
            try:
                with self._lock:
                    if stop.is_set():
                        return
                    ready = self._collect()
                    self._expire(time.monotonic())
                    self._dispatch()
                for job in ready:
                    self._join(job)
            except Exception:  # keep serving the other sessions; the failure goes to the server's log
                LOG.exception("band scheduler")

    def _join(self, job: _Job) -> None:
        """Join a job's pieces into its band (outside the lock: a few milliseconds)."""
        from sim.engine.runs import combine

        try:
            band: Band | Exception = band_of(combine(job.results), time.perf_counter() - job.started)
        except Exception as exc:  # any error: the page shows it as the job's
            band = exc
        with self._lock:
            job.results = []
            if job.future.done():
                return
            if isinstance(band, Exception):
                job.future.set_exception(band)
            else:
                job.future.set_result(band)
