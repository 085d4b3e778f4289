"""Fit a scaling law to *your own* runs: ``python -m scalinglib fit RUNS.csv`` and :func:`fit_runs`.

A runs table has one row per training run with columns ``params`` (N), ``tokens`` (D) and
``loss``; optional ``flops`` (C; default ``6 N D``, Kaplan et al. 2020, Sec. 2.1), ``group``
(runs that share a seed or data and must be resampled together) and ``weight`` (a positive
weight per run in the objective). The fit minimises

    J(theta) = sum_i w_i rho(log L_hat(theta; N_i, D_i, C_i) - log L_i)

with ``rho`` the Huber loss with threshold ``delta`` (Hoffmann et al. 2022, App. D.2) or half the
squared error, from every start of a grid, with :func:`scalinglib.fitting.fit` (batched L-BFGS from
all starts, then a scipy L-BFGS-B polish of the best one). Laws (all in log space):

* ``chinchilla``: ``L = E + A / N**alpha + B / D**beta`` (Hoffmann et al. 2022, eq. 2);
* ``gadre``: the same with one exponent, ``L = E + A / N**eta2 + B / D**eta2``, which is Gadre et
  al. 2024's ``L(C, M) = E + (a M**eta + b M**-eta) C**-eta`` (their eq. 4) with ``D = M N``,
  ``C = 6 N D``, ``eta2 = 2 eta``, ``a = A 6**eta``, ``b = B 6**eta``;
* ``kaplan``: ``L = [(N_c / N)**(alpha_N / alpha_D) + D_c / D]**alpha_D`` (Kaplan et al. 2020, eq. 1.5);
* ``power_c``: ``L = E + A C**-gamma`` in compute alone (Kaplan et al. 2020, eq. 1.3 with a floor).

Uncertainty: a nonparametric bootstrap (whole groups resampled when ``group`` is given), all
resamples fitted together by :func:`scalinglib.fitting.minimize_batched`, warm-started at the
optimum. Each prediction has a *confidence* interval (the spread of the law over resamples) and a
*prediction* interval that adds, per resample, one residual drawn from the fit's log residuals
(the scatter of a single new run around the law).

Warnings are structured (``code`` and a sentence): ``underdetermined``, ``start_grid_edge``,
``parameter_at_bound``, ``optimum_not_unique``, ``extrapolation``, ``outliers``.
Bad input raises :class:`RunsError` (a ``ValueError``) naming the row and the column; the CLI
writes nothing in that case.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar

from .allocation import ChinchillaLaw, optimal_loss, optimal_params_tokens
from .fitting import CHINCHILLA, LogModel, fit, huber, minimize_batched, start_grid

Array = NDArray[np.float64]

__all__ = [
    "LAWS",
    "WARNING_CODES",
    "FitReport",
    "Law",
    "RunsError",
    "add_cli",
    "fit_runs",
    "format_summary",
    "group_bootstrap_counts",
    "law_starts",
    "plot_report",
    "read_runs",
    "read_targets",
    "run_cli",
]

WARNING_CODES = (
    "underdetermined",
    "start_grid_edge",
    "parameter_at_bound",
    "optimum_not_unique",
    "extrapolation",
    "outliers",
)


class RunsError(ValueError):
    """A runs (or targets) table is unusable; the message names the row and the column."""


# --------------------------------------------------------------------------- laws


def _gadre_vjp(thetas: Array, logx: Array) -> tuple[Array, Callable[[Array], Array]]:
    th = np.atleast_2d(np.asarray(thetas, dtype=float))
    full = np.concatenate([th, th[:, 3:4]], axis=1)  # (a, b, e, eta2, eta2)
    pred, vjp5 = CHINCHILLA.log_predict_vjp(full, logx)  # type: ignore[misc]

    def vjp(u: Array) -> Array:
        g = vjp5(u)
        return np.concatenate([g[:, :3], g[:, 3:4] + g[:, 4:5]], axis=1)

    return pred, vjp


def _kaplan_vjp(thetas: Array, logx: Array) -> tuple[Array, Callable[[Array], Array]]:
    th = np.atleast_2d(np.asarray(thetas, dtype=float))
    log_nc, log_dc, alpha_n, alpha_d = (th[:, k : k + 1] for k in range(4))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = alpha_n / alpha_d
    u_n = log_nc - logx[:, 0]
    t1 = ratio * u_n
    t2 = log_dc - logx[:, 1]
    m = np.maximum(t1, t2)
    e1, e2 = np.exp(t1 - m), np.exp(t2 - m)
    tot = e1 + e2
    lse = m + np.log(tot)
    s1 = e1 / tot
    s2 = 1.0 - s1
    pred = alpha_d * lse

    def vjp(u: Array) -> Array:
        return np.stack(
            [
                ((u * s1) * alpha_n).sum(axis=1),
                ((u * s2) * alpha_d).sum(axis=1),
                (u * s1 * u_n).sum(axis=1),
                (u * (lse - s1 * t1)).sum(axis=1),
            ],
            axis=-1,
        )

    return pred, vjp


def _sat_c_vjp(thetas: Array, logx: Array) -> tuple[Array, Callable[[Array], Array]]:
    th = np.atleast_2d(np.asarray(thetas, dtype=float))
    log_a, gamma, log_e = (th[:, k : k + 1] for k in range(3))
    t = log_a - gamma * logx[:, 2]
    e = np.broadcast_to(log_e, t.shape)
    m = np.maximum(t, e)
    ex_t, ex_e = np.exp(t - m), np.exp(e - m)
    tot = ex_t + ex_e
    s_t = ex_t / tot

    def vjp(u: Array) -> Array:
        ut = u * s_t
        return np.stack([ut.sum(axis=1), -(ut @ logx[:, 2]), (u - ut).sum(axis=1)], axis=-1)

    return m + np.log(tot), vjp


def _one(vjp: Callable[[Array, Array], tuple[Array, Callable]]) -> Callable[[Array, Array], Array]:
    return lambda theta, logx: vjp(np.asarray(theta, dtype=float)[None, :], logx)[0][0]


def _prepare_ndc(x: Array) -> Array:
    """Columns (N, D, C) -> their natural logs."""
    return np.log(np.asarray(x, dtype=float))


@dataclass(frozen=True)
class Law:
    """A law the ``fit`` command knows: its log-space model, default start grid and allowed ranges."""

    name: str
    model: LogModel
    grid: dict[str, tuple[float, ...]]
    bounds: dict[str, tuple[float, float]]
    uses: tuple[str, ...]  # which of params / tokens / flops it needs to vary
    formula: str
    natural: Callable[[Array], dict[str, float]]
    exponents: tuple[str, ...]

    @property
    def n_params(self) -> int:
        return len(self.model.param_names)


def _chin_natural(t: Array) -> dict[str, float]:
    return {"E": float(np.exp(t[2])), "A": float(np.exp(t[0])), "B": float(np.exp(t[1])), "alpha": float(t[3]), "beta": float(t[4])}


def _gadre_natural(t: Array) -> dict[str, float]:
    eta = float(t[3]) / 2.0
    return {
        "E": float(np.exp(t[2])),
        "A": float(np.exp(t[0])),
        "B": float(np.exp(t[1])),
        "eta": eta,
        "a_gadre": float(np.exp(t[0]) * 6.0**eta),
        "b_gadre": float(np.exp(t[1]) * 6.0**eta),
    }


def _kaplan_natural(t: Array) -> dict[str, float]:
    return {"N_c": float(np.exp(t[0])), "D_c": float(np.exp(t[1])), "alpha_N": float(t[2]), "alpha_D": float(t[3])}


def _power_c_natural(t: Array) -> dict[str, float]:
    return {"E": float(np.exp(t[2])), "A": float(np.exp(t[0])), "gamma": float(t[1])}


_CHIN_MODEL = LogModel(
    name="chinchilla",
    param_names=CHINCHILLA.param_names,
    log_predict=lambda theta, logx: CHINCHILLA.log_predict(theta, logx[:, :2]),
    jacobian=lambda theta, logx: CHINCHILLA.jacobian(theta, logx[:, :2]),  # type: ignore[misc]
    prepare=_prepare_ndc,
    log_predict_vjp=lambda thetas, logx: CHINCHILLA.log_predict_vjp(thetas, logx[:, :2]),  # type: ignore[misc]
)

_LOG_E = (-1.0, 0.5, 1.0)
_LOG_AB = (0.0, 6.0, 12.0, 20.0)
_EXPONENTS = (0.1, 0.35, 0.7, 1.2)  # no 0: a zero exponent is a flat start that never moves
LAWS: dict[str, Law] = {
    "chinchilla": Law(
        name="chinchilla",
        model=_CHIN_MODEL,
        grid={"a": _LOG_AB, "b": _LOG_AB, "e": _LOG_E, "alpha": _EXPONENTS, "beta": _EXPONENTS},
        bounds={"a": (-30.0, 60.0), "b": (-30.0, 60.0), "e": (-10.0, 5.0), "alpha": (0.0, 3.0), "beta": (0.0, 3.0)},
        uses=("params", "tokens"),
        formula="L = E + A/N^alpha + B/D^beta",
        natural=_chin_natural,
        exponents=("alpha", "beta"),
    ),
    "gadre": Law(
        name="gadre",
        model=LogModel(
            name="gadre",
            param_names=("a", "b", "e", "eta2"),
            log_predict=_one(lambda th, lx: _gadre_vjp(th, lx[:, :2])),
            prepare=_prepare_ndc,
            log_predict_vjp=lambda th, lx: _gadre_vjp(th, lx[:, :2]),
        ),
        grid={"a": _LOG_AB, "b": _LOG_AB, "e": _LOG_E, "eta2": _EXPONENTS},
        bounds={"a": (-30.0, 60.0), "b": (-30.0, 60.0), "e": (-10.0, 5.0), "eta2": (0.0, 3.0)},
        uses=("params", "tokens"),
        formula="L = E + (a M^eta + b M^-eta) C^-eta  (= E + A/N^(2 eta) + B/D^(2 eta), D = M N, C = 6 N D)",
        natural=_gadre_natural,
        exponents=("eta2",),
    ),
    "kaplan": Law(
        name="kaplan",
        model=LogModel(
            name="kaplan",
            param_names=("log_nc", "log_dc", "alpha_n", "alpha_d"),
            log_predict=_one(_kaplan_vjp),
            prepare=_prepare_ndc,
            log_predict_vjp=_kaplan_vjp,
        ),
        grid={"log_nc": (20.0, 30.0, 40.0), "log_dc": (20.0, 30.0, 40.0), "alpha_n": (0.05, 0.1, 0.3),
              "alpha_d": (0.05, 0.1, 0.3)},
        bounds={"log_nc": (-10.0, 120.0), "log_dc": (-10.0, 120.0), "alpha_n": (1e-4, 3.0), "alpha_d": (1e-4, 3.0)},
        uses=("params", "tokens"),
        formula="L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D",
        natural=_kaplan_natural,
        exponents=("alpha_n", "alpha_d"),
    ),
    "power_c": Law(
        name="power_c",
        model=LogModel(
            name="power_c",
            param_names=("log_a", "gamma", "e"),
            log_predict=_one(_sat_c_vjp),
            prepare=_prepare_ndc,
            log_predict_vjp=_sat_c_vjp,
        ),
        grid={"log_a": (0.0, 5.0, 10.0, 20.0), "gamma": (0.0, 0.05, 0.1, 0.3, 0.5), "e": _LOG_E},
        bounds={"log_a": (-30.0, 120.0), "gamma": (0.0, 3.0), "e": (-10.0, 5.0)},
        uses=("flops",),
        formula="L = E + A C^-gamma",
        natural=_power_c_natural,
        exponents=("gamma",),
    ),
}
"""The laws of ``fit --law``. Parameters are in the log-space parametrisation of App. D.2 of
Hoffmann et al. 2022 (``a = log A`` etc.); ``natural`` gives the printed constants."""

GRID_SCALES = ("small", "default", "large")


def _law(name: str) -> Law:
    if name not in LAWS:
        raise ValueError(f"law must be one of {sorted(LAWS)}, got {name!r}")
    return LAWS[name]


def law_starts(law: Law, grid: str | Array = "default") -> Array:
    """The start grid: ``"default"`` (the law's grid), ``"small"`` (every other value of each axis),
    ``"large"`` (each axis refined with midpoints), or an explicit array ``(n_starts, p)``."""
    if not isinstance(grid, str):
        starts = np.atleast_2d(np.asarray(grid, dtype=float))
        if starts.shape[1] != law.n_params or not np.all(np.isfinite(starts)):
            raise ValueError(f"grid: each start needs {law.n_params} finite values {law.model.param_names}")
        return starts
    if grid not in GRID_SCALES:
        raise ValueError(f"grid must be one of {GRID_SCALES} or an array of starts, got {grid!r}")
    axes = {}
    for k, vals in law.grid.items():
        v = list(vals)
        if grid == "small":
            v = v[::2] if len(v) > 2 else v
        elif grid == "large" and len(v) > 1:
            v = sorted(set(v) | {(x + y) / 2 for x, y in itertools.pairwise(v)})
        axes[k] = v
    return start_grid(**axes)


# --------------------------------------------------------------------------- input


def _check_table(df: pd.DataFrame, required: Sequence[str], optional_numeric: Sequence[str], what: str) -> pd.DataFrame:
    """Validate ``df`` (rows numbered as in the file: header = line 1, first data row = line 2)."""
    if not isinstance(df, pd.DataFrame):
        raise RunsError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    cols = [str(c).strip() for c in df.columns]
    df = df.copy()
    df.columns = cols
    missing = [c for c in required if c not in cols]
    if missing:
        raise RunsError(f"{what}: missing column(s) {missing}; found {cols}. Required: {list(required)}")
    if len(df) == 0:
        raise RunsError(f"{what}: no rows")
    out = pd.DataFrame(index=df.index)
    for c in [*required, *[o for o in optional_numeric if o in cols]]:
        vals = pd.to_numeric(df[c], errors="coerce")
        for i, (raw, v) in enumerate(zip(df[c].tolist(), vals.tolist(), strict=True)):
            line = i + 2
            if v is None or not np.isfinite(v):
                shown = "empty" if raw is None or (isinstance(raw, float) and np.isnan(raw)) or str(raw).strip() == "" else repr(raw)
                raise RunsError(f"{what}: row {i + 1} (line {line}), column {c!r}: {shown} is not a finite number")
            if v <= 0:
                raise RunsError(f"{what}: row {i + 1} (line {line}), column {c!r}: {raw!r} must be positive")
        out[c] = vals.astype(float)
    return out


def read_runs(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read and validate a runs table (a CSV path or a DataFrame).

    Returns columns ``params, tokens, loss, flops, group, weight`` (``flops = 6 N D`` and
    ``weight = 1`` when absent; ``group`` = the row number when absent). Raises :class:`RunsError`
    naming the row and column for a missing column, an empty / non-numeric / NaN / non-positive
    value, a duplicated run, or a single model size.
    """
    raw = _read(source, "runs")
    df = _check_table(raw, ["params", "tokens", "loss"], ["flops", "weight"], "runs")
    if "flops" not in df:
        df["flops"] = 6.0 * df["params"] * df["tokens"]
    if "weight" not in df:
        df["weight"] = 1.0
    cols = [str(c).strip() for c in raw.columns]
    if "group" in cols:
        g = raw.iloc[:, cols.index("group")]
        empty = g.isna() | (g.astype(str).str.strip() == "")
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise RunsError(f"runs: row {i + 1} (line {i + 2}), column 'group': empty (give every run a group, or drop the column)")
        df["group"] = g.astype(str).str.strip().to_numpy()
    else:
        df["group"] = [f"run{i + 1}" for i in range(len(df))]
    key = df[["params", "tokens", "loss", "group"]] if "group" in cols else df[["params", "tokens", "loss"]]
    dup = key.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((key == key.iloc[i]).all(axis=1).to_numpy())[0])
        raise RunsError(
            f"runs: row {i + 1} (line {i + 2}) duplicates row {first + 1} (line {first + 2}) in columns "
            f"{list(key.columns)}; remove it, or give repeated seeds distinct 'group' values"
        )
    if df["params"].nunique() < 2:
        raise RunsError(
            f"runs: column 'params' has a single model size ({df['params'].iloc[0]:.4g}) in all {len(df)} rows; "
            "a scaling law needs at least two (better: four or more) model sizes"
        )
    return df.reset_index(drop=True)


def read_targets(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read and validate a targets table: columns ``params``, ``tokens`` (optional ``flops``, ``name``)."""
    raw = _read(source, "targets")
    df = _check_table(raw, ["params", "tokens"], ["flops"], "targets")
    if "flops" not in df:
        df["flops"] = 6.0 * df["params"] * df["tokens"]
    cols = [str(c).strip() for c in raw.columns]
    df["name"] = raw.iloc[:, cols.index("name")].astype(str).to_numpy() if "name" in cols else [f"target{i + 1}" for i in range(len(df))]
    return df.reset_index(drop=True)


def _read(source: str | Path | pd.DataFrame, what: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if not path.is_file():
        raise RunsError(f"{what}: no such file {path}")
    try:
        return pd.read_csv(path, comment="#", skipinitialspace=True, dtype=str, keep_default_na=False, na_values=[""])
    except Exception as exc:  # pandas raises many kinds
        raise RunsError(f"{what}: {path} is not a readable CSV ({exc})") from exc


# --------------------------------------------------------------------------- bootstrap


def group_bootstrap_counts(groups: Sequence[str], n_resamples: int, seed: int) -> Array:
    """Run multiplicities of ``n_resamples`` bootstrap resamples that draw whole *groups*.

    With ``G`` groups, resample ``k`` draws ``G`` groups uniformly with replacement
    (``numpy.random.default_rng(seed).multinomial``); every run of a group drawn ``c`` times gets
    weight ``c``. With one run per group this is the ordinary bootstrap of
    :func:`scalinglib.fitting.bootstrap_counts` (same draws for the same seed).
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if len(groups) == 0:
        raise ValueError("groups must name at least one group")
    labels, inverse = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    # keep the groups in order of first appearance so the draws do not depend on label spelling
    first = np.array([np.flatnonzero(inverse == g)[0] for g in range(len(labels))])
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    g_idx = rank[inverse]
    n_groups = len(labels)
    rng = np.random.default_rng(seed)
    gc = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=n_resamples).astype(float)
    return gc[:, g_idx]


def _batch_value_grad(model: LogModel, feats: Array, logy: Array, loss: str, delta: float, weights: Array):
    """Objective and gradient of many weighted problems at once (weights: one row per problem).
    The same objective as :func:`scalinglib.fitting.fit` with ``reduce="sum"``."""
    forward = model.log_predict_vjp

    def value_grad(theta: Array, rows: NDArray[np.intp]) -> tuple[Array, Array]:
        w = weights[rows]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            pred, vjp = forward(theta, feats)  # type: ignore[misc]
            r = pred - logy
            if loss == "huber":
                value, dr = huber(r, delta)
            else:
                value, dr = 0.5 * r * r, r
            return np.einsum("kn,kn->k", value, w), vjp(dr * w)

    return value_grad


# --------------------------------------------------------------------------- report


@dataclass
class FitReport:
    """What :func:`fit_runs` found; :meth:`to_dict` is the JSON the CLI writes."""

    law: str
    formula: str
    theta: Array
    param_names: tuple[str, ...]
    natural: dict[str, float]
    objective: dict[str, Any]
    starts: dict[str, Any]
    intervals: dict[str, tuple[float, float]]
    natural_intervals: dict[str, tuple[float, float]]
    fitted_range: dict[str, tuple[float, float]]
    n_runs: int
    n_groups: int
    residuals: Array
    predictions: list[dict[str, Any]]
    budget: dict[str, Any] | None
    warnings: list[dict[str, str]]
    bootstrap: dict[str, Any]
    thetas_boot: Array = field(repr=False)
    runs: pd.DataFrame = field(repr=False)

    def predict(self, params: Sequence[float] | Array, tokens: Sequence[float] | Array, flops: Sequence[float] | Array | None = None) -> Array:
        """The fitted law's loss at (N, D[, C]) (``C = 6 N D`` if not given)."""
        n = np.asarray(params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        c = 6.0 * n * d if flops is None else np.asarray(flops, dtype=float)
        return np.exp(_law(self.law).model.log_predict(self.theta, np.log(np.stack([n, d, c], axis=-1))))

    @property
    def warning_codes(self) -> list[str]:
        return [w["code"] for w in self.warnings]

    def to_dict(self) -> dict[str, Any]:
        params = {k: {"value": float(v), "lo": _f(self.intervals.get(k, (None, None))[0]), "hi": _f(self.intervals.get(k, (None, None))[1])}
                  for k, v in zip(self.param_names, self.theta, strict=True)}
        natural = {k: {"value": v, "lo": _f(self.natural_intervals.get(k, (None, None))[0]), "hi": _f(self.natural_intervals.get(k, (None, None))[1])}
                   for k, v in self.natural.items()}
        return {
            "law": self.law,
            "formula": self.formula,
            "parameters": params,
            "constants": natural,
            "objective": self.objective,
            "starts": self.starts,
            "n_runs": self.n_runs,
            "n_groups": self.n_groups,
            "fitted_range": {k: [float(a), float(b)] for k, (a, b) in self.fitted_range.items()},
            "bootstrap": self.bootstrap,
            "predictions": self.predictions,
            "budget": self.budget,
            "warnings": self.warnings,
        }


def _f(v: float | None) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def _warn(code: str, message: str) -> dict[str, str]:
    assert code in WARNING_CODES
    return {"code": code, "message": message}


def _pct(a: Array, level: float, axis: int = 0) -> tuple[Array, Array]:
    q = 100.0 * (1.0 - level) / 2.0
    return np.percentile(a, q, axis=axis), np.percentile(a, 100.0 - q, axis=axis)


def _decades_outside(v: float, lo: float, hi: float) -> float:
    if v > hi:
        return float(np.log10(v / hi))
    if v < lo:
        return float(-np.log10(lo / v))
    return 0.0


def _to_chinchilla(law: Law, theta: Array) -> ChinchillaLaw | None:
    if law.name == "chinchilla":
        return ChinchillaLaw.from_logs(theta[2], theta[0], theta[1], float(theta[3]), float(theta[4]))
    if law.name == "gadre":
        return ChinchillaLaw.from_logs(theta[2], theta[0], theta[1], float(theta[3]), float(theta[3]))
    return None


def _kaplan_optimum(theta: Array, flops: float) -> tuple[float, float, float]:
    """Numerical compute-optimal (N, D, L) of the Kaplan law under ``C = 6 N D``: minimise over log N."""
    model = LAWS["kaplan"].model
    log_c6 = np.log(flops / 6.0)

    def f(log_n: float) -> float:
        lx = np.array([[log_n, log_c6 - log_n, np.log(flops)]])
        return float(model.log_predict(theta, lx)[0])

    res = minimize_scalar(f, bounds=(0.0, log_c6), method="bounded", options={"xatol": 1e-10})
    n = float(np.exp(res.x))
    return n, flops / (6.0 * n), float(np.exp(res.fun))


def _budget_point(law: Law, theta: Array, flops: float) -> tuple[float | None, float | None, float]:
    cl = _to_chinchilla(law, theta)
    if cl is not None:
        if cl.alpha <= 0 or cl.beta <= 0:
            return None, None, float("nan")
        n, d = optimal_params_tokens(flops, cl)
        return float(n), float(d), float(optimal_loss(flops, cl))
    if law.name == "kaplan":
        return _kaplan_optimum(theta, flops)
    lx = np.array([[0.0, 0.0, np.log(flops)]])
    return None, None, float(np.exp(law.model.log_predict(theta, lx)[0]))


# --------------------------------------------------------------------------- the fit


def fit_runs(
    runs: pd.DataFrame | str | Path,
    *,
    law: str = "chinchilla",
    loss: str = "huber",
    delta: float = 1e-3,
    grid: str | Array = "default",
    bootstrap: int = 0,
    seed: int = 0,
    predict: pd.DataFrame | str | Path | None = None,
    budget: float | Sequence[float] | None = None,
    level: float = 0.9,
    max_extrapolation: float = 1.0,
    outlier_threshold: float = 4.0,
    tol: float = 1e-6,
) -> FitReport:
    """Fit ``law`` to ``runs`` (see the module docstring), bootstrap it and predict.

    ``runs``: a DataFrame or CSV path with ``params, tokens, loss`` (optional ``flops, group, weight``).
    ``loss``: ``"huber"`` (threshold ``delta`` on log residuals) or ``"squared"``.
    ``grid``: ``"small" | "default" | "large"`` or an array of starts.
    ``bootstrap``: number of resamples ``R`` (0: none); ``seed`` seeds them.
    ``predict``: targets (``params, tokens``); ``budget``: FLOP budget(s) for the compute-optimal point.
    ``level``: interval coverage (0.9 = 5th to 95th percentile). ``max_extrapolation``: decades
    beyond the fitted range of N, D or C past which a prediction is flagged. ``outlier_threshold``:
    robust z-score (residual / (1.4826 MAD)) past which a run is flagged. ``tol``: relative
    objective tolerance for "this start reached the optimum" (and the parameter tolerance for
    "starts agree").
    """
    lw = _law(law)
    if loss not in ("huber", "squared"):
        raise ValueError(f"loss must be 'huber' or 'squared', got {loss!r}")
    if not (np.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be positive, got {delta}")
    if int(bootstrap) != bootstrap or bootstrap < 0:
        raise ValueError(f"bootstrap must be a non-negative integer, got {bootstrap}")
    if not (0.0 < level < 1.0):
        raise ValueError(f"level must be in (0, 1), got {level}")
    if not (max_extrapolation >= 0):
        raise ValueError(f"max_extrapolation must be >= 0 decades, got {max_extrapolation}")
    if not (outlier_threshold > 0):
        raise ValueError(f"outlier_threshold must be positive, got {outlier_threshold}")
    if not (0 < tol < 1):
        raise ValueError(f"tol must be in (0, 1), got {tol}")
    df = read_runs(runs)
    targets = read_targets(predict) if predict is not None else None
    budgets = [] if budget is None else [float(b) for b in np.atleast_1d(np.asarray(budget, dtype=float))]
    if any(not (np.isfinite(b) and b > 0) for b in budgets):
        raise ValueError(f"budget must be positive FLOPs, got {budget}")
    starts = law_starts(lw, grid)

    x = df[["params", "tokens", "flops"]].to_numpy()
    y = df["loss"].to_numpy()
    w = df["weight"].to_numpy()
    model = lw.model
    warnings: list[dict[str, str]] = []

    # --- identifiability of the design
    p = lw.n_params
    n = len(df)
    if n < p:
        raise RunsError(f"runs: {n} runs cannot determine the {p} parameters {model.param_names} of the {lw.name} law; "
                        f"add runs or choose a law with fewer parameters")
    spread = {k: float(np.log10(df[k].max() / df[k].min())) for k in ("params", "tokens", "flops")}
    tpp = df["tokens"] / df["params"]
    spread_ratio = float(np.log10(tpp.max() / tpp.min()))
    reasons = []
    if n < p + 2:
        reasons.append(f"{n} runs for {p} parameters (need at least {p + 2})")
    if "params" in lw.uses and df["params"].nunique() < 3:
        reasons.append(f"only {df['params'].nunique()} model sizes (need 3 or more)")
    if "params" in lw.uses and spread["params"] < 0.5:
        reasons.append(f"model sizes span {spread['params']:.2f} decades (need 0.5 or more)")
    if "tokens" in lw.uses and spread_ratio < 0.3:
        reasons.append(
            f"tokens per parameter span {spread_ratio:.2f} decades (need 0.3 or more to tell the N term from the D term)"
        )
    if "flops" in lw.uses and spread["flops"] < 1.0:
        reasons.append(f"compute spans {spread['flops']:.2f} decades (need 1 or more)")
    if reasons:
        warnings.append(_warn("underdetermined", f"The {lw.name} law is underdetermined by these runs: " + "; ".join(reasons) + "."))

    # --- the fit from every start
    # every start gets 300 L-BFGS iterations (the median start needs about 150 on 100 runs); the
    # best one is then polished by scipy's L-BFGS-B to its own stopping rule
    res = fit(model, x, y, starts, loss=loss, delta=delta, weights=w, method="batched", polish=True, maxiter=300)  # type: ignore[arg-type]
    theta = res.theta.copy()
    obj = res.objective
    tol_abs = tol * max(abs(obj), 1e-12)
    reached = res.objectives <= obj + tol_abs
    n_reached = int(reached.sum())
    at_bound: list[str] = []
    lo_b = np.array([lw.bounds[k][0] for k in model.param_names])
    hi_b = np.array([lw.bounds[k][1] for k in model.param_names])
    if np.any(theta < lo_b) or np.any(theta > hi_b):
        # the unconstrained optimum is outside the allowed range: refit with bounds (scipy's
        # L-BFGS-B) from the clipped optimum, the clipped ends of the 10 best starts, and the 10
        # starts of the grid nearest the box centre
        box = [(float(a), float(b)) for a, b in zip(lo_b, hi_b, strict=True)]
        best10 = np.argsort(res.objectives, kind="stable")[:10]
        centre = np.argsort(np.abs((starts - (lo_b + hi_b) / 2) / (hi_b - lo_b)).max(axis=1), kind="stable")[:10]
        cand = np.vstack([np.clip(theta, lo_b, hi_b)[None, :], np.clip(res.thetas[best10], lo_b, hi_b), np.clip(starts[centre], lo_b, hi_b)])
        rb = fit(model, x, y, cand, loss=loss, delta=delta, weights=w, bounds=box, method="scipy")  # type: ignore[arg-type]
        theta, obj = rb.theta.copy(), rb.objective
        tol_abs = tol * max(abs(obj), 1e-12)
        reached = rb.objectives <= obj + tol_abs
        n_reached = int(reached.sum())
        res_thetas = rb.thetas
        span = np.maximum(hi_b - lo_b, 1e-12)
        at_bound = [k for k, t, a, b, s in zip(model.param_names, theta, lo_b, hi_b, span, strict=True)
                    if min(t - a, b - t) <= 1e-6 * s]
        warnings.append(_warn(
            "parameter_at_bound",
            "The unconstrained optimum leaves the allowed range; constrained, "
            + ", ".join(f"{k} = {t:.4g} sits at its bound {a if abs(t - a) < abs(t - b) else b:g}"
                        for k, t, a, b in zip(model.param_names, theta, lo_b, hi_b, strict=True) if k in at_bound)
            + ". The law may not describe these runs (e.g. loss not falling with scale)."
            if at_bound else "The unconstrained optimum leaves the allowed range; the constrained optimum is inside it.",
        ))
    else:
        res_thetas = res.thetas
    # starts that reached the optimum but sit elsewhere in parameter space
    agree_thetas = res_thetas[reached]
    if len(agree_thetas) > 1:
        dev = np.abs(agree_thetas - theta).max(axis=0)
        scale = np.maximum(np.abs(theta), 1.0)
        bad = [k for k, d, s in zip(model.param_names, dev, scale, strict=True) if d > 1e-3 * s]
        if bad:
            warnings.append(_warn(
                "optimum_not_unique",
                f"{n_reached} starts reach the optimal objective within {tol:g} (relative) but disagree on "
                + ", ".join(f"{k} (by up to {d:.3g})" for k, d in zip(model.param_names, dev, strict=True) if k in bad)
                + ": the data do not pin these parameters down.",
            ))
    # optimum on or beyond the edge of the start grid
    g_lo, g_hi = starts.min(axis=0), starts.max(axis=0)
    edge = [k for k, t, a, b in zip(model.param_names, theta, g_lo, g_hi, strict=True)
            if b > a and (t <= a + 1e-9 * max(1.0, abs(a)) or t >= b - 1e-9 * max(1.0, abs(b)))]
    if edge:
        warnings.append(_warn(
            "start_grid_edge",
            "The optimum lies on or beyond the edge of the start grid in "
            + ", ".join(f"{k} = {t:.4g} (grid {a:g}..{b:g})" for k, t, a, b in zip(model.param_names, theta, g_lo, g_hi, strict=True) if k in edge)
            + "; widen the grid (--grid large, or your own starts) to be sure no better optimum lies outside.",
        ))

    # --- residuals and outliers
    feats = model.prepare(x)
    logy = np.log(y)
    resid = model.log_predict(theta, feats) - logy
    # robust scale: 1.4826 MAD of the residuals, leaving out the ones a near-L1 (small delta) Huber
    # fit interpolates exactly, which would shrink it
    free = resid[np.abs(resid) > 1e-9] if np.sum(np.abs(resid) > 1e-9) >= 3 else resid
    mad = 1.4826 * float(np.median(np.abs(free - np.median(free))))
    floor = max(mad, 1e-4)
    z = resid / floor
    out_idx = np.flatnonzero(np.abs(z) > outlier_threshold)
    if out_idx.size:
        warnings.append(_warn(
            "outliers",
            f"{out_idx.size} run(s) lie more than {outlier_threshold:g} robust standard deviations "
            f"(1.4826 MAD = {floor:.3g} in log loss) from the fit: rows "
            + ", ".join(f"{i + 1} (N={df['params'].iloc[i]:.3g}, D={df['tokens'].iloc[i]:.3g}, residual {resid[i]:+.3g})" for i in out_idx[:10])
            + (" ..." if out_idx.size > 10 else "") + ".",
        ))

    # --- bootstrap
    if bootstrap > 0:
        counts = group_bootstrap_counts(df["group"].tolist(), int(bootstrap), seed) * w[None, :]
        vg = _batch_value_grad(model, feats, logy, loss, delta, counts)
        rb = minimize_batched(vg, np.repeat(theta[None, :], int(bootstrap), axis=0), maxiter=1000, gtol=1e-12, ftol=1e-15)
        thetas_boot = rb.x
        ok = np.all(np.isfinite(thetas_boot), axis=1)
        thetas_boot = thetas_boot[ok]
        rng = np.random.default_rng([seed, 1])
        noise = rng.choice(resid, size=len(thetas_boot), replace=True) if len(resid) else np.zeros(len(thetas_boot))
    else:
        thetas_boot = np.empty((0, p))
        noise = np.empty(0)
    has_boot = len(thetas_boot) > 1
    intervals: dict[str, tuple[float, float]] = {}
    nat_intervals: dict[str, tuple[float, float]] = {}
    if has_boot:
        lo, hi = _pct(thetas_boot, level)
        intervals = {k: (float(a), float(b)) for k, a, b in zip(model.param_names, lo, hi, strict=True)}
        nat = pd.DataFrame([lw.natural(t) for t in thetas_boot])
        nlo, nhi = _pct(nat.to_numpy(), level)
        nat_intervals = {k: (float(a), float(b)) for k, a, b in zip(nat.columns, nlo, nhi, strict=True)}

    fitted_range = {k: (float(df[k].min()), float(df[k].max())) for k in ("params", "tokens", "flops")}

    # --- predictions
    predictions: list[dict[str, Any]] = []
    if targets is not None:
        tx = targets[["params", "tokens", "flops"]].to_numpy()
        tf = model.prepare(tx)
        point = np.exp(model.log_predict(theta, tf))
        if has_boot:
            boot_log = np.stack([model.log_predict(t, tf) for t in thetas_boot])
            clo, chi = _pct(np.exp(boot_log), level)
            plo, phi = _pct(np.exp(boot_log + noise[:, None]), level)
        far = []
        for i in range(len(targets)):
            out = {k: _decades_outside(float(targets[k].iloc[i]), *fitted_range[k]) for k in ("params", "tokens", "flops")}
            rel = [k for k in out if (k in lw.uses or k == "flops")]
            worst = max(abs(out[k]) for k in rel)
            row = {
                "name": str(targets["name"].iloc[i]),
                "params": float(targets["params"].iloc[i]),
                "tokens": float(targets["tokens"].iloc[i]),
                "flops": float(targets["flops"].iloc[i]),
                "loss": float(point[i]),
                "interval": [float(clo[i]), float(chi[i])] if has_boot else None,
                "prediction_interval": [float(plo[i]), float(phi[i])] if has_boot else None,
                "decades_outside": out,
            }
            predictions.append(row)
            if worst > max_extrapolation:
                far.append((row["name"], worst))
        if far:
            warnings.append(_warn(
                "extrapolation",
                f"{len(far)} prediction(s) lie more than {max_extrapolation:g} decade(s) outside the fitted range of N, D or C: "
                + ", ".join(f"{nm} ({d:.2f} decades)" for nm, d in far[:10]) + (" ..." if len(far) > 10 else "")
                + ". Trust them less than the intervals suggest: the intervals assume the law holds out there.",
            ))

    # --- compute-optimal allocation
    budget_out = None
    if budgets:
        budget_out = []
        for c in budgets:
            n_opt, d_opt, l_opt = _budget_point(lw, theta, c)
            entry: dict[str, Any] = {"flops": c, "params": n_opt, "tokens": d_opt, "loss": _f(l_opt),
                                     "decades_outside_flops": _decades_outside(c, *fitted_range["flops"])}
            if lw.name == "power_c":
                entry["note"] = "a law in compute alone does not split C between N and D"
            if has_boot:
                pts = np.array([[np.nan if v is None else v for v in _budget_point(lw, t, c)] for t in thetas_boot])
                for j, k in enumerate(("params", "tokens", "loss")):
                    col = pts[:, j]
                    col = col[np.isfinite(col)]
                    entry[f"{k}_interval"] = [float(v) for v in _pct(col, level)] if len(col) > 1 else None
            budget_out.append(entry)
            if abs(entry["decades_outside_flops"]) > max_extrapolation:
                warnings.append(_warn(
                    "extrapolation",
                    f"The budget {c:.3g} FLOPs lies {entry['decades_outside_flops']:.2f} decades outside the fitted compute range "
                    f"{fitted_range['flops'][0]:.3g}..{fitted_range['flops'][1]:.3g}.",
                ))

    return FitReport(
        law=lw.name,
        formula=lw.formula,
        theta=theta,
        param_names=model.param_names,
        natural=lw.natural(theta),
        objective={"loss": loss, "delta": delta if loss == "huber" else None, "value": float(obj),
                   "rmse_log": float(np.sqrt(np.mean(resid**2)))},
        starts={"n": len(starts), "reached_optimum": n_reached, "tolerance_relative": tol, "max_iterations_per_start": 300},
        intervals=intervals,
        natural_intervals=nat_intervals,
        fitted_range=fitted_range,
        n_runs=n,
        n_groups=int(df["group"].nunique()),
        residuals=resid,
        predictions=predictions,
        budget=budget_out,
        warnings=warnings,
        bootstrap={"resamples": int(bootstrap), "converged": len(thetas_boot), "seed": int(seed), "level": level,
                   "unit": "group" if df["group"].nunique() < n else "run"},
        thetas_boot=thetas_boot,
        runs=df,
    )


# --------------------------------------------------------------------------- output


def format_summary(report: FitReport) -> str:
    """A short human summary of a :class:`FitReport`."""
    lines = [f"law: {report.law}   {report.formula}",
             f"runs: {report.n_runs} ({report.n_groups} groups); objective {report.objective['loss']}"
             + (f" (delta {report.objective['delta']:g})" if report.objective["delta"] else "")
             + f" = {report.objective['value']:.6g}; rms log residual {report.objective['rmse_log']:.4f}",
             f"starts: {report.starts['reached_optimum']} of {report.starts['n']} reached the optimum"]
    pct = round(100 * report.bootstrap["level"])
    for k, v in report.natural.items():
        iv = report.natural_intervals.get(k)
        lines.append(f"  {k:>8} = {v:.4g}" + (f"   [{iv[0]:.4g}, {iv[1]:.4g}] {pct}%" if iv else ""))
    if report.bootstrap["resamples"]:
        lines.append(f"bootstrap: {report.bootstrap['resamples']} resamples of {report.bootstrap['unit']}s, seed {report.bootstrap['seed']}")
    for p in report.predictions:
        s = f"  predict {p['name']}: N={p['params']:.3g} D={p['tokens']:.3g} -> loss {p['loss']:.4f}"
        if p["prediction_interval"]:
            s += f"  [{p['prediction_interval'][0]:.4f}, {p['prediction_interval'][1]:.4f}] {pct}% for a run"
        out = max(abs(v) for v in p["decades_outside"].values())
        if out > 0:
            s += f"  ({out:.2f} decades outside the fitted range)"
        lines.append(s)
    for b in report.budget or []:
        s = f"  budget {b['flops']:.3g} FLOPs:"
        if b["params"] is not None:
            s += f" N_opt {b['params']:.3g}, D_opt {b['tokens']:.3g},"
        s += f" loss {b['loss']:.4f}" if b["loss"] is not None else " loss n/a"
        if b.get("loss_interval"):
            s += f" [{b['loss_interval'][0]:.4f}, {b['loss_interval'][1]:.4f}]"
        lines.append(s)
    for w in report.warnings:
        lines.append(f"WARNING {w['code']}: {w['message']}")
    if not report.warnings:
        lines.append("no warnings")
    return "\n".join(lines)


def plot_report(report: FitReport):  # -> alt.LayerChart
    """An Altair chart: the runs, the fitted law along each run's tokens-per-parameter ray, the
    predictions with their intervals and, for laws in N and D, the compute-optimal frontier."""
    import altair as alt

    from .plots import log_scale

    df = report.runs.copy()
    df["fitted"] = np.exp(np.log(df["loss"]) + report.residuals)
    df["kind"] = "run"
    lw = _law(report.law)
    c_lo, c_hi = report.fitted_range["flops"]
    for p in report.predictions:
        c_hi = max(c_hi, p["flops"])
        c_lo = min(c_lo, p["flops"])
    cs = np.logspace(np.log10(c_lo), np.log10(c_hi), 60)
    curves = []
    ratios = sorted(set(np.round(df["tokens"] / df["params"], 6)))
    for r in ratios[:8]:
        n = np.sqrt(cs / (6.0 * r))
        curves.append(pd.DataFrame({"flops": cs, "loss": report.predict(n, r * n, cs), "curve": f"D/N = {r:.3g}"}))
    if lw.name in ("chinchilla", "gadre", "kaplan"):
        front = [(c, *_budget_point(lw, report.theta, c)) for c in cs]
        curves.append(pd.DataFrame({"flops": cs, "loss": [f[3] for f in front], "curve": "compute-optimal frontier"}))
    elif lw.name == "power_c":
        curves.append(pd.DataFrame({"flops": cs, "loss": report.predict(np.ones_like(cs), np.ones_like(cs), cs), "curve": "law"}))
    curve = pd.concat(curves, ignore_index=True)
    x = alt.X("flops:Q", scale=log_scale(), title="compute C (FLOPs)")
    y = alt.Y("loss:Q", scale=log_scale(), title="loss")
    pts = alt.Chart(df).mark_circle(size=50, opacity=0.85).encode(
        x, y, tooltip=[alt.Tooltip(c, format=".4~g") for c in ("params", "tokens", "flops", "loss", "fitted")])
    lines = alt.Chart(curve).mark_line(strokeWidth=1.5).encode(x, y, color=alt.Color("curve:N", title=""),
                                                                tooltip=["curve", alt.Tooltip("flops:Q", format=".3~g"), alt.Tooltip("loss:Q", format=".4f")])
    layers = [lines, pts]
    if report.predictions:
        pr = pd.DataFrame([{**{k: p[k] for k in ("name", "params", "tokens", "flops", "loss")},
                            "lo": (p["prediction_interval"] or [p["loss"]] * 2)[0],
                            "hi": (p["prediction_interval"] or [p["loss"]] * 2)[1]} for p in report.predictions])
        layers.append(alt.Chart(pr).mark_rule(color="#d62728", strokeWidth=2).encode(x, alt.Y("lo:Q", scale=log_scale()), y2="hi:Q"))
        layers.append(alt.Chart(pr).mark_point(shape="diamond", size=90, color="#d62728", filled=True).encode(
            x, y, tooltip=["name", *[alt.Tooltip(c, format=".4~g") for c in ("params", "tokens", "flops", "loss", "lo", "hi")]]))
    return alt.layer(*layers).properties(title=f"{report.law} fit: {report.n_runs} runs")


# --------------------------------------------------------------------------- CLI


def add_cli(sub) -> None:  # sub: argparse sub-parsers
    """Add the ``fit`` sub-command to ``python -m scalinglib``."""
    p = sub.add_parser("fit", help="fit a scaling law to your runs (CSV: params, tokens, loss[, flops, group, weight])")
    p.add_argument("runs", type=Path, help="CSV with columns params, tokens, loss (optional flops, group, weight)")
    p.add_argument("--law", default="chinchilla", choices=sorted(LAWS), help="the law to fit (default: chinchilla)")
    p.add_argument("--loss", default="huber", choices=("huber", "squared"), help="objective on log loss (default: huber)")
    p.add_argument("--delta", type=float, default=1e-3, help="Huber threshold on log residuals (default: 1e-3)")
    p.add_argument("--grid", default="default", choices=GRID_SCALES, help="start grid size (default: default)")
    p.add_argument("--bootstrap", type=int, default=0, metavar="R", help="bootstrap resamples (whole groups if a group column is given)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: 0)")
    p.add_argument("--level", type=float, default=0.9, help="interval level (default: 0.9)")
    p.add_argument("--predict", type=Path, metavar="TARGETS.csv", help="CSV with params, tokens (optional name, flops) to predict")
    p.add_argument("--budget", type=float, action="append", metavar="FLOPS", help="compute budget for the compute-optimal N, D, loss (repeatable)")
    p.add_argument("--max-extrapolation", type=float, default=1.0, metavar="DECADES", help="flag predictions this far outside the fitted range (default: 1)")
    p.add_argument("--out", type=Path, metavar="FILE.json", help="write the full result as JSON")
    p.add_argument("--plot", type=Path, metavar="FILE.html", help="write an offline Altair chart")


def run_cli(args) -> int:
    """Run ``fit`` from parsed arguments; on bad input print the error and write nothing."""
    import sys

    try:
        report = fit_runs(args.runs, law=args.law, loss=args.loss, delta=args.delta, grid=args.grid,
                          bootstrap=args.bootstrap, seed=args.seed, predict=args.predict, budget=args.budget,
                          level=args.level, max_extrapolation=args.max_extrapolation)
        payload = json.dumps(report.to_dict(), indent=2)
        chart_html = None
        if args.plot:
            chart_html = _offline_html(plot_report(report))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_summary(report))
    if args.out:
        Path(args.out).write_text(payload + "\n")
        print(f"wrote {args.out}")
    if chart_html is not None:
        Path(args.plot).write_text(chart_html)
        print(f"wrote {args.plot}")
    return 0


def _offline_html(chart) -> str:
    """The chart as a standalone HTML page with vega, vega-lite and vega-embed inlined (works offline;
    Altair's ``inline=True`` takes them from vl-convert)."""
    return chart.to_html(inline=True)
