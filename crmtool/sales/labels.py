"""Labels (en / zh) for the ids the sales analyses emit, and the category spellings plans may use."""

from __future__ import annotations

from crmtool.grading._sql import Params

CATEGORY_IDS = ("gasoline", "diesel", "other")

CATEGORY_LABELS = {
    "gasoline": ("Gasoline", "汽油"),
    "diesel": ("Diesel", "柴油"),
    "other": ("Other", "其他"),
    "total": ("Total", "合计"),
}

GROUP_LABELS = {"target": ("Targets", "目标客户"), "control": ("Controls", "对照客户")}


def total_label(lang: str) -> str:
    return "合计" if lang == "zh" else "Total"


def pick(pairs: dict[str, tuple[str, str]], lang: str) -> dict[str, str]:
    i = 1 if lang == "zh" else 0
    return {k: v[i] for k, v in pairs.items()}


def category_case(p: Params, column: str) -> str:
    """SQL: the category id (gasoline / diesel / other) a plan's category text names (an id or a
    Chinese label, 柴油 = diesel), NULL for 'all', a blank or anything else. Spellings are bound."""
    from crmtool.io.schema import CATEGORIES

    whens = []
    for cid in CATEGORY_IDS:
        spellings = sorted({cid, *(s.lower() for s in CATEGORIES.get(cid, ()))})
        whens.append(f"WHEN lower(trim({column})) IN ({', '.join(p(s) for s in spellings)}) THEN {p(cid)}")
    return "CASE " + " ".join(whens) + " END"
