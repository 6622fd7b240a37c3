"""Freight (配送运费分析), SPEC §4.10: cost, quantity, trips and cost per ton per customer per month,
year-to-date running totals (from January, within the requested range), the company trend by
month, and per carrier and per route when the bills name them."""

from __future__ import annotations

import datetime as dt

from crmtool.errors import AnalysisError
from crmtool.grading._sql import Params, query

COLUMNS = ["customer_id", "month", "cost", "quantity", "trips", "cost_per_ton", "ytd_cost", "ytd_quantity"]
TREND_COLUMNS = ["month", "cost", "quantity", "trips", "cost_per_ton", "ytd_cost", "ytd_quantity"]
CARRIER_COLUMNS = ["carrier", "cost", "quantity", "trips", "cost_per_ton"]
ROUTE_COLUMNS = ["route", "cost", "quantity", "trips", "cost_per_ton"]

BILLS = """
bills AS (                           -- a bill with a negative quantity is a correction: it nets, never a trip
    SELECT customer_id, carrier, route, bill_date,
           CAST(date_trunc('month', bill_date) AS DATE) AS month_start,
           freight_cost AS cost, quantity,
           distance_km
    FROM freight
    WHERE bill_date BETWEEN CAST($first AS DATE) AND CAST($last AS DATE)
)"""

CUSTOMER_SQL = """
WITH {bills},
customer_months AS (
    SELECT customer_id, month_start, sum(cost) AS cost, sum(quantity) AS quantity,  -- exact DECIMAL sums
           count(*) FILTER (WHERE quantity > 0) AS trips
    FROM bills GROUP BY customer_id, month_start
)
SELECT customer_id, strftime(month_start, '%Y-%m') AS month, CAST(cost AS DOUBLE) AS cost,
       CAST(quantity AS DOUBLE) AS quantity, trips,
       CASE WHEN quantity > 0 THEN CAST(cost AS DOUBLE) / CAST(quantity AS DOUBLE) END AS cost_per_ton,
       CAST(sum(cost) OVER ytd AS DOUBLE) AS ytd_cost, CAST(sum(quantity) OVER ytd AS DOUBLE) AS ytd_quantity
FROM customer_months
WINDOW ytd AS (PARTITION BY customer_id, year(month_start) ORDER BY month_start
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY customer_id, month_start
"""

TREND_SQL = """
WITH {bills},
company_months AS (
    SELECT month_start, sum(cost) AS cost, sum(quantity) AS quantity, count(*) FILTER (WHERE quantity > 0) AS trips,
           count(DISTINCT customer_id) AS customers
    FROM bills GROUP BY month_start
)
SELECT strftime(month_start, '%Y-%m') AS month, CAST(cost AS DOUBLE) AS cost, CAST(quantity AS DOUBLE) AS quantity,
       trips, CASE WHEN quantity > 0 THEN CAST(cost AS DOUBLE) / CAST(quantity AS DOUBLE) END AS cost_per_ton,
       CAST(sum(cost) OVER ytd AS DOUBLE) AS ytd_cost, CAST(sum(quantity) OVER ytd AS DOUBLE) AS ytd_quantity,
       customers
FROM company_months
WINDOW ytd AS (PARTITION BY year(month_start) ORDER BY month_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY month_start
"""

# per carrier / per route: {key} is one of our own column names (carrier, route), never user text
BY_KEY_SQL = """
WITH {bills},
by_key AS (
    SELECT {key}, sum(cost) AS cost, sum(quantity) AS quantity, count(*) FILTER (WHERE quantity > 0) AS trips,
           count(DISTINCT customer_id) AS customers, CAST(avg(distance_km) AS DOUBLE) AS avg_distance_km
    FROM bills WHERE {key} IS NOT NULL GROUP BY {key}
)
SELECT {key}, CAST(cost AS DOUBLE) AS cost, CAST(quantity AS DOUBLE) AS quantity, trips,
       CASE WHEN quantity > 0 THEN CAST(cost AS DOUBLE) / CAST(quantity AS DOUBLE) END AS cost_per_ton,
       customers, avg_distance_km
FROM by_key
ORDER BY cost DESC, {key}
"""


def freight(con, first: dt.date, last: dt.date):
    """(per customer per month, company trend, per carrier or None, per route or None) for bills
    dated ``first``..``last`` inclusive. The ytd columns run from January of each year, counting only
    bills inside the range."""
    p = Params(first=first, last=last)
    customers = query(con, CUSTOMER_SQL.format(bills=BILLS), p)
    if customers.num_rows == 0:
        raise AnalysisError(f"no freight bills between {first} and {last}; load them with "
                            "`crmtool load freight FILE` or widen --from/--to",
                            zh=f"{first} 至 {last} 没有运费单据（请用 `crmtool load freight 文件` 导入）")
    trend = query(con, TREND_SQL.format(bills=BILLS), p)
    carriers = query(con, BY_KEY_SQL.format(bills=BILLS, key="carrier"), p)
    routes = query(con, BY_KEY_SQL.format(bills=BILLS, key="route"), p)
    assert customers.column_names == COLUMNS
    return customers, trend, (carriers if carriers.num_rows else None), (routes if routes.num_rows else None)
