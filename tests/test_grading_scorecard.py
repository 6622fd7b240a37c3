"""Balanced scorecard (SPEC §4.4): completion, dekad balance, special periods, pro rata, quotas."""

from __future__ import annotations

import datetime as dt

import pytest

from crmtool.config import SpecialPeriod
from crmtool.errors import AnalysisError, ConfigError, UsageError
from crmtool.facts import resolve_period
from crmtool.grading import scorecard
from crmtool.grading.scorecard import COLUMNS, PERIOD_COLUMNS, special_ranges
from tests.conftest import d, insert, make_store


def o(order_id, date, customer, qty):
    return dict(order_id=order_id, order_date=d(date), customer_code=customer, quantity=qty)


def plan(customer, month, volume, category="all"):
    return dict(customer_id=customer, month=d(month), volume=volume, category=category)


def by_id(table):
    return {r["customer_id"]: r for r in table.to_pylist()}


@pytest.fixture
def march(store):
    insert(store, "orders", [
        o("a1", "2024-03-05", "S1", 30), o("a2", "2024-03-15", "S1", 30), o("a3", "2024-03-25", "S1", 40),
        o("b1", "2024-03-10", "S2", 100),
        o("c1", "2024-03-01", "S3", 20), o("c2", "2024-03-11", "S3", 20), o("c3", "2024-03-21", "S3", 20),
        o("x1", "2024-04-02", "S3", 999),  # another month: ignored
    ])
    insert(store, "plans", [plan("S1", "2024-03-01", 100), plan("S2", "2024-03-01", 200), plan("S4", "2024-03-01", 50),
                            # per-category plans are ignored when an all-products plan exists
                            plan("S1", "2024-03-01", 70, "diesel")])
    return store


def test_month_indicators_by_hand(march):
    # 2024-03 is touched by no default special period -> special null, its .15 shared out pro rata
    res = scorecard(march.con, resolve_period(march.con, month="2024-03"), march.settings)
    assert res.table.column_names[:9] == COLUMNS
    r = by_id(res.table)
    assert set(r) == {"S1", "S2", "S3", "S4"}  # S4: a plan and no orders
    # completion = 100 · min(volume / plan, 1)
    assert [r[k]["completion"] for k in ("S1", "S2", "S3", "S4")] == pytest.approx([100, 50, 0, 0])
    assert r["S3"]["no_plan"] and not r["S1"]["no_plan"]
    # balance: S1 shares .3 .3 .4 -> Σ|s − 1/3| = 4/30; 100 · (1 − (4/30)/(4/3)) = 90
    # S2 all in one dekad -> 0; S3 even -> 100; S4 no volume -> 0
    assert [r[k]["balance"] for k in ("S1", "S2", "S3", "S4")] == pytest.approx([90, 0, 100, 0])
    # volume p: 0 (S4) 1/4, 60 (S3) 2/4, 100 (S1, S2 tie) 4/4
    assert [r[k]["volume"] for k in ("S1", "S2", "S3", "S4")] == pytest.approx([100, 100, 50, 25])
    assert all(r[k]["special"] is None for k in r)
    # totals with weights .35/.15/.35 over .85:
    # S1 (35 + 13.5 + 35)/.85; S2 (17.5 + 35)/.85; S3 (15 + 17.5)/.85; S4 8.75/.85
    assert [r[k]["total"] for k in ("S1", "S2", "S3", "S4")] == pytest.approx(
        [83.5 / .85, 52.5 / .85, 32.5 / .85, 8.75 / .85])
    # quotas 10/20/30/rest on (rank − 1)/4 = 0, .25, .5, .75 -> 3A, 2A, A, B
    assert [r[k]["rank"] for k in ("S1", "S2", "S3", "S4")] == [1, 2, 3, 4]
    assert [r[k]["grade"] for k in ("S1", "S2", "S3", "S4")] == ["3A", "2A", "A", "B"]
    assert r["S1"]["month"] == "2024-03" and r["S1"]["plan_t"] == pytest.approx(100)
    assert any("pro rata" in line for line in res.lines)


def test_special_period_and_its_weight(tmp_path):
    store = make_store(tmp_path, {"scorecard": {"special_periods": [{"name": "x", "start": "06-11", "end": "06-20"}]}})
    insert(store, "orders", [o("1", "2024-06-05", "T1", 10), o("2", "2024-06-15", "T2", 10)])
    r = by_id(scorecard(store.con, resolve_period(store.con, month="2024-06"), store.settings).table)
    # special volume: T1 0 -> p 1/2 -> 50; T2 10 -> 100. volume tie -> 100 both; no plan; one dekad -> 0
    assert (r["T1"]["special"], r["T2"]["special"]) == pytest.approx((50, 100))
    # total = .35·0 + .15·0 + .35·100 + .15·special
    assert (r["T1"]["total"], r["T2"]["total"]) == pytest.approx((42.5, 50))
    assert r["T2"]["special_t"] == pytest.approx(10)
    store.close()


def test_special_ranges_yearly_once_and_over_new_year():
    sp = [SpecialPeriod("winter", "12-20", "01-10"), SpecialPeriod("once", "2024-06-01", "2024-06-03"),
          SpecialPeriod("feb", "02-25", "02-29")]
    assert special_ranges(sp, dt.date(2025, 1, 1)) == [(dt.date(2025, 1, 1), dt.date(2025, 1, 10))]
    assert special_ranges(sp, dt.date(2024, 12, 1)) == [(dt.date(2024, 12, 20), dt.date(2024, 12, 31))]
    assert special_ranges(sp, dt.date(2024, 6, 1)) == [(dt.date(2024, 6, 1), dt.date(2024, 6, 3))]
    assert special_ranges(sp, dt.date(2025, 6, 1)) == []
    assert special_ranges(sp, dt.date(2025, 2, 1)) == [(dt.date(2025, 2, 25), dt.date(2025, 2, 28))]
    assert special_ranges(sp, dt.date(2024, 3, 1)) == []
    with pytest.raises(ConfigError, match="MM-DD"):
        special_ranges([SpecialPeriod("bad", "June", "07-01")], dt.date(2024, 6, 1))


def test_quarter_averages_over_all_months(march):
    res = scorecard(march.con, resolve_period(march.con, "2024-12-31"), march.settings, quarter="2024Q1")
    assert res.table.column_names[:9] == PERIOD_COLUMNS
    r = by_id(res.table)
    # only March has data: every mean is the March value / 3 (January and February count 0)
    assert r["S1"]["total"] == pytest.approx(83.5 / .85 / 3)
    assert r["S1"]["balance"] == pytest.approx(30)
    assert r["S1"]["period"] == "2024Q1" and r["S1"]["months_in_set"] == 1
    assert r["S1"]["special"] is None  # no special period in Q1
    assert [r[k]["grade"] for k in ("S1", "S2", "S3", "S4")] == ["3A", "2A", "A", "B"]
    # April has S3 only: in Q2 S3 is the only customer
    q2 = scorecard(march.con, resolve_period(march.con, "2024-12-31"), march.settings, quarter="2024Q2").table
    assert q2.column("customer_id").to_pylist() == ["S3"]


def test_year_and_errors(march):
    period = resolve_period(march.con, "2024-12-31")
    yr = by_id(scorecard(march.con, period, march.settings, year="2024").table)
    # 12 months; S3 in the set in March and April
    assert yr["S3"]["months_in_set"] == 2 and yr["S1"]["period"] == "2024"
    with pytest.raises(UsageError):
        scorecard(march.con, period, march.settings, quarter="2024Q1", year="2024")
    with pytest.raises(UsageError):
        scorecard(march.con, period, march.settings, quarter="2024Q5")
    with pytest.raises(AnalysisError, match="2023-01"):
        scorecard(march.con, resolve_period(march.con, month="2023-01"), march.settings)
