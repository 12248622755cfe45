"""The printed report (`funnel-sim report`, `sim.report.pdf.report_pdf`): built through the command line
for the car dealer in Russian and English, read back with poppler (`pdftotext`, `pdfinfo`, `pdffonts`):
its verdict and tile figures are the model's, the Russian one has no English words, it is one or two A4
pages with every font embedded, and bad input exits 2 with one line. Each page is saved as a PNG in the
test's temporary folder (`pdftoppm`) to look at."""

from __future__ import annotations

import fnmatch
import math
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import sim
from sim.cli.main import main
from sim.report import assumptions, frames, pdf, texts

ROOT = Path(__file__).resolve().parents[2]
DEALER = ROOT / "scenarios" / "car_dealer.toml"
DEALER_SERVICE = ROOT / "scenarios" / "car_dealer_service.toml"
POPPLER = ("pdftotext", "pdfinfo", "pdffonts", "pdftoppm")

ENGLISH = (
    "month", "months", "break-even", "cumulative", "cash", "scenario", "what-if", "expected", "assumption",
    "assumptions", "setting", "value", "why", "never", "figure", "lead", "leads", "money", "payback",
    "customer", "runs", "run", "seed", "shaded", "horizon", "amounts", "report", "calls", "car", "dealer",
    "appointment", "drive", "purchase", "sale", "margin", "lost", "put", "comes", "back", "years", "on",
    "off", "the", "a", "at", "in", "of", "and",
)  # fmt: skip
"""Words that must not appear on the Russian report (whole words, any case)."""


@pytest.fixture(scope="module", autouse=True)
def _poppler() -> None:
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} missing: .ci/run installs poppler-utils")
        pytest.skip(f"poppler-utils not installed ({', '.join(missing)})")


def _text(path: Path) -> str:
    """The PDF's text in the order it was laid out (`pdftotext -raw`: a tile's label, then its figure),
    every run of spaces and line breaks as one space."""
    raw = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return re.sub(r"\s+", " ", raw).strip()


def _sq(text: str) -> str:
    """`text` without any space or word joiner (poppler may drop a thin space between thousands, or turn
    it into a space): figures and sentences are compared squeezed."""
    return re.sub(r"[\s\u2060]+", "", text)


def _pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _fonts(path: Path) -> list[list[str]]:
    """pdffonts' rows: name, type, encoding, emb, sub, uni, …"""
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


def _snapshots(path: Path) -> list[Path]:
    """Each page as a PNG beside the PDF (to look at)."""
    stem = path.with_suffix("")
    subprocess.run(["pdftoppm", "-r", "70", "-png", str(path), str(stem)], check=True, capture_output=True)
    return sorted(path.parent.glob(f"{stem.name}-*.png"))


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`funnel-sim ARGV` in this process: exit code, stdout, stderr (argparse's errors exit via
    SystemExit)."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _bilingual(src: Path, dst: Path) -> Path:
    """A copy of a scenario file whose assumption comments also give a Russian reason."""
    text = src.read_text(encoding="utf-8")
    text = re.sub(r"#\s*assumption\b:?(.*)$", r"# assumption:\1 | допущение: оценка автора", text, flags=re.M)
    dst.write_text(text, encoding="utf-8")
    return dst


def _tile_figures(sc: sim.Scenario, lang: str) -> dict[str, str]:
    kpi = sim.expected(sc).kpi
    return {
        texts.t(lang, f"t_{m}"): texts.format_kpi(
            m, float(kpi[m]), sc.currency, lang, horizon=sc.horizon_months
        )
        for m in frames.TILE_METRICS
    }


# --- the report through the command line ----------------------------------------------------------


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_dealer_report_shows_the_models_verdict_and_tiles(
    lang: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`funnel-sim report car_dealer.toml --set …` in both languages: the verdict sentence and every
    tile's label and figure are those of `sim.expected` of the changed scenario, the change is listed
    with both values, the band's runs are named, 1–2 pages, every font embedded."""
    scenario = _bilingual(DEALER, tmp_path / "dealer.toml")
    out = tmp_path / f"report_{lang}.pdf"
    code, stdout, stderr = _run(
        [
            "report", str(scenario), "--lang", lang, "--set", "channels.0.cost_per_lead=2000",
            "--replications", "4", "--seed", "3", "--out", str(out),
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, stderr
    assert stdout.startswith(f"wrote {out}")
    preset = sim.load_scenario(DEALER)
    whatif = preset.override({"channels.0.cost_per_lead": 2000})
    result = sim.expected(whatif)
    text = _text(out)
    flat = _sq(text)

    sentence = _sq(texts.verdict(result, lang))
    assert sentence in flat
    k = result.kpi
    assert math.isnan(
        k["break_even_month"]
    )  # the plain dealer never breaks even: the sentence says how far down
    assert _sq(texts.money(-k["final_cumulative_cash"], "RUB", lang, short=True)) in sentence
    assert _sq(texts.money(2000, "RUB", lang)) in sentence
    for label, figure in _tile_figures(whatif, lang).items():
        assert _sq(label + figure) in flat, (label, figure)
    label = texts.field_label(lang, "channels.cost_per_lead", texts.item_name(preset.channels[0], lang))
    before, after = texts.money(2250, "RUB", lang), texts.money(2000, "RUB", lang)
    assert _sq(f"{label} {before} {after}") in flat
    assert _sq(texts.t(lang, "rp_band", reps=4, seed=3, p=texts.percent(0.0, lang, 0), median=texts.month(
        math.nan, lang))) in flat  # fmt: skip
    assert 1 <= _pages(out) <= 2
    fonts = _fonts(out)
    assert fonts and all(row[-5] == "yes" for row in fonts), fonts  # the `emb` column
    assert any("PTSans" in row[0] for row in fonts)
    assert len(_snapshots(out)) == _pages(out)

    if lang == "ru":
        assert re.search("[а-яё]{4,}", text)
        assert "Автосалон" in text and "оценка автора" in text
        found = sorted({w for w in ENGLISH if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text, re.I)})
        assert not found, f"English words on the Russian report: {found}\n{text}"
    else:
        assert not re.search("[а-яё]", text, re.I), text


def test_python_m_sim_report_writes_a_two_page_pdf(tmp_path: Path) -> None:
    """`python -m sim report` in a subprocess, the car dealer with service and referrals in Russian: the
    verdict is the model's (it breaks even), the assumptions are listed, at most two pages."""
    out = tmp_path / "dealer_service_ru.pdf"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "report",
            str(DEALER_SERVICE),
            "--lang",
            "ru",
            "-n",
            "2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    text = _text(out)
    sc = sim.load_scenario(DEALER_SERVICE)
    result = sim.expected(sc)
    assert math.isfinite(result.kpi["break_even_month"])
    flat = _sq(text)
    assert _sq(texts.verdict(result, "ru")) in flat
    assert _sq(f"{texts.number(result.kpi['break_even_month'], 'ru')}-м месяце") in flat
    assert _sq(texts.t("ru", "rp_changes_none")) in flat
    reasons = [a.reason("ru") for a in assumptions.assumption_comments(DEALER_SERVICE.read_text("utf-8"))]
    assert len(reasons) > 20 and all(_sq(r)[:25] in flat for r in reasons if r)
    assert 1 <= _pages(out) <= 2
    _snapshots(out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.toml", "--out", "{tmp}/r.pdf"], "missing.toml: no such file"),
        (["{dealer}", "--set", "cost", "--out", "{tmp}/r.pdf"], "expected PATH=VALUE"),
        (
            ["{dealer}", "--set", "channels.0.cost_per_lead=-5", "--out", "{tmp}/r.pdf"],
            "greater than or equal",
        ),
        (["{dealer}", "--set", "nosuch.path=1", "--out", "{tmp}/r.pdf"], "nosuch: no such field"),
        (["{dealer}", "--out", "{tmp}/file.txt/r.pdf"], "no such folder"),
        (["{dealer}", "--out", "{tmp}"], "is a directory"),
        (["{dealer}", "--lang", "xx", "--out", "{tmp}/r.pdf"], "invalid choice: 'xx'"),
        (["{dealer}", "--replications", "-1", "--out", "{tmp}/r.pdf"], "must be >= 0"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file.txt").write_text("not a folder")
    argv = ["report", *(a.format(tmp=tmp_path, dealer=DEALER) for a in args)]
    code, _, stderr = _run(argv, capsys)
    assert code == 2
    assert stderr.count("\n") == 1 and message in stderr, stderr
    assert not (tmp_path / "r.pdf").exists()


def test_unwritable_out_exits_2_with_one_line(tmp_path: Path) -> None:
    """A file that cannot be written (read-only file system for root too: /proc) is one line, exit 2."""
    if not Path("/proc").is_dir():
        pytest.skip("no /proc")
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "report", str(DEALER), "-n", "0", "--out", "/proc/report.pdf"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "/proc/report.pdf" in proc.stderr, proc.stderr


# --- the function the app calls -------------------------------------------------------------------


def test_app_report_with_pins_and_many_changes_fits_two_pages(tmp_path: Path) -> None:
    """The app's call: the current what-if (the plain dealer with every part of the serviced dealer
    switched on and two levers moved), its preset, four pins and the preset's file: the pins' KPI table
    with differences against the first, each switched-on part listed, still at most two pages."""
    preset = sim.load_scenario(DEALER)
    service = sim.load_scenario(DEALER_SERVICE)
    switched = preset.override(
        {
            "repeat": [r.model_dump(mode="json") for r in service.repeat],
            "referrals": service.referrals.model_dump(mode="json"),
            "retention.monthly_churn": 0.015,
            "sales_desk.staff": 6,
        }
    )
    pins = [
        ("Как есть", preset),
        ("С сервисом", service),
        ("Отток 1,5 %", switched),
        ("Лид 2 000 ₽ #1 *$", switched.override({"channels.0.cost_per_lead": 2000})),
    ]
    band = frames.band_summary(sim.simulate(switched, replications=3, seed=1))
    data = pdf.report_pdf(switched, preset, lang="ru", band=band, pins=pins, source=DEALER.read_text("utf-8"))
    out = tmp_path / "app_ru.pdf"
    out.write_bytes(data)
    assert data.startswith(b"%PDF")
    assert 1 <= _pages(out) <= 2
    text = _text(out)
    flat = _sq(text)
    assert _sq(texts.t("ru", "rp_comparison")) in flat
    base, last = sim.expected(preset).kpi, sim.expected(pins[-1][1]).kpi
    cac = _sq(texts.format_kpi("cac", last["cac"], "RUB", "ru"))
    diff = _sq(texts.format_kpi("cac", last["cac"] - base["cac"], "RUB", "ru", signed=True))
    assert f"{cac}({diff})" in flat
    assert _sq(f"{texts.t('ru', 'sw_referrals')} {texts.t('ru', 'rp_off')} {texts.t('ru', 'rp_on')}") in flat
    assert _sq(f"{texts.field_label('ru', 'sales_desk.staff')} 4 чел. 6 чел.") in flat
    assert "Лид 2 000 ₽ #1 *$" in text  # a pin's name is text, never Typst markup
    assert "name_ru" not in text and "Scheduled maintenance" not in text  # a switched-on item's names
    _snapshots(out)


PLAN = ROOT / "scenarios" / "car_dealer_plan.toml"


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_plan_customers_and_ranges_are_listed_in_the_readers_words(lang: str, tmp_path: Path) -> None:
    """The dealer's ten-year plan with a step moved, a trend and a seasonality changed, customers who
    differ and three values given as ranges, against the plan as loaded: each difference is a row in
    words ("from month 13 (January 2028): Salespeople", "Trend: CPL: Classifieds +0.6 % a month",
    "Seasonality: …, Jan 0.7; …", "Not sure: Monthly churn from 1.0 % to 3.0 %, most likely 1.5 %"),
    none as a dotted path; the band's note says that each run draws the ranges; in Russian, no English
    word."""
    preset = sim.load_scenario(PLAN)
    season = [0.7, 0.8, 1.0, 1.1, 1.1, 1.05, 1.0, 1.05, 1.05, 1.05, 0.95, 1.2]
    whatif = preset.override(
        {
            "plan": [
                {"from_month": 13, **{k: v for k, v in preset.plan[0].values if k != "sales_desk.staff"}},
                {"from_month": 25, "sales_desk.staff": 4},
            ],
            "trends": {"channels.0.cost_per_lead": 0.006, "channels.1.cost_per_lead": 0.003},
            "seasonality": {"channels.0.leads_per_month": season, "channels.1.leads_per_month": season},
            "retention.model": "sbg",
            "retention.alpha": 1.0,
            "retention.beta": 65.67,
            "uncertainty": {
                "retention.monthly_churn": {"low": 0.01, "mode": 0.015, "high": 0.03},
                "channels.0.cost_per_lead": {"low": 2000, "high": 2600},
                "sales_desk.staff": {"low": 2, "high": 4},
            },
        }
    )
    band = frames.band_summary(sim.simulate(whatif.override({"horizon_months": 120}), replications=2, seed=1))
    rows = pdf._changes(preset, whatif, lang)
    assert not [r for r in rows if re.search(r"[a-z_]+\.[a-z_]+|\[\d+\]", r[0])], rows  # no dotted path
    t = lambda key, **kw: texts.t(lang, key, **kw)  # noqa: E731
    staff = texts.field_label(lang, "sales_desk.staff")
    classifieds = texts.item_name(preset.channels[0], lang)
    cpl = texts.field_label(lang, "channels.cost_per_lead", classifieds)
    churn = texts.field_label(lang, "retention.monthly_churn")
    january = texts.calendar_month(texts.month_date(preset, 13), lang)
    people = lambda n: f"{n}{texts.NBSP}{texts.unit_label(lang, 'people', 'RUB')}"  # noqa: E731
    expected = [
        [t("rp_f_retention.model"), t("rp_val_constant"), t("rp_val_sbg")],
        [t("rp_step_date", n=13, date=january, lever=staff), people(3), t("dash")],
        [t("rp_step_date", n=25, date=texts.calendar_month(texts.month_date(preset, 25), lang), lever=staff),
         t("dash"), people(4)],
        [t("rp_trend", lever=cpl), t("rp_trend_value", rate=texts.percent(0.005, lang, 1, signed=True)),
         t("rp_trend_value", rate=texts.percent(0.006, lang, 1, signed=True))],
        [t("rp_range", lever=churn), t("dash"), t("rp_range_mode", low=texts.percent(0.01, lang, 1),
         mode=texts.percent(0.015, lang, 1), high=texts.percent(0.03, lang, 1))],
        [t("rp_range", lever=cpl), t("dash"),
         t("rp_range_value", low=texts.money(2000, "RUB", lang), high=texts.money(2600, "RUB", lang))],
        [t("rp_range", lever=staff), t("dash"), t("rp_range_value", low=people(2), high=people(4))],
    ]  # fmt: skip
    for row in expected:
        assert row in rows, (row, rows)
    months = texts.MONTH_SHORT[lang]
    seasons = [
        r
        for r in rows
        if r[0] == t("rp_season", lever=texts.field_label(lang, "channels.leads_per_month", classifieds))
    ]
    assert seasons and seasons[0][2].startswith(f"{months[0]} {texts.number(0.7, lang, 1)}; {months[1]} ")
    assert seasons[0][2].endswith(f"{months[11]} {texts.number(1.2, lang, 1)}")
    assert [r[0] for r in rows if r[0].startswith(t("rp_f_retention.model"))] == [t("rp_f_retention.model")]
    assert any(
        r[0] == texts.field_label(lang, "retention.beta") and r[2] == texts.number(65.67, lang, 2)
        for r in rows
    )

    out = tmp_path / f"plan_{lang}.pdf"
    source = _bilingual(PLAN, tmp_path / "plan.toml").read_text("utf-8")
    out.write_bytes(pdf.report_pdf(whatif, preset, lang=lang, band=band, source=source))
    assert 1 <= _pages(out) <= 2
    text = _text(out)
    flat = _sq(text)
    for row in expected:
        assert _sq(" ".join(row)) in flat, row
    assert _sq(t("rp_band_ranges", n=3)) in flat
    leads = texts.field_label(
        lang, "channels.leads_per_month", classifieds
    )  # the file's assumption on a step
    unit = texts.unit_label(lang, "leads/month", "")
    step = f"{t('rp_step_date', n=13, date=january, lever=leads)} 500 {unit}"
    assert _sq(step) in flat
    _snapshots(out)
    if lang == "ru":
        found = sorted({w for w in ENGLISH if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text, re.I)})
        assert not found, f"English words on the Russian report: {found}\n{text}"
        assert not re.search(
            r"[A-Za-z]+_[A-Za-z]+|\b(?:channels|sales_desk|retention|plan|trends)\b", text
        ), text


def test_same_inputs_same_bytes_and_bad_arguments_named() -> None:
    """A report is a function of its inputs (the date included); a band of another horizon or an
    unknown language is refused naming the value."""
    import datetime as dt

    sc = sim.load_scenario(DEALER)
    day = dt.date(2025, 5, 14)
    assert pdf.report_pdf(sc, lang="en", today=day) == pdf.report_pdf(sc, lang="en", today=day)
    with pytest.raises(pdf.ReportError, match="lang = 'de'"):
        pdf.report_pdf(sc, lang="de")
    short = sc.override({"horizon_months": 24})
    with pytest.raises(pdf.ReportError, match="band: 24 months"):
        pdf.report_pdf(sc, band=frames.band_summary(sim.simulate(short, replications=2, seed=1)))


# --- the assumptions: the scenario file's comments and what differs --------------------------------


def test_assumption_comments_follow_tables_lists_and_languages() -> None:
    text = "\n".join(
        [
            'name = "A # not a comment"  # assumption: a name',
            "horizon_months = 120  # assumption: ten years | допущение: десять лет",
            "[[channels]]",
            "cost_per_lead = 1.0  # article 003: not an assumption",
            "[[channels]]",
            "cost_per_lead = 2.0  # Assumption",
            "[retention]",
            "monthly_churn = 0.02  # допущение: два процента",
            'note = """',
            "x = 1  # assumption: inside a string",
            '"""',
        ]
    )
    found = assumptions.assumption_comments(text)
    assert [(a.path, a.raw, a.line) for a in found] == [
        ("name", '"A # not a comment"', 1),
        ("horizon_months", "120", 2),
        ("channels.1.cost_per_lead", "2.0", 6),
        ("retention.monthly_churn", "0.02", 8),
    ]
    assert [a.reason("en") for a in found] == ["a name", "ten years", "", "два процента"]
    assert [a.reason("ru") for a in found] == ["a name", "десять лет", "", "два процента"]


def test_every_shipped_assumption_names_a_field_of_its_scenario() -> None:
    """Each `# assumption` key of every shipped scenario is found at its path, or is a plan step, trend,
    seasonality or range named in words (so the report shows its value and name, not the raw text)."""
    from sim.model import paths

    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        sc = sim.load_scenario(path)
        found = assumptions.assumption_comments(path.read_text("utf-8"))
        assert found, path.name
        for a in found:
            change = assumptions.as_change(a.path, sc)
            if change is not None:
                words = assumptions.change_label(change, "ru", sc)
                assert not re.search(r"[a-z_]+\.[a-z_0-9]+|\[\d+\]", words), (path.name, a.path, words)
                continue
            assert paths.get(sc, a.path) is not paths.MISSING, (path.name, a.path)
            assert assumptions.label(a.path, "ru", sc) != paths.bracketed(a.path), (path.name, a.path)


def test_report_files_ship_in_the_wheel() -> None:
    """Every file of `sim/report` that is not Python (template, fonts, licence) is in the package data."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = conf["tool"]["setuptools"]["package-data"]["sim.report"]
    folder = ROOT / "sim" / "report"
    data = [
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    assert {"templates/report.typ", "fonts/PTS55F.ttf", "fonts/LICENSE-PT-Sans.txt"} <= set(data)
    assert all(any(fnmatch.fnmatch(f, pat) for pat in patterns) for f in data), (data, patterns)


@pytest.mark.parametrize("lang", texts.LANGS)
@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml")))
def test_every_shipped_scenario_reports_on_one_or_two_pages(name: str, lang: str, tmp_path: Path) -> None:
    path = ROOT / "scenarios" / f"{name}.toml"
    sc = sim.load_scenario(path)
    out = tmp_path / f"{name}_{lang}.pdf"
    out.write_bytes(pdf.report_pdf(sc, lang=lang, source=path.read_text("utf-8")))
    assert 1 <= _pages(out) <= 2
    text = _text(out)
    assert _sq(texts.verdict(sim.expected(sc), lang)) in _sq(text)
    assert _sq(texts.t(lang, "rp_title", name=texts.item_name(sc, lang))) in _sq(text)
    _snapshots(out)
