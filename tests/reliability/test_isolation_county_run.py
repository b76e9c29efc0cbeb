"""A failure inside one subject's engine session becomes an error row; the county run completes.

Architecture, "Nothing lost": "a batch never stops at the first bad row unless asked to". Here
several units of a whole county run fail (households of different villages and a village);
each becomes one SubjectError, every other unit's findings are unchanged.
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
    seen: list[str] = []

    def broken(rule, subject, ctx, scope=None):  # type: ignore[no-untyped-def]
        key = subject.key
        owner = (
            getattr(subject.record, "household_id", None) if subject.kind != "household" else key
        )
        if key in bad_households or owner in bad_households or key in (bad_person, bad_village):
            seen.append(key)
            raise kinds[len(seen) % len(kinds)]
        return real(rule, subject, ctx, scope)

    monkeypatch.setattr(inference, "evaluate_rule", broken)
    run = evaluate(county_policy, ledger, ON, engine="inference")
    failed = {(e.subject_kind, e.subject_id) for e in run.errors}
    expected = {("household", h) for h in bad_households}
    expected |= {("household", households[-1].household_id), ("village", bad_village)}
    assert failed == expected
    assert all(e.message for e in run.errors)
    # everything else is exactly the clean run's
    lost = {("household", h) for h in bad_households} | {("household", households[-1].household_id)}

    kept_clean = [f for f in clean.findings if not _in_failed_unit(f, ledger, lost, bad_village)]
    assert list(run.findings) == kept_clean
    assert len(run.findings) < len(clean.findings)


def _in_failed_unit(f, ledger, households: set[tuple[str, str]], village: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether a finding belongs to a failed unit (a household's members and records, a village's)."""
    ds = ledger.dataset
    hh = {h for _, h in households}
    if f.subject_kind == "household":
        return f.subject_id in hh
    if f.subject_kind == "village":
        return f.subject_id == village
    tables = {
        "person": ds.persons,
        "loan": ds.loans or (),
        "payment": ds.payments or (),
        "procedure_step": ds.procedure_steps or (),
        "relocation": ds.relocations or (),
    }
    if f.subject_kind in tables:
        rec = next(r for r in tables[f.subject_kind] if r.key() == f.subject_id)
        return rec.household_id in hh
    if f.subject_kind in ("document", "project"):
        rows = ds.documents if f.subject_kind == "document" else ds.projects
        rec = next(r for r in rows or () if r.key() == f.subject_id)
        return rec.village_id == village
    return False
