"""What a partition sends about records, not verdicts: its part of every county-stratum
drill-down, and the input row numbers that put findings and data issues in the single-machine
order (see :mod:`fupin_rules.scale._reduce`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from fupin_rules.batch.compiler import Compiler
from fupin_rules.batch.explain_drill import drill_hits
from fupin_rules.batch.frames import KEY
from fupin_rules.domain.dataset import REFERENCES, TABLES, DataIssue
from fupin_rules.engine.context import TABLE_KIND
from fupin_rules.engine.drill import MAX_CHILDREN_NAMED, DrillSpec, display_text, drill_specs
from fupin_rules.expr.printer import to_source
from fupin_rules.policy.model import Policy
from fupin_rules.scale._aggregates import _COUNTY_KINDS, _is_county
from fupin_rules.scale._layout import ROW

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


def _with_rows(frame: pl.DataFrame, raw: pl.DataFrame | None, key: str) -> pl.DataFrame:
    if raw is None or ROW not in raw.columns:
        return frame.with_columns(pl.lit(None, dtype=pl.UInt32).alias(ROW))
    rows = raw.select(pl.col(key).cast(pl.String).alias("subject_id"), pl.col(ROW)).unique(
        "subject_id", keep="first", maintain_order=True
    )
    return frame.join(rows, on="subject_id", how="left", maintain_order="left")
