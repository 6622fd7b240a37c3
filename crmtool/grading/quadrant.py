"""Two-dimension four-quadrant (两维四象限), SPEC §4.5: customer value × strategic fit."""

from __future__ import annotations

from crmtool.config import Settings
from crmtool.errors import AnalysisError
from crmtool.facts import Period, in_window, install_views
from crmtool import labels
from crmtool.grading._sql import Params, label_case, checked_weights, percentile_score, query
from crmtool.grading.result import GradeResult

COLUMNS = ["customer_id", "value_score", "fit_score", "quadrant", "service_tier"]
VALUE_PARTS = ("gross_profit", "fulfilment", "annual_demand", "reputation")
QUADRANT_IDS = ("strategic", "key", "potential", "ordinary", "unassessed")

SQL = """
WITH window_lines AS (
    SELECT customer_id, quantity, gross_profit
    FROM orders_resolved
    WHERE {in_window}
),
window_totals AS (
    SELECT customer_id, CAST(sum(quantity) AS DOUBLE) AS volume, CAST(sum(gross_profit) AS DOUBLE) AS gross_profit
    FROM window_lines GROUP BY customer_id
),
population AS (                      -- archive customers, and customers with orders in the window
    SELECT customer_id FROM customers_resolved
    UNION
    SELECT customer_id FROM window_totals
),
contracted AS (                      -- contracts overlapping the window
    SELECT customer_id, CAST(sum(volume) AS DOUBLE) AS contract_volume
    FROM contracts
    WHERE start_date <= CAST($as_of AS DATE) AND end_date > CAST($window_start AS DATE)
    GROUP BY customer_id
),
inputs AS (
    SELECT p.customer_id, t.gross_profit, t.volume, k.contract_volume,
           CASE WHEN k.contract_volume > 0 THEN coalesce(t.volume, 0) / k.contract_volume END AS fulfilment,
           CAST(c.annual_demand AS DOUBLE) AS annual_demand,
           c.reputation, c.positioning_fit, c.capability_fit, c.values_fit
    FROM population p
    LEFT JOIN window_totals t ON t.customer_id = p.customer_id
    LEFT JOIN contracted k ON k.customer_id = p.customer_id
    LEFT JOIN customers_resolved c ON c.customer_id = p.customer_id
),
scored AS (
    SELECT *,
           {gross_profit_p},
           {annual_demand_p},
           greatest(least(coalesce(fulfilment, 0), 1.0), 0.0) AS fulfilment_part,
           greatest(least(coalesce(reputation, 0), 100.0), 0.0) / 100.0 AS reputation_part,
           (coalesce(positioning_fit, 0) + coalesce(capability_fit, 0) + coalesce(values_fit, 0))
           / nullif(CASE WHEN positioning_fit IS NULL THEN 0 ELSE 1 END
                    + CASE WHEN capability_fit IS NULL THEN 0 ELSE 1 END
                    + CASE WHEN values_fit IS NULL THEN 0 ELSE 1 END, 0) AS fit_score
    FROM inputs
),
valued AS (
    SELECT *,
           100.0 * ($w_gross_profit * gross_profit_p + $w_fulfilment * fulfilment_part
                    + $w_annual_demand * annual_demand_p + $w_reputation * reputation_part) AS value_score
    FROM scored
),
cuts AS (
    SELECT coalesce(CAST($value_cut AS DOUBLE), percentile_cont(0.5) WITHIN GROUP (ORDER BY value_score)) AS value_cut,
           CAST($fit_cut AS DOUBLE) AS fit_cut
    FROM valued
),
placed AS (
    SELECT v.*, c.value_cut, c.fit_cut,
           CASE WHEN v.fit_score IS NULL THEN 'unassessed'
                WHEN v.value_score >= c.value_cut AND v.fit_score >= c.fit_cut THEN 'strategic'
                WHEN v.value_score >= c.value_cut THEN 'key'
                WHEN v.fit_score >= c.fit_cut THEN 'potential'
                ELSE 'ordinary' END AS quadrant
    FROM valued v CROSS JOIN cuts c
),
served AS (
    SELECT *, {service_case} AS service_tier FROM placed
)
SELECT customer_id, value_score, fit_score, quadrant, service_tier,
       {quadrant_label} AS quadrant_label, {service_label} AS service_tier_label,
       gross_profit, fulfilment, annual_demand, reputation, value_cut, fit_cut
FROM served
ORDER BY value_score DESC, customer_id
"""


def quadrant(con, period: Period, settings: Settings, *, window: int | None = None, lang: str = "en") -> GradeResult:
    """Value × fit quadrants for every archive customer and every customer with orders in the window.

    value_score = 100 · Σ w · part with the ``[quadrant.weights]`` as configured: p(gross profit in
    the window) and p(annual_demand) over the customers where they are known (unknown → 0),
    min(fulfilment, 1) (volume in the window / volume of contracts overlapping it; no contract → 0),
    reputation / 100 (missing → 0). fit_score is the mean of the fit scores given; none → null →
    unassessed. The value cut is the median value_score of the population (``quadrant.value_cut``
    overrides), the fit cut ``quadrant.fit_cut``; a score equal to a cut is high. Extras: labels,
    the inputs and the cuts used.
    """
    install_views(con)
    qs = settings.quadrant
    months = window or qs.window_months
    w = checked_weights(qs.weights, VALUE_PARTS, "quadrant.weights")
    start = period.window_start(months)
    p = Params(window_start=start, as_of=period.as_of, value_cut=qs.value_cut, fit_cut=qs.fit_cut,
               **{f"w_{k}": v for k, v in w.items()})
    tiers = {q: qs.service_tiers.get(q, "standardised") for q in QUADRANT_IDS}
    sql = SQL.format(in_window=in_window(), gross_profit_p=percentile_score("gross_profit", "gross_profit_p"),
                     annual_demand_p=percentile_score("annual_demand", "annual_demand_p"),
                     service_case=label_case(p, "quadrant", tiers),
                     quadrant_label=label_case(p, "quadrant", labels.quadrants(lang)),
                     service_label=label_case(p, "service_tier", labels.service_tiers(lang)))
    table = query(con, sql, p)
    if table.num_rows == 0:
        raise AnalysisError("no customers in the archive and no orders in the window; nothing to classify")
    import pyarrow.compute as pc

    found = {d["values"]: int(d["counts"]) for d in pc.value_counts(table.column("quadrant")).to_pylist()}
    counts = {q: found.get(q, 0) for q in QUADRANT_IDS}
    names = labels.quadrants(lang)
    cut = table.column("value_cut")[0].as_py()
    summary = {"customers": table.num_rows, "quadrants": counts, "value_cut": cut, "fit_cut": qs.fit_cut}
    lines = [f"两维四象限，截至 {period.as_of}：{table.num_rows} 个客户；价值分界 {cut:.1f}，匹配度分界 {qs.fit_cut:g}"
             if lang == "zh" else
             f"Quadrants at {period.as_of}: {table.num_rows} customers; value cut {cut:.1f}, fit cut {qs.fit_cut:g}",
             "  " + ("，" if lang == "zh" else ", ").join(f"{names[k]} {v}" for k, v in counts.items())]
    return GradeResult("quadrant", table, str(period.as_of), period.as_of, summary, lines=lines)
