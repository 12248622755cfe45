"""The answers to the owner's questions, computed without Streamlit: the affordable CPL, the churn and the
referral rate that break even by month N, the staff needed, and whether the service programme pays.

`answer_numbers` gives the goal seeks' results (typed, language-free, cached per scenario);
`answer_texts` and `programme_text` word them in the page's language from `sim.report.texts`.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sim.analytic.expected_value import expected_arrays
from sim.decisions.best import best
from sim.decisions.goal_seek import goal_seek
from sim.decisions.metrics import GoalSeekError, meets
from sim.decisions.programme import ProgrammeValue, programme_value
from sim.model.calendar import MONTH_DAYS
from sim.model.levers import find_lever
from sim.model.scenario import Scenario
from sim.report import texts


class AnswerStatus(enum.StrEnum):
    """How a question was answered."""

    VALUE = "value"
    """The lever value at which the target is just met."""
    ALL = "all"
    """The target holds across the whole search range."""
    ONE = "one"
    """Staff: one salesperson is enough, and the desk has more now."""
    NONE = "none"
    """The target is out of reach within the search range."""
    OFF = "off"
    """The part the question is about is switched off."""
    ERROR = "error"
    """The model could not answer (the message is in `error`)."""


@dataclass(frozen=True)
class Answer:
    """One goal-seek answer."""

    status: AnswerStatus
    value: float | None = None
    """The lever's value in model units (CPL in the scenario's currency, churn as a share a month,
    referrals per customer a year, salespeople): the answer for VALUE, the end of the range for ALL
    (CPL, churn, staff) and NONE (referrals, staff), else None."""
    lost_now: float | None = None
    """Staff only: the share of leads lost with the current staff."""
    error: str = ""
    """ERROR: the model's message."""


@dataclass(frozen=True)
class ProgrammeAnswer:
    """Whether the service programme pays: VALUE (with its value), OFF or ERROR."""

    status: AnswerStatus
    value: ProgrammeValue | None = None
    error: str = ""


@dataclass(frozen=True)
class Answers:
    """The answers to the owner's questions for one scenario and one pair of targets."""

    cpl: Answer
    """The highest cost per lead of the first channel that breaks even by the month asked."""
    staff: Answer
    """The fewest salespeople who lose at most the share of leads asked."""
    churn: Answer
    """The highest monthly churn that breaks even by the month asked."""
    referrals: Answer
    """The lowest referral rate that breaks even by the month asked."""
    programme: ProgrammeAnswer
    staff_cash: StaffCash | None = None
    """The salespeople who bring the most cash by the horizon (None: not asked)."""


@dataclass(frozen=True)
class StaffCash:
    """How many salespeople bring the most cash by the end of the horizon (`sim.best` over the staff, on
    the expected-value model), against the staff now."""

    status: AnswerStatus
    """VALUE, OFF (no sales desk) or ERROR."""
    best: int = 0
    """The staff with the most cash by the end, in people."""
    now: int = 0
    """The staff now, in people."""
    gain: float = 0.0
    """The cash by the end with `best` minus with `now`, in the scenario's currency (≥ 0)."""
    scale: float = 0.0
    """The size of the business's cash (the larger of the final cash and the funding need), in the
    scenario's currency: a gain below SMALL_GAIN of it hardly matters."""
    at_edge: bool = False
    """`best` is the top of the range searched: more may be better still."""
    high: int = 0
    """The top of the range searched, in people."""
    error: str = ""

    @property
    def small(self) -> bool:
        """The best staff adds next to nothing to the cash (the answer is that staff hardly matter)."""
        return self.gain <= SMALL_GAIN * max(self.scale, 1.0)


@dataclass(frozen=True)
class QuestionAnswer:
    """A question and its one-sentence answer, in the page's language (Markdown)."""

    question: str
    answer: str

    @property
    def markdown(self) -> str:
        """The question in bold, the answer on the next line."""
        return f"**{self.question}**  \n{self.answer}"


@functools.lru_cache(maxsize=32)
def _base_kpis(sc: Scenario) -> dict[str, float]:
    """The scenario's expected KPIs (shared by the answers)."""
    return expected_arrays(sc)[1]


def _seek(
    sc: Scenario, lever: str, metric: str, target: float, low: float, high: float, step: float | None = None
) -> Answer:
    """VALUE with the lever's value, ALL if the target holds across [low, high], or NONE."""
    try:
        value = goal_seek(sc, lever, metric, target, low=low, high=high, step=step).value
        return Answer(AnswerStatus.VALUE, value)
    except GoalSeekError:
        holds = meets(metric, _base_kpis(sc)[metric], target)
        return Answer(AnswerStatus.ALL if holds else AnswerStatus.NONE)


def _within_plan(sc: Scenario, lever: str, low: float, high: float) -> tuple[float, float]:
    """[low, high] within the lever's bounds, which for a planned lever keep every planned month valid
    as it moves as a whole (`sim.model.levers.all_levers`, `sim.model.plan.base_bounds`)."""
    lv = find_lever(sc, lever)
    return max(low, lv.low), min(high, lv.high)


def _nice_step(x: float, fallback: float) -> float:
    return 10.0 ** (math.floor(math.log10(x)) - 2) if x > 0 else fallback


def _guarded(fn: Callable[[], Answer]) -> Answer:
    try:
        return fn()
    except (ValueError, ArithmeticError) as exc:  # ScenarioError and model failures
        return Answer(AnswerStatus.ERROR, error=str(exc))


@functools.lru_cache(maxsize=32)
def _by_month_answers(sc: Scenario, by_month: int) -> tuple[Answer, Answer, Answer]:
    """The highest CPL, the highest churn and the lowest referral rate that break even by `by_month`."""

    def cpl() -> Answer:
        if not sc.channels:
            return Answer(AnswerStatus.OFF)
        now = sc.channels[0].cost_per_lead
        low, high = _within_plan(
            sc, "channels.0.cost_per_lead", 0.0, 10.0 * now if now > 0 else sc.first_purchase.margin
        )
        got = _seek(
            sc, "channels.0.cost_per_lead", "break_even_month", by_month, low, high, _nice_step(now, 1.0)
        )
        return replace(got, value=high) if got.status == AnswerStatus.ALL else got

    def churn() -> Answer:
        lever = find_lever(sc, "retention.monthly_churn")
        low, high = _within_plan(sc, "retention.monthly_churn", lever.low, lever.high)
        got = _seek(sc, "retention.monthly_churn", "break_even_month", by_month, low, high, 0.001)
        return replace(got, value=high) if got.status == AnswerStatus.ALL else got

    def referrals() -> Answer:
        if sc.referrals is None:
            return Answer(AnswerStatus.OFF)
        lever = find_lever(sc, "referrals.per_customer_per_year")
        now = sc.referrals.per_customer_per_year
        low, high = _within_plan(
            sc, "referrals.per_customer_per_year", 0.0, min(lever.high, max(10.0 * now, 1.0))
        )
        got = _seek(
            sc,
            "referrals.per_customer_per_year",
            "break_even_month",
            by_month,
            low,
            high,
            _nice_step(now, 0.01),
        )
        return replace(got, value=high) if got.status == AnswerStatus.NONE else got

    return _guarded(cpl), _guarded(churn), _guarded(referrals)


@functools.lru_cache(maxsize=32)
def _staff_answer(sc: Scenario, max_lost: float) -> Answer:
    """The fewest salespeople who lose at most `max_lost` of the leads, searched over the lever's whole
    range (1 … its bound)."""

    def staff() -> Answer:
        desk = sc.sales_desk
        if desk is None:
            return Answer(AnswerStatus.OFF)
        lever = find_lever(sc, "sales_desk.staff")
        low, high = _within_plan(sc, "sales_desk.staff", max(1, math.ceil(lever.low)), lever.high)
        low, high = math.ceil(low), math.floor(high)
        lost_now = _base_kpis(sc)["lost_lead_share"]
        got = _seek(sc, "sales_desk.staff", "lost_lead_share", max_lost, low, high)
        if got.status == AnswerStatus.ALL:  # even one salesperson is enough
            status = AnswerStatus.ALL if desk.staff == low else AnswerStatus.ONE
            return Answer(status, low, lost_now)
        if got.status == AnswerStatus.NONE:
            return Answer(AnswerStatus.NONE, high, lost_now)
        return replace(got, lost_now=lost_now)

    return _guarded(staff)


@functools.lru_cache(maxsize=32)
def _programme_answer(sc: Scenario) -> ProgrammeAnswer:
    """Is the service programme worth its cost?"""
    if sc.service_programme is None:
        return ProgrammeAnswer(AnswerStatus.OFF)
    try:
        return ProgrammeAnswer(AnswerStatus.VALUE, programme_value(sc))
    except (ValueError, ArithmeticError) as exc:  # ScenarioError and model failures
        return ProgrammeAnswer(AnswerStatus.ERROR, error=str(exc))


PARAGRAPH = "\n\n"
"""Between the staff answer's two parts, the leads lost and the money (a new paragraph in Markdown)."""
SMALL_GAIN = 0.001
"""A staff's gain in cash below this share of the business's cash (0.1 %) is "hardly matters"."""


@functools.lru_cache(maxsize=32)
def staff_cash(sc: Scenario) -> StaffCash:
    """How many salespeople bring the most cash by the end of the horizon (`sim.best` over
    `sales_desk.staff` for `final_cumulative_cash`), against the staff now."""
    desk = sc.sales_desk
    if desk is None:
        return StaffCash(AnswerStatus.OFF)
    try:
        got = best(sc, "sales_desk.staff", "final_cumulative_cash")
        base = _base_kpis(sc)
    except (ValueError, ArithmeticError) as exc:  # ScenarioError, DecisionError and model failures
        return StaffCash(AnswerStatus.ERROR, error=str(exc))
    return StaffCash(
        AnswerStatus.VALUE,
        best=int(got.value),
        now=desk.staff,
        gain=max(0.0, float(got.metric_value) - float(got.base_metric)),
        scale=max(abs(float(base["final_cumulative_cash"])), float(base["max_cash_need"])),
        at_edge=got.value == got.high and got.value != desk.staff,
        high=int(got.high),
    )


def staff_cash_text(answer: StaffCash, sc: Scenario, lang: str) -> str:
    """The staff answer in money, in `lang`: the staff with the most cash by the end and the difference
    against the staff now (`For the money, the best is 5 salespeople: +1.2 M ₽ by month 60 against the 4
    you have now.`), that the staff now is best, or that staff hardly matter for the money; "" without a
    desk."""
    desk = sc.sales_desk
    if answer.status == AnswerStatus.OFF or desk is None:
        return ""
    if answer.status == AnswerStatus.ERROR:
        return texts.t(lang, "a_failed", error=answer.error)
    values = {
        "best": texts.count(answer.best, lang, "salesperson"),
        "now": texts.count(answer.now, lang, "salesperson"),
        "diff": texts.money(answer.gain, sc.currency, lang, short=True, signed=True),
        "h": texts.number(sc.horizon_months, lang),
    }
    if answer.best == answer.now:
        return texts.t(lang, "a_staff_money_now", **values)
    if answer.small:
        parts = [texts.t(lang, "a_staff_money_small", **values)]
        if desk.salary_per_month == 0:
            parts.append(texts.t(lang, "a_staff_money_free"))
        return " ".join(parts)
    parts = [texts.t(lang, "a_staff_money", **values)]
    if answer.at_edge:
        parts.append(texts.t(lang, "a_staff_money_edge", high=texts.number(answer.high, lang)))
    return " ".join(parts)


def answer_numbers(sc: Scenario, by_month: int, max_lost: float) -> Answers:
    """The goal-seek answers and the programme's value (language-free; `answer_texts` words them).

    `by_month`: break even by this month; `max_lost`: lose at most this share of the leads. Each answer is
    kept for the last scenarios asked, so changing `by_month` does not redo the staff answer, nor
    `max_lost` the break-even ones.
    """
    cpl, churn, referrals = _by_month_answers(sc, by_month)
    return Answers(cpl, _staff_answer(sc, max_lost), churn, referrals, _programme_answer(sc), staff_cash(sc))


def answer_texts(
    answers: Answers, sc: Scenario, lang: str, by_month: int, max_lost: float
) -> list[QuestionAnswer]:
    """Each question and its one-sentence answer, in `lang`, in page order."""
    cur = sc.currency
    n = texts.number(by_month, lang)

    def say(key: str, **values: Any) -> str:
        return texts.t(lang, key, **values)

    def worded(answer: Answer, off: str | None, keys: dict[AnswerStatus, str], **values: Any) -> str:
        if answer.status == AnswerStatus.OFF and off is not None:
            return say(off)
        if answer.status == AnswerStatus.ERROR:
            return say("a_failed", error=answer.error)
        return say(keys[answer.status], **values)

    def shown(answer: Answer, fmt: Callable[[float], str]) -> str:
        return fmt(answer.value) if answer.value is not None else ""

    A = AnswerStatus
    channel = sc.channels[0] if sc.channels else None
    cpl = worded(
        answers.cpl,
        "a_no_channels",
        {A.VALUE: "a_cpl", A.ALL: "a_cpl_all", A.NONE: "a_cpl_none"},
        value=shown(answers.cpl, lambda x: texts.money(x, cur, lang)),
        channel=texts.item_name(channel, lang) if channel else "",
        n=n,
        now=texts.money(channel.cost_per_lead, cur, lang) if channel else "",
    )
    money = staff_cash_text(answers.staff_cash, sc, lang) if answers.staff_cash else ""
    staff = PARAGRAPH.join(filter(None, [staff_text(answers.staff, sc, lang, max_lost), money]))
    churn = worded(
        answers.churn,
        None,  # churn cannot be switched off
        {A.VALUE: "a_churn", A.ALL: "a_churn_all", A.NONE: "a_churn_none"},
        value=shown(answers.churn, lambda x: texts.percent(x, lang, 1)),
        n=n,
        now=texts.percent(sc.retention.monthly_churn, lang, 1),
    )
    referrals = worded(
        answers.referrals,
        "a_referrals_off",
        {A.VALUE: "a_referrals", A.ALL: "a_referrals_all", A.NONE: "a_referrals_none"},
        value=shown(answers.referrals, lambda x: texts.number(x, lang, 2)),
        n=n,
        now=texts.number(sc.referrals.per_customer_per_year if sc.referrals else 0.0, lang, 2),
    )
    return [
        QuestionAnswer(say("q_cpl"), cpl),
        QuestionAnswer(say("q_staff"), staff),
        QuestionAnswer(say("q_churn"), churn),
        QuestionAnswer(say("q_referrals"), referrals),
        QuestionAnswer(say("q_programme"), programme_text(answers.programme, sc.currency, lang, scenario=sc)),
    ]


NOBODY_LOST = 0.0005
"""Staff: a lost share below this (shown as 0.0 %) counts as nobody lost."""
IDLE_BUSY = 0.9
"""Staff: one salesperson busy less than this share of the open hours has time to spare (the desk is never
the bottleneck); busier, the wait climbs even when nobody is lost."""


def desk_answer(sc: Scenario, max_lost: float, lang: str) -> str:
    """How many salespeople the desk needs to lose at most `max_lost` of the leads, then how many bring the
    most cash by the end (`staff_cash_text`), in `lang` (the desk tab's sentences; the answers tab words
    the same answer)."""
    money = staff_cash_text(staff_cash(sc), sc, lang)
    return PARAGRAPH.join(filter(None, [staff_text(_staff_answer(sc, max_lost), sc, lang, max_lost), money]))


def staff_text(answer: Answer, sc: Scenario, lang: str, max_lost: float) -> str:
    """The staff answer in `lang`: the fewest salespeople who lose at most `max_lost` of the leads, or, in
    plain words, that the desk is never the bottleneck at these settings (and why), or that the hours the
    desk is closed, not its staff, lose the leads."""
    desk = sc.sales_desk
    if answer.status == AnswerStatus.OFF or desk is None:
        return texts.t(lang, "a_staff_off")
    if answer.status == AnswerStatus.ERROR:
        return texts.t(lang, "a_failed", error=answer.error)
    values = {
        "value": texts.count(answer.value, lang, "salesperson") if answer.value is not None else "",
        "share": texts.percent(max_lost, lang, 1),
        "now": texts.number(desk.staff, lang),
        "lost": texts.percent(answer.lost_now, lang, 1),
    }
    try:
        if answer.status in (AnswerStatus.ALL, AnswerStatus.ONE):
            idle = _idle_desk(sc, lang)
            if idle is not None:
                return idle
            return texts.t(lang, "a_staff_one", **values)
        if answer.status == AnswerStatus.NONE:
            night = _night_loss(sc, lang, max_lost)
            if night is not None:
                return night
            return texts.t(lang, "a_staff_none", **values)
    except (ValueError, ArithmeticError) as exc:  # the model could not evaluate one salesperson
        return texts.t(lang, "a_failed", error=str(exc))
    return texts.t(lang, "a_staff", **values)


def _hours(x: float, lang: str) -> str:
    """Hours as the desk's sentences show them: whole hours without decimals, else one."""
    return texts.number(x, lang, 0 if float(x).is_integer() else 1)


def _idle_desk(sc: Scenario, lang: str) -> str | None:
    """Why the desk is never the bottleneck (one salesperson loses nobody and has time to spare), with the
    arithmetic of the hours and the wait that staff still shorten; None if it can be a bottleneck."""
    desk = sc.sales_desk
    assert desk is not None
    arrays, now = _desk_at(sc, desk.staff)
    one = _desk_at(sc, 1)[1]
    if one["lost_lead_share"] >= NOBODY_LOST or one["desk_utilization"] >= IDLE_BUSY:
        return None
    leads = float(arrays["leads_paid"].mean() + arrays["leads_referral"].mean())
    closed = 24.0 - desk.hours_per_day
    patience = desk.patience_hours
    if closed > 0:
        key = "pg_desk_why_night" if patience is not None else "pg_desk_why_night_any"
    else:
        key = "pg_desk_why_day" if patience is not None else "pg_desk_why_day_any"
    why = texts.t(lang, key, patience=_hours(patience or 0.0, lang), closed=_hours(closed, lang))
    parts = [
        texts.t(
            lang,
            "pg_desk_idle",
            calls=texts.number(leads, lang),
            minutes=_hours(desk.handling_minutes, lang),
            call_hours=texts.number(leads * desk.handling_minutes / 60.0, lang),
            hours=_hours(desk.hours_per_day, lang),
            open_hours=texts.number(desk.hours_per_day * MONTH_DAYS, lang),
        ),
        why,
    ]
    if desk.staff > 1:
        parts.append(
            texts.t(
                lang,
                "pg_desk_wait",
                one=texts.number(one["mean_wait_hours"], lang, 1),
                now=texts.number(now["mean_wait_hours"], lang, 1),
                staff=texts.number(desk.staff, lang),
            )
        )
    parts.append(texts.t(lang, "pg_desk_matters", group=texts.t(lang, "g_Convert")))
    return " ".join(parts)


def _night_loss(sc: Scenario, lang: str, max_lost: float) -> str | None:
    """Why no staff keeps the losses down when callers give up before the desk opens again (the hours it
    is closed lose them, not its staff); None if that is not the reason."""
    desk = sc.sales_desk
    assert desk is not None
    closed = 24.0 - desk.hours_per_day
    if closed <= 0 or desk.patience_hours is None or desk.patience_hours >= closed:
        return None
    most = int(find_lever(sc, "sales_desk.staff").high)
    floor = _desk_at(sc, most)[1]["lost_lead_share"]
    return texts.t(
        lang,
        "pg_desk_night_loss",
        share=texts.percent(max_lost, lang, 1),
        floor=texts.percent(floor, lang, 1),
        patience=_hours(desk.patience_hours, lang),
        closed=_hours(closed, lang),
    )


@functools.lru_cache(maxsize=64)
def _desk_at(sc: Scenario, staff: int) -> tuple[dict[str, Any], dict[str, float]]:
    """The expected monthly arrays and KPIs of `sc` with `staff` salespeople."""
    arrays, kpis, _ = expected_arrays(sc.override({"sales_desk.staff": staff}))
    return arrays, kpis


def programme_text(
    answer: ProgrammeAnswer, currency: str, lang: str, scenario: Scenario | None = None
) -> str:
    """The programme's verdict, or why there is none (`scenario`, if given, names why contacts may not
    matter: see `programme_verdict`)."""
    if answer.status == AnswerStatus.OFF:
        return texts.t(lang, "programme_off")
    if answer.status == AnswerStatus.ERROR or answer.value is None:
        return texts.t(lang, "a_failed", error=answer.error)
    return programme_verdict(answer.value, currency, lang, scenario=scenario)


def programme_verdict(pv: ProgrammeValue, currency: str, lang: str, scenario: Scenario | None = None) -> str:
    """What the programme adds and costs a year and what it nets (`currency` amounts), then what the
    number of contacts does: the best number and its net; that it is already the best; or, when contacts
    do not change churn, why (with `scenario`: no churn reduction set, or no churn to reduce) and that
    contacts then only cost (a falling line) or change nothing at all (a flat line)."""
    from sim.report.charts import contacts_text, programme_shape  # Altair: loaded with the charts

    shape = programme_shape(pv)
    head = {
        "extra": texts.money(pv.extra_margin_per_year, currency, lang, short=True),
        "cost": texts.money(pv.cost_per_year, currency, lang, short=True),
        "verb": texts.t(lang, "earns" if pv.net_per_year >= 0 else "loses"),
        "net": texts.money(abs(pv.net_per_year), currency, lang, short=True),
    }
    opt = texts.money(pv.optimal_net_per_year, currency, lang, short=True)
    if shape.flat or not shape.churn_effect:
        prog = scenario.service_programme if scenario is not None else None
        if prog is not None and prog.max_churn_reduction == 0:
            why = texts.t(lang, "ch_why_no_reduction")
        elif prog is not None and scenario is not None and scenario.retention.monthly_churn == 0:
            why = texts.t(lang, "ch_why_no_churn")
        else:
            why = texts.t(lang, "ch_why_unknown")
        tail = (
            texts.t(lang, "ch_prog_flat", why=why)
            if shape.flat
            else texts.t(lang, "ch_prog_linear", why=why, opt=opt)
        )
        return f"{texts.t(lang, 'ch_prog_head', **head)} {tail}"
    if shape.at_optimum:
        best = texts.t(lang, "ch_prog_best", k=contacts_text(pv.contacts_per_month, lang))
        return f"{texts.t(lang, 'ch_prog_head', **head)} {best}"
    return texts.t(lang, "a_programme", **head, k=contacts_text(pv.optimal_contacts_per_month, lang), opt=opt)
