"""One registry of analyses and one runner for all of them.

Every analysis (grading, churn, managers, sales …) is a function ``(rc: RunContext, **options) ->
Result`` registered once with its name, the kind of period it judges, and its options with their
defaults (taken from config, never from the command line layer)::

    import crmtool
    with crmtool.open_store("crm.duckdb") as store:
        warn = crmtool.run(store, "churn.warn", month="2024-11")
        print(warn.lines, warn.table.num_rows)

:class:`Runner` installs the facts once per connection, resolves the period (SPEC §3, refusing a
month or as-of after the data unless ``allow_future``), fills in option defaults, runs the analysis,
saves its table as a snapshot (skipped with a notice on a read-only store) and returns the
:class:`~crmtool.result.Result`. The CLI, the demo, reports and the monthly job all go through it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from crmtool.errors import AnalysisError, UsageError
from crmtool.result import Result

if TYPE_CHECKING:  # pragma: no cover
    from crmtool.config import Settings
    from crmtool.facts import Period
    from crmtool.store import Store

# modules whose import registers analyses (each calls `register` at import time)
ANALYSIS_MODULES = ("crmtool.grading.analyses", "crmtool.churn.analyses", "crmtool.managers.analyses",
                    "crmtool.sales.analyses")

# period kinds: "as_of" (a trailing window ending at as-of), "month" (the judged month, SPEC §3)
PERIOD_KINDS = ("as_of", "month")


@dataclass(frozen=True)
class Option:
    """One option of an analysis; ``default`` is a value or a function of the settings."""

    name: str
    default: Any = None
    help: str = ""

    def resolve(self, settings: "Settings") -> Any:
        return self.default(settings) if callable(self.default) else self.default


@dataclass(frozen=True)
class Analysis:
    name: str  # group.method, e.g. "churn.warn"
    func: Callable[..., Result]
    period: str
    title: str
    title_zh: str
    options: tuple[Option, ...] = ()
    save: bool = True  # store the result as a snapshot

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]

    def defaults(self, settings: "Settings") -> dict[str, Any]:
        return {o.name: o.resolve(settings) for o in self.options}


REGISTRY: dict[str, Analysis] = {}


def register(name: str, *, period: str, title: str, title_zh: str = "", options: tuple[Option, ...] = (),
             save: bool = True) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Decorator: register ``func(rc, **options) -> Result`` as analysis ``name``."""
    if period not in PERIOD_KINDS:
        raise ValueError(f"{name}: unknown period kind {period!r}")

    def deco(func: Callable[..., Result]) -> Callable[..., Result]:
        REGISTRY[name] = Analysis(name, func, period, title, title_zh or title, tuple(options), save)
        return func

    return deco


def registry() -> dict[str, Analysis]:
    """Every registered analysis (importing the modules that register them)."""
    for module in ANALYSIS_MODULES:
        importlib.import_module(module)
    return REGISTRY


# the module that registers the analyses of a name's group: running one imports only its own
# (the churn module brings NumPy and the BG/NBD fit, a tenth of a second a grading command never needs)
GROUP_MODULES = {"grade": "crmtool.grading.analyses", "classify": "crmtool.grading.analyses",
                 "churn": "crmtool.churn.analyses", "managers": "crmtool.managers.analyses",
                 "sales": "crmtool.sales.analyses"}


def analysis(name: str) -> Analysis:
    module = GROUP_MODULES.get(name.split(".")[0])
    if module is not None:
        importlib.import_module(module)
        if name in REGISTRY:
            return REGISTRY[name]
    reg = registry()
    if name not in reg:
        raise UsageError(f"unknown analysis {name!r}; known: {', '.join(sorted(reg))}")
    return reg[name]


@dataclass
class RunContext:
    """What an analysis function gets: the connection (facts installed), the settings, the resolved
    period, the label language, the store (for snapshots of earlier runs) and a cache shared by the
    analyses of one run (the churn monthly series is built once)."""

    con: Any
    settings: "Settings"
    period: "Period"
    lang: str = "en"
    store: "Store | None" = None
    cache: dict[str, Any] = field(default_factory=dict)
    allow_future: bool = False  # --allow-future: judge a period the orders do not cover yet


def last_order_date(con) -> dt.date | None:
    return con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]


def check_not_future(con, as_of: dt.date | None, month: dt.date | None, until: dt.date | None = None) -> None:
    """SPEC §3: a month or as-of after the last order date is refused (a missed monthly load must
    never turn every active customer into a false warning). A month the orders end inside of is refused
    too: judged on its first days, every customer who buys later in the month would be a false warning
    (the default month is never such a month, SPEC §3). ``until``: the last month of a quarter or a
    year starting at ``month`` (judged from its first month on, SPEC §4.9), for the exports the
    message asks for."""
    from crmtool.facts import add_months, month_end, month_start

    last = last_order_date(con)
    if last is None:
        return

    def missing(until: dt.date) -> str:  # the exports not loaded, up to ``until``'s month
        def months(first: dt.date) -> str:
            return f"{first:%Y-%m}" if first >= month_start(until) else f"{first:%Y-%m} … {until:%Y-%m}"
        if last == month_end(last):
            return f"the export for {months(add_months(month_start(last), 1))}"
        rest = f"the rest of {last:%Y-%m}"  # its export is loaded up to ``last``
        after = add_months(month_start(last), 1)
        return rest if after > month_start(until) else f"{rest} and the export for {months(after)}"
    if month is not None and month_start(month) > last:  # (the month first: the run's as-of is its end)
        raise AnalysisError(f"orders end {last}; load {missing(until or month)} first "
                            f"(or pass --allow-future to judge a {'period' if until else 'month'} without orders)")
    if month is not None and until is None and month_end(month) > last:
        raise AnalysisError(f"orders end {last}, inside {month:%Y-%m}: the month is not complete, and its customers "
                            f"who buy after {last} would be judged as if they had not; load the rest of {month:%Y-%m} "
                            "first (or pass --allow-future to judge it on the orders so far)")
    if as_of is not None and as_of > last:
        raise AnalysisError(f"orders end {last}; --as-of {as_of} is after them. Load {missing(as_of)} first, "
                            "or pass --allow-future")


def check_not_before(con, as_of: dt.date | None, month: dt.date | None, until: dt.date | None = None,
                     label: str | None = None) -> None:
    """A period or as-of that ends before the first order date is refused (exit 1), --allow-future or
    not: every customer would be judged as one who never bought (all prospects, every manager at 0 t,
    graded by id), a plausible report of nothing, as one mistyped year makes it."""
    from crmtool.facts import month_end

    first = con.execute("SELECT min(order_date) FROM orders").fetchall()[0][0]
    if first is None:
        return
    end = month_end(until or month) if month is not None else None
    if end is not None and end < first:
        asked = label or f"{month:%Y-%m}"
        raise AnalysisError(f"orders start {first}; {asked} ends before them, so every customer would be judged as "
                            "one who never bought. Load the exports of that time first, or choose a later period",
                            zh=f"订单从 {first} 开始；{asked} 在此之前结束，所有客户都会被当作从未购油。"
                               "请先导入该期间的订单，或选择更晚的期间")
    if as_of is not None and as_of < first:
        raise AnalysisError(f"orders start {first}; --as-of {as_of} is before them: there is nothing to judge. "
                            "Load the exports of that time first, or choose a later date",
                            zh=f"订单从 {first} 开始；--as-of {as_of} 在此之前，没有可分析的数据")


def past_data(con, period: object) -> dict[str, str] | None:
    """For a result of a quarter or a year (period label 2024Q3 or 2024) that ends after the last
    order date: {"period", "orders_end", "from", "to"}, the days that count as without orders.
    The period is judged as asked (the quarter of the judged month is the managers scorecard's default,
    SPEC §4.9), but the reader must know (SPEC §3: a missing export is not a time without sales)."""
    import re

    from crmtool.facts import add_months, month_end, parse_quarter, parse_year

    label = str(period or "")
    if re.fullmatch(r"\d{4}Q[1-4]", label):
        last_month = parse_quarter(label)[1]
    elif re.fullmatch(r"\d{4}", label):
        last_month = parse_year(label)[1]
    else:
        return None
    last = last_order_date(con)
    if last is None or month_end(last_month) <= last:
        return None
    first = max(last + dt.timedelta(days=1), add_months(last_month, -11 if len(label) == 4 else -2))
    return {"period": label, "orders_end": str(last), "from": str(first), "to": str(month_end(last_month))}


def report_text_of(key: str, lang: str, values: dict[str, str]) -> str:
    from crmtool.labels import report_text

    return report_text(key, lang, **values)


def after_as_of(con, period: object, as_of: dt.date) -> dict[str, str] | None:
    """A quarter or a year that an --as-of inside it chose (the managers scorecard's default is the
    quarter of the judged month, SPEC §4.9), when the orders go beyond as-of: its figures count the
    period's orders to its end, which the reader must know. {"period", "end", "as_of", "to"}; None when
    nothing after as-of is counted."""
    import re

    from crmtool.facts import month_end, parse_quarter, parse_year

    label = str(period or "")
    if re.fullmatch(r"\d{4}Q[1-4]", label):
        end = month_end(parse_quarter(label)[1])
    elif re.fullmatch(r"\d{4}", label):
        end = month_end(parse_year(label)[1])
    else:
        return None
    last = last_order_date(con)
    if end <= as_of or last is None or last <= as_of:
        return None
    return {"period": label, "end": str(end), "as_of": str(as_of), "to": str(min(end, last))}


def past_data_text(gap: dict[str, str], lang: str = "en") -> str:
    from crmtool.labels import report_text

    return report_text("note.past_data", lang, **gap)


NAME_COLUMNS = ("name", "manager_id", "region")


def row_numbers(n: int):
    """0 … n-1 (uint64), made inside Arrow: an array built from Python objects makes pyarrow import
    pandas, a fifth of a second of every command."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.indices_nonzero(pc.is_null(pa.nulls(n, pa.int64())))


def with_customer_names(con, table):
    """SPEC §3: a row that names a customer carries its name, manager_id and region (from the
    archive) after the SPEC columns, so a manager never has to look a code up. Columns the table
    already has are left as they are; row order is kept."""
    import pyarrow as pa

    if "customer_id" not in table.column_names:
        return table
    missing = [c for c in NAME_COLUMNS if c not in table.column_names]
    if not missing:
        return table
    indexed = table.append_column("__row", row_numbers(table.num_rows))
    con.register("runner_named", indexed.select(["customer_id", "__row"]))
    try:
        cols = ", ".join(f"c.{c}" for c in missing)
        names = con.sql(f"SELECT t.__row, {cols} FROM runner_named t "
                        "LEFT JOIN customers_resolved c ON c.customer_id = t.customer_id ORDER BY t.__row"
                        ).to_arrow_table()
    finally:
        con.unregister("runner_named")
    for c in missing:
        table = table.append_column(c, names.column(c).cast(pa.string()))
    return table


class Runner:
    """Runs registered analyses against one store (or a bare connection)."""

    def __init__(self, store: "Store | None" = None, settings: "Settings | None" = None, *, con: Any = None,
                 lang: str = "en", save: bool = True, allow_future: bool = False,
                 log: Callable[[str], None] | None = None, in_transaction: bool = False) -> None:
        from crmtool.facts import install_views

        if store is None and con is None:
            raise ValueError("Runner needs a store or a connection")
        self.store = store
        self.con = con if con is not None else store.con
        self.settings = settings or (store.settings if store is not None else None)
        if self.settings is None:
            from crmtool.config import Settings

            self.settings = Settings()
        self.lang = lang
        self.save = save
        self.allow_future = allow_future
        self.log = log or (lambda message: None)
        # the caller holds the store's transaction (the monthly job: loads, analyses and their
        # snapshots commit together): snapshots are written inside it, not in one of their own
        self.in_transaction = in_transaction
        self.cache: dict[str, Any] = {}
        install_views(self.con)

    def period(self, as_of: str | dt.date | None = None, month: str | dt.date | None = None) -> "Period":
        from crmtool.facts import parse_date, parse_month, resolve_period

        if isinstance(as_of, str):
            as_of = parse_date(as_of)
        if isinstance(month, str):
            month = parse_month(month)
        if not self.allow_future:
            check_not_future(self.con, as_of, month)
        check_not_before(self.con, as_of, month)
        return resolve_period(self.con, as_of, month)

    def run(self, name: str, *, as_of: str | dt.date | None = None, month: str | dt.date | None = None,
            **options: Any) -> Result:
        spec = analysis(name)
        defaults = spec.defaults(self.settings)
        unknown = sorted(set(options) - set(defaults))
        if unknown:
            raise UsageError(f"{name}: unknown option {unknown[0]!r}; options are {', '.join(defaults) or 'none'}")
        effective = {k: (options[k] if options.get(k) is not None else v) for k, v in defaults.items()}
        period = self.period(as_of, month)
        # a --quarter or --year that starts after the data is refused likewise, one that ends before it too
        from crmtool.facts import parse_quarter, parse_year

        for key, parse in (("quarter", parse_quarter), ("year", parse_year)):
            if effective.get(key):
                span = parse(str(effective[key]))
                if not self.allow_future:
                    check_not_future(self.con, None, *span)
                check_not_before(self.con, None, *span, label=str(effective[key]))
        rc = RunContext(self.con, self.settings, period, self.lang, self.store, self.cache, self.allow_future)
        t0 = time.perf_counter()
        result = spec.func(rc, **effective)
        result.table = with_customer_names(self.con, result.table)
        result.extras = {k: with_customer_names(self.con, v) for k, v in result.extras.items()}
        result.seconds = time.perf_counter() - t0
        result.name = name
        result.options = effective
        chosen = any(effective.get(k) for k in ("quarter", "year")) or month is not None
        if as_of is not None and not chosen and (after := after_as_of(self.con, result.period, period.as_of)):
            result.summary["counted_after_as_of"] = after  # the reports say it too, in their language
            result.notices.append(report_text_of("note.after_as_of", self.lang, after))
        if (gap := past_data(self.con, result.period)) is not None:
            result.summary["runs_past_data"] = gap  # the reports say it too, in their language
            result.notices.append(past_data_text(gap, self.lang))
        if self.save and spec.save:
            self._save(result)
        return result

    def run_group(self, groups: str | tuple[str, ...], *, as_of: str | dt.date | None = None,
                  month: str | dt.date | None = None,
                  skip: tuple[str, ...] = ()) -> tuple[dict[str, Result], dict[str, str]]:
        """Every analysis of the group(s) (e.g. "grade") with its defaults. An analysis with nothing
        to work on is reported in the second dict as a sentence instead of stopping the others."""
        groups = (groups,) if isinstance(groups, str) else groups
        results: dict[str, Result] = {}
        errors: dict[str, str] = {}
        for name, spec in registry().items():
            if spec.group not in groups or name in skip:
                continue
            try:
                results[name] = self.run(name, as_of=as_of, month=month)
            except AnalysisError as exc:
                errors[name] = str(exc)
        return results, errors

    def _save(self, result: Result) -> None:
        from crmtool.store import save_snapshot

        if self.store is None:
            return
        if self.store.read_only:
            result.notices.append("the store is read-only: this result was not stored as a snapshot")
            return
        view = f"runner_result_{result.analysis}"
        self.con.register(view, result.table)
        try:
            with contextlib.nullcontext(self.con) if self.in_transaction else self.store.transaction() as con:
                result.snapshot_id = save_snapshot(con, result.analysis, result.period, result.as_of,
                                                   self.settings.config_hash(), view)
        finally:
            self.con.unregister(view)


def run(store: "Store", name: str, settings: "Settings | None" = None, *, as_of: str | dt.date | None = None,
        month: str | dt.date | None = None, lang: str = "en", save: bool = True, allow_future: bool = False,
        **options: Any) -> Result:
    """Run one registered analysis: ``crmtool.run(store, "grade.rfm", as_of="2024-12-31", metric="volume")``."""
    return Runner(store, settings, lang=lang, save=save, allow_future=allow_future).run(
        name, as_of=as_of, month=month, **options)
