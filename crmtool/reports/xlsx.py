"""A report document as an Excel workbook (openpyxl, write-only so large sheets stream to disk).

Sheets: the summary first (period, as-of, data freshness, headline figures, contents), the charts
(native Excel charts over the "chart data" sheet at the end), then one sheet per table. Every sheet
prints A4 landscape, fit to width, with its header row repeated; tables have a frozen, filtered
header, number / thousands / percent formats, widths that fit Chinese text, and conditional
formats for severity, completion and the migration matrix. Text is always written as text: a name
such as ``=HYPERLINK(…)`` never becomes a formula.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from copy import copy
from pathlib import Path
from typing import Any

from crmtool import labels as L
from crmtool.reports.model import DATE, PCT, TEXT, Chart, Document, TableBlock

HEADER_FILL = "1F4E78"
SEVERITY_FILLS = {"high": "F8696B", "medium": "FFB266", "low": "FFEB84"}
MAX_WIDTH = 48


def display_width(text: str) -> int:
    """Columns a text needs: CJK and full-width characters count double."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def sheet_name(title: str, taken: set[str]) -> str:
    base = "".join(" " if ch in '[]:*?/\\' else ch for ch in title).strip().strip("'")[:31] or "sheet"
    candidate, n = base, 2
    while candidate.lower() in {t.lower() for t in taken}:
        suffix = f" {n}"
        candidate, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(candidate)
    return candidate


class _Styles:
    """One prototype cell per style: new cells copy its style array (fast for 10^5 rows)."""

    def __init__(self, ws) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        self.ws = ws
        self._cell = WriteOnlyCell
        self._protos: dict[str, Any] = {}
        thin = Side(style="thin", color="BFBFBF")
        self.header_font = Font(bold=True, color="FFFFFF")
        self.header_fill = PatternFill("solid", fgColor=HEADER_FILL)
        self.header_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.border = Border(bottom=thin)
        self.bold = Font(bold=True)
        self.title_font = Font(bold=True, size=14, color=HEADER_FILL)
        self.section_font = Font(bold=True, size=11, color=HEADER_FILL)

    def cell(self, value: Any, fmt: str | None = None, *, font=None, fill=None, align=None):
        c = self._cell(self.ws)
        value = _plain_value(value)
        if isinstance(value, str):
            c.value = value
            c.data_type = "s"  # never a formula, whatever the text starts with
        else:
            c.value = value
        if fmt and fmt != TEXT and value is not None and not isinstance(value, str):
            key = fmt
            proto = self._protos.get(key)
            if proto is None:
                proto = self._cell(self.ws)
                proto.number_format = fmt
                self._protos[key] = proto
            c._style = copy(proto._style)
        if font is not None:
            c.font = font
        if fill is not None:
            c.fill = fill
        if align is not None:
            c.alignment = align
        return c

    def header(self, value: str):
        return self.cell(value, font=self.header_font, fill=self.header_fill, align=self.header_align)


def _plain_value(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def _print_setup(ws, *, title: str, header_rows: str | None = "1:1", one_page: bool = False) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 9  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.75
    ws.page_margins.header = ws.page_margins.footer = 0.3
    if header_rows:
        ws.print_title_rows = header_rows
    ws.oddHeader.center.text = title.replace("&", "&&")
    ws.oddHeader.center.size = 10
    ws.oddFooter.right.text = "&P / &N"
    ws.oddFooter.right.size = 8


def write_xlsx(doc: Document, path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    taken: set[str] = set()
    t = lambda key, **kw: L.report_text(key, doc.lang, **kw)  # noqa: E731
    summary = wb.create_sheet(sheet_name(t("summary"), taken))
    charts = doc.charts()
    chart_ws = wb.create_sheet(sheet_name(t("charts"), taken)) if charts else None
    sheets: list[tuple[TableBlock, Any]] = []
    for block in doc.tables():
        sheets.append((block, wb.create_sheet(sheet_name(block.title, taken))))
    data_ws = wb.create_sheet(sheet_name(t("chart_data"), taken)) if charts else None

    _write_summary(doc, summary, sheets, chart_ws)
    if charts:
        _write_charts(doc, charts, chart_ws, data_ws)
    for block, ws in sheets:
        _write_table(doc, block, ws)
    wb.save(path)
    return path


def _write_summary(doc: Document, ws, sheets: list[tuple[TableBlock, Any]], chart_ws) -> None:
    from openpyxl.worksheet.hyperlink import Hyperlink

    st = _Styles(ws)
    t = lambda key, **kw: L.report_text(key, doc.lang, **kw)  # noqa: E731
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 28
    ws.column_dimensions["C"].width = 14
    _print_setup(ws, title=doc.title, header_rows=None)
    ws.append([st.cell(doc.title, font=st.title_font)])
    ws.append([])
    for label, value in doc.facts:
        # a time (the last load) with its hours and minutes, a date as a date
        fmt = "yyyy-mm-dd hh:mm" if isinstance(value, dt.datetime) else DATE if isinstance(value, dt.date) else None
        ws.append([st.cell(label, font=st.bold), st.cell(value, fmt)])
    for h in doc.headlines:
        ws.append([])
        ws.append([st.cell(h.title, font=st.section_font)])
        for label, value, fmt in h.rows:
            ws.append([st.cell(label), st.cell(value, fmt)])
    if doc.notes:
        ws.append([])
        ws.append([st.cell(t("skipped"), font=st.section_font)])
        for note in doc.notes:
            ws.append([st.cell(note)])
    if doc.cut_tables():
        ws.append([])
        ws.append([st.cell(t("full_results"), font=st.section_font)])
        ws.append([st.cell(t("full_results_note", shown=doc.max_rows))])
        ws.append([st.header(t("sheet")), st.header(t("rows")), st.header(t("full_file"))])
        for b, w in sheets:
            if b.full is not None:
                ws.append([st.cell(w.title), st.cell(b.total_rows, "#,##0"), st.cell(b.full_file)])
    ws.append([])
    ws.append([st.cell(t("contents"), font=st.section_font)])
    ws.append([st.header(t("sheet")), st.header(t("rows")), st.header("")])
    entries = ([(chart_ws.title, len(doc.charts()))] if chart_ws is not None else []) + \
        [(w.title, b.rows.num_rows) for b, w in sheets]  # the rows each sheet shows
    from openpyxl.styles import Font

    link_font = Font(color="0563C1", underline="single")
    for title, n in entries:
        c = st.cell(title, font=link_font)
        c.hyperlink = Hyperlink(ref="", location=f"'{title}'!A1", display=title)
        ws.append([c, st.cell(n, "#,##0")])


def _write_table(doc: Document, block: TableBlock, ws) -> None:
    from openpyxl.formatting.rule import CellIsRule, ColorScaleRule
    from openpyxl.styles import PatternFill
    from openpyxl.utils import get_column_letter

    st = _Styles(ws)
    n, m = block.rows.num_rows, len(block.columns)
    # widths first (column dimensions must precede the rows in a streamed sheet); headers wrap
    sample = block.rows.slice(0, 300)
    header_lines = 1
    for j, col in enumerate(block.columns, start=1):
        values = sample.column(j - 1).to_pylist() if m else []
        need = 0
        for v in values:
            if v is not None:
                need = max(need, _shown_width(v, col.fmt))
        head = display_width(col.label)
        width = min(MAX_WIDTH, max(6, need + 2, min(head, 10 if block.compact else 14) + 2))
        header_lines = max(header_lines, -(-head // max(1, int(width) - 1)))
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.row_dimensions[1].height = 15 * min(header_lines, 4) + 2
    ws.freeze_panes = "B2" if block.columns and block.columns[0].key in ("customer_id", "manager_id") else "A2"
    _print_setup(ws, title=f"{doc.title} — {block.title}", one_page=block.compact and n <= 60)
    ws.append([st.header(c.label) for c in block.columns])
    columns = [block.rows.column(i) for i in range(m)]
    fmts = [c.fmt for c in block.columns]
    cell = st.cell
    for start in range(0, n, 4096):
        chunk = [col.slice(start, 4096).to_pylist() for col in columns]
        for i in range(len(chunk[0]) if chunk else 0):
            ws.append([cell(chunk[j][i], fmts[j]) for j in range(m)])
    if n and m:
        last = get_column_letter(m)
        ws.auto_filter.ref = f"A1:{last}{n + 1}"
    if block.full is not None:  # below the filtered range: where the rest of the table is
        ws.append([])
        ws.append([st.cell(L.report_text("rows_cut", doc.lang, shown=n, total=block.total_rows,
                                         file=block.full_file), font=st.bold)])
    # conditional formats
    j = block.column_index("severity")
    if j is not None and n:
        col = get_column_letter(j + 1)
        for label, sid in block.severity.items():
            if sid in SEVERITY_FILLS:
                ws.conditional_formatting.add(
                    f"{col}2:{col}{n + 1}",
                    CellIsRule(operator="equal", formula=['"' + label.replace('"', '""') + '"'],
                               fill=PatternFill("solid", fgColor=SEVERITY_FILLS[sid], bgColor=SEVERITY_FILLS[sid])))
    for j, c in enumerate(block.columns):
        if c.key in ("completion", "month_completion", "year_completion", "ytd_completion", "attainment") and n:
            col = get_column_letter(j + 1)
            if c.fmt == PCT:
                lo, mid, hi = 0.5, 0.9, 1.0
            else:
                lo, mid, hi = 50, 90, 100
            ws.conditional_formatting.add(
                f"{col}2:{col}{n + 1}",
                ColorScaleRule(start_type="num", start_value=lo, start_color="F8696B",
                               mid_type="num", mid_value=mid, mid_color="FFEB84",
                               end_type="num", end_value=hi, end_color="63BE7B"))
    if block.heat and n and m > 1:
        ws.conditional_formatting.add(
            f"B2:{get_column_letter(m)}{n + 1}",
            ColorScaleRule(start_type="min", start_color="FFFFFF", end_type="max", end_color="5B9BD5"))
    if block.note:
        ws.append([])
        ws.append([cell(block.note)])


def _shown_width(v: Any, fmt: str) -> int:
    if isinstance(v, str):
        return display_width(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return 10 if not isinstance(v, dt.datetime) else 19
    if isinstance(v, bool):
        return 3
    if isinstance(v, (int, float, decimal.Decimal)):
        f = float(v)
        if fmt == PCT:
            return len(f"{f * 100:.1f}%")
        digits = len(f"{abs(f):,.0f}")
        return digits + (2 if "." in fmt else 0) + (1 if f < 0 else 0)
    return len(str(v))


# ---------------------------------------------------------------------------------------------
# charts

def _write_charts(doc: Document, charts: list[Chart], ws, data_ws) -> None:
    """Each chart's data goes to the chart data sheet (a block of rows); the chart on the charts
    sheet refers to it."""
    st = _Styles(ws)
    dst = _Styles(data_ws)
    _print_setup(ws, title=f"{doc.title} — {L.report_text('charts', doc.lang)}", header_rows=None)
    _print_setup(data_ws, title=f"{doc.title} — {L.report_text('chart_data', doc.lang)}", header_rows=None)
    # the numbers behind the charts: hidden (Excel unhides it on request), so a printout of the
    # workbook is the report and not pages of helper rows; the charts read hidden sheets as any other
    data_ws.sheet_state = "hidden"
    ws.column_dimensions["A"].width = 12
    data_ws.column_dimensions["A"].width = 24
    row = 1  # next free row on the data sheet
    anchors = []
    for i, chart in enumerate(charts):
        first = row
        data_ws.append([dst.cell(chart.title, font=dst.bold)])
        row += 1
        xl = _native_chart(chart, data_ws, dst, row)
        row += xl[1]
        data_ws.append([])
        row += 1
        anchors.append(xl[0])
    from openpyxl.worksheet.pagebreak import Break

    at = 1
    for chart, xl in zip(charts, anchors):
        rows = int(xl.height / 0.53) + 3  # a default row is 0.53 cm high
        if at > 1:
            ws.row_breaks.append(Break(id=at - 1))  # one chart a printed page
        ws.append([st.cell(chart.title, font=st.section_font)])
        ws.add_chart(xl, f"A{at + 1}")
        for _ in range(rows - 1):
            ws.append([])
        at += rows


def _font(size: int):
    from openpyxl.chart.text import RichText
    from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties

    cp = CharacterProperties(sz=size)
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=cp), endParaRPr=cp)])


def _native_chart(chart: Chart, ws, st: _Styles, row: int):
    """Write the chart's data from ``row`` on and return (openpyxl chart, rows used)."""
    from openpyxl.chart import BarChart, LineChart, Reference, ScatterChart
    from openpyxl.chart import Series as XSeries
    from openpyxl.chart.shapes import GraphicalProperties

    from crmtool.reports.svg import PALETTE

    if chart.kind in ("scatter", "curve"):
        longest = max((len(s.y) for s in chart.series), default=0)
        header = []
        for s in chart.series:
            header += [st.header(f"{s.name} · x"), st.header(f"{s.name} · y")]
        ws.append(header)
        for i in range(longest):
            values = []
            for s in chart.series:
                if i < len(s.y):
                    values += [st.cell(s.x[i], "0.000"), st.cell(s.y[i], "0.000")]
                else:
                    values += [None, None]
            ws.append(values)
        xl = ScatterChart()
        xl.style = 13
        for k, s in enumerate(chart.series):
            xs = Reference(ws, min_col=2 * k + 1, min_row=row + 1, max_row=row + len(s.y))
            ys = Reference(ws, min_col=2 * k + 2, min_row=row + 1, max_row=row + len(s.y))
            ser = XSeries(ys, xs, title=s.name)
            color = PALETTE[k % len(PALETTE)].lstrip("#")
            if chart.kind == "scatter":
                ser.marker.symbol = "circle"
                ser.marker.size = 4
                ser.marker.graphicalProperties = GraphicalProperties(solidFill=color)
                ser.marker.graphicalProperties.line.solidFill = color
                ser.graphicalProperties.line.noFill = True
            else:
                ser.marker.symbol = "none"
                ser.smooth = False
                ser.graphicalProperties.line.solidFill = color if k == 0 else "888888"
                ser.graphicalProperties.line.width = 28575 if k == 0 else 12700
                if k > 0:
                    ser.graphicalProperties.line.dashStyle = "dash"
            xl.series.append(ser)
        rows_used = longest + 1
    else:
        header = [st.header("")] + [st.header(s.name) for s in chart.series]
        ws.append(header)
        for i, cat in enumerate(chart.categories):
            ws.append([st.cell(cat)] + [st.cell(s.y[i], chart.y_fmt or chart.x_fmt or "#,##0.0")
                                       for s in chart.series])
        n = len(chart.categories)
        if chart.kind == "line":
            xl = LineChart()
        else:
            xl = BarChart()
            xl.type = "bar" if chart.kind == "barh" else "col"
            xl.gapWidth = 60
            if chart.kind == "barh":
                xl.x_axis.scaling.orientation = "maxMin"  # the first (best) on top
                xl.y_axis.crosses = "max"  # … and the value axis below
            xl.x_axis.tickLblSkip = 1  # every category named
        data = Reference(ws, min_col=2, max_col=1 + len(chart.series), min_row=row, max_row=row + n)
        cats = Reference(ws, min_col=1, min_row=row + 1, max_row=row + n)
        xl.add_data(data, titles_from_data=True)
        xl.set_categories(cats)
        for k, ser in enumerate(xl.series):
            color = PALETTE[k % len(PALETTE)].lstrip("#")
            if chart.kind == "line":
                ser.marker.symbol = "circle"
                ser.marker.size = 5
                ser.marker.graphicalProperties = GraphicalProperties(solidFill=color)
                ser.graphicalProperties.line.solidFill = color
                ser.graphicalProperties.line.width = 22225
                ser.smooth = False
            else:
                ser.graphicalProperties.solidFill = color
        rows_used = n + 1
        if chart.kind == "barh" and n > 12:
            xl.height = min(3 + 0.4 * n, 15)
            xl.x_axis.txPr = _font(700)  # small enough that every name fits
    xl.title = chart.title
    xl.x_axis.title = chart.x_title or None
    xl.y_axis.title = chart.y_title or None
    if chart.kind == "barh":  # a horizontal bar chart's value axis is y in openpyxl
        xl.x_axis.title, xl.y_axis.title = None, chart.x_title or None
    for axis in (xl.x_axis, xl.y_axis):
        axis.delete = False  # openpyxl 3.1 hides axes unless told otherwise
    if chart.x_fmt and chart.kind in ("scatter", "curve"):
        xl.x_axis.number_format = chart.x_fmt
        xl.x_axis.majorGridlines = None
    if chart.y_fmt and chart.kind not in ("barh",):
        xl.y_axis.number_format = chart.y_fmt
    if chart.kind == "barh" and chart.x_fmt:
        xl.y_axis.number_format = chart.x_fmt
    if chart.x_range and chart.kind in ("scatter", "curve"):
        xl.x_axis.scaling.min, xl.x_axis.scaling.max = chart.x_range
    if chart.y_range:
        xl.y_axis.scaling.min, xl.y_axis.scaling.max = chart.y_range
    if len(chart.series) == 1 and chart.kind in ("bar", "barh"):
        xl.legend = None
    else:
        xl.legend.position = "b"
    xl.width = 24
    xl.height = max(getattr(xl, "height", 7.5), 10)
    return xl, rows_used
