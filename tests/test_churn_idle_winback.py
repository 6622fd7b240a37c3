"""Idle buckets and win-back (SPEC §4.8) on hand-computed fixtures."""

from __future__ import annotations

import datetime as dt

import pytest

from crmtool.churn import WINBACK_COLUMNS, churn_idle, churn_winback, idle_buckets, winback_total
from crmtool.errors import UsageError
from crmtool.facts import install_views, resolve_period
from tests.churn_fixtures import as_dicts, line, monthly_orders
from tests.conftest import insert



def test_idle_buckets_per_manager_region_level(st):
    insert(st, "customers", [
        {"customer_id": "A", "name": "a", "manager_id": "M1", "region": "兰州", "level": "gold"},
        {"customer_id": "B", "name": "b", "manager_id": "M1", "region": "兰州"},
        {"customer_id": "C", "name": "c", "manager_id": "M2", "region": "天水", "level": "gold"},
        {"customer_id": "P", "name": "prospect", "manager_id": "M2"},
    ])
    insert(st, "orders", [
        line("A", "2024-12-05", 1),   # idle 0 at 2024-12
        line("B", "2024-04-05", 1),   # Apr → Dec = 8 → bucket 8+
        line("C", "2024-09-05", 1),   # Sep → Dec = 3
        line("X", "2023-01-05", 1),   # not in the archive: Jan 2023 → Dec 2024 = 23 → 8+, group (none)
    ])
    install_views(st.con)
    period = resolve_period(st.con, None, "2024-12")
    assert idle_buckets(st.settings) == ["0", "1", "2", "3", "4", "5", "6", "7", "8+"]
    by_m = {r["manager_id"]: r for r in churn_idle(st.con, period, st.settings, by="manager").to_pylist()}
    assert by_m["M1"]["0"] == 1 and by_m["M1"]["8+"] == 1 and by_m["M1"]["total"] == 2
    assert by_m["M2"]["3"] == 1 and by_m["M2"]["total"] == 1          # the prospect is not counted
    assert by_m["(none)"]["8+"] == 1
    t = churn_idle(st.con, period, st.settings, by="region")
    assert t.column_names == ["region", *idle_buckets(st.settings), "total"]
    assert t.column("region").to_pylist() == ["兰州", "天水", "(none)"]  # (none) last
    by_l = {r["level"]: r for r in churn_idle(st.con, period, st.settings, by="level").to_pylist()}
    assert by_l["gold"]["0"] == 1 and by_l["gold"]["3"] == 1
    with pytest.raises(UsageError):
        churn_idle(st.con, period, st.settings, by="industry")


def test_winback_returns_after_four_idle_months(st):
    insert(st, "customers", [{"customer_id": "W", "name": "w", "manager_id": "M1"}])
    insert(st, "orders",
           monthly_orders("W", "2024-01", [50, 0, 0, 0, 0, 30, 20])   # Jan, then Jun: May idle = 4 → return
           + monthly_orders("T", "2024-01", [50, 0, 0, 0, 30])         # Apr idle = 3 → not a return
           + monthly_orders("R", "2024-01", [50, 0, 0, 0, 0, 0])       # no purchase after Jan …
           + [line("R", "2024-06-10", -5)]                             # … a return line is not a win-back
           + monthly_orders("Z", "2024-07", [9]))
    install_views(st.con)
    t = churn_winback(st.con, dt.date(2024, 1, 1), dt.date(2024, 7, 1), st.settings)
    assert t.column_names[:len(WINBACK_COLUMNS)] == WINBACK_COLUMNS
    rows = as_dicts(t)
    assert set(rows) == {"W"}
    w = rows["W"]
    # return month June, idle 4 in May, 30 t in June, 30 + 20 = 50 t since the return through July
    assert w["return_month"] == "2024-06" and w["idle_months_before"] == 4
    assert w["return_volume"] == 30 and w["volume_since_return"] == 50 and w["returns"] == 1
    assert w["manager_id"] == "M1"
    assert winback_total(t) == (1, 50.0)
    # a period that ends before the return sees nothing; a period through June counts 30 t
    assert churn_winback(st.con, dt.date(2024, 1, 1), dt.date(2024, 5, 1), st.settings).num_rows == 0
    june = as_dicts(churn_winback(st.con, dt.date(2024, 6, 1), dt.date(2024, 6, 1), st.settings))
    assert june["W"]["volume_since_return"] == 30


def test_winback_two_returns_in_a_period(st):
    # bought Jan; back in Jun (idle 4 in May); gone again; back in Nov (idle 4 in Oct)
    insert(st, "orders", monthly_orders("W", "2024-01", [10, 0, 0, 0, 0, 20, 0, 0, 0, 0, 40]))
    install_views(st.con)
    w = as_dicts(churn_winback(st.con, dt.date(2024, 1, 1), dt.date(2024, 11, 1), st.settings))["W"]
    # first return June; volume since June = 20 + 40 = 60
    assert w["return_month"] == "2024-06" and w["returns"] == 2 and w["volume_since_return"] == 60


def test_winback_rejects_reversed_period(st):
    insert(st, "orders", [line("A", "2024-01-05", 1)])
    install_views(st.con)
    with pytest.raises(UsageError):
        churn_winback(st.con, dt.date(2024, 5, 1), dt.date(2024, 1, 1), st.settings)
