"""Aggregates of the batch compiler: their parts, the reduction by owner, fused prefetching.

An aggregate compiles its value and filter in the child kind's frame (recording their read
sites, :class:`~fupin_rules.batch.sites.AggregateSites`), reduces its parts with one pass per
owner (segment sums or one ``group_by(owner index).agg(...)``) and scatters the results back
to the owner frame; :meth:`AggregateCompiler.prefetch` reduces the aggregates of one
collection together. :class:`~fupin_rules.batch.compiler.Compiler` adds the expression walker.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable

import polars as pl

from fupin_rules.batch.compile_frames import CompilerBase
from fupin_rules.batch.compile_ops import _guard, _static, typed_null
from fupin_rules.batch.compile_reduce import _AggregatePlan, _segment_reduce
from fupin_rules.batch.sites import AggregateSites, Recorder, Site
from fupin_rules.batch.values import (
    I128,
    BoolV,
    DateV,
    NumV,
    Rat,
    Value,
    check_bound,
    num_null,
)
from fupin_rules.domain.schema import LINKS
from fupin_rules.errors import BatchUnsupportedError, FupinRulesError
from fupin_rules.expr import BOOL, DATE
from fupin_rules.expr.ir import Aggregate, Expr, Path, children

__all__ = ["RULE_ERRORS", "AggregateCompiler"]


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


class AggregateCompiler(CompilerBase):
    """Plans, reduces and prefetches aggregates (the expression walker is the subclass's)."""

    def value(self, node: Expr, kind: str, record: Recorder | None = None) -> Value:
        """The column value of ``node`` at ``kind`` (see :class:`~fupin_rules.batch.compiler.Compiler`)."""
        raise NotImplementedError

    def boolean(self, node: Expr, kind: str, record: Recorder | None = None) -> pl.Expr:
        """A condition's Boolean expression (see :class:`~fupin_rules.batch.compiler.Compiler`)."""
        raise NotImplementedError

    def aggregate_sites(self, owner: str, node: Aggregate) -> AggregateSites:
        """The record of a local aggregate of ``owner`` (made when it was planned)."""
        found = self._aggregate_sites.get((owner, node))
        if found is None:
            self._aggregate_plan(node, owner)
            found = self._aggregate_sites[(owner, node)]
        return found

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
        value = filt = None
        value_sites = filter_sites = None
        if node.value is not None:
            rec = Recorder()
            value = self.value(node.value, child, rec)
            value_sites = rec.done(child, node.value)
        if node.filter is not None:
            rec = Recorder()
            filt = self.boolean(node.filter, child, rec)
            filter_sites = rec.done(child, node.filter)
        self._aggregate_sites[(owner, node)] = AggregateSites(
            owner,
            node,
            child,
            filt,
            filter_sites,
            value_sites,
            any(_has_params(s) for r in (filter_sites, value_sites) if r for s in r.sites),
        )
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


#: segment sums for a reduction of at most this many ``sum``/``any`` parts, one ``group_by`` for
#: more (measured on the 100k county with the aggregates of a collection reduced together: the
#: ``group_by`` of 28 document parts beats 28 cumulative sums; 1-2 parts are a tie or better)
_SEGMENT_PARTS = 2


def _has_params(site: Site) -> bool:
    """Whether a recorded site is a parameter or an aggregate whose child scope reads one."""
    if site.tag == "param":
        return True
    return site.tag == "params" and site.aggregate is not None and site.aggregate.has_params
