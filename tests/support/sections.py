"""Scenario sections shared by the tests: problems and a service programme with every effect on."""

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
