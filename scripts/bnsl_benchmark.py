"""Fit M1-M4 and BNSL to all 92 curves of the Alabdulmohsin et al. 2022 benchmark; save the extrapolation RMSEs.

    SCALINGLIB_DATA_DIR=... .venv/bin/python scripts/bnsl_benchmark.py [--workers 2]

Writes data/experiments/bnsl_benchmark_rmse.csv: one row per curve (domain, task, model, n_fit, n_test), the
RMSE of the log predictions on its held-out points for each method of scalinglib.papers.alabdulmohsin.METHODS and
VARIANTS, and BNSL_breaks (1 or 2). Every fit is deterministic (grids of starts, no random numbers; seed: none
needed), so the file does not depend on --workers. The chapter chapters/bnsl.md recomputes the same table
when run in full and reads this file only for its quick (CI) run. About 3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from scalinglib import data
from scalinglib.papers import alabdulmohsin as est
from scalinglib.paths import repo_root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="parallel processes (results do not depend on it)")
    parser.add_argument("--out", type=Path, default=repo_root() / "data" / "experiments" / "bnsl_benchmark_rmse.csv")
    args = parser.parse_args()
    frame = pd.concat([data.load("alabdulmohsin2022_vision"), data.load("alabdulmohsin2022_lang")], ignore_index=True)
    t0 = time.perf_counter()
    table, _ = est.fit_benchmark(frame, est.METHODS + est.VARIANTS, n_jobs=args.workers)
    seconds = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Extrapolation RMSE (log predictions, held-out points) on the Alabdulmohsin et al. 2022 benchmark: "
        f"scripts/bnsl_benchmark.py, scalinglib.papers.alabdulmohsin.fit_benchmark; {len(table)} curves in {seconds:.0f} s "
        f"with {args.workers} workers. Deterministic (no random numbers).\n"
    )
    with args.out.open("w") as fh:
        fh.write(header)
        table.to_csv(fh, index=False, float_format="%.10g")
    print(f"wrote {args.out} ({len(table)} curves, {seconds:.0f} s)")


if __name__ == "__main__":
    main()
