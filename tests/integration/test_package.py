"""The package as a user installs it: a wheel built from the source, installed into a fresh virtual
environment (its dependencies from pip's cache), runs the command line and the Python API there; and
`import sim` stays light."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "numpy",
    "pandas",
    "scipy",
    "simpy",
    "numba",
    "pydantic",
    "streamlit",
    "altair",
    "dask",
    "distributed",
)
"""What `import sim` must not load (each is imported by the modules that need it, on first use)."""


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{args}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    )
    return proc


@pytest.mark.timeout(600)
def test_wheel_installs_into_a_fresh_environment_and_runs(tmp_path: Path) -> None:
    """Build the wheel (from a copy of the source: the checkout stays clean), install it with its
    dependencies into a new venv, run `funnel-sim validate` and the API from a folder outside the
    checkout, so that nothing but the installed package can be imported."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "sim", src / "sim", ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    dist = tmp_path / "dist"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            ".",
        ],
        src,
    )
    wheels = list(dist.glob("funnel_sim-*.whl"))
    assert len(wheels) == 1, wheels

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheels[0])], tmp_path)

    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "scenarios" / "car_dealer_service.toml", work / "dealer.toml")
    out = _run([str(bin_dir / "funnel-sim"), "validate", "dealer.toml"], work)
    assert out.stdout.startswith("ok: dealer.toml")
    bad = subprocess.run(
        [str(bin_dir / "funnel-sim"), "validate", "missing.toml"], cwd=work, capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.strip() == "invalid: missing.toml: no such file"

    probe = (
        "import json, sys, sim\n"
        f"light = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "kpis = sim.expected(sim.load_scenario('dealer.toml')).kpis\n"
        "print(json.dumps({'file': sim.__file__, 'version': sim.__version__, 'light': light,\n"
        "                  'break_even': float(kpis['break_even_month'].iloc[0])}))\n"
    )
    result = json.loads(_run([str(bin_dir / "python"), "-c", probe], work).stdout)
    assert Path(result["file"]).is_relative_to(env_dir), result[
        "file"
    ]  # the installed copy, not the checkout
    assert result["light"] == []
    assert result["version"] == _installed_version()
    import sim  # the same numbers as the checkout's package

    here = sim.expected(sim.load_scenario(ROOT / "scenarios" / "car_dealer_service.toml")).kpis
    assert result["break_even"] == float(here["break_even_month"].iloc[0])


def _installed_version() -> str:
    from importlib.metadata import version

    return version("funnel-sim")


def test_import_sim_is_light() -> None:
    """`import sim` loads none of the heavy libraries, and `python -m sim --version` prints the version
    from the installed metadata (the one source: pyproject.toml)."""
    code = f"import sys, sim; print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    proc = _run([sys.executable, "-c", code], ROOT)
    assert proc.stdout.strip() == "[]"
    version = _run([sys.executable, "-m", "sim", "--version"], ROOT).stdout.strip()
    assert version == f"funnel-sim {_installed_version()}"
