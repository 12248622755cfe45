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

from pydantic import ValidationError

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
    """The scenario with its uncertain levers at the drawn values and no `[uncertainty]` left: equal to
    `scenario.override({**values, "uncertainty": {}})`, validated as that validates it (see `_cheap`)."""
    changes: dict[str, Any] = dict(values(scenario, uniforms))
    cheap = _cheap(scenario, changes)
    if cheap is not None:
        return cheap
    changes["uncertainty"] = {}
    return scenario.override(changes)


_MARGINS = frozenset(("first_purchase.margin", "first_purchase.revenue", "repeat.margin", "repeat.revenue"))
"""Levers in a rule with another field of the plan's cross checks (`sim.model.plan._cross_checks`)."""


def _cheap(scenario: Scenario, changes: dict[str, float | int]) -> Scenario | None:
    """The drawn scenario without `Scenario.override`'s dump and validation of the whole scenario, or
    None where only `override` is sure to give it (then the caller falls back to it).

    Only the section items (a section, or one item of a list section) holding a drawn lever are
    validated anew, from their dump with the drawn values, by their own model: every rule of their
    fields and between them (a margin within its revenue) is checked as the full validation checks it,
    and they come out as the full validation would make them. The scenario's own rules do not read
    these fields; the plan's do (`sim.model.plan.check`), so a drawn lever the plan moves (its steps
    move with it), or one in a plan's rule between two fields, takes the full route. The result has
    every field set, as `override`'s has; sections without a drawn lever are shared with `scenario`."""
    from sim.model import plan  # plan reads the lever catalogue, which reads the scenario's module

    if scenario.planned:
        planned = set(plan.planned_paths(scenario))
        if any(p in planned or _key(p) in _MARGINS for p in changes):
            return None
    by_item: dict[tuple[str, int | None], dict[str, float | int]] = {}
    for path, x in changes.items():
        item, field = plan._item(path)
        by_item.setdefault(item, {})[field] = x
    update: dict[str, Any] = {"uncertainty": ()}
    for (section, index), fields in by_item.items():
        old = getattr(scenario, section)
        node = old if index is None else old[index]
        if node is None:
            return None
        data = node.model_dump(mode="json")
        data.update(fields)
        try:
            new = type(node).model_validate(data)
        except ValidationError:
            return None  # `override` raises the error, naming the place
        if index is None:
            update[section] = new
        else:
            items = list(update.get(section, old))
            items[index] = new
            update[section] = tuple(items)
    out = plan._copy(scenario, update)
    object.__setattr__(out, "__pydantic_fields_set__", set(type(scenario).model_fields))
    return out
