"""What an owner reads, without Streamlit (`sim.app.views`, `sim.app.state`'s widgets): the verdict sentence,
tiles that say what they measure and never contradict each other, the downloads in the page's language
(a Russian CSV that Excel splits into columns, a formatted workbook) and lever widgets named in Russian on
the Russian page. Every figure is computed from the model at test time."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

import sim
from sim.app import state as S
from sim.app import views
from sim.app.band import Band
from sim.model import paths
from sim.report import frames, texts
from sim.report.texts import NBSP

ROOT = Path(__file__).resolve().parents[2]
PRESETS = S.load_presets(ROOT / "scenarios")
DEALER = PRESETS.scenarios["car_dealer"]
SERVICE = PRESETS.scenarios["car_dealer_service"]
BOTH = S.apply_switches(DEALER, {"repeat": True, "referrals": True}, PRESETS.donors())
"""Article 003's story: the plain dealer with service visits and referrals switched on."""
LATIN = re.compile("[A-Za-z]")


def kpi_of(sc: sim.Scenario) -> dict[str, float]:
    return sim.expected(sc).kpi


def by_metric(tiles: list[views.Tile]) -> dict[str, views.Tile]:
    return {t.metric: t for t in tiles}


# --- the verdict ---------------------------------------------------------------------------------------


def test_verdict_gives_the_price_of_a_lead_the_money_and_when_it_comes_back():
    result = sim.expected(BOTH)
    k = result.kpi
    month = int(k["break_even_month"])
    years = math.floor(month / 12 + 0.5)
    need = texts.money(k["max_cash_need"], "RUB", "en", short=True)
    assert views.verdict(result, "en") == (
        f"At 2{texts.THIN}250{NBSP}₽ a lead (Calls) you need {need}; the money comes back in month {month} "
        f"(about {years}{NBSP}years)."
    )
    need_ru = texts.money(k["max_cash_need"], "RUB", "ru", short=True)
    ru = views.verdict(result, "ru")
    assert ru == (
        f"При цене лида 2{texts.THIN}250{NBSP}₽ (Звонки) нужно вложить {need_ru}; деньги вернутся на "
        f"{month}-\u2060м месяце (примерно через {texts.count(years, 'ru', 'year')})."
    )
    assert not LATIN.search(ru)  # no English word in the Russian sentence


def test_verdict_when_the_money_never_comes_back():
    result = sim.expected(DEALER)
    down = texts.money(-result.kpi["final_cumulative_cash"], "RUB", "en", short=True)
    assert views.verdict(result, "en") == (
        f"At 2{texts.THIN}250{NBSP}₽ a lead (Calls) the money does not come back within 10{NBSP}years: "
        f"after 120{NBSP}months the business is {down} down."
    )
    ru = views.verdict(result, "ru")
    assert "деньги не вернутся за 10\u00a0лет: через 120\u00a0месяцев бизнес в минусе на" in ru
    short = sim.expected(DEALER.override({"horizon_months": 30}))
    assert f"within 30{NBSP}months" in views.verdict(short, "en")


def test_verdict_with_no_paid_leads():
    result = sim.expected(PRESETS.scenarios["medical_service"])
    final = texts.money(result.kpi["final_cumulative_cash"], "RUB", "en", short=True)
    assert views.verdict(result, "en") == (
        "With no paid leads you need no money up front; the business is in the black from the first month "
        f"and makes {final} in 3{NBSP}years."
    )
    assert views.verdict(result, "ru").startswith("Без платных лидов вкладывать ничего не нужно; ")
    silent = sim.expected(DEALER.override({"channels.0.leads_per_month": 0.0}))
    assert views.verdict(silent, "en").startswith("With no paid leads")


def test_verdict_averages_the_price_of_several_channels():
    two = SERVICE.override(
        {
            "channels": [
                *SERVICE.model_dump(mode="json")["channels"],
                {"name": "Forms", "leads_per_month": 1000.0, "cost_per_lead": 750.0},
            ]
        }
    )
    text = views.verdict(sim.expected(two), "en")
    assert text.startswith(f"At 1{texts.THIN}500{NBSP}₽ a lead on average ")


def test_verdict_of_every_preset_in_both_languages_is_one_sentence():
    for stem, sc in PRESETS.scenarios.items():
        result = sim.expected(sc)
        for lang in texts.LANGS:
            text = views.verdict(result, lang)
            assert text.endswith(".") and text.count(". ") == 0, (stem, text)
            assert "nan" not in text and "inf" not in text and "∞" not in text, (stem, text)
        assert not LATIN.search(views.verdict(result, "ru").replace("M", "")), stem


# --- tiles -----------------------------------------------------------------------------------------------


def test_tiles_use_plural_forms():
    """Today's defect: `1 months` (the salon's customer pays back in one month)."""
    salon = kpi_of(PRESETS.scenarios["beauty_salon"])
    assert salon["payback_months"] == 1
    assert by_metric(views.tiles(salon, salon, "RUB", "en", 36))["payback_months"].value == f"1{NBSP}month"
    assert by_metric(views.tiles(salon, salon, "RUB", "ru", 36))["payback_months"].value == f"1{NBSP}месяц"
    both = kpi_of(BOTH)
    ru = by_metric(views.tiles(both, kpi_of(DEALER), "RUB", "ru", 120))
    assert ru["payback_months"].value == texts.count(both["payback_months"], "ru", "month")
    assert ru["payback_months"].delta == texts.t("ru", "was", value=texts.t("ru", "never"))


def test_payback_past_the_horizon_and_at_once():
    """Today's defect: payback `150 months` on a 120-month horizon, and `0 months`."""
    base = kpi_of(SERVICE)
    late = dict(base, payback_months=150.0)
    tile = by_metric(views.tiles(late, base, "RUB", "en", horizon=120))["payback_months"]
    assert tile.value == f"over 10{NBSP}years" and "150" not in tile.value + tile.delta
    assert tile.delta == texts.t("en", "was", value=f"{int(base['payback_months'])}{NBSP}months")
    assert tile.color == views.DeltaColor.WORSE
    later = dict(base, payback_months=170.0)  # both past the horizon: they read the same
    same = by_metric(views.tiles(later, late, "RUB", "ru", horizon=120))["payback_months"]
    assert (same.value, same.delta) == (f"более 10{NBSP}лет", texts.t("ru", "same"))
    at_once = dict(base, payback_months=0.0)
    assert (
        by_metric(views.tiles(at_once, base, "RUB", "ru", 120))["payback_months"].value == "с первой продажи"
    )


def test_no_sales_and_no_churn_explain_themselves():
    """Today's defect: LTV `∞ ₽` beside CAC `—` with no word on why (the medical base: no new customers,
    no churn)."""
    medical = kpi_of(PRESETS.scenarios["medical_service"])
    for lang in texts.LANGS:
        shown = by_metric(views.tiles(medical, medical, "RUB", lang, 36))
        assert shown["ltv"].value == texts.t(lang, "tx_unbounded")
        assert shown["ltv"].delta == shown["ltv"].note == texts.t(lang, "tx_no_churn")
        for m in ("cac", "ltv_to_cac", "payback_months", "leads_per_sale"):
            assert shown[m].value == "—" and shown[m].delta == texts.t(lang, "tx_no_sales"), m
        assert shown["lost_lead_share"].delta == texts.t(lang, "tx_no_leads")
        assert all("∞" not in t.value for t in shown.values())
    selling = kpi_of(
        PRESETS.scenarios["medical_service"].override(
            {"channels": [{"name": "Ads", "leads_per_month": 100.0, "cost_per_lead": 500.0}]}
        )
    )
    moved = by_metric(views.tiles(selling, medical, "RUB", "en", 36))["cac"]
    assert moved.value == texts.money(selling["cac"], "RUB", "en", short=True)
    assert moved.delta == texts.t("en", "was", value="—") and moved.color == views.DeltaColor.SAME


def test_plain_dealer_tiles_stay_as_loaded():
    """The plain dealer never breaks even and its customer never pays back: no note, just `never`."""
    k = kpi_of(DEALER)
    shown = by_metric(views.tiles(k, k, "RUB", "en", 120))
    assert shown["payback_months"].value == shown["break_even_month"].value == "never"
    assert all(t.delta == texts.t("en", "same") and not t.note for t in shown.values())


def test_band_caption_says_why_its_median_differs_from_the_tile():
    """Today's defect: the tile's break-even 87 against the band's median 84 with no word on why."""
    frame = pd.DataFrame({"month": [1], "mean": [0.0], "p10": [0.0], "p50": [0.0], "p90": [0.0]})
    band = Band(
        frame=frame,
        replications=4,
        seed=1,
        seconds=1.25,
        p_break_even=0.75,
        break_even_p50=84.0,
        break_even_months=(84.0, 80.0, 90.0, math.nan),
    )
    why = texts.t("en", "tx_band_why")
    assert views.band_caption(band, "en", expected_break_even=87.0).endswith(why)
    assert views.band_caption(band, "en").endswith(why)
    agreed = views.band_caption(band, "en", expected_break_even=84.0)
    assert why not in agreed and agreed.startswith(f"Band: 4{NBSP}runs, seed 1, 1.2")
    ru = views.band_caption(band, "ru", expected_break_even=87.0)
    assert (
        ru.startswith(f"Полоса: 4{NBSP}прогона,")
        and "84-й месяц" in ru
        and texts.t("ru", "tx_band_why") in ru
    )


def test_scenario_line_names_the_scenario_in_the_pages_language():
    assert "**Автосалон с сервисом и рекомендациями**" in views.scenario_line(SERVICE, "ru")
    assert f"**{SERVICE.name}**" in views.scenario_line(SERVICE, "en")


# --- downloads ------------------------------------------------------------------------------------------


def read_csv(data: bytes, lang: str) -> pd.DataFrame:
    sep, decimal = (";", ",") if lang == "ru" else (",", ".")
    return pd.read_csv(io.BytesIO(data), sep=sep, decimal=decimal, encoding="utf-8-sig")


def test_russian_csv_opens_in_columns_with_decimal_commas():
    """Today's defect: the Russian CSV was byte-identical to the English one (snake_case, 16 digits, `,`)."""
    result = sim.expected(SERVICE)
    ru, en = views.monthly_csv(result, result, "ru"), views.monthly_csv(result, result, "en")
    assert ru != en
    assert ru.startswith(b"\xef\xbb\xbf") and en.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a BOM
    text = ru.decode("utf-8-sig")
    header, first = text.splitlines()[:2]
    assert header.split(";")[:2] == ["Месяц", "Платные лиды"] and "," not in first.split(";")[12]
    assert header == ";".join(texts.column_label(c, "ru", "RUB") for c in views.monthly_table(result, result))
    assert re.search(r";\d+,\d;", first)  # a count with a decimal comma
    table = read_csv(ru, "ru")
    monthly = views.monthly_table(result, result)
    assert len(table) == len(monthly) and len(table.columns) == len(monthly.columns)
    spend = texts.column_label("lead_spend", "ru", "RUB")
    assert table[spend].tolist() == monthly["lead_spend"].round().astype(int).tolist()  # whole roubles
    cash = texts.column_label("cumulative_cash", "ru", "RUB")
    assert table[cash].iloc[-1] == round(monthly["cumulative_cash"].iloc[-1])
    english = read_csv(en, "en")
    assert english.columns[0] == "Month" and english["Lead spend, ₽"].tolist() == table[spend].tolist()


def test_kpi_csv_says_never_in_words_and_shares_in_percent():
    result, plain = sim.expected(SERVICE), sim.expected(DEALER)
    for lang in texts.LANGS:
        table = read_csv(views.csv_bytes(views.kpi_table(result, plain), lang, "RUB"), lang)
        rows = dict(zip(table.iloc[:, 0], table.iloc[:, 2], strict=True))  # the plain dealer's column
        assert rows[texts.column_label("break_even_month", lang, "RUB")] == texts.t(lang, "tx_never")
        assert rows[texts.column_label("payback_months", lang, "RUB")] == texts.t(lang, "tx_never")
        lost = float(str(rows[texts.column_label("desk_utilization", lang, "RUB")]).replace(",", "."))
        assert lost == round(100 * plain.kpi["desk_utilization"], 1)
    assert texts.t("ru", "tx_never") == "никогда"


def test_chart_csv_in_russian():
    result = sim.expected(SERVICE)
    frame = frames.cash_frame(result, sim.expected(DEALER.override({"horizon_months": 60})))
    table = read_csv(views.chart_csv(frame, "ru", "RUB"), "ru")
    assert list(table.columns) == [texts.column_label(c, "ru", "RUB") for c in frame.columns]
    preset = texts.column_label("preset", "ru", "RUB")
    assert table[preset].iloc[-1] == "—"  # past the shorter horizon: no figure


def test_workbook_has_number_formats_widths_and_frozen_headers():
    """Today's defect: the XLSX had no number formats or column widths."""
    result, plain = sim.expected(SERVICE), sim.expected(DEALER)
    book = openpyxl.load_workbook(
        io.BytesIO(views.workbook(result, plain, frames.cash_frame(result, plain), "ru"))
    )
    assert book.sheetnames == [texts.t("ru", f"tx_sheet_{k}") for k in ("monthly", "kpis", "cash")]
    monthly = book[texts.t("ru", "tx_sheet_monthly")]
    headers = [c.value for c in monthly[1]]
    assert headers == [texts.column_label(c, "ru", "RUB") for c in views.monthly_table(result, plain)]
    assert all(c.font.bold for c in monthly[1]) and monthly.freeze_panes == "B2"
    column = headers.index(texts.column_label("lead_spend", "ru", "RUB")) + 1
    spend = monthly.cell(row=2, column=column)
    assert spend.number_format == "#,##0" and spend.value == pytest.approx(result.arrays["lead_spend"][0])
    assert monthly.column_dimensions[get_column_letter(column)].width >= 12  # `2 250 000` fits
    kpis = book[texts.t("ru", "tx_sheet_kpis")]
    rows = {r[0].value: r for r in kpis.iter_rows(min_row=2)}
    assert rows[texts.column_label("break_even_month", "ru", "RUB")][2].value == "никогда"
    assert rows[texts.column_label("lost_lead_share", "ru", "RUB")][1].number_format == "0.0%"
    assert rows[texts.column_label("max_cash_need", "ru", "RUB")][1].number_format == "#,##0"
    assert kpis.column_dimensions["A"].width > 25  # the figures' names fit
    raw = openpyxl.load_workbook(io.BytesIO(views.workbook(result, plain, frames.cash_frame(result, plain))))
    assert raw.sheetnames == ["monthly", "kpis", "cumulative_cash"]  # no language: the tables as they are


# --- the lever widgets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", sorted(PRESETS.scenarios))
def test_russian_lever_labels_have_no_english_words(stem):
    """Today's defect: `Конверсия: Call -> appointment` on the Russian page."""
    sc = S.apply_switches(PRESETS.scenarios[stem], dict.fromkeys(S.SWITCHES, True), PRESETS.donors())
    specs = S.fields(sc)
    for spec in specs:
        value = spec.to_widget(paths.get(sc, spec.path))
        label = S.widget(spec, value, "ru", sc.currency, value=value).label
        assert not LATIN.search(label.replace("₽", "")), label
        assert "->" not in S.widget(spec, value, "en", sc.currency).label
    assert all(not LATIN.search(name) for name in S.lever_names(specs, "ru").values())


def test_number_boxes_show_no_needless_decimals_and_the_readable_value():
    """Today's defect: `30000000` and `2.0` in the boxes. Streamlit's boxes print plain numbers only (no
    thousands separator, no decimal comma), so the box drops needless decimals and the label repeats the
    value the page's way."""
    sc = PRESETS.scenarios["medical_service_programme"]
    specs = {s.path: s for s in S.fields(sc)}
    fixed = specs["service_programme.fixed_cost_per_year"]
    box = S.widget(fixed, 30_000_000.0, "ru", "RUB", value=30_000_000.0)
    assert box.format % 30_000_000.0 == "30000000" and box.label.endswith(f": 30{NBSP}млн")
    assert S.widget(fixed, 30_000_000.0, "en", "RUB", value=25_500_000.0).label.endswith(f": 25.5{NBSP}M")
    dealer = {s.path: s for s in S.fields(SERVICE)}
    delay = dealer["funnel.0.delay_days"]  # 2 days, in steps of half a day
    box = S.widget(delay, 2.0, "ru", "RUB", value=2.0)
    assert box.format % 2.0 == "2" and box.format % 2.5 == "2.5" and box.label.endswith(", дн.")
    assert S.widget(delay, 2.0, "ru", "RUB", value=2.5).label.endswith(": 2,5")
    conversion = dealer["funnel.2.conversion"]  # a slider in %: 10, not 10.0
    assert S.widget(conversion, 10.0, "en", "RUB").format % 10.0 == "10"
    churn = dealer["retention.monthly_churn"]  # the scenario's own 1.5 shows the step's decimal
    assert S.widget(churn, 1.5, "ru", "RUB", value=1.5).label.endswith(", %: 1,5")
    assert S.widget(churn, 1.5, "en", "RUB", value=1.5).label.endswith(", %")  # reads the same: no repeat
    cpl = dealer["channels.0.cost_per_lead"]
    assert S.widget(cpl, 2250.0, "ru", "RUB", value=2250.0).label == "Цена лида: Звонки, ₽"
    assert S.widget(cpl, 2250.0, "ru", "RUB", value=25_000.0).label.endswith(f": 25{texts.THIN}000")
