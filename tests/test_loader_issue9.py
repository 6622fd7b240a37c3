"""Issue 9, loader items: dates out of range, densities keyed by product code or category, rejects
replaced on reload (and `crmtool rejects` / `crmtool columns`), code_map validity windows, a one-line
file, amounts with currency marks and 万元 headers, a non-zip .xlsx. Expected numbers by hand."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmtool.cli import app
from crmtool.config import Settings, settings_from_dict
from crmtool.errors import ConfigError, InputError
from crmtool.facts import install_views
from crmtool.io.catalog import accepted_headers, list_rejects
from crmtool.io.load import REASONS, load_files
from crmtool.store import SCHEMA_VERSION, open_store

H = "凭证号,行号,过账日期,客户编码,数量\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def q(store, sql, params=None):
    return store.con.execute(sql, params or []).fetchall()


# --------------------------------------------------------------------------- dates out of range


def test_event_dates_outside_the_load_window_are_rejected(store, tmp_path):
    today = dt.date.today()
    ahead_ok = (today + dt.timedelta(days=31)).isoformat()
    ahead_bad = (today + dt.timedelta(days=32)).isoformat()
    f = write(tmp_path / "o.csv", H +
              "A,1,2024-01-05,C1,1\n"          # line 2: fine
              "A,2,9999-12-31,C1,1\n"          # line 3: the mistyped far future
              "A,3,1999-12-31,C1,1\n"          # line 4: before 2000-01-01
              f"A,4,{ahead_ok},C1,1\n"          # line 5: today + 31 days is still in range
              f"A,5,{ahead_bad},C1,1\n")        # line 6: today + 32 days is not
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (2, 3)
    assert q(store, "SELECT line, column_name, value, reason FROM rejects ORDER BY line") == [
        (3, "过账日期", "9999-12-31", REASONS["date_range"]),
        (4, "过账日期", "1999-12-31", REASONS["date_range"]),
        (6, "过账日期", ahead_bad, REASONS["date_range"])]
    assert REASONS["date_range"] == "date out of range"
    # other event dates too (a visit), but not dates that lie far ahead or back by nature: plan months,
    # contract ends, open validity windows (9999-12-31 = "no end"), archive dates from before 2000
    load_files(store, "visits", [write(tmp_path / "v.csv", "拜访编号,拜访日期,客户编码,客户经理\nV1,9999-12-31,C1,M1\n")])
    load_files(store, "plans", [write(tmp_path / "p.csv", "月份,客户编码,计划量\n2099-01,C1,5\n2024-03,C1,5\n")])
    load_files(store, "customers", [write(tmp_path / "c.csv", "客户编码,客户名称,建档日期\nC1,甲,1990-01-01\n")])
    load_files(store, "code_map", [write(tmp_path / "m.csv", "ERP编码,主客户编码,生效日期,失效日期\n"
                                                             "E1,C1,2020-01-01,9999-12-31\n")])
    got = q(store, "SELECT file, field, value FROM rejects WHERE reason = 'date out of range' AND file <> ? "
                   "ORDER BY file", [str(f)])
    assert got == [(str(tmp_path / "v.csv"), "visit_date", "9999-12-31")]
    assert q(store, "SELECT count(*) FROM plans")[0][0] == 2
    assert q(store, "SELECT count(*) FROM customers")[0][0] == 1
    assert q(store, "SELECT valid_to FROM code_map") == [(dt.date(9999, 12, 31),)]


def test_load_window_is_configurable(tmp_path):
    s = open_store(tmp_path / "db.duckdb", settings_from_dict(
        {"load": {"date_min": "2024-01-01", "date_max_days_ahead": 0}}), wait=0)
    try:
        r = load_files(s, "orders", [write(tmp_path / "o.csv", H + "A,1,2023-12-31,C1,1\nA,2,2024-01-01,C1,1\n")])
        assert (r.accepted, r.rejected) == (1, 1)
    finally:
        s.close()
    with pytest.raises(ConfigError, match="load.date_min"):
        settings_from_dict({"load": {"date_min": "soon"}})


# --------------------------------------------------------------------------- densities


def test_density_keyed_by_product_code_or_raw_category(tmp_path):
    s = open_store(tmp_path / "db.duckdb", settings_from_dict(
        {"units": {"density": {"lng": 0.45, "P-92": 0.75}}}), wait=0)
    try:
        f = write(tmp_path / "o.csv", "凭证号,过账日期,客户编码,物料编码,油品类别,数量,单位\n"
                  "A,2024-01-05,C1,LNG,其他,1000,升\n"     # product code lng: 1000 L × 0.45 = 0.45 t
                  "B,2024-01-05,C1,9001,LNG,1000,升\n"    # category as written lng: 0.45 t
                  "C,2024-01-05,C1,P-92,lng,1000,升\n"    # product code wins over category: × 0.75 = 0.75 t
                  "D,2024-01-05,C1,9002,柴油,1000,升\n"   # mapped category diesel (default 0.84): 0.84 t
                  "E,2024-01-05,C1,9003,润滑油,1000,升\n")  # other: no density, rejected
        r = load_files(s, "orders", [f])
        assert (r.accepted, r.rejected) == (4, 1)
        assert q(s, "SELECT order_id, quantity, category FROM orders ORDER BY 1") == [
            ("A", Decimal("0.4500"), "other"), ("B", Decimal("0.4500"), "other"),
            ("C", Decimal("0.7500"), "other"), ("D", Decimal("0.8400"), "diesel")]
        assert q(s, "SELECT line, reason FROM rejects") == [(6, REASONS["density"])]
    finally:
        s.close()


# --------------------------------------------------------------------------- rejects replaced, listed


def test_reloading_a_file_replaces_its_rejects(store, tmp_path):
    f = write(tmp_path / "o.csv", H + "A,1,2024-01-05,C1,1\nA,2,bad,C1,1\nA,3,2024-01-05,C1,五\n")
    for _ in range(3):
        r = load_files(store, "orders", [f])
        assert r.rejected == 2
    assert q(store, "SELECT count(*) FROM rejects") == [(2,)]
    from crmtool.status import store_status

    assert store_status(store)["rejects_by_reason"] == {REASONS["date"]: 1, REASONS["number"]: 1}
    # the same file name loaded into another table keeps its own rejects
    load_files(store, "orders", [f, f])
    assert q(store, "SELECT count(*) FROM rejects") == [(2,)]


def test_list_rejects_filters_by_file_and_reason(store, tmp_path):
    a = write(tmp_path / "a.csv", H + "A,1,bad,C1,1\nA,2,2024-01-05,C1,x\n")
    b = write(tmp_path / "b.csv", H + "B,1,2024-01-05,C1,y\n")
    load_files(store, "orders", [a, b])
    t = list_rejects(store.con)
    assert t.column_names == ["file", "line", "column", "value", "reason", "table_name"]
    assert t.num_rows == 3
    assert list_rejects(store.con, file="a.csv").column("line").to_pylist() == [2, 3]
    assert list_rejects(store.con, file=str(b)).column("value").to_pylist() == ["y"]
    assert list_rejects(store.con, reason="NUMBER").column("file").to_pylist() == [str(a), str(b)]
    assert list_rejects(store.con, file="a.csv", reason="date").column("value").to_pylist() == ["bad"]


def test_cli_rejects_and_columns(tmp_path):
    db = tmp_path / "crm.duckdb"
    f = write(tmp_path / "o.csv", H + "A,1,bad,C1,1\nA,2,2024-01-05,C1,x\n")
    runner = CliRunner()
    assert runner.invoke(app, ["--db", str(db), "load", "orders", str(f)]).exit_code == 0
    res = runner.invoke(app, ["--db", str(db), "rejects", "--reason", "not a number"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].split(",")[:5] == ['"file"', '"line"', '"column"', '"value"', '"reason"']
    assert len(lines) == 2 and '"数量","x","not a number"' in lines[1]
    out = tmp_path / "rejects.json"
    assert runner.invoke(app, ["--db", str(db), "rejects", "--file", "o.csv", "-o", str(out)]).exit_code == 0
    assert [(r["line"], r["reason"]) for r in json.loads(out.read_text(encoding="utf-8"))] == [
        (2, "not a date"), (3, "not a number")]
    cols = runner.invoke(app, ["columns", "orders"])
    assert cols.exit_code == 0 and "凭证号" in cols.stdout and "order_id" in cols.stdout
    assert runner.invoke(app, ["--db", str(tmp_path / "none.duckdb"), "rejects"]).exit_code == 1


def test_columns_lists_aliases_required_and_the_users_mapping():
    s = settings_from_dict({"columns": {"orders": {"order_id": "交货单"}}})
    t = accepted_headers(s, "orders").to_pylist()
    first = t[0]
    assert (first["column"], first["required"], first["user_header"]) == ("order_id", "yes", "交货单")
    assert "凭证号" in first["aliases"]
    assert next(r for r in t if r["column"] == "line_no")["required"] == "no"
    plans = accepted_headers(Settings(), "plans").to_pylist()
    assert next(r for r in plans if r["column"] == "manager_id")["required"] == "one of customer_id, manager_id"
    assert accepted_headers(Settings()).num_rows == sum(len(t.columns) for t in __import__(
        "crmtool.io.schema", fromlist=["TABLES"]).TABLES.values())


# --------------------------------------------------------------------------- code_map windows


def test_code_map_windows_for_one_code_both_stay_and_overlaps_are_rejected(store, tmp_path):
    cm = "erp编码,主客户编码,生效日期,失效日期\n"
    r = load_files(store, "code_map", [write(tmp_path / "a.csv", cm + "X,A,2023-01-01,2023-12-31\nX,B,2024-01-01,\n"
                                                                       "Y,C,2024-01-01,2024-06-30\n"
                                                                       "Y,D,2024-06-01,\n")])  # Y windows overlap
    assert (r.accepted, r.rejected) == (2, 2)
    assert q(store, "SELECT erp_code, customer_id FROM code_map ORDER BY 1, 2") == [("X", "A"), ("X", "B")]
    assert q(store, "SELECT line, reason FROM rejects ORDER BY line") == [
        (4, REASONS["overlap"]), (5, REASONS["overlap"])]
    # a window overlapping a stored window of the same code (with another valid_from) is rejected
    r2 = load_files(store, "code_map", [write(tmp_path / "b.csv", cm + "X,C,2023-06-01,2023-08-31\n")])
    assert (r2.accepted, r2.rejected) == (0, 1)
    # the same key (erp_code, valid_from) replaces the stored window, which then does not count as overlapping
    r3 = load_files(store, "code_map", [write(tmp_path / "c.csv", cm + "X,B,2024-01-01,2024-12-31\n"
                                                                        "X,E,2025-01-01,\n")])
    assert (r3.accepted, r3.rejected, r3.replaced) == (2, 0, 1)
    load_files(store, "orders", [write(tmp_path / "o.csv", "凭证号,过账日期,客户编码,数量\n"
                                                           "O1,2023-06-01,X,1\nO2,2024-06-01,X,1\nO3,2025-02-01,X,1\n")])
    install_views(store.con)
    assert q(store, "SELECT order_id, customer_id FROM orders_resolved ORDER BY 1") == [
        ("O1", "A"), ("O2", "B"), ("O3", "E")]


def test_a_version_1_store_migrates(tmp_path):
    db = tmp_path / "crm.duckdb"
    s = open_store(db, Settings(), wait=0)
    load_files(s, "orders", [write(tmp_path / "o.csv", H + "A,1,bad,C1,1\n")])
    # make it look like a store written by schema version 1
    s.con.execute("ALTER TABLE rejects DROP COLUMN table_name")
    s.con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    s.close()
    s = open_store(db, Settings(), wait=0)
    try:
        assert s.schema_version() == SCHEMA_VERSION == 3
        assert q(s, "SELECT table_name FROM rejects") == [("orders",)]
    finally:
        s.close()


# --------------------------------------------------------------------------- messy files


def test_one_line_file_of_50_mb_fails_fast_with_a_short_message(store, tmp_path):
    f = tmp_path / "dump.csv"
    with open(f, "wb") as out:
        field = b"x" * 99 + b","
        out.write(field * (50 * 1024 * 1024 // len(field)))
    with pytest.raises(InputError) as e:
        load_files(store, "orders", [f])
    msg = str(e.value)
    assert len(msg) < 300 and str(f) in msg and "line 1 is longer than 1 MB" in msg


def test_amounts_with_currency_marks_and_wan_yuan_header(store, tmp_path):
    f = write(tmp_path / "o.csv", "凭证号,过账日期,客户编码,数量,金额(万元),成本\n"
              'A,2024-01-05,C1,1,1.5,"80,000.00元"\n'      # 1.5 万元 = 15,000.00; cost 80,000.00
              "B,2024-01-05,C1,1,¥2,￥1，000元\n"            # 20,000.00; cost 1,000.00
              "C,2024-01-05,C1,1,两万,1\n")                # still not a number: rejected
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (2, 1)
    assert q(store, "SELECT order_id, amount, cost, gross_profit FROM orders ORDER BY 1") == [
        ("A", Decimal("15000.00"), Decimal("80000.00"), Decimal("-65000.00")),
        ("B", Decimal("20000.00"), Decimal("1000.00"), Decimal("19000.00"))]
    assert q(store, "SELECT line, column_name, value, reason FROM rejects") == [
        (4, "金额(万元)", "两万", REASONS["number"])]


@pytest.mark.parametrize("content,words", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old Excel 97-2003 (.xls)"),
    (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "web page (HTML)"),
    (b"order_id,date\nA,2024-01-01\n", "not an Excel .xlsx workbook"),
])
def test_non_zip_bytes_named_xlsx_are_a_clear_input_error(store, tmp_path, content, words):
    f = tmp_path / "orders.xlsx"
    f.write_bytes(content)
    with pytest.raises(InputError) as e:
        load_files(store, "orders", [f])
    assert words in str(e.value) and str(f) in str(e.value)


def test_gbk_bytes_after_megabytes_of_utf8_fall_back_to_gb18030(store, tmp_path):
    # 3 MB of plain ASCII (the sample the encoding is guessed from is valid UTF-8), then GBK bytes
    body = "".join(f"A{i},1,2024-01-05,C{i % 7},1\n" for i in range(130_000))
    f = tmp_path / "o.csv"
    f.write_bytes(("order_id,line_no,order_date,customer_code,quantity\n" + body).encode("ascii")
                  + "Z,1,2024-01-05,客户甲,2\n".encode("gbk"))
    assert f.stat().st_size > 3 * 1024 * 1024
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (130_001, 0) and r.files[0].encoding == "gb18030"
    assert q(store, "SELECT customer_code, source_line FROM orders WHERE order_id = 'Z'") == [("客户甲", 130_002)]


def test_physical_line_numbers_with_empty_lines_and_quoted_line_breaks(store, tmp_path):
    f = write(tmp_path / "o.csv", "销售明细\n\n"                                   # lines 1-2: title, empty
              "凭证号,行号,过账日期,客户编码,数量,物料描述\n"                          # line 3: header
              'A,1,2024-01-05,C1,1,"第一行\n\n第三行"\n'                              # lines 4-6
              "\n"                                                                    # line 7: empty
              "A,2,bad,C1,1,x\r\n"                                                    # line 8
              'A,3,2024-01-05,C1,"1,000",y\n'                                         # line 9: "1,000" = 1000
              "A,4,2024-01-05,C1,z,y\n")                                              # line 10
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (2, 2)
    assert q(store, "SELECT line, field FROM rejects ORDER BY line") == [(8, "order_date"), (10, "quantity")]
    assert q(store, "SELECT line_no, source_line FROM orders ORDER BY 1") == [(1, 4), (3, 9)]
    assert r.files[0].header_line == 3
