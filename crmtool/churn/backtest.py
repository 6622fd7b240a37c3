"""Backtest of the early warning (SPEC §4.7) against what actually happened, so ``warning.ratio``
can be tuned with evidence.

Definitions (one row of evidence = one customer in one judged month m):
- population at m: customers that are active at m — they have bought, and idle_months ≤
  ``churn.active_max`` (new customers included). Customers already churned or lost cannot churn again.
- churned within the horizon: the customer reaches status churned (idle_months = active_max + 1)
  at some month in m+1 … m+horizon; the churn month is the first such month.
- judged months: every m in --from … --to whose whole horizon lies inside the data (m + horizon ≤
  the last complete month, ``data_end``); later months are skipped, and the result says how many
  were judged (``months``). No judged month at all is an AnalysisError.
- flagged by the warning: severity at m is not none (``any``), or equals a given severity (rows
  ``low`` / ``medium`` / ``high``: precision and recall of that severity on its own).
- flagged by the comparison rule ``no_purchase_Nm``: idle_months ≥ N at m (no purchase for N months).
- precision = flagged ∧ churned / flagged; recall = flagged ∧ churned / churned (NULL on a zero
  denominator); median_lead_months = median of (churn month − m) over flagged ∧ churned.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from crmtool.churn.series import build_series, churned_idle_months, fetch, idx_label, month_idx
from crmtool.churn.warn import key_predicate, severity_sql
from crmtool.config import Settings
from crmtool.errors import AnalysisError, UsageError
from crmtool.facts import add_months, month_start

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

BACKTEST_COLUMNS = ["rule", "ratio", "severity", "months", "customer_months", "warned", "churned", "hits",
                    "precision", "recall", "median_lead_months"]


# How any rule is scored, one row of evidence (customer, judged month) at a time: `flagged` by the
# rule, `churn_idx` the month it churned within the horizon (NULL if it did not). Shared by every rule.
SCORE_COUNTS = """count(DISTINCT idx) AS months,
               count(*) AS customer_months,
               count(*) FILTER (WHERE flagged) AS warned,
               count(*) FILTER (WHERE churn_idx IS NOT NULL) AS churned,
               count(*) FILTER (WHERE flagged AND churn_idx IS NOT NULL) AS hits,
               percentile_cont(0.5) WITHIN GROUP (
                   ORDER BY CASE WHEN flagged AND churn_idx IS NOT NULL THEN churn_idx - idx END
               ) AS median_lead_months"""

# the scored columns after rule, ratio, severity; binds first_month, last_month, horizon
SCORE_COLUMNS = """CAST(months AS INTEGER) AS months,
           CAST(customer_months AS BIGINT) AS customer_months,
           CAST(warned AS BIGINT) AS warned, CAST(churned AS BIGINT) AS churned, CAST(hits AS BIGINT) AS hits,
           CASE WHEN warned > 0 THEN CAST(hits AS DOUBLE) / warned END AS precision,
           CASE WHEN churned > 0 THEN CAST(hits AS DOUBLE) / churned END AS recall,
           CAST(median_lead_months AS DOUBLE) AS median_lead_months,
           CAST(? AS VARCHAR) AS first_month, CAST(? AS VARCHAR) AS last_month, CAST(? AS INTEGER) AS horizon"""


def parse_ratios(text: str | None, default: float) -> list[float]:
    """'0.6,0.7,0.8' → [0.6, 0.7, 0.8]; each in (0, 1]."""
    if not text:
        return [default]
    out: list[float] = []
    for part in text.split(","):
        part = part.strip()
        try:
            r = float(part)
        except ValueError:
            raise UsageError(f"--ratio: {part!r} is not a number (e.g. 0.6,0.7,0.8)") from None
        if not 0 < r <= 1:
            raise UsageError(f"--ratio: {part} must be in (0, 1]")
        if r not in out:
            out.append(r)
    return out


def churn_backtest(con, settings: Settings, *, first: dt.date, last: dt.date, data_end: dt.date,
                   horizon: int = 6, ratios: list[float] | None = None, idle_months: int = 2) -> "pa.Table":
    """Precision, recall and median lead time of the warning (per ratio and severity) and of the
    no-purchase rule, over the judged months of ``first``..``last``."""
    first, last, data_end = month_start(first), month_start(last), month_start(data_end)
    if first > last:
        raise UsageError(f"--from {first:%Y-%m} is after --to {last:%Y-%m}")
    if horizon < 1:
        raise UsageError("--horizon must be at least 1 month")
    c = settings.churn
    if not 1 <= idle_months <= c.active_max:
        raise UsageError(f"--idle-months must be between 1 and churn.active_max ({c.active_max}); "
                         "a customer idle longer is already churned")
    judged_last = min(last, add_months(data_end, -horizon))
    if judged_last < first:
        raise AnalysisError(f"no month in {first:%Y-%m}..{last:%Y-%m} has its {horizon}-month horizon inside the "
                            f"data, which ends {data_end:%Y-%m}; choose an earlier --to or a shorter --horizon")
    ratios = ratios or [settings.warning.ratio]
    build_series(con, settings, data_end, ratios=ratios)
    key_sql, key_params = key_predicate(settings)
    sev_sql, sev_params = severity_sql(settings)
    rule_rows = ("SELECT 'warning' AS rule, 'low' AS level, 1 AS ord UNION ALL "
                 "SELECT 'warning', 'medium', 2 UNION ALL SELECT 'warning', 'high', 3 UNION ALL "
                 "SELECT 'warning', 'any', 4 UNION ALL SELECT ?, 'any', 5")
    sql = f"""
    WITH s AS (
        SELECT s.ratio, s.customer_id, s.idx, s.idle_months, s.breach_streak, {key_sql} AS key
        FROM churn_series s
        LEFT JOIN customers_resolved cr ON cr.customer_id = s.customer_id
    ),
    churn_events AS (
        SELECT DISTINCT customer_id, idx AS churn_idx
        FROM churn_series
        WHERE idle_months = ?
    ),
    population AS (
        SELECT s.ratio, s.customer_id, s.idx, s.idle_months, {sev_sql} AS severity,
               (SELECT min(e.churn_idx) FROM churn_events e
                 WHERE e.customer_id = s.customer_id AND e.churn_idx > s.idx AND e.churn_idx <= s.idx + ?
               ) AS churn_idx
        FROM s
        WHERE s.idle_months <= ? AND s.idx BETWEEN ? AND ?
    ),
    rules AS ({rule_rows}),
    evaluated AS (
        SELECT r.rule, r.level, r.ord, p.ratio, p.idx, p.churn_idx,
               CASE WHEN r.rule <> 'warning' THEN p.idle_months >= ?
                    WHEN r.level = 'any' THEN p.severity <> 'none'
                    ELSE p.severity = r.level END AS flagged
        FROM population p
        CROSS JOIN rules r
        WHERE r.rule = 'warning' OR p.ratio = CAST(? AS DECIMAL(10,6))
    ),
    counted AS (
        SELECT rule, level, ord, CASE WHEN rule = 'warning' THEN CAST(ratio AS DOUBLE) END AS ratio,
               {SCORE_COUNTS}
        FROM evaluated
        GROUP BY rule, level, ord, CASE WHEN rule = 'warning' THEN CAST(ratio AS DOUBLE) END
    )
    SELECT rule, ratio, level AS severity, {SCORE_COLUMNS}
    FROM counted
    ORDER BY ord, ratio
    """
    lo, hi = month_idx(first), month_idx(judged_last)
    params = [*key_params,
              churned_idle_months(settings),
              *sev_params, horizon, c.active_max, lo, hi,
              f"no_purchase_{int(idle_months)}m",
              int(idle_months), ratios[0],
              idx_label(lo), idx_label(hi), horizon]
    table = fetch(con, sql, params)
    if table.num_rows == 0:
        raise AnalysisError(f"no active customer in {idx_label(lo)}..{idx_label(hi)} to backtest on")
    return table
