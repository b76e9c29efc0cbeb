"""Evaluation context: dataset records seen as expression subjects, and the dated environment.

A :class:`DatasetIndex` is built once per dataset (ids -> records, parent -> children). A
:class:`Context` binds a policy, an as-of date and an index, and memoises derived variables per
subject, so a village aggregate is computed once however many rules read it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from functools import cache
from typing import Any

from fupin_rules.domain.dataset import Dataset
from fupin_rules.domain.entities import ENTITIES
from fupin_rules.domain.models import Record
from fupin_rules.expr import UNKNOWN, Trace, evaluate
from fupin_rules.policy.model import Policy, ResolvedParameter, Variable

__all__ = ["Context", "DatasetIndex", "RecordSubject"]

#: table name -> entity kind
TABLE_KIND = ENTITIES.table_kind
KIND_TABLE = {v: k for k, v in TABLE_KIND.items()}


class DatasetIndex:
    """Lookups over a dataset: records by (kind, id) and children by (kind, id, collection)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.by_id: dict[str, dict[str, Record]] = {
            "county": {dataset.county.key(): dataset.county}
        }
        for table, kind in TABLE_KIND.items():
            rows = dataset.table(table)
            self.by_id[kind] = {r.key(): r for r in rows} if rows is not None else {}
        self.supplied = {kind: dataset.table(t) is not None for t, kind in TABLE_KIND.items()}
        self.supplied["county"] = True
        self.children: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
        self._build()

    def _build(self) -> None:
        # each table's records in order, into every collection they belong to (so a
        # collection is in the order of its table)
        cid = self.dataset.county.key()
        for table, kind in TABLE_KIND.items():
            if not _homes(kind):
                continue
            for rec in self.dataset.table(table) or ():
                for owner, key, coll in memberships(kind, rec, cid, self.by_id):
                    self.children[(owner, key, coll)].append(rec)

    def parent_key(self, kind: str, rec: Record, link: str) -> tuple[str, str | None]:
        """The (kind, id) a parent link of ``rec`` points to."""
        return parent_key(kind, rec, link, self.dataset.county.key())


def parent_key(kind: str, rec: Record, link: str, county_key: str) -> tuple[str, str | None]:
    """The (kind, id) a parent link of ``rec`` points to (the county: always the one county)."""
    pkind, field = _PARENTS[kind, link]
    if field is None:
        return pkind, county_key
    return pkind, getattr(rec, field)


#: (kind, link) -> (parent kind, the record's field holding its key; None for the county)
_PARENTS: dict[tuple[str, str], tuple[str, str | None]] = {
    (e.kind, p.link): (p.kind, None if p.kind == "county" else p.field)
    for e in ENTITIES
    for p in e.parents
}


#: (owner kind, collection, path: (field, parent kind) per link, field that must be empty)
_Home = tuple[str, str, tuple[tuple[str | None, str], ...], str | None]


@cache
def _homes(kind: str) -> tuple[_Home, ...]:
    """The collections records of ``kind`` belong to, and how to find their owner."""
    out: list[_Home] = []
    for owner, coll in ENTITIES.collections_of(kind):
        steps: list[tuple[str | None, str]] = []
        at = kind
        for link in coll.via:
            p = ENTITIES[at].parent(link)
            steps.append((p.field, p.kind))
            at = p.kind
        unlinked = ENTITIES[kind].parent(coll.unlinked).field if coll.unlinked else None
        out.append((owner, coll.name, tuple(steps), unlinked))
    return tuple(out)


def memberships(
    kind: str, rec: Record, county_key: str, by_id: Mapping[str, Mapping[str, Record]]
) -> list[tuple[str, str, str]]:
    """(owner kind, owner id, collection) of every collection ``rec`` belongs to.

    ``by_id`` (kind -> id -> record) resolves paths of more than one link (a person's village is
    its household's); a broken path puts the record in no collection of that owner.
    """
    out: list[tuple[str, str, str]] = []
    for owner, name, steps, unlinked in _homes(kind):
        if unlinked is not None and getattr(rec, unlinked) is not None:
            continue
        key: str | None = county_key
        cur: Record | None = rec
        for i, (field, pkind) in enumerate(steps):
            if i:
                cur = by_id[steps[i - 1][1]].get(key) if key is not None else None
            if cur is None:
                key = None
                break
            key = county_key if pkind == "county" or field is None else getattr(cur, field)
        if key is not None:
            out.append((owner, key, name))
    return out


def _convert(value: Any) -> Any:
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | int):
        return Fraction(value)
    if isinstance(value, tuple):
        return tuple(_convert(v) for v in value)
    return value


class RecordSubject:
    """A record seen by the expression interpreter: fields, derived variables, links."""

    __slots__ = ("_ctx", "key", "kind", "record")

    def __init__(self, ctx: Context, kind: str, record: Record) -> None:
        self._ctx = ctx
        self.kind = kind
        self.record = record
        self.key = record.key()

    def value(self, name: str) -> Any:
        var = self._ctx.variables.get((self.kind, name))
        if var is not None:
            return self._ctx.derived(self, var)
        return _convert(getattr(self.record, name))

    def parent(self, name: str) -> RecordSubject | None:
        kind, key = self._ctx.index.parent_key(self.kind, self.record, name)
        if key is None:
            return None
        return self._ctx.subject(kind, key)

    def children(self, name: str) -> Sequence[RecordSubject] | None:
        kind = self._ctx.policy.schema.entities[self.kind].collections[name]
        if not self._ctx.index.supplied.get(kind, True):
            return None
        recs = self._ctx.index.children.get((self.kind, self.key, name), ())
        return [self._ctx.subject_for(kind, r) for r in recs]

    def __repr__(self) -> str:
        return f"<{self.kind} {self.key}>"


class Context:
    """A policy, an as-of date and a dataset index: the environment of one evaluation."""

    def __init__(self, policy: Policy, on: dt.date, index: DatasetIndex) -> None:
        self.policy = policy
        self.on = on
        self.index = index
        self.variables: dict[tuple[str, str], Variable] = {
            (v.entity, v.name): v for v in policy.variables
        }
        self._subjects: dict[tuple[str, str], RecordSubject] = {}
        self._memo: dict[tuple[str, str, str], Any] = {}
        self._params: dict[str, ResolvedParameter] = {}

    # Environment protocol -------------------------------------------------
    def param(self, name: str) -> ResolvedParameter:
        """The parameter's value on the as-of date (value UNKNOWN before its first start)."""
        found = self._params.get(name)
        if found is None:
            found = self.policy.parameters[name].resolve(self.on)
            self._params[name] = found
        return found

    def catalogue(self, name: str) -> tuple[str, ...]:
        """A catalogue's codes."""
        return self.policy.catalogues[name].codes

    # Subjects ---------------------------------------------------------------
    def subject(self, kind: str, key: str) -> RecordSubject | None:
        """The subject for (kind, id), or None if the record does not exist."""
        s = self._subjects.get((kind, key))
        if s is None:
            rec = self.index.by_id.get(kind, {}).get(key)
            if rec is None:
                return None
            s = RecordSubject(self, kind, rec)
            self._subjects[(kind, key)] = s
        return s

    def subject_for(self, kind: str, rec: Record) -> RecordSubject:
        """The (cached) subject of a record."""
        key = rec.key()
        s = self._subjects.get((kind, key))
        if s is None:
            s = RecordSubject(self, kind, rec)
            self._subjects[(kind, key)] = s
        return s

    def derived(self, subject: RecordSubject, var: Variable) -> Any:
        """A derived variable's value for a subject, computed once per context."""
        k = (subject.kind, subject.key, var.name)
        if k in self._memo:
            return self._memo[k]
        value = evaluate(var.expr, subject, self, None)
        self._memo[k] = value
        return value

    def trace(self) -> Trace:
        """A fresh trace collector."""
        return Trace()
