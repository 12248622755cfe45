"""The `report` command: `funnel-sim report SCENARIO [--lang ru] [--set PATH=VALUE …] --out report.pdf`,
the printed report of `sim.report.pdf` (one or two A4 pages)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from sim.cli.common import BadInput, progress_bar, seed
from sim.cli.sweep import parse_value
from sim.model.numbers import parse_whole
from sim.model.scenario import load_scenario
from sim.report.pdf import DEFAULT_REPLICATIONS, DEFAULT_SEED
from sim.report.texts import LANGS


def replications(text: str) -> int:
    """Replications of the band: a whole number >= 0 (0: no band)."""
    try:
        return parse_whole(text, low=0)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_set(spec: str) -> tuple[str, Any]:
    """`--set PATH=VALUE` → (path, value): a number, true/false, `none` (switch a part off) or text."""
    path, sep, text = spec.partition("=")
    path = path.strip()
    if not sep or not path:
        raise BadInput(f"--set {spec!r}: expected PATH=VALUE, e.g. channels.0.cost_per_lead=2000")
    if text.strip().lower() == "none":
        return path, None
    try:
        return path, parse_value(text)
    except ValueError as exc:
        raise BadInput(f"--set {spec!r}: {exc}") from None


def _check_out(out: str) -> Path:
    """The output file, refused before any work if it cannot be written."""
    path = Path(out)
    if path.is_dir():
        raise BadInput(f"--out {out}: is a directory, not a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise BadInput(f"--out {out}: no such folder {str(folder)!r}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise BadInput(f"--out {out}: cannot write there (permission denied)")
    return path


def _report(args: argparse.Namespace) -> int:
    from sim.report import frames, pdf

    out = _check_out(args.out)
    preset = load_scenario(args.scenario)
    changes = dict(parse_set(s) for s in args.set or [])
    scenario = preset.override(changes) if changes else preset
    source = Path(args.scenario).read_text(encoding="utf-8-sig", errors="replace")
    band = None
    if args.replications > 0:
        from sim.engine.runs import simulate

        progress = progress_bar(args.replications, scenario.name)
        band = frames.band_summary(simulate(scenario, args.replications, seed=args.seed, progress=progress))
    data = pdf.report_pdf(scenario, preset, lang=args.lang, band=band, source=source)
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise BadInput(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"wrote {out} ({len(data) // 1024} KiB)")
    return 0


def register(sub: Any) -> None:
    """Add `report` to the subparsers."""
    rep = sub.add_parser("report", help="a printable PDF report (verdict, KPIs, cash chart, assumptions)")
    rep.add_argument("scenario", help="scenario TOML file")
    rep.add_argument("--out", required=True, help="the PDF file to write")
    rep.add_argument("--lang", choices=LANGS, default=LANGS[0], help="language of the report")
    rep.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="change a value of the scenario (repeatable), e.g. --set channels.0.cost_per_lead=2000; "
        "the report lists what differs from the file",
    )
    rep.add_argument(
        "--replications",
        "-n",
        type=replications,
        default=DEFAULT_REPLICATIONS,
        help="Monte Carlo runs for the P10-P90 band (0 = no band)",
    )
    rep.add_argument("--seed", type=seed, default=DEFAULT_SEED, help="random seed of the band")
    rep.set_defaults(func=_report)
