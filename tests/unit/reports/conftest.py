"""Evaluations the report tests write: the mini policy's cases and a county_2017 case."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import fupin_rules as fr

ON = dt.date(2017, 12, 31)
COUNTY_2017 = (
    Path(__file__).parents[3] / "policies" / "county_2017" / "src" / "fupin_policy_county_2017"
) / "policy"


def _case_data(policy: fr.Policy, case_id: str) -> dict[str, Any]:
    (case,) = [c for c in policy.cases if c.id == case_id]
    data: dict[str, Any] = json.loads(json.dumps(case.data, default=str))
    return data


@pytest.fixture(scope="session")
def failing_village(mini_policy: fr.Policy) -> fr.Evaluation:
    """V1 fails the exit standard: 1 poor person of 50 is exactly 2 % (not below)."""
    data = _case_data(mini_policy, "village.exactly_two_percent_fails")
    return fr.evaluate(mini_policy, data, ON, engine="reference")


@pytest.fixture(scope="session")
def unknown_village(mini_policy: fr.Policy) -> tuple[fr.Evaluation, fr.LoadResult]:
    """V1 is undecided (clinic doctor missing), and one person row is rejected."""
    data = _case_data(mini_policy, "village.unknown_clinic_but_failing_incidence_is_fail")
    data["villages"][0]["collective_income_yuan"] = "60000"
    data["villages"][0]["name"] = "一村"
    data["persons"].append({"person_id": "Q99", "household_id": "H2", "name": "张三"})
    data["persons"].append({"person_id": "BAD", "household_id": "H2", "shcool_level": "x"})
    loaded = fr.load_data(data)
    return fr.evaluate(mini_policy, loaded, ON, engine="reference"), loaded


@pytest.fixture(scope="session")
def county_case() -> tuple[fr.Evaluation, fr.LoadResult]:
    """A county_2017 fixture with county targets, a village and households (names included)."""
    if not (COUNTY_2017 / "policy.yaml").exists():
        pytest.skip(f"county_2017 policy not found at {COUNTY_2017}")
    policy = fr.load_policy(COUNTY_2017)
    cases = [c for c in policy.cases if c.id == "rain_and_dew.paid.two_semester_instalments"]
    if not cases:
        pytest.skip("county_2017 case rain_and_dew.paid.two_semester_instalments is gone")
    loaded = fr.load_data(json.loads(json.dumps(cases[0].data, default=str)))
    return fr.evaluate(policy, loaded, ON, engine="reference"), loaded
