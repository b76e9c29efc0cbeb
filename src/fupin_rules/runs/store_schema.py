"""The run store's file format: identifiers, the SQL schema, and the header check that refuses
what is not a healthy run store before anything is written (see :mod:`fupin_rules.runs.store`).
"""

from __future__ import annotations

import struct
from pathlib import Path

from fupin_rules.errors import RunStoreError

#: ``PRAGMA application_id`` of a run store: the bytes "FPRS" (fupin_rules run store)
APPLICATION_ID = 0x46505253
#: the schema version this library writes and reads
SCHEMA_VERSION = 1
#: the file name used when no ``--store`` is given (in the current directory)
DEFAULT_STORE = "fupin-runs.sqlite"
#: environment variable that names the store when ``--store`` is not given
STORE_ENV = "FUPIN_RULES_STORE"

_SQLITE_MAGIC = b"SQLite format 3\x00"

SCHEMA = """
CREATE TABLE schema_version (
    version INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    library_version TEXT NOT NULL
);
CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TEXT NOT NULL,
    policy_ref TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    policy_hash TEXT NOT NULL,
    on_date TEXT NOT NULL,
    county_id TEXT NOT NULL,
    input_name TEXT NOT NULL,
    input_digest TEXT NOT NULL,
    engine TEXT NOT NULL,
    findings INTEGER NOT NULL,
    pass INTEGER NOT NULL,
    fail INTEGER NOT NULL,
    unknown INTEGER NOT NULL,
    not_applicable INTEGER NOT NULL,
    problems INTEGER NOT NULL,
    unit_errors INTEGER NOT NULL,
    rejected_rows INTEGER NOT NULL,
    label TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_scope ON runs (policy_id, county_id, run_id);
CREATE TABLE findings (
    run_id INTEGER NOT NULL REFERENCES runs (run_id),
    problem_key TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_kind TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    verdict TEXT NOT NULL,
    is_problem INTEGER NOT NULL,
    clause TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_yuan TEXT,
    township_id TEXT NOT NULL DEFAULT '',
    village_id TEXT NOT NULL DEFAULT '',
    household_id TEXT NOT NULL DEFAULT '',
    helper_name TEXT,
    PRIMARY KEY (run_id, problem_key)
) WITHOUT ROWID;
CREATE INDEX findings_key ON findings (problem_key, run_id);
CREATE TABLE decisions (
    decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TEXT NOT NULL,
    policy_ref TEXT NOT NULL,
    policy_id TEXT NOT NULL DEFAULT '',
    policy_version TEXT NOT NULL DEFAULT '',
    policy_hash TEXT NOT NULL DEFAULT '',
    on_date TEXT,
    input_digest TEXT NOT NULL,
    rule_id TEXT,
    subject TEXT,
    verdict TEXT,
    result TEXT NOT NULL
);
CREATE INDEX decisions_time ON decisions (recorded_at);
"""

#: tables a run store of :data:`SCHEMA_VERSION` has
_TABLES = frozenset({"schema_version", "runs", "findings", "decisions"})


def _check_file(path: Path) -> bool:
    """Refuse anything at ``path`` that is not a healthy run store; True if it must be created.

    Reads the header only (nothing is written): the SQLite magic, the page size and page count
    (a file shorter than its header says is truncated), and the application id.
    """
    if not path.exists():
        return True
    if path.is_dir():
        raise RunStoreError(
            f"run store {path}: is a folder; give a file path (e.g. {DEFAULT_STORE})"
        )
    size = path.stat().st_size
    with path.open("rb") as fh:
        header = fh.read(100)
    if size == 0:
        raise RunStoreError(
            f"run store {path}: the file is empty (0 bytes), not a run store; it was left untouched. "
            "Delete it or choose another --store path."
        )
    if not header.startswith(_SQLITE_MAGIC) or len(header) < 100:
        raise RunStoreError(
            f"run store {path}: not a SQLite database (first bytes {header[:16]!r}, expected "
            f"{_SQLITE_MAGIC!r}); it was left untouched. Choose another --store path."
        )
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    (change_counter,) = struct.unpack(">I", header[24:28])
    (pages,) = struct.unpack(">I", header[28:32])
    (valid_for,) = struct.unpack(">I", header[92:96])
    (app_id,) = struct.unpack(">i", header[68:72])
    if pages and valid_for == change_counter and size < pages * page_size:
        raise RunStoreError(
            f"run store {path}: damaged — the file has {size} bytes but its header says "
            f"{pages} pages of {page_size} bytes (truncated?); it was left untouched. "
            "Restore it from a backup or choose another --store path."
        )
    if app_id not in (0, APPLICATION_ID):
        raise RunStoreError(
            f"run store {path}: a SQLite database of another application (application_id "
            f"{app_id & 0xFFFFFFFF:#010x}, expected {APPLICATION_ID:#010x}); it was left untouched."
        )
    return False
