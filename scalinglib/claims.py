"""Reproduction harness: every paper number is a claim, checked against what the chapter computes.

A chapter calls :func:`begin` in its first cell (with its parameters), :func:`record` for each
number it recomputes, :func:`explain` for the value an explanation computes, and :func:`check` in
its last cell. Claims live once, in ``data/claims/<chapter>.yml``, validated on load::

    paper: Hoffmann et al. 2022            # default citation for every claim
    claims:
      - id: approach3_a_tex                # unique
        kind: paper                        # data | paper | test
        where: Table 2
        printed: 0.46                      # as printed; its digits set the default tolerance
        compare: eq                        # eq (default) | range ([low, high]) | ge | le | gt | lt
        tolerance: {abs: 0.01}             # optional: {abs: x} or {rel: x} ...
        reason: why it is looser            # ... and then a reason is required
        status: explained                  # reproduced (default) | explained | open | contradicted
        explanation: the rounding of alpha and beta   # explained: the cause the chapter computes
        hypotheses: [...]                  # open: what might explain the difference
        pin: 0.548                         # open / contradicted: our value, a regression guard
        pin_tolerance: {abs: 0.0005}       # default: half a unit of the pin's last digit
        source: ...                        # where the number is printed, if not in `paper`

Kinds: ``data`` (recomputed from data or our own rerun experiment), ``paper`` (recomputed from
other numbers the paper prints) and ``test`` (a statement of the paper tested on independent data).

Statuses (:func:`evaluate`): ``reproduced`` (ours within tolerance of the printed value);
``explained`` (ours differs, and the value that the chapter's computation of the stated cause gives,
recorded with :func:`explain`, matches the printed value); ``open`` (ours differs, no computed
explanation yet; our value is pinned); ``contradicted`` (a ``test`` claim that the independent
evidence refutes); ``failed`` (anything that does not behave as declared, a value never recorded,
or a value that is not a finite number). Only ``failed`` fails the chapter.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .paths import repo_root

__all__ = [
    "KINDS", "STATUSES", "Claim", "ClaimFailure", "ClaimsFileError", "load_claims", "evaluate", "matches_printed",
    "begin", "record", "explain", "values", "check", "results_dir", "default_tolerance",
]

KINDS = ("data", "paper", "test")
#: Declared statuses, in the order the scorecard shows them (most in need of attention first).
DECLARED = ("contradicted", "open", "explained", "reproduced")
STATUSES = ("failed", *DECLARED)
COMPARES = ("eq", "range", "ge", "le", "gt", "lt")
_KEYS = {
    "id", "kind", "where", "printed", "compare", "tolerance", "reason", "status", "explanation",
    "hypotheses", "pin", "pin_tolerance", "source", "paper", "note",
}
_REQUIRED = ("id", "kind", "where", "printed")


class ClaimFailure(AssertionError):
    """Raised by :func:`check` when a claim does not behave as declared."""


class ClaimsFileError(ValueError):
    """A claims file breaks the schema; the message names the file, the line and the claim."""


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    where: str
    printed: Any
    printed_text: str
    tolerance: dict[str, float]
    kind: str = "data"
    compare: str = "eq"
    reason: str = ""
    status: str = "reproduced"
    explanation: str = ""
    hypotheses: tuple[str, ...] = ()
    pin: float | None = None
    pin_tolerance: dict[str, float] | None = None
    source: str = ""
    line: int = 0


def default_tolerance(printed_text: str) -> dict[str, float]:
    """Half a unit of the last printed digit: ``"0.46" -> 0.005``, ``"1.5e-2" -> 0.0005``, ``"40" -> 0.5``."""
    try:
        exponent = Decimal(printed_text.strip()).as_tuple().exponent
    except InvalidOperation as exc:
        raise ValueError(f"printed value {printed_text!r} is not a number; give an explicit tolerance") from exc
    if not isinstance(exponent, int):
        raise ValueError(f"printed value {printed_text!r} is not a finite number")
    return {"abs": 0.5 * 10.0 ** exponent}


def _within(ours: float, target: float, tol: dict[str, float]) -> bool:
    if "abs" in tol and abs(ours - target) <= tol["abs"] * (1 + 1e-12):
        return True
    if "rel" in tol and abs(ours - target) <= tol["rel"] * abs(target) * (1 + 1e-12):
        return True
    return False


def claims_file(chapter: str, root: Path | None = None) -> Path:
    return (root or repo_root()) / "data" / "claims" / f"{chapter}.yml"


def _tolerance(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict) or not value or set(value) - {"abs", "rel"}:
        raise ClaimsFileError(f"{where}: a tolerance is {{abs: x}} or {{rel: x}} (or both), got {value!r}")
    out = {}
    for k, v in value.items():
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ClaimsFileError(f"{where}: tolerance {k} must be a number, got {v!r}") from None
        if not math.isfinite(x) or x <= 0:
            raise ClaimsFileError(f"{where}: tolerance {k} must be a positive finite number, got {v!r}")
        out[k] = x
    return out


def load_claims(chapter: str, root: Path | None = None) -> list[Claim]:
    """Read and validate ``data/claims/<chapter>.yml`` (an empty list if the chapter has none).

    Raises :class:`ClaimsFileError` naming the file, line and claim for: unknown keys, missing
    fields, bad tolerances, unknown kinds, statuses or comparisons, duplicate ids, a tolerance
    without a reason, an ``explained`` claim without an explanation, an ``open`` claim without
    hypotheses or pin, a ``contradicted`` claim that is not of kind ``test``.
    """
    path = claims_file(chapter, root)
    if not path.exists():
        return []
    text = path.read_text()
    try:
        typed = yaml.safe_load(text) or {}
        raw = yaml.load(text, Loader=yaml.BaseLoader) or {}  # every scalar as written: keeps "0.460"
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise ClaimsFileError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(typed, dict) or set(typed) - {"paper", "claims"}:
        raise ClaimsFileError(f"{path}: the top level has `paper` and `claims` only, got {sorted(typed)}")
    items = typed.get("claims") or []
    lines = []
    for k, v in node.value if node is not None else []:
        if k.value == "claims":
            lines = [n.start_mark.line + 1 for n in v.value]
    out: list[Claim] = []
    seen: set[str] = set()
    for i, (c, r) in enumerate(zip(items, raw.get("claims") or [], strict=True)):
        line = lines[i] if i < len(lines) else 0
        cid = c.get("id", "?") if isinstance(c, dict) else "?"
        where = f"{path}:{line}: claim {cid!r}"
        if not isinstance(c, dict):
            raise ClaimsFileError(f"{where}: each claim is a mapping of fields")
        unknown = set(c) - _KEYS
        if unknown:
            raise ClaimsFileError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(_KEYS)}")
        missing = [k for k in _REQUIRED if c.get(k) in (None, "")]
        if missing:
            raise ClaimsFileError(f"{where}: missing field(s) {missing}")
        if cid in seen:
            raise ClaimsFileError(f"{where}: claim id {cid!r} appears twice")
        seen.add(cid)
        kind, status, compare = c["kind"], c.get("status", "reproduced"), c.get("compare", "eq")
        if kind not in KINDS:
            raise ClaimsFileError(f"{where}: kind {kind!r} is not one of {KINDS}")
        if status not in DECLARED:
            raise ClaimsFileError(f"{where}: status {status!r} is not one of {DECLARED}")
        if compare not in COMPARES:
            raise ClaimsFileError(f"{where}: compare {compare!r} is not one of {COMPARES}")
        printed = _number(c["printed"])
        if compare == "range":
            if not (isinstance(printed, list) and len(printed) == 2 and all(isinstance(v, (int, float)) for v in printed)
                    and printed[0] <= printed[1]):
                raise ClaimsFileError(f"{where}: compare: range needs printed: [low, high], got {c['printed']!r}")
        elif not isinstance(printed, (int, float)) or isinstance(printed, bool) or not math.isfinite(printed):
            raise ClaimsFileError(f"{where}: printed must be a finite number, got {c['printed']!r}")
        if "tolerance" in c:
            if not str(c.get("reason", "")).strip():
                raise ClaimsFileError(f"{where}: a tolerance looser than the printed digits needs a `reason`")
            if compare != "eq":
                raise ClaimsFileError(f"{where}: a tolerance applies to compare: eq only")
            tol = _tolerance(c["tolerance"], where)
        elif compare == "eq":
            try:
                tol = default_tolerance(str(r["printed"]))
            except ValueError as exc:
                raise ClaimsFileError(f"{where}: {exc}") from None
        else:
            tol = {}
        if status == "explained" and not str(c.get("explanation", "")).strip():
            raise ClaimsFileError(f"{where}: an explained claim names its computed cause in `explanation`")
        hypotheses = c.get("hypotheses") or []
        if isinstance(hypotheses, str):
            hypotheses = [hypotheses]
        if status == "open" and not hypotheses:
            raise ClaimsFileError(f"{where}: an open claim lists its `hypotheses`")
        if status == "contradicted" and kind != "test":
            raise ClaimsFileError(f"{where}: only a `test` claim can be contradicted (this one is {kind!r})")
        pin = c.get("pin")
        if status in ("open", "contradicted"):
            if pin is None:
                raise ClaimsFileError(f"{where}: an {status} claim pins our value with `pin`")
            pin_f = _number(pin)
            if not isinstance(pin_f, (int, float)) or not math.isfinite(pin_f):
                raise ClaimsFileError(f"{where}: pin must be a finite number, got {pin!r}")
            pin_tol = (_tolerance(c["pin_tolerance"], where) if "pin_tolerance" in c
                       else default_tolerance(str(r["pin"])))
        elif pin is not None or "pin_tolerance" in c:
            raise ClaimsFileError(f"{where}: only open and contradicted claims carry a pin")
        else:
            pin_f, pin_tol = None, None
        out.append(
            Claim(
                id=cid,
                paper=str(c.get("paper", typed.get("paper", ""))),
                where=str(c["where"]),
                printed=printed,
                printed_text=str(r["printed"]),
                tolerance=tol,
                kind=kind,
                compare=compare,
                reason=str(c.get("reason", "")),
                status=status,
                explanation=str(c.get("explanation", "")),
                hypotheses=tuple(str(h) for h in hypotheses),
                pin=None if pin_f is None else float(pin_f),
                pin_tolerance=pin_tol,
                source=str(c.get("source", "")),
                line=line,
            )
        )
    return out


def _number(value: Any) -> Any:
    """YAML 1.1 reads ``1e-2`` or ``5e4`` (no dot, or no exponent sign) as strings: make them numbers."""
    if isinstance(value, list):
        return [_number(v) for v in value]
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _matches(claim: Claim, ours: float) -> bool:
    p = claim.printed
    if claim.compare == "eq":
        return _within(ours, float(p), claim.tolerance)
    if claim.compare == "range":
        lo, hi = (float(v) for v in p)
        return lo <= ours <= hi
    if claim.compare == "ge":
        return ours >= float(p)
    if claim.compare == "le":
        return ours <= float(p)
    if claim.compare == "gt":
        return ours > float(p)
    if claim.compare == "lt":
        return ours < float(p)
    raise ValueError(f"claim {claim.id}: unknown compare {claim.compare!r}")


def matches_printed(claim: Claim, value: float) -> bool:
    """Whether ``value`` agrees with the claim's printed value under its tolerance or comparison
    (whatever the declared status): e.g. to test an alternative procedure against the paper."""
    return _matches(claim, float(value))


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool) and math.isfinite(float(v))


def evaluate(claim: Claim, ours: Any, explanation_value: Any = None) -> tuple[str, str]:
    """Status and a short note for one claim given our value (``None`` = not recorded) and, for an
    ``explained`` claim, the value the chapter's computation of the explanation gives."""
    if ours is None:
        return "failed", "not recorded by the chapter"
    if not _finite(ours):
        return "failed", f"recorded value {ours!r} is not a finite number"
    ok = _matches(claim, float(ours))
    declared = claim.status
    if declared == "reproduced":
        return ("reproduced", claim.reason) if ok else ("failed", "outside tolerance of the printed value")
    if ok:
        return "failed", f"declared {declared}, but our value now matches the printed one: declare it reproduced"
    if declared == "explained":
        if explanation_value is None:
            return "failed", "an explained claim needs the explanation's value: call explain(id, value)"
        if not _finite(explanation_value):
            return "failed", f"the explanation's value {explanation_value!r} is not a finite number"
        if _matches(claim, float(explanation_value)):
            return "explained", claim.explanation
        return "failed", f"the explanation gives {float(explanation_value):.6g}, which does not match the printed value"
    assert claim.pin is not None and claim.pin_tolerance is not None
    if not _within(float(ours), claim.pin, claim.pin_tolerance):
        return "failed", f"our value moved from its pin {claim.pin:g}: look at what changed, then re-pin"
    if declared == "open":
        return "open", "; ".join(claim.hypotheses)
    return "contradicted", claim.reason or "the independent evidence refutes the statement"


# --------------------------------------------------------------------------- chapter state

_STATE: dict[str, Any] = {"chapter": None, "parameters": {}, "values": {}, "explanations": {}, "t0": None}


def results_dir() -> Path:
    """Where :func:`check` writes ``<chapter>.json``: ``$SCALINGLIB_RESULTS_DIR`` or ``<repo>/_build/results``."""
    env = os.environ.get("SCALINGLIB_RESULTS_DIR")
    return Path(env) if env else repo_root() / "_build" / "results"


def validate_parameters(parameters: dict[str, Any]) -> None:
    """The one rule for chapter parameters, checked by :func:`begin` before any work is done.

    ``quick`` is a bool; ``seed`` an integer >= 0; ``n_*`` counts (``n_bootstrap``, ``n_starts`` ...)
    integers >= 1 or ``None`` (= the chapter's default for its mode); names that carry a unit
    (``*flops*``, ``*tokens*``, ``*params*``, ``budget*``) positive finite numbers or ``None``.
    """
    for name, v in parameters.items():
        if name == "quick":
            if not isinstance(v, bool):
                raise ValueError(f"parameter quick must be True or False, got {v!r}")
        elif name == "seed" or name.endswith("_seed"):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"parameter {name} must be an integer >= 0, got {v!r}")
        elif name.startswith("n_"):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
                raise ValueError(f"parameter {name} must be an integer >= 1 (or None for the default), got {v!r}")
        elif any(u in name for u in ("flops", "tokens", "params", "budget")):
            if v is None:
                continue
            vals = v if isinstance(v, (list, tuple)) else [v]
            if not vals or any(isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating))
                               or not math.isfinite(float(x)) or x <= 0 for x in vals):
                raise ValueError(f"parameter {name} must be a positive finite number (or a list of them), got {v!r}")


def begin(chapter: str, **parameters: Any) -> None:
    """Start a chapter: check its parameters (:func:`validate_parameters`), forget earlier records,
    remember the chapter's name and parameters."""
    if not isinstance(chapter, str) or not chapter:
        raise ValueError(f"chapter must be a non-empty name, got {chapter!r}")
    validate_parameters(parameters)
    _STATE.update(chapter=chapter, parameters=dict(parameters), values={}, explanations={}, t0=time.perf_counter())


def _py(value: Any) -> Any:
    """numpy scalars and arrays (also inside lists and tuples) as Python numbers and lists."""
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_py(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars and arrays to Python, non-finite floats to ``None``."""
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _store(kind: str, claim_id: str, value: Any) -> Any:
    if _STATE["chapter"] is None:
        raise RuntimeError(f"call scalinglib.claims.begin('<chapter>') before {kind}()")
    if not isinstance(claim_id, str) or not claim_id:
        raise ValueError(f"claim_id must be a non-empty string, got {claim_id!r}")
    value = _py(value)
    _STATE["values" if kind == "record" else "explanations"][claim_id] = value
    return value


def record(claim_id: str, value: Any, glue: bool = True) -> Any:
    """Store a computed value under ``claim_id`` (and glue it, so prose can show it with ``{glue}``)."""
    value = _store("record", claim_id, value)
    if glue and _in_ipython():
        # Outside IPython there is nothing to glue into, and myst_nb's glue would create a stray
        # InteractiveShell (which then made check() display a Styler repr instead of the table).
        try:
            from myst_nb import glue as _glue

            _glue(claim_id, value, display=False)
        except ImportError:  # pragma: no cover - myst_nb is a dependency of the book
            pass
    return value


def explain(claim_id: str, value: Any, glue: bool = True) -> Any:
    """Store the value that the chapter's computation of a claim's stated cause gives (the paper's
    rounding, the authors' convention or procedure). An ``explained`` claim is explained only if
    this value matches the printed one; glued as ``<claim_id>__explanation``."""
    value = _store("explain", claim_id, value)
    if glue and _in_ipython():
        try:
            from myst_nb import glue as _glue

            _glue(f"{claim_id}__explanation", value, display=False)
        except ImportError:  # pragma: no cover
            pass
    return value


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return False
    return get_ipython() is not None


def values() -> dict[str, Any]:
    return dict(_STATE["values"])


def _table(rows: list[dict[str, Any]]) -> str:
    cols = ["id", "kind", "where", "printed", "ours", "status", "note"]
    cells = [[str(r[c]) if c != "ours" else _fmt(r[c]) for c in cols] for r in rows]
    widths = [min(max(len(c), *(len(x[i]) for x in cells)) if cells else len(c), 60) for i, c in enumerate(cols)]
    # The note (last column) is never cut: it says what to do about a failure.
    def line(xs: list[str]) -> str:
        return "  ".join([*(x[:w].ljust(w) for x, w in zip(xs[:-1], widths[:-1], strict=True)), xs[-1]])

    return "\n".join([line(cols), line(["-" * w for w in widths])] + [line(x) for x in cells])


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def check(chapter: str | None = None, *, root: Path | None = None) -> list[dict[str, Any]]:
    """Compare every claim of the chapter with the recorded values, write ``<chapter>.json``, and
    raise :class:`ClaimFailure` with a readable table if any claim failed.

    The JSON holds the parameters, every recorded value, each claim's row (``kind``, ``status``,
    ``explanation_value`` for explained claims) and ``unclaimed``: recorded ids that no claim names.
    """
    chapter = chapter or _STATE["chapter"]
    if chapter is None:
        raise RuntimeError("call scalinglib.claims.begin('<chapter>') first")
    recorded = _STATE["values"]
    explanations = _STATE["explanations"]
    claims = load_claims(chapter, root)
    rows = []
    for claim in claims:
        ours = recorded.get(claim.id)
        status, note = evaluate(claim, ours, explanations.get(claim.id))
        row = {
            "id": claim.id,
            "kind": claim.kind,
            "paper": claim.paper,
            "where": claim.where,
            "printed": claim.printed,
            "compare": claim.compare,
            "ours": ours,
            "tolerance": claim.tolerance,
            "declared": claim.status,
            "status": status,
            "note": note,
        }
        if claim.status == "explained":
            row["explanation"] = claim.explanation
            row["explanation_value"] = explanations.get(claim.id)
        if claim.status in ("open", "contradicted"):
            row["hypotheses"] = list(claim.hypotheses)
            row["pin"] = claim.pin
            row["pin_tolerance"] = claim.pin_tolerance
        if claim.source:
            row["source"] = claim.source
        rows.append(row)
    ids = {c.id for c in claims}
    stray = sorted(set(explanations) - ids)
    if stray:
        raise ClaimFailure(f"explain() was called for {stray}, which no claim of {chapter!r} names")
    t0 = _STATE["t0"]
    payload = {
        "chapter": chapter,
        "parameters": _STATE["parameters"],
        "seconds": None if t0 is None else round(time.perf_counter() - t0, 3),
        "values": recorded,
        "unclaimed": sorted(set(recorded) - ids),
        "claims": rows,
    }
    out = results_dir()
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{chapter}.json.tmp"
    tmp.write_text(json.dumps(_plain(payload), indent=1, allow_nan=False))
    tmp.replace(out / f"{chapter}.json")
    _display(rows)
    failed = [r for r in rows if r["status"] == "failed"]
    if failed:
        raise ClaimFailure(f"{len(failed)} of {len(rows)} claims of {chapter!r} failed:\n{_table(failed)}")
    return rows


def _display(rows: list[dict[str, Any]]) -> None:
    try:
        import pandas as pd
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is None:
            raise ImportError
    except ImportError:
        print(_table(rows))
        return
    df = pd.DataFrame(rows)[["id", "kind", "where", "printed", "ours", "status", "note"]] if rows else pd.DataFrame()
    display(df.style.hide(axis="index").format({"ours": _fmt}) if rows else df)
