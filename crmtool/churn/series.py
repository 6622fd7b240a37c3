"""The one monthly series every churn analysis reads (SPEC §4.6–4.8).

:func:`build_series` builds the dense ``customer_month`` table once (every customer × every month
from the first order month through the last judged month, zeros where nothing was bought) and
derives from it temp table ``churn_series``, one row per (ratio, customer, month):

- ``idx``: the month as a serial number (year · 12 + month), so month arithmetic is integer arithmetic;
- ``volume``: net volume in tons (returns net against it), exact DECIMAL;
- ``purchased``: the month has a line with quantity > 0 (returns never count as a purchase);
- ``idle_months``: months since the last purchase month (0 when bought this month; NULL before the
  first purchase); ``first_purchase_idx``;
- ``baseline_sum`` / ``baseline``: the sum / mean of volume over the ``warning.baseline_months``
  months before this one (months without purchase, and months before the data starts, count 0);
- ``breach``: baseline > 0 and volume < ratio · baseline, compared in exact decimals
  (``volume · N < ratio · baseline_sum``) so a month at exactly 70 % is not a breach;
- ``breach_streak`` / ``decline_streak``: consecutive breached / declining months ending here,
  computed as gaps and islands: this month's number minus the number of the latest month that was
  not breached (not declining), a running max over the customer's months. Decline is
  volume_m < volume_{m−1}; equal volumes break the streak.

Several ratios (a backtest sweep) are evaluated in the same query, one partition per ratio.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crmtool.config import Settings
from crmtool.facts import add_months, build_customer_month, install_views, month_start

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa


def month_idx(d: dt.date) -> int:
    """The serial month number used in ``churn_series.idx``."""
    return d.year * 12 + d.month


def idx_label(idx: int) -> str:
    y, m = divmod(idx - 1, 12)
    return f"{y:04d}-{m + 1:02d}"


@dataclass(frozen=True)
class Series:
    """What :func:`build_series` built: the month range and the warning ratios evaluated."""

    first_month: dt.date
    last_month: dt.date
    ratios: tuple[float, ...]

    def has(self, month: dt.date, ratio: float | None = None) -> bool:
        ok = self.first_month <= month <= self.last_month
        return ok and (ratio is None or any(abs(r - ratio) < 1e-12 for r in self.ratios))


def _first_order_month(con) -> dt.date | None:
    row = con.execute("SELECT min(month) FROM orders_resolved").fetchall()[0][0]
    return row


def build_series(con, settings: Settings, last_month: dt.date, *, ratios: tuple[float, ...] | list[float] | None = None,
                 first_month: dt.date | None = None) -> Series:
    """(Re)build ``customer_month`` and ``churn_series`` from the first order month (or
    ``first_month`` when earlier) through ``last_month``. Orders after ``last_month`` are ignored."""
    install_views(con)
    last_month = month_start(last_month)
    ratios = tuple(float(r) for r in (ratios or (settings.warning.ratio,)))
    start = _first_order_month(con) or last_month
    if first_month is not None:
        start = min(start, month_start(first_month))
    start = min(start, last_month)
    build_customer_month(con, start, last_month)

    n = int(settings.warning.baseline_months)
    first_idx = month_idx(start)
    ratio_rows = " UNION ALL ".join("SELECT CAST(? AS DECIMAL(10,6)) AS ratio" for _ in ratios)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE churn_series AS
        WITH ratios AS ({ratio_rows}),
        monthly AS (
            SELECT customer_id, month,
                   CAST(extract(year FROM month) * 12 + extract(month FROM month) AS INTEGER) AS idx,
                   CAST(volume AS DECIMAL(38,4)) AS volume,
                   purchased
            FROM customer_month
        ),
        running AS (
            SELECT m.*,
                   max(CASE WHEN purchased THEN idx END) OVER upto AS last_purchase_idx,
                   min(CASE WHEN purchased THEN idx END) OVER upto AS first_purchase_idx,
                   coalesce(sum(volume) OVER (PARTITION BY customer_id ORDER BY month
                                              ROWS BETWEEN ? PRECEDING AND 1 PRECEDING), 0) AS baseline_sum,
                   lag(volume, 1, 0) OVER (PARTITION BY customer_id ORDER BY month) AS prev_volume
            FROM monthly m
            WINDOW upto AS (PARTITION BY customer_id ORDER BY month ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ),
        flagged AS (
            SELECT r.ratio, x.*,
                   x.idx - x.last_purchase_idx AS idle_months,
                   (x.baseline_sum > 0 AND x.volume * ? < r.ratio * x.baseline_sum) AS breach,
                   (x.volume < x.prev_volume) AS decline
            FROM running x CROSS JOIN ratios r
        )
        SELECT ratio, customer_id, month, idx, volume, purchased, idle_months, first_purchase_idx,
               baseline_sum, CAST(baseline_sum AS DOUBLE) / ? AS baseline, breach, decline,
               idx - coalesce(max(CASE WHEN NOT breach THEN idx END) OVER upto, ? - 1) AS breach_streak,
               idx - coalesce(max(CASE WHEN NOT decline THEN idx END) OVER upto, ? - 1) AS decline_streak
        FROM flagged
        WINDOW upto AS (PARTITION BY ratio, customer_id ORDER BY month
                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        """,
        [*ratios, n, n, n, first_idx, first_idx],
    )
    return Series(start, last_month, ratios)


def ensure_series(con, settings: Settings, series: Series | None, last_month: dt.date, *,
                  ratio: float | None = None, first_month: dt.date | None = None) -> Series:
    """``series`` when it covers [first_month, last_month] for ``ratio``, else a freshly built one.

    Every window in the series looks only backwards, so a series that runs past ``last_month``
    gives the same rows for the months it shares with a shorter one."""
    ratio = settings.warning.ratio if ratio is None else ratio
    last_month = month_start(last_month)
    if (series is not None and series.has(last_month, ratio)
            and (first_month is None or series.first_month <= month_start(first_month))):
        return series
    return build_series(con, settings, last_month, ratios=(ratio,), first_month=first_month)


def fetch(con, sql: str, params: list) -> "pa.Table":
    """Run one parameterised query and return its rows as an Arrow table."""
    return con.sql(sql, params=params).to_arrow_table()


def months_back(month: dt.date, n: int) -> dt.date:
    return add_months(month_start(month), -n)
