"""A Hestness-style scaling study at laptop scale: synthetic tasks, model grids, best model per size.

Hestness et al. 2017, "Deep Learning Scaling is Predictable, Empirically", measure a
learning curve by training a grid of model sizes on training sets that grow in ~2x steps, keeping
the best validation error at each training-set size ``m``, and fitting
``eps(m) = alpha * m**beta_g + gamma`` to those best errors and ``s(m) ∝ m**beta_p`` to the best
model sizes. This module does the same with models that train in closed form in seconds:

* tasks (data generated from a seed, in fixed chunks, so a training set of ``m`` rows is always the
  first ``m`` rows of one stream and smaller training sets are subsets of larger ones):

  - :class:`SpectralTeacher`: a linear teacher with a power-law spectrum. Inputs ``x_k ~ N(0, k**-a)``,
    signal power per input ``lambda_k w_k**2 ∝ k**-(1+b)``. Its learning-curve and model-size exponents
    are known (:func:`spectral_theory_exponents`).
  - :class:`ZipfTeacher`: Hutter 2021's Zipf-distributed discrete tokens, each with its own random
    label (a task of a different structure: sparse, discrete, pure memorisation). Its exponents are
    known too, and differ from the spectral teacher's.

* architectures (the model size is the number of trained weights, the readout):

  - :class:`LinearPrefix`: least squares on the first ``p`` inputs;
  - :class:`RandomReLU`: a two-layer network whose first layer is random and frozen (random
    features), readout of ``p`` ReLU units trained by least squares.

Training is ordinary least squares with a tiny ridge (``1e-9`` of the mean diagonal, only for
numerical stability). Because training sets are nested and models of size ``p`` use the first ``p``
features, the Gram matrix is accumulated once per training-set size and every model size is a
solve on its leading block: a whole grid costs little more than its largest model.

Errors: ``val_error`` is the mean squared error on a validation set with noisy labels (used to pick
the best model, as Hestness et al. do); ``test_error`` is the expected squared error on fresh data,
``mean((f - y_hat)**2) + bayes_error``, computed on a test set against the noiseless teacher ``f`` so
that label noise does not drown the small excess error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import linalg
from scipy.special import ndtri, zeta
from threadpoolctl import threadpool_limits

from ..curves import CurveFit, fit_learning_curve, fit_model_size, stable_slope_start
from ..progress import progress

Array = NDArray[np.float64]

__all__ = [
    "SpectralTeacher",
    "ZipfTeacher",
    "hash_normal",
    "LinearPrefix",
    "RandomReLU",
    "StudyConfig",
    "FULL_STUDY",
    "QUICK_STUDY",
    "spectral_theory_exponents",
    "train_grid",
    "run_study",
    "best_model_per_size",
    "refine_best_size",
    "compare_runs",
    "oracle_learning_curve",
    "analyse_study",
]

# --------------------------------------------------------------------------- tasks


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


@dataclass(frozen=True)
class SpectralTeacher:
    """Linear teacher with a power-law spectrum (the "theory task").

    ``x_k = sqrt(lambda_k) z_k`` with ``lambda_k = k**-a`` and ``z_k ~ N(0, 1)`` for ``k = 1..D``;
    ``y = sum_k w_k x_k + tail + noise`` with signal power ``s_k = lambda_k w_k**2 = k**-(1+b) / zeta(1+b)``
    (total signal variance 1 over infinitely many inputs). The signal of the inputs beyond ``D``
    (``tail_var = zeta(1+b, D+1) / zeta(1+b)``) is not observed, so it acts as noise: the Bayes error of
    the task is ``noise_var + tail_var``.

    Least squares on the first ``p`` inputs from ``m`` examples has expected test error
    ``(noise_var + T(p)) * (1 + p / (m - p - 1))`` with ``T(p) = sum_{k>p} s_k`` (Gaussian design,
    :meth:`expected_ols_error`). Balancing ``T(p) ∝ p**-b`` against the variance ``p/m`` gives
    ``p* ∝ m**(1/(1+b))`` and excess error ``∝ m**(-b/(1+b))`` (:func:`spectral_theory_exponents`);
    the same rate as kernel ridge regression with a tuned ridge for this spectrum (Cui et al. 2021,
    "Generalization error rates in kernel regression", noisy regime with ``2 alpha r = b``).
    """

    name: str = "spectral"
    input_dims: int = 4096
    cov_exponent: float = 1.5
    signal_exponent: float = 0.7
    noise_var: float = 1.0
    chunk_rows: int = 1024

    @property
    def eigenvalues(self) -> Array:
        return np.arange(1, self.input_dims + 1, dtype=float) ** -self.cov_exponent

    @property
    def signal_power(self) -> Array:
        k = np.arange(1, self.input_dims + 1, dtype=float)
        return k ** -(1.0 + self.signal_exponent) / zeta(1.0 + self.signal_exponent)

    @property
    def weights(self) -> Array:
        return np.sqrt(self.signal_power / self.eigenvalues)

    def tail_signal(self, p: ArrayLike) -> Array:
        """``T(p) = sum_{k > p} s_k``: the signal a model that sees only the first ``p`` inputs cannot use."""
        b = 1.0 + self.signal_exponent
        return zeta(b, np.asarray(p, dtype=float) + 1.0) / zeta(b)

    @property
    def tail_var(self) -> float:
        return float(self.tail_signal(self.input_dims))

    @property
    def bayes_error(self) -> float:
        return self.noise_var + self.tail_var

    @property
    def input_sq_norm(self) -> float:
        """``E |x|**2``."""
        return float(self.eigenvalues.sum())

    def chunk(self, seed: int, stream: int, index: int) -> tuple[Array, Array, Array]:
        """Rows ``index*chunk_rows ...`` of ``stream``: inputs ``x``, labels ``y``, noiseless teacher ``f``."""
        rng = _rng(seed, 1, stream, index)
        x = rng.standard_normal((self.chunk_rows, self.input_dims)) * np.sqrt(self.eigenvalues)
        f = x @ self.weights
        y = f + np.sqrt(self.bayes_error) * rng.standard_normal(self.chunk_rows)
        return x, y, f

    @property
    def theory_exponents(self) -> tuple[float, float]:
        """``(beta_g, beta_p)`` in the limit of large ``m`` (:func:`spectral_theory_exponents` with ``b``)."""
        return spectral_theory_exponents(self.signal_exponent)

    def prefix(self, x: Array, n_inputs: int) -> Array:
        """The first ``n_inputs`` inputs (the largest-variance directions)."""
        if x.shape[1] < n_inputs:
            raise ValueError(f"{self.name}: asked for {n_inputs} inputs, the task has {x.shape[1]}")
        return x[:, :n_inputs]

    def project(self, x: Array, units: int, init_seed: int) -> Array:
        """``x @ W`` with ``W ~ N(0, 1 / E|x|**2)``, drawn unit by unit (the first units do not depend on ``units``)."""
        return x @ _projection(init_seed, self.input_dims, units, self.input_sq_norm)

    def expected_ols_error(self, examples: ArrayLike, params: ArrayLike) -> Array:
        """Exact expected test error of least squares on the first ``p`` inputs from ``m`` examples:
        ``(noise_var + T(p)) (1 + p / (m - p - 1))`` (Gaussian inputs; ``inf`` where ``m <= p + 1``)."""
        m = np.asarray(examples, dtype=float)
        p = np.asarray(params, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            infl = np.where(m > p + 1, 1.0 + p / (m - p - 1), np.inf)
        return (self.noise_var + self.tail_signal(p)) * infl


def _splitmix64(z: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The splitmix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mixing function."""
    with np.errstate(over="ignore"):  # arithmetic modulo 2**64 is the point
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def hash_normal(*keys: ArrayLike) -> Array:
    """Standard normal numbers that are a fixed function of integer ``keys`` (broadcast together):
    splitmix64 over the keys, the top 53 bits as a uniform in (0, 1), then the inverse normal CDF.
    A table of random numbers indexed by, e.g., (token, unit) without storing the table."""
    h = np.uint64(0)
    for k in keys:
        h = _splitmix64(np.asarray(k).astype(np.uint64) ^ h)
    u = ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
    return ndtri(u)


@dataclass(frozen=True)
class ZipfTeacher:
    """Hutter 2021's learning-curve model ("Learning Curve Theory"): Zipf-distributed discrete
    features. Token ``i`` is drawn with probability ``theta_i = i**-(1+alpha) / zeta(1+alpha)``; its label
    is a fixed random sign ``g_i = ±1`` plus noise ``N(0, noise_var)``. Nothing generalises from
    one token to another, so a model can only do well on tokens it has seen often enough.

    As inputs, tokens are one-hot vectors ordered by frequency: covariance ``diag(theta_i)`` and signal
    power ``theta_i g_i**2 ∝ i**-(1+alpha)``, i.e. a spectral teacher with ``b = alpha``. Memorising the
    ``p`` most frequent tokens leaves ``T(p) = sum_{i>p} theta_i ∝ p**-alpha`` unlearnt at a variance cost
    of ``noise_var * p / m``, so Hutter's exponent ``beta = alpha / (1 + alpha)`` follows from the same
    balance as for :class:`SpectralTeacher` (:func:`spectral_theory_exponents` with ``b = alpha``).
    Sampling uses ``numpy``'s Zipf sampler (unbounded support).
    """

    name: str = "zipf"
    zipf_exponent: float = 0.3
    noise_var: float = 4.0
    task_seed: int = 0
    chunk_rows: int = 1024

    @property
    def bayes_error(self) -> float:
        return self.noise_var

    @property
    def input_sq_norm(self) -> float:
        return 1.0

    def token_values(self, tokens: ArrayLike) -> Array:
        """``g_i = ±1``: the fixed random label of each token (a random sign, so ``g_i**2 = 1`` exactly and the
        unlearnt signal beyond the ``p`` most frequent tokens is exactly ``T(p)``)."""
        return np.sign(hash_normal(self.task_seed, 6, tokens))

    def chunk(self, seed: int, stream: int, index: int) -> tuple[Array, Array, Array]:
        rng = _rng(seed, 2, stream, index)
        tokens = rng.zipf(1.0 + self.zipf_exponent, self.chunk_rows).astype(np.int64)
        f = self.token_values(tokens)
        y = f + np.sqrt(self.noise_var) * rng.standard_normal(self.chunk_rows)
        return tokens[:, None], y, f

    @property
    def theory_exponents(self) -> tuple[float, float]:
        """``(beta_g, beta_p) = (-alpha/(1+alpha), 1/(1+alpha))`` (Hutter 2021's ``beta`` and Heaps' law)."""
        return spectral_theory_exponents(self.zipf_exponent)

    def probabilities(self, tokens: ArrayLike) -> Array:
        """``theta_i = i**-(1+alpha) / zeta(1+alpha)``."""
        a = 1.0 + self.zipf_exponent
        return np.asarray(tokens, dtype=float) ** -a / zeta(a)

    def expected_ols_error(self, examples: int, params: ArrayLike) -> Array:
        """Expected test error of least squares on the one-hot features of the ``p`` most frequent tokens,
        averaged over training sets of ``m`` examples (``g_i**2 = 1``):
        ``noise + T(p) + sum_{i<=p} theta_i [P(N_i = 0) + noise E(1/N_i; N_i >= 1)]`` with
        ``N_i ~ Binomial(m, theta_i)`` the count of token ``i`` and ``T(p) = sum_{i>p} theta_i``: an unseen
        token is predicted 0, a seen one by the mean of its ``N_i`` noisy labels."""
        from scipy.stats import binom

        m = int(examples)
        p = np.atleast_1d(np.asarray(params, dtype=int))
        top = int(p.max(initial=0))
        theta = self.probabilities(np.arange(1, top + 1))
        mu = m * theta
        kmax = np.minimum(m, np.ceil(mu + 12.0 * np.sqrt(mu) + 12.0)).astype(int)
        owner = np.repeat(np.arange(top), kmax)
        k = np.arange(len(owner)) - np.repeat(np.cumsum(kmax) - kmax, kmax) + 1
        inv = np.bincount(owner, weights=binom.pmf(k, m, theta[owner]) / k, minlength=top)
        per_token = theta * ((1.0 - theta) ** m + self.noise_var * inv)
        learnt = np.concatenate([[0.0], np.cumsum(per_token)])[p]
        a = 1.0 + self.zipf_exponent
        return self.noise_var + zeta(a, p + 1.0) / zeta(a) + learnt

    def prefix(self, x: Array, n_inputs: int) -> Array:
        """One-hot features of tokens ``1..n_inputs`` (the most frequent first)."""
        return (x == np.arange(1, n_inputs + 1)[None, :]).astype(float)

    def project(self, x: Array, units: int, init_seed: int) -> Array:
        """``x @ W`` for one-hot ``x``: the row of a random Gaussian table ``W[token, unit]`` (a random embedding)."""
        return hash_normal(init_seed, 7, x, np.arange(units)[None, :])


Task = SpectralTeacher | ZipfTeacher


@lru_cache(maxsize=4)
def _projection(init_seed: int, input_dims: int, units: int, sq_norm: float) -> Array:
    w = _rng(init_seed, 4, input_dims).standard_normal((units, input_dims))
    return np.ascontiguousarray(w.T) / np.sqrt(sq_norm)


def _rows(task: Task, seed: int, stream: int, start: int, stop: int) -> tuple[Array, Array, Array]:
    """Rows ``[start, stop)`` of a stream (generated chunk by chunk, so every prefix is reproducible)."""
    c = task.chunk_rows
    parts = [task.chunk(seed, stream, j) for j in range(start // c, (stop - 1) // c + 1)]
    x, y, f = (np.concatenate([p[i] for p in parts]) for i in range(3))
    off = (start // c) * c
    return x[start - off : stop - off], y[start - off : stop - off], f[start - off : stop - off]


def spectral_theory_exponents(signal_exponent: float) -> tuple[float, float]:
    """``(beta_g, beta_p) = (-b / (1 + b), 1 / (1 + b))`` for the spectral teacher with ``T(p) ∝ p**-b``.

    Minimising ``T(p) + noise * p / m`` over ``p`` gives ``p* ∝ m**(1/(1+b))`` and an excess error
    ``∝ m**(-b/(1+b))`` (the bias-variance balance behind Hestness et al.'s ``s(m) ∝ m**beta_p``).
    Note ``beta_p = 1 + beta_g``: ``beta_g`` in ``[-0.5, 0)`` iff ``beta_p`` in ``[0.5, 1)``.
    """
    b = float(signal_exponent)
    return -b / (1.0 + b), 1.0 / (1.0 + b)


# --------------------------------------------------------------------------- architectures


@dataclass(frozen=True)
class LinearPrefix:
    """A linear model on the first ``p`` inputs in the task's order (``p`` trained weights): the leading
    principal directions of :class:`SpectralTeacher`, the most frequent tokens of :class:`ZipfTeacher`."""

    max_params: int
    name: str = "linear"

    def features(self, x: Array, task: Task) -> Array:
        return task.prefix(x, self.max_params)


@dataclass(frozen=True)
class RandomReLU:
    """Random-features network ``relu(x W + c)``: frozen first layer ``W ~ N(0, 1/E|x|^2)``, ``c ~ N(0, 1)``;
    the ``p`` readout weights are trained (model size ``p``). Model ``p`` uses the first ``p`` units."""

    max_params: int
    init_seed: int = 0
    name: str = "random_relu"

    def features(self, x: Array, task: Task) -> Array:
        c = _rng(self.init_seed, 5).standard_normal(self.max_params)
        return np.maximum(task.project(x, self.max_params, self.init_seed) + c, 0.0)


Architecture = LinearPrefix | RandomReLU


# --------------------------------------------------------------------------- training


def _solve(gram: Array, rhs: Array) -> Array:
    jitter = 1e-9 * float(np.mean(np.diag(gram))) + 1e-300
    a = gram + jitter * np.eye(len(gram))
    try:
        return linalg.cho_solve(linalg.cho_factor(a, lower=True, check_finite=False), rhs, check_finite=False)
    except linalg.LinAlgError:
        return np.linalg.lstsq(a, rhs, rcond=None)[0]


def train_grid(
    task: Task,
    arch: Architecture,
    train_sizes: Sequence[int],
    model_sizes: Sequence[int],
    *,
    seed: int,
    replicates: Callable[[int], int] | int,
    val_rows: int,
    test_rows: int,
    max_params_per_example: float = 0.5,
) -> pd.DataFrame:
    """Train every model size on every training set; one row per trained model.

    Model size ``0`` is the best guess, the mean training label (Hestness et al.'s small-data baseline).

    Replicate ``r`` has its own training stream (``3 + r``); its training sets are nested prefixes of it.
    ``replicates(m)`` (or a constant) says how many replicates train on ``m`` examples: replicate ``r``
    trains on the sizes with ``r < replicates(m)``. All replicates share one validation set (stream 1,
    noisy labels) and one test set (stream 2, scored against the noiseless teacher). A model of size
    ``p`` is trained on ``m`` examples only if ``p <= max_params_per_example * m`` (least squares needs
    ``p < m``). BLAS runs on one thread so the numbers do not depend on the machine's scheduling.
    """
    n_reps = (lambda m: replicates) if isinstance(replicates, int) else replicates
    sizes = sorted(int(m) for m in train_sizes)
    params = sorted(int(p) for p in model_sizes if p <= arch.max_params)
    rows: list[dict] = []
    with threadpool_limits(limits=1):
        xv, yv, _ = _rows(task, seed, 1, 0, val_rows)
        xt, _, ft = _rows(task, seed, 2, 0, test_rows)
        phi_v, phi_t = arch.features(xv, task), arch.features(xt, task)
        n_feat = phi_v.shape[1]
        for r in range(max(n_reps(m) for m in sizes)):
            gram = np.zeros((n_feat, n_feat))
            rhs = np.zeros(n_feat)
            y_sum = 0.0
            done = 0
            for m in (m for m in sizes if r < n_reps(m)):
                for lo in range(done, m, task.chunk_rows):  # block by block: memory stays small
                    x, y, _ = _rows(task, seed, 3 + r, lo, min(m, lo + task.chunk_rows))
                    phi = arch.features(x, task)
                    gram += phi.T @ phi
                    rhs += phi.T @ y
                    y_sum += float(y.sum())
                done = m
                for p in params:
                    if p > max_params_per_example * m:
                        continue
                    if p == 0:  # the best guess: predict the mean training label
                        pred_v, pred_t = np.full(len(yv), y_sum / m), np.full(len(ft), y_sum / m)
                    else:
                        w = _solve(gram[:p, :p], rhs[:p])
                        pred_v, pred_t = phi_v[:, :p] @ w, phi_t[:, :p] @ w
                    rows.append(
                        {
                            "task": task.name,
                            "arch": arch.name,
                            "replicate": r,
                            "examples": m,
                            "params": p,
                            "val_error": float(np.mean((yv - pred_v) ** 2)),
                            "test_error": float(np.mean((ft - pred_t) ** 2) + task.bayes_error),
                        }
                    )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class StudyConfig:
    """One study: (task, architecture) pairs trained on a grid of training-set and model sizes.

    Each training-set size ``m`` gets ``replicates_at(m) = max(replicates, min(max_replicates,
    replicate_examples // m))`` independent training sets: small sets are cheap and noisy, so they get
    more replicates.
    """

    seed: int
    pairs: tuple[tuple[Task, Architecture], ...]
    train_sizes: tuple[int, ...]
    model_sizes: tuple[int, ...]
    replicates: int
    max_replicates: int
    replicate_examples: int
    val_rows: int
    test_rows: int

    def replicates_at(self, examples: int) -> int:
        return max(self.replicates, min(self.max_replicates, self.replicate_examples // int(examples)))


_SPECTRAL = SpectralTeacher()
_ZIPF = ZipfTeacher()
FULL_STUDY = StudyConfig(
    seed=20171201,
    pairs=(
        (_SPECTRAL, LinearPrefix(max_params=2048)),
        (_SPECTRAL, RandomReLU(max_params=2048)),
        (_ZIPF, LinearPrefix(max_params=2048)),
        (_ZIPF, RandomReLU(max_params=2048)),
    ),
    train_sizes=tuple(2**k for k in range(3, 16)),
    model_sizes=(0,) + tuple(2**k for k in range(0, 12)),
    replicates=3,
    max_replicates=16,
    replicate_examples=2**14,
    val_rows=4096,
    test_rows=8192,
)
"""The study behind ``data/experiments/hestness_*.csv`` (``scripts/hestness_study.py``)."""

QUICK_STUDY = StudyConfig(
    seed=FULL_STUDY.seed,
    pairs=tuple((t, replace(a, max_params=256)) for t, a in FULL_STUDY.pairs),
    train_sizes=tuple(2**k for k in range(3, 11)),
    model_sizes=(0,) + tuple(2**k for k in range(0, 9)),
    replicates=1,
    max_replicates=1,
    replicate_examples=0,
    val_rows=FULL_STUDY.val_rows,
    test_rows=FULL_STUDY.test_rows,
)
"""A subset of :data:`FULL_STUDY` (replicate 0, smaller sizes) that reruns in seconds: every model it
trains is also in the full study, with the same data, so the two must agree to rounding."""


def _job(args: tuple[StudyConfig, Task, Architecture]) -> pd.DataFrame:
    cfg, task, arch = args
    return train_grid(
        task,
        arch,
        cfg.train_sizes,
        cfg.model_sizes,
        seed=cfg.seed,
        replicates=cfg.replicates_at,
        val_rows=cfg.val_rows,
        test_rows=cfg.test_rows,
    )


def run_study(config: StudyConfig, *, workers: int = 1, show_progress: bool = False) -> pd.DataFrame:
    """Train all (task, architecture) pairs of a study, in parallel processes if ``workers > 1``
    (the results do not depend on it). Rows are sorted by task, arch, replicate, examples, params."""
    jobs = [(config, t, a) for t, a in config.pairs]
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as ex:
            done = progress(ex.map(_job, jobs), total=len(jobs), desc="hestness study", disable=not show_progress)
            parts = list(done)
    else:
        parts = [_job(j) for j in progress(jobs, desc="hestness study", disable=not show_progress)]
    keys = ["task", "arch", "replicate", "examples", "params"]
    return pd.concat(parts, ignore_index=True).sort_values(keys, kind="stable").reset_index(drop=True)


def best_model_per_size(runs: pd.DataFrame) -> pd.DataFrame:
    """Hestness's selection: at each training-set size keep the model size with the lowest validation error.

    Errors are first averaged over replicates for each (task, arch, examples, params); the best size is
    the argmin of the mean validation error; ``test_error`` is that model's mean test error,
    ``test_error_sd`` its spread over replicates and ``params_refined`` the best size located between grid
    points (:func:`refine_best_size`).
    """
    keys = ["task", "arch", "examples", "params"]
    agg = runs.groupby(keys, sort=True).agg(
        val_error=("val_error", "mean"),
        test_error=("test_error", "mean"),
        test_error_sd=("test_error", "std"),
        replicates=("test_error", "size"),
    )
    agg = agg.reset_index()
    idx = agg.groupby(["task", "arch", "examples"], sort=True)["val_error"].idxmin()
    best = agg.loc[idx].reset_index(drop=True)
    best["params_refined"] = [
        refine_best_size(g["params"].to_numpy(), g["val_error"].to_numpy())
        for _, g in agg.groupby(["task", "arch", "examples"], sort=True)
    ]
    return best


def refine_best_size(params: ArrayLike, error: ArrayLike) -> float:
    """The best model size between grid points: the vertex of the parabola through the error at the grid
    minimum and its two neighbours, in ``log p`` (the grid must be geometric there). The vertex is kept
    within half a grid step of the grid minimum; at an end of the grid, or for size 0, the grid value."""
    p = np.asarray(params, dtype=float)
    e = np.asarray(error, dtype=float)
    order = np.argsort(p)
    p, e = p[order], e[order]
    j = int(np.argmin(e))
    if p[j] <= 0 or j == 0 or j == len(p) - 1 or p[j - 1] <= 0:
        return float(p[j])
    u = np.log(p[j - 1 : j + 2])
    step = 0.5 * (u[2] - u[0])
    curv = e[j - 1] - 2.0 * e[j] + e[j + 1]
    delta = 0.5 * step * (e[j - 1] - e[j + 1]) / curv if curv > 0 else 0.0
    return float(np.exp(u[1] + np.clip(delta, -0.5 * step, 0.5 * step)))


#: How far a rerun of the study may differ from the saved runs (relative error of each model).
#: Measured on one AVX-512 machine against the saved CSV (written on a Haswell-kernel machine):
#: SkylakeX kernel, 1 or 2 threads 9.4e-8; Prescott (generic x86-64) 7.6e-9; Haswell 4.0e-10. The
#: ridge solves are ill-conditioned, so the kernel's summation order shows at the 1e-7 level; 1e-5
#: leaves a 100x margin and is still far below anything a claim can see (exponents are claimed to 1e-3).
RERUN_REL_TOL = 1e-5


def compare_runs(saved: pd.DataFrame, rerun: pd.DataFrame, *, rel_tol: float = RERUN_REL_TOL) -> pd.DataFrame:
    """Join a rerun with saved runs on (task, arch, replicate, examples, params); raise if a rerun model is
    missing from the saved runs or any error differs by more than ``rel_tol`` (relative)."""
    keys = ["task", "arch", "replicate", "examples", "params"]
    j = rerun.merge(saved, on=keys, how="left", suffixes=("", "_saved"))
    if j["val_error_saved"].isna().any():
        missing = j.loc[j["val_error_saved"].isna(), keys].head()
        raise ValueError(f"rerun has models that the saved study lacks, e.g.\n{missing}")
    for col in ("val_error", "test_error"):
        j[f"{col}_rel_diff"] = np.abs(j[col] / j[f"{col}_saved"] - 1.0)
    worst = float(j[["val_error_rel_diff", "test_error_rel_diff"]].to_numpy().max())
    if worst > rel_tol:
        raise ValueError(f"rerun differs from the saved study by {worst:.3g} (relative) > {rel_tol:g}")
    return j


def oracle_learning_curve(
    task: Task, train_sizes: Iterable[int], model_sizes: Iterable[int], max_params_per_example: float = 0.5
) -> pd.DataFrame:
    """The theory curve for :class:`LinearPrefix`: at each ``m`` the model size on the same grid with the
    lowest *expected* test error (``task.expected_ols_error``; size 0 predicts 0) and that error."""
    out = []
    ps = np.array(sorted(p for p in model_sizes if p > 0), dtype=int)
    for m in sorted(train_sizes):
        ok = ps[ps <= max_params_per_example * m]
        err = np.concatenate([[task.bayes_error + 1.0], np.asarray(task.expected_ols_error(m, ok), dtype=float)])
        sizes = np.concatenate([[0], ok])
        i = int(np.argmin(err))
        out.append(
            {
                "examples": int(m),
                "params": int(sizes[i]),
                "test_error": float(err[i]),
                "params_refined": refine_best_size(sizes, err),
            }
        )
    return pd.DataFrame(out)


def analyse_study(
    best: pd.DataFrame, config: StudyConfig, *, n_bootstrap: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit every (task, arch) learning curve of a study the way the chapter reports it.

    For each curve (rows of :func:`best_model_per_size`): the excess error ``eps(m) - gamma`` over the
    task's known Bayes error ``gamma``; its power-law region (:func:`stable_slope_start`); there

    * ``beta_g``: a power law ``excess_coef * (m / region_start)**beta_g`` fitted to the excess (Hestness's
      form with ``gamma`` known), with bootstrap interval ``beta_g_lo``, ``beta_g_hi``;
    * ``beta_g_free``: Hestness's form with ``gamma`` free (:func:`fit_learning_curve`) and its fitted
      ``gamma_free``, to show what not knowing the floor costs;
    * ``beta_p``: :func:`fit_model_size` on the refined best sizes;
    * ``oracle_beta_g``, ``oracle_beta_p``: the same fits of the theory curve of :class:`LinearPrefix` on the
      same grid (:func:`oracle_learning_curve`), and ``theory_beta_g``, ``theory_beta_p``: the large-``m`` limits.

    Returns the table and a long table of curves for charts (``kind`` = measured, fit, oracle).
    Curve ``i`` uses bootstrap seeds ``seed + 3 i`` .. ``seed + 3 i + 2``.
    """
    tasks = {t.name: t for t, _ in config.pairs}
    rows, curves = [], []
    oracle_cache: dict[str, tuple[pd.DataFrame, CurveFit, CurveFit]] = {}
    for i, ((tname, aname), g) in enumerate(best.groupby(["task", "arch"], sort=False)):
        task = tasks[tname]
        g = g.sort_values("examples")
        m = g["examples"].to_numpy(dtype=float)
        err = g["test_error"].to_numpy(dtype=float)
        excess = err - task.bayes_error
        s = stable_slope_start(m, excess)
        known = fit_learning_curve(m, excess, n_bootstrap=n_bootstrap, seed=seed + 3 * i, start=s, saturating=False)
        free = fit_learning_curve(m, err, n_bootstrap=n_bootstrap, seed=seed + 3 * i + 1, start=s)
        size = fit_model_size(m, g["params_refined"], start=s, n_bootstrap=n_bootstrap, seed=seed + 3 * i + 2)
        if tname not in oracle_cache:
            o = oracle_learning_curve(task, config.train_sizes, config.model_sizes)
            om = o["examples"].to_numpy(dtype=float)
            oex = o["test_error"].to_numpy(dtype=float) - task.bayes_error
            os_ = stable_slope_start(om, oex)
            ofit = fit_learning_curve(om, oex, n_bootstrap=0, seed=0, start=os_, saturating=False)
            osize = fit_model_size(om, o["params_refined"], start=os_, n_bootstrap=0, seed=0)
            oracle_cache[tname] = (o, ofit, osize)
        o, ofit, osize = oracle_cache[tname]
        th_g, th_p = task.theory_exponents
        rows.append(
            {
                "task": tname,
                "arch": aname,
                "region_start": int(m[s]),
                "beta_g": known.exponent,
                "excess_coef": known.coef,
                "beta_g_lo": known.interval[0],
                "beta_g_hi": known.interval[1],
                "beta_g_free": free.exponent,
                "beta_g_free_lo": free.interval[0],
                "beta_g_free_hi": free.interval[1],
                "gamma_free": free.floor,
                "bayes_error": task.bayes_error,
                "beta_p": size.exponent,
                "beta_p_lo": size.interval[0],
                "beta_p_hi": size.interval[1],
                "oracle_beta_g": ofit.exponent,
                "oracle_beta_p": osize.exponent,
                "theory_beta_g": th_g,
                "theory_beta_p": th_p,
            }
        )
        fit_m = np.geomspace(m[s], m[-1], 30)
        om = o["examples"].to_numpy(dtype=float)
        oerr = o["test_error"].to_numpy(dtype=float)
        for kind, mm, ex_, er_, pp, reg in (
            ("measured", m, excess, err, g["params_refined"].to_numpy(dtype=float), np.arange(len(m)) >= s),
            ("fit", fit_m, known.predict(fit_m), known.predict(fit_m) + task.bayes_error, size.predict(fit_m), True),
            ("oracle", om, oerr - task.bayes_error, oerr, o["params_refined"].to_numpy(dtype=float), True),
        ):
            curves.append(
                pd.DataFrame(
                    {"task": tname, "arch": aname, "kind": kind, "examples": mm, "excess": ex_, "test_error": er_,
                     "params": pp, "in_region": reg}
                )
            )
    return pd.DataFrame(rows), pd.concat(curves, ignore_index=True)
