"""`funnel-sim fit`: the fitted scenario and its report from a CRM export, and bad exports in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "crm"


def test_fit_writes_a_scenario_that_loads_and_a_report(tmp_path, capsys):
    out, report = tmp_path / "mine.toml", tmp_path / "report.csv"
    code = main(["fit", "--folder", str(EXAMPLE), "--out", str(out), "--report", str(report)])
    text = capsys.readouterr().out
    assert code == 0 and "fitted from the export" in text and f"wrote {out}" in text
    fitted = sim.load_scenario(out)
    assert fitted.start is not None and len(fitted.channels) >= 1
    table = pd.read_csv(report)
    assert {"parameter", "value", "ci_low", "ci_high", "n", "method"} <= set(table.columns)
    assert "#" in out.read_text(encoding="utf-8")  # each fitted value carries its CI as a comment


def test_the_three_files_instead_of_a_folder(tmp_path, capsys):
    code = main(["fit", *(str(EXAMPLE / f"{n}.csv") for n in ("leads", "visits", "spend"))])
    assert code == 0 and "fitted from the export" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["fit"], "give the three files"),
        (["fit", "a.csv"], "give the three files"),
        (["fit", "--folder", "/no/such/folder"], "no such file"),
    ],
)
def test_missing_input_is_one_line_and_exit_2(argv, says, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_bad_row_names_the_file_row_and_column(tmp_path, capsys):
    folder = tmp_path / "export"
    shutil.copytree(EXAMPLE, folder)
    spend = folder / "spend.csv"
    raw = spend.read_bytes()
    encoding = "cp1251" if b";" in raw.splitlines()[0] else "utf-8"
    lines = raw.decode(encoding).splitlines()
    sep = ";" if ";" in lines[0] else ","
    cells = lines[2].split(sep)
    cells[-1] = "-5"  # a negative spend in the second data row (row 3)
    lines[2] = sep.join(cells)
    spend.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    assert main(["fit", "--folder", str(folder)]) == 2
    err = capsys.readouterr().err
    assert str(spend) in err and "row 3" in err and err.count("\n") == 1, err
