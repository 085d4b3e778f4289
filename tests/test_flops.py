"""Unit tests for scalinglib.flops (Hoffmann et al. 2022, App. F FLOP count) and the FLOP-convention
helpers added to scalinglib.allocation for the Chinchilla chapter (Table A3 inversion, Kaplan frontier)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglib import allocation as al
from scalinglib import flops as fl

SETTINGS = settings(max_examples=50, deadline=None)

# Hoffmann et al. 2022, Table A4: layers, d_model, ffw_size, heads, key size, printed size.
TABLE_A4 = [
    (20, 1024, 4096, 16, 64, 305e6, 1e6),
    (24, 1280, 5120, 10, 128, 552e6, 1e6),
    (26, 1792, 7168, 14, 128, 1.1e9, 1e8),
    (28, 2048, 8192, 16, 128, 1.6e9, 1e8),
    (40, 3584, 14336, 28, 128, 6.8e9, 1e8),
]


@pytest.mark.parametrize("layers, d, f, h, k, printed, unit", TABLE_A4)
def test_params_reproduce_table_a4_sizes(layers, d, f, h, k, printed, unit):
    n = fl.transformer_params(layers, d, f, h, k)
    assert abs(n - printed) <= 0.5 * unit


def test_params_formula_by_hand():
    # 1 layer, d 4, ffw 8, 2 heads of 2, vocab 10: 5*4*4 + 2*4*8 + 10*4 = 80 + 64 + 40
    assert fl.transformer_params(1, 4, 8, 2, 2, vocab_size=10) == 184
    assert fl.transformer_params(1, 4, 8, 2, 2, vocab_size=10, relative_position=False) == 168


def test_forward_flops_term_by_term():
    layers, d, f, h, k, v, s = 2, 4, 8, 2, 3, 10, 5
    hk = h * k
    emb = 2 * s * v * d
    attn = 2 * 3 * s * d * hk + 2 * s * s * hk + 3 * h * s * s + 2 * s * s * hk + 2 * s * hk * d
    dense = 2 * s * (2 * d * f)
    logits = 2 * s * d * v
    expected = emb + layers * (attn + dense) + logits
    got = fl.forward_flops_per_sequence(layers, d, f, h, k, vocab_size=v, seq_len=s)
    assert got == expected
    assert fl.forward_flops_per_sequence(layers, d, f, h, k, vocab_size=v, seq_len=s, count_embeddings=False) == (
        expected - emb
    )
    assert fl.training_flops_per_sequence(layers, d, f, h, k, vocab_size=v, seq_len=s) == 3 * expected


@SETTINGS
@given(layers=st.integers(1, 100), d=st.sampled_from([2**12, 2**13, 2**14]))
def test_ratio_tends_to_one_for_wide_models_without_vocab_or_context(layers, d):
    """With no embeddings, a 1-token context and standard 4-projection attention, App. F reduces to 6N."""
    r = fl.flop_ratio_to_6nd(layers, d, 4 * d, d // 128, 128, vocab_size=0, seq_len=1, relative_position=False)
    assert float(r) == pytest.approx(1.0, abs=1e-3)


# Table A4's printed FLOP ratios (Ours/6ND), same rows as TABLE_A4 plus the 73M model first.
TABLE_A4_RATIOS = [
    ((10, 640, 2560, 10, 64), 1.03),
    ((20, 1024, 4096, 16, 64), 1.10),
    ((24, 1280, 5120, 10, 128), 1.08),
    ((26, 1792, 7168, 14, 128), 1.04),
    ((28, 2048, 8192, 16, 128), 1.03),
    ((40, 3584, 14336, 28, 128), 0.99),
]


@pytest.mark.parametrize("arch, printed", TABLE_A4_RATIOS)
def test_table_a4_convention_reproduces_the_printed_ratios(arch, printed):
    """Without embedding and logits FLOPs (nanoGPT scaling_laws.ipynb, from the authors), S = 2048, V = 32,000."""
    r = float(fl.flop_ratio_to_6nd(*arch, **fl.TABLE_A4_CONVENTION))
    assert abs(r - printed) <= 0.005


def test_table_a4_ratios_are_not_monotone_and_app_f_as_printed_is():
    arch = np.array([row[0] for row in TABLE_A4_RATIOS]).T
    table = fl.flop_ratio_to_6nd(*arch, **fl.TABLE_A4_CONVENTION)
    literal = fl.flop_ratio_to_6nd(*arch)
    assert table.shape == literal.shape == (6,)
    assert table[0] < table[1]  # 73M below 305M, as printed (1.03 < 1.10)
    assert np.all(np.diff(literal) < 0)  # App. F as printed: vocabulary terms fade with size
    assert np.all(literal > table)


def test_literal_minus_table_a4_is_the_embedding_and_logits_terms():
    layers, d, f, h, k, v, s = 3, 8, 32, 2, 4, 50, 7
    full = fl.training_flops_per_sequence(layers, d, f, h, k, vocab_size=v, seq_len=s)
    table = fl.training_flops_per_sequence(layers, d, f, h, k, vocab_size=v, seq_len=s, **fl.TABLE_A4_CONVENTION)
    assert full - table == 3 * (2 * s * v * d + 2 * s * d * v)


@pytest.mark.parametrize("name, kwargs", [
    ("num_layers", {"num_layers": 0}), ("d_model", {"d_model": -1}), ("ffw_size", {"ffw_size": np.nan}),
    ("num_heads", {"num_heads": 0}), ("key_size", {"key_size": np.inf}), ("vocab_size", {"vocab_size": -5}),
    ("seq_len", {"seq_len": 0}),
])
def test_bad_inputs_are_named(name, kwargs):
    args = {"num_layers": 2, "d_model": 8, "ffw_size": 32, "num_heads": 2, "key_size": 4} | kwargs
    with pytest.raises(ValueError, match=name):
        fl.flop_ratio_to_6nd(**args)


# --------------------------------------------------------------------------- allocation helpers


TEX = al.ChinchillaLaw.from_logs(0.5267228, 6.0073404, 6.0179186, 0.33917084, 0.2849083)


@SETTINGS
@given(log_c=st.floats(17.0, 29.0))
def test_flops_for_optimal_params_inverts_the_frontier(log_c):
    c = 10.0**log_c
    n, _ = al.optimal_params_tokens(c, TEX)
    assert float(al.flops_for_optimal_params(n, TEX)) == pytest.approx(c, rel=1e-9)


def test_flop_convention_scales_the_budget():
    n = np.array([4e8, 6.7e10, 1e13])
    c6 = al.flops_for_optimal_params(n, TEX)
    c1 = al.flops_for_optimal_params(n, TEX, flops_per_param_token=1.0)
    np.testing.assert_allclose(c6 / c1, 6.0, rtol=1e-12)


def test_kaplan_frontier_anchor_and_exponent():
    assert float(al.kaplan_frontier_params(1e21)) == pytest.approx(4.68e9)
    ratio = al.kaplan_frontier_params(1e23) / al.kaplan_frontier_params(1e22)
    assert float(ratio) == pytest.approx(10**0.73, rel=1e-12)
