"""`crmtool demo`: sample data → load → every analysis → every output, in one folder."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Callable, Iterator

from crmtool.config import Settings
from crmtool.errors import AnalysisError


def run_demo(out: Path, *, settings: Settings | None = None, seed: int = 7,
             log: Callable[[str], None] | None = None, reports: bool = True) -> Iterator[tuple[str, Path]]:
    """Yield (label, path) for every file written. The store is rebuilt from scratch each run.
    ``reports=False`` leaves the reports out (result tables only)."""
    from crmtool.io.load import load_files
    from crmtool.reports.output import write_table, write_workbook
    from crmtool.sample import write_sample
    from crmtool.status import store_status
    from crmtool.store import open_store

    settings = settings or Settings()
    say = log or (lambda m: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    say(f"writing sample exports (seed {seed}) …")
    files = write_sample(out / "sample", seed=seed)
    yield "sample exports", out / "sample"
    db = out / "crm.duckdb"
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(db.with_name(db.name + ".tmp"), ignore_errors=True)
    with open_store(db, settings) as store:
        for table, path in files.items():
            r = load_files(store, table, [path])
            say(f"loaded {r.summary()} ({r.seconds:.1f} s)")
        yield "store", db
        info = store_status(store)
        status_path = out / "status.json"
        status_path.write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
        yield "store status", status_path
        from crmtool.runner import Runner, registry

        runner = Runner(store, settings)
        results: dict[str, object] = {}
        by_name: dict[str, object] = {}
        skipped: dict[str, str] = {}
        for name in registry():
            say(f"{name} …")
            try:
                result = runner.run(name)
            except AnalysisError as exc:  # e.g. no campaigns in the sample: say so, go on
                say(f"{name}: skipped ({exc})")
                skipped[name] = str(exc)
                continue
            by_name[name] = result
            for key, table in result.tables.items():
                results[f"{name.replace('.', '_')}" + ("" if key == result.analysis else f"_{key}")] = table
        if reports:
            yield from _reports(store, settings, by_name, skipped, out / "reports", say)
    results_dir = out / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    for name, table in results.items():
        path = write_table(table, results_dir / f"{name}.csv")
        yield name, path
    book = write_workbook(results, out / "crmtool-demo.xlsx")
    yield "workbook (all results)", book
    say(f"demo finished in {time.monotonic() - t0:.1f} s")


def _reports(store, settings: Settings, by_name: dict, skipped: dict[str, str], folder: Path,
             say: Callable[[str], None]) -> Iterator[tuple[str, Path]]:
    """Every report (SPEC §5) in xlsx and html, English and Chinese, from the results just computed
    (the pivot of the trend chart by month and category), and the page of the largest customer."""
    from crmtool import reports
    from crmtool.runner import Runner

    folder.mkdir(parents=True, exist_ok=True)
    runner = Runner(store, settings)
    by_name = dict(by_name)
    by_name["sales.pivot"] = runner.run("sales.pivot", **reports.DEFAULT_OPTIONS["sales.pivot"])
    for kind, names in reports.REPORT_KINDS.items():
        if kind == "customer":
            continue
        chosen = reports.Collected({n: by_name[n] for n in names if n in by_name})
        chosen.skipped = {n: skipped[n] for n in names if n in skipped}
        meta = reports.meta_for(store, chosen, settings=settings)
        for lang in reports.LANGS:
            for fmt in reports.FORMATS:
                t0 = time.monotonic()
                path = reports.render(kind, chosen, fmt=fmt, lang=lang, path=folder / f"{kind}.{lang}.{fmt}", meta=meta)
                say(f"report {kind} {lang} {fmt}: {path.stat().st_size:,} bytes in {time.monotonic() - t0:.1f} s")
                yield f"report {kind} ({lang}, {fmt})", path
    top = store.con.execute("SELECT customer_id FROM orders_resolved GROUP BY 1 ORDER BY sum(quantity) DESC, 1 "
                            "LIMIT 1").fetchall()
    if top:
        for lang in reports.LANGS:
            for fmt in reports.FORMATS:
                path = reports.customer_page(store, top[0][0], fmt=fmt, lang=lang, settings=settings,
                                             path=folder / f"customer-{top[0][0]}.{lang}.{fmt}")
                yield f"report customer ({lang}, {fmt})", path
