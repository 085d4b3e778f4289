"""Tests of scalinglib.stats: Huber density, likelihood fit, bootstrap summaries and tests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import gammaln
from scipy.stats import chi2

from scalinglib.fitting import CHINCHILLA, huber
from scalinglib.papers import besiroglu as stats


@pytest.mark.parametrize("delta", [1e-3, 0.1, 1.0, 1.345, 3.0])
def test_huber_normaliser_matches_numerical_integral(delta):
    inner, _ = integrate.quad(lambda u: np.exp(-huber(u, delta)[0]), -delta, delta)
    tail, _ = integrate.quad(lambda u: np.exp(-huber(u, delta)[0]), delta, np.inf)
    assert stats.huber_log_normaliser(delta) == pytest.approx(np.log(inner + 2 * tail), rel=1e-9)
    with pytest.raises(ValueError):
        stats.huber_log_normaliser(0.0)


def chinchilla_runs(seed=0, n=200, noise=0.004):
    rng = np.random.default_rng(seed)
    x = np.c_[10 ** rng.uniform(7, 10, n), 10 ** rng.uniform(9, 12, n)]
    truth = np.array([6.0, 7.0, 0.5, 0.35, 0.35])
    y = np.exp(CHINCHILLA.log_predict(truth, np.log(x)) + noise * rng.laplace(size=n))
    return x, y, truth


def test_huber_nll_is_minus_log_density():
    x, y, truth = chinchilla_runs()
    delta, s = 0.5, np.log(0.003)
    r = CHINCHILLA.log_predict(truth, np.log(x)) - np.log(y)
    dens = np.exp(-huber(r / np.exp(s), delta)[0]) / (np.exp(s) * np.exp(stats.huber_log_normaliser(delta)))
    assert stats.huber_nll(CHINCHILLA, truth, s, x, y, delta=delta) == pytest.approx(-np.log(dens).sum(), rel=1e-12)
    w = np.arange(len(y)) % 2
    assert stats.huber_nll(CHINCHILLA, truth, s, x, y, delta=delta, weights=w) == pytest.approx(
        -(w * np.log(dens)).sum(), rel=1e-12
    )


def test_profile_scale_is_the_minimum():
    x, y, truth = chinchilla_runs()
    s_hat, nll = stats.profile_log_scale(CHINCHILLA, truth, x, y, delta=1.0)
    for ds in (-0.05, 0.05):
        assert stats.huber_nll(CHINCHILLA, truth, s_hat + ds, x, y, delta=1.0) > nll
    assert nll == pytest.approx(stats.huber_nll(CHINCHILLA, truth, s_hat, x, y, delta=1.0))


@pytest.mark.parametrize("delta", [1e-3, 1.0])
def test_likelihood_fit_recovers_parameters_and_beats_the_truth(delta):
    x, y, truth = chinchilla_runs(n=300, noise=0.002)
    res = stats.fit_huber_likelihood(CHINCHILLA, x, y, truth + np.array([0.3, -0.3, 0.05, 0.02, -0.02]), delta=delta)
    _, nll_truth = stats.profile_log_scale(CHINCHILLA, truth, x, y, delta=delta)
    assert res.nll <= nll_truth + 1e-9
    np.testing.assert_allclose(res.theta[2:], truth[2:], atol=0.02)
    assert res.scale == pytest.approx(np.exp(res.log_scale))
    assert set(res.params) == {"a", "b", "e", "alpha", "beta"}


def test_likelihood_bootstrap_shape_and_determinism():
    x, y, truth = chinchilla_runs(n=120, noise=0.003)
    fit = stats.fit_huber_likelihood(CHINCHILLA, x, y, truth, delta=1.0)
    b1 = stats.bootstrap_huber_likelihood(CHINCHILLA, x, y, fit.theta, fit.log_scale, n_resamples=16, seed=2, delta=1.0)
    b2 = stats.bootstrap_huber_likelihood(CHINCHILLA, x, y, fit.theta, fit.log_scale, n_resamples=16, seed=2, delta=1.0)
    assert b1.shape == (16, 6)
    np.testing.assert_array_equal(b1, b2)
    assert np.all(np.abs(b1[:, 3:5] - truth[3:5]) < 0.1)


def test_summarize_bootstrap():
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(20000, 2)) * [1.0, 3.0] + [5.0, -1.0]
    s = stats.summarize_bootstrap(draws, [5.0, -1.0], ("u", "v"), level=0.95)
    np.testing.assert_allclose(s.se, [1.0, 3.0], rtol=0.02)
    np.testing.assert_allclose(s.low, [5 - 1.96, -1 - 3 * 1.96], atol=0.08)
    np.testing.assert_allclose(s.high, [5 + 1.96, -1 + 3 * 1.96], atol=0.08)
    assert set(s.as_dict()) == {"u", "v"}


@settings(max_examples=25, deadline=None, derandomize=True)
@given(d=st.lists(st.floats(-5, 5), min_size=1, max_size=6), scale=st.floats(0.1, 10))
def test_chi2_test_with_diagonal_covariance(d, scale):
    d = np.array(d)
    cov = np.eye(len(d)) * scale**2
    stat, p, log10p = stats.chi2_test(d, np.zeros_like(d), cov)
    assert stat == pytest.approx(np.sum(d**2) / scale**2, rel=1e-10, abs=1e-12)
    assert p == pytest.approx(chi2.sf(stat, len(d)), rel=1e-8, abs=1e-300)
    assert log10p <= 0


def test_chi2_p_value_far_in_the_tail_stays_finite():
    stat, p, log10p = stats.chi2_test(np.full(5, 100.0), np.zeros(5), np.eye(5))
    assert stat == pytest.approx(50000.0)
    assert p == 0.0 and np.isfinite(log10p) and log10p < -1000
    # the asymptotic series used past scipy's underflow agrees with scipy where scipy is finite
    s_, z = 2.5, 1000.0 / 2
    series = (s_ - 1) * np.log(z) - z - gammaln(s_) + np.log(1 + (s_ - 1) / z + (s_ - 1) * (s_ - 2) / z**2)
    assert series == pytest.approx(chi2.logsf(1000.0, 5), rel=1e-6)


def test_likelihood_ratio_test():
    stat, p, log10p = stats.likelihood_ratio_test(110.0, 100.0, df=5)
    assert stat == pytest.approx(20.0)
    assert p == pytest.approx(chi2.sf(20.0, 5))
    assert log10p == pytest.approx(np.log10(chi2.sf(20.0, 5)))


def test_required_sample_size_and_interval_width():
    # Besiroglu et al. 2024: an interval 46x wider from 240 runs needs 240 * 46**2 = 507,840 runs
    assert stats.required_sample_size(240, 0.046, 0.001) == pytest.approx(240 * 46**2)
    assert stats.interval_width_normal(1.0, 0.8) == pytest.approx(2 * 1.2815515655, rel=1e-9)
    assert stats.interval_width_normal(0.5, 0.95) == pytest.approx(1.959963985, rel=1e-9)


def test_fraction_better():
    assert stats.fraction_better([0.1, -0.2, 0.0, 0.5], [0.2, 0.1, 0.0, -0.6]) == pytest.approx(0.5)


# --------------------------------------------------------------------------- Monte Carlo error of an SE, fixed-exponent policy


def test_bootstrap_se_relative_sd_normal_and_by_simulation():
    rng = np.random.default_rng(0)
    big = rng.standard_normal((200_000, 1))
    # normal: kappa = 3, relative SD of an SE from R draws = sqrt(2 / (4 R)) = 1/sqrt(2R)
    assert stats.bootstrap_se_relative_sd(big, 1000)[0] == pytest.approx(1 / np.sqrt(2000), rel=0.02)
    assert stats.bootstrap_se_relative_sd(big, 1000, 4000)[0] == pytest.approx(np.sqrt(0.5 * 1.25e-3), rel=0.02)
    # simulate: SEs of 400 draws of a Laplace variable (kappa = 6)
    ses = np.array([rng.laplace(size=400).std(ddof=1) for _ in range(3000)])
    predicted = stats.bootstrap_se_relative_sd(rng.laplace(size=(200_000, 1)), 400)[0]
    assert ses.std() / ses.mean() == pytest.approx(predicted, rel=0.1)


@pytest.mark.parametrize("kwargs, name", [
    ({"samples": np.ones((10, 2))}, "spread"), ({"samples": np.zeros((2, 1))}, "samples"),
    ({"n_resamples": 0}, "n_resamples"), ({"n_resamples_other": -3}, "n_resamples_other"),
])
def test_bootstrap_se_relative_sd_guards(kwargs, name):
    args = {"samples": np.random.default_rng(1).standard_normal((50, 2)), "n_resamples": 100} | kwargs
    with pytest.raises(ValueError, match=name):
        stats.bootstrap_se_relative_sd(**args)


@settings(max_examples=50, deadline=None)
@given(log_c=st.floats(18, 28), a=st.floats(0.3, 0.7), g=st.floats(0.01, 10))
def test_tokens_per_param_fixed_exponent_is_d_over_n(log_c, a, g):
    c = 10.0**log_c
    n, d = g * (c / 6) ** a, (c / 6) ** (1 - a) / g
    assert float(stats.tokens_per_param_fixed_exponent(c, g, a)) == pytest.approx(d / n, rel=1e-10)
    assert n * d * 6 == pytest.approx(c, rel=1e-10)


@pytest.mark.parametrize("args, name", [((-1.0, 1.0, 0.5), "flops"), ((1e20, 0.0, 0.5), "g"), ((1e20, 1.0, 1.0), "a")])
def test_tokens_per_param_fixed_exponent_guards(args, name):
    with pytest.raises(ValueError, match=name):
        stats.tokens_per_param_fixed_exponent(*args)
