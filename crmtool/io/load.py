"""Loading files into the canonical tables.

One call of :func:`load_files` is one transaction: every file is read, its headers mapped, its text
converted and checked in SQL (each failing cell becomes a reject with file, line, column, value and
reason), the good rows upserted by the table key, and a batch row recorded. ``strict`` turns any
reject into a failure that leaves the store untouched.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from crmtool.config import TIER_SCHEMES, Settings
from crmtool.errors import InputError, UsageError
from crmtool.io.readers import RawRows, read_rows, xlsx_sheet_names
from crmtool.io.schema import (CATEGORIES, CATEGORY_PATTERNS, CODE, CUSTOMER_TYPES, DATE, INT, LIST, MONEY,
                               MONTH, NUMBER, SCORE, TABLE_ALIASES, TABLES, UNITS, Column, Table,
                               normalize_header, split_header_unit, unit_id)
from crmtool.store import Store, quote_ident as q

DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S",
                "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S.%f", "%Y.%m.%d %H:%M:%S", "%Y年%m月%d日 %H:%M:%S"]
MONTH_FORMATS = ["%Y-%m", "%Y/%m", "%Y%m", "%Y年%m月", "%Y.%m"]

REASONS = {
    "missing": "required value is empty",
    "number": "not a number",
    "int": "not a whole number",
    "date": "not a date",
    "month": "not a month (YYYY-MM)",
    "score": "not a score from 0 to 100",
    "unit": "unknown unit",
    "density": "no density for this category to convert between mass and volume (set [units.density])",
    "subject": "needs a customer_id or a manager_id",
    "range": "end date before start date",
}


@dataclass
class FileResult:
    file: str
    table: str
    sha256: str
    encoding: str
    rows_read: int
    accepted: int
    rejected: int
    replaced: int
    batch_id: int | None = None
    header_line: int = 1
    mapping: dict[str, str] = field(default_factory=dict)  # canonical -> header in the file
    ignored: list[str] = field(default_factory=list)  # headers not used
    sample_rejects: list[tuple] = field(default_factory=list)  # (line, column, value, reason)


@dataclass
class LoadResult:
    table: str
    files: list[FileResult]
    strict_failed: bool = False
    seconds: float = 0.0

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def replaced(self) -> int:
        return sum(f.replaced for f in self.files)

    def summary(self) -> str:
        return (f"{self.table}: {len(self.files)} file(s), {self.accepted} accepted, "
                f"{self.rejected} rejected, {self.replaced} replaced")


def resolve_table(name: str) -> Table:
    key = TABLE_ALIASES.get(name, name).lower()
    if key not in TABLES:
        raise UsageError(f"unknown table {name!r}; use one of {', '.join(TABLES)}")
    return TABLES[key]


# ---------------------------------------------------------------------------------------------
# header mapping


@dataclass
class HeaderMap:
    header_index: int  # index into RawRows.rows of the header row
    columns: dict[str, int]  # canonical -> column position
    headers: list[str]
    extras: dict[str, int]  # unknown header -> position (kept for customers)
    default_unit: str | None  # from a header such as 数量(升)


def _column_spellings(col: Column) -> set[str]:
    return {normalize_header(a) for a in (col.name, *col.aliases)}


def _match(headers: list[str], table: Table, user: dict[str, str],
           path: Path) -> tuple[dict[str, int], str | None, list[tuple[str, str]]]:
    found: dict[str, int] = {}
    unmatched: list[tuple[str, str]] = []
    default_unit = None
    norm = [normalize_header(h) for h in headers]
    # the user's mapping first: canonical (or one of its English names) = header in the file
    for key, header in user.items():
        col = next((c for c in table.columns if c.name == key or key in c.aliases), None)
        if col is None:
            raise InputError(f"config [columns.{table.name}]: {key!r} is not a column of {table.name}; "
                             f"columns are {', '.join(c.name for c in table.columns)}")
        want = normalize_header(header)
        pos = next((i for i, h in enumerate(norm) if h == want), None)
        if pos is None:
            unmatched.append((key, header))
        else:
            found[col.name] = pos
    taken = set(found.values())
    for col in table.columns:
        if col.name in found:
            continue
        spellings = _column_spellings(col)
        for i, h in enumerate(headers):
            if i in taken:
                continue
            base, unit = split_header_unit(h)
            if norm[i] in spellings or normalize_header(base) in spellings:
                found[col.name] = i
                taken.add(i)
                if unit and col.name == "quantity":
                    default_unit = unit
                break
    return found, default_unit, unmatched


def _looks_like_data(text: str) -> bool:
    t = text.replace(",", "").replace("-", "").replace("/", "").replace(".", "").replace(":", "").strip()
    return t.isdigit()


def _sub_header(raw: RawRows, idx: int, found: dict[str, int], table: Table) -> list | None:
    """The row below the header when it is a second header row: only text, and empty under at
    least one required column (a data row fills those)."""
    if raw.header_given or idx + 1 >= len(raw.rows):
        return None
    sub = raw.rows[idx + 1]
    cells = [str(c).strip() for c in sub if c is not None and str(c).strip()]
    required = [found[r] for r in table.required if r in found]
    empty_required = any(p >= len(sub) or sub[p] is None or not str(sub[p]).strip() for p in required)
    if cells and empty_required and not any(_looks_like_data(c) for c in cells):
        return sub
    return None


def map_headers(raw: RawRows, table: Table, user: dict[str, str]) -> HeaderMap:
    """Find the header row (an export may carry title rows above it) and map it to the table."""
    if not raw.rows:
        raise InputError(f"{raw.path}: the file is empty")
    best: tuple[int, int, dict[str, int], str | None, list[tuple[str, str]]] | None = None
    candidates = [0] if raw.header_given else range(min(10, len(raw.rows)))
    for idx in candidates:
        headers = [str(h).strip() if h is not None else "" for h in raw.rows[idx]]
        found, unit, unmatched = _match(headers, table, user, raw.path)
        score = len(found) + 10 * sum(1 for r in table.required if r in found)
        if best is None or score > best[1]:
            best = (idx, score, found, unit, unmatched)
    assert best is not None
    idx, _, found, unit, unmatched = best
    headers = [str(h).strip() if h is not None else "" for h in raw.rows[idx]]
    sub = _sub_header(raw, idx, found, table)
    if sub is not None:  # a two-row header (merged cells above 数量 | 单位): the lower row names the columns
        combined = headers + [""] * max(0, len(sub) - len(headers))
        for i, cell in enumerate(sub):
            if cell is not None and str(cell).strip():
                combined[i] = str(cell).strip()
        found2, unit2, unmatched2 = _match(combined, table, user, raw.path)
        if len(found2) >= len(found) and all(r in found2 for r in table.required if r in found):
            idx, headers, found, unit, unmatched = idx + 1, combined, found2, unit2 or unit, unmatched2
    if unmatched:
        key, header = unmatched[0]
        raise InputError(f"{raw.path} line {raw.lines[idx]}: config [columns.{table.name}] maps {key} to header "
                         f"{header!r}, which the file does not have; its headers are: "
                         f"{', '.join(h for h in headers if h)}")
    missing = [c for c in table.required if c not in found]
    if table.name == "plans" and not ({"customer_id", "manager_id"} & set(found)):
        missing.append("customer_id or manager_id")
    if missing:
        hints = "; ".join(f"{m} (e.g. {', '.join(table.column(m).aliases[:3])})" if m in
                          {c.name for c in table.columns} else m for m in missing)
        raise InputError(f"{raw.path} line {raw.lines[idx]}: no column for {hints}. Headers found: "
                         f"{', '.join(h for h in headers if h) or '(none)'}. Map them under "
                         f"[columns.{table.name}] in crmtool.toml")
    extras = {h: i for i, h in enumerate(headers) if h and i not in found.values()}
    return HeaderMap(idx, found, headers, extras, unit)


# ---------------------------------------------------------------------------------------------
# SQL conversion of one text column


def _clean_number(v: str) -> str:
    # thousands separators, currency signs, SAP's trailing minus (123.00-) and accounting brackets
    w = f"translate({v}, '０１２３４５６７８９．－（）', '0123456789.-()')"  # full-width forms
    s = (f"replace(replace(replace(replace(replace({w}, ',', ''), '，', ''), '¥', ''), '￥', ''), ' ', '')")
    return (f"(CASE WHEN {s} LIKE '%-' THEN '-' || rtrim({s}, '-') "
            f"WHEN {s} LIKE '(%)' THEN '-' || trim({s}, '()') ELSE {s} END)")


def _convert(kind: str, v: str) -> str:
    """SQL expression turning text ``v`` into the column's type; NULL where it cannot."""
    if kind in (NUMBER, MONEY):
        typ = "DECIMAL(18,4)" if kind == NUMBER else "DECIMAL(18,2)"
        return f"TRY_CAST(TRY_CAST({_clean_number(v)} AS DOUBLE) AS {typ})"
    if kind == SCORE:
        return f"TRY_CAST(replace({v}, '%', '') AS DOUBLE)"
    if kind == INT:
        d = f"TRY_CAST({v} AS DOUBLE)"
        return f"(CASE WHEN {d} = floor({d}) THEN TRY_CAST({d} AS INTEGER) END)"
    if kind == DATE:
        fmts = ", ".join(f"'{f}'" for f in DATE_FORMATS)
        return (f"(CASE WHEN regexp_full_match({v}, '[0-9]{{5}}(\\.[0-9]+)?') "
                f"THEN CAST(DATE '1899-12-30' + CAST(floor(CAST({v} AS DOUBLE)) AS INTEGER) AS DATE) "
                f"ELSE CAST(try_strptime({v}, [{fmts}]) AS DATE) END)")
    if kind == MONTH:
        fmts = ", ".join(f"'{f}'" for f in MONTH_FORMATS + DATE_FORMATS)
        return (f"CAST(date_trunc('month', CASE WHEN regexp_full_match({v}, '[0-9]{{5}}(\\.[0-9]+)?') "
                f"THEN CAST(DATE '1899-12-30' + CAST(floor(CAST({v} AS DOUBLE)) AS INTEGER) AS DATE) "
                f"ELSE CAST(try_strptime({v}, [{fmts}]) AS DATE) END) AS DATE)")
    if kind == LIST:
        sep = "[,;，；、|\\s]+"
        return f"regexp_split_to_array(regexp_replace({v}, '^{sep}|{sep}$', '', 'g'), '{sep}')"
    if kind == CODE:
        return f"regexp_replace({v}, '^([0-9]+)\\.0+$', '\\1')"
    return v


_REASON_OF_KIND = {NUMBER: "number", MONEY: "number", INT: "int", DATE: "date", MONTH: "month", SCORE: "score"}


def _lookup_rows(settings: Settings) -> dict[str, list[tuple]]:
    units = list({s.lower(): (s.lower(), uid, kind, factor) for uid, (kind, factor, spellings) in UNITS.items()
                  for s in (uid, *spellings)}.values())
    cats = list({s.lower(): (s.lower(), cid) for cid, spellings in CATEGORIES.items()
                 for s in (cid, *spellings)}.values())
    dens = [(k, float(v)) for k, v in settings.units.density.items()]
    levels = []
    for scheme in TIER_SCHEMES.values():
        for t in scheme:
            levels += [(t.id.lower(), t.id), (t.zh.lower(), t.id), (t.en.lower(), t.id)]
    for t in settings.level.effective_tiers():
        levels += [(t.id.lower(), t.id), (t.zh.lower(), t.id), (t.en.lower(), t.id)]
    # the configured scheme wins over the built-in ones for the same spelling
    levels = list({k: (k, v) for k, v in levels}.values())
    ctypes = list({s.lower(): (s.lower(), cid) for cid, spellings in CUSTOMER_TYPES.items()
                   for s in (cid, *spellings)}.values())
    return {"lk_unit": units, "lk_category": cats, "lk_density": dens, "lk_level": levels, "lk_ctype": ctypes}


def _create_lookups(con, settings: Settings) -> None:
    import pyarrow as pa

    names = {"lk_unit": ["spelling", "uid", "kind", "factor"], "lk_category": ["spelling", "cid"],
             "lk_density": ["category", "density"], "lk_level": ["spelling", "lid"],
             "lk_ctype": ["spelling", "cid"]}
    for table, rows in _lookup_rows(settings).items():
        cols = list(zip(*rows)) if rows else [[] for _ in names[table]]
        arrow = pa.table({n: list(c) for n, c in zip(names[table], cols)}) if rows else pa.table(
            {n: pa.array([], pa.float64() if n in ("factor", "density") else pa.string()) for n in names[table]})
        con.register(f"{table}_src", arrow)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {table}_src")
        con.unregister(f"{table}_src")


PLACEHOLDERS = ", ".join(f"'{p}'" for p in ("", "-", "--", "—", "/", "#N/A", "N/A", "n/a", "NULL", "null"))
TOTAL_WORDS = {"合计", "总计", "小计", "合 计", "总 计", "total", "subtotal", "sum"}


def _data_rows(raw: RawRows, hm: HeaderMap) -> tuple[list[list[str | None]], list[int]]:
    """Rows below the header, without the header repeated mid-file (page breaks of a printed
    export) and without total rows (合计/小计) — neither is data and neither is a reject."""
    header = [h or None for h in hm.headers]
    body, lines = [], []
    for row, line in zip(raw.rows[hm.header_index + 1:], raw.lines[hm.header_index + 1:]):
        cells = [str(c).strip() for c in row if c is not None and str(c).strip()]
        if [(c.strip() if isinstance(c, str) else c) or None for c in row[:len(header)]] == header[:len(row)]:
            continue
        if cells and cells[0].replace(":", "").replace("：", "").lower() in TOTAL_WORDS:
            continue
        body.append(row)
        lines.append(line)
    return body, lines


def _stage(con, raw: RawRows, hm: HeaderMap, table: Table) -> None:
    """stg_text: __line plus one VARCHAR per canonical column present (trimmed, '' -> NULL)."""
    import pyarrow as pa

    body, lines = _data_rows(raw, hm)
    cols: dict[str, list] = {"__line": lines}
    for name, pos in hm.columns.items():
        cols[name] = [r[pos] if pos < len(r) else None for r in body]
    if table.keep_extra:
        for j, (header, pos) in enumerate(hm.extras.items()):
            cols[f"__extra_{j}"] = [r[pos] if pos < len(r) else None for r in body]
    arrow = pa.table({k: pa.array(v, pa.int64() if k == "__line" else pa.string()) for k, v in cols.items()})
    con.register("stg_arrow", arrow)
    selects = ["__line"]
    for name in cols:
        if name == "__line":
            continue
        # '-', '/', '#N/A' … are how exports write "nothing" in a cell
        selects.append(f"CASE WHEN trim({q(name)}) IN ({PLACEHOLDERS}) THEN NULL ELSE trim({q(name)}) END AS {q(name)}")
    for c in table.columns:
        if c.name not in cols:
            selects.append(f"CAST(NULL AS VARCHAR) AS {q(c.name)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE stg_text AS SELECT {', '.join(selects)} FROM stg_arrow")
    con.unregister("stg_arrow")


def _category_sql(cat: str, product: str) -> str:
    """Category id from the category text (id or label), else from words in either text, else other."""
    pats = " ".join(f"WHEN lower({t}) LIKE '{p}' THEN '{cid}'" for t in (cat, product) for cid, p in CATEGORY_PATTERNS)
    return (f"coalesce((SELECT cid FROM lk_category WHERE spelling = lower({cat})), "
            f"CASE {pats} ELSE NULL END, 'other')")


def _typed_select(table: Table, settings: Settings, default_unit: str | None) -> str:
    """SELECT over stg_text producing typed values (and the extra derived columns)."""
    out = ["s.__line"]
    src = "stg_text s"
    for c in table.columns:
        v = f"s.{q(c.name)}"
        if table.name == "customers" and c.name == "level":
            out.append(f"coalesce((SELECT lid FROM lk_level WHERE spelling = lower({v})), {v}) AS level")
        elif table.name == "customers" and c.name == "customer_type":
            out.append(f"coalesce((SELECT cid FROM lk_ctype WHERE spelling = lower({v})), {v}) AS customer_type")
        elif table.name == "campaigns" and c.name in ("levels", "products"):
            # coded values inside a list: 黄金、铂金 -> gold, platinum; 柴油 -> diesel (others kept as written)
            lk, col = ("lk_level", "lid") if c.name == "levels" else ("lk_category", "cid")
            out.append(f"(SELECT list(coalesce(l.{col}, x.v) ORDER BY coalesce(l.{col}, x.v)) FROM (SELECT unnest({_convert(LIST, v)}) AS v) x "
                       f"LEFT JOIN {lk} l ON l.spelling = lower(x.v)) AS {q(c.name)}")
        elif table.name == "orders" and c.name == "category":
            out.append("s.__cat AS category")
        elif table.name == "orders" and c.name in ("quantity", "unit"):
            continue
        else:
            out.append(f"{_convert(c.kind, v)} AS {q(c.name)}")
    if table.name == "orders":
        base = unit_id(settings.units.base) or "t"  # validated by config; an id from UNITS, never user text
        bkind, bfactor, _ = UNITS[base]
        qraw = _convert(NUMBER, "s.__qtext")
        dflt = f"'{default_unit}'" if default_unit else "NULL"
        # a quantity cell may carry its unit ("12吨", "1,000 升"): split it off, the unit column wins
        num = r"([-0-9.,，０-９．－]+)\s*([^-0-9.,，０-９．－\s]+)"
        src = (f"(SELECT *, {_category_sql('category', 'product_name')} AS __cat, "
               f"CASE WHEN TRY_CAST(quantity AS DOUBLE) IS NULL AND regexp_full_match(quantity, '{num}') "
               f"THEN regexp_extract(quantity, '{num}', 1) ELSE quantity END AS __qtext, "
               f"coalesce(unit, CASE WHEN TRY_CAST(quantity AS DOUBLE) IS NULL AND regexp_full_match(quantity, '{num}') "
               f"THEN regexp_extract(quantity, '{num}', 2) END, {dflt}, '{base}') AS __unit FROM stg_text) s "
               "LEFT JOIN lk_unit u ON u.spelling = lower(s.__unit) "
               "LEFT JOIN lk_density d ON d.category = s.__cat")
        out.append(f"{qraw} AS quantity_raw")
        out.append("s.__unit AS unit_raw")
        # mass<->volume needs the category's density (kg/L)
        out.append(
            f"CAST(CASE WHEN u.kind = '{bkind}' THEN {qraw} * u.factor / {bfactor} "
            f"WHEN u.kind = 'volume' THEN {qraw} * u.factor * d.density / {bfactor} "
            f"WHEN u.kind = 'mass' THEN {qraw} * u.factor / d.density / {bfactor} END AS DECIMAL(18,4)) AS quantity")
        out.append("u.uid AS unit")
    return f"SELECT {', '.join(out)} FROM {src}"


def _reject_checks(table: Table, hm: HeaderMap, settings: Settings) -> list[str]:
    """One SELECT per check, each giving (__line, field, value, reason) for the failing rows."""
    checks: list[str] = []
    present = set(hm.columns)

    def sel(field_: str, value: str, reason: str, where: str) -> str:
        return (f"SELECT s.__line, '{field_}' AS field, CAST({value} AS VARCHAR) AS value, "
                f"'{REASONS[reason]}' AS reason FROM stg_text s JOIN stg_typed t USING (__line) WHERE {where}")

    for c in table.columns:
        v = f"s.{q(c.name)}"
        if c.required:
            checks.append(sel(c.name, v, "missing", f"{v} IS NULL"))
        if c.name not in present:
            continue
        if c.kind in _REASON_OF_KIND:
            tv = "t.quantity_raw" if (table.name == "orders" and c.name == "quantity") else f"t.{q(c.name)}"
            checks.append(sel(c.name, v, _REASON_OF_KIND[c.kind], f"{v} IS NOT NULL AND {tv} IS NULL"))
        if c.kind == SCORE:
            checks.append(sel(c.name, v, "score", f"t.{q(c.name)} NOT BETWEEN 0 AND 100"))
    if table.name == "orders":
        checks.append(sel("unit", "t.unit_raw", "unit", "t.unit IS NULL"))
        base_kind = UNITS[unit_id(settings.units.base) or "t"][0]
        checks.append(sel("unit", "t.unit_raw || ' / ' || t.category", "density",
                          f"t.unit IS NOT NULL AND t.quantity_raw IS NOT NULL AND t.quantity IS NULL "
                          f"AND t.unit IN (SELECT uid FROM lk_unit WHERE kind <> '{base_kind}')"))
    if table.name == "plans":
        checks.append(sel("customer_id", "NULL", "subject", "s.customer_id IS NULL AND s.manager_id IS NULL"))
    if table.name in ("contracts", "campaigns"):
        checks.append(sel("end_date", "s.end_date", "range", "t.end_date < t.start_date"))
    return checks


def _final_select(table: Table) -> str:
    """Good rows, one per key (the last line of the file wins), in canonical column order."""
    names = [c.name for c in table.columns]
    exprs = {n: f"t.{q(n)}" for n in names}
    if table.name == "orders":
        exprs["line_no"] = ("coalesce(t.line_no, CAST(row_number() OVER (PARTITION BY t.order_id, t.line_no IS NULL "
                            "ORDER BY t.__line) AS INTEGER))")
        exprs["gross_profit"] = "coalesce(t.gross_profit, t.amount - t.cost)"
        exprs["quantity_raw"] = "t.quantity_raw"
        exprs["unit_raw"] = "t.unit_raw"
    if table.name == "plans":
        exprs["category"] = "coalesce(t.category, 'all')"
        exprs["scope"] = "CASE WHEN t.customer_id IS NOT NULL THEN 'customer' ELSE 'manager' END"
        exprs["subject_id"] = "coalesce(t.customer_id, t.manager_id)"
    cols = ", ".join(f"{e} AS {q(n)}" for n, e in exprs.items())
    key = ", ".join(q(k) for k in table.key)
    return (f"SELECT * EXCLUDE (__rn) FROM (SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY __line DESC) "
            f"AS __rn FROM (SELECT t.__line, {cols} FROM stg_typed t "
            f"WHERE t.__line NOT IN (SELECT __line FROM stg_rejects))) WHERE __rn = 1")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


Progress = Callable[[str, int, int], None]  # (phase text, step, total steps)


def _load_one(store: Store, table: Table, path: Path, sheet: str | None, settings: Settings,
              progress: Progress | None, step: int, total: int) -> FileResult:
    con = store.con
    if progress:
        progress(f"reading {path.name}", step, total)
    raw = read_rows(path, sheet)
    user = settings.columns.get(table.name, {})
    try:
        hm = map_headers(raw, table, user)
    except InputError:
        # a workbook whose first sheet is a cover (说明) or a pivot: take the first sheet that fits
        if sheet is not None or path.suffix.lower() not in (".xlsx", ".xlsm"):
            raise
        for name in xlsx_sheet_names(path)[1:]:
            other = read_rows(path, name)
            try:
                hm = map_headers(other, table, user)
            except InputError:
                continue
            raw = other
            break
        else:
            raise
    if progress:
        progress(f"checking {path.name}", step, total)
    _stage(con, raw, hm, table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE stg_typed AS {_typed_select(table, settings, hm.default_unit)}")
    checks = _reject_checks(table, hm, settings)
    con.execute("CREATE OR REPLACE TEMP TABLE stg_rejects AS " + " UNION ALL ".join(checks))
    con.execute(f"CREATE OR REPLACE TEMP TABLE stg_good AS {_final_select(table)}")
    rows_read = con.execute("SELECT count(*) FROM stg_text").fetchall()[0][0]
    rejected = con.execute("SELECT count(DISTINCT __line) FROM stg_rejects").fetchall()[0][0]
    accepted = con.execute("SELECT count(*) FROM stg_good").fetchall()[0][0]
    superseded = rows_read - rejected - accepted
    if progress:
        progress(f"writing {path.name}", step, total)
    tname = q(table.name)
    key_match = " AND ".join(f"g.{q(k)} = {tname}.{q(k)}" for k in table.key)
    if table.name == "orders" and "line_no" not in hm.columns:
        # an export without line numbers carries whole orders: it replaces every stored line of them
        key_match = f"g.order_id = {tname}.order_id"
    replaced = con.execute(f"SELECT count(*) FROM {tname} WHERE EXISTS (SELECT 1 FROM stg_good g WHERE {key_match})"
                           ).fetchall()[0][0]
    batch_id = con.execute("SELECT nextval('batch_seq')").fetchall()[0][0]
    if table.keep_extra:
        # an archive export without some columns (fit scores kept in another sheet, say) updates the
        # columns it has and keeps the stored values of the others
        absent = [c.name for c in table.columns if c.name not in hm.columns and c.name not in table.key]
        if absent:
            on = " AND ".join(f"e.{q(k)} = g.{q(k)}" for k in table.key)
            keep = ", ".join(f"e.{q(n)} AS {q(n)}" for n in absent)
            others = ", ".join(f"g.{q(c.name)}" for c in table.columns if c.name not in absent)
            con.execute(f"CREATE OR REPLACE TEMP TABLE stg_good AS SELECT g.__line, {others}, {keep} "
                        f"FROM stg_good g LEFT JOIN {tname} e ON {on}")
    con.execute(f"DELETE FROM {tname} WHERE EXISTS (SELECT 1 FROM stg_good g WHERE {key_match})")
    names = [c.name for c in table.columns] + [n for n, _ in table.derived]
    cols = ", ".join(q(n) for n in names)
    con.execute(f"INSERT INTO {tname} ({cols}, batch_id, source_line) SELECT {cols}, ?, __line FROM stg_good",
                [batch_id])
    if table.keep_extra and hm.extras:
        con.execute("DELETE FROM customers_extra WHERE customer_id IN (SELECT customer_id FROM stg_good)")
        for j, header in enumerate(hm.extras):
            con.execute(f"INSERT INTO customers_extra SELECT g.customer_id, ?, s.{q(f'__extra_{j}')}, ? "
                        f"FROM stg_good g JOIN stg_text s USING (__line) WHERE s.{q(f'__extra_{j}')} IS NOT NULL",
                        [header, batch_id])
    sha = _sha256(path)
    header_of = {name: hm.headers[pos] for name, pos in hm.columns.items()}
    if table.name == "orders":
        header_of.setdefault("unit", "unit")
    con.execute(
        "INSERT INTO rejects SELECT ?, ?, r.__line, coalesce(h.header, r.field), r.field, r.value, r.reason "
        "FROM stg_rejects r LEFT JOIN (SELECT unnest(?::VARCHAR[]) AS field, unnest(?::VARCHAR[]) AS header) h "
        "ON h.field = r.field",
        [batch_id, str(path), list(header_of.keys()), list(header_of.values())])
    con.execute("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
                [batch_id, str(path), sha, table.name, rows_read, accepted, rejected, replaced + superseded])
    sample = con.execute(
        "SELECT line, column_name, value, reason FROM rejects WHERE batch_id = ? ORDER BY line, column_name LIMIT 20",
        [batch_id]).fetchall()
    for t in ("stg_text", "stg_typed", "stg_rejects", "stg_good"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return FileResult(str(path), table.name, sha, raw.encoding, rows_read, accepted, rejected,
                      replaced + superseded, batch_id, raw.lines[hm.header_index], header_of,
                      list(hm.extras), sample)


def load_files(store: Store, table_name: str, files: Sequence[str | os.PathLike[str]], *,
               sheet: str | None = None, strict: bool = False, progress: Progress | None = None) -> LoadResult:
    """Load ``files`` into ``table_name`` in one transaction. With ``strict``, any reject rolls the
    whole load back and the result has ``strict_failed`` set (the caller exits 1)."""
    table = resolve_table(table_name)
    settings = store.settings
    t0 = time.monotonic()
    results: list[FileResult] = []
    con = store.con
    _create_lookups(con, settings)
    con.execute("BEGIN TRANSACTION")
    try:
        for i, f in enumerate(files, start=1):
            results.append(_load_one(store, table, Path(f), sheet, settings, progress, i, len(files)))
        hold = os.environ.get("CRMTOOL_TEST_HOLD_LOAD")  # crash tests: pause before COMMIT
        if hold:
            Path(hold).write_text("holding")
            time.sleep(60)
        failed = strict and any(r.rejected for r in results)
        if failed:
            con.execute("ROLLBACK")
        else:
            con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return LoadResult(table.name, results, strict_failed=failed, seconds=time.monotonic() - t0)
