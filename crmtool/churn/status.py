"""Churn status (SPEC §4.6): idle months, prospect/new/active/churned/lost, purchase cycle, overdue.

Decisions where SPEC leaves room:
- "purchases" for the cycle are distinct purchase *dates* (several lines or orders on one day are one
  purchase); cycle_days is the median gap between consecutive distinct purchase dates in the
  ``churn.cycle_window_months`` months ending at M's end, and needs ≥ ``churn.cycle_min_purchases``
  dates, else NULL.
- days since last purchase are counted to M's end; overdue is NULL when there is no cycle.
- orders after M are ignored as if they did not exist yet: an archive customer whose only orders
  are after M is a prospect for M, and an id in no archive whose only orders are after M is not
  listed (the status of M is what it was at M's end).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmtool.churn.series import Series, fetch, month_idx
from crmtool.config import Settings
from crmtool.facts import Period, add_months, install_views

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

STATUS_COLUMNS = ["customer_id", "last_purchase_date", "idle_months", "status", "cycle_days", "overdue", "manager_id"]

STATUS_SQL = """
WITH span AS (                       -- first and last purchase date up to M's end (later orders are ignored)
    SELECT customer_id, max(order_date) AS last_purchase_date, min(order_date) AS first_purchase_date
    FROM orders_resolved
    WHERE is_purchase AND order_date <= ?
    GROUP BY customer_id
),
ordered AS (                         -- ids with an order line up to M: those with a purchase (span), and
    SELECT customer_id FROM span     -- those with other lines only (a distinct over the few returns: a
    UNION                            -- distinct over every line was a third of the query at 10^8 lines)
    SELECT DISTINCT customer_id FROM orders_resolved WHERE is_purchase IS NOT TRUE AND order_date <= ?
),
at_m AS (                            -- every archive customer and every id with orders up to M
    SELECT a.customer_id, CAST(? AS INTEGER) AS idx,
           CAST(extract(year FROM s.first_purchase_date) * 12 + extract(month FROM s.first_purchase_date)
                AS INTEGER) AS first_purchase_idx,
           ? - CAST(extract(year FROM s.last_purchase_date) * 12 + extract(month FROM s.last_purchase_date)
                    AS INTEGER) AS idle_months
    FROM (SELECT customer_id FROM customers UNION SELECT customer_id FROM ordered) a
    LEFT JOIN span s ON s.customer_id = a.customer_id
),
purchases AS (                       -- distinct purchase dates inside the cycle window only
    SELECT DISTINCT customer_id, order_date
    FROM orders_resolved
    WHERE is_purchase AND order_date > ? AND order_date <= ?
),
gaps AS (
    SELECT customer_id,
           order_date - lag(order_date) OVER (PARTITION BY customer_id ORDER BY order_date) AS gap_days
    FROM purchases
),
ranked AS (                          -- the median by rank (sorts spill to disk; a holistic aggregate
    SELECT customer_id, gap_days,    -- over 10^8 lines ran out of memory)
           row_number() OVER (PARTITION BY customer_id ORDER BY gap_days) AS k,
           count(*) OVER (PARTITION BY customer_id) AS n
    FROM gaps
    WHERE gap_days IS NOT NULL
),
median AS (                          -- the middle gap, or the mean of the two middle ones
    SELECT customer_id, avg(gap_days) AS cycle_days
    FROM ranked
    WHERE k = (n + 1) // 2 OR k = n // 2 + 1
    GROUP BY customer_id
),
cycle AS (
    SELECT p.customer_id, p.purchase_dates, m.cycle_days
    FROM (SELECT customer_id, count(*) AS purchase_dates FROM purchases GROUP BY customer_id) p
    LEFT JOIN median m ON m.customer_id = p.customer_id
),
judged AS (
    SELECT a.customer_id, s.last_purchase_date, a.idle_months,
           CASE WHEN a.idle_months IS NULL THEN 'prospect'
                WHEN a.first_purchase_idx > a.idx - ? THEN 'new'
                WHEN a.idle_months <= ? THEN 'active'
                WHEN a.idle_months <= ? THEN 'churned'
                ELSE 'lost' END AS status,
           CASE WHEN c.purchase_dates >= ? THEN c.cycle_days END AS cycle_days,
           CAST(? AS DATE) - s.last_purchase_date AS days_since_purchase,
           s.first_purchase_date,
           coalesce(c.purchase_dates, 0) AS purchase_dates_12m
    FROM at_m a
    LEFT JOIN span s ON s.customer_id = a.customer_id
    LEFT JOIN cycle c ON c.customer_id = a.customer_id
)
SELECT j.customer_id, j.last_purchase_date, j.idle_months, j.status,
       CAST(j.cycle_days AS DOUBLE) AS cycle_days,
       j.days_since_purchase > ? * j.cycle_days AS overdue,
       cr.manager_id,
       cr.name, cr.region, cr.level, j.first_purchase_date, j.days_since_purchase, j.purchase_dates_12m,
       cr.customer_id IS NOT NULL AS in_archive
FROM judged j
LEFT JOIN customers_resolved cr ON cr.customer_id = j.customer_id
ORDER BY j.customer_id
"""


def churn_status(con, period: Period, settings: Settings, *, series: Series | None = None) -> "pa.Table":
    """One row per customer (archive or orders) for month ``period.month``; orders after M are ignored.
    Status needs only the purchase dates, not the monthly series (``series`` is accepted and unused).
    Only the cycle window's purchase dates are made distinct, and the ids with orders up to M come from
    the purchase aggregate plus the few ids with returns only — no distinct over every line, and no
    correlated test per customer: at 10^8 lines the distinct dates of every year spilled tens of GB."""
    c = settings.churn
    install_views(con)
    m_end = period.month_end
    m = month_idx(period.month)
    # the parameters in the order they stand in the statement
    return fetch(con, STATUS_SQL, [
        m_end, m_end, m, m,
        add_months(m_end, -c.cycle_window_months), m_end,
        c.new_months, c.active_max, c.churned_max,
        c.cycle_min_purchases,
        m_end,
        c.overdue_factor,
    ])
