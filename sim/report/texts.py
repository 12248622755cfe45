"""The app's words in English and Russian, and number formatting for the page (one place for both).

`t(lang, key, **values)` gives a sentence; `field_label` a lever's name; `money`, `number`, `percent`,
`months` format figures the way the page shows them (`2 250 ₽`, never `nan`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sim.model.levers import BY_KEY

if TYPE_CHECKING:
    from sim.analytic.expected_value import ExpectedResult
    from sim.model.scenario import Scenario

LANGS: tuple[str, ...] = ("en", "ru")
"""Languages of the page; the first is the default."""

LANG_NAMES: dict[str, str] = {"en": "English", "ru": "Русский"}

THIN = "\u202f"
"""Narrow no-break space: the thousands separator."""
NBSP = "\u00a0"
"""No-break space: between a number and its unit."""
MINUS = "\u2212"
"""The minus sign shown on the page."""
EN_DASH = "\u2013"
"""Between the ends of a range (`1–4 %`)."""

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
        "mc_help": "The shaded band shows where 8 runs in 10 end up (P10–P90). Each run replays the business "
        "month by month, with chance deciding which leads buy and which customers leave. More runs make the "
        "band steadier; the same number of runs and the same seed always draw the same band.",
        "scenario_is": "Scenario: **{name}**, {horizon} months, amounts in {currency}.",
        "link_problem": "The link's settings could not all be used: {problems}",
        "invalid": "These settings are not a valid scenario: {error}",
        "model_failed": "The model could not evaluate these settings: {error}",
        "t_break_even_month": "Break-even month (business)",
        "t_max_cash_need": "Money to put in (business)",
        "t_cac": "Cost to win a customer (CAC)",
        "t_ltv": "Customer's lifetime net margin (LTV)",
        "t_ltv_to_cac": "LTV / CAC (one customer)",
        "t_payback_months": "Payback of one customer",
        "t_leads_per_sale": "Leads per sale",
        "t_lost_lead_share": "Lost leads",
        "h_break_even_month": "The whole business: the first month from which everything earned covers "
        "everything spent so far and stays so to the end. It comes later than one customer's payback: the "
        "business first has to earn back the losses of all the earlier months. “never”: not within the "
        "horizon. The tiles show the expected (average) outcome; the Monte Carlo band's median month can "
        "differ by a few months: it is the month of the middle run of many random ones.",
        "h_max_cash_need": "The whole business: the deepest point of the cumulative cash, that is the money "
        "to put in before it starts coming back (expected outcome).",
        "h_cac": "One customer: lead spend, referral bonuses and salaries divided by the customers won. "
        "“—”: nothing is sold, so there is no customer to put a price on.",
        "h_ltv": "One customer: the margin a new customer brings over their whole life with you, the first "
        "sale included, net of what serving them costs (the programme's contacts, fixing problems); the "
        "gross figure, before those costs, is under the tiles when it differs. “unbounded”: customers stay "
        "for ever on average (no churn, or customers who differ so much that some practically never leave), "
        "so the sum has no end.",
        "h_ltv_to_cac": "One customer: what a customer brings for every 1 spent to win them; below 1 each "
        "new customer loses money.",
        "h_payback_months": "One customer: time from the purchase until the customer's margin covers what "
        "it cost to win them (CAC). The business as a whole breaks even later: it first has to earn back "
        "the losses of all the earlier months.",
        "h_leads_per_sale": "All leads, paid and recommended, per sale. “—”: nothing is sold.",
        "h_lost_lead_share": "Share of all leads that gave up waiting for a salesperson.",
        "never": "never",
        "dash": "—",
        "month_n": "month {n}",
        "months_n": "{n} months",
        "was": "was {value}",
        "same": "as loaded",
        "vs_preset": "Tiles show the expected (average) outcome; changes are against the scenario as loaded.",
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
        "band_ready": "Band: {reps}, seed {seed}, {seconds} s; the money comes back within the horizon in "
        "{p} of runs, median {median}.",
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
        "sens_title": "Which lever moves the {metric} most? (each lever ±20 %)",
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
        "a_staff": "**{value}** lose at most {share} of leads (now {now}: {lost}).",
        "a_staff_one": "Even **one** salesperson loses at most {share} of leads (now {now}: {lost}).",
        "a_staff_none": "Even with {value}, more than {share} of leads are lost.",
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
        # --- pin_: what-ifs pinned side by side
        "pin_title": "What-ifs side by side",
        "pin_name": "Name of these settings",
        "pin_add": "Pin this what-if",
        "pin_help": "Keeps the current settings under a name (up to {n} what-ifs): their curve stays on the "
        "chart and their figures go into a table beside the others. The link and the report keep them too.",
        "pin_hint": "Pin up to {n} what-ifs to see their curves on the chart and their figures side by side; "
        "the link keeps them.",
        "pin_default": "What-if {n}",
        "pin_full": "At most {n} what-ifs can be pinned: remove one to pin another.",
        "pin_same": "These settings are pinned already, as “{name}”.",
        "pin_taken": "“{name}” is the name of a pinned what-if already: choose another.",
        "pin_reserved": "“{name}” is the name of a line of the chart already: choose another.",
        "pin_no_name": "A pinned what-if needs a name.",
        "pin_rename": "Name of pinned what-if {n}",
        "pin_remove": "Remove “{name}”",
        "pin_base": "Compare against",
        "pin_kpi": "Figure",
        "pin_note": "Expected values, as on the tiles; in brackets, the difference against “{base}”.",
        "pin_failed": "“{name}” could not be computed: {error}",
        # --- ch_: the charts (axes, notes, tooltips) and the programme's sentence
        "ch_years": "Years from the start",
        "ch_age_years": "Years after the purchase",
        "ch_cohort_quarter": "Cohort (months of purchase)",
        "ch_cohort_year": "Cohort (year of purchase)",
        "ch_year_n": "year {n}",
        "ch_months_range": "months {a}–{b}",
        "ch_cohort_note": "Red: not paid back yet; white: just paid back (margin = cost); green: paid back "
        "with a surplus. The black line marks when each cohort pays back.",
        "ch_paid_back_at": "Pays back, months after the purchase",
        "ch_axis_cue": "←\u00a0{low}\u2003·\u2003{high}\u00a0→",
        "ch_sooner": "sooner",
        "ch_later": "later",
        "ch_less_cash": "less cash",
        "ch_more_cash": "more cash",
        "ch_less_funding": "less money to put in",
        "ch_more_funding": "more money to put in",
        "ch_lower": "lower",
        "ch_higher": "higher",
        "ch_lever_value": "Lever set to",
        "ch_base_value": "Without the change",
        "ch_sens_none": "No lever moves the {metric} when moved by ±20 %.",
        "ch_dropped_one": "Not shown: {n} lever with no effect on the {metric} ({names}).",
        "ch_dropped_few": "Not shown: {n} levers with no effect on the {metric} ({names}).",
        "ch_dropped_many": "Not shown: {n} levers with no effect on the {metric} ({names}).",
        "ch_dropped_other": "Not shown: {n} levers with no effect on the {metric} ({names}).",
        "ch_now_optimum": "now = optimum",
        "ch_extra_margin": "Extra margin a year",
        "ch_programme_cost": "Programme cost a year",
        "ch_prog_flat_note": "The line is flat: here contacts change neither churn nor cost, so their number "
        "does not matter.",
        "ch_prog_linear_note": "Contacts do not reduce churn here and each one costs money: the line falls.",
        "ch_prog_head": "The programme adds **{extra}** of margin a year for **{cost}** of cost: it {verb} "
        "**{net}** a year.",
        "ch_prog_flat": "The number of contacts does not change this: contacts do not change churn ({why}) "
        "and cost nothing, so the net is the same at any number of them; what decides is the programme's "
        "fixed cost against the margin it adds.",
        "ch_prog_linear": "Contacts do not reduce churn here ({why}), so each contact only adds cost: with "
        "none the programme would net {opt} a year.",
        "ch_prog_best": "{k} contacts a month is already the best number.",
        "ch_why_no_reduction": "the programme's maximum churn reduction is 0",
        "ch_why_no_churn": "churn is already 0",
        "ch_why_unknown": "no churn reduction is set, or there is no churn to reduce",
        # --- pg_: the page (guided start, glossary, uploads, the desk's answer)
        "pg_guide_title": "Start here: the article's story in three steps",
        "pg_guide_intro": "Click a step and watch the curve above: the sentence and the tiles follow it.",
        "pg_step_loss": "1 · The loss",
        "pg_step_service": "2 · + Service visits",
        "pg_step_referrals": "3 · + Referrals",
        "pg_step_loss_text": "The plain car dealer: each new customer costs more in calls than the car "
        "earns. The cash falls for ever.",
        "pg_step_service_text": "Customers come back for maintenance, repairs and tyres, and each visit "
        "adds margin. The curve still falls, but much more slowly.",
        "pg_step_referrals_text": "Customers served well recommend the dealer, and a referred buyer costs "
        "no calls. Now the curve turns and crosses zero: the break-even month.",
        "pg_guide_hide": "Got it, hide this",
        "pg_guide_show": "Show the three steps again",
        "pg_glossary": "What the words mean",
        "pg_gl_break_even_month": "**{label}**: the first month from which the business's cumulative cash "
        "stays at or above zero, so the money spent on leads has come back.",
        "pg_gl_max_cash_need": "**{label}**: the deepest point of the cumulative cash curve, the money the "
        "business needs before it pays for itself.",
        "pg_gl_cac": "**{label}**: what winning one new customer costs (customer acquisition cost, CAC): "
        "lead spend, referral bonuses and salaries, divided by the new customers.",
        "pg_gl_ltv": "**{label}**: the margin one customer brings over their whole life with the business, "
        "the first purchase included, minus what serving them costs (the programme's contacts, fixing "
        "problems): the net lifetime value, LTV. Before those costs it is the gross LTV.",
        "pg_gl_payback_months": "**{label}**: the months from one customer's purchase until their margin "
        "has covered what it cost to win them (one customer; the break-even month is the whole business).",
        "pg_gl_band": "**P10–P90 band**: the business is replayed many times with chance in it (who calls, "
        "who buys, who comes back); in 8 runs out of 10 the curve stays inside the band.",
        "pg_gl_replications": "**Replications**: how many such runs draw the band; more runs give a "
        "steadier band but take longer. The **seed** fixes the chance: the same seed, the same band.",
        "pg_mc_title": "Monte Carlo band (for analysts)",
        "pg_upload_bad": "This file is not used: {error}",
        "pg_upload_kept": "The page still shows the last good scenario, **{name}**.",
        "pg_upload_waiting": "No file yet: until you upload one, the page shows **{name}**.",
        "pg_desk_idle": "At these settings the desk is never the bottleneck: even **one** salesperson is "
        "enough. {calls} leads a month at {minutes} min each are {call_hours} hours of talk, and one "
        "salesperson's {hours}-hour day gives {open_hours} hours a month.",
        "pg_desk_why_night": "A caller waits up to {patience} h, longer than the {closed} h the desk is "
        "closed, so those who call at night are reached the next morning and nobody is lost.",
        "pg_desk_why_night_any": "Callers wait as long as it takes, so those who call at night are reached "
        "the next morning and nobody is lost.",
        "pg_desk_why_day": "The desk answers round the clock and a caller waits up to {patience} h: nobody "
        "has to wait that long, so nobody is lost.",
        "pg_desk_why_day_any": "The desk answers round the clock and callers wait as long as it takes, so "
        "nobody is lost.",
        "pg_desk_wait": "More salespeople only shorten the wait: {one} h on average with one, {now} h with "
        "the {staff} you have now.",
        "pg_desk_matters": "Staff start to matter with more leads, longer calls or callers who give up "
        "sooner (the levers under “{group}”).",
        "pg_desk_night_loss": "No number of salespeople keeps lost leads at or below {share}: {floor} of "
        "the callers give up while the desk is closed (they wait at most {patience} h, and it is closed "
        "{closed} h a day). Longer hours, or calling them back in the morning, would keep them.",
        "rp_download": "Report (PDF)",
        "rp_title": "Unit economics: {name}",
        "rp_subtitle": "{horizon} months, amounts in {currency} · report of {date}",
        "rp_whatif": "A what-if on the scenario “{preset}”: the differences are listed below.",
        "rp_date": "{d:%Y-%m-%d}",
        "rp_tiles_note": "The model's expected (average) outcome.",
        "rp_tiles_note_changed": "The model's expected (average) outcome; beside each figure, its change "
        "against the scenario as loaded.",
        "rp_band": "Shaded: where 8 runs in 10 end up (P10–P90); Monte Carlo runs: {reps}, seed {seed}. "
        "Break-even within the horizon in {p} of runs; median break-even month: {median}. The curve and the "
        "tiles are the expected outcome, so the median of runs can differ by a few months.",
        "rp_band_off": "No Monte Carlo band (0 runs): the curve is the expected outcome.",
        "rp_comparison": "What-ifs side by side",
        "rp_comparison_note": "In brackets: the difference against “{base}”.",
        "rp_kpi": "Figure",
        "rp_changes": "What differs from the scenario as loaded",
        "rp_changes_none": "Nothing: the report shows the scenario as loaded.",
        "rp_setting": "Setting",
        "rp_before": "In the scenario",
        "rp_after": "In this report",
        "rp_value": "Value",
        "rp_reason": "Why",
        "rp_assumptions": "Assumptions in the scenario file",
        "rp_assumptions_note": "Values the source articles do not give, with the reason written next to "
        "them in the scenario file (as written there).",
        "rp_assumptions_none": "The scenario file marks no assumptions.",
        "rp_more": "… and {n} more",
        "rp_footer": "funnel-sim {version} · {date}",
        "rp_on": "on",
        "rp_off": "off",
        "rp_f_horizon_months": "Horizon",
        "rp_f_discount_rate_annual": "Discount rate a year",
        "rp_f_currency": "Currency",
        "rp_f_first_purchase.revenue": "Price of a first sale",
        "rp_f_sales_desk.handling": "Handling time",
        "rp_f_existing_customers.count": "Customers at the start",
        "rp_f_channels": "Channel",
        "rp_f_funnel": "Funnel stage",
        "rp_f_repeat": "Repeat purchase",
        "rp_f_name": "Name",
        "rp_val_exponential": "varies (exponential)",
        "rp_val_fixed": "always the same",
        # --- tx_: tiles, the verdict and the downloads (formatting helpers below)
        "tx_never": "never",
        "tx_first_sale": "at the first sale",
        "tx_over": "over {span}",
        "tx_unbounded": "unbounded",
        "tx_no_churn": "no churn: nobody leaves",
        "tx_loyal_forever": "some customers practically never leave",
        "tx_no_sales": "nothing is sold",
        "tx_no_leads": "no leads",
        "tx_band_why": "The tiles and the solid curve are the expected (average) outcome; the median is the "
        "month of the middle run, so the two can differ by a few months.",
        "tx_v_paid_one": "At {cpl} a lead ({channel})",
        "tx_v_paid_avg": "At {cpl} a lead on average",
        "tx_v_free": "With no paid leads",
        "tx_v_need": "you need {need}",
        "tx_v_no_need": "you need no money up front",
        "tx_v_back": "the money comes back in month {n} ({when})",
        "tx_v_back_first": "the business is in the black from the first month and makes {final} in {span}",
        "tx_v_never": "the money does not come back within {span}: after {months} the business is {short} "
        "down",
        "tx_v_with_need": "{cost} {need}; {outcome}.",
        "tx_v_without_need": "{cost} {outcome}.",
        "tx_about_years": "about {years}",
        "tx_about_one_year": "about a year",
        "tx_within_year": "within the first year",
        "tx_sheet_monthly": "Monthly",
        "tx_sheet_kpis": "Key figures",
        "tx_sheet_cash": "Cumulative cash",
        "tx_v_back_date": "the money comes back in month {n}, {date} ({when})",
        "tx_ltv_gross": "LTV is net of what serving a customer costs (the programme's contacts, fixing "
        "problems): {net}; before those costs (gross margin) it is {gross}.",
        "break_even_at_date": "break-even: {date}",
        "date": "Date",
        "ch_year": "Year",
        "cooling_none": "empty: leads do not go cold",
        # --- pl_: the plan over time (its tab, its tables and the line above the chart)
        "tab_plan": "Plan over time",
        "tab_channels": "Channels",
        "pl_intro": "Change levers month by month: a new value from a month on (a step), a steady change a "
        "month (a trend) or a pattern that repeats every year (seasonality). The verdict, the chart, the "
        "tiles and the link follow at once.",
        "pl_start": "First month (YYYY-MM)",
        "pl_start_none": "empty: months are numbered",
        "pl_start_help": "The calendar month of month 1: the charts and the downloads then show dates, and "
        "seasonality follows the calendar (January first). Empty: months are numbered 1, 2, 3 …",
        "pl_steps": "Steps: from a month on, a lever takes a new value",
        "pl_steps_help": "Add a row under the table (+); tick rows and press the bin to remove them. The "
        "value is in the lever's unit (shares in %). Counts and durations (salespeople, handling time, "
        "intervals) change by steps only.",
        "pl_trends": "Trends: a steady change every month, compounded",
        "pl_trends_help": "E.g. 1 % a month: the price of a lead grows by about 12.7 % a year. Negative: it "
        "falls.",
        "pl_seasonality": "Seasonality: a multiplier for each month of the year (1 = as usual)",
        "pl_seasonality_help": "E.g. 0.8 in January: 20 % fewer leads than usual that month.",
        "pl_season_numbered": "With no first month set, the columns are months 1–12 of the plan (then 13–24 "
        "and so on); set a first month to use calendar months.",
        "pl_from_month": "From month",
        "pl_lever": "Lever",
        "pl_value": "Value",
        "pl_rate": "% a month",
        "pl_invalid": "This part of the plan is not valid, so the page keeps its last valid version: {error}",
        "pl_incomplete": "“{table}”, row {n}: not complete yet, not used.",
        "pl_absent": "“{table}”, row {n}: “{lever}” is not in the scenario now (its part is off): the row is "
        "kept, not used.",
        "pl_twice": "“{table}”, row {n}: “{lever}” is set twice{when}; the last row counts.",
        "pl_twice_when": " from month {n}",
        "pl_reset": "Back to the scenario's own plan",
        "pl_path": "Planned lever to show",
        "pl_path_title": "{lever} by month",
        "pl_nothing": "Nothing is planned yet: every lever keeps its value in every month.",
        "pl_line": "Plan over time: {parts}.",
        "pl_line_start": "month 1 is {date}",
        # --- cn_: channels side by side
        "cn_title": "What each source of leads costs and brings",
        "cn_channel": "Channel",
        "cn_leads": "Leads, whole horizon",
        "cn_sales": "Sales, whole horizon",
        "cn_cac": "Cost to win a customer (CAC)",
        "cn_leads_per_sale": "Leads per sale",
        "cn_lost": "Lost leads",
        "cn_ltv_to_cac": "LTV / CAC",
        "cn_payback": "Payback of one customer",
        "cn_referrals": "Referrals",
        "cn_note": "Expected values over the whole horizon. A channel's CAC is its lead spend (for "
        "referrals: the bonuses) and its share of the salaries, per sale; LTV / CAC is the net LTV, the same "
        "for every customer once bought, per the channel's CAC.",
        "cn_none": "No leads in this scenario: nothing to compare.",
        "cn_next_q": "Where should the next {amount} a month go?",
        "cn_next_amount": "Extra lead budget a month, {cur}",
        "cn_next_yes": "Into **{channel}**: {leads} more leads a month; by month {h} the cash is **{gain}** "
        "higher, {be}.",
        "cn_next_no": "No channel's extra leads pay for themselves within {h} months: {amount} a month more "
        "into {channel}, the best of them ({leads} more leads a month), leaves **{loss}** less by the end; "
        "{be}.",
        "cn_next_none": "No paid channel with a price per lead to spend the money on.",
        "cn_be_same": "break-even stays in month {n}",
        "cn_be_sooner": "break-even {k} sooner (month {n})",
        "cn_be_later": "break-even {k} later (month {n})",
        "cn_be_new": "it breaks even in month {n} (never before)",
        "cn_be_lost": "it no longer breaks even within the horizon",
        "cn_be_never": "it still does not break even within the horizon",
        "cn_be_same_short": "no change (month {n})",
        "cn_be_sooner_short": "{k} sooner (month {n})",
        "cn_be_later_short": "{k} later (month {n})",
        "cn_be_new_short": "month {n} (never before)",
        "cn_be_lost_short": "never (within the horizon)",
        "cn_be_never_short": "still never",
        "cn_extra_leads": "More leads a month",
        "cn_cash_change": "Cash by the end",
        "cn_be_change": "Break-even",
        "a_staff_money": "For the money, the best is **{best}**: {diff} by month {h} against the {now} you "
        "have now.",
        "a_staff_money_now": "For the money, the best is the staff you have now (**{now}**): the most cash "
        "by month {h}.",
        "a_staff_money_small": "For the money, staff hardly matter here: the best, **{best}**, adds only "
        "{diff} by month {h} (now {now}).",
        "a_staff_money_free": "Salaries are 0 in this scenario, so extra salespeople cost nothing.",
        "a_staff_money_edge": "More salespeople than {high} may be better still: the search stopped there.",
        # --- rt_: customers alike or different (the retention model)
        "rt_model": "Customers' churn",
        "rt_constant": "the same for everyone",
        "rt_sbg": "customers differ",
        "rt_model_help": "The same for everyone: every customer leaves with the monthly churn. Customers "
        "differ: each customer has a churn of their own around the same mean (a Beta distribution with "
        "shapes α and β), so the fickle leave early and those who stay are ever more loyal: after a few "
        "years more customers are left than with the same churn for everyone.",
        "rt_help_shape": "α and β shape how churn differs between customers around the monthly churn, "
        "which stays the mean churn of a new customer. The smaller α + β, the more customers differ. The "
        "page starts at α = 2 and β = 2 × (1 − churn) / churn; at α = 1 or below some customers practically "
        "never leave, so a customer's margin over their whole life has no end unless it is discounted.",
        "rt_chart_title": "Customers of one month still with you",
        "rt_axis": "Still customers",
        "rt_years": "Years after the purchase",
        "rt_series_constant": "churn alike",
        "rt_series_sbg": "customers differ",
        "rt_caption": "A year after the purchase {alike} of a month's customers stay with churn the same for "
        "everyone, {differ} when customers differ; after {span}, {alike_end} and {differ_end}. A new "
        "customer's mean churn is {churn} a month in both (without the programme and problems).",
        # --- un_: values not known for sure (ranges), the chance to break even, what to find out first
        "tab_uncertainty": "Not sure?",
        "un_intro": "Not sure of a value? Give it a range: the lowest and the highest it may be, and the "
        "most likely one if you have a guess. Each Monte Carlo run then draws every such value from its "
        "range, so the band and the chance to break even carry what you do not know as well as chance. The "
        "tiles and the expected curve keep the levers' values.",
        "un_table": "Ranges of the values you are not sure of",
        "un_low": "Lowest",
        "un_mode": "Most likely",
        "un_high": "Highest",
        "un_table_help": "Add a row under the table (+): pick a lever, type the lowest and the highest value "
        "(shares in %) and, if you have a guess, the most likely one (empty: every value in between is as "
        "likely). Tick rows and press the bin to remove them.",
        "un_invalid": "These ranges cannot be used, so the page keeps the last ones that could: {error}",
        "un_incomplete": "Ranges, row {n}: not complete yet (a lever, the lowest and the highest value), not "
        "used.",
        "un_absent": "Ranges, row {n}: “{lever}” is not in the scenario now (its part is off): the row is "
        "kept but not used.",
        "un_twice": "Ranges, row {n}: “{lever}” has a range already; the last row counts.",
        "un_reset": "Back to the scenario's own ranges",
        "un_on_label": "(not sure: {range})",
        "un_button": "Not sure of a value? Give it a range",
        "un_none": "No ranges yet: every value is taken as known, and the band shows chance alone.",
        "un_p_label": "Chance to break even by month {n}",
        "un_p_help": "Share of Monte Carlo runs whose cumulative cash stays at or above zero from month {n} "
        "to the end of the horizon; each run draws the values you are not sure of from their ranges. The "
        "month is the one asked in the Answers tab.",
        "un_p_band": "Monte Carlo runs: {n}; each draws the values you are not sure of from their ranges.",
        "un_p_band_plain": "Monte Carlo runs: {n}; no ranges given, so chance alone.",
        "un_p_fast": "A first estimate from the expected model over {n} draws of your ranges (without the "
        "chance of each run); the Monte Carlo band's figure replaces it when it is ready.",
        "un_drivers_title": "What should I find out first?",
        "un_drivers_sub": "How much of the spread of the {metric} each value you are not sure of causes",
        "un_total": "with its interactions",
        "un_first": "on its own",
        "un_axis": "Share of the spread",
        "un_drivers_caption": "The longest bar is the value worth finding out first: pinning it down narrows "
        "the {metric} the most. “On its own”: the spread it causes by itself; “with its interactions”: also "
        "together with the other values. From the expected model over the ranges (Sobol indices).",
        "un_drivers_none": "Give a range to at least one value to see which one to find out first.",
        "un_drivers_flat": "None of the ranges moves the {metric} here.",
        "un_drivers_failed": "Could not rank the ranges: {error}",
        "un_drivers_wait": "Ranking the values by the spread they cause…",
        # --- rp_: the plan over time, customers and ranges in the report's list of differences
        "rp_f_start": "First month",
        "rp_f_plan.from_month": "A plan step's first month",
        "rp_f_retention.model": "Customers' churn",
        "rp_val_constant": "the same for everyone",
        "rp_val_sbg": "customers differ",
        "rp_step": "From month {n}: {lever}",
        "rp_step_date": "From month {n} ({date}): {lever}",
        "rp_trend": "Trend: {lever}",
        "rp_trend_value": "{rate} a month",
        "rp_season": "Seasonality: {lever}",
        "rp_range": "Not sure: {lever}",
        "rp_range_value": "from {low} to {high}",
        "rp_range_mode": "from {low} to {high}, most likely {mode}",
        "rp_band_ranges": "Each run draws the values not known for sure from their ranges ({n}).",
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
        "mc_help": "Закрашенная полоса показывает, где оказываются 8 прогонов из 10 (P10–P90). Каждый прогон "
        "проигрывает бизнес месяц за месяцем, и случай решает, какие лиды купят и какие клиенты уйдут. Чем "
        "больше прогонов, тем устойчивее полоса; при том же числе прогонов и том же зерне полоса всегда "
        "та же.",
        "scenario_is": "Сценарий: **{name}**, {horizon} мес., суммы в {currency}.",
        "link_problem": "Не все настройки из ссылки удалось применить: {problems}",
        "invalid": "Такие настройки — недопустимый сценарий: {error}",
        "model_failed": "Модель не смогла посчитать эти настройки: {error}",
        "t_break_even_month": "Месяц окупаемости бизнеса",
        "t_max_cash_need": "Нужно вложить в бизнес",
        "t_cac": "Цена привлечения клиента (CAC)",
        "t_ltv": "Чистая маржа клиента за всё время (LTV)",
        "t_ltv_to_cac": "LTV / CAC одного клиента",
        "t_payback_months": "Окупаемость одного клиента",
        "t_leads_per_sale": "Лидов на одну продажу",
        "t_lost_lead_share": "Потерянные лиды",
        "h_break_even_month": "Весь бизнес: первый месяц, с которого всё заработанное покрывает всё "
        "потраченное и до конца не уходит в минус. Он наступает позже окупаемости одного клиента: сначала "
        "бизнес должен вернуть убытки всех прошлых месяцев. «нет» — не в пределах горизонта. Плитки "
        "показывают ожидаемый (средний) исход; медиана полосы Монте-Карло может отличаться на несколько "
        "месяцев: это месяц прогона посередине из многих случайных.",
        "h_max_cash_need": "Весь бизнес: самая глубокая точка накопленных денег — столько нужно вложить, "
        "пока деньги не начнут возвращаться (ожидаемый исход).",
        "h_cac": "Один клиент: расходы на лиды, бонусы за рекомендации и зарплаты, делённые на число новых "
        "клиентов. «—» — продаж нет, и цену клиента посчитать не из чего.",
        "h_ltv": "Один клиент: маржа, которую новый клиент приносит за всё время с вами, включая первую "
        "покупку, за вычетом затрат на его обслуживание (контакты программы, решение проблем); валовая "
        "маржа без этих затрат — под плитками, если она другая. «без предела» — клиенты в среднем "
        "остаются навсегда (оттока нет или клиенты так различаются, что часть из них практически не уходит), "
        "и сумма не кончается.",
        "h_ltv_to_cac": "Один клиент: сколько приносит клиент на каждый рубль, потраченный на его "
        "привлечение; меньше 1 — каждый новый клиент в убыток.",
        "h_payback_months": "Один клиент: сколько времени после покупки маржа клиента покрывает затраты на "
        "его привлечение (CAC). Бизнес в целом окупается позже: сначала он возвращает убытки всех прошлых "
        "месяцев.",
        "h_leads_per_sale": "Все лиды, платные и по рекомендациям, на одну продажу. «—» — продаж нет.",
        "h_lost_lead_share": "Доля всех лидов, которые не дождались продавца.",
        "never": "нет",
        "dash": "—",
        "month_n": "{n}-й месяц",
        "months_n": "{n} мес.",
        "was": "было: {value}",
        "same": "как в сценарии",
        "vs_preset": "Плитки показывают ожидаемый (средний) исход; изменения — относительно сценария в "
        "загруженном виде.",
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
        "band_ready": "Полоса: {reps}, зерно {seed}, {seconds} с; деньги возвращаются в пределах горизонта "
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
        "a_staff": "**{value}** — теряется не больше {share} лидов (сейчас {now}: {lost}).",
        "a_staff_one": "Даже **один** продавец теряет не больше {share} лидов (сейчас {now}: {lost}).",
        "a_staff_none": "Даже {value} — потери выше {share}.",
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
        # --- pin_: закреплённые варианты рядом
        "pin_title": "Варианты рядом",
        "pin_name": "Название этих настроек",
        "pin_add": "Закрепить вариант",
        "pin_help": "Сохраняет текущие настройки под названием (до {n} вариантов): их кривая остаётся на "
        "графике, а показатели попадают в таблицу рядом с другими. Ссылка и отчёт их тоже сохраняют.",
        "pin_hint": "Закрепите до {n} вариантов, чтобы видеть их кривые на графике и показатели рядом; "
        "ссылка их сохранит.",
        "pin_default": "Вариант {n}",
        "pin_full": "Закрепить можно не больше {n} вариантов: уберите один, чтобы закрепить новый.",
        "pin_same": "Эти настройки уже закреплены — как «{name}».",
        "pin_taken": "Название «{name}» уже занято другим вариантом: выберите другое.",
        "pin_reserved": "«{name}» — так уже называется линия на графике: выберите другое название.",
        "pin_no_name": "У закреплённого варианта должно быть название.",
        "pin_rename": "Название варианта {n}",
        "pin_remove": "Убрать «{name}»",
        "pin_base": "Сравнивать с",
        "pin_kpi": "Показатель",
        "pin_note": "Ожидаемые значения, как на плитках; в скобках — разница с вариантом «{base}».",
        "pin_failed": "Вариант «{name}» не удалось рассчитать: {error}",
        # --- ch_: графики (оси, пояснения, подсказки) и фраза о сервисной программе
        "ch_years": "Годы от начала",
        "ch_age_years": "Годы после покупки",
        "ch_cohort_quarter": "Когорта (месяцы покупки)",
        "ch_cohort_year": "Когорта (год покупки)",
        "ch_year_n": "{n}-й год",
        "ch_months_range": "мес. {a}–{b}",
        "ch_cohort_note": "Красное — ещё не окупилось, белое — окупилось ровно (маржа = затратам), зелёное — "
        "окупилось с запасом. Чёрная линия показывает, когда окупается каждая когорта.",
        "ch_paid_back_at": "Окупается через, мес. после покупки",
        "ch_axis_cue": "←\u00a0{low}\u2003·\u2003{high}\u00a0→",
        "ch_sooner": "раньше",
        "ch_later": "позже",
        "ch_less_cash": "меньше денег",
        "ch_more_cash": "больше денег",
        "ch_less_funding": "меньше вложений",
        "ch_more_funding": "больше вложений",
        "ch_lower": "ниже",
        "ch_higher": "выше",
        "ch_lever_value": "Значение рычага",
        "ch_base_value": "Без изменения",
        "ch_sens_none": "Ни один рычаг при изменении на ±20 % не двигает {metric}.",
        "ch_dropped_one": "Не показан {n} рычаг без влияния на {metric}: {names}.",
        "ch_dropped_few": "Не показаны {n} рычага без влияния на {metric}: {names}.",
        "ch_dropped_many": "Не показаны {n} рычагов без влияния на {metric}: {names}.",
        "ch_dropped_other": "Не показаны {n} рычага без влияния на {metric}: {names}.",
        "ch_now_optimum": "сейчас = оптимум",
        "ch_extra_margin": "Доп. маржа в год",
        "ch_programme_cost": "Затраты программы в год",
        "ch_prog_flat_note": "Линия ровная: здесь контакты не меняют ни отток, ни затраты, поэтому их число "
        "ни на что не влияет.",
        "ch_prog_linear_note": "Здесь контакты не снижают отток, а каждый стоит денег: линия идёт вниз.",
        "ch_prog_head": "Программа добавляет **{extra}** маржи в год при затратах **{cost}**: она {verb} "
        "**{net}** в год.",
        "ch_prog_flat": "Число контактов этого не меняет: контакты не влияют на отток ({why}) и ничего не "
        "стоят, поэтому итог одинаков при любом их числе; всё решают постоянные затраты программы против "
        "маржи, которую она добавляет.",
        "ch_prog_linear": "Контакты здесь не снижают отток ({why}), поэтому каждый контакт только добавляет "
        "затраты: без контактов программа дала бы {opt} в год.",
        "ch_prog_best": "Контактов сейчас столько, сколько выгоднее всего: {k} в месяц.",
        "ch_why_no_reduction": "максимальное снижение оттока у программы равно 0",
        "ch_why_no_churn": "оттока и так нет",
        "ch_why_unknown": "снижение оттока не задано или оттока нет",
        # --- pg_: страница (три шага, словарь, загрузка файла, ответ про отдел продаж)
        "pg_guide_title": "С чего начать: история из статьи в трёх шагах",
        "pg_guide_intro": "Нажмите на шаг и смотрите на кривую выше: вывод и плитки меняются вместе с ней.",
        "pg_step_loss": "1 · Убыток",
        "pg_step_service": "2 · + Сервисные визиты",
        "pg_step_referrals": "3 · + Рекомендации",
        "pg_step_loss_text": "Обычный автосалон: каждый новый клиент обходится в звонках дороже, чем "
        "приносит проданная машина. Деньги уходят в минус без конца.",
        "pg_step_service_text": "Клиенты возвращаются на ТО, ремонт и шиномонтаж, и каждый визит приносит "
        "маржу. Кривая всё ещё падает, но намного медленнее.",
        "pg_step_referrals_text": "Довольные клиенты рекомендуют салон, а покупатель по рекомендации не "
        "стоит ни одного звонка. Теперь кривая разворачивается и пересекает ноль: это месяц окупаемости.",
        "pg_guide_hide": "Понятно, скрыть",
        "pg_guide_show": "Показать три шага ещё раз",
        "pg_glossary": "Что означают термины",
        "pg_gl_break_even_month": "**{label}**: первый месяц, с которого накопленные деньги бизнеса больше "
        "не опускаются ниже нуля, то есть потраченное на лиды вернулось.",
        "pg_gl_max_cash_need": "**{label}**: самая глубокая точка кривой накопленных денег, то есть сколько "
        "денег нужно бизнесу, пока он не начнёт окупать себя.",
        "pg_gl_cac": "**{label}**: во сколько обходится один новый клиент (стоимость привлечения, CAC): "
        "расходы на лиды, бонусы за рекомендации и зарплаты, делённые на число новых клиентов.",
        "pg_gl_ltv": "**{label}**: маржа, которую один клиент приносит за всё время с бизнесом, включая "
        "первую покупку, за вычетом затрат на его обслуживание (контакты программы, решение проблем): "
        "чистая пожизненная ценность клиента, LTV. Без этих затрат — валовый LTV.",
        "pg_gl_payback_months": "**{label}**: сколько месяцев после покупки нужно, чтобы маржа клиента "
        "покрыла затраты на его привлечение (это один клиент; месяц окупаемости — весь бизнес).",
        "pg_gl_band": "**Полоса P10–P90**: бизнес много раз проигрывается со случайностью (кто позвонит, "
        "кто купит, кто вернётся); в 8 прогонах из 10 кривая остаётся внутри полосы.",
        "pg_gl_replications": "**Прогоны**: сколько таких прогонов строят полосу; чем их больше, тем ровнее "
        "полоса, но дольше ждать. **Зерно** (seed) фиксирует случайность: то же зерно — та же полоса.",
        "pg_mc_title": "Полоса Монте-Карло (для аналитиков)",
        "pg_upload_bad": "Этот файл не принят: {error}",
        "pg_upload_kept": "На странице по-прежнему последний рабочий сценарий: **{name}**.",
        "pg_upload_waiting": "Файл ещё не загружен: пока на странице сценарий **{name}**.",
        "pg_desk_idle": "При этих настройках отдел продаж никогда не становится узким местом: хватит и "
        "**одного** продавца. Лидов в месяц: {calls}, по {minutes} мин на каждого, это {call_hours} ч "
        "разговоров, а рабочий день одного продавца ({hours} ч) даёт {open_hours} ч в месяц.",
        "pg_desk_why_night": "Клиент ждёт ответа до {patience} ч, дольше, чем отдел закрыт ({closed} ч), "
        "поэтому ночные обращения разбирают утром и никто не теряется.",
        "pg_desk_why_night_any": "Клиенты ждут сколько угодно, поэтому ночные обращения разбирают утром и "
        "никто не теряется.",
        "pg_desk_why_day": "Отдел работает круглосуточно, а клиент ждёт до {patience} ч: так долго ждать не "
        "приходится никому, и никто не теряется.",
        "pg_desk_why_day_any": "Отдел работает круглосуточно, а клиенты ждут сколько угодно, поэтому никто "
        "не теряется.",
        "pg_desk_wait": "Дополнительные продавцы только сокращают ожидание: в среднем {one} ч с одним "
        "продавцом и {now} ч при нынешнем штате ({staff}).",
        "pg_desk_matters": "Штат начнёт влиять, если лидов станет больше, разговоры длиннее или клиенты "
        "нетерпеливее (рычаги в группе «{group}»).",
        "pg_desk_night_loss": "Никакой штат не удержит потери в пределах {share}: {floor} звонящих уходят, "
        "пока отдел закрыт (они ждут не дольше {patience} ч, а отдел закрыт {closed} ч в сутки). Их удержат "
        "более длинный рабочий день или обратный звонок утром.",
        "rp_download": "Отчёт (PDF)",
        "rp_title": "Юнит-экономика: {name}",
        "rp_subtitle": "Горизонт {horizon} мес., суммы в {currency} · отчёт от {date}",
        "rp_whatif": "Вариант сценария «{preset}»: отличия перечислены ниже.",
        "rp_date": "{d:%d.%m.%Y}",
        "rp_tiles_note": "Ожидаемый (средний) результат модели.",
        "rp_tiles_note_changed": "Ожидаемый (средний) результат модели; рядом с цифрой — изменение "
        "относительно сценария в загруженном виде.",
        "rp_band": "Заливка — где оказываются 8 прогонов из 10 (P10–P90); прогонов Монте-Карло: {reps}, "
        "зерно {seed}. Окупаемость в пределах горизонта — в {p} прогонов; медианный месяц окупаемости — "
        "{median}. Кривая и плитки — ожидаемый результат, поэтому медиана прогонов может отличаться на "
        "несколько месяцев.",
        "rp_band_off": "Без полосы Монте-Карло (0 прогонов): кривая — ожидаемый результат.",
        "rp_comparison": "Варианты рядом",
        "rp_comparison_note": "В скобках — разница с вариантом «{base}».",
        "rp_kpi": "Показатель",
        "rp_changes": "Чем вариант отличается от сценария",
        "rp_changes_none": "Ничем: в отчёте сценарий как есть.",
        "rp_setting": "Параметр",
        "rp_before": "В сценарии",
        "rp_after": "В отчёте",
        "rp_value": "Значение",
        "rp_reason": "Почему",
        "rp_assumptions": "Допущения в файле сценария",
        "rp_assumptions_note": "Значения, которых нет в статьях, и причина, записанная рядом с ними в "
        "файле сценария (как в файле).",
        "rp_assumptions_none": "В файле сценария нет отмеченных допущений.",
        "rp_more": "… и ещё {n}",
        "rp_footer": "funnel-sim {version} · {date}",
        "rp_on": "вкл.",
        "rp_off": "выкл.",
        "rp_f_horizon_months": "Горизонт",
        "rp_f_discount_rate_annual": "Ставка дисконтирования в год",
        "rp_f_currency": "Валюта",
        "rp_f_first_purchase.revenue": "Цена первой покупки",
        "rp_f_sales_desk.handling": "Время на одного лида",
        "rp_f_existing_customers.count": "Клиентов на старте",
        "rp_f_channels": "Канал",
        "rp_f_funnel": "Этап воронки",
        "rp_f_repeat": "Повторная покупка",
        "rp_f_name": "Название",
        "rp_val_exponential": "разное (экспоненциальное)",
        "rp_val_fixed": "всегда одинаковое",
        # --- tx_: плитки, вывод и выгрузки
        "tx_never": "никогда",
        "tx_first_sale": "с первой продажи",
        "tx_over": "более {span}",
        "tx_unbounded": "без предела",
        "tx_no_churn": "оттока нет: клиенты не уходят",
        "tx_loyal_forever": "часть клиентов практически не уходит",
        "tx_no_sales": "продаж нет",
        "tx_no_leads": "лидов нет",
        "tx_band_why": "Плитки и сплошная кривая — ожидаемый (средний) исход, а медиана — месяц прогона "
        "посередине, поэтому они могут расходиться на несколько месяцев.",
        "tx_v_paid_one": "При цене лида {cpl} ({channel})",
        "tx_v_paid_avg": "При средней цене лида {cpl}",
        "tx_v_free": "Без платных лидов",
        "tx_v_need": "нужно вложить {need}",
        "tx_v_no_need": "вкладывать ничего не нужно",
        "tx_v_back": "деньги вернутся на {n}-\u2060м месяце ({when})",  # word joiner: no break at the hyphen
        "tx_v_back_first": "бизнес в плюсе с первого месяца и за {span} заработает {final}",
        "tx_v_never": "деньги не вернутся за {span}: через {months} бизнес в минусе на {short}",
        "tx_v_with_need": "{cost} {need}; {outcome}.",
        "tx_v_without_need": "{cost} {outcome}.",
        "tx_about_years": "примерно через {years}",
        "tx_about_one_year": "примерно через год",
        "tx_within_year": "в течение первого года",
        "tx_sheet_monthly": "По месяцам",
        "tx_sheet_kpis": "Показатели",
        "tx_sheet_cash": "Накопленные деньги",
        "tx_v_back_date": "деньги вернутся на {n}-\u2060м месяце, {date} ({when})",
        "tx_ltv_gross": "LTV — за вычетом затрат на обслуживание клиента (контакты программы, решение "
        "проблем): {net}; без этих затрат (валовая маржа) — {gross}.",
        "break_even_at_date": "окупаемость: {date}",
        "date": "Дата",
        "ch_year": "Год",
        "cooling_none": "пусто: лиды не остывают",
        # --- pl_: план по месяцам (вкладка, таблицы и строка над графиком)
        "tab_plan": "План по месяцам",
        "tab_channels": "Каналы",
        "pl_intro": "Меняйте рычаги по месяцам: новое значение с какого-то месяца (шаг), равномерное "
        "изменение каждый месяц (тренд) или картина, которая повторяется каждый год (сезонность). Вывод, "
        "график, плитки и ссылка меняются сразу.",
        "pl_start": "Первый месяц (ГГГГ-ММ)",
        "pl_start_none": "пусто — месяцы по номерам",
        "pl_start_help": "Календарный месяц первого месяца: тогда на графиках и в выгрузках — даты, а "
        "сезонность идёт по календарю (первым — январь). Пусто — месяцы просто нумеруются: 1, 2, 3 …",
        "pl_steps": "Шаги: с какого-то месяца рычаг получает новое значение",
        "pl_steps_help": "Добавьте строку под таблицей (+); чтобы удалить строки, отметьте их и нажмите на "
        "корзину. Значение — в единицах рычага (доли — в %). Количества и сроки (продавцы, время на лида, "
        "интервалы визитов) меняются только шагами.",
        "pl_trends": "Тренды: равномерное изменение каждый месяц, сложным процентом",
        "pl_trends_help": "Например, 1 % в месяц: цена лида растёт примерно на 12,7 % в год. Минус — "
        "снижается.",
        "pl_seasonality": "Сезонность: множитель для каждого месяца года (1 — как обычно)",
        "pl_seasonality_help": "Например, 0,8 в январе: в этом месяце лидов на 20 % меньше обычного.",
        "pl_season_numbered": "Пока первый месяц не задан, столбцы — это месяцы 1–12 плана (затем 13–24 и "
        "так далее); задайте первый месяц, чтобы сезонность шла по календарю.",
        "pl_from_month": "С месяца",
        "pl_lever": "Рычаг",
        "pl_value": "Значение",
        "pl_rate": "% в месяц",
        "pl_invalid": "Эта часть плана недопустима, поэтому на странице — её последний допустимый вариант: "
        "{error}",
        "pl_incomplete": "«{table}», строка {n}: ещё не заполнена, не учитывается.",
        "pl_absent": "«{table}», строка {n}: рычага «{lever}» сейчас нет в сценарии (его часть выключена): "
        "строка сохранена, но не учитывается.",
        "pl_twice": "«{table}», строка {n}: рычаг «{lever}» задан дважды{when}; учитывается последняя "
        "строка.",
        "pl_twice_when": " с {n}-го месяца",
        "pl_reset": "Вернуть план самого сценария",
        "pl_path": "Какой рычаг показать",
        "pl_path_title": "{lever} по месяцам",
        "pl_nothing": "Пока ничего не запланировано: каждый рычаг одинаков во все месяцы.",
        "pl_line": "План по месяцам: {parts}.",
        "pl_line_start": "первый месяц — {date}",
        # --- cn_: каналы рядом
        "cn_title": "Во что обходится и что приносит каждый источник лидов",
        "cn_channel": "Канал",
        "cn_leads": "Лиды за весь горизонт",
        "cn_sales": "Продажи за весь горизонт",
        "cn_cac": "Цена привлечения клиента (CAC)",
        "cn_leads_per_sale": "Лидов на одну продажу",
        "cn_lost": "Потерянные лиды",
        "cn_ltv_to_cac": "LTV / CAC",
        "cn_payback": "Окупаемость одного клиента",
        "cn_referrals": "Рекомендации",
        "cn_note": "Ожидаемые значения за весь горизонт. CAC канала — его расходы на лиды (у рекомендаций — "
        "бонусы) и его доля зарплат продавцов на одну продажу; LTV / CAC — чистый LTV, одинаковый для всех "
        "купивших клиентов, делённый на CAC канала.",
        "cn_none": "В этом сценарии нет лидов: сравнивать нечего.",
        "cn_next_q": "Куда вложить следующие {amount} в месяц?",
        "cn_next_amount": "Дополнительный бюджет на лиды в месяц, {cur}",
        "cn_next_yes": "В канал **{channel}**: лидов в месяц больше на {leads}; к {h}-му месяцу денег на "
        "**{gain}** больше, {be}.",
        "cn_next_no": "Ни в одном канале дополнительные лиды не окупаются за {h} мес.: ещё {amount} в месяц "
        "в лучший из них, {channel} (лидов в месяц больше на {leads}), к концу дают на **{loss}** меньше; "
        "{be}.",
        "cn_next_none": "Нет платного канала с ценой лида, куда можно вложить деньги.",
        "cn_be_same": "окупаемость остаётся на {n}-м месяце",
        "cn_be_sooner": "окупаемость на {k} раньше ({n}-й месяц)",
        "cn_be_later": "окупаемость на {k} позже ({n}-й месяц)",
        "cn_be_new": "бизнес окупается на {n}-м месяце (раньше не окупался)",
        "cn_be_lost": "бизнес больше не окупается в пределах горизонта",
        "cn_be_never": "бизнес по-прежнему не окупается в пределах горизонта",
        "cn_be_same_short": "без изменений ({n}-й месяц)",
        "cn_be_sooner_short": "на {k} раньше ({n}-й месяц)",
        "cn_be_later_short": "на {k} позже ({n}-й месяц)",
        "cn_be_new_short": "{n}-й месяц (раньше не было)",
        "cn_be_lost_short": "нет (в пределах горизонта)",
        "cn_be_never_short": "по-прежнему нет",
        "cn_extra_leads": "Больше лидов в месяц",
        "cn_cash_change": "Деньги к концу",
        "cn_be_change": "Окупаемость",
        "a_staff_money": "По деньгам лучше всего **{best}**: {diff} к {h}-му месяцу по сравнению с нынешним "
        "штатом ({now}).",
        "a_staff_money_now": "По деньгам лучше всего нынешний штат (**{now}**): больше всего денег к {h}-му "
        "месяцу.",
        "a_staff_money_small": "По деньгам штат здесь почти ничего не меняет: лучший вариант, **{best}**, "
        "добавляет лишь {diff} к {h}-му месяцу (сейчас {now}).",
        "a_staff_money_free": "Зарплата продавцов в этом сценарии равна 0, поэтому лишние продавцы ничего не "
        "стоят.",
        "a_staff_money_edge": "Возможно, ещё больше продавцов было бы ещё лучше: поиск остановился на "
        "{high}.",
        # --- rt_: клиенты одинаковые или разные (модель оттока)
        "rt_model": "Отток клиентов",
        "rt_constant": "одинаковый у всех",
        "rt_sbg": "у клиентов разный",
        "rt_model_help": "Одинаковый у всех: каждый клиент уходит с месячным оттоком. У клиентов разный: у "
        "каждого клиента свой отток вокруг того же среднего (бета-распределение с параметрами α и β), "
        "поэтому непостоянные уходят рано, а оставшиеся всё вернее: через несколько лет клиентов остаётся "
        "больше, чем при одинаковом оттоке.",
        "rt_help_shape": "α и β задают, насколько отток разных клиентов отличается от месячного оттока, "
        "который остаётся средним оттоком нового клиента. Чем меньше α + β, тем сильнее клиенты "
        "различаются. Страница начинает с α = 2 и β = 2 × (1 − отток) / отток; при α = 1 и меньше часть "
        "клиентов практически не уходит, и маржа клиента за всё время без дисконтирования не ограничена.",
        "rt_chart_title": "Сколько клиентов одного месяца остаются с вами",
        "rt_axis": "Остаются клиентами",
        "rt_years": "Годы после покупки",
        "rt_series_constant": "отток одинаковый",
        "rt_series_sbg": "клиенты разные",
        "rt_caption": "Через год после покупки остаются {alike} клиентов месяца при одинаковом оттоке и "
        "{differ}, если клиенты разные; через {span} — {alike_end} и {differ_end}. Средний отток нового "
        "клиента в обоих случаях {churn} в месяц (без программы и проблем).",
        # --- un_: значения, в которых нет уверенности (диапазоны), шанс окупиться, что выяснить первым
        "tab_uncertainty": "Не уверены?",
        "un_intro": "Не уверены в значении? Задайте диапазон: самое низкое и самое высокое значение и, если "
        "есть догадка, самое вероятное. Тогда каждый прогон Монте-Карло берёт такое значение из его "
        "диапазона, и полоса и шанс окупиться учитывают и то, чего вы не знаете, и случайность. Плитки и "
        "ожидаемая кривая считаются по значениям рычагов.",
        "un_table": "Диапазоны значений, в которых вы не уверены",
        "un_low": "Не меньше",
        "un_mode": "Скорее всего",
        "un_high": "Не больше",
        "un_table_help": "Добавьте строку под таблицей (+): выберите рычаг, впишите самое низкое и самое "
        "высокое значение (доли в %) и, если есть догадка, самое вероятное (пусто — все значения между ними "
        "одинаково вероятны). Чтобы удалить строки, отметьте их и нажмите корзину.",
        "un_invalid": "Эти диапазоны нельзя использовать, поэтому страница оставляет последние подходящие: "
        "{error}",
        "un_incomplete": "Диапазоны, строка {n}: ещё не заполнена (рычаг, самое низкое и самое высокое "
        "значение), не учитывается.",
        "un_absent": "Диапазоны, строка {n}: «{lever}» сейчас нет в сценарии (его часть выключена): строка "
        "сохранена, но не учитывается.",
        "un_twice": "Диапазоны, строка {n}: для «{lever}» диапазон уже задан; действует последняя строка.",
        "un_reset": "Вернуть диапазоны сценария",
        "un_on_label": "(не уверены: {range})",
        "un_button": "Не уверены в значении? Задайте диапазон",
        "un_none": "Диапазонов пока нет: все значения считаются известными, полоса показывает только "
        "случайность.",
        "un_p_label": "Шанс окупиться к месяцу {n}",
        "un_p_help": "Доля прогонов Монте-Карло, в которых накопленные деньги с месяца {n} и до конца "
        "горизонта не опускаются ниже нуля; каждый прогон берёт значения, в которых вы не уверены, из их "
        "диапазонов. Месяц — тот, что задан во вкладке «Ответы».",
        "un_p_band": "Прогонов Монте-Карло: {n}; в каждом значения, в которых вы не уверены, взяты из их "
        "диапазонов.",
        "un_p_band_plain": "Прогонов Монте-Карло: {n}; диапазоны не заданы, только случайность.",
        "un_p_fast": "Первая оценка по ожидаемой модели на {n} наборах значений из ваших диапазонов (без "
        "случайности каждого прогона); когда полоса Монте-Карло будет готова, цифра возьмётся из неё.",
        "un_drivers_title": "Что выяснить в первую очередь?",
        "un_drivers_sub": "Какую долю разброса показателя «{metric}» даёт каждое значение, в котором вы не "
        "уверены",
        "un_total": "вместе с взаимодействиями",
        "un_first": "само по себе",
        "un_axis": "Доля разброса",
        "un_drivers_caption": "Самая длинная полоса — значение, которое стоит выяснить первым: уточнив его, "
        "вы сильнее всего сузите показатель «{metric}». «Само по себе» — разброс, который значение даёт в "
        "одиночку; «вместе с взаимодействиями» — ещё и в сочетании с другими значениями. По ожидаемой модели "
        "на ваших диапазонах (индексы Соболя).",
        "un_drivers_none": "Задайте диапазон хотя бы для одного значения, чтобы увидеть, что выяснить "
        "первым.",
        "un_drivers_flat": "Ни один диапазон здесь не меняет показатель «{metric}».",
        "un_drivers_failed": "Не удалось упорядочить диапазоны: {error}",
        "un_drivers_wait": "Считаем, какое значение даёт больше разброса…",
        # --- rp_: план по месяцам, отток и диапазоны в списке отличий отчёта
        "rp_f_start": "Первый месяц",
        "rp_f_plan.from_month": "Первый месяц шага плана",
        "rp_f_retention.model": "Отток клиентов",
        "rp_val_constant": "одинаковый у всех",
        "rp_val_sbg": "у клиентов разный",
        "rp_step": "С месяца {n}: {lever}",
        "rp_step_date": "С месяца {n} ({date}): {lever}",
        "rp_trend": "Тренд: {lever}",
        "rp_trend_value": "{rate} в месяц",
        "rp_season": "Сезонность: {lever}",
        "rp_range": "Не уверены: {lever}",
        "rp_range_value": "от {low} до {high}",
        "rp_range_mode": "от {low} до {high}, скорее всего {mode}",
        "rp_band_ranges": "Каждый прогон берёт значения, в которых нет уверенности, из их диапазонов ({n}).",
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
    "channels.lead_quality": "Качество лидов: {name}",
    "sales_desk.cooling_half_life_hours": "Лид остывает вдвое за",
    "retention.alpha": "Разброс оттока α (клиенты разные)",
    "retention.beta": "Разброс оттока β (клиенты разные)",
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
    "× conversion": ("× the funnel's conversion", "× к конверсии воронки"),
    "contacts/month": ("per customer a month", "на клиента в мес."),
    "shape": ("shape parameter", "параметр формы"),
}
"""Units as shown after a lever's name (`{cur}` is the currency symbol)."""


def t(lang: str, key: str, **values: object) -> str:
    """The sentence `key` in `lang` (English if missing), with `values` filled in."""
    text = TEXTS.get(lang, TEXTS["en"]).get(key) or TEXTS["en"][key]
    return text.format(**values) if values else text


def symbol(currency: str) -> str:
    """The currency's symbol (`RUB` → `₽`), or the code itself."""
    return CURRENCY_SYMBOLS.get(currency.upper(), currency)


CURRENCY_IN_RU: dict[str, str] = {
    "RUB": "рублях",
    "USD": "долларах",
    "EUR": "евро",
    "GBP": "фунтах",
    "KZT": "тенге",
    "CNY": "юанях",
}
"""Russian names of currencies after «в» (суммы в рублях); others keep their code."""


def currency_phrase(currency: str, lang: str) -> str:
    """The currency as «amounts in …» says it: `RUB (₽)` in English, `рублях (₽)` in Russian."""
    code = currency.upper()
    name = CURRENCY_IN_RU.get(code, currency) if lang == "ru" else currency
    sym = symbol(currency)
    return f"{name} ({sym})" if sym != currency else name


def field_label(lang: str, key: str, name: str = "") -> str:
    """A lever's name (`key` = `section.field`; `name` fills a list item's `{name}`)."""
    en = BY_KEY[key].label if key in BY_KEY else key
    text = FIELD_LABELS_RU.get(key, en) if lang == "ru" else en
    return text.format(name=name)


def item_name(item: object, lang: str) -> str:
    """The name of a scenario, channel, funnel stage or repeat stream (anything with `name` and an
    optional `name_ru`) in `lang`: the Russian name on a Russian page when it has one, else `name`;
    an ASCII arrow `->` is shown as `→`."""
    name = (getattr(item, "name_ru", None) if lang == "ru" else None) or getattr(item, "name", "")
    return str(name).replace("->", "→")


UNIT_BY_KEY: dict[str, str] = {"channels.lead_quality": "× conversion"}
"""Levers whose unit reads otherwise than their catalogue unit's usual words (`×` alone is the referral
multiplier's `× a cold lead's`; a channel's lead quality multiplies the funnel's conversion)."""

PLACEHOLDERS: dict[str, str] = {
    "sales_desk.patience_hours": "patience_none",
    "sales_desk.cooling_half_life_hours": "cooling_none",
}
"""What an optional lever's empty box says (its text key), by `section.field`."""


def lever_unit(lang: str, key: str, unit: str, currency: str) -> str:
    """A lever's unit as shown after its name (`key` = `section.field`, `unit` its catalogue unit)."""
    return unit_label(lang, UNIT_BY_KEY.get(key, unit), currency)


def placeholder(lang: str, key: str) -> str:
    """What an optional lever's empty box says (`key` = `section.field`)."""
    return t(lang, PLACEHOLDERS.get(key, "patience_none"))


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
    """A span of months, short: `18` → `18 months` / `18 мес.`, `1` → `1 month`; NaN → `never` / `нет`
    (in words in both languages: `month_span`)."""
    if x is None or not math.isfinite(x):
        return t(lang, "never")
    if lang != "ru":
        return count(x, lang, "month", signed=signed).replace(NBSP, " ")
    return t(lang, "months_n", n=number(x, lang, 0, signed))


def ratio(x: float, lang: str = "en", signed: bool = False) -> str:
    """`2.027` → `2.03×`; NaN → `—`."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return t(lang, "dash")
    return number(x, lang, 2, signed) + ("" if math.isinf(x) else "×")


def format_kpi(
    metric: str, x: float, currency: str, lang: str, signed: bool = False, horizon: int | None = None
) -> str:
    """A KPI as a tile shows it (never `nan`: `—`, `never`, `unbounded`); `signed` for a change (`+3 months`).

    With the `horizon` (months), a payback later than it reads `over 10 years`, never a month count past it.
    """
    if metric == "break_even_month":
        return month_span(x, lang, signed) if signed else month(x, lang)
    if metric == "payback_months":
        return month_span(x, lang, signed) if signed else payback(x, lang, horizon)
    if metric in ("ltv", "ltv_to_cac") and not signed and x == math.inf:
        return t(lang, "tx_unbounded")
    if metric in ("max_cash_need", "cac", "ltv", "final_cumulative_cash", "npv"):
        return money(x, currency, lang, short=True, signed=signed)
    if metric == "ltv_to_cac":
        return ratio(x, lang, signed)
    if metric == "lost_lead_share":
        return percent(x, lang, 1, signed)
    if metric == "mean_wait_hours":
        return number(x, lang, 1, signed)
    return number(x, lang, 1, signed)


# --- plurals, spans of time and the downloads' columns (tx_) -----------------------------------------

NOUNS: dict[str, dict[str, tuple[str, ...]]] = {
    "month": {"en": ("month", "months"), "ru": ("месяц", "месяца", "месяцев", "месяца")},
    "year": {"en": ("year", "years"), "ru": ("год", "года", "лет", "года")},
    "run": {"en": ("run", "runs"), "ru": ("прогон", "прогона", "прогонов", "прогона")},
    "salesperson": {
        "en": ("salesperson", "salespeople"),
        "ru": ("продавец", "продавца", "продавцов", "продавца"),
    },
    "step": {"en": ("step", "steps"), "ru": ("шаг", "шага", "шагов", "шага")},
    "trend": {"en": ("trend", "trends"), "ru": ("тренд", "тренда", "трендов", "тренда")},
    "season": {
        "en": ("seasonal lever", "seasonal levers"),
        "ru": ("сезонный рычаг", "сезонных рычага", "сезонных рычагов", "сезонного рычага"),
    },
    "lead": {"en": ("lead", "leads"), "ru": ("лид", "лида", "лидов", "лида")},
    "sale": {"en": ("sale", "sales"), "ru": ("продажа", "продажи", "продаж", "продажи")},
    "purchase": {"en": ("purchase", "purchases"), "ru": ("покупка", "покупки", "покупок", "покупки")},
    "visit": {"en": ("visit", "visits"), "ru": ("визит", "визита", "визитов", "визита")},
    "customer": {"en": ("customer", "customers"), "ru": ("клиент", "клиента", "клиентов", "клиента")},
    "gap": {
        "en": ("gap between visits", "gaps between visits"),
        "ru": (
            "промежуток между визитами",
            "промежутка между визитами",
            "промежутков между визитами",
            "промежутка между визитами",
        ),
    },
    "referral_lead": {
        "en": ("referral lead", "referral leads"),
        "ru": (
            "лид по рекомендации",
            "лида по рекомендации",
            "лидов по рекомендации",
            "лида по рекомендации",
        ),
    },
}
"""Counted nouns: English (one, other); Russian (one, few, many, other) in the nominative."""
NOUNS_GENITIVE_RU: dict[str, tuple[str, ...]] = {
    "month": ("месяца", "месяцев", "месяцев", "месяца"),
    "year": ("года", "лет", "лет", "года"),
    "run": ("прогона", "прогонов", "прогонов", "прогона"),
    "salesperson": ("продавца", "продавцов", "продавцов", "продавца"),
    "step": ("шага", "шагов", "шагов", "шага"),
    "trend": ("тренда", "трендов", "трендов", "тренда"),
    "season": ("сезонного рычага", "сезонных рычагов", "сезонных рычагов", "сезонного рычага"),
    "lead": ("лида", "лидов", "лидов", "лида"),
    "sale": ("продажи", "продаж", "продаж", "продажи"),
    "purchase": ("покупки", "покупок", "покупок", "покупки"),
    "visit": ("визита", "визитов", "визитов", "визита"),
    "customer": ("клиента", "клиентов", "клиентов", "клиента"),
    "gap": (
        "промежутка между визитами",
        "промежутков между визитами",
        "промежутков между визитами",
        "промежутка между визитами",
    ),
    "referral_lead": (
        "лида по рекомендации",
        "лидов по рекомендации",
        "лидов по рекомендации",
        "лида по рекомендации",
    ),
}
"""Russian genitive forms (after `более`, `больше`): one, few, many, other."""
_PLURAL_INDEX = {"one": 0, "few": 1, "many": 2, "other": 3}


def plural(n: float, lang: str, decimals: int = 0) -> str:
    """The CLDR plural category of `n` shown with `decimals` decimals: `one` or `other` (en); `one`, `few`,
    `many` or `other` (ru: 1, 21 месяц; 2–4, 22 месяца; 5–20, 25 месяцев; 1,5 месяца)."""
    x = abs(float(n))
    shown = round(x, decimals)
    fraction = decimals > 0  # CLDR's v: visible fraction digits, even zeros ("1.0 months")
    i = int(shown)
    if lang != "ru":
        return "one" if i == 1 and not fraction else "other"
    if fraction:
        return "other"
    if i % 10 == 1 and i % 100 != 11:
        return "one"
    if 2 <= i % 10 <= 4 and not 12 <= i % 100 <= 14:
        return "few"
    return "many"


def count(
    n: float, lang: str, noun: str, decimals: int = 0, signed: bool = False, genitive: bool = False
) -> str:
    """`n` with its noun in the right plural form: `1 month`, `2 months`; `1 месяц`, `2 месяца`,
    `5 месяцев` (`genitive`: `более 1 года`, `более 5 лет`)."""
    category = plural(n, lang, decimals)
    if lang == "ru":
        forms = NOUNS_GENITIVE_RU[noun] if genitive else NOUNS[noun]["ru"]
        word = forms[_PLURAL_INDEX[category]]
    else:
        word = NOUNS[noun]["en"][0 if category == "one" else 1]
    return f"{number(n, lang, decimals, signed)}{NBSP}{word}"


def month_span(x: float, lang: str = "en", signed: bool = False) -> str:
    """A span of months in words: `1 month`, `18 months`; `1 месяц`, `18 месяцев`; NaN → `never` / `нет`."""
    if x is None or not math.isfinite(x):
        return t(lang, "never")
    return count(x, lang, "month", signed=signed)


def horizon_span(months_: int, lang: str = "en", genitive: bool = False) -> str:
    """A horizon in years when it is whole years (`10 years`, `10 лет`), else in months."""
    if months_ % 12 == 0:
        return count(months_ // 12, lang, "year", genitive=genitive)
    return count(months_, lang, "month", genitive=genitive)


def payback(x: float, lang: str = "en", horizon: int | None = None) -> str:
    """One customer's payback (age months after the purchase): `at the first sale` for 0, `18 months`,
    `over 10 years` past the `horizon`, `never` for NaN."""
    if x is None or not math.isfinite(x):
        return t(lang, "never")
    if x <= 0:
        return t(lang, "tx_first_sale")
    if horizon is not None and x > horizon:
        return t(lang, "tx_over", span=horizon_span(horizon, lang, genitive=True))
    return month_span(x, lang)


def about_when(month_: float, lang: str = "en") -> str:
    """How long until a month of the horizon, roughly: `within the first year`, `about a year`,
    `about 7 years` (`примерно через 7 лет`)."""
    if month_ <= 12:
        return t(lang, "tx_within_year")
    years = math.floor(month_ / 12 + 0.5)
    if years == 1:
        return t(lang, "tx_about_one_year")
    return t(lang, "tx_about_years", years=count(years, lang, "year"))


# --- calendar months (Babel is not needed: twelve names in each language) --------------------------------

MONTH_NAMES: dict[str, tuple[str, ...]] = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "ru": (
        "январь",
        "февраль",
        "март",
        "апрель",
        "май",
        "июнь",
        "июль",
        "август",
        "сентябрь",
        "октябрь",
        "ноябрь",
        "декабрь",
    ),
}
"""Calendar months by language, January first (Russian in the nominative: «март 2034»)."""
MONTH_SHORT: dict[str, tuple[str, ...]] = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "ru": ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"),
}
"""Short month names for chart axes and table columns."""
MONTH_IN_RU: tuple[str, ...] = (
    "январе",
    "феврале",
    "марте",
    "апреле",
    "мае",
    "июне",
    "июле",
    "августе",
    "сентябре",
    "октябре",
    "ноябре",
    "декабре",
)
"""Russian months in the prepositional case, after «в» («в марте 2034»)."""


def calendar_month(d: date | datetime, lang: str = "en", short: bool = False) -> str:
    """A month of the calendar: `March 2034` / `март 2034`; `short`: `Mar 2034` / `мар 2034`."""
    names = (MONTH_SHORT if short else MONTH_NAMES).get(lang, MONTH_NAMES["en"])
    return f"{names[d.month - 1]}{NBSP}{d.year}"


def in_calendar_month(d: date | datetime, lang: str = "en") -> str:
    """`in March 2034` / `в марте 2034`."""
    if lang == "ru":
        return f"в{NBSP}{MONTH_IN_RU[d.month - 1]}{NBSP}{d.year}"
    return f"in {calendar_month(d, lang)}"


def month_range(first: date | datetime, last: date | datetime, lang: str = "en") -> str:
    """The months `first` … `last` (first days of months) as a cohort's name: `Mar 2034`, `Jan–Mar 2034`,
    `Nov 2034–Jan 2035`; a calendar year whole: `2034`."""
    short = MONTH_SHORT.get(lang, MONTH_SHORT["en"])
    if (first.year, first.month) == (last.year, last.month):
        return calendar_month(first, lang, short=True)
    if first.year == last.year:
        if first.month == 1 and last.month == 12:
            return str(first.year)
        return f"{short[first.month - 1]}–{short[last.month - 1]}{NBSP}{first.year}"
    return f"{calendar_month(first, lang, short=True)}–{calendar_month(last, lang, short=True)}"


def month_date(scenario: Scenario, m: int) -> date | None:
    """The first day of month `m` (1-based, within the horizon) of a scenario whose `start` is set, else
    None (`sim.model.plan.dates`)."""
    if scenario.start is None or not 1 <= m <= scenario.horizon_months:
        return None
    from sim.model import plan  # numpy: loaded with the figures, not with the page's frame

    days = plan.dates(scenario)
    return None if days is None else days[m - 1]


@dataclass(frozen=True)
class Column:
    """A column of a download: how its figures are shown and its header (English, Russian)."""

    kind: str
    """`month` (a month of the horizon), `count`, `money`, `share` (0–1, shown in %), `hours`, `ratio`,
    `months` (a span of months)."""
    decimals: int
    """Decimals in a CSV (money: whole units; shares: of the percentage)."""
    en: str | None = None
    """English header; None: the KPI tile's label (`t_<name>`)."""
    ru: str | None = None


C = Column
COLUMNS: dict[str, Column] = {
    "month": C("month", 0, "Month", "Месяц"),
    "date": C("date", 0, "Date", "Дата"),
    "leads_paid": C("count", 1, "Paid leads", "Платные лиды"),
    "leads_referral": C("count", 1, "Referral leads", "Лиды по рекомендациям"),
    "leads_lost": C("count", 1, "Lost leads", "Потерянные лиды"),
    "leads_reached": C("count", 1, "Leads contacted", "Лиды, с которыми связались"),
    "mean_wait_hours": C("hours", 1, "Mean wait", "Среднее ожидание"),
    "sales": C("count", 1, "Sales", "Продажи"),
    "sales_referral": C("count", 1, "Sales from referrals", "Продажи по рекомендациям"),
    "new_customers": C("count", 1, "New customers", "Новые клиенты"),
    "active_customers": C("count", 1, "Active customers", "Активные клиенты"),
    "repeat_visits": C("count", 1, "Repeat visits", "Повторные визиты"),
    "problems": C("count", 1, "Problems at visits", "Проблемы при визитах"),
    "revenue": C("money", 0, "Revenue", "Выручка"),
    "margin_first_sale": C("money", 0, "First-sale margin", "Маржа первых продаж"),
    "margin_referral_sale": C("money", 0, "Referral-sale margin", "Маржа продаж по рекомендациям"),
    "margin_repeat": C("money", 0, "Repeat-visit margin", "Маржа повторных визитов"),
    "margin": C("money", 0, "Margin", "Маржа"),
    "lead_spend": C("money", 0, "Lead spend", "Расходы на лиды"),
    "referral_bonus": C("money", 0, "Referral bonuses", "Бонусы за рекомендации"),
    "staff_cost": C("money", 0, "Salaries", "Зарплаты продавцов"),
    "programme_cost": C("money", 0, "Service programme", "Сервисная программа"),
    "problem_cost": C("money", 0, "Fixing problems", "Решение проблем"),
    "net_cash": C("money", 0, "Net cash flow", "Чистый денежный поток"),
    "cumulative_cash": C("money", 0, "Cumulative cash", "Накопленные деньги"),
    "preset_cumulative_cash": C(
        "money", 0, "Cumulative cash, scenario as loaded", "Накопленные деньги, сценарий как загружен"
    ),
    "whatif": C("money", 0, "What-if (expected)", "Ваш вариант (ожидание)"),
    "preset": C("money", 0, "Scenario as loaded", "Сценарий как загружен"),
    "mean": C("money", 0, "Monte Carlo mean", "Монте-Карло, среднее"),
    "p10": C("money", 0, "Monte Carlo P10", "Монте-Карло, P10"),
    "p50": C("money", 0, "Monte Carlo median", "Монте-Карло, медиана"),
    "p90": C("money", 0, "Monte Carlo P90", "Монте-Карло, P90"),
    "kpi": C("text", 0, "Figure", "Показатель"),
    "break_even_month": C("month", 0),
    "max_cash_need": C("money", 0),
    "final_cumulative_cash": C("money", 0, "Cash at the end of the horizon", "Деньги в конце горизонта"),
    "npv": C("money", 0, "Net present value", "Чистая приведённая стоимость"),
    "cac": C("money", 0),
    "ltv": C("money", 0),
    "ltv_gross": C(
        "money",
        0,
        "Customer's lifetime margin before the cost to serve (gross LTV)",
        "Маржа клиента за всё время без затрат на обслуживание (валовый LTV)",
    ),
    "ltv_to_cac": C("ratio", 2),
    "payback_months": C("months", 0),
    "leads_per_sale": C("ratio", 1),
    "lost_lead_share": C("share", 1),
    "desk_utilization": C("share", 1, "Sales desk utilisation", "Загрузка отдела продаж"),
}
"""Every column of the downloads (the monthly ledger, the chart's data, the KPIs), once."""
del C


def column_label(name: str, lang: str, currency: str, unit: bool = True) -> str:
    """A download's column header with its unit (unless not `unit`): `Lead spend, ₽`, `Расходы на лиды, ₽`,
    `Lost leads, %`."""
    col = COLUMNS.get(name)
    if col is None:
        return name
    text = (col.ru if lang == "ru" else col.en) or t(lang, f"t_{name}")
    if not unit:
        return text
    shown = {
        "money": symbol(currency),
        "share": "%",
        "hours": unit_label(lang, "hours", currency),
        "months": unit_label(lang, "months", currency),
    }.get(col.kind)
    return f"{text}, {shown}" if shown else text


NEEDS_SALES: tuple[str, ...] = ("cac", "ltv_to_cac", "payback_months", "leads_per_sale")
"""KPIs that are not defined when nothing is sold."""


def kpi_note(metric: str, kpi: Mapping[str, float], lang: str, customers_differ: bool = False) -> str:
    """Why a KPI of `kpi` (a run's or the expected KPIs) reads `—` or unbounded (`nothing is sold`,
    `no churn: nobody leaves`, or with `customers_differ` (sBG) `some customers practically never leave`,
    `no leads`), or `` when it is a plain figure."""
    x = float(kpi[metric])
    if metric in NEEDS_SALES and not float(kpi.get("new_customers", 1.0)) > 0:
        return t(lang, "tx_no_sales")
    if metric in ("ltv", "ltv_to_cac") and x == math.inf:
        return t(lang, "tx_loyal_forever" if customers_differ else "tx_no_churn")
    if metric == "lost_lead_share" and math.isnan(x):
        return t(lang, "tx_no_leads")
    return ""


def kpi_value(
    metric: str, kpi: Mapping[str, float], currency: str, lang: str, horizon: int | None = None
) -> str:
    """A KPI of `kpi` as its tile shows it: `format_kpi`, or `—` where it is not defined (`kpi_note` says
    why: a payback with nothing sold is `—`, not `never`)."""
    x = float(kpi[metric])
    if kpi_note(metric, kpi, lang) and x != math.inf:
        return t(lang, "dash")
    return format_kpi(metric, x, currency, lang, horizon=horizon)


def verdict(result: ExpectedResult, lang: str) -> str:
    """One sentence for the top of the page and the report, in the owner's words: what a lead costs, the
    money to put in and when it comes back, e.g. `At 2 250 ₽ a lead (Calls) you need 27.1 M ₽; the money
    comes back in month 87 (about 7 years).`; when it does not come back within the horizon, how far down
    the business ends; with no paid leads, what the business makes. `result`: the expected-value model's
    (`sim.expected`), or anything with its `scenario` and `kpi`."""
    sc = result.scenario
    k = result.kpi
    cur = sc.currency
    horizon = sc.horizon_months
    paid = [c for c in sc.channels if c.leads_per_month > 0]
    if paid:
        leads = sum(c.leads_per_month for c in paid)
        cpl = money(sum(c.leads_per_month * c.cost_per_lead for c in paid) / leads, cur, lang)
        if len(paid) == 1:
            cost = t(lang, "tx_v_paid_one", cpl=cpl, channel=item_name(paid[0], lang))
        else:
            cost = t(lang, "tx_v_paid_avg", cpl=cpl)
    else:
        cost = t(lang, "tx_v_free")
    month_ = float(k["break_even_month"])
    final = float(k["final_cumulative_cash"])
    if not math.isfinite(month_):
        outcome = t(
            lang,
            "tx_v_never",
            span=horizon_span(horizon, lang),
            months=count(horizon, lang, "month"),
            short=money(max(0.0, -final), cur, lang, short=True),
        )
        return t(lang, "tx_v_without_need", cost=cost, outcome=outcome)
    need_value = float(k["max_cash_need"])
    need = (
        t(lang, "tx_v_need", need=money(need_value, cur, lang, short=True))
        if need_value > 0
        else t(lang, "tx_v_no_need")
    )
    if month_ <= 1:
        outcome = t(
            lang,
            "tx_v_back_first",
            final=money(final, cur, lang, short=True),
            span=horizon_span(horizon, lang),
        )
    else:
        when = month_date(sc, int(month_))
        if when is None:
            outcome = t(lang, "tx_v_back", n=number(month_, lang), when=about_when(month_, lang))
        else:
            outcome = t(
                lang,
                "tx_v_back_date",
                n=number(month_, lang),
                date=in_calendar_month(when, lang),
                when=about_when(month_, lang),
            )
    return t(lang, "tx_v_with_need", cost=cost, need=need, outcome=outcome)


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


# --- the "Your data" page: a scenario fitted to a CRM export (`sim.app.data`) ----------------------------

DATA_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "page_label": "Page",
        "page_whatif": "What-if",
        "page_data": "Your data",
        "fitted_option": "{name} (your data)",
        "fitted_unnamed": "Fitted to your data",
        "fitted_missing": "No fitted scenario yet: fit your CRM export on the “Your data” page first (the "
        "switch at the top of the page).",
        "dt_title": "Your data: the scenario fitted to your CRM export",
        "dt_intro": "Three tables from your CRM — leads, customers' visits and ad spend — give every "
        "number of the scenario, each with its 95 % interval and the count it rests on; the fit is checked "
        "on the last months it did not see, then opens in the what-if.",
        "dt_link_note": "Uploaded files are not kept in the page's link: a copied link keeps only the "
        "scenario's levers and ranges (once opened in the what-if), never your data.",
        "dt_source": "Data",
        "dt_source_upload": "My files",
        "dt_source_example": "The example: a car dealer, 36 months",
        "dt_example_note": "The example (`examples/crm/`) is synthetic: a car dealer's leads, customers "
        "and their visits over 2027-01 … 2029-12, generated from the shipped dealer's plan and saved the "
        "way Russian Excel saves CSV (cp1251, `;`).",
        "dt_upload_button": "Upload",
        "dt_upload_limit": "up to {mb} MB a file",
        "dt_file_leads": "Leads (CSV or XLSX)",
        "dt_file_visits": "Visits (CSV or XLSX)",
        "dt_file_spend": "Ad spend (CSV or XLSX)",
        "dt_help_leads": "Columns: lead_id, channel, created_at, contacted_at (empty: never reached; the "
        "column may be left out), sold_at (empty: not sold). Channel `referrals`: the leads customers "
        "brought.",
        "dt_help_visits": "Columns: customer_id, date, kind (`purchase` for the first purchase, else the "
        "repeat visit's kind, e.g. `service`), revenue, margin.",
        "dt_help_spend": "Columns: month (YYYY-MM), channel, spend.",
        "dt_formats": "One header row; UTF-8 or cp1251; `,` or `;` between columns; dates as 2027-01-05 "
        "13:45 or 05.01.2027 13:45.",
        "dt_holdout": "Check on the last months",
        "dt_holdout_help": "The fit is repeated on the data before these months and predicts them with "
        "the engine; 0: no check.",
        "dt_analysts": "The check's runs (for analysts)",
        "dt_reps": "Runs of the check",
        "dt_seed": "Seed",
        "dt_fit": "Fit",
        "dt_fitting": "Fitting the scenario to the data (a few seconds)…",
        "dt_role_leads": "leads",
        "dt_role_visits": "visits",
        "dt_role_spend": "ad spend",
        "dt_missing": "No {role} file: upload it (CSV or XLSX), or take the example.",
        "dt_bad_type": "{file}: not CSV or XLSX (the {role} file must end in .csv or .xlsx)",
        "dt_error": "The data could not be fitted. {error}",
        "dt_error_kept": "Below: the last good fit ({files}).",
        "dt_where_row": "row {row}",
        "dt_where_column": "column “{column}”",
        "dt_holdout_file": "Check on the last months",
        "dt_no_library": "fitting needs the analysis extra: pip install 'funnel-sim[analysis]' ({error})",
        "dt_none_yet": "Pick the data and press “Fit”.",
        "dt_result_title": "What your data say",
        "dt_summary": "**{files}**: {months} of data, {first} … {last} (the export taken {date}); "
        "{leads}, {customers}.",
        "dt_open": "Open in the what-if",
        "dt_open_help": "The fitted scenario becomes the what-if's scenario: every lever starts at its "
        "fitted value, and the 95 % intervals become its ranges (“Not sure?”).",
        "dt_download": "Fitted scenario (TOML)",
        "dt_download_help": "Each fitted value with its 95 % interval, the count it rests on and the "
        "method as a comment.",
        "dt_in_scenario": "In the scenario",
        "dt_in_scenario_note": "Each value with its 95 % interval, the count it rests on and how it was "
        "estimated; a dash: no interval (a value fixed by definition).",
        "dt_info": "Also seen in the data (not in the scenario)",
        "dt_col_what": "Estimate",
        "dt_col_value": "Value",
        "dt_col_ci": "95 % interval",
        "dt_col_n": "Rests on",
        "dt_col_method": "How estimated",
        "dt_odd_none": "No odd rows: nothing was left out or changed.",
        "dt_odd": "Odd rows: {n}, left out of the fit or changed (duplicates, dates after the export):",
        "dt_odd_list": "The odd rows one by one",
        "dt_col_file": "File",
        "dt_col_row": "Row",
        "dt_col_column": "Column",
        "dt_col_issue": "What is odd",
        "dt_col_rows": "Rows",
        "dt_holdout_title": "The check on months the fit did not see: {months}",
        "dt_holdout_text": "The fit was repeated on the data before {first}, and the engine ran {runs} of "
        "the months after it, from the customers then active and the leads still open. What happened fell "
        "within the forecast's P10–P90 band in {within} of {total} months (all metrics).",
        "dt_holdout_legend": "Blue bar: the forecast's P10–P90; dash: its mean; dot: what happened (red: "
        "outside the band). Active customers are estimated from their visits (a customer who does not come "
        "cannot be seen).",
        "dt_holdout_off": "No check on months the fit did not see: set “Check on the last months” above 0 "
        "and fit again.",
        "dt_err_metric": "Metric",
        "dt_err_mape": "Error of the mean forecast (MAPE)",
        "dt_err_within": "Months within P10–P90",
        "dt_within_of": "{k} of {n}",
        "dt_m_leads": "Leads",
        "dt_m_sales": "Sales",
        "dt_m_repeat_visits": "Repeat visits",
        "dt_m_active_customers": "Active customers",
        "dt_m_margin": "Margin",
        "dt_hd_band": "Forecast P10–P90",
        "dt_hd_mean": "Mean forecast",
        "dt_hd_in": "Actual, within the band",
        "dt_hd_out": "Actual, outside the band",
        "dt_hd_actual": "Actual",
        "dt_hd_sub": "error {mape}; within the band {k} of {n}",
        "dt_hd_sub_within": "within the band {k} of {n}",
        "dt_i_conversion": "Conversion: {name}",
        "dt_i_wait": "Sales desk: mean wait for the first contact",
        "dt_i_contact_delay": "From the first contact to the sale",
        "dt_i_lost": "Sales desk: leads never contacted",
        "dt_i_sales_purchases": "Sales in leads per purchase in visits",
        "dt_i_aic_constant": "Churn the same for everyone: AIC",
        "dt_i_aic_sbg": "Customers differ: AIC",
        "dt_i_kinds_left": "Kinds of visits left out",
        "dt_p_existing": "Customers at the start",
        "dt_p_first_revenue": "Revenue per first sale",
        "dt_referrals": "referrals",
        "dt_n_in_months": "{count} in {months}",
        "dt_n_spend": "{months} with spend",
    },
    "ru": {
        "page_label": "Страница",
        "page_whatif": "Что если",
        "page_data": "Ваши данные",
        "fitted_option": "{name} (ваши данные)",
        "fitted_unnamed": "Подобранный по вашим данным",
        "fitted_missing": "Подобранного сценария пока нет: сначала подберите его по выгрузке CRM на "
        "странице «Ваши данные» (переключатель вверху страницы).",
        "dt_title": "Ваши данные: сценарий по выгрузке из CRM",
        "dt_intro": "Три таблицы из вашей CRM — лиды, визиты клиентов и расходы на рекламу — дают каждое "
        "число сценария с 95-процентным интервалом и числом наблюдений, на которых оно основано; подбор "
        "проверяется на последних месяцах, которых он не видел, и открывается в «Что если».",
        "dt_link_note": "Загруженные файлы не попадают в ссылку на страницу: скопированная ссылка хранит "
        "только рычаги и диапазоны сценария (после того как он открыт в «Что если»), но не ваши данные.",
        "dt_source": "Данные",
        "dt_source_upload": "Мои файлы",
        "dt_source_example": "Пример: автосалон, 36 месяцев",
        "dt_example_note": "Пример (`examples/crm/`) синтетический: лиды, клиенты и их визиты автосалона "
        "за 2027-01 … 2029-12; создан по плану автосалона из поставки и сохранён так, как русский Excel "
        "сохраняет CSV (cp1251, `;`).",
        "dt_upload_button": "Загрузить",
        "dt_upload_limit": "до {mb} МБ на файл",
        "dt_file_leads": "Лиды (CSV или XLSX)",
        "dt_file_visits": "Визиты (CSV или XLSX)",
        "dt_file_spend": "Расходы на рекламу (CSV или XLSX)",
        "dt_help_leads": "Столбцы: lead_id, channel, created_at, contacted_at (пусто — не дозвонились; "
        "столбца может не быть), sold_at (пусто — не продан). Канал `referrals` — лиды, которых привели "
        "клиенты.",
        "dt_help_visits": "Столбцы: customer_id, date, kind (`purchase` — первая покупка, иначе вид "
        "повторного визита, например `service`), revenue (выручка), margin (маржа).",
        "dt_help_spend": "Столбцы: month (ГГГГ-ММ), channel (канал), spend (расход).",
        "dt_formats": "Одна строка заголовков; UTF-8 или cp1251; между столбцами `,` или `;`; даты вида "
        "2027-01-05 13:45 или 05.01.2027 13:45.",
        "dt_holdout": "Проверить на последних месяцах",
        "dt_holdout_help": "Подбор повторяется по данным до этих месяцев, и движок их предсказывает; 0 — "
        "без проверки.",
        "dt_analysts": "Прогоны проверки (для аналитиков)",
        "dt_reps": "Прогонов проверки",
        "dt_seed": "Зерно генератора",
        "dt_fit": "Подобрать",
        "dt_fitting": "Подбираем сценарий по данным (несколько секунд)…",
        "dt_role_leads": "лиды",
        "dt_role_visits": "визиты",
        "dt_role_spend": "расходы на рекламу",
        "dt_missing": "Нет файла «{role}»: загрузите его (CSV или XLSX) или возьмите пример.",
        "dt_bad_type": "{file}: не CSV и не XLSX (файл «{role}» должен оканчиваться на .csv или .xlsx)",
        "dt_error": "Сценарий не подобран. {error}",
        "dt_error_kept": "Ниже — последний удачный подбор ({files}).",
        "dt_where_row": "строка {row}",
        "dt_where_column": "столбец «{column}»",
        "dt_holdout_file": "Проверка на последних месяцах",
        "dt_no_library": "для подбора нужен пакет анализа: pip install 'funnel-sim[analysis]' ({error})",
        "dt_none_yet": "Выберите данные и нажмите «Подобрать».",
        "dt_result_title": "Что говорят ваши данные",
        "dt_summary": "**{files}**: данные за {months}, {first} … {last} (выгрузка от {date}); {leads}, "
        "{customers}.",
        "dt_open": "Открыть в «Что если»",
        "dt_open_help": "Подобранный сценарий станет сценарием «Что если»: каждый рычаг начнётся с "
        "подобранного значения, а 95-процентные интервалы станут его диапазонами («Не уверены?»).",
        "dt_download": "Сценарий (TOML)",
        "dt_download_help": "Каждое подобранное значение с 95-процентным интервалом, числом наблюдений и "
        "методом в комментарии.",
        "dt_in_scenario": "Вошло в сценарий",
        "dt_in_scenario_note": "Каждое значение — с 95-процентным интервалом, числом наблюдений, на "
        "которых оно основано, и способом оценки; прочерк — интервала нет (значение задано по определению).",
        "dt_info": "Ещё видно в данных (в сценарий не входит)",
        "dt_col_what": "Оценка",
        "dt_col_value": "Значение",
        "dt_col_ci": "95 % интервал",
        "dt_col_n": "Основано на",
        "dt_col_method": "Как оценено",
        "dt_odd_none": "Странных строк нет: ничего не пропущено и не изменено.",
        "dt_odd": "Странных строк: {n}; они не вошли в подбор или изменены (дубликаты, даты позже выгрузки):",
        "dt_odd_list": "Странные строки по одной",
        "dt_col_file": "Файл",
        "dt_col_row": "Строка",
        "dt_col_column": "Столбец",
        "dt_col_issue": "Что не так",
        "dt_col_rows": "Строк",
        "dt_holdout_title": "Проверка на месяцах, которых подбор не видел: {months}",
        "dt_holdout_text": "Подбор повторён по данным до {first}, и движок сделал {runs} следующих "
        "месяцев — с клиентами, которые тогда были, и лидами, ещё не закрытыми. Факт попал в полосу "
        "прогноза P10–P90 в {within} из {total} случаев (месяц × показатель).",
        "dt_holdout_legend": "Голубой столбик — прогноз P10–P90, черта — его среднее, точка — факт "
        "(красная — вне полосы). Активные клиенты оценены по их визитам (клиента, который не приходит, не "
        "видно).",
        "dt_holdout_off": "Проверки на невиданных месяцах нет: задайте «Проверить на последних месяцах» "
        "больше 0 и подберите снова.",
        "dt_err_metric": "Показатель",
        "dt_err_mape": "Ошибка среднего прогноза (MAPE)",
        "dt_err_within": "Месяцев в полосе P10–P90",
        "dt_within_of": "{k} из {n}",
        "dt_m_leads": "Лиды",
        "dt_m_sales": "Продажи",
        "dt_m_repeat_visits": "Повторные визиты",
        "dt_m_active_customers": "Активные клиенты",
        "dt_m_margin": "Маржа",
        "dt_hd_band": "Прогноз P10–P90",
        "dt_hd_mean": "Средний прогноз",
        "dt_hd_in": "Факт в полосе",
        "dt_hd_out": "Факт вне полосы",
        "dt_hd_actual": "Факт",
        "dt_hd_sub": "ошибка {mape}; в полосе {k} из {n}",
        "dt_hd_sub_within": "в полосе {k} из {n}",
        "dt_i_conversion": "Конверсия: {name}",
        "dt_i_wait": "Отдел продаж: среднее ожидание первого контакта",
        "dt_i_contact_delay": "От первого контакта до продажи",
        "dt_i_lost": "Отдел продаж: лиды без контакта",
        "dt_i_sales_purchases": "Продаж в лидах на одну покупку в визитах",
        "dt_i_aic_constant": "Отток одинаковый для всех: AIC",
        "dt_i_aic_sbg": "Клиенты разные: AIC",
        "dt_i_kinds_left": "Виды визитов вне сценария",
        "dt_p_existing": "Клиентов на старте",
        "dt_p_first_revenue": "Выручка первой продажи",
        "dt_referrals": "рекомендации",
        "dt_n_in_months": "{count} за {months}",
        "dt_n_spend": "{months} с расходами",
    },
}
"""The "Your data" page's sentences, by language and key (merged into TEXTS)."""
for _lang, _more in DATA_TEXTS.items():
    TEXTS[_lang].update(_more)

_NUM = r"[-−]?[\d,]*\d(?:\.\d+)?"
"""A number as the fit writes it in its notes (`20,351`, `830.5`, `-412.25`)."""

FIT_NOTES_RU: dict[str, tuple[str, str]] = {
    # How each estimate was made (`FitResult.report`'s `method`).
    "m_leads": (
        r"mean over months, Poisson \(Garwood\) CI",
        "среднее по месяцам; интервал Пуассона (Гарвуд)",
    ),
    "m_leads_wide": (
        r"mean over months, Poisson \(Garwood\) CI, widened to the monthly counts' t-interval",
        "среднее по месяцам; интервал Пуассона (Гарвуд), расширенный до t-интервала помесячных чисел",
    ),
    "m_no_spend": (r"no spend rows for the channel: 0", "у канала нет строк расходов: 0"),
    "m_cpl": (
        r"spend / leads; t-interval of the monthly CPLs",
        "расходы / лиды; t-интервал помесячных цен лида",
    ),
    "m_km": (
        rf"Kaplan–Meier, 1 − S\((?P<d>{_NUM}) days\), open leads censored; (?P<s>{_NUM}) sales",
        "Каплан — Мейер, 1 − S({d} дн.), открытые лиды цензурированы; продаж: {s}",
    ),
    "m_reference": (
        r"the reference channel \(the highest conversion\): 1 by definition",
        "опорный канал (самая высокая конверсия): 1 по определению",
    ),
    "m_quality": (
        r"conversion / (?P<ref>.+)'s, delta-method CI on the log ratio",
        "конверсия / конверсия канала «{ref}»; интервал дельта-методом по логарифму отношения",
    ),
    "m_conversion": (
        rf"the reference channel's Kaplan–Meier conversion at (?P<d>{_NUM}) days; (?P<s>{_NUM}) sales",
        "конверсия опорного канала по Каплану — Мейеру за {d} дн.; продаж: {s}",
    ),
    "m_delay": (
        r"mean time from created_at to sold_at \(the wait for the first contact included: no desk\)",
        "среднее время от created_at до sold_at (с ожиданием первого контакта: отдела продаж в сценарии нет)",
    ),
    "m_no_sales": (r"no sales", "продаж нет"),
    "m_wait": (
        r"contacted_at − created_at of reached leads \(reported: the fitted scenario has no desk\)",
        "contacted_at − created_at у лидов, до которых дозвонились (для сведения: отдела продаж в сценарии "
        "нет)",
    ),
    "m_contact_sale": (r"sold_at − contacted_at", "sold_at − contacted_at"),
    "m_lost": (
        rf"never contacted, of the leads older than (?P<d>{_NUM}) days \(reported, not fitted\)",
        "без контакта, среди лидов старше {d} дн. (для сведения, в сценарий не входит)",
    ),
    "m_first_revenue": (r"mean revenue of the purchase rows", "средняя выручка строк purchase"),
    "m_first_margin": (r"mean margin of the purchase rows", "средняя маржа строк purchase"),
    "m_sales_purchases": (
        rf"(?P<a>{_NUM}) sold leads, (?P<b>{_NUM}) purchase rows \(customers are the purchase rows\)",
        "проданных лидов: {a}, строк purchase: {b} (клиенты — это строки purchase)",
    ),
    "m_kinds": (
        r"a scenario holds (?P<n>\d+) streams: the rarest kinds are left out \((?P<k>.+)\)",
        "в сценарии не больше {n} видов повторных визитов: самые редкие не вошли ({k})",
    ),
    "m_interval": (
        r"median gap between a customer's visits in whole months \(from the purchase\), order-statistic CI",
        "медиана промежутка между визитами клиента в целых месяцах (первый — от покупки); интервал по "
        "порядковым статистикам",
    ),
    "m_visit_revenue": (r"mean revenue of the visits", "средняя выручка визитов"),
    "m_visit_margin": (r"mean margin of the visits", "средняя маржа визитов"),
    "m_placeholder_visits": (
        r"NOT FITTED \(no repeat visits\): a placeholder to set by hand",
        "НЕ ПОДОБРАНО (повторных визитов нет): заглушка, задайте вручную",
    ),
    "m_placeholder_month": (
        r"NOT FITTED \(no customer with a complete month after the purchase\): a placeholder to set by hand",
        "НЕ ПОДОБРАНО (ни у одного клиента нет полного месяца после покупки): заглушка, задайте вручную",
    ),
    "m_churn_constant": (
        rf"censored individual-level MLE of visits with adoption \(geometric\); AIC constant (?P<c>{_NUM}), "
        rf"sBG (?P<s>{_NUM}): constant chosen",
        "максимальное правдоподобие по визитам каждого клиента, с цензурированием и долей пользующихся "
        "(геометрическое распределение); AIC: одинаковый отток {c}, клиенты разные {s} — выбран одинаковый",
    ),
    "m_churn_sbg": (
        rf"censored individual-level MLE of visits with adoption \(mean of the sBG\); AIC constant "
        rf"(?P<c>{_NUM}), sBG (?P<s>{_NUM}): sbg chosen",
        "максимальное правдоподобие по визитам каждого клиента, с цензурированием и долей пользующихся "
        "(среднее бета-геометрического распределения); AIC: одинаковый отток {c}, клиенты разные {s} — "
        "выбраны разные",
    ),
    "m_shape": (
        r"sBG MLE, Wald CI on the log scale",
        "максимальное правдоподобие (бета-геометрическое распределение); интервал Вальда в логарифмической "
        "шкале",
    ),
    "m_adoption": (
        r"joint MLE with churn \(a stream never visited: not adopted, or left before its first visit\)",
        "максимальное правдоподобие вместе с оттоком (у клиента нет таких визитов: либо он ими не "
        "пользуется, либо ушёл до первого)",
    ),
    "m_loglik": (rf"log-likelihood (?P<l>{_NUM})", "логарифм правдоподобия {l}"),
    "m_existing": (
        r"customers who bought before (?P<m>\d{4}-\d{2}), expected still there at its start",
        "клиенты, купившие до {m}, которые, по оценке, ещё остались к его началу",
    ),
    "m_referrals": (
        rf"referral leads / (?P<e>{_NUM}) customer-months staying \(expected from the retention fit\), "
        r"Poisson CI",
        "лиды по рекомендации / {e} клиенто-месяцев (ожидаемых по подбору оттока); интервал Пуассона",
    ),
    "m_referral_multiplier": (
        r"referral leads' Kaplan–Meier conversion / the funnel's, delta-method CI",
        "конверсия лидов по рекомендации (Каплан — Мейер) / конверсия воронки; интервал дельта-методом",
    ),
    # Why the export could not be read (`CrmError.rule`).
    "r_encoding": (r"not text in UTF-8 or cp1251", "не текст в UTF-8 или cp1251"),
    "r_no_file": (r"no such file", "нет такого файла"),
    "r_folder": (r"is a folder, not a file", "это папка, а не файл"),
    "r_cannot_read": (r"cannot read: (?P<why>.*)", "не читается: {why}"),
    "r_xlsx": (r"not a readable XLSX workbook \((?P<why>.*)\)", "книга XLSX не читается ({why})"),
    "r_empty_file": (r"empty file \(a header row is needed\)", "пустой файл (нужна строка заголовков)"),
    "r_fields": (
        r"(?P<n>\d+) fields where the header has fewer \(a stray delimiter\?\)",
        "полей: {n}, а в заголовке меньше (лишний разделитель?)",
    ),
    "r_csv": (r"not a readable CSV table \((?P<why>.*)\)", "таблица CSV не читается ({why})"),
    "r_twice": (r"appears twice in the header", "встречается в заголовке дважды"),
    "r_missing": (
        r"missing column\(s\) (?P<cols>.*) \(columns found: (?P<have>.*)\)",
        "нет столбцов: {cols} (есть: {have})",
    ),
    "r_mixed_dates": (
        r"dates that pandas cannot read together \(mixed formats\)",
        "даты в разных форматах: вместе их не прочитать",
    ),
    "r_not_date": (
        r"(?P<v>.*) is not a date \(write 2027-01-05 13:45 or 05\.01\.2027 13:45\)",
        "{v} — не дата (пишите 2027-01-05 13:45 или 05.01.2027 13:45)",
    ),
    "r_empty_date": (r"empty: a date is needed here", "пусто, а здесь нужна дата"),
    "r_empty_number": (r"empty: a number is needed here", "пусто, а здесь нужно число"),
    "r_not_number": (r"(?P<v>.*) is not a number", "{v} — не число"),
    "r_negative": (r"(?P<v>.*) is negative: it must be ≥ 0", "{v} — отрицательное, а должно быть ≥ 0"),
    "r_empty_value": (r"empty: a value is needed here", "пусто, а здесь нужно значение"),
    "r_long_name": (
        r"longer than (?P<n>\d+) characters \(a name in the scenario\)",
        "длиннее {n} символов (это имя в сценарии)",
    ),
    "r_no_leads": (r"no leads \(the table has only its header\)", "нет лидов (в таблице только заголовок)"),
    "r_lead_twice": (
        r"lead_id (?P<id>.*) repeats row (?P<row>\d+) with other values",
        "lead_id {id} повторяет строку {row} с другими значениями",
    ),
    "r_before_created": (r"before created_at", "раньше created_at"),
    "r_before_contacted": (r"before contacted_at", "раньше contacted_at"),
    "r_sold_not_contacted": (
        r"empty although the lead was sold \(sold_at\): a lead is sold only after its first contact",
        "пусто, хотя лид продан (sold_at): лид продают только после первого контакта",
    ),
    "r_unknown_channel": (
        r"channel (?P<c>.*) has no leads in (?P<f>.*) \(its channels: (?P<k>.*)\)",
        "у канала {c} нет лидов в {f} (там каналы: {k})",
    ),
    "r_referral_spend": (
        r"spend on 'referrals': referral leads are brought by customers and cost no CPL",
        "расходы на 'referrals': лидов по рекомендации приводят клиенты, цены лида у них нет",
    ),
    "r_spend_no_leads": (
        r"spend on channel (?P<c>.*) in months without any of its leads",
        "расходы на канал {c} в месяцы, когда у него нет ни одного лида",
    ),
    "r_margin": (r"margin (?P<m>\S+) exceeds revenue (?P<r>\S+)", "маржа {m} больше выручки {r}"),
    "r_second_purchase": (
        r"customer (?P<c>.*) has a second 'purchase' row \(the first is row (?P<row>\d+)\): a customer's "
        r"first purchase is one row, later ones need a repeat stream's kind",
        "у клиента {c} вторая строка 'purchase' (первая — строка {row}): первая покупка — одна строка, у "
        "следующих должен быть вид повторного визита",
    ),
    "r_no_purchase": (
        r"customer (?P<c>.*) has no 'purchase' row \(every customer needs one\)",
        "у клиента {c} нет строки 'purchase' (она нужна каждому клиенту)",
    ),
    "r_visit_before": (
        r"visit of customer (?P<c>.*) on (?P<d>\S+) is before its purchase on (?P<p>\S+)",
        "визит клиента {c} {d} раньше его покупки {p}",
    ),
    "r_none_before_export": (r"no leads before the export date (?P<d>.*)", "нет лидов до даты выгрузки {d}"),
    "r_no_month": (
        r"no complete month between the first lead \((?P<a>.*)\) and the export date \((?P<b>.*)\)",
        "между первым лидом ({a}) и датой выгрузки ({b}) нет ни одного полного месяца",
    ),
    "r_no_paid": (
        r"no paid channel \(only referral leads\)",
        "нет платного канала (только лиды по рекомендации)",
    ),
    "r_holdout": (
        r"(?P<n>\d+): must leave at least one month to fit on \(the export has (?P<k>\d+) complete months\)",
        "{n}: для подбора должен остаться хотя бы один месяц (полных месяцев в выгрузке: {k})",
    ),
    # Why a row is odd (`FitResult.odd_rows`' `issue`).
    "o_duplicate": (r"exact duplicate of row (?P<r>\d+): left out", "точная копия строки {r}: пропущена"),
    "o_duplicate_any": (
        r"exact duplicate of an earlier row: left out",
        "точная копия более ранней строки: пропущена",
    ),
    "o_late": (r"after the export date: left out", "позже даты выгрузки: пропущена"),
    "o_not_yet": (
        r"after the export date: taken as not yet happened",
        "позже даты выгрузки: считается, что ещё не произошло",
    ),
    "o_more": (r"… and (?P<n>\d+) more rows like these", "… и ещё {n} таких же строк"),
}
"""The fit's English notes (how each value was estimated, why the export could not be read, why a row is
odd) by key: the English as a regular expression (matched whole) and its Russian, whose `{name}` fields
take the expression's groups (numbers written the Russian way)."""


def _ru_number(text: str) -> str:
    """A number of a fit's note written the Russian way (`20,351` → `20 351`, `830.5` → `830,5`), other
    text as it is."""
    if not re.fullmatch(_NUM, text):
        return text
    plain = text.replace(",", "").replace(MINUS, "-")
    decimals = len(plain.partition(".")[2])
    return number(float(plain), "ru", decimals)


def fit_note(note: str, lang: str) -> str:
    """A note of the CRM fit (a method, an export's error rule, an odd row's issue) in `lang`: Russian by
    its key in FIT_NOTES_RU, else as written (English)."""
    if lang != "ru":
        return note
    for pattern, ru in FIT_NOTES_RU.values():
        found = re.fullmatch(pattern, note)
        if found:
            return ru.format(**{k: _ru_number(v) for k, v in found.groupdict().items()})
    return note
