"""`crmtool managers …`: parse options, run one registered analysis, render it."""


from typing import Annotated, Optional

import typer

from crmtool.commands.common import (AllowFutureOpt, command_group, AsOfOpt, LimitOpt, MonthOpt, OutputOpt, QuarterOpt, TableOpt,
                                     YearOpt, render_result, result_title, run_command)

app = command_group(help="Account managers: the manager scorecard 客户经理评价.", no_args_is_help=True)

RegionOpt = Annotated[Optional[str], typer.Option("--region", help="Show only this region's managers (the score "
                                                  "is still computed over every manager).")]
TeamOpt = Annotated[Optional[str], typer.Option("--team", help="Show only this team's managers (the score is "
                                                "still computed over every manager).")]

# what a terminal shows; files and pipes get every column
# (the grade and the score first: on a narrow terminal the columns on the right are the ones left out)
TERMINAL_COLUMNS = ["rank", "manager_id", "name", "grade", "score", "held", "volume", "completion", "buying_ratio",
                    "retention", "yoy", "ytd_completion"]


@app.command()
def scorecard(
    ctx: typer.Context,
    quarter: QuarterOpt = None,
    year: YearOpt = None,
    month: MonthOpt = None,
    region: RegionOpt = None,
    team: TeamOpt = None,
    as_of: AsOfOpt = None,
    output: OutputOpt = None,
    table: TableOpt = None,
    limit: LimitOpt = 20,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Manager scorecard 客户经理评价 for a quarter (default: the quarter of the judged month), a year or
    a month: customers held, buying, new, retention, leads, visits, volume against plan, yoy, qoq,
    margin, year to date, score, rank and grade (A 20 %, B 50 %, C the rest)."""
    result = run_command(ctx, "managers.scorecard", as_of=as_of, month=month, allow_future=allow_future,
                         quarter=quarter, year=year, monthly=month is not None, region=region, team=team)
    render_result(ctx, result, output=output, limit=limit, table=table, columns=TERMINAL_COLUMNS,
                  title=result_title(ctx, result, f"manager scorecard {result.period}"))
