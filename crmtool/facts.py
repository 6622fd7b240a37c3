"""The derived relations every analysis reads, defined once.

- ``orders_resolved`` (temp view): order lines with ``customer_id`` resolved through code_map, quantity
  in the base unit, gross_profit, ``is_purchase`` (quantity > 0) and ``month``.
- ``customers_resolved`` (temp view): the archive with manager_id resolved (an archive that names the
  manager instead of giving the id is matched to managers.name).
- :func:`known_customers`: every archive customer and every customer id with orders up to a date.
- the monthly series of the churn analyses lives in :mod:`crmtool.churn.series` (sparse: months
  with lines and the months after them that a look-back window still sees).
- :class:`Period`: as-of date and judged month resolved from options and the store (SPEC §3).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from crmtool.errors import AnalysisError, UsageError


def add_months(d: dt.date, n: int) -> dt.date:
    """``d`` moved by ``n`` months, the day clamped to the month's end (2024-03-31 - 1 → 2024-02-29)."""
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def month_end(d: dt.date) -> dt.date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def parse_date(text: str, what: str = "--as-of") -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a date (YYYY-MM-DD)") from None


def parse_month(text: str, what: str = "--month") -> dt.date:
    m = re.fullmatch(r"\s*(\d{4})[-/.]?(\d{1,2})\s*", text or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise UsageError(f"{what}: {text!r} is not a month (YYYY-MM)")
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


def parse_quarter(text: str) -> tuple[dt.date, dt.date]:
    """'2024Q2' -> (2024-04-01, 2024-06-01): the first and last month of the quarter."""
    m = re.fullmatch(r"\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*", text or "")
    if not m:
        raise UsageError(f"--quarter: {text!r} is not a quarter (e.g. 2024Q2)")
    first = dt.date(int(m.group(1)), 3 * int(m.group(2)) - 2, 1)
    return first, add_months(first, 2)


def parse_year(text: str) -> tuple[dt.date, dt.date]:
    if not re.fullmatch(r"\s*\d{4}\s*", str(text)):
        raise UsageError(f"--year: {text!r} is not a year (e.g. 2024)")
    y = int(str(text).strip())
    return dt.date(y, 1, 1), dt.date(y, 12, 1)


# SPEC §3, the trailing window of N months ending at as-of: as_of − N months < date <= as_of.
# Every windowed query binds $window_start (Period.window_start) and $as_of and uses this predicate.
TRAILING_WINDOW = "{column} > CAST($window_start AS DATE) AND {column} <= CAST($as_of AS DATE)"


def in_window(column: str = "order_date") -> str:
    """The trailing-window predicate on ``column`` (one of our own column names)."""
    return TRAILING_WINDOW.format(column=column)


@dataclass(frozen=True)
class Period:
    """as_of: inclusive end of the analysis window; month: first day of the judged month."""

    as_of: dt.date
    month: dt.date

    def window_start(self, months: int) -> dt.date:
        """Exclusive lower bound of the trailing window: ``as_of - N months < order_date <= as_of``."""
        return add_months(self.as_of, -months)

    @property
    def month_end(self) -> dt.date:
        return month_end(self.month)

    @property
    def month_label(self) -> str:
        return self.month.strftime("%Y-%m")


def latest_order_date(con) -> dt.date | None:
    return con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]


def resolve_period(con, as_of: str | dt.date | None = None, month: str | dt.date | None = None) -> Period:
    """SPEC §3: as-of defaults to the latest order date; the month defaults to as-of's month when
    as-of is its last day, else the month before. An explicit month with no as-of judges that month
    with as-of at its end."""
    if isinstance(as_of, str):
        as_of = parse_date(as_of)
    if isinstance(month, str):
        month = parse_month(month)
    if as_of is not None and month is not None and month_start(month) <= as_of < month_end(month):
        # both given: the month is judged whole (SPEC §3: a partial month is never judged), so an
        # as-of inside it would either be ignored or cut the month short
        raise UsageError(f"--month {month:%Y-%m} ends after --as-of {as_of}: a month is judged whole; give "
                         f"--as-of {month_end(month)} or leave --as-of out")
    if as_of is None and month is not None:
        as_of = month_end(month)
    if as_of is None:
        as_of = latest_order_date(con)
        if as_of is None:
            raise AnalysisError("the store has no orders yet; load some with `crmtool load orders FILE`")
    if month is None:
        month = month_start(as_of) if as_of == month_end(as_of) else add_months(month_start(as_of), -1)
    elif month_start(month) > as_of:
        raise UsageError(f"--month {month:%Y-%m} starts after --as-of {as_of}: give a month up to as-of's, or "
                         "leave --as-of out (the month's end is taken)")
    return Period(as_of, month_start(month))


FACT_VIEWS = """
CREATE OR REPLACE TEMP VIEW orders_resolved AS
SELECT o.order_id, o.line_no, o.order_date,
       CAST(date_trunc('month', o.order_date) AS DATE) AS month,
       o.customer_code,
       coalesce(m.customer_id, o.customer_code) AS customer_id,
       o.product_code, o.product_name, o.category, o.quantity, o.amount, o.cost, o.gross_profit,
       o.sales_rep, o.plant,
       o.quantity > 0 AS is_purchase,
       m.customer_id IS NOT NULL AS mapped
FROM orders o
LEFT JOIN code_map m
  ON m.erp_code = o.customer_code
 AND (m.valid_from IS NULL OR o.order_date >= m.valid_from)
 AND (m.valid_to IS NULL OR o.order_date <= m.valid_to);

CREATE OR REPLACE TEMP VIEW customers_resolved AS
SELECT {customer_columns}
FROM customers c
LEFT JOIN managers mi ON mi.manager_id = c.manager_id
LEFT JOIN (SELECT name, min(manager_id) AS manager_id FROM managers GROUP BY name HAVING count(*) = 1) mn
  ON mi.manager_id IS NULL AND mn.name = c.manager_id;
"""


def known_customers(until: str) -> str:
    """SQL of the customers known at the date ``until`` (a SQL expression, e.g. a parameter): every
    archive customer and every customer id with an order line up to it. A customer id that only later
    orders bring is not judged at an earlier month or as-of (SPEC §3: nothing past the data)."""
    return (f"(SELECT customer_id FROM customers UNION "
            f"SELECT DISTINCT customer_id FROM orders_resolved WHERE order_date <= {until})")


def _customer_columns() -> str:
    from crmtool.io.schema import CUSTOMERS

    return ", ".join("coalesce(mi.manager_id, mn.manager_id, c.manager_id) AS manager_id" if col.name == "manager_id"
                     else f"c.{col.name}" for col in CUSTOMERS.columns)


# with no code_map rows every customer_code is its own customer_id: the same view without the join
# (the range join costs a third of a plain RFM query over 10^7 lines)
UNMAPPED_ORDERS = """
CREATE OR REPLACE TEMP VIEW orders_resolved AS
SELECT o.order_id, o.line_no, o.order_date,
       CAST(date_trunc('month', o.order_date) AS DATE) AS month,
       o.customer_code,
       o.customer_code AS customer_id,
       o.product_code, o.product_name, o.category, o.quantity, o.amount, o.cost, o.gross_profit,
       o.sales_rep, o.plant,
       o.quantity > 0 AS is_purchase,
       FALSE AS mapped
FROM orders o"""


def install_views(con) -> None:
    """Create the fact views on this connection (temp objects: fine on a read-only store too).
    Called again after a load, it follows what code_map holds now."""
    mapped = con.execute("SELECT count(*) FROM (SELECT 1 FROM code_map LIMIT 1)").fetchall()[0][0] > 0
    for stmt in FACT_VIEWS.replace("{customer_columns}", _customer_columns()).split(";"):
        if not stmt.strip():
            continue
        if not mapped and "VIEW orders_resolved" in stmt:
            stmt = UNMAPPED_ORDERS
        con.execute(stmt)
