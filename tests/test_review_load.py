"""Review: the loader and store against real ERP exports (SPEC §1–2).

Passing tests pin behaviour verified as correct; xfail(strict) tests assert the correct behaviour
for a bug found in review."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from crmtool.config import settings_from_dict
from crmtool.errors import ConfigError
from crmtool.facts import install_views
from crmtool.io.load import load_files
from crmtool.store import open_store

H = "凭证号,行号,过账日期,客户编码,数量,含税金额\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def q(store, sql, params=None):
    return store.con.execute(sql, params or []).fetchall()


# --------------------------------------------------------------------------- verified correct


@pytest.mark.parametrize("encoding,text", [
    ("gb18030", H + "A,1,2024-01-05,客户甲,1,1\n"),
    ("utf-8-sig", H + "A,1,2024-01-05,客户甲,1,1\n"),
    ("utf-16", (H + "A,1,2024-01-05,客户甲,1,1\n").replace(",", "\t")),   # Excel "Unicode text"
])
def test_review_encodings(store, tmp_path, encoding, text):
    r = load_files(store, "orders", [write(tmp_path / "o.csv", text, encoding)])
    assert r.accepted == 1 and r.rejected == 0
    assert q(store, "SELECT customer_code FROM orders") == [("客户甲",)]


def test_review_number_formats(store, tmp_path):
    f = write(tmp_path / "o.csv", H +
              'A,1,2024-01-05,C1,"1,234.50",¥100\n'
              "A,2,2024-01-05,C1,5.5-,(12)\n"
              "A,3,2024-01-05,C1,1,￥1，000\n")
    r = load_files(store, "orders", [f])
    assert r.rejected == 0
    assert q(store, "SELECT quantity, amount FROM orders ORDER BY line_no") == [
        (Decimal("1234.5000"), Decimal("100.00")), (Decimal("-5.5000"), Decimal("-12.00")),
        (Decimal("1.0000"), Decimal("1000.00"))]


def test_review_date_formats(store, tmp_path):
    dates = ["2024.1.5", "2024-1-5", "2024/01/05 00:00:00", "45296", "2024/1/5 8:05", "2024年1月5日", "20240105",
             "2024年1月5日 14:20", "2024年1月5日 14:20:05", "2024.1.5 14:20"]
    f = write(tmp_path / "o.csv", H + "".join(f"A,{i},{v},C1,1,1\n" for i, v in enumerate(dates, 1)))
    r = load_files(store, "orders", [f])
    assert r.rejected == 0
    assert q(store, "SELECT DISTINCT order_date FROM orders") == [(dt.date(2024, 1, 5),)]


def test_review_quoted_newline_keeps_physical_line_numbers(store, tmp_path):
    f = write(tmp_path / "o.csv", "凭证号,行号,过账日期,客户编码,数量,物料描述\n"
              'A,1,2024-01-05,C1,1,"0#柴油\n第二行"\nA,2,bad,C1,1,x\n')
    r = load_files(store, "orders", [f])
    assert r.accepted == 1 and r.files[0].sample_rejects[0][:2] == (4, "过账日期")


def test_review_trailing_empty_columns_and_duplicate_header(store, tmp_path):
    f = write(tmp_path / "o.csv", "凭证号,行号,过账日期,客户编码,数量,数量,,,\nA,1,2024-01-05,C1,3,9,,,\n")
    r = load_files(store, "orders", [f])
    assert r.accepted == 1 and q(store, "SELECT quantity FROM orders") == [(Decimal("3.0000"),)]


def test_review_upsert_same_line_from_csv_and_xlsx(store, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["凭证号", "行号", "过账日期", "客户编码", "数量"])
    ws.append([4500001234, 10, dt.date(2024, 1, 5), "C1", 7])      # numeric cells in Excel
    wb.save(tmp_path / "a.xlsx")
    f = write(tmp_path / "b.csv", "凭证号,行号,过账日期,客户编码,数量\n4500001234,000010,2024-01-05,C1,8\n")
    r = load_files(store, "orders", [tmp_path / "a.xlsx", f])
    assert r.replaced == 1
    assert q(store, "SELECT order_id, line_no, quantity FROM orders") == [("4500001234", 10, Decimal("8.0000"))]


def test_review_unit_conversion_by_density(store, tmp_path):
    f = write(tmp_path / "o.csv", "凭证号,过账日期,客户编码,数量,单位,油品类别\n"
              "A,2024-01-05,C1,1000,升,柴油\nB,2024-01-05,C1,1,立方米,汽油\nC,2024-01-05,C1,1000,公斤,柴油\n"
              "D,2024-01-05,C1,1000,L,润滑油\n")
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (3, 1)   # D: no density for "other"
    assert q(store, "SELECT order_id, quantity FROM orders ORDER BY 1") == [
        ("A", Decimal("0.8400")), ("B", Decimal("0.7370")), ("C", Decimal("1.0000"))]


def test_review_headers_are_never_sql(store, tmp_path):
    f = write(tmp_path / "c.csv", '客户编码,客户名称,"x"");DROP TABLE orders;--",\'y\'\nC1,甲,1,2\n')
    r = load_files(store, "customers", [f])
    assert r.accepted == 1
    assert q(store, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'orders'") == [(1,)]
    assert sorted(q(store, "SELECT column_name, value FROM customers_extra")) == [
        ("'y'", "2"), ('x");DROP TABLE orders;--', "1")]


def test_review_customers_resolved_manager_by_id_or_unique_name(store, tmp_path):
    load_files(store, "managers", [write(tmp_path / "m.csv", "工号,姓名\nM1,张伟\nM2,李娜\nM3,李娜\n")])
    load_files(store, "customers", [write(tmp_path / "c.csv", "客户编码,客户名称,客户经理\nC1,甲,张伟\nC2,乙,M2\n"
                                                              "C3,丙,李娜\n")])
    install_views(store.con)
    assert q(store, "SELECT customer_id, manager_id FROM customers_resolved ORDER BY 1") == [
        ("C1", "M1"), ("C2", "M2"), ("C3", "李娜")]   # an ambiguous name stays as given


def test_review_code_map_window_is_inclusive(store, tmp_path):
    load_files(store, "code_map", [write(tmp_path / "cm.csv", "erp编码,主客户编码,生效日期,失效日期\n"
                                                               "X,A,2024-01-01,2024-06-30\n")])
    load_files(store, "orders", [write(tmp_path / "o.csv", "凭证号,过账日期,客户编码,数量\n"
                                                           "O1,2024-06-30,X,1\nO2,2024-07-01,X,1\n")])
    install_views(store.con)
    assert q(store, "SELECT order_id, customer_id FROM orders_resolved ORDER BY 1") == [("O1", "A"), ("O2", "X")]


# --------------------------------------------------------------------------- found in review (fixed unless xfail)


def test_review_fullwidth_digits(store, tmp_path):
    r = load_files(store, "orders", [write(tmp_path / "o.csv", H + "A,1,2024-01-05,C1,１２,１００\n")])
    assert r.rejected == 0 and q(store, "SELECT quantity, amount FROM orders") == [(Decimal("12.0000"),
                                                                                    Decimal("100.00"))]


def test_review_fullwidth_minus_and_brackets(store, tmp_path):
    r = load_files(store, "orders", [write(tmp_path / "o.csv", H + "A,1,2024-01-05,C1,－5,（12）\n")])
    assert r.rejected == 0 and q(store, "SELECT quantity, amount FROM orders") == [(Decimal("-5.0000"),
                                                                                    Decimal("-12.00"))]


def test_review_quantity_with_unit_suffix(store, tmp_path):
    r = load_files(store, "orders", [write(tmp_path / "o.csv", H + "A,1,2024-01-05,C1,12吨,1\n")])
    assert r.rejected == 0 and q(store, "SELECT quantity FROM orders") == [(Decimal("12.0000"),)]


def test_quantity_cell_unit_converts_and_unknown_cell_unit_is_rejected(store, tmp_path):
    f = write(tmp_path / "o.csv", "凭证号,过账日期,客户编码,物料描述,数量\n"
                                  "A,2024-01-05,C1,0#柴油,\"1,000升\"\n"   # 1000 L × 0.84 / 1000 = 0.84 t
                                  "B,2024-01-05,C1,0#柴油,3桶\n")           # 桶 is no unit crmtool knows
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (1, 1)
    assert q(store, "SELECT quantity, unit FROM orders") == [(Decimal("0.8400"), "L")]


def test_review_dash_placeholder_in_optional_amount_keeps_the_line(store, tmp_path):
    r = load_files(store, "orders", [write(tmp_path / "o.csv", H + "A,1,2024-01-05,C1,10,-\n")])
    assert r.accepted == 1 and q(store, "SELECT quantity FROM orders") == [(Decimal("10.0000"),)]


def test_review_tab_separated_with_title_line(store, tmp_path):
    text = "销售订单明细表\n" + H.replace(",", "\t") + "A\t1\t2024-01-05\tC1\t1\t1\n"
    r = load_files(store, "orders", [write(tmp_path / "o.txt", text, "gb18030")])
    assert r.accepted == 1


def test_review_repeated_header_row_is_skipped(store, tmp_path):
    r = load_files(store, "orders", [write(tmp_path / "o.csv", H + "A,1,2024-01-05,C1,1,1\n" + H +
                                           "A,2,2024-01-05,C1,1,1\n")], strict=True)
    assert not r.strict_failed and r.accepted == 2 and r.rejected == 0


def test_review_total_row_is_skipped(store, tmp_path):
    r = load_files(store, "orders", [write(tmp_path / "o.csv", H + "A,1,2024-01-05,C1,1,1\n合计,,,,1,1\n")],
                   strict=True)
    assert not r.strict_failed and r.accepted == 1 and r.rejected == 0


def test_review_xlsx_merged_two_row_header_unit_column(store, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["凭证号", "过账日期", "客户编码", "油品类别", "销售数量", None])
    ws.append([None, None, None, None, "数量", "单位"])
    for rng in ("A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:F1"):
        ws.merge_cells(rng)
    ws.append(["SO1", "2024-01-05", "C1", "柴油", 1000, "升"])
    wb.save(tmp_path / "o.xlsx")
    load_files(store, "orders", [tmp_path / "o.xlsx"])
    assert q(store, "SELECT quantity FROM orders") == [(Decimal("0.8400"),)]   # 1000 L · 0.84 kg/L = 0.84 t


def test_review_xlsx_data_on_second_sheet(store, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表为2024年1月销售明细"])
    ws = wb.create_sheet("明细")
    ws.append(["凭证号", "过账日期", "客户编码", "数量"])
    ws.append(["SO1", "2024-01-05", "C1", 1])
    wb.save(tmp_path / "o.xlsx")
    assert load_files(store, "orders", [tmp_path / "o.xlsx"]).accepted == 1


def test_review_code_map_two_windows_for_one_code(store, tmp_path):
    load_files(store, "code_map", [write(tmp_path / "cm.csv", "erp编码,主客户编码,生效日期,失效日期\n"
                                                               "X,A,2023-01-01,2023-12-31\nX,B,2024-01-01,\n")])
    load_files(store, "orders", [write(tmp_path / "o.csv", "凭证号,过账日期,客户编码,数量\n"
                                                           "O1,2023-06-01,X,1\nO2,2024-06-01,X,1\n")])
    install_views(store.con)
    assert q(store, "SELECT order_id, customer_id FROM orders_resolved ORDER BY 1") == [("O1", "A"), ("O2", "B")]


@pytest.mark.parametrize("base", ["升", "l", "L", "litre"])
def test_review_units_base_spelling(tmp_path, base):
    # any spelling of a unit names the base unit: 升, l, litre are all L (SPEC §1 units)
    settings = settings_from_dict({"units": {"base": base}})
    assert settings.units.base == "L"
    s = open_store(tmp_path / "crm.duckdb", settings, wait=0)
    try:
        f = write(tmp_path / "o.csv", "凭证号,过账日期,客户编码,数量,单位,油品类别\nA,2024-01-05,C1,1,t,diesel\n")
        load_files(s, "orders", [f])
        # 1 t of diesel = 1000 kg / 0.84 kg/L = 1190.476190 L (six decimals)
        assert q(s, "SELECT quantity FROM orders") == [(Decimal("1190.476190"),)]
    finally:
        s.close()


def test_review_units_base_is_not_sql(tmp_path):
    with pytest.raises(ConfigError):
        s = open_store(tmp_path / "crm.duckdb", settings_from_dict({"units": {"base": "t' || 'x"}}), wait=0)
        try:
            load_files(s, "orders", [write(tmp_path / "o.csv", "凭证号,过账日期,客户编码,数量\nA,2024-01-05,C1,1\n")])
        finally:
            s.close()


def test_review_same_order_with_and_without_line_numbers(store, tmp_path):
    a = write(tmp_path / "a.csv", "凭证号,行号,过账日期,客户编码,数量\nSO1,10,2024-01-05,C1,5\nSO1,20,2024-01-05,C1,3\n")
    b = write(tmp_path / "b.csv", "凭证号,过账日期,客户编码,数量\nSO1,2024-01-05,C1,5\nSO1,2024-01-05,C1,3\n")
    load_files(store, "orders", [a])
    load_files(store, "orders", [b])
    assert q(store, "SELECT sum(quantity) FROM orders") == [(Decimal("8.0000"),)]


def test_a_file_given_later_but_saved_earlier_that_takes_lines_is_named(store, tmp_path):
    import os

    # the shell sorts 订单_02(更正).csv before 订单_02.csv: the correction (saved later) is given first
    fixed = write(tmp_path / "订单_02(更正).csv", H + "A,1,2024-02-05,C1,7,70\nA,2,2024-02-05,C1,1,10\n")
    orig = write(tmp_path / "订单_02.csv", H + "A,1,2024-02-05,C1,6,60\n")
    os.utime(orig, (1_709_294_400, 1_709_294_400))   # 2024-03-01 12:00 UTC
    os.utime(fixed, (1_709_467_200, 1_709_467_200))  # 2024-03-03 12:00 UTC
    r = load_files(store, "orders", [fixed, orig])
    # SPEC §1: the later file's line replaces the earlier one — and the user is told which way it went
    assert q(store, "SELECT quantity FROM orders WHERE line_no = 1") == [(Decimal("6"),)]
    assert len(r.notes) == 1 and r.notes[0].startswith("1 line(s) of 订单_02(更正).csv (saved 2024-03-03")
    assert "订单_02.csv (saved 2024-03-01" in r.notes[0]
    # oldest first: the correction wins, nothing to say
    r = load_files(store, "orders", [orig, fixed])
    assert q(store, "SELECT quantity FROM orders WHERE line_no = 1") == [(Decimal("7"),)] and r.notes == []


def test_an_erp_signature_line_under_the_data_is_no_row(store, tmp_path):
    f = write(tmp_path / "o.csv", H + "A,1,2024-01-05,C1,1,1\nA:2,1,2024-01-05,C1,2,1\n,,,,,\n"
              "制表人：张三    打印日期：2024年6月1日,,,,,\n审核: 李四,,,,,\n注：单位为吨,,,,,\n")
    r = load_files(store, "orders", [f])
    # the three footer lines are skipped like a 合计 row; an order id with a colon is still data
    assert (r.accepted, r.rejected) == (2, 0)
    assert q(store, "SELECT order_id FROM orders ORDER BY 1") == [("A",), ("A:2",)]


def test_a_key_repeated_within_one_file_is_named_with_its_lines(store, tmp_path):
    f = write(tmp_path / "客户档案.csv", "客户编码,客户名称,客户经理\n0100010007,甲,M01\n0100010008,丙,M01\n"
              "0100010007,乙,M02\n")
    r = load_files(store, "customers", [f])
    # the last line wins (SPEC §1), and the user learns the archive disagrees with itself
    assert (r.accepted, r.replaced) == (2, 1)
    assert q(store, "SELECT name, manager_id FROM customers WHERE customer_id = '0100010007'") == [("乙", "M02")]
    assert r.notes == ["客户档案.csv: customer_id repeated within the file, the last line kept: 0100010007 on lines 2, 4"]
    r = load_files(store, "orders", [write(tmp_path / "o.csv", H + "A,1,2024-01-05,C1,1,1\nA,1,2024-01-05,C1,2,1\n")])
    assert r.notes == ["o.csv: order_id + line_no repeated within the file, the last line kept: A / 1 on lines 2, 3"]


def test_a_density_reject_names_the_files_column_and_the_category_as_written(store, tmp_path):
    # no unit column: the unit is in the quantity's header, so that is the column to name; the value
    # shows the product and the category as the file writes them, not the category id 'other'
    f = write(tmp_path / "o.csv", "凭证号,行号,过账日期,客户编码,物料编码,油品类别,数量(升)\n"
              "A,1,2024-01-05,C1,L100,润滑油,200\nA,2,2024-01-05,C1,P1,柴油,1000\n")
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (1, 1)
    assert q(store, "SELECT line, column_name, value FROM rejects") == [(2, "数量(升)", "L / L100 / 润滑油")]


def test_hidden_sheets_load_only_by_name(store, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "2024-01"
    head = ["凭证号", "行号", "过账日期", "客户编码", "数量", "含税金额"]
    ws.append(head)
    ws.append(["X1", 1, "2024-01-05", "C1", 10.5, 80000])
    for title, state, row in (("备份", "hidden", ["X1", 1, "2024-01-05", "C1", 99, 800000]),
                              ("隐藏2", "veryHidden", ["X2", 1, "2024-01-06", "C2", 7, 1])):
        other = wb.create_sheet(title)
        other.sheet_state = state
        other.append(head)
        other.append(row)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    # the workbook as the user sees it: the hidden backup does not overwrite the visible sheet's line
    r = load_files(store, "orders", [path])
    assert r.accepted == 1 and q(store, "SELECT order_id, quantity FROM orders") == [("X1", Decimal("10.5"))]
    assert r.notes == ["book.xlsx: hidden sheet(s) 备份, 隐藏2 not loaded (--sheet NAME loads one)"]
    # named, a hidden sheet loads, and is recorded as path#sheet
    r = load_files(store, "orders", [path], sheet="隐藏2")
    assert r.accepted == 1 and q(store, "SELECT file FROM batches ORDER BY batch_id DESC LIMIT 1") == [
        (f"{path}#隐藏2",)]


def test_a_carriage_return_alone_inside_a_quoted_cell_loads_with_right_line_numbers(store, tmp_path):
    f = tmp_path / "o.csv"
    f.write_bytes("凭证号,行号,过账日期,客户编码,数量,含税金额\r\nA,1,2024-01-05,C1,1,1\r\n"
                  'B,1,2024-13-05,"C\r2",1,1\r\nC,1,2024-01-06,C3,2,1\r\n'.encode("utf-8"))
    r = load_files(store, "orders", [f])
    # DuckDB's parallel reader refused the file ("CSV Error on Line: 2"); the line numbers count LFs
    assert (r.accepted, r.rejected) == (2, 1) and r.files[0].sample_rejects[0][:2] == (3, "过账日期")


def test_an_order_code_that_lost_its_leading_zeros_is_named(store, tmp_path):
    load_files(store, "customers", [write(tmp_path / "c.csv", "客户编码,客户名称\n0100010183,甲\n0100010184,乙\n")])
    r = load_files(store, "orders", [write(tmp_path / "o.csv", H + "A,1,2024-01-05,100010183,1,1\n"
                                           "B,1,2024-01-05,0100010184,1,1\nC,1,2024-01-05,X9,1,1\n")])
    # kept as written (SPEC §1: an unknown code is its own customer), and the user told why it is unknown
    assert r.accepted == 3 and q(store, "SELECT count(*) FROM orders WHERE customer_code = '100010183'") == [(1,)]
    assert len(r.notes) == 1 and r.notes[0].startswith("1 customer code(s) of these orders are in no archive row "
                                                       "but are an archive code without its leading zeros "
                                                       "(100010183 → 0100010183)")


def test_a_corrected_export_that_lacks_a_line_says_the_line_stays(store, tmp_path):
    first = tmp_path / "2024-10" / "订单_10.csv"
    first.parent.mkdir()
    write(first, H + "A,1,2024-10-05,C1,7,70\nA,2,2024-10-05,C1,1,10\nB,1,2024-10-06,C1,3,30\n")
    load_files(store, "orders", [first])
    fixed = tmp_path / "更正" / "订单_10.csv"  # the same export delivered again, without line B/1
    fixed.parent.mkdir()
    write(fixed, H + "A,1,2024-10-05,C1,8,80\nA,2,2024-10-05,C1,1,10\n")
    r = load_files(store, "orders", [fixed])
    # SPEC §1: a line is replaced only by a line with its key, so B/1 stays — and the user is told
    assert q(store, "SELECT order_id, line_no, quantity FROM orders ORDER BY 1, 2") == [
        ("A", 1, Decimal("8")), ("A", 2, Decimal("1")), ("B", 1, Decimal("3"))]
    assert r.notes == ["订单_10.csv: 1 line(s) that an earlier load of a file of this name brought are not in it and "
                       "stay in the store (a load replaces and adds lines, it never removes any; order_id + line_no "
                       "B / 1)"]
    # a file of the same name in another month's folder shares no line with it: nothing to say
    other = tmp_path / "2024-11" / "订单_10.csv"
    other.parent.mkdir()
    write(other, H + "C,1,2024-11-05,C1,2,20\nC,2,2024-11-05,C1,2,20\nC,3,2024-11-06,C1,2,20\n")
    assert load_files(store, "orders", [other]).notes == []
    # nor does the next month's export of that name that repeats one of its days (most of it did not come again)
    nxt = tmp_path / "2024-12" / "订单_10.csv"
    nxt.parent.mkdir()
    write(nxt, H + "C,3,2024-11-06,C1,2,20\nD,1,2024-12-01,C1,2,20\n")
    r = load_files(store, "orders", [nxt])
    assert r.files[0].replaced == 1 and r.notes == []
    # nor a rolling export (November and December, then December and January): November stays, unsaid
    roll = tmp_path / "2025-01" / "订单_10.csv"
    roll.parent.mkdir()
    write(roll, H + "D,1,2024-12-01,C1,2,20\nE,1,2025-01-02,C1,2,20\n")
    r = load_files(store, "orders", [roll])
    assert r.files[0].replaced == 1 and r.notes == []


def test_an_export_of_another_table_is_refused_before_it_overwrites_the_archive(store, tmp_path):
    from crmtool.errors import InputError

    load_files(store, "customers", [write(tmp_path / "客户档案.csv", "客户编码,客户名称\nC1,甲石化\n")])
    orders = write(tmp_path / "ERP订单.csv", "凭证号,行号,过账日期,客户编码,客户名称,数量\nA,1,2024-01-05,C1,甲,3\n")
    with pytest.raises(InputError, match=r"line 1: these are the headers of an orders export \(凭证号 → order_id, "
                                         r"过账日期 → order_date, 客户编码 → customer_code, 数量 → quantity\), "
                                         r"not of customers; load it with `crmtool load orders …`"):
        load_files(store, "customers", [orders])
    assert q(store, "SELECT customer_id, name FROM customers") == [("C1", "甲石化")]
    assert q(store, "SELECT count(*) FROM customers_extra") == [(0,)]
    # the same file is an orders export: its customer code and name columns do not make it an archive
    assert load_files(store, "orders", [orders]).accepted == 1
    # nor do the customer attributes a sales ledger carries beside every line (more of them than order
    # columns), and freight columns in an orders export or order numbers on a freight bill change nothing
    ledger = write(tmp_path / "销售台账.csv", "凭证号,过账日期,客户编码,客户名称,地市,片区,行业,客户经理,联系人,联系电话,"
                   "物料,数量\nB,2024-01-06,C1,甲,兰州,城关,交通,M1,张三,13800001111,0#柴油,5\n")
    assert load_files(store, "orders", [ledger]).accepted == 1
    with pytest.raises(InputError, match="these are the headers of an orders export"):
        load_files(store, "customers", [ledger])  # however many customer columns it has
    both = write(tmp_path / "订单运费.csv", "订单号,日期,客户编码,运单号,数量,运费,承运商\nC,2024-01-07,C1,Y1,3,30,顺达\n")
    assert load_files(store, "orders", [both]).accepted == 1
    bill = write(tmp_path / "运费单.csv", "运单号,订单号,日期,客户编码,客户名称,物料编码,数量,单位,运费\n"
                 "Y2,D,2024-01-08,C1,甲,M01,3,吨,30\n")
    assert load_files(store, "freight", [bill]).accepted == 1
    plans = write(tmp_path / "计划.csv", "月份,客户编码,客户名称,计划量\n2024-01,C1,甲,10\n")
    with pytest.raises(InputError, match="these are the headers of a plans export"):
        load_files(store, "customers", [plans])
    assert q(store, "SELECT customer_id, name FROM customers") == [("C1", "甲石化")]


def test_full_width_codes_dates_numbers_and_units_read_as_their_ascii(store, tmp_path):
    # typed with a Chinese input method: ０１０００１０００３ is the archive's 0100010003, not another customer
    load_files(store, "customers", [write(tmp_path / "客户档案.csv", "客户编码,客户名称\n0100010003,甲石化\n")])
    f = write(tmp_path / "订单.csv", "凭证号,行号,过账日期,客户编码,数量,单位,含税金额\n"
              "６０００１,１０,２０２４－０３－０２,０１０００１０００３,１２．５,ｔ,９０，０００\n"
              "60002,10,2024-03-03,0100010003\u3000,1,Ｔ,\"1,000\"\n", "gb18030")
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (2, 0)
    assert q(store, "SELECT order_id, line_no, order_date, customer_code, quantity, unit, amount FROM orders ORDER BY 1") == [
        ("60001", 10, dt.date(2024, 3, 2), "0100010003", Decimal("12.5"), "t", Decimal("90000")),
        ("60002", 10, dt.date(2024, 3, 3), "0100010003", Decimal("1"), "t", Decimal("1000"))]
    # a unit half in full width (ｋg): read as kg
    r = load_files(store, "orders", [write(tmp_path / "订单2.csv", "凭证号,行号,过账日期,客户编码,数量,单位\n"
                                           "60003,10,2024-03-04,0100010003,1000,ｋg\n", "gb18030")])
    assert (r.accepted, r.rejected) == (1, 0)
    assert q(store, "SELECT quantity FROM orders WHERE order_id = '60003'") == [(Decimal("1"),)]
    # a campaign's list of target customers too, or the target would count as a control
    camp = write(tmp_path / "活动.csv", "活动编号,活动名称,开始日期,结束日期,目标客户\nHD1,冬储,2024-03-01,2024-03-31,"
                 "０１０００１０００３;C002\n")
    load_files(store, "campaigns", [camp])
    assert q(store, "SELECT customers FROM campaigns") == [(["0100010003", "C002"],)]


def test_a_correction_of_a_month_with_stored_results_says_they_predate_it(store, tmp_path):
    from crmtool.runner import Runner

    load_files(store, "orders", [write(tmp_path / "订单_08.csv", H + "A,1,2024-08-05,C1,10,100\nB,1,2024-08-31,C1,5,50\n")])
    Runner(store, allow_future=True).run("churn.status", month="2024-08")  # stored as a snapshot
    # September's export repeats the last day of August unchanged: August's results still hold
    r = load_files(store, "orders", [write(tmp_path / "订单_09.csv", H + "B,1,2024-08-31,C1,5,50\nC,1,2024-09-30,C1,4,40\n")])
    assert r.changed_months == [dt.date(2024, 9, 30)] and r.notes == []  # (its first changed date)
    # a correction of August: the stored August status was computed from the old figures
    r = load_files(store, "orders", [write(tmp_path / "订单_08更正.csv", H + "A,1,2024-08-05,C1,12,120\n")])
    assert r.changed_months == [dt.date(2024, 8, 5)]
    assert r.notes == ["this load changed the orders of 2024-08, and 1 stored result(s) were computed from them "
                       "before (churn_status 2024-08): run them again (`crmtool run monthly --month M` for 2024-08) "
                       "so that reports, the customer page and the level history show the corrected figures"]
    # a result as of a day before the changed lines did not read them: nothing to say
    Runner(store, allow_future=True).run("grade.rfm", as_of="2024-09-10", metric="volume")
    r = load_files(store, "orders", [write(tmp_path / "订单_09b.csv", H + "D,1,2024-09-20,C1,4,40\n")])
    assert r.changed_months == [dt.date(2024, 9, 20)] and r.notes == []


def test_gas_is_no_gasoline_and_gas_units_convert(tmp_path):
    s = open_store(tmp_path / "crm.duckdb", settings_from_dict({"units": {"density": {"lng": 0.45}}}), wait=0)
    f = write(tmp_path / "提货单.csv", "凭证号,过账日期,客户编码,物料编码,油品类别,数量,单位\n"
              "G1,2024-01-05,C1,LNG01,gas,1000,立方米\n"       # no density for gas: a reject, not 737 t of gasoline
              "G2,2024-01-05,C1,LNG01,lng,1000,Nm3\n"          # 1000 m3 × 0.45 kg/L = 450 t
              "G3,2024-01-05,C1,LNG01,lng,0.1,万立方米\n")      # 1000 m3 again
    r = load_files(s, "orders", [f])
    assert (r.accepted, r.rejected) == (2, 1)
    assert q(s, "SELECT order_id, category, quantity FROM orders ORDER BY 1") == [
        ("G2", "other", Decimal("450")), ("G3", "other", Decimal("450"))]
    assert q(s, "SELECT line, value FROM rejects") == [(2, "立方米 / LNG01 / gas")]  # the gas line, as written
    s.close()


def test_a_load_under_another_base_unit_is_refused(tmp_path):
    f = write(tmp_path / "o.csv", H + "A,1,2024-01-05,C1,5,50\n")
    s = open_store(tmp_path / "crm.duckdb", settings_from_dict({"units": {"base": "kg"}}), wait=0)
    load_files(s, "orders", [f])
    s.close()
    s = open_store(tmp_path / "crm.duckdb", settings_from_dict({}), wait=0)  # units.base t
    with pytest.raises(ConfigError, match=r"units.base is t, but this store's order quantities are in kg"):
        load_files(s, "orders", [write(tmp_path / "o2.csv", H + "B,1,2024-01-06,C1,5,50\n")])
    assert q(s, "SELECT order_id, quantity FROM orders") == [("A", Decimal("5"))]  # 5 kg, and nothing added
    s.close()
