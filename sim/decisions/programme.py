"""Is the service programme worth its cost? With and without it, and the net against contacts a month."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analytic.expected_value import expected_arrays
from sim.decisions.metrics import as_scenario
from sim.model.calendar import MONTHS_PER_YEAR, year_of
from sim.model.scenario import Scenario, ScenarioError


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
    sc = as_scenario(scenario)
    prog = sc.service_programme
    if prog is None:
        raise ScenarioError(f"scenario {sc.name!r}: service_programme: there is no programme to evaluate")
    years = sc.horizon_months / MONTHS_PER_YEAR
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
    year = year_of(np.arange(1, sc.horizon_months + 1))
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
