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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs
import polars as pl

from fupin_rules.batch.compiler import Compiler
from fupin_rules.batch.engine import (
    BatchResult,
    RuleFrame,
    compile_rule,
    prepare,
    rule_roots,
)
from fupin_rules.batch.explain_drill import drill_finder, drill_hits
from fupin_rules.batch.frames import KEY, Tables
from fupin_rules.domain.dataset import REFERENCES, TABLES, DataIssue
from fupin_rules.engine.context import TABLE_KIND
from fupin_rules.engine.drill import MAX_CHILDREN_NAMED, DrillSpec, display_text, drill_specs
from fupin_rules.engine.plan import OWNER
from fupin_rules.engine.run import Evaluation, tallies_from_counts
from fupin_rules.expr.printer import to_source
from fupin_rules.findings.model import Finding
from fupin_rules.policy.discovery import resolve_policy
from fupin_rules.policy.model import Policy, Rule
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
_COUNTY_KINDS = frozenset(k for k, s in OWNER.items() if s == "county")
_LOWER_KINDS = frozenset(k for k, s in OWNER.items() if s != "county")
_COMBINE = {
    "sum": "sum",
    "count": "sum",
    "any": "any",
    "any_ignore_nulls": "any",
    "min": "min",
    "max": "max",
}


def _how(agg: pl.Expr) -> str:
    text = str(agg)
    for suffix, how in _COMBINE.items():
        if text.endswith(f".{suffix}()"):
            return how
    raise PartitionError(f"cannot combine the aggregation {text} across partitions")


@attrs.frozen
class Partial:
    """The parts of one county-stratum aggregate over one partition's children."""

    owner: str
    child: str
    tags: tuple[str, ...]
    hows: tuple[str, ...]
    grouped: pl.DataFrame  # columns: _o (owner row) and one per tag


def combine(a: Partial, b: Partial) -> Partial:
    """The parts of two pieces combined: sums added, any or-ed, min/max of both."""
    if (a.owner, a.child, a.tags, a.hows) != (b.owner, b.child, b.tags, b.hows):
        raise PartitionError(
            f"partitions disagree on an aggregate of {a.owner} over {a.child}: "
            f"{a.tags} vs {b.tags}; were they evaluated with the same policy?"
        )
    ops = {"sum": pl.Expr.sum, "any": pl.Expr.any, "min": pl.Expr.min, "max": pl.Expr.max}
    both = pl.concat([a.grouped, b.grouped], how="vertical_relaxed")
    grouped = (
        both.group_by("_o")
        .agg([ops[h](pl.col(t)).alias(t) for t, h in zip(a.tags, a.hows, strict=True)])
        .sort("_o")
    )
    return attrs.evolve(a, grouped=grouped)


def _tags(aggs: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(name.split(".", 1)[1] for name in aggs)


class _CountyStratumCompiler(Compiler):
    """Aggregates of lower strata as usual; county-stratum ones from :meth:`_county_parts`.

    The parts come back grouped by owner row (``_o``) and are spread over the owner frame, owners
    without children getting each part's default, as :meth:`Compiler.reduce` does.
    """

    def __init__(self, policy: Policy, tables: Tables, on: dt.date) -> None:
        super().__init__(policy, tables, on)
        #: set once the county stratum is prepared: a later county aggregate is an error
        self.sealed = False

    def reduce(
        self,
        owner: str,
        child: str,
        index: str,
        comps: dict[str, pl.Expr],
        aggs: dict[str, tuple[pl.Expr, object]],
    ) -> None:
        if owner not in _COUNTY_KINDS:
            super().reduce(owner, child, index, comps, aggs)
            return
        if self.sealed:
            raise PartitionError(_SEALED.format(owner=owner, child=child))
        grouped = self._county_parts(owner, child, index, comps, aggs)
        n_owner = self.frame(owner).height
        full = pl.DataFrame({"_o": pl.Series(range(n_owner), dtype=pl.UInt32)}).join(
            grouped.with_columns(pl.col("_o").cast(pl.UInt32)),
            on="_o",
            how="left",
            maintain_order="left",
        )
        cols: dict[str, pl.Expr | pl.Series] = {}
        for name, (_, default) in aggs.items():
            s = full[name]
            cols[name] = s.fill_null(default) if default is not None else s
        self.add_columns(owner, cols)

    def _county_parts(
        self,
        owner: str,
        child: str,
        index: str,
        comps: dict[str, pl.Expr],
        aggs: dict[str, tuple[pl.Expr, object]],
    ) -> pl.DataFrame:
        """The parts of one county-stratum aggregate by owner row: ``_o`` and one column per
        name of ``aggs``."""
        raise NotImplementedError


class _PartitionCompiler(_CountyStratumCompiler):
    """Records the parts of county-stratum aggregates; refuses them in lower strata."""

    def __init__(self, policy: Policy, tables: Tables, on: dt.date) -> None:
        super().__init__(policy, tables, on)
        self.partials: list[Partial] = []
        self.current: Rule | None = None

    def _county_parts(
        self,
        owner: str,
        child: str,
        index: str,
        comps: dict[str, pl.Expr],
        aggs: dict[str, tuple[pl.Expr, object]],
    ) -> pl.DataFrame:
        rule = self.current
        if rule is not None and rule.entity not in _COUNTY_KINDS:
            raise PartitionError(
                f"rule {rule.id} ({rule.entity}) reads an aggregate of {owner} over {child}s, "
                "which spans villages: a village-partitioned run cannot evaluate it exactly; "
                "run this policy on one machine (fupin_rules.batch.evaluate_batch)"
            )
        cf = self.frame(child)
        rows = cf.select(pl.col(index).alias("_o"), *[e.alias(n) for n, e in comps.items()])
        grouped = (
            rows.lazy()
            .filter(pl.col("_o").is_not_null())
            .group_by("_o")
            .agg([a.alias(n) for n, (a, _) in aggs.items()])
            .collect()
        )
        tags = _tags(aggs)
        self.partials.append(
            Partial(
                owner,
                child,
                tags,
                tuple(_how(a) for a, _ in aggs.values()),
                grouped.rename(dict(zip(aggs, tags, strict=True))),
            )
        )
        # local values, so the compile goes on; county-stratum frames are the reduce's job
        return grouped


class _ReduceCompiler(_CountyStratumCompiler):
    """Evaluates the county stratum with the combined parts in place of the children."""

    def __init__(
        self, policy: Policy, tables: Tables, on: dt.date, partials: Sequence[Partial]
    ) -> None:
        super().__init__(policy, tables, on)
        self.partials = list(partials)
        self.next = 0

    def _county_parts(
        self,
        owner: str,
        child: str,
        index: str,
        comps: dict[str, pl.Expr],
        aggs: dict[str, tuple[pl.Expr, object]],
    ) -> pl.DataFrame:
        if self.next >= len(self.partials):
            raise PartitionError(
                f"the reduce needs an aggregate of {owner} over {child}s that no partition "
                "computed; were they evaluated with the same policy?"
            )
        p = self.partials[self.next]
        self.next += 1
        tags = _tags(aggs)
        if (p.owner, p.child, p.tags) != (owner, child, tags):
            raise PartitionError(
                f"aggregate {self.next} of the county stratum: partitions computed {p.owner} over "
                f"{p.child}s {p.tags}, the reduce needs {owner} over {child}s {tags}"
            )
        return p.grouped.rename(dict(zip(tags, aggs, strict=True)))


_SEALED = (
    "an aggregate of {owner} over {child}s was needed after the county stratum was prepared; "
    "the partitioned run cannot combine it (please report this with the policy)"
)


def _county_stratum(compiler: Compiler, policy: Policy, *, explained: bool) -> dict[str, RuleFrame]:
    """Compile the county-stratum rules (and, for findings, their explanations' aggregates).

    Runs in the same order on every partition and in the reduce, so the n-th county-stratum
    aggregate is the same aggregate everywhere. The parameters read inside aggregates (the
    explanation's one reduction per aggregate, :mod:`fupin_rules.batch.explain_sites`) are
    reduced for every rule in force, whatever its verdict, so later explanations only hit the
    compiler's caches (the other reads they need were recorded when the rules were compiled).
    """
    from fupin_rules.batch.explain_sites import expand

    rules: dict[str, RuleFrame] = {}
    for rule in policy.rules:
        if _is_county(rule):
            rules[rule.id] = compile_rule(compiler, rule)
    if explained:
        for rf in rules.values():
            if rf.sites is None:
                continue
            at = rf.sites
            for recorded in (
                at.applies_sites,
                *at.condition_sites,
                at.amount_sites,
                *at.output_sites,
            ):
                if recorded is not None:
                    list(expand(compiler, recorded, None))
    return rules


#: county-stratum drill-downs over lower-stratum children, as a task sends them:
#: (county kind, collection, test) -> owner id -> (total, first records as (input row, id, name))
DrillParts = dict[tuple[str, str, str], dict[str, tuple[int, list[tuple[int | None, str, str]]]]]


def _county_drill_specs(policy: Policy) -> dict[tuple[str, str, str], tuple[str, DrillSpec]]:
    """The drill-downs of county-stratum conditions into village- or household-stratum
    children (villages, persons, relocations, ...), by a key that travels between processes."""
    out: dict[tuple[str, str, str], tuple[str, DrillSpec]] = {}
    for rule in policy.rules:
        if not _is_county(rule):
            continue
        for cond in rule.conditions:
            for spec in drill_specs(policy, rule.entity, cond):
                if spec.child_kind not in _COUNTY_KINDS:
                    key = (rule.entity, spec.collection, to_source(spec.test))
                    out.setdefault(key, (rule.entity, spec))
    return out


def _first_rows(
    records: list[tuple[int | None, str, str]],
) -> list[tuple[int | None, str, str]]:
    """The first :data:`MAX_CHILDREN_NAMED` records in input order."""
    ordered = sorted(records, key=lambda r: (r[0] is None, r[0] or 0))
    return ordered[:MAX_CHILDREN_NAMED]


def _county_drills(
    compiler: Compiler, policy: Policy, raw: Mapping[str, pl.DataFrame]
) -> DrillParts:
    """This task's part of every county-stratum drill-down: per owner, how many of its children
    here pass the drill test, and the first of them in input order (with their input rows)."""
    from fupin_rules.domain.schema import ENTITY_RECORDS

    out: DrillParts = {}
    for key, (kind, spec) in _county_drill_specs(policy).items():
        groups: dict[str, tuple[int, list[tuple[int | None, str, str]]]] = {}
        hits = drill_hits(compiler, kind, spec)
        if hits is not None and hits.height:
            table = next(t for t, k in TABLE_KIND.items() if k == spec.child_kind)
            hits = _with_rows(
                hits.with_columns(pl.col("k").cast(pl.String).alias("subject_id")),
                raw.get(table),
                ENTITY_RECORDS[spec.child_kind].key_field,
            ).sort(ROW, nulls_last=True, maintain_order=True)
            owners: list[Any] = compiler.frame(kind)[KEY].to_list()
            for o, k, n, r in hits.select("o", "k", "n", ROW).iter_rows():
                sid = owners[o]
                total, records = groups.get(sid, (0, []))
                if total < MAX_CHILDREN_NAMED:
                    records.append((None if r is None else int(r), str(k), display_text(n)))
                groups[sid] = (total + 1, records)
        out[key] = groups
    return out


def _merge_drills(a: DrillParts, b: DrillParts) -> DrillParts:
    """Two tasks' drill-down parts combined: totals added, the first records kept."""
    out: DrillParts = {k: dict(v) for k, v in a.items()}
    for key, groups in b.items():
        mine = out.setdefault(key, {})
        for sid, (total, records) in groups.items():
            t0, r0 = mine.get(sid, (0, []))
            mine[sid] = (t0 + total, _first_rows([*r0, *records]))
    return out


def _is_county(rule: Rule) -> bool:
    return OWNER[rule.entity] == "county"


def _lower_rules(policy: Policy) -> list[Rule]:
    strata = {"household": 0, "village": 1}
    return sorted(
        (r for r in policy.rules if not _is_county(r)), key=lambda r: strata[OWNER[r.entity]]
    )


def _issue_order(
    issue: DataIssue, rows: Mapping[tuple[str, str], list[int]]
) -> tuple[int, int, int]:
    """Sort key reproducing the single-machine order: table, reference field, input row."""
    tables = list(TABLES)
    t = tables.index(issue.table) if issue.table in tables else len(tables)
    fields = [f for f, _ in REFERENCES.get(issue.table, ())]
    f = fields.index(issue.field) if issue.field in fields else len(fields)
    found = rows.get((issue.table, issue.record_id or ""))
    r = found.pop(0) if found else -1
    return (t, f, r)


def _rows_of(
    raw: Mapping[str, pl.DataFrame], issues: Iterable[DataIssue]
) -> dict[tuple[str, str], list[int]]:
    from fupin_rules.domain.schema import ENTITY_RECORDS

    out: dict[tuple[str, str], list[int]] = {}
    wanted: dict[str, set[str]] = {}
    for i in issues:
        if i.record_id is not None:
            wanted.setdefault(i.table, set()).add(i.record_id)
    for table, ids in wanted.items():
        df = raw.get(table)
        if df is None or ROW not in df.columns:
            continue
        key = ENTITY_RECORDS[TABLE_KIND[table]].key_field
        hit = df.filter(pl.col(key).cast(pl.String).is_in(list(ids)))
        for k, r in hit.select(pl.col(key).cast(pl.String), ROW).iter_rows():
            out.setdefault((table, k), []).append(int(r))
    return out


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


def _with_rows(frame: pl.DataFrame, raw: pl.DataFrame | None, key: str) -> pl.DataFrame:
    if raw is None or ROW not in raw.columns:
        return frame.with_columns(pl.lit(None, dtype=pl.UInt32).alias(ROW))
    rows = raw.select(pl.col(key).cast(pl.String).alias("subject_id"), pl.col(ROW)).unique(
        "subject_id", keep="first", maintain_order=True
    )
    return frame.join(rows, on="subject_id", how="left", maintain_order="left")


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
    tables = prepare(pol, raw)
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
        tables = prepare(policy, empty_partition(manifest))
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
