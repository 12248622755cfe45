"""The command line (`funnel-sim`, `python -m sim`): one parser, one error path, a module per group."""
