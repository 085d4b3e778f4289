"""Learning-curve extrapolation: Alabdulmohsin et al. 2022's estimators M1-M4 and their benchmark of 92 curves.

A *learning curve* is a set of points ``(x, eps)``: ``x`` the examples (or tokens) seen, ``eps`` the error or
loss (lower is better). Every estimator is fitted to the *fit* points of a curve and judged on the held-out
points at larger ``x`` by the root mean squared error of the log predictions (Alabdulmohsin, Neyshabur, Zhai
2022, "Revisiting Neural Scaling Laws in Language and Vision", Sec. 3; Caballero et al. 2022 call the same
number RMSLE)::

    rmse = sqrt(mean((log eps_hat(x_i) - log eps_i)**2))

The four estimators of Alabdulmohsin et al. (their Sec. 3, with ``c < 0``)::

    M1   eps = beta * x**c
    M2   eps = eps_inf + beta * x**c
    M3   eps = beta * (x**-1 + gamma)**-c
    M4   (eps - eps_inf) / (eps_0 - eps)**alpha = beta * x**c

each fitted by minimising its *square-log loss*, the squared difference between the logs of the two sides of
its equation (their eqs. 4-5), e.g. for M4::

    sum_i (log(eps_i - eps_inf) - alpha * log(eps_0 - eps_i) - log beta - c * log x_i)**2

For fixed ``eps_inf`` (and ``eps_0``, ``gamma``) each loss is a linear least-squares problem in
``(log beta, c, alpha)``; we solve that part exactly and search the remaining one or two parameters on a dense
grid followed by a bounded local refinement, so the result is the optimum of the stated loss over the stated
domain. The domain follows the authors' released code: ``0 <= eps_inf <= min(eps) - 1e-3``,
``eps_0 >= max(eps) + 1e-3``, M3's ``c <= 0`` and ``gamma >= 0``, and M4's ``alpha >= 0``, ``c <= 0`` and
``log beta >= 0`` (their M4 regression constrains all three coefficients to be non-negative).

The broken neural scaling law (Caballero et al. 2022) is the fifth method of the comparison; its fit
lives in :mod:`scalinglib.papers.bnsl`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize, minimize_scalar

from ..curves import Fitted, extrapolation_rmse
from .bnsl import _two_break_starts, choose_bnsl_breaks, fit_bnsl

Array = NDArray[np.float64]

__all__ = [
    "AUTHORS",
    "AUTHORS_M4_EPS0",
    "AUTHORS_M4_GRID",
    "ERR_MARGIN",
    "LANGUAGE_CURVE_TOKENS",
    "M4_EPS0_MAX",
    "METHODS",
    "VARIANTS",
    "bootstrap_median",
    "bootstrap_win_fractions",
    "curves",
    "fit_benchmark",
    "fit_curve",
    "fit_m1",
    "fit_m2",
    "fit_m2_authors_batch",
    "fit_m3",
    "fit_m4",
    "fit_m4_authors_batch",
    "fit_method",
    "m1_loss",
    "m1_predict",
    "m2_loss",
    "m2_predict",
    "m2_profile",
    "m3_loss",
    "m3_predict",
    "m4_loss",
    "m4_predict",
    "m4_predict_grid",
    "win_fractions",
]

ERR_MARGIN = 1e-3
"""Margin between ``eps_inf`` and the smallest fit error (and ``eps_0`` and the largest), as in the authors' code."""

Start = Literal["global", "paper"]


def _arr(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=float)


# --------------------------------------------------------------------------- forms and losses


def m1_predict(x: ArrayLike, beta: float, c: float) -> Array:
    """M1 (Alabdulmohsin et al. 2022, Sec. 3): ``eps = beta * x**c``."""
    return beta * _arr(x) ** c


def m2_predict(x: ArrayLike, eps_inf: float, beta: float, c: float) -> Array:
    """M2 (Hestness et al. 2017 form, Alabdulmohsin et al. 2022 Sec. 3): ``eps = eps_inf + beta * x**c``."""
    return eps_inf + beta * _arr(x) ** c


def m3_predict(x: ArrayLike, beta: float, c: float, gamma: float) -> Array:
    """M3 (Zhai et al. 2021 form, Alabdulmohsin et al. 2022 Sec. 3): ``eps = beta * (1/x + gamma)**-c``."""
    return beta * (1.0 / _arr(x) + gamma) ** (-c)


def m4_predict(x: ArrayLike, eps_inf: float, eps0: float, alpha: float, beta: float, c: float) -> Array:
    """M4 (Alabdulmohsin et al. 2022, eq. 3): the ``eps`` in ``(eps_inf, eps0)`` that solves
    ``(eps - eps_inf) / (eps0 - eps)**alpha = beta * x**c``.

    The left side grows and the right side is fixed in ``eps``, so the root is unique; it is found by
    bisection to machine precision (vectorised over ``x``).
    """
    x = _arr(x)
    f = beta * x**c
    if abs(alpha) < 1e-12:
        return eps_inf + f
    lo = np.full_like(x, eps_inf)
    hi = np.full_like(x, eps0)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.log(mid - eps_inf) - alpha * np.log(eps0 - mid) - np.log(f)
        below = g < 0
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def m1_loss(x: ArrayLike, y: ArrayLike, beta: float, c: float) -> float:
    """Square-log loss of M1: ``sum (log eps - log beta - c log x)**2``."""
    r = np.log(_arr(y)) - np.log(beta) - c * np.log(_arr(x))
    return float(r @ r)


def m2_loss(x: ArrayLike, y: ArrayLike, eps_inf: float, beta: float, c: float) -> float:
    """Square-log loss of M2 (Alabdulmohsin et al. eq. 4 with ``alpha = 0``):
    ``sum (log(eps - eps_inf) - log beta - c log x)**2``."""
    r = np.log(_arr(y) - eps_inf) - np.log(beta) - c * np.log(_arr(x))
    return float(r @ r)


def m3_loss(x: ArrayLike, y: ArrayLike, beta: float, c: float, gamma: float) -> float:
    """Square-log loss of M3: ``sum (log eps - log beta + c log(1/x + gamma))**2``."""
    r = np.log(_arr(y)) - np.log(beta) + c * np.log(1.0 / _arr(x) + gamma)
    return float(r @ r)


def m4_loss(x: ArrayLike, y: ArrayLike, eps_inf: float, eps0: float, alpha: float, beta: float, c: float) -> float:
    """Square-log loss of M4 (Alabdulmohsin et al. eq. 4):
    ``sum (log(eps - eps_inf) - alpha log(eps0 - eps) - log beta - c log x)**2``."""
    y = _arr(y)
    r = np.log(y - eps_inf) - alpha * np.log(eps0 - y) - np.log(beta) - c * np.log(_arr(x))
    return float(r @ r)


# --------------------------------------------------------------------------- exact inner least squares


def _ols_rows(z: Array, t: Array) -> tuple[Array, Array, Array]:
    """Simple regression ``z ~ b + s t`` row by row (rows = grid points): RSS, intercept ``b``, slope ``s``."""
    t = np.broadcast_to(t, z.shape)
    tm, zm = t.mean(axis=-1, keepdims=True), z.mean(axis=-1, keepdims=True)
    tc, zc = t - tm, z - zm
    slope = (tc * zc).sum(-1) / np.maximum((tc * tc).sum(-1), 1e-300)
    icpt = zm[..., 0] - slope * tm[..., 0]
    r = zc - slope[..., None] * tc
    return (r * r).sum(-1), icpt, slope


def _nnls_rows(a: Array, z: Array, free: Sequence[bool]) -> tuple[Array, Array]:
    """Least squares ``z ~ a @ w`` per row with ``w_j >= 0`` unless ``free[j]``; exact, by active sets.

    ``a`` has shape ``(G, n, p)`` and ``z`` ``(G, n)``, ``p`` small. The constrained optimum is the
    unconstrained least-squares solution on some subset of the columns that is feasible, and every feasible
    subset solution has a residual at least as large, so the best feasible subset solution is the optimum.
    Returns the RSS ``(G,)`` and the coefficients ``(G, p)``.
    """
    g, _, p = a.shape
    best = np.full(g, np.inf)
    coef = np.zeros((g, p))
    must = [j for j in range(p) if free[j]]
    optional = [j for j in range(p) if not free[j]]
    for k in range(len(optional) + 1):
        for subset in itertools.combinations(optional, k):
            cols = sorted(must + list(subset))
            if cols:
                sub = a[:, :, cols]
                gram = np.einsum("gni,gnj->gij", sub, sub)
                rhs = np.einsum("gni,gn->gi", sub, z)
                with np.errstate(all="ignore"):
                    w = np.linalg.solve(gram + 1e-12 * np.eye(len(cols)), rhs[..., None])[..., 0]
                r = z - np.einsum("gni,gi->gn", sub, w)
            else:
                w = np.zeros((g, 0))
                r = z
            rss = (r * r).sum(-1)
            ok = np.all(w[:, [i for i, j in enumerate(cols) if not free[j]]] >= 0, axis=-1) & np.isfinite(rss)
            better = ok & (rss < best)
            best = np.where(better, rss, best)
            full = np.zeros((g, p))
            full[:, cols] = w
            coef = np.where(better[:, None], full, coef)
    return best, coef


def _eps_inf_grid(y: Array, n: int = 240) -> Array:
    """Candidate ``eps_inf`` values in ``[0, min(y) - margin]``: uniform, and dense near the upper end."""
    ub = float(y.min()) - ERR_MARGIN
    if ub <= 0:
        return np.array([0.0])
    grid = np.concatenate([np.linspace(0.0, ub, n), ub - ub * np.logspace(-6, 0, n // 2)])
    return np.unique(np.clip(grid, 0.0, ub))


def _refine_1d(f: Callable[[float], float], grid: Array, values: Array, i: int) -> tuple[float, float]:
    """Bounded Brent refinement between the neighbours of grid point ``i``; keeps the grid point if better."""
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    best_t, best_v = float(grid[i]), float(values[i])
    if hi > lo:
        res = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13 * max(1.0, abs(hi))})
        if np.isfinite(res.fun) and res.fun < best_v:
            best_t, best_v = float(res.x), float(res.fun)
    return best_t, best_v


def _first_local_min_from_top(values: Array) -> int:
    """Index of the first local minimum met when walking down a grid from its last (largest) point."""
    i = len(values) - 1
    while i > 0 and values[i - 1] <= values[i]:
        i -= 1
    return i


# --------------------------------------------------------------------------- M1-M4 fits


def fit_m1(x: ArrayLike, y: ArrayLike) -> Fitted:
    """Fit M1 by ordinary least squares of ``log eps`` on ``log x`` (its square-log loss is exactly that)."""
    x, y = _arr(x), _arr(y)
    rss, b, s = _ols_rows(np.log(y)[None], np.log(x))
    return Fitted("M1", {"beta": float(np.exp(b[0])), "c": float(s[0])}, float(rss[0]), m1_predict)


def fit_m2(x: ArrayLike, y: ArrayLike, *, start: Start = "global") -> Fitted:
    """Fit M2 by minimising its square-log loss over ``0 <= eps_inf <= min(eps) - 1e-3``.

    For each ``eps_inf`` the loss is a regression of ``log(eps - eps_inf)`` on ``log x`` (solved exactly);
    ``eps_inf`` is searched on a dense grid and refined. ``start="global"`` returns the global optimum;
    ``start="paper"`` returns the first local optimum met when descending from the authors' initial value
    ``eps_inf = min(eps) - 1e-3`` (the optimum a local method started there reaches).
    """
    x, y = _arr(x), _arr(y)
    logx = np.log(x)

    def profile(e: ArrayLike) -> tuple[Array, Array, Array]:
        e = np.atleast_1d(_arr(e))
        return _ols_rows(np.log(y[None, :] - e[:, None]), logx)

    grid = _eps_inf_grid(y, 4000 if start == "paper" else 240)
    rss = profile(grid)[0]
    i = _first_local_min_from_top(rss) if start == "paper" else int(np.argmin(rss))
    e, _ = _refine_1d(lambda t: float(profile(t)[0][0]), grid, rss, i)
    r, b, s = profile(e)
    return Fitted("M2", {"eps_inf": e, "beta": float(np.exp(b[0])), "c": float(s[0])}, float(r[0]), m2_predict)


def m2_profile(x: ArrayLike, y: ArrayLike, eps_inf: ArrayLike) -> Array:
    """M2's square-log loss minimised over ``beta`` and ``c`` (a regression) for each value of ``eps_inf``.

    Its minima over ``eps_inf`` are the candidate M2 fits; there can be several (see :func:`fit_m2`).
    """
    x, y = _arr(x), _arr(y)
    e = np.atleast_1d(_arr(eps_inf))
    return _ols_rows(np.log(y[None, :] - e[:, None]), np.log(x))[0]


def fit_m3(x: ArrayLike, y: ArrayLike, *, search: Literal["global", "authors"] = "global") -> Fitted:
    """Fit M3 by minimising its square-log loss over ``gamma >= 0`` and ``c <= 0``.

    For each ``gamma`` the loss is a regression of ``log eps`` on ``log(1/x + gamma)`` with a non-negative
    slope ``-c`` (solved exactly). ``search="global"`` searches ``gamma`` on ``{0}`` and a log grid from
    ``1e-4/max(x)`` to ``1e2/min(x)``, then refines in ``log gamma``: the global optimum.

    ``search="authors"`` is the coordinate search of Alabdulmohsin et al.'s released code, for comparison:
    start at ``gamma = 0``; repeat (at most 10,000 times) a regression for ``(log beta, -c)`` (the slope
    clipped at 0 afterwards), then move ``gamma`` to the best of the values that make one fit point exact,
    ``(eps_i / beta)**(-1/c) - 1/x_i``, if one is non-negative and lowers the loss; stop when ``beta``
    changes by less than ``1e-10``. It can stop far from the optimum.
    """
    x, y = _arr(x), _arr(y)
    z = np.log(y)
    sst = float(((z - z.mean()) ** 2).sum())

    def profile(g: ArrayLike) -> tuple[Array, Array, Array]:
        g = np.atleast_1d(_arr(g))
        t = np.log(1.0 / x[None, :] + g[:, None])
        rss, b, s = _ols_rows(np.broadcast_to(z, t.shape), t)
        neg = s < 0  # the exponent -c must be >= 0: the constrained optimum is then the constant fit
        return np.where(neg, sst, rss), np.where(neg, z.mean(), b), np.where(neg, 0.0, s)

    if search == "authors":
        gamma, beta_old = 0.0, 1.0
        for _ in range(10_000):
            t = np.log(1.0 / x + gamma)
            _, b, s = _ols_rows(z[None, :], t)
            log_beta, slope = float(b[0]), max(float(s[0]), 0.0)
            beta = float(np.exp(log_beta))

            def loss_of(g: Array, log_beta: float = log_beta, slope: float = slope) -> Array:
                r = z[None, :] - log_beta - slope * np.log(1.0 / x[None, :] + g[:, None])
                return (r * r).sum(axis=1)

            if slope > 0:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    cand = (y / beta) ** (1.0 / slope) - 1.0 / x
                cand = cand[np.isfinite(cand) & (cand >= 0)]
                if len(cand):
                    vals = loss_of(cand)
                    k = int(np.argmin(vals))
                    if vals[k] < loss_of(np.array([gamma]))[0]:
                        gamma = float(cand[k])
            if abs(beta - beta_old) < 1e-10:
                break
            beta_old = beta
        r = z - log_beta - slope * np.log(1.0 / x + gamma)
        params = {"beta": beta, "c": -slope, "gamma": gamma}
        return Fitted("M3", params, float(r @ r), m3_predict)

    lg = np.linspace(np.log(1e-4 / x.max()), np.log(1e2 / x.min()), 600)
    rss0 = profile(0.0)[0][0]
    rss = profile(np.exp(lg))[0]
    i = int(np.argmin(rss))
    t, v = _refine_1d(lambda u: float(profile(np.exp(u))[0][0]), lg, rss, i)
    gamma = 0.0 if rss0 <= v else float(np.exp(t))
    r, b, s = profile(gamma)
    params = {"beta": float(np.exp(b[0])), "c": float(-s[0]), "gamma": gamma}
    return Fitted("M3", params, float(r[0]), m3_predict)


def _m4_profile(
    x: Array, y: Array, eps_inf: Array, eps0: Array, log_beta_nonneg: bool
) -> tuple[Array, Array]:
    """M4's loss minimised over ``(log beta, -c, alpha)`` for each pair ``(eps_inf[k], eps0[k])``."""
    g = len(eps_inf)
    a = np.empty((g, len(x), 3))
    a[:, :, 0] = 1.0
    a[:, :, 1] = -np.log(x)[None, :]
    a[:, :, 2] = np.log(eps0[:, None] - y[None, :])
    z = np.log(y[None, :] - eps_inf[:, None])
    return _nnls_rows(a, z, free=(not log_beta_nonneg, False, False))


def fit_m4(
    x: ArrayLike,
    y: ArrayLike,
    *,
    eps0: float = 1.0,
    learn_eps0: bool = False,
    eps0_max: float | None = None,
    log_beta_nonneg: bool = True,
    start: Start = "global",
) -> Fitted:
    """Fit M4 by minimising its square-log loss (Alabdulmohsin et al. 2022, eq. 4).

    ``eps0`` is the error of random guessing: fixed (the paper's text) unless ``learn_eps0``, in which case it
    is searched in ``[max(eps) + 1e-3, eps0_max]`` (``eps0_max`` defaults to ``max(2, 4 max(eps))``; the
    authors' code learns it, bounded by ``1 + 1e-3`` for error rates). For each ``(eps_inf, eps0)`` the loss
    is an exact non-negative least-squares problem in ``(log beta, -c, alpha)`` (``log beta`` free unless
    ``log_beta_nonneg``). ``start="paper"`` (fixed ``eps0`` only) returns the first local optimum met when
    descending from ``eps_inf = min(eps) - 1e-3``, the authors' initial value.
    """
    x, y = _arr(x), _arr(y)
    if not learn_eps0 and eps0 <= y.max():
        raise ValueError(f"eps0={eps0} must exceed the largest error {y.max()}")
    ub = float(y.min()) - ERR_MARGIN
    einf = _eps_inf_grid(y, 2000 if start == "paper" else 160)
    if learn_eps0:
        if start == "paper":
            raise ValueError("start='paper' is defined for a fixed eps0 only")
        lo0 = float(y.max()) + ERR_MARGIN
        hi0 = eps0_max if eps0_max is not None else max(2.0, 4.0 * float(y.max()))
        hi0 = max(hi0, lo0)
        e0s = np.unique(np.concatenate([np.linspace(lo0, hi0, 24), lo0 + (hi0 - lo0) * np.logspace(-5, 0, 24)]))
    else:
        lo0 = hi0 = float(eps0)
        e0s = np.array([float(eps0)])
    ei_g, e0_g = (m.ravel() for m in np.meshgrid(einf, e0s, indexing="ij"))
    rss, _ = _m4_profile(x, y, ei_g, e0_g, log_beta_nonneg)
    if start == "paper":
        k = _first_local_min_from_top(rss)
    else:
        k = int(np.argmin(rss))
    best = (float(rss[k]), float(ei_g[k]), float(e0_g[k]))

    def loss_at(ei: float, e0: float) -> float:
        return float(_m4_profile(x, y, np.array([ei]), np.array([e0]), log_beta_nonneg)[0][0])

    if learn_eps0:
        res = minimize(
            lambda t: loss_at(*np.clip(t, [0.0, lo0], [max(ub, 0.0), hi0])),
            [best[1], best[2]],
            method="Nelder-Mead",
            bounds=[(0.0, max(ub, 0.0)), (lo0, hi0)],
            options={"xatol": 1e-11, "fatol": 1e-15, "maxiter": 4000},
        )
        t = np.clip(res.x, [0.0, lo0], [max(ub, 0.0), hi0])
        v = loss_at(*t)
        if v < best[0]:
            best = (v, float(t[0]), float(t[1]))
    else:
        e, v = _refine_1d(lambda t: loss_at(t, lo0), einf, rss, k)
        if v < best[0]:
            best = (v, e, lo0)
    _, ei, e0 = best
    r, w = _m4_profile(x, y, np.array([ei]), np.array([e0]), log_beta_nonneg)
    params = {"eps_inf": ei, "eps0": e0, "alpha": float(w[0, 2]), "beta": float(np.exp(w[0, 0])), "c": float(-w[0, 1])}
    return Fitted("M4", params, float(r[0]), m4_predict)


# --------------------------------------------------------------------------- BNSL


#: How far a refit of a benchmark curve may differ from ``data/experiments/bnsl_benchmark_rmse.csv``
#: (relative, per method). Measured on one AVX-512 machine, default kernel with 2 threads against
#: Prescott (generic x86-64) with 1 thread, over the 26 curves of a quick run: at most 5.8e-7 (BNSL),
#: 3.8e-7 (M4, a Nelder-Mead search), 0 for M1-M3; the authors' procedure (M2_authors, M4_authors), over
#: the 15 NMT and BIG-Bench curves: 0 and 9.2e-10. 1e-4 leaves a 100x margin and is 500x below the
#: claims' tolerance (half a unit of the third printed digit).
RERUN_REL_TOL = 1e-4


def win_fractions(
    errors: pd.DataFrame, *, decimals: int | None = None, split_ties: bool = True, rtol: float = 1e-9
) -> pd.Series:
    """Share of curves (rows) on which each method (column) has the smallest error.

    ``decimals=3`` first truncates every error to 3 decimals (``floor(e * 1000) / 1000``) as the authors'
    win-rate notebook does; a non-finite error counts as 1. Errors within a relative ``rtol`` of the
    smallest tie (so that, e.g., an M2 fit at ``eps_inf = 0`` ties with M1 whatever the last bits); ties
    are split equally between the tied methods (``split_ties``), else every tied method gets a full win.
    """
    e = errors.to_numpy(dtype=float, copy=True)
    e[~np.isfinite(e)] = 1.0
    if decimals is not None:
        scale = 10.0**decimals
        e = np.floor(e * scale + 1e-9) / scale
    best = e <= e.min(axis=1, keepdims=True) * (1.0 + rtol)
    share = best / best.sum(axis=1, keepdims=True) if split_ties else best.astype(float)
    return pd.Series(share.mean(axis=0), index=errors.columns)


def bootstrap_median(
    values: ArrayLike, *, n_resamples: int, seed: int, level: float = 0.9
) -> tuple[float, float, float]:
    """Median of ``values`` and a percentile bootstrap interval (resampling the values with replacement)."""
    v = _arr(values)
    rng = np.random.default_rng(seed)
    meds = np.median(rng.choice(v, size=(n_resamples, len(v)), replace=True), axis=1)
    lo, hi = np.quantile(meds, [(1 - level) / 2, (1 + level) / 2])
    return float(np.median(v)), float(lo), float(hi)


def bootstrap_win_fractions(
    errors: pd.DataFrame, *, n_resamples: int, seed: int, level: float = 0.9, **kwargs: object
) -> pd.DataFrame:
    """:func:`win_fractions` with a percentile bootstrap interval over the curves (rows resampled with
    replacement); ``kwargs`` go to :func:`win_fractions`. Columns ``method, win_fraction, lo, hi``."""
    rng = np.random.default_rng(seed)
    n = len(errors)
    point = win_fractions(errors, **kwargs)
    draws = np.array(
        [win_fractions(errors.iloc[rng.integers(0, n, n)], **kwargs).to_numpy() for _ in range(n_resamples)]
    )
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return pd.DataFrame({"method": errors.columns, "win_fraction": point.to_numpy(), "lo": lo, "hi": hi})


# --------------------------------------------------------------------------- the benchmark


def curves(df: pd.DataFrame) -> list[tuple[tuple[str, str, str], pd.DataFrame]]:
    """The learning curves of an Alabdulmohsin et al. benchmark frame, keyed ``(domain, task, model)``, sorted by x."""
    return [(k, g.sort_values("examples")) for k, g in df.groupby(["domain", "task", "model"], sort=True)]


M4_EPS0_MAX = {"IC": 1.0 + ERR_MARGIN, "BB": 1.0 + ERR_MARGIN}
"""Upper bound on M4's learned ``eps_0`` per domain (error rates; the authors' notebook caps it at 1 + 1e-3).
NMT and LM (rescaled losses) have none."""

METHODS = ("M1", "M2", "M3", "M4", "BNSL")
"""The five methods compared on the benchmark."""

VARIANTS = ("M2_start", "M3_search", "M4_fixed", "M4_fixed_start", "M2_authors", "M4_authors")
"""Variants shown next to them: ``M2_authors`` and ``M4_authors`` are M2 and M4 fitted by the authors'
released procedure (:func:`fit_m2_authors_batch`, :func:`fit_m4_authors_batch`); ``M2_start`` is M2's local optimum reached from the authors' initial
``eps_inf = min(eps) - 1e-3``; ``M3_search`` is M3 fitted by the authors' coordinate search over ``gamma``;
``M4_fixed`` fixes ``eps_0 = 1`` (the paper's text); ``M4_fixed_start`` also starts where the authors do."""

AUTHORS = {"M1": "M1", "M2": "M2_authors", "M3": "M3_search", "M4": "M4_authors"}
"""The column holding each estimator fitted by the authors' released procedure. Their M1 is least squares
(one optimum: our M1); their M3 is the coordinate search over ``gamma`` (``M3_search``)."""

_BATCHED = ("M2_authors", "M4_authors")


def fit_method(method: str, x: ArrayLike, y: ArrayLike, *, domain: str) -> Fitted:
    """Fit one method (a name in :data:`METHODS` or :data:`VARIANTS`) to the fit points ``(x, y)`` of a curve.

    ``M4`` learns ``eps_0`` in ``[max(eps) + 1e-3, M4_EPS0_MAX[domain]]`` as the authors' code does.
    ``BNSL`` has 1 break, or 2 where :func:`choose_bnsl_breaks` says so.
    """
    x, y = _arr(x), _arr(y)
    if method == "M1":
        return fit_m1(x, y)
    if method == "M2":
        return fit_m2(x, y)
    if method == "M2_start":
        return fit_m2(x, y, start="paper")
    if method == "M3":
        return fit_m3(x, y)
    if method == "M3_search":
        return fit_m3(x, y, search="authors")
    if method == "M4":
        return fit_m4(x, y, learn_eps0=True, eps0_max=M4_EPS0_MAX.get(domain))
    if method == "M4_fixed":
        return fit_m4(x, y, eps0=1.0)
    if method == "M4_fixed_start":
        return fit_m4(x, y, eps0=1.0, start="paper")
    if method == "M2_authors":
        return fit_m2_authors_batch([x], [y])[0]
    if method == "M4_authors":
        return fit_m4_authors_batch([x], [y], [domain])[0]
    if method == "BNSL":
        if choose_bnsl_breaks(x, y) == 1:
            return fit_bnsl(x, y, n_breaks=1)
        one = fit_bnsl(x, y, n_breaks=1)
        return fit_bnsl(x, y, n_breaks=2, n_refine=4, extra_starts=_two_break_starts(one, x))
    raise ValueError(f"unknown method {method!r}; use one of {METHODS + VARIANTS}")


def fit_curve(g: pd.DataFrame, methods: Sequence[str] = METHODS) -> tuple[dict[str, float], dict[str, Fitted]]:
    """Fit ``methods`` to the fit points (``train``) of one benchmark curve; return each method's
    extrapolation RMSE on the held-out points and the fits."""
    domain = str(g["domain"].iloc[0])
    tr, te = g[g["train"]], g[~g["train"]]
    x, y = tr["examples"].to_numpy(float), tr["loss"].to_numpy(float)
    xt, yt = te["examples"].to_numpy(float), te["loss"].to_numpy(float)
    fits = {m: fit_method(m, x, y, domain=domain) for m in methods}
    return {m: extrapolation_rmse(f.predict(xt), yt) for m, f in fits.items()}, fits


def fit_benchmark(
    df: pd.DataFrame, methods: Sequence[str] = METHODS, *, n_jobs: int = 1
) -> tuple[pd.DataFrame, dict[tuple[str, str, str], dict[str, Fitted]]]:
    """Fit every curve of a benchmark frame (see :func:`curves`) with every method.

    Returns a wide frame (one row per curve: ``domain, task, model``, then the RMSE of each method) and the
    fits keyed by curve. ``n_jobs > 1`` spreads the curves over processes (joblib); results do not depend on it.
    The authors' M2 and M4 (``M2_authors``, ``M4_authors``) are run for all curves at once, in lock step.
    """
    unknown = [m for m in methods if m not in METHODS + VARIANTS]
    if unknown:
        raise ValueError(f"methods: unknown {unknown}; use names from {METHODS + VARIANTS}")
    items = curves(df)
    single = [m for m in methods if m not in _BATCHED]
    if n_jobs > 1:
        from joblib import Parallel, delayed

        out = Parallel(n_jobs=n_jobs)(delayed(fit_curve)(g, single) for _, g in items)
    else:
        out = [fit_curve(g, single) for _, g in items]
    batched = [m for m in methods if m in _BATCHED]
    if batched:
        train = [g[g["train"]] for _, g in items]
        test = [g[~g["train"]] for _, g in items]
        xs = [t["examples"].to_numpy(float) for t in train]
        ys = [t["loss"].to_numpy(float) for t in train]
        for m in batched:
            if m == "M2_authors":
                fitted = fit_m2_authors_batch(xs, ys)
            else:
                fitted = fit_m4_authors_batch(xs, ys, [k[0] for k, _ in items])
            for (r, f), fit, te in zip(out, fitted, test, strict=True):
                f[m] = fit
                r[m] = extrapolation_rmse(fit.predict(te["examples"].to_numpy(float)), te["loss"].to_numpy(float))
    rows = []
    for (k, g), (r, f) in zip(items, out, strict=True):
        row = {"domain": k[0], "task": k[1], "model": k[2]}
        row.update(n_fit=int(g["train"].sum()), n_test=int((~g["train"]).sum()))
        row.update(r)
        if "BNSL" in f:
            row["BNSL_breaks"] = sum(1 for name in f["BNSL"].params if name.startswith("d"))
        rows.append(row)
    fits = {k: f for (k, _), (_, f) in zip(items, out, strict=True)}
    return pd.DataFrame(rows), fits


LANGUAGE_CURVE_TOKENS: dict[tuple[str, str, str], str] = {
    ("NMT", "log_perplexity", "6 Enc, 6 Dec"): "enc6_dec6",
    ("NMT", "log_perplexity", "28 Enc, 6 Dec"): "enc28_dec6",
    ("NMT", "log_perplexity", "6 Enc, 28 Dec"): "enc6_dec28",
    ("NMT", "log_perplexity", "Dec-only"): "dec_only",
    ("NMT", "log_perplexity", "TEnc-LSTM"): "tenc_lstm",
    ("LM", "val_loss", "1.68e+07"): "17m",
    ("LM", "val_loss", "1.34e+08"): "134m",
    ("LM", "val_loss", "2.62e+08"): "262m",
    ("LM", "val_loss", "4.53e+08"): "453m",
    ("LM", "val_loss", "1.07e+09"): "1070m",
    **{
        ("BB", f"('{t}', '{k}-shot')", "262M"): f"{t}_{k}shot"
        for t in ("ling", "qa", "unit", "mult", "date")
        for k in (1, 2)
    },
}
"""Readable tokens of the 20 language curves, used in claim ids ``rmse_<domain>_<token>_<method>``
(NMT: encoder/decoder layers; LM: parameters; BIG-Bench: task and shots)."""


# --------------------------------------------------------------------------- the authors' procedure

AUTHORS_M4_EPS0 = {"IC": (1.0, 1.0 + ERR_MARGIN), "NMT": (1.0, None), "LM": (1.0, None), "BB": (1.0 + ERR_MARGIN, 1.0 + ERR_MARGIN)}
"""M4's initial ``eps_0`` and its upper bound per domain in the authors' notebook (``err_0`` and ``up_bound``
plus the code's ``ERR_MARGIN``; ``None``: no bound, for the rescaled NMT and LM losses)."""

AUTHORS_M4_GRID = 10_000
"""Points of the grid on which the authors' M4 solves its implicit equation for a prediction (``prec``)."""


def _padded(xs: Sequence[ArrayLike], ys: Sequence[ArrayLike]) -> tuple[Array, Array, Array, Array]:
    """Stack curves of different lengths: ``x`` and ``y`` of shape ``(G, n)`` padded with each curve's first
    point, a 0/1 weight mask and the number of points per curve."""
    if len(xs) != len(ys) or not len(xs):
        raise ValueError("xs and ys must be non-empty sequences of the same length")
    n = max(len(np.atleast_1d(x)) for x in xs)
    g = len(xs)
    xx, yy, w = np.ones((g, n)), np.ones((g, n)), np.zeros((g, n))
    for k, (x, y) in enumerate(zip(xs, ys, strict=True)):
        x, y = _arr(x), _arr(y)
        if x.ndim != 1 or x.shape != y.shape or len(x) < 3:
            raise ValueError(f"curve {k}: x and y must be 1-d arrays of the same length >= 3")
        if not (np.all(np.isfinite(x)) and np.all(x > 0) and np.all(np.isfinite(y)) and np.all(y > 0)):
            raise ValueError(f"curve {k}: x and y must be finite and positive")
        order = np.argsort(x, kind="stable")
        xx[k], yy[k] = x[order][0], y[order][0]
        xx[k, : len(x)], yy[k, : len(x)], w[k, : len(x)] = x[order], y[order], 1.0
    return xx, yy, w, w.sum(axis=1)


class _State:
    """Mutable per-curve state of the authors' alternation (plain arrays of shape ``(G,)``)."""

    def __init__(self, **arrays: Array) -> None:
        self.__dict__.update(arrays)


def _authors_loop(
    state: _State, n: Array, *, regress: Callable[[Array], None], step: Callable[[Array, bool], None],
    max_iterations: int, grad_iters: int, epochs_gd: int, epochs_newton: int, stop: float,
) -> Array:
    """The alternation of the authors' M2 and M4 (``estimate_scaling_params``), run for all curves in
    lock step: a regression, then ``epochs_gd`` gradient steps (the first ``grad_iters`` iterations) or
    ``epochs_newton`` damped Newton steps (after), until ``beta`` moves by less than ``stop`` after the
    switch. Curves that have stopped are frozen. Returns the iteration count per curve."""
    g = len(n)
    active = np.ones(g, dtype=bool)
    old_beta = np.ones(g)
    iterations = np.zeros(g, dtype=int)
    for k in range(max_iterations):
        regress(active)
        newton = k >= grad_iters
        for _ in range(epochs_newton if newton else epochs_gd):
            step(active, newton)
        beta = np.exp(state.logb)
        gap = np.abs(beta - old_beta)
        old_beta = np.where(active, beta, old_beta)
        iterations[active] = k + 1
        if k > grad_iters + 1:
            active &= ~(gap < stop)
        if not active.any():
            break
    return iterations


def fit_m2_authors_batch(xs: Sequence[ArrayLike], ys: Sequence[ArrayLike], *, max_iterations: int = 10_000) -> list[Fitted]:
    """M2 fitted by the procedure of Alabdulmohsin et al.'s released code (google-research,
    ``revisiting_neural_scaling_laws/methods/m2.py``, ``estimate_scaling_params`` with its defaults),
    re-implemented here, for several curves at once (the result of each does not depend on the others).

    Start: ``c = -0.5``, ``beta = 1``, ``eps_inf = min(eps) - 1e-3``. Each iteration: ``(log beta, c)`` by
    least squares of ``log(eps - eps_inf)`` on ``log x``; then ``eps_inf`` moves with ``beta, c`` fixed, by
    1000 gradient steps of size ``1e-8`` on the mean square-log loss (iterations 0-99) or 100 damped Newton
    steps (step 0.1 times gradient over second derivative, later), each projected on
    ``[0, min(eps) - 1e-3]``. It stops when ``beta`` changes by less than ``1e-10`` after iteration 101, or
    after ``max_iterations``. The returned ``(beta, c)`` are those of the last regression and ``eps_inf`` the
    value after the last steps, as in the code.
    """
    x, y, w, n = _padded(xs, ys)
    logx = np.log(x)
    min_err = (np.where(w > 0, y, np.inf)).min(axis=1) - ERR_MARGIN
    s = _State(e=np.minimum(np.maximum(min_err, 0.0), min_err), logb=np.zeros(len(n)), c=np.full(len(n), -0.5))

    def mean(v: Array) -> Array:
        return (v * w).sum(axis=1) / n

    def regress(active: Array) -> None:
        z = np.log(np.where(w > 0, y - s.e[:, None], 1.0))
        xm, zm = mean(logx), mean(z)
        xc, zc = (logx - xm[:, None]) * w, (z - zm[:, None]) * w
        slope = (xc * zc).sum(1) / (xc * xc).sum(1)
        s.c = np.where(active, slope, s.c)
        s.logb = np.where(active, zm - slope * xm, s.logb)

    def step(active: Array, newton: bool) -> None:
        lf = s.logb[:, None] + s.c[:, None] * logx
        d = np.where(w > 0, y - s.e[:, None], 1.0)
        lg = np.log(d)
        grad = -mean((lg - lf) / d)
        if newton:
            hess = mean((1.0 - lg + lf) / d**2)
            with np.errstate(divide="ignore", invalid="ignore"):
                e = s.e - 0.1 * grad / hess
        else:
            e = s.e - 1e-8 * grad
        e = np.minimum(np.maximum(e, 0.0), min_err)
        s.e = np.where(active, e, s.e)

    _authors_loop(s, n, regress=regress, step=step, max_iterations=max_iterations, grad_iters=100,
                  epochs_gd=1000, epochs_newton=100, stop=1e-10)
    out = []
    for k in range(len(n)):
        params = {"eps_inf": float(s.e[k]), "beta": float(np.exp(s.logb[k])), "c": float(s.c[k])}
        xk, yk = x[k, : int(n[k])], y[k, : int(n[k])]
        loss = m2_loss(xk, yk, **params) if params["eps_inf"] < yk.min() else float("inf")
        out.append(Fitted("M2_authors", params, loss, m2_predict))
    return out


def m4_predict_grid(
    x: ArrayLike, eps_inf: float, eps0: float, alpha: float, beta: float, c: float, prec: int = AUTHORS_M4_GRID
) -> Array:
    """M4's prediction as the authors' code computes it (``m4.py``, ``predict_loss``): with
    ``b = eps0 - eps_inf`` and ``f = beta x**c``, the ``w`` among ``prec`` equally spaced values in ``[0, b]``
    that minimises ``|w - f (b - w)**alpha|``, plus ``eps_inf``; ``eps_inf + f`` if ``|alpha| < 1e-5``.
    A grid, not a root: the prediction is exact to ``b / prec`` at best."""
    x = _arr(x)
    f = beta * x**c
    if abs(alpha) < 1e-5:
        return eps_inf + f
    b = eps0 - eps_inf
    wg = np.linspace(0.0, b, int(prec))
    with np.errstate(invalid="ignore"):
        loss = np.abs(wg[None, :] - f.reshape(-1, 1) * (b - wg[None, :]) ** alpha)
    return (wg[np.argmin(loss, axis=1)] + eps_inf).reshape(x.shape)


def fit_m4_authors_batch(
    xs: Sequence[ArrayLike], ys: Sequence[ArrayLike], domains: Sequence[str], *, max_iterations: int = 10_000
) -> list[Fitted]:
    """M4 fitted by the procedure of Alabdulmohsin et al.'s released code (google-research,
    ``revisiting_neural_scaling_laws/methods/m4.py`` with the settings of their notebook per domain,
    :data:`AUTHORS_M4_EPS0`), re-implemented here, for several curves at once.

    Start: ``c = -0.5``, ``beta = 1``, ``alpha = 0``, ``eps_inf = min(eps) - 1e-3``, ``eps_0`` its initial
    value ``e``. The design of the regression, ``[1, -log x, log(e - eps)]``, is built once with that
    initial ``e`` and never updated. Each iteration: ``(log beta, -c, alpha)`` by least squares constrained
    to be non-negative, of ``log(eps - eps_inf)``; then ``(eps_inf, eps_0)`` move with the others fixed, on
    the mean square-log loss with the *current* ``eps_0``: 1000 gradient steps of size ``1e-8``
    (iterations 0-99) or 100 damped Newton steps (step 0.1, each coordinate by its own second derivative,
    skipped where that is below ``1e-5``), each projected on ``0 <= eps_inf <= min(eps) - 1e-3``,
    ``max(eps) + 1e-3 <= eps_0 <= bound``. Stopping as in :func:`fit_m2_authors_batch`. Predictions use
    :func:`m4_predict_grid`. So the fitted ``(alpha, beta, c)`` come from a regression with one ``eps_0``
    and predict with another.
    """
    x, y, w, n = _padded(xs, ys)
    if len(domains) != len(n):
        raise ValueError("domains must give one domain per curve")
    unknown = sorted(set(domains) - set(AUTHORS_M4_EPS0))
    if unknown:
        raise ValueError(f"domains: unknown {unknown}; use one of {sorted(AUTHORS_M4_EPS0)}")
    e0_init = np.array([AUTHORS_M4_EPS0[d][0] for d in domains])
    up = np.array([np.inf if AUTHORS_M4_EPS0[d][1] is None else AUTHORS_M4_EPS0[d][1] for d in domains])
    ymax = np.where(w > 0, y, -np.inf).max(axis=1)
    if np.any(ymax >= e0_init):
        raise ValueError("ys: an error at or above the initial eps_0 of its domain (the code's log(eps_0 - eps) is undefined)")
    logx = np.log(x)
    min_err = np.where(w > 0, y, np.inf).min(axis=1) - ERR_MARGIN
    max_err = ymax + ERR_MARGIN
    design = np.stack([np.ones_like(x), -logx, np.log(e0_init[:, None] - y)], axis=-1) * w[..., None]
    g = len(n)
    s = _State(e=min_err.copy(), e0=e0_init.copy(), logb=np.zeros(g), c=np.full(g, -0.5), alpha=np.zeros(g))

    def mean(v: Array) -> Array:
        return (v * w).sum(axis=1) / n

    def regress(active: Array) -> None:
        z = np.log(np.where(w > 0, y - s.e[:, None], 1.0)) * w
        _, coef = _nnls_rows(design, z, free=(False, False, False))
        s.logb = np.where(active, coef[:, 0], s.logb)
        s.c = np.where(active, -coef[:, 1], s.c)
        s.alpha = np.where(active, coef[:, 2], s.alpha)

    def step(active: Array, newton: bool) -> None:
        lf = s.logb[:, None] + s.c[:, None] * logx
        d_inf = np.where(w > 0, y - s.e[:, None], 1.0)
        d_0 = np.where(w > 0, s.e0[:, None] - y, 1.0)
        lg = np.log(d_inf) - s.alpha[:, None] * np.log(d_0)
        r = lg - lf
        g_inf = -mean(r / d_inf)
        g_0 = -s.alpha * mean(r / d_0)
        if newton:
            h_inf = mean((1.0 - lg + lf) / d_inf**2)
            h_0 = s.alpha * mean((s.alpha[:, None] + lg - lf) / d_0**2)
            with np.errstate(divide="ignore", invalid="ignore"):
                e = np.where(np.abs(h_inf) > 1e-5, s.e - 0.1 * g_inf / h_inf, s.e)
                e0 = np.where(np.abs(h_0) > 1e-5, s.e0 - 0.1 * g_0 / h_0, s.e0)
        else:
            e, e0 = s.e - 1e-8 * g_inf, s.e0 - 1e-8 * g_0
        e = np.minimum(np.maximum(e, 0.0), min_err)
        e0 = np.minimum(np.maximum(e0, max_err), up)
        s.e = np.where(active, e, s.e)
        s.e0 = np.where(active, e0, s.e0)

    _authors_loop(s, n, regress=regress, step=step, max_iterations=max_iterations, grad_iters=100,
                  epochs_gd=1000, epochs_newton=100, stop=1e-10)
    out = []
    for k in range(g):
        params = {"eps_inf": float(s.e[k]), "eps0": float(s.e0[k]), "alpha": float(s.alpha[k]),
                  "beta": float(np.exp(s.logb[k])), "c": float(s.c[k])}
        xk, yk = x[k, : int(n[k])], y[k, : int(n[k])]
        out.append(Fitted("M4_authors", params, m4_loss(xk, yk, **params), m4_predict_grid))
    return out
