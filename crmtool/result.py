"""The one value every analysis returns (grading, churn, managers, sales …)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa


@dataclass
class Result:
    """What an analysis produced.

    - ``analysis``: the snapshot key of the analysis (``rfm``, ``churn_warn``, ``churn_idle_region`` …);
    - ``table``: the main table, exactly the SPEC columns in order, then extras (name, manager, region …);
    - ``period``: the snapshot period label (an as-of date, a month, a quarter, a range of months);
    - ``as_of``: the as-of date the figures stand at;
    - ``summary``: plain numbers (counts, shares, parameters) for terminals, reports and ``run.json``;
    - ``extras``: further named tables (a migration matrix, a Lorenz curve, per-manager tables …);
    - ``lines``: the summary as sentences in the chosen language;
    - ``name``: the registered name (``grade.rfm``); ``options``: the effective options the runner
      passed (defaults from config filled in); ``notices``: things the user should know that are not
      errors (a snapshot skipped on a read-only store, a metric partly missing …).
    """

    analysis: str
    table: "pa.Table"
    period: str
    as_of: Any
    summary: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, "pa.Table"] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    name: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    seconds: float = 0.0
    snapshot_id: int | None = None

    @property
    def tables(self) -> dict[str, "pa.Table"]:
        """Every table, the main one first (keyed by ``analysis``)."""
        return {self.analysis: self.table, **self.extras}

    def pick(self, name: str | None) -> "pa.Table":
        """The main table, or the extra table called ``name`` (``--table NAME``)."""
        if not name or name == self.analysis:
            return self.table
        if name not in self.extras:
            from crmtool.errors import UsageError

            raise UsageError(f"--table {name}: this result has {', '.join(self.tables)}")
        return self.extras[name]
