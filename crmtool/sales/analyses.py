"""The sales analyses, registered with the runner (names ``sales.*``), SPEC §4.10."""

from __future__ import annotations

from crmtool.result import Result
from crmtool.runner import Option, RunContext, register
from crmtool.sales.periods import calendar_period, date_range


def _num(v) -> float:
    return float(v) if v is not None else 0.0


@register("sales.overview", period="as_of", title="Sales overview", title_zh="直分销销量概览")
def sales_overview(rc: RunContext) -> Result:
    from crmtool.sales.overview import overview

    d = rc.period.as_of
    table, managers = overview(rc.con, d, rc.settings, lang=rc.lang)
    total = table.to_pylist()[-1]
    warnings = [r["category"] for r in table.to_pylist() if r["warning"]]
    summary = {"as_of": d.isoformat(), "ytd": total["ytd"], "mtd": total["mtd"], "day": total["day"],
               "month_completion": total["month_completion"], "year_completion": total["year_completion"],
               "yoy": total["yoy"], "mom": total["mom"], "warnings": warnings}

    def pct(v):
        return "n/a" if v is None else f"{v:.1%}"

    if rc.lang == "zh":
        lines = [f"销量概览 {d}：当日 {_num(total['day']):,.1f} 吨，月累计 {_num(total['mtd']):,.1f} 吨，"
                 f"年累计 {_num(total['ytd']):,.1f} 吨；月完成 {pct(total['month_completion'])}"
                 f"（进度 {pct(total['month_progress'])}），年完成 {pct(total['year_completion'])}"
                 f"（进度 {pct(total['year_progress'])}），同比 {pct(total['yoy'])}，环比 {pct(total['mom'])}"]
        if warnings:
            from crmtool.labels import CATEGORY_LABELS, pick

            names = pick(CATEGORY_LABELS, "zh")  # (合计 for the total row)
            lines.append("  预警：" + "，".join(names.get(w, w) for w in warnings))
    else:
        lines = [f"Sales overview {d}: day {_num(total['day']):,.1f} t, month to date {_num(total['mtd']):,.1f} t, "
                 f"year to date {_num(total['ytd']):,.1f} t; month completion {pct(total['month_completion'])} "
                 f"(progress {pct(total['month_progress'])}), year completion {pct(total['year_completion'])} "
                 f"(progress {pct(total['year_progress'])}), yoy {pct(total['yoy'])}, mom {pct(total['mom'])}"]
        if warnings:
            lines.append("  warning: " + ", ".join(warnings))
    return Result("sales_overview", table, d.isoformat(), d, summary, extras={"managers": managers}, lines=lines)


@register("sales.pivot", period="as_of", title="Sales pivot", title_zh="销量多口径统计",
          options=(Option("by", "month", "dimensions, comma-separated: customer, region, district, industry, "
                                         "manager, level, category, product, month, quarter, year"),
                   Option("measure", "volume", "measures, comma-separated: volume, amount, profit, customers, lines"),
                   Option("first", None, "first date (YYYY-MM-DD or YYYY-MM), inclusive"),
                   Option("last", None, "last date (YYYY-MM-DD or YYYY-MM), inclusive")))
def sales_pivot(rc: RunContext, *, by: str, measure: str, first: str | None, last: str | None) -> Result:
    from crmtool.sales.pivot import pivot

    lo, hi = date_range(rc.period, first, last)
    table, dims, measures = pivot(rc.con, lo, hi, by=by, measure=measure, lang=rc.lang)
    total = table.to_pylist()[-1]
    label = f"{lo}..{hi}"
    summary = {"from": lo.isoformat(), "to": hi.isoformat(), "by": dims, "measures": measures,
               "groups": table.num_rows - 1, "total": {m: total[m] for m in measures}}
    shown = ", ".join(f"{m} —" if total[m] is None  # no line has it (a profit with no amount and cost)
                      else f"{m} {float(total[m]):,.1f}" if m in ("volume", "amount", "profit") else f"{m} {total[m]}"
                      for m in measures)
    lines = ([f"销量统计 {lo} 至 {hi}，按 {'、'.join(dims)}：{table.num_rows - 1} 组；合计 {shown}"] if rc.lang == "zh"
             else [f"Pivot {lo} to {hi} by {', '.join(dims)}: {table.num_rows - 1} groups; total {shown}"])
    return Result("sales_pivot", table, label, hi, summary, lines=lines)


@register("sales.attainment", period="month", title="Volume attainment", title_zh="购油量达标分析",
          options=(Option("quarter", None, "a quarter, e.g. 2024Q2"),
                   Option("year", None, "a calendar year, e.g. 2024"),
                   Option("by", "region", "region, industry, level, demand_class, loyalty or manager")))
def sales_attainment(rc: RunContext, *, quarter: str | None, year: str | None, by: str) -> Result:
    from crmtool.sales.attainment import attainment

    cp = calendar_period(rc.period, quarter=quarter, year=year, default="month")
    customers, groups, under = attainment(rc.con, rc.period, rc.settings, cp, by=by, lang=rc.lang)
    expected = sum(_num(v) for v in customers.column("expected").to_pylist())
    actual = sum(_num(v) for v in customers.column("actual").to_pylist())
    summary = {"period": cp.label, "customers": customers.num_rows, "under_target": under.num_rows,
               "expected": expected, "actual": actual, "attainment": actual / expected if expected else None,
               "threshold": rc.settings.attainment.threshold}
    ratio = f"{actual / expected:.1%}" if expected else "n/a"
    lines = ([f"购油量达标 {cp.label}：{customers.num_rows} 户，预判 {expected:,.1f} 吨，实际 {actual:,.1f} 吨"
              f"（{ratio}），未达标 {under.num_rows} 户"] if rc.lang == "zh"
             else [f"Attainment {cp.label}: {customers.num_rows} customers, expected {expected:,.1f} t, actual "
                   f"{actual:,.1f} t ({ratio}); {under.num_rows} under target"])
    return Result("sales_attainment", customers, cp.label, cp.end, summary,
                  extras={"groups": groups, "under_target": under}, lines=lines)


@register("sales.campaign", period="as_of", title="Campaign effect", title_zh="营销活动效果分析",
          options=(Option("campaign_id", None, "one campaign (default: all)"),))
def sales_campaign(rc: RunContext, *, campaign_id: str | None) -> Result:
    from crmtool.sales.campaign import campaign

    table, customers, managers, sensitivity, pending = campaign(
        rc.con, campaign_id=campaign_id, as_of=None if rc.allow_future else rc.period.as_of, lang=rc.lang)
    rows = [r for r in table.to_pylist() if r["group"] == "target"]
    incremental = sum(_num(r["incremental"]) for r in rows)
    summary = {"campaigns": len(rows), "targets": sum(r["customers"] for r in rows), "incremental": incremental,
               "did": {r["campaign_id"]: r["did"] for r in rows}}

    def t(v):
        return "n/a" if v is None else f"{v:,.2f}"

    if rc.lang == "zh":
        lines = [f"活动 {r['campaign_id']} {r['name']}：目标 {r['customers']} 户，双重差分 {t(r['did'])} 吨/户，"
                 f"同比双重差分 {t(r['did_yoy'])}，增量 {t(r['incremental'])} 吨" for r in rows]
    else:
        lines = [f"Campaign {r['campaign_id']} {r['name']}: {r['customers']} targets, did {t(r['did'])} t/customer, "
                 f"did_yoy {t(r['did_yoy'])}, incremental {t(r['incremental'])} t" for r in rows]
    if pending:
        summary["not_ended"] = {cid: str(end) for cid, end in pending}
        ids = ", ".join(f"{cid} ({end})" for cid, end in pending)
        lines.append(f"截至 {rc.period.as_of} 尚未结束、未评估的活动（结束日）：{ids}" if rc.lang == "zh"
                     else f"Not judged yet, not ended by {rc.period.as_of} (end date): {ids}")
    return Result("sales_campaign", table, campaign_id or "all", rc.period.as_of, summary,
                  extras={"customers": customers, "managers": managers, "sensitivity": sensitivity}, lines=lines)


@register("sales.freight", period="as_of", title="Freight", title_zh="配送运费分析",
          options=(Option("first", None, "first date (YYYY-MM-DD or YYYY-MM), inclusive"),
                   Option("last", None, "last date (YYYY-MM-DD or YYYY-MM), inclusive")))
def sales_freight(rc: RunContext, *, first: str | None, last: str | None) -> Result:
    from crmtool.sales.freight import freight

    lo, hi = date_range(rc.period, first, last)
    customers, trend, carriers, routes = freight(rc.con, lo, hi)
    extras = {"trend": trend}
    if carriers is not None:
        extras["carriers"] = carriers
    if routes is not None:
        extras["routes"] = routes
    cost = sum(_num(v) for v in trend.column("cost").to_pylist())
    qty = sum(_num(v) for v in trend.column("quantity").to_pylist())
    per_ton = f"{cost / qty:,.2f}" if qty > 0 else "n/a"
    summary = {"from": lo.isoformat(), "to": hi.isoformat(), "cost": cost, "quantity": qty,
               "cost_per_ton": cost / qty if qty > 0 else None, "customers": len(set(customers.column("customer_id")
                                                                               .to_pylist()))}
    lines = ([f"运费 {lo} 至 {hi}：运费 {cost:,.2f}，运量 {qty:,.1f} 吨，吨运费 {per_ton}"] if rc.lang == "zh"
             else [f"Freight {lo} to {hi}: cost {cost:,.2f}, quantity {qty:,.1f} t, cost per ton {per_ton}"])
    return Result("sales_freight", customers, f"{lo}..{hi}", hi, summary, extras=extras, lines=lines)
