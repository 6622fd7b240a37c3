"""Reports at scale (issue 13): a table longer than report.max_rows shows its top rows in the workbook
and the HTML page, and the whole result table is written beside the report and named in its summary."""

from __future__ import annotations

import dataclasses
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from crmtool import reports
from crmtool.config import ReportSettings, Settings, load_settings
from crmtool.errors import ConfigError
from crmtool.reports.model import top_rows
from crmtool.runner import Runner
from crmtool.store import open_store
from tests.reports_fixtures import report_store  # noqa: F401

CAP = 7


def capped(max_rows: int = CAP, full_format: str = "parquet") -> Settings:
    return dataclasses.replace(Settings(), report=ReportSettings(max_rows=max_rows, full_format=full_format))


@pytest.fixture(scope="module")
def churn_report(report_store, tmp_path_factory):  # noqa: F811
    db, _, _ = report_store
    out = tmp_path_factory.mktemp("scale")
    settings = capped()
    with open_store(db, settings) as store:
        results = reports.collect(Runner(store, settings, save=False), "churn")
        meta = reports.meta_for(store, results, settings=settings)
        written: list = []
        xlsx = reports.render("churn", results, fmt="xlsx", lang="en", path=out / "churn.en.xlsx", meta=meta,
                              written=written)
        html_written: list = []
        html = reports.render("churn", results, fmt="html", lang="zh", path=out / "churn.zh.html", meta=meta,
                              written=html_written)
    return results, xlsx, html, written, html_written, out


def test_a_long_table_shows_its_top_rows_and_the_whole_table_is_beside_the_report(churn_report):
    results, xlsx, _, written, _, out = churn_report
    status = results["churn.status"].table
    assert status.num_rows > CAP  # the fixture has more customers than the cap
    full = out / "churn.en.churn-status-Churn-status.parquet"
    assert full in written and written[-1] == xlsx
    # the file beside holds the whole result table, exactly
    assert pq.read_table(full).equals(status)
    wb = load_workbook(xlsx)
    ws = wb["Churn status"]
    rows = [r for r in ws.iter_rows(values_only=True)]
    body = rows[1:1 + CAP]
    assert all(r[0] is not None for r in body)
    # the sheet says where the rest is, below the data (outside the filter range)
    assert rows[1 + CAP + 1][0] == (f"The first {CAP:,} of {status.num_rows:,} rows are shown; the whole table is "
                                    f"in {full.name}, beside this report.")
    assert ws.auto_filter.ref.endswith(str(CAP + 1))
    # the summary names every whole table and its row count
    summary = [r for r in wb["Summary"].iter_rows(values_only=True) if r and r[0] is not None]
    i = next(k for k, r in enumerate(summary) if r[0] == "Full results beside this report")
    listed = {r[0]: (r[1], r[2]) for r in summary[i + 3:] if r[2] and str(r[2]).endswith(".parquet")}
    assert listed["Churn status"] == (status.num_rows, full.name)


def test_top_rows_of_status_put_churned_then_lost_first_and_warnings_by_severity(churn_report):
    results, xlsx, _, _, _, _ = churn_report
    status = results["churn.status"].table
    top = top_rows("churn.status", status, CAP).to_pylist()
    order = {"churned": 0, "lost": 1, "new": 2, "active": 3, "prospect": 4}
    ranks = [order[r["status"]] for r in top]
    assert ranks == sorted(ranks)
    everything = status.to_pylist()
    # the top rows are the most urgent of the whole table: no row left out ranks before the last one shown
    worst_shown = max(ranks)
    assert sum(1 for r in everything if order[r["status"]] < worst_shown) <= CAP
    warn = results["churn.warn"].table
    if warn.num_rows > CAP:
        sev = {"high": 0, "medium": 1, "low": 2}
        got = [sev[r["severity"]] for r in top_rows("churn.warn", warn, CAP).to_pylist()]
        assert got == sorted(got)


def test_top_rows_by_hand():
    t = pa.table({"customer_id": ["a", "b", "c", "d", "e"],
                  "status": ["active", "lost", "churned", "churned", None],
                  "last_purchase_date": pa.array([1, 2, 3, 5, 4], pa.int32())})
    # churned first (latest purchase first), then lost, then active, unknown status last
    assert top_rows("churn.status", t, 4).column("customer_id").to_pylist() == ["d", "c", "b", "a"]
    # an analysis already ranked keeps its own order
    assert top_rows("grade.rfm", t, 2).column("customer_id").to_pylist() == ["a", "b"]


def test_the_html_page_says_where_the_whole_table_is(churn_report):
    results, _, html, _, html_written, out = churn_report
    text = html.read_text(encoding="utf-8")
    n = results["churn.status"].table.num_rows
    full = next(p for p in html_written if "churn-status" in p.name)
    assert full.parent == out and full.suffix == ".parquet"
    assert f"仅显示前 {CAP:,} 行（共 {n:,} 行），完整结果见本报告旁的 {full.name}。" in text
    assert "完整结果（与本报告同目录）" in text
    # the page shows CAP rows of that table
    section = text.split(f'id="{full.name.split(".")[2]}"', 1)[1].split("</table>", 1)[0]
    assert section.count("<tr") == CAP + 1  # header + CAP rows


def test_full_tables_as_csv_and_a_short_table_is_not_cut(report_store, tmp_path):  # noqa: F811
    db, _, _ = report_store
    settings = capped(full_format="csv")
    with open_store(db, settings, read_only=True) as store:
        results = reports.collect(Runner(store, settings, save=False), "managers")
        written: list = []
        reports.render("managers", results, fmt="xlsx", lang="en", path=tmp_path / "m.xlsx", written=written,
                       meta=reports.meta_for(store, results, settings=settings))
    assert results["managers.scorecard"].table.num_rows <= CAP
    assert written == [tmp_path / "m.xlsx"]  # nothing cut, nothing beside
    with open_store(db, settings, read_only=True) as store:
        results = reports.collect(Runner(store, settings, save=False), "grading")
        written = []
        reports.render("grading", results, fmt="xlsx", lang="en", path=tmp_path / "g.xlsx", written=written,
                       meta=reports.meta_for(store, results, settings=settings))
    rfm = next(p for p in written if "grade-rfm" in p.name)
    assert rfm.suffix == ".csv"
    text = rfm.read_text(encoding="utf-8-sig").splitlines()
    assert len(text) == results["grade.rfm"].table.num_rows + 1


def test_max_rows_and_format_are_checked(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[report]\nmax_rows = 2000000\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="report.max_rows"):
        load_settings(bad)
    bad.write_text("[report]\nfull_format = \"xlsx\"\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="report.full_format"):
        load_settings(bad)
    good = tmp_path / "good.toml"
    good.write_text("[report]\nmax_rows = 100\nfull_format = \"csv\"\n", encoding="utf-8")
    assert load_settings(good).report == ReportSettings(100, "csv")


def test_monthly_job_publishes_the_whole_tables_beside_its_reports(tmp_path):
    import shutil
    import subprocess
    import sys

    from crmtool.sample import write_sample

    inbox = tmp_path / "inbox"
    write_sample(inbox, customers=40, managers=3, years=2)
    cfg = tmp_path / "crmtool.toml"
    cfg.write_text("[report]\nmax_rows = 10\n[run]\nformats = [\"xlsx\", \"html\"]\n", encoding="utf-8")
    out = tmp_path / "out"
    open_store(tmp_path / "c.duckdb", Settings()).close()  # `crmtool init`
    p = subprocess.run([sys.executable, "-m", "crmtool", "--config", str(cfg), "--db", str(tmp_path / "c.duckdb"),
                        "run", "monthly", "--inbox", str(inbox), "--out", str(out)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert p.returncode == 0, p.stderr
    run = json.loads(p.stdout and (out / "2025-12" / "run.json").read_text(encoding="utf-8"))
    paths = [o["path"] for o in run["outputs"]]
    assert len(paths) == len(set(paths))  # the xlsx and html share the whole tables: each published once
    beside = [p for p in paths if p.endswith(".parquet")]
    assert any("churn-status" in p for p in beside)
    for p in beside:
        assert pq.read_table(p).num_rows > 10
    shutil.rmtree(out)


def test_report_command_names_the_whole_tables(report_store, tmp_path):  # noqa: F811
    import subprocess
    import sys

    db, _, _ = report_store
    cfg = tmp_path / "crmtool.toml"
    cfg.write_text(f"[report]\nmax_rows = {CAP}\n", encoding="utf-8")
    out = tmp_path / "churn.xlsx"
    p = subprocess.run([sys.executable, "-m", "crmtool", "--config", str(cfg), "--db", str(db), "report", "churn",
                        "-o", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert p.returncode == 0, p.stderr
    lines = p.stderr.splitlines()
    i = next(k for k, line in enumerate(lines) if "long table(s) show their first rows (report.max_rows)" in line)
    named = [line.strip() for line in lines[i + 1:] if line.startswith("  ")]
    assert named and all(n.endswith(".parquet") and (tmp_path / n.split("/")[-1]).is_file() for n in named)
    assert int(lines[i].split()[0]) == len(named)
