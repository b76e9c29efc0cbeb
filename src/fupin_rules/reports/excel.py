"""The Excel problem list (问题清单): one sheet per level, data to collect, data errors, summary.

:func:`write_problem_list` streams rows (xlsxwriter in constant-memory mode: each row is
written out once the next one begins), so a county run of ~100,000 findings writes in seconds
with flat memory. Identical input gives identical cells: no timestamps in any cell, a fixed
workbook date (the as-of date) in ``docProps/core.xml``, xlsxwriter's one fixed date on every
zip entry, and a stable row order, so two runs give identical bytes. The file is written
beside the target and renamed over it when complete.

What each row says (the columns, the two parts of a level sheet, :func:`sheet_order`) is in
:mod:`~fupin_rules.reports._excel_rows`; the report model shared with the HTML report
(:class:`SubjectDirectory`, :func:`report_findings`, :func:`level_of`, the Chinese labels) in
:mod:`~fupin_rules.reports.model`. Both are importable from here too.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from fupin_rules.domain.dataset import Dataset
from fupin_rules.engine.run import Evaluation
from fupin_rules.findings.model import Finding
from fupin_rules.reports._excel_rows import (
    _COUNTY_COLUMNS,
    _ERROR_COLUMNS,
    _FINDING_COLUMNS,
    _MISSING_COLUMNS,
    PART_HEADINGS,
    _blocked,
    _county_rows,
    _level_rows,
    _Part,
    sheet_order,
)
from fupin_rules.reports._files import replacing
from fupin_rules.reports.json_report import not_in_force_notice, summary
from fupin_rules.reports.model import (
    KIND_ZH,
    LEVELS,
    RULE_KIND_ZH,
    VERDICT_ZH,
    SubjectDirectory,
    level_of,
    missing_data,
    order_findings,
    output_value,
    readable_number,
    report_findings,
    split_by_assumptions,
    village_counts,
)

if TYPE_CHECKING:
    from fupin_rules.runs.tracking import Tracking

__all__ = [
    "KIND_ZH",
    "LEVELS",
    "PART_HEADINGS",
    "RULE_KIND_ZH",
    "VERDICT_ZH",
    "SubjectDirectory",
    "level_of",
    "missing_data",
    "order_findings",
    "output_value",
    "readable_number",
    "report_findings",
    "sheet_order",
    "split_by_assumptions",
    "village_counts",
    "write_problem_list",
]


_MAX_CELL = 32_000  # Excel's limit is 32,767 characters per cell
#: the control characters an .xlsx cell cannot hold (XML 1.0; the set openpyxl refuses)
_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
#: the cell formats, as xlsxwriter format properties
_HEADER = {"bold": True, "font_color": "#FFFFFF", "pattern": 1, "bg_color": "#305496"}
#: long text (the 说明 explanation) wraps inside its column instead of running on one line
_WRAP = {"text_wrap": True, "valign": "top"}
#: columns whose text wraps
_WRAPPED = frozenset({"说明"})
_TITLE = {"bold": True, "font_size": 13}
#: the row heading each part of a level sheet (文件明确规定 / 依据假设): its fill, and its first
#: cell's font
_PART_FILLS = {False: "#DDEBF7", True: "#E8D5F0"}
_PART_FONT = {"bold": True, "font_color": "#1F2933"}
_SECTION = {"bold": True}


def _text(value: str) -> str:
    value = _ILLEGAL_CHARACTERS.sub("", value)
    if len(value) > _MAX_CELL:
        value = value[:_MAX_CELL] + "…(截断 truncated)"
    return value


class _Formats:
    """The cell formats of one workbook (xlsxwriter formats belong to their workbook)."""

    def __init__(self, wb: Workbook) -> None:
        self.header = wb.add_format(_HEADER)
        self.wrap = wb.add_format(_WRAP)
        self.title = wb.add_format(_TITLE)
        self.section = wb.add_format(_SECTION)
        self.part_first = {
            a: wb.add_format({**_PART_FONT, "pattern": 1, "bg_color": c})
            for a, c in _PART_FILLS.items()
        }
        self.part_fill = {
            a: wb.add_format({"pattern": 1, "bg_color": c}) for a, c in _PART_FILLS.items()
        }


def _refused(ws: Worksheet, row: int, col: int, status: int) -> None:
    raise ValueError(
        f"Excel cannot hold the cell at row {row + 1:,}, column {col + 1} of sheet {ws.name!r}"
        f" (xlsxwriter status {status}: -1 is past Excel's 1,048,576 rows or 16,384 columns)"
    )


class _Sheet:
    """One worksheet written row after row (constant memory: a row is on disk once the next
    begins)."""

    def __init__(self, ws: Worksheet) -> None:
        self.ws = ws
        self.row = 0  # the next row to write (0-based)

    def append(self, values: Iterable[Any], formats: Sequence[Format | None] | None = None) -> None:
        """One row: text sanitised and always text (never a formula, whatever it starts
        with), integers as numbers, no cell at all for None or empty text. A cell xlsxwriter
        refuses (it returns a status instead of raising) is an error, never a silent gap."""
        ws, r = self.ws, self.row
        fmts = formats or ()
        for c, v in enumerate(values):
            if v is None:
                continue
            fmt = fmts[c] if c < len(fmts) else None
            if isinstance(v, str):
                if not v.isprintable() or len(v) > _MAX_CELL:  # printable: no control character
                    v = _text(v)
                status = ws.write_string(r, c, v, fmt) if v else 0
            elif isinstance(v, bool):
                status = ws.write_boolean(r, c, v, fmt)
            elif isinstance(v, int | float):
                status = ws.write_number(r, c, v, fmt)
            else:
                raise TypeError(f"no Excel cell for {type(v).__name__}: {v!r}")
            if status:
                _refused(ws, r, c, status)
        self.row = r + 1

    def styled(self, values: Sequence[Any], fmt: Format) -> None:
        """One row of which every value is written in ``fmt``."""
        self.append(values, [fmt] * len(values))


def _sheet(
    wb: Workbook, formats: _Formats, title: str, columns: Sequence[tuple[str, int]]
) -> _Sheet:
    """A streaming sheet with a styled, frozen header row and column widths."""
    ws = wb.add_worksheet(title)
    for i, (_, width) in enumerate(columns):
        ws.set_column(i, i, width)
    ws.freeze_panes(1, 0)
    sheet = _Sheet(ws)
    sheet.styled([name for name, _ in columns], formats.header)
    return sheet


def _finish(sheet: _Sheet, ncols: int, nrows: int) -> None:
    sheet.ws.autofilter(0, 0, max(nrows, 1), ncols - 1)


#: data rows per sheet: Excel's 1,048,576 rows less the header row
MAX_DATA_ROWS = 1_048_575


class _Rows:
    """A sheet that continues on "<title> (2)", "<title> (3)", ... at Excel's row limit.

    A province-sized county can have more problems of one level than a sheet holds; Excel
    refuses a file with more rows, so the rows go on in the next sheet, header repeated.
    """

    def __init__(
        self, wb: Workbook, formats: _Formats, title: str, columns: Sequence[tuple[str, int]]
    ) -> None:
        self.wb = wb
        self.formats = formats
        self.title = title
        self.columns = columns
        self.sheets: list[_Sheet] = []
        self.cell_formats: list[Format | None] = [
            formats.wrap if name in _WRAPPED else None for name, _ in columns
        ]
        self.heading_formats = {
            a: [formats.part_first[a]] + [formats.part_fill[a]] * (len(columns) - 1)
            for a in (False, True)
        }
        self.n = 0  # data rows in the current sheet
        self.total = 0
        self._next()

    def _next(self) -> None:
        if self.sheets:
            _finish(self.sheets[-1], len(self.columns), self.n)
        k = len(self.sheets) + 1
        title = self.title if k == 1 else f"{self.title} ({k})"
        self.sheets.append(_sheet(self.wb, self.formats, title, self.columns))
        self.n = 0

    def append(self, values: Iterable[Any]) -> None:
        """Add one data row (as :meth:`_Sheet.append`; the 说明 column wrapped)."""
        if self.n >= MAX_DATA_ROWS:
            self._next()
        self.sheets[-1].append(values, self.cell_formats)
        self.n += 1
        self.total += 1

    def heading(self, text: str, assumed: bool) -> None:
        """A row heading one part of the sheet: bold text in the first cell, the row filled."""
        if self.n >= MAX_DATA_ROWS:
            self._next()
        sheet = self.sheets[-1]
        sheet.append([text], self.heading_formats[assumed][:1])
        for c, fmt in enumerate(self.heading_formats[assumed][1:], start=1):
            if status := sheet.ws.write_blank(sheet.row - 1, c, None, fmt):
                _refused(sheet.ws, sheet.row - 1, c, status)
        self.n += 1
        self.total += 1

    def close(self) -> None:
        """Set the last sheet's filter range."""
        _finish(self.sheets[-1], len(self.columns), self.n)


def _summary_sheet(
    wb: Workbook, formats: _Formats, ev: Evaluation, subjects: SubjectDirectory
) -> None:
    ws = wb.add_worksheet("汇总")
    for col, width in enumerate((36, 40, 14, 8, 12, 10, 10, 10, 10, 10)):
        ws.set_column(col, col, width)
    sheet = _Sheet(ws)

    def title(text: str, fmt: Format = formats.section) -> None:
        sheet.styled([text], fmt)

    def header(names: Sequence[str]) -> None:
        sheet.styled(names, formats.header)

    s = summary(ev)
    title("扶贫政策回头看 问题清单 (problem list)", formats.title)
    sheet.append(["政策 policy", f"{ev.policy_id} {ev.policy_version}"])
    notice = not_in_force_notice(ev)
    if notice:
        sheet.append(["不在效力期 not in force", notice[0]])
        sheet.append(["", notice[1]])
    for label, value in (
        ("内容哈希 content hash", ev.policy_hash),
        ("判定日期 as of", ev.on.isoformat()),
        ("引擎 engine", ev.engine),
        ("判定总数 findings", s["findings"]),
        ("不符合(问题) problems", s["problems"]),
        ("  其中 文件明确 stated by the text", s["problems"] - len(ev.problems_assumed())),
        ("  其中 依据假设 resting on assumptions", len(ev.problems_assumed())),
        ("无法判定(待补数据) unknown", s["unknown"]),
        ("不适用(未列出) not applicable", s["not_applicable"]),
        ("被拒输入行 rejected input rows", s["rejected_rows"]),
        ("评估失败单元 failed units", s["unit_errors"]),
    ):
        sheet.append([label, value])
    sheet.append([])

    title("按规则统计 (counts by rule and verdict)")
    header(["规则编号", "问题", "条款", "类型", "对象类型", "符合", "不符合", "无法判定", "合计"])
    for t in ev.rule_tallies():  # every engine's counts, passes listed or not
        sheet.append(
            [
                t.rule_id,
                t.title_zh,
                t.clause,
                RULE_KIND_ZH.get(t.rule_kind, t.rule_kind),
                KIND_ZH.get(t.subject_kind, t.subject_kind),
                t.passed,
                t.failed,
                t.unknown,
                t.total,
            ]
        )
    sheet.append([])

    title("按村统计 (problems per village)")
    header(["村编码", "村名称", "不符合", "其中村级", "其中户级", "其中人员", "无法判定"])
    for vid, c in village_counts(ev, subjects):
        sheet.append(
            [
                vid or "(未归村 no village)",
                subjects.name("village", vid) if vid else "",
                c["fail"],
                c["fail:village"],
                c["fail:household"],
                c["fail:person"],
                c["unknown"],
            ]
        )
    sheet.append([])

    title("待补数据按字段 (missing data by field)")
    header(["字段", "字段名称", "对象类型", "缺失对象数", "受阻判定数"])
    by_field: dict[tuple[str, str], list[Any]] = {}
    for kind, _sid, fld, label, fs in missing_data(ev):
        entry = by_field.setdefault((fld, kind), [label, 0, 0])
        entry[1] += 1
        entry[2] += len(fs)
    for (fld, kind), (label, n_subjects, n_findings) in sorted(by_field.items()):
        sheet.append([fld, label, KIND_ZH.get(kind, kind), n_subjects, n_findings])


def write_problem_list(
    ev: Evaluation,
    path: str | Path,
    *,
    dataset: Dataset | None = None,
    tracking: Tracking | None = None,
    subjects: SubjectDirectory | None = None,
) -> None:
    """Write the problem list (问题清单) workbook to ``path`` (.xlsx).

    Sheets: 汇总 (provenance, counts by rule and verdict, problems per village, missing data by
    field), 县级目标, 村, 户, 人员 (problems and undecided findings of each level, with the
    Chinese explanation, wrapped; 村, 户, 人员 list the problems first, then the undecided ones
    grouped by missing field: :func:`sheet_order`; 县级目标 also has target/actual/gap; a
    sheet with findings resting on assumptions is in two parts, each under a heading row:
    一、文件明确规定的问题 (no assumption), then 二、依据假设的问题, each in that order),
    待补数据 (each missing field, its
    subject and the rules it blocks) and 数据错误 (rejected input rows and failed units).
    A sheet with more rows than Excel allows (1,048,575 below the header) continues on
    "户 (2)", "户 (3)", ... Pass the ``dataset`` the evaluation ran on to add names and group
    by village. With a ``tracking`` (``check --store``/``--since``) a 整改台账 sheet follows
    汇总: each open problem with its status, village, 帮扶责任人, first seen and days open.
    ``subjects``: the dataset's directory when the caller has built it already (``check``
    builds it once for the Excel and the HTML report); it is built from ``dataset`` otherwise.
    """

    if subjects is None:
        subjects = SubjectDirectory.from_dataset(dataset)
    # a fixed date keeps docProps stable for identical input
    stamp = dt.datetime.combine(ev.on, dt.time())
    with (
        replacing(path, "wb") as fh,
        tempfile.TemporaryDirectory(prefix="fupin-xlsx-") as scratch,
    ):
        # constant memory: each row goes to a scratch file once the next row begins
        wb = Workbook(
            fh,
            {
                "constant_memory": True,
                "tmpdir": scratch,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        wb.set_properties(
            {
                "author": "fupin_rules",
                "title": f"问题清单 {ev.policy_id} {ev.policy_version} {ev.on.isoformat()}",
                "created": stamp,  # also dcterms:modified
            }
        )
        formats = _Formats(wb)
        _summary_sheet(wb, formats, ev, subjects)
        if tracking is not None:  # 整改台账: open problems with status, 帮扶责任人, days open
            from fupin_rules.reports.rectification import LEDGER_COLUMNS, ledger_rows

            ledger = _Rows(
                wb, formats, "整改台账", LEDGER_COLUMNS
            )  # continued past Excel's row limit
            for row in ledger_rows(tracking):
                ledger.append(row)
            ledger.close()

        by_level: dict[str, list[Finding]] = {level: [] for level in LEVELS}
        for f in report_findings(ev):
            by_level[level_of(f.subject_kind)].append(f)
        for level, (sheet_title, _) in LEVELS.items():
            columns = _COUNTY_COLUMNS if level == "county" else _FINDING_COLUMNS
            sheet = _Rows(wb, formats, sheet_title, columns)
            rows = (_county_rows if level == "county" else _level_rows)(by_level[level], subjects)
            for values in rows:
                if isinstance(values, _Part):
                    sheet.heading(values.text, values.assumed)
                else:
                    sheet.append(values)
            sheet.close()

        sheet = _Rows(wb, formats, "待补数据", _MISSING_COLUMNS)
        for kind, sid, fld, label, fs in missing_data(ev):
            sheet.append(
                [
                    *subjects.where(kind, sid),
                    fld,
                    label,
                    len(fs),
                    _blocked(fs),
                ]
            )
        sheet.close()

        sheet = _Rows(wb, formats, "数据错误", _ERROR_COLUMNS)
        for i in ev.data_issues:
            sheet.append(
                [
                    "输入提示 input warning"
                    if i.severity == "warning"
                    else "输入行被拒 rejected row"
                    if i.row is not None
                    else "输入未读 not read",
                    i.source,
                    i.table,
                    i.row,
                    i.record_id or "",
                    i.field or "",
                    i.column or "",
                    i.message,
                ]
            )
        for e in ev.errors:
            sheet.append(
                [
                    "单元评估失败 failed unit",
                    "",
                    e.stratum,
                    None,
                    f"{KIND_ZH.get(e.subject_kind, e.subject_kind)} {e.subject_id}",
                    "",
                    "",
                    e.message,
                ]
            )
        sheet.close()
        try:
            wb.close()
        except BaseException as exc:
            # xlsxwriter leaves its zip open on an error (an interrupt, a full disk): release it
            # now, while the file it writes to is open, not at a later collection that reports
            # "seek of closed file"; the partial file is then removed by replacing()
            traceback.clear_frames(exc.__traceback__)
            raise
