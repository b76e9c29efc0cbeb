"""Reading a county ledger (台账) from JSON, a CSV folder, an Excel workbook or a Parquet folder.

One entry point, :func:`read_ledger`, picks the reader from the path:

=====================  ==========================================================================
``ledger.json``        the :meth:`Dataset.to_dict` layout: ``{"county": {...}, "households": [...]}``
``ledger.xlsx``        one sheet per table; sheet names ``households`` or ``户``, headers
                       ``household_id`` or ``户编码``; the county sheet (``county``/``县``) has one row
``folder/*.csv``       one ``<table>.csv`` per table (``county.csv`` with one row), UTF-8 (a BOM is
                       fine; GB18030, as Excel on a Chinese Windows saves, is read with a warning;
                       the encoding is decided per file on evidence)
``folder/*.parquet``   one ``<table>.parquet`` per table, column names as in CSV
=====================  ==========================================================================

Tables are listed in :data:`fupin_rules.io.headers.TABLE_NAMES`; a table that is absent is *not
supplied* (rules that need it give *unknown*), a table with a header and no rows is supplied and
empty. Cells may be codes or Chinese labels (``中职``, ``是``/``否``); an empty cell is ``None``.
Rows that are entirely empty are skipped; rows above the header row (the row among the first ten
naming the most known columns) are skipped too: silently for a one-cell title such as
``竹山县贫困户台账``, with a warning otherwise.

Nothing is lost: every data row becomes a record or at least one :class:`DataIssue` naming the file
(and sheet), the row as the user sees it (Excel row number counting the header; CSV line number;
Parquet and JSON record number), the column as written and the reason, and
``rows_in == dataset.record_count() + distinct bad rows`` always holds. Problems with a whole
column (an unknown header) are issues without a row. Warnings (``severity="warning"``: the
encoding decided, a hidden sheet, merged or formula cells read as empty) reject nothing and are
not rejected rows. What is refused and tolerated, with the messages: ``docs/reliability.md``.
Only a ledger without a usable county row
raises :class:`~fupin_rules.errors.DataError` (listing every problem found), because nothing can be
evaluated without it; a path that is not a ledger raises :class:`LedgerError`.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import os
import re
import stat
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import attrs
from pydantic import ValidationError

from fupin_rules._gc import gc_paused
from fupin_rules.domain.dataset import DataIssue, LoadResult, load_dataset, short_repr
from fupin_rules.errors import DataError, FupinRulesError
from fupin_rules.io.cells import CellError, is_empty, parse_cell
from fupin_rules.io.headers import (
    RECORD_CLASSES,
    TABLE_TITLES_ZH,
    FieldSpec,
    field_specs,
    resolve_column,
    resolve_table,
)

__all__ = [
    "MAX_INT_DIGITS",
    "JsonObject",
    "LedgerError",
    "LedgerFormat",
    "NotANumber",
    "OversizeNumber",
    "detect_format",
    "parse_json_bytes",
    "read_ledger",
]

LedgerFormat = Literal["json", "csv", "xlsx", "parquet"]

_HEADER_SCAN_ROWS = 10
_FIRST_SEEN = re.compile(r"\(first seen in row (\d+)\)")


class LedgerError(FupinRulesError):
    """The path is not a ledger this library can read (missing, unknown format, unreadable)."""


def detect_format(path: str | os.PathLike[str]) -> LedgerFormat:
    """The ledger format of ``path``: by suffix for a file, by the files inside for a folder."""
    p = Path(path)
    if not p.exists():
        raise LedgerError(f"{p}: no such file or folder")
    if p.is_dir():
        has_csv = any(p.glob("*.csv"))
        has_parquet = any(p.glob("*.parquet"))
        if has_csv and has_parquet:
            raise LedgerError(
                f"{p}: the folder holds both .csv and .parquet files; keep one format per folder"
            )
        if has_csv:
            return "csv"
        if has_parquet:
            return "parquet"
        raise LedgerError(f"{p}: the folder holds no <table>.csv or <table>.parquet files")
    suffix = p.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".xls":
        raise LedgerError(f"{p}: old .xls workbooks are not read; save it as .xlsx (Excel 2007+)")
    if suffix == ".csv":
        raise LedgerError(
            f"{p}: a ledger in CSV is a folder of <table>.csv files; pass the folder {p.parent}"
        )
    raise LedgerError(f"{p}: unknown ledger format {suffix!r}; expected .json, .xlsx or a folder")


@gc_paused()
def read_ledger(path: str | os.PathLike[str], *, format: LedgerFormat | None = None) -> LoadResult:
    """Read and validate a ledger; bad cells and rows become issues, the run goes on.

    ``format`` overrides the detection by suffix / folder content (see the module docstring).
    """
    p = Path(path)
    fmt = format or detect_format(p)
    if fmt in ("json", "xlsx"):
        _check_regular(p)
    if fmt == "json":
        return _read_json(p)
    sheets: Iterable[_Sheet]
    issues: list[DataIssue]
    if fmt == "xlsx":
        sheets, issues = _xlsx_sheets(p)
    elif fmt == "csv":
        issues = []
        sheets = _csv_sheets(p, issues)
    elif fmt == "parquet":
        sheets, issues = _parquet_sheets(p)
    else:
        raise LedgerError(f"format={fmt!r}: expected one of json, csv, xlsx, parquet")
    return _assemble(sheets, issues, source=p.name)


# --------------------------------------------------------------------------- raw sheets


@attrs.define
class _Sheet:
    """One table as read from its file: headers as written and data rows with user row numbers."""

    table: str
    source: str
    headers: list[object]
    rows: list[tuple[int, Sequence[object]]]
    excel: bool = False  # messages name the cell (D5) too


def _display(path: Path) -> str:
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


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


def _read_table_file(folder: Path, file: Path, source: str) -> bytes:
    """The bytes of one table file of a ledger folder (see :func:`_check_table_file`)."""
    _check_table_file(folder, file, source)
    try:
        return file.read_bytes()
    except OSError as exc:
        raise LedgerError(f"{source}: cannot read the file ({exc.strerror or exc})") from exc


def _check_table_file(folder: Path, file: Path, source: str) -> None:
    """Refuse a link that leaves the ledger folder (``persons.csv -> /etc/passwd``) and anything
    that is not a regular file (a FIFO or a device would block or never end)."""
    if file.is_symlink():
        try:
            target = file.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            raise LedgerError(f"{source}: a link that leads nowhere ({exc})") from exc
        if not target.is_relative_to(folder.resolve()):
            raise LedgerError(
                f"{source}: a link to a file outside the ledger folder ({target}); refused "
                "(链接指向台账文件夹之外, 拒绝读取); copy the file into the folder"
            )
    _check_regular(file, source)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _check_regular(path: Path, name: str | None = None) -> None:
    """Refuse anything but a regular file: a table file of a ledger folder, or a ledger given as
    one file (JSON, xlsx). Messages name the file as ``name`` (default: the path)."""
    shown = path if name is None else name
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise LedgerError(f"{shown}: cannot read the file ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(mode):
        raise LedgerError(
            f"{shown}: not a regular file ({_file_kind(mode)}); refused (不是普通文件, 拒绝读取)"
        )


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
        values = list(columns.values())
        rows: list[tuple[int, Sequence[object]]] = [
            (i + 1, row)
            for i, row in enumerate(zip(*values, strict=True))
            if not all(is_empty(c) for c in row)
        ]
        sheets.append(_Sheet(table, source, headers, rows))
    return sheets, issues


def _unknown_table(source: str, name: str, hint: str | None) -> DataIssue:
    known = ", ".join(f"{t} ({z})" for t, z in TABLE_TITLES_ZH.items())
    message = f"unknown table {name!r}; " + (hint or f"expected one of: {known}")
    return DataIssue(source, name, None, None, None, message)


#: Python refuses to turn a longer run of digits into an int (sys.int_info.default_max_str_digits)
MAX_INT_DIGITS = 4300


class OversizeNumber:
    """A JSON number too long to be any field's value (more than :data:`MAX_INT_DIGITS` digits).

    It stays in the record so that the row is rejected by validation, naming the field, instead
    of Python's int-conversion limit stopping the whole read.
    """

    __slots__ = ("digits",)

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("+-"))

    def __repr__(self) -> str:
        return f"<a number of {self.digits:,} digits (数字位数过多)>"


class NotANumber:
    """``NaN``, ``Infinity`` or ``-Infinity``: Python's JSON parser accepts them, JSON does not.
    Kept in the record so that the row is rejected naming the field."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"{self.text} (not a JSON number; 不是数字)"


def _json_int(text: str) -> int | OversizeNumber:
    return int(text) if len(text) <= MAX_INT_DIGITS else OversizeNumber(text)


class JsonObject(dict[str, Any]):
    """A JSON object whose keys were repeated: the first value of each key is kept, the later
    ones are in :attr:`repeated_keys` (``(key, value)``), so nothing is replaced silently."""

    __slots__ = ("repeated_keys",)

    repeated_keys: list[tuple[str, Any]]


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    out = JsonObject()
    out.repeated_keys = []
    for key, value in pairs:
        if key in out:
            out.repeated_keys.append((key, value))
        else:
            out[key] = value
    return out


def parse_json_bytes(raw: bytes, name: str) -> Any:
    """Parse a JSON document exactly (numbers as ``Decimal``/``int``, repeated keys kept apart).

    Raise :class:`LedgerError` naming the file for an empty file, text that is not UTF-8, invalid
    JSON or nesting too deep to read; never a traceback.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LedgerError(
            f"{name}: byte {exc.start} is not UTF-8 ({exc.reason}); save the file as UTF-8 "
            "(文件不是 UTF-8 编码, 请另存为 UTF-8)"
        ) from exc
    if not text.strip():
        raise LedgerError(f"{name}: the file is empty (文件为空); expected a JSON object of tables")
    try:
        return json.loads(
            text,
            parse_float=Decimal,  # money and rates stay exact: never a binary float
            parse_int=_json_int,
            parse_constant=NotANumber,
            object_pairs_hook=_json_object,
        )
    except json.JSONDecodeError as exc:
        raise LedgerError(
            f"{name}:{exc.lineno}:{exc.colno}: invalid JSON ({exc.msg}) (JSON 格式错误)"
        ) from exc
    except RecursionError:
        raise LedgerError(
            f"{name}: the JSON is nested too deeply to read (嵌套层数过多); a ledger is an object "
            "of tables, each a list of flat records"
        ) from None


def _read_json(path: Path) -> LoadResult:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LedgerError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from exc
    data = parse_json_bytes(raw, path.name)
    if not isinstance(data, Mapping):
        raise LedgerError(
            f"{path.name}: expected an object of tables "
            f'{{"county": {{...}}, "households": [...]}}, got {_json_type(data)} '
            "(顶层应为各表组成的对象)"
        )
    result = load_dataset(data, source=path.name)
    repeated = getattr(data, "repeated_keys", ())
    if not repeated:
        return result
    # a table key written twice: the first copy is read, every row of a later copy is listed
    extra: list[DataIssue] = []
    rows = 0
    for n, (key, value) in enumerate(repeated, start=2):
        source = f"{path.name} ({key!r} #{n})"
        message = (
            f"table {key!r} appears again in the file (表名重复); the first copy is read, "
            "this copy is ignored"
        )
        if key == "county" or not isinstance(value, list):
            extra.append(DataIssue(source, key, None, None, None, message))
            continue
        if not value:
            extra.append(DataIssue(source, key, None, None, None, message + " (it is empty)"))
        for row in range(1, len(value) + 1):
            extra.append(DataIssue(source, key, row, None, None, message))
        rows += len(value)
    return LoadResult(
        dataset=result.dataset, issues=(*extra, *result.issues), rows_in=result.rows_in + rows
    )


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array (列表)"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return "a number"


# --------------------------------------------------------------------------- conversion


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index + 1))


@attrs.define
class _Converted:
    """A sheet's good rows (as dicts) with their user row numbers, and its issues."""

    sheet: _Sheet
    records: list[Any] = attrs.field(factory=list)  # validated records, or dicts (county)
    row_numbers: list[int] = attrs.field(factory=list)
    issues: list[DataIssue] = attrs.field(factory=list)
    bad_rows: int = 0
    columns: dict[str, str] = attrs.field(factory=dict)  # field -> header as written


def _map_columns(
    sheet: _Sheet,
) -> tuple[dict[int, FieldSpec], dict[str, str], list[int], list[DataIssue]]:
    specs = {s.name: s for s in field_specs(sheet.table)}
    by_index: dict[int, FieldSpec] = {}
    written: dict[str, str] = {}
    unnamed: list[int] = []
    issues: list[DataIssue] = []
    for i, header in enumerate(sheet.headers):
        if is_empty(header):
            unnamed.append(i)
            continue
        text = str(header).strip()
        where = f"column {_letter(i)} " if sheet.excel else ""
        field, hint = resolve_column(sheet.table, text)
        if field is None:
            msg = f"{where}unknown column {text!r}; its values are ignored" + (
                f"; {hint}" if hint else ""
            )
            issues.append(DataIssue(sheet.source, sheet.table, None, None, None, msg, text))
            continue
        if field in written:
            msg = (
                f"{where}column {text!r} means {field} again (already column {written[field]!r}); "
                "its values are ignored"
            )
            issues.append(DataIssue(sheet.source, sheet.table, None, None, field, msg, text))
            continue
        by_index[i] = specs[field]
        written[field] = text
    return by_index, written, unnamed, issues


def _convert(sheet: _Sheet, *, validate: bool = False) -> _Converted:
    """The sheet's rows as records: with ``validate``, each row becomes its validated record
    at once (its dict is dropped), otherwise a dict (the county row, checked apart)."""
    out = _Converted(sheet)
    by_index, written, unnamed, issues = _map_columns(sheet)
    out.columns = written
    out.issues.extend(issues)
    cls = RECORD_CLASSES[sheet.table]
    key_index = next((i for i, s in by_index.items() if s.name == cls.key_field), None)
    flagged_unnamed: set[int] = set()
    # a column repeats few distinct values (codes, 是/否, dates): each is parsed once per column
    caches: dict[int, dict[tuple[type, object], object]] = {i: {} for i in by_index}
    width = len(sheet.headers)
    for number, row in sheet.rows:
        record: dict[str, Any] = {}
        problems: list[DataIssue] = []
        rid = None
        if key_index is not None and key_index < len(row) and not is_empty(row[key_index]):
            rid = str(row[key_index]).strip()
        if len(row) > width and any(not is_empty(c) for c in row[width:]):
            extra = [c for c in row[width:] if not is_empty(c)]
            where = _letter(width) if sheet.excel else f"column {width + 1}"
            out.issues.append(
                DataIssue(
                    sheet.source,
                    sheet.table,
                    number,
                    rid,
                    None,
                    f"the row has {len(row)} cells but the header has {width} (多出的单元格): "
                    f"{short_repr(extra)} beyond the header; a comma inside a value without "
                    "quotes shifts the cells, so the row is not read",
                    where,
                )
            )
            out.bad_rows += 1
            continue
        for i, value in enumerate(row):
            spec = by_index.get(i)
            if spec is None:
                if i in unnamed and i not in flagged_unnamed and not is_empty(value):
                    flagged_unnamed.add(i)
                    where = f"column {_letter(i)}" if sheet.excel else f"column {i + 1}"
                    out.issues.append(
                        DataIssue(
                            sheet.source,
                            sheet.table,
                            None,
                            None,
                            None,
                            f"{where} has values but no header; its values are ignored",
                        )
                    )
                continue
            try:
                parsed = _parse_cached(caches[i], spec, value)
            except CellError as exc:
                cell = f"cell {_letter(i)}{number}: " if sheet.excel else ""
                problems.append(
                    DataIssue(
                        sheet.source,
                        sheet.table,
                        number,
                        rid,
                        spec.name,
                        f"{cell}{exc}",
                        written[spec.name],
                    )
                )
                continue
            if parsed is not None:
                record[spec.name] = parsed
        if problems:
            failed = {p.field for p in problems}
            problems.extend(_other_problems(sheet, cls, record, failed, number, rid, written))
            out.issues.extend(problems)
            out.bad_rows += 1
            continue
        if validate:
            try:
                out.records.append(cls.model_validate(record))
            except ValidationError:
                out.issues.extend(_other_problems(sheet, cls, record, set(), number, rid, written))
                out.bad_rows += 1
                continue
        else:
            out.records.append(record)
        out.row_numbers.append(number)
    return out


def _cell_key(value: object) -> tuple[type, object] | None:
    """A cache key that tells apart values that compare equal but read differently.

    ``True == 1 == 1.0`` and ``Decimal("1.5") == Decimal("1.50")``: the key holds the type and,
    except for text and integers, the exact ``repr``. None for values that are not cached
    (lists).
    """
    t = type(value)
    if t is str or t is int or t is bool:
        return (t, value)
    if t is float or t is Decimal or t is dt.date or t is dt.datetime:
        return (t, repr(value))
    return None


def _parse_cached(
    cache: dict[tuple[type, object], object], spec: FieldSpec, value: object
) -> object:
    """:func:`parse_cell` with a per-column cache of results and errors (values are immutable)."""
    key = _cell_key(value)
    if key is None:
        return parse_cell(spec, value)
    found = cache.get(key, _MISSING)
    if found is _MISSING:
        try:
            found = parse_cell(spec, value)
        except CellError as exc:
            found = exc
        cache[key] = found
    if isinstance(found, CellError):
        raise CellError(*found.args)
    return found


_MISSING = object()


def _other_problems(
    sheet: _Sheet,
    cls: Any,
    record: dict[str, Any],
    failed: set[str | None],
    number: int,
    rid: str | None,
    written: dict[str, str],
) -> list[DataIssue]:
    """The rest of a row's problems, so the user can fix the whole row at once."""
    try:
        cls.model_validate(record)
    except ValidationError as exc:
        found = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else None
            if field in failed:
                continue
            msg = err["msg"]
            if "input" in err and err["type"] != "missing":
                msg = f"{msg} (got {short_repr(err['input'])})"
            found.append(
                DataIssue(
                    sheet.source,
                    sheet.table,
                    number,
                    rid,
                    field,
                    msg,
                    written.get(field or "", None),
                )
            )
        return found
    return []


# --------------------------------------------------------------------------- assembly


def _assemble(sheets: Iterable[_Sheet], issues: list[DataIssue], *, source: str) -> LoadResult:
    converted: dict[str, _Converted] = {}
    extra_rows = 0
    for sheet in sheets:
        if sheet.table in converted:
            # two files or sheets for one table: the first is read; every row of this copy is
            # listed (and counted) as not read, so no row disappears without a word
            first = converted[sheet.table].sheet.source
            message = (
                f"table {sheet.table!r} appears again (also {first}) (同一表出现两次); the first "
                "copy is read, this copy is ignored"
            )
            if not sheet.rows:
                issues.append(DataIssue(sheet.source, sheet.table, None, None, None, message))
            for number, _ in sheet.rows:
                issues.append(DataIssue(sheet.source, sheet.table, number, None, None, message))
            extra_rows += len(sheet.rows)
            sheet.rows = []
            continue
        converted[sheet.table] = _convert(sheet, validate=sheet.table != "county")
        if sheet.table != "county":
            sheet.rows = []  # converted and validated: the raw cells are not needed any more
    for conv in converted.values():
        issues.extend(conv.issues)

    county = converted.get("county")
    if county is None:
        raise DataError(
            [
                f"{source}: no county table (county / 县) with the county's one row; "
                "add a sheet or county.csv with at least 县编码 (county_id)",
                *(i.render() for i in issues),
            ]
        )
    first_row = county.sheet.rows[0][0] if county.sheet.rows else None
    if first_row is None or not county.row_numbers or county.row_numbers[0] != first_row:
        if first_row is None:
            issues.append(
                DataIssue(
                    county.sheet.source,
                    "county",
                    None,
                    None,
                    None,
                    "the county table is empty; it needs the county's row",
                )
            )
        raise DataError([i.render() for i in issues])
    county_row = county.records[0]
    for number in county.row_numbers[1:]:  # the first row is the county; the rest are extra
        extra_rows += 1
        issues.append(
            DataIssue(
                county.sheet.source,
                "county",
                number,
                None,
                None,
                "the county table holds exactly one row; this extra row is ignored",
            )
        )
    try:
        RECORD_CLASSES["county"].model_validate(county_row)
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else None
            issues.append(
                DataIssue(
                    county.sheet.source,
                    "county",
                    county.row_numbers[0],
                    None,
                    field,
                    err["msg"],
                    county.columns.get(field or ""),
                )
            )
        raise DataError([i.render() for i in issues]) from None

    data: dict[str, Any] = {"county": county_row}
    for table, conv in converted.items():
        if table != "county":
            data[table] = conv.records
    result = load_dataset(data, source=source)
    remapped = _remap(result.issues, converted)
    bad_here = sum(c.bad_rows for c in converted.values()) + extra_rows
    return LoadResult(
        dataset=result.dataset,
        issues=(*issues, *remapped),
        rows_in=result.rows_in + bad_here,
    )


def _remap(found: Iterable[DataIssue], converted: dict[str, _Converted]) -> list[DataIssue]:
    """Give load_dataset's issues the user's row numbers, sources and column headers."""
    found = list(found)
    rejected: dict[str, set[int]] = {}
    for issue in found:
        if (
            issue.row is not None
            and issue.rejects_row
            and not issue.message.startswith("orphan record")
        ):
            rejected.setdefault(issue.table, set()).add(issue.row)
    out = []
    for issue in found:
        conv = converted.get(issue.table)
        if conv is None or issue.row is None:
            out.append(issue)
            continue
        index = issue.row
        if issue.message.startswith("orphan record") and issue.record_id is not None:
            # load_dataset points an orphan at the first row with its id, which may be a row
            # that was itself rejected; the record that was kept is the first *accepted* row.
            index = _accepted_row(conv, issue.record_id, rejected.get(issue.table, set())) or index
        base_field = (issue.field or "").split(".")[0]
        message = _first_seen_in_user_rows(issue.message, conv.row_numbers)
        out.append(
            attrs.evolve(
                issue,
                message=message,
                source=conv.sheet.source,
                row=conv.row_numbers[index - 1],
                column=conv.columns.get(base_field, issue.column),
            )
        )
    return out


def _accepted_row(conv: _Converted, record_id: str, rejected: set[int]) -> int | None:
    key = RECORD_CLASSES[conv.sheet.table].key_field
    for index, record in enumerate(conv.records, start=1):
        value = record.get(key) if isinstance(record, dict) else getattr(record, key, None)
        if index not in rejected and str(value) == record_id:
            return index
    return None


def _first_seen_in_user_rows(message: str, row_numbers: Sequence[int]) -> str:
    """Rewrite load_dataset's "(first seen in row 3)" with the user's row number."""
    return _FIRST_SEEN.sub(
        lambda m: f"(first seen in row {row_numbers[int(m.group(1)) - 1]})", message
    )
