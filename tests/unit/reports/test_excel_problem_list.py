"""The Excel problem list (问题清单): sheets, rows, explanations, data to collect, data errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import openpyxl
import pytest

import fupin_rules as fr
from fupin_rules.expr.values import Interval
from fupin_rules.reports import write_problem_list
from fupin_rules.reports.excel import PART_HEADINGS

SHEETS = ["汇总", "县级目标", "村", "户", "人员", "待补数据", "数据错误"]


def _is_part_heading(row: tuple[Any, ...]) -> bool:
    """The row heading a part of a level sheet (文件明确规定 / 依据假设): text in the first
    cell only."""
    first, *rest = row
    return isinstance(first, str) and first.startswith(PART_HEADINGS) and not any(rest)


def _rows(path: Path, sheet: str, *, headings: bool = False) -> list[dict[str, Any]]:
    """The data rows of a sheet (the part heading rows left out unless ``headings``)."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        header, *rows = list(wb[sheet].iter_rows(values_only=True))
    finally:
        wb.close()
    return [dict(zip(header, r, strict=True)) for r in rows if headings or not _is_part_heading(r)]


def test_sheets_in_order_with_frozen_filtered_headers(
    failing_village: fr.Evaluation, tmp_path: Path
) -> None:
    path = tmp_path / "problems.xlsx"
    write_problem_list(failing_village, path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == SHEETS
    for title in SHEETS[1:]:
        ws = wb[title]
        assert ws.freeze_panes == "A2", title
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), title
        assert ws.column_dimensions["A"].width > 0


def test_failing_village_row_with_chinese_explanation(
    failing_village: fr.Evaluation, tmp_path: Path
) -> None:
    path = tmp_path / "problems.xlsx"
    write_problem_list(failing_village, path)
    (row,) = _rows(path, "村")
    assert row["对象编码"] == "V1" and row["所属村"] == "V1"
    assert row["规则编号"] == "village.exit.standard"
    assert (row["问题"], row["条款"], row["判定"]) == ("贫困村出列标准", "三(三)", "不符合")
    # the failing condition, with the residents counted as poor behind it (drill-down)
    assert row["不符合条件"] == (
        "贫困发生率低于2%: 计入的记录 (count(residents, household.is_poor)): P1 (共 1 条)"
    )
    assert row["依据假设"] in (None, "")  # the village standard rests on the text only
    assert row["说明"] == fr.explain(failing_village.problems()[0], "zh")
    assert "村 V1 — 贫困村出列标准(第三(三)条): 不符合" in row["说明"]
    assert (row["政策"], row["版本"], row["判定日期"]) == ("mini", "0.1.0", "2017-12-31")
    assert failing_village.policy_hash.startswith(row["内容哈希"])
    # P2's "not eligible" is an answer, not a problem: it is not listed
    assert _rows(path, "人员") == [] and _rows(path, "待补数据") == []


def test_summary_counts_by_rule_and_village(failing_village: fr.Evaluation, tmp_path: Path) -> None:
    path = tmp_path / "problems.xlsx"
    write_problem_list(failing_village, path)
    cells = list(openpyxl.load_workbook(path)["汇总"].iter_rows(values_only=True))
    facts = {r[0]: r[1] for r in cells if r and r[0] and r[1] is not None}
    assert facts["政策 policy"] == "mini 0.1.0"
    assert facts["不符合(问题) problems"] == 1
    assert facts["判定总数 findings"] == len(failing_village.findings)
    by_rule = {r[0]: r[5:9] for r in cells if r[0] == "village.exit.standard"}
    assert by_rule == {"village.exit.standard": (0, 1, 0, 1)}
    start = next(i for i, r in enumerate(cells) if r[0] == "按村统计 (problems per village)")
    assert cells[start + 2][:3] == ("V1", None, 1)


def test_unknown_sheet_lists_the_missing_field_with_names(
    unknown_village: tuple[fr.Evaluation, fr.LoadResult], tmp_path: Path
) -> None:
    ev, loaded = unknown_village
    path = tmp_path / "problems.xlsx"
    write_problem_list(ev, path, dataset=loaded.dataset)
    missing = _rows(path, "待补数据")
    village = next(r for r in missing if r["对象编码"] == "V1")
    assert village["缺少字段"] == "clinic_has_qualified_doctor"
    assert village["字段名称"] == "卫生室医生资质"
    assert village["村名称"] == "一村" and village["受阻判定数"] == 1
    assert "village.exit.standard(贫困村出列标准)" in village["受阻规则"]
    person = next(r for r in missing if r["对象编码"] == "Q99")
    assert (person["所属村"], person["所属户"], person["名称"]) == ("V1", "H2", "张三")
    (row,) = _rows(path, "村")
    assert row["判定"] == "无法判定" and "缺少 卫生室医生资质 数据" in row["缺失数据"]
    (prow,) = _rows(path, "人员")
    assert (prow["对象编码"], prow["名称"], prow["所属户"]) == ("Q99", "张三", "H2")


def test_data_errors_sheet_has_rejected_rows_and_failed_units(
    unknown_village: tuple[fr.Evaluation, fr.LoadResult], tmp_path: Path
) -> None:
    ev, _ = unknown_village
    ev = attrs.evolve(ev, errors=(fr.SubjectError("village", "village", "V9", "ValueError: boom"),))
    path = tmp_path / "problems.xlsx"
    write_problem_list(ev, path)
    rejected, failed = _rows(path, "数据错误")
    assert (rejected["表"], rejected["行"], rejected["记录编码"], rejected["字段"]) == (
        "persons",
        52,
        "BAD",
        "shcool_level",
    )
    assert "did you mean 'school_level'" in rejected["原因"]
    assert failed["记录编码"] == "村 V9" and failed["原因"] == "ValueError: boom"


def test_county_targets_show_target_actual_gap(
    county_case: tuple[fr.Evaluation, fr.LoadResult], tmp_path: Path
) -> None:
    ev, loaded = county_case
    path = tmp_path / "problems.xlsx"
    write_problem_list(ev, path, dataset=loaded.dataset)
    rows = {r["规则编号"]: r for r in _rows(path, "县级目标")}
    targets = [f for f in ev.findings if f.rule_kind == "target"]
    assert targets
    for f in targets:
        out = dict(f.outputs)
        row = rows[f.rule_id]
        assert row["判定"] == {"pass": "符合", "fail": "不符合", "unknown": "无法判定"}[f.verdict]
        for col, name in (("目标", "target"), ("实际", "actual"), ("差距", "gap")):
            value = out[name]
            if isinstance(value, Interval):  # a range known up to missing parts, readable
                want = f"{int(value.lo):,} ~ {int(value.hi):,} ({value.missing} 项缺失)"
            else:
                want = fr.findings.json_value(value)
            assert str(row[col]) == want, (f.rule_id, col)
    # every household problem is on the 户 sheet, placed in its village
    households = _rows(path, "户")
    expected = [f for f in ev.problems() if f.subject_kind == "household"]
    listed = [r for r in households if r["判定"] == "不符合"]
    assert len(listed) == len(expected) and all(r["所属村"] for r in listed)


def test_identical_input_gives_identical_cells(
    unknown_village: tuple[fr.Evaluation, fr.LoadResult], tmp_path: Path
) -> None:
    ev, loaded = unknown_village

    def cells(path: Path) -> list[list[tuple[Any, ...]]]:
        wb = openpyxl.load_workbook(path)
        return [list(ws.iter_rows(values_only=True)) for ws in wb]

    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_problem_list(ev, a, dataset=loaded.dataset)
    write_problem_list(ev, b, dataset=loaded.dataset)
    assert cells(a) == cells(b)


@pytest.mark.parametrize("message", ['=HYPERLINK("x")', "bad\x07char"])
def test_input_text_stays_text(
    failing_village: fr.Evaluation, tmp_path: Path, message: str
) -> None:
    issue = fr.DataIssue("a.xlsx", "persons", 3, "P9", "name", message)
    path = tmp_path / "problems.xlsx"
    write_problem_list(attrs.evolve(failing_village, data_issues=(issue,)), path)
    ws = openpyxl.load_workbook(path)["数据错误"]
    cell = ws["H2"]
    assert cell.data_type == "s"
    assert cell.value == message.replace("\x07", "")


def test_a_sheet_over_excels_row_limit_continues_on_the_next(
    unknown_village: tuple[fr.Evaluation, fr.LoadResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fupin_rules.reports import excel

    ev, loaded = unknown_village
    whole = tmp_path / "whole.xlsx"
    write_problem_list(ev, whole, dataset=loaded.dataset)
    # every row counts toward Excel's limit, the heading rows of the two parts too
    rows = {s: _rows(whole, s, headings=True) for s in SHEETS[1:]}
    assert len(rows["村"]) + len(rows["户"]) + len(rows["人员"]) >= 2
    monkeypatch.setattr(excel, "MAX_DATA_ROWS", 1)  # stands for Excel's 1,048,575
    split = tmp_path / "split.xlsx"
    write_problem_list(ev, split, dataset=loaded.dataset)
    names = openpyxl.load_workbook(split, read_only=True).sheetnames
    assert len(names) > len(SHEETS)  # some sheet was continued
    for title in SHEETS[1:]:
        n = len(rows[title])
        parts = [title] + [f"{title} ({k})" for k in range(2, n + 1)]
        assert [s for s in names if s == title or s.startswith(f"{title} (")] == parts, title
        # every row kept, in order, one per sheet, each sheet with its own header
        assert [r for p in parts for r in _rows(split, p, headings=True)] == rows[title], title
        assert all(len(_rows(split, p, headings=True)) == 1 for p in parts[: n or 1]) or n == 0
    # the continuation sheets follow their first sheet
    assert names.index("数据错误") > names.index("待补数据")


def test_a_cell_excel_cannot_hold_is_an_error_not_a_gap(tmp_path: Path) -> None:
    """xlsxwriter returns a status instead of raising for a cell past Excel's last row (it
    would leave the cell out); the writer turns it into an error naming sheet, row and
    column. (The level sheets continue on "户 (2)" before that row: the test above.)"""
    import xlsxwriter

    from fupin_rules.reports import excel

    wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"), {"constant_memory": True})
    sheet = excel._Sheet(wb.add_worksheet("户"))
    sheet.append(["fits", None, 1])
    sheet.row = 1_048_576  # 0-based: the row after Excel's last one
    with pytest.raises(ValueError, match=r"row 1,048,577, column 1 of sheet '户'"):
        sheet.append(["lost?", None, 5])
    wb.close()
    assert openpyxl.load_workbook(tmp_path / "x.xlsx").active["A1"].value == "fits"
