"""The tree itself: scalinglib/__init__.py's table names every module, and no chapter defines a function."""

from __future__ import annotations

import re

import scalinglib
from scalinglib.paths import repo_root

ROOT = repo_root()


def test_init_table_names_every_module():
    doc = scalinglib.__doc__ or ""
    modules = [p for p in (ROOT / "scalinglib").rglob("*.py") if p.name != "__init__.py"]
    missing = []
    for p in modules:
        rel = p.relative_to(ROOT / "scalinglib").with_suffix("")
        name = ".".join(rel.parts)
        if name == "__main__":
            assert "__main__" in doc
            continue
        if not re.search(rf"scalinglib\.{re.escape(name)}\b|~scalinglib\.{re.escape(name)}\b", doc):
            missing.append(name)
    assert not missing, f"scalinglib/__init__.py's table does not name: {missing}"


def test_no_chapter_defines_a_function_or_class():
    pages = list((ROOT / "chapters").glob("*.md")) + [ROOT / "intro.md", ROOT / "scorecard.md"]
    offenders = [f"{p.name}: {m.group(0).strip()}" for p in pages
                 for m in re.finditer(r"(?m)^(def|class) \w+", p.read_text())]
    assert not offenders, offenders
