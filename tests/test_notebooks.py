"""Tests for scalinglib.notebooks: the MyST-to-.ipynb conversion behind each chapter's download link."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from scalinglib.notebooks import is_myst_notebook, notebook_relpath, to_notebook
from scalinglib.paths import repo_root

from .test_cli import HEADER  # the MyST notebook front matter, written once

MYST = HEADER + """
# A page

```{code-cell} ipython3
:tags: [parameters]

quick = False
```

Some text.

```{code-cell} ipython3
print(1 + 1)
```
"""


def test_conversion_strips_outputs_keeps_tags_and_kernelspec(tmp_path: Path):
    src = tmp_path / "page.md"
    src.write_text(MYST)
    nb = to_notebook(src)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.source for c in code] == ["quick = False", "print(1 + 1)"]
    assert code[0].metadata["tags"] == ["parameters"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "jupytext" not in nb.metadata


def test_every_chapter_in_the_book_converts():
    chapters = sorted((repo_root() / "chapters").glob("*.md"))
    notebooks = [p for p in chapters if is_myst_notebook(p)]
    assert notebooks, "no MyST notebooks found under chapters/"
    for p in notebooks:
        nb = to_notebook(p)
        nbformat.validate(nb)
        assert any(c.cell_type == "code" for c in nb.cells), p.name


def test_plain_markdown_is_not_a_notebook(tmp_path: Path):
    plain = tmp_path / "glossary.md"
    plain.write_text("# Glossary\n\nNo code here.\n")
    assert not is_myst_notebook(plain)
    assert not is_myst_notebook(tmp_path / "missing.md")
    with pytest.raises(ValueError, match="path"):
        to_notebook(plain)


@pytest.mark.parametrize(
    "docname, url",
    [("chapters/lab", "../_notebooks/chapters/lab.ipynb"), ("intro", "_notebooks/intro.ipynb"),
     ("a/b/c", "../../_notebooks/a/b/c.ipynb")],
)
def test_relative_urls(docname, url):
    assert notebook_relpath(docname) == url


@pytest.mark.parametrize("docname", ["", "/abs"])
def test_relative_url_guard(docname):
    with pytest.raises(ValueError, match="docname"):
        notebook_relpath(docname)
