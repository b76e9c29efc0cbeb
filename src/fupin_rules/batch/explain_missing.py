"""Missing input fields behind unknown conditions, named as the reference engine names them.

The reference engine (``fupin_rules.engine.evaluate._missing``) walks the trace of an unknown
condition: every read whose value is unknown (or an interval), in evaluation order — the
subject's own reads and, inside aggregates, the unknown reads of each child in collection
order — follows derived variables into their own reads (at most 6 levels) and names the raw
fields, at most :data:`~fupin_rules.engine.evaluate.MAX_MISSING_LISTED` per condition.

Here the same walk runs over columns: for an expression at a kind, one frame holds, for every
read site and every record of the kind, whether the site is reached and whether its value is
unknown; children are visited in row order (the order of the reference's collections). The
walk is lazy and stops at the limit, so only materialised unknown findings pay for it. The
read sites are the ones the compiler recorded while compiling the condition, the derived
variables and the aggregates' child scopes (:mod:`fupin_rules.batch.sites`): the expressions
are not walked again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from fupin_rules.batch.compiler import Compiler
from fupin_rules.batch.frames import KEY, parent_column
from fupin_rules.batch.sites import AggregateSites, ExprSites, Site
from fupin_rules.batch.values import ConstList, NumV
from fupin_rules.domain.schema import LINKS
from fupin_rules.engine.evaluate import MAX_MISSING_LISTED
from fupin_rules.expr.ir import Aggregate, Expr
from fupin_rules.findings.model import MissingField
from fupin_rules.policy.reads import field_label

__all__ = ["MissingFinder"]

_Read = tuple[str, int, tuple[str, ...], bool]  # (kind, row, path, value is UNKNOWN)


class MissingFinder:
    """Names the input fields behind an unknown condition (lazily, per finding)."""

    def __init__(self, compiler: Compiler) -> None:
        self.c = compiler
        self._tables: dict[tuple[str, Expr], tuple[dict[str, list[Any]], list[Site]]] = {}
        self._rows: dict[str, dict[str, int]] = {}
        self._children: dict[tuple[str, str], dict[int, list[int]]] = {}
        self._filters: dict[tuple[str, Expr], list[Any]] = {}
        self._parents: dict[tuple[str, str], list[Any]] = {}
        self._keys: dict[str, list[str]] = {}
        self._site_columns: dict[int, tuple[ExprSites, list[Any]]] = {}

    def find(
        self, kind: str, subject: str, part: Any, row: dict[str, Any]
    ) -> tuple[MissingField, ...]:
        """The missing fields of one unknown condition of one subject (``part``: its
        :class:`~fupin_rules.batch.explain._Part`, which carries the condition's recorded
        sites)."""
        if part.cond is None:
            return ()
        r = self._row(kind, subject)
        out: dict[tuple[str, str, str], MissingField] = {}
        self._missing(self._reads(r, part.recorded, top=True), out, 0)
        return tuple(out.values())

    # --- the reference walk ---------------------------------------------------------------
    def _missing(
        self, reads: Iterator[_Read], out: dict[tuple[str, str, str], MissingField], depth: int
    ) -> None:
        for kind, row, path, unknown in reads:
            if len(out) >= MAX_MISSING_LISTED:
                return
            owner = self._walk(kind, row, path[:-1])
            if owner is None:
                continue
            okind, orow = owner
            name = path[-1]
            if (okind, name) not in self.c.variables:
                if unknown:
                    okey = self._key(okind, orow)
                    out.setdefault(
                        (okind, okey, name),
                        MissingField(okind, okey, name, field_label(self.c.policy, okind, name)),
                    )
                continue
            if depth > 6:
                continue
            recorded = self.c.variable_sites(okind, name)
            self._missing(self._reads(orow, recorded, top=True), out, depth + 1)

    def _reads(self, row: int, recorded: ExprSites, *, top: bool) -> Iterator[_Read]:
        """Unknown reads of a recorded expression at a record, in the interpreter's order.

        ``top``: the trace of a condition or variable (interval values count); otherwise a
        child's trace inside an aggregate (only unknown values are kept).
        """
        kind = recorded.kind
        for site, reached, unknowns, intervals in self._columns(recorded):
            if not reached[row]:
                continue
            if site.tag == "field":
                unknown = bool(unknowns[row])
                if unknown or (top and intervals[row]):
                    yield (kind, row, site.node.names, unknown)
            elif site.tag == "agg":
                yield from self._aggregate_reads(kind, row, site)

    def _columns(self, recorded: ExprSites) -> list[tuple[Any, list[Any], list[Any], list[Any]]]:
        """Per read site of a recorded expression: (site, reached, unknown, interval) lists."""
        # keyed by identity: hashing an expression tree per read costs more than the walk (the
        # record is kept in the entry, so its id cannot be reused while the entry lives)
        key = id(recorded)
        entry = self._site_columns.get(key)
        if entry is None or entry[0] is not recorded:
            table, entries = self._table(recorded)
            cols = [
                (site, table[f"r{i}"], table[f"u{i}"], table[f"i{i}"])
                for i, site in enumerate(entries)
            ]
            entry = (recorded, cols)
            self._site_columns[key] = entry
        return entry[1]

    def _aggregate_reads(self, kind: str, row: int, site: Site) -> Iterator[_Read]:
        node = site.node
        agg = site.aggregate
        assert isinstance(node, Aggregate) and agg is not None
        links = node.collection.names[:-1]
        owner = self._walk(kind, row, links) if links else (kind, row)
        if owner is None:
            return
        okind, orow = owner
        coll = node.collection.names[-1]
        child = LINKS[okind][1][coll]
        if not self.c.tables.supplied[child]:
            return
        for ch in self._kids(okind, coll).get(orow, ()):
            value_reached = True
            if agg.filter_sites is not None:
                yield from self._reads(ch, agg.filter_sites, top=False)
                if node.func == "count":
                    value_reached = False
                else:
                    value_reached = self._filter(agg)[ch] is not False
            if agg.value_sites is not None and value_reached:
                yield from self._reads(ch, agg.value_sites, top=False)

    # --- column helpers ---------------------------------------------------------------------
    def _table(self, recorded: ExprSites) -> tuple[dict[str, list[Any]], list[Site]]:
        kind = recorded.kind
        key = (kind, recorded.expr)
        found = self._tables.get(key)
        if found is not None:
            return found

        entries = [s for s in recorded.sites if s.tag in ("field", "agg")]
        cols: dict[str, pl.Expr] = {}
        for i, s in enumerate(entries):
            cols[f"r{i}"] = (pl.lit(True) if s.reach is None else s.reach).fill_null(False)
            v = s.value
            if isinstance(v, NumV):
                cols[f"u{i}"] = v.lo.num.is_null()
                cols[f"i{i}"] = pl.lit(False) if v.hi is None else (~v.is_point()).fill_null(False)
            else:
                cols[f"u{i}"] = (
                    pl.lit(False) if v is None or isinstance(v, ConstList) else v.e.is_null()
                )
                cols[f"i{i}"] = pl.lit(False)
        frame = self.c.frame(kind)
        if cols:
            df = frame.select([e.alias(n) for n, e in cols.items()])
            if df.height != frame.height:  # constant columns: broadcast
                df = frame.select([pl.repeat(e, frame.height).alias(n) for n, e in cols.items()])
            table = {n: df[n].to_list() for n in df.columns}
        else:
            table = {}
        self._tables[key] = (table, entries)
        return table, entries

    def _filter(self, agg: AggregateSites) -> list[Any]:
        """Per child record: the aggregate's filter (None: unknown)."""
        assert agg.node.filter is not None and agg.filter_value is not None
        kind = agg.child
        key = (kind, agg.node.filter)
        found = self._filters.get(key)
        if found is None:
            frame = self.c.frame(kind)
            s = frame.select(agg.filter_value.alias("f"))["f"]
            if len(s) != frame.height:
                s = pl.Series([s[0]] * frame.height)
            found = s.to_list()
            self._filters[key] = found
        return found

    def _kids(self, owner: str, coll: str) -> dict[int, list[int]]:
        key = (owner, coll)
        found = self._children.get(key)
        if found is None:
            child, index = self.c.owner_index(owner, coll)
            idx = self.c.frame(child).select(pl.col(index).alias("o"))["o"]
            if len(idx) != self.c.frame(child).height:
                idx = pl.Series([idx[0]] * self.c.frame(child).height)
            found = {}
            for pos, o in enumerate(idx.to_list()):
                if o is not None:
                    found.setdefault(o, []).append(pos)
            self._children[key] = found
        return found

    def _walk(self, kind: str, row: int, links: tuple[str, ...]) -> tuple[str, int] | None:
        for link in links:
            parent = LINKS[kind][0][link]
            col = self._parent(kind, link)
            nxt = col[row]
            if nxt is None:
                return None
            kind, row = parent, nxt
        return kind, row

    def _parent(self, kind: str, link: str) -> list[Any]:
        key = (kind, link)
        found = self._parents.get(key)
        if found is None:
            found = self.c.frame(kind)[parent_column(link)].to_list()
            self._parents[key] = found
        return found

    def _row(self, kind: str, key: str) -> int:
        rows = self._rows.get(kind)
        if rows is None:
            rows = {k: i for i, k in enumerate(self.c.frame(kind)[KEY].to_list())}
            self._rows[kind] = rows
        return rows[key]

    def _key(self, kind: str, row: int) -> str:
        keys = self._keys.get(kind)
        if keys is None:
            keys = self.c.frame(kind)[KEY].to_list()
            self._keys[kind] = keys
        return keys[row]
