"""Requests generated from the served OpenAPI document (schemathesis): no 5xx, ever.

Bounded in count (a few derandomized examples per operation, so CI sends the same requests each
run) and in time (a budget for the whole test, a timeout on every request). The operations are
driven through schemathesis' Python API (its pytest plugin does not load under this pytest).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

EXAMPLES_PER_OPERATION = 12
BUDGET_SECONDS = 600.0


def _checker(
    op: schemathesis.APIOperation, server: str, sent: dict[str, int], statuses: set[int]
) -> Callable[[], None]:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy())
    def check(case: schemathesis.Case) -> None:
        response = case.call(base_url=server, timeout=60)
        sent[op.label] = sent.get(op.label, 0) + 1
        statuses.add(response.status_code)
        assert response.status_code < 500, (case.method, case.path, response.text[:2000])
        if response.status_code >= 400:
            (content_type,) = response.headers["content-type"]
            assert content_type.startswith("application/problem+json"), content_type

    return check


def test_no_server_errors_for_generated_requests(server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    start = time.monotonic()
    sent: dict[str, int] = {}
    statuses: set[int] = set()
    for op in operations:
        if time.monotonic() - start > BUDGET_SECONDS:
            pytest.fail(f"time budget spent after {sent}")  # bounded; a slow server is a failure
        _checker(op, server, sent, statuses)()
    assert len(sent) == len(operations), sent
    assert any(s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses), statuses
