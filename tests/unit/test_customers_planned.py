"""The customer-side levers that can be planned (docs/model.md, "Plans over time"), in the engine's draws
(`sim.engine.customers.draw_batch`) and the lifetime tables (`sim.accounting.lifetimes`):

- problems by the month of the VISIT (the first purchase included): p(m), cost(m) booked in month m, and
  q(m) at the check at the end of the next age month;
- the service programme's tolerated contacts and maximum churn cut: the churn multiplier of month m;
- cohort levers by the PURCHASE month m0, fixed for life: the streams' intervals and adoptions, and (customers
  differ) θ ~ Beta(alpha(m0), beta(m0)) with churn min(1, θ c(m) / E_{m0}[θ]); existing customers take
  month 1's.

Exact checks where the answer is known (costs, the months of visits, leaving by the visit's month's q),
the draws' means against the tables' exact expectations (the detectable bias is said at each test), and
plans equal to the base giving the unplanned draws bit for bit.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import integrate, special, stats

import sim
from sim.accounting.lifetimes import (
    cohort_ages,
    cohort_groups,
    cohort_key,
    cohort_ltv,
    cohort_tables,
    lifetime_tables,
    month_values,
)
from sim.engine.customers import draw_batch
from sim.model import plan
from sim.model.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
SALON = sim.load_scenario(ROOT / "scenarios" / "salon_care_programme.toml")
BEAUTY = sim.load_scenario(ROOT / "scenarios" / "beauty_salon.toml")
PROBLEMS = BEAUTY.model_dump(mode="json")["problems"]  # p 3 %, cost 800, q = 0.2 + 0.05 × 3 days = 0.35
LEDGER_KEYS = ("repeat_visits", "margin_repeat", "revenue", "active_customers", "problems", "problem_cost")


def fresh_ledger(H: int) -> dict[str, np.ndarray]:
    return {k: np.zeros(H) for k in LEDGER_KEYS}


def rngs(seed: int) -> list[np.random.Generator]:
    return [np.random.default_rng([seed, i]) for i in range(4)]


def draw(sc: Scenario, n: int, month0: int, seed: int) -> tuple[dict[str, np.ndarray], Any]:
    """Draw `n` customers of `month0` (-1: existing customers) into a fresh ledger."""
    led = fresh_ledger(sc.horizon_months)
    a, life, prob, ex = rngs(seed)
    batch = draw_batch(
        sc, lifetime_tables(sc), n, month0, led, a, life, prob, rng_existing=ex if month0 < 0 else None
    )
    return led, batch


def by_month(sc: Scenario, figure) -> np.ndarray:
    return np.array([figure(s) for s in plan.months(sc)], dtype=float)


RICH = SALON.override(
    {
        "horizon_months": 24,
        "discount_rate_annual": 0.12,
        "retention.monthly_churn": 0.05,
        "problems": PROBLEMS,
        "plan": [
            {
                "from_month": 5,
                "problems.visit_problem_probability": 0.2,
                "problems.cost_per_problem": 1500.0,
                "repeat.1.adoption": 0.8,
            },
            {
                "from_month": 9,
                "problems.leave_probability_base": 0.6,
                "repeat.1.interval_months": 3,
                "service_programme.max_churn_reduction": 0.6,
                "retention.monthly_churn": 0.1,
            },
            {
                "from_month": 14,
                "problems.resolution_days": 10.0,
                "problems.visit_problem_probability": 0.05,
                "service_programme.tolerated_contacts_per_month": 1.0,
            },
        ],
        "trends": {"problems.cost_per_problem": 0.02},
    }
)
"""Every customer-side lever planned: problems' p 3 % → 20 % (month 5) → 5 % (month 14), their cost 800 →
1500 with a 2 % a month trend, q 0.35 → 0.75 (month 9) → 1 (month 14); the second stream's adoption 0.3 →
0.8 (month 5) and interval 2 → 3 months (month 9); the programme's churn cut 0.3 → 0.6 (month 9) and its
tolerated contacts 2 → 1 (month 14), with churn 5 % → 10 % (month 9)."""


def exact_by_age(sc: Scenario, month0: int, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Exact mean and standard deviation of the ledger's figures of `n` new customers of `month0`, by age
    month 0 … H-1-month0, from the lifetime tables (`cohort_ages`: each pattern's deterministic flows × its
    survival). A customer's figure X of age k is x_p(k) × 1{there at the end of k} (the problems: a
    binomial of the visits, independent of being there, since a problem makes the customer leave only at a
    later check), so E[X²] is exact too."""
    H = sc.horizon_months
    A = H - 1 - month0
    t = lifetime_tables(sc)
    own = cohort_tables(sc, t, month0)
    ages = cohort_ages(sc, t, month0, A + 1)
    prob, S = own.pattern_prob, ages.survival
    months = plan.months(sc)
    k = np.arange(A + 1)
    p = np.array([months[month0 + i].problems.visit_problem_probability for i in k])
    cost = np.array([months[month0 + i].problems.cost_per_problem for i in k])
    visits = ages.visits + (k == 0)[None, :]  # the first purchase is a visit

    def moments(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = prob @ (first * S)
        var = prob @ (second * S) - mean**2
        return n * mean, np.sqrt(n * np.maximum(var, 0.0))

    out = {
        "active_customers": moments(np.ones_like(S), np.ones_like(S)),
        "repeat_visits": moments(ages.visits, ages.visits**2),
        "margin_repeat": moments(ages.margin * (k >= 1), (ages.margin * (k >= 1)) ** 2),
    }
    problems = moments(visits * p, visits * p * (1 - p) + (visits * p) ** 2)
    out["problems"] = problems
    out["problem_cost"] = (problems[0] * cost, problems[1] * cost)
    return out


@pytest.mark.parametrize("month0", [1, 6, 12, 20])
def test_draws_follow_the_planned_tables_month_by_month(month0: int):
    # 100,000 customers of one purchase month; each month's figure within 5 exact standard deviations of
    # the tables' exact mean. Relative sd: active customers 0.1-0.7 %, problems 1-6 % (a few hundred
    # problems a month), so a bias of about 3 % in the survival or 5-30 % in a month's problems is caught.
    # The mistakes it must catch lie far outside (checked below): the problems' p, cost and q kept at the
    # base values for life (the rule before this session), or the purchase month's problem values for life.
    n = 100_000
    sc = RICH
    led, _ = draw(sc, n, month0, seed=month0)
    want = exact_by_age(sc, month0, n)
    H = sc.horizon_months
    for key, (mean, sd) in want.items():
        got = led[key][month0:]
        lo = 1 if key == "margin_repeat" else 0  # the purchase month's margin is booked at the sale
        np.testing.assert_array_less(np.abs(got - mean)[lo:], 5 * sd[lo:] + 1e-6, err_msg=key)
    assert led["problems"][:month0].sum() == 0 and led["active_customers"][:month0].sum() == 0
    # the wrong rules, far outside the band
    steps = [
        {k: v for k, v in step.items() if not k.startswith("problems.")} for step in sc.model_dump()["plan"]
    ]
    base_problems = sc.override({"plan": steps, "trends": {}})
    purchase_month = sc.override(
        {"plan": steps, "trends": {}, "problems": plan.months(sc)[month0].problems.model_dump()}
    )
    for name, wrong in (("base problems", base_problems), ("purchase month's problems", purchase_month)):
        if name == "purchase month's problems" and month0 >= 14:
            continue  # the last step is the purchase month's: the same values from then on (but the trend)
        other = exact_by_age(wrong, month0, n)
        z = [
            np.max(np.abs(led[key][month0:] - other[key][0]) / np.maximum(want[key][1], 1.0))
            for key in ("problems", "problem_cost", "active_customers")
        ]
        assert max(z) > 10, (name, z)
    assert H - month0 == want["active_customers"][0].size


@pytest.mark.parametrize("month0", [2, 7, 15, 23])
def test_draws_ltv_mean_is_cohort_ltv(month0: int):
    # 60,000 customers: the mean per-customer LTV (realised within the horizon + the expected remainder of
    # the cohort's own streams on the last month's values) within 5 standard errors of `cohort_ltv`, net and
    # gross. The se is 0.2-0.5 % of the LTV, so a bias of about 2.5 % is caught. Caught mistakes: the
    # problems' cost of the base instead of the visit's month (the net LTV moves by 150-700 per customer,
    # 10-50 se), the remainder of month 1's streams for a later cohort (the second stream's adoption 0.3
    # instead of 0.8: about 10 % of the LTV).
    n = 60_000
    sc = RICH
    t = lifetime_tables(sc)
    net, gross = cohort_ltv(sc, t)
    _, batch = draw(sc, n, month0, seed=100 + month0)
    for got, want in ((batch.ltv, net[month0]), (batch.ltv_gross, gross[month0])):
        se = got.std() / math.sqrt(n)
        assert abs(got.mean() - want) < 5 * se, (month0, got.mean(), want, se)
    assert np.all(batch.ltv <= batch.ltv_gross)
    # the net LTV falls by the problems' cost of the visits' months: the wrong base cost is far off
    steps = [
        {k: v for k, v in s.items() if k != "problems.cost_per_problem"} for s in sc.model_dump()["plan"]
    ]
    base_cost = cohort_ltv(sc.override({"plan": steps, "trends": {}}))[0][month0]
    assert abs(base_cost - net[month0]) > 10 * batch.ltv.std() / math.sqrt(n)


def test_problem_cost_is_the_visits_months_cost_exactly():
    # Every problem booked in month m costs cost(m) = the plan's value of month m (a step and a trend), for
    # new customers (their first purchase's problem in the purchase month) and existing ones.
    sc = RICH.override({"existing_customers.count": 5000})
    cost = by_month(sc, lambda s: s.problems.cost_per_problem)
    assert len(set(cost.tolist())) > 10, "a step and a trend: the cost changes every month"
    for month0, seed in ((-1, 1), (0, 2), (4, 3), (11, 4), (23, 5)):
        led, batch = draw(sc, 20_000, month0, seed)
        first = max(month0, 0)
        assert led["problems"][first:].min() > 0, "problems in every month"
        np.testing.assert_array_equal(led["problem_cost"], led["problems"] * cost)
        if month0 == sc.horizon_months - 1:
            # Bought in the last month: a customer's gross − net LTV is its purchase month's contacts, the
            # cost of its purchase's problem (0 or 1) and the remainder's cost to serve, which depends on its
            # adoption pattern only. So within a pattern the customers with a problem are exactly cost(H)
            # apart from those without: every distinct spread has a partner cost(H) above or below it.
            spread = np.unique(np.round(batch.ltv_gross - batch.ltv, 6))
            assert spread.size == 4, spread  # two patterns × with or without a problem
            c = cost[-1]
            partner = [
                np.isclose(spread, x + c, rtol=0, atol=1e-5).any()
                or np.isclose(spread, x - c, rtol=0, atol=1e-5).any()
                for x in spread
            ]
            assert all(partner), (spread, c)
    # a cost of the purchase month for life would book cost(m0) in later months: month 0's cost ≠ month 20's
    assert cost[0] != cost[20]


def test_problem_probability_is_the_visits_months():
    # Given the visits that happened in month m (V_m, the first purchases included), the problems of month m
    # are binomial(V_m, p(m)) exactly (a problem does not change whether the customer is there at the end
    # of its own month). z-scores over 24 months with 20,000-60,000 visits a month: |z| < 5 everywhere,
    # which catches a bias of about 0.2 percentage points in p; p of the base (3 %) instead of 20 % in
    # months 5-13 is more than 50 sd off.
    sc = RICH.override({"existing_customers.count": 30_000})
    p = by_month(sc, lambda s: s.problems.visit_problem_probability)
    for month0, n in ((-1, 30_000), (2, 30_000)):
        led, _ = draw(sc, n, month0, seed=9)
        visits = led["repeat_visits"].copy()
        if month0 >= 0:
            visits[month0] += n
        ok = visits > 0
        z = (led["problems"] - visits * p)[ok] / np.sqrt(visits * p * (1 - p))[ok]
        assert np.abs(z).max() < 5, z
        base = sc.problems.visit_problem_probability
        z_base = (led["problems"] - visits * base)[ok] / np.sqrt(visits * base * (1 - base))[ok]
        assert np.abs(z_base).max() > 50


def test_leaving_follows_the_visits_months_q_at_the_next_check():
    # One monthly visit, no churn: the only way to leave is a problem. q = 0 before month 7 and 1 from it
    # (leave_probability_base 0 → 1). A problem at a visit in month m makes the customer leave at the check
    # at the end of month m + 1 with q(m): so nobody leaves through the end of month 7 (the check at the
    # end of month 7 follows the visits of month 6, with q = 0 — q of the check's month would make every
    # customer with a problem in month 6 leave), and from then on exactly the customers with a problem in
    # month m leave at the end of month m + 1 (one visit a month: one problem at most).
    sc = SALON.override(
        {
            "horizon_months": 18,
            "retention.monthly_churn": 0.0,
            "repeat": [{"name": "Visit", "interval_months": 1, "revenue": 2000.0, "margin": 1000.0}],
            "problems": {
                **PROBLEMS,
                "visit_problem_probability": 0.1,
                "leave_probability_base": 0.0,
                "leave_probability_per_day": 0.0,
            },
            "plan": [{"from_month": 7, "problems.leave_probability_base": 1.0}],
            "existing_customers.count": 10_000,
        }
    )
    q = by_month(sc, lambda s: s.problems.leave_probability)
    assert q[5] == 0.0 and q[6] == 1.0
    for month0 in (-1, 1):
        led, batch = draw(sc, 10_000, month0, seed=4)
        active, problems = led["active_customers"], led["problems"]
        first = max(month0, 0)
        # months 1 … 7 (0-based 0 … 6): nobody leaves
        assert np.all(active[first:7] == 10_000), active
        # from the end of month 8 (0-based 7) on: active(m + 1) = active(m) − problems(m), m >= 6
        np.testing.assert_array_equal(active[7:], active[6:-1] - problems[6:-1])
        assert problems[6:-1].min() > 200  # hundreds leave each month
        # leaving times are the ends of the months whose check fails
        left = np.isfinite(batch.stay_until)
        assert np.all(batch.stay_until[left] >= 8 * 30.4375 - 1e-9)


def test_adoption_is_the_purchase_months_for_life():
    # Two streams: a monthly one everyone adopts and one every two months whose adoption is 0.3 in months 1-6
    # (a step from the base 0.5 in month 1) and 0.9 from month 7. No churn, no problems: the second stream's
    # adopters of a cohort are its visits at age 2 minus the first stream's n; the same customers visit at
    # every even age, before and after the step (fixed for life), so the count is exactly the same at ages 2,
    # 6 and 12. 20,000 customers: the share within 5 sd (0.3-0.35 points) of the purchase month's adoption;
    # the new rate applied to a cohort bought before the step (0.9 instead of 0.3) would be 180 sd off.
    sc = SALON.override(
        {
            "horizon_months": 24,
            "retention.monthly_churn": 0.0,
            "problems": None,
            "repeat.1.adoption": 0.5,
            "plan": [
                {"from_month": 1, "repeat.1.adoption": 0.3},
                {"from_month": 7, "repeat.1.adoption": 0.9},
            ],
            "existing_customers.count": 20_000,
        }
    )
    n = 20_000
    for month0, rate in ((2, 0.3), (9, 0.9)):
        led, _ = draw(sc, n, month0, seed=month0)
        hair = led["repeat_visits"][month0 + 2 :: 2] - n  # even ages 2, 4, …: the second stream's visits
        assert np.all(hair == hair[0]), hair
        assert abs(hair[0] / n - rate) < 5 * math.sqrt(rate * (1 - rate) / n), (month0, hair[0] / n)
        assert cohort_tables(sc, lifetime_tables(sc), month0).adoption[1] == rate
    # existing customers take month 1's adoption (0.3, not the base 0.5: 56 sd off), for life: their second
    # stream's visits over any two months are its adopters
    led, _ = draw(sc, n, -1, seed=5)
    pairs = (led["repeat_visits"] - n).reshape(-1, 2).sum(axis=1)
    assert np.all(pairs == pairs[0])
    assert abs(pairs[0] / n - 0.3) < 5 * math.sqrt(0.3 * 0.7 / n)


def test_interval_is_the_purchase_months_for_life():
    # The second stream's interval is 2 months in months 1-6 (a step from the base 5 in month 1), 3 from month
    # 7 and 1 from month 13, adopted by everyone; no churn, no problems: every visit is due exactly, a
    # cohort's on its purchase month's interval for life (bought in month 3: ages 2, 4, 6, …; in month 8: ages
    # 3, 6, 9, …; in month 14: every month), the existing customers' on month 1's (2: each customer once in
    # any two months).
    sc = SALON.override(
        {
            "horizon_months": 30,
            "retention.monthly_churn": 0.0,
            "problems": None,
            "repeat.1.adoption": 1.0,
            "repeat.1.interval_months": 5,
            "plan": [
                {"from_month": 1, "repeat.1.interval_months": 2},
                {"from_month": 7, "repeat.1.interval_months": 3},
                {"from_month": 13, "repeat.1.interval_months": 1},
            ],
            "existing_customers.count": 1000,
        }
    )
    n = 1000
    H = sc.horizon_months
    for month0, interval in ((2, 2), (7, 3), (13, 1)):
        led, _ = draw(sc, n, month0, seed=1)
        ages = np.arange(H - month0)
        due = (ages >= 1) & (ages % interval == 0)
        expected = np.zeros(H)
        expected[month0:] = n * (ages >= 1) + n * due  # the first stream monthly, the second by its interval
        np.testing.assert_array_equal(led["repeat_visits"], expected, err_msg=str(month0))
        hair = plan.months(sc)[month0].repeat[1].margin
        manicure = plan.months(sc)[month0].repeat[0].margin
        np.testing.assert_allclose(led["margin_repeat"][month0:], n * (ages >= 1) * manicure + n * due * hair)
    led, _ = draw(sc, n, -1, seed=2)
    second = led["repeat_visits"] - n
    np.testing.assert_array_equal(second.reshape(-1, 2).sum(axis=1), n)


def sbg(sc: Scenario, alpha: float, beta: float, **changes: Any) -> Scenario:
    data = sc.model_dump(mode="json")
    data["retention"] = {"model": "sbg", "alpha": alpha, "beta": beta}
    data.update(changes)
    return sim.parse_scenario(data)


SBG_STEP = sbg(
    SALON.override({"service_programme": None}),
    0.5,
    5.0,
    horizon_months=30,
    discount_rate_annual=0.12,
    problems=None,
    plan=[{"from_month": 8, "retention.alpha": 2.0}],
)
"""Customers differ: θ ~ Beta(0.5, 5) for those who buy in months 1-7 (E[θ] = 9.1 %, the monthly churn
by default), Beta(2, 5) from month 8 (E = 28.6 %): the later cohorts' churn min(1, θ × 9.1 % / 28.6 %)."""


def mixed_survival(alpha: float, beta: float, scale: float, t: np.ndarray) -> np.ndarray:
    """E[(1 − min(1, θ s))^t], θ ~ Beta(alpha, beta), by adaptive quadrature (independent of the tables)."""
    out = []
    for k in t.tolist():
        f = lambda x, k=k: (1.0 - min(1.0, x * scale)) ** k * stats.beta.pdf(x, alpha, beta)  # noqa: E731
        out.append(integrate.quad(f, 0.0, 1.0, limit=200, points=[1e-6, 1e-3, 0.1])[0])
    return np.array(out)


@pytest.mark.parametrize("month0", [3, 10, -1])
def test_sbg_theta_is_the_purchase_months_for_life(month0: int):
    # 100,000 customers: each month's active count within 5 sd (sqrt(n S (1 − S)) <= 158) of the cohort's
    # own mixture — a survival bias of 0.8 points is caught. Month 4's cohort: Beta(0.5, 5) at scale 1,
    # S(t) = B(0.5, 5 + t) / B(0.5, 5); month 11's: Beta(2, 5) at scale E_1[θ] / E_11[θ] = 0.318; existing
    # customers: month 1's. The wrong rules (the other cohort's θ, or Beta(2, 5) scaled by the base mean)
    # are checked to be more than 10 sd away.
    n = 100_000
    sc = SBG_STEP
    H = sc.horizon_months
    led, _ = draw(sc, n, month0, seed=20 + month0)
    first = max(month0, 0)
    t = np.arange(first - month0, H - month0, dtype=float)
    mean = 0.5 / 5.5
    closed = np.exp(special.betaln(0.5, 5.0 + t) - special.betaln(0.5, 5.0))
    later = mixed_survival(2.0, 5.0, mean / (2.0 / 7.0), t)
    right, wrong = (later, closed) if month0 >= 7 else (closed, later)
    active = led["active_customers"][first:]
    sd = np.sqrt(n * right * (1 - right))
    np.testing.assert_array_less(np.abs(active - n * right), 5 * sd + 1e-9)
    unscaled = mixed_survival(2.0, 5.0, 1.0, t)
    for curve in (wrong, unscaled):
        assert np.max(np.abs(active - n * curve) / np.maximum(sd, 1.0)) > 10
    # the tables say the same (their quadrature against the adaptive integral)
    mix = cohort_tables(sc, lifetime_tables(sc), month0).calendar.mixture
    np.testing.assert_allclose(mix.survival(np.arange(month0 + 1, H))[first - month0 :], right, rtol=1e-7)
    assert (mix.alpha, mix.beta) == ((2.0, 5.0) if month0 >= 7 else (0.5, 5.0))


def test_sbg_ltv_mean_is_cohort_ltv_with_the_cohorts_theta():
    # 60,000 customers per cohort, the mean per-customer LTV (each customer's remainder given its own θ of
    # its cohort's Beta) within 5 se of `cohort_ltv` (se 0.3-0.6 %: a bias of about 3 % is caught); the two
    # cohorts' LTVs differ by far more (Beta(2, 5) scaled to churn 9.1 % keeps customers longer).
    n = 60_000
    sc = SBG_STEP
    t = lifetime_tables(sc)
    net, gross = cohort_ltv(sc, t)
    for month0 in (2, 12):
        _, batch = draw(sc, n, month0, seed=month0)
        for got, want in ((batch.ltv, net[month0]), (batch.ltv_gross, gross[month0])):
            se = got.std() / math.sqrt(n)
            assert abs(got.mean() - want) < 5 * se, (month0, got.mean(), want, se)
    assert abs(net[12] - net[2]) > 0.1 * abs(net[2])
    # each cohort's tables: the same as a scenario whose θ is that cohort's from the start
    for month0, alpha in ((2, 0.5), (12, 2.0)):
        alone = sbg(
            SALON.override({"service_programme": None}),
            alpha,
            5.0,
            horizon_months=30,
            discount_rate_annual=0.12,
            problems=None,
        ).override({"retention.monthly_churn": 0.5 / 5.5})
        assert lifetime_tables(sc, month0).ltv == pytest.approx(lifetime_tables(alone).ltv, rel=1e-9)


def test_programme_tolerance_and_churn_cut_follow_the_month():
    # The churn of month m is monthly_churn(m) × (1 − d(m) (1 − (1 − k(m)/k*(m))²)) with the month's
    # tolerated contacts k* and churn cut d; the contacts' cost (contacts × cost per contact) does not move.
    sc = RICH
    mv = month_values(sc)
    c = by_month(sc, lambda s: s.retention.monthly_churn)
    k = by_month(sc, lambda s: s.service_programme.contacts_per_month)
    tol = by_month(sc, lambda s: s.service_programme.tolerated_contacts_per_month)
    d = by_month(sc, lambda s: s.service_programme.max_churn_reduction)
    np.testing.assert_allclose(mv.churn, c * (1 - d * (1 - (1 - k / tol) ** 2)), rtol=1e-15)
    assert len(set(mv.churn.tolist())) == 3  # 5 % × 0.775, 10 % × 0.55, 10 % × 0.4
    np.testing.assert_array_equal(mv.contact_cost, np.full(sc.horizon_months, 60.0))
    # and the engine's customers live on it: with nothing else planned, the active customers of a cohort
    # follow Π (1 − churn(m)) (100,000 customers, 5 sd: a bias of 0.8 points of survival is caught; the
    # base multiplier 0.775 for life is more than 20 sd off by month 20)
    only = SALON.override(
        {
            "horizon_months": 24,
            "problems": None,
            "plan": [
                {"from_month": 6, "service_programme.max_churn_reduction": 0.9},
                {"from_month": 12, "service_programme.tolerated_contacts_per_month": 4.0},
            ],
        }
    )
    n = 100_000
    led, _ = draw(only, n, 1, seed=3)
    churn = month_values(only).churn
    S = np.concatenate([[1.0], np.cumprod(1.0 - churn[2:])])
    sd = np.sqrt(n * S * (1 - S))
    np.testing.assert_array_less(np.abs(led["active_customers"][1:] - n * S), 5 * sd + 1e-9)
    base = np.concatenate([[1.0], np.cumprod(np.full(22, 1.0 - only.effective_churn))])
    assert np.max(np.abs(led["active_customers"][1:] - n * base) / np.maximum(sd, 1.0)) > 20


SAME = {
    "problems.visit_problem_probability": PROBLEMS["visit_problem_probability"],
    "problems.cost_per_problem": PROBLEMS["cost_per_problem"],
    "problems.leave_probability_base": PROBLEMS["leave_probability_base"],
    "problems.resolution_days": PROBLEMS["resolution_days"],
    "repeat.1.adoption": 0.3,
    "repeat.1.interval_months": 2,
    "service_programme.max_churn_reduction": 0.3,
    "service_programme.tolerated_contacts_per_month": 2.0,
}


@pytest.mark.parametrize("differ", [False, True])
def test_a_plan_of_the_base_values_draws_the_unplanned_futures_bit_for_bit(differ: bool):
    base = SALON.override(
        {"problems": PROBLEMS, "existing_customers.count": 300, "discount_rate_annual": 0.1}
    )
    steps = dict(SAME)
    if differ:
        base = sbg(base, 0.668, 3.806)
        steps.update({"retention.alpha": 0.668, "retention.beta": 3.806})
    planned = base.override({"plan": [{"from_month": 4, **steps}]})
    assert planned.planned
    H = base.horizon_months
    t, tp = lifetime_tables(base), lifetime_tables(planned)
    assert tp.ltv == t.ltv and tp.ltv_gross == t.ltv_gross
    np.testing.assert_allclose(cohort_ltv(planned, tp)[0], t.ltv, rtol=1e-12)  # summed in another order
    assert len(cohort_groups(planned, tp)) == 1
    for month0, n in ((-1, 300), (0, 500), (7, 500), (H - 1, 200)):
        led, led_p = fresh_ledger(H), fresh_ledger(H)
        ex = month0 < 0
        a, life, prob, e = rngs(month0 + 10)
        want = draw_batch(base, t, n, month0, led, a, life, prob, rng_existing=e if ex else None)
        a, life, prob, e = rngs(month0 + 10)
        got = draw_batch(planned, tp, n, month0, led_p, a, life, prob, rng_existing=e if ex else None)
        for key in LEDGER_KEYS:
            np.testing.assert_array_equal(led_p[key], led[key], err_msg=f"{month0} {key}")
        np.testing.assert_array_equal(got.stay_until, want.stay_until)
        np.testing.assert_allclose(got.ltv, want.ltv, rtol=1e-12)
        np.testing.assert_allclose(got.ltv_gross, want.ltv_gross, rtol=1e-12)


def test_cohort_groups_and_the_cache():
    sc = RICH
    t = lifetime_tables(sc)
    groups = cohort_groups(sc, t)
    # months 1-4: adoption 0.3, interval 2; 5-8: 0.8, 2; 9-24: 0.8, 3
    assert [g[0].tolist() for g in groups] == [list(range(4)), list(range(4, 8)), list(range(8, 24))]
    assert groups[0][1] is t.final
    assert cohort_tables(sc, t, 5) is groups[1][1], "built once, cached in the tables"
    assert cohort_tables(sc, t, -1) is t.final, "existing customers: month 1's"
    for months, own in groups:
        assert own.cohort == cohort_key(plan.months(sc)[months[0]])
        assert own.final is own
    # a cohort's own tables: the same as the cohort's lifetime_tables' final
    assert lifetime_tables(sc, 10).final.ltv == pytest.approx(groups[2][1].ltv, rel=1e-12)
    # per-month problem values
    mv = month_values(sc)
    np.testing.assert_array_equal(mv.problem_p, by_month(sc, lambda s: s.problems.visit_problem_probability))
    np.testing.assert_array_equal(mv.problem_leave, by_month(sc, lambda s: s.problems.leave_probability))
    np.testing.assert_array_equal(mv.problem_keep, 1.0 - mv.problem_p * mv.problem_leave)
    assert mv.keep == mv.problem_keep[-1] and mv.cost_per_problem == mv.problem_cost[-1]
