"""The read sites of a rule's parts as the explainer uses them: recorded reaches made absolute,
and the parameters read inside aggregates expanded.

The compiler records the sites while it compiles (:mod:`fupin_rules.batch.sites`); here they
are only read. An aggregate's ``params`` site becomes one ``param`` site per parameter its
children read, reached where the aggregate is and any child reads the parameter (one ``any``
reduction by owner, cached per aggregate). The explainer (:mod:`fupin_rules.batch.explain`)
and the partitioned runner (which expands the county stratum's before its reduce is sealed)
call :func:`expand`.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import polars as pl

from fupin_rules.batch.compiler import Compiler
from fupin_rules.batch.sites import AggregateSites, ExprSites, Site, both, not_false
from fupin_rules.batch.values import BoolV
from fupin_rules.expr.ir import Aggregate, Path

__all__ = ["expand"]


def expand(c: Compiler, recorded: ExprSites, reach: pl.Expr | None) -> Iterator[Site]:
    """The sites of ``recorded`` reached where ``reach`` is (None: always) and their recorded
    reach, in evaluation order, with each aggregate's ``params`` site expanded into the
    ``param`` sites of its children."""
    for s in recorded.sites:
        at = both(reach, s.reach)
        if s.tag == "params":
            assert isinstance(s.node, Aggregate) and s.aggregate is not None
            for name, r in _child_params(c, recorded.kind, s.node, s.aggregate):
                yield Site("param", name, both(at, r))
            continue
        yield s if at is s.reach else attrs.evolve(s, reach=at)


def _child_params(
    c: Compiler, kind: str, node: Aggregate, agg: AggregateSites
) -> list[tuple[str, pl.Expr]]:
    """Parameters read inside an aggregate's child scope, and whether any child reads them.

    ``agg``: the record of the aggregate local to its owner (``node`` itself, or its last
    collection if ``node`` goes through parent links from ``kind``).
    """
    if not agg.has_params:
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
        inner = _child_params(c, target, local, agg)
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
    value_reach: pl.Expr | None = None
    if agg.filter_sites is not None:
        found.extend(expand(c, agg.filter_sites, None))
        if node.func != "count":
            assert agg.filter_value is not None
            value_reach = not_false(agg.filter_value)
    if agg.value_sites is not None:
        found.extend(expand(c, agg.value_sites, value_reach))
    by_name: dict[str, pl.Expr] = {}
    for s in found:
        if s.tag == "param":
            r = pl.lit(True) if s.reach is None else s.reach
            prev = by_name.get(s.key)
            by_name[s.key] = r if prev is None else (prev | r)
    base = c.new_name("r")
    comps = {f"{base}.{i}": e for i, e in enumerate(by_name.values())}
    aggs: dict[str, tuple[pl.Expr, object]] = {n: (pl.col(n).any(), False) for n in comps}
    c.reduce(owner, child, index, comps, aggs)
    result = [(name, pl.col(col)) for name, col in zip(by_name, comps, strict=True)]
    c.extra[key] = result
    return result
