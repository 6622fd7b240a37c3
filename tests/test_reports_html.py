"""HTML reports (SPEC §5): one self-contained page, offline, escaped, sortable, with the same tables."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from crmtool import reports
from crmtool.cli import app
from crmtool.config import Settings
from crmtool.runner import Runner
from crmtool.store import open_store
from tests.reports_fixtures import FORMULA_NAME, SCRIPT_NAME, report_store  # noqa: F401


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.scripts = 0
        self.ids: set[str] = set()
        self.tables: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "script":
            self.scripts += 1
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "action", "data", "poster", "srcset") and v is not None:
                self.urls.append((tag, k, v))
            if k == "id":
                self.ids.add(v)


@pytest.fixture(scope="module")
def pages(report_store, tmp_path_factory):  # noqa: F811
    db, formula_id, script_id = report_store
    out = tmp_path_factory.mktemp("html")
    with open_store(db, Settings()) as store:
        results = reports.collect(Runner(store, Settings()), "monthly")
        meta = reports.meta_for(store, results)
        paths = {lang: reports.render("monthly", results, fmt="html", lang=lang, path=out / f"monthly.{lang}.html",
                                      meta=meta) for lang in ("en", "zh")}
        paths["customer"] = reports.customer_page(store, script_id, fmt="html", lang="zh", path=out / "c.html")
    return results, paths


def _parse(text: str) -> _Collect:
    p = _Collect()
    p.feed(text)
    return p


def test_no_network_reference_of_any_kind(pages):
    _, paths = pages
    for path in paths.values():
        text = path.read_text(encoding="utf-8")
        p = _parse(text)
        for tag, attr, url in p.urls:
            assert url.startswith("#"), (path.name, tag, attr, url)  # only in-page anchors
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I), path.name
        assert not re.search(r"url\(\s*['\"]?(?!#)", text)  # only url(#clip) inside the SVG
        assert "@import" not in text and "<link" not in text.lower()
        assert "<iframe" not in text.lower() and "<img" not in text.lower()


def test_names_from_the_inputs_are_escaped(pages):
    _, paths = pages
    for key in ("en", "customer"):
        text = paths[key].read_text(encoding="utf-8")
        assert SCRIPT_NAME not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert _parse(text).scripts == 1  # the page's own sort script only
    text = paths["en"].read_text(encoding="utf-8")
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in text or "=HYPERLINK(&quot;http://x&quot;" in text


def test_contents_link_every_section_table_and_chart(pages):
    _, paths = pages
    text = paths["zh"].read_text(encoding="utf-8")
    p = _parse(text)
    anchors = {url[1:] for _, attr, url in p.urls if attr == "href" and url.startswith("#")}
    assert anchors and anchors <= p.ids
    for title in ("客户定级建议", "购油预警", "客户经理评价", "直分销销量概览", "目录", "摘要"):
        assert title in text
    assert text.count("<svg") == 8  # levels, segments, Lorenz, quadrant, status, idle, ranking, trend
    assert text.count('class="data sortable"') >= 20
    assert "@media print" in text and "Noto Sans CJK SC" in text and "Microsoft YaHei" in text


def test_tables_show_the_result_rows_formatted(pages):
    results, paths = pages
    text = paths["en"].read_text(encoding="utf-8")
    pareto = results["grade.pareto"].table.to_pylist()
    first = pareto[0]
    assert f"{first['share'] * 100:.1f}%" in text
    r = results["managers.scorecard"].table.to_pylist()[0]
    assert f"{r['score']:.3f}" in text
    # the same numbers in both languages: every formatted number of the English page is on the Chinese one
    zh = paths["zh"].read_text(encoding="utf-8")
    nums = lambda t: re.findall(r'<td class="n[^"]*">([^<]+)</td>', t)  # noqa: E731
    assert nums(text) == nums(zh)


def test_customer_page_masks_the_phone_and_says_when_history_is_short(report_store, tmp_path):  # noqa: F811
    db, formula_id, _ = report_store
    with open_store(db, Settings(), read_only=True) as store:
        phone = store.con.execute("SELECT phone FROM customers WHERE customer_id = ?", [formula_id]).fetchall()[0][0]
        masked = reports.customer_page(store, formula_id, fmt="html", lang="en", path=tmp_path / "a.html")
        shown = reports.customer_page(store, formula_id, fmt="html", lang="en", path=tmp_path / "b.html",
                                      show_contacts=True)
        n_level = store.con.execute("SELECT count(DISTINCT as_of) FROM snapshots WHERE analysis = 'level'"
                                    ).fetchall()[0][0]
    a, b = masked.read_text(encoding="utf-8"), shown.read_text(encoding="utf-8")
    if phone:
        digits = re.sub(r"\D", "", phone)
        assert digits not in a and f"{digits[:3]}****{digits[-4:]}" in a
        assert phone in b
    assert ("Fewer than two level snapshots" in a) == (n_level < 2)
    assert a.count("<svg") == 1 and "Monthly volume by category" in a


def test_the_customer_type_reads_in_the_page_language(report_store, tmp_path):  # noqa: F811
    import shutil

    db, formula_id, _ = report_store
    shutil.copy(db, tmp_path / "copy.duckdb")  # the shared store stays as the other tests know it
    with open_store(tmp_path / "copy.duckdb", Settings()) as store:
        store.con.execute("UPDATE customers SET customer_type = 'distribution' WHERE customer_id = ?", [formula_id])
        zh = reports.customer_page(store, formula_id, fmt="html", lang="zh", path=tmp_path / "zh.html")
        en = reports.customer_page(store, formula_id, fmt="html", lang="en", path=tmp_path / "en.html")
    assert "<td>分销</td>" in zh.read_text(encoding="utf-8").replace(" ", "")
    assert "distribution" not in zh.read_text(encoding="utf-8").split("<body")[1].split("<script")[0]
    assert "distribution" in en.read_text(encoding="utf-8")


def test_cli_writes_each_kind(report_store, tmp_path):  # noqa: F811
    db, formula_id, _ = report_store
    runner = CliRunner()
    for kind, ext in (("managers", "xlsx"), ("churn", "html"), ("grading", "html"), ("sales", "xlsx")):
        out = tmp_path / f"{kind}.{ext}"
        r = runner.invoke(app, ["--db", str(db), "report", kind, "--format", ext, "--lang", "zh", "-o", str(out)])
        assert r.exit_code == 0, r.output
        assert out.stat().st_size > 1000
    r = runner.invoke(app, ["--db", str(db), "report", "customer", "--id", formula_id, "-o", str(tmp_path / "c.html")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--db", str(db), "report", "customer", "-o", str(tmp_path / "c.html")])
    assert r.exit_code == 2 and "--id" in r.output
    r = runner.invoke(app, ["--db", str(db), "report", "nonsense", "-o", str(tmp_path / "x.html")])
    assert r.exit_code == 2
    r = runner.invoke(app, ["--db", str(db), "report", "managers", "-o", str(tmp_path / "x.pdf")])
    assert r.exit_code == 2 and "xlsx or html" in r.output
    r = runner.invoke(app, ["--db", str(db), "report", "managers", "--format", "html", "-o", str(tmp_path / "z.xlsx")])
    assert r.exit_code == 2 and "ends in .xlsx" in r.output and not (tmp_path / "z.xlsx").exists()
    r = runner.invoke(app, ["--db", str(db), "report", "managers", "--quarter", "2025Q3", "-o",
                            str(tmp_path / "q.xlsx")])
    assert r.exit_code == 0, r.output
    # SPEC §3: a period after the orders is refused, not written as a report of empty sheets
    with open_store(db, Settings(), read_only=True) as store:
        last = store.con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]
    after = f"{last.year + 1}-01"
    for args in (["report", "churn", "--month", after], ["report", "grading", "--as-of", f"{after}-15"],
                 ["report", "managers", "--quarter", f"{last.year + 1}Q1"]):
        out = tmp_path / "future.xlsx"
        r = runner.invoke(app, ["--db", str(db), *args, "-o", str(out)])
        assert r.exit_code == 1 and f"orders end {last}" in r.output and not out.exists(), (args, r.output)


def test_collect_skips_an_analysis_with_nothing_to_work_on(report_store, tmp_path):  # noqa: F811
    db, _, _ = report_store
    with open_store(db, Settings()) as store:
        store.con.execute("CREATE TEMP TABLE saved_campaigns AS SELECT * FROM campaigns")
        store.con.execute("DELETE FROM campaigns")
        try:
            results = reports.collect(Runner(store, Settings()), "sales")
        finally:
            store.con.execute("INSERT INTO campaigns SELECT * FROM saved_campaigns")
        path = reports.render("sales", results, fmt="html", lang="en", path=tmp_path / "s.html",
                              meta=reports.meta_for(store, results))
        zh = reports.render("sales", results, fmt="html", lang="zh", path=tmp_path / "s.zh.html",
                            meta=reports.meta_for(store, results))
    assert "sales.campaign" in results.skipped and "sales.campaign" not in results
    page = path.read_text(encoding="utf-8")
    assert "Please note" in page and " — not shown: no campaigns loaded" in page
    # in Chinese the reason is Chinese too
    page = zh.read_text(encoding="utf-8")
    assert "营销活动效果分析 — 未显示：未导入营销活动" in page and "no campaigns loaded" not in page


def test_the_row_of_customers_with_no_manager_is_named(pages):
    """The sales overview's ytd by manager: the lines of customers in no archive (or with no manager)
    are a row of their own, named in the page's language."""
    results, paths = pages
    managers = results["sales.overview"].extras["managers"].to_pylist()
    assert any(m["manager_id"] is None and m["ytd"] for m in managers)  # the sample has such lines
    assert "（无客户经理）" in paths["zh"].read_text(encoding="utf-8")
    en = paths["en"].read_text(encoding="utf-8")
    assert "(no manager)" in en and "（无客户经理）" not in en


def test_a_phone_with_a_country_code_is_masked_as_the_number_itself():
    from crmtool.reports.customer import mask_phone

    assert mask_phone("13800005678") == "138****5678"
    # +86 / 0086 off first: 861****1111 would read as another mobile number
    assert mask_phone("+86 137 0000 1111") == mask_phone("0086-13700001111") == "137****1111"
    assert mask_phone("021-6234 5678") == "021****5678" and mask_phone("12") == "****" and mask_phone(None) is None


def test_two_numbers_in_one_phone_cell_are_masked_each():
    from crmtool.reports.customer import mask_phone

    # one 22-digit "number" would keep the first's 138 and the second's 4321: each is masked instead
    assert mask_phone("13812345678 / 13987654321") == "138****5678 / 139****4321"
    assert mask_phone("0931-8888666，13812345678") == "093****8666 / 138****5678"
    assert mask_phone("0931 8888 6666") == "093****6666"  # spaces inside one number keep it one
    assert mask_phone("138 1234 5678") == "138****5678"
    assert mask_phone("13812345678 13900001111") == "138****5678 / 139****1111"  # one space between two


def test_without_fit_scores_the_quadrant_section_says_why_there_is_no_chart(tmp_path):
    from tests.conftest import d, insert

    path = tmp_path / "crm.duckdb"
    s = open_store(path, Settings(), wait=0)
    insert(s, "customers", [dict(customer_id=f"C{i}", name=f"c{i}", annual_demand=100 * i) for i in range(1, 4)])
    insert(s, "orders", [dict(order_id=f"O{i}", order_date=d("2024-06-10"), customer_code=f"C{i}", quantity=i,
                              amount=10 * i, cost=8 * i) for i in range(1, 4)])
    s.close()
    for lang, text in (("en", "No customer has a strategic-fit score"), ("zh", "客户档案中没有战略匹配度")):
        out = tmp_path / f"g.{lang}.html"
        r = CliRunner().invoke(app, ["--db", str(path), "--lang", lang, "report", "grading", "--format", "html",
                                     "-o", str(out)])
        assert r.exit_code == 0, r.output
        page = out.read_text(encoding="utf-8")
        assert text in page and "chart-quadrant" not in page  # an empty scatter would say nothing
