"""Elo conversions and the Bradley-Terry maximum-likelihood fit."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize

from scalinglib import elo


@given(st.floats(-1500, 1500))
def test_win_probability_roundtrip(d):
    assert float(elo.elo_difference(elo.win_probability(d))) == pytest.approx(d, abs=1e-6)


def test_known_values():
    assert float(elo.win_probability(0)) == 0.5
    assert float(elo.win_probability(400)) == pytest.approx(10 / 11)
    assert float(elo.elo_difference(2 / 3)) == pytest.approx(400 * np.log10(2))


def _loglik(s, w):
    d = s[:, None] - s[None, :]
    return np.sum(w * -np.logaddexp(0, -d))


@given(st.integers(3, 6), st.integers(0, 10_000))
def test_fit_is_the_maximum_and_recovers_ratings(m, seed):
    rng = np.random.default_rng(seed)
    true = rng.normal(0, 200, m)
    p = elo.win_probability(true[:, None] - true[None, :])
    n = 400
    w = np.triu(rng.binomial(n, p), 1)
    w = w + np.tril(n - w.T, -1)
    np.fill_diagonal(w, 0)
    fit = elo.fit_bradley_terry(w, prior_games=1.0)
    assert abs(fit.ratings.sum()) < 1e-8
    # the gradient of the (prior-augmented) log-likelihood vanishes
    w_aug = w + 0.5 * (1 - np.eye(m))
    s = fit.ratings / elo.ELO_SCALE
    res = optimize.minimize(lambda x: -_loglik(x - x.mean(), w_aug), s, method="BFGS", options={"gtol": 1e-10})
    assert -res.fun <= _loglik(s, w_aug) + 1e-7
    assert np.all(np.abs(fit.ratings - (true - true.mean())) < 6 * fit.stderr + 1e-9)


def test_stderr_matches_binomial_for_two_players():
    w = np.array([[0, 60], [40, 0]])
    fit = elo.fit_bradley_terry(w)
    assert fit.ratings[0] - fit.ratings[1] == pytest.approx(float(elo.elo_difference(0.6)), abs=1e-8)
    # delta method: var(logit p_hat) = 1/(n p (1-p)); the difference has twice each rating's se
    se_diff = elo.ELO_SCALE / np.sqrt(100 * 0.6 * 0.4)
    assert 2 * fit.stderr[0] == pytest.approx(se_diff, rel=1e-9)
    lo, hi = fit.interval()
    assert np.all(lo < fit.ratings) and np.all(fit.ratings < hi)


def test_guards():
    with pytest.raises(ValueError, match="infinite"):
        elo.fit_bradley_terry([[0, 5], [0, 0]])
    with pytest.raises(ValueError, match="connected"):
        elo.fit_bradley_terry(np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]))
    with pytest.raises(ValueError, match="square"):
        elo.fit_bradley_terry([[1, 2, 3]])
    with pytest.raises(ValueError, match="prior_games"):
        elo.fit_bradley_terry([[0, 1], [1, 0]], prior_games=-1)
    with pytest.raises(ValueError, match="win_prob"):
        elo.elo_difference(1.0)
    with pytest.raises(ValueError, match="tol"):
        elo.fit_bradley_terry([[0, 1], [1, 0]], tol=0)
    fit = elo.fit_bradley_terry([[0, 5], [0, 0]], prior_games=1)
    with pytest.raises(ValueError, match="z must"):
        fit.interval(-1)
    assert np.all(np.isfinite(fit.ratings)) and fit.ratings[0] > fit.ratings[1]
