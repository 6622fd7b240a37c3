"""Readers: CSV (UTF-8, UTF-8 BOM, UTF-16, GBK/GB18030), XLSX and Parquet as a :class:`Source` — a
relation DuckDB scans (every column as text, ``c0 … cN``) plus the first rows for header detection.

No Python object is made per row of a CSV or Parquet file: DuckDB's own readers scan the bytes. A
CSV that is not UTF-8 is transcoded in one streaming pass (1 MB chunks) into a temporary UTF-8 file.
XLSX cells come from python-calamine (openpyxl read-only when calamine is missing) and reach DuckDB
as Arrow batches of 10,000 rows. No typing happens here: the loader converts in SQL.

Line numbers are 1-based physical lines of the file (sheet rows for XLSX). DuckDB's CSV reader skips
empty lines and keeps a quoted field's line breaks inside the value, so a record's line is its index
plus the line breaks inside the records before it plus the empty lines before it; the streaming scan
finds the empty lines (outside quotes) and whether any quoted field spans lines at all.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import datetime as dt
import decimal
import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from crmtool.errors import InputError

CHUNK = 1 << 20
MAX_LINE_BYTES = 1 << 20  # a longer physical line is no export: fail fast instead of parsing it
HEAD_ROWS = 30  # rows looked at in Python for the header (title rows above it, a second header row)
SAMPLE_BYTES = 1 << 16
BATCH_ROWS = 10_000

# every byte but the double quote and the line feed: deleting them leaves each line's quotes, and
# deleting pairs then leaves a quote only where a line has an odd number (a quoted field spans lines)
_NOT_QUOTE_OR_LF = bytes(b for b in range(256) if b not in (0x22, 0x0A))


@dataclass
class Source:
    """One file (one sheet of a workbook) ready for DuckDB.

    ``relation`` is a FROM-clause item giving text columns ``c0 … c{width-1}`` and, when
    ``line_column`` is set, the source line of each row in that column; ``params`` are its bound
    parameters. ``head`` holds the first rows as text (None for an empty cell) with their position
    in the relation (``head_rids``) and line. Call :meth:`close` to remove temporary files."""

    path: Path
    encoding: str  # e.g. 'utf-8', 'utf-8-sig', 'gb18030', 'utf-16', 'xlsx:Sheet1', 'parquet'
    relation: str
    params: list
    width: int
    head: list[list[str | None]]
    head_rids: list[int]
    head_lines: list[int]
    header_given: bool = False  # parquet: the first head row is the column names, not a row
    line_column: str | None = None  # the relation carries each row's line in this column
    line_offset: int = 1  # without a line column and without a line map: line = rowid + offset
    blank_keys: list[tuple[int, int]] = field(default_factory=list)  # (non-empty lines before, empty count)
    multiline: bool = False  # some quoted field spans lines: count the breaks inside the records
    control: bool = False  # the file holds NUL or Ctrl-Z bytes (padding, a DOS end-of-file mark): cells drop them
    date1904: bool = False  # a workbook saved with the 1904 date system (numbers in date columns count from 1904)
    sha256: str = ""
    register: Callable | None = None  # called with the connection before the relation is scanned
    # Parquet: columns whose typed values are given as v<i> instead of text c<i> (position -> value
    # class, see VALUE_CLASSES); the text of one is value_text(i), computed only where it is read
    values: dict[int, str] = field(default_factory=dict)
    value_texts: dict[int, str] = field(default_factory=dict)
    temp_files: list[Path] = field(default_factory=list)

    closers: list[Callable] = field(default_factory=list)

    def cell(self, i: int) -> str:
        """SQL of column ``i`` as text: c<i>, or the text of the typed value v<i>."""
        return self.value_texts.get(i, f"c{i}")

    def close(self) -> None:
        for close in self.closers:
            close()
        self.closers.clear()
        for p in self.temp_files:
            try:
                p.unlink()
            except FileNotFoundError:
                pass
        self.temp_files.clear()


# ---------------------------------------------------------------------------------------------
# CSV: encoding, a streaming scan, DuckDB read_csv


class _Scan:
    """Fed UTF-8 bytes in order: counts lines, finds empty lines outside quoted fields, notices a
    quoted field spanning lines, and stops at a physical line longer than MAX_LINE_BYTES. Quotes are
    read as DuckDB's reader reads them: a quote opens a field only at the field's start (12" in a
    product name is a character), and a field still open at the end of the file is an error (the
    reader would put every line after it into that one cell)."""

    def __init__(self, path: Path, limit: int = MAX_LINE_BYTES, delim: str = ","):
        self.path, self.limit = path, limit
        self.newlines = 0  # line breaks in the complete lines processed
        self.since_nl = 0
        self.carry = b""
        self.blanks: list[int] = []
        self.multiline = False
        self.control = False  # a NUL or Ctrl-Z byte somewhere (memchr over each chunk: next to no cost)
        self.in_quote = False
        self.quote_line = 0  # the line on which the field open at the end of the lines so far opened
        self._marks = re.compile(b'["' + re.escape(delim.encode()) + b"]")

    def feed(self, chunk: bytes) -> None:
        if not self.control and (b"\x00" in chunk or b"\x1a" in chunk):
            self.control = True
        nl = chunk.find(b"\n")
        if nl < 0:
            self.since_nl += len(chunk)
            if self.since_nl > self.limit:
                self._too_long()
        else:
            if self.since_nl + nl > self.limit:
                self._too_long()
            self.since_nl = len(chunk) - chunk.rfind(b"\n") - 1
        buf = self.carry + chunk if self.carry else chunk
        end = buf.rfind(b"\n")
        if end < 0:
            self.carry = buf
            return
        complete, self.carry = buf[:end + 1], buf[end + 1:]
        self._lines(complete)

    def finish(self) -> None:
        if self.carry:
            self._lines(self.carry + b"\n")
            self.carry = b""
        if self.in_quote:
            raise InputError(f"{self.path} line {self.quote_line}: a quote (\") opens a field on this line and is "
                             "never closed, so every line after it would be read into that one cell; close the "
                             "quote or remove it")

    def _too_long(self) -> None:
        line = self.newlines + self.carry.count(b"\n") + 1
        raise InputError(f"{self.path}: line {line} is longer than {self.limit // (1 << 20)} MB; "
                         "is this a CSV export?")

    def _lines(self, complete: bytes) -> None:
        """``complete`` starts at a line start and ends with a line break."""
        if not self.multiline and b'"' in complete and complete.count(b"\r") != complete.count(b"\r\n"):
            # a carriage return alone (inside a quoted cell, say): DuckDB's reader takes it for a line
            # break inside quotes, which only its one-thread reader reads; the line numbers (by LF) stay
            self.multiline = True
        if self.in_quote or (b'"' in complete and b'"' in complete.translate(None, _NOT_QUOTE_OR_LF).replace(b'""', b"")):
            self._walk(complete)
        elif b"\n\n" in complete or b"\n\r\n" in complete or complete.startswith((b"\n", b"\r\n")):
            self._walk(complete)
        else:
            self.newlines += complete.count(b"\n")

    def _walk(self, complete: bytes) -> None:
        for line in complete.split(b"\n")[:-1]:
            self.newlines += 1
            if not self.in_quote and line in (b"", b"\r"):
                self.blanks.append(self.newlines)
            if b'"' in line:
                was = self.in_quote
                self.in_quote = self._quoted_at_end(line, was)
                if self.in_quote and not was:
                    self.quote_line = self.newlines
            if self.in_quote:  # a quoted field goes on past this line's end
                self.multiline = True

    def _quoted_at_end(self, line: bytes, in_quote: bool) -> bool:
        """Whether a quoted field is still open at the end of ``line`` (open at its start or not)."""
        start = None if in_quote else 0  # where the current field starts, when outside quotes
        marks = [(m.start(), line[m.start()]) for m in self._marks.finditer(line)]
        j = 0
        while j < len(marks):
            pos, ch = marks[j]
            if in_quote:
                if ch == 0x22:
                    if j + 1 < len(marks) and marks[j + 1] == (pos + 1, 0x22):  # "" inside quotes
                        j += 2
                        continue
                    in_quote = False
            elif ch == 0x22:
                in_quote = pos == start  # a quote inside an unquoted field is a character
                start = None
            else:
                start = pos + 1
            j += 1
        return in_quote


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _blank_keys(blanks: list[int]) -> list[tuple[int, int]]:
    """For empty physical lines b_1 < b_2 < …: (b_i - i, i), the last i per key. A record that is
    the s-th non-empty line sits on line s + (the i of the largest key below s)."""
    keys: dict[int, int] = {}
    for i, b in enumerate(blanks, start=1):
        keys[b - i] = i
    return sorted(keys.items())


def _utf8_pass(path: Path, scan: _Scan, sha) -> int | None:
    """Hash the file and decode it strictly as UTF-8 in chunks; None when it all decodes, else the line
    of the first bad byte."""
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    lines = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            sha.update(chunk)
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as exc:
                return lines + chunk.count(b"\n", 0, max(exc.start, 0)) + 1
            lines += chunk.count(b"\n")
            scan.feed(chunk)
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines + 1
    scan.finish()
    return None


def _transcode(path: Path, codec: str, skip: int, scan: _Scan, sha) -> Path:
    """Decode ``path`` with ``codec`` in chunks into a temporary UTF-8 file (never the whole file in
    memory); a byte that is not ``codec`` is an InputError naming its line."""
    dec = codecs.getincrementaldecoder(codec)("strict")
    fd, name = tempfile.mkstemp(prefix="crmtool-", suffix=".csv")
    out_path = Path(name)
    lines = 0
    try:
        with open(path, "rb") as f, os.fdopen(fd, "wb") as out:
            first = True
            while True:
                chunk = f.read(CHUNK)
                final = not chunk
                sha.update(chunk)
                data = chunk[skip:] if first else chunk
                first = False
                try:
                    text = dec.decode(data, final=final)
                except UnicodeDecodeError as exc:
                    line = lines + (data.count(b"\n", 0, exc.start) if codec != "utf-16" else 0) + 1
                    err = InputError(f"{path} line {line}: the file is neither UTF-8 nor GBK/GB18030 text "
                                     f"(byte {exc.start}); save it as CSV UTF-8 or as XLSX")
                    err.line = line
                    raise err from None
                lines += data.count(b"\n")
                if text:
                    b = text.encode("utf-8")
                    scan.feed(b)
                    out.write(b)
                if final:
                    break
        scan.finish()
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise
    return out_path


def detect_encoding(raw: bytes, path: Path) -> tuple[str, int]:
    """(codec, bytes to skip) from a bounded sample: BOMs, else strict UTF-8 (a character cut at the
    sample's end is fine), else GB18030 — a superset of GBK and GB2312, for Chinese Windows
    exports. The whole file is still decoded strictly afterwards."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", 3
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        return "utf-16", 0
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(raw, final=False)
        return "utf-8", 0
    except UnicodeDecodeError:
        return "gb18030", 0


def _sniff_delimiter(head: str) -> str:
    """The separator used most in the first lines (a title line above the header has none)."""
    lines = head.splitlines()[:10]
    counts = {d: sum(ln.count(d) for ln in lines) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _sample_text(path: Path, skip: int = 0) -> str:
    with open(path, "rb") as f:
        raw = f.read(SAMPLE_BYTES)[skip:]
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(raw, final=False)
    return text.lstrip("\ufeff")


def _width(sample: str, delim: str) -> int:
    """Columns in the widest of the first records (complete lines of the sample only)."""
    cut = sample.rfind("\n")
    text = sample[:cut + 1] if cut >= 0 else sample
    width = 1
    try:
        for i, rec in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delim)):
            width = max(width, len(rec))
            if i > 200:
                break
    except csv.Error:
        pass
    return width


def _csv_relation(width: int, delim: str, parallel: bool, buffer: int | None = None) -> str:
    """The reader of a CSV's records as text columns c0 … c<width-1>. ``buffer``: the reader's buffer in
    bytes (for reading the head: DuckDB's default reads 32 MB before the first row comes back)."""
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
    d = {"\t": "\\t"}.get(delim, delim)
    size = f", buffer_size = {int(buffer)}" if buffer else ""
    return (f"read_csv(?, header = false, auto_detect = false, columns = {{{cols}}}, delim = E'{d}', "
            f"quote = '\"', escape = '\"', null_padding = true, strict_mode = false, "
            f"parallel = {'true' if parallel else 'false'}, max_line_size = {2 * MAX_LINE_BYTES + 1024}{size})")


@dataclass
class Prepared:
    """A CSV after the pass in Python: its encoding, the UTF-8 file DuckDB reads (``target``: the
    file itself, or a temporary transcoded copy listed in ``temp``), the line scan and the hash.
    Made without DuckDB, so the loader prepares the next file in a thread while DuckDB reads this
    one; call :meth:`discard` if it is not used."""

    path: Path
    codec: str
    target: Path
    temp: list[Path]
    scan: _Scan
    sha256: str
    delim: str = ","

    def discard(self) -> None:
        for p in self.temp:
            p.unlink(missing_ok=True)


def prepare_csv(path: Path) -> Prepared:
    """Hash the file, check it is UTF-8 (else transcode it) and scan its lines, in one streaming pass."""
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
    codec, skip = detect_encoding(sample, path)
    sha = hashlib.sha256()
    delim = _sniff_delimiter(_decoded(sample, codec, skip)[:20000])
    scan = _Scan(path, delim=delim)
    target, temp = path, []
    utf8_bad = None
    if codec in ("utf-8", "utf-8-sig"):
        utf8_bad = _utf8_pass(path, scan, sha)
        if utf8_bad is not None:
            codec, skip = "gb18030", 0  # UTF-8 for the first megabytes, then GBK bytes
            sha, scan = hashlib.sha256(), _Scan(path, delim=delim)
    if codec in ("gb18030", "utf-16"):
        try:
            target = _transcode(path, codec, skip, scan, sha)
        except InputError as exc:
            if not hasattr(exc, "line"):  # not a decode error (a quote never closed, a line too long)
                raise
            if utf8_bad is None and codec == "gb18030":  # (the sample's bad byte made it GB18030)
                utf8_bad = _utf8_pass(path, _Scan(path, delim=delim), hashlib.sha256())
            if utf8_bad is None or utf8_bad <= getattr(exc, "line", 0):
                raise
            # UTF-8 further than GBK reads, up to a bad byte: the line of that byte is the one to look at
            raise InputError(f"{path} line {utf8_bad}: a byte that is not UTF-8 text, in a file that is UTF-8 "
                             "before it (and is no GBK/GB18030 text either); save it as CSV UTF-8 or as XLSX"
                             ) from None
        temp.append(target)
    return Prepared(path, codec, target, temp, scan, sha.hexdigest(), delim)


def _decoded(sample: bytes, codec: str, skip: int) -> str:
    """The sample as text (a character cut at its end, or a bad byte, replaced)."""
    name = "utf-8" if codec == "utf-8-sig" else codec
    return codecs.getincrementaldecoder(name)("replace").decode(sample[skip:], final=False).lstrip("\ufeff")


def read_csv(path: Path, con, prepared: Prepared | None = None) -> Source:
    prep = prepared or prepare_csv(path)
    codec, target, temp, scan = prep.codec, prep.target, prep.temp, prep.scan
    try:
        text = _sample_text(target)
        delim = prep.delim  # the one the line scan read the quotes with
        # one column more than the widest record of the sample: a later record with more cells than
        # any before it shows them there instead of losing them (see load._text_select)
        width = _width(text, delim) + 1
        relation = _csv_relation(width, delim, parallel=not scan.multiline)
        import duckdb

        try:
            # (the same reader with a buffer of two longest lines: a tenth of the time for the head)
            head_relation = _csv_relation(width, delim, parallel=not scan.multiline, buffer=4 * MAX_LINE_BYTES + 2048)
            head_rows = con.execute(f"SELECT * FROM {head_relation} LIMIT {HEAD_ROWS}", [str(target)]).fetchall()
        except duckdb.Error as exc:
            raise csv_error(path, exc) from None
        if scan.control:  # the same characters the stage drops (crm_trim_ctl): the head reads as the body
            head_rows = [[_CONTROL.sub("", c) if c else c for c in row] for row in head_rows]
        head = [[c if c is not None and c.strip() != "" else None for c in row] for row in head_rows]
        keys = _blank_keys(scan.blanks)
        bkeys = [k for k, _ in keys]
        lines, before = [], 0
        for row in head_rows:
            s = len(lines) + 1 + before
            i = bisect.bisect_left(bkeys, s)
            lines.append(s + (keys[i - 1][1] if i else 0))
            if scan.multiline:
                before += sum(c.count("\n") for c in row if c)
        return Source(path, codec, relation, [str(target)], width, head, list(range(len(head))), lines,
                      blank_keys=keys, multiline=scan.multiline, sha256=prep.sha256, temp_files=temp,
                      control=scan.control)
    except BaseException:
        for p in temp:
            p.unlink(missing_ok=True)
        raise


def csv_error(path: Path, exc: Exception) -> InputError:
    """A DuckDB CSV error as one short sentence naming the file."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    m = re.search(r"Line: (\d+)", str(exc))
    where = f" near line {m.group(1)}" if m else ""
    return InputError(f"{path}{where}: cannot parse CSV: {first[:160]}")


# ---------------------------------------------------------------------------------------------
# XLSX


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


_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


def _check_xlsx_bytes(path: Path) -> None:
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(_ZIP_MAGIC):
        return
    if magic.startswith(_OLE_MAGIC):
        raise InputError(f"{path}: this is an old Excel 97-2003 (.xls) workbook named {path.suffix}; open it in "
                         "Excel and save it as .xlsx (Excel Workbook) or CSV UTF-8")
    if magic.lstrip().lower().startswith((b"<", b"<!doc", b"<html")):
        raise InputError(f"{path}: this is a web page (HTML) named {path.suffix}, not an Excel workbook; "
                         "open it in Excel and save it as .xlsx or CSV UTF-8")
    raise InputError(f"{path}: not an Excel .xlsx workbook (the file is not a zip archive); save it as .xlsx "
                     "or CSV UTF-8")


# What python-calamine cannot tell apart from an empty cell, read from the sheet's XML: an Excel
# error (#DIV/0!, #REF!) saved as the cell's value, a formula saved without its value (a workbook
# written by a script and never opened in Excel), and a whole number shown zero-padded by a number
# format such as 000000 (a code 000123 is stored as 123). Each becomes the text the user sees.
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_ATTR = re.compile(rb'\b(r|s|t)="([^"]*)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>|<(?:\w+:)?v/>")
_FORMULA = re.compile(rb"<(?:\w+:)?f\b[^>]*?(?:/>|>([^<]*)</(?:\w+:)?f>)")
_ADDRESS = re.compile(rb"([A-Z]{1,3})([0-9]+)")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]{1,3})([0-9]+):([A-Z]{1,3})([0-9]+)"')
_ROW_END = re.compile(rb"</(?:\w+:)?row>")
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "p": "http://schemas.openxmlformats.org/package/2006/relationships"}


def _xml_text(raw: bytes) -> str:
    import html

    return html.unescape(raw.decode("utf-8", "replace"))


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


def _sheet_part(z, name: str) -> str | None:
    """The zip member holding sheet ``name`` (workbook.xml names it, its relationships point to it)."""
    import xml.etree.ElementTree as ET

    try:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ET.ParseError):
        return None
    rid = next((s.get(f"{{{_NS['r']}}}id") for s in book.iter(f"{{{_NS['m']}}}sheet") if s.get("name") == name), None)
    target = next((r.get("Target") for r in rels.iter(f"{{{_NS['p']}}}Relationship") if r.get("Id") == rid), None)
    if target is None:
        return None
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


def _number_styles(z) -> tuple[dict[bytes, int], set[bytes]]:
    """(style index -> width for the cell styles whose number format is only zeros (000000), the style
    indexes whose number format is a percent: 0%, 0.00% or a format of one's own with % outside quotes)."""
    import xml.etree.ElementTree as ET

    try:
        styles = ET.fromstring(z.read("xl/styles.xml"))
    except (KeyError, ET.ParseError):
        return {}, set()
    widths, percent = {}, {"9", "10"}  # Excel's built-in 0% and 0.00%
    for fmt in styles.iter(f"{{{_NS['m']}}}numFmt"):
        raw = fmt.get("formatCode") or ""
        code = raw.replace('"', "").replace("\\", "")
        if len(code) > 1 and set(code) == {"0"}:
            widths[fmt.get("numFmtId")] = len(code)
        if "%" in re.sub(r'"[^"]*"|\\.', "", raw):
            percent.add(fmt.get("numFmtId"))
    xfs = styles.find(f"{{{_NS['m']}}}cellXfs")
    if xfs is None:
        return {}, set()
    pads, percents = {}, set()
    for i, xf in enumerate(xfs.iter(f"{{{_NS['m']}}}xf")):
        if xf.get("numFmtId") in widths:
            pads[str(i).encode()] = widths[xf.get("numFmtId")]
        elif xf.get("numFmtId") in percent:
            percents.add(str(i).encode())
    return pads, percents


def xlsx_cell_texts(path: Path, sheet: str) -> dict[tuple[int, int], str]:
    return xlsx_sheet_extras(path, sheet)[0]


def xlsx_sheet_extras(path: Path, sheet: str) -> tuple[dict[tuple[int, int], str], list[tuple[int, int, int, int]]]:
    """(the cell texts of :func:`_xlsx_cell_texts`, the merged ranges that span rows as (first row, last
    row, first column, last column), rows from 1 and columns from A = 0)."""
    merges: list[tuple[int, int, int, int]] = []
    return _xlsx_cell_texts(path, sheet, merges), merges


def _xlsx_cell_texts(path: Path, sheet: str, merges: list) -> dict[tuple[int, int], str]:
    """(sheet row, column index from A = 0) -> text, for the cells of ``sheet`` whose value a reader
    of values loses: an error value ('#DIV/0!'), a formula without a saved value ('=C2*D2'), a whole
    number in a zero-padded format ('000123'). Streams the sheet's XML; rows without such cells cost
    one byte search."""
    import zipfile

    out: dict[tuple[int, int], str] = {}
    with zipfile.ZipFile(path) as z:
        part = _sheet_part(z, sheet)
        if part is None or part not in z.namelist():
            return out
        pads, percents = _number_styles(z)
        with z.open(part) as f:
            carry = b""
            marks: list[bytes] = []
            while True:
                chunk = f.read(CHUNK)
                buf = carry + chunk
                if not marks:  # an error value, a formula cell without a value, a zero-padded style
                    m = re.search(rb"<(\w+:)?worksheet\b", buf)
                    ns = m.group(1) or b"" if m else b""
                    marks = [b't="e"', b"</" + ns + b"f></" + ns + b"c>", b"/></" + ns + b"c>",
                             *(b' s="' + k + b'"' for k in (*pads, *percents))]
                cut = len(buf) if not chunk else _last_row_end(buf)
                if any(buf.find(m, 0, cut) >= 0 for m in marks):
                    _scan_cells(path, sheet, buf[:cut], pads, percents, out)
                if b"mergeCell" in buf[:cut]:  # (after the rows, where the sheet lists its merged ranges)
                    for m in _MERGE.finditer(buf, 0, cut):
                        r1, r2 = int(m.group(2)), int(m.group(4))
                        if r2 > r1:
                            merges.append((r1, r2, _column_index(m.group(1)), _column_index(m.group(3))))
                carry = buf[cut:]
                if not chunk:
                    break
    return out


def _last_row_end(buf: bytes) -> int:
    """The end of the last complete row in ``buf`` (0: none yet)."""
    i = buf.rfind(b"</row>")
    if i >= 0:
        return i + 6
    ends = list(_ROW_END.finditer(buf))  # a prefixed namespace (</x:row>)
    return ends[-1].end() if ends else 0


def _scan_cells(path: Path, sheet: str, body: bytes, pads: dict[bytes, int], percents: set[bytes],
                out: dict) -> None:
    for cell in _CELL.finditer(body):
        attrs = dict(_ATTR.findall(cell.group(1)))
        inner = cell.group(2) or b""
        kind = attrs.get(b"t", b"n")
        found = _VALUE.search(inner)
        value = (found.group(1) or b"") if found else None
        if kind == b"e" and value:
            text = _xml_text(value)
        elif value is None and (formula := _FORMULA.search(inner)) is not None:  # (<v></v>: the formula gave "")
            text = "=" + (_xml_text(formula.group(1)) if formula.group(1) else "…")
        elif kind == b"n" and value and attrs.get(b"s") in pads and value.isdigit():
            text = value.decode().zfill(pads[attrs[b"s"]])
        elif kind == b"n" and value and attrs.get(b"s") in percents:
            # 0.85 shown as 85%: the text the reader sees (a score of 85, not 0.85)
            try:
                text = format((decimal.Decimal(value.decode()) * 100).normalize(), "f") + "%"
            except decimal.InvalidOperation:
                continue
        else:
            continue
        where = _ADDRESS.fullmatch(attrs.get(b"r", b""))
        if where is None:
            if text.startswith("#") or text.startswith("="):
                raise InputError(f"{path} sheet {sheet}: a cell holds {text}, not a value, and the sheet's XML "
                                 "gives no cell address; open the workbook in Excel and save it again")
            continue
        out[(int(where.group(2)), _column_index(where.group(1)))] = text


class _Workbook:
    """The sheets of an .xlsx as rows of Python values: python-calamine (the fast Rust reader),
    openpyxl read-only when calamine is not installed."""

    def __init__(self, path: Path):
        _check_xlsx_bytes(path)
        self.path = path
        try:
            import python_calamine as pc
        except ImportError:  # pragma: no cover - calamine is a dependency
            pc = None
        self._pc = pc
        self._texts: dict[str, dict[int, list[tuple[int, str]]]] = {}
        self._sheets: dict[str, Any] = {}  # calamine parses a sheet whole on each get: once per workbook
        self._merges: dict[str, list[tuple[int, int, int, int]]] = {}
        try:
            if pc is not None:
                self._wb = pc.CalamineWorkbook.from_path(str(path))
                self.sheet_names = list(self._wb.sheet_names)
                self.hidden = [m.name for m in self._wb.sheets_metadata if m.visible != pc.SheetVisibleEnum.Visible]
            else:  # pragma: no cover
                import openpyxl

                self._wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
                self.sheet_names = list(self._wb.sheetnames)
                self.hidden = [ws.title for ws in self._wb.worksheets if ws.sheet_state != "visible"]
            # the sheets the user sees: a hidden one (an old backup, a lookup) is loaded only by its name
            self.visible = [n for n in self.sheet_names if n not in self.hidden] or self.sheet_names
        except InputError:
            raise
        except Exception as exc:  # calamine/openpyxl raise many types for a damaged zip or XML
            if type(exc).__module__.split(".")[0] not in ("python_calamine", "openpyxl", "zipfile") and not isinstance(
                    exc, (OSError, ValueError, KeyError)):
                raise
            raise InputError(f"{path}: cannot open as an Excel workbook (.xlsx): {str(exc)[:160]}") from None

    def sheet(self, sheet: str | None) -> str:
        """The sheet named (a hidden one too), or numbered as the tabs show (visible ones, from 1); the
        first visible sheet without either."""
        names = self.sheet_names
        if sheet is None:
            return self.visible[0]
        if sheet in names:
            return sheet
        if sheet.isdigit() and 1 <= int(sheet) <= len(self.visible):
            return self.visible[int(sheet) - 1]
        raise InputError(f"{self.path}: no sheet {sheet!r}; the workbook has {', '.join(self.visible)}"
                         + (f" (hidden: {', '.join(self.hidden)})" if self.hidden else ""))

    def rows(self, name: str) -> Iterator[tuple[int, list[str | None]]]:
        """(sheet row number, cells as text) of every row that has a value."""
        if self._pc is not None:
            if name not in self._sheets:
                self._sheets[name] = self._wb.get_sheet_by_name(name)
            ws = self._sheets[name]
            if name not in self._texts:
                by_row: dict[int, list[tuple[int, str]]] = {}
                cell_texts, merges = xlsx_sheet_extras(self.path, name)
                for (row, col), text in cell_texts.items():
                    by_row.setdefault(row, []).append((col, text))
                self._texts[name] = by_row
                self._merges[name] = merges
            texts, first_col = self._texts[name], ws.start[1] if ws.start else 0
            # a range merged down over rows (an order's number and date over its item lines, as report-
            # style exports write them) holds its value in its first row only: every row of it shows it
            starts: dict[int, list[tuple[int, int, int]]] = {}
            for r1, r2, c1, c2 in self._merges[name]:
                starts.setdefault(r1, []).append((r2, c1, c2))
            fills: list[tuple[int, int, int, str | None]] = []  # (last row, first col, last col, value)
            # iter_rows starts at the sheet's first row (empty rows above the data included) and at
            # the first column that has data
            for i, values in enumerate(ws.iter_rows(), start=1):
                cells = [_cell_text(v) for v in values]
                for col, text in texts.get(i, ()):  # what calamine reads as empty (see xlsx_cell_texts)
                    if col >= first_col:
                        j = col - first_col
                        cells += [None] * (j + 1 - len(cells))
                        cells[j] = text
                if fills or i in starts:
                    fills = [f for f in fills if f[0] >= i]
                    for r2, c1, c2 in starts.get(i, ()):
                        j = c1 - first_col
                        raw = values[j] if 0 <= j < len(values) else None
                        # a number merged down is an order's total, not each line's: the lines below stay
                        # empty (a quantity or amount copied to every line would count it again)
                        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                            continue
                        fills.append((r2, c1, c2, cells[j] if 0 <= j < len(cells) else None))
                    for r2, c1, c2, value in fills:
                        for col in range(max(c1, first_col), c2 + 1):
                            j = col - first_col
                            cells += [None] * (j + 1 - len(cells))
                            if cells[j] is None:
                                cells[j] = value
                if any(c is not None for c in cells):
                    yield i, cells
        else:  # pragma: no cover
            ws = self._wb[name]
            for i, values in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = [_cell_text(v) for v in values]
                if any(c is not None for c in cells):
                    yield i, cells

    def close(self) -> None:
        self._sheets.clear()
        if self._pc is not None:
            self._wb.close()
        else:  # pragma: no cover
            self._wb.close()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def read_xlsx(path: Path, sheet: str | None = None) -> Source:
    wb = _Workbook(path)
    try:
        name = wb.sheet(sheet)
        head, lines = [], []
        for line, cells in wb.rows(name):
            head.append(cells)
            lines.append(line)
            if len(head) >= HEAD_ROWS:
                break
    except BaseException:
        wb.close()
        raise
    width = max((len(r) for r in head), default=1)
    view = "xlsx_src"

    def register(con) -> None:
        import pyarrow as pa

        schema = pa.schema([("__src_line", pa.int64())] + [(f"c{i}", pa.string()) for i in range(width)])

        def batches() -> Iterator[pa.RecordBatch]:
            lines: list[int] = []
            cols: list[list[str | None]] = [[] for _ in range(width)]
            for line, cells in wb.rows(name):
                lines.append(line)
                for j in range(width):
                    cols[j].append(cells[j] if j < len(cells) else None)
                if len(lines) >= BATCH_ROWS:
                    yield pa.RecordBatch.from_arrays(
                        [pa.array(lines, pa.int64())] + [pa.array(c, pa.string()) for c in cols], schema=schema)
                    lines, cols = [], [[] for _ in range(width)]
            if lines:
                yield pa.RecordBatch.from_arrays(
                    [pa.array(lines, pa.int64())] + [pa.array(c, pa.string()) for c in cols], schema=schema)

        con.register(view, pa.RecordBatchReader.from_batches(schema, batches()))

    def close() -> None:
        wb.close()

    return Source(path, f"xlsx:{name}", view, [], width, head, list(range(len(head))), lines,
                  line_column="__src_line", sha256=_sha256(path), register=register, closers=[close],
                  date1904=_date1904(path))


def _date1904(path: Path) -> bool:
    """Whether the workbook uses the 1904 date system (workbookPr date1904, Excel for Mac's old default).
    Its date cells come out as dates either way; a plain number in a date column is a serial from 1904."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            head = z.read("xl/workbook.xml")[:4096]
    except (KeyError, OSError, zipfile.BadZipFile):
        return False
    return re.search(rb"""date1904\s*=\s*["'](1|true)["']""", head) is not None


def xlsx_sheet_names(path: Path, *, hidden: bool = False) -> list[str]:
    """The visible sheets of a workbook, in tab order (``hidden``: the hidden and very hidden ones)."""
    wb = _Workbook(path)
    try:
        return list(wb.hidden if hidden else wb.visible)
    finally:
        wb.close()


# ---------------------------------------------------------------------------------------------
# Parquet


def _parquet_text(name: str, typ: str) -> str:
    """A Parquet column as text the way an export would print it: whole floats without '.0' (codes
    stored as floats keep their digits), timestamps as 'YYYY-MM-DD HH:MM:SS'."""
    from crmtool.store import quote_ident as q

    c = q(name)
    t = typ.upper()
    if t in ("DOUBLE", "FLOAT", "REAL"):
        return (f"CASE WHEN isfinite({c}) AND {c} = floor({c}) AND abs({c}) < 1e15 "
                f"THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END")
    if t.startswith("TIMESTAMP"):
        return f"strftime({c}, '%Y-%m-%d %H:%M:%S')"
    return f"CAST({c} AS VARCHAR)"


_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT")
# the value classes a loader column may take as they are (see load._typed): a number, a whole number,
# a date; FLOAT is left out (its text, '0.1', is not its value, 0.100000001…), and so is a timestamp
# with a time zone (its date depends on the session's zone)
VALUE_CLASSES = ("float", "int", "decimal", "date", "timestamp")


def _parquet_value_class(typ: str) -> str | None:
    t = typ.upper()
    if t == "DOUBLE":
        return "float"
    if t in _INTEGER_TYPES:
        return "int"
    if t.startswith("DECIMAL"):
        return "decimal"
    if t == "DATE":
        return "date"
    if t in ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"):
        return "timestamp"
    return None


def read_parquet(path: Path, con) -> Source:
    """A Parquet file. Text columns come as c<i>; numbers, dates and timestamps as their values v<i>,
    so the loader converts them without printing and parsing them again (their text, for the value
    of a reject or a total row's first cell, is computed only where it is read)."""
    import duckdb

    from crmtool.store import quote_ident as q

    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"PAR1":
        raise InputError(f"{path}: cannot read as Parquet: the file does not start with the Parquet magic bytes")
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot read as Parquet: {str(exc).splitlines()[0][:160]}") from None
    names = [r[0] for r in described]
    values = {i: cls for i, (_, t, *_) in enumerate(described) if (cls := _parquet_value_class(t))}
    cols = ", ".join(f"{q(n)} AS v{i}" if i in values else f"{_parquet_text(n, t)} AS c{i}"
                     for i, (n, t, *_) in enumerate(described))
    relation = (f"(SELECT file_row_number + 2 AS __src_line, {cols} "
                f"FROM read_parquet(?, file_row_number = true))")
    return Source(path, "parquet", relation, [str(path)], len(names), [list(names)], [-1], [1], header_given=True,
                  line_column="__src_line", sha256=_sha256(path), values=values,
                  value_texts={i: _parquet_text(f"v{i}", described[i][1]) for i in values})


# ---------------------------------------------------------------------------------------------


def is_csv(path: str | Path) -> bool:
    return Path(path).suffix.lower() in (".csv", ".txt", ".tsv", "")


def open_source(path: str | Path, con, sheet: str | None = None, prepared: Prepared | None = None) -> Source:
    """Open any supported file by its extension (a CSV ``prepared`` already, when given)."""
    p = Path(path)
    if p.is_dir():
        kinds = sorted({f.suffix.lower() for f in p.iterdir() if f.is_file() and f.suffix.lower() in
                        (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet", ".pq")}) or [".csv"]
        raise InputError(f"{p}: this is a folder; give the files in it (e.g. {p / ('*' + kinds[0])})")
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    ext = p.suffix.lower()
    if ext in (".xlsx", ".xlsm"):
        return read_xlsx(p, sheet)
    if ext == ".xls":
        raise InputError(f"{p}: old .xls workbooks are not supported; save it as .xlsx or CSV")
    if ext in (".parquet", ".pq"):
        return read_parquet(p, con)
    if is_csv(p):
        return read_csv(p, con, prepared)
    raise InputError(f"{p}: unknown file type {ext!r}; use .csv, .xlsx or .parquet")
