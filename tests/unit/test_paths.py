"""Dotted paths into a scenario (`sim.model.paths`): the one walker that reads (`get`) and writes (`set_in`)
them, and the two spellings (`dotted` for overrides, `bracketed` for messages)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import sim
from sim.model import paths
from sim.model.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
DEALER = sim.load_scenario(ROOT / "scenarios" / "car_dealer.toml")  # no referrals, programme or problems


def test_parts_turns_ascii_digits_into_indices():
    assert paths.parts("channels.0.cost_per_lead") == ["channels", 0, "cost_per_lead"]
    assert paths.parts("retention.monthly_churn") == ["retention", "monthly_churn"]
    assert paths.parts("channels.٠.cost_per_lead")[1] == "٠", "an Arabic-Indic zero is a name, not an index"


@pytest.mark.parametrize(
    ("dotted", "bracketed"),
    [
        ("channels.0.cost_per_lead", "channels[0].cost_per_lead"),
        ("repeat.12.margin", "repeat[12].margin"),
        ("sales_desk.staff", "sales_desk.staff"),
        ("horizon_months", "horizon_months"),
    ],
)
def test_dotted_and_bracketed_are_inverse_spellings(dotted: str, bracketed: str):
    assert paths.bracketed(dotted) == bracketed
    assert paths.dotted(bracketed) == dotted
    assert paths.dotted(paths.bracketed(dotted)) == dotted


def test_bracketed_takes_a_validation_location():
    assert paths.bracketed(("funnel", 1, "conversion")) == "funnel[1].conversion"
    # pydantic names its validator steps in a location; messages leave them out
    assert paths.bracketed(("first_purchase", "function-after[check(), FirstPurchase]")) == "first_purchase"
    assert paths.bracketed(()) == "(scenario)"


@pytest.mark.parametrize("source", ["scenario", "dump"])
def test_get_reads_a_scenario_and_its_dump_alike(source: str):
    node: Any = DEALER if source == "scenario" else DEALER.model_dump(mode="json")
    assert paths.get(node, "channels.0.cost_per_lead") == 2250.0
    assert paths.get(node, "funnel.2.conversion") == 0.1
    assert paths.get(node, "sales_desk.staff") == 4
    assert paths.get(node, "referrals.bonus") is None, "a switched-off section gives None"
    assert paths.get(node, "channels.1.cost_per_lead") is paths.MISSING, "no second channel"
    assert paths.get(node, "sales_desk.no_such_field") is paths.MISSING
    assert paths.get(node, "no_such_section.x", default=-1) == -1


def test_get_reads_one_section():
    assert paths.get(DEALER.sales_desk, "patience_hours") == 24.0
    assert paths.get(DEALER.channels, "0.leads_per_month") == 1000.0


def test_set_in_sets_a_copy_in_place():
    data = DEALER.model_dump(mode="json")
    value = [{"name": "Calls", "leads_per_month": 10.0, "cost_per_lead": 1.0}]
    paths.set_in(data, "channels", value, "dealer")
    value[0]["cost_per_lead"] = 99.0
    assert data["channels"][0]["cost_per_lead"] == 1.0, "set_in must store a copy of the value"
    paths.set_in(data, "funnel.1.conversion", 0.5, "dealer")
    assert data["funnel"][1]["conversion"] == 0.5
    paths.set_in(data, "referrals", {"per_customer_per_year": 0.3}, "dealer")  # a section switched on whole
    assert data["referrals"] == {"per_customer_per_year": 0.3}


@pytest.mark.parametrize(
    ("path", "message", "rule"),
    [
        ("channels.3.cost_per_lead", "channels[3]: no such list item (the list has 1)", "no such list item"),
        ("channels.first.cost_per_lead", "channels.first: no such list item", "no such list item"),
        ("sales_desk.desks", "sales_desk.desks: no such field", "no such field"),
        ("horizon_months.0", "horizon_months[0]: cannot go inside a value", "not a section"),
        ("referrals.bonus", "referrals: the section is off (None); set it whole", "section is None"),
    ],
)
def test_set_in_names_the_path_that_leads_nowhere(path: str, message: str, rule: str):
    data = DEALER.model_dump(mode="json")
    with pytest.raises(ScenarioError) as info:
        paths.set_in(data, path, 1.0, "dealer")
    assert str(info.value).startswith("scenario 'dealer': ")
    assert message in str(info.value)
    assert info.value.problems == [(path, 1.0, rule)]
    assert data == DEALER.model_dump(mode="json"), "a failed set_in changes nothing"


def test_set_in_refuses_a_path_that_is_not_a_string():
    with pytest.raises(ScenarioError, match="a path must be a dotted string"):
        paths.set_in({}, ("channels", 0), 1.0, "dealer")  # type: ignore[arg-type]
