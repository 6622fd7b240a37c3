"""Small order builders shared by the churn tests (monthly volumes → order lines)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from crmtool.facts import add_months


def monthly_orders(customer: str, start: str, volumes: list[float], *, day: int = 10) -> list[dict[str, Any]]:
    """One order line per month from ``start`` (YYYY-MM) with the given volume; 0 means no line."""
    first = dt.date.fromisoformat(start + "-01")
    rows = []
    for i, v in enumerate(volumes):
        if v == 0:
            continue
        m = add_months(first, i)
        rows.append({"order_id": f"{customer}-{m:%Y%m}-{i}", "order_date": m.replace(day=day),
                     "customer_code": customer, "quantity": v})
    return rows


def line(customer: str, date: str, quantity: float, order_id: str | None = None) -> dict[str, Any]:
    return {"order_id": order_id or f"{customer}-{date}-{quantity}", "order_date": dt.date.fromisoformat(date),
            "customer_code": customer, "quantity": quantity}


def as_dicts(table) -> dict[str, dict[str, Any]]:
    """Rows of an Arrow result keyed by customer_id."""
    return {r["customer_id"]: r for r in table.to_pylist()}
