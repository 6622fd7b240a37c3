"""Writing result tables to files (--output FILE.csv|.parquet|.json|.xlsx) and safe Excel cells."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from pathlib import Path
from typing import Any

from crmtool.errors import OutputError, UsageError

FORMATS = (".csv", ".parquet", ".json", ".xlsx")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def write_cell(ws, row: int, col: int, value: Any):
    """Write one cell; strings are always stored as strings (never formulas), numbers as numbers."""
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        value = None
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # openpyxl would otherwise store '=…' as a formula
    else:
        cell.value = value
    return cell


def _json_default(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    return str(v)


def to_arrow(result: Any):
    """Accept a duckdb relation, a pandas DataFrame or an Arrow table."""
    import pyarrow as pa

    if isinstance(result, pa.Table):
        return result
    if hasattr(result, "to_arrow_table"):
        return result.to_arrow_table()
    if hasattr(result, "arrow"):
        out = result.arrow()
        return out.read_all() if hasattr(out, "read_all") else out
    return pa.Table.from_pandas(result, preserve_index=False)


def write_xlsx_sheet(ws, table, *, header_fill: str = "1F4E78") -> None:
    """One table on one sheet: styled frozen header, autofilter, widths, number formats."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    names = table.column_names
    for j, name in enumerate(names, start=1):
        c = write_cell(ws, 1, j, name)
        c.font = Font(bold=True, color="FFFFFF")
        c.fill = PatternFill("solid", fgColor=header_fill)
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    cols = [table.column(n).to_pylist() for n in names]
    widths = [max(8, min(40, len(str(n)) * 2 + 2)) for n in names]
    for i in range(table.num_rows):
        for j, col in enumerate(cols, start=1):
            v = col[i]
            cell = write_cell(ws, i + 2, j, v)
            if isinstance(v, (float, decimal.Decimal)):
                cell.number_format = "#,##0.00" if abs(float(v)) >= 1 or float(v) == 0 else "0.0000"
            elif isinstance(v, dt.date):
                cell.number_format = "yyyy-mm-dd"
            if v is not None and i < 200:
                widths[j - 1] = max(widths[j - 1], min(40, len(str(v)) + 2))
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = "A2"
    if table.num_rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(names))}{table.num_rows + 1}"


class atomic_files:
    """Files written whole or not at all: ``path(final)`` gives a temporary name beside it (same
    extension); on leaving the block without an error every file replaces its final name, else every
    temporary file goes and the final files are as they were. A file that cannot be written is an
    OutputError naming it (a full disk left a truncated CSV in place of the previous good one)."""

    def __init__(self) -> None:
        self.pairs: list[tuple[Path, Path]] = []

    def path(self, final: Path) -> Path:
        import os

        final = Path(final)
        if final.is_dir():
            raise OutputError(f"{final}: is a folder; give a file name")
        tmp = final.with_name(f".{final.stem}.{os.getpid()}.{len(self.pairs)}.tmp{final.suffix}")
        self.pairs.append((tmp, final))
        return tmp

    def __enter__(self) -> "atomic_files":
        return self

    def __exit__(self, typ, exc, tb) -> bool:
        import os

        if exc is None:
            try:
                for tmp, final in self.pairs:
                    os.replace(tmp, final)
                return False
            except OSError as e:
                exc = e
        for tmp, _ in self.pairs:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
        if isinstance(exc, OSError):
            final = next((f for t, f in self.pairs if exc.filename in (str(t), t)), None) or \
                (self.pairs[-1][1] if self.pairs else exc.filename)
            raise OutputError(f"cannot write {final}: {exc.strerror or exc}; nothing was written") from None
        return False


def write_table(result: Any, path: str | Path, sheet: str = "result") -> Path:
    """Write a result table by the file's extension (whole or not at all)."""
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in FORMATS:
        raise UsageError(f"--output {p}: use a file ending in {', '.join(FORMATS)}")
    table = to_arrow(result)
    _check_folder(p)
    with atomic_files() as files:
        _write_table(table, files.path(p), ext, sheet)
    return p


def _write_table(table, p: Path, ext: str, sheet: str) -> None:
    if ext == ".csv":
        with open(p, "wb") as f:
            f.write(b"\xef\xbb\xbf")  # so Excel opens the Chinese text as UTF-8
            write_csv(table, f)
    elif ext == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, p)
    elif ext == ".json":
        rows = table.to_pylist()
        p.write_text(json.dumps(rows, ensure_ascii=False, default=_json_default, indent=1), encoding="utf-8")
    else:
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = _sheet_name(sheet, [])
        write_xlsx_sheet(ws, table)
        wb.save(p)


def _check_folder(p: Path) -> None:
    """An output file goes into an existing folder: a typo in the path is an error, not a new folder."""
    if not p.parent.exists():
        raise UsageError(f"--output {p}: the folder {p.parent} does not exist; create it first or fix the path")


def _plain(table):
    """CSV cannot hold lists: join them with ', '. Text that a spreadsheet would read as a formula
    (starting with = + - @ tab or CR) gets a leading ' so it stays text (SPEC §5)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = []
    for col in table.columns:
        if pa.types.is_list(col.type):
            col = pa.array([", ".join(map(str, v)) if v is not None else None for v in col.to_pylist()], pa.string())
        elif pa.types.is_decimal(col.type):
            col = pc.cast(col, pa.float64())
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            risky = pc.match_substring_regex(col, r"^[=+\-@\t\r]")
            # (options, not Python scalars: pyarrow converting a scalar imports pandas, 0.2 s)
            risky = pc.and_kleene(risky, pc.is_valid(risky))  # a missing cell is not risky
            col = pc.if_else(risky, pc.utf8_replace_slice(col, start=0, stop=0, replacement="'"), col)
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def write_csv(table, sink) -> None:
    """The table as CSV (formula-safe, lists joined) to a binary file object."""
    import pyarrow.csv as pacsv

    pacsv.write_csv(_plain(to_arrow(table)), sink)


def write_workbook(tables: dict[str, Any], path: str | Path, *, contents: bool = True) -> Path:
    """Several result tables in one workbook: a contents sheet first (unless ``contents`` is false),
    then one sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    p = Path(path)
    _check_folder(p)
    wb = Workbook()
    summary = wb.active
    if not contents:
        wb.remove(summary)
        for name, result in tables.items():
            write_xlsx_sheet(wb.create_sheet(_sheet_name(name, wb.sheetnames)), to_arrow(result))
        with atomic_files() as files:
            wb.save(files.path(p))
        return p
    summary.title = "summary"
    write_cell(summary, 1, 1, "sheet").font = Font(bold=True)
    write_cell(summary, 1, 2, "rows").font = Font(bold=True)
    summary.column_dimensions["A"].width = 28
    for i, (name, result) in enumerate(tables.items(), start=2):
        table = to_arrow(result)
        sheet = _sheet_name(name, wb.sheetnames)
        write_cell(summary, i, 1, sheet)
        write_cell(summary, i, 2, table.num_rows)
        write_xlsx_sheet(wb.create_sheet(sheet), table)
    summary.freeze_panes = "A2"
    with atomic_files() as files:
        wb.save(files.path(p))
    return p


def _sheet_name(name: str, taken: list[str]) -> str:
    base = "".join("_" if ch in '[]:*?/\\' else ch for ch in name)[:31] or "sheet"
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate, n = base[:31 - len(suffix)] + suffix, n + 1
    return candidate
