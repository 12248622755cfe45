"""Sweeps (`sim.sweep`): identical results in-process, on a LocalCluster and on a cluster of `dask
scheduler` / `dask worker` processes on 127.0.0.1; a killed worker or client changes nothing; resume
recomputes only the missing chunks, and a crash between any two steps of a compaction loses and
duplicates no row; output by other code is refused; invalid points are refused before any work.

A scaled-down dealer (200 leads a month, 24 months: ~20 ms a run) keeps every sweep to a few seconds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sim
import sim.batch.runners as runners
import sim.batch.storage as storage
import sim.cli.sweep as sweep_cli
from sim.batch.sweeps import SweepError, SweepFrames, sweep, sweep_points
from sim.cli.main import main as cli_main
from sim.model.scenario import ScenarioError

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "sweep.md"
SMALL = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml").override(
    {"channels.0.leads_per_month": 200.0, "horizon_months": 24}
)
GRID: dict[str, list[Any]] = {
    "channels.0.cost_per_lead": [2000, 2500],
    "retention.monthly_churn": [0.01, 0.03, 0.05],
}
GRID_ARGS = ["--grid", "channels.0.cost_per_lead=2000,2500", "--grid", "retention.monthly_churn=0.01:0.05:3"]
REPS = 6  # 6 points × 6 = 36 runs
LONG = SMALL.override({"horizon_months": 48})
"""For the sweeps killed in the middle: slower runs (~10–40 ms) leave time to kill something."""
LONG_REPS = 16  # 96 runs
LONG_CHUNK = 3  # 32 chunks
WAIT = 60.0
"""Longest wait for any subprocess event, in seconds."""


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["point", "replication"]).reset_index(drop=True)


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(_sorted(a), _sorted(b), check_exact=True)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    """The small sweep, in-process."""
    return sweep(SMALL, grid=GRID, replications=REPS, workers=1)


@pytest.fixture(scope="module")
def long_reference() -> pd.DataFrame:
    return sweep(LONG, grid=GRID, replications=LONG_REPS, workers=1)


@pytest.fixture(scope="module")
def small_toml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "small.toml"
    path.write_text(SMALL.to_toml(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def long_toml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "long.toml"
    path.write_text(LONG.to_toml(), encoding="utf-8")
    return path


def _env() -> dict[str, str]:
    """The environment of the scheduler, workers and CLI processes: no PYTHONPATH, since the package is
    installed (workers import `sim` as a cluster's workers would)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def _wait_for(condition: Any, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.01)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=WAIT)


@contextmanager
def dask_cluster(directory: Path, workers: int = 2) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """`dask scheduler` and `dask worker` processes on 127.0.0.1: yields (address, worker processes)."""
    from distributed import Client

    directory.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    log = open(directory / "cluster.log", "wb")  # noqa: SIM115 - closed in finally
    common = {"cwd": directory, "env": _env(), "stdout": log, "stderr": subprocess.STDOUT}
    try:
        sched_file = directory / "scheduler.json"
        dask = [sys.executable, "-m", "dask"]
        scheduler = ["scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", "127.0.0.1:0"]
        procs.append(subprocess.Popen([*dask, *scheduler, "--scheduler-file", str(sched_file)], **common))
        _wait_for(lambda: sched_file.is_file() and sched_file.stat().st_size > 0, "the scheduler file")
        address = json.loads(sched_file.read_text())["address"]
        for i in range(workers):
            worker = ["worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1"]
            worker += ["--no-dashboard", "--name", f"w{i}", "--local-directory", str(directory / f"w{i}")]
            procs.append(subprocess.Popen([*dask, *worker], **common))
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=WAIT)
        yield address, procs[1:]
    finally:
        for p in reversed(procs):
            _stop(p)
        log.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dask_cluster(tmp_path_factory.mktemp("cluster")) as (address, _workers):
        yield address


def _files(out: Path) -> list[str]:
    """Every file under `out`, by relative path."""
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


def _staged(out: Path) -> list[Path]:
    return sorted(out.glob("_staging/chunk-*.parquet"))


def _file_stats(out: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(out).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*.parquet")
    }


def _chunks_of(part: Path) -> list[int]:
    """The [first, stop) chunk ids a part's footer records."""
    import pyarrow.parquet as pq

    return json.loads(pq.read_metadata(part).metadata[storage.CHUNKS_KEY])


class Crash(BaseException):
    """Stands for the process dying at a given step."""


def _crash(*_args: Any) -> None:
    raise Crash


# --- the same result everywhere ----------------------------------------------------------------------


def test_a_point_equals_simulate_with_the_same_seed(reference: pd.DataFrame) -> None:
    """Replication r of every point uses the streams of (seed, r): a point is `simulate` of its scenario."""
    for point, changes in enumerate(sweep_points(SMALL, grid=GRID)):
        expected = sim.simulate(SMALL.override(changes), replications=REPS, seed=0).kpis
        got = reference[reference["point"] == point].reset_index(drop=True)
        pd.testing.assert_frame_equal(got[list(expected.columns)], expected, check_exact=True)
        for path, value in changes.items():
            assert (got[path] == value).all()
    assert list(reference.columns[:4]) == ["point", "replication", *GRID]
    assert len(reference) == 6 * REPS


def test_chunking_does_not_change_the_result(reference: pd.DataFrame) -> None:
    for size in (1, 7, 36):
        assert_same(sweep(SMALL, grid=GRID, replications=REPS, workers=1, chunk_size=size), reference)


def test_local_cluster_with_two_workers_equals_in_process(reference: pd.DataFrame) -> None:
    got = sweep(SMALL, grid=GRID, replications=REPS, workers=2, chunk_size=4)
    assert_same(got, reference)


def test_cli_through_an_external_scheduler(
    cluster: str, reference: pd.DataFrame, small_toml: Path, tmp_path: Path
) -> None:
    """`dask scheduler` + two `dask worker` processes; the command line with --scheduler."""
    out = tmp_path / "out"
    args = [sys.executable, "-m", "sim", "sweep", str(small_toml), *GRID_ARGS]
    args += ["--replications", str(REPS), "--chunk-size", "4", "--out", str(out), "--scheduler", cluster]
    proc = subprocess.run(args, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=WAIT * 2)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "median break-even" in proc.stdout and "mean final cash" in proc.stdout
    assert f"6 point(s) × {REPS} replication(s) = {6 * REPS} runs" in proc.stdout
    assert "dashboard: http" in proc.stderr
    assert f"wrote {out}: {6 * REPS} rows in 1 Parquet part file(s), _manifest.json;" in proc.stdout
    assert_same(pd.read_parquet(out), reference)
    assert _files(out) == ["_manifest.json", "part-000000.parquet"]
    assert _chunks_of(out / "part-000000.parquet") == [0, 9]


def test_killing_a_worker_mid_sweep_changes_nothing(long_reference: pd.DataFrame, tmp_path: Path) -> None:
    """SIGKILL a worker while it runs a chunk, after other chunks have finished: same result."""
    from distributed import Client

    out = tmp_path / "out"
    with dask_cluster(tmp_path / "cluster") as (address, workers), Client(address) as monitor:
        victim = next(
            a for a, w in monitor.scheduler_info(n_workers=-1)["workers"].items() if w["name"] == "w0"
        )
        box: dict[str, Any] = {}

        def client() -> None:
            try:
                box["df"] = sweep(
                    LONG, grid=GRID, replications=LONG_REPS, scheduler=address, out=out, chunk_size=LONG_CHUNK
                )
            except BaseException as exc:  # handed to the test thread
                box["error"] = exc

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        _wait_for(
            lambda: (
                not thread.is_alive()
                or (any(_staged(out)) and bool(monitor.processing([victim]).get(victim)))
            ),
            "a finished chunk and a chunk running on the worker to kill",
        )
        workers[0].send_signal(signal.SIGKILL)
        done_at_kill = len(_staged(out))
        thread.join(timeout=WAIT * 2)
        assert not thread.is_alive(), "the sweep did not finish after a worker was killed"
        assert workers[0].wait(timeout=WAIT) == -signal.SIGKILL
        assert workers[1].poll() is None, "the other worker kept running"
    assert "error" not in box, box.get("error")
    assert 1 <= done_at_kill < 32, "the worker was killed only after the sweep had finished"
    assert_same(box["df"], long_reference)
    assert_same(pd.read_parquet(out), long_reference)


def test_killing_the_client_then_rerunning_resumes(
    long_reference: pd.DataFrame, long_toml: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL the sweeping process mid-sweep; the same sweep again computes only the missing chunks."""
    out = tmp_path / "out"
    args = [sys.executable, "-m", "sim", "sweep", str(long_toml), *GRID_ARGS, "--workers", "1"]
    args += ["--replications", str(LONG_REPS), "--chunk-size", str(LONG_CHUNK), "--out", str(out)]
    proc = subprocess.Popen(args, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: any(_staged(out)) or proc.poll() is not None, "the first chunk")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=WAIT) == -signal.SIGKILL, "the sweep finished before it could be killed"
    finally:
        _stop(proc)
    before = len(_staged(out))
    assert 1 <= before < 32
    assert not list(out.glob(storage.PART_GLOB)), "32 chunks are too few to compact before the end"

    computed: list[int] = []
    real = runners.run_chunk
    monkeypatch.setattr(runners, "run_chunk", lambda *a: computed.append(a[3]) or real(*a))
    messages: list[str] = []
    got = sweep(
        LONG,
        grid=GRID,
        replications=LONG_REPS,
        workers=1,
        out=out,
        chunk_size=LONG_CHUNK,
        log=messages.append,
    )
    assert f"resuming {out}: {before} of 32 chunks already done" in messages
    assert len(computed) == 32 - before, "finished chunks were run again"
    assert _files(out) == ["_manifest.json", "part-000000.parquet"], "temporary or staged files were left"
    assert_same(got, long_reference)
    assert_same(pd.read_parquet(out), long_reference)


# --- output directory -----------------------------------------------------------------------------------


def test_out_dataset_reads_back_as_the_returned_frame(reference: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "o"
    got = sweep(SMALL, grid=GRID, replications=REPS, workers=1, out=out, chunk_size=5)
    pd.testing.assert_frame_equal(got, reference, check_exact=True)  # already sorted
    pd.testing.assert_frame_equal(pd.read_parquet(out), reference, check_exact=True)
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["format"] == storage.FORMAT
    assert manifest["chunk_size"] == 5 and manifest["chunks"] == 8 and manifest["runs"] == 36
    assert manifest["code"] == {"version": sim.__version__, "fingerprint": storage.code_fingerprint()}
    d = manifest["definition"]
    assert d["seed"] == 0 and d["replications"] == REPS
    assert d["scenario"] == SMALL.to_dict() and d["levers"] == list(GRID)
    assert manifest["grid"] == {
        "channels.0.cost_per_lead": [2000.0, 2500.0],
        **{k: GRID[k] for k in list(GRID)[1:]},
    }
    assert _files(out) == ["_manifest.json", "part-000000.parquet"]
    assert _chunks_of(out / "part-000000.parquet") == [0, 8]


def test_resume_recomputes_only_missing_chunks(
    reference: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "o"
    with monkeypatch.context() as m:  # the process dies before the final compaction: 9 staged chunks
        m.setattr(storage.Output, "finish", _crash)
        with pytest.raises(Crash):
            sweep(SMALL, grid=GRID, replications=REPS, workers=1, out=out, chunk_size=4)
    assert len(_staged(out)) == 9 and not list(out.glob(storage.PART_GLOB))
    for cid in (2, 5):
        (out / "_staging" / f"chunk-{cid:06d}.parquet").unlink()
    (out / "_staging" / ".chunk-000003.parquet.999.tmp").write_bytes(b"half a file")  # an interrupted write
    computed: list[tuple[int, int]] = []
    real = runners.run_chunk

    def counting(*args: Any) -> dict[str, Any]:
        computed.append((args[3], args[4]))
        return real(*args)

    monkeypatch.setattr(runners, "run_chunk", counting)
    messages: list[str] = []
    got = sweep(SMALL, grid=GRID, replications=REPS, workers=1, out=out, log=messages.append)
    assert sorted(computed) == [(8, 12), (20, 24)], "only the two missing chunks ran"
    assert messages == [f"resuming {out}: 7 of 9 chunks already done"]
    assert _files(out) == ["_manifest.json", "part-000000.parquet"]
    pd.testing.assert_frame_equal(got, reference, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out), reference, check_exact=True)
    computed.clear()
    before = _file_stats(out)
    again = sweep(
        SMALL, grid=GRID, replications=REPS, workers=2, out=out
    )  # all done: nothing runs, no cluster
    assert computed == [] and _file_stats(out) == before
    pd.testing.assert_frame_equal(again, reference, check_exact=True)


@pytest.mark.parametrize(
    "step",
    [
        "a part renamed in, its staged chunks not deleted",
        "the final merge renamed in, the parts it merged not deleted",
        "the final merge written under its temporary name, not renamed",
    ],
)
def test_a_crash_between_compaction_steps_loses_and_duplicates_nothing(
    step: str, reference: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """18 chunks of 2 runs; every 3 consecutive staged chunks make a part (6 parts), merged into one at
    the end. The process dies at the given step; the dataset folder never shows a row twice, and running
    the sweep again computes only what is missing and leaves one part."""
    out = tmp_path / "o"
    monkeypatch.setattr(storage, "STAGED_CHUNKS", 3)
    calls = {"remove": 0, "fsync part": 0}
    real_remove, real_fsync = storage._remove, storage._fsync

    def remove(path: Path) -> None:
        calls["remove"] += 1
        if (step.startswith("a part") and calls["remove"] == 1) or (
            step.startswith("the final merge renamed") and calls["remove"] == 6 * 3 + 1
        ):
            raise Crash
        real_remove(path)

    def fsync(path: Path) -> None:
        if path.name.startswith(".part-"):
            calls["fsync part"] += 1
            if step.endswith("not renamed") and calls["fsync part"] == 7:
                raise Crash
        real_fsync(path)

    with monkeypatch.context() as m:
        m.setattr(storage, "_remove", remove)
        m.setattr(storage, "_fsync", fsync)
        with pytest.raises(Crash):
            sweep(SMALL, grid=GRID, replications=REPS, workers=1, out=out, chunk_size=2)
    seen = pd.read_parquet(out)
    assert not seen.duplicated(["point", "replication"]).any(), "a reader saw a row twice"
    if step.startswith("a part"):
        assert _files(out)[-4:] == [f"_staging/chunk-00000{c}.parquet" for c in (0, 1, 2)] + [
            "part-000000.parquet"
        ]
        assert len(seen) == 6
    elif step.startswith("the final merge renamed"):
        assert (
            _chunks_of(out / "part-000000.parquet") == [0, 18] and len(list(out.glob("_staging/part-*"))) == 5
        )
        assert_same(seen, reference)
    else:
        assert list(out.glob(".part-000000.parquet.*.tmp")) and len(list(out.glob("_staging/part-*"))) == 5
    computed: list[int] = []
    real = runners.run_chunk
    monkeypatch.setattr(runners, "run_chunk", lambda *a: computed.append(a[3]) or real(*a))
    got = sweep(SMALL, grid=GRID, replications=REPS, workers=1, out=out)
    assert len(computed) == (18 - 3 if step.startswith("a part") else 0)
    assert _files(out) == ["_manifest.json", "part-000000.parquet"]
    assert _chunks_of(out / "part-000000.parquet") == [0, 18]
    pd.testing.assert_frame_equal(got, reference, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out), reference, check_exact=True)


def test_a_sweep_of_many_chunks_leaves_few_files(reference: pd.DataFrame, tmp_path: Path) -> None:
    """120 chunks of one run, KPI and monthly rows: one part each, holding chunks [0, 120)."""
    out = tmp_path / "o"
    kpis, monthly = sweep(SMALL, grid=GRID, replications=20, workers=1, out=out, chunk_size=1, monthly=True)
    assert _files(out) == ["_manifest.json", "_monthly/part-000000.parquet", "part-000000.parquet"]
    for part in (out / "part-000000.parquet", out / "_monthly" / "part-000000.parquet"):
        assert _chunks_of(part) == [0, 120]
    assert sum(p.stat().st_size for p in out.rglob("*.parquet")) < 2_000_000
    # replication r of every point uses the streams of (seed, r) however many replications there are
    first = kpis[kpis["replication"] < REPS].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, reference, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out), kpis, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "_monthly"), monthly, check_exact=True)


def test_parts_made_during_the_sweep_and_merged_at_its_end_keep_the_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small thresholds: parts of 4 staged chunks as the sweep goes, merged at its end in groups of at
    most 10 rows (KPIs: 9 parts of 4 rows -> 5 files); a monthly chunk (24 rows) is a part of its own."""
    monkeypatch.setattr(storage, "STAGED_CHUNKS", 4)
    monkeypatch.setattr(storage, "PART_ROWS", 10)
    out = tmp_path / "o"
    res = sweep(SMALL, grid=GRID, replications=REPS, workers=1, out=out, chunk_size=1, monthly=True)
    kpi_parts = sorted(out.glob(storage.PART_GLOB))
    assert [_chunks_of(p) for p in kpi_parts] == [[0, 8], [8, 16], [16, 24], [24, 32], [32, 36]]
    monthly_parts = sorted((out / "_monthly").glob(storage.PART_GLOB))
    assert [_chunks_of(p) for p in monthly_parts] == [[c, c + 1] for c in range(36)]
    assert not (out / "_staging").exists() and not (out / "_monthly" / "_staging").exists()
    expected = sweep(SMALL, grid=GRID, replications=REPS, workers=1, monthly=True)
    for got, want in ((res.kpis, expected.kpis), (res.monthly, expected.monthly)):
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "_monthly"), expected.monthly, check_exact=True)


def test_a_different_sweep_into_the_same_directory_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "o"
    sweep(SMALL, grid=GRID, replications=2, workers=1, out=out, chunk_size=4)
    before = _file_stats(out)
    afresh = "delete it or choose another out to start afresh"
    with pytest.raises(SweepError, match=rf"holds a different sweep \(seed 0 there, 1 here\): {afresh}"):
        sweep(SMALL, grid=GRID, replications=2, seed=1, workers=1, out=out)
    with pytest.raises(SweepError, match=r"holds a different sweep \(points\)"):
        sweep(SMALL, grid={**GRID, "retention.monthly_churn": [0.02]}, replications=2, workers=1, out=out)
    with pytest.raises(SweepError, match="holds a different sweep"):
        sweep(SMALL.override({"sales_desk.staff": 5}), grid=GRID, replications=2, workers=1, out=out)
    with pytest.raises(SweepError, match="chunk_size=4"):
        sweep(SMALL, grid=GRID, replications=2, workers=1, out=out, chunk_size=5)
    assert _file_stats(out) == before
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(SweepError, match="not empty and holds no sweep"):
        sweep(SMALL, grid=GRID, replications=2, workers=1, out=other)
    old = tmp_path / "old"  # the first layout: one chunk-NNNNNN.parquet per chunk, no "format" key
    old.mkdir()
    (old / "_manifest.json").write_text(
        json.dumps({"hash": "0", "definition": {"format": 1}, "chunk_size": 4})
    )
    with pytest.raises(SweepError, match=rf"holds a sweep in output layout 1, this one writes 2: {afresh}"):
        sweep(SMALL, grid=GRID, replications=2, workers=1, out=old)
    started = tmp_path / "started"  # what a sweep killed while creating its directory leaves
    (started / "_monthly" / "_staging").mkdir(parents=True)
    (started / "_staging").mkdir()
    (started / "._manifest.json.123.tmp").write_text("{")
    sweep(SMALL, grid=GRID, replications=2, workers=1, out=started, chunk_size=4)
    assert _files(started) == ["_manifest.json", "part-000000.parquet"]


def test_output_of_other_code_is_refused(small_toml: Path, tmp_path: Path, capsys: Any) -> None:
    """Resuming into a folder whose manifest records another fingerprint or version: `SweepError` saying
    what differs and how to start afresh; the command line exits 2 with that one line."""
    out = tmp_path / "o"
    args = ["sweep", str(small_toml), *GRID_ARGS, "--replications", "2", "--workers", "1", "--out", str(out)]
    assert cli_main(args) == 0
    capsys.readouterr()
    manifest = json.loads((out / "_manifest.json").read_text())
    here = storage.code_fingerprint()
    manifest["code"]["fingerprint"] = "0123456789ab" + "0" * 52
    (out / "_manifest.json").write_text(json.dumps(manifest))
    before = _file_stats(out)
    differ = rf"code fingerprint 0123456789ab… there, {here[:12]}… here"
    with pytest.raises(SweepError, match=rf"was written by other code \({differ}\), .*: delete it or choose"):
        sweep(small_toml, grid=GRID, replications=2, workers=1, out=out)
    manifest["code"]["version"] = "0.0.1"
    (out / "_manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SweepError, match=rf"\(version '0.0.1' there, '{sim.__version__}' here, {differ}\)"):
        sweep(small_toml, grid=GRID, replications=2, workers=1, out=out)
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "written by other code" in err
    assert "choose another out to start afresh" in err
    assert _file_stats(out) == before
    # a worker with other code refuses the work, so the manifest's fingerprint is the workers'
    with pytest.raises(SweepError, match="runs other code than the client"):
        runners.run_chunk(SMALL.to_dict(), [], {0: ()}, 0, 1, 1, 0, False, sim.__version__, "0" * 64)


def _copy_package(to: Path) -> Path:
    shutil.copytree(storage.PACKAGE_ROOT, to, ignore=shutil.ignore_patterns("__pycache__"))
    return to


def test_code_fingerprint_follows_the_source_files_a_run_goes_through(tmp_path: Path) -> None:
    """The fingerprint of a copy of the package (no .git) changes with the hashed sources only."""
    a = _copy_package(tmp_path / "a")
    fp = storage.code_fingerprint(a)
    assert len(fp) == 64 and storage.code_fingerprint(_copy_package(tmp_path / "b")) == fp  # not the path
    assert storage.code_fingerprint() == storage.code_fingerprint()  # cached: computed once per process
    assert storage.code_fingerprint.cache_info().hits >= 1

    def changed(edit: Any) -> bool:
        root = _copy_package(tmp_path / f"c{len(list(tmp_path.iterdir()))}")
        edit(root)
        return storage.code_fingerprint(root) != fp

    def append(rel: str) -> Any:
        return lambda root: (root / rel).write_text((root / rel).read_text() + "\n# changed\n")

    for rel in ("engine/desk.py", "model/scenario.py", "accounting/ledger.py", "analytic/queueing.py"):
        assert changed(append(rel)), rel
    for rel in ("model/uncertainty.py", "engine/streams.py", "analytic/uncertain.py"):  # the draws' code
        assert changed(append(rel)), rel
    assert changed(append("batch/runners.py")) and changed(append("batch/points.py"))
    assert changed(lambda root: (root / "engine" / "extra.py").write_text("x = 1\n"))
    assert not changed(append("cli/sweep.py")) and not changed(append("batch/storage.py"))

    def pycache(root: Path) -> None:
        (root / "engine" / "__pycache__").mkdir()
        (root / "engine" / "__pycache__" / "desk._serve-31.py311.nbi").write_bytes(b"cache")

    assert not changed(pycache)


def test_monthly_tables(tmp_path: Path) -> None:
    out = tmp_path / "o"
    res = sweep(SMALL, grid=GRID, replications=2, workers=1, out=out, monthly=True, chunk_size=5)
    assert isinstance(res, SweepFrames)
    kpis, monthly = res
    H = SMALL.horizon_months
    assert len(monthly) == len(kpis) * H
    assert list(monthly.columns[:5]) == ["point", "replication", *GRID, "month"]
    changes = sweep_points(SMALL, grid=GRID)[3]
    expected = sim.simulate(SMALL.override(changes), replications=2, seed=0).monthly
    got = monthly[monthly["point"] == 3].reset_index(drop=True)
    pd.testing.assert_frame_equal(got[list(expected.columns)], expected, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "_monthly"), monthly)
    pd.testing.assert_frame_equal(pd.read_parquet(out), kpis)
    again = sweep(SMALL, grid=GRID, replications=2, workers=1, out=out, monthly=True)  # resumed from disk
    pd.testing.assert_frame_equal(again.monthly, monthly)
    with pytest.raises(SweepError, match=r"monthly True there, False here"):
        sweep(SMALL, grid=GRID, replications=2, workers=1, out=out)


# --- levers given as ranges ([uncertainty]) --------------------------------------------------------------

UNSURE = SMALL.override(
    {
        "uncertainty": {
            "channels.0.cost_per_lead": {"low": 2000.0, "high": 2500.0},
            "retention.monthly_churn": {"low": 0.01, "mode": 0.02, "high": 0.05},
            "sales_desk.staff": {"low": 2, "high": 5},
        }
    }
)


def test_a_sweep_of_an_uncertain_scenario_draws_what_is_not_swept(tmp_path: Path) -> None:
    """Each point's replications draw the uncertain levers as `simulate` does (the same values at every
    point: paired); a lever both swept and uncertain takes the swept value and is not drawn; the drawn
    values are columns named by their paths, after the swept levers."""
    grid = {"retention.monthly_churn": [0.01, 0.03], "funnel.0.conversion": [0.2, 0.3]}
    res = sweep(UNSURE, grid=grid, replications=3, workers=1, monthly=True, out=tmp_path / "o", chunk_size=5)
    kpis, monthly = res
    drawn = ["channels.0.cost_per_lead", "sales_desk.staff"]
    assert list(kpis.columns[:6]) == ["point", "replication", *grid, *drawn]
    assert list(monthly.columns[:7]) == ["point", "replication", *grid, *drawn, "month"]
    assert kpis["sales_desk.staff"].dtype == np.int64
    kept = UNSURE.override({"uncertainty": {p: UNSURE.to_dict()["uncertainty"][p] for p in drawn}})
    for point, changes in enumerate(sweep_points(UNSURE, grid=grid)):
        want = sim.simulate(kept.override(changes), replications=3, seed=0)
        got = kpis[kpis["point"] == point].reset_index(drop=True)
        pd.testing.assert_frame_equal(got[list(want.kpis.columns)], want.kpis, check_exact=True)
        pd.testing.assert_frame_equal(got[list(want.draws.columns)], want.draws, check_exact=True)
        assert (got["retention.monthly_churn"] == changes["retention.monthly_churn"]).all()
        rows = monthly[monthly["point"] == point].reset_index(drop=True)
        pd.testing.assert_frame_equal(rows[list(want.monthly.columns)], want.monthly, check_exact=True)
    assert kpis.groupby("replication")["channels.0.cost_per_lead"].nunique().eq(1).all()  # paired
    assert_same(sweep(UNSURE, grid=grid, replications=3, workers=1, chunk_size=2), kpis)
    manifest = json.loads((tmp_path / "o" / storage.MANIFEST).read_text())
    assert sorted(manifest["definition"]["scenario"]["uncertainty"]) == drawn


def test_an_uncertain_lever_that_is_swept_is_not_drawn() -> None:
    only = SMALL.override({"uncertainty": {"sales_desk.staff": {"low": 2, "high": 5}}})
    kpis = sweep(only, grid={"sales_desk.staff": [3]}, replications=2, workers=1)
    assert list(kpis.columns[:3]) == ["point", "replication", "sales_desk.staff"]
    assert "channels.0.cost_per_lead" not in kpis.columns
    want = sim.simulate(SMALL.override({"sales_desk.staff": 3}), replications=2, seed=0).kpis
    pd.testing.assert_frame_equal(kpis[list(want.columns)], want, check_exact=True)


def test_cli_names_the_drawn_levers(tmp_path: Path, capsys: Any) -> None:
    toml = tmp_path / "unsure.toml"
    toml.write_text(UNSURE.to_toml(), encoding="utf-8")
    code = cli_main(
        ["sweep", str(toml), "--grid", "retention.monthly_churn=0.01,0.03", "-n", "2", "--workers", "1"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "drawn once per replication ([uncertainty], columns of the output): " in out
    assert "channels.0.cost_per_lead, sales_desk.staff\n" in out


# --- points and validation ------------------------------------------------------------------------------


def test_a_value_out_of_bounds_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import distributed

    def forbidden(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("work started")

    monkeypatch.setattr(runners, "run_chunk", forbidden)
    monkeypatch.setattr(runners, "run_full", forbidden)
    monkeypatch.setattr(distributed, "LocalCluster", forbidden)
    out = tmp_path / "o"
    bad = {"channels.0.cost_per_lead": [2000, -5], "retention.monthly_churn": [0.01, 1.5]}
    with pytest.raises(ScenarioError) as info:
        sweep(SMALL, grid=bad, replications=3, workers=2, out=out)
    text = str(info.value)
    assert "channels.0.cost_per_lead = -5.0" in text and "retention.monthly_churn = 1.5" in text
    assert "3 of 4 point(s) invalid, nothing was run" in text
    assert ("retention.monthly_churn", 1.5, "Input should be less than or equal to 1") in info.value.problems
    with pytest.raises(ScenarioError, match=r"sales_desk\.stafff = 3: no such field"):
        sweep(SMALL, grid={"sales_desk.stafff": [3]}, workers=2, out=out)
    with pytest.raises(ScenarioError, match=r"retention\.monthly_churn = 1\.5"):
        sweep(SMALL, samples=(4, {"retention.monthly_churn": (0.01, 1.5)}), workers=2, out=out)
    assert not out.exists()


def test_cli_refuses_a_bad_value_in_one_line(small_toml: Path, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "o"
    code = cli_main(
        ["sweep", str(small_toml), "--grid", "retention.monthly_churn=0.01,1.5", "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ")
    assert "retention.monthly_churn = 1.5" in err
    assert not out.exists()
    for bad in (["--grid", "retention.monthly_churn=0.01:0.05"], ["--sample", "sales_desk.staff=2:6"]):
        assert cli_main(["sweep", str(small_toml), *bad]) == 2
        assert capsys.readouterr().err.startswith("error: ")


def test_grid_parsing() -> None:
    assert sweep_cli.parse_grid("retention.monthly_churn=0.01:0.05:5") == (
        "retention.monthly_churn",
        [0.01, 0.02, 0.03, 0.04, 0.05],
    )
    assert sweep_cli.parse_grid("channels.0.cost_per_lead=2000,2250,2500") == (
        "channels.0.cost_per_lead",
        [2000, 2250, 2500],
    )
    assert sweep_cli.parse_grid("sales_desk.handling=fixed,exponential")[1] == ["fixed", "exponential"]
    assert sweep_cli.parse_range("sales_desk.staff=2:6") == ("sales_desk.staff", (2.0, 6.0))
    for bad in ("x", "x=", "x=1:2", "x=1:2:0", "x=a:b:3", "x=1,,2"):
        with pytest.raises(ValueError):
            sweep_cli.parse_grid(bad)
    # a:b:n over a whole-number lever gives whole numbers
    assert sweep_points(SMALL, grid=dict([sweep_cli.parse_grid("sales_desk.staff=2:6:3")])) == [
        {"sales_desk.staff": 2},
        {"sales_desk.staff": 4},
        {"sales_desk.staff": 6},
    ]


def test_latin_hypercube_points_are_stratified_within_ranges_and_reproducible() -> None:
    ranges = {"channels.0.cost_per_lead": (1800, 2600), "sales_desk.staff": (2, 6)}
    pts = sweep_points(SMALL, samples=(20, ranges), seed=3)
    assert len(pts) == 20
    cpl = np.array([p["channels.0.cost_per_lead"] for p in pts])
    staff = [p["sales_desk.staff"] for p in pts]
    assert ((cpl >= 1800) & (cpl <= 2600)).all()
    assert sorted(np.floor((cpl - 1800) / 800 * 20).astype(int).tolist()) == list(range(20)), (
        "one per stratum"
    )
    assert all(type(s) is int for s in staff) and sorted(set(staff)) == [2, 3, 4, 5, 6]
    assert all(staff.count(s) == 4 for s in range(2, 7)), "whole numbers equally often"
    assert sweep_points(SMALL, samples=(20, ranges), seed=3) == pts
    assert sweep_points(SMALL, samples=(20, ranges), seed=4) != pts
    both = sweep_points(SMALL, grid={"retention.monthly_churn": [0.01, 0.02]}, samples=(20, ranges), seed=3)
    assert (
        len(both) == 40
        and [{k: v for k, v in p.items() if k != "retention.monthly_churn"} for p in both[:20]] == pts
    )
    df = sweep(SMALL, samples=(3, ranges), replications=2, seed=3, workers=1)
    assert df["sales_desk.staff"].dtype == np.int64 and len(df) == 6


def test_bad_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runners, "CONNECT_TIMEOUT", "2s")
    with pytest.raises(SweepError, match="not both"):
        sweep(SMALL, workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(SweepError, match="replications"):
        sweep(SMALL, replications=0)
    with pytest.raises(SweepError, match="list of values"):
        sweep(SMALL, grid={"retention.monthly_churn": 0.01})  # type: ignore[dict-item]
    with pytest.raises(SweepError, match="low <= high"):
        sweep(SMALL, samples=(3, {"retention.monthly_churn": (0.05, 0.01)}))
    with pytest.raises(SweepError, match="grid or in the samples"):
        sweep(
            SMALL, grid={"retention.monthly_churn": [0.01]}, samples=(3, {"retention.monthly_churn": (0, 1)})
        )
    with pytest.raises(SweepError, match="cannot reach the Dask scheduler"):
        sweep(SMALL, scheduler="tcp://127.0.0.1:1", chunk_size=1)


# --- the README example -------------------------------------------------------------------------------


def _readme_snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    return next(b for b in blocks if "alt.Chart" in b)


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CPL × churn sweep of docs/sweep.md (pasted into README), run as-is from a copy of the root."""
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "readme"}
    exec(compile(_readme_snippet(), "docs/sweep.md", "exec"), namespace)
    runs, chart, heat = namespace["runs"], namespace["chart"], namespace["heat"]
    assert len(runs) == 12 * 9 and set(runs.columns) >= {"channels.0.cost_per_lead", "break_even_month"}
    spec = chart.to_dict()
    assert spec["mark"]["type"] == "rect"
    assert len(heat) == 12
    # cheaper leads and lower churn break even sooner (never = NaN counts as later than any month)
    be = heat.pivot(index="churn", columns="cpl", values="median_break_even").fillna(np.inf).to_numpy()
    assert (be[1:] >= be[:-1]).all() and (be[:, 1:] >= be[:, :-1]).all()


def _uses_the_package() -> str:
    return sim.__version__


def test_functions_that_use_the_package_pickle_for_dask_workers() -> None:
    """`sim` loads its public names on first use (PEP 562) and no function shadows a module, so the public
    functions pickle by their module's name (pickle, for processes) and functions that use the package can
    be sent to Dask workers (cloudpickle)."""
    import pickle
    import types

    import cloudpickle

    import sim.batch.sweeps

    assert isinstance(sim.batch.sweeps, types.ModuleType)  # the module, never the function `sim.sweep`
    assert type(sim) is types.ModuleType  # a plain module: no subclass, no copyreg
    for fn in (sim.sweep, sim.simulate, sim.expected, sim.levers, sim.goal_seek):
        assert pickle.loads(pickle.dumps(fn)) is fn
    assert cloudpickle.loads(cloudpickle.dumps(_uses_the_package))() == sim.__version__
    assert cloudpickle.loads(cloudpickle.dumps(lambda: sim.sweep))() is sim.sweep
