"""`crmtool run monthly`: the monthly cron job (SPEC §5.1). The work is :func:`crmtool.monthly.run_monthly`;
this layer parses the options and writes the ISO-timestamped log lines cron keeps."""


import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from crmtool.commands.common import AllowFutureOpt, MonthOpt, command_group, state
from crmtool.errors import CrmtoolError

app = command_group(help="Batch jobs for cron and the Windows Task Scheduler.", no_args_is_help=True)


def _line(message: str) -> None:
    """One log line on stderr: ISO timestamp with the UTC offset, then the message (no colour)."""
    sys.stderr.write(f"{dt.datetime.now().astimezone().isoformat(timespec='seconds')} {message}\n")
    sys.stderr.flush()


def _split(text: Optional[str]) -> Optional[list[str]]:
    return [p.strip().lower() for p in text.split(",") if p.strip()] if text else None


@app.command()
def monthly(
    ctx: typer.Context,
    inbox: Annotated[Path, typer.Option("--inbox", help="Folder the monthly exports are dropped into (searched "
                                        "recursively; inbox/done/ is left alone).")],
    out: Annotated[Path, typer.Option("--out", help="Reports go to OUT/YYYY-MM/, with run.json.")],
    month: MonthOpt = None,
    formats: Annotated[Optional[str], typer.Option("--formats", help="Report formats, comma-separated: xlsx,html "
                                                   "(default: run.formats).")] = None,
    lang: Annotated[Optional[str], typer.Option("--lang", help="Report languages, comma-separated: zh,en "
                                                "(default: run.languages).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
    wait: Annotated[Optional[float], typer.Option("--wait", min=0, help="Seconds to wait for a busy store, then "
                                                  "exit 3 (default: the global --wait, else 30).")] = None,
    allow_future: AllowFutureOpt = False,
    no_reports: Annotated[bool, typer.Option("--no-reports", help="Load, run and store every analysis and write "
                                             "the result tables, but no report.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Any rejected row fails the run (exit 1, nothing "
                                         "loaded); default: more than run.max_reject_share of a file's rows.")] = False,
) -> None:
    """Load what is new in the inbox (one transaction), run every analysis for the month, write every
    report to OUT/YYYY-MM/ with run.json, move the loaded files to inbox/done/YYYY-MM/.
    Exit 0 when everything succeeded, 1 on a data or analysis failure (the store stays as it was and
    the files stay in the inbox), 3 when the store stayed busy past --wait."""
    from crmtool.monthly import run_monthly
    from crmtool.store import db_path

    st = state(ctx)
    quiet = quiet or st.quiet
    log = None if quiet else _line
    try:
        rec = run_monthly(inbox, out, db=db_path(st.db), settings=st.settings(), month=month,
                          formats=_split(formats), languages=_split(lang),
                          wait=wait if wait is not None else st.wait, allow_future=allow_future,
                          reports=not no_reports, log=log, strict=strict)
    except CrmtoolError as exc:
        if st.debug:
            import traceback

            traceback.print_exc()
        record = getattr(exc, "run_json", None)
        if record:  # the record of the failed run, on stdout as after a run that succeeded
            typer.echo(record)
            if not quiet:
                _line(f"the failed run is recorded in {record}")
        _line(f"error: {exc}")
        raise typer.Exit(exc.exit_code) from None
    except Exception as exc:  # a bug: the same record and timestamped lines cron keeps, then exit 1
        if st.debug:
            raise
        record = getattr(exc, "run_json", None)
        if record:
            typer.echo(record)
            _line(f"the failed run is recorded in {record}")
        if isinstance(exc, OSError):  # a folder that cannot be written (a full disk, no permission): no bug
            where = f"{exc.filename}: " if exc.filename else ""
            _line(f"error: cannot write {where}{exc.strerror or exc} (free space or fix the folder's permissions, "
                  "then run again)")
        else:
            _line(f"internal error: {type(exc).__name__}: {exc}")
            _line("rerun with --debug for the traceback and report it")
        raise typer.Exit(1) from None
    if not quiet:
        loaded = sum(1 for f in rec.inputs if f["status"] == "loaded")
        _line(f"done: month {rec.month}, {loaded} file(s) loaded, {len(rec.analyses)} analyses, "
              f"{len(rec.outputs)} outputs ({rec.seconds:.1f} s)")
        typer.echo(rec.run_json)
