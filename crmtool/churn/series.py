"""The one monthly series every churn analysis reads (SPEC §4.6–4.8), built once per run.

:func:`build_series` builds temp table ``churn_series`` in sparse form: for each customer, the months
with order lines and the K months after each (K = max(``warning.baseline_months``,
``churn.active_max`` + 1)), up to the last judged month. Every month left out has no lines and
nothing within its look-back windows, so its volume and baseline are 0, it is neither a breach nor a
decline, and its idle months follow from the last purchase — the analyses read those months from
aggregates instead of materialising customers × months. Columns, one row per (ratio, customer, month):

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
  not breached (not declining) — a month left out of the sparse series is such a month. Decline is
  volume_m < volume_{m−1}; equal volumes break the streak.

Several ratios (a backtest sweep) are evaluated in the same query, one partition per ratio.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crmtool.config import Settings
from crmtool.facts import add_months, install_views, month_start

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


def churned_idle_months(settings: Settings) -> int:
    """SPEC §4.6: a customer is churned from ``churn.active_max`` + 1 idle months on — the one
    definition status, win-back and the backtest use."""
    return int(settings.churn.active_max) + 1


def build_series(con, settings: Settings, last_month: dt.date, *, ratios: tuple[float, ...] | list[float] | None = None,
                 first_month: dt.date | None = None) -> Series:
    """(Re)build ``churn_series`` through ``last_month`` (orders after it are ignored). The sparse
    series holds all history, so ``first_month`` only widens what :class:`Series` reports."""
    install_views(con)
    last_month = month_start(last_month)
    ratios = tuple(float(r) for r in (ratios or (settings.warning.ratio,)))
    n = int(settings.warning.baseline_months)
    k = max(n, churned_idle_months(settings))
    offsets = ", ".join(f"({i})" for i in range(1, k + 1))  # our own integers, not user text
    ratio_rows = " UNION ALL ".join("SELECT CAST(? AS DECIMAL(10,6)) AS ratio" for _ in ratios)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE churn_series AS
        WITH ratios AS ({ratio_rows}),
        line_months AS (             -- net volume of each customer's months with lines
            SELECT customer_id,
                   CAST(extract(year FROM month) * 12 + extract(month FROM month) AS INTEGER) AS idx,
                   CAST(sum(quantity) AS DECIMAL(38,6)) AS volume,
                   max(CASE WHEN is_purchase THEN 1 ELSE 0 END) = 1 AS purchased
            FROM orders_resolved
            WHERE month <= CAST(? AS DATE)
            GROUP BY customer_id, month
        ),
        offsets(k) AS (VALUES {offsets}),
        filler AS (                  -- the up to K months after a line month that have no lines themselves
            SELECT l.customer_id, l.idx + o.k AS idx
            FROM (SELECT customer_id, idx,
                         lead(idx) OVER (PARTITION BY customer_id ORDER BY idx) AS next_idx
                  FROM line_months) l
            JOIN offsets o ON l.idx + o.k < coalesce(l.next_idx, ? + 1)
        ),
        monthly AS (
            SELECT customer_id, idx, volume, purchased FROM line_months
            UNION ALL
            SELECT customer_id, idx, CAST(0 AS DECIMAL(38,6)), FALSE FROM filler
        ),
        running AS (
            SELECT m.*,
                   max(CASE WHEN purchased THEN idx END) OVER upto AS last_purchase_idx,
                   min(CASE WHEN purchased THEN idx END) OVER upto AS first_purchase_idx,
                   coalesce(sum(volume) OVER (PARTITION BY customer_id ORDER BY idx
                                              RANGE BETWEEN ? PRECEDING AND 1 PRECEDING), 0) AS baseline_sum,
                   coalesce(sum(volume) OVER (PARTITION BY customer_id ORDER BY idx
                                              RANGE BETWEEN 1 PRECEDING AND 1 PRECEDING), 0) AS prev_volume,
                   coalesce(idx - lag(idx) OVER (PARTITION BY customer_id ORDER BY idx), 2) > 1 AS gap_before
            FROM monthly m
            WINDOW upto AS (PARTITION BY customer_id ORDER BY idx ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ),
        flagged AS (
            SELECT r.ratio, x.*,
                   x.idx - x.last_purchase_idx AS idle_months,
                   (x.baseline_sum > 0 AND x.volume * ? < r.ratio * x.baseline_sum) AS breach,
                   (x.volume < x.prev_volume) AS decline
            FROM running x CROSS JOIN ratios r
        )
        SELECT ratio, customer_id, idx,
               make_date(CAST((idx - 1) // 12 AS INTEGER), CAST((idx - 1) % 12 + 1 AS INTEGER), 1) AS month,
               volume, purchased, idle_months, first_purchase_idx,
               baseline_sum, CAST(baseline_sum AS DOUBLE) / ? AS baseline, breach, decline,
               idx - max(CASE WHEN NOT breach THEN idx WHEN gap_before THEN idx - 1 END) OVER upto AS breach_streak,
               idx - max(CASE WHEN NOT decline THEN idx WHEN gap_before THEN idx - 1 END) OVER upto AS decline_streak
        FROM flagged
        WINDOW upto AS (PARTITION BY ratio, customer_id ORDER BY idx
                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        """,
        [*ratios, last_month, month_idx(last_month), n, n, n],
    )
    start = min(month_start(first_month), last_month) if first_month is not None else last_month
    first = con.execute("SELECT min(month) FROM orders_resolved").fetchall()[0][0]
    return Series(min(start, first) if first is not None else start, last_month, ratios)


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
