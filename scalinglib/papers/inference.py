"""Inference-time scaling chapter: Jones 2021's board-game laws, Snell et al. 2024's FLOPs matching,
Brown et al. 2024's inference FLOPs, and a laptop Hex lab (MCTS whose simulations are the test-time
compute, a value function whose training games are the train-time compute).

The Hex lab is pure Python on purpose: every number is an exact ratio of integer counts or a fixed
order of float additions, so a rerun on another CPU or BLAS gives the same games.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..progress import progress

Array = NDArray[np.float64]

__all__ = [
    "LAB",
    "HexValue",
    "LabConfig",
    "beta_monte_carlo_neg_log_pass",
    "brown_inference_flops",
    "compute_ratio_for_win_probability",
    "elo_per_decade_to_win_probability",
    "fit_iso_elo_plane",
    "hex_winner",
    "iso_elo_plane_draws",
    "jones_frontier_elo",
    "jones_frontier_rates",
    "jones_iso_elo_log10_test",
    "jones_test_per_train_decade",
    "mcts_move",
    "play_hex_game",
    "round_robin",
    "schaeffer_backtest",
    "snell_inference_token_multiplier",
    "train_hex_value",
    "win_matrix",
]


# --------------------------------------------------------------------------- Jones 2021


def elo_per_decade_to_win_probability(elo_per_decade: float, compute_ratio: float) -> float:
    """Win probability of an agent with ``compute_ratio`` times its opponent's compute when Elo rises
    ``elo_per_decade`` per 10x compute: ``d = elo_per_decade * log10(ratio)``, ``P = 1/(1 + 10**(-d/400))``."""
    if not np.isfinite(elo_per_decade) or elo_per_decade <= 0:
        raise ValueError("elo_per_decade must be > 0")
    if not np.isfinite(compute_ratio) or compute_ratio <= 0:
        raise ValueError("compute_ratio must be > 0")
    d = elo_per_decade * math.log10(compute_ratio)
    return 1.0 / (1.0 + 10.0 ** (-d / 400.0))


def compute_ratio_for_win_probability(elo_per_decade: float, win_probability: float) -> float:
    """The compute multiple that wins with probability ``win_probability``:
    ``10**(400 log10(p/(1-p)) / elo_per_decade)``."""
    if not np.isfinite(elo_per_decade) or elo_per_decade <= 0:
        raise ValueError("elo_per_decade must be > 0")
    if not 0 < win_probability < 1:
        raise ValueError("win_probability must lie strictly between 0 and 1")
    return 10.0 ** (400.0 * math.log10(win_probability / (1 - win_probability)) / elo_per_decade)


def jones_iso_elo_log10_test(log10_train: ArrayLike, elo: ArrayLike, slope: float = -1.2,
                             elo_coef: float = 0.004, intercept: float = 29.0) -> Array:
    """Jones 2021, Fig. 9 (9x9 Hex): the iso-Elo line ``log10 test = -1.2 log10 train + 0.004 Elo + 29``."""
    x = np.asarray(log10_train, dtype=float)
    e = np.asarray(elo, dtype=float)
    if np.any(~np.isfinite(x)) or np.any(~np.isfinite(e)):
        raise ValueError("log10_train and elo must be finite")
    return slope * x + elo_coef * e + intercept


def jones_test_per_train_decade(slope: float = -1.2) -> float:
    """Test-compute multiple that replaces a 10x cut in train compute at fixed Elo: ``10**(-slope)``."""
    if not np.isfinite(slope) or slope >= 0:
        raise ValueError("slope must be negative (more train compute, less test compute)")
    return 10.0 ** (-slope)


def jones_frontier_elo(log10_flops: ArrayLike, boardsize: ArrayLike, m_flops: float, m_board_incline: float,
                       c_incline: float, m_board_plateau: float, c_plateau: float) -> Array:
    """Jones 2021's change-point model of the compute frontier (Sec. V, Table III), in Elo relative to
    perfect play: ``Elo = min(0, max(incline, plateau))`` with the incline
    ``m_flops log10 C + m_board_incline * boardsize + c_incline`` and the random-play floor
    ``plateau = m_board_plateau * boardsize + c_plateau`` (the form of the authors' code,
    ``Changepoint`` in github.com/andyljones/boardlaw, analysis/data.py).

    Perfect play is reached where the incline crosses 0, take-off where it crosses the floor: per
    board size the first moves by ``-m_board_incline / m_flops`` decades, the second by
    ``(m_board_plateau - m_board_incline) / m_flops``, and the random-to-perfect gap by
    ``-m_board_plateau`` Elo."""
    x = np.asarray(log10_flops, dtype=float)
    b = np.asarray(boardsize, dtype=float)
    if np.any(~np.isfinite(x)) or np.any(~np.isfinite(b)):
        raise ValueError("log10_flops and boardsize must be finite")
    if not np.isfinite(m_flops) or m_flops <= 0:
        raise ValueError("m_flops must be > 0 (Elo rises with compute on the incline)")
    incline = m_flops * x + m_board_incline * b + c_incline
    plateau = m_board_plateau * b + c_plateau
    return np.minimum(0.0, np.maximum(incline, plateau))


def jones_frontier_rates(elo_per_decade: float, perfect_play_factor: float, takeoff_factor: float) -> dict[str, float]:
    """What three of Jones's Sec. V statements imply for the fourth in his change-point model
    (:func:`jones_frontier_elo`): with slope ``m_flops`` (Elo per decade), perfect play ``P``x and
    take-off ``T``x more compute per board size, ``m_board_incline = -m_flops log10 P`` and
    ``m_board_plateau = m_board_incline + m_flops log10 T``, so the random-to-perfect gap grows by
    ``-m_board_plateau = m_flops log10(P / T)`` Elo per board size."""
    for name, v in (("elo_per_decade", elo_per_decade), ("perfect_play_factor", perfect_play_factor), ("takeoff_factor", takeoff_factor)):
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be > 0")
    m_inc = -elo_per_decade * math.log10(perfect_play_factor)
    m_plat = m_inc + elo_per_decade * math.log10(takeoff_factor)
    return {"m_board_incline": m_inc, "m_board_plateau": m_plat, "gap_per_boardsize": -m_plat}


# --------------------------------------------------------------------------- Snell 2024, Brown 2024


def snell_inference_token_multiplier(model_ratio: ArrayLike, pretrain_to_inference_ratio: ArrayLike) -> Array:
    """Snell et al. 2024 (their FLOPs-matched comparison with larger models): matching a model ``M`` times larger. With pretraining
    ``X = 6 N D_pretrain`` and inference ``Y = 2 N D_inference`` FLOPs, the larger model costs
    ``M (X + Y)``; the smaller model matches it by multiplying its inference tokens by
    ``K = M + 3 (D_pretrain / D_inference) (M - 1)``."""
    m = np.asarray(model_ratio, dtype=float)
    r = np.asarray(pretrain_to_inference_ratio, dtype=float)
    if np.any(~np.isfinite(m)) or np.any(m < 1):
        raise ValueError("model_ratio must be >= 1")
    if np.any(~np.isfinite(r)) or np.any(r < 0):
        raise ValueError("pretrain_to_inference_ratio must be >= 0")
    return m + 3.0 * r * (m - 1.0)


def brown_inference_flops(params: float, num_layers: int, token_dim: int, prompt_tokens: ArrayLike,
                          decoded_tokens: ArrayLike, context_tokens: ArrayLike | None = None) -> Array:
    """Brown et al. 2024 (the FLOPs count of their compute comparisons, after Kaplan et al. 2020): FLOPs per token
    ``2 (params + 2 num_layers token_dim context)``, total ``(prompt + decoded) * flops_per_token``
    with the context length taken as ``prompt + decoded`` unless given."""
    for name, v in (("params", params), ("num_layers", num_layers), ("token_dim", token_dim)):
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be > 0")
    p = np.asarray(prompt_tokens, dtype=float)
    d = np.asarray(decoded_tokens, dtype=float)
    if np.any(p < 0) or np.any(d < 0):
        raise ValueError("prompt_tokens and decoded_tokens must be >= 0")
    ctx = p + d if context_tokens is None else np.asarray(context_tokens, dtype=float)
    per_token = 2.0 * (params + 2.0 * num_layers * token_dim * ctx)
    return (p + d) * per_token


# --------------------------------------------------------------------------- the Hex lab


def _neighbours(n: int) -> list[tuple[int, ...]]:
    out = []
    for r in range(n):
        for c in range(n):
            nb = []
            for dr, dc in ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < n and 0 <= cc < n:
                    nb.append(rr * n + cc)
            out.append(tuple(nb))
    return out


_NB: dict[int, list[tuple[int, ...]]] = {}


def _nb(n: int) -> list[tuple[int, ...]]:
    if n not in _NB:
        _NB[n] = _neighbours(n)
    return _NB[n]


def hex_winner(board: Sequence[int], n: int, cell: int) -> bool:
    """Whether the stone just placed at ``cell`` connects its player's two sides.

    ``board[i]`` is 0 (empty), 1 (first player: joins the top row to the bottom row) or 2 (second
    player: joins the left column to the right column); cells are numbered ``row * n + col``."""
    if n < 2:
        raise ValueError("n must be >= 2")
    if len(board) != n * n:
        raise ValueError("board must have n * n cells")
    if not 0 <= cell < n * n:
        raise ValueError("cell must lie on the board")
    p = board[cell]
    if p not in (1, 2):
        raise ValueError("cell must hold a stone")
    nb = _nb(n)
    seen = {cell}
    stack = [cell]
    lo = hi = False
    while stack:
        i = stack.pop()
        coord = i // n if p == 1 else i % n
        lo = lo or coord == 0
        hi = hi or coord == n - 1
        if lo and hi:
            return True
        for j in nb[i]:
            if j not in seen and board[j] == p:
                seen.add(j)
                stack.append(j)
    return False


@dataclass(frozen=True)
class HexValue:
    """A linear value function for n x n Hex learned from random games: first player's expected
    outcome ``z`` (+1 win, -1 loss) is ``mean_z + sum_i a_i [first on i] + b_i [second on i]``, clipped
    to [-1, 1]; ``a_i, b_i`` are the differences of conditional mean outcomes (exact integer ratios)."""

    n: int
    games: int
    mean_z: float
    a: tuple[float, ...]
    b: tuple[float, ...]

    def train_moves(self) -> int:
        """Training compute in moves simulated (each random game fills the board)."""
        return self.games * self.n * self.n


def train_hex_value(n: int, games: int, seed: int) -> HexValue:
    """Play ``games`` uniformly random games of n x n Hex to a full board (the winner of a full
    board is the winner of the game) and estimate the linear value function of :class:`HexValue`.
    ``games = 0`` gives the untrained (all-zero) value function."""
    if n < 2:
        raise ValueError("n must be >= 2")
    if games < 0:
        raise ValueError("games must be >= 0")
    cells = n * n
    if games == 0:
        return HexValue(n, 0, 0.0, (0.0,) * cells, (0.0,) * cells)
    rng = np.random.default_rng(seed)
    first_n = 1 + cells // 2 if cells % 2 else cells // 2  # first player's stones on a full board
    win_first = [0] * cells  # games the first player won with a stone on i
    cnt_first = [0] * cells
    win_second = [0] * cells  # games the first player won with a second-player stone on i
    cnt_second = [0] * cells
    total_wins = 0
    for _ in range(games):
        perm = rng.permutation(cells)
        board = [0] * cells
        for i in perm[:first_n]:
            board[int(i)] = 1
        for i in perm[first_n:]:
            board[int(i)] = 2
        top = [i for i in range(n) if board[i] == 1]
        first_wins = any(hex_winner(board, n, i) for i in top)
        total_wins += first_wins
        for i in range(cells):
            if board[i] == 1:
                cnt_first[i] += 1
                win_first[i] += first_wins
            else:
                cnt_second[i] += 1
                win_second[i] += first_wins
    mean_z = 2.0 * total_wins / games - 1.0

    def diff(w: int, c: int) -> float:
        return (2.0 * w / c - 1.0) - mean_z if c > 0 else 0.0

    a = tuple(diff(win_first[i], cnt_first[i]) for i in range(cells))
    b = tuple(diff(win_second[i], cnt_second[i]) for i in range(cells))
    return HexValue(n, games, mean_z, a, b)


class _Node:
    __slots__ = ("children", "move", "n_visits", "player", "prior", "terminal", "value", "w_total")

    def __init__(self, move: int, player: int, prior: float, terminal: bool, value: float) -> None:
        self.move = move  # the move that led here
        self.player = player  # the player who made it (1 or 2)
        self.n_visits = 0
        self.w_total = 0.0  # summed values from `player`'s point of view
        self.children: list[_Node] | None = None
        self.prior = prior
        self.terminal = terminal
        self.value = value  # first player's value of this position (value function or terminal)


def _clip(x: float) -> float:
    return -1.0 if x < -1.0 else (min(x, 1.0))


def mcts_move(board: list[int], to_move: int, value: HexValue, simulations: int, c_puct: float = 1.5,
              temperature: float = 4.0) -> int:
    """Choose a move by Monte Carlo tree search with ``simulations`` simulations (the test-time
    compute): PUCT selection with priors ``softmax(temperature * child value)``, leaves valued by the
    linear value function (no rollouts), terminal positions by the rules. The move played is the
    most visited child (ties: higher prior, then lower cell). ``simulations = 1`` is the greedy
    one-ply policy of the value function."""
    n = value.n
    if len(board) != n * n:
        raise ValueError("board does not match the value function's size")
    if simulations < 1:
        raise ValueError("simulations must be >= 1")
    if to_move not in (1, 2):
        raise ValueError("to_move must be 1 or 2")
    a, b = value.a, value.b
    base = value.mean_z
    for i, s in enumerate(board):
        if s == 1:
            base += a[i]
        elif s == 2:
            base += b[i]
    root = _Node(-1, 3 - to_move, 1.0, False, _clip(base))
    root_sum = base
    for _ in range(simulations):
        node = root
        path = [node]
        placed: list[int] = []
        raw = root_sum
        while node.children is not None and not node.terminal:
            sqrt_n = math.sqrt(node.n_visits)
            best, best_score = None, -math.inf
            for ch in node.children:
                q = ch.w_total / ch.n_visits if ch.n_visits else 0.0
                score = q + c_puct * ch.prior * sqrt_n / (1 + ch.n_visits)
                if score > best_score:
                    best, best_score = ch, score
            assert best is not None
            node = best
            board[node.move] = node.player
            placed.append(node.move)
            raw += a[node.move] if node.player == 1 else b[node.move]
            path.append(node)
        if not node.terminal:
            mover = 3 - node.player
            kids = []
            vals = []
            for i in range(n * n):
                if board[i] == 0:
                    board[i] = mover
                    won = hex_winner(board, n, i)
                    board[i] = 0
                    v = (1.0 if mover == 1 else -1.0) if won else _clip(raw + (a[i] if mover == 1 else b[i]))
                    kids.append((i, won, v))
                    vals.append(v if mover == 1 else -v)
            top = max(vals)
            ws = [math.exp(temperature * (v - top)) for v in vals]
            tot = sum(ws)
            node.children = [_Node(i, mover, w / tot, won, v) for (i, won, v), w in zip(kids, ws, strict=True)]
        leaf_value = node.value  # first player's view
        for nd in path:
            nd.n_visits += 1
            nd.w_total += leaf_value if nd.player == 1 else -leaf_value
        for i in placed:
            board[i] = 0
    assert root.children is not None
    best_child = max(root.children, key=lambda ch: (ch.n_visits, ch.prior, -ch.move))
    return best_child.move


def play_hex_game(n: int, first: tuple[HexValue, int], second: tuple[HexValue, int], opening: Sequence[int]) -> tuple[int, int]:
    """Play one game: ``first`` and ``second`` are ``(value function, simulations)``; the
    ``opening`` cells are played alternately first (first player, then second ...). Returns
    ``(winner, moves)`` with winner 1 (first player) or 2."""
    if first[0].n != n or second[0].n != n:
        raise ValueError("first and second must hold value functions for an n x n board")
    if any(not 0 <= c < n * n for c in opening):
        raise ValueError("opening holds a cell off the board")
    board = [0] * (n * n)
    to_move = 1
    moves = 0
    for cell in opening:
        if board[cell] != 0:
            raise ValueError("opening repeats a cell")
        board[cell] = to_move
        moves += 1
        if hex_winner(board, n, cell):
            return to_move, moves
        to_move = 3 - to_move
    while True:
        vf, sims = first if to_move == 1 else second
        cell = mcts_move(board, to_move, vf, sims)
        board[cell] = to_move
        moves += 1
        if hex_winner(board, n, cell):
            return to_move, moves
        to_move = 3 - to_move


def fit_iso_elo_plane(log10_train: ArrayLike, log10_test: ArrayLike, elo: ArrayLike,
                      cov: ArrayLike | None = None) -> dict[str, float]:
    """Fit ``Elo = e_train log10 train + e_test log10 test + const`` by (generalised) least squares
    (``cov``: the covariance of the Elo estimates) and rewrite it as Jones's iso-Elo line,
    ``log10 test = slope log10 train + elo_coef Elo + intercept`` with ``slope = -e_train/e_test``,
    ``elo_coef = 1/e_test``. Returns the five numbers and ``test_per_train_decade = 10**(-slope)``."""
    x1 = np.asarray(log10_train, dtype=float)
    x2 = np.asarray(log10_test, dtype=float)
    y = np.asarray(elo, dtype=float)
    if not (x1.shape == x2.shape == y.shape) or x1.ndim != 1 or x1.size < 4:
        raise ValueError("log10_train, log10_test and elo must be 1-d arrays of equal length >= 4")
    if np.any(~np.isfinite(x1)) or np.any(~np.isfinite(x2)) or np.any(~np.isfinite(y)):
        raise ValueError("log10_train, log10_test and elo must be finite")
    design = np.column_stack([x1, x2, np.ones_like(x1)])
    if cov is None:
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
    else:
        c = np.asarray(cov, dtype=float)
        if c.shape != (y.size, y.size):
            raise ValueError("cov must be a square matrix matching elo")
        coef = _gls_gauge(x1, x2, c) @ y
    e_train, e_test, const = (float(v) for v in coef)
    if e_test <= 0:
        raise ValueError("elo does not rise with test compute: no iso-Elo trade-off to report")
    slope = -e_train / e_test
    return {"elo_per_train_decade": e_train, "elo_per_test_decade": e_test, "const": const, "slope": slope,
            "elo_coef": 1.0 / e_test, "intercept": -const / e_test,
            "test_per_train_decade": 10.0 ** (-slope) if e_train > 0 else float("nan")}


def round_robin(n: int, agents: Sequence[tuple[HexValue, int]], openings: Sequence[Sequence[int]],
                pairs: Sequence[tuple[int, int]] | None = None, desc: str = "round robin") -> list[dict[str, int]]:
    """Every pair of agents (or the given ``pairs``) plays every opening twice, colours swapped.
    Returns one row per game: ``a, b, opening, a_first, winner_is_a, moves``."""
    if pairs is None:
        pairs = [(i, j) for i in range(len(agents)) for j in range(i + 1, len(agents))]
    if any(not (0 <= i < len(agents) and 0 <= j < len(agents)) or i == j for i, j in pairs):
        raise ValueError("pairs must name two different agents")
    if not openings:
        raise ValueError("openings is empty")
    rows = []
    for i, j in progress(pairs, desc=desc):
        for o, op in enumerate(openings):
            for a_first in (1, 0):
                first, second = (agents[i], agents[j]) if a_first else (agents[j], agents[i])
                winner, moves = play_hex_game(n, first, second, op)
                rows.append({"a": i, "b": j, "opening": o, "a_first": a_first,
                             "winner_is_a": int((winner == 1) == bool(a_first)), "moves": moves})
    return rows


@dataclass(frozen=True)
class LabConfig:
    """The stored Hex lab: board size, training budgets (random games), test budgets (MCTS
    simulations per move), openings (two random stones, one per player; each played twice with
    colours swapped) and the seed."""

    n: int = 5
    train_games: tuple[int, ...] = (2, 16, 128, 1024, 8192)
    simulations: tuple[int, ...] = (1, 8, 32, 128)
    n_openings: int = 16
    seed: int = 20210407

    def openings(self) -> list[list[int]]:
        rng = np.random.default_rng(self.seed)
        return [[int(x) for x in rng.choice(self.n * self.n, 2, replace=False)] for _ in range(self.n_openings)]

    def agents(self) -> tuple[list[tuple[HexValue, int]], list[dict[str, int]]]:
        """The agents (value function, simulations) in a fixed order and their description rows.
        Each training budget has its own seed ``seed + games``, so budgets are independent draws."""
        values = {g: train_hex_value(self.n, g, self.seed + g) for g in self.train_games}
        agents, rows = [], []
        for g in self.train_games:
            for s in self.simulations:
                rows.append({"agent": len(agents), "train_games": g, "train_moves": values[g].train_moves(),
                             "simulations": s})
                agents.append((values[g], s))
        return agents, rows


LAB = LabConfig()
"""The configuration of ``data/experiments/inference_lab_*.csv`` (``scripts/inference_lab.py``)."""


def win_matrix(games: Sequence[dict[str, int]], n_agents: int) -> Array:
    """``W[i, j]`` = games agent ``i`` won against ``j`` from :func:`round_robin` rows."""
    w = np.zeros((n_agents, n_agents))
    for r in games:
        a, b = int(r["a"]), int(r["b"])
        if not (0 <= a < n_agents and 0 <= b < n_agents):
            raise ValueError("games refer to an agent outside range(n_agents)")
        if r["winner_is_a"]:
            w[a, b] += 1
        else:
            w[b, a] += 1
    return w


# --------------------------------------------------------------------------- Schaeffer 2025: simulations


def beta_monte_carlo_neg_log_pass(alpha: float, beta: float, ks: ArrayLike, n_problems: int, n_samples: int,
                                  seed: int) -> tuple[Array, Array]:
    """Monte Carlo of Schaeffer et al.'s setting: ``n_problems`` problems with success rates
    ``p_i ~ Beta(alpha, beta)``, ``n_samples`` attempts each, ``pass_D@k`` as the mean over problems
    of the unbiased per-problem estimate. Returns ``(-log pass_D@k, its standard error)`` for each
    ``k``; the error is the spread over problems (delta method: ``se(-log x) = se(x) / x``)."""
    from ..sampling import pass_at_k

    if n_problems < 2 or n_samples < 1:
        raise ValueError("n_problems must be >= 2 and n_samples >= 1")
    ks_ = np.asarray(ks, dtype=np.int64).ravel()
    if np.any(ks_ < 1) or np.any(ks_ > n_samples):
        raise ValueError("ks must lie in [1, n_samples]")
    rng = np.random.default_rng(seed)
    p = rng.beta(alpha, beta, n_problems)
    c = rng.binomial(n_samples, p)
    est = pass_at_k(np.full((1, n_problems), n_samples), c[None, :], ks_[:, None])
    mean = est.mean(axis=1)
    se = est.std(axis=1, ddof=1) / np.sqrt(n_problems)
    return -np.log(mean), se / mean


def schaeffer_backtest(alpha: float, beta: float, n_problems: int, samples_per_problem: Sequence[int],
                       n_replicates: int, seed: int, n_k: int = 20) -> list[dict[str, float]]:
    """Seeded backtest of the two exponent estimators of Schaeffer et al. 2025 (Sec. 5). In each
    replicate, ``n_problems`` success rates ``p ~ Beta(alpha, beta)`` get ``n`` attempts each; then

    * *regression*: the least-squares slope of ``log(-log pass_D@k)`` on ``log k`` over ``n_k``
      log-spaced ``k`` in ``[1, n]`` (unbiased pass@k);
    * *distributional*: the beta-binomial maximum-likelihood ``alpha`` from the counts.

    The target is the true asymptotic exponent ``alpha``. Returns one row per (replicate, n) with
    both estimates and their relative errors."""
    from ..sampling import coverage, fit_beta_binomial, fit_loglog_exponent

    if n_replicates < 1:
        raise ValueError("n_replicates must be >= 1")
    if n_problems < 2:
        raise ValueError("n_problems must be >= 2")
    if not samples_per_problem or min(samples_per_problem) < 2:
        raise ValueError("samples_per_problem must hold budgets >= 2")
    rng = np.random.default_rng(seed)
    rows = []
    for rep in range(n_replicates):
        p = rng.beta(alpha, beta, n_problems)
        for n in samples_per_problem:
            c = rng.binomial(n, p)
            ks = np.unique(np.round(np.logspace(0, np.log10(n), n_k)).astype(np.int64))
            cov = coverage(np.full(n_problems, n), c, ks)
            keep = (cov > 0) & (cov < 1)
            reg = fit_loglog_exponent(ks[keep], -np.log(cov[keep])) if keep.sum() >= 2 else float("nan")
            dist = fit_beta_binomial(np.full(n_problems, n), c)[0] if 0 < c.sum() < n * n_problems else float("nan")
            rows.append({"replicate": rep, "n": int(n), "regression": reg, "distributional": dist,
                         "rel_err_regression": abs(reg - alpha) / alpha, "rel_err_distributional": abs(dist - alpha) / alpha})
    return rows


def iso_elo_plane_draws(log10_train: ArrayLike, log10_test: ArrayLike, elo: ArrayLike, cov: ArrayLike,
                        n_draws: int, seed: int) -> dict[str, Array | float]:
    """Uncertainty of :func:`fit_iso_elo_plane` (GLS with the Elo covariance ``cov``).

    The plane rarely fits to within the Elo errors alone; the covariance is first scaled by the
    reduced chi-square of the fit when that exceeds 1 (the usual correction for misfit). Then
    ``n_draws`` Elo vectors are drawn from ``N(elo, scaled cov)`` and each is refitted (the fit is
    linear in the Elos). Returns the draws of ``e_train``, ``e_test``, ``slope``,
    ``test_per_train_decade`` and the ``chi2_red`` used."""
    x1 = np.asarray(log10_train, dtype=float)
    x2 = np.asarray(log10_test, dtype=float)
    y = np.asarray(elo, dtype=float)
    c = np.asarray(cov, dtype=float)
    if n_draws < 10:
        raise ValueError("n_draws must be >= 10")
    if c.shape != (y.size, y.size):
        raise ValueError("cov must be a square matrix matching elo")
    design = np.column_stack([x1, x2, np.ones_like(x1)])
    m = _gls_gauge(x1, x2, c)  # coef = m @ y
    w = np.linalg.pinv(c, rcond=1e-10, hermitian=True)
    resid = y - design @ (m @ y)
    chi2_red = float(resid @ w @ resid / (y.size - 1 - 3))  # one dof lost to the ratings' gauge
    scale = max(1.0, chi2_red)
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(y, c * scale, size=n_draws, method="eigh")
    coef = draws @ m.T
    e_train, e_test = coef[:, 0], coef[:, 1]
    slope = -e_train / e_test
    return {"e_train": e_train, "e_test": e_test, "slope": slope, "test_per_train_decade": 10.0 ** (-slope),
            "chi2_red": chi2_red}


def _gls_gauge(x1: Array, x2: Array, cov: Array) -> Array:
    """The matrix ``M`` with ``(e_train, e_test, const) = M @ elo`` for GLS under a rating covariance
    ``cov`` that is singular along the all-ones direction (ratings are known up to a constant).

    The slopes come from the centred columns with the pseudo-inverse weight (the all-ones direction
    carries no information and gets none); the constant is then fixed by the means. Well conditioned,
    unlike a ridge added to ``cov``."""
    w = np.linalg.pinv(cov, rcond=1e-10, hermitian=True)
    xc = np.column_stack([x1 - x1.mean(), x2 - x2.mean()])
    slopes = np.linalg.solve(xc.T @ w @ xc, xc.T @ w)
    mean_row = np.full(x1.size, 1.0 / x1.size) - np.array([x1.mean(), x2.mean()]) @ slopes
    return np.vstack([slopes, mean_row])
