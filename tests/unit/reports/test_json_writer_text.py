"""The JSON report's text is the standard library's, however its items are encoded and batched.

The findings are encoded by orjson and written a thousand at a time; every line must still be
``json.dumps(item, ensure_ascii=False, separators=(",", ":"))`` (Chinese kept readable), and
what orjson refuses (an integer over 64 bits, a key that is not a string, a lone surrogate)
goes through the standard library.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

import fupin_rules as fr
import fupin_rules.reports.json_report as json_report
from fupin_rules.reports.json_report import (
    evaluation_to_json,
    to_json_text,
    write_json_lines,
    write_report_file,
)


def _std(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _std_report(ev: fr.Evaluation) -> str:
    """The report's text written item by item with the standard library (the form before)."""
    doc = evaluation_to_json(ev)
    lines = ["{"]
    keys = list(doc)
    for k, key in enumerate(keys):
        tail = "," if k < len(keys) - 1 else ""
        value = doc[key]
        if isinstance(value, list) and value:
            lines.append(f"{_std(key)}:[")
            lines.append(",\n".join(_std(item) for item in value))
            lines.append(f"]{tail}")
        else:
            lines.append(f"{_std(key)}:{_std(value)}{tail}")
    return "\n".join(lines) + "\n}\n"


@pytest.mark.parametrize("chunk", [1, 2, 3, 1000])
def test_the_text_is_the_standard_librarys_whatever_the_batch(
    county_case: tuple[fr.Evaluation, fr.LoadResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
) -> None:
    ev, _ = county_case
    assert len(ev.findings) > 3  # several batches when chunk is small
    monkeypatch.setattr(json_report, "_CHUNK", chunk)
    want = _std_report(ev)
    assert "不符合" in want or "户" in want  # Chinese text, kept readable
    assert to_json_text(ev) == want
    path = tmp_path / "r.json"
    write_report_file(ev, path)
    assert path.read_bytes() == want.encode("utf-8")
    lines = io.StringIO()
    write_json_lines(ev, lines)
    written = lines.getvalue().splitlines()
    doc = evaluation_to_json(ev)
    assert written[1 : 1 + len(doc["findings"])] == [
        _std({"record": "finding", **f}) for f in doc["findings"]
    ]


@pytest.mark.parametrize(
    "value",
    [
        {"big": 2**70, "text": "户主"},
        {1: "a key that is not a string"},
        {"surrogate": "\ud800"},
        {"nested": [{"n": -(2**64)}]},
    ],
)
def test_what_orjson_refuses_goes_through_the_standard_library(value: Any) -> None:
    got = json_report._item(value, "surrogatepass")
    assert got.decode("utf-8", "surrogatepass") == _std(value)
