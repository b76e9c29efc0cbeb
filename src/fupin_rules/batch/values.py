"""Column values of the batch compiler: exact rationals, intervals and three-valued logic.

A compiled expression is a *typed column value*: a small object holding polars expressions over
the frame of one entity kind. Unknown is ``null`` in every representation.

* :class:`BoolV` — a nullable Boolean; ``&``/``|``/``~`` on nullable Booleans are Kleene in
  polars (``False & null = False``, ``True | null = True``, ``~null = null``), exactly
  :func:`fupin_rules.expr.values.k_and`/``k_or``/``k_not``.
* :class:`NumV` — an exact number or interval ``[lo, hi]`` with its ``missing`` count. Each bound
  is a :class:`Rat`: an ``Int128`` numerator expression over a positive denominator that is
  either a Python ``int`` (static: the same for every row, e.g. 100 for yuan in fen, 1 for
  counts, 10**s for a rate column of scale ``s``) or an ``Int128`` expression (after a
  division). A point value has ``hi is None``.
* **Overflow.** ``Int128`` arithmetic in polars wraps around silently. So every :class:`Rat`
  carries a static bound on its numerator's magnitude (and on its denominator's, when that is
  an expression), computed when the expression is compiled: from the literal, from the column's
  largest value, from the operands' bounds (``|a*b| <= A*B``, ``|a+b| <= A+B``, a sum over
  children: the largest child times the rows). A bound beyond ``Int128`` raises
  :class:`~fupin_rules.errors.BatchOverflowError` when the rule is compiled, so that rule is an
  error row and no wrapped-around number is ever computed; nothing is checked per row.
* :class:`DateV`, :class:`StrV` (strings and enum codes), :class:`ListV` (``List(String)``
  columns) and :class:`ConstList` (list literals, catalogues, list parameters).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import TypeAlias

import attrs
import polars as pl

from fupin_rules.errors import BatchOverflowError

__all__ = [
    "I128",
    "I128_MAX",
    "BoolV",
    "ConstList",
    "DateV",
    "ListV",
    "NumV",
    "Rat",
    "StrV",
    "Value",
    "check_bound",
    "kleene_all",
    "kleene_any",
    "num_abs",
    "num_arith",
    "num_compare",
    "num_const",
    "num_neg",
]

I128 = pl.Int128
Den: TypeAlias = "int | pl.Expr"
#: the largest magnitude an ``Int128`` holds
I128_MAX = 2**127 - 1


def check_bound(bound: int, what: str = "a number") -> int:
    """``bound`` if an ``Int128`` holds every integer up to it, else :class:`BatchOverflowError`."""
    if bound > I128_MAX:
        raise BatchOverflowError(
            f"{what} of this rule can reach {float(bound):.3g} as an exact fraction's numerator "
            f"or denominator, beyond the batch engine's 128-bit integers (±{float(I128_MAX):.3g}; "
            "数值超出批量引擎的精确范围); the reference engine (--engine reference) computes it "
            "exactly"
        )
    return bound


def _lit(n: int) -> pl.Expr:
    return pl.lit(n, dtype=I128)


def negate(e: pl.Expr) -> pl.Expr:
    """``-e`` (polars has no unary minus for ``Int128``)."""
    return _lit(0) - e


@attrs.frozen
class Rat:
    """``num / den`` with ``den > 0``; ``den`` is a static ``int`` or an ``Int128`` expression.

    ``bound``: no row's ``|num|`` exceeds it; ``dbound``: no row's ``den`` exceeds it when
    ``den`` is an expression (a static ``den`` is its own bound). Both are checked against
    ``Int128`` on construction (:func:`check_bound`).
    """

    num: pl.Expr
    den: int | pl.Expr
    bound: int
    dbound: int = 0

    def __attrs_post_init__(self) -> None:
        check_bound(self.bound)
        check_bound(self.den_bound)

    @property
    def den_bound(self) -> int:
        """No row's denominator exceeds this."""
        return self.den if isinstance(self.den, int) else self.dbound

    @property
    def static(self) -> bool:
        """Whether the denominator is the same for every row."""
        return isinstance(self.den, int)

    def den_expr(self) -> pl.Expr:
        """The denominator as an expression."""
        return _lit(self.den) if isinstance(self.den, int) else self.den


def _scale(e: pl.Expr, k: int | pl.Expr) -> pl.Expr:
    if isinstance(k, int):
        return e if k == 1 else e * _lit(k)
    return e * k


def _mul_den(a: int | pl.Expr, b: int | pl.Expr) -> int | pl.Expr:
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    return _scale(a if not isinstance(a, int) else _lit(a), b)


def rat_cmp_parts(a: Rat, b: Rat) -> tuple[pl.Expr, pl.Expr]:
    """Two integer expressions whose order is the order of ``a`` and ``b``."""
    if isinstance(a.den, int) and isinstance(b.den, int):
        g = math.gcd(a.den, b.den)
        check_bound(a.bound * (b.den // g), "a comparison")
        check_bound(b.bound * (a.den // g), "a comparison")
        return _scale(a.num, b.den // g), _scale(b.num, a.den // g)
    check_bound(a.bound * b.den_bound, "a comparison")
    check_bound(b.bound * a.den_bound, "a comparison")
    return _scale(a.num, b.den), _scale(b.num, a.den)


def rat_lt(a: Rat, b: Rat) -> pl.Expr:
    x, y = rat_cmp_parts(a, b)
    return x < y


def rat_le(a: Rat, b: Rat) -> pl.Expr:
    x, y = rat_cmp_parts(a, b)
    return x <= y


def rat_eq(a: Rat, b: Rat) -> pl.Expr:
    x, y = rat_cmp_parts(a, b)
    return x == y


def rat_add(a: Rat, b: Rat, sign: int = 1) -> Rat:
    """``a + b`` (or ``a - b`` with ``sign=-1``)."""
    bn = b.num if sign == 1 else negate(b.num)
    if isinstance(a.den, int) and isinstance(b.den, int):
        den = math.lcm(a.den, b.den)
        bound = a.bound * (den // a.den) + b.bound * (den // b.den)
        return Rat(_scale(a.num, den // a.den) + _scale(bn, den // b.den), den, bound)
    bound = a.bound * b.den_bound + b.bound * a.den_bound
    return Rat(
        _scale(a.num, b.den) + _scale(bn, a.den),
        _mul_den(a.den, b.den),
        bound,
        a.den_bound * b.den_bound,
    )


def rat_mul(a: Rat, b: Rat) -> Rat:
    """``a * b``."""
    return Rat(a.num * b.num, _mul_den(a.den, b.den), a.bound * b.bound, a.den_bound * b.den_bound)


def rat_inv(a: Rat) -> Rat:
    """``1 / a`` for a non-zero ``a`` (the denominator stays positive)."""
    sign = a.num.sign()
    return Rat(a.den_expr() * sign, a.num.abs(), a.den_bound, a.bound)


def rat_neg(a: Rat) -> Rat:
    return Rat(negate(a.num), a.den, a.bound, a.dbound)


def rat_pick(cond: pl.Expr, a: Rat, b: Rat) -> Rat:
    """``a`` where ``cond`` else ``b``."""
    num = pl.when(cond).then(a.num).otherwise(b.num)
    bound = max(a.bound, b.bound)
    if isinstance(a.den, int) and isinstance(b.den, int) and a.den == b.den:
        return Rat(num, a.den, bound)
    den = pl.when(cond).then(a.den_expr()).otherwise(b.den_expr())
    return Rat(num, den, bound, max(a.den_bound, b.den_bound))


def rat_min(a: Rat, b: Rat) -> Rat:
    return rat_pick(rat_le(a, b), a, b)


def rat_max(a: Rat, b: Rat) -> Rat:
    return rat_pick(rat_le(b, a), a, b)


@attrs.frozen
class BoolV:
    """A nullable Boolean column (null = unknown)."""

    e: pl.Expr


@attrs.frozen
class StrV:
    """A string or enum code column."""

    e: pl.Expr


@attrs.frozen
class DateV:
    """A date column."""

    e: pl.Expr


@attrs.frozen
class ListV:
    """A ``List(String)`` column (a list field of a record)."""

    e: pl.Expr


@attrs.frozen
class ConstList:
    """A list known when the expression is compiled (literals, catalogues, list parameters)."""

    items: tuple[object, ...]


@attrs.frozen
class NumV:
    """An exact number, or an interval ``[lo, hi]`` with ``missing`` unknown parts.

    ``hi is None`` means a point (``hi == lo``); ``miss is None`` means 0. Unknown: ``lo.num``
    is null (and so is ``hi.num``).
    """

    lo: Rat
    hi: Rat | None = None
    miss: pl.Expr | None = None

    @property
    def upper(self) -> Rat:
        """The upper bound."""
        return self.lo if self.hi is None else self.hi

    def missing(self) -> pl.Expr:
        """The missing count: 0 for a point, the interval's count otherwise."""
        if self.hi is None or self.miss is None:
            return pl.lit(0, dtype=pl.Int64)
        return pl.when(rat_eq(self.lo, self.hi)).then(0).otherwise(self.miss).cast(pl.Int64)

    def is_unknown(self) -> pl.Expr:
        return self.lo.num.is_null()

    def is_point(self) -> pl.Expr:
        """True where the value is a known number (not an interval); null where unknown."""
        if self.hi is None:
            return pl.when(self.lo.num.is_null()).then(None).otherwise(pl.lit(True))
        return rat_eq(self.lo, self.hi)


Value: TypeAlias = BoolV | StrV | DateV | ListV | ConstList | NumV


def num_const(value: Fraction) -> NumV:
    """A constant number."""
    bound = check_bound(abs(value.numerator), "a number written in the rule")
    check_bound(value.denominator, "a number written in the rule")
    return NumV(Rat(_lit(value.numerator), value.denominator, bound))


def num_null() -> NumV:
    """The unknown number."""
    return NumV(Rat(pl.lit(None, dtype=I128), 1, 0))


def _interval(lo: Rat, hi: Rat, miss: pl.Expr) -> NumV:
    return NumV(lo, hi, miss)


def num_arith(op: str, a: NumV, b: NumV) -> NumV:
    """``a op b`` with interval rules; division by a range containing 0 is unknown."""
    if a.hi is None and b.hi is None:
        if op == "+":
            return NumV(rat_add(a.lo, b.lo))
        if op == "-":
            return NumV(rat_add(a.lo, b.lo, -1))
        if op == "*":
            return NumV(rat_mul(a.lo, b.lo))
        zero = b.lo.num == 0
        nonzero = pl.when(zero).then(None).otherwise(b.lo.num)
        inv = rat_inv(Rat(nonzero, b.lo.den, b.lo.bound, b.lo.dbound))
        return NumV(rat_mul(a.lo, inv))
    miss = a.missing() + b.missing()
    alo, ahi, blo, bhi = a.lo, a.upper, b.lo, b.upper
    if op == "+":
        return _interval(rat_add(alo, blo), rat_add(ahi, bhi), miss)
    if op == "-":
        return _interval(rat_add(alo, bhi, -1), rat_add(ahi, blo, -1), miss)
    if op == "/":
        contains_zero = (blo.num <= 0) & (bhi.num >= 0)
        safe_lo = Rat(
            pl.when(contains_zero).then(None).otherwise(bhi.num), bhi.den, bhi.bound, bhi.dbound
        )
        safe_hi = Rat(
            pl.when(contains_zero).then(None).otherwise(blo.num), blo.den, blo.bound, blo.dbound
        )
        blo, bhi = rat_inv(safe_lo), rat_inv(safe_hi)
    products = (rat_mul(alo, blo), rat_mul(alo, bhi), rat_mul(ahi, blo), rat_mul(ahi, bhi))
    lo = products[0]
    hi = products[0]
    for p in products[1:]:
        lo = rat_min(lo, p)
        hi = rat_max(hi, p)
    return _interval(lo, hi, miss)


def num_neg(a: NumV) -> NumV:
    """``-a``."""
    if a.hi is None:
        return NumV(rat_neg(a.lo))
    return NumV(rat_neg(a.hi), rat_neg(a.lo), a.miss)


def num_abs(a: NumV) -> NumV:
    """``abs(a)`` (interval-aware, as :func:`fupin_rules.expr.values.interval_abs`)."""
    if a.hi is None:
        return NumV(Rat(a.lo.num.abs(), a.lo.den, a.lo.bound, a.lo.dbound))
    lo, hi = a.lo, a.hi
    nonneg = lo.num >= 0
    nonpos = hi.num <= 0
    zero = Rat(_lit(0), 1, 0)
    new_lo = rat_pick(nonneg, lo, rat_pick(nonpos, rat_neg(hi), zero))
    new_hi = rat_pick(nonneg, hi, rat_pick(nonpos, rat_neg(lo), rat_max(rat_neg(lo), hi)))
    return NumV(new_lo, new_hi, a.miss)


def _three(true: pl.Expr, false: pl.Expr) -> pl.Expr:
    return pl.when(true).then(pl.lit(True)).when(false).then(pl.lit(False)).otherwise(None)


def num_compare(op: str, a: NumV, b: NumV) -> pl.Expr:
    """The comparison as the interpreter's ``_compare_intervals``: decided only if every point
    of the intervals gives the same answer; null when either side is unknown."""
    alo, ahi, blo, bhi = a.lo, a.upper, b.lo, b.upper
    known = a.lo.num.is_not_null() & b.lo.num.is_not_null()
    if a.hi is None and b.hi is None:
        x, y = rat_cmp_parts(alo, blo)
        simple = {
            "==": x == y,
            "!=": x != y,
            "<": x < y,
            "<=": x <= y,
            ">": x > y,
            ">=": x >= y,
        }[op]
        return simple
    if op in ("==", "!="):
        differ = rat_lt(ahi, blo) | rat_lt(bhi, alo)
        same = rat_eq(alo, ahi) & rat_eq(blo, bhi) & rat_eq(alo, blo)
        eq = _three(same, differ)
        result = eq if op == "==" else ~eq
    elif op == "<":
        result = _three(rat_lt(ahi, blo), rat_le(bhi, alo))
    elif op == "<=":
        result = _three(rat_le(ahi, blo), rat_lt(bhi, alo))
    elif op == ">":
        result = _three(rat_lt(bhi, alo), rat_le(ahi, blo))
    else:
        result = _three(rat_le(bhi, alo), rat_lt(ahi, blo))
    return pl.when(known).then(result).otherwise(None)


def kleene_all(parts: Sequence[pl.Expr]) -> pl.Expr:
    """Kleene AND of Boolean expressions (True for none)."""
    if not parts:
        return pl.lit(True)
    out = parts[0]
    for p in parts[1:]:
        out = out & p
    return out


def kleene_any(parts: Sequence[pl.Expr]) -> pl.Expr:
    """Kleene OR of Boolean expressions (False for none)."""
    if not parts:
        return pl.lit(False)
    out = parts[0]
    for p in parts[1:]:
        out = out | p
    return out


def const_expr(value: object) -> pl.Expr:
    """A scalar literal for a non-number constant."""
    if isinstance(value, bool):
        return pl.lit(value, dtype=pl.Boolean)
    if isinstance(value, str):
        return pl.lit(value, dtype=pl.String)
    if isinstance(value, dt.date):
        return pl.lit(value, dtype=pl.Date)
    raise TypeError(f"no scalar literal for {value!r}")
