"""The reference evaluation path: verdicts, amounts, explanations, unknowns, provenance."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

import fupin_rules as fr
from fupin_rules.engine.cases import run_cases
from fupin_rules.reports import to_json_text

ON = dt.date(2017, 12, 31)


def test_mini_cases_pass_on_reference(mini_policy) -> None:  # type: ignore[no-untyped-def]
    results = run_cases(mini_policy, fr.get_engine("reference"))
    assert results and all(r.passed for r in results), [r.failures for r in results if not r.passed]


@pytest.fixture
def case_data(mini_policy):  # type: ignore[no-untyped-def]
    return {c.id: c.data for c in mini_policy.cases}


def test_rain_and_dew_step_at_autumn_term(mini_policy, case_data) -> None:  # type: ignore[no-untyped-def]
    ev = fr.Evaluator(mini_policy, case_data["rain_and_dew.before_autumn_term"], engine="reference")
    before = ev.eligibility("P1", "person.rain_and_dew.grant", dt.date(2017, 8, 31))
    after = ev.eligibility("P1", "person.rain_and_dew.grant", dt.date(2017, 9, 1))
    assert (before.amount, after.amount) == (Decimal(3000), Decimal(5000))
    (p,) = after.parameters
    assert (p.name, p.start, p.end, p.status) == (
        "rain_and_dew.grant_yuan",
        dt.date(2017, 9, 1),
        None,
        "assumed",
    )
    (p0,) = before.parameters
    assert p0.end == dt.date(2017, 8, 31)


def test_not_eligible_explains_why_not(mini_policy, case_data) -> None:  # type: ignore[no-untyped-def]
    ev = fr.Evaluator(mini_policy, case_data["rain_and_dew.before_autumn_term"], engine="reference")
    f = ev.eligibility("P2", "person.rain_and_dew.grant", dt.date(2017, 9, 1))
    assert f.verdict is fr.Outcome.FAIL and f.amount is None
    (c,) = f.conditions
    assert c.outcome is fr.Outcome.FAIL
    assert [(r.path, r.value) for r in c.reads] == [("household.is_poor", False)]
    text = fr.explain(f, "zh")
    assert "不符合条件" in text and "第三(二)2条" in text and "household.is_poor" in text


def test_not_applicable_for_non_students(mini_policy, case_data) -> None:  # type: ignore[no-untyped-def]
    ev = fr.Evaluator(mini_policy, case_data["rain_and_dew.before_autumn_term"], engine="reference")
    f = ev.finding("person.rain_and_dew.grant", "Q00", ON)
    assert f.verdict is fr.Outcome.NOT_APPLICABLE


def test_unknown_names_missing_field_and_kleene_keeps_fail(mini_policy, case_data) -> None:  # type: ignore[no-untyped-def]
    data = case_data["village.unknown_clinic_but_failing_incidence_is_fail"]
    f = fr.Evaluator(mini_policy, data, engine="reference").finding(
        "village.exit.standard", "V1", ON
    )
    assert f.verdict is fr.Outcome.FAIL
    (m,) = f.missing
    assert m.render("zh") == "村 V1: 缺少 卫生室医生资质 数据"
    # supply only the incidence and income: the clinic alone is then unknown -> finding unknown
    fixed = json.loads(json.dumps(data, default=str))
    fixed["villages"][0]["collective_income_yuan"] = "60000"
    fixed["persons"].append({"person_id": "Q99", "household_id": "H2"})
    f2 = fr.Evaluator(mini_policy, fixed, engine="reference").finding(
        "village.exit.standard", "V1", ON
    )
    assert f2.verdict is fr.Outcome.UNKNOWN


def test_missing_field_behind_derived_aggregate(mini_policy, case_data) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(case_data["village.exactly_two_percent_fails"], default=str))
    data["households"][1]["poverty_status"] = None  # 49 residents of unknown status
    f0 = fr.Evaluator(mini_policy, data, engine="reference").finding(
        "village.exit.standard", "V1", ON
    )
    # 1 poor of 50 is already 2 %: whatever the 49 unknowns are, "below 2 %" fails
    assert next(c for c in f0.conditions if c.id == "incidence").outcome is fr.Outcome.FAIL
    data["households"][0]["poverty_status"] = "non_poor"
    f = fr.Evaluator(mini_policy, data, engine="reference").finding(
        "village.exit.standard", "V1", ON
    )
    inc = next(c for c in f.conditions if c.id == "incidence")
    assert inc.outcome is fr.Outcome.UNKNOWN
    assert ("household", "H2", "poverty_status") in {
        (m.subject_kind, m.subject_id, m.field) for m in inc.missing
    }


def test_finding_records_provenance(mini_policy, case_data) -> None:  # type: ignore[no-untyped-def]
    f = fr.Evaluator(
        mini_policy, case_data["village.exactly_two_percent_fails"], engine="reference"
    ).finding("village.exit.standard", "V1", ON)
    assert (f.policy_id, f.policy_version, f.policy_hash, f.on) == (
        "mini",
        "0.1.0",
        mini_policy.content_hash,
        ON,
    )
    assert f.engine_version == fr.__version__
    assert f.clause == "三(三)"
    j = fr.finding_to_json(f)
    assert j["policy"] == {"id": "mini", "version": "0.1.0", "hash": mini_policy.content_hash}
    assert j["conditions"][0]["values"][0]["value"] == "0.02"


def test_whole_run_and_json_report_is_deterministic(mini_policy, case_data) -> None:  # type: ignore[no-untyped-def]
    data = case_data["village.unknown_clinic_but_failing_incidence_is_fail"]
    a = to_json_text(fr.evaluate(mini_policy, data, ON, engine="reference"))
    b = to_json_text(fr.evaluate(mini_policy, data, ON, engine="reference"))
    assert a == b
    doc = json.loads(a)
    assert doc["summary"]["problems"] == 1
    assert doc["summary"]["unknown"] == 0  # Kleene: the failing village is not unknown
    assert doc["findings"][-1]["missing"] == [
        {
            "subject": "village:V1",
            "field": "clinic_has_qualified_doctor",
            "label_zh": "卫生室医生资质",
        }
    ]
