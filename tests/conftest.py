"""Shared fixtures: a fresh in-memory store, a helper that inserts canonical rows by hand, and the
isolation every test gets (no user config, no CRMTOOL_* variables, its own working folder, Hypothesis
draws that are the same on every run)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Iterable

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from crmtool.config import Settings, settings_from_dict
from crmtool.io.schema import TABLES
from crmtool.store import Store, open_store, quote_ident


# Hypothesis: the same examples on every run (a failure is reproducible and a mutant is killed or not,
# never by luck), no deadline (DuckDB's first query on a cold cache is slow), and few enough examples
# that the suite stays fast. `HYPOTHESIS_PROFILE=thorough pytest` explores more, randomly.
hypothesis_settings.register_profile(
    "crmtool", derandomize=True, database=None, deadline=None, max_examples=25, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
hypothesis_settings.register_profile("thorough", deadline=None, max_examples=300,
                                     suppress_health_check=[HealthCheck.too_slow,
                                                            HealthCheck.function_scoped_fixture])
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "crmtool"))

# what a user's shell or folder could carry into a test
USER_ENV = ("CRMTOOL_CONFIG", "CRMTOOL_DB")


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test runs without the user's CRMTOOL_CONFIG / CRMTOOL_DB and in its own empty folder,
    so neither a crmtool.toml nor a crm.duckdb where pytest was started can change a result."""
    for name in USER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def store() -> Iterable[Store]:
    """A fresh in-memory store with the default settings."""
    s = open_store(":memory:", Settings(), wait=0)
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


# a process that runs the crmtool CLI with the loader's test seam installed: it writes the marker file
# given as its first argument and sleeps inside the load's transaction, just before COMMIT, so a test
# can kill it there: python -c HOLD_BEFORE_COMMIT MARKER crmtool-args…
HOLD_BEFORE_COMMIT = ("import pathlib, sys, time\n"
                      "import crmtool.io.load as load\n"
                      "marker = pathlib.Path(sys.argv.pop(1))\n"
                      "def hold():\n"
                      "    marker.write_text('holding')\n"
                      "    time.sleep(60)\n"
                      "load._before_commit = hold\n"
                      "from crmtool.cli import main\n"
                      "sys.argv[0] = 'crmtool'\n"
                      "main()\n")
