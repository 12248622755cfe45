"""The expected-value model: the engine's means month by month without simulation, and queueing results."""
