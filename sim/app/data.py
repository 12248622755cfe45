"""The "Your data" page without Streamlit: a business's CRM export (three uploaded files, or the shipped
example) fitted to a scenario by `sim.calibration.fit`, and what the page shows of the fit in its language.

- `fit_uploads`: the files → a `FitResult` whose scenario is named in both languages, with the file names
  as the user knows them (not the temporary paths they were read from) in its errors, odd rows and TOML;
  bad data raise `DataError`, which `error_text` says in the page's language (file, row, column, rule).
- `report_tables`: every estimate with its value, 95 % interval, the count it rests on (in words) and how it
  was estimated (the fit's English notes in Russian by their key, `texts.fit_note`), split into what went
  into the scenario and what is only reported.
- `odd_count`, `odd_groups`, `odd_list`: the rows left out or changed.
- `holdout_errors`, `holdout_text`: the check on the months the fit did not see (its chart:
  `sim.report.charts.holdout_chart`).

The uploaded files are held in memory for one fit, written to a temporary folder while it runs and never
put in the page's link: the link keeps the fitted scenario (`sim.app.state.FITTED`) once it is opened.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sim.app import state as S
from sim.model.scenario import ScenarioError
from sim.report import texts

if TYPE_CHECKING:
    from sim.calibration.fit import FitResult

ROLES: tuple[str, ...] = ("leads", "visits", "spend")
"""The three tables of an export, in the order `sim.calibration.fit.fit` takes them."""
SUFFIXES: tuple[str, ...] = (".csv", ".xlsx")
"""File types the fit reads."""
SOURCES: tuple[str, ...] = ("upload", "example")
"""Where the data come from: the user's files, or the shipped example (`examples/crm/`)."""
DEFAULT_HOLDOUT = 6
"""Months the fit is checked on unless the user picks another number (0: no check)."""
MAX_HOLDOUT = 24
DEFAULT_REPLICATIONS = 100
"""Engine runs of the check (as `funnel-sim fit`'s default)."""
MAX_REPLICATIONS = 1000
DEFAULT_SEED = 0
"""The check's seed (as `funnel-sim fit`'s default: the page and the command line agree)."""
FITTED_NAME = "Fitted from your CRM export"
FITTED_NAME_RU = "По выгрузке из CRM"
MAX_ODD_LISTED = 200
"""Odd rows the page lists one by one (all are counted)."""


@dataclass(frozen=True)
class Upload:
    """One table of an export as the browser sent it."""

    role: str
    """One of ROLES."""
    name: str
    """The file's name on the user's computer."""
    data: bytes


class DataError(ValueError):
    """Why an export could not be fitted, for the page to say in its language.

    `kind`: `missing` (no file for `role`), `type` (`file` is not CSV or XLSX), `crm` (bad data: `file`,
    `row`, `column` and `rule` of `sim.calibration.crm.CrmError`), `fit` (the fit failed: `rule`) or
    `library` (a package the fit needs is missing: `rule`)."""

    def __init__(
        self,
        kind: str,
        file: str = "",
        rule: str = "",
        row: int | None = None,
        column: str | None = None,
        role: str = "",
    ):
        super().__init__(": ".join(filter(None, [file or role, rule or kind])))
        self.kind = kind
        self.file = file
        self.rule = rule
        self.row = row
        self.column = column
        self.role = role


@dataclass(frozen=True)
class Fitted:
    """The last good fit the page shows."""

    result: FitResult
    files: tuple[str, ...]
    """The three files' names (leads, visits, spend)."""
    holdout: int
    """Months checked (0: none)."""
    replications: int
    """Engine runs of the check."""


# --- the fit -------------------------------------------------------------------------------------------


def example_uploads(folder: str | Path) -> tuple[Upload, ...]:
    """The shipped example export (`examples/crm/`: leads, visits and spend as CSV or XLSX)."""
    root = Path(folder)
    out = []
    for role in ROLES:
        path = next((root / f"{role}{ext}" for ext in SUFFIXES if (root / f"{role}{ext}").is_file()), None)
        if path is None:
            raise DataError("missing", file=str(root / f"{role}.csv"), role=role)
        out.append(Upload(role, path.name, path.read_bytes()))
    return tuple(out)


def check_uploads(uploads: Mapping[str, Upload | None]) -> tuple[Upload, ...]:
    """The three tables in ROLES order; DataError for one missing or not CSV/XLSX."""
    out = []
    for role in ROLES:
        up = uploads.get(role)
        if up is None:
            raise DataError("missing", role=role)
        if Path(up.name).suffix.lower() not in SUFFIXES:
            raise DataError("type", file=up.name, role=role)
        out.append(up)
    return tuple(out)


def fit_uploads(
    uploads: Sequence[Upload],
    holdout: int = DEFAULT_HOLDOUT,
    replications: int = DEFAULT_REPLICATIONS,
    seed: int = DEFAULT_SEED,
) -> FitResult:
    """Fit a scenario to the three tables (`check_uploads`' order; seconds for a few years of a dealer's
    data), checked on the last `holdout` months with `replications` runs of the engine (`seed`). The files
    are named as uploaded in the result (errors, odd rows, the TOML's header); the scenario is named in
    English and Russian. Bad data raise DataError."""
    tables = {up.role: up for up in check_uploads({up.role: up for up in uploads})}
    try:
        from sim.calibration.crm import CrmError
        from sim.calibration.fit import fit
    except ImportError as exc:  # the analysis extra (lifelines) is not installed
        raise DataError("library", rule=str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="funnel-fit-") as tmp:
        files = {}
        for role, up in tables.items():
            folder = Path(tmp) / role
            folder.mkdir()
            files[role] = folder / (Path(up.name).name or f"{role}.csv")
            files[role].write_bytes(up.data)
        prefixes = [f"{Path(tmp) / role}{os.sep}" for role in ROLES]

        def plain(text: str) -> str:
            """`text` with the temporary folders left out (the files named as uploaded)."""
            for prefix in prefixes:
                text = text.replace(prefix, "")
            return text

        try:
            result = fit(
                files["leads"],
                files["visits"],
                files["spend"],
                holdout_months=int(holdout),
                name=FITTED_NAME,
                replications=int(replications),
                seed=int(seed),
            )
        except CrmError as exc:
            raise DataError("crm", plain(exc.file), plain(exc.rule), exc.row, exc.column) from None
        except ImportError as exc:
            raise DataError("library", rule=str(exc)) from None
        except (ScenarioError, ValueError, ArithmeticError) as exc:
            raise DataError("fit", rule=plain(str(exc))) from None
    odd = result.odd_rows.assign(file=result.odd_rows["file"].map(plain))
    report = result.report.assign(parameter=result.report["parameter"].map(plain))
    scenario = result.scenario.override({"name_ru": FITTED_NAME_RU})
    toml = _with_name_ru(plain(result.toml()), FITTED_NAME_RU)
    return replace(result, scenario=scenario, odd_rows=odd, report=report, toml_text=toml)


def _with_name_ru(toml: str, name_ru: str) -> str:
    """The fitted TOML with the scenario's Russian name after its name."""
    lines = toml.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("name = "))
    lines.insert(at + 1, f'name_ru = "{name_ru}"')
    return "\n".join(lines)


def fitted_source(result: FitResult) -> str:
    """The fitted scenario packed for the what-if's base and its link (`sim.app.state.pack_source`)."""
    return S.pack_source(result.scenario.to_toml())


def error_text(error: DataError, lang: str) -> str:
    """Why the data could not be fitted, in `lang`: the file, row and column, then the rule."""
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    role = t(f"dt_role_{error.role}") if error.role else ""
    if error.kind == "missing":
        return t("dt_missing", role=role)
    if error.kind == "type":
        return t("dt_bad_type", file=error.file, role=role)
    if error.kind == "library":
        return t("dt_no_library", error=error.rule)
    if error.kind == "fit":
        return error.rule
    where = [t("dt_holdout_file") if error.file == "holdout_months" else error.file]
    if error.row is not None:
        where.append(t("dt_where_row", row=error.row))
    if error.column is not None:
        where.append(t("dt_where_column", column=error.column))
    return f"{', '.join(filter(None, where))}: {texts.fit_note(error.rule, lang)}"


# --- the report ----------------------------------------------------------------------------------------

_INFO: tuple[tuple[str, str, str], ...] = (
    (r"conversion: referrals", "dt_i_conversion", "share"),
    (r"conversion: (?P<name>.+)", "dt_i_conversion", "share"),
    (r"desk: mean wait, hours", "dt_i_wait", "hours"),
    (r"delay from first contact to sale, days", "dt_i_contact_delay", "days"),
    (r"desk: lost share", "dt_i_lost", "share"),
    (r"sales in leads / purchases in visits", "dt_i_sales_purchases", "ratio"),
    (r"retention: AIC (?P<model>constant|sbg)", "dt_i_aic_{model}", "aic"),
    (r"kinds left out", "dt_i_kinds_left", "count"),
)
"""What the fit reports beside the scenario: its `parameter` (matched whole), the page's name for it (a text
key, whose `{name}` takes the group) and how its value is shown."""

_NOT_LEVERS: dict[str, tuple[str, str]] = {
    "first_purchase.revenue": ("dt_p_first_revenue", "money"),
    "existing_customers.count": ("dt_p_existing", "count"),
}
"""Fitted values of the scenario that are no lever of the page: their name (a text key) and unit."""

_COUNTED: tuple[tuple[str, str], ...] = (
    (r"conversion: referrals|referrals\..*", "referral_lead"),
    (
        r"channels\.\d+\.(leads_per_month|lead_quality)|funnel\.\d+\.conversion|conversion: .*|desk: .*",
        "lead",
    ),
    (r"channels\.\d+\.cost_per_lead", "month"),
    (r"funnel\.\d+\.delay_days|delay from first contact to sale, days", "sale"),
    (r"first_purchase\..*|sales in leads / purchases in visits", "purchase"),
    (r"repeat\.\d+\.interval_months", "gap"),
    (r"repeat\.\d+\.(revenue|margin)|kinds left out", "visit"),
    (r"retention\..*|repeat\.\d+\.adoption|existing_customers\.count|retention: .*", "customer"),
)
"""What an estimate's count counts (`FitResult.report`'s `n`), by its parameter (the fit's own words for
it are in its TOML's comments)."""


def fit_months(result: FitResult) -> int:
    """The complete months the fit rests on: from the scenario's start to the month before the export."""
    start = pd.Period(result.scenario.start, "M")
    last = pd.Timestamp(result.export_date).to_period("M") - 1
    return max(0, (last - start).n + 1)


def _decimals(x: float) -> int:
    """Decimals that show about three significant digits (whole numbers from 100)."""
    a = abs(x)
    return 0 if a >= 100 or a == 0 else 1 if a >= 10 else 2 if a >= 1 else 3


def _bare(x: float, unit: str, lang: str, integer: bool = False) -> str:
    """A figure without its unit (a share in %)."""
    if x is None or not math.isfinite(x):
        return texts.t(lang, "dash")
    if unit == "share":
        v = 100.0 * x
        return texts.number(v, lang, 0 if float(v).is_integer() else (2 if abs(v) < 10 else 1))
    if integer or unit in ("count", "months", "people"):
        return texts.number(x, lang, 0)
    if unit == "aic":  # models are compared by differences of a few units
        return texts.number(x, lang, 1)
    return texts.number(x, lang, _decimals(x))


def _unit(unit: str, key: str, lang: str, currency: str) -> str:
    """The unit written after a figure (empty for plain figures)."""
    if unit == "share":
        return "%"
    if unit in ("plain", "ratio", "count", "shape", "aic"):
        return ""
    return texts.lever_unit(lang, key, unit, currency)


def _joined(number: str, unit: str) -> str:
    return f"{number}{texts.NBSP}{unit}" if unit and number != texts.t("en", "dash") else number


def _count_text(parameter: str, n: int, lang: str, months: int) -> str:
    """The count an estimate rests on, in words (`20 351 лид за 36 месяцев`, `36 месяцев с расходами`)."""
    noun = next((noun for pattern, noun in _COUNTED if re.fullmatch(pattern, parameter)), None)
    if noun is None:
        return texts.number(n, lang, 0)
    counted = texts.count(n, lang, noun)
    if re.fullmatch(r"channels\.\d+\.leads_per_month", parameter):
        return texts.t(lang, "dt_n_in_months", count=counted, months=texts.month_span(months, lang))
    if noun == "month":
        return texts.t(lang, "dt_n_spend", months=counted)
    return counted


def _info_name(parameter: str, lang: str) -> tuple[str, str]:
    """A reported figure's name on the page and how its value is shown."""
    for pattern, key, unit in _INFO:
        found = re.fullmatch(pattern, parameter)
        if found:
            groups = found.groupdict()
            name = (
                texts.t(lang, "dt_referrals") if parameter == "conversion: referrals" else groups.get("name")
            )
            return texts.t(lang, key.format(**groups), name=name or ""), unit
    return parameter, "plain"


def report_tables(result: FitResult, lang: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The fit's estimates as the page shows them: (what went into the scenario, what is only reported),
    each with the columns estimate, value, 95 % interval, count and method, headed in `lang`."""
    sc = result.scenario
    cur = sc.currency
    specs = {s.path: s for s in S.fields(sc)}
    months = fit_months(result)
    scenario_rows, info_rows = [], []
    for row in result.report.itertuples(index=False):
        parameter = str(row.parameter)
        if parameter.startswith("odd rows:"):  # the page counts and lists them on their own
            continue
        spec = specs.get(parameter)
        in_scenario = True
        if spec is not None:
            name, unit, key, integer = S.lever_name(spec, lang), spec.unit, spec.key, spec.integer
        elif parameter in _NOT_LEVERS:
            text_key, unit = _NOT_LEVERS[parameter]
            name, key, integer = texts.t(lang, text_key), "", unit == "count"
        else:
            (name, unit), key, integer, in_scenario = _info_name(parameter, lang), "", False, False
        shown_unit = _unit(unit, key, lang, cur)
        value = _joined(_bare(row.value, unit, lang, integer), shown_unit)
        low, high = float(row.ci_low), float(row.ci_high)
        if math.isfinite(low) and math.isfinite(high):
            ends = f"{_bare(low, unit, lang, integer)}{texts.EN_DASH}{_bare(high, unit, lang, integer)}"
            short = shown_unit if unit == "share" or unit.startswith("money") else ""
            interval = _joined(ends, texts.symbol(cur) if unit.startswith("money") else short)
        else:
            interval = texts.t(lang, "dash")
        line = {
            "what": name,
            "value": value,
            "ci": interval,
            "n": _count_text(parameter, int(row.n), lang, months),
            "method": texts.fit_note(str(row.method), lang),
        }
        (scenario_rows if in_scenario else info_rows).append(line)
    headers = {c: texts.t(lang, f"dt_col_{c}") for c in ("what", "value", "ci", "n", "method")}
    columns = list(headers)
    return tuple(  # type: ignore[return-value]
        pd.DataFrame(rows, columns=columns).rename(columns=headers) for rows in (scenario_rows, info_rows)
    )


_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>#|$~])")
"""Characters Streamlit's Markdown would read as markup (`$` as maths): escaped in names from the data."""


def md(text: str) -> str:
    """Text from the data as Markdown shows it literally."""
    return _MARKDOWN.sub(r"\\\1", text)


def report_list(table: pd.DataFrame, lang: str) -> str:
    """`report_tables`' table as Markdown for a phone, one estimate a paragraph: the name and value, the
    interval and the count on one line, how it was estimated under it in grey."""
    dash = texts.t(lang, "dash")
    out = []
    for what, value, ci, n, method in table.itertuples(index=False):
        figures = " · ".join(filter(None, [f"95 %: {ci}" if ci != dash else "", str(n)]))
        out.append(f"**{md(str(what))}**: {md(str(value))}  \n{md(figures)}  \n:gray[{md(str(method))}]")
    return "\n\n".join(out)


def summary_text(fitted: Fitted, lang: str) -> str:
    """One line on what was fitted: the files, the months, the export's date, the leads and customers."""
    result = fitted.result
    report = result.report
    leads = int(report.loc[report["parameter"].str.startswith("conversion: "), "n"].sum())
    customers = report.loc[report["parameter"] == "first_purchase.margin", "n"]
    start = pd.Period(result.scenario.start, "M")
    months = fit_months(result)
    last = start + max(months - 1, 0)
    stamp = pd.Timestamp(result.export_date)
    return texts.t(
        lang,
        "dt_summary",
        files=", ".join(md(f) for f in fitted.files),
        months=texts.month_span(months, lang),
        first=texts.calendar_month(start.to_timestamp(), lang),
        last=texts.calendar_month(last.to_timestamp(), lang),
        date=_date_text(stamp.date(), lang),
        leads=texts.count(leads, lang, "lead"),
        customers=texts.count(int(customers.iloc[0]) if len(customers) else 0, lang, "customer"),
    )


def _date_text(d: date, lang: str) -> str:
    """A day as the page writes it: `01.07.2029` (ru), `2029-07-01` (en)."""
    return f"{d:%d.%m.%Y}" if lang == "ru" else f"{d:%Y-%m-%d}"


# --- odd rows ------------------------------------------------------------------------------------------

_MORE = re.compile(r"… and (\d+) more rows like these")


def odd_count(result: FitResult) -> int:
    """Rows left out of the fit or changed (those listed, and those counted in a `… and N more` line)."""
    odd = result.odd_rows
    more = sum(int(m.group(1)) for m in map(_MORE.fullmatch, odd["issue"].astype(str)) if m)
    return int((odd["row"] > 0).sum()) + more


def odd_groups(result: FitResult, lang: str) -> pd.DataFrame:
    """The odd rows counted by file and what is odd about them (a duplicate of any earlier row is one kind),
    headed in `lang`."""
    counts: dict[tuple[str, str], int] = {}
    last: tuple[str, str] | None = None
    for row in result.odd_rows.itertuples(index=False):
        more = _MORE.fullmatch(str(row.issue))
        if more and last is not None:  # `… and N more rows like these`: of the group listed before it
            counts[last] += int(more.group(1))
            continue
        issue = re.sub(r"of row \d+", "of an earlier row", str(row.issue))
        last = (str(row.file), issue)
        counts[last] = counts.get(last, 0) + 1
    rows = [
        {"file": file, "issue": texts.fit_note(issue, lang), "rows": n} for (file, issue), n in counts.items()
    ]
    headers = {"file": texts.t(lang, "dt_col_file"), "issue": texts.t(lang, "dt_col_issue")}
    headers["rows"] = texts.t(lang, "dt_col_rows")
    return pd.DataFrame(rows, columns=list(headers)).rename(columns=headers)


def odd_list(result: FitResult, lang: str, limit: int = MAX_ODD_LISTED) -> pd.DataFrame:
    """The first `limit` odd rows one by one (file, row, column, what is odd), headed in `lang`."""
    odd = result.odd_rows.head(limit)
    frame = pd.DataFrame(
        {
            "file": odd["file"].astype(str),
            "row": [str(r) if r > 0 else "" for r in odd["row"]],
            "column": odd["column"].astype(str),
            "issue": [texts.fit_note(str(i), lang) for i in odd["issue"]],
        }
    )
    headers = {c: texts.t(lang, f"dt_col_{c}") for c in ("file", "row", "column", "issue")}
    return frame.rename(columns=headers)


# --- the holdout check ---------------------------------------------------------------------------------


def holdout_months(result: FitResult) -> list[str]:
    """The months checked (`YYYY-MM`), in order."""
    if result.holdout is None:
        return []
    return list(dict.fromkeys(result.holdout["month"].astype(str)))


def holdout_title(result: FitResult, lang: str) -> str:
    """The check's heading, naming its months (`Jul–Dec 2029`)."""
    months = holdout_months(result)
    first, last = (pd.Period(m, "M").to_timestamp() for m in (months[0], months[-1]))
    return texts.t(lang, "dt_holdout_title", months=texts.month_range(first, last, lang))


def holdout_text(fitted: Fitted, lang: str) -> str:
    """What the check did and how often what happened fell within the forecast's band."""
    result = fitted.result
    table = result.holdout
    if table is None:
        return texts.t(lang, "dt_holdout_off")
    first = pd.Period(holdout_months(result)[0], "M").to_timestamp().date()
    return texts.t(
        lang,
        "dt_holdout_text",
        first=_date_text(first, lang),
        runs=texts.count(fitted.replications, lang, "run"),
        within=int(table["within"].sum()),
        total=len(table),
    )


def holdout_errors(result: FitResult, lang: str) -> pd.DataFrame:
    """Per metric: the mean forecast's error (MAPE) and the months within P10–P90, headed in `lang`."""
    table, errors = result.holdout, result.holdout_errors
    if table is None or errors is None:
        return pd.DataFrame()
    rows = []
    for row in errors.itertuples(index=False):
        part = table[table["metric"] == row.metric]
        rows.append(
            {
                "metric": texts.t(lang, f"dt_m_{row.metric}"),
                "mape": texts.percent(float(row.mape), lang, 1),
                "within": texts.t(lang, "dt_within_of", k=int(part["within"].sum()), n=len(part)),
            }
        )
    headers = {c: texts.t(lang, f"dt_err_{c}") for c in ("metric", "mape", "within")}
    return pd.DataFrame(rows, columns=list(headers)).rename(columns=headers)
