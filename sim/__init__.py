"""Lead-funnel unit economics simulator: when does the money spent on leads come back?"""

__version__ = "0.1.0"

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
