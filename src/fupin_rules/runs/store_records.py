"""The rows of the run store: stable problem identity, input digest, the stored row types and
their conversion to and from SQLite rows (see :mod:`fupin_rules.runs.store`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from fupin_rules.findings.model import Finding, Outcome, json_value


def problem_key(policy_id: str, rule_id: str, subject_kind: str, subject_id: str) -> str:
    """The stable identity of a finding across runs: ``policy/rule/kind:id``.

    The policy *version* is not part of it: the same problem under a new version of the policy
    is the same problem (the version change is shown next to it).
    """
    return f"{policy_id}/{rule_id}/{subject_kind}:{subject_id}"


def input_digest(source: str | os.PathLike[str] | Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the input: a file's bytes, a folder's files (relative path and bytes,
    in sorted order, hidden files skipped) or a dict's canonical JSON."""
    h = hashlib.sha256()
    if isinstance(source, Mapping):
        h.update(json.dumps(source, sort_keys=True, ensure_ascii=False, default=str).encode())
        return "sha256:" + h.hexdigest()
    path = Path(source)
    files = (
        sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if path.is_dir()
        else [path]
    )
    for p in files:
        if path.is_dir():
            h.update(p.relative_to(path).as_posix().encode() + b"\x00")
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\x00")
    return "sha256:" + h.hexdigest()


@attrs.frozen
class StoredRun:
    """One row of ``runs``."""

    run_id: int
    recorded_at: dt.datetime
    policy_ref: str
    policy_id: str
    policy_version: str
    policy_hash: str
    on: dt.date
    county_id: str
    input_name: str
    input_digest: str
    engine: str
    findings: int
    passed: int
    failed: int
    unknown: int
    not_applicable: int
    problems: int
    unit_errors: int
    rejected_rows: int
    label: str = ""


@attrs.frozen
class StoredFinding:
    """One row of ``findings`` (a non-passing finding of a stored run)."""

    run_id: int
    problem_key: str
    policy_id: str
    policy_version: str
    rule_id: str
    rule_kind: str
    subject_kind: str
    subject_id: str
    verdict: str
    is_problem: bool
    clause: str
    status: str
    amount_yuan: str | None
    township_id: str
    village_id: str
    household_id: str
    helper_name: str | None


@attrs.frozen
class Decision:
    """One row of ``decisions`` (a single decision a service gave)."""

    decision_id: int
    recorded_at: dt.datetime
    policy_ref: str
    policy_id: str
    policy_version: str
    policy_hash: str
    on: dt.date | None
    input_digest: str
    rule_id: str | None
    subject: str | None
    verdict: str | None
    result: str


@attrs.frozen
class Place:
    """Where a subject is: township, village, household, and the household's 帮扶责任人."""

    township_id: str = ""
    village_id: str = ""
    household_id: str = ""
    helper_name: str | None = None


#: a function that says where a subject (kind, id) is
Locate = Any  # Callable[[str, str], Place]; kept loose so callers can pass a bound method


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


_INSERT_DECISION = (
    "INSERT INTO decisions (recorded_at, policy_ref, policy_id, policy_version, policy_hash, "
    "on_date, input_digest, rule_id, subject, verdict, result) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)


def _decision_row(
    *,
    policy_ref: str,
    input_digest: str,
    result: Mapping[str, Any] | str,
    policy_id: str = "",
    policy_version: str = "",
    policy_hash: str = "",
    on: dt.date | None = None,
    rule_id: str | None = None,
    subject: str | None = None,
    verdict: str | None = None,
    recorded_at: dt.datetime | None = None,
) -> tuple[Any, ...]:
    text = (
        result
        if isinstance(result, str)
        else json.dumps(result, ensure_ascii=False, separators=(",", ":"), default=json_value)
    )
    return (
        (recorded_at or _now()).isoformat(),
        policy_ref,
        policy_id,
        policy_version,
        policy_hash,
        on.isoformat() if on else None,
        input_digest,
        rule_id,
        subject,
        verdict,
        text,
    )


def _finding_rows(
    run_id: int, findings: Iterable[Finding], locate: Locate | None
) -> Iterator[tuple[Any, ...]]:
    for f in findings:
        if f.verdict is Outcome.PASS or f.verdict is Outcome.NOT_APPLICABLE:
            continue
        place = locate(f.subject_kind, f.subject_id) if locate is not None else Place()
        yield (
            run_id,
            problem_key(f.policy_id, f.rule_id, f.subject_kind, f.subject_id),
            f.policy_id,
            f.policy_version,
            f.rule_id,
            f.rule_kind,
            f.subject_kind,
            f.subject_id,
            f.verdict.value,
            int(f.verdict is Outcome.FAIL and f.rule_kind in ("compliance", "target")),
            f.clause,
            f.status,
            json_value(f.amount) if f.amount is not None else None,
            place.township_id,
            place.village_id,
            place.household_id,
            place.helper_name,
        )


def _run(r: tuple[Any, ...]) -> StoredRun:
    return StoredRun(
        run_id=r[0],
        recorded_at=dt.datetime.fromisoformat(r[1]),
        policy_ref=r[2],
        policy_id=r[3],
        policy_version=r[4],
        policy_hash=r[5],
        on=dt.date.fromisoformat(r[6]),
        county_id=r[7],
        input_name=r[8],
        input_digest=r[9],
        engine=r[10],
        findings=r[11],
        passed=r[12],
        failed=r[13],
        unknown=r[14],
        not_applicable=r[15],
        problems=r[16],
        unit_errors=r[17],
        rejected_rows=r[18],
        label=r[19],
    )


def _finding(r: tuple[Any, ...]) -> StoredFinding:
    return StoredFinding(
        run_id=r[0],
        problem_key=r[1],
        policy_id=r[2],
        policy_version=r[3],
        rule_id=r[4],
        rule_kind=r[5],
        subject_kind=r[6],
        subject_id=r[7],
        verdict=r[8],
        is_problem=bool(r[9]),
        clause=r[10],
        status=r[11],
        amount_yuan=r[12],
        township_id=r[13],
        village_id=r[14],
        household_id=r[15],
        helper_name=r[16],
    )


def _decision(r: tuple[Any, ...]) -> Decision:
    return Decision(
        decision_id=r[0],
        recorded_at=dt.datetime.fromisoformat(r[1]),
        policy_ref=r[2],
        policy_id=r[3],
        policy_version=r[4],
        policy_hash=r[5],
        on=dt.date.fromisoformat(r[6]) if r[6] else None,
        input_digest=r[7],
        rule_id=r[8],
        subject=r[9],
        verdict=r[10],
        result=r[11],
    )
