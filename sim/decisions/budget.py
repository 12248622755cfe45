"""Where should the next lead budget go? Each paid channel in turn gets `amount` more a month, and the
cash and break-even against the scenario as given say which channel gives most for it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.decisions.evaluate import Evaluator
from sim.decisions.metrics import METRICS, Better, DecisionError, as_scenario, check_metric
from sim.model import plan
from sim.model.scenario import Scenario

CASH = "final_cumulative_cash"
BREAK_EVEN = "break_even_month"


@dataclass(frozen=True)
class NextBudget:
    """`amount` more a month for one paid channel at a time, against the scenario as given; the best
    channel first."""

    amount: float
    """The extra lead budget, in the scenario's currency a month, for the whole horizon."""
    metric: str
    """The metric the channels are ranked by (default: the final cumulative cash)."""
    table: pd.DataFrame
    """One row per paid channel, the best first: `channel` (its index), `name`, `cost_per_lead` (its CPL
    in month 1, money), `extra_leads_per_month` (amount / CPL in month 1, leads a month), `extra_spend`
    (the extra lead spend over the horizon, money), `final_cumulative_cash` and `cash_change` (money,
    against the base), `break_even_month` and `break_even_change` (months, negative = sooner; NaN = never,
    or a change from or to never), `return_on_spend` (cash change / extra spend: above 0 the extra leads
    pay for themselves within the horizon) and, when ranked by another metric, that metric and
    `<metric>_change`."""
    base_final_cash: float
    """The scenario's final cumulative cash, money."""
    base_break_even: float
    """The scenario's break-even month (NaN: never within the horizon)."""
    base_metric: float
    """The scenario's ranking metric."""
    horizon_months: int
    model: str
    """How the figures were evaluated: `expected values` or `engine: N replication(s), seed S`."""

    @property
    def best(self) -> str:
        """The name of the channel that gives most for the amount (the first row)."""
        return str(self.table["name"].iloc[0])

    def verdict(self, currency: str = "") -> str:
        """One sentence for the owner, in English."""
        cur = f" {currency}" if currency else ""
        row = self.table.iloc[0]

        def money(x: float) -> str:
            return f"{abs(x):,.0f}".replace(",", " ") + cur

        be = float(row["break_even_month"])
        change = float(row["break_even_change"])
        if math.isnan(be):
            months = "it still does not break even within the horizon"
        elif math.isnan(change):
            months = f"it breaks even in month {be:.0f} (never before)"
        elif change == 0:
            months = f"break-even stays in month {be:.0f}"
        else:
            word = "sooner" if change < 0 else "later"
            unit = "month" if abs(change) == 1 else "months"
            months = f"break-even {abs(change):.0f} {unit} {word} (month {be:.0f})"
        gain = float(row["cash_change"])
        leads = f"{row['extra_leads_per_month']:,.1f} more leads a month".replace(",", " ")
        if gain > 0:
            return (
                f"Put the next {money(self.amount)} a month into {row['name']}: {leads}; by month "
                f"{self.horizon_months} the cash is {money(gain)} higher and {months}."
            )
        return (
            f"No channel's extra leads pay for themselves within {self.horizon_months} months: "
            f"{money(self.amount)} a month more into {row['name']}, the best of them ({leads}), leaves "
            f"{money(gain)} less by the end; {months}."
        )


def next_budget(
    scenario: Scenario | str | Path,
    amount: float = 100_000.0,
    metric: str = CASH,
    model: str = "expected",
    replications: int | None = None,
    seed: int = 0,
) -> NextBudget:
    """Where the next `amount` of lead budget a month does most: for each paid channel (CPL > 0 in month
    1) in turn, its leads a month grow by amount / CPL for the whole horizon (the other channels as
    they are), and the final cumulative cash, the break-even month and `metric` are compared with the
    scenario as given; the best channel by `metric` comes first (ties: more cash first).

    With a plan, the same amount is spent every month at that month's price: month m gets
    amount / CPL(m) more leads (fewer as the CPL rises; the channel's own steps and seasons stay as
    planned), so every channel gets the same extra spend, amount × horizon (`extra_spend`), and
    `extra_leads_per_month` is month 1's. The extra
    leads wait at the same sales desk as all the others (and go cold or are lost there) and convert with
    the channel's lead quality: the model says what they bring.

    `model="expected"`: the expected-value model; `model="simulate"`: the engine, `replications` runs
    (default 20) from `seed` per channel, paired (common random numbers).
    """
    sc = as_scenario(scenario)
    check_metric(metric)
    if (
        isinstance(amount, bool)
        or not isinstance(amount, int | float)
        or not math.isfinite(amount)
        or amount <= 0
    ):
        raise DecisionError(f"amount = {amount!r}: must be a positive number (money a month)")
    evaluator = Evaluator.of(model, replications, seed)
    paid = [(i, ch) for i, ch in enumerate(sc.channels) if ch.cost_per_lead > 0]
    if not paid:
        raise DecisionError(f"scenario {sc.name!r}: no paid channel (cost_per_lead > 0) to spend on")
    base = evaluator.kpis(sc)
    lower = METRICS[metric] is Better.LOWER
    rows = []
    for i, ch in paid:
        path = f"channels.{i}.leads_per_month"
        extra = float(amount) / ch.cost_per_lead
        if sc.planned:  # the same money every month buys amount / CPL(m) leads at month m's price
            cpl = plan.values(sc, f"channels.{i}.cost_per_lead")
            more = np.divide(float(amount), cpl, out=np.zeros_like(cpl), where=cpl > 0)
            moved = plan.with_values(sc, path, plan.values(sc, path) + more)
        else:
            moved = sc.override({path: ch.leads_per_month + extra})
        k = evaluator.kpis(moved)
        row = {
            "channel": i,
            "name": ch.name,
            "cost_per_lead": ch.cost_per_lead,
            "extra_leads_per_month": extra,
            "extra_spend": _spend(moved, i) - _spend(sc, i),
            "final_cumulative_cash": k[CASH],
            "cash_change": k[CASH] - base[CASH],
            "break_even_month": k[BREAK_EVEN],
            "break_even_change": k[BREAK_EVEN] - base[BREAK_EVEN],
        }
        row["return_on_spend"] = (
            row["cash_change"] / row["extra_spend"] if row["extra_spend"] > 0 else math.nan
        )
        if metric not in (CASH, BREAK_EVEN):
            row[metric] = k[metric]
            row[f"{metric}_change"] = k[metric] - base[metric]
        rows.append(row)
    table = pd.DataFrame(rows)
    ranked = table[metric].to_numpy(dtype=float)
    ranked = np.where(np.isnan(ranked), np.inf, ranked if lower else -ranked)
    order = np.lexsort((-table["cash_change"].to_numpy(dtype=float), ranked))
    table = table.iloc[order].reset_index(drop=True)
    return NextBudget(
        amount=float(amount),
        metric=metric,
        table=table,
        base_final_cash=base[CASH],
        base_break_even=base[BREAK_EVEN],
        base_metric=base[metric],
        horizon_months=sc.horizon_months,
        model=evaluator.describe(),
    )


def _spend(sc: Scenario, i: int) -> float:
    """Channel i's lead spend over the horizon (its leads × its CPL, month by month), money."""
    leads = plan.values(sc, f"channels.{i}.leads_per_month")
    cpl = plan.values(sc, f"channels.{i}.cost_per_lead")
    return float(leads @ cpl)
