"""Batch runs: parameter sweeps with Monte Carlo replications, in-process or on Dask (`dask.distributed`).

A sweep is a list of points (lever values at dotted paths, from a full grid and/or a Latin hypercube)
times `replications` runs of the engine. Run i of a sweep is point i // replications, replication
i % replications; runs are cut into contiguous chunks, the unit of work sent to a worker and of the
output written to disk (one Parquet file per chunk, so an interrupted sweep resumes where it stopped).

Seeds (common random numbers): replication r of *every* point uses the random streams of
(`seed`, r) — exactly what `simulate(point_scenario, replications, seed)` uses. The points are thus
paired like a what-if comparison, and a run's result depends only on (scenario, point, seed,
replication): never on the number of workers, the chunking or the order in which chunks finish.

See docs/sweep.md for the output layout, resume rules and how to point a sweep at a cluster.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload

import numpy as np
import pandas as pd

from sim.accounting import frames
from sim.accounting.ledger import MONTHLY_COLUMNS
from sim.accounting.lifetimes import lifetime_tables
from sim.engine.runs import run_one, whole_number
from sim.model import paths
from sim.model.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from sim.version import __version__

if TYPE_CHECKING:
    from distributed import Client

FORMAT = 1
"""Version of the output layout and of the manifest."""
MANIFEST = "_manifest.json"
"""The sweep's definition in an output directory (a leading `_`: Parquet readers skip it)."""
MONTHLY_DIR = "_monthly"
"""Subdirectory of the monthly tables (`monthly=True`); `pandas.read_parquet(DIR)` skips it."""
TARGET_CHUNK_SECONDS = 1.5
"""Aimed-at compute time of one chunk, in seconds: Dask's per-task cost (~ms) stays well under 1 %."""
MIN_CHUNK_SECONDS = 0.25
"""A chunk is never cut smaller than this, in seconds of compute, to balance workers."""
CHUNKS_PER_WORKER = 4
"""Chunks per worker wanted for load balancing (when that keeps chunks >= MIN_CHUNK_SECONDS)."""
CONNECT_TIMEOUT = "20s"
"""How long to try to reach a Dask scheduler given by address."""
MAX_REPORTED_PROBLEMS = 3
"""Invalid points named in the error message; the rest are counted."""

Log = Callable[[str], None]
"""Receives one-line status messages (dashboard link, resume state)."""
Samples = tuple[int, Mapping[str, tuple[float, float]]]
"""(n, {dotted path: (low, high)}): n points drawn by Latin hypercube from the ranges."""


class SweepError(ValueError):
    """A sweep that cannot run as asked (bad arguments, an output directory holding something else)."""


class SweepFrames(NamedTuple):
    """What `sweep(..., monthly=True)` returns."""

    kpis: pd.DataFrame
    """One row per (point, replication): point, replication, the levers, every KPI."""
    monthly: pd.DataFrame
    """One row per (point, replication, month): point, replication, the levers, month, ledger columns."""


# --- the points --------------------------------------------------------------------------------------


def _plain(value: Any, current: Any) -> Any:
    """A lever value as a plain JSON scalar of the field's type (2000 -> 2000.0 for a float field)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(current, bool):
        return value
    if isinstance(current, int) and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(current, float) and isinstance(value, int):
        return float(value)
    return value


def _lever_kind(path: str, values: Sequence[Any]) -> str:
    if any(v is None for v in values):
        raise SweepError(f"{path}: a swept value cannot be None (switch a section off in the scenario)")
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float"
    if all(isinstance(v, str) for v in values):
        return "str"
    raise SweepError(f"{path}: values must be all numbers, all booleans or all strings, got {list(values)!r}")


def _grid_axes(grid: Mapping[str, Sequence[Any]], dump: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    if not isinstance(grid, Mapping):
        raise SweepError(f"grid must be a dict {{dotted path: list of values}}, got {type(grid).__name__}")
    axes = []
    for path, values in grid.items():
        if not isinstance(path, str) or not path:
            raise SweepError(f"grid: {path!r}: a lever is a dotted path such as channels.0.cost_per_lead")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
            raise SweepError(f"grid: {path}: expected a list of values, got {values!r}")
        vals = [_plain(v, paths.get(dump, path)) for v in values]
        if not vals:
            raise SweepError(f"grid: {path}: the list of values is empty")
        axes.append((path, vals))
    return axes


def _latin_hypercube(samples: Samples, dump: dict[str, Any], seed: int) -> tuple[list[str], list[tuple]]:
    """Paths and n points drawn by Latin hypercube (integer levers: uniform over low … high)."""
    if (
        not isinstance(samples, tuple | list)
        or len(samples) != 2
        or not isinstance(samples[1], Mapping)
        or not isinstance(samples[0], int)
        or isinstance(samples[0], bool)
    ):
        raise SweepError("samples must be (n, {dotted path: (low, high)})")
    n, ranges = samples
    if n < 1:
        raise SweepError(f"samples: n = {n}: must be >= 1")
    if not ranges:
        raise SweepError("samples: give at least one {dotted path: (low, high)} range")
    names, lows, highs, integer = [], [], [], []
    for path, rng in ranges.items():
        if not isinstance(rng, tuple | list) or len(rng) != 2:
            raise SweepError(f"samples: {path}: expected a range (low, high), got {rng!r}")
        low, high = (float(x) if isinstance(x, int | float | np.number) else math.nan for x in rng)
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise SweepError(f"samples: {path} = {tuple(rng)!r}: need finite numbers with low <= high")
        cur = paths.get(dump, path)
        is_int = isinstance(cur, int) and not isinstance(cur, bool)
        if is_int and not (low.is_integer() and high.is_integer()):
            raise SweepError(
                f"samples: {path} = {tuple(rng)!r}: a whole-number lever needs whole-number ends"
            )
        names.append(path)
        lows.append(low)
        highs.append(high)
        integer.append(is_int)
    from scipy.stats import qmc

    rng_lhs = np.random.default_rng(np.random.SeedSequence([seed, 0x4C4853]))  # "LHS": not an engine stream
    u = qmc.LatinHypercube(len(names), rng=rng_lhs).random(n)
    cols: list[list[Any]] = []
    for j, (low, high, is_int) in enumerate(zip(lows, highs, integer, strict=True)):
        if is_int:
            v = np.minimum(low + np.floor(u[:, j] * (high - low + 1)), high)
            cols.append([int(x) for x in v])
        else:
            cols.append([float(x) for x in low + u[:, j] * (high - low)])
    return names, list(zip(*cols, strict=True))


def _validate(
    scenario: Scenario, levers: Sequence[str], points: Sequence[tuple], what: str = "point"
) -> None:
    """Build every point's scenario; raise one ScenarioError naming the first problems (path = value)."""
    found: dict[str, list[int]] = {}
    problems: list[tuple[str, Any, str]] = []
    for i, values in enumerate(points):
        try:
            scenario.override(dict(zip(levers, values, strict=True)))
        except ScenarioError as exc:
            items = exc.problems or [("(scenario)", None, str(exc))]
            for path, value, rule in items:
                text = f"{paths.dotted(path)} = {value!r}: {rule}" if value is not None else f"{path}: {rule}"
                if text not in found:
                    found[text] = []
                    problems.append((paths.dotted(path), value, rule))
                found[text].append(i)
    if not found:
        return
    texts = list(found)
    shown = [
        f"{t} ({what} {found[t][0]}{f' and {len(found[t]) - 1} more' if len(found[t]) > 1 else ''})"
        for t in texts[:MAX_REPORTED_PROBLEMS]
    ]
    more = f"; and {len(texts) - MAX_REPORTED_PROBLEMS} more" if len(texts) > MAX_REPORTED_PROBLEMS else ""
    bad = len({i for ids in found.values() for i in ids})
    raise ScenarioError(
        f"sweep of {scenario.name!r}: {bad} of {len(points)} {what}(s) invalid, nothing was run: "
        + "; ".join(shown)
        + more,
        problems,
    )


@dataclass(frozen=True)
class _Plan:
    """A validated sweep definition."""

    scenario: Scenario
    levers: tuple[str, ...]
    kinds: tuple[str, ...]
    points: tuple[tuple[Any, ...], ...]
    replications: int
    seed: int
    monthly: bool
    spec: dict[str, Any]

    @property
    def runs(self) -> int:
        return len(self.points) * self.replications

    def definition(self) -> dict[str, Any]:
        """Everything the results depend on (hashed into the manifest)."""
        return {
            "format": FORMAT,
            "version": __version__,
            "scenario": self.scenario.to_dict(),
            "levers": list(self.levers),
            "points": [list(p) for p in self.points],
            "replications": self.replications,
            "seed": self.seed,
            "monthly": self.monthly,
        }

    def digest(self) -> str:
        text = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def lever_column(self, j: int, points: np.ndarray) -> Any:
        """Values of lever j at the given point indices, as a column of the lever's type."""
        values = [self.points[p][j] for p in points.tolist()]
        kind = self.kinds[j]
        if kind == "str":
            return pd.array(values, dtype="str")
        return np.asarray(values, dtype={"bool": bool, "int": np.int64, "float": np.float64}[kind])


def _plan(
    scenario: Scenario,
    grid: Mapping[str, Sequence[Any]] | None,
    samples: Samples | None,
    replications: int,
    seed: int,
    monthly: bool,
) -> _Plan:
    dump = scenario.model_dump(mode="json")
    axes = _grid_axes(grid, dump) if grid is not None else []
    spec: dict[str, Any] = {"grid": {p: v for p, v in axes}}
    levers = [p for p, _ in axes]
    points: list[tuple] = [tuple(p) for p in itertools.product(*(v for _, v in axes))]
    if samples is not None:
        s_paths, s_points = _latin_hypercube(samples, dump, seed)
        both = sorted(set(levers) & set(s_paths))
        if both:
            raise SweepError(f"{', '.join(both)}: a lever is either in the grid or in the samples, not both")
        # Each range's ends must be valid on their own (the bounds are checked like grid values).
        ends = [(p, (float(lo), float(hi))) for p, (lo, hi) in samples[1].items()]
        for path, (lo, hi) in ends:
            cur = paths.get(dump, path)
            _validate(scenario, [path], [(_plain(lo, cur),), (_plain(hi, cur),)], what=f"{path} range end")
        spec["samples"] = {"n": samples[0], "ranges": {p: [lo, hi] for p, (lo, hi) in ends}}
        levers += s_paths
        points = [g + s for g in points for s in s_points]
    if len(set(levers)) != len(levers):
        raise SweepError("a lever path appears twice")
    kinds = tuple(_lever_kind(p, [pt[j] for pt in points]) for j, p in enumerate(levers))
    _validate(scenario, levers, points)
    return _Plan(scenario, tuple(levers), kinds, tuple(points), replications, seed, monthly, spec)


def sweep_points(
    scenario: Scenario | str | Path,
    grid: Mapping[str, Sequence[Any]] | None = None,
    samples: Samples | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """The points a sweep would run, in order, each as {dotted path: value}; validated like `sweep`.

    Grid points are the full product (the last path varies fastest); with `samples` each grid point is
    combined with each of the n Latin hypercube points (drawn from `seed`; whole-number levers uniform
    over low … high). Raises `ScenarioError` naming the path and value of invalid points.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    plan = _plan(sc, grid, samples, 1, whole_number("seed", seed, 0, SweepError), False)
    return [dict(zip(plan.levers, p, strict=True)) for p in plan.points]


# --- one chunk of runs (runs on any process) ---------------------------------------------------------


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
) -> dict[str, Any]:
    """Runs start … stop − 1 of a sweep (run i: point i // replications, replication i % replications).

    `scenario` is the base scenario as a dict, `points` the lever values of the points the runs touch.
    Replication r uses the engine's streams of (seed, r) whatever the point, as `simulate` does.
    Returns {"kpis": one KPI dict per run, "monthly": per run {column: array over months} or None};
    plain data, so a chunk can run on any Dask worker.
    """
    if version != __version__:
        raise RuntimeError(f"this worker runs funnel-sim {__version__}, the sweep was defined with {version}")
    base = parse_scenario(scenario, source="sweep scenario")
    kpi_rows: list[dict[str, float]] = []
    monthly_runs: list[dict[str, np.ndarray]] = []
    for p, runs in itertools.groupby(range(start, stop), key=lambda i: i // replications):
        sc = base.override(dict(zip(levers, points[p], strict=True)))
        tables = lifetime_tables(sc)
        for i in runs:
            month, row = run_one(sc, seed, i % replications, tables)
            kpi_rows.append(row)
            if monthly:
                monthly_runs.append({c: month[c] for c in MONTHLY_COLUMNS})
    return {"kpis": kpi_rows, "monthly": monthly_runs if monthly else None}


def _chunk_frames(
    plan: _Plan, start: int, stop: int, result: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The KPI rows (and monthly rows) of a chunk with point, replication and lever columns."""
    runs = np.arange(start, stop, dtype=np.int64)
    points, reps = runs // plan.replications, runs % plan.replications
    k = frames.kpi_frame(result["kpis"], reps.tolist())
    k.insert(0, "point", points)
    for j, path in enumerate(plan.levers):
        k.insert(2 + j, path, plan.lever_column(j, points))
    if result["monthly"] is None:
        return k, None
    m = frames.monthly_frame(result["monthly"], reps.tolist())
    H = plan.scenario.horizon_months
    m.insert(0, "point", np.repeat(points, H))
    for j, path in enumerate(plan.levers):
        m.insert(2 + j, path, plan.lever_column(j, np.repeat(points, H)))
    return k, m


# --- output directory --------------------------------------------------------------------------------


def _chunk_name(cid: int) -> str:
    return f"chunk-{cid:06d}.parquet"


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write to a temporary name in the same directory, flush to disk, then rename into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.to_parquet(tmp, index=False)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_json(data: dict[str, Any], path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _rows_in(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return int(pq.read_metadata(path).num_rows)
    except (OSError, ValueError):
        return -1


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which parts of two sweep definitions differ, e.g. `seed 0 there, 1 here, points`."""
    parts = []
    for key, value in new.items():
        if old.get(key) == value:
            continue
        if key in ("seed", "replications", "monthly", "version", "format"):
            parts.append(f"{key} {old.get(key)!r} there, {value!r} here")
        else:
            parts.append(key)
    return ", ".join(parts) or "definition"


def _blank(out: Path) -> bool:
    """No directory, or nothing in it but what an interrupted start leaves (temporaries, empty _monthly)."""
    if not out.is_dir():
        return True
    for p in out.iterdir():
        if p.name.startswith(".") and p.name.endswith(".tmp"):
            continue
        if p.name == MONTHLY_DIR and p.is_dir() and not any(p.iterdir()):
            continue
        return False
    return True


def _open_out(out: Path, plan: _Plan, chunk_size: int | None) -> int | None:
    """Check `out` before anything runs: new/empty (None) or the same sweep (its chunk size)."""
    if out.exists() and not out.is_dir():
        raise SweepError(f"{out}: exists and is not a directory")
    manifest = out / MANIFEST
    if _blank(out):
        return None
    if not manifest.is_file():
        raise SweepError(
            f"{out}: not empty and holds no sweep ({MANIFEST} missing): use a new or empty directory"
        )
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))
        old_digest, old_def, old_size = old["hash"], old["definition"], int(old["chunk_size"])
    except (OSError, ValueError, KeyError, TypeError):
        raise SweepError(f"{manifest}: unreadable manifest: use a new or empty directory") from None
    if old_digest != plan.digest():
        raise SweepError(
            f"{out}: holds a different sweep ({_differences(old_def, plan.definition())}): "
            "use another directory, or delete it to start over"
        )
    if chunk_size is not None and chunk_size != old_size:
        raise SweepError(f"{out}: was written with chunk_size={old_size}: pass that (or None) to resume")
    return old_size


def _clean_temporaries(out: Path) -> None:
    for d in (out, out / MONTHLY_DIR):
        if d.is_dir():
            for p in d.glob(".*.tmp"):
                with suppress(OSError):
                    p.unlink()


# --- execution -----------------------------------------------------------------------------------------


def _cores() -> int:
    count = getattr(os, "process_cpu_count", None)
    if count is not None:
        return max(1, count() or 1)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _chunk_size(plan: _Plan, parallelism: int) -> int:
    """Runs per chunk from the time of one pilot run: ~TARGET_CHUNK_SECONDS, and enough chunks to share."""
    t0 = time.perf_counter()
    run_chunk(
        plan.scenario.to_dict(), plan.levers, {0: plan.points[0]}, 0, 1, plan.replications, plan.seed,
        False, __version__,
    )  # fmt: skip
    per_run = max(time.perf_counter() - t0, 1e-4)
    target = math.ceil(TARGET_CHUNK_SECONDS / per_run)
    floor = math.ceil(MIN_CHUNK_SECONDS / per_run)
    balance = math.ceil(plan.runs / (CHUNKS_PER_WORKER * max(parallelism, 1)))
    return max(1, min(target, max(floor, balance), plan.runs))


@contextmanager
def _dask_client(workers: int | None, scheduler: Any, log: Log | None) -> Iterator[Client]:
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
    import importlib.util

    link = client.dashboard_link
    note = "" if importlib.util.find_spec("bokeh") else " (pages need bokeh: pip install 'bokeh>=3.1')"
    log(f"dashboard: {link}{note}")


def _n_workers(client: Client) -> int:
    return max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))


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
    log: Log | None = ...,
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
    log: Log | None = ...,
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
    log: Log | None = None,
) -> pd.DataFrame | SweepFrames:
    """Run `replications` engine runs at every point of a grid and/or a Latin hypercube sample.

    - `grid`: {dotted path: list of values}, the full product (last path fastest). `samples`:
      (n, {dotted path: (low, high)}), n Latin hypercube points (whole-number levers uniform over
      low … high), combined with each grid point. No grid and no samples: the scenario itself.
    - Seeds: replication r of every point uses the engine's streams of (`seed`, r), as
      `simulate(point_scenario, replications, seed)` does: points are paired (common random numbers)
      and results are the same for any workers, chunking and order of completion.
    - `workers=1` runs in-process; `workers=N` (default: this machine's cores) a LocalCluster of N
      processes; `scheduler` ("tcp://host:8786" or a `distributed.Client`) an existing cluster.
    - `out`: a directory receiving a Parquet dataset (one `chunk-NNNNNN.parquet` per chunk, written
      under a temporary name and renamed) and `_manifest.json`; the same sweep again resumes (finished
      chunks are kept), a different one is refused (`SweepError`). `pandas.read_parquet(out)` reads the
      KPI rows; with `monthly=True` the monthly rows are in `out/_monthly`.
    - `chunk_size`: runs per chunk (default: about TARGET_CHUNK_SECONDS of compute, from one pilot run);
      `progress`: a tqdm bar on stderr; `log`: receives status lines (dashboard link, resume).

    Returns one row per (point, replication) — `point`, `replication`, each lever (column named by
    its path), every KPI (`sim.accounting.ledger.KPI_COLUMNS`) — sorted by point and replication. With
    `monthly=True`, `SweepFrames(kpis, monthly)`: also one row per (point, replication, month).
    Invalid points raise `ScenarioError` (path and value) before anything runs.
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
    plan = _plan(sc, grid, samples, replications, seed, bool(monthly))

    out_dir = Path(out) if out is not None else None
    stored_size = _open_out(out_dir, plan, chunk_size) if out_dir is not None else None
    local_workers = workers if workers is not None else (_cores() if scheduler is None else None)
    size = chunk_size or stored_size

    with ExitStack() as stack:
        client: Client | None = None
        if size is None:
            if scheduler is not None:  # connect first: the chunk size depends on the cluster's workers
                client = stack.enter_context(_dask_client(None, scheduler, log))
                size = _chunk_size(plan, _n_workers(client))
            else:
                size = _chunk_size(plan, local_workers or 1)
        bounds = [(s, min(s + size, plan.runs)) for s in range(0, plan.runs, size)]
        done: set[int] = set()
        if out_dir is not None:
            done = _prepare_dir(out_dir, plan, size, bounds)
            if done and log is not None:
                log(f"resuming {out_dir}: {len(done)} of {len(bounds)} chunks already done")
        todo = [c for c in range(len(bounds)) if c not in done]
        results = _execute(plan, bounds, todo, out_dir, local_workers, scheduler, client, progress, log)

    kpi_parts, monthly_parts = [], []
    for cid in range(len(bounds)):
        if cid in results:
            k, m = results[cid]
        else:
            assert out_dir is not None
            k = pd.read_parquet(out_dir / _chunk_name(cid))
            m = pd.read_parquet(out_dir / MONTHLY_DIR / _chunk_name(cid)) if plan.monthly else None
        kpi_parts.append(k)
        monthly_parts.append(m)
    kpi_all = pd.concat(kpi_parts, ignore_index=True)
    if not plan.monthly:
        return kpi_all
    return SweepFrames(kpi_all, pd.concat(monthly_parts, ignore_index=True))


def _prepare_dir(out: Path, plan: _Plan, size: int, bounds: list[tuple[int, int]]) -> set[int]:
    """Create the directory and manifest (new sweep) or find the finished chunks (resume)."""
    out.mkdir(parents=True, exist_ok=True)
    _clean_temporaries(out)
    manifest = out / MANIFEST
    if plan.monthly:
        (out / MONTHLY_DIR).mkdir(exist_ok=True)
    if not manifest.is_file():
        _write_json(
            {
                "hash": plan.digest(),
                "definition": plan.definition(),
                **plan.spec,
                "chunk_size": size,
                "chunks": len(bounds),
                "runs": plan.runs,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            manifest,
        )
        return set()
    H = plan.scenario.horizon_months
    done = set()
    for cid, (start, stop) in enumerate(bounds):
        ok = _rows_in(out / _chunk_name(cid)) == stop - start
        if ok and plan.monthly:
            ok = _rows_in(out / MONTHLY_DIR / _chunk_name(cid)) == (stop - start) * H
        if ok:
            done.add(cid)
    return done


def _execute(
    plan: _Plan,
    bounds: list[tuple[int, int]],
    todo: list[int],
    out: Path | None,
    local_workers: int | None,
    scheduler: Any,
    client: Client | None,
    progress: bool,
    log: Log | None,
) -> dict[int, tuple[pd.DataFrame, pd.DataFrame | None]]:
    """Run the chunks in `todo`; write each (if `out`) as it finishes; return their frames."""
    from tqdm import tqdm

    results: dict[int, tuple[pd.DataFrame, pd.DataFrame | None]] = {}
    if not todo:
        return results
    sc_dict, version = plan.scenario.to_dict(), __version__

    def task_args(cid: int) -> tuple[Any, ...]:
        start, stop = bounds[cid]
        pts = {
            p: plan.points[p] for p in range(start // plan.replications, (stop - 1) // plan.replications + 1)
        }
        return (sc_dict, plan.levers, pts, start, stop, plan.replications, plan.seed, plan.monthly, version)

    in_process = scheduler is None and min(local_workers or 1, len(todo)) <= 1
    with ExitStack() as stack:
        if in_process:
            completed: Iterator[tuple[int, dict[str, Any]]] = ((c, run_chunk(*task_args(c))) for c in todo)
        else:
            if client is None:
                n = min(local_workers or 1, len(todo)) if scheduler is None else None
                client = stack.enter_context(_dask_client(n, scheduler, log))
            if log is not None:
                log(f"{len(todo)} chunk(s) on {_n_workers(client)} worker(s)")
            completed = stack.enter_context(closing(_completed(client, plan, todo, task_args)))
        # The bar starts once the workers are up, so its rate and ETA are those of the runs.
        n_chunks, finished = len(bounds), len(bounds) - len(todo)
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
                postfix=f"chunks {finished}/{n_chunks}",
            )
        )
        for cid, result in completed:
            start, stop = bounds[cid]
            k, m = _chunk_frames(plan, start, stop, result)
            if out is not None:
                if m is not None:
                    _write_parquet(m, out / MONTHLY_DIR / _chunk_name(cid))
                _write_parquet(k, out / _chunk_name(cid))
            results[cid] = (k, m)
            finished += 1
            bar.set_postfix_str(f"chunks {finished}/{n_chunks}", refresh=False)
            bar.update(stop - start)
    return results


def _completed(
    client: Client, plan: _Plan, todo: list[int], task_args: Callable[[int], tuple[Any, ...]]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Submit every chunk to the cluster; yield (chunk, result) as each completes, in any order."""
    from distributed import as_completed

    key = plan.digest()[:16]
    futures = {
        client.submit(run_chunk, *task_args(cid), key=f"sweep-{key}-{cid:06d}", pure=False): cid
        for cid in todo
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
