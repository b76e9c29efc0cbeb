"""Run a policy's case files (input + as-of date + expected findings) on an engine."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from fupin_rules.domain.dataset import load_dataset
from fupin_rules.engine.run import UnitEngine, run_policy
from fupin_rules.expr import UNKNOWN
from fupin_rules.findings.model import Finding, format_value
from fupin_rules.policy.model import Case, Policy

__all__ = ["CaseResult", "run_case", "run_cases"]


@attrs.frozen
class CaseResult:
    """The outcome of one case: ``failures`` is empty when every expectation held."""

    policy: str
    case_id: str
    origin: str
    failures: tuple[str, ...]
    checked: int

    @property
    def passed(self) -> bool:
        """True when every expectation held."""
        return not self.failures


def _same(got: Any, want: Any) -> bool:
    if want is None:
        return got is UNKNOWN
    if (
        isinstance(want, Fraction)
        and isinstance(got, Fraction | int | Decimal)
        and not isinstance(got, bool)
    ):
        return Fraction(got) == want
    return bool(got == want)


def _index(findings: Iterable[Finding]) -> dict[tuple[str, str], Finding]:
    return {(f.rule_id, f.subject_id): f for f in findings}


def run_case(policy: Policy, case: Case, engine: UnitEngine | None = None) -> CaseResult:
    """Evaluate one case and compare every expected finding (verdict, amount, conditions)."""
    loaded = load_dataset(case.data, source=f"case {case.id} ({case.origin})")
    failures = [f"input row rejected: {i.render()}" for i in loaded.issues]
    ev = run_policy(policy, loaded.dataset, case.on, engine=engine, keep_not_applicable=True)
    failures.extend(f"unit failed: {e.subject_kind} {e.subject_id}: {e.message}" for e in ev.errors)
    got = _index(ev.findings)
    for exp in case.expect:
        f = got.get((exp.rule, exp.subject))
        where = f"{exp.origin} {exp.rule} @ {exp.subject}"
        if f is None:
            failures.append(
                f"{where}: no finding (is the subject in the data and the rule's entity right?)"
            )
            continue
        if exp.verdict is not None and f.verdict.value != exp.verdict:
            why = "; ".join(f"{c.id}={c.outcome.value}" for c in f.conditions)
            failures.append(f"{where}: verdict {f.verdict.value}, expected {exp.verdict} ({why})")
        if exp.amount is not None and (f.amount is None or f.amount != exp.amount):
            failures.append(f"{where}: amount {f.amount}, expected {exp.amount}")
        outs = dict(f.outputs)
        for name, want in exp.outputs.items():
            got_v = outs.get(name, "<absent>")
            if not _same(got_v, want):
                failures.append(f"{where}: output {name} is {format_value(got_v)}, expected {want}")
        conds = {c.id: c.outcome.value for c in f.conditions}
        for cid, want in exp.conditions.items():
            if conds.get(cid) != want:
                failures.append(f"{where}: condition {cid} is {conds.get(cid)}, expected {want}")
    return CaseResult(policy.ref, case.id, case.origin, tuple(failures), len(case.expect))


def run_cases(policy: Policy, engine: UnitEngine | None = None) -> list[CaseResult]:
    """Every case of the policy, in file order."""
    return [run_case(policy, c, engine) for c in policy.cases]
