"""Gadre et al. 2024, "Language models scale reliably with over-training and on downstream tasks"
(arXiv 2403.08540): the pieces the chapter needs on top of :mod:`scalinglib.userfit`.

* the runs of the authors' default fit (their Table 2 defaults, as implemented in the authors'
  ``scaling/shared.py:fit_ds``): the four small architectures at ``M = 20`` plus the 11M model at
  ``M = 320`` for the loss law, and those five plus the 1.4B ``M = 20`` run for the error law;
* the loss law in the authors' objective (least squares on the loss itself, not its log);
* the loss-to-error law ``Err(L) = epsilon - k exp(-gamma L)`` (their eq. 5);
* the 17-task average top-1 error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

from ..paths import repo_root

Array = NDArray[np.float64]

__all__ = [
    "SMALL_ARCHS",
    "average_error",
    "error_fit_runs",
    "error_law",
    "fit_error_law",
    "fit_loss_linear",
    "gadre_loss",
    "loss_fit_runs",
    "relative_error",
    "subset17",
    "targets",
]

SMALL_ARCHS = ("d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8", "d=1024_l=24_h=8")
"""The four open_lm configurations below 1B parameters (11M, 79M, 154M, 412M)."""


def subset17(root: Path | None = None) -> list[str]:
    """The 17 downstream tasks of the paper's 17-task average (``data/papers/gadre2024_subset17.csv``)."""
    path = (root or repo_root()) / "data" / "papers" / "gadre2024_subset17.csv"
    return pd.read_csv(path, comment="#")["task"].tolist()


def average_error(evals: pd.DataFrame, tasks: list[str] | None = None) -> pd.Series:
    """Average top-1 error ``mean(1 - score)`` per model over ``tasks`` (all 46 if None)."""
    if not {"name", "task", "error"} <= set(evals.columns):
        raise ValueError("evals needs columns name, task, error (see data.load('gadre2024_downstream_evals'))")
    e = evals if tasks is None else evals[evals["task"].isin(tasks)]
    if tasks is not None:
        missing = set(tasks) - set(e["task"])
        if missing:
            raise ValueError(f"tasks not in evals: {sorted(missing)}")
    return e.groupby("name")["error"].mean()


def _one_set(losses: pd.DataFrame, dataset: str, val_set: str) -> pd.DataFrame:
    if dataset not in set(losses["dataset"]):
        raise ValueError(f"dataset {dataset!r} not in losses; have {sorted(set(losses['dataset']))}")
    d = losses[(losses["dataset"] == dataset) & (losses["val_set"] == val_set)]
    if d.empty:
        raise ValueError(f"val_set {val_set!r} not in losses")
    return d


def loss_fit_runs(losses: pd.DataFrame, dataset: str, val_set: str = "c4_val") -> pd.DataFrame:
    """The five runs of the authors' default loss fit: the 4 small models at M = 20 and the 11M model at M = 320."""
    d = _one_set(losses, dataset, val_set)
    pick = (d["arch"].isin(SMALL_ARCHS) & (d["token_multiplier"] == 20)) | (
        (d["arch"] == SMALL_ARCHS[0]) & (d["token_multiplier"] == 320)
    )
    return d[pick].sort_values("flops").reset_index(drop=True)


def error_fit_runs(losses: pd.DataFrame, dataset: str, val_set: str = "c4_val") -> pd.DataFrame:
    """The six runs of the authors' default error fit: the five of :func:`loss_fit_runs` and the 1.4B model at M = 20."""
    d = _one_set(losses, dataset, val_set)
    one_b = d[(d["arch"] == "open_lm_1b") & (d["token_multiplier"] == 20)]
    return pd.concat([loss_fit_runs(losses, dataset, val_set), one_b]).sort_values("flops").reset_index(drop=True)


def targets(losses: pd.DataFrame, dataset: str, val_set: str = "c4_val") -> pd.DataFrame:
    """The held-out runs the paper predicts: every run of 1B+ parameters except the 1.4B M = 20 run."""
    d = _one_set(losses, dataset, val_set)
    big = d[d["params"] >= 1e9]
    return big[~((big["arch"] == "open_lm_1b") & (big["token_multiplier"] == 20))].sort_values("flops").reset_index(drop=True)


def gadre_loss(params: ArrayLike, multiplier: ArrayLike, e: float, a: float, b: float, eta: float) -> Array:
    """Gadre et al. 2024 eq. (4): ``L(C, M) = E + (a M**eta + b M**-eta) C**-eta`` with ``C = 6 N D``, ``D = M N``."""
    n = np.asarray(params, dtype=float)
    m = np.asarray(multiplier, dtype=float)
    if np.any(~(n > 0)):
        raise ValueError("params must be positive")
    if np.any(~(m > 0)):
        raise ValueError("multiplier must be positive")
    c = 6.0 * n * (m * n)
    return e + (a * m**eta + b * m ** (-eta)) * c ** (-eta)


def fit_loss_linear(params: ArrayLike, multiplier: ArrayLike, loss: ArrayLike) -> dict[str, float]:
    """The loss law fitted as the authors do: least squares on the loss itself (not its log).

    Their code (``scaling/laws.py``) fits ``L = alpha N**k + beta 6**(k/2) (M N)**k + E`` with
    scipy's ``curve_fit`` from a grid of starts; this is eq. (4) with ``eta = -k/2``,
    ``a = alpha 6**eta``... in any parametrisation the same least-squares problem. Here it is solved
    with ``scipy.optimize.least_squares`` (trust region, exact Jacobian) in the parametrisation
    ``(log a, log b, E, eta)`` from a grid of 3 x 3 x 3 x 2 starts, keeping the best; returns
    ``{"E", "a", "b", "eta", "sse"}``.
    """
    n = np.asarray(params, dtype=float)
    m = np.asarray(multiplier, dtype=float)
    y = np.asarray(loss, dtype=float)
    if not (n.shape == m.shape == y.shape) or n.ndim != 1 or len(n) < 4:
        raise ValueError("params, multiplier and loss must be 1-d arrays of the same length >= 4")
    if np.any(n <= 0) or np.any(m <= 0) or np.any(y <= 0):
        raise ValueError("params, multiplier and loss must be positive")
    log_c = np.log(6.0 * n * m * n)
    log_m = np.log(m)

    def resid(t: Array) -> Array:
        la, lb, e, eta = t
        return e + np.exp(la + eta * log_m - eta * log_c) + np.exp(lb - eta * log_m - eta * log_c) - y

    def jac(t: Array) -> Array:
        la, lb, _, eta = t
        ta = np.exp(la + eta * log_m - eta * log_c)
        tb = np.exp(lb - eta * log_m - eta * log_c)
        return np.stack([ta, tb, np.ones_like(y), ta * (log_m - log_c) + tb * (-log_m - log_c)], axis=1)

    best = None
    for la in (2.0, 6.0, 10.0):
        for lb in (2.0, 6.0, 10.0):
            for e in (0.5, 1.5, 2.5):
                for eta in (0.1, 0.2):
                    with np.errstate(over="ignore", invalid="ignore"):
                        r = least_squares(resid, [la, lb, e, eta], jac=jac, method="trf", x_scale="jac", xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=2000)
                    if np.isfinite(r.cost) and (best is None or r.cost < best.cost - 1e-18):
                        best = r
    assert best is not None
    la, lb, e, eta = best.x
    return {"E": float(e), "a": float(np.exp(la)), "b": float(np.exp(lb)), "eta": float(eta), "sse": float(2 * best.cost)}


def error_law(loss: ArrayLike, epsilon: float, k: float, gamma: float) -> Array:
    """Gadre et al. 2024 eq. (5): average top-1 error ``Err(L) = epsilon - k exp(-gamma L)``."""
    x = np.asarray(loss, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError("loss must be finite")
    return epsilon - k * np.exp(-gamma * x)


def fit_error_law(loss: ArrayLike, error: ArrayLike) -> dict[str, float]:
    """Least-squares fit of :func:`error_law` (as the authors: squared error on the error itself),
    from a grid of starts; returns ``{"epsilon", "k", "gamma", "sse"}``."""
    x = np.asarray(loss, dtype=float)
    y = np.asarray(error, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 3:
        raise ValueError("loss and error must be 1-d arrays of the same length >= 3")

    def resid(t: Array) -> Array:
        eps, lk, g = t
        return eps - np.exp(lk - g * x) - y

    def jac(t: Array) -> Array:
        _, lk, g = t
        ex = np.exp(lk - g * x)
        return np.stack([np.ones_like(x), -ex, x * ex], axis=1)

    best = None
    for eps in (0.5, 0.8, 1.0):
        for lk in (-2.0, 0.0, 2.0):
            for g in (0.1, 0.5, 1.0, 2.0):
                with np.errstate(over="ignore", invalid="ignore"):
                    r = least_squares(resid, [eps, lk, g], jac=jac, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=20000)
                if np.isfinite(r.cost) and (best is None or r.cost < best.cost - 1e-18):
                    best = r
    assert best is not None
    eps, lk, g = best.x
    return {"epsilon": float(eps), "k": float(np.exp(lk)), "gamma": float(g), "sse": float(2 * best.cost)}


def relative_error(predicted: ArrayLike, observed: ArrayLike) -> Array:
    """``|predicted - observed| / observed`` (the paper's relative error)."""
    o = np.asarray(observed, dtype=float)
    if np.any(o == 0):
        raise ValueError("observed must be non-zero")
    return np.abs(np.asarray(predicted, dtype=float) - o) / np.abs(o)
