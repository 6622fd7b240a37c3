"""Demand class (需求量级别), mobility (机动性) and loyalty (忠诚度), SPEC §4.11.

They appear as extra columns of ``grade level``; :func:`customer_classes` gives them for every
customer (archive and orders-only) for reports and the attainment analysis.
"""

from __future__ import annotations

from crmtool.config import Settings
from crmtool.errors import ConfigError
from crmtool.facts import Period, add_months, install_views, known_customers
from crmtool import labels
from crmtool.grading._sql import Params, label_case, query

DEMAND_IDS = ("small", "medium", "large", "extra_large")
NO_COMPETITOR = ("", "无", "none", "no", "n/a", "na", "-", "/", "没有", "暂无")

# CTEs (after a WITH): class_facts, class_cv, classes(customer_id, annual_demand, share_of_wallet,
# purchase_months, demand_class, mobile, cv, loyalty). Needs $cls_start (exclusive), $as_of and
# $cls_first_month bound.
CLASSES_CTES = """
class_lines AS (
    SELECT customer_id, month, quantity, is_purchase
    FROM orders_resolved
    WHERE order_date > CAST($cls_start AS DATE) AND order_date <= CAST($as_of AS DATE)
),
class_facts AS (
    SELECT customer_id, sum(quantity) AS volume,
           count(DISTINCT CASE WHEN is_purchase THEN month END) AS purchase_months
    FROM class_lines GROUP BY customer_id
),
class_monthly AS (                   -- net volume in each of the 12 calendar months ending at as-of's month
    SELECT customer_id, month, CAST(sum(quantity) AS DOUBLE) AS v
    FROM orders_resolved
    WHERE month >= CAST($cls_first_month AS DATE) AND order_date <= CAST($as_of AS DATE)
    GROUP BY customer_id, month
),
class_cv AS (                        -- months without lines count 0: mean and variance over all 12
    SELECT customer_id, sum(v) / 12.0 AS mean_v,
           greatest(sum(v * v) / 12.0 - (sum(v) / 12.0) * (sum(v) / 12.0), 0) AS var_v
    FROM class_monthly GROUP BY customer_id
),
class_base AS (
    SELECT a.customer_id, CAST(c.annual_demand AS DOUBLE) AS annual_demand, c.competitor,
           coalesce(f.purchase_months, 0) AS purchase_months,
           CASE WHEN c.annual_demand > 0 THEN round(least(CAST(f.volume AS DOUBLE) / CAST(c.annual_demand AS DOUBLE), 1.0), 12)
           END AS share_of_wallet,  -- to 12 places: 2.4 / 3 is 0.8, at the loyal bound, not just under it
           CASE WHEN cv.mean_v > 0 THEN round(sqrt(cv.var_v) / cv.mean_v, 12) END AS cv
    FROM {known} a
    LEFT JOIN customers_resolved c ON c.customer_id = a.customer_id
    LEFT JOIN class_facts f ON f.customer_id = a.customer_id
    LEFT JOIN class_cv cv ON cv.customer_id = a.customer_id
),
classes AS (
    SELECT customer_id, annual_demand, share_of_wallet, purchase_months, cv,
           {demand_case} AS demand_class,
           coalesce(cv > $mobile_cv, false) AS mobile,
           CASE WHEN purchase_months = 0 THEN 'potential'
                WHEN share_of_wallet >= $loyal_share AND purchase_months >= $loyal_months THEN 'loyal'
                WHEN share_of_wallet >= $quality_share THEN 'quality'
                WHEN purchase_months <= $scattered_months THEN 'scattered'
                WHEN competitor IS NOT NULL AND lower(trim(competitor)) NOT IN ({no_competitor}) THEN 'competitive'
                ELSE 'regular' END AS loyalty
    FROM class_base
)"""


def classes_ctes(p: Params, period: Period, settings: Settings, months: int = 12) -> str:
    """The CTE text for the classes over the ``months`` window ending at as-of, binding into ``p``."""
    cs = settings.classes
    if len(cs.demand_bounds) != 3 or list(cs.demand_bounds) != sorted(cs.demand_bounds):
        raise ConfigError("classes.demand_bounds: give three ascending bounds (small < a ≤ medium < b ≤ large "
                          "< c ≤ extra_large)")
    p.values.update(cls_start=period.window_start(months), as_of=period.as_of,
                    cls_first_month=add_months(period.as_of.replace(day=1), -11), mobile_cv=cs.mobile_cv,
                    loyal_share=cs.loyal_share, loyal_months=cs.loyal_months, quality_share=cs.quality_share,
                    scattered_months=cs.scattered_months)
    whens = " ".join(f"WHEN annual_demand < {p(b)} THEN {p(i)}" for b, i in zip(cs.demand_bounds, DEMAND_IDS))
    demand_case = f"CASE WHEN annual_demand IS NULL THEN NULL {whens} ELSE {p(DEMAND_IDS[-1])} END"
    no_comp = ", ".join(p(x) for x in NO_COMPETITOR)
    return CLASSES_CTES.format(demand_case=demand_case, no_competitor=no_comp,
                               known=known_customers("CAST($as_of AS DATE)"))


def customer_classes(con, period: Period, settings: Settings, *, lang: str = "en"):
    """demand_class, mobile and loyalty for every customer (archive or with orders), as of
    ``period.as_of``. Monthly volumes for mobility are the 12 calendar months ending with as-of's
    month (lines up to as-of); months without lines count 0; CV = population std / mean (mean ≤ 0:
    not mobile). share_of_wallet needs annual_demand > 0, else it is null (and never loyal/quality)."""
    install_views(con)
    p = Params()
    ctes = classes_ctes(p, period, settings)
    sql = (f"WITH {ctes}\nSELECT customer_id, demand_class, mobile, loyalty, "
           f"{label_case(p, 'demand_class', labels.demand_classes(lang))} AS demand_class_label, "
           f"{label_case(p, 'loyalty', labels.loyalty(lang))} AS loyalty_label, "
           "annual_demand, share_of_wallet, purchase_months, cv FROM classes ORDER BY customer_id")
    return query(con, sql, p)
