"""Author commands through ``main(argv)``: new-policy scaffolds a package that validates and
passes its cases; diff lists changed items and, with data, the subjects whose finding changes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import tomllib
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

import pytest

import fupin_rules as fr
from fupin_rules.authoring import diff_findings, diff_policies, render_diff, scaffold_policy
from fupin_rules.authoring.scaffold import ScaffoldError
from fupin_rules.cli import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- new-policy
@pytest.fixture
def scaffolded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, out, _ = _run(["new-policy", "county_2099", "--dir", str(tmp_path)], capsys)
    assert code == 0, out
    assert "fupin-rules validate" in out
    return tmp_path / "county_2099"


def _policy_dir(root: Path) -> Path:
    return root / "src" / "fupin_policy_county_2099" / "policy"


def test_scaffold_validates_and_its_cases_pass(
    scaffolded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy_dir = _policy_dir(scaffolded)
    code, out, err = _run(["validate", str(policy_dir)], capsys)
    assert code == 0, err
    assert "county_2099@0.1.0" in out and "OK" in out
    assert "warning" not in out  # the example parameter is used by the example rule
    code, out, _ = _run(["test", str(policy_dir), "--engine", "reference", "-v"], capsys)
    assert code == 0, out
    assert "2 passed, 0 failed" in out


def test_scaffold_is_an_installable_distribution(scaffolded: Path) -> None:
    project = tomllib.loads((scaffolded / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == "fupin-policy-county-2099"
    target = project["project"]["entry-points"]["fupin_rules.policies"]["county_2099"]
    assert target == "fupin_policy_county_2099:policy_path"
    policy = fr.load_policy(_policy_dir(scaffolded))
    assert project["project"]["version"] == policy.version
    # the entry point's target resolves to the policy folder (import by file: not installed here)
    init = scaffolded / "src" / "fupin_policy_county_2099" / "__init__.py"
    spec = spec_from_file_location("fupin_policy_county_2099", init)
    assert spec is not None and spec.loader is not None
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.policy_path() == _policy_dir(scaffolded).resolve()


def test_scaffold_own_tests_pass_under_pytest(scaffolded: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=scaffolded,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed" in proc.stdout


def test_scaffold_refuses_bad_name_and_non_empty_folder(
    tmp_path: Path, scaffolded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["new-policy", "County-2018", "--dir", str(tmp_path)], capsys)
    assert code == 2
    assert "not a policy id" in err and "'county_2018'" in err
    code, _, err = _run(["new-policy", "county_2099", "--dir", str(scaffolded.parent)], capsys)
    assert code == 2 and "not empty" in err
    with pytest.raises(ScaffoldError):
        scaffold_policy("2018", tmp_path)


# --------------------------------------------------------------------------- diff
@pytest.fixture
def modified_mini(tmp_path: Path, mini_policy_dir: Path) -> Path:
    """A copy of the mini policy with one change of every sort the diff reports."""
    copy = tmp_path / "mini_v2"
    shutil.copytree(mini_policy_dir, copy)

    def edit(rel: str, old: str, new: str) -> None:
        path = copy / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    edit("policy.yaml", "version: 0.1.0", "version: 0.2.0")
    edit("parameters/params.yaml", "value: 50000}", "value: 60000}")  # collective income line
    edit(
        "rules/rules.yaml",
        "expr: poverty_incidence_rate < param",
        "expr: poverty_incidence_rate <= param",
    )
    edit("rules/rules.yaml", "en: Rain and Dew training grant}", "en: Rain and Dew grant}")
    edit(
        "catalogues/schools.yaml",
        "      - {code: higher_vocational, zh: 高职, en: Higher vocational}\n",
        "      - {code: higher_vocational, zh: 高职, en: Higher vocational}\n"
        "      - {code: undergraduate, zh: 本科, en: Undergraduate}\n",
    )
    return copy


def test_diff_lists_every_changed_item(
    mini_policy_dir: Path, modified_mini: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["diff", str(mini_policy_dir), str(modified_mini)], capsys)
    assert code == 0, err
    assert "--- mini@0.1.0#" in out and "+++ mini@0.2.0#" in out
    assert "version: 0.1.0 → 0.2.0" in out
    assert "~ parameter village_exit.min_collective_income_yuan" in out
    assert "value from 2016-01-01: 50000 (seed) → 60000 (seed)" in out
    assert "~ rule village.exit.standard" in out
    assert (
        'condition incidence: poverty_incidence_rate < param("village_exit.max_incidence_rate")'
        ' → poverty_incidence_rate <= param("village_exit.max_incidence_rate")'
    ) in out
    assert "title.en: Rain and Dew training grant → Rain and Dew grant" in out
    assert "~ catalogue vocational_levels" in out and "items added: undergraduate" in out
    # untouched items are not listed
    assert "rain_and_dew.grant_yuan" not in out
    assert "variable" not in out


def test_diff_of_a_policy_with_itself_is_empty(
    mini_policy_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["diff", str(mini_policy_dir), str(mini_policy_dir), "--exit-code"], capsys)
    assert code == 0
    assert "no differences" in out


def test_diff_exit_code_and_json(
    mini_policy_dir: Path, modified_mini: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["diff", str(mini_policy_dir), str(modified_mini), "--format", "json", "--exit-code"]
    code, out, _ = _run(argv, capsys)
    assert code == 1
    doc = json.loads(out)
    changed = {(i["kind"], i["name"]) for i in doc["items"] if i["change"] == "changed"}
    assert ("parameter", "village_exit.min_collective_income_yuan") in changed
    assert ("rule", "village.exit.standard") in changed
    assert ("rule", "person.rain_and_dew.grant") in changed


def test_whitespace_in_an_expression_is_not_a_change(mini_policy_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "mini_spaced"
    shutil.copytree(mini_policy_dir, copy)
    rules = copy / "rules" / "rules.yaml"
    rules.write_text(
        rules.read_text(encoding="utf-8").replace(
            "expr: not clinic_built or clinic_has_qualified_doctor",
            "expr: not clinic_built   or   (clinic_has_qualified_doctor)",
        ),
        encoding="utf-8",
    )
    assert diff_policies(fr.load_policy(mini_policy_dir), fr.load_policy(copy)).identical


def _dataset_file(policy: fr.Policy, tmp_path: Path) -> Path:
    data = json.loads(json.dumps(policy.cases[0].data, default=str))
    for household in data["households"]:  # no poor household: incidence 0, the village passes
        household["poverty_status"] = "non_poor"
    path = tmp_path / "village_50.json"
    path.write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")
    return path


def test_diff_with_data_lists_changed_subjects(
    mini_policy_dir: Path, modified_mini: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = fr.load_policy(mini_policy_dir)
    data = _dataset_file(before, tmp_path)
    village = json.loads(data.read_text(encoding="utf-8"))["villages"][0]
    assert village["collective_income_yuan"] == 50000  # at the old line, below the new one
    argv = ["diff", str(mini_policy_dir), str(modified_mini), "--data", str(data)]
    code, out, err = _run([*argv, "--on", "2017-12-31"], capsys)
    assert code == 0, err
    assert "findings as of 2017-12-31 (reference engine)" in out
    assert "village.exit.standard | village V1 |" in out
    # the same through the functions
    fd = diff_findings(
        before, fr.load_policy(modified_mini), fr.load_data(data).dataset, dt.date(2017, 12, 31)
    )
    change = next(c for c in fd.changes if c.rule_id == "village.exit.standard")
    assert (change.subject_id, change.after_verdict) == ("V1", "fail")
    assert change.before_verdict == "pass"
    assert f"{change.before} → {change.after}" in render_diff(
        diff_policies(before, fr.load_policy(modified_mini)), fd
    )


def test_diff_reports_bad_input(mini_policy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["diff", str(mini_policy_dir), "no_such_policy"], capsys)
    assert code == 2 and "no_such_policy" in err
    code, _, err = _run(["diff", str(mini_policy_dir), str(mini_policy_dir), "--on", "x"], capsys)
    assert code == 2 and "not a date" in err


def test_author_command_errors_show_control_characters_escaped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The author commands print errors as the main CLI does: a control character in a path
    (here BEL and the one-character CSI U+009B) cannot act on the terminal."""
    code = main(["diff", "./\x07nope\x9b", "county_2017"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ./\\x07nope\\x9b: not a policy folder")
    assert "\x07" not in err and "\x9b" not in err
