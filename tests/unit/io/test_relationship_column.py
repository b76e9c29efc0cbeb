"""与户主关系 (relationship to the household head) in a ledger: the register's labels, the common
variants officials write, and the column's other names; a blank cell is unknown."""

from __future__ import annotations

from pathlib import Path

import pytest

from fupin_rules.domain.enums import HouseholdRelationship, label_zh
from fupin_rules.io import read_ledger
from fupin_rules.io.headers import enum_code, resolve_column


def _ledger(folder: Path, header: str, values: list[str]) -> Path:
    folder.mkdir(parents=True)
    tables = {
        "county": ["county_id,name", "C1,竹山县"],
        "townships": ["township_id,county_id", "T1,C1"],
        "villages": ["village_id,township_id", "V1,T1"],
        "households": ["household_id,village_id,poverty_status", "H1,V1,registered_poor"],
        "persons": [f"person_id,household_id,{header}"]
        + [f"P{i},H1,{v}" for i, v in enumerate(values)],
    }
    for table, lines in tables.items():
        (folder / f"{table}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("header", ["relationship", "与户主关系", "家庭关系", "与户主的关系"])
def test_relationship_column_names(tmp_path: Path, header: str) -> None:
    assert resolve_column("persons", header) == ("relationship", None)
    result = read_ledger(_ledger(tmp_path / "l", header, ["户主", "之子", "儿子", "配偶", ""]))
    assert result.issues == ()
    assert [p.relationship for p in result.dataset.persons] == [
        "head",
        "son",
        "son",
        "spouse",
        None,  # blank: unknown, never "not a child"
    ]


def test_every_relationship_reads_back_from_its_register_label() -> None:
    for member in HouseholdRelationship:
        assert enum_code(HouseholdRelationship, label_zh(member.value)) == member.value


def test_an_unknown_relationship_is_an_issue_naming_the_row(tmp_path: Path) -> None:
    result = read_ledger(_ledger(tmp_path / "l", "与户主关系", ["户主", "邻居"]))
    (issue,) = result.issues
    assert issue.table == "persons" and issue.field == "relationship" and issue.row == 3
