"""Henighan et al. 2020, Kaplan et al. 2020 and GPT-3: the pre-Chinchilla power laws, their internal
consistency, the Kaplan-Chinchilla discrepancy (Pearce & Song 2024) and a laptop compute frontier.

Closed forms are Kaplan et al. 2020, "Scaling Laws for Neural Language Models" (arXiv 2001.08361),
unless a docstring says otherwise. Units: ``params`` = non-embedding parameters (Kaplan's N),
``pf_days`` = compute in petaflop-days (1 PF-day = 8.64e19 FLOPs), loss in nats per token.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq, minimize_scalar

from ..allocation import ChinchillaLaw

Array = NDArray[np.float64]

__all__ = [
    "PF_DAY_FLOPS",
    "pf_days_to_flops",
    "flops_to_pf_days",
    "pure_power_law_loss",
    "kaplan_loss_params_steps",
    "doubling_factor",
    "predicted_alpha_c_min",
    "critical_batch_tokens",
    "bcrit_doubling_loss_decrease",
    "overfitting_data_rule",
    "excess_compute_ratio",
    "size_band_for_excess_compute",
    "henighan_data_exponents",
    "henighan_loss",
    "n_opt_params",
    "law_coefficient",
    "per_item_reducible_x0",
    "compute_of_data_law",
    "convergence_comparison",
    "contradiction_point",
    "pearce_gamma",
    "total_params",
    "fit_embedding_gamma",
    "nonembedding_frontier_flops",
    "nonembedding_local_exponent",
    "nonembedding_optimum_numeric",
    "loglog_slope_fit",
    "MlpStudy",
    "mlp_params",
    "train_mlp_curve",
    "run_lab",
    "lower_envelope",
    "compare_lab_runs",
]

PF_DAY_FLOPS = 8.64e19
"""One petaflop-day: 1e15 FLOP/s for 86,400 s (Kaplan et al. 2020, Sec. 1.3; Henighan et al. 2020, Sec. 2)."""


def _pos(x: ArrayLike, name: str) -> Array:
    a = np.asarray(x, dtype=float)
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{name} must be positive and finite")
    return a


def _pos_scalar(x: float, name: str) -> float:
    if not np.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {x!r}")
    return float(x)


def pf_days_to_flops(pf_days: ArrayLike) -> Array:
    """``C[FLOPs] = 8.64e19 * C[PF-days]``."""
    return _pos(pf_days, "pf_days") * PF_DAY_FLOPS


def flops_to_pf_days(flops: ArrayLike) -> Array:
    """``C[PF-days] = C[FLOPs] / 8.64e19``."""
    return _pos(flops, "flops") / PF_DAY_FLOPS


def pure_power_law_loss(x: ArrayLike, x_c: float, alpha: float) -> Array:
    """Kaplan et al. 2020, eqs. (1.1)-(1.3): ``L(X) = (X_c / X)**alpha_X`` for X = N, D or C_min."""
    _pos_scalar(x_c, "x_c")
    _pos_scalar(alpha, "alpha")
    return (x_c / _pos(x, "x")) ** alpha


def kaplan_loss_params_steps(
    params: ArrayLike, steps: ArrayLike, n_c: float, alpha_n: float, s_c: float, alpha_s: float
) -> Array:
    """Kaplan et al. 2020, eq. (1.6): ``L(N, S_min) = (N_c/N)**alpha_N + (S_c/S_min)**alpha_S``."""
    for v, n in ((n_c, "n_c"), (alpha_n, "alpha_n"), (s_c, "s_c"), (alpha_s, "alpha_s")):
        _pos_scalar(v, n)
    return (n_c / _pos(params, "params")) ** alpha_n + (s_c / _pos(steps, "steps")) ** alpha_s


def doubling_factor(alpha: float) -> float:
    """Loss ratio for doubling the resource of a pure power law: ``L(2X)/L(X) = 2**-alpha``."""
    return float(2.0 ** -_pos_scalar(alpha, "alpha"))


def predicted_alpha_c_min(alpha_s: float, alpha_b: float, alpha_n: float) -> float:
    """Kaplan et al. 2020, eq. (6.4) / (B.7): ``alpha_C^min = 1 / (1/alpha_S + 1/alpha_B + 1/alpha_N)``."""
    for v, n in ((alpha_s, "alpha_s"), (alpha_b, "alpha_b"), (alpha_n, "alpha_n")):
        _pos_scalar(v, n)
    return 1.0 / (1.0 / alpha_s + 1.0 / alpha_b + 1.0 / alpha_n)


def critical_batch_tokens(loss: ArrayLike, b_star: float, alpha_b: float) -> Array:
    """Kaplan et al. 2020, eq. (1.4): ``B_crit(L) = B_* / L**(1/alpha_B)`` tokens."""
    _pos_scalar(b_star, "b_star")
    _pos_scalar(alpha_b, "alpha_b")
    return b_star / _pos(loss, "loss") ** (1.0 / alpha_b)


def bcrit_doubling_loss_decrease(alpha_b: float) -> float:
    """Fractional loss decrease over which ``B_crit`` doubles: ``1 - 2**-alpha_B`` (from eq. 1.4)."""
    return 1.0 - doubling_factor(alpha_b)


def overfitting_data_rule(
    n_c: float, d_c: float, alpha_n: float, alpha_d: float, penalty: float = 0.02
) -> tuple[float, float]:
    """Data needed to keep the overfitting penalty below ``penalty`` (Kaplan et al. 2020, Sec. 4.2, eq. 4.4).

    From eq. (1.5), ``L(N, D) / L(N, inf) = (1 + (N/N_c)**(alpha_N/alpha_D) * D_c / D)**alpha_D``; setting
    it to ``1 + penalty`` gives ``D = k N**(alpha_N/alpha_D)`` with
    ``k = D_c / (N_c**(alpha_N/alpha_D) * ((1 + penalty)**(1/alpha_D) - 1))``. Returns ``(k, alpha_N/alpha_D)``.
    """
    for v, n in ((n_c, "n_c"), (d_c, "d_c"), (alpha_n, "alpha_n"), (alpha_d, "alpha_d"), (penalty, "penalty")):
        _pos_scalar(v, n)
    expo = alpha_n / alpha_d
    x = (1.0 + penalty) ** (1.0 / alpha_d) - 1.0
    return float(d_c / (n_c**expo * x)), float(expo)


def excess_compute_ratio(size_ratio: ArrayLike, alpha_n: float, alpha_s: float) -> Array:
    """Compute to reach a fixed loss with ``N = k N_eff``, relative to the compute-efficient size
    (Kaplan et al. 2020, App. B.4, from eq. 1.6 at fixed batch):
    ``C/C_eff = k * (1 + (alpha_S/alpha_N) (1 - k**-alpha_N))**(-1/alpha_S)``; ``inf`` where the
    model is too small ever to reach the loss."""
    _pos_scalar(alpha_n, "alpha_n")
    _pos_scalar(alpha_s, "alpha_s")
    k = _pos(size_ratio, "size_ratio")
    inner = 1.0 + (alpha_s / alpha_n) * (1.0 - k ** (-alpha_n))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(inner > 0, k * np.abs(inner) ** (-1.0 / alpha_s), np.inf)
    return out


def size_band_for_excess_compute(excess: float, alpha_n: float, alpha_s: float) -> tuple[float, float]:
    """The model sizes ``(k_lo, k_hi)`` (relative to ``N_eff``) at which reaching the loss costs
    ``1 + excess`` times the compute-efficient budget (roots of :func:`excess_compute_ratio`)."""
    _pos_scalar(excess, "excess")
    k_min = (1.0 + alpha_n / alpha_s) ** (-1.0 / alpha_n) * (1 + 1e-12)  # below: never reaches the loss

    def f(log_k: float) -> float:
        return float(np.log(excess_compute_ratio(np.exp(log_k), alpha_n, alpha_s)[()]) - np.log1p(excess))

    lo = brentq(f, np.log(k_min), 0.0, xtol=1e-14, rtol=1e-14)
    hi = brentq(f, 0.0, 50.0, xtol=1e-14, rtol=1e-14)
    return float(np.exp(lo)), float(np.exp(hi))


def convergence_comparison(
    alpha_n: float, alpha_s: float, f_slow: float = 0.02, f_fast: float | None = None
) -> dict[str, float]:
    """Compute-efficient training against training "near convergence" (Kaplan et al. 2020, App. B.3,
    eqs. B.12-B.14), at a fixed loss under eq. (1.6).

    A run stopped at ``L = (1 + f) L(N, inf)`` has ``N ∝ (1 + f)**(1/alpha_N)`` and
    ``S ∝ (1 + 1/f)**(1/alpha_S)``. Compute-efficient training has ``f = alpha_N/alpha_S`` (``f_fast``, default);
    "near convergence" is ``f_slow`` (the paper's 2%). Returns the ratios (efficient / near-convergence) of
    parameters, steps and compute ``C ∝ N S``, and ``f_fast``."""
    _pos_scalar(alpha_n, "alpha_n")
    _pos_scalar(alpha_s, "alpha_s")
    _pos_scalar(f_slow, "f_slow")
    f = alpha_n / alpha_s if f_fast is None else _pos_scalar(f_fast, "f_fast")
    params = ((1.0 + f) / (1.0 + f_slow)) ** (1.0 / alpha_n)
    steps = ((1.0 + 1.0 / f) / (1.0 + 1.0 / f_slow)) ** (1.0 / alpha_s)
    return {"params_ratio": params, "steps_ratio": steps, "compute_ratio": params * steps, "f_fast": f}


def henighan_data_exponents(beta: ArrayLike) -> tuple[Array, Array]:
    """Henighan et al. 2020, Sec. 1 / 6: with ``N_opt ∝ C**beta`` and ``C ∝ N D``,
    ``D ∝ C**(1 - beta) ∝ N**((1 - beta)/beta)``. Returns ``(1 - beta, (1 - beta)/beta)``."""
    b = _pos(beta, "beta")
    if np.any(b >= 1):
        raise ValueError("beta must be below 1 (data must grow with compute)")
    return 1.0 - b, (1.0 - b) / b


def henighan_loss(x: ArrayLike, x0: float, alpha: float, l_inf: float = 0.0) -> Array:
    """Henighan et al. 2020, eq. (1.1): ``L(x) = L_inf + (x/x0)**-alpha`` (nats per token; ``x`` is N or C in
    PF-days). ``l_inf = 0`` is a pure power law (their language rows); ``L - L_inf`` is the reducible loss."""
    xs = _pos(x, "x")
    _pos_scalar(x0, "x0")
    _pos_scalar(alpha, "alpha")
    if not np.isfinite(l_inf) or l_inf < 0:
        raise ValueError(f"l_inf must be a finite number >= 0, got {l_inf!r}")
    return l_inf + (xs / x0) ** (-alpha)


def n_opt_params(pf_days: ArrayLike, x0: float, beta: float) -> Array:
    """Henighan et al. 2020, Table 1: the compute-optimal model size ``N_opt(C) = (C/x0)**beta``, C in PF-days."""
    c = _pos(pf_days, "pf_days")
    _pos_scalar(x0, "x0")
    _pos_scalar(beta, "beta")
    return (c / x0) ** beta


def law_coefficient(x0: float, exponent: float) -> float:
    """The coefficient ``k`` of a law written ``(x/x0)**e`` as ``k x**e``: ``k = x0**-e``. For GPT-3's Fig. 3.1,
    ``L = (C/3.47e8)**-0.048 = 2.57 C**-0.048``; for Kaplan's ``N_opt = (C/3.3e-13)**0.73 = 1.3e9 C**0.73``."""
    _pos_scalar(x0, "x0")
    if not np.isfinite(exponent) or exponent == 0:
        raise ValueError(f"exponent must be a finite non-zero number, got {exponent!r}")
    return float(np.exp(-exponent * np.log(x0)))


def per_item_reducible_x0(x0: ArrayLike, alpha: ArrayLike, tokens: ArrayLike) -> Array:
    """Henighan et al. 2020, Table 3 from Table 1: a per-token reducible loss ``(C/x0)**-alpha`` summed over
    ``tokens`` tokens of an image is ``tokens (C/x0)**-alpha = (C/X0)**-alpha`` with ``X0 = x0 tokens**(1/alpha)``,
    the compute at which the reducible loss is 1 nat per image."""
    x, a, t = _pos(x0, "x0"), _pos(alpha, "alpha"), _pos(tokens, "tokens")
    return np.exp(np.log(x) + np.log(t) / a)


def compute_of_data_law(coefficient: float, beta: float, flops_per_param_token: float = 6.0) -> tuple[float, float]:
    """Henighan et al. 2020, Sec. 6: from ``N_opt = k C**beta`` (C in PF-days) and ``C = 6 D N`` (C in FLOPs),
    the compute whose optimal run processes ``D`` tokens: ``C(D) = K D**e`` with ``e = 1/(1 - beta)`` and
    ``K = (6 k / 8.64e19)**e`` (PF-days). Returns ``(K, e)``."""
    _pos_scalar(coefficient, "coefficient")
    _pos_scalar(beta, "beta")
    _pos_scalar(flops_per_param_token, "flops_per_param_token")
    if beta >= 1:
        raise ValueError("beta must be below 1 (data must grow with compute)")
    e = 1.0 / (1.0 - beta)
    return float(np.exp(e * np.log(flops_per_param_token * coefficient / PF_DAY_FLOPS))), e


def contradiction_point(
    c_c: float, alpha_c: float, d_c: float, alpha_d: float, n_e: float, n_exp: float, flops_per_param_token: float = 6.0
) -> dict[str, float]:
    """Kaplan et al. 2020, Sec. 6.3, eq. (6.8): where the compute-efficient frontier
    ``L(C_min) = (C_c/C)**alpha_C`` meets the data bound ``L(D) = (D_c/D)**alpha_D``, with the data a
    compute-efficient run processes, ``D(C) = C[FLOPs] / (6 N_opt(C))`` and ``N_opt = N_e C[PF-days]**n_exp``.

    Returns ``C*`` (PF-days), ``N*``, ``D*`` (tokens) and ``L*`` (nats/token)."""
    for v, n in ((c_c, "c_c"), (alpha_c, "alpha_c"), (d_c, "d_c"), (alpha_d, "alpha_d"), (n_e, "n_e"),
                 (n_exp, "n_exp"), (flops_per_param_token, "flops_per_param_token")):
        _pos_scalar(v, n)
    if n_exp >= 1:
        raise ValueError("n_exp must be below 1 (data must grow with compute)")

    def log_d(log_c: float) -> float:
        return np.log(PF_DAY_FLOPS / (flops_per_param_token * n_e)) + (1.0 - n_exp) * log_c

    def gap(log_c: float) -> float:  # log L(C) - log L(D(C))
        return alpha_c * (np.log(c_c) - log_c) - alpha_d * (np.log(d_c) - log_d(log_c))

    log_c = brentq(gap, -60.0, 120.0, xtol=1e-14, rtol=1e-15)
    c = float(np.exp(log_c))
    return {
        "pf_days": c,
        "params": float(n_e * c**n_exp),
        "tokens": float(np.exp(log_d(log_c))),
        "loss": float((c_c / c) ** alpha_c),
    }


# --------------------------------------------------------------------------- Pearce & Song 2024


def pearce_gamma(vocab: float, aspect_ratio: float) -> float:
    """Pearce & Song 2024, Sec. 2: ``N_T = N_\\E + gamma N_\\E**(1/3)``, ``gamma = V (A/12)**(1/3)`` for a
    transformer of width ``d = A * n_layer`` (``N_\\E = 12 n_layer d**2``) with ``V d`` embedding parameters."""
    return float(_pos_scalar(vocab, "vocab") * (_pos_scalar(aspect_ratio, "aspect_ratio") / 12.0) ** (1.0 / 3.0))


def total_params(params: ArrayLike, gamma: float) -> Array:
    """Total parameters from non-embedding ones: ``N_T = N_\\E + gamma N_\\E**(1/3)`` (Pearce & Song 2024)."""
    _pos_scalar(gamma, "gamma")
    n = _pos(params, "params")
    return n + gamma * np.cbrt(n)


def fit_embedding_gamma(total: ArrayLike, nonembedding: ArrayLike) -> float:
    """Least-squares ``gamma`` of ``N_T = N_\\E + gamma N_\\E**(1/3)`` in log space (Pearce & Song 2024's
    relation, fitted to model configurations): minimises ``sum (log(N_\\E + gamma N_\\E**(1/3)) - log N_T)**2``."""
    nt, ne = _pos(total, "total"), _pos(nonembedding, "nonembedding")
    if nt.shape != ne.shape or np.any(ne >= nt):
        raise ValueError("total and nonembedding need the same shape, with total > nonembedding")
    lo = float(np.min((nt - ne) / np.cbrt(ne)))
    hi = float(np.max((nt - ne) / np.cbrt(ne)))

    def f(log_g: float) -> float:
        return float(np.sum((np.log(ne + np.exp(log_g) * np.cbrt(ne)) - np.log(nt)) ** 2))

    res = minimize_scalar(f, bounds=(np.log(lo), np.log(hi)), method="bounded", options={"xatol": 1e-12})
    return float(np.exp(res.x))


def nonembedding_frontier_flops(params: ArrayLike, law: ChinchillaLaw, gamma: float) -> Array:
    """Non-embedding compute ``C_\\E = 6 N_\\E D`` at which ``N_\\E`` is compute-optimal, for Chinchilla's loss
    ``L = E + A/N_T**alpha + B/D**beta`` written in non-embedding parameters (Pearce & Song 2024, eq. 9):
    ``C = 6 N (N + gamma N**(1/3)/3)**(-1/beta) (N + gamma N**(1/3))**((1+alpha)/beta) (beta B/(alpha A))**(1/beta)``."""
    n = _pos(params, "params")
    _pos_scalar(gamma, "gamma")
    g3 = gamma * np.cbrt(n)
    return (6.0 * n * (n + g3 / 3.0) ** (-1.0 / law.beta) * (n + g3) ** ((1.0 + law.alpha) / law.beta)
            * (law.beta * law.B / (law.alpha * law.A)) ** (1.0 / law.beta))


def nonembedding_local_exponent(params: ArrayLike, law: ChinchillaLaw, gamma: float) -> Array:
    """Local exponent ``d log N*_\\E / d log C_\\E`` along that frontier (Pearce & Song 2024, eq. 10):
    ``1 / g`` with ``g = 1 - (1/beta) (x + gamma/9)/(x + gamma/3) + ((1+alpha)/beta) (x + gamma/3)/(x + gamma)``,
    ``x = N**(2/3)``. It tends to ``beta/(alpha+beta)`` for large N (Chinchilla's exponent,
    :func:`scalinglib.allocation.frontier_exponents`) and to ``beta/(alpha/3 + beta)`` for small N, and peaks
    (near 1 for Chinchilla's law) where ``N**(2/3)`` is comparable to ``gamma``."""
    n = _pos(params, "params")
    _pos_scalar(gamma, "gamma")
    x = n ** (2.0 / 3.0)
    g = (1.0 - (x + gamma / 9.0) / (x + gamma / 3.0) / law.beta
         + (1.0 + law.alpha) / law.beta * (x + gamma / 3.0) / (x + gamma))
    return 1.0 / g


def nonembedding_optimum_numeric(flops: float, law: ChinchillaLaw, gamma: float) -> float:
    """Numerical check of :func:`nonembedding_frontier_flops`: minimise ``L(N_T(N), C/(6N))`` over ``log N``."""
    c = _pos_scalar(flops, "flops")
    _pos_scalar(gamma, "gamma")
    log_c6 = np.log(c / 6.0)

    def f(log_n: float) -> float:  # L - E
        n = np.exp(log_n)
        return float(law.A * (n + gamma * np.cbrt(n)) ** (-law.alpha) + law.B * np.exp(-law.beta * (log_c6 - log_n)))

    res = minimize_scalar(f, bounds=(0.0, log_c6), method="bounded", options={"xatol": 1e-12})
    return float(np.exp(res.x))


def loglog_slope_fit(x: ArrayLike, y: ArrayLike) -> float:
    """Least-squares slope of ``log y`` on ``log x`` (a straight-line fit on log-log axes)."""
    lx, ly = np.log(_pos(x, "x")), np.log(_pos(y, "y"))
    if lx.shape != ly.shape or lx.size < 2:
        raise ValueError("x and y need the same shape and at least two points")
    lx0 = lx - lx.mean()
    return float(np.dot(lx0, ly - ly.mean()) / np.dot(lx0, lx0))


# --------------------------------------------------------------------------- the laptop lab


@dataclass(frozen=True)
class MlpStudy:
    """A compute-frontier study on a teacher-student regression task whose data never run out.

    Inputs ``x ~ N(0, I_d)``; the target is a fixed random teacher, a one-hidden-layer tanh network of
    ``teacher_width`` units whose output weights fall as ``k**-teacher_decay`` (so wider students keep
    finding more to learn). Each student (one hidden tanh layer of width ``w``) is trained online with
    Adam on fresh batches: no example is ever seen twice. Loss: mean squared error on a fixed test set
    against the noiseless teacher. Compute: ``C = 6 N D`` FLOPs with ``N`` the student's parameters and
    ``D`` the examples seen (Kaplan et al. 2020, Sec. 2.1).
    """

    widths: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128)
    steps: int = 20_000
    batch: int = 64
    input_dim: int = 16
    teacher_width: int = 256
    teacher_decay: float = 1.0
    lr: float = 3e-3
    n_test: int = 2048
    n_logs: int = 40
    log_horizon: int = 20_000  # losses are logged at n_logs log-spaced steps up to here (capped at `steps`),
    # the same steps whatever `steps` is, so a shorter rerun logs a subset of the full study's rows
    seeds: tuple[int, ...] = (0, 1, 2)
    base_seed: int = 20201028


FULL_LAB = MlpStudy()
QUICK_LAB = MlpStudy(widths=(2, 8), steps=1_000, seeds=(0,))
"""The slice the chapter reruns (in every mode): the first 1,000 steps of two widths, seed 0."""


def mlp_params(width: int, input_dim: int) -> int:
    """Parameters of a one-hidden-layer MLP ``d -> w -> 1`` with biases: ``(d + 2) w + 1``."""
    if width < 1 or input_dim < 1:
        raise ValueError("width and input_dim must be >= 1")
    return (input_dim + 2) * width + 1


def _teacher(study: MlpStudy) -> tuple[Array, Array, Array]:
    rng = np.random.default_rng([study.base_seed, 0])
    w1 = rng.standard_normal((study.input_dim, study.teacher_width)) / np.sqrt(study.input_dim)
    b1 = 0.5 * rng.standard_normal(study.teacher_width)
    k = np.arange(1, study.teacher_width + 1, dtype=float)
    a = rng.choice([-1.0, 1.0], size=study.teacher_width) * k ** (-study.teacher_decay)
    return w1, b1, a


def _teacher_y(x: Array, teacher: tuple[Array, Array, Array]) -> Array:
    w1, b1, a = teacher
    return np.tanh(x @ w1 + b1) @ a


def train_mlp_curve(study: MlpStudy, width: int, seed: int) -> pd.DataFrame:
    """Train one student online and log its test loss at ``n_logs`` log-spaced steps.

    Returns rows ``width, params, seed, step, examples, flops, loss``. The data stream, the initial
    weights and the test set are drawn from generators seeded by ``(base_seed, width, seed)``."""
    if width < 1:
        raise ValueError("width must be >= 1")
    if seed < 0:
        raise ValueError("seed must be >= 0")
    teacher = _teacher(study)
    test_rng = np.random.default_rng([study.base_seed, 1])
    x_test = test_rng.standard_normal((study.n_test, study.input_dim))
    y_test = _teacher_y(x_test, teacher)
    rng = np.random.default_rng([study.base_seed, 2, width, seed])
    d = study.input_dim
    params = {
        "w1": rng.standard_normal((d, width)) / np.sqrt(d),
        "b1": np.zeros(width),
        "w2": rng.standard_normal(width) / np.sqrt(width),
        "b2": np.zeros(1),
    }
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v2 = {k: np.zeros_like(v) for k, v in params.items()}
    b1m, b2m, eps = 0.9, 0.999, 1e-8
    log_steps = np.unique(np.round(np.geomspace(10, study.log_horizon, study.n_logs)).astype(int))
    log_steps = log_steps[log_steps <= study.steps]
    n_params = mlp_params(width, d)
    rows = []
    li = 0
    for t in range(1, study.steps + 1):
        x = rng.standard_normal((study.batch, d))
        y = _teacher_y(x, teacher)
        h = np.tanh(x @ params["w1"] + params["b1"])
        err = h @ params["w2"] + params["b2"][0] - y
        g_out = (2.0 / study.batch) * err
        grads = {"w2": h.T @ g_out, "b2": np.array([g_out.sum()])}
        g_h = np.outer(g_out, params["w2"]) * (1.0 - h * h)
        grads["w1"] = x.T @ g_h
        grads["b1"] = g_h.sum(axis=0)
        c1, c2 = 1.0 - b1m**t, 1.0 - b2m**t
        for k in params:
            m[k] = b1m * m[k] + (1 - b1m) * grads[k]
            v2[k] = b2m * v2[k] + (1 - b2m) * grads[k] ** 2
            params[k] = params[k] - study.lr * (m[k] / c1) / (np.sqrt(v2[k] / c2) + eps)
        if li < len(log_steps) and t == log_steps[li]:
            pred = np.tanh(x_test @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"][0]
            loss = float(np.mean((pred - y_test) ** 2))
            ex = t * study.batch
            rows.append((width, n_params, seed, t, ex, 6.0 * n_params * ex, loss))
            li += 1
    return pd.DataFrame(rows, columns=["width", "params", "seed", "step", "examples", "flops", "loss"])


def run_lab(study: MlpStudy, *, show_progress: bool = False) -> pd.DataFrame:
    """Every (width, seed) curve of ``study``, in a fixed order."""
    from ..progress import progress

    jobs = [(w, s) for w in study.widths for s in study.seeds]
    return pd.concat([train_mlp_curve(study, w, s) for w, s in progress(jobs, desc="lab", disable=not show_progress)],
                     ignore_index=True)


def lower_envelope(curves: pd.DataFrame, flops_grid: ArrayLike) -> pd.DataFrame:
    """The compute-efficient frontier (Kaplan et al. 2020 Fig. 2 / Henighan et al. 2020 Fig. 2 construction).

    ``curves`` holds seed-averaged curves (columns ``params, flops, loss``). Each model's loss is
    interpolated in ``log C`` (linear in ``log L``) inside the compute range it covers; at each budget the
    frontier is the lowest loss and ``N_opt`` the size that attains it. Budgets no model covers are dropped.
    """
    grid = _pos(flops_grid, "flops_grid")
    need = {"params", "flops", "loss"}
    if not need <= set(curves.columns):
        raise ValueError(f"curves needs columns {sorted(need)}")
    best_loss = np.full(grid.shape, np.inf)
    best_n = np.full(grid.shape, np.nan)
    for n, g in curves.groupby("params"):
        g = g.sort_values("flops")
        lc, ll = np.log(g["flops"].to_numpy()), np.log(g["loss"].to_numpy())
        lg = np.log(grid)
        inside = (lg >= lc[0]) & (lg <= lc[-1])
        loss = np.full(grid.shape, np.inf)
        loss[inside] = np.exp(np.interp(lg[inside], lc, ll))
        better = loss < best_loss
        best_loss[better] = loss[better]
        best_n[better] = n
    keep = np.isfinite(best_loss)
    return pd.DataFrame({"flops": grid[keep], "loss": best_loss[keep], "params": best_n[keep]})


def compare_lab_runs(saved: pd.DataFrame, rerun: pd.DataFrame, *, rel_tol: float) -> float:
    """Largest relative difference of ``loss`` between a rerun slice and the saved runs (matched on
    ``width, seed, step``); raises ``ValueError`` if a rerun row is missing from ``saved`` or differs by more
    than ``rel_tol``."""
    _pos_scalar(rel_tol, "rel_tol")
    keys = ["width", "seed", "step"]
    merged = rerun.merge(saved, on=keys, how="left", suffixes=("", "_saved"))
    if merged["loss_saved"].isna().any():
        raise ValueError("rerun has rows that the saved runs do not hold")
    rel = np.abs(merged["loss"] - merged["loss_saved"]) / merged["loss_saved"]
    worst = float(rel.max())
    if worst > rel_tol:
        raise ValueError(f"rerun differs from the saved runs by {worst:.3g} (relative) > {rel_tol:g}")
    return worst
