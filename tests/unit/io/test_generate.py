"""Synthetic county: deterministic, the right sizes, valid records, the near-threshold villages."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from fupin_rules.domain import TABLES, load_dataset
from fupin_rules.io import (
    CHRONIC_DISEASE_CODES,
    generate_county,
    read_ledger,
    to_dataset_dict,
    write_parquet_dir,
)

ROOT = Path(__file__).resolve().parents[3]
POOR = ("registered_poor", "pre_exit_2017", "newly_added", "returned_to_poverty")


@pytest.fixture(scope="module")
def county() -> dict[str, pl.DataFrame]:
    return generate_county(600, 11, villages=4)


def test_same_seed_same_frames_other_seed_other_frames(county: dict[str, pl.DataFrame]) -> None:
    again = generate_county(600, 11, villages=4)
    assert list(again) == list(county) == ["county", *TABLES]
    for name, frame in county.items():
        assert frame.equals(again[name]), name
    other = generate_county(600, 12, villages=4)
    assert not other["persons"].equals(county["persons"])


def test_sizes(county: dict[str, pl.DataFrame]) -> None:
    assert county["households"].height == 600
    assert county["villages"].height == 4
    assert county["townships"].height == math.ceil(math.sqrt(4))
    assert county["county"].height == 1
    per_village = county["households"].group_by("village_id").len()
    assert per_village.height == 4 and per_village["len"].min() >= 1  # type: ignore[operator]
    mean_size = county["persons"].height / 600
    assert 2.6 < mean_size < 4.0
    heads = county["persons"].filter(pl.col("is_head")).height
    assert heads == 600  # one head per household
    default = generate_county(2_000, 1)
    assert default["villages"].height == 4  # round(households / 500)


def test_bad_sizes_raise() -> None:
    with pytest.raises(ValueError, match="villages=5 with households=3"):
        generate_county(3, 1, villages=5)
    with pytest.raises(ValueError, match="households=0"):
        generate_county(0, 1)


@pytest.mark.parametrize("imperfect", [True, False])
def test_generated_records_are_valid(imperfect: bool) -> None:
    frames = generate_county(400, 3, villages=3, imperfect=imperfect)
    result = load_dataset(to_dataset_dict(frames))
    assert result.issues == ()
    assert result.dataset.record_count() == sum(f.height for f in frames.values())


def test_json_layout_is_canonical(county: dict[str, pl.DataFrame]) -> None:
    data = to_dataset_dict(county)
    assert load_dataset(data).dataset.to_dict() == data


def test_parquet_dir_reads_back_as_the_same_dataset(
    county: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    folder = write_parquet_dir(county, tmp_path / "county")
    result = read_ledger(folder)
    assert result.issues == ()
    assert result.dataset == load_dataset(to_dataset_dict(county)).dataset


def test_imperfect_adds_unknowns_and_problems_clean_does_not() -> None:
    rough = generate_county(1_000, 5, villages=4)
    clean = generate_county(1_000, 5, villages=4, imperfect=False)
    assert rough["persons"]["birth_date"].null_count() > 0
    assert clean["persons"]["birth_date"].null_count() == 0
    assert (
        clean["households"]
        .filter(pl.col("poverty_status") != "non_poor")["main_cause"]
        .null_count()
        == 0
    )
    assert "disabled_persons_federation" not in rough["county"]["data_exchange_departments"][0]
    assert "disabled_persons_federation" in clean["county"]["data_exchange_departments"][0]
    cancelled = ("pledge", "clarity_card", "group_photo")
    assert rough["documents"].filter(pl.col("kind").is_in(cancelled)).height > 0
    assert clean["documents"].filter(pl.col("kind").is_in(cancelled)).height == 0


def test_rain_and_dew_paid_to_most_but_not_all_eligible_students() -> None:
    frames = generate_county(5_000, 2017, villages=10)
    hh = frames["households"].select("household_id", "poverty_status")
    students = (
        frames["persons"]
        .join(hh, on="household_id")
        .filter(
            pl.col("school_level").is_in(["secondary_vocational", "higher_vocational"])
            & pl.col("poverty_status").is_in([*POOR, "exited"])
        )
    )
    rain = frames["payments"].filter(pl.col("program") == "rain_and_dew")
    paid = students.join(rain, on="person_id", how="semi").height
    assert 0.7 * students.height < paid < students.height
    assert set(rain["amount_yuan"].to_list()) == {Decimal("3000.00"), Decimal("5000.00")}


def test_chronic_disease_codes_match_the_policy_catalogue() -> None:
    path = (
        ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy/catalogues"
        "/chronic_diseases.yaml"
    )
    if not path.exists():
        pytest.skip("county_2017 policy package not in this checkout")
    from ruamel.yaml import YAML

    catalogue = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    items = catalogue["catalogues"]["outpatient_chronic_diseases"]["items"]
    assert tuple(i["code"] for i in items) == CHRONIC_DISEASE_CODES
    assert len(CHRONIC_DISEASE_CODES) == 31


def _sample() -> dict[str, object]:
    text = resources.files("fupin_rules").joinpath("data/sample_county.json").read_text("utf-8")
    data: dict[str, object] = json.loads(text)
    return data


def test_bundled_sample_loads_without_issues() -> None:
    result = load_dataset(_sample())
    assert result.issues == ()
    ds = result.dataset
    assert len(ds.households) == 2_000 and len(ds.villages) == 10
    assert ds.townships is not None and 2 <= len(ds.townships) <= 5


def test_bundled_sample_is_what_the_script_makes() -> None:
    frames = generate_county(2_000, 2017, villages=10)
    assert load_dataset(_sample()).dataset == load_dataset(to_dataset_dict(frames)).dataset


def test_sample_has_the_near_threshold_villages() -> None:
    ds = load_dataset(_sample()).dataset
    cohort = {v.village_id: v for v in ds.villages if v.planned_exit_year == 2017}
    status = {h.household_id: (h.village_id, h.poverty_status) for h in ds.households}
    persons: dict[str, int] = {}
    poor: dict[str, int] = {}
    for p in ds.persons:
        village, st = status[p.household_id]
        persons[village] = persons.get(village, 0) + 1
        poor[village] = poor.get(village, 0) + (st in POOR)
    incidence = {v: Fraction(poor.get(v, 0), persons[v]) for v in cohort if v in persons}
    assert Fraction(1, 50) in incidence.values()  # exactly 2 %
    assert any(v.collective_income_yuan == Decimal("50000") for v in cohort.values())
    assert any(v.income_growth_rate == ds.county.avg_income_growth_rate for v in cohort.values())
    # and some cohort villages on either side of the 2 % line
    assert any(r < Fraction(1, 50) for r in incidence.values())
    assert any(r > Fraction(1, 50) for r in incidence.values())


def test_sample_workbook_matches_the_package_json() -> None:
    path = ROOT / "examples" / "sample_county" / "ledger.xlsx"
    result = read_ledger(path)
    assert result.issues == ()
    assert result.dataset == load_dataset(_sample()).dataset
