"""Synthetic CRM exports of a scenario, from the engine's own records: leads, ad spend and customers'
visits, record by record, in the format `sim.calibration.crm` reads.

`generate_records` runs one replication of the engine with its event log (`sim.simulate(scenario, 1, seed,
records=True)`, `sim.engine.log`) and writes down what a CRM would have seen: every lead (channel, arrival,
first contact, sale), every customer's purchase and repeat visits, the spend on each paid channel a month.
So the export follows docs/model.md exactly as the engine does (the desk, cooling, the funnel, churn,
problems, referrals, a plan's values month by month); it gives the fit records to recover a known
scenario from (the round-trip tests, `benchmarks/fit.py`) and the shipped example export
(`examples/crm/`). What the export adds or leaves out:

- **Dates.** Model month m (30.4375 days) is calendar month `start` + m − 1, mapped proportionally: a
  moment a fraction f into model month m is f into the calendar month (28 to 31 days). Each month's counts
  are the run's, but within a month model days are stretched or squeezed by up to 8 %, so the desk's
  working hours do not fall on the same clock hours of every calendar day. Dates are kept to the second.
- **Amounts** vary from visit to visit around the value the engine booked (gamma, coefficient of variation
  `amount_cv`, the booked margin share kept); `amount_cv = 0` writes the booked values.
- **Repeat visits** of a new customer fall k months after its purchase, on the same day of the month (the
  engine books visits by month); existing customers' on a day of the month from the engine's own source.
- **Existing customers** get a `purchase` row dated in the month before `start` (a uniform moment of that
  month), at month 1's first-purchase revenue and margin (varied as above).
- **Contacts** after the export date are left empty (not yet made when the export was taken); a sale in
  `leads` is not linked to its customer.
- Costs other than the leads' (salaries, the programme, bonuses, problems) are not part of a CRM export.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from sim.calibration.crm import PURCHASE, REFERRALS
from sim.engine.log import EventLog
from sim.engine.runs import simulate
from sim.model import plan
from sim.model.calendar import MONTH_DAYS
from sim.model.scenario import Scenario, load_scenario

DEFAULT_START = "2027-01"
"""Calendar month of month 1 when the scenario has no `start`."""

_DAY_SECONDS = 86400.0


@dataclass(frozen=True)
class Records:
    """One synthetic export (the tables `sim.fit` takes)."""

    leads: pd.DataFrame
    """`lead_id`, `channel`, `created_at`, `contacted_at` (NaT: never reached), `sold_at` (NaT: not sold)."""
    visits: pd.DataFrame
    """`customer_id`, `date`, `kind` (`purchase` or the stream's name), `revenue`, `margin`."""
    spend: pd.DataFrame
    """`month` (`YYYY-MM`), `channel`, `spend` (in the scenario's currency)."""
    export_date: pd.Timestamp
    """The first moment after the last month (what the fit takes by default)."""
    start: str
    """Calendar month of month 1, `YYYY-MM`."""


class _Calendar:
    """Model days onto calendar dates: model month m (0-based) onto calendar month `first` + m,
    proportionally (module docstring)."""

    def __init__(self, first: pd.Period, months: int):
        starts = np.array([(first + i).to_timestamp() for i in range(-1, months + 1)], dtype="datetime64[s]")
        self.before = starts[0]  # the month before month 1 (existing customers' purchases)
        self.starts = starts[1:-1]  # the first moment of each model month's calendar month
        self.seconds = (starts[2:] - starts[1:-1]).astype(np.int64)  # each calendar month's length
        self.before_seconds = int((starts[1] - starts[0]).astype(np.int64))
        self.end = starts[-1]
        self.H = months

    def dates(self, days: np.ndarray, month: np.ndarray | None = None) -> np.ndarray:
        """Datetimes of moments `days` (model days; NaN: none, NaT) of model months `month` (0-based; None:
        the month each day falls in)."""
        d = np.asarray(days, dtype=float)
        ok = np.isfinite(d)
        out = np.full(d.shape, np.datetime64("NaT"), dtype="datetime64[s]")
        m = np.floor_divide(d[ok], MONTH_DAYS) if month is None else np.asarray(month, dtype=float)[ok]
        m = np.clip(m, 0, self.H - 1).astype(np.int64)
        fraction = np.clip((d[ok] - m * MONTH_DAYS) / MONTH_DAYS, 0.0, 1.0)
        length = self.seconds[m]
        seconds = np.minimum(np.floor(fraction * length).astype(np.int64), length - 1)
        out[ok] = self.starts[m] + seconds.astype("timedelta64[s]")
        return out.astype("datetime64[ns]")

    def month_before(self, u: np.ndarray) -> np.ndarray:
        """Datetimes at fractions `u` ∈ [0, 1) of the calendar month before month 1."""
        seconds = np.minimum(np.floor(u * self.before_seconds).astype(np.int64), self.before_seconds - 1)
        return (self.before + seconds.astype("timedelta64[s]")).astype("datetime64[ns]")


def generate_records(
    scenario: Scenario | str | Path,
    seed: int,
    months: int | None = None,
    *,
    start: str | None = None,
    names: Literal["en", "ru"] = "en",
    amount_cv: float = 0.3,
) -> Records:
    """A synthetic export of `months` months (default: the scenario's horizon; else the scenario run with
    that horizon) of the scenario: the engine's records of replication 0 of `seed` (module docstring).

    `start`: the calendar month of month 1 (default: the scenario's `start`, else 2027-01). `names`:
    channels and streams by their English or Russian names. `amount_cv`: the spread of amounts around the
    booked values (0 = every visit books exactly the engine's revenue and margin). The same seed gives the
    same records.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    horizon = int(months if months is not None else sc.horizon_months)
    if horizon < 1:
        raise ValueError(f"months must be ≥ 1, got {months}")
    if horizon != sc.horizon_months:
        sc = sc.override({"horizon_months": horizon})
    run = simulate(sc, replications=1, seed=seed, records=True)
    log = run.records
    if log is None:  # pragma: no cover - simulate(..., records=True) always logs
        raise RuntimeError("the engine returned no records")
    first = pd.Period(start or sc.start or DEFAULT_START, "M")
    calendar = _Calendar(first, horizon)
    amounts, moments = (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(2))

    def label(item: object) -> str:
        return (getattr(item, "name_ru", None) or item.name) if names == "ru" else item.name  # type: ignore[attr-defined]

    channel_names = [label(c) for c in sc.channels]
    leads = _leads(log, calendar, [*channel_names, REFERRALS])
    visits = _visits(sc, log, calendar, [label(r) for r in sc.repeat], amount_cv, amounts, moments)
    spend = run.channels[run.channels["channel"] != REFERRALS]
    spend = pd.DataFrame(
        {
            "month": [str(first + (int(m) - 1)) for m in spend["month"]],
            "channel": [channel_names[[c.name for c in sc.channels].index(c)] for c in spend["channel"]],
            "spend": spend["lead_spend"].round(2).to_numpy(),
        },
        columns=["month", "channel", "spend"],
    )
    export = pd.Timestamp(calendar.end)
    return Records(leads=leads, visits=visits, spend=spend, export_date=export, start=str(first))


def _leads(log: EventLog, calendar: _Calendar, channel_names: list[str]) -> pd.DataFrame:
    """The `leads` table of the log's leads (in arrival order): contacts after the horizon left empty."""
    table = log.leads
    contact = table["contact"].to_numpy(dtype=float)
    contact = np.where(contact < calendar.H * MONTH_DAYS, contact, np.nan)
    sale_month = np.nan_to_num(table["sale_month"].to_numpy(dtype=float, na_value=np.nan) - 1.0)
    return pd.DataFrame(
        {
            "lead_id": [f"L{k:07d}" for k in range(1, len(table) + 1)],
            "channel": np.array(channel_names, dtype=object)[table["channel"].cat.codes.to_numpy()],
            "created_at": calendar.dates(table["arrival"].to_numpy(), table["month"].to_numpy() - 1),
            "contacted_at": calendar.dates(contact),
            "sold_at": calendar.dates(table["sale"].to_numpy(), sale_month),
        }
    )


def _visits(
    sc: Scenario,
    log: EventLog,
    calendar: _Calendar,
    stream_names: list[str],
    amount_cv: float,
    amounts: np.random.Generator,
    moments: np.random.Generator,
) -> pd.DataFrame:
    """The `visits` table: each customer's purchase (existing customers' in the month before month 1) and
    its repeat visits, amounts varied around the booked values, by date then customer."""

    def noise(n: int) -> np.ndarray:
        if amount_cv <= 0:
            return np.ones(n)
        shape = 1.0 / amount_cv**2
        return amounts.gamma(shape, 1.0 / shape, n)

    customers, repeat = log.customers, log.visits
    existing = customers["month"].to_numpy() == 0
    month_one = plan.months(sc)[0].first_purchase  # existing customers' purchase, valued as month 1's
    revenue = np.where(existing, month_one.revenue, customers["revenue"].to_numpy(dtype=float))
    margin = np.where(existing, month_one.margin, customers["margin"].to_numpy(dtype=float))
    dates = calendar.dates(customers["purchase"].to_numpy(), np.maximum(customers["month"].to_numpy() - 1, 0))
    dates[existing] = calendar.month_before(moments.random(int(existing.sum())))
    v_revenue = repeat["revenue"].to_numpy(dtype=float)
    v_margin = repeat["margin"].to_numpy(dtype=float)

    def share(m: np.ndarray, r: np.ndarray) -> np.ndarray:
        return np.minimum(1.0, m / np.maximum(r, 1e-300))

    p_revenue = revenue * noise(revenue.size)
    v_varied = v_revenue * noise(v_revenue.size)
    ids = np.array([f"C{k:06d}" for k in range(1, len(customers) + 1)], dtype=object)
    table = pd.DataFrame(
        {
            "customer_id": np.concatenate([ids, ids[repeat["customer"].to_numpy()]]),
            "date": np.concatenate(
                [dates, calendar.dates(repeat["day"].to_numpy(), repeat["month"].to_numpy() - 1)]
            ),
            "kind": [PURCHASE] * len(customers)
            + list(np.array(stream_names, dtype=object)[repeat["stream"].cat.codes.to_numpy()]),
            "revenue": np.round(np.concatenate([p_revenue, v_varied]), 2),
            "margin": np.round(
                np.concatenate([p_revenue * share(margin, revenue), v_varied * share(v_margin, v_revenue)]), 2
            ),
        }
    )
    table["margin"] = np.minimum(table["margin"], table["revenue"])
    return table.sort_values(["date", "customer_id"], kind="stable").reset_index(drop=True)


def write_records(
    scenario: Scenario | str | Path,
    seed: int,
    folder: str | Path,
    months: int | None = None,
    *,
    dialect: Literal["en", "ru"] = "en",
    start: str | None = None,
    amount_cv: float = 0.3,
) -> dict[str, Path]:
    """Write a synthetic export of the scenario (`generate_records`) as `leads.csv`, `visits.csv` and
    `spend.csv` into `folder` (created if needed); returns their paths by table name.

    `dialect="en"`: UTF-8, `,` between columns, a decimal point, English names. `dialect="ru"`: as Russian
    Excel writes CSV — cp1251, `;` between columns, decimal commas, Russian names of channels and streams.
    Dates are ISO (`2027-01-05 13:45:12`) in both.
    """
    records = generate_records(scenario, seed, months, start=start, names=dialect, amount_cv=amount_cv)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    options = (
        {"sep": ";", "decimal": ",", "encoding": "cp1251"}
        if dialect == "ru"
        else {"sep": ",", "decimal": ".", "encoding": "utf-8"}
    )
    paths = {}
    for name, frame in (("leads", records.leads), ("visits", records.visits), ("spend", records.spend)):
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S", lineterminator="\n", **options)
        paths[name] = path
    return paths
