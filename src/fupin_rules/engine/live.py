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

import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from typing import Any

from fupin_rules.domain.dataset import TABLES, Dataset
from fupin_rules.domain.models import Record
from fupin_rules.engine import _durable
from fupin_rules.engine._durable import ActionContext, Match, RulesetSpec, RuleSpec
from fupin_rules.engine.context import (
    KIND_TABLE,
    TABLE_KIND,
    Context,
    RecordSubject,
)
from fupin_rules.engine.drill import DrillSpec, display_field
from fupin_rules.engine.evaluate import evaluate_rule, evaluate_scope
from fupin_rules.engine.live_aggregates import (
    _EMPTY,
    _Aggregate,
    _child_kind,
    _contribution,
    _result,
    _shown,
)
from fupin_rules.engine.live_analysis import _depths, _scoped_walk
from fupin_rules.engine.live_apply import _SessionChanges
from fupin_rules.engine.live_changes import Change, ChangeResult, FindingChange
from fupin_rules.engine.live_index import SubjectKey, _LiveIndex, _Partition
from fupin_rules.errors import EngineError
from fupin_rules.expr import AggregateRead, Trace, ir
from fupin_rules.expr.trace import ChildTrace
from fupin_rules.findings.model import Finding
from fupin_rules.policy.model import Policy, Rule

__all__ = ["DEFAULT_PARTITION_SIZE", "Change", "ChangeResult", "FindingChange", "Session"]

#: subjects per durable-rules session (partition); at 1 subject fact + up to 2 derived facts
#: per subject this stays well inside the 100,000 fact ids checked collision-free
DEFAULT_PARTITION_SIZE = 20_000
#: partitions per session (durable-rules allows 1,024 live sessions per ruleset)
MAX_PARTITIONS = 1000
MAX_RULES_PER_GROUP = 32


# --- the live ruleset ----------------------------------------------------------------------


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


class Session(_SessionChanges):
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

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _durable_engine() -> _durable.DurableEngine:
    from fupin_rules.engine.inference import _shared_engine

    return _shared_engine()
