"""The inference engine: each policy version compiled to its own durable-rules ruleset.

How a unit (one household with its members and records, one village, or the county) runs, in
one session of the ruleset:

1. one *subject fact* per subject is asserted (``{"kind": "subject", "e": <entity kind>,
   "n": <index>}``);
2. a ``derive:<entity>`` rule fires on it, computes the subject's derived variables (the
   stratum's aggregates enter here) and each rule's scope (``applies_if``), and asserts one
   *derived fact* per group of at most :data:`MAX_RULES_PER_GROUP` rules
   (``{"kind": "derived:<entity>:<group>", "n": index, "a<j>": "y"|"n"}``) — the chain;
3. every policy rule is one durable rule matching the derived facts of its entity and group
   whose ``a<j>`` says the rule applies (each group is its own fact kind, so no kind is tested
   by more than :data:`MAX_RULES_PER_GROUP` patterns however many rules an entity has: 49
   household rules in one kind hit durable-rules' 48-pattern limit); its action evaluates the rule's named conditions and
   records the explained finding. Rules out of scope are not fired: their not-applicable
   finding is recorded by the derive action.

Every durable-rules trap of the field guide is handled by :mod:`fupin_rules.engine._durable`
(private host without background threads, one lock, sessions deleted after each unit, short
sequential fact ids checked collision-free, errors in actions raised to the caller, a catch-all
rule, pattern limits). A failing unit raises :class:`~fupin_rules.errors.EngineError` naming the
unit; :func:`~fupin_rules.engine.run.run_policy` turns it into an error row and goes on.
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


def _derived_kind(entity: str, group: int) -> str:
    """The fact kind of one group's derived facts (one kind per group: bounded patterns per kind)."""
    return f"derived:{entity}:{group}"


class _Unit:
    """What the actions of one session work on."""

    __slots__ = ("ctx", "failures", "findings", "scopes", "subjects")

    def __init__(
        self, ctx: Context, subjects: list[tuple[RecordSubject, tuple[Rule, ...]]]
    ) -> None:
        self.ctx = ctx
        self.subjects = subjects
        self.findings: list[Finding] = []
        self.scopes: dict[tuple[str, str], Scope] = {}
        # (rule id, subject, error) of each rule that failed on a subject: isolated per rule
        self.failures: list[tuple[str, RecordSubject, Exception]] = []


class _CompiledPolicy:
    """One policy version as a ruleset spec: derive rules and one durable rule per policy rule."""

    def __init__(self, policy: Policy) -> None:
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
                    when = Match(kind=_derived_kind(entity, g), **{f"a{j}": "y"})
                    specs.append(RuleSpec(f"rule:{rule.id}", when, self._fire(rule)))
        name = f"fupin:{policy.id}:{policy.version}:{policy.content_hash[:16]}"
        self.handle = _shared_engine().register(RulesetSpec(name, specs))

    def _derive(self, entity: str) -> Callable[[ActionContext], None]:
        def derive(c: ActionContext) -> None:
            unit: _Unit = c.context
            n = str(c.fact["n"])
            subject, _ = unit.subjects[int(n)]
            ctx = unit.ctx
            for var in ctx.policy.variables_for(entity):
                try:
                    ctx.derived(subject, var)
                except RULE_FAILURES:
                    pass  # raised again, and isolated, in each rule that reads the variable
            for g, group in enumerate(self.groups[entity]):
                fact: dict[str, str | int] = {"kind": _derived_kind(entity, g), "n": n}
                routed = False
                for j, rule in enumerate(group):
                    # the rule's scope decides whether the Rete network routes the fact to it
                    try:
                        scope = evaluate_scope(rule, subject, ctx)
                        if scope is not None and scope[0] is False:
                            fact[f"a{j}"] = "n"
                            unit.findings.append(evaluate_rule(rule, subject, ctx, scope))
                            continue
                    except RULE_FAILURES as exc:
                        fact[f"a{j}"] = "n"
                        unit.failures.append((rule.id, subject, exc))
                        continue
                    fact[f"a{j}"] = "y"
                    routed = True
                    if scope is not None:
                        unit.scopes[(n, rule.id)] = scope
                if routed:
                    c.assert_fact(fact)

        return derive

    @staticmethod
    def _fire(rule: Rule) -> Callable[[ActionContext], None]:
        def fire(c: ActionContext) -> None:
            unit: _Unit = c.context
            n = str(c.fact["n"])
            subject, _ = unit.subjects[int(n)]
            scope = unit.scopes.pop((n, rule.id), None)
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
        work = _Unit(ctx, list(unit.work))
        try:
            with (
                _durable.interrupts_deferred(),
                self._engine.session(compiled.handle, context=work) as session,
            ):
                for n, (subject, _rules) in enumerate(work.subjects):
                    if subject.kind in compiled.groups:
                        session.assert_fact({"kind": "subject", "e": subject.kind, "n": str(n)})
        except EngineError as exc:
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            raise EngineError(
                f"{unit.owner.kind} {unit.owner.key}: a rule action failed: {cause}"
            ) from exc
        except Exception as exc:  # an action's own error, re-raised by the wrapper
            raise EngineError(
                f"{unit.owner.kind} {unit.owner.key}: a rule action failed: {exc}"
            ) from exc
        for rule_id, subject, failure in work.failures:
            rule_failed(unit, rule_id, subject.kind, subject.key, failure, errors)
        return work.findings
