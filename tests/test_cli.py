"""End-to-end tests of the harness: a tiny fake book run through `python -m scalinglib run` (jupytext +
papermill) in a subprocess, plus the runner's small helpers in-process.

Each papermill run takes a few seconds, so the fake chapter is executed twice in all, in parallel (shared by
the tests through module-scoped fixtures): `run --all` with a passing override of its parameters cell, and `run fake`
with a failing one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scalinglib.__main__ import main
from scalinglib.runner import chapters, format_scorecard, parse_param, scorecard_rows

HEADER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""

FAKE_MD = HEADER + textwrap.dedent(
    """
    # A fake chapter

    ```{code-cell} ipython3
    :tags: [parameters]

    quick = False
    x = 0.46
    label = "default"
    ```

    ```{code-cell} ipython3
    import scalinglib as sl

    sl.begin("fake", quick=quick, x=x, label=label)
    sl.record("value", x)
    sl.record("declared", 2.0 * 1.0)
    sl.record("series", [x, 2 * x])
    sl.record("rounded", 0.44)
    sl.explain("rounded", round(x, 2))
    ```

    ```{code-cell} ipython3
    sl.check()
    ```
    """
)

FAKE_YML = """\
paper: Fake et al. 2024
claims:
  - id: value
    kind: data
    where: Table 1
    printed: 0.46
  - id: declared
    kind: data
    where: Fig. 2
    printed: 1.0
    status: open
    hypotheses: [we double it on purpose]
    pin: 2.0
  - id: rounded
    kind: paper
    where: Table 2
    printed: 0.46
    status: explained
    explanation: the paper rounds x to two digits
"""

TOC = """\
format: jb-book
root: start
parts:
  - caption: The papers
    chapters:
      - file: chapters/fake
      - file: chapters/prose.md
"""


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fakebook")
    (root / "chapters").mkdir()
    (root / "data" / "claims").mkdir(parents=True)
    (root / "_toc.yml").write_text(TOC)
    (root / "start.md").write_text("# Start\n\nNo code here.\n")  # not executable: skipped by run --all
    (root / "chapters" / "prose.md").write_text("# Prose\n\nNo code cells either.\n")
    (root / "chapters" / "fake.md").write_text(FAKE_MD)
    (root / "data" / "claims" / "fake.yml").write_text(FAKE_YML)
    return root


def cli(book: Path, *args: str) -> subprocess.Popen:
    """Start ``python -m scalinglib ARGS`` in the fake book (collect it with :func:`finish`)."""
    env = {k: v for k, v in os.environ.items() if k != "SCALINGLIB_RESULTS_DIR"}
    env["SCALINGLIB_ROOT"] = str(book)
    return subprocess.Popen(
        [sys.executable, "-m", "scalinglib", *args],
        cwd=book,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def read_json(folder: Path, name: str = "fake") -> dict:
    return json.loads((folder / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def runs(book):
    """Both papermill runs, started together (they are independent) to halve the wall time:

    - ``all``: ``run --all`` with parameters that override the parameters cell (and still pass);
    - ``fail``: ``run fake`` with an override that makes the claim fail.
    """
    out_all, out_fail = book / "out-all", book / "out-fail"
    procs = {
        "all": cli(book, "run", "--all", "--param", "x=0.462", "--param", "label=override", "--param", "quick=True",
                   "--out", str(out_all), "--no-progress"),
        "fail": cli(book, "run", "fake", "-p", "x=0.9", "--out", str(out_fail), "--no-progress"),
    }
    return {"all": (finish(procs["all"]), out_all), "fail": (finish(procs["fail"]), out_fail)}


@pytest.fixture(scope="module")
def run_all(runs):
    return runs["all"]


@pytest.fixture(scope="module")
def run_fail(runs):
    return runs["fail"]


# --------------------------------------------------------------------------- run


def test_run_all_runs_every_executable_page(run_all):
    proc, out = run_all
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["fake.ipynb", "fake.json"]  # start and prose have no code
    assert "1 reproduced, 1 explained, 1 open, 0 contradicted, 0 failed" in proc.stdout


def test_json_has_the_documented_keys(run_all):
    _, out = run_all
    payload = read_json(out)
    assert set(payload) == {"chapter", "parameters", "seconds", "values", "unclaimed", "claims"}
    assert payload["unclaimed"] == ["series"]
    assert payload["chapter"] == "fake"
    assert payload["seconds"] > 0
    assert payload["values"] == {"value": 0.462, "declared": 2.0, "series": [0.462, 0.924], "rounded": 0.44}
    value, declared, rounded = payload["claims"]
    assert value == {
        "id": "value",
        "kind": "data",
        "compare": "eq",
        "declared": "reproduced",
        "paper": "Fake et al. 2024",
        "where": "Table 1",
        "printed": 0.46,
        "ours": 0.462,
        "tolerance": {"abs": 0.005},
        "status": "reproduced",
        "note": "",
    }
    # An open claim at its pin is reported as open, with its hypotheses, and does not fail the run.
    assert declared["status"] == "open" and declared["hypotheses"] == ["we double it on purpose"]
    # An explained claim carries the value its computed explanation gives.
    assert rounded["status"] == "explained" and rounded["explanation_value"] == 0.46


def test_parameters_override_the_parameters_cell(run_all):
    _, out = run_all
    payload = read_json(out)
    assert payload["parameters"] == {"quick": True, "x": 0.462, "label": "override"}
    assert payload["values"]["value"] == 0.462  # the kernel saw the override, not the cell's 0.46
    nb = json.loads((out / "fake.ipynb").read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1
    assert "x = 0.462" in "".join(injected[0]["source"]) and 'label = "override"' in "".join(injected[0]["source"])


def test_failing_claim_exits_1(run_fail):
    proc, out = run_fail
    assert proc.returncode == 1
    assert "FAILED value: printed 0.46, ours 0.9" in proc.stdout
    assert "ClaimFailure" in proc.stdout  # the notebook's error is reported, with where to look
    assert str(out / "fake.ipynb") in proc.stdout
    payload = read_json(out)
    # x is overridden; the cell's other parameters keep their defaults.
    assert payload["parameters"] == {"quick": False, "x": 0.9, "label": "default"}
    assert [c["status"] for c in payload["claims"]] == ["failed", "open", "failed"]
    assert payload["error"].startswith("ClaimFailure")


# --------------------------------------------------------------------------- scorecard and argument errors (in-process)


def test_scorecard_of_a_passing_run(book, run_all, monkeypatch, capsys):
    _, out = run_all
    monkeypatch.setenv("SCALINGLIB_ROOT", str(book))
    assert main(["scorecard", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["chapter", "id", "kind", "where", "printed", "ours", "status"]
    assert any(line.split()[:2] == ["fake", "value"] and "reproduced" in line for line in lines)
    assert any(line.split()[:2] == ["fake", "declared"] and "open" in line for line in lines)
    assert lines[-1] == "1 explained, 1 open, 1 reproduced"


def test_scorecard_of_a_failing_run_exits_1(book, run_fail, monkeypatch, capsys):
    _, out = run_fail
    monkeypatch.setenv("SCALINGLIB_ROOT", str(book))
    assert main(["scorecard", str(out)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "2 failed, 1 open; 1 chapter(s) failed"


def test_scorecard_names_a_missing_chapter_and_exits_1(book, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCALINGLIB_ROOT", str(book))
    (tmp_path / "other.json").write_text("{}")  # a stray file is not a chapter of the book
    (tmp_path / "fake.json").write_text("{not json")
    assert main(["scorecard", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED CHAPTER fake: unreadable" in out


def test_scorecard_without_results(book, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCALINGLIB_ROOT", str(book))
    assert main(["scorecard", str(tmp_path)]) == 1
    assert "run --all" in capsys.readouterr().out


def test_run_needs_names(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run"])
    assert exc.value.code == 2 and "run needs chapter names or --all" in capsys.readouterr().err


# --------------------------------------------------------------------------- runner helpers (in-process)


def test_chapters_lists_executable_pages_in_book_order(tmp_path):
    (tmp_path / "chapters").mkdir()
    for name in ("b", "a", "c"):
        (tmp_path / "chapters" / f"{name}.md").write_text(FAKE_MD)
    (tmp_path / "start.md").write_text(FAKE_MD)
    (tmp_path / "chapters" / "prose.md").write_text("# Prose only\n")
    # _toc.yml entries may carry the extension (chapters/a.md): they must not be skipped.
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: start.md\nparts:\n  - caption: P\n    chapters:\n"
        "      - file: chapters/b\n      - file: chapters/a.md\n      - file: chapters/prose\n"
        "      - file: chapters/missing\n      - file: chapters/c\n"
    )
    assert chapters(tmp_path) == ["start", "b", "a", "c"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("n_bootstrap=400", ("n_bootstrap", 400)),
        ("quick=True", ("quick", True)),
        ("quick=false", ("quick", False)),
        ("x=0.5", ("x", 0.5)),
        ("x=1e-3", ("x", 0.001)),
        (" name = abc", ("name", "abc")),
        ("label=two words", ("label", "two words")),
        ("sizes=[1, 2]", ("sizes", [1, 2])),
        ("expr=a=b", ("expr", "a=b")),
        ("odd={[1]: 2}", ("odd", "{[1]: 2}")),  # not a literal: kept as text
    ],
)
def test_parse_param(text, expected):
    assert parse_param(text) == expected


def test_parse_param_needs_key_value():
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_param("quick")


def test_scorecard_rows_and_format(book, tmp_path, monkeypatch):
    monkeypatch.setenv("SCALINGLIB_ROOT", str(book))
    for name, status in (("zzz", "failed"), ("fake", "reproduced")):
        payload = {"chapter": name, "claims": [{"id": f"{name}_c", "where": "T1", "printed": 1.0, "ours": 1.23456789,
                                                "status": status}]}
        (tmp_path / f"{name}.json").write_text(json.dumps(payload))
    rows = scorecard_rows(tmp_path)
    assert [r["chapter"] for r in rows] == ["fake"]  # the chapters of the book, in book order
    text = format_scorecard(rows)
    assert "1.23457" in text and text.splitlines()[-1] == "1 reproduced"
    assert format_scorecard([]).splitlines()[-1] == "no claims"


@pytest.mark.parametrize(
    "param, message",
    [
        ("quick=maybe", "takes a bool"),
        ("qiuck=True", "has no parameter 'qiuck'; its parameters are: quick, x, label"),
        ("x=[1]", "takes a float"),
    ],
)
def test_bad_parameters_are_refused_before_anything_runs(book, tmp_path, monkeypatch, capsys, param, message):
    monkeypatch.setenv("SCALINGLIB_ROOT", str(book))
    assert main(["run", "fake", "--param", param, "--out", str(tmp_path), "--no-progress"]) == 1
    assert message in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # nothing was executed or written


def test_an_interrupted_run_leaves_nothing_that_looks_complete(book, tmp_path, monkeypatch):
    import papermill as pm

    from scalinglib.runner import run_chapter

    monkeypatch.setenv("SCALINGLIB_ROOT", str(book))
    (tmp_path / "fake.json").write_text('{"chapter": "fake", "claims": []}')  # from an earlier run
    (tmp_path / "fake.ipynb").write_text("{}")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pm, "execute_notebook", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_chapter("fake", {}, tmp_path, progress=False)
    assert not (tmp_path / "fake.json").exists() and not (tmp_path / "fake.ipynb").exists()
