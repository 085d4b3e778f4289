"""Unit tests for scalinglib.papers.hestness and scalinglib.curves: tasks, theory, training grid, best-model selection, region rules, fits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from scalinglib import curves
from scalinglib.papers import hestness as lab
from scalinglib.paths import repo_root

SMALL_SPECTRAL = lab.SpectralTeacher(input_dims=64, noise_var=0.5, chunk_rows=128)
SMALL_ZIPF = lab.ZipfTeacher(noise_var=2.0, chunk_rows=128)


# --------------------------------------------------------------------------- random tables


def test_hash_normal_is_a_fixed_standard_normal_table():
    a = lab.hash_normal(1, 2, np.arange(20000))
    b = lab.hash_normal(1, 2, np.arange(20000))
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean()) < 0.03 and abs(a.std() - 1.0) < 0.03
    assert not np.allclose(a, lab.hash_normal(1, 3, np.arange(20000)))
    # broadcasting: a (tokens x units) table
    t = lab.hash_normal(0, np.arange(5)[:, None], np.arange(3)[None, :])
    assert t.shape == (5, 3)
    assert t[4, 2] == lab.hash_normal(0, 4, 2)


# --------------------------------------------------------------------------- tasks


@pytest.mark.parametrize("task", [SMALL_SPECTRAL, SMALL_ZIPF], ids=["spectral", "zipf"])
def test_streams_are_reproducible_and_nested(task):
    x1, y1, f1 = lab._rows(task, 7, 3, 0, 300)
    x2, y2, f2 = lab._rows(task, 7, 3, 0, 1000)
    np.testing.assert_array_equal(x1, x2[:300])
    np.testing.assert_array_equal(y1, y2[:300])
    xm, ym, _ = lab._rows(task, 7, 3, 250, 700)  # a middle slice crossing chunk borders
    np.testing.assert_array_equal(ym, y2[250:700])
    np.testing.assert_array_equal(xm, x2[250:700])
    _, y3, _ = lab._rows(task, 7, 4, 0, 300)  # another stream differs
    assert not np.allclose(y1, y3)


def test_spectral_teacher_moments():
    t = SMALL_SPECTRAL
    x, y, f = lab._rows(t, 0, 0, 0, 40000)
    np.testing.assert_allclose(x.var(axis=0)[:8], t.eigenvalues[:8], rtol=0.05)
    assert t.signal_power.sum() + t.tail_var == pytest.approx(1.0, rel=1e-12)  # total signal is 1
    assert f.var() == pytest.approx(1.0 - t.tail_var, rel=0.05)
    assert np.var(y - f) == pytest.approx(t.bayes_error, rel=0.05)
    assert float(t.tail_signal(0)) == pytest.approx(1.0, rel=1e-12)


def test_spectral_expected_ols_error_matches_monte_carlo():
    t = lab.SpectralTeacher(input_dims=32, noise_var=0.5, chunk_rows=64)
    m, p, reps = 24, 6, 1500
    rng = np.random.default_rng(0)
    errs = []
    for _ in range(reps):
        z = rng.standard_normal((m, t.input_dims))
        x = z * np.sqrt(t.eigenvalues)
        y = x @ t.weights + np.sqrt(t.bayes_error) * rng.standard_normal(m)
        w = np.linalg.lstsq(x[:, :p], y, rcond=None)[0]
        # exact test error of this w: sum_k lambda_k (w_k - w*_k)^2 over k <= p, plus the rest
        d = np.zeros(t.input_dims)
        d[:p] = w
        errs.append(float(np.sum(t.eigenvalues * (d - t.weights) ** 2) + t.bayes_error))
    mc, se = np.mean(errs), np.std(errs) / np.sqrt(reps)
    assert float(t.expected_ols_error(m, p)) == pytest.approx(mc, abs=4 * se)


def test_zipf_probabilities_and_expected_error():
    z = SMALL_ZIPF
    th = z.probabilities(np.arange(1, 200001))
    assert th.sum() == pytest.approx(1.0, abs=0.03)  # heavy tail: 2e5 tokens hold ~97%
    assert np.all(np.abs(z.token_values(np.arange(1, 100))) == 1.0)
    m, p, reps = 400, 20, 2000
    rng = np.random.default_rng(1)
    g = z.token_values(np.arange(1, p + 1))
    errs = []
    for _ in range(reps):
        tok = rng.zipf(1.0 + z.zipf_exponent, m)
        y = z.token_values(tok) + np.sqrt(z.noise_var) * rng.standard_normal(m)
        inside = tok <= p
        cnt = np.bincount(tok[inside], minlength=p + 1)[1:]
        tot = np.bincount(tok[inside], weights=y[inside], minlength=p + 1)[1:]
        w = np.where(cnt > 0, tot / np.maximum(cnt, 1), 0.0)
        th_p = z.probabilities(np.arange(1, p + 1))
        errs.append(z.noise_var + (1.0 - th_p.sum()) + float(np.sum(th_p * (g - w) ** 2)))
    mc, se = np.mean(errs), np.std(errs) / np.sqrt(reps)
    assert float(z.expected_ols_error(m, [p])[0]) == pytest.approx(mc, abs=4 * se)
    e = z.expected_ols_error(m, [1, 5, 20])
    assert np.all(np.isfinite(e)) and np.all(e > z.bayes_error)


def test_spectral_theory_exponents():
    bg, bp = lab.spectral_theory_exponents(0.7)
    assert bg == pytest.approx(-0.7 / 1.7) and bp == pytest.approx(1 / 1.7)
    for b in (0.1, 0.5, 1.0, 3.0):
        bg, bp = lab.spectral_theory_exponents(b)
        assert bp == pytest.approx(1.0 + bg)
        assert (-0.5 <= bg < 0) == (0.5 <= bp < 1)


# --------------------------------------------------------------------------- architectures and training


def test_random_relu_units_do_not_depend_on_width():
    x, _, _ = lab._rows(SMALL_SPECTRAL, 0, 0, 0, 50)
    wide = lab.RandomReLU(max_params=40).features(x, SMALL_SPECTRAL)
    narrow = lab.RandomReLU(max_params=10).features(x, SMALL_SPECTRAL)
    np.testing.assert_allclose(wide[:, :10], narrow, rtol=1e-12, atol=1e-12)
    tok, _, _ = lab._rows(SMALL_ZIPF, 0, 0, 0, 50)
    wide = lab.RandomReLU(max_params=40).features(tok, SMALL_ZIPF)
    narrow = lab.RandomReLU(max_params=10).features(tok, SMALL_ZIPF)
    np.testing.assert_array_equal(wide[:, :10], narrow)
    onehot = lab.LinearPrefix(max_params=5).features(np.array([[1], [3], [9]]), SMALL_ZIPF)
    np.testing.assert_array_equal(onehot, [[1, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]])


def _grid(task, arch, sizes=(8, 16, 32, 64, 128), models=(0, 1, 2, 4, 8, 16, 32), reps=2):
    return lab.train_grid(task, arch, sizes, models, seed=3, replicates=reps, val_rows=256, test_rows=256)


def test_train_grid_rows_and_rules():
    runs = _grid(SMALL_SPECTRAL, lab.LinearPrefix(max_params=32))
    assert set(runs.columns) == {"task", "arch", "replicate", "examples", "params", "val_error", "test_error"}
    assert (runs["params"] <= 0.5 * runs["examples"]).all()
    assert set(runs["replicate"]) == {0, 1}
    assert (runs["test_error"] > SMALL_SPECTRAL.bayes_error).all()
    again = _grid(SMALL_SPECTRAL, lab.LinearPrefix(max_params=32))
    pd.testing.assert_frame_equal(runs, again)  # deterministic


def test_train_grid_replicates_per_size():
    runs = lab.train_grid(
        SMALL_ZIPF, lab.LinearPrefix(max_params=8), (8, 16, 32), (0, 2, 4), seed=0,
        replicates=lambda m: 64 // m, val_rows=64, test_rows=64,
    )
    counts = runs.groupby("examples")["replicate"].nunique()
    assert counts.to_dict() == {8: 8, 16: 4, 32: 2}


def test_a_smaller_grid_reproduces_the_same_models():
    """The property the chapter's quick rerun relies on: a sub-grid trains identical models."""
    full = _grid(SMALL_SPECTRAL, lab.RandomReLU(max_params=32))
    sub = _grid(SMALL_SPECTRAL, lab.RandomReLU(max_params=8), sizes=(8, 16, 32), models=(0, 2, 8), reps=1)
    j = lab.compare_runs(full, sub, rel_tol=1e-9)
    assert len(j) == len(sub)
    broken = sub.assign(val_error=sub["val_error"] * 1.01)
    with pytest.raises(ValueError, match="differs"):
        lab.compare_runs(full, broken, rel_tol=1e-9)
    extra = pd.concat([sub, sub.iloc[:1].assign(examples=4096)])
    with pytest.raises(ValueError, match="lacks"):
        lab.compare_runs(full, extra, rel_tol=1e-9)


def test_size_zero_is_the_best_guess():
    runs = _grid(SMALL_ZIPF, lab.LinearPrefix(max_params=32), reps=1)
    zero = runs[runs["params"] == 0]
    # predicting the training mean: error close to Var(y) = 1 + noise (plus the mean's own error)
    assert np.all(np.abs(zero["test_error"] - (1.0 + SMALL_ZIPF.noise_var)) < 1.0)


def test_best_model_per_size_takes_the_argmin_of_mean_validation_error():
    runs = pd.DataFrame(
        {
            "task": "t", "arch": "a", "replicate": [0, 1, 0, 1, 0, 1],
            "examples": 100, "params": [1, 1, 2, 2, 4, 4],
            "val_error": [3.0, 1.0, 1.5, 1.7, 2.0, 2.2], "test_error": [9.0, 9.0, 5.0, 6.0, 7.0, 7.0],
        }
    )
    b = lab.best_model_per_size(runs)
    assert b.loc[0, "params"] == 2 and b.loc[0, "test_error"] == pytest.approx(5.5)
    assert b.loc[0, "replicates"] == 2


def test_refine_best_size_finds_the_vertex_of_a_parabola_in_log_p():
    p = np.array([1, 2, 4, 8, 16, 32.0])
    e = (np.log(p) - np.log(6.0)) ** 2 + 1.0
    assert lab.refine_best_size(p, e) == pytest.approx(6.0, rel=1e-9)
    assert lab.refine_best_size(p, (np.log(p) - np.log(50.0)) ** 2) == 32.0  # minimum at the end of the grid
    assert lab.refine_best_size([0, 1, 2], [1.0, 2.0, 3.0]) == 0.0


# --------------------------------------------------------------------------- regions and fits


def test_log_bin():
    x = np.linspace(1, 1000, 1000)
    y = 1.0 / x
    xb, yb, counts = curves.log_bin(x, y, bins_per_decade=5)
    assert counts.sum() == 1000 and len(xb) == 16
    assert np.all(np.diff(xb) > 0)
    assert xb[0] == 1.0 and yb[0] == 1.0


def test_power_law_region_starts_after_the_plateau():
    x = 2.0 ** np.arange(3, 20)
    y = np.minimum(0.99, 5.0 * x**-0.4) + 0.1  # plateau, then a saturating power law
    s = curves.power_law_region(x, y)
    assert x[s] in (32, 64, 128)  # the plateau ends near x = 57
    pure = 0.2 + 3.0 * x**-0.5
    assert curves.power_law_region(x, pure) == 0


def test_stable_slope_start():
    x = 2.0 ** np.arange(3, 16)
    ex = np.where(x < 512, 0.6, 0.6 * (x / 512) ** -0.2)
    s = curves.stable_slope_start(x, ex)
    assert x[s] in (256, 512)
    assert curves.stable_slope_start(x, 2.0 * x**-0.3) == 0


def test_fit_learning_curve_recovers_a_saturating_power_law():
    x = 2.0 ** np.arange(4, 18)
    y = 1.5 * (x / 16) ** -0.35 + 0.2
    f = curves.fit_learning_curve(x, y, n_bootstrap=20, seed=0, start=0)
    assert f.exponent == pytest.approx(-0.35, abs=1e-5)
    assert f.floor == pytest.approx(0.2, rel=1e-4)
    assert f.coef == pytest.approx(1.5, rel=1e-4)
    np.testing.assert_allclose(f.predict(x), y, rtol=1e-5)
    assert f.interval[0] <= f.exponent <= f.interval[1]
    pure = curves.fit_learning_curve(x, 3.0 * x**-0.25, n_bootstrap=0, seed=0, start=2, saturating=False)
    assert pure.exponent == pytest.approx(-0.25, abs=1e-9) and pure.floor == 0.0 and pure.start == 2


def test_fit_model_size_and_curves():
    m = 2.0 ** np.arange(3, 16)
    p = 0.5 * m**0.6
    f = curves.fit_model_size(m, np.concatenate([[0.0], p[1:]]), start=0, n_bootstrap=10, seed=0)
    assert f.exponent == pytest.approx(0.6, abs=1e-9)  # the size-0 point is skipped
    xs = np.geomspace(10, 1e5, 60)
    df = pd.DataFrame([{"c": c, "x": xi, "y": 0.1 + (xi / 10) ** -a} for c, a in (("u", 0.3), ("v", 0.6)) for xi in xs])
    tab, boot = curves.fit_curves(df, ["c"], "x", "y", n_bootstrap=5, seed=0)
    assert list(tab["c"]) == ["u", "v"] and boot.shape == (5, 2)
    np.testing.assert_allclose(tab["exponent"], [-0.3, -0.6], atol=1e-4)


def test_oracle_curve_follows_theory():
    t = lab.SpectralTeacher()
    o = lab.oracle_learning_curve(t, [2**k for k in range(6, 20)], [2**k for k in range(0, 14)])
    ex = o["test_error"].to_numpy() - t.bayes_error
    f = curves.fit_learning_curve(o["examples"], ex, n_bootstrap=0, seed=0, start=0, saturating=False)
    assert f.exponent == pytest.approx(lab.spectral_theory_exponents(t.signal_exponent)[0], abs=0.04)
    assert (np.diff(o["params"]) >= 0).all()


# --------------------------------------------------------------------------- the study and its saved results


def test_quick_study_is_a_subset_of_the_full_study():
    full, quick = lab.FULL_STUDY, lab.QUICK_STUDY
    assert quick.seed == full.seed and quick.val_rows == full.val_rows and quick.test_rows == full.test_rows
    assert set(quick.train_sizes) <= set(full.train_sizes)
    assert set(quick.model_sizes) <= set(full.model_sizes)
    for (tq, aq), (tf, af) in zip(quick.pairs, full.pairs, strict=True):
        assert tq == tf and replace(aq, max_params=af.max_params) == af and aq.max_params <= af.max_params
    assert all(quick.replicates_at(m) <= full.replicates_at(m) for m in quick.train_sizes)


def test_saved_study_matches_a_rerun_of_its_smallest_models():
    path = repo_root() / "data" / "experiments" / "hestness_runs.csv"
    if not path.exists():
        pytest.skip("data/experiments/hestness_runs.csv not generated yet")
    saved = pd.read_csv(path, comment="#")
    cfg = replace(lab.QUICK_STUDY, train_sizes=(8, 16, 32, 64), model_sizes=(0, 1, 2, 4, 8, 16, 32))
    cfg = replace(cfg, pairs=tuple((t, replace(a, max_params=32)) for t, a in cfg.pairs))
    lab.compare_runs(saved, lab.run_study(cfg), rel_tol=1e-8)
