"""Unit tests for scalinglib.papers.alabdulmohsin: Alabdulmohsin et al.'s M1-M4, BNSL fits and the evaluation helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import nnls

from scalinglib.curves import extrapolation_rmse
from scalinglib.laws import bnsl
from scalinglib.papers import alabdulmohsin as est
from scalinglib.papers import bnsl as bp

X = np.geomspace(1e6, 1e9, 40)


def test_m1_recovers_power_law():
    y = 3.0 * X**-0.2
    f = est.fit_m1(X, y)
    assert f.params["beta"] == pytest.approx(3.0, rel=1e-9)
    assert f.params["c"] == pytest.approx(-0.2, abs=1e-12)
    assert f.loss == pytest.approx(0.0, abs=1e-20)


def test_m2_recovers_eps_inf_and_loss_matches():
    y = est.m2_predict(X, eps_inf=0.2, beta=40.0, c=-0.3)
    f = est.fit_m2(X, y)
    assert f.params["eps_inf"] == pytest.approx(0.2, abs=1e-6)
    assert f.params["c"] == pytest.approx(-0.3, abs=1e-4)
    assert est.m2_loss(X, y, **f.params) == pytest.approx(f.loss, abs=1e-12)
    assert f.loss < 1e-10


def test_m2_paper_start_is_a_local_optimum_not_better_than_global():
    rng = np.random.default_rng(3)
    y = est.m2_predict(X, 0.1, 30.0, -0.25) * np.exp(0.02 * rng.standard_normal(len(X)))
    glob = est.fit_m2(X, y)
    loc = est.fit_m2(X, y, start="paper")
    assert glob.loss <= loc.loss + 1e-12
    e = loc.params["eps_inf"]
    h = 1e-4
    prof = est.m2_profile(X, y, [max(e - h, 0.0), e, min(e + h, y.min() - est.ERR_MARGIN)])
    assert prof[1] <= prof[0] + 1e-12 and prof[1] <= prof[2] + 1e-12


def test_m2_profile_minimum_is_the_fit():
    y = est.m2_predict(X, 0.15, 20.0, -0.25) * (1 + 0.01 * np.sin(np.arange(len(X))))
    f = est.fit_m2(X, y)
    grid = np.linspace(0, y.min() - est.ERR_MARGIN, 2001)
    assert f.loss <= est.m2_profile(X, y, grid).min() + 1e-12


def test_m3_recovers_gamma():
    y = est.m3_predict(X, beta=0.5, c=-0.4, gamma=3e-8)
    f = est.fit_m3(X, y)
    assert f.params["gamma"] == pytest.approx(3e-8, rel=1e-4)
    assert f.params["c"] == pytest.approx(-0.4, rel=1e-4)
    assert est.m3_loss(X, y, **f.params) == pytest.approx(f.loss, abs=1e-12)


def test_m3_exponent_is_never_positive():
    y = 0.1 * X**0.05  # error growing with x: the constrained fit is flat
    f = est.fit_m3(X, y)
    assert f.params["c"] <= 0.0


def test_m4_predict_solves_its_equation():
    p = {"eps_inf": 0.2, "eps0": 1.0, "alpha": 0.7, "beta": 50.0, "c": -0.3}
    pred = est.m4_predict(X, **p)
    lhs = (pred - p["eps_inf"]) / (p["eps0"] - pred) ** p["alpha"]
    np.testing.assert_allclose(lhs, p["beta"] * X ** p["c"], rtol=1e-9)
    assert np.all((pred > p["eps_inf"]) & (pred < p["eps0"]))


@pytest.mark.parametrize("learn", [False, True])
def test_m4_recovers_parameters(learn):
    truth = {"eps_inf": 0.15, "eps0": 1.0, "alpha": 0.6, "beta": 300.0, "c": -0.4}
    y = est.m4_predict(X, **truth)
    f = est.fit_m4(X, y, eps0=1.0, learn_eps0=learn, eps0_max=1.0 + est.ERR_MARGIN)
    assert f.loss < 1e-8
    assert f.params["eps_inf"] == pytest.approx(0.15, abs=1e-3)
    assert f.params["alpha"] == pytest.approx(0.6, abs=2e-2)
    assert est.m4_loss(X, y, **f.params) == pytest.approx(f.loss, abs=1e-10)
    np.testing.assert_allclose(f.predict(X), y, rtol=1e-4)


def test_m4_log_beta_constraint():
    y = est.m4_predict(X, eps_inf=0.0, eps0=1.0, alpha=0.0, beta=0.5, c=-0.05)  # log beta < 0
    free = est.fit_m4(X, y, log_beta_nonneg=False)
    tied = est.fit_m4(X, y, log_beta_nonneg=True)
    assert free.loss < 1e-12
    assert tied.params["beta"] >= 1.0 - 1e-12
    assert tied.loss >= free.loss


def test_m4_fixed_eps0_must_exceed_errors():
    with pytest.raises(ValueError):
        est.fit_m4(X, np.full(len(X), 0.9), eps0=0.8)


def test_nnls_rows_matches_scipy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 30, 3))
    z = rng.standard_normal((6, 30))
    rss, coef = est._nnls_rows(a, z, free=(False, False, False))
    for k in range(6):
        w, rnorm = nnls(a[k], z[k])
        np.testing.assert_allclose(coef[k], w, atol=1e-8)
        assert rss[k] == pytest.approx(rnorm**2, rel=1e-8)


def test_extrapolation_rmse():
    assert extrapolation_rmse([1.0, 1.0], [np.e, 1 / np.e]) == pytest.approx(1.0)
    assert extrapolation_rmse([-1.0, 1.0], [1.0, 1.0]) == float("inf")


def test_win_fractions_truncation_and_ties():
    errors = pd.DataFrame({"A": [0.0101, 0.2, np.nan], "B": [0.0109, 0.1, 0.3], "C": [0.02, 0.3, 0.3]})
    exact = est.win_fractions(errors)
    np.testing.assert_allclose(exact.to_numpy(), [1 / 3, 1 / 3 + 1 / 6, 1 / 6])
    trunc = est.win_fractions(errors, decimals=3)  # 0.0101 and 0.0109 both become 0.010: a tie
    np.testing.assert_allclose(trunc.to_numpy(), [1 / 6, 1 / 6 + 1 / 3 + 1 / 6, 1 / 6])
    assert trunc.sum() == pytest.approx(1.0)


def test_bootstrap_helpers_are_seeded():
    v = np.linspace(0, 1, 31)
    assert est.bootstrap_median(v, n_resamples=200, seed=1) == est.bootstrap_median(v, n_resamples=200, seed=1)
    med, lo, hi = est.bootstrap_median(v, n_resamples=200, seed=1)
    assert lo <= med <= hi
    errors = pd.DataFrame({"A": v, "B": v[::-1]})
    w = est.bootstrap_win_fractions(errors, n_resamples=100, seed=2)
    assert list(w["method"]) == ["A", "B"]
    assert np.all(w["lo"] <= w["win_fraction"]) and np.all(w["win_fraction"] <= w["hi"])


def test_bnsl_jacobian_matches_finite_differences():
    for n_breaks in (1, 2):
        model = bp.bnsl_log_model(n_breaks)
        theta = np.array([0.2, 1.0, 0.3] + [0.5, 2.0, np.log(0.4), -0.3, 4.0, np.log(0.8)][: 3 * n_breaks])
        u = np.linspace(0, 7, 25)
        jac = model.jacobian(theta, u)
        h = 1e-6
        num = np.stack([(model.log_predict(theta + h * e, u) - model.log_predict(theta - h * e, u)) / (2 * h)
                        for e in np.eye(len(theta))], axis=-1)
        np.testing.assert_allclose(jac, num, rtol=1e-5, atol=1e-7)


def test_bnsl_log_model_matches_law():
    model = bp.bnsl_log_model(1)
    x = np.geomspace(1, 1e4, 30)
    theta = np.array([0.3, np.log(2.0), 0.2, 0.7, np.log(100.0), np.log(0.5)])
    np.testing.assert_allclose(np.exp(model.log_predict(theta, np.log(x))),
                               bnsl(x, 0.3, 2.0, 0.2, [0.7], [100.0], [0.5]), rtol=1e-12)


def test_fit_bnsl_recovers_a_smooth_break():
    x = np.geomspace(1e3, 1e8, 50)
    y = bnsl(x, 0.05, 3.0, 0.05, [0.4], [1e5], [0.5])
    f = bp.fit_bnsl(x, y)
    assert f.loss < 1e-10
    xt = np.geomspace(1e8, 1e10, 10)
    assert extrapolation_rmse(f.predict(xt), bnsl(xt, 0.05, 3.0, 0.05, [0.4], [1e5], [0.5])) < 1e-3


def test_choose_bnsl_breaks_short_curve_gets_one():
    x = np.geomspace(1, 100, 10)
    assert bp.choose_bnsl_breaks(x, 1 / x) == 1


def test_segment_slopes_figure_1():
    fig1 = {"a": 1e-3, "b": 4.66e3, "c0": 0.05, "c": [0.49, -0.811, 2.1], "d": [3e6, 1e14, 2e20], "f": [1.1, 1.425, 0.05]}
    slopes = bp.segment_slopes(np.logspace(-1, 26, 4001), **fig1)
    np.testing.assert_allclose(slopes, [-0.05, -0.54, 0.271, -1.829], atol=2e-3)


def test_bnsl_segments_are_the_asymptotes():
    b, c0, c, d, f = 2.0, 0.1, [0.5, -0.2], [1e2, 1e6], [0.3, 0.3]
    segs = bp.bnsl_segments(b, c0, c, d)
    for x, (coef, slope) in zip([1e-3, 1e4, 1e10], segs, strict=True):
        assert bnsl(x, 0.0, b, c0, c, d, f) == pytest.approx(coef * x**-slope, rel=1e-3)


def test_language_curve_tokens_are_unique():
    assert len(set(est.LANGUAGE_CURVE_TOKENS.values())) == len(est.LANGUAGE_CURVE_TOKENS) == 20


def test_fit_curve_on_a_tiny_frame():
    x = np.geomspace(1e6, 1e9, 16)
    y = est.m2_predict(x, 0.2, 40.0, -0.3)
    g = pd.DataFrame({"domain": "IC", "task": "t", "model": "m", "examples": x, "loss": y, "train": x < 2e8})
    rmse, _fits = est.fit_curve(g, methods=("M1", "M2", "M4_fixed"))
    assert set(rmse) == {"M1", "M2", "M4_fixed"}
    assert rmse["M2"] < 1e-6 < rmse["M1"]


def test_m3_authors_search_never_beats_the_global_optimum():
    rng = np.random.default_rng(5)
    y = est.m3_predict(X, 0.5, -0.4, 3e-8) * np.exp(0.03 * rng.standard_normal(len(X)))
    glob = est.fit_m3(X, y)
    auth = est.fit_m3(X, y, search="authors")
    assert glob.loss <= auth.loss + 1e-12
    assert auth.params["gamma"] >= 0 and auth.params["c"] <= 0
    assert est.m3_loss(X, y, **auth.params) == pytest.approx(auth.loss, rel=1e-9)


# --------------------------------------------------------------------------- the authors' procedure


def _noisy_m2(seed: int, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.geomspace(1e6, 1e9, n)
    return x, est.m2_predict(x, 0.2, 10.0, -0.25) * np.exp(0.01 * rng.standard_normal(n))


def test_authors_batch_equals_one_curve_at_a_time():
    """Curves run in lock step do not influence each other (frozen once stopped)."""
    curves_ = [_noisy_m2(s, n) for s, n in ((1, 12), (2, 9), (3, 15))]
    xs, ys = [c[0] for c in curves_], [c[1] for c in curves_]
    together = est.fit_m2_authors_batch(xs, ys, max_iterations=400)
    for (x, y), fit in zip(curves_, together, strict=True):
        alone = est.fit_m2_authors_batch([x], [y], max_iterations=400)[0]
        assert alone.params == pytest.approx(fit.params, rel=1e-12, abs=1e-15)
    m4_together = est.fit_m4_authors_batch(xs, ys, ["IC"] * 3, max_iterations=300)
    m4_alone = est.fit_m4_authors_batch(xs[1:2], ys[1:2], ["IC"], max_iterations=300)[0]
    assert m4_alone.params == pytest.approx(m4_together[1].params, rel=1e-12, abs=1e-15)


def test_authors_m2_stays_in_its_domain_and_never_beats_the_global_optimum():
    x, y = _noisy_m2(4)
    fit = est.fit_m2_authors_batch([x], [y], max_iterations=400)[0]
    assert 0.0 <= fit.params["eps_inf"] <= y.min() - est.ERR_MARGIN + 1e-15
    assert est.fit_m2(x, y).loss <= fit.loss + 1e-12


def test_authors_m4_respects_its_bounds():
    x, y = _noisy_m2(5)
    fit = est.fit_m4_authors_batch([x], [y], ["BB"], max_iterations=300)[0]
    p = fit.params
    assert 0.0 <= p["eps_inf"] <= y.min() - est.ERR_MARGIN + 1e-15
    assert y.max() + est.ERR_MARGIN - 1e-15 <= p["eps0"] <= 1.0 + est.ERR_MARGIN + 1e-15
    assert p["alpha"] >= 0 and p["c"] <= 0 and p["beta"] >= 1.0 - 1e-12  # the code's non-negative regression


@settings(deadline=None, max_examples=30)
@given(alpha=st.floats(0.05, 3.0), c=st.floats(-1.0, -0.05), log_beta=st.floats(0.0, 3.0), eps_inf=st.floats(0.0, 0.3))
def test_m4_predict_grid_is_within_one_grid_step_of_the_root(alpha, c, log_beta, eps_inf):
    x = np.geomspace(1e5, 1e10, 7)
    exact = est.m4_predict(x, eps_inf, 1.0, alpha, float(np.exp(log_beta)), c)
    grid = est.m4_predict_grid(x, eps_inf, 1.0, alpha, float(np.exp(log_beta)), c)
    assert np.all(np.abs(grid - exact) <= (1.0 - eps_inf) / (est.AUTHORS_M4_GRID - 1) * 1.0001)


def test_authors_guards():
    x, y = _noisy_m2(6)
    with pytest.raises(ValueError, match="xs and ys"):
        est.fit_m2_authors_batch([x], [])
    with pytest.raises(ValueError, match="curve 0"):
        est.fit_m2_authors_batch([x], [y[:-1]])
    with pytest.raises(ValueError, match="curve 0"):
        est.fit_m2_authors_batch([x], [-y])
    with pytest.raises(ValueError, match="domains"):
        est.fit_m4_authors_batch([x], [y], ["XX"])
    with pytest.raises(ValueError, match="domains"):
        est.fit_m4_authors_batch([x], [y], [])
    with pytest.raises(ValueError, match="ys"):
        est.fit_m4_authors_batch([x], [y + 1.0], ["IC"])
    with pytest.raises(ValueError, match="methods"):
        est.fit_benchmark(pd.DataFrame(), ["M9"])
