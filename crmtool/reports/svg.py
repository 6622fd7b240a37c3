"""Charts for the HTML reports: matplotlib drawn to inline SVG.

Why matplotlib (compared with plotly and pyecharts): the SVG is a few kB to ~150 kB per chart,
needs no JavaScript and prints sharply; plotly's offline mode embeds its 3.5 MB plotly.min.js in
every file, pyecharts loads echarts from a CDN by default (offline needs a copy of the script);
matplotlib is the best kept of the three. Text is written as SVG ``<text>`` (``svg.fonttype
none``) so the browser draws it with the page's CJK font stack; matplotlib only measures it. When no
CJK font is installed the layout is measured with DejaVu Sans (Chinese labels may then sit a little
tight) and :func:`cjk_font` says so.
"""

from __future__ import annotations

import functools
import io
import re
import warnings
from typing import Any

from crmtool.reports.model import Chart

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
             "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei", "Noto Sans CJK JP")
PALETTE = ("#1F4E78", "#ED7D31", "#70AD47", "#A5A5A5", "#FFC000", "#5B9BD5", "#C00000", "#7030A0")


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first CJK font matplotlib can find, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in CJK_FONTS if f in names), None)


def _setup():
    import logging

    import matplotlib

    # "findfont: Failed to find font weight bold for …, now using 400" went to stderr on every report:
    # noise in a cron mail and a 'stderr not empty' alarm; the text is drawn by the browser anyway
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    found = cjk_font()
    return plt, {
        "svg.fonttype": "none",
        "font.family": "sans-serif",
        "font.sans-serif": ([found] if found else []) + ["DejaVu Sans"] + [f for f in CJK_FONTS if f != found],
        "font.size": 9,
        "axes.titlesize": 11,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#DDDDDD",
        "grid.linewidth": 0.6,
        "axes.axisbelow": True,
        "text.parse_math": False,  # a '$' in a customer name is text, not mathtext
        "svg.hashsalt": "crmtool",
        "axes.unicode_minus": False,
    }


def _formatter(fmt: str):
    from matplotlib.ticker import FuncFormatter

    if fmt.endswith("%"):
        digits = fmt.count("0") - 1
        return FuncFormatter(lambda v, _: f"{v * 100:.{max(digits, 0)}f}%")
    if fmt in ("#,##0", "0"):
        return FuncFormatter(lambda v, _: f"{v:,.0f}")
    return None


def chart_svg(chart: Chart) -> str:
    """The chart as an inline ``<svg>`` element (no XML declaration, DOCTYPE or metadata)."""
    plt, rc = _setup()
    with plt.rc_context(rc), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph missing from font": the browser draws the text
        rc_salt = {"svg.hashsalt": f"crmtool-{chart.id}"}
        with plt.rc_context(rc_salt):
            fig = _draw(plt, chart)
            buf = io.StringIO()
            fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
            plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    # a responsive element: the viewBox stays, the fixed size goes
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 class="chart"', svg, count=1)
    return svg


def _draw(plt, chart: Chart):
    n_cats = len(chart.categories)
    height = 4.2
    if chart.kind == "barh":
        height = max(3.0, 0.9 + 0.24 * n_cats)
    fig, ax = plt.subplots(figsize=(9, height))
    colors = list(PALETTE)
    if chart.kind == "line":
        xs = range(n_cats)
        for k, s in enumerate(chart.series):
            ax.plot(list(xs), [float(v) if v is not None else float("nan") for v in s.y], marker="o", markersize=3.5,
                    linewidth=1.8, color=colors[k % len(colors)], label=s.name)
        step = max(1, n_cats // 12)
        ax.set_xticks(list(range(0, n_cats, step)))
        ax.set_xticklabels([chart.categories[i] for i in range(0, n_cats, step)], rotation=45 if n_cats > 8 else 0,
                           ha="right" if n_cats > 8 else "center")
    elif chart.kind in ("bar", "barh"):
        k_series = max(1, len(chart.series))
        width = 0.8 / k_series
        for k, s in enumerate(chart.series):
            pos = [i + (k - (k_series - 1) / 2) * width for i in range(n_cats)]
            vals = [float(v) if v is not None else 0.0 for v in s.y]
            if chart.kind == "bar":
                bars = ax.bar(pos, vals, width=width * 0.95, color=colors[k % len(colors)], label=s.name)
            else:
                bars = ax.barh(pos, vals, height=width * 0.85, color=colors[k % len(colors)], label=s.name)
            if n_cats <= 40:
                fmt = chart.y_fmt if chart.kind == "bar" else chart.x_fmt
                ax.bar_label(bars, labels=[_fmt_value(v, fmt) for v in vals], fontsize=7, padding=2)
        if chart.kind == "bar":
            ax.set_xticks(list(range(n_cats)))
            ax.set_xticklabels(chart.categories, rotation=30 if n_cats > 6 else 0, ha="right" if n_cats > 6 else "center")
            ax.grid(axis="x", visible=False)
        else:
            ax.set_yticks(list(range(n_cats)))
            ax.set_yticklabels(chart.categories)
            ax.invert_yaxis()
            ax.grid(axis="y", visible=False)
            ax.margins(x=0.08)
    else:  # scatter / curve
        for k, s in enumerate(chart.series):
            x = [float(v) if v is not None else float("nan") for v in (s.x or [])]
            y = [float(v) if v is not None else float("nan") for v in s.y]
            if chart.kind == "scatter":
                ax.scatter(x, y, s=7, alpha=0.6, color=colors[k % len(colors)], label=s.name, linewidths=0)
            else:
                ax.plot(x, y, linewidth=2 if k == 0 else 1, linestyle="-" if k == 0 else "--",
                        color=colors[k % len(colors)] if k == 0 else "#888888", label=s.name)
        if chart.kind == "curve":
            ax.set_aspect("auto")
    for axis, value in chart.lines:
        (ax.axvline if axis == "x" else ax.axhline)(value, color="#C00000", linewidth=0.8, linestyle=":")
    if chart.x_range and chart.kind in ("scatter", "curve"):
        ax.set_xlim(*chart.x_range)
    if chart.y_range:
        ax.set_ylim(*chart.y_range)
    xf = _formatter(chart.x_fmt) if chart.kind in ("scatter", "curve", "barh") else None
    yf = _formatter(chart.y_fmt) if chart.kind != "barh" else None
    if xf is not None:
        ax.xaxis.set_major_formatter(xf)
    if yf is not None:
        ax.yaxis.set_major_formatter(yf)
    ax.set_title(chart.title, loc="left", fontweight="bold")
    if chart.x_title:
        ax.set_xlabel(chart.x_title)
    if chart.y_title:
        ax.set_ylabel(chart.y_title)
    if len(chart.series) > 1:
        ax.legend(frameon=False, fontsize=8, loc="best", markerscale=2 if chart.kind == "scatter" else 1)
    fig.tight_layout()
    return fig


def _fmt_value(v: Any, fmt: str) -> str:
    if v is None:
        return ""
    if fmt.endswith("%"):
        return f"{v * 100:.1f}%"
    if fmt in ("0.00", "0.000"):
        return f"{v:.{fmt.count('0') - 1}f}"
    return f"{v:,.0f}"
