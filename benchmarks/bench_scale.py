"""Benchmark: the whole product at national scale, side by side with what users would otherwise run.

    python benchmarks/bench_scale.py --lines 1e7 [--lines 1e8] [--data DIR] [--work DIR]
        [--memory-limit 3GB] [--threads 2] [--cap-gb 16] [--only TEXT] [--results benchmarks/RESULTS.md]

For each size (lines; customers = lines / 100, managers = customers / 500) it generates, set-based
in DuckDB (benchmarks/generate.py), 36 monthly order exports 2022-01 .. 2024-12 in UTF-8 CSV, GBK CSV
and Parquet — Pareto-skewed customers, seasonal volumes, 2 % returns, a tenth of the customers
churning after two years — and the customer archive, managers and monthly plans that go with them.
Then it runs, each as a whole process in one run on the same machine, and measures wall and CPU
seconds and peak RSS (children included):

- ``crmtool load orders`` of the 36 files, per format, against DuckDB's own read of the same files
  into a table (for GBK: a streaming transcode, then the read);
- every grading and churn analysis, the managers scorecard, the sales overview and pivot, against the
  hand-written DuckDB RFM query, the pandas code an analyst would write (RFM, the 70 % warning, idle
  status) and lifetimes' ``summary_data_from_transaction_data`` (where installed and where it
  finishes under the --cap-gb address-space cap);
- ``crmtool run monthly`` with an inbox holding a re-export of the last month, without and with
  reports (xlsx + html, Chinese), each on a copy of the store;
- ``crmtool --help`` (best of five).

It prints one table (time, CPU, peak RSS, ratio to the baseline of its group) and, with --results,
writes it with the machine's facts to that Markdown file. Ratios and growth are measured in the same
run; nothing here is asserted in tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baselines import LIFETIMES, LOAD_FLOOR, RFM_FLOOR, RFM_PANDAS, STATUS_PANDAS, WARN_PANDAS, measure  # noqa: E402
from generate import generate_archive, generate_monthly  # noqa: E402

MONTH, AS_OF = "2024-12", "2024-12-31"

# grade rfm inside one warm process: the library call (crmtool.run, no snapshot) against the
# hand-written query on the same connection, best of three each; prints both seconds as JSON
RFM_IN_PROCESS = """
import json, sys, time
import crmtool
from crmtool.config import load_settings
sys.path.insert(0, sys.argv[3])
from baselines import RFM_SQL as sql
settings = load_settings(sys.argv[2])
with crmtool.open_store(sys.argv[1], settings, read_only=True) as store:
    def best(fn):
        times = []
        for _ in range(3):
            t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
        return min(times)
    ours = best(lambda: crmtool.run(store, "grade.rfm", settings, as_of="2024-12-31", save=False))
    floor = best(lambda: store.con.sql(sql).to_arrow_table())
print(json.dumps({"crmtool": ours, "floor": floor}))
"""


@dataclass
class Row:
    lines: int
    group: str
    label: str
    seconds: float | None
    cpu: float | None
    rss_mb: float | None
    note: str = ""
    baseline: bool = False
    ratio: float | None = None


def machine_facts() -> list[tuple[str, str]]:
    import duckdb

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        mem = f"{kb / 1024 ** 2:.1f} GiB"
    except (OSError, StopIteration):
        pass
    facts = [("date", dt.date.today().isoformat()), ("cpu", f"{cpu} × {os.cpu_count()} cores"), ("memory", mem),
             ("os", platform.platform()), ("python", platform.python_version()), ("duckdb", duckdb.__version__)]
    for mod in ("pandas", "pyarrow", "lifetimes"):
        try:
            facts.append((mod, __import__(mod).__version__))
        except ImportError:
            facts.append((mod, "not installed"))
    return facts


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.py = sys.executable
        self.rows: list[Row] = []
        self.has_lifetimes = subprocess.run([self.py, "-c", "import lifetimes"], capture_output=True).returncode == 0

    def wanted(self, group: str) -> bool:
        return not self.args.only or any(o in group for o in self.args.only)

    def step(self, lines: int, group: str, label: str, argv: list[str], *, baseline: bool = False,
             repeat: int = 1) -> Row:
        cap = int(self.args.cap_gb * 1024 ** 3) if baseline else 0
        best = None
        for _ in range(repeat):
            r = measure(argv, cap)
            if best is None or (r["rc"] == 0 and r["seconds"] < best["seconds"]):
                best = r
        if best["rc"] != 0:
            err = [x.strip("│ ") for x in best["err"].strip().splitlines() if x.strip("│╭╰─ ")]
            why = "out of memory under the cap" if "MemoryError" in best["err"] or best["rc"] < 0 else \
                (err[-1][:120] if err else f"exit {best['rc']}")
            row = Row(lines, group, label, None, None, best["rss_mb"], f"did not finish: {why}", baseline)
        else:
            row = Row(lines, group, label, best["seconds"], best["cpu"], best["rss_mb"], baseline=baseline)
        if baseline:
            crm = next((r for r in reversed(self.rows) if r.group == group and not r.baseline), None)
            if crm and crm.seconds and row.seconds:
                row.ratio = crm.seconds / row.seconds
        self.rows.append(row)
        self.print_row(row)
        return row

    @staticmethod
    def print_row(r: Row) -> None:
        label = ("  " + r.label) if r.baseline else r.label
        if r.seconds is None:
            print(f"{r.lines:>11,} {label:<46} {r.note}", flush=True)
            return
        ratio = f"{r.ratio:6.2f}x" if r.ratio is not None else ""
        cpu = f"{r.cpu:9.2f}" if r.cpu is not None else f"{'':9}"
        rss = f"{r.rss_mb:8.0f}" if r.rss_mb is not None else f"{'':8}"
        print(f"{r.lines:>11,} {label:<46} {r.seconds:9.2f} {cpu} {rss} {ratio:>8}", flush=True)

    # ---- one size

    def run_size(self, lines: int) -> None:
        a = self.args
        customers = max(100, lines // 100)
        work = a.work / str(lines)
        work.mkdir(parents=True, exist_ok=True)
        files = generate_monthly(a.data, lines, customers, {"csv", "gbk", "parquet"})
        archive = generate_archive(a.data, lines, customers)
        cfg = work / "crmtool.toml"
        cfg.write_text(f'[store]\nmemory_limit = "{a.memory_limit}"\nthreads = {a.threads}\n'
                       f'temp_directory = "{(work / "spill").as_posix()}"\n', encoding="utf-8")
        crm = [self.py, "-m", "crmtool", "--config", str(cfg), "--quiet"]
        store = work / "store.duckdb"
        out = work / "out"
        out.mkdir(exist_ok=True)

        def fresh(path: Path) -> Path:
            for p in (path, path.with_name(path.name + ".wal")):
                p.unlink(missing_ok=True)
            shutil.rmtree(path.with_name(path.name + ".tmp"), ignore_errors=True)
            return path

        need_store = not (a.reuse and store.exists())
        for kind in ("csv", "gbk", "parquet"):
            group = f"load orders, {kind}"
            if not self.wanted(group) and not (kind == "parquet" and need_store):
                continue
            db = fresh(work / f"load_{kind}.duckdb")
            self.step(lines, group, f"crmtool load orders ({kind}, 36 files)",
                      crm + ["--db", str(db), "load", "orders", *map(str, files[kind])])
            floor_db = fresh(work / "floor.duckdb")
            self.step(lines, group, f"DuckDB read into a table ({kind})",
                      [self.py, "-c", LOAD_FLOOR, kind, str(floor_db), a.memory_limit, str(a.threads),
                       *map(str, files[kind])], baseline=True)
            fresh(floor_db)
            if kind == "parquet" and need_store:
                fresh(store)
                db.rename(store)
            else:
                fresh(db)
            need_store = need_store and kind != "parquet"
        db_args = ["--db", str(store)]
        for table in ("customers", "managers", "plans"):
            if self.wanted("load archive") or not a.reuse:
                self.step(lines, f"load {table}", f"crmtool load {table}",
                          crm + db_args + ["load", table, str(archive[table])])
        export = work / "orders_export.parquet"
        if not export.exists():
            subprocess.run([self.py, "-c", textwrap.dedent("""
                import sys, duckdb
                con = duckdb.connect(sys.argv[1], read_only=True)
                con.execute("SET enable_progress_bar = false")
                out = sys.argv[2].replace("'", "''")
                con.execute("COPY (SELECT order_id, order_date, customer_code, quantity, amount FROM orders) "
                            f"TO '{out}' (FORMAT parquet)")"""), str(store), str(export)], check=True)
        scripts = {}
        for name, text in (("rfm_floor", RFM_FLOOR), ("rfm_pandas", RFM_PANDAS), ("warn_pandas", WARN_PANDAS),
                           ("status_pandas", STATUS_PANDAS), ("lifetimes", LIFETIMES)):
            scripts[name] = work / f"baseline_{name}.py"  # not lifetimes.py: it would shadow the package
            scripts[name].write_text(textwrap.dedent(text), encoding="utf-8")
        pq = str(export)

        def base(name: str, *args: str) -> list[str]:
            return [self.py, str(scripts[name]), *args]

        if self.wanted("grade rfm"):
            got = subprocess.run([self.py, "-c", RFM_IN_PROCESS, str(store), str(cfg), str(HERE)],
                                 capture_output=True, text=True)
            if got.returncode == 0:
                import json

                t = json.loads(got.stdout.strip().splitlines()[-1])
                group = "grade rfm, in one process"
                for label, sec, is_base in (("crmtool.run(store, 'grade.rfm'), warm, best of 3", t["crmtool"], False),
                                            ("the hand-written query, same connection", t["floor"], True)):
                    row = Row(lines, group, label, sec, None, None, baseline=is_base,
                              ratio=t["crmtool"] / t["floor"] if is_base else None)
                    self.rows.append(row)
                    self.print_row(row)
            else:
                print(f"rfm in one process failed: {got.stderr[-500:]}", file=sys.stderr)
        analyses = [
            ("grade rfm", ["grade", "rfm", "--as-of", AS_OF], [
                ("DuckDB hand-written RFM query", base("rfm_floor", str(store), str(out / "rfm_floor.parquet"))),
                ("pandas RFM", base("rfm_pandas", pq, str(out / "rfm_pandas.parquet")))]),
            ("grade pareto", ["grade", "pareto", "--as-of", AS_OF], []),
            ("grade level", ["grade", "level", "--as-of", AS_OF], []),
            ("grade scorecard", ["grade", "scorecard", "--quarter", "2024Q4"], []),
            ("classify quadrant", ["classify", "quadrant", "--as-of", AS_OF], []),
            ("churn status", ["churn", "status", "--month", MONTH], [
                ("pandas idle status", base("status_pandas", pq, str(out / "status_pandas.parquet")))]),
            ("churn warn", ["churn", "warn", "--month", MONTH], [
                ("pandas 70 % warning", base("warn_pandas", pq, str(out / "warn_pandas.parquet")))]),
            ("churn idle", ["churn", "idle", "--month", MONTH], []),
            ("churn winback", ["churn", "winback", "--month", MONTH], []),
            ("churn backtest", ["churn", "backtest", "--as-of", AS_OF], []),
            ("churn alive", ["churn", "alive", "--as-of", AS_OF], [
                ("lifetimes summary_data_from_transaction_data",
                 base("lifetimes", pq, str(out / "lifetimes.parquet")))] if self.has_lifetimes else []),
            ("managers scorecard", ["managers", "scorecard", "--quarter", "2024Q4"], []),
            ("sales overview", ["sales", "overview", "--as-of", AS_OF], []),
            ("sales pivot", ["sales", "pivot", "--as-of", AS_OF, "--by", "month,category"], []),
        ]
        for group, cmd, baselines in analyses:
            if not self.wanted(group):
                continue
            target = out / (group.replace(" ", "_") + ".parquet")
            self.step(lines, group, f"crmtool {group}", crm + db_args + cmd + ["-o", str(target)])
            for label, argv in baselines:
                self.step(lines, group, label, argv, baseline=True)
        for group, extra in (("run monthly, no reports", ["--no-reports"]),
                             ("run monthly, with reports", [])):
            if not self.wanted(group):
                continue
            inbox, done = fresh_dir(work / "inbox"), fresh_dir(work / "monthly_out")
            (inbox / "orders").mkdir()
            shutil.copy(files["csv"][-1], inbox / "orders" / files["csv"][-1].name)
            copy = fresh(work / "monthly.duckdb")
            shutil.copy(store, copy)
            self.step(lines, group, f"crmtool {group} (re-export of {MONTH})",
                      crm + ["--db", str(copy), "run", "monthly", "--inbox", str(inbox), "--out", str(done),
                             "--month", MONTH] + extra)
            fresh(copy)
        if self.wanted("--help"):
            self.step(lines, "--help", "crmtool --help (best of 5)", [self.py, "-m", "crmtool", "--help"], repeat=5)

    # ---- output

    def table(self) -> str:
        sizes = sorted({r.lines for r in self.rows})
        out = ["| lines | step | wall s | CPU s | peak RSS MB | crmtool / baseline |",
               "|---:|---|---:|---:|---:|---:|"]
        for r in self.rows:
            label = ("↳ " + r.label) if r.baseline else f"**{r.label}**"
            if r.seconds is None:
                rss = f"{r.rss_mb:,.0f}" if r.rss_mb is not None else "—"
                out.append(f"| {r.lines:,} | {label} | — | — | {rss} | {r.note} |")
                continue
            ratio = f"{r.ratio:.2f}×" if r.ratio is not None else ""
            cpu = f"{r.cpu:,.2f}" if r.cpu is not None else "—"
            rss = f"{r.rss_mb:,.0f}" if r.rss_mb is not None else "—"
            out.append(f"| {r.lines:,} | {label} | {r.seconds:,.2f} | {cpu} | {rss} | {ratio} |")
        if len(sizes) > 1:
            lo, hi = sizes[0], sizes[-1]
            out += ["", f"Growth from {lo:,} to {hi:,} lines ({hi // lo}× the lines); 1.00 = linear:", "",
                    "| step | time × | of linear |", "|---|---:|---:|"]
            for r in self.rows:
                if r.lines != hi or r.seconds is None:
                    continue
                a = next((x for x in self.rows if x.lines == lo and x.label == r.label and x.seconds), None)
                if a:
                    g = r.seconds / a.seconds
                    out.append(f"| {r.label} | {g:.1f} | {g / (hi / lo):.2f} |")
        return "\n".join(out)

    def write_results(self, path: Path) -> None:
        a = self.args
        facts = "\n".join(f"- {k}: {v}" for k, v in machine_facts())
        cmd = "python benchmarks/bench_scale.py " + " ".join(f"--lines {x:g}" for x in a.lines) + \
            f" --memory-limit {a.memory_limit} --threads {a.threads} --cap-gb {a.cap_gb:g}"
        text = (f"# crmtool at scale: benchmark results\n\nWritten by `benchmarks/bench_scale.py` (its docstring says "
                f"what each step is). Reproduce with:\n\n    {cmd}\n\n## Machine\n\n{facts}\n"
                f"- crmtool store settings: memory_limit {a.memory_limit}, threads {a.threads}, spill to a temp "
                f"folder beside the store\n\n## Results\n\nWhole processes, one step at a time; peak RSS includes child processes. "
                f"Baselines (↳) run under a {a.cap_gb:g} GB address-space cap; the ratio is the crmtool step above "
                f"them over the baseline (under 1: crmtool is faster).\n\n{self.table()}\n")
        if a.notes and a.notes.exists():
            text += "\n" + a.notes.read_text(encoding="utf-8")
        path.write_text(text, encoding="utf-8")


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=float, action="append", help="order lines (repeatable; default 1e7)")
    ap.add_argument("--data", type=Path, default=Path("bench-data"), help="generated exports (kept and reused)")
    ap.add_argument("--work", type=Path, default=Path("bench-work"), help="stores and outputs")
    ap.add_argument("--memory-limit", default="3GB", help="crmtool's and the floor's DuckDB memory_limit")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cap-gb", type=float, default=16, help="address-space cap of the pandas/lifetimes baselines")
    ap.add_argument("--only", action="append", default=[], help="run only groups containing this text")
    ap.add_argument("--reuse", action="store_true", help="keep the store a previous run loaded")
    ap.add_argument("--results", type=Path, default=None, help="write the table and machine facts here (Markdown)")
    ap.add_argument("--notes", type=Path, default=None, help="Markdown appended to --results")
    ap.add_argument("--merge", type=Path, action="append", default=[],
                    help="rows.json of an earlier run: its sizes this run does not measure join the table")
    args = ap.parse_args()
    args.lines = [int(x) for x in (args.lines or [1e7])]
    bench = Bench(args)
    print(f"{'lines':>11} {'step':<46} {'wall s':>9} {'cpu s':>9} {'peak MB':>8} {'ratio':>8}")
    for n in args.lines:
        bench.run_size(n)
    import json

    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "rows.json").write_text(json.dumps([r.__dict__ for r in bench.rows], indent=1), encoding="utf-8")
    for path in args.merge:
        earlier = [Row(**r) for r in json.loads(path.read_text(encoding="utf-8")) if r["lines"] not in args.lines]
        bench.rows = sorted(bench.rows + earlier, key=lambda r: r.lines)  # stable: each size keeps its order
        args.lines = sorted(set(args.lines) | {r.lines for r in earlier})
    print()
    print(bench.table())
    if args.results:
        bench.write_results(args.results)
        print(f"\nwritten to {args.results}")


if __name__ == "__main__":
    main()
