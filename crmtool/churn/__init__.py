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
    "idle_buckets", "parse_ratios", "run_all", "save_result", "winback_period", "winback_total",
]


def winback_period(month: dt.date, months: int = 12) -> tuple[dt.date, dt.date]:
    """The default win-back period: the ``months`` months ending at ``month``."""
    from crmtool.facts import add_months, month_start

    return add_months(month_start(month), -(months - 1)), month_start(month)


def save_result(store: "Store", analysis: str, period_label: str, as_of: dt.date | None, table: "pa.Table") -> int:
    """Store ``table`` as the snapshot of (``analysis``, ``period_label``) in one transaction."""
    with store.transaction() as con:
        con.register("churn_res", table)
        try:
            return save_snapshot_of(con, store, analysis, period_label, as_of)
        finally:
            con.unregister("churn_res")


def save_snapshot_of(con, store: "Store", analysis: str, period_label: str, as_of: dt.date | None) -> int:
    from crmtool.store import save_snapshot

    return save_snapshot(con, analysis, period_label, as_of, store.settings.config_hash(), "churn_res")


def run_all(store: "Store", settings: "Settings", *, as_of: str | dt.date | None = None,
            month: str | dt.date | None = None, save: bool = True) -> dict[str, "pa.Table"]:
    """status, warn (severity ≥ low), idle (by manager) and winback (the 12 months ending at M) for
    one month, from one series; each stored as a snapshot (analysis ``churn_<key>``) when ``save``."""
    from crmtool.facts import install_views, resolve_period

    con = store.con
    install_views(con)
    period = resolve_period(con, as_of, month)
    series = build_series(con, settings, period.month)
    first, last = winback_period(period.month)
    results = {
        "status": churn_status(con, period, settings, series=series),
        "warn": churn_warn(con, period, settings, series=series),
        "idle": churn_idle(con, period, settings, by="manager", series=series),
        "winback": churn_winback(con, first, last, settings, series=series),
    }
    if save and not store.read_only:
        labels = {"status": period.month_label, "warn": period.month_label, "idle": period.month_label,
                  "winback": f"{first:%Y-%m}..{last:%Y-%m}"}
        analyses = {"status": "churn_status", "warn": "churn_warn", "idle": "churn_idle_manager",
                    "winback": "churn_winback"}
        with store.transaction() as con:
            for key, table in results.items():
                con.register("churn_res", table)
                try:
                    save_snapshot_of(con, store, analyses[key], labels[key], period.as_of)
                finally:
                    con.unregister("churn_res")
    return results
