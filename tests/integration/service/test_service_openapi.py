"""The OpenAPI document: generated, served, with examples from the sample county; the finding
model of the API is the library's findings JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from fupin_rules.service.examples import EXAMPLE_PERSON, EXAMPLE_RULE


def test_openapi_document_is_served_with_sample_county_examples(client: httpx.Client) -> None:
    doc: dict[str, Any] = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in (
        "/v1/policies",
        "/v1/policies/{policy}",
        "/v1/policies/{policy}/coverage",
        "/v1/policies/{policy}/eligibility",
        "/v1/policies/{policy}/compliance",
        "/v1/policies/{policy}/explain",
        "/v1/policies/{policy}/household",
        "/v1/policies/{policy}/village",
        "/v1/policies/{policy}/runs",
        "/v1/jobs/{job_id}",
        "/v1/jobs/{job_id}/report",
        "/v1/jobs/{job_id}/report.xlsx",
        "/v1/jobs/{job_id}/report.html",
        "/v1/decisions",
    ):
        assert path in paths, path
    body = paths["/v1/policies/{policy}/eligibility"]["post"]["requestBody"]["content"]
    example = body["application/json"]["examples"]["rain_and_dew"]["value"]
    assert (example["rule"], example["subject"]) == (EXAMPLE_RULE, EXAMPLE_PERSON)
    assert example["data"]["county"]["county_id"] == "420323"  # the bundled sample county
    assert "ProblemDetails" in doc["components"]["schemas"]
    assert "FindingModel" in doc["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_the_example_request_answers_as_documented(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    content = doc["paths"]["/v1/policies/{policy}/eligibility"]["post"]["requestBody"]["content"]
    example = content["application/json"]["examples"]["rain_and_dew"]["value"]
    r = client.post("/v1/policies/county_2017/eligibility", json=example)
    assert r.status_code == 200
    assert (r.json()["finding"]["verdict"], r.json()["finding"]["amount_yuan"]) == ("pass", "5000")


def test_every_library_finding_fits_the_api_model() -> None:
    """FindingModel describes finding_to_json exactly (extra keys forbidden): the two cannot
    drift apart unnoticed. Every finding of a generated county, not-applicable ones included."""
    from fupin_rules import evaluate
    from fupin_rules.findings.render import finding_to_json
    from fupin_rules.io import generate_county, to_dataset_dict
    from fupin_rules.service.models import FindingModel

    ev = evaluate(
        "county_2017",
        to_dataset_dict(generate_county(60, 3, villages=2)),
        dt.date(2017, 12, 31),
        engine="reference",
        keep_not_applicable=True,
    )
    kinds = set()
    for f in ev.findings:
        j = finding_to_json(f)
        assert FindingModel.model_validate(j).model_dump(mode="json", exclude_unset=True) == j
        kinds.add((f.rule_kind, f.verdict.value))
    assert len(kinds) >= 6
