"""The run store (运行记录库): an embedded SQLite file recording every run and its problems.

One file, no server, opened with the standard library's :mod:`sqlite3`. Other systems read it
with any SQLite client; the schema is documented in ``docs/runs.md`` and identified inside the
file (``PRAGMA application_id`` = :data:`APPLICATION_ID`, ``PRAGMA user_version`` and the
``schema_version`` table = :data:`SCHEMA_VERSION`).

What it holds:

* ``runs`` — one row per 回头看 run: policy reference, id, version and content hash, as-of
  date, input name and digest, engine, counts;
* ``findings`` — every finding of a run that is not a pass: problems (问题, ``is_problem = 1``:
  failing compliance and target findings), failing eligibility findings and undecided ones
  (unknown), each with its stable identity ``problem_key`` (policy id / rule / subject), clause,
  amount (exact decimal text) and where it is (township, village, household, 帮扶责任人);
* ``decisions`` — single decisions appended by a service (:meth:`RunStore.record_decision`).

Safety: a file that exists is opened only if it is a run store of a schema this library reads.
A file that is not SQLite, a truncated SQLite file or another application's database raises
:class:`~fupin_rules.errors.RunStoreError` naming the file, and the file is left untouched
(checked read-only before anything is written). A missing file is created.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from fupin_rules.errors import RunStoreError
from fupin_rules.runs.store_records import (
    _INSERT_DECISION,
    Decision,
    Locate,
    StoredFinding,
    StoredRun,
    _decision,
    _decision_row,
    _finding,
    _finding_rows,
    _now,
    _run,
    input_digest,
    problem_key,
)
from fupin_rules.runs.store_records import (
    Place as Place,  # imported from here (runs.tracking, tests)
)
from fupin_rules.runs.store_schema import (
    _TABLES,
    APPLICATION_ID,
    DEFAULT_STORE,
    SCHEMA,
    SCHEMA_VERSION,
    STORE_ENV,
    _check_file,
)

__all__ = [
    "APPLICATION_ID",
    "DEFAULT_STORE",
    "SCHEMA_VERSION",
    "Decision",
    "RunStore",
    "StoredFinding",
    "StoredRun",
    "input_digest",
    "problem_key",
]


class RunStore:
    """The run store at ``path`` (created when missing).

    >>> with RunStore("runs.sqlite") as store:              # doctest: +SKIP
    ...     run = store.record_run(ev, input_name="county.json", input_digest=digest)
    ...     print([r.run_id for r in store.runs()])

    One connection, serialised by a lock, so a web service may share one store between threads
    (SQLite itself serialises writers of different processes; WAL journal).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        synchronous: Literal["full", "normal"] = "full",
    ) -> None:
        """``synchronous="normal"`` skips the disk flush at each commit (WAL journal: the file
        stays consistent, but the last commits can be lost if the machine loses power); the
        service uses it for its per-request decisions, where a flush cost tens of milliseconds
        (measured) against well under one for the decision itself."""
        if synchronous not in ("full", "normal"):
            raise RunStoreError(f"synchronous={synchronous!r}: expected 'full' or 'normal'")
        self.path = Path(path)
        missing = _check_file(self.path)
        if missing and not create:
            raise RunStoreError(f"run store {self.path}: no such file")
        self._lock = threading.RLock()
        try:
            if not missing:
                self._verify_read_only()
            self._db = sqlite3.connect(
                str(self.path), timeout=30, check_same_thread=False, isolation_level=None
            )
            if missing:
                self._create()
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        except sqlite3.DatabaseError as exc:
            raise RunStoreError(
                f"run store {self.path}: {exc}; the file was left untouched"
            ) from exc

    # -- opening -----------------------------------------------------------------------------

    def _verify_read_only(self) -> None:
        uri = self.path.resolve().as_uri() + "?mode=ro"
        db = sqlite3.connect(uri, uri=True)
        try:
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            tables.discard("sqlite_sequence")
            if app_id == 0 and not tables:
                raise RunStoreError(
                    f"run store {self.path}: an empty SQLite database, not a run store; it was "
                    "left untouched. Delete it or choose another --store path."
                )
            if app_id != APPLICATION_ID:
                raise RunStoreError(
                    f"run store {self.path}: a SQLite database of another schema (tables "
                    f"{', '.join(sorted(tables)) or 'none'}; no run-store application id); it "
                    "was left untouched. Choose another --store path."
                )
            if version > SCHEMA_VERSION:
                raise RunStoreError(
                    f"run store {self.path}: schema version {version} is newer than this "
                    f"library reads ({SCHEMA_VERSION}); upgrade fupin_rules"
                )
            if not _TABLES <= tables:
                raise RunStoreError(
                    f"run store {self.path}: damaged — tables {', '.join(sorted(_TABLES - tables))} "
                    "are missing; it was left untouched"
                )
            check = db.execute("PRAGMA quick_check(1)").fetchone()[0]
            if check != "ok":
                raise RunStoreError(
                    f"run store {self.path}: damaged ({check}); it was left untouched. Restore it "
                    "from a backup or choose another --store path."
                )
        finally:
            db.close()

    def _create(self) -> None:
        from fupin_rules._version import __version__

        with self._lock:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("BEGIN")
            self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            for stmt in SCHEMA.split(";"):
                if stmt.strip():
                    self._db.execute(stmt)
            self._db.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                (SCHEMA_VERSION, _now().isoformat(), __version__),
            )
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, tuple(params)).fetchall()
            except sqlite3.DatabaseError as exc:
                raise RunStoreError(f"run store {self.path}: {exc}") from exc

    # -- runs --------------------------------------------------------------------------------

    def record_run(
        self,
        ev: Any,
        *,
        input_name: str,
        input_digest: str,
        county_id: str = "",
        policy_ref: str = "",
        locate: Locate | None = None,
        recorded_at: dt.datetime | None = None,
        label: str = "",
    ) -> StoredRun:
        """Store the evaluation ``ev`` (:class:`~fupin_rules.engine.run.Evaluation`) and every
        finding of it that is not a pass; return the new run.

        ``locate(kind, id)`` gives each finding's :class:`Place` (township, village, household,
        帮扶责任人), e.g. :meth:`fupin_rules.runs.tracking.Locator.place`.
        """
        from fupin_rules.reports.json_report import summary

        s = summary(ev)
        at = (recorded_at or _now()).isoformat()
        row = (
            at,
            policy_ref or ev.policy_id,
            ev.policy_id,
            ev.policy_version,
            ev.policy_hash,
            ev.on.isoformat(),
            county_id,
            input_name,
            input_digest,
            ev.engine,
            s["findings"],
            s["by_verdict"]["pass"],
            s["by_verdict"]["fail"],
            s["by_verdict"]["unknown"],
            s["not_applicable"],
            s["problems"],
            s["unit_errors"],
            s["rejected_rows"],
            label,
        )
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                cur = self._db.execute(
                    "INSERT INTO runs (recorded_at, policy_ref, policy_id, policy_version, "
                    "policy_hash, on_date, county_id, input_name, input_digest, engine, findings, "
                    "pass, fail, unknown, not_applicable, problems, unit_errors, rejected_rows, "
                    "label) VALUES (" + ",".join("?" * len(row)) + ")",
                    row,
                )
                run_id = int(cur.lastrowid or 0)
                self._db.executemany(
                    "INSERT INTO findings VALUES (" + ",".join("?" * 17) + ")",
                    _finding_rows(run_id, ev.findings, locate),
                )
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError):
                    raise RunStoreError(f"run store {self.path}: {exc}") from exc
                raise
        return self.run(run_id)

    def runs(
        self, *, policy_id: str | None = None, county_id: str | None = None
    ) -> list[StoredRun]:
        """The stored runs, oldest first (optionally of one policy id and county)."""
        sql, params = "SELECT * FROM runs", []
        where = []
        if policy_id is not None:
            where.append("policy_id = ?")
            params.append(policy_id)
        if county_id is not None:
            where.append("county_id = ?")
            params.append(county_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_run(r) for r in self._query(sql + " ORDER BY run_id", params)]

    def run(self, run_id: int) -> StoredRun:
        """One stored run; :class:`RunStoreError` (listing the ids there are) if there is none."""
        rows = self._query("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            ids = [r[0] for r in self._query("SELECT run_id FROM runs ORDER BY run_id")]
            have = f"runs {ids[0]}..{ids[-1]}" if ids else "no runs"
            raise RunStoreError(f"run store {self.path}: no run {run_id} (it has {have})")
        return _run(rows[0])

    def findings(self, run_id: int, *, problems_only: bool = False) -> list[StoredFinding]:
        """The stored (non-passing) findings of a run, by problem key."""
        sql = "SELECT * FROM findings WHERE run_id = ?"
        if problems_only:
            sql += " AND is_problem = 1"
        return [_finding(r) for r in self._query(sql + " ORDER BY problem_key", (run_id,))]

    def problem_keys(self, run_ids: Iterable[int]) -> dict[int, set[str]]:
        """For each run id: the keys of its open problems."""
        out: dict[int, set[str]] = {}
        for run_id in run_ids:
            out[run_id] = {
                r[0]
                for r in self._query(
                    "SELECT problem_key FROM findings WHERE run_id = ? AND is_problem = 1",
                    (run_id,),
                )
            }
        return out

    def problems_by_township(self, run_id: int) -> dict[str, int]:
        """Open problems of a run per township id (``""``: township not known)."""
        rows = self._query(
            "SELECT township_id, count(*) FROM findings WHERE run_id = ? AND is_problem = 1 "
            "GROUP BY township_id ORDER BY township_id",
            (run_id,),
        )
        return {str(t): int(n) for t, n in rows}

    # -- decisions ---------------------------------------------------------------------------

    def record_decision(
        self,
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
    ) -> int:
        """Append one single decision (e.g. an HTTP answer) and return its ``decision_id``.

        ``result`` is the answer as given (a JSON-ready dict is stored as compact JSON text);
        ``input_digest`` identifies the request's input (see :func:`input_digest`).
        """
        (decision_id,) = self.record_decisions(
            [
                {
                    "policy_ref": policy_ref,
                    "input_digest": input_digest,
                    "result": result,
                    "policy_id": policy_id,
                    "policy_version": policy_version,
                    "policy_hash": policy_hash,
                    "on": on,
                    "rule_id": rule_id,
                    "subject": subject,
                    "verdict": verdict,
                    "recorded_at": recorded_at,
                }
            ]
        )
        return decision_id

    def record_decisions(self, decisions: Iterable[Mapping[str, Any]]) -> list[int]:
        """Append several decisions in one transaction (all of them or, on an error, none) and
        return their ``decision_id``s. Each mapping holds :meth:`record_decision`'s arguments;
        one commit for many decisions is what lets a busy service keep its log cheap."""
        rows = [_decision_row(**d) for d in decisions]
        ids: list[int] = []
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for row in rows:
                    cur = self._db.execute(_INSERT_DECISION, row)
                    ids.append(int(cur.lastrowid or 0))
                self._db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise RunStoreError(f"run store {self.path}: {exc}") from exc
        return ids

    def insert_decision_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Append decision rows already in column order (``recorded_at`` ISO text, policy ref,
        id, version, hash, as-of date ISO text, input digest, rule, subject, verdict, result JSON
        text) in one transaction: the service's decision log, which needs no ids back."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(_INSERT_DECISION, rows)
                self._db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise RunStoreError(f"run store {self.path}: {exc}") from exc

    def decisions(self, *, limit: int | None = None) -> list[Decision]:
        """The recorded decisions, newest first (at most ``limit``)."""
        sql = "SELECT * FROM decisions ORDER BY decision_id DESC"
        params: tuple[Any, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        return [_decision(r) for r in self._query(sql, params)]


def default_store_path() -> Path:
    """``$FUPIN_RULES_STORE`` if set, else :data:`DEFAULT_STORE` in the current directory."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)
