"""The decision log: every decision the service gives, written to the run store.

The service writes through the small :class:`DecisionLog` interface; :class:`StoreDecisionLog`
puts the entries in the ``decisions`` table of the run store (:mod:`fupin_rules.runs`, the same
SQLite file ``fupin-rules check --store`` and ``fupin-rules runs`` use) and a dataset run in its
``runs`` and ``findings`` tables, so a county run through the service is followed from run to run
(整改) like one from the command line. Each decision records the time, the policy reference
(``id@version#hash``), the as-of date, the rule and subject, the input digest (SHA-256 of the
request's canonical JSON, see :func:`fupin_rules.runs.input_digest`), the verdict and the finding
JSON (which holds the amount).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from fupin_rules.domain.dataset import Dataset
from fupin_rules.engine.run import Evaluation
from fupin_rules.errors import RunStoreError
from fupin_rules.runs.store import RunStore
from fupin_rules.runs.tracking import Locator

__all__ = ["DecisionEntry", "DecisionLog", "StoreDecisionLog"]

_LOG = logging.getLogger("fupin_rules.service")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@attrs.frozen
class DecisionEntry:
    """One decision to log."""

    policy_ref: str
    policy_id: str
    policy_version: str
    policy_hash: str
    on: dt.date
    rule_id: str | None
    subject: str | None
    input_digest: str
    verdict: str
    result: str  # JSON text of the finding
    #: when the decision was made (set by :meth:`StoreDecisionLog.append` when None)
    at: dt.datetime | None = None


class DecisionLog(Protocol):
    """Where the service writes its decisions and runs."""

    def append(self, entries: Sequence[DecisionEntry]) -> None: ...

    def record_run(
        self, ev: Evaluation, *, input_name: str, input_digest: str, dataset: Dataset
    ) -> int: ...

    def recent(self, limit: int) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


class StoreDecisionLog:
    """The decision log in a run store (created when missing), written by one writer thread.

    The guarantee (docs/service.md): :meth:`append` queues the entries, stamped with the time of
    the decision, before the service sends its answer. The writer thread commits what is queued
    in one transaction, then waits :attr:`BATCH_SECONDS` and commits what came meanwhile, so a
    decision is in the file within a few milliseconds of its answer, and a busy service commits
    many decisions at a time instead of one each. An append only signals the writer when it has
    found nothing to commit and waits (a wake-up per request, and the hand-over of the GIL it
    forces, cost the request path more than the commit itself: measured with py-spy).
    :meth:`flush` commits at once and waits for it; :meth:`recent` and :meth:`close` (the service
    calls it when it stops) flush first. If a commit fails (disk full, file removed), the error
    is kept and every later :meth:`append` raises :class:`~fupin_rules.errors.RunStoreError`: the
    service then answers 503 and gives no decision it cannot log; the decisions of the failed
    commit are named on the ``fupin_rules.service`` logger. Like the store's
    ``synchronous=NORMAL``, the last moments before a power loss or a killed process
    (``kill -9``) may be lost.
    """

    #: how long the writer lets decisions gather after a commit before the next one
    BATCH_SECONDS = 0.002

    def __init__(self, path: str | Path) -> None:
        self.store = RunStore(path, synchronous="normal")
        self._lock = threading.Lock()
        self._done_cond = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._pending: list[DecisionEntry] = []
        self._waiting = False  # the writer found nothing to commit and waits for _wake
        self._queued = 0  # entries appended so far
        self._done = 0  # entries committed (or lost to an error) so far
        self._flush_to = 0  # the count a flush waits for
        self._error: RunStoreError | None = None
        self._closing = False
        self._writer = threading.Thread(target=self._write_loop, name="decision-log", daemon=True)
        self._writer.start()

    def append(self, entries: Sequence[DecisionEntry]) -> None:
        """Queue each entry as one row of ``decisions`` (committed by the writer thread)."""
        now = _now()
        stamped = [e if e.at is not None else attrs.evolve(e, at=now) for e in entries]
        with self._lock:
            if self._error is not None:
                raise RunStoreError(f"the decision log cannot be written: {self._error}")
            if self._closing:
                raise RunStoreError("the decision log is closed")
            self._pending.extend(stamped)
            self._queued += len(stamped)
            wake, self._waiting = self._waiting, False
        if wake:
            self._wake.set()

    def _write_loop(self) -> None:
        while True:
            with self._lock:
                batch, self._pending = self._pending, []
                closing = self._closing
                if not batch:
                    self._waiting = True
            if not batch:
                if closing:
                    return
                self._wake.wait()
                self._wake.clear()
                continue
            error = self._commit(batch)
            with self._lock:
                if error is not None and self._error is None:
                    self._error = error
                self._done += len(batch)
                self._done_cond.notify_all()
                hurry = self._closing or self._done < self._flush_to
            if not hurry:
                self._wake.wait(self.BATCH_SECONDS)  # a flush or close cuts the pause short
                self._wake.clear()

    def _commit(self, batch: list[DecisionEntry]) -> RunStoreError | None:
        try:
            self.store.insert_decision_rows(
                [
                    (
                        (e.at or _now()).isoformat(),
                        e.policy_ref,
                        e.policy_id,
                        e.policy_version,
                        e.policy_hash,
                        e.on.isoformat(),
                        e.input_digest,
                        e.rule_id,
                        e.subject,
                        e.verdict,
                        e.result,
                    )
                    for e in batch
                ]
            )
            return None
        except Exception as exc:  # never let the writer die silently
            error = (
                exc
                if isinstance(exc, RunStoreError)
                else RunStoreError(f"{type(exc).__name__}: {exc}")
            )
            _LOG.error(
                "decision log: %d decision(s) could not be written (%s): %s",
                len(batch),
                error,
                ", ".join(f"{e.rule_id} {e.subject} {e.input_digest}" for e in batch[:20]),
            )
            return error

    def flush(self, timeout: float | None = None) -> None:
        """Commit every entry appended so far now and wait for it; raise if a commit failed."""
        with self._lock:
            target = self._queued
            self._flush_to = max(self._flush_to, target)
        self._wake.set()
        with self._lock:
            if not self._done_cond.wait_for(lambda: self._done >= target, timeout):
                raise RunStoreError(f"the decision log did not commit within {timeout} s")
            if self._error is not None:
                raise RunStoreError(f"the decision log cannot be written: {self._error}")

    def record_run(
        self, ev: Evaluation, *, input_name: str, input_digest: str, dataset: Dataset
    ) -> int:
        """Store a dataset run (its counts and every finding that is not a pass, each with its
        township, village, household and 帮扶责任人); return its run id."""
        run = self.store.record_run(
            ev,
            input_name=input_name,
            input_digest=input_digest,
            county_id=dataset.county.county_id,
            policy_ref=f"{ev.policy_id}@{ev.policy_version}#{ev.policy_hash[:12]}",
            locate=Locator.from_dataset(dataset).place,
            label="service",
        )
        return run.run_id

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` decisions, newest first, as JSON (after a :meth:`flush`)."""
        self.flush()
        out = []
        for d in self.store.decisions(limit=limit):
            result = json.loads(d.result)
            out.append(
                {
                    "id": d.decision_id,
                    "at": d.recorded_at.isoformat(),
                    "policy": d.policy_ref,
                    "on": d.on.isoformat() if d.on else None,
                    "rule": d.rule_id,
                    "subject": d.subject,
                    "input_digest": d.input_digest,
                    "verdict": d.verdict,
                    "amount_yuan": result.get("amount_yuan") if isinstance(result, dict) else None,
                    "result": result,
                }
            )
        return out

    def close(self) -> None:
        """Commit what is queued, stop the writer and close the store."""
        with self._lock:
            self._closing = True
        self._wake.set()
        self._writer.join()
        self.store.close()
