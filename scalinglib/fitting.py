"""One fitting engine for every chapter: robust objectives in log space, a grid of starts, L-BFGS.

A law to be fitted is a :class:`LogModel`: it predicts ``log y`` from parameters ``theta`` and
(pre-processed) inputs, and optionally returns the Jacobian so the optimiser gets exact gradients.
The objective is

    J(theta) = sum_i w_i * rho(log_pred_i(theta) - log y_i)

with ``rho`` the Huber loss (Hoffmann et al. 2022, App. D.2) or half the squared error; the sum
is over points (``reduce="sum"``, the default). A *mean* (``reduce="mean"``) shrinks the gradient by
``1/n`` and makes L-BFGS-B stop early on its gradient tolerance: one of the findings of Besiroglu
et al. 2024, "Chinchilla Scaling: A replication attempt", v2.

Bootstrap resamples are expressed as integer weights ``w_i`` (how often point ``i`` was drawn),
which is exactly equivalent to refitting on the resampled points.

Two optimisers reach the same optimum:

* ``method="scipy"``: scipy's L-BFGS-B, one start at a time (any model; bounds allowed);
* ``method="batched"``: :func:`minimize_batched`, an L-BFGS written in numpy that advances *all*
  starts (or all bootstrap resamples) at once, so each iteration costs a few array operations
  instead of thousands of Python calls. It needs a model with ``log_predict_vjp`` (the built-in
  ones have it). The best start is then polished with scipy's L-BFGS-B (``polish=True``), so the
  reported optimum is the one scipy certifies.

``method="auto"`` (the default) picks ``"batched"`` when the model supports it and there are no bounds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from .progress import progress

Array = NDArray[np.float64]
Loss = Literal["huber", "squared"]
Reduce = Literal["sum", "mean"]
Method = Literal["auto", "batched", "scipy"]
# ``value_grad(x, rows) -> (f, g)`` for points ``x`` of shape (k, p) that belong to problems ``rows``.
BatchValueGrad = Callable[[Array, NDArray[np.intp]], tuple[Array, Array]]

__all__ = [
    "LogModel",
    "FitResult",
    "BatchedResult",
    "CHINCHILLA",
    "SATURATING_POWER_LAW",
    "POWER_LAW",
    "huber",
    "objective",
    "start_grid",
    "fit",
    "bootstrap",
    "minimize_batched",
]


@dataclass(frozen=True)
class LogModel:
    """A law in log space.

    ``prepare(x)`` turns raw inputs into features once per fit (e.g. their logs);
    ``log_predict(theta, features)`` returns ``log y_hat`` of shape ``(n,)``;
    ``jacobian(theta, features)``, if given, returns ``d log y_hat / d theta`` of shape ``(n, p)``.
    ``log_predict_vjp(thetas, features)``, if given, takes a *batch* ``thetas`` of shape ``(k, p)``
    and returns ``log y_hat`` of shape ``(k, n)`` and a function ``vjp(u)`` mapping ``u`` of shape
    ``(k, n)`` to ``sum_i u[:, i] * d log y_hat_i / d theta`` of shape ``(k, p)``; it enables the
    batched optimiser.
    """

    name: str
    param_names: tuple[str, ...]
    log_predict: Callable[[Array, Array], Array]
    jacobian: Callable[[Array, Array], Array] | None = None
    prepare: Callable[[Array], Array] = np.log
    log_predict_vjp: Callable[[Array, Array], tuple[Array, Callable[[Array], Array]]] | None = None

    def as_dict(self, theta: ArrayLike) -> dict[str, float]:
        return {k: float(v) for k, v in zip(self.param_names, np.asarray(theta), strict=True)}


# --------------------------------------------------------------------------- built-in laws


def _lse_softmax(terms: Sequence[Array]) -> tuple[Array, list[Array]]:
    """log-sum-exp of a few same-shaped arrays and their softmax weights (stable, elementwise)."""
    m = terms[0]
    for t in terms[1:]:
        m = np.maximum(m, t)
    with np.errstate(invalid="ignore"):
        ex = [np.exp(t - m) for t in terms]
    total = ex[0]
    for e in ex[1:]:
        total = total + e
    return m + np.log(total), [e / total for e in ex]


def _chinchilla_vjp(thetas: Array, logx: Array) -> tuple[Array, Callable[[Array], Array]]:
    th = np.atleast_2d(np.asarray(thetas, dtype=float))
    a, b, e, alpha, beta = (th[:, k : k + 1] for k in range(5))
    log_n, log_d = logx[:, 0], logx[:, 1]
    # LSE(t_n, t_d, e) = e + log(1 + exp(t_n - e) + exp(t_d - e)): two exponentials instead of
    # three, computed in place; rows where an exponent could overflow use the max-shifted form.
    ex_n = np.multiply(-alpha, log_n)
    ex_n += a - e
    ex_d = np.multiply(-beta, log_d)
    ex_d += b - e
    top_n = (a - e)[:, 0] + np.maximum(-alpha[:, 0] * log_n.min(initial=0.0), -alpha[:, 0] * log_n.max(initial=0.0))
    top_d = (b - e)[:, 0] + np.maximum(-beta[:, 0] * log_d.min(initial=0.0), -beta[:, 0] * log_d.max(initial=0.0))
    big = ~(np.maximum(top_n, top_d) < 700.0)
    if big.any():
        z_big = (ex_n[big], ex_d[big])
        ex_n[big], ex_d[big] = -np.inf, -np.inf
    np.exp(ex_n, out=ex_n)
    np.exp(ex_d, out=ex_d)
    inv = ex_n + ex_d
    inv += 1.0
    lse = np.log(inv)
    lse += e
    np.divide(1.0, inv, out=inv)
    if big.any():
        lse_b, (sn_b, sd_b, _) = _lse_softmax([z_big[0], z_big[1], np.zeros_like(z_big[0])])
        lse[big] = lse_b + e[big]
        ex_n[big], ex_d[big], inv[big] = sn_b, sd_b, 1.0
    m_n = np.stack([np.ones_like(log_n), -log_n], axis=-1)
    m_d = np.stack([np.ones_like(log_d), -log_d], axis=-1)

    def vjp(u: Array) -> Array:
        # softmax weights are ex * inv: fold inv into u once
        v = u * inv
        g_n = (v * ex_n) @ m_n
        g_d = (v * ex_d) @ m_d
        g_e = u.sum(axis=1) - g_n[:, 0] - g_d[:, 0]
        return np.stack([g_n[:, 0], g_d[:, 0], g_e, g_n[:, 1], g_d[:, 1]], axis=-1)

    return lse, vjp


def _chinchilla_log_predict(theta: Array, logx: Array) -> Array:
    return _chinchilla_vjp(np.asarray(theta, dtype=float)[None, :], logx)[0][0]


def _chinchilla_jacobian(theta: Array, logx: Array) -> Array:
    a, b, e, alpha, beta = theta
    _, (s_n, s_d, s_e) = _lse_softmax(
        [a - alpha * logx[:, 0], b - beta * logx[:, 1], np.full(logx.shape[0], float(e))]
    )
    return np.stack([s_n, s_d, s_e, -s_n * logx[:, 0], -s_d * logx[:, 1]], axis=-1)


CHINCHILLA = LogModel(
    name="chinchilla",
    param_names=("a", "b", "e", "alpha", "beta"),
    log_predict=_chinchilla_log_predict,
    jacobian=_chinchilla_jacobian,
    log_predict_vjp=_chinchilla_vjp,
)
"""Hoffmann et al. 2022 eq. (2) in the parametrisation of their App. D.2:
``log L = LSE(a - alpha log N, b - beta log D, e)`` with ``A, B, E = exp(a), exp(b), exp(e)``.
Inputs: ``x[:, 0]`` = parameters N, ``x[:, 1]`` = tokens D."""


def _sat_vjp(thetas: Array, logx: Array) -> tuple[Array, Callable[[Array], Array]]:
    th = np.atleast_2d(thetas)
    log_a, alpha, log_inf = (th[:, k : k + 1] for k in range(3))
    t_x = log_a - alpha * logx
    lse, (s_x, s_inf) = _lse_softmax([t_x, np.broadcast_to(log_inf, t_x.shape)])

    def vjp(u: Array) -> Array:
        ux = u * s_x
        return np.stack([ux.sum(axis=1), -(ux @ logx), (u * s_inf).sum(axis=1)], axis=-1)

    return lse, vjp


def _sat_jacobian(theta: Array, logx: Array) -> Array:
    log_a, alpha, log_inf = theta
    _, (s_x, s_inf) = _lse_softmax([log_a - alpha * logx, np.full(logx.shape[0], float(log_inf))])
    return np.stack([s_x, -s_x * logx, s_inf], axis=-1)


SATURATING_POWER_LAW = LogModel(
    name="saturating_power_law",
    param_names=("log_a", "alpha", "log_l_inf"),
    log_predict=lambda theta, logx: _sat_vjp(np.asarray(theta, dtype=float)[None, :], logx)[0][0],
    jacobian=_sat_jacobian,
    log_predict_vjp=_sat_vjp,
)
"""``y = exp(log_a) * x**-alpha + exp(log_l_inf)``: Henighan et al. 2020 eq. (1.1) with
``x0 = exp(log_a / alpha)``, and Hestness et al. 2017's ``alpha * m**beta_g + gamma`` with
``beta_g = -alpha``. Input: a 1-d ``x``."""


def _power_vjp(thetas: Array, logx: Array) -> tuple[Array, Callable[[Array], Array]]:
    th = np.atleast_2d(thetas)
    pred = th[:, :1] - th[:, 1:2] * logx
    return pred, lambda u: np.stack([u.sum(axis=1), -(u @ logx)], axis=-1)


POWER_LAW = LogModel(
    name="power_law",
    param_names=("log_a", "alpha"),
    log_predict=lambda theta, logx: theta[0] - theta[1] * logx,
    jacobian=lambda theta, logx: np.stack([np.ones_like(logx), -logx], axis=-1),
    log_predict_vjp=_power_vjp,
)
"""``y = exp(log_a) * x**-alpha`` (a straight line in log-log). Input: a 1-d ``x``."""


# --------------------------------------------------------------------------- objectives


def huber(r: ArrayLike, delta: float) -> tuple[Array, Array]:
    """Huber loss and its derivative: ``r**2 / 2`` for ``|r| <= delta``, else ``delta * (|r| - delta / 2)``."""
    r = np.asarray(r, dtype=float)
    grad = np.clip(r, -delta, delta)
    value = r - 0.5 * grad
    value *= grad  # = r**2/2 inside, delta*(|r| - delta/2) outside
    return value, grad


def _rho(r: Array, loss: Loss, delta: float) -> tuple[Array, Array]:
    if loss == "huber":
        return huber(r, delta)
    if loss == "squared":
        return 0.5 * r * r, r
    raise ValueError(f"unknown loss {loss!r}: use 'huber' or 'squared'")


def _check_reduce(reduce: str) -> None:
    if reduce not in ("sum", "mean"):
        raise ValueError(f"unknown reduce {reduce!r}: use 'sum' or 'mean'")


def objective(
    model: LogModel,
    theta: ArrayLike,
    x: ArrayLike,
    y: ArrayLike,
    *,
    loss: Loss = "huber",
    delta: float = 1e-3,
    reduce: Reduce = "sum",
    weights: ArrayLike | None = None,
) -> float:
    """The fitted objective ``sum_i w_i rho(log_pred_i - log y_i)`` (divided by ``sum w`` if ``reduce="mean"``)."""
    feats = model.prepare(np.asarray(x, dtype=float))
    value, _ = _make_objective(model, feats, np.log(np.asarray(y, dtype=float)), loss, delta, reduce, weights)(
        np.asarray(theta, dtype=float)
    )
    return value


def _make_objective(
    model: LogModel,
    feats: Array,
    logy: Array,
    loss: Loss,
    delta: float,
    reduce: Reduce,
    weights: ArrayLike | None,
) -> Callable[[Array], tuple[float, Array | None]]:
    _check_reduce(reduce)
    w = np.ones_like(logy) if weights is None else np.asarray(weights, dtype=float)
    scale = 1.0 / w.sum() if reduce == "mean" else 1.0

    def f(theta: Array) -> tuple[float, Array | None]:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            r = model.log_predict(theta, feats) - logy
            value, dr = _rho(r, loss, delta)
            total = scale * float(w @ value)
            if model.jacobian is None:
                return total, None
            return total, scale * ((w * dr) @ model.jacobian(theta, feats))

    return f


def _make_batch_objective(
    model: LogModel,
    feats: Array,
    logy: Array,
    loss: Loss,
    delta: float,
    reduce: Reduce,
    weights: Array,
) -> BatchValueGrad:
    """Batched objective and gradient; ``weights`` has shape ``(n,)`` (shared) or ``(n_problems, n)``."""
    _check_reduce(reduce)
    if model.log_predict_vjp is None:
        raise ValueError(f"model {model.name!r} has no log_predict_vjp: use method='scipy'")
    forward = model.log_predict_vjp
    shared = weights.ndim == 1
    scale = 1.0 / weights.sum(axis=-1) if reduce == "mean" else np.ones(1 if shared else len(weights))

    def value_grad(theta: Array, rows: NDArray[np.intp]) -> tuple[Array, Array]:
        w = weights if shared else weights[rows]
        sc = scale if shared else scale[rows]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            pred, vjp = forward(theta, feats)
            pred -= logy
            value, dr = _rho(pred, loss, delta)
            f = sc * (value @ weights if shared else np.einsum("kn,kn->k", value, w))
            dr *= w
            g = sc[:, None] * vjp(dr)
        return f, g

    return value_grad


# --------------------------------------------------------------------------- batched L-BFGS


@dataclass
class BatchedResult:
    """Outcome of :func:`minimize_batched`, one row per problem."""

    x: Array
    f: Array
    g: Array
    nit: NDArray[np.int_]
    converged: NDArray[np.bool_]
    message: NDArray[np.str_]


def minimize_batched(
    value_grad: BatchValueGrad,
    x0: ArrayLike,
    *,
    maxiter: int = 2000,
    memory: int = 10,
    gtol: float = 1e-12,
    ftol: float = 1e-15,
    max_linesearch: int = 50,
) -> BatchedResult:
    """Minimise many smooth problems at once with L-BFGS (Nocedal & Wright 2006, Alg. 7.4 and 7.5).

    Row ``k`` of ``x0`` (shape ``(S, p)``) starts problem ``k``; ``value_grad(x, rows)`` returns the
    objectives ``(k,)`` and gradients ``(k, p)`` of problems ``rows`` at points ``x``. Each problem
    has its own memory of ``memory`` curvature pairs, its own backtracking Armijo line search
    (sufficient-decrease constant 1e-4, step halving with a safeguarded quadratic interpolation)
    and its own stopping test, scipy's L-BFGS-B rules: ``max|g| <= gtol`` or a relative decrease
    ``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol``. A problem whose line search finds no
    decrease restarts once from steepest descent before it is declared stuck (converged to
    working precision). Only problems still running are evaluated. Deterministic: the result
    depends only on the inputs.
    """
    x = np.array(x0, dtype=float, copy=True)
    if x.ndim != 2:
        raise ValueError("x0 must have shape (n_problems, n_params)")
    n_prob, p = x.shape
    f, g = value_grad(x, np.arange(n_prob))
    f = np.where(np.isfinite(f), f, np.inf)
    g = np.where(np.isfinite(g), g, 0.0)
    # curvature pairs, newest first; rho = 1/(s.y) and rho = 0 marks an empty slot
    s_hist = np.zeros((n_prob, memory, p))
    y_hist = np.zeros((n_prob, memory, p))
    rho_hist = np.zeros((n_prob, memory))
    nit = np.zeros(n_prob, dtype=int)
    done = ~np.isfinite(f) | (np.abs(g).max(axis=1) <= gtol)
    message = np.where(done, np.where(np.isfinite(f), "gradient below gtol", "non-finite objective"), "").astype(object)
    restarted = np.zeros(n_prob, dtype=bool)

    for _ in range(maxiter):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        xa, fa, ga = x[act], f[act], g[act]
        sa, ya, ra = s_hist[act], y_hist[act], rho_hist[act]
        # two-loop recursion (Nocedal & Wright Alg. 7.4); empty slots have rho = 0 and drop out
        q = ga.copy()
        alphas = np.empty((act.size, memory))
        for j in range(memory):
            alphas[:, j] = ra[:, j] * np.einsum("kp,kp->k", sa[:, j], q)
            q -= alphas[:, j, None] * ya[:, j]
        yy = np.einsum("kp,kp->k", ya[:, 0], ya[:, 0])
        has = ra[:, 0] > 0
        gamma = np.where(has, 1.0 / np.where(has, ra[:, 0] * yy, 1.0), 1.0)  # s.y / y.y of the newest pair
        r = gamma[:, None] * q
        for j in range(memory - 1, -1, -1):
            beta = ra[:, j] * np.einsum("kp,kp->k", ya[:, j], r)
            r += (alphas[:, j] - beta)[:, None] * sa[:, j]
        d = -r
        slope = np.einsum("kp,kp->k", ga, d)
        bad = ~(slope < 0) | ~np.all(np.isfinite(d), axis=1)
        if bad.any():  # not a descent direction: forget the memory, use steepest descent
            d[bad] = -ga[bad]
            slope[bad] = -np.einsum("kp,kp->k", ga[bad], ga[bad])
            rho_hist[act[bad]] = 0.0
            has[bad] = False
        # first step after a (re)start has unit length in x (as scipy's L-BFGS-B); then step 1
        step = np.where(has, 1.0, 1.0 / np.maximum(np.linalg.norm(d, axis=1), 1e-300))
        # backtracking Armijo line search, all problems at once
        accepted = np.zeros(act.size, dtype=bool)
        f_new = np.full(act.size, np.inf)
        g_new = np.zeros_like(ga)
        trial = np.arange(act.size)
        for _ls in range(max_linesearch):
            ft, gt = value_grad(xa[trial] + step[trial, None] * d[trial], act[trial])
            ok = np.isfinite(ft) & np.all(np.isfinite(gt), axis=1)
            armijo = ok & (ft <= fa[trial] + 1e-4 * step[trial] * slope[trial])
            acc = trial[armijo]
            accepted[acc] = True
            f_new[acc], g_new[acc] = ft[armijo], gt[armijo]
            if armijo.all():
                break
            rest = ~armijo
            tr = trial[rest]
            # minimiser of the quadratic through phi(0), phi'(0), phi(t), kept in [0.1 t, 0.5 t]
            st, sl = step[tr], slope[tr]
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                t_q = -sl * st * st / (2.0 * (np.where(ok[rest], ft[rest], np.inf) - fa[tr] - sl * st))
            t_q = np.where(np.isfinite(t_q), t_q, 0.5 * st)
            step[tr] = np.clip(t_q, 0.1 * st, 0.5 * st)
            trial = tr
        nit[act] += 1
        # a failed line search restarts once from steepest descent, then the problem is stuck
        failed = ~accepted
        if failed.any():
            again = failed & ~restarted[act] & has
            rho_hist[act[again]] = 0.0
            restarted[act[again]] = True
            stuck = act[failed & ~again]
            done[stuck] = True
            message[stuck] = "no decrease along the search direction (working precision)"
        acc_idx = np.flatnonzero(accepted)
        if acc_idx.size == 0:
            continue
        rows = act[acc_idx]
        s_vec = step[acc_idx, None] * d[acc_idx]
        y_vec = g_new[acc_idx] - ga[acc_idx]
        sy = np.einsum("kp,kp->k", s_vec, y_vec)
        keep = sy > 1e-10 * np.linalg.norm(s_vec, axis=1) * np.linalg.norm(y_vec, axis=1)
        kr = rows[keep]
        s_hist[kr, 1:] = s_hist[kr, :-1]
        y_hist[kr, 1:] = y_hist[kr, :-1]
        rho_hist[kr, 1:] = rho_hist[kr, :-1]
        s_hist[kr, 0] = s_vec[keep]
        y_hist[kr, 0] = y_vec[keep]
        rho_hist[kr, 0] = 1.0 / sy[keep]
        f_old = f[rows]
        x[rows] = xa[acc_idx] + s_vec
        f[rows] = f_new[acc_idx]
        g[rows] = g_new[acc_idx]
        restarted[rows] = False
        small_g = np.abs(g[rows]).max(axis=1) <= gtol
        small_f = (f_old - f[rows]) <= ftol * np.maximum(np.maximum(np.abs(f_old), np.abs(f[rows])), 1.0)
        done[rows[small_g]] = True
        message[rows[small_g]] = "gradient below gtol"
        fin = small_f & ~small_g
        done[rows[fin]] = True
        message[rows[fin]] = "relative reduction of f below ftol"
    message[~done] = "maximum number of iterations reached"
    return BatchedResult(x=x, f=f, g=g, nit=nit, converged=done.copy(), message=message.astype(str))


# --------------------------------------------------------------------------- fit


@dataclass
class FitResult:
    """Outcome of :func:`fit`: the best start's optimum and what every start reached."""

    model: LogModel
    theta: Array
    objective: float
    success: bool
    nit: int
    message: str
    start_index: int
    objectives: Array = field(repr=False)
    thetas: Array = field(repr=False)
    nits: Array = field(repr=False)

    @property
    def params(self) -> dict[str, float]:
        return self.model.as_dict(self.theta)

    def n_within(self, tol: float = 1e-9) -> int:
        """How many starts reached an objective within ``tol`` of the best."""
        return int(np.sum(self.objectives <= self.objective + tol))


def start_grid(**axes: Sequence[float]) -> Array:
    """Cartesian product of per-parameter start values, in the order the axes are given.

    ``start_grid(a=[0, 5], alpha=[0, 0.5])`` -> array of shape ``(4, 2)``.
    """
    return np.array(list(itertools.product(*axes.values())), dtype=float)


def _resolve_method(model: LogModel, method: Method, bounds: object) -> str:
    if method not in ("auto", "batched", "scipy"):
        raise ValueError(f"unknown method {method!r}: use 'auto', 'batched' or 'scipy'")
    if method == "batched":
        if model.log_predict_vjp is None:
            raise ValueError(f"model {model.name!r} has no log_predict_vjp; use method='scipy'")
        if bounds is not None:
            raise ValueError("the batched optimiser takes no bounds; use method='scipy'")
        return "batched"
    if method == "auto" and model.log_predict_vjp is not None and bounds is None:
        return "batched"
    return "scipy"


def _scipy_one(fun: Callable, start: Array, use_jac: bool, bounds: object, options: dict) -> object:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return minimize(fun, start, jac=use_jac, method="L-BFGS-B", bounds=bounds, options=options)


def _check_data(
    model: LogModel, x: ArrayLike, y: ArrayLike, *, weights: ArrayLike | None, loss: str, delta: float
) -> tuple[object, Array]:
    """The guards every fit and bootstrap share: finite x, positive finite y of the same length, at least
    as many points (with positive weight) as parameters, non-negative finite weights, a positive delta."""
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if ya.ndim != 1 or len(ya) == 0:
        raise ValueError(f"y must be a non-empty 1-d array, got shape {ya.shape}")
    if xa.shape[:1] != ya.shape:
        raise ValueError(f"x and y must have the same number of points, got {xa.shape[:1]} and {ya.shape}")
    if not np.all(np.isfinite(xa)):
        raise ValueError("x must be finite (no NaN or inf)")
    if not np.all(np.isfinite(ya)) or np.any(ya <= 0):
        raise ValueError("y must be positive and finite (the objective is in log space)")
    n_used = len(ya)
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        if w.shape != ya.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite, non-negative and one per point")
        n_used = int(np.count_nonzero(w))
    if n_used < len(model.param_names):
        raise ValueError(f"x, y: {n_used} points (with positive weight) cannot determine the "
                         f"{len(model.param_names)} parameters {model.param_names}")
    if loss == "huber" and (not np.isfinite(delta) or delta <= 0):
        raise ValueError(f"delta must be a positive finite number, got {delta!r}")
    with np.errstate(invalid="ignore", divide="ignore"):
        feats = model.prepare(xa)
    try:
        finite = bool(np.all(np.isfinite(np.asarray(feats, dtype=float))))
    except (TypeError, ValueError):  # a model whose features are not one array checks its own inputs
        finite = True
    if not finite:
        raise ValueError(f"x: {model.name} takes logs of x, so x must be positive")
    return feats, np.log(ya)


def _check_reached(objs: Array, model: LogModel) -> None:
    if not np.any(np.isfinite(objs)):
        raise RuntimeError(f"fit {model.name}: no start reached a finite objective; try other starts")


def fit(
    model: LogModel,
    x: ArrayLike,
    y: ArrayLike,
    starts: ArrayLike,
    *,
    loss: Loss = "huber",
    delta: float = 1e-3,
    reduce: Reduce = "sum",
    weights: ArrayLike | None = None,
    bounds: Sequence[tuple[float | None, float | None]] | None = None,
    maxiter: int = 1000,
    ftol: float = 1e-15,
    gtol: float = 1e-12,
    show_progress: bool = False,
    method: Method = "auto",
    polish: bool = True,
) -> FitResult:
    """Minimise the log-space objective from every start; keep the best.

    ``starts`` has shape ``(n_starts, p)`` (see :func:`start_grid`). Ties are broken by the
    lowest start index, so the result does not depend on anything but the inputs.
    Tolerances default to tight values so each start runs to the optimum, not just "converges".

    ``method="scipy"`` runs scipy's L-BFGS-B from each start in turn (``maxiter``, ``ftol`` and
    ``gtol`` are its options). ``method="batched"`` runs :func:`minimize_batched` on all starts at
    once with the same stopping rules, then (``polish=True``) restarts scipy's L-BFGS-B from the
    best point and keeps its answer if it is not worse; ``nit`` then counts both runs.
    """
    feats, logy = _check_data(model, x, y, weights=weights, loss=loss, delta=delta)
    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    if starts.ndim != 2 or starts.shape[1] != len(model.param_names) or len(starts) == 0:
        raise ValueError(
            f"starts: each start needs {len(model.param_names)} values {model.param_names}, got shape {starts.shape}"
        )
    if not np.all(np.isfinite(starts)):
        raise ValueError("starts: every start must be finite")
    if not isinstance(maxiter, (int, np.integer)) or maxiter < 1:
        raise ValueError(f"maxiter must be an integer >= 1, got {maxiter!r}")
    _check_reduce(reduce)
    f = _make_objective(model, feats, logy, loss, delta, reduce, weights)
    use_jac = model.jacobian is not None
    fun = f if use_jac else (lambda th: f(th)[0])
    options = {"maxiter": maxiter, "ftol": ftol, "gtol": gtol, "maxls": 50}
    how = _resolve_method(model, method, bounds)

    if how == "batched":
        w = np.ones_like(logy) if weights is None else np.asarray(weights, dtype=float)
        vg = _make_batch_objective(model, feats, logy, loss, delta, reduce, w)
        res_b = minimize_batched(vg, starts, maxiter=maxiter, gtol=gtol, ftol=ftol)
        objs = np.where(np.isfinite(res_b.f), res_b.f, np.inf)
        thetas = res_b.x
        nits = res_b.nit.astype(int)
        best = int(np.argmin(objs))
        _check_reached(objs, model)
        theta, obj = thetas[best].copy(), float(objs[best])
        success, nit, message = bool(res_b.converged[best]), int(nits[best]), str(res_b.message[best])
        if polish:
            res = _scipy_one(fun, theta, use_jac, None, options)
            if np.isfinite(res.fun) and res.fun <= obj:
                theta, obj = np.asarray(res.x, dtype=float), float(res.fun)
                objs = objs.copy()
                objs[best] = obj
                thetas = thetas.copy()
                thetas[best] = theta
            success, nit, message = bool(res.success), nit + int(res.nit), f"polished: {res.message}"
        return FitResult(
            model=model,
            theta=theta,
            objective=obj,
            success=success,
            nit=nit,
            message=message,
            start_index=best,
            objectives=objs,
            thetas=thetas,
            nits=nits,
        )

    objs = np.empty(len(starts))
    thetas = np.empty_like(starts)
    nits = np.zeros(len(starts), dtype=int)
    results = []
    for i, s in enumerate(progress(starts, desc=f"fit {model.name}", disable=not show_progress)):
        res = _scipy_one(fun, s, use_jac, bounds, options)
        objs[i] = res.fun if np.isfinite(res.fun) else np.inf
        thetas[i] = res.x
        nits[i] = res.nit
        results.append(res)
    best = int(np.argmin(objs))
    _check_reached(objs, model)
    res = results[best]
    return FitResult(
        model=model,
        theta=thetas[best].copy(),
        objective=float(objs[best]),
        success=bool(res.success),
        nit=int(res.nit),
        message=str(res.message),
        start_index=best,
        objectives=objs,
        thetas=thetas,
        nits=nits,
    )


def bootstrap_counts(n_points: int, n_resamples: int, seed: int) -> Array:
    """Point multiplicities of ``n_resamples`` bootstrap resamples: row ``k`` counts how often each of
    the ``n_points`` points was drawn (``numpy.random.default_rng(seed).multinomial``)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_points, np.full(n_points, 1.0 / n_points), size=n_resamples).astype(float)


def bootstrap(
    model: LogModel,
    x: ArrayLike,
    y: ArrayLike,
    theta0: ArrayLike,
    *,
    n_resamples: int,
    seed: int,
    show_progress: bool = False,
    **fit_kwargs: object,
) -> Array:
    """Refit on ``n_resamples`` bootstrap resamples of the points (with replacement), warm-started.

    Resample ``k`` draws ``n`` points uniformly with replacement using ``numpy.random.default_rng(seed)``
    (see :func:`bootstrap_counts`) and is fitted from ``theta0`` (normally the full-data optimum) as
    integer point weights. With a model that has ``log_predict_vjp`` (and no ``bounds``) all resamples
    are fitted together by :func:`minimize_batched`; otherwise one at a time with scipy's L-BFGS-B
    (``method="scipy"`` forces this). Returns an array of shape ``(n_resamples, p)``. Identical
    inputs and seed give identical output.
    """
    kw = dict(fit_kwargs)
    _check_data(model, x, y, weights=None, loss=str(kw.get("loss", "huber")), delta=float(kw.get("delta", 1e-3)))
    y = np.asarray(y, dtype=float)
    n = len(y)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples must be an integer >= 1, got {n_resamples!r}")
    theta0 = np.asarray(theta0, dtype=float)
    if theta0.shape != (len(model.param_names),) or not np.all(np.isfinite(theta0)):
        raise ValueError(f"theta0 must be {len(model.param_names)} finite values {model.param_names}, got {theta0!r}")
    counts = bootstrap_counts(n, n_resamples, seed)
    method = kw.pop("method", "auto")
    kw.pop("polish", None)
    how = _resolve_method(model, method, kw.get("bounds"))  # type: ignore[arg-type]
    if how == "batched":
        feats = model.prepare(np.asarray(x, dtype=float))
        logy = np.log(y)
        vg = _make_batch_objective(
            model,
            feats,
            logy,
            kw.get("loss", "huber"),  # type: ignore[arg-type]
            float(kw.get("delta", 1e-3)),  # type: ignore[arg-type]
            kw.get("reduce", "sum"),  # type: ignore[arg-type]
            counts,
        )
        res = minimize_batched(
            vg,
            np.repeat(theta0[None, :], n_resamples, axis=0),
            maxiter=int(kw.get("maxiter", 1000)),  # type: ignore[arg-type]
            gtol=float(kw.get("gtol", 1e-12)),  # type: ignore[arg-type]
            ftol=float(kw.get("ftol", 1e-15)),  # type: ignore[arg-type]
        )
        return res.x
    out = np.empty((n_resamples, len(model.param_names)))
    for k in progress(range(n_resamples), desc="bootstrap", disable=not show_progress):
        out[k] = fit(model, x, y, theta0[None, :], weights=counts[k], method="scipy", **kw).theta  # type: ignore[arg-type]
    return out
