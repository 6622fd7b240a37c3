"""Reports (SPEC §5): the stored results of the registered analyses as Excel workbooks and offline
HTML pages, in English or Chinese. Reports never compute a figure: they run the analyses through the
:class:`~crmtool.runner.Runner` (or take results the caller already has) and only format them.

The API the CLI and the monthly job call::

    from crmtool import reports
    results = reports.collect(runner, "monthly", month="2024-11")      # {analysis name: Result}
    reports.render("monthly", results, fmt="xlsx", lang="zh", path=Path("out/2024-11.xlsx"),
                   meta=reports.meta_for(store, results))
    reports.customer_page(store, "C001", fmt="html", lang="zh", path=Path("C001.html"), settings=settings)

Everything heavy (openpyxl, jinja2, matplotlib) is imported inside the functions so that
``crmtool --help`` stays fast.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from crmtool.config import Settings
    from crmtool.result import Result
    from crmtool.runner import Runner
    from crmtool.store import Store

GRADING = ("grade.level", "grade.rfm", "grade.pareto", "classify.quadrant", "grade.scorecard")
CHURN = ("churn.status", "churn.warn", "churn.idle", "churn.winback", "churn.alive")
MANAGERS = ("managers.scorecard",)
SALES = ("sales.overview", "sales.pivot", "sales.attainment", "sales.campaign", "sales.freight")

# kind -> the registered analyses whose results the report shows, in the order it shows them;
# "customer" is special (one customer's page, see customer_page)
REPORT_KINDS: dict[str, tuple[str, ...]] = {
    "grading": GRADING,
    "churn": CHURN,
    "managers": MANAGERS,
    "sales": SALES,
    "monthly": GRADING + CHURN + MANAGERS + SALES,
    "customer": (),
}

FORMATS = ("xlsx", "html")
LANGS = ("en", "zh")

# options a report passes unless the caller says otherwise: the pivot feeds the monthly volume trend
# by category (the chart needs both dimensions)
DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "sales.pivot": {"by": "month,category", "measure": "volume"},
}


class Collected(dict):
    """``{analysis name: Result}`` in report order; ``skipped`` holds ``{name: reason}`` for the
    analyses that had nothing to work on (an AnalysisError), which the report names."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.skipped: dict[str, str] = {}
        self.skipped_zh: dict[str, str] = {}  # the reasons that have a Chinese sentence (AnalysisError.zh)


def collect(runner: "Runner", kind: str, *, as_of: str | dt.date | None = None, month: str | dt.date | None = None,
            options: Mapping[str, Mapping[str, Any]] | None = None) -> Collected:
    """Run each analysis of ``kind`` through ``runner``. ``options`` is ``{analysis name: {option:
    value}}`` (an option an analysis does not have is a usage error, as on the command line). An
    analysis that raises AnalysisError is skipped and its reason kept in ``.skipped``."""
    from crmtool.errors import AnalysisError, UsageError

    names = _kind(kind)
    out = Collected()
    options = dict(options or {})
    unknown = sorted(set(options) - set(names))
    if unknown and kind != "customer":
        raise UsageError(f"report {kind}: options given for {', '.join(unknown)}, which it does not show")
    for name in names:
        opts = {**DEFAULT_OPTIONS.get(name, {}), **dict(options.get(name, {}))}
        try:
            out[name] = runner.run(name, as_of=as_of, month=month, **opts)
        except AnalysisError as exc:
            out.skipped[name] = str(exc)
            if exc.zh:
                out.skipped_zh[name] = exc.zh
    return out


def meta_for(store: "Store | None", results: Mapping[str, "Result"] | None = None, *,
             settings: "Settings | None" = None, **extra: Any) -> dict[str, Any]:
    """The report's header facts: as-of and month (from the results), data freshness (last order
    date, last load time from ``batches``), the store path and the settings; ``extra`` wins."""
    from crmtool.reports.model import freshness

    meta: dict[str, Any] = {"store": getattr(store, "path", None),
                            "settings": settings or getattr(store, "settings", None)}
    if store is not None:
        meta.update(freshness(store.con))
    if results:
        meta.update(_period_meta(results))
        last = meta.get("last_order_date")
        if meta.get("as_of") is not None and last is not None and meta["as_of"] > last and "as_of" not in extra:
            meta["as_of"] = last  # a quarter's end after the data (its note says so) is no as-of of the data
    meta.update({k: v for k, v in extra.items() if v is not None})
    return meta


def render(kind: str, results: Mapping[str, "Result"], *, fmt: str, lang: str, path: Path,
           meta: Mapping[str, Any] | None = None, written: list[Path] | None = None) -> Path:
    """Write one report file (``fmt`` "xlsx" or "html", ``lang`` "en" or "zh") of ``results``
    (keyed by registered analysis name, as :func:`collect` returns them); returns its path.
    ``meta``: {"as_of", "month", "last_order_date", "last_load_time", "store", "settings", "skipped"
    …}; what is missing is taken from the results.

    A table longer than report.max_rows shows its top rows; the whole table is written beside the
    report (``<report stem>.<table id>.parquet`` or ``.csv``, report.full_format) and named in it.
    ``written`` (if given) receives every file written, the report last; a whole table already in it
    (the xlsx and the html of one report share them) is not written again."""
    from crmtool.reports.model import build_document

    _check(kind, fmt, lang, path)
    if kind == "customer":
        from crmtool.errors import UsageError

        raise UsageError("the customer report is written by customer_page(store, customer_id, …)")
    meta = {**_period_meta(results), **dict(meta or {})}
    skipped = dict(getattr(results, "skipped", {}) or {})
    if lang == "zh":
        skipped.update(getattr(results, "skipped_zh", {}) or {})
    meta.setdefault("skipped", skipped)
    doc = build_document(kind, results, lang=lang, meta=meta)
    return _write(doc, fmt, Path(path), written)


def customer_page(store: "Store", customer_id: str, *, fmt: str, lang: str, path: Path,
                  settings: "Settings | None" = None, as_of: str | dt.date | None = None,
                  show_contacts: bool = False, months: int = 36, allow_future: bool = False) -> Path:
    """One customer's page (SPEC §5, the 单客户购油趋势): profile from the archive (phone masked
    unless ``show_contacts``), level history from the ``level`` snapshots, ``months`` months of
    volume by gasoline / diesel / other, its warnings and visits."""
    from crmtool.reports.customer import build_customer_document

    _check("customer", fmt, lang, path)
    doc = build_customer_document(store, customer_id, lang=lang, settings=settings or store.settings,
                                  as_of=as_of, show_contacts=show_contacts, months=months,
                                  allow_future=allow_future)
    return _write(doc, fmt, Path(path))


def report(store: "Store", kind: str, *, fmt: str, lang: str, path: Path, settings: "Settings | None" = None,
           as_of: str | dt.date | None = None, month: str | dt.date | None = None,
           options: Mapping[str, Mapping[str, Any]] | None = None, allow_future: bool = False,
           customer_id: str | None = None, show_contacts: bool = False, written: list[Path] | None = None) -> Path:
    """collect + meta_for + render in one call (what ``crmtool report`` does); ``written`` as in render."""
    from crmtool.runner import Runner

    settings = settings or store.settings
    if kind == "customer":
        if not customer_id:
            from crmtool.errors import UsageError

            raise UsageError("report customer needs --id CUSTOMER_ID")
        return customer_page(store, customer_id, fmt=fmt, lang=lang, path=path, settings=settings, as_of=as_of,
                             show_contacts=show_contacts, allow_future=allow_future)
    if not allow_future:  # SPEC §3: a period after the data is refused (exit 1), not a report of empty sheets
        from crmtool.facts import parse_date, parse_month, parse_quarter
        from crmtool.runner import check_not_future

        check_not_future(store.con, parse_date(as_of) if isinstance(as_of, str) else as_of,
                         parse_month(month) if isinstance(month, str) else month)
        for opts in (options or {}).values():
            if opts.get("quarter"):
                check_not_future(store.con, None, *parse_quarter(str(opts["quarter"])))
    from crmtool.facts import parse_date, parse_month
    from crmtool.runner import check_not_before

    # one sentence, not the same one for every analysis of the report
    check_not_before(store.con, parse_date(as_of) if isinstance(as_of, str) else as_of,
                     parse_month(month) if isinstance(month, str) else month)
    runner = Runner(store, settings, lang=lang, allow_future=allow_future)
    results = collect(runner, kind, as_of=as_of, month=month, options=options)
    if not results and results.skipped:
        from crmtool.errors import AnalysisError

        reasons = "; ".join(f"{name}: {why}" for name, why in list(results.skipped.items())[:3])
        raise AnalysisError(f"nothing to report: every analysis of the {kind} report had nothing to work on ({reasons})")
    return render(kind, results, fmt=fmt, lang=lang, path=path, meta=meta_for(store, results, settings=settings),
                  written=written)


def _kind(kind: str) -> tuple[str, ...]:
    if kind not in REPORT_KINDS:
        from crmtool.errors import UsageError

        raise UsageError(f"unknown report {kind!r}; use {', '.join(REPORT_KINDS)}")
    return REPORT_KINDS[kind]


def _check(kind: str, fmt: str, lang: str, path: Path) -> None:
    from crmtool.errors import UsageError

    _kind(kind)
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: use xlsx or html")
    if lang not in LANGS:
        raise UsageError(f"--lang {lang}: use en or zh")
    p = Path(path)
    if not p.parent.exists():
        raise UsageError(f"-o {p}: the folder {p.parent} does not exist; create it first or fix the path")


def _period_meta(results: Mapping[str, "Result"]) -> dict[str, Any]:
    """as_of = the run's as-of (that of the trailing-window analyses; a quarter's or campaign's own end may
    lie after it), else the latest among the results; month = the judged month of the monthly analyses."""
    meta: dict[str, Any] = {}
    as_ofs = [r.as_of for r in results.values() if r.as_of is not None]
    if as_ofs:
        meta["as_of"] = max(as_ofs)
    for name in ("grade.rfm", "grade.pareto", "grade.level", "classify.quadrant", "sales.overview"):
        r = results.get(name)
        if r is not None and r.as_of is not None:
            meta["as_of"] = r.as_of
            break
    for name in ("churn.status", "churn.warn", "grade.scorecard", "churn.idle"):
        r = results.get(name)
        if r is not None and r.period and len(str(r.period)) == 7:
            meta["month"] = str(r.period)
            break
    return meta


def _write(doc: Any, fmt: str, path: Path, written: list[Path] | None = None) -> Path:
    """The report and the whole tables beside it, all or none (a full disk or a folder of the report's
    name leaves the files as they were)."""
    from crmtool.reports.output import _check_folder, _write_table, atomic_files

    _check_folder(path)
    new: list[Path] = []
    with atomic_files() as files:
        for block in doc.cut_tables():
            full = path.with_name(f"{path.stem}.{block.id.strip('-')}.{doc.full_format}")
            block.full_file = full.name
            if written is not None and full in written:
                continue  # the other format of this report wrote it already
            _write_table(block.full, files.path(full), full.suffix.lower(), "result")
            new.append(full)
        if fmt == "xlsx":
            from crmtool.reports.xlsx import write_xlsx

            write_xlsx(doc, files.path(path))
        else:
            from crmtool.reports.html import write_html

            write_html(doc, files.path(path))
    if written is not None:
        written.extend(new + [path])
    return path
