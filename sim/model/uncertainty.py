"""What is not known: levers given as ranges (`[uncertainty]`), drawn once per replication.

A range is uniform on [low, high], or triangular with its peak at `mode`. Each replication draws every
uncertain lever once, by the inverse of its distribution function from one uniform number taken from a
random stream of its own (the stream of (seed, replication, "uncertainty", `stream_index(path)`)), so
two scenarios run with the same seed draw the same value for the same lever (a paired comparison). The
drawn values replace the lever's value with `Scenario.override` (a planned lever moves as a whole).
Whole-number levers (staff) take the whole number the draw rounds to.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

from sim.model import paths
from sim.model.errors import ScenarioError
from sim.model.levers import BY_KEY, SECTIONS, model_bounds
from sim.model.scenario import Scenario, Uncertain


def _key(path: str) -> str:
    return ".".join(p for p in path.split(".") if not (p.isascii() and p.isdigit()))


def stream_index(path: str) -> int:
    """The index of the lever's own random stream (a stable hash of its path)."""
    return zlib.crc32(path.encode("utf-8"))


def is_integer(path: str) -> bool:
    """True for a whole-number lever (staff)."""
    section, field = _key(path).split(".")
    return model_bounds(SECTIONS[section], field)[3]


def check(scenario: Scenario, source: str) -> None:
    """Validate `[uncertainty]`: every path a lever of this scenario that is switched on, every range
    within the lever's bounds (for a planned lever: bounds that keep every planned month valid)."""
    from sim.model.levers import all_levers

    by_path = {lv.path: lv for lv in all_levers(scenario)}
    problems: list[tuple[str, Any, str]] = []
    for path, rng in scenario.uncertainty:
        where = f'uncertainty."{path}"'
        if _key(path) not in BY_KEY:
            problems.append((where, rng.model_dump(exclude_none=True), "not a lever (a dotted path)"))
            continue
        lever = by_path.get(path)
        if lever is None or paths.get(scenario, path) is None:
            problems.append((where, rng.model_dump(exclude_none=True), "no such lever switched on here"))
            continue
        for name in ("low", "mode", "high"):
            x = getattr(rng, name)
            if x is None:
                continue
            below = x <= lever.low if lever.low_open else x < lever.low
            if below or x > lever.high:
                side = f"> {lever.low:g}" if lever.low_open else f"≥ {lever.low:g}"
                rule = f"{name} must be {side}" if below else f"{name} must be ≤ {lever.high:g}"
                problems.append((where, rng.model_dump(exclude_none=True), rule))
                break
    if problems:
        text = "; ".join(f"{p} = {v!r}: {r}" for p, v, r in problems)
        raise ScenarioError(f"{source}: {text}", problems)


def quantile(rng: Uncertain, u: float) -> float:
    """The value at probability `u` (0 … 1) of the range's distribution (inverse CDF)."""
    lo, hi = float(rng.low), float(rng.high)
    if rng.mode is None:
        return lo + u * (hi - lo)
    c = float(rng.mode)
    split = (c - lo) / (hi - lo)
    if u < split:
        return lo + math.sqrt(u * (hi - lo) * (c - lo))
    return hi - math.sqrt((1.0 - u) * (hi - lo) * (hi - c))


def values(scenario: Scenario, uniforms: dict[str, float]) -> dict[str, float | int]:
    """The drawn value of every uncertain lever from its uniform number (as `Scenario.override` takes
    them)."""
    out: dict[str, float | int] = {}
    for path, rng in scenario.uncertainty:
        x = quantile(rng, uniforms[path])
        if is_integer(path):
            x = min(max(round(x), math.ceil(rng.low)), math.floor(rng.high))
        out[path] = x
    return out


def drawn(scenario: Scenario, uniforms: dict[str, float]) -> Scenario:
    """The scenario with its uncertain levers at the drawn values and no `[uncertainty]` left."""
    changes: dict[str, Any] = dict(values(scenario, uniforms))
    changes["uncertainty"] = {}
    return scenario.override(changes)
