"""Time each SQL statement of `load_files` over the first N CSV files of a folder (per file, slowest
first): where a load's time goes. Compare two checkouts by pointing --source at each in turn.

    python benchmarks/trace_load.py --files /tmp/bd/orders_10000000_monthly/csv --n 8 [--source /tmp/old]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path


class _Timed:
    """The store's connection with every execute timed by its statement's first words."""

    def __init__(self, con):
        self._c, self.stats = con, collections.defaultdict(float)

    def execute(self, sql, *a, **k):
        t = time.perf_counter()
        self._c.execute(sql, *a, **k)
        self.stats[" ".join(sql.split())[:70]] += time.perf_counter() - t
        return self

    def __getattr__(self, name):
        return getattr(self._c, name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=Path, required=True)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--source", help="a crmtool checkout to import instead of the installed one")
    ap.add_argument("--memory-limit", default="2.5GB")
    a = ap.parse_args()
    if a.source:
        sys.path.insert(0, a.source)
    from crmtool.config import settings_from_dict
    from crmtool.io.load import load_files
    from crmtool.store import open_store

    files = sorted(a.files.glob("*.csv"))[:a.n]
    with tempfile.TemporaryDirectory() as d:
        settings = settings_from_dict({"store": {"memory_limit": a.memory_limit, "temp_directory": f"{d}/spill"}})
        store = open_store(Path(d) / "t.duckdb", settings)
        timed = _Timed(store.con)
        store.con = timed
        t0 = time.perf_counter()
        r = load_files(store, "orders", files)
        t1 = time.perf_counter()
        store.con = timed._c
        store.close()
        print(f"load {t1 - t0:.2f} s, close {time.perf_counter() - t1:.2f} s, {r.accepted:,} rows, {len(files)} files")
    for k, v in sorted(timed.stats.items(), key=lambda kv: -kv[1])[:12]:
        print(f"{v / len(files):7.3f} s/file  {k}")


if __name__ == "__main__":
    main()
