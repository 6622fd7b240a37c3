"""Backtest on a fixture whose answer is known by construction.

Data Jan 2023 – Dec 2024, judged months Apr–Sep 2023, horizon 3, ratio 0.7:
- X buys 100 t every month: never warned, never churns.
- F buys 100 t every month except 10 t in Jul 2023: a false alarm (low in Jul; Aug baseline
  (100+100+10)/3 = 70, 100 ≥ 49 → none). 10 t is still a purchase, so F is never idle.
- S (not key) buys 100 t Jan–Jun 2023 and stops: idle Jul 1, Aug 2, Sep 3, Oct 4 → churned in Oct.
  Warnings Jul low (streak 1), Aug medium (2), Sep medium (3).
- K (gold, key) the same as S: Jul medium (key, streak 1), Aug high, Sep high; churned in Oct.
Population: all four are active in each of the 6 months → 24 customer-months.
Churned within 3 months: S and K at m = Jul, Aug, Sep (Oct − m ≤ 3) → 6.
- low:    S Jul, F Jul            → warned 2, hits 1 (S Jul, lead 3) → precision 1/2, recall 1/6
- medium: S Aug, S Sep, K Jul     → warned 3, hits 3, leads 2, 1, 3 → median 2; recall 3/6
- high:   K Aug, K Sep            → warned 2, hits 2, leads 2, 1 → 1.5; recall 2/6
- any:    7 warned, 6 hits        → precision 6/7, recall 1, leads 3,2,1,3,2,1 → median 2
- no purchase for 2 months: S, K in Aug (idle 2), Sep (3) → 4 warned, 4 hits, recall 4/6, leads 2,1,2,1 → 1.5
At ratio 0.05, F's 10 t dip is no breach (10 ≥ 5) while S and K still breach (0 < 5): any → 6 warned, 6 hits.
"""

from __future__ import annotations

import datetime as dt

import pytest

from crmtool.churn import BACKTEST_COLUMNS, churn_backtest, parse_ratios
from crmtool.errors import AnalysisError, UsageError
from crmtool.facts import install_views
from tests.churn_fixtures import monthly_orders
from tests.conftest import insert, make_store

FULL = [100] * 24
DIP = [100] * 6 + [10] + [100] * 17
STOP = [100] * 6


def build(store) -> None:
    insert(store, "customers", [
        {"customer_id": "K", "name": "k", "manager_id": "M1", "level": "gold", "maintenance_level": "主任"},
        {"customer_id": "S", "name": "s", "manager_id": "M1", "level": "ordinary"},
    ])
    insert(store, "orders", monthly_orders("X", "2023-01", FULL) + monthly_orders("F", "2023-01", DIP)
           + monthly_orders("S", "2023-01", STOP) + monthly_orders("K", "2023-01", STOP))
    install_views(store.con)


@pytest.fixture
def st(tmp_path):
    s = make_store(tmp_path)
    build(s)
    yield s
    s.close()


def run(st, **kw):
    args = dict(first=dt.date(2023, 4, 1), last=dt.date(2023, 9, 1), data_end=dt.date(2024, 12, 1), horizon=3)
    args.update(kw)
    t = churn_backtest(st.con, st.settings, **args)
    return {(r["rule"], r["ratio"], r["severity"]): r for r in t.to_pylist()}, t


def test_backtest_numbers_known_by_construction(st):
    rows, t = run(st)
    assert t.column_names[:len(BACKTEST_COLUMNS)] == BACKTEST_COLUMNS
    for r in rows.values():
        assert r["months"] == 6 and r["customer_months"] == 24 and r["churned"] == 6
    low, med, high, any_ = (rows[("warning", 0.7, s)] for s in ("low", "medium", "high", "any"))
    assert (low["warned"], low["hits"], low["precision"], low["median_lead_months"]) == (2, 1, 0.5, 3.0)
    assert low["recall"] == pytest.approx(1 / 6)
    assert (med["warned"], med["hits"], med["precision"], med["median_lead_months"]) == (3, 3, 1.0, 2.0)
    assert med["recall"] == pytest.approx(3 / 6)
    assert (high["warned"], high["hits"], high["median_lead_months"]) == (2, 2, 1.5)
    assert high["recall"] == pytest.approx(2 / 6)
    assert (any_["warned"], any_["hits"], any_["recall"], any_["median_lead_months"]) == (7, 6, 1.0, 2.0)
    assert any_["precision"] == pytest.approx(6 / 7)
    rule = rows[("no_purchase_2m", None, "any")]
    assert (rule["warned"], rule["hits"], rule["precision"], rule["median_lead_months"]) == (4, 4, 1.0, 1.5)
    assert rule["recall"] == pytest.approx(4 / 6)


def test_ratio_sweep_rows_per_ratio(st):
    rows, _ = run(st, ratios=[0.05, 0.7])
    assert rows[("warning", 0.05, "any")]["warned"] == 6 and rows[("warning", 0.05, "any")]["precision"] == 1.0
    assert rows[("warning", 0.7, "any")]["warned"] == 7
    # the comparison rule does not depend on the ratio: one row
    assert [k for k in rows if k[0] != "warning"] == [("no_purchase_2m", None, "any")]


def test_idle_rule_n_is_configurable(st):
    rows, _ = run(st, idle_months=3)
    rule = rows[("no_purchase_3m", None, "any")]
    # idle ≥ 3: S and K in Sep only → 2 warned, 2 hits, lead 1
    assert (rule["warned"], rule["hits"], rule["median_lead_months"]) == (2, 2, 1.0)


def test_months_whose_horizon_runs_past_the_data_are_skipped(st):
    # data ends Dec 2024, horizon 3: Apr 2023 … Sep 2024 are judged (18 months), Oct–Dec 2024 are not
    rows, t = run(st, last=dt.date(2024, 12, 1))
    assert set(t.column("months").to_pylist()) == {18}
    assert t.column("last_month")[0].as_py() == "2024-09"
    with pytest.raises(AnalysisError, match="horizon"):
        run(st, first=dt.date(2024, 10, 1), last=dt.date(2024, 12, 1))


def test_bad_options(st):
    with pytest.raises(UsageError):
        run(st, idle_months=4)        # > active_max: such a customer is already churned
    with pytest.raises(UsageError):
        run(st, first=dt.date(2023, 9, 1), last=dt.date(2023, 4, 1))
    assert parse_ratios("0.6, 0.7,0.6", 0.7) == [0.6, 0.7]
    assert parse_ratios(None, 0.7) == [0.7]
    for bad in ("x", "0", "1.5"):
        with pytest.raises(UsageError):
            parse_ratios(bad, 0.7)
