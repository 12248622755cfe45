"""Accounting: the calendar, a customer's expected life by age, the monthly ledger, KPIs and DataFrames.

Shared by the engine and the expected-value model, so both count cash the same way.
"""
