"""Runtime values: the ``UNKNOWN`` singleton, ``Interval`` bounds and Kleene (three-valued) logic.

Inside the interpreter numbers are exact ``Fraction``s, strings and enum codes are ``str``,
dates are ``datetime.date`` and lists are tuples. A missing input is ``UNKNOWN``; an aggregate
with missing parts is an ``Interval``. ``UNKNOWN`` has no truth value on purpose: ``if x:``
raises, so nobody mistakes unknown for false; use :func:`truth`, ``is True``/``is False``.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from decimal import Decimal
from fractions import Fraction
from typing import Final, TypeAlias, final

import attrs

__all__ = [
    "UNKNOWN",
    "Interval",
    "Truth",
    "Unknown",
    "interval_abs",
    "is_known",
    "k_and",
    "k_not",
    "k_or",
    "to_decimal",
    "to_value",
    "truth",
]


@final
class Unknown:
    """The type of :data:`UNKNOWN`, the value of a missing input (there is one instance)."""

    __slots__ = ()
    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError(
            "UNKNOWN has no truth value; test `x is UNKNOWN`, `x is True` or use truth(x)"
        )

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final[Unknown] = Unknown()

#: the result of a condition: ``True``, ``False`` or ``UNKNOWN``
Truth: TypeAlias = bool | Unknown


def _check_bounds(inst: Interval, _attr: object, _value: int) -> None:
    if inst.lo > inst.hi:
        raise ValueError(f"Interval lo={inst.lo} is greater than hi={inst.hi}")


@attrs.frozen
class Interval:
    """A number known only to lie in ``[lo, hi]`` because ``missing`` parts were unknown.

    Produced by aggregates over children with unknown values (``count``, ``share``, ``sum``
    with an unknown filter, ``min``/``max``) and by arithmetic on such results.
    """

    lo: Fraction
    hi: Fraction
    missing: int = attrs.field(validator=_check_bounds)

    def __str__(self) -> str:
        return f"[{self.lo}, {self.hi}] ({self.missing} missing)"


def k_not(a: Truth) -> Truth:
    """Kleene negation: ``not UNKNOWN`` is ``UNKNOWN``."""
    return UNKNOWN if a is UNKNOWN else not a


def k_and(*values: Truth) -> Truth:
    """Kleene conjunction: ``False`` if any is false, else ``UNKNOWN`` if any is unknown."""
    result: Truth = True
    for v in values:
        if v is False:
            return False
        if v is UNKNOWN:
            result = UNKNOWN
    return result


def k_or(*values: Truth) -> Truth:
    """Kleene disjunction: ``True`` if any is true, else ``UNKNOWN`` if any is unknown."""
    result: Truth = False
    for v in values:
        if v is True:
            return True
        if v is UNKNOWN:
            result = UNKNOWN
    return result


def truth(value: object) -> Truth:
    """A condition's value as ``True``/``False``/``UNKNOWN``; ``TypeError`` for non-booleans."""
    if value is True or value is False or value is UNKNOWN:
        return value
    raise TypeError(f"expected a condition (true, false or unknown), got {value!r}")


def is_known(value: object) -> bool:
    """Whether ``value`` is fully known (neither ``UNKNOWN`` nor an ``Interval``)."""
    return value is not UNKNOWN and not isinstance(value, Interval)


def interval_abs(value: Interval) -> Interval | Fraction:
    """``abs`` of an interval (a ``Fraction`` when the bounds meet)."""
    if value.lo >= 0:
        return value
    if value.hi <= 0:
        return Interval(-value.hi, -value.lo, value.missing)
    return Interval(Fraction(0), max(-value.lo, value.hi), value.missing)


def to_value(raw: object) -> object:
    """Convert an input value to its runtime form (``None`` means unknown).

    ``int`` and ``Decimal`` become exact ``Fraction``s, ``enum.Enum`` members their code,
    tuples/lists/sets tuples. ``float`` is rejected with ``TypeError``: binary floats are
    inexact (0.1 + 0.2 != 0.3); pass ``Decimal`` or ``int``.
    """
    kind = type(raw)
    if kind is Fraction or kind is str or kind is bool or kind is dt.date or raw is UNKNOWN:
        return raw
    if raw is None:
        return UNKNOWN
    if kind is int:
        return Fraction(raw)  # type: ignore[call-overload]
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise TypeError(f"Decimal {raw} is not a finite number")
        return Fraction(raw)
    if isinstance(raw, float):
        raise TypeError(
            f"float {raw!r} is not accepted: binary floats are inexact; pass Decimal or int"
        )
    if isinstance(raw, enum.Enum):
        return to_value(raw.value)
    if isinstance(raw, bool):
        return bool(raw)
    if isinstance(raw, int):
        return Fraction(int(raw))
    if isinstance(raw, Fraction | Interval):
        return raw
    if isinstance(raw, str):
        return str(raw)
    if isinstance(raw, dt.datetime):
        raise TypeError(f"datetime {raw!r} is not accepted; pass a date")
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, tuple | list | frozenset | set):
        return tuple(to_value(x) for x in raw)
    raise TypeError(f"cannot use a {kind.__name__} value in an expression: {raw!r}")


def to_decimal(value: Fraction, places: int | None = None) -> Decimal:
    """An exact number as ``Decimal`` (amounts in outputs).

    With ``places=None`` the value must have a finite decimal expansion (``ValueError``
    otherwise); with ``places`` it is rounded half up (四舍五入) to that many decimals.
    """
    if places is not None:
        scaled = abs(value) * 10**places
        units = math.floor(scaled + Fraction(1, 2))
        return Decimal(-units if value < 0 else units).scaleb(-places)
    den = value.denominator
    rest = den
    for prime in (2, 5):
        while rest % prime == 0:
            rest //= prime
    if rest != 1:
        raise ValueError(f"{value} has no exact decimal form; pass places= to round it")
    places = 0
    while 10**places % den:
        places += 1
    return Decimal(value.numerator * 10**places // den).scaleb(-places)
