"""The loaded policy: frozen attrs values, made only by the loader, never subclassed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any, Literal

import attrs

from fupin_rules.errors import UnknownRuleError, did_you_mean
from fupin_rules.expr import UNKNOWN, Expr, Schema, Type

__all__ = [
    "Case",
    "Catalogue",
    "CatalogueItem",
    "ClauseInfo",
    "Condition",
    "Expectation",
    "Parameter",
    "ParameterValue",
    "Policy",
    "PolicyMeta",
    "ResolvedParameter",
    "Rule",
    "Text",
    "Variable",
]

Status = Literal["seed", "assumed"]
RuleKind = Literal["eligibility", "compliance", "target"]


@attrs.frozen
class Text:
    """A title in Chinese and English."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        """The text in ``lang`` ("zh" or "en")."""
        return self.zh if lang == "zh" else self.en


@attrs.frozen
class ClauseInfo:
    """A clause of the source document that rules and parameters may cite."""

    clause: str
    title: Text
    text_missing: bool = False
    note: str = ""
    #: items of the clause deliberately not encoded: (item, reason)
    uncovered: tuple[tuple[str, str], ...] = ()
    #: items covered only by a proxy: (item, what the rules check instead)
    proxies: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class ParameterValue:
    """One value of a parameter and the day from which it holds."""

    start: dt.date
    value: Any  # Fraction | bool | str | date | tuple
    status: Status
    note: str = ""


@attrs.frozen
class ResolvedParameter:
    """A parameter's value on a date, with the period it holds for (``end`` inclusive)."""

    name: str
    value: Any
    start: dt.date | None  # None when the parameter has no value on the date
    end: dt.date | None
    status: Status
    unit: str
    clause: str


@attrs.frozen
class Parameter:
    """A dated parameter: a value series with effective dates, unit, clause and status."""

    name: str
    title: Text
    type: Type
    unit: str
    clause: str
    status: Status
    note: str
    values: tuple[ParameterValue, ...]
    origin: str = ""

    def at(self, on: dt.date) -> ResolvedParameter | None:
        """The value holding on ``on``, or ``None`` before the first start date."""
        found: ResolvedParameter | None = None
        for i, pv in enumerate(self.values):
            if pv.start <= on:
                nxt = self.values[i + 1].start if i + 1 < len(self.values) else None
                end = nxt - dt.timedelta(days=1) if nxt else None
                found = ResolvedParameter(
                    self.name, pv.value, pv.start, end, pv.status, self.unit, self.clause
                )
        return found

    def resolve(self, on: dt.date) -> ResolvedParameter:
        """The value on ``on``; before the first start date the value is UNKNOWN, with no period."""
        return self.at(on) or ResolvedParameter(
            self.name, UNKNOWN, None, None, self.status, self.unit, self.clause
        )


@attrs.frozen
class CatalogueItem:
    """An entry of a catalogue."""

    code: str
    zh: str
    en: str


@attrs.frozen
class Catalogue:
    """A named list (e.g. the 31 outpatient chronic diseases)."""

    name: str
    title: Text
    clause: str
    status: Status
    note: str
    items: tuple[CatalogueItem, ...]
    origin: str = ""

    @property
    def codes(self) -> tuple[str, ...]:
        """The items' codes, in order."""
        return tuple(i.code for i in self.items)


@attrs.frozen
class Variable:
    """A derived variable of an entity, defined by an expression."""

    entity: str
    name: str
    title: Text
    type: Type
    expr: Expr
    text: str
    clause: str | None
    origin: str = ""
    #: ``assumed`` when the variable is a reading the document does not state (who counts as
    #: poor, a denominator): every finding of a rule whose verdict reads it says so
    status: Status = "seed"
    note: str = ""

    @property
    def qualified_name(self) -> str:
        """``entity.name``."""
        return f"{self.entity}.{self.name}"


@attrs.frozen
class Condition:
    """A named condition of a rule; each is explained on its own."""

    id: str
    title: Text
    expr: Expr
    text: str
    origin: str = ""


@attrs.frozen
class Rule:
    """A rule: its conditions (Kleene AND), optional scope, amount and outputs."""

    id: str
    clause: str
    title: Text
    entity: str
    kind: RuleKind
    status: Status
    note: str
    applies_if: Condition | None
    conditions: tuple[Condition, ...]
    amount: Condition | None = None  # the expression and its source text
    outputs: tuple[Condition, ...] = ()
    origin: str = ""

    def expressions(self) -> Iterator[tuple[str, Expr]]:
        """Every expression of the rule in evaluation order, with where it is in the rule:
        ``applies_if``, ``condition <id>``, ``amount``, ``output <id>``."""
        if self.applies_if is not None:
            yield "applies_if", self.applies_if.expr
        for c in self.conditions:
            yield f"condition {c.id}", c.expr
        if self.amount is not None:
            yield "amount", self.amount.expr
        for o in self.outputs:
            yield f"output {o.id}", o.expr


@attrs.frozen
class Expectation:
    """An expected finding in a case file."""

    rule: str
    subject: str
    verdict: str | None = None
    amount: Fraction | None = None
    conditions: Mapping[str, str] = attrs.field(factory=dict)
    origin: str = ""
    #: expected rule outputs by name (exact numbers; None = unknown)
    outputs: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Case:
    """A case: input data, an as-of date and expected findings."""

    id: str
    title: str
    on: dt.date
    data: Mapping[str, Any]
    expect: tuple[Expectation, ...]
    origin: str = ""


@attrs.frozen
class PolicyMeta:
    """Package metadata."""

    id: str
    version: str
    title: Text
    jurisdiction: Text
    source: Mapping[str, str]
    effective_start: dt.date | None
    effective_end: dt.date | None
    extends: str | None


@attrs.frozen(eq=False)
class Policy:
    """A loaded, validated, immutable policy package, identified by id + version + content hash."""

    meta: PolicyMeta
    clauses: Mapping[str, ClauseInfo]
    parameters: Mapping[str, Parameter]
    catalogues: Mapping[str, Catalogue]
    variables: tuple[Variable, ...]  # in dependency order
    rules: tuple[Rule, ...]
    cases: tuple[Case, ...]
    schema: Schema
    content_hash: str
    path: str

    @property
    def id(self) -> str:
        """The package id, e.g. ``county_2017``."""
        return self.meta.id

    @property
    def version(self) -> str:
        """The package's semantic version."""
        return self.meta.version

    @property
    def ref(self) -> str:
        """``id@version#hash12`` — what produced a decision."""
        return f"{self.meta.id}@{self.meta.version}#{self.content_hash[:12]}"

    def rule(self, rule_id: str) -> Rule:
        """A rule by id; :class:`~fupin_rules.errors.UnknownRuleError` (a ``KeyError``) with the
        closest id if absent."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        hint = did_you_mean(rule_id, [r.id for r in self.rules]) or (
            "; `fupin-rules coverage` lists them"
        )
        raise UnknownRuleError(f"no rule {rule_id!r} in {self.ref}{hint}")

    @property
    def effective(self) -> tuple[dt.date | None, dt.date | None]:
        """The policy's own period (``effective`` in policy.yaml), both ends inclusive."""
        return self.meta.effective_start, self.meta.effective_end

    def in_force(self, rule: Rule, on: dt.date) -> bool:
        """Whether ``rule`` answers a question dated ``on`` (issue 12, principle 2).

        Inside the policy's period every rule does. Before it none does. After it, an
        entitlement or a standard is no longer in force, but whether an obligation that fell
        due inside the period was met is still a legitimate question (a 回头看, the year-end
        assessment): a rule that states its obligation with ``done_by()`` keeps answering.
        """
        start, end = self.effective
        if start is not None and on < start:
            return False
        if end is not None and on > end:
            return rule.id in _deadline_rules(self)
        return True

    def rules_not_in_force(self, on: dt.date) -> tuple[str, ...]:
        """The ids of the rules that do not answer a question dated ``on``."""
        return tuple(r.id for r in self.rules if not self.in_force(r, on))

    def assumed_basis(self, rule: Rule) -> tuple[str, ...]:
        """What ``rule`` may rest on that the document does not state (issue 12, principle 3):
        ``rule:<id>`` if its reading is assumed, ``variable:<entity.name>`` for assumed derived
        variables, ``catalogue:<name>`` and ``parameter:<name>`` for assumed catalogues and
        parameters (the parameter or any of its values) that the expressions deciding its
        verdict and amount (``applies_if``, conditions, ``amount``) or the derived variables
        they read use. Outputs (progress figures such as a target's
        ``meets_standard_not_exited``) do not decide the verdict and are not counted.
        Empty when text-stated."""
        return _assumed_basis(self).get(rule.id, ())

    def rules_for(self, entity: str) -> tuple[Rule, ...]:
        """The rules evaluated on one entity kind."""
        return tuple(r for r in self.rules if r.entity == entity)

    def variables_for(self, entity: str) -> tuple[Variable, ...]:
        """The derived variables of one entity kind, in dependency order."""
        return tuple(v for v in self.variables if v.entity == entity)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and (self.ref == other.ref)

    def __hash__(self) -> int:
        return hash(self.ref)


_deadline_rule_cache: dict[int, tuple[Policy, frozenset[str]]] = {}


def _deadline_rules(policy: Policy) -> frozenset[str]:
    """The ids of the rules with a ``done_by()`` in any of their expressions (cached)."""
    entry = _deadline_rule_cache.get(id(policy))
    if entry is None or entry[0] is not policy:
        from fupin_rules.expr.ir import Call, walk

        ids = frozenset(
            r.id
            for r in policy.rules
            if any(
                isinstance(n, Call) and n.func == "done_by"
                for _, e in r.expressions()
                for n in walk(e)
            )
        )
        if len(_deadline_rule_cache) > 64:
            _deadline_rule_cache.clear()
        entry = (policy, ids)
        _deadline_rule_cache[id(policy)] = entry
    return entry[1]


_basis_cache: dict[int, tuple[Policy, dict[str, tuple[str, ...]]]] = {}


def param_assumed(param: Parameter) -> bool:
    """A parameter resting on an assumption: its own status or any value's status."""
    return param.status == "assumed" or any(v.status == "assumed" for v in param.values)


def _assumed_basis(policy: Policy) -> dict[str, tuple[str, ...]]:
    entry = _basis_cache.get(id(policy))
    if entry is not None and entry[0] is policy:
        return entry[1]
    from fupin_rules.expr.ir import Path, catalogues_used, params_used, walk

    by_name: dict[str, list[Variable]] = {}
    for v in policy.variables:
        by_name.setdefault(v.name, []).append(v)

    def reach(exprs: list[Expr]) -> tuple[set[str], set[str], set[str]]:
        params: set[str] = set()
        cats: set[str] = set()
        seen: set[str] = set()
        assumed_vars: set[str] = set()
        stack = list(exprs)
        while stack:
            e = stack.pop()
            params |= params_used(e)
            cats |= catalogues_used(e)
            for node in walk(e):
                if isinstance(node, Path):
                    for name in node.names:
                        for var in by_name.get(name, ()):
                            if var.qualified_name not in seen:
                                seen.add(var.qualified_name)
                                stack.append(var.expr)
                                if var.status == "assumed":
                                    assumed_vars.add(var.qualified_name)
        return params, cats, assumed_vars

    out: dict[str, tuple[str, ...]] = {}
    for rule in policy.rules:
        params, cats, assumed_vars = reach(
            [e for where, e in rule.expressions() if not where.startswith("output ")]
        )
        basis = [f"rule:{rule.id}"] if rule.status == "assumed" else []
        basis += [f"variable:{v}" for v in sorted(assumed_vars)]
        basis += [
            f"catalogue:{c}"
            for c in sorted(cats)
            if c in policy.catalogues and policy.catalogues[c].status == "assumed"
        ]
        basis += [
            f"parameter:{p}"
            for p in sorted(params)
            if p in policy.parameters and param_assumed(policy.parameters[p])
        ]
        out[rule.id] = tuple(basis)
    if len(_basis_cache) > 64:
        _basis_cache.clear()
    _basis_cache[id(policy)] = (policy, out)
    return out


def text_stated_only(policy: Policy) -> Policy:
    """``policy`` with only the rules that rest on no assumption (``check --text-stated-only``).

    Its content hash is derived from the full policy's (``sha256(hash + ":text-stated-only")``),
    so findings say they came from the reduced rule set and engines never mix the two.
    """
    import hashlib

    rules = tuple(r for r in policy.rules if not policy.assumed_basis(r))
    digest = hashlib.sha256(f"{policy.content_hash}:text-stated-only".encode()).hexdigest()
    return attrs.evolve(policy, rules=rules, content_hash=digest)
