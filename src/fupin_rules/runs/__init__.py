"""Runs over time: the run store (SQLite) and problems tracked from run to run (整改).

See ``docs/runs.md`` for the store's schema and the exact meaning of new / persisting /
fixed / regressed.
"""

from fupin_rules.runs.store import (
    APPLICATION_ID,
    DEFAULT_STORE,
    SCHEMA_VERSION,
    Decision,
    Place,
    RunStore,
    StoredFinding,
    StoredRun,
    default_store_path,
    input_digest,
    problem_key,
)
from fupin_rules.runs.tracking import (
    STATUSES,
    Baseline,
    Locator,
    TrackedProblem,
    Tracking,
    baseline_from_report,
    baseline_from_store,
    track,
)

__all__ = [
    "APPLICATION_ID",
    "DEFAULT_STORE",
    "SCHEMA_VERSION",
    "STATUSES",
    "Baseline",
    "Decision",
    "Locator",
    "Place",
    "RunStore",
    "StoredFinding",
    "StoredRun",
    "TrackedProblem",
    "Tracking",
    "baseline_from_report",
    "baseline_from_store",
    "default_store_path",
    "input_digest",
    "problem_key",
    "track",
]
