"""Tests for scalinglib.papers.henighan: Kaplan's closed forms, the Pearce & Song frontier, the lab."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scalinglib import allocation
from scalinglib.papers import henighan as hz

alphas = st.floats(min_value=0.01, max_value=1.5)
sizes = st.floats(min_value=1e2, max_value=1e13)


# --------------------------------------------------------------------------- units and pure laws


def test_pf_day_round_trip() -> None:
    assert hz.pf_days_to_flops(1.0)[()] == pytest.approx(8.64e19)
    x = np.array([1e-3, 1.0, 3.5e4])
    np.testing.assert_allclose(hz.flops_to_pf_days(hz.pf_days_to_flops(x)), x, rtol=1e-15)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf])
def test_units_reject_bad_input(bad: float) -> None:
    with pytest.raises(ValueError, match="pf_days"):
        hz.pf_days_to_flops(bad)
    with pytest.raises(ValueError, match="flops"):
        hz.flops_to_pf_days(bad)


@given(x=sizes, alpha=alphas)
def test_pure_power_law_doubling(x: float, alpha: float) -> None:
    ratio = hz.pure_power_law_loss(2 * x, 8.8e13, alpha) / hz.pure_power_law_loss(x, 8.8e13, alpha)
    assert ratio[()] == pytest.approx(hz.doubling_factor(alpha), rel=1e-12)


def test_pure_power_law_guards() -> None:
    with pytest.raises(ValueError, match="x_c"):
        hz.pure_power_law_loss(1.0, 0.0, 0.1)
    with pytest.raises(ValueError, match="alpha"):
        hz.pure_power_law_loss(1.0, 1.0, -0.1)
    with pytest.raises(ValueError, match="x must"):
        hz.pure_power_law_loss([1.0, -2.0], 1.0, 0.1)


def test_loss_params_steps_limits() -> None:
    # with infinitely many steps only the N term remains
    got = hz.kaplan_loss_params_steps(1e9, 1e30, 8.8e13, 0.076, 2.1e3, 0.76)[()]
    assert got == pytest.approx((8.8e13 / 1e9) ** 0.076, rel=1e-12)
    with pytest.raises(ValueError, match="steps"):
        hz.kaplan_loss_params_steps(1e9, 0.0, 8.8e13, 0.076, 2.1e3, 0.76)


# --------------------------------------------------------------------------- Kaplan's derived numbers


@given(a=alphas, b=alphas, c=alphas)
def test_predicted_alpha_c_below_each(a: float, b: float, c: float) -> None:
    got = hz.predicted_alpha_c_min(a, b, c)
    assert 0 < got < min(a, b, c)
    assert got == pytest.approx(hz.predicted_alpha_c_min(c, a, b), rel=1e-12)  # symmetric


def test_predicted_alpha_c_value_and_guard() -> None:
    assert hz.predicted_alpha_c_min(0.76, 0.21, 0.076) == pytest.approx(0.051987, abs=1e-6)
    with pytest.raises(ValueError, match="alpha_b"):
        hz.predicted_alpha_c_min(0.76, 0.0, 0.076)


@given(alpha_b=st.floats(min_value=0.05, max_value=1.0), loss=st.floats(min_value=0.5, max_value=10.0))
def test_bcrit_doubles_over_the_stated_decrease(alpha_b: float, loss: float) -> None:
    dec = hz.bcrit_doubling_loss_decrease(alpha_b)
    b1 = hz.critical_batch_tokens(loss, 2.1e8, alpha_b)[()]
    b2 = hz.critical_batch_tokens(loss * (1 - dec), 2.1e8, alpha_b)[()]
    assert b2 / b1 == pytest.approx(2.0, rel=1e-10)


@given(n=st.floats(min_value=1e5, max_value=1e11), penalty=st.floats(min_value=1e-3, max_value=0.2))
def test_overfitting_rule_hits_the_penalty(n: float, penalty: float) -> None:
    n_c, d_c, a_n, a_d = 6.4e13, 1.8e13, 0.076, 0.103
    k, e = hz.overfitting_data_rule(n_c, d_c, a_n, a_d, penalty)
    d = k * n**e
    full = ((n_c / n) ** (a_n / a_d) + d_c / d) ** a_d
    inf = (n_c / n) ** a_n
    assert full / inf == pytest.approx(1 + penalty, rel=1e-9)


def test_overfitting_rule_guard() -> None:
    with pytest.raises(ValueError, match="penalty"):
        hz.overfitting_data_rule(6.4e13, 1.8e13, 0.076, 0.103, penalty=0.0)


@given(a_n=st.floats(min_value=0.02, max_value=0.5), a_s=st.floats(min_value=0.2, max_value=2.0))
def test_excess_compute_minimum_at_one(a_n: float, a_s: float) -> None:
    k = np.geomspace(0.7, 5.0, 401)
    r = hz.excess_compute_ratio(k, a_n, a_s)
    assert hz.excess_compute_ratio(1.0, a_n, a_s)[()] == pytest.approx(1.0, rel=1e-12)
    assert np.all(r[np.isfinite(r)] >= 1.0 - 1e-12)


def test_excess_compute_too_small_is_infinite() -> None:
    assert np.isinf(hz.excess_compute_ratio(0.01, 0.076, 0.76)[()])


def test_size_band_roots() -> None:
    lo, hi = hz.size_band_for_excess_compute(0.2, 0.076, 0.76)
    assert lo < 1 < hi
    np.testing.assert_allclose(hz.excess_compute_ratio(np.array([lo, hi]), 0.076, 0.76), 1.2, rtol=1e-10)
    with pytest.raises(ValueError, match="excess"):
        hz.size_band_for_excess_compute(0.0, 0.076, 0.76)


@given(beta=st.floats(min_value=0.05, max_value=0.95))
def test_henighan_data_exponents(beta: float) -> None:
    dc, dn = hz.henighan_data_exponents(beta)
    assert dc[()] + beta == pytest.approx(1.0)
    assert dn[()] * beta == pytest.approx(dc[()])


def test_henighan_data_exponents_guard() -> None:
    with pytest.raises(ValueError, match="beta"):
        hz.henighan_data_exponents(1.2)


def test_contradiction_point_is_a_crossing() -> None:
    cp = hz.contradiction_point(3.1e8, 0.050, 5.4e13, 0.095, 1.3e9, 0.73)
    l_c = hz.pure_power_law_loss(cp["pf_days"], 3.1e8, 0.050)[()]
    l_d = hz.pure_power_law_loss(cp["tokens"], 5.4e13, 0.095)[()]
    assert l_c == pytest.approx(l_d, rel=1e-10) and l_c == pytest.approx(cp["loss"], rel=1e-12)
    assert cp["tokens"] == pytest.approx(hz.pf_days_to_flops(cp["pf_days"])[()] / (6 * cp["params"]), rel=1e-10)
    with pytest.raises(ValueError, match="n_exp"):
        hz.contradiction_point(3.1e8, 0.050, 5.4e13, 0.095, 1.3e9, 1.2)


# --------------------------------------------------------------------------- Pearce & Song


def test_pearce_gamma_and_total_params() -> None:
    g = hz.pearce_gamma(32_000, 39.2)
    assert g == pytest.approx(47_481, rel=1e-4)
    n = np.array([1e6, 1e9])
    np.testing.assert_allclose(hz.total_params(n, g), n + g * np.cbrt(n), rtol=1e-15)
    with pytest.raises(ValueError, match="vocab"):
        hz.pearce_gamma(0, 39.2)


@given(n=st.floats(min_value=1e3, max_value=1e12))
def test_frontier_closed_form_matches_numeric(n: float) -> None:
    law = allocation.HOFFMANN_2022_TEX
    c = hz.nonembedding_frontier_flops(n, law, 47_491)[()]
    assert hz.nonembedding_optimum_numeric(c, law, 47_491) == pytest.approx(n, rel=1e-5)


def test_frontier_without_embeddings_is_chinchilla() -> None:
    # gamma -> 0: the frontier is allocation's closed form and the exponent its constant
    law = allocation.HOFFMANN_2022_PRINTED
    n = np.array([1e8, 1e10])
    c = hz.nonembedding_frontier_flops(n, law, 1e-12)
    n_alloc, _ = allocation.optimal_params_tokens(c, law)
    np.testing.assert_allclose(n_alloc, n, rtol=1e-9)
    a, _ = allocation.frontier_exponents(law.alpha, law.beta)
    np.testing.assert_allclose(hz.nonembedding_local_exponent(n, law, 1e-12), a, rtol=1e-9)


@given(n=st.floats(min_value=1e2, max_value=1e14))
def test_local_exponent_between_limits(n: float) -> None:
    law = allocation.HOFFMANN_2022_TEX
    e = hz.nonembedding_local_exponent(n, law, 47_491)[()]
    large = law.beta / (law.alpha + law.beta)
    assert large - 1e-12 <= e < 1.0


def test_local_exponent_limits() -> None:
    law = allocation.HOFFMANN_2022_TEX
    tiny, huge = hz.nonembedding_local_exponent(np.array([1e-6, 1e30]), law, 47_491)
    assert tiny == pytest.approx(law.beta / (law.alpha / 3 + law.beta), rel=1e-4)
    assert huge == pytest.approx(law.beta / (law.alpha + law.beta), rel=1e-4)


def test_local_exponent_is_the_slope() -> None:
    law = allocation.HOFFMANN_2022_PRINTED
    n = np.array([1e6 * (1 - 1e-6), 1e6 * (1 + 1e-6)])
    c = hz.nonembedding_frontier_flops(n, law, 47_491)
    slope = np.diff(np.log(n))[0] / np.diff(np.log(c))[0]
    assert slope == pytest.approx(hz.nonembedding_local_exponent(1e6, law, 47_491)[()], rel=1e-6)


def test_fit_embedding_gamma_recovers_truth() -> None:
    ne = np.geomspace(1e7, 1e10, 20)
    assert hz.fit_embedding_gamma(hz.total_params(ne, 50_000.0), ne) == pytest.approx(50_000.0, rel=1e-8)
    with pytest.raises(ValueError, match="total"):
        hz.fit_embedding_gamma(ne, ne)


@given(slope=st.floats(min_value=-3, max_value=3), scale=st.floats(min_value=1e-3, max_value=1e3))
def test_loglog_slope_fit_exact(slope: float, scale: float) -> None:
    x = np.geomspace(1.0, 1e4, 7)
    assert hz.loglog_slope_fit(x, scale * x**slope) == pytest.approx(slope, abs=1e-9)


def test_loglog_slope_fit_guard() -> None:
    with pytest.raises(ValueError, match="at least two"):
        hz.loglog_slope_fit([1.0], [2.0])


# --------------------------------------------------------------------------- the lab

TINY = replace(hz.FULL_LAB, widths=(2, 4), steps=300, seeds=(0,), n_test=256, log_horizon=20_000)


def test_mlp_params() -> None:
    assert hz.mlp_params(2, 16) == 37
    with pytest.raises(ValueError, match="width"):
        hz.mlp_params(0, 16)


def test_train_is_deterministic_and_shorter_runs_are_prefixes() -> None:
    a = hz.train_mlp_curve(TINY, 4, 0)
    b = hz.train_mlp_curve(TINY, 4, 0)
    pd.testing.assert_frame_equal(a, b)
    short = hz.train_mlp_curve(replace(TINY, steps=100), 4, 0)
    merged = short.merge(a, on=["width", "seed", "step"], suffixes=("", "_long"))
    assert len(merged) == len(short) > 0
    np.testing.assert_array_equal(merged["loss"], merged["loss_long"])
    assert np.all(np.diff(a["flops"]) > 0)
    with pytest.raises(ValueError, match="seed"):
        hz.train_mlp_curve(TINY, 4, -1)


def test_lower_envelope_picks_the_best() -> None:
    curves = pd.DataFrame({
        "params": [10, 10, 100, 100],
        "flops": [1.0, 100.0, 10.0, 1000.0],
        "loss": [1.0, 0.5, 2.0, 0.1],
    })
    env = hz.lower_envelope(curves, [1.0, 50.0, 500.0, 5000.0])
    assert list(env["params"]) == [10, 10, 100]  # 5000 is covered by no model
    assert env["loss"].iloc[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="columns"):
        hz.lower_envelope(curves.drop(columns="loss"), [1.0])


def test_compare_lab_runs() -> None:
    saved = hz.run_lab(TINY)
    assert hz.compare_lab_runs(saved, saved, rel_tol=1e-12) == 0.0
    moved = saved.assign(loss=saved["loss"] * (1 + 1e-6))
    with pytest.raises(ValueError, match="differs"):
        hz.compare_lab_runs(saved, moved, rel_tol=1e-8)
    with pytest.raises(ValueError, match="do not hold"):
        hz.compare_lab_runs(saved.iloc[:2], saved, rel_tol=1e-8)


@given(a_n=st.floats(min_value=0.02, max_value=0.5), a_s=st.floats(min_value=0.2, max_value=2.0),
       f_slow=st.floats(min_value=1e-3, max_value=0.05))
def test_convergence_comparison_same_loss(a_n: float, a_s: float, f_slow: float) -> None:
    # both runs reach the same loss under eq. (1.6): N-term (1 + f) = L and S-term = f * N-term
    r = hz.convergence_comparison(a_n, a_s, f_slow=f_slow)
    f = r["f_fast"]
    assert f == pytest.approx(a_n / a_s)
    n_c, s_c, n_slow, s_slow = 1e13, 1e3, 1e8, None
    l_n = (n_c / n_slow) ** a_n
    loss = (1 + f_slow) * l_n
    s_slow = s_c / (f_slow * l_n) ** (1 / a_s)
    n_fast, s_fast = n_slow * r["params_ratio"], s_slow * r["steps_ratio"]
    got = hz.kaplan_loss_params_steps(n_fast, s_fast, n_c, a_n, s_c, a_s)[()]
    assert got == pytest.approx(loss, rel=1e-9)
    assert r["compute_ratio"] == pytest.approx(r["params_ratio"] * r["steps_ratio"], rel=1e-12)


def test_convergence_comparison_kaplan_values_and_guard() -> None:
    r = hz.convergence_comparison(0.076, 0.76, f_slow=0.02)
    assert r["params_ratio"] == pytest.approx(2.70, abs=0.005)
    assert r["steps_ratio"] == pytest.approx(0.133, abs=0.0005)
    with pytest.raises(ValueError, match="f_slow"):
        hz.convergence_comparison(0.076, 0.76, f_slow=0.0)


# --------------------------------------------------------------------------- Henighan et al. 2020, Tables 1 and 3


@given(x=sizes, x0=st.floats(min_value=1e-3, max_value=1e6), alpha=alphas, l_inf=st.floats(min_value=0, max_value=5))
def test_henighan_loss_reducible_part_is_a_pure_power_law(x: float, x0: float, alpha: float, l_inf: float) -> None:
    full = hz.henighan_loss(x, x0, alpha, l_inf)[()]
    assert full - l_inf == pytest.approx(hz.pure_power_law_loss(x, x0, alpha)[()], rel=1e-9, abs=1e-12)
    assert full >= l_inf


def test_henighan_loss_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="x0"):
        hz.henighan_loss(1.0, 0.0, 0.1)
    with pytest.raises(ValueError, match="alpha"):
        hz.henighan_loss(1.0, 1.0, -0.1)
    with pytest.raises(ValueError, match="l_inf"):
        hz.henighan_loss(1.0, 1.0, 0.1, l_inf=-1.0)
    with pytest.raises(ValueError, match="x"):
        hz.henighan_loss([1.0, -1.0], 1.0, 0.1)


@given(c=st.floats(min_value=1e-8, max_value=1e4), x0=st.floats(min_value=1e-14, max_value=1e-10),
       beta=st.floats(min_value=0.3, max_value=0.95))
def test_n_opt_params_matches_its_coefficient_form(c: float, x0: float, beta: float) -> None:
    n = hz.n_opt_params(c, x0, beta)[()]
    assert n == pytest.approx(hz.law_coefficient(x0, beta) * c**beta, rel=1e-9)


def test_law_coefficient_known_values() -> None:
    # GPT-3 Fig. 3.1 from Henighan et al.'s language row, Kaplan's N_e from the language N_opt row
    assert hz.law_coefficient(3.47e8, -0.048) == pytest.approx(2.5700, abs=5e-4)
    assert hz.law_coefficient(3.3e-13, 0.73) == pytest.approx(1.2927e9, rel=1e-4)
    with pytest.raises(ValueError, match="exponent"):
        hz.law_coefficient(1.0, 0.0)
    with pytest.raises(ValueError, match="x0"):
        hz.law_coefficient(-1.0, 0.5)


@given(c=st.floats(min_value=1e-6, max_value=1e4), x0=st.floats(min_value=1e-9, max_value=1e-5),
       alpha=st.floats(min_value=0.05, max_value=0.5), tokens=st.integers(min_value=1, max_value=4096))
def test_per_item_law_is_the_per_token_law_summed(c: float, x0: float, alpha: float, tokens: int) -> None:
    big = hz.per_item_reducible_x0(x0, alpha, tokens)[()]
    per_token = hz.henighan_loss(c, x0, alpha)[()]
    per_item = np.exp(-alpha * (np.log(c) - np.log(big)))
    assert per_item == pytest.approx(tokens * per_token, rel=1e-9)


def test_per_item_x0_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="tokens"):
        hz.per_item_reducible_x0(1e-8, 0.2, 0)
    with pytest.raises(ValueError, match="alpha"):
        hz.per_item_reducible_x0(1e-8, 0.0, 10)


@given(k=st.floats(min_value=1e6, max_value=1e10), beta=st.floats(min_value=0.3, max_value=0.9),
       tokens=st.floats(min_value=1e6, max_value=1e13))
def test_compute_of_data_law_inverts_c_equals_6dn(k: float, beta: float, tokens: float) -> None:
    big_k, e = hz.compute_of_data_law(k, beta)
    c = big_k * tokens**e  # PF-days
    n = k * c**beta
    assert hz.pf_days_to_flops(c)[()] == pytest.approx(6.0 * tokens * n, rel=1e-8)
    assert e == pytest.approx(1.0 / (1.0 - beta))


def test_compute_of_data_law_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="beta"):
        hz.compute_of_data_law(2.8e8, 1.0)
    with pytest.raises(ValueError, match="coefficient"):
        hz.compute_of_data_law(0.0, 0.7)
