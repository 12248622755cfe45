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
