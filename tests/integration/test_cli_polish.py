"""CLI polish of issue 13: plain help pages, restricted choices, did-you-mean, units, diff
hints, a default policy for ``validate``, and ``check | head`` keeping the exit code."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

import fupin_rules as fr
from fupin_rules.cli import EXIT_INPUT, EXIT_OK, EXIT_PROBLEMS, app, main, sample_data_path
from fupin_rules.findings.render import explain
from fupin_rules.policy import load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def mini_data(tmp_path: Path, mini_policy_dir: Path) -> Path:
    policy = load_policy(mini_policy_dir)
    case = next(
        c for c in policy.cases if c.id == "village.unknown_clinic_but_failing_incidence_is_fail"
    )
    path = tmp_path / "county.json"
    path.write_text(json.dumps(case.data, default=str, ensure_ascii=False), encoding="utf-8")
    return path


def _commands() -> list[str]:
    group = typer.main.get_command(app)
    return list(group.list_commands(typer.Context(group)))  # type: ignore[attr-defined]


def test_every_option_and_argument_has_help_text() -> None:
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    missing = [
        f"{name} {p.name}"
        for name in _commands()
        for p in group.get_command(ctx, name).params  # type: ignore[attr-defined,union-attr]
        if not getattr(p, "help", None)
    ]
    assert not missing


@pytest.mark.parametrize("command", [None, *_commands()])
def test_help_has_no_raw_type_tags(command: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"] if command else ["--help"]) == EXIT_OK
    text = capsys.readouterr().out
    assert "Usage: fupin-rules" in text
    tags = re.findall(r"<(?:bool|str|int|path|float|int range)>|\{\w+\}", text)
    assert not tags, f"raw type tags in the help of {command}: {tags}"


def test_lang_is_zh_or_en(
    mini_data: Path, mini_policy_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["check", str(mini_data), "--policy", str(mini_policy_dir), "--engine", "reference"]
    assert main([*args, "--lang", "fr"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "'fr'" in err and "'zh'" in err and "'en'" in err
    assert main([*args, "--lang", "en", "--quiet"]) == EXIT_OK


@pytest.mark.parametrize("command", ["check", "explain"])
def test_engine_error_lists_every_engine(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    extra = ["--rule", "r", "--subject", "s"] if command == "explain" else []
    assert main([command, *extra, "--engine", "fast"]) == EXIT_INPUT
    err = capsys.readouterr().err
    for engine in ("auto", "batch", "reference", "inference"):
        assert f"'{engine}'" in err


def test_explain_mistyped_rule_says_did_you_mean(
    mini_data: Path, mini_policy_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["explain", str(mini_data), "--policy", str(mini_policy_dir), "--subject", "V1"]
    assert main([*args, "--rule", "village.exit.standrd"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: no rule 'village.exit.standrd'"), err
    assert "did you mean 'village.exit.standard'?" in err


def test_a_unit_none_parameter_prints_no_unit_word() -> None:
    data = json.loads(sample_data_path().read_text(encoding="utf-8"))
    relocation = data["relocations"][0]["relocation_id"]
    ev = fr.Evaluator("county_2017", sample_data_path())
    f = ev.finding("relocation.schedule.turnkey", relocation, dt.date(2017, 12, 31))
    for lang in ("zh", "en"):
        text = explain(f, lang)
        assert "relocation.turnkey_deadline = 2017-11-30 [" in text
        assert " none " not in text


def test_diff_says_when_the_change_starts_later(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "county.json"
    model = fr.load_policy("county_2017").cases[0].data
    data.write_text(json.dumps(model, ensure_ascii=False, default=str), encoding="utf-8")
    args = ["diff", "county_2017", str(EXAMPLES / "county_2018"), "--data", str(data)]
    assert main([*args, "--ignore-period"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "findings as of 2017-12-31 (reference engine): 0 of" in out
    assert "rain_and_dew.grant_yuan differs only from 2018-09-01" in out
    assert "rerun with --on 2018-09-01" in out
    assert main(args) == EXIT_OK
    out = capsys.readouterr().out
    assert re.search(r"county_2018@0\.1\.0#\w+ is not in force on 2017-12-31", out)
    assert main([*args, "--ignore-period", "--format", "json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert doc["findings"]["later_parameter_changes"] == [
        {"parameter": "rain_and_dew.grant_yuan", "from": "2018-09-01"}
    ]
    assert main([*args, "--on", "2018-09-01", "--ignore-period"]) == EXIT_OK
    assert "differs only from" not in capsys.readouterr().out


def test_validate_defaults_to_the_default_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == EXIT_OK
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("county_2017@")


@pytest.mark.parametrize(("fail_on_problems", "code"), [(False, EXIT_OK), (True, EXIT_PROBLEMS)])
def test_a_reader_closing_the_pipe_keeps_the_exit_code(
    mini_data: Path, mini_policy_dir: Path, fail_on_problems: bool, code: int
) -> None:
    """``check | head``: the reader goes away before the output; the code is the command's."""
    args = [sys.executable, "-m", "fupin_rules.cli", "check", str(mini_data)]
    args += ["--policy", str(mini_policy_dir), "--engine", "reference"]
    if fail_on_problems:
        args.append("--fail-on-problems")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command prints anything (it imports for a second)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=300) == code, err
    assert "Traceback" not in err and "BrokenPipe" not in err
