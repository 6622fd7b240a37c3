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
    FROM range({lines}) r(i)
),
drawn AS (
    SELECT i,
           -- Pareto customer sizes: index = C · u^3 puts most lines on the first customers
           CAST(floor({customers} * pow(u_customer, 3)) AS BIGINT) AS customer,
           u_day, u_qty, u_return, u_product
    FROM lines
),
dated AS (
    SELECT *,
           -- a tenth of the customers churn: their lines all fall in the first 24 of 36 months
           CAST(floor(u_day * CASE WHEN customer % 10 = 7 THEN 730 ELSE 1095 END) AS INTEGER) AS day_no
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


def generate(out: Path, lines: int, customers: int, formats: set[str]) -> dict[str, Path]:
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    sql = ORDERS_SQL.format(lines=int(lines), customers=int(customers))
    files: dict[str, Path] = {}
    csv = out / f"orders_{lines}.csv"
    if {"csv", "gbk"} & formats and not csv.exists():
        con.execute(f"COPY ({sql}) TO '{csv}' (HEADER, DELIMITER ',')")
    if "csv" in formats:
        files["csv"] = csv
    if "gbk" in formats:
        gbk = out / f"orders_{lines}_gbk.csv"
        if not gbk.exists():
            to_gbk(csv, gbk)
        files["gbk"] = gbk
    if "parquet" in formats:
        pq = out / f"orders_{lines}.parquet"
        if not pq.exists():
            con.execute(f"COPY ({sql}) TO '{pq}' (FORMAT parquet)")
        files["parquet"] = pq
    con.close()
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=float, default=1e6)
    ap.add_argument("--customers", type=int, default=20000)
    ap.add_argument("--out", type=Path, default=Path("bench-data"))
    ap.add_argument("--formats", default="csv,gbk,parquet")
    args = ap.parse_args()
    t0 = time.perf_counter()
    files = generate(args.out, int(args.lines), args.customers, set(args.formats.split(",")))
    for kind, path in files.items():
        print(f"{kind:<8} {path}  {path.stat().st_size / 1e6:,.1f} MB")
    print(f"generated in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
