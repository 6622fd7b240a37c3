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
    from crmtool.result import Result
    from crmtool.store import Store


def command_group(**kwargs: Any) -> typer.Typer:
    """A Typer app with plain Click help: Typer's rich help imports rich.markdown, markdown-it and
    rich.syntax (about 0.15 s) before printing anything, and `crmtool --help` must stay fast.
    Help is wrapped to the terminal, up to 120 columns, so a command's one-line summary is not cut."""
    kwargs.setdefault("rich_markup_mode", None)
    kwargs.setdefault("context_settings", {"max_content_width": 120})
    return typer.Typer(**kwargs)


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

    def open_for_analysis(self) -> "Store":
        """An existing store (a missing file is an error, never a new empty store); read-only when
        the file or its folder cannot be written (the analysis answers, snapshots are skipped)."""
        import os

        from crmtool.store import db_path

        path = db_path(self.db)
        # (a file without any write bit, chmod 444, is read-only as its owner meant it, root or not:
        # root's os.access says it can write anything)
        writable = path.exists() and os.access(path, os.W_OK) and os.access(path.parent or ".", os.W_OK) \
            and bool(path.stat().st_mode & 0o222)
        return self.open_store(read_only=path.exists() and not writable, create=False)


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
AllowFutureOpt = Annotated[bool, typer.Option("--allow-future", help="Judge a month or as-of after the last "
                                                "order date (normally refused: the export is probably missing).")]
TableOpt = Annotated[Optional[str], typer.Option("--table", help="For results with several tables: the one a "
                                                 ".csv/.parquet/.json --output gets (xlsx gets them all).")]
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


def _fmt_column(values: list) -> list[str]:
    """A column's cells as text, its decimals the same on every row: 4 for ratios and scores (all under
    10: 1.0000 beside 0.8280, not 1.00 beside 0.828), else 2 (with thousands separators from 100)."""
    import decimal
    import math

    nums = [abs(float(v)) for v in values if isinstance(v, (float, decimal.Decimal)) and math.isfinite(float(v))]
    if not nums:
        return [_fmt(v) for v in values]
    top = max(nums)
    spec = ".4f" if top < 10 else ".2f" if top < 100 else ",.2f"
    return [format(float(v), spec) if isinstance(v, (float, decimal.Decimal)) and math.isfinite(float(v))
            else _fmt(v) for v in values]


# the reports' number formats (Excel codes, see reports.model) as Python's, for the terminal
TERMINAL_FORMATS = {"#,##0": ",.0f", "#,##0.0": ",.1f", "#,##0.00": ",.2f", "0.0%": ".1%", "0.0": ".1f",
                    "0.000": ".3f"}


def _fmt_number(v: Any, spec: str) -> str:
    import math

    f = float(v)
    return format(f, spec) if math.isfinite(f) else _fmt(v)


def _is_numeric_or_id(name: str, values: list) -> bool:
    import datetime as dt
    import decimal

    if name.endswith("_id") or name in ("rank", "month", "period", "customer_id"):
        return True
    sample = [v for v in values[:50] if v is not None]
    return bool(sample) and all(isinstance(v, (int, float, decimal.Decimal, dt.date)) and not isinstance(v, bool)
                                for v in sample)


MAX_CELL_CHARS = 80  # a terminal table cuts a longer value (files and pipes get it whole)


def _rich_table(table, *, title: str, limit: int, width: int | None = None, headers: dict[str, str] | None = None,
                values: dict | None = None, formats: dict[str, str] | None = None):
    """A rich table of the first ``limit`` rows: every cell escaped (names are data, never markup),
    ids and numbers never wrapped, names wrapped at most to two lines; the columns that do not fit
    the terminal's width are left out, and a caption says what was cut and how to see all.
    ``headers``: the column headers shown (--lang zh), by column name; files and pipes keep the names.
    ``values``: column -> function giving the shown text of an id (--lang zh: 黄金 for gold); ``formats``:
    column -> Python format of its numbers (see TERMINAL_FORMATS)."""
    import decimal

    from rich.cells import cell_len
    from rich.markup import escape
    from rich.table import Table

    shown = table.slice(0, limit) if limit else table
    values, formats = values or {}, formats or {}
    cells = {n: _fmt_column([values[n](v) for v in shown.column(n).to_pylist()] if n in values
                            else shown.column(n).to_pylist()) for n in shown.column_names}
    for n in set(formats) & set(cells) - set(values):
        cells[n] = [_fmt_number(v, formats[n]) if isinstance(v, (float, decimal.Decimal)) else c
                    for v, c in zip(shown.column(n).to_pylist(), cells[n])]
    # a long text (a rejected 900 KB cell, a note) is cut for the screen: a terminal table that wraps
    # it would fill thousands of lines
    cut = False
    for values in cells.values():
        for i, c in enumerate(values):
            if len(c) > MAX_CELL_CHARS:
                # (cut in the middle: a long path keeps its file name)
                half = (MAX_CELL_CHARS - 1) // 2
                values[i], cut = c[:half] + "…" + c[-(MAX_CELL_CHARS - 1 - half):], True
    width = width or _stdout_console().width
    head = {n: (headers or {}).get(n, n) for n in shown.column_names}
    used, keep = 4, []
    for name in shown.column_names:
        values = shown.column(name).to_pylist()
        numeric = _is_numeric_or_id(name, values)
        natural = max([cell_len(head[name])] + [cell_len(c) for c in cells[name]])
        need = (natural if numeric else min(natural, max(cell_len(head[name]), 16))) + 3
        if keep and used + need > width:
            break
        keep.append((name, numeric))
        used += need
    notes = []
    zh = headers is not None
    if shown.num_rows < table.num_rows:
        notes.append(f"显示 {shown.num_rows}/{table.num_rows} 行（--limit 0 显示全部）" if zh else
                     f"{shown.num_rows} of {table.num_rows} rows shown (--limit 0 shows all)")
    if cut:
        notes.append(f"超过 {MAX_CELL_CHARS} 个字符的内容已截断" if zh else f"values longer than {MAX_CELL_CHARS} characters cut")
    if len(keep) < table.num_columns:
        more = (", ".join(head[n] for n in table.column_names[len(keep):][:6])
                + (" …" if table.num_columns - len(keep) > 6 else ""))
        notes.append(f"另有 {table.num_columns - len(keep)} 列：{more}（终端更宽时显示）" if zh else
                     f"{table.num_columns - len(keep)} more columns: {more} (a wider terminal shows more)")
    if notes:
        notes.append("--output FILE 写出全部内容" if zh else "--output FILE writes everything")
    t = Table(title=escape(f"{title}（{table.num_rows} 行）" if zh else f"{title} ({table.num_rows} rows)"),
              caption=escape("; ".join(notes)) or None,
              show_lines=False, header_style="bold cyan", caption_justify="left")
    for name, numeric in keep:
        is_id = name.endswith("_id") or name == "customer_id"
        t.add_column(escape(head[name]), no_wrap=numeric, overflow="ellipsis" if numeric else "fold",
                     justify="right" if numeric and not is_id else "left",
                     min_width=None if numeric else min(cell_len(head[name]), 16))
    for i in range(shown.num_rows):
        t.add_row(*(escape(cells[name][i]) for name, _ in keep))
    return t


def print_lines(lines: list[str] | None, *, err: bool = False) -> None:
    """Sentences to stdout (or stderr), never read as markup."""
    if not lines:  # no console made (rich's import is a twentieth of a second of every command)
        return
    console = stderr_console() if err else _stdout_console()
    for line in lines:
        console.print(line, highlight=False, markup=False)


def _stdout_console():
    from rich.console import Console

    return Console(soft_wrap=True)


def _labelled(name: str) -> str | None:
    """The id column a label column names in words (severity_label: severity; level_label: suggested_level)."""
    if not name.endswith("_label"):
        return None
    return {"level_label": "suggested_level", "abc_label": "abc_class"}.get(name, name[:-len("_label")])


def render(ctx: typer.Context, result: Any, *, title: str, summary: list[str] | None = None,
           output: Path | None = None, limit: int = 20, fmt: str | None = None, analysis: str | None = None) -> None:
    """Show or write a result table.

    - ``--output FILE``: the whole table to FILE; the summary to stderr.
    - stdout a terminal: a rich table of the first ``limit`` rows, then the summary.
    - stdout a pipe (or ``fmt='csv'``): the whole table as CSV; summary to stderr (unless --quiet).
    """
    from crmtool.reports.output import to_arrow, write_table

    st = state(ctx)
    table = to_arrow(result)
    if output is not None:
        path = write_table(table, output, sheet=title)
        if not st.quiet:
            print_lines(list(summary or []) + [f"已写出 {table.num_rows} 行：{path}" if st.lang == "zh" else
                                               f"wrote {table.num_rows} rows to {path}"], err=True)
        return
    fmt = fmt or ("table" if stdout_is_terminal() else "csv")
    if fmt == "json":
        import json

        from crmtool.reports.output import _json_default

        sys.stdout.write(json.dumps(table.to_pylist(), ensure_ascii=False, default=_json_default) + "\n")
        return
    if fmt == "csv":
        from crmtool.reports.output import write_csv

        buf = sys.stdout.buffer
        write_csv(table, buf)
        buf.flush()
        if not st.quiet:
            print_lines(summary, err=True)
        return
    headers = values = None
    if st.lang == "zh":  # a person reads the terminal: headers and coded values in the chosen language
        from crmtool.labels import column_label  # (files and pipes keep the names and ids)
        from crmtool.reports.model import value_labels

        import pyarrow as pa

        from crmtool.labels import yes_no

        values = value_labels(analysis or "", st.settings(), "zh")
        values.update({f.name: (lambda v: yes_no(v, "zh")) for f in table.schema if pa.types.is_boolean(f.type)})
        names = table.column_names
        # an id column shown in Chinese makes its label column (severity_label) a repeat: left out; a
        # label column shown alone takes the id column's header
        of = {n: _labelled(n) for n in names if _labelled(n) in values}
        table = table.select([n for n in names if of.get(n) not in names])
        headers = {n: column_label(of.get(n, n), "zh", analysis) for n in table.column_names}
    from crmtool.reports.model import column_format

    # numbers as the reports show them (98.8%, 1,234.5 t, scores 0–100 to one decimal); files and pipes
    # keep every digit
    formats = {f.name: TERMINAL_FORMATS[code] for f in table.schema
               if (code := column_format(analysis or "", f.name, f.type)) in TERMINAL_FORMATS}
    console = _stdout_console()
    console.print(_rich_table(table, title=title, limit=limit, headers=headers, values=values, formats=formats))
    print_lines(summary)


# the names of an analysis's further tables, as a Chinese terminal titles them
EXTRA_TITLES_ZH = {"managers": "客户经理", "groups": "分组汇总", "under_target": "未达标客户", "customers": "客户",
                   "sensitivity": "活动敏感度", "trend": "月度趋势", "carriers": "承运商", "routes": "线路",
                   "lorenz": "洛伦兹曲线", "migration": "级别迁移"}


def result_title(ctx: typer.Context, result: "Result", title: str, zh_extra: str = "") -> str:
    """A terminal title: ``title`` (English), or with --lang zh the analysis's Chinese title, its period
    and ``zh_extra``."""
    if state(ctx).lang != "zh" or not result.name:
        return title
    from crmtool.runner import analysis

    return f"{analysis(result.name).title_zh} {result.period}{zh_extra}"


def render_result(ctx: typer.Context, result: "Result", *, output: Path | None = None, limit: int = 20,
                  table: str | None = None, columns: list[str] | None = None, title: str | None = None) -> None:
    """Render a runner result: ``--output FILE.xlsx`` gets every table (a sheet each), another
    ``--output`` or a pipe the main table (or ``--table NAME``); a terminal shows every table.
    ``columns`` narrows what a terminal shows (files and pipes get every column)."""
    from crmtool.runner import analysis

    if result.name and not title:
        spec = analysis(result.name)
        title = spec.title_zh if state(ctx).lang == "zh" else spec.title
    title = title or result.analysis
    print_lines(result.notices, err=True)
    if output is not None and output.suffix.lower() == ".xlsx" and result.extras:
        from crmtool.reports.output import write_workbook

        path = write_workbook(result.tables, output, contents=False)
        if not state(ctx).quiet:
            print_lines(result.lines + [f"已写出 {len(result.tables)} 个工作表：{path}" if state(ctx).lang == "zh" else
                                        f"wrote {len(result.tables)} sheets to {path}"], err=True)
        return
    main = result.pick(table)
    if output is None and stdout_is_terminal():
        if columns and main is result.table:
            main = main.select([c for c in columns if c in main.column_names])
        render(ctx, main, title=title, limit=limit, fmt="table", analysis=result.name)
        for name, extra in result.extras.items():
            if extra is not main and extra.num_rows:
                shown = EXTRA_TITLES_ZH.get(name, name) if state(ctx).lang == "zh" else name
                render(ctx, extra, title=f"{title}{'：' if state(ctx).lang == 'zh' else ': '}{shown}", limit=limit,
                       fmt="table", analysis=result.name)
        print_lines(result.lines)
        return
    render(ctx, main, title=title, summary=result.lines, output=output, limit=limit)


def run_command(ctx: typer.Context, name: str, *, as_of: str | None = None, month: str | None = None,
                settings: "Settings | None" = None, allow_future: bool = False, **options: Any) -> "Result":
    """Open the store for an analysis, run ``name`` through the runner, return the result."""
    from crmtool.runner import Runner

    st = state(ctx)
    with st.open_for_analysis() as store:
        return Runner(store, settings or st.settings(), lang=st.lang, allow_future=allow_future).run(
            name, as_of=as_of, month=month, **options)
