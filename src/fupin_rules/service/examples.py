"""Request examples cut from the bundled sample county (for the OpenAPI document, docs, tests)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

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
    persons and every record that belongs to them (a unit's inline dataset)."""
    hh = next(h for h in data["households"] if h["household_id"] == household_id)
    village = next(v for v in data["villages"] if v["village_id"] == hh["village_id"])
    persons = [p for p in data["persons"] if p["household_id"] == household_id]
    out: dict[str, Any] = {
        "county": data["county"],
        "townships": [
            t for t in data.get("townships") or [] if t["township_id"] == village.get("township_id")
        ],
        "villages": [village],
        "households": [hh],
        "persons": persons,
    }
    for table in ("loans", "payments", "documents", "procedure_steps", "relocations"):
        if data.get(table) is not None:
            out[table] = [r for r in data[table] if r.get("household_id") == household_id]
    return out


def person_household(data: dict[str, Any], person_id: str) -> str:
    """The household id of a person of ``data``."""
    return str(next(p["household_id"] for p in data["persons"] if p["person_id"] == person_id))


def decision_example() -> dict[str, Any]:
    """The eligibility example: Rain and Dew for one person, with the household's records."""
    data = sample_county()
    return {
        "rule": EXAMPLE_RULE,
        "subject": EXAMPLE_PERSON,
        "on": EXAMPLE_ON,
        "data": household_slice(data, person_household(data, EXAMPLE_PERSON)),
    }
