"""A report document as one self-contained HTML file: inline CSS, inline SVG charts, a few lines
of inline JavaScript to sort tables. No external resource of any kind (no CDN, font or image URL),
so it opens offline. Jinja autoescape is always on: names from the inputs are text, never markup."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from pathlib import Path
from typing import Any

from crmtool import labels as L
from crmtool.reports.model import DATE, PCT, TEXT, Document, TableBlock

# rows of one table shown in HTML (a browser stays responsive; the workbook has every row)


def format_value(v: Any, fmt: str) -> str | None:
    """A value as the Excel number format ``fmt`` shows it."""
    if v is None:
        return None
    if isinstance(v, decimal.Decimal):
        v = float(v)
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, dt.datetime):
        return v.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, (int, float)) and fmt != TEXT:
        if fmt.endswith("%"):
            digits = fmt.split(".")[1].count("0") if "." in fmt else 0
            return f"{v * 100:.{digits}f}%"
        digits = fmt.split(".")[1].count("0") if "." in fmt else 0
        if fmt.startswith("#,##"):
            return f"{v:,.{digits}f}"
        return f"{v:.{digits}f}"
    return str(v)


def _completion_class(v: Any, fmt: str) -> str:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return ""
    f = float(v) * (100 if fmt == PCT else 1)
    return "c-bad" if f < 90 else "c-mid" if f < 100 else "c-good"


def _rows(block: TableBlock) -> list[list[tuple[Any, str]]]:
    n = block.rows.num_rows  # at most report.max_rows: the model keeps the top rows of a longer table
    cols = [block.rows.column(i).slice(0, n).to_pylist() for i in range(len(block.columns))]
    numeric = [c.fmt not in (TEXT, DATE) for c in block.columns]
    classes = []
    for c, num in zip(block.columns, numeric):
        classes.append("n" if num else "")
    heat_max = 0
    if block.heat:
        heat_max = max([v for col in cols[1:] for v in col if isinstance(v, (int, float))] or [0])
    out = []
    sev = block.column_index("severity")
    for i in range(n):
        row = []
        for j, c in enumerate(block.columns):
            v = cols[j][i]
            text = format_value(v, c.fmt)
            cls = classes[j]
            if j == sev and isinstance(v, str):
                sid = block.severity.get(v)
                if sid in ("high", "medium", "low"):
                    cls = f"sev-{sid}"
            elif c.key in ("completion", "month_completion", "year_completion", "ytd_completion", "attainment"):
                cls = (cls + " " + _completion_class(v, c.fmt)).strip()
            if block.heat and j > 0 and isinstance(v, (int, float)) and heat_max:
                alpha = 0.08 + 0.72 * (float(v) / heat_max)
                row.append(({"text": text, "bg": f"rgba(91,155,213,{alpha:.2f})"}, cls))
                continue
            row.append((text, cls))
        out.append(row)
    return out


def write_html(doc: Document, path: Path) -> Path:
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    from crmtool.reports.svg import chart_svg, cjk_font

    env = Environment(loader=PackageLoader("crmtool", "reports/templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    t = lambda key, **kw: L.report_text(key, doc.lang, **kw)  # noqa: E731
    sections = []
    for s in doc.sections:
        items: list[tuple[str, dict[str, Any]]] = []
        for chart in s.charts:
            items.append(("chart", {"id": chart.id, "title": chart.title, "svg": Markup(chart_svg(chart))}))
        for block in s.tables:
            items.append(("table", {
                "id": block.id, "title": block.title, "note": block.note,
                "cut": t("rows_cut", shown=block.rows.num_rows, total=block.total_rows, file=block.full_file)
                if block.full is not None else "",
                "columns": [c.label for c in block.columns], "rows": _rows(block)}))
        sections.append({"id": s.id, "title": s.title, "lines": s.lines, "parts": items})
    headlines = [{"title": h.title, "rows": [(label, format_value(value, fmt) if value is not None else "",
                                               fmt != TEXT) for label, value, fmt in h.rows]} for h in doc.headlines]
    facts = [(label, format_value(value, TEXT)) for label, value in doc.facts]
    text = {k: t(k) for k in ("contents", "summary", "skipped", "sort_hint", "full_results")}
    full_results = [(b.title, f"{b.total_rows:,}", b.full_file) for b in doc.cut_tables()]
    full_note = t("full_results_note", shown=doc.max_rows) if full_results else ""
    chart_note = t("chart_font_note") if doc.lang == "zh" and doc.charts() and cjk_font() is None else ""
    html = env.get_template("report.html").render(doc=doc, sections=sections, headlines=headlines, facts=facts,
                                                  text=text, chart_note=chart_note,
                                                  full_results=full_results, full_note=full_note)
    Path(path).write_text(html, encoding="utf-8")
    return Path(path)
