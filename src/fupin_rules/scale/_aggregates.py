"""The parts of county-stratum aggregates: recorded by every partition, combined, and fed to the
reduce's compiler in place of the children (why this is exact: :mod:`fupin_rules.scale._reduce`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import polars as pl

from fupin_rules.batch.compiler import Compiler
from fupin_rules.batch.engine import RuleFrame, compile_rule
from fupin_rules.batch.frames import Tables
from fupin_rules.engine.plan import OWNER
from fupin_rules.policy.model import Policy, Rule
from fupin_rules.scale._layout import PartitionError

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


def _is_county(rule: Rule) -> bool:
    return OWNER[rule.entity] == "county"


def _lower_rules(policy: Policy) -> list[Rule]:
    strata = {"household": 0, "village": 1}
    return sorted(
        (r for r in policy.rules if not _is_county(r)), key=lambda r: strata[OWNER[r.entity]]
    )
