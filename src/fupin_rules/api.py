"""The public query API: load a policy and data, ask eligibility, compliance, explanations."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from fupin_rules.domain.dataset import Dataset, LoadResult, load_dataset
from fupin_rules.engine.context import Context, DatasetIndex
from fupin_rules.engine.plan import units
from fupin_rules.engine.run import (
    Evaluation,
    ReferenceEngine,
    SubjectError,
    UnitEngine,
    run_policy,
)
from fupin_rules.errors import EngineError, FupinRulesError
from fupin_rules.findings.model import Finding, Outcome
from fupin_rules.policy.discovery import load_policy
from fupin_rules.policy.model import Policy

__all__ = ["EngineName", "Evaluator", "evaluate", "get_engine", "load_data"]

EngineName = Literal["auto", "inference", "reference"]


def get_engine(name: EngineName | str = "auto") -> UnitEngine:
    """The engine called ``name``: ``inference`` (durable-rules), ``reference`` (plain interpreter),
    or ``auto`` (inference where durable-rules imports, else reference)."""
    if name == "reference":
        return ReferenceEngine()
    from fupin_rules.engine.inference import InferenceEngine, durable_available

    if name == "inference":
        return InferenceEngine()
    if name == "auto":
        return InferenceEngine() if durable_available() else ReferenceEngine()
    raise FupinRulesError(f"engine={name!r}: expected one of auto, inference, reference")


def load_data(source: str | Path | Mapping[str, Any]) -> LoadResult:
    """Validate a dataset from a dict, a JSON file, or a ledger (CSV folder, xlsx, Parquet folder).

    Bad rows become issues in the result; nothing is dropped silently.
    """
    if isinstance(source, Mapping):
        return load_dataset(source)
    path = Path(source)
    if path.suffix.lower() == ".json" and path.is_file():
        with path.open(encoding="utf-8") as fh:
            return load_dataset(json.load(fh), source=path.name)
    from fupin_rules.io import read_ledger

    result: LoadResult = read_ledger(path)
    return result


def _policy(policy: Policy | str | Path) -> Policy:
    return policy if isinstance(policy, Policy) else load_policy(policy)


def _dataset(
    data: Dataset | LoadResult | Mapping[str, Any] | str | Path,
) -> tuple[Dataset, LoadResult | None]:
    if isinstance(data, Dataset):
        return data, None
    if isinstance(data, LoadResult):
        return data.dataset, data
    loaded = load_data(data)
    return loaded.dataset, loaded


def evaluate(
    policy: Policy | str | Path,
    data: Dataset | LoadResult | Mapping[str, Any] | str | Path,
    on: dt.date,
    *,
    engine: EngineName | str = "auto",
    keep_not_applicable: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> Evaluation:
    """Run every rule of ``policy`` over the whole dataset as of ``on`` (the 回头看 run).

    ``progress(stratum, n)`` is called after each unit (household, village, county) is done.
    """
    pol = _policy(policy)
    ds, loaded = _dataset(data)
    return run_policy(
        pol,
        ds,
        on,
        engine=get_engine(engine),
        keep_not_applicable=keep_not_applicable,
        data_issues=loaded.issues if loaded else (),
        progress=progress,
    )


class Evaluator:
    """Repeated per-case queries on one dataset (the index is built once).

    >>> ev = Evaluator("county_2017", "county.json")            # doctest: +SKIP
    >>> f = ev.eligibility("P0001", "person.rain_and_dew.grant", dt.date(2017, 9, 1))  # doctest: +SKIP
    >>> print(f.verdict, f.amount)                               # doctest: +SKIP
    """

    def __init__(
        self,
        policy: Policy | str | Path,
        data: Dataset | LoadResult | Mapping[str, Any] | str | Path,
        *,
        engine: EngineName | str = "auto",
    ) -> None:
        self.policy = _policy(policy)
        self.dataset, self.loaded = _dataset(data)
        self.index = DatasetIndex(self.dataset)
        self.engine = get_engine(engine)

    def _unit_findings(
        self, stratum: str, key: str, on: dt.date, errors: list[SubjectError] | None = None
    ) -> list[Finding]:
        """The unit's findings; a rule failing on a subject raises its RuleEvaluationError, or
        is appended to ``errors`` when given (the other findings are returned)."""
        ctx = Context(self.policy, on, self.index)
        if key not in self.index.by_id.get(stratum, {}):
            raise FupinRulesError(f"no {stratum} with id {key!r} in the dataset")
        out: list[Finding] = []
        for unit in units(ctx, stratum, [key]):
            out.extend(self.engine.evaluate_unit(unit, ctx, errors))
        return out

    def household(
        self, household_id: str, on: dt.date, *, keep_not_applicable: bool = False
    ) -> tuple[Finding, ...]:
        """Findings of the household's rules and its members' and records' rules."""
        fs = self._unit_findings("household", household_id, on)
        return tuple(
            f for f in fs if keep_not_applicable or f.verdict is not Outcome.NOT_APPLICABLE
        )

    def village(
        self, village_id: str, on: dt.date, *, keep_not_applicable: bool = False
    ) -> tuple[Finding, ...]:
        """Findings of the village's rules (exit standard, ...)."""
        fs = self._unit_findings("village", village_id, on)
        return tuple(
            f for f in fs if keep_not_applicable or f.verdict is not Outcome.NOT_APPLICABLE
        )

    def county(self, on: dt.date) -> tuple[Finding, ...]:
        """Findings of the county's rules (targets, ...)."""
        fs = self._unit_findings("county", self.dataset.county.key(), on)
        return tuple(f for f in fs if f.verdict is not Outcome.NOT_APPLICABLE)

    def finding(self, rule_id: str, subject_id: str, on: dt.date) -> Finding:
        """The finding of one rule about one subject (not-applicable included)."""
        rule = self.policy.rule(rule_id)
        from fupin_rules.engine.plan import OWNER

        stratum = OWNER[rule.entity]
        if stratum == rule.entity:
            owner = subject_id
        else:
            rec = self.index.by_id.get(rule.entity, {}).get(subject_id)
            if rec is None:
                raise FupinRulesError(f"no {rule.entity} with id {subject_id!r} in the dataset")
            owner = getattr(rec, f"{stratum}_id", None) or self.dataset.county.key()
        errors: list[SubjectError] = []
        for f in self._unit_findings(stratum, owner, on, errors):
            if f.rule_id == rule_id and f.subject_id == subject_id:
                return f
        for e in errors:  # only this finding's own failure matters here
            if e.rule_id == rule_id and e.subject_id == subject_id:
                raise EngineError(e.message)
        raise FupinRulesError(f"rule {rule_id!r} gave no finding for {subject_id!r}")

    def eligibility(self, person_id: str, rule_id: str, on: dt.date) -> Finding:
        """Is this person eligible under ``rule_id``, for how much, and why."""
        rule = self.policy.rule(rule_id)
        if rule.kind != "eligibility":
            raise FupinRulesError(
                f"rule {rule_id!r} is a {rule.kind} rule, not an eligibility rule"
            )
        return self.finding(rule_id, person_id, on)

    def compliance(self, kind: str, subject_id: str, on: dt.date) -> tuple[Finding, ...]:
        """Compliance and target findings about one subject (household, village or county)."""
        if kind == "household":
            fs = self.household(subject_id, on)
        elif kind == "village":
            fs = self.village(subject_id, on)
        elif kind == "county":
            fs = self.county(on)
        else:
            raise FupinRulesError(f"kind={kind!r}: expected household, village or county")
        return tuple(f for f in fs if f.subject_id == subject_id and f.rule_kind != "eligibility")

    def run(self, on: dt.date) -> Evaluation:
        """The whole dataset (see :func:`evaluate`)."""
        return run_policy(
            self.policy,
            self.dataset,
            on,
            engine=self.engine,
            data_issues=self.loaded.issues if self.loaded else (),
        )
