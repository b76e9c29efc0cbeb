"""Package tests for county_2017: discovery, catalogue shapes, rule/catalogue agreement, cases, scale targets."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fupin_policy_county_2017 import policy_path

from fupin_rules.domain.dataset import load_dataset
from fupin_rules.domain.models import Village
from fupin_rules.engine.cases import run_cases
from fupin_rules.engine.run import run_policy
from fupin_rules.policy import load_policy


@pytest.fixture(scope="module")
def policy():
    return load_policy(policy_path())


def test_entry_point_and_path_load_the_same_policy(policy):
    assert (policy_path() / "policy.yaml").is_file()
    by_name = load_policy("county_2017")
    assert by_name.ref == policy.ref
    assert policy.id == "county_2017" and policy.version == "1.1.0"


def test_missing_sections_are_named_and_uncitable(policy):
    for clause in ("三(五)", "三(六)", "三(七)"):
        assert policy.clauses[clause].text_missing
        assert policy.clauses[clause].note
    cited = {r.clause for r in policy.rules}
    assert not cited & {"三(五)", "三(六)", "三(七)"}


def test_31_outpatient_chronic_diseases_assumed(policy):
    """三(二)3 “31种门诊慢性病”: the catalogue keeps exactly 31 entries; names stay assumed until replaced."""
    cat = policy.catalogues["outpatient_chronic_diseases"]
    assert len(cat.items) == 31
    assert len(set(cat.codes)) == 31
    assert cat.status == "assumed"


def test_nine_haves_catalogue_rule_and_variable_agree(policy):
    """三(三) “九有”: nine provisional items, each a Village field, checked one by one by the rule."""
    cat = policy.catalogues["nine_haves"]
    assert len(cat.items) == 9 and cat.status == "assumed"
    assert set(cat.codes) <= set(Village.model_fields)
    rule = policy.rule("village.exit.nine_haves")
    assert rule.status == "assumed"
    assert [c.id for c in rule.conditions] == list(cat.codes)
    assert [c.text for c in rule.conditions] == list(cat.codes)
    var = next(v for v in policy.variables if v.qualified_name == "village.nine_haves_met")
    assert set(re.findall(r"[a-z_]+", var.text)) - {"and"} == set(cat.codes)


def test_data_exchange_conditions_match_catalogue(policy):
    """三(一)1: one condition per department of the catalogue (教育、卫生、人社、民政、残联)."""
    codes = policy.catalogues["data_exchange_departments"].codes
    rule = policy.rule("county.identification.data_exchange")
    assert [c.id for c in rule.conditions] == list(codes)
    assert [c.text for c in rule.conditions] == [
        f'"{c}" in data_exchange_departments' for c in codes
    ]


@pytest.mark.parametrize(
    ("rule_id", "catalogue"),
    [
        ("household.archive.file_identification", "household_file_identification"),
        ("household.archive.file_assistance", "household_file_assistance"),
        ("household.archive.file_exit", "household_file_exit"),
    ],
)
def test_household_file_rules_follow_their_catalogue(policy, rule_id, catalogue):
    """三(一)3 村“一户一档”: each document kind of a category is one condition of its rule."""
    rule = policy.rule(rule_id)
    assert [c.id for c in rule.conditions] == list(policy.catalogues[catalogue].codes)
    for cond in rule.conditions:
        assert f'kind == "{cond.id}"' in cond.text


def test_exit_procedure_rule_follows_the_step_catalogue(policy):
    """三(一)2 申请 → 核查测算 → 公示 → 告知."""
    steps = policy.catalogues["exit_procedure_steps"].codes
    rule = policy.rule("household.exit.procedure_complete")
    assert [c.id for c in rule.conditions][: len(steps)] == list(steps)


def test_every_rule_has_a_passing_and_a_failing_case(policy):
    seen: dict[str, set[str]] = {r.id: set() for r in policy.rules}
    for case in policy.cases:
        for exp in case.expect:
            if exp.verdict:
                seen[exp.rule].add(exp.verdict)
    # the 35,000-person target passes only at scale: see test_persons_target_at_scale
    seen["county.target.persons_exited"].add("pass")
    missing = {r: {"pass", "fail"} - v for r, v in seen.items() if {"pass", "fail"} - v}
    assert not missing


def test_cases(policy):
    results = run_cases(policy)
    failures = [f"{r.case_id}: {f}" for r in results if not r.passed for f in r.failures]
    assert not failures, "\n".join(failures)


def _scale_dataset(persons: int) -> dict:
    households, people = [], []
    size = 35
    for h in range((persons + size - 1) // size):
        hid = f"H{h:05d}"
        households.append(
            {"household_id": hid, "village_id": "V1", "poverty_status": "exited", "exit_year": 2017}
        )
        for i in range(min(size, persons - h * size)):
            people.append({"person_id": f"{hid}P{i:02d}", "household_id": hid})
    return {
        "county": {"county_id": "C1"},
        "townships": [{"township_id": "T1", "county_id": "C1"}],
        "villages": [{"village_id": "V1", "township_id": "T1"}],
        "households": households,
        "persons": people,
    }


@pytest.mark.parametrize(("persons", "verdict"), [(34_999, "fail"), (35_000, "pass")])
def test_persons_target_at_scale(policy, persons, verdict):
    """二 “完成3.5万人农村贫困人口脱贫”: 35,000 exited persons meet the target, 34,999 do not."""
    loaded = load_dataset(_scale_dataset(persons))
    assert not loaded.issues
    ev = run_policy(policy, loaded.dataset, dt.date(2017, 12, 31), strata=("county",))
    finding = next(f for f in ev.findings if f.rule_id == "county.target.persons_exited")
    assert finding.verdict.value == verdict


def test_version_1_0_0_stays_loadable_side_by_side(policy):
    """``county_2017@1.0.0`` loads the frozen copy in releases/1.0.0/, whatever the current version is."""
    old = load_policy("county_2017@1.0.0")
    assert old.version == "1.0.0" and old.id == "county_2017"
    assert (policy_path().parent / "releases" / "1.0.0" / "policy.yaml").is_file()
    results = run_cases(old)
    # the library now enforces the policy's own period (issue 12): a 1.0.0 case dated after
    # 2017 about a rule without done_by() gets "not in force" (not applicable); every other
    # case still passes as it did
    _, end = old.effective
    on = {c.id: c.on for c in old.cases}
    unexpected = [
        (r.case_id, r.failures)
        for r in results
        if not r.passed
        and not (
            end is not None
            and on[r.case_id] > end
            and all("verdict not_applicable" in f for f in r.failures)
        )
    ]
    assert results and not unexpected, unexpected
    current = load_policy(f"county_2017@{policy.version}")
    assert current.ref == policy.ref


def test_unknown_version_names_the_kept_ones():
    from fupin_rules.errors import PolicyNotFoundError

    with pytest.raises(PolicyNotFoundError, match=r"0\.9\.0.*frozen earlier versions: 1\.0\.0"):
        load_policy("county_2017@0.9.0")


def test_no_verdict_rests_on_the_placeholder_disease_names(policy):
    """三(二)3: the 31 names are placeholders (assumed), so no rule or variable reads the catalogue."""
    from fupin_rules.expr import to_source

    for rule in policy.rules:
        for where, expr in rule.expressions():
            assert "outpatient_chronic_diseases" not in to_source(expr), (rule.id, where)
    for var in policy.variables:
        assert "outpatient_chronic_diseases" not in var.text, var.qualified_name


def test_no_household_fails_on_exploring_the_asset_income_model(policy):
    """三(二)1 “针对‘三无’户，探索资产收益扶贫模式”: 探索 is no per-household duty (1.1.0)."""
    from fupin_rules.expr import to_source

    for rule in policy.rules:
        for where, expr in rule.expressions():
            source = to_source(expr)
            assert "three_without" not in source and "asset_income_model" not in source, (
                rule.id,
                where,
            )
    assert any("三无" in item for item, _ in policy.clauses["三(二)1"].uncovered)


def test_diff_from_1_0_0_shows_the_changed_readings_on_the_sample():
    """`fupin-rules diff county_2017@1.0.0 county_2017@1.1.0 --data sample` lists the findings the
    1.1.0 readings change (CHANGELOG.md), and no finding of a rule the release left alone."""
    from fupin_rules.authoring import diff_findings
    from fupin_rules.cli import sample_data_path
    from fupin_rules.io import read_ledger

    old, new = load_policy("county_2017@1.0.0"), load_policy("county_2017@1.1.0")
    sample = read_ledger(sample_data_path()).dataset
    fd = diff_findings(old, new, sample, dt.date(2017, 12, 31))
    changed = {c.rule_id for c in fd.changes}
    # each changed reading shows on the sample county
    assert {
        "person.rain_and_dew.grant",  # the head or spouse in vocational school
        "person.rain_and_dew.paid",  # per term
        "person.health.chronic_disease_codes",  # removed
        "household.three_without.asset_income",  # removed
        "person.health.chronic_disease_treated",  # poor households' recorded patients
        "person.health.chronic_disease_screened",  # new
        "household.pre_exit.industry",  # from records
        "household.identification.record_complete",  # 人员信息
        "household.archive.manual_up_to_date",  # new
        "person.education.aid_received",  # new
        "person.education.not_out_of_school",  # new
        # done_by(): a move-in recorded in 2018, or none, is not yet due on 2017-12-31 (1.0.0:
        # fail for the 2018 dates, unknown without a date)
        "relocation.schedule.moved_in",
        "county.target.relocation_complete",
    } <= changed
    moved_in = {
        (c.before_verdict, c.after_verdict)
        for c in fd.changes
        if c.rule_id == "relocation.schedule.moved_in"
    }
    assert moved_in == {("fail", "pass"), ("unknown", "pass")}
    heads = {
        c.subject_id
        for c in fd.changes
        if c.rule_id == "person.rain_and_dew.grant" and c.after_verdict == "fail"
    }
    relationship = {p.person_id: p.relationship for p in sample.persons}
    assert heads and {relationship[p] for p in heads} <= {"head", "spouse"}
    untouched = {r.id for r in new.rules if r.id.startswith("village.exit.")}
    assert not changed & untouched


def test_status_labels_are_consistent(policy):
    """The library's status lint finds nothing in the package: no parameter labelled seed whose
    values are all assumed, no rule or catalogue labelled seed whose note says it is assumed
    (a finding resting on them would not say it rests on an assumption)."""
    from fupin_rules.policy.lint import status_labels

    assert status_labels(policy) == []


def _rule_text(rule):
    from fupin_rules.expr import to_source

    return (rule.status, *((where, to_source(e)) for where, e in rule.expressions()))


def test_changelog_names_every_rule_the_version_changed(policy):
    """Every rule added, removed or changed (an expression or its status) since the previous
    frozen release is named by id in this version's CHANGELOG section, so the changelog cannot
    silently miss a changed reading (the deadline readings of 三(四)2 and 二 were once lost)."""
    from fupin_policy_county_2017 import __file__ as pkg_file

    releases = sorted(
        (p.name for p in (policy_path().parent / "releases").iterdir() if p.is_dir()),
        key=lambda v: tuple(int(x) for x in v.split(".")),
    )
    previous = load_policy(f"county_2017@{releases[-1]}")
    old = {r.id: _rule_text(r) for r in previous.rules}
    new = {r.id: _rule_text(r) for r in policy.rules}
    changed = {rid for rid in old.keys() | new.keys() if old.get(rid) != new.get(rid)}
    assert changed  # 1.1.0 changed readings
    from pathlib import Path

    text = (Path(pkg_file).resolve().parents[2] / "CHANGELOG.md").read_text(encoding="utf-8")
    section = text.split(f"## {policy.version}", 1)[1].split("\n## ", 1)[0]
    missing = sorted(rid for rid in changed if f"`{rid}`" not in section)
    assert not missing, f"CHANGELOG.md {policy.version} does not name: {missing}"


def test_changelog_and_readme_state_the_deadline_readings(policy):
    """The rules that state a duty with done_by() (三(四)2 turnkey and move-in, 二 relocation
    complete) are explained as deadlines in the CHANGELOG and the package README."""
    from pathlib import Path

    from fupin_policy_county_2017 import __file__ as pkg_file

    root = Path(pkg_file).resolve().parents[2]
    deadline_rules = sorted(
        r.id for r in policy.rules if any("done_by(" in e for _, e in _rule_text(r)[1:])
    )
    assert deadline_rules == [
        "county.target.relocation_complete",
        "relocation.schedule.moved_in",
        "relocation.schedule.turnkey",
    ]
    log = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    section = log.split(f"## {policy.version}", 1)[1].split("\n## ", 1)[0]
    for rid in deadline_rules:
        entry = next(p for p in section.split("\n- ") if f"`{rid}`" in p and "done_by()" in p)
        assert "逾期未完成" in entry and "1.0.0" in entry, rid
    readme = (root / "README.md").read_text(encoding="utf-8")
    for clause in ("| 二 targets |", "| 三(四)1–3 |"):
        row = next(line for line in readme.splitlines() if line.startswith(clause))
        assert "done_by()" in row and "逾期未完成" in row, clause
