"""A rule the batch engine cannot evaluate becomes an error row; every other rule still runs."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import attrs
import pytest

import fupin_rules as fr
from fupin_rules.batch import compute, evaluate_batch
from fupin_rules.batch.compiler import BatchUnsupportedError
from fupin_rules.engine.run import SubjectError, run_policy
from fupin_rules.policy import Policy, load_policy
from fupin_rules.reports.json_report import to_json_text

ON = dt.date(2017, 12, 31)
BAD = "village.test.unsupported"

CHILD = """id: mini_bad
version: 0.1.0
title: {zh: 含批量引擎不支持规则的测试包, en: Test policy with a rule the batch engine refuses}
extends: ../base
clauses: []
"""

RULES = """rules:
  - id: village.test.unsupported
    clause: 三(三)
    title: {zh: 测试：户均收入比率之和, en: "Test: sum of per-household ratios"}
    entity: village
    kind: compliance
    status: assumed
    note: a sum over computed ratios, which the batch compiler refuses (BatchUnsupportedError)
    conditions:
      - id: ratio_sum
        title: {zh: 比率之和非负, en: Sum of ratios not negative}
        expr: sum(households, count(members, known(annual_income_yuan)) / count(members)) >= 0
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    where = tmp_path_factory.mktemp("isolation")
    shutil.copytree(Path(request.config.rootpath) / "tests/data/mini_policy", where / "base")
    (where / "child").mkdir()
    (where / "child" / "policy.yaml").write_text(CHILD, encoding="utf-8")
    (where / "child" / "rules").mkdir()
    (where / "child" / "rules" / "bad.yaml").write_text(RULES, encoding="utf-8")
    return where


@pytest.fixture(scope="module")
def policies(root: Path) -> tuple[Policy, Policy]:
    return load_policy(root / "base"), load_policy(root / "child")


def _data() -> fr.Dataset:
    from fupin_rules.cli import sample_data_path

    return fr.load_data(sample_data_path()).dataset


def test_the_rule_is_refused_by_the_compiler_and_fine_for_the_reference(
    policies: tuple[Policy, Policy],
) -> None:
    _, child = policies
    ref = run_policy(child, _data(), ON)
    assert ref.errors == ()
    assert any(f.rule_id == BAD for f in ref.findings)


def test_failed_rule_is_one_error_row_and_the_rest_is_unchanged(
    policies: tuple[Policy, Policy],
) -> None:
    base, child = policies
    data = _data()
    result = compute(child, data, ON)
    assert BAD not in result.rules
    (err,) = result.errors
    assert isinstance(err, SubjectError)
    assert (err.rule_id, err.subject_kind, err.subject_id, err.stratum) == (
        BAD,
        "village",
        "*",
        "village",
    )
    villages = len(data.villages)
    assert f"{villages} village subjects" in err.message
    assert BatchUnsupportedError.__name__ in err.message
    assert "规则评估失败" in err.message

    good = evaluate_batch(base, data, ON, materialize="all")
    mixed = evaluate_batch(child, data, ON, materialize="all")
    assert mixed.errors == (err,)
    # every other rule's findings, unchanged (apart from the policy that produced them)
    same = {"policy_id": "x", "policy_version": "x", "policy_hash": "x"}
    assert [attrs.evolve(f, **same) for f in mixed.findings] == [
        attrs.evolve(f, **same) for f in good.findings
    ]
    assert len(good.findings) > 100
    report = json.loads(to_json_text(mixed))
    assert report["summary"]["unit_errors"] == 1
    assert report["unit_errors"] == [
        {"stratum": "village", "subject": "village:*", "message": err.message, "rule": BAD}
    ]


def test_cli_exit_code_for_a_failed_rule(root: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fupin_rules.cli import EXIT_UNIT_ERRORS, app

    out = tmp_path / "r.json"
    args = ["check", "--policy", str(root / "child"), "--engine", "batch", "-o", str(out), "-q"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == EXIT_UNIT_ERRORS, res.output
    assert json.loads(out.read_text(encoding="utf-8"))["unit_errors"][0]["rule"] == BAD


def test_a_rule_whose_findings_cannot_be_built_is_an_error_row(
    policies: tuple[Policy, Policy], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fupin_rules.batch import explain

    base, _ = policies
    data = _data()
    good = evaluate_batch(base, data, ON, materialize="all")
    real = explain._rule_findings

    def failing(c, rule, *args):  # type: ignore[no-untyped-def]
        if rule.id == "village.exit.standard":
            raise ValueError("explanation failed")
        return real(c, rule, *args)

    monkeypatch.setattr(explain, "_rule_findings", failing)
    ev = evaluate_batch(base, data, ON, materialize="all")
    (err,) = ev.errors
    assert err.rule_id == "village.exit.standard"
    assert "ValueError: explanation failed" in err.message
    assert ev.findings == tuple(f for f in good.findings if f.rule_id != "village.exit.standard")
