"""The inference chapter's library: Hex and MCTS, Jones/Snell/Brown formulas, the iso-Elo fit,
Schaeffer's simulations, and allocation.inference_aware_params_tokens (Sardana et al.)."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scalinglib import allocation
from scalinglib.papers import inference as inf

# --------------------------------------------------------------------------- Hex


def test_hex_winner_lines():
    n = 4
    board = [0] * 16
    for r in range(n):
        board[r * n + 1] = 1  # a straight column joins top and bottom
    assert inf.hex_winner(board, n, 1 * n + 1)
    board = [0] * 16
    for c in range(n):
        board[2 * n + c] = 2  # a row joins left and right
    assert inf.hex_winner(board, n, 2 * n + 3)
    board[2 * n + 2] = 0
    assert not inf.hex_winner(board, n, 2 * n + 3)
    with pytest.raises(ValueError, match="cell must hold a stone"):
        inf.hex_winner([0] * 16, n, 0)


@given(st.integers(2, 5), st.integers(0, 10_000))
def test_full_board_has_exactly_one_winner(n, seed):
    rng = np.random.default_rng(seed)
    cells = rng.permutation(n * n)
    board = [0] * (n * n)
    for i, cell in enumerate(cells):
        board[int(cell)] = 1 if i % 2 == 0 else 2
    first = any(inf.hex_winner(board, n, i) for i in range(n) if board[i] == 1)
    second = any(inf.hex_winner(board, n, r * n) for r in range(n) if board[r * n] == 2)
    assert first != second  # Hex has no draws, and never two winners


def test_value_function_training():
    v0 = inf.train_hex_value(4, 0, seed=1)
    assert v0.games == 0 and set(v0.a) == {0.0} and v0.train_moves() == 0
    v1 = inf.train_hex_value(4, 200, seed=1)
    assert v1 == inf.train_hex_value(4, 200, seed=1)  # deterministic
    assert v1.train_moves() == 200 * 16
    # owning the centre helps the first player more than owning a corner cell on its own sides
    assert v1.a[5] + v1.a[6] + v1.a[9] + v1.a[10] > v1.a[0] + v1.a[3] + v1.a[12] + v1.a[15]
    with pytest.raises(ValueError, match="games"):
        inf.train_hex_value(4, -1, seed=0)


@pytest.mark.parametrize("sims", [1, 4, 32])
def test_mcts_finds_an_immediate_win_and_plays_legally(sims):
    n = 4
    value = inf.train_hex_value(n, 64, seed=3)
    board = [0] * 16
    for r in range(3):
        board[r * n] = 1  # first player: column 0, rows 0-2; playing (3, 0) wins
    board[5], board[6], board[10] = 2, 2, 2
    move = inf.mcts_move(list(board), 1, value, sims)
    assert move == 3 * n
    move2 = inf.mcts_move(list(board), 2, value, sims)
    assert board[move2] == 0


def test_mcts_guards():
    value = inf.train_hex_value(3, 4, seed=0)
    with pytest.raises(ValueError, match="simulations"):
        inf.mcts_move([0] * 9, 1, value, 0)
    with pytest.raises(ValueError, match="board"):
        inf.mcts_move([0] * 16, 1, value, 4)
    with pytest.raises(ValueError, match="to_move"):
        inf.mcts_move([0] * 9, 3, value, 4)


def test_games_are_deterministic_and_round_robin_is_complete():
    n = 3
    agents = [(inf.train_hex_value(n, g, seed=g), s) for g, s in [(2, 1), (64, 4), (64, 16)]]
    openings = [[0, 4], [8, 2]]
    rows = inf.round_robin(n, agents, openings)
    assert len(rows) == 3 * len(openings) * 2
    assert rows == inf.round_robin(n, agents, openings)
    w = inf.win_matrix(rows, 3)
    assert w.sum() == len(rows) and np.all(np.diag(w) == 0)
    with pytest.raises(ValueError, match="opening repeats"):
        inf.play_hex_game(n, agents[0], agents[1], [4, 4])
    with pytest.raises(ValueError, match="outside"):
        inf.win_matrix(rows, 2)
    with pytest.raises(ValueError, match="pairs"):
        inf.round_robin(n, agents, openings, pairs=[(0, 0)])
    with pytest.raises(ValueError, match="n x n"):
        inf.play_hex_game(4, agents[0], agents[1], [])
    with pytest.raises(ValueError, match="board must have"):
        inf.hex_winner([1] * 5, 3, 0)


def test_lab_config_is_what_the_stored_files_describe():
    agents, rows = inf.LAB.agents()
    assert len(agents) == len(inf.LAB.train_games) * len(inf.LAB.simulations) == len(rows)
    assert inf.LAB.openings() == inf.LAB.openings()
    assert all(len(set(o)) == 2 for o in inf.LAB.openings())


# --------------------------------------------------------------------------- Elo algebra, Jones, Snell, Brown


@given(st.floats(50, 2000), st.floats(1.01, 1000))
def test_compute_ratio_roundtrip(elo_per_decade, ratio):
    # beyond ~2000 Elo, 1 - p underflows the digits of p (p > 1 - 1e-5): no inverse can recover the ratio
    assume(elo_per_decade * math.log10(ratio) <= 2000)
    p = inf.elo_per_decade_to_win_probability(elo_per_decade, ratio)
    assert inf.compute_ratio_for_win_probability(elo_per_decade, p) == pytest.approx(ratio, rel=1e-9)


def test_jones_numbers():
    assert inf.jones_test_per_train_decade(-1.2) == pytest.approx(10**1.2)
    assert inf.elo_per_decade_to_win_probability(400, 2) == pytest.approx(2 / 3)  # strength proportional to compute
    line = inf.jones_iso_elo_log10_test(np.array([10.0, 11.0]), 0.0)
    assert line[1] - line[0] == pytest.approx(-1.2)
    kw = {"m_flops": 500.0, "m_board_incline": -300.0, "c_incline": -3000.0, "m_board_plateau": -500.0, "c_plateau": 0.0}
    frontier = inf.jones_frontier_elo([0, 6, 20], 5, **kw)
    assert frontier[0] == -2500 and frontier[1] == -1500 and frontier[2] == 0  # floor, incline, perfect play
    rates = inf.jones_frontier_rates(500, 7, 4)
    # perfect play and take-off of the model move by log10 7 and log10 4 decades per board size
    for b in (5, 6):
        c = {k: v for k, v in kw.items()}
        c.update(m_board_incline=rates["m_board_incline"], m_board_plateau=rates["m_board_plateau"])
        perfect = -(c["m_board_incline"] * b + c["c_incline"]) / c["m_flops"]
        takeoff = (c["m_board_plateau"] * b + c["c_plateau"] - c["m_board_incline"] * b - c["c_incline"]) / c["m_flops"]
        if b == 5:
            p5, t5 = perfect, takeoff
    assert perfect - p5 == pytest.approx(math.log10(7)) and takeoff - t5 == pytest.approx(math.log10(4))
    assert rates["gap_per_boardsize"] == pytest.approx(500 * math.log10(7 / 4))
    with pytest.raises(ValueError, match="slope"):
        inf.jones_test_per_train_decade(0.5)
    with pytest.raises(ValueError, match="win_probability"):
        inf.compute_ratio_for_win_probability(500, 1.0)


def test_snell_multiplier():
    assert float(inf.snell_inference_token_multiplier(1, 5.0)) == 1.0
    assert float(inf.snell_inference_token_multiplier(14, 0.0)) == 14.0
    # total FLOPs match: M (6 N Dp + 2 N Di) = 6 N Dp + 2 N Di K
    m, dp, di = 14.0, 3.0, 2.0
    k = float(inf.snell_inference_token_multiplier(m, dp / di))
    assert m * (6 * dp + 2 * di) == pytest.approx(6 * dp + 2 * di * k)
    with pytest.raises(ValueError, match="model_ratio"):
        inf.snell_inference_token_multiplier(0.5, 1.0)


def test_brown_flops():
    flops = inf.brown_inference_flops(1e9, 10, 100, 30, 10, context_tokens=40)
    assert float(flops) == pytest.approx(40 * 2 * (1e9 + 2 * 10 * 100 * 40))
    with pytest.raises(ValueError, match="params"):
        inf.brown_inference_flops(0, 10, 100, 1, 1)


# --------------------------------------------------------------------------- iso-Elo fit


def test_iso_elo_plane_recovers_an_exact_plane_and_ignores_the_gauge():
    tr, te = np.meshgrid(np.arange(5.0), np.arange(4.0))
    tr, te = tr.ravel(), te.ravel()
    y = 100 * tr + 150 * te - 7
    fit = inf.fit_iso_elo_plane(tr, te, y)
    assert fit["slope"] == pytest.approx(-100 / 150) and fit["test_per_train_decade"] == pytest.approx(10 ** (100 / 150))
    rng = np.random.default_rng(0)
    a = rng.normal(size=(y.size, y.size))
    cov = a @ a.T
    proj = np.eye(y.size) - 1 / y.size
    cov = proj @ cov @ proj  # singular along the all-ones direction, like Bradley-Terry ratings
    g1 = inf.fit_iso_elo_plane(tr, te, y, cov=cov)
    g2 = inf.fit_iso_elo_plane(tr, te, y + 1234.0, cov=cov)
    assert g1["elo_per_train_decade"] == pytest.approx(100) and g1["elo_per_test_decade"] == pytest.approx(150)
    assert g2["slope"] == pytest.approx(g1["slope"]) and g2["const"] == pytest.approx(g1["const"] + 1234.0)
    draws = inf.iso_elo_plane_draws(tr, te, y, cov, 200, seed=1)
    assert draws["slope"].shape == (200,) and draws["chi2_red"] == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match="does not rise"):
        inf.fit_iso_elo_plane(tr, te, 100 * tr - 5 * te)


# --------------------------------------------------------------------------- Schaeffer simulations


def test_monte_carlo_and_backtest_shapes():
    m, se = inf.beta_monte_carlo_neg_log_pass(0.4, 2.0, [1, 10], 500, 50, seed=0)
    assert m.shape == se.shape == (2,) and np.all(se > 0) and m[0] > m[1]
    with pytest.raises(ValueError, match="ks"):
        inf.beta_monte_carlo_neg_log_pass(0.4, 2.0, [100], 500, 50, seed=0)
    rows = inf.schaeffer_backtest(0.4, 2.0, 64, [10, 50], 2, seed=0)
    assert len(rows) == 4 and all(r["rel_err_distributional"] >= 0 for r in rows)
    with pytest.raises(ValueError, match="samples_per_problem"):
        inf.schaeffer_backtest(0.4, 2.0, 64, [1], 2, seed=0)


# --------------------------------------------------------------------------- Sardana et al.: allocation.inference_aware_params_tokens


LAW = allocation.ChinchillaLaw(E=1.69, A=406.4, B=410.7, alpha=0.336, beta=0.283)


def test_no_inference_is_the_chinchilla_optimum():
    flops = 1e22
    loss = float(allocation.optimal_loss(flops, LAW))
    n, d, total = allocation.inference_aware_params_tokens(loss, 0.0, LAW)
    n_opt, d_opt = allocation.optimal_params_tokens(flops, LAW)
    assert n == pytest.approx(float(n_opt), rel=1e-5) and d == pytest.approx(float(d_opt), rel=1e-5)
    assert total == pytest.approx(flops, rel=1e-9)


@settings(max_examples=30)
@given(st.floats(1.9, 2.6), st.floats(8.0, 15.0), st.floats(-0.5, 0.5))
def test_optimum_meets_the_loss_and_beats_its_neighbours(loss, log10_demand, shift):
    n, d, total = allocation.inference_aware_params_tokens(loss, 10**log10_demand, LAW)
    assert float(LAW.loss(n, d)) == pytest.approx(loss, rel=1e-10)
    n2 = n * 10 ** (shift / 10)
    gap = loss - LAW.E - LAW.A * n2**-LAW.alpha
    if gap > 0:
        d2 = (LAW.B / gap) ** (1 / LAW.beta)
        assert total <= n2 * (6 * d2 + 2 * 10**log10_demand) * (1 + 1e-10)


def test_more_demand_means_a_smaller_model():
    loss = 2.05
    sizes = [allocation.inference_aware_params_tokens(loss, t, LAW)[0] for t in (1e9, 1e12, 1e14)]
    assert sizes[0] > sizes[1] > sizes[2]


def test_inference_aware_guards():
    with pytest.raises(ValueError, match="loss must exceed E"):
        allocation.inference_aware_params_tokens(1.5, 1e12, LAW)
    with pytest.raises(ValueError, match="inference_tokens"):
        allocation.inference_aware_params_tokens(2.0, -1.0, LAW)
    with pytest.raises(ValueError, match="train_flops_per_token"):
        allocation.inference_aware_params_tokens(2.0, 1.0, LAW, train_flops_per_token=0)
    assert math.isfinite(allocation.inference_aware_params_tokens(2.0, 1e12, LAW)[2])
