"""Generate large ERP order exports for load benchmarks, set-based in DuckDB SQL.

    python benchmarks/generate.py --lines 1000000 --customers 20000 --out DIR [--formats csv,gbk,parquet]

Writes DIR/orders_<lines>.csv (UTF-8, Chinese headers), DIR/orders_<lines>_gbk.csv (the same rows in
GBK) and DIR/orders_<lines>.parquet. The rows are realistic in shape: customer sizes follow a Pareto
law (a few customers buy most), volume is seasonal (harvest peaks, winter lull), about 2% of lines are
returns (negative quantity, 红字冲销), a tenth of the customers churn after two years, and three lines
share a voucher. Pseudo-random numbers come from hash(line), so a run is reproducible and parallel.
"""

from __future__ import annotations

import argparse
import codecs
import time
from pathlib import Path

CHUNK = 1 << 20

ORDERS_SQL = """
WITH lines AS (
    SELECT i,
           (hash(i, 11) % 1000000) / 1e6 AS u_customer,
           (hash(i, 23) % 1000000) / 1e6 AS u_day,
           (hash(i, 37) % 1000000) / 1e6 AS u_qty,
           (hash(i, 41) % 1000000) / 1e6 AS u_return,
           (hash(i, 53) % 1000000) / 1e6 AS u_product
    FROM range({lo}, {hi}) r(i)
),
drawn AS (
    SELECT i,
           -- Pareto customer sizes: index = C · u^3 puts most lines on the first customers
           CAST(floor({customers} * pow(u_customer, 3)) AS BIGINT) AS customer0,
           u_day, u_qty, u_return, u_product
    FROM lines
),
dated AS (
    SELECT *,
           -- a tenth of the customers churn: their lines all fall in the first 24 of 36 months
           {customer} AS customer,
           {day_no} AS day_no
    FROM drawn
),
priced AS (
    SELECT *,
           DATE '2022-01-01' + day_no AS order_date,
           -- seasonal volume: peaks in June (三夏) and October (三秋), a lull in February
           (1 + 0.35 * cos(2 * pi() * (month(DATE '2022-01-01' + day_no) - 6) / 4.0)) AS season,
           CASE WHEN u_product < 0.55 THEN 'P1001' WHEN u_product < 0.9 THEN 'P2001' ELSE 'P3001' END AS product
    FROM dated
)
SELECT
    'SO' || lpad(CAST(i // 3 AS VARCHAR), 9, '0') AS "凭证号",
    CAST(i % 3 + 1 AS INTEGER) AS "行号",
    strftime(order_date, '%Y-%m-%d') AS "过账日期",
    'C' || lpad(CAST(customer AS VARCHAR), 6, '0') AS "客户编码",
    product AS "物料编码",
    CASE product WHEN 'P1001' THEN '0#车用柴油' WHEN 'P2001' THEN '92#车用汽油' ELSE '95#车用汽油' END AS "物料描述",
    CASE product WHEN 'P1001' THEN '柴油' ELSE '汽油' END AS "油品类别",
    round((CASE WHEN u_return < 0.02 THEN -1 ELSE 1 END) * (1 + 29 * u_qty) * greatest(season, 0.3), 3) AS "数量",
    '吨' AS "单位",
    round((CASE WHEN u_return < 0.02 THEN -1 ELSE 1 END) * (1 + 29 * u_qty) * greatest(season, 0.3) * 7800, 2)
        AS "含税金额",
    round((CASE WHEN u_return < 0.02 THEN -1 ELSE 1 END) * (1 + 29 * u_qty) * greatest(season, 0.3) * 7100, 2)
        AS "成本"
FROM priced
ORDER BY i
"""


def to_gbk(src: Path, dst: Path) -> None:
    """UTF-8 -> GBK in 1 MB chunks."""
    dec = codecs.getincrementaldecoder("utf-8")()
    with open(src, "rb") as f, open(dst, "wb") as out:
        while chunk := f.read(CHUNK):
            out.write(dec.decode(chunk).encode("gbk"))
        out.write(dec.decode(b"", final=True).encode("gbk"))


WHOLE = {"customer": "customer0",
         "day_no": "CAST(floor(u_day * CASE WHEN customer0 % 10 = 7 THEN 730 ELSE 1095 END) AS INTEGER)"}
MONTHS = 36


def month_sql(m: int, lines: int, customers: int) -> str:
    """The lines of month m (0 = 2022-01) of a monthly series: an equal share of the lines, dated in that month;
    the churners' lines go to their neighbour from month 24 on (they stop buying)."""
    import datetime as dt

    start = dt.date(2022 + m // 12, m % 12 + 1, 1)
    end = dt.date(2022 + (m + 1) // 12, (m + 1) % 12 + 1, 1)
    offset, days = (start - dt.date(2022, 1, 1)).days, (end - start).days
    customer = f"CASE WHEN {m} >= 24 AND customer0 % 10 = 7 THEN customer0 + 1 ELSE customer0 END"
    return ORDERS_SQL.format(lo=lines * m // MONTHS, hi=lines * (m + 1) // MONTHS, customers=int(customers),
                             customer=customer, day_no=f"CAST({offset} + floor(u_day * {days}) AS INTEGER)")


def to_gbk_fast(src: Path, dst: Path) -> None:
    """iconv where the machine has it (C speed), else the Python chunked transcode."""
    import shutil
    import subprocess

    if shutil.which("iconv"):
        with open(src, "rb") as f, open(dst, "wb") as out:
            subprocess.run(["iconv", "-f", "UTF-8", "-t", "GBK"], stdin=f, stdout=out, check=True)
    else:
        to_gbk(src, dst)


def generate_monthly(out: Path, lines: int, customers: int, formats: set[str]) -> dict[str, list[Path]]:
    """36 monthly files per format (2022-01 .. 2024-12) under out/orders_<lines>_monthly/<format>/, the way
    ERP exports arrive at national scale."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    files: dict[str, list[Path]] = {k: [] for k in formats}
    base = out / f"orders_{lines}_monthly"
    for kind in formats:
        (base / kind).mkdir(parents=True, exist_ok=True)
    for m in range(MONTHS):
        name = f"{2022 + m // 12}-{m % 12 + 1:02d}"
        sql = month_sql(m, lines, customers)
        csv = base / "csv" / f"orders_{name}.csv"
        if {"csv", "gbk"} & formats and not csv.exists():
            csv.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY ({sql}) TO '{csv}' (HEADER, DELIMITER ',')")
        if "csv" in formats:
            files["csv"].append(csv)
        if "gbk" in formats:
            gbk = base / "gbk" / f"orders_{name}_gbk.csv"
            if not gbk.exists():
                to_gbk_fast(csv, gbk)
            files["gbk"].append(gbk)
        if "parquet" in formats:
            pq = base / "parquet" / f"orders_{name}.parquet"
            if not pq.exists():
                con.execute(f"COPY ({sql}) TO '{pq}' (FORMAT parquet)")
            files["parquet"].append(pq)
    con.close()
    return files


def generate(out: Path, lines: int, customers: int, formats: set[str]) -> dict[str, Path]:
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    sql = ORDERS_SQL.format(lo=0, hi=int(lines), customers=int(customers), **WHOLE)
    files: dict[str, Path] = {}
    csv = out / f"orders_{lines}.csv"
    if {"csv", "gbk"} & formats and not csv.exists():
        con.execute(f"COPY ({sql}) TO '{csv}' (HEADER, DELIMITER ',')")
    if "csv" in formats:
        files["csv"] = csv
    if "gbk" in formats:
        gbk = out / f"orders_{lines}_gbk.csv"
        if not gbk.exists():
            to_gbk_fast(csv, gbk)
        files["gbk"] = gbk
    if "parquet" in formats:
        pq = out / f"orders_{lines}.parquet"
        if not pq.exists():
            con.execute(f"COPY ({sql}) TO '{pq}' (FORMAT parquet)")
        files["parquet"] = pq
    con.close()
    return files


ARCHIVE_SQL = {
    "customers": """
SELECT 'C' || lpad(CAST(c AS VARCHAR), 6, '0') AS "客户编码",
       '客户' || CAST(c AS VARCHAR) || CASE c % 4 WHEN 0 THEN '储运有限公司' WHEN 1 THEN '物流有限公司'
                                               WHEN 2 THEN '农业发展有限公司' ELSE '建材有限公司' END AS "客户名称",
       ['济南', '青岛', '淄博', '烟台', '潍坊', '临沂', '济宁', '德州'][1 + c % 8] AS "归属地域",
       'M' || lpad(CAST(c % {managers} AS VARCHAR), 5, '0') AS "客户经理",
       ['交通运输/物流', '农业', '工矿企业', '建筑施工'][1 + c % 4] AS "所属行业",
       CASE WHEN c < {customers} / 100 THEN '重点' ELSE '普通' END AS "客户级别",
       CAST(100 + hash(c, 3) % 5000 AS INTEGER) AS "年需求量",
       CAST(50 + hash(c, 5) % 2500 AS INTEGER) AS "购油量预判值",
       CAST(40 + hash(c, 7) % 60 AS INTEGER) AS "定位匹配",
       CAST(40 + hash(c, 9) % 60 AS INTEGER) AS "能力匹配",
       CAST(40 + hash(c, 13) % 60 AS INTEGER) AS "价值观匹配",
       CAST(40 + hash(c, 17) % 60 AS INTEGER) AS "口碑",
       strftime(DATE '2010-01-01' + CAST(hash(c, 19) % 4000 AS INTEGER), '%Y-%m-%d') AS "建档日期",
       '1' || lpad(CAST(hash(c, 23) % 10000000000 AS VARCHAR), 10, '0') AS "联系电话"
FROM range({customers}) t(c) ORDER BY c""",
    "managers": """
SELECT 'M' || lpad(CAST(m AS VARCHAR), 5, '0') AS "客户经理编码", '经理' || CAST(m AS VARCHAR) AS "姓名",
       ['济南', '青岛', '淄博', '烟台', '潍坊', '临沂', '济宁', '德州'][1 + m % 8] || '直分销' || CAST(1 + m % 3 AS VARCHAR)
           || '组' AS "班组",
       ['济南', '青岛', '淄博', '烟台', '潍坊', '临沂', '济宁', '德州'][1 + m % 8] AS "市公司"
FROM range({managers}) t(m) ORDER BY m""",
    "plans": """
SELECT strftime(DATE '2022-01-01' + INTERVAL (k) MONTH, '%Y-%m') AS "月份", '' AS "客户编码",
       'M' || lpad(CAST(m AS VARCHAR), 5, '0') AS "客户经理编码",
       round({lines} / {managers} / 36.0 * 16 * (0.8 + (hash(m, k) % 400) / 1000.0), 0) AS "计划量"
FROM range({managers}) t(m), range(36) s(k) ORDER BY m, k""",
}


def generate_archive(out: Path, lines: int, customers: int, managers: int | None = None) -> dict[str, Path]:
    """The customer archive, managers and monthly manager plans that go with the orders: customers.csv (one
    row per customer, manager, region, match scores, phone), managers.csv and plans.csv (UTF-8)."""
    import duckdb

    managers = managers or max(10, customers // 500)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    files = {}
    for name, sql in ARCHIVE_SQL.items():
        path = out / f"{name}_{customers}.csv"
        if not path.exists():
            con.execute(f"COPY ({sql.format(customers=customers, managers=managers, lines=lines)}) TO '{path}' "
                        "(HEADER, DELIMITER ',')")
        files[name] = path
    con.close()
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=float, default=1e6)
    ap.add_argument("--customers", type=int, default=20000)
    ap.add_argument("--out", type=Path, default=Path("bench-data"))
    ap.add_argument("--formats", default="csv,gbk,parquet")
    ap.add_argument("--monthly", action="store_true", help="36 monthly files per format instead of one")
    ap.add_argument("--archive", action="store_true", help="also the customers, managers and plans files")
    args = ap.parse_args()
    t0 = time.perf_counter()
    formats = set(args.formats.split(","))
    if args.archive:
        for kind, path in generate_archive(args.out, int(args.lines), args.customers).items():
            print(f"{kind:<8} {path}  {path.stat().st_size / 1e6:,.1f} MB")
    if args.monthly:
        for kind, paths in generate_monthly(args.out, int(args.lines), args.customers, formats).items():
            print(f"{kind:<8} {len(paths)} files under {paths[0].parent}  "
                  f"{sum(p.stat().st_size for p in paths) / 1e6:,.1f} MB")
    else:
        for kind, path in generate(args.out, int(args.lines), args.customers, formats).items():
            print(f"{kind:<8} {path}  {path.stat().st_size / 1e6:,.1f} MB")
    print(f"generated in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
