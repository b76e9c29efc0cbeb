"""The HTTP/JSON API (FastAPI): policies, single decisions, whole units, dataset runs, explain.

Routes name a policy as ``id`` (its newest served version) or ``id@version``; every request body
is parsed with exact decimals and validated by the library's own loader; every decision is
written to the decision log; every error is RFC 9457 problem details. See docs/service.md.
"""

from __future__ import annotations

import datetime as dt
import gc
import hmac
import ipaddress
import json
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import attrs
import orjson
from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fupin_rules.api import Evaluator
from fupin_rules.domain.dataset import LoadResult, load_dataset
from fupin_rules.domain.entities import ENTITIES
from fupin_rules.errors import DataError, FupinRulesError, RunStoreError
from fupin_rules.findings.model import Finding
from fupin_rules.findings.render import explain as explain_text
from fupin_rules.findings.render import finding_to_json
from fupin_rules.policy.model import Policy
from fupin_rules.runs.store import default_store_path, input_digest
from fupin_rules.service.decision_log import DecisionEntry, DecisionLog, StoreDecisionLog
from fupin_rules.service.describe import coverage_rows, policy_detail, policy_summary
from fupin_rules.service.examples import decision_example
from fupin_rules.service.jobs import Job, JobManager
from fupin_rules.service.models import (
    CoverageRow,
    DecisionRequest,
    DecisionResponse,
    JobStatus,
    PolicyDetail,
    PolicySummary,
    UnitRequest,
    UnitResponse,
)
from fupin_rules.service.problems import (
    PROBLEM_MEDIA_TYPE,
    FieldError,
    Problem,
    ProblemDetails,
    did_you_mean,
    issue_errors,
)
from fupin_rules.service.registry import PolicyRegistry
from fupin_rules.service.uploads import UploadLimits, load_upload

__all__ = ["API_KEY_HEADER", "ServiceConfig", "create_app"]

API_KEY_HEADER = "X-API-Key"
M = TypeVar("M", bound=BaseModel)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


_LANG_PATTERN = "^(zh|en)$"
_LANG_TEXT = "Language of the explanation"


class _AnswerQuery(BaseModel):
    """The query of a decision or unit request: ``explain`` and ``lang``.

    Read by :func:`_answer_query` rather than declared as endpoint parameters: FastAPI's
    per-parameter validation cost about 20 µs a request (measured in process), a tenth of a
    decision. The same pydantic rules and messages apply (a bad value is the same 422), and
    the routes' ``openapi_extra`` lists the parameters exactly as FastAPI did."""

    explain: bool = False
    lang: Annotated[str, Field(pattern=_LANG_PATTERN, description=_LANG_TEXT)] = "zh"


#: the OpenAPI entries FastAPI generated for ``explain: bool = False`` and ``lang: Lang = "zh"``
_EXPLAIN_PARAM = {
    "name": "explain",
    "in": "query",
    "required": False,
    "schema": {"type": "boolean", "default": False, "title": "Explain"},
}
_LANG_PARAM = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {
        "type": "string",
        "pattern": _LANG_PATTERN,
        "description": _LANG_TEXT,
        "default": "zh",
        "title": "Lang",
    },
    "description": _LANG_TEXT,
}


def _answer_query(request: Request, names: tuple[str, ...]) -> tuple[bool, str]:
    """``(explain, lang)`` from the query string; a bad value is FastAPI's 422."""
    params = request.query_params
    if not params:
        return False, "zh"
    raw = {n: params[n] for n in names if n in params}
    try:
        q = _AnswerQuery.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
        ) from None
    return q.explain, q.lang


@attrs.frozen
class ServiceConfig:
    """What the operator chooses when the service starts (never the clients)."""

    #: policy refs to serve (installed names, ``name@version``, folders); None = all installed
    policies: tuple[str, ...] | None = None
    #: the decision log's SQLite file (``:memory:`` keeps it in memory)
    #: the run store whose ``decisions`` table is the decision log (default: $FUPIN_RULES_STORE
    #: or fupin-runs.sqlite, as ``fupin-rules check --store``)
    store: str = ""
    engine: str = "auto"
    #: accepted API keys; empty = no authentication
    api_keys: frozenset[str] = frozenset()
    #: largest JSON request body (single decisions and units), bytes
    max_body_bytes: int = 8 << 20
    upload: UploadLimits = attrs.field(factory=UploadLimits)
    job_workers: int = 1
    #: longest a run request may wait for its job (``wait=`` seconds) before answering 202
    max_wait_seconds: float = 30.0


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _problem_response(p: Problem, instance: str | None) -> JSONResponse:
    return JSONResponse(
        p.body(instance),
        status_code=p.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=p.headers or None,
    )


class _GuardMiddleware:
    """Body size limits (before and while the body is read) and the optional API key."""

    def __init__(self, app: ASGIApp, config: ServiceConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.config.api_keys and path.startswith("/v1/"):
            given = headers.get(API_KEY_HEADER.lower(), "")
            if not any(hmac.compare_digest(given, k) for k in self.config.api_keys):
                p = Problem(
                    401,
                    "unauthorized",
                    "API key required",
                    f"send a valid key in the {API_KEY_HEADER} header",
                    headers={"WWW-Authenticate": API_KEY_HEADER},
                )
                await _problem_response(p, path)(scope, receive, send)
                return
        limit = (
            self.config.upload.max_upload_bytes + (1 << 20)  # multipart framing
            if path.endswith("/runs")
            else self.config.max_body_bytes
        )
        too_large = Problem(
            413,
            "too-large",
            "Request body too large",
            f"the request body is over {limit} bytes, the limit of {path}",
        )
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _problem_response(too_large, path)(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Problem as p:
            if started:
                raise
            await _problem_response(p, path)(scope, receive, send)


def _parse_json(body: bytes) -> Any:
    """JSON with exact decimals; NaN/Infinity refused; a 400 naming line and column otherwise."""

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(body, parse_float=Decimal, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise Problem(
            400,
            "invalid-json",
            "Invalid JSON",
            f"request body line {exc.lineno} column {exc.colno}: {exc.msg}",
        ) from None
    except (ValueError, RecursionError) as exc:
        raise Problem(400, "invalid-json", "Invalid JSON", f"request body: {exc}") from None


def _validate(model: type[M], value: Any) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        errors = [
            FieldError(
                field=".".join(str(p) for p in e["loc"]) or None,
                pointer="/" + "/".join(str(p) for p in e["loc"]),
                message=e["msg"],
            )
            for e in exc.errors()[:50]
        ]
        raise Problem(
            422,
            "invalid-request",
            "Invalid request",
            "; ".join(f"{e.field or 'body'}: {e.message}" for e in errors[:5]),
            errors,
        ) from None


def _load_inline(data: dict[str, Any]) -> LoadResult:
    """The inline dataset through the library's loader; any bad row is a 422 naming it."""
    try:
        loaded = load_dataset(data, source="request")
    except DataError as exc:
        raise Problem(
            422,
            "bad-dataset",
            "Invalid dataset",
            str(exc),
            [FieldError(field="data", pointer="/data/county", message=str(exc))],
        ) from None
    if loaded.issues:
        errors = issue_errors(loaded.issues)
        for e, i in zip(errors, loaded.issues, strict=False):
            e.pointer = f"/data/{i.table}" + (f"/{i.row - 1}" if i.row else "")
            if i.field:
                e.pointer += f"/{i.field}"
        first = loaded.issues[0]
        raise Problem(
            422,
            "bad-dataset",
            "Invalid dataset",
            f"{len(loaded.issues)} problem(s) in the dataset; first: {first.render()}",
            errors,
        )
    return loaded


def _subject_ids(loaded: LoadResult, entity: str) -> list[str]:
    ds = loaded.dataset
    if entity == "county":
        return [ds.county.key()]
    table = ds.table(ENTITIES[entity].table)
    return [r.key() for r in table or ()]


def _json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON text (orjson; what it refuses, such as an integer over 64 bits or a
    lone surrogate from a request, goes through the standard library, escaped)."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, separators=(",", ":")).encode("ascii")


def _json_response(body: bytes) -> Response:
    """An answer already serialised: FastAPI neither validates nor re-encodes it (the models in
    the route's ``response_model`` describe it in the OpenAPI document; a test checks that every
    finding the library makes validates against :class:`FindingModel`)."""
    return Response(body, media_type="application/json")


def create_app(
    config: ServiceConfig = ServiceConfig(),
    *,
    registry: PolicyRegistry | None = None,
    decision_log: DecisionLog | None = None,
) -> FastAPI:
    """The FastAPI application (``uvicorn`` serves it; :func:`serve` does both)."""
    reg = registry or PolicyRegistry.load(config.policies)
    log: DecisionLog = decision_log or StoreDecisionLog(config.store or default_store_path())
    jobs = JobManager(workers=config.job_workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        # what start-up built (policies, compiled expressions, models, routes) lives as long as
        # the service: moved out of the cyclic collector's reach, so that a full collection no
        # longer walks it (about 80,000 objects with one policy; in process, 5,050 decisions
        # met one full collection of 122 ms without this and none with it, load average 8)
        gc.collect()
        gc.freeze()
        yield
        jobs.shutdown()
        log.close()

    app = FastAPI(
        title="fupin_rules service",
        version=_version(),
        summary="Poverty-alleviation (扶贫) policy decisions over HTTP/JSON",
        description=(
            "Eligibility, compliance and problem lists (问题清单) of versioned policy packages. "
            "Every decision names the policy id, version, content hash and as-of date, and is "
            "written to the decision log. Errors are RFC 9457 problem details. Money is exact: "
            "amounts are decimal strings."
        ),
        lifespan=lifespan,
        responses={
            "4XX": {
                "model": ProblemDetails,
                "description": "Problem details (application/problem+json)",
                "content": {PROBLEM_MEDIA_TYPE: {}},
            }
        },
    )
    app.state.registry = reg
    app.state.decision_log = log
    app.state.jobs = jobs
    app.state.config = config

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return _problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(
                field=str(e["loc"][-1]) if e.get("loc") else None,
                pointer="/" + "/".join(str(p) for p in e.get("loc", ())),
                message=e.get("msg", "invalid"),
            )
            for e in exc.errors()[:50]
        ]
        detail = "; ".join(
            f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors()[:5]
        )
        return _problem_response(
            Problem(422, "invalid-request", "Invalid request", detail, errors), request.url.path
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        p = Problem(
            exc.status_code,
            "http-" + str(exc.status_code),
            str(exc.detail) if exc.status_code != 404 else "Not found",
            f"{request.method} {request.url.path}: {exc.detail}",
            headers=dict(exc.headers or {}),
        )
        return _problem_response(p, request.url.path)

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        p = Problem(500, "internal", "Internal error", f"{type(exc).__name__}: {exc}")
        return _problem_response(p, request.url.path)

    app.add_middleware(_GuardMiddleware, config=config)

    # ------------------------------------------------------------------ policies

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, Any]:
        """Liveness: the policies served."""
        return {"status": "ok", "policies": list(reg.policies)}

    @app.get("/v1/policies", tags=["policies"])
    def list_policies() -> list[PolicySummary]:
        """Every policy served, side by side by ``id@version``: hash and period (有效期)."""
        return [PolicySummary.model_validate(policy_summary(p)) for p in reg.policies.values()]

    @app.get("/v1/policies/{policy}", tags=["policies"])
    def get_policy(policy: str) -> PolicyDetail:
        """One policy: its rules, parameters with their dated values, catalogues, coverage."""
        return PolicyDetail.model_validate(policy_detail(reg.get(policy)))

    @app.get(
        "/v1/policies/{policy}/coverage",
        tags=["policies"],
        responses={200: {"content": {"text/markdown": {}}}},
    )
    def get_coverage(
        policy: str, format: Annotated[str, Query(pattern="^(json|markdown)$")] = "json"
    ) -> Any:
        """The coverage table: each clause, what encodes it, what is left out and why."""
        p = reg.get(policy)
        if format == "markdown":
            from fupin_rules.policy.coverage import coverage_markdown

            return PlainTextResponse(coverage_markdown(p), media_type="text/markdown")
        return [CoverageRow.model_validate(r) for r in coverage_rows(p)]

    # ------------------------------------------------------------------ decisions

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

    # ------------------------------------------------------------------ runs

    def _status(job: Job) -> JobStatus:
        base = f"/v1/jobs/{job.id}"
        links = {"self": base}
        summary = None
        if job.status == "done" and job.evaluation is not None:
            from fupin_rules.reports.json_report import summary as summarize

            summary = summarize(job.evaluation)
            links |= {
                "report": f"{base}/report",
                "excel": f"{base}/report.xlsx",
                "html": f"{base}/report.html",
            }
        return JobStatus(
            id=job.id,
            status=job.status,
            policy=job.policy.ref,
            on=job.on,
            progress={"stratum": job.stratum, "done": job.done, "total": job.total},
            created=job.created,
            finished=job.finished,
            summary=summary,
            run_id=job.run_id,
            problem=job.problem,
            links=links,
        )

    @app.post(
        "/v1/policies/{policy}/runs",
        tags=["runs"],
        status_code=202,
        responses={200: {"model": JobStatus, "description": "Finished within wait="}},
    )
    async def start_run(
        policy: str,
        file: Annotated[
            UploadFile, File(description="JSON, .xlsx, or a .zip of CSV or Parquet tables")
        ],
        on: Annotated[dt.date, Form(description="As-of date (判定日期)")],
        format: Annotated[
            str | None, Form(description="json | xlsx | csv-zip | parquet-zip (default: detected)")
        ] = None,
        engine: Annotated[
            str,
            Form(
                pattern="^(batch|auto|inference|reference)$",
                description="batch (columnar, whole county at once) or a per-unit engine "
                "(auto, inference, reference: progress unit by unit)",
            ),
        ] = "batch",
        wait: Annotated[float, Query(ge=0, description="Seconds to wait for the result")] = 0.0,
    ) -> Response:
        """Run a whole uploaded dataset through a policy (回头看) as a job; poll its status and
        fetch the report (JSON, Excel 问题清单, HTML) when done."""
        p = reg.get(policy)
        reg.check_period(p, on, entitlement=False)
        data = await file.read()
        loaded, digest = await run_in_threadpool(
            load_upload, data, filename=file.filename, declared=format, limits=config.upload
        )

        def run(job: Job) -> Any:
            if engine == "batch":
                from fupin_rules.batch import evaluate_batch

                job.stratum = "batch"
                ev = evaluate_batch(p, loaded, on, materialize="all")
                job.done = job.total
                return ev
            from fupin_rules.api import evaluate

            def step(stratum: str, n: int) -> None:
                job.stratum = stratum
                job.done += n

            return evaluate(p, loaded, on, engine=engine, progress=step)

        def done(job: Job) -> None:
            assert job.evaluation is not None
            job.run_id = log.record_run(
                job.evaluation,
                input_name=file.filename or "upload",
                input_digest=digest,
                dataset=loaded.dataset,
            )

        job = jobs.submit(p, on, loaded, run, done)
        wait = min(wait, config.max_wait_seconds)
        if wait > 0:
            await run_in_threadpool(job.event.wait, wait)
        body = _status(job).model_dump(mode="json")
        code = 200 if job.status in ("done", "failed") else 202
        return JSONResponse(body, status_code=code, headers={"Location": f"/v1/jobs/{job.id}"})

    @app.get("/v1/jobs/{job_id}", tags=["runs"])
    def job_status(job_id: str) -> JobStatus:
        """A run's status and progress (units done of total, current stratum)."""
        return _status(jobs.get(job_id))

    def _finished(job_id: str) -> Job:
        job = jobs.get(job_id)
        if job.status != "done" or job.evaluation is None:
            raise Problem(
                409,
                "not-finished",
                "The run has no report",
                f"job {job_id} is {job.status}; fetch the report when its status is done",
            )
        return job

    @app.get(
        "/v1/jobs/{job_id}/report",
        tags=["runs"],
        responses={200: {"content": {"application/json": {}}}},
    )
    def job_report(job_id: str, include_passing: bool = True) -> Response:
        """The JSON report (the CLI's ``check --out``)."""
        from fupin_rules.reports.json_report import to_json_text

        job = _finished(job_id)
        assert job.evaluation is not None
        text = to_json_text(job.evaluation, include_passing=include_passing)
        return Response(text, media_type="application/json")

    @app.get(
        "/v1/jobs/{job_id}/report.xlsx",
        tags=["runs"],
        responses={
            200: {
                "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}
            }
        },
    )
    def job_excel(job_id: str) -> Response:
        """The Excel problem list (问题清单)."""
        from fupin_rules.reports.excel import write_problem_list

        job = _finished(job_id)
        assert job.evaluation is not None and job.loaded is not None
        with tempfile.TemporaryDirectory(prefix="fupin-report-") as tmp:
            path = Path(tmp) / "report.xlsx"
            write_problem_list(job.evaluation, path, dataset=job.loaded.dataset)
            data = path.read_bytes()
        return Response(
            data,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="problems-{job_id[:8]}.xlsx"'},
        )

    @app.get(
        "/v1/jobs/{job_id}/report.html",
        tags=["runs"],
        responses={200: {"content": {"text/html": {}}}},
    )
    def job_html(job_id: str) -> Response:
        """The self-contained HTML report."""
        from fupin_rules.reports.html import write_html_report

        job = _finished(job_id)
        assert job.evaluation is not None and job.loaded is not None
        with tempfile.TemporaryDirectory(prefix="fupin-report-") as tmp:
            path = Path(tmp) / "report.html"
            write_html_report(job.evaluation, path, dataset=job.loaded.dataset)
            text = path.read_text("utf-8")
        return Response(text, media_type="text/html; charset=utf-8")

    # ------------------------------------------------------------------ the log

    @app.get("/v1/decisions", tags=["service"])
    def decisions(limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[dict[str, Any]]:
        """The decision log's last entries, newest first (the run store's ``decisions``)."""
        return log.recent(limit)

    return app


def _version() -> str:
    from fupin_rules._version import __version__

    return __version__
