"""Live sessions (整改 as it happens): a dataset kept in durable-rules sessions that follow changes.

:class:`Session` loads a dataset once: every subject that has rules (county, townships,
villages, households, persons, loans, payments, projects, documents, procedure steps,
relocations, rectification items) is one *subject fact* in a durable-rules session; its
``derive`` rule asserts the subject's *derived facts* and the policy rules fire on them, exactly
as in the inference engine (:mod:`fupin_rules.engine.inference`). The sessions then stay open.

:meth:`Session.apply` takes validated upserts and deletes of records of any table and

1. updates the record store and the dataset index in place (records whose parent disappears
   become orphans and leave the evaluation, as :func:`~fupin_rules.domain.dataset.load_dataset`
   leaves them out; they come back when the parent does);
2. retracts the facts of the changed subjects and asserts them again, so the Rete network fires
   only the rules of those subjects;
3. propagates upwards only what changed: each aggregate of an ancestor (``count``, ``sum``,
   ``share``, ``all``, ``any`` over a collection) keeps every child's contribution and running
   totals; a changed child updates its contribution (old out, new in) without visiting its
   siblings, and the ancestor is re-fired only when one of its aggregates or its own record
   changed. Subjects that read an ancestor's fields or derived variables through a parent link
   (a person reading ``household.is_registered_poor``) are re-fired when those change.
4. returns the findings that changed (before → after) and how many facts were retracted and
   asserted and how many rules fired.

Partitioning (the durable-rules limits: 32-bit fact identities, at most 1,024 live sessions per
ruleset, superlinear growth of one huge session): subjects are grouped by village, whole
villages per partition, each partition one durable-rules session holding at most about
``partition_size`` subjects (default :data:`DEFAULT_PARTITION_SIZE`); the county's own
subjects (county, townships, rectification items) share the first partition. Fact ids are
short sequential numbers per partition, reused after retraction, within the range the wrapper
checks collision-free; at most 1,000 partitions.

The oracle of this module is a fresh reference evaluation of the same records
(``tests/property/engine/test_live_session_stateful.py``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from fractions import Fraction
from typing import Any

import attrs
from pydantic import ValidationError

from fupin_rules.domain.dataset import REFERENCES, TABLES, Dataset
from fupin_rules.domain.models import County, Record
from fupin_rules.engine import _durable
from fupin_rules.engine._durable import ActionContext, Match, RulesetSpec, RuleSpec
from fupin_rules.engine.context import (
    KIND_TABLE,
    TABLE_KIND,
    Context,
    RecordSubject,
    memberships,
    parent_key,
)
from fupin_rules.engine.drill import MAX_CHILDREN_NAMED, DrillSpec, display_field, display_text
from fupin_rules.engine.evaluate import Scope, evaluate_rule, evaluate_scope
from fupin_rules.errors import DataError, EngineError, FupinRulesError
from fupin_rules.expr import UNKNOWN, AggregateRead, FieldRead, Interval, ParamRead, Trace, ir
from fupin_rules.expr.trace import ChildTrace, Undefined
from fupin_rules.findings.model import Finding, Outcome
from fupin_rules.policy.model import Policy, Rule

__all__ = ["DEFAULT_PARTITION_SIZE", "Change", "ChangeResult", "FindingChange", "Session"]

#: subjects per durable-rules session (partition); at 1 subject fact + up to 2 derived facts
#: per subject this stays well inside the 100,000 fact ids checked collision-free
DEFAULT_PARTITION_SIZE = 20_000
#: partitions per session (durable-rules allows 1,024 live sessions per ruleset)
MAX_PARTITIONS = 1000
MAX_RULES_PER_GROUP = 32

SubjectKey = tuple[str, str]  # (kind, id)


# --- changes -------------------------------------------------------------------------------


@attrs.frozen
class Change:
    """One record change: an upsert (``record`` given) or a delete (``key`` given) in ``table``.

    ``table`` is a table name of :data:`~fupin_rules.domain.dataset.TABLES` or ``"county"``
    (upsert only). Build them with :meth:`upsert` and :meth:`delete`.
    """

    table: str
    record: Record | None = None
    key: str | None = None

    @classmethod
    def upsert(cls, table: str, record: Record | Mapping[str, Any]) -> Change:
        """Insert or replace a record (a dict is validated like an input row)."""
        model = County if table == "county" else TABLES.get(table)
        if model is None:
            raise DataError(
                [f"change: unknown table {table!r} (expected county or {', '.join(TABLES)})"]
            )
        if isinstance(record, Record):
            if not isinstance(record, model):
                raise DataError([f"change: a {type(record).__name__} cannot go in table {table!r}"])
            return cls(table, record, record.key())
        try:
            rec = model.model_validate(dict(record))
        except ValidationError as exc:
            rid = record.get(model.key_field) if isinstance(record, Mapping) else None
            raise DataError(
                [
                    f"change {table}:{rid}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                    for e in exc.errors()
                ]
            ) from None
        return cls(table, rec, rec.key())

    @classmethod
    def delete(cls, table: str, key: str) -> Change:
        """Delete the record ``key`` of ``table`` (its children become orphans)."""
        if table not in TABLES:
            raise DataError([f"change: cannot delete from table {table!r}"])
        return cls(table, None, key)


@attrs.frozen
class FindingChange:
    """A finding that changed: ``before`` or ``after`` is None when the finding appeared or went
    away (its subject was added, deleted or orphaned)."""

    rule_id: str
    subject_kind: str
    subject_id: str
    before: Finding | None
    after: Finding | None


@attrs.frozen
class ChangeResult:
    """What :meth:`Session.apply` did."""

    changed: tuple[FindingChange, ...]
    retracted: int
    asserted: int
    rules_fired: int
    subjects_refired: int
    orphans: tuple[tuple[str, str], ...] = ()


# --- the record store and its index ---------------------------------------------------------


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


# --- incremental aggregates ------------------------------------------------------------------


class _Capture(Trace):
    """What one child's evaluation inside an aggregate forwards to the aggregate's trace."""

    __slots__ = ()

    def record(self, read: Any) -> None:
        if isinstance(read, FieldRead):
            if read.value is UNKNOWN:
                self.reads.append(read)
        elif isinstance(read, ParamRead | Undefined):
            self.reads.append(read)


def _truth(fn: Any, s: Any, e: Any, t: Any) -> Any:
    if fn is None:
        return True
    v = fn(s, e, t)
    return UNKNOWN if v is UNKNOWN else bool(v)


def _bounds(x: Any) -> tuple[Fraction, Fraction, int]:
    if isinstance(x, Interval):
        return x.lo, x.hi, x.missing
    return x, x, 0


_ZERO = Fraction(0)


def _contribution(
    func: str, value: Any, filt: Any, c: Any, e: Any
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """A child's additive contribution to an aggregate (mirrors the interpreter's reducers) and
    the reads it forwards to the aggregate's trace."""
    cap = _Capture()
    if func == "count":
        if filt is None:
            return (1, 0, 0), ()
        f = filt(c, e, cap)
        return (1, int(f is True), int(f is UNKNOWN)), tuple(cap.reads)
    if func == "sum":
        f = _truth(filt, c, e, cap)
        if f is False:
            return (_ZERO, _ZERO, 0, 0), tuple(cap.reads)
        v = value(c, e, cap)
        if v is UNKNOWN:
            return (_ZERO, _ZERO, 1, 1), tuple(cap.reads)
        vlo, vhi, vm = _bounds(v)
        if f is True:
            return (vlo, vhi, 1 if vm else 0, 0), tuple(cap.reads)
        return (min(vlo, _ZERO), max(vhi, _ZERO), 1, 0), tuple(cap.reads)
    if func == "share":
        # num, den, optional_in, optional_out, optional_maybe, maybe
        f = _truth(filt, c, e, cap)
        if f is False:
            return (0, 0, 0, 0, 0, 0), tuple(cap.reads)
        v = value(c, e, cap)
        if f is True:
            return (int(v is True), 1, 0, 0, 0, int(v is UNKNOWN)), tuple(cap.reads)
        if v is True:
            return (0, 0, 1, 0, 0, 0), tuple(cap.reads)
        if v is False:
            return (0, 0, 0, 1, 0, 0), tuple(cap.reads)
        return (0, 0, 0, 0, 1, 0), tuple(cap.reads)
    # all / any: (missing, decided) with decisive False for all, True for any
    v = value(c, e, cap)
    decisive = func == "any"
    return (int(v is UNKNOWN), int(v is decisive)), tuple(cap.reads)


def _named_part(node: ir.Aggregate, spec: DrillSpec) -> tuple[int, ...] | None:
    """The contribution of a child the drill-down names (the child's test is true), or None
    when the spec's test is not one the plan builds for this aggregate."""
    test, func = spec.test, node.func
    if func == "count":
        return (1, 1, 0) if node.filter is not None and test == node.filter else None
    if func in ("all", "any"):
        assert node.value is not None
        if test == ir.Not(node.value):  # named: the value is false
            return (0, 1) if func == "all" else (0, 0)
        if test == node.value:  # named: the value is true
            return (0, 0) if func == "all" else (0, 1)
        return None
    if func == "share":
        assert node.value is not None
        more = ir.Not(node.value)
        wanted_more: ir.Expr
        wanted_fewer: ir.Expr
        if node.filter is None:
            wanted_more, wanted_fewer = more, node.value
        else:
            wanted_more = ir.BoolOp("and", (node.filter, more))
            wanted_fewer = ir.BoolOp("and", (node.filter, node.value))
        if test == wanted_more:
            return (0, 1, 0, 0, 0, 0)
        if test == wanted_fewer:
            return (1, 1, 0, 0, 0, 0)
    return None


def _child_kind(kids: Any) -> str | None:
    for c in kids:
        return str(c.kind)
    return None


def _shown(child: Any, show: str | None) -> str:
    """A child's display text (what a drill-down names it by)."""
    return display_text(child.value(show)) if show else ""


def _result(func: str, has_filter: bool, total: list[Any]) -> tuple[Any, int]:
    """The aggregate's value and missing count from the running totals (the reducers' tails)."""
    if func == "count":
        n, sure, maybe = total
        if not has_filter:
            return Fraction(n), 0
        if maybe == 0:
            return Fraction(sure), 0
        return Interval(Fraction(sure), Fraction(sure + maybe), maybe), maybe
    if func == "sum":
        lo, hi, missing, unbounded = total
        if unbounded:
            return UNKNOWN, missing
        return (lo if lo == hi else Interval(lo, hi, missing)), missing
    if func == "share":
        num, den, oin, oout, omaybe, maybe = total
        missing = maybe + oin + oout + omaybe
        if den == 0:
            return UNKNOWN, missing
        if missing == 0:
            return Fraction(num, den), 0
        lo = Fraction(num, den + oout + omaybe)
        hi = Fraction(num + maybe + oin + omaybe, den + oin + omaybe)
        return (lo if lo == hi else Interval(lo, hi, missing)), missing
    missing, decided = total
    decisive = func == "any"
    if decided:
        return decisive, missing
    return (UNKNOWN if missing else not decisive), missing


class _Aggregate:
    """One aggregate node on one owner: each child's contribution, the running totals, and
    the children whose evaluation forwarded reads to the trace (in table order)."""

    __slots__ = ("by_part", "contrib", "func", "has_filter", "reads", "total")

    def __init__(self, func: str, has_filter: bool) -> None:
        self.func = func
        self.has_filter = has_filter
        #: child key -> (part, forwarded reads, table order, display text): a child named by a
        #: drill-down whose display text changes re-fires the owner too
        self.contrib: dict[str, tuple[tuple[Any, ...], tuple[Any, ...], int, str]] = {}
        self.reads: dict[int, tuple[Any, ...]] = {}
        self.total: list[Any] = []
        #: count/all/any/share: the children by contribution, in table order, so a drill-down
        #: names them without visiting the others (None for sum, min, max)
        self.by_part: dict[tuple[Any, ...], list[tuple[int, str]]] | None = (
            {} if func in ("count", "all", "any", "share") else None
        )

    def add(
        self, key: str, seq: int, part: tuple[Any, ...], reads: tuple[Any, ...], shown: str = ""
    ) -> None:
        if not self.total:
            self.total = list(part)
        else:
            self.total = [a + b for a, b in zip(self.total, part, strict=True)]
        self.contrib[key] = (part, reads, seq, shown)
        if self.by_part is not None:
            bisect.insort(self.by_part.setdefault(part, []), (seq, key))
        if reads:
            self.reads[seq] = reads

    def remove(self, key: str) -> None:
        got = self.contrib.pop(key, None)
        if got is None:
            return
        part, _, seq, _ = got
        self.total = [a - b for a, b in zip(self.total, part, strict=True)]
        if self.by_part is not None:
            same = self.by_part[part]
            del same[bisect.bisect_left(same, (seq, key))]
        self.reads.pop(seq, None)


# --- the live ruleset ----------------------------------------------------------------------


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


class _LiveCompiled:
    """A policy version compiled for live sessions: derive and rule actions that record the
    facts they assert (so they can be retracted) and the findings per subject."""

    def __init__(self, policy: Policy, engine: _durable.DurableEngine) -> None:
        self.policy = policy
        self.groups: dict[str, list[list[Rule]]] = {}
        by_entity: dict[str, list[Rule]] = {}
        for rule in policy.rules:
            by_entity.setdefault(rule.entity, []).append(rule)
        specs: list[RuleSpec] = []
        for entity, rules in by_entity.items():
            groups = [
                rules[i : i + MAX_RULES_PER_GROUP]
                for i in range(0, len(rules), MAX_RULES_PER_GROUP)
            ]
            self.groups[entity] = groups
            specs.append(
                RuleSpec(f"derive:{entity}", Match(kind="subject", e=entity), self._derive(entity))
            )
            for g, group in enumerate(groups):
                for j, rule in enumerate(group):
                    # one fact kind per group (durable-rules: at most 48 patterns per kind)
                    when = Match(kind=f"derived:{entity}:{g}", **{f"a{j}": "y"})
                    specs.append(RuleSpec(f"rule:{rule.id}", when, self._fire(rule)))
        name = f"fupin-live:{policy.id}:{policy.version}:{policy.content_hash[:16]}"
        self.handle = engine.register(RulesetSpec(name, specs))

    def _derive(self, entity: str) -> Callable[[ActionContext], None]:
        def derive(c: ActionContext) -> None:
            part: _Partition = c.context
            part.fired += 1
            n = str(c.fact["n"])
            subject = part.subjects[int(n)]
            ctx = part.ctx
            for var in ctx.policy.variables_for(entity):
                ctx.derived(subject, var)
            for g, group in enumerate(self.groups[entity]):
                fact: dict[str, str | int] = {"kind": f"derived:{entity}:{g}", "n": n}
                routed = False
                for j, rule in enumerate(group):
                    scope = evaluate_scope(rule, subject, ctx)
                    if scope is not None and scope[0] is False:
                        fact[f"a{j}"] = "n"
                        part.emitted.append(evaluate_rule(rule, subject, ctx, scope))
                    else:
                        fact[f"a{j}"] = "y"
                        routed = True
                        if scope is not None:
                            part.scopes[(n, rule.id)] = scope
                if routed:
                    fid = c.assert_fact(fact)
                    part.emitted_facts.append((fact, fid))

        return derive

    @staticmethod
    def _fire(rule: Rule) -> Callable[[ActionContext], None]:
        def fire(c: ActionContext) -> None:
            part: _Partition = c.context
            part.fired += 1
            n = str(c.fact["n"])
            subject = part.subjects[int(n)]
            scope = part.scopes.pop((n, rule.id), None)
            part.emitted.append(evaluate_rule(rule, subject, part.ctx, scope))

        return fire


_compiled_cache: dict[str, _LiveCompiled] = {}


# --- static analysis of the policy -----------------------------------------------------------


def _scoped_walk(
    policy: Policy,
    expr: ir.Expr,
    kind: str,
    aggregates: dict[tuple[str, str], list[ir.Aggregate]],
    reads_up: dict[str, set[tuple[str, bool]]],
    where: str,
) -> None:
    """Record the aggregates by (owner kind, collection) and which ancestor kinds ``kind``
    reads through parent links; refuse aggregates over another subject's collection."""
    entities = policy.schema.entities
    if isinstance(expr, ir.Aggregate):
        names = expr.collection.names
        if len(names) != 1:
            raise FupinRulesError(
                f"{where}: live sessions keep aggregates over the subject's own collections; "
                f"{expr.collection.dotted} reaches another subject's collection"
            )
        aggregates.setdefault((kind, names[0]), []).append(expr)
        child = entities[kind].collections[names[0]]
        for sub in (expr.value, expr.filter):
            if sub is not None:
                _scoped_walk(policy, sub, child, aggregates, reads_up, where)
        return
    if isinstance(expr, ir.Path):
        k = kind
        names = expr.names
        for i, name in enumerate(names[:-1]):
            parent = entities[k].parents.get(name)
            if parent is None:
                break
            if k != kind:  # the link field of an ancestor on the way
                reads_up.setdefault(kind, set()).add((k, False))
            k = parent
            if i == len(names) - 2:
                is_var = any(v.entity == k and v.name == names[-1] for v in policy.variables)
                reads_up.setdefault(kind, set()).add((k, is_var))
        return
    for sub in ir.children(expr):
        _scoped_walk(policy, sub, kind, aggregates, reads_up, where)


def _depths(policy: Policy) -> dict[str, int]:
    entities = policy.schema.entities
    memo: dict[str, int] = {}

    def depth(k: str, seen: frozenset[str] = frozenset()) -> int:
        if k in memo:
            return memo[k]
        parents = [p for p in entities[k].parents.values() if p not in seen]
        d = 0 if not parents else 1 + max(depth(p, seen | {k}) for p in parents)
        memo[k] = d
        return d

    return {k: depth(k) for k in entities}


# --- the session ---------------------------------------------------------------------------


class _LiveContext(Context):
    """The evaluation context of a live session: serves aggregates from their running totals."""

    def __init__(self, session: Session, policy: Policy, on: dt.date, index: Any) -> None:
        super().__init__(policy, on, index)
        self._session = session

    def aggregate_hook(
        self, node: ir.Aggregate, owner: Any, value: Any, filt: Any, source: str, t: Trace | None
    ) -> Any:
        return self._session._aggregate(node, owner, value, filt, source, t)

    def drill_hook(self, spec: DrillSpec, owner: Any) -> tuple[int, list[str]] | Any:
        return self._session._drill(spec, owner)


class Session:
    """A dataset kept live in durable-rules sessions as of ``on``; see the module docs.

    >>> s = Session("county_2017", "county.json", on=dt.date(2017, 12, 31))   # doctest: +SKIP
    >>> r = s.apply([Change.upsert("households", {..., "has_exit_plan": True})])  # doctest: +SKIP
    >>> [(c.rule_id, c.before.verdict, c.after.verdict) for c in r.changed]  # doctest: +SKIP

    Not thread-safe: use one thread per session (durable-rules calls are serialised anyway).
    Call :meth:`close` (or use ``with``) to free the durable-rules sessions.
    """

    def __init__(
        self,
        policy: Policy | str,
        dataset: Dataset | Any,
        *,
        on: dt.date,
        partition_size: int = DEFAULT_PARTITION_SIZE,
    ) -> None:
        from fupin_rules.api import _dataset
        from fupin_rules.policy.discovery import resolve_policy

        self.policy = resolve_policy(policy)
        ds, _ = _dataset(dataset)
        self.on = on
        self.partition_size = partition_size
        self._engine = _durable_engine()
        key = self.policy.ref + self.policy.content_hash
        compiled = _compiled_cache.get(key)
        if compiled is None:
            compiled = _compiled_cache[key] = _LiveCompiled(self.policy, self._engine)
        self._compiled = compiled
        # static analysis: aggregates per (owner kind, collection), upward reads
        self._aggs: dict[tuple[str, str], list[ir.Aggregate]] = {}
        reads_up: dict[str, set[tuple[str, bool]]] = {}
        for rule in self.policy.rules:
            for where, expr in rule.expressions():
                _scoped_walk(
                    self.policy, expr, rule.entity, self._aggs, reads_up, f"rule {rule.id} {where}"
                )
        for var in self.policy.variables:
            _scoped_walk(
                self.policy,
                var.expr,
                var.entity,
                self._aggs,
                reads_up,
                f"variable {var.qualified_name}",
            )
        # kind -> kinds reading its fields or variables (resp. its variables) through links
        self._readers: dict[str, set[str]] = {}
        self._var_readers: dict[str, set[str]] = {}
        for k, ups in reads_up.items():
            for up, is_var in ups:
                self._readers.setdefault(up, set()).add(k)
                if is_var:
                    self._var_readers.setdefault(up, set()).add(k)
        entities = self.policy.schema.entities
        # kind -> kinds below it through collections
        self._below: dict[str, set[str]] = {}
        for k in entities:
            seen: set[str] = set()
            stack = [k]
            while stack:
                for child in entities[stack.pop()].collections.values():
                    if child not in seen:
                        seen.add(child)
                        stack.append(child)
            self._below[k] = seen
        self._depth = _depths(self.policy)
        self._agg_state: dict[tuple[int, str, str], _Aggregate] = {}
        self._agg_by_owner: dict[SubjectKey, set[int]] = {}
        self._agg_nodes: dict[int, ir.Aggregate] = {}
        self._agg_fns: dict[int, tuple[Any, Any, str]] = {}
        # records
        self._county = ds.county
        self._tables: dict[str, dict[str, Record] | None] = {}
        self._seq: dict[tuple[str, str], int] = {}
        self._counter = itertools.count(1)
        self._referrers: dict[tuple[str, str], set[tuple[str, str]]] = {}
        self._active: set[tuple[str, str]] = set()
        self.index = _LiveIndex(ds.county)
        self.ctx = _LiveContext(self, self.policy, on, self.index)
        self._partitions: list[_Partition] = []
        self._village_part: dict[str, int] = {}
        self._where: dict[SubjectKey, tuple[int, int]] = {}
        self._findings: dict[SubjectKey, list[Finding]] = {}
        self._closed = False
        required = {"villages", "households", "persons"}
        for name in TABLES:
            rows = ds.table(name)
            supplied = rows is not None or name in required
            self._tables[name] = {} if supplied else None
            self.index.supplied[TABLE_KIND[name]] = supplied
        self.index.supplied["county"] = True
        try:
            for name in TABLES:
                for rec in ds.table(name) or ():
                    self._store(name, rec)
            for name in TABLES:
                for rec in ds.table(name) or ():
                    if self._is_active(name, rec):
                        self._active.add((name, rec.key()))
                        self.index.put(TABLE_KIND[name], rec, self._seq[(name, rec.key())])
            self._pack()
            self.load_stats = self._load()
        except BaseException:
            self.close()
            raise

    # -- loading --------------------------------------------------------------------------

    def _pack(self) -> None:
        """Give whole villages to partitions of about ``partition_size`` subjects each."""
        sizes: dict[str, int] = {}
        for s in self._all_subjects():
            vid = self._village_of(s)
            if vid is not None:
                sizes[vid] = sizes.get(vid, 0) + 1
        part = self._new_partition()
        for vid, n in sizes.items():
            if part.size and part.size + n > self.partition_size:
                part = self._new_partition()
            self._village_part[vid] = part.index
            part.size += n  # reserved; _assert counts the real subjects
        for p in self._partitions:
            p.size = 0

    def _load(self) -> dict[str, int]:
        asserted = fired = 0
        for subject in self._all_subjects():
            a, f, _ = self._assert(subject)
            asserted += a
            fired += f
        return {"facts": asserted, "rules_fired": fired, "partitions": len(self._partitions)}

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

    def _partition_for(self, s: RecordSubject) -> _Partition:
        vid = self._village_of(s)
        if vid is None:
            idx = 0
        else:
            found = self._village_part.get(vid)
            if found is None:
                last = self._partitions[-1] if self._partitions else None
                if last is None or last.size >= self.partition_size:
                    last = self._new_partition()
                found = self._village_part[vid] = last.index
            idx = found
        if not self._partitions:
            self._new_partition()
        return self._partitions[idx]

    def _new_partition(self) -> _Partition:
        if len(self._partitions) >= MAX_PARTITIONS:
            raise EngineError(
                f"live session: more than {MAX_PARTITIONS} partitions; raise partition_size"
            )
        part = _Partition(self, len(self._partitions))
        self._partitions.append(part)
        return part

    def _assert(self, s: RecordSubject) -> tuple[int, int, list[Finding]]:
        """Assert a subject's fact (its derive and rules fire); record where it lives."""
        part = self._partition_for(s)
        slot = part.slot()
        part.subjects[slot] = s
        part.emitted = []
        part.emitted_facts = []
        fired_before = part.fired
        fact = {"kind": "subject", "e": s.kind, "n": str(slot)}
        try:
            fid = part.live.assert_fact(fact)
        except EngineError as exc:
            raise EngineError(f"live session, {s.kind} {s.key}: {exc}") from exc
        part.facts[slot] = [(fact, fid), *part.emitted_facts]
        part.size += 1
        self._where[(s.kind, s.key)] = (part.index, slot)
        found = part.emitted
        self._findings[(s.kind, s.key)] = found
        return 1 + len(part.emitted_facts), part.fired - fired_before, found

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

    # -- aggregates ----------------------------------------------------------------------------

    def _aggregate(
        self, node: ir.Aggregate, owner: Any, value: Any, filt: Any, source: str, t: Trace | None
    ) -> Any:
        if node.func in ("min", "max"):
            return NotImplemented
        collection = node.collection.names[0]
        key = (id(node), owner.kind, owner.key)
        state = self._agg_state.get(key)
        if state is None:
            kids = owner.children(collection)
            if kids is None:
                return NotImplemented
            state = _Aggregate(node.func, node.filter is not None)
            seqs = self._seqs_of(owner.kind, owner.key, collection)
            show = display_field(self.policy, c_kind) if (c_kind := _child_kind(kids)) else None
            for c, seq in zip(kids, seqs, strict=True):
                part, reads = _contribution(node.func, value, filt, c, self.ctx)
                state.add(c.key, seq, part, reads, _shown(c, show))
            if not state.total:
                state.total = list(_EMPTY[node.func])
            self._agg_state[key] = state
            self._agg_by_owner.setdefault((owner.kind, owner.key), set()).add(id(node))
            self._agg_nodes[id(node)] = node
            self._agg_fns[id(node)] = (value, filt, source)
        result, missing = _result(node.func, state.has_filter, state.total)
        if t is not None:
            ct = ChildTrace(t)
            for seq in sorted(state.reads):
                for r in state.reads[seq]:
                    ct.record(r)
            t.record(AggregateRead(source, result, len(state.contrib), missing))
        return result

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

    def _update_contributions(
        self, child: SubjectKey, memberships: Iterable[tuple[str, str, str]]
    ) -> set[SubjectKey]:
        """Refresh ``child``'s contribution to every cached aggregate of the collections it was
        or is in; return the owners whose aggregate values or traces changed."""
        changed: set[SubjectKey] = set()
        kind, key = child
        table = KIND_TABLE.get(kind)
        active = table is not None and (table, key) in self._active
        current = set(self.index.memberships.get(child, [])) if active else set()
        for owner_kind, owner_key, coll in set(memberships) | current:
            for node in self._aggs.get((owner_kind, coll), ()):
                state = self._agg_state.get((id(node), owner_kind, owner_key))
                if state is None:  # min/max, or never read: re-evaluate the owner
                    changed.add((owner_kind, owner_key))
                    continue
                value, filt, _ = self._agg_fns[id(node)]
                before = state.contrib.get(key)
                state.remove(key)
                after = None
                if (owner_kind, owner_key, coll) in current:
                    s = self.ctx.subject(kind, key)
                    assert s is not None
                    part, reads = _contribution(node.func, value, filt, s, self.ctx)
                    seq = self._seq[(table, key)]  # type: ignore[index]
                    shown = _shown(s, display_field(self.policy, kind))
                    state.add(key, seq, part, reads, shown)
                    after = (part, reads, seq, shown)
                if before != after:
                    changed.add((owner_kind, owner_key))
        return changed

    # -- applying changes ----------------------------------------------------------------------

    def apply(self, changes: Iterable[Change]) -> ChangeResult:
        """Apply record upserts and deletes; return the findings that changed (see the module
        docs). Every change is validated before anything is applied.

        Ctrl-C (SIGINT) in the main thread is held back until the change is applied and raised
        as KeyboardInterrupt after it: an interrupt half-way through left the session's records,
        aggregates and durable-rules facts out of step with each other for good (issue 17).
        """
        with _durable.interrupts_deferred():
            return self._apply(changes)

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
                for ref in sorted(
                    self._referrers.get((table, key), ()), key=lambda r: list(TABLES).index(r[0])
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

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_MISSING = object()
_EMPTY: dict[str, tuple[Any, ...]] = {
    "count": (0, 0, 0),
    "sum": (_ZERO, _ZERO, 0, 0),
    "share": (0, 0, 0, 0, 0, 0),
    "all": (0, 0),
    "any": (0, 0),
}


def _durable_engine() -> _durable.DurableEngine:
    from fupin_rules.engine.inference import _shared_engine

    return _shared_engine()
