"""The category spellings plans may use (an id or a Chinese label, 柴油 = diesel), as SQL."""

from __future__ import annotations

from crmtool.grading._sql import Params

CATEGORY_IDS = ("gasoline", "diesel", "other")


def category_case(p: Params, column: str) -> str:
    """SQL: the category id (gasoline / diesel / other) a plan's category text names (an id or a
    Chinese label, 柴油 = diesel), NULL for 'all', a blank or anything else. Spellings are bound."""
    from crmtool.io.schema import CATEGORIES

    whens = []
    for cid in CATEGORY_IDS:
        spellings = sorted({cid, *(s.lower() for s in CATEGORIES.get(cid, ()))})
        whens.append(f"WHEN lower(trim({column})) IN ({', '.join(p(s) for s in spellings)}) THEN {p(cid)}")
    return "CASE " + " ".join(whens) + " END"
