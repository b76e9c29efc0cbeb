"""The record store and queries of a live session (see :mod:`fupin_rules.engine.live`)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fupin_rules.domain.dataset import REFERENCES
from fupin_rules.domain.models import County, Record
from fupin_rules.engine.context import (
    TABLE_KIND,
    RecordSubject,
)
from fupin_rules.engine.drill import MAX_CHILDREN_NAMED, DrillSpec
from fupin_rules.engine.live_aggregates import _Aggregate, _named_part
from fupin_rules.engine.live_index import SubjectKey, _LiveIndex, _Partition
from fupin_rules.expr import ir
from fupin_rules.findings.model import Finding, Outcome
from fupin_rules.policy.model import Policy

if TYPE_CHECKING:
    from fupin_rules.engine.live import _LiveCompiled, _LiveContext

_MISSING = object()


class _SessionRecords:
    """The record side of a :class:`~fupin_rules.engine.live.Session`: record store, subjects,
    drill-downs and the queries (the session sets these attributes up; live_apply applies changes)."""

    # set up by Session.__init__
    policy: Policy
    ctx: _LiveContext
    index: _LiveIndex
    _compiled: _LiveCompiled
    _county: County
    _aggs: dict[tuple[str, str], list[ir.Aggregate]]
    _below: dict[str, set[str]]
    _agg_state: dict[tuple[int, str, str], _Aggregate]
    _agg_fns: dict[int, tuple[Any, Any, str]]
    _tables: dict[str, dict[str, Record] | None]
    _seq: dict[tuple[str, str], int]
    _counter: itertools.count[int]
    _referrers: dict[tuple[str, str], set[tuple[str, str]]]
    _active: set[tuple[str, str]]
    _partitions: list[_Partition]
    _where: dict[SubjectKey, tuple[int, int]]
    _findings: dict[SubjectKey, list[Finding]]

    def _all_subjects(self) -> Iterator[RecordSubject]:
        ctx = self.ctx
        groups = self._compiled.groups
        if "county" in groups:
            s = ctx.subject("county", self._county.key())
            assert s is not None
            yield s
        for kind in TABLE_KIND.values():
            if kind not in groups:
                continue
            for key in self.index.by_id[kind]:
                s = ctx.subject(kind, key)
                if s is not None:
                    yield s

    def _village_of(self, s: RecordSubject) -> str | None:
        rec: Any = s.record
        if s.kind == "village":
            return str(rec.village_id)
        vid = getattr(rec, "village_id", None)
        if vid is not None:
            return str(vid)
        hid = getattr(rec, "household_id", None)
        if hid is not None:
            hh = self.index.by_id["household"].get(hid)
            return str(hh.village_id) if hh is not None else None  # type: ignore[attr-defined]
        return None

    def _retract(self, key: SubjectKey) -> tuple[int, list[Finding]]:
        where = self._where.pop(key, None)
        if where is None:
            return 0, []
        part = self._partitions[where[0]]
        slot = where[1]
        facts = part.facts.pop(slot, [])
        for fact, fid in reversed(facts):
            part.live.retract_fact(fact, fid)
        del part.subjects[slot]
        part.free.append(slot)
        part.size -= 1
        return len(facts), self._findings.pop(key, [])

    # -- records ------------------------------------------------------------------------------

    def _refs(self, table: str, rec: Record) -> list[tuple[str, str]]:
        out = []
        for fld, parent in REFERENCES[table]:
            ref = getattr(rec, fld)
            if ref is not None:
                out.append((parent, str(ref)))
        return out

    def _store(self, table: str, rec: Record) -> None:
        t = self._tables[table]
        if t is None:
            t = self._tables[table] = {}
            self.index.supplied[TABLE_KIND[table]] = True
        key = rec.key()
        old = t.get(key)
        if old is not None:
            for ref in self._refs(table, old):
                self._referrers.get(ref, set()).discard((table, key))
        t[key] = rec
        if (table, key) not in self._seq:
            self._seq[(table, key)] = next(self._counter)
        for ref in self._refs(table, rec):
            self._referrers.setdefault(ref, set()).add((table, key))

    def _is_active(self, table: str, rec: Record) -> bool:
        for fld, parent in REFERENCES[table]:
            ref = getattr(rec, fld)
            if ref is None:
                continue
            if parent == "county":
                if ref != self._county.county_id:
                    return False
                continue
            if parent == "townships" and self._tables["townships"] is None:
                continue
            if (parent, ref) not in self._active:
                return False
        return True

    def _drill(self, spec: DrillSpec, owner: Any) -> tuple[int, list[str]] | Any:
        """The children a failing condition names, from the aggregate's per-child parts (see
        :mod:`fupin_rules.engine.drill`): the total and the keys of the first
        :data:`MAX_CHILDREN_NAMED` in table order. ``NotImplemented`` when the aggregate is not
        maintained here or the test is not one of the plan's shapes (the caller evaluates it)."""
        node = next(
            (
                n
                for n in self._aggs.get((owner.kind, spec.collection), ())
                if self._agg_fns.get(id(n), (None, None, ""))[2] == spec.source
            ),
            None,
        )
        state = None if node is None else self._agg_state.get((id(node), owner.kind, owner.key))
        if node is None or state is None:
            return NotImplemented
        named = _named_part(node, spec)
        if named is None:
            return NotImplemented
        hits = state.by_part.get(named, []) if state.by_part is not None else []
        return len(hits), [key for _, key in hits[:MAX_CHILDREN_NAMED]]

    def _seqs_of(self, kind: str, key: str, collection: str) -> list[int]:
        coll = self.index.children.get((kind, key, collection))
        return list(coll.seqs) if coll is not None else []

    def _vars(self, k: SubjectKey) -> tuple[Any, ...]:
        memo = self.ctx._memo
        return tuple(
            memo.get((k[0], k[1], v.name), _MISSING) for v in self.policy.variables_for(k[0])
        )

    def _invalidate(self, k: SubjectKey) -> None:
        memo = self.ctx._memo
        for v in self.policy.variables_for(k[0]):
            memo.pop((k[0], k[1], v.name), None)

    def _reader_descendants(self, k: SubjectKey, readers: set[str]) -> set[SubjectKey]:
        """Descendants of ``k`` of the kinds ``readers`` (collections that cannot lead to one
        are not walked)."""
        out: set[SubjectKey] = set()
        stack = [k]
        seen = {k}
        entities = self.policy.schema.entities
        while stack:
            kind, key = stack.pop()
            for coll_name, child_kind in entities[kind].collections.items():
                if child_kind not in readers and not (readers & self._below[child_kind]):
                    continue
                coll = self.index.children.get((kind, key, coll_name))
                for ck in coll.keys if coll is not None else ():
                    c = (child_kind, ck)
                    if c in seen:
                        continue
                    seen.add(c)
                    if child_kind in readers:
                        out.add(c)
                    stack.append(c)
        return out

    # -- queries -------------------------------------------------------------------------------

    def findings(self, subject: str | SubjectKey) -> tuple[Finding, ...]:
        """The current findings about one subject (``"household:H001"`` or ``("household",
        "H001")``), not-applicable ones left out, by rule id."""
        kind, _, key = (
            subject.partition(":") if isinstance(subject, str) else (subject[0], ":", subject[1])
        )
        return tuple(
            sorted(
                (
                    f
                    for f in self._findings.get((kind, key), ())
                    if f.verdict is not Outcome.NOT_APPLICABLE
                ),
                key=Finding.sort_key,
            )
        )

    def all_findings(self, *, keep_not_applicable: bool = False) -> tuple[Finding, ...]:
        """Every current finding, in report order (as a fresh run would list them)."""
        out = [
            f
            for fs in self._findings.values()
            for f in fs
            if keep_not_applicable or f.verdict is not Outcome.NOT_APPLICABLE
        ]
        out.sort(key=Finding.sort_key)
        return tuple(out)

    def problems(self) -> tuple[Finding, ...]:
        """The current problem list (failing compliance and target findings), in report order."""
        out = [
            f
            for fs in self._findings.values()
            for f in fs
            if f.verdict is Outcome.FAIL and f.rule_kind in ("compliance", "target")
        ]
        out.sort(key=Finding.sort_key)
        return tuple(out)

    def records(self) -> dict[str, Any]:
        """The current records (orphans included) in the layout :func:`load_dataset` reads."""
        out: dict[str, Any] = {"county": self._county.model_dump(mode="json", exclude_none=True)}
        for name, rows in self._tables.items():
            if rows is not None:
                out[name] = [r.model_dump(mode="json", exclude_none=True) for r in rows.values()]
        return out

    @property
    def partitions(self) -> tuple[int, ...]:
        """Subjects held by each durable-rules session (partition)."""
        return tuple(p.size for p in self._partitions)

    def close(self) -> None:
        """Delete every durable-rules session of this live session (idempotent)."""
        self._closed = True
        for p in getattr(self, "_partitions", ()):
            p.live.close()
