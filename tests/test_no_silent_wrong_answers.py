"""Issue: no silent wrong answers — a missed load, a metric without data, hostile names, a missing or
read-only store, formula text and help texts (the runner and CLI side; the loader has its own tests)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtool.cli import app
from crmtool.config import Settings
from crmtool.store import open_store
from tests.conftest import d, insert

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Two customers; orders end 2024-12-31. A has amount and cost, B has neither."""
    path = tmp_path / "crm.duckdb"
    s = open_store(path, Settings(), wait=0)
    insert(s, "customers", [dict(customer_id="A", name="[/]", manager_id="M1", region="兰州"),
                            dict(customer_id="B", name="=HYPERLINK(\"http://x\")", manager_id="M1")])
    rows = []
    for m in range(1, 13):
        rows.append(dict(order_id=f"A{m}", order_date=d(f"2024-{m:02d}-15"), customer_code="A", quantity=10,
                         amount=100, cost=80))
        rows.append(dict(order_id=f"B{m}", order_date=d(f"2024-{m:02d}-15"), customer_code="B", quantity=5))
    rows.append(dict(order_id="A13", order_date=d("2024-12-31"), customer_code="A", quantity=1, amount=10, cost=8))
    insert(s, "orders", rows)
    s.close()
    return str(path)


def invoke(db: str, *args: str):
    return runner.invoke(app, ["--db", db, *args])


def test_a_month_after_the_data_is_refused_unless_allowed(db):
    r = invoke(db, "churn", "warn", "--month", "2025-01")
    assert r.exit_code == 1
    assert "orders end 2024-12-31; load the export for 2025-01 first" in r.stderr
    r = invoke(db, "churn", "warn", "--month", "2025-01", "--allow-future")
    assert r.exit_code == 0, r.output
    r = invoke(db, "grade", "rfm", "--as-of", "2025-01-15")
    assert r.exit_code == 1 and "orders end 2024-12-31" in r.stderr
    r = invoke(db, "churn", "status", "--month", "2024-12")  # the last month with data is fine
    assert r.exit_code == 0, r.output
    # a win-back period's --to (or a lone --from) after the data likewise
    for args in (["--from", "2025-01", "--to", "2025-03"], ["--to", "2025-03"], ["--from", "2025-02"]):
        r = invoke(db, "churn", "winback", *args)
        assert r.exit_code == 1 and "orders end 2024-12-31; load the export for 2025-01" in r.stderr, args
    assert invoke(db, "churn", "winback", "--to", "2025-03", "--allow-future").exit_code == 0
    assert invoke(db, "churn", "winback", "--from", "2024-10", "--to", "2024-12").exit_code == 0


def test_an_as_of_inside_the_given_month_is_a_usage_error_not_a_partial_month(db):
    # orders of 2024-12 after the 15th would either count past as-of or be cut off: neither is asked for
    for cmd in (["churn", "status"], ["churn", "warn"], ["sales", "attainment"], ["grade", "scorecard"]):
        r = invoke(db, *cmd, "--as-of", "2024-12-15", "--month", "2024-12")
        assert r.exit_code == 2, (cmd, r.output)
        assert "--month 2024-12 ends after --as-of 2024-12-15: a month is judged whole" in r.stderr
    # the month's last day, or an earlier month, is fine
    assert invoke(db, "churn", "warn", "--as-of", "2024-12-31", "--month", "2024-12").exit_code == 0
    assert invoke(db, "churn", "warn", "--as-of", "2024-12-15", "--month", "2024-11").exit_code == 0


def test_a_metric_without_any_data_is_an_error_and_partial_data_is_named(db, tmp_path):
    # B has no amount at all, A has amounts: partial — 1 customer affected, named in the summary
    r = invoke(db, "grade", "rfm", "--metric", "amount")
    assert r.exit_code == 0, r.output
    assert "amount is missing on some lines of 1 customer(s)" in r.stderr
    # no profit anywhere in a store of B only
    path = tmp_path / "b.duckdb"
    s = open_store(path, Settings(), wait=0)
    insert(s, "orders", [dict(order_id="B1", order_date=d("2024-06-15"), customer_code="B", quantity=5)])
    s.close()
    for cmd in (["grade", "rfm", "--metric", "profit"], ["grade", "pareto", "--metric", "amount"]):
        r = invoke(str(path), *cmd)
        assert r.exit_code == 1, r.output
        assert "load orders with" in r.stderr
    r = invoke(str(path), "grade", "rfm", "--metric", "volume")
    assert r.exit_code == 0, r.output


def test_names_are_data_not_markup_and_cut_tables_say_so(db, monkeypatch):
    import crmtool.commands.common as common

    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    r = invoke(db, "grade", "rfm", "--limit", "1")
    assert r.exit_code == 0, r.output
    assert "1 of 2 rows shown" in r.stdout and "--limit 0 shows all" in r.stdout
    r = invoke(db, "grade", "rfm")
    assert "[/]" in r.stdout  # the name printed as written, no markup error


def test_error_text_keeps_its_brackets(db, tmp_path):
    bad = tmp_path / "orders.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    r = invoke(db, "load", "orders", str(bad))
    assert r.exit_code == 1
    assert "[columns.orders]" in r.stderr


def test_a_bad_memory_limit_is_a_config_error(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[store]\nmemory_limit = "lots"\n', encoding="utf-8")
    r = runner.invoke(app, ["--db", str(tmp_path / "x.duckdb"), "--config", str(cfg), "init"])
    assert r.exit_code == 2
    assert "store.memory_limit" in r.stderr and "internal error" not in r.stderr


def test_help_shows_no_bool_type_and_no_spec_sections():
    for args in (["churn", "warn", "--help"], ["churn", "backtest", "--help"], ["grade", "rfm", "--help"],
                 ["grade", "level", "--help"], ["classify", "quadrant", "--help"], ["load", "--help"]):
        r = runner.invoke(app, args, env={"COLUMNS": "120"})
        assert r.exit_code == 0
        assert "<bool>" not in r.stdout, args
        assert "SPEC" not in r.stdout, args


def test_an_analysis_never_creates_a_store(tmp_path):
    missing = tmp_path / "nothing.duckdb"
    r = runner.invoke(app, ["--db", str(missing), "grade", "rfm"])
    assert r.exit_code == 1 and "no store here yet" in r.stderr
    assert not missing.exists()


def test_output_into_a_missing_folder_is_refused(db, tmp_path):
    r = invoke(db, "grade", "rfm", "-o", str(tmp_path / "no_such_folder" / "rfm.csv"))
    assert r.exit_code == 2
    assert "does not exist" in r.stderr
    assert not (tmp_path / "no_such_folder").exists()


def test_a_read_only_store_answers_without_a_snapshot(db, monkeypatch):
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if (mode & os.W_OK and str(p) == db) else
                        real(p, mode, **kw))
    r = invoke(db, "churn", "status")
    assert r.exit_code == 0, r.output
    assert "read-only" in r.stderr
    s = open_store(db, Settings(), wait=0)
    try:
        assert s.con.execute("SELECT count(*) FROM snapshots").fetchall()[0][0] == 0
    finally:
        s.close()


def test_csv_cells_never_become_formulas(db, tmp_path):
    r = invoke(db, "grade", "rfm")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    names = {row["customer_id"]: row["name"] for row in rows}
    assert names["B"] == "'=HYPERLINK(\"http://x\")" and names["A"] == "[/]"
    out = tmp_path / "rfm.csv"
    r = invoke(db, "grade", "rfm", "-o", str(out))
    assert r.exit_code == 0
    assert "'=HYPERLINK" in out.read_text(encoding="utf-8-sig")


def test_names_manager_and_region_beside_customer_ids(db):
    for args in (["grade", "rfm"], ["grade", "pareto"], ["churn", "status"], ["churn", "warn", "--all"]):
        r = invoke(db, *args)
        assert r.exit_code == 0, (args, r.output)
        rows = {row["customer_id"]: row for row in csv.DictReader(io.StringIO(r.stdout))}
        assert {"name", "manager_id", "region"} <= set(rows["A"]), args
        assert (rows["A"]["manager_id"], rows["A"]["region"]) == ("M1", "兰州"), args


def test_a_quarter_or_year_after_the_data_is_refused(db):
    r = invoke(db, "managers", "scorecard", "--quarter", "2025Q1")
    assert r.exit_code == 1 and "orders end 2024-12-31; load the export for 2025-01 … 2025-03 first" in r.stderr
    r = invoke(db, "grade", "scorecard", "--year", "2025")
    assert r.exit_code == 1 and "orders end 2024-12-31" in r.stderr
    r = invoke(db, "managers", "scorecard", "--quarter", "2024Q4")
    assert r.exit_code == 0, r.output


def test_ids_and_numbers_never_wrap_on_a_narrow_terminal():
    import pyarrow as pa
    from rich.console import Console

    from crmtool.commands.common import _rich_table

    table = pa.table({"customer_id": ["0100013115", "0100016364"], "name": ["薛城华信水泥有限公司" * 2, "甲"],
                      "volume": [12345.678, 0.5], "baseline": [45678.9, 1.0], "breach_streak": [3, 1],
                      "notify": ["M004; 副主任", "M004"], "level": ["gold", "ordinary"]})
    console = Console(width=60, record=True, force_terminal=False)
    console.print(_rich_table(table, title="t", limit=0, width=60))
    text = console.export_text()
    # every id and number appears whole on one line; the columns that did not fit are named
    for token in ("0100013115", "0100016364", "12,345.68"):
        assert token in text, (token, text)
    assert "4 more columns: baseline, breach_streak, notify, level" in text.replace("\n", " ").replace("   ", " ")


def test_a_huge_value_is_cut_on_the_terminal_and_the_caption_says_so():
    import pyarrow as pa
    from rich.console import Console

    from crmtool.commands.common import MAX_CELL_CHARS, _rich_table

    path = "/srv/exports/" + "省公司/" * 30 + "订单_2025-12.csv"
    table = pa.table({"file": [path, path], "line": [3, 4], "value": ["9" * 100_000, "short"],
                      "reason": ["not a number", "x"]})
    console = Console(width=100, record=True, force_terminal=False)
    console.print(_rich_table(table, title="rejects", limit=0, width=100))
    text = console.export_text()
    assert text.count("9") < 2 * MAX_CELL_CHARS and "…" in text and "short" in text
    assert len(text.splitlines()) < 30
    assert "订单_2025-12.csv" in text.replace("\n", "").replace("│", "").replace(" ", "")  # the file name stays
    assert f"values longer than {MAX_CELL_CHARS} characters cut" in text.replace("\n", " ")


def test_a_quarter_or_year_that_runs_past_the_data_says_which_days_count_as_without_orders(tmp_path):
    path = tmp_path / "crm.duckdb"
    s = open_store(path, Settings(), wait=0)
    insert(s, "customers", [dict(customer_id="A", name="a", manager_id="M1", expected_volume=120)])
    insert(s, "orders", [dict(order_id=f"A{m}", order_date=d(f"2024-{m:02d}-10"), customer_code="A", quantity=10)
                         for m in range(1, 8)] + [dict(order_id="A8", order_date=d("2024-08-15"),
                                                       customer_code="A", quantity=10)])
    s.close()
    db = str(path)
    note = "2024Q3 runs past the data: orders end 2024-08-15, so 2024-08-16 … 2024-09-30 counts as a time without orders"
    for cmd in (["grade", "scorecard", "--quarter", "2024Q3"], ["managers", "scorecard"],
                ["sales", "attainment", "--quarter", "2024Q3"]):
        r = invoke(db, *cmd)
        assert r.exit_code == 0 and note in r.stderr, (cmd, r.stderr)
    r = invoke(db, "grade", "scorecard", "--year", "2024")
    assert r.exit_code == 0 and "2024 runs past the data: orders end 2024-08-15, so 2024-08-16 … 2024-12-31" in r.stderr
    # the managers report says it too, in its language
    for lang, text in (("en", note), ("zh", "2024Q3 超出已导入的数据：订单截至 2024-08-15，2024-08-16 至 2024-09-30 按无订单计算")):
        out = tmp_path / f"managers.{lang}.html"
        r = invoke(db, "--lang", lang, "report", "managers", "--format", "html", "-o", str(out))
        assert r.exit_code == 0, r.output
        assert text in out.read_text(encoding="utf-8"), lang
    # the monthly report's as-of is the run's (the latest order date), not the managers quarter's end
    out = tmp_path / "monthly.html"
    assert invoke(db, "report", "monthly", "--format", "html", "-o", str(out)).exit_code == 0
    assert "<dt>As of</dt><dd>2024-08-15</dd>" in out.read_text(encoding="utf-8")
    # a period the data covers says nothing; one that starts after the data is refused (SPEC §3)
    r = invoke(db, "grade", "scorecard", "--quarter", "2024Q2")
    assert r.exit_code == 0 and "runs past the data" not in r.stderr
    r = invoke(db, "grade", "scorecard", "--quarter", "2024Q4")
    assert r.exit_code == 1 and "orders end 2024-08-15" in r.stderr


def test_a_month_the_orders_end_inside_of_is_refused_unless_allowed(tmp_path):
    # orders end 2024-07-03: K1 buys 100 t mid-month every month, so July judged on 3 days would make it
    # a breach (volume 0 against 100) — the false warning SPEC §3 must never give
    path = tmp_path / "p.duckdb"
    s = open_store(path, Settings())
    insert(s, "customers", [dict(customer_id="K1", name="k", level="gold")])
    insert(s, "orders", [dict(order_id=f"O{m}", order_date=d(f"2024-0{m}-15"), customer_code="K1", quantity=100)
                         for m in (4, 5, 6)] + [dict(order_id="Z", order_date=d("2024-07-03"), customer_code="Z",
                                                     quantity=1)])
    s.close()
    for args in (["churn", "warn", "--month", "2024-07"], ["churn", "status", "--month", "2024-07"],
                 ["grade", "scorecard", "--month", "2024-07"], ["churn", "winback", "--to", "2024-07"]):
        r = invoke(str(path), *args)
        assert r.exit_code == 1 and "orders end 2024-07-03, inside 2024-07: the month is not complete" in r.stderr, args
    r = invoke(str(path), "churn", "warn", "--month", "2024-07", "--allow-future")
    assert r.exit_code == 0, r.output
    # the default month is the last complete one, and a quarter is judged from its first month (SPEC §4.9)
    assert invoke(str(path), "churn", "warn").exit_code == 0
    r = invoke(str(path), "managers", "scorecard", "--quarter", "2024Q3")
    assert "not complete" not in r.stderr and "no managers" in r.stderr  # (this store has none to judge)


def test_a_period_that_ends_before_the_first_order_is_refused(db):
    # orders start 2024-01-15: a mistyped year must not give every customer "prospect" and grade
    # managers on 0 t by their ids; --allow-future does not lift it (it is about the other end)
    for args in (["churn", "status", "--month", "2023-06"], ["churn", "warn", "--month", "2023-12", "--allow-future"],
                 ["managers", "scorecard", "--quarter", "2023Q4"], ["grade", "scorecard", "--year", "2023"],
                 ["grade", "rfm", "--as-of", "2024-01-14"]):
        r = invoke(db, *args)
        assert r.exit_code == 1 and "orders start 2024-01-15" in r.stderr, (args, r.stderr)
    r = invoke(db, "managers", "scorecard", "--quarter", "2023Q4")
    assert "2023Q4 ends before them" in r.stderr
    # a period that reaches into the data is judged
    assert invoke(db, "churn", "status", "--month", "2024-01").exit_code == 0
    assert invoke(db, "grade", "rfm", "--as-of", "2024-01-15").exit_code == 0


def test_a_quarter_whose_last_days_have_no_orders_says_so_and_a_refusal_asks_for_the_rest_of_the_month(tmp_path):
    path = tmp_path / "crm.duckdb"
    s = open_store(path, Settings(), wait=0)
    insert(s, "customers", [dict(customer_id="A", name="a", manager_id="M1")])
    insert(s, "orders", [dict(order_id=f"A{m}", order_date=d(f"2024-{m:02d}-10"), customer_code="A", quantity=10)
                         for m in range(1, 12)] + [dict(order_id="A12", order_date=d("2024-12-28"),
                                                        customer_code="A", quantity=10)])
    s.close()
    db = str(path)
    r = invoke(db, "managers", "scorecard", "--quarter", "2024Q4")
    assert r.exit_code == 0
    assert "2024Q4 runs past the data: orders end 2024-12-28, so 2024-12-29 … 2024-12-31" in r.stderr
    # the December export is loaded up to the 28th: the rest of it is what is missing
    r = invoke(db, "grade", "rfm", "--as-of", "2024-12-31")
    assert r.exit_code == 1 and "--as-of 2024-12-31 is after them. Load the rest of 2024-12 first" in r.stderr
    r = invoke(db, "churn", "warn", "--month", "2025-02")
    assert r.exit_code == 1 and "load the rest of 2024-12 and the export for 2025-01 … 2025-02 first" in r.stderr


def test_a_quarter_chosen_by_an_as_of_inside_it_says_it_counts_the_whole_quarter(db):
    # --as-of 2024-11-15: the judged month is October, its quarter 2024Q4 (SPEC §4.9), whose lines run
    # to 2024-12-31 — after the as-of the user gave, so the user is told
    r = invoke(db, "managers", "scorecard", "--as-of", "2024-11-15")
    assert r.exit_code == 0, r.stderr
    assert ("2024Q4 ends 2024-12-31, after --as-of 2024-11-15: its figures count the orders of the whole period "
            "(to 2024-12-31)") in r.stderr
    r = invoke(db, "managers", "scorecard", "--as-of", "2024-12-31")
    assert r.exit_code == 0 and "after --as-of" not in r.stderr
