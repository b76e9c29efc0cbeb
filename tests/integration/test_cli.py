"""The CLI through ``main(argv)``: exit codes, reports, explanations, schema, cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fupin_rules.cli import EXIT_INPUT, EXIT_OK, EXIT_PROBLEMS, main
from fupin_rules.policy import load_policy


@pytest.fixture
def mini_data(tmp_path: Path, mini_policy_dir: Path) -> Path:
    policy = load_policy(mini_policy_dir)
    case = next(
        c for c in policy.cases if c.id == "village.unknown_clinic_but_failing_incidence_is_fail"
    )
    path = tmp_path / "county.json"
    path.write_text(json.dumps(case.data, default=str, ensure_ascii=False), encoding="utf-8")
    return path


def test_check_writes_report_and_exit_codes(
    mini_data: Path, mini_policy_dir: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report.json"
    args = [
        "check",
        str(mini_data),
        "--policy",
        str(mini_policy_dir),
        "--engine",
        "reference",
        "--out",
        str(out),
    ]
    assert main(args) == EXIT_OK
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["summary"]["problems"] == 1
    assert report["policy"]["id"] == "mini"
    printed = capsys.readouterr().out
    assert "村 V1" in printed and "第三(三)条" in printed
    assert main([*args, "--fail-on-problems", "--quiet"]) == EXIT_PROBLEMS
    assert capsys.readouterr().out == ""


def test_check_bad_input_is_exit_2(tmp_path: Path, mini_policy_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"villages": []}), encoding="utf-8")
    assert (
        main(["check", str(bad), "--policy", str(mini_policy_dir), "--engine", "reference"])
        == EXIT_INPUT
    )
    assert "county" in capsys.readouterr().err


def test_bad_date_is_usage_error(mini_data: Path) -> None:
    assert main(["check", str(mini_data), "--on", "2017-02-30"]) == EXIT_INPUT


def test_explain_in_three_languages(mini_data: Path, mini_policy_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    base = [
        "explain",
        str(mini_data),
        "--policy",
        str(mini_policy_dir),
        "--rule",
        "village.exit.standard",
        "--subject",
        "V1",
        "--engine",
        "reference",
    ]
    assert main([*base, "--lang", "zh"]) == EXIT_OK
    assert "缺少 卫生室医生资质 数据" in capsys.readouterr().out
    assert main([*base, "--lang", "en"]) == EXIT_OK
    assert "missing clinic_has_qualified_doctor" in capsys.readouterr().out
    assert main([*base, "--lang", "json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["verdict"] == "fail"


def test_schema_is_json_schema(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["schema"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert "county" in doc["required"] and "persons" in doc["properties"]
    assert main(["schema", "--table", "persons"]) == EXIT_OK
    assert "annual_income_yuan" in json.loads(capsys.readouterr().out)["properties"]


def test_test_command_runs_cases(mini_policy_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["test", str(mini_policy_dir), "--engine", "reference"]) == EXIT_OK
    assert capsys.readouterr().out.strip().endswith("5 passed, 0 failed")


def test_validate_reports_unused(mini_policy_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["validate", str(mini_policy_dir)]) == EXIT_OK
    assert "OK" in capsys.readouterr().out


def test_generate_then_check_round_trip(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "county"
    assert main(["generate", str(out), "--households", "120", "--seed", "5"]) == EXIT_OK
    assert (out / "households.parquet").exists()
    assert (
        main(["check", str(out), "--engine", "batch", "--quiet", "--out", str(tmp_path / "r.json")])
        == EXIT_OK
    )
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["summary"]["rejected_rows"] == 0 and report["engine"] == "batch"
    assert main(["generate", str(tmp_path / "c.json"), "--households", "30"]) == EXIT_OK
    assert json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))["county"]
