"""The CLI's outputs under hostile or clumsy use (issue 17, "Outputs").

A report is evidence and the previous good one is often all an office has: every output path is
checked before the run (exit 2 with a message, no traceback, nothing written), no report
replaces the input ledger, reports are complete or absent (an interrupt or a full disk leaves
the previous ones as they were), Ctrl-C exits 130, and ledger text printed to the terminal
cannot drive it (no ANSI/OSC escapes reach it).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import fupin_rules.api
import fupin_rules.reports.excel
from fupin_rules.cli import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, main, sample_data_path
from fupin_rules.policy import load_policy


@pytest.fixture
def mini_data(tmp_path: Path, mini_policy_dir: Path) -> Path:
    policy = load_policy(mini_policy_dir)
    case = next(
        c for c in policy.cases if c.id == "village.unknown_clinic_but_failing_incidence_is_fail"
    )
    path = tmp_path / "ledger" / "county.json"
    path.parent.mkdir()
    path.write_text(json.dumps(case.data, default=str, ensure_ascii=False), encoding="utf-8")
    return path


def _check(data: Path, policy: Path, *extra: str) -> list[str]:
    return ["check", str(data), "--policy", str(policy), "--engine", "reference", *extra]


def _no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the ledger is read: output paths must be refused before the run."""

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the run started before the output paths were checked")

    monkeypatch.setattr(fupin_rules.api, "load_data", refuse)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_out_equal_to_the_input_ledger_is_refused(
    mini_data: Path, mini_policy_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = mini_data.read_bytes()
    for opt in ("--out", "--excel", "--html"):
        assert main(_check(mini_data, mini_policy_dir, opt, str(mini_data))) == EXIT_INPUT
        err = capsys.readouterr().err
        assert "input ledger" in err and opt in err and "Traceback" not in err
        assert mini_data.read_bytes() == before
    # the same file through another spelling (a relative path with ..) is the same file
    other = mini_data.parent / ".." / mini_data.parent.name / mini_data.name
    assert main(_check(mini_data, mini_policy_dir, "--out", str(other))) == EXIT_INPUT
    assert mini_data.read_bytes() == before


def test_a_table_file_inside_a_ledger_folder_is_refused(
    tmp_path: Path, mini_data: Path, mini_policy_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fupin_rules.api import load_data
    from fupin_rules.io import write_ledger

    folder = tmp_path / "csv"
    raw = json.loads(mini_data.read_text(encoding="utf-8"))
    write_ledger(raw, folder, "csv")
    households = folder / "households.csv"
    before = households.read_bytes()
    assert load_data(folder).dataset.households
    for target in (households, folder / "report.csv"):
        assert main(_check(folder, mini_policy_dir, "--out", str(target))) == EXIT_INPUT
        assert "ledger folder" in capsys.readouterr().err
    assert households.read_bytes() == before
    assert not (folder / "report.csv").exists()


def test_two_reports_to_one_file_are_refused(
    mini_data: Path, mini_policy_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same = tmp_path / "r.out"
    assert (
        main(_check(mini_data, mini_policy_dir, "--out", str(same), "--html", str(same)))
        == EXIT_INPUT
    )
    assert "also the path of --out" in capsys.readouterr().err
    assert not same.exists()


@pytest.mark.parametrize(
    ("make_bad", "message"),
    [
        (lambda tmp: tmp, "is a folder"),
        (lambda tmp: tmp / "no-such-folder" / "r.xlsx", "does not exist"),
        (lambda tmp: Path("/dev/full"), "not a regular file"),
        (lambda tmp: Path("/proc/fupin-report.xlsx"), "cannot write in /proc"),
    ],
    ids=["folder", "missing-folder", "dev-full", "unwritable-folder"],
)
def test_bad_output_paths_are_refused_before_the_run(
    mini_data: Path,
    mini_policy_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    make_bad: Any,
    message: str,
) -> None:
    bad = make_bad(tmp_path)
    if str(bad).startswith(("/dev", "/proc")) and not bad.parent.exists():
        pytest.skip(f"{bad.parent} is not on this system")
    _no_run(monkeypatch)
    good = tmp_path / "report.json"
    code = main(_check(mini_data, mini_policy_dir, "--out", str(good), "--excel", str(bad)))
    err = capsys.readouterr().err
    assert code == EXIT_INPUT, err
    assert message in err and "--excel" in err and "Traceback" not in err
    assert not good.exists()  # no partial set of outputs
    assert _leftovers(tmp_path) == []


def test_a_full_disk_while_writing_changes_no_report(
    mini_data: Path,
    mini_policy_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The JSON report is complete, then the workbook hits ENOSPC: exit 2, and both previous
    reports are still the previous ones (all reports or none)."""
    out, excel = tmp_path / "report.json", tmp_path / "problems.xlsx"
    args = _check(mini_data, mini_policy_dir, "--out", str(out), "--excel", str(excel))
    assert main(args) == EXIT_OK
    capsys.readouterr()
    old_out, old_excel = out.read_bytes(), excel.read_bytes()

    def full_disk(ev: Any, path: Any, **kw: Any) -> None:
        Path(path).write_bytes(b"PK\x03\x04 half a workbook")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fupin_rules.reports.excel, "write_problem_list", full_disk)
    on = "2018-06-30"  # a different as-of date: a new JSON report would differ from the old
    assert main([*args, "--on", on]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "--excel" in err and "No space left" in err and "Traceback" not in err
    assert out.read_bytes() == old_out
    assert excel.read_bytes() == old_excel
    assert _leftovers(tmp_path) == []


def test_ctrl_c_during_the_run_exits_130(
    mini_data: Path,
    mini_policy_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def interrupted(*_: Any, **__: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(fupin_rules.api, "load_data", interrupted)
    out = tmp_path / "report.json"
    assert main(_check(mini_data, mini_policy_dir, "--out", str(out))) == EXIT_INTERRUPTED
    assert "interrupted" in capsys.readouterr().err
    assert not out.exists()


_SLOW_WRITER = """
import os, signal, sys, time
from pathlib import Path
# The child inherits the pytest process's signal mask and dispositions: earlier tests in a
# full run leave SIGINT blocked in the main thread (the signal then stays pending and the child
# sleeps on), or ignored. Give the child Ctrl-C as an interactive shell would have it.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
signal.signal(signal.SIGINT, signal.default_int_handler)
import fupin_rules.reports.excel as excel
from fupin_rules.cli import main

def slow(ev, path, **kw):
    Path(path).write_bytes(b"PK\\x03\\x04 half a workbook")
    print("writing", flush=True)
    time.sleep(60)

excel.write_problem_list = slow
sys.exit(main(sys.argv[1:]))
"""


def test_sigint_while_writing_keeps_the_previous_reports(
    mini_data: Path, mini_policy_dir: Path, tmp_path: Path
) -> None:
    """A real SIGINT in a child process while the workbook is half written: exit 130, no
    traceback, the previous JSON report and workbook unchanged, no temporary file left."""
    out, excel = tmp_path / "report.json", tmp_path / "problems.xlsx"
    args = _check(mini_data, mini_policy_dir, "--out", str(out), "--excel", str(excel))
    assert main(args) == EXIT_OK
    old_out, old_excel = out.read_bytes(), excel.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_SLOW_WRITER), *args, "--on", "2018-06-30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "writing"
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err and "interrupted" in err
    assert out.read_bytes() == old_out
    assert excel.read_bytes() == old_excel
    assert _leftovers(tmp_path) == []


ESCAPES = "\x1b]0;owned\x07\x1b[31m\x9b2J"


@pytest.fixture(scope="module")
def escaping_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample county with ANSI/OSC escape sequences appended to every person's name."""
    data = json.loads(sample_data_path().read_text(encoding="utf-8"))
    for person in data["persons"]:
        person["name"] = (person.get("name") or "") + ESCAPES
    path = tmp_path_factory.mktemp("escapes") / "county.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _no_control_characters(text: str) -> None:
    bad = {c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F}
    assert not bad, sorted(bad)


def test_check_prints_no_escape_sequences(
    escaping_ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(escaping_ledger), "--engine", "reference"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "\\x1b]0;owned\\x07" in printed  # the names are shown, their escapes made visible
    _no_control_characters(printed)


@pytest.mark.parametrize("lang", ["zh", "en", "json"])
def test_explain_prints_no_escape_sequences(
    escaping_ledger: Path, capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    args = ["explain", str(escaping_ledger), "--engine", "reference", "--lang", lang]
    rule = "household.identification.record_complete"
    assert main([*args, "--rule", rule, "--subject", "H0000002"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "owned" in printed
    _no_control_characters(printed)
