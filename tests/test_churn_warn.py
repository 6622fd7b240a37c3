"""Early warning (SPEC §4.7) on hand-computed fixtures, including the seed's own case."""

from __future__ import annotations

import pytest

from crmtool.churn import WARN_COLUMNS, churn_warn
from crmtool.errors import UsageError
from crmtool.facts import install_views, resolve_period
from tests.churn_fixtures import as_dicts, line, monthly_orders
from tests.conftest import insert, make_store


def warn_at(store, month: str, **kw):
    install_views(store.con)
    return churn_warn(store.con, resolve_period(store.con, None, month), store.settings, **kw)



@pytest.fixture
def seed_case(st):
    """Two customers buying 80 t a month Jan–Jun 2024 who stop from July; K is key (gold)."""
    insert(st, "customers", [
        {"customer_id": "K", "name": "key", "manager_id": "M1", "level": "gold", "maintenance_level": "主任"},
        {"customer_id": "N", "name": "not key", "manager_id": "M2", "level": "ordinary", "maintenance_level": "主任"},
    ])
    insert(st, "orders", monthly_orders("K", "2024-01", [80] * 6) + monthly_orders("N", "2024-01", [80] * 6)
           + monthly_orders("N", "2024-10", [5]))  # N buys again in October (only so the store reaches Oct)
    return st


def test_columns_are_spec_columns_first(seed_case):
    t = warn_at(seed_case, "2024-07")
    assert t.column_names[:len(WARN_COLUMNS)] == WARN_COLUMNS


def test_seed_case_warned_in_first_empty_month_high_in_second_if_key(seed_case):
    # July: baseline (80+80+80)/3 = 80; 0 < 0.7·80 = 56 → breach, streak 1
    jul = as_dicts(warn_at(seed_case, "2024-07"))
    assert jul["K"]["baseline"] == pytest.approx(80.0) and jul["K"]["breach_streak"] == 1
    assert jul["K"]["ratio"] == 0.0
    assert jul["K"]["severity"] == "medium"          # key and streak 1
    assert jul["N"]["severity"] == "low"             # streak 1
    assert jul["K"]["notify"] == "M1"                # the role only when high
    # August: baseline (80+80+0)/3 = 53.33; 0 < 37.33 → streak 2
    aug = as_dicts(warn_at(seed_case, "2024-08"))
    assert aug["K"]["baseline"] == pytest.approx(160 / 3) and aug["K"]["breach_streak"] == 2
    assert aug["K"]["severity"] == "high" and aug["K"]["key"] is True
    assert aug["K"]["notify"] == "M1; 主任"
    assert aug["N"]["severity"] == "medium" and aug["N"]["notify"] == "M2"
    # September: baseline 80/3 = 26.67 → streak 3, still high
    sep = as_dicts(warn_at(seed_case, "2024-09"))
    assert sep["K"]["breach_streak"] == 3 and sep["K"]["severity"] == "high"
    # October: baseline (0+0+0)/3 = 0 → a zero baseline never breaches; K drops out of the list
    oct_ = as_dicts(warn_at(seed_case, "2024-10", include_all=True))
    assert oct_["K"]["baseline"] == 0 and oct_["K"]["ratio"] is None
    assert oct_["K"]["breach_streak"] == 0 and oct_["K"]["severity"] == "none"
    assert "K" not in as_dicts(warn_at(seed_case, "2024-10"))


def test_zero_baseline_never_breaches(st):
    # first purchase in M: baseline of the 3 months before is 0 → no breach whatever the volume
    insert(st, "orders", monthly_orders("A", "2024-01", [0, 0, 0, 1]) + monthly_orders("B", "2024-01", [7, 0, 0, 0]))
    rows = as_dicts(warn_at(st, "2024-04", include_all=True))
    assert rows["A"]["breach_streak"] == 0 and rows["A"]["severity"] == "none"
    # B bought only in January: April's baseline is Jan–Mar = (7+0+0)/3 = 2.33 > 0, and 0 < 0.7·2.33 → breach;
    # so were February (Nov–Jan: 7/3) and March (Dec–Feb: 7/3) → streak 3 → medium (not key)
    assert rows["B"]["baseline"] == pytest.approx(7 / 3)
    assert (rows["B"]["breach_streak"], rows["B"]["severity"]) == (3, "medium")


def test_exactly_seventy_percent_is_not_a_breach(st):
    # baseline 80; 56 = 0.7·80 exactly → not below; 55.9 → below
    insert(st, "orders", monthly_orders("E", "2024-01", [80, 80, 80, 56]) + monthly_orders("F", "2024-01", [80, 80, 80, 55.9]))
    rows = as_dicts(warn_at(st, "2024-04", include_all=True))
    assert rows["E"]["breach_streak"] == 0 and rows["E"]["severity"] == "none"
    assert rows["F"]["breach_streak"] == 1 and rows["F"]["severity"] == "low"


def test_streak_broken_by_one_good_month(st):
    # Apr 50 vs baseline 100 → breach; May 100 vs (100+100+50)/3 = 83.3 → 100 ≥ 58.3, no breach;
    # Jun 50 vs (100+50+100)/3 = 83.3 → 50 < 58.3, breach → streak 1, not 2
    insert(st, "orders", monthly_orders("S", "2024-01", [100, 100, 100, 50, 100, 50]))
    assert as_dicts(warn_at(st, "2024-04"))["S"]["breach_streak"] == 1
    assert "S" not in as_dicts(warn_at(st, "2024-05"))
    jun = as_dicts(warn_at(st, "2024-06"))["S"]
    assert jun["breach_streak"] == 1 and jun["severity"] == "low"


def test_decline_streak_is_broken_by_equal_volumes(st):
    # 100, 90, 90, 80, 70: May < Apr, Apr < Mar, Mar = Feb (breaks) → 2
    insert(st, "orders", monthly_orders("D", "2024-01", [100, 90, 90, 80, 70]))
    rows = as_dicts(warn_at(st, "2024-05", include_all=True))
    assert rows["D"]["decline_streak"] == 2
    # and May is no breach: baseline (90+90+80)/3 = 86.67, 70 ≥ 60.67
    assert rows["D"]["breach_streak"] == 0


def test_returns_net_against_volume(st):
    # Apr: 100 bought and 60 returned = net 40 < 0.7·100 → breach
    insert(st, "orders", monthly_orders("R", "2024-01", [100, 100, 100, 100]) + [line("R", "2024-04-20", -60)])
    row = as_dicts(warn_at(st, "2024-04"))["R"]
    assert row["volume"] == 40 and row["breach_streak"] == 1


def test_severity_filter_and_all(seed_case):
    med = warn_at(seed_case, "2024-08", min_severity="medium")
    assert sorted(med.column("severity").to_pylist()) == ["high", "medium"]
    high = warn_at(seed_case, "2024-08", min_severity="high")
    assert high.column("customer_id").to_pylist() == ["K"]
    with pytest.raises(UsageError):
        warn_at(seed_case, "2024-08", min_severity="urgent")


def test_sorted_by_manager_then_severity(st):
    insert(st, "customers", [
        {"customer_id": "A", "name": "a", "manager_id": "M2", "level": "gold"},
        {"customer_id": "B", "name": "b", "manager_id": "M1"},
        {"customer_id": "C", "name": "c", "manager_id": "M1", "level": "gold"},
    ])
    insert(st, "orders", monthly_orders("A", "2024-01", [10, 10, 10, 0]) + monthly_orders("B", "2024-01", [10, 10, 10, 0])
           + monthly_orders("C", "2024-01", [10, 10, 10, 0]))
    t = warn_at(st, "2024-04")
    # M1: C medium (key, streak 1) before B low; then M2
    assert t.column("customer_id").to_pylist() == ["C", "B", "A"]


def test_key_levels_come_from_config(tmp_path):
    s = make_store(tmp_path, {"level": {"key_levels": ["diamond"]}})
    insert(s, "customers", [{"customer_id": "G", "name": "g", "manager_id": "M1", "level": "gold"}])
    insert(s, "orders", monthly_orders("G", "2024-01", [80, 80, 80, 0]))
    row = as_dicts(warn_at(s, "2024-04"))["G"]
    assert row["key"] is False and row["severity"] == "low"
    s.close()


def test_ratio_from_config(tmp_path):
    s = make_store(tmp_path, {"warning": {"ratio": 0.5}})
    # 45 < 0.7·80 = 56 but not < 0.5·80 = 40
    insert(s, "orders", monthly_orders("G", "2024-01", [80, 80, 80, 45]))
    assert "G" not in as_dicts(warn_at(s, "2024-04"))
    s.close()


def test_a_volume_just_under_the_ratio_is_a_breach_the_series_keeps_every_decimal(st):
    # baseline (1 + 1 + 1)/3 = 1 t; December 699.96 kg = 0.69996 t < 0.70 · 1 → a breach (the series
    # rounded to 4 decimals once, which made it 0.7000 and no breach)
    insert(st, "orders", monthly_orders("R", "2024-09", [1, 1, 1]) + [line("R", "2024-12-10", 0.69996)]
           + [line("Z", "2024-12-31", 1)])
    r = as_dicts(warn_at(st, "2024-12"))["R"]
    assert r["volume"] == pytest.approx(0.69996, abs=1e-9) and r["baseline"] == pytest.approx(1.0)
    assert r["breach_streak"] == 1 and r["severity"] == "low"
    # exactly 70 % is no breach
    insert(st, "orders", [line("S", d, 1) for d in ("2024-09-10", "2024-10-10", "2024-11-10")]
           + [line("S", "2024-12-10", 0.7)])
    assert as_dicts(warn_at(st, "2024-12", include_all=True))["S"]["breach_streak"] == 0


def test_all_rows_of_a_month_leave_out_customers_only_later_orders_bring(st):
    # L's only order is in December: in October it is not known yet (SPEC §3), as churn status has it;
    # A, in the archive without orders, is listed
    insert(st, "customers", [{"customer_id": "A", "name": "archive only"}])
    insert(st, "orders", monthly_orders("K", "2024-08", [5, 5, 5, 5, 5]) + [line("L", "2024-12-31", 3)])
    oct_ = as_dicts(warn_at(st, "2024-10", include_all=True))
    assert sorted(oct_) == ["A", "K"]
    assert sorted(as_dicts(warn_at(st, "2024-12", include_all=True))) == ["A", "K", "L"]
