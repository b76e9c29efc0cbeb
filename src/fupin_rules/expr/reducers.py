"""The aggregate reducers of the interpreter (count, sum, min, max, share, all, any) over a
collection's children, with intervals where a child's filter or value is unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, TypeAlias

from fupin_rules.expr.operations import _bounds, _interval
from fupin_rules.expr.runtime import Environment, Subject
from fupin_rules.expr.trace import Trace
from fupin_rules.expr.values import UNKNOWN, Interval, Truth

#: a compiled expression: ``fn(subject, env, trace) -> value``
Compiled: TypeAlias = Callable[[Subject, Environment, Trace | None], Any]

_ZERO = Fraction(0)

_Reducer: TypeAlias = Callable[[Sequence[Subject], Environment, Trace | None], tuple[Any, int]]


def _truth_of(fn: Compiled | None, s: Subject, e: Environment, t: Trace | None) -> Truth:
    if fn is None:
        return True
    v = fn(s, e, t)
    return UNKNOWN if v is UNKNOWN else bool(v)


def _count(value: Compiled | None, filt: Compiled | None) -> _Reducer:
    def reduce(kids: Sequence[Subject], e: Environment, t: Trace | None) -> tuple[Any, int]:
        if filt is None:
            return Fraction(len(kids)), 0
        sure = maybe = 0
        for c in kids:
            f = filt(c, e, t)
            if f is True:
                sure += 1
            elif f is UNKNOWN:
                maybe += 1
        if maybe == 0:
            return Fraction(sure), 0
        return Interval(Fraction(sure), Fraction(sure + maybe), maybe), maybe

    return reduce


def _sum(value: Compiled | None, filt: Compiled | None) -> _Reducer:
    assert value is not None

    def reduce(kids: Sequence[Subject], e: Environment, t: Trace | None) -> tuple[Any, int]:
        lo = hi = Fraction(0)
        missing = 0
        unbounded = False
        for c in kids:
            f = _truth_of(filt, c, e, t)
            if f is False:
                continue
            v = value(c, e, t)
            if v is UNKNOWN:
                missing += 1
                unbounded = True
                continue
            vlo, vhi, vm = _bounds(v)
            if f is True:
                lo += vlo
                hi += vhi
                missing += 1 if vm else 0
            else:  # the child may or may not count
                lo += min(vlo, _ZERO)
                hi += max(vhi, _ZERO)
                missing += 1
        if unbounded:
            return UNKNOWN, missing
        return _interval(lo, hi, missing), missing

    return reduce


def _extremum(pick: Callable[..., Any], value: Compiled | None, filt: Compiled | None) -> _Reducer:
    assert value is not None
    is_min = pick is min

    def reduce(kids: Sequence[Subject], e: Environment, t: Trace | None) -> tuple[Any, int]:
        sure: list[Any] = []
        maybe: list[Any] = []
        missing = 0
        unbounded = False
        for c in kids:
            f = _truth_of(filt, c, e, t)
            if f is False:
                continue
            v = value(c, e, t)
            if v is UNKNOWN or isinstance(v, Interval):
                missing += 1
                unbounded = True
            elif f is True:
                sure.append(v)
            else:
                missing += 1
                maybe.append(v)
        if unbounded or not sure:
            return UNKNOWN, missing
        best = pick(sure)
        if not maybe:
            return best, missing
        extreme = pick(best, pick(maybe))
        if extreme == best:
            return best, missing
        if isinstance(best, dt.date):
            return UNKNOWN, missing
        return (
            Interval(extreme, best, missing) if is_min else Interval(best, extreme, missing)
        ), missing

    return reduce


def _share(value: Compiled | None, filt: Compiled | None) -> _Reducer:
    assert value is not None

    def reduce(kids: Sequence[Subject], e: Environment, t: Trace | None) -> tuple[Any, int]:
        # in: a numerator and denominator; out: denominator only; optional_*: only if the
        # unknown filter is true; maybe: the condition is unknown (numerator or not)
        num = den = optional_in = optional_out = optional_maybe = maybe = 0
        for c in kids:
            f = _truth_of(filt, c, e, t)
            if f is False:
                continue
            v = value(c, e, t)
            if f is True:
                den += 1
                if v is True:
                    num += 1
                elif v is UNKNOWN:
                    maybe += 1
            elif v is True:
                optional_in += 1
            elif v is False:
                optional_out += 1
            else:
                optional_maybe += 1
        missing = maybe + optional_in + optional_out + optional_maybe
        if den == 0:  # the denominator is zero or may be
            return UNKNOWN, missing
        if missing == 0:
            return Fraction(num, den), 0
        lo = Fraction(num, den + optional_out + optional_maybe)
        hi = Fraction(
            num + maybe + optional_in + optional_maybe, den + optional_in + optional_maybe
        )
        return _interval(lo, hi, missing), missing

    return reduce


def _kleene(is_all: bool, value: Compiled | None, filt: Compiled | None) -> _Reducer:
    assert value is not None
    decisive = not is_all  # all: a False decides; any: a True decides

    def reduce(kids: Sequence[Subject], e: Environment, t: Trace | None) -> tuple[Any, int]:
        missing = 0
        decided = False
        for c in kids:
            v = value(c, e, t)
            if v is UNKNOWN:
                missing += 1
            elif v is decisive:
                decided = True
        if decided:
            return decisive, missing
        return (UNKNOWN if missing else not decisive), missing

    return reduce


_REDUCERS: dict[str, Callable[[Compiled | None, Compiled | None], _Reducer]] = {
    "count": _count,
    "sum": _sum,
    "min": lambda v, f: _extremum(min, v, f),
    "max": lambda v, f: _extremum(max, v, f),
    "share": _share,
    "all": lambda v, f: _kleene(True, v, f),
    "any": lambda v, f: _kleene(False, v, f),
}
