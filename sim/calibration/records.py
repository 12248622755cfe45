"""Synthetic CRM exports of a scenario: leads, ad spend and customers' visits, record by record, in the
format `sim.calibration.crm` reads.

**This is not the engine.** It is a small generator that walks one lead and one customer at a time
through the rules of docs/model.md, to give the fit realistic records to recover a known scenario from
(the round-trip tests, `benchmarks/fit.py`) and to ship an example export (`examples/crm/`). It follows
the model's rules — Poisson arrivals month by month, a first-come-first-served desk in working hours with
patience and cooling, lead quality, the funnel's exponential delays, churn checks at month ends (constant
or sBG, with the programme's multiplier and problems), repeat streams with adoption, referral leads while
a customer stays, existing customers with a random visit phase — with these simplifications:

- the desk uses the staff and working hours of each lead's arrival month (the model applies them by the
  moment);
- amounts vary from visit to visit around the scenario's value (gamma, coefficient of variation
  `amount_cv`, the scenario's margin share kept), where the model books the value itself;
- the clock runs in calendar days from `start`: month m is the calendar month `start` + m − 1 (28 to 31
  days, where the model's month is 30.4375 days), so arrival rates per day and the month-end checks follow
  the calendar, and the desk's working hours are the first `hours_per_day` hours of each calendar day;
- existing customers get a `purchase` row dated in the month before `start`;
- costs other than the leads' (salaries, programme, bonuses, problems) are not part of a CRM export.
"""

from __future__ import annotations

import bisect
import heapq
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from sim.calibration.crm import PURCHASE, REFERRALS
from sim.model import plan
from sim.model.calendar import YEAR_DAYS
from sim.model.scenario import Scenario, load_scenario

DEFAULT_START = "2027-01"
"""Calendar month of month 1 when the scenario has no `start`."""


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


class _Months:
    """The scenario's values month by month (past its horizon the last month's values hold)."""

    def __init__(self, sc: Scenario, months: int):
        flat = plan.months(sc)
        at = [flat[min(m, len(flat)) - 1] for m in range(1, months + 1)]
        at.insert(0, at[0])  # index 0: existing customers' purchase month, valued as month 1
        self.at = at
        self.churn = np.array([s.effective_churn for s in at])
        self.referral_rate = np.array([s.referral_rate_per_year for s in at])
        self.conv_paid = np.array(
            [[min(1.0, s.funnel_conversion * c.lead_quality) for c in s.channels] for s in at]
        ).reshape(len(at), len(sc.channels))
        self.conv_referral = np.array([s.referral_conversion for s in at])
        self.staff = np.array([s.sales_desk.staff if s.sales_desk else 0 for s in at])
        self.open_fraction = np.array([s.sales_desk.open_fraction if s.sales_desk else 1.0 for s in at])


def _to_dates(times: np.ndarray, origin: np.datetime64) -> np.ndarray:
    """Times in days from `origin` (NaN = none) as datetimes, to the second."""
    t = np.asarray(times, dtype=float)
    ok = np.isfinite(t)
    out = np.full(t.shape, np.datetime64("NaT"), dtype="datetime64[s]")
    out[ok] = origin + np.floor(t[ok] * 86400.0).astype(np.int64).astype("timedelta64[s]")
    return out.astype("datetime64[ns]")


def generate_records(
    scenario: Scenario | str | Path,
    seed: int,
    months: int | None = None,
    *,
    start: str | None = None,
    names: Literal["en", "ru"] = "en",
    amount_cv: float = 0.3,
) -> Records:
    """A synthetic export of `months` months (default: the scenario's horizon) of the scenario.

    `start`: the calendar month of month 1 (default: the scenario's `start`, else 2027-01). `names`:
    channels and streams by their English or Russian names. `amount_cv`: the spread of amounts around the
    scenario's values (0 = every visit books exactly the scenario's revenue and margin). The same seed
    gives the same records.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    horizon = int(months or sc.horizon_months)
    if horizon < 1:
        raise ValueError(f"months must be ≥ 1, got {months}")
    first = pd.Period(start or sc.start or DEFAULT_START, "M")
    month_starts = np.array(
        [(first + (i - 1)).to_timestamp() for i in range(horizon + 2)], dtype="datetime64[s]"
    )
    origin = month_starts[1]
    # edges[m] = the first moment of calendar month m in days from month 1's (month 0: before `start`).
    edges = ((month_starts - origin) / np.timedelta64(1, "D")).astype(float).tolist()

    def month_of(t: float) -> int:
        return bisect.bisect_right(edges, t) - 1

    def within(m: int, u: np.ndarray | float) -> np.ndarray | float:
        return edges[m] + u * (edges[m + 1] - edges[m])

    at = _Months(sc, horizon)
    end = edges[horizon + 1]
    arrivals, desk_rng, funnel_rng, customer_rng, referral_rng, amount_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(6)
    )

    def label(item: object) -> str:
        return (getattr(item, "name_ru", None) or item.name) if names == "ru" else item.name  # type: ignore[attr-defined]

    channel_names = [label(c) for c in sc.channels]
    stream_names = [label(r) for r in sc.repeat]

    # Paid leads: a Poisson number a month per channel, uniform within the month (a Poisson process).
    n_channels = len(sc.channels)
    counts = np.zeros((horizon + 1, max(n_channels, 1)), dtype=np.int64)
    times, chans = [np.empty(0)], [np.empty(0, dtype=np.int64)]
    for m in range(1, horizon + 1):
        for c, channel in enumerate(at.at[m].channels):
            n = int(arrivals.poisson(channel.leads_per_month))
            counts[m, c] = n
            times.append(within(m, arrivals.random(n)))
            chans.append(np.full(n, c, dtype=np.int64))
    paid_t = np.concatenate(times)
    order = np.argsort(paid_t, kind="stable")
    paid_t, paid_c = paid_t[order].tolist(), np.concatenate(chans)[order].tolist()

    desk = sc.sales_desk
    handling = desk.handling_minutes / 1440.0 if desk else 0.0
    fixed = desk is not None and desk.handling == "fixed"
    patience = desk.patience_hours / 24.0 if desk and desk.patience_hours is not None else math.inf
    half_life = desk.cooling_half_life_days if desk else math.inf
    free = [0.0] * int(at.staff.max() if desk else 0)
    delays = [s.delay_days for s in sc.funnel if s.delay_days > 0]
    streams = sc.repeat
    problems = sc.problems
    sbg = sc.retention.model == "sbg"

    lead_t: list[float] = []
    lead_c: list[int] = []
    lead_contact: list[float] = []
    lead_sold: list[float] = []
    purchases: list[tuple[float, int]] = []  # (time, month) of each customer's purchase
    visits: list[tuple[int, int, int]] = []  # (customer, month, stream)
    pending: list[tuple[float, int]] = []  # referral leads not yet arrived: (time, sequence)
    seq = 0

    def customer(t: float, m0: int, existing: bool) -> None:
        """Draw one customer's life (docs/model.md, "Customers"): its visits and its referral leads."""
        nonlocal seq
        who = len(purchases)
        purchases.append((t, m0))
        factor = (
            customer_rng.beta(sc.retention.alpha, sc.retention.beta) / sc.retention.mean_theta if sbg else 1.0
        )
        adopted = [s for s, r in enumerate(streams) if customer_rng.random() < r.adoption]
        phase = {
            s: int(customer_rng.integers(1, streams[s].interval_months + 1)) if existing else 0
            for s in adopted
        }
        leave_next = False
        if (
            problems is not None
            and not existing
            and customer_rng.random() < problems.visit_problem_probability
        ):
            leave_next = customer_rng.random() < problems.leave_probability
        last = horizon  # the last month the customer stays in
        for k in range(1, horizon - m0 + 1):
            m = m0 + k
            if leave_next or customer_rng.random() < min(1.0, factor * at.churn[m]):
                last = m  # the check at the end of month m fails: it stays through month m
                break
            leave_next = False
            for s in adopted:
                interval = streams[s].interval_months
                due = k % interval == 0 if not existing else k >= phase[s] and (k - phase[s]) % interval == 0
                if due:
                    visits.append((who, m, s))
                    if problems is not None and customer_rng.random() < problems.visit_problem_probability:
                        leave_next = leave_next or customer_rng.random() < problems.leave_probability
        for m in range(max(m0, 1), last + 1):
            rate = at.referral_rate[m] / YEAR_DAYS
            if rate <= 0:
                continue
            lo, hi = max(t, edges[m]), edges[m + 1]
            for u in referral_rng.random(int(referral_rng.poisson(rate * (hi - lo)))):
                heapq.heappush(pending, (lo + u * (hi - lo), seq))
                seq += 1

    for _ in range(sc.existing_customers.count):
        customer(float(within(0, customer_rng.random())), 0, existing=True)

    i, n_paid = 0, len(paid_t)
    while True:
        tp = paid_t[i] if i < n_paid else math.inf
        tr = pending[0][0] if pending else math.inf
        if tp == tr == math.inf:
            break
        if tp <= tr:
            t, channel = tp, paid_c[i]
            i += 1
        else:
            t, channel = heapq.heappop(pending)[0], -1
        if t >= end:
            break
        m = month_of(t)
        lead_t.append(t)
        lead_c.append(channel)
        if desk is None:
            begin, handle = t, 0.0
        else:
            k = int(at.staff[m])
            j = min(range(k), key=free.__getitem__)
            ready = max(t, free[j])
            day = math.floor(ready)
            begin = ready if ready - day < at.open_fraction[m] else day + 1.0
            if begin - t > patience:
                lead_contact.append(math.nan)
                lead_sold.append(math.nan)
                continue
            handle = handling if fixed else float(desk_rng.exponential(handling))
            free[j] = begin + handle
        lead_contact.append(begin if begin < end else math.nan)
        p = at.conv_referral[m] if channel < 0 else at.conv_paid[m, channel]
        if half_life < math.inf:
            p *= 0.5 ** ((begin - t) / half_life)
        sold = math.nan
        if funnel_rng.random() < p:
            when = begin + handle + sum(float(funnel_rng.exponential(d)) for d in delays)
            if when < end:
                sold = when
                customer(when, month_of(when), existing=False)
        lead_sold.append(sold)

    n_leads = len(lead_t)
    all_names = [*channel_names, REFERRALS]
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{k:07d}" for k in range(1, n_leads + 1)],
            "channel": [all_names[c] for c in lead_c],
            "created_at": _to_dates(np.array(lead_t), origin),
            "contacted_at": _to_dates(np.array(lead_contact), origin),
            "sold_at": _to_dates(np.array(lead_sold), origin),
        }
    )

    def noise(n: int) -> np.ndarray:
        if amount_cv <= 0:
            return np.ones(n)
        shape = 1.0 / amount_cv**2
        return amount_rng.gamma(shape, 1.0 / shape, n)

    n_customers = len(purchases)
    p_t = np.array([p[0] for p in purchases], dtype=float)
    p_m = np.array([p[1] for p in purchases], dtype=np.int64)
    first_rev = np.array([at.at[m].first_purchase.revenue for m in p_m], dtype=float)
    first_share = np.array(
        [at.at[m].first_purchase.margin / max(at.at[m].first_purchase.revenue, 1e-300) for m in p_m],
        dtype=float,
    )
    p_rev = first_rev * noise(n_customers)
    v = np.array(visits, dtype=np.int64).reshape(-1, 3)
    v_t = np.array([within(int(m), u) for m, u in zip(v[:, 1], amount_rng.random(len(v)), strict=True)])
    v_rev = np.array([at.at[m].repeat[s].revenue for _, m, s in v], dtype=float)
    v_share = np.array(
        [
            min(
                1.0,
                at.at[m].repeat[s].margin
                * at.at[m].repeat_margin_factor
                / max(at.at[m].repeat[s].revenue, 1e-300),
            )
            for _, m, s in v
        ],
        dtype=float,
    )
    v_rev = v_rev * noise(len(v))
    ids = np.array([f"C{k:06d}" for k in range(1, n_customers + 1)], dtype=object)
    table = pd.DataFrame(
        {
            "customer_id": np.concatenate([ids, ids[v[:, 0]]]),
            "date": _to_dates(np.concatenate([p_t, v_t]), origin),
            "kind": [PURCHASE] * n_customers + [stream_names[s] for s in v[:, 2]],
            "revenue": np.round(np.concatenate([p_rev, v_rev]), 2),
            "margin": np.round(np.concatenate([p_rev * first_share, v_rev * v_share]), 2),
        }
    )
    table["margin"] = np.minimum(table["margin"], table["revenue"])
    table = table.sort_values(["date", "customer_id"], kind="stable").reset_index(drop=True)

    rows = [
        {
            "month": str(first + (m - 1)),
            "channel": channel_names[c],
            "spend": round(float(counts[m, c]) * at.at[m].channels[c].cost_per_lead, 2),
        }
        for m in range(1, horizon + 1)
        for c in range(n_channels)
    ]
    spend = pd.DataFrame(rows, columns=["month", "channel", "spend"])
    export = pd.Timestamp(month_starts[horizon + 1])
    return Records(leads=leads, visits=table, spend=spend, export_date=export, start=str(first))


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
