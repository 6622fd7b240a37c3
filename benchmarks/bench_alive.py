"""Benchmark: the BG/NBD fit (SPEC §4.12) on the sample data and on synthetic customers.

    python benchmarks/bench_alive.py [--customers 1500] [--years 3] [--synthetic 1000000] [--skip-sample]
                                     [--backtest]

1. `crmtool sample` data loaded into a fresh store, then `churn.alive` at the default as-of: SQL
   summary, fit, p_alive and expected purchases (and, with --backtest, the alive rule's backtest:
   one fit per judged month).
2. ``--synthetic`` customers drawn from the BG/NBD process (ages uniform over 36 months in whole
   days, the parameters the sample fits) and fitted with :func:`crmtool.churn.alive.fit_bgnbd`;
   then p_alive and expected purchases over 13 weeks for all of them. Target: under a minute at 10^6.

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
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--synthetic", type=int, default=1_000_000)
    ap.add_argument("--skip-sample", action="store_true")
    ap.add_argument("--backtest", action="store_true", help="also the alive rule's backtest on the sample")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    import numpy as np

    from crmtool.churn.alive import expected_purchases, fit_bgnbd, p_alive, simulate_bgnbd

    def step(name: str, fn, note=lambda r: ""):
        t0 = time.perf_counter()
        r = fn()
        print(f"{name:<38} {time.perf_counter() - t0:8.2f} s  {note(r)}", flush=True)
        return r

    params = (2.4, 3.8, 0.09, 60.0)  # roughly what the sample data fit
    if not args.skip_sample:
        from crmtool.config import Settings
        from crmtool.io.load import load_files
        from crmtool.runner import Runner
        from crmtool.sample import write_sample
        from crmtool.store import open_store

        out = args.out or Path(tempfile.mkdtemp(prefix="crmtool-bench-alive-"))
        files = step("sample", lambda: write_sample(out / "sample", customers=args.customers, years=args.years))
        db = out / "bench.duckdb"
        db.unlink(missing_ok=True)
        with open_store(db, Settings()) as store:
            for table in ("managers", "customers", "code_map", "orders"):
                if table in files:
                    step(f"load {table}", lambda: load_files(store, table, [files[table]]),
                         lambda r: f"{r.accepted:,} rows")
            runner = Runner(store, save=False)
            res = step("churn.alive (sample)", lambda: runner.run("churn.alive"),
                       lambda r: (f"{r.summary['customers']:,} customers, {r.summary['unique_rows']:,} unique rows, "
                                  f"fit {r.summary['fit_seconds']:.2f} s, r {r.summary['r']:.3f} "
                                  f"alpha {r.summary['alpha']:.3f} a {r.summary['a']:.3f} b {r.summary['b']:.3f}"))
            params = (res.summary["r"], res.summary["alpha"], res.summary["a"], res.summary["b"])
            if args.backtest:
                step("churn.backtest --rule alive (sample)",
                     lambda: runner.run("churn.backtest", rule="alive", thresholds="0.2,0.3,0.5"),
                     lambda r: f"{r.summary['months']} judged months")

    if args.synthetic:
        n = args.synthetic
        rng = np.random.default_rng(1)
        T = np.floor(rng.uniform(1, 36 * 30.44, n)) / 7  # whole days, as the SQL summary gives
        x, t_x, T = step(f"simulate {n:,} customers", lambda: simulate_bgnbd(params, T, seed=2))
        t_x = np.floor(t_x * 7) / 7
        fit = step(f"fit_bgnbd ({n:,})", lambda: fit_bgnbd(x, t_x, T),
                   lambda f: (f"{f.unique_rows:,} unique rows, {f.iterations} iterations, r {f.r:.3f} alpha "
                              f"{f.alpha:.3f} a {f.a:.3f} b {f.b:.3f} (drawn with "
                              + " ".join(f"{p:.3f}" for p in params) + ")"))
        step(f"p_alive + expected ({n:,})", lambda: (p_alive(fit, x, t_x, T), expected_purchases(fit, 13, x, t_x, T)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
