"""A small sample store for the report tests: 2 years, 120 customers, 6 managers, with hostile names
(a formula and a script tag) in the archive and among the managers."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from crmtool.config import Settings

FORMULA_NAME = '=HYPERLINK("http://x","y")'
SCRIPT_NAME = "<script>alert(1)</script>"


def build_store(folder: Path) -> tuple[Path, str, str]:
    """The store path, the id of the customer named like a formula and the one named like a script."""
    from crmtool.io.load import load_files
    from crmtool.sample import write_sample
    from crmtool.store import open_store

    files = write_sample(folder / "sample", seed=11, customers=120, managers=6, years=2)
    db = folder / "crm.duckdb"
    with open_store(db, Settings()) as store:
        for table, path in files.items():
            load_files(store, table, [path])
        con = store.con
        # customers with purchases in the last year, so they are in every grading table
        ids = [r[0] for r in con.execute(
            "SELECT o.customer_code FROM orders o JOIN customers c ON c.customer_id = o.customer_code "
            "GROUP BY 1 ORDER BY sum(o.quantity) DESC LIMIT 2").fetchall()]
        con.execute("UPDATE customers SET name = ? WHERE customer_id = ?", [FORMULA_NAME, ids[0]])
        con.execute("UPDATE customers SET name = ? WHERE customer_id = ?", [SCRIPT_NAME, ids[1]])
        first_manager = con.execute("SELECT min(manager_id) FROM managers").fetchall()[0][0]
        con.execute("UPDATE managers SET name = ? WHERE manager_id = ?", [SCRIPT_NAME, first_manager])
    return db, ids[0], ids[1]


@pytest.fixture(scope="session")
def report_store(tmp_path_factory) -> tuple[Path, str, str]:
    return build_store(tmp_path_factory.mktemp("reports"))


def chart_kinds(xlsx: Path) -> list[str]:
    """The chart types in a workbook's chart parts (openpyxl does not read charts back)."""
    kinds = []
    with zipfile.ZipFile(xlsx) as z:
        for name in sorted(z.namelist()):
            if name.startswith("xl/charts/chart") and name.endswith(".xml"):
                xml = z.read(name).decode("utf-8")
                kinds += re.findall(r"<(?:c:)?(scatterChart|barChart|lineChart|pieChart|areaChart)>", xml)
    return kinds


def sheet_xml(xlsx: Path) -> str:
    with zipfile.ZipFile(xlsx) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
