"""The command line (`sim.cli.main`): the version, and the one error path: every command's bad input (a
missing or invalid file, a bad option or value) exits 2 with one line on stderr, never a traceback.

The commands' output is checked where it is quoted (tests/integration/test_readme.py runs README's
command lines) and for sweeps in tests/integration/test_sweep.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli.common import money
from sim.cli.main import main
from sim.cli.runs import channel_table, kpi_table

ROOT = Path(__file__).resolve().parents[2]
DEALER = str(ROOT / "scenarios" / "car_dealer.toml")
SERVICE = str(ROOT / "scenarios" / "car_dealer_service.toml")
MISSING = "no/such/scenario.toml"
INVALID = "invalid.toml"
"""Written into the test's folder: two invalid values and two missing sections."""
FREE = "free.toml"
"""Written into the test's folder: the dealer whose leads cost nothing."""
UNSURE = "unsure.toml"
"""Written into the test's folder: the dealer with the CPL and a conversion given as ranges."""
RANGES = {
    "channels.0.cost_per_lead": {"low": 1500.0, "high": 2500.0},
    "funnel.2.conversion": {"low": 0.08, "mode": 0.1, "high": 0.14},
}


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
    (["best", MISSING, *STAFF], "no such file"),
    (["best", DEALER, "--lever", "sales_desk.staff"], "--metric"),
    (["best", DEALER, "--lever", "sales_desk.staff", "--metric", "nonsense"], "invalid choice: 'nonsense'"),
    (["best", DEALER, "--lever", "sales_desk.stuff", "--metric", "cac"], "not a lever"),
    (["best", DEALER, *STAFF, "--low", "5", "--high", "5"], "holds fewer than two values"),
    (["best", DEALER, *STAFF, "--low", "0"], "outside sales_desk.staff's valid values"),
    (["best", DEALER, *STAFF, "--model", "exact"], "invalid choice: 'exact'"),
    (["best", DEALER, *STAFF, "--points", "2"], "points = 2: must be a whole number >= 3"),
    (["budget", MISSING], "no such file"),
    (["budget", DEALER, "--amount", "0"], "--amount 0: must be a positive amount a month"),
    (["budget", DEALER, "--amount", "lots"], "'lots' is not a number"),
    (["budget", FREE], "no paid channel"),
    (["budget", DEALER, "--metric", "nonsense"], "invalid choice: 'nonsense'"),
    (["run", DEALER, "--by-month", "0"], "argument --by-month: 0 must be >= 1"),
    (["run", DEALER, "--by-month", "121"], "--by-month 121: past the horizon (120 months)"),
    (["drivers", MISSING], "no such file"),
    (["drivers", DEALER], "has no [uncertainty]: give the levers nobody knows for sure as ranges first"),
    (["drivers", UNSURE, "--samples", "100"], "samples = 100: must be a power of two (e.g. 64 or 128)"),
    (["drivers", UNSURE, "--samples", "0"], "argument --samples: 0 must be >= 1"),
    (["drivers", UNSURE, "--metric", "nonsense"], "invalid choice: 'nonsense'"),
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
    (tmp_path / FREE).write_text(
        sim.load_scenario(DEALER).override({"channels.0.cost_per_lead": 0.0}).to_toml(), encoding="utf-8"
    )
    (tmp_path / UNSURE).write_text(
        sim.load_scenario(DEALER).override({"uncertainty": RANGES}).to_toml(), encoding="utf-8"
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


def write(scenario: sim.Scenario, folder: Path, name: str) -> str:
    path = folder / name
    path.write_text(scenario.to_toml(), encoding="utf-8")
    return str(path)


def test_best_prints_the_curve_and_the_answer(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    desk = sim.load_scenario(SERVICE).override(
        {"sales_desk.salary_per_month": 60_000.0, "sales_desk.handling_minutes": 60.0}
    )
    path = write(desk, tmp_path, "desk.toml")
    code, out, err = cli(
        ["best", path, "--lever", "sales_desk.staff", "--metric", "final_cumulative_cash"], capsys
    )
    assert (code, err) == (0, "")
    res = sim.best(desk, "sales_desk.staff", "final_cumulative_cash")
    lines = out.splitlines()
    assert lines[0].startswith(f"{desk.name}: final_cumulative_cash against Salespeople (sales_desk.staff")
    assert "expected values, money in RUB" in lines[0]
    rows = lines[3 : 3 + len(res.curve)]
    assert [r.split()[0] for r in rows] == [str(n) for n in range(1, 15)], "every whole number, in order"
    best_row = next(r for r in rows if "◀ best" in r)
    assert best_row.split()[0] == str(res.value) == "3"
    assert next(r for r in rows if r.endswith("now")).split()[0] == "4"
    assert lines[-1] == (
        f"best: sales_desk.staff = 3 gives the highest final_cumulative_cash, {money(res.metric_value)} "
        f"(now 4: {money(res.base_metric)})"
    )


def test_best_of_a_number_lever_shows_at_most_41_rows(capsys: pytest.CaptureFixture[str]):
    lever = "channels.0.cost_per_lead"
    code, out, _ = cli(["best", SERVICE, "--lever", lever, "--metric", "break_even_month"], capsys)
    assert code == 0
    res = sim.best(SERVICE, lever, "break_even_month")
    assert len(res.curve) > 41
    rows = out.splitlines()[3:-1]
    assert 41 <= len(rows) <= 43, "41 evenly spread rows, plus the best and the current value"
    assert any("◀ best" in r for r in rows) and any(r.endswith("now") for r in rows)


def test_budget_prints_every_paid_channel_best_first(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    data = sim.load_scenario(SERVICE).model_dump(mode="json")
    data["channels"].append({"name": "Forms", "leads_per_month": 300.0, "cost_per_lead": 1500.0})
    two = sim.parse_scenario(data)
    path = write(two, tmp_path, "two.toml")
    code, out, err = cli(["budget", path, "--amount", "100000"], capsys)
    assert (code, err) == (0, "")
    res = sim.next_budget(two, amount=100_000)
    lines = out.splitlines()
    assert lines[0] == (
        f"{two.name}: 100 000 RUB a month more for one paid channel at a time, for 120 months "
        "(expected values)"
    )
    assert [line.split()[0] for line in lines[4:6]] == res.table["name"].tolist() == ["Forms", "Calls"]
    assert money(res.table["cash_change"].iloc[0]) in lines[4]
    assert lines[-1] == res.verdict("RUB")


def test_run_prints_a_table_per_channel(capsys: pytest.CaptureFixture[str]):
    """Needs the engine's per-channel results (`SimulationResult.channel_kpis`) and `ltv_gross`."""
    code, out, _ = cli(["run", SERVICE, "-n", "2", "--seed", "3"], capsys)
    assert code == 0
    result = sim.simulate(SERVICE, replications=2, seed=3)
    lines = out.splitlines()
    kpis = [line.split()[0] if line.strip() else "" for line in lines]
    assert kpis[kpis.index("ltv") + 1] == "ltv_gross", "the gross LTV right after the net one"
    start = lines.index("per channel, means over 2 runs:")
    header = lines[start + 1].split()
    assert header == [
        "channel",
        "leads",
        "sales",
        "cac",
        "leads_per_sale",
        "lost_share",
        "ltv_to_cac",
        "payback_months",
    ]
    means = result.channel_kpis.groupby("channel", sort=False)[["leads", "sales", "cac"]].mean()
    rows = lines[start + 3 : start + 3 + len(means)]
    assert [r.split()[0] for r in rows] == [str(c) for c in means.index]
    for row, (_, m) in zip(rows, means.iterrows(), strict=True):
        assert f"{m['leads']:,.1f}".replace(",", " ") in row
        assert money(m["cac"]) in row


def test_kpi_table_puts_the_gross_ltv_after_the_net_one():
    summary = pd.DataFrame(
        {"mean": [76.0, 2.8e5, 1.4e5, 3.5e5], "p10": np.nan, "p50": np.nan, "p90": np.nan},
        index=pd.Index(["break_even_month", "ltv", "cac", "ltv_gross"], name="kpi"),
    )
    lines = kpi_table(summary, 1).splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["break_even_month", "ltv", "ltv_gross", "cac"]
    assert lines[4].endswith("350 000")


def test_channel_table_means_over_replications():
    channel_kpis = pd.DataFrame(
        {
            "replication": [0, 0, 1, 1],
            "channel": ["Calls", "referrals", "Calls", "referrals"],
            "leads": [1000.0, 40.0, 1010.0, 44.0],
            "sales": [10.0, 10.0, 12.0, 11.0],
            "cac": [225_000.0, 1000.0, 175_000.0, 2000.0],
            "leads_per_sale": [100.0, 4.0, 84.0, 4.0],
            "lost_share": [0.01, 0.0, 0.03, 0.0],
            "ltv_to_cac": [1.2, 280.0, 1.6, 140.0],
            "payback_months": [np.nan, 1.0, 30.0, 1.0],
        }
    )
    rows = [line.split("  ") for line in channel_table(channel_kpis).splitlines()[2:]]
    cells = [[c.strip() for c in r if c.strip()] for r in rows]
    assert cells[0] == ["Calls", "1 005.0", "11.0", "200 000", "92.0", "2.0%", "1.4", "30.0"]
    assert cells[1] == ["referrals", "42.0", "10.5", "1 500", "4.0", "0.0%", "210.0", "1.0"]
    never = channel_kpis.assign(payback_months=np.nan)
    assert channel_table(never).splitlines()[2].split()[-1] == "never"


def test_run_without_referrals_shows_no_referral_row(capsys: pytest.CaptureFixture[str]):
    """Needs the engine's per-channel results (`SimulationResult.channel_kpis`)."""
    code, out, _ = cli(["run", DEALER], capsys)
    assert code == 0
    lines = out.splitlines()
    start = lines.index("per channel:")
    assert [line.split()[0] for line in lines[start + 3 :]] == ["Calls"]


def test_run_by_month_prints_the_probability(capsys: pytest.CaptureFixture[str]):
    code, out, _ = cli(["run", SERVICE, "-n", "3", "--seed", "2", "--by-month", "100"], capsys)
    assert code == 0
    p = sim.simulate(SERVICE, replications=3, seed=2).p_break_even_by(100)
    assert f"P(break-even by month 100) = {p:.1%}\n" in out
    assert "uncertain levers" not in out


def test_run_with_ranges_lists_the_uncertain_levers(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    unsure = sim.load_scenario(SERVICE).override({"horizon_months": 60, "uncertainty": RANGES})
    path = write(unsure, tmp_path, UNSURE)
    code, out, _ = cli(["run", path, "-n", "4", "--by-month", "48", "--out", str(tmp_path / "o")], capsys)
    assert code == 0
    result = sim.simulate(unsure, replications=4, seed=0)
    lines = out.splitlines()
    start = lines.index("uncertain levers, each drawn once per replication (2):")
    assert lines[start + 1].split() == ["lever", "distribution", "low", "mode", "high", "drawn", "mean"]
    cpl, conv = (lines[start + 3].split(), lines[start + 4].split())
    mean = result.draws["channels.0.cost_per_lead"].mean()
    assert cpl == ["channels.0.cost_per_lead", "uniform", "1500", "2500", f"{mean:.6g}"]
    assert conv[:5] == ["funnel.2.conversion", "triangular", "0.08", "0.1", "0.14"]
    assert f"P(break-even by month 48) = {result.p_break_even_by(48):.1%}" in lines
    assert "draws.parquet" in lines[-1]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o" / "draws.parquet"), result.draws)


def test_drivers_prints_the_levers_by_total_index(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    unsure = sim.load_scenario(SERVICE).override(
        {
            "horizon_months": 60,
            "uncertainty": {**RANGES, "retention.monthly_churn": {"low": 0.01, "high": 0.02}},
        }
    )
    path = write(unsure, tmp_path, UNSURE)
    code, out, err = cli(["drivers", path, "--samples", "32", "--metric", "final_cumulative_cash"], capsys)
    assert (code, err) == (0, "")
    table = sim.drivers(unsure, metric="final_cumulative_cash", samples=32)
    lines = out.splitlines()
    assert lines[0] == (
        f"{unsure.name}: what to find out first for final_cumulative_cash: Sobol' indices over 3 uncertain "
        "lever(s), 32 samples (160 evaluations of the expected-value model), seed 0"
    )
    assert lines[1].split()[:3] == ["lever", "label", "range"]
    rows = lines[3:6]
    assert [r.split()[0] for r in rows] == table["lever"].tolist()
    top = table.iloc[0]
    assert (
        f"{top['S1']:.2f} ± {top['S1_conf']:.2f}" in rows[0]
        and f"{top['ST']:.2f} ± {top['ST_conf']:.2f}" in rows[0]
    )
    assert "0.08 … 0.1 … 0.14" in out and "1500 … 2500" in out
    assert lines[-1].startswith("find out first the lever with the largest total index")
