"""Small SQL helpers the grading queries share: running a query to Arrow, quota tiers, metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from crmtool.config import Tier
from crmtool.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

# metric option -> column of orders_resolved (our own constants; user text never reaches SQL)
METRICS = {"amount": "amount", "volume": "quantity", "profit": "gross_profit"}


# what to load when a metric has no data: the column and the headers an export calls it
METRIC_SOURCES = {"amount": "amount (金额/含税金额)", "profit": "gross_profit (毛利), or amount and cost (成本)",
                  "volume": "quantity (数量)"}


def metric_coverage(con, metric: str, start, as_of, section: str) -> int:
    """Check that ``metric`` has data on the lines of the trailing window (start, as_of]: none at
    all is an AnalysisError naming the column to load; returns the number of customers with the
    metric missing on some of their lines (counted as 0 there), for the summary."""
    from crmtool.errors import AnalysisError
    from crmtool.facts import in_window

    col = metric_column(metric)
    lines, known, partial = con.execute(
        f"SELECT count(*), count({col}), count(DISTINCT CASE WHEN {col} IS NULL THEN customer_id END) "
        f"FROM orders_resolved WHERE {in_window()}", {"window_start": start, "as_of": as_of}).fetchall()[0]
    if lines and not known:
        raise metric_missing(metric, start, as_of, section, lines)
    return int(partial)


def missing_line(metric: str, customers: int, lang: str = "en") -> str:
    """The summary line for a metric some lines lack (they count 0)."""
    from crmtool.labels import metric_word

    if lang == "zh":
        return f"  {customers} 个客户的部分订单行缺少{metric_word(metric, lang)}，这些行按 0 计"
    return f"  {metric} is missing on some lines of {customers} customer(s); those lines count 0"


def metric_missing(metric: str, start, as_of, section: str, lines: int | None = None) -> Exception:
    """The error for a metric no line of the window has: what to load, or the other metric to choose
    (on the command line, and in the config for the runs that take no --metric, run monthly's)."""
    from crmtool.errors import AnalysisError

    count = f"{lines:,} " if lines else ""
    other = "volume" if metric != "volume" else "amount"
    return AnalysisError(f"--metric {metric}: none of the {count}order lines between {start} (exclusive) and {as_of} "
                         f"has {'an' if metric[0] in 'aeiou' else 'a'} {metric}; load orders with {METRIC_SOURCES[metric]}, or choose another --metric "
                         f"(for every run, `crmtool run monthly` included: [{section}] metric = \"{other}\" in "
                         "crmtool.toml)")


def metric_column(metric: str, option: str = "--metric") -> str:
    try:
        return METRICS[metric]
    except KeyError:
        raise UsageError(f"{option}: {metric!r} is not a metric; use amount, volume or profit") from None


class Params:
    """Named bound parameters for one query: ``p(value)`` returns a placeholder (``$p3``) and keeps the
    value, so dynamic pieces (tiers, labels, weights) never format a value into the SQL text."""

    def __init__(self, **named: Any) -> None:
        self.values: dict[str, Any] = dict(named)

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return "$" + name


def query(con, sql: str, params: "Params | Sequence[Any] | None" = None) -> "pa.Table":
    """Run one query with bound parameters and return an Arrow table."""
    if isinstance(params, Params):
        used = {k: v for k, v in params.values.items() if "$" + k in sql}
        return con.sql(sql, params=used).to_arrow_table()
    return con.sql(sql, params=list(params or [])).to_arrow_table()


def tier_case(p: Params, rank_expr: str, n_expr: str, tiers: Sequence[Tier]) -> str:
    """Tier by quota (SPEC §3): ``rank_pct = (rank − 1) / N``; the first tier whose cumulative quota
    exceeds rank_pct wins; the last tier takes the rest. Cumulative bounds are rounded to 10 places
    so 0.05 + 0.10 is 0.15, not 0.15000000000000002."""
    if not tiers:
        raise UsageError("a tier scheme needs at least one tier")
    parts: list[str] = []
    cum = 0.0
    for t in tiers[:-1]:
        cum = round(cum + float(t.quota), 10)
        parts.append(f"WHEN CAST({rank_expr} - 1 AS DOUBLE) / {n_expr} < {p(cum)} THEN {p(t.id)}")
    parts.append(f"ELSE {p(tiers[-1].id)}")
    return "CASE " + " ".join(parts) + " END"


def tier_order_case(p: Params, column: str, tiers: Sequence[Tier]) -> str:
    """Position of a tier id in the scheme (0 = best); NULL for an unknown id."""
    parts = " ".join(f"WHEN {p(t.id)} THEN {p(i)}" for i, t in enumerate(tiers))
    return f"CASE {column} {parts} ELSE NULL END"


def label_case(p: Params, column: str, mapping: dict[str, str]) -> str:
    """``CASE column WHEN $a THEN $b … ELSE column END``: ids and labels bound. ``column`` is an
    expression of our own, never user text."""
    if not mapping:
        return f"CAST({column} AS VARCHAR)"
    parts = " ".join(f"WHEN {p(k)} THEN {p(v)}" for k, v in mapping.items())
    return f"CASE CAST({column} AS VARCHAR) {parts} ELSE CAST({column} AS VARCHAR) END"


def checked_weights(weights: dict[str, float], names: Sequence[str], where: str) -> dict[str, float]:
    """The weights for ``names`` as configured (SPEC: Σ weight · p; the defaults sum to 1, a user's
    need not); unknown keys and an all-zero set are refused."""
    from crmtool.errors import ConfigError

    unknown = sorted(set(weights) - set(names))
    if unknown:
        raise ConfigError(f"{where}: unknown weight {unknown[0]!r}; use {', '.join(names)}")
    total = sum(float(weights.get(n, 0.0)) for n in names)
    if total <= 0:
        raise ConfigError(f"{where}: the weights must not all be zero")
    return {n: float(weights.get(n, 0.0)) for n in names}


def percentile_score(column: str, alias: str) -> str:
    """SPEC §3 p(x) for one factor: cume_dist() over the rows whose value is known, ordered
    ascending (ties equal); a null value scores 0 and does not count in the others' percentile."""
    return (f"CASE WHEN {column} IS NULL THEN 0 "
            f"ELSE cume_dist() OVER (PARTITION BY {column} IS NULL ORDER BY {column}) END AS {alias}")
