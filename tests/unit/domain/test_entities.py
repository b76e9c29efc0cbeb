"""The entity declaration: one place per kind, and the lists derived from it."""

from __future__ import annotations

import attrs
import pytest

from fupin_rules.domain import dataset, schema
from fupin_rules.domain.entities import ENTITIES, Collection, EntityKind, Parent, declare
from fupin_rules.domain.models import Household
from fupin_rules.engine import drill
from fupin_rules.policy import load_policy


def test_every_kind_has_its_record_key_and_table() -> None:
    for e in ENTITIES:
        assert e.key in e.record.model_fields, e.kind
        assert dataset.TABLES.get(e.table, e.record) is e.record
        assert schema.ENTITY_RECORDS[e.kind] is e.record


def test_schema_and_dataset_lists_come_from_the_declaration() -> None:
    assert schema.LINKS == ENTITIES.links
    assert list(dataset.TABLES) == [e.table for e in ENTITIES if e.table != "county"]
    # a parent link with a field is a reference the loader checks, the implicit county is not
    assert dataset.REFERENCES["villages"] == (("township_id", "townships"),)
    assert dataset.REFERENCES["payments"] == (
        ("household_id", "households"),
        ("person_id", "persons"),
    )


def test_an_inconsistent_declaration_is_refused_with_every_problem_named() -> None:
    kinds = list(ENTITIES)
    household = ENTITIES["household"]
    broken = attrs.evolve(
        household,
        parents=(Parent("village", "village", "village_code"),),
        collections=(*household.collections, Collection("pets", "pet", ("household",))),
        display="head_name",
    )
    kinds[kinds.index(household)] = broken
    with pytest.raises(ValueError) as err:
        declare(kinds)
    assert "household.village: Household has no field 'village_code'" in str(err.value)
    assert "household.pets: member kind 'pet' is not declared" in str(err.value)
    assert "household: display 'head_name': Household has no such field" in str(err.value)


def test_the_drill_down_shows_the_declared_display_field() -> None:
    policy = load_policy("county_2017")
    shown = {e.kind: drill.display_field(policy, e.kind) for e in ENTITIES}
    assert shown == {e.kind: e.display for e in ENTITIES}
    assert shown["person"] == "name" and shown["procedure_step"] == "step"
    assert shown["loan"] is None  # a loan has nothing to show but its id


def test_a_kind_must_say_how_its_stratum_visits_it() -> None:
    stray = EntityKind(
        "visit",
        "visits",
        Household,
        name_zh="走访",
        name_en="visit",
        stratum="household",
        level="household",
        parents=(Parent("household", "household", "household_id"),),
    )
    with pytest.raises(ValueError, match="name the household collection"):
        declare([*ENTITIES, stray])
