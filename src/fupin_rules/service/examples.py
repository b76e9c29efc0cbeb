"""Request examples cut from the bundled sample county (for the OpenAPI document, docs, tests)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from fupin_rules.domain.entities import ENTITIES, EntityKind

__all__ = [
    "EXAMPLE_ON",
    "EXAMPLE_PERSON",
    "EXAMPLE_RULE",
    "decision_example",
    "household_slice",
    "person_household",
    "sample_county",
]

#: a student the sample county's Rain and Dew grant (雨露计划) passes for, 5000 yuan, under
#: county_2017 1.0.0 and 1.1.0 alike (a son of a registered-poor household)
EXAMPLE_PERSON = "P00000827"
EXAMPLE_RULE = "person.rain_and_dew.grant"
EXAMPLE_ON = "2017-09-01"


@functools.cache
def _sample_text() -> str:
    return (resources.files("fupin_rules") / "data" / "sample_county.json").read_text("utf-8")


def sample_county() -> dict[str, Any]:
    """A fresh copy of the bundled sample county (JSON dataset layout)."""
    data: dict[str, Any] = json.loads(_sample_text())
    return data


def household_slice(data: dict[str, Any], household_id: str) -> dict[str, Any]:
    """The records of one household: the county, its township and village, the household, its
    persons and every record that belongs to them (a unit's inline dataset).

    The tables are those of :data:`fupin_rules.domain.entities.ENTITIES`, in its order: the
    household's ancestors through their parent links, and every kind with a link to a household
    (its records whose link names this one; a table the data lacks is left out)."""
    household = ENTITIES["household"]
    hh = next(h for h in data[household.table] if h[household.key] == household_id)
    county = ENTITIES["county"].table
    picked: dict[str, list[dict[str, Any]]] = {household.table: [hh]}
    _pick_ancestors(data, household, hh, picked)
    out: dict[str, Any] = {county: data[county]}
    for e in ENTITIES:
        if e.table in picked:
            out[e.table] = picked[e.table]
            continue
        link = next((p for p in e.parents if p.kind == household.kind and p.field), None)
        if link is not None and data.get(e.table) is not None:
            out[e.table] = [r for r in data[e.table] if r.get(link.field) == household_id]
    return out


def _pick_ancestors(
    data: dict[str, Any],
    kind: EntityKind,
    record: dict[str, Any],
    picked: dict[str, list[dict[str, Any]]],
) -> None:
    """The records ``record`` names through its parent links, up to (not including) the county
    (which a dataset holds as one record, taken whole)."""
    for p in kind.parents:
        parent = ENTITIES[p.kind]
        if p.field is None or parent.table == ENTITIES["county"].table:
            continue
        rows = [r for r in data.get(parent.table) or [] if r[parent.key] == record.get(p.field)]
        picked[parent.table] = rows
        for r in rows:
            _pick_ancestors(data, parent, r, picked)


def person_household(data: dict[str, Any], person_id: str) -> str:
    """The household id of a person of ``data``."""
    person = ENTITIES["person"]
    field = person.parent("household").field
    return str(next(p[field] for p in data[person.table] if p[person.key] == person_id))


def decision_example() -> dict[str, Any]:
    """The eligibility example: Rain and Dew for one person, with the household's records."""
    data = sample_county()
    return {
        "rule": EXAMPLE_RULE,
        "subject": EXAMPLE_PERSON,
        "on": EXAMPLE_ON,
        "data": household_slice(data, person_household(data, EXAMPLE_PERSON)),
    }
