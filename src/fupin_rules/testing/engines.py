"""Run one dataset through each engine the same way (reference, inference where durable-rules
imports, batch), for tests that check the engines agree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fupin_rules.domain.dataset import Dataset, load_dataset
from fupin_rules.engine.run import Evaluation, ReferenceEngine, UnitEngine, run_policy
from fupin_rules.findings.model import Finding
from fupin_rules.policy.model import Policy

__all__ = ["case_dataset", "engine_names", "finding_of", "run_engine"]


def engine_names() -> list[str]:
    """``reference`` and ``batch``, and ``inference`` where durable-rules imports."""
    from fupin_rules.engine.inference import durable_available

    return ["reference", "batch"] + (["inference"] if durable_available() else [])


def run_engine(
    policy: Policy, data: Any, on: dt.date, engine: str, *, keep_not_applicable: bool = False
) -> Evaluation:
    """Every finding of ``policy`` on ``data`` as of ``on`` by the engine called ``engine``."""
    if engine == "batch":
        from fupin_rules.batch import evaluate_batch

        return evaluate_batch(
            policy, data, on, materialize="all", keep_not_applicable=keep_not_applicable
        )
    unit: UnitEngine = ReferenceEngine()
    if engine == "inference":
        from fupin_rules.engine.inference import InferenceEngine

        unit = InferenceEngine()
    return run_policy(policy, data, on, engine=unit, keep_not_applicable=keep_not_applicable)


def finding_of(ev: Evaluation, rule: str, subject_id: str) -> Finding:
    """The one finding of ``rule`` about ``subject_id`` (the run must have no errors)."""
    assert not ev.errors, ev.errors
    (found,) = [f for f in ev.findings if f.rule_id == rule and f.subject_id == subject_id]
    return found


def case_dataset(
    policy: Policy, case_id: str, mutate: Callable[[dict[str, Any]], None] | None = None
) -> Dataset:
    """The dataset of one of the policy's cases, optionally changed by ``mutate`` first."""
    case = next(c for c in policy.cases if c.id == case_id)
    data = {k: [dict(r) for r in v] if isinstance(v, list) else v for k, v in case.data.items()}
    if mutate is not None:
        mutate(data)
    loaded = load_dataset(data)
    assert not loaded.issues, loaded.issues
    return loaded.dataset
