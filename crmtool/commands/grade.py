"""`crmtool grade …` and `crmtool classify …`: parse options, call one grading function, store the
snapshot, render. The logic lives in :mod:`crmtool.grading`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Callable, List, Optional

import typer

from crmtool.commands.common import AsOfOpt, LimitOpt, MonthOpt, OutputOpt, QuarterOpt, WindowOpt, YearOpt, render, \
    state, stdout_is_terminal

if TYPE_CHECKING:  # pragma: no cover
    from crmtool.config import Settings
    from crmtool.grading.result import GradeResult

app = typer.Typer(help="Grade customers: RFM, Pareto/ABC, level suggestion, balanced scorecard. "
                       "Without a method: all of them for the period, with one summary.")
classify_app = typer.Typer(no_args_is_help=True, help="Classify customers: value × strategic-fit four-quadrant.")

MetricOpt = Annotated[Optional[str], typer.Option("--metric", help="amount, volume or profit.")]
SetOpt = Annotated[Optional[List[str]], typer.Option(
    "--set", metavar="KEY=VALUE", help="Override a setting for this run, e.g. level.weights.volume=0.4, "
    "pareto.a=0.7, level.scheme=group, quadrant.fit_cut=50 (repeatable).")]


# what a terminal shows (the SPEC columns and the label in the chosen language); files and pipes get all
TERMINAL_COLUMNS = {
    "rfm": ["customer_id", "recency_days", "frequency", "monetary", "rfm_cell", "segment_label"],
    "pareto": ["rank", "customer_id", "metric_value", "share", "cum_share", "abc_class"],
    "level": ["rank", "customer_id", "composite", "suggested_level", "level_label", "current_level", "change",
              "previous_level", "migration", "demand_class", "mobile", "loyalty"],
    "scorecard": ["rank", "customer_id", "month", "period", "completion", "balance", "volume", "special", "total",
                  "grade"],
    "quadrant": ["customer_id", "value_score", "fit_score", "quadrant", "quadrant_label", "service_tier_label"],
}


def _settings(ctx: typer.Context, sets: list[str] | None) -> "Settings":
    from crmtool.config import with_overrides

    return with_overrides(state(ctx).settings(), list(sets or []))


def _grade(ctx: typer.Context, func: Callable[..., "GradeResult"], *, as_of: str | None, month: str | None = None,
           sets: list[str] | None, output: Path | None, limit: int, title: str, compare: str | None = None,
           **options: Any) -> None:
    from crmtool.facts import resolve_period
    from crmtool.grading import compare_levels, store_result

    st = state(ctx)
    settings = _settings(ctx, sets)
    with st.open_store() as store:
        period = resolve_period(store.con, as_of, month)
        result = func(store.con, period, settings, lang=st.lang, **options)
        store_result(store, result, settings)
        if compare:
            result = compare_levels(store, result, settings, compare)
    table = result.table
    if output is None and stdout_is_terminal():
        table = table.select([c for c in TERMINAL_COLUMNS[result.analysis] if c in table.column_names])
    render(ctx, table, title=title, summary=result.lines, output=output, limit=limit)


@app.callback(invoke_without_command=True)
def grade_all(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    month: MonthOpt = None,
    sets: SetOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write every table to one FILE.xlsx "
                                                   "(a sheet per analysis).")] = None,
) -> None:
    """Run every grading analysis for the period (scorecard for the judged month) and print one summary."""
    if ctx.invoked_subcommand is not None:
        return
    from crmtool.commands.common import stderr_console
    from crmtool.errors import AnalysisError, UsageError
    from crmtool.grading import grade_all as run

    if output is not None and output.suffix.lower() != ".xlsx":
        raise UsageError(f"--output {output}: `crmtool grade` without a method writes one .xlsx workbook; "
                         "use a method (e.g. `crmtool grade rfm -o rfm.csv`) for other formats")
    st = state(ctx)
    settings = _settings(ctx, sets)
    with st.open_store() as store:
        results, errors = run(store, settings, as_of=as_of, month=month, lang=st.lang)
    if not results:
        raise AnalysisError("no grading analysis could run: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    lines: list[str] = []
    for name, result in results.items():
        lines += result.lines
    lines += [f"{name}: skipped ({msg})" for name, msg in errors.items()]
    if output is not None:
        from crmtool.reports.output import write_workbook

        path = write_workbook({k: r.table for k, r in results.items()}, output)
        lines.append(f"wrote {len(results)} sheets to {path}")
    if not st.quiet or output is None:
        out = stderr_console() if output is not None else None
        for line in lines:
            if out is not None:
                out.print(line, highlight=False, markup=False)
            else:
                typer.echo(line)


@app.command("rfm")
def grade_rfm(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    metric: MetricOpt = None,
    window: WindowOpt = None,
    sets: SetOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 20,
) -> None:
    """RFM scores 1–5 and the eight value segments (客户价值八分类), SPEC §4.1."""
    from crmtool.grading import rfm

    _grade(ctx, rfm, as_of=as_of, sets=sets, output=output, limit=limit, title="RFM", metric=metric, window=window)


@app.command("pareto")
def grade_pareto(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    metric: MetricOpt = None,
    window: WindowOpt = None,
    sets: SetOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 20,
) -> None:
    """Pareto / ABC classes with the share of customers in A and the Gini coefficient, SPEC §4.2."""
    from crmtool.grading import pareto

    _grade(ctx, pareto, as_of=as_of, sets=sets, output=output, limit=limit, title="Pareto ABC", metric=metric,
           window=window)


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
) -> None:
    """Suggested customer level (客户定级建议) with demand class and loyalty, SPEC §4.3 and §4.11."""
    from crmtool.grading import level

    _grade(ctx, level, as_of=as_of, sets=sets, output=output, limit=limit, title="Level suggestion",
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
) -> None:
    """Balanced scorecard (平衡计分卡) for a month, or averaged over --quarter / --year, SPEC §4.4."""
    from crmtool.errors import UsageError
    from crmtool.grading import scorecard

    if month and (quarter or year):
        raise UsageError("give one of --month, --quarter, --year")
    _grade(ctx, scorecard, as_of=as_of, month=month, sets=sets, output=output, limit=limit,
           title="Balanced scorecard", quarter=quarter, year=year)


@classify_app.command("quadrant")
def classify_quadrant(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    window: WindowOpt = None,
    sets: SetOpt = None,
    output: OutputOpt = None,
    limit: LimitOpt = 20,
) -> None:
    """Value × strategic fit four-quadrant (两维四象限) with service tiers, SPEC §4.5."""
    from crmtool.grading import quadrant

    _grade(ctx, quadrant, as_of=as_of, sets=sets, output=output, limit=limit, title="Four-quadrant", window=window)
