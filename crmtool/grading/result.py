"""The value every grading function returns: the table, a summary, and what keys its snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa


@dataclass
class GradeResult:
    """``table`` has exactly the SPEC columns in order, then extras. ``summary`` holds plain numbers
    (counts, shares) for terminals and reports; ``extras`` holds further tables (e.g. a migration
    matrix). ``period`` is the snapshot key (the as-of date, or the month / quarter / year)."""

    analysis: str
    table: "pa.Table"
    period: str
    as_of: Any
    summary: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, "pa.Table"] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # the summary as sentences, in the chosen language
