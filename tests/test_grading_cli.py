"""`crmtool grade …` / `crmtool classify quadrant`: every subcommand, every output format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from crmtool.cli import app
from crmtool.config import Settings
from crmtool.store import open_store
from tests.conftest import d, insert

COMMANDS = {
    "rfm": (["grade", "rfm"], ["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score",
                               "m_score", "rfm_cell", "segment"]),
    "pareto": (["grade", "pareto"], ["customer_id", "metric_value", "share", "cum_share", "rank", "abc_class"]),
    "level": (["grade", "level"], ["customer_id", "composite", "suggested_level", "current_level", "change",
                                   "volume_score", "gross_profit_score", "purchase_months_score",
                                   "share_of_wallet_score", "annual_demand_score"]),
    "scorecard": (["grade", "scorecard", "--month", "2024-11"], ["customer_id", "month", "completion", "balance",
                                                                  "volume", "special", "total", "rank", "grade"]),
    "quadrant": (["classify", "quadrant"], ["customer_id", "value_score", "fit_score", "quadrant",
                                            "service_tier"]),
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "crm.duckdb"
    store = open_store(path, Settings(), wait=0)
    rows = []
    for i in range(30):
        month = 1 + i % 12
        rows.append(dict(order_id=f"O{i}", order_date=d(f"2024-{month:02d}-{1 + (i * 7) % 28:02d}"),
                         customer_code=f"C{i % 6}", quantity=5 + i % 4, amount=100 * (i + 1), cost=60 * (i + 1)))
    insert(store, "orders", rows)
    insert(store, "customers", [dict(customer_id=f"C{i}", name=f"客户{i}", annual_demand=50 * i, level="gold",
                                     positioning_fit=40 + 10 * i, reputation=50) for i in range(6)])
    insert(store, "plans", [dict(customer_id="C1", month=d("2024-11-01"), volume=10)])
    store.close()
    return path


def invoke(db: Path, *args: str):
    # the fixture's orders end 2024-12-22: an as-of after that is refused unless --allow-future (SPEC §3)
    extra = ["--allow-future"] if "--as-of" in args and ("grade" in args or "classify" in args) else []
    return CliRunner().invoke(app, ["--db", str(db), *args, *extra])


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_subcommand_prints_csv_when_piped(db, name):
    args, columns = COMMANDS[name]
    res = invoke(db, *args, "--as-of", "2024-12-31")
    assert res.exit_code == 0, res.output
    rows = parse_csv(res.stdout)
    assert rows and list(rows[0])[: len(columns)] == columns
    # every run stores a snapshot
    store = open_store(db, Settings(), read_only=True, wait=0)
    try:
        n = store.con.execute("SELECT count(*) FROM snapshots WHERE analysis = ?", [name]).fetchall()[0][0]
    finally:
        store.close()
    assert n == 1


@pytest.mark.parametrize("name", list(COMMANDS))
@pytest.mark.parametrize("fmt", [".csv", ".parquet", ".json", ".xlsx"])
def test_every_output_format(db, tmp_path, name, fmt):
    args, columns = COMMANDS[name]
    out = tmp_path / f"result{fmt}"
    res = invoke(db, *args, "--as-of", "2024-12-31", "--output", str(out))
    assert res.exit_code == 0, res.output
    if fmt == ".csv":
        header = parse_csv(out.read_text(encoding="utf-8-sig"))[0]
        names = list(header)
    elif fmt == ".parquet":
        names = pq.read_table(out).column_names
    elif fmt == ".json":
        data = json.loads(out.read_text(encoding="utf-8"))
        records = data if isinstance(data, list) else data.get("rows", data)
        names = list(records[0])
    else:
        from openpyxl import load_workbook

        ws = load_workbook(out, read_only=True).worksheets[0]
        names = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert names[: len(columns)] == columns


def test_options_metric_window_set_and_lang(db):
    res = invoke(db, "--lang", "zh", "grade", "pareto", "--as-of", "2024-12-31", "--metric", "amount",
                 "--window", "6", "--set", "pareto.a=0.5")
    assert res.exit_code == 0, res.output
    rows = parse_csv(res.stdout)
    assert {r["abc_label"] for r in rows} <= {"A类", "B类", "C类"}
    # with a = .5 the A class stops once half the amount is covered
    assert sum(r["abc_class"] == "A" for r in rows) < len(rows)
    res = invoke(db, "--lang", "zh", "grade", "level", "--as-of", "2024-12-31", "--set", "level.scheme=aaa")
    assert res.exit_code == 0, res.output
    assert {r["suggested_level"] for r in parse_csv(res.stdout)} <= {"3A", "2A", "A", "B"}


def test_scorecard_quarter_and_year(db):
    for opt, value, label in (("--quarter", "2024Q4", "2024Q4"), ("--year", "2024", "2024")):
        res = invoke(db, "grade", "scorecard", opt, value)
        assert res.exit_code == 0, res.output
        rows = parse_csv(res.stdout)
        assert rows[0]["period"] == label and list(rows[0])[1] == "period"
    res = invoke(db, "grade", "scorecard", "--month", "2024-11", "--quarter", "2024Q4")
    assert res.exit_code == 2


def test_level_compare_adds_previous_level_and_matrix(db):
    res = invoke(db, "grade", "level", "--as-of", "2024-12-31", "--compare", "2024-06-30")
    assert res.exit_code == 0, res.output
    rows = parse_csv(res.stdout)
    assert "previous_level" in rows[0] and "migration" in rows[0]
    assert "previous \\ now" in res.stderr


def test_grade_without_a_method_runs_everything(db, tmp_path):
    res = invoke(db, "grade", "--as-of", "2024-12-31")
    assert res.exit_code == 0, res.output
    for word in ("RFM", "ABC", "Gini", "Levels", "Scorecard", "Quadrants"):
        assert word in res.stdout
    out = tmp_path / "all.xlsx"
    res = invoke(db, "grade", "--as-of", "2024-12-31", "-o", str(out))
    assert res.exit_code == 0, res.output
    from openpyxl import load_workbook

    assert {"rfm", "pareto", "level", "scorecard", "quadrant"} <= set(load_workbook(out).sheetnames)


def test_errors_are_one_sentence_with_exit_codes(db, tmp_path):
    res = invoke(db, "grade", "rfm", "--metric", "tons")
    assert res.exit_code == 2 and "metric" in res.stderr
    res = invoke(db, "grade", "rfm", "--as-of", "2019-12-31")
    assert res.exit_code == 1 and "no purchases" in res.stderr
    res = invoke(db, "grade", "level", "--set", "level.weights.colour=1")
    assert res.exit_code == 2 and "colour" in res.stderr
    res = invoke(db, "grade", "rfm", "--output", str(tmp_path / "x.txt"))
    assert res.exit_code == 2


def test_help_lists_the_methods():
    res = CliRunner().invoke(app, ["grade", "--help"])
    assert res.exit_code == 0
    for name in ("rfm", "pareto", "level", "scorecard"):
        assert name in res.stdout


def test_terminal_shows_a_rich_table_with_the_main_columns(db, monkeypatch):
    import crmtool.commands.common as common
    import crmtool.commands.grade as grade

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    monkeypatch.setattr(grade, "stdout_is_terminal", lambda: True)
    res = invoke(db, "--lang", "zh", "grade", "level", "--as-of", "2024-12-31", "--limit", "3")
    assert res.exit_code == 0, res.output
    assert "Level suggestion (6 rows)" in res.stdout and "level_label" in res.stdout
    assert "volume_score" not in res.stdout  # factor scores: in files and pipes, not on the terminal
    assert "黄金" in res.stdout or "钻石" in res.stdout or "普通" in res.stdout


def test_run_all_returns_every_table_and_stores_snapshots(db):
    from crmtool.grading import run_all

    store = open_store(db, Settings(), wait=0)
    try:
        tables = run_all(store, store.settings, as_of="2024-12-31")
        kinds = {r[0] for r in store.con.execute("SELECT analysis FROM snapshots").fetchall()}
    finally:
        store.close()
    assert set(tables) == {"rfm", "pareto", "level", "scorecard", "quadrant"}
    assert kinds == set(tables)
    assert tables["level"].column_names[:3] == ["customer_id", "composite", "suggested_level"]
