"""Metamorphic relations of the grading analyses on random order books (Hypothesis): changes SPEC says
cannot move a result (lines outside the window, 0 t lines, row order, reloading) are made and the two
runs compared in full. Value ranges (scores 1–5 …) are not checked here: the SPEC oracle in
test_grading_oracle.py checks every value."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmtool.config import Settings
from crmtool.errors import AnalysisError
from crmtool.facts import resolve_period
from crmtool.grading import level, pareto, quadrant, rfm, scorecard
from crmtool.store import open_store
from tests.conftest import insert

AS_OF = "2024-12-31"

line = st.fixed_dictionaries({
    "customer_code": st.sampled_from([f"C{i}" for i in range(8)]),
    "order_date": st.dates(dt.date(2023, 11, 1), dt.date(2024, 12, 31)),
    "quantity": st.integers(-20, 60),
    "amount": st.integers(-2000, 9000),
    "gross_profit": st.one_of(st.none(), st.integers(-500, 900)),
})
books = st.lists(line, min_size=1, max_size=40).filter(
    lambda rows: any(r["quantity"] > 0 and r["order_date"] > dt.date(2023, 12, 31) for r in rows))


WINDOW_START = dt.date(2023, 12, 31)  # as_of − 12 months: outside (exclusive bound)
AFTER_AS_OF = dt.date(2025, 1, 1)


def fresh(rows, archive=True):
    store = open_store(":memory:", Settings(), wait=0)
    insert(store, "orders", [dict(r, order_id=r.get("order_id", f"O{i // 2}"), line_no=r.get("line_no", i % 2 + 1))
                             for i, r in enumerate(rows)])
    if archive:
        insert(store, "customers", [dict(customer_id=f"C{i}", name="x", annual_demand=100 * i or None,
                                         reputation=10 * i, positioning_fit=50 + 5 * i if i % 3 else None)
                                    for i in range(8)])
    return store


def positive_volume_in_window(rows) -> bool:
    totals: dict[str, int] = {}
    for r in rows:
        if WINDOW_START < r["order_date"] <= dt.date(2024, 12, 31):
            totals[r["customer_code"]] = totals.get(r["customer_code"], 0) + r["quantity"]
    return any(v > 0 for v in totals.values())


ALL = ("rfm", "level", "quadrant", "scorecard", "pareto")


def run(store, rows, only=ALL):
    """The grading tables for the book; pareto is absent exactly when no customer has a positive volume."""
    con, s = store.con, store.settings
    period = resolve_period(con, AS_OF)
    calls = {"rfm": lambda: rfm(con, period, s), "level": lambda: level(con, period, s),
             "quadrant": lambda: quadrant(con, period, s), "scorecard": lambda: scorecard(con, period, s, year="2024")}
    out = {name: calls[name]().table for name in only if name != "pareto"}
    if "pareto" in only:
        if positive_volume_in_window(rows):
            out["pareto"] = pareto(con, period, s).table
        else:
            with pytest.raises(AnalysisError, match="positive"):
                pareto(con, period, s)
    return out


def results(rows, archive=True, only=ALL):
    store = fresh(rows, archive)
    try:
        return {k: _canonical(v) for k, v in run(store, rows, only).items()}
    finally:
        store.close()


def numbered(rows):
    return [dict(r, order_id=f"O{i // 2}", line_no=i % 2 + 1) for i, r in enumerate(rows)]


# Metamorphic relations: each changes the input in a way SPEC says cannot change a result, and
# compares the two runs in full (every column of every table). A window bound off by a day, a
# purchase counted at quantity 0 or a return counted as a purchase breaks one of them.

extra_line = st.fixed_dictionaries({
    "customer_code": st.sampled_from([f"C{i}" for i in range(8)] + ["NEW1", "NEW2"]),
    "quantity": st.integers(-20, 60),
    "amount": st.integers(-2000, 9000),
    "gross_profit": st.one_of(st.none(), st.integers(-500, 900)),
})


PROPS = settings(max_examples=12)  # on top of the conftest profile: derandomized, no deadline


@PROPS
@given(books, st.lists(extra_line, min_size=1, max_size=6), st.sampled_from([WINDOW_START, AFTER_AS_OF]))
def test_lines_outside_the_window_change_nothing(rows, extra, day):
    # SPEC §3: as_of − 12 months < order_date ≤ as_of. Lines on 2023-12-31 or after 2024-12-31 are outside
    # every window (and outside the scorecard year 2024), whatever their customer or sign.
    base = numbered(rows)
    more = base + [dict(x, order_date=day, order_id=f"X{i}", line_no=1) for i, x in enumerate(extra)]
    assert results(more) == results(base)


@PROPS
@given(books, st.lists(st.sampled_from([f"C{i}" for i in range(8)] + ["NEW1", "NEW2"]), min_size=1, max_size=6),
       st.dates(dt.date(2024, 1, 1), dt.date(2024, 12, 31)))
def test_zero_quantity_lines_change_nothing(rows, customers, day):
    # SPEC §3: a purchase is a line with quantity > 0. A 0 t line (amount and profit 0) in the window adds
    # no purchase, no purchase month, no order to the frequency and nothing to any sum: RFM, ABC and the
    # level suggestion are unchanged, even for a customer who had nothing else.
    base = numbered(rows)
    # (gross profit left empty: a stated 0 would make an unknown profit known)
    more = base + [dict(customer_code=c, order_date=day, quantity=0, amount=0, gross_profit=None, order_id=f"Z{i}",
                        line_no=1) for i, c in enumerate(customers)]
    only = ("rfm", "level", "pareto")
    assert results(more, only=only) == results(base, only=only)


@PROPS
@given(books)
def test_a_purchase_returned_in_the_same_order_is_a_purchase_month_but_no_volume(rows):
    # a customer with nothing else buys 5 t and returns 5 t in one order in June: it enters the scored
    # set (a purchase line) with frequency 0, monetary 0, volume 0 and one purchase month; a zero total
    # is never ranked by ABC
    base = numbered(rows)
    more = base + [dict(customer_code="FULLRET", order_date=dt.date(2024, 6, 10), quantity=q, amount=100 * q,
                        gross_profit=10 * q, order_id="FR", line_no=ln) for ln, q in ((1, 5), (2, -5))]
    only = ("rfm", "level", "pareto")
    after = results(more, only=only)
    r = {x["customer_id"]: x for x in after["rfm"]}["FULLRET"]
    lv = {x["customer_id"]: x for x in after["level"]}["FULLRET"]
    assert (r["frequency"], r["monetary"]) == (0, 0)
    assert (lv["volume"], lv["purchase_months"]) == (0, 1)
    assert after.get("pareto") == results(base, only=("pareto",)).get("pareto")


def _canonical(table):
    return sorted(table.to_pylist(), key=lambda r: r["customer_id"])


@PROPS
@given(books, st.randoms(use_true_random=False))
def test_row_order_does_not_matter(rows, rnd):
    ordered = numbered(rows)
    shuffled = list(ordered)
    rnd.shuffle(shuffled)
    assert results(shuffled, archive=False) == results(ordered, archive=False)


def test_reloading_the_same_files_changes_nothing(tmp_path: Path):
    from crmtool.io.load import load_files

    rnd = random.Random(3)
    path = tmp_path / "orders.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["order_id", "line_no", "order_date", "customer_code", "quantity", "amount", "gross_profit"])
        rows = []
        for i in range(300):
            day = dt.date(2024, 1, 1) + dt.timedelta(days=rnd.randrange(366))
            row = dict(order_date=day, customer_code=f"C{rnd.randrange(25)}", quantity=rnd.choice([5, 10, 20, -3]))
            rows.append(row)
            w.writerow([f"O{i // 3}", i % 3 + 1, day.isoformat(), row["customer_code"], row["quantity"],
                        rnd.randrange(100, 5000), rnd.randrange(-50, 400)])
    store = open_store(tmp_path / "crm.duckdb", Settings(), wait=0)
    try:
        load_files(store, "orders", [path])
        first = {k: _canonical(v) for k, v in run(store, rows).items()}
        load_files(store, "orders", [path])
        again = {k: _canonical(v) for k, v in run(store, rows).items()}
    finally:
        store.close()
    assert first == again
    assert len(first["rfm"]) == 25
