"""A failure inside one subject's engine session becomes an error row; the county run completes.

Architecture, "Nothing lost": "a batch never stops at the first bad row unless asked to". Here
every rule fails on several subjects of a whole county run (households of different villages
with their members and records, a person, a village); each failing rule on each such subject
becomes one SubjectError naming both, every other finding is unchanged (rules are isolated per
subject, so the failed subjects' units keep their other subjects' findings).
"""

from __future__ import annotations

import pytest
from reliability_support import ON

from fupin_rules.domain.dataset import load_dataset
from fupin_rules.engine import inference
from fupin_rules.engine.inference import durable_available
from fupin_rules.errors import EngineError
from fupin_rules.io.generate import generate_county, to_dataset_dict

pytestmark = pytest.mark.skipif(not durable_available(), reason="durable-rules is not importable")


def test_injected_failures_become_error_rows_and_the_run_completes(
    county_policy, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from fupin_rules.api import evaluate

    ledger = load_dataset(to_dataset_dict(generate_county(120, 8, villages=4)))
    clean = evaluate(county_policy, ledger, ON, engine="inference")
    households = ledger.dataset.households
    by_village: dict[str, str] = {}
    for h in households:
        by_village.setdefault(h.village_id, h.household_id)
    bad_households = set(list(by_village.values())[:3])
    bad_person = next(
        p.person_id for p in ledger.dataset.persons if p.household_id == households[-1].household_id
    )
    bad_village = ledger.dataset.villages[-1].village_id
    real = inference.evaluate_rule
    kinds = [
        ZeroDivisionError("injected"),
        ValueError("injected"),
        KeyError("injected"),
        EngineError("injected"),
    ]
    seen: list[tuple[str, str, str]] = []

    def broken(rule, subject, ctx, scope=None):  # type: ignore[no-untyped-def]
        key = subject.key
        owner = (
            getattr(subject.record, "household_id", None) if subject.kind != "household" else key
        )
        if key in bad_households or owner in bad_households or key in (bad_person, bad_village):
            seen.append((subject.kind, key, rule.id))
            raise kinds[len(seen) % len(kinds)]
        return real(rule, subject, ctx, scope)

    monkeypatch.setattr(inference, "evaluate_rule", broken)
    run = evaluate(county_policy, ledger, ON, engine="inference")
    failed = [(e.subject_kind, e.subject_id, e.rule_id) for e in run.errors]
    assert sorted(failed) == sorted(seen) and len(set(failed)) == len(failed)
    assert {k for k, _, _ in seen} >= {"household", "person", "village"}
    assert all(e.message.startswith(f"rule {e.rule_id}, ") for e in run.errors)
    # everything else is exactly the clean run's
    lost = {(kind, key) for kind, key, _ in seen}
    kept_clean = [f for f in clean.findings if (f.subject_kind, f.subject_id) not in lost]
    assert list(run.findings) == kept_clean
    assert len(run.findings) < len(clean.findings)
