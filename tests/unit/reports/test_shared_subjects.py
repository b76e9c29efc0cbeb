"""``check`` indexes who is who (SubjectDirectory) once for the Excel and the HTML report, and
the HTML report counts the missing data by field without listing every subject's entry.

Building the directory walks every record of the dataset (about a second and a half for a
100,000-household county); the two reports each built their own. A directory handed in gives
the same reports as one built from the dataset.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from openpyxl import load_workbook

import fupin_rules as fr
from fupin_rules.cli import EXIT_OK, main
from fupin_rules.findings.model import MissingField, Outcome
from fupin_rules.reports.excel import write_problem_list
from fupin_rules.reports.html import render_html, write_html_report
from fupin_rules.reports.model import missing_by_field, missing_data
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


@pytest.mark.parametrize("store", [False, True])
def test_check_builds_the_directory_once_for_excel_and_html(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: bool
) -> None:
    """Once for the Excel and the HTML report, and with ``--store`` for the run store's places
    (整改台账) too."""
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
    if store:
        args += ["--store", str(tmp_path / "runs.sqlite")]
    assert main([*args, "--excel", str(excel), "--html", str(html)]) == EXIT_OK
    assert len(built) == 1 and built[0] is not None
    assert excel.stat().st_size > 0 and html.read_text(encoding="utf-8").startswith("<!DOCTYPE")


def _by_field_from_missing_data(ev: fr.Evaluation) -> dict[tuple[str, str], tuple[str, int, int]]:
    """The HTML report's 待补数据 counts as they were taken: from the sorted missing_data list."""
    by_field: dict[tuple[str, str], list[Any]] = {}
    for kind, _sid, fld, label, fs in missing_data(ev):
        entry = by_field.setdefault((fld, kind), [label, 0, 0])
        entry[1] += 1
        entry[2] += len(fs)
    return {k: (v[0], v[1], v[2]) for k, v in by_field.items()}


def test_missing_by_field_counts_what_missing_data_lists(
    county_case: tuple[fr.Evaluation, fr.LoadResult],
    unknown_village: tuple[fr.Evaluation, fr.LoadResult],
) -> None:
    for ev, _ in (county_case, unknown_village):
        assert ev.unknowns()
        assert missing_by_field(ev) == _by_field_from_missing_data(ev)


def test_missing_by_field_labels_a_field_as_its_least_subject_does(
    county_case: tuple[fr.Evaluation, fr.LoadResult],
) -> None:
    ev, _ = county_case
    u = next(f for f in ev.findings if f.conditions)
    c = u.conditions[0]
    first = attrs.evolve(c, missing=(MissingField("household", "H9", "x", "乙"),))
    second = attrs.evolve(
        c,
        missing=(
            MissingField("household", "H1", "x", "甲"),
            MissingField("household", "H9", "x", "丙"),
        ),
    )
    findings = (
        attrs.evolve(u, conditions=(first,), applies_if=None, verdict=Outcome.UNKNOWN),
        attrs.evolve(u, conditions=(second,), applies_if=None, verdict=Outcome.UNKNOWN),
    )
    two = attrs.evolve(ev, findings=findings)
    assert missing_by_field(two) == {("x", "household"): ("甲", 2, 3)}
    assert missing_by_field(two) == _by_field_from_missing_data(two)
