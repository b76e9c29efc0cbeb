"""Read sites: the leaves the reference interpreter would read, found statically per subject.

A site is a path, an aggregate, a parameter or a ``done_by()`` deadline at a subject's scope,
with its *reach*: whether the interpreter evaluates it for that subject (the short-circuits of
``and``/``or`` and ``coalesce``; for a parameter inside an aggregate, whether any child reads
it). The explainer (:mod:`fupin_rules.batch.explain`) and the missing-data finder
(:mod:`fupin_rules.batch.explain_missing`) both read them.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
import polars as pl

from fupin_rules.batch.compiler import Compiler, ItemList
from fupin_rules.batch.values import BoolV, ConstList, NumV, Value
from fupin_rules.expr.ir import Aggregate, BoolOp, Call, Expr, Param, Path, children
from fupin_rules.expr.printer import to_source

__all__ = ["Site", "not_false", "sites"]


@attrs.frozen
class Site:
    """A leaf the interpreter may read: ``field`` (a path), ``agg`` or ``param``."""

    tag: str
    key: str
    reach: pl.Expr
    value: Value | None = None
    last: str = ""
    node: Expr | None = None
    #: a ``deadline`` site (a ``done_by()``): the deadline's value (``value`` is the record's)
    deadline: Value | None = None


def not_false(b: pl.Expr) -> pl.Expr:
    """True where ``b`` is not false (true or unknown)."""
    return b.is_null() | b


def _not_true(b: pl.Expr) -> pl.Expr:
    return b.is_null() | ~b


def sites(c: Compiler, node: Expr, kind: str, reach: pl.Expr) -> list[Site]:
    """The read sites of ``node`` at ``kind``'s scope, in evaluation order."""
    out: list[Site] = []
    _sites(c, node, kind, reach, out)
    return out


def _sites(c: Compiler, node: Expr, kind: str, reach: pl.Expr, out: list[Site]) -> None:
    if isinstance(node, Path):
        out.append(Site("field", node.dotted, reach, c.value(node, kind), node.names[-1], node))
        return
    if isinstance(node, Param):
        out.append(Site("param", node.name, reach))
        return
    if isinstance(node, Aggregate):
        for name, r in _child_params(c, node, kind):
            out.append(Site("param", name, reach & r))
        out.append(Site("agg", to_source(node), reach, c.value(node, kind), "", node))
        return
    if isinstance(node, BoolOp):
        prefix = reach
        for operand in node.operands:
            _sites(c, operand, kind, prefix, out)
            b = c.boolean(operand, kind)
            prefix = prefix & (not_false(b) if node.op == "and" else _not_true(b))
        return
    if isinstance(node, Call) and node.func == "done_by":
        for child in node.args:
            _sites(c, child, kind, reach, out)
        record, deadline = node.args
        assert isinstance(record, Path)
        out.append(
            Site(
                "deadline",
                to_source(node),
                reach,
                c.value(record, kind),
                record.names[-1],
                node,
                c.value(deadline, kind),
            )
        )
        return
    if isinstance(node, Call) and node.func == "coalesce":
        _sites(c, node.args[0], kind, reach, out)
        first = c.compile(node.args[0], kind)
        unknown = (
            first.lo.num.is_null()
            if isinstance(first, NumV)
            else pl.lit(False)
            if isinstance(first, ConstList | ItemList)
            else first.e.is_null()
        )
        _sites(c, node.args[1], kind, reach & unknown, out)
        return
    for child in children(node):
        _sites(c, child, kind, reach, out)


def _child_params(c: Compiler, node: Aggregate, kind: str) -> list[tuple[str, pl.Expr]]:
    """Parameters read inside an aggregate's child scope, and whether any child reads them."""
    params = {n.name for part in (node.value, node.filter) if part is not None for n in _walk(part)}
    if not params:
        return []
    key = ("params", kind, node)
    cached = c.extra.get(key)
    if cached is not None:
        result: list[tuple[str, pl.Expr]] = cached
        return result
    links = node.collection.names[:-1]
    if links:
        target, index = c.chain(kind, links)
        local = Aggregate(node.func, Path(node.collection.names[-1:]), node.value, node.filter)
        inner = _child_params(c, local, target)
        result = []
        for name, r in inner:
            moved = c.transport(BoolV(r), target, kind, index)
            assert isinstance(moved, BoolV)
            result.append((name, moved.e.fill_null(False)))
        c.extra[key] = result
        return result
    owner = kind
    child, index = c.owner_index(owner, node.collection.names[-1])
    if not c.tables.supplied[child]:
        c.extra[key] = []
        return []
    found: list[Site] = []
    value_reach: pl.Expr = pl.lit(True)
    if node.filter is not None:
        _sites(c, node.filter, child, pl.lit(True), found)
        if node.func != "count":
            value_reach = not_false(c.boolean(node.filter, child))
    if node.value is not None:
        _sites(c, node.value, child, value_reach, found)
    by_name: dict[str, pl.Expr] = {}
    for s in found:
        if s.tag == "param":
            prev = by_name.get(s.key)
            by_name[s.key] = s.reach if prev is None else (prev | s.reach)
    base = c.new_name("r")
    comps = {f"{base}.{i}": e for i, e in enumerate(by_name.values())}
    aggs: dict[str, tuple[pl.Expr, object]] = {n: (pl.col(n).any(), False) for n in comps}
    c.reduce(owner, child, index, comps, aggs)
    result = [(name, pl.col(col)) for name, col in zip(by_name, comps, strict=True)]
    c.extra[key] = result
    return result


def _walk(node: Expr) -> Iterable[Param]:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Param):
            yield n
        stack.extend(children(n))
