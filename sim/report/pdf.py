"""The printed report: one or two A4 pages an owner can show a partner, in Russian or English.

`report_pdf(scenario, preset, lang=…, band=…, pins=…, source=…)` returns the PDF's bytes: the verdict
(one sentence), the KPI tiles' figures, the cumulative cash chart with its Monte Carlo band, the pinned
what-ifs side by side, what differs from the preset and the scenario file's `# assumption: …` comments.
Typst (the `typst` package) lays it out in PT Sans, shipped in `sim/report/fonts` (Cyrillic and `₽`;
ParaType Free Font License beside it) with Typst's own fonts for any other sign, and embeds them in the
PDF: no system font is used, so it prints the same on any machine. The chart is
`sim.report.charts.cash_chart` as SVG (vl-convert, which measures its text with the same font). Every
word comes from `sim.report.texts`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from sim.model.scenario import Scenario
from sim.report import assumptions, frames, texts
from sim.report.frames import BandSummary
from sim.version import __version__

if TYPE_CHECKING:
    import pandas as pd


DEFAULT_REPLICATIONS = 20
"""Monte Carlo replications of the report's band by default (as the app's)."""
DEFAULT_SEED = 1
"""Seed of the report's band by default (as the app's)."""

MAX_PAGES = 2
"""The report never runs longer: smaller type first, then the longest lists are cut short."""
SIZES: tuple[float, ...] = (9.5, 8.5, 7.5)
"""Body type sizes tried in turn, in points, until the report fits on MAX_PAGES."""
CHART_WIDTH, CHART_HEIGHT = 580, 240
"""The cash chart's plot size in the SVG, in pixels (scaled to the text width, 18 cm)."""
FONT = "PT Sans"
"""The report's type and the chart's (the files are in `sim/report/fonts`)."""


class ReportError(ValueError):
    """The report cannot be made from these arguments (the message names the value and the rule)."""


# --- the parts of the page ---------------------------------------------------------------------------


def _delta(metric: str, new: float, old: float, currency: str, lang: str) -> str:
    """A figure's change against another (empty if the same)."""
    if (math.isnan(new) and math.isnan(old)) or new == old:
        return ""
    if math.isfinite(new) and math.isfinite(old):
        if abs(new - old) <= 1e-9 * max(1.0, abs(old)):
            return ""
        return texts.format_kpi(metric, new - old, currency, lang, signed=True)
    return texts.t(lang, "was", value=texts.format_kpi(metric, old, currency, lang))


def _tiles(
    kpi: dict[str, float], base: dict[str, float] | None, currency: str, lang: str, horizon: int
) -> list[dict]:
    """The tiles' labels and figures as the page shows them (`texts.format_kpi`), each with its change
    against `base` when given."""
    out = []
    for m in frames.TILE_METRICS:
        new = float(kpi[m])
        delta = _delta(m, new, float(base[m]), currency, lang) if base is not None else ""
        out.append(
            {
                "label": texts.t(lang, f"t_{m}"),
                "value": texts.format_kpi(m, new, currency, lang, horizon=horizon),
                "delta": delta,
            }
        )
    return out


_FONTS_REGISTERED: list[str] = []


def _pin_lines(
    pins: Sequence[tuple[str, Scenario]], scenario: Scenario, preset: Scenario
) -> pd.DataFrame | None:
    """The pinned what-ifs' lines for the chart: every pin but those the chart already draws (the
    what-if itself and the scenario as loaded); None when none is left."""
    from sim.analytic.expected_value import expected

    drawn = (scenario, preset)
    shown = [(name, expected(sc)) for name, sc in pins if sc not in drawn]
    return frames.pins_frame(shown, scenario.horizon_months) if shown else None


def _chart_svg(
    frame: pd.DataFrame,
    break_even: float,
    currency: str,
    lang: str,
    fonts: str,
    pins: pd.DataFrame | None = None,
) -> str:
    """`charts.cash_chart` as SVG, sized and lettered for print (legend under the plot); `fonts` is the
    folder of the report's font, given to vl-convert (once per process) to measure the chart's text."""
    import vl_convert

    from sim.report import charts

    if fonts not in _FONTS_REGISTERED:
        vl_convert.register_font_directory(fonts)
        _FONTS_REGISTERED.append(fonts)

    spec: dict[str, Any] = charts.cash_chart(frame, break_even, currency, lang, pins=pins).to_dict()
    spec["width"], spec["height"] = CHART_WIDTH, CHART_HEIGHT
    config = spec.setdefault("config", {})
    config["font"] = FONT
    config["axis"] = {"labelFontSize": 11, "titleFontSize": 12}
    config["legend"] = {
        "orient": "bottom",
        "labelFontSize": 11,
        "labelLimit": 0,
        "symbolType": "stroke",
        "symbolStrokeWidth": 5,
    }
    config["title"] = {"fontSize": 14}
    config["view"] = {"stroke": None}
    return vl_convert.vegalite_to_svg(spec)


def _chart_note(band: BandSummary | None, lang: str, ranges: int = 0) -> str:
    """What the chart's band is (or that there is none); with `ranges` values not known for sure, that
    each run draws them."""
    if band is None:
        return texts.t(lang, "rp_band_off")
    note = texts.t(
        lang,
        "rp_band",
        reps=band.replications,
        seed=band.seed,
        p=texts.percent(band.p_break_even, lang, 0),
        median=texts.month(band.break_even_p50, lang),
    )
    return f"{note} {texts.t(lang, 'rp_band_ranges', n=ranges)}" if ranges else note


def _comparison(pins: Sequence[tuple[str, Scenario]], lang: str) -> dict | None:
    """The pinned what-ifs' KPIs side by side, each with its difference against the first."""
    if not pins:
        return None
    from sim.analytic.expected_value import expected

    kpis = [expected(sc).kpi for _, sc in pins]
    currency = pins[0][1].currency
    rows = []
    for m in frames.TILE_METRICS:
        row = [texts.t(lang, f"t_{m}")]
        for i, kpi in enumerate(kpis):
            cell = texts.format_kpi(m, float(kpi[m]), currency, lang, horizon=pins[i][1].horizon_months)
            delta = _delta(m, float(kpi[m]), float(kpis[0][m]), currency, lang) if i else ""
            row.append(f"{cell} ({delta})" if delta else cell)
        rows.append(row)
    return {
        "title": texts.t(lang, "rp_comparison"),
        "note": texts.t(lang, "rp_comparison_note", base=pins[0][0]),
        "head": [texts.t(lang, "rp_kpi"), *(name for name, _ in pins)],
        "rows": rows,
    }


def _changes(preset: Scenario, scenario: Scenario, lang: str) -> list[list[str]]:
    cur = scenario.currency
    return [
        [
            assumptions.change_label(c, lang, scenario, preset),
            assumptions.change_value(c, "before", cur, lang),
            assumptions.change_value(c, "after", cur, lang),
        ]
        for c in assumptions.changes(preset, scenario)
    ]


def _assumption_rows(source: str | None, preset: Scenario, lang: str) -> list[list[str]]:
    from sim.model import paths

    if not source:
        return []
    rows = []
    for a in assumptions.assumption_comments(source):
        change = assumptions.as_change(a.path, preset)  # a plan step, trend, seasonality or range: in words
        if change is not None:
            shown = assumptions.change_value(change, "after", preset.currency, lang)
            label = assumptions.change_label(change, lang, preset)
            rows.append([label, shown, a.reason(lang) or texts.t(lang, "dash")])
            continue
        x = paths.get(preset, a.path, paths.MISSING)
        shown = (
            a.raw
            if x is paths.MISSING
            else assumptions.value(x, assumptions.unit(a.path), preset.currency, lang)
        )
        rows.append([assumptions.label(a.path, lang, preset), shown, a.reason(lang) or texts.t(lang, "dash")])
    return rows


def _cut(rows: list[list[str]], keep: int, lang: str) -> list[list[str]]:
    """The first `keep` rows and a last one saying how many more there are."""
    if len(rows) <= keep:
        return rows
    more = [texts.t(lang, "rp_more", n=len(rows) - keep)] + [""] * (len(rows[0]) - 1)
    return [*rows[:keep], more]


# --- the report --------------------------------------------------------------------------------------


def report_pdf(
    scenario: Scenario,
    preset: Scenario | None = None,
    *,
    lang: str = texts.LANGS[0],
    band: BandSummary | None = None,
    pins: Sequence[tuple[str, Scenario]] = (),
    source: str | None = None,
    verdict_text: str | None = None,
    title: str | None = None,
    today: dt.date | None = None,
) -> bytes:
    """The report as PDF bytes (one or two A4 pages).

    `scenario` is the view to report (the what-if); `preset` the scenario it came from (default: the
    same), whose differing values are listed; `band` a Monte Carlo band of `scenario` (the app's `Band`,
    or `frames.band_summary(sim.simulate(...))`; None: no band); `pins` named what-ifs for a KPI table
    with the differences against the first; `source` the preset's TOML text, whose `# assumption: …`
    comments are listed; `verdict_text` the sentence on top (default: `texts.verdict`); `title` the
    scenario's name as the reader knows it (default: `scenario.name`); `today` the report's date (default:
    today).
    """
    import typst

    from sim.analytic.expected_value import expected
    from sim.report.frames import cash_frame

    if lang not in texts.LANGS:
        raise ReportError(f"lang = {lang!r}: must be one of {', '.join(texts.LANGS)}")
    preset = preset or scenario
    today = today or dt.date.today()
    cur = scenario.currency
    whatif, loaded = expected(scenario), expected(preset)
    changed = _changes(preset, scenario, lang)
    band_frame = band.frame if band is not None else None
    frame = cash_frame(whatif, loaded, band_frame)
    if band is not None and "p10" not in frame:
        raise ReportError(
            f"band: {len(band.frame)} months, the scenario has {scenario.horizon_months}: "
            "the band must be of the scenario reported"
        )
    date = texts.t(lang, "rp_date", d=today)
    data: dict[str, Any] = {
        "lang": lang,
        "author": "funnel-sim",
        "title": texts.t(lang, "rp_title", name=title or texts.item_name(scenario, lang)),
        "subtitle": texts.t(
            lang,
            "rp_subtitle",
            horizon=scenario.horizon_months,
            currency=texts.currency_phrase(cur, lang),
            date=date,
        ),
        "whatif": texts.t(lang, "rp_whatif", preset=texts.item_name(preset, lang)) if changed else None,
        "verdict": verdict_text or texts.verdict(whatif, lang),
        "tiles": _tiles(whatif.kpi, loaded.kpi if changed else None, cur, lang, scenario.horizon_months),
        "tiles_note": texts.t(lang, "rp_tiles_note_changed" if changed else "rp_tiles_note"),
        "chart_note": _chart_note(band, lang, len(scenario.uncertainty)),
        "comparison": _comparison(pins, lang),
        "footer": texts.t(lang, "rp_footer", version=__version__, date=date),
    }
    assumption_rows = _assumption_rows(source, preset, lang)
    stamp = dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC)

    def compose(size: float, keep: int) -> dict[str, Any]:
        return {
            **data,
            "size": size,
            "changes": {
                "title": texts.t(lang, "rp_changes"),
                "empty": texts.t(lang, "rp_changes_none"),
                "head": [texts.t(lang, k) for k in ("rp_setting", "rp_before", "rp_after")],
                "rows": _cut(changed, keep, lang),
            },
            "assumptions": {
                "title": texts.t(lang, "rp_assumptions"),
                "note": texts.t(lang, "rp_assumptions_note"),
                "empty": texts.t(lang, "rp_assumptions_none"),
                "head": [texts.t(lang, k) for k in ("rp_setting", "rp_value", "rp_reason")],
                "rows": _cut(assumption_rows, keep, lang),
            },
        }

    package = resources.files("sim.report")
    with (
        resources.as_file(package.joinpath("templates", "report.typ")) as template,
        resources.as_file(package.joinpath("fonts")) as fonts,
    ):
        chart = _chart_svg(
            frame,
            float(whatif.kpi["break_even_month"]),
            cur,
            lang,
            str(fonts),
            pins=_pin_lines(pins, scenario, preset),
        )
        compiler = typst.Compiler(
            str(template), root=str(template.parent), font_paths=[str(fonts)], ignore_system_fonts=True
        )
        attempts = [(size, 10_000) for size in SIZES] + [(SIZES[-1], keep) for keep in (40, 25, 12, 5)]
        for size, keep in attempts:
            inputs = {"data": json.dumps(compose(size, keep), ensure_ascii=False), "chart": chart}
            pdf = compiler.compile(format="pdf", sys_inputs=inputs, timestamp=stamp)
            # The query reads the document just compiled (the same inputs; Typst's cache makes it cheap).
            pages = int(json.loads(compiler.query("<pages>", field="value", one=True, format="json")))
            if pages <= MAX_PAGES:
                break
    assert isinstance(pdf, bytes)
    return pdf
