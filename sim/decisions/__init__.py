"""Decisions on the expected-value model: sensitivity, goal seek, the service programme's value."""
