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
from fupin_rules.expr.values import UNKNOWN

__all__ = ["RULE_ERRORS", "BatchOverflowError", "BatchUnsupportedError", "Compiler", "ItemList"]


class Compiler(AggregateCompiler):
    """Compiles expressions for one policy, one as-of date and one set of tables."""

    # --- compile ---------------------------------------------------------------------------
    def compile(self, node: Expr, kind: str) -> Value | ItemList:
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
                return self._c_Param(n, kind)
            case Catalogue():
                return self._c_Catalogue(n, kind)
            case ListExpr():
                return self._c_ListExpr(n, kind)
            case Path():
                return self._c_Path(n, kind)
            case Unary():
                return self._c_Unary(n, kind)
            case Binary():
                return self._c_Binary(n, kind)
            case Compare():
                return self._c_Compare(n, kind)
            case BoolOp():
                return self._c_BoolOp(n, kind)
            case Not():
                return self._c_Not(n, kind)
            case Call():
                return self._c_Call(n, kind)
            case Aggregate():
                return self._c_Aggregate(n, kind)
            case _:
                assert_never(n)

    def value(self, node: Expr, kind: str) -> Value:
        """Like :meth:`compile`, refusing computed lists (not values on their own)."""
        v = self.compile(node, kind)
        if isinstance(v, ItemList):
            raise BatchUnsupportedError("a list with computed items is only allowed after 'in'")
        return v

    def boolean(self, node: Expr, kind: str) -> pl.Expr:
        """A condition's Boolean expression (null = unknown)."""
        v = self.value(node, kind)
        if not isinstance(v, BoolV):
            raise BatchUnsupportedError(f"not a condition: {node!r}")
        return v.e

    def field(self, kind: str, name: str) -> Value:
        """A field or derived variable of a kind, over that kind's frame."""
        var = self.variables.get((kind, name))
        if var is not None:
            found = self._var_values.get((kind, name))
            if found is None:
                found = self.materialize(kind, self.value(var.expr, kind))
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

    def _c_Literal(self, node: Literal, kind: str) -> Value:
        return constant(node.value)

    def _c_DateLiteral(self, node: DateLiteral, kind: str) -> Value:
        return DateV(const_expr(node.value))

    def _c_On(self, node: On, kind: str) -> Value:
        return DateV(const_expr(self.on))

    def _c_Param(self, node: Param, kind: str) -> Value:
        value = self.param_value(node.name)
        if value is UNKNOWN:
            return typed_null(self.policy.parameters[node.name].type)
        return constant(value)

    def _c_Catalogue(self, node: Catalogue, kind: str) -> Value:
        return ConstList(self.policy.catalogues[node.name].codes)

    def _c_ListExpr(self, node: ListExpr, kind: str) -> Value | ItemList:
        if all(isinstance(i, Literal) for i in node.items):
            return ConstList(tuple(i.value for i in node.items if isinstance(i, Literal)))
        return ItemList(tuple(self.value(i, kind) for i in node.items))

    def _c_Path(self, node: Path, kind: str) -> Value:
        key = (kind, node)
        found = self._cache.get(key)
        if found is not None:
            return found
        names = node.names
        if len(names) == 1:
            result = self.field(kind, names[0])
        else:
            target, index = self.chain(kind, names[:-1])
            result = self.transport(self.field(target, names[-1]), target, kind, index)
        self._cache[key] = result
        return result

    def _c_Unary(self, node: Unary, kind: str) -> Value:
        v = self.value(node.operand, kind)
        if not isinstance(v, NumV):
            raise BatchUnsupportedError("unary minus on a non-number")
        return num_neg(v)

    def _c_Binary(self, node: Binary, kind: str) -> Value:
        a = self.value(node.left, kind)
        b = self.value(node.right, kind)
        if isinstance(a, NumV) and isinstance(b, NumV):
            return num_arith(node.op, a, b)
        return _date_arith(node.op, a, b)

    def _c_Compare(self, node: Compare, kind: str) -> Value:
        a = self.value(node.left, kind)
        b = self.compile(node.right, kind)
        if node.op in ("in", "not in"):
            found = _member(a, b)
            return BoolV(~found if node.op == "not in" else found)
        if isinstance(b, ItemList):
            raise BatchUnsupportedError("comparison with a computed list")
        return BoolV(_compare(node.op, a, b))

    def _c_BoolOp(self, node: BoolOp, kind: str) -> Value:
        parts = [self.boolean(o, kind) for o in node.operands]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if node.op == "and" else (out | p)
        return BoolV(out)

    def _c_Not(self, node: Not, kind: str) -> Value:
        return BoolV(~self.boolean(node.operand, kind))

    def _c_Call(self, node: Call, kind: str) -> Value:
        if node.func == "done_by":
            return BoolV(self.boolean(done_by_lowered(node), kind))
        if node.func == "known":
            return BoolV(known_expr(self.compile(node.args[0], kind)))
        if node.func == "coalesce":
            return _coalesce(self.value(node.args[0], kind), self.value(node.args[1], kind))
        if node.func in ("subset", "overlaps"):
            return BoolV(
                _lists(node.func, self.value(node.args[0], kind), self.value(node.args[1], kind))
            )
        v = self.value(node.args[0], kind)
        if node.func == "year":
            if not isinstance(v, DateV):
                raise BatchUnsupportedError("year() of a non-date")
            return NumV(Rat(v.e.dt.year().cast(I128), 1, _YEAR_BOUND))
        if not isinstance(v, NumV):
            raise BatchUnsupportedError("abs() of a non-number")
        return num_abs(v)

    # --- aggregates --------------------------------------------------------------------------
    def _c_Aggregate(self, node: Aggregate, kind: str) -> Value:
        key = (kind, node)
        found = self._cache.get(key)
        if found is not None:
            return found
        links = node.collection.names[:-1]
        if links:
            target, index = self.chain(kind, links)
            local = Aggregate(node.func, Path(node.collection.names[-1:]), node.value, node.filter)
            result = self.transport(self._c_Aggregate(local, target), target, kind, index)
        else:
            result = self.materialize(kind, self._aggregate(node, kind))
        self._cache[key] = result
        return result

    def _aggregate(self, node: Aggregate, owner: str) -> Value:
        plan = self._aggregate_plan(node, owner)
        if not isinstance(plan, _AggregatePlan):
            return plan
        self.reduce(owner, plan.child, plan.index, plan.comps, plan.aggs)
        return plan.build()
