"""Titles on a rule's outputs and ``applies_if`` (issue 14, Authoring).

Both may be written bare (as before) or as ``{title: {zh, en}, expr: ...}``; a title shows in
the explanations (zh and en) and in the JSON finding instead of the bare name; a malformed
titled entry is a problem naming file:line.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from fupin_rules.domain.dataset import load_dataset
from fupin_rules.errors import PolicyLoadError
from fupin_rules.findings.render import explain, finding_to_json
from fupin_rules.policy import Policy, load_policy_dir
from fupin_rules.testing.engines import engine_names, run_engine

SCOPE_BARE = 'applies_if: school_level in catalogue("vocational_levels")'
SCOPE_TITLED = """applies_if:
      title: {zh: 就读中高职的学生, en: A vocational school student}
      expr: school_level in catalogue("vocational_levels")"""
OUTPUTS = """
    outputs:
      incidence:
        title: {zh: 实际贫困发生率, en: Actual poverty incidence}
        expr: poverty_incidence_rate
      residents: count(residents)
"""


def _package(tmp_path: Path, mini_policy_dir: Path, scope: str, outputs: str) -> Path:
    dst = tmp_path / "mini"
    shutil.copytree(mini_policy_dir, dst)
    rules = dst / "rules/rules.yaml"
    text = rules.read_text("utf-8")
    assert SCOPE_BARE in text
    text = text.replace(SCOPE_BARE, scope)
    text = text.replace("    kind: compliance\n", "    kind: compliance" + outputs, 1)
    rules.write_text(text, "utf-8")
    return dst


@pytest.fixture
def titled(tmp_path: Path, mini_policy_dir: Path) -> Policy:
    return load_policy_dir(_package(tmp_path, mini_policy_dir, SCOPE_TITLED, OUTPUTS))


def _data(policy: Policy) -> tuple[object, dt.date]:
    case = next(c for c in policy.cases if c.id == "village.exactly_two_percent_fails")
    data = {k: list(v) if isinstance(v, list) else v for k, v in case.data.items()}
    data["persons"] = [*data["persons"], {"person_id": "S1", "household_id": "H1"}]
    return load_dataset(data).dataset, case.on


def test_titles_are_loaded(titled: Policy) -> None:
    grant = titled.rule("person.rain_and_dew.grant")
    assert grant.applies_if is not None
    assert (grant.applies_if.title.zh, grant.applies_if.title.en) == (
        "就读中高职的学生",
        "A vocational school student",
    )
    assert grant.applies_if.text == 'school_level in catalogue("vocational_levels")'
    exit_rule = titled.rule("village.exit.standard")
    assert [(o.id, o.title.zh) for o in exit_rule.outputs] == [
        ("incidence", "实际贫困发生率"),
        ("residents", "residents"),  # untitled: its name, as before
    ]


@pytest.mark.parametrize("engine", engine_names())
def test_titles_show_in_explanations(titled: Policy, engine: str) -> None:
    data, on = _data(titled)
    run = run_engine(titled, data, on, engine, keep_not_applicable=True)
    assert not run.errors
    village = next(f for f in run.findings if f.rule_id == "village.exit.standard")
    zh, en = explain(village, "zh"), explain(village, "en")
    assert "实际贫困发生率 (incidence) = " in zh
    assert "Actual poverty incidence (incidence) = " in en
    assert "    residents = " in zh  # an untitled output keeps its bare name
    as_json = finding_to_json(village)
    assert as_json["output_titles"] == {
        "incidence": {"zh": "实际贫困发生率", "en": "Actual poverty incidence"}
    }
    # the service's finding schema (extra keys forbidden) describes it exactly
    from fupin_rules.service.models import FindingModel

    model = FindingModel.model_validate(as_json)
    assert model.model_dump(mode="json", exclude_unset=True) == as_json
    # S1 goes to no vocational school: not applicable, explained by the scope's title
    student = next(
        f for f in run.findings if f.rule_id == "person.rain_and_dew.grant" and f.subject_id == "S1"
    )
    assert student.applies_if is not None
    assert "就读中高职的学生 [applies_if]" in explain(student, "zh")
    assert "A vocational school student [applies_if]" in explain(student, "en")


@pytest.mark.parametrize(
    ("scope", "outputs", "message"),
    [
        (
            "applies_if: {expr: 'school_level == \"x\"'}",
            "\n",
            "rules.person.rain_and_dew.grant.applies_if: missing required key 'title'",
        ),
        (
            SCOPE_BARE,
            "\n    outputs:\n      incidence: {titel: {zh: a, en: b}, expr: poverty_incidence_rate}\n",
            "unknown key 'titel'; did you mean 'title'?",
        ),
    ],
)
def test_malformed_titled_entry_names_file_and_line(
    tmp_path: Path, mini_policy_dir: Path, scope: str, outputs: str, message: str
) -> None:
    folder = _package(tmp_path, mini_policy_dir, scope, outputs)
    with pytest.raises(PolicyLoadError) as info:
        load_policy_dir(folder)
    found = [p for p in info.value.problems if message in p]
    assert found, info.value.problems
    assert "rules.yaml:" in found[0]


def test_diff_lists_changed_titles(tmp_path: Path, mini_policy_dir: Path) -> None:
    """``fupin-rules diff`` names a title given to applies_if or an output."""
    from fupin_rules.authoring.diff import diff_policies

    bare_outputs = OUTPUTS.replace(
        """incidence:
        title: {zh: 实际贫困发生率, en: Actual poverty incidence}
        expr: poverty_incidence_rate""",
        "incidence: poverty_incidence_rate",
    )
    before = load_policy_dir(_package(tmp_path / "a", mini_policy_dir, SCOPE_BARE, bare_outputs))
    after = load_policy_dir(_package(tmp_path / "b", mini_policy_dir, SCOPE_TITLED, OUTPUTS))
    details = {c.name: c.details for c in diff_policies(before, after).items}
    assert details["person.rain_and_dew.grant"] == (
        "applies_if title.zh: 适用范围 → 就读中高职的学生",
        "applies_if title.en: applies if → A vocational school student",
    )
    assert details["village.exit.standard"] == (
        "output incidence title.zh: incidence → 实际贫困发生率",
        "output incidence title.en: incidence → Actual poverty incidence",
    )


def test_policy_reference_page_shows_the_titles(titled: Policy) -> None:
    """The generated policy reference (docs/_ext/policy_reference.py) shows the titles."""
    import importlib.util

    pytest.importorskip("sphinx")
    path = Path(__file__).resolve().parents[3] / "docs/_ext/policy_reference.py"
    spec = importlib.util.spec_from_file_location("policy_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = module.policy_page(titled)
    assert "Applies if (就读中高职的学生 — A vocational school student) `school_level" in page
    assert (
        "`incidence` (实际贫困发生率 — Actual poverty incidence) = `poverty_incidence_rate`" in page
    )
    assert "`residents` = `count(residents)`" in page
