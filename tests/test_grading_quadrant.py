"""Four-quadrant (SPEC §4.5): value and fit scores, cuts at exactly the median and at 60, unassessed."""

from __future__ import annotations

import pytest

from crmtool.facts import resolve_period
from crmtool.grading import quadrant
from crmtool.grading.quadrant import COLUMNS
from tests.conftest import d, insert, make_store


def fill(store):
    insert(store, "customers", [
        dict(customer_id="Q1", name="x", annual_demand=1000, reputation=90, positioning_fit=80, capability_fit=70,
             values_fit=90),
        dict(customer_id="Q2", name="x", annual_demand=500, reputation=50, positioning_fit=60, capability_fit=60),
        dict(customer_id="Q3", name="x", positioning_fit=50),
        dict(customer_id="Q4", name="x"),
        dict(customer_id="Q5", name="x", positioning_fit=70, capability_fit=70, values_fit=70),
    ])
    insert(store, "orders", [
        dict(order_id="1", order_date=d("2024-05-01"), customer_code="Q1", quantity=50, gross_profit=300),
        dict(order_id="2", order_date=d("2024-05-01"), customer_code="Q2", quantity=10, gross_profit=200),
        dict(order_id="3", order_date=d("2024-05-01"), customer_code="Q3", quantity=10, gross_profit=100),
    ])
    insert(store, "contracts", [dict(contract_id="K1", customer_id="Q1", start_date=d("2024-01-01"),
                                     end_date=d("2024-12-31"), volume=100),
                                # ended before the window: ignored
                                dict(contract_id="K0", customer_id="Q1", start_date=d("2022-01-01"),
                                     end_date=d("2023-06-30"), volume=900)])


def by_id(table):
    return {r["customer_id"]: r for r in table.to_pylist()}


def test_scores_and_cut_at_exactly_the_median(store):
    fill(store)
    res = quadrant(store.con, resolve_period(store.con, "2024-12-31"), store.settings)
    assert res.table.column_names[:5] == COLUMNS
    r = by_id(res.table)
    # p(gross profit) over Q1..Q3: 1, 2/3, 1/3 (Q4, Q5 none -> 0); p(annual demand) over Q1, Q2: 1, 1/2
    # Q1: 100·(.4·1 + .2·min(50/100, 1) + .2·1 + .2·.9) = 88
    # Q2: 100·(.4·2/3 + 0 + .2·.5 + .2·.5) = 46.67;  Q3: 100·(.4·1/3) = 13.33;  Q4, Q5: 0
    assert [r[k]["value_score"] for k in ("Q1", "Q2", "Q3", "Q4", "Q5")] == pytest.approx(
        [88, 100 * (0.4 * 2 / 3 + 0.2), 100 * 0.4 / 3, 0, 0])
    assert r["Q1"]["fulfilment"] == pytest.approx(0.5)
    # fit: mean of the given ones; Q2 (60 + 60)/2 = 60 -> exactly the cut -> high; Q4 none -> null
    assert [r[k]["fit_score"] for k in ("Q1", "Q2", "Q3", "Q4", "Q5")] == [80, 60, 50, None, 70]
    # median of 0, 0, 13.33, 46.67, 88 is Q3's own score: Q3 is high value (≥ cut), low fit -> key
    assert res.summary["value_cut"] == pytest.approx(r["Q3"]["value_score"])
    assert {k: v["quadrant"] for k, v in r.items()} == {"Q1": "strategic", "Q2": "strategic", "Q3": "key",
                                                       "Q4": "unassessed", "Q5": "potential"}
    assert {k: v["service_tier"] for k, v in r.items()} == {
        "Q1": "strategic_team", "Q2": "strategic_team", "Q3": "one_customer_one_plan", "Q4": "standardised",
        "Q5": "one_customer_one_plan"}


def test_value_cut_from_config_and_labels(tmp_path):
    store = make_store(tmp_path, {"quadrant": {"value_cut": 50.0}})
    fill(store)
    r = by_id(quadrant(store.con, resolve_period(store.con, "2024-12-31"), store.settings, lang="zh").table)
    # cut 50: Q2 (46.67, fit 60) -> potential; Q3 (13.33, fit 50) -> ordinary
    assert {k: v["quadrant"] for k, v in r.items()} == {"Q1": "strategic", "Q2": "potential", "Q3": "ordinary",
                                                       "Q4": "unassessed", "Q5": "potential"}
    assert r["Q3"]["quadrant_label"] == "普通客户" and r["Q4"]["quadrant_label"] == "未评估"
    assert r["Q1"]["service_tier_label"] == "战略客户团队服务"
    assert r["Q5"]["service_tier_label"] == "一户一案"
    store.close()
