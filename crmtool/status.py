"""What the store holds: tables and row counts, order date range, recent batches, rejects by reason,
ERP codes not in the archive with their volume."""

from __future__ import annotations

from typing import Any

from crmtool.facts import install_views
from crmtool.io.schema import TABLES
from crmtool.store import Store, quote_ident


def store_status(store: Store, *, batches: int = 10, codes: int = 20) -> dict[str, Any]:
    con = store.con
    install_views(con)
    counts = {name: con.execute(f"SELECT count(*) FROM {quote_ident(name)}").fetchall()[0][0] for name in TABLES}
    first, last, returns = con.execute(
        "SELECT min(order_date), max(order_date), count(*) FILTER (WHERE quantity < 0) FROM orders").fetchall()[0]
    recent = con.execute(
        "SELECT batch_id, file, table_name, accepted, rejected, replaced, loaded_at FROM batches "
        "ORDER BY batch_id DESC LIMIT ?", [batches]).fetchall()
    reasons = con.execute(
        # rows, not cells: a row with three required cells empty is one row rejected for that reason
        "SELECT reason, count(DISTINCT (table_name, file, line)) AS n FROM rejects GROUP BY reason "
        "ORDER BY n DESC, reason").fetchall()
    not_in_archive = con.execute(
        """
        SELECT o.customer_id, string_agg(DISTINCT o.customer_code, ',' ORDER BY o.customer_code) AS erp_codes,
               count(*) AS lines, sum(o.quantity) AS volume
        FROM orders_resolved o
        WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = o.customer_id)
        GROUP BY o.customer_id
        ORDER BY volume DESC NULLS LAST, o.customer_id
        """).fetchall()
    return {
        "db": str(store.path),
        "schema_version": store.schema_version(),
        "tables": counts,
        "orders": {"first_date": first.isoformat() if first else None,
                   "last_date": last.isoformat() if last else None,
                   "return_lines": returns},
        "recent_batches": [
            {"batch_id": b[0], "file": b[1], "table": b[2], "accepted": b[3], "rejected": b[4], "replaced": b[5],
             "loaded_at": b[6].isoformat(sep=" ", timespec="seconds") if b[6] else None} for b in recent],
        "rejects_by_reason": {r: n for r, n in reasons},
        "rejected_rows": con.execute("SELECT count(DISTINCT (table_name, file, line)) FROM rejects").fetchall()[0][0],
        "not_in_archive": {
            "customers": len(not_in_archive),
            "volume": float(sum((r[3] or 0) for r in not_in_archive)),
            "top": [{"customer_id": r[0], "erp_codes": r[1], "lines": r[2], "volume": float(r[3] or 0)}
                    for r in not_in_archive[:codes]],
        },
    }
