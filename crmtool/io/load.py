"""Loading files into the canonical tables.

One call of :func:`load_files` is one transaction (``Store.transaction()``). Each file goes through
five steps, each a small set-based SQL job inside DuckDB:

- **read**: :func:`crmtool.io.readers.open_source` gives a relation of text columns and its first
  rows; the header is found in those (title rows above it, a second header row) by :func:`map_headers`;
- **stage**: the body rows as trimmed text (``x_<column>``), each with its line, without repeated
  header rows, total rows (合计) and empty rows (a CSV's in ``stg_text``, kept in file order, with the
  view ``stg_src``; a Parquet file or a sheet gives each row's line itself and is read straight on);
  ``stg`` holds their typed values, converted by the named macros every table shares (``crm_date``,
  ``crm_number``, ``crm_money``, ``crm_tons`` …, see :func:`install_macros`);
- **check**: each failing cell is a reject with file, line, column, value and reason; the table's own
  checks (declared in :mod:`crmtool.io.schema`) and set checks (overlapping validity windows) add theirs;
- **upsert**: the good rows, one per key (the last line of a file wins), replace the stored rows with
  the same key;
- **record**: a batch row, and the file's rejects (replacing those of an earlier load of the same file
  into the same table).

``strict`` turns any reject into a failure that leaves the store untouched.
"""

from __future__ import annotations

import contextlib
import functools
import datetime as dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from crmtool.config import TIER_SCHEMES, Settings
from crmtool.errors import ConfigError, CrmtoolError, InputError, UsageError
from crmtool.io.readers import Prepared, Source, is_csv, open_source, prepare_csv, xlsx_sheet_names
from crmtool.io.schema import (CATEGORIES, CATEGORY_PATTERNS, CODE, CUSTOMER_TYPES, DATE, INT, LIST, MONEY,
                               MONEY_SCALES, MONTH, NUMBER, SCORE, SQL_TYPES, TABLE_ALIASES, TABLES, UNITS, Column,
                               Table, normalize_header, split_header_scale, split_header_unit, unit_id)
from crmtool.store import Store, quote_ident as q, temporarily

DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S",
                "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S.%f", "%Y.%m.%d %H:%M:%S", "%Y年%m月%d日 %H:%M:%S", "%Y.%m.%d %H:%M",
                "%Y年%m月%d日 %H:%M"]
MONTH_FORMATS = ["%Y-%m", "%Y/%m", "%Y%m", "%Y年%m月", "%Y.%m"]

REASONS = {
    "missing": "required value is empty",
    "number": "not a number",
    "int": "not a whole number",
    "date": "not a date",
    "month": "not a month (YYYY-MM)",
    "score": "not a score from 0 to 100",
    "unit": "unknown unit",
    "density": "no density for this product or category to convert between mass and volume (set [units.density])",
    "subject": "needs a customer_id or a manager_id",
    "range": "end date before start date",
    "date_range": "date out of range",
    "unit_conflict": "unit in the quantity differs from the unit column",
    "wide": "more cells than the header (an unquoted comma shifted them)",
    "sci_code": "code in scientific notation (rounded by a spreadsheet; export it as text)",
    "excel": "an Excel error or a formula without its value, not a code",
    "overlap": "validity window overlaps another for this code",
}

# test seam: called inside the load's transaction just before COMMIT (the crash test pauses here); with
# in_transaction, after this call's files are written, inside the caller's still open transaction
_before_commit: Callable[[], None] | None = None


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
    sheet: str | None = None  # one of several sheets of a workbook that fit the table (file says which)
    source: str = ""  # the path as given (file is "path [sheet]" for one sheet of several)
    superseded: int = 0  # lines whose key a later line of the same file repeats (the later one is kept)
    repeats: list[tuple[str, list[int]]] = field(default_factory=list)  # the first repeated keys, their lines
    changed_months: list[dt.date] = field(default_factory=list)  # orders: months whose lines this file changed


@dataclass
class LoadResult:
    table: str
    files: list[FileResult]
    strict_failed: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # what the user should know that is not a reject

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def changed_months(self) -> list[dt.date]:
        """Orders: per month whose lines this load changed, its first changed date (see _changed_months);
        tracked only in a store that holds results, the only ones a change can make stale."""
        return sorted({m for f in self.files for m in f.changed_months})

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def replaced(self) -> int:
        return sum(f.replaced for f in self.files)

    def summary(self) -> str:
        return (f"{self.table}: {len(self.files)} file(s), {self.accepted} accepted, "
                f"{self.rejected} rejected, {self.replaced} replaced")


def shown_value(value: str | None, limit: int = 60) -> str:
    """A rejected cell's value as a message shows it: quoted, (empty) for none, and a long one cut
    after ``limit`` characters with its length (the rejects table keeps the whole value)."""
    if value is None:
        return "(empty)"
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}… ({len(value):,} characters)"


def resolve_table(name: str) -> Table:
    key = TABLE_ALIASES.get(name, name).lower()
    if key not in TABLES:
        raise UsageError(f"unknown table {name!r}; use one of {', '.join(TABLES)}")
    return TABLES[key]


# ---------------------------------------------------------------------------------------------
# read: the header


@dataclass
class HeaderMap:
    header_index: int  # index into Source.head of the header row
    columns: dict[str, int]  # canonical -> column position
    headers: list[str]
    extras: dict[str, int]  # unknown header -> position (kept for customers)
    default_unit: str | None  # from a header such as 数量(升)
    scales: dict[str, int] = field(default_factory=dict)  # money column -> factor from a header such as 金额(万元)
    date1904: bool = False  # a workbook with the 1904 date system: its serial numbers count from 1904-01-01


@functools.lru_cache(maxsize=1024)
def _column_spellings(col: Column) -> tuple[str, ...]:
    """The column's names, most specific first (its own name, then its aliases as declared)."""
    return tuple(dict.fromkeys(normalize_header(a) for a in (col.name, *col.aliases)))


def _match(headers: list[str], table: Table,
           user: dict[str, str]) -> tuple[dict[str, int], str | None, list[tuple[str, str]]]:
    found: dict[str, int] = {}
    unmatched: list[tuple[str, str]] = []
    default_unit = None
    norm = [normalize_header(h) for h in headers]
    # the user's mapping first: canonical (or one of its English names) = header in the file
    # (two columns mapped to one header are refused when the config is read, see config._validate)
    for key, header in user.items():
        col = next((c for c in table.columns if c.name == key or key in c.aliases), None)
        if col is None:
            raise ConfigError(f"config [columns.{table.name}]: {key!r} is not a column of {table.name}; "
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
        # the header that matches the column's most specific name wins, whatever its place in the
        # file: 客户编码 over 客户 (the customer's name in many exports) for customer_code
        rank = {s: k for k, s in enumerate(_column_spellings(col))}
        best = None
        for i, h in enumerate(headers):
            if i in taken:
                continue
            names = [norm[i], normalize_header(split_header_unit(h)[0])]
            if col.kind == MONEY:
                names.append(normalize_header(split_header_scale(h)[0]))
            k = min((rank[n] for n in names if n in rank), default=None)
            if k is not None and (best is None or k < best[0]):
                best = (k, i)
        if best is not None:
            found[col.name] = best[1]
            taken.add(best[1])
    qcol = table.quantity_unit[0] if table.quantity_unit else None
    if qcol in found:
        default_unit = split_header_unit(headers[found[qcol]])[1]
    return found, default_unit, unmatched


# the master data a load overwrites by key, and the exports of events that are no master data: an
# event export given to a master table would overwrite it (an orders export given to `load customers`
# renames the archive's customers); an event export carries master columns (客户名称, 客户经理 beside
# every order line), so the check runs one way only
MASTER_TABLES = ("customers", "managers", "code_map")
EVENT_TABLES = ("orders", "freight", "visits", "leads", "contracts", "plans")


def _check_not_another_table(src: Source, table: Table, headers: list[str], line: int) -> None:
    """A file given to a master table (customers, managers, code_map) whose headers name every required
    column of an event export (orders, freight bills, visits, leads, contracts, plans), two or more of them columns the
    target does not have (凭证号, 过账日期, 数量 of an orders export given to `load customers`), is
    refused: loaded, its names would overwrite the archive's and its other columns fill the extras."""
    if table.name not in MASTER_TABLES:
        return
    own = {c.name for c in table.columns}
    for other in (TABLES[n] for n in EVENT_TABLES):
        found, _, _ = _match(headers, other, {})
        if not all(r in found for r in other.required):
            continue
        foreign = [r for r in other.required if r not in own]
        if len(foreign) >= 2:
            shown = ", ".join(f"{headers[found[r]]} → {r}" for r in foreign)
            article = "an" if other.name[0] in "aeiou" else "a"
            raise InputError(f"{src.path} line {line}: these are the headers of {article} {other.name} export ({shown}), "
                             f"not of {table.name}; load it with `crmtool load {other.name} …`")


def _looks_like_data(text: str) -> bool:
    t = text.replace(",", "").replace("-", "").replace("/", "").replace(".", "").replace(":", "").strip()
    return t.isdigit()


def _sub_header(src: Source, idx: int, found: dict[str, int], table: Table) -> list | None:
    """The row below the header when it is a second header row: only text, and empty under at
    least one required column (a data row fills those)."""
    if src.header_given or idx + 1 >= len(src.head):
        return None
    sub = src.head[idx + 1]
    cells = [str(c).strip() for c in sub if c is not None and str(c).strip()]
    required = [found[r] for r in table.required if r in found]
    empty_required = any(p >= len(sub) or sub[p] is None or not str(sub[p]).strip() for p in required)
    if cells and empty_required and not any(_looks_like_data(c) for c in cells):
        return sub
    return None


def map_headers(src: Source, table: Table, user: dict[str, str], base_unit: str = "t") -> HeaderMap:
    """Find the header row among the first rows (an export may carry title rows above it) and map
    it to the table. ``base_unit``: the unit id quantities are stored in (units.base)."""
    rows = [i for i, r in enumerate(src.head) if any(c is not None and str(c).strip() for c in r)]
    if not rows:
        raise InputError(f"{src.path}: the file is empty")
    best: tuple[int, int, dict[str, int], str | None, list[tuple[str, str]]] | None = None
    candidates = [0] if src.header_given else rows[:25]
    for idx in candidates:
        headers = [str(h).strip() if h is not None else "" for h in src.head[idx]]
        found, unit, unmatched = _match(headers, table, user)
        score = len(found) + 10 * sum(1 for r in table.required if r in found)
        if best is None or score > best[1]:
            best = (idx, score, found, unit, unmatched)
    assert best is not None
    idx, _, found, unit, unmatched = best
    headers = [str(h).strip() if h is not None else "" for h in src.head[idx]]
    sub = _sub_header(src, idx, found, table)

    def bare(cell: object) -> str:  # a unit as a units row writes it: 吨, (吨), （万元）, [kg]
        return str(cell).strip().strip("()（）[]【】 ").strip()
    words = [bare(c) for c in sub or [] if c is not None and str(c).strip()]
    if sub is not None and words and all(unit_id(w) or w.lower() in MONEY_SCALES for w in words):
        # a units row under the header (,,,,升,万元): each unit joins its column's header, as 数量(升)
        combined = list(headers)
        for i, cell in enumerate(sub[:len(headers)]):
            if cell is not None and str(cell).strip() and headers[i]:
                combined[i] = f"{headers[i]}({bare(cell)})"
        idx, headers = idx + 1, combined
        found, unit, unmatched = _match(headers, table, user)
    elif sub is not None:  # a two-row header (merged cells above 数量 | 单位): the lower row names the columns
        combined = headers + [""] * max(0, len(sub) - len(headers))
        for i, cell in enumerate(sub):
            if cell is not None and str(cell).strip():
                combined[i] = str(cell).strip()
        found2, unit2, unmatched2 = _match(combined, table, user)
        if len(found2) >= len(found) and all(r in found2 for r in table.required if r in found):
            idx, headers, found, unit, unmatched = idx + 1, combined, found2, unit2 or unit, unmatched2
    nxt = src.head[idx + 1] if idx + 1 < len(src.head) and not src.header_given else None
    if nxt is not None and any(c is not None for c in nxt) and all(
            c is None or (i < len(headers) and str(c).strip() == headers[i]) for i, c in enumerate(nxt)):
        idx += 1  # the header's cells merged down over a second row (a copy of it, see readers._Workbook)
    elif nxt is not None and any(c is not None for c in nxt):
        # a second header row in another language (订单号 over Order No): its cells name every required
        # column too, so it is a header, not a row of data to reject
        again, _, _ = _match([str(c).strip() if c is not None else "" for c in nxt], table, user)
        if table.required and all(r in again for r in table.required):
            idx += 1
    line = src.head_lines[idx]
    if unmatched:
        key, header = unmatched[0]
        raise InputError(f"{src.path} line {line}: config [columns.{table.name}] maps {key} to header "
                         f"{header!r}, which the file does not have; its headers are: "
                         f"{', '.join(h for h in headers if h)}")
    missing = [c for c in table.required if c not in found]
    if table.one_of and not (set(table.one_of) & set(found)):
        missing.append(" or ".join(table.one_of))
    if missing:
        hints = "; ".join(f"{m} (e.g. {', '.join(table.column(m).aliases[:3])})" if m in
                          {c.name for c in table.columns} else m for m in missing)
        raise InputError(f"{src.path} line {line}: no column for {hints}. Headers found: "
                         f"{', '.join(h for h in headers if h) or '(none)'}. Map them under "
                         f"[columns.{table.name}] in crmtool.toml")
    _check_not_another_table(src, table, headers, line)
    qcol = table.quantity_unit[0] if table.quantity_unit else None
    for name, pos in found.items():  # only the orders quantity is converted from the unit its header names
        written = split_header_unit(headers[pos])[1]
        if table.column(name).kind == NUMBER and name != qcol and written and written != base_unit:
            raise InputError(f"{src.path} line {line}: column {headers[pos]!r} is in {written}, but crmtool reads "
                             f"{table.name}.{name} in {base_unit} (units.base) and converts only order quantities; "
                             f"convert the column to {base_unit} or drop the unit from its header")
    extras: dict[str, int] = {}  # a header written twice (备注, 备注) keeps both columns: 备注, 备注 (2)
    for i, h in enumerate(headers):
        if h and i not in found.values():
            name, k = h, 1
            while name in extras:
                k += 1
                name = f"{h} ({k})"
            extras[name] = i
    scales = {}
    for name, pos in found.items():
        if table.column(name).kind == MONEY:
            scale = split_header_scale(headers[pos])[1]
            if scale and scale != 1:
                scales[name] = scale
    return HeaderMap(idx, found, headers, extras, unit, scales, date1904=src.date1904)


# ---------------------------------------------------------------------------------------------
# the conversion rules: named SQL macros every table uses

PLACEHOLDERS = ("", "-", "--", "—", "/", "#N/A", "N/A", "n/a", "NULL", "null", "\t", "\u3000", "\u00a0")
# the error values a spreadsheet cell can hold (#N/A is among PLACEHOLDERS: "nothing")
EXCEL_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#GETTING_DATA", "#SPILL!", "#CALC!",
                "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!")
TOTAL_WORDS = ("合计", "总计", "小计", "合 计", "总 计", "total", "subtotal", "sum")
# the signature lines an ERP prints under a report (制表人：张三  打印日期：2024年6月1日): a row whose first
# cell is one of these words and a colon is no data, like a total row (no order id starts that way)
FOOTER_PATTERN = r"^\s*(制表|制单|打印|审核|复核|经办|记账|主管|财务|备注|说明|注)[^：:]{0,4}[：:]"


HALF_WIDTH_KINDS = (CODE, NUMBER, MONEY, INT, DATE, MONTH, SCORE, LIST)  # (a list of target customer codes)
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"  # ！ … ～ and the ideographic space
HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
TO_FULL_WIDTH = str.maketrans(HALF_WIDTH[:-1], FULL_WIDTH[:-1])


def _sql_str(text: str) -> str:
    """A SQL string literal of one of our own constants (never user text)."""
    return "'" + text.replace("'", "''") + "'"


def _macros(settings: Settings, today: dt.date) -> dict[str, str]:
    base = unit_id(settings.units.base) or "t"  # validated by config: an id from UNITS, never user text
    bkind, bfactor, _ = UNITS[base]
    date_min = dt.date.fromisoformat(settings.load.date_min)  # validated by config
    date_max = today + dt.timedelta(days=int(settings.load.date_max_days_ahead))
    placeholders = " OR ".join(f"t = {_sql_str(p)}" for p in PLACEHOLDERS)
    dates = ", ".join(_sql_str(f) for f in DATE_FORMATS)
    months = ", ".join(_sql_str(f) for f in MONTH_FORMATS + DATE_FORMATS)
    serial = "regexp_full_match(x, '[0-9]{5}(\\.[0-9]+)?')"
    from_serial = "CAST(DATE '1899-12-30' + CAST(floor(TRY_CAST(x AS DOUBLE)) AS INTEGER) AS DATE)"
    from_serial_1904 = from_serial.replace("1899-12-30", "1904-01-01")
    list_sep = "[,;，；、|\\s]+"
    num = r"([-0-9.,，０-９．－]+)\s*([^-0-9.,，０-９．－\s]+)"
    pats = " ".join(f"WHEN lower({t}) LIKE '{p}' THEN '{cid}'" for t in ("cat", "product")
                    for cid, p in CATEGORY_PATTERNS)
    # (each spelling also in full width, ｔ ｋｇ ｍ３: a unit column is read as written, and a CASE over
    # constants costs nothing where a translate on every 吨 would)
    unit_spellings = _spellings({u: sp for u, (_, _, sp) in UNITS.items()})
    unit_spellings += [(w, uid) for s, uid in unit_spellings if (w := s.translate(TO_FULL_WIDTH)) != s
                       and w not in dict(unit_spellings)]
    unit_whens = " ".join(f"WHEN {_sql_str(spelling)} THEN {_sql_str(uid)}" for spelling, uid in unit_spellings)
    kind_whens = " ".join(f"WHEN {_sql_str(uid)} THEN {_sql_str(kind)}" for uid, (kind, _, _) in UNITS.items())
    factor_whens = " ".join(f"WHEN {_sql_str(uid)} THEN {float(factor)!r}" for uid, (_, factor, _) in UNITS.items())
    category_whens = " ".join(f"WHEN {_sql_str(spelling)} THEN {_sql_str(cid)}"
                              for spelling, cid in _spellings(CATEGORIES))
    return {
        # a cell as text: trimmed; '-', '/', '#N/A' … are how exports write "nothing"
        # spaces around a value go
        # (tabs too, which trim() keeps: an export's trick to keep a code's leading zeros; a code
        # written ="000123", the same trick, is unwrapped by crm_unwrap)
        "crm_unwrap(t)": "CASE WHEN starts_with(t, '=\"') AND ends_with(t, '\"') AND length(t) >= 3 "
                         "THEN trim(t[3:-2]) ELSE t END",
        "crm_trim(x)": "CASE WHEN contains(x, chr(9)) THEN trim(replace(x, chr(9), ' ')) ELSE trim(x) END",
        # full-width ASCII (０１２３, ＡＢＣ, －, ／, the ideographic space) as ASCII, for codes, numbers, dates
        # and units typed with a Chinese input method; translate only where there is one (translate costs
        # 2.5 µs a cell: a unit column of 吨 would pay it on every row)
        "crm_halfwidth(x)": f"CASE WHEN strlen(x) = length(x) THEN x WHEN regexp_matches(x, '[\uFF01-\uFF5E\u3000]') "
                            f"THEN translate(x, {_sql_str(FULL_WIDTH)}, {_sql_str(HALF_WIDTH)}) ELSE x END",
        # (an OR chain, not IN: DuckDB may plan an IN list as a join, which loses the file's row order)
        # (strlen counts bytes and costs nothing; length would count characters)
        # (a CASE whose first branch lets the longer cells through: an AND in a projection tests
        # every comparison on every cell, a CASE only on the cells still undecided — a fifth of the
        # text stage)
        "crm_nothing(t)": f"CASE WHEN strlen(t) > 4 THEN t WHEN {placeholders} THEN NULL ELSE t END",
        "crm_text(x)": "crm_nothing(crm_trim(x))",
        # a cell of a file with NUL or Ctrl-Z bytes (NUL padding, the DOS end-of-file mark 0x1A): the
        # control characters go before the trim, so 'A2\0' is the key A2 and a last line of them is empty
        "crm_trim_ctl(x)": "crm_trim(regexp_replace(x, '[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F]', '', 'g'))",
        # SAP's trailing minus (123.00-) and accounting brackets (12) are negative
        "crm_signed(s)": "CASE WHEN s LIKE '%-' THEN '-' || rtrim(s, '-') "
                         "WHEN s LIKE '(%)' THEN '-' || trim(s, '()') ELSE s END",
        # full-width digits, thousands separators, currency marks (¥ ￥ 元), SAP's trailing minus
        # (123.00-) and accounting brackets
        "crm_clean_number(x)": "crm_signed(replace(replace(replace(replace(replace(replace(replace("
                               "translate(crm_unwrap(x), '０１２３４５６７８９．－（）', '0123456789.-()'), "
                               "',', ''), '，', ''), '¥', ''), '￥', ''), '元', ''), ' ', ''), '\u3000', ''))",
        # (CASE, not coalesce: only the cells that are no plain number pay for the cleaning)
        # a comma not followed by exactly three digits is no thousands separator: 1,5 or 1.000,50 is
        # written with a decimal comma, and dropping it would make 15 or 1.0005
        "crm_bad_grouping(x)": "regexp_matches(replace(x, '，', ','), ',([0-9]{0,2}([^0-9]|$)|[0-9]{4})')",
        "crm_double(x)": "CASE WHEN TRY_CAST(x AS DOUBLE) IS NOT NULL THEN TRY_CAST(x AS DOUBLE) "
                         "WHEN (contains(x, ',') OR contains(x, '，')) AND crm_bad_grouping(x) THEN NULL "
                         "ELSE TRY_CAST(crm_clean_number(x) AS DOUBLE) END",
        "crm_number(x)": f"TRY_CAST(crm_double(x) AS {SQL_TYPES[NUMBER]})",
        "crm_money(x)": "TRY_CAST(crm_double(x) AS DECIMAL(18,2))",
        "crm_money_of(d, scale)": "TRY_CAST(d * scale AS DECIMAL(18,2))",
        "crm_money_scaled(x, scale)": "crm_money_of(crm_double(x), scale)",
        # a whole number only: DuckDB's own cast rounds '2.5' to 3 and '2.4' to 2, so a line number
        # 2.4 would replace line 2 of its order; '2.0' and '1e3' are whole
        "crm_int(x)": "CASE WHEN TRY_CAST(x AS DOUBLE) = floor(TRY_CAST(x AS DOUBLE)) "
                      "THEN TRY_CAST(TRY_CAST(x AS DOUBLE) AS INTEGER) END",
        "crm_score(x)": "TRY_CAST(replace(replace(x, '%', ''), ' ', '') AS DOUBLE)",
        # DuckDB reads 'inf' as the date infinity and '24-02-03' or '12.5.3' as years 24 and 12: no
        # export means those, so they are no dates (9999-12-31, "no end", is one)
        "crm_real_date(d)": "CASE WHEN isfinite(d) AND year(d) >= 1900 THEN d END",
        # dates as exports write them, Excel serial numbers (45292 = 2024-01-01) included
        # (an ISO date first: no text a serial matches parses as a date, and most cells are ISO)
        "crm_date(x)": f"crm_real_date(CASE WHEN TRY_CAST(x AS DATE) IS NOT NULL THEN TRY_CAST(x AS DATE) "
                       f"WHEN {serial} THEN {from_serial} "
                       f"ELSE CAST(try_strptime(x, [{dates}]) AS DATE) END)",
        "crm_month(x)": f"CAST(date_trunc('month', crm_real_date(CASE WHEN {serial} THEN {from_serial} "
                        f"ELSE CAST(try_strptime(x, [{months}]) AS DATE) END)) AS DATE)",
        # a workbook saved with the 1904 date system (Excel for Mac): its serials count from 1904-01-01
        "crm_date_1904(x)": f"crm_real_date(CASE WHEN TRY_CAST(x AS DATE) IS NOT NULL THEN TRY_CAST(x AS DATE) "
                            f"WHEN {serial} THEN {from_serial_1904} "
                            f"ELSE CAST(try_strptime(x, [{dates}]) AS DATE) END)",
        "crm_month_1904(x)": f"CAST(date_trunc('month', crm_real_date(CASE WHEN {serial} THEN {from_serial_1904} "
                             f"ELSE CAST(try_strptime(x, [{months}]) AS DATE) END)) AS DATE)",
        "crm_date_ok(d)": f"d BETWEEN DATE '{date_min.isoformat()}' AND DATE '{date_max.isoformat()}'",
        "crm_list(x)": f"regexp_split_to_array(regexp_replace(x, '^{list_sep}|{list_sep}$', '', 'g'), '{list_sep}')",
        # codes that went through a spreadsheet as numbers: 123.0 -> 123
        "crm_code(x)": "CASE WHEN contains(x, '.') THEN regexp_replace(x, '^([0-9]+)\\.0+$', '\\1') ELSE x END",
        # 2.02401E+11: a long number code a spreadsheet showed (and saved) rounded
        "crm_sci_code(x)": "CASE WHEN contains(x, 'E+') OR contains(x, 'e+') "
                           "THEN regexp_full_match(x, '[0-9]([.][0-9]+)?[eE][+][0-9]+') ELSE false END",
        # an Excel error value or a formula saved without its value (see readers.xlsx_cell_texts; a
        # CSV saved from Excel holds the same texts); ="000123" is a code kept as text, not a formula
        "crm_excel_error(x)": "CASE WHEN starts_with(x, '#') THEN x IN (" + ", ".join(_sql_str(e) for e in EXCEL_ERRORS)
                              + ") WHEN starts_with(x, '=') THEN crm_unwrap(x) = x ELSE false END",
        # coded values: the id for a label or id, else NULL (the caller keeps the text)
        "crm_level(x)": "(SELECT lid FROM lk_level WHERE spelling = lower(x))",
        "crm_ctype(x)": "(SELECT cid FROM lk_ctype WHERE spelling = lower(x))",
        # (a CASE over our own spellings, not a lookup: a subquery per cell is a fifth of a stage)
        "crm_category_id(x)": f"CASE lower(x) {category_whens} ELSE NULL END",
        "crm_category(cat, product)": f"coalesce(crm_category_id(cat), CASE {pats} ELSE NULL END, 'other')",
        # a quantity cell may carry its unit ("12吨", "1,000 升"): the number and the unit apart
        # (a plain number first: the pattern is tried only on the cells that are none)
        "crm_qty_text(x)": f"CASE WHEN TRY_CAST(x AS DOUBLE) IS NOT NULL THEN x WHEN regexp_full_match(x, '{num}') "
                           f"THEN regexp_extract(x, '{num}', 1) ELSE x END",
        "crm_qty_unit(x)": f"CASE WHEN TRY_CAST(x AS DOUBLE) IS NOT NULL THEN NULL WHEN regexp_full_match(x, '{num}') "
                           f"THEN regexp_extract(x, '{num}', 2) END",
        # a quantity in units.base (tons by default) from a quantity in a unit of kind mass or volume
        # with its factor to kg or L; mass <-> volume needs the density (kg/L)
        "crm_base_unit()": f"'{base}'",
        # a unit's id for any of its spellings, and the id's kind (mass, volume) and factor to kg or L
        # (CASEs over our own constants, not a join: a tenth of a stage)
        "crm_unit_id_of(x)": f"CASE lower(x) {unit_whens} ELSE NULL END",
        # (a spelling half in full width, ｋg: read through crm_halfwidth, only where no spelling matched)
        "crm_unit_id(x)": "coalesce(crm_unit_id_of(x), CASE WHEN strlen(x) <> length(x) "
                          "THEN crm_unit_id_of(crm_halfwidth(x)) END)",
        "crm_unit_kind(u)": f"CASE u {kind_whens} ELSE NULL END",
        "crm_unit_factor(u)": f"CASE u {factor_whens} ELSE NULL END",
        # (the product in DECIMAL(38): 10^8 t times a factor 1000 overflows DECIMAL(18) — a 合计 row's
        # total, say — where a conversion that does not fit must be a reject, not an error)
        "crm_tons(qty, kind, factor, density)": (
            f"TRY_CAST(CASE WHEN kind = '{bkind}' THEN CAST(qty AS DECIMAL(38,6)) * factor / {bfactor} "
            f"WHEN kind = 'volume' THEN CAST(qty AS DECIMAL(38,6)) * factor * density / {bfactor} "
            f"WHEN kind = 'mass' THEN CAST(qty AS DECIMAL(38,6)) * factor / density / {bfactor} END "
            f"AS {SQL_TYPES[NUMBER]})"),
    }


def install_macros(con, settings: Settings, today: dt.date | None = None) -> None:
    """Create the conversion macros (and the lookup tables they read) on ``con``."""
    _create_lookups(con, settings)
    for sig, body in _macros(settings, today or dt.date.today()).items():
        con.execute(f"CREATE OR REPLACE TEMP MACRO {sig} AS {body}")


def _spellings(ids: dict[str, tuple]) -> list[tuple[str, str]]:
    """(spelling lower-cased, id) for every id and its spellings (the first id of a spelling wins)."""
    return list({s.lower(): (s.lower(), i) for i, spellings in ids.items() for s in (i, *spellings)}.values())


def _lookup_rows(settings: Settings) -> dict[str, list[tuple]]:
    cats = _spellings(CATEGORIES)
    # keys are any product code or category the user names; matched lower-cased
    dens = list({str(k).strip().lower(): (str(k).strip().lower(), float(v))
                 for k, v in settings.units.density.items()}.values())
    levels = []
    for scheme in TIER_SCHEMES.values():
        for t in scheme:
            levels += [(t.id.lower(), t.id), (t.zh.lower(), t.id), (t.en.lower(), t.id)]
    for t in settings.level.effective_tiers():
        levels += [(t.id.lower(), t.id), (t.zh.lower(), t.id), (t.en.lower(), t.id)]
    # the configured scheme wins over the built-in ones for the same spelling
    levels = list({k: (k, v) for k, v in levels}.values())
    ctypes = _spellings(CUSTOMER_TYPES)
    return {"lk_category": cats, "lk_density": dens, "lk_level": levels, "lk_ctype": ctypes}


_LOOKUP_COLUMNS = {"lk_category": ["spelling", "cid"],
                   "lk_density": ["name", "density"], "lk_level": ["spelling", "lid"], "lk_ctype": ["spelling", "cid"]}
_CODED = {"level": ("lk_level", "lid"), "ctype": ("lk_ctype", "cid"), "category": ("lk_category", "cid")}


def _create_lookups(con, settings: Settings) -> None:
    """The lookup tables, from lists bound as parameters (density keys and tier names come from the
    user's config)."""
    for table, rows in _lookup_rows(settings).items():
        names = _LOOKUP_COLUMNS[table]
        cols = [list(c) for c in zip(*rows)] if rows else [[] for _ in names]
        typed = ", ".join(f"unnest(?::{'DOUBLE' if n in ('factor', 'density') else 'VARCHAR'}[]) AS {n}"
                          for n in names)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {typed}", cols)


# ---------------------------------------------------------------------------------------------
# stage


def _header_row_rid(src: Source, hm: HeaderMap) -> int:
    return src.head_rids[hm.header_index]


def _text_select(src: Source, hm: HeaderMap, table: Table) -> tuple[str, list]:
    """The reader's rows as trimmed text: one column x_<name> per canonical column (NULL when the
    file lacks it), the extras of an archive, __nl (line breaks inside the record, for a file whose
    records span lines) and __skip for rows that are no data: empty, the header repeated mid-file
    (page breaks of a printed export) or a total row (合计/小计). Returns (SELECT, its parameters)."""
    w = src.width
    # each cell trimmed once (t<i>), in a projection under the one that maps and classifies; a typed
    # value (v<i>, Parquet) passes as it is, and its text is computed only where it is read (the first
    # cell of a total row, a repeated header, the value of a reject)
    keep = [q(src.line_column)] if src.line_column else []
    named = [i for i, h in enumerate(hm.headers[:w]) if h]
    last = named[-1] if named else w - 1  # cells right of the last header: trimmed only where read
    trim = "crm_trim_ctl" if src.control else "crm_trim"
    trimmed = keep + [f"v{i}" if i in src.values else f"{trim}(c{i}) AS t{i}" if i <= last else f"c{i}"
                      for i in range(w)]
    if src.multiline:
        nl = " + ".join(f"coalesce(length(c{i}) - length(replace(c{i}, chr(10), '')), 0)" for i in range(w))
        trimmed.append(f"{nl} AS __nl")
    cells_sql = f"SELECT {', '.join(trimmed)} FROM {src.relation}"

    def text(i: int) -> str:
        return f"({src.cell(i)})" if i in src.values else f"t{i}" if i <= last else f"{trim}(c{i})"
    cells = [f"nullif({text(i)}, '')" for i in range(w)]
    # the first non-empty cell: a CASE, not coalesce(cells), which computes every cell's text on every
    # row (a quarter of the stage of a Parquet file, whose numbers and dates are printed to be compared)
    middle = ("CASE " + " ".join(f"WHEN {text(i)} <> '' THEN {text(i)}" for i in range(w)) + " END"
              if w > 1 else cells[0]) + " AS __first"
    first = "__first"
    header = [h or None for h in hm.headers][:w]
    same = [f"{cells[i]} IS NOT DISTINCT FROM ?" for i in range(len(header))]
    # the header repeated: the rest compared only where the first cell is the header's (a CASE, not
    # an AND, which would compare every cell of every row)
    repeat = (same[0] if len(same) == 1 else f"CASE WHEN {same[0]} THEN ({' AND '.join(same[1:])}) ELSE false END"
              ) if same else "false"
    # OR chains, not IN lists: this statement must stay a pure projection of the reader, so that
    # the rows keep the file's order (rowid = position in the file)
    # the first cell folded for the total-row words, once per row in its own projection (the words
    # compared in one expression each fold it again: a quarter of the text's time)
    word = f"CASE WHEN strlen({first}) <= 12 THEN lower(replace(replace({first}, ':', ''), '：', '')) END AS __word"
    total = "(__word IS NOT NULL AND (" + " OR ".join(f"__word = {_sql_str(t)}" for t in TOTAL_WORDS) + "))"
    # (the regular expression only where the first cell has a colon: an AND that filters first)
    total += (f" OR ((contains({first}, '：') OR contains({first}, ':')) AND "
              f"regexp_matches({first}, {_sql_str(FOOTER_PATTERN)}))")
    selects = [q(src.line_column)] if src.line_column else []
    for c in table.columns:
        pos = hm.columns.get(c.name)
        selects.append(f"crm_nothing({text(pos)}) AS {q('x_' + c.name)}" if pos is not None and pos < w
                       else f"CAST(NULL AS VARCHAR) AS {q('x_' + c.name)}")
    for name in value_columns(src, hm, table):
        selects.append(f"v{hm.columns[name]} AS {q('__v_' + name)}")
    if table.keep_extra:
        for j, pos in enumerate(hm.extras.values()):
            selects.append(f"crm_nothing({text(pos)}) AS {q(f'__extra_{j}')}" if pos < w
                           else f"CAST(NULL AS VARCHAR) AS {q(f'__extra_{j}')}")
    if src.multiline:
        selects.append("__nl")
    # a CSV record with a cell right of the header's last column: its cells are shifted (a comma in
    # an unquoted number), so the row is a reject, not read with its cells in the wrong columns
    # (the reader has one column more than the widest record it sampled, see readers.read_csv)
    beyond = [f"nullif({text(i)}, '')" for i in range(last + 1, w)] if not src.line_column else []
    selects.append((f"coalesce({', '.join(beyond)})" if len(beyond) > 1 else beyond[0]) + " AS __beyond" if beyond
                   else "CAST(NULL AS VARCHAR) AS __beyond")
    selects.append(f"({first} IS NULL OR ({repeat}) OR {total}) AS __skip")
    # parameters bind in the order of the statement text: the header cells (outer SELECT list), then
    # the relation's (the path, in FROM)
    params = list(header) + list(src.params)
    text = (f"SELECT {', '.join(selects)} "
            f"FROM (SELECT *, {word} FROM (SELECT *, {middle} FROM ({cells_sql})))")
    return text, params


# the kinds a typed value (see readers.VALUE_CLASSES) converts to directly, by value class
_VALUE_KINDS = {NUMBER: ("float", "int", "decimal"), MONEY: ("float", "int", "decimal"), INT: ("int", "float"),
                DATE: ("date", "timestamp")}


def value_columns(src: Source, hm: HeaderMap, table: Table) -> dict[str, str]:
    """The canonical columns read from a typed value (a Parquet number or date) rather than from
    text: name -> value class. Their text (x_<name>) stays in the body rows for rejects."""
    out = {}
    for c in table.columns:
        pos = hm.columns.get(c.name)
        cls = src.values.get(pos) if pos is not None else None
        if cls and not c.convert and not c.coded and cls in _VALUE_KINDS.get(c.kind, ()):
            out[c.name] = cls
    return out


def _typed_select(table: Table, hm: HeaderMap, text: str,
                  values: dict[str, str]) -> tuple[str, list[tuple[str, str, str, str]]]:
    """Over the text rows: the typed columns, and __bad (some row check failed); each layer computes
    what the next reads once. The density lookup is a join, so the rows come out in no particular order.
    ``values``: the columns given as typed values (see value_columns). Returns (SELECT, the row checks)."""
    qty = table.quantity_unit[0] if table.quantity_unit else None
    unit = table.quantity_unit[1] if table.quantity_unit else None
    typed = [f"{_typed(c, hm, values.get(c.name))} AS {q(c.name)}" for c in table.columns if c.name not in (qty, unit)]
    # the cells read as codes, numbers or dates: full-width ASCII as ASCII, once per cell in a layer of
    # its own (inside the macros each would compute it again for every use of its argument); units know
    # their full-width spellings (crm_unit_id)
    half = [c.name for c in table.columns if c.name in hm.columns and c.name not in values and not c.convert
            and c.kind in HALF_WIDTH_KINDS]
    if half:
        cells = ", ".join(f"crm_halfwidth({q('x_' + n)}) AS {q('x_' + n)}" for n in half)
        text = f"SELECT * REPLACE ({cells}) FROM ({text})"
    sql = f"SELECT *, {', '.join(typed)} FROM ({text})"
    if table.quantity_unit:
        dflt = f"'{hm.default_unit}'" if hm.default_unit else "NULL"  # a unit id from UNITS
        qx, ux = q("x_" + qty), q("x_" + unit)
        if qty in values:  # a number has no unit written into it
            raw, in_cell = _typed(next(c for c in table.columns if c.name == qty), hm, values[qty]), ""
        else:  # a plain number, or a number with its unit (12吨): the cell is read as a number once;
            # the unit column wins over the cell's unit, and a conflict is a reject
            sql = (f"SELECT *, CASE WHEN __qnum IS NULL THEN crm_qty_unit({qx}) END AS __cell_unit "
                   f"FROM (SELECT *, TRY_CAST({qx} AS DOUBLE) AS __qnum FROM ({sql}))")
            raw = (f"CASE WHEN __qnum IS NOT NULL THEN TRY_CAST(__qnum AS {SQL_TYPES[NUMBER]}) "
                   f"ELSE crm_number(crm_qty_text({qx})) END")
            in_cell = "__cell_unit, "
        inner = (f"SELECT *, {raw} AS quantity_raw, "
                 f"coalesce({ux}, {in_cell}{dflt}, crm_base_unit()) AS unit_raw FROM ({sql})")
        # the density of the first key that has one: product code, category as written, category id
        dens = " ".join(f"LEFT JOIN lk_density d{i} ON d{i}.name = {k}" for i, k in enumerate(table.density_by))
        density = f"coalesce({', '.join(f'd{i}.density' for i in range(len(table.density_by)))}, NULL)"
        sql = (f"SELECT i.*, i.__uid AS {q(unit)}, crm_tons(i.quantity_raw, crm_unit_kind(i.__uid), "
               f"crm_unit_factor(i.__uid), {density}) AS {q(qty)} "
               f"FROM (SELECT *, crm_unit_id(unit_raw) AS __uid FROM ({inner})) i {dens}")
    checks = _row_checks(table, hm, values)
    bad = " OR ".join(f"coalesce({cond}, false)" for _, _, _, cond in checks) or "false"
    return f"SELECT *, ({bad}) AS __bad FROM ({sql})", checks


@dataclass
class _Body:
    """The rows of a file below its header as text, each with its position in the file (__rid), line
    (__line) and __skip (no data, see _text_select): a SELECT and its parameters."""

    sql: str
    params: list
    values: dict[str, str] = field(default_factory=dict)  # columns also given as typed values __v_<name>


def _stage(con, src: Source, hm: HeaderMap, table: Table) -> tuple[list[tuple[str, str, str, str]], _Body]:
    """stg: the typed columns of the body rows and __bad. Returns the row checks and the body rows.

    A source that gives each row's line (Parquet, a sheet) needs no order: its text rows go straight
    into stg, and are read again only for the cells of rejected rows. A CSV's rows are numbered by
    their position, so they are first written in file order as text (stg_text, see _text_select),
    with the view stg_src over it."""
    import duckdb

    text, params = _text_select(src, hm, table)
    values = value_columns(src, hm, table)
    if src.line_column:
        lc, header_line = q(src.line_column), int(src.head_lines[hm.header_index])
        body = _Body(f"SELECT {lc} AS __line, {lc} AS __rid, * FROM ({text}) WHERE {lc} > {header_line}", params,
                     values)
        if src.register:  # a stream (a sheet read row by row) can be read once: its text rows are kept
            with _unordered(con):
                con.execute(f"CREATE OR REPLACE TEMP TABLE stg_text AS {body.sql}", body.params)
            body = _Body("SELECT * FROM stg_text", [], values)
        return _typed_stage(con, table, hm, body), body
    # materialized in file order (a CSV's line numbers come from the positions), as text only: an
    # ordered write costs with every column it carries
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE stg_text AS {text}", params)
    except duckdb.Error as exc:
        if src.relation.startswith("read_csv"):
            from crmtool.io.readers import csv_error

            raise csv_error(src.path, exc) from None
        raise
    hdr = _header_row_rid(src, hm)
    # a row's index in the file: rowids are consecutive in insertion order, from an offset that
    # differs inside a transaction
    first = con.execute("SELECT coalesce(min(rowid), 0) FROM stg_text").fetchall()[0][0]
    rid = f"(rowid - {int(first)})"
    _check_order(con, src, hm, int(first))
    # CSV: line = index + 1 + line breaks inside earlier records + empty lines before (see readers)
    nl = ("+ coalesce(sum(__nl) OVER (ORDER BY rowid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)"
          if src.multiline else "")
    inner = f"SELECT {rid} AS __rid, {rid} + {int(src.line_offset)} {nl} AS __s, * FROM stg_text"
    if src.blank_keys:
        con.execute("CREATE OR REPLACE TEMP TABLE stg_blanks (a BIGINT, cnt BIGINT)")
        con.executemany("INSERT INTO stg_blanks VALUES (?, ?)", [list(k) for k in src.blank_keys])
        con.execute(f"CREATE OR REPLACE TEMP VIEW stg_src AS SELECT s.__s + coalesce(b.cnt, 0) AS __line, s.* "
                    f"FROM ({inner}) s ASOF LEFT JOIN stg_blanks b ON s.__s > b.a WHERE s.__rid > {int(hdr)}")
    else:
        con.execute(f"CREATE OR REPLACE TEMP VIEW stg_src AS SELECT __s AS __line, * FROM ({inner}) WHERE __rid > {int(hdr)}")
    body = _Body("SELECT * FROM stg_src", [], values)
    return _typed_stage(con, table, hm, body), body


def _typed_stage(con, table: Table, hm: HeaderMap, body: _Body) -> list[tuple[str, str, str, str]]:
    """stg: the typed columns and __bad of the body rows that are data (not __skip), in no order.
    Returns the row checks."""
    typed, checks = _typed_select(table, hm, body.sql, body.values)
    names = [c.name for c in table.columns] + (["quantity_raw", "unit_raw"] if table.quantity_unit else [])
    if table.quantity_unit and table.quantity_unit[0] not in body.values:
        names.append("__cell_unit")  # the unit written in a quantity cell, for the conflict's reject
    kept = ", ".join(q(n) for n in names)
    with _unordered(con):  # every row carries its position and line from here on
        con.execute(f"CREATE OR REPLACE TEMP TABLE stg AS SELECT __rid, __line, {kept}, __bad, __skip FROM ({typed})",
                    body.params)
    # the rows that are no data go afterwards: DuckDB pushes a filter on __skip down into the reader's
    # projections, where it computes the cells again (three times the cost of the stage of a Parquet file)
    con.execute("DELETE FROM stg WHERE __skip")
    return checks


def _check_order(con, src: Source, hm: HeaderMap, first: int) -> None:
    """The first staged rows must be the first rows of the file (read apart as the head): a plan
    that lost the file's order would give every reject a wrong line number."""
    name, pos = next(iter(hm.columns.items()))
    n = min(len(src.head), HEAD_ROWS_CHECKED)
    want = [r[pos] if pos < len(r) else None for r in src.head[:n]]
    rows = con.execute(f"SELECT rowid - ? AS i, {q('x_' + name)} FROM stg_text WHERE rowid < ? + ? ORDER BY rowid",
                       [first, first, n]).fetchall()
    # (one crm_text over a list, not one per value: each expansion of the macro costs a bind)
    expected = [r[0] for r in con.execute(
        "SELECT crm_text(list_extract(l, CAST(i AS INTEGER))) FROM (SELECT CAST(? AS VARCHAR[]) AS l), "
        "range(1, ? + 1) t(i) ORDER BY i", [want, len(want)]).fetchall()] if want else []
    if [r[1] for r in rows] != expected:
        raise CrmtoolError(f"{src.path}: the staged rows are not in file order, so line numbers would be wrong; "
                           "this is a bug in crmtool — please report it")


HEAD_ROWS_CHECKED = 12


def _typed(c: Column, hm: HeaderMap, value: str | None = None) -> str:
    """SQL turning x_<name> into the column's type (NULL where it cannot); with ``value`` (its value
    class, see value_columns), turning the typed value __v_<name> into it: the same result as its
    text would give, without printing and parsing it again."""
    x = q("x_" + c.name)
    if value:
        v = q("__v_" + c.name)
        if c.kind == DATE:
            return f"crm_real_date({v if value == 'date' else f'CAST({v} AS DATE)'})"
        if c.kind == INT:
            return f"TRY_CAST({v} AS INTEGER)" if value == "int" else \
                f"CASE WHEN {v} = floor({v}) THEN TRY_CAST({v} AS INTEGER) END"
        if c.kind == MONEY and c.name in hm.scales:
            return f"crm_money_of(CAST({v} AS DOUBLE), {int(hm.scales[c.name])})"
        return f"TRY_CAST({v} AS {SQL_TYPES[c.kind]})"
    if c.convert:
        return c.convert
    if c.kind == LIST:
        if c.coded:
            lk, col = _CODED[c.coded]
            return (f"(SELECT list(coalesce(l.{col}, e.v) ORDER BY coalesce(l.{col}, e.v)) "
                    f"FROM (SELECT unnest(crm_list({x})) AS v) e LEFT JOIN {lk} l ON l.spelling = lower(e.v))")
        return f"crm_list({x})"
    if c.coded:
        return f"coalesce(crm_{'category_id' if c.coded == 'category' else c.coded}({x}), {x})"
    if c.kind == MONEY and c.name in hm.scales:
        return f"crm_money_scaled({x}, {int(hm.scales[c.name])})"
    fn = {NUMBER: "crm_number", MONEY: "crm_money", INT: "crm_int", DATE: "crm_date", MONTH: "crm_month",
          SCORE: "crm_score", CODE: "crm_code"}.get(c.kind)
    if hm.date1904 and c.kind in (DATE, MONTH):
        fn += "_1904"
    if c.kind == CODE:  # a code written ="000123" (a spreadsheet's way to keep leading zeros) is 000123
        return f"crm_code(crm_unwrap({x}))"
    return f"{fn}({x})" if fn else x


_REASON_OF_KIND = {NUMBER: "number", MONEY: "number", INT: "int", DATE: "date", MONTH: "month", SCORE: "score"}


def _row_checks(table: Table, hm: HeaderMap, values: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(field, value SQL, reason key, condition SQL) over the typed stage, in column order. A column
    given as a typed value is tested on it (its text is empty exactly when the value is NULL)."""
    checks = []
    present = set(hm.columns)
    qty = table.quantity_unit[0] if table.quantity_unit else None
    for c in table.columns:
        x, t = q("x_" + c.name), q(c.name)
        given = q("__v_" + c.name) if c.name in values else x
        if c.required:
            checks.append((c.name, "NULL", "missing", f"{given} IS NULL"))
        if c.name not in present:
            continue
        if c.kind in _REASON_OF_KIND:
            tv = "quantity_raw" if c.name == qty else t
            checks.append((c.name, x, _REASON_OF_KIND[c.kind], f"{given} IS NOT NULL AND {tv} IS NULL"))
        if c.kind == SCORE:
            checks.append((c.name, x, "score", f"{t} NOT BETWEEN 0 AND 100"))
        if c.kind == CODE:
            checks.append((c.name, x, "sci_code", f"crm_sci_code({x})"))
            checks.append((c.name, x, "excel", f"crm_excel_error({x})"))
        if c.event and c.kind == DATE:
            checks.append((c.name, x, "date_range", f"NOT crm_date_ok({t})"))
    if table.quantity_unit:
        _, ucol = table.quantity_unit
        checks.append((ucol, "unit_raw", "unit", f"{q(ucol)} IS NULL"))
        if qty in present and qty not in values and ucol in present:  # 12吨 beside a unit column saying kg
            qx, ux = q("x_" + qty), q("x_" + ucol)
            checks.append((ucol, f"{qx} || ' / ' || {ux}", "unit_conflict",
                           f"{ux} IS NOT NULL AND __cell_unit IS NOT NULL AND "
                           f"crm_unit_id({ux}) IS DISTINCT FROM crm_unit_id(__cell_unit)"))
        # a known unit and a number that still has no quantity: mass <-> volume without a density
        # (the value: the unit and the product and category as the file writes them, 升 / 润滑油, not the
        # category id 'other' that has no density)
        names = [c.name for c in table.columns if f"x_{c.name}" in " ".join(table.density_by)]
        shown = "unit_raw || ' / ' || " + " || ".join(
            [f"coalesce({q('x_' + n)} || ' / ', '')" for n in names[:-1]]
            + [f"coalesce({q('x_' + names[-1])}, CAST({q(names[-1])} AS VARCHAR), '—')"]) if names else "unit_raw"
        checks.append((ucol, shown, "density",
                       f"{q(ucol)} IS NOT NULL AND quantity_raw IS NOT NULL AND {q(qty)} IS NULL"))
    for chk in table.checks:
        checks.append((chk.field, chk.value, chk.reason, chk.when))
    checks.append(("(beyond the header)", "__beyond", "wide", "__beyond IS NOT NULL"))
    return checks


def _set_checks(con, table: Table) -> bool:
    """stg_setrej: rows that pass every row check but not a check over the set: a validity window
    that overlaps another window of the same code, in the file or stored (a stored window this file
    replaces does not count). Returns whether the table has such checks."""
    if not table.windows:
        return False
    code, vf, vt = (q(n) for n in table.windows)
    tname = q(table.name)
    lo, hi = "DATE '0001-01-01'", "DATE '9999-12-31'"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE stg_setrej AS
        WITH file_rows AS (
            SELECT __line, {code}, {vf}, {vt}, CAST({vf} AS VARCHAR) AS x_from, CAST({vt} AS VARCHAR) AS x_to
            FROM stg WHERE NOT __bad
            QUALIFY row_number() OVER (PARTITION BY {code}, {vf} ORDER BY __line DESC) = 1),
        kept AS (
            SELECT {code}, {vf}, {vt} FROM {tname} e
            WHERE NOT EXISTS (SELECT 1 FROM file_rows f WHERE f.{code} = e.{code}
                              AND f.{vf} IS NOT DISTINCT FROM e.{vf})),
        windows AS (SELECT {code}, {vf}, {vt} FROM file_rows UNION ALL SELECT * FROM kept)
        SELECT DISTINCT f.__line, coalesce(f.x_from, '') || '..' || coalesce(f.x_to, '') AS value
        FROM file_rows f JOIN windows o
          ON o.{code} = f.{code} AND o.{vf} IS DISTINCT FROM f.{vf}
         AND coalesce(o.{vf}, {lo}) <= coalesce(f.{vt}, {hi})
         AND coalesce(f.{vf}, {lo}) <= coalesce(o.{vt}, {hi})
    """)
    return True


def _good(con, table: Table, hm: HeaderMap, has_set: bool) -> tuple[str, list[tuple[str, list[int]]]]:
    """Good rows, one per key (the last line of the file wins), in canonical column order; returns
    the relation's name and the first keys the file repeats, each with its lines. The windows that
    number lines and drop superseded duplicates run only when the rows need them: a plain view over
    stg otherwise."""
    names = [c.name for c in table.columns]
    fills = dict(table.fills)
    exprs = {n: (f"coalesce({q(n)}, {fills[n]})" if n in fills else q(n)) for n in names}
    for n, e in table.derived_sql:
        exprs[n] = e
    where = "NOT __bad" + (" AND __line NOT IN (SELECT __line FROM stg_setrej)" if has_set else "")
    src = f"SELECT * FROM stg WHERE {where}"
    key = ", ".join(q(k) for k in table.key)
    nk = table.numbered_key
    number = nk is not None and (nk not in hm.columns or con.execute(
        f"SELECT count(*) FROM ({src}) WHERE {q(nk)} IS NULL").fetchall()[0][0] > 0)
    if nk is not None and not number:
        src = f"SELECT *, false AS __numbered FROM ({src})"
    if number:
        # lines without a number are numbered in file order within their order
        others = ", ".join(q(k) for k in table.key if k != nk)
        # (after the largest number the file gives the order, so a blank never takes line 1's place)
        src = (f"SELECT * REPLACE (coalesce({q(nk)}, CAST(coalesce(max({q(nk)}) OVER (PARTITION BY {others}), 0) + "
               f"row_number() OVER (PARTITION BY {others}, {q(nk)} IS NULL ORDER BY __line) AS INTEGER)) AS {q(nk)}), "
               f"{q(nk)} IS NULL AS __numbered FROM ({src})")
    cols = ", ".join(f"{e} AS {q(n)}" for n, e in exprs.items())
    sql = f"SELECT __line, {cols} FROM ({src})"
    # numbers given to every line of a file are unique by construction; otherwise look for repeats
    dedupe = not (number and nk not in hm.columns) and bool(con.execute(
        f"SELECT 1 FROM ({sql}) GROUP BY {key} HAVING count(*) > 1 LIMIT 1").fetchall())
    repeats: list[tuple[str, list[int]]] = []
    if dedupe:
        shown = " || ' / ' || ".join(f"coalesce(CAST({q(k)} AS VARCHAR), '')" for k in table.key)
        repeats = [(k, list(lines)) for k, lines in con.execute(
            f"SELECT {shown}, list(__line ORDER BY __line) FROM ({sql}) GROUP BY {key} HAVING count(*) > 1 "
            "ORDER BY min(__line) LIMIT 3").fetchall()]
        sql += f" QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY __line DESC) = 1"
    if number or dedupe or table.keep_extra:
        con.execute(f"CREATE OR REPLACE TEMP TABLE stg_good AS {sql}")
        return "stg_good", repeats
    con.execute(f"CREATE OR REPLACE TEMP VIEW stg_good_v AS {sql}")
    return "stg_good_v", repeats


# ---------------------------------------------------------------------------------------------
# one file: read -> stage -> check -> upsert -> record


def _read(con, table: Table, path: Path, sheet: str | None, settings: Settings,
          prepared: Prepared | None = None) -> tuple[Source, HeaderMap]:
    src = open_source(path, con, sheet, prepared)
    user = settings.columns.get(table.name, {})
    base = unit_id(settings.units.base) or "t"
    try:
        return src, map_headers(src, table, user, base)
    except InputError:
        src.close()
        # a workbook whose first sheet is a cover (说明) or a pivot: take the first sheet that fits
        if sheet is not None or path.suffix.lower() not in (".xlsx", ".xlsm"):
            raise
        for name in xlsx_sheet_names(path)[1:]:
            other = open_source(path, con, name)
            try:
                return other, map_headers(other, table, user, base)
            except InputError:
                other.close()
        raise


def _upsert(con, table: Table, hm: HeaderMap, batch_id: int, good: str, body: _Body) -> tuple[int, int]:
    """Replace the stored rows with the keys of ``good`` by its rows; (stored rows replaced, inserted)."""
    tname = q(table.name)
    key = [k for k in table.key if not (k == table.numbered_key and k not in hm.columns)]
    # an orders export without line numbers carries whole orders: it replaces every stored line of them
    key_match = " AND ".join(f"g.{q(k)} IS NOT DISTINCT FROM {tname}.{q(k)}" for k in key)
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
    replaced = _delete_keys(con, tname, key, key_match, good)
    nk = table.numbered_key
    if nk is not None and nk in hm.columns and con.execute(
            f"SELECT EXISTS (SELECT 1 FROM {tname} WHERE line_numbered)").fetchall()[0][0]:
        # an export with its own line numbers replaces the lines crmtool numbered in an earlier export
        # of the same orders (SAP items 10, 20 against lines 1, 2: both would count)
        others = [k for k in table.key if k != nk]
        match = " AND ".join(f"g.{q(k)} IS NOT DISTINCT FROM {tname}.{q(k)}" for k in others)
        replaced += _delete_keys(con, tname, others, f"{match} AND {tname}.line_numbered", good)
    names = [c.name for c in table.columns] + [n for n, _ in table.derived]
    cols = ", ".join(q(n) for n in names)
    with _unordered(con):  # each row carries its line; their order in the table means nothing
        inserted = con.execute(f"INSERT INTO {tname} ({cols}, batch_id, source_line) SELECT {cols}, ?, __line "
                               f"FROM {good}", [batch_id]).fetchall()[0][0]
    if table.keep_extra and hm.extras:
        con.execute("DELETE FROM customers_extra WHERE customer_id IN (SELECT customer_id FROM stg_good)")
        for j, header in enumerate(hm.extras):
            con.execute(f"INSERT INTO customers_extra SELECT g.customer_id, ?, s.{q(f'__extra_{j}')}, ? "
                        f"FROM {good} g JOIN ({body.sql}) s USING (__line) WHERE s.{q(f'__extra_{j}')} IS NOT NULL",
                        [header, batch_id, *body.params])
    return int(replaced), int(inserted)


def _changed_months(con, table: Table, hm: HeaderMap, good: str) -> list[dt.date]:
    """Orders: the months whose lines the file changes — lines new to the store, or lines replacing
    stored ones with another count, quantity or amount in that month (a correction of August). The
    lines an overlapping export repeats unchanged change nothing. Read before the upsert."""
    if table.name != "orders":
        return []
    tname = q(table.name)
    key = [k for k in table.key if not (k == table.numbered_key and k not in hm.columns)]
    key_match = " AND ".join(f"g.{q(k)} IS NOT DISTINCT FROM {tname}.{q(k)}" for k in key)
    k = q(key[0])
    lo, hi = con.execute(f"SELECT min({k}), max({k}) FROM {good}").fetchall()[0]
    if lo is None:
        return []
    month = "CAST(date_trunc('month', order_date) AS DATE)"
    sums = "count(*) AS n, sum(quantity) AS qty, sum(amount) AS amount, min(order_date) AS first"
    # per changed month its first date of a line (old or new): a result as of an earlier day of the
    # month did not read the change (a weekly load after a mid-month analysis)
    rows = con.execute(f"""
        WITH before AS (SELECT {month} AS m, {sums} FROM {tname}
                        WHERE {k} BETWEEN ? AND ? AND EXISTS (SELECT 1 FROM {good} g WHERE {key_match}) GROUP BY 1),
             after AS (SELECT {month} AS m, {sums} FROM {good} GROUP BY 1)
        SELECT least(coalesce(a.first, b.first), coalesce(b.first, a.first)) FROM after a FULL OUTER JOIN before b ON a.m = b.m
        WHERE a.n IS DISTINCT FROM b.n OR a.qty IS DISTINCT FROM b.qty OR a.amount IS DISTINCT FROM b.amount
        ORDER BY 1""", [lo, hi]).fetchall()
    return [r[0] for r in rows if r[0] is not None]


def stale_results(con, changed: Sequence[dt.date], redone: dt.date | None = None) -> list[tuple[str, str, dt.date]]:
    """The stored results (analysis, period, as-of) with an as-of on or after the first changed order
    date (``changed``: per changed month its first date, see _changed_months), which the load made
    stale; those with an as-of inside the month ``redone`` are left out (the caller computes them again)."""
    if not changed:
        return []
    sql = "SELECT analysis, period, as_of FROM snapshots WHERE as_of >= ?"
    params: list = [min(changed)]
    if redone is not None:
        sql += " AND NOT (as_of BETWEEN ? AND last_day(CAST(? AS DATE)))"
        params += [redone.replace(day=1), redone]
    return con.execute(sql + " ORDER BY as_of, analysis", params).fetchall()


def stale_note(months: Sequence[dt.date], stale: list[tuple[str, str, dt.date]]) -> str:
    """What a load that changed months with stored results says: which, and the run that redoes them."""
    last = max(a for _, _, a in stale)
    changed = sorted({m.replace(day=1) for m in months if m <= last})
    shown = ", ".join(f"{a} {p}" for a, p, _ in stale[:4]) + (" …" if len(stale) > 4 else "")
    redo = sorted({a.replace(day=1) for _, _, a in stale})
    months_text = (", ".join(f"{m:%Y-%m}" for m in redo) if len(redo) <= 4
                   else f"{redo[0]:%Y-%m}, {redo[1]:%Y-%m} … {redo[-1]:%Y-%m} ({len(redo)} months)")
    return (f"this load changed the orders of {', '.join(f'{m:%Y-%m}' for m in changed)}, and {len(stale)} stored "
            f"result(s) were computed from them before ({shown}): run them again (`crmtool run monthly --month M` "
            f"for {months_text}) so that reports, the customer page and the level history show the corrected figures")


def _unordered(con):
    """Let DuckDB write rows in whatever order its threads finish them (half the time of an insert
    that keeps the source's order), for one block."""
    return temporarily(con, "preserve_insertion_order", False)


def _delete_keys(con, tname: str, key: list[str], key_match: str, good: str) -> int:
    """Delete the stored rows whose keys the file brings again; returns how many. The stored rows are
    only scanned where the first key column falls inside the file's range of it (row-group statistics
    skip the rest: an export of one month touches the rows of that month's order numbers), and not at
    all while the table is empty (the first load)."""
    if not con.execute(f"SELECT EXISTS (SELECT 1 FROM {tname})").fetchall()[0][0]:
        return 0
    k = q(key[0])
    lo, hi, nulls = con.execute(f"SELECT min({k}), max({k}), count(*) FILTER (WHERE {k} IS NULL) FROM {good}"
                                ).fetchall()[0]
    if lo is None and not nulls:
        return 0
    where = f"{k} BETWEEN ? AND ? AND " if not nulls else ""
    params = [lo, hi] if not nulls else []
    return con.execute(f"DELETE FROM {tname} WHERE {where}EXISTS (SELECT 1 FROM {good} g WHERE {key_match})",
                       params).fetchall()[0][0]


def same_file_sql(column: str, *, sheets: bool = False) -> str:
    """SQL that is true where ``column`` (a stored file, see :func:`stored_path`) is the file bound as
    (absolute path, file name): that path, or a file of that name in another folder; with ``sheets``,
    any sheet of it too (path#sheet). Binds two parameters, four with ``sheets``: (path, name) twice."""
    name = "'[^/\\\\]+$'"
    sql = f"{column} = ? OR regexp_extract({column}, {name}) = ?"
    if sheets:
        base = f"regexp_replace({column}, '#[^#/\\\\]*$', '')"
        sql += f" OR {base} = ? OR regexp_extract({base}, {name}) = ?"
    return sql


def stored_path(path: Path, sheet: str | None = None) -> str:
    """The file as batches and rejects record it: its absolute path (a load of a file with the same
    name replaces its rejects, see _record_rejects); one sheet of several as path#sheet."""
    return str(Path(path).resolve()) + (f"#{sheet}" if sheet is not None else "")


def _record_rejects(con, table: Table, path: Path, batch_id: int, checks, has_bad: bool, has_set: bool,
                    header_of: dict[str, str], body: _Body, part: str | None = None) -> None:
    """The file's rejects replace those an earlier load of the same file into this table recorded.
    ``has_bad``: some row failed a row check (their cells are looked up only then)."""
    # SPEC §1: the rejects an earlier load of a file with the same name recorded (a corrected export
    # delivered again into another folder replaces them; the stored path is absolute)
    # (a sheet replaces its own rejects and those recorded for the whole workbook; the whole workbook, or a
    # file, replaces those of every sheet of it: the naming of sheets changes when a workbook gains or
    # loses sheets, and did between crmtool versions)
    plain = stored_path(path)
    if part is None:
        where, args = same_file_sql("file", sheets=True), [plain, Path(plain).name] * 2
    else:
        sheet = stored_path(path, part)
        where = f"{same_file_sql('file')} OR {same_file_sql('file')}"
        args = [sheet, Path(sheet).name, plain, Path(plain).name]
    con.execute(f"DELETE FROM rejects WHERE table_name = ? AND ({where})", [table.name, *args])
    parts = []
    if has_bad:
        xs = ", ".join([q("x_" + c.name) for c in table.columns] + [q("__v_" + n) for n in body.values] + ["__beyond"])
        con.execute(f"CREATE OR REPLACE TEMP TABLE stg_bad AS SELECT b.*, {xs} FROM (SELECT * FROM stg WHERE __bad) b "
                    f"JOIN ({body.sql}) x USING (__rid)", body.params)
        parts = [f"SELECT __line, {_sql_str(f)} AS field, CAST({v} AS VARCHAR) AS value, "
                 f"{_sql_str(REASONS[r])} AS reason FROM stg_bad WHERE coalesce({cond}, false)"
                 for f, v, r, cond in checks]
    if has_set:
        w = table.windows[1]
        parts.append(f"SELECT __line, {_sql_str(w)} AS field, value, {_sql_str(REASONS['overlap'])} AS reason "
                     "FROM stg_setrej")
    if not parts:
        return
    con.execute(
        "INSERT INTO rejects (batch_id, file, line, column_name, field, value, reason, table_name) "
        f"SELECT ?, ?, r.__line, coalesce(h.header, r.field), r.field, r.value, r.reason, ? FROM ({' UNION ALL '.join(parts)}) r "
        "LEFT JOIN (SELECT unnest(?::VARCHAR[]) AS field, unnest(?::VARCHAR[]) AS header) h ON h.field = r.field",
        [batch_id, stored_path(path, part), table.name, list(header_of.keys()), list(header_of.values())])


_STAGE_OBJECTS = (("VIEW", "stg_good_v"), ("VIEW", "stg_src"), ("TABLE", "stg_text"), ("TABLE", "stg"), ("TABLE", "stg_good"),
                  ("TABLE", "stg_bad"), ("TABLE", "stg_setrej"), ("TABLE", "stg_blanks"))


def _load_one(store: Store, table: Table, path: Path, sheet: str | None, settings: Settings,
              progress: Progress | None, step: int, total: int, prepared: Prepared | None = None,
              part: str | None = None, track_changes: bool = True) -> FileResult:
    """``part``: the sheet, when it is one of several of the workbook loaded (recorded as path#sheet);
    ``track_changes``: find the months whose orders the file changes (see _changed_months)."""
    con = store.con
    if progress:
        progress(f"reading {path.name}", step, total)
    src, hm = _read(con, table, path, sheet, settings, prepared)
    if part is None and src.encoding.startswith("xlsx:") and \
            len(xlsx_sheet_names(path)) + len(xlsx_sheet_names(path, hidden=True)) > 1:
        # one sheet of a workbook with several: recorded as path#sheet whichever way it was chosen
        # (--sheet, or the one sheet that fits), so a later load of that sheet replaces its rejects
        part = src.encoding[len("xlsx:"):]
    try:
        if src.register:
            src.register(con)
        if progress:
            progress(f"checking {path.name}", step, total)
        checks, body = _stage(con, src, hm, table)
        has_set = _set_checks(con, table)
        good, repeats = _good(con, table, hm, has_set)
        rows_read, rejected, n_good = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE __bad), count(*) FILTER (WHERE NOT __bad) FROM stg").fetchall()[0]
        failed_row_checks = rejected > 0
        if has_set:
            extra = con.execute("SELECT count(DISTINCT __line) FROM stg_setrej").fetchall()[0][0]
            rejected, n_good = rejected + extra, n_good - extra
        if progress:
            progress(f"writing {path.name}", step, total)
        batch_id = con.execute("SELECT nextval('batch_seq')").fetchall()[0][0]
        changed = _changed_months(con, table, hm, good) if track_changes else []
        replaced, accepted = _upsert(con, table, hm, batch_id, good, body)
        superseded = n_good - accepted  # in-file duplicates of a key: the last line won
        header_of = {name: hm.headers[pos] for name, pos in hm.columns.items()}
        if table.quantity_unit:
            # no unit column: the unit came from the quantity's header (数量(升)), the column to name
            header_of.setdefault(table.quantity_unit[1], header_of.get(table.quantity_unit[0], table.quantity_unit[1]))
        _record_rejects(con, table, path, batch_id, checks, failed_row_checks, has_set, header_of, body, part)
        con.execute("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
                    [batch_id, stored_path(path, part), src.sha256, table.name, rows_read, accepted, rejected,
                     replaced + superseded])
        sample = con.execute(
            "SELECT line, column_name, value, reason FROM rejects WHERE batch_id = ? ORDER BY line, column_name "
            "LIMIT 20", [batch_id]).fetchall()
        for kind, name in _STAGE_OBJECTS:
            con.execute(f"DROP {kind} IF EXISTS {name}")
    finally:
        # after a failure the transaction is rolled back by the caller, and its temp tables with it
        if src.register:
            try:
                con.unregister(src.relation)
            except Exception:  # noqa: BLE001 - an aborted transaction refuses even this; the error that aborted it matters
                pass
        src.close()
    return FileResult(str(path) + (f" [{part}]" if part is not None else ""), table.name, src.sha256, src.encoding,
                      rows_read, accepted, rejected, replaced + superseded, batch_id, src.head_lines[hm.header_index],
                      header_of, list(hm.extras), sample, part, str(path), superseded, repeats, changed)


Progress = Callable[[str, int, int], None]  # (phase text, step, total steps)


class _Ahead:
    """Prepares the next CSV (hash, UTF-8 check or transcoding, line scan: Python work) in a thread
    while DuckDB reads the current one. ``prepared(i)`` waits for file i and starts file i + 1; an
    error preparing a file is raised when that file's turn comes, as if it were read in turn."""

    def __init__(self, files: Sequence[str | os.PathLike[str]]):
        self.files = [Path(f) for f in files]
        self.pending: dict[int, object] = {}
        self.pool = None

    def __enter__(self) -> "_Ahead":
        return self

    def _start(self, i: int) -> None:
        if i >= len(self.files) or i in self.pending:
            return
        p = self.files[i]
        if not (is_csv(p) and p.is_file()):
            return
        if self.pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crmtool-prepare")
        self.pending[i] = self.pool.submit(prepare_csv, p)

    def prepared(self, i: int) -> Prepared | None:
        self._start(i)
        self._start(i + 1)
        future = self.pending.pop(i, None)
        return future.result() if future is not None else None  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        # files prepared but not loaded (an error or Ctrl+C stopped the load): one not started yet is
        # not started, and the transcoded copy of one already prepared goes
        for future in self.pending.values():
            future.cancel()  # type: ignore[attr-defined]
        for future in self.pending.values():
            if future.cancelled():  # type: ignore[attr-defined]
                continue
            try:
                future.result().discard()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - the error that stopped the load is the one to report
                pass
        self.pending.clear()
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def _units(con, table: Table, files: Sequence[str | os.PathLike[str]], sheet: str | None,
           settings: Settings, notes: list[str] | None = None) -> list[tuple[Path, str | None, str | None]]:
    """(path, sheet, part) to load, in order: a workbook given without --sheet whose visible sheets fit
    the table in several places (one sheet a month: 2025-01, 2025-02) gives each of those sheets (part
    = the sheet's name); any other file itself (its first visible sheet that fits, see _read). Hidden
    sheets load only by name (--sheet), and ``notes`` says which were left."""
    out: list[tuple[Path, str | None, str | None]] = []
    for f in files:
        p = Path(f)
        if sheet is None and p.suffix.lower() in (".xlsx", ".xlsm") and p.is_file():
            try:
                names = xlsx_sheet_names(p)
                hidden = xlsx_sheet_names(p, hidden=True)
            except InputError:
                names, hidden = [], []  # reported when the file is read in turn
            if hidden and notes is not None:
                notes.append(f"{p.name}: hidden sheet(s) {', '.join(hidden)} not loaded (--sheet NAME loads one)")
            fitting = [n for n in names if _sheet_fits(con, table, p, n, settings)] if len(names) > 1 else []
            if len(fitting) > 1:
                out += [(p, n, n) for n in fitting]
                continue
        out.append((p, sheet, None))
    return out


def _sheet_fits(con, table: Table, path: Path, name: str, settings: Settings) -> bool:
    src = open_source(path, con, name)
    try:
        map_headers(src, table, settings.columns.get(table.name, {}), unit_id(settings.units.base) or "t")
        return True
    except InputError:
        return False
    finally:
        src.close()


class _StrictRollback(Exception):
    """Raised inside the transaction to roll a strict load back."""


def load_files(store: Store, table_name: str, files: Sequence[str | os.PathLike[str]], *,
               sheet: str | None = None, strict: bool = False, progress: Progress | None = None,
               in_transaction: bool = False) -> LoadResult:
    """Load ``files`` into ``table_name`` in one transaction. With ``strict``, any reject rolls the
    whole load back and the result has ``strict_failed`` set (the caller exits 1).

    ``in_transaction``: the caller holds the transaction (``with store.transaction(): load_files(…);
    load_files(…)``), so the loads of several tables land together or not at all, as `crmtool run
    monthly` needs. Nothing is committed or rolled back here: an error propagates to the caller's
    transaction, and a ``strict_failed`` result leaves the rows for the caller to roll back."""
    table = resolve_table(table_name)
    settings = store.settings
    t0 = time.monotonic()
    results: list[FileResult] = []
    install_macros(store.con, settings)
    failed = False
    notes: list[str] = []
    hidden_notes: list[str] = []
    try:
        units = _units(store.con, table, files, sheet, settings, hidden_notes)
        with contextlib.nullcontext() if in_transaction else store.transaction(), \
                _Ahead([u[0] for u in units]) as ahead:
            if table.quantity_unit:
                _check_base_unit(store.con, settings)
            # the months a load changes matter only to results stored before it (see stale_results)
            tracked = store.con.execute("SELECT EXISTS (SELECT 1 FROM snapshots)").fetchall()[0][0]
            left: list[str] = []
            for i, (f, sh, part) in enumerate(units, start=1):
                try:
                    before = _same_name_lines(store.con, table, Path(f), part)
                    results.append(_load_one(store, table, f, sh, settings, progress, i, len(units),
                                             ahead.prepared(i - 1), part, track_changes=tracked))
                    if (note := _left_note(store.con, table, results[-1], before)) is not None:
                        left.append(note)
                except InputError as exc:
                    if len(units) > 1 and not in_transaction and exc.args:  # one transaction: say it
                        exc.args = (f"{exc.args[0]} (nothing was loaded: a load of several files lands whole, "
                                    f"so none of the {len(units)} was)",) + exc.args[1:]
                    raise
            notes = hidden_notes + _repeat_notes(table, results) + _order_notes(
                store.con, table, [u[0] for u in units], results) + _zero_notes(store.con, table, results) + left
            months = sorted({m for r in results for m in r.changed_months})
            # (a run of the monthly job says it itself, leaving out the results it computes again)
            if not in_transaction and (stale := stale_results(store.con, months)):
                notes.append(stale_note(months, stale))
            if strict and any(r.rejected for r in results):
                raise _StrictRollback
            if _before_commit is not None:
                _before_commit()
    except _StrictRollback:
        failed = True
    return LoadResult(table.name, results, strict_failed=failed, seconds=time.monotonic() - t0, notes=notes)


def _check_base_unit(con, settings: Settings) -> None:
    """The unit the store's order quantities are in (units.base at their first load) is kept in meta;
    a load under another units.base is refused: its tons and kilograms would add up as one number."""
    base = unit_id(settings.units.base) or "t"
    row = con.execute("SELECT value FROM meta WHERE key = 'units_base'").fetchall()
    if not row:
        con.execute("INSERT INTO meta VALUES ('units_base', ?)", [base])
        return
    if row[0][0] != base:
        stored = row[0][0]
        raise ConfigError(f"units.base is {base}, but this store's order quantities are in {stored} (units.base when "
                          f"they were first loaded): loading would add {base} to {stored}. Set units.base = "
                          f"\"{stored}\" again, or load into a new store (--db)")


def _repeat_notes(table: Table, results: list[FileResult]) -> list[str]:
    """A key on two lines of one file: the later line is kept (SPEC §1), and the user is told where, since
    an archive that lists a customer twice (with two managers, say) disagrees with itself."""
    notes = []
    for r in results:
        if not r.superseded or not r.repeats:
            continue
        shown = "; ".join(f"{k} on lines {', '.join(map(str, lines))}" for k, lines in r.repeats)
        more = f" ({r.superseded} line(s) in all)" if r.superseded > sum(len(x) - 1 for _, x in r.repeats) else ""
        notes.append(f"{Path(r.file).name}: {' + '.join(table.key)} repeated within the file, the last line kept: "
                     f"{shown}{more}")
    return notes


def _same_name_lines(con, table: Table, path: Path, part: str | None) -> dict[int, int]:
    """batch -> lines still in the table, for the earlier loads of a file of this name into ``table``
    (see same_file_sql); empty when there is none (one look at batches)."""
    stored = stored_path(path, part)
    earlier = [b for (b,) in con.execute(f"SELECT batch_id FROM batches WHERE table_name = ? AND ({same_file_sql('file')})",
                                         [table.name, stored, Path(stored).name]).fetchall()]
    if not earlier:
        return {}
    # (an IN list on batch_id, which grows with the table's insertion order: row groups skipped by their
    # min/max, not a scan of every line)
    counts = dict(con.execute(f"SELECT batch_id, count(*) FROM {q(table.name)} WHERE batch_id IN "
                              f"({', '.join('?' * len(earlier))}) GROUP BY batch_id", earlier).fetchall())
    return {b: counts.get(b, 0) for b in earlier}


def _left_note(con, table: Table, r: FileResult, before: dict[int, int]) -> str | None:
    """A file loaded again (a corrected export of the same name) that lacks lines its earlier load
    brought: those lines stay (SPEC §1: a line is replaced only by a line with its key), so say how
    many and which, since a line the ERP dropped would otherwise count on silently. Only for the
    earlier loads this file replaced most of (a corrected export repeats nearly every line; the next
    month's export of the same name repeats a few days at most). ``before``: _same_name_lines before
    this file was loaded."""
    if not before or r.batch_id is None:
        return None
    after = _same_name_lines(con, table, Path(r.source or r.file), r.sheet)
    left = {b: after.get(b, 0) for b in before if 0 < after.get(b, 0) <= before[b] - after.get(b, 0)}
    if not left:
        return None
    key = " || ' / ' || ".join(f"coalesce(CAST({q(k)} AS VARCHAR), '')" for k in table.key)
    where, args = f"batch_id IN ({', '.join('?' * len(left))})", list(left)
    event = next((c.name for c in table.columns if c.event and c.required), None)
    if event is not None:  # only the lines of the months this file covers: a rolling export (December and
        # January, then January and February) leaves the month it no longer holds, and says nothing of it
        # (the months: an export covers whole months, its lines rarely their first and last days)
        lo, hi = con.execute(f"SELECT CAST(date_trunc('month', min({q(event)})) AS DATE), last_day(max({q(event)})) "
                             f"FROM {q(table.name)} WHERE batch_id = ?", [r.batch_id]).fetchall()[0]
        where += f" AND {q(event)} BETWEEN ? AND ?"
        args += [lo, hi]
    n, example = con.execute(f"SELECT count(*), min({key}) FROM {q(table.name)} WHERE {where}", args).fetchall()[0]
    if not n:
        return None
    return (f"{Path(r.file).name}: {n} line(s) that an earlier load of a file of this name brought are not in it "
            f"and stay in the store (a load replaces and adds lines, it never removes any; "
            f"{' + '.join(table.key)} {example}{' …' if n > 1 else ''})")


def _zero_notes(con, table: Table, results: list[FileResult]) -> list[str]:
    """Order codes in no archive row that are an archive code without its leading zeros (0100010183
    read as the number 100010183 by a spreadsheet): two customers where there is one, so say so."""
    if table.name != "orders":
        return []
    batches = [r.batch_id for r in results if r.batch_id is not None and r.accepted]
    if not batches or not con.execute("SELECT EXISTS (SELECT 1 FROM customers WHERE customer_id LIKE '0%')"
                                      ).fetchall()[0][0]:
        return []
    n, code, cid = con.execute(f"""
        WITH codes AS (
            SELECT DISTINCT customer_code AS code FROM orders
            WHERE batch_id BETWEEN ? AND ? AND batch_id IN ({', '.join('?' * len(batches))})
              AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = customer_code)
              AND NOT EXISTS (SELECT 1 FROM code_map m WHERE m.erp_code = customer_code))
        SELECT count(*), min(d.code), min(c.customer_id)
        FROM codes d JOIN customers c ON c.customer_id LIKE '0%' AND ltrim(c.customer_id, '0') = d.code""",
        [min(batches), max(batches), *batches]).fetchall()[0]
    if not n:
        return []
    return [f"{n} customer code(s) of these orders are in no archive row but are an archive code without its "
            f"leading zeros ({code} → {cid}{' …' if n > 1 else ''}): a spreadsheet read them as numbers, so they "
            "count as other customers. Export the code column as text and load again (or map them in code_map)"]


def _order_notes(con, table: Table, paths: Sequence[Path], results: list[FileResult]) -> list[str]:
    """The files of one load apply in the order given, so a line in two of them is the later one's
    (SPEC §1). Where a file given later was saved earlier than one before it (the shell sorts
    订单(更正).csv before 订单.xlsx) and took lines of it, say so: the older export may have undone a
    correction. Costs a count only in that case."""
    notes = []
    saved = [Path(p).stat().st_mtime if Path(p).exists() else None for p in paths]
    for i, ri in enumerate(results):
        older_after = [j for j in range(i + 1, len(results)) if results[j].replaced and saved[i] and saved[j]
                       and saved[j] < saved[i] and ri.batch_id is not None]
        if not older_after or not ri.accepted:
            continue
        kept = con.execute(f"SELECT count(*) FROM {q(table.name)} WHERE batch_id = ?", [ri.batch_id]).fetchall()[0][0]
        if kept >= ri.accepted:
            continue
        when = dt.datetime.fromtimestamp(saved[i]).strftime("%Y-%m-%d %H:%M")
        later = ", ".join(f"{Path(results[j].file).name} (saved "
                          f"{dt.datetime.fromtimestamp(saved[j]).strftime('%Y-%m-%d %H:%M')})" for j in older_after[:3])
        notes.append(f"{ri.accepted - kept} line(s) of {Path(ri.file).name} (saved {when}) were replaced by the same "
                     f"lines of a file given after it but saved before it: {later}. The file given last wins; if "
                     f"{Path(ri.file).name} is the correction, load it again, or give the files oldest first "
                     "(crmtool run monthly does)")
    return notes
