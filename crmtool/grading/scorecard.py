"""Balanced scorecard (平衡计分卡), SPEC §4.4: completion, dekad balance, volume, special periods."""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from crmtool.config import Settings, SpecialPeriod
from crmtool.errors import AnalysisError, ConfigError, UsageError
from crmtool.facts import Period, add_months, install_views, month_end, parse_quarter, parse_year
from crmtool import labels
from crmtool.grading._sql import Params, label_case, checked_weights, query, tier_case
from crmtool.grading.result import GradeResult

INDICATORS = ("completion", "balance", "volume", "special")
COLUMNS = ["customer_id", "month", "completion", "balance", "volume", "special", "total", "rank", "grade"]
PERIOD_COLUMNS = ["customer_id", "period", "completion", "balance", "volume", "special", "total", "rank", "grade"]


def _parse_md(text: str, where: str) -> tuple[int | None, int, int]:
    parts = text.strip().split("-")
    try:
        if len(parts) == 2:
            y, (m, d) = None, map(int, parts)
        elif len(parts) == 3:
            y, m, d = map(int, parts)
        else:
            raise ValueError
        dt.date(y or 2000, m, d)  # 2000 is a leap year: 02-29 is a valid yearly date
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not MM-DD or YYYY-MM-DD") from None
    return y, m, d


def _safe_date(y: int, m: int, d: int) -> dt.date:
    return dt.date(y, m, min(d, month_end(dt.date(y, m, 1)).day))


def special_ranges(periods: Sequence[SpecialPeriod], month: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The parts of the special periods inside ``month`` (inclusive date ranges). ``MM-DD`` periods
    repeat every year (a range whose end comes before its start runs over the new year);
    ``YYYY-MM-DD`` periods happen once."""
    first, last = month, month_end(month)
    out: list[tuple[dt.date, dt.date]] = []
    for i, sp in enumerate(periods):
        where = f"scorecard.special_periods[{i}] ({sp.name})"
        ys, ms, ds = _parse_md(sp.start, where)
        ye, me, de = _parse_md(sp.end, where)
        if (ys is None) != (ye is None):
            raise ConfigError(f"{where}: start and end must both be MM-DD or both YYYY-MM-DD")
        if ys is not None:
            candidates = [(dt.date(ys, ms, ds), dt.date(ye, me, de))]
        else:
            candidates = []
            for y in (month.year - 1, month.year):
                start = _safe_date(y, ms, ds)
                end = _safe_date(y if (me, de) >= (ms, ds) else y + 1, me, de)
                candidates.append((start, end))
            candidates.append((_safe_date(month.year + 1, ms, ds), _safe_date(month.year + 1, me, de)))
        for start, end in candidates:
            lo, hi = max(start, first), min(end, last)
            if lo <= hi:
                out.append((lo, hi))
    return sorted(set(out))


MONTHLY_CTES = """
months AS (
    SELECT CAST(month AS DATE) AS month, has_special FROM ({months_values}) AS m(month, has_special)
),
special_ranges AS (
    SELECT CAST(start_date AS DATE) AS start_date, CAST(end_date AS DATE) AS end_date
    FROM ({special_values}) AS s(start_date, end_date)
),
month_lines AS (
    SELECT o.customer_id, o.month, o.order_date, o.quantity,
           CASE WHEN EXISTS (SELECT 1 FROM special_ranges r WHERE o.order_date BETWEEN r.start_date AND r.end_date)
                THEN 1 ELSE 0 END AS in_special
    FROM orders_resolved o
    WHERE o.month IN (SELECT month FROM months)
),
volumes AS (
    SELECT customer_id, month,
           sum(quantity) AS volume_t,
           coalesce(sum(CASE WHEN extract(day FROM order_date) <= 10 THEN quantity END), 0) AS dekad1,
           coalesce(sum(CASE WHEN extract(day FROM order_date) BETWEEN 11 AND 20 THEN quantity END), 0) AS dekad2,
           coalesce(sum(CASE WHEN extract(day FROM order_date) >= 21 THEN quantity END), 0) AS dekad3,
           coalesce(sum(CASE WHEN in_special = 1 THEN quantity END), 0) AS special_t
    FROM month_lines GROUP BY customer_id, month
),
plan_rows AS (
    SELECT customer_id, month, category, volume
    FROM plans
    WHERE scope = 'customer' AND month IN (SELECT month FROM months)
),
plans_m AS (                         -- a plan for all products wins over the sum of per-category plans
    SELECT customer_id, month,
           coalesce(sum(CASE WHEN coalesce(category, 'all') = 'all' THEN volume END), sum(volume)) AS plan_t
    FROM plan_rows GROUP BY customer_id, month
),
cohort AS (                          -- customers with a plan or volume in the month
    SELECT customer_id, month FROM volumes
    UNION
    SELECT customer_id, month FROM plans_m
),
facts AS (
    SELECT c.customer_id, c.month, m.has_special,
           CAST(coalesce(v.volume_t, 0) AS DOUBLE) AS volume_t, CAST(p.plan_t AS DOUBLE) AS plan_t,
           CAST(coalesce(v.dekad1, 0) AS DOUBLE) AS dekad1, CAST(coalesce(v.dekad2, 0) AS DOUBLE) AS dekad2,
           CAST(coalesce(v.dekad3, 0) AS DOUBLE) AS dekad3, CAST(coalesce(v.special_t, 0) AS DOUBLE) AS special_t
    FROM cohort c
    JOIN months m ON m.month = c.month
    LEFT JOIN volumes v ON v.customer_id = c.customer_id AND v.month = c.month
    LEFT JOIN plans_m p ON p.customer_id = c.customer_id AND p.month = c.month
),
indicators AS (
    SELECT customer_id, month, has_special, volume_t, plan_t, special_t,
           plan_t IS NULL OR plan_t <= 0 AS no_plan,
           CASE WHEN plan_t > 0 THEN 100.0 * greatest(least(volume_t / plan_t, 1.0), 0.0) ELSE 0.0 END
               AS completion,
           CASE WHEN volume_t <= 0 THEN 0.0
                ELSE greatest(0.0, 100.0 * (1.0 - (abs(dekad1 / volume_t - 1.0 / 3) + abs(dekad2 / volume_t - 1.0 / 3)
                                                   + abs(dekad3 / volume_t - 1.0 / 3)) / (4.0 / 3)))
           END AS balance,
           100.0 * cume_dist() OVER (PARTITION BY month ORDER BY volume_t) AS volume,
           CASE WHEN has_special THEN 100.0 * cume_dist() OVER (PARTITION BY month ORDER BY special_t) END
               AS special
    FROM facts
),
monthly AS (                         -- with no special period in the month its weight is shared out pro rata
    SELECT *,
           ($w_completion * completion + $w_balance * balance + $w_volume * volume
            + CASE WHEN has_special THEN $w_special * special ELSE 0 END)
           / ($w_completion + $w_balance + $w_volume + CASE WHEN has_special THEN $w_special ELSE 0 END) AS total
    FROM indicators
)"""

MONTH_SQL = """
WITH {ctes},
ranked AS (
    SELECT *, row_number() OVER (ORDER BY round(total, 9) DESC, customer_id) AS rank, count(*) OVER () AS n FROM monthly
)
SELECT customer_id, strftime(month, '%Y-%m') AS month, completion, balance, volume, special, total,
       CAST(rank AS INTEGER) AS rank, {grade_case} AS grade,
       {grade_label} AS grade_label, round(volume_t, 6) AS volume_t, round(plan_t, 6) AS plan_t, no_plan,
       round(special_t, 6) AS special_t
FROM (SELECT *, {grade_case_inner} AS grade_id FROM ranked) r
ORDER BY rank
"""

PERIOD_SQL = """
WITH {ctes},
period_avg AS (                      -- mean over ALL months of the period; a month out of the set counts 0
    SELECT customer_id,                -- (sums in DECIMAL: the same result whatever order the rows arrive in)
           CAST(sum(CAST(round(completion, 9) AS DECIMAL(38, 9))) AS DOUBLE) / $n_months AS completion,
           CAST(sum(CAST(round(balance, 9) AS DECIMAL(38, 9))) AS DOUBLE) / $n_months AS balance,
           CAST(sum(CAST(round(volume, 9) AS DECIMAL(38, 9))) AS DOUBLE) / $n_months AS volume,
           CAST(coalesce(sum(CAST(round(special, 9) AS DECIMAL(38, 9))), 0) AS DOUBLE)
               / nullif($n_special_months, 0) AS special,
           CAST(sum(CAST(round(total, 9) AS DECIMAL(38, 9))) AS DOUBLE) / $n_months AS total,
           count(*) AS months_in_set,
           sum(volume_t) AS volume_t, sum(plan_t) AS plan_t
    FROM monthly GROUP BY customer_id
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY round(total, 9) DESC, customer_id) AS rank, count(*) OVER () AS n FROM period_avg
)
SELECT customer_id, $period_label AS period, completion, balance, volume, special, total,
       CAST(rank AS INTEGER) AS rank, grade_id AS grade, {grade_label} AS grade_label,
       CAST(months_in_set AS INTEGER) AS months_in_set, round(volume_t, 6) AS volume_t, round(plan_t, 6) AS plan_t
FROM (SELECT *, {grade_case} AS grade_id FROM ranked) r
ORDER BY rank
"""


def _months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = add_months(m, 1)
    return out


def scorecard(con, period: Period, settings: Settings, *, quarter: str | None = None, year: str | None = None,
              lang: str = "en") -> GradeResult:
    """The scorecard for ``period.month``, or averaged over ``quarter`` ('2024Q2') / ``year`` ('2024').

    Scored set per month: customers with a customer plan or any order line in the month. completion
    is 0 without a plan (flag no_plan) and clamped to 0–100; balance is 0 without positive volume;
    volume and special are ``100 · p(x)`` within the month. special is null when no special period
    touches the month, and its weight is then shared out over the other three pro rata (all weights
    are scaled to sum to 1). For a quarter or year each indicator and the total are the mean over
    ALL months of the period, a month where the customer is not in the set counting 0 (special: the
    mean over the months a special period touches); then grades by quota on that mean. Extras:
    grade_label, volume_t, plan_t, no_plan, special_t (monthly) or months_in_set (period).
    """
    if quarter and year:
        raise UsageError("give --quarter or --year, not both")
    install_views(con)
    w = checked_weights(settings.scorecard.weights, INDICATORS, "scorecard.weights")
    if quarter:
        first, last = parse_quarter(quarter)
        label = f"{first.year}Q{(first.month - 1) // 3 + 1}"
    elif year:
        first, last = parse_year(year)
        label = str(first.year)
    else:
        first = last = period.month
        label = period.month_label
    months = _months_between(first, last)
    p = Params(**{f"w_{k}": v for k, v in w.items()})
    month_rows, special_rows = [], []
    n_special = 0
    for m in months:
        ranges = special_ranges(settings.scorecard.special_periods, m)
        n_special += bool(ranges)
        month_rows.append(f"({p(m)}, {p(bool(ranges))})")
        special_rows += [f"({p(a)}, {p(b)})" for a, b in ranges]
    special_values = ("VALUES " + ", ".join(special_rows)) if special_rows else \
        "SELECT CAST(NULL AS DATE), CAST(NULL AS DATE) WHERE 1 = 0"
    ctes = MONTHLY_CTES.format(months_values="VALUES " + ", ".join(month_rows), special_values=special_values)
    grades = settings.scorecard.grades
    if len(months) == 1:
        grade_case = tier_case(p, "rank", "n", grades)
        sql = MONTH_SQL.format(ctes=ctes, grade_case="grade_id", grade_case_inner=grade_case,
                               grade_label=label_case(p, "grade_id", labels.grades(settings, lang)))
        columns = COLUMNS
    else:
        p.values.update(n_months=float(len(months)), n_special_months=float(n_special), period_label=label)
        sql = PERIOD_SQL.format(ctes=ctes, grade_case=tier_case(p, "rank", "n", grades),
                                grade_label=label_case(p, "grade_id", labels.grades(settings, lang)))
        columns = PERIOD_COLUMNS
    table = query(con, sql, p)
    if table.num_rows == 0:
        raise AnalysisError(f"no customer has a plan or orders in {label}; nothing to score (check --month, --quarter or --year)")
    assert table.column_names[: len(columns)] == columns
    import pyarrow.compute as pc

    found = {d["values"]: int(d["counts"]) for d in pc.value_counts(table.column("grade")).to_pylist()}
    counts = {g.id: found.get(g.id, 0) for g in grades}
    names = labels.grades(settings, lang)
    no_special = n_special == 0
    summary = {"customers": table.num_rows, "period": label, "grades": counts,
               "special_period_in_force": not no_special,
               "mean_total": float(pc.mean(table.column("total")).as_py())}
    if lang == "zh":
        lines = [f"平衡计分卡 {label}：{table.num_rows} 个客户，平均总分 {summary['mean_total']:.1f}",
                 "  " + "，".join(f"{names.get(k, k)} {v}" for k, v in counts.items())]
        if no_special:
            lines.append("  本期无特殊时段：其权重按比例分给其他指标")
    else:
        lines = [f"Scorecard {label}: {table.num_rows} customers, mean total {summary['mean_total']:.1f}",
                 "  " + ", ".join(f"{names.get(k, k)} {v}" for k, v in counts.items())]
        if no_special:
            lines.append("  no special period touches this period: its weight is shared out pro rata")
    return GradeResult("scorecard", table, label, period.as_of, summary, lines=lines)
