"""The immutable intermediate form (IR) of expressions: frozen, slotted, hashable attrs nodes.

Every node carries a ``span`` (its position in the expression text) that is excluded from
equality and hashing, so ``parse(to_source(e)) == e``. Nodes are built by :func:`parse`; build
them by hand only in tests and tools. Use :func:`walk` to visit a tree and :func:`free_paths`,
:func:`params_used` and :func:`catalogues_used` for dependency analysis (the schema-aware
:func:`fupin_rules.expr.referenced_fields` lives in ``checker.py``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from fractions import Fraction
from typing import Final, Never, NoReturn

import attrs

__all__ = [
    "AGGREGATES",
    "ARITHMETIC_OPS",
    "CALLS",
    "COMPARE_OPS",
    "KEYWORDS",
    "Aggregate",
    "Binary",
    "BoolOp",
    "Call",
    "Catalogue",
    "Compare",
    "DateLiteral",
    "Expr",
    "ListExpr",
    "Literal",
    "Node",
    "Not",
    "On",
    "Param",
    "Path",
    "Span",
    "Unary",
    "as_node",
    "catalogues_used",
    "children",
    "done_by_lowered",
    "free_paths",
    "not_a_node",
    "params_used",
    "walk",
]

KEYWORDS: Final = frozenset({"and", "or", "not", "in", "true", "false", "on"})
#: aggregate name -> (needs a value/condition argument, accepts a filter argument)
AGGREGATES: Final = {
    "count": (False, True),
    "sum": (True, True),
    "min": (True, True),
    "max": (True, True),
    "share": (True, True),
    "all": (True, False),
    "any": (True, False),
}
#: plain function name -> number of arguments
CALLS: Final = {
    "known": 1,
    "coalesce": 2,
    "year": 1,
    "abs": 1,
    "subset": 2,
    "overlaps": 2,
    "done_by": 2,
}
COMPARE_OPS: Final = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
ARITHMETIC_OPS: Final = ("+", "-", "*", "/")
NAME_RE: Final = re.compile(r"[a-z_][a-z0-9_]*\Z")


@attrs.frozen
class Span:
    """Where a node is in the expression text: 1-based line/column, and character offsets."""

    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int


@attrs.frozen
class Expr:
    """Base class of every IR node; ``span`` is ``None`` for nodes built by hand."""

    span: Span | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)


def _typed(value: object) -> tuple[str, object]:
    # Fraction(1) == True in Python; the type keeps number and bool literals apart.
    return (type(value).__name__, value)


def _check_literal(_inst: object, _attr: object, value: Fraction | str | bool) -> None:
    if isinstance(value, bool | str):
        return
    if not isinstance(value, Fraction):
        raise TypeError(f"Literal value must be Fraction, str or bool, not {type(value).__name__}")
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if value < 0 or den != 1:
        raise ValueError(
            f"Literal number {value} has no canonical text: literals are non-negative finite "
            "decimals; write -x as Unary('-', ...) and 1/3 as Binary('/', ...)"
        )


@attrs.frozen
class Literal(Expr):
    """A number (``Fraction``, non-negative finite decimal), string or boolean constant."""

    value: Fraction | str | bool = attrs.field(eq=_typed, validator=_check_literal)


@attrs.frozen
class DateLiteral(Expr):
    """``date("2017-09-01")``."""

    value: dt.date


@attrs.frozen
class ListExpr(Expr):
    """``[a, b, ...]``."""

    items: tuple[Expr, ...]


def _check_names(_inst: object, _attr: object, names: tuple[str, ...]) -> None:
    if not names:
        raise ValueError("a Path needs at least one name")
    for n in names:
        if not NAME_RE.match(n) or n in KEYWORDS:
            raise ValueError(f"{n!r} is not a valid name ([a-z_][a-z0-9_]*, not a keyword)")


@attrs.frozen
class Path(Expr):
    """``a.b.c``: parent links then a field (or a collection, as an aggregate's first argument)."""

    names: tuple[str, ...] = attrs.field(validator=_check_names)

    @property
    def dotted(self) -> str:
        """The path as written, e.g. ``household.village.name``."""
        return ".".join(self.names)


@attrs.frozen
class On(Expr):
    """``on``: the as-of date of the query."""


@attrs.frozen
class Param(Expr):
    """``param("name")``: a dated parameter resolved at ``on``."""

    name: str


@attrs.frozen
class Catalogue(Expr):
    """``catalogue("name")``: the catalogue's codes (a list of strings)."""

    name: str


@attrs.frozen
class Unary(Expr):
    """``-operand`` (``op`` is always ``"-"``)."""

    op: str
    operand: Expr


@attrs.frozen
class Binary(Expr):
    """Arithmetic: ``left op right`` with ``op`` one of ``+ - * /``."""

    op: str = attrs.field(validator=attrs.validators.in_(ARITHMETIC_OPS))
    left: Expr
    right: Expr


@attrs.frozen
class Compare(Expr):
    """``left op right`` with ``op`` one of ``== != < <= > >= in``, ``not in``."""

    op: str = attrs.field(validator=attrs.validators.in_(COMPARE_OPS))
    left: Expr
    right: Expr


def _check_operands(_inst: object, _attr: object, operands: tuple[Expr, ...]) -> None:
    if len(operands) < 2:
        raise ValueError("a BoolOp needs at least two operands")


@attrs.frozen
class BoolOp(Expr):
    """``a and b and ...`` / ``a or b or ...`` (a flat chain of two or more operands)."""

    op: str = attrs.field(validator=attrs.validators.in_(("and", "or")))
    operands: tuple[Expr, ...] = attrs.field(validator=_check_operands)


@attrs.frozen
class Not(Expr):
    """``not operand``."""

    operand: Expr


def _check_aggregate(inst: Aggregate, _attr: object, _value: Expr | None) -> None:
    shape = AGGREGATES.get(inst.func)
    if shape is None:
        raise ValueError(f"unknown aggregate {inst.func!r}")
    needs_value, takes_filter = shape
    if needs_value != (inst.value is not None):
        raise ValueError(f"{inst.func}() {'needs' if needs_value else 'takes no'} value argument")
    if not takes_filter and inst.filter is not None:
        raise ValueError(f"{inst.func}() takes no filter")


@attrs.frozen
class Aggregate(Expr):
    """``func(collection, value, filter)`` over the children of a collection.

    ``value`` is the summed/compared value (``sum``/``min``/``max``) or the condition
    (``share``/``all``/``any``); it is ``None`` for ``count``. ``filter`` is optional.
    ``value`` and ``filter`` are evaluated in the child's scope.
    """

    func: str
    collection: Path
    value: Expr | None = None
    filter: Expr | None = attrs.field(default=None, validator=_check_aggregate)


def _check_call(inst: Call, _attr: object, args: tuple[Expr, ...]) -> None:
    arity = CALLS.get(inst.func)
    if arity is None:
        raise ValueError(f"unknown function {inst.func!r}")
    if len(args) != arity:
        raise ValueError(f"{inst.func}() takes {arity} argument(s), got {len(args)}")


@attrs.frozen
class Call(Expr):
    """``known(x)``, ``coalesce(a, b)``, ``year(d)``, ``abs(x)``, ``subset(a, b)``, ``overlaps(a, b)``,
    ``done_by(record_date, deadline)`` (see :func:`done_by_lowered`)."""

    func: str
    args: tuple[Expr, ...] = attrs.field(validator=_check_call)


#: every concrete node class: a walker that ``match``-es on a :data:`Node` and ends with
#: ``assert_never`` is checked by mypy to handle them all (a test keeps the union complete)
Node = (
    Literal
    | DateLiteral
    | ListExpr
    | Path
    | On
    | Param
    | Catalogue
    | Unary
    | Binary
    | Compare
    | BoolOp
    | Not
    | Aggregate
    | Call
)


def as_node(expr: Expr) -> Node:
    """``expr`` typed as the union of the concrete node classes (for an exhaustive ``match``)."""
    return expr  # type: ignore[return-value]


def not_a_node(node: Never) -> NoReturn:
    """The last case of a ``match`` over a :data:`Node`: mypy refuses the call while a node
    class is unhandled; at run time an object that is no node gets a TypeError."""
    raise TypeError(f"not an expression node: {node!r}")


def done_by_lowered(node: Call) -> Expr:
    """``done_by(r, d)`` in the core language (the meaning every engine implements).

    ``r`` is the date a duty was recorded as done, ``d`` its deadline. A record dated after the
    as-of date does not exist yet as of that date. So::

        (known(r) and r <= on and r <= d) or (not (known(r) and r <= on) and on <= d)

    done in time -> true; recorded late -> false; nothing recorded and the deadline has passed
    (逾期未完成) -> false; nothing recorded and not yet due -> true; an unknown deadline ->
    unknown. ``known()`` is never unknown, so the Kleene operators give exactly these cases.
    """
    if node.func != "done_by":
        raise ValueError(f"not a done_by() call: {node.func}()")
    record, deadline = node.args
    span = node.span
    recorded = BoolOp(
        "and",
        (Call("known", (record,), span=span), Compare("<=", record, On(span=span), span=span)),
        span=span,
    )
    in_time = BoolOp(
        "and", (*recorded.operands, Compare("<=", record, deadline, span=span)), span=span
    )
    not_due = BoolOp(
        "and",
        (Not(recorded, span=span), Compare("<=", On(span=span), deadline, span=span)),
        span=span,
    )
    return BoolOp("or", (in_time, not_due), span=span)


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of ``expr``, in source order."""
    node: Node = expr  # type: ignore[assignment]  # (as_node without the call: a hot path)
    match node:
        case Literal() | DateLiteral() | Path() | On() | Param() | Catalogue():
            return ()
        case ListExpr():
            return node.items
        case Unary() | Not():
            return (node.operand,)
        case Binary() | Compare():
            return (node.left, node.right)
        case BoolOp():
            return node.operands
        case Call():
            return node.args
        case Aggregate():
            parts: list[Expr] = [node.collection]
            if node.value is not None:
                parts.append(node.value)
            if node.filter is not None:
                parts.append(node.filter)
            return tuple(parts)
        case _:
            not_a_node(node)


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of the tree, pre-order (a node before its children), in source order."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def free_paths(expr: Expr) -> frozenset[tuple[str, ...]]:
    """The paths read in the scope of the subject itself.

    Includes aggregates' collection paths; excludes paths inside an aggregate's value or filter
    (they start at the child). Use :func:`fupin_rules.expr.referenced_fields` to resolve paths,
    including those in child scopes, to ``(entity_kind, field)`` pairs.
    """
    found: set[tuple[str, ...]] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Path):
            found.add(node.names)
        elif isinstance(node, Aggregate):
            found.add(node.collection.names)
        else:
            stack.extend(children(node))
    return frozenset(found)


def params_used(expr: Expr) -> frozenset[str]:
    """The names of every ``param("...")`` in the tree (in any scope)."""
    return frozenset(n.name for n in walk(expr) if isinstance(n, Param))


def catalogues_used(expr: Expr) -> frozenset[str]:
    """The names of every ``catalogue("...")`` in the tree (in any scope)."""
    return frozenset(n.name for n in walk(expr) if isinstance(n, Catalogue))
