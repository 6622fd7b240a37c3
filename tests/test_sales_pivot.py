"""Sales pivot (SPEC §4.10): hand-counted groups, a total row that counts distinct customers and
lines with returns, and total = Σ groups for the additive measures (property test)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmtool.config import Settings
from crmtool.errors import UsageError
from crmtool.runner import Runner
from crmtool.store import open_store
from tests.conftest import d, insert

MEASURES = "volume,amount,profit,customers,lines"


@pytest.fixture
def pivot_store(store):
    insert(store, "customers", [
        dict(customer_id="C1", name="c1", region="East", industry="化工", manager_id="M1", level="gold"),
        dict(customer_id="C2", name="c2", region="West", industry="物流", manager_id="M2", level="silver"),
    ])
    insert(store, "orders", [
        dict(order_id="1", order_date=d("2024-01-05"), customer_code="C1", quantity=10, amount=100, cost=80,
             category="diesel", product_code="P1"),
        dict(order_id="2", order_date=d("2024-01-20"), customer_code="C1", quantity=5, amount=60, cost=50,
             category="gasoline", product_code="P2"),
        dict(order_id="3", order_date=d("2024-02-03"), customer_code="C1", quantity=-2, amount=-20, cost=-16,
             category="diesel", product_code="P1"),
        dict(order_id="4", order_date=d("2024-02-10"), customer_code="C2", quantity=8, amount=80, cost=70,
             category="diesel", product_code="P1"),
        dict(order_id="5", order_date=d("2024-03-01"), customer_code="X", quantity=4, amount=40, cost=30,
             category="other", product_code="P3"),
        dict(order_id="6", order_date=d("2023-12-31"), customer_code="C2", quantity=100, amount=1, cost=1),
    ])
    return store


def run(store, lang="en", **options):
    return Runner(store, save=False, lang=lang).run("sales.pivot", **options)


def test_region_by_month(pivot_store):
    res = run(pivot_store, by="region,month", measure=MEASURES, first="2024-01-01", last="2024-03-31")
    assert res.table.column_names == ["region", "month", "volume", "amount", "profit", "customers", "lines"]
    assert [tuple(r.values()) for r in res.table.to_pylist()] == [
        ("East", "2024-01", 15, 160, 30, 1, 2),
        ("East", "2024-02", -2, -20, -4, 0, 1),   # a return only: no buying customer, but a line
        ("West", "2024-02", 8, 80, 10, 1, 1),
        (None, "2024-03", 4, 40, 10, 1, 1),       # X is in no archive
        ("Total", None, 25, 260, 46, 3, 5),
    ]


def test_total_counts_distinct_customers(pivot_store):
    res = run(pivot_store, by="category", measure="customers,lines", first="2024-01", last="2024-03")
    rows = {r["category"]: (r["customers"], r["lines"]) for r in res.table.to_pylist()}
    # diesel C1, C2; gasoline C1; other X: Σ 4 but 3 distinct customers
    assert rows == {"diesel": (2, 3), "gasoline": (1, 1), "other": (1, 1), "Total": (3, 5)}


def test_every_dimension(pivot_store):
    window = dict(first="2024-01-01", last="2024-03-31", measure="volume")
    expect = {
        "customer": ("customer_id", {"C1": 13, "C2": 8, "X": 4}),
        "district": ("district", {None: 25}),
        "industry": ("industry", {"化工": 13, "物流": 8, None: 4}),
        "manager": ("manager_id", {"M1": 13, "M2": 8, None: 4}),
        "level": ("level", {"gold": 13, "silver": 8, None: 4}),
        "product": ("product_code", {"P1": 16, "P2": 5, "P3": 4}),
        "quarter": ("quarter", {"2024Q1": 25}),
        "year": ("year", {"2024": 25}),
    }
    for dim, (column, groups) in expect.items():
        table = run(pivot_store, by=dim, **window).table
        assert table.column_names[0] == column
        rows = table.to_pylist()
        assert {r[column]: r["volume"] for r in rows[:-1]} == groups, dim
        assert rows[-1][column] == "Total" and rows[-1]["volume"] == 25


def test_default_window_is_12_months_to_as_of(pivot_store):
    rows = run(pivot_store, by="year", as_of="2024-03-01").table.to_pylist()
    assert [(r["year"], r["volume"]) for r in rows] == [("2023", 100), ("2024", 25), ("Total", 125)]
    rows = run(pivot_store, by="year", as_of="2024-03-01", first="2024-01-01").table.to_pylist()
    assert rows[-1]["volume"] == 25


def test_zh_total_label(pivot_store):
    rows = run(pivot_store, lang="zh", by="month").table.to_pylist()
    assert rows[-1]["month"] == "合计"


@pytest.mark.parametrize("by,measure", [("region;drop table orders", "volume"), ("region", "volume)--"),
                                        ("", "volume"), ("region", "")])
def test_names_come_from_a_whitelist(pivot_store, by, measure):
    with pytest.raises(UsageError):
        run(pivot_store, by=by, measure=measure)
    assert pivot_store.con.execute("SELECT count(*) FROM orders").fetchall()[0][0] == 6


lines = st.lists(st.tuples(st.sampled_from(["C1", "C2", "C3", "C4"]), st.integers(0, 59),
                           st.integers(-20, 50), st.sampled_from(["gasoline", "diesel", "other"])),
                 min_size=1, max_size=25)


@given(lines, st.sampled_from(["customer", "region", "category", "month", "region,month", "manager,category"]))
def test_total_is_the_sum_of_groups(rows, by):
    store = open_store(":memory:", Settings(), wait=0)
    try:
        insert(store, "customers", [dict(customer_id="C1", name="a", region="East", manager_id="M1"),
                                    dict(customer_id="C2", name="b", region="West", manager_id="M1"),
                                    dict(customer_id="C3", name="c", region="East")])
        insert(store, "orders", [dict(order_id=str(i), order_date=dt.date(2024, 1, 1) + dt.timedelta(days=day),
                                      customer_code=c, quantity=q, amount=q * 7, cost=q * 5, category=cat)
                                 for i, (c, day, q, cat) in enumerate(rows)])
        table = Runner(store, save=False).run("sales.pivot", by=by, measure=MEASURES, first="2024-01-01",
                                              last="2024-12-31").table.to_pylist()
    finally:
        store.close()
    groups, total = table[:-1], table[-1]
    for m in ("volume", "amount", "profit", "lines"):
        assert sum(r[m] for r in groups) == pytest.approx(total[m])
    assert total["lines"] == len(rows)
    buyers = {c for c, _, q, _ in rows if q > 0}
    assert total["customers"] == len(buyers) <= sum(r["customers"] for r in groups)


def test_empty_range_is_an_analysis_error(pivot_store):
    from crmtool.errors import AnalysisError

    with pytest.raises(AnalysisError):
        run(pivot_store, by="month", first="2020-01-01", last="2020-12-31")
