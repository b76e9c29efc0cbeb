"""The durable-rules inference engine: same findings as the reference, and the field guide's traps."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

pytest.importorskip("durable.engine")

import fupin_rules as fr
from fupin_rules.engine import inference
from fupin_rules.engine.cases import run_cases
from fupin_rules.errors import EngineError
from fupin_rules.policy import load_policy_dir

ON = dt.date(2017, 12, 31)


def _village(n_households: int) -> dict:
    return {
        "county": {"county_id": "C1"},
        "villages": [
            {
                "village_id": "V1",
                "township_id": "T1",
                "collective_income_yuan": "50000",
                "clinic_built": False,
            }
        ],
        "households": [
            {
                "household_id": f"H{i}",
                "village_id": "V1",
                "poverty_status": "registered_poor" if i % 3 == 0 else "non_poor",
            }
            for i in range(n_households)
        ],
        "persons": [
            {
                "person_id": f"P{i}",
                "household_id": f"H{i}",
                "school_level": "secondary_vocational" if i % 2 else "primary",
            }
            for i in range(n_households)
        ],
    }


def test_mini_cases_pass(mini_policy) -> None:  # type: ignore[no-untyped-def]
    assert all(r.passed for r in run_cases(mini_policy, fr.get_engine("inference")))


def test_same_findings_as_reference(mini_policy) -> None:  # type: ignore[no-untyped-def]
    data = _village(60)
    a = fr.evaluate(mini_policy, data, ON, engine="inference", keep_not_applicable=True)
    b = fr.evaluate(mini_policy, data, ON, engine="reference", keep_not_applicable=True)
    assert a.findings == b.findings
    assert a.engine == "inference" and b.engine == "reference"


def test_sessions_are_deleted_beyond_the_live_session_limit(mini_policy) -> None:  # type: ignore[no-untyped-def]
    """More than 1,024 units in a row: each session is deleted after use (the 1,025th live
    session raised MemoryError and later calls segfaulted)."""
    ev = fr.Evaluator(mini_policy, _village(1500), engine="inference")
    seen = 0
    for i in range(1500):
        findings = ev.household(f"H{i}", dt.date(2017, 9, 1))
        assert {f.subject_id for f in findings} <= {
            f"P{i}",
            f"H{i}",
        }  # nothing leaks between sessions
        seen += len(findings)
    assert seen == 750  # every odd household's vocational student gets a Rain and Dew finding


def test_action_failure_is_an_engine_error_and_the_next_unit_works(
    mini_policy, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    ev = fr.Evaluator(mini_policy, _village(4), engine="inference")
    real = inference.evaluate_rule

    def broken(rule, subject, ctx, scope=None):  # type: ignore[no-untyped-def]
        if subject.key == "P1":
            raise ZeroDivisionError("injected")
        return real(rule, subject, ctx, scope)

    monkeypatch.setattr(inference, "evaluate_rule", broken)
    with pytest.raises(
        EngineError,
        match=r"rule person.rain_and_dew.grant, person P1: .*ZeroDivisionError.*injected",
    ):
        ev.household("H1", ON)
    assert [f.subject_id for f in ev.household("H3", ON)] == ["P3"]


def test_a_failing_rule_becomes_an_error_row_and_the_run_completes(
    mini_policy, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    real = inference.evaluate_rule

    def broken(rule, subject, ctx, scope=None):  # type: ignore[no-untyped-def]
        if subject.key == "P1":
            raise ValueError("bad record")
        return real(rule, subject, ctx, scope)

    monkeypatch.setattr(inference, "evaluate_rule", broken)
    run = fr.evaluate(mini_policy, _village(6), ON, engine="inference")
    assert [(e.subject_kind, e.subject_id, e.rule_id) for e in run.errors] == [
        ("person", "P1", "person.rain_and_dew.grant")
    ]
    assert {f.subject_id for f in run.findings} == {"P3", "P5", "V1"}


def test_two_versions_coexist(mini_policy_dir: Path, tmp_path: Path, mini_policy) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "mini2"
    shutil.copytree(mini_policy_dir, other)
    params = other / "parameters" / "params.yaml"
    params.write_text(
        params.read_text(encoding="utf-8").replace("value: 5000", "value: 6000"), encoding="utf-8"
    )
    newer = load_policy_dir(other)
    assert newer.content_hash != mini_policy.content_hash
    data = _village(4)  # P3: a vocational student of a poor household
    old_f = fr.Evaluator(mini_policy, data, engine="inference").eligibility(
        "P3", "person.rain_and_dew.grant", ON
    )
    new_f = fr.Evaluator(newer, data, engine="inference").eligibility(
        "P3", "person.rain_and_dew.grant", ON
    )
    assert (old_f.amount, new_f.amount) == (5000, 6000)
    assert (old_f.policy_hash, new_f.policy_hash) == (mini_policy.content_hash, newer.content_hash)


def test_rules_per_fact_stay_below_error_303() -> None:
    policy = fr.load_policy("county_2017")
    compiled = inference.InferenceEngine._compiled(policy)
    for groups in compiled.groups.values():
        assert all(len(g) <= inference.MAX_RULES_PER_GROUP < 48 for g in groups)


def test_out_of_scope_rules_are_not_fired(mini_policy, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The Rete network routes a subject only to the rules whose scope applies."""
    fired: list[str] = []
    real = inference.evaluate_rule

    def spy(rule, subject, ctx, scope=None):  # type: ignore[no-untyped-def]
        fired.append(
            f"{rule.id}@{subject.key}:{'routed' if scope is None or scope[0] is not False else 'na'}"
        )
        return real(rule, subject, ctx, scope)

    monkeypatch.setattr(inference, "evaluate_rule", spy)
    fr.Evaluator(mini_policy, _village(2), engine="inference").household("H0", ON)
    assert fired == ["person.rain_and_dew.grant@P0:na"]  # P0 is in primary school
