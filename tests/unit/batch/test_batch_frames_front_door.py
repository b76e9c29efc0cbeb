"""Frames given to the batch engine directly are checked: no ignored table or column, no code
compared as text, no polars traceback (hostile and clumsy input, batch front door)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fupin_rules.batch import evaluate_batch
from fupin_rules.domain.dataset import Dataset
from fupin_rules.errors import DataError
from fupin_rules.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[3]
COUNTY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
ON = dt.date(2017, 12, 31)


@pytest.fixture(scope="module")
def county() -> Policy:
    return load_policy(COUNTY)


def frames() -> dict[str, Any]:
    return {
        "county": {"county_id": "C1", "avg_income_growth_rate": Decimal("0.08")},
        "townships": pl.DataFrame([{"township_id": "T1", "county_id": "C1"}]),
        "villages": pl.DataFrame(
            [{"village_id": "V1", "township_id": "T1", "collective_income_yuan": "50000"}]
        ),
        "households": pl.DataFrame(
            [
                {"household_id": "H1", "village_id": "V1", "poverty_status": "registered_poor"},
                {"household_id": "H2", "village_id": "V1", "poverty_status": "non_poor"},
            ]
        ),
        "persons": pl.DataFrame(
            [
                {"person_id": "P1", "household_id": "H1", "birth_date": "1960-05-01"},
                {"person_id": "P2", "household_id": "H2", "birth_date": "1970-05-01"},
            ]
        ),
    }


def problems(county: Policy, data: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(DataError) as exc:
        evaluate_batch(county, data, ON)
    return exc.value.problems


def test_valid_frames_give_the_findings_of_the_same_records(county: Policy) -> None:
    data = frames()
    got = evaluate_batch(county, data, ON, materialize="all")
    records = {k: (v.to_dicts() if isinstance(v, pl.DataFrame) else v) for k, v in data.items()}
    want = evaluate_batch(county, Dataset.from_dict(records), ON, materialize="all")
    assert got.findings == want.findings
    assert got.findings


def test_a_misspelled_table_is_refused_not_ignored(county: Policy) -> None:
    data = frames()
    data["person"] = data.pop("persons")
    (p,) = problems(county, data)
    assert "unknown table 'person'" in p and "did you mean 'persons'" in p


def test_an_unknown_column_is_refused_with_did_you_mean(county: Policy) -> None:
    data = frames()
    data["households"] = data["households"].rename({"poverty_status": "povery_status"})
    (p,) = problems(county, data)
    assert p.startswith("table households: unknown column 'povery_status'")
    assert "did you mean 'poverty_status'" in p


def test_a_code_outside_its_list_is_refused_not_compared_as_text(county: Policy) -> None:
    data = frames()
    data["households"] = data["households"].with_columns(
        pl.Series("poverty_status", ["registered_poor", "poor"])
    )
    (p,) = problems(county, data)
    assert p.startswith("table households, column 'poverty_status', row 2: not a code of")
    assert "'poor'" in p and "registered_poor" in p


def test_keys_must_be_given_and_unique(county: Policy) -> None:
    data = frames()
    data["persons"] = pl.DataFrame(
        [
            {"person_id": "P1", "household_id": "H1"},
            {"person_id": "P1", "household_id": "H2"},
            {"person_id": None, "household_id": "H2"},
        ]
    )
    got = problems(county, data)
    assert "table persons, row 3: the key 'person_id' is empty" in got
    assert "table persons, rows 1, 2: the key 'person_id' is repeated" in got
    data = frames()
    data["persons"] = data["persons"].drop("person_id")
    assert problems(county, data) == ("table persons: the key column 'person_id' is missing",)


@pytest.mark.parametrize(
    ("table", "column", "values", "expected"),
    [
        ("persons", "birth_date", ["1960-05-01", "1960-13-01"], "row 2: not a date"),
        ("villages", "collective_income_yuan", ["5万"], "row 1: not an exact number"),
        ("villages", "collective_income_yuan", [[1, 2]], "cannot hold number"),
    ],
)
def test_cells_that_are_not_of_their_type_name_table_column_and_row(
    county: Policy, table: str, column: str, values: list[Any], expected: str
) -> None:
    data = frames()
    data[table] = data[table].with_columns(pl.Series(column, values))
    (p,) = problems(county, data)
    assert p.startswith(f"table {table}, column {column!r}")
    assert expected in p


def test_the_county_table_is_required_and_has_one_row(county: Policy) -> None:
    data = frames()
    del data["county"]
    assert problems(county, data) == ("frames: the 'county' table (one row) is required",)
    data = frames()
    data["county"] = pl.DataFrame([{"county_id": "C1"}, {"county_id": "C2"}])
    assert problems(county, data) == ("table county: must have one row, not 2",)


def test_every_problem_is_listed_at_once(county: Policy) -> None:
    data = frames()
    data["person"] = data.pop("persons")
    data["households"] = data["households"].with_columns(pl.lit("x").alias("bogus"))
    assert len(problems(county, data)) == 2
