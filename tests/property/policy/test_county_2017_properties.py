"""Property tests of the county_2017 standards (issue: policies/county_2017, item 4)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import fupin_rules as fr
from fupin_rules.testing import boundary_dates, check_monotone, dataset_dicts, verdict

POLICY = fr.load_policy("county_2017")
ON = dt.date(2017, 12, 31)
VILLAGE_RULES = (
    "village.exit.poverty_incidence",
    "village.exit.collective_income",
    "village.exit.poor_insured",
    "village.exit.ready",
)
#: the clauses of the inventory (shared notes: county_2017-inventory.md), as the plan numbers them
INVENTORY_CLAUSES = {
    "一", "二", "三(一)1", "三(一)2", "三(一)3", "三(二)1", "三(二)2", "三(二)3",
    "三(三)", "三(三)1", "三(三)2", "三(三)3", "三(四)1", "三(四)2", "三(四)3",
}  # fmt: skip
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _student_county(status: str) -> dict[str, Any]:
    return {
        "county": {"county_id": "C1"},
        "townships": [{"township_id": "T1", "county_id": "C1"}],
        "villages": [
            {
                "village_id": "V1",
                "township_id": "T1",
                "category": "province_key",
                "planned_exit_year": 2017,
            }
        ],
        "households": [{"household_id": "H1", "village_id": "V1", "poverty_status": status}],
        "persons": [
            {
                "person_id": "P1",
                "household_id": "H1",
                "relationship": "son",
                "school_level": "secondary_vocational",
            }
        ],
    }


@settings(max_examples=60, deadline=None)
@given(
    st.dates(dt.date(2015, 1, 1), dt.date(2018, 12, 31)),
    st.sampled_from(["registered_poor", "pre_exit_2017", "newly_added"]),
)
def test_rain_and_dew_is_a_step_function_of_the_date(on: dt.date, status: str) -> None:
    """三(二)2: 补助标准由3000元提高到5000元, 秋季按照新标准 — 3000 before the autumn term, 5000 from it."""
    f = fr.Evaluator(POLICY, _student_county(status), engine="reference").eligibility(
        "P1", "person.rain_and_dew.grant", on
    )
    ((before, after),) = boundary_dates(POLICY, "rain_and_dew.grant_yuan")
    start, end = POLICY.effective
    assert start is not None and end is not None
    if not start <= on <= end:  # the plan's own period is enforced: not in force, no amount
        assert f.verdict is fr.Outcome.NOT_APPLICABLE and f.amount is None
        assert f.applies_if is not None and f.applies_if.id == "in_force"
        return
    assert f.verdict is fr.Outcome.PASS
    assert f.amount == (Decimal(3000) if on <= before else Decimal(5000))
    assert after == dt.date(2017, 9, 1)


def _villages(data: dict[str, Any]) -> list[str]:
    return [v["village_id"] for v in data["villages"]]


@SLOW
@given(
    dataset_dicts(near_threshold=True, missing_rate=0.05, max_villages=2), st.integers(1, 60_000)
)
def test_more_collective_income_never_fails_a_passing_village(
    data: dict[str, Any], extra: int
) -> None:
    """三(三): 集体经济收入在5万元以上 — raising the income cannot turn a pass into a fail."""
    for vid in _villages(data):

        def richer(d: dict[str, Any], vid: str = vid) -> None:
            for v in d["villages"]:
                if v["village_id"] == vid and v.get("collective_income_yuan") is not None:
                    v["collective_income_yuan"] = Decimal(v["collective_income_yuan"]) + extra

        for rule in VILLAGE_RULES:
            check_monotone(POLICY, data, rule, vid, ON, richer)


@SLOW
@given(dataset_dicts(near_threshold=True, missing_rate=0.05, max_villages=2), st.integers(1, 30))
def test_lower_incidence_never_fails_a_passing_village(
    data: dict[str, Any], newcomers: int
) -> None:
    """三(三): 贫困发生率低于2% — more non-poor residents (lower incidence) cannot turn a pass into a fail."""
    for vid in _villages(data):

        def diluted(d: dict[str, Any], vid: str = vid) -> None:
            d["households"].append(
                {"household_id": f"HX_{vid}", "village_id": vid, "poverty_status": "non_poor"}
            )
            d["persons"].extend(
                {
                    "person_id": f"PX_{vid}_{i}",
                    "household_id": f"HX_{vid}",
                    "school_level": "not_in_school",
                }
                for i in range(newcomers)
            )

        for rule in VILLAGE_RULES:
            check_monotone(POLICY, data, rule, vid, ON, diluted)


@SLOW
@given(dataset_dicts(near_threshold=True, missing_rate=0.05, max_villages=2), st.data())
def test_more_insurance_coverage_never_fails_a_passing_village(
    data: dict[str, Any], pick: st.DataObject
) -> None:
    """三(三)3: 贫困户参保率100% — insuring one more person cannot turn a pass into a fail."""
    uninsured = [p["person_id"] for p in data["persons"] if p.get("basic_medical_insured") is False]
    assume(uninsured)
    who = pick.draw(st.sampled_from(uninsured))

    def insured(d: dict[str, Any]) -> None:
        for p in d["persons"]:
            if p["person_id"] == who:
                p["basic_medical_insured"] = True

    for vid in _villages(data):
        for rule in VILLAGE_RULES:
            check_monotone(POLICY, data, rule, vid, ON, insured)


def test_collective_income_boundary_both_sides() -> None:
    """三(三): 5万元以上 includes 50,000 (以上); 49,999.99 fails."""
    from fupin_rules.testing import boundary_values

    below, exact, above = boundary_values(POLICY, "village_exit.min_collective_income_yuan", ON)
    data = _student_county("non_poor")
    outcomes = []
    for amount in (below, exact, above):
        data["villages"][0]["collective_income_yuan"] = amount
        outcomes.append(verdict(POLICY, data, "village.exit.collective_income", "V1", ON))
    assert outcomes == [fr.Outcome.FAIL, fr.Outcome.PASS, fr.Outcome.PASS]


def test_every_rule_cites_a_clause_of_the_inventory() -> None:
    for rule in POLICY.rules:
        assert rule.clause in INVENTORY_CLAUSES, rule.id
    for p in POLICY.parameters.values():
        assert p.clause in INVENTORY_CLAUSES, p.name


def test_every_parameter_has_a_status_and_assumptions_are_explained() -> None:
    for p in POLICY.parameters.values():
        assert p.status in ("seed", "assumed"), p.name
        assert all(v.status in ("seed", "assumed") for v in p.values), p.name
        if p.status == "assumed" or any(v.status == "assumed" for v in p.values):
            assert p.note or any(v.note for v in p.values), p.name
    for r in POLICY.rules:
        if r.status == "assumed":
            assert r.note, r.id


def test_31_outpatient_chronic_diseases() -> None:
    """三(二)3: 31种门诊慢性病 — the catalogue has exactly 31 entries, names assumed."""
    cat = POLICY.catalogues["outpatient_chronic_diseases"]
    assert len(cat.items) == 31 == len(set(cat.codes))
    assert cat.status == "assumed"


MODEL = next(
    c
    for c in POLICY.cases
    if any(e.rule == "village.exit.ready" and e.verdict == "pass" for e in c.expect)
)
MODEL_VILLAGE = next(
    e.subject for e in MODEL.expect if e.rule == "village.exit.ready" and e.verdict == "pass"
)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 200_000), st.integers(0, 40), st.booleans())
def test_improving_a_passing_village_keeps_it_passing(
    extra: int, newcomers: int, insure_all: bool
) -> None:
    """三(三): a village that meets the exit standard still meets it with more collective income,
    lower incidence (more non-poor residents) and more insurance coverage."""
    data = MODEL.data
    assert verdict(POLICY, data, "village.exit.ready", MODEL_VILLAGE, MODEL.on) is fr.Outcome.PASS

    def improve(d: dict[str, Any]) -> None:
        for v in d["villages"]:
            if v["village_id"] == MODEL_VILLAGE:
                v["collective_income_yuan"] = Decimal(str(v["collective_income_yuan"])) + extra
        d["households"].append(
            {"household_id": "HX", "village_id": MODEL_VILLAGE, "poverty_status": "non_poor"}
        )
        d["persons"].extend(
            {"person_id": f"PX{i}", "household_id": "HX", "school_level": "not_in_school"}
            for i in range(newcomers)
        )
        if insure_all:
            for p in d["persons"]:
                p["basic_medical_insured"] = True

    for rule in VILLAGE_RULES:
        before, after = check_monotone(POLICY, data, rule, MODEL_VILLAGE, MODEL.on, improve)
        assert before is fr.Outcome.PASS and after is fr.Outcome.PASS, rule
