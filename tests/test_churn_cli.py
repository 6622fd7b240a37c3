"""`crmtool churn …` through CliRunner: exit codes, parsed CSV, --output formats, snapshots, --lang zh,
the per-manager terminal view."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from crmtool.churn import BACKTEST_COLUMNS, STATUS_COLUMNS, WARN_COLUMNS, WINBACK_COLUMNS
from crmtool.cli import app
from crmtool.store import open_store
from tests.churn_fixtures import line, monthly_orders
from tests.conftest import insert, make_store

runner = CliRunner()


@pytest.fixture
def db(tmp_path):
    """The seed case (K key, N not key: 80 t a month Jan–Jun 2024, then nothing), a win-back W and a
    steady buyer X through Dec 2024; as-of defaults to 2024-12-31, so M = 2024-12."""
    s = make_store(tmp_path)
    insert(s, "customers", [
        {"customer_id": "K", "name": "key", "manager_id": "M1", "level": "gold", "maintenance_level": "主任",
         "region": "兰州"},
        {"customer_id": "N", "name": "not key", "manager_id": "M2", "level": "ordinary"},
        {"customer_id": "W", "name": "back", "manager_id": "M2"},
        {"customer_id": "X", "name": "steady", "manager_id": "M1"},
    ])
    insert(s, "orders", monthly_orders("K", "2024-01", [80] * 6) + monthly_orders("N", "2024-01", [80] * 6)
           + monthly_orders("W", "2024-01", [30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 25])
           + monthly_orders("X", "2023-01", [50] * 23) + [line("X", "2024-12-31", 1)])
    s.close()
    return str(tmp_path / "crm.duckdb")


def invoke(db: str, *args: str):
    return runner.invoke(app, ["--db", db, *args])


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_status_csv(db):
    r = invoke(db, "churn", "status")
    assert r.exit_code == 0, r.output
    rows = {x["customer_id"]: x for x in rows_of(r.stdout)}
    assert list(rows_of(r.stdout)[0])[:len(STATUS_COLUMNS)] == STATUS_COLUMNS
    # M = Dec 2024: K, N last bought June → 6 idle months → churned; W bought in Dec → 0
    assert rows["K"]["idle_months"] == "6" and rows["K"]["status"] == "churned"
    assert rows["W"]["idle_months"] == "0" and rows["X"]["status"] == "active"
    r = invoke(db, "churn", "status", "--month", "2024-08")
    assert {x["customer_id"]: x for x in rows_of(r.stdout)}["K"]["idle_months"] == "2"


def test_warn_csv_all_and_severity(db):
    r = invoke(db, "churn", "warn", "--month", "2024-08")
    assert r.exit_code == 0, r.output
    rows = rows_of(r.stdout)
    assert list(rows[0])[:len(WARN_COLUMNS)] == WARN_COLUMNS
    # sorted by manager: M1's K (high) then M2's N (medium)
    assert [(x["manager_id"], x["customer_id"], x["severity"]) for x in rows] == [("M1", "K", "high"),
                                                                               ("M2", "N", "medium")]
    assert rows[0]["notify"] == "M1; 主任" and rows[0]["month"] == "2024-08"
    r = invoke(db, "churn", "warn", "--month", "2024-08", "--severity", "high")
    assert [x["customer_id"] for x in rows_of(r.stdout)] == ["K"]
    r = invoke(db, "churn", "warn", "--month", "2024-08", "--manager", "M2")
    assert [x["customer_id"] for x in rows_of(r.stdout)] == ["N"]
    r = invoke(db, "churn", "warn", "--month", "2024-08", "--manager", "M9")  # a typo: not "no warnings"
    assert r.exit_code == 2 and "no such manager" in r.output and "M1, M2" in r.output
    r = invoke(db, "churn", "warn", "--month", "2024-08", "--all")
    assert {x["customer_id"] for x in rows_of(r.stdout)} == {"K", "N", "W", "X"}
    r = invoke(db, "churn", "warn", "--severity", "urgent")
    assert r.exit_code == 2 and "--severity" in r.output


def test_warn_output_formats(db, tmp_path):
    for ext in ("csv", "parquet", "json", "xlsx"):
        out = tmp_path / f"w.{ext}"
        r = invoke(db, "churn", "warn", "--month", "2024-07", "--output", str(out))
        assert r.exit_code == 0, r.output
    # July 2024: K and N bought 80 t a month Jan–Jun, nothing in July: baseline 80, ratio 0, streak 1;
    # K is key (gold) → medium, N → low; each file holds exactly these two rows
    expected = {"K": ("2024-07", 0.0, 80.0, 0.0, 1, "medium"), "N": ("2024-07", 0.0, 80.0, 0.0, 1, "low")}

    def values(rows):
        return {x["customer_id"]: (x["month"], float(x["volume"]), float(x["baseline"]), float(x["ratio"]),
                                   int(x["breach_streak"]), x["severity"]) for x in rows}

    with open(tmp_path / "w.csv", encoding="utf-8-sig", newline="") as f:
        csv_rows = list(csv.DictReader(f))
    assert list(csv_rows[0])[:len(WARN_COLUMNS)] == WARN_COLUMNS
    assert values(csv_rows) == expected
    table = pq.read_table(tmp_path / "w.parquet")
    assert table.column_names[:len(WARN_COLUMNS)] == WARN_COLUMNS
    assert values(table.to_pylist()) == expected
    data = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    assert values(data) == expected
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "w.xlsx").active
    header = [c.value for c in ws[1]]
    assert header[:len(WARN_COLUMNS)] == WARN_COLUMNS
    assert values([dict(zip(header, [c.value for c in row])) for row in ws.iter_rows(min_row=2)]) == expected


def test_warn_grouped_per_manager_on_a_terminal(db, monkeypatch):
    import crmtool.commands.churn as cmd

    monkeypatch.setattr(cmd, "stdout_is_terminal", lambda: True)
    r = invoke(db, "churn", "warn", "--month", "2024-08")
    assert r.exit_code == 0, r.output
    assert "manager M1" in r.stdout and "manager M2" in r.stdout
    assert r.stdout.index("manager M1") < r.stdout.index("manager M2")


def test_lang_zh_adds_label_columns(db):
    r = runner.invoke(app, ["--db", db, "--lang", "zh", "churn", "status"])
    rows = {x["customer_id"]: x for x in rows_of(r.stdout)}
    assert rows["K"]["status_label"] == "流失" and rows["X"]["status_label"] == "有效"
    r = runner.invoke(app, ["--db", db, "--lang", "zh", "churn", "warn", "--month", "2024-08"])
    assert [x["severity_label"] for x in rows_of(r.stdout)] == ["高（通报）", "中"]


def test_idle_pivot(db):
    r = invoke(db, "churn", "idle")
    assert r.exit_code == 0, r.output
    rows = {x["manager_id"]: x for x in rows_of(r.stdout)}
    # Dec 2024: M1 holds K (idle 6) and X (0); M2 holds N (6) and W (0)
    assert (rows["M1"]["0"], rows["M1"]["6"], rows["M1"]["total"]) == ("1", "1", "2")
    assert list(rows_of(r.stdout)[0]) == ["manager_id", "0", "1", "2", "3", "4", "5", "6", "7", "8+", "total"]
    r = invoke(db, "churn", "idle", "--by", "region")
    assert {x["region"] for x in rows_of(r.stdout)} == {"兰州", "(none)"}
    r = invoke(db, "churn", "idle", "--by", "colour")
    assert r.exit_code == 2


def test_winback_and_period_total(db, tmp_path):
    r = invoke(db, "churn", "winback")
    assert r.exit_code == 0, r.output
    rows = rows_of(r.stdout)
    assert list(rows[0])[:len(WINBACK_COLUMNS)] == WINBACK_COLUMNS
    # W: Jan, idle 9 in Oct, back in Nov with 20 t, 20 + 25 = 45 t since
    assert [(x["customer_id"], x["return_month"], x["idle_months_before"], x["volume_since_return"]) for x in rows] \
        == [("W", "2024-11", "9", "45")]
    assert "1 customers won back, 45.00 t" in r.stderr
    r = invoke(db, "churn", "winback", "--from", "2024-01", "--to", "2024-10")
    assert rows_of(r.stdout) == []
    r = invoke(db, "churn", "winback", "--from", "2024-13")
    assert r.exit_code == 2


def test_backtest_and_sweep(db):
    r = invoke(db, "churn", "backtest", "--from", "2024-01", "--to", "2024-12", "--horizon", "3")
    assert r.exit_code == 0, r.output
    rows = rows_of(r.stdout)
    assert list(rows[0])[:len(BACKTEST_COLUMNS)] == BACKTEST_COLUMNS
    assert [(x["rule"], x["severity"]) for x in rows] == [("warning", "low"), ("warning", "medium"),
                                                          ("warning", "high"), ("warning", "any"),
                                                          ("no_purchase_2m", "any")]
    # judged Jan–Sep 2024 (the horizon of Oct–Dec runs past the data)
    assert rows[0]["months"] == "9" and rows[0]["last_month"] == "2024-09"
    r = invoke(db, "churn", "backtest", "--from", "2024-01", "--to", "2024-09", "--horizon", "3",
               "--ratio", "0.6,0.7,0.8")
    assert r.exit_code == 0, r.output
    rows = rows_of(r.stdout)
    assert [(x["rule"], x["ratio"]) for x in rows] == [("warning", "0.6"), ("warning", "0.7"), ("warning", "0.8"),
                                                       ("no_purchase_2m", "")]
    r = invoke(db, "churn", "backtest", "--from", "2024-11", "--to", "2024-12", "--horizon", "3")
    assert r.exit_code == 1 and "horizon" in r.output
    r = invoke(db, "churn", "backtest", "--ratio", "abc")
    assert r.exit_code == 2


def test_each_result_is_stored_as_a_snapshot(db):
    out = {}
    for args in (["status"], ["warn"], ["idle"], ["winback"], ["backtest", "--horizon", "3"]):
        r = invoke(db, "churn", *args)
        assert r.exit_code == 0, r.output
        out[args[0]] = rows_of(r.stdout)
    # M = 2024-12: K, N idle 6 → churned; W back in Nov → 0; X bought on Dec 31 → active
    assert {x["customer_id"]: (x["idle_months"], x["status"]) for x in out["status"]} == {
        "K": ("6", "churned"), "N": ("6", "churned"), "W": ("0", "active"), "X": ("0", "active")}
    # X: 50 t a month, then 1 t in December: 1 < 0.7 · 50 → breach, streak 1, not key → low; the others
    # have a zero baseline (K, N) or are above 70 % (W: 25 ≥ 0.7 · 20/3)
    assert [(x["customer_id"], x["breach_streak"], x["severity"]) for x in out["warn"]] == [("X", "1", "low")]
    assert {x["manager_id"]: (x["0"], x["6"], x["total"]) for x in out["idle"]} == {"M1": ("1", "1", "2"),
                                                                                   "M2": ("1", "1", "2")}
    assert [(x["customer_id"], x["return_month"]) for x in out["winback"]] == [("W", "2024-11")]
    assert len(out["backtest"]) == 5
    invoke(db, "churn", "warn")  # a second run replaces, never duplicates
    s = open_store(db, read_only=True)
    try:
        snaps = s.con.execute("SELECT analysis, period, row_count FROM snapshots ORDER BY analysis").fetchall()
    finally:
        s.close()
    names = [a for a, *_ in snaps]
    assert names == sorted(["churn_status", "churn_warn", "churn_idle_manager", "churn_winback", "churn_backtest"])
    assert ("churn_warn", "2024-12") in [(a, p) for a, p, _ in snaps]
    # each snapshot holds the rows the command printed
    counts = {a: n for a, _, n in snaps}
    assert counts == {"churn_status": 4, "churn_warn": 1, "churn_idle_manager": 2, "churn_winback": 1,
                      "churn_backtest": 5}


def test_missing_store_is_a_clear_error(tmp_path):
    r = invoke(str(tmp_path / "none.duckdb"), "churn", "status")
    assert r.exit_code == 1 and "no store" in r.output


def test_run_all_shares_one_series_and_stores_snapshots(db):
    from crmtool.churn import run_all
    from crmtool.config import Settings

    s = open_store(db, Settings())
    try:
        out = run_all(s, s.settings)
        assert set(out) == {"status", "warn", "idle", "winback"}
        assert out["status"].column_names[:len(STATUS_COLUMNS)] == STATUS_COLUMNS
        assert out["winback"].column("customer_id").to_pylist() == ["W"]
        n = s.con.execute("SELECT count(*) FROM snapshots WHERE analysis LIKE 'churn_%'").fetchall()[0][0]
        assert n == 4
        # a month given explicitly judges that month
        aug = run_all(s, s.settings, month="2024-08", save=False)
        assert {r["customer_id"]: r["severity"] for r in aug["warn"].to_pylist()} == {"K": "high", "N": "medium"}
    finally:
        s.close()
