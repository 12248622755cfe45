"""Reading and checking a business's CRM export: its leads, its ad spend and its customers' visits.

**Files.** CSV or XLSX (the first sheet), one header row. CSV text may be UTF-8 (with or without a
byte-order mark) or cp1251 (Russian Windows); the delimiter (`,`, `;` or tab) is detected from the header
line. Column names are matched without regard to case or surrounding spaces; extra columns are ignored.
Numbers may be written with a decimal comma and spaces between thousands (`2 250,50`, as Russian Excel
writes them); a comma alone is always a decimal comma. Dates are ISO (`2027-01-05 13:45:00`,
`2027-01-05T13:45`, `2027-01-05`) or day first (`05.01.2027 13:45`); a time-zone suffix (`Z`, `+03:00`)
is dropped and the wall-clock time kept. Each table may also be given as a DataFrame with these columns
(dates as datetimes or text, numbers as numbers or text).

**Tables.**

- `leads`: `lead_id`, `channel`, `created_at`, `contacted_at` (optional column: empty = the lead was never
  reached), `sold_at` (empty = not sold by the export date). A channel named `referrals` holds the leads
  that customers brought (no spend).
- `spend`: `month` (`YYYY-MM`; a date or `MM.YYYY` is read as its month), `channel`, `spend` (≥ 0). Several
  rows for one month and channel are added up.
- `visits`: `customer_id`, `date`, `kind`, `revenue`, `margin` (0 ≤ margin ≤ revenue). `kind` is `purchase`
  for a customer's first purchase (exactly one such row per customer), otherwise the name of a repeat
  stream (`service`, …).

**Customers.** The customers are the `purchase` rows of `visits`; a sale in `leads` is not linked to a
customer (sales and conversions come from `leads`, customers, their purchases and visits from `visits`).
A purchase dated before the first month of leads is a customer the business already had.

**Bad data** raises `CrmError` (a `ValueError`) naming the file, the row as a spreadsheet numbers it
(header = row 1), the column and the rule. **Odd rows** — exact duplicates and dates after the export
date — are left out of the fit and listed in `CrmData.odd` (file, row, column, issue), never dropped
silently.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PURCHASE = "purchase"
"""`kind` of a customer's first purchase in `visits`."""

REFERRALS = "referrals"
"""`channel` of the leads brought by customers (no spend; the scenario's `[referrals]`)."""

LEADS_COLUMNS = ("lead_id", "channel", "created_at", "sold_at")
LEADS_OPTIONAL = ("contacted_at",)
SPEND_COLUMNS = ("month", "channel", "spend")
VISITS_COLUMNS = ("customer_id", "date", "kind", "revenue", "margin")

MAX_LISTED = 1000
"""Odd rows listed one by one per (file, issue); beyond that they are counted in one line."""

Source = str | Path | pd.DataFrame
"""A table: a CSV or XLSX file, or a DataFrame."""


class CrmError(ValueError):
    """Bad data in a CRM export: the message names the file, the row (header = row 1), the column and the
    rule."""

    def __init__(self, file: str, rule: str, row: int | None = None, column: str | None = None):
        where = file
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {rule}")
        self.file = file
        """The file (or `leads (DataFrame)` …)."""
        self.row = row
        """1-based row as a spreadsheet shows it (the header is row 1); None for the whole file."""
        self.column = column
        """The column, or None."""
        self.rule = rule
        """What is wrong, in words."""


@dataclass(frozen=True)
class CrmData:
    """A checked export. Every table has a `row` column: the row in its file (header = row 1)."""

    leads: pd.DataFrame
    """`lead_id`, `channel`, `created`, `contacted` (NaT: not reached), `sold` (NaT: not sold), `row`."""
    spend: pd.DataFrame
    """`month` (pandas Period, monthly), `channel`, `spend`, `row`."""
    visits: pd.DataFrame
    """`customer_id`, `date`, `kind` (`purchase` or a stream's name), `revenue`, `margin`, `row`."""
    odd: pd.DataFrame
    """Rows left out or changed: `file`, `row`, `column`, `issue`."""
    export_date: pd.Timestamp
    """The moment of the export: what happens after it is not known."""
    has_contacted: bool
    """True if leads has a `contacted_at` column (the desk's wait and lost leads can be measured)."""
    files: dict[str, str]
    """Names of the three tables' sources (`leads`, `spend`, `visits`)."""

    @property
    def start(self) -> pd.Period:
        """The first month of leads (month 1 of the fitted scenario)."""
        return self.leads["created"].min().to_period("M")

    @property
    def last_month(self) -> pd.Period:
        """The last complete month before the export date."""
        return self.export_date.to_period("M") - 1

    def cut(self, cutoff: pd.Timestamp) -> CrmData:
        """The export as it would have been taken at `cutoff`: later rows left out, later contacts and sales
        not yet known (empty)."""
        leads = self.leads[self.leads["created"] < cutoff].copy()
        leads.loc[leads["contacted"] >= cutoff, "contacted"] = pd.NaT
        leads.loc[leads["sold"] >= cutoff, "sold"] = pd.NaT
        spend = self.spend[self.spend["month"] < cutoff.to_period("M")]
        visits = self.visits[self.visits["date"] < cutoff]
        return replace(self, leads=leads, spend=spend, visits=visits, export_date=cutoff)


# --- reading -------------------------------------------------------------------------------------------


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1251")
    except UnicodeDecodeError:
        raise CrmError(name, "not text in UTF-8 or cp1251") from None


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def _read_file(path: Path) -> pd.DataFrame:
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CrmError(name, "no such file") from None
    except IsADirectoryError:
        raise CrmError(name, "is a folder, not a file") from None
    except OSError as exc:
        raise CrmError(name, f"cannot read: {exc.strerror}") from None
    if raw[:4] == b"PK\x03\x04":  # a ZIP container: XLSX
        try:
            frame = pd.read_excel(io.BytesIO(raw), sheet_name=0, dtype=str, engine="openpyxl")
        except ImportError as exc:
            raise ImportError("reading XLSX needs openpyxl: pip install 'funnel-sim[analysis]'") from exc
        except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
            raise CrmError(name, f"not a readable XLSX workbook ({exc})") from None
        return frame.fillna("")
    text = _decode(raw, name)
    if not text.strip():
        raise CrmError(name, "empty file (a header row is needed)")
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=_delimiter(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as exc:
        found = re.search(r"line (\d+), saw (\d+)", str(exc))
        if found:
            rule = f"{found.group(2)} fields where the header has fewer (a stray delimiter?)"
            raise CrmError(name, rule, row=int(found.group(1))) from None
        raise CrmError(name, f"not a readable CSV table ({exc})") from None


def _table(source: Source, label: str) -> tuple[pd.DataFrame, str]:
    """The table with normalised column names, and the name errors use for it."""
    if isinstance(source, pd.DataFrame):
        frame, name = source.copy(), f"{label} (DataFrame)"
    elif isinstance(source, str | Path):
        name = str(source)
        frame = _read_file(Path(source))
    else:
        raise CrmError(label, f"expected a file path or a DataFrame, got {type(source).__name__}")
    columns = [str(c).strip().lstrip("\ufeff").strip().lower() for c in frame.columns]
    seen: set[str] = set()
    for col in columns:
        if col in seen:
            raise CrmError(name, "appears twice in the header", row=1, column=col)
        seen.add(col)
    frame.columns = columns
    return frame.reset_index(drop=True), name


def _require(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns)) or "none"
        raise CrmError(
            name, f"missing column(s) {', '.join(missing)} (columns found: {have})", row=1, column=missing[0]
        )


TEXT = "string[pyarrow]"
"""Text columns are Arrow strings: their string operations run vectorised (300,000 leads in milliseconds)."""


def _text(col: pd.Series) -> pd.Series:
    """Column as stripped text; missing values are empty."""
    if not (col.dtype == object or pd.api.types.is_string_dtype(col)):
        col = col.astype(str).where(col.notna(), "")
    return col.astype(TEXT).fillna("").str.strip()


def _rows(frame: pd.DataFrame) -> np.ndarray:
    return frame.index.to_numpy() + 2


_TZ = r"(?i)(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?)$"
"""A time followed by a time-zone suffix (dropped: the wall-clock time is kept)."""
_DAY_FIRST = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y")


def _iso(text: pd.Series) -> pd.Series | None:
    """ISO dates and times as naive datetimes (NaT where not ISO); None if time zones differ by row."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns before it refuses mixed time zones
        try:
            out = pd.to_datetime(text, format="ISO8601", errors="coerce")
        except (ValueError, TypeError):
            return None
    if not pd.api.types.is_datetime64_any_dtype(out):
        return None
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out.astype("datetime64[ns]")


def _dates(frame: pd.DataFrame, column: str, name: str, required: bool) -> pd.Series:
    """A column of dates (NaT where empty); CrmError at the first value that is not a date."""
    col = frame[column]
    if pd.api.types.is_datetime64_any_dtype(col):
        out = col.dt.tz_localize(None) if getattr(col.dt, "tz", None) is not None else col
        empty = out.isna().to_numpy()
        text = out.astype(str)
    else:
        text = _text(col)
        empty = (text == "").to_numpy(dtype=bool)
        out = _iso(text.where(~empty))
        if out is None:  # time zones that differ from row to row: drop them all, keep the wall clock
            out = _iso(text.where(~empty).str.replace(_TZ, r"\1", regex=True))
        if out is None:
            raise CrmError(name, "dates that pandas cannot read together (mixed formats)", column=column)
        bad = out.isna().to_numpy() & ~empty
        if bad.any():  # a time zone on some rows only, or day-first dates
            clean = text[bad].str.replace(_TZ, r"\1", regex=True)
            out[bad] = pd.to_datetime(clean, format="ISO8601", errors="coerce").to_numpy()
            bad = out.isna().to_numpy() & ~empty
        for fmt in _DAY_FIRST:
            if not bad.any():
                break
            out[bad] = pd.to_datetime(text[bad], format=fmt, errors="coerce").to_numpy()
            bad = out.isna().to_numpy() & ~empty
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            rule = f"{text.iloc[i]!r} is not a date (write 2027-01-05 13:45 or 05.01.2027 13:45)"
            raise CrmError(name, rule, row=i + 2, column=column)
    if required and empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise CrmError(name, "empty: a date is needed here", row=i + 2, column=column)
    return out.astype("datetime64[ns]")


def _number_text(value: str) -> str:
    """One number written with both separators: the last one is the decimal point."""
    if value.rfind(",") > value.rfind("."):
        return value.replace(".", "").replace(",", ".")
    return value.replace(",", "")


def _numbers(frame: pd.DataFrame, column: str, name: str) -> pd.Series:
    """A column of numbers ≥ 0; CrmError at the first empty, non-numeric or negative value."""
    col = frame[column]
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        values = col.to_numpy(dtype=float, na_value=np.nan)
        text = col.astype(str)
    else:
        text = _text(col)
        empty = (text == "").to_numpy(dtype=bool)
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise CrmError(name, "empty: a number is needed here", row=i + 2, column=column)
        clean = text.str.replace("[\\s\u00a0\u202f']", "", regex=True)  # spaces between thousands
        both = (clean.str.contains(",", regex=False) & clean.str.contains(".", regex=False)).to_numpy(
            dtype=bool
        )
        if both.any():
            clean = clean.where(~both, clean[both].map(_number_text))
        clean = clean.str.replace(",", ".", regex=False)
        values = pd.to_numeric(clean, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CrmError(name, f"{text.iloc[i]!r} is not a number", row=i + 2, column=column)
    negative = values < 0
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise CrmError(name, f"{text.iloc[i]} is negative: it must be ≥ 0", row=i + 2, column=column)
    return pd.Series(values, index=frame.index)


MAX_NAME = 80
"""Longest channel or stream name (the scenario's names)."""


def _not_empty(frame: pd.DataFrame, column: str, name: str, longest: int | None = None) -> pd.Series:
    text = _text(frame[column])
    empty = (text == "").to_numpy(dtype=bool)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise CrmError(name, "empty: a value is needed here", row=i + 2, column=column)
    if longest is not None:
        long = (text.str.len() > longest).to_numpy(dtype=bool)
        if long.any():
            i = int(np.flatnonzero(long)[0])
            raise CrmError(
                name, f"longer than {longest} characters (a name in the scenario)", row=i + 2, column=column
            )
    return text


def _months(frame: pd.DataFrame, column: str, name: str) -> pd.Series:
    """A column of months: `YYYY-MM`, `MM.YYYY` or any date (its month)."""
    col = frame[column]
    if not pd.api.types.is_datetime64_any_dtype(col):
        text = _text(col)
        text = text.where(~text.str.fullmatch(r"\d{4}-\d{1,2}"), text + "-01")
        text = text.where(~text.str.fullmatch(r"\d{1,2}\.\d{4}"), "01." + text)
        frame = frame.assign(**{column: text})
    return _dates(frame, column, name, required=True).dt.to_period("M")


class _Odd:
    """The odd rows found so far."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, file: str, rows: np.ndarray, column: str, issue: str | Callable[[int], str]) -> None:
        rows = np.asarray(rows)
        if rows.size == 0:
            return
        listed = rows[:MAX_LISTED]
        issues = [issue(int(r)) for r in listed] if callable(issue) else [issue] * len(listed)
        frame = pd.DataFrame({"file": file, "row": listed.astype(int), "column": column, "issue": issues})
        if rows.size > MAX_LISTED:
            more = f"… and {rows.size - MAX_LISTED} more rows like these"
            frame = pd.concat(
                [frame, pd.DataFrame([{"file": file, "row": -1, "column": column, "issue": more}])]
            )
        self.parts.append(frame)

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({"file": [], "row": [], "column": [], "issue": []}).astype({"row": int})
        return pd.concat(self.parts, ignore_index=True)


def _duplicates(frame: pd.DataFrame, columns: list[str], name: str, odd: _Odd) -> np.ndarray:
    """Rows identical to an earlier row in every given column (True): listed as odd rows."""
    dup = frame.duplicated(subset=columns, keep="first").to_numpy()
    if dup.any():
        first = frame.groupby(columns, sort=False, dropna=False).ngroup().to_numpy()
        first_row = pd.Series(np.arange(len(frame))).groupby(first).transform("min").to_numpy() + 2
        rows = _rows(frame)[dup]
        origin = dict(zip(rows, first_row[dup], strict=True))
        odd.add(name, rows, "", lambda r: f"exact duplicate of row {origin[r]}: left out")
    return dup


def _parse_export_date(value: Any) -> pd.Timestamp:
    """A date without a time means the end of that day."""
    if isinstance(value, pd.Timestamp | datetime):
        stamp = pd.Timestamp(value)
        return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp
    if isinstance(value, date):
        return pd.Timestamp(value) + pd.Timedelta(days=1)
    if isinstance(value, str):
        text = value.strip()
        try:
            stamp = pd.Timestamp(text)
        except ValueError:
            raise CrmError("export_date", f"{value!r} is not a date (write 2029-12-31)") from None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            stamp += pd.Timedelta(days=1)
        return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp
    raise CrmError("export_date", f"expected a date, got {type(value).__name__}")


# --- the three tables ----------------------------------------------------------------------------------


def _leads(source: Source, odd: _Odd) -> tuple[pd.DataFrame, str, bool]:
    frame, name = _table(source, "leads")
    _require(frame, name, LEADS_COLUMNS)
    if frame.empty:
        raise CrmError(name, "no leads (the table has only its header)")
    has_contacted = "contacted_at" in frame.columns
    columns = [c for c in (*LEADS_COLUMNS, *LEADS_OPTIONAL) if c in frame.columns]
    text = pd.DataFrame({c: _text(frame[c]) for c in columns})
    dup = _duplicates(text, columns, name, odd)
    out = pd.DataFrame(
        {
            "lead_id": _not_empty(frame, "lead_id", name),
            "channel": _not_empty(frame, "channel", name, MAX_NAME),
            "created": _dates(frame, "created_at", name, required=True),
            "contacted": _dates(frame, "contacted_at", name, required=False)
            if has_contacted
            else pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]"),
            "sold": _dates(frame, "sold_at", name, required=False),
            "row": _rows(frame),
        }
    )
    out = out[~dup]
    again = out["lead_id"].duplicated(keep=False)
    if again.any():
        clash = out[again]
        second = clash[clash["lead_id"].duplicated(keep="first")].iloc[0]
        first = clash[clash["lead_id"] == second["lead_id"]].iloc[0]
        rule = f"lead_id {second['lead_id']!r} repeats row {first['row']} with other values"
        raise CrmError(name, rule, row=int(second["row"]), column="lead_id")

    def check(mask: pd.Series, column: str, rule: str) -> None:
        if mask.any():
            raise CrmError(name, rule, row=int(out.loc[mask, "row"].iloc[0]), column=column)

    check(out["contacted"] < out["created"], "contacted_at", "before created_at")
    check(out["sold"] < out["created"], "sold_at", "before created_at")
    check(out["sold"] < out["contacted"], "sold_at", "before contacted_at")
    if has_contacted:
        rule = "empty although the lead was sold (sold_at): a lead is sold only after its first contact"
        check(out["sold"].notna() & out["contacted"].isna(), "contacted_at", rule)
    return out.reset_index(drop=True), name, has_contacted


def _spend(source: Source, channels: set[str], leads_name: str, odd: _Odd) -> tuple[pd.DataFrame, str]:
    frame, name = _table(source, "spend")
    _require(frame, name, SPEND_COLUMNS)
    text = pd.DataFrame({c: _text(frame[c]) for c in SPEND_COLUMNS})
    dup = _duplicates(text, list(SPEND_COLUMNS), name, odd)
    out = pd.DataFrame(
        {
            "month": _months(frame, "month", name),
            "channel": _not_empty(frame, "channel", name),
            "spend": _numbers(frame, "spend", name),
            "row": _rows(frame),
        }
    )
    unknown = ~out["channel"].isin(channels)
    if unknown.any():
        first = out[unknown].iloc[0]
        known = ", ".join(sorted(channels - {REFERRALS})) or "none"
        rule = f"channel {first['channel']!r} has no leads in {leads_name} (its channels: {known})"
        raise CrmError(name, rule, row=int(first["row"]), column="channel")
    referral = out["channel"] == REFERRALS
    if referral.any():
        rule = f"spend on {REFERRALS!r}: referral leads are brought by customers and cost no CPL"
        raise CrmError(name, rule, row=int(out.loc[referral, "row"].iloc[0]), column="channel")
    return out[~dup].reset_index(drop=True), name


def _visits(source: Source, odd: _Odd) -> tuple[pd.DataFrame, str]:
    frame, name = _table(source, "visits")
    _require(frame, name, VISITS_COLUMNS)
    text = pd.DataFrame({c: _text(frame[c]) for c in VISITS_COLUMNS})
    dup = _duplicates(text, list(VISITS_COLUMNS), name, odd)
    kind = _not_empty(frame, "kind", name, MAX_NAME)
    kind = kind.where(kind.str.lower() != PURCHASE, PURCHASE)
    out = pd.DataFrame(
        {
            "customer_id": _not_empty(frame, "customer_id", name),
            "date": _dates(frame, "date", name, required=True),
            "kind": kind,
            "revenue": _numbers(frame, "revenue", name),
            "margin": _numbers(frame, "margin", name),
            "row": _rows(frame),
        }
    )
    over = out["margin"] > out["revenue"] * (1 + 1e-12)
    if over.any():
        first = out[over].iloc[0]
        rule = f"margin {first['margin']:g} exceeds revenue {first['revenue']:g}"
        raise CrmError(name, rule, row=int(first["row"]), column="margin")
    out = out[~dup]
    purchases = out[out["kind"] == PURCHASE]
    second = purchases["customer_id"].duplicated(keep="first")
    if second.any():
        row = purchases[second].iloc[0]
        first_row = purchases.loc[purchases["customer_id"] == row["customer_id"], "row"].iloc[0]
        rule = (
            f"customer {row['customer_id']!r} has a second {PURCHASE!r} row (the first is row {first_row}): "
            f"a customer's first purchase is one row, later ones need a repeat stream's kind"
        )
        raise CrmError(name, rule, row=int(row["row"]), column="kind")
    bought = purchases.set_index("customer_id")["date"]
    repeat = out[out["kind"] != PURCHASE]
    when = repeat["customer_id"].map(bought)
    orphan = when.isna()
    if orphan.any():
        row = repeat[orphan].iloc[0]
        rule = f"customer {row['customer_id']!r} has no {PURCHASE!r} row (every customer needs one)"
        raise CrmError(name, rule, row=int(row["row"]), column="customer_id")
    early = repeat["date"] < when
    if early.any():
        row = repeat[early].iloc[0]
        rule = (
            f"visit of customer {row['customer_id']!r} on {row['date']:%Y-%m-%d} is before its "
            f"{PURCHASE} on {bought[row['customer_id']]:%Y-%m-%d}"
        )
        raise CrmError(name, rule, row=int(row["row"]), column="date")
    return out.reset_index(drop=True), name


def read_export(leads: Source, visits: Source, spend: Source, export_date: Any = None) -> CrmData:
    """Read and check the three tables of an export (see the module's docstring).

    `export_date`: the moment the export was taken (a date alone = the end of that day); default: the end
    of the month of the latest date in the tables (an export of whole months). Rows dated after it are odd
    rows: listed in `odd` and left out (a contact or sale after it is taken as not yet happened).
    """
    odd = _Odd()
    lead_frame, leads_name, has_contacted = _leads(leads, odd)
    channels = set(lead_frame["channel"])
    spend_frame, spend_name = _spend(spend, channels, leads_name, odd)
    visit_frame, visits_name = _visits(visits, odd)
    if export_date is None:
        latest = max(
            lead_frame["created"].max(),
            lead_frame["contacted"].max() if lead_frame["contacted"].notna().any() else pd.NaT,
            lead_frame["sold"].max() if lead_frame["sold"].notna().any() else pd.NaT,
            visit_frame["date"].max() if len(visit_frame) else pd.NaT,
            key=lambda x: pd.Timestamp.min if pd.isna(x) else x,
        )
        stamp = (latest.to_period("M") + 1).to_timestamp()
    else:
        stamp = _parse_export_date(export_date)

    late = (lead_frame["created"] >= stamp).to_numpy()
    odd.add(leads_name, lead_frame["row"].to_numpy()[late], "created_at", "after the export date: left out")
    lead_frame = lead_frame[~late].copy()
    for column, field in (("contacted_at", "contacted"), ("sold_at", "sold")):
        after = (lead_frame[field] >= stamp).to_numpy()
        issue = "after the export date: taken as not yet happened"
        odd.add(leads_name, lead_frame["row"].to_numpy()[after], column, issue)
        lead_frame.loc[after, field] = pd.NaT
    if lead_frame.empty:
        raise CrmError(leads_name, f"no leads before the export date {stamp:%Y-%m-%d %H:%M}")
    late = (spend_frame["month"] > stamp.to_period("M")).to_numpy()
    odd.add(spend_name, spend_frame["row"].to_numpy()[late], "month", "after the export date: left out")
    spend_frame = spend_frame[~late]
    late = (visit_frame["date"] >= stamp).to_numpy()
    odd.add(visits_name, visit_frame["row"].to_numpy()[late], "date", "after the export date: left out")
    visit_frame = visit_frame[~late]
    return CrmData(
        leads=lead_frame.reset_index(drop=True),
        spend=spend_frame.reset_index(drop=True),
        visits=visit_frame.reset_index(drop=True),
        odd=odd.frame(),
        export_date=stamp,
        has_contacted=has_contacted,
        files={"leads": leads_name, "spend": spend_name, "visits": visits_name},
    )
