"""Tests for scalinglib.scorecard_plot: claim deviations in tolerance units and the faceted chart."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglib.scorecard_plot import STATUS_COLORS, claim_deviation, deviation_table, scorecard_chart

SETTINGS = settings(max_examples=60, deadline=None)
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
positive = st.floats(min_value=1e-6, max_value=1e3)


def row(**kw):
    base = {"id": "c", "where": "Table 1", "printed": 0.5, "ours": 0.5, "tolerance": {"abs": 0.005},
            "status": "reproduced", "kind": "paper", "compare": "eq"}
    base.update(kw)
    return base


# --------------------------------------------------------------------------- deviations


def test_eq_deviation_in_tolerance_units():
    assert claim_deviation(row(ours=0.51)) == pytest.approx(2.0)
    assert claim_deviation(row(ours=0.4975)) == pytest.approx(-0.5)
    # rel tolerance scales with the printed value; with both, the looser one counts (as in claims._within)
    assert claim_deviation(row(printed=200.0, ours=210.0, tolerance={"rel": 0.1})) == pytest.approx(0.5)
    assert claim_deviation(row(printed=200.0, ours=210.0, tolerance={"abs": 1.0, "rel": 0.01})) == pytest.approx(5.0)


@SETTINGS
@given(printed=finite, ours=finite, tol=positive)
def test_eq_within_tolerance_iff_deviation_at_most_one(printed, ours, tol):
    d = claim_deviation(row(printed=printed, ours=ours, tolerance={"abs": tol}))
    assert (abs(d) <= 1 + 1e-9) == (abs(ours - printed) <= tol * (1 + 1e-9))
    assert math.copysign(1, d) == math.copysign(1, ours - printed) or d == 0


def test_default_tolerance_is_half_the_last_printed_digit():
    assert claim_deviation(row(printed=0.46, ours=0.47, tolerance={})) == pytest.approx(2.0)
    assert claim_deviation(row(printed=40, ours=41, tolerance=None)) == pytest.approx(2.0)


@SETTINGS
@given(lo=finite, width=positive, ours=finite)
def test_range_is_zero_inside_and_signed_outside(lo, width, ours):
    hi = lo + width
    d = claim_deviation(row(printed=[lo, hi], ours=ours, compare="range", tolerance={"abs": 0.1}))
    if lo <= ours <= hi:
        assert d == 0
    elif ours < lo:
        assert d == pytest.approx((ours - lo) / 0.1)
    else:
        assert d == pytest.approx((ours - hi) / 0.1)


@pytest.mark.parametrize(
    "compare, ours, expected",
    [("le", 1.0, 0.0), ("le", 1.26, 2.0), ("lt", 1.25, 0.0), ("ge", 1.3, 0.0), ("ge", 1.24, -2.0),
     ("gt", 1.25, 0.0), ("lt", 1.26, 2.0), ("gt", 1.2, -10.0)],
)
def test_one_sided(compare, ours, expected):
    d = claim_deviation(row(printed=1.25, ours=ours, compare=compare, tolerance={}))
    assert d == pytest.approx(expected)


@pytest.mark.parametrize(
    "bad, match",
    [({"ours": None}, "ours"), ({"ours": "x"}, "ours"), ({"ours": float("nan")}, "ours"),
     ({"printed": "abc"}, "printed"), ({"compare": "approx"}, "compare"),
     ({"compare": "range", "printed": 1.0}, "range"), ({"tolerance": {"abs": "wide"}}, "tolerance"),
     ({"tolerance": {"pct": 1}}, "tolerance")],
)
def test_deviation_guards_name_the_problem(bad, match):
    with pytest.raises(ValueError, match=match):
        claim_deviation(row(**bad))


# --------------------------------------------------------------------------- table and chart


def sample():
    return {
        "hestness": [row(id="a", ours=0.5), row(id="b", ours=0.9, status="open"),
                     row(id="c", ours=0.2, printed=[0.5, 0.8], compare="range", status="contradicted", tolerance={})],
        "chinchilla": [row(id="d", ours=0.51, status="explained"), row(id="e", ours=None, status="failed")],
    }


def test_table_clips_and_marks_the_side():
    t = deviation_table(sample(), clip=5.0).set_index("id")
    assert t.loc["a", "shown"] == 0 and t.loc["a", "beyond"] == "no"
    assert t.loc["b", "deviation"] == pytest.approx(80.0) and t.loc["b", "shown"] == 5.0 and t.loc["b", "beyond"] == "right"
    assert t.loc["c", "deviation"] == pytest.approx(-6.0)  # default unit of "0.5": 0.05
    assert t.loc["c", "shown"] == -5.0 and t.loc["c", "beyond"] == "left"
    assert math.isnan(t.loc["e", "deviation"]) and t.loc["e", "shown"] == 5.0 and t.loc["e", "ours"] == "not recorded"
    assert list(t["chapter"].unique()) == ["hestness", "chinchilla"]
    assert t["jitter"].between(-0.4, 0.4).all()
    # a flat list with a chapter on each row gives the same table
    flat = [{**r, "chapter": ch} for ch, rs in sample().items() for r in rs]
    assert deviation_table(flat).equals(deviation_table(sample()))


def test_table_is_deterministic():
    assert deviation_table(sample()).equals(deviation_table(sample()))


@pytest.mark.parametrize(
    "rows, match",
    [("abc", "rows"), ([row()], "chapter"), ({"x": [row(status="great")]}, "status"), ({"x": ["row"]}, "mapping")],
)
def test_table_guards(rows, match):
    with pytest.raises(ValueError, match=match):
        deviation_table(rows)


@pytest.mark.parametrize("clip", [1.0, 0.0, float("inf"), "5"])
def test_clip_guard(clip):
    with pytest.raises(ValueError, match="clip"):
        deviation_table(sample(), clip=clip)


def test_empty_rows_rejected():
    with pytest.raises(ValueError, match="no claims"):
        scorecard_chart({})


def test_chart_spec_one_facet_per_chapter_with_tooltips_and_status_colours():
    spec = scorecard_chart(sample()).to_dict()
    assert spec["facet"]["row"]["field"] == "chapter"
    assert spec["facet"]["row"]["sort"] == ["hestness", "chinchilla"]
    values = spec["datasets"][spec["data"]["name"]]
    assert {v["chapter"] for v in values} == {"hestness", "chinchilla"}
    points = [layer for layer in spec["spec"]["layer"] if "tooltip" in layer.get("encoding", {})]
    assert len(points) == 1
    enc = points[0]["encoding"]
    assert enc["x"]["field"] == "shown"
    assert {t["field"] for t in enc["tooltip"]} >= {"id", "where", "printed", "ours", "status", "chapter"}
    assert enc["color"]["scale"]["domain"] == list(STATUS_COLORS)
    assert enc["color"]["scale"]["range"] == list(STATUS_COLORS.values())
    # rules at the tolerance band and at zero
    rule_x = sorted(layer["encoding"]["x"]["datum"] for layer in spec["spec"]["layer"] if layer["mark"]["type"] == "rule")
    assert rule_x == [-1.0, 0.0, 1.0]


def test_chart_is_offline_data_inline():
    text = json.dumps(scorecard_chart(sample()).to_dict())
    assert "http://" not in text.replace("https://vega.github.io/schema", "") and '"url"' not in text


def test_failed_rows_without_a_usable_value_are_shown_at_the_edge():
    rows = {"x": [row(id="nan", ours=float("nan"), status="failed"), row(id="s", ours="oops", status="failed"),
                  row(id="ok", ours=0.6, status="failed")]}
    t = deviation_table(rows).set_index("id")
    assert math.isnan(t.loc["nan", "deviation"]) and t.loc["nan", "shown"] == 5.0
    assert math.isnan(t.loc["s", "deviation"]) and t.loc["s", "beyond"] == "right"
    assert t.loc["ok", "deviation"] == pytest.approx(20.0)
    with pytest.raises(ValueError, match="ours"):  # a declared status with a broken value is a real error
        deviation_table({"x": [row(ours="oops", status="reproduced")]})
