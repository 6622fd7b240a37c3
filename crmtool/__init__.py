"""crmtool: customer-resource analytics for B2B energy and chemical sellers.

Library first: everything the command line does is a call here::

    import crmtool
    with crmtool.open_store("crm.duckdb") as store:
        warn = crmtool.run(store, "churn.warn", month="2024-11")

``crmtool.registry()`` lists the analyses; ``crmtool.io.load.load_files`` loads exports.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def run(store: Any, name: str, settings: Any = None, **options: Any) -> Any:
    """Run one registered analysis and return its :class:`crmtool.result.Result`
    (see :func:`crmtool.runner.run`)."""
    from crmtool.runner import run as _run

    return _run(store, name, settings, **options)


def open_store(path: Any = None, settings: Any = None, **kwargs: Any) -> Any:
    """Open (or create) the DuckDB store (see :func:`crmtool.store.open_store`)."""
    from crmtool.store import open_store as _open

    return _open(path, settings, **kwargs)


def registry() -> dict:
    """Every registered analysis by name (``grade.rfm``, ``churn.warn`` …)."""
    from crmtool.runner import registry as _registry

    return _registry()
