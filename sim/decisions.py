"""Answers to the owner's questions, on the expected-value model: which lever matters (sensitivity), what
value of a lever reaches a goal (goal seek), and is the service programme worth its cost."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.customers import lifetime_tables
from sim.expected import expected_arrays
from sim.levers import Lever, find_lever, get_value
from sim.levers import levers as all_levers
from sim.scenario import Scenario, ScenarioError, load_scenario

METRICS: dict[str, str] = {
    "break_even_month": "lower",
    "payback_months": "lower",
    "max_cash_need": "lower",
    "cac": "lower",
    "lost_lead_share": "lower",
    "mean_wait_hours": "lower",
    "final_cumulative_cash": "higher",
    "npv": "higher",
    "ltv": "higher",
    "ltv_to_cac": "higher",
}
"""Metrics for sensitivity and goal seek, and which direction is better."""

NEVER_METRICS = ("break_even_month", "payback_months")
"""Metrics where NaN means "never" (not within the horizon)."""


class GoalSeekError(ValueError):
    """The target cannot be reached within the search range (or is met across all of it)."""


def _scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: must be one of {', '.join(METRICS)}")


def metric_value(scenario: Scenario, metric: str) -> float:
    """The expected-value model's figure for one metric."""
    _check_metric(metric)
    return float(expected_arrays(scenario)[1][metric])


def _moved(lever: Lever, value: float, factor: float) -> float:
    x = value * factor
    if lever.integer:
        x = round(x)
        if x == value:  # a whole-number lever moves at least one step
            x = value + (1 if factor > 1 else -1)
    low = lever.low if not lever.low_open else lever.low + (1 if lever.integer else 1e-9)
    return float(min(max(x, low), lever.high))


def sensitivity(
    scenario: Scenario | str | Path,
    levers: list[str] | None = None,
    change: float = 0.2,
    metric: str = "break_even_month",
) -> pd.DataFrame:
    """Move each lever down and up by `change` (relative; whole-number levers by at least one step) and
    report the metric at both ends: columns lever, label, group, value, low, high, metric_low,
    metric_base, metric_high, swing, note; sorted by swing (largest first).

    For break-even and payback, "never" counts as one month past the horizon in the swing, and the
    note says so; a lever at 0 cannot move relatively and says so.
    """
    sc = _scenario(scenario)
    _check_metric(metric)
    if not 0 < change < 1:
        raise ValueError(f"change = {change!r}: must be between 0 and 1 (0.2 = ±20 %)")
    chosen = all_levers(sc) if levers is None else [find_lever(sc, p) for p in levers]
    base = metric_value(sc, metric)
    never = sc.horizon_months + 1.0
    rows = []
    for lv in chosen:
        value = get_value(sc, lv.path)
        low, high = _moved(lv, value, 1 - change), _moved(lv, value, 1 + change)
        note = []
        ends = {}
        for side, x in (("low", low), ("high", high)):
            if x == value:
                ends[side] = base
                continue
            try:
                ends[side] = metric_value(sc.override({lv.path: int(x) if lv.integer else x}), metric)
            except ScenarioError as exc:
                ends[side] = math.nan
                note.append(f"{side}: invalid ({exc})")
        if value == 0 and low == high == 0:
            note.append("value is 0: a relative change does not move it")
        for side in ("low", "high"):
            if metric in NEVER_METRICS and math.isnan(ends[side]):
                note.append(f"no {metric.replace('_', ' ')} within the horizon at {side}")

        def ranked(v: float) -> float:
            return never if (metric in NEVER_METRICS and math.isnan(v)) else v

        swing = abs(ranked(ends["high"]) - ranked(ends["low"]))
        rows.append(
            {
                "lever": lv.path,
                "label": lv.label,
                "group": lv.group,
                "value": value,
                "low": low,
                "high": high,
                "metric_low": ends["low"],
                "metric_base": base,
                "metric_high": ends["high"],
                "swing": swing if not math.isnan(swing) else 0.0,
                "note": "; ".join(note),
            }
        )
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    return df.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class GoalSeekResult:
    """The lever value at which the metric reaches the target."""

    lever: str
    metric: str
    target: float
    value: float
    """The lever's value: the last one (within the search precision) on the target's side."""
    metric_value: float
    """The metric at `value`."""
    low: float
    high: float
    """The search range."""
    step: float
    """Search precision: one step beyond `value` the target is missed."""

    def __str__(self) -> str:
        return (
            f"{self.lever} = {self.value:,.6g} gives {self.metric} = {self.metric_value:,.6g} "
            f"(target {self.target:,.6g}; searched {self.low:,.6g} … {self.high:,.6g})"
        )


def goal_seek(
    scenario: Scenario | str | Path,
    lever: str,
    metric: str,
    target: float,
    low: float | None = None,
    high: float | None = None,
    rel_tol: float = 1e-4,
    step: float | None = None,
) -> GoalSeekResult:
    """The value of `lever` at which `metric` reaches `target` (the metric is taken to be monotone in
    the lever over the range). "Reaches" means at or better than the target, better being lower for
    costs, months and losses and higher for cash and values (see METRICS); "never" for break-even and
    payback misses every target. Raises `GoalSeekError` if the target is not reachable in [low, high].

    With `step` (e.g. 50 roubles of CPL), the answer is the last multiple of `step` on the target's side,
    so that one step beyond it misses the target; whole-number levers always move in steps of 1. Without
    it, the answer is within `rel_tol` of the range from where the target stops being met. The search
    interpolates between the values tried (a handful of model evaluations, see `_boundary`).
    """
    sc = _scenario(scenario)
    _check_metric(metric)
    lv = find_lever(sc, lever)
    value = get_value(sc, lever)
    lo, hi = _default_range(lv, value) if low is None or high is None else (float(low), float(high))
    lo = low if low is not None else lo
    hi = high if high is not None else hi
    if not lo < hi:
        raise GoalSeekError(f"search range [{lo:g}, {hi:g}] is empty")
    lower_better = METRICS[metric] == "lower"
    tables = lifetime_tables(sc) if lever.startswith(TABLE_FREE) else None
    seen: dict[float, tuple[float, float]] = {}

    def at(x: float) -> tuple[float, float]:
        """(metric, slack) at lever value x (each value evaluated once)."""
        if x not in seen:
            moved = sc.override({lever: round(x) if lv.integer else float(x)})
            monthly, kpi, _ = expected_arrays(moved, tables)
            m = float(kpi[metric])
            seen[x] = (m, _slack(metric, target, m, monthly["cumulative_cash"]))
        return seen[x]

    def ok(m: float) -> bool:
        if math.isnan(m):
            return False
        return m <= target if lower_better else m >= target

    def probe(x: float) -> tuple[bool, float]:
        m, s = at(x)
        return ok(m), s

    if lv.integer:
        lo, hi = float(math.ceil(lo)), float(math.floor(hi))
    (m_lo, s_lo), (m_hi, s_hi) = at(lo), at(hi)
    ok_lo, ok_hi = ok(m_lo), ok(m_hi)
    if not ok_lo and not ok_hi:
        raise GoalSeekError(
            f"{metric} {'≤' if lower_better else '≥'} {target:g} is not reachable for {lever} in "
            f"[{lo:g}, {hi:g}] ({metric} = {m_lo:g} at {lo:g}, {m_hi:g} at {hi:g})"
        )
    if ok_lo and ok_hi:
        raise GoalSeekError(
            f"{metric} {'≤' if lower_better else '≥'} {target:g} holds across [{lo:g}, {hi:g}] for {lever}: "
            "widen the range to find where it stops"
        )
    good, bad = ((lo, s_lo), (hi, s_hi)) if ok_lo else ((hi, s_hi), (lo, s_lo))
    if step is not None and not step > 0:
        raise GoalSeekError(f"step = {step!r}: must be > 0")
    if lv.integer:
        unit, precision = 1.0, 1.0
    elif step is not None:
        unit, precision = float(step), float(step)
    else:
        unit, precision = None, max(abs(hi - lo) * rel_tol, 1e-12)
    answer = _boundary(probe, good, bad, unit, precision, first=value if lo < value < hi else None)
    return GoalSeekResult(lever, metric, float(target), answer, at(answer)[0], lo, hi, precision)


TABLE_FREE = ("channels.", "funnel.", "sales_desk.", "referrals.")
"""Lever paths whose change leaves a new customer's lifetime tables as they are (acquisition only):
goal seeks over them evaluate the model with the scenario's tables."""


LOG_SLACK = ("lost_lead_share", "mean_wait_hours")
"""Metrics that fall over orders of magnitude as the desk grows: their slack is a log ratio."""


def _slack(metric: str, target: float, value: float, cumulative_cash: np.ndarray) -> float:
    """How far the metric is on the target's side (>= 0: reached; NaN: unknown), to interpolate on.

    For break-even (reached when the cumulative cash stays >= 0 from month ⌊target⌋ on), the cumulative
    cash in month ⌊target⌋, or the lowest after it if that is negative while the month's is not (money):
    it moves smoothly with a lever, unlike the month.
    """
    if metric == "break_even_month":
        if math.isnan(target) or target < 1:
            return math.nan
        n = min(math.floor(target), cumulative_cash.size) if math.isfinite(target) else cumulative_cash.size
        at_n, lowest = float(cumulative_cash[n - 1]), float(cumulative_cash[n - 1 :].min())
        return at_n if (at_n < 0 or lowest >= 0) else lowest
    if metric in LOG_SLACK:
        return math.log(target / value) if target > 0 and value > 0 else math.nan
    return (target - value) if METRICS[metric] == "lower" else (value - target)


def _inside(good: float, bad: float, unit: float | None, precision: float) -> tuple[float, float] | None:
    """Where the next probe may go: strictly between the ends, on the lattice of multiples of `unit` if
    given (as multiples), else at least precision/2 from either end; None once the boundary is found."""
    a, b = min(good, bad), max(good, bad)
    if unit is None:
        return (a + precision / 2, b - precision / 2) if b - a > precision else None
    first, last = math.floor(a / unit) + 1, math.ceil(b / unit) - 1
    while first * unit <= a:
        first += 1
    while last * unit >= b:
        last -= 1
    return (float(first), float(last)) if first <= last else None


def _boundary(
    probe: Callable[[float], tuple[bool, float]],
    good: tuple[float, float],
    bad: tuple[float, float],
    unit: float | None,
    precision: float,
    first: float | None = None,
) -> float:
    """The last lever value that meets the target, from (value, slack) at a good and a bad end.

    Probes `first` (the lever's current value, usually near the answer's scale) if it is inside, then
    interpolates the slack as Chandrupatla's bracketing method does (inverse quadratic interpolation
    where it is monotone, else the secant), and bisects (halving the logarithm of a range over orders of
    magnitude) where a slack is unknown or two probes in a row did not halve the range. Probes lie on
    the lattice of multiples of `unit` if given, else the search stops within `precision`.
    `probe(x)` is (target met, slack) at x; only `met` decides.
    """
    (a, fa), (b, fb) = good, bad  # a: the newest end, b: the other end, c: the end a replaced
    met_a = True
    c, fc = b, fb
    widths: list[float] = []
    for _ in range(400):
        g = a if met_a else b
        room = _inside(a, b, unit, precision)
        if room is None:
            return g
        width = abs(b - a)
        halved = len(widths) < 2 or width <= widths[-2] / 2
        widths.append(width)
        f_good, f_bad = (fa, fb) if met_a else (fb, fa)
        signs = math.isfinite(fa) and math.isfinite(fb) and f_good >= 0 > f_bad  # slack agrees with `met`
        x = math.nan
        if first is not None:
            x, first = first, None
        elif halved and signs and math.isfinite(fc) and len({fa, fb, fc}) == 3:
            xi, phi = (a - b) / (c - b), (fa - fb) / (fc - fb)
            if phi * phi < xi and (1 - phi) ** 2 < 1 - xi:  # inverse quadratic interpolation is monotone
                t = fa / (fb - fa) * fc / (fb - fc) + (c - a) / (b - a) * fa / (fc - fa) * fb / (fc - fb)
                x = a + t * (b - a)
            else:
                x = a + fa / (fa - fb) * (b - a)  # secant
        elif halved and signs:
            x = a + fa / (fa - fb) * (b - a)  # secant
        if math.isnan(x):
            lo, hi = min(a, b), max(a, b)
            x = math.sqrt(lo * hi) if lo > 0 and hi > 4 * lo else (lo + hi) / 2
        if unit is None:
            x = min(max(x, room[0]), room[1])
        else:
            x = min(max(float(round(x / unit)), room[0]), room[1]) * unit
        met, fx = probe(x)
        if met == met_a:
            c, fc = a, fa
        else:
            c, fc = b, fb
            b, fb = a, fa
        a, fa, met_a = x, fx, met
    return a if met_a else b


def _default_range(lv: Lever, value: float) -> tuple[float, float]:
    low = lv.low + (1.0 if lv.integer else 1e-9) if lv.low_open else lv.low
    low = max(low, 0.0) if math.isinf(low) else low
    if lv.high <= 1.0 and lv.low >= 0.0:  # a share
        return low, lv.high
    if lv.integer:
        return max(low, 1.0), min(lv.high, max(10.0 * value, value + 20.0))
    return low, min(lv.high, 10.0 * value if value > 0 else 1.0)


@dataclass(frozen=True)
class ProgrammeValue:
    """Is the service programme worth its cost? Yearly figures (the horizon's average year)."""

    extra_margin_per_year: float
    """Margin with the programme minus without, per year."""
    cost_per_year: float
    """Programme cost (fixed + contacts), per year."""
    net_per_year: float
    """Extra margin − cost − any change of other costs, per year (the change of net cash)."""
    contacts_per_month: float
    """The programme's contacts a month as in the scenario."""
    optimal_contacts_per_month: float
    """Contacts a month that maximise the net."""
    optimal_net_per_year: float
    """The net per year at the optimal contacts."""
    yearly: pd.DataFrame
    """Year by year: year, extra_margin, cost, net."""
    curve: pd.DataFrame
    """Net against contacts a month: contacts_per_month, extra_margin, cost, net (per year)."""

    def verdict(self, currency: str = "") -> str:
        """One sentence for the owner."""
        cur = f" {currency}" if currency else ""
        word = "earns" if self.net_per_year >= 0 else "loses"
        return (
            f"The programme adds {self.extra_margin_per_year:,.0f}{cur} of margin a year for "
            f"{self.cost_per_year:,.0f}{cur} of cost: it {word} {abs(self.net_per_year):,.0f}{cur} a year; "
            f"at {self.optimal_contacts_per_month:.2g} contacts a month it would net "
            f"{self.optimal_net_per_year:,.0f}{cur} a year."
        ).replace(",", " ")


def programme_value(scenario: Scenario | str | Path, points: int = 61) -> ProgrammeValue:
    """With and without the service programme (expected values): yearly extra margin, the programme's
    cost and the net, and the net against contacts a month with the optimum (intrusive service).

    Contacts change the model only through the churn (the programme's churn multiplier) and the cost of
    the contacts (contacts × cost per contact × active customers), so contacts with the same churn (k
    and 2k* − k, or every k without a churn effect) share one evaluation of the model.
    """
    sc = _scenario(scenario)
    prog = sc.service_programme
    if prog is None:
        raise ScenarioError(f"scenario {sc.name!r}: service_programme: there is no programme to evaluate")
    years = sc.horizon_months / 12.0
    without, _, _ = expected_arrays(sc.override({"service_programme": None}))
    margin_without, net_without = float(without["margin"].sum()), float(without["net_cash"].sum())
    # rounded effective churn → (contacts evaluated, horizon's margin, programme cost, net cash, active
    # customer-months there)
    by_churn: dict[float, tuple[float, float, float, float, float]] = {}

    def keep(moved: Scenario, arrays: dict[str, np.ndarray]) -> None:
        by_churn[round(moved.effective_churn, 15)] = (
            moved.service_programme.contacts_per_month if moved.service_programme else 0.0,
            float(arrays["margin"].sum()),
            float(arrays["programme_cost"].sum()),
            float(arrays["net_cash"].sum()),
            float(arrays["active_customers"].sum()),
        )

    def per_year(k: float) -> tuple[float, float, float]:
        """Extra margin, programme cost and net a year at k contacts a month."""
        moved = sc.override({"service_programme.contacts_per_month": float(k)})
        key = round(moved.effective_churn, 15)
        if key not in by_churn:
            keep(moved, expected_arrays(moved)[0])
        k_eval, margin, cost, net, active = by_churn[key]
        contacts = (float(k) - k_eval) * prog.cost_per_contact * active  # the contacts' cost beyond k_eval
        return (
            (margin - margin_without) / years,
            (cost + contacts) / years,
            (net - contacts - net_without) / years,
        )

    with_, _, _ = expected_arrays(sc)
    keep(sc, with_)
    extra, cost, net = per_year(prog.contacts_per_month)
    year = (np.arange(sc.horizon_months) // 12) + 1
    yearly = (
        pd.DataFrame(
            {
                "year": year,
                "extra_margin": with_["margin"] - without["margin"],
                "cost": with_["programme_cost"],
                "net": with_["net_cash"] - without["net_cash"],
            }
        )
        .groupby("year", as_index=False)
        .sum()
    )

    top = max(3.0 * prog.tolerated_contacts_per_month, prog.contacts_per_month)
    grid = np.linspace(0.0, top, points)
    curve = pd.DataFrame([per_year(k) for k in grid], columns=["extra_margin", "cost", "net"])
    curve.insert(0, "contacts_per_month", grid)
    best = int(np.argmax(curve["net"].to_numpy()))
    lo_k, hi_k = grid[max(best - 1, 0)], grid[min(best + 1, points - 1)]
    k_opt, net_opt = float(grid[best]), float(curve["net"].iloc[best])
    if hi_k > lo_k and len(by_churn) > 1:  # with one churn throughout, the net is linear in the contacts
        from scipy.optimize import minimize_scalar  # here: SciPy's optimiser is slow to import

        res = minimize_scalar(
            lambda k: -per_year(k)[2],
            bounds=(lo_k, hi_k),
            method="bounded",
            options={"xatol": 1e-4 * max(top, 1e-9)},
        )
        if -res.fun > net_opt:
            k_opt, net_opt = float(res.x), float(-res.fun)
    return ProgrammeValue(extra, cost, net, prog.contacts_per_month, k_opt, net_opt, yearly, curve)
