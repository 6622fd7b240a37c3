"""Property tests: the set-based SQL agrees with a plain month-by-month reading of SPEC, and the
invariants hold (idle_months ≥ 0, status consistent with idle_months, severity none ⇔ streak 0 …)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmtool.churn import churn_status, churn_warn
from crmtool.facts import add_months, install_views, resolve_period
from tests.churn_fixtures import line
from tests.conftest import insert, make_store

START = dt.date(2023, 11, 1)  # the series crosses a year boundary
N_MONTHS = 10

volumes = st.lists(st.sampled_from([0, 0, 0, 10, 40, 55, 56, 80, 80, 100, -5]), min_size=N_MONTHS,
                   max_size=N_MONTHS)
customers = st.lists(st.tuples(volumes, st.booleans()), min_size=1, max_size=4)


def reference(vols: list[int], key: bool, m: int) -> dict:
    """SPEC §4.6/4.7 read literally, month by month, for month index m (0-based)."""
    # a month's lines: a positive volume is one purchase line; -5 is a lone return line
    bought = [v > 0 for v in vols]
    last = max((i for i in range(m + 1) if bought[i]), default=None)
    first = min((i for i in range(m + 1) if bought[i]), default=None)
    idle = None if last is None else m - last
    if idle is None:
        status = "prospect"
    elif first >= m - 2:
        status = "new"
    elif idle <= 3:
        status = "active"
    elif idle <= 7:
        status = "churned"
    else:
        status = "lost"

    def vol(i):
        return Decimal(vols[i]) if i >= 0 else Decimal(0)

    def breach(i):
        base = sum(vol(j) for j in range(i - 3, i)) / 3
        return base > 0 and vol(i) < Decimal("0.7") * base

    def streak(pred):
        s, i = 0, m
        while i >= 0 and pred(i):
            s, i = s + 1, i - 1
        return s

    b = streak(breach)
    dcl = streak(lambda i: vol(i) < vol(i - 1))
    sev = ("high" if key and b >= 2 else "medium" if b >= 2 or (key and b == 1) else "low" if b == 1 else "none")
    return {"idle": idle, "status": status, "breach_streak": b, "decline_streak": dcl, "severity": sev}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=customers, m=st.integers(min_value=0, max_value=N_MONTHS - 1))
def test_sql_matches_the_rules_read_literally(tmp_path_factory, data, m):
    store = make_store(tmp_path_factory.mktemp("prop"))
    try:
        rows, archive = [], []
        for n, (vols, key) in enumerate(data):
            cid = f"C{n}"
            archive.append({"customer_id": cid, "name": cid, "manager_id": "M1", "level": "gold" if key else None})
            for i, v in enumerate(vols):
                if v:
                    rows.append(line(cid, f"{add_months(START, i):%Y-%m}-15", v, f"{cid}-{i}"))
        insert(store, "customers", archive)
        if rows:
            insert(store, "orders", rows)
        install_views(store.con)
        month = add_months(START, m)
        period = resolve_period(store.con, None, f"{month:%Y-%m}")
        status = {r["customer_id"]: r for r in churn_status(store.con, period, store.settings).to_pylist()}
        warn = {r["customer_id"]: r for r in churn_warn(store.con, period, store.settings, include_all=True).to_pylist()}
        for n, (vols, key) in enumerate(data):
            cid = f"C{n}"
            ref = reference(vols, key, m)
            s, w = status[cid], warn[cid]
            assert s["idle_months"] == ref["idle"] and s["status"] == ref["status"], (cid, vols, m)
            assert (w["breach_streak"], w["decline_streak"], w["severity"]) == (
                ref["breach_streak"], ref["decline_streak"], ref["severity"]), (cid, vols, m)
            # invariants
            assert s["idle_months"] is None or 0 <= s["idle_months"] <= m
            assert (s["status"] == "prospect") == (s["idle_months"] is None)
            if s["status"] in ("active", "churned", "lost"):
                bounds = {"active": (0, 3), "churned": (4, 7), "lost": (8, 10 ** 6)}[s["status"]]
                assert bounds[0] <= s["idle_months"] <= bounds[1]
            assert (w["severity"] == "none") == (w["breach_streak"] == 0)
            assert (w["severity"] == "high") == (w["key"] and w["breach_streak"] >= 2)
            assert w["breach_streak"] <= m + 1 and w["decline_streak"] <= m + 1
            assert w["key"] is key
    finally:
        store.close()
