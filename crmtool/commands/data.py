"""`crmtool rejects` and `crmtool columns`: what the loader turned away, and the headers it accepts.
The logic lives in :mod:`crmtool.io.catalog`."""


from pathlib import Path
from typing import Annotated, Optional

import typer

from crmtool.commands.common import LimitOpt, OutputOpt, render, state


def rejects(
    ctx: typer.Context,
    file: Annotated[Optional[str], typer.Option("--file", help="Only this file (the path as loaded, or its name).")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Only reasons containing this text, "
                                                  "e.g. 'not a number'.")] = None,
    table: Annotated[Optional[str], typer.Option("--table", help="Only rejects of loads into this table.")] = None,
    output: OutputOpt = None,
    limit: LimitOpt = 50,
) -> None:
    """List rejected rows: file, line, column, value, reason (each bad row of a file counted once)."""
    from crmtool.io.catalog import list_rejects
    from crmtool.io.load import resolve_table

    st = state(ctx)
    with st.open_store(read_only=True, create=False) as store:
        result = list_rejects(store.con, file=file, reason=reason,
                              table=resolve_table(table).name if table else None)
        from crmtool.io.load import same_file_sql, stored_path

        # --file naming no loaded file at all is a typo to tell, not "0 rejects"
        unknown_file = file is not None and result.num_rows == 0 and not store.con.execute(
            f"SELECT EXISTS (SELECT 1 FROM batches WHERE {same_file_sql('file', sheets=True)})",
            [stored_path(Path(file)), Path(file).name] * 2).fetchall()[0][0]
    zh = st.lang == "zh"
    summary = [f"拒绝的单元格 {result.num_rows} 个" if zh else f"{result.num_rows} rejected cell(s)"]
    if unknown_file:
        summary.append(f"没有导入过名为 {Path(file).name} 的文件（crmtool status 列出已导入的文件）" if zh else
                       f"no file named {Path(file).name} was ever loaded (crmtool status lists the loads)")
    render(ctx, result, title="拒绝记录" if zh else "rejects", output=output, limit=limit, summary=summary)


def columns(
    ctx: typer.Context,
    table: Annotated[Optional[str], typer.Argument(help="One table (default: all).")] = None,
    output: OutputOpt = None,
    limit: LimitOpt = 0,
) -> None:
    """The headers each table accepts: canonical name, built-in aliases, your mapping, required or not."""
    from crmtool.io.catalog import accepted_headers

    render(ctx, accepted_headers(state(ctx).settings(), table), title="columns", output=output, limit=limit)


def register(app: typer.Typer) -> None:
    app.command("rejects")(rejects)
    app.command("columns")(columns)
