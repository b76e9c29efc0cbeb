"""The decision log: every decision the service gives, with what produced it and from what.

Each entry records the time, the endpoint, the policy reference (``id@version#hash``), the
as-of date, the rule and subject, a SHA-256 digest of the input (canonical JSON of the request),
the verdict and amount, and the finding JSON. :class:`DecisionLog` is the small interface the
service writes through; :class:`SQLiteDecisionLog` keeps the entries in one SQLite file (WAL,
one connection shared under a lock).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import attrs

__all__ = ["DecisionEntry", "DecisionLog", "SQLiteDecisionLog", "input_digest"]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def input_digest(value: Any) -> str:
    """SHA-256 of the canonical JSON of ``value`` (sorted keys, exact decimals as text)."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.frozen
class DecisionEntry:
    """One decision as logged."""

    endpoint: str
    policy_ref: str
    on: dt.date
    rule_id: str | None
    subject: str | None
    input_digest: str
    verdict: str
    amount_yuan: str | None
    result: str  # JSON text of the finding (or of the run's summary)
    at: dt.datetime = attrs.field(factory=lambda: dt.datetime.now(dt.UTC))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``result`` parsed)."""
        return {
            "at": self.at.isoformat(),
            "endpoint": self.endpoint,
            "policy": self.policy_ref,
            "on": self.on.isoformat(),
            "rule": self.rule_id,
            "subject": self.subject,
            "input_digest": self.input_digest,
            "verdict": self.verdict,
            "amount_yuan": self.amount_yuan,
            "result": json.loads(self.result),
        }


class DecisionLog(Protocol):
    """Where the service writes its decisions."""

    def append(self, entries: Sequence[DecisionEntry]) -> None: ...

    def recent(self, limit: int) -> list[DecisionEntry]: ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    policy_ref TEXT NOT NULL,
    on_date TEXT NOT NULL,
    rule_id TEXT,
    subject TEXT,
    input_digest TEXT NOT NULL,
    verdict TEXT NOT NULL,
    amount_yuan TEXT,
    result TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_subject ON decisions (subject, rule_id);
"""


class SQLiteDecisionLog:
    """The decision log in one SQLite file (``:memory:`` for a throw-away log)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def append(self, entries: Sequence[DecisionEntry]) -> None:
        """Write ``entries`` in one transaction."""
        rows = [
            (
                e.at.isoformat(),
                e.endpoint,
                e.policy_ref,
                e.on.isoformat(),
                e.rule_id,
                e.subject,
                e.input_digest,
                e.verdict,
                e.amount_yuan,
                e.result,
            )
            for e in entries
        ]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO decisions (at, endpoint, policy_ref, on_date, rule_id, subject,"
                    " input_digest, verdict, amount_yuan, result) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def recent(self, limit: int) -> list[DecisionEntry]:
        """The last ``limit`` entries, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at, endpoint, policy_ref, on_date, rule_id, subject, input_digest,"
                " verdict, amount_yuan, result FROM decisions ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            DecisionEntry(
                at=dt.datetime.fromisoformat(r[0]),
                endpoint=r[1],
                policy_ref=r[2],
                on=dt.date.fromisoformat(r[3]),
                rule_id=r[4],
                subject=r[5],
                input_digest=r[6],
                verdict=r[7],
                amount_yuan=r[8],
                result=r[9],
            )
            for r in rows
        ]

    def count(self) -> int:
        """Number of entries."""
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM decisions").fetchone()
        return int(n)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
