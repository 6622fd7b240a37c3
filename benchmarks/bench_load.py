"""Benchmark: sample generation, loading and every analysis on the 3-year sample.

    python benchmarks/bench_load.py [--customers 1500] [--managers 30] [--years 3] [--out DIR]

Prints one line per step with seconds, and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1500)
    ap.add_argument("--managers", type=int, default=30)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from crmtool import churn, grading
    from crmtool.config import Settings
    from crmtool.facts import resolve_period
    from crmtool.io.load import load_files
    from crmtool.sample import write_sample
    from crmtool.store import open_store

    out = args.out or Path(tempfile.mkdtemp(prefix="crmtool-bench-"))
    rows: list[tuple[str, float, str]] = []

    def step(name: str, fn, note=lambda r: ""):
        t0 = time.perf_counter()
        r = fn()
        rows.append((name, time.perf_counter() - t0, note(r)))
        print(f"{name:<28} {rows[-1][1]:8.2f} s  {rows[-1][2]}", flush=True)
        return r

    files = step("sample", lambda: write_sample(out / "sample", customers=args.customers, managers=args.managers,
                                                 years=args.years))
    db = out / "bench.duckdb"
    db.unlink(missing_ok=True)
    settings = Settings()
    with open_store(db, settings) as store:
        for table, path in files.items():
            step(f"load {table}", lambda: load_files(store, table, [path]),
                 lambda r: f"{r.accepted:,} rows, {r.rejected} rejected")
        step("reload orders (upsert)", lambda: load_files(store, "orders", [files["orders"]]),
             lambda r: f"{r.replaced:,} replaced")
        period = resolve_period(store.con)
        for name in ("rfm", "pareto", "level", "scorecard", "quadrant"):
            fn = getattr(grading, name)
            step(f"grade {name}", lambda: fn(store.con, period, settings), lambda r: f"{_rows(r):,} rows")
        step("grading.run_all (+snapshots)", lambda: grading.run_all(store, settings),
             lambda r: ", ".join(f"{k} {v.num_rows:,}" for k, v in r.items()))
        step("churn.run_all (+snapshots)", lambda: churn.run_all(store, settings),
             lambda r: ", ".join(f"{k} {v.num_rows:,}" for k, v in r.items()))
        from crmtool.churn.backtest import churn_backtest
        from crmtool.facts import add_months

        end = period.month
        step("churn backtest (3 ratios)", lambda: churn_backtest(
            store.con, settings, first=add_months(end, -18), last=add_months(end, -6), data_end=end, horizon=6,
            ratios=[0.6, 0.7, 0.8]), lambda r: f"{r.num_rows} rows")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak RSS':<28} {peak:8.0f} MB")
    print(f"{'total':<28} {sum(r[1] for r in rows):8.2f} s   (files in {out})")


def _rows(result) -> int:
    table = getattr(result, "table", result)
    return getattr(table, "num_rows", 0)


if __name__ == "__main__":
    main()
