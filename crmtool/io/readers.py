"""Readers: CSV (UTF-8, UTF-8 BOM, UTF-16, GBK/GB18030), XLSX and Parquet become rows of text with
the line (or sheet row) each came from. No typing happens here: the loader converts in SQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from crmtool.errors import InputError

csv.field_size_limit(16 * 1024 * 1024)


@dataclass
class RawRows:
    """Every non-empty row of a file as text (None for an empty cell), with its 1-based line number."""

    path: Path
    rows: list[list[str | None]]
    lines: list[int]
    encoding: str  # e.g. 'utf-8', 'gb18030', 'xlsx:Sheet1', 'parquet'
    header_given: bool = False  # parquet: the first row is the column names, not data


def detect_encoding(raw: bytes, path: Path) -> tuple[str, int]:
    """Return (codec, bytes to skip). UTF-8 is tried strictly first; GB18030 (a superset of GBK and
    GB2312) is the fallback for Chinese Windows exports. No detector is downloaded or guessed at."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8", 3
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        return "utf-16", 0
    try:
        raw.decode("utf-8")
        return "utf-8", 0
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gb18030")
        return "gb18030", 0
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path} line {line}: the file is neither UTF-8 nor GBK/GB18030 text "
                         f"(byte {exc.start}); save it as CSV UTF-8 or as XLSX") from None


def _sniff_delimiter(head: str) -> str:
    """The separator used most in the first lines (a title line above the header has none)."""
    lines = head.splitlines()[:10]
    counts = {d: sum(ln.count(d) for ln in lines) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_csv(path: Path) -> RawRows:
    raw = path.read_bytes()
    codec, skip = detect_encoding(raw, path)
    text = raw[skip:].decode(codec)
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text[:20000]))
    rows: list[list[str | None]] = []
    lines: list[int] = []
    start = 1
    try:
        for rec in reader:
            if any(c.strip() for c in rec):
                rows.append([c if c.strip() != "" else None for c in rec])
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"{path} line {reader.line_num}: cannot parse CSV: {exc}") from None
    name = "gb18030" if codec == "gb18030" else ("utf-8-sig" if skip else codec)
    return RawRows(path, rows, lines, name)


def _cell_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        if v.hour == v.minute == v.second == v.microsecond == 0:
            return v.date().isoformat()
        return v.isoformat(sep=" ", timespec="seconds")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, int):
        return str(v)
    s = str(v)
    return s if s.strip() != "" else None


def read_xlsx(path: Path, sheet: str | None = None) -> RawRows:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot open as an Excel workbook (.xlsx): {exc}") from None
    try:
        if sheet is None:
            ws = wb.worksheets[0]
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        elif sheet.isdigit() and 1 <= int(sheet) <= len(wb.sheetnames):
            ws = wb.worksheets[int(sheet) - 1]
        else:
            raise InputError(f"{path}: no sheet {sheet!r}; the workbook has {', '.join(wb.sheetnames)}")
        rows: list[list[str | None]] = []
        lines: list[int] = []
        for i, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if any(c is not None for c in cells):
                rows.append(cells)
                lines.append(i)
        return RawRows(path, rows, lines, f"xlsx:{ws.title}")
    finally:
        wb.close()


def xlsx_sheet_names(path: Path) -> list[str]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def read_parquet(path: Path) -> RawRows:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: cannot read as Parquet: {exc}") from None
    cols = []
    for col in table.columns:
        if pa.types.is_timestamp(col.type):
            col = pc.strftime(col, format="%Y-%m-%d %H:%M:%S")
        elif pa.types.is_floating(col.type):
            # whole floats print without '.0' so codes stored as floats keep their digits
            as_int = pc.cast(col, pa.int64(), safe=False)
            whole = pc.equal(pc.cast(as_int, col.type), col)
            col = pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(col, pa.string()))
        elif not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        cols.append(col.to_pylist())
    rows: list[list[str | None]] = [list(table.column_names)]
    rows += [list(r) for r in zip(*cols)] if cols else []
    lines = list(range(1, len(rows) + 1))
    return RawRows(path, rows, lines, "parquet", header_given=True)


def read_rows(path: str | Path, sheet: str | None = None) -> RawRows:
    """Read any supported file by its extension."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    ext = p.suffix.lower()
    if ext in (".xlsx", ".xlsm"):
        return read_xlsx(p, sheet)
    if ext == ".xls":
        raise InputError(f"{p}: old .xls workbooks are not supported; save it as .xlsx or CSV")
    if ext in (".parquet", ".pq"):
        return read_parquet(p)
    if ext in (".csv", ".txt", ".tsv", ""):
        return read_csv(p)
    raise InputError(f"{p}: unknown file type {ext!r}; use .csv, .xlsx or .parquet")
