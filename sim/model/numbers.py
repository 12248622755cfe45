"""Numbers given by a user (a command-line option, a link's parameter, an API argument): the one set of
checks, each failing with a ValueError whose message names the value and the rule."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def parse_number(text: str) -> float:
    """A finite number written as text (`2250`, `0.02`, `1e3`)."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_whole(text: str, low: int | None = None, high: int | None = None) -> int:
    """A whole number written as text, within [low, high] where given."""
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if low is not None and high is not None and not low <= value <= high:
        raise ValueError(f"{value} must be in [{low}, {high}]")
    if low is not None and value < low:
        raise ValueError(f"{value} must be >= {low}")
    if high is not None and value > high:
        raise ValueError(f"{value} must be <= {high}")
    return value


def whole_number(name: str, value: Any, minimum: int, error: type[ValueError] = ValueError) -> int:
    """An API argument `value` as an int if it is a whole number (not a bool) >= `minimum`; else `error`
    naming it (`replications = 0: must be a whole number >= 1`)."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < minimum:
        raise error(f"{name} = {value!r}: must be a whole number >= {minimum}")
    return int(value)
