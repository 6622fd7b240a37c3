"""Pareto / ABC (SPEC §4.2): crossings at exactly 80% and 95%, ties, Gini."""

from __future__ import annotations

import pytest

from crmtool.facts import resolve_period
from crmtool.grading import pareto
from crmtool.grading.pareto import COLUMNS
from tests.conftest import d, insert


def o(order_id, date, customer, qty, amount=None, line_no=1):
    return dict(order_id=order_id, line_no=line_no, order_date=d(date), customer_code=customer, quantity=qty,
                amount=amount)


def test_abc_at_the_80_and_95_percent_crossings(store):
    # volumes 50, 30, 15, 4, 1 (total 100): shares before each row 0, .50, .80, .95, .99
    insert(store, "orders", [o("P1", "2024-05-01", "V50", 50), o("P2", "2024-05-01", "V30", 30),
                             o("P3", "2024-05-01", "V15", 15), o("P4", "2024-05-01", "V04", 4),
                             o("P5", "2024-05-01", "V01", 1),
                             # returns net; zero and negative totals are left out
                             o("R1", "2024-06-01", "NEG", 2), o("R2", "2024-07-01", "NEG", -5),
                             o("Z1", "2024-06-01", "ZERO", 3), o("Z2", "2024-07-01", "ZERO", -3)])
    res = pareto(store.con, resolve_period(store.con, "2024-12-31"), store.settings)
    t = res.table
    assert t.column_names[:6] == COLUMNS
    rows = t.to_pylist()
    assert [r["customer_id"] for r in rows] == ["V50", "V30", "V15", "V04", "V01"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["share"] for r in rows] == pytest.approx([0.5, 0.3, 0.15, 0.04, 0.01])
    assert [r["cum_share"] for r in rows] == pytest.approx([0.5, 0.8, 0.95, 0.99, 1.0])
    # A if cum_share - share < .80: V15 starts exactly at .80 -> B; V04 starts at .95 -> C
    assert [r["abc_class"] for r in rows] == ["A", "A", "B", "C", "C"]
    # Gini, ascending x = 1, 4, 15, 30, 50: Σ i·x = 1 + 8 + 45 + 120 + 250 = 424;
    # 2·424 / (5·100) − 6/5 = 1.696 − 1.2 = 0.496
    assert res.summary["gini"] == pytest.approx(0.496)
    assert res.summary["a_customer_share"] == pytest.approx(2 / 5)
    assert res.summary["classes"] == {"A": 2, "B": 1, "C": 2}
    lorenz = res.extras["lorenz"].to_pylist()
    assert lorenz[0] == {"customer_share": 0.0, "metric_share": 0.0}
    assert lorenz[1]["metric_share"] == pytest.approx(0.01) and lorenz[-1]["metric_share"] == pytest.approx(1.0)


def test_ties_are_ranked_by_customer_id(store):
    # b and a both 40, c 20: a ranks before b; shares before: 0, .4, .8 -> A, A, B
    insert(store, "orders", [o("1", "2024-05-01", "b", 40), o("2", "2024-05-01", "a", 40),
                             o("3", "2024-05-01", "c", 20)])
    rows = pareto(store.con, resolve_period(store.con, "2024-12-31"), store.settings).table.to_pylist()
    assert [(r["customer_id"], r["rank"], r["abc_class"]) for r in rows] == [("a", 1, "A"), ("b", 2, "A"),
                                                                             ("c", 3, "B")]


def test_cuts_from_config_and_metric_amount(tmp_path):
    from tests.conftest import make_store

    store = make_store(tmp_path, {"pareto": {"a": 0.5, "b": 0.9}})
    insert(store, "orders", [o("1", "2024-05-01", "x", 1, 600), o("2", "2024-05-01", "y", 100, 300),
                             o("3", "2024-05-01", "z", 1, 100)])
    rows = pareto(store.con, resolve_period(store.con, "2024-12-31"), store.settings, metric="amount").table
    # amount 600, 300, 100: before .0, .6, .9 -> A (.0 < .5), B (.6 < .9), C (.9 not < .9)
    assert rows.column("customer_id").to_pylist() == ["x", "y", "z"]
    assert rows.column("abc_class").to_pylist() == ["A", "B", "C"]
    store.close()


def test_a_share_that_is_exactly_the_bound_in_decimals_is_not_under_it(store):
    # volumes 2.0, 0.4, 0.3, 0.3 (total 3.0): X3's share before it is 2.4 / 3 = 0.80 exactly, which a
    # binary double gives as 0.7999999999999999; SPEC: A only when under 0.80, so X3 is B
    insert(store, "orders", [o("A1", "2024-06-30", "X1", 2.0), o("A2", "2024-06-30", "X2", 0.4),
                             o("A3", "2024-06-30", "X3", 0.3), o("A4", "2024-06-30", "X4", 0.3)])
    res = pareto(store.con, resolve_period(store.con, "2024-06-30"), store.settings, metric="volume")
    assert [r["abc_class"] for r in res.table.to_pylist()] == ["A", "A", "B", "B"]
    assert res.summary["classes"] == {"A": 2, "B": 2, "C": 0}
