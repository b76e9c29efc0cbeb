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
    as_node,
    not_a_node,
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
    node = as_node(expr)
    match node:
        case Literal():
            v = node.value
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, str):
                return quote(v)
            return format_number(v)
        case DateLiteral():
            return f'date("{node.value.isoformat()}")'
        case Path():
            return node.dotted
        case On():
            return "on"
        case Param():
            return f"param({quote(node.name)})"
        case Catalogue():
            return f"catalogue({quote(node.name)})"
        case ListExpr():
            return "[" + ", ".join(to_source(i) for i in node.items) + "]"
        case BoolOp():
            # an operand that is itself a chain of the same operator keeps its parentheses
            level = _AND if node.op == "or" else _NOT
            return f" {node.op} ".join(_at(o, level) for o in node.operands)
        case Not():
            return "not " + _at(node.operand, _NOT)
        case Compare():
            return f"{_at(node.left, _SUM)} {node.op} {_at(node.right, _SUM)}"
        case Binary():
            level = _precedence(node)
            return f"{_at(node.left, level)} {node.op} {_at(node.right, level + 1)}"
        case Unary():
            return "-" + _at(node.operand, _UNARY)
        case Aggregate():
            parts = [node.collection, node.value, node.filter]
            return f"{node.func}(" + ", ".join(to_source(p) for p in parts if p is not None) + ")"
        case Call():
            return f"{node.func}(" + ", ".join(to_source(a) for a in node.args) + ")"
        case _:
            not_a_node(node)
