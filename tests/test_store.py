"""The store under real processes: a second writer waits or exits 3, a killed load leaves the store as
it was, readers open read-only, migrations are recorded, snapshots replace by key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import HOLD_BEFORE_COMMIT

from crmtool.config import Settings
from crmtool.errors import InputError, StoreBusy
from crmtool.store import SCHEMA_VERSION, open_store, save_snapshot, snapshot_id

HEADER = "凭证号,行号,过账日期,客户编码,数量\n"


def crmtool(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.Popen([sys.executable, "-m", "crmtool", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=e, **kw)


def wait_for(path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def orders_file(path: Path, n: int, prefix: str = "A") -> Path:
    lines = [f"{prefix}{i},1,2024-01-{1 + i % 28:02d},C{i % 7},{1 + i % 5}\n" for i in range(n)]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def counts(db: Path) -> tuple:
    s = open_store(db, Settings(), read_only=True, wait=5)
    try:
        return s.con.execute("SELECT (SELECT count(*) FROM orders), (SELECT coalesce(sum(quantity), 0) FROM orders), "
                             "(SELECT count(*) FROM batches)").fetchall()[0]
    finally:
        s.close()


def test_second_writer_exits_3_then_killed_load_leaves_store_as_before(tmp_path):
    db = tmp_path / "crm.duckdb"
    first = orders_file(tmp_path / "first.csv", 50)
    p = crmtool("--db", str(db), "load", "orders", str(first))
    assert p.wait(60) == 0, p.stderr.read()
    before = counts(db)
    assert before[0] == 50

    marker = tmp_path / "holding"
    big = orders_file(tmp_path / "big.csv", 5000, prefix="B")
    # a wrapper installs the loader's test seam: it pauses inside the transaction, just before COMMIT
    hold = HOLD_BEFORE_COMMIT
    holder = subprocess.Popen([sys.executable, "-c", hold, str(marker), "--db", str(db), "load", "orders", str(big)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(marker)  # the load has written its rows and holds the transaction open
        t0 = time.monotonic()
        second = crmtool("--db", str(db), "--wait", "1", "load", "orders", str(first))
        rc = second.wait(60)
        assert rc == 3
        assert "in use by another crmtool process" in second.stderr.read()
        assert time.monotonic() - t0 < 30
        holder.send_signal(signal.SIGKILL)  # killed mid-load, before COMMIT
        holder.wait(30)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert counts(db) == before  # nothing of the killed load is visible


def test_second_writer_waits_for_the_first(tmp_path):
    db = tmp_path / "crm.duckdb"
    open_store(db, Settings()).close()
    holder_code = (
        "import sys, time; from crmtool.store import open_store; s = open_store(sys.argv[1]); "
        "open(sys.argv[2], 'w').write('x'); time.sleep(2); s.close()")
    marker = tmp_path / "open"
    holder = subprocess.Popen([sys.executable, "-c", holder_code, str(db), str(marker)])
    wait_for(marker)
    f = orders_file(tmp_path / "o.csv", 10)
    second = crmtool("--db", str(db), "--wait", "30", "load", "orders", str(f))
    out, err = second.communicate(timeout=60)
    holder.wait(30)
    assert second.returncode == 0, err
    assert "10 accepted" in out


def test_open_store_raises_store_busy_in_process(tmp_path):
    db = tmp_path / "crm.duckdb"
    open_store(db, Settings()).close()
    code = ("import sys, time; from crmtool.store import open_store; s = open_store(sys.argv[1]); "
            "open(sys.argv[2], 'w').write('x'); time.sleep(20)")
    marker = tmp_path / "open"
    holder = subprocess.Popen([sys.executable, "-c", code, str(db), str(marker)])
    try:
        wait_for(marker)
        with pytest.raises(StoreBusy) as e:
            open_store(db, Settings(), wait=0.3)
        assert e.value.exit_code == 3
        with pytest.raises(StoreBusy):  # a reader waits for the writer the same way
            open_store(db, Settings(), read_only=True, wait=0.3)
    finally:
        holder.kill()
        holder.wait(30)


def test_reader_needs_an_existing_store(tmp_path):
    with pytest.raises(InputError, match="no store here yet"):
        open_store(tmp_path / "none.duckdb", Settings(), read_only=True)


def test_schema_version_and_settings(store):
    assert store.schema_version() == SCHEMA_VERSION
    assert store.con.execute("SELECT current_setting('threads')").fetchall()[0][0] == 2
    assert store.con.execute("SELECT current_setting('autoinstall_known_extensions')").fetchall()[0][0] is False


def test_snapshot_replaces_same_key_and_keeps_others(store):
    con = store.con
    con.execute("CREATE TEMP TABLE r AS SELECT * FROM (VALUES ('C1', 'gold'), ('C2', 'ordinary')) t(customer_id, lvl)")
    a = save_snapshot(con, "level", "2024-12-31", "2024-12-31", "h1", "r")
    b = save_snapshot(con, "level", "2023-12-31", "2023-12-31", "h1", "r")
    c = save_snapshot(con, "level", "2024-12-31", "2024-12-31", "h2", "r")
    assert snapshot_id(con, "level", "2024-12-31") == c != a
    assert snapshot_id(con, "level", "2023-12-31") == b
    assert con.execute("SELECT count(*) FROM snap_level").fetchall()[0][0] == 4
    assert con.execute("SELECT config_hash FROM snapshots WHERE snapshot_id = ?", [c]).fetchall()[0][0] == "h2"
