"""The reproduction harness: every page in _toc.yml is executed by papermill and its claims checked.

Chapters run with ``quick=True`` (their reduced CI settings); the built book runs them in full.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scalinglib.paths import repo_root
from scalinglib.runner import chapter_path, chapters

ROOT = repo_root()


def run_quick(name, out, env=None):
    """``python -m scalinglib run NAME --param quick=True`` into ``out``; the payload and the process."""
    proc = subprocess.run(
        [sys.executable, "-m", "scalinglib", "run", name, "--param", "quick=True", "--out", str(out), "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    path = out / f"{name}.json"
    payload = json.loads(path.read_text()) if path.exists() else {"claims": [], "error": proc.stdout[-2000:]}
    return payload, proc
# The scorecard summarises the others, so it runs last (it is last in _toc.yml too).
NAMES = sorted(chapters(ROOT), key=lambda n: n == "scorecard")


@pytest.mark.chapter
@pytest.mark.parametrize("name", NAMES)
def test_chapter_claims(name, results):
    payload, proc = run_quick(name, results)
    failed = [c for c in payload["claims"] if c["status"] == "failed"]
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}"
    assert not failed and "error" not in payload
    for c in payload["claims"]:
        assert c["status"] in ("reproduced", "explained", "open", "contradicted")


def test_scorecard_runs_after_the_chapters():
    """Sphinx reads (and so executes) documents in sorted order: the scorecard must sort last."""
    docs = [str(p.relative_to(ROOT).with_suffix("")) for n in chapters(ROOT) if (p := chapter_path(n, ROOT))]
    assert sorted(docs)[-1] == "scorecard"
