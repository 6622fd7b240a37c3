"""The sample generator: deterministic, real-shaped (Chinese headers the loader knows, GBK orders, an
XLSX archive with a title row), and loadable with exactly the deliberate mess rejected."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest

from crmtool.config import Settings
from crmtool.facts import install_views
from crmtool.io.load import REASONS, load_files
from crmtool.io.schema import TABLES, normalize_header
from crmtool.sample import write_sample
from crmtool.store import open_store

SMALL = dict(customers=120, managers=6, years=2)
LOAD_ORDER = ["managers", "customers", "code_map", "orders", "plans", "contracts", "campaigns", "freight", "leads",
              "visits"]
# headers a real export carries that are no canonical column: kept (customers) or ignored (others)
EXTRA_HEADERS = {"customers": {"备注"}, "orders": {"参考凭证号"}}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict[str, Path]:
    return write_sample(tmp_path_factory.mktemp("sample") / "s", seed=7, **SMALL)


@pytest.fixture(scope="module")
def loaded(sample, tmp_path_factory):
    """A store with every table but campaigns loaded (campaigns has its own test below)."""
    st = open_store(tmp_path_factory.mktemp("db") / "crm.duckdb", Settings(), wait=0)
    results = {t: load_files(st, t, [p]) for t, p in sample.items() if t != "campaigns"}
    install_views(st.con)
    yield st, results
    st.close()


def q(store, sql: str, params=None) -> list[tuple]:
    return store.con.execute(sql, params or []).fetchall()


def csv_rows(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def headers_of(table: str, path: Path) -> list[str]:
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        rows = list(wb.worksheets[0].iter_rows(min_row=1, max_row=2, values_only=True))
        wb.close()
        assert "客户档案" in str(rows[0][0])  # a title row above the header, as real exports have
        return [h for h in rows[1] if h]
    return csv_rows(path, "gbk" if table == "orders" else "utf-8-sig")[0]


# --------------------------------------------------------------------------- files


def test_files_in_load_order(sample):
    assert list(sample) == LOAD_ORDER
    assert all(p.is_file() and p.stat().st_size > 0 for p in sample.values())
    assert sample["customers"].suffix == ".xlsx" and sample["orders"].suffix == ".csv"


def test_same_seed_same_bytes_other_seed_differs(sample, tmp_path):
    again = write_sample(tmp_path / "again", seed=7, **SMALL)
    other = write_sample(tmp_path / "other", seed=8, **SMALL)
    for table, path in sample.items():
        assert again[table].read_bytes() == path.read_bytes(), table  # the xlsx too
    assert other["orders"].read_bytes() != sample["orders"].read_bytes()
    assert other["customers"].read_bytes() != sample["customers"].read_bytes()


def test_orders_are_gbk_and_the_rest_utf8(sample):
    raw = sample["orders"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gbk").startswith("凭证号,")
    for table in ("managers", "plans", "contracts", "campaigns", "freight", "leads", "visits"):
        assert sample[table].read_bytes().startswith(b"\xef\xbb\xbf"), table
    sample["code_map"].read_bytes().decode("utf-8")


def test_headers_are_chinese_and_each_names_a_column(sample):
    for table, path in sample.items():
        spec = TABLES[table]
        spellings = {c.name: {normalize_header(a) for a in (c.name, *c.aliases)} for c in spec.columns}
        for h in headers_of(table, path):
            assert CJK.search(h), (table, h)
            if h in EXTRA_HEADERS.get(table, ()):
                continue
            assert any(normalize_header(h) in s for s in spellings.values()), (table, h)


def test_orders_file_has_the_realistic_mess(sample):
    rows = csv_rows(sample["orders"], "gbk")
    head, body = rows[0], rows[1:]
    col = {h: i for i, h in enumerate(head)}
    dates = [r[col["过账日期"]] for r in body]
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d", d) for d in dates)
    assert any(re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}", d) and not re.fullmatch(r"\d{4}/\d\d/\d\d", d) for d in dates)
    units = [r[col["单位"]] for r in body]
    assert 0.01 < units.count("升") / len(units) < 0.06
    assert {r[col["油品类别"]] for r in body} == {"汽油", "柴油"}
    codes = [r[col["客户编码"]] for r in body if r[col["客户编码"]]]
    assert all(c.startswith("0") and len(c) == 10 for c in codes)  # leading zeros kept
    # returns reference an earlier voucher of the same customer code and carry a later voucher number
    by_no = {r[col["凭证号"]]: r for r in body}
    returns = [r for r in body if r[col["参考凭证号"]]]
    assert returns
    for r in returns:
        orig = by_no[r[col["参考凭证号"]]]
        assert float(r[col["数量"]]) < 0 and float(r[col["含税金额"]]) < 0
        assert orig[col["客户编码"]] == r[col["客户编码"]]
        assert int(r[col["凭证号"]]) > int(orig[col["凭证号"]])


# --------------------------------------------------------------------------- loading


def test_everything_loads_with_only_the_three_bad_order_rows_rejected(loaded):
    st, results = loaded
    for table, r in results.items():
        expected_rejects = 3 if table == "orders" else 0
        assert (r.rejected, r.replaced) == (expected_rejects, 0), (table, r.files[0].sample_rejects)
        assert r.accepted > 0, table
    assert results["customers"].files[0].header_line == 2  # the title row above it was skipped
    got = q(st, "SELECT column_name, value, reason FROM rejects ORDER BY reason")
    assert sorted(got, key=lambda x: x[2]) == sorted([
        ("客户编码", None, REASONS["missing"]),
        ("过账日期", "2024-13-45", REASONS["date"]),
        ("数量", "五吨", REASONS["number"]),
    ], key=lambda x: x[2])


def test_loaded_columns_are_filled(loaded):
    st, _ = loaded
    n, named, typed, leveled, demand, created, fits = q(st, """
        SELECT count(*), count(name), count(customer_type), count(level), count(annual_demand), count(created_date),
               count(positioning_fit) FROM customers""")[0]
    assert n == SMALL["customers"] and named == typed == leveled == demand == created == n
    assert 0.5 * n < fits < 0.9 * n  # about 30% of the archive has no fit scores
    assert {r[0] for r in q(st, "SELECT DISTINCT level FROM customers")} <= {"ordinary", "gold", "platinum", "diamond"}
    assert {r[0] for r in q(st, "SELECT DISTINCT customer_type FROM customers")} == {"direct", "distribution"}
    assert all(cid.startswith("0") for (cid,) in q(st, "SELECT customer_id FROM customers"))
    assert q(st, "SELECT count(*) FROM customers_extra WHERE column_name = '备注'")[0][0] > 0
    assert q(st, "SELECT count(*) FROM orders WHERE amount IS NULL OR cost IS NULL OR product_name IS NULL "
                 "OR category NOT IN ('gasoline', 'diesel')")[0][0] == 0
    # every archive manager resolves to a manager (a few archive rows give the manager's name)
    assert q(st, "SELECT count(*) FROM customers_resolved WHERE manager_id NOT IN "
                 "(SELECT manager_id FROM managers)")[0][0] == 0
    scopes = dict(q(st, "SELECT scope, count(*) FROM plans GROUP BY scope"))
    assert scopes["customer"] > 0 and scopes["manager"] == SMALL["managers"] * 24
    for table in ("contracts", "freight", "leads", "visits"):
        assert q(st, f"SELECT count(*) FROM {table}")[0][0] > 0, table


def test_litre_lines_are_converted_to_tons(loaded):
    st, _ = loaded
    rows = q(st, "SELECT category, quantity, quantity_raw FROM orders WHERE unit_raw = '升'")
    assert rows
    density = {"gasoline": 0.737, "diesel": 0.84}
    for cat, tons, litres in rows:
        assert float(tons) == pytest.approx(float(litres) * density[cat] / 1000, abs=1e-3)
        assert 0 < abs(float(tons)) < 5000


def test_prices_and_costs_are_realistic(loaded):
    st, _ = loaded
    for cat, lo, hi in q(st, "SELECT category, min(amount / quantity), max(amount / quantity) FROM orders "
                             "WHERE quantity > 1 GROUP BY category"):
        band = (7400, 8400) if cat == "diesel" else (8400, 9600)
        assert band[0] <= lo and hi <= band[1], cat
    lo, hi = q(st, "SELECT min(cost / amount), max(cost / amount) FROM orders WHERE amount > 100")[0]
    assert 0.92 < lo and hi < 0.98


def test_group_codes_resolve_through_code_map(loaded):
    st, _ = loaded
    lines, codes, masters = q(st, "SELECT count(*), count(DISTINCT customer_code), count(DISTINCT customer_id) "
                                  "FROM orders_resolved WHERE customer_id <> customer_code")[0]
    assert lines > 0 and codes > masters > 0
    assert q(st, "SELECT count(*) FROM orders_resolved WHERE customer_id <> customer_code "
                 "AND customer_id NOT IN (SELECT customer_id FROM customers)")[0][0] == 0
    # a group's extra codes are in neither the archive nor unresolved
    assert q(st, "SELECT count(*) FROM code_map m JOIN customers c ON c.customer_id = m.erp_code "
                 "WHERE m.erp_code <> m.customer_id")[0][0] == 0


def test_orders_only_customers_and_prospects(loaded):
    st, _ = loaded
    ghosts, volume = q(st, "SELECT count(DISTINCT customer_id), sum(quantity) FROM orders_resolved "
                           "WHERE customer_id NOT IN (SELECT customer_id FROM customers)")[0]
    assert ghosts == 15 and 0 < volume < q(st, "SELECT sum(quantity) FROM orders")[0][0] / 20
    prospects = q(st, "SELECT count(*) FROM customers WHERE customer_id NOT IN "
                      "(SELECT customer_id FROM orders_resolved)")[0][0]
    assert 1 <= prospects <= 10


def test_returns_churners_winbacks_and_new_customers(loaded):
    st, _ = loaded
    returns, lines = q(st, "SELECT count(*) FILTER (WHERE quantity < 0), count(*) FROM orders")[0]
    assert 0.003 < returns / lines < 0.03
    end = q(st, "SELECT max(order_date) FROM orders")[0][0]
    assert end == dt.date(2025, 12, 31)
    last = dict(q(st, "SELECT customer_id, max(month) FROM orders_resolved WHERE is_purchase GROUP BY 1"))
    stopped = [c for c, m in last.items() if m <= dt.date(2025, 6, 1)]  # idle 6+ months at the end
    assert len(stopped) >= 3
    first = dict(q(st, "SELECT customer_id, min(month) FROM orders_resolved WHERE is_purchase GROUP BY 1"))
    assert sum(1 for m in first.values() if m >= dt.date(2025, 7, 1)) >= 3  # new in the last six months
    gaps = q(st, """
        WITH m AS (SELECT DISTINCT customer_id, month FROM orders_resolved WHERE is_purchase),
        g AS (SELECT customer_id, datediff('month', lag(month) OVER (PARTITION BY customer_id ORDER BY month), month)
                     AS gap FROM m)
        SELECT count(DISTINCT customer_id) FROM g WHERE gap BETWEEN 5 AND 8""")[0][0]
    assert gaps >= 2  # came back after 4-7 idle months


def test_diesel_has_harvest_peaks(loaded):
    st, _ = loaded
    by_month = dict(q(st, "SELECT month(order_date), sum(quantity) FROM orders_resolved "
                          "WHERE category = 'diesel' GROUP BY 1"))
    assert by_month[6] > by_month[2] and by_month[10] > by_month[1]


def test_campaigns_load_and_targets_show_a_lift(sample, tmp_path):
    st = open_store(tmp_path / "crm.duckdb", Settings(), wait=0)
    try:
        for table in ("customers", "code_map", "orders", "campaigns"):
            load_files(st, table, [sample[table]])
        install_views(st.con)
        camps = q(st, "SELECT name, start_date, end_date, customers FROM campaigns ORDER BY start_date")
        assert [c[0] for c in camps] == ["三夏柴油促销", "年末冲量"]
        known = {r[0] for r in q(st, "SELECT customer_id FROM customers")}
        for name, start, end, targets in camps:
            assert targets and set(targets) <= known, name
            lift = q(st, """
                SELECT list_contains(?, customer_id) AS target,
                       sum(quantity) FILTER (WHERE order_date BETWEEN ? AND ?) /
                       sum(quantity) FILTER (WHERE order_date BETWEEN ? AND ?) AS yoy
                FROM orders_resolved GROUP BY 1""",
                     [targets, start, end, start.replace(year=start.year - 1), end.replace(year=end.year - 1)])
            yoy = dict(lift)
            assert yoy[True] > yoy[False] * 1.1, (name, yoy)  # difference in differences over 10%
    finally:
        st.close()
