"""Pareto / ABC classes with the Gini coefficient and Lorenz curve, SPEC §4.2."""

from __future__ import annotations

from crmtool.config import Settings
from crmtool.errors import AnalysisError
from crmtool.facts import Period, in_window, install_views
from crmtool import labels
from crmtool.grading._sql import Params, label_case, metric_column, metric_coverage, missing_line, query
from crmtool.grading.result import GradeResult

COLUMNS = ["customer_id", "metric_value", "share", "cum_share", "rank", "abc_class"]

SQL = """
WITH window_totals AS (
    SELECT customer_id, sum({metric}) AS metric_value   -- DECIMAL: exact sums, same in any row order
    FROM orders_resolved
    WHERE {in_window}
    GROUP BY customer_id
),
positive AS (
    SELECT customer_id, metric_value FROM window_totals WHERE metric_value > 0
),
ranked AS (
    SELECT customer_id, metric_value,
           row_number() OVER (ORDER BY metric_value DESC, customer_id) AS rank,
           sum(metric_value) OVER () AS total
    FROM positive
),
running AS (
    SELECT customer_id, metric_value, rank, total,
           coalesce(sum(metric_value) OVER (ORDER BY rank ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
               AS before_row
    FROM ranked
),
classed AS (
    SELECT customer_id, metric_value, rank,
           CAST(metric_value AS DOUBLE) / CAST(total AS DOUBLE) AS share,
           CAST(before_row + metric_value AS DOUBLE) / CAST(total AS DOUBLE) AS cum_share,
           CAST(before_row AS DOUBLE) / CAST(total AS DOUBLE) AS cum_before
    FROM running
),
classed_abc AS (                     -- the share before the row to 12 places: 2.4 / 3 is 0.8, not 0.7999999999999999
    SELECT *, CASE WHEN round(cum_before, 12) < $a THEN 'A' WHEN round(cum_before, 12) < $b THEN 'B' ELSE 'C' END AS abc_class
    FROM classed
)
SELECT customer_id, CAST(metric_value AS DOUBLE) AS metric_value, share, cum_share, CAST(rank AS INTEGER) AS rank,
       abc_class, {class_label} AS abc_label
FROM classed_abc
ORDER BY rank
"""

SUMMARY_SQL = """
SELECT count(*) AS customers,
       sum(CASE WHEN abc_class = 'A' THEN 1 ELSE 0 END) AS a_customers,
       sum(CASE WHEN abc_class = 'B' THEN 1 ELSE 0 END) AS b_customers,
       sum(CASE WHEN abc_class = 'C' THEN 1 ELSE 0 END) AS c_customers,
       sum(CASE WHEN abc_class = 'A' THEN share ELSE 0 END) AS a_metric_share,
       -- Gini over values sorted ascending (i = N − rank + 1): 2·Σ i·x / (N·Σ x) − (N + 1) / N
       2.0 * sum((count_all - rank + 1) * metric_value) / (max(count_all) * sum(metric_value))
           - (max(count_all) + 1.0) / max(count_all) AS gini
FROM (SELECT *, count(*) OVER () AS count_all FROM pareto_result) t
"""


def pareto(con, period: Period, settings: Settings, *, metric: str | None = None, window: int | None = None,
           lang: str = "en") -> GradeResult:
    """ABC classes on the metric over the trailing window: customers with a positive total, ranked
    descending with ties by customer_id; A while the share before the row is under ``pareto.a``, B
    under ``pareto.b``, else C. Summary: class counts, share of customers in A, the Gini coefficient;
    ``extras['lorenz']`` is the Lorenz curve (cumulative customer share vs cumulative metric share,
    customers ascending). Extra column: abc_label."""
    install_views(con)
    metric = metric or settings.pareto.metric
    months = window or settings.pareto.window_months
    col = metric_column(metric)
    start = period.window_start(months)
    missing = metric_coverage(con, metric, start, period.as_of, "pareto")
    p = Params(window_start=start, as_of=period.as_of, a=settings.pareto.a, b=settings.pareto.b)
    sql = SQL.format(in_window=in_window(), metric=col,
                     class_label=label_case(p, "abc_class", labels.abc_classes(settings, lang)))
    table = query(con, sql, p)
    if table.num_rows == 0:
        raise AnalysisError(f"no customer has a positive {metric} between {start} (exclusive) and "
                            f"{period.as_of}; nothing to rank")
    con.register("pareto_result", table)
    try:
        s = query(con, SUMMARY_SQL).to_pylist()[0]
        lorenz = query(con, """
            SELECT 0.0 AS customer_share, 0.0 AS metric_share
            UNION ALL
            SELECT CAST(count(*) OVER (ORDER BY rank DESC ROWS UNBOUNDED PRECEDING) AS DOUBLE) / count(*) OVER (),
                   sum(share) OVER (ORDER BY rank DESC ROWS UNBOUNDED PRECEDING)
            FROM pareto_result
            ORDER BY customer_share""")
    finally:
        con.unregister("pareto_result")
    n = int(s["customers"])
    summary = {
        "customers": n, "metric": metric, "window_months": months, "window": [str(start), str(period.as_of)],
        "classes": {"A": int(s["a_customers"]), "B": int(s["b_customers"]), "C": int(s["c_customers"])},
        "a_customer_share": int(s["a_customers"]) / n, "a_metric_share": float(s["a_metric_share"]),
        "gini": float(s["gini"]),
    }
    cls = summary["classes"]
    if lang == "zh":
        word = labels.metric_word(metric, lang)
        lines = [f"ABC分类（{word}），截至 {period.as_of} 的 {months} 个月：{n} 个客户；"
                 f"A类 {cls['A']}，B类 {cls['B']}，C类 {cls['C']}",
                 f"  {summary['a_customer_share']:.1%} 的客户为A类，占{word}的 {summary['a_metric_share']:.1%}；"
                 f"基尼系数 {summary['gini']:.3f}"]
    else:
        lines = [f"ABC on {metric}, {months} months to {period.as_of}: {n} customers; "
                 f"A {cls['A']}, B {cls['B']}, C {cls['C']}",
                 f"  {summary['a_customer_share']:.1%} of customers are in A and hold "
                 f"{summary['a_metric_share']:.1%} of {metric}; Gini {summary['gini']:.3f}"]
    summary["metric_missing_customers"] = missing
    if missing:
        lines.append(missing_line(metric, missing, lang))
    return GradeResult("pareto", table, str(period.as_of), period.as_of, summary, {"lorenz": lorenz}, lines)
