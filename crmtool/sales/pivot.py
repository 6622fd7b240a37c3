"""Volume pivot (销量多口径统计), SPEC §4.10: any dimensions by any measures over a date range, one row
per group and a total row last. Dimension and measure names come from fixed whitelists mapped to
SQL expressions of our own: the user's text only picks among them, it never reaches the SQL."""

from __future__ import annotations

import datetime as dt

from crmtool.errors import AnalysisError, UsageError
from crmtool.facts import install_views
from crmtool.grading._sql import Params, query
from crmtool.labels import total_label

# dimension -> (output column, SQL expression over pivot_lines)
DIMENSIONS: dict[str, tuple[str, str]] = {
    "customer": ("customer_id", "customer_id"),
    "region": ("region", "region"),
    "district": ("district", "district"),
    "industry": ("industry", "industry"),
    "manager": ("manager_id", "manager_id"),
    "level": ("level", "level"),
    "category": ("category", "category"),
    "product": ("product_code", "product_code"),
    "month": ("month", "strftime(order_date, '%Y-%m')"),
    "quarter": ("quarter", "CAST(year(order_date) AS VARCHAR) || 'Q' || CAST(quarter(order_date) AS VARCHAR)"),
    "year": ("year", "CAST(year(order_date) AS VARCHAR)"),
}
# measure -> SQL aggregate over pivot_lines
MEASURES: dict[str, str] = {
    "volume": "CAST(sum(quantity) AS DOUBLE)",  # exact DECIMAL sums, then DOUBLE
    "amount": "CAST(sum(amount) AS DOUBLE)",
    "profit": "CAST(sum(gross_profit) AS DOUBLE)",
    "customers": "count(DISTINCT CASE WHEN is_purchase THEN customer_id END)",  # distinct buying customers
    "lines": "count(*)",  # returns included
}
ALIASES = {"manager_id": "manager", "customer_id": "customer", "product_code": "product", "gross_profit": "profit",
           "quantity": "volume"}

SQL = """
WITH
pivot_lines AS (
    SELECT o.customer_id, c.region, c.district, c.industry, c.manager_id, c.level, o.category, o.product_code,
           o.order_date, o.is_purchase,
           o.quantity, o.amount, o.gross_profit
    FROM orders_resolved o
    LEFT JOIN customers_resolved c ON c.customer_id = o.customer_id
    WHERE o.order_date BETWEEN CAST($first AS DATE) AND CAST($last AS DATE)
),
keyed AS (                           -- the --by dimensions as k0, k1, …
    SELECT {keys}, customer_id, is_purchase, quantity, amount, gross_profit
    FROM pivot_lines
),
grouped AS (                         -- the groups and, as the grouping set (), the total row
    SELECT {group_keys}, {measures}, GROUPING(k0) AS is_total
    FROM keyed
    GROUP BY GROUPING SETS (({group_keys}), ())
)
SELECT {outputs}, {measure_names}
FROM grouped
ORDER BY is_total, {order_keys}
"""


def parse_names(text: str | list[str] | tuple[str, ...], allowed: dict, what: str) -> list[str]:
    """``region,month`` → ['region', 'month']: whitelisted names (and aliases), repeats dropped."""
    parts = text if isinstance(text, (list, tuple)) else str(text or "").split(",")
    names: list[str] = []
    for raw in parts:
        name = str(raw).strip().lower()
        if not name:
            continue
        name = ALIASES.get(name, name)
        if name not in allowed:
            raise UsageError(f"{what}: {raw.strip()!r} is not one of {', '.join(allowed)}")
        if name not in names:
            names.append(name)
    if not names:
        raise UsageError(f"{what}: name at least one of {', '.join(allowed)}")
    return names


def pivot(con, first: dt.date, last: dt.date, *, by: str | list[str], measure: str | list[str], lang: str = "en"):
    """One row per group of the ``by`` dimensions with the ``measure`` columns, then the total row
    (its first key column holds 合计 / Total, the other keys are null; it counts distinct customers
    over the whole range). Rows are ordered by the keys."""
    install_views(con)
    dims = parse_names(by, DIMENSIONS, "--by")
    measures = parse_names(measure, MEASURES, "--measure")
    p = Params(first=first, last=last, total=total_label(lang))
    keys = [f"{DIMENSIONS[d][1]} AS k{i}" for i, d in enumerate(dims)]
    outputs = []
    for i, d in enumerate(dims):
        column = DIMENSIONS[d][0]
        if i == 0:
            outputs.append(f"CASE WHEN is_total = 1 THEN $total ELSE CAST(k0 AS VARCHAR) END AS {column}")
        else:
            outputs.append(f"CAST(k{i} AS VARCHAR) AS {column}")
    sql = SQL.format(keys=", ".join(keys),
                     measures=", ".join(f"{MEASURES[m]} AS m_{m}" for m in measures),
                     group_keys=", ".join(f"k{i}" for i in range(len(dims))),
                     outputs=", ".join(outputs),
                     measure_names=", ".join(f"m_{m} AS {m}" for m in measures),
                     order_keys=", ".join(f"k{i} NULLS LAST" for i in range(len(dims))))
    table = query(con, sql, p)
    if table.num_rows <= 1:  # only the total row: any line would have made a group
        raise AnalysisError(f"no order lines between {first} and {last}; widen --from/--to")
    return table, dims, measures
