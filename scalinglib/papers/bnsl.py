"""Broken neural scaling laws (Caballero, Gupta, Rish, Krueger 2022): the fit, its breaks and segments.

The BNSL (their eq. 1; :func:`scalinglib.laws.bnsl`) with ``n`` breaks::

    y = a + b * x**-c0 * prod_i (1 + (x / d_i)**(1 / f_i))**(-c_i * f_i)

is fitted on the squared log error (:func:`fit_bnsl`): a screened grid of starts, Gauss-Newton
refinement (``scipy.optimize.least_squares`` with the exact Jacobian), the best start run to
convergence, and a polish with :func:`scalinglib.fitting.fit`. :func:`choose_bnsl_breaks` picks 1
or 2 breaks on held-out points; :func:`bnsl_segments` and :func:`segment_slopes` read the power laws
a fitted BNSL follows between its breaks (their Fig. 1). The sample-wise double-descent experiment
of their Sec. 3.4 is :mod:`scalinglib.double_descent`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares
from scipy.special import expit

from ..curves import Fitted, extrapolation_rmse
from ..fitting import LogModel, fit
from ..laws import bnsl

Array = NDArray[np.float64]

__all__ = [
    "bnsl_log_model",
    "BREAK_FLOOR",
    "bnsl_default_grid",
    "fit_bnsl",
    "choose_bnsl_breaks",
    "bnsl_segments",
    "FIG4_GRID",
    "segment_slopes",
]


def _arr(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=float)


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


BREAK_FLOOR = float(np.exp(-3.0))
"""Earliest break :func:`fit_bnsl` allows, as a fraction of the smallest fitted ``x`` (about x_min / 20)."""


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
    3. Run the best of them to convergence (tolerances 1e-15), so the result does not depend on where a
       fixed number of steps happened to stop (that moved with the BLAS kernel).
    4. Polish with :func:`scalinglib.fitting.fit` (L-BFGS-B, tight tolerances, at most 200 iterations,
       same objective) and keep whichever is lower.

    Bounds: ``0 <= a <= min(y)``, ``|c_i| <= 25``, ``0.01 <= f_i <= 20``, ``d_i >= BREAK_FLOOR * min(x)``.
    ``x`` is rescaled by its smallest value while fitting; the returned parameters are in the original units.
    """
    x, y = _arr(x), _arr(y)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-d arrays of the same length, got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(x > 0)):
        raise ValueError("x must be positive and finite (the fit is in log x)")
    if not (np.all(np.isfinite(y)) and np.all(y > 0)):
        raise ValueError("y must be positive and finite (the loss is the squared log error)")
    if n_breaks not in (1, 2):
        raise ValueError(f"n_breaks must be 1 or 2, got {n_breaks!r}")
    if len(np.unique(x)) < 3 + 3 * n_breaks:
        raise ValueError(f"x, y: {len(np.unique(x))} distinct points cannot determine a BNSL with {n_breaks} "
                         f"break(s) ({3 + 3 * n_breaks} parameters)")
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
    # Bounds keep every parameter representable in the original units (|c| log x_scale < 700), and a
    # break no earlier than BREAK_FLOOR before the first point: a break further before the data is not
    # identified by them (a flat valley runs there, c0 -> -inf, c1 -> +inf, log b -> +inf, along which a
    # solver crawls for tens of thousands of steps and, stopped early, lands where rounding left it).
    lb = np.array([0.0, -np.inf, -25.0] + [-25.0, np.log(BREAK_FLOOR), np.log(0.01)] * n_breaks)
    ub = np.array([ymin, np.inf, 25.0] + [25.0, 60.0, np.log(20.0)] * n_breaks)
    pad = 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(lb), lb, 0.0)))
    lb_in, ub_in = lb + pad, ub - pad  # strictly inside, as least_squares wants

    def solve(start: Array, tol: float, max_nfev: int):  # bounded Gauss-Newton (trust region), exact Jacobian
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return least_squares(
                lambda th: model.log_predict(th, u) - logy,
                np.clip(start, lb_in, ub_in),
                jac=lambda th: model.jacobian(th, u),
                bounds=(lb, ub),
                method="trf",
                x_scale="jac",
                xtol=tol,
                ftol=tol,
                gtol=tol,
                max_nfev=max_nfev,
            )

    best_theta, best_cost = None, np.inf
    for s in starts:
        res = solve(s, 1e-12, 400)
        if np.isfinite(res.cost) and res.cost < best_cost:
            best_theta, best_cost = res.x, res.cost
    if best_theta is None:
        raise RuntimeError("no BNSL start gave a finite loss: check that y > 0 and x spans more than one value")
    # Run the best start to convergence: stopped after a fixed number of steps, a fit lands at a
    # point that depends on rounding (another BLAS kernel moved an extrapolation error by 5e-3).
    # Converged, the fit is the same on every machine.
    res = solve(best_theta, 1e-15, 100_000)
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
