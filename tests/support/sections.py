"""Scenario parts shared by the tests: problems and a service programme with every effect on, and a small
desk whose leads go cold."""

PROBLEMS = {
    "visit_problem_probability": 0.1,
    "resolution_days": 5.0,
    "cost_per_problem": 3000.0,
    "leave_probability_base": 0.1,
    "leave_probability_per_day": 0.02,
}
PROGRAMME = {
    "fixed_cost_per_year": 1_200_000.0,
    "contacts_per_month": 1.5,
    "cost_per_contact": 40.0,
    "tolerated_contacts_per_month": 1.0,
    "max_churn_reduction": 0.3,
    "referral_uplift": 0.2,
    "margin_uplift": 0.1,
}

COOLING_DESK = """
name = "Cooling desk"
horizon_months = 12

[[channels]]
name = "Calls"
leads_per_month = 1461.0
cost_per_lead = 100.0

[sales_desk]
staff = 4
handling_minutes = 60.0
hours_per_day = 24.0
salary_per_month = 57500.0
cooling_half_life_hours = 0.25

[[funnel]]
name = "Call -> purchase"
conversion = 0.5
delay_days = 0.0

[first_purchase]
revenue = 2000.0
margin = 2000.0

[retention]
monthly_churn = 0.02
"""
"""A whole scenario (TOML): two calls an hour round the clock, an hour each, four salespeople (an M/M/n
queue); a lead's odds halve every 15 minutes it waits (used by the `best` staff-count tests)."""
