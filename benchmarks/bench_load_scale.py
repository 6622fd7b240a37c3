"""Benchmark: `crmtool load orders` at scale against the floor DuckDB itself sets, in whole processes.

    python benchmarks/bench_load_scale.py [--lines 1e6] [--also 1e7] [--formats csv,gbk,parquet]
                                          [--data DIR] [--memory-limit 2GB] [--threads 2]

For each format it times, each in a fresh process and a fresh store file:

- floor: DuckDB alone — `CREATE TABLE t AS SELECT * FROM read_csv(FILE)` (UTF-8), a streaming
  GBK -> UTF-8 transcode then the same (GBK), `... FROM read_parquet(FILE)` (Parquet);
- crmtool: `crmtool --db X load orders FILE`.

and prints wall seconds, peak resident memory of the process (children included: each command runs
under a small wrapper that reports `resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`) and the ratio to
the floor. Targets: 1e6 lines within 3x the floor with peak RSS under 1 GB; 1e7 lines in one file
under 3 GB, time growing no worse than linearly. The data comes from benchmarks/generate.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baselines import LOAD_FLOOR, measure  # noqa: E402

def fresh(work: Path, name: str) -> Path:
    db = work / name
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)
    return db


def run(lines: int, formats: list[str], data: Path, work: Path, memory: str, threads: int) -> list[dict]:
    from generate import generate

    files = generate(data, lines, max(1000, lines // 50), set(formats))
    config = work / "crmtool.toml"
    config.write_text(f'[store]\nmemory_limit = "{memory}"\nthreads = {threads}\n', encoding="utf-8")
    rows = []
    for kind in formats:
        f = files[kind]
        floor = measure([sys.executable, "-c", LOAD_FLOOR, kind, str(fresh(work, "floor.duckdb")), memory,
                         str(threads), str(f)])
        ours = measure([sys.executable, "-m", "crmtool", "--db", str(fresh(work, "crm.duckdb")), "--config",
                        str(config), "--quiet", "load", "orders", str(f)])
        if ours["rc"] != 0 or floor["rc"] != 0:
            print(f"{kind}: failed\n{ours['err']}\n{floor['err']}", file=sys.stderr)
        rows.append({"lines": lines, "format": kind, "mb": f.stat().st_size / 1e6, "floor_s": floor["seconds"],
                     "floor_rss_mb": floor["rss_mb"], "crmtool_s": ours["seconds"],
                     "crmtool_rss_mb": ours["rss_mb"], "ratio": ours["seconds"] / floor["seconds"]})
        r = rows[-1]
        print(f"{lines:>11,} {kind:<8} {r['mb']:8.1f} MB  floor {r['floor_s']:7.2f} s {r['floor_rss_mb']:7.0f} MB  "
              f"crmtool {r['crmtool_s']:7.2f} s {r['crmtool_rss_mb']:7.0f} MB  ratio {r['ratio']:5.2f}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=float, default=1e6)
    ap.add_argument("--also", type=float, action="append", default=[], help="More sizes, e.g. --also 1e7.")
    ap.add_argument("--formats", default="csv,gbk,parquet")
    ap.add_argument("--data", type=Path, default=None, help="Where generated files are kept (reused).")
    ap.add_argument("--memory-limit", default="2GB")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crmtool-scale-"))
    data = args.data or work / "data"
    formats = args.formats.split(",")
    print(f"{'lines':>11} {'format':<8} {'size':>11}  {'floor: wall, peak RSS':<28} "
          f"{'crmtool: wall, peak RSS':<30} ratio", flush=True)
    rows = []
    for n in [args.lines, *args.also]:
        rows += run(int(n), formats, data, work, args.memory_limit, args.threads)
    sizes = sorted({r["lines"] for r in rows})
    if len(sizes) > 1:
        for kind in formats:
            a, b = (next(r for r in rows if r["lines"] == s and r["format"] == kind) for s in (sizes[0], sizes[-1]))
            growth = (b["crmtool_s"] / a["crmtool_s"]) / (sizes[-1] / sizes[0])
            print(f"{kind}: time grows {b['crmtool_s'] / a['crmtool_s']:.1f}x for {sizes[-1] / sizes[0]:.0f}x lines "
                  f"({growth:.2f} of linear)")


if __name__ == "__main__":
    main()
