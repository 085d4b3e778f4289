"""Compute-optimal allocation of a FLOP budget between parameters and tokens.

All closed forms are Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models",
Sec. 3.3 and eq. (4), for the loss ``L(N, D) = E + A / N**alpha + B / D**beta`` under the
constraint ``C = 6 N D`` (Kaplan et al. 2020, Sec. 2.1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize_scalar

from .laws import chinchilla_loss

Array = NDArray[np.float64]

__all__ = [
    "ChinchillaLaw",
    "HOFFMANN_2022_TEX",
    "HOFFMANN_2022_PRINTED",
    "CHINCHILLA_PARAMS",
    "CHINCHILLA_TOKENS",
    "GOPHER_FLOPS",
    "tokens_per_param",
    "training_flops",
    "tokens_from_flops",
    "frontier_exponents",
    "optimal_params_tokens",
    "optimal_loss",
    "flops_for_loss",
    "frontier_coefficients",
    "optimal_params_tokens_numeric",
    "flops_for_optimal_params",
    "kaplan_frontier_params",
    "KAPLAN_ANCHOR_PARAMS",
    "KAPLAN_ANCHOR_FLOPS",
    "KAPLAN_PARAMS_EXPONENT",
    "inference_aware_params_tokens",
]


@dataclass(frozen=True)
class ChinchillaLaw:
    """Parameters of ``L(N, D) = E + A / N**alpha + B / D**beta`` (Hoffmann et al. 2022, eq. 2)."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float

    def __post_init__(self) -> None:
        for name in ("E", "A", "B", "alpha", "beta"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
                raise ValueError(f"ChinchillaLaw: {name} must be a finite number, got {v!r}")
        if self.E < 0:
            raise ValueError(f"ChinchillaLaw: E must be >= 0 (an irreducible loss), got {self.E!r}")
        for name in ("A", "B", "alpha", "beta"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ChinchillaLaw: {name} must be > 0, or the law has no compute-optimal "
                                 f"allocation (got {getattr(self, name)!r})")

    @classmethod
    def from_theta(cls, theta: ArrayLike) -> ChinchillaLaw:
        """Inverse of :meth:`theta`: from ``(log A, log B, log E, alpha, beta)``, the parameter vector of
        ``scalinglib.fitting.CHINCHILLA``."""
        t = np.asarray(theta, dtype=float)
        if t.shape != (5,):
            raise ValueError(f"theta must be (log A, log B, log E, alpha, beta), got shape {t.shape}")
        return cls.from_logs(log_e=t[2], log_a=t[0], log_b=t[1], alpha=float(t[3]), beta=float(t[4]))

    @classmethod
    def from_logs(cls, log_e: float, log_a: float, log_b: float, alpha: float, beta: float) -> ChinchillaLaw:
        """Build from ``e, a, b = log E, log A, log B`` (the parametrisation of App. D.2)."""
        return cls(E=float(np.exp(log_e)), A=float(np.exp(log_a)), B=float(np.exp(log_b)), alpha=alpha, beta=beta)

    def loss(self, params: ArrayLike, tokens: ArrayLike) -> Array:
        return chinchilla_loss(params, tokens, self.E, self.A, self.B, self.alpha, self.beta)

    def theta(self) -> Array:
        """``(log A, log B, log E, alpha, beta)``: the parameter vector of ``scalinglib.fitting.CHINCHILLA``."""
        return np.array([np.log(self.A), np.log(self.B), np.log(self.E), self.alpha, self.beta])

    def rounded(self, **digits: int) -> ChinchillaLaw:
        """A copy with the named fields rounded, e.g. ``rounded(alpha=2, beta=2)``."""
        return replace(self, **{k: round(getattr(self, k), n) for k, n in digits.items()})


HOFFMANN_2022_TEX = ChinchillaLaw.from_logs(
    log_e=0.5267228, log_a=6.0073404, log_b=6.0179186, alpha=0.33917084, beta=0.2849083
)
"""Hoffmann et al. 2022's Approach-3 fit at the precision of the paper's TeX source (as used by
Besiroglu et al. 2024): ``ln E, ln A, ln B = 0.5267228, 6.0073404, 6.0179186``. An input, not a result."""

HOFFMANN_2022_PRINTED = ChinchillaLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
"""The same fit as printed in Hoffmann et al. 2022, eq. (10)."""

CHINCHILLA_PARAMS, CHINCHILLA_TOKENS = 70e9, 1.4e12
"""The Chinchilla model: 70B parameters trained on 1.4T tokens (Hoffmann et al. 2022, Table 1)."""

GOPHER_FLOPS = 5.76e23
"""Gopher's training compute in FLOPs (Hoffmann et al. 2022, Fig. 2 caption; Rae et al. 2021)."""


def tokens_per_param(flops: ArrayLike, law: ChinchillaLaw) -> Array:
    """Compute-optimal tokens per parameter ``D_opt / N_opt = G**-2 (C/6)**(b - a)`` (from eq. 4)."""
    n, d = optimal_params_tokens(flops, law)
    return d / n


def training_flops(params: ArrayLike, tokens: ArrayLike, flops_per_param_token: float = 6.0) -> Array:
    """Training compute ``C = 6 N D`` FLOPs (Kaplan et al. 2020, Sec. 2.1: 2 forward + 4 backward per parameter and token)."""
    return flops_per_param_token * np.asarray(params, dtype=float) * np.asarray(tokens, dtype=float)


def tokens_from_flops(flops: ArrayLike, params: ArrayLike, flops_per_param_token: float = 6.0) -> Array:
    """Tokens ``D = C / (6 N)`` for a budget ``C`` and model size ``N``."""
    return np.asarray(flops, dtype=float) / (flops_per_param_token * np.asarray(params, dtype=float))


def frontier_exponents(alpha: float, beta: float) -> tuple[float, float]:
    """Exponents of the efficient frontier ``N_opt ∝ C**a``, ``D_opt ∝ C**b``: ``a = beta/(alpha+beta)``, ``b = alpha/(alpha+beta)`` (eq. 4)."""
    return beta / (alpha + beta), alpha / (alpha + beta)


def _g(law: ChinchillaLaw) -> float:
    return (law.alpha * law.A / (law.beta * law.B)) ** (1.0 / (law.alpha + law.beta))


def optimal_params_tokens(flops: ArrayLike, law: ChinchillaLaw) -> tuple[Array, Array]:
    """Closed-form compute-optimal ``(N_opt, D_opt)`` for budget ``C`` (Hoffmann et al. 2022, eq. 4).

    ``N_opt = G (C/6)**a``, ``D_opt = G**-1 (C/6)**b``, ``G = (alpha A / (beta B))**(1/(alpha+beta))``.
    """
    a, b = frontier_exponents(law.alpha, law.beta)
    g = _g(law)
    c6 = np.asarray(flops, dtype=float) / 6.0
    return g * c6**a, c6**b / g


def _frontier_loss_coefficient(law: ChinchillaLaw) -> tuple[float, float]:
    """``K, gamma`` with ``L_opt(C) = E + K (C/6)**-gamma``, ``gamma = alpha beta / (alpha + beta)``."""
    g = _g(law)
    gamma = law.alpha * law.beta / (law.alpha + law.beta)
    return law.A * g ** (-law.alpha) + law.B * g**law.beta, gamma


def optimal_loss(flops: ArrayLike, law: ChinchillaLaw) -> Array:
    """Loss on the efficient frontier: ``L_opt(C) = E + K (C/6)**(-alpha beta/(alpha+beta))``,
    ``K = A G**-alpha + B G**beta`` (substituting eq. 4 into eq. 2)."""
    k, gamma = _frontier_loss_coefficient(law)
    return law.E + k * (np.asarray(flops, dtype=float) / 6.0) ** (-gamma)


def flops_for_loss(loss: ArrayLike, law: ChinchillaLaw) -> Array:
    """Inverse of :func:`optimal_loss`: the smallest budget that reaches ``loss`` (must exceed ``E``)."""
    loss = np.asarray(loss, dtype=float)
    if np.any(loss <= law.E):
        raise ValueError(f"a loss at or below E = {law.E:.4g} is never reached at any compute")
    k, gamma = _frontier_loss_coefficient(law)
    return 6.0 * ((loss - law.E) / k) ** (-1.0 / gamma)


def frontier_coefficients(law: ChinchillaLaw) -> dict[str, float]:
    """The frontier in raw-FLOP form: ``N_opt = n_coef C**n_exp``, ``D_opt = d_coef C**d_exp``,
    ``L_opt = l_coef C**-l_exp + l_inf`` (the constants quoted e.g. by Wikipedia's "Neural scaling law")."""
    a, b = frontier_exponents(law.alpha, law.beta)
    g = _g(law)
    k, gamma = _frontier_loss_coefficient(law)
    return {
        "n_coef": g * 6.0 ** (-a),
        "n_exp": a,
        "d_coef": 6.0 ** (-b) / g,
        "d_exp": b,
        "l_coef": k * 6.0**gamma,
        "l_exp": gamma,
        "l_inf": law.E,
    }


def optimal_params_tokens_numeric(flops: float, law: ChinchillaLaw) -> tuple[float, float]:
    """Numerical check of :func:`optimal_params_tokens`: minimise ``L(N, C/(6N))`` over ``log N``."""
    log_c6 = np.log(flops / 6.0)

    def f(log_n: float) -> float:  # L - E: same optimum, but E does not swamp the digits that locate it
        return float(law.A * np.exp(-law.alpha * log_n) + law.B * np.exp(-law.beta * (log_c6 - log_n)))

    res = minimize_scalar(f, bounds=(0.0, log_c6), method="bounded", options={"xatol": 1e-12})
    n = float(np.exp(res.x))
    return n, float(flops / (6.0 * n))


def flops_for_optimal_params(params: ArrayLike, law: ChinchillaLaw, flops_per_param_token: float = 6.0) -> Array:
    """Inverse of the frontier (eq. 4): the budget ``C`` at which ``N_opt(C) = N``.

    ``N = G (C/k)**a``  =>  ``C = k (N/G)**(1/a)`` with ``k = flops_per_param_token``. ``k = 6`` is the
    paper's ``C = 6 N D`` convention (Hoffmann et al. 2022, Sec. 3.3); other values of ``k`` express other
    FLOP conventions (``k = 1``: reading eq. 4 with ``C`` in place of ``C/6``). This is how Table A3
    (Approach 3 column) turns a model size into a training budget.
    """
    a, _ = frontier_exponents(law.alpha, law.beta)
    return flops_per_param_token * (np.asarray(params, dtype=float) / _g(law)) ** (1.0 / a)


KAPLAN_ANCHOR_PARAMS = 4.68e9
"""Kaplan et al. 2020's compute-optimal model size at 1e21 FLOPs, as quoted by Hoffmann et al. 2022, Sec. D.4."""
KAPLAN_ANCHOR_FLOPS = 1e21
KAPLAN_PARAMS_EXPONENT = 0.73
"""``N_opt ∝ C**0.73`` (Kaplan et al. 2020; Hoffmann et al. 2022, Table 2)."""


def kaplan_frontier_params(
    flops: ArrayLike,
    anchor_params: float = KAPLAN_ANCHOR_PARAMS,
    anchor_flops: float = KAPLAN_ANCHOR_FLOPS,
    exponent: float = KAPLAN_PARAMS_EXPONENT,
) -> Array:
    """Kaplan et al. 2020's compute-optimal model size, ``N_opt = N_0 (C / C_0)**0.73``.

    Anchored where Hoffmann et al. 2022 (Sec. D.4) quote it: 4.68e9 parameters at ``C_0 = 1e21`` FLOPs.
    The tokens follow from ``D = C / (6 N)`` (:func:`tokens_from_flops`).
    """
    return anchor_params * (np.asarray(flops, dtype=float) / anchor_flops) ** exponent


def inference_aware_params_tokens(
    loss: float, inference_tokens: float, law: ChinchillaLaw, train_flops_per_token: float = 6.0,
    inference_flops_per_token: float = 2.0,
) -> tuple[float, float, float]:
    """Model size and training tokens that reach ``loss`` at the least lifetime compute, counting
    inference (Sardana et al. 2024, "Beyond Chinchilla-Optimal", arXiv 2401.00448, Sec. 2):

    minimise ``6 N D_train + 2 N D_inference`` subject to ``L(N, D_train) = loss``.

    On the constraint ``D_train(N) = (B / (loss - E - A N**-alpha))**(1/beta)``, defined for
    ``N > (A / (loss - E))**(1/alpha)``; the one-dimensional objective (its log) is minimised over
    ``log N``: a grid of 601 points over 60 e-folds above that bound, then a bounded Brent search
    (``xatol = 1e-13``) in the cells around the best grid point. Returns
    ``(params, train_tokens, total_flops)``. With ``inference_tokens = 0`` this is the Chinchilla
    optimum for that loss (:func:`flops_for_loss`).
    """
    if not np.isfinite(loss) or loss <= law.E:
        raise ValueError(f"loss must exceed E = {law.E:.4g} (a loss at or below E is never reached)")
    if not np.isfinite(inference_tokens) or inference_tokens < 0:
        raise ValueError("inference_tokens must be >= 0")
    for name, v in (("train_flops_per_token", train_flops_per_token), ("inference_flops_per_token", inference_flops_per_token)):
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be > 0")
    gap = loss - law.E
    log_n_min = np.log(law.A / gap) / law.alpha  # below this N the loss is out of reach

    def tokens(log_n: float) -> float:
        rest = gap - law.A * np.exp(-law.alpha * log_n)
        return float((law.B / rest) ** (1.0 / law.beta))

    def log_total(log_n: float) -> float:
        n = np.exp(log_n)
        return float(np.log(n * (train_flops_per_token * tokens(log_n) + inference_flops_per_token * inference_tokens)))

    lo, hi = log_n_min + 1e-9, log_n_min + 60.0
    grid = np.linspace(lo + 1e-6, hi, 601)
    vals = np.array([log_total(x) for x in grid])
    i = int(np.argmin(vals))
    res = minimize_scalar(log_total, bounds=(grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]),
                          method="bounded", options={"xatol": 1e-13})
    log_n = float(res.x)
    n = float(np.exp(log_n))
    d = tokens(log_n)
    return n, d, float(n * (train_flops_per_token * d + inference_flops_per_token * inference_tokens))
