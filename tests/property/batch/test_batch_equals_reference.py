"""The batch engine gives the reference and inference engines' findings, finding by finding.

Generated consistent datasets (values at and around every threshold of the 2017 plan, unknowns,
optional tables left out) are run through the batch engine and through the reference
interpreter, and, where durable-rules imports, through the inference engine.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fupin_rules.batch import evaluate_batch
from fupin_rules.domain.dataset import Dataset
from fupin_rules.engine.run import UnitEngine, run_policy
from fupin_rules.findings.model import Finding
from fupin_rules.policy import Policy, load_policy
from fupin_rules.testing import datasets

ROOT = Path(__file__).resolve().parents[3]
COUNTY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
MINI = ROOT / "tests/data/mini_policy"

DATES = st.sampled_from(
    [
        dt.date(2017, 8, 31),
        dt.date(2017, 9, 1),
        dt.date(2017, 12, 31),
        dt.date(2016, 6, 1),
        # either side of the done_by() deadlines (11月底前, 12月底前) and a later 回头看
        dt.date(2017, 11, 30),
        dt.date(2017, 12, 1),
        dt.date(2018, 1, 1),
    ]
)
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _policy(path: Path) -> Policy | None:
    try:
        return load_policy(path)
    except Exception:
        return None


MINI_POLICY = _policy(MINI)
COUNTY_POLICY = _policy(COUNTY)


def _inference_available() -> bool:
    from fupin_rules.engine.inference import durable_available

    return durable_available()


def assert_same_findings(
    policy: Policy, ds: Dataset, on: dt.date, engine: UnitEngine | None = None
) -> None:
    ref = run_policy(policy, ds, on, engine=engine)
    got = evaluate_batch(policy, ds, on, materialize="all")
    assert not ref.errors
    expected: dict[tuple[str, str, str], Finding] = {
        (f.rule_id, f.subject_kind, f.subject_id): f for f in ref.findings
    }
    actual = {(f.rule_id, f.subject_kind, f.subject_id): f for f in got.findings}
    assert set(actual) == set(expected)
    for key, want in expected.items():
        have = actual[key]
        # the decision first (clear messages), then the whole explained finding
        assert have.verdict == want.verdict, key
        assert have.amount == want.amount, key
        assert have.outputs == want.outputs, key
        assert [c.outcome for c in have.conditions] == [c.outcome for c in want.conditions], key
        assert have == want, key
    assert got.not_applicable_count == ref.not_applicable_count
    assert [f.sort_key() for f in got.findings] == [f.sort_key() for f in ref.findings]


@pytest.mark.skipif(MINI_POLICY is None, reason="mini policy does not load")
@SETTINGS
@given(ds=datasets(max_villages=3, missing_rate=0.2), on=DATES)
def test_mini_policy(ds: Dataset, on: dt.date) -> None:
    assert MINI_POLICY is not None
    assert_same_findings(MINI_POLICY, ds, on)


@pytest.mark.skipif(COUNTY_POLICY is None, reason="county_2017 policy does not load")
@SETTINGS
@given(
    ds=datasets(max_villages=4, max_households=3, missing_rate=0.15),
    on=DATES,
)
def test_county_2017_policy(ds: Dataset, on: dt.date) -> None:
    assert COUNTY_POLICY is not None
    assert_same_findings(COUNTY_POLICY, ds, on)


@pytest.mark.skipif(COUNTY_POLICY is None, reason="county_2017 policy does not load")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ds=datasets(max_villages=2, max_households=2, missing_rate=0.0, optional_tables=False))
def test_county_2017_complete_data(ds: Dataset) -> None:
    assert COUNTY_POLICY is not None
    assert_same_findings(COUNTY_POLICY, ds, dt.date(2017, 12, 31))


@pytest.mark.skipif(COUNTY_POLICY is None, reason="county_2017 policy does not load")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ds=datasets(max_villages=2, max_households=2, missing_rate=0.6))
def test_county_2017_mostly_unknown(ds: Dataset) -> None:
    assert COUNTY_POLICY is not None
    assert_same_findings(COUNTY_POLICY, ds, dt.date(2017, 12, 31))


@pytest.mark.skipif(COUNTY_POLICY is None, reason="county_2017 policy does not load")
@pytest.mark.skipif(not _inference_available(), reason="durable-rules does not import")
@SETTINGS
@given(
    ds=datasets(max_villages=3, max_households=3, near_threshold=True, missing_rate=0.15),
    on=DATES,
)
def test_county_2017_batch_equals_inference(ds: Dataset, on: dt.date) -> None:
    from fupin_rules.engine.inference import InferenceEngine

    assert COUNTY_POLICY is not None
    assert_same_findings(COUNTY_POLICY, ds, on, engine=InferenceEngine())


@pytest.mark.skipif(MINI_POLICY is None, reason="mini policy does not load")
@pytest.mark.skipif(not _inference_available(), reason="durable-rules does not import")
@SETTINGS
@given(ds=datasets(max_villages=3, near_threshold=True, missing_rate=0.2), on=DATES)
def test_mini_policy_batch_equals_inference(ds: Dataset, on: dt.date) -> None:
    from fupin_rules.engine.inference import InferenceEngine

    assert MINI_POLICY is not None
    assert_same_findings(MINI_POLICY, ds, on, engine=InferenceEngine())
