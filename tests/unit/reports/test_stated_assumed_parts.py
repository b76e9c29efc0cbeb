"""The 问题清单 separates the problems the text states from those resting on assumptions (issue 12,
principle 3): the Excel level sheets in two parts under heading rows, the HTML report in two
sections with their counts, the JSON summary counting both (findings not reordered)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import fupin_rules as fr
from fupin_rules.cli import sample_data_path
from fupin_rules.findings.model import Outcome
from fupin_rules.reports import evaluation_to_json, render_html, write_problem_list
from fupin_rules.reports.excel import PART_HEADINGS
from fupin_rules.reports.model import LEVELS, level_of, report_findings

SHEETS = {title: level for level, (title, _) in LEVELS.items()}


@pytest.fixture(scope="module")
def sample() -> tuple[fr.Evaluation, fr.LoadResult]:
    """The bundled sample county: problems stated by the text and resting on assumptions."""
    loaded = fr.load_data(sample_data_path())
    return fr.evaluate("county_2017", loaded, dt.date(2017, 12, 31)), loaded


@pytest.fixture(scope="module")
def workbook(
    sample: tuple[fr.Evaluation, fr.LoadResult], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[tuple[Any, ...]]]:
    """Each level sheet of the sample's problem list: header row first."""
    ev, loaded = sample
    path = tmp_path_factory.mktemp("xlsx") / "problems.xlsx"
    write_problem_list(ev, path, dataset=loaded.dataset)
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return {title: list(wb[title].iter_rows(values_only=True)) for title in SHEETS}
    finally:
        wb.close()


def _heading(row: tuple[Any, ...]) -> str | None:
    first = row[0]
    if isinstance(first, str) and first.startswith(PART_HEADINGS) and not any(row[1:]):
        return first
    return None


@pytest.mark.parametrize("sheet", list(SHEETS))
def test_every_assumed_row_comes_after_every_stated_row_under_headings(
    sample: tuple[fr.Evaluation, fr.LoadResult],
    workbook: dict[str, list[tuple[Any, ...]]],
    sheet: str,
) -> None:
    ev, _ = sample
    header, *rows = workbook[sheet]
    mark, rule, subject = (header.index(c) for c in ("依据假设", "规则编号", "对象编码"))
    headings = [(i, h) for i, r in enumerate(rows) if (h := _heading(r))]
    data = [(i, r) for i, r in enumerate(rows) if not _heading(r)]
    assumed = [bool(r[mark]) for _, r in data]
    # every finding the report lists for this level is a row, once (nothing lost)
    listed = [f for f in report_findings(ev) if level_of(f.subject_kind) == SHEETS[sheet]]
    assert sorted((r[subject], r[rule]) for _, r in data) == sorted(
        (f.subject_id, f.rule_id) for f in listed
    )
    want_assumed = sum(1 for f in listed if f.assumptions)
    assert sum(assumed) == want_assumed > 0, "the sample has assumed findings at every level"
    # text-stated rows first, then the assumed ones: never a stated row after an assumed one
    assert assumed == sorted(assumed)
    # two heading rows: the first row, and the row just before the first assumed row
    first_assumed = next(i for i, r in data if r[mark])
    assert [i for i, _ in headings] == [0, first_assumed - 1]
    stated_head, assumed_head = (h for _, h in headings)
    assert stated_head.startswith(PART_HEADINGS[0]) and assumed_head.startswith(PART_HEADINGS[1])
    # each heading counts its part's problems
    for head, part in ((stated_head, False), (assumed_head, True)):
        fails = sum(1 for f in listed if bool(f.assumptions) is part and f.verdict is Outcome.FAIL)
        if fails:
            assert f"不符合 {fails:,}" in head, head
        else:
            assert "不符合" not in head.split("—")[-1], head


def test_the_sample_has_both_parts_in_one_sheet(workbook: dict[str, list[tuple[Any, ...]]]) -> None:
    header, *rows = workbook["户"]
    mark = header.index("依据假设")
    marks = {bool(r[mark]) for r in rows if not _heading(r)}
    assert marks == {False, True}


def test_a_sheet_with_nothing_assumed_has_no_heading_rows(
    failing_village: fr.Evaluation, tmp_path: Path
) -> None:
    path = tmp_path / "p.xlsx"
    write_problem_list(failing_village, path)
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = [r for title in SHEETS for r in wb[title].iter_rows(values_only=True)]
    wb.close()
    assert rows and not [r for r in rows if _heading(r)]


def _section(page: str, key: str) -> str:
    found = re.search(f'<section id="{key}">.*?</section>', page, re.S)
    assert found, key
    return found.group(0)


def test_html_has_both_sections_with_the_json_counts(
    sample: tuple[fr.Evaluation, fr.LoadResult],
) -> None:
    ev, loaded = sample
    page = render_html(ev, dataset=loaded.dataset, max_rows=10**6)  # every row
    s = evaluation_to_json(ev, include_passing=False)["summary"]
    assert s["problems_text_stated"] > 0 and s["problems_assumed"] > 0
    for key, title, n, badged in (
        ("stated", "文件明确规定的问题", s["problems_text_stated"], False),
        ("assumed", "依据假设的问题", s["problems_assumed"], True),
    ):
        part = _section(page, key)
        assert title in part
        shown = re.search(f'<span id="count-{key}">([0-9,]+)</span>', part)
        assert shown and int(shown.group(1).replace(",", "")) == n, key
        rows = re.findall(r"<tr><td>[^<]*</td><td class=\"nw\">.*?</tr>", part, re.S)
        assert rows
        # each section lists exactly its problems, every one of them badged or none
        assert sum('<span class="v fail">' in r for r in rows) == n, key
        assert all(('class="v assumed"' in r) is badged for r in rows), key
    # stated first on the page
    assert page.index('<section id="stated">') < page.index('<section id="assumed">')


def test_html_tiles_count_both_parts(sample: tuple[fr.Evaluation, fr.LoadResult]) -> None:
    ev, _ = sample
    page = render_html(ev)
    s = evaluation_to_json(ev, include_passing=False)["summary"]
    for key in ("problems-stated", "problems-assumed"):
        tile = re.search(f'id="n-{key}"><b>([0-9,]+)</b>', page)
        assert tile, key
        want = s["problems_text_stated" if key == "problems-stated" else "problems_assumed"]
        assert int(tile.group(1).replace(",", "")) == want


def test_json_summary_counts_both_parts_even_when_nothing_is_assumed(
    failing_village: fr.Evaluation,
) -> None:
    report = evaluation_to_json(failing_village)
    s = report["summary"]
    assert (s["problems"], s["problems_text_stated"], s["problems_assumed"]) == (1, 1, 0)
    # the findings keep their order: the separation is in the counts, not a reordering
    assert [(f["rule"], f["subject"]["id"]) for f in report["findings"]] == [
        (f.rule_id, f.subject_id) for f in failing_village.findings
    ]
