"""load_files(in_transaction=True): the loads of several tables inside one caller's transaction land
together or not at all (what `crmtool run monthly` builds on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmtool.config import Settings
from crmtool.errors import InputError
from crmtool.io.load import load_files
from crmtool.store import open_store


def _files(tmp_path: Path) -> tuple[Path, Path]:
    customers = tmp_path / "customers.csv"
    customers.write_text("客户编码,客户名称\nC1,甲公司\nC2,乙公司\n", encoding="utf-8")
    orders = tmp_path / "orders.csv"
    orders.write_text("凭证号,行号,过账日期,客户编码,数量\nA1,1,2024-01-05,C1,3\nA2,1,2024-01-06,C2,oops\n",
                      encoding="utf-8")
    return customers, orders


def _counts(store) -> tuple:
    return store.con.execute("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders), "
                             "(SELECT count(*) FROM batches), (SELECT count(*) FROM rejects)").fetchall()[0]


def test_two_tables_in_one_transaction_commit_together(tmp_path):
    customers, orders = _files(tmp_path)
    with open_store(tmp_path / "crm.duckdb", Settings(), wait=0) as store:
        with store.transaction():
            c = load_files(store, "customers", [customers], in_transaction=True)
            o = load_files(store, "orders", [orders], in_transaction=True)
            # inside the transaction the rows are visible to the caller
            assert _counts(store) == (2, 1, 2, 1)
        assert (c.accepted, o.accepted, o.rejected) == (2, 1, 1)
        assert _counts(store) == (2, 1, 2, 1)


def test_an_error_after_the_first_table_rolls_both_back(tmp_path):
    customers, orders = _files(tmp_path)
    garbage = tmp_path / "订单.csv"
    garbage.write_bytes(bytes(range(256)) * 8)
    with open_store(tmp_path / "crm.duckdb", Settings(), wait=0) as store:
        with pytest.raises(InputError):
            with store.transaction():
                load_files(store, "customers", [customers], in_transaction=True)
                load_files(store, "orders", [garbage], in_transaction=True)
        assert _counts(store) == (0, 0, 0, 0)
        # the connection is usable afterwards: a plain load still runs its own transaction
        assert load_files(store, "customers", [customers]).accepted == 2
        assert _counts(store) == (2, 0, 1, 0)


def test_strict_in_a_callers_transaction_reports_and_leaves_the_rollback_to_the_caller(tmp_path):
    _, orders = _files(tmp_path)
    with open_store(tmp_path / "crm.duckdb", Settings(), wait=0) as store:
        store.con.execute("BEGIN TRANSACTION")
        result = load_files(store, "orders", [orders], strict=True, in_transaction=True)
        assert result.strict_failed
        store.con.execute("ROLLBACK")
        assert _counts(store) == (0, 0, 0, 0)


def test_the_log_says_why_a_partial_last_month_is_not_the_one_judged(tmp_path):
    from crmtool.monthly import run_monthly

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "orders.csv").write_text("凭证号,行号,过账日期,客户编码,数量,金额\nA,1,2024-03-10,C1,5,50\nB,1,2024-04-29,C1,4,40\n",
                                      encoding="utf-8")
    db = tmp_path / "crm.duckdb"
    open_store(db, Settings()).close()
    said: list[str] = []
    rec = run_monthly(inbox, tmp_path / "out", db=db, settings=Settings(), reports=False, log=said.append)
    # SPEC §3: orders end 2024-04-29, so April is partial and March is judged — and the log says why
    assert rec.month == "2024-03" and "month 2024-03 (orders end 2024-04-29: 2024-04 is not complete)" in said


def test_a_missing_inbox_is_recorded_as_the_latest_run(tmp_path):
    import json

    from crmtool.errors import UsageError
    from crmtool.monthly import run_monthly

    out = tmp_path / "reports"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"exit_status": 0, "error": None}), encoding="utf-8")  # last month's
    db = tmp_path / "crm.duckdb"
    open_store(db, Settings()).close()
    with pytest.raises(UsageError, match="no such folder"):
        run_monthly(tmp_path / "share-not-mounted", out, db=db, settings=Settings())
    # a monitoring check of OUT/run.json sees this failure, not the last good run
    rec = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert rec["exit_status"] == 2 and "no such folder" in rec["error"]
