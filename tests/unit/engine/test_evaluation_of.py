"""Every engine builds its Evaluation one way: provenance comes from the policy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fupin_rules.engine.run import Evaluation
from fupin_rules.policy import load_policy

MINI = Path(__file__).parents[2] / "data" / "mini_policy"


def test_provenance_comes_from_the_policy() -> None:
    policy = load_policy(MINI)
    after = dt.date(2018, 6, 1)  # the mini policy is in force in 2017 only
    ev = Evaluation.of(policy, after, "reference", [], not_applicable_count=3)
    assert (ev.policy_id, ev.policy_version, ev.policy_hash) == (
        policy.id,
        policy.version,
        policy.content_hash,
    )
    assert ev.effective == policy.effective
    assert ev.not_in_force == policy.rules_not_in_force(after) != ()
    assert ev.findings == () and ev.not_applicable_count == 3 and ev.engine == "reference"
