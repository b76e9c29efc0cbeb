"""The HTTP/JSON API (FastAPI): policies, single decisions, whole units, dataset runs, explain.

Routes name a policy as ``id`` (its newest served version) or ``id@version``; every request body
is parsed with exact decimals and validated by the library's own loader; every decision is
written to the decision log; every error is RFC 9457 problem details. See docs/service.md.
"""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fupin_rules.runs.store import default_store_path
from fupin_rules.service.config import API_KEY_HEADER, ServiceConfig, is_loopback
from fupin_rules.service.decision_log import DecisionLog, StoreDecisionLog
from fupin_rules.service.describe import coverage_rows, policy_detail, policy_summary
from fupin_rules.service.guard import _GuardMiddleware, _problem_response
from fupin_rules.service.jobs import JobManager
from fupin_rules.service.models import CoverageRow, PolicyDetail, PolicySummary
from fupin_rules.service.problems import PROBLEM_MEDIA_TYPE, FieldError, Problem, ProblemDetails
from fupin_rules.service.registry import PolicyRegistry
from fupin_rules.service.routes_decisions import add_decision_routes
from fupin_rules.service.routes_runs import add_run_routes

__all__ = ["API_KEY_HEADER", "ServiceConfig", "create_app", "is_loopback"]


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

    add_decision_routes(app, reg, log, config)
    add_run_routes(app, reg, log, jobs, config)

    # ------------------------------------------------------------------ the log

    @app.get("/v1/decisions", tags=["service"])
    def decisions(limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[dict[str, Any]]:
        """The decision log's last entries, newest first (the run store's ``decisions``)."""
        return log.recent(limit)

    return app


def _version() -> str:
    from fupin_rules._version import __version__

    return __version__
