"""From raw sheets to a dataset: cells parsed and rows validated per table, then assembled with
every problem named by the user's file, row and column (see :mod:`fupin_rules.io.ledger`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import attrs
from pydantic import ValidationError

from fupin_rules.domain.dataset import DataIssue, LoadResult, load_dataset, short_repr
from fupin_rules.domain.models import Record
from fupin_rules.errors import DataError
from fupin_rules.io._columns import read_columnwise
from fupin_rules.io.cells import CellError, is_empty, parse_cell
from fupin_rules.io.headers import (
    RECORD_CLASSES,
    FieldSpec,
    field_specs,
    resolve_column,
)
from fupin_rules.io.ledger_sheets import _Sheet

_FIRST_SEEN = re.compile(r"\(first seen in row (\d+)\)")


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

    def read_row(number: int, row: Sequence[object]) -> None:
        """One row, cell by cell: its record, or every problem it has."""
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
            return
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
            return
        if validate:
            try:
                out.records.append(cls.model_validate(record))
            except ValidationError:
                out.issues.extend(_other_problems(sheet, cls, record, set(), number, rid, written))
                out.bad_rows += 1
                return
        else:
            out.records.append(record)
        out.row_numbers.append(number)

    def accept(record: Record, number: int) -> None:
        out.records.append(record)
        out.row_numbers.append(number)

    if validate:  # column by column; the rows that fail are read by read_row
        read_columnwise(cls, sheet.rows, by_index, width, unnamed, slow=read_row, accept=accept)
    else:
        for number, row in sheet.rows:
            read_row(number, row)
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
