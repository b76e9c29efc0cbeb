"""Drill-down in the batch engine: the child records behind a failing condition, as columns.

The reference engine evaluates each :class:`~fupin_rules.engine.drill.DrillSpec` test over a
failing subject's children with the interpreter. Here each test is compiled once in the child
kind's frame; the children whose test is true are grouped by their owner row in row order (the
order of the reference's collections), so a finding looks its records up.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from fupin_rules.batch.compiler import Compiler
from fupin_rules.batch.frames import KEY
from fupin_rules.engine.drill import (
    MAX_CHILDREN_NAMED,
    DrillSpec,
    display_field,
    display_text,
    drill_specs,
)
from fupin_rules.findings.model import DrillDown
from fupin_rules.policy.model import Condition

__all__ = ["DrillFinder", "drill_finder", "drill_hits"]


def drill_finder(c: Compiler) -> DrillFinder:
    """The compiler's drill finder (one per batch run)."""
    found = c.extra.get(("drill_finder",))
    if found is None:
        found = DrillFinder(c)
        c.extra[("drill_finder",)] = found
    assert isinstance(found, DrillFinder)
    return found


class DrillFinder:
    """Names the children behind failing conditions, per (kind, spec), lazily."""

    def __init__(self, compiler: Compiler) -> None:
        self.c = compiler
        self._groups: dict[tuple[str, DrillSpec], dict[str, tuple[int, list[tuple[str, str]]]]] = {}

    def find(self, kind: str, subject: str, cond: Condition) -> tuple[DrillDown, ...]:
        """The drill-downs of one failing condition of one subject."""
        out: list[DrillDown] = []
        for spec in drill_specs(self.c.policy, kind, cond):
            entry = self._group(kind, spec).get(subject)
            if entry is None:
                continue
            total, records = entry
            out.append(DrillDown(spec.source, spec.child_kind, spec.role, tuple(records), total))
        return tuple(out)

    def seed(
        self, kind: str, spec: DrillSpec, groups: dict[str, tuple[int, list[tuple[str, str]]]]
    ) -> None:
        """Use ``groups`` (owner id -> total, first records) for ``spec``: the partitioned
        runner's reduce, whose frames do not hold the children, combined them from the
        partitions (see :func:`drill_hits`)."""
        self._groups[(kind, spec)] = groups

    def _group(self, kind: str, spec: DrillSpec) -> dict[str, tuple[int, list[tuple[str, str]]]]:
        key = (kind, spec)
        found = self._groups.get(key)
        if found is not None:
            return found
        c = self.c
        result: dict[str, tuple[int, list[tuple[str, str]]]] = {}
        hits = drill_hits(c, kind, spec)
        if hits is not None:
            owners: list[Any] = c.frame(kind)[KEY].to_list()
            for o, k, n in zip(
                hits["o"].to_list(), hits["k"].to_list(), hits["n"].to_list(), strict=True
            ):
                sid = owners[o]
                total, records = result.get(sid, (0, []))
                if total < MAX_CHILDREN_NAMED:
                    records.append((str(k), display_text(n)))
                result[sid] = (total + 1, records)
        self._groups[key] = result
        return result


def drill_hits(c: Compiler, kind: str, spec: DrillSpec) -> pl.DataFrame | None:
    """The children whose ``spec`` test is true, in the child frame's row order: columns ``o``
    (the owner's row), ``k`` (the child's key) and ``n`` (its display value); None when the
    child table was not supplied."""
    child, index = c.owner_index(kind, spec.collection)
    if not c.tables.supplied[child]:
        return None
    test = c.boolean(spec.test, child)  # may add columns: take the frames after
    show = display_field(c.policy, child)
    cols: list[pl.Expr] = [
        pl.col(index).alias("o"),
        pl.col(KEY).alias("k"),
        (pl.col(show) if show else pl.lit(None)).alias("n"),
    ]
    frame = c.frame(child)
    hits = frame.select(*cols, test.fill_null(False).alias("t"))
    if hits.height != frame.height:  # a constant test: broadcast
        hits = frame.select(*cols, pl.repeat(test.fill_null(False), frame.height).alias("t"))
    return hits.filter(pl.col("t") & pl.col("o").is_not_null()).drop("t")
