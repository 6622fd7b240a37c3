"""`crmtool churn …`: parse options, call one function of :mod:`crmtool.churn`, store the result as
a snapshot, render it."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crmtool.commands.common import AsOfOpt, LimitOpt, MonthOpt, OutputOpt, render, state, stdout_is_terminal

app = typer.Typer(help="Churn: status, early warning, idle monitoring, win-back, backtest.", no_args_is_help=True)

FromOpt = Annotated[Optional[str], typer.Option("--from", help="First month (YYYY-MM).")]
ToOpt = Annotated[Optional[str], typer.Option("--to", help="Last month (YYYY-MM).")]


def _open(ctx: typer.Context):
    """The store (writable: results are stored as snapshots) and the settings."""
    st = state(ctx)
    return st.open_store(create=False), st.settings()


def _save(store, analysis: str, label: str, as_of, table) -> None:
    from crmtool.churn import save_result

    save_result(store, analysis, label, as_of, table)


@app.command()
def status(ctx: typer.Context, as_of: AsOfOpt = None, month: MonthOpt = None, output: OutputOpt = None,
           limit: LimitOpt = 20) -> None:
    """Idle months and status (prospect/new/active/churned/lost), purchase cycle and overdue flag."""
    from crmtool.churn import churn_status
    from crmtool.churn.labels import status_label, with_labels
    from crmtool.facts import install_views, resolve_period

    store, settings = _open(ctx)
    with store:
        install_views(store.con)
        period = resolve_period(store.con, as_of, month)
        table = churn_status(store.con, period, settings)
        _save(store, "churn_status", period.month_label, period.as_of, table)
    lang = state(ctx).lang
    counts: dict[str, int] = {}
    for s in table.column("status").to_pylist():
        counts[s] = counts.get(s, 0) + 1
    order = ["prospect", "new", "active", "churned", "lost"]
    summary = [f"month {period.month_label}: " + ", ".join(f"{status_label(s, lang)} {counts[s]}"
                                                      for s in order if s in counts)]
    render(ctx, with_labels(table, lang), title=f"churn status {period.month_label}", summary=summary,
           output=output, limit=limit)


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
) -> None:
    """Early warning 购油预警: volume below 70 % of the trailing 3-month mean, streaks, severity, notify.

    On a terminal the warnings are grouped per manager; piped, CSV sorted by manager_id, severity
    (high first), customer_id."""
    from crmtool.churn import churn_warn
    from crmtool.churn.labels import with_labels
    from crmtool.facts import install_views, resolve_period

    store, settings = _open(ctx)
    with store:
        install_views(store.con)
        period = resolve_period(store.con, as_of, month)
        table = churn_warn(store.con, period, settings, include_all=all_rows, min_severity=severity.strip().lower(),
                           manager=manager)
        _save(store, "churn_warn", period.month_label, period.as_of, table)
    counts: dict[str, int] = {}
    for s in table.column("severity").to_pylist():
        counts[s] = counts.get(s, 0) + 1
    summary = [f"month {period.month_label}: " + (", ".join(f"{s} {counts[s]}" for s in ("high", "medium", "low", "none")
                                                         if s in counts) or "no warnings")]
    table = with_labels(table, state(ctx).lang)
    title = f"churn warnings {period.month_label}"
    if output is not None or not stdout_is_terminal() or table.num_rows == 0:
        render(ctx, table, title=title, summary=summary, output=output, limit=limit)
        return
    # a terminal: one table per manager, so each manager sees their own list (month and manager in the title)
    managers = table.column("manager_id").to_pylist()
    seen: list = []
    for m in managers:
        if m not in seen:
            seen.append(m)
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, m in enumerate(seen):
        mask = pc.is_null(table.column("manager_id")) if m is None else pc.equal(table.column("manager_id"), pa.scalar(m))
        part = table.filter(mask).drop_columns(["month", "manager_id"])
        render(ctx, part, title=f"{title} — manager {m if m is not None else '(none)'}",
               summary=summary if i == len(seen) - 1 else None, limit=limit, fmt="table")


@app.command()
def idle(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    month: MonthOpt = None,
    by: Annotated[str, typer.Option("--by", help="manager, region or level.")] = "manager",
    output: OutputOpt = None,
    limit: LimitOpt = 20,
) -> None:
    """Customer counts by idle months 0, 1, …, 7, 8+ per manager, region or level."""
    from crmtool.churn import churn_idle
    from crmtool.facts import install_views, resolve_period

    store, settings = _open(ctx)
    with store:
        install_views(store.con)
        period = resolve_period(store.con, as_of, month)
        table = churn_idle(store.con, period, settings, by=by.strip().lower())
        _save(store, f"churn_idle_{by.strip().lower()}", period.month_label, period.as_of, table)
    total = sum(table.column("total").to_pylist())
    render(ctx, table, title=f"idle months by {by} {period.month_label}",
           summary=[f"month {period.month_label}: {total} customers with a purchase"], output=output, limit=limit)


@app.command()
def winback(
    ctx: typer.Context,
    first: FromOpt = None,
    last: ToOpt = None,
    as_of: AsOfOpt = None,
    month: MonthOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 20,
) -> None:
    """Customers won back 客户回归 (idle ≥ 4 months, then a purchase): return month, volume since return.

    Default period: the 12 months ending at the judged month."""
    from crmtool.churn import churn_winback, winback_period, winback_total
    from crmtool.facts import install_views, parse_month, resolve_period

    store, settings = _open(ctx)
    with store:
        install_views(store.con)
        period = resolve_period(store.con, as_of, month)
        d_first, d_last = winback_period(period.month)
        lo = parse_month(first, "--from") if first else None
        hi = parse_month(last, "--to") if last else None
        if lo and not hi:
            hi = max(lo, d_last)
        if hi and not lo:
            lo = winback_period(hi)[0]
        lo, hi = lo or d_first, hi or d_last
        table = churn_winback(store.con, lo, hi, settings)
        label = f"{lo:%Y-%m}..{hi:%Y-%m}"
        _save(store, "churn_winback", label, period.as_of, table)
    n, volume = winback_total(table)
    render(ctx, table, title=f"win-back {label}",
           summary=[f"period {label}: {n} customers won back, {volume:,.2f} t since their return"],
           output=output, limit=limit)


@app.command()
def backtest(
    ctx: typer.Context,
    first: FromOpt = None,
    last: ToOpt = None,
    horizon: Annotated[int, typer.Option("--horizon", min=1, max=36, help="Months ahead a churn counts.")] = 6,
    ratio: Annotated[Optional[str], typer.Option("--ratio", help="Warning ratio(s), e.g. 0.6,0.7,0.8 for a sweep. "
                                                 "Default: warning.ratio.")] = None,
    idle_months: Annotated[int, typer.Option("--idle-months", min=1, help="The comparison rule: no purchase for "
                                             "N months.")] = 2,
    by_severity: Annotated[Optional[bool], typer.Option("--by-severity/--overall", help="Rows per severity "
                                                        "(default with one ratio) or overall only (default for a "
                                                        "sweep: one row per ratio).")] = None,
    as_of: AsOfOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 40,
) -> None:
    """Backtest the warning: precision, recall and median lead time against actual churn, with the
    plain no-purchase rule as the comparison. The data ends at the month --as-of judges."""
    import pyarrow.compute as pc

    from crmtool.churn import churn_backtest, parse_ratios
    from crmtool.facts import add_months, install_views, parse_month, resolve_period

    store, settings = _open(ctx)
    with store:
        install_views(store.con)
        period = resolve_period(store.con, as_of, None)
        ratios = parse_ratios(ratio, settings.warning.ratio)
        hi = parse_month(last, "--to") if last else add_months(period.month, -horizon)
        lo = parse_month(first, "--from") if first else add_months(hi, -11)
        table = churn_backtest(store.con, settings, first=lo, last=hi, data_end=period.month, horizon=horizon,
                               ratios=ratios, idle_months=idle_months)
        label = f"{lo:%Y-%m}..{hi:%Y-%m}/h{horizon}"
        _save(store, "churn_backtest", label, period.as_of, table)
    per_severity = by_severity if by_severity is not None else len(ratios) == 1
    if not per_severity:
        table = table.filter(pc.equal(table.column("severity"), "any"))
    months = table.column("months").to_pylist()[0]
    summary = [f"{months} month(s) judged ({table.column('first_month')[0]}..{table.column('last_month')[0]}), "
               f"horizon {horizon}; data ends {period.month_label}"]
    render(ctx, table, title=f"warning backtest {label}", summary=summary, output=output, limit=limit)
