"""Reading a ledger given as one JSON file: numbers exact, repeated keys kept apart (see
:mod:`fupin_rules.io.ledger`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from fupin_rules.domain.dataset import DataIssue, LoadResult, load_dataset
from fupin_rules.io.ledger_files import LedgerError

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
