"""Compile expression IR into polars column values, one entity kind's frame at a time.

The same IR the reference interpreter runs (:mod:`fupin_rules.expr.interpreter`) is turned into
typed column values (:mod:`fupin_rules.batch.values`) over the frame of the subject's kind:

* a field is a column; a derived variable is compiled once and materialised as columns of its
  kind's frame (its memo, like ``Context.derived``);
* a parent path (``household.village.x``) gathers the parent's columns through the ``UInt32``
  parent-index columns (no joins, no per-subject loops);
* an aggregate compiles its value and filter in the child kind's frame, reduces them with one
  ``group_by(owner index).agg(...)`` and scatters the result back to the owner frame (owners
  without children get the empty-collection result: 0, ``all = true``, ...);
* a collection whose table was not supplied makes the aggregate unknown (null).

The same walk records the read sites the explanations need (:mod:`fupin_rules.batch.sites`):
given a :class:`~fupin_rules.batch.sites.Recorder`, each path, parameter, aggregate and
``done_by()`` it passes is appended with its value and reach; derived variables and aggregates'
child scopes are always recorded, when they are compiled. Aggregates are planned and reduced
in :mod:`fupin_rules.batch.compile_aggregate`.
"""

from __future__ import annotations

from typing import assert_never

import polars as pl

from fupin_rules.batch.compile_aggregate import RULE_ERRORS, AggregateCompiler
from fupin_rules.batch.compile_ops import (
    _YEAR_BOUND,
    ItemList,
    _coalesce,
    _compare,
    _date_arith,
    _lists,
    _member,
    constant,
    known_expr,
    typed_null,
)
from fupin_rules.batch.compile_reduce import _AggregatePlan
from fupin_rules.batch.sites import ExprSites, Recorder, Site, not_false, not_true
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
    num_abs,
    num_arith,
    num_neg,
)
from fupin_rules.errors import BatchOverflowError, BatchUnsupportedError
from fupin_rules.expr import BOOL, DATE, NUMBER, ListType
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
    done_by_lowered,
)
from fupin_rules.expr.printer import to_source
from fupin_rules.expr.values import UNKNOWN

__all__ = ["RULE_ERRORS", "BatchOverflowError", "BatchUnsupportedError", "Compiler", "ItemList"]


class Compiler(AggregateCompiler):
    """Compiles expressions for one policy, one as-of date and one set of tables.

    Every compiling method takes an optional :class:`~fupin_rules.batch.sites.Recorder`: the
    walk that compiles an expression also appends its read sites there, in the interpreter's
    order, with their reach (the explanation plan, :mod:`fupin_rules.batch.sites`).
    """

    # --- compile ---------------------------------------------------------------------------
    def compile(self, node: Expr, kind: str, record: Recorder | None = None) -> Value | ItemList:
        """The column value of ``node`` evaluated for every subject of ``kind``."""
        n = as_node(node)
        match n:
            case Literal():
                return self._c_Literal(n, kind)
            case DateLiteral():
                return self._c_DateLiteral(n, kind)
            case On():
                return self._c_On(n, kind)
            case Param():
                return self._c_Param(n, kind, record)
            case Catalogue():
                return self._c_Catalogue(n, kind)
            case ListExpr():
                return self._c_ListExpr(n, kind, record)
            case Path():
                return self._c_Path(n, kind, record)
            case Unary():
                return self._c_Unary(n, kind, record)
            case Binary():
                return self._c_Binary(n, kind, record)
            case Compare():
                return self._c_Compare(n, kind, record)
            case BoolOp():
                return self._c_BoolOp(n, kind, record)
            case Not():
                return self._c_Not(n, kind, record)
            case Call():
                return self._c_Call(n, kind, record)
            case Aggregate():
                return self._c_Aggregate(n, kind, record)
            case _:
                assert_never(n)

    def value(self, node: Expr, kind: str, record: Recorder | None = None) -> Value:
        """Like :meth:`compile`, refusing computed lists (not values on their own)."""
        v = self.compile(node, kind, record)
        if isinstance(v, ItemList):
            raise BatchUnsupportedError("a list with computed items is only allowed after 'in'")
        return v

    def boolean(self, node: Expr, kind: str, record: Recorder | None = None) -> pl.Expr:
        """A condition's Boolean expression (null = unknown)."""
        v = self.value(node, kind, record)
        if not isinstance(v, BoolV):
            raise BatchUnsupportedError(f"not a condition: {node!r}")
        return v.e

    def field(self, kind: str, name: str) -> Value:
        """A field or derived variable of a kind, over that kind's frame."""
        var = self.variables.get((kind, name))
        if var is not None:
            found = self._var_values.get((kind, name))
            if found is None:
                rec = Recorder()
                found = self.materialize(kind, self.value(var.expr, kind, rec))
                self._variable_sites[(kind, name)] = rec.done(kind, var.expr)
                self._var_values[(kind, name)] = found
            return found
        t = self.schema.entities[kind].fields[name]
        col = pl.col(name)
        if t == NUMBER:
            bound = self.number_bound(kind, name)
            return NumV(Rat(col, self.tables.dens[(kind, name)], bound))
        if t == BOOL:
            return BoolV(col)
        if t == DATE:
            return DateV(col)
        if isinstance(t, ListType):
            return ListV(col)
        return StrV(col)

    def variable_sites(self, kind: str, name: str) -> ExprSites:
        """The read sites of a derived variable's expression at ``kind`` (compiles it if new)."""
        found = self._variable_sites.get((kind, name))
        if found is None:
            self.field(kind, name)
            found = self._variable_sites[(kind, name)]
        return found

    def _c_Literal(self, node: Literal, kind: str) -> Value:
        return constant(node.value)

    def _c_DateLiteral(self, node: DateLiteral, kind: str) -> Value:
        return DateV(const_expr(node.value))

    def _c_On(self, node: On, kind: str) -> Value:
        return DateV(const_expr(self.on))

    def _c_Param(self, node: Param, kind: str, record: Recorder | None) -> Value:
        if record is not None:
            record.add(Site("param", node.name, record.reach))
        value = self.param_value(node.name)
        if value is UNKNOWN:
            return typed_null(self.policy.parameters[node.name].type)
        return constant(value)

    def _c_Catalogue(self, node: Catalogue, kind: str) -> Value:
        return ConstList(self.policy.catalogues[node.name].codes)

    def _c_ListExpr(self, node: ListExpr, kind: str, record: Recorder | None) -> Value | ItemList:
        if all(isinstance(i, Literal) for i in node.items):
            return ConstList(tuple(i.value for i in node.items if isinstance(i, Literal)))
        return ItemList(tuple(self.value(i, kind, record) for i in node.items))

    def _c_Path(self, node: Path, kind: str, record: Recorder | None) -> Value:
        key = (kind, node)
        found = self._cache.get(key)
        if found is None:
            names = node.names
            if len(names) == 1:
                found = self.field(kind, names[0])
            else:
                target, index = self.chain(kind, names[:-1])
                found = self.transport(self.field(target, names[-1]), target, kind, index)
            self._cache[key] = found
        if record is not None:
            record.add(Site("field", node.dotted, record.reach, found, node.names[-1], node))
        return found

    def _c_Unary(self, node: Unary, kind: str, record: Recorder | None) -> Value:
        v = self.value(node.operand, kind, record)
        if not isinstance(v, NumV):
            raise BatchUnsupportedError("unary minus on a non-number")
        return num_neg(v)

    def _c_Binary(self, node: Binary, kind: str, record: Recorder | None) -> Value:
        a = self.value(node.left, kind, record)
        b = self.value(node.right, kind, record)
        if isinstance(a, NumV) and isinstance(b, NumV):
            return num_arith(node.op, a, b)
        return _date_arith(node.op, a, b)

    def _c_Compare(self, node: Compare, kind: str, record: Recorder | None) -> Value:
        a = self.value(node.left, kind, record)
        b = self.compile(node.right, kind, record)
        if node.op in ("in", "not in"):
            found = _member(a, b)
            return BoolV(~found if node.op == "not in" else found)
        if isinstance(b, ItemList):
            raise BatchUnsupportedError("comparison with a computed list")
        return BoolV(_compare(node.op, a, b))

    def _c_BoolOp(self, node: BoolOp, kind: str, record: Recorder | None) -> Value:
        # an operand is read only where the ones before it did not decide (and: none false;
        # or: none true), as the interpreter short-circuits
        parts: list[pl.Expr] = []
        at = record
        for o in node.operands:
            b = self.boolean(o, kind, at)
            parts.append(b)
            if at is not None:
                at = at.under(not_false(b) if node.op == "and" else not_true(b))
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if node.op == "and" else (out | p)
        return BoolV(out)

    def _c_Not(self, node: Not, kind: str, record: Recorder | None) -> Value:
        return BoolV(~self.boolean(node.operand, kind, record))

    def _c_Call(self, node: Call, kind: str, record: Recorder | None) -> Value:
        if node.func == "done_by":
            if record is not None:
                record_path, deadline = node.args
                assert isinstance(record_path, Path)
                done = self.value(record_path, kind, record)
                due = self.value(deadline, kind, record)
                key = to_source(node)
                last = record_path.names[-1]
                record.add(Site("deadline", key, record.reach, done, last, node, due))
            return BoolV(self.boolean(done_by_lowered(node), kind))
        if node.func == "known":
            return BoolV(known_expr(self.compile(node.args[0], kind, record)))
        if node.func == "coalesce":
            first = self.value(node.args[0], kind, record)
            # the second is read only where the first is unknown
            at = None if record is None else record.under(_unknown(first))
            return _coalesce(first, self.value(node.args[1], kind, at))
        if node.func in ("subset", "overlaps"):
            a = self.value(node.args[0], kind, record)
            return BoolV(_lists(node.func, a, self.value(node.args[1], kind, record)))
        v = self.value(node.args[0], kind, record)
        if node.func == "year":
            if not isinstance(v, DateV):
                raise BatchUnsupportedError("year() of a non-date")
            return NumV(Rat(v.e.dt.year().cast(I128), 1, _YEAR_BOUND))
        if not isinstance(v, NumV):
            raise BatchUnsupportedError("abs() of a non-number")
        return num_abs(v)

    # --- aggregates --------------------------------------------------------------------------
    def _c_Aggregate(self, node: Aggregate, kind: str, record: Recorder | None = None) -> Value:
        key = (kind, node)
        found = self._cache.get(key)
        links = node.collection.names[:-1]
        local = node
        target = kind
        if links:
            target, index = self.chain(kind, links)
            local = Aggregate(node.func, Path(node.collection.names[-1:]), node.value, node.filter)
        if found is None:
            if links:
                found = self.transport(self._c_Aggregate(local, target), target, kind, index)
            else:
                found = self.materialize(kind, self._aggregate(node, kind))
            self._cache[key] = found
        if record is not None:
            # the parameters its children read (expanded by the explainer), then its value
            children = self.aggregate_sites(target, local)
            record.add(Site("params", "", record.reach, node=node, aggregate=children))
            record.add(Site("agg", to_source(node), record.reach, found, "", node, None, children))
        return found

    def _aggregate(self, node: Aggregate, owner: str) -> Value:
        plan = self._aggregate_plan(node, owner)
        if not isinstance(plan, _AggregatePlan):
            return plan
        self.reduce(owner, plan.child, plan.index, plan.comps, plan.aggs)
        return plan.build()


def _unknown(v: Value) -> pl.Expr:
    """Where a value is unknown."""
    if isinstance(v, NumV):
        return v.lo.num.is_null()
    if isinstance(v, ConstList):
        return pl.lit(False)
    return v.e.is_null()
