"""Level suggestion (SPEC §4.3), classes (§4.11) and grade migration against a snapshot."""

from __future__ import annotations

import pytest

from crmtool.facts import resolve_period
from crmtool.grading import compare_levels, customer_classes, level, store_result
from crmtool.grading.level import COLUMNS
from tests.conftest import d, insert, make_store


def o(order_id, date, customer, qty, gross_profit=None, line_no=1):
    return dict(order_id=order_id, line_no=line_no, order_date=d(date), customer_code=customer, quantity=qty,
                gross_profit=gross_profit)


def by_id(table):
    return {r["customer_id"]: r for r in table.to_pylist()}


@pytest.fixture
def twenty(store):
    # L01..L20 buy i tons once in 2024-05; no gross profit, no annual demand (null factors -> 0);
    # purchase_months all 1 (tie -> p = 1). composite_i = 0.30 · i/20 + 0.20 · 1
    insert(store, "orders", [o(f"O{i}", "2024-05-10", f"L{i:02d}", i) for i in range(1, 21)])
    insert(store, "customers", [
        dict(customer_id="L20", name="x", level="diamond"),   # suggested diamond -> same
        dict(customer_id="L19", name="x", level="gold"),      # platinum -> up
        dict(customer_id="L13", name="x", level="platinum"),  # gold -> down
        dict(customer_id="L01", name="x", level="VIP"),       # not in the scheme -> new
    ])
    return store


def test_quotas_and_change(twenty):
    res = level(twenty.con, resolve_period(twenty.con, "2024-12-31"), twenty.settings)
    assert res.table.column_names[:10] == COLUMNS
    rows = by_id(res.table)
    assert rows["L20"]["composite"] == pytest.approx(0.30 * 20 / 20 + 0.20)
    assert rows["L01"]["composite"] == pytest.approx(0.30 * 1 / 20 + 0.20)
    # rank_pct = (rank − 1)/20: rank 1 (0) diamond (< .05); ranks 2–3 (.05, .10) platinum (< .15);
    # ranks 4–8 (.15 … .35) gold (< .40); ranks 9–20 ordinary
    level_of = {k: r["suggested_level"] for k, r in rows.items()}
    assert level_of["L20"] == "diamond"
    assert [level_of[f"L{i:02d}"] for i in (19, 18)] == ["platinum", "platinum"]
    assert [level_of[f"L{i:02d}"] for i in range(17, 12, -1)] == ["gold"] * 5
    assert all(level_of[f"L{i:02d}"] == "ordinary" for i in range(1, 13))
    assert res.summary["levels"] == {"diamond": 1, "platinum": 2, "gold": 5, "ordinary": 12}
    assert [rows[k]["change"] for k in ("L20", "L19", "L13", "L01", "L02")] == ["same", "up", "down", "new", "new"]
    assert rows["L01"]["current_level"] == "VIP"
    assert res.summary["key_customers"] == 8  # diamond, platinum, gold


def test_null_factors_score_zero(store):
    # X: 10 t, profit 100, annual demand 20 (share of wallet .5); Y: 30 t, no profit, no demand
    insert(store, "orders", [o("1", "2024-05-10", "X", 10, 100), o("2", "2024-05-11", "Y", 30)])
    insert(store, "customers", [dict(customer_id="X", name="x", annual_demand=20, level="gold")])
    rows = by_id(level(store.con, resolve_period(store.con, "2024-12-31"), store.settings).table)
    x, y = rows["X"], rows["Y"]
    assert (x["volume_score"], y["volume_score"]) == (0.5, 1.0)
    assert (x["gross_profit_score"], y["gross_profit_score"]) == (1.0, 0.0)  # p over the known ones; null -> 0
    assert (x["share_of_wallet_score"], y["share_of_wallet_score"]) == (1.0, 0.0)
    assert (x["annual_demand_score"], y["annual_demand_score"]) == (1.0, 0.0)
    assert (x["purchase_months_score"], y["purchase_months_score"]) == (1.0, 1.0)
    # X: .3·.5 + .25 + .2 + .15 + .1 = .85; Y: .3 + .2 = .5
    assert x["composite"] == pytest.approx(0.85) and y["composite"] == pytest.approx(0.5)
    assert x["share_of_wallet"] == pytest.approx(0.5)
    # N = 2: X rank 1 -> diamond (up from gold); Y rank 2 -> (2-1)/2 = .5 -> ordinary, not archived -> new
    assert (x["suggested_level"], x["change"], y["suggested_level"], y["change"]) == ("diamond", "up", "ordinary",
                                                                                      "new")


def test_group_scheme_and_weights_from_config(tmp_path):
    store = make_store(tmp_path, {"level": {"scheme": "group", "weights": {"volume": 1.0, "gross_profit": 0,
                                                                             "purchase_months": 0,
                                                                             "share_of_wallet": 0,
                                                                             "annual_demand": 0}}})
    insert(store, "orders", [o(f"O{i}", "2024-05-10", f"G{i:02d}", i) for i in range(1, 51)])
    res = level(store.con, resolve_period(store.con, "2024-12-31"), store.settings, lang="zh")
    rows = by_id(res.table)
    assert rows["G50"]["composite"] == pytest.approx(1.0)  # volume only: p = 50/50
    # cumulative quotas .02, .07, .20, .50 on rank_pct = (rank − 1)/50: rank 1 (0) group; ranks 2–4
    # (.02, .04, .06) diamond; 5–10 (.08 … .18) gold; 11–25 (.20 … .48) quality; 26–50 ordinary
    assert res.summary["levels"] == {"group": 1, "diamond": 3, "gold": 6, "quality": 15, "ordinary": 25}
    assert rows["G50"]["level_label"] == "集团级" and rows["G01"]["level_label"] == "普通"
    assert rows["G50"]["key_customer"] and not rows["G40"]["key_customer"]  # G40 is rank 11: quality
    store.close()


def test_demand_class_mobile_and_loyalty(store):
    months = [f"2024-{m:02d}-15" for m in range(4, 13)]  # 9 months
    insert(store, "customers", [
        dict(customer_id="LOYAL", name="x", annual_demand=100),
        dict(customer_id="QUAL", name="x", annual_demand=100),
        dict(customer_id="SCAT", name="x", annual_demand=499.99),
        dict(customer_id="COMP", name="x", annual_demand=500, competitor="中石化"),
        dict(customer_id="REG", name="x", annual_demand=10000, competitor="无"),
        dict(customer_id="POT", name="x", annual_demand=2000),
        dict(customer_id="BIG", name="x", annual_demand=1999.99),
    ])
    rows = [o(f"L{i}", m, "LOYAL", 10) for i, m in enumerate(months)]  # 90 t of 100 -> .9, 9 months
    rows += [o("Q1", "2024-11-01", "QUAL", 25), o("Q2", "2024-12-01", "QUAL", 25)]  # .5, 2 months
    rows += [o("S1", "2024-11-01", "SCAT", 1), o("S2", "2024-12-01", "SCAT", 1)]  # 2 months
    rows += [o(f"C{i}", m, "COMP", 1) for i, m in enumerate(months[:5])]  # 5 months, a competitor
    rows += [o(f"R{i}", m, "REG", 1) for i, m in enumerate(months[:5])]  # 5 months, competitor 无
    rows += [o("B1", "2024-12-01", "BIG", 120)]  # one month of 12: CV = sqrt(120²/12 − 10²)/10 = 3.3
    rows += [o(f"E{m}", f"2024-{m:02d}-01", "EVEN", 10) for m in range(1, 13)]  # CV 0, no archive
    insert(store, "orders", rows)
    period = resolve_period(store.con, "2024-12-31")
    cls = by_id(customer_classes(store.con, period, store.settings))
    assert {k: r["loyalty"] for k, r in cls.items()} == {
        "LOYAL": "loyal", "QUAL": "quality", "SCAT": "scattered", "COMP": "competitive", "REG": "regular",
        "POT": "potential", "BIG": "scattered", "EVEN": "regular"}
    assert {k: r["demand_class"] for k, r in cls.items()} == {
        "LOYAL": "small", "QUAL": "small", "SCAT": "small", "COMP": "medium", "REG": "extra_large",
        "POT": "large", "BIG": "medium", "EVEN": None}
    assert cls["BIG"]["mobile"] and cls["BIG"]["cv"] == pytest.approx((120 ** 2 / 12 - 100) ** 0.5 / 10)
    assert not cls["EVEN"]["mobile"] and cls["EVEN"]["cv"] == pytest.approx(0)
    # the same classes appear as extra columns of grade level (scored set only: POT has no purchase)
    lv = by_id(level(store.con, period, store.settings, lang="zh").table)
    assert "POT" not in lv
    assert lv["LOYAL"]["loyalty"] == "loyal" and lv["LOYAL"]["loyalty_label"] == "忠诚"
    assert lv["BIG"]["demand_class"] == "medium" and lv["BIG"]["mobile"] is True


def test_a_share_of_wallet_of_exactly_0_8_is_loyal(store):
    # 8 × 0.25 t + 0.4 t = 2.4 t of an annual demand of 3 t: 0.8 exactly (a double gives 0.7999999999999999),
    # in 9 purchase months -> loyal (SPEC §4.11: share_of_wallet ≥ 0.8 and ≥ 9 purchase months)
    insert(store, "customers", [dict(customer_id="Y1", name="x", annual_demand=3)])
    months = ["2023-07", "2023-08", "2023-09", "2023-10", "2023-11", "2023-12", "2024-01", "2024-02"]
    rows = [o(f"Y{i}", f"{m}-10", "Y1", 0.25) for i, m in enumerate(months)] + [o("Y9", "2024-03-10", "Y1", 0.4)]
    insert(store, "orders", rows + [o("Z1", "2024-06-30", "Z", 1)])
    period = resolve_period(store.con, "2024-06-30")
    cls = by_id(customer_classes(store.con, period, store.settings))
    assert cls["Y1"]["share_of_wallet"] == 0.8 and cls["Y1"]["purchase_months"] == 9
    assert cls["Y1"]["loyalty"] == "loyal"
    assert by_id(level(store.con, period, store.settings).table)["Y1"]["loyalty"] == "loyal"


def test_compare_computes_the_missing_snapshot_and_builds_the_matrix(twenty):
    con = twenty.con
    insert(twenty, "orders", [o("LATE", "2024-11-01", "L01", 100)])  # L01 jumps to the top by December
    now = level(con, resolve_period(con, "2024-12-31"), twenty.settings)
    store_result(twenty, now, twenty.settings)
    res = compare_levels(twenty, now, twenty.settings, "2024-06-30")  # no snapshot yet: computed and stored
    assert con.execute("SELECT count(*) FROM snapshots WHERE analysis = 'level' AND period = '2024-06-30'"
                       ).fetchall()[0][0] == 1
    rows = by_id(res.table)
    assert rows["L01"]["previous_level"] == "ordinary" and rows["L01"]["suggested_level"] == "diamond"
    assert rows["L01"]["migration"] == "up"
    assert rows["L20"]["previous_level"] == "diamond" and rows["L20"]["migration"] == "down"
    matrix = {(r["previous_level"], r["suggested_level"]): r["customers"] for r in res.extras["migration"].to_pylist()}
    assert sum(matrix.values()) == 20
    assert matrix[("ordinary", "diamond")] == 1 and matrix[("diamond", "platinum")] == 1
    # December: L01 (101 t, 2 purchase months) ranks 1 → diamond, L20 2 and L19 3 → platinum, L18..L14 gold,
    # L13..L02 ordinary. Against June (L20 diamond, L19–L18 platinum, L17–L13 gold): L01 up; L20, L18, L13
    # down; the other 16 the same
    assert {k: v for k, v in res.summary["migration"].items() if v} == {"up": 1, "down": 3, "same": 16}
    assert sorted(k for k, r in rows.items() if r["migration"] == "down") == ["L13", "L18", "L20"]
    assert any("previous" in line for line in res.lines)
