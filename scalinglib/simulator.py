"""A simulated training cluster for the capstone lab: small runs on a FLOP budget, a hidden loss surface.

The lab (``chapters/lab.md``) asks for the compute-optimal model size, data size and loss at a budget far
larger than the runs one can afford, the question of Hoffmann et al. 2022 and of Stanford CS336's
scaling-laws assignment. :class:`Simulator` plays the cluster:

* a **hidden ground truth**, drawn from ``seed``: the final loss of a run with ``N`` parameters, ``D``
  tokens and peak learning rate ``lr`` is

  .. math::

      L(N, D, \\mathrm{lr}) = E + \\frac{A}{N^{\\alpha}} + \\frac{B}{D^{\\beta}}
          + k \\left(\\ln \\frac{\\mathrm{lr}}{\\mathrm{lr}^*(N)}\\right)^2,
      \\qquad \\mathrm{lr}^*(N) = \\mathrm{lr}_0 \\left(\\frac{N}{10^8}\\right)^{-g},

  the parametric law of Hoffmann et al. 2022 (eq. 2) plus a learning-rate valley (the optimal learning
  rate falls with model size, as in Kaplan et al. 2020, eq. D.1, and a learning rate a factor ``r`` off
  the optimum costs ``k (ln r)**2`` nats). ``E, A, B, alpha, beta, lr0, g, k`` are drawn from ranges
  around published fits (:data:`TRUTH_RANGES`).
* **run-to-run noise**: the returned loss is ``L + sigma(N) z``, ``z ~ N(0, 1)``, with
  ``sigma(N) = noise_nats * (1e8 / N)**0.15`` nats (``noise_nats = 0.01`` by default: a hundredth of a nat
  at 1e8 parameters, twice that at 1e6; an assumption of the size of seed-to-seed differences).
  ``z`` is a deterministic function of ``(seed, N, D, lr, repeat)`` (``N, D, lr`` to 9 significant
  digits, so that another CPU's last-bit rounding does not change the draw): training the same
  configuration again gives a new draw, and the results do not depend on the order of the calls.
* **divergence**: a learning rate more than :data:`DIVERGENCE_FACTOR` times ``lr*(N)`` diverges; the
  run is charged and returns the loss of a uniform guess over the vocabulary, ``ln(vocab_size)``.
* **a FLOP ledger**: every run costs ``C = 6 N D`` FLOPs (Kaplan et al. 2020, Sec. 2.1), charged
  before it runs. A run that would overspend the budget is refused with :class:`BudgetExceededError`
  and charges nothing.

The learning rate is a keyword of :meth:`Simulator.train`; without it the simulator uses the public
rule of thumb :func:`default_lr`, which is *not* the hidden optimum.

:func:`score` compares a prediction with the truth (:meth:`Simulator.reveal_truth`), and
:func:`optimum_at_edge` flags a fitted optimum that sits at (or beyond) the edge of the tried grid.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from .allocation import ChinchillaLaw, optimal_loss, optimal_params_tokens

Array = NDArray[np.float64]

__all__ = [
    "DIVERGENCE_FACTOR",
    "LR_FACTORS",
    "MAX_PARAMS",
    "MIN_PARAMS",
    "MIN_TOKENS",
    "TRUTH_RANGES",
    "BudgetExceededError",
    "HiddenTruth",
    "LearningRateRule",
    "Run",
    "Simulator",
    "default_lr",
    "draw_truth",
    "fit_learning_rate_rule",
    "optimum_at_edge",
    "reference_solution",
    "run_isoflop_grid",
    "score",
    "sweep_learning_rate",
]

MIN_PARAMS: float = 1e5
"""Smallest model the simulated cluster trains (parameters)."""
MAX_PARAMS: float = 1e12
"""Largest model the simulated cluster trains (parameters)."""
MIN_TOKENS: float = 1e5
"""Fewest training tokens of a run."""
DIVERGENCE_FACTOR: float = 8.0
"""A learning rate above ``DIVERGENCE_FACTOR * lr*(N)`` diverges."""

TRUTH_RANGES: dict[str, tuple[float, float]] = {
    "E": (1.6, 2.0),
    "A_term": (0.6, 1.0),  # A / N**alpha at N = 1e8: Hoffmann 0.77, Besiroglu 0.79 (so A = A_term * 1e8**alpha)
    "B_term": (0.7, 1.1),  # B / D**beta at D = 2e9: Hoffmann 1.02, Besiroglu 0.82 (so B = B_term * 2e9**beta)
    "alpha": (0.30, 0.38),
    "beta": (0.27, 0.38),
    "log_lr0": (math.log(1e-3), math.log(4e-3)),  # optimal peak learning rate of a 1e8-parameter model
    "lr_exponent": (0.05, 0.5),  # lr*(N) ∝ N**-g: the rule of thumb (g = 0.25) can be off either way
    "lr_curvature": (0.04, 0.08),  # nats per (ln lr ratio)**2: a factor 2 off costs 0.02-0.04 nats
}
"""Uniform ranges the hidden truth is drawn from (``log_*`` uniform in the log). ``A`` and ``B`` are drawn
through the size of their terms at a reference scale, so that every truth has losses like a language
model's (Hoffmann et al. 2022: A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28, E = 1.69; Besiroglu et
al. 2024: A = 482.0, B = 2085.4, alpha = 0.3478, beta = 0.3658, E = 1.82)."""

_TOKENS_PER_PARAM_RANGE = (8.0, 120.0)  # the truth's compute-optimal D/N at 1e20 FLOPs is kept in this range
_VOCAB_SIZE = 32_000
_NOISE_EXPONENT = 0.15


class BudgetExceededError(ValueError):
    """A run would spend more FLOPs than remain in the ledger; it was not run and not charged."""


def default_lr(params: ArrayLike) -> Array:
    """The public rule of thumb for the peak learning rate: ``lr = 2e-3 * (params / 1e8)**-0.25``.

    A sensible first guess (the optimal learning rate of transformers falls slowly with size; Kaplan et
    al. 2020, eq. D.1), but not the simulator's hidden optimum: a careful experimenter tunes it.
    """
    n = np.asarray(params, dtype=float)
    if np.any(~np.isfinite(n)) or np.any(n <= 0):
        raise ValueError("params must be positive and finite")
    return 2e-3 * (n / 1e8) ** -0.25


@dataclass(frozen=True)
class HiddenTruth:
    """The simulator's ground truth (see the module docstring for the formula)."""

    law: ChinchillaLaw
    lr0: float  # optimal peak learning rate at 1e8 parameters
    lr_exponent: float  # g in lr*(N) = lr0 (N / 1e8)**-g
    lr_curvature: float  # k: nats per (ln lr / lr*)**2
    noise_nats: float  # standard deviation of the loss of a 1e8-parameter run, in nats

    def optimal_lr(self, params: ArrayLike) -> Array:
        """``lr*(N) = lr0 (N / 1e8)**-g``."""
        return self.lr0 * (np.asarray(params, dtype=float) / 1e8) ** -self.lr_exponent

    def mean_loss(self, params: ArrayLike, tokens: ArrayLike, lr: ArrayLike | None = None) -> Array:
        """Noise-free final loss; ``lr=None`` means the optimal learning rate."""
        base = self.law.loss(params, tokens)
        if lr is None:
            return base
        ratio = np.asarray(lr, dtype=float) / self.optimal_lr(params)
        return base + self.lr_curvature * np.log(ratio) ** 2

    def noise_sigma(self, params: ArrayLike) -> Array:
        """Run-to-run standard deviation of the loss in nats, ``noise_nats * (1e8 / N)**0.15``."""
        return self.noise_nats * (1e8 / np.asarray(params, dtype=float)) ** _NOISE_EXPONENT

    def compute_optimal(self, flops: float) -> dict[str, float]:
        """The truth's compute-optimal ``params``, ``tokens`` and ``loss`` at ``flops`` (``C = 6ND``,
        optimal learning rate, no noise): Hoffmann et al. 2022 eq. (4) on the hidden law."""
        n, d = optimal_params_tokens(flops, self.law)
        return {"params": float(n), "tokens": float(d), "loss": float(optimal_loss(flops, self.law))}


def _uniform(rng: np.random.Generator, key: str) -> float:
    lo, hi = TRUTH_RANGES[key]
    return float(rng.uniform(lo, hi))


def draw_truth(seed: int, noise_nats: float = 0.01) -> HiddenTruth:
    """Draw a hidden truth from :data:`TRUTH_RANGES` with ``numpy.random.default_rng(seed)``.

    Draws whose compute-optimal tokens per parameter at 1e20 FLOPs fall outside 8-120 are redrawn
    (deterministically), so every truth is a plausible language-model-like surface.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not (np.isfinite(noise_nats) and 0 <= noise_nats < 0.5):
        raise ValueError(f"noise_nats must be in [0, 0.5), got {noise_nats!r}")
    rng = np.random.default_rng([int(seed), 20260])
    while True:
        e, a_term, b_term = _uniform(rng, "E"), _uniform(rng, "A_term"), _uniform(rng, "B_term")
        alpha, beta = _uniform(rng, "alpha"), _uniform(rng, "beta")
        law = ChinchillaLaw(E=e, A=a_term * 1e8**alpha, B=b_term * 2e9**beta, alpha=alpha, beta=beta)
        lr0, g, k = math.exp(_uniform(rng, "log_lr0")), _uniform(rng, "lr_exponent"), _uniform(rng, "lr_curvature")
        n, d = optimal_params_tokens(1e20, law)
        if _TOKENS_PER_PARAM_RANGE[0] <= float(d / n) <= _TOKENS_PER_PARAM_RANGE[1]:
            return HiddenTruth(law=law, lr0=lr0, lr_exponent=g, lr_curvature=k, noise_nats=float(noise_nats))


@dataclass(frozen=True)
class Run:
    """One finished run: what was asked, what it cost, what it reached."""

    index: int
    params: float
    tokens: float
    lr: float
    flops: float
    loss: float
    repeat: int  # how many times this exact (params, tokens, lr) had been trained before
    diverged: bool


def _check_positive(name: str, value: float, lo: float, hi: float = math.inf) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < lo or v > hi:
        raise ValueError(f"{name} must be finite and in [{lo:.3g}, {hi:.3g}], got {value!r}")
    return v


def _config_key(params: float, tokens: float, lr: float) -> str:
    """A run's configuration to 9 significant digits: values that differ only in the last bits (a
    different CPU's rounding of a computed grid or learning rate) are the same run."""
    return f"{params:.9g}|{tokens:.9g}|{lr:.9g}"


def _noise_z(seed: int, config: str, repeat: int) -> float:
    """A standard normal draw keyed by the run's configuration (order-independent, deterministic)."""
    key = f"{seed}|{config}|{repeat}".encode()
    words = np.frombuffer(hashlib.sha256(key).digest(), dtype=np.uint32)
    return float(np.random.default_rng(np.random.SeedSequence(words.tolist())).standard_normal())


@dataclass
class Simulator:
    """A FLOP-budgeted training cluster over a hidden loss surface.

    ``Simulator(budget_flops=1e18, seed=0)``; :meth:`train` runs one model and charges ``6 N D`` FLOPs.
    Two simulators with the same ``seed`` and ``noise_nats`` have the same truth, and the same run
    gives the same loss in both.
    """

    budget_flops: float
    seed: int = 0
    noise_nats: float = 0.01
    _truth: HiddenTruth = field(init=False, repr=False)
    _runs: list[Run] = field(init=False, default_factory=list, repr=False)
    _repeats: dict[str, int] = field(init=False, default_factory=dict, repr=False)
    _spent: float = field(init=False, default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.budget_flops = _check_positive("budget_flops", self.budget_flops, 1.0)
        self._truth = draw_truth(self.seed, self.noise_nats)

    # ---------------------------------------------------------------- ledger
    @property
    def spent_flops(self) -> float:
        """FLOPs charged so far."""
        return self._spent

    @property
    def remaining_flops(self) -> float:
        """FLOPs left in the budget."""
        return self.budget_flops - self._spent

    @staticmethod
    def cost_flops(params: float, tokens: float) -> float:
        """What a run costs: ``6 N D`` FLOPs (Kaplan et al. 2020, Sec. 2.1)."""
        return 6.0 * float(params) * float(tokens)

    # ---------------------------------------------------------------- training
    def train(self, params: float, tokens: float, *, lr: float | None = None) -> Run:
        """Train a model of ``params`` parameters on ``tokens`` tokens with peak learning rate ``lr``.

        ``lr=None`` uses :func:`default_lr`. The run is charged ``6 * params * tokens`` FLOPs; if that is
        more than :attr:`remaining_flops`, it is refused with :class:`BudgetExceededError` and nothing
        is charged. Returns the :class:`Run` (its ``loss`` is the final test loss in nats per token).
        """
        n = _check_positive("params", params, MIN_PARAMS, MAX_PARAMS)
        d = _check_positive("tokens", tokens, MIN_TOKENS)
        rate = float(default_lr(n)) if lr is None else _check_positive("lr", lr, 1e-8, 10.0)
        cost = self.cost_flops(n, d)
        if cost > self.remaining_flops * (1.0 + 1e-12):
            raise BudgetExceededError(
                f"run refused: params={n:.4g} x tokens={d:.4g} costs 6ND = {cost:.4g} FLOPs, but only "
                f"{self.remaining_flops:.4g} of the {self.budget_flops:.4g} FLOP budget remain "
                f"({self._spent:.4g} spent on {len(self._runs)} runs); nothing was charged"
            )
        key = _config_key(n, d, rate)
        repeat = self._repeats.get(key, 0)
        self._repeats[key] = repeat + 1
        t = self._truth
        diverged = rate > DIVERGENCE_FACTOR * float(t.optimal_lr(n))
        if diverged:
            loss = math.log(_VOCAB_SIZE)
        else:
            z = _noise_z(self.seed, key, repeat)
            loss = float(t.mean_loss(n, d, rate)) + float(t.noise_sigma(n)) * z
        self._spent += cost
        run = Run(len(self._runs), n, d, rate, cost, loss, repeat, diverged)
        self._runs.append(run)
        return run

    def runs(self) -> pd.DataFrame:
        """Every run so far, one row each (columns: the fields of :class:`Run`)."""
        cols = ["index", "params", "tokens", "lr", "flops", "loss", "repeat", "diverged"]
        return pd.DataFrame([r.__dict__ for r in self._runs], columns=cols)

    # ---------------------------------------------------------------- the answer
    def reveal_truth(self) -> HiddenTruth:
        """The hidden truth. Call it only to score a finished prediction."""
        return self._truth


def score(prediction: dict[str, float], truth: HiddenTruth, flops: float) -> dict[str, float]:
    """Score a prediction of the compute-optimal run at ``flops`` against the hidden truth.

    ``prediction`` has ``params``, ``tokens`` and ``loss``. Returns the predicted / true ratios of
    ``params`` and ``tokens`` (``*_ratio``; 1 is perfect), their ``|log10|`` (``*_log10_error``), the
    relative loss error ``loss_rel_error = (predicted - true) / true`` and the true values
    (``true_params``, ``true_tokens``, ``true_loss``).
    """
    flops = _check_positive("flops", flops, 1.0)
    missing = {"params", "tokens", "loss"} - set(prediction)
    if missing:
        raise ValueError(f"prediction lacks {sorted(missing)}")
    for k in ("params", "tokens", "loss"):
        _check_positive(f"prediction[{k!r}]", prediction[k], 1e-300)
    true = truth.compute_optimal(flops)
    out: dict[str, float] = {}
    for k in ("params", "tokens"):
        r = float(prediction[k]) / true[k]
        out[f"{k}_ratio"] = r
        out[f"{k}_log10_error"] = abs(math.log10(r))
    out["loss_rel_error"] = (float(prediction["loss"]) - true["loss"]) / true["loss"]
    out.update({f"true_{k}": v for k, v in true.items()})
    return out


def optimum_at_edge(params_tried: ArrayLike, params_opt: float) -> str | None:
    """A warning if a fitted optimum is not inside the grid of model sizes tried, else ``None``.

    The optimum counts as at the edge when ``params_opt`` is below the second-smallest or above the
    second-largest size tried: the vertex of the fitted parabola is then pinned by a single point, or
    extrapolated beyond the grid. Use it on every IsoFLOP profile: a minimum at the edge of the grid is
    not a measured minimum (Hoffmann et al. 2022, Sec. 3.2, chose their grids to bracket it).
    """
    tried = np.unique(np.asarray(params_tried, dtype=float))
    if tried.size < 3 or np.any(~np.isfinite(tried)) or np.any(tried <= 0):
        raise ValueError("params_tried needs at least 3 distinct positive, finite sizes")
    if not (np.isfinite(params_opt) and params_opt > 0):
        raise ValueError(f"params_opt must be positive and finite, got {params_opt!r}")
    span = f"the grid {tried[0]:.3g} ... {tried[-1]:.3g}"
    if params_opt < tried[1]:
        return f"optimum N = {params_opt:.3g} is at the small edge of {span}: add smaller models"
    if params_opt > tried[-2]:
        return f"optimum N = {params_opt:.3g} is at the large edge of {span}: add larger models"
    return None


# --------------------------------------------------------------------------- the instructor's procedure
# Each step is a small function so the lab page can run them one at a time and the robustness check can
# run the whole procedure (:func:`reference_solution`) on many hidden surfaces with the same code.

LR_FACTORS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
"""Learning rates tried in :func:`sweep_learning_rate`, as multiples of :func:`default_lr`."""


def sweep_learning_rate(
    sim: Simulator, params: ArrayLike, tokens: float, factors: ArrayLike = LR_FACTORS
) -> pd.DataFrame:
    """Train each model size in ``params`` on ``tokens`` tokens at ``factor * default_lr(N)`` for every factor.

    Returns the runs (the :meth:`Simulator.runs` columns plus ``size_index``). Charges the ledger.
    """
    sizes = np.asarray(params, dtype=float)
    fac = np.asarray(factors, dtype=float)
    if sizes.ndim != 1 or sizes.size < 2:
        raise ValueError("params must list at least 2 model sizes")
    if fac.ndim != 1 or fac.size < 3 or np.any(~np.isfinite(fac)) or np.any(fac <= 0):
        raise ValueError("factors must list at least 3 positive learning-rate multiples")
    rows = []
    for i, n in enumerate(sizes):
        for f in fac:
            run = sim.train(float(n), tokens, lr=float(f * default_lr(n)))
            rows.append({**run.__dict__, "size_index": i})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class LearningRateRule:
    """``lr(N) = coef * N**exponent``, fitted to the best learning rate of each swept size."""

    coef: float
    exponent: float
    params: Array  # the swept sizes
    lr_best: Array  # the vertex of each size's parabola in ln lr
    coefficients: Array  # (n_sizes, 3): loss = c2 (ln lr)**2 + c1 ln lr + c0
    n_diverged: int

    def __call__(self, params: ArrayLike) -> Array:
        return self.coef * np.asarray(params, dtype=float) ** self.exponent


def fit_learning_rate_rule(sweep: pd.DataFrame) -> LearningRateRule:
    """Best learning rate per size, then a power law across sizes.

    Per size, a least-squares parabola of the loss in ``ln lr`` (:func:`scalinglib.isoflop.fit_parabolas`,
    which fits ``c2 (ln x)**2 + c1 ln x + c0`` for any positive ``x``) gives ``lr_best = exp(-c1 / 2 c2)``;
    :func:`scalinglib.isoflop.power_law_fit` fits ``lr_best = coef * N**exponent``. Diverged runs are
    left out (their loss is not on the valley).
    """
    from .isoflop import fit_parabolas, parabola_vertex_params, power_law_fit

    need = {"params", "lr", "loss", "diverged", "size_index"}
    if not need <= set(sweep.columns):
        raise ValueError(f"sweep needs columns {sorted(need)}")
    ok = sweep[~sweep["diverged"].astype(bool)]
    n_sizes = int(sweep["size_index"].max()) + 1
    coefs = fit_parabolas(ok["lr"], ok["loss"], ok["size_index"], n_sizes)
    best = parabola_vertex_params(coefs)
    if np.any(~np.isfinite(best)):
        raise ValueError("a learning-rate sweep has no minimum (the loss is not convex in ln lr): widen the factors")
    sizes = sweep.groupby("size_index")["params"].first().to_numpy()
    coef, exponent = power_law_fit(sizes, best)
    return LearningRateRule(float(coef), float(exponent), sizes, best, coefs, int(len(sweep) - len(ok)))


def run_isoflop_grid(
    sim: Simulator,
    budgets_flops: ArrayLike,
    lr_rule: LearningRateRule | None = None,
    *,
    n_sizes: int = 6,
    half_width: float = 1.6,
    tokens_per_param_guess: float = 20.0,
) -> pd.DataFrame:
    """IsoFLOP profiles: for each budget ``C``, ``n_sizes`` model sizes log-spaced over
    ``N_guess * exp(±half_width)`` around the guess ``N_guess = sqrt(C / (6 * tokens_per_param_guess))``,
    each trained on ``D = C / 6N`` tokens at ``lr_rule(N)`` (or :func:`default_lr`).

    Returns the runs with ``budget_index`` and ``budget_flops`` columns. Charges the ledger.
    """
    budgets = np.asarray(budgets_flops, dtype=float)
    if budgets.ndim != 1 or budgets.size < 2 or np.any(~np.isfinite(budgets)) or np.any(budgets <= 0):
        raise ValueError("budgets_flops must list at least 2 positive budgets")
    if int(n_sizes) != n_sizes or n_sizes < 3:
        raise ValueError(f"n_sizes must be an integer >= 3, got {n_sizes!r}")
    if not (np.isfinite(half_width) and half_width > 0):
        raise ValueError(f"half_width must be positive, got {half_width!r}")
    if not (np.isfinite(tokens_per_param_guess) and tokens_per_param_guess > 0):
        raise ValueError(f"tokens_per_param_guess must be positive, got {tokens_per_param_guess!r}")
    rows = []
    for k, c in enumerate(budgets):
        guess = math.sqrt(c / (6.0 * tokens_per_param_guess))
        for n in guess * np.exp(np.linspace(-half_width, half_width, int(n_sizes))):
            lr = None if lr_rule is None else float(lr_rule(n))
            run = sim.train(float(n), float(c / (6.0 * n)), lr=lr)
            rows.append({**run.__dict__, "budget_index": k, "budget_flops": float(c)})
    return pd.DataFrame(rows)


def reference_solution(
    seed: int,
    *,
    budget_flops: float = 1e18,
    target_flops: float = 1e20,
    sweep_params: ArrayLike = (3e6, 1e7, 3e7),
    sweep_tokens: float = 5e7,
    budgets_flops: ArrayLike = (1e15, 3e15, 1e16, 3e16, 1e17),
    n_sizes: int = 6,
    n_bootstrap: int = 0,
    bootstrap_seed: int = 0,
) -> dict[str, object]:
    """The lab's instructor solution on the hidden surface ``seed``, end to end.

    1. sweep the learning rate at ``sweep_params`` (:func:`sweep_learning_rate`) and fit a rule
       (:func:`fit_learning_rate_rule`);
    2. IsoFLOP profiles of ``n_sizes`` models at ``budgets_flops`` with that rule (:func:`run_isoflop_grid`), checked with
       :func:`optimum_at_edge`; Approach 2 (:func:`scalinglib.isoflop.fit_isoflop`) extrapolated to
       ``target_flops``;
    3. the parametric law of Hoffmann et al. 2022 fitted to the IsoFLOP runs with a bootstrap
       (:func:`scalinglib.userfit.fit_runs`): its compute-optimal ``params``, ``tokens``, ``loss`` at
       ``target_flops`` are the submitted answer.

    Returns ``prediction``, ``isoflop_prediction``, ``score`` (:func:`score`), ``isoflop_score``,
    ``edge_warnings``, ``spent_flops``, the fitted objects (``lr_rule``, ``isoflop``, ``report``) and
    the runs (``sweep``, ``grid``).
    """
    from .isoflop import fit_isoflop
    from .userfit import fit_runs

    sim = Simulator(budget_flops, seed=seed)
    sweep = sweep_learning_rate(sim, sweep_params, sweep_tokens)
    rule = fit_learning_rate_rule(sweep)
    grid = run_isoflop_grid(sim, budgets_flops, rule, n_sizes=n_sizes)
    iso = fit_isoflop(grid["params"], grid["loss"], grid["budget_index"], np.asarray(budgets_flops, dtype=float))
    edges = [
        w
        for k in range(len(iso.budgets_flops))
        if (w := optimum_at_edge(grid.loc[grid["budget_index"] == k, "params"], float(iso.params_opt[k]))) is not None
    ]
    report = fit_runs(grid[["params", "tokens", "loss"]], law="chinchilla", bootstrap=n_bootstrap,
                      seed=bootstrap_seed, budget=target_flops)
    point = report.budget[0]  # type: ignore[index]
    prediction = {"params": float(point["params"]), "tokens": float(point["tokens"]), "loss": float(point["loss"])}
    iso_prediction = {"params": float(iso.params_at(target_flops)), "tokens": float(iso.tokens_at(target_flops)),
                      "loss": prediction["loss"]}
    truth = sim.reveal_truth()
    return {
        "prediction": prediction,
        "isoflop_prediction": iso_prediction,
        "score": score(prediction, truth, target_flops),
        "isoflop_score": score(iso_prediction, truth, target_flops),
        "edge_warnings": edges,
        "spent_flops": sim.spent_flops,
        "lr_rule": rule,
        "isoflop": iso,
        "report": report,
        "sweep": sweep,
        "grid": grid,
    }
