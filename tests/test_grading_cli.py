"""`crmtool grade …` / `crmtool classify quadrant`: every subcommand, every output format."""

from __future__ import annotations

import csv
import re
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


def library(db: Path, func, as_of: str = "2024-12-31", overrides: dict | None = None, **kw):
    """The library's own result for the same store (frictionless-style: CLI output = library output)."""
    from crmtool.config import settings_from_dict
    from crmtool.facts import resolve_period

    settings = settings_from_dict(overrides or {})
    store = open_store(db, settings, read_only=True, wait=0)
    try:
        return func(store.con, resolve_period(store.con, as_of), settings, **kw)
    finally:
        store.close()


def test_options_metric_window_set_and_lang(db):
    res = invoke(db, "--lang", "zh", "grade", "pareto", "--as-of", "2024-12-31", "--metric", "amount",
                 "--window", "6", "--set", "pareto.a=0.5")
    assert res.exit_code == 0, res.output
    rows = parse_csv(res.stdout)
    # --window 6: 2024-06-30 < date <= 2024-12-31 holds orders i = 6..11 and 18..23 (months 7..12), one of
    # each pair per customer C{i % 6}; --metric amount = 100 · (i + 1): C0 700 + 1900 = 2600 … C5 3600.
    # Total 18 600; shares before each row: 0, .194, .376, .548, .710, .860 → with a = .5: A A A B B B
    assert [(r["customer_id"], float(r["metric_value"]), r["abc_class"], r["abc_label"]) for r in rows] == [
        ("C5", 3600, "A", "A类"), ("C4", 3400, "A", "A类"), ("C3", 3200, "A", "A类"),
        ("C2", 3000, "B", "B类"), ("C1", 2800, "B", "B类"), ("C0", 2600, "B", "B类")]
    assert float(rows[0]["share"]) == pytest.approx(3600 / 18600)
    res = invoke(db, "--lang", "zh", "grade", "level", "--as-of", "2024-12-31", "--set", "level.scheme=aaa")
    assert res.exit_code == 0, res.output
    got = {r["customer_id"]: r["suggested_level"] for r in parse_csv(res.stdout)}
    # 6 customers, quotas 10 / 20 / 30 / 40 %: rank_pct 0 → 3A, 1/6 → 2A, 2/6 and 3/6 → A, 4/6 and 5/6 → B
    assert sorted(got.values()) == ["2A", "3A", "A", "A", "B", "B"]
    from crmtool.grading import level

    lib = library(db, level, overrides={"level": {"scheme": "aaa"}}).table
    assert got == dict(zip(lib.column("customer_id").to_pylist(), lib.column("suggested_level").to_pylist()))


def test_scorecard_quarter_and_year(db):
    from crmtool.grading import scorecard

    for opt, value, label in (("--quarter", "2024Q4", "2024Q4"), ("--year", "2024", "2024")):
        res = invoke(db, "grade", "scorecard", opt, value)
        assert res.exit_code == 0, res.output
        rows = parse_csv(res.stdout)
        assert list(rows[0])[1] == "period" and {r["period"] for r in rows} == {label}
        lib = library(db, scorecard, **{opt[2:]: value}).table.to_pylist()
        assert [(r["customer_id"], r["rank"], r["grade"]) for r in rows] == [
            (x["customer_id"], str(x["rank"]), x["grade"]) for x in lib]
        assert [float(r["total"]) for r in rows] == pytest.approx([x["total"] for x in lib])
    # in Q4 each customer is in the scorecard set in one month only: C3 buys in October (orders 9, 21),
    # C4 in November (10, 22), C5 in December (11, 23), C1 has November's plan and buys nothing in Q4.
    # The quarter averages the monthly totals over all three months (SPEC §4.4): total_Q4 = total_M / 3
    q4 = {r["customer_id"]: r for r in parse_csv(invoke(db, "grade", "scorecard", "--quarter", "2024Q4").stdout)}
    assert set(q4) == {"C1", "C3", "C4", "C5"}
    for cid, month in (("C3", "2024-10-31"), ("C4", "2024-11-30"), ("C1", "2024-11-30"), ("C5", "2024-12-31")):
        monthly = {r["customer_id"]: r for r in library(db, scorecard, month).table.to_pylist()}
        assert float(q4[cid]["total"]) == pytest.approx(monthly[cid]["total"] / 3), cid
        assert q4[cid]["months_in_set"] == "1"
    assert float(q4["C1"]["completion"]) == 0.0  # a plan of 10 t and nothing bought
    res = invoke(db, "grade", "scorecard", "--month", "2024-11", "--quarter", "2024Q4")
    assert res.exit_code == 2


def test_level_compare_adds_previous_level_and_matrix(db):
    from crmtool.grading import level

    res = invoke(db, "grade", "level", "--as-of", "2024-12-31", "--compare", "2024-06-30")
    assert res.exit_code == 0, res.output
    rows = {r["customer_id"]: r for r in parse_csv(res.stdout)}
    now = library(db, level).table.to_pylist()
    then = {r["customer_id"]: r["suggested_level"] for r in library(db, level, "2024-06-30").table.to_pylist()}
    order = ["diamond", "platinum", "gold", "ordinary"]
    for r in now:
        got = rows[r["customer_id"]]
        prev = then.get(r["customer_id"])
        assert (got["suggested_level"], got["previous_level"] or None) == (r["suggested_level"], prev)
        expected = ("new" if prev is None else "up" if order.index(r["suggested_level"]) < order.index(prev)
                    else "down" if order.index(r["suggested_level"]) > order.index(prev) else "same")
        assert got["migration"] == expected, r["customer_id"]
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
    assert res.exit_code == 1 and "orders start 2024-01-01" in res.stderr  # before the data: refused
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
    # a person reads the terminal: the title and the headers in the chosen language (files keep the names)
    assert "客户定级建议（6 行）" in res.stdout and "建议级别" in res.stdout and "level_label" not in res.stdout
    # the coded values too (levels, change): the id columns show their labels, so the label column is left out
    shown = res.stdout.split("显示 3/6 行")[0]  # the table (the summary lines below it stay English)
    assert "diamond" not in shown and "gold" not in shown and "same" not in shown and "yes" not in shown
    assert "持平" in shown and "是" in shown
    assert "销量得分" not in res.stdout  # factor scores: in files and pipes, not on the terminal
    # the first 3 of 6 by rank: rank_pct 0 → diamond 钻石, 1/6 and 2/6 → gold 黄金 (cumulative .05, .15, .40)
    top = [r["level_label"] for r in library(db, level_fn(), lang="zh").table.to_pylist()[:3]]
    assert top == ["钻石", "黄金", "黄金"]
    assert res.stdout.count("钻石") >= 1 and res.stdout.count("黄金") >= 2


def level_fn():
    from crmtool.grading import level

    return level


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


def test_summary_lines_follow_lang(db, tmp_path):
    out = tmp_path / "x.csv"
    res = invoke(db, "--lang", "zh", "grade", "level", "--as-of", "2024-12-28", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "客户定级建议，截至 2024-12-28 的 12 个月：6 个客户" in res.stderr and "与档案级别相比：升级" in res.stderr
    assert f"已写出 6 行：{out}" in res.stderr and "against the archive" not in res.stderr
    res = invoke(db, "--lang", "zh", "grade", "pareto", "--as-of", "2024-12-28", "-o", str(out))
    assert "ABC分类（销量），截至 2024-12-28 的 12 个月：6 个客户" in res.stderr and "基尼系数" in res.stderr
    res = invoke(db, "grade", "level", "--as-of", "2024-12-28", "-o", str(out))
    assert "Levels, 12 months to 2024-12-28: 6 customers" in res.stderr and f"wrote 6 rows to {out}" in res.stderr


def test_terminal_titles_follow_lang_and_ratios_show_as_percentages(db, monkeypatch):
    import crmtool.commands.common as common

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    res = invoke(db, "--lang", "zh", "churn", "status", "--month", "2024-11")
    assert res.exit_code == 0, res.output
    assert "客户流失状态 2024-11（" in res.stdout and "churn status" not in res.stdout
    res = invoke(db, "--lang", "zh", "grade", "pareto", "--as-of", "2024-12-22", "--limit", "2")
    # share and cum_share are ratios: 35.3%, not 0.3530 (files keep the fraction)
    shares = re.findall(r"\d+\.\d%", res.stdout)
    assert res.exit_code == 0 and len(shares) >= 4, res.stdout
    res = invoke(db, "churn", "status", "--month", "2024-11")
    assert "churn status 2024-11 (" in res.stdout
