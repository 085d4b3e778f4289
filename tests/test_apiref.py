"""Tests for _ext/apiref.py: the API page follows the tables in scalinglib/__init__.py and leaves no module out."""

from __future__ import annotations

import sys

import pytest

import scalinglib
from scalinglib.paths import repo_root

sys.path.insert(0, str(repo_root() / "_ext"))
import apiref

DOC = """Intro.

=====  ==========================
kind   module
=====  ==========================
laws   :mod:`~scalinglib.laws` (forms)
two    :mod:`~scalinglib.a`, :mod:`~scalinglib.gone`
       and :mod:`~scalinglib.b`
none   (the core)
=====  ==========================

=====  ==========================
ch     module
=====  ==========================
X      :mod:`scalinglib.papers.x`
Y      :mod:`scalinglib.laws` again
=====  ==========================
"""


def test_parse_tables_rows_modules_and_continuations():
    concepts, chapters = apiref.parse_tables(DOC)
    assert [r[0] for r in concepts] == ["laws", "two", "none"]
    assert concepts[1][2] == ["scalinglib.a", "scalinglib.gone", "scalinglib.b"]
    assert concepts[2][2] == [] and concepts[2][1] == "(the core)"
    assert chapters[0] == ("X", ":mod:`scalinglib.papers.x`", ["scalinglib.papers.x"])


def test_part_rows_skip_missing_and_repeated_modules_and_collect_the_rest():
    mods = ["scalinglib", "scalinglib.a", "scalinglib.b", "scalinglib.laws", "scalinglib.new",
            "scalinglib.papers", "scalinglib.papers.x"]
    concepts = apiref.part_rows("concepts", DOC, mods)
    assert concepts[1][2] == ["scalinglib.a", "scalinglib.b"]  # "gone" does not exist
    chapters = apiref.part_rows("chapters", DOC, mods)
    assert chapters[0] == ("the papers layer", "", ["scalinglib.papers"])
    assert chapters[2][2] == []  # laws is already documented under the concepts
    assert apiref.part_rows("other", DOC, mods) == [("other modules", "", ["scalinglib.new"])]
    with pytest.raises(ValueError, match="part"):
        apiref.part_rows("misc", DOC, mods)


def test_the_real_package_every_module_exactly_once():
    mods = [apiref.PACKAGE, *apiref.all_modules()]
    placed = [m for p in apiref.PARTS for _, _, ms in apiref.part_rows(p, scalinglib.__doc__, mods) for m in ms]
    assert len(placed) == len(set(placed))
    assert sorted(placed + [apiref.PACKAGE]) == sorted(mods)
