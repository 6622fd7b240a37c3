"""English and Chinese labels for every id an analysis emits — one label system for all of them.

Tier ids (levels, scorecard grades) take their labels from the configured tiers (``Tier.en`` /
``Tier.zh``) and the ABC classes from the configured Pareto bounds; everything else is fixed here.
``grading._sql.label_case`` turns a mapping into a SQL ``CASE`` with bound parameters, so label
columns come from the same query as the ids; :func:`with_labels` adds label columns to a finished
Arrow table (churn statuses and severities).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from crmtool.config import Settings

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

SEGMENTS: dict[str, tuple[str, str]] = {
    "important_value": ("Important value", "重要价值客户"),
    "important_develop": ("Important develop", "重要发展客户"),
    "important_retain": ("Important retain", "重要保持客户"),
    "important_winback": ("Important win-back", "重要挽留客户"),
    "general_value": ("General value", "一般价值客户"),
    "general_develop": ("General develop", "一般发展客户"),
    "general_retain": ("General retain", "一般保持客户"),
    "general_winback": ("General win-back", "一般挽留客户"),
}


CHANGES: dict[str, tuple[str, str]] = {
    "up": ("up", "升级"),
    "down": ("down", "降级"),
    "same": ("same", "持平"),
    "new": ("new", "新定级"),
}

QUADRANTS: dict[str, tuple[str, str]] = {
    "strategic": ("Strategic", "战略客户"),
    "key": ("Key", "重点客户"),
    "potential": ("Potential", "潜力客户"),
    "ordinary": ("Ordinary", "普通客户"),
    "unassessed": ("Unassessed", "未评估"),
}

SERVICE_TIERS: dict[str, tuple[str, str]] = {
    "strategic_team": ("Strategic account team", "战略客户团队服务"),
    "one_customer_one_plan": ("One customer, one plan", "一户一案"),
    "standardised": ("Standardised service", "标准化服务"),
}

DEMAND_CLASSES: dict[str, tuple[str, str]] = {
    "small": ("Small", "小型"),
    "medium": ("Medium", "中型"),
    "large": ("Large", "大型"),
    "extra_large": ("Extra large", "特大型"),
}

LOYALTY: dict[str, tuple[str, str]] = {
    "potential": ("Potential", "潜在"),
    "loyal": ("Loyal", "忠诚"),
    "quality": ("Quality", "优质"),
    "scattered": ("Scattered", "零散"),
    "competitive": ("Competitive", "竞争"),
    "regular": ("Regular", "一般"),
}


def pick(pairs: Mapping[str, tuple[str, str]], lang: str) -> dict[str, str]:
    """id -> label in ``lang`` from a table of (English, Chinese) pairs."""
    i = 1 if lang == "zh" else 0
    return {k: v[i] for k, v in pairs.items()}


_pick = pick

CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "gasoline": ("Gasoline", "汽油"),
    "diesel": ("Diesel", "柴油"),
    "other": ("Other", "其他"),
    "total": ("Total", "合计"),
}

GROUP_LABELS: dict[str, tuple[str, str]] = {"target": ("Targets", "目标客户"), "control": ("Controls", "对照客户")}


def total_label(lang: str) -> str:
    """The label of a total row: 合计 / Total."""
    return CATEGORY_LABELS["total"][1 if lang == "zh" else 0]


def segments(lang: str = "en") -> dict[str, str]:
    return _pick(SEGMENTS, lang)


def abc_classes(settings: Settings, lang: str = "en") -> dict[str, str]:
    """A / B / C named after the configured bounds (``pareto.a``, ``pareto.b``)."""
    a, b = settings.pareto.a, settings.pareto.b
    pairs = {"A": (f"A (top {a:.0%})", "A类"), "B": (f"B (next {b - a:.0%})", "B类"), "C": ("C (tail)", "C类")}
    return _pick(pairs, lang)


def changes(lang: str = "en") -> dict[str, str]:
    return _pick(CHANGES, lang)


def quadrants(lang: str = "en") -> dict[str, str]:
    return _pick(QUADRANTS, lang)


def service_tiers(lang: str = "en") -> dict[str, str]:
    return _pick(SERVICE_TIERS, lang)


def demand_classes(lang: str = "en") -> dict[str, str]:
    return _pick(DEMAND_CLASSES, lang)


def loyalty(lang: str = "en") -> dict[str, str]:
    return _pick(LOYALTY, lang)


def levels(settings: Settings, lang: str = "en") -> dict[str, str]:
    """The configured level scheme (default, 集团级…普通, 3A/2A/A/B or custom tiers)."""
    return {t.id: (t.zh if lang == "zh" else t.en) for t in settings.level.effective_tiers()}


def grades(settings: Settings, lang: str = "en") -> dict[str, str]:
    """Scorecard grades (3A/2A/A/B by default)."""
    return {t.id: (t.zh if lang == "zh" else t.en) for t in settings.scorecard.grades}


STATUS: dict[str, tuple[str, str]] = {
    "prospect": ("Prospect", "潜在"),
    "new": ("New", "新客户"),
    "active": ("Active", "有效"),
    "churned": ("Churned", "流失"),
    "lost": ("Lost", "长期流失"),
}

SEVERITY: dict[str, tuple[str, str]] = {
    "none": ("None", "无"),
    "low": ("Low", "低"),
    "medium": ("Medium", "中"),
    "high": ("High", "高（通报）"),
}

# severity ids in ascending order; `--severity medium` means medium and above
SEVERITY_ORDER = ("none", "low", "medium", "high")


def statuses(lang: str = "en") -> dict[str, str]:
    return _pick(STATUS, lang)


def severities(lang: str = "en") -> dict[str, str]:
    return _pick(SEVERITY, lang)


def status_label(status: str | None, lang: str = "en") -> str | None:
    return None if status is None else statuses(lang).get(status, status)


def severity_label(severity: str | None, lang: str = "en") -> str | None:
    return None if severity is None else severities(lang).get(severity, severity)


def bucket_label(bucket: str, lang: str = "en") -> str:
    """'0'…'7' and '8+' → '0 months' / '0个月', '8+ months' / '8个月及以上'."""
    if lang == "zh":
        return f"{bucket[:-1]}个月及以上" if bucket.endswith("+") else f"{bucket}个月"
    return f"{bucket} months" if bucket != "1" else "1 month"


LABELLED_COLUMNS = {"status": statuses, "severity": severities}


def with_labels(table: "pa.Table", lang: str) -> "pa.Table":
    """Append ``<column>_label`` for the status / severity columns (after every other column) for
    ``lang`` other than English; English output keeps the ids only."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if lang == "en":
        return table
    for col, mapping in LABELLED_COLUMNS.items():
        if col in table.column_names:
            names = mapping(lang)
            keys = pa.array(list(names), pa.string())
            idx = pc.index_in(table.column(col), value_set=keys)
            labelled = pc.take(pa.array(list(names.values()), pa.string()), idx)
            table = table.append_column(f"{col}_label", pc.coalesce(labelled, table.column(col)))
    return table
