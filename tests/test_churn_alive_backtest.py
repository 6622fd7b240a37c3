"""Backtest of the alive rule, "p_alive under the threshold at month m" (SPEC §4.12 with §4.7).

Counting by hand: the warning backtest's fixture (X steady, F a dip in Jul 2023, S and K stop after
Jun 2023 and churn in Oct; judged Apr–Sep 2023, horizon 3) with p_alive fixed per customer-month:
S and K 0.9 in Apr–Jun, 0.25 in Jul, 0.15 in Aug, 0.05 in Sep; F 0.25 in Jul, else 0.9; X 0.95.
- threshold 0.3: S and K in Jul, Aug, Sep and F in Jul → warned 7, hits 6 (leads 3, 2, 1 twice)
  → precision 6/7, recall 6/6, median lead 2;
- threshold 0.1: S and K in Sep → warned 2, hits 2, precision 1, recall 2/6, lead 1.
Population and churn events are the warning backtest's: 24 customer-months, 6 churned.

With real fits (a simulated store): one fit per judged month on the data up to its end only — the
scores of a month do not move when later orders change — and the scores are those of `churn alive`
at that month's end. The CLI puts the rows beside the 70 % rule's and the idle rule's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from crmtool.churn import BACKTEST_COLUMNS, churn_backtest
from crmtool.churn import alive as alive_mod
from crmtool.churn.alive import alive_backtest, alive_scores, churn_alive, parse_thresholds
from crmtool.churn.series import month_idx
from crmtool.cli import app
from crmtool.errors import UsageError
from crmtool.facts import install_views, month_end
from tests.churn_fixtures import monthly_orders
from tests.conftest import insert, make_store
from tests.test_churn_alive import insert_orders_fast

JUDGED = dict(first=dt.date(2023, 4, 1), last=dt.date(2023, 9, 1), data_end=dt.date(2024, 12, 1), horizon=3)


@pytest.fixture
def known(tmp_path):
    s = make_store(tmp_path)
    insert(s, "customers", [{"customer_id": "K", "name": "k", "manager_id": "M1", "level": "gold"},
                            {"customer_id": "S", "name": "s", "manager_id": "M1", "level": "ordinary"}])
    insert(s, "orders", monthly_orders("X", "2023-01", [100] * 24)
           + monthly_orders("F", "2023-01", [100] * 6 + [10] + [100] * 17)
           + monthly_orders("S", "2023-01", [100] * 6) + monthly_orders("K", "2023-01", [100] * 6))
    install_views(s.con)
    yield s
    s.close()


def fixed_scores(con, months, *, window):
    stop = {4: 0.9, 5: 0.9, 6: 0.9, 7: 0.25, 8: 0.15, 9: 0.05}
    rows = []
    for m in months:
        for c in ("S", "K"):
            rows.append((c, month_idx(m), stop[m.month]))
        rows.append(("F", month_idx(m), 0.25 if m.month == 7 else 0.9))
        rows.append(("X", month_idx(m), 0.95))
    ids, idx, p = zip(*rows)
    return pa.table({"customer_id": pa.array(ids, pa.string()), "idx": pa.array(idx, pa.int64()),
                     "p_alive": pa.array(p, pa.float64())})


def test_alive_rule_counted_by_hand(known, monkeypatch):
    monkeypatch.setattr(alive_mod, "alive_scores", fixed_scores)
    t = alive_backtest(known.con, known.settings, thresholds=[0.3, 0.1], **JUDGED)
    assert t.column_names[:len(BACKTEST_COLUMNS)] == BACKTEST_COLUMNS
    rows = {r["ratio"]: r for r in t.to_pylist()}
    assert list(rows) == [0.1, 0.3]
    for r in rows.values():
        assert (r["rule"], r["severity"], r["months"], r["customer_months"], r["churned"]) == ("alive", "any", 6, 24, 6)
        assert (r["first_month"], r["last_month"], r["horizon"]) == ("2023-04", "2023-09", 3)
    r3, r1 = rows[0.3], rows[0.1]
    assert (r3["warned"], r3["hits"], r3["recall"], r3["median_lead_months"]) == (7, 6, 1.0, 2.0)
    assert r3["precision"] == pytest.approx(6 / 7)
    assert (r1["warned"], r1["hits"], r1["precision"], r1["median_lead_months"]) == (2, 2, 1.0, 1.0)
    assert r1["recall"] == pytest.approx(2 / 6)
    # the same population and churn events as the warning backtest
    w = {(r["rule"], r["severity"]): r for r in churn_backtest(known.con, known.settings, **JUDGED).to_pylist()}
    assert (w[("warning", "any")]["customer_months"], w[("warning", "any")]["churned"]) == (24, 6)
    # the schema concatenates with the warning rows
    pa.concat_tables([churn_backtest(known.con, known.settings, **JUDGED),
                      t.select(BACKTEST_COLUMNS + ["first_month", "last_month", "horizon"])])


def test_an_unscored_active_customer_is_not_flagged(known, monkeypatch):
    def without_f(con, months, *, window):
        t = fixed_scores(con, months, window=window)
        return t.filter(pa.compute.not_equal(t.column("customer_id"), "F"))

    monkeypatch.setattr(alive_mod, "alive_scores", without_f)
    r = alive_backtest(known.con, known.settings, thresholds=[0.3], **JUDGED).to_pylist()[0]
    assert (r["customer_months"], r["warned"], r["hits"]) == (24, 6, 6)


def test_thresholds_parse():
    assert parse_thresholds("0.2, 0.3,0.5,0.3", 0.3) == [0.2, 0.3, 0.5]
    assert parse_thresholds(None, 0.3) == [0.3]
    for bad in ("x", "0", "1", "1.5"):
        with pytest.raises(UsageError, match="--threshold"):
            parse_thresholds(bad, 0.3)


# ---------------------------------------------------------------------------------------------
# real fits


def simulate_orders(store, n: int = 60, seed: int = 3) -> None:
    """n customers from Jan 2022 to Dec 2024, exponential gaps between purchase days, each alive for a
    random number of weeks (so some stop buying)."""
    rng = np.random.default_rng(seed)
    start = dt.date(2022, 1, 3)
    ids, dates, qty = [], [], []
    for i in range(n):
        rate = rng.uniform(0.1, 1.0)
        life = rng.uniform(20, 200)
        week = rng.uniform(0, 20)
        while week < min(life, 155):
            ids.append(f"C{i:02d}")
            dates.append(start + dt.timedelta(days=int(week * 7)))
            qty.append(float(rng.integers(5, 40)))
            week += rng.exponential(1 / rate)
    ids.append("C00")
    dates.append(dt.date(2024, 12, 31))
    qty.append(5.0)
    insert_orders_fast(store, ids, dates, qty)
    install_views(store.con)


@pytest.fixture
def sim(tmp_path):
    s = make_store(tmp_path)
    simulate_orders(s)
    yield s
    s.close()


def test_scores_are_churn_alive_at_each_month_end(sim):
    months = [dt.date(2023, 4, 1), dt.date(2023, 9, 1)]
    scores = alive_scores(sim.con, months, window=36).to_pylist()
    for m in months:
        table, _ = churn_alive(sim.con, month_end(m), window=36)
        want = dict(zip(table.column("customer_id").to_pylist(), table.column("p_alive").to_pylist()))
        got = {r["customer_id"]: r["p_alive"] for r in scores if r["idx"] == month_idx(m)}
        assert got.keys() == want.keys()
        for c in want:
            assert got[c] == pytest.approx(want[c], rel=1e-12)


def test_no_look_ahead(sim):
    """Orders after the judged month (three purchase days in July–August 2023 for everyone) leave its
    scores unchanged, while a month after them is scored differently."""
    june, august = dt.date(2023, 6, 1), dt.date(2023, 8, 1)
    before = alive_scores(sim.con, [june, august], window=36).to_pylist()
    ids = [f"C{i:02d}" for i in range(60) for _ in range(3)]
    dates = [dt.date(2023, 7, 1) + dt.timedelta(days=10 * k) for _ in range(60) for k in range(3)]
    insert_orders_fast_more(sim, ids, dates)
    after = alive_scores(sim.con, [june, august], window=36).to_pylist()
    in_june = [r for r in before if r["idx"] == month_idx(june)]
    assert in_june and in_june == [r for r in after if r["idx"] == month_idx(june)]
    assert [r for r in before if r["idx"] == month_idx(august)] != [r for r in after if r["idx"] == month_idx(august)]


def insert_orders_fast_more(store, ids, dates):
    store.con.register("more_lines", pa.table({"c": ids, "d": pa.array(dates, pa.date32())}))
    store.con.execute("INSERT INTO orders (order_id, line_no, order_date, customer_code, quantity, quantity_raw, unit, "
                      "unit_raw, category) SELECT 'more' || row_number() OVER (), 1, d, c, 10, 10, 't', 't', 'diesel' "
                      "FROM more_lines")
    store.con.unregister("more_lines")


def test_real_fits_invariants(sim):
    t = alive_backtest(sim.con, sim.settings, thresholds=[0.2, 0.3, 0.5, 0.9], **JUDGED)
    rows = t.to_pylist()
    w = {(r["rule"], r["severity"]): r
         for r in churn_backtest(sim.con, sim.settings, **JUDGED).to_pylist() if r["severity"] == "any"}
    warned = [r["warned"] for r in rows]
    assert [r["ratio"] for r in rows] == [0.2, 0.3, 0.5, 0.9]
    assert warned == sorted(warned)  # a higher threshold flags everyone a lower one flags
    assert rows[-1]["warned"] > 0
    for r in rows:
        assert r["customer_months"] == w[("warning", "any")]["customer_months"]
        assert r["churned"] == w[("warning", "any")]["churned"] > 0
        assert 0 <= r["hits"] <= min(r["warned"], r["churned"])
        if r["warned"]:
            assert r["precision"] == pytest.approx(r["hits"] / r["warned"])


# ---------------------------------------------------------------------------------------------
# CLI: one table with the three rules


@pytest.fixture
def db(tmp_path):
    s = make_store(tmp_path)
    simulate_orders(s)
    s.close()
    return str(tmp_path / "crm.duckdb")


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_cli_rule_alive_sweep(db):
    r = CliRunner().invoke(app, ["--db", db, "churn", "backtest", "--from", "2023-04", "--to", "2023-09",
                                 "--horizon", "3", "--rule", "alive", "--threshold", "0.2,0.3,0.5"])
    assert r.exit_code == 0, r.output
    rows = rows_of(r.stdout)
    assert list(rows[0])[:len(BACKTEST_COLUMNS)] == BACKTEST_COLUMNS
    assert [(x["rule"], x["ratio"], x["severity"]) for x in rows] == [
        ("warning", "0.7", "any"), ("no_purchase_2m", "", "any"),
        ("alive", "0.2", "any"), ("alive", "0.3", "any"), ("alive", "0.5", "any")]
    assert len({x["customer_months"] for x in rows}) == 1 and len({x["churned"] for x in rows}) == 1


def test_cli_rule_all_and_default(db):
    base = ["--db", db, "churn", "backtest", "--from", "2023-04", "--to", "2023-09", "--horizon", "3"]
    r = CliRunner().invoke(app, base)
    assert r.exit_code == 0, r.output
    assert "alive" not in {x["rule"] for x in rows_of(r.stdout)}
    r = CliRunner().invoke(app, base + ["--rule", "all"])
    assert r.exit_code == 0, r.output
    rules = [(x["rule"], x["severity"]) for x in rows_of(r.stdout)]
    assert rules == [("warning", "low"), ("warning", "medium"), ("warning", "high"), ("warning", "any"),
                     ("no_purchase_2m", "any"), ("alive", "any")]
    assert rows_of(r.stdout)[-1]["ratio"] == "0.3"  # alive.threshold


def test_cli_rule_and_threshold_errors(db):
    base = ["--db", db, "churn", "backtest", "--from", "2023-04", "--to", "2023-09", "--horizon", "3"]
    r = CliRunner().invoke(app, base + ["--rule", "magic"])
    assert r.exit_code == 2 and "--rule" in r.output
    r = CliRunner().invoke(app, base + ["--rule", "alive", "--threshold", "1.2"])
    assert r.exit_code == 2 and "--threshold" in r.output
