"""The page's words and number formatting (`sim.report.texts`): plural forms in both languages, spans of
time that never read "1 months" or a month past the horizon, names in the page's language, KPI figures
that never show `∞ ₽`, the downloads' column headers, and help texts in an owner's words."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import pytest

from sim.report import texts
from sim.report.texts import NBSP

RU_CATEGORIES = {
    0: "many",
    1: "one",
    2: "few",
    3: "few",
    4: "few",
    5: "many",
    10: "many",
    11: "many",
    12: "many",
    14: "many",
    20: "many",
    21: "one",
    22: "few",
    24: "few",
    25: "many",
    87: "many",
    101: "one",
    111: "many",
    112: "many",
    122: "few",
}
"""CLDR's Russian plural categories of whole numbers (the rule's examples, with its exceptions 11–14)."""


@pytest.mark.parametrize(("n", "category"), sorted(RU_CATEGORIES.items()))
def test_russian_plural_categories_follow_cldr(n, category):
    assert texts.plural(n, "ru") == category
    assert texts.plural(-n, "ru") == category  # a change of −2 months is "2 месяца" too


def test_english_plural_and_fractions():
    assert [texts.plural(n, "en") for n in (0, 1, 2, 21)] == ["other", "one", "other", "other"]
    assert texts.plural(1, "en", decimals=1) == "other"  # "1.0 months"
    assert texts.plural(1.5, "ru", decimals=1) == "other"  # "1,5 месяца"


def test_plural_rule_agrees_with_babel_where_installed():
    """The rule is written once here; Babel's CLDR data, where installed, must agree with it."""
    babel = pytest.importorskip("babel")
    for lang in texts.LANGS:
        rule = babel.Locale(lang).plural_form
        assert all(texts.plural(n, lang) == rule(n) for n in range(0, 250)), lang


@pytest.mark.parametrize(
    ("n", "lang", "shown"),
    [
        (1, "en", "1 month"),
        (2, "en", "2 months"),
        (0, "en", "0 months"),
        (1, "ru", "1 месяц"),
        (2, "ru", "2 месяца"),
        (5, "ru", "5 месяцев"),
        (11, "ru", "11 месяцев"),
        (21, "ru", "21 месяц"),
        (24, "ru", "24 месяца"),
    ],
)
def test_month_spans_in_words(n, lang, shown):
    assert texts.month_span(n, lang) == shown.replace(" ", NBSP)


def test_counts_signed_genitive_and_years():
    assert texts.count(-3, "ru", "month", signed=True) == f"{texts.MINUS}3{NBSP}месяца"
    assert texts.count(3, "en", "month", signed=True) == f"+3{NBSP}months"
    assert [texts.count(n, "ru", "year", genitive=True) for n in (1, 2, 5, 21)] == [
        f"1{NBSP}года",
        f"2{NBSP}лет",
        f"5{NBSP}лет",
        f"21{NBSP}года",
    ]
    assert (
        texts.horizon_span(120, "ru") == f"10{NBSP}лет" and texts.horizon_span(120, "en") == f"10{NBSP}years"
    )
    assert texts.horizon_span(18, "en") == f"18{NBSP}months"
    assert texts.count(4, "ru", "run") == f"4{NBSP}прогона"


def test_short_months_say_one_month_in_english():
    """Today's defect: `1 months`."""
    assert texts.months(1, "en") == "1 month" and texts.months(2, "en") == "2 months"
    assert texts.months(18, "ru") == "18 мес."  # the short Russian form reads right at any count


@pytest.mark.parametrize(
    ("x", "horizon", "en", "ru"),
    [
        (0, 120, "at the first sale", "с первой продажи"),
        (1, 120, f"1{NBSP}month", f"1{NBSP}месяц"),
        (24, 120, f"24{NBSP}months", f"24{NBSP}месяца"),
        (120, 120, f"120{NBSP}months", f"120{NBSP}месяцев"),
        (150, 120, f"over 10{NBSP}years", f"более 10{NBSP}лет"),
        (150, 12, f"over 1{NBSP}year", f"более 1{NBSP}года"),
        (40, 36, f"over 3{NBSP}years", f"более 3{NBSP}лет"),
        (40, 30, f"over 30{NBSP}months", f"более 30{NBSP}месяцев"),
        (math.nan, 120, "never", "нет"),
    ],
)
def test_payback_reads_sensibly_at_zero_and_past_the_horizon(x, horizon, en, ru):
    assert texts.payback(x, "en", horizon) == en
    assert texts.payback(x, "ru", horizon) == ru
    assert texts.format_kpi("payback_months", x, "RUB", "ru", horizon=horizon) == ru


def test_unbounded_ltv_is_a_word_not_infinity_roubles():
    for lang, word in (("en", "unbounded"), ("ru", "без предела")):
        assert texts.format_kpi("ltv", math.inf, "RUB", lang) == word
        assert texts.format_kpi("ltv_to_cac", math.inf, "RUB", lang) == word
    assert "∞" not in texts.format_kpi("ltv", math.inf, "RUB", "en")
    assert texts.format_kpi("payback_months", 3, "RUB", "ru", signed=True) == f"+3{NBSP}месяца"
    assert texts.format_kpi("break_even_month", 87, "RUB", "ru") == "87"


@pytest.mark.parametrize(
    ("month", "en", "ru"),
    [
        (5, "within the first year", "в течение первого года"),
        (12, "within the first year", "в течение первого года"),
        (14, "about a year", "примерно через год"),
        (24, f"about 2{NBSP}years", f"примерно через 2{NBSP}года"),
        (87, f"about 7{NBSP}years", f"примерно через 7{NBSP}лет"),
        (90, f"about 8{NBSP}years", f"примерно через 8{NBSP}лет"),
    ],
)
def test_about_when(month, en, ru):
    assert texts.about_when(month, "en") == en and texts.about_when(month, "ru") == ru


def test_item_names_in_the_pages_language():
    stage = SimpleNamespace(name="Call -> appointment", name_ru="Звонок → запись")
    plain = SimpleNamespace(name="Calls", name_ru=None)
    assert texts.item_name(stage, "en") == "Call → appointment"
    assert texts.item_name(stage, "ru") == "Звонок → запись"
    assert texts.item_name(plain, "ru") == "Calls"  # no Russian name: the English one


def test_every_download_column_has_a_header_in_both_languages():
    for name, col in texts.COLUMNS.items():
        en, ru = texts.column_label(name, "en", "RUB"), texts.column_label(name, "ru", "RUB")
        assert en and ru and en != name, name
        assert re.search("[а-яё]", ru.lower()) or name in ("ltv_to_cac",), (name, ru)
        if col.kind == "money":
            assert en.endswith(", ₽") and ru.endswith(", ₽")
        if col.kind == "share":
            assert ru.endswith(", %")
    assert texts.column_label("cac", "ru", "RUB", unit=False) == texts.t("ru", "t_cac")  # one fact


def test_help_texts_speak_the_owners_words():
    """Today's defect: help texts naming `sim.simulate` and `python -m sim run`."""
    keys = ["mc_help", "vs_preset"] + [k for k in texts.TEXTS["en"] if k.startswith(("t_", "h_", "tx_"))]
    for lang in texts.LANGS:
        for key in keys:
            text = texts.t(lang, key)
            assert not re.search(r"sim\.|python|`", text), (lang, key, text)
    for key in keys:  # the Russian words are Russian (a pattern of placeholders only is the same)
        ru, en = texts.t("ru", key), texts.t("en", key)
        words = re.sub(r"\{\w+\}|LTV|CAC", "", en)
        assert ru != en or not re.search("[a-z]", words), key


def test_tile_labels_say_business_or_one_customer():
    for lang, business, customer in (("en", "business", "customer"), ("ru", "бизнес", "клиент")):
        for m in ("break_even_month", "max_cash_need"):
            assert business in texts.t(lang, f"t_{m}").lower(), (lang, m)
        for m in ("cac", "ltv", "ltv_to_cac", "payback_months"):
            label, help_ = texts.t(lang, f"t_{m}").lower(), texts.t(lang, f"h_{m}").lower()
            assert customer in label or customer in help_, (lang, m)


def test_kpi_values_say_dash_where_nothing_is_sold():
    """One rule for the page's tiles and the printed report: with no new customers the per-customer figures
    are `—` (not `never`), and the note says why."""
    kpi = {
        "new_customers": 0.0,
        "cac": math.nan,
        "payback_months": math.nan,
        "ltv": math.inf,
        "ltv_to_cac": math.nan,
        "leads_per_sale": math.nan,
        "lost_lead_share": math.nan,
    }
    for m in texts.NEEDS_SALES:
        assert texts.kpi_value(m, kpi, "RUB", "ru") == "—"
        assert texts.kpi_note(m, kpi, "ru") == "продаж нет"
    assert texts.kpi_value("ltv", kpi, "RUB", "en") == "unbounded"
    assert texts.kpi_note("ltv", kpi, "en") == "no churn: nobody leaves"
    assert texts.kpi_note("lost_lead_share", kpi, "en") == "no leads"
    selling = dict(kpi, new_customers=10.0, payback_months=math.nan, cac=5000.0)
    assert texts.kpi_value("payback_months", selling, "RUB", "en") == "never" and not texts.kpi_note(
        "payback_months", selling, "en"
    )
