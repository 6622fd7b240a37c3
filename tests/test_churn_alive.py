"""Purchase probability, BG/NBD (SPEC §4.12).

- The paper's CDNOW sample (tests/data, see its README): the fit gives r 0.243, alpha 4.414, a 0.793,
  b 2.426, LL −9582.4; p_alive is the closed form at those parameters; the paper's worked example
  E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226; crmtool's SQL summary of the CDNOW transactions is
  the published summary.
- Hand-counted summaries on a tiny order set with returns and window edges.
- Formulas: p_alive = 1 without repeat purchase, falls as the last purchase ages (property);
  the analytic gradient is the numerical one; weights equal repeated rows; the hypergeometric
  series agrees with scipy's hyp2f1 and stays finite at a = 1 and for frequent buyers.
- Degenerate fits are AnalysisErrors with a sentence; the runner result and the CLI command.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from crmtool.churn.alive import (ALIVE_COLUMNS, _beta_quadrature, _objective, bgnbd_log_likelihood, churn_alive,
                                 expected_purchases, fit_bgnbd, horizon_weeks, p_alive, purchase_summary,
                                 simulate_bgnbd)
from crmtool.cli import app
from crmtool.errors import AnalysisError
from crmtool.facts import install_views
from crmtool.runner import Runner
from tests.churn_fixtures import line
from tests.conftest import insert, make_store

DATA = Path(__file__).parent / "data"
PAPER = (0.243, 4.414, 0.793, 2.426)  # r, alpha, a, b of Fader, Hardie & Lee (2005), CDNOW
CDNOW_END = dt.date(1997, 9, 30)


def cdnow_summary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with open(DATA / "cdnow_summary.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    x = np.array([float(r["frequency"]) for r in rows])
    t_x = np.array([float(r["recency"]) for r in rows])
    T = np.array([float(r["T"]) for r in rows])
    return x, t_x, T


def closed_form_p_alive(r, alpha, a, b, x, t_x, T) -> float:
    """The paper's eq. (11), written out once more in plain Python."""
    if x == 0:
        return 1.0
    return 1.0 / (1.0 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))


# ---------------------------------------------------------------------------------------------
# CDNOW


@pytest.fixture(scope="module")
def cdnow_fit():
    return fit_bgnbd(*cdnow_summary())


def test_cdnow_fit_gives_the_papers_parameters(cdnow_fit):
    f = cdnow_fit
    assert (round(f.r, 3), round(f.alpha, 3), round(f.a, 3), round(f.b, 3)) == PAPER
    assert round(f.log_likelihood, 1) == -9582.4
    assert f.customers == 2357 and f.at_bound == ()
    assert f.unique_rows < 2357  # customers sharing (x, t_x, T) are one weighted row


def test_cdnow_log_likelihood_at_the_papers_parameters():
    x, t_x, T = cdnow_summary()
    assert bgnbd_log_likelihood(PAPER, x, t_x, T).sum() == pytest.approx(-9582.4, abs=0.1)


def test_cdnow_p_alive_is_the_closed_form(cdnow_fit):
    x, t_x, T = cdnow_summary()
    for params in (PAPER, cdnow_fit.params):
        got = p_alive(params, x, t_x, T)
        want = [closed_form_p_alive(*params, xi, ti, Ti) for xi, ti, Ti in zip(x, t_x, T)]
        np.testing.assert_allclose(got, want, rtol=1e-12)
    # customer 1 of the sample: x = 2, t_x = 30.43, T = 38.86
    assert p_alive(PAPER, 2, 30.43, 38.86) == pytest.approx(closed_form_p_alive(*PAPER, 2, 30.43, 38.86))
    assert 0.72 < float(p_alive(PAPER, 2, 30.43, 38.86)) < 0.73


def test_cdnow_conditional_expectation_worked_example():
    # the paper's example: E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226 (also checked against mpmath's
    # hyp2f1 at 60 digits on the untransformed formula)
    assert expected_purchases(PAPER, 39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)


def cdnow_store(tmp_path):
    s = make_store(tmp_path)
    s.con.execute(
        "INSERT INTO orders (order_id, line_no, order_date, customer_code, quantity, quantity_raw, unit, unit_raw, "
        "category) SELECT 'o' || row_number() OVER (), 1, order_date, CAST(customer_id AS VARCHAR), quantity, "
        "quantity, 't', 't', 'other' FROM read_csv(?, header = true, "
        "columns = {'customer_id': 'INTEGER', 'order_date': 'DATE', 'quantity': 'DOUBLE'})",
        [str(DATA / "cdnow_calibration_transactions.csv")])
    install_views(s.con)
    return s


def test_cdnow_sql_summary_reproduces_the_published_summary(tmp_path):
    s = cdnow_store(tmp_path)
    try:
        t = purchase_summary(s.con, CDNOW_END, 36)
    finally:
        s.close()
    got = {int(r["customer_id"]): r for r in t.to_pylist()}
    x, t_x, T = cdnow_summary()
    assert len(got) == 2357
    for i in range(2357):
        r = got[i + 1]
        assert r["frequency"] == x[i]
        assert round(r["recency_weeks"], 2) == t_x[i]
        assert round(r["age_weeks"], 2) == T[i]


def test_cdnow_through_the_runner(tmp_path):
    s = cdnow_store(tmp_path)
    try:
        res = Runner(s, save=False).run("churn.alive", as_of="1997-09-30", horizon=9)
    finally:
        s.close()
    sm = res.summary
    assert (round(sm["r"], 3), round(sm["alpha"], 3), round(sm["a"], 3), round(sm["b"], 3)) == PAPER
    assert round(sm["log_likelihood"], 1) == -9582.4
    assert sm["customers"] == 2357 and sm["fit_seconds"] >= 0
    assert res.table.column_names[:len(ALIVE_COLUMNS)] == ALIVE_COLUMNS
    assert res.table.column_names[len(ALIVE_COLUMNS):] == ["name", "manager_id", "region"]
    rows = {r["customer_id"]: r for r in res.table.to_pylist()}
    one = rows["1"]
    assert (one["frequency"], round(one["recency_weeks"], 2), round(one["age_weeks"], 2)) == (2, 30.43, 38.86)
    assert one["p_alive"] == pytest.approx(closed_form_p_alive(sm["r"], sm["alpha"], sm["a"], sm["b"],
                                                               2, 213 / 7, 272 / 7), rel=1e-12)  # 01-01 → 08-02 → 09-30
    # 9 months after 1997-09-30: 273 days = 39 weeks, the paper's holdout length
    assert sm["horizon_weeks"] == 39
    assert one["expected_purchases"] == pytest.approx(1.226, abs=2e-3)
    probs = res.table.column("p_alive").to_pylist()
    assert probs == sorted(probs)  # the most likely lost first


# ---------------------------------------------------------------------------------------------
# the SQL summary by hand


def test_summary_counted_by_hand(store):
    """as-of 2024-03-31, window 36 months: as_of − 36 months = 2021-03-31 < date ≤ 2024-03-31.

    A: +10 on 01-01; +5 and −5 on 01-15 (net 0: no purchase day); +3 and +2 on 02-01 (one day);
       a return of −4 on 03-01 (no purchase day) → purchase days 01-01, 02-01: x 1,
       t_x 31 days, T 90 days.
    B: one purchase 2022-01-01 → x 0, t_x 0, T 820 days.
    C: last purchase on 2021-03-31, the window's excluded edge → not scored.
    D: one purchase on 2021-04-01, the first day inside → x 0, T 1095 days.
    E: only a purchase after as-of → not scored.
    F: first ever purchase 2019-06-01 (before the window), then 2024-02-10: counted from the first
       ever day → x 1, t_x 1715 days, T 1765 days.
    G: a day with a purchase and a larger return (net −2) and nothing else → not scored."""
    insert(store, "orders", [
        line("A", "2024-01-01", 10), line("A", "2024-01-15", 5), line("A", "2024-01-15", -5),
        line("A", "2024-02-01", 3, "A1"), {**line("A", "2024-02-01", 2, "A1"), "line_no": 2},
        line("A", "2024-03-01", -4),
        line("B", "2022-01-01", 7), line("C", "2021-03-31", 7), line("D", "2021-04-01", 7),
        line("E", "2024-04-05", 7), line("F", "2019-06-01", 7), line("F", "2024-02-10", 7),
        line("G", "2024-03-05", 3), line("G", "2024-03-05", -5),
    ])
    install_views(store.con)
    t = purchase_summary(store.con, dt.date(2024, 3, 31), 36)
    got = {r["customer_id"]: (r["frequency"], r["recency_weeks"] * 7, r["age_weeks"] * 7) for r in t.to_pylist()}
    want = {"A": (1, 31, 90), "B": (0, 0, 820), "D": (0, 0, 1095), "F": (1, 1715, 1765)}
    assert set(got) == set(want)
    for k, (x, tx, T) in want.items():
        assert got[k][0] == x and got[k][1] == pytest.approx(tx) and got[k][2] == pytest.approx(T)
    assert t.column_names == ["customer_id", "frequency", "recency_weeks", "age_weeks"]


def test_horizon_is_calendar_months():
    assert horizon_weeks(dt.date(2024, 12, 31), 3) == 90 / 7  # to 2025-03-31
    assert horizon_weeks(dt.date(2024, 11, 30), 3) == 90 / 7  # to 2025-02-28
    assert horizon_weeks(dt.date(1997, 9, 30), 9) == 39


# ---------------------------------------------------------------------------------------------
# formulas


def test_no_repeat_purchase_means_alive():
    assert p_alive(PAPER, 0, 0, 38.86) == 1.0
    assert p_alive((2.0, 1.0, 5.0, 0.5), [0, 0], [0, 0], [0.5, 500.0]).tolist() == [1.0, 1.0]


def test_p_alive_falls_as_the_last_purchase_ages():
    # x = 3 repeat days, the last at week 10: the longer since then, the less likely alive
    ages = np.array([10.0, 12, 20, 40, 80])
    probs = p_alive(PAPER, 3, 10, ages)
    assert np.all(np.diff(probs) < 0)
    assert probs[-1] < 0.1 < probs[0]


params_st = st.tuples(st.floats(0.05, 20), st.floats(0.1, 100), st.floats(0.05, 20), st.floats(0.05, 50))


@given(params_st, st.integers(1, 300), st.floats(0, 200), st.floats(0.01, 200), st.floats(0.01, 200))
def test_p_alive_falls_with_time_since_last_purchase_property(params, x, t_x, gap1, extra):
    """For fixed x and t_x, p_alive is non-increasing in T (strictly while it is not 0 or 1 in floats)."""
    p1, p2 = p_alive(params, [x, x], [t_x, t_x], [t_x + gap1, t_x + gap1 + extra])
    assert 0 <= p2 <= p1 <= 1
    # and more recent purchase (t_x closer to T) at the same age is never less likely alive
    T = t_x + gap1 + extra
    q_old, q_new = p_alive(params, [x, x], [t_x, t_x + gap1], [T, T])
    assert q_old <= q_new


def test_analytic_gradient_matches_numerical():
    from scipy.optimize import approx_fprime

    x, t_x, T = cdnow_summary()
    w = np.ones_like(x)
    for theta in (np.log(PAPER), np.log([1.0, 3.0, 2.0, 0.7]), np.log([5.0, 50.0, 0.2, 10.0])):
        _, grad = _objective(theta, x, t_x, T, w, float(len(x)))
        num = approx_fprime(theta, lambda th: _objective(th, x, t_x, T, w, float(len(x)))[0], 1e-7)
        np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-6)


def test_weights_equal_repeated_customers():
    x, t_x, T = cdnow_summary()
    head = slice(0, 600)
    w = np.where(np.arange(600) % 3 == 0, 3.0, 1.0)
    weighted = fit_bgnbd(x[head], t_x[head], T[head], weights=w)
    rep = np.repeat(np.arange(600), w.astype(int))
    repeated = fit_bgnbd(x[head][rep], t_x[head][rep], T[head][rep])
    np.testing.assert_allclose(weighted.params, repeated.params, rtol=1e-5)
    assert weighted.log_likelihood == pytest.approx(repeated.log_likelihood, rel=1e-9)
    assert weighted.customers == repeated.customers == len(rep)


def test_fit_recovers_simulated_parameters():
    T = np.random.default_rng(5).uniform(20, 52, 20_000)
    x, t_x, T = simulate_bgnbd(PAPER, T, seed=6)
    f = fit_bgnbd(x, t_x, T)
    np.testing.assert_allclose(f.params, PAPER, rtol=0.2)


def test_expected_purchases_quadrature_agrees_with_hyp2f1():
    """The Beta-quadrature fallback and the hyp2f1 closed form are the same number."""
    cases = [(PAPER, 39, 2, 30.43, 38.86), ((0.5, 3.0, 2.5, 7.0), 13, 30, 100, 120),
             ((3.0, 0.5, 0.3, 0.9), 52, 0, 0, 2),
             ((0.05, 40.0, 5.0, 1.5), 4, 200, 290, 300)]
    for params, t, x, t_x, T in cases:
        r, alpha, a, b = params
        closed = expected_purchases(params, t, x, t_x, T)
        quad = p_alive(params, x, t_x, T) * _beta_quadrature(a, b, np.array([float(x)]), np.array([r + x]),
                                                             np.array([t / (alpha + T)]))[0]
        assert quad == pytest.approx(float(closed), rel=1e-9)


def test_expected_purchases_when_hyp2f1_overflows():
    # a and b in the thousands (a nearly fixed dropout): hyp2f1 overflows, the quadrature answers;
    # the reference values are mpmath's hyp2f1 at 60 digits on the untransformed formula
    params = (3.845942626226226, 9.341380861000145, 18554.934295139556, 858718.5754894709)
    got = expected_purchases(params, 13, [10, 0, 150], [100, 0, 150], [150, 20, 155])
    np.testing.assert_allclose(got, [0.22430847518738953, 1.6659895357531003, 3.058648286412128], rtol=1e-10)


def test_expected_purchases_is_smooth_through_a_equal_one():
    near = [float(expected_purchases((0.5, 3.0, a, 2.0), 13, 4, 20, 30))
            for a in (1 - 1e-3, 1 - 1e-7, 1.0, 1 + 1e-7, 1 + 1e-3)]
    assert all(math.isfinite(v) and v > 0 for v in near)
    assert near[1] == pytest.approx(near[2], rel=1e-6) and near[3] == pytest.approx(near[2], rel=1e-6)
    assert near[0] == pytest.approx(near[2], rel=1e-2) and near[4] == pytest.approx(near[2], rel=1e-2)


def test_expected_purchases_frequent_buyers_and_horizon():
    # a weekly buyer for ten years: the raw 2F1(r+x, b+x; …) would overflow
    e = expected_purchases((2.4, 3.8, 0.09, 60.0), 13, 520, 520, 521)
    assert math.isfinite(float(e)) and 10 < float(e) < 14
    ts = np.array([0.0, 1, 5, 13, 52])
    es = expected_purchases(PAPER, ts, 2, 30.43, 38.86)
    assert es[0] == 0 and np.all(np.diff(es) > 0)


# ---------------------------------------------------------------------------------------------
# degenerate fits


def test_too_few_customers_is_an_analysis_error():
    with pytest.raises(AnalysisError, match="at least 10 customers"):
        fit_bgnbd([1, 2, 0], [3, 4, 0], [10, 10, 10])


def test_no_repeat_purchase_at_all_is_an_analysis_error():
    with pytest.raises(AnalysisError, match="second day"):
        fit_bgnbd(np.zeros(50), np.zeros(50), np.linspace(1, 50, 50))


def test_inconsistent_summary_is_a_value_error():
    with pytest.raises(ValueError):
        fit_bgnbd([1] * 20, [5] * 20, [4] * 20)  # t_x after T


def test_store_with_few_customers_says_so(store):
    insert(store, "orders", [line(c, "2024-01-05", 5) for c in "ABC"] + [line("A", "2024-02-05", 5)])
    install_views(store.con)
    with pytest.raises(AnalysisError, match="only 3 customer"):
        churn_alive(store.con, dt.date(2024, 3, 31))


# ---------------------------------------------------------------------------------------------
# the CLI


def insert_orders_fast(store, customer_ids: list[str], dates: list[dt.date], quantities: list[float]) -> None:
    """Order lines in one INSERT … SELECT (the row-by-row helper is slow for thousands of lines)."""
    import pyarrow as pa

    n = len(customer_ids)
    lines = pa.table({"order_id": [f"o{i}" for i in range(n)], "line_no": pa.array([1] * n, pa.int32()),
                      "order_date": pa.array(dates, pa.date32()), "customer_code": customer_ids,
                      "quantity": pa.array(quantities, pa.float64())})
    store.con.register("fast_lines", lines)
    store.con.execute("INSERT INTO orders (order_id, line_no, order_date, customer_code, quantity, quantity_raw, "
                      "unit, unit_raw, category) SELECT order_id, line_no, order_date, customer_code, quantity, "
                      "quantity, 't', 't', 'diesel' FROM fast_lines")
    store.con.unregister("fast_lines")


@pytest.fixture
def db(tmp_path):
    """40 simulated customers (exponential gaps, a random lifetime), Jan 2022 – Dec 2024."""
    s = make_store(tmp_path)
    rng = np.random.default_rng(11)
    start = dt.date(2022, 1, 3)
    ids, dates, qty = [], [], []
    insert(s, "customers", [{"customer_id": f"C{i:02d}", "name": f"customer {i}", "manager_id": "M1",
                             "region": "兰州"} for i in range(40)])
    for i in range(40):
        rate = rng.uniform(0.05, 0.8)  # purchase days per week
        life = rng.uniform(10, 160)  # weeks alive
        week = 0.0
        while week < min(life, 156):
            ids.append(f"C{i:02d}")
            dates.append(start + dt.timedelta(days=int(week * 7)))
            qty.append(float(rng.integers(5, 40)))
            week += rng.exponential(1 / rate)
    ids.append("C00")
    dates.append(dt.date(2024, 12, 31))
    qty.append(10.0)
    insert_orders_fast(s, ids, dates, qty)
    s.close()
    return str(tmp_path / "crm.duckdb")


def test_cli_alive_csv(db):
    r = CliRunner().invoke(app, ["--db", db, "churn", "alive", "--horizon", "6"])
    assert r.exit_code == 0, r.output
    out = r.stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:len(ALIVE_COLUMNS) + 3] == ALIVE_COLUMNS + ["name", "manager_id", "region"]
    assert len(rows) == 40
    probs = [float(x["p_alive"]) for x in rows]
    assert all(0 <= p <= 1 for p in probs) and probs == sorted(probs)
    assert all(float(x["expected_purchases"]) >= 0 for x in rows)
    assert "BG/NBD fitted on 40 customers" in r.stderr and "next 6 months" in r.stderr


def test_cli_alive_output_file_and_window(db, tmp_path):
    out = tmp_path / "alive.json"
    r = CliRunner().invoke(app, ["--db", db, "churn", "alive", "--as-of", "2024-06-30", "--window", "12",
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    import json

    data = json.loads(out.read_text(encoding="utf-8"))
    assert data and set(ALIVE_COLUMNS) <= set(data[0])


def test_cli_alive_errors(db):
    r = CliRunner().invoke(app, ["--db", db, "churn", "alive", "--window", "0"])
    assert r.exit_code == 2
    # every customer's first purchase is on 2022-01-03: on that day nobody has a repeat purchase
    r = CliRunner().invoke(app, ["--db", db, "churn", "alive", "--as-of", "2022-01-03"])
    assert r.exit_code == 1 and "bought on a second day" in r.output
