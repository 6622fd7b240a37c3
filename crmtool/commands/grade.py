"""`crmtool grade …` and `crmtool classify …`: parse options, run one registered analysis, render.
The logic lives in :mod:`crmtool.grading`; the runner stores every result as a snapshot."""


from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, List, Optional

import typer

from crmtool.commands.common import (AllowFutureOpt, command_group, AsOfOpt, LimitOpt, MonthOpt, OutputOpt, QuarterOpt, WindowOpt,
                                     YearOpt, print_lines, render_result, run_command, state, stdout_is_terminal)

if TYPE_CHECKING:  # pragma: no cover
    from crmtool.config import Settings

app = command_group(help="Grade customers: RFM, Pareto/ABC, level suggestion, balanced scorecard. "
                       "Without a method: all of them for the period, with one summary.")
classify_app = command_group(no_args_is_help=True, help="Classify customers: value × strategic-fit four-quadrant.")

MetricOpt = Annotated[Optional[str], typer.Option("--metric", help="amount, volume or profit.")]
SetOpt = Annotated[Optional[List[str]], typer.Option(
    "--set", metavar="KEY=VALUE", help="Override a setting for this run, e.g. level.weights.volume=0.4, "
    "pareto.a=0.7, level.scheme=group, quadrant.fit_cut=50 (repeatable).")]


# what a terminal shows (the SPEC columns and the label in the chosen language); files and pipes get all
TERMINAL_COLUMNS = {
    "rfm": ["customer_id", "name", "segment_label", "rfm_cell", "recency_days", "frequency", "monetary"],
    "pareto": ["rank", "customer_id", "name", "metric_value", "share", "cum_share", "abc_class"],
    "level": ["rank", "customer_id", "name", "composite", "suggested_level", "level_label", "current_level", "change",
              "previous_level", "migration", "demand_class", "mobile", "loyalty"],
    "scorecard": ["rank", "customer_id", "name", "month", "period", "completion", "balance", "volume", "special", "total",
                  "grade"],
    "quadrant": ["customer_id", "name", "value_score", "fit_score", "quadrant", "quadrant_label", "service_tier_label"],
}


def _settings(ctx: typer.Context, sets: list[str] | None) -> "Settings":
    from crmtool.config import with_overrides

    return with_overrides(state(ctx).settings(), list(sets or []))


def _grade(ctx: typer.Context, name: str, *, as_of: str | None, month: str | None = None,
           sets: list[str] | None, output: Path | None, limit: int, allow_future: bool = False,
           **options: Any) -> None:
    result = run_command(ctx, name, as_of=as_of, month=month, settings=_settings(ctx, sets),
                         allow_future=allow_future, **options)
    render_result(ctx, result, output=output, limit=limit, columns=TERMINAL_COLUMNS[result.analysis])


@app.callback(invoke_without_command=True)
def grade_all(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    month: MonthOpt = None,
    sets: SetOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write every table to one FILE.xlsx "
                                                   "(a sheet per analysis).")] = None,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Run every grading analysis for the period (scorecard for the judged month) and print one summary."""
    if ctx.invoked_subcommand is not None:
        return
    from crmtool.errors import AnalysisError, UsageError
    from crmtool.grading import GROUPS
    from crmtool.runner import Runner

    if output is not None and output.suffix.lower() != ".xlsx":
        raise UsageError(f"--output {output}: `crmtool grade` without a method writes one .xlsx workbook; "
                         "use a method (e.g. `crmtool grade rfm -o rfm.csv`) for other formats")
    st = state(ctx)
    settings = _settings(ctx, sets)
    with st.open_for_analysis() as store:
        runner = Runner(store, settings, lang=st.lang, allow_future=allow_future)
        runner.period(as_of, month)  # refuse a period after the data before running anything
        results, errors = runner.run_group(GROUPS, as_of=as_of, month=month)
    if not results:
        raise AnalysisError("no grading analysis could run: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    lines: list[str] = []
    for result in results.values():
        lines += result.lines
    lines += [f"{name}: skipped ({msg})" for name, msg in errors.items()]
    notices = sorted({n for r in results.values() for n in r.notices})
    if output is not None:
        from crmtool.reports.output import write_workbook

        path = write_workbook({r.analysis: r.table for r in results.values()}, output)
        # (a sheet per analysis, after the summary sheet)
        lines.append(f"已写出 {len(results)} 个分析工作表（另有摘要页）：{path}" if st.lang == "zh" else
                     f"wrote {len(results)} analysis sheets (and a summary sheet) to {path}")
    print_lines(notices, err=True)
    if not st.quiet or output is None:
        print_lines(lines, err=output is not None)


@app.command("rfm")
def grade_rfm(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    metric: MetricOpt = None,
    window: WindowOpt = None,
    sets: SetOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 20,
    allow_future: AllowFutureOpt = False,
) -> None:
    """RFM: recency, frequency and monetary scores 1–5 over the last 12 months and the eight value
    segments (客户价值八分类: important/general × value/develop/retain/win-back)."""
    _grade(ctx, "grade.rfm", as_of=as_of, sets=sets, output=output, limit=limit, allow_future=allow_future,
           metric=metric, window=window)


@app.command("pareto")
def grade_pareto(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    metric: MetricOpt = None,
    window: WindowOpt = None,
    sets: SetOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 20,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Pareto / ABC: customers ranked by volume; A until 80 % of the total, B until 95 %, then C;
    with the share of customers in A and the Gini coefficient."""
    _grade(ctx, "grade.pareto", as_of=as_of, sets=sets, output=output, limit=limit, allow_future=allow_future,
           metric=metric, window=window)


@app.command("level")
def grade_level(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    window: WindowOpt = None,
    compare: Annotated[Optional[str], typer.Option("--compare", metavar="DATE", help="Add previous_level from the "
                                                   "level snapshot of this as-of date (computed if missing) and "
                                                   "print the migration matrix (升降级).")] = None,
    sets: SetOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 20,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Suggested customer level (客户定级建议): volume, gross profit, purchase months, share of wallet and
    annual demand scored by percentile, weighted, then levels by quota (top 5 % diamond, next 10 %
    platinum, next 25 % gold, rest ordinary); with demand class, mobility and loyalty."""
    _grade(ctx, "grade.level", as_of=as_of, sets=sets, output=output, limit=limit, allow_future=allow_future,
           compare=compare, window=window)


@app.command("scorecard")
def grade_scorecard(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    month: MonthOpt = None,
    quarter: QuarterOpt = None,
    year: YearOpt = None,
    sets: SetOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 20,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Balanced scorecard (平衡计分卡): plan completion, dekad balance, volume and special-period volume
    for a month (or averaged over --quarter / --year), graded 3A/2A/A/B by quota (10/20/30 %)."""
    from crmtool.errors import UsageError
    if month and (quarter or year):
        raise UsageError("give one of --month, --quarter, --year")
    _grade(ctx, "grade.scorecard", as_of=as_of, month=month, sets=sets, output=output, limit=limit,
           allow_future=allow_future, quarter=quarter, year=year)


@classify_app.command("quadrant")
def classify_quadrant(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    window: WindowOpt = None,
    sets: SetOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 20,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Four-quadrant (两维四象限): customer value (gross profit, contract fulfilment, demand,
    reputation) × strategic fit (positioning, capability, values); strategic / key / potential /
    ordinary, each with its service tier."""
    _grade(ctx, "classify.quadrant", as_of=as_of, sets=sets, output=output, limit=limit, allow_future=allow_future,
           window=window)
