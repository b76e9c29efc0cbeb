"""Reading one ledger cell into the value a domain field expects, with a message that teaches.

Cells come as text (CSV), as openpyxl values (str, int, float, bool, datetime) or as typed
Parquet values (Decimal, date, list). An empty cell is ``None`` (unknown), never 0 or false.
Money is read from its text, never through a binary float: an Excel number arrives as a float and
is turned into ``Decimal(repr(value))`` (its shortest round-trip text); more than two decimals
(fen) is an error.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from fupin_rules.domain.enums import LABELS_ZH
from fupin_rules.io.headers import FieldKind, FieldSpec, enum_code

__all__ = ["CellError", "is_empty", "parse_cell"]

TRUE_WORDS = frozenset({"是", "有", "true", "t", "yes", "y", "1", "√", "✓", "对"})
FALSE_WORDS = frozenset({"否", "无", "没有", "false", "f", "no", "n", "0", "×", "✗", "不是"})
_INT = re.compile(r"^[+-]?\d+(\.0*)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_LIST_SEPARATORS = re.compile(r"[,，;；、|]")
_MAX_EXACT_FLOAT_INT = 2**53
_MAX_INT_DIGITS = 4300  # Python's int-conversion limit (sys.int_info.default_max_str_digits)


class CellError(ValueError):
    """A cell that cannot become the field's value; the message says what was expected."""


def is_empty(value: object) -> bool:
    """True for a cell with no value: ``None`` or only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def parse_cell(spec: FieldSpec, value: object) -> object:
    """The field value of a cell, ``None`` for an empty cell; raise :class:`CellError` if bad."""
    if is_empty(value):
        return None
    if isinstance(value, str):
        value = value.strip()
    kind = spec.kind
    if kind is FieldKind.TEXT:
        return _text(value)
    if kind is FieldKind.INT:
        return _int(value)
    if kind is FieldKind.BOOL:
        return _bool(value)
    if kind is FieldKind.DATE:
        return _date(value)
    if kind is FieldKind.MONEY:
        return _decimal(value, money=True)
    if kind is FieldKind.RATE:
        return _decimal(value, money=False)
    if kind is FieldKind.ENUM:
        assert spec.enum is not None
        return _enum(spec.enum, value)
    return _text_list(value)


def _describe(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise CellError(f"expected text, got a true/false value {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _MAX_EXACT_FLOAT_INT:
            return str(int(value))
        raise CellError(
            f"expected text, got the number {value!r}, which is not exact as a number; "
            "format the column as text (文本) so long codes keep every digit"
        )
    if isinstance(value, Decimal):
        return str(value)
    raise CellError(f"expected text, got {_describe(value)}")


def _int(value: object) -> int:
    if isinstance(value, bool):
        raise CellError(f"expected a whole number, got a true/false value {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise CellError(f"expected a whole number, got {value!r}")
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        raise CellError(f"expected a whole number, got {value}")
    if isinstance(value, str) and _INT.match(value):
        digits = value.split(".")[0]
        if len(digits.lstrip("+-")) > _MAX_INT_DIGITS:
            raise CellError(
                f"expected a whole number, got a number of {len(digits):,} digits (数字位数过多)"
            )
        return int(digits)
    raise CellError(f"expected a whole number such as 2017, got {value!r}")


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise CellError(f"expected 是 or 否 (true/false), got {value!r}")


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0, 0):
            raise CellError(f"expected a date, got a date and time {value.isoformat(sep=' ')}")
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise CellError(f"expected a date such as 2017-11-30, got {value!r}")
    if isinstance(value, int | float | Decimal):
        raise CellError(
            f"expected a date such as 2017-11-30, got the number {value!r}; "
            "format the cell as a date or write it as 2017-11-30"
        )
    if isinstance(value, str):
        for pattern in _DATE_PATTERNS:
            m = pattern.match(value)
            if m:
                y, mo, d = (int(g) for g in m.groups())
                try:
                    return dt.date(y, mo, d)
                except ValueError:
                    raise CellError(f"{value!r} is not a calendar date") from None
    raise CellError(
        f"expected a date such as 2017-11-30 (or 2017/11/30, 2017年11月30日), got {value!r}"
    )


def _decimal(value: object, *, money: bool) -> Decimal:
    what = (
        "an amount in yuan such as 3000 or 3000.50" if money else "a number such as 0.095 or 9.5%"
    )
    percent = False
    if isinstance(value, bool):
        raise CellError(f"expected {what}, got a true/false value {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CellError(f"expected {what}, got {value!r}")
        number = Decimal(repr(value))  # the shortest text that round-trips: 0.1 -> 0.1 exactly
    elif isinstance(value, str):
        text = value.replace("元", "").strip() if money else value
        if not money and text.endswith("%"):
            percent, text = True, text[:-1].strip()
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        if money and ("e" in text or "E" in text):
            raise CellError(
                f"{value!r} is written in scientific notation (科学计数法); Excel shows long "
                "numbers this way and drops digits, so write the amount in full (e.g. 100000)"
            )
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError(f"expected {what}, got {value!r}") from None
    else:
        raise CellError(f"expected {what}, got {_describe(value)}")
    if not number.is_finite():
        raise CellError(f"expected {what}, got {value!r}")
    if percent:
        number = number / 100
    if money:
        exponent = number.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2:
            raise CellError(
                f"{value!r} has more than 2 decimals; amounts are in yuan to the fen (分)"
            )
        written = number.as_tuple().exponent
        if isinstance(written, int) and written < -2:
            number = number.quantize(Decimal("0.01"))  # 3000.500 -> 3000.50 (same value)
    return number


def _enum(enum_cls: type[enum.Enum], value: object) -> str:
    if not isinstance(value, str):
        raise CellError(f"expected a code or its Chinese label, got {_describe(value)}")
    code = enum_code(enum_cls, value)
    if code is None:
        choices = ", ".join(
            f"{m.value} ({LABELS_ZH.get(str(m.value), str(m.value))})" for m in enum_cls
        )
        raise CellError(f"unknown code {value!r}; expected one of: {choices}")
    return code


def _text_list(value: object) -> tuple[str, ...]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = list(value)
    elif isinstance(value, str):
        if value.startswith("["):
            try:
                loaded = json.loads(value)
            except (ValueError, RecursionError):  # bad JSON, a number of 4,300+ digits, deep
                raise CellError(
                    f'expected a list such as ["a", "b"] or a、b, got {value!r}'
                ) from None
            if not isinstance(loaded, list):
                raise CellError(f"expected a list, got {value!r}")
            items = loaded
        else:
            items = _LIST_SEPARATORS.split(value)
    else:
        items = [_text(value)]
    out = []
    for item in items:
        if item is None:
            continue
        if not isinstance(item, str | int):
            raise CellError(f"expected a list of codes, got an item {_describe(item)}")
        text = str(item).strip()
        if text:
            out.append(text)
    return tuple(out)
