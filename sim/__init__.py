"""Lead-funnel unit economics simulator: when does the money spent on leads come back?"""

from sim.scenario import Scenario, ScenarioError, load_scenario, loads_scenario, parse_scenario

__version__ = "0.1.0"

__all__ = [
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "loads_scenario",
    "parse_scenario",
]
