"""Property: an order file, bad rows included, gives the same store figures whether it is loaded once,
twice, or with its lines shuffled (rejects are replaced, keys upserted, order never matters)."""

from __future__ import annotations

import itertools
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmtool.config import Settings
from crmtool.io.load import load_files
from crmtool.status import store_status
from crmtool.store import open_store

HEADER = "凭证号,行号,过账日期,客户编码,数量,单位\n"

# (kind of row, day, quantity): good rows and every kind of bad row the loader rejects
kinds = st.sampled_from(["good", "good", "good", "return", "bad_date", "far_date", "bad_qty", "no_customer",
                         "bad_unit", "bad_line_no"])
rows = st.lists(st.tuples(kinds, st.integers(1, 28), st.integers(1, 500)), min_size=1, max_size=30)

counter = itertools.count()


def _line(i: int, kind: str, day: int, qty: int) -> str:
    date = f"2024-03-{day:02d}"
    line_no, customer, unit, quantity = str(1 + i % 3), f"C{i % 5}", "吨", str(qty / 10)
    if kind == "return":
        quantity = "-" + quantity
    elif kind == "bad_date":
        date = f"2024-02-{30 + day % 2}"
    elif kind == "far_date":
        date = "9999-12-31"
    elif kind == "bad_qty":
        quantity = "约" + quantity
    elif kind == "no_customer":
        customer = ""
    elif kind == "bad_unit":
        unit = "桶"
    elif kind == "bad_line_no":
        line_no = "x"
    return f"SO{i // 3},{line_no},{date},{customer},{quantity},{unit}\n"


def _figures(store) -> tuple:
    s = store_status(store)
    return s["tables"], s["rejects_by_reason"], s["orders"]["first_date"], s["orders"]["last_date"]


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=rows, seed=st.integers(0, 10_000))
def test_once_twice_or_shuffled_give_the_same_figures(tmp_path, data, seed):
    n = next(counter)
    body = [_line(i, *r) for i, r in enumerate(data)]  # keys (SO<i//3>, 1 + i%3) are unique
    shuffled = body[:]
    random.Random(seed).shuffle(shuffled)
    f = tmp_path / f"o{n}.csv"
    f.write_text(HEADER + "".join(body), encoding="utf-8")
    g = tmp_path / f"s{n}.csv"
    g.write_text(HEADER + "".join(shuffled), encoding="gb18030")
    figures = []
    for name, loads in (("once", [f]), ("twice", [f, f]), ("shuffled", [g])):
        with open_store(tmp_path / f"{name}{n}.duckdb", Settings(), wait=0) as store:
            for path in loads:
                load_files(store, "orders", [path])
            figures.append(_figures(store))
    assert figures[0] == figures[1] == figures[2]
    good = sum(1 for k, _, _ in data if k in ("good", "return"))
    assert figures[0][0]["orders"] == good
    assert sum(figures[0][1].values()) == len(data) - good
