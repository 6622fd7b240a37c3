"""The monthly job's pieces, in process: which table a file in the inbox goes to, what a scan finds,
and which analyses a month runs (quarter ends, December, campaigns overlapping the month)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path, PurePosixPath

import pytest

from crmtool.config import Settings, load_settings
from crmtool.errors import InputError
from crmtool.monthly import match_table, plan, scan_inbox, skip_reasons
from tests.conftest import d, insert

PATTERNS = Settings().run.patterns


@pytest.mark.parametrize("rel, table", [
    ("2025-12客户档案.xlsx", "customers"),
    ("ERP订单_2025-12.csv", "orders"),
    ("销售明细202512.xlsx", "orders"),
    ("ORDERS-2025-12.CSV", "orders"),  # patterns match case-insensitively
    ("客户编码映射.csv", "code_map"),
    ("客户经理名单.xlsx", "managers"),
    ("2026年计划.xlsx", "plans"),
    ("合同台账.xlsx", "contracts"),
    ("营销活动.csv", "campaigns"),
    ("配送运费单.csv", "freight"),
    ("线索.csv", "leads"),
    ("拜访记录.csv", "visits"),
    ("orders/export.csv", "orders"),  # a sub-folder named after the table
    ("2025-12/订单/a.csv", "orders"),  # at any depth, by its Chinese name too
    ("visits/客户档案.csv", "visits"),  # the folder wins over the name
])
def test_a_file_is_matched_to_its_table(rel, table):
    assert match_table(PurePosixPath(rel), PATTERNS)[0] == table


def test_no_table_or_two_tables_is_no_match_and_says_why():
    assert match_table(PurePosixPath("说明.txt"), PATTERNS) == (None, "matches no table")
    table, why = match_table(PurePosixPath("客户经理拜访.csv"), PATTERNS)
    assert table is None and "managers (*客户经理*)" in why and "visits (*拜访*)" in why


def test_config_patterns_replace_a_tables_defaults(tmp_path):
    cfg = tmp_path / "crmtool.toml"
    cfg.write_text('[run.patterns]\norders = ["ZXSD*.csv"]\n', encoding="utf-8")
    patterns = load_settings(cfg).run.patterns
    assert match_table(PurePosixPath("zxsd_202512.csv"), patterns) == ("orders", "pattern ZXSD*.csv")
    assert match_table(PurePosixPath("orders.csv"), patterns)[0] is None
    assert match_table(PurePosixPath("customers.csv"), patterns)[0] == "customers"  # other tables keep theirs


def _touch(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_scan_skips_done_ignores_lock_files_and_knows_loaded_and_duplicate_files(tmp_path):
    inbox = tmp_path / "inbox"
    _touch(inbox / "orders" / "b.csv", "B")
    _touch(inbox / "orders" / "a.csv", "A")
    _touch(inbox / "a-copy订单.csv", "A")  # the same bytes again
    _touch(inbox / "customers.csv", "C")  # loaded before
    _touch(inbox / "done" / "2025-11" / "whatever.txt", "x")
    _touch(inbox / "~$orders.xlsx", "lock")
    _touch(inbox / ".DS_Store", "x")
    _touch(inbox / "orders.csv.part", "x")
    import hashlib

    loaded = {hashlib.sha256(b"C").hexdigest(): 7}
    said: list[str] = []
    files = scan_inbox(inbox, PATTERNS, loaded, said.append)
    assert [(f.file, f.table, f.status) for f in files] == [
        ("a-copy订单.csv", "orders", "new"),
        ("customers.csv", None, "already loaded"),
        ("orders/a.csv", None, "duplicate of a-copy订单.csv"),
        ("orders/b.csv", "orders", "new"),
    ]
    assert files[1].batch_id == 7
    assert len(said) == 3 and all("ignored" in s for s in said)


def test_scan_names_every_file_that_fits_no_table(tmp_path):
    inbox = tmp_path / "inbox"
    _touch(inbox / "orders.csv", "A")
    _touch(inbox / "readme.txt", "B")
    _touch(inbox / "sub" / "客户经理拜访.csv", "C")
    with pytest.raises(InputError) as e:
        scan_inbox(inbox, PATTERNS, {}, lambda m: None)
    assert "2 file(s) fit no single table: readme.txt (matches no table); sub/客户经理拜访.csv" in str(e.value)


def _steps(store, month: str) -> list[tuple[str, dict]]:
    return [(s.name, s.options) for s in plan(store.con, dt.date.fromisoformat(month + "-01"))]


def test_the_plan_of_a_month_a_quarter_end_and_december(store):
    insert(store, "campaigns", [
        {"campaign_id": "C1", "name": "夏季", "start_date": d("2025-05-20"), "end_date": d("2025-06-30")},
        {"campaign_id": "C2", "name": "年末", "start_date": d("2025-11-15"), "end_date": d("2025-12-31")},
        {"campaign_id": "C0", "name": "一天", "start_date": d("2025-11-30"), "end_date": d("2025-11-30")},
    ])
    nov = _steps(store, "2025-11")
    assert [o for n, o in nov if n == "managers.scorecard"] == [{"monthly": True}]
    assert [o for n, o in nov if n == "sales.campaign"] == [{"campaign_id": "C0"}, {"campaign_id": "C2"}]
    assert ("sales.freight", {"first": "2025-11", "last": "2025-11"}) in nov
    assert [o for n, o in _steps(store, "2025-09") if n == "managers.scorecard"] == [
        {"monthly": True}, {"quarter": "2025Q3"}]
    dec = _steps(store, "2025-12")
    assert [o for n, o in dec if n == "managers.scorecard"] == [{"monthly": True}, {"quarter": "2025Q4"},
                                                                {"year": "2025"}]
    assert [o for n, o in dec if n == "sales.campaign"] == [{"campaign_id": "C2"}]
    assert [o for n, o in _steps(store, "2025-07") if n == "sales.campaign"] == []


def test_two_campaigns_still_running_both_give_their_reason_in_the_report(store):
    insert(store, "campaigns", [
        {"campaign_id": "C1", "name": "冬储", "start_date": d("2025-11-01"), "end_date": d("2026-01-31")},
        {"campaign_id": "C2", "name": "年末", "start_date": d("2025-11-15"), "end_date": d("2026-02-28")},
    ])
    steps = [s for s in plan(store.con, dt.date(2025, 12, 1)) if s.name == "sales.campaign"]
    skipped = [{"name": s.name, "reason": s.why(), "reason_zh": s.why("zh")} for s in steps]
    assert skip_reasons(skipped, "en") == {"sales.campaign": (
        "campaign C1 runs to 2026-01-31: judged in the month it ends; "
        "campaign C2 runs to 2026-02-28: judged in the month it ends")}
    zh = skip_reasons(skipped, "zh")["sales.campaign"]
    assert "C1" in zh and "C2" in zh and "2026-02-28" in zh
    # a reason given twice is given once; a record without reason_zh falls back to the English one
    assert skip_reasons([{"name": "a", "reason": "x"}, {"name": "a", "reason": "x"}], "zh") == {"a": "x"}


def test_an_optional_analysis_that_fails_is_skipped_with_its_reason_in_both_languages():
    from crmtool.errors import AnalysisError
    from crmtool.monthly import RunRecord, Step, _run_steps

    class Runner:
        def run(self, name, **_):
            raise AnalysisError("too few repeat buyers to fit BG/NBD", zh="复购客户太少，无法拟合 BG/NBD")

    rec = RunRecord("0", "now", "in", "out", "db")
    said: list[str] = []
    done = _run_steps(Runner(), [Step("churn.alive", required=False)], dt.date(2025, 12, 31), dt.date(2025, 12, 1),
                      rec, said.append)
    assert done == [] and said == ["churn.alive: skipped (too few repeat buyers to fit BG/NBD)"]
    assert skip_reasons(rec.skipped, "en") == {"churn.alive": "too few repeat buyers to fit BG/NBD"}
    # the error's own Chinese sentence (the report puts "— 未显示：" before it); one without falls back to English
    assert skip_reasons(rec.skipped, "zh") == {"churn.alive": "复购客户太少，无法拟合 BG/NBD"}
    with pytest.raises(AnalysisError, match="^grade.rfm: too few"):
        _run_steps(Runner(), [Step("grade.rfm")], dt.date(2025, 12, 31), dt.date(2025, 12, 1), rec, said.append)


def test_the_plan_covers_every_analysis_the_monthly_report_shows_with_options_the_runner_knows(store):
    from crmtool.reports import REPORT_KINDS
    from crmtool.runner import registry

    steps = plan(store.con, dt.date(2025, 12, 1))
    # (campaigns run one per campaign overlapping the month: none here, see above)
    assert set(REPORT_KINDS["monthly"]) - {"sales.campaign"} <= {s.name for s in steps}
    reg = registry()
    for s in steps:
        assert set(s.options) <= {o.name for o in reg[s.name].options}, s
