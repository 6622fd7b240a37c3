"""Benchmark: crmtool's analyses side by side with what users would otherwise run, in one run.

    python benchmarks/bench_analyses.py [--lines 1e7] [--customers 1e5] [--out DIR] [--repeat 1]

Builds a store with a set-based synthetic generator (DuckDB SQL: Pareto-skewed customer sizes,
seasonality, 2 % returns as negative lines, 10 % churners who stop buying), exports the same lines
to Parquet, then runs whole processes and reports wall seconds and each process's peak RSS:

- ``crmtool grade rfm`` vs one hand-written DuckDB RFM query (the engine's floor) and the pandas code
  an analyst would write;
- ``crmtool churn warn`` / ``churn status`` vs the pandas code an analyst would write (pivot of
  monthly volumes, the 70 % rule, idle months);
- ``crmtool --help``.

Ratios are crmtool / baseline measured in the same run. Speed is never asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import RFM_FLOOR, RFM_PANDAS, STATUS_PANDAS, WARN_PANDAS  # noqa: E402

GENERATE = """
INSERT INTO orders BY NAME
WITH lines AS (
    SELECT i,
           CAST(floor(pow(random(), 2.5) * $customers) AS BIGINT) AS cust,   -- Pareto-like skew
           random() AS r_day, random() AS r_qty, random() AS r_ret, random() AS r_season
    FROM range(CAST($lines AS BIGINT)) t(i)
),
dated AS (
    SELECT *,
           -- 10 % churners stop after 6..30 months; seasonality: a second draw favours Q2 and Q4
           CAST(floor(CASE WHEN cust % 10 = 0 THEN 180 + (cust % 25) * 30 ELSE 1095 END * r_day) AS INTEGER)
               AS day_no
    FROM lines
)
SELECT 'O' || CAST(i // 3 AS VARCHAR) AS order_id,
       CAST(i % 3 + 1 AS INTEGER) AS line_no,
       DATE '2022-01-01' + day_no AS order_date,
       'C' || lpad(CAST(cust AS VARCHAR), 7, '0') AS customer_code,
       CAST((CASE WHEN r_ret < 0.02 THEN -1 ELSE 1 END) * round(1 + r_qty * 30, 3) AS DECIMAL(18,4)) AS quantity,
       CASE WHEN cust % 3 = 0 THEN 'gasoline' WHEN cust % 3 = 1 THEN 'diesel' ELSE 'other' END AS category,
       't' AS unit, 't' AS unit_raw,
       CAST((CASE WHEN r_ret < 0.02 THEN -1 ELSE 1 END) * round(1 + r_qty * 30, 3) AS DECIMAL(18,4)) AS quantity_raw,
       CAST((CASE WHEN r_ret < 0.02 THEN -1 ELSE 1 END) * round((1 + r_qty * 30) * 7600, 2) AS DECIMAL(18,2)) AS amount,
       CAST((CASE WHEN r_ret < 0.02 THEN -1 ELSE 1 END) * round((1 + r_qty * 30) * 7000, 2) AS DECIMAL(18,2)) AS cost,
       CAST((CASE WHEN r_ret < 0.02 THEN -1 ELSE 1 END) * round((1 + r_qty * 30) * 600, 2) AS DECIMAL(18,2))
           AS gross_profit
FROM dated
"""

def run(cmd: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB) of one whole process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def best(cmd: list[str], repeat: int) -> tuple[float, float, float]:
    runs = [run(cmd) for _ in range(repeat)]
    return min(runs, key=lambda r: r[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=float, default=1e7)
    ap.add_argument("--customers", type=float, default=None, help="default: lines / 100")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--reuse", action="store_true", help="keep the store and Parquet already in --out")
    ap.add_argument("--only", default="", help="run only steps whose label contains this text")
    ap.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    lines = int(args.lines)
    customers = int(args.customers or max(lines // 100, 10))
    out = args.out or Path(tempfile.mkdtemp(prefix="crmtool-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    db = out / "bench.duckdb"
    py = sys.executable
    if args.generate_only:
        from crmtool.config import Settings
        from crmtool.store import open_store

        db.unlink(missing_ok=True)
        with open_store(db, Settings()) as store:
            store.con.execute("SELECT setseed(0.42)")
            store.con.execute(GENERATE, {"lines": lines, "customers": customers})
            store.con.execute(f"COPY orders TO '{out / 'orders.parquet'}' (FORMAT parquet)")
        return
    # generated in a child process, so this process stays small: a child's peak RSS counts from fork
    t0 = time.perf_counter()
    if not (args.reuse and db.exists()):
        run([py, __file__, "--generate-only", "--lines", str(lines), "--customers", str(customers),
             "--out", str(out)])
    print(f"generated {lines:,} lines for {customers:,} customers in {time.perf_counter() - t0:.1f} s ({out})",
          flush=True)

    crm = [py, "-m", "crmtool", "--db", str(db)]
    scripts = {}
    for name, text in (("rfm_floor", RFM_FLOOR),
                       ("rfm_pandas", RFM_PANDAS), ("warn_pandas", WARN_PANDAS), ("status_pandas", STATUS_PANDAS)):
        scripts[name] = out / f"{name}.py"
        scripts[name].write_text(textwrap.dedent(text), encoding="utf-8")
    pq = str(out / "orders.parquet")
    steps = [
        ("crmtool grade rfm", crm + ["grade", "rfm", "--as-of", "2024-12-31", "--allow-future", "-o",
                                     str(out / "rfm.parquet")]),
        ("  DuckDB hand-written RFM query", [py, str(scripts["rfm_floor"]), str(db), str(out / "rfm_floor.parquet")]),
        ("  pandas RFM", [py, str(scripts["rfm_pandas"]), pq, str(out / "rfm_pd.parquet")]),
        ("crmtool churn warn", crm + ["churn", "warn", "--month", "2024-12", "-o", str(out / "warn.parquet")]),
        ("  pandas 70 % warning", [py, str(scripts["warn_pandas"]), pq, str(out / "warn_pd.parquet")]),
        ("crmtool churn status", crm + ["churn", "status", "--month", "2024-12", "-o", str(out / "status.parquet")]),
        ("  pandas idle status", [py, str(scripts["status_pandas"]), pq, str(out / "status_pd.parquet")]),
        ("crmtool --help", [shutil.which("crmtool") or py, *([] if shutil.which("crmtool") else ["-m", "crmtool"]),
                            "--help"]),
    ]
    results: dict[str, tuple[float, float, float]] = {}
    print(f"{'step':<34} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'ratio':>7}")
    group = None
    for label, cmd in steps:
        if not label.startswith("  "):
            group = label
        if args.only and args.only not in group:
            continue
        results[label] = best(cmd, args.repeat)
        wall, cpu, rss = results[label]
        ratio = f"{results[group][0] / wall:6.2f}x" if label != group else ""
        print(f"{label:<34} {wall:8.2f} {cpu:8.2f} {rss:8.0f} {ratio:>7}", flush=True)
    print("ratio = crmtool wall time / baseline wall time (under 1: crmtool is faster)")


if __name__ == "__main__":
    main()
