"""Command line: ``python -m scalinglib run NAME`` / ``run --all`` / ``scorecard [DIR]`` / ``data``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .runner import STATUS_ORDER, chapter_outcomes, chapters, format_scorecard, parse_param, run_chapter, scorecard_rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scalinglib", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute chapter(s) with papermill and check their claims")
    run.add_argument("names", nargs="*", help="chapter names, e.g. chinchilla (see `list`)")
    run.add_argument("--all", action="store_true", help="every chapter in _toc.yml")
    run.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE", help="parameter for the chapter's `parameters` cell")
    run.add_argument("--out", default="_build/run", type=Path, help="folder for NAME.ipynb and NAME.json (default: _build/run)")
    run.add_argument("--no-progress", action="store_true", help="hide the cell progress bar")
    score = sub.add_parser("scorecard", help="print every claim's status from executed chapters' JSON")
    score.add_argument("dir", nargs="?", default="_build/run", type=Path)
    sub.add_parser("list", help="list the chapters")
    dp = sub.add_parser("data", help="list the data registry and the checked-in tables")
    dp.add_argument("--rehash", action="store_true", help="record the sha256 of every table in data/ (data/SHA256SUMS)")
    from .userfit import add_cli as add_fit_cli

    add_fit_cli(sub)
    args = ap.parse_args(argv)

    if args.command == "fit":
        from .userfit import run_cli as run_fit_cli

        return run_fit_cli(args)

    if args.command == "list":
        print("\n".join(chapters()))
        return 0
    if args.command == "data":
        from .data import REGISTRY

        from .data import checked_in_hashes, table_names, text_sha256, write_checksums
        from .paths import repo_root

        if args.rehash:
            print(f"wrote {write_checksums()}")
            return 0
        for ds in REGISTRY.values():
            print(f"{ds.name}\n  {ds.description}\n  {ds.url}\n  mirror file: {ds.mirror_name}\n")
        recorded = checked_in_hashes()
        print("checked-in tables (data/, sha256 in data/SHA256SUMS):")
        for name in table_names():
            ok = recorded.get(name) == text_sha256(repo_root() / "data" / name)
            print(f"  {name}{'' if ok else '  (NOT RECORDED OR CHANGED: run data --rehash after checking it)'}")
        return 0
    if args.command == "scorecard":
        outcomes = chapter_outcomes(args.dir)
        if all(o["state"] == "missing" for o in outcomes):
            print(f"no <chapter>.json in {args.dir}; run `python -m scalinglib run --all --out {args.dir}` first")
            return 1
        print(format_scorecard(scorecard_rows(args.dir), outcomes))
        return 0 if all(o["state"] == "ok" for o in outcomes) else 1

    names = chapters() if args.all else args.names
    if not names:
        ap.error("run needs chapter names or --all")
    params = dict(parse_param(p) for p in args.param)
    bad = 0
    for name in names:
        print(f"== {name} {params or ''}", flush=True)
        try:
            payload = run_chapter(name, params, args.out, progress=not args.no_progress)
        except (ValueError, FileNotFoundError) as exc:  # bad parameters or chapter name: nothing ran
            print(f"   ERROR {exc}")
            bad += 1
            continue
        claims = payload.get("claims", [])
        counts = {s: sum(c["status"] == s for c in claims) for s in STATUS_ORDER[::-1]}
        print(f"   {payload['seconds']:.1f} s: " + ", ".join(f"{n} {s}" for s, n in counts.items())
              + f" -> {args.out / (name + '.json')}")
        for c in claims:
            if c["status"] == "failed":
                print(f"   FAILED {c['id']}: printed {c['printed']}, ours {c['ours']} ({c['note']})")
        if payload.get("error"):
            print(f"   ERROR {payload['error'].splitlines()[0] if payload['error'] else ''}")
            print(f"   see {args.out / (name + '.ipynb')}")
        bad += bool(payload.get("error")) or counts["failed"] > 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
