"""The decision endpoints' answers, in process: the bytes the service writes are the library's
findings JSON (the route's models describe them without re-validating each answer), and no
decision is given that the decision log refuses."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fupin_rules.api import Evaluator
from fupin_rules.domain.dataset import load_dataset
from fupin_rules.errors import RunStoreError
from fupin_rules.findings.render import finding_to_json
from fupin_rules.service.app import ServiceConfig, create_app
from fupin_rules.service.decision_log import DecisionEntry, StoreDecisionLog
from fupin_rules.service.examples import EXAMPLE_PERSON, EXAMPLE_RULE, decision_example
from fupin_rules.service.models import DecisionResponse, UnitResponse
from fupin_rules.service.registry import PolicyRegistry


def _calls(
    app: FastAPI, requests: Sequence[tuple[str, str, dict[str, Any]]]
) -> list[httpx.Response]:
    """The requests (method, path, httpx keywords) answered in process, one after the other."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as c:
            return [await c.request(m, path, **kw) for m, path, kw in requests]

    return asyncio.run(run())


@pytest.fixture(scope="module")
def registry() -> PolicyRegistry:
    return PolicyRegistry.load(["county_2017"])


class RefusingLog(StoreDecisionLog):
    """A log whose disk is full."""

    def append(self, entries: Sequence[DecisionEntry]) -> None:
        raise RunStoreError("run store x.sqlite: database or disk is full")


def test_a_decision_the_log_refuses_is_a_503_problem(
    registry: PolicyRegistry, tmp_path: Path
) -> None:
    log = RefusingLog(tmp_path / "runs.sqlite")
    app = create_app(ServiceConfig(), registry=registry, decision_log=log)
    (r,) = _calls(
        app, [("POST", "/v1/policies/county_2017/eligibility", {"json": decision_example()})]
    )
    log.close()
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"].endswith("/decision-log-unavailable") and "disk is full" in body["detail"]
    assert "finding" not in body


def _library_finding(rule: str, subject: str, on: str) -> dict[str, Any]:
    ex = decision_example()
    policy = PolicyRegistry.load(["county_2017"]).get("county_2017")
    ev = Evaluator(policy, load_dataset(ex["data"]))
    day = dt.date.fromisoformat(on)
    f = (
        ev.eligibility(subject, rule, day)
        if policy.rule(rule).kind == "eligibility"
        else ev.finding(rule, subject, day)
    )
    return finding_to_json(f)


@pytest.mark.parametrize("explain", [False, True])
def test_the_answer_is_the_library_finding_and_its_model(
    registry: PolicyRegistry, tmp_path: Path, explain: bool
) -> None:
    log = StoreDecisionLog(tmp_path / "runs.sqlite")
    app = create_app(ServiceConfig(), registry=registry, decision_log=log)
    body = {**decision_example(), "on": "2017-09-01"}
    hh = body["data"]["households"][0]["household_id"]
    r, logged, u = _calls(
        app,
        [
            (
                "POST",
                "/v1/policies/county_2017/eligibility",
                {"params": {"explain": str(explain).lower(), "lang": "en"}, "json": body},
            ),
            ("GET", "/v1/decisions", {"params": {"limit": 1}}),
            (
                "POST",
                "/v1/policies/county_2017/household",
                {"json": {"subject": hh, "on": "2017-12-31", "data": body["data"]}},
            ),
        ],
    )
    log.close()
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    out = json.loads(r.content)
    DecisionResponse.model_validate(out)  # what the OpenAPI document promises
    assert out["finding"] == _library_finding(EXAMPLE_RULE, EXAMPLE_PERSON, "2017-09-01")
    assert (out["explanation"] is not None) == explain
    assert logged.json()[0]["result"] == out["finding"]
    assert u.status_code == 200, u.text
    assert len(u.json()["findings"]) > 1
    UnitResponse.model_validate(u.json())


def test_the_openapi_document_still_describes_the_answers(registry: PolicyRegistry) -> None:
    app = create_app(ServiceConfig(store=":memory:"), registry=registry)
    doc = app.openapi()
    for path, model in [
        ("/v1/policies/{policy}/eligibility", "DecisionResponse"),
        ("/v1/policies/{policy}/compliance", "DecisionResponse"),
        ("/v1/policies/{policy}/explain", "DecisionResponse"),
        ("/v1/policies/{policy}/household", "UnitResponse"),
        ("/v1/policies/{policy}/village", "UnitResponse"),
    ]:
        schema = doc["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
        assert schema["schema"] == {"$ref": f"#/components/schemas/{model}"}, path


@pytest.mark.parametrize(
    ("path", "params", "field", "words"),
    [
        ("eligibility", {"lang": "fr"}, "lang", "should match pattern"),
        ("eligibility", {"explain": "maybe"}, "explain", "valid boolean"),
        ("explain", {"lang": "EN"}, "lang", "should match pattern"),
        ("household", {"explain": "2"}, "explain", "valid boolean"),
    ],
)
def test_a_bad_query_value_is_a_422_naming_it_before_any_work(
    registry: PolicyRegistry,
    tmp_path: Path,
    path: str,
    params: dict[str, str],
    field: str,
    words: str,
) -> None:
    log = StoreDecisionLog(tmp_path / "runs.sqlite")
    app = create_app(ServiceConfig(), registry=registry, decision_log=log)
    ex = decision_example()
    body = (
        ex
        if path != "household"
        else {
            "subject": ex["data"]["households"][0]["household_id"],
            "on": ex["on"],
            "data": ex["data"],
        }
    )
    bad_body = {**body, "data": {"county": {}}}  # the query is judged first, as FastAPI did
    r, r2, logged = _calls(
        app,
        [
            ("POST", f"/v1/policies/county_2017/{path}", {"params": params, "json": body}),
            ("POST", f"/v1/policies/county_2017/{path}", {"params": params, "json": bad_body}),
            ("GET", "/v1/decisions", {}),
        ],
    )
    for resp in (r, r2):
        assert resp.status_code == 422, resp.text
        problem = resp.json()
        assert problem["errors"][0]["field"] == field
        assert problem["errors"][0]["pointer"] == f"/query/{field}"
        assert words in problem["detail"]
    assert logged.json() == []  # nothing was decided
    ok = dict.fromkeys(params, "en" if field == "lang" else "TRUE")
    (good,) = _calls(
        app, [("POST", f"/v1/policies/county_2017/{path}", {"params": ok, "json": body})]
    )
    log.close()
    assert good.status_code == 200, good.text


def test_start_up_objects_are_kept_out_of_full_collections(
    registry: PolicyRegistry, tmp_path: Path
) -> None:
    """A full collection in a running service walks only what requests left behind, not the
    policies, models and routes built at start-up (docs/benchmarks.md: 122 ms pauses)."""
    import gc

    app = create_app(ServiceConfig(store=str(tmp_path / "runs.sqlite")), registry=registry)

    async def start_and_stop() -> int:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count()

    try:
        frozen = asyncio.run(start_and_stop())
    finally:
        gc.unfreeze()
    assert frozen > 10_000
