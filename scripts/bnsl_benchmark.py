"""Fit M1-M4 and BNSL to all 92 curves of the Alabdulmohsin et al. 2022 benchmark; save the extrapolation RMSEs.

    SCALINGLIB_DATA_DIR=... .venv/bin/python scripts/bnsl_benchmark.py [--workers 2]

Writes data/experiments/bnsl_benchmark_rmse.csv: one row per curve (domain, task, model, n_fit, n_test), the
RMSE of the log predictions on its held-out points for each method of scalinglib.papers.alabdulmohsin.METHODS and
VARIANTS, and BNSL_breaks (1 or 2). Every fit is deterministic (grids of starts, no random numbers; seed: none
needed), so the file does not depend on --workers. The chapter chapters/bnsl.md recomputes the same table
when run in full and reads this file only for its quick (CI) run. About 30 minutes of CPU on a loaded machine.

    ... scripts/bnsl_benchmark.py --only M2_authors,M4_authors

recomputes only the named columns (for all 92 curves) and replaces them in the existing file, keeping the
others; the header records which columns were recomputed when. The authors' M2 and M4 (their released
procedure, run in lock step over all curves) take about 10 minutes of CPU.
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
    parser.add_argument("--only", default="", help="comma-separated columns to recompute; the others are kept from --out")
    args = parser.parse_args()
    frame = pd.concat([data.load("alabdulmohsin2022_vision"), data.load("alabdulmohsin2022_lang")], ignore_index=True)
    only = [m for m in args.only.split(",") if m]
    t0 = time.perf_counter()
    table, _ = est.fit_benchmark(frame, only or (est.METHODS + est.VARIANTS), n_jobs=args.workers)
    seconds = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Extrapolation RMSE (log predictions, held-out points) on the Alabdulmohsin et al. 2022 benchmark: "
        f"scripts/bnsl_benchmark.py, scalinglib.papers.alabdulmohsin.fit_benchmark; {len(table)} curves in {seconds:.0f} s "
        f"with {args.workers} workers. Deterministic (no random numbers).\n"
    )
    if only:
        lines = args.out.read_text().splitlines(keepends=True)
        old_header = "".join(line for line in lines if line.startswith("#"))
        old = pd.read_csv(args.out, comment="#").astype({"task": str, "model": str})
        keys = ["domain", "task", "model"]
        replaced = only + (["BNSL_breaks"] if "BNSL" in only else [])
        old = old.drop(columns=[m for m in replaced if m in old.columns])
        table = old.merge(table[keys + replaced], on=keys, how="left", validate="one_to_one")
        if table[only].isna().any().any():
            raise SystemExit("a curve of the stored file was not refitted")
        header = old_header + f"# Columns {', '.join(only)} recomputed with --only: {len(table)} curves in {seconds:.0f} s.\n"
    with args.out.open("w") as fh:
        fh.write(header)
        table.to_csv(fh, index=False, float_format="%.10g")
    print(f"wrote {args.out} ({len(table)} curves, {seconds:.0f} s)")


if __name__ == "__main__":
    main()
