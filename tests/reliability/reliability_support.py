"""Helpers of the reliability tests: the county_2017 policy, small synthetic counties."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COUNTY_POLICY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
ON = dt.date(2017, 12, 31)


def fuzz_examples(default: int = 300) -> int:
    """Examples per fuzz test: ``FUPIN_FUZZ_EXAMPLES`` (the full run uses 10,000 in total)."""
    return int(os.environ.get("FUPIN_FUZZ_EXAMPLES", default))
