"""Repeated sampling: pass@k, coverage curves, and why they follow power laws.

* The unbiased pass@k estimator of Chen et al. 2021 (Codex, arXiv 2107.03374, eq. 1 and Fig. 3):
  with ``n`` samples of which ``c`` are correct, ``pass@k = 1 - C(n-c, k) / C(n, k)``, computed in
  the numerically stable product form.
* The biased plug-in estimator ``1 - (1 - c/n)**k`` that Chen et al. warn against.
* The exponentiated power law of Brown et al. 2024 ("Large Language Monkeys", arXiv 2407.21787,
  Sec. 3): coverage ``c(k) = exp(a * k**b)``.
* The distributional view of Schaeffer et al. 2025 (arXiv 2502.17578): if single-attempt success
  rates ``p ~ Beta(alpha, beta)``, then ``-log pass_D@k ~ Gamma(alpha+beta)/Gamma(beta) * k**(-alpha)``.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, optimize, special

Array = NDArray[np.float64]

__all__ = [
    "beta_failure_at_k",
    "beta_neg_log_pass_at_k",
    "beta_neg_log_pass_at_k_asymptotic",
    "beta_neg_log_pass_at_k_quad",
    "coverage",
    "exp_power_law_coverage",
    "fit_beta_binomial",
    "fit_exp_power_law",
    "fit_loglog_exponent",
    "pass_at_k",
    "pass_at_k_biased",
    "pass_at_k_true",
]

_CHUNK_ELEMENTS = 2_000_000  # bound on the scratch array of the vectorised product


def _counts(name: str, value: ArrayLike, minimum: int) -> NDArray[np.int64]:
    arr = np.asarray(value)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and (not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr))):
        raise ValueError(f"{name} must hold whole numbers")
    out = arr.astype(np.int64)
    if np.any(out < minimum):
        raise ValueError(f"{name} must be >= {minimum}, got min {int(out.min())}")
    return out


def pass_at_k(n: ArrayLike, c: ArrayLike, k: ArrayLike) -> Array:
    """Unbiased pass@k from ``n`` samples with ``c`` correct (Chen et al. 2021, eq. 1).

    ``pass@k = 1 - C(n-c, k) / C(n, k) = 1 - prod_{i=n-c+1}^{n} (1 - k/i)`` (the stable product of
    their Fig. 3). We take the product over the shorter of the two equivalent index ranges,
    ``prod_{j=0}^{m-1} (1 - M/(n-j))`` with ``m = min(c, k)``, ``M = max(c, k)``, so the work is
    ``min(c, k)`` factors per problem. ``n``, ``c``, ``k`` broadcast against each other.

    Edge cases: ``k > n`` raises (pass@k is not estimable from fewer than ``k`` samples);
    ``c = 0`` gives 0; ``c > n - k`` gives 1 (every k-subset holds a correct sample);
    ``k = 1`` gives ``c / n``.
    """
    n_, c_, k_ = np.broadcast_arrays(_counts("n", n, 1), _counts("c", c, 0), _counts("k", k, 1))
    if np.any(c_ > n_):
        raise ValueError("c (correct samples) must not exceed n (samples)")
    if np.any(k_ > n_):
        raise ValueError("k must not exceed n: pass@k cannot be estimated from fewer than k samples")
    shape = n_.shape
    n_, c_, k_ = n_.ravel(), c_.ravel(), k_.ravel()
    out = np.zeros(n_.shape, dtype=float)
    out[n_ - c_ < k_] = 1.0
    todo = np.flatnonzero((c_ > 0) & (n_ - c_ >= k_))
    if todo.size:
        m = np.minimum(c_[todo], k_[todo])
        big = np.maximum(c_[todo], k_[todo]).astype(float)
        nn = n_[todo].astype(float)
        order = np.argsort(m, kind="stable")
        start = 0
        while start < order.size:
            # rows sorted by m: take as many as fit the scratch budget at the largest m among them
            stop = start + 1
            while stop < order.size and (stop - start + 1) * m[order[stop]] <= _CHUNK_ELEMENTS:
                stop += 1
            rows = order[start:stop]
            width = int(m[rows].max())
            j = np.arange(width, dtype=float)[None, :]
            inside = j < m[rows, None]
            j_eff = np.where(inside, j, 0.0)  # past a row's m: a harmless index, zeroed below
            terms = np.where(inside, np.log1p(-big[rows, None] / (nn[rows, None] - j_eff)), 0.0)
            out[todo[rows]] = -np.expm1(terms.sum(axis=1))
            start = stop
    return out.reshape(shape)


def pass_at_k_biased(n: ArrayLike, c: ArrayLike, k: ArrayLike) -> Array:
    """The plug-in estimator ``1 - (1 - c/n)**k`` (biased low for k > 1; Chen et al. 2021, Sec. 2.1).

    Defined for any ``k >= 1``, also ``k > n``: that is part of why it is tempting and wrong.
    """
    n_, c_, k_ = np.broadcast_arrays(_counts("n", n, 1), _counts("c", c, 0), _counts("k", k, 1))
    if np.any(c_ > n_):
        raise ValueError("c (correct samples) must not exceed n (samples)")
    with np.errstate(divide="ignore"):  # c = n: log1p(-1) = -inf, and the answer is exactly 1
        return np.where(c_ == n_, 1.0, -np.expm1(k_ * np.log1p(-c_ / n_)))


def pass_at_k_true(p: ArrayLike, k: ArrayLike) -> Array:
    """The quantity both estimators target: ``1 - (1 - p)**k`` for a single-attempt success rate ``p``."""
    p_ = np.asarray(p, dtype=float)
    if np.any(~np.isfinite(p_)) or np.any((p_ < 0) | (p_ > 1)):
        raise ValueError("p must lie in [0, 1]")
    k_ = _counts("k", k, 1)
    return -np.expm1(k_ * np.log1p(-p_))


def coverage(n: ArrayLike, c: ArrayLike, ks: ArrayLike) -> Array:
    """Aggregate pass@k over problems (Brown et al.'s *coverage*): the mean over problems of the
    unbiased per-problem estimate, for each ``k`` in ``ks``. ``n`` and ``c`` are per-problem arrays."""
    n_, c_ = np.broadcast_arrays(_counts("n", n, 1), _counts("c", c, 0))
    ks_ = _counts("ks", ks, 1).ravel()
    if n_.ndim != 1:
        raise ValueError("n and c must be one-dimensional (one entry per problem)")
    return pass_at_k(n_[None, :], c_[None, :], ks_[:, None]).mean(axis=1)


def _check_beta(alpha: float, beta: float) -> None:
    for name, v in (("alpha", alpha), ("beta", beta)):
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a positive finite number, got {v!r}")


def beta_failure_at_k(k: ArrayLike, alpha: float, beta: float) -> Array:
    """``E[(1-p)**k]`` for ``p ~ Beta(alpha, beta)``: ``B(alpha, beta+k) / B(alpha, beta)`` (exact)."""
    _check_beta(alpha, beta)
    k_ = np.asarray(k, dtype=float)
    if np.any(~np.isfinite(k_)) or np.any(k_ < 0):
        raise ValueError("k must be >= 0")
    return np.exp(special.betaln(alpha, beta + k_) - special.betaln(alpha, beta))


def beta_neg_log_pass_at_k(k: ArrayLike, alpha: float, beta: float) -> Array:
    """Exact ``-log pass_D@k = -log(1 - B(alpha, beta+k)/B(alpha, beta))`` under ``p ~ Beta(alpha, beta)``."""
    return -np.log1p(-beta_failure_at_k(k, alpha, beta))


def beta_neg_log_pass_at_k_asymptotic(k: ArrayLike, alpha: float, beta: float) -> Array:
    """Schaeffer et al. 2025's large-k power law ``Gamma(alpha+beta)/Gamma(beta) * k**(-alpha)``.

    From ``B(alpha, beta+k)/B(alpha, beta) = Gamma(alpha+beta) Gamma(beta+k) / (Gamma(beta) Gamma(alpha+beta+k))``
    and ``Gamma(beta+k)/Gamma(alpha+beta+k) ~ k**(-alpha)``, with ``-log(1 - x) ~ x``.
    """
    _check_beta(alpha, beta)
    k_ = np.asarray(k, dtype=float)
    if np.any(~np.isfinite(k_)) or np.any(k_ <= 0):
        raise ValueError("k must be > 0")
    return np.exp(special.gammaln(alpha + beta) - special.gammaln(beta)) * k_ ** (-alpha)


def beta_neg_log_pass_at_k_quad(k: float, alpha: float, beta: float) -> float:
    """``-log pass_D@k`` by numerical integration of ``pass_D@k = int_0^1 (1 - (1-p)**k) f(p) dp``
    (Schaeffer et al. 2025's integral over the density ``f`` of single-attempt success rates),
    with ``f`` the Beta(alpha, beta) density. The failure term ``int (1-p)**k f(p) dp`` is integrated
    over ``s = log p`` (adaptive quadrature on pieces around ``p = 1/k``, the tail below
    ``e**s_min`` added in closed form), so neither the ``p**(alpha-1)`` singularity nor the narrow
    peak at large ``k`` is missed."""
    _check_beta(alpha, beta)
    if not np.isfinite(k) or k <= 0:
        raise ValueError("k must be > 0")
    log_norm = special.betaln(alpha, beta)

    def integrand(s: float) -> float:  # p = e**s: f(p) dp = p**alpha (1-p)**(beta-1) / B ds
        return float(np.exp(alpha * s + (k + beta - 1.0) * np.log1p(-np.exp(s)) - log_norm)) if s < 0 else 0.0

    # the mass of (1-p)**k f(p) sits near p ~ 1/k: split the log-p axis around s0 = -log k
    s_min = -745.0 / max(alpha, 1e-3) if alpha < 1 else -745.0
    s0 = -np.log(k)
    edges = sorted({s_min, *(float(np.clip(s0 + d, s_min, 0.0)) for d in (-30.0, -8.0, -2.0, 2.0, 8.0)), 0.0})
    failure = np.exp(alpha * s_min - log_norm) / alpha  # the tail below s_min, where 1-p = 1
    for lo, hi in itertools.pairwise(edges):
        if hi > lo:
            failure += integrate.quad(integrand, lo, hi, limit=200, epsabs=0.0, epsrel=1e-12)[0]
    return float(-np.log1p(-failure))


def exp_power_law_coverage(k: ArrayLike, a: float, b: float) -> Array:
    """Brown et al. 2024's exponentiated power law, ``coverage(k) = exp(a * k**b)`` (Sec. 3; a < 0, b < 0)."""
    k_ = np.asarray(k, dtype=float)
    if np.any(~np.isfinite(k_)) or np.any(k_ <= 0):
        raise ValueError("k must be > 0")
    return np.exp(a * k_**b)


def fit_exp_power_law(k: ArrayLike, cov: ArrayLike) -> tuple[float, float]:
    """Fit ``cov = exp(a k**b)`` by least squares on ``log(-log cov) = log(-a) + b log k``
    (a straight line; coverages must lie strictly in (0, 1)). Returns ``(a, b)``."""
    k_ = np.asarray(k, dtype=float)
    c_ = np.asarray(cov, dtype=float)
    if k_.shape != c_.shape or k_.ndim != 1 or k_.size < 2:
        raise ValueError("k and cov must be 1-d arrays of the same length >= 2")
    if np.any(k_ <= 0):
        raise ValueError("k must be > 0")
    if np.any((c_ <= 0) | (c_ >= 1)):
        raise ValueError("cov must lie strictly between 0 and 1")
    slope, intercept = np.polyfit(np.log(k_), np.log(-np.log(c_)), 1)
    return -float(np.exp(intercept)), float(slope)


def fit_loglog_exponent(k: ArrayLike, neg_log_pass: ArrayLike) -> float:
    """The direct estimator Schaeffer et al. compare against: least-squares slope of
    ``log(-log pass_D@k)`` on ``log k``; returns the exponent ``b`` of ``-log pass_D@k ~ a k**(-b)``."""
    k_ = np.asarray(k, dtype=float)
    y = np.asarray(neg_log_pass, dtype=float)
    if k_.shape != y.shape or k_.ndim != 1 or k_.size < 2:
        raise ValueError("k and neg_log_pass must be 1-d arrays of the same length >= 2")
    if np.any(k_ <= 0) or np.any(~np.isfinite(y)) or np.any(y <= 0):
        raise ValueError("k and neg_log_pass must be > 0 (and finite)")
    slope, _ = np.polyfit(np.log(k_), np.log(y), 1)
    return -float(slope)


def _bb_negloglik(theta: Array, n: Array, c: Array) -> float:
    a, b = np.exp(theta)
    return -float(np.sum(special.betaln(c + a, n - c + b) - special.betaln(a, b)))


def _bb_grad(theta: Array, n: Array, c: Array) -> Array:
    a, b = np.exp(theta)
    da = special.digamma(c + a) - special.digamma(n + a + b) - special.digamma(a) + special.digamma(a + b)
    db = special.digamma(n - c + b) - special.digamma(n + a + b) - special.digamma(b) + special.digamma(a + b)
    return -np.array([np.sum(da) * a, np.sum(db) * b])


def _bb_hess(theta: Array, n: Array, c: Array) -> Array:
    a, b = np.exp(theta)
    t = special.polygamma(1, n + a + b)
    t0 = special.polygamma(1, a + b)
    faa = -np.sum(special.polygamma(1, c + a) - t) + n.size * (special.polygamma(1, a) - t0)
    fbb = -np.sum(special.polygamma(1, n - c + b) - t) + n.size * (special.polygamma(1, b) - t0)
    fab = np.sum(t) - n.size * t0
    g = _bb_grad(theta, n, c)  # already d/dtheta = a df/da
    return np.array([[a * a * faa + g[0], a * b * fab], [a * b * fab, b * b * fbb + g[1]]])


def fit_beta_binomial(n: ArrayLike, c: ArrayLike) -> tuple[float, float]:
    """Maximum-likelihood ``(alpha, beta)`` of a beta-binomial: ``c_i ~ Binomial(n_i, p_i)``,
    ``p_i ~ Beta(alpha, beta)``. The distributional estimator of Schaeffer et al. 2025 (Sec. 5), in
    its two-parameter form: the power-law exponent of ``-log pass_D@k`` is then ``alpha``.

    Optimised in ``log alpha, log beta`` by a trust-region Newton method with the analytic gradient
    and Hessian (digamma, trigamma) from a 3 x 3 grid of starts; the smallest objective wins and is
    polished by plain Newton steps (a closed-form 2 x 2 solve) to machine precision."""
    n_, c_ = np.broadcast_arrays(_counts("n", n, 1), _counts("c", c, 0))
    if np.any(c_ > n_):
        raise ValueError("c must not exceed n")
    if n_.ndim != 1 or n_.size < 2:
        raise ValueError("need at least two problems (1-d n and c)")
    if np.all(c_ == 0) or np.all(c_ == n_):
        raise ValueError("c: all problems all-wrong (or all-right): the Beta law is not identifiable")
    nf, cf = n_.astype(float), c_.astype(float)
    best = None
    for la in np.log([0.05, 0.3, 2.0]):
        for lb in np.log([0.5, 3.0, 20.0]):
            res = optimize.minimize(_bb_negloglik, np.array([la, lb]), args=(nf, cf), jac=_bb_grad, hess=_bb_hess,
                                    method="trust-exact", options={"gtol": 1e-10, "maxiter": 200})
            if np.all(np.isfinite(res.x)) and (best is None or res.fun < best.fun):
                best = res
    assert best is not None
    x = best.x.copy()
    for _ in range(20):  # Newton polish to machine precision: another CPU or BLAS lands on the same digits
        g = _bb_grad(x, nf, cf)
        h = _bb_hess(x, nf, cf)
        det = h[0, 0] * h[1, 1] - h[0, 1] * h[1, 0]
        if not (det > 0 and h[0, 0] > 0):
            break
        step = np.array([h[1, 1] * g[0] - h[0, 1] * g[1], h[0, 0] * g[1] - h[1, 0] * g[0]]) / det
        if _bb_negloglik(x - step, nf, cf) > _bb_negloglik(x, nf, cf) + 1e-9 * abs(_bb_negloglik(x, nf, cf)):
            break
        x = x - step
        if np.max(np.abs(step)) < 1e-14:
            break
    return float(np.exp(x[0])), float(np.exp(x[1]))
