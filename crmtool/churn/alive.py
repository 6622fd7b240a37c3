"""Purchase probability (SPEC §4.12): the BG/NBD model of Fader, Hardie & Lee (2005), "Counting your
customers the easy way: an alternative to the Pareto/NBD model", fitted by maximum likelihood.

The model: while alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α) (weeks); after
each purchase they drop out with probability p ~ Beta(a, b). A customer is summarised by

- ``frequency`` x: repeat purchase days (distinct purchase days − 1);
- ``recency_weeks`` t_x: weeks from the first purchase day to the last;
- ``age_weeks`` T: weeks from the first purchase day to as-of.

Decisions where SPEC leaves room (written here so the code and the docs cannot disagree):

- A purchase day is a date whose net quantity (every line of the customer that day, returns net) is
  > 0, on or before as-of. A day whose returns cancel its purchases is no purchase day.
- The customers are those with a purchase day in the calibration window ``as_of − window months <
  date ≤ as_of`` (SPEC §3). Their x, t_x and T count from the customer's *first ever* purchase day
  (as the paper's T, the time since the first purchase), over every purchase day up to as-of: the
  window chooses who is scored, never truncates a history. Weeks are days / 7 (the paper's CDNOW
  T = 38.86 is 272 days / 7).
- The ``--horizon`` of expected purchases is calendar months: the weeks from as-of to as-of +
  horizon months (SPEC §3 month arithmetic), so 3 months from 2024-12-31 are 90 days / 7 weeks.
- Expected purchases are purchase *days* (what x counts), E[Y(t) | x, t_x, T] of the paper's eq. (10).
- The table is ordered by p_alive ascending (the most likely lost first), then customer_id.

The fit (:func:`fit_bgnbd`) works on the unique (x, t_x, T) rows weighted by how many customers
share them, in log-parameters, with the closed-form log-likelihood (``gammaln``/``betaln`` and a
log-sum-exp of its two terms) and its analytic gradient, by L-BFGS-B. A fit that cannot be trusted
(too few customers, no repeat purchase at all, no convergence, a non-finite likelihood) is an
:class:`~crmtool.errors.AnalysisError`, never a table of NaN.

:func:`alive_backtest` scores "p_alive under the threshold at month m" exactly as the warning
backtest scores the 70 % rule (:mod:`crmtool.churn.backtest`), with one fit per judged month on the
data up to that month's end only.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from crmtool.errors import AnalysisError, UsageError
from crmtool.facts import add_months, month_end, month_start

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from crmtool.config import Settings

ALIVE_COLUMNS = ["customer_id", "frequency", "recency_weeks", "age_weeks", "p_alive", "expected_purchases"]

MIN_CUSTOMERS = 10
# log-parameter bounds: 1e-6 .. 1e6 keeps every term finite; a parameter on a bound is reported
LOG_BOUND = float(np.log(1e6))
PARAM_NAMES = ("r", "alpha", "a", "b")


@dataclass(frozen=True)
class BGNBDFit:
    """The maximum-likelihood parameters and how the fit went."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float  # summed over the customers (weights)
    customers: int
    unique_rows: int
    iterations: int
    fit_seconds: float
    at_bound: tuple[str, ...] = ()  # parameters that ended on their bound (1e-6 or 1e6)

    @property
    def params(self) -> tuple[float, float, float, float]:
        return (self.r, self.alpha, self.a, self.b)

    def summary(self) -> dict[str, Any]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b, "log_likelihood": self.log_likelihood,
                "customers": self.customers, "unique_rows": self.unique_rows, "iterations": self.iterations,
                "fit_seconds": self.fit_seconds, "at_bound": list(self.at_bound)}


# ---------------------------------------------------------------------------------------------
# the model


def _arrays(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    return np.broadcast_arrays(x, t_x, T)


def _check_summary(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(T).all()):
        raise ValueError("x, t_x and T must be finite")
    if (x < 0).any() or (x != np.round(x)).any():
        raise ValueError("x must be whole numbers ≥ 0 (repeat purchases)")
    if (t_x < 0).any() or (t_x > T + 1e-9).any():
        raise ValueError("need 0 ≤ t_x ≤ T for every customer")
    if (t_x[x == 0] != 0).any():
        raise ValueError("t_x must be 0 for a customer without repeat purchase")


def _terms(r, alpha, a, b, x, t_x, T):
    """The pieces of the BG/NBD log-likelihood (paper eq. 6) for each row:
    ll = A1 + A2 + log(exp(A3) + δ(x>0)·exp(A4)), with
    A1 = log Γ(r+x) − log Γ(r) + r log α;  A2 = log B(a, b+x) − log B(a, b);
    A3 = −(r+x) log(α+T);  A4 = log a − log(b+x−1) − (r+x) log(α+t_x)."""
    from scipy.special import betaln, gammaln

    repeat = x > 0
    bx1 = np.where(repeat, b + x - 1, 1.0)
    A1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    A2 = betaln(a, b + x) - betaln(a, b)
    A3 = -(r + x) * np.log(alpha + T)
    A4 = np.where(repeat, np.log(a) - np.log(bx1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return A1, A2, A3, A4, repeat, bx1


def bgnbd_log_likelihood(params, x, t_x, T) -> np.ndarray:
    """The log-likelihood of each customer (x, t_x, T) at ``params`` = (r, alpha, a, b)."""
    r, alpha, a, b = (float(p) for p in params)
    x, t_x, T = _arrays(x, t_x, T)
    A1, A2, A3, A4, _, _ = _terms(r, alpha, a, b, x, t_x, T)
    return A1 + A2 + np.logaddexp(A3, A4)


def _objective(theta: np.ndarray, x, t_x, T, w, total: float) -> tuple[float, np.ndarray]:
    """− mean log-likelihood and its gradient in log-parameters (analytic)."""
    from scipy.special import digamma, expit

    r, alpha, a, b = np.exp(theta)
    A1, A2, A3, A4, repeat, bx1 = _terms(r, alpha, a, b, x, t_x, T)
    ll = A1 + A2 + np.logaddexp(A3, A4)
    s = np.where(repeat, expit(A4 - A3), 0.0)  # share of the second term in the sum
    lt = np.log(alpha + T)
    ltx = np.log(alpha + t_x)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - (1 - s) * lt - s * ltx
    d_alpha = r / alpha - (r + x) * ((1 - s) / (alpha + T) + s / (alpha + t_x))
    psi_ab, psi_abx = digamma(a + b), digamma(a + b + x)
    d_a = psi_ab - psi_abx + s / a
    d_b = digamma(b + x) - psi_abx - digamma(b) + psi_ab - s / bx1
    # weighted sums without BLAS (its threads only add overhead on vectors this size)
    grad = np.array([r * np.sum(w * d_r), alpha * np.sum(w * d_alpha), a * np.sum(w * d_a), b * np.sum(w * d_b)])
    return -float(np.sum(w * ll)) / total, -grad / total


def _unique_rows(x, t_x, T, weights):
    """The distinct (x, t_x, T) rows and the summed weight of each (customers sharing a summary)."""
    keys = np.column_stack([x, t_x, T])
    order = np.lexsort((T, t_x, x))
    keys = keys[order]
    w = weights[order]
    new = np.ones(len(keys), dtype=bool)
    new[1:] = (keys[1:] != keys[:-1]).any(axis=1)
    starts = np.flatnonzero(new)
    return keys[starts, 0], keys[starts, 1], keys[starts, 2], np.add.reduceat(w, starts)


def fit_bgnbd(x, t_x, T, weights=None, *, min_customers: int = MIN_CUSTOMERS) -> BGNBDFit:
    """Maximum-likelihood BG/NBD parameters for customers (x, t_x, T) (weeks), each counted
    ``weights`` times (default once). Raises :class:`AnalysisError` when the fit cannot be trusted."""
    from scipy.optimize import minimize

    x, t_x, T = _arrays(x, t_x, T)
    x, t_x, T = x.ravel(), t_x.ravel(), T.ravel()
    w = np.ones_like(x) if weights is None else np.broadcast_to(np.asarray(weights, dtype=float), x.shape).copy()
    if (w < 0).any() or not np.isfinite(w).all():
        raise ValueError("weights must be finite and ≥ 0")
    _check_summary(x, t_x, T)
    total = float(w.sum())
    if total < min_customers:
        raise AnalysisError(f"the BG/NBD fit needs at least {min_customers} customers with a purchase day; "
                            f"there are {total:g}. Widen --window or load more orders")
    if not float(w[x > 0].sum()) > 0:
        raise AnalysisError(f"none of the {total:g} customers bought on a second day, so the BG/NBD model "
                            "cannot be fitted (no repeat purchase to learn from); widen --window")
    t0 = time.perf_counter()
    ux, utx, uT, uw = _unique_rows(x, t_x, T, w)
    # start: r = a = b = 1 and α so that the mean rate r/α matches the repeat days per week of age
    rate = float(np.sum(uw * ux)) / max(float(np.sum(uw * uT)), 1e-9)
    alpha0 = float(np.clip(1.0 / max(rate, 1e-6), 1e-3, 1e5))
    starts = [np.log([1.0, alpha0, 1.0, 1.0]), np.zeros(4)]
    bounds = [(-LOG_BOUND, LOG_BOUND)] * 4
    finite, converged = [], []
    iterations = 0
    # a second start only when the first does not converge; each run that stops short is restarted once
    # from where it stopped (a fresh curvature estimate gets L-BFGS-B past a failed line search on the
    # flat ridge a, b → ∞ with a/(a+b) fixed, where dropout is the same for everyone)
    for theta0 in starts:
        for _ in range(2):
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                res = minimize(_objective, theta0, args=(ux, utx, uT, uw, total), jac=True, method="L-BFGS-B",
                               bounds=bounds, options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9})
            iterations += int(res.nit)
            if not (np.isfinite(res.fun) and np.isfinite(res.jac).all()):
                break
            finite.append(res)
            if _converged(res):
                converged.append(res)
                break
            theta0 = res.x
        if converged:
            break
    seconds = time.perf_counter() - t0
    if not finite:
        raise AnalysisError("the BG/NBD log-likelihood is not finite at any parameters tried; the purchase "
                            "history is too degenerate to fit")
    if not converged:
        raise AnalysisError(f"the BG/NBD fit did not converge ({finite[-1].message}); the purchase history is too "
                            "irregular for the model — try a different --window")
    best = min(converged, key=lambda res: res.fun)
    theta = best.x
    at_bound = tuple(n for n, v in zip(PARAM_NAMES, theta) if abs(abs(v) - LOG_BOUND) < 1e-6)
    r, alpha, a, b = (float(v) for v in np.exp(theta))
    ll = -float(best.fun) * total
    return BGNBDFit(r, alpha, a, b, ll, int(round(total)), len(ux), iterations, seconds, at_bound)


def _converged(res) -> bool:
    """L-BFGS-B's own verdict (the mean log-likelihood stopped improving, relative 1e-13, or the
    projected gradient is under 1e-9), or a projected gradient that is flat enough anyway (its line
    search often stops 'abnormally' at an optimum already found to machine precision)."""
    if not np.isfinite(res.fun):
        return False
    if res.success:
        return True
    theta, g = res.x, np.array(res.jac, dtype=float)
    free = ~(((theta <= -LOG_BOUND + 1e-9) & (g > 0)) | ((theta >= LOG_BOUND - 1e-9) & (g < 0)))
    return float(np.max(np.abs(g[free]), initial=0.0)) < max(1e-5, 1e-6 * abs(float(res.fun)))


def _params(params) -> tuple[float, float, float, float]:
    if isinstance(params, BGNBDFit):
        return params.params
    r, alpha, a, b = (float(p) for p in params)
    return r, alpha, a, b


def p_alive(params, x, t_x, T) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)); 1 when x = 0."""
    from scipy.special import expit

    r, alpha, a, b = _params(params)
    x, t_x, T = _arrays(x, t_x, T)
    repeat = x > 0
    bx1 = np.where(repeat, b + x - 1, 1.0)
    log_odds_dead = np.log(a) - np.log(bx1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(repeat, expit(-log_odds_dead), 1.0)


def expected_purchases(params, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` weeks (paper eq. 10),

        p_alive · (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z)],  z = t/(α+T+t).

    The hypergeometric term is taken through Euler's transformation,
    ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; c; z) = (1−z)^(a−1) · 2F1(a+b−1−r, a−1; c; z),
    whose parameters no longer grow with x (the raw form multiplies a vanishing power by a huge 2F1
    for frequent buyers), and evaluated by ``scipy.special.hyp2f1``.

    The same quantity is p_alive · E[(1 − (1 + p·k)^−(r+x)) / p] over p ~ Beta(a, b+x), k = t/(α+T)
    (a customer alive with rate λ and dropout p buys (1 − e^(−λpt))/p times in t; λ given the data is
    Gamma(r+x, α+T)). That integrand lies between 1 − (1+k)^−(r+x) and (r+x)·k, so a hyp2f1 value
    outside those bounds, not finite, or taken at a ≈ 1 (0/0 in the formula) is replaced by the
    integral by Gauss quadrature for the Beta distribution (:func:`_beta_quadrature`), which stays
    accurate where hyp2f1 overflows (a and b in the thousands, a nearly fixed dropout)."""
    from scipy.special import hyp2f1

    r, alpha, a, b = _params(params)
    x, t_x, T, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T, t)))
    shape = x.shape
    x, t_x, T, t = (v.ravel() for v in (x, t_x, T, t))
    if (t < 0).any():
        raise ValueError("the horizon t must be ≥ 0 weeks")
    m = r + x
    k = t / (alpha + T)
    z = np.clip(t / (alpha + T + t), 0.0, 1.0 - 1e-15)
    lower = -np.expm1(-m * np.log1p(k))  # the integrand at p = 1
    upper = m * k  # … and as p → 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if abs(a - 1) > 1e-4:
            F = hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
            mean_g = (a + b + x - 1) * (1 - (1 - z) ** (a - 1) * F) / (a - 1)
        else:
            mean_g = np.full(x.shape, np.nan)
    tol = 1e-9 * np.maximum(upper, 1e-300)
    bad = ~np.isfinite(mean_g) | (mean_g < lower - tol) | (mean_g > upper + tol)
    if bad.any():
        mean_g[bad] = _beta_quadrature(a, b, x[bad], m[bad], k[bad])
    out = p_alive((r, alpha, a, b), x, t_x, T) * mean_g
    out = np.where(t == 0, 0.0, out)
    if not np.isfinite(out).all():
        raise AnalysisError("expected purchases could not be computed for every customer; the fitted "
                            "parameters are extreme")
    return out.reshape(shape)


def _beta_nodes(a: float, b: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss quadrature for p ~ Beta(a, b): ``n`` nodes in (0, 1) and weights summing to 1 (Golub–Welsch
    on the Jacobi matrix of the Jacobi polynomials, weight (1−u)^(b−1) (1+u)^(a−1), p = (1+u)/2)."""
    from scipy.linalg import eigh_tridiagonal

    al, be = b - 1.0, a - 1.0
    i = np.arange(1, n, dtype=float)
    s = 2 * i + al + be
    diag = np.empty(n)
    diag[0] = (be - al) / (al + be + 2)
    s_d = 2 * np.arange(1, n, dtype=float) + al + be
    diag[1:] = (be - al) * (be + al) / (s_d * (s_d + 2))
    off = np.empty(n - 1)
    off[0] = 4 * (1 + al) * (1 + be) / ((2 + al + be) ** 2 * (3 + al + be))
    if n > 2:
        j, sj = i[1:], s[1:]
        off[1:] = 4 * j * (j + al) * (j + be) * (j + al + be) / (sj ** 2 * (sj + 1) * (sj - 1))
    nodes, vectors = eigh_tridiagonal(diag, np.sqrt(off))
    weights = vectors[0] ** 2
    return np.clip((1 + nodes) / 2, 0.0, 1.0), weights / weights.sum()


def _beta_quadrature(a: float, b: float, x: np.ndarray, m: np.ndarray, k: np.ndarray, *, n: int = 96
                     ) -> np.ndarray:
    """E[(1 − (1 + p·k)^−m) / p] over p ~ Beta(a, b + x), row by row (nodes shared per distinct x)."""
    out = np.empty(len(x))
    for xv in np.unique(x):
        rows = np.flatnonzero(x == xv)
        p, w = _beta_nodes(a, b + xv, n)
        p = np.maximum(p, 1e-300)
        g = -np.expm1(-m[rows, None] * np.log1p(p[None, :] * k[rows, None])) / p[None, :]
        out[rows] = g @ w
    return out


def simulate_bgnbd(params, T, *, seed: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers drawn from the BG/NBD process (for tests and benchmarks): for each age T (weeks),
    λ ~ Gamma(r, rate α), p ~ Beta(a, b); the repeat purchases come as a Poisson process of rate λ,
    and after each one the customer drops out with probability p. Returns (x, t_x, T).

    Vectorised: with n ~ Poisson(λT) arrivals in (0, T] and death after the K-th repeat purchase,
    K ~ Geometric(p), x = min(n, K), and the x-th of n uniform arrival times is T · Beta(x, n − x + 1)."""
    r, alpha, a, b = _params(params)
    rng = np.random.default_rng(seed)
    T = np.asarray(T, dtype=float)
    lam = rng.gamma(r, 1.0 / alpha, T.shape)
    p = rng.beta(a, b, T.shape)
    n = rng.poisson(lam * T)
    k = rng.geometric(np.clip(p, 1e-12, 1.0))
    x = np.minimum(n, k)
    t_x = np.zeros_like(T)
    repeat = x > 0
    t_x[repeat] = T[repeat] * rng.beta(x[repeat], n[repeat] - x[repeat] + 1)
    return x.astype(float), t_x, T


# ---------------------------------------------------------------------------------------------
# the per-customer summary, in SQL


SUMMARY_SQL = """
WITH purchase_days AS (      -- a date whose net quantity is > 0 (returns net), up to as-of
    SELECT customer_id, order_date AS day
    FROM orders_resolved
    WHERE order_date <= CAST($as_of AS DATE)
    GROUP BY customer_id, order_date
    HAVING sum(quantity) > 0
),
per_customer AS (            -- customers with a purchase day in the window; history from the first day
    SELECT customer_id, count(*) - 1 AS repeat_days, min(day) AS first_day, max(day) AS last_day
    FROM purchase_days
    GROUP BY customer_id
    HAVING max(day) > CAST($window_start AS DATE)
)
SELECT customer_id,
       CAST(repeat_days AS BIGINT) AS frequency,
       CAST(date_diff('day', first_day, last_day) AS DOUBLE) / 7 AS recency_weeks,
       CAST(date_diff('day', first_day, CAST($as_of AS DATE)) AS DOUBLE) / 7 AS age_weeks
FROM per_customer
ORDER BY customer_id
"""


def purchase_summary(con, as_of: dt.date, window_months: int) -> "pa.Table":
    """customer_id, frequency x, recency_weeks t_x, age_weeks T of every customer with a purchase day in
    ``as_of − window_months < date ≤ as_of`` (see the module notes for the definitions)."""
    from crmtool.facts import install_views

    install_views(con)
    start = add_months(as_of, -int(window_months))
    return con.sql(SUMMARY_SQL, params={"as_of": as_of, "window_start": start}).to_arrow_table()


def horizon_weeks(as_of: dt.date, months: int) -> float:
    """Weeks from as-of to as-of + ``months`` calendar months."""
    return (add_months(as_of, int(months)) - as_of).days / 7


def _check_options(window: int, horizon: int) -> None:
    if int(window) < 1:
        raise UsageError("--window must be at least 1 month")
    if int(horizon) < 1:
        raise UsageError("--horizon must be at least 1 month")


def churn_alive(con, as_of: dt.date, *, window: int = 36, horizon: int = 3) -> tuple["pa.Table", BGNBDFit]:
    """The per-customer table of SPEC §4.12 (ordered by p_alive, then customer_id) and the fit."""
    import pyarrow as pa

    _check_options(window, horizon)
    summary = purchase_summary(con, as_of, window)
    if summary.num_rows == 0:
        raise AnalysisError(f"no customer has a purchase day in the {window} months ending {as_of}; "
                            "nothing to fit", zh=f"截至 {as_of} 的 {window} 个月内没有客户购油，无法拟合")
    if summary.num_rows < MIN_CUSTOMERS:
        raise AnalysisError(f"only {summary.num_rows} customer(s) have a purchase day in the {window} months "
                            f"ending {as_of}; the BG/NBD fit needs at least {MIN_CUSTOMERS}. Widen --window",
                            zh=f"截至 {as_of} 的 {window} 个月内只有 {summary.num_rows} 个客户购油，"
                               f"BG/NBD 拟合至少需要 {MIN_CUSTOMERS} 个")
    x = summary.column("frequency").to_numpy().astype(float)
    t_x = summary.column("recency_weeks").to_numpy()
    T = summary.column("age_weeks").to_numpy()
    fit = fit_bgnbd(x, t_x, T)
    alive = p_alive(fit, x, t_x, T)
    expected = expected_purchases(fit, horizon_weeks(as_of, horizon), x, t_x, T)
    table = summary.append_column("p_alive", pa.array(alive, pa.float64())) \
                   .append_column("expected_purchases", pa.array(expected, pa.float64()))
    order = np.lexsort((np.arange(len(alive)), alive))  # summary is already by customer_id
    return table.take(pa.array(order)), fit


# ---------------------------------------------------------------------------------------------
# backtest: "p_alive under the threshold at month m" as a warning


def parse_thresholds(text: str | list | None, default: float) -> list[float]:
    """'0.2,0.3,0.5' → [0.2, 0.3, 0.5]; each in (0, 1)."""
    if text is None or text == "" or text == []:
        return [float(default)]
    parts = text if isinstance(text, list) else str(text).split(",")
    out: list[float] = []
    for part in parts:
        try:
            v = float(str(part).strip())
        except ValueError:
            raise UsageError(f"--threshold: {str(part).strip()!r} is not a number (e.g. 0.2,0.3,0.5)") from None
        if not 0 < v < 1:
            raise UsageError(f"--threshold: {v:g} must be between 0 and 1 (a probability)")
        if v not in out:
            out.append(v)
    return out


def alive_scores(con, months: list[dt.date], *, window: int) -> "pa.Table":
    """customer_id, idx, p_alive for each month m: a BG/NBD fit at as-of = the end of m on the orders
    up to that day only (never a later one)."""
    import pyarrow as pa

    from crmtool.churn.series import month_idx

    ids: list = []
    idxs: list[np.ndarray] = []
    probs: list[np.ndarray] = []
    for m in months:
        as_of = month_end(m)
        summary = purchase_summary(con, as_of, window)
        if summary.num_rows < MIN_CUSTOMERS:
            raise AnalysisError(f"month {m:%Y-%m}: only {summary.num_rows} customer(s) have a purchase day in "
                                f"the {window} months before it; the BG/NBD rule needs at least {MIN_CUSTOMERS}. "
                                "Choose a later --from")
        x = summary.column("frequency").to_numpy().astype(float)
        t_x = summary.column("recency_weeks").to_numpy()
        T = summary.column("age_weeks").to_numpy()
        try:
            fit = fit_bgnbd(x, t_x, T)
        except AnalysisError as exc:
            raise AnalysisError(f"month {m:%Y-%m}: {exc}") from None
        ids.extend(summary.column("customer_id").to_pylist())
        idxs.append(np.full(len(x), month_idx(m), dtype=np.int64))
        probs.append(p_alive(fit, x, t_x, T))
    return pa.table({"customer_id": pa.array(ids, pa.string()),
                     "idx": pa.array(np.concatenate(idxs) if idxs else np.array([], np.int64), pa.int64()),
                     "p_alive": pa.array(np.concatenate(probs) if probs else np.array([]), pa.float64())})


def alive_backtest(con, settings: "Settings", *, first: dt.date, last: dt.date, data_end: dt.date,
                   horizon: int = 6, thresholds: list[float] | None = None, window: int | None = None
                   ) -> "pa.Table":
    """Precision, recall and median lead time of "p_alive < threshold at month m", one row per
    threshold in the shape of :data:`crmtool.churn.backtest.BACKTEST_COLUMNS` (rule ``alive``, ratio =
    the threshold, severity ``any``), on the same population and churn events as the warning backtest:
    customers active at m (bought, idle ≤ ``churn.active_max``); churned within the horizon = idle
    months reaching active_max + 1 in m+1 … m+horizon. An active customer without a score (its only
    lines in the window are netted away by returns) is not flagged."""
    from crmtool.churn.backtest import SCORE_COLUMNS, SCORE_COUNTS
    from crmtool.churn.series import build_series, churned_idle_months, fetch, idx_label, month_idx

    first, last, data_end = month_start(first), month_start(last), month_start(data_end)
    if first > last:
        raise UsageError(f"--from {first:%Y-%m} is after --to {last:%Y-%m}")
    if horizon < 1:
        raise UsageError("--horizon must be at least 1 month")
    judged_last = min(last, add_months(data_end, -horizon))
    if judged_last < first:
        raise AnalysisError(f"no month in {first:%Y-%m}..{last:%Y-%m} has its {horizon}-month horizon inside the "
                            f"data, which ends {data_end:%Y-%m}; choose an earlier --to or a shorter --horizon")
    thresholds = thresholds or [settings.alive.threshold]
    window = int(window if window is not None else settings.alive.window_months)
    _check_options(window, 1)
    active_max = int(settings.churn.active_max)
    build_series(con, settings, data_end)
    lo, hi = month_idx(first), month_idx(judged_last)
    # the months with someone to judge (the fit needs customers; an empty month judges no one)
    judged = [r[0] for r in con.execute(
        "SELECT DISTINCT idx FROM churn_series WHERE idle_months <= ? AND idx BETWEEN ? AND ? ORDER BY idx",
        [active_max, lo, hi]).fetchall()]
    if not judged:
        raise AnalysisError(f"no active customer in {idx_label(lo)}..{idx_label(hi)} to backtest on")
    months = [dt.date.fromisoformat(idx_label(i) + "-01") for i in judged]
    con.register("alive_backtest_scores", alive_scores(con, months, window=window))
    threshold_rows = " UNION ALL ".join("SELECT CAST(? AS DOUBLE) AS threshold" for _ in thresholds)
    sql = f"""
    WITH one_series AS (
        SELECT customer_id, idx, idle_months FROM churn_series
        WHERE ratio = (SELECT min(ratio) FROM churn_series)
    ),
    churn_events AS (
        SELECT DISTINCT customer_id, idx AS churn_idx FROM one_series WHERE idle_months = ?
    ),
    population AS (
        SELECT s.customer_id, s.idx,
               (SELECT min(e.churn_idx) FROM churn_events e
                 WHERE e.customer_id = s.customer_id AND e.churn_idx > s.idx AND e.churn_idx <= s.idx + ?
               ) AS churn_idx
        FROM one_series s
        WHERE s.idle_months <= ? AND s.idx BETWEEN ? AND ?
    ),
    thresholds AS ({threshold_rows}),
    evaluated AS (
        SELECT t.threshold, p.idx, p.churn_idx, coalesce(a.p_alive < t.threshold, false) AS flagged
        FROM population p
        CROSS JOIN thresholds t
        LEFT JOIN alive_backtest_scores a ON a.customer_id = p.customer_id AND a.idx = p.idx
    ),
    counted AS (
        SELECT threshold,
               {SCORE_COUNTS}
        FROM evaluated
        GROUP BY threshold
    )
    SELECT 'alive' AS rule, threshold AS ratio, 'any' AS severity, {SCORE_COLUMNS}
    FROM counted
    ORDER BY threshold
    """
    try:
        return fetch(con, sql, [churned_idle_months(settings), horizon, active_max, lo, hi, *thresholds,
                                idx_label(lo), idx_label(hi), horizon])
    finally:
        con.unregister("alive_backtest_scores")


# ---------------------------------------------------------------------------------------------
# the registered analysis

from crmtool.result import Result  # noqa: E402  (after the library part, which needs no runner)
from crmtool.runner import Option, RunContext, register  # noqa: E402


@register("churn.alive", period="as_of", title="Purchase probability", title_zh="购买概率(BG/NBD)",
          options=(Option("window", lambda s: s.alive.window_months, "calibration window in months"),
                   Option("horizon", lambda s: s.alive.horizon_months, "months ahead for expected purchases")))
def alive(rc: RunContext, *, window: int, horizon: int) -> Result:
    as_of = rc.period.as_of
    table, fit = churn_alive(rc.con, as_of, window=int(window), horizon=int(horizon))
    threshold = float(rc.settings.alive.threshold)
    probs = table.column("p_alive").to_numpy()
    expected = float(table.column("expected_purchases").to_numpy().sum())
    low = int((probs < threshold).sum())
    summary = {**fit.summary(), "as_of": str(as_of), "window_months": int(window), "horizon_months": int(horizon),
               "horizon_weeks": horizon_weeks(as_of, horizon), "threshold": threshold, "below_threshold": low,
               "mean_p_alive": float(probs.mean()), "expected_purchases": expected}
    params = (f"r {fit.r:.3f}, alpha {fit.alpha:.3f}, a {fit.a:.3f}, b {fit.b:.3f}, "
              f"log-likelihood {fit.log_likelihood:,.1f}; {fit.fit_seconds:.2f} s")
    if rc.lang == "zh":
        lines = [f"截至 {as_of}：BG/NBD 模型按此前 {window} 个月内有购油日的 {fit.customers} 个客户拟合（{params}）",
                 f"仍在购买概率低于 {threshold:g} 的客户 {low} 个；未来 {horizon} 个月预计购油 {expected:,.1f} 天次"]
    else:
        lines = [f"as of {as_of}: BG/NBD fitted on {fit.customers} customers with a purchase day in the {window} months "
                 f"ending then ({params})",
                 f"{low} customers with p_alive under {threshold:g}; {expected:,.1f} purchase days expected in the "
                 f"next {horizon} months"]
    result = Result("churn_alive", table, str(as_of), as_of, summary=summary, lines=lines)
    if fit.at_bound:
        result.notices.append(f"BG/NBD 参数 {', '.join(fit.at_bound)} 落在边界（1e-6 或 1e6）：数据几乎无法确定它们，"
                              "请谨慎解读存活概率" if rc.lang == "zh" else
                              f"BG/NBD parameter(s) {', '.join(fit.at_bound)} ended on their bound (1e-6 or 1e6): "
                              "the data hardly inform them; read p_alive with care")
    return result
