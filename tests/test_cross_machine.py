"""The cross-machine check: every chapter's claims come out the same on another BLAS code path.

OpenBLAS picks its kernels by CPU (SkylakeX, Haswell, Zen, Neoverse ...) and splits work by thread
count; a fit that stops short of its optimum lands somewhere that depends on those rounding paths.
This test reruns every chapter (quick mode) with the generic x86-64 kernel (``OPENBLAS_CORETYPE=
Prescott``, which any x86-64 CPU runs) on one thread, and compares it with the harness's run on this
machine's default kernel and thread count: every claim must get the same status and a value that
agrees to a hundredth of the claim's tolerance (:data:`TOL_FRACTION`; its pin's tolerance for an open
or contradicted claim) or, for a range or an inequality, of our value's distance to the nearest bound
it is compared with; and to :data:`REL_TOL` relative where neither exists (:data:`ABS_TOL` absolute near
zero). So no kernel can move a claim noticeably towards another status.

Measured on an AVX-512 machine (default SkylakeX kernel, 2 threads, against Prescott, 1 thread), as a
fraction of the claim's tolerance: point estimates and closed forms 1e-9 or less; the Hestness lab's
Huber fits of the stored runs 6e-4 (3e-5 absolute on an exponent whose band is 0.05); the Besiroglu
bootstrap statistics 1e-3; relative: BNSL fits 2e-6, Besiroglu's one-sided run count 2e-5.
"""

from __future__ import annotations

import os
import platform

import pytest

from scalinglib.runner import chapters

from .test_chapters import ROOT, run_quick

REL_TOL = 1e-4
ABS_TOL = 1e-9
TOL_FRACTION = 0.01
NAMES = [n for n in chapters(ROOT) if n != "scorecard"]
X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "i386")


def _tolerance(claim) -> float | None:
    """The scale that decides the claim's status, in absolute units: its tolerance (its pin's for open
    and contradicted claims), or for a range or inequality the distance of our value to the nearest bound."""
    ours, printed = claim.get("ours"), claim.get("printed")
    if claim.get("pin") is None and claim.get("compare", "eq") != "eq" and isinstance(ours, (int, float)):
        bounds = printed if isinstance(printed, list) else [printed]
        gaps = [abs(ours - float(b)) for b in bounds if isinstance(b, (int, float))]
        return min(gaps) if gaps and min(gaps) > 0 else None
    pinned = claim.get("pin") is not None
    tol = (claim.get("pin_tolerance") if pinned else claim.get("tolerance")) or {}
    printed = claim.get("pin") if pinned else claim.get("printed")
    if not tol or not isinstance(printed, (int, float)):
        return None
    return max(tol.get("abs", 0.0), tol.get("rel", 0.0) * abs(printed))


def _close(a, b, tol) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        diff = abs(a - b)
        if tol:
            return diff <= max(ABS_TOL, TOL_FRACTION * tol)
        return diff <= max(ABS_TOL, REL_TOL * max(abs(a), abs(b)))
    return a == b


@pytest.mark.chapter
@pytest.mark.parametrize("name", NAMES)
def test_same_claims_on_the_generic_kernel_with_one_thread(name, results, tmp_path):
    if not X86:
        pytest.skip(f"OPENBLAS_CORETYPE=Prescott selects an x86-64 kernel; this machine is {platform.machine()}")
    default = results / f"{name}.json"
    if not default.exists():  # the harness did not run in this session (e.g. -k): run the default path here
        run_quick(name, results)
    import json

    base = json.loads(default.read_text())
    env = {**os.environ, "OPENBLAS_CORETYPE": "Prescott", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    other, proc = run_quick(name, tmp_path, env=env)
    assert "error" not in other, f"{name} failed on the generic kernel:\n{proc.stdout[-3000:]}"
    ours = {c["id"]: c for c in base["claims"]}
    diffs = []
    for c in other["claims"]:
        b = ours.get(c["id"])
        if b is None or b["status"] != c["status"] or not _close(b["ours"], c["ours"], _tolerance(b)):
            diffs.append(f"{c['id']}: default {b and (b['status'], b['ours'])} vs generic/1 thread {(c['status'], c['ours'])}")
    assert not diffs, f"{name}: claims differ across BLAS kernels:\n" + "\n".join(diffs)
