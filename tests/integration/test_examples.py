"""The runnable examples in ``examples/`` run as users run them (a subprocess, ``sys.executable``),
and the ``examples/county_2018`` inheritance package loads, passes its cases and diffs as its
README says."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

import fupin_rules as fr
from fupin_rules.authoring import diff_findings, diff_policies, render_diff
from fupin_rules.cli import sample_data_path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COUNTY_2018 = EXAMPLES / "county_2018"


def run_example(name: str, *args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env=None,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_eligibility_one_person_explains_the_step_in_both_languages() -> None:
    out = run_example("eligibility_one_person.py")
    assert "on 2017-08-31: pass, amount 3000" in out
    assert "on 2017-09-01: pass, amount 5000" in out
    assert "符合条件" in out and "PASS" in out  # zh and en explanations
    assert "rain_and_dew.grant_yuan = 5000 yuan [2017-09-01 ~ ]" in out


def test_village_exit_check_explains_each_failing_criterion() -> None:
    out = run_example("village_exit_check.py")
    assert "exit standard as of 2017-12-31" in out
    assert "village.exit.poverty_incidence" in out and "village.exit.ready" in out
    assert "ready to exit:" in out
    assert "依据: county_2017" in out or "basis: county_2017" in out


def test_county_run_writes_json_and_reports(tmp_path: Path) -> None:
    # a small county (the model fixture of county_2017's cases) keeps the test quick
    data = tmp_path / "county.json"
    model = fr.load_policy("county_2017").cases[0].data
    data.write_text(json.dumps(model, ensure_ascii=False, default=str), encoding="utf-8")
    out_dir = tmp_path / "reports"
    out = run_example("county_run_with_reports.py", "--data", str(data), "--out", str(out_dir))
    assert "problems (问题清单)" in out
    report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    assert report  # the JSON report parses
    for name in ("问题清单.xlsx", "report.html"):
        module = "excel" if name.endswith("xlsx") else "html"
        try:
            __import__(f"fupin_rules.reports.{module}")
        except ImportError:
            continue
        assert (out_dir / name).stat().st_size > 0


def test_property_test_of_a_standard_passes() -> None:
    out = run_example("property_test_of_a_standard.py")
    assert "ok  test_grant_is_a_step_function_of_the_date" in out
    assert "ok  test_verdict_follows_scope_condition_and_unknowns" in out


def test_authoring_a_package_scaffolds_validates_and_tests(tmp_path: Path) -> None:
    out = run_example("authoring_a_package.py", "--keep", str(tmp_path))
    assert "county_2018@0.1.0" in out and "OK" in out
    assert "2 passed, 0 failed" in out
    assert (tmp_path / "county_2018" / "pyproject.toml").is_file()


# --------------------------------------------------------------------------- county_2018
@pytest.fixture(scope="module")
def county_2018() -> fr.Policy:
    return fr.load_policy(COUNTY_2018)


def test_county_2018_extends_county_2017(county_2018: fr.Policy) -> None:
    parent = fr.load_policy("county_2017")
    assert (county_2018.id, county_2018.version) == ("county_2018", "0.1.0")
    assert county_2018.meta.extends == "county_2017"
    assert len(county_2018.rules) == len(parent.rules)  # every rule inherited
    assert county_2018.clauses == parent.clauses
    grant = county_2018.parameters["rain_and_dew.grant_yuan"]
    assert [v.value for v in grant.values] == [3000, 5000, 6000]
    assert grant.at(dt.date(2018, 8, 31)).value == 5000  # type: ignore[union-attr]
    assert grant.at(dt.date(2018, 9, 1)).value == 6000  # type: ignore[union-attr]


@pytest.mark.parametrize("engine", ["reference", "inference"])
def test_county_2018_cases_pass(county_2018: fr.Policy, engine: str) -> None:
    if engine == "inference":
        from fupin_rules.engine.inference import durable_available

        if not durable_available():
            pytest.skip("durable-rules does not import on this Python (see docs/engine.md)")
    results = fr.run_cases(county_2018, fr.get_engine(engine))
    assert len(results) == 5
    assert not {r.case_id: r.failures for r in results if not r.passed}


def test_county_2018_diff_lists_the_override(county_2018: fr.Policy) -> None:
    d = diff_policies(fr.load_policy("county_2017"), county_2018)
    assert d.names("parameter") == ["rain_and_dew.grant_yuan"]
    assert d.names("rule") == [] and d.names("catalogue") == [] and d.names("variable") == []
    (change,) = d.of("parameter")
    assert "value from 2018-09-01: — → 6000 (assumed)" in change.details


def test_county_2018_readme_shows_the_real_diff(county_2018: fr.Policy) -> None:
    """The README's output block is what the diff prints on the bundled sample county."""
    parent = fr.load_policy("county_2017")
    on = dt.date(2018, 9, 1)
    fd = diff_findings(
        parent, county_2018, fr.load_data(sample_data_path()).dataset, on, ignore_period=True
    )
    assert fd.changes
    # county_2017 1.1.0 checks payments against the part due per term, with 2017's academic
    # years only, so on 2018-09-01 only the grant's amount changes (see the README)
    assert {c.rule_id for c in fd.changes} == {"person.rain_and_dew.grant"}
    text = render_diff(diff_policies(parent, county_2018), fd, limit=3)
    readme = (COUNTY_2018 / "README.md").read_text(encoding="utf-8")
    stable = [
        line
        for line in text.splitlines()
        if line.strip() and not line.startswith(("---", "+++"))  # hashes change with content
    ]
    missing = [line for line in stable if line not in readme]
    assert not missing, "README.md is out of date; regenerate its output block:\n" + "\n".join(
        missing
    )
