"""The monthly job (SPEC §5.1): what cron calls as ``crmtool run monthly --inbox DIR --out DIR``.

In order, with the store open (one writer; a busy store is waited for, then StoreBusy, exit 3):

1. **scan**: every file under the inbox (recursively, ``inbox/done/`` excluded) whose sha256 is not in
   ``batches`` is matched to a table: a sub-folder named after a table (``inbox/orders/x.csv``, or its
   Chinese name) wins, else the file name against ``[run.patterns]``. A file that matches no table, or
   the patterns of two, fails the run naming it. Files already loaded (their sha256 is in ``batches``)
   are not loaded again.
2. **one transaction** holds everything the run writes: every load (:func:`load_files` with
   ``in_transaction``), then every analysis and its snapshot. A file whose rejects exceed
   ``run.max_reject_share`` of its rows, an unreadable file or a failing analysis raises, the
   transaction rolls back, and the store is exactly as before the run.
3. **month** M = ``month``, else the SPEC §3 default from the store after loading.
4. **analyses** for M through the :class:`~crmtool.runner.Runner` (see :func:`plan`).
5. **reports** for each of ``run.formats`` × ``run.languages`` and every result table as CSV are
   written to a staging folder while the transaction is open; after COMMIT they replace the files in
   ``OUT/YYYY-MM/``. ``run.json`` records inputs, analyses, outputs, timestamps, version and exit
   status, and is written also when the run fails, then only as ``OUT/run.json`` unless the run had
   published its outputs: ``OUT/YYYY-MM/`` keeps the record of the run whose reports it holds (a
   refused run writes no month folder).
   ``OUT/run.json`` is always the latest run's record, so a check of its exit status never reads a
   failure that a later run has mended.
6. **done**: after the commit the processed files move to ``inbox/done/YYYY-MM/`` (``run.move_done``).

A second run for the same month with no new file loads nothing and writes the same result tables
(the snapshots of (analysis, period) are replaced, not added to).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Callable

from crmtool.errors import AnalysisError, CrmtoolError, InputError, UsageError
from crmtool.io.schema import TABLE_ALIASES, TABLES

if TYPE_CHECKING:  # pragma: no cover
    from crmtool.config import Settings
    from crmtool.result import Result
    from crmtool.runner import Runner
    from crmtool.store import Store

# tables load in this order (the archive before the orders that name its customers)
LOAD_ORDER = ("managers", "customers", "code_map", "orders", "plans", "contracts", "campaigns", "freight",
              "leads", "visits")
DONE = "done"
# never data: hidden files, Office lock files (~$订单.xlsx while the file is open), downloads in progress
IGNORED_PREFIXES = (".", "~$")
IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial")
IGNORED_NAMES = ("thumbs.db", "desktop.ini", "ehthumbs.db")  # what Windows writes into a shared folder

Log = Callable[[str], None]


# ---------------------------------------------------------------------------------------------
# the inbox


@dataclass
class InboxFile:
    """One file found in the inbox and what the run did with it."""

    path: Path  # where it was found
    file: str  # path relative to the inbox, with / separators
    sha256: str
    table: str | None = None
    matched_by: str = ""  # "folder orders/" or "pattern *订单*"
    status: str = "new"  # new → loaded; or already loaded / duplicate (of a file earlier in this run)
    batch_id: int | None = None
    rows: int | None = None
    accepted: int | None = None
    rejected: int | None = None
    replaced: int | None = None
    moved_to: str | None = None

    def record(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def match_table(rel: PurePosixPath, patterns: dict[str, list[str]]) -> tuple[str | None, str]:
    """(table, how) for a file at ``rel`` inside the inbox: the nearest parent folder named after a
    table (``orders``, ``订单``, ``ERP订单`` …), else the one table whose ``[run.patterns]`` match the
    file name (case-insensitively). (None, why) when no table or several match."""
    for folder in reversed(rel.parts[:-1]):
        table = TABLE_ALIASES.get(folder, folder).lower()
        if table in TABLES:
            return table, f"folder {folder}/"
    name = rel.name.lower()
    hits: dict[str, str] = {}
    for table, pats in patterns.items():
        for pat in pats:
            if fnmatch.fnmatchcase(name, pat.lower()):
                hits.setdefault(table, pat)
    if len(hits) == 1:
        table, pat = next(iter(hits.items()))
        return table, f"pattern {pat}"
    if hits:
        return None, "matches the patterns of " + " and ".join(f"{t} ({p})" for t, p in hits.items())
    return None, "matches no table"


def scan_inbox(inbox: Path, patterns: dict[str, list[str]], loaded: dict[str, int],
               log: Log) -> list[InboxFile]:
    """Every file under ``inbox`` except ``inbox/done/``, sorted by path (the loader takes the files of
    one table oldest first, see _load). ``loaded``: sha256 → batch id of the batches
    already in the store. Raises InputError naming every file that matches no table (or several)."""
    found: list[InboxFile] = []
    seen: dict[str, str] = {}
    unmatched: list[str] = []
    for path in sorted(p for p in inbox.rglob("*") if p.is_file()):
        rel = PurePosixPath(path.relative_to(inbox).as_posix())
        if rel.parts[0] == DONE:
            continue
        if (rel.name.startswith(IGNORED_PREFIXES) or rel.name.lower().endswith(IGNORED_SUFFIXES)
                or rel.name.lower() in IGNORED_NAMES):
            log(f"ignored {rel} (a hidden, lock, partial or Windows folder file)")
            continue
        f = InboxFile(path, str(rel), sha256_of(path))
        if f.sha256 in loaded:
            f.status, f.batch_id = "already loaded", loaded[f.sha256]
        elif f.sha256 in seen:
            f.status = f"duplicate of {seen[f.sha256]}"
        else:
            seen[f.sha256] = f.file
            f.table, f.matched_by = match_table(rel, patterns)
            if f.table is None:
                unmatched.append(f"{f.file} ({f.matched_by})")
        found.append(f)
    if unmatched:
        raise InputError(f"{inbox}: {len(unmatched)} file(s) fit no single table: {'; '.join(unmatched)}. "
                         "Rename them, put them in a sub-folder named after their table (e.g. orders/), "
                         "or add a pattern under [run.patterns]")
    return found


# ---------------------------------------------------------------------------------------------
# the analyses of a month


@dataclass(frozen=True)
class Step:
    """One analysis run of the job. ``report``: the report file(s) its result goes into;
    ``required``: a failure fails the run (else the analysis is listed as skipped, with the reason)."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    report: tuple[str, ...] = ("monthly",)
    required: bool = True
    unless: str | None = None  # SQL: when it returns a row, the step is skipped (nothing to work on)
    params: tuple[Any, ...] = ()  # bound to ``unless``
    why_key: str = ""  # the reason given for that skip: a report text (crmtool.labels) and its values
    why_args: tuple[tuple[str, Any], ...] = ()

    def why(self, lang: str = "en") -> str:
        from crmtool.labels import report_text

        return report_text(self.why_key, lang, **dict(self.why_args)) if self.why_key else ""


def _quarter(month: dt.date) -> str | None:
    return f"{month.year}Q{(month.month - 1) // 3 + 1}" if month.month % 3 == 0 else None


def plan(con, month: dt.date) -> list[Step]:
    """Every analysis SPEC §5.1 lists for month M, with the options that point each at M:
    grading at M's end (RFM, ABC, level, balanced scorecard), the quadrant, churn status / warn / idle /
    win-back, the managers scorecard for M (and for the quarter at quarter ends, the year in December),
    the sales overview at M's end, attainment and freight for M, each campaign overlapping M. The
    purchase probability (churn.alive) and the sales pivot feed the reports too; they are not in the
    SPEC's list, so a failure there skips them instead of failing the run.

    Tables the SPEC makes optional (freight, campaigns, managers, expected volumes) skip their analysis
    when they hold nothing for M, with the reason in run.json."""
    from crmtool.facts import month_end
    from crmtool.reports import DEFAULT_OPTIONS  # the options the reports ask for (the pivot's trend by category)

    label = f"{month:%Y-%m}"
    first, last = month, month_end(month)
    steps = [
        Step("grade.rfm"), Step("grade.pareto"), Step("grade.level"), Step("grade.scorecard"),
        Step("classify.quadrant"),
        Step("churn.status"), Step("churn.warn"), Step("churn.idle"),
        # SPEC §4.8: idle counts per manager (in the report) and per region and level (their tables)
        Step("churn.idle", {"by": "region"}, ()), Step("churn.idle", {"by": "level"}, ()),
        Step("churn.winback"),
        Step("churn.alive", required=False),
    ]
    no_managers = ("SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM managers) "
                   "AND NOT EXISTS (SELECT 1 FROM customers WHERE manager_id IS NOT NULL)")
    why_managers = "skip.no_managers"
    steps.append(Step("managers.scorecard", {"monthly": True}, ("monthly", f"managers_{label}"),
                      unless=no_managers, why_key=why_managers))
    if _quarter(month):
        steps.append(Step("managers.scorecard", {"quarter": _quarter(month)}, (f"managers_{_quarter(month)}",),
                          unless=no_managers, why_key=why_managers))
    if month.month == 12:
        steps.append(Step("managers.scorecard", {"year": str(month.year)}, (f"managers_{month.year}",),
                          unless=no_managers, why_key=why_managers))
    steps += [
        Step("sales.overview"),
        Step("sales.pivot", dict(DEFAULT_OPTIONS.get("sales.pivot", {})), required=False),
        Step("sales.attainment", unless="SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM customers WHERE expected_volume > 0)",
             why_key="skip.no_expected"),
        Step("sales.freight", {"first": label, "last": label},
             unless="SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM freight WHERE bill_date BETWEEN ? AND ?)",
             params=(first, last), why_key="skip.no_freight", why_args=(("month", label),)),
    ]
    overlapping = con.execute(
        "SELECT campaign_id, end_date FROM campaigns WHERE start_date <= ? AND end_date >= ? ORDER BY campaign_id",
        [last, first]).fetchall()
    # a campaign still running at M's end is judged in the month it ends (SPEC §3: not past the data)
    steps += [Step("sales.campaign", {"campaign_id": cid},
                   unless="SELECT 1 FROM campaigns WHERE campaign_id = ? AND end_date > ?", params=(cid, last),
                   why_key="skip.campaign_running", why_args=(("campaign", cid), ("end", str(end))))
              for cid, end in overlapping]
    return steps


def _merge_campaigns(con, results: list["Result"]) -> "Result":
    """The campaigns of the month as one result for the report: their rows one after the other; the
    sensitivity over them is each customer's mean over the campaigns (SPEC §4.10), as one run over
    all of them would give."""
    import pyarrow as pa

    if len(results) == 1:
        return results[0]
    first = results[0]
    extras = {k: pa.concat_tables([r.extras[k] for r in results]) for k in first.extras if k != "sensitivity"}
    if "sensitivity" in first.extras:
        con.register("monthly_sensitivity", pa.concat_tables([r.extras["sensitivity"] for r in results]))
        try:
            extras["sensitivity"] = con.sql(
                "SELECT customer_id, CAST(sum(campaigns) AS BIGINT) AS campaigns, "
                "sum(sensitivity * campaigns) / nullif(sum(campaigns), 0) AS sensitivity "
                "FROM monthly_sensitivity GROUP BY customer_id ORDER BY customer_id").to_arrow_table()
        finally:
            con.unregister("monthly_sensitivity")
    from crmtool.result import Result

    ids = [str(r.options.get("campaign_id")) for r in results]
    return Result(first.analysis, pa.concat_tables([r.table for r in results]), ",".join(ids), first.as_of,
                  {"campaigns": ids}, extras, [line for r in results for line in r.lines], first.name,
                  {"campaign_id": ids})


# ---------------------------------------------------------------------------------------------
# the run


@dataclass
class RunRecord:
    """What run.json holds."""

    version: str
    started: str
    inbox: str
    out: str
    db: str
    finished: str | None = None
    seconds: float | None = None
    month: str | None = None
    as_of: str | None = None
    exit_status: int | None = None
    error: str | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    analyses: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    run_json: str | None = None


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _json_default(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def run_monthly(inbox: str | os.PathLike[str], out: str | os.PathLike[str], *, db: str | os.PathLike[str],
                settings: "Settings", month: str | None = None, formats: list[str] | None = None,
                languages: list[str] | None = None, wait: float | None = None, allow_future: bool = False,
                reports: bool = True, log: Log | None = None, strict: bool = False) -> RunRecord:
    """Run the monthly job; returns the record also written to run.json. A failure raises the
    CrmtoolError (StoreBusy: exit 3; anything else: exit 1) after run.json records it. Without
    ``reports`` it loads, runs and stores every analysis and writes the result tables, but no report.
    ``strict``: any reject fails the run (run.max_reject_share taken as 0), as ``load --strict`` does."""
    import crmtool

    say = log or (lambda message: None)
    t0 = time.monotonic()
    inbox_p, out_p = Path(inbox).resolve(), Path(out).resolve()
    rec = RunRecord(crmtool.__version__, _now(), str(inbox_p), str(out_p), str(Path(db).resolve()))
    formats = list(formats or settings.run.formats)
    languages = list(languages or settings.run.languages)
    staging: Path | None = None
    committed = False
    out_usable = False  # run.json goes into --out only once --out is known to be a folder outside the inbox
    failure: Exception | None = None
    # an --out folder that exists (outside the inbox) gets the record even when the other arguments are
    # wrong: an unmounted inbox share must show as a failure in OUT/run.json, not the last good run
    out_usable = out_p.is_dir() and out_p != inbox_p and inbox_p not in out_p.parents
    try:
        _check_args(inbox_p, formats, languages, out_p)
        out_usable = True
        if not reports:
            formats, languages = [], languages[:1]
        if month:
            from crmtool.facts import parse_month

            rec.month = f"{parse_month(month):%Y-%m}"
        from crmtool.store import open_store

        # an existing store only (`crmtool init` once): a mistyped --db in a crontab would start a new
        # empty store, load the month into it, call every customer new and file the exports away
        with open_store(db, settings, wait=wait, create=False) as store:
            staging = _fresh_staging(out_p)
            with store.transaction():
                before = store.con.execute("SELECT coalesce(max(batch_id), 0) FROM batches").fetchall()[0][0]
                changed: list[dt.date] = []
                files = _load(store, inbox_p, settings, rec, say, strict, changed)
                m = _month(store, month)
                rec.month = f"{m:%Y-%m}"
                from crmtool.io.load import stale_note, stale_results

                # a correction of an earlier month: its stored results (and reports) predate it
                if stale := stale_results(store.con, changed, redone=m):
                    say(f"note: {stale_note(changed, stale)}")
                from crmtool.facts import add_months, month_end

                last = store.con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]
                if month is None and last is not None and last < month_end(add_months(m, 1)) and last > month_end(m):
                    # SPEC §3: a partial month is never judged; the log says why the month is not the last one
                    say(f"month {rec.month} (orders end {last}: {last:%Y-%m} is not complete)")
                else:
                    say(f"month {rec.month}")
                staged = _analyse_and_render(store, settings, m, formats, languages, staging, rec, say,
                                             allow_future=allow_future)
                if _before_commit is not None:
                    _before_commit()
            committed = True
            say("committed")
            rec.outputs = _publish(staging, out_p / rec.month, staged)
            if settings.run.move_done:
                _move_done(inbox_p, files, rec.month, say)
                _record_moves(store, files, int(before), say)
            rec.inputs = [f.record() for f in files]
        rec.exit_status = 0
        return rec
    except CrmtoolError as exc:
        rec.exit_status, rec.error = exc.exit_code, str(exc)
        failure = exc
        raise
    except BaseException as exc:  # a bug or an interrupt: still leave a record of it, then let it through
        rec.exit_status, rec.error = 1, f"{type(exc).__name__}: {exc}"
        if isinstance(exc, Exception):
            failure = exc
        raise
    finally:
        if not committed:  # nothing this run loaded is in the store
            for f in rec.inputs:
                if f["status"] == "loaded":
                    f["status"] = "rolled back"
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        rec.finished, rec.seconds = _now(), round(time.monotonic() - t0, 2)
        if out_usable:
            _write_record(rec, out_p)
        if failure is not None:  # where the record of the failed run is, for the caller to print
            try:
                failure.run_json = rec.run_json
            except AttributeError:  # an exception type that takes no attributes
                pass


# test seam: called inside the run's transaction after the reports are written, just before COMMIT
_before_commit: Callable[[], None] | None = None


def _check_args(inbox: Path, formats: list[str], languages: list[str], out: Path | None = None) -> None:
    if not inbox.is_dir():
        raise UsageError(f"--inbox {inbox}: no such folder")
    if out is not None:
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out}: is a file, not a folder; give the folder the reports go into")
        o, i = out.resolve(), inbox.resolve()
        if o == i or i in o.parents:  # the next run would take this run's reports for exports
            raise UsageError(f"--out {out} is inside --inbox {inbox}: the next run would load the reports as "
                             "exports; put the reports in a folder outside the inbox")
    for what, values, allowed in (("--formats", formats, ("xlsx", "html")), ("--lang", languages, ("zh", "en"))):
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise UsageError(f"{what} {','.join(values)}: use {' and/or '.join(allowed)}, comma-separated")


def _fresh_staging(out: Path) -> Path:
    """A staging folder for this run's outputs; staging folders left by a killed run are removed
    (the caller holds the store, so no other run of it is writing)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = out / f".partial-{os.getpid()}"
    staging.mkdir()
    return staging


def _load(store: "Store", inbox: Path, settings: "Settings", rec: RunRecord, say: Log,
          strict: bool = False, changed: list[dt.date] | None = None) -> list[InboxFile]:
    """Load the inbox's new files; ``changed`` gathers the months whose orders the loads changed."""
    from crmtool.io.load import load_files, shown_value

    loaded = {sha: int(bid) for sha, bid in store.con.execute(
        "SELECT sha256, max(batch_id) FROM batches GROUP BY sha256").fetchall()}
    files = scan_inbox(inbox, settings.run.patterns, loaded, say)
    rec.inputs = [f.record() for f in files]
    for f in files:
        if f.status != "new":
            say(f"{f.file}: {f.status}, not loaded again")
    new = [f for f in files if f.status == "new"]
    if not new:
        say("no new file in the inbox")
    limit = 0.0 if strict else settings.run.max_reject_share
    for table in LOAD_ORDER:
        # several exports of one table: the one written last wins a key (a correction of the month
        # saved as 销售明细2024-10-更新.csv sorts before the original by name); ties by name
        mine = sorted((f for f in new if f.table == table), key=lambda f: (f.path.stat().st_mtime_ns, f.file))
        if not mine:
            continue
        if len(mine) > 1:
            say(f"{table}: {len(mine)} files, loaded oldest first (a later export replaces the lines it repeats): "
                + ", ".join(f.file for f in mine))
        result = load_files(store, table, [f.path for f in mine], in_transaction=True)
        if changed is not None:
            changed += result.changed_months
        for note in result.notes:  # hidden sheets left, a key repeated within a file
            say(f"note: {note}")
        for f in mine:
            # (a workbook with one sheet a month gives a result per sheet: the file's are their sums)
            parts = [r for r in result.files if r.source == str(f.path)]
            r = parts[-1]
            if len(parts) > 1:
                say(f"{f.file}: {len(parts)} sheets fit {table}: {', '.join(str(x.sheet) for x in parts)}")
                samples = [s for x in parts for s in x.sample_rejects]
                r = dataclasses.replace(r, rows_read=sum(x.rows_read for x in parts),
                                        accepted=sum(x.accepted for x in parts),
                                        rejected=sum(x.rejected for x in parts),
                                        replaced=sum(x.replaced for x in parts), sample_rejects=samples)
            f.status, f.batch_id, f.rows = "loaded", r.batch_id, r.rows_read
            f.accepted, f.rejected, f.replaced = r.accepted, r.rejected, r.replaced
            rec.inputs = [x.record() for x in files]
            share = r.rejected / r.rows_read if r.rows_read else 0.0
            say(f"{f.file} → {table}: {r.accepted:,} accepted, {r.rejected:,} rejected ({share:.2%}), "
                f"{r.replaced:,} replaced")
            if share > limit:
                first = "; ".join(f"line {line}, column {col}: {shown_value(v)}: {why}"
                                  for line, col, v, why in r.sample_rejects[:3])
                bar = "--strict allows none" if strict else f"more than run.max_reject_share ({limit:.2%})"
                raise InputError(f"{f.file}: {r.rejected:,} of {r.rows_read:,} rows rejected ({share:.2%}), {bar}; "
                                 f"first: {first}. Nothing from this run was loaded: fix the file and run again")
    return files


def _month(store: "Store", month: str | None) -> dt.date:
    from crmtool.facts import parse_month, resolve_period

    if month:
        return parse_month(month)
    return resolve_period(store.con).month


def _analyse_and_render(store: "Store", settings: "Settings", month: dt.date, formats: list[str],
                        languages: list[str], staging: Path, rec: RunRecord, say: Log, *,
                        allow_future: bool = False) -> list[Path]:
    """Run the plan once per language (the first language's results are stored as snapshots; labels
    inside the tables follow the language), write the primary results as CSV tables and every report
    into ``staging``; returns the files written (relative to ``staging``)."""
    from crmtool.facts import month_end
    from crmtool.runner import Runner

    as_of = month_end(month)
    rec.as_of = as_of.isoformat()
    steps = plan(store.con, month)
    written: list[Path] = []
    for i, lang in enumerate(languages):
        primary = i == 0
        runner = Runner(store, settings, lang=lang, save=primary, allow_future=allow_future, in_transaction=True)
        done = _run_steps(runner, steps, as_of, month, rec if primary else None, say)
        # the results are in memory now: DuckDB's cache of the orders can give its memory back while
        # the tables and reports are written (at 10^8 lines this keeps the run under 4 GB)
        with store.lean():
            if primary:
                written += _write_tables(done, staging / "tables")
            t0 = time.monotonic()
            reports = _write_reports(store, done, month, formats, lang, staging, rec.skipped)
        say(f"wrote {len(reports)} report(s) in {lang} ({time.monotonic() - t0:.1f} s)")
        written += reports
    return written


def _run_steps(runner: "Runner", steps: list[Step], as_of: dt.date, month: dt.date, rec: RunRecord | None,
               say: Log) -> list[tuple[Step, "Result"]]:
    done: list[tuple[Step, Result]] = []
    for step in steps:
        if step.unless and runner.con.execute(step.unless, list(step.params)).fetchall():
            if rec is not None:
                rec.skipped.append({"name": step.name, "options": step.options, "reason": step.why(),
                                    "reason_zh": step.why("zh")})
                say(f"{step.name}: skipped ({step.why()})")
            continue
        try:
            result = runner.run(step.name, as_of=as_of, month=month, **step.options)
        except AnalysisError as exc:
            if step.required:
                raise AnalysisError(f"{step.name}: {exc}") from exc
            if rec is not None:
                rec.skipped.append({"name": step.name, "options": step.options, "reason": str(exc),
                                    "reason_zh": exc.zh or str(exc)})
                say(f"{step.name}: skipped ({exc})")
            continue
        done.append((step, result))
        if rec is not None:
            rec.analyses.append({"name": step.name, "analysis": result.analysis, "period": result.period,
                                 "rows": result.table.num_rows, "seconds": round(result.seconds, 3),
                                 "options": step.options,
                                 "tables": {k: t.num_rows for k, t in result.extras.items()}})
            say(f"{step.name} {result.period}: {result.table.num_rows:,} rows ({result.seconds:.1f} s)")
    return done


def _table_stem(step: Step, result: "Result", keys: list[str]) -> str:
    """File stem of a result's tables: the analysis key, and its period when the job runs the
    analysis more than once under one key (managers for M / the quarter / the year, one campaign
    each; idle months by manager, region and level have keys of their own). ``keys``: every result's."""
    repeated = keys.count(result.analysis) > 1 or step.name == "sales.campaign"
    return f"{result.analysis}_{result.period}" if repeated else result.analysis


def _write_tables(done: list[tuple[Step, "Result"]], folder: Path) -> list[Path]:
    """Every result table as CSV (UTF-8 with BOM, formula-safe): what scripts read and what a second
    run for the month must write again unchanged."""
    from crmtool.reports.output import write_table

    folder.mkdir(parents=True, exist_ok=True)
    keys = [r.analysis for _, r in done]
    written = []
    for step, result in done:
        stem = _table_stem(step, result, keys)
        for key, table in result.tables.items():
            name = stem if key == result.analysis else f"{stem}_{key}"
            written.append(write_table(table, folder / f"{name}.csv").relative_to(folder.parent))
    return written


def _report_sets(con, done: list[tuple[Step, "Result"]]) -> dict[str, dict[str, "Result"]]:
    """report file stem -> {registered analysis name: result}, in plan order."""
    sets: dict[str, dict[str, Result]] = {}
    campaigns: dict[str, list[Result]] = {}
    for step, result in done:
        for report in step.report:
            if step.name == "sales.campaign":
                campaigns.setdefault(report, []).append(result)
            else:
                sets.setdefault(report, {})[step.name] = result
    for report, results in campaigns.items():
        sets.setdefault(report, {})["sales.campaign"] = _merge_campaigns(con, results)
    return sets


def skip_reasons(skipped: list[dict[str, Any]], lang: str) -> dict[str, str]:
    """{analysis name: its reasons in ``lang``} for the reports: the reasons of an analysis the job
    skipped more than once (two campaigns still running) joined, each naming what it is about."""
    out: dict[str, list[str]] = {}
    for s in skipped:
        reason = s.get(f"reason_{lang}", s["reason"])
        if reason not in out.setdefault(s["name"], []):
            out[s["name"]].append(reason)
    return {name: "; ".join(reasons) for name, reasons in out.items()}


def _write_reports(store: "Store", done: list[tuple[Step, "Result"]], month: dt.date, formats: list[str],
                   lang: str, staging: Path, skipped: list[dict[str, Any]]) -> list[Path]:
    """Every report of the month in ``lang`` and each of ``formats`` (crmtool.reports renders them)."""
    from crmtool import reports
    from crmtool.facts import month_end

    written = []
    for stem, results in _report_sets(store.con, done).items():
        kind = "monthly" if stem == "monthly" else "managers"
        name = f"monthly_{month:%Y-%m}" if stem == "monthly" else stem
        meta = reports.meta_for(store, results, month=f"{month:%Y-%m}", as_of=month_end(month),
                                skipped=skip_reasons(skipped, lang) or None)
        files: list[Path] = []  # the reports, and the whole tables written once beside them at scale
        for fmt in formats:
            reports.render(kind, results, fmt=fmt, lang=lang, path=staging / f"{name}.{lang}.{fmt}", meta=meta,
                           written=files)
        written += [Path(f).relative_to(staging) for f in files]
    return written


def _publish(staging: Path, target: Path, staged: list[Path]) -> list[dict[str, Any]]:
    """Move the staged outputs into ``target`` (each file replaced as one rename). ``tables/`` belongs
    to the job: it is replaced whole, so no table of an earlier run for the month is left over."""
    if (staging / "tables").is_dir():
        shutil.rmtree(target / "tables", ignore_errors=True)
    outputs = []
    for rel in staged:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, dest)
        outputs.append({"path": str(dest), "bytes": dest.stat().st_size})
    return outputs


def _record_moves(store: "Store", files: list[InboxFile], before: int, say: Log) -> None:
    """Where the files this run loaded are now: their batches and rejects name the file in done/.
    Best effort after the commit: the run has succeeded by then, so a failure here (or a kill just
    before it) leaves the inbox path recorded and says so, nothing more."""
    import duckdb

    from crmtool.io.load import stored_path

    try:
        with store.transaction() as con:
            for f in files:
                if f.status != "loaded" or not f.moved_to:
                    continue
                old, new = stored_path(f.path), stored_path(Path(f.moved_to))
                for table in ("batches", "rejects"):  # (our own table names)
                    # (a workbook's sheets are recorded as path#sheet: the suffix stays)
                    con.execute(f"UPDATE {table} SET file = ? || substr(file, length(?) + 1) "
                                "WHERE batch_id > ? AND (file = ? OR starts_with(file, ? || '#'))",
                                [new, old, before, old, old])
    except duckdb.Error as exc:
        say(f"warning: the store still names the loaded files by their inbox paths ({str(exc).splitlines()[0]})")


def _move_done(inbox: Path, files: list[InboxFile], month: str, say: Log) -> None:
    """Move every processed file (loaded now, loaded before, or a duplicate) to inbox/done/YYYY-MM/,
    keeping its sub-folder; a name already taken there gets .2, .3 … before its extension."""
    for f in files:
        dest = inbox / DONE / month / f.file
        dest.parent.mkdir(parents=True, exist_ok=True)
        n = 2
        while dest.exists():
            dest = dest.with_name(f"{Path(f.file).stem}.{n}{Path(f.file).suffix}")
            n += 1
        shutil.move(str(f.path), str(dest))
        f.moved_to = str(dest)
    if files:
        say(f"moved {len(files)} file(s) to {inbox / DONE / month}")


def _write_record(rec: RunRecord, out: Path) -> None:
    # a failed run's record only in OUT: the month's folder keeps the record of the reports it holds —
    # unless this run published them already (it failed after, moving the processed files, say)
    folder = out / rec.month if rec.month and (rec.exit_status == 0 or rec.outputs) else out
    try:
        folder.mkdir(parents=True, exist_ok=True)
        rec.run_json = str(folder / "run.json")
        text = json.dumps(asdict(rec), ensure_ascii=False, indent=1, default=_json_default) + "\n"
        for where in dict.fromkeys((folder, out)):  # the month's record, and the latest run's in OUT
            tmp = where / f".run.json.{os.getpid()}"
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, where / "run.json")
        # and every run's in OUT/runs: a second run of a month that loads nothing replaces the month's
        # record, and the one of the run that loaded its files must not be lost with it
        history = out / "runs"
        stamp = re.sub(r"[^0-9T]", "", rec.started.split("+")[0])[:15]
        name = f"{stamp}_{rec.month or 'no-month'}_{'ok' if rec.exit_status == 0 else 'failed'}"
        try:  # (a history that cannot be written must not fail a run that committed)
            history.mkdir(exist_ok=True)
            n, dest = 1, history / f"{name}.json"
            while dest.exists():  # two runs in one second keep both records
                n += 1
                dest = history / f"{name}.{n}.json"
            dest.write_text(text, encoding="utf-8")
        except OSError:
            pass
    except OSError:
        rec.run_json = None
        if rec.exit_status == 0:
            raise
        # the run failed already: its error is the one to report, not a second one about run.json
