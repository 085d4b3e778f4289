"""Elo ratings: the logistic win model and Bradley-Terry maximum likelihood with intervals.

Elo (1978) scale: a rating difference ``d`` gives the stronger player a win probability
``1 / (1 + 10**(-d/400))`` (the Bradley-Terry model, Bradley & Terry 1952, with strengths
``10**(r/400)``). Jones 2021 ("Scaling Scaling Laws with Board Games", arXiv 2104.03113) rates
Hex agents this way from round-robin results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

__all__ = ["ELO_SCALE", "EloFit", "elo_difference", "fit_bradley_terry", "win_probability"]

ELO_SCALE = 400.0 / np.log(10.0)
"""Elo points per natural-log unit of the odds: ``d = 400 log10(odds) = ELO_SCALE * ln(odds)``."""


def win_probability(elo_diff: ArrayLike) -> Array:
    """``P(win) = 1 / (1 + 10**(-d/400))`` for a rating advantage ``d`` (Elo)."""
    d = np.asarray(elo_diff, dtype=float)
    if np.any(~np.isfinite(d)):
        raise ValueError("elo_diff must be finite")
    return 1.0 / (1.0 + 10.0 ** (-d / 400.0))


def elo_difference(win_prob: ArrayLike) -> Array:
    """Inverse of :func:`win_probability`: ``d = 400 log10(p / (1 - p))``, for ``0 < p < 1``."""
    p = np.asarray(win_prob, dtype=float)
    if np.any(~np.isfinite(p)) or np.any((p <= 0) | (p >= 1)):
        raise ValueError("win_prob must lie strictly between 0 and 1")
    return 400.0 * np.log10(p / (1.0 - p))


@dataclass(frozen=True)
class EloFit:
    """Ratings (Elo, mean zero), their standard errors, and the covariance (Elo^2), from
    the inverse observed information on the mean-zero subspace."""

    ratings: Array
    stderr: Array
    cov: Array
    iterations: int

    def interval(self, z: float = 1.96) -> tuple[Array, Array]:
        """Normal-approximation interval ``rating +- z * stderr`` (z = 1.96: 95%)."""
        if not np.isfinite(z) or z <= 0:
            raise ValueError("z must be > 0")
        return self.ratings - z * self.stderr, self.ratings + z * self.stderr


def fit_bradley_terry(wins: ArrayLike, prior_games: float = 0.0, tol: float = 1e-12, max_iter: int = 200) -> EloFit:
    """Maximum-likelihood Elo ratings from a win matrix (Bradley-Terry model).

    ``wins[i, j]`` = games ``i`` won against ``j`` (the diagonal is ignored). The log-likelihood
    ``sum_ij w_ij log sigma(s_i - s_j)`` (``s`` in natural-log units) is concave; Newton's method
    with the gauge ``sum s = 0`` reaches its maximum to ``tol`` in a few steps.
    ``prior_games > 0`` adds that many virtual games, split evenly, between every pair that met
    (a symmetric prior that keeps the ratings finite when an agent wins or loses every game);
    with ``prior_games = 0`` such a win matrix raises, because the MLE is at infinity.
    """
    w = np.array(wins, dtype=float)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] < 2:
        raise ValueError("wins must be a square matrix of at least 2 x 2")
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError("wins must hold non-negative finite counts")
    if not np.isfinite(prior_games) or prior_games < 0:
        raise ValueError("prior_games must be >= 0")
    if not np.isfinite(tol) or tol <= 0:
        raise ValueError("tol must be > 0")
    if max_iter < 1:
        raise ValueError("max_iter must be >= 1")
    np.fill_diagonal(w, 0.0)
    games = w + w.T
    met = games > 0
    w = w + 0.5 * prior_games * met
    games = w + w.T
    m = w.shape[0]
    _check_connected(met, m)
    if prior_games == 0:
        total_w, total_g = w.sum(axis=1), games.sum(axis=1)
        if np.any(total_w == 0) or np.any(total_w == total_g):
            raise ValueError("wins: an agent won or lost every game, the MLE is infinite; set prior_games > 0")
    s = np.zeros(m)
    it = 0
    for it in range(1, max_iter + 1):
        p = 1.0 / (1.0 + np.exp(-(s[:, None] - s[None, :])))
        grad = (w - games * p).sum(axis=1)
        h = games * p * (1.0 - p)
        hess = np.diag(h.sum(axis=1)) - h  # minus the Hessian: a graph Laplacian
        step = np.linalg.lstsq(hess + 1.0 / m, grad, rcond=None)[0]  # +1/m fixes the gauge direction
        step -= step.mean()
        s += step
        if np.max(np.abs(step)) < tol:
            break
    p = 1.0 / (1.0 + np.exp(-(s[:, None] - s[None, :])))
    h = games * p * (1.0 - p)
    info = np.diag(h.sum(axis=1)) - h
    proj = np.eye(m) - 1.0 / m
    cov = proj @ np.linalg.pinv(info, rcond=1e-12, hermitian=True) @ proj
    cov = 0.5 * (cov + cov.T) * ELO_SCALE**2
    ratings = (s - s.mean()) * ELO_SCALE
    return EloFit(ratings=ratings, stderr=np.sqrt(np.clip(np.diag(cov), 0.0, None)), cov=cov, iterations=it)


def _check_connected(met: NDArray[np.bool_], m: int) -> None:
    seen = {0}
    frontier = [0]
    while frontier:
        i = frontier.pop()
        for j in np.flatnonzero(met[i]):
            if int(j) not in seen:
                seen.add(int(j))
                frontier.append(int(j))
    if len(seen) != m:
        raise ValueError("wins: the agents do not form one connected comparison graph; ratings are not comparable")
