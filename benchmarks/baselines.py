"""What users would otherwise run, as scripts the benchmarks time in their own processes, and the one
way every benchmark measures a whole process.

Each script reads an export of the orders with the columns order_id, order_date, customer_code,
quantity, amount (Parquet) or the store itself (the DuckDB floor), for the month 2024-12 / as-of
2024-12-31 of the generated data, and writes its result so nothing is optimised away.
"""

from __future__ import annotations

import json
import subprocess
import sys

# the engine's floor: one hand-written RFM query (SPEC's rules: 12-month window, orders with a positive
# net quantity, quintiles by cume_dist) straight from the store file
RFM_SQL = """
WITH w AS (SELECT customer_code AS c, order_id, order_date, quantity, amount FROM orders
           WHERE order_date > DATE '2023-12-31' AND order_date <= DATE '2024-12-31'),
o AS (SELECT c, order_id, sum(quantity) AS q, max(order_date) FILTER (WHERE quantity > 0) AS d FROM w GROUP BY 1, 2),
b AS (SELECT c, count(*) FILTER (WHERE q > 0) AS f, max(d) FILTER (WHERE q > 0) AS last_d FROM o GROUP BY 1),
m AS (SELECT c, sum(amount) AS m FROM w GROUP BY 1 HAVING max(quantity) > 0),
s AS (SELECT m.c, DATE '2024-12-31' - b.last_d AS r, b.f, m.m FROM m JOIN b USING (c)),
sc AS (SELECT *, ceil(5 * cume_dist() OVER (ORDER BY r DESC)) AS rs, ceil(5 * cume_dist() OVER (ORDER BY f)) AS fs,
              ceil(5 * cume_dist() OVER (ORDER BY m)) AS ms FROM s)
SELECT *, rs > avg(rs) OVER () AS rh, fs > avg(fs) OVER () AS fh, ms > avg(ms) OVER () AS mh FROM sc"""

RFM_FLOOR = f"""
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
sql = {RFM_SQL!r}
out = sys.argv[2].replace("'", "''")
con.execute(f"COPY ({{sql}}) TO '{{out}}' (FORMAT parquet)")
"""

RFM_PANDAS = """
import sys, numpy as np, pandas as pd
df = pd.read_parquet(sys.argv[1], columns=['order_id', 'order_date', 'customer_code', 'quantity', 'amount'])
df['order_date'] = pd.to_datetime(df['order_date'])
as_of = pd.Timestamp('2024-12-31')
w = df[(df.order_date > as_of - pd.DateOffset(months=12)) & (df.order_date <= as_of)].copy()
w['quantity'] = w['quantity'].astype(float); w['amount'] = w['amount'].astype(float)
o = w.groupby(['customer_code', 'order_id']).agg(q=('quantity', 'sum'), d=('order_date', 'max')).reset_index()
o = o[o.q > 0]
b = o.groupby('customer_code').agg(f=('order_id', 'count'), last=('d', 'max'))
m = w.groupby('customer_code').agg(m=('amount', 'sum'), buy=('quantity', 'max'))
s = m[m.buy > 0].join(b, how='inner')
s['r'] = (as_of - s['last']).dt.days
s['rs'] = np.ceil(5 * s['r'].rank(method='max', ascending=False, pct=True))
s['fs'] = np.ceil(5 * s['f'].rank(method='max', pct=True))
s['ms'] = np.ceil(5 * s['m'].rank(method='max', pct=True))
for k in ('rs', 'fs', 'ms'):
    s[k[0] + 'h'] = s[k] > s[k].mean()
s.to_parquet(sys.argv[2])
"""

WARN_PANDAS = """
import sys, numpy as np, pandas as pd
df = pd.read_parquet(sys.argv[1], columns=['order_date', 'customer_code', 'quantity'])
df['month'] = pd.to_datetime(df['order_date']).dt.to_period('M')
df['quantity'] = df['quantity'].astype(float)
df = df[df.month <= pd.Period('2024-12', 'M')]
vol = df.pivot_table(index='customer_code', columns='month', values='quantity', aggfunc='sum', fill_value=0.0)
vol = vol.reindex(columns=pd.period_range(vol.columns.min(), '2024-12', freq='M'), fill_value=0.0)
base = (vol.shift(1, axis=1).fillna(0) + vol.shift(2, axis=1).fillna(0) + vol.shift(3, axis=1).fillna(0)) / 3
breach = (base > 0) & (vol < 0.7 * base)
# streak ending at the last month: consecutive breached months counted back from the end
b = breach.to_numpy()[:, ::-1]
streak = np.where(b.all(axis=1), b.shape[1], np.argmin(b, axis=1))
out = pd.DataFrame({'volume': vol.iloc[:, -1], 'baseline': base.iloc[:, -1], 'breach_streak': streak})
out[out.breach_streak > 0].to_parquet(sys.argv[2])
"""

STATUS_PANDAS = """
import sys, pandas as pd
df = pd.read_parquet(sys.argv[1], columns=['order_date', 'customer_code', 'quantity'])
df = df[df.quantity > 0]
df['month'] = pd.to_datetime(df['order_date']).dt.to_period('M')
df = df[df.month <= pd.Period('2024-12', 'M')]
g = df.groupby('customer_code').agg(last=('month', 'max'), first=('month', 'min'))
m = pd.Period('2024-12', 'M')
g['idle'] = (m - g['last']).apply(lambda x: x.n)
g['status'] = pd.cut(g['idle'], [-1, 3, 7, 10 ** 6], labels=['active', 'churned', 'lost'])
g.to_parquet(sys.argv[2])
"""

# the summary (frequency, recency, T) lifetimes computes before a BG/NBD fit, over the same window
LIFETIMES = """
import sys, pandas as pd
from lifetimes.utils import summary_data_from_transaction_data
df = pd.read_parquet(sys.argv[1], columns=['order_date', 'customer_code', 'quantity'])
df = df[df.quantity > 0]
df['order_date'] = pd.to_datetime(df['order_date'])
df = df[(df.order_date > '2023-12-31') & (df.order_date <= '2024-12-31')]
s = summary_data_from_transaction_data(df, 'customer_code', 'order_date', observation_period_end='2024-12-31',
                                       freq='W')
s.to_parquet(sys.argv[2])
"""

# DuckDB alone: the files of one format into one table (kind, db, memory_limit, threads, files...)
LOAD_FLOOR = """
import codecs, os, sys, tempfile, duckdb
kind, db, memory, threads, *files = sys.argv[1:]
con = duckdb.connect(db)
con.execute(f"SET memory_limit = '{memory}'")
con.execute(f"SET threads = {int(threads)}")
con.execute(f"SET temp_directory = '{db}.tmp'")
if kind == "parquet":
    con.execute("CREATE TABLE t AS SELECT * FROM read_parquet(?)", [files])
else:
    paths = files
    if kind == "gbk":
        paths = []
        for src in files:
            fd, path = tempfile.mkstemp(suffix=".csv", dir=os.path.dirname(db))
            dec = codecs.getincrementaldecoder("gb18030")()
            with open(src, "rb") as f, os.fdopen(fd, "wb") as out:
                while chunk := f.read(1 << 20):
                    out.write(dec.decode(chunk).encode("utf-8"))
            paths.append(path)
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [paths])
    if kind == "gbk":
        for p in paths:
            os.unlink(p)
con.close()
"""


# runs argv[1:] as a child and prints its wall seconds, CPU seconds and peak RSS (children included:
# RUSAGE_CHILDREN covers every waited-for descendant) and exit code as JSON; an address-space cap in
# bytes (env CRMTOOL_BENCH_CAP) turns a baseline that would exhaust the machine into a MemoryError
WRAPPER = """
import json, os, resource, subprocess, sys, time
cap = int(os.environ.get("CRMTOOL_BENCH_CAP") or 0)
def limit():
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
t0 = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=limit)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": u.ru_utime + u.ru_stime, "rss_kb": u.ru_maxrss,
                  "rc": p.returncode, "err": p.stderr[-2000:]}))
"""


def measure(argv: list[str], cap_bytes: int = 0) -> dict:
    """Wall and CPU seconds, peak RSS (MB, children included) and exit code of one whole process."""
    import os

    env = {**os.environ, "CRMTOOL_BENCH_CAP": str(cap_bytes or "")}
    out = subprocess.run([sys.executable, "-c", WRAPPER, *argv], capture_output=True, text=True, check=True, env=env)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["rss_mb"] = r.pop("rss_kb") / 1024
    return r
