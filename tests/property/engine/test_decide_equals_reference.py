"""Decide first, explain on demand: the lean per-case path gives the reference findings.

On generated datasets (values at and around every threshold, unknowns, optional tables left
out), every rule on every subject: the verdict, amount and outputs of
:func:`~fupin_rules.engine.decide.decide_rule` equal :func:`evaluate_rule`'s before the
explanation is built, and the whole finding (explanation included) equals it after.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fupin_rules.domain.dataset import Dataset
from fupin_rules.engine.context import Context, DatasetIndex
from fupin_rules.engine.decide import decide_rule
from fupin_rules.engine.evaluate import evaluate_rule
from fupin_rules.engine.plan import STRATA, units
from fupin_rules.policy import Policy, load_policy
from fupin_rules.testing import datasets

ROOT = Path(__file__).resolve().parents[3]
COUNTY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
MINI = ROOT / "tests/data/mini_policy"
DATES = st.sampled_from(
    [dt.date(2017, 8, 31), dt.date(2017, 9, 1), dt.date(2017, 12, 31), dt.date(2016, 6, 1)]
)
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_decided_equals_reference(policy: Policy, ds: Dataset, on: dt.date) -> None:
    index = DatasetIndex(ds)
    lean_ctx = Context(policy, on, index)
    ref_ctx = Context(policy, on, index)
    decided = []
    for stratum in STRATA:
        for unit in units(ref_ctx, stratum):
            for subject, rules in unit.work:
                lean_subject = lean_ctx.subject(subject.kind, subject.key)
                assert lean_subject is not None
                for rule in rules:
                    want = evaluate_rule(rule, subject, ref_ctx)
                    have = decide_rule(rule, lean_subject, lean_ctx)
                    key = (rule.id, subject.kind, subject.key)
                    assert not have.explained, key
                    assert have.verdict is want.verdict, key
                    assert have.amount == want.amount, key
                    assert have.outputs == want.outputs, key
                    decided.append((have, want, key))
    # explanations built afterwards, once the context memo holds every subject's values
    for have, want, key in decided:
        assert have.conditions == want.conditions, key
        assert have.parameters == want.parameters, key
        assert have.applies_if == want.applies_if, key
        assert have == want and hash(have) == hash(want), key


@SETTINGS
@given(ds=datasets(max_villages=3, missing_rate=0.2), on=DATES)
def test_decided_findings_equal_reference_mini(ds: Dataset, on: dt.date) -> None:
    assert_decided_equals_reference(load_policy(MINI), ds, on)


@pytest.mark.skipif(not COUNTY.is_dir(), reason="county_2017 package not in this checkout")
@SETTINGS
@given(ds=datasets(max_villages=2, missing_rate=0.15), on=DATES)
def test_decided_findings_equal_reference_county_2017(ds: Dataset, on: dt.date) -> None:
    assert_decided_equals_reference(load_policy(COUNTY), ds, on)
