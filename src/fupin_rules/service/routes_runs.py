"""The run routes: a whole uploaded dataset as a job, its status and its reports."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from fupin_rules.service.config import ServiceConfig
from fupin_rules.service.decision_log import DecisionLog
from fupin_rules.service.jobs import Job, JobManager
from fupin_rules.service.models import JobStatus
from fupin_rules.service.problems import Problem
from fupin_rules.service.registry import PolicyRegistry
from fupin_rules.service.uploads import load_upload


def add_run_routes(
    app: FastAPI, reg: PolicyRegistry, log: DecisionLog, jobs: JobManager, config: ServiceConfig
) -> None:
    """``POST /v1/policies/{policy}/runs`` and ``/v1/jobs/...`` (status, JSON, Excel, HTML)."""

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
