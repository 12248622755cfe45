"""Batch runs: sweeps over points of levers with replications, in-process or on Dask, stored as Parquet.

`points` (the plan: grid, Latin hypercube, validation), `runners` (chunks of runs in-process or on Dask),
`storage` (the output folder: Parquet parts, manifest, resume, code fingerprint), `sweeps` (`sweep`).
"""
