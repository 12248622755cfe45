"""The engine: one replication on the SimPy clock (desk, customers, random streams) and runs of many."""
