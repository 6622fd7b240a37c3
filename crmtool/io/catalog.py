"""What the loader accepts and what it turned away: the headers each table accepts
(``crmtool columns``) and the recorded rejects (``crmtool rejects``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from crmtool.io.schema import TABLES, Table

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import pyarrow as pa

    from crmtool.config import Settings


def accepted_headers(settings: "Settings", table: str | None = None) -> "pa.Table":
    """One row per canonical column: table, column, required, kind, the built-in aliases and the
    header the user's ``[columns.<table>]`` maps to it (empty when none)."""
    import pyarrow as pa

    from crmtool.io.load import resolve_table

    tables: list[Table] = [resolve_table(table)] if table else list(TABLES.values())
    rows: dict[str, list] = {k: [] for k in ("table", "column", "required", "kind", "aliases", "user_header")}
    for t in tables:
        user = settings.columns.get(t.name, {})
        for c in t.columns:
            mapped = next((h for k, h in user.items() if k == c.name or k in c.aliases), "")
            required = "yes" if c.required else ("one of " + ", ".join(t.one_of) if c.name in t.one_of else "no")
            rows["table"].append(t.name)
            rows["column"].append(c.name)
            rows["required"].append(required)
            rows["kind"].append(c.kind)
            rows["aliases"].append(", ".join(c.aliases))
            rows["user_header"].append(mapped)
    return pa.table({k: pa.array(v, pa.string()) for k, v in rows.items()})


def list_rejects(con: "duckdb.DuckDBPyConnection", *, file: str | None = None, reason: str | None = None,
                 table: str | None = None) -> "pa.Table":
    """The recorded rejects: file, line, column (the file's header), value, reason and table, in file
    and line order. ``file`` matches the path as loaded or its file name; ``reason`` matches any
    part of the reason, case-insensitively."""
    where, params = [], []
    if file:
        from crmtool.io.load import same_file_sql

        # the path as loaded or resolved, or the file's name; a workbook's name finds every sheet of it
        where.append(f"(r.file = ? OR {same_file_sql('r.file', sheets=True)})")
        params += [file, *[str(Path(file).resolve()), file] * 2]
    if reason:
        where.append("r.reason ILIKE '%' || ? || '%'")
        params.append(reason)
    if table:
        where.append("coalesce(r.table_name, b.table_name) = ?")
        params.append(table)
    sql = ("SELECT r.file, r.line, r.column_name AS column, r.value, r.reason, "
           "coalesce(r.table_name, b.table_name) AS table_name "
           "FROM rejects r LEFT JOIN batches b USING (batch_id)"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY r.file, r.line, r.column_name")
    rel = con.sql(sql, params=params)
    return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()  # DuckDB 2 / 1.x
