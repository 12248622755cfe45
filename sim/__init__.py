"""Lead-funnel unit economics simulator: when does the money spent on leads come back?

The layers, each importing only those below it (checked by `lint-imports`, see pyproject.toml):
`app`, `cli` → `batch` → `decisions` → `analytic` → `engine` → `accounting` → `model`; `report` (texts and
charts) serves the CLI and the app.

The public names below are imported from their modules on first use (PEP 562, as Scientific Python's
SPEC 1 recommends): `import sim` itself loads nothing heavy, and the engine (SimPy, numba) is imported
only by `sim.simulate`, `sim.compare`, `sim.sweep` and the decisions asked to use it (`best` and
`next_budget` with `model="simulate"`); SALib only when `sim.drivers` runs. No public function shares its
name with a module of the package, so `import sim.X` is always a module and everything pickles by name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sim.version import __version__

_SOURCES = {
    "ExpectedResult": "sim.analytic.expected_value",
    "expected": "sim.analytic.expected_value",
    "ExpectedBand": "sim.analytic.uncertain",
    "expected_band": "sim.analytic.uncertain",
    "BestResult": "sim.decisions.best",
    "best": "sim.decisions.best",
    "drivers": "sim.decisions.drivers",
    "NextBudget": "sim.decisions.budget",
    "next_budget": "sim.decisions.budget",
    "DecisionError": "sim.decisions.metrics",
    "GoalSeekError": "sim.decisions.metrics",
    "GoalSeekResult": "sim.decisions.goal_seek",
    "goal_seek": "sim.decisions.goal_seek",
    "ProgrammeValue": "sim.decisions.programme",
    "programme_value": "sim.decisions.programme",
    "sensitivity": "sim.decisions.sensitivity",
    "Lever": "sim.model.levers",
    "levers": "sim.model.levers",
    "SimulationResult": "sim.engine.runs",
    "combine": "sim.engine.runs",
    "compare": "sim.engine.runs",
    "simulate": "sim.engine.runs",
    "Scenario": "sim.model.scenario",
    "ScenarioError": "sim.model.scenario",
    "load_scenario": "sim.model.scenario",
    "loads_scenario": "sim.model.scenario",
    "parse_scenario": "sim.model.scenario",
    "SweepError": "sim.batch.points",
    "CrmError": "sim.calibration.crm",
    "FitResult": "sim.calibration.fit",
    "fit": "sim.calibration.fit",
    "fit_paths": "sim.calibration.fit",
    "SbgFit": "sim.calibration.sbg",
    "fit_sbg": "sim.calibration.sbg",
    "write_records": "sim.calibration.records",
    "SweepFrames": "sim.batch.sweeps",
    "sweep": "sim.batch.sweeps",
    "sweep_points": "sim.batch.points",
}
"""Public name -> the module that defines it."""

__all__ = [
    "BestResult",
    "CrmError",
    "DecisionError",
    "ExpectedBand",
    "ExpectedResult",
    "FitResult",
    "GoalSeekError",
    "GoalSeekResult",
    "Lever",
    "NextBudget",
    "ProgrammeValue",
    "SbgFit",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "SweepError",
    "SweepFrames",
    "__version__",
    "best",
    "combine",
    "compare",
    "drivers",
    "expected",
    "expected_band",
    "fit",
    "fit_paths",
    "fit_sbg",
    "goal_seek",
    "levers",
    "load_scenario",
    "loads_scenario",
    "next_budget",
    "parse_scenario",
    "programme_value",
    "sensitivity",
    "simulate",
    "sweep",
    "sweep_points",
    "write_records",
]

if TYPE_CHECKING:
    from sim.analytic.expected_value import ExpectedResult, expected
    from sim.analytic.uncertain import ExpectedBand, expected_band
    from sim.batch.points import SweepError, sweep_points
    from sim.batch.sweeps import SweepFrames, sweep
    from sim.calibration.crm import CrmError
    from sim.calibration.fit import FitResult, fit, fit_paths
    from sim.calibration.records import write_records
    from sim.calibration.sbg import SbgFit, fit_sbg
    from sim.decisions.best import BestResult, best
    from sim.decisions.budget import NextBudget, next_budget
    from sim.decisions.drivers import drivers
    from sim.decisions.goal_seek import GoalSeekResult, goal_seek
    from sim.decisions.metrics import DecisionError, GoalSeekError
    from sim.decisions.programme import ProgrammeValue, programme_value
    from sim.decisions.sensitivity import sensitivity
    from sim.engine.runs import SimulationResult, combine, compare, simulate
    from sim.model.levers import Lever, levers
    from sim.model.scenario import Scenario, ScenarioError, load_scenario, loads_scenario, parse_scenario


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (PEP 562)."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SOURCES})
