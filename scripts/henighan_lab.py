"""Run the laptop compute-frontier study of the Henighan chapter and save it to data/experiments/henighan_lab.csv.

    .venv/bin/python scripts/henighan_lab.py

The study (teacher task, student widths, steps, batch, learning rate, seeds and the base seed) is
``scalinglib.papers.henighan.FULL_LAB``: one-hidden-layer tanh students of 7 widths, 3 seeds each, trained
online (fresh examples every step, so the data never run out) for 20,000 Adam steps of 64 examples. Every
logged point is one row (width, params, seed, step, examples, flops, loss). About a minute of CPU on one
core. The chapter (chapters/henighan.md) reads the CSV and, in every run, retrains a slice
(``QUICK_LAB``) and compares it with these rows.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from scalinglib.papers import henighan
from scalinglib.paths import repo_root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=repo_root() / "data" / "experiments" / "henighan_lab.csv")
    args = parser.parse_args()
    study = henighan.FULL_LAB
    t0 = time.perf_counter()
    runs = henighan.run_lab(study, show_progress=True)
    seconds = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as fh:
        fh.write(
            f"# Henighan chapter lab: scripts/henighan_lab.py, scalinglib.papers.henighan.FULL_LAB, base seed "
            f"{study.base_seed}, seeds {list(study.seeds)}; {len(runs)} logged points in {seconds:.0f} s.\n"
        )
        runs.to_csv(fh, index=False, float_format="%.10g")
    print(f"wrote {args.out} ({len(runs)} rows, {seconds:.0f} s)")


if __name__ == "__main__":
    main()
