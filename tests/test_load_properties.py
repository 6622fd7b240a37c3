"""Property: however exports overlap, repeat or arrive in order, the store holds each line once."""

from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmtool.config import Settings
from crmtool.io.load import load_files
from crmtool.store import open_store

lines = st.lists(
    st.tuples(st.integers(1, 30), st.integers(1, 3), st.integers(-50, 500), st.integers(1, 28)),
    min_size=1, max_size=40, unique_by=lambda t: (t[0], t[1]))

counter = itertools.count()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=lines, cut=st.floats(0, 1), overlap=st.integers(0, 10), reverse=st.booleans())
def test_overlapping_exports_never_double_count(tmp_path, data, cut, overlap, reverse):
    n = next(counter)
    k = int(len(data) * cut)
    first, second = data[:k + overlap], data[max(0, k - overlap):]
    files = []
    for i, part in enumerate((first, second)):
        f = tmp_path / f"e{n}_{i}.csv"
        body = "".join(f"SO{o},{ln},2024-01-{d:02d},C{o % 4},{q / 10}\n" for o, ln, q, d in part)
        f.write_bytes(("凭证号,行号,过账日期,客户编码,数量\n" + body).encode("gbk"))
        files.append(f)
    if reverse:
        files.reverse()
    with open_store(tmp_path / f"db{n}.duckdb", Settings()) as store:
        load_files(store, "orders", files)
        load_files(store, "orders", files[::-1])
        count, total = store.con.execute("SELECT count(*), coalesce(sum(quantity), 0) FROM orders").fetchall()[0]
    assert count == len(data)
    assert total == sum(Decimal(q) / 10 for _, _, q, _ in data)
