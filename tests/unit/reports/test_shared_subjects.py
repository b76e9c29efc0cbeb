"""``check`` indexes who is who (SubjectDirectory) once for the Excel and the HTML report.

Building the directory walks every record of the dataset (about a second and a half for a
100,000-household county); the two reports each built their own. A directory handed in gives
the same reports as one built from the dataset.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

import fupin_rules as fr
from fupin_rules.cli import EXIT_OK, main
from fupin_rules.reports.excel import write_problem_list
from fupin_rules.reports.html import render_html, write_html_report
from fupin_rules.reports.subjects import SubjectDirectory

COUNTY_2017 = (
    Path(__file__).parents[3] / "policies" / "county_2017" / "src" / "fupin_policy_county_2017"
) / "policy"


def _cells(path: Path) -> list[list[tuple[Any, ...]]]:
    wb = load_workbook(path, read_only=True)
    try:
        return [list(ws.iter_rows(values_only=True)) for ws in wb.worksheets]
    finally:
        wb.close()


def test_a_directory_handed_in_gives_the_same_reports(
    county_case: tuple[fr.Evaluation, fr.LoadResult], tmp_path: Path
) -> None:
    ev, loaded = county_case
    subjects = SubjectDirectory.from_dataset(loaded.dataset)
    assert subjects.names  # names to show: the directory is not empty
    built = render_html(ev, dataset=loaded.dataset)
    assert render_html(ev, subjects=subjects) == built
    write_html_report(ev, tmp_path / "handed.html", subjects=subjects)
    assert (tmp_path / "handed.html").read_text(encoding="utf-8") == built
    write_problem_list(ev, tmp_path / "built.xlsx", dataset=loaded.dataset)
    write_problem_list(ev, tmp_path / "handed.xlsx", subjects=subjects)
    assert _cells(tmp_path / "handed.xlsx") == _cells(tmp_path / "built.xlsx")


def test_check_builds_the_directory_once_for_excel_and_html(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (COUNTY_2017 / "policy.yaml").exists():
        pytest.skip(f"county_2017 policy not found at {COUNTY_2017}")
    policy = fr.load_policy(COUNTY_2017)
    case = next(c for c in policy.cases if c.id == "rain_and_dew.paid.two_semester_instalments")
    data = tmp_path / "county.json"
    data.write_text(json.dumps(case.data, default=str, ensure_ascii=False), encoding="utf-8")
    built: list[object] = []
    original = SubjectDirectory.from_dataset.__func__  # type: ignore[attr-defined]

    def counting(cls: type[SubjectDirectory], dataset: Any) -> SubjectDirectory:
        built.append(dataset)
        result: SubjectDirectory = original(cls, dataset)
        return result

    monkeypatch.setattr(SubjectDirectory, "from_dataset", classmethod(counting))
    args = ["check", str(data), "--policy", str(COUNTY_2017), "--engine", "reference", "-q"]
    excel, html = tmp_path / "r.xlsx", tmp_path / "r.html"
    assert main([*args, "--excel", str(excel), "--html", str(html)]) == EXIT_OK
    assert len(built) == 1 and built[0] is not None
    assert excel.stat().st_size > 0 and html.read_text(encoding="utf-8").startswith("<!DOCTYPE")
