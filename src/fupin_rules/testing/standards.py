"""Helpers for property tests of a standard: verdicts, boundary dates and values, monotonicity.

A *standard* is a rule of a policy package. Typical use, quoting the clause it checks::

    from fupin_rules.testing import boundary_dates, verdict, check_monotone

    def test_rain_and_dew_changes_only_on_its_dates(policy, data):
        '''三(二)2: 补助标准由3000元提高到5000元 (from the autumn term).'''
        for before, after in boundary_dates(policy, "rain_and_dew.grant_yuan"):
            ...

All helpers use the reference engine unless told otherwise; they accept a dataset in the
``load_dataset`` layout (a dict) and never change it in place.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from fupin_rules.api import Evaluator
from fupin_rules.findings.model import Finding, Outcome
from fupin_rules.policy.model import Policy

__all__ = [
    "MonotonicityError",
    "boundary_dates",
    "boundary_values",
    "check_monotone",
    "finding",
    "verdict",
]


class MonotonicityError(AssertionError):
    """A change that should only help turned a passing subject into a failing one."""


def finding(
    policy: Policy,
    data: Mapping[str, Any],
    rule_id: str,
    subject_id: str,
    on: dt.date,
    *,
    engine: str = "reference",
) -> Finding:
    """The finding of one rule about one subject in ``data`` as of ``on``."""
    return Evaluator(policy, data, engine=engine).finding(rule_id, subject_id, on)


def verdict(
    policy: Policy,
    data: Mapping[str, Any],
    rule_id: str,
    subject_id: str,
    on: dt.date,
    *,
    engine: str = "reference",
) -> Outcome:
    """The verdict of one rule about one subject (see :func:`finding`)."""
    return finding(policy, data, rule_id, subject_id, on, engine=engine).verdict


def boundary_dates(policy: Policy, parameter: str) -> list[tuple[dt.date, dt.date]]:
    """For each change of a dated parameter, the last day of the old value and the first of the new.

    A standard that depends on the parameter may change only across these pairs.
    """
    values = policy.parameters[parameter].values
    return [(v.start - dt.timedelta(days=1), v.start) for v in values[1:]]


def boundary_values(
    policy: Policy, parameter: str, on: dt.date, *, step: Decimal = Decimal("0.01")
) -> tuple[Decimal, Decimal, Decimal]:
    """(just below, exactly, just above) a numeric parameter's value on ``on``.

    ``step`` is the smallest meaningful difference: one fen for yuan (the default), 1 for
    counts, ``Decimal("0.0001")`` for rates written with four decimals.
    """
    resolved = policy.parameters[parameter].at(on)
    if resolved is None:
        raise ValueError(f"parameter {parameter!r} has no value on {on.isoformat()}")
    value = resolved.value
    exact = (
        Decimal(value.numerator) / Decimal(value.denominator)
        if isinstance(value, Fraction)
        else Decimal(value)
    )
    return exact - step, exact, exact + step


def check_monotone(
    policy: Policy,
    data: Mapping[str, Any],
    rule_id: str,
    subject_id: str,
    on: dt.date,
    improve: Callable[[dict[str, Any]], None],
    *,
    engine: str = "reference",
) -> tuple[Outcome, Outcome]:
    """Apply ``improve`` to a deep copy of ``data``; raise MonotonicityError if a pass became a fail.

    ``improve`` edits the copy in place (e.g. raises a village's collective income). Returns the
    verdicts before and after so a test can also check unknowns resolve the right way.
    """
    before = verdict(policy, data, rule_id, subject_id, on, engine=engine)
    changed = copy.deepcopy(dict(data))
    improve(changed)
    after = verdict(policy, changed, rule_id, subject_id, on, engine=engine)
    if before is Outcome.PASS and after is not Outcome.PASS:
        raise MonotonicityError(
            f"{rule_id} @ {subject_id}: passed before the change and is {after.value} after it"
        )
    return before, after
