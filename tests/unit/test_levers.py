"""The lever catalogue (`sim.model.levers`): every number of a scenario a user would move, once, with bounds
read from the scenario model."""

from __future__ import annotations

import math
import typing
from pathlib import Path

import pytest
from sections import PROBLEMS, PROGRAMME

import sim
from sim.model import levers as catalogue
from sim.model import paths
from sim.model.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
DEALER = sim.load_scenario(ROOT / "scenarios" / "car_dealer.toml")
FULL = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml").override(
    {"problems": PROBLEMS, "service_programme": PROGRAMME}
)
"""Every section with levers switched on, three repeat streams and three funnel stages."""

NOT_LEVERS = {"first_purchase.revenue"}
"""Numeric fields of the lever sections that are deliberately not levers (revenue does not enter cash)."""


def numeric_fields(model: type) -> list[str]:
    """The fields of a section model that hold numbers (int, float, optional float)."""
    out = []
    for name, info in model.model_fields.items():
        types = typing.get_args(info.annotation) or (info.annotation,)
        if any(t in (int, float) for t in types):
            out.append(name)
    return out


def test_every_numeric_field_of_a_lever_section_is_in_the_catalogue_once():
    keys = [f.key for f in catalogue.CATALOGUE]
    assert len(keys) == len(set(keys)), "a field is in the catalogue twice"
    fields = {f"{s}.{name}" for s, model in catalogue.SECTIONS.items() for name in numeric_fields(model)}
    assert set(keys) == fields - NOT_LEVERS, (
        f"missing: {sorted(fields - NOT_LEVERS - set(keys))}, not a field: {sorted(set(keys) - fields)}"
    )
    assert {f.group for f in catalogue.CATALOGUE} == set(catalogue.GROUPS)


def test_each_section_model_is_the_one_the_scenario_uses():
    for section, model in catalogue.SECTIONS.items():
        annotation = Scenario.model_fields[section].annotation
        held = typing.get_args(annotation) or (annotation,)
        assert model in held, f"{section}: {annotation} does not hold {model.__name__}"
        assert (section in catalogue.LISTS) == (typing.get_origin(annotation) is tuple), section


def test_every_lever_appears_once_per_list_item_in_page_order():
    every = catalogue.all_levers(FULL)
    order = [lv.path for lv in every]
    assert len(order) == len(set(order))
    per_item = {lst: len(getattr(FULL, lst)) for lst in catalogue.LISTS}
    want = sum(per_item.get(f.section, 1) for f in catalogue.CATALOGUE)
    assert len(every) == want, "each catalogue field once, and once per item of a list"
    assert order[:2] == ["channels.0.cost_per_lead", "channels.0.leads_per_month"]
    assert order.index("repeat.0.adoption") < order.index("repeat.1.interval_months"), "by item, then field"
    assert [lv.label for lv in every if lv.key == "repeat.margin"] == [
        f"Margin: {s.name}" for s in FULL.repeat
    ]
    decisions = catalogue.levers(FULL)
    assert decisions == [lv for lv in every if catalogue.BY_KEY[lv.key].decision]
    assert sim.levers(FULL) == decisions


def test_switched_off_sections_have_no_levers():
    keys = {lv.key.split(".")[0] for lv in catalogue.all_levers(DEALER)}
    assert keys.isdisjoint({"referrals", "service_programme", "problems", "repeat"})
    assert catalogue.value_of(DEALER, "referrals.bonus") is None


@pytest.mark.parametrize("lever", catalogue.all_levers(FULL), ids=lambda lv: lv.path)
def test_bounds_come_from_the_model(lever: catalogue.Lever):
    section, field = lever.key.split(".")
    assert (lever.low, lever.high, lever.low_open, lever.integer) == catalogue.model_bounds(
        catalogue.SECTIONS[section], field
    )
    assert math.isfinite(lever.low) and math.isfinite(lever.high), f"{lever.path}: every lever is bounded"
    # The bounds are the ones validation enforces: one step outside is refused, naming the path.
    below = lever.low if lever.low_open else lever.low - (1 if lever.integer else 1e-9 * max(1, lever.low))
    above = lever.high + (1 if lever.integer else 1e-9 * lever.high)
    for value in (below, above):
        value = int(value) if lever.integer else value
        with pytest.raises(sim.ScenarioError) as info:
            FULL.override({lever.path: value})
        assert f"{paths.bracketed(lever.path)} = " in str(info.value), f"{lever.path} = {value}: {info.value}"


def test_known_bounds():
    by_path = {lv.path: lv for lv in catalogue.all_levers(FULL)}
    churn, staff, handling = (
        by_path[p] for p in ("retention.monthly_churn", "sales_desk.staff", "sales_desk.handling_minutes")
    )
    assert (churn.low, churn.high, churn.integer) == (0.0, 1.0, False)
    assert staff.integer and staff.low == 1.0
    assert handling.low_open and handling.low == 0.0, "a contact takes some time"
    assert by_path["sales_desk.patience_hours"].optional, "a desk without patience: leads wait for ever"


def test_find_lever_names_the_levers_that_exist():
    assert catalogue.find_lever(FULL, "retention.monthly_churn").unit == "share"
    with pytest.raises(sim.ScenarioError, match=r"name: not a lever of this scenario \(levers: channels\.0"):
        catalogue.find_lever(FULL, "name")
    with pytest.raises(sim.ScenarioError, match="not a lever"):
        catalogue.find_lever(FULL, "funnel.0.delay_days")  # a widget in the app, not a decision lever
