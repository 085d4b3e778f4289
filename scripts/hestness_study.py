"""Run the laptop-scale Hestness study and save it to data/experiments/hestness_runs.csv.

    .venv/bin/python scripts/hestness_study.py [--workers 2]

The study (tasks, architectures, grids, replicates and the seed) is ``scalinglib.papers.hestness.FULL_STUDY``;
every trained model is one row (task, arch, replicate, examples, params, val_error, test_error).
Each job runs its linear algebra on one thread, so the numbers are the same whatever ``--workers``
is. About 2-3 minutes of CPU on 2 cores (see the chapter chapters/hestness.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from scalinglib.papers import hestness as lab
from scalinglib.paths import repo_root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="parallel processes (results do not depend on it)")
    parser.add_argument("--out", type=Path, default=repo_root() / "data" / "experiments")
    args = parser.parse_args()
    cfg = lab.FULL_STUDY
    t0 = time.perf_counter()
    runs = lab.run_study(cfg, workers=args.workers, show_progress=True)
    seconds = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Hestness-style study, laptop scale: scripts/hestness_study.py, scalinglib.papers.hestness.FULL_STUDY, seed {cfg.seed}; "
        f"{len(runs)} trained models in {seconds:.0f} s with {args.workers} workers.\n"
    )
    runs_path = args.out / "hestness_runs.csv"
    with runs_path.open("w") as fh:
        fh.write(header)
        runs.to_csv(fh, index=False, float_format="%.10g")
    print(f"wrote {runs_path} ({len(runs)} models, {seconds:.0f} s); record its hash: python -m scalinglib data --rehash")


if __name__ == "__main__":
    main()
