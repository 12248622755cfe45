"""The command line: `funnel-sim …` (the same as `python -m sim …`).

One parser, with the commands of `sim.cli.runs` (run, validate, compare), `sim.cli.decisions`
(sensitivity, goal-seek, best, budget, programme, drivers), `sim.cli.fit` (fit), `sim.cli.sweep` (sweep)
and `sim.cli.report` (report), and one error path: bad input (a missing or invalid file, a bad option or
value, bad rows in a CRM export) prints one line on stderr and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sim.calibration.crm import CrmError
from sim.cli import decisions, fit, report, runs, sweep
from sim.cli.common import EXIT_BAD_INPUT, BadInput, Parser
from sim.decisions.metrics import DecisionError
from sim.model.scenario import ScenarioError
from sim.version import __version__

USER_ERRORS = (ScenarioError, DecisionError, CrmError, BadInput)
"""What a command raises for bad input: reported in one line, exit code EXIT_BAD_INPUT."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = Parser(prog="funnel-sim", description="Lead-funnel unit economics simulator.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in (runs, decisions, fit, sweep, report):
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `funnel-sim` and `python -m sim`; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        hint = " (run the same command again to resume)" if args.command == "sweep" and args.out else ""
        print(f"interrupted{hint}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
