"""Storing grading results as snapshots and comparing levels across as-of dates (升降级)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from crmtool.config import Settings
from crmtool.facts import parse_date, resolve_period
from crmtool.grading._sql import Params, query, tier_order_case
from crmtool.grading.result import GradeResult
from crmtool.store import save_snapshot, snapshot_id, snapshot_relation

if TYPE_CHECKING:  # pragma: no cover
    from crmtool.store import Store


def store_result(store: "Store", result: GradeResult, settings: Settings) -> int:
    """Save ``result.table`` as the snapshot (analysis, period) in one transaction; returns its id."""
    name = f"grading_result_{result.analysis}"
    store.con.register(name, result.table)
    try:
        with store.transaction() as con:
            return save_snapshot(con, result.analysis, result.period, result.as_of, settings.config_hash(), name)
    finally:
        store.con.unregister(name)


def previous_levels(store: "Store", settings: Settings, as_of: str | dt.date, *, lang: str = "en"):
    """(customer_id, previous_level) from the level snapshot of ``as_of``; when there is none the
    suggestion for that as-of is computed now and stored, so the comparison never fails for want of
    an earlier run."""
    from crmtool.grading.level import level

    when = parse_date(as_of, "--compare") if isinstance(as_of, str) else as_of
    sid = snapshot_id(store.con, "level", str(when))
    if sid is None:
        result = level(store.con, resolve_period(store.con, as_of=when), settings, lang=lang)
        sid = store_result(store, result, settings)
    return query(store.con, f"SELECT customer_id, suggested_level AS previous_level FROM "
                            f"{snapshot_relation('level')} WHERE snapshot_id = $sid", Params(sid=sid))


def compare_levels(store: "Store", result: GradeResult, settings: Settings, as_of: str | dt.date,
                   lang: str = "en") -> GradeResult:
    """Add previous_level and migration (up / down / same / new) to a level result, and the migration
    matrix (previous_level × suggested_level customer counts; 'none' where a customer is only on
    one side) as ``extras['migration']`` and ``summary['migration']``."""
    prev = previous_levels(store, settings, as_of)
    tiers = settings.level.effective_tiers()
    con = store.con
    con.register("level_now", result.table)
    con.register("level_before", prev)
    try:
        p = Params()
        now_pos = tier_order_case(p, "n.suggested_level", tiers)
        before_pos = tier_order_case(p, "b.previous_level", tiers)
        table = query(con, f"""
            SELECT n.*, b.previous_level,
                   CASE WHEN b.previous_level IS NULL OR {before_pos} IS NULL THEN 'new'
                        WHEN {now_pos} < {before_pos} THEN 'up'
                        WHEN {now_pos} > {before_pos} THEN 'down'
                        ELSE 'same' END AS migration
            FROM level_now n LEFT JOIN level_before b ON b.customer_id = n.customer_id
            ORDER BY n.rank""", p)
        matrix = query(con, """
            SELECT coalesce(b.previous_level, 'none') AS previous_level,
                   coalesce(n.suggested_level, 'none') AS suggested_level, count(*) AS customers
            FROM level_now n FULL OUTER JOIN level_before b ON b.customer_id = n.customer_id
            GROUP BY 1, 2 ORDER BY 1, 2""")
    finally:
        con.unregister("level_now")
        con.unregister("level_before")
    import pyarrow.compute as pc

    found = {d["values"]: int(d["counts"]) for d in pc.value_counts(table.column("migration")).to_pylist()}
    moves = {k: found.get(k, 0) for k in ("up", "down", "same", "new")}
    summary = dict(result.summary, compared_with=str(as_of), migration=moves,
                   matrix=matrix.to_pylist())
    lines = list(result.lines)
    lines.append(f"  与 {as_of} 相比：升级 {moves['up']}，降级 {moves['down']}，持平 {moves['same']}，新定级 {moves['new']}"
                 if lang == "zh" else f"  against {as_of}: up {moves['up']}, down {moves['down']}, same {moves['same']}, "
                 f"new {moves['new']}")
    lines += migration_matrix_lines(matrix, [t.id for t in tiers])
    return GradeResult(result.analysis, table, result.period, result.as_of, summary,
                       dict(result.extras, migration=matrix), lines)


def migration_matrix_lines(matrix, order: list[str]) -> list[str]:
    """The matrix as text rows: previous level down the side, suggested level across."""
    cells = {(r["previous_level"], r["suggested_level"]): r["customers"] for r in matrix.to_pylist()}
    keys = order + ["none"]
    width = max(10, *(len(k) + 2 for k in keys))
    head = "  " + "previous \\ now".ljust(16) + "".join(k.rjust(width) for k in keys)
    rows = [head]
    for a in keys:
        if any(cells.get((a, b)) for b in keys):
            rows.append("  " + a.ljust(16) + "".join(str(cells.get((a, b), 0)).rjust(width) for b in keys))
    return rows
