"""`crmtool report KIND`: run the analyses of a report through the runner and write one Excel
workbook or one offline HTML page (SPEC §5)."""


from pathlib import Path
from typing import Annotated, Optional

import typer

from crmtool.commands.common import AllowFutureOpt, AsOfOpt, MonthOpt, QuarterOpt, print_lines, state

KINDS = ("grading", "churn", "managers", "sales", "customer", "monthly")


def report(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="grading, churn, managers, sales, customer (with --id) or monthly "
                                        "(all of them).", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write (.xlsx or .html).",
                                         show_default=False)],
    fmt: Annotated[Optional[str], typer.Option("--format", help="xlsx or html (default: from the file's "
                                               "extension).")] = None,
    lang: Annotated[Optional[str], typer.Option("--lang", help="Labels, sheet names and headings: en or zh "
                                                "(default: the global --lang).")] = None,
    as_of: AsOfOpt = None,
    month: MonthOpt = None,
    quarter: QuarterOpt = None,
    customer_id: Annotated[Optional[str], typer.Option("--id", help="The customer of `report customer`.")] = None,
    show_contacts: Annotated[bool, typer.Option("--show-contacts", help="Show phone numbers in full (masked "
                                                "138****5678 by default).")] = False,
    allow_future: AllowFutureOpt = False,
) -> None:
    """Write a report: Excel (summary first, a sheet per table, native charts, print-ready) or one
    self-contained HTML page (contents, sortable tables, charts; opens offline), in English or
    Chinese. Reports show the results of the analyses; they compute nothing of their own."""
    from crmtool import reports
    from crmtool.errors import UsageError

    st = state(ctx)
    if kind not in KINDS:
        raise UsageError(f"unknown report {kind!r}; use {', '.join(KINDS)}")
    ext = output.suffix.lstrip(".").lower()
    if fmt and ext in reports.FORMATS and fmt.lower() != ext:
        raise UsageError(f"--format {fmt} but -o {output} ends in .{ext}: name the file .{fmt.lower()} or leave "
                         "--format out")
    fmt = (fmt or ext).lower()
    if fmt not in reports.FORMATS:
        raise UsageError(f"--format {fmt or '(none)'}: use xlsx or html (or an -o file ending in .xlsx or .html)")
    lang = lang or st.lang
    if lang not in reports.LANGS:
        raise UsageError(f"--lang {lang}: use en or zh")
    if kind != "customer" and customer_id:
        raise UsageError("--id belongs to `report customer`")
    options: dict[str, dict[str, object]] = {}
    if quarter:
        from crmtool.runner import analysis

        for name in reports.REPORT_KINDS[kind]:
            if any(o.name == "quarter" for o in analysis(name).options):
                options[name] = {"quarter": quarter}
        if kind != "customer" and not options:
            raise UsageError(f"--quarter: the {kind} report has no quarterly analysis")
    written: list[Path] = []
    with st.open_for_analysis() as store:
        path = reports.report(store, kind, fmt=fmt, lang=lang, path=output, settings=st.settings(), as_of=as_of,
                              month=month, options=options, allow_future=allow_future, customer_id=customer_id,
                              show_contacts=show_contacts, written=written)
    if not st.quiet:
        beside = [p for p in written if p != path]
        lines = [f"wrote {kind} report ({fmt}, {lang}) to {path} ({path.stat().st_size:,} bytes)"]
        if beside:
            lines += [f"{len(beside)} long table(s) show their first rows (report.max_rows); whole tables:"] \
                + [f"  {p}" for p in beside]
        print_lines(lines, err=True)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
