"""What the app shows, computed without Streamlit: KPI tiles, chart data, answers to the owner's questions.

Every function takes scenarios and results and returns plain data (dataclasses, DataFrames, text), so it is
tested and fuzzed without a browser; `app.py` only lays it out.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.accounting.ledger import CASH_COMPONENTS, NEVER_KPIS
from sim.accounting.lifetimes import lifetime_tables
from sim.analytic.expected_value import ExpectedResult, expected_arrays
from sim.decisions.goal_seek import goal_seek
from sim.decisions.metrics import METRICS, GoalSeekError
from sim.decisions.programme import programme_value
from sim.model.levers import find_lever
from sim.model.scenario import Scenario
from sim.report import texts

TILE_METRICS: tuple[str, ...] = (
    "break_even_month",
    "max_cash_need",
    "cac",
    "ltv",
    "ltv_to_cac",
    "payback_months",
    "leads_per_sale",
    "lost_lead_share",
)
"""The KPI tiles, in page order."""

_LOWER_BETTER = {m for m, d in METRICS.items() if d == "lower"} | {"leads_per_sale"}


@dataclass(frozen=True)
class Tile:
    """One KPI tile: label, value and its change against the preset as loaded."""

    metric: str
    label: str
    value: str
    delta: str
    color: str
    """`green` (better), `red` (worse) or `gray` (same or not comparable)."""
    arrow: str
    """`up`, `down` or `off`."""
    help: str


def _ranked(metric: str, x: float) -> float:
    return math.inf if (metric in NEVER_KPIS and math.isnan(x)) else x


def tiles(kpi: dict[str, float], base: dict[str, float], currency: str, lang: str) -> list[Tile]:
    """The KPI tiles of the what-if (`kpi`) against the preset as loaded (`base`)."""
    out = []
    for m in TILE_METRICS:
        new, old = float(kpi[m]), float(base[m])
        rn, ro = _ranked(m, new), _ranked(m, old)
        lower = m in _LOWER_BETTER
        if (
            (math.isnan(rn) and math.isnan(ro))
            or rn == ro
            or (math.isfinite(rn) and math.isfinite(ro) and abs(rn - ro) <= 1e-9 * max(1.0, abs(ro)))
        ):
            delta, color, arrow = texts.t(lang, "same"), "gray", "off"
        elif math.isnan(rn) or math.isnan(ro):
            delta, color, arrow = (
                texts.t(lang, "was", value=texts.format_kpi(m, old, currency, lang)),
                "gray",
                "off",
            )
        else:
            if math.isfinite(rn) and math.isfinite(ro):
                delta = texts.format_kpi(m, new - old, currency, lang, signed=True)
            else:
                delta = texts.t(lang, "was", value=texts.format_kpi(m, old, currency, lang))
            better = (rn < ro) if lower else (rn > ro)
            color, arrow = ("green" if better else "red"), ("up" if rn > ro else "down")
        out.append(
            Tile(
                metric=m,
                label=texts.t(lang, f"t_{m}"),
                value=texts.format_kpi(m, new, currency, lang),
                delta=delta,
                color=color,
                arrow=arrow,
                help=texts.t(lang, f"h_{m}"),
            )
        )
    return out


# --- chart data ------------------------------------------------------------------------------------


def cash_frame(
    whatif: ExpectedResult, preset: ExpectedResult, band: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Cumulative cash by month: the what-if's expected curve, the preset's, and the band if given
    (columns month, whatif, preset[, mean, p10, p50, p90])."""
    H = whatif.scenario.horizon_months
    months = np.arange(1, H + 1)
    frame = pd.DataFrame({"month": months, "whatif": whatif.arrays["cumulative_cash"]})
    pre = preset.arrays["cumulative_cash"]
    frame["preset"] = np.resize(np.concatenate([pre, np.full(max(0, H - pre.size), np.nan)]), H)
    if band is not None and len(band) == H:
        for col in ("mean", "p10", "p50", "p90"):
            if col in band:
                frame[col] = band[col].to_numpy()
    return frame


def components_frame(result: ExpectedResult) -> pd.DataFrame:
    """Monthly cash flow by component, long format: month, component, value (costs negative)."""
    a = result.arrays
    months = np.arange(1, result.scenario.horizon_months + 1)
    parts = [
        pd.DataFrame({"month": months, "component": name, "value": sign * a[name]})
        for name, sign in CASH_COMPONENTS.items()
    ]
    return pd.concat(parts, ignore_index=True)


def cohort_frame(result: ExpectedResult) -> pd.DataFrame:
    """Each monthly cohort's cumulative margin against its acquisition cost, by age month.

    Cohort m is the customers won in month m; its acquisition cost is that month's lead spend, referral
    bonuses and salaries; its margin at age k is its customers × a new customer's expected cumulative
    margin (first sale included). Columns cohort, age, margin, cost, ratio (margin / cost); cohorts with
    no customers or no cost are left out.
    """
    sc = result.scenario
    a = result.arrays
    H = sc.horizon_months
    per_customer = np.cumsum(lifetime_tables(sc).expected_by_age("margin"))[:H]
    new = a["sales"]
    cost = a["lead_spend"] + a["referral_bonus"] + a["staff_cost"]
    rows = []
    for m in range(H):
        if new[m] <= 1e-9 or cost[m] <= 0:
            continue
        ages = np.arange(0, H - m)
        margin = new[m] * per_customer[ages]
        rows.append(
            pd.DataFrame(
                {"cohort": m + 1, "age": ages, "margin": margin, "cost": cost[m], "ratio": margin / cost[m]}
            )
        )
    if not rows:
        return pd.DataFrame(columns=["cohort", "age", "margin", "cost", "ratio"])
    return pd.concat(rows, ignore_index=True)


DESK_COLUMNS = ("staff", "lost_lead_share", "mean_wait_hours")


def desk_curve(scenario: Scenario) -> pd.DataFrame:
    """Lost-lead share and mean wait (hours) against salespeople, from the expected-value model: a row
    for every whole number of salespeople from 1 to about twice the current staff (at least four more,
    at most the lever's bound); columns staff, lost_lead_share, mean_wait_hours."""
    desk = scenario.sales_desk
    if desk is None:
        return pd.DataFrame(columns=list(DESK_COLUMNS))
    high = int(find_lever(scenario, "sales_desk.staff").high)
    top = min(high, max(2 * desk.staff, desk.staff + 4))
    tables = lifetime_tables(scenario)  # the desk does not change a customer's life
    rows = []
    for n in range(1, top + 1):
        _, k, _ = expected_arrays(scenario.override({"sales_desk.staff": n}), tables)
        rows.append((n, k["lost_lead_share"], k["mean_wait_hours"]))
    return pd.DataFrame(rows, columns=list(DESK_COLUMNS))


# --- answers ---------------------------------------------------------------------------------------

Answer = tuple[str, Any, Any]
"""(status, value, extra): see `answer_numbers`."""


def _meets(metric: str, value: float, target: float) -> bool:
    if math.isnan(value):
        return False
    return value <= target if METRICS[metric] == "lower" else value >= target


@functools.lru_cache(maxsize=32)
def _base_kpis(sc: Scenario) -> dict[str, float]:
    """The scenario's expected KPIs (shared by the answers)."""
    return expected_arrays(sc)[1]


def _seek(
    sc: Scenario, lever: str, metric: str, target: float, low: float, high: float, step: float | None = None
) -> tuple[str, float | None]:
    """('value', x), ('all', None) if the target holds across [low, high], or ('none', None)."""
    try:
        return "value", goal_seek(sc, lever, metric, target, low=low, high=high, step=step).value
    except GoalSeekError:
        return ("all" if _meets(metric, _base_kpis(sc)[metric], target) else "none"), None


def _nice_step(x: float, fallback: float) -> float:
    return 10.0 ** (math.floor(math.log10(x)) - 2) if x > 0 else fallback


def _guarded(fn: Callable[[], Answer]) -> Answer:
    try:
        return fn()
    except (ValueError, ArithmeticError) as exc:  # ScenarioError and model failures
        return ("error", str(exc), None)


@functools.lru_cache(maxsize=32)
def _by_month_answers(sc: Scenario, by_month: int) -> dict[str, Answer]:
    """The highest CPL, the highest churn and the lowest referral rate that break even by `by_month`."""

    def cpl() -> Answer:
        if not sc.channels:
            return ("off", None, None)
        now = sc.channels[0].cost_per_lead
        high = 10.0 * now if now > 0 else sc.first_purchase.margin
        status, value = _seek(
            sc, "channels.0.cost_per_lead", "break_even_month", by_month, 0.0, high, _nice_step(now, 1.0)
        )
        return (status, value if status != "all" else high, None)

    def churn() -> Answer:
        lever = find_lever(sc, "retention.monthly_churn")
        status, value = _seek(
            sc, "retention.monthly_churn", "break_even_month", by_month, lever.low, lever.high, 0.001
        )
        return (status, value if status != "all" else lever.high, None)

    def referrals() -> Answer:
        if sc.referrals is None:
            return ("off", None, None)
        lever = find_lever(sc, "referrals.per_customer_per_year")
        now = sc.referrals.per_customer_per_year
        high = min(lever.high, max(10.0 * now, 1.0))
        status, value = _seek(
            sc,
            "referrals.per_customer_per_year",
            "break_even_month",
            by_month,
            0.0,
            high,
            _nice_step(now, 0.01),
        )
        return (status, value if status != "none" else high, None)

    return {"cpl": _guarded(cpl), "churn": _guarded(churn), "referrals": _guarded(referrals)}


@functools.lru_cache(maxsize=32)
def _staff_answer(sc: Scenario, max_lost: float) -> Answer:
    """The fewest salespeople who lose at most `max_lost` of the leads, searched over the lever's whole
    range (1 … its bound); extra = the lost share now."""

    def staff() -> Answer:
        desk = sc.sales_desk
        if desk is None:
            return ("off", None, None)
        lever = find_lever(sc, "sales_desk.staff")
        low = max(1, math.ceil(lever.low))
        lost_now = _base_kpis(sc)["lost_lead_share"]
        status, value = _seek(sc, "sales_desk.staff", "lost_lead_share", max_lost, low, lever.high)
        if status == "all":  # even one salesperson is enough
            return ("all" if desk.staff == low else "one", low, lost_now)
        if status == "none":
            return ("none", int(lever.high), lost_now)
        return ("value", value, lost_now)

    return _guarded(staff)


@functools.lru_cache(maxsize=32)
def _programme_answer(sc: Scenario) -> Answer:
    """Is the service programme worth its cost (a `ProgrammeValue`)?"""
    if sc.service_programme is None:
        return ("off", None, None)
    return _guarded(lambda: ("value", programme_value(sc), None))


def answer_numbers(sc: Scenario, by_month: int, max_lost: float) -> dict[str, Any]:
    """The goal-seek answers and the programme's value (language-free; `answer_texts` words them).

    Each entry is (status, value, extra): status `value`, `all` (holds across the range), `none`
    (unreachable), `off` (the part is switched off) or `error` (value = the message). Each answer is
    kept for the last scenarios asked, so changing `by_month` does not redo the staff answer, nor
    `max_lost` the break-even ones.
    """
    out: dict[str, Any] = dict(_by_month_answers(sc, by_month))
    out["staff"] = _staff_answer(sc, max_lost)
    out["programme"] = _programme_answer(sc)
    return {k: out[k] for k in ("cpl", "staff", "churn", "referrals", "programme")}


def answer_texts(
    numbers: dict[str, Any], sc: Scenario, lang: str, by_month: int, max_lost: float
) -> list[tuple[str, str]]:
    """Each question and its one-sentence answer, in `lang`."""
    cur = sc.currency
    n = texts.number(by_month, lang)
    share = texts.percent(max_lost, lang, 1)
    out = []

    def say(key: str, **values: Any) -> str:
        return texts.t(lang, key, **values)

    status, value, extra = numbers["cpl"]
    if status == "off":
        a = say("a_no_channels")
    elif status == "error":
        a = say("a_failed", error=value)
    else:
        ch = sc.channels[0]
        money = texts.money(value, cur, lang) if value is not None else ""
        now = texts.money(ch.cost_per_lead, cur, lang)
        a = say(
            {"value": "a_cpl", "all": "a_cpl_all", "none": "a_cpl_none"}[status],
            value=money,
            channel=ch.name,
            n=n,
            now=now,
        )
    out.append((say("q_cpl"), a))

    status, value, extra = numbers["staff"]
    if status == "off":
        a = say("a_staff_off")
    elif status == "error":
        a = say("a_failed", error=value)
    else:
        desk = sc.sales_desk
        key = {"value": "a_staff", "all": "a_staff_one", "one": "a_staff_one", "none": "a_staff_none"}[status]
        a = say(
            key,
            value=texts.number(value, lang) if value is not None else "",
            share=share,
            now=texts.number(desk.staff if desk else 0, lang),
            lost=texts.percent(extra, lang, 1),
        )
    out.append((say("q_staff"), a))

    status, value, extra = numbers["churn"]
    if status == "error":
        a = say("a_failed", error=value)
    else:
        key = {"value": "a_churn", "all": "a_churn_all", "none": "a_churn_none"}[status]
        a = say(
            key,
            value=texts.percent(value, lang, 1) if value is not None else "",
            n=n,
            now=texts.percent(sc.retention.monthly_churn, lang, 1),
        )
    out.append((say("q_churn"), a))

    status, value, extra = numbers["referrals"]
    if status == "off":
        a = say("a_referrals_off")
    elif status == "error":
        a = say("a_failed", error=value)
    else:
        now = sc.referrals.per_customer_per_year if sc.referrals else 0.0
        key = {"value": "a_referrals", "all": "a_referrals_all", "none": "a_referrals_none"}[status]
        a = say(
            key,
            value=texts.number(value, lang, 2) if value is not None else "",
            n=n,
            now=texts.number(now, lang, 2),
        )
    out.append((say("q_referrals"), a))

    out.append((say("q_programme"), programme_text(numbers, sc, lang)))
    return out


def programme_text(numbers: dict[str, Any], sc: Scenario, lang: str) -> str:
    """The programme's verdict in one sentence (`numbers["programme"]` as `answer_numbers` gives it)."""
    cur = sc.currency

    def say(key: str, **values: Any) -> str:
        return texts.t(lang, key, **values)

    status, value, _ = numbers["programme"]
    if status == "off":
        return say("programme_off")
    if status == "error":
        return say("a_failed", error=value)
    pv = value
    return say(
        "a_programme",
        extra=texts.money(pv.extra_margin_per_year, cur, lang, short=True),
        cost=texts.money(pv.cost_per_year, cur, lang, short=True),
        verb=say("earns" if pv.net_per_year >= 0 else "loses"),
        net=texts.money(abs(pv.net_per_year), cur, lang, short=True),
        k=texts.number(pv.optimal_contacts_per_month, lang, 2),
        opt=texts.money(pv.optimal_net_per_year, cur, lang, short=True),
    )


# --- downloads -------------------------------------------------------------------------------------


def monthly_table(whatif: ExpectedResult, preset: ExpectedResult) -> pd.DataFrame:
    """The what-if's expected monthly ledger, with the preset's cumulative cash for comparison."""
    out = whatif.monthly.drop(columns=["replication"]).copy()
    pre = preset.arrays["cumulative_cash"]
    H = len(out)
    out["preset_cumulative_cash"] = np.concatenate([pre, np.full(max(0, H - pre.size), np.nan)])[:H]
    return out


def kpi_table(whatif: ExpectedResult, preset: ExpectedResult) -> pd.DataFrame:
    """Every KPI of the what-if and of the preset as loaded."""
    return pd.DataFrame(
        {
            "kpi": list(whatif.kpi),
            "whatif": list(whatif.kpi.values()),
            "preset": [preset.kpi[k] for k in whatif.kpi],
        }
    )


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An Excel workbook with one sheet per table."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.replace([np.inf, -np.inf], np.nan).to_excel(writer, sheet_name=name[:31], index=False)
    return buf.getvalue()
