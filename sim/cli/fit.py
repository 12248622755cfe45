"""`funnel-sim fit`: a scenario fitted to a business's CRM export (`sim.calibration.fit`), with its report
and, with `--holdout N`, the check on the last N months it did not see (its chart with `--chart FILE`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import pandas as pd

from sim.cli.common import BadInput, positive_int, seed
from sim.cli.decisions import CHART_SUFFIXES


def _write(path: str, text: str | None = None, frame: pd.DataFrame | None = None) -> None:
    """Write a file atomically (a temporary file renamed), or a one-line error."""
    out = Path(path)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if frame is not None:
            frame.to_csv(tmp, index=False)
        else:
            tmp.write_text(text or "", encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None


def _fit(args: argparse.Namespace) -> int:
    from sim.calibration.fit import fit, fit_paths

    chart = Path(args.chart) if args.chart else None
    if chart is not None and chart.suffix.lower() not in CHART_SUFFIXES:
        raise BadInput(f"--chart {args.chart}: the file must end in {', '.join(CHART_SUFFIXES)}")
    if chart is not None and args.holdout <= 0:
        raise BadInput("--chart draws the holdout check: give --holdout N too")
    options: dict[str, Any] = {
        "holdout_months": args.holdout,
        "export_date": args.export_date,
        "currency": args.currency,
        "horizon_months": args.horizon,
        "replications": args.replications,
        "seed": args.seed,
    }
    if args.name:
        options["name"] = args.name
    if args.folder:
        if args.leads or args.visits or args.spend:
            raise BadInput("give either --folder or the three files (LEADS VISITS SPEND), not both")
        result = fit_paths(args.folder, **options)
    else:
        if not (args.leads and args.visits and args.spend):
            raise BadInput("give the three files LEADS VISITS SPEND (CSV or XLSX), or --folder DIR")
        result = fit(args.leads, args.visits, args.spend, **options)

    report = result.report
    print(f"{result.scenario.name}: fitted from the export up to {result.export_date:%Y-%m-%d %H:%M}")
    print(report.to_string(index=False, float_format=lambda v: f"{v:,.6g}", na_rep="—"))
    odd = result.odd_rows
    if len(odd):
        print(f"\n{len(odd)} odd row(s) left out or changed (duplicates, dates after the export …):")
        print(odd.head(20).to_string(index=False))
        if len(odd) > 20:
            print(f"… and {len(odd) - 20} more (all in --report)")
    if result.holdout is not None and result.holdout_errors is not None:
        print(f"\nHoldout: the last {args.holdout} month(s) predicted from the data before them")
        print(result.holdout.to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
        print(result.holdout_errors.to_string(index=False, float_format=lambda v: f"{v:.1%}"))
        if chart is not None:
            from sim.report.charts import holdout_chart

            drawn = holdout_chart(result.holdout, "en", result.scenario.currency, result.holdout_errors)
            try:
                drawn.save(str(chart))
            except OSError as exc:
                raise BadInput(f"cannot write {args.chart}: {exc.strerror or exc}") from None
            print(f"wrote {chart}")
    if args.out:
        _write(args.out, text=result.toml())
        print(f"\nwrote {args.out}")
    if args.report:
        frames = [report.assign(table="estimates")]
        if len(odd):
            frames.append(odd.assign(table="odd rows"))
        if result.holdout is not None:
            frames.append(result.holdout.assign(table="holdout"))
        _write(args.report, frame=pd.concat(frames, ignore_index=True))
        print(f"wrote {args.report}")
    return 0


def register(sub: Any) -> None:
    """Add `fit` to the subparsers."""
    p = sub.add_parser("fit", help="fit a scenario to a CRM export (leads, visits, spend)")
    p.add_argument("leads", nargs="?", help="leads file (CSV or XLSX)")
    p.add_argument("visits", nargs="?", help="visits file (CSV or XLSX)")
    p.add_argument("spend", nargs="?", help="spend file (CSV or XLSX)")
    p.add_argument("--folder", help="a folder with leads, visits and spend (.csv or .xlsx)")
    p.add_argument("--export-date", help="when the export was taken (default: the end of its last month)")
    p.add_argument("--holdout", type=int, default=0, metavar="N", help="check the fit on the last N months")
    p.add_argument("--replications", "-n", type=positive_int, default=100, help="engine runs of the holdout")
    p.add_argument("--seed", type=seed, default=0, help="random seed of the holdout's runs")
    p.add_argument("--name", help="the fitted scenario's name")
    p.add_argument("--currency", default="RUB", help="currency of the amounts (default RUB)")
    p.add_argument("--horizon", type=positive_int, default=120, help="the fitted scenario's horizon, months")
    p.add_argument("--out", help="write the fitted scenario (TOML, each value with its CI) here")
    p.add_argument("--report", help="write the estimates (and odd rows, holdout) as CSV here")
    p.add_argument("--chart", help="save the holdout chart (.html, .png, .svg or .json; needs --holdout N)")
    p.set_defaults(func=_fit)
