"""scalinglib.userfit and ``python -m scalinglib fit``: recovery, every warning code, bad inputs, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglib.__main__ import main
from scalinglib.userfit import (
    LAWS,
    WARNING_CODES,
    RunsError,
    fit_runs,
    format_summary,
    group_bootstrap_counts,
    plot_report,
    read_runs,
)

SIZES = np.array([1e7, 3e7, 1e8, 3e8, 1e9])
MULTS = np.array([5.0, 10.0, 20.0, 80.0])


def chinchilla_runs(noise: float = 0.0, seed: int = 0, e=1.7, a=400.0, b=410.0, alpha=0.34, beta=0.28) -> pd.DataFrame:
    n = np.repeat(SIZES, len(MULTS))
    d = n * np.tile(MULTS, len(SIZES))
    loss = e + a * n**-alpha + b * d**-beta
    loss = loss * np.exp(np.random.default_rng(seed).normal(0.0, noise, len(loss)))
    return pd.DataFrame({"params": n, "tokens": d, "loss": loss})


# --------------------------------------------------------------------------- recovery


@settings(max_examples=6)
@given(alpha=st.floats(0.2, 0.5), beta=st.floats(0.2, 0.5), e=st.floats(1.0, 2.5))
def test_chinchilla_recovers_noise_free_parameters(alpha, beta, e):
    r = fit_runs(chinchilla_runs(e=e, alpha=alpha, beta=beta), grid="small")
    nat = r.natural
    assert nat["alpha"] == pytest.approx(alpha, rel=1e-3)
    assert nat["beta"] == pytest.approx(beta, rel=1e-3)
    assert nat["E"] == pytest.approx(e, rel=1e-3)
    assert r.objective["rmse_log"] < 1e-5
    assert r.starts["reached_optimum"] >= 1


@pytest.mark.parametrize("law", sorted(LAWS))
def test_every_law_fits_its_own_curve(law):
    """Data generated from the law's own log-space model at a plausible theta are fitted back."""
    lw = LAWS[law]
    theta = {"chinchilla": [6.0, 6.0, 0.5, 0.34, 0.28], "gadre": [5.0, 6.0, 0.5, 0.3],
             "kaplan": [30.0, 25.0, 0.08, 0.1], "power_c": [8.0, 0.15, 0.5]}[law]
    df = chinchilla_runs()
    x = np.log(np.stack([df.params, df.tokens, 6 * df.params * df.tokens], axis=1))
    df["loss"] = np.exp(lw.model.log_predict(np.array(theta), x))
    r = fit_runs(df, law=law, grid="large" if law == "kaplan" else "default")
    pred = r.predict(df.params, df.tokens)
    np.testing.assert_allclose(pred, df.loss, rtol=1e-4)


def test_deterministic_and_intervals_contain_point():
    df = chinchilla_runs(noise=0.01)
    t = pd.DataFrame({"params": [3e9], "tokens": [6e10]})
    r1 = fit_runs(df, bootstrap=50, seed=3, predict=t, budget=1e21)
    r2 = fit_runs(df, bootstrap=50, seed=3, predict=t, budget=1e21)
    assert json.dumps(r1.to_dict()) == json.dumps(r2.to_dict())
    p = r1.predictions[0]
    assert p["prediction_interval"][0] <= p["loss"] <= p["prediction_interval"][1]
    assert p["prediction_interval"][0] <= p["interval"][0] and p["interval"][1] <= p["prediction_interval"][1] + 1e-9
    b = r1.budget[0]
    assert b["params"] * b["tokens"] * 6 == pytest.approx(1e21, rel=1e-9)
    for name, iv in r1.intervals.items():
        assert iv[0] <= iv[1], name


def test_group_bootstrap_draws_whole_groups():
    groups = ["a", "a", "b", "c", "c", "c"]
    counts = group_bootstrap_counts(groups, 200, seed=0)
    assert counts.shape == (200, 6)
    assert np.all(counts[:, 0] == counts[:, 1]) and np.all(counts[:, 3] == counts[:, 5])
    # each resample draws 3 groups
    assert np.all(counts[:, [0, 2, 3]].sum(axis=1) == 3)
    # one run per group = the ordinary bootstrap of scalinglib.fitting
    from scalinglib.fitting import bootstrap_counts

    np.testing.assert_array_equal(group_bootstrap_counts([str(i) for i in range(7)], 20, 5), bootstrap_counts(7, 20, 5))


def test_group_column_sets_the_resampling_unit():
    df = chinchilla_runs(noise=0.01)
    df["group"] = [f"g{i // 2}" for i in range(len(df))]
    r = fit_runs(df, bootstrap=20)
    assert r.bootstrap["unit"] == "group" and r.n_groups == len(df) // 2


# --------------------------------------------------------------------------- warnings


def test_clean_fit_has_no_warnings():
    r = fit_runs(chinchilla_runs(noise=0.003), predict=pd.DataFrame({"params": [1e9], "tokens": [2e10]}))
    assert r.warnings == [], format_summary(r)


def test_warning_underdetermined_two_sizes():
    df = chinchilla_runs()
    df = df[df.params.isin([1e8, 3e8])]
    r = fit_runs(df)
    assert "underdetermined" in r.warning_codes


def test_warning_underdetermined_and_not_unique_on_one_ray():
    """All runs at D = 20 N: the N and D terms cannot be told apart."""
    n = np.logspace(7, 9, 8)
    d = 20 * n
    df = pd.DataFrame({"params": n, "tokens": d, "loss": 1.7 + 400 * n**-0.3 + 410 * d**-0.3})
    r = fit_runs(df, law="gadre")
    assert "underdetermined" in r.warning_codes
    assert "optimum_not_unique" in r.warning_codes, format_summary(r)


def test_warning_start_grid_edge():
    starts = np.array([[6.0, 6.0, 0.5, 0.10, 0.10], [6.0, 6.0, 0.5, 0.15, 0.12]])
    r = fit_runs(chinchilla_runs(), grid=starts)
    assert "start_grid_edge" in r.warning_codes
    assert any("alpha" in w["message"] for w in r.warnings if w["code"] == "start_grid_edge")


def test_warning_parameter_at_bound_when_loss_rises_with_size():
    n = np.repeat(SIZES, 3)
    d = n * np.tile([10.0, 20.0, 40.0], len(SIZES))
    loss = 2.0 + 0.01 * np.log(n) + 50 * d**-0.3  # worse with N: alpha wants to be negative
    r = fit_runs(pd.DataFrame({"params": n, "tokens": d, "loss": loss}))
    assert "parameter_at_bound" in r.warning_codes, format_summary(r)
    assert r.natural["alpha"] >= 0.0


def test_warning_extrapolation():
    r = fit_runs(chinchilla_runs(), predict=pd.DataFrame({"params": [7e10], "tokens": [1.4e12]}), max_extrapolation=1.0)
    assert "extrapolation" in r.warning_codes
    assert r.predictions[0]["decades_outside"]["params"] == pytest.approx(np.log10(70), rel=1e-9)
    r2 = fit_runs(chinchilla_runs(), predict=pd.DataFrame({"params": [7e10], "tokens": [1.4e12]}), max_extrapolation=3.5)
    assert "extrapolation" not in r2.warning_codes


def test_warning_outliers():
    df = chinchilla_runs(noise=0.003)
    df.loc[7, "loss"] *= 1.3
    r = fit_runs(df)
    w = [w for w in r.warnings if w["code"] == "outliers"]
    assert w and "rows 8 " in w[0]["message"]


def test_every_warning_code_is_tested():
    import inspect
    import sys

    src = inspect.getsource(sys.modules[__name__])
    for code in WARNING_CODES:
        assert f'"{code}" in r' in src or f'== "{code}"' in src, code


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "text, needle",
    [
        ("params,tokens\n1e7,1e9\n", "missing column"),
        ("params,tokens,loss\n1e7,1e9,3.1\n-3e7,1e9,2.9\n", "row 2 (line 3), column 'params'"),
        ("params,tokens,loss\n1e7,1e9,3.1\n3e7,1e9,\n", "row 2 (line 3), column 'loss': empty"),
        ("params,tokens,loss\n1e7,1e9,3.1\n3e7,NaN,2.9\n", "row 2 (line 3), column 'tokens'"),
        ("params,tokens,loss\n1e7,1e9,3.1\n3e7,abc,2.9\n", "column 'tokens': 'abc'"),
        ("params,tokens,loss\n1e7,1e9,3.1\n3e7,1e9,2.9\n1e7,1e9,3.1\n", "row 3 (line 4) duplicates row 1"),
        ("params,tokens,loss\n1e7,1e9,3.1\n1e7,2e9,2.9\n1e7,4e9,2.8\n", "single model size"),
        ("params,tokens,loss\n1e7,1e9,0\n3e7,1e9,2.9\n", "must be positive"),
        ("params,tokens,loss\n1e7,1e9,3.1\n3e7,1e9,2.9\n1e8,1e9,2.7\n", "3 runs cannot determine the 5 parameters"),
    ],
)
def test_bad_input_is_a_clear_error_and_nothing_is_written(tmp_path, capsys, text, needle):
    runs = tmp_path / "runs.csv"
    runs.write_text(text)
    out, plot = tmp_path / "out.json", tmp_path / "plot.html"
    with pytest.raises(RunsError) as exc:
        fit_runs(runs)
    assert needle in str(exc.value)
    rc = main(["fit", str(runs), "--out", str(out), "--plot", str(plot)])
    assert rc == 2
    assert needle in capsys.readouterr().err
    assert not out.exists() and not plot.exists()


def test_bad_targets_name_row_and_column(tmp_path):
    t = tmp_path / "t.csv"
    t.write_text("params,tokens\n1e9,2e10\n3e9,0\n")
    with pytest.raises(RunsError, match=r"targets: row 2 \(line 3\), column 'tokens'"):
        fit_runs(chinchilla_runs(), predict=t)


@pytest.mark.parametrize("kw", [{"law": "nope"}, {"loss": "l1"}, {"delta": 0.0}, {"bootstrap": -1}, {"level": 1.0},
                                {"grid": "huge"}, {"budget": -1.0}, {"max_extrapolation": -1}])
def test_bad_options_raise_value_error(kw):
    with pytest.raises(ValueError):
        fit_runs(chinchilla_runs(), **kw)


def test_duplicates_allowed_across_groups():
    df = chinchilla_runs()
    df["group"] = [f"g{i}" for i in range(len(df))]
    extra = df.iloc[[3]].assign(group="seed2")
    assert len(read_runs(pd.concat([df, extra]))) == len(df) + 1


# --------------------------------------------------------------------------- CLI


def test_cli_on_the_hand_written_example(tmp_path, capsys):
    from scalinglib.paths import repo_root

    ex = repo_root() / "examples"
    out, plot = tmp_path / "fit.json", tmp_path / "fit.html"
    rc = main(["fit", str(ex / "runs.csv"), "--bootstrap", "100", "--predict", str(ex / "targets.csv"),
               "--budget", "1e21", "--out", str(out), "--plot", str(plot)])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "law: chinchilla" in text and "budget 1e+21" in text
    payload = json.loads(out.read_text())
    assert set(payload) >= {"parameters", "constants", "objective", "starts", "predictions", "budget", "warnings", "fitted_range"}
    assert payload["starts"]["reached_optimum"] >= 1
    assert payload["bootstrap"]["unit"] == "group"
    assert all(set(p) >= {"loss", "interval", "prediction_interval", "decades_outside"} for p in payload["predictions"])
    assert all(set(w) == {"code", "message"} and w["code"] in WARNING_CODES for w in payload["warnings"])
    html = plot.read_text()
    assert "vegaEmbed" in html and "cdn.jsdelivr" not in html  # offline


def test_plot_report_builds_for_every_law():
    for law in LAWS:
        r = fit_runs(chinchilla_runs(noise=0.003), law=law, grid="small",
                     predict=pd.DataFrame({"params": [3e9], "tokens": [6e10]}), bootstrap=5)
        assert plot_report(r).to_dict()["layer"]


@settings(max_examples=25)
@given(row=st.integers(0, 19), col=st.sampled_from(["params", "tokens", "loss"]),
       bad=st.sampled_from([0.0, -1.0, float("nan"), float("inf"), "x"]))
def test_any_bad_cell_is_named_by_row_and_column(row, col, bad):
    df = chinchilla_runs().astype(object)
    df.loc[row, col] = bad
    with pytest.raises(RunsError) as exc:
        read_runs(df)
    assert f"row {row + 1} (line {row + 2}), column '{col}'" in str(exc.value)
