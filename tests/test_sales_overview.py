"""Sales overview (SPEC §4.10): a hand-counted overview on 2024-02-29 (progress 29/29 and 60/366)."""

from __future__ import annotations

import pytest

from crmtool.runner import Runner
from crmtool.sales.overview import COLUMNS
from tests.conftest import d, insert


def o(oid, date, cust, qty, category):
    return dict(order_id=oid, order_date=d(date), customer_code=cust, quantity=qty, category=category)


@pytest.fixture
def leap_store(store):
    insert(store, "managers", [dict(manager_id="M1", name="张一"), dict(manager_id="M2", name="李二")])
    insert(store, "customers", [dict(customer_id="C1", name="c1", manager_id="M1"),
                                dict(customer_id="C2", name="c2", manager_id="M2")])
    insert(store, "orders", [
        o("G1", "2024-02-29", "C1", 10, "gasoline"),
        o("G2", "2024-02-10", "C1", 20, "gasoline"),
        o("G3", "2024-01-15", "C1", 30, "gasoline"),
        o("G4", "2024-01-29", "C1", 5, "gasoline"),    # last day of January inside mom's base
        o("G5", "2024-01-30", "X9", 7, "gasoline"),    # after it; X9 is in no archive
        o("G6", "2023-02-28", "C1", 40, "gasoline"),   # a year earlier capped at 2023-02-28
        o("G7", "2023-03-01", "C1", 1000, "gasoline"),
        o("D1", "2024-02-01", "C2", 50, "diesel"),
        o("D2", "2024-02-15", "C2", -10, "diesel"),    # a return nets
        o("D3", "2023-01-10", "C2", 100, "diesel"),
    ])
    insert(store, "plans", [
        dict(customer_id="C1", month=d("2024-02-01"), volume=25, category="gasoline"),
        dict(customer_id="C2", month=d("2024-02-01"), volume=50),            # no category: total row only
        dict(customer_id="C1", month=d("2024-03-01"), volume=25, category="gasoline"),
        dict(customer_id="C2", month=d("2024-12-01"), volume=60, category="柴油"),
        dict(manager_id="M1", month=d("2024-02-01"), volume=1000),           # customer plans exist: ignored
        dict(customer_id="C1", month=d("2023-02-01"), volume=999, category="gasoline"),
    ])
    return store


def run(store, as_of):
    return Runner(store, save=False).run("sales.overview", as_of=as_of)


def test_overview_on_29_february(leap_store):
    res = run(leap_store, "2024-02-29")
    assert res.table.column_names[: len(COLUMNS)] == COLUMNS
    rows = {r["category"]: r for r in res.table.to_pylist()}
    assert list(rows) == ["gasoline", "diesel", "other", "total"]
    g, di, ot, t = rows["gasoline"], rows["diesel"], rows["other"], rows["total"]
    assert (g["day"], g["mtd"], g["ytd"], g["monthly_avg"]) == (10, 30, 72, 36)
    assert (di["day"], di["mtd"], di["ytd"], di["monthly_avg"]) == (0, 40, 40, 20)
    assert (ot["day"], ot["mtd"], ot["ytd"], ot["monthly_avg"]) == (0, 0, 0, 0)
    assert (t["day"], t["mtd"], t["ytd"], t["monthly_avg"]) == (10, 70, 112, 56)
    # plans: customer scope (the manager plan is ignored); uncategorised plans on the total row only
    assert (g["month_plan"], g["year_plan"]) == (25, 50)
    assert (di["month_plan"], di["year_plan"]) == (None, 60)
    assert (ot["month_plan"], ot["year_plan"]) == (None, None)
    assert (t["month_plan"], t["year_plan"]) == (75, 160)
    assert g["month_completion"] == pytest.approx(1.2) and g["year_completion"] == pytest.approx(72 / 50)
    assert di["month_completion"] is None and di["year_completion"] == pytest.approx(40 / 60)
    assert t["month_completion"] == pytest.approx(70 / 75) and t["year_completion"] == pytest.approx(0.7)
    for r in rows.values():
        assert r["month_progress"] == 1.0
        assert r["year_progress"] == pytest.approx(60 / 366)
    # yoy against 2023-01-01..2023-02-28; mom against 2024-01-01..2024-01-29
    assert g["yoy"] == pytest.approx(72 / 40 - 1) and g["mom"] == pytest.approx(30 / 35 - 1)
    assert di["yoy"] == pytest.approx(40 / 100 - 1) and di["mom"] is None
    assert ot["yoy"] is None and ot["mom"] is None
    assert t["yoy"] == pytest.approx(112 / 140 - 1) and t["mom"] == pytest.approx(1.0)
    # warning: diesel's yoy < 0; total's month completion 0.933 < 1 - 0.02; other: null terms never warn
    assert [r["warning"] for r in rows.values()] == [False, True, False, True]


def test_manager_table_largest_first(leap_store):
    res = run(leap_store, "2024-02-29")
    managers = res.extras["managers"].to_pylist()
    assert [(m["manager_id"], m["ytd"]) for m in managers] == [("M1", 65), ("M2", 40), (None, 7)]
    assert [m["share"] for m in managers] == pytest.approx([65 / 112, 40 / 112, 7 / 112])
    assert managers[0]["name"] == "张一"


def test_manager_plans_when_no_customer_plan(store):
    insert(store, "orders", [o("1", "2024-03-15", "C1", 40, "diesel"), o("2", "2024-03-01", "C1", 20, "gasoline")])
    insert(store, "plans", [dict(manager_id="M1", month=d("2024-03-01"), volume=80),
                            dict(manager_id="M2", month=d("2024-03-01"), volume=20, category="diesel")])
    rows = {r["category"]: r for r in run(store, "2024-03-15").table.to_pylist()}
    assert rows["total"]["month_plan"] == 100 and rows["total"]["year_plan"] == 100
    assert rows["diesel"]["month_plan"] == 20 and rows["gasoline"]["month_plan"] is None
    assert rows["total"]["month_completion"] == pytest.approx(0.6)
    assert rows["total"]["month_progress"] == pytest.approx(15 / 31)
    assert rows["total"]["year_progress"] == pytest.approx(75 / 366)
    assert rows["total"]["monthly_avg"] == 20  # ytd 60 / month 3
    # no line a year earlier or a month earlier: yoy and mom null, never infinite
    assert rows["total"]["yoy"] is None and rows["total"]["mom"] is None
    # completion 0.6 < 15/31 - 0.02? no (0.464); year 0.6 ≥ 0.205 - 0.02: no warning
    assert rows["total"]["warning"] is False


def test_mom_caps_the_previous_month(store):
    insert(store, "orders", [o("1", "2024-03-31", "C1", 30, "diesel"), o("2", "2024-02-29", "C1", 10, "diesel"),
                             o("3", "2024-02-01", "C1", 5, "diesel")])
    t = run(store, "2024-03-31").table.to_pylist()[-1]
    assert t["mom"] == pytest.approx(30 / 15 - 1)  # 2024-03-31 → February 1..29
