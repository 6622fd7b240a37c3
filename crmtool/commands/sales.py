"""`crmtool sales …`: parse options, run one registered analysis, render it. The logic lives in
:mod:`crmtool.sales`."""


from typing import Annotated, Optional

import typer

from crmtool.commands.common import (AllowFutureOpt, command_group, AsOfOpt, LimitOpt, MonthOpt, OutputOpt, QuarterOpt, TableOpt,
                                     YearOpt, render_result, result_title, run_command)

app = command_group(help="Sales analysis: overview, pivot, attainment, campaign effect, freight.",
                  no_args_is_help=True)

FromOpt = Annotated[Optional[str], typer.Option("--from", help="First date (YYYY-MM-DD, or YYYY-MM for its first "
                                                "day), inclusive. Default: 12 months to as-of.")]
ToOpt = Annotated[Optional[str], typer.Option("--to", help="Last date (YYYY-MM-DD, or YYYY-MM for its last day), "
                                              "inclusive. Default: as-of.")]


@app.command()
def overview(ctx: typer.Context, as_of: AsOfOpt = None, output: OutputOpt = None, table: TableOpt = None,
             limit: LimitOpt = 20, allow_future: AllowFutureOpt = False) -> None:
    """Volume overview 直分销销量概览 at as-of: day, month and year to date per category (gasoline,
    diesel, other, total) against plans and calendar progress, yoy, mom and a warning; second
    table (--table managers): year-to-date volume and share by manager."""
    result = run_command(ctx, "sales.overview", as_of=as_of, allow_future=allow_future)
    render_result(ctx, result, output=output, limit=limit, table=table, title=result_title(ctx, result, f"sales overview {result.period}"),
                  columns=["category_label", "day", "mtd", "ytd", "month_completion", "year_completion",
                           "month_progress", "year_progress", "yoy", "mom", "warning"])


@app.command()
def pivot(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help="Dimensions, comma-separated: customer, region, district, "
                                    "industry, manager, level, category, product, month, quarter, year.")] = "month",
    measure: Annotated[str, typer.Option("--measure", help="Measures, comma-separated: volume, amount, profit, "
                                         "customers (distinct buying customers), lines.")] = "volume",
    first: FromOpt = None,
    last: ToOpt = None,
    as_of: AsOfOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 50,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Volume pivot 销量多口径统计: one row per group of the --by dimensions, the --measure columns, and
    a total row last (合计 / Total)."""
    result = run_command(ctx, "sales.pivot", as_of=as_of, allow_future=allow_future, by=by, measure=measure,
                         first=first, last=last)
    render_result(ctx, result, output=output, limit=limit, title=result_title(ctx, result, f"sales pivot {result.period}"))


@app.command()
def attainment(
    ctx: typer.Context,
    month: MonthOpt = None,
    quarter: QuarterOpt = None,
    year: YearOpt = None,
    by: Annotated[str, typer.Option("--by", help="region, industry, level, demand_class, loyalty or manager.")]
    = "region",
    as_of: AsOfOpt = None,
    output: OutputOpt = None,
    table: TableOpt = None,
    limit: LimitOpt = 20,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Volume attainment 购油量达标分析: each customer's volume against expected_volume / 12 per month
    (default: the judged month); --table groups (by --by) or under_target (largest shortfall first)."""
    if month is not None and (quarter or year):
        from crmtool.errors import UsageError

        raise UsageError("give one of --month, --quarter or --year")
    result = run_command(ctx, "sales.attainment", as_of=as_of, month=month, allow_future=allow_future,
                         quarter=quarter, year=year, by=by)
    render_result(ctx, result, output=output, limit=limit, table=table, title=result_title(ctx, result, f"attainment {result.period}"))


@app.command()
def campaign(
    ctx: typer.Context,
    campaign_id: Annotated[Optional[str], typer.Option("--id", help="One campaign (default: all).")] = None,
    as_of: AsOfOpt = None,
    output: OutputOpt = None,
    table: TableOpt = None,
    limit: LimitOpt = 20,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Campaign effect 营销活动效果分析: targets against controls in the window, the days before and a
    year earlier (difference in differences, incremental tons); --table customers, managers or
    sensitivity."""
    result = run_command(ctx, "sales.campaign", as_of=as_of, allow_future=allow_future, campaign_id=campaign_id)
    render_result(ctx, result, output=output, limit=limit, table=table, title=result_title(ctx, result, f"campaign {result.period}"))


@app.command()
def freight(
    ctx: typer.Context,
    first: FromOpt = None,
    last: ToOpt = None,
    as_of: AsOfOpt = None,
    output: OutputOpt = None,
    table: TableOpt = None,
    limit: LimitOpt = 20,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Freight 配送运费分析: cost, quantity, trips and cost per ton per customer per month with
    year-to-date totals; --table trend (company by month), carriers or routes."""
    result = run_command(ctx, "sales.freight", as_of=as_of, allow_future=allow_future, first=first, last=last)
    render_result(ctx, result, output=output, limit=limit, table=table, title=result_title(ctx, result, f"freight {result.period}"))
