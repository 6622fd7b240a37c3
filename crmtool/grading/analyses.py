"""The grading analyses, registered with the runner (names ``grade.*`` and ``classify.quadrant``)."""

from __future__ import annotations

from crmtool.grading.level import level
from crmtool.grading.pareto import pareto
from crmtool.grading.quadrant import quadrant
from crmtool.grading.rfm import rfm
from crmtool.grading.scorecard import scorecard
from crmtool.result import Result
from crmtool.runner import Option, RunContext, register


@register("grade.rfm", period="as_of", title="RFM", title_zh="RFM客户价值",
          options=(Option("metric", lambda s: s.rfm.metric, "amount, volume or profit"),
                   Option("window", lambda s: s.rfm.window_months, "trailing window in months")))
def grade_rfm(rc: RunContext, *, metric: str, window: int) -> Result:
    return rfm(rc.con, rc.period, rc.settings, metric=metric, window=window, lang=rc.lang)


@register("grade.pareto", period="as_of", title="Pareto ABC", title_zh="帕累托ABC分类",
          options=(Option("metric", lambda s: s.pareto.metric, "volume, amount or profit"),
                   Option("window", lambda s: s.pareto.window_months, "trailing window in months")))
def grade_pareto(rc: RunContext, *, metric: str, window: int) -> Result:
    return pareto(rc.con, rc.period, rc.settings, metric=metric, window=window, lang=rc.lang)


@register("grade.level", period="as_of", title="Level suggestion", title_zh="客户定级建议",
          options=(Option("window", lambda s: s.level.window_months, "trailing window in months"),
                   Option("compare", None, "as-of date of an earlier level snapshot to compare with")))
def grade_level(rc: RunContext, *, window: int, compare: str | None) -> Result:
    from crmtool.grading.snapshots import compare_levels

    result = level(rc.con, rc.period, rc.settings, window=window, lang=rc.lang)
    if compare:
        if rc.store is None:
            from crmtool.errors import UsageError

            raise UsageError("--compare needs a store")
        result = compare_levels(rc.store, result, rc.settings, compare, lang=rc.lang)
    return result


@register("grade.scorecard", period="month", title="Balanced scorecard", title_zh="平衡计分卡",
          options=(Option("quarter", None, "a quarter, e.g. 2024Q2"), Option("year", None, "a year, e.g. 2024")))
def grade_scorecard(rc: RunContext, *, quarter: str | None, year: str | None) -> Result:
    return scorecard(rc.con, rc.period, rc.settings, quarter=quarter, year=year, lang=rc.lang)


@register("classify.quadrant", period="as_of", title="Four-quadrant", title_zh="两维四象限",
          options=(Option("window", lambda s: s.quadrant.window_months, "trailing window in months"),))
def classify_quadrant(rc: RunContext, *, window: int) -> Result:
    return quadrant(rc.con, rc.period, rc.settings, window=window, lang=rc.lang)
