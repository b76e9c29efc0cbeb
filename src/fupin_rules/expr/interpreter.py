"""The per-case interpreter: ``evaluate(expr, subject, env, trace=None) -> value``.

Expressions are compiled once into nested Python closures (:func:`compile_expr`), cached per
IR node, so an evaluation does no dispatch on node types. Semantics follow the contract:
Kleene logic, ``UNKNOWN`` propagation, interval aggregates, division by zero -> ``UNKNOWN``.
Expressions are assumed to have passed :func:`fupin_rules.expr.check`.
"""

from __future__ import annotations

import operator
from fractions import Fraction
from typing import Any

from fupin_rules.expr.deadline import deadline_value
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
from fupin_rules.expr.operations import _ORDER, _arith_slow, _compare_intervals, _member
from fupin_rules.expr.printer import to_source
from fupin_rules.expr.reducers import _REDUCERS, Compiled
from fupin_rules.expr.runtime import Environment, Subject
from fupin_rules.expr.trace import (
    AggregateRead,
    ChildTrace,
    DeadlineRead,
    FieldRead,
    ParamRead,
    Trace,
    Undefined,
)
from fupin_rules.expr.values import UNKNOWN, Interval, Truth, interval_abs, to_value

__all__ = ["Compiled", "compile_expr", "evaluate"]

_CACHE: dict[int, tuple[Expr, Compiled]] = {}
_CACHE_LIMIT = 8192


def evaluate(expr: Expr, subject: Subject, env: Environment, trace: Trace | None = None) -> Any:
    """The value of ``expr`` for ``subject`` on ``env.on``; reads are recorded in ``trace``.

    Returns a ``Fraction``, ``str``, ``bool``, ``date``, ``tuple``, :class:`Interval` or
    ``UNKNOWN``. Raises ``TypeError`` for input values of an unusable type (e.g. ``float``).
    """
    entry = _CACHE.get(id(expr))
    if entry is None or entry[0] is not expr:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        entry = (expr, compile_expr(expr))
        _CACHE[id(expr)] = entry  # holding expr keeps its id from being reused
    return entry[1](subject, env, trace)


def compile_expr(expr: Expr) -> Compiled:
    """Compile ``expr`` into a closure ``fn(subject, env, trace)`` (see :func:`evaluate`)."""
    node = as_node(expr)
    match node:
        case Literal() | DateLiteral():
            return _literal(node)
        case On():
            return _on(node)
        case Param():
            return _param(node)
        case Catalogue():
            return _catalogue(node)
        case Path():
            return _path(node)
        case ListExpr():
            return _list(node)
        case Binary():
            return _binary(node)
        case Unary():
            return _unary(node)
        case Compare():
            return _compare(node)
        case BoolOp():
            return _bool_op(node)
        case Not():
            return _not(node)
        case Call():
            return _call(node)
        case Aggregate():
            return _aggregate(node)
        case _:
            not_a_node(node)


# --- leaves -----------------------------------------------------------------------------------


def _literal(node: Literal | DateLiteral) -> Compiled:
    value = node.value

    def run(s: Subject, e: Environment, t: Trace | None) -> Any:
        return value

    return run


def _on(node: On) -> Compiled:
    def run(s: Subject, e: Environment, t: Trace | None) -> Any:
        return e.on

    return run


def _param(node: Param) -> Compiled:
    name = node.name

    def run(s: Subject, e: Environment, t: Trace | None) -> Any:
        resolved = e.param(name)
        if resolved is None:
            if t is not None:
                t.record(ParamRead(name, UNKNOWN, None, None))
            return UNKNOWN
        value = to_value(resolved.value)
        if t is not None:
            t.record(ParamRead(name, value, resolved.start, resolved.end))
        return value

    return run


def _catalogue(node: Catalogue) -> Compiled:
    name = node.name

    def run(s: Subject, e: Environment, t: Trace | None) -> Any:
        return tuple(e.catalogue(name))

    return run


def _walk_parents(s: Subject | None, links: tuple[str, ...]) -> Subject | None:
    for link in links:
        if s is None:
            return None
        s = s.parent(link)
    return s


def _path(node: Path) -> Compiled:
    names = node.names
    field = names[-1]
    links = names[:-1]
    if not links:

        def run_local(s: Subject, e: Environment, t: Trace | None) -> Any:
            value = to_value(s.value(field))
            if t is not None:
                t.record(FieldRead(s.kind, s.key, names, value))
            return value

        return run_local

    def run(s: Subject, e: Environment, t: Trace | None) -> Any:
        owner = _walk_parents(s, links)
        value = UNKNOWN if owner is None else to_value(owner.value(field))
        if t is not None:
            t.record(FieldRead(s.kind, s.key, names, value))
        return value

    return run


def _list(node: ListExpr) -> Compiled:
    if all(isinstance(i, Literal) for i in node.items):
        constant = tuple(i.value for i in node.items if isinstance(i, Literal))
        return lambda s, e, t: constant
    parts = tuple(compile_expr(i) for i in node.items)

    def run(s: Subject, e: Environment, t: Trace | None) -> Any:
        return tuple(p(s, e, t) for p in parts)

    return run


# --- arithmetic -------------------------------------------------------------------------------


def _binary(node: Binary) -> Compiled:
    left = compile_expr(node.left)
    right = compile_expr(node.right)
    op = node.op
    if op == "/":
        source = to_source(node)

        def divide(s: Subject, e: Environment, t: Trace | None) -> Any:
            a = left(s, e, t)
            b = right(s, e, t)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            if type(a) is Fraction and type(b) is Fraction and b:
                return a / b
            result = _arith_slow(op, a, b)
            if result is UNKNOWN and t is not None:
                reason = "division by zero" if b == 0 else "division by a range containing zero"
                t.record(Undefined(source, reason))
            return result

        return divide

    fast = {"+": operator.add, "-": operator.sub, "*": operator.mul}[op]

    def run(s: Subject, e: Environment, t: Trace | None) -> Any:
        a = left(s, e, t)
        b = right(s, e, t)
        if a is UNKNOWN or b is UNKNOWN:
            return UNKNOWN
        if type(a) is Fraction and type(b) is Fraction:
            return fast(a, b)
        return _arith_slow(op, a, b)

    return run


def _unary(node: Unary) -> Compiled:
    operand = compile_expr(node.operand)

    def run(s: Subject, e: Environment, t: Trace | None) -> Any:
        a = operand(s, e, t)
        if a is UNKNOWN:
            return UNKNOWN
        if isinstance(a, Interval):
            return Interval(-a.hi, -a.lo, a.missing)
        return -a

    return run


# --- comparison and logic ---------------------------------------------------------------------


def _compare(node: Compare) -> Compiled:
    left = compile_expr(node.left)
    right = compile_expr(node.right)
    op = node.op
    if op in ("in", "not in"):
        negate = op == "not in"

        def member(s: Subject, e: Environment, t: Trace | None) -> Any:
            found = _member(left(s, e, t), right(s, e, t))
            if negate and found is not UNKNOWN:
                return not found
            return found

        return member

    fn = _ORDER[op]

    def run(s: Subject, e: Environment, t: Trace | None) -> Any:
        a = left(s, e, t)
        b = right(s, e, t)
        if a is UNKNOWN or b is UNKNOWN:
            return UNKNOWN
        if isinstance(a, Interval) or isinstance(b, Interval):
            return _compare_intervals(op, a, b)
        return bool(fn(a, b))

    return run


def _bool_op(node: BoolOp) -> Compiled:
    parts = tuple(compile_expr(o) for o in node.operands)
    if node.op == "and":

        def conj(s: Subject, e: Environment, t: Trace | None) -> Any:
            result: Truth = True
            for p in parts:
                v = p(s, e, t)
                if v is False:
                    return False
                if v is UNKNOWN:
                    result = UNKNOWN
            return result

        return conj

    def disj(s: Subject, e: Environment, t: Trace | None) -> Any:
        result: Truth = False
        for p in parts:
            v = p(s, e, t)
            if v is True:
                return True
            if v is UNKNOWN:
                result = UNKNOWN
        return result

    return disj


def _not(node: Not) -> Compiled:
    operand = compile_expr(node.operand)

    def run(s: Subject, e: Environment, t: Trace | None) -> Any:
        v = operand(s, e, t)
        return UNKNOWN if v is UNKNOWN else not v

    return run


# --- calls ------------------------------------------------------------------------------------


def _call(node: Call) -> Compiled:
    args = tuple(compile_expr(a) for a in node.args)
    func = node.func
    first = args[0]
    if func == "known":

        def known(s: Subject, e: Environment, t: Trace | None) -> Any:
            return first(s, e, t) is not UNKNOWN

        return known
    if func == "coalesce":
        second = args[1]

        def coalesce(s: Subject, e: Environment, t: Trace | None) -> Any:
            v = first(s, e, t)
            return second(s, e, t) if v is UNKNOWN else v

        return coalesce
    if func == "year":

        def year(s: Subject, e: Environment, t: Trace | None) -> Any:
            v = first(s, e, t)
            return UNKNOWN if v is UNKNOWN else Fraction(v.year)

        return year

    if func == "done_by":
        deadline = args[1]
        record_path = node.args[0]
        assert isinstance(record_path, Path)
        names = record_path.names
        source = to_source(node)

        def done_by(s: Subject, e: Environment, t: Trace | None) -> Any:
            r = first(s, e, t)
            d = deadline(s, e, t)
            if t is not None:
                t.record(DeadlineRead(s.kind, s.key, names, r, d, source))
            return deadline_value(r, d, e.on)

        return done_by

    if func in ("subset", "overlaps"):
        second = args[1]
        every = func == "subset"

        def lists(s: Subject, e: Environment, t: Trace | None) -> Any:
            a = first(s, e, t)
            b = second(s, e, t)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            members = set(b)
            hits = [x in members for x in a]
            return all(hits) if every else any(hits)

        return lists

    def absolute(s: Subject, e: Environment, t: Trace | None) -> Any:
        v = first(s, e, t)
        if v is UNKNOWN:
            return UNKNOWN
        return interval_abs(v) if isinstance(v, Interval) else abs(v)

    return absolute


# --- aggregates -------------------------------------------------------------------------------


def _aggregate(node: Aggregate) -> Compiled:
    links = node.collection.names[:-1]
    collection = node.collection.names[-1]
    value = compile_expr(node.value) if node.value is not None else None
    filt = compile_expr(node.filter) if node.filter is not None else None
    reduce = _REDUCERS[node.func](value, filt)
    source = to_source(node)

    def run(s: Subject, e: Environment, t: Trace | None) -> Any:
        owner = _walk_parents(s, links)
        # a live session (fupin_rules.engine.live) maintains aggregates incrementally
        hook = getattr(e, "aggregate_hook", None)
        if hook is not None and owner is not None and not links:
            got = hook(node, owner, value, filt, source, t)
            if got is not NotImplemented:
                return got
        kids = None if owner is None else owner.children(collection)
        if kids is None:
            if t is not None:
                t.record(AggregateRead(source, UNKNOWN, None, 0))
            return UNKNOWN
        if t is None:
            return reduce(kids, e, None)[0]
        result, missing = reduce(kids, e, ChildTrace(t))
        t.record(AggregateRead(source, result, len(kids), missing))
        return result

    return run
