"""The frames, columns, parent links and parameters the batch compiler works on.

:class:`CompilerBase` holds the tables of one policy, as-of date and set of tables: it
stores values as columns of a kind's frame (bounding their exact integers), carries them
along parent-index columns, indexes collections by owner and resolves parameters;
:class:`fupin_rules.batch.compile_aggregate.AggregateCompiler` plans and reduces aggregates on
top of it and :class:`fupin_rules.batch.compiler.Compiler` compiles expressions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from fupin_rules.batch.compile_ops import ItemList
from fupin_rules.batch.compile_reduce import _Segments
from fupin_rules.batch.frames import TOO_LARGE, Tables, parent_column
from fupin_rules.batch.sites import AggregateSites, ExprSites
from fupin_rules.batch.values import (
    ConstList,
    ListV,
    NumV,
    Rat,
    Value,
)
from fupin_rules.domain.entities import ENTITIES
from fupin_rules.domain.schema import LINKS
from fupin_rules.errors import BatchOverflowError, BatchUnsupportedError
from fupin_rules.expr.ir import Aggregate, Expr
from fupin_rules.expr.values import to_value
from fupin_rules.policy.model import Policy, ResolvedParameter, Variable

#: above this a stored value's bound is replaced by its column's largest magnitude (one pass):
#: a bound from the operands (a sum: the largest child times the rows) can be far above the
#: values themselves, and a product of such bounds could reach Int128 without need
_TIGHTEN_ABOVE = 2**64


class CompilerBase:
    """Frames, columns, links and parameters of a :class:`~fupin_rules.batch.compiler.Compiler`."""

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
        #: (owner, local aggregate) -> what its children read (recorded when it is planned)
        self._aggregate_sites: dict[tuple[str, Aggregate], AggregateSites] = {}
        #: (kind, variable) -> the read sites of its expression (recorded when it is compiled)
        self._variable_sites: dict[tuple[str, str], ExprSites] = {}
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
