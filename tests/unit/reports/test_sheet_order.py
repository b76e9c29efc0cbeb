"""The level sheets of the Excel problem list (issue 13): problems (不符合) first, then the
undecided findings grouped by the fields they miss; the 说明 column wraps."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from pathlib import Path

import openpyxl
import pytest

import fupin_rules as fr
from fupin_rules.cli import sample_data_path
from fupin_rules.reports import write_problem_list
from fupin_rules.reports.excel import PART_HEADINGS


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, fr.Evaluation]:
    """The sample county's problem list (its 户 sheet mixes problems and unknowns)."""
    loaded = fr.load_data(sample_data_path())
    ev = fr.evaluate("county_2017", loaded, dt.date(2017, 12, 31))
    path = tmp_path_factory.mktemp("xlsx") / "problems.xlsx"
    write_problem_list(ev, path, dataset=loaded.dataset)
    return path, ev


@pytest.mark.parametrize("sheet", ["户", "人员"])
def test_problems_first_then_unknowns_grouped_by_missing_field(
    workbook: tuple[Path, fr.Evaluation], sheet: str
) -> None:
    """In each part of the sheet (文件明确规定 / 依据假设, issue 12), problems come first, then
    the undecided findings grouped by missing field."""
    path, ev = workbook
    wb = openpyxl.load_workbook(path, read_only=True)
    header, *all_rows = list(wb[sheet].iter_rows(values_only=True))
    wb.close()
    parts: list[list[tuple[object, ...]]] = [[]]
    for r in all_rows:
        if isinstance(r[0], str) and r[0].startswith(PART_HEADINGS) and not any(r[1:]):
            parts.append([])  # a part heading row
        else:
            parts[-1].append(r)
    by_key = {
        (f.subject_id, f.rule_id): tuple(sorted({m.field for m in f.missing}))
        for f in ev.unknowns()
    }
    mixed = 0
    for rows in parts:
        verdicts = [r[header.index("判定")] for r in rows]
        if "无法判定" not in verdicts:
            assert set(verdicts) <= {"不符合"}
            continue
        mixed += "不符合" in verdicts
        first_unknown = verdicts.index("无法判定")
        assert set(verdicts[:first_unknown]) <= {"不符合"}
        assert set(verdicts[first_unknown:]) == {"无法判定"}
        # each undecided finding's missing fields, in sheet order: every group is one run
        keys = [
            by_key[(r[header.index("对象编码")], r[header.index("规则编号")])]
            for r in rows[first_unknown:]
        ]
        runs = [k for k, _ in groupby(keys)]
        assert len(runs) == len(set(runs)), "an undecided group by missing field is split"
    assert mixed, "no part of the sheet has both problems and undecided findings"


def test_explanation_column_wraps(workbook: tuple[Path, fr.Evaluation]) -> None:
    path, _ = workbook
    wb = openpyxl.load_workbook(path)
    for sheet in ("县级目标", "村", "户", "人员"):
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        column = header.index("说明") + 1
        cells = [ws.cell(row=r, column=column) for r in range(2, min(ws.max_row, 50) + 1)]
        assert cells and all(c.alignment.wrap_text for c in cells if c.value), sheet
