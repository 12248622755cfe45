"""The plan of a sweep: its points (a full grid and/or a Latin hypercube sample), validated, and its runs.

A sweep is a list of points (lever values at dotted paths) times `replications` runs of the engine. Run i
is point i // replications, replication i % replications; runs are cut into contiguous chunks, the unit
of work sent to a worker and of the output written to disk (`sim.batch.storage`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.model import paths
from sim.model.numbers import whole_number
from sim.model.scenario import Scenario, ScenarioError, load_scenario

MAX_REPORTED_PROBLEMS = 3
"""Invalid points named in the error message; the rest are counted."""

Samples = tuple[int, Mapping[str, tuple[float, float]]]
"""(n, {dotted path: (low, high)}): n points drawn by Latin hypercube from the ranges."""


class SweepError(ValueError):
    """A sweep that cannot run as asked (bad arguments, an output directory holding something else)."""


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
class Plan:
    """A validated sweep definition."""

    scenario: Scenario
    levers: tuple[str, ...]
    kinds: tuple[str, ...]
    points: tuple[tuple[Any, ...], ...]
    replications: int
    seed: int
    monthly: bool
    spec: dict[str, Any]
    """The grid and the samples as given (recorded in the manifest, not hashed)."""

    @property
    def runs(self) -> int:
        return len(self.points) * self.replications

    @property
    def uncertain(self) -> tuple[str, ...]:
        """The levers each replication draws (`[uncertainty]` less the swept levers), by path."""
        return tuple(p for p, _ in self.scenario.uncertainty)

    def definition(self) -> dict[str, Any]:
        """Everything the results depend on besides the code (hashed into the manifest)."""
        return {
            "scenario": self.scenario.to_dict(),
            "levers": list(self.levers),
            "points": [list(p) for p in self.points],
            "replications": self.replications,
            "seed": self.seed,
            "monthly": self.monthly,
        }

    def digest(self) -> str:
        """SHA-256 of the definition (hex)."""
        text = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def chunk_bounds(self, size: int) -> list[tuple[int, int]]:
        """(start, stop) of each chunk of `size` runs (the last one may be shorter); chunk id = index."""
        return [(s, min(s + size, self.runs)) for s in range(0, self.runs, size)]

    def lever_column(self, j: int, points: np.ndarray) -> Any:
        """Values of lever j at the given point indices, as a column of the lever's type."""
        values = [self.points[p][j] for p in points.tolist()]
        kind = self.kinds[j]
        if kind == "str":
            return pd.array(values, dtype="str")
        return np.asarray(values, dtype={"bool": bool, "int": np.int64, "float": np.float64}[kind])


def without_swept_ranges(scenario: Scenario, levers: Sequence[str]) -> Scenario:
    """The scenario without the `[uncertainty]` ranges of the swept levers: a lever both swept and
    uncertain takes the point's value in every run (it is not drawn); the other uncertain levers are
    drawn in each replication as `simulate` draws them."""
    swept = {paths.dotted(p) for p in levers}
    kept = [(p, r) for p, r in scenario.uncertainty if paths.dotted(p) not in swept]
    if len(kept) == len(scenario.uncertainty):
        return scenario
    return scenario.override({"uncertainty": {p: r.model_dump(exclude_none=True) for p, r in kept}})


def make_plan(
    scenario: Scenario,
    grid: Mapping[str, Sequence[Any]] | None,
    samples: Samples | None,
    replications: int,
    seed: int,
    monthly: bool,
) -> Plan:
    """The validated plan (raises `SweepError` for malformed arguments, `ScenarioError` for bad values).
    Its scenario keeps the `[uncertainty]` ranges of the levers not swept (`without_swept_ranges`)."""
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
    scenario = without_swept_ranges(scenario, levers)
    kinds = tuple(_lever_kind(p, [pt[j] for pt in points]) for j, p in enumerate(levers))
    _validate(scenario, levers, points)
    return Plan(scenario, tuple(levers), kinds, tuple(points), replications, seed, monthly, spec)


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
    plan = make_plan(sc, grid, samples, 1, whole_number("seed", seed, 0, SweepError), False)
    return [dict(zip(plan.levers, p, strict=True)) for p in plan.points]
