"""Loading real-shaped exports: every reader path, aliases and mapping, units, returns, upserts,
every reject reason, --strict. Expected numbers are worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from crmtool.config import settings_from_dict
from crmtool.errors import InputError
from crmtool.facts import install_views
from crmtool.io.load import REASONS, load_files
from crmtool.store import open_store

ORDERS_HEADER = "凭证号,行号,过账日期,客户编码,物料描述,数量,单位,含税金额,成本\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rows(store, sql: str, params=None):
    return store.con.execute(sql, params or []).fetchall()


# --------------------------------------------------------------------------- reader paths


def test_gbk_csv_with_chinese_headers(store, tmp_path):
    f = write(tmp_path / "orders.csv", ORDERS_HEADER +
              "SO1,1,2024-01-05,00123,0#车用柴油,10,吨,80000,70000\n"
              "SO1,2,2024/1/5,00123,92#车用汽油,2.5,吨,\"22,500.00\",20000\n", "gbk")
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected, r.replaced) == (2, 0, 0)
    assert r.files[0].encoding == "gb18030"
    got = rows(store, "SELECT order_id, line_no, order_date, customer_code, category, quantity, amount, gross_profit "
                      "FROM orders ORDER BY line_no")
    assert got == [
        ("SO1", 1, dt.date(2024, 1, 5), "00123", "diesel", Decimal("10.0000"), Decimal("80000.00"), Decimal("10000.00")),
        # 22,500.00 with a thousands separator; profit 22500 - 20000 = 2500
        ("SO1", 2, dt.date(2024, 1, 5), "00123", "gasoline", Decimal("2.5000"), Decimal("22500.00"), Decimal("2500.00")),
    ]


def test_utf8_bom_csv_and_tab_separated(store, tmp_path):
    f = write(tmp_path / "managers.csv", "\ufeff客户经理编码\t姓名\t电话\nM01\t张伟\t13800000000\n")
    r = load_files(store, "managers", [f])
    assert r.accepted == 1 and r.files[0].encoding == "utf-8-sig"
    assert rows(store, "SELECT manager_id, name, phone FROM managers") == [("M01", "张伟", "13800000000")]


def test_xlsx_serial_dates_text_codes_and_title_row(store, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "客户档案"
    ws.append(["XX省石油分公司 客户档案 导出日期 2024-12-31"])  # a title row above the header
    ws.append(["客户编码", "客户名称", "客户级别", "年需求量", "建档日期", "定位匹配", "备注"])
    ws.append(["00123", "甲物流", "黄金", 1200, 45292, 80, "老客户"])  # 45292 = 2024-01-01 as a serial
    ws.append([456.0, "乙建工", "普通", "3,000", dt.datetime(2023, 5, 6), None, None])  # a numeric code cell
    wb.save(tmp_path / "customers.xlsx")
    r = load_files(store, "customers", [tmp_path / "customers.xlsx"])
    assert (r.accepted, r.rejected) == (2, 0)
    assert r.files[0].header_line == 2
    got = rows(store, "SELECT customer_id, name, level, annual_demand, created_date, positioning_fit "
                      "FROM customers ORDER BY customer_id")
    assert got == [("00123", "甲物流", "gold", Decimal("1200.0000"), dt.date(2024, 1, 1), 80.0),
                   ("456", "乙建工", "ordinary", Decimal("3000.0000"), dt.date(2023, 5, 6), None)]
    # the unknown column 备注 is kept in customers_extra
    assert rows(store, "SELECT customer_id, column_name, value FROM customers_extra") == [("00123", "备注", "老客户")]


def test_xlsx_named_sheet(store, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "说明"
    ws = wb.create_sheet("映射")
    ws.append(["原客户编码", "主客户编码"])
    ws.append(["0009", "00123"])
    wb.save(tmp_path / "map.xlsx")
    assert load_files(store, "code_map", [tmp_path / "map.xlsx"], sheet="映射").accepted == 1
    with pytest.raises(InputError, match="no sheet"):
        load_files(store, "code_map", [tmp_path / "map.xlsx"], sheet="nope")


def test_parquet(store, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.table({"order_id": ["A", "A"], "line_no": [1, 2],
                  "order_date": pa.array([dt.date(2024, 2, 1), dt.date(2024, 2, 2)]),
                  "customer_code": ["007", "007"], "quantity": [1.5, -0.5], "amount": [100.0, -30.0]})
    pq.write_table(t, tmp_path / "o.parquet")
    r = load_files(store, "orders", [tmp_path / "o.parquet"])
    assert (r.accepted, r.rejected) == (2, 0)
    assert rows(store, "SELECT sum(quantity), sum(amount) FROM orders") == [(Decimal("1.0000"), Decimal("70.00"))]


def test_not_text_file_is_a_clear_error(store, tmp_path):
    f = tmp_path / "orders.csv"
    f.write_bytes(b"\x81\x30\x81" + b"\xff" * 10)
    with pytest.raises(InputError, match="line 1"):
        load_files(store, "orders", [f])


# --------------------------------------------------------------------------- headers


def test_missing_required_column_names_file_and_aliases(store, tmp_path):
    f = write(tmp_path / "o.csv", "单号,日期,数量\nA,2024-01-01,1\n")
    with pytest.raises(InputError) as e:
        load_files(store, "orders", [f])
    msg = str(e.value)
    assert "o.csv" in msg and "customer_code" in msg and "[columns.orders]" in msg


def test_user_mapping_overrides_aliases(tmp_path):
    s = open_store(tmp_path / "db.duckdb", settings_from_dict(
        {"columns": {"orders": {"order_id": "交货单", "quantity": "实发量(吨)", "customer_code": "售达方编码"}}}))
    f = write(tmp_path / "o.csv", "交货单,凭证号,过账日期,售达方编码,实发量(吨)\nD1,X9,2024-03-01,C1,4\n")
    assert load_files(s, "orders", [f]).accepted == 1
    # 交货单 is the order id by the mapping, although 凭证号 is a built-in alias
    assert s.con.execute("SELECT order_id, customer_code, quantity FROM orders").fetchall() == [
        ("D1", "C1", Decimal("4.0000"))]
    bad = write(tmp_path / "b.csv", "凭证号,过账日期,客户编码,数量\nX,2024-03-01,C1,1\n")
    with pytest.raises(InputError, match="交货单"):
        load_files(s, "orders", [bad])
    s.close()


# --------------------------------------------------------------------------- units and returns


def test_unit_conversion_with_density(store, tmp_path):
    f = write(tmp_path / "o.csv", ORDERS_HEADER +
              "A,1,2024-01-05,C1,0#车用柴油,1000,升,7000,\n"      # 1000 L × 0.84 kg/L = 840 kg = 0.84 t
              "A,2,2024-01-05,C1,92#车用汽油,2,千升,16000,\n"     # 2 kL × 0.737 = 1.474 t
              "A,3,2024-01-05,C1,0#车用柴油,500,公斤,3500,\n"     # 500 kg = 0.5 t
              "A,4,2024-01-05,C1,0#车用柴油,3,吨,24000,\n")       # 3 t
    r = load_files(store, "orders", [f])
    assert r.accepted == 4
    got = rows(store, "SELECT line_no, quantity, unit, quantity_raw, unit_raw FROM orders ORDER BY line_no")
    assert got == [(1, Decimal("0.8400"), "L", Decimal("1000.0000"), "升"),
                   (2, Decimal("1.4740"), "kL", Decimal("2.0000"), "千升"),
                   (3, Decimal("0.5000"), "kg", Decimal("500.0000"), "公斤"),
                   (4, Decimal("3.0000"), "t", Decimal("3.0000"), "吨")]


def test_unit_in_header_applies_to_rows_without_unit(store, tmp_path):
    f = write(tmp_path / "o.csv", "凭证号,过账日期,客户编码,物料描述,数量(升)\nA,2024-01-05,C1,0#柴油,2000\n")
    load_files(store, "orders", [f])
    assert rows(store, "SELECT quantity FROM orders") == [(Decimal("1.6800"),)]  # 2000 L × 0.84 / 1000


def test_density_from_config(tmp_path):
    s = open_store(tmp_path / "db.duckdb", settings_from_dict({"units": {"density": {"other": 0.9}}}))
    f = write(tmp_path / "o.csv", ORDERS_HEADER + "A,1,2024-01-05,C1,润滑油,100,升,1000,\n")
    assert load_files(s, "orders", [f]).accepted == 1
    assert s.con.execute("SELECT quantity, category FROM orders").fetchall() == [(Decimal("0.0900"), "other")]
    s.close()


def test_returns_net_against_sums(store, tmp_path):
    f = write(tmp_path / "o.csv", ORDERS_HEADER +
              "A,1,2024-01-05,C1,0#柴油,10,吨,80000,72000\n"
              "R,1,2024-01-20,C1,0#柴油,-4,吨,-32000,-28800\n"   # 红字冲销: 4 t back
              "B,1,2024-02-01,C1,0#柴油,5.5-,吨,44000-,\n")       # SAP trailing minus = -5.5
    load_files(store, "orders", [f])
    # net volume 10 - 4 - 5.5 = 0.5; amount 80000 - 32000 - 44000 = 4000; profit 8000 - 3200 = 4800 (B has no cost)
    assert rows(store, "SELECT sum(quantity), sum(amount), sum(gross_profit) FROM orders") == [
        (Decimal("0.5000"), Decimal("4000.00"), Decimal("4800.00"))]
    install_views(store.con)
    assert rows(store, "SELECT count(*) FILTER (WHERE is_purchase) FROM orders_resolved") == [(1,)]


# --------------------------------------------------------------------------- upserts


def test_overlapping_exports_loaded_twice_count_once(store, tmp_path):
    jan = write(tmp_path / "jan.csv", ORDERS_HEADER +
                "A,1,2024-01-05,C1,0#柴油,10,吨,80000,\n"
                "B,1,2024-01-25,C2,0#柴油,20,吨,160000,\n", "gbk")
    # the February export repeats order B (corrected to 22 t) and adds C
    feb = write(tmp_path / "feb.csv", ORDERS_HEADER +
                "B,1,2024-01-25,C2,0#柴油,22,吨,176000,\n"
                "C,1,2024-02-03,C1,0#柴油,5,吨,40000,\n", "gbk")
    r1 = load_files(store, "orders", [jan, feb])
    assert (r1.accepted, r1.replaced) == (4, 1)
    once = rows(store, "SELECT count(*), sum(quantity) FROM orders")
    assert once == [(3, Decimal("37.0000"))]  # 10 + 22 + 5
    r2 = load_files(store, "orders", [jan, feb])
    assert rows(store, "SELECT count(*), sum(quantity) FROM orders") == once
    assert r2.replaced == 4


def test_duplicate_key_within_a_file_last_line_wins(store, tmp_path):
    f = write(tmp_path / "c.csv", "客户编码,客户名称\nC1,旧名\nC1,新名\n")
    r = load_files(store, "customers", [f])
    assert (r.accepted, r.replaced) == (1, 1)
    assert rows(store, "SELECT name FROM customers") == [("新名",)]


def test_orders_without_line_numbers_get_them_in_file_order(store, tmp_path):
    f = write(tmp_path / "o.csv", "订单号,订单日期,客户编码,数量\nA,2024-01-01,C1,1\nA,2024-01-01,C1,2\n")
    load_files(store, "orders", [f])
    load_files(store, "orders", [f])
    assert rows(store, "SELECT line_no, quantity FROM orders ORDER BY line_no") == [
        (1, Decimal("1.0000")), (2, Decimal("2.0000"))]


def test_code_map_resolves_group_customer(store, tmp_path):
    load_files(store, "code_map", [write(tmp_path / "m.csv", "原客户编码,主客户编码\nE1,G1\nE2,G1\n")])
    load_files(store, "orders", [write(tmp_path / "o.csv", ORDERS_HEADER +
                                       "A,1,2024-01-05,E1,0#柴油,1,吨,1,\nB,1,2024-01-05,E2,0#柴油,2,吨,1,\n"
                                       "C,1,2024-01-05,X9,0#柴油,4,吨,1,\n")])
    install_views(store.con)
    assert rows(store, "SELECT customer_id, sum(quantity) FROM orders_resolved GROUP BY 1 ORDER BY 1") == [
        ("G1", Decimal("3.0000")), ("X9", Decimal("4.0000"))]


# --------------------------------------------------------------------------- rejects


def test_every_reject_reason_is_kept_with_file_line_column_value(store, tmp_path):
    f = write(tmp_path / "o.csv", ORDERS_HEADER +
              "A,1,2024-01-05,C1,0#柴油,10,吨,80000,\n"        # line 2: good
              "B,1,2024-01-05,,0#柴油,10,吨,80000,\n"          # line 3: customer empty
              "C,1,2024-13-45,C1,0#柴油,10,吨,80000,\n"        # line 4: bad date
              "D,1,2024-01-05,C1,0#柴油,五吨,吨,80000,\n"      # line 5: bad number
              "E,1,2024-01-05,C1,0#柴油,10,桶,80000,\n"        # line 6: unknown unit
              "F,1,2024-01-05,C1,润滑油,10,升,80000,\n"        # line 7: no density for 'other'
              "G,x,2024-01-05,C1,0#柴油,10,吨,80000,\n", "gbk")  # line 8: line number not whole
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (1, 6)
    got = rows(store, "SELECT line, column_name, value, reason FROM rejects ORDER BY line")
    assert got == [
        (3, "客户编码", None, REASONS["missing"]),
        (4, "过账日期", "2024-13-45", REASONS["date"]),
        (5, "数量", "五吨", REASONS["number"]),
        (6, "单位", "桶", REASONS["unit"]),
        (7, "单位", "升 / other", REASONS["density"]),
        (8, "行号", "x", REASONS["int"]),
    ]
    assert rows(store, "SELECT DISTINCT file FROM rejects") == [(str(f),)]
    b = rows(store, "SELECT file, table_name, rows_read, accepted, rejected FROM batches")
    assert b == [(str(f), "orders", 7, 1, 6)]


def test_reject_reasons_of_other_tables(store, tmp_path):
    load_files(store, "customers", [write(tmp_path / "c.csv", "客户编码,客户名称,口碑\nC1,甲,101\nC2,乙,90\n")])
    load_files(store, "plans", [write(tmp_path / "p.csv", "月份,客户编码,客户经理编码,计划量\n2024-13,C1,,5\n"
                                                          "2024-02,,,5\n2024-03,C1,,5\n")])
    load_files(store, "contracts", [write(tmp_path / "k.csv", "合同编号,客户编码,开始日期,结束日期,合同数量\n"
                                                              "K1,C1,2024-12-31,2024-01-01,100\n")])
    got = rows(store, "SELECT field, reason FROM rejects ORDER BY file, line")
    assert ("reputation", REASONS["score"]) in got
    assert ("month", REASONS["month"]) in got
    assert ("customer_id", REASONS["subject"]) in got
    assert ("end_date", REASONS["range"]) in got
    assert rows(store, "SELECT scope, subject_id, month, volume FROM plans") == [
        ("customer", "C1", dt.date(2024, 3, 1), Decimal("5.0000"))]


def test_strict_leaves_the_store_untouched(store, tmp_path):
    good = write(tmp_path / "a.csv", ORDERS_HEADER + "A,1,2024-01-05,C1,0#柴油,10,吨,1,\n")
    load_files(store, "orders", [good])
    before = rows(store, "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM batches), "
                         "(SELECT count(*) FROM rejects)")
    bad = write(tmp_path / "b.csv", ORDERS_HEADER + "B,1,2024-01-05,C1,0#柴油,10,吨,1,\nC,1,bad,C1,0#柴油,1,吨,1,\n")
    r = load_files(store, "orders", [bad], strict=True)
    assert r.strict_failed and r.rejected == 1
    assert rows(store, "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM batches), "
                       "(SELECT count(*) FROM rejects)") == before


def test_extra_unknown_columns_are_ignored_for_orders(store, tmp_path):
    f = write(tmp_path / "o.csv", "凭证号,过账日期,客户编码,数量,备注,司机\nA,2024-01-05,C1,1,x,y\n")
    r = load_files(store, "orders", [f])
    assert r.accepted == 1 and "备注" in r.files[0].ignored


def test_archive_without_some_columns_keeps_their_stored_values(store, tmp_path):
    load_files(store, "customers", [write(tmp_path / "a.csv", "客户编码,客户名称,定位匹配,客户级别\nC1,甲,70,黄金\n")])
    load_files(store, "customers", [write(tmp_path / "b.csv", "客户编码,客户名称,归属地域\nC1,甲公司,济南\nC2,乙,青岛\n")])
    assert rows(store, "SELECT customer_id, name, region, positioning_fit, level FROM customers ORDER BY 1") == [
        ("C1", "甲公司", "济南", 70.0, "gold"), ("C2", "乙", "青岛", None, None)]


def test_campaign_lists_split_and_coded_values_mapped(store, tmp_path):
    f = write(tmp_path / "c.csv", "活动编号,活动名称,开始日期,结束日期,目标客户,目标级别,活动油品\n"
                                  "K1,三夏柴油促销,2025-05-20,2025-06-30,C1、C2；C3,黄金、铂金,柴油\n"
                                  "K2,年末冲量,2025-11-15,2025-12-31,,,润滑油\n")
    assert load_files(store, "campaigns", [f]).accepted == 2
    got = rows(store, "SELECT campaign_id, customers, levels, products FROM campaigns ORDER BY 1")
    assert got == [("K1", ["C1", "C2", "C3"], ["gold", "platinum"], ["diesel"]),
                   ("K2", None, None, ["other"])]
