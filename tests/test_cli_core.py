"""CLI tests for init, load, status, config show: exit codes and parsed output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from crmtool.cli import app

runner = CliRunner()
HEADER = "凭证号,行号,过账日期,客户编码,数量,单位\n"


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_init_creates_store_and_commented_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke("--db", str(tmp_path / "crm.duckdb"), "init")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "crm.duckdb").exists()
    text = (tmp_path / "crmtool.toml").read_text(encoding="utf-8")
    assert "# [warning]" in text and "# ratio = 0.7" in text
    r = invoke("--db", str(tmp_path / "crm.duckdb"), "init")
    assert "kept" in r.output


def test_config_show_prints_effective_values(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[warning]\nratio = 0.6\n", encoding="utf-8")
    r = invoke("--config", str(cfg), "config", "show")
    assert r.exit_code == 0
    assert "ratio = 0.6" in r.output and "baseline_months = 3" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[warning]\nratoi = 1\n", encoding="utf-8")
    r = invoke("--config", str(bad), "config", "show")
    assert r.exit_code == 2 and "warning.ratoi" in r.output


def test_load_summary_rejects_and_status_json(tmp_path):
    f = tmp_path / "o.csv"
    f.write_bytes((HEADER + "A,1,2024-01-05,C1,10,吨\nB,1,2024-01-06,C1,x,吨\nC,1,2024-02-01,C2,-2,吨\n").encode("gbk"))
    db = str(tmp_path / "crm.duckdb")
    r = invoke("--db", db, "load", "orders", str(f))
    assert r.exit_code == 0, r.output
    assert "2 accepted, 1 rejected, 0 replaced" in r.output
    assert "line 3, column 数量" in r.output
    r = invoke("--db", db, "status", "--output", "json")
    assert r.exit_code == 0
    info = json.loads(r.output)
    assert info["tables"]["orders"] == 2
    assert info["orders"] == {"first_date": "2024-01-05", "last_date": "2024-02-01", "return_lines": 1}
    assert info["rejects_by_reason"] == {"not a number": 1}
    assert info["not_in_archive"]["customers"] == 2 and info["not_in_archive"]["volume"] == 8.0
    r = invoke("--db", db, "status")
    assert r.exit_code == 0 and "orders from 2024-01-05 to 2024-02-01" in r.output


def test_a_huge_rejected_cell_is_cut_in_the_message_and_kept_whole_in_the_rejects(tmp_path):
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "A,1,2024-01-05,C1,10,吨\nB,1,2024-01-06,C1," + "9" * 200_000 + ".5.5,吨\nC,1,2024-01-07,C2,,吨\n",
                 encoding="utf-8")
    db = str(tmp_path / "crm.duckdb")
    r = invoke("--db", db, "load", "orders", str(f))
    assert r.exit_code == 0, r.output
    assert "line 3, column 数量: '" + "9" * 60 + "'… (200,004 characters): not a number" in r.output
    assert "line 4, column 数量: (empty): required value is empty" in r.output
    assert len(r.output) < 1000
    r = invoke("--db", db, "rejects", "--output", str(tmp_path / "rej.json"))
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "rej.json").read_text(encoding="utf-8"))
    assert [len(x["value"] or "") for x in rows] == [200_004, 0]


def test_load_strict_exits_1_and_loads_nothing(tmp_path):
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "A,1,2024-01-05,C1,10,吨\nB,1,bad,C1,1,吨\n", encoding="utf-8")
    db = str(tmp_path / "crm.duckdb")
    r = invoke("--db", db, "load", "--strict", "orders", str(f))
    assert r.exit_code == 1
    assert "nothing was loaded" in r.output
    info = json.loads(invoke("--db", db, "status", "--output", "json").output)
    assert info["tables"]["orders"] == 0 and info["recent_batches"] == []


def test_usage_errors_exit_2(tmp_path):
    db = str(tmp_path / "crm.duckdb")
    assert invoke("--db", db, "load", "nonsense", str(tmp_path)).exit_code == 2
    assert invoke("--db", db, "--lang", "fr", "status").exit_code == 2
    r = invoke("--db", db, "load", "orders", str(tmp_path / "missing.csv"))
    assert r.exit_code == 1 and "no such file" in r.output
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "订单.xlsx").write_bytes(b"")
    r = invoke("--db", db, "load", "orders", str(tmp_path / "exports"))
    assert r.exit_code == 1 and f"this is a folder; give the files in it (e.g. {tmp_path / 'exports' / '*.xlsx'})" in r.output


def test_status_counts_a_rejected_row_once_per_reason(tmp_path):
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "A,1,,,,吨\nB,1,2024-01-06,C1,x,吨\n", encoding="utf-8")  # A: three required cells empty
    db = str(tmp_path / "crm.duckdb")
    assert invoke("--db", db, "load", "orders", str(f)).exit_code == 0
    r = invoke("--db", db, "status", "--output", "json")
    assert json.loads(r.output)["rejects_by_reason"] == {"not a number": 1, "required value is empty": 1}
    assert json.loads(r.output)["rejected_rows"] == 2
    text = invoke("--db", db, "status").output
    assert "rejected rows by reason (2 rows; one with several reasons counts under each):" in text
    assert " accepted " in text and str(f) not in text and " o.csv" in text  # the file's name: one line each
    r = invoke("--db", db, "rejects", "--file", "o.csv")
    assert "never loaded" not in r.stderr and "2 rejected cell(s)" not in r.stderr
    r = invoke("--db", db, "rejects", "--file", "oo.csv")  # a typo: said, not just "0 rejects"
    assert r.exit_code == 0 and "no file named oo.csv was ever loaded" in r.stderr
    zh = invoke("--db", db, "--lang", "zh", "status").output
    assert "拒绝的行按原因（共 2 行" in zh and "订单：尚未导入" in zh  # both rows were rejected


def test_status_of_an_empty_store_says_nothing_is_loaded(tmp_path):
    db = str(tmp_path / "crm.duckdb")
    assert invoke("--db", db, "init").exit_code == 0
    r = invoke("--db", db, "status")
    assert r.exit_code == 0
    assert "orders: none loaded yet" in r.output and "recent batches: none" in r.output and "None" not in r.output


def test_status_without_store_is_a_clear_error(tmp_path):
    r = invoke("--db", str(tmp_path / "none.duckdb"), "status")
    assert r.exit_code == 1 and "crmtool init" in r.output


def test_version():
    import crmtool

    r = invoke("--version")
    assert r.exit_code == 0 and r.output.strip() == f"crmtool {crmtool.__version__}"


def test_help_is_fast_and_lists_commands():
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "crmtool", "--help"], capture_output=True, text=True,
                         env=dict(os.environ, COLUMNS="120"))
    assert out.returncode == 0
    for cmd in ("init", "load", "status", "grade", "classify", "churn", "sample", "demo", "config"):
        assert cmd in out.stdout
    # heavy modules are imported lazily
    probe = subprocess.run([sys.executable, "-c", "import sys, crmtool.cli; "
                            "print(sorted(m for m in ('duckdb','pandas','pyarrow','openpyxl') if m in sys.modules))"],
                           capture_output=True, text=True)
    assert probe.stdout.strip() == "[]"
    assert time.monotonic() - t0 < 60  # a sanity bound only; speed is measured in benchmarks/


def test_pipe_to_head_does_not_crash(tmp_path):
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "".join(f"A{i},1,2024-01-05,C{i},1,吨\n" for i in range(3000)), encoding="utf-8")
    db = str(tmp_path / "crm.duckdb")
    assert invoke("--db", db, "load", "orders", str(f)).exit_code == 0
    p = subprocess.run(f"{sys.executable} -m crmtool --db {db} status | head -1", shell=True, capture_output=True,
                       text=True)
    assert "Traceback" not in p.stderr
    assert p.stdout.startswith("store ")


def test_module_entry_point_matches_console_script(tmp_path):
    p = subprocess.run([sys.executable, "-m", "crmtool", "--db", str(tmp_path / "x.duckdb"), "status"],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "no store here yet" in p.stderr
    assert Path(tmp_path / "x.duckdb").exists() is False


def test_a_terminal_column_has_the_same_decimals_on_every_row():
    from decimal import Decimal

    from crmtool.commands.common import _fmt_column

    # ratios and scores to 4 places (1.0000 beside 0.8280, not 1.00 beside 0.828); tons to 2, grouped from 100
    assert _fmt_column([0.9344, 1.0, 0.828, None]) == ["0.9344", "1.0000", "0.8280", ""]
    assert _fmt_column([12.5, 0.25]) == ["12.50", "0.25"]
    assert _fmt_column([27421.151, Decimal("3.1"), 0.0]) == ["27,421.15", "3.10", "0.00"]
    assert _fmt_column([1, 2, "x"]) == ["1", "2", "x"]  # whole numbers and text as they are


def test_an_output_that_cannot_be_written_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    import errno

    import pyarrow as pa
    import pytest

    import crmtool.reports.output as output
    from crmtool.errors import OutputError

    table = pa.table({"customer_id": ["A", "B"], "volume": [1.5, 2.0]})
    good = output.write_table(table, tmp_path / "warn.csv")
    before = good.read_bytes()

    def full_disk(table, sink):
        sink.write(b"customer_id,vol")
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(output, "write_csv", full_disk)
    with pytest.raises(OutputError, match=r"cannot write .*warn\.csv: No space left on device; nothing was written"):
        output.write_table(table, tmp_path / "warn.csv")
    # the good file as it was, and no temporary file beside it
    assert good.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["warn.csv"]
    (tmp_path / "m.xlsx").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        output.write_table(table, tmp_path / "m.xlsx")


def test_ctrl_c_and_a_closed_pipe_exit_as_a_shell_expects(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from crmtool.store import open_store
    from crmtool.config import Settings

    db = tmp_path / "crm.duckdb"
    open_store(db, Settings()).close()
    # a closed pipe (`| head`): exit 0, nothing on stderr
    p = subprocess.run(f"'{sys.executable}' -m crmtool --db '{db}' config show | head -c 10", shell=True,
                       capture_output=True, text=True)
    assert p.returncode == 0
    # Ctrl-C: exit 130 with one sentence, not 'internal error'
    big = tmp_path / "o.csv"
    big.write_text("凭证号,行号,过账日期,客户编码,数量\n" + "".join(f"A{i},1,2024-01-05,C{i % 97},1\n" for i in range(1_500_000)),
                   encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "crmtool", "--db", str(db), "load", "orders", str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # (the load of 1.5 million lines takes several seconds)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.strip().startswith("interrupted:"), err
    with open_store(db, Settings()) as store:  # the load landed not at all
        assert store.con.execute("SELECT count(*) FROM orders").fetchall()[0][0] == 0


def test_a_store_file_without_write_bits_is_read_only(tmp_path):
    import os

    db = tmp_path / "crm.duckdb"
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "B,1,2024-01-06,C1,5,吨\n", encoding="utf-8")
    assert invoke("--db", str(db), "load", "orders", str(f)).exit_code == 0 and db.exists()
    # chmod 444: read-only as its owner meant, even for root (whose os.access says it may write)
    os.chmod(db, 0o444)
    try:
        r = invoke("--db", str(db), "grade", "pareto", "--as-of", "2024-01-06")
        assert r.exit_code == 0 and "read-only" in r.stderr, r.stderr
    finally:
        os.chmod(db, 0o644)
