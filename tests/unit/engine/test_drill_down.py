"""Drill-down (issue 12, principle 4): a failing condition over children names the children.

Which poor persons are uninsured, which document in the pouch is not allowed, which villages
count toward a target: ids and names, at most MAX_CHILDREN_NAMED, with the total; the same in
the reference, inference and batch engines and in the JSON, Excel and HTML problem lists.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from fupin_rules.domain.dataset import Dataset
from fupin_rules.engine.context import Context, DatasetIndex
from fupin_rules.engine.drill import MAX_CHILDREN_NAMED, drill_plan, drill_specs
from fupin_rules.engine.run import Evaluation, run_policy
from fupin_rules.expr import evaluate, parse, to_source
from fupin_rules.findings.model import Outcome
from fupin_rules.findings.render import explain, finding_to_json
from fupin_rules.policy import Policy, load_policy
from fupin_rules.testing import datasets
from fupin_rules.testing.engines import case_dataset, engine_names, finding_of, run_engine

ROOT = Path(__file__).resolve().parents[3]
COUNTY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
ON = dt.date(2017, 12, 31)


@pytest.fixture(scope="module")
def county() -> Policy:
    return load_policy(COUNTY)


def _engines() -> list[str]:
    return engine_names()


def _run(policy: Policy, data: Any, on: dt.date, engine: str) -> Evaluation:
    return run_engine(policy, data, on, engine)


_case = case_dataset
_one = finding_of


# --- the plan: which aggregates, which test ---------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "kind", "expected"),
    [
        (
            "all(loans, used_by_household)",
            "household",
            [("loans", "not used_by_household", "failing")],
        ),
        (
            'count(documents, kind == "pledge") == 0',
            "household",
            [("documents", 'kind == "pledge"', "counted")],
        ),
        (
            'count(documents, kind == "pledge") >= 1',
            "household",
            [("documents", 'kind == "pledge"', "counted")],
        ),
        (
            "not any(loans, used_by_household)",
            "household",
            [("loans", "used_by_household", "failing")],
        ),
        ("count(documents) == 0", "household", []),  # nobody more to blame than another
        (  # a county target names villages too (the partitioned runner sends its first ones)
            "all(villages, exited_in_target_year)",
            "county",
            [("villages", "not exited_in_target_year", "failing")],
        ),
        ("sum(loans, amount_yuan) <= 5", "household", []),
        (
            "share(residents, basic_medical_insured, household.is_poor) == 1",
            "village",
            [("residents", "household.is_poor and not basic_medical_insured", "failing")],
        ),
    ],
)
def test_drill_plan(
    county: Policy, expr: str, kind: str, expected: list[tuple[str, str, str]]
) -> None:
    got = [(s.collection, to_source(s.test), s.role) for s in drill_plan(county, kind, parse(expr))]
    assert got == expected


def test_plan_follows_derived_variables(county: Policy) -> None:
    rule = county.rule("village.exit.poor_insured")
    (spec,) = drill_specs(county, "village", rule.conditions[0])
    assert (spec.collection, spec.child_kind, spec.role) == ("residents", "person", "failing")


# --- the examples, in every engine ----------------------------------------------------


@pytest.mark.parametrize("engine", _engines())
def test_which_poor_person_is_uninsured(county: Policy, engine: str) -> None:
    ds = _case(county, "village.insured.one_uninsured")
    f = _one(_run(county, ds, ON, engine), "village.exit.poor_insured", "V1")
    assert f.verdict is Outcome.FAIL
    (cond,) = f.failing
    (dd,) = cond.children
    assert (dd.child_kind, dd.role, dd.total) == ("person", "failing", 1)
    ((pid, _name),) = dd.records
    assert pid == "P1021"
    assert "P1021" in explain(f, "zh") and "不符合的记录" in explain(f, "zh")
    (j,) = [c for c in finding_to_json(f)["conditions"] if c["outcome"] == "fail"]
    assert j["children"][0]["records"][0]["id"] == "P1021"


@pytest.mark.parametrize("engine", _engines())
def test_which_document_is_not_allowed_in_the_pouch(county: Policy, engine: str) -> None:
    ds = _case(county, "archives.pouch.pledge_found")
    f = _one(_run(county, ds, ON, engine), "household.archive.pouch_allowed_only", "H202")
    (cond,) = f.failing
    (dd,) = cond.children
    assert (dd.child_kind, dd.role, dd.records, dd.total) == (
        "document",
        "counted",
        (("DX1", "pledge"),),
        1,
    )


@pytest.mark.parametrize("engine", _engines())
def test_the_list_is_capped_with_a_total(county: Policy, engine: str) -> None:
    def uninsured(data: dict[str, Any]) -> None:
        for p in data["persons"]:
            p["basic_medical_insured"] = False

    ds2 = _case(county, "village.insured.one_uninsured", uninsured)
    f = _one(_run(county, ds2, ON, engine), "village.exit.poor_insured", "V1")
    (cond,) = f.failing
    (dd,) = cond.children
    assert len(dd.records) == min(dd.total, MAX_CHILDREN_NAMED)
    if dd.total > MAX_CHILDREN_NAMED:
        assert f"另 {dd.total - MAX_CHILDREN_NAMED} 条" in explain(f, "zh")


def test_passing_and_unknown_conditions_name_nobody(county: Policy) -> None:
    ev = run_policy(county, _case(county, "village.insured.one_uninsured"), ON)
    for f in ev.findings:
        for c in f.conditions:
            if c.outcome is not Outcome.FAIL:
                assert not c.children


# --- the property ---------------------------------------------------------------------------


def _children_ok(policy: Policy, ds: Dataset, ev: Evaluation, on: dt.date) -> None:
    """Every named record is a real child of the subject and passes the spec's test (it fails
    the per-child condition, or it is one of those counted)."""
    ctx = Context(policy, on, DatasetIndex(ds))
    for f in ev.findings:
        rule = policy.rule(f.rule_id)
        for c in f.conditions:
            if not c.children:
                continue
            assert c.outcome is Outcome.FAIL
            cond = next(x for x in rule.conditions if x.id == c.id)
            specs = {s.source: s for s in drill_specs(policy, f.subject_kind, cond)}
            subject = ctx.subject(f.subject_kind, f.subject_id)
            assert subject is not None
            for dd in c.children:
                spec = specs[dd.source]
                kids = {k.key: k for k in subject.children(spec.collection) or ()}
                assert 0 < len(dd.records) <= min(dd.total, MAX_CHILDREN_NAMED)
                for rid, _name in dd.records:
                    assert rid in kids, (f.rule_id, f.subject_id, rid)
                    assert evaluate(spec.test, kids[rid], ctx) is True
                named = [k for k in kids.values() if evaluate(spec.test, k, ctx) is True]
                assert dd.total == len(named)
                assert [r for r, _ in dd.records] == [k.key for k in named[:MAX_CHILDREN_NAMED]]


COUNTY_POLICY = load_policy(COUNTY)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ds=datasets(max_villages=3, max_households=3, near_threshold=True, missing_rate=0.1))
def test_named_children_are_real_children_that_fail_in_every_engine(ds: Dataset) -> None:
    runs = {e: _run(COUNTY_POLICY, ds, ON, e) for e in _engines()}
    ref = runs["reference"]
    _children_ok(COUNTY_POLICY, ds, ref, ON)
    key = {(f.rule_id, f.subject_id): tuple(c.children for c in f.conditions) for f in ref.findings}
    for name, ev in runs.items():
        got = {
            (f.rule_id, f.subject_id): tuple(c.children for c in f.conditions) for f in ev.findings
        }
        assert got == key, name


@pytest.mark.parametrize("engine", _engines())
def test_which_listed_village_has_not_exited(county: Policy, engine: str) -> None:
    """A county target over villages names them: the listed village that has not exited, and the
    villages the target counts (72 of 73: the first 20 named, the total given)."""
    ds = _case(county, "targets.villages.one_exits_in_2018")
    case = next(c for c in county.cases if c.id == "targets.villages.one_exits_in_2018")
    f = _one(_run(county, ds, case.on, engine), "county.target.villages_exited", "C1")
    failing = {c.id: c for c in f.failing}
    (dd,) = failing["all_listed_villages"].children
    assert (dd.child_kind, dd.role, dd.total) == ("village", "failing", 1)
    assert [r for r, _ in dd.records] == ["W01"]
    (counted,) = failing["villages_target"].children
    assert counted.role == "counted" and counted.total == 72
    assert len(counted.records) == MAX_CHILDREN_NAMED and "W01" not in dict(counted.records)
    assert "W01" in explain(f, "zh")


@pytest.mark.parametrize("engine", _engines())
def test_which_relocation_holds_the_county_target_up(county: Policy, engine: str) -> None:
    """易地扶贫搬迁任务全面完成 after the deadline: the overdue relocation is named."""
    case = next(
        c for c in county.cases if c.id == "targets.relocation.move_in_date_missing_after_deadline"
    )
    ds = _case(county, case.id)
    f = _one(_run(county, ds, case.on, engine), "county.target.relocation_complete", "C1")
    (cond,) = f.failing
    (dd,) = cond.children
    assert (dd.child_kind, dd.total, dd.records) == ("relocation", 1, (("RL1", "安置点一"),))


@pytest.mark.parametrize("engine", _engines())
def test_the_cap_of_twenty_with_a_total(county: Policy, engine: str) -> None:
    """A village with more than 20 poor residents uninsured: 20 named, the total given."""

    def crowd(data: dict[str, Any]) -> None:
        base = next(p for p in data["persons"] if p["person_id"] == "P1021")
        for n in range(30):
            data["persons"].append(
                {
                    **base,
                    "person_id": f"PX{n:02d}",
                    "name": f"人{n}",
                    "basic_medical_insured": False,
                }
            )

    ds = _case(county, "village.insured.one_uninsured", crowd)
    f = _one(_run(county, ds, ON, engine), "village.exit.poor_insured", "V1")
    (cond,) = f.failing
    (dd,) = cond.children
    assert dd.total == 31 and len(dd.records) == MAX_CHILDREN_NAMED
    assert dd.records[0][0] == "P1021" and ("PX00", "人0") in dd.records
    assert f"另 {dd.total - MAX_CHILDREN_NAMED} 条" in explain(f, "zh")


def test_problem_lists_name_the_children(county: Policy, tmp_path: Path) -> None:
    """The JSON findings, the Excel level sheets' "why" column and the HTML problem rows."""
    ev = run_policy(county, _case(county, "village.insured.one_uninsured"), ON)
    from fupin_rules.reports import evaluation_to_json
    from fupin_rules.reports.html import render_html

    (j,) = [
        f
        for f in evaluation_to_json(ev)["findings"]
        if f["rule"] == "village.exit.poor_insured" and f["subject"]["id"] == "V1"
    ]
    assert any(c.get("children") for c in j["conditions"])
    assert "P1021" in render_html(ev)
    pytest.importorskip("openpyxl")
    from openpyxl import load_workbook

    from fupin_rules.reports.excel import write_problem_list

    out = tmp_path / "p.xlsx"
    write_problem_list(ev, out)
    wb = load_workbook(out)
    cells = [str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if c]
    assert any("不符合的记录" in c and "P1021" in c and "贫困户参保率" in c for c in cells)
