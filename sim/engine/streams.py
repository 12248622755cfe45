"""Random streams: one `numpy.random.Generator` per stochastic source, spawned from the seed.

A source keeps its stream whatever the other levers are, so two scenarios run with the same seed share
the draws of each source (common random numbers) and a what-if comparison is paired. Replication r of
seed s uses `SeedSequence(s, spawn_key=(r, source))`: results do not depend on how many replications
run, nor in which order.
"""

from __future__ import annotations

import numpy as np

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
    "existing",  # visit phases of the customers at month 0
)


def stream(seed: int, replication: int, source: str, index: int = 0) -> np.random.Generator:
    """The generator of one source (and sub-index, e.g. a channel) for one replication."""
    key = (int(replication), SOURCES.index(source), int(index))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=key)))
