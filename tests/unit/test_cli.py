"""The command line (`sim.cli.main`): the version, and the one error path: every command's bad input (a
missing or invalid file, a bad option or value) exits 2 with one line on stderr, never a traceback.

The commands' output is checked where it is quoted (tests/integration/test_readme.py runs README's
command lines) and for sweeps in tests/integration/test_sweep.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

import sim
from sim.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
DEALER = str(ROOT / "scenarios" / "car_dealer.toml")
SERVICE = str(ROOT / "scenarios" / "car_dealer_service.toml")
MISSING = "no/such/scenario.toml"
INVALID = "invalid.toml"
"""Written into the test's folder: two invalid values and two missing sections."""


def cli(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `funnel-sim ARGV` run in this process."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse: --version, --help and bad options
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]):
    code, out, err = cli(["--version"], capsys)
    assert (code, out, err) == (0, f"funnel-sim {sim.__version__}\n", "")


STAFF = ["--lever", "sales_desk.staff", "--metric", "lost_lead_share"]
BAD_INPUT = [
    # (command line, what the line on stderr says)
    (["run", MISSING], "no such file"),
    (["run", INVALID], "horizon_months = 0: Input should be greater than or equal to 1"),
    (["run", DEALER, "--replications", "0"], "argument --replications/-n: 0 must be >= 1"),
    (["run", DEALER, "--seed", "x"], "'x' is not a whole number"),
    (["validate", MISSING], "no such file"),
    (["validate", INVALID], "first_purchase.revenue = -1"),
    (["validate"], "the following arguments are required: files"),
    (["compare", DEALER, MISSING], "no such file"),
    (["compare", DEALER, SERVICE, "-n", "many"], "'many' is not a whole number"),
    (["sensitivity", MISSING], "no such file"),
    (["sensitivity", DEALER, "--metric", "nonsense"], "invalid choice: 'nonsense'"),
    (["sensitivity", DEALER, "--change", "1.5"], "1.5 must be between 0 and 1"),
    (["goal-seek", DEALER, "--metric", "break_even_month", "--target", "60"], "--lever"),
    (
        ["goal-seek", DEALER, "--lever", "name", "--metric", "break_even_month", "--target", "60"],
        "not a lever",
    ),
    (
        [
            *("goal-seek", DEALER, "--lever", "channels.0.cost_per_lead", "--metric", "break_even_month"),
            *("--target", "24", "--low", "1500", "--high", "3000"),
        ],
        "not reachable",
    ),
    (["goal-seek", SERVICE, *STAFF, "--target", "inf"], "'inf' is not a finite number"),
    (["programme", DEALER], "there is no programme to evaluate"),
    (["programme", INVALID], "retention: Field required"),
    (["sweep", MISSING, "--grid", "sales_desk.staff=2,3"], "no such file"),
    (["sweep", DEALER, "--grid", "nonsense"], "expected PATH=V1,V2"),
    (["sweep", DEALER, "--samples", "4"], "--samples needs at least one --sample"),
    (["sweep", DEALER, "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
    (["nonsense"], "invalid choice: 'nonsense'"),
]


@pytest.mark.parametrize(
    ("argv", "says"), BAD_INPUT, ids=[" ".join(Path(x).name for x in a) for a, _ in BAD_INPUT]
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str],
    says: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / INVALID).write_text(
        'name = "x"\nhorizon_months = 0\n[first_purchase]\nrevenue = -1\nmargin = 2\n', encoding="utf-8"
    )
    code, _, err = cli(argv, capsys)
    assert code == 2, f"exit code {code}: {err}"
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, f"not one line on stderr:\n{err}"
    assert says in err, err


def test_validate_reports_each_file(capsys: pytest.CaptureFixture[str]):
    files = sorted(str(p) for p in (ROOT / "scenarios").glob("*.toml"))
    code, out, err = cli(["validate", *files], capsys)
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"ok: {f} ({sim.load_scenario(f).name})" for f in files]
