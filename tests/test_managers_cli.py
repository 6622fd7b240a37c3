"""`crmtool managers scorecard`: exit codes, CSV on a pipe, every output format, filters."""

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
from crmtool.managers.scorecard import COLUMNS
from crmtool.store import open_store
from tests.conftest import d, insert


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "crm.duckdb"
    store = open_store(path, Settings(), wait=0)
    insert(store, "managers", [dict(manager_id="M1", name="张一", team="T1", region="East"),
                               dict(manager_id="M2", name="李二", team="T2", region="West")])
    insert(store, "customers", [dict(customer_id="C1", name="c1", manager_id="M1"),
                                dict(customer_id="C2", name="c2", manager_id="M2")])
    insert(store, "orders", [dict(order_id="1", order_date=d("2024-05-10"), customer_code="C1", quantity=30),
                             dict(order_id="2", order_date=d("2024-06-30"), customer_code="C2", quantity=10),
                             dict(order_id="3", order_date=d("2024-02-10"), customer_code="C2", quantity=10)])
    store.close()
    return path


def invoke(db: Path, *args: str):
    return CliRunner().invoke(app, ["--db", str(db), *args])


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_scorecard_csv_when_piped(db):
    res = invoke(db, "managers", "scorecard", "--quarter", "2024Q2")
    assert res.exit_code == 0, res.output
    rows = parse_csv(res.stdout)
    assert list(rows[0])[: len(COLUMNS)] == COLUMNS
    assert [(r["manager_id"], float(r["volume"]), r["rank"], r["grade"]) for r in rows] == [
        ("M1", 30.0, "1", "A"), ("M2", 10.0, "2", "B")]


def test_default_period_and_month(db):
    res = invoke(db, "managers", "scorecard")  # orders end 2024-06-30: judged month June → 2024Q2
    assert res.exit_code == 0, res.output
    assert {r["period"] for r in parse_csv(res.stdout)} == {"2024Q2"}
    res = invoke(db, "managers", "scorecard", "--month", "2024-05")
    rows = {r["manager_id"]: r for r in parse_csv(res.stdout)}
    assert rows["M1"]["period"] == "2024-05" and float(rows["M2"]["volume"]) == 0


def test_filters_and_year(db):
    res = invoke(db, "managers", "scorecard", "--year", "2024", "--team", "T2")
    assert res.exit_code == 0, res.output
    rows = parse_csv(res.stdout)
    assert [(r["manager_id"], float(r["volume"]), r["rank"]) for r in rows] == [("M2", 20.0, "2")]


@pytest.mark.parametrize("fmt", [".csv", ".parquet", ".json", ".xlsx"])
def test_output_formats(db, tmp_path, fmt):
    out = tmp_path / f"m{fmt}"
    res = invoke(db, "managers", "scorecard", "--quarter", "2024Q2", "--output", str(out))
    assert res.exit_code == 0, res.output
    if fmt == ".parquet":
        assert pq.read_table(out).column_names[: len(COLUMNS)] == COLUMNS
    elif fmt == ".json":
        assert list(json.loads(out.read_text(encoding="utf-8"))[0])[: len(COLUMNS)] == COLUMNS
    else:
        assert out.stat().st_size > 0


def test_usage_errors(db):
    assert invoke(db, "managers", "scorecard", "--quarter", "2024Q5").exit_code == 2
    assert invoke(db, "managers", "scorecard", "--quarter", "2024Q2", "--year", "2024").exit_code == 2
    assert invoke(db, "managers", "scorecard", "--month", "2024-09").exit_code == 1  # after the orders
    assert invoke(db, "managers", "scorecard", "--month", "2024-09", "--allow-future").exit_code == 0


def test_zh_labels(db):
    res = invoke(db, "--lang", "zh", "managers", "scorecard", "--quarter", "2024Q2")
    assert res.exit_code == 0, res.output
    assert "grade_label" in parse_csv(res.stdout)[0]
