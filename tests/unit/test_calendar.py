"""The model's calendar (`sim.model.calendar`): days, months and years (docs/model.md)."""

from __future__ import annotations

import pytest

from sim.model import calendar


def test_a_month_is_a_twelfth_of_a_julian_year():
    assert calendar.YEAR_DAYS == 365.25
    assert calendar.MONTHS_PER_YEAR == 12
    assert calendar.MONTH_DAYS == 30.4375


@pytest.mark.parametrize(
    ("month", "year"), [(1, 1), (12, 1), (13, 2), (24, 2), (25, 3), (120, 10), (121, 11), (240, 20)]
)
def test_year_of_a_month(month: int, year: int):
    assert calendar.year_of(month) == year


def test_every_year_holds_twelve_months():
    years = [calendar.year_of(m) for m in range(1, 241)]
    assert all(years.count(y) == 12 for y in range(1, 21))


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.1, 0.3, 1.0])
def test_monthly_discount_compounds_to_the_annual_rate(rate: float):
    v = calendar.monthly_discount(rate)
    assert v**12 == pytest.approx(1.0 / (1.0 + rate), rel=1e-12)
    assert 0.0 < v <= 1.0
    assert (v == 1.0) == (rate == 0.0)
