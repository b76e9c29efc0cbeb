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
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from fupin_rules.domain.dataset import Dataset
from fupin_rules.engine.run import Evaluation
from fupin_rules.runs.store import RunStore
from fupin_rules.runs.tracking import Locator

__all__ = ["DecisionEntry", "DecisionLog", "StoreDecisionLog"]


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


class DecisionLog(Protocol):
    """Where the service writes its decisions and runs."""

    def append(self, entries: Sequence[DecisionEntry]) -> None: ...

    def record_run(
        self, ev: Evaluation, *, input_name: str, input_digest: str, dataset: Dataset
    ) -> int: ...

    def recent(self, limit: int) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


class StoreDecisionLog:
    """The decision log in a run store (created when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.store = RunStore(path, synchronous="normal")

    def append(self, entries: Sequence[DecisionEntry]) -> None:
        """Append each entry as one row of ``decisions``."""
        for e in entries:
            self.store.record_decision(
                policy_ref=e.policy_ref,
                policy_id=e.policy_id,
                policy_version=e.policy_version,
                policy_hash=e.policy_hash,
                on=e.on,
                input_digest=e.input_digest,
                rule_id=e.rule_id,
                subject=e.subject,
                verdict=e.verdict,
                result=e.result,
            )

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
        """The last ``limit`` decisions, newest first, as JSON."""
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
        """Close the store."""
        self.store.close()
