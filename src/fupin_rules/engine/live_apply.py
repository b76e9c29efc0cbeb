"""Applying changes to a live session (see :mod:`fupin_rules.engine.live`).

The records and the dataset index are updated first (parents before children, orphans found),
then the changed subjects' facts are retracted and asserted again and what changed propagates
upwards, deepest subjects first; a table that goes from unknown to supplied re-asserts every
subject.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from typing import TYPE_CHECKING

from fupin_rules.domain.dataset import TABLES
from fupin_rules.domain.models import County
from fupin_rules.engine.context import TABLE_KIND, RecordSubject
from fupin_rules.engine.live_changes import Change, ChangeResult, FindingChange
from fupin_rules.engine.live_index import SubjectKey
from fupin_rules.engine.live_records import _SessionRecords
from fupin_rules.errors import DataError, EngineError
from fupin_rules.findings.model import Finding


class _SessionChanges(_SessionRecords):
    """How a :class:`~fupin_rules.engine.live.Session` applies changes: records and index, then
    the changed subjects' facts, then what changed upwards (the session sets these attributes
    up, asserts subjects and refreshes aggregate contributions)."""

    # set up by Session.__init__
    _closed: bool
    _depth: dict[str, int]
    _readers: dict[str, set[str]]
    _var_readers: dict[str, set[str]]
    _agg_by_owner: dict[SubjectKey, set[int]]

    if TYPE_CHECKING:  # defined by Session

        def _assert(self, s: RecordSubject) -> tuple[int, int, list[Finding]]: ...

        def _update_contributions(
            self, child: SubjectKey, memberships: Iterable[tuple[str, str, str]]
        ) -> set[SubjectKey]: ...

    def _apply(self, changes: Iterable[Change]) -> ChangeResult:
        if self._closed:
            raise EngineError("live session is closed")
        ops = list(changes)
        for op in ops:
            if not isinstance(op, Change):
                raise DataError([f"change: expected a Change, got {type(op).__name__}"])
            if op.table == "county" and op.record is None:
                raise DataError(["change: the county record cannot be deleted"])
        touched: list[tuple[str, str]] = []
        for op in ops:
            if op.table == "county":
                assert isinstance(op.record, County)
                if op.record.county_id != self._county.county_id:
                    raise DataError(
                        [
                            f"change county: county_id {op.record.county_id!r} is not this session's "
                            f"county {self._county.county_id!r}"
                        ]
                    )
        old_members: dict[SubjectKey, list[tuple[str, str, str]]] = {}
        record_changed: set[SubjectKey] = set()
        newly_supplied = any(
            op.record is not None and op.table != "county" and self._tables[op.table] is None
            for op in ops
        )
        for op in ops:
            if op.table == "county":
                assert isinstance(op.record, County)
                self._county = op.record
                self.index.dataset.county = op.record
                self.index.by_id["county"] = {op.record.key(): op.record}
                s = self.ctx._subjects.get(("county", op.record.key()))
                if s is not None:
                    s.record = op.record
                record_changed.add(("county", op.record.key()))
                continue
            key = str(op.key)
            if op.record is None:
                t = self._tables[op.table]
                old = t.pop(key, None) if t is not None else None
                if old is not None:
                    for ref in self._refs(op.table, old):
                        self._referrers.get(ref, set()).discard((op.table, key))
                    self._seq.pop((op.table, key), None)  # a re-insert goes to the end
            else:
                self._store(op.table, op.record)
            touched.append((op.table, key))
        # activity (orphans) and the index, parents before children
        orphans: list[tuple[str, str]] = []
        queue = list(touched)
        while queue:
            table, key = queue.pop(0)
            kind = TABLE_KIND[table]
            t = self._tables[table]
            rec = t.get(key) if t is not None else None
            was = (table, key) in self._active
            now = rec is not None and self._is_active(table, rec)
            skey = (kind, key)
            if now:
                assert rec is not None
                self._active.add((table, key))
                old_members.setdefault(skey, self.index.put(kind, rec, self._seq[(table, key)]))
                s = self.ctx._subjects.get(skey)
                if s is not None:
                    s.record = rec
            elif was:
                self._active.discard((table, key))
                old_members.setdefault(skey, self.index.drop(kind, key))
                self.ctx._subjects.pop(skey, None)
                if rec is not None:
                    orphans.append((table, key))
            elif rec is not None:
                orphans.append((table, key))
            record_changed.add(skey)
            if was != now or kind == "household":
                # children may change activity; a household's members may move village
                for ref in sorted(  # by table, then id: the orphans' order is the same every run
                    self._referrers.get((table, key), ()),
                    key=lambda r: (list(TABLES).index(r[0]), r[1]),
                ):
                    if was != now or ref[0] == "persons":
                        queue.append(ref)
        orphans = list(dict.fromkeys(orphans))
        if newly_supplied:  # aggregates over a table that was unknown: everything may change
            return self._rebuild(tuple(orphans))
        return self._propagate(record_changed, old_members, tuple(orphans))

    def _propagate(
        self,
        record_changed: set[SubjectKey],
        old_members: dict[SubjectKey, list[tuple[str, str, str]]],
        orphans: tuple[tuple[str, str], ...],
    ) -> ChangeResult:
        order = itertools.count()
        heap: list[tuple[int, int, SubjectKey]] = []
        queued: set[SubjectKey] = set()

        def push(k: SubjectKey) -> None:
            if k not in queued:
                queued.add(k)
                heapq.heappush(heap, (-self._depth.get(k[0], 0), next(order), k))

        for k in record_changed:
            push(k)
            if k[0] in self._readers:
                for d in self._reader_descendants(k, self._readers[k[0]]):
                    push(d)
        retracted = asserted = fired = refired = 0
        before: dict[tuple[str, str, str], Finding] = {}
        after: dict[tuple[str, str, str], Finding | None] = {}
        rounds: dict[SubjectKey, int] = {}
        groups = self._compiled.groups
        while heap:
            _, _, k = heapq.heappop(heap)
            queued.discard(k)
            rounds[k] = rounds.get(k, 0) + 1
            if rounds[k] > 8:  # pragma: no cover - a dependency cycle would be a policy bug
                raise EngineError(f"live session: {k[0]} {k[1]} did not settle")
            kind, key = k
            old_vars = self._vars(k)
            self._invalidate(k)
            n, old = self._retract(k)
            retracted += n
            if rounds[k] == 1:  # the findings from before this apply
                for f in old:
                    before[(f.rule_id, f.subject_kind, f.subject_id)] = f
            s = self.ctx.subject(kind, key)
            if s is not None and kind in groups:
                a, fr, new = self._assert(s)
                asserted += a
                fired += fr
                refired += 1
                for f in old:
                    after[(f.rule_id, f.subject_kind, f.subject_id)] = None
                for f in new:
                    after[(f.rule_id, f.subject_kind, f.subject_id)] = f
            else:
                for f in old:
                    after[(f.rule_id, f.subject_kind, f.subject_id)] = None
            members = old_members.pop(k, None)
            if members is None:
                members = self.index.memberships.get(k, [])
            for owner in self._update_contributions(k, members):
                push(owner)
            if s is not None and k[0] in self._var_readers and self._vars(k) != old_vars:
                for d in self._reader_descendants(k, self._var_readers[k[0]]):
                    push(d)
        changed = []
        for fk in sorted(set(before) | set(after)):
            b, a2 = before.get(fk), after.get(fk)
            if b != a2:
                changed.append(FindingChange(fk[0], fk[1], fk[2], b, a2))
        return ChangeResult(tuple(changed), retracted, asserted, fired, refired, orphans)

    def _rebuild(self, orphans: tuple[tuple[str, str], ...]) -> ChangeResult:
        """Retract every subject and assert it again (a table went from unknown to supplied)."""
        retracted = asserted = fired = 0
        before: dict[tuple[str, str, str], Finding] = {}
        for k in list(self._where):
            n, old = self._retract(k)
            retracted += n
            for f in old:
                before[(f.rule_id, f.subject_kind, f.subject_id)] = f
        self.ctx._memo.clear()
        self._agg_state.clear()
        self._agg_by_owner.clear()
        after: dict[tuple[str, str, str], Finding] = {}
        refired = 0
        for s in self._all_subjects():
            a, fr, new = self._assert(s)
            asserted += a
            fired += fr
            refired += 1
            for f in new:
                after[(f.rule_id, f.subject_kind, f.subject_id)] = f
        changed = [
            FindingChange(fk[0], fk[1], fk[2], before.get(fk), after.get(fk))
            for fk in sorted(set(before) | set(after))
            if before.get(fk) != after.get(fk)
        ]
        return ChangeResult(tuple(changed), retracted, asserted, fired, refired, orphans)
