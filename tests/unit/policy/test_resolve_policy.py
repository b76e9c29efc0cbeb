"""One resolver turns ``Policy | str | Path`` into a Policy for every entry point."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fupin_rules.api import Evaluator
from fupin_rules.batch.engine import evaluate_batch
from fupin_rules.domain.dataset import load_dataset
from fupin_rules.policy import load_policy
from fupin_rules.policy.discovery import resolve_policy

MINI = Path(__file__).parents[2] / "data" / "mini_policy"


def test_a_policy_is_itself_and_a_name_or_folder_is_loaded_once() -> None:
    policy = load_policy(MINI)
    assert resolve_policy(policy) is policy
    assert resolve_policy(MINI) is policy  # the cached load
    assert resolve_policy(str(MINI)) is policy
    assert resolve_policy("county_2017") is load_policy("county_2017")


def test_entry_points_take_a_folder_as_well_as_a_policy() -> None:
    data = load_dataset(
        {
            "county": {"county_id": "C1"},
            "villages": [{"village_id": "V1", "township_id": "T1"}],
            "households": [{"household_id": "H1", "village_id": "V1"}],
            "persons": [{"person_id": "P1", "household_id": "H1"}],
        }
    )
    on = dt.date(2017, 12, 31)
    assert Evaluator(MINI, data).policy is load_policy(MINI)
    assert evaluate_batch(MINI, data, on).policy_hash == load_policy(MINI).content_hash
