#!/usr/bin/env python3
"""Mutation testing for crmtool: do the tests catch plausible bugs?

Each mutant below is one NAMED, plausible bug — a `>=` for a `>`, a window bound off by a day, a cap
left out — put into one file of a COPY of the repository; the mutant's test files are run there with
``pytest -x``. A failing run kills the mutant; a passing run means no test notices that bug.

    python tools/mutants.py                 # every mutant, one at a time
    python tools/mutants.py --jobs 2        # two copies side by side
    python tools/mutants.py --only rfm-r-high-ge,pareto-gini
    python tools/mutants.py --list          # ids, files, SPEC rules
    python tools/mutants.py --source HEAD   # mutate the last commit instead of the working tree

The working tree is never written to: the files of the repository (``git ls-files`` plus untracked,
not ignored files, as they are on disk now — or as committed at ``--source REV``) are copied into a
temporary folder per job, each mutant is applied there and reverted after its run, and pytest runs
with ``PYTHONPATH`` set to the copy (checked before the first run: ``import crmtool`` must resolve
inside the copy). Bytecode is not written, so a reverted file is never shadowed by a stale ``.pyc``.

A mutant whose original snippet is not found exactly once in its file is STALE (the code moved on):
reported, not counted. Mutants listed in ``EQUIVALENT`` cannot change any result (the reason is
given) and are not run. Before the mutants, the union of their test files runs once on the
unmutated copy; tests that already fail there are deselected (and reported), so a colleague's
half-finished change never counts as a kill, and a mutant that survives only because some of its
tests were deselected is BLOCKED (reported, not counted). Kill rate = killed / (killed + survived).

This is a developer command, not part of CI: a full run takes several minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import Queue

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str  # path inside the repository
    original: str  # exact text, must occur exactly once in the file
    mutated: str
    rule: str  # the SPEC rule the mutant breaks
    tests: tuple[str, ...]  # test files to run for it


# test files per area (fixed tests only: the Hypothesis properties are deterministic too, but a
# kill should come from a test that names the rule)
B = "tests/test_boundaries.py"
RFM = (B, "tests/test_grading_rfm.py")
PARETO = (B, "tests/test_grading_pareto.py")
LEVEL = (B, "tests/test_grading_level.py")
SCORE = (B, "tests/test_grading_scorecard.py")
QUAD = (B, "tests/test_grading_quadrant.py")
STATUS = (B, "tests/test_churn_status.py", "tests/test_review_churn.py")
WARN = (B, "tests/test_churn_warn.py", "tests/test_review_churn.py")
IDLE = (B, "tests/test_churn_idle_winback.py")
BACKTEST = ("tests/test_churn_backtest.py",)
LOAD = (B, "tests/test_load.py", "tests/test_review_load.py")
FACTS = (B, "tests/test_grading_rfm.py", "tests/test_grading_level.py", "tests/test_churn_status.py",
         "tests/test_load.py")

M = Mutant
MUTANTS: list[Mutant] = [
    # ---------------------------------------------------------------- §1 / §3 facts.py
    M("facts-purchase-ge", "crmtool/facts.py", "o.quantity > 0 AS is_purchase,\n       FALSE AS mapped",
      "o.quantity >= 0 AS is_purchase,\n       FALSE AS mapped", "§3 a purchase is a line with quantity > 0", FACTS),
    M("facts-purchase-ge-mapped", "crmtool/facts.py",
      "o.quantity > 0 AS is_purchase,\n       m.customer_id IS NOT NULL AS mapped",
      "o.quantity >= 0 AS is_purchase,\n       m.customer_id IS NOT NULL AS mapped",
      "§3 a purchase is a line with quantity > 0 (stores with a code_map)", FACTS),
    M("facts-window-lower", "crmtool/facts.py", "{column} > CAST($window_start AS DATE)",
      "{column} >= CAST($window_start AS DATE)", "§3 as_of - N months < order_date (every trailing window)",
      RFM + PARETO[1:] + LEVEL[1:] + QUAD[1:]),
    M("facts-window-upper", "crmtool/facts.py", "{column} <= CAST($as_of AS DATE)", "{column} < CAST($as_of AS DATE)",
      "§3 order_date <= as_of (every trailing window)", RFM + PARETO[1:] + LEVEL[1:] + QUAD[1:]),
    M("facts-codemap-from", "crmtool/facts.py", "o.order_date >= m.valid_from", "o.order_date > m.valid_from",
      "§1 code_map: valid_from is inclusive", FACTS),
    M("facts-codemap-to", "crmtool/facts.py", "o.order_date <= m.valid_to", "o.order_date < m.valid_to",
      "§1 code_map: valid_to is inclusive", FACTS),
    M("facts-codemap-coalesce", "crmtool/facts.py", "coalesce(m.customer_id, o.customer_code) AS customer_id",
      "coalesce(o.customer_code, m.customer_id) AS customer_id",
      "§1 customer_code is resolved through code_map", FACTS),
    M("facts-add-months-feb28", "crmtool/facts.py",
      "return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))",
      "return dt.date(year, month, min(d.day, 28 if month == 2 else calendar.monthrange(year, month)[1]))",
      "§3 trailing window: month arithmetic clamps to the month's real end (29 February)", FACTS),
    M("facts-window-inclusive", "crmtool/facts.py", "return add_months(self.as_of, -months)",
      "return add_months(self.as_of, -months) - dt.timedelta(days=1)",
      "§3 as_of - N months < order_date (exclusive lower bound)", FACTS),
    M("facts-month-default", "crmtool/facts.py",
      "month = month_start(as_of) if as_of == month_end(as_of) else add_months(month_start(as_of), -1)",
      "month = month_start(as_of)",
      "§3 --month default: a partial month is never judged", FACTS),
    M("facts-asof-latest-purchase", "crmtool/facts.py", 'SELECT max(order_date) FROM orders"',
      'SELECT max(order_date) FROM orders WHERE quantity > 0"',
      "§3 --as-of default: the latest order_date", FACTS),
    M("series-month-purchased-nonzero", "crmtool/churn/series.py",
      "max(CASE WHEN is_purchase THEN 1 ELSE 0 END) = 1 AS purchased",
      "max(CASE WHEN quantity <> 0 THEN 1 ELSE 0 END) = 1 AS purchased",
      "§1 returns never count as a purchase (monthly series)", STATUS),
    # ---------------------------------------------------------------- §3 _sql.py: p(x), rank_pct
    M("sql-tier-le", "crmtool/grading/_sql.py", "/ {n_expr} < {p(cum)} THEN", "/ {n_expr} <= {p(cum)} THEN",
      "§3 quotas: the first tier whose cumulative quota exceeds rank_pct", LEVEL + SCORE),
    M("sql-tier-rank", "crmtool/grading/_sql.py", "CAST({rank_expr} - 1 AS DOUBLE)", "CAST({rank_expr} AS DOUBLE)",
      "§3 rank_pct = (rank - 1) / N", LEVEL + SCORE),
    M("sql-p-percent-rank", "crmtool/grading/_sql.py",
      "ELSE cume_dist() OVER (PARTITION BY {column} IS NULL ORDER BY {column}) END",
      "ELSE percent_rank() OVER (PARTITION BY {column} IS NULL ORDER BY {column}) END",
      "§3 p(x) = cume_dist()", LEVEL + QUAD),
    M("sql-p-null-counts", "crmtool/grading/_sql.py",
      "cume_dist() OVER (PARTITION BY {column} IS NULL ORDER BY {column})", "cume_dist() OVER (ORDER BY {column})",
      "§4.3 null factor -> 0, and p over the known values", LEVEL + QUAD),
    M("sql-p-desc", "crmtool/grading/_sql.py", "ORDER BY {column}) END AS {alias}",
      "ORDER BY {column} DESC) END AS {alias}", "§3 p(x) ordered by x ascending", LEVEL + QUAD),
    # ---------------------------------------------------------------- §4.1 RFM
    M("rfm-scored-ge", "crmtool/grading/rfm.py", "HAVING max(max_quantity) > 0", "HAVING max(max_quantity) >= 0",
      "§4.1 scored set: >= 1 purchase", RFM),
    M("rfm-frequency-ge", "crmtool/grading/rfm.py", "count(*) FILTER (WHERE net_quantity > 0)",
      "count(*) FILTER (WHERE net_quantity >= 0)", "§4.1 frequency: orders netting > 0", RFM),
    M("rfm-recency-return", "crmtool/grading/rfm.py", "max(CASE WHEN quantity > 0 THEN order_date END) AS order_date",
      "max(order_date) AS order_date", "§1 a return never sets recency", RFM),
    M("rfm-r-asc", "crmtool/grading/rfm.py", "ORDER BY recency_days DESC)", "ORDER BY recency_days)",
      "§4.1 r_score ordered by recency_days DESC", RFM),
    M("rfm-m-round", "crmtool/grading/rfm.py", "CAST(ceil(5 * cume_dist() OVER (ORDER BY monetary)) AS INTEGER)",
      "CAST(round(5 * cume_dist() OVER (ORDER BY monetary)) AS INTEGER)", "§4.1 score = ceil(5 · cume_dist)", RFM),
    M("rfm-r-high-ge", "crmtool/grading/rfm.py", "r_score > avg(r_score) OVER ()", "r_score >= avg(r_score) OVER ()",
      "§4.1 R high when > mean", RFM),
    M("rfm-f-high-ge", "crmtool/grading/rfm.py", "f_score > avg(f_score) OVER ()", "f_score >= avg(f_score) OVER ()",
      "§4.1 F high when > mean", RFM),
    M("rfm-m-high-ge", "crmtool/grading/rfm.py", "m_score > avg(m_score) OVER ()", "m_score >= avg(m_score) OVER ()",
      "§4.1 M high when > mean", RFM),
    M("rfm-monetary-purchases-only", "crmtool/grading/rfm.py",
      "CAST(coalesce(sum(metric_value), 0) AS DOUBLE) AS monetary",
      "CAST(coalesce(sum(metric_value) FILTER (WHERE quantity > 0), 0) AS DOUBLE) AS monetary",
      "§4.1 / §1 monetary nets returns", RFM),
    M("rfm-segment-swap", "crmtool/grading/rfm.py",
      '(True, False, True, "important_develop"),\n    (False, True, True, "important_retain")',
      '(True, False, True, "important_retain"),\n    (False, True, True, "important_develop")',
      "§4.1 eight segments", RFM),
    # ---------------------------------------------------------------- §4.2 Pareto
    M("pareto-zero-metric", "crmtool/grading/pareto.py", "WHERE metric_value > 0", "WHERE metric_value >= 0",
      "§4.2 customers with metric > 0", PARETO),
    M("pareto-tie-desc", "crmtool/grading/pareto.py", "ORDER BY metric_value DESC, customer_id) AS rank",
      "ORDER BY metric_value DESC, customer_id DESC) AS rank", "§4.2 ties by customer_id", PARETO),
    M("pareto-a-cum-share", "crmtool/grading/pareto.py", "CASE WHEN cum_before < $a THEN 'A'",
      "CASE WHEN cum_share < $a THEN 'A'", "§4.2 A if cum_share - share < 0.80", PARETO),
    M("pareto-b-le", "crmtool/grading/pareto.py", "WHEN cum_before < $b THEN 'B'",
      "WHEN cum_before <= $b THEN 'B'", "§4.2 B if cum_share - share < 0.95", PARETO),
    M("pareto-gini", "crmtool/grading/pareto.py", "2.0 * sum((count_all - rank + 1) * metric_value)",
      "2.0 * sum(rank * metric_value)", "§4.2 Gini coefficient", PARETO),
    # ---------------------------------------------------------------- §4.3 level
    M("level-purchase-months", "crmtool/grading/level.py",
      "count(DISTINCT CASE WHEN is_purchase THEN month END) AS purchase_months",
      "count(DISTINCT month) AS purchase_months", "§4.3 purchase_months: months with a purchase", LEVEL),
    M("level-sow-cap", "crmtool/grading/level.py", "least(s.volume / CAST(c.annual_demand AS DOUBLE), 1.0)",
      "s.volume / CAST(c.annual_demand AS DOUBLE)", "§4.3 share_of_wallet = min(volume / demand, 1)", LEVEL),
    M("level-scored-any-line", "crmtool/grading/level.py", "HAVING max(CASE WHEN is_purchase THEN 1 ELSE 0 END) = 1",
      "HAVING count(*) > 0", "§4.3 scored set: >= 1 purchase", LEVEL),
    M("level-tie-desc", "crmtool/grading/level.py", "ORDER BY round(composite, 9) DESC, customer_id) AS rank",
      "ORDER BY round(composite, 9) DESC, customer_id DESC) AS rank", "§3 ties by customer_id", LEVEL),
    M("level-change-same-is-up", "crmtool/grading/level.py", "WHEN ch.suggested_pos < ch.current_pos THEN 'up'",
      "WHEN ch.suggested_pos <= ch.current_pos THEN 'up'", "§4.3 change up / down / same", LEVEL),
    M("level-key-from-archive", "crmtool/grading/level.py", "ch.suggested_level IN ({key_levels}) AS key_customer",
      "ch.current_level IN ({key_levels}) AS key_customer", "§4.3 key customers = suggested key levels", LEVEL),
    M("level-weight-swap", "crmtool/grading/level.py", "+ $w_share_of_wallet * share_of_wallet_score",
      "+ $w_annual_demand * share_of_wallet_score", "§4.3 weights", LEVEL),
    # ---------------------------------------------------------------- §4.4 scorecard
    M("sc-completion-cap", "crmtool/grading/scorecard.py", "greatest(least(volume_t / plan_t, 1.0), 0.0)",
      "greatest(volume_t / plan_t, 0.0)", "§4.4 completion = 100 · min(volume / plan, 1)", SCORE),
    M("sc-dekad1", "crmtool/grading/scorecard.py", "extract(day FROM order_date) <= 10 THEN",
      "extract(day FROM order_date) < 10 THEN", "§4.4 dekad 1 = days 1-10", SCORE),
    M("sc-dekad2", "crmtool/grading/scorecard.py", "BETWEEN 11 AND 20 THEN", "BETWEEN 10 AND 20 THEN",
      "§4.4 dekad 2 = days 11-20", SCORE),
    M("sc-dekad3", "crmtool/grading/scorecard.py", "extract(day FROM order_date) >= 21 THEN",
      "extract(day FROM order_date) >= 20 THEN", "§4.4 dekad 3 = days 21-end", SCORE),
    M("sc-balance-divisor", "crmtool/grading/scorecard.py", "/ (4.0 / 3)", "/ 2.0",
      "§4.4 balance = 100 · (1 - Σ|s_i - 1/3| / (4/3))", SCORE),
    M("sc-volume-percent-rank", "crmtool/grading/scorecard.py",
      "100.0 * cume_dist() OVER (PARTITION BY month ORDER BY volume_t) AS volume",
      "100.0 * percent_rank() OVER (PARTITION BY month ORDER BY volume_t) AS volume", "§4.4 volume = 100 · p(x)",
      SCORE),
    M("sc-special-weight-kept", "crmtool/grading/scorecard.py",
      "/ ($w_completion + $w_balance + $w_volume + CASE WHEN has_special THEN $w_special ELSE 0 END) AS total",
      "/ ($w_completion + $w_balance + $w_volume + $w_special) AS total",
      "§4.4 no special period: its weight shared out pro rata", SCORE),
    M("sc-cohort-no-plans", "crmtool/grading/scorecard.py", "    UNION\n    SELECT customer_id, month FROM plans_m\n",
      "\n", "§4.4 customers with a plan or volume in M", SCORE),
    M("sc-period-mean-present", "crmtool/grading/scorecard.py",
      "CAST(sum(CAST(round(total, 9) AS DECIMAL(38, 9))) AS DOUBLE) / $n_months AS total",
      "CAST(sum(CAST(round(total, 9) AS DECIMAL(38, 9))) AS DOUBLE) / count(*) AS total",
      "§4.4 --quarter / --year average the monthly totals", SCORE),
    M("sc-no-plan-flag", "crmtool/grading/scorecard.py", "plan_t IS NULL OR plan_t <= 0 AS no_plan",
      "plan_t IS NULL AS no_plan", "§4.4 no plan -> 0, flag no_plan", SCORE),
    # ---------------------------------------------------------------- §4.5 quadrant
    M("q-contract-end", "crmtool/grading/quadrant.py", "end_date > CAST($window_start AS DATE)",
      "end_date >= CAST($window_start AS DATE)", "§4.5 contracts overlapping the window", QUAD),
    M("q-contract-start", "crmtool/grading/quadrant.py", "start_date <= CAST($as_of AS DATE)",
      "start_date < CAST($as_of AS DATE)", "§4.5 contracts overlapping the window", QUAD),
    M("q-fulfilment-cap", "crmtool/grading/quadrant.py", "greatest(least(coalesce(fulfilment, 0), 1.0), 0.0)",
      "greatest(coalesce(fulfilment, 0), 0.0)", "§4.5 min(contract fulfilment, 1)", QUAD),
    M("q-value-cut-gt", "crmtool/grading/quadrant.py",
      "WHEN v.value_score >= c.value_cut AND v.fit_score >= c.fit_cut THEN 'strategic'",
      "WHEN v.value_score > c.value_cut AND v.fit_score >= c.fit_cut THEN 'strategic'",
      "§4.5 high means >= cut (value)", QUAD),
    M("q-fit-cut-gt", "crmtool/grading/quadrant.py", "WHEN v.fit_score >= c.fit_cut THEN 'potential'",
      "WHEN v.fit_score > c.fit_cut THEN 'potential'", "§4.5 high means >= cut (fit)", QUAD),
    M("q-median-mean", "crmtool/grading/quadrant.py", "percentile_cont(0.5) WITHIN GROUP (ORDER BY value_score)",
      "avg(value_score)", "§4.5 value cut = median", QUAD),
    M("q-fit-missing-zero", "crmtool/grading/quadrant.py",
      "+ CASE WHEN values_fit IS NULL THEN 0 ELSE 1 END, 0) AS fit_score", "+ 1, 0) AS fit_score",
      "§4.5 fit = mean of the given scores, missing ignored", QUAD),
    # ---------------------------------------------------------------- §4.11 classes
    M("cls-mobile-ge", "crmtool/grading/classes.py", "coalesce(cv > $mobile_cv, false) AS mobile",
      "coalesce(cv >= $mobile_cv, false) AS mobile", "§4.11 mobile when CV > 1.0", LEVEL),
    M("cls-loyal-share-gt", "crmtool/grading/classes.py", "WHEN share_of_wallet >= $loyal_share AND",
      "WHEN share_of_wallet > $loyal_share AND", "§4.11 loyal: share_of_wallet >= 0.8", LEVEL),
    M("cls-loyal-months-gt", "crmtool/grading/classes.py", "purchase_months >= $loyal_months THEN 'loyal'",
      "purchase_months > $loyal_months THEN 'loyal'", "§4.11 loyal: >= 9 purchase months", LEVEL),
    M("cls-quality-gt", "crmtool/grading/classes.py", "WHEN share_of_wallet >= $quality_share THEN 'quality'",
      "WHEN share_of_wallet > $quality_share THEN 'quality'", "§4.11 quality: share_of_wallet >= 0.5", LEVEL),
    M("cls-scattered-lt", "crmtool/grading/classes.py", "WHEN purchase_months <= $scattered_months THEN 'scattered'",
      "WHEN purchase_months < $scattered_months THEN 'scattered'", "§4.11 scattered: <= 3 purchase months", LEVEL),
    M("cls-window-lower", "crmtool/grading/classes.py", "WHERE order_date > CAST($cls_start AS DATE)",
      "WHERE order_date >= CAST($cls_start AS DATE)", "§4.11 / §3 the last 12 months, exclusive start", LEVEL),
    M("cls-demand-le", "crmtool/grading/classes.py", 'f"WHEN annual_demand < {p(b)} THEN {p(i)}"',
      'f"WHEN annual_demand <= {p(b)} THEN {p(i)}"', "§4.11 demand_class bounds (small < 500 <= medium)", LEVEL),
    M("cls-cv-active-months", "crmtool/grading/classes.py", "SELECT customer_id, sum(v) / 12.0 AS mean_v,",
      "SELECT customer_id, avg(v) AS mean_v,", "§4.11 CV of 12 monthly volumes (empty months count 0)", LEVEL),
    M("cls-competitor-case", "crmtool/grading/classes.py", "lower(trim(competitor)) NOT IN",
      "competitor NOT IN", "§4.11 competitor recorded (not 无/none)", LEVEL),
    M("cls-sow-cap", "crmtool/grading/classes.py",
      "least(CAST(f.volume AS DOUBLE) / CAST(c.annual_demand AS DOUBLE), 1.0)",
      "CAST(f.volume AS DOUBLE) / CAST(c.annual_demand AS DOUBLE)", "§4.3 / §4.11 share_of_wallet capped at 1",
      LEVEL),
    M("cls-purchase-months", "crmtool/grading/classes.py",
      "count(DISTINCT CASE WHEN is_purchase THEN month END) AS purchase_months",
      "count(DISTINCT month) AS purchase_months", "§4.11 purchase months (returns are no purchase)", LEVEL),
    # ---------------------------------------------------------------- §4.6-4.8 churn series
    M("ch-zero-baseline", "crmtool/churn/series.py",
      "(x.baseline_sum > 0 AND x.volume * ? < r.ratio * x.baseline_sum) AS breach",
      "(x.volume * ? < r.ratio * x.baseline_sum) AS breach", "§4.7 breach only when baseline > 0", WARN),
    M("ch-breach-le", "crmtool/churn/series.py", "x.volume * ? < r.ratio * x.baseline_sum",
      "x.volume * ? <= r.ratio * x.baseline_sum", "§4.7 breach when volume < 0.70 · baseline", WARN),
    M("ch-baseline-includes-m", "crmtool/churn/series.py", "RANGE BETWEEN ? PRECEDING AND 1 PRECEDING), 0) AS baseline_sum",
      "RANGE BETWEEN ? PRECEDING AND CURRENT ROW), 0) AS baseline_sum", "§4.7 baseline = mean of m-3..m-1", WARN),
    M("ch-decline-le", "crmtool/churn/series.py", "(x.volume < x.prev_volume) AS decline",
      "(x.volume <= x.prev_volume) AS decline", "§4.7 decline: volume_m < volume_m-1", WARN),
    M("ch-idle-net-volume", "crmtool/churn/series.py", "max(CASE WHEN purchased THEN idx END) OVER upto",
      "max(CASE WHEN volume > 0 THEN idx END) OVER upto", "§4.6 idle months from the last purchase month",
      STATUS + BACKTEST),
    # ---------------------------------------------------------------- §4.6 status
    M("st-new-ge", "crmtool/churn/status.py", "WHEN a.first_purchase_idx > a.idx - ? THEN 'new'",
      "WHEN a.first_purchase_idx >= a.idx - ? THEN 'new'", "§4.6 new: first purchase within M-2..M", STATUS),
    M("st-active-lt", "crmtool/churn/status.py", "WHEN a.idle_months <= ? THEN 'active'",
      "WHEN a.idle_months < ? THEN 'active'", "§4.6 active: idle <= 3", STATUS),
    M("st-churned-lt", "crmtool/churn/status.py", "WHEN a.idle_months <= ? THEN 'churned'",
      "WHEN a.idle_months < ? THEN 'churned'", "§4.6 churned: 4-7, lost >= 8", STATUS),
    M("st-cycle-window", "crmtool/churn/status.py", "WHERE order_date > ?", "WHERE order_date >= ?",
      "§4.6 cycle over the last 12 months (exclusive start)", STATUS),
    M("st-cycle-min-gt", "crmtool/churn/status.py", "WHEN c.purchase_dates >= ? THEN c.cycle_days",
      "WHEN c.purchase_dates > ? THEN c.cycle_days", "§4.6 cycle needs >= 3 purchases", STATUS),
    M("st-overdue-ge", "crmtool/churn/status.py", "j.days_since_purchase > ? * j.cycle_days AS overdue",
      "j.days_since_purchase >= ? * j.cycle_days AS overdue", "§4.6 overdue = days since > 2 · cycle", STATUS),
    M("st-return-is-purchase", "crmtool/churn/status.py", "WHERE is_purchase AND order_date <= ?",
      "WHERE order_date <= ?", "§1 a return is never a purchase (last purchase date)", STATUS),
    # ---------------------------------------------------------------- §4.8 idle, win-back
    M("idle-8plus-ge", "crmtool/churn/idle.py", "count(*) FILTER (WHERE idle_months > {top})",
      "count(*) FILTER (WHERE idle_months >= {top})", "§4.8 buckets 0..7, 8+", IDLE),
    M("idle-buckets-short", "crmtool/churn/idle.py", "AS {quote_ident(str(i))}\" for i in range(top + 1)]",
      "AS {quote_ident(str(i))}\" for i in range(top)]", "§4.8 buckets 0..7, 8+", IDLE),
    M("wb-idle-gt", "crmtool/churn/winback.py", "WHERE idle_before >= ? AND", "WHERE idle_before > ? AND",
      "§4.8 win-back: idle >= 4 at m-1", IDLE),
    M("wb-net-volume", "crmtool/churn/winback.py", "FROM s WHERE purchased", "FROM s WHERE volume <> 0",
      "§4.8 win-back: purchases in m (a return is none)", IDLE),
    M("wb-since-skips-return", "crmtool/churn/winback.py", "s.idx BETWEEN f.return_idx AND ?",
      "s.idx BETWEEN f.return_idx + 1 AND ?", "§4.8 volume since return (the return month included)", IDLE),
    # ---------------------------------------------------------------- §4.7 warn, backtest
    M("warn-high-without-key", "crmtool/churn/warn.py", "CASE WHEN {key} AND {s} >= ? THEN 'high'",
      "CASE WHEN {s} >= ? THEN 'high'", "§4.7 high = key and streak >= 2", WARN),
    M("warn-medium-key-streak", "crmtool/churn/warn.py", "WHEN {s} >= ? OR ({key} AND {s} >= 1) THEN 'medium'",
      "WHEN {s} >= ? THEN 'medium'", "§4.7 medium = streak >= 2, or key and streak = 1", WARN),
    M("warn-notify-always", "crmtool/churn/warn.py", "CASE WHEN severity = 'high' THEN maintenance_level END",
      "maintenance_level", "§4.7 notify the maintenance-level role only when high", WARN),
    M("bt-horizon-lt", "crmtool/churn/backtest.py", "e.churn_idx <= s.idx + ?", "e.churn_idx < s.idx + ?",
      "§4.7 backtest: churned within the horizon", BACKTEST),
    M("bt-precision-recall", "crmtool/churn/backtest.py", "CAST(hits AS DOUBLE) / warned END AS precision",
      "CAST(hits AS DOUBLE) / churned END AS precision", "§4.7 backtest precision", BACKTEST),
    # ---------------------------------------------------------------- §1 loader (being rewritten: may go stale)
    M("ld-gp-computed-wins", "crmtool/io/load.py", 'f"coalesce({q(n)}, {fills[n]})"', 'f"coalesce({fills[n]}, {q(n)})"',
      "§1 gross_profit = given value, else amount - cost", LOAD),
    M("ld-gp-no-fallback", "crmtool/io/schema.py", 'fills=(("gross_profit", "amount - cost"),),', "fills=(),",
      "§1 gross_profit = given value, else amount - cost", LOAD),
    M("ld-first-line-wins", "crmtool/io/load.py", "PARTITION BY {key} ORDER BY __line DESC) = 1",
      "PARTITION BY {key} ORDER BY __line) = 1", "§1 a line appearing again replaces the earlier one", LOAD),
    M("ld-no-upsert-delete", "crmtool/io/load.py",
      'replaced = con.execute(f"DELETE FROM {tname} WHERE EXISTS (SELECT 1 FROM {good} g WHERE {key_match})"\n'
      '                           ).fetchall()[0][0]', "replaced = 0",
      "§1 reloading an overlapping export never double-counts", LOAD),
    M("ld-whole-order-replace", "crmtool/io/load.py",
      "key = [k for k in table.key if not (k == table.numbered_key and k not in hm.columns)]",
      "key = list(table.key)", "§1 an export without line numbers replaces whole orders", LOAD),
    M("ld-volume-density", "crmtool/io/load.py", "WHEN kind = 'volume' THEN qty * factor * density",
      "WHEN kind = 'volume' THEN qty * factor / density", "§1 units: L -> t via density (kg/L)", LOAD),
    M("ld-mass-factor", "crmtool/io/load.py", "THEN qty * factor / {bfactor} \"", "THEN qty / {bfactor} \"",
      "§1 units: kg -> t", LOAD),
    M("ld-sap-trailing-minus", "crmtool/io/load.py", "THEN '-' || rtrim(s, '-')", "THEN rtrim(s, '-')",
      "§1 returns: a trailing minus (123.00-) is negative", LOAD),
    M("ld-rejects-kept", "crmtool/io/load.py",
      'con.execute("DELETE FROM rejects WHERE file = ? AND table_name = ?", [str(path), table.name])', "pass",
      "§1 loading a file again replaces its earlier rejects", LOAD),
    M("ld-date-range", "crmtool/io/load.py",
      "\"crm_date_ok(d)\": f\"d BETWEEN DATE '{date_min.isoformat()}' AND DATE '{date_max.isoformat()}'\"",
      "\"crm_date_ok(d)\": \"d IS NOT NULL\"", "§1 a date outside date_min..today + 31 days is rejected", LOAD),
    M("ld-currency-yuan", "crmtool/io/load.py", "'￥', ''), '元', '')", "'￥', ''), '元', '元')",
      "§1 currency marks ¥ 元 are stripped", LOAD),
]

# mutants that cannot change any result, with the reason (not run, not counted)
EQUIVALENT: dict[str, str] = {}


# ------------------------------------------------------------------------------------------------


def repo_files(source: str | None, under: str | None = None) -> list[str]:
    where = [under] if under else []
    if source:
        out = subprocess.run(["git", "ls-tree", "-r", "--name-only", "-z", source, *where], cwd=ROOT, check=True,
                             capture_output=True).stdout
    else:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", *where],
                             cwd=ROOT, check=True, capture_output=True).stdout
    return [p for p in out.decode().split("\0") if p]


def make_copy(dest: Path, source: str | None, worktree_tests: bool = False) -> None:
    """The repository's files (working tree as on disk now, or as committed at ``source``) under dest;
    with ``worktree_tests`` the tests/ folder comes from the working tree whatever ``source`` is."""
    for rel in repo_files(source):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source:
            blob = subprocess.run(["git", "show", f"{source}:{rel}"], cwd=ROOT, check=True,
                                  capture_output=True).stdout
            target.write_bytes(blob)
        else:
            src = ROOT / rel
            if src.is_file():  # deleted in the working tree but still tracked: skip
                shutil.copy2(src, target)
    if source and worktree_tests:
        shutil.rmtree(dest / "tests", ignore_errors=True)
        for rel in repo_files(None, "tests"):
            if (ROOT / rel).is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, dest / rel)


def env_for(copy: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CRMTOOL_CONFIG", "CRMTOOL_DB", "HYPOTHESIS_PROFILE")}
    env["PYTHONPATH"] = str(copy)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a reverted file must never be shadowed by the mutant's .pyc
    return env


def check_imports_copy(copy: Path) -> None:
    code = "import crmtool, crmtool.facts, tests.conftest; print(crmtool.__file__); print(tests.conftest.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=copy, env=env_for(copy), capture_output=True, text=True)
    paths = out.stdout.split()
    if out.returncode != 0 or len(paths) != 2 or not all(Path(p).resolve().is_relative_to(copy.resolve())
                                                         for p in paths):
        raise SystemExit(f"import crmtool does not resolve inside the copy {copy}:\n{out.stdout}{out.stderr}")


def pytest_cmd(tests: list[str], deselect: list[str], first_failure: bool) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-rfE"]
    if first_failure:
        cmd.append("-x")
    for node in deselect:
        cmd += ["--deselect", node]
    return cmd + tests


FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)


def run_tests(copy: Path, tests: list[str], deselect: list[str], timeout: float,
              first_failure: bool = True) -> tuple[str, str, float]:
    """('passed' | 'failed' | 'timeout', first failing test or '', seconds)."""
    t0 = time.monotonic()
    try:
        out = subprocess.run(pytest_cmd(tests, deselect, first_failure), cwd=copy, env=env_for(copy),
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", "", time.monotonic() - t0
    seconds = time.monotonic() - t0
    if out.returncode == 0:
        return "passed", "", seconds
    failed = FAILED.findall(out.stdout)
    if out.returncode not in (1, 2) or not failed:  # usage error, nothing collected …
        return "failed", (out.stdout + out.stderr).strip().splitlines()[-1:][0] if (out.stdout + out.stderr).strip() \
            else f"exit {out.returncode}", seconds
    return "failed", failed[0], seconds


def baseline_failures(copy: Path, tests: list[str], timeout: float) -> list[str]:
    """Test ids (or whole files that do not even import) failing on the unmutated copy."""
    out = subprocess.run(pytest_cmd(tests, [], False), cwd=copy, env=env_for(copy), capture_output=True, text=True,
                         timeout=timeout * 4)
    if out.returncode == 0:
        return []
    return sorted(set(FAILED.findall(out.stdout)))


def is_stale(copy: Path, m: Mutant) -> bool:
    path = copy / m.file
    return not path.is_file() or path.read_text(encoding="utf-8").count(m.original) != 1


def apply(copy: Path, m: Mutant) -> str | None:
    """Write the mutant into the copy; returns the original text to restore, or None when STALE."""
    path = copy / m.file
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if text.count(m.original) != 1:
        return None
    path.write_text(text.replace(m.original, m.mutated), encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[], help="mutant id(s), comma-separated; repeatable")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--jobs", type=int, default=1, help="mutants run side by side (one repository copy each)")
    ap.add_argument("--source", default=None, help="mutate the files of this git revision (default: working tree)")
    ap.add_argument("--worktree-tests", action="store_true",
                    help="with --source: take tests/ from the working tree (mutate committed code, run your tests)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per mutant before it counts as killed")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run (no deselection)")
    args = ap.parse_args(argv)

    ids = [i for part in args.only for i in part.split(",") if i]
    known = {m.id for m in MUTANTS}
    assert len(known) == len(MUTANTS), "duplicate mutant id"
    unknown = [i for i in ids if i not in known]
    if unknown:
        ap.error(f"unknown mutant id(s): {', '.join(unknown)}")
    chosen = [m for m in MUTANTS if not ids or m.id in ids]
    if args.list:
        for m in chosen:
            flag = "  (equivalent: " + EQUIVALENT[m.id] + ")" if m.id in EQUIVALENT else ""
            print(f"{m.id:32} {m.file:32} {m.rule}{flag}")
        print(f"{len(chosen)} mutants")
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="crmtool-mutants-"))
    lock = threading.Lock()
    results: dict[str, tuple[str, str, float]] = {}
    try:
        copies: Queue[Path] = Queue()
        for j in range(max(1, args.jobs)):
            copy = workdir / f"copy{j}"
            make_copy(copy, args.source, args.worktree_tests)
            check_imports_copy(copy)
            copies.put(copy)
        first = copies.get()
        print(f"copies of {args.source or 'the working tree'} in {workdir}; crmtool imports from the copy",
              flush=True)
        for m in chosen:  # stale mutants are known before anything runs
            if m.id not in EQUIVALENT and is_stale(first, m):
                results[m.id] = ("stale", "original snippet not found exactly once", 0.0)
        copies.put(first)
        to_run = [m for m in chosen if m.id not in EQUIVALENT and m.id not in results]
        deselect: list[str] = []
        if to_run and not args.no_baseline:
            union = sorted({t for m in to_run for t in m.tests})
            copy = copies.get()
            deselect = baseline_failures(copy, union, args.timeout)
            copies.put(copy)
            if deselect:
                print("tests failing WITHOUT any mutant (deselected for every mutant):")
                for node in deselect:
                    print(f"  {node}")

        broken_files = {node for node in deselect if "::" not in node}  # collection errors

        def one(m: Mutant) -> None:
            copy = copies.get()
            try:
                original = apply(copy, m)
                tests = [t for t in m.tests if t not in broken_files]
                # a survivor whose tests were not all green without the mutant proves nothing
                weakened = len(tests) < len(m.tests) or any(n.split("::")[0] in m.tests for n in deselect)
                if original is None:
                    res = ("stale", "original snippet not found exactly once", 0.0)
                else:
                    try:
                        status, where, secs = (run_tests(copy, tests, deselect, args.timeout) if tests
                                               else ("passed", "", 0.0))
                    finally:
                        (copy / m.file).write_text(original, encoding="utf-8")
                    outcome = {"passed": "survived", "failed": "killed", "timeout": "killed"}[status]
                    if outcome == "survived" and weakened:
                        outcome, where = "blocked", "its tests fail without the mutant (see above)"
                    res = (outcome, where or ("timeout" if status == "timeout" else ""), secs)
            finally:
                copies.put(copy)
            with lock:
                results[m.id] = res
                print(f"{res[0].upper():9} {m.id:32} {res[2]:5.1f}s  {res[1]}", flush=True)

        for m in chosen:
            if m.id in results:
                print(f"{results[m.id][0].upper():9} {m.id:32}  {m.file}: {results[m.id][1]}", flush=True)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            list(pool.map(one, to_run))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    killed = [m for m in chosen if results.get(m.id, ("",))[0] == "killed"]
    survived = [m for m in chosen if results.get(m.id, ("",))[0] == "survived"]
    stale = [m for m in chosen if results.get(m.id, ("",))[0] == "stale"]
    blocked = [m for m in chosen if results.get(m.id, ("",))[0] == "blocked"]
    equivalent = [m for m in chosen if m.id in EQUIVALENT]
    counted = len(killed) + len(survived)
    print()
    print(f"{len(chosen)} mutants: {len(killed)} killed, {len(survived)} survived, {len(stale)} stale, "
          f"{len(equivalent)} equivalent, {len(blocked)} blocked")
    if counted:
        print(f"kill rate {len(killed)}/{counted} = {100 * len(killed) / counted:.1f} %")
    for m in survived:
        print(f"  SURVIVED {m.id}: {m.file} — {m.rule}")
    for m in stale:
        print(f"  STALE    {m.id}: {m.file} changed; update or drop this mutant")
    for m in blocked:
        print(f"  BLOCKED  {m.id}: survived, but its tests already fail unmutated; not counted")
    for m in equivalent:
        print(f"  EQUIVALENT {m.id}: {EQUIVALENT[m.id]}")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
