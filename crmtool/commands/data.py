"""`crmtool rejects` and `crmtool columns`: what the loader turned away, and the headers it accepts.
The logic lives in :mod:`crmtool.io.catalog`."""


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
    render(ctx, result, title="rejects", output=output, limit=limit,
           summary=[f"{result.num_rows} rejected cell(s)"])


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
