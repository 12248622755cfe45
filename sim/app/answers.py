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
from sim.decisions.goal_seek import goal_seek
from sim.decisions.metrics import GoalSeekError, meets
from sim.decisions.programme import ProgrammeValue, programme_value
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
        high = 10.0 * now if now > 0 else sc.first_purchase.margin
        got = _seek(
            sc, "channels.0.cost_per_lead", "break_even_month", by_month, 0.0, high, _nice_step(now, 1.0)
        )
        return replace(got, value=high) if got.status == AnswerStatus.ALL else got

    def churn() -> Answer:
        lever = find_lever(sc, "retention.monthly_churn")
        got = _seek(sc, "retention.monthly_churn", "break_even_month", by_month, lever.low, lever.high, 0.001)
        return replace(got, value=lever.high) if got.status == AnswerStatus.ALL else got

    def referrals() -> Answer:
        if sc.referrals is None:
            return Answer(AnswerStatus.OFF)
        lever = find_lever(sc, "referrals.per_customer_per_year")
        now = sc.referrals.per_customer_per_year
        high = min(lever.high, max(10.0 * now, 1.0))
        got = _seek(
            sc,
            "referrals.per_customer_per_year",
            "break_even_month",
            by_month,
            0.0,
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
        low = max(1, math.ceil(lever.low))
        lost_now = _base_kpis(sc)["lost_lead_share"]
        got = _seek(sc, "sales_desk.staff", "lost_lead_share", max_lost, low, lever.high)
        if got.status == AnswerStatus.ALL:  # even one salesperson is enough
            status = AnswerStatus.ALL if desk.staff == low else AnswerStatus.ONE
            return Answer(status, low, lost_now)
        if got.status == AnswerStatus.NONE:
            return Answer(AnswerStatus.NONE, int(lever.high), lost_now)
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


def answer_numbers(sc: Scenario, by_month: int, max_lost: float) -> Answers:
    """The goal-seek answers and the programme's value (language-free; `answer_texts` words them).

    `by_month`: break even by this month; `max_lost`: lose at most this share of the leads. Each answer is
    kept for the last scenarios asked, so changing `by_month` does not redo the staff answer, nor
    `max_lost` the break-even ones.
    """
    cpl, churn, referrals = _by_month_answers(sc, by_month)
    return Answers(cpl, _staff_answer(sc, max_lost), churn, referrals, _programme_answer(sc))


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
        channel=channel.name if channel else "",
        n=n,
        now=texts.money(channel.cost_per_lead, cur, lang) if channel else "",
    )
    desk = sc.sales_desk
    staff = worded(
        answers.staff,
        "a_staff_off",
        {A.VALUE: "a_staff", A.ALL: "a_staff_one", A.ONE: "a_staff_one", A.NONE: "a_staff_none"},
        value=shown(answers.staff, lambda x: texts.number(x, lang)),
        share=texts.percent(max_lost, lang, 1),
        now=texts.number(desk.staff if desk else 0, lang),
        lost=texts.percent(answers.staff.lost_now, lang, 1),
    )
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
        QuestionAnswer(say("q_programme"), programme_text(answers.programme, sc.currency, lang)),
    ]


def programme_text(answer: ProgrammeAnswer, currency: str, lang: str) -> str:
    """The programme's verdict in one sentence, or why there is none."""
    if answer.status == AnswerStatus.OFF:
        return texts.t(lang, "programme_off")
    if answer.status == AnswerStatus.ERROR or answer.value is None:
        return texts.t(lang, "a_failed", error=answer.error)
    return programme_verdict(answer.value, currency, lang)


def programme_verdict(pv: ProgrammeValue, currency: str, lang: str) -> str:
    """What the programme adds and costs a year, what it nets, and its optimum (`currency` amounts)."""
    return texts.t(
        lang,
        "a_programme",
        extra=texts.money(pv.extra_margin_per_year, currency, lang, short=True),
        cost=texts.money(pv.cost_per_year, currency, lang, short=True),
        verb=texts.t(lang, "earns" if pv.net_per_year >= 0 else "loses"),
        net=texts.money(abs(pv.net_per_year), currency, lang, short=True),
        k=texts.number(pv.optimal_contacts_per_month, lang, 2),
        opt=texts.money(pv.optimal_net_per_year, currency, lang, short=True),
    )
