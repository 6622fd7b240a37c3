"""The churn analyses, registered with the runner (names ``churn.*``). Each builds on the one
monthly series of :mod:`crmtool.churn.series`, built once per run and shared through the run's
cache, and returns a :class:`~crmtool.result.Result` with its summary and sentences."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmtool.churn.backtest import churn_backtest, parse_ratios
from crmtool.churn.idle import churn_idle
from crmtool.labels import SEVERITY_ORDER, severity_label, status_label, with_labels
from crmtool.churn.series import ensure_series
from crmtool.churn.status import churn_status
from crmtool.churn.warn import churn_warn
from crmtool.churn.winback import churn_winback, winback_total
from crmtool.errors import UsageError
from crmtool.facts import add_months, month_start, parse_month
from crmtool.result import Result
from crmtool.runner import Option, RunContext, check_not_future, register

if TYPE_CHECKING:  # pragma: no cover
    import datetime as dt

    import pyarrow as pa

STATUS_ORDER = ("prospect", "new", "active", "churned", "lost")


def _series(rc: RunContext, month: "dt.date", first_month: "dt.date | None" = None):
    """The run's churn series, rebuilt only when it does not cover ``month`` (and ``first_month``)."""
    series = ensure_series(rc.con, rc.settings, rc.cache.get("churn_series"), month, first_month=first_month)
    rc.cache["churn_series"] = series
    return series


def _counts(table: "pa.Table", column: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in table.column(column).to_pylist():
        counts[v] = counts.get(v, 0) + 1
    return counts


@register("churn.status", period="month", title="Churn status", title_zh="客户流失状态")
def status(rc: RunContext) -> Result:
    p = rc.period
    table = churn_status(rc.con, p, rc.settings)
    counts = _counts(table, "status")
    ordered = {s: counts.get(s, 0) for s in STATUS_ORDER}
    sep = "，" if rc.lang == "zh" else ", "
    line = (f"{p.month_label}：" if rc.lang == "zh" else f"month {p.month_label}: ") + sep.join(
        f"{status_label(s, rc.lang)} {n}" for s, n in ordered.items() if n)
    return Result("churn_status", with_labels(table, rc.lang), p.month_label, p.as_of,
                  {"month": p.month_label, "customers": table.num_rows, "statuses": ordered}, lines=[line])


@register("churn.warn", period="month", title="Early warning", title_zh="购油预警",
          options=(Option("include_all", False, "every customer, severity none included"),
                   Option("min_severity", "low", "low, medium or high: that severity and above"),
                   Option("manager", None, "only this manager's customers")))
def warn(rc: RunContext, *, include_all: bool, min_severity: str, manager: str | None) -> Result:
    p = rc.period
    if manager is not None and not rc.con.execute(
            "SELECT 1 FROM managers WHERE manager_id = ? UNION ALL SELECT 1 FROM customers_resolved "
            "WHERE manager_id = ? LIMIT 1", [manager, manager]).fetchall():
        from crmtool.errors import UsageError

        known = [r[0] for r in rc.con.execute(
            "SELECT DISTINCT manager_id FROM customers_resolved WHERE manager_id IS NOT NULL ORDER BY 1 LIMIT 8"
        ).fetchall()]
        raise UsageError(f"--manager {manager!r}: no such manager (neither in managers nor in the archive); "
                         f"known: {', '.join(known) or '(none)'}")
    table = churn_warn(rc.con, p, rc.settings, include_all=include_all, min_severity=min_severity.strip().lower(),
                       manager=manager, series=_series(rc, p.month))
    counts = _counts(table, "severity")
    ordered = {s: counts.get(s, 0) for s in reversed(SEVERITY_ORDER)}
    if rc.lang == "zh":
        line = f"{p.month_label}：" + ("，".join(f"{severity_label(s, rc.lang)} {n}" for s, n in ordered.items() if n)
                                         or "无预警")
    else:
        line = f"month {p.month_label}: " + (", ".join(f"{severity_label(s, rc.lang)} {n}" for s, n in ordered.items()
                                                        if n) or "no warnings")
    return Result("churn_warn", with_labels(table, rc.lang), p.month_label, p.as_of,
                  {"month": p.month_label, "warnings": table.num_rows, "severities": ordered}, lines=[line])


@register("churn.idle", period="month", title="Idle months", title_zh="客户未购月数监控",
          options=(Option("by", "manager", "manager, region or level"),))
def idle(rc: RunContext, *, by: str) -> Result:
    p = rc.period
    by = by.strip().lower()
    table = churn_idle(rc.con, p, rc.settings, by=by)
    total = sum(table.column("total").to_pylist())
    return Result(f"churn_idle_{by}", table, p.month_label, p.as_of,
                  {"month": p.month_label, "by": by, "customers": total},
                  lines=[f"{p.month_label}：有购油记录的客户 {total} 个，按{ {'manager': '客户经理', 'region': '地区', 'level': '客户级别'}.get(by, by)}统计"
                         if rc.lang == "zh" else f"month {p.month_label}: {total} customers with a purchase, by {by}"])


def winback_range(rc: RunContext, first: str | None, last: str | None) -> tuple["dt.date", "dt.date"]:
    """The win-back months: --from/--to, defaulting to the ``churn.winback_months`` months ending
    at the judged month (a lone --from runs to the judged month or later; a lone --to looks back)."""
    n = int(rc.settings.churn.winback_months)
    lo = parse_month(first, "--from") if first else None
    hi = parse_month(last, "--to") if last else None
    if lo and not hi:
        hi = max(lo, rc.period.month)
    hi = hi or rc.period.month
    if not rc.allow_future:  # SPEC §3: a --to (or --from) after the data is refused like --month
        check_not_future(rc.con, None, hi)
    lo = lo or add_months(month_start(hi), -(n - 1))
    return lo, hi


@register("churn.winback", period="month", title="Win-back", title_zh="客户回归",
          options=(Option("first", None, "first month (YYYY-MM)"), Option("last", None, "last month (YYYY-MM)")))
def winback(rc: RunContext, *, first: str | None, last: str | None) -> Result:
    lo, hi = winback_range(rc, first, last)
    table = churn_winback(rc.con, lo, hi, rc.settings, series=_series(rc, max(hi, rc.period.month), lo))
    label = f"{lo:%Y-%m}..{hi:%Y-%m}"
    n, volume = winback_total(table)
    return Result("churn_winback", table, label, rc.period.as_of,
                  {"from": f"{lo:%Y-%m}", "to": f"{hi:%Y-%m}", "customers": n, "volume_since_return": volume},
                  lines=[f"{label}：回归客户 {n} 个，回归以来购油 {volume:,.2f} 吨" if rc.lang == "zh" else
                         f"period {label}: {n} customers won back, {volume:,.2f} t since their return"])


@register("churn.backtest", period="month", title="Warning backtest", title_zh="预警回测",
          options=(Option("first", None, "first judged month (YYYY-MM)"),
                   Option("last", None, "last judged month (YYYY-MM)"),
                   Option("horizon", lambda s: s.backtest.horizon, "months ahead a churn counts"),
                   Option("ratios", None, "warning ratio(s), e.g. 0.6,0.7,0.8"),
                   Option("idle_months", lambda s: s.backtest.idle_months, "the no-purchase comparison rule"),
                   Option("by_severity", None, "rows per severity (default with one ratio)"),
                   Option("rule", "warning", "warning, alive (p_alive < threshold, BG/NBD) or all"),
                   Option("thresholds", None, "p_alive threshold(s) of the alive rule, e.g. 0.2,0.3,0.5")))
def backtest(rc: RunContext, *, first: str | None, last: str | None, horizon: int, ratios: str | list | None,
             idle_months: int, by_severity: bool | None, rule: str = "warning",
             thresholds: str | list | None = None) -> Result:
    """The data ends at the judged month; by default the ``backtest.months`` months ending
    ``horizon`` months before it are judged.

    ``rule``: ``warning`` scores the 70 % rule (per severity with one ratio); ``alive`` adds the rule
    "p_alive under the threshold" (:func:`crmtool.churn.alive.alive_backtest`, rows ``alive``) beside
    the 70 % rule's overall row and the idle rule; ``all`` adds it to the default warning rows. The
    plain idle rule is always there as the comparison."""
    import pyarrow as pa
    import pyarrow.compute as pc

    p = rc.period
    rule = (rule or "warning").strip().lower()
    if rule not in ("warning", "alive", "all"):
        raise UsageError(f"--rule {rule}: use warning, alive or all")
    ratio_list = ratios if isinstance(ratios, list) else parse_ratios(ratios, rc.settings.warning.ratio)
    hi = parse_month(last, "--to") if last else add_months(p.month, -int(horizon))
    lo = parse_month(first, "--from") if first else add_months(hi, -(int(rc.settings.backtest.months) - 1))
    table = churn_backtest(rc.con, rc.settings, first=lo, last=hi, data_end=p.month, horizon=int(horizon),
                           ratios=ratio_list, idle_months=int(idle_months))
    rc.cache.pop("churn_series", None)  # the backtest rebuilt the series with its own ratios
    per_severity = by_severity if by_severity is not None else (len(ratio_list) == 1 and rule != "alive")
    if not per_severity:
        table = table.filter(pc.equal(table.column("severity"), "any"))
    threshold_list: list[float] = []
    if rule in ("alive", "all"):
        from crmtool.churn.alive import alive_backtest, parse_thresholds

        threshold_list = parse_thresholds(thresholds, rc.settings.alive.threshold)
        alive_rows = alive_backtest(rc.con, rc.settings, first=lo, last=hi, data_end=p.month, horizon=int(horizon),
                                    thresholds=threshold_list)
        table = pa.concat_tables([table, alive_rows.select(table.column_names).cast(table.schema)])
    months = table.column("months").to_pylist()[0]
    label = f"{lo:%Y-%m}..{hi:%Y-%m}/h{horizon}"
    span = f"{table.column('first_month')[0]}..{table.column('last_month')[0]}"
    line = (f"回测 {months} 个月（{span}），观察期 {horizon} 个月；数据截至 {p.month_label}" if rc.lang == "zh" else
            f"{months} month(s) judged ({span}), horizon {horizon}; data ends {p.month_label}")
    return Result("churn_backtest", table, label, p.as_of,
                  {"months": months, "horizon": int(horizon), "ratios": ratio_list, "data_end": p.month_label,
                   "rule": rule, "thresholds": threshold_list},
                  lines=[line])


from crmtool.churn import alive as _alive  # noqa: E402,F401  registers churn.alive (SPEC §4.12, BG/NBD)
