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
    if rc.lang == "zh":
        shown = f"{population} 名中的 {table.num_rows} 名" if table.num_rows != population else f"{population} 名"
        lines = [f"客户经理评价 {cp.label}：客户经理 {shown}，销量 {volume:,.1f} 吨",
                 "  " + "，".join(f"{g} {n}" for g, n in counts.items())]
    else:
        shown = f"{table.num_rows} of {population}" if table.num_rows != population else str(population)
        lines = [f"Manager scorecard {cp.label}: {shown} managers, volume {volume:,.1f} t",
                 "  grades " + ", ".join(f"{g} {n}" for g, n in counts.items())]
    summary = {"period": cp.label, "from": cp.first.isoformat(), "to": cp.end.isoformat(), "managers": population,
               "shown": table.num_rows, "grades": counts, "volume": volume}
    return Result("managers_scorecard", table, cp.label, cp.end, summary, lines=lines)
