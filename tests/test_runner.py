"""The runner: one entry point for every analysis, defaults from config, period rules, snapshots."""

from __future__ import annotations

import pytest

import crmtool
from crmtool.config import settings_from_dict
from crmtool.errors import AnalysisError, UsageError
from crmtool.runner import Runner
from tests.conftest import d, insert


@pytest.fixture
def filled(store):
    insert(store, "customers", [dict(customer_id="A", name="甲", manager_id="M1", region="兰州"),
                                dict(customer_id="B", name="乙", manager_id="M2")])
    rows = [dict(order_id=f"A{m}", order_date=d(f"2024-{m:02d}-{31 if m == 12 else 10}"), customer_code="A",
                 quantity=10, amount=100) for m in range(1, 13)]
    rows += [dict(order_id=f"B{m}", order_date=d(f"2024-{m:02d}-20"), customer_code="B", quantity=20, amount=150)
             for m in range(1, 7)]
    insert(store, "orders", rows)
    return store


def test_every_analysis_is_registered_with_a_period_kind():
    reg = crmtool.registry()
    for name in ("grade.rfm", "grade.pareto", "grade.level", "grade.scorecard", "classify.quadrant",
                 "churn.status", "churn.warn", "churn.idle", "churn.winback", "churn.backtest"):
        assert name in reg and reg[name].period in ("as_of", "month"), name


def test_run_fills_defaults_from_config_and_stores_a_snapshot(filled):
    res = crmtool.run(filled, "grade.rfm", as_of="2024-12-31")
    assert res.options == {"metric": "amount", "window": 12}
    assert res.period == "2024-12-31" and res.snapshot_id is not None
    assert res.table.column_names[:9] == ["customer_id", "recency_days", "frequency", "monetary", "r_score",
                                          "f_score", "m_score", "rfm_cell", "segment"]
    named = dict(zip(res.table.column("customer_id").to_pylist(), res.table.column("name").to_pylist()))
    assert named == {"A": "甲", "B": "乙"}
    # config, not the CLI, decides the defaults
    s = settings_from_dict({"rfm": {"metric": "volume", "window_months": 6}})
    res = crmtool.run(filled, "grade.rfm", s, as_of="2024-12-31", save=False)
    assert res.options == {"metric": "volume", "window": 6} and res.snapshot_id is None
    # B's last purchase is 2024-06-20, outside the 6-month window ending 2024-12-31
    assert res.table.column("customer_id").to_pylist() == ["A"]


def test_unknown_options_and_analyses_are_usage_errors(filled):
    with pytest.raises(UsageError):
        crmtool.run(filled, "grade.rfm", colour="red")
    with pytest.raises(UsageError):
        crmtool.run(filled, "grade.nothing")


def test_period_after_the_data_is_refused_unless_allowed(filled):
    with pytest.raises(AnalysisError, match="orders end 2024-12-31; load the export for 2025-01 first"):
        crmtool.run(filled, "churn.warn", month="2025-01")
    # the run's as-of is the month's end: the message names the missing months, not an --as-of never given
    with pytest.raises(AnalysisError, match="orders end 2024-12-31; load the export for 2025-01 … 2025-03 first"):
        crmtool.run(filled, "churn.warn", month="2025-03", as_of="2025-03-31")
    # a quarter or a year after the data: the exports up to its last month
    with pytest.raises(AnalysisError, match="load the export for 2025-01 … 2025-06 first"):
        crmtool.run(filled, "managers.scorecard", quarter="2025Q2")
    with pytest.raises(AnalysisError, match="load the export for 2025-01 … 2025-12 first"):
        crmtool.run(filled, "grade.scorecard", year="2025")
    res = crmtool.run(filled, "churn.warn", month="2025-01", allow_future=True, include_all=True)
    # January 2025 has no orders: A (10 t a month) breaches against its baseline of 10
    rows = {r["customer_id"]: r for r in res.table.to_pylist()}
    assert rows["A"]["volume"] == 0 and rows["A"]["baseline"] == 10 and rows["A"]["breach_streak"] == 1


def test_the_churn_series_is_built_once_per_run(filled, monkeypatch):
    import crmtool.churn.series as series

    calls = []
    real = series.build_series
    monkeypatch.setattr(series, "build_series", lambda *a, **k: calls.append(1) or real(*a, **k))
    runner = Runner(filled, save=False)
    warn = runner.run("churn.warn", month="2024-12", include_all=True)
    winback = runner.run("churn.winback", month="2024-12")
    assert len(calls) == 1
    assert {r["customer_id"]: r["breach_streak"] for r in warn.table.to_pylist()} == {"A": 0, "B": 0}
    assert winback.table.num_rows == 0


def test_run_group_reports_what_could_not_run(filled):
    results, errors = Runner(filled, save=False).run_group(("grade", "classify"), as_of="2024-12-31")
    assert set(results) == {"grade.rfm", "grade.pareto", "grade.level", "grade.scorecard", "classify.quadrant"}
    assert errors == {}
