"""Sales overview (直分销销量概览), SPEC §4.10: day, month-to-date and year-to-date volume per category
against plans and the calendar, with yoy, mom and a warning; and ytd volume by manager."""

from __future__ import annotations

import calendar
import datetime as dt

from crmtool.config import Settings
from crmtool.facts import add_months, install_views
from crmtool.grading._sql import Params, label_case, query
from crmtool.labels import CATEGORY_LABELS, pick
from crmtool.sales.categories import category_case
from crmtool.sales.periods import year_earlier

COLUMNS = ["category", "day", "mtd", "ytd", "monthly_avg", "month_plan", "year_plan", "month_completion",
           "year_completion", "month_progress", "year_progress", "yoy", "mom", "warning"]
MANAGER_COLUMNS = ["manager_id", "ytd", "share"]

OVERVIEW_SQL = """
WITH
categories AS (                      -- always the three category rows, then the total row
    SELECT category, pos FROM (VALUES ('gasoline', 1), ('diesel', 2), ('other', 3), ('total', 4)) AS c(category, pos)
),
window_lines AS (
    SELECT CASE WHEN category IN ('gasoline', 'diesel') THEN category ELSE 'other' END AS category,
           order_date, quantity
    FROM orders_resolved
    WHERE order_date BETWEEN CAST($ly_start AS DATE) AND CAST($as_of AS DATE)
),
volumes AS (                         -- per category and (grouping set ()) for the total row
    SELECT CASE WHEN GROUPING(category) = 1 THEN 'total' ELSE category END AS category,
           coalesce(CAST(sum(quantity) FILTER (WHERE order_date = CAST($as_of AS DATE)) AS DOUBLE), 0) AS day,
           coalesce(CAST(sum(quantity) FILTER (WHERE order_date >= CAST($month_start AS DATE)) AS DOUBLE), 0) AS mtd,
           coalesce(CAST(sum(quantity) FILTER (WHERE order_date >= CAST($year_start AS DATE)) AS DOUBLE), 0) AS ytd,
           CAST(sum(quantity) FILTER (WHERE order_date BETWEEN CAST($ly_start AS DATE) AND CAST($ly_end AS DATE)) AS DOUBLE)
               AS ytd_ly,
           CAST(sum(quantity) FILTER (WHERE order_date BETWEEN CAST($pm_start AS DATE) AND CAST($pm_end AS DATE)) AS DOUBLE)
               AS mtd_prev
    FROM window_lines
    GROUP BY GROUPING SETS ((category), ())
),
plan_source AS (                     -- per figure: customer plans when any exists, else manager plans
    SELECT CASE WHEN count(*) FILTER (WHERE scope = 'customer' AND month = CAST($month_start AS DATE)) > 0
                THEN 'customer' ELSE 'manager' END AS month_scope,
           CASE WHEN count(*) FILTER (WHERE scope = 'customer'
                                      AND month BETWEEN CAST($year_start AS DATE) AND CAST($year_end AS DATE)) > 0
                THEN 'customer' ELSE 'manager' END AS year_scope
    FROM plans
),
plan_rows AS (
    SELECT {plan_category} AS category, p.volume,
           p.scope = s.month_scope AND p.month = CAST($month_start AS DATE) AS in_month,
           p.scope = s.year_scope AND p.month BETWEEN CAST($year_start AS DATE) AND CAST($year_end AS DATE) AS in_year
    FROM plans p CROSS JOIN plan_source s
),
plan_figures AS (                    -- plans without a category count on the total row only
    SELECT CASE WHEN GROUPING(category) = 1 THEN 'total' ELSE category END AS category,
           CAST(sum(volume) FILTER (WHERE in_month) AS DOUBLE) AS month_plan,
           CAST(sum(volume) FILTER (WHERE in_year) AS DOUBLE) AS year_plan
    FROM plan_rows
    GROUP BY GROUPING SETS ((category), ())
),
figures AS (
    SELECT c.category, c.pos,
           coalesce(v.day, 0) AS day, coalesce(v.mtd, 0) AS mtd, coalesce(v.ytd, 0) AS ytd,
           coalesce(v.ytd, 0) / $month_number AS monthly_avg,
           pf.month_plan, pf.year_plan,
           coalesce(v.mtd, 0) / nullif(pf.month_plan, 0) AS month_completion,
           coalesce(v.ytd, 0) / nullif(pf.year_plan, 0) AS year_completion,
           CAST($month_progress AS DOUBLE) AS month_progress, CAST($year_progress AS DOUBLE) AS year_progress,
           CASE WHEN v.ytd_ly > 0 THEN coalesce(v.ytd, 0) / v.ytd_ly - 1 END AS yoy,
           CASE WHEN v.mtd_prev > 0 THEN coalesce(v.mtd, 0) / v.mtd_prev - 1 END AS mom,
           coalesce(v.ytd_ly, 0) AS ytd_last_year, coalesce(v.mtd_prev, 0) AS mtd_previous_month
    FROM categories c
    LEFT JOIN volumes v ON v.category = c.category
    LEFT JOIN plan_figures pf ON pf.category = c.category
)
SELECT category, day, mtd, ytd, monthly_avg, month_plan, year_plan, month_completion, year_completion,
       month_progress, year_progress, yoy, mom,
       -- a null term never warns
       coalesce(month_completion < month_progress - $tolerance, FALSE)
       OR coalesce(year_completion < year_progress - $tolerance, FALSE)
       OR coalesce(yoy < $min_yoy, FALSE) AS warning,
       {category_label} AS category_label, ytd_last_year, mtd_previous_month
FROM figures
ORDER BY pos
"""

MANAGERS_SQL = """
WITH
ytd_lines AS (
    SELECT c.manager_id, o.quantity
    FROM orders_resolved o
    LEFT JOIN customers_resolved c ON c.customer_id = o.customer_id
    WHERE o.order_date BETWEEN CAST($year_start AS DATE) AND CAST($as_of AS DATE)
),
by_manager AS (
    SELECT manager_id, CAST(sum(quantity) AS DOUBLE) AS ytd FROM ytd_lines GROUP BY manager_id
)
SELECT b.manager_id, b.ytd,
       CASE WHEN sum(b.ytd) OVER () > 0 THEN b.ytd / sum(b.ytd) OVER () END AS share,
       m.name
FROM by_manager b
LEFT JOIN managers m ON m.manager_id = b.manager_id
ORDER BY b.ytd DESC, b.manager_id NULLS LAST
"""


def overview_params(as_of: dt.date, settings: Settings) -> Params:
    month_start = as_of.replace(day=1)
    year_start = dt.date(as_of.year, 1, 1)
    days_in_year = 366 if calendar.isleap(as_of.year) else 365
    return Params(
        as_of=as_of, month_start=month_start, year_start=year_start, year_end=dt.date(as_of.year, 12, 1),
        ly_start=dt.date(as_of.year - 1, 1, 1), ly_end=year_earlier(as_of),
        pm_start=add_months(month_start, -1), pm_end=add_months(as_of, -1),
        month_number=float(as_of.month),
        month_progress=as_of.day / calendar.monthrange(as_of.year, as_of.month)[1],
        year_progress=as_of.timetuple().tm_yday / days_in_year,
        tolerance=float(settings.overview.tolerance), min_yoy=float(settings.overview.min_yoy))


def overview(con, as_of: dt.date, settings: Settings, *, lang: str = "en"):
    """(category table, manager table) at as-of D. Category rows: gasoline, diesel, other (always),
    then total. Extras after the SPEC columns: category_label, ytd_last_year, mtd_previous_month.
    The manager table: ytd volume and share of the company's ytd, largest first (orders of
    customers in no archive under a null manager_id), with the manager's name."""
    install_views(con)
    p = overview_params(as_of, settings)
    sql = OVERVIEW_SQL.format(plan_category=category_case(p, "p.category"),
                              category_label=label_case(p, "category", pick(CATEGORY_LABELS, lang)))
    table = query(con, sql, p)
    assert table.column_names[: len(COLUMNS)] == COLUMNS
    managers = query(con, MANAGERS_SQL, Params(year_start=dt.date(as_of.year, 1, 1), as_of=as_of))
    return table, managers
