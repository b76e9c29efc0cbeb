"""The raw sheets of a ledger: the tables of an Excel workbook, a CSV folder or a Parquet folder as
read from their files, with the header row found and the rows numbered as the user sees them (see
:mod:`fupin_rules.io.ledger`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from fupin_rules.domain.dataset import DataIssue, short_repr
from fupin_rules.io._columns import non_empty_rows
from fupin_rules.io.cells import is_empty
from fupin_rules.io.headers import (
    TABLE_TITLES_ZH,
    resolve_column,
    resolve_table,
)
from fupin_rules.io.ledger_files import (
    LedgerError,
    _check_table_file,
    _display,
    _read_table_file,
)

_HEADER_SCAN_ROWS = 10

# --------------------------------------------------------------------------- raw sheets


@attrs.define
class _Sheet:
    """One table as read from its file: headers as written and data rows with user row numbers."""

    table: str
    source: str
    headers: list[object]
    rows: Sequence[tuple[int, Sequence[object]]]
    excel: bool = False  # messages name the cell (D5) too


def _split_header(
    table: str,
    numbered_rows: Iterable[tuple[int, Sequence[object]]],
    source: str,
    issues: list[DataIssue],
) -> tuple[list[object], list[tuple[int, Sequence[object]]]]:
    """Find the header row (skipping title rows above it); return it and the data rows.

    The header is the row, among the first few non-empty ones, that names the most known
    columns (the first of equals); if none names any, the first non-empty row (its unknown
    columns are then reported). Rows above the header are reported as skipped.
    """
    rows = [(n, r) for n, r in numbered_rows if not all(is_empty(c) for c in r)]
    if not rows:
        return [], []
    at, best = 0, 0
    for k, (_, row) in enumerate(rows[:_HEADER_SCAN_ROWS]):
        known = sum(
            1 for c in row if isinstance(c, str) and resolve_column(table, c)[0] is not None
        )
        if known > best:
            at, best = k, known
    # one-cell rows above the header are titles (竹山县贫困户台账): skipped, as documented; rows
    # with more cells might be data or a second header, so their skipping is reported
    if at and any(sum(1 for c in row if not is_empty(c)) > 1 for _, row in rows[:at]):
        skipped = [n for n, _ in rows[:at]]
        where = f"row {skipped[0]}" if len(skipped) == 1 else f"rows {skipped[0]}-{skipped[-1]}"
        first = [c for c in rows[0][1] if not is_empty(c)]
        issues.append(
            DataIssue.table_warning(
                source,
                table,
                f"{where} above the header (row {rows[at][0]}) not read: taken as a title "
                f"(表头上方的行已跳过): {short_repr(first)}",
            )
        )
    return list(rows[at][1]), rows[at + 1 :]


def _xlsx_sheets(path: Path) -> tuple[list[_Sheet], list[DataIssue]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise LedgerError(f"{path}: cannot open as an Excel workbook ({exc})") from exc
    sheets: list[_Sheet] = []
    issues: list[DataIssue] = []
    try:
        # a visible sheet always wins over a hidden one for the same table (a hidden sheet is
        # often a stale copy): visible sheets are read first, a hidden copy is then ignored
        ordered = sorted(workbook.worksheets, key=lambda ws: ws.sheet_state != "visible")
        for ws in ordered:
            source = f"{path.name}!{ws.title}"
            table, hint = resolve_table(ws.title)
            if table is None:
                issues.append(_unknown_table(source, ws.title, hint))
                continue
            if ws.sheet_state != "visible":
                issues.append(
                    DataIssue.table_warning(
                        source,
                        table,
                        f"sheet {ws.title!r} is hidden (隐藏工作表); it is read only if no visible "
                        "sheet holds the same table",
                    )
                )
            try:
                with warnings.catch_warnings():
                    # openpyxl warns about impossible date serials and reads them as errors;
                    # the cell then fails validation and is reported with its row and column
                    warnings.simplefilter("ignore", UserWarning)
                    numbered = enumerate(ws.iter_rows(values_only=True), start=1)
                    headers, rows = _split_header(table, numbered, source, issues)
            except (OverflowError, ValueError, TypeError) as exc:
                raise LedgerError(f"{source}: cannot read the sheet ({exc})") from exc
            issues.extend(_xlsx_cell_notes(ws, source, table))
            sheets.append(_Sheet(table, source, headers, rows, excel=True))
    finally:
        workbook.close()
    return sheets, issues


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+\d+(?::[A-Z]+\d+)?)"')
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]+\d+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
_VALUE = re.compile(rb"<(?:\w+:)?v\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?v>)", re.S)
_NOTE_CELLS = 5


def _cells_warning(source: str, table: str, cells: list[str], what: str, advice: str) -> DataIssue:
    """A sheet-level warning naming the first cells of a kind (and how many more)."""
    shown = ", ".join(cells[:_NOTE_CELLS]) + (
        f" and {len(cells) - _NOTE_CELLS} more" if len(cells) > _NOTE_CELLS else ""
    )
    return DataIssue.table_warning(
        source,
        table,
        f"{len(cells)} {what}: {shown}; {advice}",
    )


def _xlsx_cell_notes(ws: Any, source: str, table: str) -> list[DataIssue]:
    """Merged cells and formulas without a saved value: read as empty, so say so.

    openpyxl's read-only sheets know neither, so the sheet's XML is scanned (only the cells
    holding a formula are looked at closely).
    """
    try:
        with ws.parent._archive.open(ws._worksheet_path) as fh:
            xml = fh.read()
    except (AttributeError, KeyError, OSError):  # not a read-only sheet of a zip archive
        return []
    notes: list[DataIssue] = []
    merged = [m.decode() for m in _MERGE.findall(xml) if b":" in m]
    if merged:
        notes.append(
            _cells_warning(
                source,
                table,
                merged,
                "merged cell range(s) (合并单元格)",
                "only the first cell of a range holds its value, the others are read as empty "
                "(unknown); unmerge and fill the cells",
            )
        )
    if b"<f" not in xml and b":f" not in xml:
        return notes
    blank: list[str] = []
    for attrs_, body in _CELL.findall(xml):
        if not body or not _FORMULA.search(body):
            continue
        value = _VALUE.search(body)
        if value is not None and value.group(1):
            continue
        if b"<is>" in body:
            continue
        ref = _CELL_REF.search(attrs_)
        blank.append(ref.group(1).decode() if ref else "?")
    if blank:
        notes.append(
            _cells_warning(
                source,
                table,
                blank,
                "formula cell(s) without a saved value (公式没有计算结果)",
                "they are read as empty (unknown); open and save the workbook in Excel or WPS so "
                "the values are stored",
            )
        )
    return notes


_NOT_UTF8 = re.compile("[\udc80-\udcff]")
_NON_ASCII = re.compile("[^\x00-\x7f]")


def _decode(data: bytes, source: str, table: str) -> tuple[str, list[DataIssue]]:
    """Decode one CSV file, deciding its encoding on evidence; say what was decided.

    UTF-8 (a BOM is fine) when it decodes. Otherwise the characters that do read as UTF-8 are
    weighed against the bytes that do not: a UTF-8 file with a stray byte (one cp1252 ``é``)
    stays UTF-8, its undecodable bytes kept as ``\\udcXX`` escapes that :func:`_csv_sheets`
    turns into U+FFFD and reports cell by cell; a file with no UTF-8 text that reads as
    GB18030 (Excel's "CSV" on a Chinese Windows) is GB18030, reported as a warning.
    """
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    escaped = data.decode("utf-8-sig", errors="surrogateescape")
    bad = len(_NOT_UTF8.findall(escaped))
    good = len(_NON_ASCII.findall(escaped)) - bad
    if good < bad and not data.startswith(codecs.BOM_UTF8):
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            pass
        else:
            return text, [
                DataIssue.table_warning(
                    source,
                    table,
                    f"read as GB18030/GBK, not UTF-8 (按 GB18030 编码读取): {bad:,} bytes are not "
                    f"UTF-8 and {good:,} characters are; save the file as UTF-8 to be sure",
                )
            ]
    return escaped, [
        DataIssue.table_warning(
            source,
            table,
            f"read as UTF-8 (按 UTF-8 编码读取): {good:,} characters are UTF-8 but {bad:,} "
            "bytes are not; each cell holding one is named in a warning and shows U+FFFD (�) "
            "there",
        )
    ]


def _table_files(
    folder: Path, suffix: str, issues: list[DataIssue]
) -> Iterator[tuple[Path, str, str]]:
    """(file, display name, table) of a folder's ``*.suffix`` files; unknown names are issues."""
    for file in sorted(folder.glob(f"*.{suffix}")):
        source = _display(file)
        table, hint = resolve_table(file.stem)
        if table is None:
            issues.append(_unknown_table(source, file.stem, hint))
            continue
        yield file, source, table


def _csv_sheets(folder: Path, issues: list[DataIssue]) -> Iterator[_Sheet]:
    """The folder's tables one file at a time (a file's text and rows are dropped once it is
    converted, so only one file's raw rows are in memory at once)."""
    for file, source, table in _table_files(folder, "csv", issues):
        yield _csv_sheet(folder, file, source, table, issues)


def _csv_sheet(
    folder: Path, file: Path, source: str, table: str, issues: list[DataIssue]
) -> _Sheet:
    text, notes = _decode(_read_table_file(folder, file, source), source, table)
    issues.extend(notes)
    reader = csv.reader(io.StringIO(text, newline=""))
    del text  # the reader's buffer holds its own copy
    numbered: list[tuple[int, Sequence[object]]] = []
    line = 0
    try:
        for row in reader:
            numbered.append((line + 1, row))  # the line the record starts on
            line = reader.line_num
    except csv.Error as exc:
        raise LedgerError(f"{source}:{reader.line_num}: malformed CSV ({exc})") from exc
    escaped: list[tuple[int, list[str]]] = []  # rows with bytes that are not UTF-8
    if any(n.message.startswith("read as UTF-8") for n in notes):
        for k, (n, raw) in enumerate(numbered):
            cells = [str(c) for c in raw]
            if any(_NOT_UTF8.search(c) for c in cells):
                escaped.append((n, cells))
                numbered[k] = (n, [_NOT_UTF8.sub("\ufffd", c) for c in cells])
    headers, rows = _split_header(table, numbered, source, issues)
    for n, cells in escaped:
        for i, cell in enumerate(cells):
            found = _NOT_UTF8.findall(cell)
            if not found:
                continue
            header = str(headers[i]) if i < len(headers) else f"column {i + 1}"
            issues.append(
                DataIssue(
                    source,
                    table,
                    n,
                    None,
                    None,
                    f"byte(s) {' '.join(f'0x{ord(c) - 0xDC00:02X}' for c in found[:5])} "
                    "are not UTF-8 (无法解码的字节); the cell is read with U+FFFD (�) in their "
                    "place",
                    header,
                    severity="warning",
                )
            )
    return _Sheet(table, source, headers, rows)


def _parquet_sheets(folder: Path) -> tuple[list[_Sheet], list[DataIssue]]:
    import pyarrow.parquet as pq

    sheets: list[_Sheet] = []
    issues: list[DataIssue] = []
    for file, source, table in _table_files(folder, "parquet", issues):
        _check_table_file(folder, file, source)
        try:
            columns = pq.read_table(file).to_pydict()
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, UnicodeDecodeError, ...
            raise LedgerError(f"{source}: cannot read as Parquet ({exc})") from exc
        headers: list[object] = list(columns)
        sheets.append(_Sheet(table, source, headers, non_empty_rows(list(columns.values()))))
    return sheets, issues


def _unknown_table(source: str, name: str, hint: str | None) -> DataIssue:
    known = ", ".join(f"{t} ({z})" for t, z in TABLE_TITLES_ZH.items())
    message = f"unknown table {name!r}; " + (hint or f"expected one of: {known}")
    return DataIssue(source, name, None, None, None, message)
