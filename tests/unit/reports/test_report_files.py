"""Report files are complete or absent, and the same evaluation gives the same bytes.

Issue 17: Ctrl-C while writing left a truncated JSON report and a corrupt workbook over the
previous good ones; xlsx bytes differed between runs (``dcterms:modified`` was the wall clock).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import attrs
import openpyxl
import pytest

import fupin_rules as fr
import fupin_rules.reports.json_report as json_report
from fupin_rules.reports import write_html_report, write_json_file, write_problem_list


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_interrupted_json_report_keeps_the_previous_one(
    failing_village: fr.Evaluation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "report.json"
    write_json_file(failing_village, path)
    before = path.read_bytes()
    dump = json_report._dump
    calls = 0

    def interrupt_halfway(value: Any) -> str:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise KeyboardInterrupt
        return dump(value)

    monkeypatch.setattr(json_report, "_dump", interrupt_halfway)
    later = attrs.evolve(failing_village, on=dt.date(2018, 6, 30))
    with pytest.raises(KeyboardInterrupt):
        write_json_file(later, path)
    assert calls == 4
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_interrupted_workbook_keeps_the_previous_one(
    failing_village: fr.Evaluation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "problems.xlsx"
    write_problem_list(failing_village, path)
    before = path.read_bytes()
    scratch = tmp_path / "scratch"  # where the writer keeps its rows until the zip is written
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    real_write = zipfile.ZipFile.write
    parts: list[str] = []

    def interrupt(self: zipfile.ZipFile, filename: Any, arcname: Any = None, *a: Any) -> None:
        if parts and "worksheets/" in str(arcname):
            raise KeyboardInterrupt
        parts.append(str(arcname))
        real_write(self, filename, arcname, *a)

    # after some parts went into the zip, before it is complete
    monkeypatch.setattr(zipfile.ZipFile, "write", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_problem_list(failing_village, path)
    assert parts  # interrupted while the zip was being written
    monkeypatch.undo()
    assert list(scratch.iterdir()) == []  # no scratch file left behind
    assert path.read_bytes() == before
    assert openpyxl.load_workbook(path).sheetnames[0] == "汇总"
    assert _leftovers(tmp_path) == []


def test_failed_html_report_keeps_the_previous_one(
    failing_village: fr.Evaluation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "report.html"
    write_html_report(failing_village, path)
    before = path.read_bytes()

    class FullDisk:
        def __init__(self, *_: Any, **__: Any) -> None:
            pass

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *_: Any) -> None:
            pass

        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    real_open = open

    def full_disk_open(file: Any, mode: str = "r", *a: Any, **kw: Any) -> Any:
        if "w" in mode and Path(file).parent == tmp_path:
            real_open(file, mode, *a, **kw).close()  # the truncation an in-place write does
            return FullDisk()
        return real_open(file, mode, *a, **kw)

    monkeypatch.setattr("builtins.open", full_disk_open)
    with pytest.raises(OSError, match="No space"):
        write_html_report(failing_village, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_workbook_bytes_are_identical_run_after_run(
    failing_village: fr.Evaluation, tmp_path: Path
) -> None:
    """``dcterms:created``/``modified`` carry the as-of date and every zip entry one fixed date
    (xlsxwriter's 1980-01-31), never the time of writing, so two runs seconds apart give the
    same bytes (a report is evidence; its digest must be stable)."""
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_problem_list(failing_village, a)
    time.sleep(2.1)  # zip times have a two-second resolution
    write_problem_list(failing_village, b)
    assert a.read_bytes() == b.read_bytes()
    on = failing_village.on
    with zipfile.ZipFile(a) as z:
        dates = {i.date_time for i in z.infolist()}
        core = z.read("docProps/core.xml").decode("utf-8")
    today = dt.date.today()
    assert len(dates) == 1 and next(iter(dates))[:3] != (today.year, today.month, today.day)
    assert f'<dcterms:modified xsi:type="dcterms:W3CDTF">{on.isoformat()}T00:00:00Z' in core
    props = openpyxl.load_workbook(a).properties
    assert props.modified == props.created == dt.datetime.combine(on, dt.time())
