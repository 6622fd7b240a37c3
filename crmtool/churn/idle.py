"""Idle monitoring (SPEC §4.8): customer counts by idle_months bucket 0, 1, …, 7, 8+ per manager,
region or level. Buckets follow ``churn.churned_max`` (0…churned_max, then churned_max+1 and more).
Only customers that have bought at least once by M are counted (prospects have no idle months);
customers without an archive row, or with the dimension empty, are grouped under "(none)"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmtool.churn.series import Series, fetch, month_idx
from crmtool.config import Settings
from crmtool.errors import UsageError
from crmtool.facts import Period, install_views
from crmtool.store import quote_ident

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

IDLE_DIMENSIONS = {"manager": "manager_id", "region": "region", "level": "level"}
NO_GROUP = "(none)"


def idle_buckets(settings: Settings) -> list[str]:
    top = int(settings.churn.churned_max)
    return [str(i) for i in range(top + 1)] + [f"{top + 1}+"]


def churn_idle(con, period: Period, settings: Settings, *, by: str = "manager",
               series: Series | None = None) -> "pa.Table":
    """A pivot: one row per group, one count column per bucket, then ``total``."""
    if by not in IDLE_DIMENSIONS:
        raise UsageError(f"--by: {by!r} is not one of {', '.join(IDLE_DIMENSIONS)}")
    col = IDLE_DIMENSIONS[by]
    install_views(con)
    top = int(settings.churn.churned_max)
    counts = [f"count(*) FILTER (WHERE idle_months = {i}) AS {quote_ident(str(i))}" for i in range(top + 1)]
    counts.append(f"count(*) FILTER (WHERE idle_months > {top}) AS {quote_ident(f'{top + 1}+')}")
    sql = f"""
    WITH bought AS (                 -- customers with a purchase by M, idle months at M
        SELECT customer_id,
               ? - max(CAST(extract(year FROM month) * 12 + extract(month FROM month) AS INTEGER)) AS idle_months
        FROM orders_resolved
        WHERE is_purchase AND month <= CAST(? AS DATE)
        GROUP BY customer_id
    ),
    at_m AS (
        SELECT coalesce(nullif(CAST(cr.{quote_ident(col)} AS VARCHAR), ''), ?) AS grp, b.idle_months
        FROM bought b
        LEFT JOIN customers_resolved cr ON cr.customer_id = b.customer_id
    )
    SELECT grp AS {quote_ident(col)}, {', '.join(counts)}, count(*) AS total
    FROM at_m
    GROUP BY grp
    ORDER BY CASE WHEN grp = ? THEN 1 ELSE 0 END, grp
    """
    m = month_idx(period.month)
    return fetch(con, sql, [m, period.month, NO_GROUP, NO_GROUP])
