"""The record store, the dataset index and the partitions of a live session
(see :mod:`fupin_rules.engine.live`)."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fupin_rules.domain.models import County, Record
from fupin_rules.engine.context import (
    TABLE_KIND,
    RecordSubject,
    memberships,
    parent_key,
)
from fupin_rules.engine.evaluate import Scope
from fupin_rules.findings.model import Finding

if TYPE_CHECKING:
    from fupin_rules.engine.live import Session


SubjectKey = tuple[str, str]  # (kind, id)


class _Coll:
    """One collection of an owner (e.g. a village's residents): records in table order."""

    __slots__ = ("keys", "recs", "seqs")

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.recs: list[Record] = []
        self.keys: list[str] = []

    def put(self, seq: int, rec: Record) -> None:
        i = bisect.bisect_left(self.seqs, seq)
        if i < len(self.seqs) and self.seqs[i] == seq:
            self.recs[i] = rec
        else:
            self.seqs.insert(i, seq)
            self.recs.insert(i, rec)
            self.keys.insert(i, rec.key())

    def drop(self, seq: int) -> None:
        i = bisect.bisect_left(self.seqs, seq)
        if i < len(self.seqs) and self.seqs[i] == seq:
            del self.seqs[i]
            del self.recs[i]
            del self.keys[i]

    def __iter__(self) -> Iterator[Record]:
        return iter(self.recs)

    def __len__(self) -> int:
        return len(self.recs)


class _County:
    """What :meth:`DatasetIndex.parent_key` needs of ``index.dataset``."""

    def __init__(self, county: County) -> None:
        self.county = county


class _LiveIndex:
    """The dataset index (:class:`~fupin_rules.engine.context.DatasetIndex`'s interface) kept
    up to date record by record: only active (non-orphan) records are in it."""

    def __init__(self, county: County) -> None:
        self.dataset = _County(county)
        self.by_id: dict[str, dict[str, Record]] = {"county": {county.key(): county}}
        for kind in TABLE_KIND.values():
            self.by_id[kind] = {}
        self.supplied: dict[str, bool] = {}
        self.children: dict[tuple[str, str, str], _Coll] = {}
        self.memberships: dict[SubjectKey, list[tuple[str, str, str]]] = {}
        self.seqs: dict[SubjectKey, int] = {}

    def parent_key(self, kind: str, rec: Record, link: str) -> tuple[str, str | None]:
        return parent_key(kind, rec, link, self.dataset.county.key())

    def _members_of(self, kind: str, rec: Any) -> list[tuple[str, str, str]]:
        """(owner kind, owner id, collection) of every collection ``rec`` belongs to (the same
        as DatasetIndex._build)."""
        return memberships(kind, rec, self.dataset.county.key(), self.by_id)

    def put(self, kind: str, rec: Record, seq: int) -> list[tuple[str, str, str]]:
        """Index an active record (new or changed); return its old memberships."""
        key = rec.key()
        self.by_id[kind][key] = rec
        old = self.memberships.get((kind, key), [])
        old_seq = self.seqs.get((kind, key), seq)
        new = self._members_of(kind, rec)
        for m in old:
            if m not in new or old_seq != seq:
                coll = self.children.get(m)
                if coll is not None:
                    coll.drop(old_seq)
        self.seqs[(kind, key)] = seq
        for m in new:
            coll = self.children.get(m)
            if coll is None:
                coll = self.children[m] = _Coll()
            coll.put(seq, rec)
        self.memberships[(kind, key)] = new
        return old

    def drop(self, kind: str, key: str) -> list[tuple[str, str, str]]:
        """Remove a record from the index (deleted or orphaned); return its old memberships."""
        self.by_id[kind].pop(key, None)
        old = self.memberships.pop((kind, key), [])
        seq = self.seqs.pop((kind, key), -1)
        for m in old:
            coll = self.children.get(m)
            if coll is not None:
                coll.drop(seq)
        return old


class _Partition:
    """One durable-rules session and the subjects it holds (by slot number)."""

    def __init__(self, session: Session, index: int) -> None:
        self.owner = session
        self.index = index
        self.ctx = session.ctx
        self.subjects: dict[int, RecordSubject] = {}
        self.facts: dict[int, list[tuple[dict[str, Any], int]]] = {}
        self.scopes: dict[tuple[str, str], Scope] = {}
        self.free: list[int] = []
        self.next_slot = 0
        self.size = 0
        self.emitted: list[Finding] = []
        self.emitted_facts: list[tuple[dict[str, Any], int]] = []
        self.fired = 0
        self.live = session._engine.live_session(session._compiled.handle, context=self).open()

    def slot(self) -> int:
        if self.free:
            return self.free.pop()
        self.next_slot += 1
        return self.next_slot
