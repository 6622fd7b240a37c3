"""Churn: status, early warning, idle monitoring, win-back, backtest (SPEC §4.6–4.8).

Every function takes a DuckDB connection, the judged :class:`~crmtool.facts.Period` (or months) and
:class:`~crmtool.config.Settings`, and returns an Arrow table whose first columns are exactly SPEC's.
They read one dense customer × month series (:mod:`crmtool.churn.series`), built once per run;
pass ``series=`` to share it between calls, as :func:`run_all` does.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from crmtool.churn.backtest import BACKTEST_COLUMNS, churn_backtest, parse_ratios
from crmtool.churn.idle import IDLE_DIMENSIONS, churn_idle, idle_buckets
from crmtool.churn.series import Series, build_series
from crmtool.churn.status import STATUS_COLUMNS, churn_status
from crmtool.churn.warn import WARN_COLUMNS, churn_warn
from crmtool.churn.winback import WINBACK_COLUMNS, churn_winback, winback_total

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from crmtool.config import Settings
    from crmtool.store import Store

__all__ = [
    "BACKTEST_COLUMNS", "IDLE_DIMENSIONS", "STATUS_COLUMNS", "WARN_COLUMNS", "WINBACK_COLUMNS", "Series",
    "build_series", "churn_backtest", "churn_idle", "churn_status", "churn_warn", "churn_winback",
    "idle_buckets", "parse_ratios", "run_all", "winback_period", "winback_total",
]


def winback_period(month: dt.date, months: int = 12) -> tuple[dt.date, dt.date]:
    """The default win-back period: the ``months`` months ending at ``month``."""
    from crmtool.facts import add_months, month_start

    return add_months(month_start(month), -(months - 1)), month_start(month)


RUN_ALL = ("status", "warn", "idle", "winback")


def run_all(store: "Store", settings: "Settings", *, as_of: str | dt.date | None = None,
            month: str | dt.date | None = None, save: bool = True) -> dict[str, "pa.Table"]:
    """status, warn (severity ≥ low), idle (by manager) and winback (the months ending at M) for
    one month through the runner, from one series; each stored as a snapshot when ``save``."""
    from crmtool.runner import Runner

    runner = Runner(store, settings, save=save and not store.read_only, allow_future=True)
    return {key: runner.run(f"churn.{key}", as_of=as_of, month=month).table for key in RUN_ALL}
