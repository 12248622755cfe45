"""The scenario: a validated, frozen description of one business and its funnel.

A scenario is read from TOML (`load_scenario`), written back with `Scenario.to_toml`, and changed only
by `Scenario.override`, which returns a new validated scenario. Every invalid value raises
`ScenarioError` naming the source, the field path, the value and the rule.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)

from sim.model import paths
from sim.model.errors import ScenarioError

Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Money = Annotated[float, Field(ge=0.0, le=1e12, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=80)]

MAX_FILE_BYTES = 256 * 1024
"""Largest scenario file accepted, in bytes (a scenario is a few hundred bytes of TOML)."""


def _within_revenue(margin: float, info: ValidationInfo) -> float:
    revenue = info.data.get("revenue")
    if revenue is not None and margin > revenue:
        raise ValueError(f"must not exceed revenue ({revenue:g})")
    return margin


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, validate_default=True)


class Channel(_Model):
    """A source of paid leads (calls, forms)."""

    name: Name
    """Channel name, shown in tables and charts."""
    name_ru: Name | None = None
    """Russian name, shown on Russian pages and downloads; absent = `name`."""
    leads_per_month: float = Field(ge=0.0, le=1e7, allow_inf_nan=False)
    """Mean paid leads a month (a Poisson process), in leads/month."""
    cost_per_lead: Money
    """Cost of one paid lead (CPL), paid when the lead arrives, in the scenario's currency."""
    lead_quality: float = Field(default=1.0, ge=0.0, le=100.0, allow_inf_nan=False)
    """Multiplier on the funnel's overall conversion for this channel's leads (result capped at 1), ×."""


class SalesDesk(_Model):
    """The staff who make the first contact with each lead. Absent = unlimited capacity, nobody waits."""

    staff: int = Field(ge=1, le=10_000)
    """Salespeople working at once, in people."""
    handling_minutes: float = Field(gt=0.0, le=1440.0, allow_inf_nan=False)
    """Mean time of one first contact, in minutes."""
    handling: Literal["exponential", "fixed"] = "exponential"
    """Distribution of the handling time: exponential around the mean, or always the mean."""
    hours_per_day: float = Field(default=24.0, gt=0.0, le=24.0, allow_inf_nan=False)
    """Daily working time, in hours from the start of each day; leads arriving off-hours wait."""
    patience_hours: float | None = Field(default=None, gt=0.0, le=24.0 * 365, allow_inf_nan=False)
    """A lead still waiting after this long (wall clock) is lost, in hours; absent = it waits."""
    salary_per_month: Money = 0.0
    """Cost of one salesperson, in the scenario's currency per month."""
    cooling_half_life_hours: float | None = Field(default=None, gt=0.0, le=24.0 * 365, allow_inf_nan=False)
    """A reached lead's overall conversion halves for every this many hours it waited (wall clock), in
    hours; absent = leads do not go cold."""

    @property
    def cooling_half_life_days(self) -> float:
        """The cooling half-life in days (inf without cooling)."""
        return math.inf if self.cooling_half_life_hours is None else self.cooling_half_life_hours / 24.0

    @property
    def open_fraction(self) -> float:
        """Share of each day the desk is open (its first `hours_per_day` hours)."""
        return self.hours_per_day / 24.0

    def open_days(self, horizon_days: float) -> float:
        """Open time of one salesperson within [0, horizon_days), in days."""
        full = math.floor(horizon_days)
        return full * self.open_fraction + min(horizon_days - full, self.open_fraction)


class FunnelStage(_Model):
    """One stage after first contact (visit, test drive, deal)."""

    name: Name
    """Stage name."""
    name_ru: Name | None = None
    """Russian name; absent = `name`."""
    conversion: Probability
    """Probability that a lead passes this stage."""
    delay_days: float = Field(default=0.0, ge=0.0, le=3650.0, allow_inf_nan=False)
    """Mean (exponential) time the stage takes, in days."""


class FirstPurchase(_Model):
    """What a new customer buys at the sale."""

    revenue: Money
    """Revenue of the first purchase, in the scenario's currency."""
    margin: Money
    """Margin of the first purchase, in the scenario's currency."""

    @field_validator("margin")
    @classmethod
    def _margin_within_revenue(cls, margin: float, info: ValidationInfo) -> float:
        return _within_revenue(margin, info)


class Retention(_Model):
    """How customers leave: all alike (`constant`), or each with its own churn (`sbg`, customers differ).

    With `model = "sbg"` (the shifted-beta-geometric model, Fader & Hardie 2007, "How to project
    customer retention", J. Interactive Marketing 21(1)) each customer draws θ ~ Beta(alpha, beta) at
    purchase, and its monthly churn is θ × monthly_churn / E[θ] (capped at 1), E[θ] = alpha / (alpha +
    beta): `monthly_churn` stays the mean churn of a new customer (the lever that plans, sensitivity and
    the app move), and alpha, beta say how much customers differ. With monthly_churn = E[θ] (its default
    under sbg) a cohort's survival is exactly S(t) = B(alpha, beta + t) / B(alpha, beta).
    """

    model: Literal["constant", "sbg"] = "constant"
    """`constant`: every customer churns at `monthly_churn`; `sbg`: customers differ (Beta-distributed)."""
    monthly_churn: Probability
    """Probability that a customer leaves for good at each month's end, first check at the end of
    month 1 after the purchase (with `sbg`: its mean over new customers; default alpha / (alpha + beta))."""
    alpha: float | None = Field(default=None, gt=0.0, le=1e4, allow_inf_nan=False)
    """sBG: the Beta distribution's first shape (with `model = "sbg"` only)."""
    beta: float | None = Field(default=None, gt=0.0, le=1e4, allow_inf_nan=False)
    """sBG: the Beta distribution's second shape (with `model = "sbg"` only)."""

    @model_validator(mode="before")
    @classmethod
    def _sbg_mean_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("model") == "sbg" and data.get("monthly_churn") is None:
            a, b = data.get("alpha"), data.get("beta")
            if isinstance(a, int | float) and isinstance(b, int | float) and a > 0 and b > 0:
                return {**data, "monthly_churn": float(a) / (float(a) + float(b))}
            return {**data, "monthly_churn": 0.0}  # the shapes' own error says what is missing
        return data

    @model_validator(mode="after")
    def _shapes_with_sbg(self) -> Retention:
        if self.model == "sbg" and (self.alpha is None or self.beta is None):
            raise ValueError('model = "sbg" needs alpha and beta (the Beta distribution of churn)')
        if self.model == "constant" and (self.alpha is not None or self.beta is not None):
            raise ValueError('alpha and beta are used only with model = "sbg"')
        return self

    @property
    def mean_theta(self) -> float:
        """E[θ] = alpha / (alpha + beta) under sbg (NaN with constant churn)."""
        if self.model != "sbg":
            return math.nan
        return self.alpha / (self.alpha + self.beta)


class RepeatStream(_Model):
    """A stream of repeat purchases by a customer (service visits, a second service)."""

    name: Name
    """Stream name."""
    name_ru: Name | None = None
    """Russian name; absent = `name`."""
    interval_months: int = Field(ge=1, le=120)
    """Whole months between visits; the first visit is due this many months after the purchase."""
    revenue: Money
    """Revenue of one visit, in the scenario's currency."""
    margin: Money
    """Margin of one visit, in the scenario's currency."""
    adoption: Probability = 1.0
    """Share of customers who use this stream (decided once, at the purchase)."""

    @field_validator("margin")
    @classmethod
    def _margin_within_revenue(cls, margin: float, info: ValidationInfo) -> float:
        return _within_revenue(margin, info)


class Referrals(_Model):
    """New leads brought by active customers."""

    per_customer_per_year: float = Field(ge=0.0, le=100.0, allow_inf_nan=False)
    """Referral leads each active customer brings, a Poisson process while the customer stays,
    in leads/customer/year."""
    conversion_multiplier: float = Field(default=1.0, ge=0.0, le=100.0, allow_inf_nan=False)
    """Multiplier on the funnel's overall conversion for a referral lead (result capped at 1)."""
    bonus: Money = 0.0
    """Paid per referral sale, in the scenario's currency."""


class ServiceProgramme(_Model):
    """Extra service (calls, surveys, perks), article 000.

    Churn multiplier at k contacts a month (k* = `tolerated_contacts_per_month`,
    d = `max_churn_reduction`): m(k) = 1 - d * (1 - (1 - k/k*)^2). It is 1 at k = 0, falls to
    1 - d at k = k* (the optimum for churn) and rises again past k*: each extra contact beyond the
    tolerated number pushes customers away (intrusive service); at k = 2 k* it is back at 1.
    """

    fixed_cost_per_year: Money = 0.0
    """Fixed cost of running the programme, in the scenario's currency per year (booked monthly)."""
    contacts_per_month: float = Field(default=0.0, ge=0.0, le=60.0, allow_inf_nan=False)
    """Contacts (calls, messages, surveys) with each active customer, in contacts/customer/month."""
    cost_per_contact: Money = 0.0
    """Cost of one contact, in the scenario's currency."""
    tolerated_contacts_per_month: float = Field(default=1.0, gt=0.0, le=60.0, allow_inf_nan=False)
    """Contacts a month at which churn is lowest; past it each extra contact raises churn."""
    max_churn_reduction: Probability = 0.0
    """Relative churn reduction at the tolerated number of contacts (0.3 = churn × 0.7)."""
    referral_uplift: float = Field(default=0.0, ge=0.0, le=10.0, allow_inf_nan=False)
    """Relative increase of the referral rate while the programme runs (0.2 = +20 %)."""
    margin_uplift: float = Field(default=0.0, ge=0.0, le=10.0, allow_inf_nan=False)
    """Relative increase of the margin of each repeat visit while the programme runs (0.1 = +10 %)."""

    def churn_multiplier(self, contacts_per_month: float | None = None) -> float:
        """Factor on the monthly churn at the given contacts a month (default: the programme's)."""
        k = self.contacts_per_month if contacts_per_month is None else contacts_per_month
        x = k / self.tolerated_contacts_per_month
        return 1.0 - self.max_churn_reduction * (1.0 - (1.0 - x) ** 2)

    @property
    def churn_optimal_contacts(self) -> float:
        """Contacts a month that minimise churn (= the tolerated number), in contacts/customer/month."""
        return self.tolerated_contacts_per_month


class Problems(_Model):
    """Problems at visits and how fast they are fixed (articles 002 and 004).

    A problem at a visit (the first purchase included) in month k makes the customer leave at the
    check at the end of month k + 1 with probability
    min(1, leave_probability_base + leave_probability_per_day * resolution_days), on top of churn.
    """

    visit_problem_probability: Probability
    """Probability that a visit (or the first purchase) has a problem."""
    resolution_days: float = Field(ge=0.0, le=365.0, allow_inf_nan=False)
    """Days to resolve a problem."""
    cost_per_problem: Money = 0.0
    """Cost of fixing one problem, in the scenario's currency, booked in the month of the visit."""
    leave_probability_base: Probability = 0.0
    """Probability that a customer with a problem leaves even if it is fixed at once."""
    leave_probability_per_day: Probability = 0.0
    """Added probability of leaving per day the problem stays unresolved."""

    @property
    def leave_probability(self) -> float:
        """Probability that a customer leaves after a problem, at the current resolution time."""
        return min(1.0, self.leave_probability_base + self.leave_probability_per_day * self.resolution_days)


class ExistingCustomers(_Model):
    """Customers the business already has at month 0 (article 000)."""

    count: int = Field(default=0, ge=0, le=10_000_000)
    """Active customers at the start, in customers. Each stream's first visit falls in a month drawn
    uniformly from 1 … interval; they churn, refer and get the programme like new customers."""


PlanValue = Annotated[float | int, Field(allow_inf_nan=False)]
PlanPath = Annotated[str, Field(min_length=1, max_length=200)]


class PlanStep(_Model):
    """From `from_month` on, the levers at these paths take these values (until a later step)."""

    from_month: int = Field(ge=1, le=240)
    """First month (1-based) of the step."""
    values: tuple[tuple[PlanPath, PlanValue], ...] = Field(min_length=1, max_length=200, strict=False)
    """(dotted lever path, value) pairs; TOML writes them beside `from_month` in the step's table."""

    @model_validator(mode="before")
    @classmethod
    def _from_table(cls, data: Any) -> Any:
        if isinstance(data, dict) and "values" not in data:
            rest = {k: v for k, v in data.items() if k != "from_month"}
            return {"from_month": data.get("from_month"), "values": tuple(rest.items())}
        return data

    @model_serializer
    def _as_table(self) -> dict[str, Any]:
        return {"from_month": self.from_month, **dict(self.values)}


class Uncertain(_Model):
    """A range of values of a lever nobody knows for sure: uniform on [low, high], or triangular with its
    peak at `mode`."""

    low: PlanValue
    """Lowest value, in the lever's unit."""
    high: PlanValue
    """Highest value, in the lever's unit."""
    mode: PlanValue | None = None
    """Most likely value (triangular); absent = every value in the range equally likely (uniform)."""

    @model_validator(mode="after")
    def _ordered(self) -> Uncertain:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if self.mode is not None and not self.low <= self.mode <= self.high:
            raise ValueError(f"mode ({self.mode:g}) must lie between low and high")
        return self


Trends = Annotated[
    tuple[tuple[PlanPath, Annotated[float, Field(gt=-1.0, le=1.0, allow_inf_nan=False)]], ...],
    Field(max_length=200, strict=False),
]
Seasonality = Annotated[
    tuple[
        tuple[
            PlanPath,
            Annotated[
                tuple[Annotated[float, Field(gt=0.0, le=100.0, allow_inf_nan=False)], ...],
                Field(min_length=12, max_length=12, strict=False),
            ],
        ],
        ...,
    ],
    Field(max_length=200, strict=False),
]


class Scenario(_Model):
    """One business: channels, sales desk, funnel, customers' behaviour and the costs of service."""

    name: Name
    """Scenario name, shown in the app and in reports."""
    name_ru: Name | None = None
    """Russian name, shown on Russian pages and reports; absent = `name`."""
    currency: str = Field(default="RUB", min_length=1, max_length=8)
    """Currency of every money amount (ISO code, e.g. RUB)."""
    horizon_months: int = Field(ge=1, le=240)
    """Months simulated."""
    discount_rate_annual: float = Field(default=0.0, ge=0.0, le=10.0, allow_inf_nan=False)
    """Annual discount rate for LTV and NPV (0.12 = 12 % a year)."""
    channels: tuple[Channel, ...] = Field(default=(), max_length=50, strict=False)
    """Sources of paid leads."""
    sales_desk: SalesDesk | None = None
    """The sales desk; absent = unlimited capacity."""
    funnel: tuple[FunnelStage, ...] = Field(min_length=1, max_length=20, strict=False)
    """Stages after the first contact, in order."""
    first_purchase: FirstPurchase
    """The first purchase of a new customer."""
    retention: Retention
    """Churn of customers."""
    repeat: tuple[RepeatStream, ...] = Field(default=(), max_length=8, strict=False)
    """Repeat purchase streams."""
    referrals: Referrals | None = None
    """Referral leads from active customers; absent = none."""
    service_programme: ServiceProgramme | None = None
    """Extra service programme; absent = none."""
    problems: Problems | None = None
    """Problems at visits; absent = none."""
    existing_customers: ExistingCustomers = Field(default_factory=ExistingCustomers)
    """Customers at month 0."""
    start: str | None = Field(default=None, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    """Calendar month of month 1, `YYYY-MM` (dates in results and charts); absent = months are numbered."""
    plan: tuple[PlanStep, ...] = Field(default=(), max_length=240, strict=False)
    """Steps of the plan: from a month on, levers take new values (see `sim.model.plan`)."""
    trends: Trends = ()
    """Compound change a month of levers from month 1, as (path, rate) pairs; TOML `[trends]`."""
    seasonality: Seasonality = ()
    """Twelve multipliers of levers, as (path, multipliers) pairs; TOML `[seasonality]`."""

    uncertainty: tuple[tuple[PlanPath, Uncertain], ...] = Field(default=(), max_length=50, strict=False)
    """Levers not known for sure, as (path, range) pairs; TOML `[uncertainty]`: each replication draws
    each of them once (triangular with `mode`, else uniform) from its own random stream."""

    @field_validator("uncertainty", mode="before")
    @classmethod
    def _uncertain_pairs(cls, value: Any) -> Any:
        return tuple(value.items()) if isinstance(value, dict) else value

    @field_serializer("uncertainty")
    def _uncertain_table(self, value: tuple[tuple[str, Uncertain], ...]) -> dict[str, Any]:
        return {path: r.model_dump(exclude_none=True) for path, r in value}

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, channels: tuple[Channel, ...]) -> tuple[Channel, ...]:
        names = [c.name for c in channels]
        if len(set(names)) < len(names):
            raise ValueError(f"channel names must differ (results are per channel): {names}")
        if "referrals" in names:
            raise ValueError('"referrals" is the name of the referral leads in per-channel results')
        return channels

    @field_validator("trends", "seasonality", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        return tuple(value.items()) if isinstance(value, dict) else value

    @field_serializer("trends", "seasonality")
    def _as_table(self, value: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
        return {path: (list(v) if isinstance(v, tuple) else v) for path, v in value}

    @property
    def planned(self) -> bool:
        """True if any lever changes over time (plan steps, trends or seasonality)."""
        return bool(self.plan or self.trends or self.seasonality)

    # --- derived figures -------------------------------------------------------------------------

    @property
    def funnel_conversion(self) -> float:
        """Probability that a contacted paid lead buys (product of the stage conversions)."""
        return math.prod(stage.conversion for stage in self.funnel)

    @property
    def leads_per_sale(self) -> float:
        """Paid leads contacted per sale, 1 / funnel conversion (inf if nobody buys)."""
        p = self.funnel_conversion
        return math.inf if p == 0 else 1.0 / p

    @property
    def referral_conversion(self) -> float:
        """Probability that a contacted referral lead buys."""
        m = self.referrals.conversion_multiplier if self.referrals else 1.0
        return min(1.0, self.funnel_conversion * m)

    @property
    def effective_churn(self) -> float:
        """Monthly churn with the service programme's effect, clipped to [0, 1]."""
        c = self.retention.monthly_churn
        if self.service_programme is not None:
            c *= self.service_programme.churn_multiplier()
        return min(1.0, max(0.0, c))

    @property
    def referral_rate_per_year(self) -> float:
        """Referral leads per active customer per year, with the programme's uplift."""
        if self.referrals is None:
            return 0.0
        up = self.service_programme.referral_uplift if self.service_programme else 0.0
        return self.referrals.per_customer_per_year * (1.0 + up)

    @property
    def repeat_margin_factor(self) -> float:
        """Factor on each repeat visit's margin from the programme."""
        return 1.0 + (self.service_programme.margin_uplift if self.service_programme else 0.0)

    @property
    def paid_leads_per_month(self) -> float:
        """Mean paid leads a month over all channels."""
        return sum(c.leads_per_month for c in self.channels)

    # --- files and changes -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (no None values, no empty plan), as written to TOML."""
        out = self.model_dump(mode="json", exclude_none=True)
        for key in ("plan", "trends", "seasonality", "uncertainty"):
            if not out.get(key):
                out.pop(key, None)
        return out

    def to_toml(self) -> str:
        """The scenario as TOML text; `load_scenario` of it gives an equal scenario."""
        return tomli_w.dumps(self.to_dict())

    def override(self, changes: dict[str, Any]) -> Scenario:
        """A new validated scenario with values changed at dotted paths.

        `{"sales_desk.staff": 8, "channels.0.cost_per_lead": 2000, "referrals": None}`; list items are
        addressed by index. Raises `ScenarioError` for an unknown path or an invalid value.
        """
        from sim.model import plan  # plan reads the lever catalogue, which reads this module

        data = self.model_dump(mode="json")
        for path, value in changes.items():
            plan.move_steps(data, path, value)
            paths.set_in(data, path, value, self.name)
        return parse_scenario(data, source=f"scenario {self.name!r}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def loc_is_season(loc: tuple[Any, ...]) -> bool:
    """True for the location of a seasonality's list of multipliers."""
    return len(loc) == 3 and loc[0] == "seasonality" and loc[2] == 1


def _plan_location(loc: tuple[Any, ...], data: dict[str, Any]) -> str | None:
    """A validation location inside the plan, trends or seasonality, named by the lever's path
    (`plan[1]."sales_desk.staff"`, `seasonality."channels.0.leads_per_month"[3]`); None elsewhere."""
    try:
        if loc[0] in ("trends", "seasonality", "uncertainty") and len(loc) >= 2 and isinstance(loc[1], int):
            path = list(data[loc[0]])[loc[1]]
            tail = f"[{loc[3]}]" if len(loc) > 3 and isinstance(loc[3], int) else ""
            return f'{loc[0]}."{path}"{tail}'
        if loc[0] == "plan" and len(loc) >= 4 and loc[2] == "values" and isinstance(loc[3], int):
            step = data["plan"][loc[1]]
            path = [k for k in step if k != "from_month"][loc[3]]
            return f'plan[{loc[1]}]."{path}"'
    except (KeyError, IndexError, TypeError):
        return None
    return None


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    """Validate a nested dict into a `Scenario`, raising `ScenarioError` on any problem."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a table of settings, got {type(data).__name__}")
    try:
        scenario = Scenario.model_validate(data)
    except RecursionError:
        raise ScenarioError(f"{source}: settings nested too deeply") from None
    except ValidationError as exc:
        problems = []
        errors = exc.errors(include_url=False)
        locs = [tuple(e["loc"]) for e in errors]
        seen: set[str] = set()
        for err in errors:
            loc = tuple(err["loc"])
            if err["type"] == "too_short" and any(o[: len(loc)] == loc and len(o) > len(loc) for o in locs):
                continue  # a list that is short because an item failed: the item's error says why
            path = _plan_location(tuple(err["loc"]), data) or paths.bracketed(tuple(err["loc"]))
            rule = err["msg"]
            if rule.startswith("Value error, "):
                rule = rule[len("Value error, ") :]
            rule = rule.replace("a valid tuple", "a list (an array in TOML)")
            if loc_is_season(err["loc"]) and err["type"] in ("too_short", "too_long"):
                rule = "needs 12 multipliers (January … December, or months 1 … 12)"
            if loc == ("start",):
                rule = "must be a calendar month written YYYY-MM (e.g. 2027-01)"
            if path in seen:
                continue  # one problem per place (a union reports each of its types)
            seen.add(path)
            value = None if err["type"] == "missing" else err.get("input")
            problems.append((path, value, rule))
        text = "; ".join(f"{p}: {r}" if v is None else f"{p} = {_short(v)}: {r}" for p, v, r in problems)
        raise ScenarioError(f"{source}: {text}", problems) from None
    if scenario.planned:
        from sim.model import plan  # plan reads the lever catalogue, which reads this module

        plan.check(scenario, source)
    if scenario.uncertainty:
        from sim.model import uncertainty  # reads the lever catalogue, which reads this module

        uncertainty.check(scenario, source)
    return scenario


def loads_scenario(text: str, source: str = "scenario") -> Scenario:
    """Parse TOML text into a `Scenario` (`source` names it in error messages)."""
    if not isinstance(text, str):
        hint = " (decode bytes first, or use load_scenario for a file)" if isinstance(text, bytes) else ""
        raise ScenarioError(f"{source}: expected TOML text, got {type(text).__name__}{hint}")
    if len(text.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        raise ScenarioError(f"{source}: file is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: not valid TOML: nested too deeply") from None
    return parse_scenario(data, source=source)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file."""
    p = Path(path)
    try:
        if p.is_file() and p.stat().st_size > MAX_FILE_BYTES:
            raise ScenarioError(f"{p}: file is larger than {MAX_FILE_BYTES // 1024} KiB")
        if p.exists() and not p.is_file() and not p.is_dir():
            raise ScenarioError(f"{p}: not a regular file")
        raw = p.read_bytes()
    except ValueError as exc:  # e.g. a NUL byte in the path
        if isinstance(exc, ScenarioError):
            raise
        raise ScenarioError(f"{path!r}: not a usable file name ({exc})") from None
    except FileNotFoundError:
        raise ScenarioError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ScenarioError(f"{p}: is a directory, not a scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(f"{p}: file is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark from a Windows editor is fine
    except UnicodeDecodeError:
        raise ScenarioError(f"{p}: not UTF-8 text") from None
    return loads_scenario(text, source=str(p))
