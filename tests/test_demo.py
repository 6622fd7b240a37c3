"""`crmtool demo` and `crmtool sample` end to end through the CLI."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from crmtool.cli import app

runner = CliRunner()


def test_demo_writes_every_output(tmp_path, monkeypatch):
    # the demo's code paths on a small sample (the full 1,500-customer sample takes a minute with
    # every report in two languages; the README's quick start is that run)
    import crmtool.sample

    full = crmtool.sample.write_sample
    monkeypatch.setattr(crmtool.sample, "write_sample",
                        lambda path, seed=7: full(path, seed=seed, customers=200, managers=6, years=2))
    out = tmp_path / "demo"
    r = runner.invoke(app, ["demo", "--out", str(out)])
    assert r.exit_code == 0, r.output
    written = {}
    for line in r.stdout.splitlines():
        label, _, path = line.rpartition(" ")
        written[label.strip()] = Path(path)
    for label in ("sample exports", "store", "store status", "workbook (all results)", "grade_rfm", "grade_pareto",
                  "grade_level", "grade_scorecard", "classify_quadrant", "churn_status", "churn_warn", "churn_idle",
                  "churn_winback"):
        assert label in written, label
        assert written[label].exists(), label
    with open(written["grade_rfm"], encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 120 and set(rows[0]) >= {"customer_id", "segment", "rfm_cell"}
    reports = {label: path for label, path in written.items() if label.startswith("report ")}
    for kind in ("grading", "churn", "managers", "sales", "monthly"):
        for lang in ("en", "zh"):
            for fmt in ("xlsx", "html"):
                assert reports[f"report {kind} ({lang}, {fmt})"].stat().st_size > 0, (kind, lang, fmt)
    wb = load_workbook(written["workbook (all results)"], read_only=True)
    assert wb.sheetnames[0] == "summary" and "churn_warn" in wb.sheetnames
    # a second run rebuilds the store instead of adding to it. It runs on a smaller sample: were the
    # store added to, the first run's customers would still be graded and RFM would have at least as
    # many rows as before
    monkeypatch.setattr(crmtool.sample, "write_sample",
                        lambda path, seed=7: full(path, seed=seed, customers=50, managers=4, years=2))
    from crmtool.demo import run_demo

    list(run_demo(out, reports=False))  # the library call behind the command; the reports were checked above
    with open(out / "results" / "grade_rfm.csv", encoding="utf-8-sig") as f:
        again = list(csv.DictReader(f))
    assert 0 < len(again) < 100 < len(rows)  # 50 archive customers and a few orders-only ids


def test_sample_command_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        r = runner.invoke(app, ["sample", str(d), "--customers", "60", "--managers", "4", "--years", "1", "--seed", "3"])
        assert r.exit_code == 0, r.output
    assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
    for p in a.iterdir():
        assert p.read_bytes() == (b / p.name).read_bytes(), p.name
    assert "orders" in r.stdout and "customers" in r.stdout
