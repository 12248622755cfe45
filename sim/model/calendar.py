"""The calendar of the model (docs/model.md): the clock runs in days, a month is a twelfth of a Julian year.

Month m (1-based) is [(m - 1) * MONTH_DAYS, m * MONTH_DAYS) on the engine's clock; year y holds months
12 (y - 1) + 1 … 12 y. Every module that turns days, months or years into one another uses these.
"""

from __future__ import annotations

YEAR_DAYS = 365.25
"""Days in a year (Julian), in days."""
MONTHS_PER_YEAR = 12
"""Months in a year."""
MONTH_DAYS = YEAR_DAYS / 12.0
"""Days in a month: 30.4375."""


def year_of(month: int) -> int:
    """The year (1-based) of a month (1-based)."""
    return (month - 1) // MONTHS_PER_YEAR + 1


def monthly_discount(rate_annual: float) -> float:
    """Discount factor for one month at an annual rate, (1 + r)^(-1/12)."""
    return (1.0 + rate_annual) ** (-1.0 / 12.0)
