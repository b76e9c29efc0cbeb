"""Dataset runs as jobs: a run is queued, runs on a worker thread, reports its progress, and its
report is fetched afterwards (JSON, Excel 问题清单, HTML), so no request waits on a county."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs

from fupin_rules.domain.dataset import LoadResult
from fupin_rules.engine.run import Evaluation
from fupin_rules.errors import FupinRulesError
from fupin_rules.policy.model import Policy
from fupin_rules.service.problems import Problem

__all__ = ["Job", "JobManager"]


@attrs.define
class Job:
    """One dataset run and where it is."""

    id: str
    policy: Policy
    on: dt.date
    total: int
    status: str = "queued"
    stratum: str | None = None
    done: int = 0
    created: dt.datetime = attrs.field(factory=lambda: dt.datetime.now(dt.UTC))
    finished: dt.datetime | None = None
    evaluation: Evaluation | None = None
    loaded: LoadResult | None = None
    problem: dict[str, Any] | None = None
    run_id: int | None = None  # in the run store, once done
    event: threading.Event = attrs.field(factory=threading.Event)


class JobManager:
    """Runs jobs on a small pool of worker threads; keeps the last ``keep`` jobs."""

    def __init__(self, *, workers: int = 1, keep: int = 32) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fupin-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep

    def submit(
        self,
        policy: Policy,
        on: dt.date,
        loaded: LoadResult,
        run: Callable[[Job], Evaluation],
        on_done: Callable[[Job], None] | None = None,
    ) -> Job:
        """Queue ``run(job)``; ``on_done(job)`` is called when it finished (either way)."""
        ds = loaded.dataset
        job = Job(
            id=uuid.uuid4().hex,
            policy=policy,
            on=on,
            total=len(ds.households) + len(ds.villages) + 1,
            loaded=loaded,
        )
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self._keep:
                oldest = next(iter(self._jobs))
                if self._jobs[oldest].status in ("queued", "running"):
                    break
                del self._jobs[oldest]

        def work() -> None:
            job.status = "running"
            try:
                job.evaluation = run(job)
                job.status = "done"
            except Problem as exc:
                job.problem = exc.body()
                job.status = "failed"
            except FupinRulesError as exc:
                job.problem = Problem(
                    422, "run-failed", "The run could not be done", str(exc)
                ).body()
                job.status = "failed"
            except Exception as exc:  # a bug: reported as such, the service goes on
                job.problem = Problem(
                    500, "internal", "Internal error", f"{type(exc).__name__}: {exc}"
                ).body()
                job.status = "failed"
            finally:
                job.finished = dt.datetime.now(dt.UTC)
                if on_done is not None and job.status == "done":
                    on_done(job)
                job.event.set()

        self._pool.submit(work)
        return job

    def get(self, job_id: str) -> Job:
        """The job, or a 404 problem."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise Problem(
                404,
                "unknown-job",
                "Unknown job",
                f"no job {job_id!r} here (jobs are kept in memory; the last {self._keep} only)",
            )
        return job

    def shutdown(self) -> None:
        """Stop taking jobs; wait for the running one."""
        self._pool.shutdown(wait=True, cancel_futures=True)
