"""The discrete-event engine: one replication of a scenario on a SimPy clock.

The SimPy environment owns the clock (days) and the events that matter: sales, which create customers,
whose referral leads feed back into the sales desk. Work that contends for nothing is not one event per
item: paid leads of a month are drawn in numpy; the customers who bought in a month have their whole
futures (adoption, churn checks, visits, problems) drawn together when the month ends and booked into
monthly bins; referral leads are drawn month by month from the count of customers present (and, for
the purchase month, at the sale). The sales desk is where leads contend: it serves leads in arrival
order (`sim.engine.desk.Desk`, a compiled kernel, a stretch of leads per call), running ahead of the clock
only up to the next pending sale when sales can send leads (referrals) — nothing can add a lead before
that moment, so the order is exactly that of a model in which every lead
is its own process (see docs/model.md and the reference model in tests/). Memory is bounded by the
monthly aggregates and one month of leads.

A planned scenario is read month by month (`sim.model.plan.months`): a month's channels (rate, CPL, lead
quality), conversions, referral multiplier, funnel delays (means), handling time (mean), patience and
cooling half-life apply to the leads arriving in it (paid and referral alike), whenever they are served
and go through the funnel: each lead carries them from its arrival (`sim.engine.desk.Leads`). A month's
referral rate applies to the referral leads it brings, its first-purchase margin and referral bonus to
the sales in it; the desk takes staff and hours by the moment. Where a lever is the same in every month
the draws are those of the unplanned scenario. Each lead carries its channel (paid channels 0 … C − 1,
referrals C), so every count and cost is also booked per channel (`RunOutput.channels`).

With `records=True` the replication also keeps its event log (`sim.engine.log.RunLog`, `RunOutput.log`):
every lead's arrival, first contact (from the desk's starts) and sale, every customer's purchase and its
repeat visits. It draws only from a stream of its own, so the ledger is the same with or without it.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from sim.accounting.ledger import BOOKED_COLUMNS, CHANNEL_COLUMNS
from sim.accounting.lifetimes import LifetimeTables, lifetime_tables
from sim.engine.customers import draw_batch
from sim.engine.desk import LOST, Desk, Leads, no_leads
from sim.engine.log import RunLog
from sim.engine.streams import stream
from sim.model import plan
from sim.model.calendar import MONTH_DAYS, YEAR_DAYS
from sim.model.scenario import Scenario


@dataclass
class RunOutput:
    """The raw outcome of one replication: monthly arrays and a few run-wide sums."""

    monthly: dict[str, np.ndarray]
    """Each of `sim.accounting.ledger.BOOKED_COLUMNS`, shape (horizon_months,)."""
    channels: dict[str, np.ndarray] = field(default_factory=dict)
    """Each of `sim.accounting.ledger.CHANNEL_COLUMNS`, shape (channels + 1, horizon_months): row i the
    paid channel i, the last row the referral leads; leads, lost, reached and lead spend by the leads'
    arrival month, sales, first margin and referral bonus by the sale's month."""
    ltv_sum: float = 0.0
    """Sum of new customers' lifetime values (net of the cost to serve), in currency."""
    ltv_gross_sum: float = 0.0
    """Sum of new customers' gross lifetime values (margin only), in currency."""
    ltv_count: int = 0
    """New customers whose LTV is in `ltv_sum` and `ltv_gross_sum`."""
    desk_busy_days: float = 0.0
    """Handling time of the contacts made, in days."""
    desk_open_days: float = 0.0
    """Staff × open time in the horizon, in days (0 without a desk)."""
    extra: dict[str, Any] = field(default_factory=dict)
    log: RunLog | None = None
    """The event log (`run_replication(..., records=True)`); None without records."""


class _Replication:
    def __init__(
        self, scenario: Scenario, seed: int, replication: int, tables: LifetimeTables, records: bool = False
    ):
        self.s = scenario
        self.tables = tables
        self.H = scenario.horizon_months
        self.T = self.H * MONTH_DAYS
        self.env = simpy.Environment()
        self.months = plan.months(scenario)  # month m's values at index m (0-based)
        self.C = C = len(scenario.channels)  # paid channels; row C of the channel arrays: referrals
        self.ledger = {name: np.zeros(self.H) for name in BOOKED_COLUMNS}
        self.by_channel = {name: np.zeros((C + 1, self.H)) for name in CHANNEL_COLUMNS}
        self.out = RunOutput(monthly=self.ledger, channels=self.by_channel)

        def rng(source: str, index: int = 0) -> np.random.Generator:
            return stream(seed, replication, source, index)

        self.rng_arrivals = [rng("paid_arrivals", i) for i in range(len(scenario.channels))]
        self.rng_paid_handling = rng("paid_handling")
        self.rng_paid_funnel = rng("paid_funnel")
        self.rng_ref_arrivals = rng("referral_arrivals")
        self.rng_ref_handling = rng("referral_handling")
        self.rng_ref_funnel = rng("referral_funnel")
        self.rng_adopt = rng("adoption")
        self.rng_life = rng("lifetime")
        self.rng_problems = rng("problems")
        self.rng_existing = rng("existing")
        # The event log, with a stream of its own: the other streams draw the same with or without it.
        self.log = RunLog(self.H, rng("existing", 1)) if records else None
        self.out.log = self.log
        self.paid_ids = np.zeros(0, dtype=np.int64)  # this month's paid leads' ids in the log
        self.referral_ids = np.zeros(0, dtype=np.int64)  # the log's ids of the referral queue's leads
        self.sale_lead: dict[int, int] = {}  # a pending sale's sequence number -> its lead's id in the log

        # The funnel's stage delays (means, days) of a lead's arrival month: the distinct vectors, and for
        # each month the index of its vector (one vector for all months without a planned delay).
        delays = [tuple(st.delay_days for st in s.funnel) for s in self.months]
        vectors = list(dict.fromkeys(delays))
        self.delay_vectors = [np.array(v, dtype=float) for v in vectors]
        self.delay_index = np.array([vectors.index(v) for v in delays], dtype=np.int64)
        self.delays_constant = len(vectors) == 1
        # A paid lead buys with min(1, funnel conversion × its channel's quality) of its arrival month
        # (month, channel); a referral lead with its arrival month's referral conversion.
        self.p_paid = np.array(
            [[min(1.0, s.funnel_conversion * ch.lead_quality) for ch in s.channels] for s in self.months]
        ).reshape(self.H, C)
        self.p_ref = plan.series(scenario, lambda s: s.referral_conversion)
        self.p_ref_constant = bool(np.all(self.p_ref == self.p_ref[0]))
        # leads per customer-day, month by month
        self.referral_rate = plan.series(scenario, lambda s: s.referral_rate_per_year) / YEAR_DAYS
        self.referral_rates: list[float] = self.referral_rate.tolist()
        self.referrals = bool(np.any(self.referral_rate > 0))  # can a sale ever send leads?
        self.bonus = [s.referrals.bonus if s.referrals else 0.0 for s in self.months]  # by the sale's month
        self.first_margin = [s.first_purchase.margin for s in self.months]  # by the sale's month
        self.first_revenue = [s.first_purchase.revenue for s in self.months]
        self.channel_sales = [0.0] * ((C + 1) * self.H)  # sales and first margin, [channel * H + month]
        self.channel_margin = [0.0] * ((C + 1) * self.H)
        self.desk: Desk | None = None
        self.cooling = False
        self.desk_planned = False
        if scenario.sales_desk:
            d = scenario.sales_desk
            # A lead's handling time (mean), patience and cooling half-life (days; inf: none) by its
            # arrival month; `*_constant`: the same in every month (then one value for all leads).
            self.handling_by_month = plan.series(scenario, lambda s: s.sales_desk.handling_minutes / 1440.0)
            self.patience_by_month = plan.series(
                scenario,
                lambda s: (
                    math.inf if s.sales_desk.patience_hours is None else s.sales_desk.patience_hours / 24.0
                ),
            )
            self.half_life_by_month = plan.series(scenario, lambda s: s.sales_desk.cooling_half_life_days)
            self.handling_mean = float(self.handling_by_month[0])
            self.handling_constant = bool(np.all(self.handling_by_month == self.handling_mean))
            self.handling_fixed = d.handling == "fixed"
            self.cooling = bool(np.isfinite(self.half_life_by_month).any())
            self.patience_constant = bool(
                np.all(self.patience_by_month == self.patience_by_month[0])
                and np.all(self.half_life_by_month == self.half_life_by_month[0])
            )
            self.patience_buffer = np.zeros((2, 0))
            # Staff and hours by month, given to the desk only when they change (else the constant path).
            staff = plan.series(scenario, lambda s: s.sales_desk.staff).astype(np.int64)
            hours = plan.series(scenario, lambda s: s.sales_desk.open_fraction)
            staff_by_month = staff if np.any(staff != d.staff) else None
            open_by_month = hours if np.any(hours != d.open_fraction) else None
            self.desk_planned = staff_by_month is not None or open_by_month is not None
            self.desk = Desk(
                d,
                self.T,
                staff_by_month=staff_by_month,
                open_fraction_by_month=open_by_month,
                cooling_half_life_days=d.cooling_half_life_days,
                channels=C,
            )
        # scheduled sales not yet happened: (event time, sequence, event, the lead's channel)
        self.pending_sales: list[tuple[float, int, simpy.Event, int]] = []
        self.referral_queue: Leads = no_leads()  # referral leads for the desk, sorted by arrival
        self.referral_next = 0  # the first of them not yet offered to the desk
        # The queue's float arrays (arrival, handling, delay, odds, patience, half-life) are the rows of
        # one block, so that merging new leads in is a few numpy calls; and its buys.
        self.referral_block = np.zeros((6, 0))
        self.referral_buys = np.zeros(0, dtype=np.bool_)
        self.present_diff = np.zeros(self.H + 1)  # customers present all month: a difference array
        self.unborn = np.zeros(self.H, dtype=np.int64)  # sales of each month whose future is not drawn yet
        self._seq = 0

    # --- draws ----------------------------------------------------------------------------------

    def _handling(self, rng: np.random.Generator, n: int, month: int | np.ndarray) -> np.ndarray:
        """Handling times (days) of n leads arriving in `month` (one month, or one per lead): exponential
        around, or exactly, the arrival month's mean; zeros without a desk."""
        if self.desk is None:
            return np.zeros(n)
        mean = self.handling_mean if self.handling_constant else self.handling_by_month[month]
        if self.handling_fixed:
            return np.full(n, mean)
        return rng.exponential(mean, n)

    def _patience(self, n: int, month: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Patience and cooling half-life (days; inf: none) of n leads arriving in `month` (one month, or
        one per lead): their arrival month's. When they are the same in every month: views of one
        buffer each (read only by the desk)."""
        if self.desk is None:
            return np.full(n, math.inf), np.full(n, math.inf)
        if self.patience_constant:
            if n > self.patience_buffer.shape[1]:
                size = max(n, 2 * self.patience_buffer.shape[1])
                self.patience_buffer = np.array(
                    (np.full(size, self.patience_by_month[0]), np.full(size, self.half_life_by_month[0]))
                )
            return self.patience_buffer[0, :n], self.patience_buffer[1, :n]
        if np.ndim(month) == 0:
            return np.full(n, self.patience_by_month[month]), np.full(n, self.half_life_by_month[month])
        return self.patience_by_month[month], self.half_life_by_month[month]

    def _funnel(
        self, rng: np.random.Generator, n: int, p: float | np.ndarray, month: int | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Whether each of n contacted leads buys (at overall conversion `p`, one value or one per lead),
        for buyers the total funnel delay (days; the stage delays' means of the arrival `month`, one
        month or one per lead), and the odds u / p of buyers (u: the lead's uniform draw; a buyer still
        buys after a wait w iff u / p < 0.5^(w / half-life): cooling in the desk). Without cooling the
        odds are 0 (every buyer buys)."""
        u = rng.random(n)
        buys = u < p
        delay = np.zeros(n)
        nb = int(buys.sum())
        if nb:
            self._delays(rng, delay, buys, nb, month)
        odds = np.divide(u, p, out=np.ones(n), where=buys) if self.cooling else np.zeros(n)
        return buys, delay, odds

    def _delays(
        self, rng: np.random.Generator, delay: np.ndarray, buys: np.ndarray, nb: int, month: int | np.ndarray
    ) -> None:
        """Set the buyers' (`buys`, nb of them) total funnel delays in `delay`: one exponential draw per
        stage and buyer (none if every delay the buyers have is 0), × the stages' mean delays of each
        buyer's arrival month, summed."""
        if self.delays_constant or np.ndim(month) == 0:
            which = 0 if self.delays_constant else int(self.delay_index[month])
            vector = self.delay_vectors[which]
            if vector.any():
                delay[buys] = rng.standard_exponential((nb, vector.size)) @ vector
            return
        which = self.delay_index[month][buys]
        kinds = np.unique(which)
        if not any(self.delay_vectors[k].any() for k in kinds):
            return
        draws = rng.standard_exponential((nb, self.delay_vectors[0].size))
        if kinds.size == 1:
            delay[buys] = draws @ self.delay_vectors[kinds[0]]
            return
        total = np.empty(nb)
        for k in kinds:
            rows = which == k
            total[rows] = draws[rows] @ self.delay_vectors[k]
        delay[buys] = total

    def _paid_month(self, m: int) -> Leads:
        """Paid leads arriving in month m (0-based), sorted (`Leads`: times, handling, buys, delays, odds,
        channel, patience, half-life); books their count and cost (month m's CPL), in all and per
        channel."""
        led, ch_led = self.ledger, self.by_channel
        parts, counts = [], []
        for i, (ch, rng) in enumerate(zip(self.months[m].channels, self.rng_arrivals, strict=True)):
            n = int(rng.poisson(ch.leads_per_month))
            parts.append(np.sort(rng.random(n)))
            counts.append(n)
            spend = n * ch.cost_per_lead
            led["leads_paid"][m] += n
            led["lead_spend"][m] += spend
            ch_led["leads"][i, m] += n
            ch_led["lead_spend"][i, m] += spend
        if len(parts) == 1:
            merged, channel = parts[0], np.zeros(counts[0], dtype=np.int64)
        elif parts:
            joined = np.concatenate(parts)
            order = np.argsort(joined, kind="stable")  # the same sorted times as np.sort, with their channel
            merged = joined[order]
            channel = np.repeat(np.arange(self.C, dtype=np.int64), counts)[order]
        else:
            merged, channel = np.zeros(0), np.zeros(0, dtype=np.int64)
        times = (m + merged) * MONTH_DAYS
        times = np.minimum(times, np.nextafter((m + 1) * MONTH_DAYS, 0.0))  # rounding stays in the month
        n = times.size
        if self.log is not None:
            self.paid_ids = self.log.add_leads(times, m, channel, contacted=self.desk is None)
        handling = self._handling(self.rng_paid_handling, n, m)
        p_month = self.p_paid[m]
        p = float(p_month[0]) if self.C and np.all(p_month == p_month[0]) else p_month[channel]
        buys, delay, odds = self._funnel(self.rng_paid_funnel, n, p, m)
        return times, handling, buys, delay, odds, channel, *self._patience(n, m)

    # --- sales and customers --------------------------------------------------------------------

    def _schedule_sale(self, t: float, channel: int, lead: int = -1) -> None:
        """A sale at `t` (days) of a lead of `channel` (C: a referral lead), if within the horizon; `lead`:
        its id in the event log (with records)."""
        if t >= self.T:
            return
        delay = t - self.env.now
        ev = self.env.timeout(delay)
        ev.callbacks.append(self._sale)
        self._seq += 1
        if self.log is not None:
            self.sale_lead[self._seq] = lead
        # The event's own time, computed as SimPy does, so the desk's look-ahead compares like with like.
        heapq.heappush(self.pending_sales, (self.env.now + delay, self._seq, ev, channel))

    def _sale(self, _event: simpy.Event) -> None:
        """The earliest pending sale happens (sales fire in the heap's order): book it in its month, at
        that month's first-purchase revenue and margin."""
        sale = heapq.heappop(self.pending_sales)
        channel = sale[3]
        t = self.env.now
        m = min(int(t // MONTH_DAYS), self.H - 1)
        if self.log is not None:
            self.log.sold(self.sale_lead.pop(sale[1]), t, m)
        led = self.ledger
        margin = self.first_margin[m]
        led["sales"][m] += 1
        led["revenue"][m] += self.first_revenue[m]
        cell = channel * self.H + m  # per-channel sales in plain lists (the hot path), arrays at the end
        self.channel_sales[cell] += 1.0
        self.channel_margin[cell] += margin
        if channel == self.C:  # a referral lead's sale
            led["sales_referral"][m] += 1
            led["margin_referral_sale"][m] += margin
            led["referral_bonus"][m] += self.bonus[m]
        else:
            led["margin_first_sale"][m] += margin
        # The customer stays at least to the end of its purchase month: its referral leads there are
        # drawn now; its future (from the next month on) is drawn with the month's other customers.
        self._purchase_month_referrals(t, m)
        self.unborn[m] += 1

    def _existing_customers(self) -> None:
        n = self.s.existing_customers.count
        if n == 0:
            return
        batch = draw_batch(
            self.s,
            self.tables,
            n,
            -1,  # bought before month 1
            self.ledger,
            self.rng_adopt,
            self.rng_life,
            self.rng_problems,
            rng_existing=self.rng_existing,
            detail=self.log is not None,
        )
        if self.log is not None:
            self.log.existing_customers(batch)
        self._present_from(batch.stay_until, -1)

    def _purchase_month_referrals(self, t: float, m: int) -> None:
        """Referral leads of a customer who bought at `t` in month `m`, for the rest of that month (at
        month m's referral rate)."""
        rate = self.referral_rates[m]
        if rate <= 0:
            return
        span = max(min((m + 1) * MONTH_DAYS, self.T) - t, 0.0)
        n = int(self.rng_ref_arrivals.poisson(rate * span))
        if n:
            self._send_referral_leads(np.sort(t + self.rng_ref_arrivals.random(n) * span))

    def _draw_customers(self, month0: int) -> None:
        """Draw the futures of the customers who bought in `month0`, all at once (book their visits,
        churn and problems; count them as present in the months they stay)."""
        n = int(self.unborn[month0])
        if n == 0:
            return
        self.unborn[month0] = 0
        batch = draw_batch(
            self.s,
            self.tables,
            n,
            month0,
            self.ledger,
            self.rng_adopt,
            self.rng_life,
            self.rng_problems,
            detail=self.log is not None,
        )
        if self.log is not None:
            self.log.new_customers(batch, month0, self.first_revenue[month0], self.first_margin[month0])
        self.out.ltv_sum += float(batch.ltv.sum())
        self.out.ltv_gross_sum += float(batch.ltv_gross.sum())
        self.out.ltv_count += n
        self._present_from(batch.stay_until, month0)

    def _present_from(self, stay_until: np.ndarray, month0: int) -> None:
        """Count customers of `month0` (-1: before month 1) as present in each whole month they stay.

        Referral leads are a Poisson process while a customer stays; after its purchase month a customer
        stays whole months, so each month's referral leads are drawn when the month starts from the
        number of customers present (`_monthly_referrals`), kept as a difference array over months.
        Memory stays bounded by the months, not by the customers' future leads.
        """
        if not self.referrals:
            return
        last = np.where(np.isfinite(stay_until), np.rint(stay_until / MONTH_DAYS) - 1, self.H - 1)
        last = np.minimum(last, self.H - 1).astype(np.int64)
        first = month0 + 1
        if first < self.H:
            self.present_diff[first] += float(len(last))
            np.add.at(self.present_diff, last[last >= first] + 1, -1.0)

    def _monthly_referrals(self, m: int) -> None:
        """At the start of month m (all earlier sales have happened): draw the futures of last month's
        customers, then month m's referral leads from the customers present all month."""
        if m > 0:
            self._draw_customers(m - 1)
        rate = self.referral_rates[m]
        if rate <= 0:
            return
        present = float(self.present_diff[: m + 1].sum())
        n = int(self.rng_ref_arrivals.poisson(rate * MONTH_DAYS * present)) if present > 0 else 0
        if n:
            self._send_referral_leads((m + np.sort(self.rng_ref_arrivals.random(n))) * MONTH_DAYS)

    def _send_referral_leads(self, times: np.ndarray) -> None:
        """Referral leads arriving at sorted `times`: to the desk's queue, or straight into the funnel.
        Each uses the referral conversion, handling time, funnel delays, patience and half-life of its
        arrival month."""
        total = times.size
        C = self.C
        months = np.minimum((times // MONTH_DAYS).astype(np.int64), self.H - 1)
        np.add.at(self.ledger["leads_referral"], months, 1.0)
        np.add.at(self.by_channel["leads"][C], months, 1.0)
        ids = None if self.log is None else self.log.add_leads(times, months, C, contacted=self.desk is None)
        handling = self._handling(self.rng_ref_handling, total, months)
        p = float(self.p_ref[0]) if self.p_ref_constant else self.p_ref[months]
        buys, delay, odds = self._funnel(self.rng_ref_funnel, total, p, months)
        if self.desk is None:
            np.add.at(self.ledger["leads_reached"], months, 1.0)
            np.add.at(self.by_channel["leads_reached"][C], months, 1.0)
            if ids is None:
                for t in (times + delay)[buys]:
                    self._schedule_sale(float(t), C)
            else:
                for t, lead in zip((times + delay)[buys].tolist(), ids[buys].tolist(), strict=True):
                    self._schedule_sale(t, C, lead)
            return
        # Into the desk's queue, after the leads waiting there that arrive at the same moment.
        j = self.referral_next
        block = np.array((times, handling, delay, odds, *self._patience(total, months)))
        if self.referral_block.shape[1] > j:  # leads still waiting: merge (else the new ones are sorted)
            block = np.concatenate((self.referral_block[:, j:], block), axis=1)
            buys = np.concatenate((self.referral_buys[j:], buys))
            order = np.argsort(block[0], kind="stable")
            block, buys = np.take(block, order, axis=1), buys[order]
            if ids is not None:
                ids = np.concatenate((self.referral_ids[j:], ids))[order]
        if ids is not None:
            self.referral_ids = ids
        self.referral_block, self.referral_buys = block, buys
        channel = np.full(buys.size, C, dtype=np.int64)
        self.referral_queue = (block[0], block[1], buys, block[2], block[3], channel, block[4], block[5])
        self.referral_next = 0

    # --- processes ------------------------------------------------------------------------------

    def _leads_unlimited(self):
        """Without a desk every lead is contacted on arrival: a month of paid leads at a time."""
        C, ch_led = self.C, self.by_channel
        for m in range(self.H):
            self._monthly_referrals(m)
            times, _h, buys, delay, _odds, channel, *_ = self._paid_month(m)
            self.ledger["leads_reached"][m] += times.size
            ch_led["leads_reached"][:C, m] += ch_led["leads"][:C, m]  # this month's paid leads, all reached
            if self.log is None:
                for t, c in zip((times + delay)[buys].tolist(), channel[buys].tolist(), strict=True):
                    self._schedule_sale(t, c)
            else:
                ids = self.paid_ids[buys].tolist()
                sold = zip((times + delay)[buys].tolist(), channel[buys].tolist(), ids, strict=True)
                for t, c, lead in sold:
                    self._schedule_sale(t, c, lead)
            yield self.env.timeout((m + 1) * MONTH_DAYS - self.env.now)

    def _leads_desk(self):
        """Offer paid and referral leads to the desk in arrival order; the desk serves a stretch of leads
        per call. With referrals a sale may send new leads, so the desk never runs past a pending sale;
        without them a month's leads are served in one call and its sales then happen on the clock."""
        desk, led, pending = self.desk, self.ledger, self.pending_sales
        ch_led = self.by_channel
        env, inf = self.env, math.inf
        referrals = self.referrals
        for m in range(self.H):
            self._monthly_referrals(m)
            paid = self._paid_month(m)
            month_end = (m + 1) * MONTH_DAYS
            i = 0
            while True:
                stop = pending[0][0] if referrals and pending else inf
                i0, j0, queue = i, self.referral_next, self.referral_queue
                i, self.referral_next, n_sales, t = desk.serve(
                    paid, i, self.referral_queue, self.referral_next, month_end,
                    stop, env.now, self.T, referrals,
                )  # fmt: skip
                if self.log is None:
                    self._book_sales(n_sales)
                else:
                    self._log_served(paid, i0, i, queue, j0, self.referral_next, n_sales)
                if not referrals:
                    break
                # t: the next lead's arrival (this month's end if none is left in the month).
                if pending and pending[0][0] <= t:
                    yield pending[0][2]  # the sale happens (and may add referral leads) first
                    continue
                if t >= month_end:
                    break
            lost, reached, wait = desk.take_month()
            led["leads_lost"][m] += lost
            led["leads_reached"][m] += reached
            led["wait_hours_sum"][m] += wait
            lost_by_channel, reached_by_channel = desk.take_month_channels()
            ch_led["leads_lost"][:, m] += lost_by_channel
            ch_led["leads_reached"][:, m] += reached_by_channel
            if not referrals:
                yield env.timeout(month_end - env.now)

    def _log_served(self, paid: Leads, i0: int, i1: int, ref: Leads, j0: int, j1: int, n_sales: int) -> None:
        """With records: log the contacts of the leads the desk's last call served (paid[i0:i1] and
        ref[j0:j1]) and book its `n_sales` sales with their leads. Which served leads bought follows from
        their own arrays as in the desk (a reached buyer, with cooling only if its odds < 0.5^(wait /
        half-life), whose sale falls within the horizon); it must give exactly the desk's sale times."""
        desk, log = self.desk, self.log
        paid_starts, ref_starts, order = desk.served(paid[0], i0, i1, ref[0], j0, j1)
        starts = np.concatenate((paid_starts, ref_starts))
        both = [np.concatenate((p[i0:i1], r[j0:j1])) for p, r in zip(paid, ref, strict=True)]
        arrival, handling, buys, delay, odds, channel, _patience, half_life = both
        ids = np.concatenate((self.paid_ids[i0:i1], self.referral_ids[j0:j1]))
        log.contacts(ids, starts, LOST)
        reached = starts != LOST
        with np.errstate(invalid="ignore", over="ignore"):  # lost leads (start = LOST) are not reached
            cold = np.isfinite(half_life) & ~(odds < 0.5 ** ((starts - arrival) / half_life))
        sale = starts + handling + delay
        bought = reached & buys & ~cold & (sale < self.T)
        order = order[bought[order]]  # the buyers, in the order served
        if order.size != n_sales or not np.array_equal(sale[order], desk.sale_time[:n_sales]):
            raise RuntimeError("the event log's sales differ from the desk's")
        booked = zip(sale[order].tolist(), channel[order].tolist(), ids[order].tolist(), strict=True)
        for t, c, lead in booked:
            self._schedule_sale(t, c, lead)

    def _book_sales(self, n: int) -> None:
        """Schedule the n sales the desk's last call booked, in order."""
        desk = self.desk
        if n == 1:
            self._schedule_sale(float(desk.sale_time[0]), int(desk.sale_channel[0]))
        elif n:
            times = desk.sale_time[:n].tolist()
            for t, c in zip(times, desk.sale_channel[:n].tolist(), strict=True):
                self._schedule_sale(t, c)

    def run(self) -> RunOutput:
        self._existing_customers()
        self.env.process(self._leads_desk() if self.desk else self._leads_unlimited())
        self.env.run(until=self.T)
        for m in range(self.H):  # the last month's customers (and any not drawn yet)
            self._draw_customers(m)
        shape = (self.C + 1, self.H)
        self.by_channel["sales"] += np.array(self.channel_sales).reshape(shape)
        self.by_channel["first_margin"] += np.array(self.channel_margin).reshape(shape)
        self.by_channel["referral_bonus"][self.C] = self.ledger["referral_bonus"]  # all bonus is referrals'
        if self.desk is not None:
            self.out.desk_busy_days = self.desk.busy_days
            # Without planned staff or hours: staff × open days, as before (bit for bit); with them,
            # month by month (`plan.staff_open_days`).
            self.out.desk_open_days = (
                plan.staff_open_days(self.s)
                if self.desk_planned
                else self.s.sales_desk.staff * self.desk.open_days(self.T)
            )
        return self.out


def run_replication(
    scenario: Scenario,
    seed: int,
    replication: int,
    tables: LifetimeTables | None = None,
    records: bool = False,
) -> RunOutput:
    """Simulate one replication; `tables` (from `lifetime_tables`) may be shared between replications.
    With `records`, `RunOutput.log` is its event log (`sim.engine.log`); the results are the same."""
    tables = tables if tables is not None else lifetime_tables(scenario)
    return _Replication(scenario, seed, replication, tables, records).run()
