"""Customer grading: RFM, Pareto/ABC, level suggestion, balanced scorecard, four-quadrant.

Each analysis is one function over a DuckDB connection returning a :class:`GradeResult` whose
``table`` has the SPEC columns in order (then extras)::

    from crmtool.store import open_store
    from crmtool.facts import resolve_period
    from crmtool import grading

    with open_store("crm.duckdb") as store:
        period = resolve_period(store.con, as_of="2024-12-31")
        levels = grading.level(store.con, period, store.settings).table

:func:`run_all` runs them all for one period, stores each as a snapshot and returns the tables.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from crmtool.grading.classes import customer_classes
from crmtool.grading.level import level
from crmtool.grading.pareto import pareto
from crmtool.grading.quadrant import quadrant
from crmtool.grading.result import GradeResult
from crmtool.grading.rfm import rfm
from crmtool.grading.scorecard import scorecard
from crmtool.grading.snapshots import compare_levels, previous_levels, store_result

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from crmtool.config import Settings
    from crmtool.store import Store

__all__ = ["GradeResult", "rfm", "pareto", "level", "scorecard", "quadrant", "customer_classes", "compare_levels",
           "previous_levels", "store_result", "grade_all", "run_all"]

ANALYSES = ("rfm", "pareto", "level", "scorecard", "quadrant")
GROUPS = ("grade", "classify")


def grade_all(store: "Store", settings: "Settings", *, as_of: str | dt.date | None = None,
              month: str | dt.date | None = None, lang: str = "en",
              save: bool = True) -> tuple[dict[str, GradeResult], dict[str, str]]:
    """Every grading analysis for one period (scorecard for the judged month) through the runner,
    each stored as a snapshot. Returns (results keyed rfm/pareto/…, errors): an analysis with
    nothing to work on is reported in ``errors`` as a sentence instead of stopping the others."""
    from crmtool.runner import Runner

    results, errors = Runner(store, settings, lang=lang, save=save, allow_future=True).run_group(
        GROUPS, as_of=as_of, month=month)
    short = lambda name: name.split(".", 1)[1]  # noqa: E731
    return {short(k): v for k, v in results.items()}, {short(k): v for k, v in errors.items()}


def run_all(store: "Store", settings: "Settings", *, as_of: str | dt.date | None = None,
            month: str | dt.date | None = None) -> dict[str, "pa.Table"]:
    """Tables keyed 'rfm', 'pareto', 'level', 'scorecard', 'quadrant' (an analysis with no data is
    left out), each also stored as a snapshot."""
    results, _ = grade_all(store, settings, as_of=as_of, month=month)
    return {k: r.table for k, r in results.items()}
