"""Tests for the BNSL chapter's pieces: the Fig. 4 (left) data entry and the one-break fit on its design."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglib import data
from scalinglib.curves import extrapolation_rmse
from scalinglib.laws import bnsl
from scalinglib.papers import bnsl as bp

# the 17 training-set sizes of Caballero et al.'s 4-digit addition curve (Fig. 4 left)
X_ADD = np.array([160, 192, 256, 320, 384, 448, 480, 512, 544, 576, 608, 640, 672, 736, 800, 864, 928], dtype=float)
TRUTH = {"a": 0.414, "b": 2.28, "c0": 0.055, "c": [5.66], "d": [612.6], "f": [0.0592]}


def test_4digit_addition_is_registered_with_a_pinned_hash():
    ds = data.REGISTRY["bnsl_4digit_addition"]
    assert ds.mirror_name == "bnsl_4digit_addition.csv"
    assert len(ds.sha256) == 64 and "ffa608f7ca7910b6f6bcbd39915491353ad5d600" in ds.url
    assert set(ds.columns) == {"dataset_size", "test_cross_entropy", "split"}


def test_one_break_fit_on_14_points_extrapolates_a_noiseless_curve():
    """On the figure's design, a noiseless one-break BNSL whose break is seen is recovered and extrapolated."""
    y = bnsl(X_ADD, **TRUTH)
    fit = bp.fit_bnsl(X_ADD[:14], y[:14], grid=bp.FIG4_GRID, n_refine=10)
    assert extrapolation_rmse(fit.predict(X_ADD[14:]), y[14:]) < 1e-3
    assert fit.params["d1"] == pytest.approx(612.6, rel=0.02)


def test_fit_bnsl_refuses_too_few_points():
    with pytest.raises(ValueError):
        bp.fit_bnsl(X_ADD[:3], bnsl(X_ADD[:3], **TRUTH), n_breaks=1)
