"""English and Chinese labels for churn statuses, warning severities and idle buckets."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

STATUS = {
    "prospect": {"en": "Prospect", "zh": "潜在"},
    "new": {"en": "New", "zh": "新客户"},
    "active": {"en": "Active", "zh": "有效"},
    "churned": {"en": "Churned", "zh": "流失"},
    "lost": {"en": "Lost", "zh": "长期流失"},
}

SEVERITY = {
    "none": {"en": "None", "zh": "无"},
    "low": {"en": "Low", "zh": "低"},
    "medium": {"en": "Medium", "zh": "中"},
    "high": {"en": "High", "zh": "高（通报）"},
}

# severity ids in ascending order; `--severity medium` means medium and above
SEVERITY_ORDER = ("none", "low", "medium", "high")


def status_label(status: str | None, lang: str = "en") -> str | None:
    return None if status is None else STATUS.get(status, {}).get(lang, status)


def severity_label(severity: str | None, lang: str = "en") -> str | None:
    return None if severity is None else SEVERITY.get(severity, {}).get(lang, severity)


def bucket_label(bucket: str, lang: str = "en") -> str:
    """'0'…'7' and '8+' → '0 months' / '0个月', '8+ months' / '8个月及以上'."""
    if lang == "zh":
        return f"{bucket[:-1]}个月及以上" if bucket.endswith("+") else f"{bucket}个月"
    return f"{bucket} months" if bucket != "1" else "1 month"


def with_labels(table: "pa.Table", lang: str) -> "pa.Table":
    """Append ``status_label`` / ``severity_label`` columns (after every other column) for ``lang``
    other than English; English output keeps the ids only."""
    import pyarrow as pa

    if lang == "en":
        return table
    for col, fn in (("status", status_label), ("severity", severity_label)):
        if col in table.column_names:
            values = [fn(v, lang) for v in table.column(col).to_pylist()]
            table = table.append_column(f"{col}_label", pa.array(values, pa.string()))
    return table
