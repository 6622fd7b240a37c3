"""What every command shares: the global state from the callback, option aliases defined once,
and rendering a result (rich table on a terminal, CSV on a pipe, a file with --output).

Nothing heavy is imported at module level so `crmtool --help` stays fast."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:  # pragma: no cover
    from crmtool.config import Settings
    from crmtool.store import Store


@dataclass
class AppState:
    db: Optional[str] = None
    config: Optional[str] = None
    quiet: bool = False
    lang: str = "en"
    debug: bool = False
    wait: Optional[float] = None
    _settings: Any = field(default=None, repr=False)

    def settings(self) -> "Settings":
        if self._settings is None:
            from crmtool.config import load_settings

            self._settings = load_settings(self.config)
        return self._settings

    def open_store(self, *, read_only: bool = False, create: bool = True) -> "Store":
        from crmtool.store import db_path, open_store

        return open_store(db_path(self.db), self.settings(), read_only=read_only, wait=self.wait, create=create)


def state(ctx: typer.Context) -> AppState:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppState):
        obj = AppState()
        ctx.find_root().obj = obj
    return obj


def stderr_console():
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


# ---------------------------------------------------------------------------------------------
# option aliases, defined once

AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", help="End of the window (YYYY-MM-DD), inclusive. "
                                                "Default: the latest order date in the store.")]
MonthOpt = Annotated[Optional[str], typer.Option("--month", help="Month to judge (YYYY-MM). Default: as-of's month "
                                                 "if as-of is its last day, else the month before.")]
QuarterOpt = Annotated[Optional[str], typer.Option("--quarter", help="Quarter, e.g. 2024Q2.")]
YearOpt = Annotated[Optional[str], typer.Option("--year", help="Calendar year, e.g. 2024.")]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the result to FILE.csv, .parquet, "
                                                   ".json or .xlsx.")]
WindowOpt = Annotated[Optional[int], typer.Option("--window", min=1, max=120, help="Trailing window in months.")]
LimitOpt = Annotated[int, typer.Option("--limit", min=0, help="Rows shown on a terminal (0: all).")]
FormatOpt = Annotated[str, typer.Option("--output-format", help="On stdout: table (terminal default), csv "
                                        "(pipe default) or json.")]


def _fmt(v: Any) -> str:
    import decimal

    if v is None:
        return ""
    if isinstance(v, (float, decimal.Decimal)):
        f = float(v)
        return f"{f:,.2f}" if abs(f) >= 100 else f"{f:.4g}" if abs(f) < 1 else f"{f:.2f}"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v))
    return str(v)


def render(ctx: typer.Context, result: Any, *, title: str, summary: list[str] | None = None,
           output: Path | None = None, limit: int = 20, fmt: str | None = None) -> None:
    """Show or write a result table.

    - ``--output FILE``: the whole table to FILE; the summary to stderr.
    - stdout a terminal: a rich table of the first ``limit`` rows, then the summary.
    - stdout a pipe (or ``fmt='csv'``): the whole table as CSV; summary to stderr (unless --quiet).
    """
    from crmtool.reports.output import to_arrow, write_table

    st = state(ctx)
    table = to_arrow(result)
    err = stderr_console()
    if output is not None:
        path = write_table(table, output, sheet=title)
        if not st.quiet:
            for line in summary or []:
                err.print(line, highlight=False, markup=False)
            err.print(f"wrote {table.num_rows} rows to {path}", highlight=False, markup=False)
        return
    fmt = fmt or ("table" if stdout_is_terminal() else "csv")
    if fmt == "json":
        import json

        from crmtool.reports.output import _json_default

        sys.stdout.write(json.dumps(table.to_pylist(), ensure_ascii=False, default=_json_default) + "\n")
        return
    if fmt == "csv":
        import pyarrow.csv as pacsv

        from crmtool.reports.output import _plain

        buf = sys.stdout.buffer
        pacsv.write_csv(_plain(table), buf)
        buf.flush()
        if not st.quiet:
            for line in summary or []:
                err.print(line, highlight=False, markup=False)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    shown = table.slice(0, limit) if limit else table
    t = Table(title=f"{title} ({table.num_rows} rows)", show_lines=False, header_style="bold cyan")
    for name in table.column_names:
        t.add_column(name, overflow="fold")
    cols = [shown.column(n).to_pylist() for n in shown.column_names]
    for i in range(shown.num_rows):
        t.add_row(*(_fmt(c[i]) for c in cols))
    console.print(t)
    for line in summary or []:
        console.print(line, highlight=False, markup=False)
