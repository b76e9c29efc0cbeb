"""Drill-down: the child records that made a condition over children fail (issue 12, principle 4).

A failing condition that reads an aggregate (``count``, ``share``, ``all``, ``any``) at the
subject's scope, directly or through the subject's own derived variables, names the children
behind the failure: their ids and names, at most :data:`MAX_CHILDREN_NAMED` per aggregate,
with the total count.

Which children are named is decided statically, once per condition, from where the aggregate
sits in the condition (:func:`drill_plan`). The condition fails, so it wanted the aggregate
either larger/true (``share(...) == 1``, ``all(...)``, ``count(...) >= 73``: direction *more*)
or smaller/false (``count(...) == 0``, ``x / count(...) < 0.02``: direction *fewer*):

==========================  ==========  =====================================  ===========
aggregate                   direction   named children (the *test*)            role
==========================  ==========  =====================================  ===========
``all/any(coll, c)``        more        ``not c``                              ``failing``
``all/any(coll, c)``        fewer       ``c``                                  ``failing``
``share(coll, c, f)``       more        ``f and not c``                        ``failing``
``share(coll, c, f)``       fewer       ``f and c``                            ``failing``
``count(coll, f)``          either      ``f`` (the children counted)           ``counted``
==========================  ==========  =====================================  ===========

A county finding names its children of every stratum: which listed villages have not exited,
which relocations have not moved in by the deadline, which villages or persons a target counts.
The partitioned (Dask) runner, which never holds the villages together, has each partition send
its first records (in input order) and its total per aggregate along with the totals it already
sends; the reduce keeps the first :data:`MAX_CHILDREN_NAMED` in input order and adds the totals,
so every runner names the same records.
``count`` without a filter, ``sum``, ``min`` and ``max`` name nobody (no child is more to
blame than another), and nor does an aggregate whose direction cannot be read (e.g. inside
``abs()`` or ``in``). A child is named only when its test is *true*; a child whose test is
unknown is not named (it is behind an unknown, not behind the failure).

The plan is IR, so every engine evaluates the same tests: the reference and inference engines
with the interpreter, the batch engine as columns.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping

import attrs

from fupin_rules.domain.entities import ENTITIES
from fupin_rules.expr.ir import (
    Aggregate,
    Binary,
    BoolOp,
    Call,
    Compare,
    Expr,
    Literal,
    Not,
    Path,
    Unary,
)
from fupin_rules.expr.printer import to_source
from fupin_rules.expr.values import UNKNOWN
from fupin_rules.policy.model import Condition, Policy, Variable

__all__ = [
    "MAX_CHILDREN_NAMED",
    "DrillSpec",
    "display_field",
    "display_text",
    "drill_plan",
    "drill_specs",
]

#: at most this many child records are named per aggregate (the total is always given)
MAX_CHILDREN_NAMED = 20

_MORE, _FEWER = 1, -1
_MAX_DEPTH = 4
#: kind -> the field shown next to a child's id (the declaration's ``display``)
_DISPLAY: dict[str, str | None] = ENTITIES.displays


@attrs.frozen
class DrillSpec:
    """One aggregate to drill into: its collection at the subject, the child kind, the test a
    named child passes (an expression in the child's scope) and the role of the named."""

    source: str
    collection: str
    child_kind: str
    test: Expr
    role: str


def display_field(policy: Policy, kind: str) -> str | None:
    """The field shown next to a child's id (``name`` for persons and villages, ...): the
    declaration's :attr:`~fupin_rules.domain.entities.EntityKind.display`."""
    ent = policy.schema.entities.get(kind)
    if ent is None:
        return None
    show = _DISPLAY.get(kind)
    return show if show is not None and show in ent.fields else None


def display_text(value: object) -> str:
    """A child's display value as text ("" when unknown)."""
    if value is None or value is UNKNOWN:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


_specs: dict[int, tuple[Condition, str, Policy, tuple[DrillSpec, ...]]] = {}


def drill_specs(policy: Policy, kind: str, cond: Condition) -> tuple[DrillSpec, ...]:
    """:func:`drill_plan` of a rule's condition, cached per condition object."""
    entry = _specs.get(id(cond))
    if entry is None or entry[0] is not cond or entry[1] != kind or entry[2] is not policy:
        if len(_specs) > 4096:
            _specs.clear()
        entry = (cond, kind, policy, drill_plan(policy, kind, cond.expr))
        _specs[id(cond)] = entry
    return entry[3]


def drill_plan(policy: Policy, kind: str, expr: Expr) -> tuple[DrillSpec, ...]:
    """The aggregates of a condition to drill into when it fails (see the module table)."""
    variables = {(v.entity, v.name): v for v in policy.variables}
    found: dict[tuple[str, Expr], DrillSpec] = {}
    for node, direction in _directed(expr, _MORE, kind, variables, 0):
        spec = _spec(policy, kind, node, direction)
        if spec is not None:
            found.setdefault((spec.collection, spec.test), spec)
    return tuple(found.values())


def _spec(policy: Policy, kind: str, node: Aggregate, direction: int) -> DrillSpec | None:
    if len(node.collection.names) != 1:
        return None
    collection = node.collection.names[0]
    ent = policy.schema.entities[kind]
    child = ent.collections.get(collection)
    if child is None:
        return None
    func = node.func
    test: Expr
    role = "failing"
    if func == "count":
        if node.filter is None:
            return None
        test, role = node.filter, "counted"
    elif func in ("all", "any"):
        assert node.value is not None
        test = Not(node.value) if direction == _MORE else node.value
    elif func == "share":
        assert node.value is not None
        cond = Not(node.value) if direction == _MORE else node.value
        test = cond if node.filter is None else BoolOp("and", (node.filter, cond))
    else:
        return None
    return DrillSpec(to_source(node), collection, child, test, role)


def _is_zero(e: Expr) -> bool:
    return isinstance(e, Literal) and not isinstance(e.value, bool | str) and e.value == 0


def _directed(
    node: Expr, direction: int, kind: str, variables: Mapping[tuple[str, str], Variable], depth: int
) -> Iterator[tuple[Aggregate, int]]:
    """Aggregates at the subject's scope with the direction the condition wants them to go."""
    if isinstance(node, Aggregate):
        yield node, direction
        return
    if isinstance(node, Path):
        var = variables.get((kind, node.names[0])) if len(node.names) == 1 else None
        if var is not None and depth < _MAX_DEPTH:
            yield from _directed(var.expr, direction, kind, variables, depth + 1)
        return
    if isinstance(node, BoolOp):
        for o in node.operands:
            yield from _directed(o, direction, kind, variables, depth)
        return
    if isinstance(node, Not):
        yield from _directed(node.operand, -direction, kind, variables, depth)
        return
    if isinstance(node, Unary):
        yield from _directed(node.operand, -direction, kind, variables, depth)
        return
    if isinstance(node, Binary):
        yield from _directed(node.left, direction, kind, variables, depth)
        right = -direction if node.op in ("-", "/") else direction
        yield from _directed(node.right, right, kind, variables, depth)
        return
    if isinstance(node, Compare):
        op = node.op
        if op in ("in", "not in"):
            return
        if op in (">", ">="):
            left, right = direction, -direction
        elif op in ("<", "<="):
            left, right = -direction, direction
        elif op == "==":
            left = _FEWER * direction if _is_zero(node.right) else direction
            right = _FEWER * direction if _is_zero(node.left) else direction
        else:  # != : "not zero" wants more; anything else has no direction
            if _is_zero(node.right):
                yield from _directed(node.left, direction, kind, variables, depth)
            elif _is_zero(node.left):
                yield from _directed(node.right, direction, kind, variables, depth)
            return
        yield from _directed(node.left, left, kind, variables, depth)
        yield from _directed(node.right, right, kind, variables, depth)
        return
    if isinstance(node, Call) and node.func == "coalesce":
        yield from _directed(node.args[0], direction, kind, variables, depth)
