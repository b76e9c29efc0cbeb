"""The request examples' household slice: every record that belongs to the household, its tables
taken from the entity declaration (a household's projects were left out while the list of tables
was typed by hand, so a unit request cut from the sample answered unknown where the county says
pass or fail)."""

from __future__ import annotations

import datetime as dt

from fupin_rules.api import Evaluator
from fupin_rules.service.examples import household_slice, person_household, sample_county

ON = dt.date(2017, 12, 31)


def test_the_slice_holds_the_household_its_ancestors_and_every_record_linked_to_it() -> None:
    data = sample_county()
    hid = next(p["household_id"] for p in data["projects"] if p.get("household_id"))
    sl = household_slice(data, hid)
    assert list(sl) == [
        "county",
        "townships",
        "villages",
        "households",
        "persons",
        "loans",
        "payments",
        "projects",
        "documents",
        "procedure_steps",
        "relocations",
    ]
    (hh,) = sl["households"]
    (village,) = sl["villages"]
    (township,) = sl["townships"]
    assert hh["household_id"] == hid and village["village_id"] == hh["village_id"]
    assert township["township_id"] == village["township_id"]
    assert sl["county"] == data["county"]
    assert sl["projects"] and sl["projects"] == [
        p for p in data["projects"] if p.get("household_id") == hid
    ]
    for table in ("persons", "loans", "payments", "documents", "procedure_steps", "relocations"):
        assert sl[table] == [r for r in data[table] if r.get("household_id") == hid], table
    assert person_household(data, sl["persons"][0]["person_id"]) == hid


def test_a_households_findings_from_its_slice_are_those_from_the_whole_county() -> None:
    """Households with projects (among them one whose 户有脱贫项目 passes and one whose archive
    of assistance fails on the county, both unknown from a slice without projects)."""
    data = sample_county()
    whole = Evaluator("county_2017", data)
    hids = sorted({p["household_id"] for p in data["projects"] if p.get("household_id")})[:8]
    for hid in hids:
        alone = Evaluator("county_2017", household_slice(data, hid))
        want = sorted((f.rule_id, f.subject_id, f.verdict.value) for f in whole.household(hid, ON))
        got = sorted((f.rule_id, f.subject_id, f.verdict.value) for f in alone.household(hid, ON))
        assert got == want, hid
