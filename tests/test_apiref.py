"""Tests for _ext/apiref.py: every module of scalinglib is on the API page exactly once."""

from __future__ import annotations

import sys

import pytest

from scalinglib.paths import repo_root

sys.path.insert(0, str(repo_root() / "_ext"))
import apiref  # noqa: E402


def test_every_module_in_exactly_one_group():
    mods = apiref.all_modules()
    assert mods[0] == "scalinglib" and "scalinglib.simulator" in mods and "scalinglib.__main__" not in mods
    placed = [m for g in apiref.GROUPS for m in apiref.group_modules(g, mods)]
    assert sorted(placed) == sorted(mods)


def test_missing_modules_are_skipped_and_unknown_ones_go_to_other():
    mods = ["scalinglib", "scalinglib.laws", "scalinglib.papers", "scalinglib.papers.x", "scalinglib.brand_new"]
    assert apiref.group_modules("concepts", mods) == ["scalinglib.laws"]
    assert apiref.group_modules("chapters", mods) == ["scalinglib.papers", "scalinglib.papers.x"]
    assert apiref.group_modules("other", mods) == ["scalinglib.brand_new"]


def test_unknown_group_rejected():
    with pytest.raises(ValueError, match="group"):
        apiref.group_modules("misc", ["scalinglib"])
