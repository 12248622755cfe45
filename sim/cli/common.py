"""What every command shares: the parser (exit 2 on bad options), the one user error, argument types,
the progress bar and plain-text tables."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from sim.accounting.ledger import NEVER_KPIS
from sim.model.numbers import parse_number, parse_whole

EXIT_BAD_INPUT = 2
"""Exit code of every user error (a missing or invalid file, a bad option or value)."""


class Parser(argparse.ArgumentParser):
    """An argument parser that reports a bad option in one line and exits with EXIT_BAD_INPUT."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


class BadInput(Exception):
    """A user error to report in one line with exit code EXIT_BAD_INPUT."""


def _typed(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from one of `sim.model.numbers`' parsers (its message becomes the error)."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


positive_int = _typed(lambda text: parse_whole(text, low=1))
"""A whole number >= 1 (replications, workers, samples, chunk size)."""
seed = _typed(lambda text: parse_whole(text, low=0))
"""A random seed: a whole number >= 0."""
number = _typed(parse_number)
"""A finite number."""


def _fraction(text: str) -> float:
    value = parse_number(text)
    if not 0 < value < 1:
        raise ValueError(f"{value:g} must be between 0 and 1")
    return value


fraction = _typed(_fraction)
"""A number strictly between 0 and 1."""


def progress_bar(total: int, label: str) -> Callable[[int, int], None]:
    """A tqdm progress bar on stderr that appears only if the run takes more than a moment."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="run", file=sys.stderr, delay=0.5, leave=False, disable=None)

    def update(done: int, _total: int) -> None:
        bar.update(done - bar.n)
        if done >= _total:
            bar.close()

    return update


def money(value: float) -> str:
    """A whole amount with thin spaces between thousands (`—` if not finite)."""
    return "—" if not math.isfinite(value) else f"{value:,.0f}".replace(",", " ")


SHARE_KPIS = ("lost_lead_share", "desk_utilization", "p_break_even", "lost_share")
"""Figures shown as percentages."""
DECIMAL_KPIS = ("ltv_to_cac", "leads_per_sale", "mean_wait_hours", "break_even_month", "payback_months")
"""Figures shown with one decimal; every other KPI is an amount of money."""


def kpi_text(value: float | None, kpi: str) -> str:
    """A KPI's value as text: `never` for a break-even or payback month not reached, `—` if undefined,
    `∞`, a percentage for shares, one decimal for ratios, months and hours, else a whole amount."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "never" if kpi in NEVER_KPIS else "—"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if kpi in SHARE_KPIS:
        return f"{value:.1%}"
    if kpi in DECIMAL_KPIS:
        return f"{value:,.1f}"
    return money(value)


def change_text(value: float, kpi: str) -> str:
    """A change of a KPI as text, with `+` before a rise (`—` if either side is undefined or never)."""
    if math.isnan(value):
        return "—"
    text = kpi_text(value, kpi)
    return f"+{text}" if value > 0 else text


def text_table(rows: Sequence[Sequence[str]], left: int = 0) -> str:
    """Rows (the first is the header) as aligned columns with a rule under the header; the first `left`
    columns are aligned left, the rest right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
