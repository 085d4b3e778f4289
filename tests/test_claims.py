"""Unit tests for scalinglib.claims: default tolerances from printed digits, statuses, comparisons,
the JSON that check() writes and the ClaimFailure table."""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest

from scalinglib import claims
from scalinglib.claims import Claim, ClaimFailure, begin, check, default_tolerance, evaluate, load_claims, record


def write_claims(root, chapter: str, text: str) -> None:
    path = root / "data" / "claims" / f"{chapter}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def claim(**kw) -> Claim:
    base = dict(id="c", paper="P", where="Table 1", printed=0.46, printed_text="0.46", tolerance={"abs": 0.005})
    return Claim(**{**base, **kw})


@pytest.fixture
def results(tmp_path, monkeypatch):
    out = tmp_path / "results"
    monkeypatch.setenv("SCALINGLIB_RESULTS_DIR", str(out))
    monkeypatch.setenv("SCALINGLIB_ROOT", str(tmp_path))
    return out


# --------------------------------------------------------------------------- default tolerance


@pytest.mark.parametrize(
    "printed, tol",
    [
        ("0.46", 0.005),
        ("1.5e-2", 5e-4),
        ("40", 0.5),
        ("0.460", 5e-4),
        ("0.95", 0.005),
        ("-3.2", 0.05),
        ("1.50E+3", 5.0),
        ("7", 0.5),
        (" 2.0 ", 0.05),
    ],
)
def test_default_tolerance_is_half_a_unit_of_the_last_digit(printed, tol):
    got = default_tolerance(printed)
    assert set(got) == {"abs"}
    assert got["abs"] == pytest.approx(tol, rel=1e-12)


def test_default_tolerance_rejects_non_numbers():
    with pytest.raises(ValueError, match="explicit tolerance"):
        default_tolerance("about 0.5")


# --------------------------------------------------------------------------- loading


def test_load_claims_reads_printed_digits_as_written(tmp_path):
    write_claims(
        tmp_path,
        "ch",
        """
        paper: Default Paper 2020
        claims:
          - id: a
            kind: data
            where: Table 2
            printed: 0.460
          - id: b
            kind: data
            where: Sec. 3
            printed: 1.5e-2
          - id: c
            kind: data
            where: Fig. 1
            printed: 40
          - id: d
            kind: data
            paper: Other Paper 2021
            where: eq. 4
            printed: 0.46
            tolerance: {rel: 0.1}
            reason: read off a figure
          - id: e
            kind: data
            where: Fig. 2
            printed: [0.1, 0.3]
            compare: range
          - id: f
            kind: data
            where: Sec. 5
            printed: 5e-4
        """,
    )
    cs = {c.id: c for c in load_claims("ch", tmp_path)}
    assert list(cs) == ["a", "b", "c", "d", "e", "f"]
    assert cs["a"].printed_text == "0.460" and cs["a"].tolerance == {"abs": pytest.approx(5e-4)}
    assert cs["a"].printed == pytest.approx(0.46)
    assert cs["b"].tolerance == {"abs": pytest.approx(5e-4)} and cs["b"].printed == pytest.approx(0.015)
    assert cs["c"].tolerance == {"abs": 0.5}
    assert cs["d"].tolerance == {"rel": 0.1} and cs["d"].reason == "read off a figure"
    assert cs["a"].paper == "Default Paper 2020" and cs["d"].paper == "Other Paper 2021"
    assert cs["e"].compare == "range" and cs["e"].printed == [0.1, 0.3]
    # YAML 1.1 reads 5e-4 as a string; the harness still treats it as the number it is.
    assert cs["f"].printed == 5e-4 and cs["f"].tolerance == {"abs": pytest.approx(5e-5)}


def test_load_claims_missing_file_is_empty(tmp_path):
    assert load_claims("nothing", tmp_path) == []


def test_load_claims_rejects_duplicate_ids(tmp_path):
    write_claims(
        tmp_path,
        "ch",
        """
        claims:
          - {id: a, kind: data, where: T1, printed: 1.0}
          - {id: a, kind: data, where: T2, printed: 2.0}
        """,
    )
    with pytest.raises(ValueError, match="appears twice"):
        load_claims("ch", tmp_path)


def test_load_claims_open_fields(tmp_path):
    write_claims(
        tmp_path,
        "ch",
        """
        claims:
          - id: a
            kind: data
            where: Table 2
            printed: 0.46
            status: open
            hypotheses: [rounding of alpha and beta]
            pin: 0.4516
            pin_tolerance: {abs: 0.0005}
        """,
    )
    (c,) = load_claims("ch", tmp_path)
    assert c.status == "open" and c.hypotheses == ("rounding of alpha and beta",)
    assert c.pin == 0.4516 and c.pin_tolerance == {"abs": 0.0005}


# --------------------------------------------------------------------------- evaluate


def test_reproduced_within_tolerance_and_failed_outside():
    c = claim()
    assert evaluate(c, 0.46)[0] == "reproduced"
    assert evaluate(c, 0.464)[0] == "reproduced"
    assert evaluate(c, 0.465)[0] == "reproduced"  # the boundary is inclusive
    assert evaluate(c, 0.4551)[0] == "reproduced"
    assert evaluate(c, 0.466) == ("failed", "outside tolerance of the printed value")
    assert evaluate(c, 0.45)[0] == "failed"
    assert evaluate(c, np.float64(0.461))[0] == "reproduced"
    assert evaluate(claim(printed=40, printed_text="40", tolerance={"abs": 0.5}), 40)[0] == "reproduced"


def test_relative_tolerance_and_reason_as_note():
    c = claim(printed=100.0, printed_text="100", tolerance={"rel": 0.05}, reason="digitised")
    assert evaluate(c, 104.9) == ("reproduced", "digitised")
    assert evaluate(c, 94.0)[0] == "failed"


@pytest.mark.parametrize("ours, note", [(None, "not recorded"), (math.nan, "not a finite"), (math.inf, "not a finite"),
                                        ([0.46, 0.47], "not a finite"), ("0.46", "not a finite")])
def test_unusable_values_fail(ours, note):
    status, msg = evaluate(claim(), ours)
    assert status == "failed" and note in msg


def test_explained_needs_the_computed_explanation_to_match_the_printed_value():
    c = claim(status="explained", explanation="rounded exponents")
    assert evaluate(c, 0.40, 0.4612) == ("explained", "rounded exponents")
    status, note = evaluate(c, 0.40, 0.47)
    assert status == "failed" and "does not match the printed value" in note
    status, note = evaluate(c, 0.40)
    assert status == "failed" and "explain(" in note
    assert evaluate(c, 0.40, math.nan)[0] == "failed"


def test_declared_status_that_now_matches_fails():
    for c in (claim(status="explained", explanation="x"), claim(status="open", hypotheses=("h",), pin=0.46,
              pin_tolerance={"abs": 0.005})):
        status, note = evaluate(c, 0.46, 0.46)
        assert status == "failed" and "declare it reproduced" in note


def test_open_is_pinned_and_contradicted_is_a_test():
    c = claim(status="open", hypotheses=("h1", "h2"), pin=0.40, pin_tolerance={"abs": 0.001})
    assert evaluate(c, 0.4005) == ("open", "h1; h2")
    status, note = evaluate(c, 0.41)
    assert status == "failed" and "moved from its pin" in note
    t = claim(kind="test", status="contradicted", pin=0.40, pin_tolerance={"abs": 0.001}, reason="p = 1e-5")
    assert evaluate(t, 0.4) == ("contradicted", "p = 1e-5")


def test_compare_range_ge_le_gt_lt():
    rng = claim(compare="range", printed=[0.1, 0.3], printed_text="[0.1, 0.3]", tolerance={"abs": 0.0})
    assert [evaluate(rng, v)[0] for v in (0.1, 0.2, 0.3, 0.31, 0.09)] == ["reproduced"] * 3 + ["failed"] * 2
    ge = claim(compare="ge", printed=2.0, printed_text="2", tolerance={"abs": 0.0})
    assert [evaluate(ge, v)[0] for v in (2.0, 5.0, 1.99)] == ["reproduced", "reproduced", "failed"]
    le = claim(compare="le", printed=2.0, printed_text="2", tolerance={"abs": 0.0})
    assert [evaluate(le, v)[0] for v in (2.0, -1.0, 2.01)] == ["reproduced", "reproduced", "failed"]
    gt = claim(compare="gt", printed=2.0, printed_text="2", tolerance={"abs": 0.0})
    assert [evaluate(gt, v)[0] for v in (2.0, 2.01)] == ["failed", "reproduced"]
    lt = claim(compare="lt", printed=2.0, printed_text="2", tolerance={"abs": 0.0})
    assert [evaluate(lt, v)[0] for v in (2.0, 1.99)] == ["failed", "reproduced"]
    with pytest.raises(ValueError, match="unknown compare"):
        evaluate(claim(compare="approx"), 0.46)


# --------------------------------------------------------------------------- begin / record / check

YAML = """
paper: Test et al. 2020
claims:
  - id: good
    kind: data
    where: Table 1
    printed: 0.46
  - id: declared
    kind: data
    where: Fig. 2
    printed: 1.0
    status: open
    hypotheses: [our explanation]
    pin: 2.0
    pin_tolerance: {abs: 0.01}
  - id: bounded
    kind: data
    where: Sec. 3
    printed: [1, 2]
    compare: range
"""


def test_record_before_begin_raises(monkeypatch):
    monkeypatch.setitem(claims._STATE, "chapter", None)
    with pytest.raises(RuntimeError, match="begin"):
        record("x", 1.0)


def test_record_converts_numpy_and_begin_resets():
    begin("ch", quick=True)
    assert record("a", np.float64(0.5)) == 0.5 and type(claims.values()["a"]) is float
    assert record("b", np.array([1.0, 2.0])) == [1.0, 2.0]
    assert record("c", (np.int64(3), np.float32(0.25))) == [3, 0.25]
    begin("ch")
    assert claims.values() == {}


def test_record_outside_ipython_creates_no_shell():
    from IPython.core.interactiveshell import InteractiveShell

    if InteractiveShell.initialized():
        pytest.skip("an IPython shell already exists in this process")
    begin("ch")
    record("a", 1.0)
    assert not InteractiveShell.initialized()


def test_check_writes_the_documented_json(tmp_path, results, capsys):
    write_claims(tmp_path, "ch", YAML)
    begin("ch", quick=True, n_bootstrap=10)
    record("good", 0.4612)
    record("declared", 2.004)
    record("bounded", np.float64(1.5))
    record("extra", [1, 2, 3])  # values that are no claim are kept too
    rows = check(root=tmp_path)
    assert [r["status"] for r in rows] == ["reproduced", "open", "reproduced"]
    payload = json.loads((results / "ch.json").read_text())
    assert set(payload) == {"chapter", "parameters", "seconds", "values", "unclaimed", "claims"}
    assert payload["unclaimed"] == ["extra"]
    assert payload["chapter"] == "ch"
    assert payload["parameters"] == {"quick": True, "n_bootstrap": 10}
    assert isinstance(payload["seconds"], float) and payload["seconds"] >= 0
    assert payload["values"] == {"good": 0.4612, "declared": 2.004, "bounded": 1.5, "extra": [1, 2, 3]}
    base = {"id", "kind", "paper", "where", "printed", "compare", "ours", "tolerance", "declared", "status", "note"}
    assert [set(c) for c in payload["claims"]] == [base, base | {"hypotheses", "pin", "pin_tolerance"}, base]
    good, declared, bounded = payload["claims"]
    assert good == {
        "id": "good",
        "kind": "data",
        "paper": "Test et al. 2020",
        "compare": "eq",
        "declared": "reproduced",
        "where": "Table 1",
        "printed": 0.46,
        "ours": 0.4612,
        "tolerance": {"abs": 0.005},
        "status": "reproduced",
        "note": "",
    }
    assert declared["status"] == "open" and declared["note"] == "our explanation"
    assert bounded["printed"] == [1, 2]
    out = capsys.readouterr().out  # outside a notebook the table is printed as text
    assert "good" in out and "open" in out and "Styler" not in out


def test_check_raises_claim_failure_with_a_readable_table(tmp_path, results, capsys):
    write_claims(tmp_path, "ch", YAML)
    begin("ch")
    record("good", 0.9)
    record("declared", 1.0)  # a declared discrepancy that now matches the printed value
    # `bounded` is never recorded
    with pytest.raises(ClaimFailure) as err:
        check(root=tmp_path)
    msg = str(err.value)
    assert msg.startswith("3 of 3 claims of 'ch' failed:")
    lines = msg.splitlines()
    header = lines[1].split()
    assert header == ["id", "kind", "where", "printed", "ours", "status", "note"]
    assert set(lines[2].replace(" ", "")) == {"-"}
    body = "\n".join(lines[3:])
    assert "good" in body and "0.9" in body and "outside tolerance" in body
    assert "declare it reproduced" in body and "not recorded" in body
    # The JSON is written even when the check fails, so the scorecard can show the failure.
    payload = json.loads((results / "ch.json").read_text())
    assert [c["status"] for c in payload["claims"]] == ["failed"] * 3
    assert payload["claims"][2]["ours"] is None


def test_check_chapter_without_claims(tmp_path, results):
    begin("empty")
    record("x", 1.0)
    assert check(root=tmp_path) == []
    assert json.loads((results / "empty.json").read_text())["claims"] == []


def test_check_before_begin_raises(monkeypatch):
    monkeypatch.setitem(claims._STATE, "chapter", None)
    with pytest.raises(RuntimeError, match="begin"):
        check()


# --------------------------------------------------------------------------- schema and parameters

GOOD = "  - id: a\n    kind: data\n    where: T1\n    printed: 0.5\n"


@pytest.mark.parametrize(
    "extra, message",
    [
        ("    tolerance: 0\n    reason: r\n", "a tolerance is"),
        ("    tolerance: {absolute: 0.1}\n    reason: r\n", "a tolerance is"),
        ("    tolerance: {abs: -1}\n    reason: r\n", "positive finite"),
        ("    tolerance: {abs: 0.1}\n", "needs a `reason`"),
        ("    expect: discrepncy\n", "unknown field"),
        ("    status: discrepancy\n", "status 'discrepancy' is not one of"),
        ("    status: open\n    pin: 0.4\n", "lists its `hypotheses`"),
        ("    status: open\n    hypotheses: [h]\n", "pins our value"),
        ("    status: explained\n", "names its computed cause"),
        ("    status: contradicted\n    pin: 0.4\n", "only a `test` claim"),
        ("    pin: 0.4\n", "only open and contradicted"),
        ("    compare: approx\n", "compare 'approx'"),
    ],
)
def test_bad_claims_files_name_file_line_and_claim(tmp_path, extra, message):
    write_claims(tmp_path, "ch", "claims:\n" + GOOD + extra)
    with pytest.raises(claims.ClaimsFileError, match=message) as err:
        load_claims("ch", tmp_path)
    assert "ch.yml:2: claim 'a'" in str(err.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("claims:\n  - id: a\n    kind: data\n    where: T1\n", r"missing field\(s\) \['printed'\]"),
        ("claims:\n  - id: a\n    where: T1\n    printed: 1.0\n", r"missing field\(s\) \['kind'\]"),
        ("claims:\n  - id: a\n    kind: guess\n    where: T1\n    printed: 1.0\n", "kind 'guess'"),
        ("claims:\n" + GOOD + GOOD, "appears twice"),
        ("papers: x\nclaims: []\n", "top level"),
        ("claims:\n  - id: a\n    kind: data\n    where: T\n    printed: [1, 0]\n    compare: range\n", "low, high"),
        ("claims:\n  - id: a\n    kind: data\n    where: T\n    printed: .nan\n", "finite number"),
    ],
)
def test_bad_claims_files_more(tmp_path, text, message):
    write_claims(tmp_path, "ch", text)
    with pytest.raises(claims.ClaimsFileError, match=message):
        load_claims("ch", tmp_path)


def test_nan_is_written_as_null_and_fails(tmp_path, results):
    write_claims(tmp_path, "ch", "claims:\n" + GOOD)
    begin("ch")
    record("a", float("nan"))
    record("other", float("inf"))
    with pytest.raises(ClaimFailure):
        check(root=tmp_path)
    text = (results / "ch.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    payload = json.loads(text)
    assert payload["claims"][0]["ours"] is None and payload["claims"][0]["status"] == "failed"
    assert payload["values"]["other"] is None and payload["unclaimed"] == ["other"]


def test_explain_for_an_unknown_claim_fails(tmp_path, results):
    write_claims(tmp_path, "ch", "claims:\n" + GOOD)
    begin("ch")
    record("a", 0.5)
    claims.explain("nope", 1.0)
    with pytest.raises(ClaimFailure, match="no claim"):
        check(root=tmp_path)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"quick": "maybe"}, "quick"),
        ({"n_bootstrap": 0}, "n_bootstrap"),
        ({"n_bootstrap": 2.5}, "n_bootstrap"),
        ({"seed": -1}, "seed"),
        ({"budget_flops": -1.0}, "budget_flops"),
        ({"budget_flops": [1e20, float("nan")]}, "budget_flops"),
        ({"n_tokens": float("inf")}, "n_tokens"),
    ],
)
def test_begin_rejects_bad_parameters(params, name):
    with pytest.raises(ValueError, match=f"parameter {name}"):
        begin("ch", **params)


def test_begin_accepts_the_defaults():
    begin("ch", quick=True, n_bootstrap=None, seed=0, budget_flops=1e21, label="x")
