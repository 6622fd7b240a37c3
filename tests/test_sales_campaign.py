"""Campaign effect (SPEC §4.10): 2 targets and 2 controls with did, did_yoy, incremental,
per-manager incremental and sensitivities worked out by hand; managers add up to the campaign."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmtool.config import Settings
from crmtool.runner import Runner
from crmtool.sales.campaign import COLUMNS
from crmtool.store import open_store
from tests.conftest import d, insert


def o(oid, date, cust, qty, category="diesel", amount=None, cost=None):
    return dict(order_id=oid, order_date=d(date), customer_code=cust, quantity=qty, category=category,
                amount=amount, cost=cost)


@pytest.fixture
def camp_store(store):
    """K1: W = 2024-03-11..03-20 (10 days), B = 03-01..03-10, Y = 2023-03-11..03-20, diesel only,
    targets T1, T2 listed. K2: W = 2024-06-01..06-10, targets = gold customers (T1)."""
    insert(store, "customers", [dict(customer_id="T1", name="t1", manager_id="M1", level="gold"),
                                dict(customer_id="T2", name="t2", manager_id="M2", level="silver"),
                                dict(customer_id="K1", name="k1", manager_id="M1", level="silver")])
    insert(store, "campaigns", [
        dict(campaign_id="K1", name="春季柴油", start_date=d("2024-03-11"), end_date=d("2024-03-20"),
             customers=["T1", "T2"], products=["diesel"]),
        dict(campaign_id="K2", name="夏季", start_date=d("2024-06-01"), end_date=d("2024-06-10"), levels=["gold"]),
    ])
    insert(store, "orders", [
        # targets
        o("t1w", "2024-03-15", "T1", 30, amount=300, cost=240), o("t1b", "2024-03-05", "T1", 10),
        o("t1y", "2023-03-20", "T1", 20),
        o("t2w", "2024-03-11", "T2", 20), o("t2b", "2024-03-01", "T2", 15), o("t2r", "2024-03-10", "T2", -5),
        # controls: K1 (in the archive) and K2 (orders only, bought in Y only)
        o("k1w", "2024-03-20", "K1", 12), o("k1b", "2024-03-02", "K1", 10), o("k1y", "2023-03-11", "K1", 8),
        o("k1g", "2024-03-12", "K1", 100, category="gasoline"),       # not a campaign product
        o("k2w", "2024-03-16", "K2", 6), o("k2y", "2023-03-12", "K2", 10),
        # not controls: N bought only in W; G bought only gasoline in B
        o("nw", "2024-03-14", "N", 50), o("gb", "2024-03-03", "G", 40, category="gasoline"),
        # K2: T1 B 5, W 10; K1 B 10, W 10
        o("t1k2w", "2024-06-05", "T1", 10), o("t1k2b", "2024-05-25", "T1", 5),
        o("k1k2w", "2024-06-02", "K1", 10), o("k1k2b", "2024-05-31", "K1", 10),
    ])
    return store


def run(store, **options):
    return Runner(store, save=False, allow_future=True).run("sales.campaign", **options)


def test_targets_against_controls(camp_store):
    res = run(camp_store, campaign_id="K1")
    assert res.table.column_names[: len(COLUMNS)] == COLUMNS
    t, c = res.table.to_pylist()
    assert (t["group"], t["customers"], t["mean_w"], t["mean_b"], t["mean_y"]) == ("target", 2, 25, 10, 10)
    assert (c["group"], c["customers"], c["mean_w"], c["mean_b"], c["mean_y"]) == ("control", 2, 9, 5, 9)
    assert t["profit_w"] == 30 and t["profit_b"] == 0
    assert t["lift_before"] == pytest.approx(1.5) and c["lift_before"] == pytest.approx(0.8)
    for row in (t, c):
        assert row["did"] == pytest.approx((25 - 10) - (9 - 5))        # 11 t per customer
        assert row["did_yoy"] == pytest.approx((25 - 10) - (9 - 9))    # 15
        assert row["incremental"] == pytest.approx(22)
    assert (t["b_start"], t["b_end"], t["y_start"], t["y_end"]) == (d("2024-03-01"), d("2024-03-10"),
                                                                    d("2023-03-11"), d("2023-03-20"))


def test_per_customer_and_manager(camp_store):
    res = run(camp_store, campaign_id="K1")
    customers = {r["customer_id"]: r for r in res.extras["customers"].to_pylist()}
    assert list(customers) == ["T1", "T2"]
    assert (customers["T1"]["volume_w"], customers["T1"]["volume_b"], customers["T1"]["volume_y"]) == (30, 10, 20)
    assert (customers["T2"]["volume_w"], customers["T2"]["volume_b"], customers["T2"]["volume_y"]) == (20, 10, 0)
    # control (W / B − 1) = 9 / 5 − 1 = 0.8
    assert customers["T1"]["sensitivity"] == pytest.approx(2 - 0.8)
    assert customers["T2"]["sensitivity"] == pytest.approx(1 - 0.8)
    managers = {r["manager_id"]: r for r in res.extras["managers"].to_pylist()}
    assert (managers["M1"]["targets"], managers["M1"]["volume_w"], managers["M1"]["volume_b"]) == (1, 30, 10)
    assert managers["M1"]["incremental"] == pytest.approx((30 - 10) - 1 * (9 - 5))
    assert managers["M2"]["incremental"] == pytest.approx((20 - 10) - 1 * (9 - 5))
    assert sum(m["incremental"] for m in managers.values()) == pytest.approx(22)


def test_targets_by_level_and_mean_sensitivity(camp_store):
    res = run(camp_store)
    rows = {(r["campaign_id"], r["group"]): r for r in res.table.to_pylist()}
    k2t, k2c = rows[("K2", "target")], rows[("K2", "control")]
    assert (k2t["customers"], k2t["mean_w"], k2t["mean_b"]) == (1, 10, 5)
    assert (k2c["customers"], k2c["mean_w"], k2c["mean_b"]) == (1, 10, 10)
    assert k2t["did"] == pytest.approx(5) and k2t["incremental"] == pytest.approx(5)
    assert k2t["did_yoy"] == pytest.approx(0)  # nobody bought in 2023-06-01..10
    sens = {r["customer_id"]: r for r in res.extras["sensitivity"].to_pylist()}
    # T1: K1 1.2, K2 (10 / 5 − 1) − (10 / 10 − 1) = 1 → mean 1.1; T2: K1 only
    assert sens["T1"]["sensitivity"] == pytest.approx(1.1) and sens["T1"]["campaigns"] == 2
    assert sens["T2"]["sensitivity"] == pytest.approx(0.2) and sens["T2"]["campaigns"] == 1
    assert res.summary["incremental"] == pytest.approx(22 + 5)


def test_null_sensitivity_and_leap_year_window(store):
    insert(store, "campaigns", [dict(campaign_id="L", name="闰日", start_date=d("2024-02-29"),
                                     end_date=d("2024-03-01"), customers=["A", "B"])])
    insert(store, "orders", [o("1", "2024-02-29", "A", 10), o("2", "2024-02-28", "A", 5),
                             o("3", "2024-03-01", "B", 4), o("4", "2023-02-28", "C", 6),
                             o("5", "2024-03-01", "C", 3)])
    res = run(store)
    t, c = res.table.to_pylist()
    # B = 2024-02-27..28; Y = 2023-02-28..2023-03-01 (29 February capped at month end)
    assert (t["b_start"], t["b_end"], t["y_start"], t["y_end"]) == (d("2024-02-27"), d("2024-02-28"),
                                                                    d("2023-02-28"), d("2023-03-01"))
    assert c["customers"] == 1 and c["mean_b"] == 0 and c["lift_before"] is None  # C bought in Y only
    sens = {r["customer_id"]: r["sensitivity"] for r in res.extras["customers"].to_pylist()}
    assert sens == {"A": None, "B": None}  # the control's B is 0 (and B's own B is 0)
    assert t["did"] == pytest.approx((7 - 2.5) - (3 - 0))


amounts = st.lists(st.tuples(st.sampled_from(["T1", "T2", "T3", "C1", "C2", "C3"]),
                             st.sampled_from(["2024-03-12", "2024-03-05", "2023-03-15", "2024-04-01"]),
                             st.integers(-10, 40)), min_size=1, max_size=20)


@given(amounts)
def test_managers_add_up_to_the_campaign(rows):
    store = open_store(":memory:", Settings(), wait=0)
    try:
        insert(store, "customers", [dict(customer_id="T1", name="a", manager_id="M1"),
                                    dict(customer_id="T2", name="b", manager_id="M2"),
                                    dict(customer_id="T3", name="c", manager_id="M1")])
        insert(store, "campaigns", [dict(campaign_id="K", name="k", start_date=d("2024-03-11"),
                                         end_date=d("2024-03-20"), customers=["T1", "T2", "T3"])])
        insert(store, "orders", [o(str(i), day, c, q) for i, (c, day, q) in enumerate(rows)]
               + [o("base", "2024-03-01", "C9", 1)])
        res = Runner(store, save=False, allow_future=True).run("sales.campaign", as_of=dt.date(2024, 4, 1))
    finally:
        store.close()
    target = res.table.to_pylist()[0]
    managers = res.extras["managers"].to_pylist()
    assert sum(m["targets"] for m in managers) == target["customers"] == 3
    assert sum(m["incremental"] for m in managers) == pytest.approx(target["incremental"], abs=1e-9)
