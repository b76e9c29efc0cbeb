"""Reading a ledger table column by column, with the row-by-row reader for every row that fails.

A column repeats few distinct values (codes, 是/否, dates, years): each distinct cell value of a
column is read once by :func:`~fupin_rules.io.cells.parse_cell`, and the readings are spread back
over the rows. The rows whose cells all read are validated by their pydantic record model a chunk
at a time (one call into pydantic-core per chunk, not one per row). Every other row — a cell that
does not read, more cells than the header, a value under a column without a header, a record the
model refuses — goes through the ledger's row-by-row reader, so it gets exactly the issues (file,
sheet, row, column, message) and the order it always had. Rows in = records + rejected rows, as
before: this module only decides which rows can skip the row-by-row reader.

Distinct values are told apart as the row-by-row reader's cache tells them apart
(``ledger_convert._cell_key``): by type and value (``True``, ``1`` and ``1.0`` read
differently), and floats and decimals by their ``repr`` (``-0.0``, ``Decimal("1.50")``).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from functools import cache
from typing import Any, cast, overload

from pydantic import TypeAdapter, ValidationError

from fupin_rules.domain.models import Record
from fupin_rules.io.cells import CellError, is_empty, parse_cell
from fupin_rules.io.headers import FieldKind, FieldSpec

__all__ = ["ColumnRows", "ParsedColumn", "non_empty_rows", "parse_column", "read_columnwise"]

#: rows validated by pydantic in one call (a chunk's record dicts are dropped once validated)
CHUNK = 4096

_BY_VALUE = frozenset({str, int, bool, dt.date})  # equal values of these types read the same
_BY_REPR = frozenset({float, Decimal, dt.datetime})  # 1.5 vs 1.50, 0.0 vs -0.0, time zones
_NONE = type(None)


class ColumnRows(Sequence[tuple[int, tuple[object, ...]]]):
    """A table's data rows held as columns (as Parquet gives them): ``(row number, cells)`` pairs
    on demand for the row-by-row reader, the columns themselves for :func:`read_columnwise`."""

    __slots__ = ("columns", "numbers")

    def __init__(self, columns: list[list[object]], numbers: Sequence[int]) -> None:
        self.columns = columns
        self.numbers = numbers

    def __len__(self) -> int:
        return len(self.numbers)

    @overload
    def __getitem__(self, index: int) -> tuple[int, tuple[object, ...]]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[int, tuple[object, ...]]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        return self.numbers[index], tuple(col[index] for col in self.columns)

    def __iter__(self) -> Iterator[tuple[int, tuple[object, ...]]]:
        for k in range(len(self)):
            yield self[k]

    def column(self, index: int) -> list[object]:
        return self.columns[index]


class ParsedColumn:
    """A column's readings, one per row, and the rows whose cell does not read."""

    __slots__ = ("bad", "values")

    def __init__(self, values: list[object], bad: list[int]) -> None:
        self.values = values
        self.bad = bad


def _list_key(value: object) -> object:
    """A list cell (Parquet ``list<string>``) as a key, or the list itself if its items are not
    all text (then the column is read cell by cell)."""
    if type(value) is list and all(type(item) is str or item is None for item in value):
        return (list, tuple(value))
    return value


def _mixed_key(value: object) -> object:
    t = type(value)
    if t is _NONE:
        return None
    if t in _BY_VALUE:
        return (t, value)
    if t in _BY_REPR:
        return (t, repr(value))
    return _list_key(value)


def _keys(raw: list[object]) -> list[object] | None:
    """One hashable key per cell, equal exactly when the cells read the same; None when some
    cell has no such key (the column is then read cell by cell)."""
    types = set(map(type, raw))
    types.discard(_NONE)
    if not types:
        return raw
    if len(types) == 1:
        (t,) = types
        if t in _BY_VALUE:
            return raw
        if t in _BY_REPR:
            return [None if v is None else repr(v) for v in raw]
        if t is list:
            keys = list(map(_list_key, raw))
            return keys if all(type(k) is not list for k in keys) else None
        return None
    if not types <= _BY_VALUE | _BY_REPR | {list}:
        return None
    keys = list(map(_mixed_key, raw))
    return keys if all(type(k) is not list for k in keys) else None


_NUMBERS = frozenset({FieldKind.MONEY, FieldKind.RATE})


def _as_written(spec: FieldSpec, raw: list[object]) -> bool:
    """True when :func:`parse_cell` reads every decimal of ``raw`` as itself (a Parquet decimal
    column): finite and, for money, at most two decimals as written (``3000.500`` is
    rewritten ``3000.50``, ``1.234`` refused: such a column is read value by value)."""
    money = spec.kind is FieldKind.MONEY
    for v in cast("list[Decimal | None]", raw):
        if v is None:
            continue
        if not v.is_finite():
            return False
        if money and cast(int, v.as_tuple().exponent) < -2:
            return False
    return True


def _shared(values: list[object], keys: list[object] | None = None) -> list[object]:
    """``values`` with one object for each distinct key (the value itself by default): a
    parent id repeated by 300,000 persons is held once, as the per-column cache held it."""
    keys = values if keys is None else keys
    one = dict(zip(keys, values, strict=True))
    return list(map(one.__getitem__, keys))


def parse_column(spec: FieldSpec, raw: list[object], *, ids: bool = False) -> ParsedColumn:
    """Each cell of ``raw`` read as :func:`parse_cell` reads it (a distinct value once).

    ``ids``: the column holds the record ids (distinct in a good table: not worth sharing)."""
    if spec.kind is FieldKind.TEXT and _only(raw, str):  # ids, parent ids, names
        text = cast("list[str | None]", raw)
        stripped: list[object] = [v.strip() or None if v is not None else None for v in text]
        return ParsedColumn(stripped if ids else _shared(stripped), [])
    if spec.kind in _NUMBERS and _only(raw, Decimal) and _as_written(spec, raw):
        return ParsedColumn(_shared(raw, [None if v is None else repr(v) for v in raw]), [])
    keys = _keys(raw)
    if keys is None:
        values: list[object] = []
        bad: list[int] = []
        for r, value in enumerate(raw):
            try:
                values.append(parse_cell(spec, value))
            except CellError:
                values.append(None)
                bad.append(r)
        return ParsedColumn(values, bad)
    readings: dict[object, object] = {}
    failed: set[object] = set()
    for key, value in dict(zip(keys, raw, strict=True)).items():
        try:
            readings[key] = parse_cell(spec, value)
        except CellError:
            readings[key] = None
            failed.add(key)
    values = list(map(readings.__getitem__, keys))
    bad = [r for r, key in enumerate(keys) if key in failed] if failed else []
    return ParsedColumn(values, bad)


def _only(raw: list[object], kind: type) -> bool:
    """True when every cell of ``raw`` is empty (None) or of type ``kind``."""
    types = set(map(type, raw))
    types.discard(_NONE)
    return types <= {kind}


def _non_empty_rows(raw: list[object]) -> list[int]:
    if _only(raw, str) and None not in raw and all(map(str.strip, cast("list[str]", raw))):
        return list(range(len(raw)))
    keys = _keys(raw)
    if keys is None:
        return [r for r, v in enumerate(raw) if not is_empty(v)]
    filled = {k for k, v in dict(zip(keys, raw, strict=True)).items() if not is_empty(v)}
    if len(filled) == 0:
        return []
    return [r for r, k in enumerate(keys) if k in filled]


def non_empty_rows(columns: list[list[object]]) -> ColumnRows:
    """The rows of ``columns`` (equal lengths) that are not entirely empty, numbered from 1 as
    they were in the file (a row with every cell empty is skipped, as in every ledger format)."""
    n = len(columns[0]) if columns else 0
    filled: set[int] = set()
    for col in columns:
        rows = _non_empty_rows(col)
        if len(rows) == n:  # a column filled in every row (the key): every row is kept
            return ColumnRows(columns, range(1, n + 1))
        filled.update(rows)
    keep = sorted(filled)
    return ColumnRows([[col[r] for r in keep] for col in columns], [r + 1 for r in keep])


@cache
def _list_adapter(cls: type[Record]) -> TypeAdapter[list[Record]]:
    return TypeAdapter(list[cls])  # type: ignore[valid-type]


class _Cells:
    """The cells of a table given as rows, a column at a time (a short row's missing cells are
    empty)."""

    def __init__(self, rows: Sequence[tuple[int, Sequence[object]]]) -> None:
        self.rows = rows
        self.cells = [] if isinstance(rows, ColumnRows) else [row for _, row in rows]
        self.shortest = min(map(len, self.cells), default=0)

    def column(self, index: int) -> list[object]:
        if isinstance(self.rows, ColumnRows):
            return self.rows.column(index)
        if index < self.shortest:  # every row has the cell: one C pass
            return list(map(operator.itemgetter(index), self.cells))
        return [row[index] if index < len(row) else None for row in self.cells]


def read_columnwise(
    cls: type[Record],
    rows: Sequence[tuple[int, Sequence[object]]],
    specs: Mapping[int, FieldSpec],
    width: int,
    unnamed: Sequence[int],
    *,
    slow: Callable[[int, Sequence[object]], None],
    accept: Callable[[Record, int], None],
) -> None:
    """Read ``rows`` (``(row number, cells)``, cells under ``width`` headers; ``specs``: column
    index -> field) into records, in row order.

    Each row either becomes a record handed to ``accept(record, row number)`` or is handed to
    ``slow(row number, cells)``, the row-by-row reader, which reports its issues (or accepts it):
    the rows with a cell that does not read, cells beyond the header, a value under an unnamed
    column, or a record its model refuses.
    """
    n = len(rows)
    if not n:
        return
    slow_rows: set[int] = set()
    if not isinstance(rows, ColumnRows):
        slow_rows.update(
            r
            for r, (_, row) in enumerate(rows)
            if len(row) > width and any(not is_empty(c) for c in row[width:])
        )
    cells = _Cells(rows)
    for i in unnamed:
        slow_rows.update(_non_empty_rows(cells.column(i)))
    names: list[str] = []
    columns: list[list[object]] = []
    for i, spec in specs.items():
        parsed = parse_column(spec, cells.column(i), ids=spec.name == cls.key_field)
        slow_rows.update(parsed.bad)
        names.append(spec.name)
        columns.append(parsed.values)
    del cells
    numbers = rows.numbers if isinstance(rows, ColumnRows) else [number for number, _ in rows]
    adapter = _list_adapter(cls)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        fast = [r for r in range(start, stop) if r not in slow_rows]
        dicts = (
            [
                {name: v for name, v in zip(names, cells, strict=True) if v is not None}
                for cells in zip(*(col[start:stop] for col in columns), strict=True)
            ]
            if columns
            else [{} for _ in range(start, stop)]  # no column names a field
        )
        if len(fast) < stop - start:
            dicts = [dicts[r - start] for r in fast]
        records: dict[int, Record] = {}
        try:
            records = dict(zip(fast, adapter.validate_python(dicts), strict=True))
        except ValidationError:  # a record the model refuses: that row is read row by row
            for r, d in zip(fast, dicts, strict=True):
                try:
                    records[r] = cls.model_validate(d)
                except ValidationError:
                    pass
        del dicts
        for r in range(start, stop):
            record = records.get(r)
            if record is None:
                slow(*rows[r])
            else:
                accept(record, numbers[r])
