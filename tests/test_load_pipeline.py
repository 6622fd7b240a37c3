"""The loader's pipeline: the next CSV is prepared (hashed, checked, transcoded) in a thread while
DuckDB reads the current one; rows are inserted in no particular order; a grading command never
imports pandas. The results must be exactly those of a load one file at a time."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest

from crmtool.errors import InputError
from crmtool.io import load as loader
from crmtool.io.load import load_files

H = "凭证号,行号,过账日期,客户编码,数量,含税金额\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rows(store):
    return store.con.execute("SELECT order_id, line_no, order_date, customer_code, quantity, amount, source_line "
                             "FROM orders ORDER BY order_id, line_no").fetchall()


def files(tmp_path: Path) -> list[Path]:
    a = write(tmp_path / "a.csv", H + "A,1,2024-01-05,C1,1,10\nA,2,2024-01-06,C2,2,20\n")
    # GBK with an empty line (line numbers shift) and a title row above the header
    b = write(tmp_path / "b.csv", "销售明细\n" + H + "B,1,2024-02-05,客户甲,3,30\n\nB,2,bad,客户乙,4,40\n", "gb18030")
    c = write(tmp_path / "c.csv", H + "A,1,2024-03-05,C1,5,50\n")  # replaces A/1 of a.csv
    return [a, b, c]


def test_prepared_ahead_equals_one_file_at_a_time(store, tmp_path, monkeypatch):
    fs = files(tmp_path)
    r = load_files(store, "orders", fs)
    ahead = rows(store), [(f.accepted, f.rejected, f.replaced, f.sample_rejects) for f in r.files]
    store.con.execute("DELETE FROM orders")
    store.con.execute("DELETE FROM rejects")
    monkeypatch.setattr(loader._Ahead, "_start", lambda self, i: None)  # nothing prepared ahead
    r2 = load_files(store, "orders", fs)
    assert (rows(store), [(f.accepted, f.rejected, f.replaced, f.sample_rejects) for f in r2.files]) == ahead
    # worked out by hand: A/1 from c.csv (line 2) replaces a.csv's; b.csv line 5 (after the title,
    # the header, a row and an empty line) has a bad date
    assert ahead[0][0] == ("A", 1, ahead[0][0][2], "C1", Decimal("5.0000"), Decimal("50.00"), 2)
    assert str(ahead[0][0][2]) == "2024-03-05"
    assert ahead[1] == [(2, 0, 0, []), (1, 1, 0, [(5, "过账日期", "bad", "not a date")]), (1, 0, 1, [])]


def test_a_bad_later_file_fails_at_its_turn_and_leaves_no_temporary_file(store, tmp_path, monkeypatch):
    tmp = tmp_path / "tmp"  # a temporary folder of its own: another crmtool on the machine makes files too
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    before = set(glob.glob(str(tmp / "crmtool-*.csv")))
    good = write(tmp_path / "good.csv", H + "A,1,2024-01-05,C1,1,10\n")
    gbk = write(tmp_path / "gbk.csv", H + "B,1,2024-01-05,客户甲,1,10\n", "gb18030")  # transcoded ahead
    gbk2 = write(tmp_path / "gbk2.csv", H + "D,1,2024-01-05,客户乙,1,10\n", "gb18030")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(H.encode("gb18030") + b"C,1,2024-01-05,\xff\xfe\xfa,1,10\n" * 3)  # neither UTF-8 nor GB18030
    with pytest.raises(InputError, match="bad.csv line 2"):
        load_files(store, "orders", [good, gbk, bad, gbk2])  # gbk2 is transcoded ahead, then not loaded
    assert store.con.execute("SELECT count(*) FROM orders").fetchall() == [(0,)]  # one transaction
    assert set(glob.glob(str(tmp / "crmtool-*.csv"))) == before


def test_grading_never_imports_pandas(tmp_path):
    """pyarrow imports pandas (0.2 s) as soon as it converts a Python object: the grading path
    builds its arrays inside Arrow and DuckDB instead."""
    f = write(tmp_path / "o.csv", H + "".join(f"O{i},1,2024-0{1 + i % 9}-05,C{i % 7},{1 + i % 3},{10 * i}\n"
                                          for i in range(60)))
    db = tmp_path / "s.duckdb"
    env = {**os.environ, "CRMTOOL_DB": str(db)}
    subprocess.run([sys.executable, "-m", "crmtool", "--quiet", "load", "orders", str(f)], check=True, env=env,
                   capture_output=True)
    code = ("import sys, runpy; sys.argv = ['crmtool', '--quiet', 'grade', 'rfm', '--as-of', '2024-09-05']\n"
            "try:\n    runpy.run_module('crmtool', run_name='__main__')\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            "print('pandas' in sys.modules, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "False"
    assert "customer_id" in out.stdout  # the table was printed


def test_a_failed_block_keeps_its_own_error_when_the_setting_cannot_be_restored(store):
    # inside an aborted transaction even SET fails; the restore must not hide the error that aborted it
    import duckdb

    from crmtool.store import temporarily

    con = store.con
    con.execute("CREATE TEMP TABLE t (x DECIMAL(4,0))")
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.Error) as got:
        with temporarily(con, "preserve_insertion_order", False):
            con.execute("INSERT INTO t SELECT CAST(12345 AS DECIMAL(5,0)) * 1")  # out of range for DECIMAL(4)
    con.execute("ROLLBACK")
    assert "aborted" not in str(got.value).lower(), got.value
