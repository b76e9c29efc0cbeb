"""Run a policy over a dataset, stratum by stratum, with any engine; collect findings and errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

import attrs

from fupin_rules.domain.dataset import DataIssue, Dataset
from fupin_rules.engine.context import Context, DatasetIndex
from fupin_rules.engine.evaluate import RULE_FAILURES, evaluate_rule
from fupin_rules.engine.plan import STRATA, Unit, units
from fupin_rules.errors import FupinRulesError, RuleEvaluationError
from fupin_rules.findings.model import Finding, Outcome
from fupin_rules.policy.model import Policy

__all__ = [
    "Evaluation",
    "ReferenceEngine",
    "RuleTally",
    "SubjectError",
    "UnitEngine",
    "rule_failed",
    "run_policy",
]


class UnitEngine(Protocol):
    """Evaluates the rules of one unit (a household, a village, the county).

    A rule failing on one subject is isolated: with ``errors`` given, its
    :class:`SubjectError` (naming the rule and the subject) is appended there and every other
    finding of the unit is returned; without it, the first
    :class:`~fupin_rules.errors.RuleEvaluationError` is raised.
    """

    name: str

    def evaluate_unit(
        self, unit: Unit, ctx: Context, errors: list[SubjectError] | None = None
    ) -> list[Finding]: ...


def rule_failed(
    unit: Unit,
    rule_id: str,
    subject_kind: str,
    subject_id: str,
    exc: Exception,
    errors: list[SubjectError] | None,
) -> None:
    """Record one rule's failure on one subject in ``errors`` (or raise it when ``errors`` is None).

    ``exc`` is a :class:`~fupin_rules.errors.RuleEvaluationError` or one of ``RULE_FAILURES``
    raised around the evaluation (then described as a failure of the whole rule).
    """
    if not isinstance(exc, RuleEvaluationError):
        wrapped = RuleEvaluationError(rule_id, subject_kind, subject_id, "the rule", exc)
        wrapped.__cause__ = exc
        exc = wrapped
    if errors is None:
        raise exc
    errors.append(SubjectError(unit.stratum, subject_kind, subject_id, str(exc), rule_id))


class ReferenceEngine:
    """The plain interpreter: every rule of every subject of the unit, in order."""

    name = "reference"

    def evaluate_unit(
        self, unit: Unit, ctx: Context, errors: list[SubjectError] | None = None
    ) -> list[Finding]:
        """Findings of the unit's rules (a failing rule: see :class:`UnitEngine`)."""
        out: list[Finding] = []
        for subject, rules in unit.work:
            for rule in rules:
                try:
                    out.append(evaluate_rule(rule, subject, ctx))
                except RULE_FAILURES as exc:
                    rule_failed(unit, rule.id, subject.kind, subject.key, exc, errors)
        return out


@attrs.frozen
class SubjectError:
    """A rule (or a unit) whose evaluation failed: its findings are missing, the run went on.

    The reference and inference engines isolate failures per rule and subject: ``rule_id`` and
    ``subject_id`` name the one finding that is missing. A unit whose whole session failed has
    ``rule_id`` None. The batch engine evaluates a rule for every subject of its kind at once: when one rule
    fails there, ``rule_id`` names it and ``subject_id`` is ``"*"`` (every subject of
    ``subject_kind`` lacks that rule's findings; their other findings are present).
    """

    stratum: str
    subject_kind: str
    subject_id: str
    message: str
    rule_id: str | None = None


@attrs.frozen
class RuleTally:
    """One rule's verdict counts in a run (汇总): what every report counts, whatever the engine.

    Not-applicable findings are not counted here (see ``Evaluation.not_applicable_count``).
    """

    rule_id: str
    rule_kind: str
    subject_kind: str
    title_zh: str
    clause: str
    passed: int = 0
    failed: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        """Pass, fail and unknown findings of the rule."""
        return self.passed + self.failed + self.unknown

    def count(self, verdict: str) -> int:
        """The count of one verdict (``pass``, ``fail``, ``unknown``; else 0)."""
        return {"pass": self.passed, "fail": self.failed, "unknown": self.unknown}.get(verdict, 0)


def tallies_from_counts(
    policy: Policy, counts: Mapping[str, Mapping[str, int]]
) -> tuple[RuleTally, ...]:
    """Tallies of the rules with at least one pass, fail or unknown verdict, in rule-id order.

    ``counts``: rule id -> verdict -> number of findings (e.g. the batch engine's frames).
    """
    rules = {r.id: r for r in policy.rules}
    out = []
    for rid in sorted(counts):
        c, r = counts[rid], rules[rid]
        t = RuleTally(
            rid,
            r.kind,
            r.entity,
            r.title.zh,
            r.clause,
            c.get("pass", 0),
            c.get("fail", 0),
            c.get("unknown", 0),
        )
        if t.total:
            out.append(t)
    return tuple(out)


@attrs.frozen
class Evaluation:
    """The result of one run: findings, failed units, rejected input rows, and provenance."""

    policy_id: str
    policy_version: str
    policy_hash: str
    on: dt.date
    engine: str
    findings: tuple[Finding, ...]
    errors: tuple[SubjectError, ...] = ()
    data_issues: tuple[DataIssue, ...] = ()
    not_applicable_count: int = 0
    #: why this engine ran, e.g. ``"auto: batch (12,000 households >= 1,000)"`` ("" if not said)
    engine_reason: str = ""
    #: rules that do not answer a question dated ``on`` (outside the policy's period): their
    #: findings are not applicable, and reports say so
    not_in_force: tuple[str, ...] = ()
    #: the policy's own period (``effective`` in policy.yaml), both ends inclusive
    effective: tuple[dt.date | None, dt.date | None] = (None, None)
    #: per-rule verdict counts of every applicable finding, listed or not (the batch engine
    #: lists only some findings: see ``evaluate_batch(materialize=)``); empty: the findings
    #: are all listed and :meth:`rule_tallies` counts them
    tallies: tuple[RuleTally, ...] = ()

    @classmethod
    def of(
        cls,
        policy: Policy,
        on: dt.date,
        engine: str,
        findings: Iterable[Finding],
        *,
        errors: Iterable[SubjectError] = (),
        data_issues: Iterable[DataIssue] = (),
        not_applicable_count: int = 0,
        tallies: Iterable[RuleTally] = (),
    ) -> Evaluation:
        """The evaluation of ``policy`` as of ``on``, its provenance (id, version, content hash,
        the rules not in force on ``on``, the policy's period) taken from the policy: the one
        way every engine builds its result."""
        return cls(
            policy_id=policy.id,
            policy_version=policy.version,
            policy_hash=policy.content_hash,
            on=on,
            engine=engine,
            findings=tuple(findings),
            errors=tuple(errors),
            data_issues=tuple(data_issues),
            not_applicable_count=not_applicable_count,
            not_in_force=policy.rules_not_in_force(on),
            effective=policy.effective,
            tallies=tuple(tallies),
        )

    def rule_tallies(self) -> tuple[RuleTally, ...]:
        """Verdict counts per rule (rule-id order), equal whatever the engine and whether or not
        passing findings were listed: every report's counts come from here."""
        if self.tallies:
            return self.tallies
        counts: dict[str, list[int]] = {}
        first: dict[str, Finding] = {}
        slot = {Outcome.PASS: 0, Outcome.FAIL: 1, Outcome.UNKNOWN: 2}
        for f in self.findings:
            i = slot.get(f.verdict)
            if i is None:
                continue
            first.setdefault(f.rule_id, f)
            counts.setdefault(f.rule_id, [0, 0, 0])[i] += 1
        return tuple(
            RuleTally(
                rid,
                first[rid].rule_kind,
                first[rid].subject_kind,
                first[rid].title_zh,
                first[rid].clause,
                *counts[rid],
            )
            for rid in sorted(counts)
        )

    def problems(self) -> tuple[Finding, ...]:
        """Failing compliance and target findings: the problem list (问题清单)."""
        return tuple(
            f
            for f in self.findings
            if f.verdict is Outcome.FAIL and f.rule_kind in ("compliance", "target")
        )

    def problems_text_stated(self) -> tuple[Finding, ...]:
        """Problems the document's text states (resting on no assumed reading or value)."""
        return tuple(f for f in self.problems() if not f.assumptions)

    def problems_assumed(self) -> tuple[Finding, ...]:
        """Problems resting on an assumed reading, catalogue or parameter value: to check
        before anyone is told to correct them."""
        return tuple(f for f in self.problems() if f.assumptions)

    def unknowns(self) -> tuple[Finding, ...]:
        """Findings that could not be decided for missing data (待补数据)."""
        return tuple(f for f in self.findings if f.verdict is Outcome.UNKNOWN)

    def for_subject(self, kind: str, subject_id: str) -> tuple[Finding, ...]:
        """The findings about one subject."""
        return tuple(
            f for f in self.findings if f.subject_kind == kind and f.subject_id == subject_id
        )


def run_policy(
    policy: Policy,
    dataset: Dataset,
    on: dt.date,
    *,
    engine: UnitEngine | None = None,
    strata: Iterable[str] = STRATA,
    only: dict[str, list[str]] | None = None,
    keep_not_applicable: bool = False,
    data_issues: Iterable[DataIssue] = (),
    progress: Callable[[str, int], None] | None = None,
) -> Evaluation:
    """Evaluate ``policy`` on ``dataset`` as of ``on``.

    ``only`` restricts a stratum to some owners, e.g. ``{"household": ["H1"], "village": []}``.
    A rule that fails on one subject becomes a :class:`SubjectError` naming both (the unit's
    other findings are kept); a unit that fails as a whole becomes one; the run goes on.
    Not-applicable findings are counted and dropped unless ``keep_not_applicable``.
    """
    engine = engine or ReferenceEngine()
    ctx = Context(policy, on, DatasetIndex(dataset))
    findings: list[Finding] = []
    errors: list[SubjectError] = []
    na = 0
    for stratum in strata:
        keys = None if only is None else only.get(stratum, [])
        for unit in units(ctx, stratum, keys):
            try:
                got = engine.evaluate_unit(unit, ctx, errors)
            except (FupinRulesError, ArithmeticError, ValueError, KeyError, TypeError) as exc:
                errors.append(
                    SubjectError(
                        stratum, unit.owner.kind, unit.owner.key, f"{type(exc).__name__}: {exc}"
                    )
                )
                continue
            for f in got:
                if f.verdict is Outcome.NOT_APPLICABLE and not keep_not_applicable:
                    na += 1
                else:
                    findings.append(f)
            if progress is not None:
                progress(stratum, 1)
    findings.sort(key=Finding.sort_key)
    return Evaluation.of(
        policy,
        on,
        engine.name,
        findings,
        errors=errors,
        data_issues=data_issues,
        not_applicable_count=na,
    )
