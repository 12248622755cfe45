"""Decisions: metrics, sensitivity, goal seek, a lever's best value, the next lead budget, the service
programme's value (on the expected-value model; `best` and `next_budget` also on the engine)."""
