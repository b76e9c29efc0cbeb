"""Evaluate one rule on one subject and build its explained finding (the reference path).

Both engines call :func:`evaluate_rule`: the inference engine from its durable-rules actions, the
tests directly. The batch engine computes the same verdicts column-wise and is checked against it.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from fupin_rules._version import __version__
from fupin_rules.engine.context import Context, RecordSubject
from fupin_rules.engine.drill import MAX_CHILDREN_NAMED, display_field, display_text, drill_specs
from fupin_rules.errors import FupinRulesError, RuleEvaluationError
from fupin_rules.expr import (
    UNKNOWN,
    AggregateRead,
    DeadlineRead,
    FieldRead,
    Interval,
    ParamRead,
    Trace,
    evaluate,
)
from fupin_rules.expr.deadline import deadline_state
from fupin_rules.expr.values import k_and
from fupin_rules.findings.model import (
    ConditionResult,
    DeadlineCheck,
    DrillDown,
    Explainer,
    Finding,
    MissingField,
    Outcome,
    ParameterUse,
    ValueRead,
)
from fupin_rules.policy.model import Condition, Policy, Rule, Text
from fupin_rules.policy.reads import field_label, read_info

__all__ = [
    "MAX_MISSING_LISTED",
    "RULE_FAILURES",
    "Scope",
    "build_finding",
    "deadline_check",
    "evaluate_rule",
    "evaluate_scope",
    "not_in_force",
    "to_decimal_yuan",
]

#: at most this many missing fields are named per condition (the rest are counted in the values)
MAX_MISSING_LISTED = 20

#: what evaluating one rule on one subject may raise: the reference and inference engines turn
#: each into an error row for that rule and subject (:class:`RuleEvaluationError`) and keep the
#: unit's other findings, as the batch engine does per rule
RULE_FAILURES: tuple[type[Exception], ...] = (
    FupinRulesError,
    ArithmeticError,
    ValueError,
    KeyError,
    TypeError,
    RecursionError,
)


def to_decimal_yuan(value: Any) -> Decimal | None:
    """An exact amount as Decimal, rounded to fen only if the rule produced a finer fraction.

    The decimal context's precision is widened to the amount's size, so a very large amount is
    exact (with the default 28 digits it was silently rounded, or failed with InvalidOperation).
    """
    if value is UNKNOWN or isinstance(value, Interval) or value is None:
        return None
    f = Fraction(value)
    digits = len(str(abs(f.numerator) // f.denominator))
    with decimal.localcontext() as c:
        c.prec = max(28, digits + 30)
        c.Emax = max(c.Emax, digits + 30)
        d = Decimal(f.numerator) / Decimal(f.denominator)
        return d.quantize(Decimal("0.01")) if d != d.quantize(Decimal("0.01")) else d


def _param_use(ctx: Context, r: ParamRead) -> ParameterUse:
    """The parameter as used: value, period and the status of that value (seed/assumed)."""
    rp = ctx.param(r.name)
    return ParameterUse(r.name, r.value, r.start, r.end, rp.status, rp.unit, rp.clause)


def _param_use_named(ctx: Context, name: str) -> ParameterUse:
    """A parameter used behind a derived variable, resolved at the as-of date."""
    rp = ctx.param(name)
    return ParameterUse(name, rp.value, rp.start, rp.end, rp.status, rp.unit, rp.clause)


def _owner(ctx: Context, r: FieldRead) -> tuple[RecordSubject | None, str]:
    """The record that holds the field a read ended on (walking the path's parent links)."""
    subject = ctx.subject(r.subject_kind, r.subject_key)
    for link in r.path[:-1]:
        if subject is None:
            break
        subject = subject.parent(link)
    return subject, r.path[-1]


def _missing(
    ctx: Context,
    reads: Iterable[Any],
    out: dict[tuple[str, str, str], MissingField],
    depth: int = 0,
) -> None:
    """Collect the raw input fields behind unknown values, following derived variables."""
    for r in reads:
        if len(out) >= MAX_MISSING_LISTED:
            return
        if not isinstance(r, FieldRead):
            continue
        if r.value is not UNKNOWN and not isinstance(r.value, Interval):
            continue
        owner, name = _owner(ctx, r)
        if owner is None:
            continue
        var = ctx.variables.get((owner.kind, name))
        if var is None:
            if r.value is UNKNOWN:
                key = (owner.kind, owner.key, name)
                out.setdefault(
                    key,
                    MissingField(
                        owner.kind, owner.key, name, field_label(ctx.policy, owner.kind, name)
                    ),
                )
            continue
        if depth > 6:
            continue
        sub = Trace()
        evaluate(var.expr, owner, ctx, sub)
        _missing(ctx, sub.reads, out, depth + 1)


def _condition(
    ctx: Context, cond: Condition, subject: RecordSubject, params: dict[str, ParameterUse]
) -> tuple[Any, ConditionResult]:
    trace = Trace()
    value = evaluate(cond.expr, subject, ctx, trace)
    reads: dict[tuple[str, str, str], ValueRead] = {}
    deadlines: list[DeadlineCheck] = []
    for r in trace.reads:
        if (
            isinstance(r, FieldRead)
            and r.subject_key == subject.key
            and r.subject_kind == subject.kind
        ):
            path = ".".join(r.path)
            key = (r.subject_kind, r.subject_key, path)
            if key not in reads:
                label, behind = read_info(ctx.policy, r.subject_kind, r.path)
                reads[key] = ValueRead(r.subject_kind, r.subject_key, path, r.value, label)
                for name in behind:
                    if name not in params:
                        params[name] = _param_use_named(ctx, name)
        elif isinstance(r, AggregateRead):
            reads.setdefault(
                (subject.kind, subject.key, r.source),
                ValueRead(subject.kind, subject.key, r.source, r.value),
            )
        elif isinstance(r, ParamRead):
            params.setdefault(r.name, _param_use(ctx, r))
        elif isinstance(r, DeadlineRead):
            deadlines.append(deadline_check(ctx.policy, r, ctx.on))
    missing: dict[tuple[str, str, str], MissingField] = {}
    outcome = Outcome.of(value)
    if outcome is Outcome.UNKNOWN:
        _missing(ctx, trace.reads, missing)
    children = _drill(ctx, cond, subject) if outcome is Outcome.FAIL else ()
    return value, ConditionResult(
        id=cond.id,
        title_zh=cond.title.zh,
        title_en=cond.title.en,
        expr=cond.text,
        outcome=outcome,
        reads=tuple(reads.values()),
        missing=tuple(missing.values()),
        deadlines=tuple(dict.fromkeys(deadlines)),
        children=children,
    )


def _drill(ctx: Context, cond: Condition, subject: RecordSubject) -> tuple[DrillDown, ...]:
    """The child records behind a failing condition (see :mod:`fupin_rules.engine.drill`)."""
    out: list[DrillDown] = []
    # a live session (fupin_rules.engine.live) answers from its per-child aggregate parts
    hook = getattr(ctx, "drill_hook", None)
    for spec in drill_specs(ctx.policy, subject.kind, cond):
        show = display_field(ctx.policy, spec.child_kind)
        got = hook(spec, subject) if hook is not None else NotImplemented
        if got is not NotImplemented:
            total, keys = got
            if not total:
                continue
            shown = [ctx.subject(spec.child_kind, k) for k in keys]
            records = tuple(
                (k, display_text(s.value(show) if show and s is not None else None))
                for k, s in zip(keys, shown, strict=True)
            )
            out.append(DrillDown(spec.source, spec.child_kind, spec.role, records, total))
            continue
        kids = subject.children(spec.collection)
        if not kids:
            continue
        named = [k for k in kids if evaluate(spec.test, k, ctx) is True]
        if not named:
            continue
        records = tuple(
            (k.key, display_text(k.value(show) if show else None))
            for k in named[:MAX_CHILDREN_NAMED]
        )
        out.append(DrillDown(spec.source, spec.child_kind, spec.role, records, len(named)))
    return tuple(out)


def deadline_check(policy: Policy, r: DeadlineRead, on: dt.date) -> DeadlineCheck:
    """The explanation of one ``done_by()`` (both engines build it from the same read)."""
    label, _ = read_info(policy, r.subject_kind, r.path)
    return DeadlineCheck(
        r.subject_kind,
        r.subject_key,
        ".".join(r.path),
        label,
        None if r.record is UNKNOWN else r.record,
        None if r.deadline is UNKNOWN else r.deadline,
        deadline_state(r.record, r.deadline, on),
    )


def build_finding(
    rule: Rule,
    policy: Policy,
    subject_kind: str,
    subject_id: str,
    on: dt.date,
    verdict: Outcome,
    amount: Decimal | None,
    outputs: Iterable[tuple[str, Any]],
    conditions: Iterable[ConditionResult],
    params: Mapping[str, ParameterUse],
    applies_if: ConditionResult | None,
    *,
    explainer: Explainer | None = None,
) -> Finding:
    """A finding with the rule's citation and the policy's provenance (both engines use this).

    With an ``explainer`` the explanation (conditions, parameters, applies_if) is built by it on
    first access instead of being given here.
    """
    return Finding(
        rule_id=rule.id,
        rule_kind=rule.kind,
        subject_kind=subject_kind,
        subject_id=subject_id,
        verdict=verdict,
        clause=rule.clause,
        title_zh=rule.title.zh,
        title_en=rule.title.en,
        policy_id=policy.id,
        policy_version=policy.version,
        policy_hash=policy.content_hash,
        engine_version=__version__,
        on=on,
        status=rule.status,
        amount=amount,
        outputs=tuple(outputs),
        conditions=tuple(conditions),
        parameters=tuple(sorted(params.values(), key=lambda p: p.name)),
        applies_if=applies_if,
        explainer=explainer,
        assumptions=policy.assumed_basis(rule),
        output_titles=_output_titles(rule) if rule.outputs else (),
    )


def _output_titles(rule: Rule) -> tuple[tuple[str, str, str], ...]:
    """(name, zh, en) of the outputs the policy titles (an untitled one is titled by its name)."""
    return tuple(
        (o.id, o.title.zh, o.title.en) for o in rule.outputs if o.title != Text(o.id, o.id)
    )


#: a rule's evaluated scope: the value of ``applies_if``, its explanation, the parameters it read
Scope = tuple[Any, ConditionResult, dict[str, ParameterUse]]


def not_in_force(policy: Policy, rule: Rule, on: dt.date) -> ConditionResult | None:
    """Why ``rule`` does not answer a question dated ``on`` (None when it is in force).

    The finding of such a rule is not applicable, with this failed "in force" condition as its
    scope, in every engine; reports list the rules not in force (see
    :meth:`~fupin_rules.policy.model.Policy.in_force`).
    """
    if policy.in_force(rule, on):
        return None
    start, end = policy.effective
    period = f"{start.isoformat() if start else ''} ~ {end.isoformat() if end else ''}"
    return ConditionResult(
        id="in_force",
        title_zh=f"政策有效期({period})内; 期满后只核查期内到期的任务(done_by)",
        title_en=(
            f"Within the policy's period ({period}); after it only obligations that fell due "
            "inside it (done_by) are checked"
        ),
        expr=f"policy.effective: {period}",
        outcome=Outcome.FAIL,
        reads=(ValueRead("policy", policy.id, "on", on, "判定日期"),),
    )


def evaluate_scope(rule: Rule, subject: RecordSubject, ctx: Context) -> Scope | None:
    """Evaluate a rule's ``applies_if`` (None when the rule has none).

    Raises :class:`RuleEvaluationError` (naming the rule, the subject and ``applies_if``) for any
    of :data:`RULE_FAILURES`.
    """
    nif = not_in_force(ctx.policy, rule, ctx.on)
    if nif is not None:
        return False, nif, {}
    if rule.applies_if is None:
        return None
    params: dict[str, ParameterUse] = {}
    try:
        value, result = _condition(ctx, rule.applies_if, subject, params)
    except RuleEvaluationError:
        raise
    except RULE_FAILURES as exc:
        raise RuleEvaluationError(rule.id, subject.kind, subject.key, "applies_if", exc) from exc
    return value, result, params


def evaluate_rule(
    rule: Rule, subject: RecordSubject, ctx: Context, scope: Scope | None = None
) -> Finding:
    """The finding of ``rule`` on ``subject`` as of ``ctx.on``: verdict, amount, explanation.

    ``scope`` is the rule's already evaluated ``applies_if`` (see :func:`evaluate_scope`), so an
    engine that routes on the scope does not evaluate it twice. Raises
    :class:`RuleEvaluationError` (naming the rule, the subject and the part being evaluated) for
    any of :data:`RULE_FAILURES`.
    """
    part = ["the rule"]
    try:
        return _evaluate_rule(rule, subject, ctx, scope, part)
    except RuleEvaluationError:
        raise
    except RULE_FAILURES as exc:
        raise RuleEvaluationError(rule.id, subject.kind, subject.key, part[0], exc) from exc


def _evaluate_rule(
    rule: Rule, subject: RecordSubject, ctx: Context, scope: Scope | None, part: list[str]
) -> Finding:
    policy = ctx.policy
    nif = not_in_force(policy, rule, ctx.on)
    if nif is not None:
        return build_finding(
            rule,
            policy,
            subject.kind,
            subject.key,
            ctx.on,
            Outcome.NOT_APPLICABLE,
            None,
            (),
            (),
            {},
            nif,
        )
    params: dict[str, ParameterUse] = {}
    applies_result = None
    conditions: list[ConditionResult] = []
    amount = None
    outputs: list[tuple[str, Any]] = []
    verdict: Outcome
    if rule.applies_if is not None:
        if scope is None:
            part[0] = "applies_if"
            scope = evaluate_scope(rule, subject, ctx)
        assert scope is not None
        value, applies_result, scope_params = scope
        params.update(scope_params)
        if value is False:
            verdict = Outcome.NOT_APPLICABLE
        elif value is UNKNOWN or isinstance(value, Interval):
            verdict = Outcome.UNKNOWN
    if rule.applies_if is None or applies_result is None or applies_result.outcome is Outcome.PASS:
        values = []
        for cond in rule.conditions:
            part[0] = f"condition {cond.id}"
            v, res = _condition(ctx, cond, subject, params)
            values.append(v if not isinstance(v, Interval) else UNKNOWN)
            conditions.append(res)
        verdict = Outcome.of(k_and(*values)) if values else Outcome.PASS
    if verdict is Outcome.PASS and rule.amount is not None:
        part[0] = "amount"
        trace = Trace()
        amount = to_decimal_yuan(evaluate(rule.amount.expr, subject, ctx, trace))
        for r in trace.reads:
            if isinstance(r, ParamRead):
                params.setdefault(r.name, _param_use(ctx, r))
        if amount is None:  # e.g. a parameter asked before its first value: never a pass
            verdict = Outcome.UNKNOWN
    if verdict is not Outcome.NOT_APPLICABLE:
        for out in rule.outputs:
            part[0] = f"output {out.id}"
            trace = Trace()
            outputs.append((out.id, evaluate(out.expr, subject, ctx, trace)))
            for r in trace.reads:
                if isinstance(r, ParamRead):
                    params.setdefault(r.name, _param_use(ctx, r))
    return build_finding(
        rule,
        policy,
        subject.kind,
        subject.key,
        ctx.on,
        verdict,
        amount,
        outputs,
        conditions,
        params,
        applies_result,
    )
