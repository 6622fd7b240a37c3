"""Win-back 客户回归 (SPEC §4.8): a customer returns in month m when its idle_months at m−1 is
≥ ``churn.active_max`` + 1 (4: churned or lost) and it purchases in m.

For a period [first, last] there is one row per returned customer: its first return month in the
period, idle months before that return, the volume of the return month, and the net volume from
the return month through the period's last month (``volume_since_return``); ``returns`` counts
returns in the period (a customer can churn and return twice in a long period)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from crmtool.churn.series import Series, churned_idle_months, ensure_series, fetch, month_idx
from crmtool.config import Settings
from crmtool.errors import UsageError
from crmtool.facts import month_start

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

WINBACK_COLUMNS = ["customer_id", "return_month", "idle_months_before", "return_volume", "volume_since_return",
                   "returns", "manager_id"]

WINBACK_SQL = """
WITH s AS (
    SELECT customer_id, idx, month, volume, purchased
    FROM churn_series
    WHERE ratio = CAST(? AS DECIMAL(10,6))
),
purchase_months AS (                 -- idle months at m − 1 = months since the previous purchase month
    SELECT customer_id, idx, month, volume,
           idx - 1 - lag(idx) OVER (PARTITION BY customer_id ORDER BY idx) AS idle_before
    FROM s WHERE purchased
),
returns AS (
    SELECT customer_id, idx, month, idle_before, volume
    FROM purchase_months
    WHERE idle_before >= ? AND idx BETWEEN ? AND ?
),
first_return AS (
    SELECT r.customer_id, r.idx AS return_idx, r.month AS return_month, r.idle_before, r.volume AS return_volume, n.returns
    FROM returns r
    JOIN (SELECT customer_id, min(idx) AS idx, count(*) AS returns FROM returns GROUP BY customer_id) n
      ON n.customer_id = r.customer_id AND n.idx = r.idx
),
since AS (
    SELECT f.customer_id, sum(s.volume) AS volume_since_return
    FROM first_return f
    JOIN s ON s.customer_id = f.customer_id AND s.idx BETWEEN f.return_idx AND ?
    GROUP BY f.customer_id
)
SELECT f.customer_id,
       CAST(extract(year FROM f.return_month) AS VARCHAR) || '-' ||
           lpad(CAST(extract(month FROM f.return_month) AS VARCHAR), 2, '0') AS return_month,
       CAST(f.idle_before AS INTEGER) AS idle_months_before,
       CAST(f.return_volume AS DOUBLE) AS return_volume,
       CAST(x.volume_since_return AS DOUBLE) AS volume_since_return,
       CAST(f.returns AS INTEGER) AS returns,
       cr.manager_id, cr.name, cr.region, cr.level
FROM first_return f
JOIN since x ON x.customer_id = f.customer_id
LEFT JOIN customers_resolved cr ON cr.customer_id = f.customer_id
ORDER BY f.return_idx, f.customer_id
"""


def churn_winback(con, first: dt.date, last: dt.date, settings: Settings, *,
                  series: Series | None = None) -> "pa.Table":
    """Returned customers in months ``first``..``last`` (inclusive)."""
    first, last = month_start(first), month_start(last)
    if first > last:
        raise UsageError(f"--from {first:%Y-%m} is after --to {last:%Y-%m}")
    series = ensure_series(con, settings, series, last)
    lo, hi = month_idx(first), month_idx(last)
    return fetch(con, WINBACK_SQL, [series.ratios[0], churned_idle_months(settings), lo, hi, hi])


def winback_total(table: "pa.Table") -> tuple[int, float]:
    """(customers returned, volume since return summed) for a winback result."""
    vols = [v for v in table.column("volume_since_return").to_pylist() if v is not None]
    return table.num_rows, float(sum(vols))
