"""One customer's page (SPEC §5, the seed's 单客户购油趋势) that an account manager takes to a visit:
profile from the archive (phone masked unless asked), level history from the stored ``level``
snapshots, monthly volume by gasoline / diesel / other (display data: one query over
orders_resolved), the stored warnings and the visits."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from crmtool import labels as L
from crmtool.io.schema import CUSTOMER_TYPES
from crmtool.reports.model import (DATE, INT, PLAIN, SCORE1, TEXT, TONS, Chart, Column, Document, Section,
                                   Series, TableBlock, freshness, table_block)

if TYPE_CHECKING:  # pragma: no cover
    from crmtool.config import Settings
    from crmtool.store import Store

PROFILE_FIELDS = ("customer_id", "name", "region", "district", "industry", "manager_id", "maintenance_level",
                  "level", "customer_type", "annual_demand", "expected_volume", "competitor", "service_type",
                  "loyalty_type", "risk_level", "peak_season", "created_date", "contact", "phone")
PROFILE_LABELS: dict[str, tuple[str, str]] = {
    "customer_type": ("Customer type", "客户类型"), "expected_volume": ("Expected volume (t)", "预计购油量(吨)"),
    "competitor": ("Competitor", "竞争对手"), "service_type": ("Service", "服务方式"),
    "loyalty_type": ("Loyalty (archive)", "忠诚度(档案)"), "risk_level": ("Risk level", "风险等级"),
    "peak_season": ("Peak season", "旺季"), "created_date": ("In the archive since", "建档日期"),
    "contact": ("Contact", "联系人"), "phone": ("Phone", "电话"), "manager_name": ("Manager name", "经理姓名"),
    "first_purchase": ("First purchase", "首次购油"), "last_purchase": ("Last purchase", "最近购油"),
}


def mask_phone(phone: Any) -> Any:
    """138****5678: the first three and the last four digits stay; shorter numbers keep the last two."""
    if phone is None:
        return None
    text = str(phone).strip()
    # two numbers in one cell (13812345678 / 0931-8888666): each masked, not read as one long number
    parts = [p for p in re.split(r"[/,;、，；|\n]+|\s{2,}", text) if p.strip()]
    if len(parts) == 1:  # 13812345678 13900001111: one space between two whole numbers (not 0931 8888 6666)
        parts = text.split() if all(len(re.sub(r"\D", "", p)) >= 7 for p in text.split()) else parts
    if len(parts) > 1 and all(len(re.sub(r"\D", "", p)) >= 7 for p in parts):
        return " / ".join(mask_phone(p) for p in parts)
    digits = re.sub(r"\D", "", text)
    # the country code off (+86 137 0000 1111 is 137****1111, not 861****1111, another number's look)
    digits = re.sub(r"^(?:00|\+)?86(?=1\d{10}$)", "", digits) if len(digits) > 11 else digits
    if len(digits) >= 8:
        return digits[:3] + "****" + digits[-4:]
    if len(digits) >= 3:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "****" if text else text


def _label(key: str, lang: str) -> str:
    if key in PROFILE_LABELS:
        return PROFILE_LABELS[key][1 if lang == "zh" else 0]
    return L.column_label(key, lang)


def _has_table(con, name: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()[0][0] > 0


def build_customer_document(store: "Store", customer_id: str, *, lang: str, settings: "Settings",
                            as_of: str | dt.date | None = None, show_contacts: bool = False, months: int = 36,
                            allow_future: bool = False) -> Document:
    import pyarrow as pa

    from crmtool.errors import AnalysisError
    from crmtool.facts import add_months, install_views, month_start, parse_date
    from crmtool.runner import check_not_future

    con = store.con
    install_views(con)
    t = lambda key, **kw: L.report_text(key, lang, **kw)  # noqa: E731
    fresh = freshness(con)
    if isinstance(as_of, str):
        as_of = parse_date(as_of)
    if as_of is not None and not allow_future:
        check_not_future(con, as_of, None)
    as_of = as_of or fresh.get("last_order_date") or dt.date.today()

    cur = con.execute(f"SELECT {', '.join(PROFILE_FIELDS)} FROM customers_resolved WHERE customer_id = ?",
                      [customer_id])
    row = cur.fetchone()
    archive = dict(zip(PROFILE_FIELDS, row)) if row else None
    span = con.execute("SELECT min(order_date) FILTER (WHERE is_purchase), max(order_date) FILTER (WHERE is_purchase), "
                       "count(*) FROM orders_resolved WHERE customer_id = ? AND order_date <= ?",
                       [customer_id, as_of]).fetchone()
    if archive is None and not span[2]:
        raise AnalysisError(f"customer {customer_id} is neither in the archive nor in the orders")

    levels = L.levels(settings, lang)
    # profile
    prof = archive or {"customer_id": customer_id}
    items: list[tuple[str, str]] = []
    manager_name = None
    if prof.get("manager_id"):
        r = con.execute("SELECT name FROM managers WHERE manager_id = ?", [prof["manager_id"]]).fetchone()
        manager_name = r[0] if r else None
    for key in PROFILE_FIELDS:
        value = prof.get(key)
        if key == "phone" and not show_contacts:
            value = mask_phone(value)
        if key == "level":
            value = levels.get(value, value)
        if key == "customer_type" and value in CUSTOMER_TYPES:  # the stored id, in the page's language
            value = CUSTOMER_TYPES[value][0] if lang == "zh" else value
        if key == "manager_id" and manager_name:
            value = f"{value} {manager_name}"
        items.append((_label(key, lang), _text(value)))
    items.append((_label("first_purchase", lang), _text(span[0])))
    items.append((_label("last_purchase", lang), _text(span[1])))
    profile = TableBlock("profile", t("customer.profile"),
                         [Column("item", L.column_label("item", lang), TEXT),
                          Column("value", L.column_label("value", lang), TEXT)],
                         pa.table({"item": [i for i, _ in items], "value": [v for _, v in items]}),
                         note="" if show_contacts else t("customer.contacts_masked"))

    # level history from the stored level snapshots
    history_rows: list[dict[str, Any]] = []
    n_snapshots = 0
    if _has_table(con, "snap_level"):
        n_snapshots = con.execute("SELECT count(DISTINCT as_of) FROM snapshots WHERE analysis = 'level'").fetchall()[0][0]
        history_rows = con.sql("""
            SELECT s.as_of, l.suggested_level, l.current_level, l.composite, l.rank
            FROM snapshots s JOIN snap_level l ON l.snapshot_id = s.snapshot_id
            WHERE s.analysis = 'level' AND l.customer_id = ?
            QUALIFY row_number() OVER (PARTITION BY s.as_of ORDER BY s.snapshot_id DESC) = 1
            ORDER BY s.as_of""", params=[customer_id]).to_arrow_table().to_pylist()
    hist = pa.table({
        "as_of": pa.array([r["as_of"] for r in history_rows], pa.date32()),
        "suggested_level": pa.array([levels.get(r["suggested_level"], r["suggested_level"]) for r in history_rows],
                                    pa.string()),
        "current_level": pa.array([levels.get(r["current_level"], r["current_level"]) for r in history_rows],
                                  pa.string()),
        "composite": pa.array([r["composite"] for r in history_rows], pa.float64()),
        "rank": pa.array([r["rank"] for r in history_rows], pa.int64()),
    })
    history = TableBlock("level-history", t("customer.level_history"),
                         [Column("as_of", L.column_label("as_of", lang), DATE),
                          Column("suggested_level", L.column_label("suggested_level", lang), TEXT),
                          Column("current_level", L.column_label("current_level", lang), TEXT),
                          Column("composite", L.column_label("composite", lang), SCORE1),
                          Column("rank", L.column_label("rank", lang), PLAIN)], hist,
                         note=t("customer.level_history_short", n=n_snapshots) if n_snapshots < 2 else "")

    # volume by month and category (display data)
    last_month = month_start(as_of)
    first_month = add_months(last_month, -(months - 1))
    vol = con.execute("""
        SELECT strftime(month, '%Y-%m') AS m,
               CASE WHEN category IN ('gasoline', 'diesel') THEN category ELSE 'other' END AS cat,
               sum(quantity) AS volume
        FROM orders_resolved
        WHERE customer_id = ? AND month BETWEEN ? AND ? AND order_date <= ?
        GROUP BY ALL""", [customer_id, first_month, last_month, as_of]).fetchall()
    month_keys = [add_months(first_month, i).strftime("%Y-%m") for i in range(months)]
    cell = {(m, c): float(v) for m, c, v in vol}
    cats = ("gasoline", "diesel", "other")
    data = {"month": month_keys}
    for c in cats:
        data[c] = [cell.get((m, c), 0.0) for m in month_keys]
    data["total"] = [sum(cell.get((m, c), 0.0) for c in cats) for m in month_keys]
    volume = TableBlock("volume", t("customer.volume", months=months),
                        [Column("month", L.column_label("month", lang), TEXT)]
                        + [Column(c, L.column_label(c, lang), TONS) for c in cats]
                        + [Column("total", L.total_label(lang), TONS)], pa.table(data))
    cat_label = L.pick(L.CATEGORY_LABELS, lang)
    shown_cats = [c for c in cats if any(data[c])] or ["gasoline", "diesel"]
    chart = Chart("chart-customer-volume", "line", t("chart.customer_volume"),
                  [Series(cat_label[c], data[c]) for c in shown_cats], categories=month_keys,
                  y_title=t("chart.trend.y"), y_fmt=INT)

    # warnings stored by churn warn runs
    warn_tables = []
    if _has_table(con, "snap_churn_warn"):
        w = con.sql("""
            SELECT s.period AS month, w.severity, w.volume, w.baseline, w.ratio, w.breach_streak, w.decline_streak,
                   w.notify
            FROM snapshots s JOIN snap_churn_warn w ON w.snapshot_id = s.snapshot_id
            WHERE s.analysis = 'churn_warn' AND w.customer_id = ? AND w.severity <> 'none'
            QUALIFY row_number() OVER (PARTITION BY s.period ORDER BY s.snapshot_id DESC) = 1
            ORDER BY s.period DESC""", params=[customer_id]).to_arrow_table()
        warn_tables.append(table_block("churn.warn", w, id="warnings", title=t("customer.warnings"), lang=lang,
                                       settings=settings, note="" if w.num_rows else t("customer.no_warnings")))
    else:
        warn_tables.append(TableBlock("warnings", t("customer.warnings"),
                                      [Column("month", L.column_label("month", lang), TEXT)],
                                      pa.table({"month": pa.array([], pa.string())}), note=t("customer.no_warnings")))

    visits_block = []
    v = con.sql("""
        SELECT visit_date, manager_id, kind, note FROM visits
        WHERE customer_id = ? AND visit_date <= ? ORDER BY visit_date DESC, visit_id LIMIT 500""",
               params=[customer_id, as_of]).to_arrow_table()
    visits_block.append(table_block("visits", v, id="visits", title=t("customer.visits"), lang=lang,
                                    settings=settings, who=False, note="" if v.num_rows else t("customer.no_visits")))

    name = prof.get("name") or ""
    facts: list[tuple[str, Any]] = [(L.column_label("customer_id", lang), customer_id)]
    if name:
        facts.append((L.column_label("name", lang), name))
    facts.append((t("as_of"), as_of))
    if fresh.get("last_order_date"):
        facts.append((t("last_order_date"), fresh["last_order_date"]))
    if fresh.get("last_load_time"):
        lt = fresh["last_load_time"]
        facts.append((t("last_load_time"), lt.replace(microsecond=0) if isinstance(lt, dt.datetime) else lt))
    sections = [
        Section("profile-section", t("customer.profile"), tables=[profile]),
        Section("volume-section", t("customer.volume", months=months), tables=[volume], charts=[chart]),
        Section("level-section", t("customer.level_history"), tables=[history]),
        Section("warnings-section", t("customer.warnings"), tables=warn_tables),
        Section("visits-section", t("customer.visits"), tables=visits_block),
    ]
    title = f"{t('report.customer')} — {customer_id} {name}".strip()
    return Document("customer", lang, title, facts, [], sections, [], slug="customer")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.1f}"
    try:
        import decimal

        if isinstance(value, decimal.Decimal):
            return f"{float(value):,.1f}"
    except ImportError:  # pragma: no cover
        pass
    return str(value)

