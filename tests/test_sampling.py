"""pass@k estimators, coverage, the Beta-law power law of Schaeffer et al., and their guards."""

from itertools import combinations
from math import comb

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from scalinglib import sampling as smp


def enumerate_pass_at_k(n: int, c: int, k: int) -> float:
    """Fraction of the k-subsets of n samples (the first c correct) holding a correct sample."""
    subsets = list(combinations(range(n), k))
    return sum(any(i < c for i in s) for s in subsets) / len(subsets)


@st.composite
def nck(draw, max_n=9):
    n = draw(st.integers(1, max_n))
    c = draw(st.integers(0, n))
    k = draw(st.integers(1, n))
    return n, c, k


@given(nck())
def test_matches_exact_enumeration(args):
    n, c, k = args
    assert smp.pass_at_k(n, c, k) == pytest.approx(enumerate_pass_at_k(n, c, k), abs=1e-12)


@given(st.integers(1, 3000), st.data())
def test_matches_binomial_formula_for_large_n(n, data):
    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, n))
    exact = 1 - comb(n - c, k) / comb(n, k)  # Python integers: exact, then one rounding
    assert smp.pass_at_k(n, c, k) == pytest.approx(exact, rel=1e-9, abs=1e-12)


@given(st.integers(1, 40), st.floats(0, 1), st.data())
def test_unbiased_in_expectation(n, p, data):
    k = data.draw(st.integers(1, n))
    c = np.arange(n + 1)
    expected = np.sum(stats.binom.pmf(c, n, p) * smp.pass_at_k(n, c, k))
    assert expected == pytest.approx(1 - (1 - p) ** k, abs=1e-10)


@given(nck(max_n=60))
def test_biased_never_above_unbiased(args):
    n, c, k = args
    assert smp.pass_at_k_biased(n, c, k) <= smp.pass_at_k(n, c, k) + 1e-12


def test_edge_cases():
    with pytest.raises(ValueError, match="k must not exceed n"):
        smp.pass_at_k(10, 3, 11)
    assert smp.pass_at_k(10, 0, 5) == 0.0
    assert smp.pass_at_k(10, 6, 5) == 1.0  # c > n - k
    assert smp.pass_at_k(10, 5, 5) < 1.0  # c = n - k: one all-wrong subset remains
    assert smp.pass_at_k(7, 3, 1) == pytest.approx(3 / 7)
    assert smp.pass_at_k_biased(5, 1, 50) > 0.99  # the plug-in accepts k > n


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 0, "c": 0, "k": 1}, "n must be >= 1"),
        ({"n": 5, "c": -1, "k": 1}, "c must be >= 0"),
        ({"n": 5, "c": 6, "k": 1}, "c .*must not exceed n"),
        ({"n": 5, "c": 1, "k": 0}, "k must be >= 1"),
        ({"n": 5.5, "c": 1, "k": 1}, "n must hold whole numbers"),
        ({"n": np.array([True]), "c": 0, "k": 1}, "n must hold integers"),
        ({"n": np.array([]), "c": 0, "k": 1}, "n is empty"),
    ],
)
def test_guards(kwargs, match):
    with pytest.raises(ValueError, match=match):
        smp.pass_at_k(**kwargs)


def test_vectorised_shapes_and_chunking(monkeypatch):
    rng = np.random.default_rng(0)
    n = np.full(50, 400)
    c = rng.integers(0, 401, 50)
    ks = np.array([1, 3, 30, 300])
    grid = smp.pass_at_k(n[None, :], c[None, :], ks[:, None])
    assert grid.shape == (4, 50)
    monkeypatch.setattr(smp, "_CHUNK_ELEMENTS", 7)  # force many small chunks: same answer
    assert np.allclose(smp.pass_at_k(n[None, :], c[None, :], ks[:, None]), grid, rtol=1e-13, atol=0)
    assert np.allclose(smp.coverage(n, c, ks), grid.mean(axis=1))


@given(st.floats(0.05, 2.0), st.floats(0.2, 20.0), st.sampled_from([1.0, 10.0, 1e3, 1e5]))
def test_beta_closed_form_matches_quadrature(alpha, beta, k):
    assert smp.beta_neg_log_pass_at_k_quad(k, alpha, beta) == pytest.approx(
        float(smp.beta_neg_log_pass_at_k(k, alpha, beta)), rel=1e-7)


@given(st.floats(0.05, 1.5), st.floats(0.5, 10.0))
def test_asymptotic_power_law(alpha, beta):
    k = 1e9  # the power law is the large-k form of the failure term E[(1-p)^k] (~ -log pass@k once small)
    assert smp.beta_neg_log_pass_at_k_asymptotic(k, alpha, beta) == pytest.approx(
        float(smp.beta_failure_at_k(k, alpha, beta)), rel=1e-6)


def test_beta_binomial_recovers_parameters():
    rng = np.random.default_rng(1)
    p = rng.beta(0.4, 2.0, 4000)
    n = np.full(p.size, 50)
    c = rng.binomial(n, p)
    a, b = smp.fit_beta_binomial(n, c)
    assert a == pytest.approx(0.4, rel=0.1) and b == pytest.approx(2.0, rel=0.15)
    with pytest.raises(ValueError, match="not identifiable"):
        smp.fit_beta_binomial([5, 5], [0, 0])


@given(st.floats(-5.0, -0.01), st.floats(-1.0, -0.05))
def test_exp_power_law_fit_roundtrip(a, b):
    k = np.logspace(0, 4, 30)
    cov = smp.exp_power_law_coverage(k, a, b)
    if np.any((cov <= 0) | (cov >= 1 - 1e-12)):
        return
    a_hat, b_hat = smp.fit_exp_power_law(k, cov)
    assert a_hat == pytest.approx(a, rel=1e-6) and b_hat == pytest.approx(b, rel=1e-6)


def test_fit_guards():
    with pytest.raises(ValueError, match="cov must lie"):
        smp.fit_exp_power_law([1, 2], [0.5, 1.0])
    with pytest.raises(ValueError, match="neg_log_pass"):
        smp.fit_loglog_exponent([1, 2], [0.5, 0.0])
    with pytest.raises(ValueError, match="alpha"):
        smp.beta_failure_at_k(3, 0.0, 1.0)
    with pytest.raises(ValueError, match="p must lie"):
        smp.pass_at_k_true(1.5, 2)
