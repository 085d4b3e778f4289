"""The API reference page, grouped exactly as ``scalinglib/__init__.py`` groups the modules.

The package docstring holds two tables: the concept core (``concept | module``) and the papers layer
(``chapter | module``). ``api.md`` has one ``{eval-rst}`` block per part, ``.. scalinglib-api:: concepts``
and ``.. scalinglib-api:: chapters``; the directive reads the table from the docstring at build time and,
for each row, writes a rubric (the row's name), the row's description and an ``automodule`` (with
``:members:``) for every module the row names that exists. ``.. scalinglib-api:: other`` documents every
module of the package that neither table names, so a new module is never left out, and a renamed one
never breaks the build. To regroup the page, edit the tables in ``scalinglib/__init__.py``.
"""

from __future__ import annotations

import pkgutil
import re
from importlib import import_module

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

PACKAGE = "scalinglib"
PARTS = ("concepts", "chapters", "other")
SKIP = ("scalinglib.__main__",)
_MOD = re.compile(r":mod:`~?(scalinglib(?:\.\w+)*)`")


def all_modules(package: str = PACKAGE) -> list[str]:
    """Every importable module of ``package`` except ``__main__``, sorted."""
    pkg = import_module(package)
    return sorted(m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}.") if m.name not in SKIP)


def parse_tables(doc: str) -> list[list[tuple[str, str, list[str]]]]:
    """The simple RST tables of ``doc``, each a list of rows ``(name, description, modules)``; the header
    row (between the first two rules) is dropped. ``modules`` are the ``:mod:`` targets of the row."""
    lines = doc.splitlines()
    rules = [i for i, ln in enumerate(lines) if ln.strip() and set(ln.strip()) <= {"=", " "} and "=" in ln]
    tables = []
    for k in range(0, len(rules) - 2, 3):
        top, mid, bottom = rules[k], rules[k + 1], rules[k + 2]
        col = len(lines[top]) - len(lines[top].lstrip()) + len(lines[top].strip().split(" ")[0])  # end of column 1
        rows = []
        for ln in lines[mid + 1: bottom]:
            if not ln.strip():
                continue
            name, desc = ln[:col].strip(), ln[col:].strip()
            if name:
                rows.append((name, desc, _MOD.findall(desc)))
            elif rows:  # a continuation line
                n0, d0, m0 = rows[-1]
                rows[-1] = (n0, f"{d0} {desc}", m0 + _MOD.findall(desc))
        tables.append(rows)
    return tables


def part_rows(part: str, doc: str, modules: list[str]) -> list[tuple[str, str, list[str]]]:
    """Rows of ``part`` (``concepts``: the first table; ``chapters``: ``scalinglib.papers`` itself, then the
    second table; ``other``: one row with every module no table names, except the package itself), each
    module kept only if it exists and only at its first appearance."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    tables = parse_tables(doc)
    present = set(modules)
    named = [m for t in tables for _, _, ms in t for m in ms]
    layer = f"{PACKAGE}.papers"
    if part == "other":
        rest = [m for m in modules if m not in set(named) and m not in (PACKAGE, layer)]
        return [("other modules", "", rest)] if rest else []
    idx = PARTS.index(part)
    if idx >= len(tables):
        return []
    seen = set()
    for t in tables[:idx]:
        for _, _, ms in t:
            seen.update(ms)
    out = []
    if part == "chapters" and layer in present and layer not in named:
        out.append(("the papers layer", "", [layer]))
        seen.add(layer)
    for name, desc, ms in tables[idx]:
        keep = [m for m in ms if m in present and m not in seen]
        seen.update(keep)
        out.append((name, desc, keep))
    return out


class ScalinglibApi(SphinxDirective):
    """``.. scalinglib-api:: PART``: a rubric, description and automodules per row of PART."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        part = self.arguments[0]
        doc = import_module(PACKAGE).__doc__ or ""
        try:
            rows = part_rows(part, doc, [PACKAGE, *all_modules()])
        except ValueError as err:
            raise self.error(str(err)) from None
        if not rows:
            return [nodes.paragraph(text="(No modules here at present.)")]
        lines: list[str] = []
        for name, desc, mods in rows:
            lines += [f".. rubric:: {name[0].upper() + name[1:]}", ""]
            if desc and part != "other":
                lines += [desc, ""]
            for m in mods:
                lines += [f".. automodule:: {m}", "   :members:", ""]
        container = nodes.container()
        nested_parse_with_titles(self.state, StringList(lines, source=f"<scalinglib-api {part}>"), container)
        return container.children


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.add_directive("scalinglib-api", ScalinglibApi)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
