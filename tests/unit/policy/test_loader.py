"""Policy loading: the mini policy loads; every kind of broken file is reported as file:line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fupin_rules.errors import PolicyLoadError, PolicyNotFoundError
from fupin_rules.expr import NUMBER
from fupin_rules.policy import load_policy, load_policy_dir


@pytest.fixture
def broken(tmp_path: Path, mini_policy_dir: Path) -> Path:
    dst = tmp_path / "mini"
    shutil.copytree(mini_policy_dir, dst)
    return dst


def _problems(folder: Path) -> list[str]:
    with pytest.raises(PolicyLoadError) as info:
        load_policy_dir(folder)
    return list(info.value.problems)


def test_mini_policy_loads(mini_policy) -> None:  # type: ignore[no-untyped-def]
    p = mini_policy
    assert p.ref.startswith("mini@0.1.0#") and len(p.content_hash) == 64
    assert [v.qualified_name for v in p.variables] == [
        "household.is_poor",
        "village.poverty_incidence_rate",
    ]
    grant = p.parameters["rain_and_dew.grant_yuan"]
    assert grant.type == NUMBER
    import datetime as dt

    assert grant.at(dt.date(2017, 8, 31)).value == 3000
    assert grant.at(dt.date(2017, 8, 31)).end == dt.date(2017, 8, 31)
    assert grant.at(dt.date(2017, 9, 1)).value == 5000
    assert grant.at(dt.date(2014, 1, 1)) is None
    assert p.clauses["三(五)"].text_missing


def test_exact_yaml_numbers(mini_policy) -> None:  # type: ignore[no-untyped-def]
    from fractions import Fraction

    v = mini_policy.parameters["village_exit.max_incidence_rate"].values[0].value
    assert v == Fraction(1, 50)


def test_same_content_same_hash_and_cached(mini_policy_dir: Path) -> None:
    assert load_policy(mini_policy_dir) is load_policy(mini_policy_dir)


def test_bad_yaml_reports_file_line(broken: Path) -> None:
    (broken / "rules" / "rules.yaml").write_text(
        "rules:\n  - id: x\n    title: [unclosed\n", encoding="utf-8"
    )
    (problem,) = [p for p in _problems(broken) if "invalid YAML" in p]
    assert problem.startswith("rules/rules.yaml:")


def test_complex_key_is_a_problem_naming_the_file(broken: Path) -> None:
    """A '? ' key that is itself a mapping made ruamel raise TypeError (found by the loader fuzz)."""
    fixtures = broken / "cases" / "_fixtures.yaml"
    fixtures.write_text("? " + fixtures.read_text(encoding="utf-8"), encoding="utf-8")
    (problem,) = [p for p in _problems(broken) if "invalid YAML" in p]
    assert problem.startswith("cases/_fixtures.yaml") and "mapping key" in problem


def test_unknown_key_with_suggestion(broken: Path) -> None:
    f = broken / "rules" / "rules.yaml"
    f.write_text(
        f.read_text(encoding="utf-8").replace(
            "    clause: 三(三)\n", "    clause: 三(三)\n    conditons: []\n", 1
        ),
        encoding="utf-8",
    )
    problems = _problems(broken)
    assert any(
        "unknown key 'conditons'" in p
        and "did you mean 'conditions'" in p
        and p.startswith("rules/rules.yaml:")
        for p in problems
    ), problems


def test_bad_expression_points_at_text(broken: Path) -> None:
    f = broken / "rules" / "rules.yaml"
    f.write_text(
        f.read_text(encoding="utf-8").replace(
            "collective_income_yuan >=", "collective_incom_yuan >=", 1
        ),
        encoding="utf-8",
    )
    problems = _problems(broken)
    assert any("collective_incom_yuan" in p and "collective_income_yuan" in p for p in problems), (
        problems
    )
    assert any(
        p.startswith("rules.village.exit.standard.conditions[1]: rules/rules.yaml:")
        for p in problems
    ), problems


def test_syntax_error_shows_caret(broken: Path) -> None:
    f = broken / "rules" / "rules.yaml"
    f.write_text(
        f.read_text(encoding="utf-8").replace(
            "expr: household.is_poor", "expr: household.is_poor and", 1
        ),
        encoding="utf-8",
    )
    problems = _problems(broken)
    assert any("^" in p for p in problems), problems


def test_cycle_between_variables_is_rejected(broken: Path) -> None:
    (broken / "variables" / "cycle.yaml").write_text(
        "variables:\n"
        "  household.a:\n    title: {zh: 甲, en: a}\n    type: number\n    expr: b + 1\n"
        "  household.b:\n    title: {zh: 乙, en: b}\n    type: number\n    expr: a + 1\n",
        encoding="utf-8",
    )
    problems = _problems(broken)
    assert any(
        "cycle between derived variables" in p and "household.a" in p and "household.b" in p
        for p in problems
    ), problems


def test_clause_must_be_listed_and_have_text(broken: Path) -> None:
    f = broken / "rules" / "rules.yaml"
    text = f.read_text(encoding="utf-8").replace("clause: 三(三)\n", "clause: 三(九)\n", 1)
    text = text.replace("clause: 三(二)2\n", "clause: 三(五)\n", 1)
    f.write_text(text, encoding="utf-8")
    problems = _problems(broken)
    assert any("'三(九)' is not listed" in p for p in problems), problems
    assert any("'三(五)' has no source text" in p for p in problems), problems


def test_assumed_parameter_needs_note(broken: Path) -> None:
    f = broken / "parameters" / "params.yaml"
    f.write_text(
        f.read_text(encoding="utf-8").replace(
            "    status: seed\n    values:\n      - {start: 2016-01-01, value: 0.02}",
            "    status: assumed\n    values:\n      - {start: 2016-01-01, value: 0.02}",
        ),
        encoding="utf-8",
    )
    assert any("assumed parameter needs a note" in p for p in _problems(broken))


def test_all_problems_reported_at_once(broken: Path) -> None:
    f = broken / "rules" / "rules.yaml"
    text = (
        f.read_text(encoding="utf-8")
        .replace("kind: compliance", "kind: complience")
        .replace("entity: person", "entity: persn")
    )
    f.write_text(text, encoding="utf-8")
    problems = _problems(broken)
    assert len(problems) >= 2
    assert any("did you mean 'compliance'" in p for p in problems)
    assert any("did you mean 'person'" in p for p in problems)


def test_case_with_unknown_rule(broken: Path) -> None:
    f = broken / "cases" / "cases.yaml"
    f.write_text(
        f.read_text(encoding="utf-8").replace(
            "rule: village.exit.standard, subject: V1, verdict: pass",
            "rule: village.exit.standrd, subject: V1, verdict: pass",
        ),
        encoding="utf-8",
    )
    assert any("unknown rule 'village.exit.standrd'" in p for p in _problems(broken))


def test_unknown_policy_name() -> None:
    with pytest.raises(PolicyNotFoundError, match="no policy package 'nope'"):
        load_policy("nope")


def test_extends_a_relative_folder_and_overrides(tmp_path: Path, mini_policy_dir: Path) -> None:
    parent = tmp_path / "base"
    shutil.copytree(mini_policy_dir, parent)
    child = tmp_path / "child"
    (child / "parameters").mkdir(parents=True)
    (child / "policy.yaml").write_text(
        "id: mini_child\nversion: 0.2.0\ntitle: {zh: 子, en: child}\nextends: ../base\nclauses: []\n",
        encoding="utf-8",
    )
    (child / "parameters" / "p.yaml").write_text(
        "parameters:\n  rain_and_dew.grant_yuan:\n    title: {zh: 标准, en: grant}\n    type: number\n"
        "    unit: yuan\n    clause: 三(二)2\n    status: assumed\n    note: test override\n"
        "    values:\n      - {start: 2015-01-01, value: 3000}\n      - {start: 2018-09-01, value: 6000}\n",
        encoding="utf-8",
    )
    import datetime as dt
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path.parent)  # a relative ``extends`` is resolved from the package, not the cwd
    try:
        pol = load_policy(child)
    finally:
        os.chdir(cwd)
    assert pol.parameters["rain_and_dew.grant_yuan"].at(dt.date(2018, 9, 1)).value == 6000
    assert pol.rule("village.exit.standard").clause == "三(三)"  # inherited
    # an edited parent is seen by the next load of the child (no stale cache)
    p = parent / "parameters" / "params.yaml"
    p.write_text(
        p.read_text(encoding="utf-8").replace("value: 50000", "value: 60000"), encoding="utf-8"
    )
    again = load_policy(child)
    assert again.content_hash != pol.content_hash
    assert again.parameters["village_exit.min_collective_income_yuan"].values[0].value == 60000


def test_package_root_folder_is_accepted(tmp_path: Path, mini_policy_dir: Path) -> None:
    shutil.copytree(mini_policy_dir, tmp_path / "src" / "fupin_policy_mini" / "policy")
    assert load_policy(tmp_path).id == "mini"


def test_did_you_mean_skips_uncitable_clauses(broken: Path) -> None:
    f = broken / "rules" / "rules.yaml"
    f.write_text(
        f.read_text(encoding="utf-8").replace("clause: 三(三)\n", "clause: 三(3)\n", 1),
        encoding="utf-8",
    )
    (problem,) = [p for p in _problems(broken) if "'三(3)'" in p]
    assert "三(五)" not in problem


def test_rule_expressions_in_evaluation_order(mini_policy) -> None:  # type: ignore[no-untyped-def]
    rule = mini_policy.rule("person.rain_and_dew.grant")
    where = [w for w, _ in rule.expressions()]
    assert where == ["applies_if", "condition poor_household", "amount"]
    assert [e for _, e in rule.expressions()] == [
        rule.applies_if.expr,
        rule.conditions[0].expr,
        rule.amount.expr,
    ]
