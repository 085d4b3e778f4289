"""Unit tests for scalinglib.isoflop: Approach 2 of Hoffmann et al. 2022 (IsoFLOP profiles).

Synthetic IsoFLOP data are built from exact parabolas whose vertices follow a known power law, so the
fit must recover the vertices and the exponent to rounding error."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglib import isoflop as iso

SETTINGS = settings(max_examples=40, deadline=None)


def synthetic(a: float = 0.5, k: float = 0.1, curvature: float = 0.05, n_per_budget: int = 7, noise: float = 0.0,
              seed: int = 0):
    """Points on exact parabolas loss = L0(C) + curvature (ln N - ln N_opt(C))^2 with N_opt = k C^a."""
    rng = np.random.default_rng(seed)
    budgets = iso.BUDGETS_FLOPS
    n_opt = k * budgets**a
    params, flops, loss, idx = [], [], [], []
    for j, (c, n0) in enumerate(zip(budgets, n_opt, strict=True)):
        n = n0 * np.exp(np.linspace(-1.5, 1.5, n_per_budget))
        params.append(n)
        flops.append(np.full(n_per_budget, c))
        valley = curvature * np.log(n / n0) ** 2
        loss.append(3.0 - 0.1 * np.log10(c) + valley + noise * rng.standard_normal(n_per_budget))
        idx.append(np.full(n_per_budget, j))
    return (np.concatenate(params), np.concatenate(flops), np.concatenate(loss), np.concatenate(idx), n_opt)


# --------------------------------------------------------------------------- assignment


def test_assign_budgets_nearest_within_threshold():
    c = np.array([6e18, 6e18 * 10**0.049, 6e18 * 10**-0.051, 1e21, 3e21 * 10**0.2, 2e19])
    idx = iso.assign_budgets(c)
    # 2e19 is 0.176 decades from 3e19 and 0.301 from 1e19: on no budget
    assert idx.tolist() == [0, 0, -1, 7, -1, -1]


def test_assign_budgets_threshold_is_inclusive_and_configurable():
    c = np.array([1e20 * 10**0.02])
    assert iso.assign_budgets(c, max_log10_distance=0.02)[0] == 4
    assert iso.assign_budgets(c, max_log10_distance=0.019)[0] == -1


# --------------------------------------------------------------------------- parabolas


def test_fit_parabolas_recovers_exact_coefficients():
    params, _, loss, idx, n_opt = synthetic()
    coefs = iso.fit_parabolas(params, loss, idx, len(iso.BUDGETS_FLOPS))
    assert coefs.shape == (9, 3)
    np.testing.assert_allclose(iso.parabola_vertex_params(coefs), n_opt, rtol=1e-8)
    np.testing.assert_allclose(coefs[:, 0], 0.05, rtol=1e-8)
    for k in range(9):
        sel = idx == k
        np.testing.assert_allclose(iso.parabola_loss(coefs[k], params[sel]), loss[sel], atol=1e-9)


def test_integer_weights_equal_repeated_points():
    params, _, loss, idx, _ = synthetic(noise=0.01, seed=3)
    w = np.random.default_rng(1).integers(0, 3, size=len(params)).astype(float)
    w[np.searchsorted(idx, np.arange(9))] += 3  # every budget keeps >= 3 distinct points
    rep = np.repeat(np.arange(len(params)), w.astype(int))
    weighted = iso.fit_parabolas(params, loss, idx, 9, weights=w)
    repeated = iso.fit_parabolas(params[rep], loss[rep], idx[rep], 9)
    np.testing.assert_allclose(weighted, repeated, rtol=1e-7, atol=1e-9)


def test_batched_weights_match_one_by_one():
    params, _, loss, idx, _ = synthetic(noise=0.01, seed=4)
    w = np.random.default_rng(2).integers(1, 4, size=(3, len(params))).astype(float)
    batch = iso.fit_parabolas(params, loss, idx, 9, weights=w)
    for r in range(3):
        np.testing.assert_allclose(batch[r], iso.fit_parabolas(params, loss, idx, 9, weights=w[r]), rtol=1e-10)


def test_concave_parabola_has_no_vertex_and_too_few_points_raise():
    assert np.isnan(iso.parabola_vertex_params(np.array([-0.1, 1.0, 0.0])))
    assert np.isnan(iso.parabola_vertex_params(np.array([0.0, 1.0, 0.0])))
    with pytest.raises(ValueError, match="at least 3"):
        iso.fit_parabolas([1e8, 2e8], [3.0, 2.9], [0, 0], 1)


def test_unassigned_points_are_ignored():
    params, _, loss, idx, _ = synthetic()
    extra_p, extra_l = np.array([1e9, 5e9]), np.array([9.0, 0.1])  # wild points on no budget
    coefs = iso.fit_parabolas(np.r_[params, extra_p], np.r_[loss, extra_l], np.r_[idx, [-1, -1]], 9)
    np.testing.assert_allclose(coefs, iso.fit_parabolas(params, loss, idx, 9), rtol=1e-12)


# --------------------------------------------------------------------------- power laws


@SETTINGS
@given(a=st.floats(0.2, 0.9), k=st.floats(1e-3, 10.0))
def test_fit_isoflop_recovers_power_law(a, k):
    params, _, loss, idx, n_opt = synthetic(a=a, k=k)
    fit = iso.fit_isoflop(params, loss, idx)
    assert fit.a == pytest.approx(a, abs=1e-8)
    assert fit.n_coef == pytest.approx(k, rel=1e-6)
    assert fit.b == pytest.approx(1.0 - a, abs=1e-8)  # D_opt = C / (6 N_opt)
    np.testing.assert_allclose(fit.tokens_opt, iso.BUDGETS_FLOPS / (6 * n_opt), rtol=1e-7)
    np.testing.assert_allclose(fit.params_at(iso.BUDGETS_FLOPS), n_opt, rtol=1e-6)
    np.testing.assert_allclose(
        6 * fit.params_at(iso.BUDGETS_FLOPS) * fit.tokens_at(iso.BUDGETS_FLOPS), iso.BUDGETS_FLOPS, rtol=1e-6
    )
    assert fit.n_points.tolist() == [7] * 9


def test_power_law_fit_rows_and_exactness():
    x = np.logspace(18, 22, 9)
    y = np.stack([2.0 * x**0.5, 0.3 * x**0.7])
    k, e = iso.power_law_fit(x, y)
    np.testing.assert_allclose(e, [0.5, 0.7], rtol=1e-12)
    np.testing.assert_allclose(k, [2.0, 0.3], rtol=1e-9)
    k1, e1 = iso.power_law_fit(x, y[0])
    assert float(e1) == pytest.approx(0.5, abs=1e-12) and float(k1) == pytest.approx(2.0, rel=1e-9)


def test_power_law_fit_is_least_squares_in_log_log():
    rng = np.random.default_rng(0)
    x = np.logspace(18, 22, 9)
    y = 0.1 * x**0.5 * np.exp(0.05 * rng.standard_normal(9))
    k, e = iso.power_law_fit(x, y)
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    assert float(e) == pytest.approx(slope, abs=1e-12) and float(k) == pytest.approx(np.exp(intercept), rel=1e-10)


def test_fit_isoflop_rejects_budget_without_minimum():
    params, _, loss, idx, _ = synthetic()
    loss = loss.copy()
    sel = idx == 2
    loss[sel] = 5.0 - 0.05 * np.log(params[sel] / params[sel].mean()) ** 2  # concave
    with pytest.raises(ValueError, match="no minimum"):
        iso.fit_isoflop(params, loss, idx)


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_is_deterministic_and_seeded():
    params, _, loss, idx, _ = synthetic(noise=0.01, seed=5)
    one = iso.bootstrap_exponents(params, loss, idx, n_resamples=50, seed=7)
    two = iso.bootstrap_exponents(params, loss, idx, n_resamples=50, seed=7)
    other = iso.bootstrap_exponents(params, loss, idx, n_resamples=50, seed=8)
    np.testing.assert_array_equal(one.a, two.a)
    assert one.n_dropped == two.n_dropped
    assert not np.array_equal(one.a, other.a)
    assert len(one.a) + one.n_dropped == 50
    np.testing.assert_allclose(one.a + one.b, 1.0, atol=1e-10)


def test_bootstrap_of_exact_data_is_exact_and_brackets_noisy_fit():
    params, _, loss, idx, _ = synthetic(a=0.45)
    boot = iso.bootstrap_exponents(params, loss, idx, n_resamples=30, seed=0)
    np.testing.assert_allclose(boot.a, 0.45, atol=1e-7)  # every resample of exact data has the same vertices
    params, _, loss, idx, _ = synthetic(a=0.45, noise=0.003, seed=1)
    fit = iso.fit_isoflop(params, loss, idx)
    boot = iso.bootstrap_exponents(params, loss, idx, n_resamples=300, seed=0)
    (lo, hi), _ = boot.percentiles((5, 95))
    assert lo < fit.a < hi


def test_bootstrap_resamples_within_budgets():
    """The documented scheme: one multinomial draw per budget, in budget order, from default_rng(seed);
    every budget keeps its number of points in every resample."""
    params, _, loss, idx, _ = synthetic(n_per_budget=5, noise=0.01)
    rng = np.random.default_rng(11)
    counts = np.zeros((4, len(idx)))
    for k in range(9):
        m = np.flatnonzero(idx == k)
        counts[:, m] = rng.multinomial(len(m), np.full(len(m), 1 / len(m)), size=4)
    assert np.all(counts[:, idx == 0].sum(axis=1) == 5)
    n_opt = iso.parabola_vertex_params(iso.fit_parabolas(params, loss, idx, 9, weights=counts))
    keep = np.all(np.isfinite(n_opt), axis=1)
    _, a = iso.power_law_fit(iso.BUDGETS_FLOPS, n_opt[keep])
    boot = iso.bootstrap_exponents(params, loss, idx, n_resamples=4, seed=11)
    np.testing.assert_allclose(boot.a, a, rtol=1e-12)
    assert boot.n_dropped == int((~keep).sum())


# --------------------------------------------------------------------------- the digitised data


@pytest.mark.skipif(not os.environ.get("SCALINGLIB_DATA_DIR"), reason="needs the data mirror (SCALINGLIB_DATA_DIR)")
def test_digitised_points_assignment_and_exponent():
    from scalinglib import data

    runs = data.load("chinchilla_svg_extracted")
    idx = iso.assign_budgets(runs["flops"])
    assert int((idx >= 0).sum()) == 139
    fit = iso.fit_isoflop(runs["params"][idx >= 0], runs["loss"][idx >= 0], idx[idx >= 0])
    assert 0.462 <= fit.a <= 0.534  # Hoffmann et al. 2022, Table 2, Approach 2, 10-90% interval


# --------------------------------------------------------------------------- the paper's 80%-subsample interval


def _synthetic_isoflop(seed: int = 0, per_budget: int = 8):
    rng = np.random.default_rng(seed)
    params, loss, idx = [], [], []
    for k, c in enumerate(iso.BUDGETS_FLOPS):
        n_opt = 0.1 * c**0.5
        n = n_opt * np.exp(np.linspace(-1.5, 1.5, per_budget))
        params += list(n)
        loss += list(2.0 + 0.05 * np.log(n / n_opt) ** 2 + 1e-4 * rng.standard_normal(per_budget))
        idx += [k] * per_budget
    return np.array(params), np.array(loss), np.array(idx)


def test_subsample_exponents_recovers_the_exponent_and_is_seeded():
    params, loss, idx = _synthetic_isoflop()
    first = iso.subsample_exponents(params, loss, idx, seed=3)
    again = iso.subsample_exponents(params, loss, idx, seed=3)
    np.testing.assert_array_equal(first.a, again.a)
    assert len(first.a) + first.n_dropped == 100
    np.testing.assert_allclose(first.a, 0.5, atol=0.01)
    np.testing.assert_allclose(first.a + first.b, 1.0, atol=1e-12)


@pytest.mark.parametrize("kwargs, name", [
    ({"fraction": 0.0}, "fraction"), ({"fraction": 1.5}, "fraction"), ({"n_resamples": 0}, "n_resamples"),
    ({"seed": -1}, "seed"),
])
def test_subsample_exponents_guards(kwargs, name):
    params, loss, idx = _synthetic_isoflop()
    with pytest.raises(ValueError, match=name):
        iso.subsample_exponents(params, loss, idx, **({"seed": 0} | kwargs))
