"""The engine's event log: every lead, customer and repeat visit of a run, record by record
(`sim.simulate(..., records=True)`, `run_replication(..., records=True)`).

A replication with records keeps, besides its monthly ledger, what happened to each lead (its channel,
arrival, first contact or loss, sale) and each customer (its purchase, the lead it came from, when it
leaves, its repeat visits with their revenue and margin as booked), in model days: month m (1-based) is
[(m − 1) · 30.4375, m · 30.4375) days. Each record carries the month the ledger books it in, so the log's
monthly counts are the run's monthly table (leads, lost and reached leads, sales, repeat visits, active
customers; revenue and margin up to the order of the sums). Without records nothing is kept and the run is
the same, draw for draw.

Days that the engine does not draw itself: a new customer's repeat visit in age month k is at its purchase
day + k × 30.4375 (in calendar month m₀ + k; the ledger books visits by month), and an existing customer's
visit is at a day drawn uniformly within its month from a random stream of its own (source "existing",
index 1), which no other part of the engine uses. Problems at visits are not in the log (the ledger counts
them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.engine.customers import CustomerBatch
from sim.model.calendar import MONTH_DAYS

LEAD_COLUMNS: tuple[str, ...] = (
    "replication",
    "lead",
    "channel",
    "month",
    "arrival",
    "contact",
    "sale",
    "sale_month",
)
"""Columns of `EventLog.leads`."""

CUSTOMER_COLUMNS: tuple[str, ...] = (
    "replication",
    "customer",
    "lead",
    "month",
    "purchase",
    "revenue",
    "margin",
    "left",
)
"""Columns of `EventLog.customers`."""

VISIT_COLUMNS: tuple[str, ...] = ("replication", "customer", "stream", "month", "day", "revenue", "margin")
"""Columns of `EventLog.visits`."""


@dataclass(frozen=True)
class EventLog:
    """A run's records, one table each for leads, customers and repeat visits, every row with its
    `replication`; days are model days from the start of month 1, months 1-based (as `result.monthly`)."""

    leads: pd.DataFrame
    """One row per lead that arrived within the horizon, by replication and arrival: `lead` (0, 1, … in
    arrival order within the replication), `channel` (the paid channel's name, or `referrals`), `month` (of
    arrival), `arrival`, `contact` (the first contact's start; NaN: lost; without a desk the arrival; it may
    fall after the horizon), `sale` (the day of the sale; NaN: no sale within the horizon) and `sale_month`
    (NA: no sale)."""
    customers: pd.DataFrame
    """One row per customer: `customer` (0, 1, … within the replication: the existing customers first, then
    the new ones by purchase), `lead` (the `lead` whose sale made it; NA: existing), `month` (of the
    purchase; 0: bought before month 1), `purchase` (day; NaN: existing), `revenue` and `margin` of the first
    purchase as booked (0: existing), `left` (the day it leaves, the end of the month whose churn check
    fails; NaN: still there at the end of the horizon)."""
    visits: pd.DataFrame
    """One row per repeat visit that happened within the horizon: `customer`, `stream` (its name), `month`,
    `day`, `revenue` and `margin` as booked."""


class _Growing:
    """A float64 array indexed by id that grows as ids are added (NaN until set)."""

    def __init__(self) -> None:
        self.data = np.full(1024, np.nan)

    def reserve(self, size: int) -> None:
        if size > self.data.size:
            grown = np.full(max(size, 2 * self.data.size), np.nan)
            grown[: self.data.size] = self.data
            self.data = grown


class RunLog:
    """The records of one replication as the engine makes them (`EventLog` holds them as tables).

    Leads get ids in the order the engine draws them (`add_leads`); their contacts and sales are set by id.
    Sales of a month are kept in order (`sold`) until the month's customers are drawn (`new_customers`): the
    batch's i-th customer is the month's i-th sale."""

    def __init__(self, horizon_months: int, rng: np.random.Generator):
        self.H = horizon_months
        self.rng = rng
        """The log's own stream (source "existing", index 1): days of existing customers' visits."""
        self.n_leads = 0
        self._arrival: list[np.ndarray] = []
        self._month: list[np.ndarray] = []
        self._channel: list[np.ndarray] = []
        self.contact = _Growing()
        self.sale = _Growing()
        self.sale_month = _Growing()
        self._sales: list[list[tuple[int, float]]] = [[] for _ in range(horizon_months)]
        self.n_customers = 0
        self._customers: list[tuple[np.ndarray, ...]] = []
        self._visits: list[tuple[np.ndarray, ...]] = []

    # --- leads ------------------------------------------------------------------------------------------

    def add_leads(
        self, arrival: np.ndarray, month: np.ndarray | int, channel: np.ndarray | int, contacted: bool
    ) -> np.ndarray:
        """Leads arriving at `arrival` (days) in `month` (0-based, one or one per lead) of `channel` (one or
        one per lead); `contacted`: contacted on arrival (no desk). Returns their ids."""
        n = arrival.size
        ids = np.arange(self.n_leads, self.n_leads + n, dtype=np.int64)
        self.n_leads += n
        for column in (self.contact, self.sale, self.sale_month):
            column.reserve(self.n_leads)
        self._arrival.append(np.array(arrival, dtype=float))
        self._month.append(np.broadcast_to(np.asarray(month, dtype=np.int64), (n,)).copy())
        self._channel.append(np.broadcast_to(np.asarray(channel, dtype=np.int64), (n,)).copy())
        if contacted:
            self.contact.data[ids] = arrival
        return ids

    def contacts(self, ids: np.ndarray, starts: np.ndarray, lost: float) -> None:
        """The first contacts' starts (days) of leads `ids`; `lost` marks a lead that was lost."""
        self.contact.data[ids] = np.where(starts == lost, np.nan, starts)

    def sold(self, lead: int, day: float, month: int) -> None:
        """Lead `lead` buys at `day` (the sale's moment as the engine books it) in `month` (0-based)."""
        self.sale.data[lead] = day
        self.sale_month.data[lead] = month
        self._sales[month].append((lead, day))

    # --- customers --------------------------------------------------------------------------------------

    def existing_customers(self, batch: CustomerBatch) -> None:
        """The customers there before month 1 (drawn first, so they are customers 0 … n − 1)."""
        n = batch.stay_until.size
        nan = np.full(n, np.nan)
        self._add_customers(batch, np.full(n, -1), np.full(n, -1), nan, np.zeros(n), np.zeros(n))

    def new_customers(
        self, batch: CustomerBatch, month0: int, first_revenue: float, first_margin: float
    ) -> None:
        """The customers who bought in `month0` (0-based), one per sale of the month in order, their first
        purchase booked at `first_revenue` and `first_margin`."""
        sales = self._sales[month0]
        n = batch.stay_until.size
        if len(sales) != n:
            raise RuntimeError(f"month {month0 + 1}: {len(sales)} sales logged for {n} new customers")
        self._sales[month0] = []
        lead = np.array([s[0] for s in sales], dtype=np.int64)
        day = np.array([s[1] for s in sales], dtype=float)
        self._add_customers(
            batch, lead, np.full(n, month0), day, np.full(n, first_revenue), np.full(n, first_margin)
        )

    def _add_customers(
        self,
        batch: CustomerBatch,
        lead: np.ndarray,
        month: np.ndarray,
        purchase: np.ndarray,
        revenue: np.ndarray,
        margin: np.ndarray,
    ) -> None:
        detail = batch.detail
        if detail is None:
            raise ValueError("the event log needs the batch's detail (draw_batch(..., detail=True))")
        n = lead.size
        first = self.n_customers
        self.n_customers += n
        left = np.where(np.isfinite(batch.stay_until), batch.stay_until, np.nan)
        self._customers.append((np.arange(first, first + n), lead, month, purchase, revenue, margin, left))
        who, age, stream = detail.visits()
        month_of = detail.month[age]
        if detail.offset is None:  # new customers: the purchase's day + k months
            day = purchase[who] + age * MONTH_DAYS
        else:  # existing customers: a day within the month, from the log's own stream
            day = (month_of + self.rng.random(who.size)) * MONTH_DAYS
        low = month_of * MONTH_DAYS
        high = np.nextafter((month_of + 1) * MONTH_DAYS, 0.0)
        day = np.minimum(np.maximum(day, low), high)  # rounding stays in the visit's month
        self._visits.append(
            (
                first + who,
                stream,
                month_of,
                day,
                detail.repeat_revenue[age, stream],
                detail.repeat_margin[age, stream],
            )
        )

    # --- tables -----------------------------------------------------------------------------------------

    def arrays(self) -> dict[str, dict[str, np.ndarray]]:
        """The records as arrays, months 0-based, leads in the order drawn: {"leads": …, "customers": …,
        "visits": …}."""

        def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        def columns(parts: list[tuple[np.ndarray, ...]], names: Sequence[str], dtypes: Sequence[type]):
            pairs = enumerate(zip(names, dtypes, strict=True))
            return {name: joined([p[k] for p in parts], dtype) for k, (name, dtype) in pairs}

        n = self.n_leads
        leads = {
            "arrival": joined(self._arrival, float),
            "month": joined(self._month, np.int64),
            "channel": joined(self._channel, np.int64),
            "contact": self.contact.data[:n].copy(),
            "sale": self.sale.data[:n].copy(),
            "sale_month": self.sale_month.data[:n].copy(),  # NaN: no sale
        }
        customers = columns(
            self._customers,
            ("customer", "lead", "month", "purchase", "revenue", "margin", "left"),
            (np.int64, np.int64, np.int64, float, float, float, float),
        )
        visits = columns(
            self._visits,
            ("customer", "stream", "month", "day", "revenue", "margin"),
            (np.int64, np.int64, np.int64, float, float, float),
        )
        return {"leads": leads, "customers": customers, "visits": visits}


def _nullable(values: np.ndarray, present: np.ndarray) -> pd.arrays.IntegerArray:
    """Whole numbers with NA where not `present`."""
    return pd.arrays.IntegerArray(np.where(present, values, 0).astype(np.int64), ~np.asarray(present, bool))


def event_log(
    runs: Sequence[dict[str, dict[str, np.ndarray]]],
    replications: Sequence[int],
    channels: Sequence[str],
    streams: Sequence[str],
) -> EventLog:
    """The tables of the runs' records (`RunLog.arrays`, one per replication in `replications`);
    `channels`: the paid channels' names (referral leads are `referrals`), `streams` the repeat streams'."""
    if not runs:
        raise ValueError("event_log: no runs")
    leads, customers, visits = [], [], []
    for r, run in zip(replications, runs, strict=True):
        a, c, v = run["leads"], run["customers"], run["visits"]
        n = a["arrival"].size
        order = np.lexsort((np.arange(n), a["arrival"]))  # by arrival, then as drawn
        place = np.empty(n, dtype=np.int64)
        place[order] = np.arange(n)  # a lead's place in arrival order
        sale_month = a["sale_month"][order]
        sold = np.isfinite(sale_month)
        leads.append(
            pd.DataFrame(
                {
                    "replication": np.full(n, r, dtype=np.int64),
                    "lead": np.arange(n, dtype=np.int64),
                    "channel": a["channel"][order],
                    "month": a["month"][order] + 1,
                    "arrival": a["arrival"][order],
                    "contact": a["contact"][order],
                    "sale": a["sale"][order],
                    "sale_month": _nullable(np.where(sold, sale_month, -1) + 1, sold),
                }
            )
        )
        lead = c["lead"]
        new = lead >= 0
        made_by = np.zeros(lead.size, dtype=np.int64)
        made_by[new] = place[lead[new]]
        customers.append(
            pd.DataFrame(
                {
                    "replication": np.full(lead.size, r, dtype=np.int64),
                    "customer": c["customer"],
                    "lead": _nullable(made_by, new),
                    "month": c["month"] + 1,
                    "purchase": c["purchase"],
                    "revenue": c["revenue"],
                    "margin": c["margin"],
                    "left": c["left"],
                }
            )
        )
        visits.append(
            pd.DataFrame(
                {
                    "replication": np.full(v["customer"].size, r, dtype=np.int64),
                    "customer": v["customer"],
                    "stream": v["stream"],
                    "month": v["month"] + 1,
                    "day": v["day"],
                    "revenue": v["revenue"],
                    "margin": v["margin"],
                }
            )
        )
    out_leads = pd.concat(leads, ignore_index=True)
    names = [*channels, "referrals"]
    out_leads["channel"] = pd.Categorical.from_codes(out_leads["channel"].to_numpy(np.int64), names)
    out_visits = pd.concat(visits, ignore_index=True)
    out_visits["stream"] = pd.Categorical.from_codes(out_visits["stream"].to_numpy(np.int64), list(streams))
    return EventLog(leads=out_leads, customers=pd.concat(customers, ignore_index=True), visits=out_visits)
