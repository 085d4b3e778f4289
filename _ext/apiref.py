"""The API reference page, grouped and kept in step with the package by itself.

``api.md`` holds one section per group with an ``{eval-rst}`` block ``.. scalinglib-api:: GROUP``. The
directive documents (``automodule`` with ``:members:``) every module of ``scalinglib`` that belongs to the
group *and exists*, so a module that is renamed or moved never breaks the build, and a new module is
never left out: a module that no group names lands in the group ``other`` (which the page shows last).

Groups follow the overview in ``scalinglib/__init__.py``. ``chapters`` takes every module under
``scalinglib.papers`` plus the chapter-specific modules listed below.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module

from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles
from docutils import nodes

PACKAGE = "scalinglib"

GROUPS: dict[str, tuple[str, ...]] = {
    "package": ("scalinglib",),
    "concepts": ("scalinglib.laws", "scalinglib.fitting", "scalinglib.curves", "scalinglib.stats",
                 "scalinglib.allocation", "scalinglib.flops", "scalinglib.isoflop"),
    "data": ("scalinglib.data", "scalinglib.claims"),
    "charts": ("scalinglib.plots", "scalinglib.scorecard_plot"),
    "teaching": ("scalinglib.userfit", "scalinglib.simulator"),
    "book": ("scalinglib.runner", "scalinglib.progress", "scalinglib.paths", "scalinglib.site",
             "scalinglib.notebooks", "scalinglib.vega_bundle"),
    "chapters": ("scalinglib.lab", "scalinglib.anova", "scalinglib.estimators", "scalinglib.double_descent",
                 "scalinglib.sampling", "scalinglib.elo"),
    "other": (),
}
"""Which modules each group shows, in order; ``chapters`` also takes ``scalinglib.papers.*``."""

SKIP = ("scalinglib.__main__",)


def all_modules(package: str = PACKAGE) -> list[str]:
    """Every importable module of ``package`` (the package itself first, then sorted names)."""
    pkg = import_module(package)
    names = [m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}.")]
    return [package] + sorted(n for n in names if n not in SKIP)


def group_modules(group: str, modules: list[str]) -> list[str]:
    """The modules of ``group`` among ``modules``: the listed ones that exist, in the listed order; for
    ``chapters`` then every ``scalinglib.papers`` module; for ``other`` every module no group takes."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {list(GROUPS)}, got {group!r}")
    present = set(modules)
    if group == "other":
        taken = {m for g in GROUPS if g != "other" for m in group_modules(g, modules)}
        return [m for m in modules if m not in taken]
    out = [m for m in GROUPS[group] if m in present]
    if group == "chapters":
        out += [m for m in modules if (m == f"{PACKAGE}.papers" or m.startswith(f"{PACKAGE}.papers.")) and m not in out]
    return out


class ScalinglibApi(SphinxDirective):
    """``.. scalinglib-api:: GROUP``: automodule every existing module of the group."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        group = self.arguments[0]
        try:
            mods = group_modules(group, all_modules())
        except ValueError as err:
            raise self.error(str(err)) from None
        if not mods:
            return [nodes.paragraph(text="(No modules in this group at present.)")]
        lines: list[str] = []
        for m in mods:
            lines += [f".. automodule:: {m}"] + (["   :members:"] if m != PACKAGE else []) + [""]
        container = nodes.container()
        nested_parse_with_titles(self.state, StringList(lines, source=f"<scalinglib-api {group}>"), container)
        return container.children


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.add_directive("scalinglib-api", ScalinglibApi)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
