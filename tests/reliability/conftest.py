"""Fixtures of the reliability tests."""

from __future__ import annotations

import pytest
from reliability_support import COUNTY_POLICY


@pytest.fixture(scope="session")
def county_policy():  # type: ignore[no-untyped-def]
    from fupin_rules.policy import load_policy

    return load_policy(COUNTY_POLICY)
