"""Churn status (SPEC §4.6) on hand-computed fixtures."""

from __future__ import annotations


from crmtool.churn import STATUS_COLUMNS, churn_status
from crmtool.facts import install_views, resolve_period
from tests.churn_fixtures import as_dicts, line
from tests.conftest import d, insert, make_store


def status_at(store, month: str, settings=None):
    install_views(store.con)
    return as_dicts(churn_status(store.con, resolve_period(store.con, None, month), settings or store.settings))



def test_columns_are_spec_columns_first(st):
    insert(st, "orders", [line("A", "2024-01-05", 10)])
    install_views(st.con)
    t = churn_status(st.con, resolve_period(st.con, None, "2024-01"), st.settings)
    assert t.column_names[:len(STATUS_COLUMNS)] == STATUS_COLUMNS


def test_idle_months_across_a_year_boundary(st):
    insert(st, "orders", [
        line("A", "2023-06-01", 5), line("A", "2023-11-20", 5),   # last purchase Nov 2023
        line("B", "2023-06-01", 5), line("B", "2023-10-31", 5),   # last purchase Oct 2023
        line("C", "2023-06-01", 5), line("C", "2024-02-29", 5),   # bought in M itself
    ])
    rows = status_at(st, "2024-02")
    # Nov 2023 → Feb 2024: Dec, Jan, Feb = 3 months → active (≤ 3)
    assert rows["A"]["idle_months"] == 3 and rows["A"]["status"] == "active"
    # Oct 2023 → Feb 2024: 4 months → churned (4–7)
    assert rows["B"]["idle_months"] == 4 and rows["B"]["status"] == "churned"
    # purchase in M → 0
    assert rows["C"]["idle_months"] == 0 and rows["C"]["status"] == "active"
    assert rows["A"]["last_purchase_date"] == d("2023-11-20")


def test_returns_never_count_as_a_purchase_and_lost_at_8(st):
    insert(st, "orders", [
        line("R", "2023-01-15", 40), line("R", "2023-06-10", 40),
        line("R", "2024-02-10", -40),                              # a return in Feb 2024: not a purchase
        line("L7", "2023-01-15", 40), line("L7", "2023-07-15", 40),  # Jul → Feb = 7
    ])
    rows = status_at(st, "2024-02")
    # R's last purchase is Jun 2023: Jun → Feb 2024 = 8 months → lost (≥ 8), the return changes nothing
    assert rows["R"]["last_purchase_date"] == d("2023-06-10")
    assert rows["R"]["idle_months"] == 8 and rows["R"]["status"] == "lost"
    assert rows["L7"]["idle_months"] == 7 and rows["L7"]["status"] == "churned"


def test_new_versus_active_and_prospects(st):
    insert(st, "customers", [{"customer_id": "P", "name": "never bought", "manager_id": "M1"}])
    insert(st, "orders", [
        line("N", "2024-01-03", 5),                          # first purchase M−2 (Jan for Mar) → new
        line("A", "2023-12-30", 5), line("A", "2024-03-01", 5),  # first purchase M−3 → active
        line("Z", "2024-04-02", 5),                          # only order after M → not a customer yet in March
        line("Q", "2024-02-01", -3),                         # only a return → never purchased → prospect
    ])
    rows = status_at(st, "2024-03")
    assert rows["N"]["status"] == "new" and rows["N"]["idle_months"] == 2
    assert rows["A"]["status"] == "active"
    assert rows["P"]["status"] == "prospect" and rows["P"]["idle_months"] is None
    assert rows["P"]["manager_id"] == "M1"
    assert "Z" not in rows  # orders after M are ignored, and Z is in no archive
    assert rows["Q"]["status"] == "prospect" and rows["Q"]["in_archive"] is False


def test_orders_after_m_are_ignored(st):
    insert(st, "orders", [line("A", "2023-09-05", 5), line("A", "2024-05-05", 5)])
    rows = status_at(st, "2024-02")
    # Sep 2023 → Feb 2024 = 5: the May purchase is after M
    assert rows["A"]["idle_months"] == 5 and rows["A"]["status"] == "churned"
    assert rows["A"]["last_purchase_date"] == d("2023-09-05")


def test_cycle_days_and_overdue(st):
    insert(st, "orders", [
        # gaps 10 and 20 days → median 15; days since = Feb 29 − Jan 31 = 29 ≤ 2·15 → not overdue
        line("D1", "2024-01-01", 1), line("D1", "2024-01-11", 1), line("D1", "2024-01-31", 1),
        # gaps 2, 2 → 2; days since = Feb 29 − Jan 5 = 55 > 4 → overdue
        line("D2", "2024-01-01", 1), line("D2", "2024-01-03", 1), line("D2", "2024-01-05", 1),
        # three lines on two dates: two distinct purchase dates < 3 → no cycle, overdue unknown
        line("D3", "2024-01-01", 1, "o1"), line("D3", "2024-01-01", 2, "o2"), line("D3", "2024-01-09", 1),
        # a purchase 13 months back is outside the 12-month window: dates Jan 20, Feb 10 only → no cycle
        line("D4", "2023-01-20", 1), line("D4", "2024-01-20", 1), line("D4", "2024-02-10", 1),
        # a return between purchases is not a purchase date: gaps 10, 10 → 10
        line("D5", "2024-02-01", 1), line("D5", "2024-02-05", -1), line("D5", "2024-02-11", 1),
        line("D5", "2024-02-21", 1),
    ])
    rows = status_at(st, "2024-02")
    assert rows["D1"]["cycle_days"] == 15.0 and rows["D1"]["overdue"] is False
    assert rows["D1"]["days_since_purchase"] == 29
    assert rows["D2"]["cycle_days"] == 2.0 and rows["D2"]["overdue"] is True
    assert rows["D3"]["cycle_days"] is None and rows["D3"]["overdue"] is None
    assert rows["D4"]["cycle_days"] is None
    assert rows["D5"]["cycle_days"] == 10.0


def test_config_changes_the_bounds(tmp_path):
    s = make_store(tmp_path, {"churn": {"active_max": 1, "churned_max": 2}})
    insert(s, "orders", [line("A", "2023-01-05", 1), line("A", "2023-10-05", 1),
                         line("B", "2023-01-05", 1), line("B", "2023-12-05", 1)])
    rows = status_at(s, "2024-01")
    # A: Oct → Jan = 3 > churned_max 2 → lost; B: Dec → Jan = 1 ≤ active_max → active
    assert rows["A"]["status"] == "lost" and rows["B"]["status"] == "active"
    s.close()
