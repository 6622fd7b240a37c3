"""RFM scores and the eight-class value model (客户价值八分类), SPEC §4.1."""

from __future__ import annotations

from crmtool.config import Settings
from crmtool.errors import AnalysisError
from crmtool.facts import Period, in_window, install_views
from crmtool import labels
from crmtool.grading._sql import Params, label_case, metric_column, metric_missing, missing_line, query
from crmtool.grading.result import GradeResult

COLUMNS = ["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_cell",
           "segment"]

# (R high, F high, M high) -> segment
SEGMENT_RULES = [
    (True, True, True, "important_value"), (True, False, True, "important_develop"),
    (False, True, True, "important_retain"), (False, False, True, "important_winback"),
    (True, True, False, "general_value"), (True, False, False, "general_develop"),
    (False, True, False, "general_retain"), (False, False, False, "general_winback"),
]

SQL = """
WITH window_lines AS (
    SELECT customer_id, order_id, order_date, quantity, {metric} AS metric_value
    FROM orders_resolved
    WHERE {in_window}
),
order_net AS (                       -- each order's net quantity over all its lines in the window; its
    SELECT customer_id, order_id,        -- date is its latest purchase line (a return never sets recency)
           max(CASE WHEN quantity > 0 THEN order_date END) AS order_date,
           sum(quantity) AS net_quantity,
           sum(metric_value) AS metric_value,
           count(metric_value) AS metric_lines, count(*) AS lines
    FROM window_lines GROUP BY customer_id, order_id
),
base AS (                            -- scored set: customers with >= 1 purchase line (quantity > 0)
    SELECT customer_id,
           CAST(CAST($as_of AS DATE) - coalesce(max(CASE WHEN net_quantity > 0 THEN order_date END),
                                                max(order_date)) AS INTEGER) AS recency_days,
           CAST(count(*) FILTER (WHERE net_quantity > 0) AS INTEGER) AS frequency,
           CAST(coalesce(sum(metric_value), 0) AS DOUBLE) AS monetary,
           sum(metric_lines) AS metric_lines, sum(lines) - sum(metric_lines) AS metric_missing_lines
    FROM order_net
    GROUP BY customer_id
    HAVING max(order_date) IS NOT NULL   -- an order's date is that of its latest purchase line: some line > 0
),
scores AS (
    SELECT customer_id, recency_days, frequency, monetary, metric_lines, metric_missing_lines,
           CAST(ceil(5 * cume_dist() OVER (ORDER BY recency_days DESC)) AS INTEGER) AS r_score,
           CAST(ceil(5 * cume_dist() OVER (ORDER BY frequency)) AS INTEGER) AS f_score,
           CAST(ceil(5 * cume_dist() OVER (ORDER BY monetary)) AS INTEGER) AS m_score
    FROM base
),
flags AS (
    SELECT *,
           r_score > avg(r_score) OVER () AS r_high,
           f_score > avg(f_score) OVER () AS f_high,
           m_score > avg(m_score) OVER () AS m_high
    FROM scores
),
segmented AS (
    SELECT *,
           CASE {segment_whens} END AS segment
    FROM flags
)
SELECT customer_id, recency_days, frequency, monetary, r_score, f_score, m_score,
       CAST(r_score AS VARCHAR) || CAST(f_score AS VARCHAR) || CAST(m_score AS VARCHAR) AS rfm_cell,
       segment,
       {segment_label} AS segment_label,
       r_high, f_high, m_high, metric_lines, metric_missing_lines
FROM segmented
ORDER BY monetary DESC, customer_id
"""


def rfm(con, period: Period, settings: Settings, *, metric: str | None = None, window: int | None = None,
        lang: str = "en") -> GradeResult:
    """RFM over the trailing window ending at ``period.as_of``.

    Scored set: customers with at least one purchase line (quantity > 0) in the window. frequency
    counts orders whose lines in the window net to > 0; recency_days is as-of minus the latest such
    order's date (when none of a customer's orders nets positive — a purchase fully reversed in the
    same order — the latest purchase line's date stands in). monetary nets returns. Scores are
    ``ceil(5 · cume_dist())`` (cume_dist is k/N; in floating point 5 · k/N comes out exact whenever
    it is a whole number, so 5 · 3/5 is 3, never 4); R, F, M are high when above the set's mean
    score. Rows come best-spending first. Extras: segment_label (``lang``), r_high, f_high, m_high.
    """
    install_views(con)
    metric = metric or settings.rfm.metric
    months = window or settings.rfm.window_months
    col = metric_column(metric)
    start = period.window_start(months)
    p = Params(window_start=start, as_of=period.as_of)
    whens = " ".join(f"WHEN r_high = {p(r)} AND f_high = {p(f)} AND m_high = {p(m)} THEN {p(seg)}"
                     for r, f, m, seg in SEGMENT_RULES)
    sql = SQL.format(in_window=in_window(), metric=col, segment_whens=whens, segment_label=label_case(p, "segment", labels.segments(lang)))
    table = query(con, sql, p)
    missing = _metric_check(table, metric, start, period.as_of)
    table = table.drop_columns(["metric_lines", "metric_missing_lines"])
    if table.num_rows == 0:
        raise AnalysisError(f"no purchases between {start} (exclusive) and {period.as_of}; "
                            "nothing to score (check --as-of / --window)")
    counts = _segment_counts(table)
    names = labels.segments(lang)
    summary = {"customers": table.num_rows, "metric": metric, "window_months": months,
               "window": [str(start), str(period.as_of)], "segments": counts}
    lines = [f"RFM（{labels.metric_word(metric, lang)}），截至 {period.as_of} 的 {months} 个月：评分客户 {table.num_rows} 个"
             if lang == "zh" else f"RFM {metric}, {months} months to {period.as_of}: {table.num_rows} customers scored"]
    lines += [f"  {names.get(k, k)}: {v}" for k, v in counts.items()]
    summary["metric_missing_customers"] = missing
    if missing:
        lines.append(missing_line(metric, missing, lang))
    return GradeResult("rfm", table, str(period.as_of), period.as_of, summary, lines=lines)


def _metric_check(table, metric: str, start, as_of) -> int:
    """None of the scored customers' lines has the metric: an error naming the column to load;
    else the number of customers with the metric missing on some lines (they count 0 there)."""
    import pyarrow.compute as pc

    if table.num_rows and not pc.sum(table.column("metric_lines")).as_py():
        raise metric_missing(metric, start, as_of, "rfm")
    # sign(lines missing) is 1 for a customer missing some (a count is never negative); no Python
    # scalar in the call: pyarrow converting one imports pandas, a fifth of a second
    return int(pc.sum(pc.sign(table.column("metric_missing_lines"))).as_py() or 0)


def _segment_counts(table) -> dict[str, int]:
    import pyarrow.compute as pc

    vc = pc.value_counts(table.column("segment")).to_pylist()
    found = {d["values"]: d["counts"] for d in vc}
    return {seg: int(found.get(seg, 0)) for *_, seg in SEGMENT_RULES}
