"""Execute a chapter (a MyST Markdown notebook) with papermill and collect its claims."""

from __future__ import annotations

import ast
import json
import os
import time
from pathlib import Path
from typing import Any

import yaml

from .paths import repo_root

__all__ = [
    "toc_pages", "chapters", "chapter_path", "parse_param", "chapter_parameters", "validate_chapter_parameters", "run_chapter",
    "chapter_outcomes", "scorecard_rows", "format_scorecard", "counts_by_kind_and_status",
]


def toc_pages(root: Path | None = None) -> list[str]:
    """Names (file stems) of every page in ``_toc.yml``, in book order (``intro``, ``chapters/x`` -> ``x`` ...)."""
    root = root or repo_root()
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    names: list[str] = [Path(str(toc["root"])).stem]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "file" in node:
                # _toc.yml may name a file with or without its extension ("chapters/x" or "chapters/x.md").
                f = Path(str(node["file"]))
                names.append(f.stem if f.suffix in (".md", ".ipynb") else f.name)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc.get("parts", toc.get("chapters", [])))
    return names


def chapters(root: Path | None = None) -> list[str]:
    """Names of the executable pages (those with code cells) in ``_toc.yml``, in book order."""
    root = root or repo_root()
    names = []
    for name in toc_pages(root):
        path = chapter_path(name, root)
        if path is not None and "{code-cell}" in path.read_text():
            names.append(name)
    return names


def chapter_path(name: str, root: Path | None = None) -> Path | None:
    root = root or repo_root()
    for candidate in (root / "chapters" / f"{name}.md", root / f"{name}.md"):
        if candidate.exists():
            return candidate
    return None


def parse_param(text: str) -> tuple[str, Any]:
    """``"n_bootstrap=400"`` -> ``("n_bootstrap", 400)``; values are Python literals or strings."""
    if "=" not in text:
        raise ValueError(f"--param takes KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    low = raw.strip().lower()
    if low in ("true", "false"):
        return key.strip(), low == "true"
    try:
        return key.strip(), ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):  # e.g. "{[1]: 2}" is a TypeError
        return key.strip(), raw.strip()


def chapter_parameters(name: str, root: Path | None = None) -> dict[str, Any]:
    """The defaults of a chapter's ``parameters`` cell, read without running it: ``{"quick": False, ...}``."""
    import jupytext

    path = chapter_path(name, root)
    if path is None:
        raise FileNotFoundError(f"no chapter {name!r}: expected chapters/{name}.md (known: {', '.join(chapters(root))})")
    nb = jupytext.read(path, fmt="md:myst")
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            out: dict[str, Any] = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    try:
                        out[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        out[node.targets[0].id] = None
            return out
    return {}


def validate_chapter_parameters(name: str, parameters: dict[str, Any], root: Path | None = None) -> None:
    """Check ``--param`` overrides against the chapter's ``parameters`` cell before anything runs.

    An unknown name (the known ones are listed), a value whose type differs from the default's
    (``quick=maybe``), or a value out of range (:func:`scalinglib.claims.validate_parameters`) is
    a :class:`ValueError`.
    """
    from .claims import validate_parameters

    known = chapter_parameters(name, root)
    for key, value in parameters.items():
        if key not in known:
            raise ValueError(f"chapter {name!r} has no parameter {key!r}; its parameters are: {', '.join(known) or 'none'}")
        default = known[key]
        if default is None:
            continue
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            raise ValueError(f"parameter {key} of chapter {name!r} takes a {type(default).__name__} "
                             f"(default {default!r}), got {value!r}")
    validate_parameters(parameters)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    from .claims import _plain

    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(_plain(payload), indent=1, allow_nan=False))
    tmp.replace(path)


def run_chapter(name: str, parameters: dict[str, Any], out_dir: Path, *, progress: bool = True) -> dict[str, Any]:
    """Run ``chapters/<name>.md`` through jupytext + papermill; write ``<name>.ipynb`` and ``<name>.json``.

    Returns the JSON payload. ``payload["error"]`` is set if the notebook raised (e.g. a failed claim).
    The notebook is executed under a temporary name and renamed when done, and an earlier
    ``<name>.json`` is removed first, so an interrupted run leaves nothing that looks complete.
    """
    import jupytext
    import papermill as pm

    root = repo_root()
    path = chapter_path(name, root)
    if path is None:
        raise FileNotFoundError(f"no chapter {name!r}: expected chapters/{name}.md (known: {', '.join(chapters(root))})")
    validate_chapter_parameters(name, parameters, root)
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{name}.json"
    nb_path = out_dir / f"{name}.ipynb"
    partial = out_dir / f".{name}.partial.ipynb"
    json_path.unlink(missing_ok=True)
    nb_path.unlink(missing_ok=True)
    nb = jupytext.read(path, fmt="md:myst")
    env_before = {k: os.environ.get(k) for k in ("SCALINGLIB_RESULTS_DIR", "SCALINGLIB_ROOT", "SCALINGLIB_PROGRESS")}
    os.environ.update(SCALINGLIB_RESULTS_DIR=str(out_dir), SCALINGLIB_ROOT=str(root), SCALINGLIB_PROGRESS="0")
    t0 = time.perf_counter()
    error = None
    try:
        pm.execute_notebook(
            nb,
            str(partial),
            parameters=parameters,
            cwd=str(path.parent),
            progress_bar=progress,
            kernel_name="python3",
            language="python",
        )
    except pm.PapermillExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = round(time.perf_counter() - t0, 2)
    if json_path.exists():
        payload = json.loads(json_path.read_text())
    else:
        payload = {"chapter": name, "parameters": parameters, "values": {}, "claims": []}
        error = error or "the chapter never reached check()"
    payload["seconds"] = seconds
    payload["parameters"] = {**payload.get("parameters", {}), **parameters}
    if error:
        payload["error"] = error
    _write_json(json_path, payload)
    partial.replace(nb_path)
    return payload


def chapter_outcomes(results: Path, root: Path | None = None) -> list[dict[str, Any]]:
    """One entry per executable page of ``_toc.yml`` (the scorecard page itself aside), in book order:
    ``{"chapter", "state", "detail", "payload"}`` where state is ``ok``, ``failed claims``,
    ``error`` (a cell raised), ``missing`` (no JSON) or ``unreadable`` (a JSON that does not parse).
    Nothing is hidden: every chapter of the book is listed, whether or not it ran."""
    out = []
    for name in chapters(root):
        if name == "scorecard":
            continue
        f = Path(results) / f"{name}.json"
        entry: dict[str, Any] = {"chapter": name, "payload": None}
        if not f.exists():
            entry.update(state="missing", detail=f"no {f.name} in {results}: the chapter did not run")
        else:
            try:
                payload = json.loads(f.read_text())
                if not isinstance(payload, dict) or not isinstance(payload.get("claims"), list):
                    raise ValueError("no claims list")
            except (ValueError, OSError) as exc:
                entry.update(state="unreadable", detail=f"{f.name} cannot be read: {exc}")
            else:
                entry["payload"] = payload
                failed = [c["id"] for c in payload["claims"] if c.get("status") not in STATUS_ORDER[1:]]
                if payload.get("error"):
                    entry.update(state="error", detail=str(payload["error"]).splitlines()[0][:300])
                elif failed:
                    entry.update(state="failed claims", detail=", ".join(failed))
                else:
                    entry.update(state="ok", detail="")
        out.append(entry)
    return out


STATUS_ORDER = ("failed", "contradicted", "open", "explained", "reproduced")


def scorecard_rows(results: Path) -> list[dict[str, Any]]:
    """All claims of every chapter's JSON in ``results``, in book order, and within a chapter the
    claims that need attention first (failed, contradicted, open, explained, reproduced)."""
    rows = []
    for entry in chapter_outcomes(results):
        payload = entry["payload"] or {}
        claims = sorted(payload.get("claims", []), key=lambda c: STATUS_ORDER.index(c["status"])
                        if c.get("status") in STATUS_ORDER else 0)
        for c in claims:
            rows.append({"chapter": entry["chapter"], **c})
    return rows


def counts_by_kind_and_status(rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """``{(kind, status): n}`` over scorecard rows."""
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r.get("kind", "?"), r["status"])
        counts[key] = counts.get(key, 0) + 1
    return counts


def format_scorecard(rows: list[dict[str, Any]], outcomes: list[dict[str, Any]] | None = None) -> str:
    """The scorecard as text: chapters that did not run cleanly first, then one table of claims,
    then the counts by status."""
    head = []
    for o in outcomes or []:
        if o["state"] != "ok":
            head.append(f"FAILED CHAPTER {o['chapter']}: {o['state']}: {o['detail']}")
    cols = ["chapter", "id", "kind", "where", "printed", "ours", "status"]
    fmt = lambda v: f"{v:.6g}" if isinstance(v, float) else str(v)  # noqa: E731
    cells = [[fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max([len(c)] + [min(len(x[i]), 50) for x in cells]) for i, c in enumerate(cols)]
    line = lambda xs: "  ".join(x[:w].ljust(w) for x, w in zip(xs, widths, strict=True))  # noqa: E731
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no claims"
    if head:
        summary += f"; {len(head)} chapter(s) failed"
    table = [line(cols), line(["-" * w for w in widths]), *(line(x) for x in cells), ""]
    return "\n".join([*head, *([""] if head else []), *table, summary])
