"""`crmtool run monthly` (SPEC §5.1) as cron runs it: real processes (`python -m crmtool …`) on an inbox
of the sample exports. A full run, a second run for the same month, a corrupt file, a busy store and a
run killed in the middle of loading."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import HOLD_BEFORE_COMMIT

from crmtool.config import Settings
from crmtool.sample import write_sample
from crmtool.store import open_store

MONTH = "2025-12"  # the sample's orders end 2025-12-31: the default month, a quarter end and December
REQUIRED = {"grade.rfm", "grade.pareto", "grade.level", "grade.scorecard", "classify.quadrant", "churn.status",
            "churn.warn", "churn.idle", "churn.winback", "managers.scorecard", "sales.overview", "sales.attainment",
            "sales.freight", "sales.campaign"}
REPORTS = [f"{stem}.zh.{fmt}" for stem in (f"monthly_{MONTH}", f"managers_{MONTH}", "managers_2025Q4",
                                            "managers_2025") for fmt in ("xlsx", "html")]


@pytest.fixture(scope="module")
def sample_exports(tmp_path_factory) -> Path:
    """The sample exports, small (60 customers, 4 managers, 2 years), written once for the module."""
    folder = tmp_path_factory.mktemp("sample")
    write_sample(folder, customers=60, managers=4, years=2)
    return folder


def inbox_of(sample: Path, where: Path) -> Path:
    shutil.copytree(sample, where)
    return where


def with_managers_loaded(sample_exports: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """(inbox, db, out): the sample inbox copied, a store made (`crmtool init`: run monthly needs an
    existing one) holding an earlier load of the managers."""
    inbox = inbox_of(sample_exports, tmp_path / "inbox")
    db, out = tmp_path / "crm.duckdb", tmp_path / "out"
    open_store(db, Settings()).close()
    p = crmtool("--db", str(db), "load", "managers", str(sample_exports / "managers.csv"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    return inbox, db, out


def crmtool(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crmtool", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def status_json(db: Path, cwd: Path) -> dict:
    p = crmtool("--db", str(db), "status", "--output", "json", cwd=cwd)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def files_in(inbox: Path) -> dict[str, bytes]:
    return {p.relative_to(inbox).as_posix(): p.read_bytes() for p in inbox.rglob("*") if p.is_file()}


def test_full_run_then_a_second_run_for_the_month(tmp_path, sample_exports):
    inbox = inbox_of(sample_exports, tmp_path / "inbox")
    names = sorted(files_in(inbox))
    db, out = tmp_path / "crm.duckdb", tmp_path / "out"
    open_store(db, Settings()).close()  # `crmtool init`: run monthly needs an existing store
    t0 = time.monotonic()
    p = crmtool("--db", str(db), "run", "monthly", "--inbox", str(inbox), "--out", str(out), cwd=tmp_path)
    seconds = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    month_dir = out / MONTH
    assert p.stdout.strip() == str(month_dir / "run.json")
    # cron manners: every log line starts with an ISO timestamp; no colour codes
    lines = p.stderr.splitlines()
    assert lines and all(line[:4].isdigit() and line[10] == "T" for line in lines), p.stderr
    assert "\x1b[" not in p.stderr

    run = json.loads((month_dir / "run.json").read_text(encoding="utf-8"))
    assert run["exit_status"] == 0 and run["error"] is None
    assert (run["month"], run["as_of"]) == (MONTH, "2025-12-31")
    assert run["started"] <= run["finished"] and run["version"]
    # inputs: every sample file, loaded, and its counts are the store's batch rows
    assert sorted(f["file"] for f in run["inputs"]) == names
    assert all(f["status"] == "loaded" for f in run["inputs"])
    with open_store(db, Settings(), read_only=True, wait=5) as store:
        batches = {r[0]: r[1:] for r in store.con.execute(
            "SELECT sha256, table_name, rows_read, accepted, rejected, batch_id FROM batches").fetchall()}
        snapshots = {(a, p): n for a, p, n in store.con.execute(
            "SELECT analysis, period, row_count FROM snapshots").fetchall()}
    assert len(batches) == len(names)
    for f in run["inputs"]:
        assert batches[f["sha256"]] == (f["table"], f["rows"], f["accepted"], f["rejected"], f["batch_id"])
        assert f["moved_to"] == str(inbox / "done" / MONTH / f["file"])
    assert {f["table"] for f in run["inputs"]} == {"customers", "orders", "code_map", "managers", "plans",
                                                   "contracts", "campaigns", "freight", "leads", "visits"}
    # analyses: every one SPEC §5.1 lists ran, and each stored the rows run.json says
    ran = {a["name"] for a in run["analyses"]}
    assert REQUIRED <= ran, REQUIRED - ran
    assert {a["period"] for a in run["analyses"] if a["name"] == "managers.scorecard"} == {MONTH, "2025Q4", "2025"}
    assert [a["period"] for a in run["analyses"] if a["name"] == "sales.campaign"] == ["HD202502"]
    for a in run["analyses"]:
        assert snapshots[(a["analysis"], a["period"])] == a["rows"], a
    # outputs: every report for xlsx and html × zh, every table, each with its size
    outputs = {Path(o["path"]): o["bytes"] for o in run["outputs"]}
    for name in REPORTS:
        assert month_dir / name in outputs
    assert any(p.parent == month_dir / "tables" for p in outputs)
    # SPEC §4.8: idle counts per manager, region and level
    assert {"churn_idle_manager.csv", "churn_idle_region.csv", "churn_idle_level.csv"} <= set(
        os.listdir(month_dir / "tables"))
    for path, size in outputs.items():
        assert path.is_file() and path.stat().st_size == size > 0
    assert not list(out.glob(".partial-*"))
    # the files moved to inbox/done/YYYY-MM/ after the commit
    assert sorted(files_in(inbox)) == [f"done/{MONTH}/{n}" for n in names]
    print(f"full run on the sample: {seconds:.1f} s, {len(outputs)} outputs")

    # a second run for the same month, without reports: loads nothing, writes the same result tables and
    # no report
    first_tables = tmp_path / "first_tables"
    shutil.copytree(month_dir / "tables", first_tables)
    before = status_json(db, tmp_path)
    p2 = crmtool("--db", str(db), "run", "monthly", "--inbox", str(inbox), "--out", str(out), "--no-reports",
                 cwd=tmp_path)
    assert p2.returncode == 0, p2.stderr
    run2 = json.loads((month_dir / "run.json").read_text(encoding="utf-8"))
    assert run2["exit_status"] == 0 and run2["inputs"] == []
    assert run2["outputs"] and all(Path(o["path"]).parent == month_dir / "tables" for o in run2["outputs"])
    assert status_json(db, tmp_path) == before  # no batch, no row added
    cmp = filecmp.dircmp(first_tables, month_dir / "tables")
    assert sorted(os.listdir(first_tables)) == sorted(os.listdir(month_dir / "tables"))
    _, mismatch, errors = filecmp.cmpfiles(first_tables, month_dir / "tables", cmp.common_files, shallow=False)
    assert mismatch == [] and errors == []
    assert [(a["name"], a["period"], a["rows"]) for a in run2["analyses"]] == [
        (a["name"], a["period"], a["rows"]) for a in run["analyses"]]


def test_a_corrupt_orders_file_fails_the_run_and_changes_nothing(tmp_path, sample_exports):
    inbox, db, out = with_managers_loaded(sample_exports, tmp_path)  # the store holds an earlier load
    (inbox / "2025-12销售订单.csv").write_bytes(bytes(range(256)) * 64 + b"\x00\xff" * 500)
    before_status, before_files = status_json(db, tmp_path), files_in(inbox)

    p = crmtool("--db", str(db), "run", "monthly", "--inbox", str(inbox), "--out", str(out), cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert "2025-12销售订单.csv" in p.stderr.splitlines()[-1]
    assert status_json(db, tmp_path) == before_status  # nothing from that run in the store
    assert files_in(inbox) == before_files  # every file still in the inbox, unchanged
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))  # month unknown: OUT/run.json
    assert run["exit_status"] == 1 and "2025-12销售订单.csv" in run["error"]
    statuses = {f["file"]: f["status"] for f in run["inputs"]}
    assert statuses.pop("managers.csv") == "already loaded"
    assert set(statuses.values()) <= {"new", "rolled back"} and "rolled back" in statuses.values()
    print(p.stderr.splitlines()[-1])
    assert not (out / MONTH).exists() and not list(out.glob(".partial-*"))


def test_a_file_over_the_reject_share_fails_the_run(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "orders").mkdir(parents=True)
    (inbox / "客户档案.csv").write_text("客户编码,客户名称\nC1,甲\nC2,乙\n", encoding="utf-8")
    rows = "".join(f"A{i},1,2025-11-{1 + i % 30:02d},C{i % 2 + 1},{'五吨' if i % 10 == 0 else 3},{2400 + i}\n"
                   for i in range(60))
    (inbox / "orders" / "export.csv").write_text("凭证号,行号,过账日期,客户编码,数量,金额\n" + rows, encoding="utf-8")
    db, out = tmp_path / "crm.duckdb", tmp_path / "out"
    open_store(db, Settings()).close()  # `crmtool init`: run monthly needs an existing store
    p = crmtool("--db", str(db), "run", "monthly", "--inbox", str(inbox), "--out", str(out), cwd=tmp_path)
    assert p.returncode == 1
    last = p.stderr.splitlines()[-1]
    assert "orders/export.csv: 6 of 60 rows rejected" in last and "run.max_reject_share" in last
    assert "'五吨': not a number" in last
    # the record of the failed run: its path on stdout, its status inside
    record = json.loads(Path(p.stdout.strip()).read_text(encoding="utf-8"))
    assert p.stdout.strip() == str(out.resolve() / "run.json") and record["exit_status"] == 1
    assert "6 of 60 rows rejected" in record["error"]
    assert status_json(db, tmp_path)["tables"]["customers"] == 0
    assert sorted(files_in(inbox)) == ["orders/export.csv", "客户档案.csv"]
    # with a looser share the same inbox loads (the folder named the table), and a quiet run says nothing
    (tmp_path / "crmtool.toml").write_text("[run]\nmax_reject_share = 0.2\nformats = [\"html\"]\n", encoding="utf-8")
    p = crmtool("--db", str(db), "run", "monthly", "--strict", "--inbox", str(inbox), "--out", str(out), cwd=tmp_path)
    assert p.returncode == 1 and "6 of 60 rows rejected (10.00%), --strict allows none" in p.stderr.splitlines()[-1]
    assert status_json(db, tmp_path)["tables"]["customers"] == 0
    p = crmtool("--db", str(db), "--quiet", "run", "monthly", "--inbox", str(inbox), "--out", str(out),
                "--month", "2025-11", "--lang", "en,zh", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "" and p.stderr == ""
    assert status_json(db, tmp_path)["tables"]["orders"] == 54
    run = json.loads((out / "2025-11" / "run.json").read_text(encoding="utf-8"))
    # OUT/run.json is the latest run's: the failures before no longer show there
    assert json.loads((out / "run.json").read_text(encoding="utf-8")) == run and run["exit_status"] == 0
    # formats from the config, languages from the command line; no managers: no managers report
    assert sorted(Path(o["path"]).name for o in run["outputs"] if Path(o["path"]).parent.name == "2025-11") == [
        "monthly_2025-11.en.html", "monthly_2025-11.zh.html"]
    skipped = {s["name"]: s["reason"] for s in run["skipped"]}
    assert skipped["managers.scorecard"].startswith("no managers")
    # a later run for the same month that fails (a month not complete) leaves the month's record as it was
    p = crmtool("--db", str(db), "run", "monthly", "--inbox", str(inbox), "--out", str(out), "--month", "2025-12",
                cwd=tmp_path)
    assert p.returncode == 1
    assert json.loads((out / "2025-11" / "run.json").read_text(encoding="utf-8")) == run
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["exit_status"] == 1
    assert not (out / "2025-12").exists()
    assert skipped["sales.freight"] == "no freight bills in 2025-11"
    # the Chinese report gives the reason in Chinese
    zh = {s["name"]: s.get("reason_zh") for s in run["skipped"]}
    assert zh["sales.freight"] == "2025-11 没有运费单据" and zh["managers.scorecard"].startswith("无客户经理")
    page = (out / "2025-11" / "monthly_2025-11.zh.html").read_text(encoding="utf-8")
    assert "2025-11 没有运费单据" in page and "no freight bills" not in page
    assert [(f["file"], f["table"], f["matched_by"]) for f in run["inputs"]] == [
        ("orders/export.csv", "orders", "folder orders/"), ("客户档案.csv", "customers", "pattern *客户档案*")]
    assert sorted(files_in(inbox)) == ["done/2025-11/orders/export.csv", "done/2025-11/客户档案.csv"]
    # the store names the files where they are now: status and rejects point into done/
    done = inbox.resolve() / "done" / "2025-11"
    assert sorted(b["file"] for b in status_json(db, tmp_path)["recent_batches"]) == [
        str(done / "orders" / "export.csv"), str(done / "客户档案.csv")]
    p = crmtool("--db", str(db), "rejects", "--output", str(tmp_path / "rejects.json"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rows = json.loads((tmp_path / "rejects.json").read_text(encoding="utf-8"))
    assert len(rows) == 6 and {r["file"] for r in rows} == {str(done / "orders" / "export.csv")}


def test_a_failing_analysis_rolls_the_loads_back(tmp_path):
    """Orders without amounts: RFM by amount (the default metric) cannot run, so nothing loads."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "客户档案.csv").write_text("客户编码,客户名称\nC1,甲\nC2,乙\n", encoding="utf-8")
    rows = "".join(f"A{i},1,2025-11-{1 + i % 30:02d},C{i % 2 + 1},3\n" for i in range(60))
    (inbox / "订单.csv").write_text("凭证号,行号,过账日期,客户编码,数量\n" + rows, encoding="utf-8")
    db, out = tmp_path / "crm.duckdb", tmp_path / "out"
    open_store(db, Settings()).close()  # `crmtool init`: run monthly needs an existing store
    before_files = files_in(inbox)
    p = crmtool("--db", str(db), "run", "monthly", "--inbox", str(inbox), "--out", str(out), cwd=tmp_path)
    assert p.returncode == 1
    assert "error: grade.rfm: --metric amount" in p.stderr.splitlines()[-1]
    assert '[rfm] metric = "volume" in crmtool.toml' in p.stderr.splitlines()[-1]  # run monthly has no --metric
    tables = status_json(db, tmp_path)["tables"]
    assert tables["orders"] == tables["customers"] == 0
    assert files_in(inbox) == before_files
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["exit_status"] == 1 and run["error"].startswith("grade.rfm: ") and run["month"] == "2025-11"
    assert [f["status"] for f in run["inputs"]] == ["rolled back", "rolled back"]
    # a failed run writes no month folder: OUT/YYYY-MM keeps the record of the reports it holds
    assert run["outputs"] == [] and not (out / "2025-11").exists()


def test_a_file_that_matches_no_table_fails_the_run_naming_it(tmp_path, sample_exports):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(sample_exports / "managers.csv", inbox / "managers.csv")
    (inbox / "说明.txt").write_text("read me", encoding="utf-8")
    (inbox / "~$orders.xlsx").write_bytes(b"lock")  # an Office lock file is ignored, never a failure
    (inbox / "Thumbs.db").write_bytes(b"\0")  # as is what Windows leaves in a shared folder
    open_store(tmp_path / "crm.duckdb", Settings()).close()
    p = crmtool("--db", str(tmp_path / "crm.duckdb"), "run", "monthly", "--inbox", str(inbox), "--out",
                str(tmp_path / "out"), cwd=tmp_path)
    assert p.returncode == 1
    assert "说明.txt (matches no table)" in p.stderr
    assert "~$orders.xlsx" not in p.stderr.splitlines()[-1]
    assert "Thumbs.db" not in p.stderr.splitlines()[-1]
    assert sorted(files_in(inbox)) == ["Thumbs.db", "managers.csv", "~$orders.xlsx", "说明.txt"]


def test_a_busy_store_exits_3_after_wait(tmp_path, sample_exports):
    inbox = inbox_of(sample_exports, tmp_path / "inbox")
    db, out = tmp_path / "crm.duckdb", tmp_path / "out"
    open_store(db, Settings()).close()  # `crmtool init`: run monthly needs an existing store
    marker = tmp_path / "holding"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from crmtool.store import open_store; s = open_store(sys.argv[1]); "
                               "open(sys.argv[2], 'w').write('x'); time.sleep(60)", str(db), str(marker)])
    try:
        _wait_for(marker)
        t0 = time.monotonic()
        p = crmtool("--db", str(db), "run", "monthly", "--inbox", str(inbox), "--out", str(out), "--wait", "1",
                    cwd=tmp_path)
        assert p.returncode == 3, p.stderr
        assert time.monotonic() - t0 < 30
        assert "in use by another crmtool process; waited 1 s" in p.stderr
    finally:
        holder.kill()
        holder.wait(30)
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["exit_status"] == 3 and run["inputs"] == []
    assert sorted(files_in(inbox)) == sorted(files_in(sample_exports))


def test_a_run_killed_while_loading_leaves_store_and_inbox_and_the_next_run_succeeds(tmp_path, sample_exports):
    inbox, db, out = with_managers_loaded(sample_exports, tmp_path)
    before_status, before_files = status_json(db, tmp_path), files_in(inbox)
    marker = tmp_path / "holding"
    # the loader's test seam pauses inside the run's transaction after the first table's files are
    # written (managers), before the others load: the process is killed there
    hold = HOLD_BEFORE_COMMIT
    holder = subprocess.Popen([sys.executable, "-c", hold, str(marker), "--db", str(db), "run", "monthly",
                               "--inbox", str(inbox), "--out", str(out)], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(marker)
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert status_json(db, tmp_path) == before_status
    assert files_in(inbox) == before_files
    assert not (out / MONTH).exists()

    p = crmtool("--db", str(db), "run", "monthly", "--inbox", str(inbox), "--out", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    run = json.loads((out / MONTH / "run.json").read_text(encoding="utf-8"))
    # the managers file was loaded before the run (same bytes): it is not loaded again, only moved
    statuses = {f["file"]: f["status"] for f in run["inputs"]}
    assert statuses.pop("managers.csv") == "already loaded"
    assert set(statuses.values()) == {"loaded"}
    assert not list(out.glob(".partial-*"))  # the killed run's staging folder (if any) is gone
    assert sorted(files_in(inbox)) == sorted(f"done/{MONTH}/{n}" for n in before_files)


def _wait_for(path: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _readme_block(after: str) -> str:
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = text.index(after)
    block = text.index("```\n", start) + 4
    return text[block:text.index("\n```", block)].strip()


def test_the_readme_crontab_line_works_as_written(tmp_path):
    """The README's crontab line, run the way cron runs it (`sh -c`, a bare environment, $HOME as the
    working folder) with its folders moved under tmp_path and the installed crmtool script."""
    line = _readme_block("**cron**")
    fields = line.split(None, 5)
    assert fields[:5] == ["30", "6", "2", "*", "*"] and "%" not in line  # cron would turn % into a newline
    srv, home = tmp_path / "srv" / "crm", tmp_path / "home"
    home.mkdir()
    (srv / "inbox").mkdir(parents=True)
    p = crmtool("init", cwd=srv)  # the setup the README asks for
    assert p.returncode == 0, p.stderr
    (srv / "inbox" / "客户档案.csv").write_text("客户编码,客户名称\nC1,甲\nC2,乙\n", encoding="utf-8")
    rows = "".join(f"A{i},1,2025-11-{1 + i % 30:02d},C{i % 2 + 1},3,{2400 + i}\n" for i in range(60))
    (srv / "inbox" / "ERP订单-2025-11.csv").write_text("凭证号,行号,过账日期,客户编码,数量,金额\n" + rows,
                                                     encoding="utf-8")
    script = Path(sys.executable).parent / "crmtool"
    command = fields[5].replace("/opt/crmtool/venv/bin/crmtool", str(script)).replace("/srv/crm", str(srv))
    p = subprocess.run(["/bin/sh", "-c", command], cwd=home, env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=240)
    log = (srv / "monthly.log").read_text(encoding="utf-8")
    assert p.returncode == 0, log
    assert log.splitlines()[-1] == str(srv / "reports" / "2025-11" / "run.json")
    assert json.loads((srv / "reports" / "2025-11" / "run.json").read_text(encoding="utf-8"))["exit_status"] == 0
    assert sorted(files_in(srv / "inbox")) == ["done/2025-11/ERP订单-2025-11.csv", "done/2025-11/客户档案.csv"]


def test_the_readme_schtasks_line_runs_the_same_job():
    line = _readme_block("**Windows Task Scheduler**")
    head, _, tr = line.partition(' /TR "')
    assert head == 'schtasks /Create /TN "crmtool monthly" /SC MONTHLY /D 2 /ST 06:30'
    tr = tr.removesuffix('"')
    assert len(tr) <= 261 and '"' not in tr  # schtasks' limit for /TR; no nested quotes to escape
    cron = _readme_block("**cron**").split(None, 5)[5]
    as_windows = (cron.replace("/opt/crmtool/venv/bin/crmtool", r"C:\crm\venv\Scripts\crmtool.exe")
                  .replace("/srv/crm/", "C:\\crm\\"))
    assert tr == "cmd /c " + as_windows


def test_a_store_that_does_not_exist_is_an_error_not_a_new_store(tmp_path, sample_exports):
    """A mistyped --db in a crontab (s.duckbd) must not start an empty store, load the month into it
    and file the exports away: exit 1, nothing created, the inbox as it was."""
    inbox = inbox_of(sample_exports, tmp_path / "inbox")
    before = files_in(inbox)
    typo = tmp_path / "crm.duckbd"
    p = crmtool("--db", str(typo), "run", "monthly", "--inbox", str(inbox), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert p.returncode == 1 and "no store here yet" in p.stderr
    assert not typo.exists() and files_in(inbox) == before
    export = tmp_path / "orders.csv"  # an export given as the store: DuckDB would open it as an empty database
    export.write_text("凭证号,过账日期,客户编码,数量\nA,2024-01-05,C1,1\n", encoding="utf-8")
    p = crmtool("--db", str(export), "load", "orders", str(export), cwd=tmp_path)
    assert p.returncode == 1 and "not a crmtool store" in p.stderr


def test_an_out_that_is_a_file_or_inside_the_inbox_is_a_usage_error(tmp_path, sample_exports):
    inbox = inbox_of(sample_exports, tmp_path / "inbox")
    db = tmp_path / "crm.duckdb"
    open_store(db, Settings()).close()
    (tmp_path / "f").write_text("x", encoding="utf-8")
    p = crmtool("--db", str(db), "run", "monthly", "--inbox", str(inbox), "--out", str(tmp_path / "f"), cwd=tmp_path)
    assert p.returncode == 2 and "is a file, not a folder" in p.stderr and "internal error" not in p.stderr
    p = crmtool("--db", str(db), "run", "monthly", "--inbox", str(inbox), "--out", str(inbox / "reports"), cwd=tmp_path)
    assert p.returncode == 2 and "inside --inbox" in p.stderr
    assert not (inbox / "reports").exists()
    # another command writing below a file: one sentence naming the path, exit 2 (it was "internal error")
    p = crmtool("--db", str(db), "grade", "rfm", "-o", str(tmp_path / "f" / "x.csv"), cwd=tmp_path)
    assert p.returncode in (1, 2) and "internal error" not in p.stderr, p.stderr


def test_two_exports_of_one_table_load_oldest_first_so_the_correction_wins(tmp_path):
    """销售明细2025-11-更新.csv (the correction, written later) sorts before 销售明细2025-11.csv by name
    ('-' < '.'); loaded by name, the original replaced the correction: A1 was 10 t, not 12 t."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "客户档案.csv").write_text("客户编码,客户名称\nC1,甲\nC2,乙\n", encoding="utf-8")
    head = "凭证号,行号,过账日期,客户编码,数量,金额\n"
    rest = "".join(f"B{i},1,2025-11-{1 + i:02d},C{i % 2 + 1},3,{2400 + i}\n" for i in range(20))
    original, correction = inbox / "销售明细2025-11.csv", inbox / "销售明细2025-11-更新.csv"
    original.write_text(head + "A1,1,2025-11-30,C1,10,24000\n" + rest, encoding="utf-8")
    correction.write_text(head + "A1,1,2025-11-30,C1,12,28800\n", encoding="utf-8")
    os.utime(original, (1_700_000_000, 1_700_000_000))
    os.utime(correction, (1_700_000_100, 1_700_000_100))
    db, out = tmp_path / "crm.duckdb", tmp_path / "out"
    open_store(db, Settings()).close()
    p = crmtool("--db", str(db), "run", "monthly", "--inbox", str(inbox), "--out", str(out), "--no-reports",
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "orders: 2 files, loaded oldest first" in p.stderr
    with open_store(db, Settings(), read_only=True) as store:
        assert store.con.execute("SELECT quantity, amount FROM orders WHERE order_id = 'A1'").fetchall() == [
            (Decimal("12"), Decimal("28800"))]
        assert store.con.execute("SELECT count(*) FROM orders").fetchall()[0][0] == 21


def test_the_monthly_job_loads_every_sheet_of_a_workbook_that_fits(tmp_path):
    from openpyxl import Workbook

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "客户档案.csv").write_text("客户编码,客户名称\nC1,甲\nC2,乙\n", encoding="utf-8")
    wb = Workbook()
    oct_, nov = wb.active, wb.create_sheet("2025-11")
    oct_.title = "2025-10"
    for ws, month in ((oct_, 10), (nov, 11)):
        ws.append(["凭证号", "行号", "过账日期", "客户编码", "数量", "金额"])
        for i in range(10):
            ws.append([f"M{month}-{i}", 1, f"2025-{month}-{i + 1:02d}", f"C{i % 2 + 1}", 2, 14000])
    nov.append(["M11-end", 1, "2025-11-30", "C1", 1, 7000])
    wb.save(inbox / "订单_10-11月.xlsx")
    db, out = tmp_path / "crm.duckdb", tmp_path / "out"
    open_store(db, Settings()).close()
    p = crmtool("--db", str(db), "run", "monthly", "--inbox", str(inbox), "--out", str(out), "--no-reports",
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "订单_10-11月.xlsx: 2 sheets fit orders: 2025-10, 2025-11" in p.stderr
    run = json.loads((out / "2025-11" / "run.json").read_text(encoding="utf-8"))
    orders = next(f for f in run["inputs"] if f["table"] == "orders")
    assert (orders["accepted"], orders["rejected"]) == (21, 0)
    assert status_json(db, tmp_path)["tables"]["orders"] == 21


def test_a_bug_inside_the_run_still_gives_the_record_and_timestamped_lines(tmp_path, sample_exports, monkeypatch):
    import re

    from typer.testing import CliRunner

    import crmtool.monthly as monthly
    from crmtool.cli import app

    inbox, db, out = with_managers_loaded(sample_exports, tmp_path)

    def boom() -> None:
        raise RuntimeError("boom inside the transaction")

    monkeypatch.setattr(monthly, "_before_commit", boom)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["--db", str(db), "run", "monthly", "--no-reports", "--inbox", str(inbox),
                                 "--out", str(out)])
    assert r.exit_code == 1
    record = Path(r.stdout.strip())
    assert record.name == "run.json" and json.loads(record.read_text(encoding="utf-8"))["exit_status"] == 1
    lines = r.stderr.strip().splitlines()
    assert lines[-2].endswith("internal error: RuntimeError: boom inside the transaction")
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d ", line) for line in lines[-3:]), lines[-3:]
    assert status_json(db, tmp_path)["tables"]["orders"] == 0  # rolled back


def test_every_run_keeps_its_record_in_runs(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "客户档案.csv").write_text("客户编码,客户名称\nC1,甲\n", encoding="utf-8")
    rows = "".join(f"A{i},1,2025-11-{1 + i:02d},C1,3,30\n" for i in range(30))
    (inbox / "订单.csv").write_text("凭证号,行号,过账日期,客户编码,数量,金额\n" + rows, encoding="utf-8")
    db, out = tmp_path / "crm.duckdb", tmp_path / "out"
    open_store(db, Settings()).close()
    for _ in range(2):  # the second run finds nothing new: the month's run.json says so
        p = crmtool("--db", str(db), "run", "monthly", "--no-reports", "--inbox", str(inbox), "--out", str(out),
                    cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        time.sleep(1.1)
    assert json.loads((out / "2025-11" / "run.json").read_text(encoding="utf-8"))["inputs"] == []
    runs = sorted((out / "runs").iterdir())
    assert [r.name.split("_", 1)[1] for r in runs] == ["2025-11_ok.json", "2025-11_ok.json"]
    # the first run's record, with the files it loaded, is kept
    first = json.loads(runs[0].read_text(encoding="utf-8"))
    assert sorted(f["file"] for f in first["inputs"]) == ["客户档案.csv", "订单.csv"]
