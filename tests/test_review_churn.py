"""Review: churn rules checked against SPEC §4.6–4.8 to the letter (edge cases not in the other tests).

Passing tests pin behaviour verified as correct; xfail(strict) tests document deviations."""

from __future__ import annotations

import pytest

from crmtool.churn import (STATUS_COLUMNS, WARN_COLUMNS, WINBACK_COLUMNS, churn_idle, churn_status, churn_warn,
                           churn_winback)
from crmtool.facts import install_views, resolve_period
from crmtool.io.load import load_files
from tests.churn_fixtures import as_dicts, line, monthly_orders
from tests.conftest import d, insert


def _period(store, month):
    install_views(store.con)
    return resolve_period(store.con, None, month)


def status_at(store, month):
    return as_dicts(churn_status(store.con, _period(store, month), store.settings))


def warn_at(store, month, **kw):
    return as_dicts(churn_warn(store.con, _period(store, month), store.settings, include_all=True, **kw))


# --------------------------------------------------------------------------- §4.6 status


def test_review_new_window_m_minus_2_across_year_boundary(store):
    insert(store, "orders", [
        line("N", "2023-11-30", 1),            # Nov for Jan = M−2 → new
        line("A", "2023-10-31", 1), line("A", "2024-01-02", 1),  # first purchase M−3 → active
        line("R", "2023-10-01", -1), line("R", "2023-12-01", 1),  # a return before does not make it older → new
    ])
    rows = status_at(store, "2024-01")
    assert rows["N"]["status"] == "new" and rows["N"]["idle_months"] == 2
    assert rows["A"]["status"] == "active" and rows["A"]["idle_months"] == 0
    assert rows["R"]["status"] == "new"


def test_review_status_bounds_3_4_7_8(store):
    # M = 2024-12; last purchase k months before
    insert(store, "orders", [line("P0", "2023-01-01", 1)] + [
        line(f"I{k}", f"2024-{12 - k:02d}-15", 1) for k in (3, 4, 7, 8)] + [
        line(f"I{k}", "2023-01-15", 1) for k in (3, 4, 7, 8)])  # first purchase long ago: not new
    rows = status_at(store, "2024-12")
    assert [rows[f"I{k}"]["status"] for k in (3, 4, 7, 8)] == ["active", "churned", "churned", "lost"]
    assert [rows[f"I{k}"]["idle_months"] for k in (3, 4, 7, 8)] == [3, 4, 7, 8]


def test_review_return_in_m_does_not_reset_idle_or_last_purchase(store):
    insert(store, "orders", [line("A", "2023-01-10", 5), line("A", "2024-02-10", 5), line("A", "2024-06-20", -5)])
    rows = status_at(store, "2024-06")
    assert rows["A"]["idle_months"] == 4 and rows["A"]["status"] == "churned"
    assert rows["A"]["last_purchase_date"] == d("2024-02-10")


def test_review_cycle_ignores_orders_after_m(store):
    # purchases Jan 1, Jan 11, Jan 21 (gaps 10, 10); a purchase on Mar 2 is after M = Feb
    insert(store, "orders", [line("C", "2024-01-01", 1), line("C", "2024-01-11", 1), line("C", "2024-01-21", 1),
                             line("C", "2024-03-02", 1)])
    rows = status_at(store, "2024-02")
    assert rows["C"]["cycle_days"] == 10.0
    # days since = Feb 29 − Jan 21 = 39 > 2·10 → overdue
    assert rows["C"]["overdue"] is True
    assert rows["C"]["last_purchase_date"] == d("2024-01-21")


def test_review_overdue_is_strictly_greater(store):
    # gaps 10, 10 → cycle 10; last purchase Feb 9 → days to Feb 29 = 20 = 2·10 → not overdue
    insert(store, "orders", [line("E", "2024-01-20", 1), line("E", "2024-01-30", 1), line("E", "2024-02-09", 1)])
    rows = status_at(store, "2024-02")
    assert rows["E"]["cycle_days"] == 10.0 and rows["E"]["overdue"] is False


def test_review_status_columns_exact_order(store):
    insert(store, "orders", [line("A", "2024-01-05", 1)])
    t = churn_status(store.con, _period(store, "2024-01"), store.settings)
    assert t.column_names[:7] == STATUS_COLUMNS == ["customer_id", "last_purchase_date", "idle_months", "status",
                                                    "cycle_days", "overdue", "manager_id"]


def test_review_customer_with_only_orders_after_m_is_not_listed(store):
    insert(store, "orders", [line("A", "2024-01-05", 1), line("Z", "2024-04-02", 5)])
    rows = status_at(store, "2024-02")
    assert "Z" not in rows


# --------------------------------------------------------------------------- §4.7 warn


def test_review_warn_baseline_zero_months_and_exact_ratio(store):
    insert(store, "orders",
           monthly_orders("X", "2024-01", [90, 0, 0, 21])      # Apr baseline (90+0+0)/3 = 30; 21 = 0.70·30 → no breach
           + monthly_orders("Y", "2024-01", [90, 0, 0, 20.99])  # 20.99 < 21 → breach
           + monthly_orders("Z", "2024-05", [1]))               # only so Apr is not the last month
    rows = warn_at(store, "2024-04")
    assert rows["X"]["baseline"] == pytest.approx(30.0)
    assert rows["X"]["breach_streak"] == 0 and rows["X"]["severity"] == "none"
    # Y also breached in Feb (0 < 0.7·30) and Mar (0 < 0.7·30) → streak 3, not key → medium
    assert rows["Y"]["breach_streak"] == 3 and rows["Y"]["severity"] == "medium"


def test_review_warn_ignores_orders_after_m(store):
    insert(store, "orders", monthly_orders("A", "2024-01", [80, 80, 80, 0, 500]))
    rows = warn_at(store, "2024-04")
    assert rows["A"]["volume"] == 0 and rows["A"]["baseline"] == pytest.approx(80.0)
    assert rows["A"]["breach_streak"] == 1


def test_review_warn_returns_net_against_volume(store):
    insert(store, "orders", monthly_orders("A", "2024-01", [30, 30, 30, 30])
           + [line("A", "2024-04-20", -20)])  # April net 10 < 0.7·30 → breach
    rows = warn_at(store, "2024-04")
    assert rows["A"]["volume"] == 10 and rows["A"]["breach_streak"] == 1
    # decline: Apr 10 < Mar 30
    assert rows["A"]["decline_streak"] == 1


def test_review_key_from_chinese_archive_level_loaded(store, tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("客户编码,客户名称,客户经理,客户级别,维护级别\nK,甲,M1,黄金,主任\nO,乙,M1,普通,主任\n", encoding="utf-8")
    load_files(store, "customers", [f])
    insert(store, "orders", monthly_orders("K", "2024-01", [80, 80, 80, 0, 0])
           + monthly_orders("O", "2024-01", [80, 80, 80, 0, 0]) + monthly_orders("Z", "2024-06", [1]))
    rows = warn_at(store, "2024-05")
    assert rows["K"]["key"] is True and rows["K"]["severity"] == "high" and rows["K"]["notify"] == "M1; 主任"
    assert rows["O"]["key"] is False and rows["O"]["severity"] == "medium" and rows["O"]["notify"] == "M1"


def test_review_decline_streak_equal_volume_breaks(store):
    insert(store, "orders", monthly_orders("A", "2024-01", [50, 40, 40, 30, 20]) + monthly_orders("Z", "2024-06", [1]))
    rows = warn_at(store, "2024-05")
    assert rows["A"]["decline_streak"] == 2


def test_review_warn_columns_exact_order(store):
    insert(store, "orders", monthly_orders("A", "2024-01", [1]))
    t = churn_warn(store.con, _period(store, "2024-01"), store.settings, include_all=True)
    assert t.column_names[:11] == WARN_COLUMNS == ["customer_id", "month", "volume", "baseline", "ratio",
                                                   "breach_streak", "decline_streak", "key", "severity",
                                                   "manager_id", "notify"]


# --------------------------------------------------------------------------- §4.8 idle / winback


def test_review_winback_boundary_and_returns_only(store):
    insert(store, "orders",
           monthly_orders("W", "2024-01", [10, 0, 0, 0, 0, 7])      # May idle 4 → June return
           + monthly_orders("T", "2024-02", [10, 0, 0, 0, 7])       # May idle 3 → no
           + monthly_orders("R", "2024-01", [10]) + [line("R", "2024-06-03", -2)]  # return line only
           + monthly_orders("F", "2024-06", [5]))                   # first purchase ever → not a win-back
    install_views(store.con)
    t = churn_winback(store.con, d("2024-06-01"), d("2024-06-01"), store.settings)
    assert t.column_names[:len(WINBACK_COLUMNS)] == WINBACK_COLUMNS
    rows = as_dicts(t)
    assert set(rows) == {"W"}
    assert rows["W"]["return_month"] == "2024-06" and rows["W"]["idle_months_before"] == 4


def test_review_idle_ignores_orders_after_m(store):
    insert(store, "orders", [line("A", "2024-01-05", 1), line("A", "2024-06-05", 1)])
    t = churn_idle(store.con, _period(store, "2024-03"), store.settings, by="manager")
    r = t.to_pylist()[0]
    assert r["2"] == 1 and r["total"] == 1
