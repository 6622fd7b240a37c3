"""A report as a document: sections of tables and charts with labels in one language.

The Excel and the HTML writers render the same :class:`Document`, so both show the same tables,
the same charts and the same numbers. Building a document only selects, orders, labels and
reshapes the result tables of the analyses (ids become labels, a long month × category table
becomes wide, a level cross-tab counts rows); it never computes a figure of an analysis anew.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from crmtool import labels as L

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from crmtool.config import Settings
    from crmtool.result import Result

# number formats (Excel codes; the HTML writer renders the same codes)
TEXT, INT, TONS, MONEY, DEC2, PCT, SCORE100, SCORE1, DATE, PLAIN = (
    "@", "#,##0", "#,##0.0", "#,##0", "#,##0.00", "0.0%", "0.0", "0.000", "yyyy-mm-dd", "0")

PCT_COLUMNS = frozenset({
    "share", "cum_share", "customer_share", "metric_share", "held_share", "buying_ratio", "retention",
    "lead_conversion", "visit_rate", "completion", "yoy", "qoq", "mom", "gross_margin", "ytd_completion", "ytd_yoy",
    "ytd_gross_margin", "month_completion", "year_completion", "month_progress", "year_progress", "attainment",
    "ratio", "p_alive", "share_of_wallet", "lift_before", "fulfilment", "precision", "recall", "sensitivity"})
SCORE100_COLUMNS = frozenset({"value_score", "fit_score", "reputation", "balance", "special", "total"})
SCORE1_COLUMNS = frozenset({"composite", "volume_score", "gross_profit_score", "purchase_months_score",
                            "share_of_wallet_score", "annual_demand_score", "score"})
MONEY_COLUMNS = frozenset({"monetary", "gross_profit", "cost", "ytd_cost", "profit_w", "profit_b", "profit_y",
                           "metric_value_amount"})
DEC2_COLUMNS = frozenset({"cost_per_ton", "did", "did_yoy", "cycle_days", "lead_days", "expected_purchases",
                          "recency_weeks", "age_weeks", "avg_distance_km"})
COUNT_COLUMNS = frozenset({"held", "held_change", "held_start", "buying", "new_customers", "customers", "trips",
                           "under_count", "targets", "campaigns", "leads_converted", "development", "warned",
                           "churned", "hits", "customer_months", "months", "key_customers"})
PLAIN_INT_COLUMNS = frozenset({"rank", "r_score", "f_score", "m_score", "idle_months", "breach_streak",
                               "decline_streak", "purchase_months", "idle_months_before", "returns", "days"})
# per analysis: columns whose meaning differs from the default (the balanced scorecard's indicators are
# 0–100 scores, not tons or shares)
FORMAT_OVERRIDES: dict[str, dict[str, str]] = {
    "grade.scorecard": {"completion": SCORE100, "balance": SCORE100, "volume": SCORE100, "special": SCORE100,
                        "total": SCORE100},
    # tons to one decimal as everywhere (whole tons hid 45.2 t as 45, and the rows no longer added up)
    "managers.scorecard": {"lead_days": "0.0"},
    "churn.idle": {"total": INT},  # a count of customers (the 0–100 'total' is the balanced scorecard's)
}
# columns never shown (helpers; *_label columns are replaced by labelling the id column in the chosen language)
HIDDEN = frozenset({"r_high", "f_high", "m_high", "p_volume", "p_completion", "p_retention", "p_development",
                    "__row", "month_start"})
WHO = ("name", "manager_id", "region")
COMPLETION_COLUMNS = frozenset({"completion", "month_completion", "year_completion", "ytd_completion",
                                "attainment"})


@dataclass
class Column:
    key: str
    label: str
    fmt: str  # an Excel number format; TEXT for text


@dataclass
class TableBlock:
    """One table: a sheet in Excel, a sortable table in HTML."""

    id: str
    title: str
    columns: list[Column]
    rows: "pa.Table"  # the shown columns in order, values ready to show (labels in the chosen language)
    note: str = ""
    severity: dict[str, str] = field(default_factory=dict)  # shown severity label -> id (conditional format)
    heat: bool = False  # a count matrix coloured by value (migration matrix)
    compact: bool = False  # printed as one page wide and high (managers)
    # at scale: the whole result table when ``rows`` shows only its first report.max_rows, its row
    # count, and the file beside the report it is written to (set by the writer)
    full: "pa.Table | None" = None
    total_rows: int = 0
    full_file: str = ""

    def column_index(self, key: str) -> int | None:
        for i, c in enumerate(self.columns):
            if c.key == key:
                return i
        return None


@dataclass
class Series:
    name: str
    y: list[float | None]
    x: list[float | None] | None = None  # scatter only


@dataclass
class Chart:
    id: str
    kind: str  # "line" (categories on x), "bar" (vertical), "barh" (horizontal), "scatter", "curve" (x-y lines)
    title: str
    series: list[Series]
    categories: list[str] = field(default_factory=list)
    x_title: str = ""
    y_title: str = ""
    x_fmt: str = ""
    y_fmt: str = ""
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    lines: list[tuple[str, float]] = field(default_factory=list)  # reference lines: ("x"|"y", value)


@dataclass
class Section:
    id: str
    title: str
    tables: list[TableBlock] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


@dataclass
class Headline:
    title: str
    rows: list[tuple[str, Any, str]]  # (label, value, format)


@dataclass
class Document:
    kind: str
    lang: str
    title: str
    facts: list[tuple[str, Any]]  # period, as-of, freshness …
    headlines: list[Headline] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    slug: str = "report"
    max_rows: int = 0  # report.max_rows: the rows a table shows at most
    full_format: str = "parquet"  # report.full_format: the file type of the whole tables written beside

    def cut_tables(self) -> list[TableBlock]:
        """The tables that show only their first rows; the whole of each is written beside the report."""
        return [t for t in self.tables() if t.full is not None]

    def tables(self) -> list[TableBlock]:
        return [t for s in self.sections for t in s.tables]

    def charts(self) -> list[Chart]:
        return [c for s in self.sections for c in s.charts]


# ---------------------------------------------------------------------------------------------
# data freshness

def freshness(con) -> dict[str, Any]:
    """Last order date and last load time (from ``batches``)."""
    out: dict[str, Any] = {}
    try:
        out["last_order_date"] = con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]
        out["last_load_time"] = con.execute("SELECT max(loaded_at) FROM batches").fetchall()[0][0]
    except Exception as exc:  # a bare connection without the store's tables: no freshness to show
        import duckdb

        if not isinstance(exc, duckdb.Error):
            raise
    return out


# ---------------------------------------------------------------------------------------------
# labelling values

def value_labels(name: str, settings: "Settings", lang: str) -> dict[str, Callable[[Any], Any]]:
    """column -> function turning an id into its label in ``lang`` for the analysis ``name``."""
    def mapping(d: Mapping[str, str]) -> Callable[[Any], Any]:
        return lambda v: d.get(v, v) if isinstance(v, str) else v

    levels = mapping(L.levels(settings, lang))
    cats = mapping(L.pick(L.CATEGORY_LABELS, lang))
    out = {
        "segment": mapping(L.segments(lang)),
        "abc_class": mapping(L.abc_classes(settings, lang)),
        "suggested_level": levels, "current_level": levels, "previous_level": levels, "level": levels,
        "change": mapping(L.changes(lang)), "migration": mapping(L.changes(lang)),
        "quadrant": mapping(L.quadrants(lang)), "service_tier": mapping(L.service_tiers(lang)),
        "status": mapping(L.statuses(lang)), "severity": mapping(L.severities(lang)),
        "category": cats, "group": mapping(L.pick(L.GROUP_LABELS, lang)),
        "demand_class": mapping(L.demand_classes(lang)), "loyalty": mapping(L.loyalty(lang)),
    }
    if name == "grade.scorecard":
        out["grade"] = mapping(L.grades(settings, lang))
    if name == "churn.backtest":  # the rules and the row of every severity, in words
        def rule(v: Any) -> Any:
            if lang != "zh" or not isinstance(v, str):
                return v
            if v.startswith("no_purchase_") and v.endswith("m"):
                return f"连续{v[len('no_purchase_'):-1]}个月未购"
            return {"warning": "购油量预警", "alive": "存活概率"}.get(v, v)
        out["rule"] = rule
        out["severity"] = mapping({**L.severities(lang), "any": "全部" if lang == "zh" else "any"})
    if name == "churn.idle":  # the group of customers without the dimension, as the other reports name it
        from crmtool.churn.idle import NO_GROUP

        none = {NO_GROUP: L.report_text("no_level", lang)}
        out["manager_id"] = mapping({NO_GROUP: L.report_text("no_manager", lang)})
        out["region"] = mapping(none)
        out["level"] = mapping({**L.levels(settings, lang), **none})
    return out


def column_format(name: str, key: str, arrow_type: "pa.DataType") -> str:
    import pyarrow as pa

    override = FORMAT_OVERRIDES.get(name, {}).get(key)
    if override:
        return override
    if pa.types.is_boolean(arrow_type) or pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) \
            or pa.types.is_list(arrow_type):
        return TEXT
    if pa.types.is_date(arrow_type) or pa.types.is_timestamp(arrow_type):
        return DATE
    if key in PCT_COLUMNS:
        return PCT
    if key in COUNT_COLUMNS:
        return INT
    if key in SCORE1_COLUMNS:
        return SCORE1
    if key in SCORE100_COLUMNS:
        return SCORE100
    if key in MONEY_COLUMNS:
        return MONEY
    if key in DEC2_COLUMNS:
        return DEC2
    if pa.types.is_integer(arrow_type):
        return PLAIN if key in PLAIN_INT_COLUMNS else INT
    return TONS


def shown_columns(table: "pa.Table", *, who: bool = True) -> list[str]:
    """The table's columns in SPEC order without helpers and *_label columns, with name, manager and
    region moved right beside customer_id."""
    names = [c for c in table.column_names if c not in HIDDEN and not c.endswith("_label")]
    if who and "customer_id" in names:
        rest = [c for c in names if c not in WHO]
        i = rest.index("customer_id") + 1
        names = rest[:i] + [c for c in WHO if c in names] + rest[i:]
    return names


def table_block(name: str, table: "pa.Table", *, id: str, title: str, lang: str, settings: "Settings",
                columns: list[str] | None = None, note: str = "", who: bool = True) -> TableBlock:
    """A result table as shown: the chosen columns, ids labelled, booleans as yes/no, lists joined."""
    import pyarrow as pa

    keys = columns or shown_columns(table, who=who)
    keys = [k for k in keys if k in table.column_names]
    labellers = value_labels(name, settings, lang)
    cols, arrays = [], []
    for key in keys:
        arr = table.column(key)
        fmt = column_format(name, key, arr.type)
        if key in labellers or pa.types.is_boolean(arr.type) or pa.types.is_list(arr.type):
            f = labellers.get(key)
            values = []
            for v in arr.to_pylist():
                if isinstance(v, bool):
                    v = L.yes_no(v, lang)
                elif isinstance(v, list):
                    v = ", ".join(str(x) for x in v)
                elif f is not None:
                    v = f(v)
                values.append(v)
            arr = pa.array(values, pa.string()) if fmt == TEXT else pa.array(values)
        cols.append(Column(key, L.column_label(key, lang, name), fmt))
        arrays.append(arr)
    rows = pa.table(arrays, names=keys) if keys else pa.table({})
    block = TableBlock(id, title, cols, rows, note=note)
    if "severity" in keys:
        block.severity = {label: sid for sid, label in L.severities(lang).items()}
    return block


# ---------------------------------------------------------------------------------------------
# reports at scale: the top rows of a long table

# analysis -> the order its top rows are chosen in when its own order is by id: (column, descending,
# ranks of text values — first is most urgent). Tables not named here are already ranked (rank,
# monetary, value score …) and keep their order.
TOP_ORDER: dict[str, tuple[tuple[str, bool, tuple[str, ...]], ...]] = {
    "churn.status": (("status", False, ("churned", "lost", "new", "active", "prospect")),
                     ("last_purchase_date", True, ())),
    "churn.warn": (("severity", False, ("high", "medium", "low")), ("ratio", False, ())),
    "churn.winback": (("return_volume", True, ()),),
    "churn.alive": (("frequency", True, ()), ("p_alive", False, ())),
    "sales.attainment": (("shortfall", True, ()),),
    "sales.freight": (("cost", True, ()),),
}


def top_rows(name: str, table: "pa.Table", n: int) -> "pa.Table":
    """The first ``n`` rows of ``table`` in the order of TOP_ORDER[name] (ties keep the analysis'
    order), else its own first ``n``: set-based in Arrow, no Python object per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = [k for k in TOP_ORDER.get(name, ()) if k[0] in table.column_names]
    if not keys:
        return table.slice(0, n)
    work = table.append_column("__pos", pa.array(range(table.num_rows), pa.int64()))
    sort = []
    for i, (col, desc, ranks) in enumerate(keys):
        values = work.column(col)
        if ranks:
            values = pc.fill_null(pc.index_in(values, value_set=pa.array(list(ranks))), len(ranks))
        work = work.append_column(f"__k{i}", values)
        sort.append((f"__k{i}", "descending" if desc else "ascending"))
    idx = pc.sort_indices(work, sort_keys=sort + [("__pos", "ascending")])  # nulls last
    return table.take(idx.slice(0, n))


# ---------------------------------------------------------------------------------------------
# the document of a report kind

class _Builder:
    def __init__(self, kind: str, results: Mapping[str, "Result"], lang: str, meta: Mapping[str, Any]) -> None:
        from crmtool.config import Settings

        self.kind, self.results, self.lang, self.meta = kind, results, lang, meta
        self.settings: Settings = meta.get("settings") or Settings()
        self.sections: list[Section] = []
        self.headlines: list[Headline] = []
        self._ids: set[str] = set()

    def t(self, key: str, **values: Any) -> str:
        return L.report_text(key, self.lang, **values)

    def title_of(self, name: str) -> str:
        from crmtool.runner import analysis

        spec = analysis(name)
        return spec.title_zh if self.lang == "zh" else spec.title

    def uid(self, base: str) -> str:
        base = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in base) or "t"
        candidate, n = base, 2
        while candidate in self._ids:
            candidate, n = f"{base}-{n}", n + 1
        self._ids.add(candidate)
        return candidate

    def block(self, name: str, table: "pa.Table", title: str, **kw: Any) -> TableBlock:
        """A result table as shown; one longer than report.max_rows shows its top rows (see top_rows)
        and keeps the whole table for the file written beside the report."""
        cap = self.settings.report.max_rows
        full = table if table.num_rows > cap else None
        shown = top_rows(name, table, cap) if full is not None else table
        block = table_block(name, shown, id=self.uid(name.replace(".", "-") + "-" + title), title=title,
                            lang=self.lang, settings=self.settings, **kw)
        block.total_rows = table.num_rows
        block.full = full
        return block

    def period_line(self, r: "Result") -> str:
        return f"{self.t('period')}: {r.period}" + (f" · {self.t('as_of')}: {r.as_of}" if r.as_of else "")

    # ---- sections per analysis

    def build(self) -> None:
        for name, r in self.results.items():
            fn = getattr(self, "sec_" + name.replace(".", "_"), None)
            section = Section(self.uid(name.replace(".", "-")), self.title_of(name), lines=[self.period_line(r)])
            if fn is not None:
                fn(name, r, section)
            else:
                section.tables.append(self.block(name, r.table, section.title))
                for key, extra in r.extras.items():
                    section.tables.append(self.block(name, extra, f"{section.title} · {key}"))
            self.sections.append(section)

    def sec_grade_level(self, name: str, r: "Result", s: Section) -> None:
        s.tables.append(self.block(name, r.table, s.title))
        levels = L.levels(self.settings, self.lang)
        counts = r.summary.get("levels") or {}
        s.charts.append(Chart(self.uid("chart-levels"), "bar", self.t("chart.levels"),
                              [Series(self.t("chart.customers"), [counts.get(k, 0) for k in levels])],
                              categories=list(levels.values()), y_title=self.t("chart.customers"), y_fmt=INT))
        s.tables.append(self.migration(name, r))
        self.headlines.append(Headline(self.t("customers_by_level"),
                                       [(levels[k], counts.get(k, 0), INT) for k in levels]))
        self.headlines.append(self.movers(r))

    def migration(self, name: str, r: "Result") -> TableBlock:
        """Rows: the level before (the compared snapshot when `compare` was given, else the archive
        level); columns: the suggested level; cells: customer counts (rows of the result)."""
        import pyarrow as pa

        if "migration" in r.extras:
            m = r.extras["migration"]
            src = "previous_level" if "previous_level" in m.column_names else m.column_names[0]
            note = self.t("migration_note_compare")
            pairs = None
        else:
            src, note, m = "current_level", self.t("migration_note_archive"), None
            pairs = list(zip(r.table.column("current_level").to_pylist(),
                             r.table.column("suggested_level").to_pylist()))
        tiers = list(L.levels(self.settings, self.lang).items())
        none = self.t("no_level")
        ids = [t for t, _ in tiers]
        counts: dict[tuple[Any, Any], int] = {}
        if pairs is not None:
            for before, now in pairs:
                key = (before if before in ids else None, now if now in ids else None)
                counts[key] = counts.get(key, 0) + 1
        else:
            to_cols = [c for c in m.column_names if c != src]
            for row in m.to_pylist():
                b = row[src] if row[src] in ids else None
                for c in to_cols:
                    cid = c if c in ids else None
                    counts[(b, cid)] = counts.get((b, cid), 0) + int(row[c] or 0)
        row_ids = ids + ([None] if any(k[0] is None for k in counts) else [])
        col_ids = ids + ([None] if any(k[1] is None for k in counts) else [])
        label = dict(tiers)
        data: dict[str, list[Any]] = {"from": [label.get(b, none) if b else none for b in row_ids]}
        cols = [Column("from", self.t("from_level"), TEXT)]
        for c in col_ids:
            key = c or "none"
            data[key] = [counts.get((b, c), 0) for b in row_ids]
            cols.append(Column(key, label.get(c, none) if c else none, INT))
        block = TableBlock(self.uid("level-migration"), self.t("table.migration"), cols,
                           pa.table(data), note=note, heat=True)
        return block

    def movers(self, r: "Result", n: int = 10) -> Headline:
        """Top movers: the customers whose suggested level is furthest from the level before, then by
        composite (a selection of result rows, nothing recomputed)."""
        order = {t: i for i, t in enumerate(L.levels(self.settings, "en"))}
        labels = L.levels(self.settings, self.lang)
        before_col = "previous_level" if "previous_level" in r.table.column_names else "current_level"
        cols = r.table.select([c for c in ("customer_id", "name", before_col, "suggested_level", "composite")
                               if c in r.table.column_names]).to_pylist()
        moved = [row for row in cols if row.get(before_col) in order and row.get("suggested_level") in order
                 and row[before_col] != row["suggested_level"]]
        moved.sort(key=lambda row: (-abs(order[row[before_col]] - order[row["suggested_level"]]),
                                    -(row.get("composite") or 0), row["customer_id"]))
        rows = [(f"{row['customer_id']} {row.get('name') or ''}".strip(),
                 f"{labels[row[before_col]]} → {labels[row['suggested_level']]}", TEXT) for row in moved[:n]]
        return Headline(self.t("top_movers"), rows or [(self.t("none_found"), "", TEXT)])

    def sec_grade_rfm(self, name: str, r: "Result", s: Section) -> None:
        s.tables.append(self.block(name, r.table, s.title))
        segs = L.segments(self.lang)
        counts = r.summary.get("segments") or {}
        s.charts.append(Chart(self.uid("chart-segments"), "barh", self.t("chart.segments"),
                              [Series(self.t("chart.customers"), [counts.get(k, 0) for k in segs])],
                              categories=list(segs.values()), x_title=self.t("chart.customers"), x_fmt=INT))

    def sec_grade_pareto(self, name: str, r: "Result", s: Section) -> None:
        s.tables.append(self.block(name, r.table, s.title))
        lorenz = r.extras.get("lorenz")
        if lorenz is not None and lorenz.num_rows:
            x = lorenz.column("customer_share").to_pylist()
            y = lorenz.column("metric_share").to_pylist()
            metric = L.column_label(str(r.summary.get("metric", "volume")), self.lang)
            s.charts.append(Chart(self.uid("chart-lorenz"), "curve", self.t("chart.lorenz"),
                                  [Series(self.t("chart.lorenz.curve"), y, x),
                                   Series(self.t("chart.lorenz.equal"), [0.0, 1.0], [0.0, 1.0])],
                                  x_title=self.t("chart.lorenz.x"), y_title=f"{self.t('chart.lorenz.y')} ({metric})"
                                  if self.lang == "en" else self.t("chart.lorenz.y"),
                                  x_fmt="0%", y_fmt="0%", x_range=(0, 1), y_range=(0, 1),
                                  lines=[("y", self.settings.pareto.a), ("y", self.settings.pareto.b)]))
            s.tables.append(self.block(name, lorenz, self.t("table.lorenz"), who=False))
        sm = r.summary
        if "a_customer_share" in sm:
            self.headlines.append(Headline(self.t("a_share"), [
                (self.t("a_share"), sm.get("a_customer_share"), PCT),
                (self.t("a_metric_share"), sm.get("a_metric_share"), PCT),
                (self.t("gini"), sm.get("gini"), "0.000")]))

    def sec_classify_quadrant(self, name: str, r: "Result", s: Section) -> None:
        q = r.table.select(["quadrant", "value_score", "fit_score"]).to_pylist()
        series = []
        for qid, qlabel in L.quadrants(self.lang).items():
            pts = [(row["value_score"], row["fit_score"]) for row in q
                   if row["quadrant"] == qid and row["value_score"] is not None and row["fit_score"] is not None]
            if pts:
                series.append(Series(qlabel, [p[1] for p in pts], [p[0] for p in pts]))
        # no customer with a fit score: every one is unassessed, and an empty scatter would say nothing
        s.tables.append(self.block(name, r.table, s.title, note="" if series else self.t("note.quadrant_unassessed")))
        if not series:
            return
        lines = []
        if r.summary.get("value_cut") is not None:
            lines.append(("x", float(r.summary["value_cut"])))
        if r.summary.get("fit_cut") is not None:
            lines.append(("y", float(r.summary["fit_cut"])))
        s.charts.append(Chart(self.uid("chart-quadrant"), "scatter", self.t("chart.quadrant"), series,
                              x_title=self.t("chart.quadrant.x"), y_title=self.t("chart.quadrant.y"),
                              x_fmt="0", y_fmt="0", x_range=(0, 100), y_range=(0, 100), lines=lines))

    def sec_churn_status(self, name: str, r: "Result", s: Section) -> None:
        s.tables.append(self.block(name, r.table, s.title))
        sts = L.statuses(self.lang)
        counts = r.summary.get("statuses") or {}
        s.charts.append(Chart(self.uid("chart-status"), "bar", self.t("chart.status"),
                              [Series(self.t("chart.customers"), [counts.get(k, 0) for k in sts])],
                              categories=list(sts.values()), y_title=self.t("chart.customers"), y_fmt=INT))

    def sec_churn_warn(self, name: str, r: "Result", s: Section) -> None:
        s.tables.append(self.block(name, r.table, s.title))
        sev = r.summary.get("severities") or {}
        labels = L.severities(self.lang)
        self.headlines.append(Headline(self.t("warnings_by_severity"),
                                       [(labels[k], sev.get(k, 0), INT) for k in ("high", "medium", "low")]))

    def sec_churn_idle(self, name: str, r: "Result", s: Section) -> None:
        s.tables.append(self.block(name, r.table, s.title))
        buckets = [c for c in r.table.column_names if c in ("0", "1", "2", "3", "4", "5", "6", "7", "8+")]
        totals = [sum(int(v or 0) for v in r.table.column(b).to_pylist()) for b in buckets]
        s.charts.append(Chart(self.uid("chart-idle"), "bar", self.t("chart.idle"),
                              [Series(self.t("chart.customers"), totals)],
                              categories=[L.bucket_label(b, self.lang) for b in buckets],
                              x_title=self.t("chart.idle.x"), y_title=self.t("chart.customers"), y_fmt=INT))

    def sec_managers_scorecard(self, name: str, r: "Result", s: Section) -> None:
        from crmtool.labels import COLUMNS

        spec = [c for c in ("manager_id", "name", "team", "region") if c in r.table.column_names]
        spec += [c for c in r.table.column_names if c not in spec and c not in HIDDEN and not c.endswith("_label")
                 and c in COLUMNS and c not in ("held_start", "leads_converted", "development", "volume_ly",
                                                "volume_prev", "ytd_volume_ly", "period")]
        free = (r.summary or {}).get("no_manager") or {}
        note = self.t("note.no_manager", customers=free["customers"], volume=f"{free['volume']:,.1f}") \
            if free.get("customers") else ""
        main = self.block(name, r.table, s.title, columns=spec, who=False, note=note)
        main.compact = True
        s.tables.append(main)
        rows = r.table.select(["name", "manager_id", "score", "rank"]).to_pylist()
        rows.sort(key=lambda row: (row["rank"] if row["rank"] is not None else 10**9))
        s.charts.append(Chart(self.uid("chart-ranking"), "barh", self.t("chart.ranking"),
                              [Series(self.t("chart.ranking.x"), [row["score"] for row in rows])],
                              categories=[row["name"] or row["manager_id"] for row in rows],
                              x_title=self.t("chart.ranking.x"), x_fmt="0.00"))
        if "region" in r.table.column_names:
            import pyarrow.compute as pc

            regions = sorted({v for v in r.table.column("region").to_pylist() if v is not None})
            for region in regions:
                part = r.table.filter(pc.equal(r.table.column("region"), region))
                block = self.block(name, part, self.t("table.managers_by_region", region=region), columns=spec)
                block.compact = True
                s.tables.append(block)

    def sec_sales_overview(self, name: str, r: "Result", s: Section) -> None:
        s.tables.append(self.block(name, r.table, s.title))
        if "managers" in r.extras:
            # the lines of customers with no manager (in no archive, or none given) are a row of their
            # own: it reads "(no manager)" where the other rows give the manager
            import pyarrow as pa
            import pyarrow.compute as pc

            m = r.extras["managers"]
            i = m.column_names.index("manager_id")
            m = m.set_column(i, "manager_id", pc.fill_null(m.column(i), pa.scalar(self.t("no_manager"), pa.string())))
            s.tables.append(self.block(name, m, self.t("table.overview_managers")))
        total = [row for row in r.table.to_pylist() if row.get("category") == "total"]
        if total:
            t = total[0]
            self.headlines.append(Headline(self.t("overview_vs_progress"), [
                (L.column_label("month_completion", self.lang), t.get("month_completion"), PCT),
                (L.column_label("month_progress", self.lang), t.get("month_progress"), PCT),
                (L.column_label("year_completion", self.lang), t.get("year_completion"), PCT),
                (L.column_label("year_progress", self.lang), t.get("year_progress"), PCT),
                (L.column_label("yoy", self.lang), t.get("yoy"), PCT)]))

    def sec_sales_pivot(self, name: str, r: "Result", s: Section) -> None:
        import pyarrow as pa

        t = r.table
        if {"month", "category"} <= set(t.column_names) and "volume" in t.column_names:
            totals = {L.total_label("en"), L.total_label("zh")}
            body = [row for row in t.to_pylist() if row["month"] not in totals]
            total_rows = [row for row in t.to_pylist() if row["month"] in totals]
            months = sorted({row["month"] for row in body})
            cats = [c for c in ("gasoline", "diesel", "other") if any(row["category"] == c for row in body)]
            cats += sorted({row["category"] for row in body if row["category"] not in cats and row["category"]})
            cell = {(row["month"], row["category"]): row["volume"] for row in body}
            data: dict[str, list[Any]] = {"month": months + [L.total_label(self.lang)]}
            cols = [Column("month", L.column_label("month", self.lang), TEXT)]
            cat_label = L.pick(L.CATEGORY_LABELS, self.lang)
            for c in cats:
                data[c] = [cell.get((m, c)) for m in months] + [sum(cell.get((m, c)) or 0 for m in months)]
                cols.append(Column(c, cat_label.get(c, c), TONS))
            data["total"] = [sum((cell.get((m, c)) or 0) for c in cats) for m in months] + \
                [total_rows[0]["volume"] if total_rows else None]
            cols.append(Column("total", L.total_label(self.lang), TONS))
            s.tables.append(TableBlock(self.uid("sales-pivot"), self.t("table.pivot_wide"), cols, pa.table(data)))
            s.charts.append(Chart(self.uid("chart-trend"), "line", self.t("chart.trend"),
                                  [Series(cat_label.get(c, c), [cell.get((m, c)) for m in months]) for c in cats],
                                  categories=months, y_title=self.t("chart.trend.y"), y_fmt=INT))
        else:
            s.tables.append(self.block(name, t, s.title))

    def sec_sales_attainment(self, name: str, r: "Result", s: Section) -> None:
        if "groups" in r.extras:
            s.tables.append(self.block(name, r.extras["groups"], self.t("table.attainment_groups")))
        if "under_target" in r.extras:
            s.tables.append(self.block(name, r.extras["under_target"], self.t("table.attainment_under")))
        s.tables.append(self.block(name, r.table, s.title))

    def sec_sales_campaign(self, name: str, r: "Result", s: Section) -> None:
        s.tables.append(self.block(name, r.table, s.title))
        for key, title in (("customers", "table.campaign_customers"), ("managers", "table.campaign_managers"),
                           ("sensitivity", "table.campaign_sensitivity")):
            if key in r.extras:
                s.tables.append(self.block(name, r.extras[key], self.t(title)))

    def sec_sales_freight(self, name: str, r: "Result", s: Section) -> None:
        for key, title in (("trend", "table.freight_trend"), ("carriers", "table.freight_carriers"),
                           ("routes", "table.freight_routes")):
            if key in r.extras and r.extras[key].num_rows:
                s.tables.append(self.block(name, r.extras[key], self.t(title)))
        s.tables.append(self.block(name, r.table, s.title))


def build_document(kind: str, results: Mapping[str, "Result"], *, lang: str, meta: Mapping[str, Any]) -> Document:
    b = _Builder(kind, results, lang, meta)
    b.build()
    facts = _facts(b, meta)
    notes = []
    for name, reason in (meta.get("skipped") or {}).items():
        sep = "：" if lang == "zh" else ": "
        notes.append(f"{b.title_of(name)} — {L.report_text('not_shown', lang)}{sep}{reason}")
    for name, r in results.items():  # a quarter or year judged past the data says so (crmtool.runner.past_data)
        for key, text in (("runs_past_data", "note.past_data"), ("counted_after_as_of", "note.after_as_of")):
            values = (r.summary or {}).get(key)
            if values:
                note = f"{b.title_of(name)}{'：' if lang == 'zh' else ': '}{L.report_text(text, lang, **values)}"
                if note not in notes:
                    notes.append(note)
    order = ("customers_by_level", "a_share", "warnings_by_severity", "top_movers", "overview_vs_progress")
    titles = [L.report_text(k, lang) for k in order]
    headlines = sorted(b.headlines, key=lambda h: titles.index(h.title) if h.title in titles else 99)
    return Document(kind, lang, L.report_text(f"report.{kind}", lang), facts, headlines, b.sections, notes,
                    slug=kind, max_rows=b.settings.report.max_rows,
                    full_format=b.settings.report.full_format)


def _facts(b: _Builder, meta: Mapping[str, Any]) -> list[tuple[str, Any]]:
    facts: list[tuple[str, Any]] = []
    periods = sorted({str(r.period) for r in b.results.values() if r.period})
    if meta.get("month"):
        facts.append((b.t("month"), str(meta["month"])))
    if meta.get("as_of"):
        facts.append((b.t("as_of"), meta["as_of"]))
    if periods and b.kind == "managers":
        facts.append((b.t("period"), ", ".join(periods)))
    if meta.get("last_order_date"):
        facts.append((b.t("last_order_date"), meta["last_order_date"]))
    if meta.get("last_load_time"):
        t = meta["last_load_time"]
        facts.append((b.t("last_load_time"), t.replace(microsecond=0) if isinstance(t, dt.datetime) else t))
    return facts
