"""Lead-funnel unit economics simulator: when does the money spent on leads come back?

The public names below are imported from their modules on first use: `import sim` itself loads nothing
heavy, and the engine (SimPy, numba) is imported only by `sim.simulate`, `sim.compare` and `sim.sweep`, so
the app's first page, which needs `sim.expected` only, does not wait for it.
"""

from __future__ import annotations

import copyreg
import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_SOURCES = {
    "GoalSeekError": "sim.decisions",
    "GoalSeekResult": "sim.decisions",
    "ProgrammeValue": "sim.decisions",
    "goal_seek": "sim.decisions",
    "programme_value": "sim.decisions",
    "sensitivity": "sim.decisions",
    "ExpectedResult": "sim.expected",
    "expected": "sim.expected",
    "Lever": "sim.levers",
    "levers": "sim.levers",
    "SimulationResult": "sim.results",
    "compare": "sim.results",
    "simulate": "sim.results",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "load_scenario": "sim.scenario",
    "loads_scenario": "sim.scenario",
    "parse_scenario": "sim.scenario",
    "SweepError": "sim.sweep",
    "SweepFrames": "sim.sweep",
    "sweep": "sim.sweep",
    "sweep_points": "sim.sweep",
}
"""Public name -> the module that defines it."""

# The functions `sim.expected`, `sim.levers` and `sim.sweep` share their names with their modules: the
# package attribute is always the function (the import system's binding of the submodule is redirected).
_SHADOWED = ("expected", "levers", "sweep")

__all__ = [
    "ExpectedResult",
    "GoalSeekError",
    "GoalSeekResult",
    "Lever",
    "ProgrammeValue",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "SweepError",
    "SweepFrames",
    "__version__",
    "compare",
    "expected",
    "goal_seek",
    "levers",
    "load_scenario",
    "loads_scenario",
    "parse_scenario",
    "programme_value",
    "sensitivity",
    "simulate",
    "sweep",
    "sweep_points",
]

if TYPE_CHECKING:
    from sim.decisions import (
        GoalSeekError,
        GoalSeekResult,
        ProgrammeValue,
        goal_seek,
        programme_value,
        sensitivity,
    )
    from sim.expected import ExpectedResult, expected
    from sim.levers import Lever, levers
    from sim.results import SimulationResult, compare, simulate
    from sim.scenario import Scenario, ScenarioError, load_scenario, loads_scenario, parse_scenario
    from sim.sweep import SweepError, SweepFrames, sweep, sweep_points


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SOURCES})


class _Package(types.ModuleType):
    """The `sim` package: importing the module `sim.sweep` (or `sim.expected`, `sim.levers`) binds the
    package's attribute to the function of that name, as an eager `from sim.sweep import sweep` did."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType) and value.__name__ == f"sim.{name}":
            value = getattr(value, name)
        super().__setattr__(name, value)


def _reduce_package(module: types.ModuleType) -> tuple[Any, tuple[str]]:
    return importlib.import_module, (module.__name__,)


sys.modules[__name__].__class__ = _Package
# Pickle the package by name, as a plain module is (Dask and multiprocessing pickle functions that use it).
copyreg.pickle(_Package, _reduce_package)
