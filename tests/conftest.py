"""Shared fixtures: the mini test policy and small datasets."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def mini_policy_dir() -> Path:
    return DATA / "mini_policy"


@pytest.fixture(scope="session")
def mini_policy(mini_policy_dir: Path):  # type: ignore[no-untyped-def]
    from fupin_rules.policy import load_policy

    return load_policy(mini_policy_dir)
