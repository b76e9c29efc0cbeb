"""Hostile policy files (issue 17, "The policy loader"): refused quickly, as file:line problems.

An alias bomb expanded to gigabytes, '1e999999999' hung the loader, an ``extends`` cycle took a
minute and produced a 57 KB error, an impossible YAML date and a 500-term expression were
tracebacks. Each is now a :class:`PolicyLoadError` naming the file and line, within a second or
two (the time bound below is generous for a loaded machine; without the fixes these hang).
"""

from __future__ import annotations

import re
import shutil
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from fupin_rules.errors import PolicyLoadError
from fupin_rules.expr.parser import MAX_EXPRESSION_DEPTH
from fupin_rules.policy import load_policy, load_policy_dir

PARAMS = Path("parameters") / "params.yaml"
RULES = Path("rules") / "rules.yaml"
CLINIC = "expr: not clinic_built or clinic_has_qualified_doctor"


@pytest.fixture
def mini(tmp_path: Path, mini_policy_dir: Path) -> Path:
    dst = tmp_path / "mini"
    shutil.copytree(mini_policy_dir, dst)
    return dst


def _edit(root: Path, rel: Path, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, (rel, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _refused_quickly(load: Callable[[], object], seconds: float = 10.0) -> list[str]:
    """The problems of a PolicyLoadError raised by ``load`` within ``seconds`` (in a thread, so
    a hang fails the test instead of stalling the run)."""
    outcome: list[BaseException | object] = []
    worker = threading.Thread(target=lambda: outcome.append(_catch(load)), daemon=True)
    start = time.perf_counter()
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still loading after {seconds} s"
    assert outcome, "no outcome"
    (got,) = outcome
    assert isinstance(got, PolicyLoadError), got
    assert time.perf_counter() - start < seconds
    return list(got.problems)


def _catch(load: Callable[[], object]) -> BaseException | object:
    try:
        return load()
    except BaseException as exc:  # the test inspects whatever came out
        return exc


def _at(problems: list[str], rel: Path, line: int) -> str:
    hits = [p for p in problems if f"{rel.as_posix()}:{line}:" in p]
    assert hits, problems
    return hits[0]


def test_billion_laughs_is_refused_at_once(mini: Path) -> None:
    anchors = ['  a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        anchors.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    path = mini / PARAMS
    text = path.read_text(encoding="utf-8").replace("note: 由3000元提高到5000元", "note: *a9", 1)
    path.write_text("x_bomb:\n" + "\n".join(anchors) + "\n" + text, encoding="utf-8")
    problems = _refused_quickly(lambda: load_policy_dir(mini))
    bomb = [p for p in problems if "aliases" in p]
    assert len(bomb) == 1 and re.search(r"params\.yaml:\d+:\d+: YAML aliases", bomb[0]), problems
    assert "billion laughs" in bomb[0]


def test_a_few_aliases_still_work(mini: Path) -> None:
    """Anchors and aliases are YAML; only an expansion beyond the cap is refused."""
    _edit(mini, PARAMS, "note: 由3000元提高到5000元", "note: &n 由3000元提高到5000元")
    _edit(mini, PARAMS, "note: start date of the old standard unknown", "note: *n")
    policy = load_policy_dir(mini)
    values = policy.parameters["rain_and_dew.grant_yuan"].values
    assert values[0].note == "由3000元提高到5000元"


def test_an_anchor_defined_twice_is_refused_naming_both_lines(mini: Path) -> None:
    """Found by the policy fuzzer: ruamel only warns about a reused anchor (an exception under
    -W error, a stderr line otherwise) and lets later aliases take the second value."""
    _edit(mini, PARAMS, "note: 由3000元提高到5000元", "note: &n 由3000元提高到5000元")
    _edit(mini, PARAMS, "note: start date of the old standard unknown", "note: &n other")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # whatever ruamel does with warnings, the answer is
        problems = _refused_quickly(lambda: load_policy_dir(mini))  # a PolicyLoadError
    (hit,) = [p for p in problems if "defined twice" in p]
    assert re.search(r"params\.yaml:\d+:\d+: invalid YAML: the anchor &n is defined twice", hit)
    assert "(first at line 8)" in hit


def test_an_alias_inside_its_own_value_is_refused(mini: Path) -> None:
    _edit(mini, PARAMS, "note: 由3000元提高到5000元", "note: &loop [1, *loop]")
    problems = _refused_quickly(lambda: load_policy_dir(mini))
    assert "refers to the value that contains it" in _at(problems, PARAMS, 8)


@pytest.mark.parametrize(
    "value",
    ["'1e999999999'", "'1e-999999999'", '"9e99999"', "1" + "0" * 5000, "'" + "7" * 100_000 + "'"],
    ids=["exponent", "negative-exponent", "exponent-double-quoted", "5000-digits", "long-string"],
)
def test_huge_numbers_are_refused_quickly(mini: Path, value: str) -> None:
    _edit(
        mini, PARAMS, "{start: 2016-01-01, value: 50000}", f"{{start: 2016-01-01, value: {value}}}"
    )
    problems = _refused_quickly(lambda: load_policy_dir(mini))
    line = _at(problems, PARAMS, 27)
    assert "digits" in line and len(line) < 400, line


def test_an_impossible_yaml_date_is_a_file_line_problem(mini: Path) -> None:
    _edit(mini, PARAMS, "{start: 2016-01-01, value: 50000}", "{start: 2017-02-30, value: 50000}")
    problems = _refused_quickly(lambda: load_policy_dir(mini))
    assert "'2017-02-30' is not a valid date" in _at(problems, PARAMS, 27)


@pytest.mark.parametrize("value", ["!!float 'x'", "!!int 'ten'", "!!bool 'maybe'"])
def test_a_tagged_scalar_not_of_its_type_is_a_file_line_problem(mini: Path, value: str) -> None:
    """Found by the YAML-level fuzzer: ``!!float 'x'`` was a ValueError traceback."""
    _edit(
        mini, PARAMS, "{start: 2016-01-01, value: 50000}", f"{{start: 2016-01-01, value: {value}}}"
    )
    problems = _refused_quickly(lambda: load_policy_dir(mini))
    assert "is not a valid" in _at(problems, PARAMS, 27)


def test_extends_itself_is_a_cycle_named_at_once(mini: Path) -> None:
    _edit(mini, Path("policy.yaml"), "clauses:\n", "extends: ./\nclauses:\n")
    problems = _refused_quickly(lambda: load_policy_dir(mini))
    assert len(problems) == 1 and len(problems[0]) < 500, problems
    assert f"policy.yaml:7:10: policy.extends: a cycle: {mini} -> {mini}" in problems[0]


def test_an_extends_cycle_of_two_is_named_at_once(tmp_path: Path, mini_policy_dir: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for here, there in ((a, "../b"), (b, "../a")):
        shutil.copytree(mini_policy_dir, here)
        _edit(here, Path("policy.yaml"), "clauses:\n", f"extends: {there}\nclauses:\n")
    problems = _refused_quickly(lambda: load_policy(a))
    assert len(problems) == 1 and len(problems[0]) < 500, problems
    assert f"a cycle: {a} -> {b} -> {a}" in problems[0]
    # and loading after the failure still works (the chain of folders being loaded was reset)
    _edit(b, Path("policy.yaml"), "extends: ../a\n", "")
    assert load_policy(a).meta.extends == "../b"


@pytest.mark.parametrize(
    "expr",
    [
        " + ".join(["collective_income_yuan"] * 500) + " >= 0",
        "not " * 500 + "clinic_built",
        "-" * 500 + "collective_income_yuan >= 0",
        "max(" * 500 + "collective_income_yuan" + ")" * 500 + " >= 0",
    ],
    ids=["sum", "not", "minus", "calls"],
)
def test_a_500_deep_expression_is_a_clear_problem(mini: Path, expr: str) -> None:
    _edit(mini, RULES, CLINIC, f"expr: {expr}")
    problems = _refused_quickly(lambda: load_policy_dir(mini))
    (deep,) = [p for p in problems if "nests" in p]
    assert f"rules/rules.yaml:{29}:15" in deep and "split it into named variables" in deep
    assert len(deep) < 1000, len(deep)  # a window of the expression around the caret
    assert "RecursionError" not in "".join(problems)


def test_500_parentheses_around_one_value_are_fine(mini: Path) -> None:
    _edit(mini, RULES, CLINIC, "expr: " + "(" * 500 + "clinic_built" + ")" * 500)
    assert load_policy_dir(mini).rules


def test_an_expression_at_the_depth_limit_runs_in_every_engine(mini: Path) -> None:
    """The limit is below what the engines need: a sum nesting exactly the maximum loads and
    gives the same finding in the reference, batch and inference engines."""
    import datetime as dt
    import json

    from fupin_rules.api import evaluate
    from fupin_rules.batch import evaluate_batch
    from fupin_rules.engine.inference import durable_available

    terms = MAX_EXPRESSION_DEPTH - 2  # start -> compare -> the sum's binary chain
    _edit(mini, RULES, CLINIC, "expr: " + " + ".join(["1"] * terms) + f" == {terms}")
    policy = load_policy_dir(mini)
    case = next(c for c in policy.cases if c.id == "village.exactly_two_percent_fails")
    data = json.loads(json.dumps(case.data, default=str))
    on = dt.date(2017, 12, 31)

    def clinic(ev: object) -> list[str]:
        return [
            str(c.outcome)
            for f in ev.findings  # type: ignore[attr-defined]
            if f.rule_id == "village.exit.standard"
            for c in f.conditions
            if c.id == "clinic_doctor"
        ]

    engines = ["reference"] + (["inference"] if durable_available() else [])
    results = [clinic(evaluate(policy, data, on, engine=e)) for e in engines]
    results.append(clinic(evaluate_batch(policy, data, on, materialize="all")))
    assert all(r == ["pass"] for r in results), results


@pytest.mark.parametrize(
    "value",
    [
        "[" + ", ".join(["'" + "9" * 4500 + "'"] * 5) + "]",  # the fuzzer's find: 20 KB quoted
        "'" + "x" * 50_000 + "'",
    ],
)
def test_a_huge_wrong_value_is_quoted_short(mini: Path, value: str) -> None:
    """A wrong value is quoted cut short in its problem (was quoted whole: a list of five
    4,500-digit strings as a case's date gave a 22 KB message)."""
    _edit(mini, Path("cases") / "cases.yaml", "on: 2017-08-31", f"on: {value}")
    problems = _refused_quickly(lambda: load_policy_dir(mini))
    line = _at(problems, Path("cases") / "cases.yaml", 3)
    assert "expected a date YYYY-MM-DD" in line and len(line) < 400, line[:500]


def test_every_problem_message_is_bounded(mini: Path) -> None:
    """Whatever message quotes a huge value (here an unknown fixture name, which the loader
    quotes with its did-you-mean), the problem stays short: cut in the middle, saying how much
    was left out, the file:line kept."""
    value = "[" + ", ".join(["'" + "9" * 4500 + "'"] * 5) + "]"
    _edit(mini, Path("cases") / "cases.yaml", "fixture: village_50", f"fixture: {value}")
    problems = _refused_quickly(lambda: load_policy_dir(mini))
    line = _at(problems, Path("cases") / "cases.yaml", 4)
    assert "unknown fixture" in line and "characters left out" in line
    assert len(line) < 2200, len(line)
