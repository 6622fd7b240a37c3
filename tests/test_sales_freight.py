"""Freight (SPEC §4.10): per customer per month with a negative correction bill, ytd running from
January within the requested range, the company trend, per carrier and per route."""

from __future__ import annotations

import pytest

from crmtool.errors import AnalysisError
from crmtool.runner import Runner
from crmtool.sales.freight import COLUMNS
from tests.conftest import d, insert


def bill(bid, date, cust, qty, cost, carrier=None, route=None):
    return dict(bill_id=bid, bill_date=d(date), customer_id=cust, quantity=qty, freight_cost=cost,
                carrier=carrier, route=route)


@pytest.fixture
def freight_store(store):
    insert(store, "orders", [dict(order_id="1", order_date=d("2024-03-31"), customer_code="C1", quantity=1)])
    insert(store, "freight", [
        bill("F1", "2024-01-05", "C1", 10, 100, "A", "R1"),
        bill("F2", "2024-01-20", "C1", 20, 150, "B", "R1"),
        bill("F3", "2024-02-03", "C1", -5, -25, "A", "R1"),   # a correction: nets, not a trip
        bill("F4", "2024-02-10", "C1", 15, 90, "A", "R2"),
        bill("F5", "2024-02-11", "C2", 8, 80, "B"),
        bill("F6", "2023-12-20", "C1", 50, 500, "A"),
        bill("F7", "2024-03-01", "C2", -4, -40, "B"),         # only a correction in March
    ])
    return store


def run(store, **options):
    return Runner(store, save=False).run("sales.freight", **options)


def values(table, columns):
    return [tuple(r[c] for c in columns) for r in table.to_pylist()]


def test_per_customer_per_month(freight_store):
    res = run(freight_store, first="2023-12", last="2024-03")
    assert res.table.column_names[: len(COLUMNS)] == COLUMNS
    rows = values(res.table, COLUMNS)
    assert rows[:3] == [("C1", "2023-12", 500, 50, 1, 10, 500, 50),
                        ("C1", "2024-01", 250, 30, 2, pytest.approx(250 / 30), 250, 30),   # ytd restarts
                        ("C1", "2024-02", 65, 10, 1, 6.5, 315, 40)]
    assert rows[3:] == [("C2", "2024-02", 80, 8, 1, 10, 80, 8),
                        ("C2", "2024-03", -40, -4, 0, None, 40, 4)]   # quantity ≤ 0: no cost per ton


def test_trend_carriers_routes(freight_store):
    res = run(freight_store, first="2023-12-01", last="2024-03-31")
    trend = values(res.extras["trend"], ["month", "cost", "quantity", "trips", "cost_per_ton", "ytd_cost",
                                         "ytd_quantity"])
    assert trend == [("2023-12", 500, 50, 1, 10, 500, 50),
                     ("2024-01", 250, 30, 2, pytest.approx(250 / 30), 250, 30),
                     ("2024-02", 145, 18, 2, pytest.approx(145 / 18), 395, 48),
                     ("2024-03", -40, -4, 0, None, 355, 44)]
    carriers = values(res.extras["carriers"], ["carrier", "cost", "quantity", "trips", "cost_per_ton"])
    assert carriers == [("A", 665, 70, 3, 9.5), ("B", 190, 24, 2, pytest.approx(190 / 24))]
    routes = values(res.extras["routes"], ["route", "cost", "quantity", "trips", "cost_per_ton"])
    assert routes == [("R1", 225, 25, 2, 9), ("R2", 90, 15, 1, 6)]


def test_ytd_runs_within_the_range(freight_store):
    rows = {r["customer_id"]: r for r in run(freight_store, first="2024-02-01", last="2024-02-29").table.to_pylist()}
    assert (rows["C1"]["ytd_cost"], rows["C1"]["ytd_quantity"]) == (65, 10)  # January is outside the range


def test_no_carrier_or_route_columns(store):
    insert(store, "orders", [dict(order_id="1", order_date=d("2024-03-31"), customer_code="C1", quantity=1)])
    insert(store, "freight", [bill("F1", "2024-03-05", "C1", 10, 100)])
    res = run(store)
    assert set(res.extras) == {"trend"}
    with pytest.raises(AnalysisError):
        run(store, first="2020-01-01", last="2020-12-31")
