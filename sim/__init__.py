"""Lead-funnel unit economics simulator: when does the money spent on leads come back?"""

__version__ = "0.1.0"

from sim.results import SimulationResult, compare, simulate
from sim.scenario import Scenario, ScenarioError, load_scenario, loads_scenario, parse_scenario

__all__ = [
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "__version__",
    "compare",
    "load_scenario",
    "loads_scenario",
    "parse_scenario",
    "simulate",
]
