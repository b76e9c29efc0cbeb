"""Type-check an expression against the domain schema when a policy loads.

``check(expr, schema, entity, ...)`` returns the expression's :class:`Type` or raises
:class:`ExpressionTypeError` pointing at the offending sub-expression, saying what was found and
what was expected, with "did you mean" suggestions for misspelt names.
:func:`referenced_fields` lists the ``(entity_kind, field)`` pairs an expression reads, for the
dependency graph of derived variables.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from typing import NoReturn

from fupin_rules.errors import ExpressionTypeError
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
    children,
    not_a_node,
)
from fupin_rules.expr.printer import to_source
from fupin_rules.expr.schema import EntitySchema, Schema
from fupin_rules.expr.types import (
    ANY,
    BOOL,
    DATE,
    NUMBER,
    STRING,
    CollectionType,
    EntityType,
    EnumType,
    ListType,
    Type,
    comparable,
)

__all__ = ["check", "referenced_fields"]


def check(
    expr: Expr,
    schema: Schema,
    entity: str,
    *,
    params: Mapping[str, Type],
    catalogues: Collection[str],
    origin: str | None = None,
    text: str = "",
    expected: Type | None = None,
) -> Type:
    """The type of ``expr`` evaluated on an ``entity`` (a kind in ``schema``).

    ``params`` maps parameter names to their types, ``catalogues`` holds the catalogue names;
    ``origin`` and ``text`` (the source the spans refer to) make the error show ``file:line``
    and a caret. With ``expected`` (e.g. ``BOOL`` for a condition) a different result type is
    an error too. Raises :class:`ExpressionTypeError`.
    """
    checker = _Checker(schema, params, catalogues, origin, text)
    found = checker.type_of(expr, schema.entity(entity))
    if expected is not None and not comparable(found, expected):
        what = "a condition" if expected == BOOL else "this expression"
        hint = ""
        if expected == BOOL and found == NUMBER:
            hint = "; compare the number with something, e.g. `x > 0`"
        checker.fail(f"{what} must be {expected}, found {found}{hint}", expr)
    return found


def referenced_fields(expr: Expr, schema: Schema, entity: str) -> frozenset[tuple[str, str]]:
    """The ``(entity_kind, field)`` pairs ``expr`` reads when evaluated on ``entity``.

    Follows parent links (``household.village.x`` -> ``("village", "x")``) and aggregates'
    child scopes (``count(members, age > 16)`` -> ``("person", "age")``). Paths that do not
    resolve are skipped: :func:`check` reports them.
    """
    found: set[tuple[str, str]] = set()
    stack: list[tuple[Expr, str]] = [(expr, entity)]
    while stack:
        node, kind = stack.pop()
        if isinstance(node, Path):
            resolved = _resolve(schema, kind, node.names)
            if resolved is not None and resolved[1] == "field":
                found.add((resolved[0], node.names[-1]))
            continue
        if isinstance(node, Aggregate):
            resolved = _resolve(schema, kind, node.collection.names)
            if resolved is not None and resolved[1] == "collection":
                owner = schema.entities[resolved[0]]
                child = owner.collections[node.collection.names[-1]]
                stack.extend((part, child) for part in (node.value, node.filter) if part)
            continue
        stack.extend((c, kind) for c in children(node))
    return frozenset(found)


def _resolve(schema: Schema, kind: str, names: tuple[str, ...]) -> tuple[str, str] | None:
    """(owner kind, "field"|"parent"|"collection") of the last step, or None if it fails."""
    for i, name in enumerate(names):
        ent = schema.entities.get(kind)
        if ent is None:
            return None
        last = i == len(names) - 1
        if name in ent.fields:
            return (kind, "field") if last else None
        if name in ent.parents:
            if last:
                return (kind, "parent")
            kind = ent.parents[name]
            continue
        if name in ent.collections:
            return (kind, "collection") if last else None
        return None
    return None  # pragma: no cover - names is never empty


class _Checker:
    def __init__(
        self,
        schema: Schema,
        params: Mapping[str, Type],
        catalogues: Collection[str],
        origin: str | None,
        text: str,
    ) -> None:
        self.schema = schema
        self.params = params
        self.catalogues = catalogues
        self.origin = origin
        self.text = text

    def fail(self, message: str, node: Expr, offset: int = 0) -> NoReturn:
        span = node.span
        raise ExpressionTypeError(
            message,
            text=self.text,
            origin=self.origin,
            line=span.line if span else None,
            column=span.column + offset if span else None,
        )

    def want(self, node: Expr, ent: EntitySchema, expected: Type, role: str) -> Type:
        found = self.type_of(node, ent)
        if not comparable(found, expected) or found == ANY:
            self.fail(f"{role} must be {expected}, found {found}: `{to_source(node)}`", node)
        return found

    def type_of(self, node: Expr, ent: EntitySchema) -> Type:
        n = as_node(node)
        match n:
            case Literal():
                v = n.value
                return BOOL if isinstance(v, bool) else STRING if isinstance(v, str) else NUMBER
            case DateLiteral() | On():
                return DATE
            case Param():
                if n.name not in self.params:
                    self.fail(_unknown("parameter", n.name, self.params), n)
                return self.params[n.name]
            case Catalogue():
                if n.name not in self.catalogues:
                    self.fail(_unknown("catalogue", n.name, self.catalogues), n)
                return ListType(STRING)
            case Path():
                return self.path(n, ent)
            case ListExpr():
                return self.list_(n, ent)
            case Unary():
                self.want(n.operand, ent, NUMBER, "the operand of unary minus")
                return NUMBER
            case Binary():
                return self.binary(n, ent)
            case Compare():
                return self.compare(n, ent)
            case BoolOp():
                for operand in n.operands:
                    self.want(operand, ent, BOOL, f"each operand of `{n.op}`")
                return BOOL
            case Not():
                self.want(n.operand, ent, BOOL, "the operand of `not`")
                return BOOL
            case Aggregate():
                return self.aggregate(n, ent)
            case Call():
                return self.call(n, ent)
            case _:
                not_a_node(n)

    def path(self, node: Path, ent: EntitySchema, *, collection_ok: bool = False) -> Type:
        dotted = node.dotted
        exact = node.span is not None and self.text[node.span.start : node.span.end] == dotted
        offset = 0
        for i, name in enumerate(node.names):
            last = i == len(node.names) - 1
            where = offset if exact else 0
            if name in ent.fields:
                if not last:
                    self.fail(
                        f"{ent.label(name)} is a field of {ent.kind} "
                        f"({ent.fields[name]}), not a link; only links can be followed with '.'",
                        node,
                        where,
                    )
                return ent.fields[name]
            if name in ent.parents:
                target = ent.parents[name]
                if last:
                    self.fail(
                        f"{dotted} is a link to a {target}, not a value; name one of its "
                        f"fields, e.g. {dotted}.{_example(self.schema.entity(target))}",
                        node,
                    )
                ent = self.schema.entity(target)
            elif name in ent.collections:
                child = ent.collections[name]
                if last and collection_ok:
                    return CollectionType(child)
                self.fail(
                    f"{dotted} is a collection of {child} records, not a value; use it as the "
                    f"first argument of an aggregate, e.g. count({dotted})",
                    node,
                )
            else:
                close = difflib.get_close_matches(name, ent.names(), n=3)
                hint = (
                    "; did you mean " + " or ".join(ent.label(c) for c in close) + "?"
                    if close
                    else f"; {ent.kind} has: {', '.join(sorted(ent.names()))}"
                )
                self.fail(
                    f"{ent.kind} has no field, link or collection {name!r}{hint}", node, where
                )
            offset += len(name) + 1
        return EntityType(ent.kind)  # pragma: no cover - the loop returns or fails

    def list_(self, node: ListExpr, ent: EntitySchema) -> Type:
        elem: Type = ANY
        for item in node.items:
            t = self.type_of(item, ent)
            if isinstance(t, ListType):
                self.fail(f"list elements cannot be lists, found {t}", item)
            if not comparable(elem, t):
                self.fail(
                    f"list elements must all have one type: this one is {t}, earlier ones "
                    f"are {elem}",
                    item,
                )
            if elem == ANY or (elem == STRING and isinstance(t, EnumType)):
                elem = t
        return ListType(elem)

    def binary(self, node: Binary, ent: EntitySchema) -> Type:
        left = self.type_of(node.left, ent)
        right = self.type_of(node.right, ent)
        if left == NUMBER and right == NUMBER:
            return NUMBER
        if node.op == "+" and {left, right} == {DATE, NUMBER}:
            return DATE
        if node.op == "-" and left == DATE and right in (DATE, NUMBER):
            return NUMBER if right == DATE else DATE
        bad = node.left if left != NUMBER else node.right
        self.fail(
            f"`{node.op}` needs numbers (or date + number, date - date, date - number); "
            f"found {left} {node.op} {right}",
            bad,
        )

    def compare(self, node: Compare, ent: EntitySchema) -> Type:
        left = self.type_of(node.left, ent)
        right = self.type_of(node.right, ent)
        op = node.op
        if op in ("in", "not in"):
            if not isinstance(right, ListType):
                self.fail(
                    f'the right side of `{op}` must be a list, e.g. ["a", "b"] or '
                    f'catalogue("name"); found {right}',
                    node.right,
                )
            if isinstance(left, ListType) or not comparable(left, right.elem):
                self.fail(f"`{op}` compares {left} with a {right}", node)
            if isinstance(left, EnumType) and isinstance(node.right, ListExpr):
                for item in node.right.items:
                    self.enum_member(left, item)
            return BOOL
        if not comparable(left, right) or ANY in (left, right):
            self.fail(f"cannot compare {left} with {right}: `{to_source(node)}`", node)
        if op not in ("==", "!=") and left not in (NUMBER, DATE):
            self.fail(f"`{op}` orders numbers or dates only; found {left} {op} {right}", node)
        if isinstance(left, EnumType):
            self.enum_member(left, node.right)
        if isinstance(right, EnumType):
            self.enum_member(right, node.left)
        return BOOL

    def enum_member(self, enum: EnumType, node: Expr) -> None:
        if isinstance(node, Literal) and isinstance(node.value, str):
            if node.value not in enum.members:
                self.fail(_unknown(f"code of {enum.name}", node.value, enum.members), node)

    def aggregate(self, node: Aggregate, ent: EntitySchema) -> Type:
        coll = self.path(node.collection, ent, collection_ok=True)
        if not isinstance(coll, CollectionType):
            self.fail(
                f"the first argument of {node.func}() must be a collection; "
                f"{node.collection.dotted} is a {coll} value",
                node.collection,
            )
        child = self.schema.entity(coll.kind)
        if node.filter is not None:
            self.want(node.filter, child, BOOL, f"the filter of {node.func}()")
        if node.func == "count":
            return NUMBER
        assert node.value is not None
        if node.func == "sum":
            self.want(node.value, child, NUMBER, "the value summed by sum()")
            return NUMBER
        if node.func in ("min", "max"):
            t = self.type_of(node.value, child)
            if t not in (NUMBER, DATE):
                self.fail(f"{node.func}() needs a number or date value, found {t}", node.value)
            return t
        self.want(node.value, child, BOOL, f"the condition of {node.func}()")
        return NUMBER if node.func == "share" else BOOL

    def call(self, node: Call, ent: EntitySchema) -> Type:
        if node.func == "known":
            (arg,) = node.args
            if not isinstance(arg, Path):
                self.fail("known() takes a field path, e.g. known(annual_income_yuan)", arg)
            self.path(arg, ent)
            return BOOL
        if node.func == "coalesce":
            first, second = node.args
            a = self.type_of(first, ent)
            b = self.type_of(second, ent)
            if not comparable(a, b):
                self.fail(f"coalesce() needs two values of one type; found {a} and {b}", second)
            if isinstance(a, EnumType):
                self.enum_member(a, second)
            return a
        if node.func == "year":
            self.want(node.args[0], ent, DATE, "the argument of year()")
            return NUMBER
        if node.func == "done_by":
            record, deadline = node.args
            if not isinstance(record, Path):
                self.fail(
                    "the first argument of done_by() is the date field that records the duty "
                    'as done, e.g. done_by(moved_in_on, param("relocation.move_in_deadline"))',
                    record,
                )
            self.want(record, ent, DATE, "the record of done_by() (a date field)")
            self.want(deadline, ent, DATE, "the deadline of done_by()")
            return BOOL
        if node.func in ("subset", "overlaps"):
            first, second = node.args
            a = self.type_of(first, ent)
            b = self.type_of(second, ent)
            if not isinstance(a, ListType):
                self.fail(f"{node.func}() needs two lists; the first is {a}", first)
            if not isinstance(b, ListType):
                self.fail(f"{node.func}() needs two lists; the second is {b}", second)
            if not comparable(a.elem, b.elem):
                self.fail(
                    f"{node.func}() needs lists of one element type; found {a} and {b}", second
                )
            return BOOL
        self.want(node.args[0], ent, NUMBER, f"the argument of {node.func}()")
        return NUMBER


def _example(ent: EntitySchema) -> str:
    return next(iter(ent.fields), "<field>")


def _unknown(what: str, name: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=3)
    if close:
        return f"unknown {what} {name!r}; did you mean " + " or ".join(map(repr, close)) + "?"
    if not known:
        return f"unknown {what} {name!r}; none are defined"
    shown = ", ".join(repr(k) for k in sorted(known)[:10])
    more = ", ..." if len(known) > 10 else ""
    return f"unknown {what} {name!r}; known: {shown}{more}"
