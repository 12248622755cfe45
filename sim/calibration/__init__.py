"""Calibration: fitting a scenario to a business's own data (a CRM export) and the sBG churn fit."""
