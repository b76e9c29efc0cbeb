"""Compact forms of the machine-readable report (issue 13): gzip-compressed JSON, JSON Lines
(plain or compressed) and the problems-only listing; all carry the same report."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

import fupin_rules as fr
from fupin_rules.cli import EXIT_OK, main
from fupin_rules.reports.json_report import (
    evaluation_to_json,
    report_format,
    to_json_text,
    write_report_file,
)


def _read(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8")


def _from_lines(text: str) -> dict[str, Any]:
    """The JSON report rebuilt from JSON Lines."""
    lines = [json.loads(line) for line in text.splitlines()]
    head = lines[0]
    assert head.pop("record") == "report"
    lists: dict[str, list[Any]] = {
        "findings": [],
        "data_to_collect": [],
        "unit_errors": [],
        "rejected_rows": [],
    }
    names = {"finding": "findings", "unit_error": "unit_errors", "rejected_row": "rejected_rows"}
    for line in lines[1:]:
        record = line.pop("record")
        lists[names.get(record, record)].append(line)
    return {**head, **lists}


def test_report_format_follows_the_file_name() -> None:
    assert report_format("r.json") == "json"
    assert report_format("R.JSON.GZ") == "json.gz"
    assert report_format("r.jsonl") == "jsonl"
    assert report_format("dir/r.jsonl.gz") == "jsonl.gz"
    assert report_format("report") == "json"


@pytest.mark.parametrize("name", ["r.json", "r.json.gz", "r.jsonl", "r.jsonl.gz"])
def test_every_form_carries_the_whole_report(
    county_case: tuple[fr.Evaluation, fr.LoadResult], tmp_path: Path, name: str
) -> None:
    ev, _ = county_case
    path = tmp_path / name
    write_report_file(ev, path)
    text = _read(path)
    if "jsonl" in name:
        assert _from_lines(text) == evaluation_to_json(ev)
    else:
        assert text == to_json_text(ev)
    if name.endswith(".gz"):  # no time stamp in the header: the same input, the same bytes
        again = tmp_path / ("again-" + name)
        write_report_file(ev, again)
        assert again.read_bytes() == path.read_bytes()


def test_problems_only_lists_the_problems_and_keeps_the_counts(
    county_case: tuple[fr.Evaluation, fr.LoadResult], tmp_path: Path
) -> None:
    ev, _ = county_case
    assert ev.problems() and len(ev.problems()) < len(ev.findings)
    path = tmp_path / "p.json"
    write_report_file(ev, path, problems_only=True)
    doc = json.loads(path.read_text("utf-8"))
    full = evaluation_to_json(ev)
    assert doc["findings_listed"] == "problems"
    assert [(f["rule"], f["subject"]["id"]) for f in doc["findings"]] == [
        (f.rule_id, f.subject_id) for f in ev.problems()
    ]
    for key in ("summary", "data_to_collect", "unit_errors", "rejected_rows"):
        assert doc[key] == full[key]
    assert "findings_listed" not in full  # the default report is unchanged


def test_check_writes_the_form_its_out_asks_for(tmp_path: Path, mini_policy_dir: Path) -> None:
    policy = fr.load_policy(mini_policy_dir)
    case = next(c for c in policy.cases if c.id == "village.exactly_two_percent_fails")
    data = tmp_path / "county.json"
    data.write_text(json.dumps(case.data, default=str, ensure_ascii=False), encoding="utf-8")
    base = ["check", str(data), "--policy", str(mini_policy_dir), "--engine", "reference", "-q"]
    out = tmp_path / "r.jsonl.gz"
    assert main([*base, "--out", str(out), "--problems-only"]) == EXIT_OK
    lines = [json.loads(line) for line in _read(out).splitlines()]
    assert lines[0]["record"] == "report" and lines[0]["findings_listed"] == "problems"
    assert [x["rule"] for x in lines if x["record"] == "finding"] == ["village.exit.standard"]


def test_problems_only_without_out_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from fupin_rules.cli import EXIT_INPUT

    assert main(["check", "--problems-only", "-q"]) == EXIT_INPUT
    assert "--problems-only" in capsys.readouterr().err
