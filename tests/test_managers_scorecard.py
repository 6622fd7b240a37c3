"""Manager scorecard (SPEC §4.9): a hand-counted 4-manager quarter, and the period rules."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmtool.errors import UsageError
from crmtool.facts import Period
from crmtool.managers.scorecard import COLUMNS
from crmtool.runner import Runner
from crmtool.sales.periods import calendar_period
from tests.conftest import d, insert


def o(oid, date, cust, qty, amount=None, cost=None):
    return dict(order_id=oid, order_date=d(date), customer_code=cust, quantity=qty, amount=amount, cost=cost)


@pytest.fixture
def quarter_store(store):
    """2024Q2: P_ly = 2023Q2, P_prev = 2024Q1, YTD 2024-01-01..06-30 against 2023-01-01..06-30.

    M1 holds C1, C2 (C2 created in 2024: held_change 1; C3 created after P's end is not held);
    M2 holds C4, C5; M3 holds C6 (a return only in P); M4 is in no managers row and holds C7;
    C8 has no manager."""
    insert(store, "managers", [dict(manager_id="M1", name="张一", team="T1", region="East"),
                               dict(manager_id="M2", name="李二", team="T1", region="West"),
                               dict(manager_id="M3", name="王三", team="T2", region="East")])
    insert(store, "customers", [
        dict(customer_id="C1", name="c1", manager_id="M1"),
        dict(customer_id="C2", name="c2", manager_id="M1", created_date=d("2024-03-15")),
        dict(customer_id="C3", name="c3", manager_id="M1", created_date=d("2024-07-10")),
        dict(customer_id="C4", name="c4", manager_id="M2", created_date=d("2020-01-01")),
        dict(customer_id="C5", name="c5", manager_id="M2"),
        dict(customer_id="C6", name="c6", manager_id="M3", created_date=d("2023-05-01")),
        dict(customer_id="C7", name="c7", manager_id="M4"),
        dict(customer_id="C8", name="c8"),
    ])
    insert(store, "orders", [
        o("A1", "2023-05-10", "C1", 10, 1000, 900),
        o("A2", "2024-02-10", "C1", 20, 2000, 1800),
        o("A3", "2024-05-10", "C1", 30, 3000, 2700),
        o("A4", "2024-05-20", "C1", -5, -500, -450),
        o("B1", "2024-04-15", "C2", 12, 1200, 1000),
        o("X1", "2024-05-01", "C3", 100, 9999, 1),
        o("D1", "2023-06-30", "C4", 8, 800, 700),
        o("D2", "2024-03-31", "C4", 16, 1600, 1500),
        o("D3", "2024-06-30", "C4", 24, 2400, 2100),
        o("D4", "2023-07-01", "C4", 100, 100, 100),
        o("E1", "2023-04-01", "C5", 6),
        o("F1", "2023-05-02", "C6", 9, 900, 800),
        o("F2", "2024-05-05", "C6", -3, -300, -280),
        o("H1", "2024-05-05", "C8", 50, 500, 400),
    ])
    insert(store, "leads", [
        dict(lead_id="L1", created_date=d("2024-01-10"), manager_id="M1", converted_date=d("2024-04-09")),
        dict(lead_id="L2", created_date=d("2024-03-01"), manager_id="M1", converted_date=d("2024-05-31")),
        dict(lead_id="L3", created_date=d("2024-06-01"), manager_id="M1"),
        dict(lead_id="L4", created_date=d("2023-06-30"), manager_id="M1", converted_date=d("2024-04-30")),
        dict(lead_id="L5", created_date=d("2024-05-01"), manager_id="M2", converted_date=d("2024-07-05")),
        dict(lead_id="L6", created_date=d("2024-02-01"), manager_id="M2", converted_date=d("2024-03-20")),
        dict(lead_id="L7", created_date=d("2024-02-01"), manager_id="M9", converted_date=d("2024-04-20")),
    ])
    insert(store, "visits", [
        dict(visit_id="V1", visit_date=d("2024-04-02"), customer_id="C1", manager_id="M1"),
        dict(visit_id="V2", visit_date=d("2024-05-02"), customer_id="C1", manager_id="M1"),
        dict(visit_id="V3", visit_date=d("2024-05-02"), customer_id="C2", manager_id="M2"),
        dict(visit_id="V4", visit_date=d("2024-03-31"), customer_id="C4", manager_id="M2"),
        dict(visit_id="V5", visit_date=d("2024-06-30"), customer_id="C5", manager_id="M2"),
    ])
    insert(store, "plans", [
        dict(manager_id="M1", month=d("2024-01-01"), volume=30),
        dict(manager_id="M1", month=d("2024-04-01"), volume=20),
        dict(manager_id="M1", month=d("2024-05-01"), volume=20),
        dict(customer_id="C1", month=d("2024-04-01"), volume=100),  # M1 has manager plans: ignored
        dict(customer_id="C4", month=d("2024-02-01"), volume=10),
        dict(customer_id="C4", month=d("2024-04-01"), volume=10),
        dict(customer_id="C4", month=d("2024-06-01"), volume=10),
        dict(customer_id="C5", month=d("2024-05-01"), volume=10),
        dict(manager_id="M4", month=d("2024-02-01"), volume=50),  # YTD only
    ])
    return store


def run(store, **options):
    return Runner(store, allow_future=True, save=False).run("managers.scorecard", **options)


def rows(result):
    return {r["manager_id"]: r for r in result.table.to_pylist()}


def test_columns_in_spec_order(quarter_store):
    res = run(quarter_store, quarter="2024Q2")
    assert res.table.column_names[: len(COLUMNS)] == COLUMNS
    assert res.period == "2024Q2"


def test_held_buying_new_retention(quarter_store):
    r = rows(run(quarter_store, quarter="2024Q2"))
    assert list(r) == ["M1", "M2", "M4", "M3"]  # rank order; M4 is in no managers row but counts
    assert (r["M1"]["held"], r["M1"]["held_change"]) == (2, 1)
    assert (r["M2"]["held"], r["M2"]["held_change"]) == (2, 0)
    assert (r["M3"]["held"], r["M4"]["held"]) == (1, 1)
    assert r["M1"]["held_share"] == pytest.approx(2 / 6)
    assert r["M3"]["held_share"] == pytest.approx(1 / 6)
    assert [r[m]["buying"] for m in ("M1", "M2", "M3", "M4")] == [2, 1, 0, 0]
    assert [r[m]["buying_ratio"] for m in ("M1", "M2", "M3", "M4")] == [1.0, 0.5, 0.0, 0.0]
    assert [r[m]["new_customers"] for m in ("M1", "M2", "M3", "M4")] == [1, 0, 0, 0]
    # of those who bought in 2023Q2: M1 {C1} all back; M2 {C4, C5} C4 back; M3 {C6} only a return in P
    assert [r[m]["retention"] for m in ("M1", "M2", "M3")] == [1.0, 0.5, 0.0]
    assert r["M4"]["retention"] is None
    assert r["M4"]["name"] is None and r["M1"]["team"] == "T1" and r["M3"]["region"] == "East"


def test_leads_and_visits(quarter_store):
    r = rows(run(quarter_store, quarter="2024Q2"))
    # M1: leads created in (2023-06-30, 2024-06-30]: L1, L2, L3; converted by 06-30: L1, L2
    assert r["M1"]["lead_conversion"] == pytest.approx(2 / 3)
    # converted in P: L1 (90 days), L2 (91 days), L4 (305 days; created outside the 12 months)
    assert r["M1"]["lead_days"] == 91
    assert r["M1"]["development"] == 1 + 3
    assert r["M2"]["lead_conversion"] == 0.5 and r["M2"]["lead_days"] is None
    assert r["M2"]["development"] == 0
    assert r["M3"]["lead_conversion"] is None and r["M4"]["lead_days"] is None
    # a visit counts only when made by the customer's own manager, once per customer
    assert [r[m]["visit_rate"] for m in ("M1", "M2", "M3", "M4")] == [0.5, 0.5, 0.0, 0.0]


def test_volumes_plans_and_growth(quarter_store):
    r = rows(run(quarter_store, quarter="2024Q2"))
    m1, m2, m3, m4 = (r[m] for m in ("M1", "M2", "M3", "M4"))
    assert m1["volume"] == 37  # 30 - 5 + 12; C3 (created after P's end) is not held
    assert m1["plan"] == 40 and m1["completion"] == pytest.approx(37 / 40)
    assert m1["yoy"] == pytest.approx(2.7) and m1["qoq"] == pytest.approx(0.85)
    assert m1["gross_margin"] == pytest.approx(450 / 3700)
    assert m1["ytd_volume"] == 57 and m1["ytd_plan"] == 70
    assert m1["ytd_completion"] == pytest.approx(57 / 70) and m1["ytd_yoy"] == pytest.approx(4.7)
    assert m1["ytd_gross_margin"] == pytest.approx(650 / 5700)
    # M2: customer plans of the held customers (no manager plan)
    assert m2["volume"] == 24 and m2["plan"] == 30 and m2["completion"] == pytest.approx(0.8)
    assert m2["yoy"] == pytest.approx(24 / 14 - 1) and m2["qoq"] == pytest.approx(0.5)
    assert m2["ytd_volume"] == 40 and m2["ytd_plan"] == 40 and m2["ytd_completion"] == 1.0
    assert m2["ytd_yoy"] == pytest.approx(40 / 14 - 1)  # the 2023-07-01 line is outside YTD a year earlier
    assert m2["gross_margin"] == pytest.approx(0.125) and m2["ytd_gross_margin"] == pytest.approx(0.1)
    # M3: only a return in P; no P_prev lines: qoq null; no plans at all
    assert m3["volume"] == -3 and m3["yoy"] == pytest.approx(-3 / 9 - 1) and m3["qoq"] is None
    assert m3["plan"] is None and m3["completion"] is None and m3["ytd_plan"] is None
    assert m3["gross_margin"] == pytest.approx(20 / 300)
    # M4: no lines (volume 0, growth null); a manager plan only in February: YTD plan 50, P plan null
    assert m4["volume"] == 0 and m4["yoy"] is None and m4["qoq"] is None and m4["gross_margin"] is None
    assert m4["plan"] is None and m4["completion"] is None
    assert m4["ytd_plan"] == 50 and m4["ytd_completion"] == 0.0
    # C8 has no manager: its 50 t in P count for no one, and the summary says so
    res = run(quarter_store, quarter="2024Q2")
    assert res.summary["no_manager"] == {"customers": 1, "volume": 50.0}
    assert "50.0 t of 1 customer(s) with no manager" in res.lines[-1]


def test_score_rank_grade(quarter_store):
    r = rows(run(quarter_store, quarter="2024Q2"))
    # p(volume): M3 -3 → 1/4, M4 0 → 2/4, M2 24 → 3/4, M1 37 → 1
    # p(completion): M2 0.8 → 1/2, M1 0.925 → 1, nulls 0
    # p(retention): M3 0 → 1/3, M2 0.5 → 2/3, M1 1 → 1, M4 null 0
    # p(development): M2, M3, M4 tie at 0 → 3/4, M1 4 → 1
    expected = {"M1": 1.0,
                "M2": 0.35 * 0.75 + 0.25 * 0.5 + 0.20 * 2 / 3 + 0.20 * 0.75,
                "M3": 0.35 * 0.25 + 0.20 * 1 / 3 + 0.20 * 0.75,
                "M4": 0.35 * 0.5 + 0.20 * 0.75}
    for m, score in expected.items():
        assert r[m]["score"] == pytest.approx(score)
    assert {m: r[m]["rank"] for m in r} == {"M1": 1, "M2": 2, "M4": 3, "M3": 4}
    # rank_pct 0, 0.25, 0.5, 0.75 against A < 0.2, B < 0.7
    assert {m: r[m]["grade"] for m in r} == {"M1": "A", "M2": "B", "M4": "B", "M3": "C"}


def test_filters_restrict_rows_not_population(quarter_store):
    east = rows(run(quarter_store, quarter="2024Q2", region="East"))
    assert list(east) == ["M1", "M3"]
    assert east["M3"]["rank"] == 4 and east["M3"]["grade"] == "C"
    assert east["M1"]["held_share"] == pytest.approx(2 / 6)
    t1 = rows(run(quarter_store, quarter="2024Q2", team="T1"))
    assert list(t1) == ["M1", "M2"] and t1["M2"]["rank"] == 2


def test_default_is_the_quarter_of_the_judged_month(quarter_store):
    res = run(quarter_store, month="2024-05")
    assert res.period == "2024Q2"
    assert rows(res)["M1"]["volume"] == 37
    res = run(quarter_store, as_of="2024-06-30")
    assert res.period == "2024Q2"


def test_month_and_year(quarter_store):
    may = rows(run(quarter_store, month="2024-05", monthly=True))
    assert may["M1"]["volume"] == 25  # 30 - 5; April's C2 line is outside
    assert may["M1"]["plan"] == 20
    year = rows(run(quarter_store, year="2024"))
    # at the year's end C3 (created 2024-07-10) is held too: its 100 t count
    assert year["M1"]["held"] == 3 and year["M1"]["held_change"] == 2
    assert year["M1"]["volume"] == 157 and year["M1"]["ytd_volume"] == 157
    assert year["M2"]["yoy"] == pytest.approx(40 / (8 + 6 + 100) - 1)


def test_month_prev_uses_held_customers(quarter_store):
    r = rows(run(quarter_store, month="2024-05", monthly=True))
    # P_prev = April: C2's 12 t (C2 held at May's end) → qoq = 25 / 12 - 1
    assert r["M1"]["qoq"] == pytest.approx(25 / 12 - 1)


def test_ytd_a_year_earlier_caps_at_month_end(store):
    insert(store, "managers", [dict(manager_id="M1", name="a")])
    insert(store, "customers", [dict(customer_id="C1", name="c1", manager_id="M1")])
    insert(store, "orders", [o("1", "2023-02-28", "C1", 10), o("2", "2023-03-01", "C1", 70),
                             o("3", "2024-01-15", "C1", 5), o("4", "2024-02-29", "C1", 15),
                             o("5", "2023-01-31", "C1", 10), o("6", "2023-02-01", "C1", 4)])
    r = rows(run(store, month="2024-02", monthly=True))["M1"]
    assert r["volume"] == 15
    assert r["yoy"] == pytest.approx(15 / (10 + 4) - 1)  # P_ly = February 2023
    assert r["qoq"] == pytest.approx(15 / 5 - 1)  # P_prev = January 2024
    assert r["ytd_volume"] == 20
    assert r["ytd_yoy"] == pytest.approx(20 / (10 + 10 + 4) - 1)  # 2023-01-01..2023-02-28


def test_no_leads_or_visits_loaded_gives_null(store):
    insert(store, "managers", [dict(manager_id="M1", name="a"), dict(manager_id="M2", name="b")])
    insert(store, "customers", [dict(customer_id="C1", name="c1", manager_id="M1")])
    insert(store, "orders", [o("1", "2024-05-01", "C1", 10)])
    r = rows(run(store, quarter="2024Q2"))
    assert r["M1"]["lead_conversion"] is None and r["M1"]["lead_days"] is None
    assert r["M1"]["visit_rate"] is None
    # M2 holds nobody: ratios over held are null, volume 0
    assert r["M2"]["held"] == 0 and r["M2"]["buying_ratio"] is None and r["M2"]["volume"] == 0
    assert r["M1"]["new_customers"] == 1 and r["M1"]["development"] == 1


def test_score_ties_rank_by_manager_id(store):
    insert(store, "managers", [dict(manager_id=m, name=m) for m in ("M3", "M1", "M2")])
    r = rows(run(store, quarter="2024Q2", as_of="2024-06-30"))
    assert [r[m]["rank"] for m in ("M1", "M2", "M3")] == [1, 2, 3]
    # all volumes 0 and all developments 0 → p 1 each; completion and retention null → 0
    assert all(x["score"] == pytest.approx(0.35 + 0.20) for x in r.values())
    assert [r[m]["grade"] for m in ("M1", "M2", "M3")] == ["A", "B", "B"]


def test_periods():
    p = Period(dt.date(2024, 2, 15), dt.date(2024, 1, 1))
    q1 = calendar_period(p, quarter="2024Q1")
    assert (q1.previous.first, q1.previous.end) == (d("2023-10-01"), d("2023-12-31"))
    assert (q1.last_year.first, q1.last_year.end) == (d("2023-01-01"), d("2023-03-31"))
    assert calendar_period(p).label == "2024Q1"
    m = calendar_period(p, monthly=True)
    assert (m.first, m.end, m.previous.first) == (d("2024-01-01"), d("2024-01-31"), d("2023-12-01"))
    y = calendar_period(p, year="2024")
    assert (y.previous.first, y.previous.end, y.ytd) == (d("2023-01-01"), d("2023-12-31"),
                                                         (d("2024-01-01"), d("2024-12-31")))
    feb = calendar_period(Period(d("2024-02-29"), d("2024-02-01")), monthly=True)
    assert feb.ytd_last_year == (d("2023-01-01"), d("2023-02-28"))
    with pytest.raises(UsageError):
        calendar_period(p, quarter="2024Q1", year="2024")


managers_st = st.lists(st.tuples(st.sampled_from(["East", "West", None]), st.sampled_from(["T1", "T2"])),
                       min_size=1, max_size=6)
orders_st = st.lists(st.tuples(st.integers(0, 7), st.integers(0, 700), st.integers(-10, 60)), max_size=25)


@given(managers_st, orders_st)
def test_filters_never_change_the_scores(managers, orders):
    from crmtool.config import Settings
    from crmtool.store import open_store

    store = open_store(":memory:", Settings(), wait=0)
    try:
        insert(store, "managers", [dict(manager_id=f"M{i}", name=f"m{i}", region=r, team=t)
                                   for i, (r, t) in enumerate(managers)])
        insert(store, "customers", [dict(customer_id=f"C{j}", name=f"c{j}", manager_id=f"M{j % (len(managers) + 1)}")
                                    for j in range(8)])
        insert(store, "orders", [o(str(i), str(dt.date(2023, 1, 1) + dt.timedelta(days=day)), f"C{c}", q)
                                 for i, (c, day, q) in enumerate(orders)])
        runner = Runner(store, allow_future=True, save=False)
        everyone = runner.run("managers.scorecard", quarter="2024Q2", as_of="2024-06-30").table.to_pylist()
        east = runner.run("managers.scorecard", quarter="2024Q2", as_of="2024-06-30", region="East").table.to_pylist()
    finally:
        store.close()
    n = len(everyone)
    assert [r["rank"] for r in everyone] == list(range(1, n + 1))
    assert east == [r for r in everyone if r["region"] == "East"]
    assert sum(r["held_share"] for r in everyone) == pytest.approx(1.0)
    assert [r["grade"] for r in everyone] == ["A" if (k - 1) / n < 0.2 else "B" if (k - 1) / n < 0.7 else "C"
                                              for k in range(1, n + 1)]
    assert all(0 <= r["score"] <= 1 for r in everyone)
