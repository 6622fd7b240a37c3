"""Shared fixtures: a fresh store on disk, and a helper that inserts canonical rows by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable

import pytest

from crmtool.config import Settings, settings_from_dict
from crmtool.io.schema import TABLES
from crmtool.store import Store, open_store, quote_ident


@pytest.fixture
def store(tmp_path: Path) -> Iterable[Store]:
    s = open_store(tmp_path / "crm.duckdb", Settings(), wait=0)
    yield s
    s.close()


@pytest.fixture
def st(store: Store) -> Store:
    """Short name the churn tests use for a fresh store."""
    return store


def make_store(tmp_path: Path, overrides: dict[str, Any] | None = None) -> Store:
    settings = settings_from_dict(overrides or {})
    return open_store(tmp_path / "crm.duckdb", settings, wait=0)


def insert(store: Store, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert canonical rows directly (no loader): missing columns are NULL. For orders, ``quantity``
    is in tons and ``line_no`` defaults to 1; for plans, scope/subject_id are derived."""
    spec = TABLES[table]
    names = [c.name for c in spec.columns] + [n for n, _ in spec.derived]
    for r in rows:
        r = dict(r)
        if table == "orders":
            r.setdefault("line_no", 1)
            r.setdefault("quantity_raw", r.get("quantity"))
            r.setdefault("unit", "t")
            r.setdefault("unit_raw", "t")
            r.setdefault("category", "diesel")
            if r.get("gross_profit") is None and r.get("amount") is not None and r.get("cost") is not None:
                r["gross_profit"] = r["amount"] - r["cost"]
        if table == "plans":
            r.setdefault("category", "all")
            r["scope"] = "customer" if r.get("customer_id") else "manager"
            r["subject_id"] = r.get("customer_id") or r.get("manager_id")
        unknown = set(r) - set(names)
        assert not unknown, f"unknown columns for {table}: {unknown}"
        cols = ", ".join(quote_ident(n) for n in r)
        marks = ", ".join("?" for _ in r)
        store.con.execute(f"INSERT INTO {quote_ident(table)} ({cols}) VALUES ({marks})", list(r.values()))


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
