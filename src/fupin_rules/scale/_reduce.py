"""Exact evaluation of a village-partitioned dataset: a map over partitions, then a reduce.

Map (one task per group of villages): the single-machine batch engine runs every rule of the
person, household and village strata on the partition's tables; their results are final,
because every village's subtree is inside one partition and the county-stratum tables (county,
townships, rectification items) are read whole by every task.

Reduce: the county stratum's rules aggregate over children spread across partitions. Every
aggregate of the batch compiler is one ``group_by(owner).agg(...)`` of *parts* that are sums,
``any``, ``min``, ``max`` or counts (:meth:`Compiler.reduce`), each finished on the owner's
row (``lo/hi`` bounds of sums and shares, ``all``/``any`` verdicts, ...). These parts are
associative and commutative: the parts of the whole equal the sums (any, min, max) of the
parts of its pieces, in Int128 numerators over static denominators that every partition
shares. So each task records the parts of every county-stratum aggregate; the reduce combines
them per owner and evaluates the county-stratum rules on the county-stratum tables, feeding the
combined parts where the compiler would group the children. The same finishing expressions
then run on the same part values as on one machine: the result is the same, bit for bit.

Drill-down (the records a failing county finding names: which listed villages have not exited,
which relocations are overdue) needs the children themselves, which the reduce never holds:
each task sends, per county-stratum drill-down, its total and its first records with their
input row numbers (:func:`_county_drills`); the reduce adds the totals and keeps the first
records in input order, which is the single-machine engines' order, so the named records are
the same too.

Two things make a policy or dataset unsuitable, and are refused (:class:`PartitionError`)
rather than silently approximated: a lower-stratum rule that reads a county-stratum aggregate
(it would see one partition's part), and partitions that disagree on a number column's
denominator.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Literal

import attrs
import polars as pl

from fupin_rules.batch.engine import (
    BatchResult,
    RuleFrame,
    compile_rule,
    prepare,
    rule_roots,
)
from fupin_rules.batch.explain_drill import drill_finder
from fupin_rules.domain.dataset import DataIssue
from fupin_rules.engine.context import TABLE_KIND
from fupin_rules.engine.run import Evaluation, tallies_from_counts
from fupin_rules.findings.model import Finding
from fupin_rules.policy.discovery import resolve_policy
from fupin_rules.policy.model import Policy
from fupin_rules.scale._aggregates import (
    _LOWER_KINDS,
    Partial,
    _county_stratum,
    _lower_rules,
    _PartitionCompiler,
    _ReduceCompiler,
    combine,
)
from fupin_rules.scale._drills import (
    DrillParts,
    _county_drill_specs,
    _county_drills,
    _issue_order,
    _merge_drills,
    _rows_of,
    _with_rows,
)
from fupin_rules.scale._layout import (
    PARTITIONED_TABLES,
    ROW,
    PartitionError,
    empty_partition,
    read_manifest,
    read_partition,
)

__all__ = [
    "Collect",
    "PartitionOutput",
    "Reduction",
    "ScaleResult",
    "evaluate_partition",
    "run_partitioned",
]

#: ``summary``: verdict counts and data issues; ``frames``: also every rule's result frame;
#: ``findings``: also the materialised findings (an :class:`Evaluation`)
Collect = Literal["summary", "frames", "findings"]


@attrs.frozen
class PartitionOutput:
    """What one task sends back: small summaries, plus frames or findings when asked."""

    indices: tuple[int, ...]
    counts: dict[str, dict[str, int]]
    issues: tuple[tuple[tuple[int, int, int], DataIssue], ...]
    partials: tuple[Partial, ...]
    dens: dict[tuple[str, str], int]
    subjects: dict[str, int]
    frames: dict[str, pl.DataFrame] | None = None
    findings: tuple[Finding, ...] | None = None
    not_applicable: int = 0
    drills: DrillParts | None = None


def _load_policy(policy: Policy | str | os.PathLike[str], want_hash: str | None) -> Policy:
    if isinstance(policy, Policy):
        return policy
    loaded = resolve_policy(policy)
    if want_hash is not None and loaded.content_hash != want_hash:
        raise PartitionError(
            f"policy at {policy} has content hash {loaded.content_hash[:12]} on this worker, "
            f"expected {want_hash[:12]}: install the same policy version on every worker"
        )
    return loaded


def _counts(rf: RuleFrame) -> dict[str, int]:
    return {str(k): int(n) for k, n in rf.frame["verdict"].value_counts().iter_rows()}


def evaluate_partition(
    policy: Policy | str | os.PathLike[str],
    directory: str | os.PathLike[str],
    indices: Sequence[int],
    on: dt.date,
    *,
    collect: Collect = "summary",
    materialize: str = "non_pass",
    keep_not_applicable: bool = False,
    policy_hash: str | None = None,
) -> PartitionOutput:
    """Evaluate the person, household and village strata of some partitions (a map task)."""
    from fupin_rules.batch.explain import materialize_findings
    from fupin_rules.domain.schema import ENTITY_RECORDS

    pol = _load_policy(policy, policy_hash)
    manifest = read_manifest(directory)
    raw = read_partition(manifest, indices)
    tables = prepare(pol, raw, bookkeeping=(ROW,))
    compiler = _PartitionCompiler(pol, tables, on)
    rules: dict[str, RuleFrame] = {}
    lower = _lower_rules(pol)
    # the lower strata's aggregates reduced together, as batch.compute does; county-stratum
    # aggregates stay one reduction each, in rule order, which the reduce matches by position
    compiler.prefetch(rule_roots(lower), owners=_LOWER_KINDS)
    for rule in lower:
        compiler.current = rule
        rules[rule.id] = compile_rule(compiler, rule)
    compiler.current = None
    # records the parts of the county stratum's aggregates; its frames are the reduce's job
    _county_stratum(compiler, pol, explained=collect == "findings")
    compiler.sealed = True
    mine = [i for i in tables.issues if i.table in PARTITIONED_TABLES]
    rows = _rows_of(raw, mine)
    issues = tuple((_issue_order(i, rows), i) for i in mine)
    kinds = {TABLE_KIND[t] for t in PARTITIONED_TABLES}
    frames = None
    if collect == "frames":
        frames = {}
        for rid, rf in rules.items():
            table = next(t for t, k in TABLE_KIND.items() if k == rf.rule.entity)
            key = ENTITY_RECORDS[rf.rule.entity].key_field
            frames[rid] = _with_rows(rf.frame, raw.get(table), key)
    findings = None
    drills = None
    na = sum(int((rf.frame["verdict"] == "not_applicable").sum()) for rf in rules.values())
    if collect == "findings":
        found, na = materialize_findings(
            BatchResult(pol, on, rules, compiler), materialize, keep_not_applicable
        )
        findings = tuple(found)
        drills = _county_drills(compiler, pol, raw)
    return PartitionOutput(
        indices=tuple(indices),
        counts={rid: _counts(rf) for rid, rf in rules.items()},
        issues=issues,
        partials=tuple(compiler.partials),
        dens={k: v for k, v in tables.dens.items() if k[0] in kinds},
        subjects={k: tables.height(k) for k in sorted(kinds)},
        frames=frames,
        findings=findings,
        not_applicable=na,
        drills=drills,
    )


@attrs.frozen
class ScaleResult:
    """The result of a partitioned run: equal to the single-machine batch engine's.

    ``counts``: verdict counts per rule (every rule); ``subjects``: records evaluated per
    village-bound kind; ``data_issues``: rejected input rows, in the single-machine order;
    ``frames``: per-rule result frames in input order (``collect="frames"``);
    ``evaluation``: the findings as :func:`fupin_rules.batch.evaluate_batch` gives them
    (``collect="findings"``).
    """

    policy_id: str
    policy_version: str
    policy_hash: str
    on: dt.date
    partitions: int
    counts: dict[str, dict[str, int]]
    subjects: dict[str, int]
    data_issues: tuple[DataIssue, ...]
    not_applicable_count: int
    frames: dict[str, pl.DataFrame] | None = None
    evaluation: Evaluation | None = None


class Reduction:
    """Folds partition outputs as they arrive (memory: summaries and the county parts)."""

    def __init__(self, collect: Collect) -> None:
        self.collect = collect
        self.counts: dict[str, dict[str, int]] = {}
        self.subjects: dict[str, int] = {}
        self.issues: list[tuple[tuple[int, int, int], DataIssue]] = []
        self.partials: list[Partial] | None = None
        self.dens: dict[tuple[str, str], int] | None = None
        self.frames: dict[str, list[pl.DataFrame]] = {}
        self.findings: list[Finding] = []
        self.na = 0
        self.seen = 0
        self.drills: DrillParts = {}

    def add(self, out: PartitionOutput) -> None:
        """Fold one partition's output in."""
        self.seen += len(out.indices)
        for rid, c in out.counts.items():
            mine = self.counts.setdefault(rid, {})
            for v, n in c.items():
                mine[v] = mine.get(v, 0) + n
        for k, n in out.subjects.items():
            self.subjects[k] = self.subjects.get(k, 0) + n
        self.issues.extend(out.issues)
        self.na += out.not_applicable
        if self.dens is None:
            self.dens = dict(out.dens)
        elif self.dens != out.dens:
            diff = sorted(
                k for k in set(self.dens) | set(out.dens) if self.dens.get(k) != out.dens.get(k)
            )
            raise PartitionError(
                f"partitions {out.indices} store numbers with other denominators for {diff[:5]}: "
                "write the dataset with fupin_rules.scale.write_partitioned (Decimal columns)"
            )
        if self.partials is None:
            self.partials = list(out.partials)
        else:
            if len(self.partials) != len(out.partials):
                raise PartitionError("partitions computed different county-stratum aggregates")
            self.partials = [
                combine(a, b) for a, b in zip(self.partials, out.partials, strict=True)
            ]
        if out.frames is not None:
            for rid, f in out.frames.items():
                self.frames.setdefault(rid, []).append(f)
        if out.findings is not None:
            self.findings.extend(out.findings)
        if out.drills is not None:
            self.drills = _merge_drills(self.drills, out.drills)

    def finish(
        self,
        policy: Policy,
        directory: str | os.PathLike[str],
        on: dt.date,
        *,
        materialize: str = "non_pass",
        keep_not_applicable: bool = False,
    ) -> ScaleResult:
        """Evaluate the county stratum from the combined parts; assemble the result."""
        from fupin_rules.batch.explain import materialize_findings

        manifest = read_manifest(directory)
        if self.seen != len(manifest):
            raise PartitionError(f"{self.seen} of {len(manifest)} partitions were evaluated")
        tables = prepare(policy, empty_partition(manifest), bookkeeping=(ROW,))
        if self.dens:
            tables.dens.update(self.dens)
        compiler = _ReduceCompiler(policy, tables, on, self.partials or [])
        rules = _county_stratum(compiler, policy, explained=self.collect == "findings")
        compiler.sealed = True
        if compiler.next != len(compiler.partials):
            raise PartitionError(
                "the partitions computed county-stratum aggregates the reduce did not use"
            )
        counts = dict(self.counts)
        counts.update({rid: _counts(rf) for rid, rf in rules.items()})
        order = {r.id: i for i, r in enumerate(policy.rules)}
        counts = dict(sorted(counts.items(), key=lambda kv: order[kv[0]]))
        broadcast = [i for i in tables.issues if i.table not in PARTITIONED_TABLES]
        rows = _rows_of(empty_partition(manifest), broadcast)
        issues = sorted(
            [*self.issues, *((_issue_order(i, rows), i) for i in broadcast)], key=lambda x: x[0]
        )
        data_issues = tuple(i for _, i in issues)
        na = self.na + sum(
            int((rf.frame["verdict"] == "not_applicable").sum()) for rf in rules.values()
        )
        frames = None
        if self.collect == "frames":
            frames = {}
            for rule in policy.rules:
                if rule.id in rules:
                    frames[rule.id] = rules[rule.id].frame
                else:
                    parts = self.frames.get(rule.id, [])
                    whole = pl.concat(parts, how="vertical_relaxed") if parts else None
                    if whole is not None:
                        frames[rule.id] = whole.sort(ROW, maintain_order=True).drop(ROW)
        evaluation = None
        if self.collect == "findings":
            finder = drill_finder(compiler)
            for key, (kind, spec) in _county_drill_specs(policy).items():
                groups = self.drills.get(key, {})
                finder.seed(
                    kind,
                    spec,
                    {sid: (t, [(k, n) for _, k, n in recs]) for sid, (t, recs) in groups.items()},
                )
            county, na_c = materialize_findings(
                BatchResult(policy, on, rules, compiler), materialize, keep_not_applicable
            )
            findings = sorted([*self.findings, *county], key=Finding.sort_key)
            na = self.na + na_c
            evaluation = Evaluation.of(
                policy,
                on,
                "batch",
                findings,
                data_issues=data_issues,
                not_applicable_count=na,
                tallies=tallies_from_counts(policy, counts),
            )
        return ScaleResult(
            policy_id=policy.id,
            policy_version=policy.version,
            policy_hash=policy.content_hash,
            on=on,
            partitions=len(manifest),
            counts=counts,
            subjects=self.subjects,
            data_issues=data_issues,
            not_applicable_count=na,
            frames=frames,
            evaluation=evaluation,
        )


def run_partitioned(
    policy: Policy | str | os.PathLike[str],
    directory: str | os.PathLike[str],
    on: dt.date,
    *,
    collect: Collect = "summary",
    materialize: str = "non_pass",
    keep_not_applicable: bool = False,
) -> ScaleResult:
    """Evaluate a partitioned folder in this process, one partition after another.

    The same map and reduce as :func:`fupin_rules.scale.run`, without a cluster (for tests,
    debugging and machines without Dask); memory is one partition at a time.
    """
    pol = _load_policy(policy, None)
    manifest = read_manifest(directory)
    red = Reduction(collect)
    for k in range(len(manifest)):
        red.add(
            evaluate_partition(
                pol,
                directory,
                [k],
                on,
                collect=collect,
                materialize=materialize,
                keep_not_applicable=keep_not_applicable,
            )
        )
    return red.finish(
        pol, directory, on, materialize=materialize, keep_not_applicable=keep_not_applicable
    )
