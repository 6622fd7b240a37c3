"""Excel reports (SPEC §5): reopened with openpyxl and checked against the result tables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import load_workbook

from crmtool import labels as L
from crmtool import reports
from crmtool.config import Settings
from crmtool.runner import Runner
from crmtool.store import open_store
from tests.reports_fixtures import FORMULA_NAME, chart_kinds, report_store, sheet_xml  # noqa: F401


@pytest.fixture(scope="module")
def monthly(report_store, tmp_path_factory):  # noqa: F811
    """The monthly results once, and the workbook in both languages."""
    db, formula_id, script_id = report_store
    out = tmp_path_factory.mktemp("xlsx")
    with open_store(db, Settings()) as store:
        results = reports.collect(Runner(store, Settings()), "monthly")
        meta = reports.meta_for(store, results)
        paths = {lang: reports.render("monthly", results, fmt="xlsx", lang=lang, path=out / f"monthly.{lang}.xlsx",
                                      meta=meta) for lang in ("en", "zh")}
        managers = reports.render("managers", {"managers.scorecard": results["managers.scorecard"]}, fmt="xlsx",
                                  lang="zh", path=out / "managers.zh.xlsx", meta=meta)
    return results, paths, managers, formula_id


def _sheet_by_header(wb, first_headers: list[str]):
    for ws in wb.worksheets:
        row = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
        if list(row[:len(first_headers)]) == first_headers:
            return ws
    raise AssertionError(f"no sheet starts with {first_headers}")


def test_summary_first_with_period_freshness_and_headlines(monthly):
    results, paths, _, _ = monthly
    wb = load_workbook(paths["zh"])
    assert wb.sheetnames[0] == "摘要" and wb.sheetnames[1] == "图表"
    cells = {r[0]: r[1] for r in wb["摘要"].iter_rows(values_only=True) if r and r[0] is not None}
    assert cells["考核月份"] == "2025-12"
    assert cells["截至日期"].date() == dt.date(2025, 12, 31)
    assert cells["最新订单日期"].date() == dt.date(2025, 12, 31)
    assert isinstance(cells["最近导入时间"], dt.datetime)  # a time, shown with its hours and minutes
    assert next(c for row in wb["摘要"].iter_rows() for c in row if c.value == cells["最近导入时间"]).number_format == \
        "yyyy-mm-dd hh:mm"
    levels = results["grade.level"].summary["levels"]
    assert cells["钻石"] == levels["diamond"] and cells["普通"] == levels["ordinary"]
    pareto = results["grade.pareto"].summary
    assert cells["A类客户占比"] == pytest.approx(pareto["a_customer_share"])
    assert cells["基尼系数"] == pytest.approx(pareto["gini"])
    sev = results["churn.warn"].summary["severities"]
    assert cells["高（通报）"] == sev["high"] and cells["低"] == sev["low"]
    total = [r for r in results["sales.overview"].table.to_pylist() if r["category"] == "total"][0]
    assert cells["月完成率"] == pytest.approx(total["month_completion"])
    assert cells["月时间进度"] == pytest.approx(total["month_progress"])
    assert "升降级幅度最大的客户" in cells


def test_every_table_sheet_is_labelled_formatted_frozen_filtered_and_print_ready(monthly):
    _, paths, _, _ = monthly
    wb = load_workbook(paths["zh"])
    tables = [ws for ws in wb.worksheets if ws.title not in ("摘要", "图表", "图表数据")]
    assert len(tables) >= 20
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert str(ws.page_setup.paperSize) == "9", ws.title  # A4
        assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    for ws in tables:
        assert ws.freeze_panes in ("A2", "B2"), ws.title
        assert ws.print_title_rows in ("1:1", "$1:$1"), ws.title
        header = next(ws.iter_rows(min_row=1, max_row=1, values_only=True))
        assert not any(h and "_" in h for h in header), (ws.title, header)  # labels, not snake_case ids
        if ws.max_row > 1:
            assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), ws.title


def test_pareto_sheet_matches_the_result_with_percent_formats(monthly):
    results, paths, _, _ = monthly
    wb = load_workbook(paths["zh"])
    ws = _sheet_by_header(wb, ["客户编码", "名称", "客户经理", "地区", "指标值", "占比"])
    table = results["grade.pareto"].table
    rows = list(ws.iter_rows(min_row=2, max_row=table.num_rows + 1))
    assert len(rows) == table.num_rows
    for cell_row, expected in zip(rows[:50], table.to_pylist()[:50]):
        assert cell_row[0].value == expected["customer_id"]
        assert cell_row[1].value == expected["name"]
        assert cell_row[4].value == pytest.approx(expected["metric_value"])
        assert cell_row[5].value == pytest.approx(expected["share"])
        assert cell_row[5].number_format == "0.0%" and cell_row[6].number_format == "0.0%"
        assert cell_row[4].number_format == "#,##0.0"
    assert ws.column_dimensions["B"].width >= 20  # names in Chinese fit (CJK counts double)


def test_managers_sheet_has_the_4_9_columns_values_and_one_sheet_per_region(monthly):
    results, _, managers, _ = monthly
    r = results["managers.scorecard"]
    wb = load_workbook(managers)
    ws = wb[wb.sheetnames[2]]
    header = next(ws.iter_rows(min_row=1, max_row=1, values_only=True))
    spec = ["manager_id", "name", "team", "region", "held", "held_change", "held_share", "buying", "buying_ratio",
            "new_customers", "retention", "lead_conversion", "lead_days", "visit_rate", "volume", "plan", "completion",
            "yoy", "qoq", "gross_margin", "ytd_volume", "ytd_plan", "ytd_completion", "ytd_yoy", "ytd_gross_margin",
            "score", "rank", "grade"]
    assert list(header) == [L.column_label(c, "zh") for c in spec]
    by_id = {row["manager_id"]: row for row in r.table.to_pylist()}
    got = list(ws.iter_rows(min_row=2, max_row=r.table.num_rows + 1, values_only=True))
    assert all(row[0] for row in got)
    # then a blank row and the volume no manager holds, which the managers' total leaves out
    free = r.summary["no_manager"]
    tail = [row[0] for row in ws.iter_rows(min_row=r.table.num_rows + 2, values_only=True)]
    assert free["customers"] > 0 and tail == [None, L.report_text(
        "note.no_manager", "zh", customers=free["customers"], volume=f"{free['volume']:,.1f}")]
    for row in got:
        expected = by_id[row[0]]
        assert row[spec.index("score")] == pytest.approx(expected["score"])
        assert row[spec.index("held")] == expected["held"]
        assert row[spec.index("grade")] == expected["grade"]
    pct = next(ws.iter_rows(min_row=2, max_row=2))
    assert pct[spec.index("completion")].number_format == "0.0%"
    assert pct[spec.index("held")].number_format == "#,##0"
    assert pct[spec.index("volume")].number_format == "#,##0.0"  # tons to a tenth, as in the sales sheets
    regions = {row["region"] for row in r.table.to_pylist() if row["region"]}
    region_sheets = [s for s in wb.sheetnames if s.startswith("客户经理 — ")]
    assert sorted(s.split(" — ", 1)[1] for s in region_sheets) == sorted(regions)
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 1  # one A4 page
    assert chart_kinds(managers) == ["barChart"]


def test_native_charts_of_the_monthly_workbook(monthly):
    _, paths, _, _ = monthly
    kinds = chart_kinds(paths["en"])
    # levels, segments, Lorenz, quadrant, status, idle, ranking, monthly trend
    assert sorted(kinds) == sorted(["barChart", "barChart", "scatterChart", "scatterChart", "barChart", "barChart",
                                    "barChart", "lineChart"])
    wb = load_workbook(paths["en"])
    assert "Chart data" in wb.sheetnames and wb.sheetnames[1] == "Charts"
    # the numbers behind the charts are hidden: a printout is the report, not pages of helper rows
    assert wb["Chart data"].sheet_state == "hidden" and wb["Charts"].sheet_state == "visible"


def test_migration_matrix_counts_the_level_rows_with_a_colour_scale(monthly):
    results, paths, _, _ = monthly
    wb = load_workbook(paths["en"])
    ws = wb["Level migration"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    counts = [v for row in rows if row[0] for v in row[1:] if isinstance(v, int)]
    assert sum(counts) == results["grade.level"].table.num_rows
    assert any(r.type == "colorScale" for cf in ws.conditional_formatting for r in cf.rules)


def test_severity_and_completion_have_conditional_formats(monthly):
    _, paths, _, _ = monthly
    wb = load_workbook(paths["en"])
    warn = wb["Early warning"]
    rules = [r for cf in warn.conditional_formatting for r in cf.rules]
    assert {r.formula[0] for r in rules if r.type == "cellIs"} >= {'"High"', '"Medium"', '"Low"'}
    overview = wb["Sales overview"]
    assert any(r.type == "colorScale" for cf in overview.conditional_formatting for r in cf.rules)


def test_the_scorecard_indicators_are_headed_as_scores_not_tons(monthly):
    # SPEC §4.4: volume = 100 · p(volume_M), a 0–100 score; the tons are volume_t
    _, paths, _, _ = monthly
    for lang, score, tons in (("zh", "销量得分", "销量(吨)"), ("en", "Volume score", "Volume (t)")):
        headers = [next(w.iter_rows(min_row=1, max_row=1, values_only=True)) for w in load_workbook(paths[lang])]
        card = [h for h in headers if L.column_label("balance", lang, "grade.scorecard") in h]
        assert card, lang
        assert score in card[0] and list(card[0]).count(tons) == 1, (lang, card[0])


def test_same_numbers_in_both_languages(monthly):
    _, paths, _, _ = monthly
    en, zh = load_workbook(paths["en"]), load_workbook(paths["zh"])
    assert len(en.sheetnames) == len(zh.sheetnames)
    for a, b in zip(en.worksheets[2:], zh.worksheets[2:]):
        nums_a = [v for row in a.iter_rows(min_row=2, max_row=60, values_only=True) for v in row
                  if isinstance(v, (int, float))]
        nums_b = [v for row in b.iter_rows(min_row=2, max_row=60, values_only=True) for v in row
                  if isinstance(v, (int, float))]
        assert nums_a == nums_b, (a.title, b.title)


def test_a_name_that_looks_like_a_formula_stays_text(monthly):
    _, paths, _, formula_id = monthly
    wb = load_workbook(paths["en"])
    ws = wb["Level suggestion"]
    hits = [row for row in ws.iter_rows(min_row=2) if row[0].value == formula_id]
    assert hits and hits[0][1].value == FORMULA_NAME and hits[0][1].data_type == "s"
    assert "<f>" not in sheet_xml(paths["en"])  # no formula anywhere


def test_customer_page_workbook(report_store, tmp_path):  # noqa: F811
    db, formula_id, _ = report_store
    with open_store(db, Settings()) as store:
        path = reports.customer_page(store, formula_id, fmt="xlsx", lang="zh", path=tmp_path / "c.xlsx")
        phone = store.con.execute("SELECT phone FROM customers WHERE customer_id = ?", [formula_id]).fetchall()[0][0]
    wb = load_workbook(path)
    assert wb.sheetnames[:2] == ["摘要", "图表"]
    profile = {r[0]: r[1] for r in wb["客户档案"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert profile["名称"] == FORMULA_NAME
    if phone:
        assert profile["电话"] != phone and "****" in profile["电话"]
    vol = wb["近 36 个月购油量"]
    assert vol.max_row >= 37
    assert chart_kinds(path) == ["lineChart"]


def test_hundred_thousand_rows_stream_under_a_gigabyte(tmp_path):
    """Write-only mode: a 100,000-row sheet never holds the workbook in memory (measured in a child
    process: its peak RSS, imports included)."""
    import subprocess
    import sys

    script = tmp_path / "big.py"
    script.write_text(f"""
import resource, pyarrow as pa
from crmtool.reports.model import Document, Section, TableBlock, Column, TEXT, TONS, PCT, INT
n = 100_000
t = pa.table({{"customer_id": [f"C{{i:07d}}" for i in range(n)], "name": ["客户名称有限公司" + str(i) for i in range(n)],
    "volume": [i * 1.5 for i in range(n)], "share": [i / n for i in range(n)], "rank": list(range(n)),
    "a": [float(i) for i in range(n)], "b": [float(i) for i in range(n)], "c": ["=x" if i % 7 == 0 else "y" for i in range(n)],
    "d": [i for i in range(n)], "e": [i * 2.0 for i in range(n)]}})
cols = [Column(k, k, f) for k, f in zip(t.column_names, [TEXT, TEXT, TONS, PCT, INT, TONS, TONS, TEXT, INT, TONS])]
doc = Document("monthly", "en", "big", [("As of", "2025-12-31")], [], [Section("s", "S", tables=[TableBlock("t", "T", cols, t)])])
from crmtool.reports.xlsx import write_xlsx
write_xlsx(doc, {str(tmp_path / 'big.xlsx')!r})
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""", encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    peak_kb = int(out.stdout.strip().splitlines()[-1])
    assert peak_kb < 1024 * 1024, f"peak {peak_kb / 1024:.0f} MB"
    wb = load_workbook(tmp_path / "big.xlsx", read_only=True)
    assert sum(1 for _ in wb["T"].iter_rows(values_only=True)) == 100_001
