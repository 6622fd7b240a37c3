"""The command line: parse, call one library function, render. Errors become one sentence and an
exit code (0 ok, 1 data/analysis error, 2 usage, 3 store busy)."""

import os
import sys
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from typer.core import TyperGroup

from crmtool.commands.common import AppState, command_group, stderr_console, state
from crmtool.errors import CrmtoolError


class CrmGroup(TyperGroup):
    """Maps CrmtoolError to its exit code with one line on stderr (a traceback only with --debug)."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except CrmtoolError as exc:
            st = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
            if st.debug:
                import traceback

                traceback.print_exc()
            from rich.markup import escape

            stderr_console().print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:  # `crmtool … | head`: what was printed is right; the reader stopped
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)
        except KeyboardInterrupt:
            _interrupted(ctx)
        except OSError as exc:  # a path that cannot be used (a file where a folder should be, no permission, disk full)
            st = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
            if st.debug:
                raise
            from rich.markup import escape

            where = f"{exc.filename}: " if exc.filename else ""
            usage = isinstance(exc, (FileExistsError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
                                     PermissionError))
            stderr_console().print(f"[bold red]error:[/] {escape(where + (exc.strerror or str(exc)))}"
                                   + (" (check the path)" if usage else ""), highlight=False)
            ctx.exit(2 if usage else 1)
        except Exception as exc:  # a bug, not bad data: say so, traceback with --debug
            if type(exc).__name__ == "InterruptException" or str(exc) == "Query interrupted":
                _interrupted(ctx)  # DuckDB's own word for Ctrl-C during a query
            st = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
            if type(exc).__name__ == "NoSuchOption" and getattr(exc, "option_name", None) in GLOBAL_OPTIONS:
                exc.message += (f" ({exc.option_name} is an option of crmtool itself: put it before the command, "
                                f"e.g. crmtool {exc.option_name} … {ctx.invoked_subcommand or 'status'})")
            if st.debug or type(exc).__module__.split(".")[0] in ("click", "typer"):
                raise  # usage errors and exits belong to the CLI framework
            from rich.markup import escape

            stderr_console().print(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
                                   "rerun with --debug for the traceback and report it", highlight=False)
            ctx.exit(1)


GLOBAL_OPTIONS = ("--db", "--config", "--quiet", "-q", "--lang", "--debug", "--wait")


def _interrupted(ctx: typer.Context) -> None:
    """Ctrl-C: every write is a transaction (a load, a snapshot) or a file written aside and renamed,
    so nothing was half done; exit 130 as a shell expects, not 1 (a data error) or a crash report."""
    stderr_console().print("interrupted: what was unfinished was not kept (a load lands whole or not at all, and an "
                           "output file is replaced only when complete)", highlight=False, markup=False)
    ctx.exit(130)


app = command_group(cls=CrmGroup, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="crmtool — customer analytics for energy and chemical sellers (客户资源管理分析).")
config_app = command_group(no_args_is_help=True, help="Show the effective configuration.")
app.add_typer(config_app, name="config")


def _register_groups() -> None:
    from crmtool.commands import churn, grade, managers, sales

    app.add_typer(grade.app, name="grade")
    app.add_typer(grade.classify_app, name="classify")
    app.add_typer(churn.app, name="churn")
    app.add_typer(managers.app, name="managers")
    app.add_typer(sales.app, name="sales")
    from crmtool.commands import run
    app.add_typer(run.app, name="run")
    from crmtool.commands import data
    data.register(app)
    from crmtool.commands import report
    report.register(app)


def _print_version(value: bool) -> None:
    if value:
        from crmtool import __version__

        typer.echo(f"crmtool {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option("--db", envvar="CRMTOOL_DB", help="Store file (default ./crm.duckdb).")] = None,
    config: Annotated[Optional[str], typer.Option("--config", envvar="CRMTOOL_CONFIG",
                                                  help="TOML config (default ./crmtool.toml when present).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
    lang: Annotated[str, typer.Option("--lang", help="Labels: en or zh.")] = "en",
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    wait: Annotated[Optional[float], typer.Option("--wait", min=0, help="Seconds to wait for a busy store "
                                                  "(default 30), then exit 3.")] = None,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_print_version,
                                          help="Print crmtool's version and exit.")] = False,
) -> None:
    if lang not in ("en", "zh"):
        raise typer.BadParameter("use en or zh", param_hint="--lang")
    ctx.obj = AppState(db=db, config=config, quiet=quiet, lang=lang, debug=debug, wait=wait)


@app.command()
def init(ctx: typer.Context,
         force: Annotated[bool, typer.Option("--force", help="Overwrite an existing crmtool.toml.")] = False) -> None:
    """Create the store and a commented crmtool.toml in the current folder."""
    from crmtool.config import commented_template

    st = state(ctx)
    with st.open_store() as store:
        version = store.schema_version()
        where = store.path
    cfg = Path(st.config) if st.config else Path("crmtool.toml")
    wrote = False
    if force or not cfg.exists():
        cfg.write_text(commented_template(), encoding="utf-8")
        wrote = True
    if not st.quiet:
        typer.echo(f"store {where} ready (schema version {version})")
        typer.echo(f"config {cfg} {'written' if wrote else 'kept (exists; --force to overwrite)'}")


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration (defaults overridden by the TOML file) as TOML."""
    from crmtool.config import to_toml

    s = state(ctx).settings()
    typer.echo(f"# effective configuration (source: {s.source}; hash {s.config_hash()})")
    typer.echo(to_toml(s), nl=False)


@app.command()
def load(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(help="customers, orders, code_map, managers, plans, contracts, campaigns, "
                                         "freight, leads or visits (Chinese names too: 客户档案, ERP订单 …).")],
    files: Annotated[List[Path], typer.Argument(help="CSV (UTF-8/GBK), XLSX or Parquet files.")],
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="XLSX sheet name or number (default: every visible "
                                                 "sheet whose header fits the table; a hidden one loads only by name).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Any rejected row fails the load; nothing is loaded.")] = False,
) -> None:
    """Load export files into a table in one transaction; bad rows are kept as rejects with reasons."""
    from crmtool.io.load import load_files, shown_value

    st = state(ctx)
    err = stderr_console()
    with st.open_store() as store:
        if err.is_terminal and not st.quiet:
            from rich.progress import Progress

            with Progress(transient=True, console=err) as bar:
                task = bar.add_task("loading", total=len(files) * 3)

                def tick(text: str, step: int, total: int) -> None:
                    bar.update(task, description=text, advance=1)

                result = load_files(store, table, files, sheet=sheet, strict=strict, progress=tick)
        else:
            result = load_files(store, table, files, sheet=sheet, strict=strict)
    for f in result.files:
        if f.rejected and not st.quiet:
            err.print(f"{f.file}: {f.rejected} rejected row(s), first ones:", highlight=False, markup=False)
            for line, column, value, reason in f.sample_rejects[:10]:
                err.print(f"  {f.file} line {line}, column {column}: {shown_value(value)}: {reason}", highlight=False,
                          markup=False)
    for note in result.notes:
        err.print(f"note: {note}", highlight=False, markup=False)
    if result.strict_failed:
        err.print(f"error: strict load failed: {result.rejected} rejected row(s); nothing was loaded", highlight=False,
                  markup=False)
        raise typer.Exit(1)
    if not st.quiet:
        typer.echo(f"{result.summary()} ({result.seconds:.1f} s)")


@app.command()
def status(
    ctx: typer.Context,
    output: Annotated[str, typer.Option("--output", help="text or json.")] = "text",
) -> None:
    """Tables, row counts, order dates, recent batches, rejects by reason, customers not in the archive."""
    import json

    from crmtool.status import store_status

    st = state(ctx)
    with st.open_store(read_only=True) as store:
        info = store_status(store)
    if output == "json":
        typer.echo(json.dumps(info, ensure_ascii=False, indent=1))
        return
    if output != "text":
        raise typer.BadParameter("use text or json", param_hint="--output")
    zh = st.lang == "zh"
    lines = [f"数据库 {info['db']}（结构版本 {info['schema_version']}）" if zh else
             f"store {info['db']} (schema {info['schema_version']})", "数据表：" if zh else "tables:"]
    lines += [f"  {name:<10} {n:>10,}" for name, n in info["tables"].items()]
    o = info["orders"]
    if o["first_date"]:
        lines.append(f"订单从 {o['first_date']} 到 {o['last_date']}，退货（红字）行 {o['return_lines']:,}" if zh else
                     f"orders from {o['first_date']} to {o['last_date']}, {o['return_lines']:,} return lines")
    else:
        lines.append("订单：尚未导入（crmtool load orders 文件）" if zh else
                     "orders: none loaded yet (crmtool load orders FILE)")
    if info["recent_batches"]:
        lines.append("最近导入：" if zh else "recent batches:")
    else:
        lines.append("最近导入：无" if zh else "recent batches: none")
    # (the file's name: the whole path is in --output json; a line that fits a terminal stays one line)
    words = ("接受", "拒绝", "替换") if zh else ("accepted", "rejected", "replaced")
    lines += [f"  #{b['batch_id']} {b['loaded_at']} {b['table']:<9} {b['accepted']:>8,} {words[0]} "
              f"{b['rejected']:>6,} {words[1]} {b['replaced']:>8,} {words[2]}  {Path(b['file']).name}"
              for b in info["recent_batches"]]
    if info["rejects_by_reason"]:
        lines.append(f"拒绝的行按原因（共 {info['rejected_rows']:,} 行；一行有多个原因时分别计入）：" if zh else
                     f"rejected rows by reason ({info['rejected_rows']:,} rows; one with several reasons counts under each):")
    else:
        lines.append("拒绝的行：无" if zh else "rejects: none")
    lines += [f"  {n:>8,}  {r}" for r, n in info["rejects_by_reason"].items()]
    na = info["not_in_archive"]
    unit = {"t": "吨", "kg": "公斤", "L": "升", "kL": "千升", "m3": "立方米", "10k_m3": "万立方米"}.get(
        st.settings().units.base, st.settings().units.base)
    lines.append(f"有订单但不在客户档案中的客户：{na['customers']:,} 个（销量 {na['volume']:,.1f} {unit}）" if zh else
                 f"customers with orders but not in the archive: {na['customers']:,} (volume {na['volume']:,.1f})")
    lines += [f"  {t['customer_id']:<14} {'编码' if zh else 'codes'} {t['erp_codes']:<20} {t['volume']:>12,.1f}"
              for t in na["top"]]
    typer.echo("\n".join(lines))


@app.command()
def sample(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="Folder to write the sample exports into.")] = Path("sample_data"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed writes the same files.")] = 7,
    customers: Annotated[int, typer.Option("--customers", min=10)] = 1500,
    managers: Annotated[int, typer.Option("--managers", min=2)] = 30,
    years: Annotated[int, typer.Option("--years", min=1, max=10)] = 3,
) -> None:
    """Write realistic sample exports of a provincial oil distributor (Chinese headers, GBK orders)."""
    from crmtool.sample import write_sample

    files = write_sample(out, seed=seed, customers=customers, managers=managers, years=years)
    if not state(ctx).quiet:
        for table, path in files.items():
            typer.echo(f"{table:<10} {path}")


@app.command()
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder for the sample, the store and every output.")] = Path(
        "crmtool-demo"),
    seed: Annotated[int, typer.Option("--seed")] = 7,
) -> None:
    """Sample data → load → every analysis → every report; prints where each output went."""
    from crmtool.demo import run_demo

    st = state(ctx)
    err = stderr_console()
    for label, path in run_demo(out, settings=st.settings(), seed=seed,
                                log=None if st.quiet else (lambda m: err.print(m, highlight=False, markup=False))):
        typer.echo(f"{label:<32} {path}")


def _quiet_unraisable(unraisable) -> None:
    """After a write failed (a full disk), a half-written zip's destructor fails again as the object goes:
    the error was reported once already; the others are noise."""
    if not isinstance(unraisable.exc_value, (OSError, ValueError)):
        sys.__unraisablehook__(unraisable)


def main() -> None:
    """Console entry point."""
    for stream in (sys.stdout, sys.stderr):  # a terminal that is not UTF-8 shows ? for what it lacks
        try:
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError):  # pragma: no cover - a stream replaced by a test harness
            pass
    sys.unraisablehook = _quiet_unraisable
    try:
        app()
    except BrokenPipeError:  # `crmtool … | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


_register_groups()
