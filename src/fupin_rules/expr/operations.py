"""The three-valued operations on values the interpreter compiles to: arithmetic with
intervals and dates, comparison of intervals, equality and membership (``UNKNOWN`` propagates).
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from fractions import Fraction
from typing import Any

from fupin_rules.expr.values import UNKNOWN, Interval, Truth

# --- arithmetic -------------------------------------------------------------------------------


def _bounds(x: Fraction | Interval) -> tuple[Fraction, Fraction, int]:
    if isinstance(x, Interval):
        return x.lo, x.hi, x.missing
    return x, x, 0


def _interval(lo: Fraction, hi: Fraction, missing: int) -> Fraction | Interval:
    return lo if lo == hi else Interval(lo, hi, missing)


def _days(n: Fraction) -> dt.timedelta:
    # whole days only; a fractional count of days is rounded down
    return dt.timedelta(days=math.floor(n))


def _arith_slow(op: str, a: Any, b: Any) -> Any:
    """Arithmetic with intervals or dates (the fast path handles two Fractions)."""
    if isinstance(a, dt.date) or isinstance(b, dt.date):
        if isinstance(a, Interval) or isinstance(b, Interval):
            return UNKNOWN
        if op == "+":
            return a + _days(b) if isinstance(a, dt.date) else b + _days(a)
        if isinstance(b, dt.date):
            return Fraction((a - b).days)
        return a - _days(b)
    alo, ahi, am = _bounds(a)
    blo, bhi, bm = _bounds(b)
    missing = am + bm
    if op == "+":
        return _interval(alo + blo, ahi + bhi, missing)
    if op == "-":
        return _interval(alo - bhi, ahi - blo, missing)
    if op == "/":
        if blo <= 0 <= bhi:
            return UNKNOWN
        blo, bhi = 1 / bhi, 1 / blo
    products = (alo * blo, alo * bhi, ahi * blo, ahi * bhi)
    return _interval(min(products), max(products), missing)


# --- comparison -------------------------------------------------------------------------------

_ORDER = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare_intervals(op: str, a: Any, b: Any) -> Truth:
    """Compare where at least one side is an Interval: decided only if every point agrees."""
    alo, ahi, _ = _bounds(a)
    blo, bhi, _ = _bounds(b)
    if op in ("==", "!="):
        if ahi < blo or bhi < alo:
            equal: Truth = False
        elif alo == ahi == blo == bhi:
            equal = True
        else:
            return UNKNOWN
        return equal if op == "==" else not equal
    if op == "<":
        return True if ahi < blo else False if alo >= bhi else UNKNOWN
    if op == "<=":
        return True if ahi <= blo else False if alo > bhi else UNKNOWN
    if op == ">":
        return True if alo > bhi else False if ahi <= blo else UNKNOWN
    return True if alo >= bhi else False if ahi < blo else UNKNOWN


def _unknown_in(a: object, b: object) -> bool:
    return a is UNKNOWN or b is UNKNOWN


def _equal(a: Any, b: Any) -> Truth:
    if _unknown_in(a, b):
        return UNKNOWN
    if isinstance(a, Interval) or isinstance(b, Interval):
        return _compare_intervals("==", a, b)
    return bool(a == b)


def _member(a: Any, items: Any) -> Truth:
    if _unknown_in(a, items):
        return UNKNOWN
    result: Truth = False
    for item in items:
        found = _equal(a, item)
        if found is True:
            return True
        if found is UNKNOWN:
            result = UNKNOWN
    return result
