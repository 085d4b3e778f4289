"""Tests for _ext/exercise_numbers.py: exercises are numbered 1, 2, ... on every page."""

from __future__ import annotations

import sys

from scalinglib.paths import repo_root

sys.path.insert(0, str(repo_root() / "_ext"))
import exercise_numbers


def test_renumbers_each_page_from_one_in_page_order():
    table = {
        "chapters/a": {"exercise": {"a-ex-1": (1,), "a-ex-2": (2,)}, "figure": {"f": (1,)}},
        "chapters/b": {"exercise": {"b-ex-2": (4,), "b-ex-1": (3,), "b-ex-3": (5,)}, "figure": {"g": (2,)}},
    }
    changed = exercise_numbers.renumber_per_page(table)
    assert changed == ["chapters/b"]
    assert table["chapters/b"]["exercise"] == {"b-ex-1": (1,), "b-ex-2": (2,), "b-ex-3": (3,)}
    assert table["chapters/a"]["exercise"] == {"a-ex-1": (1,), "a-ex-2": (2,)}
    assert table["chapters/b"]["figure"] == {"g": (2,)}  # other kinds untouched


def test_section_prefixed_numbers_are_left_alone():
    table = {"c": {"exercise": {"x": (3, 1), "y": (3, 2)}}}
    assert exercise_numbers.renumber_per_page(table) == []
    assert table["c"]["exercise"] == {"x": (3, 1), "y": (3, 2)}
