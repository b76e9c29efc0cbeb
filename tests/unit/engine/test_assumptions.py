"""Assumptions cannot silently fail people (issue 12, principle 3).

Every finding that rests on an assumed reading (rule), catalogue or parameter value says so:
``Finding.assumptions``, ``assumptions`` in the JSON, the Excel 依据假设 column and an HTML
badge; the problem list counts text-stated and assumed problems apart; ``check
--text-stated-only`` runs the text-stated rules only; ``validate`` warns about status labels
that contradict themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from fupin_rules.cli import main
from fupin_rules.domain.dataset import Dataset
from fupin_rules.engine.run import Evaluation, run_policy
from fupin_rules.findings.model import Outcome
from fupin_rules.findings.render import explain, finding_to_json
from fupin_rules.policy import Policy, load_policy
from fupin_rules.policy.lint import status_labels
from fupin_rules.policy.model import text_stated_only
from fupin_rules.reports import evaluation_to_json
from fupin_rules.testing.engines import case_dataset, engine_names, finding_of, run_engine

ROOT = Path(__file__).resolve().parents[3]
COUNTY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
MINI = ROOT / "tests/data/mini_policy"
ON = dt.date(2017, 12, 31)


@pytest.fixture(scope="module")
def county() -> Policy:
    return load_policy(COUNTY)


def _engines() -> list[str]:
    return engine_names()


def _run(policy: Policy, data: Any, on: dt.date, engine: str) -> Evaluation:
    return run_engine(policy, data, on, engine)


def _case(policy: Policy, case_id: str) -> tuple[Dataset, dt.date]:
    case = next(c for c in policy.cases if c.id == case_id)
    return case_dataset(policy, case_id), case.on


_one = finding_of


@pytest.mark.parametrize("engine", _engines())
def test_a_finding_on_an_assumed_value_says_so(county: Policy, engine: str) -> None:
    ds, on = _case(county, "rain_and_dew.autumn_2017_term")
    f = _one(_run(county, ds, on, engine), "person.rain_and_dew.grant", "P2042")
    assert "parameter:rain_and_dew.grant_yuan" in f.assumptions
    assert finding_to_json(f)["assumptions"] == list(f.assumptions)
    assert "本结论依据假定内容" in explain(f, "zh") and "rests on an assumption" in explain(f, "en")


@pytest.mark.parametrize("engine", _engines())
def test_an_assumed_reading_says_so(county: Policy, engine: str) -> None:
    ds, on = _case(county, "targets.relocation.moved_in_after_deadline")
    f = _one(_run(county, ds, on, engine), "county.target.relocation_complete", "C1")
    assert f.verdict is Outcome.FAIL
    assert f.assumptions[0] == "rule:county.target.relocation_complete"


def test_a_text_stated_finding_has_no_assumptions_key(county: Policy) -> None:
    ds, on = _case(county, "relocation.turnkey.first_of_december")
    f = _one(run_policy(county, ds, on), "relocation.schedule.turnkey", "RL1")
    assert f.verdict is Outcome.FAIL and f.assumptions == ()
    assert "assumptions" not in finding_to_json(f)


def test_the_problem_list_separates_stated_and_assumed(county: Policy, tmp_path: Path) -> None:
    ds, on = _case(county, "targets.relocation.moved_in_after_deadline")
    ev = run_policy(county, ds, on)
    assumed, stated = ev.problems_assumed(), ev.problems_text_stated()
    assert assumed and stated and len(assumed) + len(stated) == len(ev.problems())
    s = evaluation_to_json(ev)["summary"]
    assert (s["problems_text_stated"], s["problems_assumed"]) == (len(stated), len(assumed))

    from fupin_rules.reports.html import render_html

    html = render_html(ev)
    assert 'class="v assumed"' in html and 'id="n-problems-assumed"' in html

    pytest.importorskip("openpyxl")
    from openpyxl import load_workbook

    from fupin_rules.reports.excel import write_problem_list

    out = tmp_path / "p.xlsx"
    write_problem_list(ev, out)
    wb = load_workbook(out)
    county_sheet = next(ws for ws in wb if ws.title.startswith("县"))
    rows = list(county_sheet.iter_rows(values_only=True))
    col = list(rows[0]).index("依据假设")
    by_rule = {r[3]: r[col] for r in rows[1:]}
    assert by_rule["county.target.relocation_complete"].startswith("依据假设: rule:")


def test_text_stated_only_runs_no_assumed_rule(county: Policy) -> None:
    reduced = text_stated_only(county)
    assert reduced.content_hash != county.content_hash
    assert 0 < len(reduced.rules) < len(county.rules)
    assert all(not county.assumed_basis(r) for r in reduced.rules)
    ds, on = _case(county, "targets.relocation.moved_in_after_deadline")
    ev = run_policy(reduced, ds, on)
    assert ev.findings and all(not f.assumptions for f in ev.findings)


def test_check_text_stated_only_option(
    county: Policy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = next(c for c in county.cases if c.id == "targets.relocation.moved_in_after_deadline")
    data = tmp_path / "d.json"
    data.write_text(json.dumps(case.data, ensure_ascii=False, default=str), encoding="utf-8")
    out = tmp_path / "r.json"
    argv = ["check", str(data), "--policy", str(COUNTY), "--on", "2018-01-01", "--engine"]
    code = main([*argv, "reference", "--out", str(out), "--text-stated-only"])
    assert code in (0, None)
    assert "text-stated rules only" in capsys.readouterr().out
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["findings"] and all("assumptions" not in f for f in report["findings"])
    assert "county.target.relocation_complete" not in {f["rule"] for f in report["findings"]}


def test_status_labels_lint(tmp_path: Path) -> None:
    """The mini policy's grant: every value assumed, labelled seed -> a warning; fixed -> none."""
    dst = tmp_path / "mini"
    shutil.copytree(MINI, dst)
    warnings = status_labels(load_policy(dst))
    assert any("parameter rain_and_dew.grant_yuan is labelled seed" in w for w in warnings)
    params = dst / "parameters/params.yaml"
    params.write_text(
        params.read_text(encoding="utf-8").replace(
            "    status: seed\n    note: 由3000", "    status: assumed\n    note: 由3000", 1
        ),
        encoding="utf-8",
    )
    rules = dst / "rules/rules.yaml"
    rules.write_text(
        rules.read_text(encoding="utf-8").replace(
            "    kind: eligibility\n    status: seed\n",
            "    kind: eligibility\n    status: seed\n    note: amount assumed from the national standard\n",
            1,
        ),
        encoding="utf-8",
    )
    warnings = status_labels(load_policy(dst))
    assert not any("parameter rain_and_dew.grant_yuan" in w for w in warnings)
    assert any(
        "rule person.rain_and_dew.grant is labelled seed but its note" in w for w in warnings
    )


def test_every_finding_on_an_assumption_says_so_in_every_report(
    county: Policy, tmp_path: Path
) -> None:
    """On the sample county, each problem's JSON ``assumptions``, Excel 依据假设 cell and HTML
    badge are present exactly when its rule rests on an assumption (Policy.assumed_basis), and
    the two counts of the 问题清单 add up to the problems."""
    from fupin_rules.cli import sample_data_path
    from fupin_rules.io import read_ledger
    from fupin_rules.reports.html import render_html

    sample = read_ledger(sample_data_path()).dataset
    ev = run_policy(county, sample, ON)
    problems = ev.problems()
    resting = {r.id for r in county.rules if county.assumed_basis(r)}
    assert {f.rule_id for f in problems} & resting and {f.rule_id for f in problems} - resting
    for f in problems:
        assert f.assumptions == county.assumed_basis(county.rule(f.rule_id)), f.rule_id
    report = evaluation_to_json(ev)
    for j in report["findings"]:
        if j["verdict"] == "fail":
            assert ("assumptions" in j) is (j["rule"] in resting), j["rule"]
    s = report["summary"]
    assert s["problems_text_stated"] + s["problems_assumed"] == s["problems"] == len(problems)
    html = render_html(ev, max_rows=10**6)  # every row (the default shows 20 per group)
    rows = re.findall(
        r'<small class=en>([a-z_.0-9]+)</small></td><td class="nw">[^<]*</td><td>(.*?)</td>', html
    )
    assert len(rows) >= len(problems)
    for rule_id, badges in rows:
        assert ('class="v assumed"' in badges) is (rule_id in resting), rule_id

    pytest.importorskip("openpyxl")
    from openpyxl import load_workbook

    from fupin_rules.reports.excel import write_problem_list

    out = tmp_path / "p.xlsx"
    write_problem_list(ev, out)
    seen = 0
    for ws in load_workbook(out, read_only=True):
        rows = ws.iter_rows(values_only=True)
        header = list(next(rows, ()))
        if "依据假设" not in header or "规则编号" not in header:
            continue
        rule_col, mark_col = header.index("规则编号"), header.index("依据假设")
        for row in rows:
            if row[rule_col] is None:
                continue
            seen += 1
            assert bool(row[mark_col]) is (row[rule_col] in resting), row[rule_col]
    assert seen >= len(problems)


@pytest.mark.parametrize("engine", _engines())
def test_a_seed_rule_on_an_assumed_variable_says_so(county: Policy, engine: str) -> None:
    """参保率100% (三(三)3) is stated by the plan, but who counts as a poor household's member
    (exited households included, 脱贫不脱政策) is the assumed variable is_registered_poor: the
    finding says it rests on it, and --text-stated-only leaves the rule out."""
    rule = county.rule("village.exit.poor_insured")
    assert rule.status == "seed"
    assert county.assumed_basis(rule) == ("variable:household.is_registered_poor",)
    ds, on = _case(county, "village.insured.one_uninsured")
    f = _one(_run(county, ds, on, engine), "village.exit.poor_insured", "V1")
    assert f.verdict is Outcome.FAIL
    assert f.assumptions == ("variable:household.is_registered_poor",)
    assert finding_to_json(f)["assumptions"] == ["variable:household.is_registered_poor"]
    assert "village.exit.poor_insured" not in {r.id for r in text_stated_only(county).rules}


def test_a_progress_output_does_not_make_a_finding_assumed(county: Policy) -> None:
    """The village target's verdict rests on recorded exit dates; its progress output
    meets_standard_not_exited reads exit_ready (assumed variables) but decides nothing."""
    rule = county.rule("county.target.villages_exited")
    assert any(o.id == "meets_standard_not_exited" for o in rule.outputs)
    assert county.assumed_basis(rule) == ()


def test_variable_status_is_loaded_and_linted(tmp_path: Path) -> None:
    dst = tmp_path / "mini"
    shutil.copytree(MINI, dst)
    variables = dst / "variables/vars.yaml"
    original = variables.read_text(encoding="utf-8")
    noted = original.replace(
        "    type: bool\n    expr: poverty_status in",
        "    type: bool\n    note: assumed reading of who is poor\n    expr: poverty_status in",
        1,
    )
    assert noted != original
    variables.write_text(noted, encoding="utf-8")
    warnings = status_labels(load_policy(dst))
    assert any("variable household.is_poor is labelled seed but its note" in w for w in warnings)
    variables.write_text(
        noted.replace("    note: assumed", "    status: assumed\n    note: assumed", 1),
        encoding="utf-8",
    )
    policy = load_policy(dst)
    assert not any("variable household.is_poor" in w for w in status_labels(policy))
    (var,) = [v for v in policy.variables if v.qualified_name == "household.is_poor"]
    assert (var.status, var.note) == ("assumed", "assumed reading of who is poor")
    # an assumed variable must say why
    variables.write_text(
        original.replace("    type: bool\n", "    type: bool\n    status: assumed\n", 1),
        encoding="utf-8",
    )
    from fupin_rules.errors import PolicyLoadError

    with pytest.raises(PolicyLoadError, match="an assumed variable needs a note"):
        load_policy(dst)
