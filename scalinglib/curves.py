"""Learning-curve tools: log binning, the power-law region, and fits of a curve with bootstrap intervals.

A learning curve is error (or loss) against training-set size ``m`` (or examples seen). Hestness et
al. 2017 ("Deep Learning Scaling is Predictable, Empirically", Sec. 3) fit the power law plus a
floor ``eps(m) = alpha * m**beta_g + gamma`` to its *power-law region*, the part between the
small-data region and the irreducible-error region; these functions find that region and fit it
with the book's one fitter (:func:`scalinglib.fitting.fit`, bootstrap by
:func:`scalinglib.fitting.bootstrap`). Used by the Hestness chapter on its own study and on public
curves, and available for any learning curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from .fitting import POWER_LAW, SATURATING_POWER_LAW, FitResult, LogModel, bootstrap, fit, start_grid
from .progress import progress

Array = NDArray[np.float64]

__all__ = [
    "log_bin",
    "power_law_region",
    "stable_slope_start",
    "CurveFit",
    "Fitted",
    "extrapolation_rmse",
    "fit_learning_curve",
    "fit_curves",
    "fit_model_size",
]


def log_bin(x: ArrayLike, y: ArrayLike, bins_per_decade: float = 10.0) -> tuple[Array, Array, Array]:
    """Average a dense curve in bins of equal width in ``log10 x``: geometric-mean ``x``, mean ``y``, counts.

    Dense, linearly spaced tails (as in the Alabdulmohsin et al. benchmark) would otherwise dominate a
    fit in log space; binning gives every part of the curve about the same weight per decade.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    idx = np.floor((np.log10(x) - np.log10(x[0])) * bins_per_decade + 1e-9).astype(int)
    _, start, counts = np.unique(idx, return_index=True, return_counts=True)
    xb = np.exp(np.add.reduceat(np.log(x), start) / counts)
    yb = np.add.reduceat(y, start) / counts
    return xb, yb, counts


def power_law_region(x: ArrayLike, y: ArrayLike, *, min_points: int = 5, smooth: int = 3) -> int:
    """Index of the first point of the power-law region of a learning curve (points sorted by ``x``).

    A saturating power law ``y = A x**-alpha + C`` has a log-log slope whose magnitude only shrinks as
    ``x`` grows. Before its power-law region a learning curve is flatter (the small-data region of
    Hestness et al. 2017's learning-curve sketch, where models barely beat a best guess), so its slope steepens first.
    The region therefore starts where the steepest stretch of the log-log curve starts: the first point
    of the run of ``smooth`` consecutive segments with the most negative mean slope. It is kept at
    least ``min_points`` long.
    """
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if len(lx) <= min_points:
        return 0
    slopes = np.diff(ly) / np.diff(lx)
    k = max(1, min(smooth, len(slopes)))
    sm = np.convolve(slopes, np.ones(k) / k, mode="valid")  # sm[i] averages segments i .. i+k-1
    start = int(np.argmin(sm))
    return int(min(start, len(lx) - min_points))


def stable_slope_start(
    x: ArrayLike, y: ArrayLike, *, tolerance: float = 0.1, tail: int = 4, span: int = 2, min_points: int = 5
) -> int:
    """Index of the first point of the power-law region of a curve that should be a pure power law there
    (a learning curve's *excess* error ``eps(m) - gamma`` when ``gamma`` is known).

    Local log-log slopes are taken over ``span`` steps (``m`` to ``4m`` for a 2x grid, to tame noise);
    the final slope is the median of the last ``tail`` of them. Walking back from the largest sizes, the
    region extends as long as every local slope is within ``tolerance`` of the final one: it is the
    longest run of the largest sizes over which the curve keeps one exponent. Before it lies the
    small-data region of Hestness et al. 2017's learning-curve sketch. At least ``min_points`` points are kept.
    """
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    n = len(lx)
    if n <= min_points or n <= span:
        return 0
    slopes = (ly[span:] - ly[:-span]) / (lx[span:] - lx[:-span])  # slopes[i] spans points i .. i+span
    final = float(np.median(slopes[-tail:]))
    start = len(slopes) - 1
    while start > 0 and abs(slopes[start - 1] - final) <= tolerance:
        start -= 1
    return int(min(start, n - min_points))


@dataclass
class CurveFit:
    """A fitted learning curve ``y = A (x / x_ref)**-alpha + C`` (or a pure power law if ``C`` is absent)."""

    exponent: float  # beta = -alpha (negative for a falling curve)
    interval: tuple[float, float]  # bootstrap 2.5 and 97.5 percentiles of the exponent
    coef: float  # A, at x = x_ref
    floor: float  # C (0 for a pure power law)
    x_ref: float
    start: int  # first point used (index into the sorted input)
    n_points: int
    result: FitResult = field(repr=False)
    boot_exponents: Array = field(repr=False)

    def predict(self, x: ArrayLike) -> Array:
        return self.coef * (np.asarray(x, dtype=float) / self.x_ref) ** self.exponent + self.floor


def _sat_starts(y: Array) -> Array:
    ly0, lymin = float(np.log(y[0])), float(np.log(np.min(y)))
    return start_grid(
        log_a=[ly0 - 1.0, ly0],
        alpha=[0.1, 0.4, 1.0],
        log_l_inf=[lymin - 3.0, lymin - 0.5, lymin - 0.05],
    )


def _fit_with_interval(
    model: LogModel,
    x: Array,
    y: Array,
    starts: Array,
    *,
    x_ref: float,
    start: int,
    n_bootstrap: int,
    seed: int,
    loss: str = "huber",
) -> CurveFit:
    """Fit ``model`` to ``(x / x_ref, y)`` from ``starts`` and bootstrap a 95% percentile interval of the
    exponent ``-alpha`` (``n_bootstrap`` point resamples, seeded; none if 0)."""
    res = fit(model, x / x_ref, y, starts, loss=loss)
    boots = (
        bootstrap(model, x / x_ref, y, res.theta, n_resamples=n_bootstrap, seed=seed, loss=loss)
        if n_bootstrap > 0
        else np.empty((0, len(res.theta)))
    )
    be = -boots[:, model.param_names.index("alpha")]
    lo, hi = (float(v) for v in np.percentile(be, [2.5, 97.5])) if len(be) else (float("nan"), float("nan"))
    th = res.params
    return CurveFit(
        exponent=-th["alpha"],
        interval=(lo, hi),
        coef=float(np.exp(th["log_a"])),
        floor=float(np.exp(th["log_l_inf"])) if "log_l_inf" in th else 0.0,
        x_ref=x_ref,
        start=start,
        n_points=len(x),
        result=res,
        boot_exponents=be,
    )


def fit_learning_curve(
    x: ArrayLike,
    y: ArrayLike,
    *,
    n_bootstrap: int,
    seed: int,
    start: int | None = None,
    saturating: bool = True,
) -> CurveFit:
    """Fit ``y = A (x/x_ref)**-alpha + C`` (``scalinglib.fitting.SATURATING_POWER_LAW``, Huber loss in log
    space, a grid of 18 starts) to the points from ``start`` on (default: :func:`power_law_region`), with
    ``n_bootstrap`` point resamples for the interval of ``beta = -alpha``. ``saturating=False`` fits a
    pure power law (``POWER_LAW``) instead. ``x_ref`` is the first point used."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    s = power_law_region(x, y) if start is None else int(start)
    xs, ys = x[s:], y[s:]
    x_ref = float(xs[0])
    if saturating:
        model = SATURATING_POWER_LAW
        starts = _sat_starts(ys)
    else:
        model = POWER_LAW
        starts = start_grid(log_a=[float(np.log(ys[0]))], alpha=[-1.0, -0.5, 0.0, 0.5, 1.0])
    return _fit_with_interval(model, xs, ys, starts, x_ref=x_ref, start=s, n_bootstrap=n_bootstrap, seed=seed)


def fit_curves(
    df: pd.DataFrame,
    by: Sequence[str],
    x: str,
    y: str,
    *,
    n_bootstrap: int,
    seed: int,
    bins_per_decade: float | None = 10.0,
    show_progress: bool = False,
) -> tuple[pd.DataFrame, Array]:
    """:func:`fit_learning_curve` on every curve of ``df`` (one curve per combination of the ``by`` columns).

    Each curve is first averaged in log-x bins (:func:`log_bin`, unless ``bins_per_decade`` is None).
    Curve ``i`` is bootstrapped with seed ``seed + i``. Returns a table (the ``by`` columns, ``exponent``,
    ``lo``, ``hi``, ``coef``, ``floor``, ``x_start``, ``x_end``, ``n_points``, ``n_binned``, and how many of the
    ``n_starts`` starts reached the best objective to within 1e-9, ``starts_at_optimum``) and the
    bootstrap exponents, shape ``(n_bootstrap, n_curves)`` in the table's row order.
    """
    groups = list(df.groupby(list(by), sort=True))
    rows, boots = [], []
    for i, (key, g) in enumerate(progress(groups, desc="fit curves", disable=not show_progress)):
        if bins_per_decade is None:
            xb, yb = g[x].to_numpy(dtype=float), g[y].to_numpy(dtype=float)
        else:
            xb, yb, _ = log_bin(g[x], g[y], bins_per_decade)
        order = np.argsort(xb, kind="stable")
        xb, yb = xb[order], yb[order]
        cf = fit_learning_curve(xb, yb, n_bootstrap=n_bootstrap, seed=seed + i)
        key = key if isinstance(key, tuple) else (key,)
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "exponent": cf.exponent,
                "lo": cf.interval[0],
                "hi": cf.interval[1],
                "coef": cf.coef,
                "floor": cf.floor,
                "x_start": float(xb[cf.start]),
                "x_end": float(xb[-1]),
                "n_points": len(g),
                "n_binned": cf.n_points,
                "starts_at_optimum": cf.result.n_within(1e-9),
                "n_starts": len(cf.result.objectives),
            }
        )
        boots.append(cf.boot_exponents)
    return pd.DataFrame(rows), np.column_stack(boots) if n_bootstrap > 0 else np.empty((0, len(rows)))


def fit_model_size(examples: ArrayLike, params: ArrayLike, *, start: int, n_bootstrap: int, seed: int) -> CurveFit:
    """``s(m) = A (m/m_ref)**beta_p`` (``POWER_LAW``, squared loss in log space) on the best model sizes
    from ``start`` (the learning curve's power-law region) on, skipping best guesses (size 0);
    bootstrap interval for ``beta_p``."""
    m = np.asarray(examples, dtype=float)
    p = np.asarray(params, dtype=float)
    order = np.argsort(m, kind="stable")
    m, p = m[order][start:], p[order][start:]
    keep = p > 0  # a best guess (size 0) has no size to scale
    m, p = m[keep], p[keep]
    m_ref = float(m[0])
    starts = start_grid(log_a=[float(np.log(p[0]))], alpha=[-1.5, -0.75, 0.0, 0.75])
    return _fit_with_interval(
        POWER_LAW, m, p, starts, x_ref=m_ref, start=start, n_bootstrap=n_bootstrap, seed=seed, loss="squared"
    )


@dataclass(frozen=True)
class Fitted:
    """A fitted curve estimator (Alabdulmohsin et al.'s M1-M4, a BNSL): its name, parameters and loss at the
    optimum (sum over the fit points), and the function that predicts from them."""

    method: str
    params: dict[str, float]
    loss: float
    predictor: Callable[..., Array] = field(repr=False, compare=False)

    def predict(self, x: ArrayLike) -> Array:
        """Predicted error at ``x``."""
        return self.predictor(np.asarray(x, dtype=float), **self.params)


def extrapolation_rmse(pred: ArrayLike, y: ArrayLike) -> float:
    """RMSE of the log predictions on held-out points, ``sqrt(mean((log pred - log y)**2))``
    (Alabdulmohsin et al. 2022, Sec. 3; the RMSLE of Caballero et al. 2022). ``inf`` if a prediction is not
    positive and finite."""
    pred, y = np.asarray(pred, dtype=float), np.asarray(y, dtype=float)
    if not np.all(np.isfinite(pred)) or np.any(pred <= 0):
        return float("inf")
    r = np.log(pred) - np.log(y)
    return float(np.sqrt(np.mean(r * r)))
