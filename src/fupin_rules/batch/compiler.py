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

import datetime as dt
from collections.abc import Callable, Container, Iterable
from fractions import Fraction
from typing import Any, assert_never

import attrs
import polars as pl

from fupin_rules.batch.frames import KEY, TOO_LARGE, Tables, parent_column
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
    check_bound,
    const_expr,
    kleene_any,
    num_abs,
    num_arith,
    num_compare,
    num_const,
    num_neg,
    num_null,
    rat_eq,
)
from fupin_rules.domain.entities import ENTITIES
from fupin_rules.domain.schema import LINKS
from fupin_rules.errors import BatchOverflowError, BatchUnsupportedError, FupinRulesError
from fupin_rules.expr import BOOL, DATE, NUMBER, ListType, Type
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
    done_by_lowered,
)
from fupin_rules.expr.values import UNKNOWN, to_value
from fupin_rules.policy.model import Policy, ResolvedParameter, Variable

__all__ = ["RULE_ERRORS", "BatchOverflowError", "BatchUnsupportedError", "Compiler", "ItemList"]

#: bounds of values the compiler makes itself: a year, a number of days between two dates
#: (polars dates are 32-bit day numbers)
_YEAR_BOUND = 10**6
_DAYS_BOUND = 2**33
#: above this a stored value's bound is replaced by its column's largest magnitude (one pass):
#: a bound from the operands (a sum: the largest child times the rows) can be far above the
#: values themselves, and a product of such bounds could reach Int128 without need
_TIGHTEN_ABOVE = 2**64


#: what compiling or evaluating a rule's expressions may raise; the batch engine turns each into
#: an error row of that rule and goes on (the reference and inference engines do the same per
#: unit)
RULE_ERRORS: tuple[type[Exception], ...] = (
    FupinRulesError,
    NotImplementedError,
    pl.exceptions.PolarsError,
    ArithmeticError,
    ValueError,
    KeyError,
    TypeError,
)


@attrs.frozen
class ItemList:
    """A list literal with non-constant items (only used on the right of ``in``)."""

    items: tuple[Value, ...]


def typed_null(t: Type) -> Value:
    """The unknown value of a type."""
    if t == NUMBER:
        return num_null()
    if t == BOOL:
        return BoolV(pl.lit(None, dtype=pl.Boolean))
    if t == DATE:
        return DateV(pl.lit(None, dtype=pl.Date))
    if isinstance(t, ListType):
        return ListV(pl.lit(None, dtype=pl.List(pl.String)))
    return StrV(pl.lit(None, dtype=pl.String))


def constant(value: object) -> Value:
    """The column value of a runtime constant (Fraction, bool, str, date, tuple)."""
    if isinstance(value, bool):
        return BoolV(const_expr(value))
    if isinstance(value, Fraction):
        return num_const(value)
    if isinstance(value, str):
        return StrV(const_expr(value))
    if isinstance(value, dt.date):
        return DateV(const_expr(value))
    if isinstance(value, tuple):
        return ConstList(value)
    raise BatchUnsupportedError(f"no column value for constant {value!r}")


def _guard(known: pl.Expr, result: pl.Expr) -> pl.Expr:
    return pl.when(known).then(result).otherwise(None)


def known_expr(v: Value | ItemList) -> pl.Expr:
    """True where the value is known (an interval counts as known, as ``known()``)."""
    if isinstance(v, NumV):
        return v.lo.num.is_not_null()
    if isinstance(v, ConstList | ItemList):
        return pl.lit(True)
    return v.e.is_not_null()


class Compiler:
    """Compiles expressions for one policy, one as-of date and one set of tables."""

    def __init__(self, policy: Policy, tables: Tables, on: dt.date) -> None:
        self.policy = policy
        self.tables = tables
        self.on = on
        self.schema = policy.schema
        self.variables: dict[tuple[str, str], Variable] = {
            (v.entity, v.name): v for v in policy.variables
        }
        self._var_values: dict[tuple[str, str], Value] = {}
        self._cache: dict[tuple[str, Expr], Value] = {}
        self._chains: dict[tuple[str, tuple[str, ...]], tuple[str, str]] = {}
        self._owners: dict[tuple[str, str], tuple[str, str]] = {}
        self._params: dict[str, ResolvedParameter] = {}
        #: aggregate parts that are 0 or 1 per child row (their sums are bounded by the rows)
        self._counts: set[str] = set()
        self._segs: dict[tuple[str, str], _Segments | None] = {}
        self._n = 0
        #: (kind, field) -> the largest magnitude of a number column's numerators
        self._bounds: dict[tuple[str, str], int] = {}
        #: caches of other modules (explanations) keyed by their own tuples
        self.extra: dict[tuple[Any, ...], Any] = {}

    # --- frames and columns ---------------------------------------------------------------
    def frame(self, kind: str) -> pl.DataFrame:
        """The current frame of a kind (fields, parent indices and computed columns)."""
        return self.tables.frames[kind]

    def new_name(self, prefix: str) -> str:
        """A fresh column name."""
        self._n += 1
        return f"_{prefix}{self._n}"

    _name = new_name

    def add_columns(self, kind: str, exprs: dict[str, pl.Expr | pl.Series]) -> None:
        """Evaluate expressions on a kind's frame and keep them as columns."""
        parts = [e.alias(n) for n, e in exprs.items()]
        self.tables.frames[kind] = self.tables.frames[kind].with_columns(parts)

    def materialize(self, kind: str, v: Value) -> Value:
        """Store a value's expressions as columns of the kind's frame; the value over them."""
        if isinstance(v, ConstList):
            if all(isinstance(i, str) for i in v.items):
                v = ListV(pl.lit(pl.Series([list(v.items)], dtype=pl.List(pl.String))).first())
            else:
                return v
        if isinstance(v, ItemList):
            raise BatchUnsupportedError("a list with computed items cannot be stored")
        base = self._name("v")
        if isinstance(v, NumV):
            cols: dict[str, pl.Expr | pl.Series] = {}

            def rat(r: Rat, tag: str) -> Rat:
                cols[f"{base}.{tag}n"] = r.num
                if isinstance(r.den, int):
                    return Rat(pl.col(f"{base}.{tag}n"), r.den, r.bound)
                cols[f"{base}.{tag}d"] = r.den
                return Rat(pl.col(f"{base}.{tag}n"), pl.col(f"{base}.{tag}d"), r.bound, r.dbound)

            lo = rat(v.lo, "lo")
            hi = None if v.hi is None else rat(v.hi, "hi")
            miss = None
            if v.hi is not None:
                cols[f"{base}.m"] = v.missing()
                miss = pl.col(f"{base}.m")
            self.add_columns(kind, cols)
            return NumV(self._tight(kind, lo), None if hi is None else self._tight(kind, hi), miss)
        self.add_columns(kind, {base: v.e})
        return type(v)(pl.col(base))

    def _tight(self, kind: str, r: Rat) -> Rat:
        """``r`` (stored as columns of ``kind``) with bounds no larger than its values'."""
        if r.bound <= _TIGHTEN_ABOVE and r.den_bound <= _TIGHTEN_ABOVE:
            return r
        frame = self.frame(kind)
        exprs = [r.num.abs().max().alias("n")]
        if not isinstance(r.den, int):
            exprs.append(r.den.abs().max().alias("d"))
        row = frame.select(exprs).row(0, named=True)
        bound = min(r.bound, int(row["n"] or 0))
        dbound = min(r.dbound, int(row.get("d") or 0)) if not isinstance(r.den, int) else 0
        return Rat(r.num, r.den, bound, dbound)

    def number_bound(self, kind: str, name: str) -> int:
        """The largest magnitude of a number field's numerators (0 for an empty column)."""
        key = (kind, name)
        found = self._bounds.get(key)
        if found is None:
            if self.tables.dens[key] == TOO_LARGE:
                raise BatchOverflowError(
                    f"{kind}.{name} holds a value beyond the batch engine's 128-bit integers "
                    "(数值超出批量引擎的精确范围); the reference engine (--engine reference) "
                    "reads it exactly"
                )
            column = self.frame(kind)[name]
            low, high = column.min(), column.max()
            found = max(abs(int(low or 0)), abs(int(high or 0)))  # type: ignore[arg-type]
            self._bounds[key] = found
        return found

    def columns_of(self, v: Value) -> list[str]:
        """The frame columns a materialised value refers to."""
        if isinstance(v, NumV):
            exprs = [v.lo.num]
            if not isinstance(v.lo.den, int):
                exprs.append(v.lo.den)
            if v.hi is not None:
                exprs.append(v.hi.num)
                if not isinstance(v.hi.den, int):
                    exprs.append(v.hi.den)
            if v.miss is not None:
                exprs.append(v.miss)
        elif isinstance(v, ConstList | ItemList):
            return []
        else:
            exprs = [v.e]
        return [e.meta.output_name() for e in exprs]

    def transport(self, v: Value, source: str, target: str, index: str) -> Value:
        """A value of ``source`` seen from ``target`` through the index column ``index``."""
        v = self.materialize(source, v)
        if isinstance(v, ConstList):
            return v
        src = self.frame(source)
        idx = self.frame(target)[index]
        mapping: dict[str, str] = {}
        series: dict[str, pl.Expr | pl.Series] = {}
        for col in self.columns_of(v):
            new = self._name("t")
            mapping[col] = new
            series[new] = src[col].gather(idx)
        self.add_columns(target, series)
        return _rename(v, mapping)

    # --- links and collections -------------------------------------------------------------
    def chain(self, kind: str, links: tuple[str, ...]) -> tuple[str, str]:
        """(kind reached, index column in ``kind``'s frame) for a path of parent links."""
        key = (kind, links)
        found = self._chains.get(key)
        if found is not None:
            return found
        parents = LINKS[kind][0]
        target = parents[links[0]]
        col = parent_column(links[0])
        for link in links[1:]:
            nxt = LINKS[target][0][link]
            new = self._name("c")
            idx = self.frame(kind)[col]
            self.add_columns(kind, {new: self.frame(target)[parent_column(link)].gather(idx)})
            target, col = nxt, new
        self._chains[key] = (target, col)
        return target, col

    def owner_index(self, owner: str, collection: str) -> tuple[str, str]:
        """(child kind, column of the child frame holding the owner's row index)."""
        key = (owner, collection)
        found = self._owners.get(key)
        if found is not None:
            return found
        coll = next(c for c in ENTITIES[owner].collections if c.name == collection)
        child = coll.kind
        name = self._name("o")
        cf = self.frame(child)
        expr: pl.Expr | pl.Series
        if not coll.via:  # a county collection: every record
            expr = pl.lit(0, dtype=pl.UInt32)
        elif len(coll.via) == 1:
            expr = pl.col(parent_column(coll.via[0]))
        else:  # a longer path (a village's residents: through their household)
            at = ENTITIES[child].parent(coll.via[0]).kind
            expr = cf[parent_column(coll.via[0])]
            for link in coll.via[1:]:
                expr = self.frame(at)[parent_column(link)].gather(expr)
                at = ENTITIES[at].parent(link).kind
        if coll.unlinked is not None:
            field = ENTITIES[child].parent(coll.unlinked).field
            expr = pl.when(pl.col(str(field)).is_null()).then(expr).otherwise(None)
        self.add_columns(child, {name: expr})
        self._owners[key] = (child, name)
        return child, name

    # --- parameters ------------------------------------------------------------------------
    def param(self, name: str) -> ResolvedParameter:
        """The parameter at the as-of date, exactly as ``Context.param`` resolves it."""
        found = self._params.get(name)
        if found is None:
            found = self.policy.parameters[name].resolve(self.on)
            self._params[name] = found
        return found

    def param_value(self, name: str) -> object:
        """The parameter's runtime value (``UNKNOWN`` before its first start)."""
        return to_value(self.param(name).value)

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

    def prefetch(
        self, roots: Iterable[tuple[str, Expr]], owners: Container[str] | None = None
    ) -> int:
        """Compute the aggregates reachable from ``roots`` with one reduction per collection.

        ``roots``: (entity kind, expression) pairs, e.g. every rule's expressions in its
        kind. The local aggregates they reach (through derived variables and parent paths) are
        grouped by owner kind and collection; each group's parts are reduced together (one
        pass over the child rows, one set of segment sums, one ``group_by``) instead of one
        reduction per aggregate (the 14 ``count(documents, ...)`` of the archive rules were 14
        passes). Owners are done in stratum order (household, village, county), so nested
        aggregates are ready before the groups that read them. The values are the ones
        :meth:`_c_Aggregate` computes (they are put in its cache). It is an optimisation
        only: a group that fails (one of :data:`RULE_ERRORS`, e.g. an unsupported expression)
        is left to the normal path, which reports it for the rules that use it. ``owners``:
        only the aggregates of these owner kinds (all if None). Returns the number of
        aggregates computed.
        """
        from fupin_rules.engine.plan import OWNER, STRATA

        try:
            groups = self._aggregate_groups(roots)
        except RULE_ERRORS:
            return 0
        done = 0
        order = sorted(groups, key=lambda k: (STRATA.index(OWNER[k[0]]), k))
        for owner, collection in order:
            if owners is not None and owner not in owners:
                continue
            nodes = [n for n in groups[(owner, collection)] if (owner, n) not in self._cache]
            if len(nodes) < 2:
                continue
            try:
                done += self._reduce_together(owner, nodes)
            except RULE_ERRORS:
                continue
        return done

    def _aggregate_groups(
        self, roots: Iterable[tuple[str, Expr]]
    ) -> dict[tuple[str, str], list[Aggregate]]:
        """The local aggregates reachable from ``roots``, by (owner kind, collection)."""
        groups: dict[tuple[str, str], list[Aggregate]] = {}
        seen: set[tuple[str, Expr]] = set()
        stack = list(roots)
        while stack:
            kind, expr = stack.pop()
            if (kind, expr) in seen:
                continue
            seen.add((kind, expr))
            if isinstance(expr, Aggregate):
                names = expr.collection.names
                owner = self._kind_of(kind, names[:-1])
                local = Aggregate(expr.func, Path(names[-1:]), expr.value, expr.filter)
                group = groups.setdefault((owner, names[-1]), [])
                if local not in group:
                    group.append(local)
                child = LINKS[owner][1][names[-1]]
                stack.extend((child, e) for e in (expr.value, expr.filter) if e is not None)
                continue
            if isinstance(expr, Path):
                target = self._kind_of(kind, expr.names[:-1])
                var = self.variables.get((target, expr.names[-1]))
                if var is not None:
                    stack.append((target, var.expr))
                continue
            stack.extend((kind, e) for e in children(expr))
        return groups

    def _reduce_together(self, owner: str, nodes: list[Aggregate]) -> int:
        """Plan the aggregates, reduce all their parts in one reduction, cache their values."""
        plans = [(n, self._aggregate_plan(n, owner)) for n in nodes]
        todo = [p for _, p in plans if isinstance(p, _AggregatePlan)]
        if todo:
            comps = {k: v for p in todo for k, v in p.comps.items()}
            aggs = {k: v for p in todo for k, v in p.aggs.items()}
            self.reduce(owner, todo[0].child, todo[0].index, comps, aggs)
        for n, p in plans:
            value = p.build() if isinstance(p, _AggregatePlan) else p
            self._cache[(owner, n)] = self.materialize(owner, value)
        return len(plans)

    def _kind_of(self, kind: str, links: tuple[str, ...]) -> str:
        for link in links:
            kind = LINKS[kind][0][link]
        return kind

    def _aggregate_plan(self, node: Aggregate, owner: str) -> Value | _AggregatePlan:
        """The parts of an aggregate to reduce by owner and how to build its value from them.

        A value instead when no reduction is needed (the collection's table was not supplied).
        """
        collection = node.collection.names[-1]
        child, index = self.owner_index(owner, collection)
        value = None if node.value is None else self.value(node.value, child)
        filt = None if node.filter is None else self.boolean(node.filter, child)
        func = node.func
        rows = self.frame(child).height
        if not self.tables.supplied[child]:
            if func in ("all", "any"):
                return typed_null(BOOL)
            if func in ("min", "max") and isinstance(value, DateV):
                return typed_null(DATE)
            return num_null()
        ftrue = pl.lit(True) if filt is None else filt.fill_null(False)
        fnull = pl.lit(False) if filt is None else filt.is_null()
        inc = pl.lit(True) if filt is None else filt.fill_null(True)
        comps: dict[str, pl.Expr] = {}
        aggs: dict[str, tuple[pl.Expr, object]] = {}  # name -> (aggregation, empty default)
        base = self._name("a")

        def part(
            tag: str, expr: pl.Expr, how: str, default: object, count: bool = False
        ) -> pl.Expr:
            name = f"{base}.{tag}"
            comps[name] = expr
            if count:  # 0 or 1 per row (a Boolean cast): its sums are bounded by the rows
                self._counts.add(name)
            col = pl.col(name)
            agg = {
                "sum": col.sum(),
                "any": col.any(),
                "min": col.min(),
                "max": col.max(),
                "count": col.count(),
            }[how]
            aggs[name] = (agg, default)
            return pl.col(name)

        if func == "count":
            if filt is None:
                n = part("n", pl.lit(1, dtype=I128), "sum", 0, True)
                build: Callable[[], Value] = lambda: NumV(Rat(n, 1, rows))  # noqa: E731
            else:
                sure = part("s", ftrue.cast(I128), "sum", 0, True)
                maybe = part("m", fnull.cast(I128), "sum", 0, True)

                def build() -> Value:
                    return NumV(
                        Rat(sure, 1, rows), Rat(sure + maybe, 1, rows), maybe.cast(pl.Int64)
                    )

        elif func == "sum":
            v = _static(value, "sum")
            unknown = v.lo.num.is_null()
            den = v.lo.den
            assert isinstance(den, int)
            # every partial sum of the children (the reduction's too) stays within this
            total = check_bound(max(v.lo.bound, v.upper.bound) * rows, "a sum")
            vlo, vhi = v.lo.num, v.upper.num
            zero = pl.lit(0, dtype=I128)
            lo_c = pl.when(ftrue).then(vlo).otherwise(pl.min_horizontal(vlo, zero))
            hi_c = pl.when(ftrue).then(vhi).otherwise(pl.max_horizontal(vhi, zero))
            counted = inc & ~unknown
            is_interval = (v.missing() > 0) if v.hi is not None else pl.lit(False)
            unb = part("u", inc & unknown, "any", False)
            lo = part("lo", pl.when(counted).then(lo_c).otherwise(zero), "sum", 0)
            hi = part("hi", pl.when(counted).then(hi_c).otherwise(zero), "sum", 0)
            miss = part(
                "m",
                (inc & (unknown | (ftrue & is_interval) | fnull)).cast(pl.Int64),
                "sum",
                0,
                True,
            )

            def build() -> Value:
                ok = ~unb
                return NumV(
                    Rat(_guard(ok, lo), den, total),
                    Rat(_guard(ok, hi), den, total),
                    miss.cast(pl.Int64),
                )

        elif func in ("min", "max"):
            how = func
            if isinstance(value, DateV):
                point = value.e
                unknown = point.is_null()
                unsure = unknown
                den = None
                extreme_bound = 0
            else:
                v = _static(value, func)
                den = v.lo.den
                extreme_bound = max(v.lo.bound, v.upper.bound)
                point = v.lo.num
                unknown = point.is_null()
                unsure = unknown | ((v.missing() > 0) if v.hi is not None else pl.lit(False))
            unb = part("u", inc & unsure, "any", False)
            n_sure = part("n", (ftrue & ~unsure).cast(pl.Int64), "sum", 0, True)
            best = part("b", pl.when(ftrue & ~unsure).then(point).otherwise(None), how, None)
            other = part("o", pl.when(fnull & ~unsure).then(point).otherwise(None), how, None)
            miss = part("m", (inc & (unsure | fnull)).cast(pl.Int64), "sum", 0, True)
            is_min = func == "min"

            def build() -> Value:
                ok = ~unb & (n_sure > 0)
                extreme = (
                    pl.min_horizontal(best, other) if is_min else pl.max_horizontal(best, other)
                )
                same = other.is_null() | (extreme == best)
                if den is None:
                    return DateV(pl.when(ok & same).then(best).otherwise(None))
                lo_e, hi_e = (extreme, best) if is_min else (best, extreme)
                lo_n = pl.when(ok).then(pl.when(same).then(best).otherwise(lo_e))
                hi_n = pl.when(ok).then(pl.when(same).then(best).otherwise(hi_e))
                return NumV(
                    Rat(lo_n, den, extreme_bound),
                    Rat(hi_n, den, extreme_bound),
                    miss.cast(pl.Int64),
                )

        elif func == "share":
            if not isinstance(value, BoolV):
                raise BatchUnsupportedError("share() of a non-condition")
            c = value.e
            vt = c.fill_null(False)
            vf = (~c).fill_null(False)
            vn = c.is_null()
            den_ = part("d", ftrue.cast(I128), "sum", 0, True)
            num = part("n", (ftrue & vt).cast(I128), "sum", 0, True)
            maybe = part("m", (ftrue & vn).cast(I128), "sum", 0, True)
            o_in = part("i", (fnull & vt).cast(I128), "sum", 0, True)
            o_out = part("x", (fnull & vf).cast(I128), "sum", 0, True)
            o_maybe = part("y", (fnull & vn).cast(I128), "sum", 0, True)

            def build() -> Value:
                ok = den_ > 0
                lo = Rat(_guard(ok, num), den_ + o_out + o_maybe, rows, rows)
                hi = Rat(
                    _guard(ok, num + maybe + o_in + o_maybe), den_ + o_in + o_maybe, rows, rows
                )
                miss = (maybe + o_in + o_out + o_maybe).cast(pl.Int64)
                return NumV(lo, hi, miss)

        elif func in ("all", "any"):
            if not isinstance(value, BoolV):
                raise BatchUnsupportedError(f"{func}() of a non-condition")
            c = value.e
            decisive = func == "any"
            hit = c.fill_null(not decisive) if decisive else (~c).fill_null(False)
            decided = part("h", hit, "any", False)
            miss = part("m", c.is_null().cast(pl.Int64), "sum", 0, True)

            def build() -> Value:
                return BoolV(
                    pl.when(decided)
                    .then(pl.lit(decisive))
                    .when(miss > 0)
                    .then(None)
                    .otherwise(pl.lit(not decisive))
                )

        else:  # pragma: no cover - the IR validates aggregate names
            raise BatchUnsupportedError(func)

        return _AggregatePlan(child, index, comps, aggs, build)

    def reduce(
        self,
        owner: str,
        child: str,
        index: str,
        comps: dict[str, pl.Expr],
        aggs: dict[str, tuple[pl.Expr, object]],
    ) -> None:
        """Reduce child rows by owner index; the results become owner columns.

        ``sum`` and ``any`` parts are segment sums over the child rows ordered by owner (one
        cumulative sum per part, differenced at the owners' segment bounds: no hashing and no
        join); ``min``/``max`` parts go through one ``group_by``. Owners without children get
        each part's default, as the ``group_by`` + left join did.
        """
        cf = self.frame(child)
        n_owner = self.frame(owner).height
        # the index column first, so that literal parts broadcast to the child rows
        rows = cf.select(pl.col(index).alias("_o"), *[e.alias(n) for n, e in comps.items()])
        seg_how: dict[str, str] = {}
        for name, (agg, default) in aggs.items():
            if name not in rows.columns:
                continue
            col = pl.col(name)
            if default == 0 and agg.meta.eq(col.sum()):
                seg_how[name] = "sum"
            elif default is False and agg.meta.eq(col.any()):
                seg_how[name] = "any"
        cols: dict[str, pl.Expr | pl.Series] = {}
        seg = self._segments(child, index, n_owner) if 0 < len(seg_how) <= _SEGMENT_PARTS else None
        if seg is not None and seg_how:
            done = _segment_reduce(rows, seg, seg_how, self._counts)
            if done is not None:
                cols.update({n: done[n] for n in done.columns})
        rest = {n: a for n, a in aggs.items() if n not in cols}
        if rest:
            grouped = (
                rows.lazy()
                .filter(pl.col("_o").is_not_null())
                .group_by("_o")
                .agg([a.alias(n) for n, (a, _) in rest.items()])
                .collect()
            )
            at = grouped["_o"]
            for name, (_, default) in rest.items():
                s = grouped[name]
                base = pl.repeat(default, n_owner, dtype=s.dtype, eager=True)
                cols[name] = base.scatter(at, s).alias(name)
        self.add_columns(owner, {n: cols[n] for n in aggs})

    def _segments(self, child: str, index: str, n_owner: int) -> _Segments | None:
        """Each owner's segment of the child rows when they are ordered by owner (cached).

        None when the child rows (those with an owner) are not in owner order: reordering the
        parts (a gather per part) costs more than a ``group_by``, measured.
        """
        key = (child, index)
        if key in self._segs:
            found = self._segs[key]
            return found if found is None or found.n_owner == n_owner else None
        idx = self.frame(child)[index]
        keep = None
        ordered = idx
        if idx.null_count():
            keep = idx.is_not_null()
            ordered = idx.filter(keep)
        if not ordered.is_sorted():
            self._segs[key] = None
            return None
        runs = ordered.rle().struct.unnest()
        counts = pl.zeros(n_owner, dtype=pl.Int64, eager=True).scatter(
            runs["value"], runs["len"].cast(pl.Int64)
        )
        ends = counts.cum_sum()
        starts = ends - counts
        # index of the last row of the segment (and of the row before it) in the cumulative
        # sums; null for an empty prefix (sum 0)
        bounds = pl.DataFrame({"e": ends, "s": starts}).select(
            pl.when(pl.col("e") > 0).then(pl.col("e") - 1).cast(pl.UInt32).alias("last"),
            pl.when(pl.col("s") > 0).then(pl.col("s") - 1).cast(pl.UInt32).alias("before"),
        )
        found = _Segments(keep, ordered.len(), n_owner, bounds["last"], bounds["before"])
        self._segs[key] = found
        return found


@attrs.frozen
class _AggregatePlan:
    """An aggregate's parts (``comps`` over the child frame, ``aggs`` by owner) and builder."""

    child: str
    index: str
    comps: dict[str, pl.Expr]
    aggs: dict[str, tuple[pl.Expr, object]]
    build: Callable[[], Value]


@attrs.frozen
class _Segments:
    """Owners' segments of child rows in owner order (``keep``: the rows with an owner)."""

    keep: pl.Series | None
    m: int
    n_owner: int
    last: pl.Series
    before: pl.Series


#: segment sums for a reduction of at most this many ``sum``/``any`` parts, one ``group_by`` for
#: more (measured on the 100k county with the aggregates of a collection reduced together: the
#: ``group_by`` of 28 document parts beats 28 cumulative sums; 1-2 parts are a tie or better)
_SEGMENT_PARTS = 2
_INT_BITS = {pl.Int64: 63, pl.Int128: 127}


def _segment_reduce(
    rows: pl.DataFrame, seg: _Segments, how: dict[str, str], counts: set[str]
) -> pl.DataFrame | None:
    """Per-owner sums (``sum``) or any-true (``any``) of ``rows`` columns by segment sums.

    None when a cumulative sum could overflow its type (then the caller groups instead):
    every partial sum is bounded by ``m * max|value|``, checked here against the type's range;
    ``counts`` are parts known to be 0 or 1 per row (Boolean casts), bounded by ``m``.
    """
    prep: list[pl.Expr] = []
    fix: list[pl.Expr] = []
    check: list[str] = []
    for name, h in how.items():
        dtype = rows.schema[name]
        col = pl.col(name)
        if h == "any" and dtype == pl.Boolean:
            prep.append(col.fill_null(False).cast(pl.Int64))
            fix.append(col > 0)
        elif h == "sum" and dtype in _INT_BITS:
            prep.append(col.fill_null(0))
            fix.append(col)
            if name not in counts:
                check.append(name)
        else:
            return None
    if seg.m >= 2**62:
        return None
    if check and seg.m:
        ext = rows.select(
            *[pl.col(n).min().alias(f"{n}.min") for n in check],
            *[pl.col(n).max().alias(f"{n}.max") for n in check],
        ).row(0, named=True)
        for name in check:
            low, high = ext[f"{name}.min"] or 0, ext[f"{name}.max"] or 0
            bits = _INT_BITS[rows.schema[name]]  # type: ignore[index]
            if max(abs(low), abs(high)) * seg.m >= 2**bits:
                return None
    # eager steps: one lazy chain was measured 3x slower (the cumulative sums are recomputed)
    part = rows.select(prep)
    if seg.keep is not None:
        part = part.filter(seg.keep)
    cum = part.select(pl.all().cum_sum())
    total = [
        (pl.col(n).gather(seg.last).fill_null(0) - pl.col(n).gather(seg.before).fill_null(0))
        for n in how
    ]
    return cum.select(total).select(fix)


def _rename(v: Value, mapping: dict[str, str]) -> Value:
    def col(e: pl.Expr) -> pl.Expr:
        return pl.col(mapping[e.meta.output_name()])

    if isinstance(v, NumV):

        def rat(r: Rat) -> Rat:
            return Rat(
                col(r.num), r.den if isinstance(r.den, int) else col(r.den), r.bound, r.dbound
            )

        return NumV(
            rat(v.lo),
            None if v.hi is None else rat(v.hi),
            None if v.miss is None else col(v.miss),
        )
    if isinstance(v, ConstList):
        return v
    return type(v)(col(v.e))


def _static(value: Value | None, func: str) -> NumV:
    """A number with one static denominator for both bounds (needed to reduce by group)."""
    if not isinstance(value, NumV):
        raise BatchUnsupportedError(f"{func}() of a non-number")
    lo, hi = value.lo, value.hi
    if not isinstance(lo.den, int) or (hi is not None and not isinstance(hi.den, int)):
        raise BatchUnsupportedError(
            f"{func}() over a computed ratio is not supported by the batch engine"
        )
    if hi is not None and hi.den != lo.den:
        assert isinstance(hi.den, int)
        import math

        den = math.lcm(lo.den, hi.den)
        lo = Rat(lo.num * (den // lo.den), den, lo.bound * (den // lo.den))
        hi = Rat(hi.num * (den // hi.den), den, hi.bound * (den // hi.den))
        return NumV(lo, hi, value.miss)
    return value


def _days(n: NumV) -> pl.Expr:
    """Whole days of a number (rounded down); null for an interval or unknown."""
    floor = n.lo.num // n.lo.den_expr()
    if n.hi is not None:
        floor = pl.when(rat_eq(n.lo, n.hi)).then(floor).otherwise(None)
    return floor.cast(pl.Int64)


def _date_arith(op: str, a: Value, b: Value) -> Value:
    if isinstance(a, DateV) and isinstance(b, DateV) and op == "-":
        return NumV(Rat((a.e - b.e).dt.total_days().cast(I128), 1, _DAYS_BOUND))
    if isinstance(a, DateV) and isinstance(b, NumV) and op in ("+", "-"):
        d = pl.duration(days=_days(b))
        return DateV(a.e + d if op == "+" else a.e - d)
    if isinstance(a, NumV) and isinstance(b, DateV) and op == "+":
        return DateV(b.e + pl.duration(days=_days(a)))
    raise BatchUnsupportedError(f"arithmetic {op!r} on {type(a).__name__}, {type(b).__name__}")


def _equal(a: Value, b: Value) -> pl.Expr:
    if isinstance(a, NumV) and isinstance(b, NumV):
        return num_compare("==", a, b)
    if isinstance(a, ListV | ConstList) or isinstance(b, ListV | ConstList):
        return _list_equal(a, b)
    if isinstance(a, NumV | ItemList) or isinstance(b, NumV | ItemList):
        raise BatchUnsupportedError("comparison of a number with a non-number")
    return a.e == b.e


def _list_equal(a: Value, b: Value) -> pl.Expr:
    if isinstance(a, ConstList) and isinstance(b, ConstList):
        return pl.lit(a.items == b.items)
    if isinstance(a, ConstList):
        a, b = b, a
    if isinstance(a, ListV) and isinstance(b, ConstList):
        if not all(isinstance(i, str) for i in b.items):
            return pl.when(a.e.is_null()).then(None).otherwise(pl.lit(False))
        parts = [a.e.list.len() == len(b.items)]
        parts += [a.e.list.get(i, null_on_oob=True) == s for i, s in enumerate(b.items)]
        same = parts[0]
        for p in parts[1:]:
            same = same & p.fill_null(False)
        return _guard(a.e.is_not_null(), same)
    if isinstance(a, ListV) and isinstance(b, ListV):
        return a.e == b.e
    raise BatchUnsupportedError("comparison of a list with a non-list")


def _compare(op: str, a: Value, b: Value) -> pl.Expr:
    if op == "==":
        return _equal(a, b)
    if op == "!=":
        return ~_equal(a, b)
    if isinstance(a, NumV) and isinstance(b, NumV):
        return num_compare(op, a, b)
    if isinstance(a, DateV | StrV) and isinstance(b, DateV | StrV):
        ea, eb = a.e, b.e
        return {"<": ea < eb, "<=": ea <= eb, ">": ea > eb, ">=": ea >= eb}[op]
    raise BatchUnsupportedError(f"ordering {op!r} of {type(a).__name__} and {type(b).__name__}")


def _member(a: Value, items: Value | ItemList) -> pl.Expr:
    """``a in items`` as the interpreter's ``_member`` (Kleene OR of equalities)."""
    known = known_expr(a)
    if isinstance(items, ListV):
        if isinstance(a, NumV | ConstList | ItemList | ListV):
            raise BatchUnsupportedError("'in' of a non-string in a list field")
        return _guard(known, items.e.list.contains(a.e))
    if isinstance(items, ConstList):
        if not items.items:
            return _guard(known, pl.lit(False))
        if isinstance(a, NumV):
            eqs = [_equal(a, constant(i)) for i in items.items]
            return _guard(known, kleene_any(eqs))
        if isinstance(a, StrV | DateV | BoolV):
            return _guard(known, a.e.is_in(list(items.items)))
        raise BatchUnsupportedError("'in' of a list")
    if isinstance(items, ItemList):
        eqs = [_equal(a, i) for i in items.items]
        return _guard(known, kleene_any(eqs) if eqs else pl.lit(False))
    raise BatchUnsupportedError("'in' needs a list on the right")


def _lists(func: str, a: Value, b: Value) -> pl.Expr:
    """``subset(a, b)`` / ``overlaps(a, b)`` of string lists (unknown if either is)."""
    every = func == "subset"
    if isinstance(a, ConstList) and isinstance(b, ConstList):
        members = set(b.items)
        hits = [x in members for x in a.items]
        return pl.lit(all(hits) if every else any(hits))
    if isinstance(a, ListV) and isinstance(b, ConstList):
        inside = a.e.list.eval(pl.element().is_in(list(b.items)))
        return inside.list.all() if every else inside.list.any()
    if isinstance(a, ConstList) and isinstance(b, ListV):
        parts = [b.e.list.contains(x) for x in a.items]
        if not parts:
            return _guard(b.e.is_not_null(), pl.lit(every))
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if every else (out | p)
        return out
    if isinstance(a, ListV) and isinstance(b, ListV):
        known = a.e.is_not_null() & b.e.is_not_null()
        if every:
            return _guard(known, a.e.list.set_difference(b.e).list.len() == 0)
        return _guard(known, a.e.list.set_intersection(b.e).list.len() > 0)
    raise BatchUnsupportedError(f"{func}() needs two lists")


def _full(v: NumV) -> tuple[Rat, Rat, pl.Expr]:
    return v.lo, v.upper, v.missing()


def _coalesce(a: Value, b: Value) -> Value:
    if isinstance(a, NumV) and isinstance(b, NumV):
        from fupin_rules.batch.values import rat_pick

        use_a = a.lo.num.is_not_null()
        alo, ahi, am = _full(a)
        blo, bhi, bm = _full(b)
        if a.hi is None and b.hi is None:
            return NumV(rat_pick(use_a, alo, blo))
        return NumV(
            rat_pick(use_a, alo, blo),
            rat_pick(use_a, ahi, bhi),
            pl.when(use_a).then(am).otherwise(bm),
        )
    if isinstance(a, ConstList):
        return a
    if isinstance(a, BoolV | StrV | DateV | ListV) and type(a) is type(b):
        return type(a)(pl.coalesce(a.e, b.e))
    raise BatchUnsupportedError("coalesce() of different kinds of values")


_ = KEY
