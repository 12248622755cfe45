"""Reading a CRM export (sim.calibration.crm): formats (UTF-8 or cp1251, `,` or `;`, decimal commas, XLSX,
DataFrames), every rule of bad data named by file, row and column, and odd rows listed, not dropped
silently."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.calibration.crm import CrmError, read_export

LEADS = """lead_id,channel,created_at,contacted_at,sold_at
L1,Calls,2027-01-03 10:00:00,2027-01-03 10:30:00,2027-01-20 12:00:00
L2,Calls,2027-01-05 09:00,2027-01-05 09:10,
L3,Web,2027-02-01T08:00,,
L4,referrals,2027-02-10,2027-02-10 01:00,2027-02-25
"""
SPEND = """month,channel,spend
2027-01,Calls,4500
2027-02,Calls,4000.5
2027-02,Web,1000
"""
VISITS = """customer_id,date,kind,revenue,margin
C1,2027-01-20 12:00,purchase,100000,10000
C1,2027-02-02,service,5000,2000
C2,2027-02-25,purchase,90000,9000
"""


def write(folder: Path, leads: str = LEADS, spend: str = SPEND, visits: str = VISITS, **kw: str) -> dict:
    encoding = kw.get("encoding", "utf-8")
    paths = {}
    for name, text in (("leads", leads), ("spend", spend), ("visits", visits)):
        p = folder / f"{name}.csv"
        p.write_bytes(text.encode(encoding))
        paths[name] = p
    return paths


def read(paths: dict, **kw) -> object:
    return read_export(paths["leads"], paths["visits"], paths["spend"], **kw)


def test_reads_a_plain_export(tmp_path: Path) -> None:
    data = read(write(tmp_path))
    assert list(data.leads["lead_id"]) == ["L1", "L2", "L3", "L4"]
    assert data.leads.loc[0, "sold"] == pd.Timestamp("2027-01-20 12:00")
    assert pd.isna(data.leads.loc[2, "contacted"]) and pd.isna(data.leads.loc[1, "sold"])
    assert data.leads.loc[3, "created"] == pd.Timestamp("2027-02-10")
    assert data.spend["spend"].tolist() == [4500.0, 4000.5, 1000.0]
    assert data.spend["month"].astype(str).tolist() == ["2027-01", "2027-02", "2027-02"]
    assert data.visits["kind"].tolist() == ["purchase", "service", "purchase"]
    # Default export date: the end of the month of the latest date (whole months).
    assert data.export_date == pd.Timestamp("2027-03-01")
    assert str(data.start) == "2027-01" and str(data.last_month) == "2027-02"
    assert data.has_contacted and data.odd.empty
    assert (data.leads["row"] == [2, 3, 4, 5]).all()


def test_russian_excel_csv_cp1251_semicolons_decimal_commas(tmp_path: Path) -> None:
    leads = LEADS.replace(",", ";").replace("Calls", "Звонки").replace("2027-01-05 09:00", "05.01.2027 09:00")
    spend = "Month; Channel ;Spend\n2027-01;Звонки;4 500\n02.2027;Звонки;4\u00a0000,5\n2027-02;Web;1 000,00\n"
    visits = VISITS.replace(",", ";").replace("5000;2000", "5000,50;2000,25")
    data = read(write(tmp_path, leads, spend, visits, encoding="cp1251"))
    assert data.leads.loc[0, "channel"] == "Звонки"
    assert data.leads.loc[1, "created"] == pd.Timestamp("2027-01-05 09:00")
    assert data.spend["spend"].tolist() == [4500.0, 4000.5, 1000.0]
    assert str(data.spend["month"].iloc[1]) == "2027-02"
    assert data.visits.loc[1, "revenue"] == 5000.5 and data.visits.loc[1, "margin"] == 2000.25


def test_utf8_with_bom_tabs_and_time_zones(tmp_path: Path) -> None:
    leads = LEADS.replace(",", "\t").replace("2027-01-03 10:00:00", "2027-01-03T10:00:00+03:00")
    data = read(write(tmp_path, leads=leads, encoding="utf-8-sig"))
    assert data.leads.loc[0, "created"] == pd.Timestamp("2027-01-03 10:00")  # wall clock kept


def test_xlsx_and_dataframes_read_like_csv(tmp_path: Path) -> None:
    csv = read(write(tmp_path))
    paths = {}
    for name, text in (("leads", LEADS), ("spend", SPEND), ("visits", VISITS)):
        frame = pd.read_csv(pd.io.common.StringIO(text), dtype=str, keep_default_na=False)
        if name == "visits":
            frame["date"] = pd.to_datetime(frame["date"], format="ISO8601")  # an Excel date cell
            frame["revenue"] = frame["revenue"].astype(float)
        paths[name] = tmp_path / f"{name}.xlsx"
        frame.to_excel(paths[name], index=False)
    xlsx = read(paths)
    frames = read_export(
        pd.read_csv(
            pd.io.common.StringIO(LEADS),
            parse_dates=["created_at", "contacted_at", "sold_at"],
            date_format="ISO8601",
        ),
        pd.read_csv(pd.io.common.StringIO(VISITS)),
        pd.read_csv(pd.io.common.StringIO(SPEND)),
    )
    for other in (xlsx, frames):
        pd.testing.assert_frame_equal(other.leads, csv.leads)
        pd.testing.assert_frame_equal(other.visits, csv.visits)
        pd.testing.assert_frame_equal(other.spend, csv.spend)


@pytest.mark.parametrize(
    ("table", "old", "new", "row", "column", "words"),
    [
        ("leads", "sold_at", "sale", 1, "sold_at", "missing column"),
        ("spend", "spend\n", "amount\n", 1, "spend", "missing column"),
        ("leads", "2027-02-01T08:00", "2027-13-01", 4, "created_at", "not a date"),
        ("leads", "2027-02-01T08:00", "", 4, "created_at", "a date is needed"),
        ("leads", "2027-01-05 09:10", "yesterday", 3, "contacted_at", "not a date"),
        ("spend", "4000.5", "-4000.5", 3, "spend", "negative"),
        ("spend", "4000.5", "lots", 3, "spend", "not a number"),
        ("spend", "2027-02,Web", "2027-02,Radio", 4, "channel", "channel 'Radio' has no leads"),
        ("spend", "2027-02,Web", "2027-02,referrals", 4, "channel", "cost no CPL"),
        ("visits", "C1,2027-02-02", "C1,2027-01-02", 3, "date", "is before its purchase"),
        ("visits", "C1,2027-02-02", "C9,2027-02-02", 3, "customer_id", "no 'purchase' row"),
        ("visits", "C2,2027-02-25,purchase", "C1,2027-02-25,purchase", 4, "kind", "second 'purchase' row"),
        ("visits", "5000,2000", "5000,6000", 3, "margin", "exceeds revenue"),
        ("leads", "L2,", "L1,", 3, "lead_id", "repeats row 2 with other values"),
        ("leads", "2027-01-03 10:30:00", "2027-01-02 10:30:00", 2, "contacted_at", "before created_at"),
        ("leads", "2027-01-20 12:00:00", "2027-01-03 10:20:00", 2, "sold_at", "before contacted_at"),
        ("leads", "2027-02-10 01:00", "", 5, "contacted_at", "sold only after its first contact"),
        ("leads", "L3,Web", "L3," + "W" * 81, 4, "channel", "longer than 80 characters"),
        ("visits", "service", "", 3, "kind", "a value is needed"),
    ],
)
def test_bad_data_names_file_row_column_and_rule(
    tmp_path: Path, table: str, old: str, new: str, row: int, column: str, words: str
) -> None:
    texts = {"leads": LEADS, "spend": SPEND, "visits": VISITS}
    assert old in texts[table]
    texts[table] = texts[table].replace(old, new, 1)
    paths = write(tmp_path, **texts)
    with pytest.raises(CrmError) as info:
        read(paths)
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.file, err.row, err.column) == (str(paths[table]), row, column), str(err)
    assert words in str(err), str(err)
    assert str(err).startswith(f"{paths[table]}, row {row}, column {column!r}: ")


def test_missing_file_and_broken_rows(tmp_path: Path) -> None:
    paths = write(tmp_path)
    with pytest.raises(CrmError, match="no such file"):
        read_export(tmp_path / "nope.csv", paths["visits"], paths["spend"])
    paths = write(tmp_path, leads=LEADS + "L5,Calls,2027-02-03,,,extra,more\n")
    with pytest.raises(CrmError, match=r"row 6: 7 fields"):
        read(paths)
    (tmp_path / "bad.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(CrmError, match="not a readable XLSX"):
        read_export(tmp_path / "bad.xlsx", paths["visits"], paths["spend"])


def test_odd_rows_are_listed_and_left_out(tmp_path: Path) -> None:
    leads = LEADS + "L2,Calls,2027-01-05 09:00,2027-01-05 09:10,\nL9,Web,2027-03-02,,\n"
    visits = VISITS + "C1,2027-02-02,service,5000,2000\n"
    data = read(write(tmp_path, leads=leads, visits=visits), export_date="2027-02-28")
    odd = data.odd
    assert len(odd) == 3, odd
    keys = zip(odd["file"].map(lambda f: Path(f).name), odd["row"], odd["column"], strict=True)
    issues = dict(zip(keys, odd["issue"], strict=True))
    assert issues == {
        ("leads.csv", 6, ""): "exact duplicate of row 3: left out",
        ("leads.csv", 7, "created_at"): "after the export date: left out",
        ("visits.csv", 5, ""): "exact duplicate of row 3: left out",
    }
    # A date alone is the end of that day: the sale on 2027-02-25 is known, nothing of March is.
    assert data.export_date == pd.Timestamp("2027-03-01")
    assert len(data.leads) == 4 and len(data.visits) == 3
    early = read(write(tmp_path), export_date="2027-02-20 00:00")
    assert pd.isna(early.leads.loc[3, "sold"])  # the sale on 02-25 had not happened at the export
    assert set(early.odd["column"]) >= {"sold_at", "date"}


def test_cut_is_the_export_as_taken_earlier(tmp_path: Path) -> None:
    data = read(write(tmp_path))
    cut = data.cut(pd.Timestamp("2027-01-10"))
    assert list(cut.leads["lead_id"]) == ["L1", "L2"]
    assert pd.isna(cut.leads.loc[0, "sold"])  # sold on 01-20, after the cut
    assert cut.visits.empty and cut.export_date == pd.Timestamp("2027-01-10")
    assert cut.spend["month"].astype(str).tolist() == []


def test_bad_export_date_and_empty_tables(tmp_path: Path) -> None:
    paths = write(tmp_path)
    with pytest.raises(CrmError, match="export_date: 'soon' is not a date"):
        read(paths, export_date="soon")
    (tmp_path / "empty").mkdir()
    empty = write(tmp_path / "empty", leads="lead_id,channel,created_at,sold_at\n")
    with pytest.raises(CrmError, match="no leads"):
        read(empty)
    with pytest.raises(CrmError, match="no leads before the export date"):
        read(paths, export_date="2026-12-31")
