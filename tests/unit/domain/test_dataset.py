"""Dataset validation: every bad row is an issue naming table, row, record and field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fupin_rules.domain import Dataset, Person, load_dataset
from fupin_rules.errors import DataError


def _base() -> dict:
    return {
        "county": {"county_id": "C1"},
        "townships": [{"township_id": "T1", "county_id": "C1"}],
        "villages": [{"village_id": "V1", "township_id": "T1"}],
        "households": [{"household_id": "H1", "village_id": "V1"}],
        "persons": [{"person_id": "P1", "household_id": "H1"}],
    }


def test_valid_dataset_has_no_issues() -> None:
    r = load_dataset(_base())
    assert r.issues == ()
    assert r.rows_in == 5 and r.dataset.record_count() == 5 and r.accounted


def test_unknown_field_names_row_record_and_suggestion() -> None:
    data = _base()
    data["persons"][0]["school_levl"] = "primary"
    (issue,) = load_dataset(data, source="x.json").issues
    assert issue.render() == (
        "x.json:persons:1 (P1) school_levl: unknown field 'school_levl'; did you mean 'school_level'?"
    )


def test_wrong_type_and_bad_code_are_reported_with_value() -> None:
    data = _base()
    data["households"][0]["poverty_status"] = "poorish"
    data["persons"][0]["birth_date"] = "2017-13-01"
    issues = load_dataset(data).issues
    fields = {(i.table, i.field) for i in issues}
    assert ("households", "poverty_status") in fields
    assert ("persons", "birth_date") in fields
    assert any("'poorish'" in i.message for i in issues)


def test_orphans_cascade_and_are_counted() -> None:
    data = _base()
    data["villages"][0]["township_id"] = "T9"
    r = load_dataset(data)
    assert [(i.table, i.field) for i in r.issues] == [
        ("villages", "township_id"),
        ("households", "village_id"),
        ("persons", "household_id"),
    ]
    assert "层级关系不成立" in r.issues[0].message
    assert r.accounted  # every input row is a record or an issue


def test_duplicate_ids_are_issues() -> None:
    data = _base()
    data["persons"].append({"person_id": "P1", "household_id": "H1"})
    r = load_dataset(data)
    assert [i.message for i in r.issues] == ["duplicate id 'P1' (first seen in row 1)"]
    assert r.accounted


def test_missing_optional_table_is_unknown_not_empty() -> None:
    ds = load_dataset(_base()).dataset
    assert ds.loans is None and ds.documents is None
    ds2 = load_dataset({**_base(), "loans": []}).dataset
    assert ds2.loans == ()


def test_money_is_exact_and_float_text_is_kept() -> None:
    p = Person(person_id="P1", household_id="H1", annual_income_yuan=0.1)
    assert p.annual_income_yuan == Decimal("0.1")
    with pytest.raises(ValueError, match="decimal"):
        Person(person_id="P1", household_id="H1", annual_income_yuan=Decimal("0.001"))


def test_strict_from_dict_raises_all_problems() -> None:
    data = _base()
    data["persons"][0]["is_head"] = "maybe"
    with pytest.raises(DataError, match="is_head"):
        Dataset.from_dict(data)


def test_reserved_engine_names_are_not_fields() -> None:
    from fupin_rules.domain.schema import ENTITY_RECORDS

    for cls in ENTITY_RECORDS.values():
        assert "id" not in cls.model_fields and "sid" not in cls.model_fields


def test_orphan_row_is_the_kept_record_not_a_rejected_namesake() -> None:
    """Row 1 is rejected (bad field), row 2 with the same id is kept and is an orphan: the two
    problems are two rows, so the nothing-lost count still holds."""
    data = _base()
    data["persons"] = [
        {"person_id": "P1", "household_id": "H1", "is_head": "maybe"},
        {"person_id": "P1", "household_id": "H9"},
    ]
    r = load_dataset(data)
    assert sorted((i.row, i.field) for i in r.issues) == [(1, "is_head"), (2, "household_id")]
    assert r.accounted
