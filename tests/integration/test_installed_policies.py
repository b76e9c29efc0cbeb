"""Every installed policy package loads and all its case files pass, on every engine we have."""

from __future__ import annotations

import pytest

import fupin_rules as fr
from fupin_rules.engine.cases import run_cases

POLICIES = sorted(fr.available_policies())
ENGINES = ["reference", "inference"]


def test_county_2017_is_installed() -> None:
    assert "county_2017" in POLICIES


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", POLICIES)
def test_all_cases_pass(name: str, engine: str) -> None:
    if engine == "inference":
        from fupin_rules.engine.inference import durable_available

        if not durable_available():
            pytest.skip("durable-rules does not import on this Python (see docs/engine.md)")
    policy = fr.load_policy(name)
    results = run_cases(policy, fr.get_engine(engine))
    assert results, f"{name} has no case files"
    failed = {r.case_id: r.failures for r in results if not r.passed}
    assert not failed, failed
