"""The policy's own period (issue 12, principle 2), in all three engines and every report.

An entitlement or a standard asked for a date outside ``effective`` is not in force: a
not-applicable finding whose scope is the failed "in force" condition, and a notice in the JSON,
Excel and HTML reports. An obligation with a deadline inside the period (``done_by``) is still
checked after it (回头看, year-end assessment). A parameter asked before its first value makes
an amount unknown, never a pass without an amount.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

from fupin_rules.domain.dataset import load_dataset
from fupin_rules.engine.run import Evaluation, run_policy
from fupin_rules.expr import UNKNOWN
from fupin_rules.findings.model import Outcome
from fupin_rules.findings.render import explain, finding_to_json
from fupin_rules.policy import Policy, load_policy
from fupin_rules.reports import evaluation_to_json
from fupin_rules.testing.engines import case_dataset, engine_names, finding_of, run_engine

ROOT = Path(__file__).resolve().parents[3]
COUNTY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
MINI = ROOT / "tests/data/mini_policy"
D = dt.date


@pytest.fixture(scope="module")
def county() -> Policy:
    return load_policy(COUNTY)


def _engines() -> list[str]:
    return engine_names()


def _run(policy: Policy, data: Any, on: dt.date, engine: str) -> Evaluation:
    return run_engine(policy, data, on, engine, keep_not_applicable=True)


_one = finding_of


def _case_data(policy: Policy, case_id: str, **relocation: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        for r in data.get("relocations", []):
            r.update(relocation)

    return case_dataset(policy, case_id, change)


@pytest.mark.parametrize("engine", _engines())
@pytest.mark.parametrize(
    ("on", "in_force"),
    [
        (D(2016, 12, 31), False),  # the day before the period
        (D(2017, 1, 1), True),
        (D(2017, 12, 31), True),
        (D(2018, 1, 1), False),  # the day after
        (D(2020, 9, 1), False),  # the example: it used to answer 5000
    ],
)
def test_rain_and_dew_outside_the_period_is_not_in_force(
    county: Policy, engine: str, on: dt.date, in_force: bool
) -> None:
    data = _case_data(county, "rain_and_dew.autumn_2017_term")
    ev = _run(county, data, on, engine)
    f = _one(ev, "person.rain_and_dew.grant", "P2042")
    assert ("person.rain_and_dew.grant" not in ev.not_in_force) is in_force
    if in_force:
        assert f.verdict is Outcome.PASS and f.amount is not None
        return
    assert f.verdict is Outcome.NOT_APPLICABLE and f.amount is None
    assert f.applies_if is not None and f.applies_if.id == "in_force"
    assert f.applies_if.outcome is Outcome.FAIL and not f.conditions and not f.parameters
    assert "2017-01-01 ~ 2017-12-31" in explain(f, "zh")
    assert finding_to_json(f)["applies_if"]["id"] == "in_force"


@pytest.mark.parametrize("engine", _engines())
def test_an_obligation_due_inside_the_period_is_checked_after_it(
    county: Policy, engine: str
) -> None:
    """回头看 on 2018-03-01: relocation deadlines fell inside 2017, so they still get a verdict."""
    data = _case_data(county, "relocation.turnkey.last_day_of_november", moved_in_on=None)
    ev = _run(county, data, D(2018, 3, 1), engine)
    for rule in (
        "relocation.schedule.turnkey",
        "relocation.schedule.moved_in",
        "county.target.relocation_complete",
    ):
        assert rule not in ev.not_in_force
    assert _one(ev, "relocation.schedule.turnkey", "RL1").verdict is Outcome.PASS
    assert _one(ev, "relocation.schedule.moved_in", "RL1").verdict is Outcome.FAIL
    assert _one(ev, "county.target.relocation_complete", "C1").verdict is Outcome.FAIL
    # a standard without a deadline is not in force after the period
    assert "person.rain_and_dew.grant" in ev.not_in_force


def test_the_three_engines_agree_outside_the_period(county: Policy) -> None:
    data = _case_data(county, "rain_and_dew.autumn_2017_term")
    runs = [_run(county, data, D(2020, 9, 1), e) for e in _engines()]
    first = runs[0]
    for other in runs[1:]:
        assert other.findings == first.findings
        assert other.not_in_force == first.not_in_force


def test_reports_say_not_in_force(county: Policy, tmp_path: Path) -> None:
    data = _case_data(county, "rain_and_dew.autumn_2017_term")
    ev = run_policy(county, data, D(2020, 9, 1))
    summary = evaluation_to_json(ev)["summary"]
    assert summary["not_in_force"]["effective"] == {"start": "2017-01-01", "end": "2017-12-31"}
    assert "person.rain_and_dew.grant" in summary["not_in_force"]["rules"]
    inside = run_policy(county, data, D(2017, 9, 1))
    assert "not_in_force" not in evaluation_to_json(inside)["summary"]

    from fupin_rules.reports.html import render_html

    html = render_html(ev)
    assert 'id="not-in-force"' in html and "2017-01-01 ~ 2017-12-31" in html
    assert 'id="not-in-force"' not in render_html(inside)

    pytest.importorskip("openpyxl")
    from openpyxl import load_workbook

    from fupin_rules.reports.excel import write_problem_list

    out = tmp_path / "p.xlsx"
    write_problem_list(ev, out)
    cells = [c for row in load_workbook(out)["汇总"].iter_rows(values_only=True) for c in row]
    assert "不在效力期 not in force" in cells


# --- a parameter before its first value -----------------------------------------------------


@pytest.fixture
def late_grant(tmp_path: Path) -> Policy:
    """The mini policy with a grant whose first value starts 2017-06-01 (inside the period)."""
    dst = tmp_path / "mini"
    shutil.copytree(MINI, dst)
    params = dst / "parameters/params.yaml"
    text = params.read_text(encoding="utf-8")
    text = text.replace(
        "      - {start: 2015-01-01, value: 3000, status: assumed, note: start date of the old standard unknown}\n",
        "",
    ).replace("{start: 2017-09-01, value: 5000", "{start: 2017-06-01, value: 5000")
    params.write_text(text, encoding="utf-8")
    return load_policy(dst)


@pytest.mark.parametrize("engine", _engines())
@pytest.mark.parametrize(
    ("on", "verdict", "amount"),
    [(D(2017, 5, 31), Outcome.UNKNOWN, None), (D(2017, 6, 1), Outcome.PASS, 5000)],
)
def test_parameter_before_its_first_value_is_unknown_not_a_pass(
    late_grant: Policy, engine: str, on: dt.date, verdict: Outcome, amount: Any
) -> None:
    case = next(c for c in late_grant.cases if c.id == "rain_and_dew.before_autumn_term")
    data = load_dataset(case.data).dataset
    f = _one(_run(late_grant, data, on, engine), "person.rain_and_dew.grant", "P1")
    assert f.verdict is verdict
    assert f.amount == amount
    (p,) = f.parameters
    assert p.name == "rain_and_dew.grant_yuan"
    assert (p.value is UNKNOWN) is (amount is None)
    if amount is None:
        assert p.start is None  # no value, no period


def test_single_decisions_say_not_in_force_too(county: Policy) -> None:
    """The decide-first path of the query API (Evaluator.finding) gives the same answers."""
    import fupin_rules as fr

    data = _case_data(county, "rain_and_dew.autumn_2017_term")
    ev = fr.Evaluator(county, data, engine="reference")
    f = ev.finding("person.rain_and_dew.grant", "P2042", D(2020, 9, 1))
    assert f.verdict is Outcome.NOT_APPLICABLE and f.amount is None
    assert f.applies_if is not None and f.applies_if.id == "in_force"
    inside = ev.finding("person.rain_and_dew.grant", "P2042", D(2017, 9, 1))
    assert inside.verdict is Outcome.PASS and inside.amount is not None


def test_check_prints_the_rules_not_in_force(
    county: Policy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console summary of ``check`` says so too, not only the report files."""
    import json

    from fupin_rules.cli import main

    case = next(c for c in county.cases if c.id == "rain_and_dew.autumn_2017_term")
    data = tmp_path / "d.json"
    data.write_text(json.dumps(case.data, ensure_ascii=False, default=str), encoding="utf-8")
    argv = ["check", str(data), "--policy", str(COUNTY), "--engine", "reference", "--on"]
    assert main([*argv, "2020-09-01"]) in (0, None)
    out = capsys.readouterr().out
    assert "不在政策有效期 2017-01-01 ~ 2017-12-31 内" in out and "person.rain_and_dew.grant" in out
    assert main([*argv, "2017-09-01"]) in (0, None)
    assert "不在政策有效期" not in capsys.readouterr().out
