"""The inference engine: each policy version compiled to its own durable-rules ruleset.

How a unit (one household with its members and records, one village, or the county) runs:

1. Python evaluates each rule's scope (``applies_if``, and whether the rule is in force) on
   each subject of the unit. A rule out of scope gets its not-applicable finding at once; the
   others are set aside, by the group of at most :data:`MAX_RULES_PER_GROUP` rules of its entity
   they belong to, as the group's *work* (subject, rule, scope);
2. one session of the ruleset is opened and one *work fact* is asserted per group that has
   work (``{"kind": "work:<entity>:<group>"}``: one pattern per fact kind);
3. each group is one durable rule matching its work fact; its action evaluates the group's work
   (each rule's named conditions on each subject in scope) and records the explained findings.

Before, the scopes were evaluated inside the session (one subject fact and one ``derive``
action per subject, then one derived fact per subject and group, and one action per rule and
subject in scope: about 22 actions and 10 facts per household of the sample). Routing through
the Rete network what Python had already decided cost durable-rules' own 30–40 µs per action
(JSON of the state and message, closures, timestamps), and made this engine 2–2.5× the
reference engine per household. Now a household takes one action per group with work (for
county_2017 at most three: its person, household and relocation rules) and as many facts.

Every durable-rules trap of the field guide is handled by :mod:`fupin_rules.engine._durable`
(private host without background threads, one lock, sessions deleted after each unit, short
sequential fact ids checked collision-free, errors in actions raised to the caller, a catch-all
rule, pattern limits). A failing unit raises :class:`~fupin_rules.errors.EngineError` naming the
unit; :func:`~fupin_rules.engine.run.run_policy` turns it into an error row and goes on. A rule
failing on one subject is isolated: its error is recorded and the other findings are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fupin_rules.engine import _durable
from fupin_rules.engine._durable import ActionContext, DurableEngine, Match, RulesetSpec, RuleSpec
from fupin_rules.engine.context import Context, RecordSubject
from fupin_rules.engine.evaluate import RULE_FAILURES, Scope, evaluate_rule, evaluate_scope
from fupin_rules.engine.plan import Unit
from fupin_rules.engine.run import SubjectError, rule_failed
from fupin_rules.errors import EngineError
from fupin_rules.findings.model import Finding
from fupin_rules.policy.model import Policy, Rule

__all__ = ["MAX_RULES_PER_GROUP", "InferenceEngine", "durable_available"]

#: rules routed by one derived fact (a fact matching more than 64 tests raised error 303; the
#: wrapper refuses more than 48 patterns per fact kind)
MAX_RULES_PER_GROUP = 32

_lock = threading.Lock()
_engine: DurableEngine | None = None
_compiled: dict[str, _CompiledPolicy] = {}


def durable_available() -> bool:
    """True when durable-rules' C extension imports on this Python."""
    return _durable.durable_available()


def _shared_engine() -> DurableEngine:
    global _engine
    with _lock:
        if _engine is None:
            _engine = DurableEngine()
        return _engine


def _work_kind(entity: str, group: int) -> str:
    """The fact kind of one group's work fact."""
    return f"work:{entity}:{group}"


class _Unit:
    """What the actions of one session work on."""

    __slots__ = ("ctx", "failures", "findings", "work")

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.findings: list[Finding] = []
        #: work fact kind -> (subject, rule, scope) to evaluate when the group's rule fires
        self.work: dict[str, list[tuple[RecordSubject, Rule, Scope | None]]] = {}
        # (rule id, subject, error) of each rule that failed on a subject: isolated per rule
        self.failures: list[tuple[str, RecordSubject, Exception]] = []


class _CompiledPolicy:
    """One policy version as a ruleset spec: one durable rule per group of rules of an entity."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.groups: dict[str, list[list[Rule]]] = {}
        #: rule id -> the work fact kind of its group
        self.kind_of: dict[str, str] = {}
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
            for g, group in enumerate(groups):
                kind = _work_kind(entity, g)
                specs.append(RuleSpec(f"group:{entity}:{g}", Match(kind=kind), self._fire(kind)))
                for rule in group:
                    self.kind_of[rule.id] = kind
        name = f"fupin:{policy.id}:{policy.version}:{policy.content_hash[:16]}"
        self.handle = _shared_engine().register(RulesetSpec(name, specs))

    @staticmethod
    def _fire(kind: str) -> Callable[[ActionContext], None]:
        def fire(c: ActionContext) -> None:
            unit: _Unit = c.context
            for subject, rule, scope in unit.work.pop(kind, ()):
                try:
                    unit.findings.append(evaluate_rule(rule, subject, unit.ctx, scope))
                except RULE_FAILURES as exc:
                    unit.failures.append((rule.id, subject, exc))

        return fire


class InferenceEngine:
    """Evaluates units through durable-rules; the same findings as the reference engine.

    Raises :class:`~fupin_rules.errors.EngineUnavailableError` when durable-rules does not import.
    """

    name = "inference"

    def __init__(self) -> None:
        self._engine = _shared_engine()

    @staticmethod
    def _compiled(policy: Policy) -> _CompiledPolicy:
        key = policy.ref + policy.content_hash
        with _lock:
            found = _compiled.get(key)
        if found is None:
            found = _CompiledPolicy(policy)
            with _lock:
                _compiled[key] = found
        return found

    def evaluate_unit(
        self, unit: Unit, ctx: Context, errors: list[SubjectError] | None = None
    ) -> list[Finding]:
        """Run one unit in a fresh session; raise EngineError naming the unit if the session failed.

        A rule failing on one subject is isolated (see
        :class:`~fupin_rules.engine.run.UnitEngine`): the unit's other findings are kept.
        """
        compiled = self._compiled(ctx.policy)
        work = _Unit(ctx)
        kind_of = compiled.kind_of
        for subject, rules in unit.work:
            for rule in rules:
                # the scope decides whether the rule has work in this session
                try:
                    scope = evaluate_scope(rule, subject, ctx)
                    if scope is not None and scope[0] is False:
                        work.findings.append(evaluate_rule(rule, subject, ctx, scope))
                        continue
                except RULE_FAILURES as exc:
                    work.failures.append((rule.id, subject, exc))
                    continue
                work.work.setdefault(kind_of[rule.id], []).append((subject, rule, scope))
        try:
            if work.work:
                with (
                    _durable.interrupts_deferred(),
                    self._engine.session(compiled.handle, context=work) as session,
                ):
                    for kind in list(work.work):
                        session.assert_fact({"kind": kind})
        except EngineError as exc:
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            raise EngineError(
                f"{unit.owner.kind} {unit.owner.key}: a rule action failed: {cause}"
            ) from exc
        except Exception as exc:  # an action's own error, re-raised by the wrapper
            raise EngineError(
                f"{unit.owner.kind} {unit.owner.key}: a rule action failed: {exc}"
            ) from exc
        if work.work:  # a group's rule did not fire: a bug of the ruleset, never "no finding"
            raise EngineError(
                f"{unit.owner.kind} {unit.owner.key}: no rule fired for {', '.join(work.work)}"
            )
        for rule_id, subject, failure in work.failures:
            rule_failed(unit, rule_id, subject.kind, subject.key, failure, errors)
        return work.findings
