"""Policy loader, part 2: the names and kinds a policy may use, and YAML values read exactly.

Moved unchanged out of :mod:`fupin_rules.policy.loader`, which puts the parts together.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from fupin_rules.expr import BOOL, DATE, NUMBER, STRING, ListType, Type
from fupin_rules.policy._limits import MAX_NUMBER_DIGITS
from fupin_rules.policy.model import Text

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_DOTTED = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$")
_TYPES: dict[str, Type] = {
    "number": NUMBER,
    "bool": BOOL,
    "string": STRING,
    "date": DATE,
    "list": ListType(STRING),
    "list[string]": ListType(STRING),
    "list[number]": ListType(NUMBER),
}
_UNITS = ("yuan", "rate", "count", "days", "months", "year", "persons", "villages", "none")
_STATUSES = ("seed", "assumed")
#: a derived variable as read: entity, name, title, type, expression text, clause, origin,
#: status, note
_VarRaw = tuple[str, str, Text, Type, str, str | None, str, Any, str]
_KINDS = ("eligibility", "compliance", "target")
_VERDICTS = ("pass", "fail", "unknown", "not_applicable")


def _number(value: Any) -> Fraction | None:
    """An exact number from a YAML scalar (floats through their shortest text).

    None for anything else, and for a number with more than :data:`MAX_NUMBER_DIGITS`
    significant digits or a decimal exponent beyond ±:data:`MAX_NUMBER_DIGITS` (``'1e999999999'``
    would take the exact conversion hours and gigabytes); see :func:`_not_a_number`.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Fraction(int(value)) if _within_bounds(Decimal(value)) else None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        exact = Decimal(repr(float(value)))
        return Fraction(exact) if _within_bounds(exact) else None
    if isinstance(value, str):
        try:
            exact = Decimal(value.strip())
        except (InvalidOperation, ValueError):
            return None
        return Fraction(exact) if exact.is_finite() and _within_bounds(exact) else None
    return None


def _within_bounds(value: Decimal) -> bool:
    digits = len(value.as_tuple().digits)
    return digits <= MAX_NUMBER_DIGITS and abs(value.adjusted()) <= MAX_NUMBER_DIGITS


def _not_a_number(raw: Any) -> str:
    """Why :func:`_number` refused ``raw`` (its text shortened)."""
    shown = repr(raw) if len(repr(raw)) <= 60 else repr(raw)[:40] + f"... ({len(repr(raw))} chars)"
    try:
        exact = Decimal(str(raw).strip()) if not isinstance(raw, bool) else None
    except (InvalidOperation, ValueError):
        exact = None
    if exact is not None and exact.is_finite():
        return (
            f"expected a number of at most {MAX_NUMBER_DIGITS} digits with a decimal exponent "
            f"within ±{MAX_NUMBER_DIGITS}, got {shown} (数值超出范围)"
        )
    return f"expected a number, got {shown}"


def _expected_value(value: Any) -> Any:
    """An expected output in a case: numbers exact, null = unknown, the rest as written."""
    if value is None:
        return None
    num = _number(value) if not isinstance(value, str) else None
    if num is not None:
        return num
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def _expr_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return value.strip()
    return None


def _plain(value: Any) -> Any:
    """ruamel containers -> plain dicts/lists (for case data)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not isinstance(value, bool):
        return Decimal(repr(float(value)))
    if isinstance(value, dt.datetime):
        return value.date()
    return value
