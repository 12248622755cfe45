"""Every snippet in README runs: the Python blocks are executed, the command-line block is run."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("code", _blocks("python"), ids=lambda c: c.splitlines()[0][:40])
def test_python_snippet_runs(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


def _cli_lines() -> list[str]:
    lines = []
    for block in _blocks("bash"):
        lines += [
            ln.split("#")[0].strip() for ln in block.splitlines() if ln.strip().startswith("python -m sim")
        ]
    return lines


@pytest.mark.parametrize("line", _cli_lines())
def test_cli_snippet_runs(line: str, tmp_path: Path) -> None:
    line = line.replace("results/", str(tmp_path / "results")).replace(
        "tornado.png", str(tmp_path / "tornado.png")
    )
    args = shlex.split(line)
    files = [a for a in args if "*" in a]
    for pattern in files:  # expand globs as a shell would
        i = args.index(pattern)
        args[i : i + 1] = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(pattern))
    args[0] = sys.executable
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"`{line}` exited {proc.returncode}: {proc.stderr[-500:]}"
    assert proc.stdout.strip(), f"`{line}` printed nothing"
    if "--chart" in line:
        assert (tmp_path / "tornado.png").stat().st_size > 1000, "the tornado chart was not written"
    if "--out" in line and " sweep " in line:
        import pandas as pd

        runs = pd.read_parquet(tmp_path / "results")
        assert len(runs) > 0 and "break_even_month" in runs.columns, f"`{line}` wrote no sweep dataset"
    elif "--out" in line:
        out = tmp_path / "results"
        for name in ("monthly.parquet", "kpis.parquet", "run.json"):
            assert (out / name).is_file(), f"`{line}` did not write {name}"


def test_medical_programme_figure_in_readme_is_what_compare_prints() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "compare",
            "scenarios/medical_service.toml",
            "scenarios/medical_service_programme.toml",
            "-n",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "-10 000 000" in proc.stdout and "−10 000 000" in README
