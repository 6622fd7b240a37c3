"""Early warning 购油预警 (SPEC §4.7): baseline, breach and decline streaks, key customers,
severity and who is notified.

- key: the archive level (``customers_resolved.level``) is one of ``level.effective_key_levels()``.
- severity with s = breach_streak and H = ``warning.high_min_streak`` (2): high = key and s ≥ H;
  medium = s ≥ H, or key and s ≥ 1; low = s ≥ 1; else none.
- notify: the manager id; when severity is high, followed by the archive's maintenance level
  (维护级别, the role the province notifies), joined by "; " — e.g. ``M001; 主任``. A missing
  manager or maintenance level is left out.
- ratio (output column): volume / baseline of M (NULL when the baseline is 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmtool.labels import SEVERITY_ORDER
from crmtool.churn.series import Series, ensure_series, fetch, month_idx
from crmtool.config import Settings
from crmtool.errors import UsageError
from crmtool.facts import Period, known_customers, month_end

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

WARN_COLUMNS = ["customer_id", "month", "volume", "baseline", "ratio", "breach_streak", "decline_streak", "key",
                "severity", "manager_id", "notify"]


def key_predicate(settings: Settings, column: str = "cr.level") -> tuple[str, list[str]]:
    """SQL that is true for key customers, and its parameters (one ``?`` per key level)."""
    levels = list(settings.level.effective_key_levels())
    if not levels:
        return "FALSE", []
    return f"coalesce({column} IN ({', '.join('?' for _ in levels)}), FALSE)", levels


SEVERITY_CASE = """CASE WHEN {key} AND {s} >= ? THEN 'high'
            WHEN {s} >= ? OR ({key} AND {s} >= 1) THEN 'medium'
            WHEN {s} >= 1 THEN 'low'
            ELSE 'none' END"""


def severity_sql(settings: Settings, key: str = "key", streak: str = "breach_streak") -> tuple[str, list]:
    h = int(settings.warning.high_min_streak)
    return SEVERITY_CASE.format(key=key, s=streak), [h, h]


def severity_at_least(severity: str) -> list[str]:
    """'medium' → ['medium', 'high']."""
    if severity not in SEVERITY_ORDER:
        raise UsageError(f"--severity: {severity!r} is not one of {', '.join(SEVERITY_ORDER[1:])}")
    return list(SEVERITY_ORDER[SEVERITY_ORDER.index(severity):])


def churn_warn(con, period: Period, settings: Settings, *, include_all: bool = False, min_severity: str = "low",
               manager: str | None = None, series: Series | None = None) -> "pa.Table":
    """Warnings for month M, sorted by manager_id, severity (high first), customer_id. Rows with
    severity none only when ``include_all``; else severities ≥ ``min_severity``. ``manager``: only
    that manager's customers."""
    series = ensure_series(con, settings, series, period.month)
    keep = list(SEVERITY_ORDER) if include_all else severity_at_least(min_severity)
    key_sql, key_params = key_predicate(settings)
    sev_sql, sev_params = severity_sql(settings)
    sql = f"""
    WITH series_m AS (
        SELECT * FROM churn_series WHERE ratio = CAST(? AS DECIMAL(10,6)) AND idx = ?
    ),
    at_m AS (                        -- a customer with no row at M has volume 0, baseline 0, no streak
        SELECT a.customer_id, coalesce(s.volume, 0) AS volume, coalesce(s.baseline_sum, 0) AS baseline_sum,
               coalesce(s.baseline, 0) AS baseline, coalesce(s.breach_streak, 0) AS breach_streak,
               coalesce(s.decline_streak, 0) AS decline_streak,
               {key_sql} AS key,
               cr.manager_id, cr.maintenance_level, cr.name, cr.level
        FROM {known_customers("CAST(? AS DATE)")} a
        LEFT JOIN series_m s ON s.customer_id = a.customer_id
        LEFT JOIN customers_resolved cr ON cr.customer_id = a.customer_id
    ),
    judged AS (
        SELECT a.*, {sev_sql} AS severity
        FROM at_m a
    )
    SELECT customer_id, CAST(? AS VARCHAR) AS month,
           CAST(volume AS DOUBLE) AS volume, baseline,
           CASE WHEN baseline_sum > 0 THEN CAST(volume AS DOUBLE) / baseline END AS ratio,
           CAST(breach_streak AS INTEGER) AS breach_streak, CAST(decline_streak AS INTEGER) AS decline_streak,
           key, severity, manager_id,
           nullif(concat_ws('; ', manager_id,
                            CASE WHEN severity = 'high' THEN maintenance_level END), '') AS notify,
           name, level, maintenance_level
    FROM judged
    WHERE severity IN ({', '.join('?' for _ in keep)}){" AND manager_id = ?" if manager else ""}
    ORDER BY manager_id NULLS LAST,
             CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END,
             customer_id
    """
    params = [series.ratios[0] if len(series.ratios) == 1 else settings.warning.ratio, month_idx(period.month),
              *key_params, month_end(period.month), *sev_params, period.month_label, *keep, *([manager] if manager else [])]
    return fetch(con, sql, params)
