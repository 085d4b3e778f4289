"""Number sphinx-exercise's exercises per page: Exercise 1, 2, ... in every chapter.

Sphinx numbers enumerable nodes (figures, tables, and sphinx-exercise's ``exercise``) with one counter
for the whole book when the table of contents is not numbered, so the third chapter's first exercise
would be "Exercise 10". This extension renumbers, after Sphinx has assigned the numbers
(``env-get-updated``), each page's exercises 1, 2, 3 ... in page order. References (``{ref}``,
``{numref}``) and the solutions' "Solution to Exercise N" read the same table, so they follow.
Numbers that carry a section prefix (a numbered table of contents) are left alone.
"""

from __future__ import annotations

from typing import Any

FIGTYPES = ("exercise",)


def renumber_per_page(toc_fignumbers: dict[str, dict[str, dict[str, tuple[int, ...]]]],
                      figtypes: tuple[str, ...] = FIGTYPES) -> list[str]:
    """Renumber ``figtypes`` 1, 2, ... within each page, in the order of their current numbers; returns
    the pages whose numbers changed. Only one-part numbers (no section prefix) are renumbered."""
    changed = []
    for docname, by_type in toc_fignumbers.items():
        for figtype in figtypes:
            nums = by_type.get(figtype)
            if not nums or any(len(v) != 1 for v in nums.values()):
                continue
            order = sorted(nums, key=lambda k: nums[k])
            new = {k: (i + 1,) for i, k in enumerate(order)}
            if new != nums:
                by_type[figtype] = new
                changed.append(docname)
    return changed


def _on_env_get_updated(app: Any, env: Any) -> list[str]:
    return sorted(set(renumber_per_page(env.toc_fignumbers)))


def setup(app: Any) -> dict[str, Any]:
    app.connect("env-get-updated", _on_env_get_updated, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
