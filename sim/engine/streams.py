"""Random streams: one `numpy.random.Generator` per stochastic source, spawned from the seed.

A source keeps its stream whatever the other levers are, so two scenarios run with the same seed share
the draws of each source (common random numbers) and a what-if comparison is paired. Replication r of
seed s uses `SeedSequence(s, spawn_key=(r, source))`: results do not depend on how many replications
run, nor in which order. The levers given as ranges (`[uncertainty]`) draw from a source of their own,
one stream per lever (`uncertainty_uniforms`): a scenario without them makes no draw there, and the
other sources draw the same numbers with or without them. So does the event log (`records=True`): the days
of existing customers' visits come from a stream of their own (source "existing", index 1), so a run with
records draws in every other stream what it draws without them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from sim.model import uncertainty
from sim.model.scenario import Scenario

SOURCES: tuple[str, ...] = (
    "paid_arrivals",  # + channel index: arrival times of paid leads
    "paid_handling",  # first-contact times of paid leads
    "paid_funnel",  # pass/fail and stage delays of paid leads
    "referral_arrivals",  # referral leads brought by customers
    "referral_handling",  # first-contact times of referral leads
    "referral_funnel",  # pass/fail and stage delays of referral leads
    "adoption",  # which repeat streams a customer uses
    "lifetime",  # monthly churn checks
    "problems",  # problems at visits and whether they make the customer leave
    "existing",  # visit phases of the customers at month 0 (index 1: their visits' days, for the event log)
    "uncertainty",  # + the lever's `sim.model.uncertainty.stream_index`: one uniform per uncertain lever
)


def stream(seed: int, replication: int, source: str, index: int = 0) -> np.random.Generator:
    """The generator of one source (and sub-index, e.g. a channel) for one replication."""
    key = (int(replication), SOURCES.index(source), int(index))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=key)))


def uncertainty_uniforms(seed: int, replication: int, paths: Iterable[str]) -> dict[str, float]:
    """One uniform number in [0, 1) for each uncertain lever (dotted path) of one replication, each the
    first draw of the lever's own stream, so a lever's value does not depend on the other levers (the
    draw `sim.model.uncertainty.drawn` turns into the lever's value)."""
    return {
        p: float(stream(seed, replication, "uncertainty", uncertainty.stream_index(p)).random())
        for p in paths
    }


def drawn_scenario(
    scenario: Scenario, seed: int, replication: int
) -> tuple[Scenario, dict[str, float | int]]:
    """Replication r's scenario: each uncertain lever drawn once from its own stream (seed, r,
    "uncertainty", the lever's index), no `[uncertainty]` left; and the drawn values by path. A scenario
    without uncertainty is returned as it is (nothing drawn)."""
    if not scenario.uncertainty:
        return scenario, {}
    u = uncertainty_uniforms(seed, replication, [p for p, _ in scenario.uncertainty])
    return uncertainty.drawn(scenario, u), uncertainty.values(scenario, u)
