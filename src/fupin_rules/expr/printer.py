"""Print IR as canonical expression text: ``to_source(expr) -> str``.

The text uses the fewest parentheses the precedence rules allow, double-quoted strings and
decimal numbers without trailing zeros; ``parse(to_source(e)) == e`` for every ``e``.
"""

from __future__ import annotations

from fractions import Fraction

from fupin_rules.expr.ir import (
    Aggregate,
    Binary,
    BoolOp,
    Call,
    Catalogue,
    Compare,
    DateLiteral,
    Expr,
    ListExpr,
    Literal,
    Not,
    On,
    Param,
    Path,
    Unary,
)

__all__ = ["format_number", "quote", "to_source"]

_OR, _AND, _NOT, _CMP, _SUM, _PRODUCT, _UNARY, _ATOM = range(1, 9)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quote(text: str) -> str:
    """``text`` as a double-quoted string literal."""
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in text) + '"'


def format_number(value: Fraction) -> str:
    """A non-negative finite-decimal ``Fraction`` as decimal text: ``Fraction(1, 50)`` -> ``0.02``.

    Raises ``ValueError`` for values without a finite decimal expansion (e.g. 1/3).
    """
    sign = "-" if value < 0 else ""
    value = abs(value)
    den = rest = value.denominator
    for prime in (2, 5):
        while rest % prime == 0:
            rest //= prime
    if rest != 1:
        raise ValueError(f"{value} has no finite decimal expansion")
    places = 0
    while 10**places % den:
        places += 1
    digits = str(value.numerator * 10**places // den).rjust(places + 1, "0")
    if places == 0:
        return sign + digits
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def _precedence(expr: Expr) -> int:
    if isinstance(expr, BoolOp):
        return _OR if expr.op == "or" else _AND
    if isinstance(expr, Not):
        return _NOT
    if isinstance(expr, Compare):
        return _CMP
    if isinstance(expr, Binary):
        return _SUM if expr.op in ("+", "-") else _PRODUCT
    if isinstance(expr, Unary):
        return _UNARY
    return _ATOM


def _at(expr: Expr, minimum: int) -> str:
    text = to_source(expr)
    return f"({text})" if _precedence(expr) < minimum else text


def to_source(expr: Expr) -> str:
    """The canonical text of ``expr``."""
    if isinstance(expr, Literal):
        v = expr.value
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return quote(v)
        return format_number(v)
    if isinstance(expr, DateLiteral):
        return f'date("{expr.value.isoformat()}")'
    if isinstance(expr, Path):
        return expr.dotted
    if isinstance(expr, On):
        return "on"
    if isinstance(expr, Param):
        return f"param({quote(expr.name)})"
    if isinstance(expr, Catalogue):
        return f"catalogue({quote(expr.name)})"
    if isinstance(expr, ListExpr):
        return "[" + ", ".join(to_source(i) for i in expr.items) + "]"
    if isinstance(expr, BoolOp):
        # an operand that is itself a chain of the same operator keeps its parentheses
        level = _AND if expr.op == "or" else _NOT
        return f" {expr.op} ".join(_at(o, level) for o in expr.operands)
    if isinstance(expr, Not):
        return "not " + _at(expr.operand, _NOT)
    if isinstance(expr, Compare):
        return f"{_at(expr.left, _SUM)} {expr.op} {_at(expr.right, _SUM)}"
    if isinstance(expr, Binary):
        level = _precedence(expr)
        return f"{_at(expr.left, level)} {expr.op} {_at(expr.right, level + 1)}"
    if isinstance(expr, Unary):
        return "-" + _at(expr.operand, _UNARY)
    if isinstance(expr, Aggregate):
        parts = [expr.collection, expr.value, expr.filter]
        return f"{expr.func}(" + ", ".join(to_source(p) for p in parts if p is not None) + ")"
    if isinstance(expr, Call):
        return f"{expr.func}(" + ", ".join(to_source(a) for a in expr.args) + ")"
    raise TypeError(f"not an expression node: {expr!r}")
