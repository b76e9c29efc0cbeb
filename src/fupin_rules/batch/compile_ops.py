"""Column values of constants and the operators of the batch compiler.

Literal and parameter values, ``known()``, comparisons, ``in``, date arithmetic,
``subset``/``overlaps`` and ``coalesce`` over the typed column values of
:mod:`fupin_rules.batch.values`, as the reference interpreter evaluates them; used by
:mod:`fupin_rules.batch.compiler`.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import attrs
import polars as pl

from fupin_rules.batch.values import (
    I128,
    BoolV,
    ConstList,
    DateV,
    ListV,
    NumV,
    Rat,
    StrV,
    Value,
    const_expr,
    kleene_any,
    num_compare,
    num_const,
    num_null,
    rat_eq,
)
from fupin_rules.errors import BatchUnsupportedError
from fupin_rules.expr import BOOL, DATE, NUMBER, ListType, Type

#: bounds of values the compiler makes itself: a year, a number of days between two dates
#: (polars dates are 32-bit day numbers)
_YEAR_BOUND = 10**6
_DAYS_BOUND = 2**33


@attrs.frozen
class ItemList:
    """A list literal with non-constant items (only used on the right of ``in``)."""

    items: tuple[Value, ...]


def typed_null(t: Type) -> Value:
    """The unknown value of a type."""
    if t == NUMBER:
        return num_null()
    if t == BOOL:
        return BoolV(pl.lit(None, dtype=pl.Boolean))
    if t == DATE:
        return DateV(pl.lit(None, dtype=pl.Date))
    if isinstance(t, ListType):
        return ListV(pl.lit(None, dtype=pl.List(pl.String)))
    return StrV(pl.lit(None, dtype=pl.String))


def constant(value: object) -> Value:
    """The column value of a runtime constant (Fraction, bool, str, date, tuple)."""
    if isinstance(value, bool):
        return BoolV(const_expr(value))
    if isinstance(value, Fraction):
        return num_const(value)
    if isinstance(value, str):
        return StrV(const_expr(value))
    if isinstance(value, dt.date):
        return DateV(const_expr(value))
    if isinstance(value, tuple):
        return ConstList(value)
    raise BatchUnsupportedError(f"no column value for constant {value!r}")


def _guard(known: pl.Expr, result: pl.Expr) -> pl.Expr:
    return pl.when(known).then(result).otherwise(None)


def known_expr(v: Value | ItemList) -> pl.Expr:
    """True where the value is known (an interval counts as known, as ``known()``)."""
    if isinstance(v, NumV):
        return v.lo.num.is_not_null()
    if isinstance(v, ConstList | ItemList):
        return pl.lit(True)
    return v.e.is_not_null()


def _static(value: Value | None, func: str) -> NumV:
    """A number with one static denominator for both bounds (needed to reduce by group)."""
    if not isinstance(value, NumV):
        raise BatchUnsupportedError(f"{func}() of a non-number")
    lo, hi = value.lo, value.hi
    if not isinstance(lo.den, int) or (hi is not None and not isinstance(hi.den, int)):
        raise BatchUnsupportedError(
            f"{func}() over a computed ratio is not supported by the batch engine"
        )
    if hi is not None and hi.den != lo.den:
        assert isinstance(hi.den, int)
        import math

        den = math.lcm(lo.den, hi.den)
        lo = Rat(lo.num * (den // lo.den), den, lo.bound * (den // lo.den))
        hi = Rat(hi.num * (den // hi.den), den, hi.bound * (den // hi.den))
        return NumV(lo, hi, value.miss)
    return value


def _days(n: NumV) -> pl.Expr:
    """Whole days of a number (rounded down); null for an interval or unknown."""
    floor = n.lo.num // n.lo.den_expr()
    if n.hi is not None:
        floor = pl.when(rat_eq(n.lo, n.hi)).then(floor).otherwise(None)
    return floor.cast(pl.Int64)


def _date_arith(op: str, a: Value, b: Value) -> Value:
    if isinstance(a, DateV) and isinstance(b, DateV) and op == "-":
        return NumV(Rat((a.e - b.e).dt.total_days().cast(I128), 1, _DAYS_BOUND))
    if isinstance(a, DateV) and isinstance(b, NumV) and op in ("+", "-"):
        d = pl.duration(days=_days(b))
        return DateV(a.e + d if op == "+" else a.e - d)
    if isinstance(a, NumV) and isinstance(b, DateV) and op == "+":
        return DateV(b.e + pl.duration(days=_days(a)))
    raise BatchUnsupportedError(f"arithmetic {op!r} on {type(a).__name__}, {type(b).__name__}")


def _equal(a: Value, b: Value) -> pl.Expr:
    if isinstance(a, NumV) and isinstance(b, NumV):
        return num_compare("==", a, b)
    if isinstance(a, ListV | ConstList) or isinstance(b, ListV | ConstList):
        return _list_equal(a, b)
    if isinstance(a, NumV | ItemList) or isinstance(b, NumV | ItemList):
        raise BatchUnsupportedError("comparison of a number with a non-number")
    return a.e == b.e


def _list_equal(a: Value, b: Value) -> pl.Expr:
    if isinstance(a, ConstList) and isinstance(b, ConstList):
        return pl.lit(a.items == b.items)
    if isinstance(a, ConstList):
        a, b = b, a
    if isinstance(a, ListV) and isinstance(b, ConstList):
        if not all(isinstance(i, str) for i in b.items):
            return pl.when(a.e.is_null()).then(None).otherwise(pl.lit(False))
        parts = [a.e.list.len() == len(b.items)]
        parts += [a.e.list.get(i, null_on_oob=True) == s for i, s in enumerate(b.items)]
        same = parts[0]
        for p in parts[1:]:
            same = same & p.fill_null(False)
        return _guard(a.e.is_not_null(), same)
    if isinstance(a, ListV) and isinstance(b, ListV):
        return a.e == b.e
    raise BatchUnsupportedError("comparison of a list with a non-list")


def _compare(op: str, a: Value, b: Value) -> pl.Expr:
    if op == "==":
        return _equal(a, b)
    if op == "!=":
        return ~_equal(a, b)
    if isinstance(a, NumV) and isinstance(b, NumV):
        return num_compare(op, a, b)
    if isinstance(a, DateV | StrV) and isinstance(b, DateV | StrV):
        ea, eb = a.e, b.e
        return {"<": ea < eb, "<=": ea <= eb, ">": ea > eb, ">=": ea >= eb}[op]
    raise BatchUnsupportedError(f"ordering {op!r} of {type(a).__name__} and {type(b).__name__}")


def _member(a: Value, items: Value | ItemList) -> pl.Expr:
    """``a in items`` as the interpreter's ``_member`` (Kleene OR of equalities)."""
    known = known_expr(a)
    if isinstance(items, ListV):
        if isinstance(a, NumV | ConstList | ItemList | ListV):
            raise BatchUnsupportedError("'in' of a non-string in a list field")
        return _guard(known, items.e.list.contains(a.e))
    if isinstance(items, ConstList):
        if not items.items:
            return _guard(known, pl.lit(False))
        if isinstance(a, NumV):
            eqs = [_equal(a, constant(i)) for i in items.items]
            return _guard(known, kleene_any(eqs))
        if isinstance(a, StrV | DateV | BoolV):
            return _guard(known, a.e.is_in(list(items.items)))
        raise BatchUnsupportedError("'in' of a list")
    if isinstance(items, ItemList):
        eqs = [_equal(a, i) for i in items.items]
        return _guard(known, kleene_any(eqs) if eqs else pl.lit(False))
    raise BatchUnsupportedError("'in' needs a list on the right")


def _lists(func: str, a: Value, b: Value) -> pl.Expr:
    """``subset(a, b)`` / ``overlaps(a, b)`` of string lists (unknown if either is)."""
    every = func == "subset"
    if isinstance(a, ConstList) and isinstance(b, ConstList):
        members = set(b.items)
        hits = [x in members for x in a.items]
        return pl.lit(all(hits) if every else any(hits))
    if isinstance(a, ListV) and isinstance(b, ConstList):
        inside = a.e.list.eval(pl.element().is_in(list(b.items)))
        return inside.list.all() if every else inside.list.any()
    if isinstance(a, ConstList) and isinstance(b, ListV):
        parts = [b.e.list.contains(x) for x in a.items]
        if not parts:
            return _guard(b.e.is_not_null(), pl.lit(every))
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if every else (out | p)
        return out
    if isinstance(a, ListV) and isinstance(b, ListV):
        known = a.e.is_not_null() & b.e.is_not_null()
        if every:
            return _guard(known, a.e.list.set_difference(b.e).list.len() == 0)
        return _guard(known, a.e.list.set_intersection(b.e).list.len() > 0)
    raise BatchUnsupportedError(f"{func}() needs two lists")


def _full(v: NumV) -> tuple[Rat, Rat, pl.Expr]:
    return v.lo, v.upper, v.missing()


def _coalesce(a: Value, b: Value) -> Value:
    if isinstance(a, NumV) and isinstance(b, NumV):
        from fupin_rules.batch.values import rat_pick

        use_a = a.lo.num.is_not_null()
        alo, ahi, am = _full(a)
        blo, bhi, bm = _full(b)
        if a.hi is None and b.hi is None:
            return NumV(rat_pick(use_a, alo, blo))
        return NumV(
            rat_pick(use_a, alo, blo),
            rat_pick(use_a, ahi, bhi),
            pl.when(use_a).then(am).otherwise(bm),
        )
    if isinstance(a, ConstList):
        return a
    if isinstance(a, BoolV | StrV | DateV | ListV) and type(a) is type(b):
        return type(a)(pl.coalesce(a.e, b.e))
    raise BatchUnsupportedError("coalesce() of different kinds of values")
