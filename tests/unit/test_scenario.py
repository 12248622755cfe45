"""Tests of the scenario model (`sim/scenario.py`): validation, errors, files, overrides, derived figures.

Example-based tests check each requirement of the scenario issue; Hypothesis property tests check that
any valid scenario survives a TOML round trip and that any out-of-bounds value, wrong type or unknown
key anywhere in a scenario gives a `ScenarioError` naming the field path and the value.
"""

from __future__ import annotations

import copy
import math
import typing
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pydantic
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.model.scenario import (
    MAX_FILE_BYTES,
    Channel,
    ExistingCustomers,
    FirstPurchase,
    FunnelStage,
    Problems,
    Referrals,
    RepeatStream,
    Retention,
    SalesDesk,
    Scenario,
    ScenarioError,
    ServiceProgramme,
    load_scenario,
    loads_scenario,
    parse_scenario,
)

ROOT = Path(__file__).resolve().parents[2]
CAR_DEALER = ROOT / "scenarios" / "car_dealer.toml"

PROPERTY_SETTINGS = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# --- helpers ---------------------------------------------------------------------------------------


def full_dict() -> dict[str, Any]:
    """A valid scenario dict with every section present (the car dealer plus the optional sections)."""
    return {
        "name": "Full",
        "currency": "EUR",
        "horizon_months": 36,
        "discount_rate_annual": 0.1,
        "channels": [
            {"name": "Calls", "leads_per_month": 1000.0, "cost_per_lead": 2250.0},
            {"name": "Forms", "leads_per_month": 200.0, "cost_per_lead": 900.0},
        ],
        "sales_desk": {
            "staff": 4,
            "handling_minutes": 15.0,
            "handling": "fixed",
            "hours_per_day": 12.0,
            "patience_hours": 24.0,
            "salary_per_month": 50000.0,
        },
        "funnel": [
            {"name": "Call -> visit", "conversion": 0.25, "delay_days": 2.0},
            {"name": "Visit -> deal", "conversion": 0.4},
        ],
        "first_purchase": {"revenue": 1_500_000.0, "margin": 100_000.0},
        "retention": {"monthly_churn": 0.03},
        "repeat": [
            {"name": "Service", "interval_months": 12, "revenue": 20000.0, "margin": 8000.0, "adoption": 0.6},
        ],
        "referrals": {"per_customer_per_year": 0.2, "conversion_multiplier": 2.0, "bonus": 5000.0},
        "service_programme": {
            "fixed_cost_per_year": 120000.0,
            "contacts_per_month": 1.0,
            "cost_per_contact": 50.0,
            "tolerated_contacts_per_month": 2.0,
            "max_churn_reduction": 0.3,
            "referral_uplift": 0.2,
            "margin_uplift": 0.1,
        },
        "problems": {
            "visit_problem_probability": 0.1,
            "resolution_days": 5.0,
            "cost_per_problem": 1000.0,
            "leave_probability_base": 0.05,
            "leave_probability_per_day": 0.02,
        },
        "existing_customers": {"count": 500},
    }


def minimal_dict() -> dict[str, Any]:
    """A valid scenario dict with only the required keys."""
    return {
        "name": "Minimal",
        "horizon_months": 12,
        "funnel": [{"name": "Deal", "conversion": 0.5}],
        "first_purchase": {"revenue": 100.0, "margin": 40.0},
        "retention": {"monthly_churn": 0.1},
    }


def set_in(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    """Set `value` at `path` (keys and list indices) inside the nested `data`."""
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def dotted(path: tuple[str | int, ...]) -> str:
    """Path in `Scenario.override` form: `channels.0.cost_per_lead`."""
    return ".".join(str(p) for p in path)


def bracketed(path: tuple[str | int, ...]) -> str:
    """Path in error-message form: `channels[0].cost_per_lead`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out


def error_of(call: typing.Callable[[], Any]) -> ScenarioError:
    """Run `call`, insist that it raises `ScenarioError` (any other exception propagates) and return it."""
    try:
        result = call()
    except ScenarioError as exc:
        return exc
    raise AssertionError(f"expected ScenarioError, got a result: {result!r}"[:500])


def assert_mentions(exc: ScenarioError, *fragments: str) -> None:
    """Assert that the error message contains every fragment."""
    message = str(exc)
    for fragment in fragments:
        assert fragment in message, f"error message {message!r} does not mention {fragment!r}"


# --- models: frozen, extra="forbid", bounds --------------------------------------------------------


def test_car_dealer_example_loads_with_the_values_of_the_file():
    s = load_scenario(CAR_DEALER)
    assert isinstance(s, Scenario), f"load_scenario returned {type(s).__name__}, not Scenario"
    assert s.name == "Car dealer", f"name is {s.name!r}"
    assert s.horizon_months == 120, f"horizon_months is {s.horizon_months}"
    assert [c.cost_per_lead for c in s.channels] == [2250.0], f"channels are {s.channels}"
    assert s.sales_desk is not None and s.sales_desk.staff == 4, f"sales_desk is {s.sales_desk}"
    assert [f.conversion for f in s.funnel] == [0.25, 0.4, 0.1], f"funnel is {s.funnel}"
    assert s.referrals is None and s.service_programme is None and s.problems is None, (
        "sections absent from the file should be None"
    )
    assert s.repeat == (), f"absent repeat should be empty, got {s.repeat}"
    assert s.existing_customers.count == 0, f"absent existing customers: {s.existing_customers}"


def test_public_names_are_exported_from_sim():
    assert sim.ScenarioError is ScenarioError, "sim.ScenarioError is not sim.model.scenario.ScenarioError"
    assert sim.load_scenario is load_scenario and sim.loads_scenario is loads_scenario, "loaders not exported"
    assert sim.parse_scenario is parse_scenario and sim.Scenario is Scenario, "parse/Scenario not exported"
    assert issubclass(ScenarioError, ValueError), "ScenarioError must be a ValueError"


def test_full_and_minimal_dicts_are_valid():
    full = parse_scenario(full_dict())
    minimal = parse_scenario(minimal_dict())
    assert full.service_programme is not None and full.problems is not None, "full dict lost sections"
    assert minimal.channels == () and minimal.sales_desk is None, "minimal dict got unexpected sections"
    assert minimal.currency == "RUB", f"default currency should be RUB, got {minimal.currency!r}"


@pytest.mark.parametrize(
    ("attribute_path", "value"),
    [
        ((), ("name", "Other")),
        ((), ("horizon_months", 12)),
        (("sales_desk",), ("staff", 9)),
        (("channels", 0), ("cost_per_lead", 1.0)),
        (("funnel", 1), ("conversion", 0.9)),
        (("first_purchase",), ("margin", 1.0)),
        (("service_programme",), ("max_churn_reduction", 0.9)),
        (("problems",), ("resolution_days", 1.0)),
        (("existing_customers",), ("count", 1)),
    ],
)
def test_every_model_is_frozen(attribute_path, value):
    s = parse_scenario(full_dict())
    target: Any = s
    for part in attribute_path:
        target = target[part] if isinstance(part, int) else getattr(target, part)
    field, new = value
    before = getattr(target, field)
    with pytest.raises((pydantic.ValidationError, TypeError, AttributeError)):
        setattr(target, field, new)
    assert getattr(target, field) == before, f"{field} changed from {before!r} after a refused assignment"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("surprise",), "surprise"),
        (("channels", 1, "surprise"), "channels[1].surprise"),
        (("sales_desk", "surprise"), "sales_desk.surprise"),
        (("funnel", 0, "surprise"), "funnel[0].surprise"),
        (("first_purchase", "surprise"), "first_purchase.surprise"),
        (("retention", "surprise"), "retention.surprise"),
        (("repeat", 0, "surprise"), "repeat[0].surprise"),
        (("referrals", "surprise"), "referrals.surprise"),
        (("service_programme", "surprise"), "service_programme.surprise"),
        (("problems", "surprise"), "problems.surprise"),
        (("existing_customers", "surprise"), "existing_customers.surprise"),
    ],
)
def test_unknown_key_is_rejected_with_its_path(path, expected):
    data = full_dict()
    set_in(data, path, 12345)
    exc = error_of(lambda: parse_scenario(data, source="extra.toml"))
    assert_mentions(exc, "extra.toml", expected, "12345")
    assert [p for p, _, _ in exc.problems] == [expected], f"problems are {exc.problems}"


# (path, bad value, a fragment of the rule); each row is a single bad value in an otherwise valid scenario.
BAD_VALUES: list[tuple[tuple[str | int, ...], Any, str]] = [
    (("name",), "", "at least 1"),
    (("name",), "x" * 81, "at most 80"),
    (("currency",), "", "at least 1"),
    (("currency",), "EURODOLLAR", "at most 8"),
    (("horizon_months",), 0, "greater than or equal to 1"),
    (("horizon_months",), 241, "less than or equal to 240"),
    (("horizon_months",), 12.5, "integer"),
    (("discount_rate_annual",), -0.01, "greater than or equal to 0"),
    (("channels", 0, "name"), "", "at least 1"),
    (("channels", 0, "leads_per_month"), -1.0, "greater than or equal to 0"),
    (("channels", 0, "cost_per_lead"), -2000.0, "greater than or equal to 0"),
    (("channels", 1, "cost_per_lead"), 1e13, "less than or equal to"),
    (("channels", 0, "cost_per_lead"), math.inf, "finite"),
    (("channels", 0, "cost_per_lead"), math.nan, "finite"),
    (("channels", 0, "cost_per_lead"), "cheap", "valid number"),
    (("sales_desk", "staff"), 0, "greater than or equal to 1"),
    (("sales_desk", "staff"), -3, "greater than or equal to 1"),
    (("sales_desk", "staff"), 2.5, "integer"),
    (("sales_desk", "handling_minutes"), 0.0, "greater than 0"),
    (("sales_desk", "handling"), "uniform", "exponential"),
    (("sales_desk", "hours_per_day"), 25.0, "less than or equal to 24"),
    (("sales_desk", "patience_hours"), 0.0, "greater than 0"),
    (("sales_desk", "salary_per_month"), -1.0, "greater than or equal to 0"),
    (("funnel", 0, "conversion"), 1.5, "less than or equal to 1"),
    (("funnel", 1, "conversion"), -0.1, "greater than or equal to 0"),
    (("funnel", 0, "delay_days"), -1.0, "greater than or equal to 0"),
    (("first_purchase", "revenue"), -1.0, "greater than or equal to 0"),
    (("first_purchase", "margin"), -1.0, "greater than or equal to 0"),
    (("retention", "monthly_churn"), 1.01, "less than or equal to 1"),
    (("retention", "monthly_churn"), -math.inf, "finite"),
    (("repeat", 0, "interval_months"), 0, "greater than or equal to 1"),
    (("repeat", 0, "interval_months"), 121, "less than or equal to 120"),
    (("repeat", 0, "adoption"), 2.0, "less than or equal to 1"),
    (("referrals", "per_customer_per_year"), -0.5, "greater than or equal to 0"),
    (("referrals", "conversion_multiplier"), 101.0, "less than or equal to 100"),
    (("referrals", "bonus"), -5.0, "greater than or equal to 0"),
    (("service_programme", "contacts_per_month"), 61.0, "less than or equal to 60"),
    (("service_programme", "tolerated_contacts_per_month"), 0.0, "greater than 0"),
    (("service_programme", "max_churn_reduction"), 1.2, "less than or equal to 1"),
    (("service_programme", "referral_uplift"), -0.2, "greater than or equal to 0"),
    (("problems", "visit_problem_probability"), -0.5, "greater than or equal to 0"),
    (("problems", "resolution_days"), 366.0, "less than or equal to 365"),
    (("problems", "leave_probability_per_day"), 1.5, "less than or equal to 1"),
    (("existing_customers", "count"), -1, "greater than or equal to 0"),
    (("channels",), 5, "a list"),
    (("sales_desk",), "four people", "valid dictionary"),
    (("funnel",), [], "at least 1"),
    (("funnel", 1), 0.4, "valid dictionary"),
]


@pytest.mark.parametrize(("path", "value", "rule"), BAD_VALUES, ids=[bracketed(p) for p, _, _ in BAD_VALUES])
def test_bad_value_names_source_path_value_and_rule(path, value, rule):
    data = full_dict()
    set_in(data, path, value)
    exc = error_of(lambda: parse_scenario(data, source="bad.toml"))
    assert_mentions(exc, "bad.toml", bracketed(path), repr(value)[:50], rule)
    paths = [p for p, _, _ in exc.problems]
    assert bracketed(path) in paths, f"problems {exc.problems} do not list {bracketed(path)}"
    given = next(v for p, v, _ in exc.problems if p == bracketed(path))
    assert given == value or (value != value and given != given), f"problem value {given!r} is not {value!r}"


def test_error_message_has_the_documented_form():
    data = full_dict()
    data["channels"][0]["cost_per_lead"] = -2000
    exc = error_of(lambda: parse_scenario(data, source="dealer.toml"))
    rule = "Input should be greater than or equal to 0"
    assert str(exc) == f"dealer.toml: channels[0].cost_per_lead = -2000: {rule}", f"unexpected message {exc}"
    assert exc.problems == [("channels[0].cost_per_lead", -2000, rule)], f"unexpected problems {exc.problems}"


def test_every_problem_is_reported_not_only_the_first():
    data = full_dict()
    data["horizon_months"] = 0
    data["sales_desk"]["staff"] = -1
    data["repeat"][0]["adoption"] = 3.0
    exc = error_of(lambda: parse_scenario(data, source="many.toml"))
    assert_mentions(exc, "horizon_months = 0", "sales_desk.staff = -1", "repeat[0].adoption = 3.0")
    assert len(exc.problems) == 3, f"expected 3 problems, got {exc.problems}"


@pytest.mark.parametrize("section", ["first_purchase", ("repeat", 0)])
def test_margin_above_revenue_is_rejected(section):
    data = full_dict()
    path = (section,) if isinstance(section, str) else section
    set_in(data, (*path, "revenue"), 100.0)
    set_in(data, (*path, "margin"), 150.0)
    exc = error_of(lambda: parse_scenario(data, source="margin.toml"))
    assert_mentions(exc, "margin.toml", bracketed(path), "must not exceed revenue")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("horizon_months",), 1),
        (("horizon_months",), 240),
        (("funnel", 0, "conversion"), 0.0),
        (("funnel", 0, "conversion"), 1.0),
        (("retention", "monthly_churn"), 1.0),
        (("channels", 0, "cost_per_lead"), 0.0),
        (("existing_customers", "count"), 0),
        (("sales_desk", "hours_per_day"), 24.0),
        (("first_purchase", "margin"), 1_500_000.0),
    ],
)
def test_values_on_the_bounds_are_accepted(path, value):
    data = full_dict()
    set_in(data, path, value)
    s = parse_scenario(data)
    got: Any = s
    for part in path:
        got = got[part] if isinstance(part, int) else getattr(got, part)
    assert got == value, f"{bracketed(path)} is {got!r}, expected {value!r}"


@pytest.mark.parametrize("data", [None, [1, 2], "name = 'x'", 42])
def test_parse_scenario_rejects_a_non_table(data):
    exc = error_of(lambda: parse_scenario(data, source="weird"))
    assert_mentions(exc, "weird", type(data).__name__)


def test_missing_required_field_is_named():
    data = full_dict()
    del data["retention"]
    exc = error_of(lambda: parse_scenario(data, source="missing.toml"))
    assert_mentions(exc, "missing.toml", "retention", "required")


# --- files ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [full_dict, minimal_dict])
def test_to_toml_round_trip_gives_an_equal_scenario(make, tmp_path):
    s = parse_scenario(make())
    text = s.to_toml()
    assert loads_scenario(text) == s, f"loads_scenario(to_toml()) differs from the original:\n{text}"
    file = tmp_path / "round.toml"
    file.write_text(text, encoding="utf-8")
    assert load_scenario(file) == s, "load_scenario of the written file differs from the original"
    assert load_scenario(str(file)) == s, "load_scenario(str path) differs from load_scenario(Path)"


def test_car_dealer_round_trip():
    s = load_scenario(CAR_DEALER)
    assert loads_scenario(s.to_toml()) == s, "car dealer changes in a TOML round trip"


def test_to_dict_has_no_none_values():
    s = parse_scenario(minimal_dict())

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                assert value is not None, f"to_dict() has None at {where}.{key}"
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")

    walk(s.to_dict(), "scenario")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    exc = error_of(lambda: load_scenario(path))
    assert_mentions(exc, str(path))


def test_directory(tmp_path):
    exc = error_of(lambda: load_scenario(tmp_path))
    assert_mentions(exc, str(tmp_path), "directory")


@pytest.mark.parametrize("raw", [b'name = "Caf\xe9"\n', b"\xff\xfe\x00n\x00a", b"\x80"])
def test_non_utf8_file(tmp_path, raw):
    path = tmp_path / "latin1.toml"
    path.write_bytes(raw)
    exc = error_of(lambda: load_scenario(path))
    assert_mentions(exc, str(path), "UTF-8")


@pytest.mark.parametrize(
    "text",
    ["name = ", "name = 'x'\nname = 'y'\n", "[funnel\n", "horizon_months = 1 2\n", "= 3\n", "a = [1,\n"],
)
def test_invalid_toml(tmp_path, text):
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    exc = error_of(lambda: load_scenario(path))
    assert_mentions(exc, str(path), "TOML")
    exc = error_of(lambda: loads_scenario(text, source="pasted text"))
    assert_mentions(exc, "pasted text", "TOML")


def test_loads_scenario_of_bytes_is_a_scenario_error_with_a_hint():
    raw = CAR_DEALER.read_bytes()
    exc = error_of(lambda: loads_scenario(raw, source="upload"))  # type: ignore[arg-type]
    assert_mentions(exc, "upload", "expected TOML text, got bytes", "decode bytes first")
    assert loads_scenario(raw.decode("utf-8")) == load_scenario(CAR_DEALER), "the decoded text loads"


@pytest.mark.parametrize(
    "value", [bytearray(b"name = 'x'"), memoryview(b"name = 'x'"), None, 42, ["name = 'x'"], {"name": "x"}]
)
def test_loads_scenario_of_other_non_text_is_a_scenario_error(value: Any):
    exc = error_of(lambda: loads_scenario(value, source="pasted"))
    assert_mentions(exc, "pasted", f"expected TOML text, got {type(value).__name__}")


def test_invalid_value_in_a_file_names_the_file_and_the_path(tmp_path):
    path = tmp_path / "dealer.toml"
    text = CAR_DEALER.read_text(encoding="utf-8").replace("cost_per_lead = 2250.0", "cost_per_lead = -2250.0")
    path.write_text(text, encoding="utf-8")
    exc = error_of(lambda: load_scenario(path))
    assert_mentions(exc, str(path), "channels[0].cost_per_lead", "-2250.0", "greater than or equal to 0")


def test_file_over_the_size_limit(tmp_path):
    text = load_scenario(CAR_DEALER).to_toml()
    padding = MAX_FILE_BYTES - len(text.encode("utf-8"))
    at_limit = text + "#" * (padding - 1) + "\n"
    assert len(at_limit.encode("utf-8")) == MAX_FILE_BYTES
    path = tmp_path / "big.toml"
    path.write_text(at_limit, encoding="utf-8")
    assert load_scenario(path) == load_scenario(CAR_DEALER), "a file of exactly MAX_FILE_BYTES should load"
    path.write_text(at_limit + "#", encoding="utf-8")
    exc = error_of(lambda: load_scenario(path))
    assert_mentions(exc, str(path), "larger")
    exc = error_of(lambda: loads_scenario(at_limit + "#", source="big text"))
    assert_mentions(exc, "big text", "larger")


def test_file_over_the_limit_with_invalid_bytes_is_still_a_scenario_error(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(b"\xff" * (MAX_FILE_BYTES + 10))
    exc = error_of(lambda: load_scenario(path))
    assert_mentions(exc, str(path))


def test_deeply_nested_toml_gives_scenario_error(tmp_path):
    # ~2 KB, far below MAX_FILE_BYTES, yet tomllib recurses once per level.
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 1000 + "]" * 1000 + "\n", encoding="utf-8")
    exc = error_of(lambda: load_scenario(path))
    assert_mentions(exc, str(path))


def test_path_with_nul_byte_gives_scenario_error():
    exc = error_of(lambda: load_scenario("scen\x00ario.toml"))
    assert_mentions(exc, "scen")


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("staff = 4 ", 'staff = "4" ', "sales_desk.staff"),
        ("staff = 4 ", "staff = true ", "sales_desk.staff"),
        ("cost_per_lead = 2250.0", "cost_per_lead = true", "channels[0].cost_per_lead"),
        ("horizon_months = 120", 'horizon_months = "120"', "horizon_months"),
    ],
)
def test_wrong_toml_type_is_rejected(old, new, path):
    text = CAR_DEALER.read_text(encoding="utf-8")
    assert old in text, f"fixture text lacks {old!r}"
    exc = error_of(lambda: loads_scenario(text.replace(old, new), source="typed.toml"))
    assert_mentions(exc, "typed.toml", path)


# --- override ---------------------------------------------------------------------------------------


def test_override_example_from_the_issue():
    s = load_scenario(CAR_DEALER)
    before = s.model_dump()
    t = s.override({"sales_desk.staff": 8, "channels.0.cost_per_lead": 2000})
    assert isinstance(t, Scenario), f"override returned {type(t).__name__}"
    assert t is not s, "override must return a new scenario"
    assert t.sales_desk is not None and t.sales_desk.staff == 8, f"staff not overridden: {t.sales_desk}"
    assert t.channels[0].cost_per_lead == 2000.0, f"cost_per_lead not overridden: {t.channels[0]}"
    assert s.model_dump() == before, "override changed the original scenario"
    assert s.sales_desk is not None and s.sales_desk.staff == 4, "original staff changed"
    rest = t.model_copy(update={"sales_desk": s.sales_desk, "channels": s.channels})
    assert rest == s, "override changed fields it was not asked to change"


def test_override_with_nothing_gives_an_equal_scenario():
    s = parse_scenario(full_dict())
    assert s.override({}) == s, "override({}) changed the scenario"


def test_override_switches_sections_on_and_off():
    s = load_scenario(CAR_DEALER)
    on = s.override({"referrals": {"per_customer_per_year": 0.5}})
    assert on.referrals == Referrals(per_customer_per_year=0.5), f"referrals not switched on: {on.referrals}"
    off = on.override({"referrals": None, "sales_desk": None})
    assert off.referrals is None and off.sales_desk is None, "sections not switched off"
    assert on.referrals is not None, "switching off changed the earlier scenario"


def test_override_replaces_a_whole_list_and_copies_the_value():
    s = parse_scenario(full_dict())
    new_channels = [{"name": "Ads", "leads_per_month": 10.0, "cost_per_lead": 1.0}]
    t = s.override({"channels": new_channels})
    new_channels[0]["cost_per_lead"] = 999.0
    assert [c.name for c in t.channels] == ["Ads"], f"channels are {t.channels}"
    assert t.channels[0].cost_per_lead == 1.0, "override kept a reference to the caller's value"


def test_override_of_a_list_item_inside_a_list():
    s = parse_scenario(full_dict())
    t = s.override({"funnel.1.conversion": 0.9, "repeat.0.interval_months": 6})
    assert t.funnel[1].conversion == 0.9 and t.funnel[0].conversion == 0.25, f"funnel is {t.funnel}"
    assert t.repeat[0].interval_months == 6, f"repeat is {t.repeat}"


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("nonsense", "nonsense"),
        ("sales_desk.nonsense", "sales_desk.nonsense"),
        ("channels.7.cost_per_lead", "channels[7]"),
        ("channels.x.cost_per_lead", "channels.x"),
        ("channels.-1.cost_per_lead", "channels.-1"),
        ("name.first", "name.first"),
        ("referrals.bonus", "referrals"),
        ("", "scenario"),
        ("retention.monthly_churn.x", "retention.monthly_churn.x"),
    ],
)
def test_override_unknown_path(path, fragment):
    s = load_scenario(CAR_DEALER)
    exc = error_of(lambda: s.override({path: 1}))
    assert_mentions(exc, "Car dealer", fragment)
    assert exc.problems and exc.problems[0][0] == path, f"problems {exc.problems} do not name {path!r}"


def test_override_unicode_digit_index():
    s = load_scenario(CAR_DEALER)
    exc = error_of(lambda: s.override({"channels.\u00b2.cost_per_lead": 1}))
    assert_mentions(exc, "channels")


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("channels.0.cost_per_lead", -5, "channels[0].cost_per_lead = -5"),
        ("sales_desk.staff", 0, "sales_desk.staff = 0"),
        ("horizon_months", 241, "horizon_months = 241"),
        ("retention.monthly_churn", math.nan, "retention.monthly_churn = nan"),
        ("funnel.2.conversion", "high", "funnel[2].conversion = 'high'"),
        ("first_purchase.margin", 2e6, "first_purchase"),
        ("retention", None, "retention"),
    ],
)
def test_override_invalid_value(path, value, expected):
    s = load_scenario(CAR_DEALER)
    before = s.model_dump()
    exc = error_of(lambda: s.override({path: value}))
    assert_mentions(exc, "Car dealer", expected)
    assert s.model_dump() == before, "a failed override changed the original"


# --- service programme and problems -----------------------------------------------------------------


@pytest.mark.parametrize(("k_star", "d"), [(1.0, 0.3), (2.0, 0.5), (0.5, 1.0), (4.0, 0.05), (60.0, 0.7)])
def test_churn_multiplier_is_u_shaped_with_minimum_at_tolerated_contacts(k_star, d):
    p = ServiceProgramme(tolerated_contacts_per_month=k_star, max_churn_reduction=d)
    assert p.churn_multiplier(0.0) == pytest.approx(1.0), f"m(0) = {p.churn_multiplier(0.0)}, expected 1"
    assert p.churn_multiplier(k_star) == pytest.approx(1.0 - d), f"m(k*) = {p.churn_multiplier(k_star)}"
    assert p.churn_multiplier(2 * k_star) == pytest.approx(1.0), "m(2k*) should be back at 1"
    n = 40
    grid = sorted({*(3 * k_star * i / n for i in range(n + 1)), k_star})  # 0 … 3 k*, k* itself included
    values = [p.churn_multiplier(k) for k in grid]
    i_min = min(range(len(values)), key=values.__getitem__)
    assert grid[i_min] == pytest.approx(p.churn_optimal_contacts), (
        f"argmin over the grid is k={grid[i_min]}, churn_optimal_contacts is {p.churn_optimal_contacts}"
    )
    j = grid.index(k_star)
    falling = values[: j + 1]
    rising = values[j:]
    assert all(a > b for a, b in pairwise(falling)), f"m not decreasing up to k*: {falling}"
    assert all(a < b for a, b in pairwise(rising)), f"m not increasing past k*: {rising}"
    assert values[-1] > 1.0, f"m(3k*) = {values[-1]} should exceed 1 (intrusive service)"


def test_churn_multiplier_defaults_to_the_programmes_contacts():
    p = ServiceProgramme(contacts_per_month=1.0, tolerated_contacts_per_month=2.0, max_churn_reduction=0.4)
    assert p.churn_multiplier() == pytest.approx(1 - 0.4 * 0.75), f"m() = {p.churn_multiplier()}"
    assert p.churn_multiplier() == p.churn_multiplier(1.0), "m() differs from m(contacts_per_month)"


def test_churn_multiplier_without_reduction_is_one():
    p = ServiceProgramme(tolerated_contacts_per_month=3.0)
    for k in (0.0, 1.0, 3.0, 10.0, 60.0):
        assert p.churn_multiplier(k) == 1.0, f"with d=0, m({k}) = {p.churn_multiplier(k)}"


def test_leave_probability_grows_with_resolution_days_and_is_capped():
    base = {
        "visit_problem_probability": 0.2,
        "leave_probability_base": 0.1,
        "leave_probability_per_day": 0.05,
    }
    days = [0.0, 1.0, 2.0, 5.0, 10.0, 18.0, 30.0, 365.0]
    probs = [Problems(resolution_days=d, **base).leave_probability for d in days]
    assert probs[0] == pytest.approx(0.1), f"at 0 days leave probability is {probs[0]}, expected the base"
    assert probs[3] == pytest.approx(0.35), f"at 5 days leave probability is {probs[3]}, expected 0.35"
    assert all(a <= b for a, b in pairwise(probs)), f"not non-decreasing in days: {probs}"
    assert probs[1] < probs[2] < probs[3] < probs[4], f"not growing before the cap: {probs}"
    assert probs[-1] == 1.0 and probs[-2] == 1.0, f"leave probability not capped at 1: {probs}"
    assert max(probs) <= 1.0, f"leave probability above 1: {probs}"


# --- derived figures --------------------------------------------------------------------------------


def test_funnel_conversion_and_leads_per_sale():
    s = load_scenario(CAR_DEALER)
    assert s.funnel_conversion == pytest.approx(0.01), f"funnel conversion is {s.funnel_conversion}"
    assert s.leads_per_sale == pytest.approx(100.0), f"leads per sale is {s.leads_per_sale}"
    nobody = s.override({"funnel.1.conversion": 0.0})
    assert nobody.funnel_conversion == 0.0, f"funnel conversion is {nobody.funnel_conversion}"
    assert nobody.leads_per_sale == math.inf, f"leads per sale with no buyers is {nobody.leads_per_sale}"
    everyone = s.override({"funnel": [{"name": "All", "conversion": 1.0}]})
    assert everyone.leads_per_sale == 1.0, f"leads per sale is {everyone.leads_per_sale}"


def test_referral_conversion():
    s = load_scenario(CAR_DEALER)
    assert s.referral_conversion == pytest.approx(s.funnel_conversion), "without referrals, multiplier is 1"
    r = s.override({"referrals": {"per_customer_per_year": 1.0, "conversion_multiplier": 3.0}})
    assert r.referral_conversion == pytest.approx(0.03), f"referral conversion is {r.referral_conversion}"
    capped = r.override({"funnel": [{"name": "D", "conversion": 0.5}], "referrals.conversion_multiplier": 50})
    assert capped.referral_conversion == 1.0, f"referral conversion not capped: {capped.referral_conversion}"
    zero = r.override({"referrals.conversion_multiplier": 0})
    assert zero.referral_conversion == 0.0, f"referral conversion is {zero.referral_conversion}"


def test_effective_churn():
    s = parse_scenario(full_dict())
    # churn 0.03, k = 1, k* = 2, d = 0.3: m = 1 - 0.3 * (1 - 0.25) = 0.775
    assert s.effective_churn == pytest.approx(0.03 * 0.775), f"effective churn is {s.effective_churn}"
    plain = s.override({"service_programme": None})
    assert plain.effective_churn == 0.03, f"effective churn without programme is {plain.effective_churn}"
    intrusive = s.override(
        {
            "retention.monthly_churn": 0.9,
            "service_programme.contacts_per_month": 60,
            "service_programme.tolerated_contacts_per_month": 1,
            "service_programme.max_churn_reduction": 1.0,
        }
    )
    assert intrusive.service_programme is not None and intrusive.service_programme.churn_multiplier() > 1.2
    assert intrusive.effective_churn == 1.0, f"effective churn not clipped at 1: {intrusive.effective_churn}"
    optimum = s.override(
        {"service_programme.contacts_per_month": 2, "service_programme.max_churn_reduction": 1}
    )
    assert optimum.effective_churn == 0.0, f"d = 1 at k* should give 0 churn: {optimum.effective_churn}"


def test_referral_rate_per_year():
    s = parse_scenario(full_dict())
    assert s.referral_rate_per_year == pytest.approx(0.2 * 1.2), f"referral rate: {s.referral_rate_per_year}"
    assert s.override({"service_programme": None}).referral_rate_per_year == pytest.approx(0.2), (
        "without programme the referral rate should be the base rate"
    )
    assert s.override({"referrals": None}).referral_rate_per_year == 0.0, "without referrals the rate is 0"


def test_other_derived_figures():
    s = parse_scenario(full_dict())
    assert s.paid_leads_per_month == 1200.0, f"paid leads per month is {s.paid_leads_per_month}"
    assert s.repeat_margin_factor == pytest.approx(1.1), f"repeat margin factor is {s.repeat_margin_factor}"
    plain = s.override({"service_programme": None, "channels": []})
    assert plain.repeat_margin_factor == 1.0, f"margin factor without programme: {plain.repeat_margin_factor}"
    assert plain.paid_leads_per_month == 0.0, f"paid leads without channels: {plain.paid_leads_per_month}"


# --- property tests: field bounds table -------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """Bounds of one numeric field: lo (inclusive unless lo_open) to hi (inclusive)."""

    kind: type
    lo: float
    hi: float
    lo_open: bool = False


PROB = Bound(float, 0.0, 1.0)
MONEY = Bound(float, 0.0, 1e12)

SECTIONS: dict[str, type[pydantic.BaseModel]] = {
    "": Scenario,
    "channels": Channel,
    "sales_desk": SalesDesk,
    "funnel": FunnelStage,
    "first_purchase": FirstPurchase,
    "retention": Retention,
    "repeat": RepeatStream,
    "referrals": Referrals,
    "service_programme": ServiceProgramme,
    "problems": Problems,
    "existing_customers": ExistingCustomers,
}
LIST_SECTIONS = {"channels", "funnel", "repeat"}

BOUNDS: dict[str, dict[str, Bound]] = {
    "": {"horizon_months": Bound(int, 1, 240), "discount_rate_annual": Bound(float, 0.0, 10.0)},
    "channels": {
        "leads_per_month": Bound(float, 0.0, 1e7),
        "cost_per_lead": MONEY,
        "lead_quality": Bound(float, 0.0, 100.0),
    },
    "sales_desk": {
        "staff": Bound(int, 1, 10_000),
        "handling_minutes": Bound(float, 0.0, 1440.0, lo_open=True),
        "hours_per_day": Bound(float, 0.0, 24.0, lo_open=True),
        "patience_hours": Bound(float, 0.0, 24.0 * 365, lo_open=True),
        "salary_per_month": MONEY,
        "cooling_half_life_hours": Bound(float, 0.0, 24.0 * 365, lo_open=True),
    },
    "funnel": {"conversion": PROB, "delay_days": Bound(float, 0.0, 3650.0)},
    "first_purchase": {"revenue": MONEY, "margin": MONEY},
    "retention": {
        "monthly_churn": PROB,
        "alpha": Bound(float, 0.0, 1e4, lo_open=True),
        "beta": Bound(float, 0.0, 1e4, lo_open=True),
    },
    "repeat": {"interval_months": Bound(int, 1, 120), "revenue": MONEY, "margin": MONEY, "adoption": PROB},
    "referrals": {
        "per_customer_per_year": Bound(float, 0.0, 100.0),
        "conversion_multiplier": Bound(float, 0.0, 100.0),
        "bonus": MONEY,
    },
    "service_programme": {
        "fixed_cost_per_year": MONEY,
        "contacts_per_month": Bound(float, 0.0, 60.0),
        "cost_per_contact": MONEY,
        "tolerated_contacts_per_month": Bound(float, 0.0, 60.0, lo_open=True),
        "max_churn_reduction": PROB,
        "referral_uplift": Bound(float, 0.0, 10.0),
        "margin_uplift": Bound(float, 0.0, 10.0),
    },
    "problems": {
        "visit_problem_probability": PROB,
        "resolution_days": Bound(float, 0.0, 365.0),
        "cost_per_problem": MONEY,
        "leave_probability_base": PROB,
        "leave_probability_per_day": PROB,
    },
    "existing_customers": {"count": Bound(int, 0, 10_000_000)},
}


def test_bounds_table_covers_every_numeric_field():
    """Guard for the property tests: a new numeric field must be added to BOUNDS to be fuzzed."""
    for section, model in SECTIONS.items():
        numeric = set()
        for name, info in model.model_fields.items():
            args = set(typing.get_args(info.annotation)) or {info.annotation}
            if args & {int, float}:
                numeric.add(name)
        assert numeric == set(BOUNDS[section]), (
            f"section {section or '(top)'}: numeric fields {sorted(numeric)} != {sorted(BOUNDS[section])}"
        )


# --- property tests: strategies ---------------------------------------------------------------------


def number(b: Bound) -> st.SearchStrategy[Any]:
    """A valid value for a field with bounds `b` (floats also as TOML integers)."""
    if b.kind is int:
        return st.integers(int(b.lo), int(b.hi))
    floats = st.floats(b.lo, b.hi, exclude_min=b.lo_open, allow_nan=False, allow_infinity=False)
    lo_int = math.floor(b.lo) + 1 if b.lo_open else math.ceil(b.lo)
    return st.one_of(floats, st.integers(lo_int, int(min(b.hi, 2**53))))


NAMES = st.text(min_size=1, max_size=80)


@st.composite
def section_dict(draw: st.DrawFn, section: str) -> dict[str, Any]:
    """A valid dict for one section: required numbers always, optional ones sometimes."""
    model = SECTIONS[section]
    out: dict[str, Any] = {}
    for name, b in BOUNDS[section].items():
        if model.model_fields[name].is_required() or draw(st.booleans()):
            out[name] = draw(number(b))
    if "name" in model.model_fields:
        out["name"] = draw(NAMES)
    if section == "sales_desk" and draw(st.booleans()):
        out["handling"] = draw(st.sampled_from(["exponential", "fixed"]))
    if section == "retention" and ("alpha" in out or "beta" in out):  # the shapes go with sbg only
        out["model"] = "sbg"
        out.setdefault("alpha", 1.0)
        out.setdefault("beta", 1.0)
    if "margin" in out:
        revenue = draw(number(MONEY))
        out["revenue"] = revenue
        out["margin"] = draw(st.floats(0.0, float(revenue)) | st.just(revenue))
    return out


@st.composite
def scenario_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid scenario dict: all sections, optional ones sometimes absent, random list lengths."""
    data: dict[str, Any] = {"name": draw(NAMES), "horizon_months": draw(number(BOUNDS[""]["horizon_months"]))}
    if draw(st.booleans()):
        data["currency"] = draw(st.text(min_size=1, max_size=8))
    if draw(st.booleans()):
        data["discount_rate_annual"] = draw(number(BOUNDS[""]["discount_rate_annual"]))
    data["funnel"] = draw(st.lists(section_dict("funnel"), min_size=1, max_size=5))
    data["first_purchase"] = draw(section_dict("first_purchase"))
    data["retention"] = draw(section_dict("retention"))
    if draw(st.booleans()):
        data["channels"] = draw(st.lists(section_dict("channels"), max_size=4, unique_by=lambda c: c["name"]))
    if draw(st.booleans()):
        data["repeat"] = draw(st.lists(section_dict("repeat"), max_size=8))
    for optional in ("sales_desk", "referrals", "service_programme", "problems", "existing_customers"):
        if draw(st.booleans()):
            data[optional] = draw(section_dict(optional))
    return data


def numeric_slots(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], Bound]]:
    """Every numeric field that can be set in `data`: (path, bounds), in present sections and list items."""
    slots: list[tuple[tuple[str | int, ...], Bound]] = []
    for section, fields in BOUNDS.items():
        if section == "":
            prefixes: list[tuple[str | int, ...]] = [()]
        elif section in LIST_SECTIONS:
            prefixes = [(section, i) for i in range(len(data.get(section, [])))]
        else:
            prefixes = [(section,)] if section in data else []
        slots += [((*prefix, name), b) for prefix in prefixes for name, b in fields.items()]
    return slots


def table_slots(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], type[pydantic.BaseModel]]]:
    """Every table in `data` (the top level, each present section and list item) with its model."""
    out: list[tuple[tuple[str | int, ...], type[pydantic.BaseModel]]] = [((), Scenario)]
    for section, model in SECTIONS.items():
        if section in LIST_SECTIONS:
            out += [((section, i), model) for i in range(len(data.get(section, [])))]
        elif section and section in data:
            out.append(((section,), model))
    return out


NOT_NUMBERS = st.sampled_from(["", "abc", "ten", "1,5", "12 months", "-"]) | st.text("abxyz ", max_size=6)


def bad_value(b: Bound) -> st.SearchStrategy[Any]:
    """A value breaking bounds `b`: below, above, not finite, a string, a list, a fraction for an int."""
    if b.kind is int:
        below = st.integers(int(b.lo) - 10**9, int(b.lo) - 1)
        above = st.integers(int(b.hi) + 1, int(b.hi) + 10**9)
        fraction = st.floats(b.lo - 5, b.hi + 5, allow_nan=False).filter(lambda x: not x.is_integer())
        extra = [fraction]
    else:
        below_max = b.lo if b.lo_open else math.nextafter(b.lo, -math.inf)
        below = st.floats(max_value=below_max, allow_nan=False, allow_infinity=False)
        if b.lo_open and b.lo == 0.0:
            below = below | st.just(-0.0)
        above = st.floats(min_value=math.nextafter(b.hi, math.inf), allow_nan=False, allow_infinity=False)
        extra = []
    not_finite = st.sampled_from([math.nan, math.inf, -math.inf])
    wrong_type = NOT_NUMBERS | st.lists(st.integers(0, 9), max_size=2)
    return st.one_of(below, above, not_finite, wrong_type, *extra)


def message_value(value: Any) -> str:
    """The value as it must appear in the message (its repr)."""
    return repr(value)


ROUTES = st.sampled_from(["parse", "toml", "override"])


def load_by(route: str, data: dict[str, Any], source: str) -> Scenario:
    """Validate `data` via parse_scenario or via TOML text (loads_scenario)."""
    if route == "parse":
        return parse_scenario(data, source=source)
    return loads_scenario(tomli_w.dumps(data), source=source)


# --- property tests ----------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(data=scenario_dicts())
def test_property_round_trip(data):
    original = copy.deepcopy(data)
    s = parse_scenario(data, source="generated")
    assert data == original, "parse_scenario changed its input"
    text = s.to_toml()
    again = loads_scenario(text, source="written")
    assert again == s, f"to_toml -> loads_scenario changed the scenario:\n{text}"
    assert again.to_toml() == text, "to_toml is not stable over a round trip"
    assert parse_scenario(s.to_dict()) == s, "parse_scenario(to_dict()) changed the scenario"


@PROPERTY_SETTINGS
@given(data=scenario_dicts(), choice=st.data(), route=ROUTES)
def test_property_out_of_bounds_value_is_named(data, choice, route):
    path, b = choice.draw(st.sampled_from(numeric_slots(data)), label="field")
    value = choice.draw(bad_value(b), label="bad value")
    where = bracketed(path)
    if route == "override":
        s = parse_scenario(data)
        exc = error_of(lambda: s.override({dotted(path): value}))
    else:
        set_in(data, path, value)
        exc = error_of(lambda: load_by(route, data, source="fuzz.toml"))
        assert_mentions(exc, "fuzz.toml")
    assert_mentions(exc, f"{where} = {message_value(value)}")
    assert any(p == where for p, _, _ in exc.problems), f"problems {exc.problems} do not list {where}"
    rule = next(r for p, _, r in exc.problems if p == where)
    assert rule and rule in str(exc), f"rule {rule!r} missing from the message {str(exc)!r}"


@PROPERTY_SETTINGS
@given(data=scenario_dicts(), choice=st.data(), route=st.sampled_from(["parse", "toml"]))
def test_property_unknown_key_is_named(data, choice, route):
    prefix, model = choice.draw(st.sampled_from(table_slots(data)), label="table")
    key = choice.draw(
        st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).filter(lambda k: k not in model.model_fields),
        label="unknown key",
    )
    value = choice.draw(st.integers(-1000, 1000) | st.text("abc", max_size=5), label="value")
    set_in(data, (*prefix, key), value)
    exc = error_of(lambda: load_by(route, data, source="extra.toml"))
    where = bracketed((*prefix, key))
    assert_mentions(exc, "extra.toml", f"{where} = {value!r}", "not permitted")


@PROPERTY_SETTINGS
@given(data=scenario_dicts(), choice=st.data())
def test_property_valid_override_changes_only_that_field(data, choice):
    s = parse_scenario(data)
    before = s.model_dump()
    slots = [(p, b) for p, b in numeric_slots(data) if p[-1] not in {"revenue", "margin"}]
    path, b = choice.draw(st.sampled_from(slots), label="field")
    value = choice.draw(number(b), label="value")
    t = s.override({dotted(path): value})
    got: Any = t
    for part in path:
        got = got[part] if isinstance(part, int) else getattr(got, part)
    assert got == value, f"{dotted(path)} is {got!r} after override with {value!r}"
    assert s.model_dump() == before, "override changed the original scenario"
    expected = copy.deepcopy(before)
    set_in(expected, path, value)
    assert t.model_dump() == parse_scenario(expected).model_dump(), "override changed other fields"


@PROPERTY_SETTINGS
@given(
    k_star=st.floats(1e-3, 60.0),
    d=st.floats(0.0, 1.0),
    k=st.floats(0.0, 60.0),
)
def test_property_churn_multiplier_minimum_at_k_star(k_star, d, k):
    p = ServiceProgramme(tolerated_contacts_per_month=k_star, max_churn_reduction=d)
    m_k = p.churn_multiplier(k)
    m_star = p.churn_multiplier(p.churn_optimal_contacts)
    assert m_star == pytest.approx(1.0 - d), f"m(k*) = {m_star}, expected 1 - d = {1 - d}"
    assert m_k >= m_star - 1e-12, f"m({k}) = {m_k} is below m(k*) = {m_star}"
    assert p.churn_multiplier(0.0) == 1.0, f"m(0) = {p.churn_multiplier(0.0)}"
    if k <= k_star:
        assert m_k <= 1.0 + 1e-12, f"m({k}) = {m_k} > 1 before k* = {k_star}"
    mirror = 2 * k_star - k
    assert p.churn_multiplier(mirror) == pytest.approx(m_k, abs=1e-9), "m is not symmetric about k*"


# --- Russian names (name_ru) ---------------------------------------------------------------------------


def _named_items(sc: Scenario) -> list[Any]:
    """The scenario and every item that has a name: channels, funnel stages, repeat streams."""
    return [sc, *sc.channels, *sc.funnel, *sc.repeat]


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_names_itself_and_its_items_in_russian(path):
    """The Russian page is Russian end to end: each shipped scenario, channel, stage and repeat stream has a
    Russian name in Cyrillic, different from the English one."""
    sc = load_scenario(path)
    for item in _named_items(sc):
        assert item.name_ru, f"{path.name}: {item.name!r} has no name_ru"
        assert any("а" <= ch.lower() <= "я" for ch in item.name_ru), f"{item.name_ru!r} is not Russian"
        assert "->" not in item.name_ru, f"{item.name_ru!r}: write the arrow as →"


def test_name_ru_is_optional_and_round_trips():
    data = full_dict()
    plain = parse_scenario(data)
    assert all(item.name_ru is None for item in _named_items(plain))
    assert "name_ru" not in plain.to_toml()  # absent stays absent
    data["name_ru"] = "Полный"
    data["channels"][0]["name_ru"] = "Звонки"
    data["funnel"][0]["name_ru"] = "Звонок → визит"
    data["repeat"][0]["name_ru"] = "Сервис"
    sc = parse_scenario(data)
    assert (sc.name_ru, sc.channels[0].name_ru, sc.channels[1].name_ru) == ("Полный", "Звонки", None)
    assert loads_scenario(sc.to_toml()) == sc
    moved = sc.override({"channels.1.name_ru": "Формы", "name_ru": "Другой", "funnel.0.conversion": 0.3})
    assert (moved.name_ru, moved.channels[1].name_ru, moved.funnel[0].name_ru) == (
        "Другой",
        "Формы",
        "Звонок → визит",
    )
    assert moved.override({"name_ru": None}).name_ru is None


@pytest.mark.parametrize(
    ("path", "value", "rule"),
    [
        (("name_ru",), "", "at least 1"),
        (("name_ru",), "я" * 81, "at most 80"),
        (("name_ru",), 5, "valid string"),
        (("channels", 0, "name_ru"), "", "at least 1"),
        (("funnel", 1, "name_ru"), "я" * 81, "at most 80"),
        (("repeat", 0, "name_ru"), ["Сервис"], "valid string"),
    ],
)
def test_bad_name_ru_is_named_like_name(path, value, rule):
    data = full_dict()
    set_in(data, path, value)
    exc = error_of(lambda: parse_scenario(data, source="ru.toml"))
    assert_mentions(exc, "ru.toml", bracketed(path), rule)


@pytest.mark.parametrize("second", ["Calls", "referrals"])
def test_channel_names_name_one_channel_each(second):
    """Per-channel results are keyed by name: two channels with one name, or one named like the referral
    leads' row, are refused."""
    text = (ROOT / "scenarios" / "car_dealer.toml").read_text(encoding="utf-8")
    text += f'\n[[channels]]\nname = "{second}"\nleads_per_month = 10.0\ncost_per_lead = 100.0\n'
    with pytest.raises(ScenarioError, match=r"^x\.toml: channels = .*(must differ|referral leads)"):
        loads_scenario(text, "x.toml")
