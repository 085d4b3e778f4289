"""The scorecard at a glance: every claim's deviation from its printed value, one facet per chapter.

A claim row is what :func:`scalinglib.claims.check` writes into a chapter's result JSON (``id, where,
printed, ours, tolerance, status, kind, compare``). Its **deviation** (:func:`claim_deviation`) is how
far our value lies from what the paper prints, in units of the claim's tolerance:

* ``compare: eq``: ``(ours - printed) / tol``, with ``tol`` the larger of ``abs`` and
  ``rel * |printed|`` (the claim matches when ``|deviation| <= 1``);
* ``range [lo, hi]``: 0 inside the range, else the distance to the nearer end over ``tol``;
* ``le`` / ``lt`` (``ge`` / ``gt``): 0 when the inequality holds, else ``(ours - printed) / tol``
  (positive above a ceiling, negative below a floor).

A claim without a tolerance (ranges and inequalities usually have none) is measured in the default unit
of the book: half a unit of the last printed digit (:func:`scalinglib.claims.default_tolerance`).

:func:`scorecard_chart` draws the deviations as a strip per chapter, clipped to ``±clip`` (a clipped
point is drawn as a triangle), coloured by status, with the tolerance band ``[-1, 1]`` marked and
tooltips naming the claim, where the paper prints it, the printed and our value.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

from .claims import default_tolerance

__all__ = ["STATUS_COLORS", "claim_deviation", "deviation_table", "scorecard_chart"]

STATUS_COLORS: dict[str, str] = {
    "reproduced": "#2ca02c",
    "explained": "#1f77b4",
    "open": "#ff7f0e",
    "contradicted": "#9467bd",
    "failed": "#d62728",
}
"""One colour per claim status, in the order the legend shows them."""

_COMPARES = ("eq", "range", "ge", "le", "gt", "lt")


def _num(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, got {value!r}")  # noqa: TRY004 - house rule: ValueError naming the argument
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return x


def _tol(tolerance: Any, target: float, printed_text: str, claim_id: str) -> float:
    """The tolerance in absolute units at ``target``: ``max(abs, rel * |target|)``, or the default unit."""
    if tolerance:
        if not isinstance(tolerance, Mapping) or set(tolerance) - {"abs", "rel"}:
            raise ValueError(f"row {claim_id!r}: tolerance must be {{abs: x}} and/or {{rel: x}}, got {tolerance!r}")
        parts = []
        if "abs" in tolerance:
            parts.append(_num(tolerance["abs"], f"row {claim_id!r}: tolerance abs"))
        if "rel" in tolerance:
            parts.append(_num(tolerance["rel"], f"row {claim_id!r}: tolerance rel") * abs(target))
        return max(parts)
    return default_tolerance(printed_text)["abs"]


def claim_deviation(row: Mapping[str, Any]) -> float:
    """Signed deviation of ``row["ours"]`` from ``row["printed"]`` in units of the tolerance (see the
    module docstring). Raises ``ValueError`` naming the row when ``ours`` or ``printed`` is missing or not
    a number, or ``compare`` is unknown."""
    claim_id = str(row.get("id", "?"))
    compare = row.get("compare") or "eq"
    if compare not in _COMPARES:
        raise ValueError(f"row {claim_id!r}: compare must be one of {_COMPARES}, got {compare!r}")
    ours = _num(row.get("ours"), f"row {claim_id!r}: ours")
    printed = row.get("printed")
    tolerance = row.get("tolerance") or {}
    if compare == "range":
        if not isinstance(printed, Sequence) or isinstance(printed, str) or len(printed) != 2:
            raise ValueError(f"row {claim_id!r}: a range claim prints [low, high], got {printed!r}")
        lo = _num(printed[0], f"row {claim_id!r}: printed low")
        hi = _num(printed[1], f"row {claim_id!r}: printed high")
        if lo <= ours <= hi:
            return 0.0
        bound, text = (lo, str(printed[0])) if ours < lo else (hi, str(printed[1]))
        tol = _tol(tolerance, bound, text, claim_id)
        return (ours - bound) / tol if tol > 0 else math.copysign(math.inf, ours - bound)
    p = _num(printed, f"row {claim_id!r}: printed")
    if compare in ("le", "lt") and (ours <= p if compare == "le" else ours < p):
        return 0.0
    if compare in ("ge", "gt") and (ours >= p if compare == "ge" else ours > p):
        return 0.0
    tol = _tol(tolerance, p, str(printed), claim_id)
    if tol <= 0:
        return 0.0 if ours == p else math.copysign(math.inf, ours - p)
    return (ours - p) / tol


def _jitter(key: str) -> float:
    """A deterministic offset in [-0.4, 0.4] from a claim's id (separates points in a strip)."""
    h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")
    return (h / 2**32 - 0.5) * 0.8


def _text(value: Any) -> str:
    if value is None:
        return "not recorded"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_text(v)}" for k, v in value.items()) or "default"
    return str(value)


def deviation_table(rows: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Mapping[str, Any]]], clip: float = 5.0) -> pd.DataFrame:
    """One row per claim: ``chapter, id, where, printed, ours, tolerance, compare, kind, status,
    deviation`` (unclipped; ``NaN`` for a failed claim without a usable value), ``shown`` (clipped to ``±clip``; a
    claim without a value is shown at ``+clip``), ``clipped``, ``beyond`` (``no``, ``left``, ``right``:
    where a clipped point lies) and ``jitter`` (a fixed vertical offset per claim).

    ``rows`` is a list of claim rows that each carry a ``chapter``, or a mapping ``chapter -> rows``.
    """
    if not (isinstance(clip, (int, float)) and math.isfinite(clip) and clip > 1):
        raise ValueError(f"clip must be a finite number > 1, got {clip!r}")
    if isinstance(rows, Mapping):
        flat = []
        for ch, rs in rows.items():
            for i, r in enumerate(rs):
                if not isinstance(r, Mapping):
                    raise ValueError(f"rows[{ch!r}][{i}] must be a mapping (a claim row), got {type(r).__name__}")  # noqa: TRY004 - house rule: ValueError naming the argument
                flat.append({**r, "chapter": ch})
    elif isinstance(rows, Sequence) and not isinstance(rows, (str, bytes)):
        flat = list(rows)
    else:
        raise ValueError(f"rows must be a list of claim rows or a mapping chapter -> rows, got {type(rows).__name__}")  # noqa: TRY004 - house rule: ValueError naming the argument
    out = []
    for i, r in enumerate(flat):
        if not isinstance(r, Mapping):
            raise ValueError(f"rows[{i}] must be a mapping (a claim row), got {type(r).__name__}")  # noqa: TRY004 - house rule: ValueError naming the argument
        missing = [k for k in ("chapter", "id", "status") if k not in r]
        if missing:
            raise ValueError(f"rows[{i}] ({r.get('id', '?')!r}) lacks {missing}")
        status = str(r["status"])
        if status not in STATUS_COLORS:
            raise ValueError(f"rows[{i}] ({r['id']!r}): status must be one of {list(STATUS_COLORS)}, got {status!r}")
        if status == "failed":  # a failed claim may have no usable value (not recorded, NaN, a string)
            try:
                dev = claim_deviation(r)
            except ValueError:
                dev = math.nan
        else:
            dev = claim_deviation(r)
        shown = clip if math.isnan(dev) else max(-clip, min(clip, dev))
        out.append({
            "chapter": str(r["chapter"]),
            "id": str(r["id"]),
            "where": str(r.get("where", "")),
            "printed": _text(r.get("printed")),
            "ours": _text(r.get("ours")),
            "tolerance": _text(r.get("tolerance") or {}),
            "compare": str(r.get("compare") or "eq"),
            "kind": str(r.get("kind", "")),
            "status": status,
            "deviation": dev,
            "shown": shown,
            "clipped": bool(math.isnan(dev) or abs(dev) > clip),
            "beyond": "right" if (math.isnan(dev) or dev > clip) else ("left" if dev < -clip else "no"),
            "jitter": _jitter(f"{r['chapter']}/{r['id']}"),
        })
    cols = ["chapter", "id", "where", "printed", "ours", "tolerance", "compare", "kind", "status",
            "deviation", "shown", "clipped", "beyond", "jitter"]
    return pd.DataFrame(out, columns=cols)


def scorecard_chart(
    rows: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    clip: float = 5.0,
    width: int = 620,
    row_height: int = 46,
) -> alt.FacetChart:
    """Every claim's deviation from its printed value, in units of its tolerance, one strip per chapter.

    ``rows``: claim rows with a ``chapter`` each, or a mapping ``chapter -> rows`` (the ``claims`` of
    each chapter's result JSON). The x axis runs from ``-clip`` to ``clip`` with rules at ``-1, 0, 1``
    (inside the rules: within tolerance); points beyond are drawn at the edge as triangles. Colour:
    status. Tooltip: chapter, claim id, where printed, printed, ours, tolerance, comparison, deviation.
    Chapters keep the order in which they first appear in ``rows``.
    """
    df = deviation_table(rows, clip)
    if df.empty:
        raise ValueError("rows holds no claims")
    df["deviation (tolerances)"] = df["deviation"].map(lambda d: "not recorded" if math.isnan(d) else f"{d:+.3g}")
    df = df.drop(columns=["deviation"])
    chapters = list(dict.fromkeys(df["chapter"]))
    statuses = [s for s in STATUS_COLORS if s in set(df["status"])] or list(STATUS_COLORS)
    x = alt.X("shown:Q", title=f"deviation from the printed value, in tolerances (clipped at ±{clip:g})",
              scale=alt.Scale(domain=[-clip, clip], nice=False),
              axis=alt.Axis(values=list(range(-math.floor(clip), math.floor(clip) + 1)), format="d"))
    y = alt.Y("jitter:Q", axis=None, scale=alt.Scale(domain=[-0.5, 0.5]))
    color = alt.Color("status:N", title="status",
                      scale=alt.Scale(domain=list(STATUS_COLORS), range=list(STATUS_COLORS.values())),
                      legend=alt.Legend(orient="top", values=statuses))
    shape = alt.Shape("beyond:N", title="beyond the axis",
                      scale=alt.Scale(domain=["no", "right", "left"], range=["circle", "triangle-right", "triangle-left"]),
                      legend=None)
    tips = [alt.Tooltip(c) for c in ("chapter", "id", "where", "printed", "ours", "tolerance", "compare",
                                     "kind", "status", "deviation (tolerances)")]
    rules = alt.Chart().mark_rule(color="#999", strokeDash=[4, 3]).encode(x=alt.datum(-1.0))
    rules_hi = alt.Chart().mark_rule(color="#999", strokeDash=[4, 3]).encode(x=alt.datum(1.0))
    zero = alt.Chart().mark_rule(color="#555").encode(x=alt.datum(0.0))
    points = alt.Chart().mark_point(filled=True, size=60, opacity=0.85).encode(x, y, color=color, shape=shape, tooltip=tips)
    layered = alt.layer(rules, rules_hi, zero, points, data=df).properties(width=width, height=row_height)
    return layered.facet(
        row=alt.Row("chapter:N", sort=chapters, title=None,
                    header=alt.Header(labelAngle=0, labelAlign="left", labelFontSize=13, labelFontWeight="bold")),
        spacing=6,
    ).properties(title="Every claim against its printed value")
