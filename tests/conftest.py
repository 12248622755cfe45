"""The test tiers, by folder: `unit` (per module, fast: `./dev test fast`), `validation` (statistical
agreement with the reference model, the expected-value model and theory: slow), `app` (AppTest and the
browser) and `integration` (Dask clusters, the README's examples, the built wheel). Each test gets its
tier's marker, so `pytest -m "not validation"` works as well as `pytest tests/unit`.

Every statistical test says in a comment what it can detect with its replications: the smallest bias
that makes it fail with probability >= 99 % (for a band of k standard errors: (k + 2.33) SE), as a share
of the quantity where that reads better.

`sim` is imported as installed (`pip install -e .`, which `./dev` does); the shared test helpers live in
`tests/support` (on pytest's `pythonpath`, see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "validation", "app", "integration")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(str(item.path)).parent.name
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))
