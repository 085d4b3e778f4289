"""IsoFLOP profiles: Approach 2 of Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models".

Sec. 3.2 of the paper: for each of 9 training budgets ``C_k`` (6e18 ... 3e21 FLOPs) several model
sizes ``N`` are trained for ``D = C_k / (6 N)`` tokens; a parabola in ``log N`` is fitted to the final
losses of each budget, its vertex gives ``N_opt(C_k)``, and power laws ``N_opt = k_N C**a``,
``D_opt = k_D C**b`` are fitted (least squares in log-log) across the budgets.

The public data are the 245 points Epoch AI digitised from the paper's Fig. 4 (left) (Besiroglu
et al. 2024). They mix the IsoFLOP runs with the Approach 1 runs, and the FLOPs read off the x axis
carry a digitisation error of a few hundredths of a decade. **Assignment rule** (:func:`assign_budgets`):
a point belongs to budget ``C_k`` if ``C_k`` is the nearest budget in ``log10 C`` and
``|log10 C - log10 C_k| <= 0.05`` (within a factor ``10**0.05 = 1.12``); other points are left out.
On ``chinchilla_svg_extracted`` this keeps 139 of the 245 points, 9 to 26 per budget. The optimum of
each budget is then placed at the *nominal* budget ``C_k`` (not the digitised FLOPs), and
``D_opt = C_k / (6 N_opt)`` (the paper's ``C = 6 N D``), so ``b = 1 - a`` by construction.

Bootstrap (:func:`bootstrap_exponents`): resample the points *within each budget* with replacement
(``numpy.random.default_rng(seed)``), refit every parabola and the power law. A resample whose
parabola for some budget is not convex (no minimum) is dropped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

__all__ = [
    "BUDGETS_FLOPS",
    "MAX_LOG10_DISTANCE",
    "BootstrapExponents",
    "IsoflopFit",
    "assign_budgets",
    "bootstrap_exponents",
    "fit_isoflop",
    "fit_parabolas",
    "parabola_loss",
    "parabola_vertex_params",
    "power_law_fit",
    "subsample_exponents",
]

BUDGETS_FLOPS: Array = np.array([6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21])
"""The 9 IsoFLOP budgets of Hoffmann et al. 2022 Fig. 3 (left), in FLOPs (Sec. 3.2: "from 6e18 to 3e21")."""

MAX_LOG10_DISTANCE: float = 0.05
"""Largest ``|log10(C / C_k)|`` for a digitised point to count as a run of budget ``C_k``."""


def assign_budgets(
    flops: ArrayLike, budgets_flops: ArrayLike = BUDGETS_FLOPS, max_log10_distance: float = MAX_LOG10_DISTANCE
) -> NDArray[np.int64]:
    """Index of each point's IsoFLOP budget, or ``-1`` if it is on none.

    Rule: the nearest budget in ``log10 C``, kept only if ``|log10 C - log10 C_k| <= max_log10_distance``.
    """
    lc = np.log10(np.asarray(flops, dtype=float))
    lb = np.log10(np.asarray(budgets_flops, dtype=float))
    dist = np.abs(lc[:, None] - lb[None, :])
    k = np.argmin(dist, axis=1)
    near = dist[np.arange(len(lc)), k] <= max_log10_distance
    return np.where(near, k, -1).astype(np.int64)


def fit_parabolas(
    params: ArrayLike, loss: ArrayLike, budget_index: ArrayLike, n_budgets: int, weights: ArrayLike | None = None
) -> Array:
    """Weighted least-squares parabola ``loss = c2 x**2 + c1 x + c0`` with ``x = ln N``, one per budget.

    ``weights`` has shape ``(n_points,)`` or ``(n_resamples, n_points)`` (bootstrap counts). Returns
    coefficients of shape ``(n_budgets, 3)`` or ``(n_resamples, n_budgets, 3)``, ordered ``(c2, c1, c0)``.
    Points with ``budget_index == -1`` are ignored. To keep the normal equations well conditioned, ``x``
    is centred on each budget's mean ``ln N`` internally; the returned coefficients are for raw ``ln N``.
    """
    x_all = np.log(np.asarray(params, dtype=float))
    y_all = np.asarray(loss, dtype=float)
    idx = np.asarray(budget_index)
    w = np.ones_like(x_all) if weights is None else np.asarray(weights, dtype=float)
    single = w.ndim == 1
    w = np.atleast_2d(w)
    out = np.empty((w.shape[0], n_budgets, 3))
    for k in range(n_budgets):
        sel = idx == k
        if sel.sum() < 3:
            raise ValueError(f"budget {k} has {int(sel.sum())} points; a parabola needs at least 3")
        x0 = x_all[sel].mean()
        x, y, wk = x_all[sel] - x0, y_all[sel], w[:, sel]
        basis = np.stack([x * x, x, np.ones_like(x)], axis=-1)  # (n, 3)
        gram = np.einsum("rn,ni,nj->rij", wk, basis, basis)
        rhs = np.einsum("rn,ni,n->ri", wk, basis, y)
        with np.errstate(invalid="ignore", divide="ignore"):
            c2, c1, c0 = np.moveaxis(_solve3(gram, rhs), -1, 0)
        # back to raw x: c2 (x - x0)^2 + c1 (x - x0) + c0
        out[:, k, 0] = c2
        out[:, k, 1] = c1 - 2.0 * c2 * x0
        out[:, k, 2] = c2 * x0 * x0 - c1 * x0 + c0
    return out[0] if single else out


def _solve3(gram: Array, rhs: Array) -> Array:
    """Batched solve; a singular system (too few distinct points in a resample) gives NaN."""
    det = np.linalg.det(gram)
    ok = np.abs(det) > 1e-12 * np.abs(gram).max(axis=(-2, -1)) ** 3
    sol = np.full(rhs.shape, np.nan)
    if ok.any():
        sol[ok] = np.linalg.solve(gram[ok], rhs[ok][..., None])[..., 0]
    return sol


def parabola_vertex_params(coefficients: ArrayLike) -> Array:
    """``N_opt = exp(-c1 / (2 c2))``: the model size at the parabola's minimum (NaN where ``c2 <= 0``)."""
    c = np.asarray(coefficients, dtype=float)
    c2, c1 = c[..., 0], c[..., 1]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return np.where(c2 > 0, np.exp(-c1 / (2.0 * c2)), np.nan)


def parabola_loss(coefficients: ArrayLike, params: ArrayLike) -> Array:
    """Evaluate ``c2 (ln N)**2 + c1 ln N + c0`` for one budget's coefficients."""
    c2, c1, c0 = np.asarray(coefficients, dtype=float)
    x = np.log(np.asarray(params, dtype=float))
    return c2 * x * x + c1 * x + c0


def power_law_fit(x: ArrayLike, y: ArrayLike) -> tuple[Array, Array]:
    """Least squares of ``ln y = ln k + e ln x``; returns ``(k, e)``.

    ``y`` may have a leading batch axis (shape ``(n_resamples, n)``): every row is fitted. This is the
    ordinary least-squares line in log-log that Sec. 3.1-3.2 of Hoffmann et al. 2022 call a power law.
    """
    lx = np.log(np.asarray(x, dtype=float))
    ly = np.log(np.asarray(y, dtype=float))
    xc = lx - lx.mean()
    slope = (ly - ly.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)
    intercept = ly.mean(axis=-1) - slope * lx.mean()
    return np.exp(intercept), slope


@dataclass(frozen=True)
class IsoflopFit:
    """Approach 2 on a set of points: per-budget parabolas and the power laws across budgets."""

    budgets_flops: Array
    coefficients: Array  # (n_budgets, 3): c2, c1, c0 in ln N
    n_points: NDArray[np.int64]  # points per budget
    params_opt: Array  # N_opt per budget
    tokens_opt: Array  # D_opt = C_k / (6 N_opt)
    n_coef: float
    a: float  # N_opt = n_coef * C**a
    d_coef: float
    b: float  # D_opt = d_coef * C**b

    def params_at(self, flops: ArrayLike) -> Array:
        return self.n_coef * np.asarray(flops, dtype=float) ** self.a

    def tokens_at(self, flops: ArrayLike) -> Array:
        return self.d_coef * np.asarray(flops, dtype=float) ** self.b


def fit_isoflop(
    params: ArrayLike,
    loss: ArrayLike,
    budget_index: ArrayLike,
    budgets_flops: ArrayLike = BUDGETS_FLOPS,
    flops_per_param_token: float = 6.0,
) -> IsoflopFit:
    """Approach 2 (Hoffmann et al. 2022, Sec. 3.2): parabola in ``ln N`` per budget, vertex ``N_opt``,
    ``D_opt = C_k / (6 N_opt)``, then least-squares power laws ``N_opt ∝ C**a`` and ``D_opt ∝ C**b``."""
    budgets = np.asarray(budgets_flops, dtype=float)
    idx = np.asarray(budget_index)
    coefs = fit_parabolas(params, loss, idx, len(budgets))
    n_opt = parabola_vertex_params(coefs)
    if np.any(~np.isfinite(n_opt)):
        raise ValueError(f"no minimum (concave parabola) for budgets {budgets[~np.isfinite(n_opt)]}")
    d_opt = budgets / (flops_per_param_token * n_opt)
    k_n, a = power_law_fit(budgets, n_opt)
    k_d, b = power_law_fit(budgets, d_opt)
    counts = np.array([(idx == k).sum() for k in range(len(budgets))], dtype=np.int64)
    return IsoflopFit(budgets, coefs, counts, n_opt, d_opt, float(k_n), float(a), float(k_d), float(b))


@dataclass(frozen=True)
class BootstrapExponents:
    """Exponents ``a`` (and ``b``) of every kept resample, and how many resamples were dropped."""

    a: Array
    b: Array
    n_dropped: int

    def percentiles(self, q: ArrayLike = (10, 90)) -> tuple[Array, Array]:
        return np.percentile(self.a, q), np.percentile(self.b, q)


def bootstrap_exponents(
    params: ArrayLike,
    loss: ArrayLike,
    budget_index: ArrayLike,
    budgets_flops: ArrayLike = BUDGETS_FLOPS,
    *,
    n_resamples: int,
    seed: int,
    flops_per_param_token: float = 6.0,
) -> BootstrapExponents:
    """Refit :func:`fit_isoflop` on ``n_resamples`` resamples drawn with replacement *within each budget*.

    Resamples are integer point weights from ``numpy.random.default_rng(seed)`` (one multinomial draw
    per budget), so identical inputs and seed give identical output. Resamples in which some budget's
    parabola has no minimum are dropped (counted in ``n_dropped``).
    """
    budgets = np.asarray(budgets_flops, dtype=float)
    idx = np.asarray(budget_index)
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_resamples, len(idx)))
    for k in range(len(budgets)):
        members = np.flatnonzero(idx == k)
        counts[:, members] = rng.multinomial(len(members), np.full(len(members), 1.0 / len(members)), size=n_resamples)
    coefs = fit_parabolas(params, loss, idx, len(budgets), weights=counts)
    n_opt = parabola_vertex_params(coefs)  # (n_resamples, n_budgets)
    keep = np.all(np.isfinite(n_opt), axis=1)
    n_opt = n_opt[keep]
    d_opt = budgets / (flops_per_param_token * n_opt)
    _, a = power_law_fit(budgets, n_opt)
    _, b = power_law_fit(budgets, d_opt)
    return BootstrapExponents(a=np.asarray(a), b=np.asarray(b), n_dropped=int((~keep).sum()))


def subsample_exponents(
    params: ArrayLike,
    loss: ArrayLike,
    budget_index: ArrayLike,
    budgets_flops: ArrayLike = BUDGETS_FLOPS,
    *,
    fraction: float = 0.8,
    n_resamples: int = 100,
    seed: int,
    flops_per_param_token: float = 6.0,
) -> BootstrapExponents:
    """The paper's interval procedure (Hoffmann et al. 2022, Table 2 caption: "80% of the dataset is
    sampled 100 times"): refit :func:`fit_isoflop` on ``n_resamples`` subsets of ``round(fraction * n)``
    of the on-budget points drawn without replacement from ``numpy.random.default_rng(seed)``.

    A subset that leaves some budget with fewer than 3 points, or with a parabola without a minimum,
    is dropped and counted in ``n_dropped``.
    """
    if not (isinstance(fraction, float | int) and 0 < fraction <= 1):
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer) or n_resamples < 1:
        raise ValueError(f"n_resamples must be an integer >= 1, got {n_resamples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    budgets = np.asarray(budgets_flops, dtype=float)
    idx = np.asarray(budget_index)
    members = np.flatnonzero(idx >= 0)
    if len(members) < 3 * len(budgets):
        raise ValueError(f"budget_index puts {len(members)} points on budgets; need at least 3 per budget")
    k = round(fraction * len(members))
    rng = np.random.default_rng(seed)
    weights = np.zeros((n_resamples, len(idx)))
    for r in range(n_resamples):
        weights[r, rng.choice(members, size=k, replace=False)] = 1.0
    per_budget = np.stack([(weights[:, idx == j] > 0).sum(axis=1) for j in range(len(budgets))], axis=1)
    coefs = fit_parabolas(params, loss, idx, len(budgets), weights=weights)
    n_opt = parabola_vertex_params(coefs)
    keep = np.all(np.isfinite(n_opt), axis=1) & np.all(per_budget >= 3, axis=1)
    n_opt = n_opt[keep]
    d_opt = budgets / (flops_per_param_token * n_opt)
    _, a = power_law_fit(budgets, n_opt)
    _, b = power_law_fit(budgets, d_opt)
    return BootstrapExponents(a=np.asarray(a), b=np.asarray(b), n_dropped=int((~keep).sum()))
