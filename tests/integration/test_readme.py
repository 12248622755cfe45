"""README's examples run, and the figures it quotes are what the model gives.

Every Python block and every `python -m sim` line runs in a temporary folder holding a copy of
`scenarios/` and `examples/`: the snippets' relative paths resolve there and nothing is written into the
checkout. The figures are parsed from README's text (a README edit that changes a figure must match the
model) and checked to the precision README gives them (`25.6 M` = within 0.05 M, `281 k` = within 0.5 k).
"""

from __future__ import annotations

import ast
import contextlib
import io
import linecache
import re
import shlex
import shutil
import subprocess
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def copy_of_scenarios(folder: Path) -> Path:
    """`folder` with a copy of the shipped scenarios and the examples, as the snippets' working directory."""
    shutil.copytree(ROOT / "scenarios", folder / "scenarios")
    shutil.copytree(ROOT / "examples", folder / "examples")
    return folder


# --- reading README ---------------------------------------------------------------------------------------


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def _block(containing: str) -> str:
    """The one Python block of README that contains `containing`."""
    found = [b for b in _blocks("python") if containing in b]
    assert len(found) == 1, f"README has {len(found)} Python blocks with {containing!r}"
    return found[0]


def quoted(pattern: str, text: str | None = None) -> list[str]:
    """The groups of `pattern` (README's wording) in `text` (default: README); a clear failure if the
    wording changed."""
    match = re.search(pattern, README if text is None else text)
    assert match, f"README no longer says {pattern!r}: update this test to its new wording"
    return list(match.groups())


def figure(text: str) -> float:
    """A number as README writes it: `1,950`, `20 000 000`, `−10 000 000`, `25.6`."""
    return float(re.sub(r"[,\s\u2009\u202f\u00a0]", "", text).replace("−", "-"))


def assert_as_quoted(value: float, text: str, what: str, unit: float = 1.0) -> None:
    """`value / unit` is the figure `text` to the decimals it shows (`25.6`: within 0.05)."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    got = value / unit
    assert abs(got - figure(text)) <= 0.5 * 10.0**-decimals * (1 + 1e-9), (
        f"{what}: README says {text}, the model gives {got:.{decimals + 2}f}"
    )


# --- running the Python blocks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluated:
    """A top-level expression of a block, its comment and its value."""

    code: str
    comment: str
    """The comment at the end of its last line, else the comment line right after it."""
    value: Any


@dataclass
class Ran:
    """What running a block left: its expressions' values and its variables."""

    expressions: list[Evaluated] = field(default_factory=list)
    namespace: dict[str, Any] = field(default_factory=lambda: {"__name__": "readme"})

    def find(self, code_start: str) -> Evaluated:
        """The one expression whose code starts with `code_start`."""
        found = [e for e in self.expressions if e.code.startswith(code_start)]
        assert len(found) == 1, f"README's block has {len(found)} expressions starting with {code_start!r}"
        return found[0]


def _comments(code: str) -> dict[int, str]:
    """Line number -> the comment on that line, without `#`."""
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return {t.start[0]: t.string.lstrip("#").strip() for t in tokens if t.type == tokenize.COMMENT}


def run_block(code: str, folder: Path) -> Ran:
    """Run a README block statement by statement in `folder`, keeping each top-level expression's value."""
    lines, comments, ran = code.splitlines(), _comments(code), Ran()
    name = f"<README.md block {_blocks('python').index(code) + 1}>"
    linecache.cache[name] = (len(code), None, code.splitlines(keepends=True), name)  # for tracebacks
    with contextlib.chdir(folder):
        for node in ast.parse(code).body:
            if not isinstance(node, ast.Expr):
                exec(compile(ast.Module([node], type_ignores=[]), name, "exec"), ran.namespace)
                continue
            value = eval(compile(ast.Expression(node.value), name, "eval"), ran.namespace)
            end = node.end_lineno or node.lineno
            comment = comments.get(end, "")
            while not comment and end < len(lines) and lines[end].lstrip().startswith("#"):
                comment, end = comments[end + 1], end + 1
            ran.expressions.append(Evaluated(ast.get_source_segment(code, node) or "", comment, value))
    return ran


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One working folder for the Python blocks (each block runs once, see `ran`)."""
    return copy_of_scenarios(tmp_path_factory.mktemp("readme"))


_RAN: dict[str, Ran] = {}


def ran(code: str, folder: Path) -> Ran:
    """The block run once per test session in `folder` (the figure tests reuse the run)."""
    if code not in _RAN:
        _RAN[code] = run_block(code, folder)
    return _RAN[code]


@pytest.mark.parametrize("code", _blocks("python"), ids=lambda c: c.splitlines()[0][:40])
def test_python_block_runs(code: str, folder: Path) -> None:
    ran(code, folder)


def test_sweep_block_writes_in_its_folder_and_gives_the_rows_it_says(folder: Path) -> None:
    code = _block("sim.sweep(")
    (rows,) = quoted(r"one row per \(point, replication\): (\d+) rows", code)
    block = ran(code, folder)
    assert len(block.namespace["runs"]) == int(rows)
    assert (folder / "results" / "dealer_sweep" / "_manifest.json").is_file(), "out= is relative to the cwd"
    assert block.find("chart").value.to_dict()["mark"]["type"] == "rect"


# --- "The owner's questions, answered instantly" ----------------------------------------------------------

OWNER = "sim.expected(dealer).kpis"


def test_expected_kpis_of_the_dealer_are_as_quoted(folder: Path) -> None:
    e = ran(_block(OWNER), folder).find(OWNER)
    be, need, ltv, cac = quoted(
        r"break-even month (\d+), max cash need ([\d.]+) M, LTV ([\d.]+) k, CAC ([\d.]+) k", e.comment
    )
    k = e.value.iloc[0]
    assert_as_quoted(k["break_even_month"], be, "break-even month")
    assert_as_quoted(k["max_cash_need"], need, "max cash need, M", unit=1e6)
    assert_as_quoted(k["ltv"], ltv, "LTV, k", unit=1e3)
    assert_as_quoted(k["cac"], cac, "CAC, k", unit=1e3)


# --- "A plan over time, channels of different quality, leads that go cold" --------------------------------

PLAN = 'plan = sim.load_scenario("scenarios/car_dealer_plan.toml")'


def test_the_plans_figures_are_as_quoted(folder: Path) -> None:
    block = ran(_block(PLAN), folder)
    k = block.find("expected.kpis").value.iloc[0]
    be, need, ltv, gross = quoted(
        r"break-even month (\d+), max cash need ([\d.]+) M, "
        r"LTV ([\d.]+) k net of the cost to serve \(([\d.]+) k gross\)",
        block.find("expected.kpis").comment,
    )
    assert_as_quoted(k["break_even_month"], be, "break-even month")
    assert_as_quoted(k["max_cash_need"], need, "max cash need, M", unit=1e6)
    assert_as_quoted(k["ltv"], ltv, "LTV, k", unit=1e3)
    assert_as_quoted(k["ltv_gross"], gross, "LTV gross, k", unit=1e3)
    channels = block.find("expected.channel_kpis")
    site, classifieds, ratio_site, ratio_classifieds = quoted(
        r"CAC: the site ([\d.]+) k, classifieds ([\d.]+) k; LTV/CAC ([\d.]+) against ([\d.]+)",
        channels.comment,
    )
    by_name = channels.value.set_index("channel")
    assert_as_quoted(by_name.loc["Dealer's site", "cac"], site, "site CAC, k", unit=1e3)
    assert_as_quoted(by_name.loc["Classifieds", "cac"], classifieds, "classifieds CAC, k", unit=1e3)
    assert_as_quoted(by_name.loc["Dealer's site", "ltv_to_cac"], ratio_site, "site LTV/CAC")
    assert_as_quoted(by_name.loc["Classifieds", "ltv_to_cac"], ratio_classifieds, "classifieds LTV/CAC")
    best = block.find('sim.best(plan, "sales_desk.staff"')
    staff, then, cash, base = quoted(
        r"(\d+) salespeople \((\d+) from year 2\): ([\d.]+) M against ([\d.]+) M", best.comment
    )
    assert best.value.value == int(staff) and best.value.value + 1 == int(then)  # the plan's step adds one
    assert_as_quoted(best.value.metric_value, cash, "best cash, M", unit=1e6)
    assert_as_quoted(best.value.base_metric, base, "the plan's cash, M", unit=1e6)
    assert "Dealer's site" in block.find("sim.next_budget(").value
    assert block.find("expected.monthly[").value["date"].iloc[0] == np.datetime64("2027-01-01")


GOAL_SEEKS = [
    # (the call's start, README's wording of the answer in its comment, unit of the figure)
    ('sim.goal_seek(dealer, "channels.0.cost_per_lead"', r"CPL ([\d,]+) breaks even by", 1.0),
    ('sim.goal_seek(dealer, "retention.monthly_churn"', r"churn up to ([\d.]+) % a month", 0.01),
    ('sim.goal_seek(dealer, "referrals.per_customer_per_year"', r"([\d.]+) referrals a year", 1.0),
    ('sim.goal_seek(calls_24h, "sales_desk.staff"', r"(\d+) salespeople lose no more than", 1.0),
]


@pytest.mark.parametrize(
    ("call", "wording", "unit"), GOAL_SEEKS, ids=[g[0].split('"')[1] for g in GOAL_SEEKS]
)
def test_goal_seek_answers_are_as_quoted(call: str, wording: str, unit: float, folder: Path) -> None:
    e = ran(_block(OWNER), folder).find(call)
    res = e.value
    (answer,) = quoted(wording, e.comment)
    assert_as_quoted(res.value, answer, f"{res.lever} for {res.metric} {res.target:g}", unit=unit)
    assert res.metric_value <= res.target, "the answer meets the target"
    for by in re.findall(r"by (\d+)|no more than (\d+) %", e.comment):
        target = figure(by[0]) if by[0] else figure(by[1]) / 100
        assert res.target == target, f"README's comment says {target:g}, the call asks {res.target:g}"


def test_programme_verdict_is_as_quoted(folder: Path) -> None:
    e = ran(_block(OWNER), folder).find("sim.programme_value(")
    (start,) = quoted(r"^'(.*?)\s*…'$", e.comment)
    assert e.value.startswith(start), f"README: {start!r}\nmodel:  {e.value!r}"


# --- the scenario table --------------------------------------------------------------------------------


def _table_row(file: str) -> str:
    (row,) = quoted(rf"(\| `{re.escape(file)}` \|.*)")
    return row


def test_plain_dealer_with_service_parts_crosses_zero_as_quoted() -> None:
    """`car_dealer.toml` with service visits and referrals switched on (as the app's switches do: with the
    sections of car_dealer_service) at README's churn: the expected curve crosses zero in the month
    README says (the engine's median over 400 replications is the same month, 87)."""
    churn, month = quoted(
        r"switch service visits and referrals on \(([\d.]+) % churn\) and it crosses zero in month (\d+)",
        _table_row("car_dealer.toml"),
    )
    service = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml").to_dict()
    plain = sim.load_scenario(ROOT / "scenarios" / "car_dealer.toml")
    switched_on = plain.override(
        {
            "repeat": service["repeat"],
            "referrals": service["referrals"],
            "retention.monthly_churn": figure(churn) / 100,
        }
    )
    assert_as_quoted(sim.expected(switched_on).kpi["break_even_month"], month, "break-even month")


MEDIAN_REPLICATIONS = 200
ABOUT_MONTHS = 2
"""README's "about month N": within 2 months. The break-even month's spread between replications is
about 5.5 months, so the median of 200 replications has an SE of about 0.5 month; the engine's median
over 400 replications is 76."""


@pytest.mark.slow
def test_dealer_with_service_median_break_even_is_as_quoted() -> None:
    (month,) = quoted(r"break-even in about month (\d+) \(median\)", _table_row("car_dealer_service.toml"))
    dealer = sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")
    k = sim.simulate(dealer, MEDIAN_REPLICATIONS, seed=1).kpis["break_even_month"].to_numpy()
    median = float(np.median(np.where(np.isnan(k), np.inf, k)))
    assert abs(median - figure(month)) <= ABOUT_MONTHS, f"README: about month {month}, engine median {median}"


# --- the error example ------------------------------------------------------------------------------------


def test_scenario_error_example_is_what_load_scenario_says(tmp_path: Path) -> None:
    (message,) = quoted(r"e\.g\.\s+`(dealer\.toml: channels\[0\]\.cost_per_lead = [^`]*)`")
    (value,) = quoted(r"cost_per_lead = (-?[\d.]+):", message)
    text = (ROOT / "scenarios" / "car_dealer_service.toml").read_text(encoding="utf-8")
    (tmp_path / "dealer.toml").write_text(
        re.sub(r"cost_per_lead = [\d.]+", f"cost_per_lead = {value}", text), encoding="utf-8"
    )
    with contextlib.chdir(tmp_path), pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario("dealer.toml")
    assert str(info.value) == message, f"README: {message}\nmodel:  {info.value}"


# --- the command lines ------------------------------------------------------------------------------------


def _cli_lines() -> list[str]:
    lines = []
    for block in _blocks("bash"):
        lines += [
            ln.split("#")[0].strip() for ln in block.splitlines() if ln.strip().startswith("python -m sim")
        ]
    return lines


def _columns(table: str) -> list[dict[str, str]]:
    """A right-aligned text table (header first) as rows of {column: cell}; cells may hold spaces."""
    header, *rows = table.splitlines()
    edges = [(m.group(), m.end()) for m in re.finditer(r"\S+", header)]
    out = []
    for row in rows:
        cells, start = {}, 0
        for name, end in edges:
            cells[name], start = row[start:end].strip(), end
        out.append(cells)
    return out


def assert_compare_prints_the_medical_figures(stdout: str) -> None:
    """README: "`compare` prints every year: margin 200 000 000 → 220 000 000, programme cost
    30 000 000, net difference **−10 000 000**"."""
    a, b, cost, net = quoted(
        r"`compare` prints every year:\s+margin\s+([\d ]+) → ([\d ]+),\s+programme\s+cost\s+([\d ]+),"
        r"\s+net\s+difference\s+\*\*([−\d ]+)\*\*"
    )
    rows = _columns(stdout.split("\n", 1)[1])  # after the line that names a and b
    years = {r["year"] for r in rows}
    assert len(years) == 3, f"every year of the medical scenarios: {years}"
    for r in rows:
        if r["item"] == "margin":
            assert (figure(r["a"]), figure(r["b"])) == (figure(a), figure(b)), r
        if r["item"] == "programme_cost":
            assert figure(r["difference"]) == figure(cost), r
        if r["item"] == "net_cash":
            assert figure(r["difference"]) == figure(net), r


@pytest.mark.parametrize("line", _cli_lines())
def test_cli_line_runs(line: str, tmp_path: Path) -> None:
    cwd = copy_of_scenarios(tmp_path)
    args = shlex.split(line)
    for pattern in [a for a in args if "*" in a]:  # expand globs as a shell would
        i = args.index(pattern)
        args[i : i + 1] = sorted(str(p.relative_to(cwd)) for p in cwd.glob(pattern))
    args[0] = sys.executable
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"`{line}` exited {proc.returncode}: {proc.stderr[-500:]}"
    assert proc.stdout.strip(), f"`{line}` printed nothing"
    if "--chart" in line:
        assert (cwd / "tornado.png").stat().st_size > 1000, "the tornado chart was not written"
    if "--out" in line and " sweep " in line:
        import pandas as pd

        runs = pd.read_parquet(cwd / "results")
        assert len(runs) > 0 and "break_even_month" in runs.columns, f"`{line}` wrote no sweep dataset"
    elif "--out" in line and " report " in line:
        pdf = cwd / args[args.index("--out") + 1]
        assert pdf.read_bytes().startswith(b"%PDF"), f"`{line}` wrote no PDF"
    elif "--out" in line and " fit " in line:
        fitted = sim.load_scenario(cwd / args[args.index("--out") + 1])
        assert fitted.start is not None, f"`{line}` wrote no fitted scenario"
        assert (cwd / args[args.index("--report") + 1]).stat().st_size > 0, f"`{line}` wrote no report"
    elif "--out" in line:
        for name in ("monthly.parquet", "kpis.parquet", "run.json"):
            assert (cwd / "results" / name).is_file(), f"`{line}` did not write {name}"
    if " compare scenarios/medical_service.toml scenarios/medical_service_programme.toml" in line:
        assert_compare_prints_the_medical_figures(proc.stdout)
