"""The one error of the scenario model."""

from __future__ import annotations

from typing import Any


class ScenarioError(ValueError):
    """An invalid scenario: the message names the source, the field path, the value and the rule."""

    def __init__(self, message: str, problems: list[tuple[str, Any, str]] | None = None):
        super().__init__(message)
        self.problems = problems or []
        """Each problem as (field path, value given, rule)."""
