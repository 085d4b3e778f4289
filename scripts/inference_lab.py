"""Hex lab for the inference-time scaling chapter: a round robin of MCTS agents on 5x5 Hex.

    .venv/bin/python scripts/inference_lab.py [--workers 2]

Each agent is a linear value function learned from N random games (the train-time compute; see
scalinglib.papers.inference.train_hex_value) searched by MCTS with S simulations per move (the
test-time compute). Every pair of agents plays every opening of scalinglib.papers.inference.LAB
twice, colours swapped. Writes data/experiments/inference_lab_agents.csv (one row per agent) and
data/experiments/inference_lab_games.csv (one row per game). Seed: LAB.seed; the games are pure
Python (no BLAS), so the file does not depend on --workers or on the machine. The chapter
chapters/inference.md fits Elo to these games and, in every run, replays a slice of them.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from scalinglib.papers.inference import LAB, round_robin
from scalinglib.paths import repo_root


def _play(pairs: list[tuple[int, int]]) -> list[dict[str, int]]:
    agents, _ = LAB.agents()
    return round_robin(LAB.n, agents, LAB.openings(), pairs=pairs, desc="pairs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="parallel processes (results do not depend on it)")
    parser.add_argument("--out", type=Path, default=repo_root() / "data" / "experiments")
    args = parser.parse_args()
    _, agent_rows = LAB.agents()
    m = len(agent_rows)
    pairs = [(i, j) for i in range(m) for j in range(i + 1, m)]
    chunks = [pairs[k :: args.workers] for k in range(args.workers)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        games = [row for part in pool.map(_play, chunks) for row in part]
    seconds = time.perf_counter() - t0
    games_df = pd.DataFrame(games).sort_values(["a", "b", "opening", "a_first"], ignore_index=True)
    args.out.mkdir(parents=True, exist_ok=True)
    common = (f"scripts/inference_lab.py, scalinglib.papers.inference.LAB (n={LAB.n}, train_games={list(LAB.train_games)}, "
              f"simulations={list(LAB.simulations)}, {LAB.n_openings} openings x 2 colours, seed {LAB.seed}); "
              f"{len(games_df)} games in {seconds:.0f} s with {args.workers} workers.")
    with (args.out / "inference_lab_agents.csv").open("w") as fh:
        fh.write(f"# Hex lab agents (train budget in random games and moves, test budget in MCTS simulations per move): {common}\n")
        pd.DataFrame(agent_rows).to_csv(fh, index=False)
    with (args.out / "inference_lab_games.csv").open("w") as fh:
        fh.write(f"# Hex lab round robin, one row per game (a < b agents; a_first: a moved first; winner_is_a; moves): {common}\n")
        games_df.to_csv(fh, index=False)
    print(f"{len(games_df)} games in {seconds:.0f} s")


if __name__ == "__main__":
    main()
