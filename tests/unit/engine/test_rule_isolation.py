"""One rule failing on one subject loses only that finding, in the reference and inference engines.

Before: a rule raising inside a unit (a household with its members, a village) lost every other
finding of the unit, and the message could be ``[<class 'decimal.InvalidOperation'>]``. Now the
failure is an error row naming the rule, the subject and the part evaluated (in Chinese and
English), and every other finding is kept — as the batch engine does per rule.
"""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

import fupin_rules as fr
from fupin_rules.engine import inference
from fupin_rules.errors import EngineError, RuleEvaluationError
from fupin_rules.policy import Policy, load_policy

ON = dt.date(2017, 12, 31)
BAD = "person.test.date_overflow"
BIG = "person.test.big_amount"

CHILD = """id: mini_isolation
version: 0.1.0
title: {zh: 规则隔离测试包, en: Rule isolation test policy}
extends: ../base
clauses: []
"""

RULES = """rules:
  - id: person.test.date_overflow
    clause: 三(二)2
    title: {zh: 测试：日期溢出, en: "Test: date overflow"}
    entity: person
    kind: compliance
    status: seed
    conditions:
      - id: far_future
        title: {zh: 远期日期, en: A date far in the future}
        expr: birth_date + 10000000000 > on
  - id: person.test.big_amount
    clause: 三(二)2
    title: {zh: 测试：大金额, en: "Test: a large amount"}
    entity: person
    kind: eligibility
    status: seed
    conditions:
      - id: always
        title: {zh: 总是, en: Always}
        expr: "true"
    amount: 10000000000000000000000000000000000000000 + 1 / 2
"""


def _household_rules(n: int) -> str:
    lines = ["rules:"]
    for i in range(n):
        lines.append(
            f"""  - id: household.test.r{i:03d}
    clause: 三(三)
    title: {{zh: 测试{i}, en: Test {i}}}
    entity: household
    kind: compliance
    status: seed
    conditions:
      - id: members
        title: {{zh: 人数, en: Members}}
        expr: count(members) >= {i % 3}
"""
        )
    return "\n".join(lines)


@pytest.fixture(scope="module")
def policies(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> dict[str, Policy]:
    where = tmp_path_factory.mktemp("rule_isolation")
    shutil.copytree(Path(request.config.rootpath) / "tests/data/mini_policy", where / "base")
    for name, rules in (("child", RULES), ("many", _household_rules(49))):
        (where / name / "rules").mkdir(parents=True)
        (where / name / "policy.yaml").write_text(
            CHILD.replace("mini_isolation", f"mini_{name}"), encoding="utf-8"
        )
        (where / name / "rules" / "extra.yaml").write_text(rules, encoding="utf-8")
    return {name: load_policy(where / name) for name in ("base", "child", "many")}


def _data(n: int = 6) -> dict[str, object]:
    return {
        "county": {"county_id": "C1"},
        "villages": [{"village_id": "V1", "township_id": "T1", "collective_income_yuan": "50000"}],
        "households": [
            {
                "household_id": f"H{i}",
                "village_id": "V1",
                "poverty_status": "registered_poor" if i % 2 else "non_poor",
            }
            for i in range(n)
        ],
        "persons": [
            {
                "person_id": f"P{i}",
                "household_id": f"H{i}",
                "school_level": "secondary_vocational",
                # P0 has no birth date: the overflowing condition is unknown, not an error
                **({"birth_date": f"2000-01-0{i}"} if i else {}),
            }
            for i in range(n)
        ],
    }


def _durable() -> None:
    pytest.importorskip("durable.engine")


@pytest.mark.parametrize("engine", ["reference", "inference"])
def test_a_failing_rule_is_one_error_row_per_subject_and_the_rest_is_kept(
    policies: dict[str, Policy], engine: str
) -> None:
    if engine == "inference":
        _durable()
    base = fr.evaluate(policies["base"], _data(), ON, engine=engine, keep_not_applicable=True)
    run = fr.evaluate(policies["child"], _data(), ON, engine=engine, keep_not_applicable=True)
    assert base.errors == ()
    failed = [(e.stratum, e.subject_kind, e.subject_id, e.rule_id) for e in run.errors]
    assert failed == [("household", "person", f"P{i}", BAD) for i in range(1, 6)]
    for e in run.errors:
        assert e.message.startswith(f"rule {BAD}, person {e.subject_id}: ")
        assert "evaluating condition far_future failed" in e.message
        assert "条件 far_future" in e.message and "结论缺失" in e.message
        assert "OverflowError" in e.message and "[<class" not in e.message
    # every other finding of each unit is kept: the base policy's, the big amount, P0's unknown
    ours = [f for f in run.findings if f.rule_id not in (BAD, BIG)]
    assert [f.sort_key() for f in ours] == [f.sort_key() for f in base.findings]
    assert [f.verdict for f in ours] == [f.verdict for f in base.findings]
    assert [f.subject_id for f in run.findings if f.rule_id == BAD] == ["P0"]
    assert len([f for f in run.findings if f.rule_id == BIG]) == 6


@pytest.mark.parametrize("engine", ["reference", "inference"])
def test_a_large_amount_is_exact_not_an_invalid_operation(
    policies: dict[str, Policy], engine: str
) -> None:
    """Was ``[<class 'decimal.InvalidOperation'>]`` (28-digit decimal context) for the unit."""
    if engine == "inference":
        _durable()
    ev = fr.Evaluator(policies["child"], _data(), engine=engine)
    found = ev.finding(BIG, "P1", ON)
    assert found.amount == Decimal("10000000000000000000000000000000000000000.50")


@pytest.mark.parametrize("engine", ["reference", "inference"])
def test_evaluator_queries_name_the_failed_rule(policies: dict[str, Policy], engine: str) -> None:
    if engine == "inference":
        _durable()
    ev = fr.Evaluator(policies["child"], _data(), engine=engine)
    # the finding asked for did not fail: returned although another rule of the unit failed
    assert ev.finding("person.rain_and_dew.grant", "P1", ON).verdict is fr.Outcome.PASS
    with pytest.raises(EngineError, match=f"rule {BAD}, person P1: evaluating condition"):
        ev.finding(BAD, "P1", ON)
    with pytest.raises(RuleEvaluationError, match=f"rule {BAD}, person P2"):
        ev.household("H2", ON)


def test_an_injected_failure_in_an_inference_action_is_isolated(
    policies: dict[str, Policy], monkeypatch: pytest.MonkeyPatch
) -> None:
    _durable()
    real = inference.evaluate_rule

    def broken(rule, subject, ctx, scope=None):  # type: ignore[no-untyped-def]
        if subject.key == "P3":
            raise ZeroDivisionError("injected")
        return real(rule, subject, ctx, scope)

    monkeypatch.setattr(inference, "evaluate_rule", broken)
    run = fr.evaluate(policies["base"], _data(), ON, engine="inference")
    (err,) = run.errors
    assert (err.subject_kind, err.subject_id, err.rule_id) == (
        "person",
        "P3",
        "person.rain_and_dew.grant",
    )
    assert "ZeroDivisionError" in err.message and "injected" in err.message
    assert "V1" in {f.subject_id for f in run.findings}


def test_49_household_rules_run_in_the_inference_engine(policies: dict[str, Policy]) -> None:
    """Was 0 findings and one error per unit: 49 patterns on one fact kind (limit 48)."""
    _durable()
    ref = fr.evaluate(policies["many"], _data(), ON, engine="reference", keep_not_applicable=True)
    inf = fr.evaluate(policies["many"], _data(), ON, engine="inference", keep_not_applicable=True)
    assert inf.errors == () and ref.errors == ()
    assert inf.findings == ref.findings
    assert len([f for f in inf.findings if f.rule_id.startswith("household.test.")]) == 49 * 6
