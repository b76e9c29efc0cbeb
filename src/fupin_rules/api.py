"""The public query API: load a policy and data, ask eligibility, compliance, explanations."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from fupin_rules.domain.dataset import Dataset, LoadResult, load_dataset
from fupin_rules.engine.context import Context, DatasetIndex, RecordSubject
from fupin_rules.engine.decide import decide_rule
from fupin_rules.engine.evaluate import RULE_FAILURES, evaluate_rule
from fupin_rules.engine.plan import OWNER, STRATA, Unit, rules_by_entity, units
from fupin_rules.engine.run import (
    Evaluation,
    ReferenceEngine,
    SubjectError,
    UnitEngine,
    run_policy,
)
from fupin_rules.errors import EngineError, FupinRulesError, did_you_mean
from fupin_rules.findings.model import Finding, Outcome
from fupin_rules.policy.discovery import resolve_policy
from fupin_rules.policy.model import Policy, Rule

__all__ = [
    "AUTO_BATCH_HOUSEHOLDS",
    "EngineName",
    "Evaluator",
    "choose_engine",
    "evaluate",
    "get_engine",
    "load_data",
]

EngineName = Literal["auto", "batch", "inference", "reference"]

#: ``engine="auto"`` runs a whole dataset through the batch engine from this many households
#: up (below it the per-case engine is faster: the batch engine pays a fixed cost for
#: compiling the policy into column expressions; measured crossover 100-300 households for
#: county_2017, see docs/engine.md)
AUTO_BATCH_HOUSEHOLDS = 250

#: the per-case engine ``auto`` uses for single queries and small datasets: the reference
#: interpreter, the fastest per case (docs/benchmarks.md)
FASTEST_PER_CASE = "reference"

_ENGINES = ("auto", "batch", "inference", "reference")


def _check_engine_name(name: str) -> None:
    if name not in _ENGINES:
        raise FupinRulesError(
            f"engine={name!r}: expected one of {', '.join(_ENGINES)}"
            + did_you_mean(name, _ENGINES, form=" (did you mean {!r}?)")
        )


def get_engine(name: EngineName | str = "auto") -> UnitEngine:
    """The per-case (unit) engine called ``name``: ``inference`` (durable-rules), ``reference``
    (plain interpreter), or ``auto`` (the fastest per-case engine, the reference interpreter).

    ``batch`` is not a per-case engine: :func:`evaluate` and :meth:`Evaluator.run` accept it.
    """
    _check_engine_name(str(name))
    if name == "batch":
        raise FupinRulesError(
            "engine='batch' evaluates whole datasets, not units: use evaluate(..., engine='batch') "
            "or Evaluator(..., engine='batch').run(on); per-case queries use 'auto', "
            "'reference' or 'inference'"
        )
    if name in ("reference", "auto"):
        return ReferenceEngine()
    from fupin_rules.engine.inference import InferenceEngine

    return InferenceEngine()


def choose_engine(name: EngineName | str, dataset: Dataset) -> tuple[str, str]:
    """The engine a whole-dataset run uses, and why: ``(engine, reason)``.

    ``auto`` picks ``batch`` for datasets of :data:`AUTO_BATCH_HOUSEHOLDS` households or more
    and the fastest per-case engine (:data:`FASTEST_PER_CASE`) below; any other name is used
    as given.
    """
    _check_engine_name(str(name))
    if name != "auto":
        return str(name), f"{name} (asked for)"
    n = len(dataset.households)
    if n >= AUTO_BATCH_HOUSEHOLDS:
        return "batch", f"auto: batch ({n:,} households >= {AUTO_BATCH_HOUSEHOLDS:,})"
    return FASTEST_PER_CASE, (
        f"auto: {FASTEST_PER_CASE} ({n:,} households < {AUTO_BATCH_HOUSEHOLDS:,}; "
        "the fastest per-case engine)"
    )


def load_data(source: str | Path | Mapping[str, Any]) -> LoadResult:
    """Validate a dataset from a dict, a JSON file, or a ledger (CSV folder, xlsx, Parquet folder).

    Bad rows become issues in the result; nothing is dropped silently. A file or folder is read
    by :func:`fupin_rules.io.read_ledger`; one that cannot be read at all raises
    :class:`~fupin_rules.io.LedgerError` (or :class:`~fupin_rules.errors.DataError` without a
    usable county row), naming the file.
    """
    if isinstance(source, Mapping):
        return load_dataset(source)
    from fupin_rules.io import read_ledger

    # every file goes through the ledger reader: a JSON file is read exactly (numbers as
    # Decimal, repeated keys reported) and a bad file is a LedgerError naming it, never a
    # traceback (issue 17)

    result: LoadResult = read_ledger(Path(source))
    return result


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

    ``engine``: ``auto`` (default) chooses by the work (see :func:`choose_engine`), or
    ``batch``, ``reference``, ``inference``; the evaluation names the engine that ran
    (``engine``) and why (``engine_reason``). Every engine gives the same findings.
    ``progress(stratum, n)`` is called after each unit (household, village, county) is done
    (by the batch engine: once per stratum, with the number of its units).
    """
    pol = resolve_policy(policy)
    ds, loaded = _dataset(data)
    chosen, reason = choose_engine(engine, ds)
    if chosen == "batch":
        from fupin_rules.batch import evaluate_batch

        ev = evaluate_batch(
            pol,
            loaded if loaded is not None else ds,
            on,
            materialize="all",
            keep_not_applicable=keep_not_applicable,
        )
        if progress is not None:
            progress("household", len(ds.households))
            progress("village", len(ds.villages))
            progress("county", 1)
        return attrs.evolve(ev, engine_reason=reason)
    ev = run_policy(
        pol,
        ds,
        on,
        engine=get_engine(chosen),
        keep_not_applicable=keep_not_applicable,
        data_issues=loaded.issues if loaded else (),
        progress=progress,
    )
    return attrs.evolve(ev, engine_reason=reason)


class Evaluator:
    """Repeated per-case queries on one dataset (the index is built once).

    Queries decide first and explain on demand: a finding's verdict, amount and outputs come
    from the asked rule alone (its dependency slice: the derived variables, aggregates and
    parameters it reads, memoised per as-of date), and its explanation is built the first time
    it is read (``explain(f)``, ``f.conditions``, a report) or at once with ``explain=True``.

    ``engine``: ``auto`` (default) answers queries with the fastest per-case engine and runs
    :meth:`run` as :func:`evaluate` would; ``reference`` the same path by name; ``inference``
    evaluates queries through durable-rules (explained at once); ``batch`` runs :meth:`run`
    through the batch engine and answers queries with the per-case engine. ``query_engine``
    names the engine that answers queries.

    >>> ev = Evaluator("county_2017", "county.json")            # doctest: +SKIP
    >>> f = ev.eligibility("P0001", "person.rain_and_dew.grant", dt.date(2017, 9, 1))  # doctest: +SKIP
    >>> print(f.verdict, f.amount)                               # doctest: +SKIP
    """

    #: as-of dates whose memoised derived values are kept (least recently used dropped)
    CONTEXTS_KEPT = 4

    def __init__(
        self,
        policy: Policy | str | Path,
        data: Dataset | LoadResult | Mapping[str, Any] | str | Path,
        *,
        engine: EngineName | str = "auto",
    ) -> None:
        _check_engine_name(str(engine))
        self.policy = resolve_policy(policy)
        self.dataset, self.loaded = _dataset(data)
        self.index = DatasetIndex(self.dataset)
        self.engine_name = str(engine)
        self.query_engine = "inference" if engine == "inference" else FASTEST_PER_CASE
        self.engine = get_engine(self.query_engine)
        self._rules = {r.id: r for r in self.policy.rules}
        self._contexts: OrderedDict[dt.date, Context] = OrderedDict()
        self._lock = threading.Lock()

    def _context(self, on: dt.date) -> Context:
        """The context of ``on`` (derived values memoised across queries of that date)."""
        with self._lock:
            ctx = self._contexts.get(on)
            if ctx is None:
                ctx = Context(self.policy, on, self.index)
                self._contexts[on] = ctx
                while len(self._contexts) > self.CONTEXTS_KEPT:
                    self._contexts.popitem(last=False)
            else:
                self._contexts.move_to_end(on)
            return ctx

    def _rule(self, rule_id: str) -> Rule:
        rule = self._rules.get(rule_id)
        if rule is None:
            return self.policy.rule(rule_id)  # UnknownRuleError: did you mean ...
        return rule

    def _decide(self, rule: Rule, subject: RecordSubject, ctx: Context, explain: bool) -> Finding:
        if explain:
            return evaluate_rule(rule, subject, ctx)
        try:
            return decide_rule(rule, subject, ctx)
        except RULE_FAILURES:
            # the reference path names the rule, the subject and the part that failed
            # (RuleEvaluationError); it raises the same failure
            return evaluate_rule(rule, subject, ctx)

    def _unit_findings(self, stratum: str, key: str, on: dt.date, explain: bool) -> list[Finding]:
        ctx = self._context(on)
        if key not in self.index.by_id.get(stratum, {}):
            raise FupinRulesError(f"no {stratum} with id {key!r} in the dataset")
        out: list[Finding] = []
        for unit in units(ctx, stratum, [key]):
            if self.query_engine == "inference":
                out.extend(self.engine.evaluate_unit(unit, ctx))
            else:
                for subject, rules in unit.work:
                    out.extend(self._decide(rule, subject, ctx, explain) for rule in rules)
        return out

    def household(
        self,
        household_id: str,
        on: dt.date,
        *,
        keep_not_applicable: bool = False,
        explain: bool = False,
    ) -> tuple[Finding, ...]:
        """Findings of the household's rules and its members' and records' rules."""
        fs = self._unit_findings("household", household_id, on, explain)
        return tuple(
            f for f in fs if keep_not_applicable or f.verdict is not Outcome.NOT_APPLICABLE
        )

    def village(
        self,
        village_id: str,
        on: dt.date,
        *,
        keep_not_applicable: bool = False,
        explain: bool = False,
    ) -> tuple[Finding, ...]:
        """Findings of the village's rules (exit standard, ...)."""
        fs = self._unit_findings("village", village_id, on, explain)
        return tuple(
            f for f in fs if keep_not_applicable or f.verdict is not Outcome.NOT_APPLICABLE
        )

    def county(self, on: dt.date, *, explain: bool = False) -> tuple[Finding, ...]:
        """Findings of the county's rules (targets, ...)."""
        fs = self._unit_findings("county", self.dataset.county.key(), on, explain)
        return tuple(f for f in fs if f.verdict is not Outcome.NOT_APPLICABLE)

    def finding(
        self, rule_id: str, subject_id: str, on: dt.date, *, explain: bool = False
    ) -> Finding:
        """The finding of one rule about one subject (not-applicable included).

        Only that rule is evaluated, with what it reads; the explanation is built when first
        read, or at once with ``explain=True``.
        """
        rule = self._rule(rule_id)
        ctx = self._context(on)
        subject = ctx.subject(rule.entity, subject_id)
        if subject is None:
            raise FupinRulesError(f"no {rule.entity} with id {subject_id!r} in the dataset")
        if self.query_engine == "inference":
            unit = Unit(OWNER[rule.entity], subject, ((subject, _entity_rules(ctx, rule.entity)),))
            errors: list[SubjectError] = []
            for f in self.engine.evaluate_unit(unit, ctx, errors):
                if f.rule_id == rule_id:
                    return f
            for e in errors:  # only this finding's own failure matters here
                if e.rule_id == rule_id and e.subject_id == subject_id:
                    raise EngineError(e.message)
            raise FupinRulesError(f"rule {rule_id!r} gave no finding for {subject_id!r}")
        return self._decide(rule, subject, ctx, explain)

    def eligibility(
        self, person_id: str, rule_id: str, on: dt.date, *, explain: bool = False
    ) -> Finding:
        """Is this person eligible under ``rule_id``, for how much, and why (on demand)."""
        rule = self._rule(rule_id)
        if rule.kind != "eligibility":
            raise FupinRulesError(
                f"rule {rule_id!r} is a {rule.kind} rule, not an eligibility rule"
            )
        return self.finding(rule_id, person_id, on, explain=explain)

    def compliance(
        self, kind: str, subject_id: str, on: dt.date, *, explain: bool = False
    ) -> tuple[Finding, ...]:
        """Compliance and target findings about one subject (household, village or county).

        Only that subject's own compliance and target rules are evaluated.
        """
        if kind not in STRATA:  # the owners of a unit: household, village, county
            raise FupinRulesError(f"kind={kind!r}: expected household, village or county")
        if self.query_engine == "inference":
            fs: tuple[Finding, ...] = (
                self.household(subject_id, on)
                if kind == "household"
                else self.village(subject_id, on)
                if kind == "village"
                else self.county(on)
            )
            return tuple(
                f for f in fs if f.subject_id == subject_id and f.rule_kind != "eligibility"
            )
        ctx = self._context(on)
        subject = ctx.subject(kind, subject_id)
        if subject is None:
            raise FupinRulesError(f"no {kind} with id {subject_id!r} in the dataset")
        out = []
        for rule in _entity_rules(ctx, kind):
            if rule.kind == "eligibility":
                continue
            f = self._decide(rule, subject, ctx, explain)
            if f.verdict is not Outcome.NOT_APPLICABLE:
                out.append(f)
        return tuple(out)

    def run(self, on: dt.date) -> Evaluation:
        """The whole dataset (see :func:`evaluate`; ``engine`` as given to the evaluator)."""
        return evaluate(
            self.policy,
            self.loaded if self.loaded is not None else self.dataset,
            on,
            engine=self.engine_name,
        )


def _entity_rules(ctx: Context, entity: str) -> tuple[Rule, ...]:
    return rules_by_entity(ctx.policy).get(entity, ())
