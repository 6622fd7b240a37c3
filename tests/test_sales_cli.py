"""`crmtool sales …`: every subcommand exits 0 and prints parseable CSV on a pipe, --table picks
another table, an xlsx gets every table, --lang zh labels, bad options exit 2."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from crmtool.cli import app
from crmtool.config import Settings
from crmtool.store import open_store
from tests.conftest import d, insert


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "crm.duckdb"
    store = open_store(path, Settings(), wait=0)
    insert(store, "managers", [dict(manager_id="M1", name="张一")])
    insert(store, "customers", [
        dict(customer_id="C1", name="客户一", region="East", manager_id="M1", expected_volume=120, level="gold"),
        dict(customer_id="C2", name="客户二", region="West", manager_id="M1", expected_volume=240)])
    insert(store, "orders", [
        dict(order_id="1", order_date=d("2024-05-10"), customer_code="C1", quantity=30, category="gasoline"),
        dict(order_id="2", order_date=d("2024-06-30"), customer_code="C2", quantity=10),
        dict(order_id="3", order_date=d("2024-06-03"), customer_code="C1", quantity=-4),
        dict(order_id="4", order_date=d("2024-06-20"), customer_code="C3", quantity=7)])
    insert(store, "plans", [dict(customer_id="C1", month=d("2024-06-01"), volume=20)])
    insert(store, "campaigns", [dict(campaign_id="K1", name="夏季", start_date=d("2024-06-16"),
                                     end_date=d("2024-06-30"), customers=["C2"])])
    insert(store, "freight", [dict(bill_id="F1", bill_date=d("2024-06-05"), customer_id="C1", quantity=10,
                                   freight_cost=120, carrier="A", route="R1")])
    store.close()
    return path


def invoke(db: Path, *args: str):
    return CliRunner().invoke(app, ["--db", str(db), *args])


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


COMMANDS = {
    "overview": (["sales", "overview"], ["category", "day", "mtd", "ytd", "monthly_avg", "month_plan", "year_plan",
                                         "month_completion", "year_completion", "month_progress", "year_progress",
                                         "yoy", "mom", "warning"]),
    "pivot": (["sales", "pivot", "--by", "region,month", "--measure", "volume,customers,lines"],
              ["region", "month", "volume", "customers", "lines"]),
    "attainment": (["sales", "attainment", "--quarter", "2024Q2"],
                   ["customer_id", "expected", "actual", "attainment", "under_target"]),
    "campaign": (["sales", "campaign"], ["campaign_id", "group", "customers", "mean_w", "mean_b", "mean_y",
                                         "profit_w", "profit_b", "profit_y", "lift_before", "did", "did_yoy",
                                         "incremental"]),
    "freight": (["sales", "freight"], ["customer_id", "month", "cost", "quantity", "trips", "cost_per_ton",
                                       "ytd_cost", "ytd_quantity"]),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_subcommand_prints_csv_when_piped(db, name):
    args, columns = COMMANDS[name]
    res = invoke(db, *args)
    assert res.exit_code == 0, res.output
    rows = parse_csv(res.stdout)
    assert rows and list(rows[0])[: len(columns)] == columns


def test_overview_values(db):
    rows = {r["category"]: r for r in parse_csv(invoke(db, "sales", "overview").stdout)}
    assert list(rows) == ["gasoline", "diesel", "other", "total"]
    assert float(rows["total"]["mtd"]) == 13 and float(rows["total"]["ytd"]) == 43
    assert float(rows["total"]["month_plan"]) == 20 and rows["total"]["warning"] == "true"
    managers = parse_csv(invoke(db, "sales", "overview", "--table", "managers").stdout)
    assert [(m["manager_id"], float(m["ytd"])) for m in managers] == [("M1", 36.0), ("", 7.0)]


def test_pivot_total_and_zh(db):
    rows = parse_csv(invoke(db, "sales", "pivot", "--by", "region", "--measure", "volume,customers,lines",
                            "--from", "2024-01-01", "--to", "2024-06-30").stdout)
    assert [(r["region"], float(r["volume"]), r["customers"], r["lines"]) for r in rows] == [
        ("East", 26.0, "1", "2"), ("West", 10.0, "1", "1"), ("", 7.0, "1", "1"), ("Total", 43.0, "3", "4")]
    zh = parse_csv(invoke(db, "--lang", "zh", "sales", "pivot", "--by", "region").stdout)
    assert zh[-1]["region"] == "合计"


def test_attainment_tables(db):
    under = parse_csv(invoke(db, "sales", "attainment", "--quarter", "2024Q2", "--table", "under_target").stdout)
    # C1: expected 30, actual 26; C2: expected 60, actual 10 → C2 first (shortfall 50)
    assert [(u["customer_id"], float(u["shortfall"])) for u in under] == [("C2", 50.0), ("C1", 4.0)]
    assert under[0]["name"] == "客户二"
    groups = parse_csv(invoke(db, "sales", "attainment", "--month", "2024-06", "--by", "manager",
                              "--table", "groups").stdout)
    assert [(g["manager_id"], g["customers"], float(g["expected"])) for g in groups] == [("M1", "2", 30.0)]


def test_campaign_tables(db):
    for table in ("customers", "managers", "sensitivity"):
        res = invoke(db, "sales", "campaign", "--id", "K1", "--table", table)
        assert res.exit_code == 0, res.output
        assert parse_csv(res.stdout)
    assert invoke(db, "sales", "campaign", "--id", "NOPE").exit_code == 2


def test_freight_tables(db):
    for table in ("trend", "carriers", "routes"):
        res = invoke(db, "sales", "freight", "--table", table)
        assert res.exit_code == 0, res.output
        assert parse_csv(res.stdout)
    row = parse_csv(invoke(db, "sales", "freight", "--from", "2024-06", "--to", "2024-06").stdout)[0]
    assert (row["customer_id"], float(row["cost_per_ton"]), row["name"]) == ("C1", 12.0, "客户一")


def test_xlsx_gets_every_table(db, tmp_path):
    out = tmp_path / "campaign.xlsx"
    res = invoke(db, "sales", "campaign", "--output", str(out))
    assert res.exit_code == 0, res.output
    assert len(load_workbook(out, read_only=True).sheetnames) == 4
    out = tmp_path / "overview.json"
    assert invoke(db, "sales", "overview", "--output", str(out)).exit_code == 0
    assert [r["category"] for r in json.loads(out.read_text(encoding="utf-8"))][-1] == "total"


@pytest.mark.parametrize("args", [["sales", "pivot", "--by", "colour"], ["sales", "pivot", "--measure", "x"],
                                  ["sales", "attainment", "--by", "colour"],
                                  ["sales", "attainment", "--month", "2024-06", "--year", "2024"],
                                  ["sales", "freight", "--from", "2024-13"]])
def test_usage_errors(db, args):
    assert invoke(db, *args).exit_code == 2


def test_future_as_of_refused(db):
    assert invoke(db, "sales", "overview", "--as-of", "2024-07-31").exit_code == 1
    assert invoke(db, "sales", "overview", "--as-of", "2024-07-31", "--allow-future").exit_code == 0
