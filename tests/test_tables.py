"""Checked-in tables: every CSV under data/papers and data/experiments is recorded in data/SHA256SUMS,
matches it, and is read through scalinglib.data.table, which refuses a changed or unrecorded table."""

from __future__ import annotations

import re

import pytest

from scalinglib import data
from scalinglib.paths import repo_root

ROOT = repo_root()


def test_every_table_is_recorded_and_matches():
    recorded = data.checked_in_hashes()
    names = data.table_names()
    assert names, "no checked-in tables found"
    assert sorted(recorded) == names, "data/SHA256SUMS and data/ differ: run `python -m scalinglib data --rehash`"
    for n in names:
        assert data.text_sha256(ROOT / "data" / n) == recorded[n], f"data/{n} changed since it was recorded"


def test_table_reads_a_recorded_table():
    df = data.table(data.table_names()[0])
    assert len(df) > 0


def test_table_refuses_a_changed_unrecorded_or_missing_table(tmp_path, monkeypatch):
    (tmp_path / "data" / "papers").mkdir(parents=True)
    (tmp_path / "data" / "papers" / "t.csv").write_text("a,b\n1,2\n")
    monkeypatch.setenv("SCALINGLIB_ROOT", str(tmp_path))
    with pytest.raises(data.DataError, match="not recorded"):
        data.table("papers/t.csv")
    data.write_checksums()
    assert data.table("papers/t.csv")["b"].tolist() == [2]
    (tmp_path / "data" / "papers" / "t.csv").write_text("a,b\n1,3\n")
    with pytest.raises(data.DataError, match="changed since it was checked"):
        data.table("papers/t.csv")
    with pytest.raises(data.DataError, match="not found"):
        data.table("papers/none.csv")
    with pytest.raises(ValueError, match="name"):
        data.table("/etc/passwd")


def test_chapters_read_tables_through_the_registry():
    offenders = []
    for p in sorted((ROOT / "chapters").glob("*.md")):
        for m in re.finditer(r"read_csv\([^)]*(papers|experiments)", p.read_text()):
            offenders.append(f"{p.name}: {m.group(0)}")
    assert not offenders, "read checked-in tables with scalinglib.data.table (hash-checked):\n" + "\n".join(offenders)
