"""Decide first, explain on demand: one rule on one subject, the lean way.

:func:`decide_rule` gives the same verdict, amount and outputs as
:func:`~fupin_rules.engine.evaluate.evaluate_rule`, evaluating only the rule's own expressions
(``applies_if``, the conditions, the amount, the outputs) without a trace: the derived
variables, aggregates and parameters they read are computed on demand and memoised in the
:class:`~fupin_rules.engine.context.Context` — the rule's dependency slice (:func:`rule_slice`,
computed once per policy version) and nothing else. The explanation is built by
:func:`~fupin_rules.engine.evaluate.evaluate_rule` the first time someone reads it
(:class:`RuleExplainer`), so its content is exactly what the reference path gives.

The explainer keeps the rule, the subject and the context of the decision. A context is a
pure function of immutable inputs (a frozen policy, the as-of date and an index over a frozen
:class:`~fupin_rules.domain.dataset.Dataset` of frozen records); its memo of derived values
only caches what those inputs determine. An explanation built later therefore describes the
data as it was when the decision was made, even if the caller has moved on to other data.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import attrs

from fupin_rules.engine.context import Context, RecordSubject
from fupin_rules.engine.evaluate import build_finding, evaluate_rule, to_decimal_yuan
from fupin_rules.errors import EngineError
from fupin_rules.expr import UNKNOWN, Interval, evaluate, params_used, referenced_fields
from fupin_rules.expr.values import k_and
from fupin_rules.findings.model import Explanation, Finding, Outcome
from fupin_rules.policy.model import Policy, Rule

__all__ = ["RuleExplainer", "RuleSlice", "decide_rule", "policy_slices", "rule_slice"]


@attrs.frozen
class RuleSlice:
    """What one rule reads, transitively: derived variables (in dependency order) and parameters.

    ``variables`` are ``(entity, name)`` of the derived variables the rule's expressions reach
    directly or through other variables (aggregates are variables over collections);
    ``parameters`` every parameter read on the way.
    """

    rule_id: str
    variables: tuple[tuple[str, str], ...]
    parameters: tuple[str, ...]


_lock = threading.Lock()
_slices: dict[str, Mapping[str, RuleSlice]] = {}


def policy_slices(policy: Policy) -> Mapping[str, RuleSlice]:
    """Every rule's dependency slice, computed once per policy version (id, version, hash)."""
    key = policy.ref + policy.content_hash
    found = _slices.get(key)
    if found is not None:
        return found
    schema = policy.schema
    order = {(v.entity, v.name): i for i, v in enumerate(policy.variables)}
    by_key = {(v.entity, v.name): v for v in policy.variables}
    var_deps: dict[tuple[str, str], frozenset[tuple[str, str]]] = {}
    var_params: dict[tuple[str, str], frozenset[str]] = {}
    for v in policy.variables:  # dependency order: a variable's inputs come before it
        deps: set[tuple[str, str]] = set()
        names = set(params_used(v.expr))
        for dep in referenced_fields(v.expr, schema, v.entity):
            if dep in by_key:
                deps.add(dep)
                deps |= var_deps.get(dep, frozenset())
                names |= var_params.get(dep, frozenset())
        var_deps[(v.entity, v.name)] = frozenset(deps)
        var_params[(v.entity, v.name)] = frozenset(names)
    out: dict[str, RuleSlice] = {}
    for rule in policy.rules:
        variables: set[tuple[str, str]] = set()
        params: set[str] = set()
        for _where, expr in rule.expressions():
            params |= set(params_used(expr))
            for dep in referenced_fields(expr, schema, rule.entity):
                if dep in by_key:
                    variables.add(dep)
                    variables |= var_deps[dep]
        for var in variables:
            params |= var_params[var]
        out[rule.id] = RuleSlice(
            rule.id, tuple(sorted(variables, key=order.__getitem__)), tuple(sorted(params))
        )
    with _lock:
        _slices[key] = out
    return out


def rule_slice(policy: Policy, rule_id: str) -> RuleSlice:
    """The dependency slice of one rule (see :func:`policy_slices`)."""
    return policy_slices(policy)[rule_id]


@attrs.frozen
class RuleExplainer:
    """Builds the explanation of a decided finding: the reference path's, exactly.

    Holds only the decision's immutable inputs (see the module notes) and the decided verdict,
    which the explanation must agree with.
    """

    rule: Rule
    subject: RecordSubject
    ctx: Context
    verdict: Outcome

    def __call__(self) -> Explanation:
        """(conditions, parameters, applies_if) as :func:`evaluate_rule` gives them."""
        full = evaluate_rule(self.rule, self.subject, self.ctx)
        if full.verdict is not self.verdict:  # pragma: no cover - would be an engine bug
            raise EngineError(
                f"rule {self.rule.id!r} on {self.subject.kind} {self.subject.key}: the "
                f"explanation gives {full.verdict.value}, the decision {self.verdict.value}"
            )
        return full.conditions, full.parameters, full.applies_if


def decide_rule(rule: Rule, subject: RecordSubject, ctx: Context) -> Finding:
    """The finding of ``rule`` on ``subject`` as of ``ctx.on``, its explanation built on demand.

    Verdict, amount and outputs equal :func:`evaluate_rule`'s; ``conditions``, ``parameters``
    and ``applies_if`` are built by :func:`evaluate_rule` the first time one is read.
    """
    verdict: Outcome | None = None
    if not ctx.policy.in_force(rule, ctx.on):  # outside the policy's own period (issue 12)
        verdict = Outcome.NOT_APPLICABLE  # explained by evaluate_rule's "in force" scope
    elif rule.applies_if is not None:
        scope = evaluate(rule.applies_if.expr, subject, ctx, None)
        if scope is False:
            verdict = Outcome.NOT_APPLICABLE
        elif scope is UNKNOWN or isinstance(scope, Interval):
            verdict = Outcome.UNKNOWN
    if verdict is None:
        values = []
        for cond in rule.conditions:
            v = evaluate(cond.expr, subject, ctx, None)
            values.append(UNKNOWN if isinstance(v, Interval) else v)
        verdict = Outcome.of(k_and(*values)) if values else Outcome.PASS
    amount = None
    if verdict is Outcome.PASS and rule.amount is not None:
        amount = to_decimal_yuan(evaluate(rule.amount.expr, subject, ctx, None))
        if amount is None:  # e.g. a parameter asked before its first value: never a pass
            verdict = Outcome.UNKNOWN
    outputs: tuple[tuple[str, object], ...] = ()
    if verdict is not Outcome.NOT_APPLICABLE and rule.outputs:
        outputs = tuple((o.id, evaluate(o.expr, subject, ctx, None)) for o in rule.outputs)
    return build_finding(
        rule,
        ctx.policy,
        subject.kind,
        subject.key,
        ctx.on,
        verdict,
        amount,
        outputs,
        (),
        {},
        None,
        explainer=RuleExplainer(rule, subject, ctx, verdict),
    )
