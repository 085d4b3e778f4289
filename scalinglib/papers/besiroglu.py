"""Statistics for fitted scaling laws: a Huber-density likelihood, bootstrap summaries and tests.

Besiroglu, Erdil, Barnett, You 2024, "Chinchilla Scaling: A replication attempt" (arXiv 2404.10102)
fit Hoffmann et al.'s law by maximum likelihood with Huber-distributed log residuals and a free
scale, test Hoffmann's parameters against their bootstrap distribution with a chi-squared test and
a likelihood-ratio test, and ask how many data points an interval as narrow as Hoffmann's would
need. This module holds those computations as plain functions; the model and the objective
conventions are those of :mod:`scalinglib.fitting`.

The Huber density (Huber 1964, "Robust estimation of a location parameter", the least favourable
distribution of the contaminated normal family) of a residual ``r`` with scale ``sigma`` is

    f(r) = exp(-rho_delta(r / sigma)) / (sigma * Z(delta)),
    Z(delta) = sqrt(2 pi) (2 Phi(delta) - 1) + (2 / delta) exp(-delta**2 / 2),

with ``rho_delta`` the Huber loss of :func:`scalinglib.fitting.huber`. Its negative log-likelihood
for weights ``w_i`` is ``sum_i w_i [rho_delta(r_i / sigma) + log sigma + log Z(delta)]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize, minimize_scalar
from scipy.special import gammaln, log_ndtr
from scipy.stats import chi2 as chi2_dist

from ..fitting import LogModel, bootstrap_counts, huber, minimize_batched

Array = NDArray[np.float64]

__all__ = [
    "BootstrapSummary",
    "LikelihoodFit",
    "bootstrap_huber_likelihood",
    "bootstrap_se_relative_sd",
    "chi2_test",
    "fit_huber_likelihood",
    "fraction_better",
    "huber_log_normaliser",
    "huber_nll",
    "interval_width_normal",
    "likelihood_ratio_test",
    "profile_log_scale",
    "required_sample_size",
    "summarize_bootstrap",
    "tokens_per_param_fixed_exponent",
]


def huber_log_normaliser(delta: float) -> float:
    """``log Z(delta)`` with ``Z = integral of exp(-rho_delta(u)) du = sqrt(2 pi)(2 Phi(delta) - 1) + (2/delta) exp(-delta^2/2)``.

    The first term is the Gaussian core ``|u| <= delta``, the second the two exponential tails.
    """
    if delta <= 0:
        raise ValueError("delta must be positive")
    # 2 Phi(delta) - 1 = 1 - 2 Phi(-delta), computed without cancellation for small delta
    core = np.sqrt(2 * np.pi) * -np.expm1(np.log(2.0) + log_ndtr(-delta))
    tails = 2.0 / delta * np.exp(-0.5 * delta * delta)
    return float(np.log(core + tails))


def _features(model: LogModel, x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, Array]:
    with np.errstate(invalid="ignore", divide="ignore"):
        logy = np.log(np.asarray(y, dtype=float))
    if not np.all(np.isfinite(logy)):
        raise ValueError("y must be positive and finite (residuals are in log space)")
    return model.prepare(np.asarray(x, dtype=float)), logy


def huber_nll(
    model: LogModel,
    theta: ArrayLike,
    log_scale: float,
    x: ArrayLike,
    y: ArrayLike,
    *,
    delta: float = 1e-3,
    weights: ArrayLike | None = None,
) -> float:
    """Negative log-likelihood of the log residuals ``log_pred - log y`` under the Huber density with
    scale ``sigma = exp(log_scale)``: ``sum_i w_i [rho_delta(r_i/sigma) + log sigma + log Z(delta)]``."""
    feats, logy = _features(model, x, y)
    w = np.ones_like(logy) if weights is None else np.asarray(weights, dtype=float)
    r = model.log_predict(np.asarray(theta, dtype=float), feats) - logy
    value, _ = huber(r / np.exp(log_scale), delta)
    return float(w @ value + w.sum() * (log_scale + huber_log_normaliser(delta)))


def _nll_value_grad(model: LogModel, feats: np.ndarray, logy: Array, w: Array, delta: float):
    log_z = huber_log_normaliser(delta)

    def f(p: Array) -> tuple[float, Array]:
        theta, s = p[:-1], p[-1]
        with np.errstate(over="ignore", invalid="ignore"):
            inv_sigma = np.exp(-s)
            r = model.log_predict(theta, feats) - logy
            u = r * inv_sigma
            value, psi = huber(u, delta)
            total = float(w @ value + w.sum() * (s + log_z))
            g_theta = ((w * psi) * inv_sigma) @ model.jacobian(theta, feats)
            g_s = float(w.sum() - (w * psi) @ u)
        return total, np.append(g_theta, g_s)

    return f


@dataclass
class LikelihoodFit:
    """Maximum-likelihood fit under the Huber density: location parameters, scale, and the NLL."""

    model: LogModel
    theta: Array
    log_scale: float
    nll: float
    nit: int
    success: bool
    message: str

    @property
    def scale(self) -> float:
        return float(np.exp(self.log_scale))

    @property
    def params(self) -> dict[str, float]:
        return self.model.as_dict(self.theta)


def profile_log_scale(
    model: LogModel,
    theta: ArrayLike,
    x: ArrayLike,
    y: ArrayLike,
    *,
    delta: float = 1e-3,
    weights: ArrayLike | None = None,
) -> tuple[float, float]:
    """The scale that maximises the Huber likelihood at fixed ``theta``: ``(log_scale, nll)``.

    The NLL is convex in ``log sigma`` (its derivative ``sum w (1 - psi(u) u)`` increases with
    ``sigma``); the minimum lies between the log of the smallest and largest non-zero ``|r|`` divided
    by ``delta`` and by 1, a bracket widened by 5 on each side.
    """
    feats, logy = _features(model, x, y)
    r = np.abs(model.log_predict(np.asarray(theta, dtype=float), feats) - logy)
    r = r[r > 0]
    lo = float(np.log(r.min()) - np.log(max(delta, 1.0)) - 5.0)
    hi = float(np.log(r.max()) - np.log(min(delta, 1.0)) + 5.0)
    res = minimize_scalar(
        lambda s: huber_nll(model, theta, s, x, y, delta=delta, weights=weights),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return float(res.x), float(res.fun)


def fit_huber_likelihood(
    model: LogModel,
    x: ArrayLike,
    y: ArrayLike,
    theta0: ArrayLike,
    *,
    delta: float = 1e-3,
    log_scale0: float | None = None,
    weights: ArrayLike | None = None,
    gtol: float = 1e-10,
    maxiter: int = 10_000,
) -> LikelihoodFit:
    """Maximise the Huber likelihood jointly over ``theta`` and ``log sigma`` with BFGS (analytic
    gradients), from ``theta0`` and (default) the profile-likelihood scale at ``theta0``.

    This is the estimator of Besiroglu et al. 2024 (their point estimates in Table 1 are the
    likelihood fit started at Hoffmann et al.'s parameters). With ``delta = 1e-3`` the density is
    nearly Laplace (the Gaussian core is ``delta * sigma`` wide in ``r``), so the location estimate
    is close to least absolute deviations: several residuals end up at zero and BFGS stops on
    precision loss at that corner, which is the optimum to working precision.
    """
    if model.jacobian is None:
        raise ValueError(f"model {model.name!r} needs an analytic jacobian")
    feats, logy = _features(model, x, y)
    w = np.ones_like(logy) if weights is None else np.asarray(weights, dtype=float)
    theta0 = np.asarray(theta0, dtype=float)
    if log_scale0 is None:
        log_scale0, _ = profile_log_scale(model, theta0, x, y, delta=delta, weights=weights)
    f = _nll_value_grad(model, feats, logy, w, delta)
    res = minimize(f, np.append(theta0, log_scale0), jac=True, method="BFGS", options={"gtol": gtol, "maxiter": maxiter})
    return LikelihoodFit(
        model=model,
        theta=np.asarray(res.x[:-1], dtype=float),
        log_scale=float(res.x[-1]),
        nll=float(res.fun),
        nit=int(res.nit),
        success=bool(res.success),
        message=str(res.message),
    )


def bootstrap_huber_likelihood(
    model: LogModel,
    x: ArrayLike,
    y: ArrayLike,
    theta0: ArrayLike,
    log_scale0: float,
    *,
    n_resamples: int,
    seed: int,
    delta: float = 1e-3,
    maxiter: int = 2000,
    ftol: float = 1e-15,
) -> Array:
    """Refit the Huber likelihood on ``n_resamples`` bootstrap resamples (the same resamples as
    :func:`scalinglib.fitting.bootstrap` with the same ``seed``), all at once with
    :func:`scalinglib.fitting.minimize_batched`, warm-started at ``(theta0, log_scale0)``.

    Returns shape ``(n_resamples, p + 1)``: the location parameters, then ``log sigma``.
    """
    if model.log_predict_vjp is None:
        raise ValueError(f"model {model.name!r} has no log_predict_vjp")
    feats, logy = _features(model, x, y)
    counts = bootstrap_counts(len(logy), n_resamples, seed)
    total_w = counts.sum(axis=1)
    log_z = huber_log_normaliser(delta)
    forward = model.log_predict_vjp

    def value_grad(p: Array, rows: NDArray[np.intp]) -> tuple[Array, Array]:
        w = counts[rows]
        s = p[:, -1:]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            inv_sigma = np.exp(-s)
            pred, vjp = forward(p[:, :-1], feats)
            u = (pred - logy) * inv_sigma
            value, psi = huber(u, delta)
            f = np.einsum("kn,kn->k", value, w) + total_w[rows] * (s[:, 0] + log_z)
            wpsi = w * psi
            g_theta = vjp(wpsi * inv_sigma)
            g_s = total_w[rows] - np.einsum("kn,kn->k", wpsi, u)
        return f, np.concatenate([g_theta, g_s[:, None]], axis=1)

    start = np.append(np.asarray(theta0, dtype=float), log_scale0)
    res = minimize_batched(value_grad, np.repeat(start[None, :], n_resamples, axis=0), maxiter=maxiter, ftol=ftol)
    return res.x


@dataclass
class BootstrapSummary:
    """Standard errors and percentile intervals of bootstrap draws (one column per quantity)."""

    names: tuple[str, ...]
    estimate: Array
    se: Array
    low: Array
    high: Array
    level: float

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {
            n: {"estimate": float(e), "se": float(s), "low": float(lo), "high": float(hi)}
            for n, e, s, lo, hi in zip(self.names, self.estimate, self.se, self.low, self.high, strict=True)
        }


def summarize_bootstrap(
    draws: ArrayLike, estimate: ArrayLike, names: tuple[str, ...], *, level: float = 0.95
) -> BootstrapSummary:
    """Standard error (standard deviation of the draws, ``ddof=1``) and the ``level`` percentile
    interval ``(q_{(1-level)/2}, q_{(1+level)/2})`` of each column of ``draws`` (Efron & Tibshirani
    1993, ch. 6 and 13)."""
    d = np.asarray(draws, dtype=float)
    q = 100 * np.array([(1 - level) / 2, (1 + level) / 2])
    low, high = np.percentile(d, q, axis=0)
    return BootstrapSummary(
        names=tuple(names),
        estimate=np.asarray(estimate, dtype=float),
        se=d.std(axis=0, ddof=1),
        low=low,
        high=high,
        level=level,
    )


def _chi2_logsf(stat: float, df: int) -> float:
    """Natural log of the chi-squared survival function, finite far in the tail: where scipy's
    ``logsf`` underflows, the asymptotic series of the upper incomplete gamma function,
    ``Gamma(s, z) ~ z**(s-1) e**-z (1 + (s-1)/z + (s-1)(s-2)/z**2)`` (Abramowitz & Stegun 6.5.32)."""
    logsf = float(chi2_dist.logsf(stat, df))
    if np.isfinite(logsf):
        return logsf
    s, z = df / 2.0, stat / 2.0
    series = 1.0 + (s - 1.0) / z + (s - 1.0) * (s - 2.0) / z**2
    return float((s - 1.0) * np.log(z) - z - gammaln(s) + np.log(series))


def chi2_test(theta_null: ArrayLike, theta_hat: ArrayLike, cov: ArrayLike) -> tuple[float, float, float]:
    """Wald test of ``theta = theta_null``: ``X2 = d^T cov^-1 d`` with ``d = theta_null - theta_hat``,
    chi-squared with ``len(d)`` degrees of freedom under the null.

    Returns ``(X2, p, log10 p)``; ``log10 p`` stays finite where ``p`` underflows.
    """
    d = np.asarray(theta_null, dtype=float) - np.asarray(theta_hat, dtype=float)
    stat = float(d @ np.linalg.solve(np.asarray(cov, dtype=float), d))
    logsf = _chi2_logsf(stat, d.size)
    return stat, float(np.exp(logsf)), logsf / np.log(10.0)


def likelihood_ratio_test(nll_null: float, nll_alt: float, df: int) -> tuple[float, float, float]:
    """Likelihood-ratio test (Wilks 1938): ``LR = 2 (NLL_null - NLL_alt)``, chi-squared with ``df``
    degrees of freedom when the null (with ``df`` fewer free parameters) is true.

    Returns ``(LR, p, log10 p)``.
    """
    if isinstance(df, bool) or not isinstance(df, (int, np.integer)) or df < 1:
        raise ValueError(f"df must be an integer >= 1 (the number of constraints of the null), got {df!r}")
    if not (np.isfinite(nll_null) and np.isfinite(nll_alt)):
        raise ValueError(f"nll_null and nll_alt must be finite, got {nll_null!r} and {nll_alt!r}")
    if nll_alt > nll_null + 1e-9 * max(1.0, abs(nll_null)):
        raise ValueError(f"nll_alt ({nll_alt!r}) exceeds nll_null ({nll_null!r}): the unconstrained fit "
                         "cannot be worse than the constrained one; was the alternative fitted to its optimum?")
    stat = max(0.0, 2.0 * (float(nll_null) - float(nll_alt)))
    logsf = _chi2_logsf(stat, df)
    return stat, float(np.exp(logsf)), logsf / np.log(10.0)


def interval_width_normal(se: float, level: float) -> float:
    """Width ``2 z_{(1+level)/2} se`` of a normal ``level`` interval (e.g. ``2 * 1.2816 * se`` at 80%)."""
    from scipy.stats import norm

    return float(2.0 * norm.ppf(0.5 + level / 2.0) * se)


def required_sample_size(n_points: float, width: float, target_width: float) -> float:
    """Points needed to shrink an interval of ``width`` (from ``n_points`` points) to ``target_width``,
    if widths shrink like ``1/sqrt(n)``: ``n_points * (width / target_width)**2``
    (Besiroglu et al. 2024, Sec. 4)."""
    return float(n_points * (width / target_width) ** 2)


def fraction_better(residuals_a: ArrayLike, residuals_b: ArrayLike) -> float:
    """Share of points where fit ``a`` has the smaller absolute residual than fit ``b``."""
    ra, rb = np.abs(np.asarray(residuals_a, dtype=float)), np.abs(np.asarray(residuals_b, dtype=float))
    return float(np.mean(ra < rb))


def bootstrap_se_relative_sd(samples: ArrayLike, n_resamples: int, n_resamples_other: int | None = None) -> Array:
    """Monte Carlo error of a bootstrap standard error, relative to the SE, per column of ``samples``.

    An SD estimated from ``R`` independent draws with kurtosis ``kappa`` (``E[(x-mu)^4] / sigma^4``,
    3 for a normal) has relative standard deviation ``sqrt((kappa - 1) / (4 R))`` (the delta method
    on the sample variance, whose variance is ``sigma^4 (kappa - 1) / R``). With ``n_resamples_other``
    the result is the relative SD of the *difference* of two independent SEs from ``n_resamples`` and
    ``n_resamples_other`` draws: ``sqrt((kappa - 1) / 4 * (1 / R1 + 1 / R2))``. ``kappa`` is estimated
    from ``samples`` (rows are draws).
    """
    x = np.asarray(samples, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 4 or not np.all(np.isfinite(x)):
        raise ValueError(f"samples must be finite draws (at least 4 rows), got shape {np.shape(samples)}")
    for name, r in (("n_resamples", n_resamples), ("n_resamples_other", n_resamples_other)):
        if r is not None and (isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 1):
            raise ValueError(f"{name} must be an integer >= 1, got {r!r}")
    c = x - x.mean(axis=0)
    var = (c**2).mean(axis=0)
    if np.any(var <= 0):
        raise ValueError("samples has a column without spread: its SE has no relative error")
    kappa = (c**4).mean(axis=0) / var**2
    inv = 1.0 / n_resamples + (0.0 if n_resamples_other is None else 1.0 / n_resamples_other)
    return np.sqrt((kappa - 1.0) / 4.0 * inv)


def tokens_per_param_fixed_exponent(flops: ArrayLike, g: float, a: float) -> Array:
    """Compute-optimal tokens per parameter with the frontier's exponent fixed at ``a``:
    ``N = G (C/6)^a``, ``D = G^-1 (C/6)^(1-a)``, so ``D/N = G^-2 (C/6)^(1 - 2a)`` (Hoffmann et al. 2022,
    eq. 4, with ``a`` taken from elsewhere). This is how Besiroglu et al.'s notebook draws Hoffmann et al.'s
    policy (``G`` of Hoffmann's fit, ``a`` the midpoint 0.4545 of Hoffmann's Table 2 interval).
    """
    c = np.asarray(flops, dtype=float)
    if not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise ValueError(f"flops must be positive and finite, got {flops!r}")
    if not (np.isfinite(g) and g > 0):
        raise ValueError(f"g must be positive and finite, got {g!r}")
    if not (np.isfinite(a) and 0 < a < 1):
        raise ValueError(f"a must lie in (0, 1), got {a!r}")
    return g**-2.0 * (c / 6.0) ** (1.0 - 2.0 * a)
