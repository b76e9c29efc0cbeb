"""The decision routes: one eligibility, compliance or explained finding, and whole units."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI, Request
from fastapi.responses import Response

from fupin_rules.api import Evaluator
from fupin_rules.domain.dataset import LoadResult
from fupin_rules.errors import FupinRulesError, RunStoreError
from fupin_rules.findings.model import Finding
from fupin_rules.findings.render import explain as explain_text
from fupin_rules.findings.render import finding_to_json
from fupin_rules.policy.model import Policy
from fupin_rules.runs.store import input_digest
from fupin_rules.service.config import ServiceConfig
from fupin_rules.service.decision_log import DecisionEntry, DecisionLog
from fupin_rules.service.examples import decision_example
from fupin_rules.service.models import DecisionRequest, DecisionResponse, UnitRequest, UnitResponse
from fupin_rules.service.parsing import (
    _EXPLAIN_PARAM,
    _LANG_PARAM,
    M,
    _answer_query,
    _json_bytes,
    _json_response,
    _load_inline,
    _parse_json,
    _subject_ids,
    _validate,
)
from fupin_rules.service.problems import FieldError, Problem, did_you_mean
from fupin_rules.service.registry import PolicyRegistry


def add_decision_routes(
    app: FastAPI, reg: PolicyRegistry, log: DecisionLog, config: ServiceConfig
) -> None:
    """The routes under ``/v1/policies/{policy}/``: eligibility, compliance, explain, household,
    village (each decision written to ``log`` before it is answered)."""

    example = decision_example()
    decision_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": DecisionRequest.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                ),
                "examples": {
                    "rain_and_dew": {"summary": "雨露计划 for one student", "value": example}
                },
            }
        },
    }
    unit_example = {
        "subject": example["data"]["households"][0]["household_id"],
        "on": "2017-12-31",
        "data": example["data"],
    }
    unit_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": UnitRequest.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                ),
                "examples": {"household": {"summary": "One household", "value": unit_example}},
            }
        },
    }

    async def _request(request: Request, model: type[M]) -> tuple[M, str]:
        body = await request.body()
        raw = _parse_json(body)
        return _validate(model, raw), input_digest(raw)

    def _evaluator(p: Policy, loaded: LoadResult) -> Evaluator:
        try:
            return Evaluator(p, loaded, engine=config.engine)
        except FupinRulesError as exc:
            raise Problem(
                422, "unprocessable", "The request could not be answered", str(exc)
            ) from None

    def _decide(p: Policy, req: DecisionRequest, kinds: tuple[str, ...]) -> Finding:
        try:
            rule = p.rule(req.rule)
        except KeyError:
            kind = kinds[0] if len(kinds) == 1 else None
            raise reg.rule_problem(p, req.rule, kind) from None
        if rule.kind not in kinds:
            raise Problem(
                422,
                "wrong-rule-kind",
                "Wrong kind of rule",
                f"rule={req.rule!r} is a {rule.kind} rule; this endpoint answers "
                f"{' or '.join(kinds)} rules"
                + (" (use /eligibility)" if rule.kind == "eligibility" else " (use /compliance)"),
                [FieldError(field="rule", pointer="/rule", message=f"a {rule.kind} rule")],
            )
        reg.check_period(p, req.on, entitlement=rule.kind == "eligibility")
        loaded = _load_inline(req.data)
        ids = _subject_ids(loaded, rule.entity)
        if req.subject not in ids:
            hint = did_you_mean(req.subject, ids)
            raise Problem(
                422,
                "unknown-subject",
                "Unknown subject",
                f"subject={req.subject!r}: no {rule.entity} with that id in data{hint}",
                [
                    FieldError(
                        field="subject",
                        pointer="/subject",
                        message=f"no {rule.entity} {req.subject!r}{hint}",
                    )
                ],
            )
        ev = _evaluator(p, loaded)
        try:
            # the answer carries the finding's conditions: evaluate once, explained (the lean
            # decision first and the explanation after would evaluate the rule twice)
            if rule.kind == "eligibility":
                return ev.eligibility(req.subject, req.rule, req.on, explain=True)
            return ev.finding(req.rule, req.subject, req.on, explain=True)
        except FupinRulesError as exc:
            raise Problem(
                422, "unprocessable", "The request could not be answered", str(exc)
            ) from None

    def _log(p: Policy, on: dt.date, digest: str, findings: list[tuple[Finding, bytes]]) -> None:
        """Queue each decision in the decision log before its answer is sent (a 503 when the
        log cannot be written: no decision is given that is not logged)."""
        try:
            log.append(
                [
                    DecisionEntry(
                        policy_ref=p.ref,
                        policy_id=p.id,
                        policy_version=p.version,
                        policy_hash=p.content_hash,
                        on=on,
                        rule_id=f.rule_id,
                        subject=f"{f.subject_kind}:{f.subject_id}",
                        input_digest=digest,
                        verdict=f.verdict.value,
                        result=text.decode("utf-8"),
                    )
                    for f, text in findings
                ]
            )
        except RunStoreError as exc:
            raise Problem(
                503,
                "decision-log-unavailable",
                "The decision log cannot be written",
                f"no decision is given that is not logged: {exc}",
            ) from None

    def _decision_response(
        p: Policy, req: DecisionRequest, digest: str, f: Finding, lang: str | None
    ) -> Response:
        finding = finding_to_json(f)
        _log(p, req.on, digest, [(f, _json_bytes(finding))])
        body = {
            "policy": p.ref,
            "input_digest": digest,
            "finding": finding,
            "explanation": explain_text(f, lang) if lang else None,
        }
        return _json_response(_json_bytes(body))

    @app.post(
        "/v1/policies/{policy}/eligibility",
        tags=["decisions"],
        openapi_extra={"requestBody": decision_body, "parameters": [_EXPLAIN_PARAM, _LANG_PARAM]},
        response_model=DecisionResponse,
    )
    async def eligibility(policy: str, request: Request) -> Response:
        """Is this person eligible under an eligibility rule, for how much, and why (on request)."""
        explain, lang = _answer_query(request, ("explain", "lang"))
        p = reg.get(policy)
        req, digest = await _request(request, DecisionRequest)
        f = _decide(p, req, ("eligibility",))
        return _decision_response(p, req, digest, f, lang if explain else None)

    @app.post(
        "/v1/policies/{policy}/compliance",
        tags=["decisions"],
        openapi_extra={"requestBody": decision_body, "parameters": [_EXPLAIN_PARAM, _LANG_PARAM]},
        response_model=DecisionResponse,
    )
    async def compliance(policy: str, request: Request) -> Response:
        """Does this subject comply with one compliance (or target) rule, and if not, why."""
        explain, lang = _answer_query(request, ("explain", "lang"))
        p = reg.get(policy)
        req, digest = await _request(request, DecisionRequest)
        f = _decide(p, req, ("compliance", "target"))
        return _decision_response(p, req, digest, f, lang if explain else None)

    @app.post(
        "/v1/policies/{policy}/explain",
        tags=["decisions"],
        openapi_extra={"requestBody": decision_body, "parameters": [_LANG_PARAM]},
        response_model=DecisionResponse,
    )
    async def explain_one(policy: str, request: Request) -> Response:
        """One finding of any rule with its explanation in Chinese or English: every condition
        with the values that decided it, the parameters used and their periods, the clause."""
        _, lang = _answer_query(request, ("lang",))
        p = reg.get(policy)
        req, digest = await _request(request, DecisionRequest)
        f = _decide(p, req, ("eligibility", "compliance", "target"))
        return _decision_response(p, req, digest, f, lang)

    async def _unit(kind: str, policy: str, request: Request) -> Response:
        explain, lang = _answer_query(request, ("explain", "lang"))
        p = reg.get(policy)
        req, digest = await _request(request, UnitRequest)
        reg.check_period(p, req.on, entitlement=False)
        loaded = _load_inline(req.data)
        ids = _subject_ids(loaded, kind)
        if req.subject not in ids:
            hint = did_you_mean(req.subject, ids)
            raise Problem(
                422,
                "unknown-subject",
                "Unknown subject",
                f"subject={req.subject!r}: no {kind} with that id in data{hint}",
                [
                    FieldError(
                        field="subject",
                        pointer="/subject",
                        message=f"no {kind} {req.subject!r}{hint}",
                    )
                ],
            )
        ev = _evaluator(p, loaded)
        try:
            fs = list(
                ev.household(req.subject, req.on, explain=True)
                if kind == "household"
                else ev.village(req.subject, req.on, explain=True)
            )
        except FupinRulesError as exc:
            raise Problem(
                422, "unprocessable", "The request could not be answered", str(exc)
            ) from None
        findings = [finding_to_json(f) for f in fs]
        _log(p, req.on, digest, [(f, _json_bytes(j)) for f, j in zip(fs, findings, strict=True)])
        body = {
            "policy": p.ref,
            "input_digest": digest,
            "subject": {"kind": kind, "id": req.subject},
            "findings": findings,
            "explanations": [explain_text(f, lang) for f in fs] if explain else None,
        }
        return _json_response(_json_bytes(body))

    @app.post(
        "/v1/policies/{policy}/household",
        tags=["units"],
        openapi_extra={"requestBody": unit_body, "parameters": [_EXPLAIN_PARAM, _LANG_PARAM]},
        response_model=UnitResponse,
    )
    async def household(policy: str, request: Request) -> Response:
        """Every finding about one household, its persons and its records."""
        return await _unit("household", policy, request)

    @app.post(
        "/v1/policies/{policy}/village",
        tags=["units"],
        openapi_extra={"requestBody": unit_body, "parameters": [_EXPLAIN_PARAM, _LANG_PARAM]},
        response_model=UnitResponse,
    )
    async def village(policy: str, request: Request) -> Response:
        """Every finding about one village (exit standard 贫困村出列, ...)."""
        return await _unit("village", policy, request)
