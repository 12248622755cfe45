"""The package's version, read once from the installed distribution's metadata (pyproject.toml)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("funnel-sim")
except PackageNotFoundError:  # a source tree that was never installed (`pip install -e .` fixes it)
    __version__ = "0+unknown"
