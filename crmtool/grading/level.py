"""Customer level suggestion (客户定级建议), SPEC §4.3, with the classes of §4.11 as extras."""

from __future__ import annotations

from crmtool.config import Settings
from crmtool.errors import AnalysisError
from crmtool.facts import Period, in_window, install_views
from crmtool import labels
from crmtool.grading._sql import (Params, label_case, checked_weights, percentile_score, query, tier_case,
                                  tier_order_case)
from crmtool.grading.classes import classes_ctes
from crmtool.grading.result import GradeResult

FACTORS = ("volume", "gross_profit", "purchase_months", "share_of_wallet", "annual_demand")
COLUMNS = ["customer_id", "composite", "suggested_level", "current_level", "change",
           *(f"{f}_score" for f in FACTORS)]

SQL = """
WITH window_lines AS (
    SELECT customer_id, month, quantity, gross_profit, is_purchase
    FROM orders_resolved
    WHERE {in_window}
),
scored_set AS (                      -- customers with >= 1 purchase in the window
    SELECT customer_id,
           CAST(sum(quantity) AS DOUBLE) AS volume,
           CAST(sum(gross_profit) AS DOUBLE) AS gross_profit,
           count(DISTINCT CASE WHEN is_purchase THEN month END) AS purchase_months
    FROM window_lines
    GROUP BY customer_id
    HAVING max(CASE WHEN is_purchase THEN 1 ELSE 0 END) = 1
),
{classes},
factors AS (
    SELECT s.customer_id, s.volume, s.gross_profit, s.purchase_months,
           CASE WHEN c.annual_demand > 0 THEN round(least(s.volume / CAST(c.annual_demand AS DOUBLE), 1.0), 12)
           END AS share_of_wallet,
           CAST(c.annual_demand AS DOUBLE) AS annual_demand,
           c.level AS current_level
    FROM scored_set s
    LEFT JOIN customers_resolved c ON c.customer_id = s.customer_id
),
scores AS (                          -- p(x) = cume_dist over the customers whose x is known; null -> 0
    SELECT *,
           {factor_scores}
    FROM factors
),
composite AS (
    SELECT *,
           $w_volume * volume_score + $w_gross_profit * gross_profit_score
           + $w_purchase_months * purchase_months_score + $w_share_of_wallet * share_of_wallet_score
           + $w_annual_demand * annual_demand_score AS composite
    FROM scores
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY round(composite, 9) DESC, customer_id) AS rank, count(*) OVER () AS n
    FROM composite
),
leveled AS (
    SELECT *, {tier_case} AS suggested_level FROM ranked
),
changed AS (
    SELECT *,
           {suggested_order} AS suggested_pos,
           {current_order} AS current_pos
    FROM leveled
)
SELECT ch.customer_id, round(ch.composite, 10) AS composite, ch.suggested_level, ch.current_level,
       CASE WHEN ch.current_pos IS NULL THEN 'new'
            WHEN ch.suggested_pos < ch.current_pos THEN 'up'
            WHEN ch.suggested_pos > ch.current_pos THEN 'down'
            ELSE 'same' END AS change,
       ch.volume_score, ch.gross_profit_score, ch.purchase_months_score, ch.share_of_wallet_score,
       ch.annual_demand_score,
       CAST(ch.rank AS INTEGER) AS rank,
       {level_label} AS level_label,
       ch.suggested_level IN ({key_levels}) AS key_customer,
       round(ch.volume, 6) AS volume, round(ch.gross_profit, 2) AS gross_profit,
       CAST(ch.purchase_months AS INTEGER) AS purchase_months, ch.share_of_wallet, ch.annual_demand,
       cl.demand_class, {demand_label} AS demand_class_label, cl.mobile,
       cl.loyalty, {loyalty_label} AS loyalty_label
FROM changed ch
LEFT JOIN classes cl ON cl.customer_id = ch.customer_id
ORDER BY ch.rank
"""


def level(con, period: Period, settings: Settings, *, window: int | None = None, lang: str = "en") -> GradeResult:
    """Suggest a level for every customer with a purchase in the window.

    Factors are scored ``p(x)`` over the customers whose factor is known (a null factor — no gross
    profit, no annual demand — scores 0 and does not take a place in the others' percentiles);
    composite = Σ weight · p with the ``[level.weights]`` as configured. Levels by quota on the
    composite (rank by composite desc, ties by customer_id). change compares with the archive
    level: ``new`` when the archive has no level or one outside the scheme. Extras: rank,
    level_label, key_customer, the raw factors, demand_class, mobile, loyalty (SPEC §4.11) and
    their labels.
    """
    install_views(con)
    months = window or settings.level.window_months
    tiers = settings.level.effective_tiers()
    w = checked_weights(settings.level.weights, FACTORS, "level.weights")
    start = period.window_start(months)
    p = Params(window_start=start, as_of=period.as_of, **{f"w_{k}": v for k, v in w.items()})
    classes = classes_ctes(p, period, settings, months)
    key_levels = settings.level.effective_key_levels() or ["\x00none"]
    sql = SQL.format(
        in_window=in_window(),
        classes=classes,
        factor_scores=",\n           ".join(percentile_score(f, f"{f}_score") for f in FACTORS),
        tier_case=tier_case(p, "rank", "n", tiers),
        suggested_order=tier_order_case(p, "suggested_level", tiers),
        current_order=tier_order_case(p, "current_level", tiers),
        level_label=label_case(p, "ch.suggested_level", labels.levels(settings, lang)),
        key_levels=", ".join(p(k) for k in key_levels),
        demand_label=label_case(p, "cl.demand_class", labels.demand_classes(lang)),
        loyalty_label=label_case(p, "cl.loyalty", labels.loyalty(lang)),
    )
    table = query(con, sql, p)
    if table.num_rows == 0:
        raise AnalysisError(f"no purchases between {start} (exclusive) and {period.as_of}; nothing to grade "
                            "(check --as-of / --window)")
    names = labels.levels(settings, lang)
    summary = {"customers": table.num_rows, "window_months": months, "window": [str(start), str(period.as_of)],
               "levels": _counts(table, "suggested_level", [t.id for t in tiers]),
               "changes": _counts(table, "change", ["up", "down", "same", "new"]),
               "key_customers": int(sum(1 for v in table.column("key_customer").to_pylist() if v))}
    ch = summary["changes"]
    if lang == "zh":
        lines = [f"客户定级建议，截至 {period.as_of} 的 {months} 个月：{table.num_rows} 个客户，重点客户 "
                 f"{summary['key_customers']} 个",
                 "  " + "，".join(f"{names.get(k, k)} {v}" for k, v in summary["levels"].items()),
                 f"  与档案级别相比：升级 {ch['up']}，降级 {ch['down']}，持平 {ch['same']}，新定级 {ch['new']}"]
    else:
        lines = [f"Levels, {months} months to {period.as_of}: {table.num_rows} customers; "
                 f"{summary['key_customers']} key customers",
                 "  " + ", ".join(f"{names.get(k, k)} {v}" for k, v in summary["levels"].items()),
                 f"  against the archive: up {ch['up']}, down {ch['down']}, same {ch['same']}, new {ch['new']}"]
    return GradeResult("level", table, str(period.as_of), period.as_of, summary, lines=lines)


def _counts(table, column: str, order: list[str]) -> dict[str, int]:
    import pyarrow.compute as pc

    found = {d["values"]: int(d["counts"]) for d in pc.value_counts(table.column(column)).to_pylist()}
    out = {k: found.pop(k, 0) for k in order}
    out.update({k: v for k, v in sorted(found.items(), key=lambda kv: str(kv[0]))})
    return out
