"""The manager analyses, registered with the runner (name ``managers.scorecard``)."""

from __future__ import annotations

from crmtool.managers.scorecard import manager_scorecard
from crmtool.result import Result
from crmtool.runner import Option, RunContext, register
from crmtool.sales.periods import calendar_period


@register("managers.scorecard", period="month", title="Account-manager scorecard", title_zh="客户经理评价",
          options=(Option("quarter", None, "a quarter, e.g. 2024Q2 (default: the quarter of the judged month)"),
                   Option("year", None, "a calendar year, e.g. 2024"),
                   Option("monthly", False, "judge the month (--month) instead of its quarter"),
                   Option("region", None, "only the managers of this region (the score is computed on all)"),
                   Option("team", None, "only the managers of this team (the score is computed on all)")))
def scorecard(rc: RunContext, *, quarter: str | None, year: str | None, monthly: bool, region: str | None,
              team: str | None) -> Result:
    cp = calendar_period(rc.period, quarter=quarter, year=year, monthly=monthly, default="quarter")
    table, population = manager_scorecard(rc.con, rc.period, rc.settings, cp, region=region, team=team,
                                          lang=rc.lang)
    grades = [t.id for t in rc.settings.managers.grades]
    found = table.column("grade").to_pylist()
    counts = {g: found.count(g) for g in grades}
    volume = sum(v or 0 for v in table.column("volume").to_pylist())
    # the lines of customers no manager holds (in no archive, or without a manager_id) are in no row:
    # said, so the managers' total is not read as the company's
    n_free, v_free = rc.con.execute(
        "SELECT count(DISTINCT o.customer_id), coalesce(CAST(sum(o.quantity) AS DOUBLE), 0) FROM orders_resolved o "
        "LEFT JOIN customers_resolved c ON c.customer_id = o.customer_id "
        "WHERE o.order_date BETWEEN ? AND ? AND nullif(trim(CAST(c.manager_id AS VARCHAR)), '') IS NULL",
        [cp.first, cp.end]).fetchall()[0]
    if rc.lang == "zh":
        shown = f"{population} 名中的 {table.num_rows} 名" if table.num_rows != population else f"{population} 名"
        lines = [f"客户经理评价 {cp.label}：客户经理 {shown}，销量 {volume:,.1f} 吨",
                 "  " + "，".join(f"{g} {n}" for g, n in counts.items())]
        if n_free:
            lines.append(f"  无客户经理的 {n_free} 个客户（不在客户档案中或未填客户经理）共 {v_free:,.1f} 吨，不计入任何客户经理")
    else:
        shown = f"{table.num_rows} of {population}" if table.num_rows != population else str(population)
        lines = [f"Manager scorecard {cp.label}: {shown} managers, volume {volume:,.1f} t",
                 "  grades " + ", ".join(f"{g} {n}" for g, n in counts.items())]
        if n_free:
            lines.append(f"  {v_free:,.1f} t of {n_free} customer(s) with no manager (in no archive, or none given) "
                         "count for no manager")
    summary = {"period": cp.label, "from": cp.first.isoformat(), "to": cp.end.isoformat(), "managers": population,
               "shown": table.num_rows, "grades": counts, "volume": volume,
               "no_manager": {"customers": int(n_free), "volume": float(v_free)}}
    return Result("managers_scorecard", table, cp.label, cp.end, summary, lines=lines)
