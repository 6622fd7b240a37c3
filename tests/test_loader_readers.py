"""The readers on DuckDB, calamine and Arrow: line numbers as the user sees them in the file, sheets that
start below or right of A1, Parquet floats and timestamps as text, files DuckDB cannot parse."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from crmtool.errors import InputError
from crmtool.io.load import REASONS, load_files


def q(store, sql, params=None):
    return store.con.execute(sql, params or []).fetchall()


def test_xlsx_sheet_starting_below_and_right_of_a1_keeps_sheet_row_numbers(store, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws["C4"], ws["D4"], ws["E4"], ws["F4"] = "凭证号", "过账日期", "客户编码", "数量"
    ws.append([None, None, "A", dt.date(2024, 1, 5), "C1", 1])      # row 5
    ws.append([None, None, "B", "not a date", "C1", 2])               # row 6
    wb.save(tmp_path / "o.xlsx")
    r = load_files(store, "orders", [tmp_path / "o.xlsx"])
    assert (r.accepted, r.rejected, r.files[0].header_line) == (1, 1, 4)
    assert q(store, "SELECT line, column_name FROM rejects") == [(6, "过账日期")]
    assert q(store, "SELECT source_line FROM orders") == [(5,)]


def test_crlf_csv_line_numbers_and_placeholders(store, tmp_path):
    f = tmp_path / "o.csv"
    f.write_bytes("凭证号,过账日期,客户编码,数量,含税金额\r\nA,2024-01-05,C1,1,—\r\nB,2024-01-05,\u3000,1,1\r\n".encode())
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (1, 1)
    assert q(store, "SELECT line, field FROM rejects") == [(3, "customer_code")]   # a full-width space is empty
    assert q(store, "SELECT amount FROM orders") == [(None,)]


def test_parquet_whole_floats_and_timestamps_as_text(store, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.table({"order_id": [4500001234.0, 4500001235.0], "line_no": [1.0, 1.0],
                  "order_date": pa.array([dt.datetime(2024, 2, 1, 8, 30), dt.datetime(2024, 2, 2)]),
                  "customer_code": [123.0, 7.5], "quantity": [1.25, 2.0]})
    pq.write_table(t, tmp_path / "o.parquet")
    r = load_files(store, "orders", [tmp_path / "o.parquet"])
    assert (r.accepted, r.rejected) == (2, 0)
    assert q(store, "SELECT order_id, order_date, customer_code, quantity, source_line FROM orders ORDER BY 1") == [
        ("4500001234", dt.date(2024, 2, 1), "123", Decimal("1.2500"), 2),
        ("4500001235", dt.date(2024, 2, 2), "7.5", Decimal("2.0000"), 3)]


def test_parquet_rejects_total_row_and_extra_columns_keep_their_lines(store, tmp_path):
    """A Parquet file is staged without a text copy: the cells of rejected rows are read again from
    the file, by line (row index + 2, the header being line 1)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.table({"凭证号": ["A", "B", "C", "合计", "D", "E"],
                  "过账日期": ["2024-02-01", "2024-13-45", "2024-02-03", None, "2024-02-04", "2024-02-05"],
                  "客户编码": ["C1", "C1", "C2", None, "-", "C3"],
                  "数量": ["1.5", "2", "abc", "4.5", "1", "3.0"]})
    pq.write_table(t, tmp_path / "o.parquet")
    r = load_files(store, "orders", [tmp_path / "o.parquet"])
    # lines 2..7; line 5 is the total row: no data, neither accepted nor rejected
    assert (r.files[0].rows_read, r.accepted, r.rejected) == (5, 2, 3)
    assert q(store, "SELECT line, field, value, reason FROM rejects ORDER BY line") == [
        (3, "order_date", "2024-13-45", "not a date"),
        (4, "quantity", "abc", "not a number"),
        (6, "customer_code", None, "required value is empty")]
    assert q(store, "SELECT order_id, source_line, quantity FROM orders ORDER BY 1") == [
        ("A", 2, Decimal("1.5000")), ("E", 7, Decimal("3.0000"))]

    c = pa.table({"客户编码": ["K2", "K1"], "客户名称": ["乙公司", "甲公司"], "备注": [None, "老客户"]})
    pq.write_table(c, tmp_path / "c.parquet")
    assert load_files(store, "customers", [tmp_path / "c.parquet"]).accepted == 2
    assert q(store, "SELECT customer_id, column_name, value FROM customers_extra") == [("K1", "备注", "老客户")]
    assert q(store, "SELECT customer_id, source_line FROM customers ORDER BY 1") == [("K1", 3), ("K2", 2)]


def test_damaged_parquet_and_unterminated_quote_are_input_errors(store, tmp_path):
    bad = tmp_path / "o.parquet"
    bad.write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(InputError, match="Parquet"):
        load_files(store, "orders", [bad])
    f = tmp_path / "o.csv"
    f.write_text('凭证号,过账日期,客户编码,数量\nA,2024-01-05,"C1,1\n', encoding="utf-8")
    try:
        r = load_files(store, "orders", [f])
    except InputError as exc:  # DuckDB refuses the file: a sentence naming it
        assert str(f) in str(exc) and len(str(exc)) < 300
    else:  # or reads the open quote to the end: the row lacks its quantity
        assert r.accepted == 0


def test_utf16_tab_separated_excel_unicode_text(store, tmp_path):
    f = tmp_path / "o.txt"
    f.write_bytes("凭证号\t过账日期\t客户编码\t数量\nA\t2024-01-05\t客户乙\t3\nB\tbad\t客户乙\t3\n".encode("utf-16"))
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected, r.files[0].encoding) == (1, 1, "utf-16")
    assert q(store, "SELECT line FROM rejects") == [(3,)]


def test_empty_file_and_missing_file(store, tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_files(store, "orders", [empty])
    with pytest.raises(InputError, match="no such file"):
        load_files(store, "orders", [Path(tmp_path / "nope.csv")])


def test_parquet_typed_values_load_as_their_text_would(tmp_path):
    """Parquet numbers and dates are converted from their values, not printed and parsed again
    (readers.VALUE_CLASSES): every stored value and every reject — line, field, value as text,
    reason — is the one the same cells written as text give. Expected rows worked out by hand."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from crmtool.config import Settings
    from crmtool.store import open_store

    nan, inf = float("nan"), float("inf")
    t = pa.table({
        "凭证号": [1001.0, 1002.0, 1003.0, 1004.0, 1005.0, 1006.0, 1007.0, None],
        "行号": [1.0, 2.5, 1.0, 1.0, 1.0, 1.0, 1.0, None],
        "过账日期": pa.array([dt.date(2024, 2, 1), dt.date(2024, 2, 2), dt.date(1999, 12, 31), dt.date(2024, 2, 3),
                           dt.date(2024, 2, 4), dt.date(2024, 2, 5), dt.date(2024, 2, 6), None]),
        "客户编码": ["C1", "C1", "C1", "C2", "C2", "C3", "C3", "合计"],
        "数量": [1.25, 2.0, 3.0, nan, None, 1e20, -0.5, 9.0],
        "含税金额": pa.array([Decimal("100.005"), Decimal("1"), None, Decimal("3"), Decimal("4"), Decimal("5"),
                           Decimal("-40.125"), Decimal("999")], pa.decimal128(12, 3)),
        "成本": pa.array([80, 1, 2, 3, 4, 5, -30, 999], pa.int64()),
    })
    typed = tmp_path / "typed.parquet"
    pq.write_table(t, typed)
    # the same cells as text, the way the reader prints them (whole floats without '.0')
    as_text = pa.table({
        "凭证号": ["1001", "1002", "1003", "1004", "1005", "1006", "1007", None],
        "行号": ["1", "2.5", "1", "1", "1", "1", "1", None],
        "过账日期": ["2024-02-01", "2024-02-02", "1999-12-31", "2024-02-03", "2024-02-04", "2024-02-05", "2024-02-06",
                 None],
        "客户编码": ["C1", "C1", "C1", "C2", "C2", "C3", "C3", "合计"],
        "数量": ["1.25", "2", "3", "nan", None, "1e+20", "-0.5", "9"],
        "含税金额": ["100.005", "1.000", None, "3.000", "4.000", "5.000", "-40.125", "999.000"],
        "成本": ["80", "1", "2", "3", "4", "5", "-30", "999"],
    })
    text = tmp_path / "text.parquet"
    pq.write_table(as_text, text)

    got = {}
    for name, f in (("typed", typed), ("text", text)):
        with open_store(tmp_path / f"{name}.duckdb", Settings(), create=True) as s:
            r = load_files(s, "orders", [f])
            got[name] = (
                (r.files[0].rows_read, r.accepted, r.rejected),
                q(s, "SELECT order_id, line_no, order_date, quantity, amount, cost, gross_profit, source_line "
                     "FROM orders ORDER BY source_line"),
                q(s, "SELECT line, field, value, reason FROM rejects ORDER BY line, field"))
    assert got["typed"] == got["text"]
    counts, stored, rejects = got["typed"]
    # lines 2..9; line 9 is the total row (合计 is its first non-empty cell): neither read nor rejected
    assert counts == (7, 2, 5)
    # amount 100.005 rounds half away from zero to 100.01 (DECIMAL(18,2)); gross profit = amount - cost
    assert stored == [
        ("1001", 1, dt.date(2024, 2, 1), Decimal("1.2500"), Decimal("100.01"), Decimal("80.00"), Decimal("20.01"), 2),
        ("1007", 1, dt.date(2024, 2, 6), Decimal("-0.5000"), Decimal("-40.13"), Decimal("-30.00"), Decimal("-10.13"), 8)]
    assert rejects == [
        (3, "line_no", "2.5", "not a whole number"),
        (4, "order_date", "1999-12-31", "date out of range"),
        (5, "quantity", "nan", "not a number"),
        (6, "quantity", None, "required value is empty"),
        (7, "quantity", "1e+20", "not a number")]


def test_a_line_number_that_is_not_whole_is_rejected_not_rounded(store, tmp_path):
    """DuckDB's cast of '2.4' to INTEGER gives 2: line 2.4 of order A would replace its line 2."""
    f = tmp_path / "o.csv"
    f.write_text("凭证号,行号,过账日期,客户编码,数量\nA,2,2024-01-05,C1,1\nA,2.4,2024-01-05,C1,5\nA,3.0,2024-01-05,C1,2\n"
                 "A,1e0,2024-01-05,C1,4\n", encoding="utf-8")
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (3, 1)
    assert q(store, "SELECT line, field, value, reason FROM rejects") == [(3, "line_no", "2.4", "not a whole number")]
    assert q(store, "SELECT line_no, quantity FROM orders ORDER BY 1") == [
        (1, Decimal("4.0000")), (2, Decimal("1.0000")), (3, Decimal("2.0000"))]


def test_infinity_and_two_digit_years_are_no_dates(store, tmp_path):
    """DuckDB casts 'inf' to the date infinity and '24-02-03' to the year 24 (and '12.5.3' to 12):
    each is 'not a date'; a contract that runs to 9999-12-31 keeps that end."""
    f = tmp_path / "k.csv"
    f.write_text("contract_id,customer_id,start,end,volume\nK1,C1,2024-01-01,9999-12-31,10\nK2,C1,24-02-03,2025-01-01,5\n"
                 "K3,C1,2024-01-01,inf,5\nK4,C1,12.5.3,2025-01-01,5\n", encoding="utf-8")
    r = load_files(store, "contracts", [f])
    assert (r.accepted, r.rejected) == (1, 3)
    assert q(store, "SELECT line, value, reason FROM rejects ORDER BY line") == [
        (3, "24-02-03", "not a date"), (4, "inf", "not a date"), (5, "12.5.3", "not a date")]
    assert q(store, "SELECT contract_id, end_date FROM contracts") == [("K1", dt.date(9999, 12, 31))]


def test_messy_csv_cells_are_read_or_rejected_never_misread(store, tmp_path):
    """Exports as they arrive (each case once found loading silently wrong); lines and values by hand:
    line 2: a code kept with a tab and one written ="000123" are the code 000123;
    line 3: an unquoted thousands separator shifts the cells: a reject, not quantity 1 and amount 0;
    line 4: a 12-digit order id that a spreadsheet saved as 2.02401E+11 is a reject;
    line 5: a decimal comma (1,5) is not 15;
    line 6: 12吨 beside a unit column saying kg is a conflict;
    line 7: 12" in a product name is a character, and the empty line 8 after it still counts;
    line 9: a good line."""
    f = tmp_path / "o.csv"
    f.write_text("凭证号,过账日期,客户,客户编码,数量,单位,含税金额,物料描述\n"
                 'A1,2024-01-05,甲站,\t000123,1,吨,="100",柴油\n'
                 "A2,2024-01-05,甲站,000123,1,000,吨,5000,柴油\n"
                 "2.02401E+11,2024-01-05,甲站,000123,1,吨,1,柴油\n"
                 "A4,2024-01-05,甲站,000123,\"1,5\",吨,1,柴油\n"
                 "A5,2024-01-05,甲站,000123,12吨,kg,1,柴油\n"
                 'A6,2024-01-05,甲站,="000123",2,吨,1,12" 钢管\n'
                 "\n"
                 "A7,2024-01-05,甲站,000123,3,吨,1,柴油\n", encoding="utf-8")
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (3, 4)
    assert q(store, "SELECT line, field, value, reason FROM rejects ORDER BY line, field") == [
        (3, "(beyond the header)", "柴油", REASONS["wide"]),
        (3, "amount", "吨", "not a number"),        # the shifted cells: 数量 1, 单位 000, 含税金额 吨
        (3, "unit", "000", "unknown unit"),
        (4, "order_id", "2.02401E+11", REASONS["sci_code"]),
        (5, "quantity", "1,5", "not a number"),
        (6, "unit", "12吨 / kg", REASONS["unit_conflict"])]
    # 客户编码 is the code, whatever stands left of it (客户 is the station's name here)
    assert q(store, "SELECT order_id, customer_code, quantity, amount, product_name, source_line FROM orders "
                    "ORDER BY source_line") == [
        ("A1", "000123", Decimal("1.0000"), Decimal("100.00"), "柴油", 2),
        ("A6", "000123", Decimal("2.0000"), Decimal("1.00"), '12" 钢管', 7),
        ("A7", "000123", Decimal("3.0000"), Decimal("1.00"), "柴油", 9)]


def test_an_unclosed_quote_is_an_error_naming_its_line(store, tmp_path):
    f = tmp_path / "o.csv"
    f.write_text("凭证号,过账日期,客户编码,数量,物料描述\nA,2024-01-05,C1,1,ok\nB,2024-01-05,C1,1,\"12寸钢管\n"
                 + "".join(f"C{i},2024-01-05,C1,1,x\n" for i in range(50)), encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3: a quote .* never closed"):
        load_files(store, "orders", [f])
    assert q(store, "SELECT count(*) FROM orders") == [(0,)]


def test_blank_line_numbers_follow_the_files_own_and_rejects_keep_one_entry_per_name(store, tmp_path,
                                                                                     monkeypatch):
    """A blank 行号 is numbered after the largest the file gives its order (never line 1 again: 60 t
    stay 60 t); loading the same file as ./o.csv and by its absolute path replaces its rejects."""
    f = tmp_path / "o.csv"
    f.write_text("凭证号,行号,过账日期,客户编码,数量\nV1,1,2024-01-05,C1,10\nV1,,2024-01-05,C1,20\n"
                 "V1,2,2024-01-05,C1,30\nV2,,2024-01-05,C1,x\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    load_files(store, "orders", [Path("o.csv")])
    r = load_files(store, "orders", [f.resolve()])
    assert (r.accepted, r.rejected) == (3, 1)
    assert q(store, "SELECT line_no, quantity FROM orders ORDER BY 1") == [
        (1, Decimal("10.0000")), (2, Decimal("30.0000")), (3, Decimal("20.0000"))]
    assert q(store, "SELECT file, line FROM rejects") == [(str(f.resolve()), 5)]
    # SPEC §1 "a file with the same name": the corrected export delivered into another folder replaces
    # the rejects (the row of line 5 now loads); another name keeps its own
    fixed = tmp_path / "again" / "o.csv"
    fixed.parent.mkdir()
    fixed.write_text(f.read_text(encoding="utf-8").replace(",x\n", ",4\n"), encoding="utf-8")
    other = tmp_path / "p.csv"
    other.write_text("凭证号,过账日期,客户编码,数量\nW1,2024-01-05,C1,y\n", encoding="utf-8")
    load_files(store, "orders", [other])
    assert load_files(store, "orders", [fixed]).rejected == 0
    assert q(store, "SELECT file, line FROM rejects") == [(str(other), 2)]


def test_a_volume_converted_to_tons_keeps_six_decimals_and_a_version_2_store_migrates(tmp_path):
    """1,234 L of gasoline at 0.737 kg/L is 0.909458 t (four decimals stored 0.9095); a store written
    by schema version 2 (DECIMAL(18,4)) is altered to six decimals and keeps its values."""
    from crmtool.config import Settings
    from crmtool.store import SCHEMA_VERSION, open_store

    f = tmp_path / "o.csv"
    f.write_text("凭证号,过账日期,客户编码,数量,单位,油品类别\nA,2024-01-05,C1,1234,L,汽油\nB,2024-01-05,C1,1,L,柴油\n",
                 encoding="utf-8")
    db = tmp_path / "crm.duckdb"
    with open_store(db, Settings(), wait=0) as s:
        load_files(s, "orders", [f])
        assert q(s, "SELECT order_id, quantity FROM orders ORDER BY 1") == [
            ("A", Decimal("0.909458")), ("B", Decimal("0.000840"))]
        s.con.execute("ALTER TABLE orders ALTER COLUMN quantity SET DATA TYPE DECIMAL(18,4)")
        s.con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with open_store(db, Settings(), wait=0) as s:
        assert s.schema_version() == SCHEMA_VERSION == 3
        assert q(s, "SELECT min(typeof(quantity)), sum(quantity) FROM orders") == [("DECIMAL(18,6)", Decimal("0.910300"))]


def test_a_unit_in_the_header_of_a_volume_that_is_not_converted_is_an_error(store, tmp_path):
    """年需求量(升) would have been stored as that many tons: crmtool converts only order quantities."""
    f = tmp_path / "c.csv"
    f.write_text("客户编码,客户名称,年需求量(升),购油量预判值(吨)\nK1,甲,1000000,500\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"column '年需求量\(升\)' is in L, but crmtool reads customers.annual_demand in t"):
        load_files(store, "customers", [f])
    f.write_text("客户编码,客户名称,年需求量(吨),购油量预判值\nK1,甲,1000,500\n", encoding="utf-8")
    assert load_files(store, "customers", [f]).accepted == 1
    assert q(store, "SELECT annual_demand, expected_volume FROM customers") == [(Decimal("1000"), Decimal("500"))]


def test_an_export_with_line_numbers_replaces_the_lines_crmtool_numbered(store, tmp_path):
    """January without 行号 (U1 two lines, numbered 1 and 2 by crmtool), then the same orders with SAP
    item numbers 10, 20: 30 t for U1, not 60 t; a line numbered by the export itself stays."""
    a = tmp_path / "a.csv"
    a.write_text("凭证号,过账日期,客户编码,数量\nU1,2024-01-05,C1,10\nU1,2024-01-05,C1,20\nU2,2024-01-06,C1,5\n",
                 encoding="utf-8")
    b = tmp_path / "b.csv"
    b.write_text("凭证号,行项目,过账日期,客户编码,数量\nU1,10,2024-01-05,C1,10\nU1,20,2024-01-05,C1,20\n"
                 "U3,10,2024-01-07,C1,7\n", encoding="utf-8")
    load_files(store, "orders", [a])
    r = load_files(store, "orders", [b])
    assert (r.accepted, r.files[0].replaced) == (3, 2)
    assert q(store, "SELECT order_id, line_no, quantity, line_numbered FROM orders ORDER BY 1, 2") == [
        ("U1", 10, Decimal("10.000000"), False), ("U1", 20, Decimal("20.000000"), False),
        ("U2", 1, Decimal("5.000000"), True), ("U3", 10, Decimal("7.000000"), False)]


def test_a_header_below_twelve_title_lines_two_remarks_and_wan_amounts(store, tmp_path):
    """Twelve title lines above the header; an archive with 备注 twice keeps both (备注, 备注 (2));
    金额(万) is in units of 10,000 yuan."""
    c = tmp_path / "c.csv"
    c.write_text("".join(f"说明第{i}行\n" for i in range(12)) + "客户编码,客户名称,备注,备注\nK1,甲,老客户,月结\n",
                 encoding="utf-8")
    r = load_files(store, "customers", [c])
    assert (r.accepted, r.files[0].header_line) == (1, 13)
    assert q(store, "SELECT column_name, value FROM customers_extra ORDER BY 1") == [("备注", "老客户"), ("备注 (2)", "月结")]
    o = tmp_path / "o.csv"
    o.write_text("凭证号,过账日期,客户编码,数量,金额(万)\nA,2024-01-05,K1,1,1.5\n", encoding="utf-8")
    load_files(store, "orders", [o])
    assert q(store, "SELECT amount FROM orders") == [(Decimal("15000.00"),)]


def test_a_units_row_under_the_header_applies_to_its_columns(store, tmp_path):
    """,,,,升,万元 under the header: 1,000 L of diesel at 0.84 kg/L is 0.84 t, 1.2 万元 is 12,000 yuan
    (the units row was read as a bad data row, and the values as tons and yuan)."""
    f = tmp_path / "o.csv"
    f.write_text("订单号,订单日期,客户编码,油品类别,数量,金额\n,,,,升,万元\nAA1,2024-01-05,K1,柴油,1000,1.2\n",
                 encoding="utf-8")
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected, r.files[0].header_line) == (1, 0, 2)
    assert q(store, "SELECT quantity, unit, amount, source_line FROM orders") == [
        (Decimal("0.840000"), "L", Decimal("12000.00"), 3)]


def test_xlsx_cells_a_value_reader_reads_as_empty_are_rejected_or_padded(store, tmp_path):
    """python-calamine gives '' for an error value and for a formula saved without its value, and 123
    for a code shown as 000123: the sheet's XML says what the user sees. Before, the amounts below
    loaded as empty (no reject) and the code as 123."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["凭证号", "过账日期", "客户编码", "数量", "含税金额"])          # row 1
    ws.append(["A", dt.date(2024, 1, 5), 123, 1, 100])                        # row 2: code formatted 000000
    ws["C2"].number_format = "000000"
    ws.append(["B", dt.date(2024, 1, 5), "C2", 2, "#DIV/0!"])                 # row 3: an error value
    ws.append(["C", dt.date(2024, 1, 5), "C3", 3, "=D4*7000"])               # row 4: a formula, no value saved
    ws.append(["D", dt.date(2024, 1, 5), "#REF!", 4, 400])                    # row 5: an error as the code
    ws.append(["E", dt.date(2024, 1, 5), "C5", 5, "#N/A"])                    # row 6: #N/A is "nothing"
    wb.save(tmp_path / "o.xlsx")
    r = load_files(store, "orders", [tmp_path / "o.xlsx"])
    assert (r.accepted, r.rejected) == (2, 3)
    assert q(store, "SELECT order_id, customer_code, amount FROM orders ORDER BY 1") == [
        ("A", "000123", Decimal("100.00")), ("E", "C5", None)]
    assert q(store, "SELECT line, column_name, value, reason FROM rejects ORDER BY line") == [
        (3, "含税金额", "#DIV/0!", REASONS["number"]),
        (4, "含税金额", "=D4*7000", REASONS["number"]),
        (5, "客户编码", "#REF!", REASONS["excel"])]


def test_a_csv_saved_from_excel_with_error_codes_rejects_them(store, tmp_path):
    f = tmp_path / "o.csv"
    f.write_text('凭证号,过账日期,客户编码,数量\nA,2024-01-05,#VALUE!,1\nB,2024-01-05,="007",2\nC,2024-01-05,=VLOOKUP(A4),3\n',
                 encoding="utf-8")
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (1, 2)
    assert q(store, "SELECT customer_code FROM orders") == [("007",)]
    assert q(store, "SELECT line, value FROM rejects ORDER BY line") == [(2, "#VALUE!"), (4, "=VLOOKUP(A4)")]


def test_sheet_xml_scan_tells_a_formula_that_gave_empty_from_one_never_calculated():
    from crmtool.io.readers import _scan_cells

    xml = (b'<row r="2"><c r="A2" t="str"><f>IF(1,"","")</f><v></v></c>'   # the formula gave "": empty
           b'<c r="B2"><f>X</f><v/></c>'                                       # likewise
           b'<c r="D2"><f t="shared" si="0"/></c>'                             # never calculated
           b'<c r="AB2" t="e"><v>#N/A</v></c><c r="C2" s="7"><v>12</v></c></row>')
    out: dict = {}
    _scan_cells(Path("w.xlsx"), "S", xml, {b"7": 5}, set(), out)
    assert out == {(2, 3): "=…", (2, 27): "#N/A", (2, 2): "00012"}
    with pytest.raises(InputError, match="no cell address"):
        _scan_cells(Path("w.xlsx"), "S", b'<row><c t="e"><v>#REF!</v></c></row>', {}, set(), {})


def test_a_read_only_open_of_an_older_store_names_its_version(tmp_path):
    from crmtool.config import Settings
    from crmtool.errors import CrmtoolError
    from crmtool.store import open_store

    db = tmp_path / "old.duckdb"
    with open_store(db, Settings()) as s:
        s.con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(CrmtoolError, match="store schema is version 2, this crmtool needs 3"):
        open_store(db, Settings(), read_only=True)


def test_a_workbook_with_one_sheet_a_month_loads_every_sheet_that_fits(store, tmp_path):
    """Sheets 说明 (a cover), 2025-01 and 2025-02 (same header): both months load, each its own batch
    recorded as path#sheet with its own rejects; before, only January loaded and February was lost."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表为销售明细导出"])
    jan, feb = wb.create_sheet("2025-01"), wb.create_sheet("2025-02")
    for ws in (jan, feb):
        ws.append(["凭证号", "过账日期", "客户编码", "数量"])
    jan.append(["A1", dt.date(2025, 1, 5), "C1", 10])
    feb.append(["B1", dt.date(2025, 2, 5), "C1", 7])
    feb.append(["B2", "not a date", "C1", 1])                      # row 3 of 2025-02
    wb.save(tmp_path / "销售明细.xlsx")
    r = load_files(store, "orders", [tmp_path / "销售明细.xlsx"])
    assert [(f.sheet, f.accepted, f.rejected) for f in r.files] == [("2025-01", 1, 0), ("2025-02", 1, 1)]
    assert q(store, "SELECT order_id, quantity FROM orders ORDER BY 1") == [("A1", Decimal("10")), ("B1", Decimal("7"))]
    path = str((tmp_path / "销售明细.xlsx").resolve())
    assert q(store, "SELECT file, line FROM rejects") == [(path + "#2025-02", 3)]
    assert q(store, "SELECT file FROM batches ORDER BY batch_id") == [(path + "#2025-01",), (path + "#2025-02",)]
    # loading it again replaces each sheet's rows and rejects; --sheet still loads one sheet
    r = load_files(store, "orders", [tmp_path / "销售明细.xlsx"])
    assert (r.accepted, r.rejected, r.replaced) == (2, 1, 2) and q(store, "SELECT count(*) FROM rejects") == [(1,)]
    # --sheet loads one sheet, recorded as path#sheet too: February corrected and loaded alone replaces
    # its own reject (a user trial found it kept, under the name the all-sheets load gave it)
    assert load_files(store, "orders", [tmp_path / "销售明细.xlsx"], sheet="2025-01").files[0].sheet == "2025-01"
    from crmtool.io.catalog import list_rejects  # the workbook's name finds the rejects of its sheets

    for name in ("销售明细.xlsx", path, path + "#2025-02"):
        assert list_rejects(store.con, file=name).column("line").to_pylist() == [3], name
    assert list_rejects(store.con, file="销售明细.xlsx#2025-01").num_rows == 0
    feb["B3"] = dt.date(2025, 2, 6)  # the date of order B2, row 3
    wb.save(tmp_path / "销售明细.xlsx")
    r = load_files(store, "orders", [tmp_path / "销售明细.xlsx"], sheet="2025-02")
    assert (r.files[0].sheet, r.accepted, r.rejected) == ("2025-02", 2, 0)
    assert q(store, "SELECT count(*) FROM rejects") == [(0,)]
    assert q(store, "SELECT file FROM batches ORDER BY batch_id DESC LIMIT 1") == [(path + "#2025-02",)]


def test_nul_and_ctrl_z_bytes_are_dropped_from_cells_and_a_last_line_of_them_is_no_row(store, tmp_path):
    # a NUL inside a key made 'A2\0' a second order A2, and a Ctrl-Z (the DOS end-of-file mark) after the
    # last cell a second customer C1\x1a; a last line of Ctrl-Z alone was a reject at line 5
    f = tmp_path / "ctl.csv"
    f.write_bytes("订单号,行号,订单日期,客户编码,数量,金额\n".encode() + b"A1,1,2024-01-05,C1,10,100\n"
                  b"A2\x00,1,2024-01-06,C2,20,200\nA3,1,2024-01-07,C1\x1a,30,300\n\x1a")
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (3, 0)
    clean = tmp_path / "clean.csv"
    clean.write_text("订单号,行号,订单日期,客户编码,数量,金额\nA1,1,2024-01-05,C1,10,100\n"
                     "A2,1,2024-01-06,C2,20,200\nA3,1,2024-01-07,C1,30,300\n", encoding="utf-8")
    r = load_files(store, "orders", [clean])
    assert (r.accepted, r.rejected, r.replaced) == (3, 0, 3)  # the same three orders, not three more
    assert q(store, "SELECT order_id, customer_code, quantity FROM orders ORDER BY 1") == [
        ("A1", "C1", Decimal("10")), ("A2", "C2", Decimal("20")), ("A3", "C1", Decimal("30"))]


def test_a_score_cell_formatted_as_a_percent_reads_as_excel_shows_it(store, tmp_path):
    # 0.85 in a 0% cell is shown as 85%: a fit score of 85, as the text '85%' is (it was read as 0.85)
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["客户编码", "客户名称", "定位匹配", "能力匹配", "口碑", "价值观匹配"])
    ws.append(["C1", "甲", 0.85, "85%", 1, 0.625])
    ws["C2"].number_format, ws["E2"].number_format, ws["F2"].number_format = "0%", "0%", '0.0"分"%'
    ws.append(["C2", "乙", 70, None, 0.5, None])
    ws["E3"].number_format = "0.00%"
    wb.save(tmp_path / "c.xlsx")
    r = load_files(store, "customers", [tmp_path / "c.xlsx"])
    assert (r.accepted, r.rejected) == (2, 0)
    assert q(store, "SELECT customer_id, positioning_fit, capability_fit, reputation, values_fit FROM customers "
                    "ORDER BY 1") == [("C1", 85.0, 85.0, 100.0, 62.5), ("C2", 70.0, None, 50.0, None)]


def test_a_workbook_with_the_1904_date_system_counts_its_serials_from_1904(store, tmp_path):
    # Excel for Mac's old default: 43834 is 2024-01-05 there (1904-01-01 + 43834 days), 2020-01-04 in a
    # 1900 workbook; date cells are dates either way
    import datetime
    import openpyxl

    wb = openpyxl.Workbook()
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    ws = wb.active
    ws.append(["订单号", "行号", "订单日期", "客户编码", "数量"])
    ws.append(["A1", 1, datetime.date(2024, 1, 5), "C1", 10])
    ws.append(["A2", 1, 43834, "C1", 1])
    wb.save(tmp_path / "mac.xlsx")
    plain = openpyxl.Workbook()
    plain.active.append(["订单号", "行号", "订单日期", "客户编码", "数量"])
    plain.active.append(["B1", 1, 45296, "C1", 1])  # 1899-12-30 + 45296 days
    plain.save(tmp_path / "pc.xlsx")
    r = load_files(store, "orders", [tmp_path / "mac.xlsx", tmp_path / "pc.xlsx"])
    assert (r.accepted, r.rejected) == (3, 0)
    assert q(store, "SELECT order_id, order_date FROM orders ORDER BY 1") == [
        ("A1", dt.date(2024, 1, 5)), ("A2", dt.date(2024, 1, 5)), ("B1", dt.date(2024, 1, 5))]


def test_a_bad_byte_late_in_a_utf8_file_is_reported_on_its_own_line(store, tmp_path):
    # the file is UTF-8 up to line 502; the retry as GB18030 failed on line 1, which the error named
    f = tmp_path / "bad.csv"
    body = "订单号,订单日期,客户编码,数量\n" + "".join(f"A{i},2024-01-05,客户{i},1\n" for i in range(500))
    f.write_bytes(body.encode() + b"B,2024-01-05,C\xff1,1\n")
    with pytest.raises(InputError, match=r"bad\.csv line 502: a byte that is not UTF-8"):
        load_files(store, "orders", [f])


def test_cells_merged_down_over_item_lines_give_every_line_their_value(store, tmp_path):
    # a report-style export: the order number, date and customer merged down over the order's item lines
    # (only the first row holds them); lines 4-5 were rejected as "required value is empty"
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2025年1月销售明细"])
    ws.merge_cells("A1:F1")  # a title merged across: no data, still skipped
    ws.append(["订单号", "订单日期", "客户编码", "物料描述", "数量", "金额"])
    ws.append(["SO1", dt.date(2025, 1, 5), "C1", "92#汽油", 10, 100])
    ws.append([None, None, None, "0#柴油", 5, 50])
    ws.append([None, None, None, "95#汽油", 2, 20])
    for col in "ABC":
        ws.merge_cells(f"{col}3:{col}5")
    ws.append(["SO2", dt.date(2025, 1, 6), "C2", "92#汽油", 1, 10])
    wb.save(tmp_path / "m.xlsx")
    r = load_files(store, "orders", [tmp_path / "m.xlsx"])
    assert (r.accepted, r.rejected) == (4, 0)
    assert q(store, "SELECT order_id, line_no, order_date, customer_code, quantity, source_line FROM orders "
                    "ORDER BY source_line") == [
        ("SO1", 1, dt.date(2025, 1, 5), "C1", Decimal("10"), 3), ("SO1", 2, dt.date(2025, 1, 5), "C1", Decimal("5"), 4),
        ("SO1", 3, dt.date(2025, 1, 5), "C1", Decimal("2"), 5), ("SO2", 1, dt.date(2025, 1, 6), "C2", Decimal("1"), 6)]


def test_a_units_row_in_brackets_under_the_header_names_the_units(store, tmp_path):
    # (吨) and （万元） in the row under the header are units, as 吨 and 万元 are (the row was rejected as data)
    f = tmp_path / "u.csv"
    f.write_text("订单号,订单日期,客户编码,数量,金额\n,,,(公斤),（万元）\nA1,2025-01-05,C1,1500,1.5\n", encoding="utf-8")
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (1, 0)
    assert q(store, "SELECT quantity, amount, source_line FROM orders") == [(Decimal("1.5"), Decimal("15000.00"), 3)]


def test_a_gbk_file_with_an_unclosed_quote_says_so(store, tmp_path):
    f = tmp_path / "q.csv"
    f.write_bytes("订单号,行号,订单日期,客户编码,数量\nA1,10,2025-01-05,C1,5\nA2,10,2025-01-05,\"C2,5\n".encode("gbk"))
    with pytest.raises(InputError, match=r"q\.csv line 3: a quote"):
        load_files(store, "orders", [f])


def test_a_number_merged_down_is_not_copied_and_a_header_merged_down_is_no_row(store, tmp_path):
    # 数量 6 merged over two lines is the order's, not each line's (copied, the volume doubled): the second
    # line stays without a quantity; a header whose cells (not all) are merged down over a second row is
    # one header, not a header and a rejected row
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["订单号", "行号", "订单日期", "客户编码", "数量", "备注"])
    ws.append([None, None, None, None, None, None])
    for col in "ABCDE":
        ws.merge_cells(f"{col}1:{col}2")
    ws.append(["SO1", 1, dt.date(2025, 1, 5), "C1", 6, "x"])
    ws.append([None, 2, None, None, None, "y"])
    for col in "ACDE":
        ws.merge_cells(f"{col}3:{col}4")
    wb.save(tmp_path / "m.xlsx")
    r = load_files(store, "orders", [tmp_path / "m.xlsx"])
    assert (r.accepted, r.rejected) == (1, 1)
    assert q(store, "SELECT order_id, line_no, quantity FROM orders") == [("SO1", 1, Decimal("6"))]
    assert q(store, "SELECT line, column_name, reason FROM rejects") == [(4, "数量", REASONS["missing"])]


def test_a_workbook_that_lost_a_sheet_replaces_the_rejects_of_its_sheets(store, tmp_path):
    import openpyxl

    def book(sheets: dict[str, list]) -> Path:
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for name, rows in sheets.items():
            ws = wb.create_sheet(name)
            ws.append(["订单号", "订单日期", "客户编码", "数量"])
            for row in rows:
                ws.append(row)
        wb.save(tmp_path / "book.xlsx")
        return tmp_path / "book.xlsx"

    load_files(store, "orders", [book({"说明": [], "订单": [["A1", dt.date(2025, 1, 5), "C1", "五"]]})])
    assert q(store, "SELECT count(*) FROM rejects") == [(1,)]
    r = load_files(store, "orders", [book({"订单": [["A1", dt.date(2025, 1, 5), "C1", 5]]})])  # corrected, one sheet
    assert (r.accepted, r.rejected) == (1, 0) and q(store, "SELECT count(*) FROM rejects") == [(0,)]


def test_a_second_header_row_in_english_under_the_chinese_one_is_no_data(store, tmp_path):
    f = tmp_path / "bi.csv"
    f.write_text("订单号,订单日期,客户编码,数量\nOrder No,Order Date,Customer Code,Quantity\n"
                 "A1,2025-01-05,C1,5\n", encoding="utf-8")
    r = load_files(store, "orders", [f])
    assert (r.accepted, r.rejected) == (1, 0)
    assert q(store, "SELECT order_id, source_line FROM orders") == [("A1", 3)]
    assert r.files[0].mapping["order_id"] == "订单号"  # the first header names the columns in messages
