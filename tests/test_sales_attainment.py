"""Attainment (SPEC §4.10): expected = expected_volume / 12 × months, hand-counted per customer,
per group and the under-target list by shortfall."""

from __future__ import annotations

import pytest

from crmtool.errors import UsageError
from crmtool.runner import Runner
from crmtool.sales.attainment import COLUMNS
from tests.conftest import d, insert


def o(oid, date, cust, qty):
    return dict(order_id=oid, order_date=d(date), customer_code=cust, quantity=qty)


@pytest.fixture
def att_store(store):
    insert(store, "customers", [
        dict(customer_id="C1", name="c1", region="East", manager_id="M1", level="gold", expected_volume=120,
             annual_demand=300),
        dict(customer_id="C2", name="c2", region="East", manager_id="M2", level="gold", expected_volume=240,
             annual_demand=1000),
        dict(customer_id="C3", name="c3", region="East", expected_volume=0),     # ≤ 0: expected null
        dict(customer_id="C4", name="c4", region="West"),                        # none: left out
        dict(customer_id="C5", name="c5", region="West", manager_id="M1", expected_volume=60),
    ])
    insert(store, "orders", [
        o("1", "2024-01-10", "C1", 10), o("2", "2024-02-10", "C1", 10), o("3", "2024-03-05", "C1", -2),
        o("4", "2024-03-06", "C1", 5), o("5", "2024-02-01", "C2", 70), o("6", "2024-04-01", "C5", 99),
        o("7", "2024-01-20", "C3", 50), o("8", "2023-12-31", "C2", 80),
    ])
    return store


def run(store, **options):
    return Runner(store, save=False, allow_future=True).run("sales.attainment", **options)


def test_quarter_per_customer(att_store):
    res = run(att_store, quarter="2024Q1")
    assert res.table.column_names[: len(COLUMNS)] == COLUMNS
    rows = {r["customer_id"]: r for r in res.table.to_pylist()}
    assert list(rows) == ["C1", "C2", "C3", "C5"]
    # SPEC §4.10 exact readings: expected = expected_volume / 12 × months, null when ≤ 0
    assert (rows["C3"]["expected"], rows["C3"]["actual"], rows["C3"]["attainment"],
            rows["C3"]["under_target"]) == (None, 50, None, None)
    assert (rows["C1"]["expected"], rows["C1"]["actual"]) == (30, 23)
    assert rows["C1"]["attainment"] == pytest.approx(23 / 30) and rows["C1"]["under_target"] is True
    assert (rows["C2"]["expected"], rows["C2"]["actual"], rows["C2"]["under_target"]) == (60, 70, False)
    assert (rows["C5"]["expected"], rows["C5"]["actual"], rows["C5"]["attainment"]) == (15, 0, 0)
    assert res.period == "2024Q1"


def test_groups_and_under_list(att_store):
    res = run(att_store, quarter="2024Q1", by="region")
    groups = res.extras["groups"].to_pylist()
    assert [(g["region"], g["customers"], g["expected"], g["actual"], g["under_count"]) for g in groups] == [
        ("East", 3, 90, 143, 1), ("West", 1, 15, 0, 1)]
    assert groups[0]["attainment"] == pytest.approx(143 / 90) and groups[1]["attainment"] == 0
    under = res.extras["under_target"].to_pylist()
    assert [(u["customer_id"], u["shortfall"]) for u in under] == [("C5", 15), ("C1", 7)]


def test_month_threshold_is_strict(att_store):
    rows = {r["customer_id"]: r for r in run(att_store, month="2024-01").table.to_pylist()}
    assert (rows["C1"]["expected"], rows["C1"]["actual"], rows["C1"]["attainment"]) == (10, 10, 1.0)
    assert rows["C1"]["under_target"] is False  # attainment 1.0 is not < 1.0


def test_year(att_store):
    rows = {r["customer_id"]: r for r in run(att_store, year="2024").table.to_pylist()}
    assert (rows["C5"]["expected"], rows["C5"]["actual"]) == (60, 99)


def test_by_manager_level_and_classes(att_store):
    by_manager = run(att_store, quarter="2024Q1", by="manager").extras["groups"].to_pylist()
    assert [(g["manager_id"], g["customers"], g["actual"]) for g in by_manager] == [("M1", 2, 23), ("M2", 1, 70),
                                                                                       (None, 1, 50)]
    by_level = run(att_store, quarter="2024Q1", by="level").extras["groups"].to_pylist()
    assert [(g["level"], g["customers"]) for g in by_level] == [("gold", 2), (None, 2)]  # C5 and C3
    # demand classes from annual_demand (SPEC §4.11): 300 small, 1000 medium, none null
    by_class = run(att_store, quarter="2024Q1", by="demand_class").extras["groups"].to_pylist()
    assert [(g["demand_class"], g["customers"]) for g in by_class] == [("medium", 1), ("small", 1), (None, 2)]
    by_loyalty = run(att_store, quarter="2024Q1", by="loyalty").extras["groups"].to_pylist()
    assert sum(g["customers"] for g in by_loyalty) == 4


def test_bad_by(att_store):
    with pytest.raises(UsageError):
        run(att_store, quarter="2024Q1", by="colour")
