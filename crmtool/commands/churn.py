"""`crmtool churn …`: parse options, run one registered analysis, render it."""


from typing import Annotated, Optional

import typer

from crmtool.commands.common import (AllowFutureOpt, command_group, AsOfOpt, LimitOpt, MonthOpt, OutputOpt, render, render_result,
                                     result_title, state,
                                     run_command, stdout_is_terminal)

app = command_group(help="Churn: status, early warning, idle monitoring, win-back, backtest, purchase probability (BG/NBD).",
                  no_args_is_help=True)

# what a manager reads first on a terminal: who, how bad, then the numbers
WARN_TERMINAL_FIRST = ("customer_id", "name", "severity_label", "severity", "breach_streak", "volume", "baseline",
                       "ratio", "decline_streak", "notify")

FromOpt = Annotated[Optional[str], typer.Option("--from", help="First month (YYYY-MM).")]
ToOpt = Annotated[Optional[str], typer.Option("--to", help="Last month (YYYY-MM).")]


@app.command()
def status(ctx: typer.Context, as_of: AsOfOpt = None, month: MonthOpt = None, output: OutputOpt = None,
           limit: LimitOpt = 20, allow_future: AllowFutureOpt = False) -> None:
    """Idle months and status (prospect/new/active/churned/lost), purchase cycle and overdue flag."""
    result = run_command(ctx, "churn.status", as_of=as_of, month=month, allow_future=allow_future)
    render_result(ctx, result, output=output, limit=limit, title=result_title(ctx, result, f"churn status {result.period}"))


@app.command()
def warn(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    month: MonthOpt = None,
    all_rows: Annotated[bool, typer.Option("--all", help="Every customer, severity none included.")] = False,
    severity: Annotated[str, typer.Option("--severity", help="low, medium or high: that severity and above.")] = "low",
    manager: Annotated[Optional[str], typer.Option("--manager", help="Only this manager's customers (manager id).")]
    = None,
    output: OutputOpt = None,
    limit: LimitOpt = 20,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Early warning 购油预警: a month's volume under 70 % of the mean of the 3 months before it,
    breach and decline streaks, severity (high: a key customer breached 2+ months running) and who is told.

    On a terminal the warnings are grouped per manager; piped, CSV sorted by manager_id, severity
    (high first), customer_id."""
    result = run_command(ctx, "churn.warn", as_of=as_of, month=month, allow_future=allow_future,
                         include_all=all_rows, min_severity=severity, manager=manager)
    table, title = result.table, result_title(ctx, result, f"churn warnings {result.period}")
    zh = state(ctx).lang == "zh"
    if output is not None or not stdout_is_terminal() or table.num_rows == 0:
        render_result(ctx, result, output=output, limit=limit, title=title)
        return
    # a terminal: one table per manager, so each manager sees their own list
    import pyarrow as pa
    import pyarrow.compute as pc

    seen: list = []
    for m in table.column("manager_id").to_pylist():
        if m not in seen:
            seen.append(m)
    for i, m in enumerate(seen):
        mask = pc.is_null(table.column("manager_id")) if m is None else pc.equal(table.column("manager_id"), pa.scalar(m))
        part = table.filter(mask).drop_columns(["month", "manager_id"] +
                                               (["severity"] if "severity_label" in table.column_names else []))
        first = [c for c in WARN_TERMINAL_FIRST if c in part.column_names]
        part = part.select(first + [c for c in part.column_names if c not in first])
        who = (m if m is not None else "（无）") if zh else (m if m is not None else "(none)")
        render(ctx, part, title=f"{title} — {'客户经理' if zh else 'manager'} {who}",
               summary=result.lines if i == len(seen) - 1 else None, limit=limit, fmt="table", analysis=result.name)


@app.command()
def idle(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    month: MonthOpt = None,
    by: Annotated[str, typer.Option("--by", help="manager, region or level.")] = "manager",
    output: OutputOpt = None,
    limit: LimitOpt = 20,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Customer counts by idle months 0, 1, …, 7, 8+ per manager, region or level."""
    result = run_command(ctx, "churn.idle", as_of=as_of, month=month, allow_future=allow_future, by=by)
    render_result(ctx, result, output=output, limit=limit,
                  title=result_title(ctx, result, f"idle months by {result.options['by'].strip().lower()} {result.period}"))


@app.command()
def winback(
    ctx: typer.Context,
    first: FromOpt = None,
    last: ToOpt = None,
    as_of: AsOfOpt = None,
    month: MonthOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 20,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Customers won back 客户回归 (no purchase for 4+ months, then a purchase): return month and
    volume since the return. Default period: the 12 months ending at the judged month."""
    result = run_command(ctx, "churn.winback", as_of=as_of, month=month, allow_future=allow_future, first=first,
                         last=last)
    render_result(ctx, result, output=output, limit=limit, title=result_title(ctx, result, f"win-back {result.period}"))


@app.command()
def backtest(
    ctx: typer.Context,
    first: FromOpt = None,
    last: ToOpt = None,
    horizon: Annotated[Optional[int], typer.Option("--horizon", min=1, max=36, help="Months ahead a churn counts "
                                                   "(default backtest.horizon, 6).")] = None,
    ratio: Annotated[Optional[str], typer.Option("--ratio", help="Warning ratio(s), e.g. 0.6,0.7,0.8 for a sweep. "
                                                 "Default: warning.ratio.")] = None,
    idle_months: Annotated[Optional[int], typer.Option("--idle-months", min=1, help="The comparison rule: no "
                                                       "purchase for N months (default 2).")] = None,
    by_severity: Annotated[Optional[bool], typer.Option("--by-severity/--overall", show_default=False,
                                                        help="Rows per severity (default with one ratio) or overall "
                                                        "only (default for a sweep: one row per ratio).")] = None,
    rule: Annotated[str, typer.Option("--rule", help="warning: the 70 % rule; alive: p_alive under --threshold "
                                      "(BG/NBD, one fit per judged month) beside the 70 % rule's overall row; all: "
                                      "both. The no-purchase rule is always the comparison.")] = "warning",
    threshold: Annotated[Optional[str], typer.Option("--threshold", help="p_alive threshold(s) of the alive rule, "
                                                     "e.g. 0.2,0.3,0.5 for a sweep. Default: alive.threshold "
                                                     "(0.3).")] = None,
    as_of: AsOfOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 40,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Backtest the warning: precision, recall and median lead time against actual churn, with the
    plain no-purchase rule as the comparison (and with --rule alive, the BG/NBD p_alive rule). The
    data ends at the month --as-of judges."""
    result = run_command(ctx, "churn.backtest", as_of=as_of, allow_future=allow_future, first=first, last=last,
                         horizon=horizon, ratios=ratio, idle_months=idle_months, by_severity=by_severity,
                         rule=rule, thresholds=threshold)
    # (precision and recall beside the rule: on a narrow terminal the columns on the right are left out)
    render_result(ctx, result, output=output, limit=limit, title=result_title(ctx, result, f"warning backtest {result.period}"),
                  columns=["rule", "ratio", "severity", "precision", "recall", "median_lead_months", "warned", "churned",
                           "hits", "months", "customer_months"])


from crmtool.commands.alive import alive_cmd  # noqa: E402

app.command("alive")(alive_cmd)
