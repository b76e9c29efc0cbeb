"""Evaluation context: dataset records seen as expression subjects, and the dated environment.

A :class:`DatasetIndex` is built once per dataset (ids -> records, parent -> children). A
:class:`Context` binds a policy, an as-of date and an index, and memoises derived variables per
subject, so a village aggregate is computed once however many rules read it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import Any

from fupin_rules.domain.dataset import Dataset
from fupin_rules.domain.models import Record
from fupin_rules.expr import UNKNOWN, Trace, evaluate
from fupin_rules.policy.model import Policy, ResolvedParameter, Variable

__all__ = ["Context", "DatasetIndex", "RecordSubject"]

#: table name -> entity kind
TABLE_KIND = {
    "townships": "township",
    "villages": "village",
    "households": "household",
    "persons": "person",
    "loans": "loan",
    "payments": "payment",
    "projects": "project",
    "documents": "document",
    "procedure_steps": "procedure_step",
    "relocations": "relocation",
    "rectification_items": "rectification_item",
}
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

    def _add(self, kind: str, key: str | None, coll: str, rec: Record) -> None:
        if key is not None:
            self.children[(kind, key, coll)].append(rec)

    def _build(self) -> None:
        ds = self.dataset
        cid = ds.county.key()
        hh_village = {h.household_id: h.village_id for h in ds.households}
        for t in ds.townships or ():
            self._add("county", cid, "townships", t)
        for v in ds.villages:
            self._add("county", cid, "villages", v)
            self._add("township", v.township_id, "villages", v)
        for h in ds.households:
            self._add("county", cid, "households", h)
            self._add("village", h.village_id, "households", h)
        for p in ds.persons:
            self._add("county", cid, "persons", p)
            self._add("household", p.household_id, "members", p)
            self._add("village", hh_village.get(p.household_id), "residents", p)
        for loan in ds.loans or ():
            self._add("county", cid, "loans", loan)
            self._add("household", loan.household_id, "loans", loan)
        for pay in ds.payments or ():
            self._add("household", pay.household_id, "payments", pay)
            self._add("person", pay.person_id, "payments", pay)
        for pr in ds.projects or ():
            self._add("village", pr.village_id, "projects", pr)
            self._add("household", pr.household_id, "projects", pr)
        for doc in ds.documents or ():
            self._add("village", doc.village_id, "all_documents", doc)
            if doc.household_id is None:
                self._add("village", doc.village_id, "documents", doc)
            else:
                self._add("household", doc.household_id, "documents", doc)
        for st in ds.procedure_steps or ():
            self._add("household", st.household_id, "procedure_steps", st)
        for rl in ds.relocations or ():
            self._add("county", cid, "relocations", rl)
            self._add("household", rl.household_id, "relocations", rl)
        for it in ds.rectification_items or ():
            self._add("county", cid, "rectification_items", it)

    def parent_key(self, kind: str, rec: Record, link: str) -> tuple[str, str | None]:
        """The (kind, id) a parent link of ``rec`` points to."""
        if link == "county":
            return "county", self.dataset.county.key()
        if kind == "village" and link == "township":
            return "township", getattr(rec, "township_id", None)
        return link, getattr(rec, f"{link}_id", None)


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
