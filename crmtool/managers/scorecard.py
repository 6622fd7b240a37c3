"""Account-manager scorecard (客户经理评价), SPEC §4.9.

One row per manager in ``managers`` and per manager_id found in the archive. Customers are
attributed by the archive's manager_id (the holder today); every figure — P, P_ly, P_prev, YTD and
YTD a year earlier — uses the customers held at P's end. One query, one named CTE per rule.
"""

from __future__ import annotations

from crmtool.config import Settings
from crmtool.errors import AnalysisError
from crmtool.facts import Period, add_months, install_views
from crmtool.grading._sql import Params, label_case, checked_weights, percentile_score, query, tier_case
from crmtool.sales.periods import CalendarPeriod

COLUMNS = ["manager_id", "name", "team", "region", "held", "held_change", "held_share", "buying", "buying_ratio",
           "new_customers", "retention", "lead_conversion", "lead_days", "visit_rate", "volume", "plan",
           "completion", "yoy", "qoq", "gross_margin", "ytd_volume", "ytd_plan", "ytd_completion", "ytd_yoy",
           "ytd_gross_margin", "score", "rank", "grade"]
FACTORS = ("volume", "completion", "retention", "development")

SQL = """
WITH
population AS (                      -- every manager in managers and every manager_id of the archive
    SELECT manager_id FROM managers WHERE manager_id IS NOT NULL
    UNION
    SELECT manager_id FROM customers_resolved WHERE manager_id IS NOT NULL
),
held AS (                            -- archive customers held at P's end (a null created_date counts)
    SELECT manager_id, customer_id,
           created_date IS NULL OR created_date < CAST($ytd_start AS DATE) AS held_at_start
    FROM customers_resolved
    WHERE manager_id IS NOT NULL AND (created_date IS NULL OR created_date <= CAST($p_end AS DATE))
),
held_counts AS (
    SELECT manager_id, count(*) AS held,
           count(*) FILTER (WHERE held_at_start) AS held_start
    FROM held GROUP BY manager_id
),
held_lines AS (                      -- the held customers' lines over every window the card compares
    SELECT h.manager_id, h.customer_id, o.order_date, o.is_purchase,
           o.quantity, o.amount, o.gross_profit,
           o.order_date BETWEEN CAST($p_start AS DATE) AND CAST($p_end AS DATE) AS in_p,
           o.order_date BETWEEN CAST($ly_start AS DATE) AND CAST($ly_end AS DATE) AS in_ly,
           o.order_date BETWEEN CAST($prev_start AS DATE) AND CAST($prev_end AS DATE) AS in_prev,
           o.order_date BETWEEN CAST($ytd_start AS DATE) AND CAST($p_end AS DATE) AS in_ytd,
           o.order_date BETWEEN CAST($ytd_ly_start AS DATE) AND CAST($ytd_ly_end AS DATE) AS in_ytd_ly
    FROM held h
    JOIN orders_resolved o ON o.customer_id = h.customer_id
    WHERE o.order_date BETWEEN CAST($earliest AS DATE) AND CAST($p_end AS DATE)
),
volumes AS (                         -- net tons, amount and gross profit per window (exact sums)
    SELECT manager_id,
           CAST(sum(quantity) FILTER (WHERE in_p) AS DOUBLE) AS volume,
           CAST(sum(quantity) FILTER (WHERE in_ly) AS DOUBLE) AS volume_ly,
           CAST(sum(quantity) FILTER (WHERE in_prev) AS DOUBLE) AS volume_prev,
           CAST(sum(amount) FILTER (WHERE in_p) AS DOUBLE) AS amount,
           CAST(sum(gross_profit) FILTER (WHERE in_p) AS DOUBLE) AS gross_profit,
           CAST(sum(quantity) FILTER (WHERE in_ytd) AS DOUBLE) AS ytd_volume,
           CAST(sum(quantity) FILTER (WHERE in_ytd_ly) AS DOUBLE) AS ytd_volume_ly,
           CAST(sum(amount) FILTER (WHERE in_ytd) AS DOUBLE) AS ytd_amount,
           CAST(sum(gross_profit) FILTER (WHERE in_ytd) AS DOUBLE) AS ytd_gross_profit
    FROM held_lines GROUP BY manager_id
),
customer_purchases AS (              -- per held customer: bought in P, bought in P_ly
    SELECT manager_id, customer_id,
           max(CASE WHEN is_purchase AND in_p THEN 1 ELSE 0 END) AS bought_p,
           max(CASE WHEN is_purchase AND in_ly THEN 1 ELSE 0 END) AS bought_ly
    FROM held_lines GROUP BY manager_id, customer_id
),
buying AS (
    SELECT manager_id,
           sum(bought_p) AS buying,
           sum(bought_ly) AS bought_ly,
           sum(bought_p * bought_ly) AS retained
    FROM customer_purchases GROUP BY manager_id
),
first_purchase AS (                  -- the first purchase ever of every customer
    SELECT customer_id, min(order_date) AS first_date
    FROM orders_resolved WHERE is_purchase GROUP BY customer_id
),
new_customers AS (
    SELECT h.manager_id, count(*) AS new_customers
    FROM held h JOIN first_purchase f ON f.customer_id = h.customer_id
    WHERE f.first_date BETWEEN CAST($p_start AS DATE) AND CAST($p_end AS DATE)
    GROUP BY h.manager_id
),
lead_stats AS (                      -- a lead counts for its own manager_id
    SELECT manager_id,
           count(*) FILTER (WHERE created_date > CAST($lead_start AS DATE)
                            AND created_date <= CAST($p_end AS DATE)) AS leads_12m,
           count(*) FILTER (WHERE created_date > CAST($lead_start AS DATE) AND created_date <= CAST($p_end AS DATE)
                            AND converted_date <= CAST($p_end AS DATE)) AS converted_12m,
           count(*) FILTER (WHERE converted_date BETWEEN CAST($p_start AS DATE) AND CAST($p_end AS DATE))
               AS converted_p,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY CAST(converted_date - created_date AS DOUBLE))
               FILTER (WHERE converted_date BETWEEN CAST($p_start AS DATE) AND CAST($p_end AS DATE)) AS lead_days
    FROM leads GROUP BY manager_id
),
visited AS (                         -- held customers visited in P by their own manager
    SELECT h.manager_id, count(DISTINCT h.customer_id) AS visited
    FROM held h
    JOIN visits v ON v.customer_id = h.customer_id AND v.manager_id = h.manager_id
    WHERE v.visit_date BETWEEN CAST($p_start AS DATE) AND CAST($p_end AS DATE)
    GROUP BY h.manager_id
),
loaded AS (
    SELECT (SELECT count(*) FROM leads) > 0 AS has_leads, (SELECT count(*) FROM visits) > 0 AS has_visits
),
manager_plans AS (                   -- scope manager: the manager's own months
    SELECT subject_id AS manager_id,
           count(*) FILTER (WHERE month BETWEEN CAST($p_start AS DATE) AND CAST($p_end AS DATE)) AS rows_p,
           CAST(sum(volume) FILTER (WHERE month BETWEEN CAST($p_start AS DATE) AND CAST($p_end AS DATE)) AS DOUBLE)
               AS plan_p,
           count(*) FILTER (WHERE month BETWEEN CAST($ytd_start AS DATE) AND CAST($p_end AS DATE)) AS rows_ytd,
           CAST(sum(volume) FILTER (WHERE month BETWEEN CAST($ytd_start AS DATE) AND CAST($p_end AS DATE)) AS DOUBLE)
               AS plan_ytd
    FROM plans WHERE scope = 'manager' GROUP BY subject_id
),
customer_plans AS (                  -- scope customer: the held customers' plans
    SELECT h.manager_id,
           CAST(sum(p.volume) FILTER (WHERE p.month BETWEEN CAST($p_start AS DATE) AND CAST($p_end AS DATE))
                AS DOUBLE) AS plan_p,
           CAST(sum(p.volume) FILTER (WHERE p.month BETWEEN CAST($ytd_start AS DATE) AND CAST($p_end AS DATE))
                AS DOUBLE) AS plan_ytd
    FROM held h JOIN plans p ON p.scope = 'customer' AND p.subject_id = h.customer_id
    GROUP BY h.manager_id
),
figures AS (
    SELECT m.manager_id, mg.name, mg.team, mg.region,
           coalesce(hc.held, 0) AS held,
           coalesce(hc.held, 0) - coalesce(hc.held_start, 0) AS held_change,
           coalesce(hc.held_start, 0) AS held_start,
           coalesce(b.buying, 0) AS buying,
           coalesce(n.new_customers, 0) AS new_customers,
           CAST(b.retained AS DOUBLE) / nullif(b.bought_ly, 0) AS retention,
           CASE WHEN l.has_leads THEN CAST(ls.converted_12m AS DOUBLE) / nullif(ls.leads_12m, 0) END
               AS lead_conversion,
           CASE WHEN l.has_leads THEN ls.lead_days END AS lead_days,
           coalesce(ls.converted_p, 0) AS leads_converted,
           CASE WHEN l.has_visits THEN CAST(coalesce(vi.visited, 0) AS DOUBLE) / nullif(hc.held, 0) END
               AS visit_rate,
           coalesce(v.volume, 0) AS volume,
           v.volume_ly, v.volume_prev, v.amount, v.gross_profit,
           coalesce(v.ytd_volume, 0) AS ytd_volume, v.ytd_volume_ly, v.ytd_amount, v.ytd_gross_profit,
           -- the plan source is chosen once per period: manager plans when the manager has any
           CASE WHEN coalesce(mp.rows_p, 0) > 0 THEN mp.plan_p ELSE cp.plan_p END AS plan,
           CASE WHEN coalesce(mp.rows_ytd, 0) > 0 THEN mp.plan_ytd ELSE cp.plan_ytd END AS ytd_plan
    FROM population m
    CROSS JOIN loaded l
    LEFT JOIN managers mg ON mg.manager_id = m.manager_id
    LEFT JOIN held_counts hc ON hc.manager_id = m.manager_id
    LEFT JOIN buying b ON b.manager_id = m.manager_id
    LEFT JOIN new_customers n ON n.manager_id = m.manager_id
    LEFT JOIN lead_stats ls ON ls.manager_id = m.manager_id
    LEFT JOIN visited vi ON vi.manager_id = m.manager_id
    LEFT JOIN volumes v ON v.manager_id = m.manager_id
    LEFT JOIN manager_plans mp ON mp.manager_id = m.manager_id
    LEFT JOIN customer_plans cp ON cp.manager_id = m.manager_id
),
ratios AS (                          -- growth ratios are null when the base is <= 0, never infinite
    SELECT *,
           CAST(held AS DOUBLE) / nullif(sum(held) OVER (), 0) AS held_share,
           CAST(buying AS DOUBLE) / nullif(held, 0) AS buying_ratio,
           volume / nullif(plan, 0) AS completion,
           CASE WHEN volume_ly > 0 THEN volume / volume_ly - 1 END AS yoy,
           CASE WHEN volume_prev > 0 THEN volume / volume_prev - 1 END AS qoq,
           gross_profit / nullif(amount, 0) AS gross_margin,
           ytd_volume / nullif(ytd_plan, 0) AS ytd_completion,
           CASE WHEN ytd_volume_ly > 0 THEN ytd_volume / ytd_volume_ly - 1 END AS ytd_yoy,
           ytd_gross_profit / nullif(ytd_amount, 0) AS ytd_gross_margin,
           new_customers + leads_converted AS development
    FROM figures
),
factor_scores AS (                   -- p(x) over every manager row; a null scores 0
    SELECT *,
           {p_volume}, {p_completion}, {p_retention}, {p_development}
    FROM ratios
),
scored AS (
    SELECT *,
           $w_volume * p_volume + $w_completion * p_completion + $w_retention * p_retention
           + $w_development * p_development AS score
    FROM factor_scores
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY round(score, 9) DESC, manager_id) AS rank, count(*) OVER () AS n
    FROM scored
),
graded AS (
    SELECT *, {grade_case} AS grade FROM ranked
)
SELECT manager_id, name, team, region, held, held_change, held_share, buying, buying_ratio, new_customers,
       retention, lead_conversion, lead_days, visit_rate, volume, plan, completion, yoy, qoq, gross_margin,
       ytd_volume, ytd_plan, ytd_completion, ytd_yoy, ytd_gross_margin, score, CAST(rank AS INTEGER) AS rank, grade,
       {grade_label} AS grade_label, held_start, leads_converted, development, volume_ly, volume_prev,
       ytd_volume_ly, p_volume, p_completion, p_retention, p_development, $period_label AS period
FROM graded
WHERE ($region IS NULL OR region = $region) AND ($team IS NULL OR team = $team)
ORDER BY rank
"""


def manager_scorecard(con, period: Period, settings: Settings, cp: CalendarPeriod, *, region: str | None = None,
                      team: str | None = None, lang: str = "en"):
    """The scorecard over calendar period ``cp`` (a month, quarter or year); ``region`` / ``team``
    restrict the rows shown, never the population p(x), shares, ranks and grades are computed on.
    Extras after the SPEC columns: grade_label, held_start, leads_converted (in P), development,
    volume_ly, volume_prev, ytd_volume_ly, the four factor scores p(x) and the period label."""
    install_views(con)
    # SPEC §4.9: score = Σ weight · p(x) with the weights as configured (not rescaled to sum to 1)
    w = checked_weights(settings.managers.weights, FACTORS, "managers.weights")
    ly, prev = cp.last_year, cp.previous
    ytd_start, _ = cp.ytd
    ytd_ly_start, ytd_ly_end = cp.ytd_last_year
    p = Params(p_start=cp.first, p_end=cp.end, ly_start=ly.first, ly_end=ly.end, prev_start=prev.first,
               prev_end=prev.end, ytd_start=ytd_start, ytd_ly_start=ytd_ly_start, ytd_ly_end=ytd_ly_end,
               earliest=min(ly.first, prev.first, ytd_ly_start), lead_start=add_months(cp.end, -12),
               period_label=cp.label, region=region, team=team, **{f"w_{k}": v for k, v in w.items()})
    grades = settings.managers.grades
    sql = SQL.format(p_volume=percentile_score("volume", "p_volume"),
                     p_completion=percentile_score("completion", "p_completion"),
                     p_retention=percentile_score("retention", "p_retention"),
                     p_development=percentile_score("development", "p_development"),
                     grade_case=tier_case(p, "rank", "n", grades),
                     grade_label=label_case(p, "grade", {t.id: (t.zh if lang == "zh" else t.en) for t in grades}))
    table = query(con, sql, p)
    population = con.execute("SELECT count(*) FROM (SELECT manager_id FROM managers WHERE manager_id IS NOT NULL "
                             "UNION SELECT manager_id FROM customers_resolved WHERE manager_id IS NOT NULL)"
                             ).fetchall()[0][0]
    if population == 0:
        raise AnalysisError("no managers: load the managers table or an archive with manager_id "
                            "(`crmtool load managers FILE`)", zh="无客户经理：请导入客户经理表，或含客户经理编号的客户档案")
    assert table.column_names[: len(COLUMNS)] == COLUMNS
    return table, population
