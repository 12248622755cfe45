"""The app's words in English and Russian, and number formatting for the page (one place for both).

`t(lang, key, **values)` gives a sentence; `field_label` a lever's name; `money`, `number`, `percent`,
`months` format figures the way the page shows them (`2 250 ₽`, never `nan`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from sim.model.levers import BY_KEY

LANGS: tuple[str, ...] = ("en", "ru")
"""Languages of the page; the first is the default."""

LANG_NAMES: dict[str, str] = {"en": "English", "ru": "Русский"}

THIN = "\u202f"
"""Narrow no-break space: the thousands separator."""
NBSP = "\u00a0"
"""No-break space: between a number and its unit."""
MINUS = "\u2212"
"""The minus sign shown on the page."""

CURRENCY_SYMBOLS: dict[str, str] = {"RUB": "₽", "USD": "$", "EUR": "€", "GBP": "£", "KZT": "₸", "CNY": "¥"}
"""Symbols for the currencies a scenario may use; any other code is shown as is."""

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Lead funnel: when does the money spent on leads come back?",
        "intro": "Pick a business, move the levers and watch the cumulative cash: the expected curve redraws "
        "at once, the Monte Carlo band when it is ready.",
        "language": "Language / Язык",
        "preset": "Scenario",
        "upload_option": "Upload a scenario (TOML)…",
        "upload": "Scenario file (TOML)",
        "upload_prompt": "Upload a scenario file to start (the format is in README).",
        "switches": "Parts of the business",
        "sw_sales_desk": "Sales desk (limited staff)",
        "sw_repeat": "Repeat visits",
        "sw_referrals": "Referrals",
        "sw_service_programme": "Service programme",
        "sw_problems": "Problems at visits",
        "sw_help": "Off: the part is left out. On: the scenario's own values, or those of “{donor}” "
        "when the scenario has none.",
        "levers": "Levers",
        "g_Attract": "Attract: leads",
        "g_Convert": "Convert: funnel and sales desk",
        "g_Keep": "Keep: churn, service, problems",
        "g_Grow": "Grow: repeat purchases",
        "g_Refer": "Refer: recommendations",
        "patience_none": "empty: leads wait as long as it takes",
        "monte_carlo": "Monte Carlo",
        "replications": "Replications (0 = off)",
        "seed": "Seed",
        "mc_help": "The P10–P90 band comes from the discrete-event engine (sim.simulate), in the "
        "background; the same seed and replications give the same band as `python -m sim run`.",
        "scenario_is": "Scenario: **{name}**, {horizon} months, amounts in {currency}.",
        "link_problem": "The link's settings could not all be used: {problems}",
        "invalid": "These settings are not a valid scenario: {error}",
        "model_failed": "The model could not evaluate these settings: {error}",
        "t_break_even_month": "Break-even month",
        "t_max_cash_need": "Funding needed",
        "t_cac": "CAC",
        "t_ltv": "LTV",
        "t_ltv_to_cac": "LTV / CAC",
        "t_payback_months": "Payback",
        "t_leads_per_sale": "Leads per sale",
        "t_lost_lead_share": "Lost leads",
        "h_break_even_month": "First month from which the cumulative cash stays at or above zero.",
        "h_max_cash_need": "The deepest point of the cumulative cash: the money the plan needs.",
        "h_cac": "Lead spend, referral bonuses and salaries per new customer.",
        "h_ltv": "A new customer's margin over its whole life, first sale included.",
        "h_ltv_to_cac": "What a customer brings for each unit spent to win one.",
        "h_payback_months": "Months after the purchase until a customer's margin covers the CAC.",
        "h_leads_per_sale": "All leads (paid and referral) per sale.",
        "h_lost_lead_share": "Leads that gave up waiting for the sales desk.",
        "never": "never",
        "dash": "—",
        "month_n": "month {n}",
        "months_n": "{n} months",
        "was": "was {value}",
        "same": "as loaded",
        "vs_preset": "Changes are against the scenario as loaded.",
        "cash_title": "Cumulative cash by month",
        "cash_axis": "Cumulative cash",
        "series_whatif": "what-if (expected)",
        "series_preset": "scenario as loaded",
        "series_band": "Monte Carlo P10–P90",
        "series_p50": "Monte Carlo median",
        "month": "Month",
        "age_month": "Months after the purchase",
        "cohort": "Cohort (month of purchase)",
        "break_even_at": "break-even: month {n}",
        "band_ready": "Band: {reps} replications, seed {seed}, {seconds} s; break-even within the horizon "
        "in {p} of runs, median {median}.",
        "band_running": "Monte Carlo: {done} of {total} replications…",
        "band_queued": "Monte Carlo: starting…",
        "band_failed": "Monte Carlo failed: {error}",
        "band_off": "Monte Carlo is off (replications = 0).",
        "tab_flow": "Cash flow",
        "tab_cohorts": "Cohort payback",
        "tab_sensitivity": "Which lever",
        "tab_desk": "Sales desk",
        "tab_programme": "Service programme",
        "tab_answers": "Answers",
        "flow_title": "Monthly cash flow by component",
        "flow_axis": "Cash flow a month",
        "component": "Component",
        "c_margin_first_sale": "First-sale margin",
        "c_margin_repeat": "Repeat margin",
        "c_margin_referral_sale": "Referral margin",
        "c_lead_spend": "Lead spend",
        "c_staff_cost": "Staff",
        "c_programme_cost": "Programme",
        "c_problem_cost": "Problems",
        "c_referral_bonus": "Referral bonus",
        "net_cash": "Net cash",
        "cohort_title": "Cohort payback: cumulative margin ÷ acquisition cost",
        "cohort_ratio": "Margin ÷ acquisition cost",
        "cohort_margin": "Cumulative margin",
        "cohort_cost": "Acquisition cost",
        "cohort_caption": "Each row is the customers won in one month; green cells have paid back what was "
        "spent to win them (lead spend, referral bonuses and salaries of that month).",
        "no_cohorts": "No new customers in this scenario: nothing to pay back.",
        "sens_metric": "Metric",
        "sens_title": "Which lever brings {metric} sooner? (each lever ±20 %)",
        "sens_caption": "Bars run from the metric with the lever 20 % lower to 20 % higher; "
        "“never” counts as one month past the horizon.",
        "m_break_even_month": "break-even month",
        "m_final_cumulative_cash": "final cumulative cash",
        "m_max_cash_need": "funding needed",
        "m_ltv_to_cac": "LTV / CAC",
        "m_payback_months": "payback",
        "lever_low": "lever lower",
        "lever_high": "lever higher",
        "lever_moved": "Lever moved",
        "value": "Value",
        "desk_off": "The sales desk is off: every lead is contacted at once. Switch it on to size it.",
        "desk_title_lost": "Lost leads against salespeople",
        "desk_title_wait": "Mean wait against salespeople",
        "staff": "Salespeople",
        "lost_share": "Lost leads",
        "mean_wait": "Mean wait, hours",
        "current": "now",
        "programme_off": "No service programme: switch it on to see whether it pays.",
        "programme_title": "Programme's net value a year against contacts a month",
        "contacts": "Contacts per customer a month",
        "net_per_year": "Net a year",
        "optimum": "optimum",
        "answers_by": "Break even by month",
        "answers_lost": "Lost leads at most, %",
        "q_cpl": "What CPL can I afford?",
        "q_staff": "How many salespeople do I need?",
        "q_churn": "How much churn can I live with?",
        "q_referrals": "How many referrals do I need?",
        "q_programme": "Is the service programme worth it?",
        "a_cpl": "Up to **{value}** a lead ({channel}) still breaks even by month {n} (now {now}).",
        "a_cpl_all": "Even at {value} a lead ({channel}) it breaks even by month {n}.",
        "a_cpl_none": "Not even free leads ({channel}) break even by month {n}: the other levers must move.",
        "a_no_channels": "There are no paid channels in this scenario.",
        "a_staff": "**{value}** salespeople lose at most {share} of leads (now {now}: {lost}).",
        "a_staff_one": "Even **one** salesperson loses at most {share} of leads (now {now}: {lost}).",
        "a_staff_none": "No staff up to {value} keeps lost leads at or below {share}.",
        "a_staff_off": "The sales desk is off (unlimited capacity): no lead is lost.",
        "a_churn": "Churn up to **{value}** a month still breaks even by month {n} (now {now}).",
        "a_churn_all": "Any churn up to {value} a month still breaks even by month {n}.",
        "a_churn_none": "Even with no churn it does not break even by month {n}.",
        "a_referrals": "**{value}** referrals per customer a year break even by month {n} (now {now}).",
        "a_referrals_all": "It breaks even by month {n} even with no referrals.",
        "a_referrals_none": "Not even {value} referrals per customer a year break even by month {n}.",
        "a_referrals_off": "Referrals are off: switch them on to see the rate you need.",
        "a_programme": "The programme adds **{extra}** of margin a year for **{cost}** of cost: it {verb} "
        "**{net}** a year; at {k} contacts a month it would net {opt} a year.",
        "earns": "earns",
        "loses": "loses",
        "a_failed": "Could not answer: {error}",
        "downloads": "Download",
        "dl_scenario": "Scenario (TOML)",
        "dl_csv": "Monthly results (CSV)",
        "dl_xlsx": "Monthly results (XLSX)",
        "dl_chart": "Chart data (CSV)",
        "share_hint": "The link in the address bar keeps these settings: copy it to share this view.",
    },
    "ru": {
        "title": "Воронка лидов: когда вернутся деньги, потраченные на лиды?",
        "intro": "Выберите бизнес, двигайте рычаги и смотрите на накопленные деньги: ожидаемая кривая "
        "перерисовывается сразу, полоса Монте-Карло — когда будет готова.",
        "language": "Language / Язык",
        "preset": "Сценарий",
        "upload_option": "Загрузить сценарий (TOML)…",
        "upload": "Файл сценария (TOML)",
        "upload_prompt": "Загрузите файл сценария (формат описан в README).",
        "switches": "Что включено",
        "sw_sales_desk": "Отдел продаж (ограниченный штат)",
        "sw_repeat": "Повторные визиты",
        "sw_referrals": "Рекомендации",
        "sw_service_programme": "Сервисная программа",
        "sw_problems": "Проблемы при визитах",
        "sw_help": "Выключено: этой части нет. Включено: значения сценария, а если их нет — из «{donor}».",
        "levers": "Рычаги",
        "g_Attract": "Привлечь: лиды",
        "g_Convert": "Превратить в клиента: воронка и отдел продаж",
        "g_Keep": "Удержать: отток, сервис, проблемы",
        "g_Grow": "Развить: повторные покупки",
        "g_Refer": "Рекомендации",
        "patience_none": "пусто: лид ждёт сколько угодно",
        "monte_carlo": "Монте-Карло",
        "replications": "Прогонов (0 — выключено)",
        "seed": "Зерно (seed)",
        "mc_help": "Полоса P10–P90 считается дискретно-событийной моделью (sim.simulate) в фоне; те же "
        "зерно и число прогонов дают ту же полосу, что `python -m sim run`.",
        "scenario_is": "Сценарий: **{name}**, {horizon} мес., суммы в {currency}.",
        "link_problem": "Не все настройки из ссылки удалось применить: {problems}",
        "invalid": "Такие настройки — недопустимый сценарий: {error}",
        "model_failed": "Модель не смогла посчитать эти настройки: {error}",
        "t_break_even_month": "Месяц окупаемости",
        "t_max_cash_need": "Нужно денег",
        "t_cac": "Цена клиента (CAC)",
        "t_ltv": "Ценность клиента (LTV)",
        "t_ltv_to_cac": "LTV / CAC",
        "t_payback_months": "Окупаемость клиента",
        "t_leads_per_sale": "Лидов на продажу",
        "t_lost_lead_share": "Потерянные лиды",
        "h_break_even_month": "Первый месяц, с которого накопленные деньги не ниже нуля.",
        "h_max_cash_need": "Самая глубокая точка накопленных денег: сколько денег нужно вложить.",
        "h_cac": "Расходы на лиды, бонусы за рекомендации и зарплаты на одного нового клиента.",
        "h_ltv": "Маржа нового клиента за всю его жизнь, первая продажа включена.",
        "h_ltv_to_cac": "Сколько приносит клиент на каждый рубль, потраченный на его привлечение.",
        "h_payback_months": "Сколько месяцев после покупки маржа клиента покрывает CAC.",
        "h_leads_per_sale": "Все лиды (платные и по рекомендациям) на одну продажу.",
        "h_lost_lead_share": "Лиды, которые не дождались отдела продаж.",
        "never": "нет",
        "dash": "—",
        "month_n": "{n}-й месяц",
        "months_n": "{n} мес.",
        "was": "было {value}",
        "same": "как в сценарии",
        "vs_preset": "Изменения — относительно сценария в загруженном виде.",
        "cash_title": "Накопленные деньги по месяцам",
        "cash_axis": "Накопленные деньги",
        "series_whatif": "ваш вариант (ожидание)",
        "series_preset": "сценарий как загружен",
        "series_band": "Монте-Карло P10–P90",
        "series_p50": "Монте-Карло, медиана",
        "month": "Месяц",
        "age_month": "Месяцев после покупки",
        "cohort": "Когорта (месяц покупки)",
        "break_even_at": "окупаемость: {n}-й месяц",
        "band_ready": "Полоса: {reps} прогонов, зерно {seed}, {seconds} с; окупаемость в пределах горизонта "
        "в {p} прогонов, медиана — {median}.",
        "band_running": "Монте-Карло: {done} из {total} прогонов…",
        "band_queued": "Монте-Карло: запуск…",
        "band_failed": "Монте-Карло не удалось: {error}",
        "band_off": "Монте-Карло выключено (прогонов 0).",
        "tab_flow": "Денежный поток",
        "tab_cohorts": "Окупаемость когорт",
        "tab_sensitivity": "Какой рычаг",
        "tab_desk": "Отдел продаж",
        "tab_programme": "Сервисная программа",
        "tab_answers": "Ответы",
        "flow_title": "Денежный поток по месяцам и статьям",
        "flow_axis": "Поток за месяц",
        "component": "Статья",
        "c_margin_first_sale": "Маржа первой продажи",
        "c_margin_repeat": "Маржа повторных",
        "c_margin_referral_sale": "Маржа по рекомендациям",
        "c_lead_spend": "Лиды",
        "c_staff_cost": "Зарплаты продавцов",
        "c_programme_cost": "Программа",
        "c_problem_cost": "Проблемы",
        "c_referral_bonus": "Бонусы за рекомендации",
        "net_cash": "Чистый поток",
        "cohort_title": "Окупаемость когорт: накопленная маржа ÷ затраты на привлечение",
        "cohort_ratio": "Маржа ÷ затраты",
        "cohort_margin": "Накопленная маржа",
        "cohort_cost": "Затраты на привлечение",
        "cohort_caption": "Каждая строка — клиенты одного месяца; зелёные клетки уже вернули потраченное на "
        "их привлечение (лиды, бонусы и зарплаты того месяца).",
        "no_cohorts": "В этом сценарии нет новых клиентов: окупать нечего.",
        "sens_metric": "Показатель",
        "sens_title": "Какой рычаг сильнее всего двигает {metric}? (каждый ±20 %)",
        "sens_caption": "Полоса — от показателя при рычаге на 20 % ниже до 20 % выше; «нет» считается "
        "как месяц за горизонтом.",
        "m_break_even_month": "месяц окупаемости",
        "m_final_cumulative_cash": "деньги в конце горизонта",
        "m_max_cash_need": "нужные деньги",
        "m_ltv_to_cac": "LTV / CAC",
        "m_payback_months": "окупаемость клиента",
        "lever_low": "рычаг ниже",
        "lever_high": "рычаг выше",
        "lever_moved": "Рычаг",
        "value": "Значение",
        "desk_off": "Отдел продаж выключен: каждый лид обслуживается сразу. Включите, чтобы подобрать штат.",
        "desk_title_lost": "Потерянные лиды в зависимости от числа продавцов",
        "desk_title_wait": "Среднее ожидание в зависимости от числа продавцов",
        "staff": "Продавцов",
        "lost_share": "Потерянные лиды",
        "mean_wait": "Среднее ожидание, ч",
        "current": "сейчас",
        "programme_off": "Сервисной программы нет: включите её, чтобы узнать, окупается ли она.",
        "programme_title": "Чистая польза программы в год в зависимости от контактов в месяц",
        "contacts": "Контактов с клиентом в месяц",
        "net_per_year": "Чистая польза в год",
        "optimum": "оптимум",
        "answers_by": "Окупиться к месяцу",
        "answers_lost": "Терять лидов не больше, %",
        "q_cpl": "Какую цену лида я могу себе позволить?",
        "q_staff": "Сколько нужно продавцов?",
        "q_churn": "Какой отток я выдержу?",
        "q_referrals": "Сколько нужно рекомендаций?",
        "q_programme": "Стоит ли сервисная программа своих денег?",
        "a_cpl": "Лид ({channel}) может стоить до **{value}** — и бизнес окупится к {n}-му месяцу "
        "(сейчас {now}).",
        "a_cpl_all": "Даже при {value} за лид ({channel}) бизнес окупается к {n}-му месяцу.",
        "a_cpl_none": "Даже бесплатные лиды ({channel}) не дают окупиться к {n}-му месяцу: нужны другие "
        "рычаги.",
        "a_no_channels": "В этом сценарии нет платных каналов.",
        "a_staff": "**{value}** продавцов теряют не больше {share} лидов (сейчас {now}: {lost}).",
        "a_staff_one": "Даже **один** продавец теряет не больше {share} лидов (сейчас {now}: {lost}).",
        "a_staff_none": "Даже {value} продавцов не удерживают потери на уровне {share}.",
        "a_staff_off": "Отдел продаж выключен (без ограничений): лиды не теряются.",
        "a_churn": "Отток до **{value}** в месяц ещё даёт окупиться к {n}-му месяцу (сейчас {now}).",
        "a_churn_all": "Любой отток до {value} в месяц даёт окупиться к {n}-му месяцу.",
        "a_churn_none": "Даже без оттока бизнес не окупается к {n}-му месяцу.",
        "a_referrals": "Нужно **{value}** рекомендаций на клиента в год, чтобы окупиться к {n}-му месяцу "
        "(сейчас {now}).",
        "a_referrals_all": "Бизнес окупается к {n}-му месяцу и без рекомендаций.",
        "a_referrals_none": "Даже {value} рекомендаций на клиента в год не дают окупиться к {n}-му месяцу.",
        "a_referrals_off": "Рекомендации выключены: включите их, чтобы узнать, сколько нужно.",
        "a_programme": "Программа добавляет **{extra}** маржи в год при затратах **{cost}**: она {verb} "
        "**{net}** в год; при {k} контактах в месяц дала бы {opt} в год.",
        "earns": "приносит",
        "loses": "теряет",
        "a_failed": "Не удалось ответить: {error}",
        "downloads": "Скачать",
        "dl_scenario": "Сценарий (TOML)",
        "dl_csv": "Помесячные результаты (CSV)",
        "dl_xlsx": "Помесячные результаты (XLSX)",
        "dl_chart": "Данные графика (CSV)",
        "share_hint": "Ссылка в адресной строке хранит эти настройки: скопируйте её, чтобы поделиться.",
    },
}
"""Every sentence of the page, by language and key."""

FIELD_LABELS_RU: dict[str, str] = {
    "channels.cost_per_lead": "Цена лида: {name}",
    "channels.leads_per_month": "Платные лиды: {name}",
    "funnel.conversion": "Конверсия: {name}",
    "funnel.delay_days": "Задержка: {name}",
    "sales_desk.staff": "Продавцов",
    "sales_desk.handling_minutes": "Время на одного лида",
    "sales_desk.hours_per_day": "Часов работы в день",
    "sales_desk.patience_hours": "Терпение лида",
    "sales_desk.salary_per_month": "Зарплата продавца",
    "first_purchase.margin": "Маржа первой продажи",
    "retention.monthly_churn": "Отток в месяц",
    "service_programme.fixed_cost_per_year": "Фикс. стоимость программы",
    "service_programme.contacts_per_month": "Контакты программы",
    "service_programme.cost_per_contact": "Цена контакта",
    "service_programme.tolerated_contacts_per_month": "Желанных контактов",
    "service_programme.max_churn_reduction": "Макс. снижение оттока",
    "service_programme.referral_uplift": "Рост рекомендаций",
    "service_programme.margin_uplift": "Рост маржи повторных",
    "problems.visit_problem_probability": "Визиты с проблемой",
    "problems.resolution_days": "Дней на решение проблемы",
    "problems.cost_per_problem": "Стоимость проблемы",
    "problems.leave_probability_base": "Уходят даже при решении сразу",
    "problems.leave_probability_per_day": "Доп. уход за день без решения",
    "repeat.interval_months": "Интервал: {name}",
    "repeat.revenue": "Чек: {name}",
    "repeat.margin": "Маржа: {name}",
    "repeat.adoption": "Доля клиентов: {name}",
    "referrals.per_customer_per_year": "Рекомендаций",
    "referrals.conversion_multiplier": "Конверсия рекомендаций",
    "referrals.bonus": "Бонус за продажу по рекомендации",
}
"""Russian lever names by `section.field` (the English ones are the lever catalogue's, `sim.model.levers`)."""

UNITS: dict[str, tuple[str, str]] = {
    "money": ("{cur}", "{cur}"),
    "money/month": ("{cur} a month", "{cur} в мес."),
    "money/year": ("{cur} a year", "{cur} в год"),
    "leads/month": ("leads a month", "лидов в мес."),
    "share": ("%", "%"),
    "people": ("people", "чел."),
    "minutes": ("minutes", "мин"),
    "hours": ("hours", "ч"),
    "days": ("days", "дн."),
    "months": ("months", "мес."),
    "per year": ("per customer a year", "на клиента в год"),
    "×": ("× a cold lead's", "× к холодному лиду"),
    "contacts/month": ("per customer a month", "на клиента в мес."),
}
"""Units as shown after a lever's name (`{cur}` is the currency symbol)."""


def t(lang: str, key: str, **values: object) -> str:
    """The sentence `key` in `lang` (English if missing), with `values` filled in."""
    text = TEXTS.get(lang, TEXTS["en"]).get(key) or TEXTS["en"][key]
    return text.format(**values) if values else text


def symbol(currency: str) -> str:
    """The currency's symbol (`RUB` → `₽`), or the code itself."""
    return CURRENCY_SYMBOLS.get(currency.upper(), currency)


def field_label(lang: str, key: str, name: str = "") -> str:
    """A lever's name (`key` = `section.field`; `name` fills a list item's `{name}`)."""
    en = BY_KEY[key].label if key in BY_KEY else key
    text = FIELD_LABELS_RU.get(key, en) if lang == "ru" else en
    return text.format(name=name)


def unit_label(lang: str, unit: str, currency: str) -> str:
    """A unit as shown on the page (`money` → `₽`)."""
    en, ru = UNITS.get(unit, (unit, unit))
    return (ru if lang == "ru" else en).format(cur=symbol(currency))


def _group(digits: str) -> str:
    out = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return THIN.join(out)


def number(x: float, lang: str = "en", decimals: int = 0, signed: bool = False) -> str:
    """`1234.5` → `1 234,5` (ru) / `1 234.5` (en); NaN → `—`, ±inf → `∞`; `signed` adds `+`."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return t(lang, "dash")
    if math.isinf(x):
        return ("+" if signed and x > 0 else "") + ("∞" if x > 0 else MINUS + "∞")
    text = f"{abs(x):.{decimals}f}"
    whole, _, frac = text.partition(".")
    out = _group(whole) + ((("," if lang == "ru" else ".") + frac) if frac else "")
    if float(text) == 0:
        return out if not signed else "±" + out
    sign = MINUS if x < 0 else ("+" if signed else "")
    return sign + out


def compact(x: float, lang: str = "en", signed: bool = False) -> str:
    """A large figure with a word for its scale: `25 600 523` → `25.6 M` (en) / `25,6 млн` (ru)."""
    if x is None or not math.isfinite(x) or abs(x) < 1e6:
        return number(x, lang, 0, signed)
    for scale, en, ru in ((1e12, "T", "трлн"), (1e9, "B", "млрд"), (1e6, "M", "млн")):
        if abs(x) >= scale:
            v = x / scale
            decimals = 0 if round(abs(v), 1) >= 100 else (1 if round(abs(v), 2) >= 10 else 2)
            return f"{number(v, lang, decimals, signed)}{NBSP}{ru if lang == 'ru' else en}"
    return number(x, lang, 0, signed)  # pragma: no cover


def money(x: float, currency: str, lang: str = "en", short: bool = False, signed: bool = False) -> str:
    """`2250` → `2 250 ₽`; `short` writes millions as `25.6 M ₽`; NaN → `—`."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return t(lang, "dash")
    text = compact(x, lang, signed) if short else number(x, lang, 0 if abs(x) >= 100 else 2, signed)
    if text.endswith(".00") or text.endswith(",00"):
        text = text[:-3]
    return f"{text}{NBSP}{symbol(currency)}"


def percent(share: float, lang: str = "en", decimals: int = 1, signed: bool = False) -> str:
    """`0.015` → `1.5 %`; NaN → `—`."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return t(lang, "dash")
    return f"{number(100.0 * share, lang, decimals, signed)}{NBSP}%"


def month(x: float, lang: str = "en") -> str:
    """A month of the horizon: `76` → `76`; NaN → `never` / `нет`."""
    if x is None or not math.isfinite(x):
        return t(lang, "never")
    return number(x, lang, 0)


def months(x: float, lang: str = "en", signed: bool = False) -> str:
    """A span of months: `18` → `18 months` / `18 мес.`; NaN → `never` / `нет`."""
    if x is None or not math.isfinite(x):
        return t(lang, "never")
    return t(lang, "months_n", n=number(x, lang, 0, signed))


def ratio(x: float, lang: str = "en", signed: bool = False) -> str:
    """`2.027` → `2.03×`; NaN → `—`."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return t(lang, "dash")
    return number(x, lang, 2, signed) + ("" if math.isinf(x) else "×")


def format_kpi(metric: str, x: float, currency: str, lang: str, signed: bool = False) -> str:
    """A KPI as a tile shows it (never `nan`: `—`, `never`, `∞`)."""
    if metric == "break_even_month":
        return months(x, lang, signed) if signed else month(x, lang)
    if metric == "payback_months":
        return months(x, lang, signed)
    if metric in ("max_cash_need", "cac", "ltv", "final_cumulative_cash", "npv"):
        return money(x, currency, lang, short=True, signed=signed)
    if metric == "ltv_to_cac":
        return ratio(x, lang, signed)
    if metric == "lost_lead_share":
        return percent(x, lang, 1, signed)
    if metric == "mean_wait_hours":
        return number(x, lang, 1, signed)
    return number(x, lang, 1, signed)


def vega_locale(lang: str, currency: str) -> dict[str, object]:
    """Vega-Lite `config.locale` so chart axes format numbers as the page does."""
    return {
        "number": {
            "decimal": "," if lang == "ru" else ".",
            "thousands": THIN,
            "grouping": [3],
            "currency": ["", NBSP + symbol(currency)],
            "minus": MINUS,
        }
    }


def scale_unit(values: object, lang: str, currency: str) -> tuple[float, str]:
    """A scale for a money axis (1, 1e3, 1e6 or 1e9) and its unit, e.g. `(1e6, 'M ₽')`."""
    import numpy as np

    arr = np.asarray(values, dtype=float)
    finite = arr[np.isfinite(arr)]
    top = float(np.abs(finite).max()) if finite.size else 0.0
    for scale, en, ru in ((1e9, "B", "млрд"), (1e6, "M", "млн"), (1e3, "k", "тыс.")):
        if top >= 10 * scale:
            return scale, f"{ru if lang == 'ru' else en}{NBSP}{symbol(currency)}"
    return 1.0, symbol(currency)


def words(lang: str, keys: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every sentence of `lang` (for chart builders, which take their words as a plain dict)."""
    out = dict(TEXTS["en"])
    out.update(TEXTS.get(lang, {}))
    if keys:
        out.update(keys)
    return out
