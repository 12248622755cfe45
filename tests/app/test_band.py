"""Monte Carlo runs in parts: `simulate(..., first=…)`, `combine`, and the app's `BandRunner` splitting a
band between worker processes — the same numbers as one run in one process."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from sim.app.band import BandRunner, JobState, Slice, compute_band, split
from sim.engine.runs import combine

ROOT = Path(__file__).resolve().parents[2]
DEALER = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml").override({"horizon_months": 24})


@given(replications=st.integers(1, 500), parts=st.integers(1, 16))
def test_split_covers_every_replication_once_in_near_equal_slices(replications, parts):
    slices = split(replications, parts)
    assert len(slices) == min(parts, replications) and all(isinstance(s, Slice) for s in slices)
    numbers = [r for first, count in slices for r in range(first, first + count)]
    assert numbers == list(range(replications))
    counts = [count for _, count in slices]
    assert max(counts) - min(counts) <= 1 and min(counts) >= 1


def test_parts_combine_into_the_result_of_one_run():
    whole = sim.simulate(DEALER, replications=5, seed=3)
    parts = [sim.simulate(DEALER, 2, 3, first=3), sim.simulate(DEALER, 3, 3, first=0)]  # any order
    assert parts[0].kpis["replication"].tolist() == [3, 4]
    joined = combine(parts)
    pd.testing.assert_frame_equal(joined.monthly, whole.monthly, check_exact=True)
    pd.testing.assert_frame_equal(joined.kpis, whole.kpis, check_exact=True)
    assert joined.replications == 5
    pd.testing.assert_frame_equal(joined.bands(), whole.bands(), check_exact=True)


def test_combine_refuses_overlapping_or_foreign_parts():
    a = sim.simulate(DEALER, 2, 3)
    with pytest.raises(ValueError, match="overlap"):
        combine([a, sim.simulate(DEALER, 2, 3, first=1)])
    with pytest.raises(ValueError, match="different scenarios or seeds"):
        combine([a, sim.simulate(DEALER, 2, 4, first=2)])
    with pytest.raises(ValueError, match="no parts"):
        combine([])
    with pytest.raises(ValueError, match="first = -1"):
        sim.simulate(DEALER, 2, 3, first=-1)


def test_band_runner_splits_a_band_between_workers_with_the_same_numbers():
    toml = DEALER.to_toml()
    runner = BandRunner(workers=2)
    try:
        runner.warm_up()
        seen = []
        deadline = time.monotonic() + 120
        while not (status := runner.request(toml, 7, 2, owner="a")).finished:
            assert time.monotonic() < deadline, status
            seen.append(status.done)
            time.sleep(0.02)
        assert status.state == JobState.DONE, status.error
        assert status.done == status.total == 7
        assert all(0 <= d <= 7 for d in seen)
        one_process = compute_band(toml, 7, 2)
        pd.testing.assert_frame_equal(status.band.frame, one_process.frame, check_exact=True)
        assert status.band.p_break_even == one_process.p_break_even
        assert status.band.replications == 7 and status.band.seconds > 0
    finally:
        runner.shutdown()


def test_a_failing_part_fails_the_job_with_its_error():
    runner = BandRunner(workers=2)
    try:
        deadline = time.monotonic() + 120
        while not (status := runner.request("horizon_months = 'x'", 4, 1, owner="a")).finished:
            assert time.monotonic() < deadline, status
            time.sleep(0.02)
        assert status.state == JobState.FAILED and "ScenarioError" in status.error
    finally:
        runner.shutdown()


def test_workers_run_at_low_priority_and_the_page_does_not():
    """The workers are nice (the page and the browser come first); the app's own process is not."""
    import os

    from sim.app.band import NICE

    before = os.nice(0)
    runner = BandRunner(workers=2)
    try:
        runner.warm_up()
        pool = runner._executor()
        assert {pool.submit(os.nice, 0).result(timeout=60) for _ in range(4)} == {max(before, NICE)}
        assert os.nice(0) == before
    finally:
        runner.shutdown()


# --- several sessions at once: fair turns, closed pages, bounded memory ---------------------------------

LONG = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml").to_toml()
"""The dealer over its full horizon: about 25–45 ms a replication, so 200 take several seconds."""


def _until(check, seconds: float = 60.0, every: float = 0.02):
    """Call `check` until it returns something true (that value), failing after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(every)
    return value


def test_a_small_band_does_not_wait_behind_another_sessions_long_one():
    """One worker; session "long" asks for 200 replications, then "b" and "c" for 20 each: the workers
    take the sessions' pieces in turn, so both small bands are ready while the long one still runs (in
    order of request, they would wait for all 200)."""
    runner = BandRunner(workers=1)
    try:
        runner.warm_up()
        _until(lambda: runner.request(LONG, 200, 1, owner="long").state == JobState.RUNNING)
        small = {owner: runner.request(LONG, 20, seed, owner=owner) for owner, seed in (("b", 2), ("c", 3))}
        polled = {owner: [] for owner in ("long", "b", "c")}

        def small_ones_done() -> bool:
            polled["long"].append(runner.request(LONG, 200, 1, owner="long"))
            for owner, seed in (("b", 2), ("c", 3)):
                small[owner] = runner.request(LONG, 20, seed, owner=owner)
                polled[owner].append(small[owner])
            return all(s.finished for s in small.values())

        _until(small_ones_done, 120)
        assert all(s.state == JobState.DONE for s in small.values()), small
        long = runner.request(LONG, 200, 1, owner="long")
        assert long.state == JobState.RUNNING and 0 < long.done < long.total, long
        for statuses in polled.values():  # each job's progress only grows, within its total
            done = [s.done for s in statuses if s.state == JobState.RUNNING]
            assert done == sorted(done) and all(d <= statuses[0].total for d in done)
        # the small ones ran in turn, not one after the other: "c" had started before "b" was done
        first_b_done = next(i for i, s in enumerate(polled["b"]) if s.state == JobState.DONE)
        assert polled["c"][first_b_done].state != JobState.QUEUED
    finally:
        runner.shutdown()


def test_a_closed_pages_band_is_cancelled_and_the_worker_freed():
    """A page that stops asking (closed: Streamlit tells nobody) is forgotten after `idle` seconds: its
    job is cancelled mid-run and the worker goes on with the pages still open; a page that keeps asking
    keeps its band."""
    runner = BandRunner(workers=1, idle=1.0)
    try:
        runner.warm_up()
        _until(lambda: runner.request(LONG, 200, 1, owner="closed").state == JobState.RUNNING)
        opened = time.monotonic()

        def settled():  # "open" keeps asking until its band is ready and the closed page's is cancelled
            mine, gone = runner.request(LONG, 30, 2, owner="open"), runner.status(LONG, 200, 1)
            return mine.finished and gone.state == JobState.CANCELLED and (mine, gone)

        mine, gone = _until(settled, 60)
        assert mine.state == JobState.DONE and gone.done < gone.total
        assert runner.owners == 1  # "open" asked a moment ago, "closed" is forgotten
        assert time.monotonic() - opened < 60
        # the worker is free: a new band starts at once (the cancelled piece stopped at its next replication)
        _until(lambda: runner.request(LONG, 4, 3, owner="open").state == JobState.DONE, 30)
        _until(lambda: runner.owners == 0, 10)  # "open" stopped asking too: nothing is remembered
        assert runner.request(LONG, 200, 1, owner="back").state in (JobState.QUEUED, JobState.RUNNING)
    finally:
        runner.shutdown()


def test_forget_cancels_only_jobs_nobody_else_waits_for():
    runner = BandRunner(workers=1)
    try:
        runner.request(LONG, 100, 1, owner="a")
        runner.request(LONG, 100, 1, owner="b")  # the same band: one job, two owners
        runner.forget("a")
        assert runner.status(LONG, 100, 1).state != JobState.CANCELLED
        runner.forget("b")
        assert runner.status(LONG, 100, 1).state == JobState.CANCELLED
        assert runner.request(LONG, 100, 1, owner="b").state in (JobState.QUEUED, JobState.RUNNING)
    finally:
        runner.shutdown()


def test_the_kept_bands_and_owners_are_bounded():
    """A long-running server: finished bands beyond `keep` are dropped, the least recently asked for
    first, and owners that stopped asking are forgotten."""
    toml = DEALER.to_toml()
    runner = BandRunner(keep=3, workers=1, idle=0.5)
    try:
        for seed in range(8):
            _until(lambda seed=seed: runner.request(toml, 2, seed, owner=f"page{seed}").finished, 60)
        assert runner.jobs == 3
        assert runner.status(toml, 2, 7).state == JobState.DONE and runner.status(toml, 2, 0) is None
        _until(lambda: runner.owners == 0, 10)
    finally:
        runner.shutdown()


def test_many_pieces_join_into_the_band_of_one_process():
    """Pieces of 3 replications on two workers, two sessions at once: each band is exactly the one of
    `compute_band`."""
    toml = DEALER.to_toml()
    runner = BandRunner(workers=2, chunk=3)
    try:

        def both() -> list:
            statuses = [runner.request(toml, 11, seed, owner=f"s{seed}") for seed in (4, 5)]
            return all(s.finished for s in statuses) and statuses

        for seed, status in zip((4, 5), _until(both, 120), strict=True):
            assert status.state == JobState.DONE, status.error
            one_process = compute_band(toml, 11, seed)
            pd.testing.assert_frame_equal(status.band.frame, one_process.frame, check_exact=True)
            assert status.band.p_break_even == one_process.p_break_even
    finally:
        runner.shutdown()


def test_the_idle_time_comes_from_the_environment(monkeypatch):
    from sim.app.band import IDLE_SECONDS, idle_seconds

    monkeypatch.delenv("SIM_BAND_IDLE_SECONDS", raising=False)
    assert idle_seconds() == IDLE_SECONDS
    monkeypatch.setenv("SIM_BAND_IDLE_SECONDS", "2.5")
    assert idle_seconds() == 2.5 and BandRunner(workers=1).idle == 2.5
    for bad in ("soon", "0", "-1", "inf"):
        monkeypatch.setenv("SIM_BAND_IDLE_SECONDS", bad)
        with pytest.raises(ValueError, match=f"SIM_BAND_IDLE_SECONDS = '{bad}'.*greater than 0"):
            idle_seconds()


def test_a_worker_killed_mid_band_is_replaced_and_the_band_completes():
    """A worker process that dies (killed, out of memory) breaks the pool: its pieces run again on new
    workers and the band is still exactly the one of one process (it used to fail the job for good)."""
    import os
    import signal

    runner = BandRunner(workers=1, chunk=5)
    try:
        runner.warm_up()
        _until(lambda: runner.request(LONG, 60, 6, owner="a").done > 0)
        broken = runner._pool
        for pid in list(broken._processes):
            os.kill(pid, signal.SIGKILL)
        status = _until(lambda: (s := runner.request(LONG, 60, 6, owner="a")).finished and s, 120)
        assert status.state == JobState.DONE, status.error
        assert runner._pool is not broken  # new workers took over
        pd.testing.assert_frame_equal(status.band.frame, compute_band(LONG, 60, 6).frame, check_exact=True)
    finally:
        runner.shutdown()


def test_a_silent_page_still_open_keeps_its_band():
    """With `alive` (e.g. the Streamlit session still connected), silence alone does not cancel: a hidden
    tab that polls rarely keeps its band; a closed one loses it."""
    runner = BandRunner(workers=1, idle=0.5, alive=lambda owner: owner == "hidden")
    try:
        runner.request(LONG, 40, 1, owner="hidden")
        runner.request(LONG, 200, 2, owner="closed")
        _until(lambda: runner.status(LONG, 200, 2).state == JobState.CANCELLED, 30)
        status = _until(lambda: (s := runner.status(LONG, 40, 1)).finished and s, 120)
        assert status.state == JobState.DONE and runner.owners == 1
    finally:
        runner.shutdown()


def test_after_shutdown_a_request_starts_nothing():
    """The server is stopping (atexit): a page's late request must not start new worker processes."""
    runner = BandRunner(workers=1)
    runner.request(LONG, 50, 1, owner="a")
    runner.shutdown()
    assert runner.request(LONG, 4, 2, owner="a").state == JobState.CANCELLED
    assert runner._pool is None and runner._scheduler is None
