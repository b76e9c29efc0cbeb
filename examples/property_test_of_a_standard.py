"""Property tests of a standard: the Rain and Dew grant (雨露计划, 三(二)2) under hypothesis.

Two properties, each quoting the clause it checks, run for hundreds of generated inputs:

1. The grant is a step function of the date: 3000 yuan up to 2017-08-31, 5000 yuan from
   2017-09-01 — never an interpolated value — and outside the plan's own period (2017) the
   standard is not in force: not applicable, never a silent 5000.
2. For any person and household the register can hold (including missing fields, drawn with the
   public strategies of :mod:`fupin_rules.testing`), the verdict follows the rule's scope and
   condition, an unknown input gives *unknown* (never a silent fail), and a pass pays 5000.

Run it as a script (``python examples/property_test_of_a_standard.py``) or with pytest
(``python -m pytest examples/property_test_of_a_standard.py``).
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import fupin_rules as fr
from fupin_rules.testing import households, persons

POLICY = fr.load_policy("county_2017")
RULE = "person.rain_and_dew.grant"
RAISE_DAY = dt.date(2017, 9, 1)  # 秋季: the 2017 autumn term (its first day is assumed)
START, END = POLICY.effective  # the plan's own period (effective in policy.yaml)
UNDER_POLICY = {"registered_poor", "pre_exit_2017", "newly_added", "returned_to_poverty", "exited"}
VOCATIONAL = {"secondary_vocational", "higher_vocational"}


def one_household(household: dict[str, Any], person: dict[str, Any]) -> dict[str, Any]:
    """A dataset of one village holding one household holding one person."""
    return {
        "county": {"county_id": "C1"},
        "townships": [{"township_id": "T1", "county_id": "C1"}],
        "villages": [{"village_id": "V1", "township_id": "T1"}],
        "households": [household],
        "persons": [person],
    }


def grant(data: dict[str, Any], on: dt.date) -> fr.Finding:
    """The Rain and Dew finding about P1 (the reference engine: no durable-rules needed)."""
    ev = fr.Evaluator(POLICY, data, engine="reference")
    return ev.finding(RULE, "P1", on)


STUDENT = one_household(
    {"household_id": "H1", "village_id": "V1", "poverty_status": "registered_poor"},
    {
        "person_id": "P1",
        "household_id": "H1",
        "relationship": "son",  # 贫困家庭子女: the head's son
        "school_level": "secondary_vocational",
    },
)


@settings(max_examples=200, deadline=None, database=None)
@given(st.dates(min_value=dt.date(2013, 1, 1), max_value=dt.date(2021, 12, 31)))
def test_grant_is_a_step_function_of_the_date(on: dt.date) -> None:
    """三(二)2 “雨露计划”培训补助标准由3000元提高到5000元 … 中、高职学生秋季按照新标准."""
    f = grant(STUDENT, on)
    assert START is not None and END is not None
    if not START <= on <= END:
        # not in force: not applicable, and the explanation says why
        assert f.verdict is fr.Outcome.NOT_APPLICABLE and f.amount is None
        assert f.applies_if is not None and f.applies_if.id == "in_force"
        return
    assert f.verdict is fr.Outcome.PASS
    if on < RAISE_DAY:
        assert f.amount == Decimal(3000)
    else:
        assert f.amount == Decimal(5000)


@settings(max_examples=200, deadline=None, database=None)
@given(
    household=households(household_id="H1", village_id="V1", missing_rate=0.2),
    person=persons(person_id="P1", household_id="H1", missing_rate=0.2),
    relationship=st.sampled_from([None, "son", "daughter", "head", "spouse"]),
    on=st.dates(min_value=RAISE_DAY, max_value=dt.date(2017, 12, 31)),
)
def test_verdict_follows_scope_condition_and_unknowns(
    household: dict[str, Any], person: dict[str, Any], relationship: str | None, on: dt.date
) -> None:
    """三(二)2 “贫困家庭子女 … 对符合资助条件的中、高职学生 … 做到应补尽补”: vocational students who are
    children of registered poor households under policy are eligible; the head and the spouse are
    not, nor 稳定脱贫户(不再享受政策) and non-poor households."""
    person = {**person, "relationship": relationship}
    f = grant(one_household(household, person), on)
    level, status = person["school_level"], household["poverty_status"]
    not_a_child = relationship in ("head", "spouse") or person["is_head"] is True
    if level is None:
        assert f.verdict is fr.Outcome.UNKNOWN  # scope undecidable: unknown, never "not eligible"
    elif level not in VOCATIONAL:
        assert f.verdict is fr.Outcome.NOT_APPLICABLE
    elif not_a_child or (status is not None and status not in UNDER_POLICY):
        assert f.verdict is fr.Outcome.FAIL and f.amount is None
    elif status is None or relationship is None:
        assert f.verdict is fr.Outcome.UNKNOWN  # a missing relationship is unknown, never a fail
    elif status in UNDER_POLICY:
        assert (f.verdict, f.amount) == (fr.Outcome.PASS, Decimal(5000))
    else:
        assert f.verdict is fr.Outcome.FAIL and f.amount is None


def main() -> int:
    """Run both properties; hypothesis raises with a minimal counterexample if one fails."""
    for test in (
        test_grant_is_a_step_function_of_the_date,
        test_verdict_follows_scope_condition_and_unknowns,
    ):
        test()
        print(f"ok  {test.__name__}: {test.__doc__.splitlines()[0] if test.__doc__ else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
