"""Counting a transformer's parameters and training FLOPs: Hoffmann et al. 2022, Appendix F.

Appendix F of "Training Compute-Optimal Large Language Models" counts the forward pass of one
sequence as (a multiply-accumulate = 2 FLOPs):

- embeddings: ``2 S V d``
- attention, per layer: Q, K, V projections ``2 * 3 S d (k h)``; key @ query logits ``2 S**2 (k h)``;
  softmax ``3 h S**2``; softmax @ value reduction ``2 S**2 (k h)``; final linear ``2 S (k h) d``
- dense block, per layer: ``2 S (d f + d f)``
- final logits: ``2 S d V``

with ``S`` the sequence length, ``V`` the vocabulary, ``d`` = d_model, ``f`` = ffw_size, ``h`` heads of
key/query size ``k``; forward total = embeddings + layers x (attention + dense) + logits, and the
backward pass costs twice the forward pass (as in Kaplan et al. 2020), so training = 3 x forward.
Table A4 prints the ratio of this count to ``6 N D`` for six models, but not ``S`` or ``V``: the
model card gives a 32,000-token SentencePiece vocabulary; ``S = 2048`` is our guess.

**Table A4's convention.** The count as printed does not give Table A4's ratios (1.58 for the 73M model
where 1.03 is printed). Table A4 was computed *without* the embedding and final-logits terms, i.e.
forward = layers x (attention + dense): Karpathy's nanoGPT ``scaling_laws.ipynb`` (github.com/karpathy/
nanoGPT, cell "chinchilla_flops") reports this from correspondence with the authors ("they do not count
embeddings and logits to repro table 4"), and with it all six printed ratios follow (to their two
decimals) from ``S = 2048``, ``V = 32,000`` and our :func:`transformer_params` ``N``. Use
``count_embeddings=False, count_logits=False`` (:data:`TABLE_A4_CONVENTION`). (Our code, written from the
paper's App. F and the notebook's description; the notebook counts ``N`` with biases and layer norms,
which moves the ratios by less than 0.002.)

Parameters (:func:`transformer_params`) count the embedding matrix (App. F: "we also count embeddings
matrices in the total parameter count") and, per layer, the Q, K, V, output projections and the two
dense matrices; ``relative_position=True`` adds the Transformer-XL relative-position key projection
(``d x k h`` per layer) of the Gopher architecture (Rae et al. 2021 use relative positional encodings,
Dai et al. 2019). Biases and layer norms are left out.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

__all__ = [
    "SEQ_LEN",
    "TABLE_A4_CONVENTION",
    "VOCAB_SIZE",
    "flop_ratio_to_6nd",
    "forward_flops_per_sequence",
    "training_flops_per_sequence",
    "transformer_params",
]

VOCAB_SIZE = 32_000
"""SentencePiece vocabulary of Chinchilla (Hoffmann et al. 2022, Table A8, model card)."""
SEQ_LEN = 2048
"""Sequence length: not printed in Hoffmann et al. 2022; 2048 is Gopher's (Rae et al. 2021) and our guess."""


TABLE_A4_CONVENTION: dict[str, bool] = {"count_embeddings": False, "count_logits": False}
"""The terms Table A4 leaves out of App. F's count (nanoGPT ``scaling_laws.ipynb``, from the authors)."""


def _f(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=float)


def _positive(name: str, x: ArrayLike, allow_zero: bool = False) -> Array:
    a = _f(x)
    bad = ~np.isfinite(a) | ((a < 0) if allow_zero else (a <= 0))
    if np.any(bad):
        raise ValueError(f"{name} must be {'non-negative' if allow_zero else 'positive'} and finite, got {x!r}")
    return a


def _check_arch(num_layers: ArrayLike, d_model: ArrayLike, ffw_size: ArrayLike, num_heads: ArrayLike,
                key_size: ArrayLike, vocab_size: float, seq_len: float | None = None) -> None:
    for name, v in (("num_layers", num_layers), ("d_model", d_model), ("ffw_size", ffw_size),
                    ("num_heads", num_heads), ("key_size", key_size)):
        _positive(name, v)
    _positive("vocab_size", vocab_size, allow_zero=True)
    if seq_len is not None:
        _positive("seq_len", seq_len)


def transformer_params(
    num_layers: ArrayLike,
    d_model: ArrayLike,
    ffw_size: ArrayLike,
    num_heads: ArrayLike,
    key_size: ArrayLike,
    vocab_size: int = VOCAB_SIZE,
    relative_position: bool = True,
) -> Array:
    """Parameter count ``L (p d k h + 2 d f) + V d`` with ``p = 5`` (Q, K, V, output and the relative-
    position projection) or ``p = 4`` without relative positions; one ``V x d`` embedding matrix."""
    d, hk = _f(d_model), _f(num_heads) * _f(key_size)
    per_layer = (5.0 if relative_position else 4.0) * d * hk + 2.0 * d * _f(ffw_size)
    return _f(num_layers) * per_layer + vocab_size * d


def forward_flops_per_sequence(
    num_layers: ArrayLike,
    d_model: ArrayLike,
    ffw_size: ArrayLike,
    num_heads: ArrayLike,
    key_size: ArrayLike,
    vocab_size: int = VOCAB_SIZE,
    seq_len: int = SEQ_LEN,
    count_embeddings: bool = True,
    count_logits: bool = True,
) -> Array:
    """Forward-pass FLOPs of one sequence, term by term as listed in Hoffmann et al. 2022, App. F.

    ``count_embeddings=False`` drops the ``2 S V d`` embedding term (a look-up, not a matmul, in practice);
    ``count_logits=False`` drops the ``2 S d V`` final logits. Both off is Table A4's convention
    (:data:`TABLE_A4_CONVENTION`).
    """
    _check_arch(num_layers, d_model, ffw_size, num_heads, key_size, vocab_size, seq_len)
    s, d, f, h = float(seq_len), _f(d_model), _f(ffw_size), _f(num_heads)
    hk = h * _f(key_size)
    embeddings = 2.0 * s * vocab_size * d if count_embeddings else 0.0
    attention = (
        2.0 * 3.0 * s * d * hk  # key, query and value projections
        + 2.0 * s * s * hk  # key @ query logits
        + 3.0 * h * s * s  # softmax
        + 2.0 * s * s * hk  # softmax @ value reductions
        + 2.0 * s * hk * d  # final linear
    )
    dense = 2.0 * s * (d * f + d * f)
    logits = 2.0 * s * d * vocab_size if count_logits else 0.0
    return embeddings + _f(num_layers) * (attention + dense) + logits


def training_flops_per_sequence(*args: ArrayLike, **kwargs: object) -> Array:
    """Training FLOPs of one sequence: forward + backward = 3 x :func:`forward_flops_per_sequence`
    (the backward pass costs twice the forward pass; Kaplan et al. 2020, Hoffmann et al. 2022 App. F)."""
    return 3.0 * forward_flops_per_sequence(*args, **kwargs)


def flop_ratio_to_6nd(
    num_layers: ArrayLike,
    d_model: ArrayLike,
    ffw_size: ArrayLike,
    num_heads: ArrayLike,
    key_size: ArrayLike,
    vocab_size: int = VOCAB_SIZE,
    seq_len: int = SEQ_LEN,
    count_embeddings: bool = True,
    relative_position: bool = True,
    count_logits: bool = True,
) -> Array:
    """Table A4's "FLOP Ratio (Ours/6ND)": App. F training FLOPs of one sequence over ``6 N S``,
    with ``N`` from :func:`transformer_params` and ``D = S`` tokens. The defaults are App. F as printed;
    ``**TABLE_A4_CONVENTION`` gives the count the table was computed with."""
    n = transformer_params(num_layers, d_model, ffw_size, num_heads, key_size, vocab_size, relative_position)
    flops = training_flops_per_sequence(
        num_layers, d_model, ffw_size, num_heads, key_size,
        vocab_size=vocab_size, seq_len=seq_len, count_embeddings=count_embeddings, count_logits=count_logits,
    )
    return flops / (6.0 * n * seq_len)
