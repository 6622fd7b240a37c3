"""English and Chinese labels for every id the grading analyses emit.

Tier ids (levels, scorecard grades) take their labels from the configured tiers (``Tier.en`` /
``Tier.zh``); everything else is fixed here. ``grading._sql.label_case`` turns a mapping into a
SQL ``CASE`` with bound parameters, so label columns come from the same query as the ids.
"""

from __future__ import annotations

from typing import Mapping

from crmtool.config import Settings

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

ABC_CLASSES: dict[str, tuple[str, str]] = {
    "A": ("A (top 80%)", "A类"),
    "B": ("B (next 15%)", "B类"),
    "C": ("C (tail)", "C类"),
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


def _pick(pairs: Mapping[str, tuple[str, str]], lang: str) -> dict[str, str]:
    i = 1 if lang == "zh" else 0
    return {k: v[i] for k, v in pairs.items()}


def segments(lang: str = "en") -> dict[str, str]:
    return _pick(SEGMENTS, lang)


def abc_classes(lang: str = "en") -> dict[str, str]:
    return _pick(ABC_CLASSES, lang)


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
