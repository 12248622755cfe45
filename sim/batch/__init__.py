"""Batch runs: sweeps over points of levers with replications, in-process or on Dask, stored as Parquet."""
