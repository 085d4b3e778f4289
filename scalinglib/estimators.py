"""Learning-curve extrapolation: Alabdulmohsin et al. 2022's estimators M1-M4 and broken neural scaling laws.

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

The broken neural scaling law (Caballero, Gupta, Rish, Krueger 2022, eq. 1; :func:`scalinglib.laws.bnsl`) is
fitted on the squared log error: a screened grid of starts, Gauss-Newton refinement and a polish with
:func:`scalinglib.fitting.fit` (:func:`fit_bnsl`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares, minimize, minimize_scalar
from scipy.special import expit

from .fitting import LogModel, fit
from .laws import bnsl

Array = NDArray[np.float64]

__all__ = [
    "ERR_MARGIN",
    "Fitted",
    "m1_predict",
    "m2_predict",
    "m3_predict",
    "m4_predict",
    "m1_loss",
    "m2_loss",
    "m3_loss",
    "m4_loss",
    "m2_profile",
    "fit_m1",
    "fit_m2",
    "fit_m3",
    "fit_m4",
    "bnsl_log_model",
    "bnsl_default_grid",
    "fit_bnsl",
    "choose_bnsl_breaks",
    "extrapolation_rmse",
    "win_fractions",
    "bootstrap_median",
    "bootstrap_win_fractions",
    "bnsl_segments",
    "FIG4_GRID",
    "segment_slopes",
    "curves",
    "METHODS",
    "VARIANTS",
    "fit_method",
    "fit_curve",
    "fit_benchmark",
    "M4_EPS0_MAX",
    "LANGUAGE_CURVE_TOKENS",
]

ERR_MARGIN = 1e-3
"""Margin between ``eps_inf`` and the smallest fit error (and ``eps_0`` and the largest), as in the authors' code."""

Start = Literal["global", "paper"]


def _arr(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=float)


@dataclass(frozen=True)
class Fitted:
    """A fitted estimator: its name, parameters and square-log loss at the optimum (sum over the fit points)."""

    method: str
    params: dict[str, float]
    loss: float
    predictor: Callable[..., Array] = field(repr=False, compare=False)

    def predict(self, x: ArrayLike) -> Array:
        """Predicted error at ``x``."""
        return self.predictor(_arr(x), **self.params)


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

            def loss_of(g: Array) -> Array:
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


def _bnsl_parts(theta: Array, u: Array, n_breaks: int) -> tuple[Array, list[tuple[Array, Array]]]:
    """Log of the power-law part ``T = log b - c0 u - sum c_i f_i softplus((u - log d_i) / f_i)`` and,
    per break, ``(softplus, sigmoid)`` of its scaled argument."""
    t = theta[1] - theta[2] * u
    parts = []
    for i in range(n_breaks):
        c, logd, logf = theta[3 + 3 * i : 6 + 3 * i]
        f = np.exp(logf)
        s = (u - logd) / f
        sp = np.logaddexp(0.0, s)
        t = t - c * f * sp
        parts.append((sp, expit(s)))
    return t, parts


def bnsl_log_model(n_breaks: int = 1) -> LogModel:
    """BNSL (Caballero et al. 2022, eq. 1) as a :class:`~scalinglib.fitting.LogModel` with exact Jacobian.

    Parameters ``(a, log_b, c0, c1, log_d1, log_f1, c2, log_d2, log_f2, ...)`` with ``a`` itself (bounded
    below by 0 in the fit), ``b = exp(log_b)``, ``d_i = exp(log_d_i)`` and ``f_i = exp(log_f_i)``:
    ``log y = log(a + exp(log_b - c0 log x - sum_i c_i f_i log(1 + (x / d_i)**(1 / f_i))))``.
    Inputs are ``log x`` (the model's ``prepare`` is ``np.log``).
    """
    names = ["a", "log_b", "c0"]
    for i in range(1, n_breaks + 1):
        names += [f"c{i}", f"log_d{i}", f"log_f{i}"]

    def log_predict(theta: Array, u: Array) -> Array:
        t, _ = _bnsl_parts(theta, u, n_breaks)
        with np.errstate(divide="ignore"):
            return np.logaddexp(np.log(max(theta[0], 0.0)), t)

    def jacobian(theta: Array, u: Array) -> Array:
        t, parts = _bnsl_parts(theta, u, n_breaks)
        with np.errstate(divide="ignore"):
            logy = np.logaddexp(np.log(max(theta[0], 0.0)), t)
        w = np.exp(t - logy)  # share of the power-law part in y
        cols = [np.exp(-logy), w, -u * w]
        for i, (sp, sig) in enumerate(parts):
            c, logd, logf = theta[3 + 3 * i : 6 + 3 * i]
            f = np.exp(logf)
            s = (u - logd) / f
            cols += [-f * sp * w, c * sig * w, -c * f * (sp - sig * s) * w]
        return np.stack(cols, axis=-1)

    return LogModel(name=f"bnsl_{n_breaks}", param_names=tuple(names), log_predict=log_predict, jacobian=jacobian)


def _bnsl_params(theta: Array, n_breaks: int, x_scale: float) -> dict[str, float]:
    out = {"a": float(theta[0]), "b": float(np.exp(theta[1]) * x_scale ** theta[2]), "c0": float(theta[2])}
    for i in range(n_breaks):
        c, logd, logf = theta[3 + 3 * i : 6 + 3 * i]
        out[f"c{i + 1}"] = float(c)
        out[f"d{i + 1}"] = float(np.exp(logd) * x_scale)
        out[f"f{i + 1}"] = float(np.exp(logf))
    return out


def _bnsl_predictor(x: Array, a: float, b: float, c0: float, **breaks: float) -> Array:
    n = len(breaks) // 3
    c = [breaks[f"c{i}"] for i in range(1, n + 1)]
    d = [breaks[f"d{i}"] for i in range(1, n + 1)]
    f = [breaks[f"f{i}"] for i in range(1, n + 1)]
    with np.errstate(over="ignore"):
        return bnsl(x, a, b, c0, c, d, f)


def _bnsl_screen(u: Array, logy: Array, cands: Array, n_breaks: int) -> Array:
    """Squared log error of each candidate (rows of ``cands``, with ``log_b`` profiled approximately)."""
    a = cands[:, 0]
    theta = cands.copy()
    theta[:, 1] = 0.0
    t = theta[:, 1:2] - theta[:, 2:3] * u[None, :]
    for i in range(n_breaks):
        c, logd, logf = (theta[:, 3 + 3 * i + k : 4 + 3 * i + k] for k in range(3))
        f = np.exp(logf)
        t = t - c * f * np.logaddexp(0.0, (u[None, :] - logd) / f)
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.log(np.maximum(np.exp(logy)[None, :] - a[:, None], 1e-300))
    log_b = np.mean(excess - t, axis=1)
    theta[:, 1] = log_b
    with np.errstate(divide="ignore"):
        pred = np.logaddexp(np.log(np.maximum(a, 0.0))[:, None], t + log_b[:, None])
    r = pred - logy[None, :]
    out = cands.copy()
    out[:, 1] = log_b
    return np.column_stack([(r * r).sum(1), out])


def bnsl_default_grid(x: ArrayLike, y: ArrayLike, n_breaks: int = 1) -> dict[str, list[float]]:
    """The grid of starts :func:`fit_bnsl` screens by default, from the fit points themselves.

    ``a`` in ``{0, .5, .9, .99} min(y)``, ``c0`` in ``{0, .1, .3, .7}``; per break ``c`` in
    ``{-1, -.3, .1, .4, 1, 3}``, ``d`` at 7 places across and beyond the fitted range of ``log x`` and ``f``
    in ``{.05, .3, 1.5}`` (coarser with 2 breaks: ``c`` in ``{-.5, .2, 1}``, 5 places, ``f`` in ``{.1, 1}``).
    """
    x, y = _arr(x), _arr(y)
    lo, hi = np.log(x.min()), np.log(x.max())
    ymin = float(y.min())
    if n_breaks == 1:
        c, pos, f = [-1.0, -0.3, 0.1, 0.4, 1.0, 3.0], [0.05, 0.2, 0.4, 0.6, 0.8, 1.0, 1.3], [0.05, 0.3, 1.5]
    else:
        c, pos, f = [-0.5, 0.2, 1.0], [0.1, 0.35, 0.6, 0.85, 1.1], [0.1, 1.0]
    return {
        "a": [0.0, 0.5 * ymin, 0.9 * ymin, 0.99 * ymin],
        "c0": [0.0, 0.1, 0.3, 0.7],
        "c": c,
        "d": [float(np.exp(lo + (hi - lo) * p)) for p in pos],
        "f": f,
    }


def _bnsl_candidates(grid: Mapping[str, Sequence[float]], x_scale: float, ymin: float, n_breaks: int) -> Array:
    """Rows ``(a, log_b=0, c0, c1, log d1 / x_scale, log f1, ...)`` of the grid, breaks in increasing ``d``."""
    per_break = list(itertools.product(grid["c"], [np.log(d / x_scale) for d in grid["d"]], np.log(grid["f"])))
    rows = []
    for a, c0 in itertools.product([a for a in grid["a"] if a < ymin], grid["c0"]):
        for combo in itertools.product(per_break, repeat=n_breaks):
            ds = [b[1] for b in combo]
            if all(ds[i] < ds[i + 1] for i in range(len(ds) - 1)):
                rows.append([a, 0.0, c0, *itertools.chain.from_iterable(combo)])
    return np.array(rows, dtype=float)


def fit_bnsl(
    x: ArrayLike,
    y: ArrayLike,
    *,
    n_breaks: int = 1,
    grid: Mapping[str, Sequence[float]] | None = None,
    n_refine: int = 6,
    extra_starts: ArrayLike | None = None,
) -> Fitted:
    """Fit a BNSL with ``n_breaks`` breaks by minimising the squared log error on the fit points.

    1. Screen a grid of starts, vectorised: ``grid`` maps ``a``, ``c0`` and the per-break ``c``, ``d``
       (in units of ``x``), ``f`` to candidate values (default :func:`bnsl_default_grid`); ``log b`` is set
       by least squares for each candidate.
    2. Refine the ``n_refine`` best (plus ``extra_starts``, rows in the fitting parametrisation) with a
       bounded Gauss-Newton least-squares solver (``scipy.optimize.least_squares``, exact Jacobian of
       :func:`bnsl_log_model`): it needs far fewer iterations than L-BFGS-B on this badly conditioned problem.
    3. Polish the best with :func:`scalinglib.fitting.fit` (L-BFGS-B, tight tolerances, at most 200
       iterations, same objective) and keep whichever is lower.

    Bounds: ``0 <= a <= min(y)``, ``|c_i| <= 25``, ``0.01 <= f_i <= 20``. ``x`` is rescaled by its smallest
    value while fitting; the returned parameters are in the original units.
    """
    x, y = _arr(x), _arr(y)
    order = np.argsort(x)
    x, y = x[order], y[order]
    x_scale = float(x[0])
    u = np.log(x / x_scale)
    logy = np.log(y)
    ymin = float(y.min())
    grid = bnsl_default_grid(x, y, n_breaks) if grid is None else grid
    cands = _bnsl_candidates(grid, x_scale, ymin, n_breaks)
    screened = np.vstack([_bnsl_screen(u, logy, cands[i : i + 20000], n_breaks) for i in range(0, len(cands), 20000)])
    screened = screened[np.isfinite(screened[:, 0])]
    starts = screened[np.argsort(screened[:, 0], kind="stable")[:n_refine], 1:]
    if extra_starts is not None:
        starts = np.vstack([np.atleast_2d(_arr(extra_starts)), starts])
    model = bnsl_log_model(n_breaks)
    # Bounds keep every parameter representable in the original units (|c| log x_scale < 700).
    lb = np.array([0.0, -np.inf, -25.0] + [-25.0, -60.0, np.log(0.01)] * n_breaks)
    ub = np.array([ymin, np.inf, 25.0] + [25.0, 60.0, np.log(20.0)] * n_breaks)
    pad = 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(lb), lb, 0.0)))
    lb_in, ub_in = lb + pad, ub - pad  # strictly inside, as least_squares wants
    best_theta, best_cost = None, np.inf
    for s in starts:
        s = np.clip(s, lb_in, ub_in)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            res = least_squares(
                lambda th: model.log_predict(th, u) - logy,
                s,
                jac=lambda th: model.jacobian(th, u),
                bounds=(lb, ub),
                method="trf",
                x_scale="jac",
                xtol=1e-12,
                ftol=1e-12,
                gtol=1e-12,
                max_nfev=400,
            )
        if np.isfinite(res.cost) and res.cost < best_cost:
            best_theta, best_cost = res.x, res.cost
    if best_theta is None:
        raise RuntimeError("no BNSL start gave a finite loss: check that y > 0 and x spans more than one value")
    # Run the best start to convergence. Many curves have a flat valley along which log b grows
    # and the loss keeps falling slowly until a bound stops it: a solver stopped after a fixed
    # number of steps lands at a point of that valley that depends on rounding (another BLAS
    # kernel moved the extrapolation error by 5e-3). Converged, the fit is the same on every machine.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = least_squares(
            lambda th: model.log_predict(th, u) - logy,
            np.clip(best_theta, lb_in, ub_in),
            jac=lambda th: model.jacobian(th, u),
            bounds=(lb, ub),
            method="trf",
            x_scale="jac",
            xtol=1e-15,
            ftol=1e-15,
            gtol=1e-15,
            max_nfev=100_000,
        )
    if np.isfinite(res.cost) and res.cost <= best_cost:
        best_theta, best_cost = res.x, res.cost
    bounds = list(zip([None if not np.isfinite(v) else v for v in lb], [None if not np.isfinite(v) else v for v in ub]))
    res = fit(model, np.exp(u), y, best_theta[None, :], loss="squared", bounds=bounds, maxiter=200)
    theta = res.theta if res.objective <= best_cost else best_theta
    params = _bnsl_params(theta, n_breaks, x_scale)
    return Fitted("BNSL", params, 2.0 * min(res.objective, best_cost), _bnsl_predictor)


def _theta_from_params(p: Mapping[str, float], n_breaks: int, x_scale: float) -> list[float]:
    theta = [p["a"], np.log(p["b"]) - p["c0"] * np.log(x_scale), p["c0"]]
    for i in range(1, n_breaks + 1):
        theta += [p[f"c{i}"], np.log(p[f"d{i}"] / x_scale), np.log(p[f"f{i}"])]
    return theta


def choose_bnsl_breaks(x: ArrayLike, y: ArrayLike, *, holdout: float = 0.2, min_points: int = 15) -> int:
    """How many breaks (1 or 2) to fit, decided from the fit points alone (stated before any test point is used).

    Curves with fewer than ``min_points`` fit points get 1 break. Otherwise the largest-``x`` ``holdout``
    share of the *fit* points is held out, 1- and 2-break BNSLs are fitted to the rest, and 2 breaks are
    used only if they extrapolate to those held-out fit points with a smaller RMSE of the log predictions.
    """
    x, y = _arr(x), _arr(y)
    order = np.argsort(x)
    x, y = x[order], y[order]
    n = len(x)
    k = int(np.floor(n * (1 - holdout)))
    if n < min_points or n - k < 2:
        return 1
    one = fit_bnsl(x[:k], y[:k], n_breaks=1)
    two = fit_bnsl(x[:k], y[:k], n_breaks=2, n_refine=4, extra_starts=_two_break_starts(one, x[:k]))
    e1 = extrapolation_rmse(one.predict(x[k:]), y[k:])
    e2 = extrapolation_rmse(two.predict(x[k:]), y[k:])
    return 2 if e2 < e1 else 1


def _two_break_starts(one: Fitted, x: Array) -> Array:
    """Starts for a 2-break fit: the 1-break optimum plus a small second break placed across the range."""
    x_scale = float(np.min(x))
    base = _theta_from_params(one.params, 1, x_scale)
    span = float(np.log(np.max(x) / x_scale))
    rows = []
    for pos in (0.1, 0.3, 0.5, 0.7, 0.9):
        for c2 in (-0.3, 0.3):
            extra = [c2, pos * span, np.log(0.3)]
            # keep the breaks ordered: put the new one before or after the fitted one
            if pos * span < base[4]:
                rows.append(base[:3] + extra + base[3:])
            else:
                rows.append(base + extra)
    return np.array(rows)


# --------------------------------------------------------------------------- evaluation


#: How far a refit of a benchmark curve may differ from ``data/experiments/bnsl_benchmark_rmse.csv``
#: (relative, per method). Measured on one AVX-512 machine, default kernel with 2 threads against
#: Prescott (generic x86-64) with 1 thread, over the 26 curves of a quick run: at most 5.8e-7 (BNSL),
#: 3.8e-7 (M4, a Nelder-Mead search), 0 for M1-M3. 1e-4 leaves a 100x margin and is 500x below the
#: claims' tolerance (half a unit of the third printed digit).
RERUN_REL_TOL = 1e-4


def extrapolation_rmse(pred: ArrayLike, y: ArrayLike) -> float:
    """RMSE of the log predictions on held-out points, ``sqrt(mean((log pred - log y)**2))``
    (Alabdulmohsin et al. 2022, Sec. 3; the RMSLE of Caballero et al. 2022). ``inf`` if a prediction is not
    positive and finite."""
    pred, y = _arr(pred), _arr(y)
    if not np.all(np.isfinite(pred)) or np.any(pred <= 0):
        return float("inf")
    r = np.log(pred) - np.log(y)
    return float(np.sqrt(np.mean(r * r)))


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


def bnsl_segments(b: float, c0: float, c: Sequence[float], d: Sequence[float]) -> list[tuple[float, float]]:
    """The power laws ``y - a = B_k x**-s_k`` a BNSL follows far from its breaks (Caballero et al. 2022, Fig. 1).

    Segment ``k`` (after the first ``k`` breaks) has slope ``s_k = c0 + c1 + ... + c_k`` and coefficient
    ``B_k = b * d_1**c1 * ... * d_k**c_k``, since ``(1 + (x/d)**(1/f))**(-c f)`` tends to 1 for ``x << d``
    and to ``(x/d)**-c`` for ``x >> d``. Returns ``[(B_0, s_0), ..., (B_n, s_n)]``.
    """
    out = [(float(b), float(c0))]
    coef, slope = float(b), float(c0)
    for ci, di in zip(c, d, strict=True):
        coef *= float(di) ** float(ci)
        slope += float(ci)
        out.append((coef, slope))
    return out


FIG4_GRID = {
    "a": [round(0.1 * k, 1) for k in range(25)],
    "c0": [0.0, 0.05, 0.1, 0.15],
    "c": [0.5 * k for k in range(16)],
    "d": [1.25 ** (2.5 * k) - 1 + 1e-8 for k in range(14)],
    "f": [0.05, 0.1, 0.15],
}
"""Grid of starts for the noiseless simulation of Caballero et al. 2022, Fig. 4 (right), modelled on the
brute-force grid of the authors' script for that figure (``a`` from 0 to 2.4 by 0.1, ``c0`` from 0 to 0.15,
``c1`` from 0 to 7.5 by 0.5, ``d1 = 1.25**k - 1`` for ``k = 0, 2.5, ..., 32.5``, ``f1`` in
``{.05, .1, .15}``); their ``b`` axis is replaced by least squares and ``f1 = 0`` is left out."""


def segment_slopes(
    x: ArrayLike, a: float, b: float, c0: float, c: Sequence[float], d: Sequence[float], f: Sequence[float]
) -> list[float]:
    """Local log-log slope of ``y - a`` of a BNSL in each of its ``n + 1`` power-law segments.

    In segment ``k`` (between breaks ``d_k`` and ``d_{k+1}``; the first and last are open) the slope is read
    where it changes least, i.e. far from the breaks: the grid point ``x`` of the segment minimising
    ``|d slope / d log x|``. Far from every break the slope is ``-(c0 + c1 + ... + c_k)`` (Caballero et al.
    2022, Sec. 2).
    """
    x = np.sort(_arr(x))
    excess = bnsl(x, 0.0, b, c0, c, d, f)
    slope = np.gradient(np.log(excess), np.log(x))
    curv = np.abs(np.gradient(slope, np.log(x)))
    edges = [x[0], *d, x[-1]]
    out = []
    for k in range(len(edges) - 1):
        inside = np.flatnonzero((x > edges[k]) & (x < edges[k + 1]))
        inside = inside[(inside > 0) & (inside < len(x) - 1)]
        out.append(float(slope[inside[np.argmin(curv[inside])]]))
    return out


# --------------------------------------------------------------------------- the benchmark


def curves(df: pd.DataFrame) -> list[tuple[tuple[str, str, str], pd.DataFrame]]:
    """The learning curves of an Alabdulmohsin et al. benchmark frame, keyed ``(domain, task, model)``, sorted by x."""
    return [(k, g.sort_values("examples")) for k, g in df.groupby(["domain", "task", "model"], sort=True)]


M4_EPS0_MAX = {"IC": 1.0 + ERR_MARGIN, "BB": 1.0 + ERR_MARGIN}
"""Upper bound on M4's learned ``eps_0`` per domain (error rates; the authors' notebook caps it at 1 + 1e-3).
NMT and LM (rescaled losses) have none."""

METHODS = ("M1", "M2", "M3", "M4", "BNSL")
"""The five methods compared on the benchmark."""

VARIANTS = ("M2_start", "M3_search", "M4_fixed", "M4_fixed_start")
"""Variants shown next to them: ``M2_start`` is M2's local optimum reached from the authors' initial
``eps_inf = min(eps) - 1e-3``; ``M3_search`` is M3 fitted by the authors' coordinate search over ``gamma``;
``M4_fixed`` fixes ``eps_0 = 1`` (the paper's text); ``M4_fixed_start`` also starts where the authors do."""


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
    """
    items = curves(df)
    if n_jobs > 1:
        from joblib import Parallel, delayed

        out = Parallel(n_jobs=n_jobs)(delayed(fit_curve)(g, methods) for _, g in items)
    else:
        out = [fit_curve(g, methods) for _, g in items]
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
