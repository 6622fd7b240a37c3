"""Boundaries of SPEC §1, §3, §4.1–4.8 and §4.11, each on a fixture small enough to count by hand.

Every test here pins a rule at exactly its edge (a value equal to a cut, a date on a window bound,
a zero where a sign matters), where an off-by-one or a `>=` for `>` would change a number. The
expected numbers are worked out in the comments. `python tools/mutants.py` shows which plausible
bug each one catches.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crmtool.churn import churn_backtest, churn_idle, churn_status, churn_warn
from crmtool.errors import UsageError
from crmtool.facts import Period, add_months, install_views, resolve_period
from crmtool.grading import customer_classes, level, pareto, quadrant, rfm, scorecard
from tests.churn_fixtures import as_dicts, line, monthly_orders
from tests.conftest import d, insert


def o(order_id, date, customer, qty, *, amount=None, gross_profit=None, line_no=1):
    return dict(order_id=order_id, line_no=line_no, order_date=d(date), customer_code=customer, quantity=qty,
                amount=amount, gross_profit=gross_profit)


def by_id(table):
    return {r["customer_id"]: r for r in table.to_pylist()}


def at(store, as_of: str) -> Period:
    return resolve_period(store.con, as_of)


def month(store, m: str) -> Period:
    install_views(store.con)
    return resolve_period(store.con, None, m)


# ---------------------------------------------------------------------------------------------
# §1 / §3: what a purchase is, code_map windows, gross profit


@pytest.mark.parametrize("code_map", [False, True], ids=["no-code-map", "with-code-map"])
def test_a_zero_quantity_line_is_no_purchase(store, code_map):
    # P buys 10 t in May 2024 and has a 0 t line in June; Z has only a 0 t line (SPEC §3: quantity > 0).
    # The same with a code_map loaded (for another code): orders then resolve through the mapping join
    if code_map:
        insert(store, "code_map", [dict(erp_code="OTHER", customer_id="GROUP")])
    insert(store, "orders", [o("P1", "2024-05-10", "P", 10), o("P2", "2024-06-10", "P", 0),
                             o("Z1", "2024-06-10", "Z", 0)])
    lv = by_id(level(store.con, at(store, "2024-12-31"), store.settings).table)
    assert set(lv) == {"P"}                      # Z never purchased: not in the scored set
    rf = by_id(rfm(store.con, at(store, "2024-12-31"), store.settings, metric="volume").table)
    assert set(rf) == {"P"} and (rf["P"]["frequency"], rf["P"]["recency_days"]) == (1, 235)  # Dec 31 − May 10
    assert lv["P"]["purchase_months"] == 1       # June's 0 t line is no purchase month
    st = as_dicts(churn_status(store.con, month(store, "2024-12"), store.settings))
    # P: last purchase May → Dec = 7 idle months (June's line does not count) → churned; Z a prospect
    assert (st["P"]["last_purchase_date"], st["P"]["idle_months"], st["P"]["status"]) == (d("2024-05-10"), 7,
                                                                                          "churned")
    assert (st["Z"]["idle_months"], st["Z"]["status"]) == (None, "prospect")


def test_an_order_dated_valid_from_or_valid_to_maps_to_the_group(store):
    # ERP code X belongs to group G from 2024-03-01 through 2024-06-30, both days included
    insert(store, "code_map", [dict(erp_code="X", customer_id="G", valid_from=d("2024-03-01"),
                                    valid_to=d("2024-06-30"))])
    insert(store, "orders", [o("O1", "2024-02-29", "X", 1), o("O2", "2024-03-01", "X", 1),
                             o("O3", "2024-06-30", "X", 1), o("O4", "2024-07-01", "X", 1)])
    install_views(store.con)
    got = store.con.execute("SELECT order_id, customer_id FROM orders_resolved ORDER BY order_id").fetchall()
    assert got == [("O1", "X"), ("O2", "G"), ("O3", "G"), ("O4", "X")]


def test_a_given_gross_profit_wins_over_amount_minus_cost(store, tmp_path):
    # G1 states 毛利 30 although 金额 − 成本 = 40: the given value stands (SPEC §1); G2 has no 毛利 → 40;
    # G3 has neither cost nor 毛利 → null; G4 states 毛利 0 → 0 (a given zero is a value, not a gap)
    from crmtool.io.load import load_files  # here, so a loader mid-rewrite fails this test, not the module

    f = tmp_path / "orders.csv"
    f.write_text("订单号,订单日期,客户编码,数量,金额,成本,毛利\n"
                 "G1,2024-05-01,C1,1,100,60,30\n"
                 "G2,2024-05-02,C1,1,100,60,\n"
                 "G3,2024-05-03,C1,1,100,,\n"
                 "G4,2024-05-04,C1,1,100,60,0\n", encoding="utf-8")
    res = load_files(store, "orders", [f])
    assert (res.accepted, res.rejected) == (4, 0)
    got = dict(store.con.execute("SELECT order_id, gross_profit FROM orders ORDER BY order_id").fetchall())
    assert got == {"G1": Decimal("30.00"), "G2": Decimal("40.00"), "G3": None, "G4": Decimal("0.00")}


def test_currency_marks_and_thousands_separators_are_stripped(store, tmp_path):
    # SPEC §1: ¥ 元 and thousands separators go first; 80,000.00元 is 80000.00, and so the profit is computed
    from crmtool.io.load import load_files

    f = tmp_path / "orders.csv"
    f.write_text('订单号,订单日期,客户编码,数量,金额,成本\n'
                 'Y1,2024-05-01,C1,1,"80,000.00元",¥60000\n'
                 'Y2,2024-05-02,C1,1,"￥1,000",600元\n', encoding="utf-8")
    res = load_files(store, "orders", [f])
    assert (res.accepted, res.rejected) == (2, 0)
    got = store.con.execute("SELECT order_id, amount, cost, gross_profit FROM orders ORDER BY order_id").fetchall()
    assert got == [("Y1", Decimal("80000.00"), Decimal("60000.00"), Decimal("20000.00")),
                   ("Y2", Decimal("1000.00"), Decimal("600.00"), Decimal("400.00"))]


def test_a_huge_quantity_is_a_reject_or_a_total_row_never_an_error(store, tmp_path):
    # the largest quantity DECIMAL(18,6) holds is 999,999,999,999.999999 t; converting 10^8 t by the factor
    # 1000 once overflowed DECIMAL(18) inside the stage and failed the whole load, 合计 rows (skipped) included
    from crmtool.io.load import load_files

    f = tmp_path / "orders.csv"
    f.write_text("凭证号,行号,过账日期,客户编码,数量,单位\n"
                 "X1,1,2025-01-31,C1,181710105.838,吨\n"      # 1.8·10^8 t: fits
                 "X2,1,2025-01-31,C1,1000000000000,吨\n"      # 10^12: does not fit, a reject
                 "X3,1,2025-01-31,C1,999999999999000,kg\n"    # 10^15 kg = 10^12 t: likewise
                 "合计,,,,181710105.838,\n", encoding="utf-8")  # the file's total: no data
    res = load_files(store, "orders", [f])
    assert (res.accepted, res.rejected) == (1, 2)
    assert store.con.execute("SELECT quantity FROM orders").fetchall() == [(Decimal("181710105.838000"),)]
    assert sorted(r[0] for r in store.con.execute("SELECT line FROM rejects").fetchall()) == [3, 4]


def test_loading_a_file_again_replaces_its_rejects(store, tmp_path):
    # SPEC §1: a second load of a file with the same name and table replaces the rejects the first recorded,
    # so each bad row is counted once
    from crmtool.io.load import load_files

    f = tmp_path / "orders.csv"
    f.write_text("订单号,订单日期,客户编码,数量\nB1,2024-05-01,C1,五吨\nB2,2024-05-02,C1,3\n", encoding="utf-8")
    for _ in range(2):
        res = load_files(store, "orders", [f])
        assert (res.accepted, res.rejected) == (1, 1)
    assert store.con.execute("SELECT count(*) FROM rejects").fetchall()[0][0] == 1
    assert store.con.execute("SELECT count(*) FROM orders").fetchall()[0][0] == 1


# ---------------------------------------------------------------------------------------------
# §3: months, windows, month-end clamping


def test_add_months_clamps_to_the_month_end():
    assert add_months(dt.date(2024, 3, 31), -1) == dt.date(2024, 2, 29)   # leap year
    assert add_months(dt.date(2023, 3, 31), -1) == dt.date(2023, 2, 28)
    assert add_months(dt.date(2024, 2, 29), -12) == dt.date(2023, 2, 28)
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 3, 29), -1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 12, 15), 1) == dt.date(2025, 1, 15)
    assert add_months(dt.date(2025, 1, 15), -1) == dt.date(2024, 12, 15)
    assert add_months(dt.date(2024, 5, 31), -15) == dt.date(2023, 2, 28)
    assert Period(dt.date(2024, 2, 29), dt.date(2024, 2, 1)).window_start(12) == dt.date(2023, 2, 28)


def test_trailing_window_ending_29_february(store):
    # as-of 2024-02-29, 12 months: 2023-02-28 < order_date <= 2024-02-29
    insert(store, "orders", [o("X1", "2023-02-28", "X", 10), o("Y1", "2023-03-01", "Y", 5),
                             o("Z1", "2024-02-29", "Z", 1)])
    rows = by_id(pareto(store.con, at(store, "2024-02-29"), store.settings).table)
    assert {k: r["metric_value"] for k, r in rows.items()} == {"Y": 5.0, "Z": 1.0}


def test_default_month_and_as_of(store):
    # as-of defaults to the latest order date, even when that line is a return (SPEC §3)
    insert(store, "orders", [o("A", "2024-11-15", "A", 5), o("R", "2024-12-31", "A", -1)])
    p = resolve_period(store.con)
    assert (p.as_of, p.month) == (d("2024-12-31"), d("2024-12-01"))  # as-of is the month's last day: that month
    assert resolve_period(store.con, "2024-12-30").month == d("2024-11-01")  # partial month: the one before
    assert resolve_period(store.con, "2024-02-29").month == d("2024-02-01")
    assert resolve_period(store.con, "2023-02-28").month == d("2023-02-01")
    assert resolve_period(store.con, None, "2024-06").as_of == d("2024-06-30")
    assert resolve_period(store.con, "2024-11-30", "2024-11").month == d("2024-11-01")
    with pytest.raises(UsageError, match="--month 2024-12 starts after --as-of 2024-11-30"):
        resolve_period(store.con, "2024-11-30", "2024-12")  # December's volume judged at November's end


def test_window_edges_of_pareto_level_and_quadrant(store):
    # as-of 2024-06-30, 12 months: 2023-06-30 is outside, 2023-07-01 and 2024-06-30 inside, 2024-07-01 after
    insert(store, "orders", [
        o("A0", "2023-06-30", "A", 100, gross_profit=1000), o("A1", "2023-07-01", "A", 1, gross_profit=10),
        o("B1", "2024-06-30", "B", 2, gross_profit=20),
        o("C1", "2024-07-01", "C", 50, gross_profit=500),
    ])
    period = at(store, "2024-06-30")
    pa = pareto(store.con, period, store.settings).table
    assert [(r["customer_id"], r["metric_value"]) for r in pa.to_pylist()] == [("B", 2.0), ("A", 1.0)]
    lv = by_id(level(store.con, period, store.settings).table)
    assert {k: (r["volume"], r["gross_profit"]) for k, r in lv.items()} == {"A": (1, 10), "B": (2, 20)}
    qu = by_id(quadrant(store.con, period, store.settings).table)
    assert {k: r["gross_profit"] for k, r in qu.items()} == {"A": 10, "B": 20}
    rf = by_id(rfm(store.con, period, store.settings, metric="volume").table)
    assert {k: (r["recency_days"], r["monetary"]) for k, r in rf.items()} == {"A": (365, 1), "B": (0, 2)}


# ---------------------------------------------------------------------------------------------
# §4.1 RFM: high means strictly above the mean


def test_rfm_a_score_equal_to_the_mean_is_low(store):
    # K1..K5: K_i has i orders of 100 each, the last on 2024-(7+i)-01. Every dimension has five distinct
    # values, so each scores 1..5 (cume_dist k/5 · 5 = k) and every mean is exactly 3.
    rows = []
    for i in range(1, 6):
        cid = f"K{i}"
        rows.append(o(f"{cid}-last", f"2024-{7 + i:02d}-01", cid, 1, amount=100))
        rows += [o(f"{cid}-{j}", f"2024-0{j}-15", cid, 1, amount=100) for j in range(1, i)]
    insert(store, "orders", rows)
    got = by_id(rfm(store.con, at(store, "2024-12-31"), store.settings).table)
    assert {k: r["rfm_cell"] for k, r in got.items()} == {f"K{i}": f"{i}{i}{i}" for i in range(1, 6)}
    # K3 scores 3, 3, 3 = the means: low, low, low → general_winback (≥ would make it important_value)
    assert (got["K3"]["r_high"], got["K3"]["f_high"], got["K3"]["m_high"]) == (False, False, False)
    assert {k: r["segment"] for k, r in got.items()} == {
        "K1": "general_winback", "K2": "general_winback", "K3": "general_winback",
        "K4": "important_value", "K5": "important_value"}


def test_rfm_recency_ignores_a_later_return_line_of_the_same_order(store):
    # order R1: 10 t on 2024-11-01 and a return line of 2 t on 2024-12-15 (net 8 > 0: it counts);
    # recency is as-of − the order's latest PURCHASE line: Dec 31 − Nov 1 = 60, not Dec 31 − Dec 15 = 16
    insert(store, "orders", [o("R1", "2024-11-01", "R", 10, amount=1000, line_no=1),
                             o("R1", "2024-12-15", "R", -2, amount=-200, line_no=2),
                             o("S1", "2024-12-01", "S", 1, amount=100)])
    rows = by_id(rfm(store.con, at(store, "2024-12-31"), store.settings).table)
    assert (rows["R"]["frequency"], rows["R"]["recency_days"], rows["R"]["monetary"]) == (1, 60, 800)


def test_level_ties_are_ranked_by_customer_id(store):
    # B and A bought the same 5 t in the same month, no profit, no demand: equal composites. Ranked by
    # customer_id: A rank 1 (rank_pct 0 → diamond), B rank 2 (1/2 → ordinary)
    insert(store, "orders", [o("1", "2024-05-10", "B", 5), o("2", "2024-05-10", "A", 5)])
    rows = by_id(level(store.con, at(store, "2024-12-31"), store.settings).table)
    assert rows["A"]["composite"] == rows["B"]["composite"]
    assert [(k, rows[k]["rank"], rows[k]["suggested_level"]) for k in ("A", "B")] == [("A", 1, "diamond"),
                                                                                       ("B", 2, "ordinary")]


# ---------------------------------------------------------------------------------------------
# §4.4 scorecard: dekads, completion over plan, the balance formula


def test_scorecard_dekad_edges_balance_and_completion_cap(store):
    # November 2024 (no default special period touches it). Dekads: days 1–10, 11–20, 21–end.
    insert(store, "orders", [
        o("D1a", "2024-11-10", "D1", 10), o("D1b", "2024-11-11", "D1", 10), o("D1c", "2024-11-21", "D1", 10),
        o("D2a", "2024-11-01", "D2", 10), o("D2b", "2024-11-20", "D2", 10), o("D2c", "2024-11-30", "D2", 10),
        o("D3a", "2024-11-05", "D3", 30),                                    # everything in dekad 1
        o("D4a", "2024-11-05", "D4", 20), o("D4b", "2024-11-15", "D4", 10),  # 2/3, 1/3, 0
    ])
    insert(store, "plans", [dict(customer_id="D1", month=d("2024-11-01"), volume=15),   # 30 / 15 = 2 → capped
                            dict(customer_id="D2", month=d("2024-11-01"), volume=60),   # 30 / 60 = .5
                            dict(customer_id="D4", month=d("2024-11-01"), volume=0)])   # a plan of 0: no plan
    rows = by_id(scorecard(store.con, at(store, "2024-11-30"), store.settings).table)
    # balance = 100 · (1 − Σ|s_i − 1/3| / (4/3)):
    # D1, D2: 1/3 each → 100; D3: (2/3 + 1/3 + 1/3) / (4/3) = 1 → 0; D4: (1/3 + 0 + 1/3) / (4/3) = .5 → 50
    assert {k: r["balance"] for k, r in rows.items()} == pytest.approx({"D1": 100, "D2": 100, "D3": 0, "D4": 50})
    # completion = 100 · min(volume / plan, 1); no plan → 0
    assert {k: r["completion"] for k, r in rows.items()} == pytest.approx({"D1": 100, "D2": 50, "D3": 0, "D4": 0})
    assert {k: r["no_plan"] for k, r in rows.items()} == {"D1": False, "D2": False, "D3": True, "D4": True}


# ---------------------------------------------------------------------------------------------
# §4.3 / §4.11: share of wallet, purchase months, classes


def test_share_of_wallet_is_capped_at_one(store):
    insert(store, "customers", [dict(customer_id="W", name="w", annual_demand=100),
                                dict(customer_id="V", name="v", annual_demand=100)])
    insert(store, "orders", [o("W1", "2024-05-01", "W", 150), o("V1", "2024-05-01", "V", 50)])
    period = at(store, "2024-12-31")
    lv = by_id(level(store.con, period, store.settings).table)
    assert (lv["W"]["share_of_wallet"], lv["V"]["share_of_wallet"]) == (1.0, 0.5)   # min(150 / 100, 1)
    cl = by_id(customer_classes(store.con, period, store.settings))
    assert (cl["W"]["share_of_wallet"], cl["V"]["share_of_wallet"]) == (1.0, 0.5)


def test_purchase_months_skip_return_only_months(store):
    # purchases in May and July; June has only a return; August a purchase reversed in the same month
    insert(store, "orders", [o("P5", "2024-05-10", "P", 10), o("R6", "2024-06-10", "P", -2),
                             o("P7", "2024-07-10", "P", 10),
                             o("P8", "2024-08-10", "P", 5, line_no=1), o("P8", "2024-08-10", "P", -5, line_no=2)])
    period = at(store, "2024-12-31")
    assert by_id(level(store.con, period, store.settings).table)["P"]["purchase_months"] == 3  # May, Jul, Aug
    assert by_id(customer_classes(store.con, period, store.settings))["P"]["purchase_months"] == 3


def test_class_boundaries(store):
    insert(store, "customers", [
        dict(customer_id="LOY", name="x", annual_demand=100),
        dict(customer_id="SC3", name="x", competitor="中石化"),
        dict(customer_id="EDGE", name="x"),
        dict(customer_id="NONE", name="x", competitor=" None "),
    ])
    rows = []
    # CV1: 10 t in each of Jan–Jun 2024, nothing Jul–Dec: mean 5, variance 50 − 25 = 25, CV = 5/5 = 1.0
    rows += [o(f"CV1-{m}", f"2024-{m:02d}-10", "CV1", 10) for m in range(1, 7)]
    # CV5: 10 t in Jan–May: mean 50/12, variance 500/12 − (50/12)² → CV ≈ 1.18 > 1
    rows += [o(f"CV5-{m}", f"2024-{m:02d}-10", "CV5", 10) for m in range(1, 6)]
    # LOY: 9 purchase months Apr–Dec, 8 × 9 t + 8 t = 80 t of 100 → share exactly 0.8 and exactly 9 months
    rows += [o(f"LOY-{m}", f"2024-{m:02d}-10", "LOY", 9 if m < 12 else 8) for m in range(4, 13)]
    # SC3: exactly 3 purchase months, no annual demand, a competitor → scattered (≤ 3) before competitive
    rows += [o(f"SC3-{m}", f"2024-{m:02d}-10", "SC3", 1) for m in (10, 11, 12)]
    # EDGE: a purchase on 2023-12-31, the window's exclusive first bound, and 3 months in 2024 → 3 months
    rows += [o("EDGE-0", "2023-12-31", "EDGE", 1)] + [o(f"EDGE-{m}", f"2024-{m:02d}-10", "EDGE", 1)
                                                      for m in (10, 11, 12)]
    # NONE: 5 months, competitor written " None " → no competitor → regular
    rows += [o(f"NONE-{m}", f"2024-{m:02d}-10", "NONE", 1) for m in range(6, 11)]
    insert(store, "orders", rows)
    cl = by_id(customer_classes(store.con, at(store, "2024-12-31"), store.settings))
    assert cl["CV1"]["cv"] == 1.0 and cl["CV1"]["mobile"] is False     # mobile only when CV > 1.0
    assert cl["CV5"]["cv"] == pytest.approx((500 / 12 - (50 / 12) ** 2) ** 0.5 / (50 / 12))
    assert cl["CV5"]["mobile"] is True
    assert (cl["LOY"]["share_of_wallet"], cl["LOY"]["purchase_months"], cl["LOY"]["loyalty"]) == (0.8, 9, "loyal")
    assert (cl["SC3"]["purchase_months"], cl["SC3"]["loyalty"]) == (3, "scattered")
    assert (cl["EDGE"]["purchase_months"], cl["EDGE"]["loyalty"]) == (3, "scattered")
    assert (cl["NONE"]["purchase_months"], cl["NONE"]["loyalty"]) == (5, "regular")


# ---------------------------------------------------------------------------------------------
# §4.5 quadrant: contracts overlapping the window, fulfilment capped at 1


def test_contract_window_edges_and_fulfilment_cap(store):
    # window 2023-12-31 < date <= 2024-12-31. No profit, demand, reputation: value_score = 100 · .2 · min(f, 1)
    insert(store, "customers", [dict(customer_id="F1", name="x", positioning_fit=70),
                                dict(customer_id="F2", name="x", positioning_fit=70),
                                dict(customer_id="F3", name="x", positioning_fit=70, reputation=100,
                                     annual_demand=100)])
    insert(store, "orders", [o("F1", "2024-05-01", "F1", 50), o("F2", "2024-05-01", "F2", 300)])
    insert(store, "contracts", [
        # ends on the window's exclusive start: does not overlap
        dict(contract_id="K0", customer_id="F1", start_date=d("2023-01-01"), end_date=d("2023-12-31"), volume=900),
        dict(contract_id="K1", customer_id="F1", start_date=d("2024-01-01"), end_date=d("2024-12-31"), volume=100),
        # starts on as-of: overlaps
        dict(contract_id="K2", customer_id="F1", start_date=d("2024-12-31"), end_date=d("2025-12-31"), volume=100),
        dict(contract_id="K3", customer_id="F2", start_date=d("2024-01-01"), end_date=d("2024-12-31"), volume=100),
    ])
    rows = by_id(quadrant(store.con, at(store, "2024-12-31"), store.settings).table)
    # F1: 50 / (100 + 100) = .25 → 100 · .2 · .25 = 5; F2: 300 / 100 = 3 → capped at 1 → 20
    assert (rows["F1"]["fulfilment"], rows["F2"]["fulfilment"]) == (0.25, 3.0)
    assert (rows["F1"]["value_score"], rows["F2"]["value_score"]) == pytest.approx((5.0, 20.0))
    # F3: demand p = 1 and reputation 100 → 100 · (.2 + .2) = 40. The value cut is the median of 5, 20, 40:
    # F2's own score. A score equal to the cut is high (SPEC §4.5): F2 with fit 70 ≥ 60 is strategic
    assert rows["F3"]["value_score"] == pytest.approx(40.0) and rows["F2"]["value_cut"] == rows["F2"]["value_score"]
    assert {k: r["quadrant"] for k, r in rows.items()} == {"F1": "potential", "F2": "strategic", "F3": "strategic"}


# ---------------------------------------------------------------------------------------------
# §4.6–4.8 churn: idle buckets, the cycle window, purchases netted in a month, zero baselines


def test_idle_seven_is_bucket_seven_and_eight_is_eight_plus(store):
    insert(store, "orders", [line("S7", "2024-05-05", 1), line("S8", "2024-04-05", 1), line("S0", "2024-12-05", 1),
                             # SR bought in January and in December bought 5 t and returned 5 t: December
                             # has a purchase (net 0 all the same) → idle 0, not 11
                             line("SR", "2024-01-05", 1), line("SR", "2024-12-05", 5, "SR-dec"),
                             line("SR", "2024-12-06", -5, "SR-dec-r")])
    rows = churn_idle(store.con, month(store, "2024-12"), store.settings).to_pylist()
    assert len(rows) == 1  # no archive: one group, (none)
    r = rows[0]
    # May → Dec = 7 (churned_max: its own bucket); Apr → Dec = 8 → 8+
    assert (r["0"], r["7"], r["8+"], r["total"]) == (2, 1, 1, 4)
    assert sum(r[str(i)] for i in range(1, 7)) == 0


def test_cycle_window_excludes_its_first_day(store):
    # M = 2024-12: the cycle window is 2023-12-31 < date <= 2024-12-31
    insert(store, "orders", [
        # C: 2023-12-31 is outside; Jan 10, Jan 20, Feb 9 inside → gaps 10, 20 → median 15
        line("C", "2023-12-31", 1), line("C", "2024-01-10", 1), line("C", "2024-01-20", 1), line("C", "2024-02-09", 1),
        # D: only two purchase dates inside (Mar 1, Jun 1) → fewer than 3 → no cycle
        line("D", "2023-12-31", 1), line("D", "2024-03-01", 1), line("D", "2024-06-01", 1),
    ])
    rows = as_dicts(churn_status(store.con, month(store, "2024-12"), store.settings))
    assert rows["C"]["cycle_days"] == 15.0
    assert rows["C"]["overdue"] is True        # 2024-12-31 − 2024-02-09 = 326 days > 2 · 15
    assert rows["D"]["cycle_days"] is None and rows["D"]["overdue"] is None


def test_overdue_only_beyond_twice_the_cycle(store):
    # M = 2024-03: purchases Feb 20, Mar 1, Mar 11 (2024 is a leap year) → gaps 10, 10 → cycle 10;
    # days since the last purchase, to M's end: Mar 31 − Mar 11 = 20 = 2 · 10 → not overdue (needs > 20)
    insert(store, "orders", [line("E", "2024-02-20", 1), line("E", "2024-03-01", 1), line("E", "2024-03-11", 1),
                             line("L", "2024-02-20", 1), line("L", "2024-03-01", 1), line("L", "2024-03-10", 1)])
    rows = as_dicts(churn_status(store.con, month(store, "2024-03"), store.settings))
    assert (rows["E"]["cycle_days"], rows["E"]["days_since_purchase"], rows["E"]["overdue"]) == (10.0, 20, False)
    # L: gaps 10, 9 → median 9.5; 21 days > 19 → overdue
    assert (rows["L"]["cycle_days"], rows["L"]["days_since_purchase"], rows["L"]["overdue"]) == (9.5, 21, True)


def test_a_month_with_a_purchase_reversed_is_still_a_purchase_month(store):
    # N bought in Jan 2024 and again in Dec 2024, where 5 t were bought and 5 t returned (net 0)
    insert(store, "orders", [line("N", "2024-01-10", 5), line("N", "2024-12-10", 5, "N-dec"),
                             line("N", "2024-12-11", -5, "N-dec-r")])
    row = as_dicts(churn_status(store.con, month(store, "2024-12"), store.settings))["N"]
    assert (row["idle_months"], row["status"], row["last_purchase_date"]) == (0, "active", d("2024-12-10"))


def test_a_zero_baseline_never_breaches_even_with_a_negative_month(store):
    # Jan 10 t, nothing Feb–Apr, a return of 4 t in May: May's baseline (Feb–Apr) is 0 → no breach,
    # although −4 < 0.7 · 0
    insert(store, "orders", monthly_orders("N", "2024-01", [10]) + [line("N", "2024-05-10", -4)])
    row = as_dicts(churn_warn(store.con, month(store, "2024-05"), store.settings, include_all=True))["N"]
    assert (row["volume"], row["baseline"], row["ratio"]) == (-4.0, 0.0, None)
    assert (row["breach_streak"], row["severity"]) == (0, "none")


def test_backtest_counts_a_reversed_purchase_month_as_a_purchase(store):
    # A buys in January 2024 and in April buys 5 t and returns 5 t (a purchase month, net 0); B buys every
    # month. Judged month April, horizon 6: A is idle 0 at April and churns in August (idle 4 = active_max
    # + 1) → lead 4; the no-purchase rule (idle ≥ 2 at April) flags nobody; the warning flags A (April's net 0
    # < 0.7 · (5 + 0 + 0) / 3) with a lead of 4 months
    insert(store, "orders", monthly_orders("B", "2024-01", [10] * 12)
           + [line("A", "2024-01-10", 5), line("A", "2024-04-10", 5, "A-apr"), line("A", "2024-04-11", -5, "A-apr-r")])
    t = churn_backtest(store.con, store.settings, first=d("2024-04-01"), last=d("2024-04-01"),
                       data_end=d("2024-12-01"), horizon=6)
    rule = {r["rule"]: r for r in t.to_pylist() if r["severity"] == "any"}["no_purchase_2m"]
    assert (rule["customer_months"], rule["churned"], rule["warned"], rule["hits"]) == (2, 1, 0, 0)
    warning = {(r["rule"], r["severity"]): r for r in t.to_pylist()}[("warning", "any")]
    assert (warning["churned"], warning["warned"], warning["hits"], warning["median_lead_months"]) == (1, 1, 1, 4.0)
