"""Purchase-volume attainment (购油量达标分析), SPEC §4.10: each archive customer's net volume in a
month, quarter or year against its expected volume (expected_volume / 12 per month), grouped, and
the customers under target by shortfall."""

from __future__ import annotations

from crmtool.config import Settings
from crmtool.errors import AnalysisError
from crmtool.facts import Period, install_views
from crmtool.grading._sql import Params, label_case, query
from crmtool.grading.classes import classes_ctes
from crmtool.labels import demand_classes, loyalty
from crmtool.sales.periods import CalendarPeriod

COLUMNS = ["customer_id", "expected", "actual", "attainment", "under_target"]
GROUP_COLUMNS = ["customers", "expected", "actual", "attainment", "under_count"]
UNDER_COLUMNS = ["customer_id", "expected", "actual", "attainment", "shortfall"]

# --by -> (output column, SQL expression over attainment_rows); our own constants
GROUPS: dict[str, tuple[str, str]] = {
    "region": ("region", "region"),
    "industry": ("industry", "industry"),
    "level": ("level", "level"),
    "demand_class": ("demand_class", "demand_class"),
    "loyalty": ("loyalty", "loyalty"),
    "manager": ("manager_id", "manager_id"),
}
ALIASES = {"manager_id": "manager", "demand": "demand_class", "class": "demand_class"}

BASE_CTES = """
expected AS (                        -- customers without an expected volume are left out; one <= 0
    SELECT customer_id, region, industry, level, manager_id,      -- gives a null expected (SPEC §4.10)
           CASE WHEN expected_volume > 0 THEN CAST(expected_volume AS DOUBLE) / 12.0 * $months END AS expected
    FROM customers_resolved
    WHERE expected_volume IS NOT NULL
),
actual AS (
    SELECT customer_id, CAST(sum(quantity) AS DOUBLE) AS actual
    FROM orders_resolved
    WHERE order_date BETWEEN CAST($p_start AS DATE) AND CAST($p_end AS DATE)
    GROUP BY customer_id
),
attainment_rows AS (
    SELECT e.customer_id, e.region, e.industry, e.level, e.manager_id, k.demand_class, k.loyalty,
           e.expected, coalesce(a.actual, 0) AS actual,
           coalesce(a.actual, 0) / e.expected AS attainment,
           coalesce(a.actual, 0) / e.expected < $threshold AS under_target,
           e.expected - coalesce(a.actual, 0) AS shortfall
    FROM expected e
    LEFT JOIN actual a ON a.customer_id = e.customer_id
    LEFT JOIN classes k ON k.customer_id = e.customer_id
)"""

CUSTOMERS_SQL = """
WITH {classes}, {base}
SELECT customer_id, expected, actual, attainment, under_target, shortfall, demand_class, loyalty,
       $period_label AS period
FROM attainment_rows
ORDER BY customer_id
"""

GROUPS_SQL = """
WITH {classes}, {base},
grouped AS (
    SELECT {key} AS group_key, count(*) AS customers,      -- exact sums: the same whatever the row order
           CAST(sum(CAST(expected AS DECIMAL(38, 9))) AS DOUBLE) AS expected,
           CAST(sum(CAST(actual AS DECIMAL(38, 9))) AS DOUBLE) AS actual,
           count(*) FILTER (WHERE under_target) AS under_count
    FROM attainment_rows
    GROUP BY {key}
)
SELECT group_key AS {column}, customers, expected, actual, actual / nullif(expected, 0) AS attainment,
       under_count, {label} AS label
FROM grouped
ORDER BY group_key NULLS LAST
"""

UNDER_SQL = """
WITH {classes}, {base}
SELECT customer_id, expected, actual, attainment, shortfall
FROM attainment_rows
WHERE under_target
ORDER BY shortfall DESC, customer_id
"""


def parse_group(by: str) -> str:
    from crmtool.errors import UsageError

    name = str(by or "").strip().lower()
    name = ALIASES.get(name, name)
    if name not in GROUPS:
        raise UsageError(f"--by: {by!r} is not one of {', '.join(GROUPS)}")
    return name


def attainment(con, period: Period, settings: Settings, cp: CalendarPeriod, *, by: str = "region", lang: str = "en"):
    """(per-customer table, grouped table, under-target list) for calendar period ``cp``.

    expected = expected_volume / 12 × months in the period; actual = net tons in the period;
    attainment = actual / expected; under_target when attainment < ``attainment.threshold``.
    demand_class and loyalty are the classes of SPEC §4.11 as of the period's end (capped at as-of)."""
    install_views(con)
    group = parse_group(by)
    column, key = GROUPS[group]
    class_as_of = min(cp.end, period.as_of)
    p = Params(months=float(cp.months), p_start=cp.first, p_end=cp.end,
               threshold=float(settings.attainment.threshold), period_label=cp.label)
    classes = classes_ctes(p, Period(class_as_of, class_as_of.replace(day=1)), settings)
    label = {"demand_class": label_case(p, "group_key", demand_classes(lang)),
             "loyalty": label_case(p, "group_key", loyalty(lang))}.get(group, "CAST(group_key AS VARCHAR)")
    customers = query(con, CUSTOMERS_SQL.format(classes=classes, base=BASE_CTES), p)
    if customers.num_rows == 0:
        raise AnalysisError("no archive customer has an expected volume (购油量预判值 > 0); load an archive "
                            "with expected_volume", zh="客户档案中没有客户填写购油量预判值（大于 0）")
    groups = query(con, GROUPS_SQL.format(classes=classes, base=BASE_CTES, key=key, column=column, label=label), p)
    under = query(con, UNDER_SQL.format(classes=classes, base=BASE_CTES), p)
    assert customers.column_names[: len(COLUMNS)] == COLUMNS
    return customers, groups, under
