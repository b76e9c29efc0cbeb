"""Helpers of the reliability tests: the county_2017 policy, small synthetic counties."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COUNTY_POLICY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
ON = dt.date(2017, 12, 31)


#: shares of the fuzz budget per test (readers are fast, the policy loader parses YAML slowly)
FUZZ_SHARES = {
    "json": 0.45,
    "csv": 0.22,
    "parquet": 0.13,
    "xlsx": 0.10,
    "policy": 0.10,
    "json_front_door": 0.10,  # load_data on hostile JSON text (issue 17)
}


def fuzz_budget(test: str) -> int:
    """Examples for one fuzz test: its share of ``FUPIN_FUZZ_EXAMPLES`` (total, default 1000).

    ``FUPIN_FUZZ_EXAMPLES=10000`` is the full run reported in the issue.
    """
    total = int(os.environ.get("FUPIN_FUZZ_EXAMPLES", "1000"))
    return max(10, round(total * FUZZ_SHARES[test]))


def tally(name: str, outcome: str) -> None:
    """Count an outcome; ``FUPIN_FUZZ_TALLY=<file>`` appends the counts there (for reports)."""
    TALLY.setdefault(name, {}).setdefault(outcome, 0)
    TALLY[name][outcome] += 1


TALLY: dict[str, dict[str, int]] = {}


def write_tally() -> None:
    """Append the outcome counts as one JSON line to ``FUPIN_FUZZ_TALLY`` (if set)."""
    import json

    path = os.environ.get("FUPIN_FUZZ_TALLY")
    if path and TALLY:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(TALLY, sort_keys=True) + "\n")
        TALLY.clear()
