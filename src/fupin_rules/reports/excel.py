"""The Excel problem list (问题清单): one sheet per level, data to collect, data errors, summary.

:func:`write_problem_list` streams rows (openpyxl write-only mode), so a county run of ~100,000
findings writes in seconds with flat memory. Identical input gives identical cells: no
timestamps in any cell, a fixed workbook date (the as-of date) in ``docProps/core.xml`` and on
every zip entry, and a stable row order, so two runs give identical bytes. The file is written
beside the target and renamed over it when complete.

What each row says (the columns, the two parts of a level sheet, :func:`sheet_order`) is in
:mod:`~fupin_rules.reports._excel_rows`; the report model shared with the HTML report
(:class:`SubjectDirectory`, :func:`report_findings`, :func:`level_of`, the Chinese labels) in
:mod:`~fupin_rules.reports.model`. Both are importable from here too.
"""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

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
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="305496")
#: long text (the 说明 explanation) wraps inside its column instead of running on one line
_WRAP = Alignment(wrap_text=True, vertical="top")
#: columns whose text wraps
_WRAPPED = frozenset({"说明"})
_TITLE_FONT = Font(bold=True, size=13)
#: the row heading each part of a level sheet (文件明确规定 / 依据假设)
_PART_FONT = Font(bold=True, color="1F2933")
_PART_FILLS = {
    False: PatternFill("solid", fgColor="DDEBF7"),
    True: PatternFill("solid", fgColor="E8D5F0"),
}
_SECTION_FONT = Font(bold=True)


def _text(value: str) -> str:
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if len(value) > _MAX_CELL:
        value = value[:_MAX_CELL] + "…(截断 truncated)"
    return value


def _row(ws: WriteOnlyWorksheet, values: Iterable[Any]) -> list[Any]:
    """Cells for one row: text sanitised, and text starting with "=" kept as text."""
    out: list[Any] = []
    for v in values:
        if isinstance(v, str):
            v = _text(v) or None  # no cell at all for empty text: smaller, faster
            if v is not None and v.startswith("="):
                cell = WriteOnlyCell(ws, value=v)
                cell.data_type = "s"  # never a formula, whatever the input says
                v = cell
        out.append(v)
    return out


def _sheet(wb: Workbook, title: str, columns: Sequence[tuple[str, int]]) -> WriteOnlyWorksheet:
    """A streaming sheet with a styled, frozen header row and column widths."""
    ws: WriteOnlyWorksheet = wb.create_sheet(title)
    for i, (_, width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    header = []
    for name, _ in columns:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        header.append(cell)
    ws.append(header)
    return ws


def _finish(ws: WriteOnlyWorksheet, ncols: int, nrows: int) -> None:
    ws.auto_filter.ref = f"A1:{get_column_letter(ncols)}{max(nrows, 1) + 1}"


#: data rows per sheet: Excel's 1,048,576 rows less the header row
MAX_DATA_ROWS = 1_048_575


class _Rows:
    """A sheet that continues on "<title> (2)", "<title> (3)", ... at Excel's row limit.

    A province-sized county can have more problems of one level than a sheet holds; Excel
    refuses a file with more rows, so the rows go on in the next sheet, header repeated.
    """

    def __init__(self, wb: Workbook, title: str, columns: Sequence[tuple[str, int]]) -> None:
        self.wb = wb
        self.title = title
        self.columns = columns
        self.sheets: list[WriteOnlyWorksheet] = []
        self.wrapped = [i for i, (name, _) in enumerate(columns) if name in _WRAPPED]
        self.n = 0  # data rows in the current sheet
        self.total = 0
        self._next()

    def _next(self) -> None:
        if self.sheets:
            _finish(self.sheets[-1], len(self.columns), self.n)
        k = len(self.sheets) + 1
        title = self.title if k == 1 else f"{self.title} ({k})"
        self.sheets.append(_sheet(self.wb, title, self.columns))
        self.n = 0

    def append(self, values: Iterable[Any]) -> None:
        """Add one data row (sanitised as :func:`_row`)."""
        if self.n >= MAX_DATA_ROWS:
            self._next()
        ws = self.sheets[-1]
        cells = _row(ws, values)
        for i in self.wrapped:
            v = cells[i] if i < len(cells) else None
            if isinstance(v, str):
                v = WriteOnlyCell(ws, value=v)
            if isinstance(v, Cell):
                v.alignment = _WRAP
                cells[i] = v
        ws.append(cells)
        self.n += 1
        self.total += 1

    def heading(self, text: str, assumed: bool) -> None:
        """A row heading one part of the sheet: bold text in the first cell, the row filled."""
        if self.n >= MAX_DATA_ROWS:
            self._next()
        ws = self.sheets[-1]
        cells = []
        for i in range(len(self.columns)):
            cell = WriteOnlyCell(ws, value=_text(text) if i == 0 else None)
            cell.fill = _PART_FILLS[assumed]
            if i == 0:
                cell.font = _PART_FONT
            cells.append(cell)
        ws.append(cells)
        self.n += 1
        self.total += 1

    def close(self) -> None:
        """Set the last sheet's filter range."""
        _finish(self.sheets[-1], len(self.columns), self.n)


def _summary_sheet(wb: Workbook, ev: Evaluation, subjects: SubjectDirectory) -> None:
    ws: WriteOnlyWorksheet = wb.create_sheet("汇总")
    for col, width in zip("ABCDEFGHIJ", (36, 40, 14, 8, 12, 10, 10, 10, 10, 10), strict=True):
        ws.column_dimensions[col].width = width

    def title(text: str, font: Font = _SECTION_FONT) -> None:
        cell = WriteOnlyCell(ws, value=text)
        cell.font = font
        ws.append([cell])

    def header(names: Sequence[str]) -> None:
        cells = []
        for n in names:
            cell = WriteOnlyCell(ws, value=n)
            cell.font = _HEADER_FONT
            cell.fill = _HEADER_FILL
            cells.append(cell)
        ws.append(cells)

    s = summary(ev)
    title("扶贫政策回头看 问题清单 (problem list)", _TITLE_FONT)
    ws.append(
        _row(
            ws,
            [
                "政策 policy",
                f"{ev.policy_id} {ev.policy_version}",
            ],
        )
    )
    notice = not_in_force_notice(ev)
    if notice:
        ws.append(_row(ws, ["不在效力期 not in force", notice[0]]))
        ws.append(_row(ws, ["", notice[1]]))
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
        ws.append(_row(ws, [label, value]))
    ws.append([])

    title("按规则统计 (counts by rule and verdict)")
    header(["规则编号", "问题", "条款", "类型", "对象类型", "符合", "不符合", "无法判定", "合计"])
    for t in ev.rule_tallies():  # every engine's counts, passes listed or not
        ws.append(
            _row(
                ws,
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
                ],
            )
        )
    ws.append([])

    title("按村统计 (problems per village)")
    header(["村编码", "村名称", "不符合", "其中村级", "其中户级", "其中人员", "无法判定"])
    for vid, c in village_counts(ev, subjects):
        ws.append(
            _row(
                ws,
                [
                    vid or "(未归村 no village)",
                    subjects.name("village", vid) if vid else "",
                    c["fail"],
                    c["fail:village"],
                    c["fail:household"],
                    c["fail:person"],
                    c["unknown"],
                ],
            )
        )
    ws.append([])

    title("待补数据按字段 (missing data by field)")
    header(["字段", "字段名称", "对象类型", "缺失对象数", "受阻判定数"])
    by_field: dict[tuple[str, str], list[Any]] = {}
    for kind, _sid, fld, label, fs in missing_data(ev):
        entry = by_field.setdefault((fld, kind), [label, 0, 0])
        entry[1] += 1
        entry[2] += len(fs)
    for (fld, kind), (label, n_subjects, n_findings) in sorted(by_field.items()):
        ws.append(_row(ws, [fld, label, KIND_ZH.get(kind, kind), n_subjects, n_findings]))


def write_problem_list(
    ev: Evaluation,
    path: str | Path,
    *,
    dataset: Dataset | None = None,
    tracking: Tracking | None = None,
) -> None:
    """Write the problem list (问题清单) workbook to ``path`` (.xlsx).

    Sheets: 汇总 (provenance, counts by rule and verdict, problems per village, missing data by
    field), 县级目标, 村, 户, 人 (problems and undecided findings of each level, with the
    Chinese explanation, wrapped; 村, 户, 人 list the problems first, then the undecided ones
    grouped by missing field: :func:`sheet_order`; 县级目标 also has target/actual/gap; a
    sheet with findings resting on assumptions is in two parts, each under a heading row:
    一、文件明确规定的问题 (no assumption), then 二、依据假设的问题, each in that order),
    待补数据 (each missing field, its
    subject and the rules it blocks) and 数据错误 (rejected input rows and failed units).
    A sheet with more rows than Excel allows (1,048,575 below the header) continues on
    "户 (2)", "户 (3)", ... Pass the ``dataset`` the evaluation ran on to add names and group
    by village. With a ``tracking`` (``check --store``/``--since``) a 整改台账 sheet follows
    汇总: each open problem with its status, village, 帮扶责任人, first seen and days open.
    """
    subjects = SubjectDirectory.from_dataset(dataset)
    wb = Workbook(write_only=True)
    # a fixed date keeps docProps stable for identical input
    stamp = dt.datetime.combine(ev.on, dt.time())
    wb.properties.creator = "fupin_rules"
    wb.properties.title = f"问题清单 {ev.policy_id} {ev.policy_version} {ev.on.isoformat()}"
    wb.properties.created = stamp
    wb.properties.modified = stamp

    _summary_sheet(wb, ev, subjects)

    if tracking is not None:  # 整改台账: open problems with status, 帮扶责任人, days open
        from fupin_rules.reports.rectification import LEDGER_COLUMNS, ledger_rows

        ledger = _Rows(wb, "整改台账", LEDGER_COLUMNS)  # continued past Excel's row limit
        for row in ledger_rows(tracking):
            ledger.append(row)
        ledger.close()

    by_level: dict[str, list[Finding]] = {level: [] for level in LEVELS}
    for f in report_findings(ev):
        by_level[level_of(f.subject_kind)].append(f)
    for level, (sheet_title, _) in LEVELS.items():
        columns = _COUNTY_COLUMNS if level == "county" else _FINDING_COLUMNS
        sheet = _Rows(wb, sheet_title, columns)
        rows = (_county_rows if level == "county" else _level_rows)(by_level[level], subjects)
        for values in rows:
            if isinstance(values, _Part):
                sheet.heading(values.text, values.assumed)
            else:
                sheet.append(values)
        sheet.close()

    sheet = _Rows(wb, "待补数据", _MISSING_COLUMNS)
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

    sheet = _Rows(wb, "数据错误", _ERROR_COLUMNS)
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
    with replacing(path, "wb") as fh, _StampedZip(fh, stamp) as archive:
        # not wb.save(): openpyxl's save_workbook stamps dcterms:modified with the wall clock
        ExcelWriter(wb, archive).write_data()


class _StampedZip(zipfile.ZipFile):
    """A deflated zip whose every entry carries one fixed date (the as-of date), not the time
    of writing, so the same workbook gives the same bytes."""

    def __init__(self, file: Any, stamp: dt.datetime) -> None:
        super().__init__(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._date_time = (max(stamp.year, 1980), stamp.month, stamp.day, 0, 0, 0)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    def writestr(  # type: ignore[override]
        self, zinfo_or_arcname: str | zipfile.ZipInfo, data: bytes | str, *args: Any, **kw: Any
    ) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kw)

    def write(  # type: ignore[override]
        self, filename: Any, arcname: str | None = None, *args: Any, **kw: Any
    ) -> None:
        # openpyxl adds each write-only sheet from its temporary file: stream it, dated
        with (
            open(filename, "rb") as src,
            self.open(self._info(arcname or str(filename)), "w") as dst,
        ):
            shutil.copyfileobj(src, dst, 1 << 20)
