"""The JSON report: streamed to a file, the same text as ``to_json_text``, layout kept."""

from __future__ import annotations

import gc
import io
import json
from pathlib import Path

import attrs

import fupin_rules as fr
from fupin_rules.reports.json_report import (
    evaluation_to_json,
    to_json_text,
    write_json,
    write_json_file,
)


def test_streamed_file_equals_the_text_and_the_dict(
    unknown_village: tuple[fr.Evaluation, fr.LoadResult], tmp_path: Path
) -> None:
    ev, _ = unknown_village
    assert ev.data_issues  # a rejected row, so every section has items
    path = tmp_path / "r.json"
    write_json_file(ev, path)
    text = to_json_text(ev)
    assert path.read_bytes() == text.encode("utf-8")
    assert json.loads(text) == evaluation_to_json(ev)
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    n = len(ev.findings)
    start = lines.index('"findings":[')
    assert lines[start + n + 1] == "],"  # one finding per line, then the closing bracket
    assert all(line.startswith('{"rule":') for line in lines[start + 1 : start + n + 1])


def test_empty_sections_and_passing_filter(failing_village: fr.Evaluation) -> None:
    ev = attrs.evolve(failing_village, errors=(), data_issues=())
    text = to_json_text(ev, include_passing=False)
    doc = json.loads(text)
    assert '"unit_errors":[],' in text.splitlines()
    assert doc["rejected_rows"] == []
    assert all(f["verdict"] != "pass" for f in doc["findings"])
    nothing = attrs.evolve(ev, findings=())
    assert '"findings":[],' in to_json_text(nothing).splitlines()


def test_writer_restores_the_garbage_collector(failing_village: fr.Evaluation) -> None:
    assert gc.isenabled()
    write_json(failing_village, io.StringIO())
    assert gc.isenabled()
    gc.disable()
    try:
        write_json(failing_village, io.StringIO())
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
