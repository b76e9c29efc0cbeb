"""Frames given as plain lists: an empty table is a supplied table with no rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fupin_rules.batch.engine import evaluate_batch
from fupin_rules.domain.dataset import load_dataset
from fupin_rules.engine.run import run_policy
from fupin_rules.policy import load_policy

MINI = Path(__file__).parents[2] / "data" / "mini_policy"


def test_an_empty_list_is_a_table_without_rows() -> None:
    data = {
        "county": {"county_id": "C1"},
        "villages": [{"village_id": "V1", "township_id": "T1", "collective_income_yuan": 60000}],
        "households": [],
        "persons": [],
        "projects": [],
    }
    on = dt.date(2017, 12, 31)
    policy = load_policy(MINI)
    batch = evaluate_batch(policy, data, on, materialize="all")  # was ColumnNotFoundError
    reference = run_policy(policy, load_dataset(data).dataset, on)
    assert [(f.rule_id, f.subject_id, f.verdict) for f in batch.findings] == [
        (f.rule_id, f.subject_id, f.verdict) for f in reference.findings
    ]
    assert batch.findings  # the village is judged (no residents: its incidence is unknown)
