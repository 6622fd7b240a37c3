"""RFM (SPEC §4.1) on fixtures small enough to count by hand."""

from __future__ import annotations

import pytest

from crmtool.errors import AnalysisError, UsageError
from crmtool.facts import resolve_period
from crmtool.grading import rfm
from crmtool.grading.rfm import COLUMNS
from tests.conftest import d, insert


def o(order_id, date, customer, qty, amount, line_no=1):
    return dict(order_id=order_id, line_no=line_no, order_date=d(date), customer_code=customer, quantity=qty,
                amount=amount)


@pytest.fixture
def rfm_store(store):
    insert(store, "orders", [
        # A: two orders on the same day, an order whose lines net to 0, a return after them
        o("A1", "2024-12-01", "A", 10, 1000), o("A2", "2024-12-01", "A", 5, 500),
        o("A3", "2024-11-01", "A", 10, 1000, 1), o("A3", "2024-11-01", "A", -10, -1000, 2),
        o("AR", "2024-12-20", "A", -3, -300),
        # B: one order of two lines
        o("B1", "2024-06-30", "B", 10, 1000, 1), o("B1", "2024-06-30", "B", 10, 1000, 2),
        # C: one order on the excluded lower bound, one on the first day in the window
        o("C0", "2023-12-31", "C", 100, 9999), o("C1", "2024-01-01", "C", 1, 100),
        # D: only a return: not in the scored set
        o("D1", "2024-10-01", "D", -5, -500),
        # E: bought on the as-of day
        o("E1", "2024-12-31", "E", 1, 100),
    ])
    return store


def by_id(table):
    return {r["customer_id"]: r for r in table.to_pylist()}


def test_recency_frequency_monetary_with_returns_and_same_day_orders(rfm_store):
    res = rfm(rfm_store.con, resolve_period(rfm_store.con, "2024-12-31"), rfm_store.settings)
    assert res.table.column_names[:9] == COLUMNS
    rows = by_id(res.table)
    assert set(rows) == {"A", "B", "C", "E"}  # D only returned goods
    # A: A1 and A2 count (same day, two orders); A3 nets 0; AR is a return -> frequency 2
    assert rows["A"]["frequency"] == 2
    assert rows["A"]["recency_days"] == 30  # 2024-12-31 - 2024-12-01; the later return does not count
    assert rows["A"]["monetary"] == pytest.approx(1200)  # 1000 + 500 + 1000 - 1000 - 300
    assert (rows["B"]["frequency"], rows["B"]["recency_days"], rows["B"]["monetary"]) == (1, 184, 2000)
    # C: 2023-12-31 is outside (as_of - 12 months < date); 2024-01-01 -> 365 days (leap year)
    assert (rows["C"]["frequency"], rows["C"]["recency_days"], rows["C"]["monetary"]) == (1, 365, 100)
    assert (rows["E"]["frequency"], rows["E"]["recency_days"]) == (1, 0)


def test_scores_ties_under_cume_dist_and_segments(rfm_store):
    rows = by_id(rfm(rfm_store.con, resolve_period(rfm_store.con, "2024-12-31"), rfm_store.settings).table)
    # recency DESC: C 365 -> 1/4, B 184 -> 2/4, A 30 -> 3/4, E 0 -> 4/4; ceil(5·cd) = 2, 3, 4, 5
    assert {k: r["r_score"] for k, r in rows.items()} == {"C": 2, "B": 3, "A": 4, "E": 5}
    # frequency ASC: B, C, E tie at 1 -> cume_dist 3/4 -> ceil(3.75) = 4; A 2 -> 5
    assert {k: r["f_score"] for k, r in rows.items()} == {"B": 4, "C": 4, "E": 4, "A": 5}
    # monetary ASC: C, E tie at 100 -> 2/4 -> 3; A 1200 -> 3/4 -> 4; B 2000 -> 5
    assert {k: r["m_score"] for k, r in rows.items()} == {"C": 3, "E": 3, "A": 4, "B": 5}
    # means: r 3.5, f 4.25, m 3.75; high = strictly above the mean
    assert rows["A"]["rfm_cell"] == "454" and rows["A"]["segment"] == "important_value"  # H H H
    assert rows["B"]["segment"] == "important_winback"  # r3 L, f4 L, m5 H
    assert rows["C"]["segment"] == "general_winback"  # r2 L, f4 L, m3 L
    assert rows["E"]["segment"] == "general_develop"  # r5 H, f4 L, m3 L


@pytest.mark.parametrize("n, expected", [
    (5, [1, 2, 3, 4, 5]),                      # cume_dist k/5: 5·k/5 = k exactly (5 · 0.6 is 3, not 4)
    (10, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),      # ceil(k/2)
    (15, [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5]),  # ceil(k/3): 5·3/15, 5·6/15 … land on whole numbers
])
def test_scores_are_exact_where_five_times_cume_dist_is_whole(store, n, expected):
    insert(store, "orders", [o(f"O{i:02d}", "2024-12-01", f"K{i:02d}", 1, 100 * i) for i in range(1, n + 1)])
    rows = by_id(rfm(store.con, resolve_period(store.con, "2024-12-31"), store.settings).table)
    assert [rows[f"K{i:02d}"]["m_score"] for i in range(1, n + 1)] == expected
    # one order each on the same day: every customer ties, cume_dist 1 -> 5
    assert {r["r_score"] for r in rows.values()} == {5} and {r["f_score"] for r in rows.values()} == {5}


def test_the_eight_segments(store):
    # 8 customers, every combination of recent/old, 2 orders/1 order, 1000/100 of amount.
    # Each dimension splits 4/4: the low half scores ceil(5·4/8) = 3, the high half 5; mean 4.
    rows, expected = [], {}
    names = {(1, 1, 1): "important_value", (1, 0, 1): "important_develop", (0, 1, 1): "important_retain",
             (0, 0, 1): "important_winback", (1, 1, 0): "general_value", (1, 0, 0): "general_develop",
             (0, 1, 0): "general_retain", (0, 0, 0): "general_winback"}
    for (r, f, m), seg in names.items():
        cid = f"S{r}{f}{m}"
        last = "2024-12-31" if r else "2024-06-30"
        money = 1000 if m else 100
        if f:
            rows += [o(cid + "a", last, cid, 1, money / 2), o(cid + "b", "2024-03-01", cid, 1, money / 2)]
        else:
            rows.append(o(cid + "a", last, cid, 1, money))
        expected[cid] = seg
    insert(store, "orders", rows)
    res = rfm(store.con, resolve_period(store.con, "2024-12-31"), store.settings)
    got = {r["customer_id"]: r["segment"] for r in res.table.to_pylist()}
    assert got == expected
    assert res.summary["segments"] == {seg: 1 for seg in names.values()}
    assert by_id(res.table)["S111"]["rfm_cell"] == "555" and by_id(res.table)["S000"]["rfm_cell"] == "333"


def test_metric_volume_and_window(rfm_store):
    rows = by_id(rfm(rfm_store.con, resolve_period(rfm_store.con, "2024-12-31"), rfm_store.settings,
                     metric="volume", window=3).table)
    # 3 months: 2024-09-30 < date <= 2024-12-31 -> A (10 + 5 + 10 - 10 - 3 = 12 t) and E (1 t)
    assert set(rows) == {"A", "E"}
    assert rows["A"]["monetary"] == pytest.approx(12)


def test_labels_in_chinese(rfm_store):
    rows = by_id(rfm(rfm_store.con, resolve_period(rfm_store.con, "2024-12-31"), rfm_store.settings,
                     lang="zh").table)
    assert rows["A"]["segment"] == "important_value" and rows["A"]["segment_label"] == "重要价值客户"


def test_errors(rfm_store):
    with pytest.raises(UsageError, match="metric"):
        rfm(rfm_store.con, resolve_period(rfm_store.con, "2024-12-31"), rfm_store.settings, metric="tons")
    with pytest.raises(AnalysisError, match="no purchases"):
        rfm(rfm_store.con, resolve_period(rfm_store.con, "2020-12-31"), rfm_store.settings)


def test_purchase_reversed_in_the_same_order(store):
    # F's only order has +5 and −5 lines: F is in the scored set (a purchase line) with frequency 0;
    # recency falls back to the purchase line's date: 2024-12-31 − 2024-10-01 = 91 days
    insert(store, "orders", [o("F1", "2024-10-01", "F", 5, 500, 1), o("F1", "2024-10-01", "F", -5, -500, 2),
                             o("G1", "2024-12-01", "G", 1, 100)])
    rows = by_id(rfm(store.con, resolve_period(store.con, "2024-12-31"), store.settings).table)
    assert (rows["F"]["frequency"], rows["F"]["recency_days"], rows["F"]["monetary"]) == (0, 91, 0)


def test_monetary_keeps_the_metrics_own_precision(store):
    """SPEC §4.1: monetary = the sum of the metric; volumes have four decimals (1.2345 t, not 1.23)."""
    insert(store, "orders", [o("X1", "2024-02-10", "X", 1.2345, 10), o("Y1", "2024-02-11", "Y", 0.737, 10)])
    t = rfm(store.con, resolve_period(store.con, d("2024-02-29"), None), store.settings, metric="volume")
    got = {r["customer_id"]: r["monetary"] for r in t.table.to_pylist()}
    assert got == {"X": 1.2345, "Y": 0.737}
